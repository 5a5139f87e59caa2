use std::path::{Path, PathBuf};

use super::*;
use crate::directory::{RedirectKind, ResourceAccess};

const TENANT: &str = "7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b";
const API: &str = "8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c";
const SPA: &str = "2732dc92-37da-4c7f-a87a-1900d556a951";
const DAEMON: &str = "7fbf04bb-64db-4661-a8cd-d2d07d250ad8";
const CLI: &str = "c2e9bc59-4581-415a-9b7f-78e66989c5c8";

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn problems(text: &str) -> Vec<String> {
    match from_toml(text, &examples()) {
        Ok(_) => panic!("expected problems"),
        Err(errors) => errors.problems,
    }
}

fn assert_reports(problems: &[String], expected: &[&str]) {
    for wanted in expected {
        assert!(
            problems.iter().any(|p| p.contains(wanted)),
            "no problem mentions {wanted:?}; got:\n{}",
            problems.join("\n")
        );
    }
}

#[test]
fn example_tenant_loads_and_answers_queries() {
    let directory = load(&examples().join("tenant.toml")).unwrap();
    assert_eq!(directory.tenant.id, TENANT);
    assert!(directory.is_tenant("contoso.test"));

    let api = directory.resource(&format!("api://{API}")).unwrap();
    assert_eq!(api.app_id, API);
    assert_eq!(
        directory.resource(&format!("api://{API}/")).unwrap().app_id,
        API
    );
    assert_eq!(api.requested_access_token_version, 2);
    assert!(api.emit_idtyp);
    assert_eq!(
        api.service_principal_id,
        derived_guid(TENANT, "service_principal", API)
    );

    let user = |upn: &str| directory.user_by_upn(upn).unwrap();
    let (alice, bob, carol) = (
        user("alice@contoso.test"),
        user("BOB@contoso.test"),
        user("carol@contoso.test"),
    );
    assert_eq!(directory.user_roles(alice, api), ["Orders.Admin"]);
    assert_eq!(directory.user_roles(bob, api), ["Orders.Read"]);
    assert!(directory.user_roles(carol, api).is_empty());
    assert_eq!(bob.groups, [derived_guid(TENANT, "group", "order readers")]);
    assert_eq!(alice.object_id, "8d3c2b1a-0f9e-4d8c-b7a6-5e4f3a2b1c0d");
    let pool = crate::secret::HashPool::new(1, 4);
    let verify = |user, password| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(directory.verify_password(&pool, user, password))
            .unwrap()
    };
    assert!(verify(alice, "alice-Passw0rd"));
    assert!(!verify(alice, "bob-Passw0rd"));

    let daemon = directory.application(DAEMON).unwrap();
    assert_eq!(directory.application_roles(daemon, api), ["Orders.Read"]);
    assert!(daemon.is_confidential());
    assert_eq!(daemon.secrets[0].hint, "dae");
    let verify_secret = |secret| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(directory.verify_client_secret(&pool, daemon, secret))
            .unwrap()
    };
    assert!(verify_secret("daemon-secret-8Qx3vT7pLm2Zr9Wc"));
    assert!(verify_secret("daemon-secret-8Qx3vT7pLm2Zr9Wc"), "cached");
    assert!(!verify_secret("daemon-secret"));

    let spa = directory.application(SPA).unwrap();
    assert_eq!(
        directory.admin_consented_scopes(spa, api),
        ["access_as_user"]
    );
    assert!(directory.application_roles(spa, api).is_empty());
    assert_eq!(
        spa.redirect_kind("http://localhost:5173/"),
        Some(RedirectKind::Spa)
    );
    assert_eq!(
        spa.required_resource_access,
        [ResourceAccess {
            resource_app_id: API.to_owned(),
            scopes: vec!["access_as_user".to_owned()],
            roles: vec![],
        }]
    );

    let cli = directory.application(CLI).unwrap();
    assert!(cli.is_fallback_public_client && !cli.is_confidential());
    assert_eq!(
        cli.redirect_kind("http://localhost:49152"),
        Some(RedirectKind::PublicClient)
    );
    assert_eq!(
        directory.admin_consented_scopes(cli, api),
        ["access_as_user"]
    );
}

