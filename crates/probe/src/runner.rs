//! The one runner: sends each planned check and classifies the answer.
//!
//! A 2xx for a token that must be refused is vulnerable, 401/403 is a pass,
//! anything else (a redirect, a 404, a 500, no answer) is inconclusive,
//! with the status.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, WWW_AUTHENTICATE};
use url::Url;

use crate::bait::Bait;
use crate::catalogue::{CheckId, Expected};
use crate::recipe::{Credential, Planned};
use crate::report::{CheckResult, Verdict};
use crate::{ProbeConfig, ProbeError};

/// Sends requests to the endpoint under test.
pub(crate) struct Runner {
    client: reqwest::Client,
    url: Url,
    method: reqwest::Method,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
}

/// What one request got.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    /// The status.
    pub status: u16,
    /// `WWW-Authenticate`, if any.
    pub challenge: Option<String>,
}

impl Runner {
    /// A runner for `config`, trusting the provider's local CA as well as
    /// the system's roots.
    pub(crate) fn new(config: &ProbeConfig, ca_pem: Option<&[u8]>) -> Result<Runner, ProbeError> {
        let mut builder = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("rolegate-probe/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = ca_pem
            && let Ok(certs) = reqwest::Certificate::from_pem_bundle(pem)
        {
            builder = builder.tls_certs_merge(certs);
        }
        let client = builder
            .build()
            .map_err(|e| ProbeError::Client(error_chain(&e)))?;
        let method = reqwest::Method::from_bytes(config.method.as_bytes()).map_err(|_| {
            ProbeError::Usage(format!(
                "--method {:?} is not an HTTP method",
                config.method
            ))
        })?;
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            let bad =
                || ProbeError::Usage(format!("--header '{name}: {value}' is not a valid header"));
            let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?;
            let value = HeaderValue::from_str(value.trim()).map_err(|_| bad())?;
            if name != AUTHORIZATION {
                headers.append(name, value);
            }
        }
        Ok(Runner {
            client,
            url: config.url.clone(),
            method,
            headers,
            body: config.body.clone(),
        })
    }

    /// Sends one request carrying `credential`.
    pub(crate) async fn send(&self, credential: &Credential) -> Result<Answer, String> {
        let mut url = self.url.clone();
        let mut headers = self.headers.clone();
        match credential {
            Credential::Nothing => {}
            Credential::Header { scheme, token } => {
                let value = HeaderValue::from_str(&format!("{scheme} {token}"))
                    .map_err(|e| format!("cannot build the header: {e}"))?;
                headers.insert(AUTHORIZATION, value);
            }
            Credential::Query(token) => {
                url.query_pairs_mut().append_pair("access_token", token);
            }
        }
        let mut request = self
            .client
            .request(self.method.clone(), url)
            .headers(headers);
        if let Some(body) = &self.body {
            request = request.body(body.clone());
        }
        let response = request.send().await.map_err(|e| error_chain(&e))?;
        Ok(Answer {
            status: response.status().as_u16(),
            challenge: response
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        })
    }

    /// Sends every attempt of `check` and classifies the answers.
    pub(crate) async fn run(&self, check: &Planned, bait: &Bait) -> CheckResult {
        let expected = check.id.expected();
        let mut answers = Vec::new();
        for attempt in &check.attempts {
            answers.push((attempt.label, self.send(&attempt.credential).await));
        }
        let (status, verdict, mut note) = classify(check.id, expected, &answers);
        let fetched = match check.id {
            CheckId::JkuInjection => Some((bait.jku_hits(), &bait.jku_url)),
            CheckId::X5uInjection => Some((bait.x5u_hits(), &bait.x5u_url)),
            _ => None,
        };
        if let Some((hits, url)) = fetched {
            let fetch = if hits > 0 {
                format!(
                    "the API fetched {url} ({hits}x): it follows URLs from token headers (SSRF)"
                )
            } else {
                "the API did not fetch the URL".to_owned()
            };
            note = Some(match note {
                Some(n) => format!("{n}; {fetch}"),
                None => fetch,
            });
        }
        CheckResult {
            id: check.id,
            sent: check.sent.clone(),
            expected,
            status,
            verdict,
            note,
        }
    }
}

/// The verdict over a check's answers: any 2xx is vulnerable (or, for an
/// expected acceptance, a pass), all 401/403 pass, otherwise inconclusive.
fn classify(
    id: CheckId,
    expected: Expected,
    answers: &[(&'static str, Result<Answer, String>)],
) -> (Option<u16>, Verdict, Option<String>) {
    let success = |a: &Answer| (200..300).contains(&a.status);
    let refusal = |a: &Answer| a.status == 401 || a.status == 403;
    let accepted = answers.iter().find_map(|(label, a)| match a {
        Ok(a) if success(a) => Some((*label, a)),
        _ => None,
    });
    let odd = answers
        .iter()
        .find(|(_, a)| !matches!(a, Ok(a) if refusal(a) || success(a)));
    let first = answers.first().and_then(|(_, a)| a.as_ref().ok());
    if expected == Expected::Accepted {
        return match (accepted, first) {
            (Some((_, a)), _) => (Some(a.status), Verdict::Pass, None),
            (None, Some(a)) if refusal(a) => (
                Some(a.status),
                Verdict::Pass,
                Some("refused; clients that send `bearer` fail (RFC 9110 §11.1: the scheme is case-insensitive)".to_owned()),
            ),
            _ => inconclusive(odd),
        };
    }
    if let Some((label, a)) = accepted {
        let note = (answers.len() > 1 && !label.is_empty()).then(|| format!("accepted: {label}"));
        return (Some(a.status), Verdict::Vulnerable, note);
    }
    if odd.is_some() {
        return inconclusive(odd);
    }
    let Some(first) = first else {
        return inconclusive(odd);
    };
    let note = match id {
        CheckId::NoToken
            if !first
                .challenge
                .as_deref()
                .is_some_and(|c| c.trim_start().to_ascii_lowercase().starts_with("bearer")) =>
        {
            Some("no `WWW-Authenticate: Bearer` challenge (RFC 6750 §3)".to_owned())
        }
        CheckId::MissingRole if first.status == 401 => {
            Some("401 rather than 403 insufficient_scope (RFC 6750 §3.1)".to_owned())
        }
        _ => None,
    };
    (Some(first.status), Verdict::Pass, note)
}

fn inconclusive(
    odd: Option<&(&'static str, Result<Answer, String>)>,
) -> (Option<u16>, Verdict, Option<String>) {
    match odd {
        Some((_, Ok(a))) => (
            Some(a.status),
            Verdict::Inconclusive,
            Some(format!(
                "HTTP {}: neither accepted nor refused with 401/403",
                a.status
            )),
        ),
        Some((_, Err(e))) => (None, Verdict::Inconclusive, Some(format!("no answer: {e}"))),
        None => (None, Verdict::Inconclusive, None),
    }
}

/// An error and its causes, on one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Per-request timeout.
const TIMEOUT: Duration = Duration::from_secs(10);
