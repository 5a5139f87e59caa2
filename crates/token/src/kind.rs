//! Telling an access token from an ID token (spec §5).
//!
//! Both are RS256 JWTs from the same issuer with the same keys, and when an
//! app is its own API they even share `aud`. `roles` is not a discriminator:
//! an ID token carries the client app's own roles. What separates them:
//!
//! | signal | access token | ID token |
//! |---|---|---|
//! | `scp` | delegated tokens | never |
//! | `azp` / `appid` | always | never (Entra) |
//! | `idtyp` | `app` / `user` when configured | absent |
//! | `nonce`, `at_hash`, `c_hash` in the payload | never | when the client sent a nonce / hybrid flow |

use std::fmt;

use serde_json::{Map, Value};

/// What a token is, judged from its claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// An OAuth 2.0 access token.
    AccessToken,
    /// An OpenID Connect ID token.
    IdToken,
    /// Neither could be established.
    Unknown,
}

impl TokenKind {
    /// `access_token`, `id_token` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::AccessToken => "access_token",
            TokenKind::IdToken => "id_token",
            TokenKind::Unknown => "unknown",
        }
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token kind with the reasons for the judgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// The judgement.
    pub kind: TokenKind,
    /// The claims that led to it, in words.
    pub reason: String,
}

/// Classifies a token from its header `typ` and its claims.
pub fn classify(header_typ: Option<&str>, claims: &Map<String, Value>) -> Classification {
    let mut id_signals: Vec<&str> = Vec::new();
    let mut access_signals: Vec<&str> = Vec::new();
    let has = |name: &str| claims.get(name).is_some_and(|v| !v.is_null());
    if has("nonce") {
        id_signals.push("it carries a \"nonce\" claim (only ID tokens echo the sign-in nonce)");
    }
    if has("at_hash") || has("c_hash") {
        id_signals.push("it carries \"at_hash\"/\"c_hash\" (ID-token-only hashes)");
    }
    if claims.get("typ").and_then(Value::as_str) == Some("ID") {
        id_signals.push("its \"typ\" claim is \"ID\"");
    }
    match claims.get("idtyp").and_then(Value::as_str) {
        Some("app") | Some("user") => {
            access_signals.push("its \"idtyp\" claim marks an access token")
        }
        Some(_) => {}
        None => {}
    }
    if has("scp") || has("scope") {
        access_signals.push("it carries delegated scopes (\"scp\")");
    }
    if header_typ.is_some_and(|t| {
        t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
    }) {
        access_signals.push("its header \"typ\" is \"at+jwt\" (RFC 9068)");
    }
    if claims.get("typ").and_then(Value::as_str) == Some("Bearer") {
        access_signals.push("its \"typ\" claim is \"Bearer\"");
    }
    // A client claim is weaker evidence: OpenID Connect ID tokens may carry
    // `azp` too (Keycloak always does), so it cannot outweigh an ID signal.
    let strong_access = !access_signals.is_empty();
    if has("azp") || has("appid") {
        access_signals.push("it names the calling client (\"azp\"/\"appid\")");
    } else if has("client_id") || has("cid") {
        access_signals.push("it names the calling client (\"client_id\")");
    }
    match (id_signals.is_empty(), access_signals.is_empty()) {
        (false, true) => Classification {
            kind: TokenKind::IdToken,
            reason: id_signals.join("; "),
        },
        (false, false) if !strong_access => Classification {
            kind: TokenKind::IdToken,
            reason: id_signals.join("; "),
        },
        (true, false) => Classification {
            kind: TokenKind::AccessToken,
            reason: access_signals.join("; "),
        },
        (false, false) => Classification {
            kind: TokenKind::Unknown,
            reason: format!(
                "conflicting signals: {}; but {}",
                access_signals.join("; "),
                id_signals.join("; ")
            ),
        },
        (true, true) if has("aud") && (has("tid") || has("ver")) => Classification {
            kind: TokenKind::IdToken,
            reason: "it has no \"azp\"/\"appid\" claim naming a calling client and no \"scp\"; every Entra access token names its client, ID tokens never do".to_owned(),
        },
        (true, true) => Classification {
            kind: TokenKind::Unknown,
            reason: "it names no calling client (\"azp\", \"appid\", \"client_id\"), carries no scopes and no \"at+jwt\" type".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn kind(v: Value) -> TokenKind {
        classify(None, v.as_object().unwrap()).kind
    }

    #[test]
    fn entra_shapes() {
        assert_eq!(
            kind(json!({"aud":"a","azp":"c","scp":"x","ver":"2.0"})),
            TokenKind::AccessToken
        );
        assert_eq!(
            kind(json!({"aud":"a","appid":"c","roles":["r"],"ver":"1.0"})),
            TokenKind::AccessToken
        );
        assert_eq!(
            kind(json!({"aud":"a","idtyp":"app","azp":"c"})),
            TokenKind::AccessToken
        );
        // ID token with roles and the API's own audience: still an ID token.
        assert_eq!(
            kind(json!({"aud":"a","roles":["Orders.Admin"],"nonce":"n","ver":"2.0","tid":"t"})),
            TokenKind::IdToken
        );
        // ID token from /token (no nonce): no client claim.
        assert_eq!(
            kind(json!({"aud":"a","roles":["r"],"ver":"2.0","tid":"t","sub":"s"})),
            TokenKind::IdToken
        );
        assert_eq!(
            kind(json!({"aud":"a","azp":"c","nonce":"n"})),
            TokenKind::IdToken
        );
        assert_eq!(kind(json!({"sub":"s"})), TokenKind::Unknown);
    }

    #[test]
    fn generic_shapes() {
        assert_eq!(
            classify(Some("at+jwt"), json!({"sub":"s"}).as_object().unwrap()).kind,
            TokenKind::AccessToken
        );
        assert_eq!(kind(json!({"typ":"ID","azp":"c"})), TokenKind::IdToken);
        assert_eq!(
            kind(json!({"azp":"c","nonce":"n","scp":"x"})),
            TokenKind::Unknown
        );
        assert_eq!(kind(json!({"typ":"ID"})), TokenKind::IdToken);
    }
}
