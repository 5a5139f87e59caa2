//! How commands end: outcomes, failures and their exit codes.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (`token check`: valid and authorized) |
//! | 1 | refused: invalid token, wrong token kind, not authorized, or the authority refused the request |
//! | 2 | could not check: usage error, authority unreachable, discovery or JWKS invalid |

use std::io::{self, Write};
use std::process::ExitCode;

/// The exit-code table shown at the end of `rolegate --help`.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success (token check: the token is valid and authorized)
  1  refused: invalid token, wrong token kind (e.g. an ID token), not authorized,
     or the authority refused the request
  2  could not check: usage error, authority unreachable, discovery or JWKS invalid";

/// The exit codes of `rolegate token check`.
pub const CHECK_EXIT_CODES: &str = "\
Exit codes:
  0  valid and authorized
  1  refused: invalid token, wrong token kind (e.g. an ID token), or not authorized
  2  could not check: usage error, authority unreachable, discovery or JWKS invalid";

/// The exit codes of `rolegate token decode`.
pub const DECODE_EXIT_CODES: &str = "\
Exit codes:
  0  decoded (the signature is NOT verified)
  1  the token is malformed (the message names the segment and why)
  2  usage error (e.g. no token given)";

/// The exit codes of `rolegate token get`.
pub const GET_EXIT_CODES: &str = "\
Exit codes:
  0  token obtained and printed
  1  the authority refused (its error and AADSTS code are printed) or the sign-in failed
  2  usage error, authority unreachable, discovery invalid, or no sign-in in time";

/// A command that ran to the end and reached a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The token could not be judged (keys unavailable): exit 2.
    Inconclusive,
    /// Success: exit 0.
    Passed,
    /// The token or request was refused: exit 1.
    Refused,
}

impl Outcome {
    /// The process exit code.
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Passed => ExitCode::SUCCESS,
            Outcome::Refused => ExitCode::from(1),
            Outcome::Inconclusive => ExitCode::from(2),
        }
    }
}

/// Why a command stopped without a verdict of its own.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Output(#[source] io::Error),
    /// The input (a token, an authority's answer) was refused: exit 1.
    #[error("{0}")]
    Refused(String),
    /// The authority could not be reached or answered nonsense: exit 2.
    #[error("{0}")]
    Unavailable(String),
    /// The arguments or local files are unusable: exit 2.
    #[error("{0}")]
    Usage(String),
}

impl Failure {
    /// The process exit code.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Refused(_) => ExitCode::from(1),
            Failure::Output(_) | Failure::Unavailable(_) | Failure::Usage(_) => ExitCode::from(2),
        }
    }
}

/// Writes `text` to standard output. A closed pipe (`| head`) is not an
/// error.
pub fn emit(text: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Failure::Output(e)),
        _ => Ok(()),
    }
}
