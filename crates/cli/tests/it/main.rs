//! Integration tests: the built `rolegate` binary against loopback
//! authorities.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod check;
mod decode;
mod demo_gateway;
mod gateway;
mod get;
mod idp;
mod probe;
mod replicas;
mod store;

use std::process::{Output, Stdio};

use serde_json::Value;
use tokio::io::AsyncWriteExt;

/// The tenant of every test authority.
pub const TENANT_ID: &str = "8e6f3c2a-4b1d-4c8e-9f7a-2d3b4c5d6e7f";
/// The protected API's client id.
pub const API: &str = "b7c1d2e3-4f5a-4b6c-8d7e-9f0a1b2c3d4e";
/// The calling client's id.
pub const CLIENT: &str = "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f";

/// Runs the binary with `args`, feeding `stdin` when given (else an empty,
/// closed standard input).
pub async fn rolegate(args: &[&str], stdin: Option<&str>) -> Output {
    rolegate_env(args, stdin, &[]).await
}

/// [`rolegate`] with extra environment variables.
pub async fn rolegate_env(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_rolegate"))
        .args(args)
        .env_remove("ROLEGATE_CLIENT_SECRET")
        .env_remove("ROLEGATE_STORE")
        .env_remove("ROLEGATE_KEK")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn rolegate");
    let mut input = child.stdin.take().expect("stdin is piped");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).await.expect("write stdin");
    }
    drop(input);
    child.wait_with_output().await.expect("rolegate runs")
}

/// The exit code.
pub fn code(output: &Output) -> i32 {
    output.status.code().expect("exited normally")
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8 stdout")
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("utf-8 stderr")
}

/// Standard output parsed as one JSON value.
pub fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(output),
            stderr(output)
        )
    })
}

/// The `code` of each entry of `errors`.
pub fn error_codes(report: &Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .expect("errors is an array")
        .iter()
        .map(|e| e["code"].as_str().expect("code is a string").to_owned())
        .collect()
}

/// Runs the binary synchronously (no authority needed), feeding `stdin`.
pub fn rolegate_blocking(args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write as _;

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rolegate"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rolegate");
    let mut input = child.stdin.take().expect("stdin is piped");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(input);
    child.wait_with_output().expect("rolegate runs")
}
