//! An [`OcspSource`] that asks OCSP responders over plain HTTP POST (RFC 6960
//! appendix A.1), blocking, with `std::net` only.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::ocsp::{OcspQuery, OcspSource, OcspSourceError};

/// Largest OCSP response accepted, in bytes.
const MAX_RESPONSE: usize = 64 * 1024;

/// Fetches OCSP answers over HTTP POST (`application/ocsp-request`).
///
/// Asks the responder URLs of the certificate's AuthorityInfoAccess in order, or a
/// fixed URL set with [`HttpOcspFetcher::with_url`]. Only `http://` URLs (OCSP
/// answers are signed; RFC 6960 A.1).
#[derive(Debug, Clone, Default)]
pub struct HttpOcspFetcher {
    fixed_url: Option<String>,
}

impl HttpOcspFetcher {
    /// A fetcher using the certificate's AuthorityInfoAccess.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fetcher that always asks `url` (e.g. a local OCSP proxy).
    pub fn with_url(url: impl Into<String>) -> Self {
        Self {
            fixed_url: Some(url.into()),
        }
    }
}

struct Url<'a> {
    host: &'a str,
    port: u16,
    path: &'a str,
}

fn parse_url(url: &str) -> Result<Url<'_>, OcspSourceError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| OcspSourceError::Transport(format!("not an http:// URL: {url}")))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| OcspSourceError::Transport(format!("bad port in {url}")))?,
        ),
        _ => (authority, 80),
    };
    if host.is_empty() {
        return Err(OcspSourceError::Transport(format!("no host in {url}")));
    }
    Ok(Url { host, port, path })
}

fn io_err(e: std::io::Error) -> OcspSourceError {
    match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => OcspSourceError::Timeout,
        _ => OcspSourceError::Transport(e.to_string()),
    }
}

/// POST `body` to `url` and return the response body of a 200 answer.
pub fn post_ocsp(url: &str, body: &[u8], timeout: Duration) -> Result<Vec<u8>, OcspSourceError> {
    let deadline = Instant::now() + timeout;
    let u = parse_url(url)?;
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(OcspSourceError::Timeout)
    };
    let addrs: Vec<_> = (u.host, u.port)
        .to_socket_addrs()
        .map_err(|e| OcspSourceError::Transport(format!("resolve {}: {e}", u.host)))?
        .collect();
    let mut stream = None;
    let mut last = OcspSourceError::Transport(format!("no address for {}", u.host));
    for a in addrs {
        match TcpStream::connect_timeout(&a, left()?) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = io_err(e),
        }
    }
    let mut s = stream.ok_or(last)?;
    s.set_write_timeout(Some(left()?)).map_err(io_err)?;
    let head = format!(
        "POST {} HTTP/1.0\r\nHost: {}:{}\r\nContent-Type: application/ocsp-request\r\nAccept: application/ocsp-response\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        u.path,
        u.host,
        u.port,
        body.len()
    );
    s.write_all(head.as_bytes()).map_err(io_err)?;
    s.write_all(body).map_err(io_err)?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        s.set_read_timeout(Some(left()?)).map_err(io_err)?;
        let n = s.read(&mut chunk).map_err(io_err)?;
        if n == 0 {
            break;
        }
        let got = chunk
            .get(..n)
            .ok_or_else(|| OcspSourceError::Transport("read past its buffer".into()))?;
        buf.extend_from_slice(got);
        if buf.len() > MAX_RESPONSE {
            return Err(OcspSourceError::Transport("response too large".into()));
        }
        if let Some(done) = complete_body(&buf) {
            return done;
        }
    }
    complete_body(&buf).unwrap_or_else(|| parse_response(&buf, true))
}

/// `Some` once the whole response (by Content-Length) is in `buf`.
fn complete_body(buf: &[u8]) -> Option<Result<Vec<u8>, OcspSourceError>> {
    let (head, body) = split_head(buf)?;
    let head = std::str::from_utf8(head).ok()?;
    let len = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())?
    })?;
    (body.len() >= len).then(|| parse_response(buf, false))
}

fn parse_response(buf: &[u8], eof: bool) -> Result<Vec<u8>, OcspSourceError> {
    let (head, body) = split_head(buf)
        .ok_or_else(|| OcspSourceError::Transport("incomplete HTTP response".into()))?;
    let head = std::str::from_utf8(head)
        .map_err(|_| OcspSourceError::Transport("non-UTF-8 HTTP header".into()))?;
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default();
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    if code != "200" {
        return Err(OcspSourceError::Transport(format!("HTTP status: {status}")));
    }
    let mut len = None;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let k = k.trim();
            if k.eq_ignore_ascii_case("transfer-encoding") {
                return Err(OcspSourceError::Transport(
                    "chunked transfer encoding not supported".into(),
                ));
            }
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse::<usize>().ok();
            }
        }
    }
    match len {
        Some(n) => body
            .get(..n)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| OcspSourceError::Transport("truncated HTTP body".into())),
        None if eof => Ok(body.to_vec()),
        None => Err(OcspSourceError::Transport("incomplete HTTP body".into())),
    }
}

/// The head (up to the blank line) and what follows the blank line.
fn split_head(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = find(buf, b"\r\n\r\n")?;
    let (head, rest) = buf.split_at_checked(end)?;
    Some((head, rest.get(4..)?))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl OcspSource for HttpOcspFetcher {
    fn fetch(&self, query: &OcspQuery) -> Result<Vec<u8>, OcspSourceError> {
        let deadline = Instant::now() + query.timeout;
        let urls: Vec<&str> = match &self.fixed_url {
            Some(u) => vec![u.as_str()],
            None => query.responder_urls.iter().map(String::as_str).collect(),
        };
        let mut last = OcspSourceError::NoResponder;
        for url in urls {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return Err(OcspSourceError::Timeout);
            };
            match post_ocsp(url, &query.request, left) {
                Ok(b) => return Ok(b),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let u = parse_url("http://127.0.0.1:8080/ocsp").unwrap();
        assert_eq!((u.host, u.port, u.path), ("127.0.0.1", 8080, "/ocsp"));
        let u = parse_url("http://ocsp.example.nl").unwrap();
        assert_eq!((u.host, u.port, u.path), ("ocsp.example.nl", 80, "/"));
        assert!(parse_url("https://x").is_err());
        assert!(parse_url("http://:1/").is_err());
        assert!(parse_url("http://h:99999/").is_err());
    }

    #[test]
    fn responses_parse() {
        let ok = b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc";
        assert_eq!(complete_body(ok).unwrap().unwrap(), b"abc");
        assert!(complete_body(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nabc").is_none());
        assert!(parse_response(b"HTTP/1.0 500 Oops\r\n\r\n", true).is_err());
        assert_eq!(
            parse_response(b"HTTP/1.0 200 OK\r\n\r\nxyz", true).unwrap(),
            b"xyz"
        );
        assert!(parse_response(b"garbage", true).is_err());
    }
}
