//! One-line explanations: token claims, JOSE header members and the AADSTS
//! codes a token endpoint answers with (spec §3.3, §4, §9.2).

use rolegate_token::kind::TokenKind;

/// What claim `name` means, in one line. ID tokens get their own reading of
/// `aud` and `roles`, which mean something else there (spec §4).
pub fn claim(name: &str, kind: TokenKind) -> Option<&'static str> {
    match (name, kind) {
        ("aud", TokenKind::IdToken) => {
            return Some("audience: the client app this ID token was issued to (not an API)");
        }
        ("roles", TokenKind::IdToken) => {
            return Some(
                "app roles of the signed-in user on the client app itself (grant no API access)",
            );
        }
        _ => {}
    }
    CLAIMS
        .iter()
        .find(|(claim, _)| *claim == name)
        .map(|(_, meaning)| *meaning)
        .or_else(|| {
            name.starts_with("xms_")
                .then_some("Microsoft extension claim; ignore unless documented")
        })
}

/// What JOSE header member `name` means, in one line.
pub fn header(name: &str) -> Option<&'static str> {
    HEADER
        .iter()
        .find(|(member, _)| *member == name)
        .map(|(_, meaning)| *meaning)
}

/// What to do about an AADSTS error code from a token or device-code
/// endpoint.
pub fn aadsts(code: u64) -> Option<&'static str> {
    AADSTS
        .iter()
        .find(|(known, _)| *known == code)
        .map(|(_, hint)| *hint)
}

/// Claims, alphabetically.
#[rustfmt::skip]
const CLAIMS: &[(&str, &str)] = &[
    ("_claim_names", "groups overage: the groups did not fit; read them from Microsoft Graph"),
    ("_claim_sources", "groups overage: where to read the groups (Microsoft Graph)"),
    ("acr", "authentication context class (v1): \"0\" did not meet level 1, \"1\" authenticated"),
    ("acrs", "Conditional Access authentication contexts satisfied (c1, c2, ...)"),
    ("aio", "opaque Entra-internal data; ignore"),
    ("amr", "authentication methods used (pwd, mfa, rsa, otp, fed, wia, ...)"),
    ("appid", "calling client's application id (v1; v2 uses azp)"),
    ("appidacr", "how the client authenticated (v1): 0 public client, 1 secret, 2 certificate"),
    ("at_hash", "hash of the access token issued alongside (ID tokens only)"),
    ("aud", "audience: the API this token is for (v2: client id GUID; v1: App ID URI as requested)"),
    ("auth_time", "when the user last authenticated"),
    ("azp", "calling client's application id (v2; v1 uses appid)"),
    ("azpacr", "how the client authenticated (v2): 0 public client, 1 secret, 2 certificate"),
    ("c_hash", "hash of the authorization code issued alongside (ID tokens only)"),
    ("cid", "calling client's id (non-Entra issuers)"),
    ("client_id", "calling client's id (RFC 9068 access tokens)"),
    ("ctry", "user's country or region"),
    ("email", "email address (mutable; display only, never authorize on it)"),
    ("exp", "expires: not accepted after this time (plus clock skew)"),
    ("family_name", "user's surname"),
    ("given_name", "user's given name"),
    ("groups", "object ids of the user's groups (manifest groupMembershipClaims)"),
    ("hasgroups", "the user has too many groups for this token; read them from Microsoft Graph"),
    ("iat", "issued at"),
    ("idp", "identity provider that authenticated the user (differs from iss for guests)"),
    ("idtyp", "token type (optional claim): app = app-only (client credentials), user = delegated"),
    ("in_corp", "the user signed in from the corporate network"),
    ("ipaddr", "IP address the user authenticated from"),
    ("iss", "issuer: the STS and tenant that minted it (v1 sts.windows.net/{tid}/, v2 .../{tid}/v2.0)"),
    ("jti", "unique token id"),
    ("login_hint", "opaque login/logout hint for this session"),
    ("name", "display name of the subject (display only)"),
    ("nbf", "not before: not accepted before this time (minus clock skew)"),
    ("nonce", "echo of the sign-in request's nonce (ID tokens only)"),
    ("oid", "immutable object id of the user (app-only: of the client's service principal); authorize on tid + oid"),
    ("onprem_sid", "on-premises security identifier of the user"),
    ("preferred_username", "sign-in name (mutable; display only, never authorize on it)"),
    ("puid", "Entra-internal user id; ignore"),
    ("pwd_exp", "seconds until the user's password expires"),
    ("pwd_url", "where the user can change the password"),
    ("rh", "opaque Entra-internal data (token revalidation); ignore"),
    ("roles", "app roles: assigned to the user or group (delegated), or application permissions granted with admin consent (app-only)"),
    ("scope", "delegated scopes, space-separated (non-Entra issuers)"),
    ("scp", "delegated scopes, space-separated, consented for this client (user tokens only)"),
    ("sid", "session id (used for single sign-out)"),
    ("sub", "subject: pairwise id of the user for this application (app-only: the client's service principal)"),
    ("tid", "tenant id the token was issued in"),
    ("typ", "token type claim (ID marks an ID token, Bearer an access token)"),
    ("unique_name", "human-readable user name (v1 only; mutable, display only)"),
    ("upn", "user principal name (mutable; display only)"),
    ("uti", "unique token id (like jti); Entra-internal"),
    ("ver", "token version: 1.0 or 2.0 (set by the API's requestedAccessTokenVersion)"),
    ("wids", "directory role template ids held by the user (tenant-wide admin roles)"),
    ("xms_cc", "client capabilities (cp1: the client handles CAE claims challenges)"),
];