#[test]
fn five_mistakes_are_all_reported() {
    let found = problems(&format!(
        r#"
[tenant]
id = "contoso"
domain = "contoso.test"

[[users]]
user_principal_name = "alice@contoso.test"
display_name = "Alice"
groups = ["Order Readrs"]

[[groups]]
display_name = "Order Readers"

[[applications]]
display_name = "Orders API"
app_id = "{API}"
identifier_uris = ["api://{API}"]
  [[applications.app_roles]]
  value = "Orders.Admin"
  display_name = "Order administrators"
  allowed_member_types = ["User"]
  [[applications.oauth2_permission_scopes]]
  value = "access_as_user"
  admin_consent_display_name = "Access orders"

[[applications]]
display_name = "Orders SPA"
app_id = "{SPA}"
spa_redirect_uris = ["http://orders.contoso.test/"]
  [[applications.required_resource_access]]
  resource = "api://{API}"
  scopes = ["acces_as_user"]

[[app_role_assignments]]
principal = "{SPA}"
resource = "{API}"
role = "Orders.Admin"
"#
    ));
    assert_eq!(found.len(), 5, "{}", found.join("\n"));
    assert_reports(
        &found,
        &[
            r#"tenant.id: expected a GUID, found "contoso""#,
            r#"users[0] "alice@contoso.test": groups: "Order Readrs" is not a group"#,
            r#"applications[1] "Orders SPA": spa_redirect_uris: "http://orders.contoso.test/" uses http"#,
            r#"applications[1] "Orders SPA": required_resource_access[0].scopes: "acces_as_user" is not a scope of "Orders API""#,
            r#"app_role_assignments[0].role: "Orders.Admin" of "Orders API" does not allow Application members"#,
        ],
    );
    let errors = ConfigErrors { problems: found };
    assert_eq!(errors.to_string().lines().count(), 5);
}

#[test]
fn duplicates_and_malformed_values_are_reported() {
    let found = problems(&format!(
        r#"
version = 2
[tenant]
id = "{TENANT}"
domain = "contoso.test"

[[users]]
user_principal_name = "alice@contoso.test"
display_name = "Alice"
[[users]]
user_principal_name = "ALICE@contoso.test"
display_name = ""
[[users]]
user_principal_name = "mallory@fabrikam.test"
display_name = "Mallory"

[[groups]]
display_name = "Readers"
[[groups]]
display_name = "readers"

[[applications]]
display_name = "Orders API"
app_id = "{API}"
identifier_uris = ["api://orders"]
requested_access_token_version = 3
  [[applications.app_roles]]
  value = "Orders Read"
  display_name = "Read"
  allowed_member_types = ["Users"]
  [[applications.app_roles]]
  value = "orders read"
  display_name = "Read again"
  allowed_member_types = ["User"]
  [[applications.oauth2_permission_scopes]]
  value = "access_as_user"
  admin_consent_display_name = "Access"
  type = "Owner"

[[applications]]
display_name = "Copy"
app_id = "{API}"
identifier_uris = ["api://orders/"]
web_redirect_uris = ["/relative", "https://app.test/cb#frag"]
  [[applications.required_resource_access]]
  resource = "api://nowhere"

[[app_role_assignments]]
principal = "nobody@contoso.test"
resource = "api://orders"
role = "Orders.Write"

[[admin_consents]]
client = "{SPA}"
resource = "api://orders"
scopes = ["nope"]
"#
    ));
    assert_reports(
        &found,
        &[
            "version: expected 1, found 2",
            r#"users[1] "ALICE@contoso.test": user_principal_name duplicates users[0]"#,
            r#"users[1] "ALICE@contoso.test": display_name: empty"#,
            r#"users[2] "mallory@fabrikam.test": user_principal_name: domain "fabrikam.test" is not the tenant domain"#,
            r#"groups[1] "readers": display_name duplicates groups[0]"#,
            r#"applications[0] "Orders API": requested_access_token_version: expected 1 or 2, found 3"#,
            r#"app_roles[0].allowed_member_types: "Users" is not"#,
            r#"app_roles[0].value: "Orders Read" must be non-empty and contain no spaces"#,
            r#"app_roles[1].value: "orders read" duplicates app_roles[0]"#,
            r#"oauth2_permission_scopes[0].type: expected "User" or "Admin", found "Owner""#,
            r#"applications[1] "Copy": app_id: 8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c is already used by applications[0] "Orders API""#,
            r#"applications[1] "Copy": identifier_uris: "api://orders/" is already used by applications[0]"#,
            r#"web_redirect_uris: "/relative" is not an absolute URL"#,
            r#"web_redirect_uris: "https://app.test/cb#frag" has a fragment"#,
            r#"required_resource_access[0].resource: "api://nowhere" is not the app_id or an identifier URI"#,
            r#"app_role_assignments[0].principal: "nobody@contoso.test" is not a user"#,
            r#"app_role_assignments[0].role: "Orders.Write" is not an app role of "Orders API""#,
            r#"admin_consents[0].client: "2732dc92-37da-4c7f-a87a-1900d556a951" is not the app_id"#,
            r#"admin_consents[0].scopes: "nope" is not a scope of "Orders API""#,
        ],
    );
}

