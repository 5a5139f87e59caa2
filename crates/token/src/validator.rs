//! The validator: configuration and the validation pipeline.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use url::Url;

use crate::algorithm::{Algorithm, AlgorithmPolicy};
use crate::audience::AudiencePolicy;
use crate::cache::{CacheStats, TokenCache, TokenDigest};
use crate::claims::{Claim, ClaimSet};
use crate::clock::{Clock, SystemClock};
use crate::discovery::{AuthorityKind, check_transport};
use crate::error::ValidationError;
use crate::fetch::Fetcher;
use crate::id::{Audience, Issuer, KeyId, TenantId};
use crate::issuer::{IssuerPolicy, TenantRule, TokenVersion, issuer_matches, issuer_names_tenant};
use crate::jwk::{JwkSet, VerifyError, VerifyingKey};
use crate::jws::{self, DecodedJws, Header, Limits};
use crate::keyset::{self, KeyManager, KeySource, KeyState, KeyStats, RefreshSettings};
use crate::kind::{Classification, TokenKind, classify, kind_of};
use crate::principal::{Fields, Principal};

/// How to validate tokens. Build one with [`ValidatorConfig::entra`],
/// [`ValidatorConfig::entra_multi_tenant`], [`ValidatorConfig::oidc`] or
/// [`ValidatorConfig::jwks`]; the audience is always required.
#[derive(Debug, Clone)]
pub struct ValidatorConfig {
    source: SourceSpec,
    issuers: IssuerPolicy,
    audiences: AudiencePolicy,
    algorithms: AlgorithmPolicy,
    clock_skew: Duration,
    limits: Limits,
    refresh: RefreshSettings,
    cache_entries: usize,
    require_scope_or_role: bool,
    accept_unclassified: bool,
    clock: Arc<dyn Clock>,
    fetcher: Option<Arc<dyn Fetcher>>,
}

#[derive(Debug, Clone)]
enum SourceSpec {
    Discovery(String, AuthorityKind),
    JwksUri(String),
    Static(String),
}

/// The Entra public cloud's sign-in host.
pub const ENTRA_PUBLIC_CLOUD: &str = "https://login.microsoftonline.com";

impl ValidatorConfig {
    /// An API in one Entra tenant. Keys and the accepted v1.0 and v2.0
    /// issuers come from the tenant's discovery documents at
    /// `https://login.microsoftonline.com/{tenant}`; use
    /// [`authority`](Self::authority) for another cloud or the local
    /// identity provider. A GUID audience also accepts `api://{guid}`.
    pub fn entra(tenant: impl Into<String>, audience: impl Into<Audience>) -> Self {
        let tenant = tenant.into();
        Self::base(
            SourceSpec::Discovery(
                format!("{ENTRA_PUBLIC_CLOUD}/{tenant}"),
                AuthorityKind::Entra,
            ),
            IssuerPolicy::entra([]),
            AudiencePolicy::new([audience.into()]),
            AlgorithmPolicy::entra(),
            true,
        )
    }

    /// An Entra-style API whose authority is given as a URL, e.g. the local
    /// identity provider's `https://localhost:8443/{tenant}` or a national
    /// cloud. Same as [`entra`](Self::entra) followed by
    /// [`authority`](Self::authority).
    pub fn entra_authority(authority: impl Into<String>, audience: impl Into<Audience>) -> Self {
        Self::entra("", audience).authority(authority)
    }

    /// A multi-tenant Entra API: issuers are checked through the
    /// `{tenantid}` template against each token's `tid`. Restrict tenants
    /// with [`tenants`](Self::tenants).
    pub fn entra_multi_tenant(audience: impl Into<Audience>) -> Self {
        Self::base(
            SourceSpec::Discovery(
                format!("{ENTRA_PUBLIC_CLOUD}/organizations"),
                AuthorityKind::Entra,
            ),
            IssuerPolicy::entra([]),
            AudiencePolicy::new([audience.into()]),
            AlgorithmPolicy::entra(),
            true,
        )
    }

