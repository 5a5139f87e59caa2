use std::future::poll_fn;

use http::Request;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream, duplex};

use super::*;

/// A connection whose upstream answers `response` (written in pieces of
/// `piece` bytes) to whatever it is sent, then stays open (or closes with
/// `close`).
async fn exchange_with(
    response: &[u8],
    piece: usize,
    close: bool,
    method: Method,
) -> (
    Connection<DuplexStream>,
    Result<(Response<()>, BodyReader), ExchangeError>,
    tokio::task::JoinHandle<DuplexStream>,
) {
    let (client, mut server) = duplex(1 << 20);
    let response = response.to_vec();
    let upstream = tokio::spawn(async move {
        let mut request = Vec::new();
        let mut byte = [0u8; 1];
        while !request.ends_with(b"\r\n\r\n") {
            if server.read(&mut byte).await.unwrap_or(0) == 0 {
                return server;
            }
            request.push(byte[0]);
        }
        for chunk in response.chunks(piece.max(1)) {
            server.write_all(chunk).await.unwrap();
            tokio::task::yield_now().await;
        }
        if close {
            server.shutdown().await.unwrap();
        }
        server
    });
    let mut conn = Connection::new(client);
    let head = b"GET / HTTP/1.1\r\nhost: upstream\r\n\r\n";
    let result = conn.exchange(head, &method).await;
    (conn, result, upstream)
}

/// The whole body and trailers, or the first error.
async fn body(
    conn: &mut Connection<DuplexStream>,
    reader: &mut BodyReader,
) -> io::Result<(Vec<u8>, Option<HeaderMap>)> {
    let mut data = Vec::new();
    let mut trailers = None;
    while let Some(frame) = poll_fn(|cx| conn.poll_body(cx, reader)).await {
        let frame = frame?;
        match frame.into_data() {
            Ok(bytes) => data.extend_from_slice(&bytes),
            Err(frame) => trailers = frame.into_trailers().ok(),
        }
    }
    Ok((data, trailers))
}

async fn ok(response: &[u8], piece: usize) -> (Response<()>, Vec<u8>, Option<HeaderMap>, bool) {
    let (mut conn, result, _upstream) = exchange_with(response, piece, false, Method::GET).await;
    let (head, mut reader) = result.unwrap();
    let (data, trailers) = body(&mut conn, &mut reader).await.unwrap();
    assert!(reader.is_end());
    let reusable = reader.keep_alive() && conn.is_reusable();
    (head, data, trailers, reusable)
}

async fn refused(response: &[u8]) -> String {
    let (_conn, result, _upstream) = exchange_with(response, 4096, true, Method::GET).await;
    match result {
        Err(ExchangeError::Invalid(reason)) => reason,
        other => panic!("expected an invalid response, got {other:?}"),
    }
}

async fn body_error(response: &[u8]) -> io::Error {
    let (mut conn, result, _upstream) = exchange_with(response, 4096, true, Method::GET).await;
    let (_, mut reader) = result.unwrap();
    body(&mut conn, &mut reader).await.unwrap_err()
}

#[test]
fn encodes_the_request_head_with_the_extra_headers_last() {
    let request = Request::get("http://ignored.example/orders/1?x=1&y=%20")
        .header("accept", "application/json")
        .header("x-multi", "a")
        .body(())
        .unwrap();
    let (mut parts, ()) = request.into_parts();
    parts
        .headers
        .append("x-multi", HeaderValue::from_static("b"));
    let name = HeaderName::from_static("x-request-id");
    let value = HeaderValue::from_static("abc");
    let head = encode_request(&parts, std::iter::once((&name, &value)));
    assert_eq!(
        String::from_utf8(head).unwrap(),
        "GET /orders/1?x=1&y=%20 HTTP/1.1\r\naccept: application/json\r\nx-multi: a\r\nx-multi: b\r\nx-request-id: abc\r\n\r\n"
    );
    let (parts, ()) = Request::delete("http://u.example")
        .body(())
        .unwrap()
        .into_parts();
    assert!(encode_request(&parts, std::iter::empty()).starts_with(b"DELETE / HTTP/1.1\r\n"));
}

#[test]
fn only_requests_without_a_body_take_this_path() {
    let mut headers = HeaderMap::new();
    assert!(is_bodiless(&headers, true));
    assert!(!is_bodiless(&headers, false));
    headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    assert!(is_bodiless(&headers, true));
    headers.insert(CONTENT_LENGTH, HeaderValue::from_static("5"));
    assert!(!is_bodiless(&headers, true));
    headers.remove(CONTENT_LENGTH);
    headers.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
    assert!(!is_bodiless(&headers, true));
}

