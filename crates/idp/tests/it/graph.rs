//! Microsoft Graph as a built-in resource (tokens with Graph's application
//! permissions as `roles`) and the Graph subset at `/v1.0/` (reads), over
//! real HTTPS: Graph's JSON shapes, OData query options, errors and
//! permission checks.

use serde_json::Value;

use crate::{ALICE, API, CLI, DAEMON, DAEMON_SECRET, Idp, TID, claims};

const AUTOMATION: &str = "3f0c8a6e-9d2b-4c7a-8e1f-5b6a7c8d9e0f";
const AUTOMATION_SECRET: &str = "automation-secret-7Hq2Xv9Kp4Lm8Rw3";
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
const APPLICATION_READWRITE_ALL: &str = "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9";

async fn app_token(idp: &Idp, client: &str, secret: &str, scope: &str) -> String {
    let (status, body) = idp
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", secret),
            ("scope", scope),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn automation(idp: &Idp) -> String {
    app_token(
        idp,
        AUTOMATION,
        AUTOMATION_SECRET,
        "https://graph.microsoft.com/.default",
    )
    .await
}

async fn graph(idp: &Idp, token: Option<&str>, path: &str) -> (u16, Value) {
    let mut request = idp
        .client
        .get(format!("{}/v1.0{path}", idp.running.origin))
        .header("client-request-id", "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn graph_tokens_carry_the_application_permissions_the_tenant_file_grants() {
    let idp = Idp::start().await;
    let token = automation(&idp).await;
    let c = claims(&token);
    assert_eq!(c["aud"], "https://graph.microsoft.com");
    assert_eq!(c["iss"], format!("https://sts.windows.net/{TID}/"));
    assert_eq!(c["ver"], "1.0");
    assert_eq!(c["appid"], AUTOMATION);
    let mut roles: Vec<&str> = c["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    roles.sort_unstable();
    assert_eq!(
        roles,
        [
            "AppRoleAssignment.ReadWrite.All",
            "Application.ReadWrite.All",
            "DelegatedPermissionGrant.ReadWrite.All",
            "Group.ReadWrite.All",
            "User.ReadWrite.All"
        ]
    );
    // Graph named by its app id: the audience follows what was asked for.
    let by_id = app_token(
        &idp,
        AUTOMATION,
        AUTOMATION_SECRET,
        &format!("{GRAPH_APP_ID}/.default"),
    )
    .await;
    assert_eq!(claims(&by_id)["aud"], GRAPH_APP_ID);
    // A client holding no Graph permission gets a Graph token without roles.
    let daemon = app_token(
        &idp,
        DAEMON,
        DAEMON_SECRET,
        "https://graph.microsoft.com/.default",
    )
    .await;
    assert!(
        claims(&daemon).get("roles").is_none(),
        "{}",
        claims(&daemon)
    );
}

#[tokio::test]
async fn graph_refuses_missing_invalid_and_unprivileged_tokens_in_graphs_shape() {
    let idp = Idp::start().await;
    let (status, body) = graph(&idp, None, "/applications").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    assert_eq!(body["error"]["message"], "Access token is empty.");
    assert_eq!(
        body["error"]["innerError"]["client-request-id"],
        "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
    );
    assert!(body["error"]["innerError"]["request-id"].is_string());
    assert!(body["error"]["innerError"]["date"].is_string());

    // A token for another API is not a Graph token.
    let orders = app_token(
        &idp,
        DAEMON,
        DAEMON_SECRET,
        &format!("api://{API}/.default"),
    )
    .await;
    let (status, body) = graph(&idp, Some(&orders), "/applications").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Access token validation failure"),
        "{body}"
    );

    // A Graph token without the permission: 403 Authorization_RequestDenied.
    let daemon = app_token(
        &idp,
        DAEMON,
        DAEMON_SECRET,
        "https://graph.microsoft.com/.default",
    )
    .await;
    for path in [
        "/applications",
        "/users",
        "/groups",
        "/oauth2PermissionGrants",
    ] {
        let (status, body) = graph(&idp, Some(&daemon), path).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert_eq!(body["error"]["code"], "Authorization_RequestDenied");
        assert_eq!(
            body["error"]["message"],
            "Insufficient privileges to complete the operation."
        );
    }
}

#[tokio::test]
async fn applications_and_service_principals_read_as_graph_shows_them() {
    let idp = Idp::start().await;
    let token = automation(&idp).await;
    let (status, list) = graph(&idp, Some(&token), "/applications").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        list["@odata.context"],
        format!("{}/v1.0/$metadata#applications", idp.running.origin)
    );
    let apps = list["value"].as_array().unwrap();
    assert!(
        apps.iter().all(|a| a["appId"] != GRAPH_APP_ID),
        "Microsoft Graph is no application of the tenant"
    );
    let orders = apps.iter().find(|a| a["appId"] == API).unwrap();
    assert_eq!(orders["displayName"], "Orders API");
    assert_eq!(orders["api"]["requestedAccessTokenVersion"], 2);
    assert_eq!(
        orders["identifierUris"],
        serde_json::json!([format!("api://{API}")])
    );
    let admin = orders["appRoles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["value"] == "Orders.Admin")
        .unwrap();
    assert_eq!(admin["id"], "408949cf-33d8-4dec-b83e-216293c6bfba");
    assert_eq!(
        admin["allowedMemberTypes"],
        serde_json::json!(["User", "Application"])
    );
    assert_eq!(
        orders["api"]["oauth2PermissionScopes"][0]["value"],
        "access_as_user"
    );
    // Secrets show their hint, never a value.
    let automation_app = apps.iter().find(|a| a["appId"] == AUTOMATION).unwrap();
    assert_eq!(automation_app["passwordCredentials"][0]["hint"], "aut");
    assert!(automation_app["passwordCredentials"][0]["secretText"].is_null());
    assert_eq!(
        automation_app["requiredResourceAccess"][0]["resourceAppId"],
        GRAPH_APP_ID
    );
    assert!(
        automation_app["requiredResourceAccess"][0]["resourceAccess"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == APPLICATION_READWRITE_ALL && r["type"] == "Role")
    );

    // By object id, by appId (alternate key), by $filter; $select.
    let object_id = orders["id"].as_str().unwrap();
    assert_ne!(object_id, API, "the object id is not the app id");
    let (status, one) = graph(&idp, Some(&token), &format!("/applications/{object_id}")).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["appId"], API);
    assert!(
        one["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#applications/$entity")
    );
    let (_, by_key) = graph(&idp, Some(&token), &format!("/applications(appId='{API}')")).await;
    assert_eq!(by_key["id"], object_id);
    let (_, filtered) = graph(
        &idp,
        Some(&token),
        &format!("/applications?$filter=appId%20eq%20'{API}'&$select=id,appId"),
    )
    .await;
    let only = filtered["value"].as_array().unwrap();
    assert_eq!(only.len(), 1);
    let mut keys: Vec<&String> = only[0].as_object().unwrap().keys().collect();
    keys.sort_unstable();
    assert_eq!(keys, ["appId", "id"]);
    let (status, missing) = graph(
        &idp,
        Some(&token),
        "/applications/00000000-0000-0000-0000-000000000001",
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(missing["error"]["code"], "Request_ResourceNotFound");

    // Paging: $top and the @odata.nextLink, followed as given.
    let (_, first) = graph(&idp, Some(&token), "/applications?$top=2").await;
    assert_eq!(first["value"].as_array().unwrap().len(), 2);
    let next = first["@odata.nextLink"].as_str().unwrap();
    let rest = next
        .strip_prefix(&format!("{}/v1.0", idp.running.origin))
        .unwrap();
    let (_, second) = graph(&idp, Some(&token), rest).await;
    assert_eq!(second["value"].as_array().unwrap().len(), 2);
    assert_ne!(second["value"][0]["id"], first["value"][0]["id"]);

    // Microsoft Graph's service principal, with its application permissions,
    // and who holds them.
    let (status, graph_sp) = graph(
        &idp,
        Some(&token),
        &format!("/servicePrincipals(appId='{GRAPH_APP_ID}')"),
    )
    .await;
    assert_eq!(status, 200, "{graph_sp}");
    assert_eq!(graph_sp["displayName"], "Microsoft Graph");
    assert!(
        graph_sp["appRoles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["value"] == "Application.ReadWrite.All"
                && r["id"] == APPLICATION_READWRITE_ALL)
    );
    let sp_id = graph_sp["id"].as_str().unwrap();
    let (status, holders) = graph(
        &idp,
        Some(&token),
        &format!("/servicePrincipals/{sp_id}/appRoleAssignedTo"),
    )
    .await;
    assert_eq!(status, 200, "{holders}");
    let held = holders["value"].as_array().unwrap();
    assert_eq!(held.len(), 5);
    assert!(
        held.iter()
            .all(|a| a["principalDisplayName"] == "Directory automation"
                && a["principalType"] == "ServicePrincipal"
                && a["resourceId"] == sp_id)
    );
    // The doubled slash some Graph clients send.
    let (status, _) = graph(&idp, Some(&token), "//servicePrincipals").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn users_groups_memberships_and_me() {
    let idp = Idp::start().await;
    let token = automation(&idp).await;
    let (status, users) = graph(
        &idp,
        Some(&token),
        "/users?$filter=startswith(displayName,'Al')",
    )
    .await;
    assert_eq!(status, 200, "{users}");
    let users = users["value"].as_array().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["userPrincipalName"], ALICE.0);
    let (status, bob) = graph(&idp, Some(&token), "/users/bob@contoso.test").await;
    assert_eq!(status, 200, "{bob}");
    let bob_id = bob["id"].as_str().unwrap();
    let (_, member_of) = graph(&idp, Some(&token), &format!("/users/{bob_id}/memberOf")).await;
    let groups = member_of["value"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["displayName"], "Order Readers");
    assert_eq!(groups[0]["@odata.type"], "#microsoft.graph.group");
    let group_id = groups[0]["id"].as_str().unwrap();
    let (_, members) = graph(&idp, Some(&token), &format!("/groups/{group_id}/members")).await;
    assert!(
        members["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == bob_id)
    );
    let (status, body) = graph(&idp, Some(&token), "/me").await;
    assert_eq!(status, 400, "/me needs a user: {body}");
    let (status, org) = graph(&idp, Some(&token), "/organization").await;
    assert_eq!(status, 200, "{org}");
    assert_eq!(org["value"][0]["id"], TID);
    assert_eq!(
        org["value"][0]["verifiedDomains"][0]["name"],
        "contoso.test"
    );
    let (status, body) = graph(&idp, Some(&token), "/users?$orderby=displayName").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("Request_UnsupportedQuery"))
    );
    let (status, body) = graph(&idp, Some(&token), "/nonsense").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("BadRequest"))
    );

    // A delegated Graph token (User.Read): /me answers, the directory does not.
    let (status, tokens) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", ALICE.0),
            ("password", ALICE.1),
            ("scope", "User.Read"),
        ])
        .await;
    assert_eq!(status, 200, "{tokens}");
    let delegated = tokens["access_token"].as_str().unwrap();
    let (status, me) = graph(&idp, Some(delegated), "/me").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["userPrincipalName"], ALICE.0);
    let (status, body) = graph(&idp, Some(delegated), "/users").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("Authorization_RequestDenied"))
    );
}