    /// Any OpenID Connect issuer: discovery at
    /// `{issuer}/.well-known/openid-configuration`, `iss` equal to `issuer`,
    /// algorithms RS/PS 256-512, ES256/ES384 and EdDSA.
    pub fn oidc(issuer: impl Into<String>, audience: impl Into<Audience>) -> Self {
        let issuer = issuer.into();
        Self::base(
            SourceSpec::Discovery(issuer.clone(), AuthorityKind::Oidc),
            IssuerPolicy::exact([Issuer::new(issuer)]),
            AudiencePolicy::exact([audience.into()]),
            AlgorithmPolicy::oidc(),
            false,
        )
    }

    /// Keys from a JWKS URL, without discovery; issuers as given.
    pub fn jwks(
        jwks_uri: impl Into<String>,
        issuers: IssuerPolicy,
        audiences: AudiencePolicy,
    ) -> Self {
        let entra = issuers.is_entra();
        let algorithms = if entra {
            AlgorithmPolicy::entra()
        } else {
            AlgorithmPolicy::oidc()
        };
        Self::base(
            SourceSpec::JwksUri(jwks_uri.into()),
            issuers,
            audiences,
            algorithms,
            entra,
        )
    }

    /// A fixed JWKS document (no network at all); issuers as given.
    pub fn static_keys(
        jwks_json: impl Into<String>,
        issuers: IssuerPolicy,
        audiences: AudiencePolicy,
    ) -> Self {
        let entra = issuers.is_entra();
        let algorithms = if entra {
            AlgorithmPolicy::entra()
        } else {
            AlgorithmPolicy::oidc()
        };
        Self::base(
            SourceSpec::Static(jwks_json.into()),
            issuers,
            audiences,
            algorithms,
            entra,
        )
    }

    fn base(
        source: SourceSpec,
        issuers: IssuerPolicy,
        audiences: AudiencePolicy,
        algorithms: AlgorithmPolicy,
        entra: bool,
    ) -> Self {
        Self {
            source,
            issuers,
            audiences,
            algorithms,
            clock_skew: Duration::from_secs(300),
            limits: Limits::default(),
            refresh: RefreshSettings::default(),
            cache_entries: 10_000,
            require_scope_or_role: entra,
            accept_unclassified: false,
            clock: Arc::new(SystemClock),
            fetcher: None,
        }
    }

    /// The authority to discover keys and issuers from, e.g.
    /// `https://login.microsoftonline.us/{tenant}` or the local identity
    /// provider's `https://localhost:8443/{tenant}`. A trailing `/v2.0` is
    /// allowed.
    pub fn authority(mut self, authority: impl Into<String>) -> Self {
        let kind = match &self.source {
            SourceSpec::Discovery(_, kind) => *kind,
            _ => AuthorityKind::Entra,
        };
        self.source = SourceSpec::Discovery(authority.into(), kind);
        self
    }

    /// Replaces the accepted audiences (a GUID also accepts `api://{guid}`).
    pub fn audiences<A: Into<Audience>>(mut self, audiences: impl IntoIterator<Item = A>) -> Self {
        self.audiences = AudiencePolicy::new(audiences);
        self
    }

    /// Replaces the audience policy.
    pub fn audience_policy(mut self, policy: AudiencePolicy) -> Self {
        self.audiences = policy;
        self
    }

    /// Adds an accepted issuer (exact, or a `{tenantid}` template).
    pub fn issuer(mut self, issuer: impl Into<Issuer>) -> Self {
        self.issuers.add_issuer(issuer.into());
        self
    }

