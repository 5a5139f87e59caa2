//! The upstream side of a request without a body, in HTTP/1.1, written
//! for the gateway: the request head is encoded in one buffer and written
//! in one call, the response head is parsed with `httparse` where it was
//! read, and the response body is read from the same buffer as the
//! request's task polls it. No channel, no second task, no per-request
//! timer: the connection is a socket and a buffer.
//!
//! Why not hyper's client here (hyper still serves requests with a body
//! and WebSocket upgrades): its connection is a dispatcher reached through
//! a channel, with a callback for the answer and a body channel, which
//! cost the gateway ~1.5 µs of CPU per request and more context switches
//! than the socket work itself; see `docs/design/0004-upstream-http1.md`.
//!
//! What it implements of RFC 9112, as a client:
//! - **Request**: `METHOD origin-form HTTP/1.1`, the headers as given
//!   (names and values were checked by `http`), no body.
//! - **Response head**: status line and at most [`MAX_HEADERS`] fields in
//!   at most [`MAX_HEAD`] bytes; obsolete line folding and other malformed
//!   heads refused. Interim (1xx) answers other than 101 are skipped (at
//!   most [`MAX_INTERIM`]).
//! - **Framing** (§6.3): no body after `HEAD`, 1xx, 204 and 304;
//!   `Transfer-Encoding: chunked` (any other transfer coding, or
//!   `Transfer-Encoding` with `Content-Length`, is refused as a possible
//!   smuggling attempt); `Content-Length` (repeated values must agree);
//!   otherwise the body runs to the end of the connection.
//! - **Chunked bodies**: chunk sizes in hex (at most 16 digits), extensions
//!   ignored, lines at most [`MAX_CHUNK_LINE`] bytes, trailers parsed and
//!   passed on as a trailers frame (at most [`MAX_HEADERS`] fields in
//!   [`MAX_HEAD`] bytes).
//! - **Keep-alive**: an HTTP/1.1 answer without `Connection: close`, read
//!   to its end and followed by nothing, leaves the connection reusable.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker, ready};

use bytes::{Buf as _, Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode, Version};
use hyper::body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, ReadBuf};

/// Most header fields in a response head (or a trailer section).
pub(crate) const MAX_HEADERS: usize = 100;
/// Most bytes of a response head (or a trailer section).
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// Most bytes of a chunk-size line, extensions included.
pub(crate) const MAX_CHUNK_LINE: usize = 4096;
/// Most interim (1xx) answers before the final one.
pub(crate) const MAX_INTERIM: usize = 8;
/// Room made in the read buffer before each read.
const READ_SIZE: usize = 16 * 1024;

/// Whether a request may take this path: its body is known to be empty
/// and no header says otherwise.
pub(crate) fn is_bodiless(headers: &HeaderMap, body_ended: bool) -> bool {
    body_ended
        && !headers.contains_key(TRANSFER_ENCODING)
        && headers.get_all(CONTENT_LENGTH).iter().all(|v| v == "0")
}

