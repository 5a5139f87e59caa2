//! `rolegate token check`: full validation plus authorization, every
//! problem listed with its code and fix.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use rolegate_token::audience::AudiencePolicy;
use rolegate_token::clock::Clock;
use rolegate_token::fetch::HttpFetcher;
use rolegate_token::id::Issuer;
use rolegate_token::issuer::IssuerPolicy;
use rolegate_token::keyset::RefreshSettings;
use rolegate_token::principal::Grants;
use rolegate_token::requirement::Requirement;
use rolegate_token::{Diagnosis, ErrorCode, ValidationError, Validator, ValidatorConfig};
use serde_json::{Value, json};
use url::Url;

use super::decode::{display_value, kind_name};
use crate::exit::{Failure, Outcome, emit};
use crate::time;

/// Arguments of `token check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The token, or a file holding it; read from standard input when `-`
    /// or omitted.
    #[arg(value_name = "TOKEN|-")]
    token: Option<String>,

    /// The authority whose discovery documents and keys decide:
    /// `https://login.microsoftonline.com/<tenant>` for Entra, or the local
    /// identity provider's `https://localhost:8443/<tenant>`. Plain http is
    /// accepted only for loopback addresses.
    #[arg(
        long,
        value_name = "URL",
        required_unless_present = "jwks_file",
        conflicts_with = "jwks_file"
    )]
    authority: Option<String>,

    /// Also trust the root certificates in this PEM file (e.g. the local
    /// identity provider's CA).
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,

    /// Offline: verify with the keys in this JWKS file instead of fetching
    /// them from an authority. Needs `--issuer`.
    #[arg(long, value_name = "PATH", requires = "issuer")]
    jwks_file: Option<PathBuf>,

    /// With `--jwks-file`: an accepted issuer (`iss`), compared exactly; a
    /// `{tenantid}` template is allowed. Repeatable.
    #[arg(long, value_name = "ISS", requires = "jwks_file")]
    issuer: Vec<String>,

    /// An accepted audience: the API's client id (a GUID also accepts
    /// `api://<guid>`) or App ID URI. Repeat for several.
    #[arg(long, value_name = "AUD", required = true)]
    audience: Vec<String>,

    /// The token must hold this app role (`roles`). Repeatable: all are
    /// required.
    #[arg(long, value_name = "ROLE")]
    require_role: Vec<String>,

    /// The token must hold this delegated scope (`scp`). Repeatable: all
    /// are required.
    #[arg(long, value_name = "SCOPE")]
    require_scope: Vec<String>,

    /// Accept only tokens from this tenant (`tid`). Repeatable.
    #[arg(long, value_name = "TID", conflicts_with = "oidc")]
    tenant_allow: Vec<String>,

    /// Allowed clock skew for `exp` and `nbf`, in seconds [default: 300].
    #[arg(long, value_name = "SECS")]
    clock_skew: Option<u64>,

    /// Treat the authority as a generic OpenID Connect issuer: discovery at
    /// `<authority>/.well-known/openid-configuration`, `iss` equal to the
    /// authority, audiences matched exactly.
    #[arg(long)]
    oidc: bool,

    /// Print one JSON object: valid, authorized, token_kind, errors, claims.
    #[arg(long)]
    json: bool,
}

/// Checks the token and prints the verdict.
pub async fn run(args: CheckArgs, clock: Arc<dyn Clock>) -> Result<Outcome, Failure> {
    let token = super::read_token(args.token.as_deref())?;
    let validator = validator(&args, Arc::clone(&clock))?;
    let mut diagnosis = validator.diagnose(&token).await;
    drop_issuer_noise(&mut diagnosis.errors);
    let problems = problems(&diagnosis, &requirements(&args));
    let verdict = Verdict::of(&diagnosis, &problems);
    let text = if args.json {
        format!("{:#}\n", json_report(&diagnosis, &problems, verdict))
    } else {
        human_report(&args, &diagnosis, &problems, verdict, clock.now())
    };
    emit(&text)?;
    Ok(verdict.outcome)
}

/// Builds the validator: one-shot, no background refresh, no cache.
fn validator(args: &CheckArgs, clock: Arc<dyn Clock>) -> Result<Validator, Failure> {
    let config = match (&args.jwks_file, &args.authority) {
        (Some(path), _) => offline_config(args, path)?,
        (None, Some(authority)) => online_config(args, authority)?,
        (None, None) => {
            return Err(Failure::Usage(
                "give --authority <URL> or --jwks-file <PATH>".to_owned(),
            ));
        }
    };
    let config = config
        .clock(clock)
        .refresh(RefreshSettings {
            background: false,
            ..RefreshSettings::default()
        })
        .token_cache(0);
    Validator::new(config).map_err(|e| Failure::Usage(e.problems.join("\n  ")))
}