#[test]
fn unknown_key_fails_naming_it() {
    let found = problems(&format!(
        "[tenant]\nid = \"{TENANT}\"\ndomain = \"contoso.test\"\n\n[[users]]\nuser_principal_name = \"a@contoso.test\"\ndisplay_name = \"A\"\npasword = \"x\"\n"
    ));
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("line 8, column 1: unknown field `pasword`"),
        "{}",
        found[0]
    );
}

#[test]
fn derived_guids_are_stable_and_well_formed() {
    let guid = derived_guid(TENANT, "user", "alice@contoso.test");
    assert_eq!(guid, derived_guid(TENANT, "user", "alice@contoso.test"));
    // Pinned: a change here would change every derived object id in use.
    assert_eq!(guid, PINNED_ALICE);
    assert_ne!(guid, derived_guid(TENANT, "group", "alice@contoso.test"));
    assert_ne!(guid, derived_guid(TENANT, "user", "bob@contoso.test"));
    // Separators keep (tenant, kind, name) unambiguous.
    assert_ne!(derived_guid("a", "bc", "d"), derived_guid("ab", "c", "d"));
    for name in ["", "x", "Orders.Admin", "ünïcode"] {
        let guid = derived_guid(TENANT, "app_role", name);
        assert_eq!(normalize_guid(&guid).as_deref(), Some(guid.as_str()));
        assert_eq!(&guid[14..15], "5", "version nibble of {guid}");
        assert!(
            matches!(&guid[19..20], "8" | "9" | "a" | "b"),
            "variant of {guid}"
        );
    }
}

// Checked independently: python3 hashlib.sha256(b"{TENANT}\0user\0alice@contoso.test").
const PINNED_ALICE: &str = "7a5cd3ed-04a8-5f43-937e-077b4675a77c";

#[test]
fn guids_are_normalised() {
    assert_eq!(normalize_guid(&API.to_uppercase()).as_deref(), Some(API));
    for bad in [
        "",
        "contoso",
        "{8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c}",
        "8a1f6c2e4b7d4e9ab3c56d7e8f9a0b1c",
        "8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1g",
    ] {
        assert_eq!(normalize_guid(bad), None, "{bad}");
    }
}

#[test]
fn manifest_apps_load_and_resolve_permission_ids() {
    let text = format!(
        r#"
[tenant]
id = "{TENANT}"
domain = "contoso.test"

[[applications]]
manifest = "manifests/orders-api.json"
app_role_assignment_required = true

[[applications]]
display_name = "Daemon"
app_id = "{DAEMON}"
  [[applications.required_resource_access]]
  resource = "{API}"
  roles = ["Orders.Read"]

[[app_role_assignments]]
principal = "{DAEMON}"
resource = "api://{API}"
role = "Orders.Read"
"#
    );
    let directory = from_toml(&text, &examples()).unwrap();
    let api = directory.application(API).unwrap();
    assert_eq!(api.display_name, "Orders API");
    assert!(api.app_role_assignment_required);
    assert!(api.emit_idtyp);
    // The manifest's Microsoft Graph permission (User.Read, by id) names
    // the built-in Graph resource.
    assert_eq!(api.required_resource_access.len(), 1);
    assert_eq!(
        api.required_resource_access[0].resource_app_id,
        crate::directory::microsoft_graph::APP_ID
    );
    assert_eq!(api.required_resource_access[0].scopes, ["User.Read"]);
    assert_eq!(
        api.scope("ACCESS_AS_USER").unwrap().id,
        "5a23ef1e-7e53-4f04-91f9-231bfd24e2c6"
    );
    let daemon = directory.application(DAEMON).unwrap();
    assert_eq!(directory.application_roles(daemon, api), ["Orders.Read"]);
}