    /// Only tokens from these tenants (`tid`).
    pub fn tenants<T: Into<TenantId>>(mut self, tenants: impl IntoIterator<Item = T>) -> Self {
        self.issuers = self.issuers.with_tenants(TenantRule::Only(
            tenants.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// Only these Entra token versions (default: both).
    pub fn versions(mut self, versions: impl IntoIterator<Item = TokenVersion>) -> Self {
        self.issuers = self.issuers.with_versions(versions);
        self
    }

    /// Replaces the algorithm allow-list.
    pub fn algorithms(mut self, algorithms: AlgorithmPolicy) -> Self {
        self.algorithms = algorithms;
        self
    }

    /// Allowed clock skew for `exp` and `nbf` (default 5 minutes).
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.clock_skew = skew;
        self
    }

    /// Token size and JSON depth limits (default 16 KiB, depth 16).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Key refresh timing.
    pub fn refresh(mut self, refresh: RefreshSettings) -> Self {
        self.refresh = refresh;
        self
    }

    /// Size of the verified-token cache (default 10 000 entries; 0 disables
    /// it). When it is full, the least recently used entry makes room.
    pub fn token_cache(mut self, max_entries: usize) -> Self {
        self.cache_entries = max_entries;
        self
    }

    /// Whether a token must carry `scp` or `roles` (default: on for Entra,
    /// like Microsoft.Identity.Web's IDW10201 check; off for generic OIDC),
    /// and a token naming a signed-in user (not app-only, see
    /// [`Principal::is_app_only`](crate::Principal::is_app_only)) must carry
    /// `scp`: roles alone do not make a delegated token
    /// (`delegated_without_scope`; Entra lists the granted scopes in every
    /// delegated token, spec §5).
    pub fn require_scope_or_role(mut self, required: bool) -> Self {
        self.require_scope_or_role = required;
        self
    }

    /// The clock (tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The HTTP fetcher (default: [`HttpFetcher`](crate::fetch::HttpFetcher)).
    pub fn fetcher(mut self, fetcher: Arc<dyn Fetcher>) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// Accept tokens that cannot be classified as access tokens (no
    /// `azp`/`appid`/`client_id`, no `scp`, no `at+jwt` type). ID tokens are
    /// refused regardless.
    ///
    /// # Security
    /// Some generic issuers mint access tokens without any client claim;
    /// enabling this for them also lets through ID tokens that carry no
    /// nonce. Prefer issuers that follow RFC 9068.
    pub fn insecure_accept_unclassified_tokens(mut self) -> Self {
        self.accept_unclassified = true;
        self
    }
}

/// The configuration was unusable; every problem is listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid validator configuration: {}", problems.join("; "))]
pub struct ConfigError {
    /// Each problem found.
    pub problems: Vec<String>,
}

/// Validates access tokens and builds [`Principal`]s. Cheap to clone; clones
/// share keys and the token cache.
///
/// ```no_run
/// use rolegate_token::{Validator, ValidatorConfig};
///
/// # async fn demo(token: &str) -> Result<(), Box<dyn std::error::Error>> {
/// let validator = Validator::new(ValidatorConfig::entra(
///     "72f988bf-86f1-41af-91ab-2d7cd011db47",
///     "6e74172b-be56-4843-9ff4-e66a39bb12e3",
/// ))?;
/// let caller = validator.validate(token).await?;
/// println!("{:?} holds {:?}", caller.object_id(), caller.claims().get("roles"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Validator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    keys: Arc<KeyManager>,
    issuers: IssuerPolicy,
    audiences: AudiencePolicy,
    algorithms: AlgorithmPolicy,
    skew: i64,
    limits: Limits,
    cache: Option<TokenCache>,
    require_scope_or_role: bool,
    accept_unclassified: bool,
    clock: Arc<dyn Clock>,
}

/// The full judgement of a token, with every problem found.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    /// The JOSE header, when it parsed.
    pub header: Option<Map<String, Value>>,
    /// The claims, when the token parsed (unverified if `errors` is not empty).
    pub claims: Option<Map<String, Value>>,
    /// Access token, ID token or unknown, with the reason.
    pub classification: Classification,
    /// Every problem, in pipeline order. Empty means valid.
    pub errors: Vec<ValidationError>,
    /// The key whose signature verified, if one did.
    pub signer: Option<KeyId>,
    /// The validated principal, when there were no errors.
    pub principal: Option<Principal>,
}

