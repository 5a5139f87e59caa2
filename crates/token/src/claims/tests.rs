//! The claim reader: types, presence, refusals, and group claims.

use super::*;
use crate::json::parse_object;

fn both(doc: &str, check: impl Fn(&ClaimSet<'_>)) {
    let parsed = ClaimSet::parse(doc.as_bytes(), 16).unwrap();
    check(&parsed);
    let map = parse_object(doc.as_bytes(), 16).unwrap();
    let viewed = ClaimSet::from_map(&map);
    check(&viewed);
}

#[test]
fn names_round_trip() {
    assert_eq!(Claim::ALL.len(), SLOTS);
    for (i, claim) in Claim::ALL.iter().enumerate() {
        assert_eq!(*claim as usize, i);
        assert_eq!(Claim::from_name(claim.as_str()), Some(*claim));
    }
    assert_eq!(Claim::from_name("xms_cc"), None);
    assert_eq!(Claim::from_name("iss\0"), None);
    assert_eq!(Claim::from_name("is"), None);
    assert_eq!(Claim::from_name(""), None);
    assert_eq!(Claim::from_name("client_id"), Some(Claim::ClientId));
    assert_eq!(Claim::from_name("\0\0\0"), None);
}

#[test]
fn refuses_coercion() {
    both(
        r#"{"exp":"1700000000","roles":"Orders.Admin","aud":5,"scp":["a"]}"#,
        |c| {
            assert!(c.numeric_date(Claim::Exp).is_err());
            assert!(c.string_array(Claim::Roles).is_err());
            assert!(c.audiences().is_err());
            assert!(c.scopes().is_err());
        },
    );
    both(r#"{"roles":["a", 1]}"#, |c| {
        assert_eq!(
            c.string_array(Claim::Roles).unwrap_err().to_string(),
            "claim \"roles\" must be an array of strings, found a number"
        );
    });
}

#[test]
fn reads_valid_shapes() {
    both(
        r#"{"exp":1700000000.9,"aud":["a","b"],"scp":"x  y","roles":[],"nbf":-5,"iat":18446744073709551615}"#,
        |c| {
            assert_eq!(c.numeric_date(Claim::Exp).unwrap(), Some(1_700_000_000));
            assert_eq!(c.numeric_date(Claim::Nbf).unwrap(), Some(-5));
            assert_eq!(c.numeric_date(Claim::Iat).unwrap(), Some(i64::MAX));
            let aud: Vec<_> = c.audiences().unwrap().unwrap().collect();
            assert_eq!(aud, ["a", "b"]);
            assert_eq!(c.scopes().unwrap().collect::<Vec<_>>(), ["x", "y"]);
            assert_eq!(c.string_array(Claim::Roles).unwrap().unwrap().count(), 0);
        },
    );
}

#[test]
fn presence_and_null() {
    both(r#"{"nonce":null,"azp":"c","x":{"nonce":"n"}}"#, |c| {
        assert!(c.contains(Claim::Nonce) && !c.has(Claim::Nonce));
        assert!(c.has(Claim::Azp));
        assert!(!c.contains(Claim::Sub));
        assert_eq!(c.str(Claim::Azp), Some("c"));
    });
}

#[test]
fn refuses_like_parse_object() {
    for doc in [
        r#"{"exp":1,"exp":2}"#,
        r#"{"exp":null,"\u0065xp":2}"#,
        r#"{"aio":1,"aio":2}"#,
        r#"{"x":{"a":1,"a":2}}"#,
        r#"{"roles":[[[[1]]]]}"#,
        r#"{"x":[[[[1]]]]}"#,
        r#"["a"]"#,
        r#"["a""#,
        r#"{"a":1} x"#,
    ] {
        let ours = ClaimSet::parse(doc.as_bytes(), 4).map(|_| ());
        let full = parse_object(doc.as_bytes(), 4).map(|_| ());
        assert!(ours.is_err(), "{doc}");
        assert_eq!(ours, full, "{doc}");
    }
}

const ENDPOINT: &str = "https://graph.microsoft.com/v1.0/users/5f8a3c1e/getMemberObjects";

/// `_claim_names` and `_claim_sources` as Entra writes them for an overage.
fn overage() -> String {
    format!(
        r#""_claim_names":{{"groups":"src1"}},"_claim_sources":{{"src1":{{"endpoint":"{ENDPOINT}"}}}}"#
    )
}

#[test]
fn listed_groups() {
    both(r#"{"groups":["a","b"],"wids":["w"]}"#, |c| {
        assert_eq!(c.group_claims(), GroupClaims::Listed(r#"["a","b"]"#));
        let groups: Vec<_> = c.string_array(Claim::Groups).unwrap().unwrap().collect();
        assert_eq!(groups, ["a", "b"]);
        assert_eq!(c.string_array(Claim::Wids).unwrap().unwrap().count(), 1);
        assert_eq!(c.claim_source(Claim::Groups).unwrap(), None);
    });
}

#[test]
fn an_empty_list_is_not_absent() {
    both(r#"{"groups":[]}"#, |c| {
        assert_eq!(c.group_claims(), GroupClaims::Listed("[]"));
    });
    both(r#"{"roles":[]}"#, |c| {
        assert_eq!(c.group_claims(), GroupClaims::Absent);
    });
}

