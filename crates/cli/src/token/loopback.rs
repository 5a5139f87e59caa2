//! The loopback redirect receiver of the interactive sign-in (RFC 8252
//! §7.3): a tiny HTTP server on `127.0.0.1` that waits for the browser to
//! arrive at `http://localhost:<port>/?code=…&state=…`.
//!
//! Each connection is handled on its own task, so idle connections that
//! browsers open speculatively cannot hold up the one carrying the code.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// What the browser brought back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// An authorization code with the expected `state`.
    Code(String),
    /// The authority's error (RFC 6749 §4.1.2.1).
    Error {
        /// `error`.
        error: String,
        /// `error_description`, when present.
        description: Option<String>,
    },
    /// A redirect whose `state` is not the one sent: a forged or stale
    /// request (RFC 6749 §10.12).
    StateMismatch,
}

/// A listening receiver. Dropping it stops the server.
pub struct Receiver {
    port: u16,
    results: mpsc::Receiver<Callback>,
    acceptor: JoinHandle<()>,
}

impl Receiver {
    /// Listens on `127.0.0.1:<port>` (0: a port the OS picks), expecting
    /// redirects that carry `state`.
    pub async fn bind(port: u16, state: String) -> std::io::Result<Receiver> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        let (sender, results) = mpsc::channel(4);
        let state: Arc<str> = state.into();
        let acceptor = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(handle(stream, Arc::clone(&state), sender.clone()));
            }
        });
        Ok(Receiver {
            port,
            results,
            acceptor,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The next redirect that carries a code, an error or a wrong state.
    pub async fn next(&mut self) -> Option<Callback> {
        self.results.recv().await
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

/// Reads one request, answers it, and reports what it carried.
async fn handle(mut stream: TcpStream, state: Arc<str>, sender: mpsc::Sender<Callback>) {
    let Ok(Some(target)) = tokio::time::timeout(READ_TIMEOUT, request_target(&mut stream)).await
    else {
        return;
    };
    let callback = parse(&target, &state);
    let (status, body) = match &callback {
        Some(Callback::Code(_)) => ("200 OK", SIGNED_IN_PAGE),
        Some(Callback::Error { .. }) => ("200 OK", FAILED_PAGE),
        Some(Callback::StateMismatch) => ("400 Bad Request", MISMATCH_PAGE),
        None => ("404 Not Found", NOT_FOUND_PAGE),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    // The browser may have gone; the result still counts.
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
    if let Some(callback) = callback {
        let _ = sender.send(callback).await;
    }
}

/// The request target of a `GET` request (`/?code=…`), or `None` for
/// anything else.
async fn request_target(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST_BYTES {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(chunk.get(..read)?);
    }
    let head = String::from_utf8_lossy(&head);
    let mut request_line = head.lines().next()?.split(' ');
    match (request_line.next(), request_line.next()) {
        (Some("GET"), Some(target)) => Some(target.to_owned()),
        _ => None,
    }
}

/// Reads the redirect's query; `None` when it is not a redirect at all
/// (e.g. `/favicon.ico`).
fn parse(target: &str, expected_state: &str) -> Option<Callback> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != "/" {
        return None;
    }
    let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    if !params.contains_key("code") && !params.contains_key("error") {
        return None;
    }
    if params.get("state").map(String::as_str) != Some(expected_state) {
        return Some(Callback::StateMismatch);
    }
    match (params.get("error"), params.get("code")) {
        (Some(error), _) => Some(Callback::Error {
            error: error.clone(),
            description: params.get("error_description").cloned(),
        }),
        (None, Some(code)) => Some(Callback::Code(code.clone())),
        (None, None) => None,
    }
}

/// How long one connection may take to send its request line.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest request head read.
const MAX_REQUEST_BYTES: usize = 16 * 1024;

const SIGNED_IN_PAGE: &str = "<!doctype html><title>rolegate: signed in</title><p>Signed in. You can close this tab and return to the terminal.</p>";
const FAILED_PAGE: &str = "<!doctype html><title>rolegate: sign-in failed</title><p>Sign-in failed. The terminal shows why.</p>";
const MISMATCH_PAGE: &str = "<!doctype html><title>rolegate: unexpected redirect</title><p>This redirect does not belong to the sign-in rolegate started (state mismatch).</p>";
const NOT_FOUND_PAGE: &str = "<!doctype html><title>rolegate</title><p>Not found.</p>";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_redirects() {
        assert_eq!(
            parse("/?code=abc&state=s1&session_state=x", "s1"),
            Some(Callback::Code("abc".to_owned()))
        );
        assert_eq!(
            parse("/?code=abc&state=s2", "s1"),
            Some(Callback::StateMismatch)
        );
        assert_eq!(parse("/?code=abc", "s1"), Some(Callback::StateMismatch));
        assert_eq!(
            parse(
                "/?error=access_denied&error_description=AADSTS65004%3A+declined&state=s1",
                "s1"
            ),
            Some(Callback::Error {
                error: "access_denied".to_owned(),
                description: Some("AADSTS65004: declined".to_owned()),
            })
        );
        assert_eq!(parse("/favicon.ico", "s1"), None);
        assert_eq!(parse("/", "s1"), None);
    }
}