impl Validator {
    /// Builds a validator. Does no I/O: keys load on first use or with
    /// [`warm_up`](Self::warm_up). Inside a Tokio runtime a background task
    /// refreshes keys periodically.
    pub fn new(config: ValidatorConfig) -> Result<Validator, ConfigError> {
        let mut problems = Vec::new();
        if config.audiences.is_empty()
            || config
                .audiences
                .accepted()
                .iter()
                .any(|a| a.as_str().trim().is_empty())
        {
            problems
                .push("no audience configured: set the API's client id or App ID URI".to_owned());
        }
        let parse_url = |what: &str, value: &str, problems: &mut Vec<String>| -> Option<Url> {
            match Url::parse(value) {
                Ok(url) => match check_transport(&url) {
                    Ok(()) => Some(url),
                    Err(e) => {
                        problems.push(format!("{what}: {e}"));
                        None
                    }
                },
                Err(e) => {
                    problems.push(format!("{what} {value:?} is not a URL: {e}"));
                    None
                }
            }
        };
        let source = match &config.source {
            SourceSpec::Discovery(authority, kind) => {
                parse_url("authority", authority, &mut problems).map(|authority| {
                    KeySource::Discovery {
                        authority,
                        kind: *kind,
                    }
                })
            }
            SourceSpec::JwksUri(uri) => {
                parse_url("jwks_uri", uri, &mut problems).map(KeySource::JwksUri)
            }
            SourceSpec::Static(json) => match JwkSet::parse(json.as_bytes(), &config.algorithms) {
                Ok(set) if !set.is_empty() => Some(KeySource::Static(set)),
                Ok(set) => {
                    let skipped: Vec<String> =
                        set.skipped().iter().map(ToString::to_string).collect();
                    problems.push(format!(
                        "the static key set has no usable key ({})",
                        skipped.join("; ")
                    ));
                    None
                }
                Err(e) => {
                    problems.push(format!("the static key set is invalid: {e}"));
                    None
                }
            },
        };
        if matches!(
            config.source,
            SourceSpec::JwksUri(_) | SourceSpec::Static(_)
        ) && config.issuers.issuers().is_empty()
        {
            problems.push(
                "no issuer configured: without discovery, name the accepted issuers".to_owned(),
            );
        }
        if !config.issuers.is_entra() && config.issuers.tenants() != &TenantRule::Any {
            problems.push("tenant allow-lists apply to Entra issuers only; a generic OIDC issuer has no tenants".to_owned());
        }
        if config.algorithms.allowed().is_empty() {
            problems.push("the algorithm allow-list is empty".to_owned());
        }
        let fetcher = match config.fetcher.clone() {
            Some(f) => Some(f),
            None => default_fetcher(&mut problems),
        };
        let (Some(source), Some(fetcher), true) = (source, fetcher, problems.is_empty()) else {
            return Err(ConfigError { problems });
        };
        let keys = Arc::new(KeyManager::new(
            source,
            config.algorithms.clone(),
            config.refresh.clone(),
            fetcher,
            Arc::clone(&config.clock),
        ));
        keyset::spawn_background_refresh(&keys);
        Ok(Validator {
            inner: Arc::new(Inner {
                keys,
                issuers: config.issuers,
                audiences: config.audiences,
                algorithms: config.algorithms,
                skew: i64::try_from(config.clock_skew.as_secs()).unwrap_or(i64::MAX),
                limits: config.limits,
                cache: (config.cache_entries > 0).then(|| TokenCache::new(config.cache_entries)),
                require_scope_or_role: config.require_scope_or_role,
                accept_unclassified: config.accept_unclassified,
                clock: config.clock,
            }),
        })
    }

    /// Validates an access token: structure, algorithm, signature (keys from
    /// the authority), lifetime, issuer, tenant, audience and token kind.
    /// Returns the first problem found.
    pub async fn validate(&self, token: &str) -> Result<Principal, ValidationError> {
        match self.validate_now(token) {
            Ok(principal) => Ok(principal),
            Err(Pending::Refused(e)) => Err(e),
            // Keys must be loaded or refetched first. The rare path is boxed
            // so that the common one stays a small, allocation-free future.
            Err(Pending::NeedKeys) => Box::pin(self.validate_fetching(token)).await,
        }
    }