/// Keys from a local JWKS file, issuers as given.
fn offline_config(args: &CheckArgs, path: &Path) -> Result<ValidatorConfig, Failure> {
    let jwks = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("cannot read --jwks-file {}: {e}", path.display())))?;
    let issuers = args.issuer.iter().map(|i| Issuer::new(i.as_str()));
    let (issuers, audiences) = if args.oidc {
        (
            IssuerPolicy::exact(issuers),
            AudiencePolicy::exact(args.audience.iter().cloned()),
        )
    } else {
        (
            IssuerPolicy::entra(issuers),
            AudiencePolicy::new(args.audience.iter().cloned()),
        )
    };
    let mut config = ValidatorConfig::static_keys(jwks, issuers, audiences);
    if !args.tenant_allow.is_empty() {
        config = config.tenants(args.tenant_allow.iter().cloned());
    }
    if let Some(skew) = args.clock_skew {
        config = config.clock_skew(Duration::from_secs(skew));
    }
    Ok(config)
}

/// Discovery and keys from the authority.
fn online_config(args: &CheckArgs, authority: &str) -> Result<ValidatorConfig, Failure> {
    // A generic issuer is compared as an exact string, trailing slash
    // included (OpenID Connect Discovery §4.3); Entra authorities are not.
    let authority = match args.oidc {
        true => authority,
        false => authority.trim_end_matches('/'),
    };
    let url = Url::parse(authority)
        .map_err(|e| Failure::Usage(format!("--authority {authority:?} is not a URL: {e}")))?;
    let first_audience = args.audience.first().cloned().unwrap_or_default();
    let mut config = if args.oidc {
        ValidatorConfig::oidc(authority, first_audience)
            .audience_policy(AudiencePolicy::exact(args.audience.iter().cloned()))
    } else {
        let tenant = url
            .path_segments()
            .and_then(|mut segments| segments.next())
            .filter(|segment| !segment.is_empty())
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "--authority {authority} names no tenant: use <host>/<tenant id or domain>, e.g. https://login.microsoftonline.com/<tenant>"
                ))
            })?
            .to_owned();
        ValidatorConfig::entra(tenant, first_audience)
            .authority(authority)
            .audiences(args.audience.iter().cloned())
    };
    if !args.tenant_allow.is_empty() {
        config = config.tenants(args.tenant_allow.iter().cloned());
    }
    if let Some(skew) = args.clock_skew {
        config = config.clock_skew(Duration::from_secs(skew));
    }
    if let Some(pem) = super::read_ca_file(args.ca_file.as_deref())? {
        let fetcher = HttpFetcher::with_options(FETCH_TIMEOUT, MAX_DOCUMENT_BYTES, &[&pem])
            .map_err(|e| Failure::Usage(e.to_string()))?;
        config = config.fetcher(Arc::new(fetcher));
    }
    Ok(config)
}

/// Each `--require-role` and `--require-scope` as its own requirement, so
/// that every missing one is reported.
fn requirements(args: &CheckArgs) -> Vec<Requirement> {
    let roles = args
        .require_role
        .iter()
        .map(|role| Requirement::any_role([role.as_str()]));
    let scopes = args
        .require_scope
        .iter()
        .map(|scope| Requirement::any_scope([scope.as_str()]));
    roles.chain(scopes).collect()
}

/// Without discovery there is no accepted issuer to compare with, so an
/// "expected (none)" issuer error says nothing beyond `keys_unavailable`.
fn drop_issuer_noise(errors: &mut Vec<ValidationError>) {
    if errors
        .iter()
        .any(|e| e.code() == ErrorCode::KeysUnavailable)
    {
        errors.retain(
            |e| !matches!(e, ValidationError::InvalidIssuer { expected, .. } if expected.is_empty()),
        );
    }
}

/// One reported problem.
struct Problem {
    code: ErrorCode,
    message: String,
    hint: String,
}

/// Validation errors, then the requirements the (possibly unverified)
/// claims do not meet.
fn problems(diagnosis: &Diagnosis, requirements: &[Requirement]) -> Vec<Problem> {
    let validation = diagnosis.errors.iter().map(|e| Problem {
        code: e.code(),
        message: e.to_string(),
        hint: e.hint(),
    });
    let grants = diagnosis.claims.as_ref().map(Grants::from_claims);
    let authorization = grants.iter().flat_map(|grants| {
        requirements
            .iter()
            .filter_map(|r| r.check(grants).err())
            .map(|e| Problem {
                code: e.code(),
                message: e.to_string(),
                hint: e.hint(),
            })
    });
    validation.chain(authorization).collect()
}

/// The judgement and its exit outcome.
#[derive(Debug, Clone, Copy)]
struct Verdict {
    valid: bool,
    authorized: bool,
    outcome: Outcome,
}

