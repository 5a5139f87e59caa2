//! Discovery, JWKS, instance and realm discovery.

use crate::{Idp, TID};

#[tokio::test]
async fn v2_discovery_by_id_and_domain_names_the_guid() {
    let idp = Idp::start().await;
    for segment in [TID, "contoso.test", "CONTOSO.TEST"] {
        let doc: serde_json::Value = idp
            .client
            .get(format!(
                "{}/{segment}/v2.0/.well-known/openid-configuration",
                idp.running.origin
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["issuer"], format!("{}/{TID}/v2.0", idp.running.origin));
        assert_eq!(
            doc["token_endpoint"],
            format!("{}/{TID}/oauth2/v2.0/token", idp.running.origin)
        );
        assert_eq!(
            doc["jwks_uri"],
            format!("{}/{TID}/discovery/v2.0/keys", idp.running.origin)
        );
        assert!(
            doc["device_authorization_endpoint"]
                .as_str()
                .unwrap()
                .ends_with("/oauth2/v2.0/devicecode")
        );
    }
    let common: serde_json::Value = idp
        .client
        .get(format!(
            "{}/common/v2.0/.well-known/openid-configuration",
            idp.running.origin
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        common["issuer"],
        format!("{}/{{tenantid}}/v2.0", idp.running.origin)
    );
    assert_eq!(
        common["token_endpoint"],
        format!("{}/common/oauth2/v2.0/token", idp.running.origin)
    );
}

#[tokio::test]
async fn v1_discovery_and_keys() {
    let idp = Idp::start().await;
    let doc: serde_json::Value = idp
        .client
        .get(format!(
            "{}/{TID}/.well-known/openid-configuration",
            idp.running.origin
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], format!("https://sts.windows.net/{TID}/"));
    let jwks: serde_json::Value = idp
        .client
        .get(format!("{}/{TID}/discovery/v2.0/keys", idp.running.origin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert!(keys.len() >= 2, "current and next key are published");
    for key in keys {
        assert_eq!(key["kid"], key["x5t"]);
        assert_eq!(
            key["issuer"],
            format!("{}/{{tenantid}}/v2.0", idp.running.origin)
        );
        assert!(key["x5c"][0].as_str().unwrap().len() > 100);
    }
}

#[tokio::test]
async fn unknown_tenant_is_aadsts90002() {
    let idp = Idp::start().await;
    let resp = idp
        .client
        .get(format!(
            "{}/fabrikam.test/v2.0/.well-known/openid-configuration",
            idp.running.origin
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(crate::aadsts(&body), 90_002);
}

#[tokio::test]
async fn instance_and_user_realm_discovery() {
    let idp = Idp::start().await;
    let realm: serde_json::Value = idp
        .client
        .get(format!(
            "{}/common/userrealm/alice@contoso.test?api-version=1.0",
            idp.running.origin
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(realm["account_type"], "Managed");
    let instance: serde_json::Value = idp
        .client
        .get(format!(
            "{}/common/discovery/instance?api-version=1.1",
            idp.running.origin
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        instance["tenant_discovery_endpoint"]
            .as_str()
            .unwrap()
            .contains(TID)
    );
}

/// Discovery advertises only what is served: every v2 endpoint it names
/// answers (no 404/405) with the method a client would use, and it claims
/// no client authentication or response type the provider refuses.
#[tokio::test]
async fn every_advertised_endpoint_is_served() {
    let idp = Idp::start().await;
    for (version, path) in [
        ("v2", "v2.0/.well-known/openid-configuration"),
        ("v1", ".well-known/openid-configuration"),
    ] {
        for tenant in [TID, "contoso.test", "organizations", "common"] {
            let doc: serde_json::Value = idp
                .client
                .get(format!("{}/{tenant}/{path}", idp.running.origin))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(
                doc["token_endpoint_auth_methods_supported"],
                serde_json::json!([
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic"
                ])
            );
            assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
            let mut walked = Vec::new();
            for (member, url) in doc.as_object().unwrap() {
                if !member.ends_with("_endpoint") && member != "jwks_uri" {
                    continue;
                }
                let method = match member.as_str() {
                    "token_endpoint" | "device_authorization_endpoint" => "POST",
                    _ => "GET",
                };
                let url = url.as_str().unwrap();
                let resp = idp
                    .client
                    .request(method.parse().unwrap(), url)
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                assert!(
                    status != 404 && status != 405,
                    "{version} {tenant}: {member} {method} {url} answered {status}"
                );
                walked.push(member.clone());
            }
            walked.sort();
            let expected: &[&str] = match version {
                "v2" => &[
                    "authorization_endpoint",
                    "device_authorization_endpoint",
                    "end_session_endpoint",
                    "jwks_uri",
                    "token_endpoint",
                    "userinfo_endpoint",
                ],
                _ => &[
                    "authorization_endpoint",
                    "jwks_uri",
                    "token_endpoint",
                    "userinfo_endpoint",
                ],
            };
            assert_eq!(walked, expected, "{version} {tenant}");
        }
    }
}

#[tokio::test]
async fn the_authority_url_lists_the_tenants_endpoints() {
    let idp = Idp::start().await;
    let resp = idp.client.get(idp.authority()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("contoso.test"), "{html}");
    assert!(
        html.contains(&format!(
            "{}/v2.0/.well-known/openid-configuration",
            idp.authority()
        )),
        "{html}"
    );
    assert!(html.contains("/oauth2/v2.0/token"), "{html}");
    let resp = idp
        .client
        .get(format!("{}/no-such-tenant.test", idp.running.origin))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    assert!(resp.text().await.unwrap().contains("AADSTS90002"));
}

#[tokio::test]
async fn ready_when_the_store_answers_and_a_key_signs() {
    let idp = Idp::start().await;
    let response = idp
        .client
        .get(format!("{}/rolegate/ready", idp.running.origin))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["status"],
        "ready"
    );
}