async fn graph_send(
    idp: &Idp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = idp
        .client
        .request(method, format!("{}/v1.0{path}", idp.running.origin))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The flow through Graph: an API app with an app role, a client
/// with a secret, their service principals, the role granted to the client
/// and to a user; the next token carries it, and everything survives a
/// restart (the directory lives in the store).
#[tokio::test]
async fn graph_writes_reach_the_next_token_and_survive_a_restart() {
    use reqwest::Method;
    let idp = Idp::start().await;
    let admin = automation(&idp).await;

    // An API with an app role, and a client.
    let (status, api) = graph_send(
        &idp,
        &admin,
        Method::POST,
        "/applications",
        Some(serde_json::json!({
            "@odata.type": "#microsoft.graph.application",
            "displayName": "Reports API",
            "appRoles": [{
                "id": "9c5e1f3a-1d2b-4c3d-8e9f-0a1b2c3d4e5f",
                "value": "Reports.Read",
                "displayName": "Read reports",
                "description": "Read every report.",
                "allowedMemberTypes": ["User", "Application"],
                "isEnabled": true
            }],
            "api": {"requestedAccessTokenVersion": 2}
        })),
    )
    .await;
    assert_eq!(status, 201, "{api}");
    let api_app_id = api["appId"].as_str().unwrap().to_owned();
    let api_object_id = api["id"].as_str().unwrap().to_owned();
    let (status, _) = graph_send(
        &idp,
        &admin,
        Method::PATCH,
        &format!("/applications/{api_object_id}"),
        Some(serde_json::json!({"identifierUris": [format!("api://{api_app_id}")]})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, client) = graph_send(
        &idp,
        &admin,
        Method::POST,
        "/applications",
        Some(serde_json::json!({"displayName": "Reports job"})),
    )
    .await;
    assert_eq!(status, 201, "{client}");
    let client_app_id = client["appId"].as_str().unwrap().to_owned();
    let (status, password) = graph_send(
        &idp,
        &admin,
        Method::POST,
        &format!(
            "/applications/{}/addPassword",
            client["id"].as_str().unwrap()
        ),
        Some(serde_json::json!({"passwordCredential": {"displayName": "ci"}})),
    )
    .await;
    assert_eq!(status, 200, "{password}");
    let secret = password["secretText"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 40);
    assert_eq!(password["hint"], &secret[..3]);

    // Service principals (the provider has them already; Graph's clients
    // create them), and the role granted to the client and to alice.
    let mut sp_ids = Vec::new();
    for app_id in [&api_app_id, &client_app_id] {
        let (status, sp) = graph_send(
            &idp,
            &admin,
            Method::POST,
            "/servicePrincipals",
            Some(serde_json::json!({"appId": app_id})),
        )
        .await;
        assert_eq!(status, 201, "{sp}");
        sp_ids.push(sp["id"].as_str().unwrap().to_owned());
    }
    let (_, alice) = graph(&idp, Some(&admin), "/users/alice@contoso.test").await;
    for principal in [sp_ids[1].as_str(), alice["id"].as_str().unwrap()] {
        let (status, assignment) = graph_send(
            &idp,
            &admin,
            Method::POST,
            &format!("/servicePrincipals/{}/appRoleAssignedTo", sp_ids[0]),
            Some(serde_json::json!({
                "principalId": principal,
                "resourceId": sp_ids[0],
                "appRoleId": "9c5e1f3a-1d2b-4c3d-8e9f-0a1b2c3d4e5f"
            })),
        )
        .await;
        assert_eq!(status, 201, "{assignment}");
        assert_eq!(assignment["resourceId"], sp_ids[0]);
    }
    // The next token carries the role.
    let token = app_token(
        &idp,
        &client_app_id,
        &secret,
        &format!("api://{api_app_id}/.default"),
    )
    .await;
    assert_eq!(claims(&token)["aud"], api_app_id);
    assert_eq!(claims(&token)["roles"], serde_json::json!(["Reports.Read"]));
    let (_, alice_roles) = graph(
        &idp,
        Some(&admin),
        &format!(
            "/users/{}/appRoleAssignments",
            alice["id"].as_str().unwrap()
        ),
    )
    .await;
    assert!(
        alice_roles["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["resourceDisplayName"] == "Reports API")
    );

    // The secret is stored as a hash only.
    let database = std::fs::read(idp.data_dir.join(rolegate_idp::server::DATABASE)).unwrap();
    let wal = std::fs::read(
        idp.data_dir
            .join(format!("{}-wal", rolegate_idp::server::DATABASE)),
    )
    .unwrap_or_default();
    for bytes in [&database, &wal] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the client secret is in the database in plain text"
        );
    }

    // A restart: the tenant file seeds again and Graph's objects stay.
    let addr = idp.running.addr;
    let data_dir = idp.stop().await;
    let idp = Idp::start_in(data_dir, &addr.to_string()).await;
    let admin = automation(&idp).await;
    let (status, back) = graph(
        &idp,
        Some(&admin),
        &format!("/applications(appId='{api_app_id}')"),
    )
    .await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["appRoles"][0]["value"], "Reports.Read");
    let token = app_token(
        &idp,
        &client_app_id,
        &secret,
        &format!("api://{api_app_id}/.default"),
    )
    .await;
    assert_eq!(claims(&token)["roles"], serde_json::json!(["Reports.Read"]));

    // Deleting the API removes it and the assignments naming it.
    let (status, _) = graph_send(
        &idp,
        &admin,
        Method::DELETE,
        &format!("/applications/{api_object_id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = graph(
        &idp,
        Some(&admin),
        &format!("/applications/{api_object_id}"),
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = idp
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client_app_id),
            ("client_secret", &secret),
            ("scope", &format!("api://{api_app_id}/.default")),
        ])
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn graph_writes_are_checked_like_a_tenant_file_and_need_permissions() {
    use reqwest::Method;
    let idp = Idp::start().await;
    let admin = automation(&idp).await;
    let (status, body) = graph_send(
        &idp,
        &admin,
        Method::POST,
        "/applications",
        Some(serde_json::json!({
            "displayName": "Broken",
            "appRoles": [{"value": "has space", "displayName": "x", "allowedMemberTypes": ["User"]}]
        })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "Request_BadRequest");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("has space"),
        "{body}"
    );
    let (status, body) = graph_send(
        &idp,
        &admin,
        Method::POST,
        "/applications",
        Some(serde_json::json!({"identifierUris": ["api://x"]})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    // Nothing was stored by the refused writes.
    let (_, apps) = graph(
        &idp,
        Some(&admin),
        "/applications?$filter=displayName eq 'Broken'",
    )
    .await;
    assert_eq!(apps["value"].as_array().unwrap().len(), 0);

    // Users and groups.
    let (status, user) = graph_send(
        &idp,
        &admin,
        Method::POST,
        "/users",
        Some(serde_json::json!({
            "accountEnabled": true,
            "displayName": "Dave",
            "mailNickname": "dave",
            "userPrincipalName": "dave@contoso.test",
            "passwordProfile": {"password": "dave-Passw0rd", "forceChangePasswordNextSignIn": false}
        })),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    let (status, group) = graph_send(
        &idp,
        &admin,
        Method::POST,
        "/groups",
        Some(serde_json::json!({"displayName": "Auditors", "mailEnabled": false, "mailNickname": "auditors", "securityEnabled": true})),
    )
    .await;
    assert_eq!(status, 201, "{group}");
    let (status, _) = graph_send(
        &idp,
        &admin,
        Method::POST,
        &format!("/groups/{}/members/$ref", group["id"].as_str().unwrap()),
        Some(serde_json::json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", user["id"].as_str().unwrap())})),
    )
    .await;
    assert_eq!(status, 204);
    let (_, member_of) = graph(
        &idp,
        Some(&admin),
        &format!("/users/{}/memberOf", user["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(member_of["value"][0]["displayName"], "Auditors");
    // The new user signs in with the password Graph set.
    let (status, body) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", "dave@contoso.test"),
            ("password", "dave-Passw0rd"),
            ("scope", "User.Read"),
        ])
        .await;
    assert_eq!(status, 200, "{body}");

    // Without Graph permissions: 403, and nothing changes.
    let daemon = app_token(
        &idp,
        DAEMON,
        DAEMON_SECRET,
        "https://graph.microsoft.com/.default",
    )
    .await;
    let (status, body) = graph_send(
        &idp,
        &daemon,
        Method::POST,
        "/applications",
        Some(serde_json::json!({"displayName": "Sneaky"})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("Authorization_RequestDenied"))
    );
}

/// Delegated permission grants: an admin consent through Graph lets a
/// client get a token for a scope without a consent page; deleting it
/// takes it back. A group deleted through Graph leaves its members' lists.
#[tokio::test]
async fn permission_grants_and_group_deletion() {
    use reqwest::Method;
    let idp = Idp::start().await;
    let admin = automation(&idp).await;
    let sp = |app_id: String| {
        let idp = &idp;
        let admin = admin.clone();
        async move {
            graph(
                idp,
                Some(&admin),
                &format!("/servicePrincipals(appId='{app_id}')"),
            )
            .await
            .1["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    // The Orders CLI has no consent for the Inventory API: ROPC asking for
    // it fails with a consent error.
    let inventory = "5c1d9e7a-3b2f-4d6c-8e9a-0b1c2d3e4f5a";
    let ropc = || {
        idp.post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", ALICE.0),
            ("password", ALICE.1),
            (
                "scope",
                "api://5c1d9e7a-3b2f-4d6c-8e9a-0b1c2d3e4f5a/Inventory.Read",
            ),
        ])
    };
    let (status, body) = ropc().await;
    assert_eq!(status, 400, "{body}");
    let (client_sp, resource_sp) = (sp(CLI.to_owned()).await, sp(inventory.to_owned()).await);
    let (status, grant) = graph_send(
        &idp,
        &admin,
        Method::POST,
        "/oauth2PermissionGrants",
        Some(serde_json::json!({
            "clientId": client_sp,
            "consentType": "AllPrincipals",
            "resourceId": resource_sp,
            "scope": "Inventory.Read"
        })),
    )
    .await;
    assert_eq!(status, 201, "{grant}");
    assert_eq!(grant["consentType"], "AllPrincipals");
    let (status, body) = ropc().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["scp"],
        "Inventory.Read"
    );
    let (status, _) = graph_send(
        &idp,
        &admin,
        Method::DELETE,
        &format!("/oauth2PermissionGrants/{}", grant["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = ropc().await;
    assert_eq!(status, 400, "the consent is gone");

    // One user's consent (consentType Principal): listed, then withdrawn.
    let (_, alice) = graph(&idp, Some(&admin), "/users/alice@contoso.test").await;
    let (status, grant) = graph_send(
        &idp,
        &admin,
        Method::POST,
        "/oauth2PermissionGrants",
        Some(serde_json::json!({
            "clientId": client_sp,
            "consentType": "Principal",
            "principalId": alice["id"],
            "resourceId": resource_sp,
            "scope": "Inventory.Read"
        })),
    )
    .await;
    assert_eq!(status, 201, "{grant}");
    let (status, _) = ropc().await;
    assert_eq!(status, 200);
    let (_, grants) = graph(&idp, Some(&admin), "/oauth2PermissionGrants").await;
    assert!(
        grants["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == grant["id"] && g["consentType"] == "Principal"),
        "{grants}"
    );
    let (status, _) = graph_send(
        &idp,
        &admin,
        Method::DELETE,
        &format!("/oauth2PermissionGrants/{}", grant["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = ropc().await;
    assert_eq!(status, 400, "alice's consent is withdrawn");

    // Deleting "Order Readers" takes bob's role (held through it) away.
    let (_, groups) = graph(
        &idp,
        Some(&admin),
        "/groups?$filter=displayName eq 'Order Readers'",
    )
    .await;
    let group_id = groups["value"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = graph_send(
        &idp,
        &admin,
        Method::DELETE,
        &format!("/groups/{group_id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (_, bob) = graph(&idp, Some(&admin), "/users/bob@contoso.test/memberOf").await;
    assert_eq!(bob["value"].as_array().unwrap().len(), 0);
}

/// With a delegated token Graph checks the user's directory role as well
/// as the scope: alice (Application Administrator) may register apps but
/// not create users; bob (no role) may do neither, whatever scope his
/// token carries.
#[tokio::test]
async fn delegated_writes_need_the_users_directory_role() {
    use reqwest::Method;
    let idp = Idp::start().await;
    let token = |user: (&'static str, &'static str)| {
        let idp = &idp;
        async move {
            let (status, body) = idp
                .post_token(&[
                    ("grant_type", "password"),
                    ("client_id", CLI),
                    ("username", user.0),
                    ("password", user.1),
                    ("scope", "Directory.AccessAsUser.All"),
                ])
                .await;
            assert_eq!(status, 200, "{body}");
            body["access_token"].as_str().unwrap().to_owned()
        }
    };
    let alice = token(ALICE).await;
    let bob = token(crate::BOB).await;
    let app = || Some(serde_json::json!({"displayName": "Registered by a person"}));
    let (status, body) = graph_send(&idp, &alice, Method::POST, "/applications", app()).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = graph_send(&idp, &bob, Method::POST, "/applications", app()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("Authorization_RequestDenied"))
    );
    let user = || {
        Some(serde_json::json!({
            "displayName": "Eve",
            "userPrincipalName": "eve@contoso.test",
            "passwordProfile": {"password": "eve-Passw0rd-1"}
        }))
    };
    let (status, _) = graph_send(&idp, &alice, Method::POST, "/users", user()).await;
    assert_eq!(status, 403, "an Application Administrator manages no users");
    // Reading stays open to members, as in Entra.
    let (status, _) = graph(&idp, Some(&bob), "/applications").await;
    assert_eq!(status, 200);
}

/// Renames through Graph keep every reference: a group renamed keeps its
/// members and the role it holds; a user renamed keeps the object id and
/// their roles, and signs in under the new name with a new password.
#[tokio::test]
async fn renames_keep_memberships_roles_and_ids() {
    use reqwest::Method;
    let idp = Idp::start().await;
    let admin = automation(&idp).await;
    let (_, groups) = graph(
        &idp,
        Some(&admin),
        "/groups?$filter=displayName eq 'Order Readers'",
    )
    .await;
    let group_id = groups["value"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = graph_send(
        &idp,
        &admin,
        Method::PATCH,
        &format!("/groups/{group_id}"),
        Some(serde_json::json!({"displayName": "Order Viewers"})),
    )
    .await;
    assert_eq!(status, 204);
    let (_, group) = graph(&idp, Some(&admin), &format!("/groups/{group_id}")).await;
    assert_eq!(group["displayName"], "Order Viewers");
    let (_, bob) = graph(&idp, Some(&admin), "/users/bob@contoso.test").await;
    let bob_id = bob["id"].as_str().unwrap().to_owned();
    let (status, _) = graph_send(
        &idp,
        &admin,
        Method::PATCH,
        &format!("/users/{bob_id}"),
        Some(serde_json::json!({
            "userPrincipalName": "robert@contoso.test",
            "passwordProfile": {"password": "robert-Passw0rd"}
        })),
    )
    .await;
    assert_eq!(status, 204);
    let (status, tokens) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", "robert@contoso.test"),
            ("password", "robert-Passw0rd"),
            ("scope", &format!("api://{API}/access_as_user")),
        ])
        .await;
    assert_eq!(status, 200, "{tokens}");
    let c = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(c["oid"], bob_id.as_str(), "the object id stays");
    assert_eq!(
        c["roles"],
        serde_json::json!(["Orders.Read"]),
        "still held through the renamed group"
    );
}

/// The tenant file wins for what it names, renames included: after a
/// restart the file's name for a user Graph renamed is back, and the
/// provider starts (one user, not two with one object id).
#[tokio::test]
async fn the_file_wins_over_a_graph_rename_at_restart() {
    use reqwest::Method;
    let idp = Idp::start().await;
    let admin = automation(&idp).await;
    let (_, bob) = graph(&idp, Some(&admin), "/users/bob@contoso.test").await;
    let bob_id = bob["id"].as_str().unwrap().to_owned();
    let (status, _) = graph_send(
        &idp,
        &admin,
        Method::PATCH,
        &format!("/users/{bob_id}"),
        Some(serde_json::json!({"userPrincipalName": "robert@contoso.test"})),
    )
    .await;
    assert_eq!(status, 204);
    let addr = idp.running.addr;
    let data_dir = idp.stop().await;
    let idp = Idp::start_in(data_dir, &addr.to_string()).await;
    let admin = automation(&idp).await;
    let (status, back) = graph(&idp, Some(&admin), &format!("/users/{bob_id}")).await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["userPrincipalName"], "bob@contoso.test");
    let (_, robert) = graph(&idp, Some(&admin), "/users/robert@contoso.test").await;
    assert_eq!(robert["error"]["code"], "Request_ResourceNotFound");
}

/// A user holding a role directly, renamed through Graph: at restart the
/// file's name returns and the role assignment follows it.
#[tokio::test]
async fn a_renamed_users_direct_role_follows_the_files_name_at_restart() {
    use reqwest::Method;
    let idp = Idp::start().await;
    let admin = automation(&idp).await;
    let (_, alice) = graph(&idp, Some(&admin), "/users/alice@contoso.test").await;
    let alice_id = alice["id"].as_str().unwrap().to_owned();
    let (status, _) = graph_send(
        &idp,
        &admin,
        Method::PATCH,
        &format!("/users/{alice_id}"),
        Some(serde_json::json!({"userPrincipalName": "alicia@contoso.test"})),
    )
    .await;
    assert_eq!(status, 204);
    let addr = idp.running.addr;
    let data_dir = idp.stop().await;
    let idp = Idp::start_in(data_dir, &addr.to_string()).await;
    let (status, tokens) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", ALICE.0),
            ("password", ALICE.1),
            ("scope", &format!("api://{API}/access_as_user")),
        ])
        .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        claims(tokens["access_token"].as_str().unwrap())["roles"],
        serde_json::json!(["Orders.Admin"])
    );
}

/// Removing an object from the tenant file removes it from the store at
/// the next start (access revoked), while what Graph created stays.
#[tokio::test]
async fn removing_a_user_from_the_file_revokes_them_and_graphs_objects_stay() {
    use reqwest::Method;
    let dir = std::env::temp_dir().join(format!(
        "rolegate-idp-test-{}",
        rolegate_idp::secret::random_token(9)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let tenant = dir.join("tenant.toml");
    let original = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/tenant.toml"
    ))
    .unwrap();
    std::fs::write(&tenant, &original).unwrap();
    let data = dir.join("data");
    let idp = Idp::start_with(data.clone(), "127.0.0.1:0", tenant.to_str().unwrap()).await;
    let admin = automation(&idp).await;
    let (status, _) = graph_send(
        &idp,
        &admin,
        Method::POST,
        "/groups",
        Some(serde_json::json!({"displayName": "Made by Graph"})),
    )
    .await;
    assert_eq!(status, 201);
    let addr = idp.running.addr.to_string();
    idp.stop().await;
    // carol leaves the file.
    let start = original
        .find("[[users]]\nuser_principal_name = \"carol@contoso.test\"")
        .unwrap();
    let end = start + original[start..].find("\n\n").unwrap();
    std::fs::write(
        &tenant,
        format!("{}{}", &original[..start], &original[end..]),
    )
    .unwrap();
    let idp = Idp::start_with(data, &addr, tenant.to_str().unwrap()).await;
    let admin = automation(&idp).await;
    let (status, _) = graph(&idp, Some(&admin), "/users/carol@contoso.test").await;
    assert_eq!(status, 404, "carol was removed from the file");
    let (status, body) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", "carol@contoso.test"),
            ("password", "carol-Passw0rd"),
            ("scope", &format!("api://{API}/access_as_user")),
        ])
        .await;
    assert_eq!(status, 400, "carol cannot sign in any more: {body}");
    let (_, groups) = graph(
        &idp,
        Some(&admin),
        "/groups?$filter=displayName eq 'Made by Graph'",
    )
    .await;
    assert_eq!(
        groups["value"].as_array().unwrap().len(),
        1,
        "Graph's group stays"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// "Assignment required" on the enterprise application: users without a
/// role assignment are refused (AADSTS50105) once it is switched on.
#[tokio::test]
async fn assignment_required_switched_on_through_graph() {
    use reqwest::Method;
    let idp = Idp::start().await;
    let admin = automation(&idp).await;
    let (_, sp) = graph(
        &idp,
        Some(&admin),
        &format!("/servicePrincipals(appId='{API}')"),
    )
    .await;
    let sign_in = |user: (&'static str, &'static str)| {
        let idp = &idp;
        async move {
            idp.post_token(&[
                ("grant_type", "password"),
                ("client_id", CLI),
                ("username", user.0),
                ("password", user.1),
                ("scope", &format!("api://{API}/access_as_user")),
            ])
            .await
        }
    };
    let carol = ("carol@contoso.test", "carol-Passw0rd");
    assert_eq!(
        sign_in(carol).await.0,
        200,
        "carol holds no role but may sign in"
    );
    let (status, body) = graph_send(
        &idp,
        &admin,
        Method::PATCH,
        &format!("/servicePrincipals/{}", sp["id"].as_str().unwrap()),
        Some(serde_json::json!({"appRoleAssignmentRequired": true})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (_, sp) = graph(
        &idp,
        Some(&admin),
        &format!("/servicePrincipals(appId='{API}')"),
    )
    .await;
    assert_eq!(sp["appRoleAssignmentRequired"], true);
    let (status, body) = sign_in(carol).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(crate::aadsts(&body), 50105);
    assert_eq!(sign_in(ALICE).await.0, 200, "alice holds Orders.Admin");
}

/// `DELETE /servicePrincipals/{id}` removes the enterprise application and
/// what names it (role assignments both ways, admin consents); the
/// registration stays. Until `POST /servicePrincipals` creates it again the
/// app gets no token (AADSTS700016) and no token is issued for it as a
/// resource (AADSTS500011); afterwards it works again, without the old
/// assignments. Microsoft's own service principals cannot be deleted.
#[tokio::test]
async fn deleting_a_service_principal_removes_the_enterprise_app_until_it_is_created_again() {
    use reqwest::Method;
    let idp = Idp::start().await;
    let admin = automation(&idp).await;
    let (_, api_sp) = graph(
        &idp,
        Some(&admin),
        &format!("/servicePrincipals(appId='{API}')"),
    )
    .await;
    let api_sp_id = api_sp["id"].as_str().unwrap().to_owned();
    let (_, daemon_sp) = graph(
        &idp,
        Some(&admin),
        &format!("/servicePrincipals(appId='{DAEMON}')"),
    )
    .await;
    let daemon_sp_id = daemon_sp["id"].as_str().unwrap().to_owned();
    let daemon_token = |scope: String| {
        let idp = &idp;
        async move {
            idp.post_token(&[
                ("grant_type", "client_credentials"),
                ("client_id", DAEMON),
                ("client_secret", DAEMON_SECRET),
                ("scope", &scope),
            ])
            .await
        }
    };
    let (status, body) = daemon_token(format!("api://{API}/.default")).await;
    assert_eq!(status, 200, "{body}");
    assert!(claims(body["access_token"].as_str().unwrap())["roles"].is_array());

    // Addressed by app id too, with more segments.
    let (status, assigned) = graph(
        &idp,
        Some(&admin),
        &format!("/servicePrincipals(appId='{API}')/appRoleAssignedTo"),
    )
    .await;
    assert_eq!(status, 200, "{assigned}");
    assert!(
        assigned["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["principalId"] == daemon_sp_id.as_str())
    );
    let (status, _) = graph(
        &idp,
        Some(&admin),
        "/servicePrincipals(appId='0f0f0f0f-0000-4000-8000-000000000000')/appRoleAssignedTo",
    )
    .await;
    assert_eq!(status, 404);

    // The daemon's enterprise application goes: no more tokens for it.
    let (status, body) = graph_send(
        &idp,
        &admin,
        Method::DELETE,
        &format!("/servicePrincipals(appId='{DAEMON}')"),
        None,
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (status, _) = graph(
        &idp,
        Some(&admin),
        &format!("/servicePrincipals/{daemon_sp_id}"),
    )
    .await;
    assert_eq!(status, 404);
    let (status, registration) = graph(
        &idp,
        Some(&admin),
        &format!("/applications(appId='{DAEMON}')"),
    )
    .await;
    assert_eq!(status, 200, "the registration stays: {registration}");
    let (_, assigned) = graph(
        &idp,
        Some(&admin),
        &format!("/servicePrincipals/{api_sp_id}/appRoleAssignedTo"),
    )
    .await;
    assert!(
        !assigned["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["principalId"] == daemon_sp_id.as_str()),
        "the daemon's application permission went with it: {assigned}"
    );
    let (status, body) = daemon_token(format!("api://{API}/.default")).await;
    assert_eq!((status, crate::aadsts(&body)), (400, 700016), "{body}");

    // Created again: tokens again, without the old application permission.
    let (status, created) = graph_send(
        &idp,
        &admin,
        Method::POST,
        "/servicePrincipals",
        Some(serde_json::json!({"appId": DAEMON})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id"], daemon_sp_id.as_str());
    let (status, password) = graph_send(
        &idp,
        &admin,
        Method::POST,
        &format!("/applications(appId='{DAEMON}')/addPassword"),
        Some(serde_json::json!({"passwordCredential": {"displayName": "by app id"}})),
    )
    .await;
    assert_eq!(status, 200, "{password}");
    assert!(password["secretText"].as_str().unwrap().len() >= 32);
    let (status, body) = daemon_token(format!("api://{API}/.default")).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        claims(body["access_token"].as_str().unwrap())
            .get("roles")
            .is_none()
    );

    // A user's own consent to the API (alice, through the CLI app).
    let (_, cli_sp) = graph(
        &idp,
        Some(&admin),
        &format!("/servicePrincipals(appId='{CLI}')"),
    )
    .await;
    let (_, alice) = graph(&idp, Some(&admin), &format!("/users/{}", ALICE.0)).await;
    let (status, grant) = graph_send(
        &idp,
        &admin,
        Method::POST,
        "/oauth2PermissionGrants",
        Some(serde_json::json!({
            "clientId": cli_sp["id"], "consentType": "Principal", "principalId": alice["id"],
            "resourceId": api_sp_id, "scope": "access_as_user"
        })),
    )
    .await;
    assert_eq!(status, 201, "{grant}");
    let user_grants = |listed: &Value| {
        listed["value"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["consentType"] == "Principal" && g["resourceId"] == api_sp_id.as_str())
            .count()
    };
    let (_, listed) = graph(&idp, Some(&admin), "/oauth2PermissionGrants").await;
    assert_eq!(user_grants(&listed), 1, "{listed}");

    // The API's enterprise application goes: no token names it as a resource.
    let (status, body) = graph_send(
        &idp,
        &admin,
        Method::DELETE,
        &format!("/servicePrincipals/{api_sp_id}"),
        None,
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = daemon_token(format!("api://{API}/.default")).await;
    assert_eq!((status, crate::aadsts(&body)), (400, 500011), "{body}");
    let (_, listed) = graph(&idp, Some(&admin), "/servicePrincipals").await;
    assert!(
        !listed["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["appId"] == API),
        "{listed}"
    );
    // An assignment naming it is refused while it has none.
    let (status, body) = graph_send(
        &idp,
        &admin,
        Method::POST,
        &format!("/servicePrincipals/{api_sp_id}/appRoleAssignedTo"),
        Some(serde_json::json!({"principalId": daemon_sp_id, "resourceId": api_sp_id, "appRoleId": "00000000-0000-0000-0000-000000000000"})),
    )
    .await;
    assert!(status == 404 || status == 400, "{status} {body}");

    // Created again: the user's consent did not come back with it.
    let (status, body) = graph_send(
        &idp,
        &admin,
        Method::POST,
        "/servicePrincipals",
        Some(serde_json::json!({"appId": API})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (_, listed) = graph(&idp, Some(&admin), "/oauth2PermissionGrants").await;
    assert_eq!(user_grants(&listed), 0, "{listed}");

    // Microsoft Graph's service principal stays.
    let (_, graph_sp) = graph(
        &idp,
        Some(&admin),
        "/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')",
    )
    .await;
    let (status, body) = graph_send(
        &idp,
        &admin,
        Method::DELETE,
        &format!("/servicePrincipals/{}", graph_sp["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("built into every tenant")
    );
}

/// Delegated `https://graph.microsoft.com/.default` grants the Graph
/// permissions the client's registration asks for (requiredResourceAccess),
/// as Entra grants static permissions; without them, `User.Read`.
#[tokio::test]
async fn graph_default_scope_grants_the_registered_permissions() {
    use reqwest::Method;
    let idp = Idp::start().await;
    let admin = automation(&idp).await;
    let ropc = || {
        idp.post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", ALICE.0),
            ("password", ALICE.1),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
    };
    let (status, body) = ropc().await;
    assert_eq!(status, 200, "{body}");
    let scp = claims(body["access_token"].as_str().unwrap())["scp"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        scp.contains("User.Read") && !scp.contains("Directory"),
        "{scp}"
    );
    let (status, body) = graph_send(
        &idp,
        &admin,
        Method::PATCH,
        &format!("/applications(appId='{CLI}')"),
        Some(serde_json::json!({"requiredResourceAccess": [
            {"resourceAppId": API, "resourceAccess": [{"id": "5a23ef1e-7e53-4f04-91f9-231bfd24e2c6", "type": "Scope"}]},
            {"resourceAppId": GRAPH_APP_ID, "resourceAccess": [{"id": "0e263e50-5827-48a4-b97c-d940288653c7", "type": "Scope"}]}
        ]})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = ropc().await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert!(
        claims(&token)["scp"]
            .as_str()
            .unwrap()
            .contains("Directory.AccessAsUser.All")
    );
    let (status, body) = graph_send(
        &idp,
        &token,
        Method::POST,
        "/applications",
        Some(serde_json::json!({"displayName": "Registered by alice"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}
