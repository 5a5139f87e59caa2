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

use crate::claims::{Claim, ClaimSet};

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
pub fn classify(header_typ: Option<&str>, claims: &ClaimSet<'_>) -> Classification {
    let signals = Signals::read(header_typ, claims);
    let kind = signals.kind();
    Classification {
        kind,
        reason: signals.reason(kind),
    }
}

/// The kind alone, without the words (validation's path: no allocation).
pub(crate) fn kind_of(header_typ: Option<&str>, claims: &ClaimSet<'_>) -> TokenKind {
    Signals::read(header_typ, claims).kind()
}

/// The signals a token carries, in the order they are explained.
#[derive(Debug, Clone, Copy, Default)]
struct Signals {
    // ID-token signals.
    nonce: bool,
    hashes: bool,
    typ_id: bool,
    // Access-token signals; the first four are strong.
    idtyp: bool,
    scopes: bool,
    at_jwt: bool,
    typ_bearer: bool,
    // Weak: OpenID Connect ID tokens may carry `azp` too (Keycloak always
    // does), so a client claim cannot outweigh an ID signal.
    client: bool,
    client_id: bool,
    // The Entra shape without any signal: an ID token from /token.
    entra_shaped: bool,
}

const ID_REASONS: [&str; 3] = [
    "it carries a \"nonce\" claim (only ID tokens echo the sign-in nonce)",
    "it carries \"at_hash\"/\"c_hash\" (ID-token-only hashes)",
    "its \"typ\" claim is \"ID\"",
];

const ACCESS_REASONS: [&str; 6] = [
    "its \"idtyp\" claim marks an access token",
    "it carries delegated scopes (\"scp\")",
    "its header \"typ\" is \"at+jwt\" (RFC 9068)",
    "its \"typ\" claim is \"Bearer\"",
    "it names the calling client (\"azp\"/\"appid\")",
    "it names the calling client (\"client_id\")",
];

impl Signals {
    fn read(header_typ: Option<&str>, claims: &ClaimSet<'_>) -> Signals {
        let has = |claim: Claim| claims.has(claim);
        let client = has(Claim::Azp) || has(Claim::Appid);
        Signals {
            nonce: has(Claim::Nonce),
            hashes: has(Claim::AtHash) || has(Claim::CHash),
            typ_id: claims.str(Claim::Typ) == Some("ID"),
            idtyp: matches!(claims.str(Claim::Idtyp), Some("app" | "user")),
            scopes: has(Claim::Scp) || has(Claim::Scope),
            at_jwt: header_typ.is_some_and(|t| {
                t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
            }),
            typ_bearer: claims.str(Claim::Typ) == Some("Bearer"),
            client,
            client_id: !client && (has(Claim::ClientId) || has(Claim::Cid)),
            entra_shaped: has(Claim::Aud) && (has(Claim::Tid) || has(Claim::Ver)),
        }
    }

    fn id(&self) -> [bool; 3] {
        [self.nonce, self.hashes, self.typ_id]
    }

    fn access(&self) -> [bool; 6] {
        [
            self.idtyp,
            self.scopes,
            self.at_jwt,
            self.typ_bearer,
            self.client,
            self.client_id,
        ]
    }

    fn strong_access(&self) -> bool {
        self.idtyp || self.scopes || self.at_jwt || self.typ_bearer
    }

    fn kind(&self) -> TokenKind {
        let id = self.id().contains(&true);
        let access = self.access().contains(&true);
        match (id, access) {
            (true, false) => TokenKind::IdToken,
            (true, true) if !self.strong_access() => TokenKind::IdToken,
            (false, true) => TokenKind::AccessToken,
            (true, true) => TokenKind::Unknown,
            (false, false) if self.entra_shaped => TokenKind::IdToken,
            (false, false) => TokenKind::Unknown,
        }
    }

    fn reason(&self, kind: TokenKind) -> String {
        let list = |flags: &[bool], reasons: &[&str]| {
            flags
                .iter()
                .zip(reasons)
                .filter(|(on, _)| **on)
                .map(|(_, reason)| *reason)
                .collect::<Vec<_>>()
                .join("; ")
        };
        let id = list(&self.id(), &ID_REASONS);
        let access = list(&self.access(), &ACCESS_REASONS);
        match kind {
            TokenKind::IdToken if !id.is_empty() => id,
            TokenKind::IdToken => "it has no \"azp\"/\"appid\" claim naming a calling client and no \"scp\"; every Entra access token names its client, ID tokens never do".to_owned(),
            TokenKind::AccessToken => access,
            TokenKind::Unknown if !id.is_empty() => {
                format!("conflicting signals: {access}; but {id}")
            }
            TokenKind::Unknown => "it names no calling client (\"azp\", \"appid\", \"client_id\"), carries no scopes and no \"at+jwt\" type".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn kind(v: Value) -> TokenKind {
        classify(None, &ClaimSet::from_map(v.as_object().unwrap())).kind
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
            classify(
                Some("at+jwt"),
                &ClaimSet::from_map(json!({"sub":"s"}).as_object().unwrap())
            )
            .kind,
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
