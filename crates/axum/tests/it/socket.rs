//! End to end over real sockets: the testkit issuer serves discovery and
//! keys, the API is served with `axum::serve`, the client speaks raw HTTP/1.1.

use rolegate_axum::AuthLayer;
use rolegate_testkit::claims::USER_OID;
use rolegate_testkit::{IssuerServer, SigningKey, claims};
use rolegate_token::{Validator, ValidatorConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

#[tokio::test]
async fn served_api_validates_against_a_live_issuer() {
    let key = SigningKey::rsa_2048();
    let issuer = IssuerServer::start(TENANT, &[&key]).await;
    let validator =
        Validator::new(ValidatorConfig::entra(TENANT, API).authority(issuer.authority())).unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, app(AuthLayer::new(validator)))
            .await
            .unwrap();
    });

    let token = key.sign(&claims::access_v2(
        &issuer.tenant(),
        API,
        CLIENT,
        "access_as_user",
        &[],
    ));
    let ok = http_get(address, Some(&token)).await;
    assert!(ok.starts_with("HTTP/1.1 200 "), "{ok}");
    assert!(ok.ends_with(&format!("oid={USER_OID}")), "{ok}");

    let refused = http_get(address, None).await;
    assert!(refused.starts_with("HTTP/1.1 401 "), "{refused}");
    assert!(
        refused
            .to_ascii_lowercase()
            .contains("\r\nwww-authenticate: bearer\r\n"),
        "{refused}"
    );
    assert_eq!(issuer.jwks_fetches(), 1);
    server.abort();
}

async fn http_get(address: std::net::SocketAddr, token: Option<&str>) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let authorization =
        token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    let request =
        format!("GET /me HTTP/1.1\r\nHost: {address}\r\n{authorization}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}
