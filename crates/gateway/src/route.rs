//! Routes and route matching. No I/O.
//!
//! A pattern is a list of segments: exact text, `{name}` for any one
//! segment, and an optional `/*` suffix that matches the prefix itself and
//! anything below it. Routes are tried in file order; the first whose path
//! and method match decides.
//!
//! ```
//! use rolegate_gateway::route::PathPattern;
//!
//! let pattern = PathPattern::parse("/orders/{id}").unwrap();
//! assert!(pattern.matches("/orders/42"));
//! assert!(!pattern.matches("/orders/42/lines"));
//! let prefix = PathPattern::parse("/static/*").unwrap();
//! assert!(prefix.matches("/static") && prefix.matches("/static/css/site.css"));
//! ```
//!
//! # Security
//! Paths are matched as the client sent them (percent-encoded), and
//! [`check_path`] refuses those an upstream might read differently: `.` and
//! `..` segments, empty segments (`//`), and percent-encoded `/`, `\` or
//! `.`. Without it, `/public/../admin` would match a `/public/*` route and
//! reach the upstream's `/admin`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::Method;
use rolegate_token::requirement::Requirement;

use crate::upstream::Upstream;

/// A route: which requests it covers and what they need.
#[derive(Debug, Clone)]
pub struct Route {
    /// The path pattern.
    pub pattern: PathPattern,
    /// Methods covered; `None`: all.
    pub methods: Option<Vec<Method>>,
    /// What the caller must hold; `None`: any valid token (or none, when
    /// anonymous).
    pub requirement: Option<Requirement>,
    /// Whether requests without a token are forwarded.
    pub anonymous: bool,
    /// Where allowed requests go.
    pub upstream: Arc<Upstream>,
    /// How long to wait for the upstream's response headers.
    pub timeout: Duration,
}

impl Route {
    /// Whether this route covers `method` on `path`.
    pub fn matches(&self, method: &Method, path: &str) -> bool {
        self.methods.as_ref().is_none_or(|m| m.contains(method)) && self.pattern.matches(path)
    }
}

/// The first route in `routes` that covers `method` on `path`.
pub fn find<'a>(routes: &'a [Route], method: &Method, path: &str) -> Option<&'a Route> {
    routes.iter().find(|route| route.matches(method, path))
}

/// A parsed path pattern. `Display` gives it back as written (the
/// `route` label of the metrics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    text: Arc<str>,
    segments: Vec<Segment>,
    prefix: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Exact(String),
    Parameter,
}

impl PathPattern {
    /// Parses `/a/{b}/c` or `/a/*`; the error says what is wrong.
    pub fn parse(text: &str) -> Result<PathPattern, String> {
        let Some(rest) = text.strip_prefix('/') else {
            return Err(format!("{text:?} must start with '/'"));
        };
        let (rest, prefix) = match rest.strip_suffix('*') {
            Some(before) if before.is_empty() || before.ends_with('/') => {
                (before.strip_suffix('/').unwrap_or(before), true)
            }
            Some(_) => return Err(format!("{text:?}: '*' is allowed only as a final '/*'")),
            None => (rest, false),
        };
        let mut segments = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        if !rest.is_empty() {
            for part in rest.split('/') {
                segments.push(segment(text, part, &mut names)?);
            }
        }
        Ok(PathPattern {
            text: Arc::from(text),
            segments,
            prefix,
        })
    }

