//! `rolegate token decode`: header and claims, explained. Never verifies.

use clap::Args;
use rolegate_token::claims::ClaimSet;
use rolegate_token::jws::{self, Limits};
use rolegate_token::kind::{Classification, TokenKind, classify};
use serde_json::{Map, Value, json};

use crate::exit::{Failure, Outcome, emit};
use crate::{explain, time};

/// Arguments of `token decode`.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The token, or a file holding it; read from standard input when `-`
    /// or omitted.
    #[arg(value_name = "TOKEN|-")]
    token: Option<String>,

    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
}

/// Decodes and prints the token. A token that does not parse is refused
/// (exit 1) with the failing segment named.
pub fn run(args: &DecodeArgs, now: i64) -> Result<Outcome, Failure> {
    let token = super::read_token(args.token.as_deref())?;
    let jws = jws::parse(&token, DECODE_LIMITS).map_err(|e| {
        Failure::Refused(format!("cannot decode the token: {e}\n  fix: {}", e.hint()))
    })?;
    let classification = classify(jws.header.typ(), &ClaimSet::from_map(&jws.claims));
    let text = if args.json {
        let document = json_report(&jws.header.members(), &jws.claims, &classification, now);
        format!("{document:#}\n")
    } else {
        human_report(&jws.header.members(), &jws.claims, &classification, now)
    };
    emit(&text)?;
    Ok(Outcome::Passed)
}

/// The `--json` document.
fn json_report(
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
    classification: &Classification,
    now: i64,
) -> Value {
    let times: Map<String, Value> = TIME_CLAIMS
        .iter()
        .filter_map(|name| {
            let at = claims.get(*name)?.as_i64()?;
            Some((
                (*name).to_owned(),
                json!({"utc": time::utc(at), "relative": time::relative(name, at, now)}),
            ))
        })
        .collect();
    json!({
        "header": header,
        "claims": claims,
        "token_kind": classification.kind.as_str(),
        "kind_reason": classification.reason,
        "times": times,
        "signature_verified": false,
    })
}

/// The human-readable report: header table, claims table, kind, and the
/// reminder that nothing was verified.
fn human_report(
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
    classification: &Classification,
    now: i64,
) -> String {
    let header_rows: Vec<Row> = header
        .iter()
        .map(|(name, value)| Row {
            name: name.clone(),
            value: display_value(value),
            meaning: explain::header(name).unwrap_or_default().to_owned(),
        })
        .collect();
    let claim_rows: Vec<Row> = claims
        .iter()
        .map(|(name, value)| Row {
            name: name.clone(),
            value: match value.as_i64() {
                Some(at) if TIME_CLAIMS.contains(&name.as_str()) => {
                    format!("{} ({})", time::utc(at), time::relative(name, at, now))
                }
                _ => display_value(value),
            },
            meaning: explain::claim(name, classification.kind)
                .unwrap_or_default()
                .to_owned(),
        })
        .collect();
    let mut out = String::new();
    out.push_str("Header\n");
    table(&mut out, ("member", "value", "meaning"), &header_rows);
    out.push_str("\nClaims\n");
    table(&mut out, ("claim", "value", "meaning"), &claim_rows);
    out.push('\n');
    out.push_str(&format!(
        "Kind: {} — {}\n",
        kind_name(classification.kind),
        classification.reason
    ));
    out.push_str("Signature: not verified (decode never verifies; use 'rolegate token check')\n");
    out
}

/// `access token`, `ID token` or `unknown`.
pub(super) fn kind_name(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::AccessToken => "access token",
        TokenKind::IdToken => "ID token",
        TokenKind::Unknown => "unknown",
    }
}

/// Strings as they are, everything else as compact JSON.
pub(super) fn display_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

struct Row {
    name: String,
    value: String,
    meaning: String,
}

/// Three left-aligned columns; over-long values push their meaning right
/// rather than being cut.
fn table(out: &mut String, titles: (&str, &str, &str), rows: &[Row]) {
    let name_width = rows
        .iter()
        .map(|r| r.name.chars().count())
        .chain([titles.0.len()])
        .max()
        .unwrap_or(0);
    let value_width = rows
        .iter()
        .map(|r| r.value.chars().count())
        .chain([titles.1.len()])
        .max()
        .unwrap_or(0)
        .min(MAX_VALUE_WIDTH);
    let mut line = |name: &str, value: &str, meaning: &str| {
        let text = format!("  {name:<name_width$}  {value:<value_width$}  {meaning}");
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(titles.0, titles.1, titles.2);
    for row in rows {
        line(&row.name, &row.value, &row.meaning);
    }
}

/// Claims holding NumericDate values (RFC 7519 §2).
const TIME_CLAIMS: [&str; 4] = ["auth_time", "exp", "iat", "nbf"];

/// Wider than the validator's limits: decoding is for looking at anything.
const DECODE_LIMITS: Limits = Limits {
    max_token_bytes: 256 * 1024,
    max_json_depth: 64,
};

/// Values longer than this overflow their column.
const MAX_VALUE_WIDTH: usize = 48;
