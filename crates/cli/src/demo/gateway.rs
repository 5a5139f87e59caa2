//! `rolegate demo --gateway`: the demo's Orders API behind `rolegate
//! gateway`, run in-process on a second (plain HTTP, loopback) port. The
//! routes mirror the API's own rules, so a proxy gives the same role
//! answers; the token is forwarded and the API still checks it too.

use std::net::SocketAddr;
use std::path::Path;

use rolegate_demo::api::{ADMIN_ROLE, READ_ROLE, SCOPE};
use rolegate_demo::tenant::{API, SINGLE, TENANT_ID};
use rolegate_gateway::{Config, Gateway, Running};

use crate::exit::Failure;

/// Starts the gateway on `127.0.0.1:port` in front of `{origin}/api`,
/// trusting the demo's local CA (`ca_path`) for the authority and for the
/// API's HTTPS.
pub async fn start(origin: &str, ca_path: &Path, port: u16) -> Result<Running, Failure> {
    let text = config_text(origin, ca_path, SocketAddr::from(([127, 0, 0, 1], port)))?;
    let config = Config::parse(&text, Path::new(".")).map_err(|e| {
        Failure::Usage(format!(
            "the demo's gateway configuration is invalid: {}",
            e.problems.join("; ")
        ))
    })?;
    Gateway::new(config).start().await.map_err(|e| {
        Failure::Usage(format!(
            "the gateway cannot listen on 127.0.0.1:{port}: {e} (choose another with \
             --gateway-port)"
        ))
    })
}

/// The configuration, as an operator would write it (see
/// `docs/gateway.md`).
fn config_text(origin: &str, ca_path: &Path, listen: SocketAddr) -> Result<String, Failure> {
    let ca = ca_path.to_str().ok_or_else(|| {
        Failure::Usage(format!(
            "the local CA's path {} is not UTF-8",
            ca_path.display()
        ))
    })?;
    // A JSON string is a valid TOML basic string.
    let ca = serde_json::Value::from(ca).to_string();
    Ok(format!(
        r#"
listen = "{listen}"
upstream = "{origin}/api"

[auth]
authority = "{origin}/{TENANT_ID}"
audiences = ["{API}", "{SINGLE}"]
ca_file = {ca}
# The API checks the token again (and shows who called).
forward_token = true
token_version = 2

[[routes]]
path = "/me"
methods = ["GET"]

# Users: the access_as_user scope; daemons: an application permission.
# The API also wants one of the two roles from users (carol gets its 403).
[[routes]]
path = "/orders"
methods = ["GET"]
roles_any = ["{READ_ROLE}", "{ADMIN_ROLE}"]
scopes_any = ["{SCOPE}"]

[[routes]]
path = "/orders"
methods = ["POST"]
roles_any = ["{ADMIN_ROLE}"]

[[routes]]
path = "/orders/{{id}}"
methods = ["DELETE"]
roles_any = ["{ADMIN_ROLE}"]
"#
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_is_valid() {
        let text = config_text(
            "https://localhost:8443",
            Path::new("/tmp/a \"quoted\" dir/ca.pem"),
            SocketAddr::from(([127, 0, 0, 1], 8080)),
        )
        .unwrap();
        // Only the CA file is missing (and, on a system without CA
        // certificates, the https upstream then has none).
        let problems = Config::parse(&text, Path::new(".")).unwrap_err().problems;
        assert!(
            problems
                .iter()
                .all(|p| p.starts_with("auth.ca_file") || p.starts_with("https upstreams")),
            "{problems:?}"
        );
        assert!(text.contains(r#"ca_file = "/tmp/a \"quoted\" dir/ca.pem""#));
    }
}