#[test]
fn overage_through_distributed_claims() {
    both(&format!("{{{}}}", overage()), |c| {
        assert_eq!(
            c.group_claims(),
            GroupClaims::Overage {
                endpoint: Some(ENDPOINT.into())
            }
        );
        let source = c.claim_source(Claim::Groups).unwrap().unwrap();
        assert_eq!(source.name, "src1");
        assert_eq!(source.endpoint.as_deref(), Some(ENDPOINT));
        assert_eq!(c.claim_source(Claim::Roles).unwrap(), None);
    });
    // Escaped, and among other sources and members.
    both(
        r#"{"_claim_names":{"roles":"a","groups":"b"},"_claim_sources":{"a":{"endpoint":"https://a"},"b":{"access_token":"x","endpoint":"https:\/\/b"}}}"#,
        |c| {
            assert_eq!(
                c.group_claims(),
                GroupClaims::Overage {
                    endpoint: Some("https://b".into())
                }
            );
        },
    );
    // A source without an endpoint, or none at all: still an overage.
    for doc in [
        r#"{"_claim_names":{"groups":"src1"}}"#,
        r#"{"_claim_names":{"groups":"src1"},"_claim_sources":{"src1":{"JWT":"e30"}}}"#,
        r#"{"_claim_names":{"groups":"src1"},"_claim_sources":{"src2":{"endpoint":"https://x"}}}"#,
    ] {
        both(doc, |c| {
            assert_eq!(
                c.group_claims(),
                GroupClaims::Overage { endpoint: None },
                "{doc}"
            );
        });
    }
    // Distributed claims for something else say nothing about groups.
    both(
        r#"{"_claim_names":{"roles":"src1"},"_claim_sources":{"src1":{"endpoint":"https://x"}}}"#,
        |c| assert_eq!(c.group_claims(), GroupClaims::Absent),
    );
}

#[test]
fn an_overage_wins_over_a_list() {
    both(&format!(r#"{{"groups":["a"],{}}}"#, overage()), |c| {
        assert!(matches!(c.group_claims(), GroupClaims::Overage { .. }));
    });
    both(r#"{"groups":["a"],"hasgroups":true}"#, |c| {
        assert_eq!(c.group_claims(), GroupClaims::Overage { endpoint: None });
    });
}

#[test]
fn hasgroups() {
    both(r#"{"hasgroups":true}"#, |c| {
        assert_eq!(c.boolean(Claim::HasGroups).unwrap(), Some(true));
        assert_eq!(c.group_claims(), GroupClaims::Overage { endpoint: None });
    });
    both(r#"{"hasgroups":false}"#, |c| {
        assert_eq!(c.boolean(Claim::HasGroups).unwrap(), Some(false));
        assert_eq!(c.group_claims(), GroupClaims::Absent);
    });
}

#[test]
fn absent_groups() {
    both(r#"{"sub":"s"}"#, |c| {
        assert_eq!(c.group_claims(), GroupClaims::Absent);
        assert_eq!(c.boolean(Claim::HasGroups).unwrap(), None);
        assert_eq!(
            c.string_array(Claim::Wids).unwrap().map(Iterator::count),
            None
        );
        assert_eq!(c.claim_source(Claim::Groups).unwrap(), None);
    });
}

#[test]
fn group_claims_of_the_wrong_type_are_refused() {
    let refused =
        |doc: &str, check: fn(&ClaimSet<'_>) -> Result<(), ValidationError>, message: &str| {
            both(doc, |c| {
                let err = check(c).unwrap_err();
                assert!(
                    matches!(err, ValidationError::InvalidClaimType { .. }),
                    "{doc}: {err:?}"
                );
                assert_eq!(err.to_string(), message, "{doc}");
            });
        };
    let groups = |c: &ClaimSet<'_>| c.string_array(Claim::Groups).map(|_| ());
    let wids = |c: &ClaimSet<'_>| c.string_array(Claim::Wids).map(|_| ());
    let hasgroups = |c: &ClaimSet<'_>| c.boolean(Claim::HasGroups).map(|_| ());
    let source = |c: &ClaimSet<'_>| c.claim_source(Claim::Groups).map(|_| ());
    refused(
        r#"{"groups":"a"}"#,
        groups,
        r#"claim "groups" must be an array of strings, found a string"#,
    );
    refused(
        r#"{"groups":["a",{"id":"b"}]}"#,
        groups,
        r#"claim "groups" must be an array of strings, found an object"#,
    );
    refused(
        r#"{"wids":null}"#,
        wids,
        r#"claim "wids" must be an array of strings, found null"#,
    );
    refused(
        r#"{"hasgroups":"true"}"#,
        hasgroups,
        r#"claim "hasgroups" must be a boolean, found a string"#,
    );
    refused(
        r#"{"_claim_names":["groups"]}"#,
        source,
        r#"claim "_claim_names" must be an object of strings, found an array"#,
    );
    refused(
        r#"{"_claim_names":{"roles":1,"groups":"src1"}}"#,
        source,
        r#"claim "_claim_names" must be an object of strings, found a member that is a number"#,
    );
    refused(
        r#"{"_claim_names":{"groups":"src1"},"_claim_sources":"src1"}"#,
        source,
        r#"claim "_claim_sources" must be an object of objects whose "endpoint" is a string, found a string"#,
    );
    refused(
        r#"{"_claim_sources":{"src1":["https://x"]}}"#,
        source,
        r#"claim "_claim_sources" must be an object of objects whose "endpoint" is a string, found a member that is an array"#,
    );
    refused(
        r#"{"_claim_sources":{"src1":{"endpoint":{"url":"https://x"}}}}"#,
        source,
        r#"claim "_claim_sources" must be an object of objects whose "endpoint" is a string, found an "endpoint" that is an object"#,
    );
    // Lenient readers take a wrongly typed claim for an absent one.
    both(r#"{"groups":"a","hasgroups":1}"#, |c| {
        assert_eq!(c.group_claims(), GroupClaims::Absent);
    });
}
