//! `rolegate token`: decode, check and obtain access tokens.

mod assertion;
mod check;
mod decode;
mod get;
mod loopback;

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Subcommand;
use rolegate_token::clock::Clock;

use crate::exit::{CHECK_EXIT_CODES, DECODE_EXIT_CODES, Failure, GET_EXIT_CODES, Outcome};

/// The `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Validate a token as an API would (signature, issuer, tenant,
    /// audience, lifetime, token kind) and check roles and scopes, listing
    /// every problem with a fix.
    #[command(after_help = CHECK_EXIT_CODES)]
    Check(check::CheckArgs),
    /// Show a token's header and claims, explained. Does NOT verify the
    /// signature.
    #[command(after_help = DECODE_EXIT_CODES)]
    Decode(decode::DecodeArgs),
    /// Obtain a token from an authority: client credentials, device code,
    /// or (default) interactive sign-in with authorization code + PKCE.
    #[command(after_help = GET_EXIT_CODES)]
    Get(get::GetArgs),
}

/// Runs a `token` subcommand.
pub fn run(command: TokenCommand, clock: Arc<dyn Clock>) -> Result<Outcome, Failure> {
    match command {
        TokenCommand::Check(args) => runtime()?.block_on(check::run(args, clock)),
        TokenCommand::Decode(args) => decode::run(&args, clock.now()),
        TokenCommand::Get(args) => runtime()?.block_on(get::run(args, clock)),
    }
}

/// The token from the argument, or from standard input when the argument is
/// `-` or absent; surrounding whitespace is trimmed.
fn read_token(argument: Option<&str>) -> Result<String, Failure> {
    let text = match argument {
        // A file holding the token (a token itself always has two dots and
        // never names an existing file).
        Some(path) if path.matches('.').count() != 2 && std::path::Path::new(path).is_file() => {
            std::fs::read_to_string(path)
                .map_err(|e| Failure::Usage(format!("cannot read the token file {path}: {e}")))?
        }
        Some(token) if token != "-" => token.to_owned(),
        _ => {
            let mut stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprintln!("reading the token from standard input (paste it, then press Ctrl-D)");
            }
            let mut text = String::new();
            stdin.read_to_string(&mut text).map_err(|e| {
                Failure::Usage(format!("cannot read the token from standard input: {e}"))
            })?;
            text
        }
    };
    let token = text.trim();
    if token.is_empty() {
        return Err(Failure::Usage(
            "no token: pass it as an argument, or on standard input with '-'".to_owned(),
        ));
    }
    Ok(token.to_owned())
}

/// Reads a PEM file of extra trusted root certificates (`--ca-file`) and
/// checks that it holds at least one certificate.
fn read_ca_file(path: Option<&Path>) -> Result<Option<Vec<u8>>, Failure> {
    let Some(path) = path else {
        return Ok(None);
    };
    let pem = std::fs::read(path)
        .map_err(|e| Failure::Usage(format!("cannot read the CA file {}: {e}", path.display())))?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certificates) if !certificates.is_empty() => Ok(Some(pem)),
        Ok(_) => Err(Failure::Usage(format!(
            "the CA file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ))),
        Err(e) => Err(Failure::Usage(format!(
            "the CA file {} is not valid PEM: {e}",
            path.display()
        ))),
    }
}

/// A single-threaded runtime: every command is one short conversation.
fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("cannot start the async runtime: {e}")))
}

/// Options shared by the commands that talk to an authority.
#[derive(Debug, Clone, clap::Args)]
struct AuthorityArgs {
    /// The authority: `https://login.microsoftonline.com/<tenant>` for
    /// Entra, or the local identity provider's `https://localhost:8443/<tenant>`.
    /// Plain http is accepted only for loopback addresses.
    #[arg(long, value_name = "URL")]
    authority: String,

    /// Also trust the root certificates in this PEM file (e.g. the local
    /// identity provider's CA).
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
}