#[test]
fn manifest_conflicts_and_bad_ids_are_reported() {
    let dir = std::env::temp_dir().join(format!("rolegate-idp-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("client.json"),
        format!(
            r#"{{"appId": "{SPA}", "displayName": "Client", "spa": {{"redirectUris": ["https://app.test/"]}},
               "requiredResourceAccess": [{{"resourceAppId": "{API}", "resourceAccess": [
                   {{"id": "5a23ef1e-7e53-4f04-91f9-231bfd24e2c6", "type": "Scope"}},
                   {{"id": "00000000-0000-0000-0000-000000000001", "type": "Role"}}]}}]}}"#
        ),
    )
    .unwrap();
    std::fs::copy(
        examples().join("manifests/orders-api.json"),
        dir.join("api.json"),
    )
    .unwrap();
    let text = format!(
        r#"
[tenant]
id = "{TENANT}"
domain = "contoso.test"
[[applications]]
manifest = "api.json"
[[applications]]
manifest = "client.json"
identifier_uris = ["api://client"]
[[applications]]
manifest = "missing.json"
"#
    );
    let found = match from_toml(&text, &dir) {
        Ok(_) => panic!("expected problems"),
        Err(errors) => errors.problems,
    };
    std::fs::remove_dir_all(&dir).ok();
    assert_reports(
        &found,
        &[
            r#"applications[1]: identifier_uris: not allowed with manifest"#,
            r#"applications[1] "Client": manifest requiredResourceAccess[0].roles: "00000000-0000-0000-0000-000000000001" is not an app role of "Orders API""#,
            "applications[2]: manifest ",
            "missing.json: cannot read",
        ],
    );
    assert_eq!(found.len(), 3, "{}", found.join("\n"));
}

#[test]
fn group_claim_settings_are_checked() {
    let found = problems(
        r#"
[tenant]
id = "7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b"
domain = "contoso.test"
groups_overage_limit = 0

[[users]]
user_principal_name = "a@contoso.test"
display_name = "A"
directory_roles = ["Chief Everything Officer"]

[[groups]]
display_name = "Loop"
member_of = ["Loop", "Nowhere"]

[[applications]]
display_name = "API"
app_id = "8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c"
group_membership_claims = "EveryGroup"
"#,
    );
    assert_reports(
        &found,
        &[
            "tenant.groups_overage_limit: expected 1 to 100000",
            "directory_roles: \"Chief Everything Officer\" is neither a role template id",
            "member_of: a group cannot contain itself",
            "member_of: \"Nowhere\" is not a group",
            "group_membership_claims: expected None, SecurityGroup",
        ],
    );
}

#[test]
fn overage_starts_above_200_groups_by_default_and_cycles_end() {
    use crate::directory::GroupMembershipClaims;
    let mut text = String::from(
        "[tenant]\nid = \"7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b\"\ndomain = \"contoso.test\"\n\n",
    );
    let names: Vec<String> = (0..201).map(|i| format!("G{i}")).collect();
    text.push_str(&format!(
        "[[users]]\nuser_principal_name = \"many@contoso.test\"\ndisplay_name = \"Many\"\ngroups = {names:?}\n\n"
    ));
    text.push_str(&format!(
        "[[users]]\nuser_principal_name = \"few@contoso.test\"\ndisplay_name = \"Few\"\ngroups = {:?}\n\n",
        &names[..200]
    ));
    for (i, name) in names.iter().enumerate() {
        // G0 and G1 contain each other: nesting cycles must terminate.
        let parent = match i {
            0 => "member_of = [\"G1\"]\n",
            1 => "member_of = [\"G0\"]\n",
            _ => "",
        };
        text.push_str(&format!(
            "[[groups]]\ndisplay_name = \"{name}\"\n{parent}\n"
        ));
    }
    text.push_str(
        "[[applications]]\ndisplay_name = \"API\"\napp_id = \"8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c\"\ngroup_membership_claims = \"SecurityGroup, DirectoryRole\"\n",
    );
    let directory = from_toml(&text, &examples()).unwrap();
    assert_eq!(directory.groups_overage_limit, 200);
    let api = directory.application(API).unwrap();
    assert_eq!(
        api.group_membership_claims,
        GroupMembershipClaims::SecurityGroup
    );
    let many = directory.user_by_upn("many@contoso.test").unwrap();
    let few = directory.user_by_upn("few@contoso.test").unwrap();
    let over = directory.membership(many, api);
    assert!(over.overage && over.groups.is_empty());
    let under = directory.membership(few, api);
    assert!(!under.overage);
    assert_eq!(under.groups.len(), 200);
    assert_eq!(under.wids, [crate::directory::MEMBER_USER_ROLE]);
}