impl Verdict {
    fn of(diagnosis: &Diagnosis, problems: &[Problem]) -> Verdict {
        let valid = diagnosis.errors.is_empty();
        let authorized = valid && problems.is_empty();
        let outcome = if problems.iter().any(|p| p.code.is_server_side()) {
            Outcome::Inconclusive
        } else if authorized {
            Outcome::Passed
        } else {
            Outcome::Refused
        };
        Verdict {
            valid,
            authorized,
            outcome,
        }
    }
}

/// The `--json` object; its shape is a fixed contract.
fn json_report(diagnosis: &Diagnosis, problems: &[Problem], verdict: Verdict) -> Value {
    let errors: Vec<Value> = problems
        .iter()
        .map(|p| json!({"code": p.code.as_str(), "message": p.message, "hint": p.hint}))
        .collect();
    json!({
        "valid": verdict.valid,
        "authorized": verdict.authorized,
        "token_kind": diagnosis.classification.kind.as_str(),
        "errors": errors,
        "claims": diagnosis.claims.clone().unwrap_or_default(),
    })
}

/// The verdict, a summary of the token, and each problem with its fix.
fn human_report(
    args: &CheckArgs,
    diagnosis: &Diagnosis,
    problems: &[Problem],
    verdict: Verdict,
    now: i64,
) -> String {
    let count = match problems.len() {
        1 => "1 problem".to_owned(),
        n => format!("{n} problems"),
    };
    let mut out = match (verdict.outcome, verdict.valid) {
        (Outcome::Passed, _) => "Result: VALID and AUTHORIZED\n".to_owned(),
        (Outcome::Inconclusive, _) => format!("Result: COULD NOT CHECK ({count})\n"),
        (Outcome::Refused, true) => format!("Result: valid token, but NOT AUTHORIZED ({count})\n"),
        (Outcome::Refused, false) => format!("Result: REFUSED ({count})\n"),
    };
    let classification = &diagnosis.classification;
    let mut field = |label: &str, value: String| {
        out.push_str(&format!("  {label:<10} {value}\n"));
    };
    field(
        "kind:",
        format!(
            "{} — {}",
            kind_name(classification.kind),
            classification.reason
        ),
    );
    match (&args.authority, &args.jwks_file) {
        (Some(authority), _) => field("authority:", authority.clone()),
        (None, Some(path)) => field("keys:", format!("{} (offline)", path.display())),
        (None, None) => {}
    }
    field("expected:", format!("aud {}", args.audience.join(", ")));
    if let Some(claims) = &diagnosis.claims {
        for (label, name) in SUMMARY {
            if let Some(value) = claims.get(name) {
                field(label, summary_value(name, value, now));
            }
        }
    }
    match diagnosis.principal.as_ref() {
        Some(principal) => field(
            "signature:",
            format!(
                "verified with key {}",
                principal.key_id().map_or("(no kid)", |k| k.as_str())
            ),
        ),
        None if diagnosis.claims.is_some() => {
            field("signature:", signature_status(&diagnosis.errors))
        }
        None => {}
    }
    for (i, problem) in problems.iter().enumerate() {
        out.push_str(&format!(
            "\n{}. {}\n   what: {}\n   fix:  {}\n",
            i + 1,
            problem.code,
            problem.message,
            problem.hint
        ));
    }
    out
}

/// Whether the signature verified, when the token was refused for other
/// reasons.
fn signature_status(errors: &[ValidationError]) -> String {
    let signature_codes = [
        ErrorCode::AlgorithmNotAllowed,
        ErrorCode::InvalidSignature,
        ErrorCode::KeyNotFound,
        ErrorCode::KeyTypeMismatch,
        ErrorCode::KeysUnavailable,
        ErrorCode::WeakKey,
    ];
    if errors.iter().any(|e| signature_codes.contains(&e.code())) {
        "NOT verified (see the problems below)".to_owned()
    } else {
        "verified, but the token was refused".to_owned()
    }
}

fn summary_value(name: &str, value: &Value, now: i64) -> String {
    match value.as_i64() {
        Some(at) if name == "exp" => {
            format!("{} ({})", time::utc(at), time::relative(name, at, now))
        }
        _ => display_value(value),
    }
}

/// Claims worth repeating above the problems, with their labels.
const SUMMARY: [(&str, &str); 10] = [
    ("aud:", "aud"),
    ("iss:", "iss"),
    ("tid:", "tid"),
    ("oid:", "oid"),
    ("azp:", "azp"),
    ("appid:", "appid"),
    ("ver:", "ver"),
    ("roles:", "roles"),
    ("scp:", "scp"),
    ("exp:", "exp"),
];

/// Timeout for each discovery or JWKS fetch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Size cap for discovery and JWKS documents.
const MAX_DOCUMENT_BYTES: usize = 1 << 20;