#[tokio::test]
async fn content_length_bodies_leave_the_connection_reusable() {
    let response = b"HTTP/1.1 201 Created\r\ncontent-type: text/plain\r\ncontent-length: 5\r\nx-a: 1\r\nx-a: 2\r\n\r\nhello";
    for piece in [1, 3, 4096] {
        let (head, data, trailers, reusable) = ok(response, piece).await;
        assert_eq!(head.status(), StatusCode::CREATED);
        assert_eq!(head.version(), Version::HTTP_11);
        assert_eq!(head.headers()["content-type"], "text/plain");
        let all: Vec<_> = head.headers().get_all("x-a").iter().collect();
        assert_eq!(all, ["1", "2"]);
        assert_eq!(data, b"hello");
        assert!(trailers.is_none());
        assert!(reusable, "piece {piece}");
    }
    // Equal repeated lengths are one length.
    let (_, data, _, _) = ok(
        b"HTTP/1.1 200 OK\r\ncontent-length: 2, 2\r\ncontent-length: 2\r\n\r\nok",
        4096,
    )
    .await;
    assert_eq!(data, b"ok");
}

#[tokio::test]
async fn chunked_bodies_with_extensions_and_trailers() {
    let response = b"HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n5;name=value\r\nhello\r\n6 ; x\r\n world\r\n00\r\nx-checksum: abc\r\nx-other: 1\r\n\r\n";
    for piece in [1, 2, 7, 4096] {
        let (_, data, trailers, reusable) = ok(response, piece).await;
        assert_eq!(data, b"hello world", "piece {piece}");
        let trailers = trailers.unwrap();
        assert_eq!(trailers["x-checksum"], "abc");
        assert_eq!(trailers.len(), 2);
        assert!(reusable);
    }
    let (_, data, trailers, reusable) = ok(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\n",
        4096,
    )
    .await;
    assert_eq!(data, b"0123456789");
    assert!(trailers.is_none());
    assert!(reusable);
}

#[tokio::test]
async fn bodies_without_a_length_run_to_the_close() {
    let (mut conn, result, _upstream) = exchange_with(
        b"HTTP/1.1 200 OK\r\n\r\nuntil the end",
        3,
        true,
        Method::GET,
    )
    .await;
    let (_, mut reader) = result.unwrap();
    assert!(!reader.keep_alive());
    let (data, _) = body(&mut conn, &mut reader).await.unwrap();
    assert_eq!(data, b"until the end");
}

#[tokio::test]
async fn answers_without_a_body() {
    for response in [
        &b"HTTP/1.1 204 No Content\r\n\r\n"[..],
        b"HTTP/1.1 304 Not Modified\r\ncontent-length: 10\r\n\r\n",
    ] {
        let (_, data, _, reusable) = ok(response, 4096).await;
        assert!(data.is_empty());
        assert!(reusable);
    }
    let (mut conn, result, _upstream) = exchange_with(
        b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\ntransfer-encoding: chunked\r\n\r\n",
        4096,
        false,
        Method::HEAD,
    )
    .await;
    // After HEAD the framing headers describe a body that is not sent.
    let (head, mut reader) = result.unwrap();
    assert_eq!(head.headers()["content-length"], "10");
    assert!(reader.is_end());
    assert!(body(&mut conn, &mut reader).await.unwrap().0.is_empty());
    assert!(conn.is_reusable());
}

