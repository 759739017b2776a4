//! A minimal HTTP/1.1 layer over rustls streams: one request per connection
//! (`Connection: close`), `Content-Length` bodies only. Enough for the demo
//! network; not a general-purpose HTTP implementation.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;

const MAX_HEAD: usize = 16 * 1024;
const MAX_BODY: usize = 1024 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTP request as received by a server.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// The DNS names in the client's certificate (mutual TLS), empty without one.
    pub(crate) peer_names: Vec<String>,
}

impl Request {
    pub(crate) fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
    pub(crate) fn query(&self) -> &str {
        self.target.split_once('?').map(|(_, q)| q).unwrap_or("")
    }
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
    pub(crate) fn body_str(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or("")
    }
    pub(crate) fn cookie(&self, name: &str) -> Option<&str> {
        self.header("cookie")?
            .split(';')
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }
}

/// An HTTP response.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    pub(crate) fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }
    pub(crate) fn html(status: u16, body: impl Into<String>) -> Self {
        Self::new(status, "text/html; charset=utf-8", body.into())
    }
    pub(crate) fn redirect(location: &str) -> Self {
        let mut r = Self::new(302, "text/plain", Vec::new());
        r.headers.push(("Location".into(), location.into()));
        r
    }
    pub(crate) fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
    pub(crate) fn body_str(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or("")
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

/// Reads a start line and headers, then a `Content-Length` body.
/// Start line, headers, body.
type Message = (String, Vec<(String, String)>, Vec<u8>);

fn read_message<R: BufRead>(r: &mut R) -> io::Result<Message> {
    let mut total = 0;
    let mut line = String::new();
    let mut read_line = |line: &mut String| -> io::Result<()> {
        line.clear();
        let n = r.by_ref().take(MAX_HEAD as u64).read_line(line)?;
        total += n;
        if n == 0 || total > MAX_HEAD || !line.ends_with('\n') {
            return Err(bad("truncated or oversized HTTP head"));
        }
        Ok(())
    };
    read_line(&mut line)?;
    let start = line.trim_end().to_owned();
    let mut headers = Vec::new();
    loop {
        read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').ok_or_else(|| bad("bad header line"))?;
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let len = match header(&headers, "content-length") {
        Some(v) => v.parse::<usize>().map_err(|_| bad("bad Content-Length"))?,
        None => 0,
    };
    if len > MAX_BODY {
        return Err(bad("body too large"));
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    Ok((start, headers, body))
}

fn write_message<W: Write>(
    w: &mut W,
    start: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> io::Result<()> {
    let mut head = format!("{start}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    w.write_all(head.as_bytes())?;
    w.write_all(body)?;
    w.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        503 => "Service Unavailable",
        _ => "Other",
    }
}

/// A request handler: request in, response out.
pub(crate) type Handler = Arc<dyn Fn(&Request) -> Response + Send + Sync>;

/// Serves `listener` with TLS (`config`) on background threads, one thread per
/// connection. A failed handshake ends that connection only.
pub(crate) fn serve(listener: TcpListener, config: Arc<rustls::ServerConfig>, handler: Handler) {
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(sock) = sock else { continue };
            let config = config.clone();
            let handler = handler.clone();
            std::thread::spawn(move || {
                let _ = handle(sock, config, handler);
            });
        }
    });
}

fn handle(sock: TcpStream, config: Arc<rustls::ServerConfig>, handler: Handler) -> io::Result<()> {
    sock.set_nodelay(true)?;
    sock.set_read_timeout(Some(IO_TIMEOUT))?;
    sock.set_write_timeout(Some(IO_TIMEOUT))?;
    let conn = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let (start, headers, body) = read_message(&mut BufReader::new(&mut tls))?;
    let mut parts = start.split(' ');
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(bad("bad request line"));
    };
    let peer_names = tls
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|c| medmij_tls::certs::dns_names(c).ok())
        .unwrap_or_default();
    let req = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        headers,
        body,
        peer_names,
    };
    let resp = handler(&req);
    write_message(
        &mut tls,
        &format!("HTTP/1.1 {} {}", resp.status, reason(resp.status)),
        &resp.headers,
        &resp.body,
    )?;
    tls.conn.send_close_notify();
    tls.flush()
}

/// Sends one request over TLS to `127.0.0.1:port`, presenting `host` as the
/// server name (SNI and certificate check), and reads the response.
pub(crate) fn send(
    config: Arc<rustls::ClientConfig>,
    host: &str,
    port: u16,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> io::Result<Response> {
    let sock = TcpStream::connect(("127.0.0.1", port))?;
    sock.set_nodelay(true)?;
    sock.set_read_timeout(Some(IO_TIMEOUT))?;
    sock.set_write_timeout(Some(IO_TIMEOUT))?;
    let name = ServerName::try_from(host.to_owned()).map_err(|_| bad("bad server name"))?;
    let conn = rustls::ClientConnection::new(config, name).map_err(io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let mut all = vec![("Host".to_owned(), host.to_owned())];
    all.extend_from_slice(headers);
    write_message(&mut tls, &format!("{method} {target} HTTP/1.1"), &all, body)?;
    let (start, headers, body) = read_message(&mut BufReader::new(&mut tls))?;
    let status = start
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// Splits an `https` URL into host, port (443 when absent), and path with query.
pub(crate) fn split_url(u: &str) -> io::Result<(String, u16, String)> {
    let url = url::Url::parse(u).map_err(|_| bad("bad URL"))?;
    if url.scheme() != "https" {
        return Err(bad("not https"));
    }
    let host = url.host_str().ok_or_else(|| bad("no host"))?.to_owned();
    let port = url.port().unwrap_or(443);
    let mut target = url.path().to_owned();
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    Ok((host, port, target))
}