    /// Validation with the keys at hand, without waiting: the common path.
    fn validate_now(&self, token: &str) -> Result<Principal, Pending> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let state = inner.keys.current();
        let digest = inner.cache.as_ref().map(|c| c.digest(token));
        if let (Some(cache), Some(digest)) = (&inner.cache, &digest)
            && let Some(principal) = cache.get(digest, token, now, &state)
        {
            return Ok(principal);
        }
        let jws = jws::decode(token, inner.limits)?;
        let claims = jws.claims()?;
        let alg = self.algorithm(&jws.header)?;
        if state.loaded_at().is_none() {
            return Err(Pending::NeedKeys);
        }
        let candidates = match jws.header.kid() {
            Some(kid) => Candidates::One(Arc::clone(state.key(kid).ok_or(Pending::NeedKeys)?)),
            None => keyless_candidates(&state, alg)?,
        };
        let verdict = self.judge(&jws, &claims, alg, &state, &candidates, now)?;
        Ok(self.accept(token, verdict, jws.payload, digest))
    }

    /// Validation that first loads the keys, or refetches them for an
    /// unknown `kid` (throttled).
    async fn validate_fetching(&self, token: &str) -> Result<Principal, ValidationError> {
        let inner = &self.inner;
        // Refuse what does not parse before any network activity.
        let (kid, alg) = {
            let jws = jws::decode(token, inner.limits)?;
            jws.claims()?;
            let alg = self.algorithm(&jws.header)?;
            (jws.header.kid().map(str::to_owned), alg)
        };
        let state = inner
            .keys
            .loaded()
            .await
            .map_err(|reason| ValidationError::KeysUnavailable { reason })?;
        let (state, candidates) = self.candidates(state, kid.as_deref(), alg).await?;
        let now = inner.clock.now();
        let digest = inner.cache.as_ref().map(|c| c.digest(token));
        let jws = jws::decode(token, inner.limits)?;
        let claims = jws.claims()?;
        let verdict = self.judge(&jws, &claims, alg, &state, &candidates, now)?;
        Ok(self.accept(token, verdict, jws.payload, digest))
    }

    /// Signature and claims, with the candidate keys chosen.
    fn judge(
        &self,
        jws: &DecodedJws<'_>,
        claims: &ClaimSet<'_>,
        alg: Algorithm,
        state: &KeyState,
        candidates: &Candidates,
        now: i64,
    ) -> Result<Verdict, ValidationError> {
        let key = verify(jws, alg, candidates)?;
        let mut errors = Vec::new();
        self.check_claims(jws, claims, &key, state, now, &mut errors);
        if let Some(first) = errors.into_iter().next() {
            return Err(first);
        }
        Ok(Verdict {
            fields: Fields::read(claims, jws.payload.as_bytes()),
            expires: claims
                .numeric_date(Claim::Exp)
                .ok()
                .flatten()
                .unwrap_or(now),
            key,
        })
    }

    /// The principal of a token that passed, remembered in the cache.
    fn accept(
        &self,
        token: &str,
        verdict: Verdict,
        payload: String,
        digest: Option<TokenDigest>,
    ) -> Principal {
        let inner = &self.inner;
        let principal = Principal::new(verdict.fields, payload, Some(&verdict.key));
        if let (Some(cache), Some(digest), Some(kid)) = (&inner.cache, digest, verdict.key.kid()) {
            cache.insert(
                digest,
                token,
                principal.clone(),
                verdict.expires.saturating_add(inner.skew),
                kid,
            );
        }
        principal
    }

    /// Judges a token completely, collecting every problem instead of
    /// stopping at the first (for diagnostics such as `rolegate token check`).
    pub async fn diagnose(&self, token: &str) -> Diagnosis {
        let inner = &self.inner;
        let now = inner.clock.now();
        let unparsed = |e| Diagnosis {
            header: None,
            claims: None,
            classification: Classification {
                kind: TokenKind::Unknown,
                reason: "the token could not be parsed".to_owned(),
            },
            errors: vec![e],
            signer: None,
            principal: None,
        };
        let jws = match jws::decode(token, inner.limits) {
            Ok(jws) => jws,
            Err(e) => return unparsed(e),
        };
        let (claims, claims_map) = match (jws.claims(), jws.claims_map()) {
            (Ok(claims), Ok(map)) => (claims, map),
            (Err(e), _) | (_, Err(e)) => return unparsed(e),
        };
        let classification = classify(jws.header.typ(), &claims);
        let mut errors = Vec::new();
        let alg = self.algorithm(&jws.header).map_err(|e| errors.push(e)).ok();
        let mut signer = None;
        let mut state = inner.keys.snapshot();
        match (alg, inner.keys.loaded().await) {
            (_, Err(reason)) => errors.push(ValidationError::KeysUnavailable { reason }),
            (None, Ok(loaded)) => state = loaded,
            (Some(alg), Ok(loaded)) => match self.candidates(loaded, jws.header.kid(), alg).await {
                Ok((found, candidates)) => {
                    state = found;
                    match verify(&jws, alg, &candidates) {
                        Ok(key) => signer = Some(key),
                        Err(e) => errors.push(e),
                    }
                }
                Err(e) => errors.push(e),
            },
        }
        match &signer {
            Some(key) => self.check_claims(&jws, &claims, key, &state, now, &mut errors),
            None => self.check_unsigned_claims(&jws, &claims, &state, now, &mut errors),
        }
        let principal = match (&signer, errors.is_empty()) {
            // Fields hold offsets into the payload, valid in its copy.
            (Some(key), true) => Some(Principal::new(
                Fields::read(&claims, jws.payload.as_bytes()),
                jws.payload.clone(),
                Some(key),
            )),
            _ => None,
        };
        Diagnosis {
            header: Some(jws.header.members()),
            claims: Some(claims_map),
            classification,
            errors,
            signer: signer.as_ref().and_then(|k| k.kid()).map(KeyId::new),
            principal,
        }
    }

    /// Loads the authority's keys now instead of on the first request.
    pub async fn warm_up(&self) -> Result<(), ValidationError> {
        self.inner
            .keys
            .loaded()
            .await
            .map(|_| ())
            .map_err(|reason| ValidationError::KeysUnavailable { reason })
    }

    /// Refetches discovery and keys now (normally done in the background).
    pub async fn refresh_keys(&self) -> Result<(), ValidationError> {
        self.inner
            .keys
            .refresh()
            .await
            .map(|_| ())
            .map_err(|reason| ValidationError::KeysUnavailable { reason })
    }

    /// Verified-token cache counters (all zero when the cache is disabled).
    pub fn cache_stats(&self) -> CacheStats {
        self.inner
            .cache
            .as_ref()
            .map(TokenCache::stats)
            .unwrap_or_default()
    }

    /// Key fetch counters.
    pub fn key_stats(&self) -> KeyStats {
        self.inner.keys.stats()
    }

    /// The accepted audiences.
    pub fn audiences(&self) -> &[Audience] {
        self.inner.audiences.accepted()
    }

    /// The accepted issuers: configured ones plus those discovered so far.
    pub fn issuers(&self) -> Vec<String> {
        self.inner
            .issuers
            .expected(self.inner.keys.snapshot().issuers())
    }

    fn algorithm(&self, header: &Header) -> Result<Algorithm, ValidationError> {
        Algorithm::from_name(header.alg())
            .filter(|a| self.inner.algorithms.allows(*a))
            .ok_or_else(|| ValidationError::AlgorithmNotAllowed {
                alg: header.alg().to_owned(),
                allowed: self.inner.algorithms.allowed().to_vec(),
            })
    }

    /// The keys that may have signed the token: the one named by `kid`
    /// (refetching the key set, throttled, when unknown), or every key that
    /// supports `alg` when the token names none.
    async fn candidates(
        &self,
        state: Arc<KeyState>,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<(Arc<KeyState>, Candidates), ValidationError> {
        let Some(kid) = kid else {
            let all = keyless_candidates(&state, alg)?;
            return Ok((state, all));
        };
        if let Some(key) = state.key(kid) {
            let key = Arc::clone(key);
            return Ok((state, Candidates::One(key)));
        }
        let state = self.inner.keys.refresh_for_unknown_kid(&state).await;
        match state.key(kid) {
            Some(key) => {
                let key = Arc::clone(key);
                Ok((state, Candidates::One(key)))
            }
            None => Err(key_not_found(Some(kid), &state)),
        }
    }

    fn check_claims(
        &self,
        jws: &DecodedJws<'_>,
        claims: &ClaimSet<'_>,
        key: &VerifyingKey,
        state: &KeyState,
        now: i64,
        errors: &mut Vec<ValidationError>,
    ) {
        self.check_unsigned_claims(jws, claims, state, now, errors);
        if self.inner.issuers.is_entra()
            && let Some(key_issuer) = key.issuer()
        {
            self.check_key_issuer(key, key_issuer, claims, state, errors);
        }
    }

    /// Every claim check that does not depend on which key signed.
    fn check_unsigned_claims(
        &self,
        jws: &DecodedJws<'_>,
        c: &ClaimSet<'_>,
        state: &KeyState,
        now: i64,
        errors: &mut Vec<ValidationError>,
    ) {
        let inner = &self.inner;
        for claim in STRING_CLAIMS {
            if !c.is_string_or_absent(claim)
                && let Err(e) = c.string(claim)
            {
                errors.push(e);
            }
        }
        for claim in STRING_ARRAY_CLAIMS {
            if let Err(e) = c.string_array(claim) {
                errors.push(e);
            }
        }
        if let Err(e) = c.boolean(Claim::HasGroups) {
            errors.push(e);
        }
        // Checks `_claim_names` and `_claim_sources` whole.
        if let Err(e) = c.claim_source(Claim::Groups) {
            errors.push(e);
        }
        match c.numeric_date(Claim::Exp) {
            Ok(Some(exp)) if exp.saturating_add(inner.skew) < now => {
                errors.push(ValidationError::Expired {
                    exp,
                    now,
                    skew: inner.skew,
                })
            }
            Ok(Some(_)) => {}
            Ok(None) => errors.push(ValidationError::MissingClaim { claim: "exp" }),
            Err(e) => errors.push(e),
        }
        match c.numeric_date(Claim::Nbf) {
            Ok(Some(nbf)) if nbf.saturating_sub(inner.skew) > now => {
                errors.push(ValidationError::NotYetValid {
                    nbf,
                    now,
                    skew: inner.skew,
                })
            }
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
        if let Err(e) = c.numeric_date(Claim::Iat) {
            errors.push(e);
        }
        // Before any key set loaded, discovered issuers are unknown: an issuer
        // check then would only add noise to `keys_unavailable`.
        let issuers_known = state.loaded_at().is_some() || !inner.issuers.issuers().is_empty();
        if issuers_known {
            inner.issuers.check(c, state.issuers(), errors);
        }
        inner.audiences.check(c, errors);
        let kind = kind_of(jws.header.typ(), c);
        match kind {
            TokenKind::AccessToken => {}
            TokenKind::Unknown if inner.accept_unclassified => {}
            // The words are only needed for the refusal.
            TokenKind::IdToken => errors.push(ValidationError::IdToken {
                audience: c
                    .audiences()
                    .ok()
                    .flatten()
                    .and_then(|mut a| a.next().map(|s| s.into_owned()))
                    .unwrap_or_default(),
                reason: classify(jws.header.typ(), c).reason,
            }),
            TokenKind::Unknown => errors.push(ValidationError::NotAnAccessToken {
                reason: classify(jws.header.typ(), c).reason,
            }),
        }
        if inner.require_scope_or_role && !c.contains(Claim::Scp) {
            if !c.contains(Claim::Roles) {
                errors.push(ValidationError::NoPermissions);
            } else if kind == TokenKind::AccessToken && !crate::principal::app_only(c) {
                // Roles but no scp, and a user in the token: not an app's
                // token, and no delegated token Entra issues looks like it.
                errors.push(ValidationError::DelegatedWithoutScope);
            }
        }
    }

    /// Entra's signing-key issuer validation: a key whose JWKS entry has an
    /// `issuer` may only sign tokens of that issuer (after substituting the
    /// token's `tid` into a `{tenantid}` template).
    fn check_key_issuer(
        &self,
        key: &VerifyingKey,
        key_issuer: &Issuer,
        claims: &ClaimSet<'_>,
        state: &KeyState,
        errors: &mut Vec<ValidationError>,
    ) {
        let Some(iss) = claims.str(Claim::Iss) else {
            return;
        };
        let tid = claims.str(Claim::Tid);
        // The usual case, without building the substituted issuer.
        if issuer_matches(key_issuer, iss, tid) {
            return;
        }
        let substituted = key_issuer.for_tenant(tid.unwrap_or_default());
        if substituted == iss {
            return;
        }
        // A v1.0 token signed by a key published with the v2.0 issuer of the
        // same tenant is fine (one key set serves both versions).
        let accepted = self
            .inner
            .issuers
            .issuers()
            .iter()
            .chain(state.issuers())
            .any(|i| issuer_matches(i, substituted.as_str(), tid));
        if accepted && tid.is_some_and(|t| issuer_names_tenant(substituted.as_str(), t)) {
            return;
        }
        errors.push(ValidationError::KeyIssuerMismatch {
            kid: key.kid().unwrap_or_default().to_owned(),
            key_issuer: substituted.to_string(),
            token_issuer: iss.to_owned(),
        });
    }
}

/// A token that passed every check, before its principal is built.
struct Verdict {
    /// Offsets into the payload and scalars.
    fields: Fields,
    /// `exp`.
    expires: i64,
    /// The key whose signature verified.
    key: Arc<VerifyingKey>,
}

/// Why [`Validator::validate_now`] could not finish.
enum Pending {
    /// The token is refused.
    Refused(ValidationError),
    /// The keys must be loaded, or refetched for an unknown `kid`.
    NeedKeys,
}

impl From<ValidationError> for Pending {
    fn from(e: ValidationError) -> Self {
        Pending::Refused(e)
    }
}

/// For a token without `kid`: every key that supports `alg` (weak RSA keys
/// included, so that they are refused by name).
fn keyless_candidates(state: &KeyState, alg: Algorithm) -> Result<Candidates, ValidationError> {
    let all: Vec<_> = state
        .all_keys()
        .filter(|k| {
            k.supports(alg) || matches!(k.key_type(), crate::jwk::KeyType::Rsa(b) if b < 2048)
        })
        .take(MAX_KEYLESS_CANDIDATES)
        .cloned()
        .collect();
    if all.is_empty() {
        return Err(key_not_found(None, state));
    }
    Ok(Candidates::Many(all))
}

/// The keys that may have signed a token: the one its `kid` names (the
/// usual case, without allocating), or several when it names none.
enum Candidates {
    One(Arc<VerifyingKey>),
    Many(Vec<Arc<VerifyingKey>>),
}

impl Candidates {
    fn as_slice(&self) -> &[Arc<VerifyingKey>] {
        match self {
            Candidates::One(key) => std::slice::from_ref(key),
            Candidates::Many(keys) => keys,
        }
    }
}

fn verify(
    jws: &DecodedJws<'_>,
    alg: Algorithm,
    candidates: &Candidates,
) -> Result<Arc<VerifyingKey>, ValidationError> {
    let mut last = None;
    for key in candidates.as_slice() {
        let result = key.verify(alg, jws.signing_input, &jws.signature);
        let kid = || key.kid().unwrap_or("(no kid)").to_owned();
        match result {
            Ok(()) => return Ok(Arc::clone(key)),
            Err(VerifyError::BadSignature) => {
                last = Some(ValidationError::InvalidSignature { kid: kid(), alg })
            }
            Err(VerifyError::WeakKey(bits)) => {
                last = Some(ValidationError::WeakKey { kid: kid(), bits })
            }
            Err(VerifyError::TypeMismatch) => {
                last = Some(ValidationError::KeyTypeMismatch {
                    kid: kid(),
                    kty: key.key_type().to_string(),
                    alg,
                });
            }
        }
    }
    Err(last.unwrap_or(ValidationError::KeyNotFound {
        kid: None,
        known: 0,
        known_kids: Vec::new(),
    }))
}

fn key_not_found(kid: Option<&str>, state: &KeyState) -> ValidationError {
    ValidationError::KeyNotFound {
        kid: kid.map(str::to_owned),
        known: state.len(),
        known_kids: state.sample_kids(),
    }
}

#[cfg(feature = "reqwest")]
fn default_fetcher(problems: &mut Vec<String>) -> Option<Arc<dyn Fetcher>> {
    match crate::fetch::HttpFetcher::new() {
        Ok(f) => Some(Arc::new(f)),
        Err(e) => {
            problems.push(format!("cannot create the HTTP client: {e}"));
            None
        }
    }
}

#[cfg(not(feature = "reqwest"))]
fn default_fetcher(problems: &mut Vec<String>) -> Option<Arc<dyn Fetcher>> {
    problems.push("no fetcher configured and the `reqwest` feature is off: pass one with ValidatorConfig::fetcher".to_owned());
    None
}

/// Claims that must be strings when present.
const STRING_CLAIMS: [Claim; 10] = [
    Claim::Sub,
    Claim::Oid,
    Claim::Azp,
    Claim::Appid,
    Claim::Ver,
    Claim::Idtyp,
    Claim::Scp,
    Claim::Name,
    Claim::PreferredUsername,
    Claim::Nonce,
];

/// Claims that must be arrays of strings when present.
const STRING_ARRAY_CLAIMS: [Claim; 3] = [Claim::Roles, Claim::Groups, Claim::Wids];

/// Upper bound on keys tried for a token without `kid`.
const MAX_KEYLESS_CANDIDATES: usize = 8;