/// `parts` as an HTTP/1.1 request head, ready to write, with the `extra`
/// headers after its own (none of them among its own).
pub(crate) fn encode_request<'a>(
    parts: &Parts,
    extra: impl Iterator<Item = (&'a HeaderName, &'a HeaderValue)>,
) -> Vec<u8> {
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let target = if target.is_empty() { "/" } else { target };
    let fields: usize = parts
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    // The extra headers (forwarding, request id, identity) usually fit.
    let mut head =
        Vec::with_capacity(parts.method.as_str().len() + target.len() + fields + 16 + 768);
    head.extend_from_slice(parts.method.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(target.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in &parts.headers {
        field(&mut head, name, value);
    }
    for (name, value) in extra {
        field(&mut head, name, value);
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// `name: value` and CRLF.
fn field(head: &mut Vec<u8>, name: &HeaderName, value: &HeaderValue) {
    head.extend_from_slice(name.as_str().as_bytes());
    head.extend_from_slice(b": ");
    head.extend_from_slice(value.as_bytes());
    head.extend_from_slice(b"\r\n");
}

/// Why an exchange failed. (The messages include the I/O error, which is
/// therefore not also given as the source: logs name it once.)
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExchangeError {
    /// The request could not be written: the upstream never read it.
    #[error("cannot send the request: {0}")]
    Write(io::Error),
    /// The connection ended (or was reset) before a byte of the answer.
    #[error("the upstream closed the connection without answering")]
    Closed(Option<io::Error>),
    /// Reading the answer failed.
    #[error("reading the response failed: {0}")]
    Read(io::Error),
    /// The answer is not acceptable HTTP/1.1.
    #[error("invalid response: {0}")]
    Invalid(String),
}

impl ExchangeError {
    /// Whether the upstream cannot have acted on the request.
    pub(crate) fn is_unsent(&self) -> bool {
        matches!(self, ExchangeError::Write(_))
    }
}

/// One HTTP/1.1 connection to an upstream: the socket and what has been
/// read from it but not yet used.
pub(crate) struct Connection<IO> {
    io: IO,
    buf: BytesMut,
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Connection<IO> {
    /// A connection over `io`, nothing read yet.
    pub(crate) fn new(io: IO) -> Connection<IO> {
        Connection {
            io,
            buf: BytesMut::new(),
        }
    }

    /// Writes `head` (from [`encode_request`]), then reads the response
    /// head; the body is read with [`Connection::poll_body`].
    pub(crate) async fn exchange(
        &mut self,
        head: &[u8],
        method: &Method,
    ) -> Result<(Response<()>, BodyReader), ExchangeError> {
        self.io
            .write_all(head)
            .await
            .map_err(ExchangeError::Write)?;
        self.io.flush().await.map_err(ExchangeError::Write)?;
        let mut received = false;
        let mut interim = 0;
        loop {
            if let Some((response, reader)) = parse_response(&mut self.buf, method)? {
                if reader.interim {
                    interim += 1;
                    if interim > MAX_INTERIM {
                        return Err(invalid(format!(
                            "more than {MAX_INTERIM} interim (1xx) responses"
                        )));
                    }
                    continue;
                }
                return Ok((response, reader));
            }
            if self.buf.len() >= MAX_HEAD {
                return Err(invalid(format!(
                    "the response head is larger than {} KiB",
                    MAX_HEAD / 1024
                )));
            }
            let read = std::future::poll_fn(|cx| self.poll_fill(cx)).await;
            match read {
                Ok(0) if !received => return Err(ExchangeError::Closed(None)),
                Ok(0) => {
                    return Err(invalid(
                        "the connection ended in the middle of the response head".to_owned(),
                    ));
                }
                Ok(_) => received = true,
                Err(e) if !received && is_reset(&e) => return Err(ExchangeError::Closed(Some(e))),
                Err(e) => return Err(ExchangeError::Read(e)),
            }
        }
    }

    /// The next frame of the response body that `reader` describes; `None`
    /// at its end. Reads from the socket only when the buffer has nothing
    /// for the body, at most [`READ_SIZE`] bytes at a time.
    pub(crate) fn poll_body(
        &mut self,
        cx: &mut Context<'_>,
        reader: &mut BodyReader,
    ) -> Poll<Option<io::Result<Frame<Bytes>>>> {
        loop {
            match reader.kind {
                Kind::Done => return Poll::Ready(None),
                Kind::Length(0) => {
                    reader.kind = Kind::Done;
                    return Poll::Ready(None);
                }
                Kind::Length(left) => {
                    if let Some(data) = self.take(left) {
                        let rest = left - data.len() as u64;
                        reader.kind = if rest == 0 {
                            Kind::Done
                        } else {
                            Kind::Length(rest)
                        };
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                    let missing = format!("{left} bytes of the body missing");
                    ready!(self.poll_fill_or_fail(cx, &missing))?;
                }
                Kind::Close => {
                    if let Some(data) = self.take(u64::MAX) {
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                    if ready!(self.poll_fill(cx))? == 0 {
                        reader.kind = Kind::Done;
                        return Poll::Ready(None);
                    }
                }
                Kind::Chunked(Chunk::Size) => match self.chunk_size()? {
                    Some(0) => reader.kind = Kind::Chunked(Chunk::Trailers),
                    Some(size) => reader.kind = Kind::Chunked(Chunk::Data(size)),
                    None => {
                        ready!(self.poll_fill_or_fail(cx, "a chunk size missing"))?;
                    }
                },
                Kind::Chunked(Chunk::Data(left)) => {
                    if let Some(data) = self.take(left) {
                        let rest = left - data.len() as u64;
                        reader.kind = Kind::Chunked(if rest == 0 {
                            Chunk::DataEnd
                        } else {
                            Chunk::Data(rest)
                        });
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                    ready!(self.poll_fill_or_fail(cx, "a chunk's data missing"))?;
                }
                Kind::Chunked(Chunk::DataEnd) => match self.buf.get(..2) {
                    Some(b"\r\n") => {
                        self.buf.advance(2);
                        reader.kind = Kind::Chunked(Chunk::Size);
                    }
                    Some(_) => return Poll::Ready(Some(Err(bad_data("no CRLF after a chunk")))),
                    None => {
                        ready!(self.poll_fill_or_fail(cx, "the CRLF after a chunk missing"))?;
                    }
                },
                Kind::Chunked(Chunk::Trailers) => match parse_trailers(&mut self.buf)? {
                    Some(trailers) => {
                        reader.kind = Kind::Done;
                        if trailers.is_empty() {
                            return Poll::Ready(None);
                        }
                        return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
                    }
                    None => {
                        ready!(self.poll_fill_or_fail(cx, "the end of the chunked body missing"))?;
                    }
                },
            }
        }
    }

    /// Whether the connection can take another request: nothing unread
    /// is waiting and the upstream has not closed it. Polls the socket
    /// once with a waker that wakes nobody.
    pub(crate) fn is_reusable(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut probe = [0u8; 1];
        let mut probe = ReadBuf::new(&mut probe);
        let mut quiet = Context::from_waker(Waker::noop());
        // Pending: open and silent. Data, the end or an error: not
        // reusable (an upstream says nothing between answers).
        Pin::new(&mut self.io)
            .poll_read(&mut quiet, &mut probe)
            .is_pending()
    }

    /// At most `limit` buffered bytes, `None` when nothing is buffered.
    /// Small pieces are copied out, which keeps the buffer unshared and
    /// reusable in place; large ones are split off without a copy.
    fn take(&mut self, limit: u64) -> Option<Bytes> {
        if self.buf.is_empty() {
            return None;
        }
        let n = usize::try_from(limit).map_or(self.buf.len(), |l| l.min(self.buf.len()));
        Some(split_off(&mut self.buf, n))
    }

    /// Reads once into the buffer; `Ok(0)` at the end of the connection.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.buf.capacity() - self.buf.len() < READ_SIZE / 4 {
            self.buf.reserve(READ_SIZE);
        }
        tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.buf)
    }

    /// [`Connection::poll_fill`], with the end of the connection an error
    /// saying what was `missing`.
    fn poll_fill_or_fail(&mut self, cx: &mut Context<'_>, missing: &str) -> Poll<io::Result<()>> {
        match ready!(self.poll_fill(cx)) {
            Ok(0) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the upstream closed the connection with {missing}"),
            ))),
            Ok(_) => Poll::Ready(Ok(())),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// The size of the next chunk, its line consumed; `None` until the
    /// whole line is buffered.
    fn chunk_size(&mut self) -> io::Result<Option<u64>> {
        let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") else {
            if self.buf.len() > MAX_CHUNK_LINE {
                return Err(bad_data("a chunk-size line is too long"));
            }
            return Ok(None);
        };
        if end > MAX_CHUNK_LINE {
            return Err(bad_data("a chunk-size line is too long"));
        }
        let size = parse_chunk_size(self.buf.get(..end).unwrap_or_default())?;
        self.buf.advance(end + 2);
        Ok(Some(size))
    }
}

/// How the body of a response is read, and whether the connection can be
/// reused after it.
#[derive(Debug)]
pub(crate) struct BodyReader {
    kind: Kind,
    keep_alive: bool,
    /// A 1xx answer other than 101: another head follows.
    interim: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Length(u64),
    Chunked(Chunk),
    /// Until the connection ends.
    Close,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Size,
    Data(u64),
    DataEnd,
    Trailers,
}

impl BodyReader {
    /// Whether the body has been read to its end.
    pub(crate) fn is_end(&self) -> bool {
        matches!(self.kind, Kind::Done | Kind::Length(0))
    }

    /// Whether the connection can take another request once the body has
    /// been read to its end.
    pub(crate) fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// The body's size, when known.
    pub(crate) fn size_hint(&self) -> SizeHint {
        match self.kind {
            Kind::Length(n) => SizeHint::with_exact(n),
            Kind::Done => SizeHint::with_exact(0),
            Kind::Chunked(_) | Kind::Close => SizeHint::default(),
        }
    }
}

/// Parses a complete response head at the start of `buf` and removes it;
/// `None` while it is incomplete.
fn parse_response(
    buf: &mut BytesMut,
    method: &Method,
) -> Result<Option<(Response<()>, BodyReader)>, ExchangeError> {
    // Uninitialised: httparse writes only the fields it finds.
    let mut fields =
        [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut []);
    let parser = httparse::ParserConfig::default();
    let len = match parser.parse_response_with_uninit_headers(&mut parsed, buf, &mut fields) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(invalid(format!(
                "more than {MAX_HEADERS} header fields in the response"
            )));
        }
        Err(e) => return Err(invalid(format!("malformed response head ({e})"))),
    };
    let code = parsed.code.unwrap_or_default();
    let status = StatusCode::from_u16(code)
        .map_err(|_| invalid(format!("status code {code} is not valid")))?;
    let version = match parsed.version {
        Some(1) => Version::HTTP_11,
        _ => Version::HTTP_10,
    };
    // Where each field's name and value are in the head: the values are
    // then sliced out of one shared buffer instead of copied one by one.
    // (A head is at most MAX_HEAD bytes: positions fit in `u32`.)
    let base = buf.as_ptr().addr();
    let offset = |field: &[u8]| u32::try_from(field.as_ptr().addr() - base).unwrap_or(u32::MAX);
    let mut positions = [[0u32; 4]; MAX_HEADERS];
    let count = parsed.headers.len();
    for (field, position) in parsed.headers.iter().zip(positions.iter_mut()) {
        let (name, value) = (offset(field.name.as_bytes()), offset(field.value));
        *position = [
            name,
            name.saturating_add(u32::try_from(field.name.len()).unwrap_or(u32::MAX)),
            value,
            value.saturating_add(u32::try_from(field.value.len()).unwrap_or(u32::MAX)),
        ];
    }
    let head = split_off(buf, len);
    let mut headers = HeaderMap::with_capacity(count);
    for position in positions.iter().take(count) {
        let [name_start, name_end, start, end] = position.map(|p| p as usize);
        let name = head.get(name_start..name_end).unwrap_or_default();
        let name = HeaderName::from_bytes(name).map_err(|_| {
            invalid(format!(
                "invalid header name {:?}",
                String::from_utf8_lossy(name)
            ))
        })?;
        if head.get(start..end).is_none() {
            return Err(invalid(format!("invalid value of header {name}")));
        }
        let value = HeaderValue::from_maybe_shared(head.slice(start..end))
            .map_err(|_| invalid(format!("invalid value of header {name}")))?;
        headers.append(name, value);
    }
    let reader = body_reader(method, status, version, &headers)?;
    let mut response = Response::new(());
    *response.status_mut() = status;
    *response.version_mut() = version;
    *response.headers_mut() = headers;
    Ok(Some((response, reader)))
}

/// The framing of a response body (RFC 9112 §6.3) and whether the
/// connection outlives it.
fn body_reader(
    method: &Method,
    status: StatusCode,
    version: Version,
    headers: &HeaderMap,
) -> Result<BodyReader, ExchangeError> {
    if status.is_informational() && status != StatusCode::SWITCHING_PROTOCOLS {
        return Ok(BodyReader {
            kind: Kind::Done,
            keep_alive: true,
            interim: true,
        });
    }
    let closes = version != Version::HTTP_11
        || headers
            .get_all(CONNECTION)
            .iter()
            .any(|value| has_token(value, "close"));
    let no_body = *method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let kind = if no_body {
        Kind::Done
    } else if headers.contains_key(TRANSFER_ENCODING) {
        if headers.contains_key(CONTENT_LENGTH) {
            return Err(invalid(
                "both Transfer-Encoding and Content-Length (RFC 9112 §6.3: a possible smuggling attempt)"
                    .to_owned(),
            ));
        }
        if version != Version::HTTP_11 {
            return Err(invalid(
                "Transfer-Encoding in an HTTP/1.0 response".to_owned(),
            ));
        }
        let mut codings = headers
            .get_all(TRANSFER_ENCODING)
            .iter()
            .flat_map(|value| value.as_bytes().split(|&b| b == b','))
            .map(<[u8]>::trim_ascii)
            .filter(|coding| !coding.is_empty());
        match (codings.next(), codings.next()) {
            (Some(coding), None) if coding.eq_ignore_ascii_case(b"chunked") => {
                Kind::Chunked(Chunk::Size)
            }
            _ => {
                return Err(invalid(
                    "a transfer coding other than chunked alone".to_owned(),
                ));
            }
        }
    } else if headers.contains_key(CONTENT_LENGTH) {
        Kind::Length(content_length(headers)?)
    } else {
        Kind::Close
    };
    let keep_alive = !closes && kind != Kind::Close && status != StatusCode::SWITCHING_PROTOCOLS;
    Ok(BodyReader {
        kind,
        keep_alive,
        interim: false,
    })
}

/// The one length every `Content-Length` value (lists included) gives.
fn content_length(headers: &HeaderMap) -> Result<u64, ExchangeError> {
    let mut length = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        for item in value.as_bytes().split(|&b| b == b',') {
            let item = item.trim_ascii();
            let parsed =
                (!item.is_empty() && item.len() <= 19 && item.iter().all(u8::is_ascii_digit))
                    .then(|| item.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
                    .ok_or_else(|| invalid("an invalid Content-Length".to_owned()))?;
            if length.is_some_and(|l| l != parsed) {
                return Err(invalid("Content-Length values that disagree".to_owned()));
            }
            length = Some(parsed);
        }
    }
    length.ok_or_else(|| invalid("an empty Content-Length".to_owned()))
}

/// The size on a chunk-size line (`1*HEXDIG [ chunk-ext ]`).
fn parse_chunk_size(line: &[u8]) -> io::Result<u64> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return Err(bad_data("an invalid chunk size"));
    }
    let (hex, rest) = line.split_at(digits);
    // Extensions: `;` after optional whitespace; no control characters.
    let rest_ok = match rest.trim_ascii_start().first() {
        None => rest.iter().all(|&b| b == b' ' || b == b'\t'),
        Some(b';') => rest.iter().all(|&b| b == b'\t' || !b.is_ascii_control()),
        Some(_) => false,
    };
    if !rest_ok {
        return Err(bad_data("an invalid chunk size"));
    }
    Ok(hex.iter().fold(0u64, |n, &d| {
        let digit = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => d - b'A' + 10,
        };
        (n << 4) | u64::from(digit)
    }))
}

