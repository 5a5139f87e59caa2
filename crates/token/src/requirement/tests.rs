//! Requirements over (possibly unverified) grants.

use super::*;
use crate::principal::{Grants, GroupMembership};

fn grants(roles: &[&str], scopes: &[&str], app_only: bool) -> Grants {
    Grants {
        roles: roles.iter().map(|r| AppRole::from(*r)).collect(),
        scopes: scopes.iter().map(|s| Scope::from(*s)).collect(),
        app_only,
        ..Grants::default()
    }
}

#[test]
fn roles() {
    let admin = grants(&["Orders.Admin"], &["access_as_user"], false);
    let reader = grants(&["Orders.Read"], &["access_as_user"], false);
    let r = Requirement::any_role(["Orders.Admin", "Orders.Owner"]);
    assert!(r.check(&admin).is_ok());
    let e = r.check(&reader).unwrap_err();
    assert_eq!(e.code(), ErrorCode::MissingRole);
    assert_eq!(e.required(), vec!["Orders.Admin", "Orders.Owner"]);
    assert!(
        Requirement::all_roles(["Orders.Admin", "Orders.Read"])
            .check(&admin)
            .is_err()
    );
}

#[test]
fn scope_or_app_permission() {
    let r = Requirement::scope_or_app_permission(["access_as_user"], ["Orders.Read"]);
    assert!(r.check(&grants(&[], &["access_as_user"], false)).is_ok());
    assert!(r.check(&grants(&["Orders.Read"], &[], true)).is_ok());
    // A user holding the role but not the scope does not pass as an app.
    assert!(
        r.check(&grants(&["Orders.Read"], &["other"], false))
            .is_err()
    );
}

#[test]
fn user_with_roles_and_no_scp_is_a_delegated_caller_without_scopes() {
    // What Entra issues for `.default` when the client holds no
    // delegated permission: the user's roles, no `scp`, no `idtyp`.
    let claims = serde_json::json!({
        "oid": "5f8a3c1e-9b2d-4e7f-a6c0-1d2e3f4a5b6c",
        "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "name": "Alice",
        "preferred_username": "alice@contoso.test",
        "roles": ["Orders.Read"],
    });
    let user = Grants::from_claims(claims.as_object().unwrap());
    assert!(!user.is_app_only());
    // Not authorized as an application...
    let read = Requirement::scope_or_app_permission(["access_as_user"], ["Orders.Read"]);
    let e = read.check(&user).unwrap_err();
    assert!(matches!(
        e,
        AuthorizationError::MissingScopeOrAppPermission {
            app_only: false,
            ..
        }
    ));
    assert_eq!(
        Requirement::app_only().check(&user),
        Err(AuthorizationError::AppOnlyRequired)
    );
    // ... refused by scope requirements ...
    assert!(
        Requirement::any_scope(["access_as_user"])
            .check(&user)
            .is_err()
    );
    // ... but the user's app roles are real assignments.
    assert!(Requirement::any_role(["Orders.Read"]).check(&user).is_ok());
    assert!(Requirement::delegated().check(&user).is_ok());
}

#[test]
fn combinators() {
    let r = Requirement::any_role(["Orders.Admin"]).and(Requirement::delegated());
    assert!(r.check(&grants(&["Orders.Admin"], &[], true)).is_err());
    assert!(r.check(&grants(&["Orders.Admin"], &["x"], false)).is_ok());
    let r = Requirement::app_only().or(Requirement::any_scope(["x"]));
    assert!(r.check(&grants(&[], &["x"], false)).is_ok());
    let e = r.check(&grants(&[], &["y"], false)).unwrap_err();
    assert!(matches!(e, AuthorizationError::NoAlternative(_)));
}

const AUDITORS: &str = "0ba2c7b6-1c0d-4e1f-8a6b-3f1d2c4e5a60";
const OTHER: &str = "9d3c2b1a-8e7f-4a6b-9c5d-4e3f2a1b0c9d";

fn in_groups(groups: GroupMembership) -> Grants {
    Grants {
        scopes: vec![Scope::from("access_as_user")],
        groups,
        ..Grants::default()
    }
}

fn listed(groups: &[&str]) -> Grants {
    in_groups(GroupMembership::Listed(
        groups.iter().map(|g| GroupId::from(*g)).collect(),
    ))
}

#[test]
fn group_listed() {
    let r = Requirement::any_group([AUDITORS, "ffffffff-0000-0000-0000-000000000000"]);
    assert_eq!(r.check(&listed(&[OTHER, AUDITORS])), Ok(()));
    // GUIDs (and on-premises names) compare ignoring ASCII case.
    assert_eq!(r.check(&listed(&[&AUDITORS.to_uppercase()])), Ok(()));
}

#[test]
fn group_not_listed() {
    let r = Requirement::any_group([AUDITORS]);
    let e = r.check(&listed(&[OTHER])).unwrap_err();
    assert_eq!(e.code(), ErrorCode::MissingGroup);
    assert!(e.code().is_authorization());
    assert_eq!(
        e.to_string(),
        format!("caller is in none of the groups {AUDITORS}; the token lists 1 group")
    );
    assert!(e.hint().contains("acquire a new token"), "{}", e.hint());
    // No client can request a group: nothing for the challenge's `scope`.
    assert!(e.required().is_empty());
    let e = r.check(&listed(&[])).unwrap_err();
    assert_eq!(
        e,
        AuthorizationError::MissingGroup {
            required: vec![AUDITORS.to_owned()],
            found: 0
        }
    );
}

#[test]
fn group_overage_is_refused_by_its_own_code() {
    let r = Requirement::any_group([AUDITORS]);
    for groups in [
        GroupMembership::Overage {
            endpoint: Some("https://graph.microsoft.com/v1.0/users/x/getMemberObjects".to_owned()),
        },
        GroupMembership::Overage { endpoint: None },
    ] {
        let e = r.check(&in_groups(groups)).unwrap_err();
        assert_eq!(e.code(), ErrorCode::GroupsOverage);
        assert_eq!(e.code().as_str(), "groups_overage");
        assert!(e.code().is_authorization());
        assert!(e.to_string().contains("groups overage"), "{e}");
        let hint = e.hint();
        assert!(hint.starts_with("the token lists no groups because the user is in more groups than fit in a token (overage); query Microsoft Graph (getMemberObjects) or use app roles assigned to groups instead"), "{hint}");
        assert!(e.required().is_empty());
    }
}

#[test]
fn absent_groups_are_refused_by_their_own_code() {
    let r = Requirement::any_group([AUDITORS]);
    let e = r.check(&in_groups(GroupMembership::Absent)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::NoGroupsClaim);
    assert_eq!(e.code().as_str(), "no_groups_claim");
    assert!(e.code().is_authorization());
    assert!(
        e.hint().contains("\"groupMembershipClaims\""),
        "{}",
        e.hint()
    );
    assert_eq!(
        e.to_string(),
        format!("the token carries no group claims, so membership of {AUDITORS} cannot be checked")
    );
}

#[test]
fn an_app_role_can_stand_in_for_an_overflowing_group() {
    let r = Requirement::any_group([AUDITORS]).or(Requirement::any_role(["Orders.Auditor"]));
    let mut caller = in_groups(GroupMembership::Overage { endpoint: None });
    let e = r.check(&caller).unwrap_err();
    assert_eq!(
        e.code(),
        ErrorCode::GroupsOverage,
        "the first alternative's"
    );
    assert_eq!(e.required(), vec!["Orders.Auditor"]);
    caller.roles.push(AppRole::from("Orders.Auditor"));
    assert_eq!(r.check(&caller), Ok(()));
}
