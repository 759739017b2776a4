//! HTTP over TLS for the demo network: axum routers served by hyper on tokio,
//! the handshake done by tokio-rustls with medmij-tls's configurations, and
//! reqwest clients for the gateways and the scripted browser.
//!
//! The back channel uses one TLS connection per request on both sides (no
//! keep-alive, no pooling, no resumption): every request is preceded by a full
//! handshake with its Whitelist and OCSP checks (MedMij TLS-3, TLS-4), so that a
//! node dropped from the Whitelist or revoked is refused at its very next request,
//! not only once an idle connection happens to close.
//!
//! rustls verifies certificates synchronously inside the handshake; medmij-tls's
//! verifier reads only the stapled answer and its OCSP cache, which the demo's
//! `OcspDriver` fills before serving (see `Network::start`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::AbortHandle;
use tower::ServiceExt;

use super::DemoError;

/// How long a peer may take for its TLS handshake, or for a request head.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The end-to-end limit of one outgoing request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections one server handles at once; more wait in the kernel's backlog
/// (bounded resource use, RFC 6819 4.4.1.11 via MedMij OAUTH-14).
pub(crate) const MAX_CONNECTIONS: usize = 1024;

/// The DNS names in the client certificate of the connection a request came on
/// (mutual TLS, MedMij TLS-2); empty without one. Handlers read it as an axum
/// `Extension`.
#[derive(Debug, Clone, Default)]
pub(crate) struct PeerNames(pub(crate) Arc<[String]>);

impl PeerNames {
    pub(crate) fn first(&self) -> Option<&str> {
        self.0.first().map(String::as_str)
    }
}

/// Binds a listener on an ephemeral loopback port.
pub(crate) async fn bind() -> Result<(TcpListener, u16), DemoError> {
    let l = TcpListener::bind("127.0.0.1:0").await?;
    let port = l.local_addr()?.port();
    Ok((l, port))
}

/// Whether a server keeps connections open for further requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeepAlive {
    /// Front channel: a browser may reuse its connection.
    Yes,
    /// Back channel: one request per handshake (see the module docs).
    No,
}

/// The next connection on `listener`. Accept errors (e.g. out of file
/// descriptors) are waited out with a short back-off instead of a busy loop.
pub(crate) async fn accept(listener: &TcpListener) -> tokio::net::TcpStream {
    loop {
        match listener.accept().await {
            Ok((sock, _)) => return sock,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Serves `router` on `listener` with TLS (`config`), on the current tokio runtime.
/// A failed handshake ends that connection only (the refusal itself is reported by
/// medmij-tls's refusal log). Returns the handle that stops accepting.
pub(crate) fn serve(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    router: Router,
    keep_alive: KeepAlive,
) -> AbortHandle {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tokio::spawn(async move {
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let sock = accept(&listener).await;
            let acceptor = acceptor.clone();
            let router = router.clone();
            tokio::spawn(async move {
                let _slot = slot;
                let _ = sock.set_nodelay(true);
                let Ok(Ok(tls)) =
                    tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(sock)).await
                else {
                    return;
                };
                let names: Vec<String> = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .and_then(|c| medmij_tls::certs::dns_names(c).ok())
                    .unwrap_or_default();
                let peer = PeerNames(names.into());
                let service = hyper::service::service_fn(
                    move |mut req: hyper::Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(peer.clone());
                        let router = router.clone();
                        async move { router.oneshot(req).await }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HANDSHAKE_TIMEOUT)
                    .keep_alive(keep_alive == KeepAlive::Yes)
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    })
    .abort_handle()
}

/// Where a client finds each host: these names go to 127.0.0.1 at the given port,
/// as DNS would send them to an address. Port 0 means "the port in the URL, else
/// 443" (back-channel URIs carry their port, MedMij LISTS-3).
pub(crate) type HostMap = Vec<(&'static str, u16)>;

/// An HTTP client with this TLS configuration (from medmij-tls: mutual TLS for a
/// gateway, the test root for the browser). It follows no redirects (the caller
/// decides) and reads no proxy settings from the environment.
pub(crate) fn client(
    tls: rustls::ClientConfig,
    hosts: &HostMap,
    keep_alive: KeepAlive,
    cookies: Option<Arc<reqwest::cookie::Jar>>,
) -> Result<reqwest::Client, DemoError> {
    let mut b = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .tcp_nodelay(true)
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(HANDSHAKE_TIMEOUT);
    for (host, port) in hosts {
        b = b.resolve(host, SocketAddr::from(([127, 0, 0, 1], *port)));
    }
    if keep_alive == KeepAlive::No {
        b = b.pool_max_idle_per_host(0);
    }
    if let Some(jar) = cookies {
        b = b.cookie_provider(jar);
    }
    Ok(b.build()?)
}

/// An HTTP response, read whole.
#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Fetched {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub(crate) fn body_str(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or("")
    }
}

/// Sends `req` and reads the whole answer.
pub(crate) async fn fetch(req: reqwest::RequestBuilder) -> Result<Fetched, reqwest::Error> {
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await?.to_vec();
    Ok(Fetched {
        status,
        headers,
        body,
    })
}

/// The innermost cause of an error, for messages: reqwest wraps the TLS alert
/// (e.g. `access_denied`, `certificate_revoked`) several layers deep.
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    let mut text = e.to_string();
    while let Some(next) = cur.source() {
        cur = next;
        text = format!("{text}: {cur}");
    }
    text
}

/// An HTML page with this status.
pub(crate) fn html(status: u16, body: impl Into<String>) -> axum::response::Response {
    typed(status, "text/html; charset=utf-8", body.into())
}

/// A body with this status and content type.
pub(crate) fn typed(
    status: u16,
    content_type: &str,
    body: impl Into<axum::body::Body>,
) -> axum::response::Response {
    let mut r = axum::response::Response::new(body.into());
    *r.status_mut() = axum::http::StatusCode::from_u16(status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = axum::http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(axum::http::header::CONTENT_TYPE, v);
    }
    r
}

/// A `302 Found` to `location` (the OAuth redirects, RFC 6749 4.1.2).
pub(crate) fn redirect(location: &str) -> axum::response::Response {
    let mut r = typed(302, "text/plain", Vec::<u8>::new());
    if let Ok(v) = axum::http::HeaderValue::from_str(location) {
        r.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    r
}

/// Adds a header (invalid values are dropped: every value here is built by the
/// demo itself).
pub(crate) fn with_header(
    mut r: axum::response::Response,
    name: &str,
    value: &str,
) -> axum::response::Response {
    if let (Ok(k), Ok(v)) = (
        axum::http::HeaderName::from_bytes(name.as_bytes()),
        axum::http::HeaderValue::from_str(value),
    ) {
        r.headers_mut().append(k, v);
    }
    r
}

/// A fresh random identifier (128 bits from medmij-oauth's CSPRNG source), as
/// lowercase hex: flow ids, browser-session ids, anti-CSRF tokens.
pub(crate) fn random_hex() -> String {
    use medmij_oauth::RandomSource;
    let mut b = [0u8; 16];
    medmij_oauth::ThreadRandom.fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The (decoded) value of parameter `name` in a query string or form body.
pub(crate) fn param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A plain page: escaped title and text, and optionally a link to the site's
/// home page with this label.
pub(crate) fn page(title: &str, text: &str, home: Option<&str>) -> String {
    let e = medmij_consent::escape_html;
    let home = home
        .map(|label| format!("<p><a href=\"/\">{}</a></p>", e(label)))
        .unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"nl\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body><h1>{t}</h1><p>{x}</p>{home}</body></html>",
        t = e(title),
        x = e(text)
    )
}