/// The trailer section after the last chunk, consumed with its final
/// CRLF; `None` until it is complete.
fn parse_trailers(buf: &mut BytesMut) -> io::Result<Option<HeaderMap>> {
    if buf.starts_with(b"\r\n") {
        buf.advance(2);
        return Ok(Some(HeaderMap::new()));
    }
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    match httparse::parse_headers(buf, &mut fields) {
        Ok(httparse::Status::Complete((len, fields))) => {
            let mut trailers = HeaderMap::with_capacity(fields.len());
            for field in fields.iter() {
                let name = HeaderName::from_bytes(field.name.as_bytes())
                    .map_err(|_| bad_data("an invalid trailer name"))?;
                let value = HeaderValue::from_bytes(field.value)
                    .map_err(|_| bad_data("an invalid trailer value"))?;
                trailers.append(name, value);
            }
            buf.advance(len);
            Ok(Some(trailers))
        }
        Ok(httparse::Status::Partial) if buf.len() <= MAX_HEAD => Ok(None),
        Ok(httparse::Status::Partial) => Err(bad_data("the trailer section is too large")),
        Err(e) => Err(bad_data(&format!("a malformed trailer section ({e})"))),
    }
}

/// The first `n` bytes of `buf`, removed from it: copied when small
/// (the buffer stays unshared, so later reads reuse its memory), split off
/// without a copy when large.
fn split_off(buf: &mut BytesMut, n: usize) -> Bytes {
    if n > COPY_LIMIT {
        return buf.split_to(n).freeze();
    }
    let piece = Bytes::copy_from_slice(buf.get(..n).unwrap_or_default());
    buf.advance(n);
    piece
}

/// Pieces up to this size are copied out of the read buffer.
const COPY_LIMIT: usize = 4096;

/// Whether a comma-separated header value lists `token`.
fn has_token(value: &HeaderValue, token: &str) -> bool {
    value
        .as_bytes()
        .split(|&b| b == b',')
        .any(|item| item.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

fn invalid(reason: String) -> ExchangeError {
    ExchangeError::Invalid(reason)
}

fn bad_data(reason: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("invalid chunked body from the upstream: {reason}"),
    )
}

#[cfg(test)]
mod tests;