    /// Whether `path` (without query) matches.
    pub fn matches(&self, path: &str) -> bool {
        let Some(rest) = path.strip_prefix('/') else {
            return false;
        };
        // "/" is the empty path: no segments.
        let mut parts = (!rest.is_empty())
            .then(|| rest.split('/'))
            .into_iter()
            .flatten();
        for segment in &self.segments {
            let matched = match (segment, parts.next()) {
                (_, None) => false,
                (Segment::Exact(text), Some(part)) => text == part,
                (Segment::Parameter, Some(part)) => !part.is_empty(),
            };
            if !matched {
                return false;
            }
        }
        self.prefix || parts.next().is_none()
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The pattern as a shared string (for metric labels).
    pub fn shared(&self) -> Arc<str> {
        Arc::clone(&self.text)
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Refuses request paths that an upstream may resolve to another route
/// (see the module's Security section). `Err` says why.
pub fn check_path(path: &str) -> Result<(), &'static str> {
    if !path.starts_with('/') {
        return Err("the request path must start with '/'");
    }
    // Allocation-free: one pass for escapes and backslashes, one over the
    // segments.
    let bytes = path.as_bytes();
    let encoded = bytes.iter().enumerate().any(|(i, b)| match b {
        b'\\' => true,
        b'%' => matches!(
            (
                bytes.get(i + 1),
                bytes.get(i + 2).map(u8::to_ascii_lowercase)
            ),
            (Some(b'2'), Some(b'f' | b'e')) | (Some(b'5'), Some(b'c'))
        ),
        _ => false,
    });
    if encoded {
        return Err("the request path contains an encoded '/', '.' or a backslash");
    }
    let inner = path.get(1..).unwrap_or_default();
    let mut segments = inner.split('/').peekable();
    while let Some(segment) = segments.next() {
        if segment == "." || segment == ".." {
            return Err("the request path contains a '.' or '..' segment");
        }
        if segment.is_empty() && segments.peek().is_some() {
            return Err("the request path contains an empty segment ('//')");
        }
    }
    Ok(())
}

fn segment<'a>(text: &str, part: &'a str, names: &mut Vec<&'a str>) -> Result<Segment, String> {
    if part.is_empty() {
        return Err(format!("{text:?} has an empty segment"));
    }
    if let Some(inner) = part.strip_prefix('{') {
        let Some(name) = inner.strip_suffix('}') else {
            return Err(format!(
                "{text:?}: segment {part:?} must be exactly {{name}}"
            ));
        };
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid {
            return Err(format!(
                "{text:?}: {{{name}}} must be a name of letters, digits, '_' or '-'"
            ));
        }
        if names.contains(&name) {
            return Err(format!("{text:?}: {{{name}}} appears twice"));
        }
        names.push(name);
        return Ok(Segment::Parameter);
    }
    if part.contains(['{', '}', '*']) {
        return Err(format!(
            "{text:?}: segment {part:?} mixes text with '{{', '}}' or '*'"
        ));
    }
    if part == "." || part == ".." {
        return Err(format!("{text:?}: '.' and '..' segments never match"));
    }
    Ok(Segment::Exact(part.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_parameter_and_prefix() {
        let p = PathPattern::parse("/orders").unwrap();
        assert!(p.matches("/orders"));
        assert!(!p.matches("/orders/1") && !p.matches("/order") && !p.matches("/orders/"));
        let p = PathPattern::parse("/orders/{id}/lines").unwrap();
        assert!(p.matches("/orders/7/lines"));
        assert!(!p.matches("/orders//lines") && !p.matches("/orders/7"));
        let p = PathPattern::parse("/api/*").unwrap();
        assert!(p.matches("/api") && p.matches("/api/") && p.matches("/api/a/b"));
        assert!(!p.matches("/apix") && !p.matches("/"));
        let all = PathPattern::parse("/*").unwrap();
        assert!(all.matches("/") && all.matches("/anything/at/all"));
        let root = PathPattern::parse("/").unwrap();
        assert!(root.matches("/") && !root.matches("/a"));
    }

    #[test]
    fn refuses_bad_patterns() {
        for bad in [
            "orders", "/a/*b", "/a*", "/{", "/{}", "/{a}/{a}", "/a//b", "/x{y}", "/a/../b",
            "/{a b}",
        ] {
            assert!(PathPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_ambiguous_request_paths() {
        for bad in [
            "/a/../b",
            "/a/./b",
            "/a//b",
            "/a/%2e%2e/b",
            "/a%2Fb",
            "/a\\b",
            "/..",
        ] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
        for bad in [
            "/a%2fb",
            "/a%5Cb",
            "/a%2E%2E/b",
            "/a%5c",
            "//",
            "/a/.",
            "/a/..",
        ] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
        for good in [
            "/", "/a", "/a/", "/a/b.c", "/a/%20b", "/a%2", "/a%", "/a/%3Fb", "/.a/b..",
        ] {
            assert!(check_path(good).is_ok(), "{good}");
        }
    }
}