#[tokio::test]
async fn interim_answers_are_skipped_but_bounded() {
    let (head, data, _, _) = ok(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nx",
        5,
    )
    .await;
    assert_eq!(head.status(), StatusCode::OK);
    assert!(!head.headers().contains_key("link"));
    assert_eq!(data, b"x");
    let many = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(MAX_INTERIM + 1);
    assert!(refused(&many).await.contains("interim"));
    // 101 is final; the connection is not reused after it.
    let (_conn, result, _upstream) = exchange_with(
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        4096,
        false,
        Method::GET,
    )
    .await;
    let (head, reader) = result.unwrap();
    assert_eq!(head.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert!(!reader.keep_alive());
}

#[tokio::test]
async fn connections_that_will_close_are_not_reused() {
    for response in [
        &b"HTTP/1.1 200 OK\r\nconnection: keep-alive, Close\r\ncontent-length: 0\r\n\r\n"[..],
        b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n",
    ] {
        let (_, _, _, reusable) = ok(response, 4096).await;
        assert!(!reusable);
    }
    // Bytes after the end of an answer: never reused.
    let (_, _, _, reusable) = ok(
        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\nHTTP/1.1 200 OK\r\n",
        4096,
    )
    .await;
    assert!(!reusable);
}

#[tokio::test]
async fn a_connection_the_upstream_closed_is_not_reusable() {
    let (mut conn, result, upstream) = exchange_with(
        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
        4096,
        false,
        Method::GET,
    )
    .await;
    let (_, mut reader) = result.unwrap();
    body(&mut conn, &mut reader).await.unwrap();
    assert!(conn.is_reusable());
    drop(upstream.await.unwrap());
    assert!(!conn.is_reusable());
}

#[tokio::test]
async fn smuggling_shapes_and_malformed_heads_are_refused() {
    let cases: [(&[u8], &str); 11] = [
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n",
            "both Transfer-Encoding and Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n",
            "transfer coding",
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n",
            "transfer coding",
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n",
            "transfer coding",
        ),
        (
            b"HTTP/1.0 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
            "HTTP/1.0",
        ),
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 5, 6\r\n\r\n",
            "disagree",
        ),
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n",
            "disagree",
        ),
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: +5\r\n\r\n",
            "invalid Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 99999999999999999999\r\n\r\n",
            "invalid Content-Length",
        ),
        (b"HTTP/1.1 200 OK\r\nx-folded: a\r\n b\r\n\r\n", "malformed"),
        (b"HTTP/1.1 OK\r\n\r\n", "malformed"),
    ];
    for (response, expected) in cases {
        let reason = refused(response).await;
        assert!(
            reason.contains(expected),
            "{:?}: {reason}",
            String::from_utf8_lossy(response)
        );
    }
    let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..=MAX_HEADERS {
        many.extend_from_slice(format!("x-{i}: 1\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert!(refused(&many).await.contains("more than 100 header fields"));
    let mut huge = b"HTTP/1.1 200 OK\r\nx-big: ".to_vec();
    huge.resize(MAX_HEAD + 10, b'a');
    assert!(refused(&huge).await.contains("larger than 64 KiB"));
    assert!(
        refused(b"HTTP/1.1 200 OK\r\nx-a: 1\r\n")
            .await
            .contains("in the middle")
    );
}

#[tokio::test]
async fn bodies_cut_short_or_malformed_are_errors() {
    let cases: [(&[u8], &str); 6] = [
        (b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort", "bytes of the body missing"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel", "data missing"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n", "invalid chunk size"),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n10000000000000000\r\n",
            "invalid chunk size",
        ),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nokX\r\n", "no CRLF"),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nbad trailer\r\n\r\n",
            "trailer",
        ),
    ];
    for (response, expected) in cases {
        let error = body_error(response).await;
        assert!(
            error.to_string().contains(expected),
            "{:?}: {error}",
            String::from_utf8_lossy(response)
        );
    }
    let mut long = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1;".to_vec();
    long.resize(long.len() + MAX_CHUNK_LINE + 10, b'x');
    assert!(body_error(&long).await.to_string().contains("too long"));
}

#[tokio::test]
async fn the_end_of_the_connection_before_an_answer_is_not_an_answer() {
    let (_conn, result, _upstream) = exchange_with(b"", 1, true, Method::GET).await;
    assert!(matches!(result, Err(ExchangeError::Closed(None))));
    // A write to a connection whose peer is gone never reached it.
    let (client, server) = duplex(64);
    drop(server);
    let mut conn = Connection::new(client);
    let failed = conn.exchange(b"GET / HTTP/1.1\r\n\r\n", &Method::GET).await;
    assert!(
        failed.as_ref().is_err_and(ExchangeError::is_unsent),
        "{failed:?}"
    );
}

#[tokio::test]
async fn large_bodies_stream_in_bounded_reads() {
    let size = 1_000_000;
    let mut response = format!("HTTP/1.1 200 OK\r\ncontent-length: {size}\r\n\r\n").into_bytes();
    response.resize(response.len() + size, b'z');
    let (mut conn, result, _upstream) = exchange_with(&response, 65536, false, Method::GET).await;
    let (_, mut reader) = result.unwrap();
    assert_eq!(reader.size_hint().exact(), Some(size as u64));
    let mut total = 0;
    while let Some(frame) = poll_fn(|cx| conn.poll_body(cx, &mut reader)).await {
        let data = frame.unwrap().into_data().unwrap();
        assert!(
            data.len() <= 65536 + READ_SIZE,
            "a frame of {} bytes",
            data.len()
        );
        total += data.len();
    }
    assert_eq!(total, size);
    assert!(conn.is_reusable());
}

/// Whatever an upstream sends, reading it ends (an answer, a refusal or an
/// error) without a panic, and a complete answer framed by
/// `Content-Length` reads the same however its bytes are split.
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn run(response: Vec<u8>, piece: usize) -> Result<(u16, Vec<u8>), String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let (mut conn, result, _upstream) =
                exchange_with(&response, piece, true, Method::GET).await;
            let (head, mut reader) = result.map_err(|e| e.to_string())?;
            let (data, _) = body(&mut conn, &mut reader)
                .await
                .map_err(|e| e.to_string())?;
            Ok((head.status().as_u16(), data))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_end_without_a_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
            piece in 1usize..64,
        ) {
            let _ = run(bytes, piece);
        }

        #[test]
        fn mutated_answers_end_without_a_panic(
            flips in proptest::collection::vec((0usize..120, any::<u8>()), 0..6),
            piece in 1usize..64,
        ) {
            let mut bytes = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-a: 1\r\n\r\n5;e=1\r\nhello\r\n0\r\nx-t: 2\r\n\r\n".to_vec();
            for (at, byte) in flips {
                if let Some(slot) = bytes.get_mut(at % 80) {
                    *slot = byte;
                }
            }
            let _ = run(bytes, piece);
        }

        #[test]
        fn splits_do_not_change_an_answer(
            body in proptest::collection::vec(any::<u8>(), 0..300),
            piece in 1usize..64,
        ) {
            let mut response = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len()).into_bytes();
            response.extend_from_slice(&body);
            prop_assert_eq!(run(response, piece), Ok((200, body)));
        }
    }
}