/// JOSE header members, alphabetically.
#[rustfmt::skip]
const HEADER: &[(&str, &str)] = &[
    ("alg", "signature algorithm (Entra signs with RS256)"),
    ("crit", "extensions the validator must understand"),
    ("enc", "content encryption: this is an encrypted token (JWE)"),
    ("jku", "key-set URL suggested by the token (never used: keys come from the authority)"),
    ("jwk", "embedded key (never used: keys come from the authority)"),
    ("kid", "id of the signing key in the authority's JWKS"),
    ("nonce", "header nonce: a Microsoft Graph token, which only Graph can validate"),
    ("typ", "token type (JWT; at+jwt for RFC 9068 access tokens)"),
    ("x5c", "embedded certificate chain (never used: keys come from the authority)"),
    ("x5t", "SHA-1 thumbprint of the signing certificate (same as kid in Entra v1 tokens)"),
    ("x5u", "certificate URL suggested by the token (never used)"),
];

/// AADSTS codes (spec §9.2), in numeric order.
#[rustfmt::skip]
const AADSTS: &[(u64, &str)] = &[
    (28003, "the scope is empty: name the API's scope with --scope"),
    (50011, "the redirect URI is not registered: add it under Authentication (platform: Mobile and desktop applications, http://localhost)"),
    (50027, "the client assertion is not a well-formed JWT (three base64url parts, JSON header and claims; aud a single string)"),
    (50034, "the user does not exist in this tenant"),
    (50053, "too many wrong passwords from this machine: wait (the lock holds this source, not the account) and try again"),
    (50058, "no session for a silent sign-in: sign in interactively"),
    (50126, "wrong user name or password"),
    (54005, "the authorization code was already redeemed: sign in again"),
    (65001, "consent is missing: grant the client the permission under API permissions (grant admin consent), or sign in interactively to consent"),
    (70008, "the code or refresh token expired or was revoked: sign in again"),
    (70011, "the scope is invalid: use api://<api-client-id>/<scope>, and the API must define it under Expose an API"),
    (90002, "the tenant does not exist: check the tenant id in --authority"),
    (90009, "an app that is its own API asked for a token for itself by App ID URI and the refresh named no resource scope: send the resource scope on every refresh (e.g. api://<client-id>/access_as_user), or name the app by its client id GUID (<client-id>/access_as_user)"),
    (90011, "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
    (90014, "the client assertion lacks a required claim (iss, sub, aud, exp, jti) or a certificate thumbprint header (x5t or x5t#S256)"),
    (90015, "a request parameter was sent twice: send each parameter once"),
    (90055, "too many requests (failed client authentications or device codes) from this source: wait a minute"),
    (90094, "the scope needs an admin: an admin must grant it (admin consent) before users can sign in"),
    (500011, "the API (resource) has no service principal in this tenant: check the App ID URI in --scope, or have an admin consent to the API in this tenant"),
    (501481, "the PKCE code_verifier does not match the code_challenge"),
    (700016, "the client id is not registered in this tenant: check --client-id and the tenant in --authority"),
    (700021, "the client assertion's iss and sub must both be the client id (--client-id)"),
    (700023, "the client assertion's aud must be the token endpoint of this tenant (from the authority's discovery document)"),
    (700024, "the client assertion is expired, not yet valid or too long-lived: check this machine's clock, and sign assertions valid for at most an hour"),
    (700025, "this client is public: do not send a credential (remove --client-secret or --client-certificate)"),
    (700027, "the certificate is not registered on the app, has expired, or did not sign the assertion: upload it under Certificates & secrets (key_credentials for rolegate idp) and pass the matching private key"),
    (1002012, "client credentials accept only <resource>/.default as scope (e.g. api://<api-client-id>/.default)"),
    (7000215, "the client secret is wrong: pass the secret's Value, not its Secret ID (Certificates & secrets)"),
    (7000218, "the client is confidential: pass --client-secret (or ROLEGATE_CLIENT_SECRET) or --client-certificate; a refresh must use the same kind of credential as the sign-in"),
    (7000222, "the client secret has expired: create a new one under Certificates & secrets"),
    (7000274, "another client assertion already used this jti: sign a fresh assertion (new jti) for each request, or re-send the identical one until it expires"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted() {
        assert!(CLAIMS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(HEADER.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(AADSTS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn kind_specific_meanings() {
        let access = claim("aud", TokenKind::AccessToken).unwrap();
        let id = claim("aud", TokenKind::IdToken).unwrap();
        assert!(access.contains("API") && id.contains("client app"));
        assert!(claim("xms_ftd", TokenKind::AccessToken).is_some());
        assert!(claim("made_up", TokenKind::AccessToken).is_none());
        assert!(aadsts(7000215).unwrap().contains("Secret ID"));
    }
}