#[test]
fn the_multi_tenant_example_loads() {
    let base = examples().join("multi-tenant");
    let tenants = load_all(&[base.join("fleetco.toml"), base.join("partner.toml")]).unwrap();
    let partner = &tenants[1];
    let api = partner
        .application("f1ee7000-1111-4111-8111-0000000000a1")
        .unwrap();
    assert!(api.provisioned && api.is_foreign(&partner.tenant.id));
    assert_ne!(
        api.service_principal_id,
        tenants[0]
            .application("f1ee7000-1111-4111-8111-0000000000a1")
            .unwrap()
            .service_principal_id
    );
    let bo = partner.user_by_upn("bo@partner.test").unwrap();
    assert_eq!(partner.user_roles(bo, api), ["Fleet.Admin"]);
}

/// A self-signed RSA certificate (PEM) and its DER.
fn rsa_certificate() -> (String, Vec<u8>) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["daemon".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    (cert.pem(), cert.der().to_vec())
}

#[test]
fn key_credentials_load_from_files_inline_and_manifests() {
    use base64::Engine as _;
    let dir = std::env::temp_dir().join(format!(
        "rolegate-idp-certs-{}",
        crate::secret::random_token(6)
    ));
    std::fs::create_dir_all(dir.join("certs")).unwrap();
    let (file_pem, file_der) = rsa_certificate();
    let (inline_pem, _) = rsa_certificate();
    let (_, manifest_der) = rsa_certificate();
    std::fs::write(dir.join("certs/daemon.pem"), &file_pem).unwrap();
    let manifest_credential =
        crate::directory::certificate::KeyCredential::from_der(&manifest_der).unwrap();
    std::fs::write(
        dir.join("api.json"),
        format!(
            r#"{{"appId": "{API}", "displayName": "API", "keyCredentials": [
                {{"type": "AsymmetricX509Cert", "usage": "Verify", "key": "{}", "customKeyIdentifier": "{}", "displayName": "exported"}},
                {{"type": "AsymmetricX509Cert", "usage": "Verify", "key": null, "displayName": "no key material"}},
                {{"type": "AsymmetricX509Cert", "usage": "Sign", "key": "AAAA"}}]}}"#,
            base64::engine::general_purpose::STANDARD.encode(&manifest_der),
            manifest_credential.thumbprint_hex()
        ),
    )
    .unwrap();
    let text = format!(
        r#"
[tenant]
id = "{TENANT}"
domain = "contoso.test"

[[applications]]
display_name = "Daemon"
app_id = "{DAEMON}"
key_credentials = [{{ certificate = "certs/daemon.pem", display_name = "CI" }}, {{ pem = """{inline_pem}""" }}]

[[applications]]
manifest = "api.json"
"#
    );
    let directory = from_toml(&text, &dir).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let daemon = directory.application(DAEMON).unwrap();
    assert!(daemon.is_confidential() && daemon.secrets.is_empty());
    assert_eq!(daemon.key_credentials.len(), 2);
    assert_eq!(
        daemon.key_credentials[0].display_name.as_deref(),
        Some("CI")
    );
    let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &file_der);
    assert_eq!(daemon.key_credentials[0].sha1.as_slice(), sha1.as_ref());
    let api = directory.application(API).unwrap();
    assert_eq!(
        api.key_credentials.len(),
        1,
        "entries without key material are skipped"
    );
    assert_eq!(api.key_credentials[0].sha1, manifest_credential.sha1);
    assert_eq!(
        api.key_credentials[0].display_name.as_deref(),
        Some("exported")
    );
}

#[test]
fn key_credential_mistakes_are_all_reported() {
    let (pem, _) = rsa_certificate();
    let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
    let text = format!(
        r#"
[tenant]
id = "{TENANT}"
domain = "contoso.test"

[[applications]]
display_name = "Daemon"
app_id = "{DAEMON}"
  [[applications.key_credentials]]
  certificate = "certs/missing.pem"
  [[applications.key_credentials]]
  pem = "not pem at all"
  [[applications.key_credentials]]
  pem = """{pem}{key}"""
  [[applications.key_credentials]]
  display_name = "neither"
  [[applications.key_credentials]]
  certificate = "x.pem"
  pem = """{pem}"""
  [[applications.key_credentials]]
  pem = """{pem}"""
  [[applications.key_credentials]]
  pem = """{pem}"""
"#
    );
    let found = problems(&text);
    assert_reports(
        &found,
        &[
            r#"applications[0] "Daemon": key_credentials[0].certificate: cannot read"#,
            "key_credentials[1].pem: holds no PEM certificate",
            "key_credentials[2].pem: also holds a private key",
            "key_credentials[3]: missing the certificate",
            "key_credentials[4]: give either certificate",
            "key_credentials[6]: certificate ",
            "is already key_credentials[5]",
        ],
    );
    assert_eq!(found.len(), 6, "{}", found.join("\n"));
}
