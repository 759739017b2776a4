//! HTTP over TLS for the demo network: axum routers served by hyper on tokio,
//! the handshake done by tokio-rustls with medmij-tls's configurations, and
//! reqwest clients for the gateways and the scripted browser.
//!
//! Servers accept through medmij-tls's tokio adapter ([`Acceptor`]): the
//! server's strongest key-exchange group wins (MedMij TLS-1), the handshake has
//! a deadline and the connections in their handshake are counted per source.
//! The back channel keeps connections open and the gateways' clients pool them;
//! before every request on a kept-open connection the server re-checks the peer
//! against the Whitelist and the OCSP status in force (MedMij TLS-4, TLS-3), so
//! that a node dropped from the Whitelist or revoked is refused at its very next
//! request, not only once its connection happens to close.
//!
//! rustls verifies certificates synchronously inside the handshake; medmij-tls's
//! verifier reads only the stapled answer and its OCSP cache, which the demo's
//! OCSP driver task fills (see `Network::start`); a first contact's answer is
//! fetched asynchronously by the adapter before the first request.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::AbortHandle;
use tower::ServiceExt;

use super::DemoError;

use super::limits::HANDSHAKE_TIMEOUT;
/// The end-to-end limit of one outgoing request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The address a request's connection came from (MedMij LOG-1 "where"). Handlers
/// read it as an axum `Extension`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerAddr(pub(crate) SocketAddr);

/// A connection that ended before any request: its TLS handshake failed, timed
/// out, or the source already held its share of connections.
#[derive(Debug, Clone)]
pub(crate) struct HandshakeFailure {
    /// Where it came from.
    pub(crate) addr: SocketAddr,
    /// The refusal medmij-tls reported during the handshake (a certificate that
    /// was presented and refused: not on the Whitelist, revoked, …), if any.
    pub(crate) refusal: Option<medmij_tls::RefusalEvent>,
    /// What went wrong, in words.
    pub(crate) error: String,
}

/// Told about every [`HandshakeFailure`] of a server (to log it, MedMij LOG-1).
pub(crate) type HandshakeHook = Arc<dyn Fn(HandshakeFailure) + Send + Sync>;

/// The connection limits of one server (see [`super::limits`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnLimits {
    pub(crate) max_connections: usize,
    pub(crate) per_source: usize,
    pub(crate) handshake_timeout: Duration,
}

impl ConnLimits {
    pub(crate) fn from(l: &super::Limits) -> Self {
        ConnLimits {
            max_connections: l.max_connections.max(1),
            per_source: l.max_connections_per_source.max(1),
            handshake_timeout: l.handshake_timeout,
        }
    }
}

tokio::task_local! {
    /// Set while a server task runs a TLS handshake: where medmij-tls's refusal
    /// log (called synchronously inside the handshake) leaves its event, so that
    /// the server logs one entry per refused handshake, with the source address.
    static HANDSHAKE_REFUSAL: Arc<Mutex<Option<medmij_tls::RefusalEvent>>>;
}

/// Hands a refusal to the server task whose handshake is running on this task,
/// if any; returns whether it was taken (if not, the caller logs it itself).
pub(crate) fn capture_refusal(ev: &medmij_tls::RefusalEvent) -> bool {
    HANDSHAKE_REFUSAL
        .try_with(|slot| {
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(ev.clone());
        })
        .is_ok()
}

/// Counts the connections per source address; a [`SourceSlot`] gives its place
/// back when dropped.
#[derive(Default)]
struct PerSource(Mutex<HashMap<IpAddr, usize>>);

struct SourceSlot {
    table: Arc<PerSource>,
    ip: IpAddr,
}

impl PerSource {
    fn take(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<SourceSlot> {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(ip).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(SourceSlot {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut m = self.table.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

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

/// How a server accepts: through medmij-tls's tokio adapter, which reads the
/// ClientHello first and continues with the server's strongest key-exchange
/// group (MedMij TLS-1), bounds the handshake in time and counts the
/// connections in their handshake per source.
#[derive(Clone)]
pub(crate) enum Acceptor {
    /// Back channel: mutual TLS, the Whitelist and OCSP at the handshake
    /// (a first contact's OCSP answer awaited before the first request), and
    /// the re-check before every request on the kept-open connection (MedMij
    /// TLS-3, TLS-4).
    Back(medmij_tls::MedmijAcceptor),
    /// Front channel: no client certificate.
    Front(medmij_tls::FrontAcceptor),
}

/// The settings of medmij-tls's adapter from the demo's limits.
pub(crate) fn adapter_settings(l: &super::Limits) -> medmij_tls::AdapterSettings {
    medmij_tls::AdapterSettings {
        handshake_timeout: l.handshake_timeout,
        ocsp_deadline: l.ocsp_first_contact_deadline,
        max_handshakes_per_source: l.max_handshakes_per_source.max(1),
        max_handshakes: l.max_connections.max(1),
    }
}

/// The next connection on `listener`. Accept errors (e.g. out of file
/// descriptors) are waited out with a short back-off instead of a busy loop.
pub(crate) async fn accept(listener: &TcpListener) -> tokio::net::TcpStream {
    accept_from(listener).await.0
}

/// As [`accept`], with the peer's address.
pub(crate) async fn accept_from(listener: &TcpListener) -> (tokio::net::TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(c) => return c,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Serves `router` on `listener` through `acceptor`, on the current tokio
/// runtime, with keep-alive. A failed handshake ends that connection only and
/// is reported to `on_failure` (with the refusal medmij-tls reported inside the
/// handshake, if any). At most `limits.max_connections` connections are served
/// at once, at most `limits.per_source` from one address (MedMij OAUTH-14); a
/// connection beyond the latter, or beyond the adapter's handshake places, is
/// closed at once and reported too. `established` counts the connections that
/// passed their handshake and checks.
///
/// On the back channel every request is preceded by the re-check of the peer
/// against the Whitelist and the OCSP status in force (MedMij TLS-4, TLS-3): a
/// refused peer gets HTTP 403 with `Connection: close` (the connection ends
/// after it), and the refusal is reported to `on_failure` as well. Returns the
/// handle that stops accepting.
pub(crate) fn serve(
    listener: TcpListener,
    acceptor: Acceptor,
    router: Router,
    limits: ConnLimits,
    on_failure: Option<HandshakeHook>,
    established: Arc<std::sync::atomic::AtomicU64>,
) -> AbortHandle {
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let per_source = Arc::new(PerSource::default());
    tokio::spawn(async move {
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let (sock, addr) = accept_from(&listener).await;
            let refuse = |error: String| {
                if let Some(hook) = &on_failure {
                    hook(HandshakeFailure {
                        addr,
                        refusal: None,
                        error,
                    });
                }
            };
            let Some(source_slot) = per_source.take(addr.ip(), limits.per_source) else {
                drop(sock);
                refuse(format!(
                    "connection closed: {} connections from this address already open",
                    limits.per_source
                ));
                continue;
            };
            let permit = match &acceptor {
                Acceptor::Back(a) => a.admit(addr),
                Acceptor::Front(a) => a.admit(addr),
            };
            let Some(permit) = permit else {
                drop(sock);
                refuse(
                    "connection closed: too many connections from this address (or in all) \
                     in their TLS handshake"
                        .into(),
                );
                continue;
            };
            let acceptor = acceptor.clone();
            let router = router.clone();
            let on_failure = on_failure.clone();
            let established = established.clone();
            tokio::spawn(async move {
                let _slot = (slot, source_slot);
                let _ = sock.set_nodelay(true);
                let refusal = Arc::new(Mutex::new(None));
                let accepted = HANDSHAKE_REFUSAL
                    .scope(refusal.clone(), async {
                        match &acceptor {
                            Acceptor::Back(a) => a
                                .accept(sock, permit)
                                .await
                                .map(|(tls, peer)| (tls, Some(Arc::new(peer)))),
                            Acceptor::Front(a) => a.accept(sock, permit).await.map(|t| (t, None)),
                        }
                    })
                    .await;
                let (tls, identity) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        if let Some(hook) = &on_failure {
                            let refusal = refusal.lock().unwrap_or_else(|e| e.into_inner()).take();
                            hook(HandshakeFailure {
                                addr,
                                refusal,
                                error: e.to_string(),
                            });
                        }
                        return;
                    }
                };
                established.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let names: Vec<String> = identity
                    .as_ref()
                    .map(|p| p.dns_names().to_vec())
                    .unwrap_or_default();
                let peer = PeerNames(names.into());
                let back = match &acceptor {
                    Acceptor::Back(a) => Some(a.clone()),
                    Acceptor::Front(_) => None,
                };
                let service = hyper::service::service_fn(
                    move |mut req: hyper::Request<hyper::body::Incoming>| {
                        let refused = match (&back, &identity) {
                            (Some(a), Some(id)) => recheck(a, id, addr, on_failure.as_ref()),
                            _ => None,
                        };
                        req.extensions_mut().insert(peer.clone());
                        req.extensions_mut().insert(PeerAddr(addr));
                        if let Some(id) = &identity {
                            req.extensions_mut().insert(id.clone());
                        }
                        let router = router.clone();
                        async move {
                            match refused {
                                Some(r) => Ok(r),
                                None => router.oneshot(req).await,
                            }
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(limits.handshake_timeout)
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    })
    .abort_handle()
}

/// MedMij TLS-4 (and TLS-3) before a request on a kept-open back-channel
/// connection: the peer against the Whitelist and the OCSP status in force now.
/// `None` when it passes; else the refusal answer (HTTP 403, `Connection:
/// close`), after reporting the refusal to `on_failure` with the source address
/// (MedMij LOG-1).
fn recheck(
    acceptor: &medmij_tls::MedmijAcceptor,
    peer: &medmij_tls::PeerIdentity,
    addr: SocketAddr,
    on_failure: Option<&HandshakeHook>,
) -> Option<axum::response::Response> {
    let slot = Arc::new(Mutex::new(None));
    let result = HANDSHAKE_REFUSAL.sync_scope(slot.clone(), || {
        acceptor.recheck(peer, std::time::SystemTime::now())
    });
    let refusal = result.err()?;
    if let Some(hook) = on_failure {
        hook(HandshakeFailure {
            addr,
            refusal: slot.lock().unwrap_or_else(|e| e.into_inner()).take(),
            error: format!("refused at the re-check before a request: {refusal}"),
        });
    }
    Some(with_header(
        typed(
            403,
            "text/plain; charset=utf-8",
            format!("refused (MedMij TLS-4): {refusal}"),
        ),
        "Connection",
        "close",
    ))
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
    cookies: Option<Arc<reqwest::cookie::Jar>>,
) -> Result<reqwest::Client, DemoError> {
    let mut b = client_builder(tls, hosts);
    if let Some(jar) = cookies {
        b = b.cookie_provider(jar);
    }
    Ok(b.build()?)
}

/// The builder behind [`client`] and [`BackClient`].
fn client_builder(tls: rustls::ClientConfig, hosts: &HostMap) -> reqwest::ClientBuilder {
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
    b
}

/// Most servers a [`BackClient`] remembers the identity of (the ZA GWs the ZAL
/// names; a bound for memory, OAUTH-14). Beyond it the table starts afresh:
/// a server not remembered is checked at its next handshake as ever.
const MAX_KNOWN_SERVERS: usize = 1024;

/// A gateway's back-channel client: reqwest, pooling its mutual-TLS connections
/// (keep-alive), with the client side of the re-check (MedMij TLS-4, TLS-3):
/// before every request to a server whose certificate it has seen (on a
/// connection the pool may still hold), that server is checked against the
/// Whitelist and the OCSP status in force; a refused server gets no request.
/// A first request opens a connection and is checked in its handshake.
pub(crate) struct BackClient {
    client: reqwest::Client,
    checks: medmij_tls::PeerChecks,
    known: Mutex<HashMap<String, medmij_tls::PeerIdentity>>,
}

impl BackClient {
    /// `tls` from medmij-tls's `BackChannel::client_config`, `checks` from the
    /// same `BackChannel` (its Whitelist, OCSP cache and refusal log).
    pub(crate) fn new(
        tls: rustls::ClientConfig,
        hosts: &HostMap,
        checks: medmij_tls::PeerChecks,
    ) -> Result<Self, DemoError> {
        Ok(BackClient {
            client: client_builder(tls, hosts).tls_info(true).build()?,
            checks,
            known: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn get(&self, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.client.get(url)
    }

    pub(crate) fn post(&self, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.client.post(url)
    }

    /// Re-checks the server (if seen before), sends `req` and reads the whole
    /// answer; remembers the server's certificate from the answer's connection.
    pub(crate) async fn fetch(&self, req: reqwest::RequestBuilder) -> Result<Fetched, DemoError> {
        let req = req.build()?;
        let host = req
            .url()
            .host_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let known = self
            .known
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&host)
            .cloned();
        if let Some(peer) = known {
            // Refusals are reported to the refusal log by `recheck` (traced).
            self.checks
                .recheck(&peer, std::time::SystemTime::now())
                .map_err(|ev| {
                    format!(
                        "{host} refused before the request (re-check on a kept-open connection): {}",
                        ev.refusal
                    )
                })?;
        }
        let resp = self.client.execute(req).await?;
        let leaf = resp
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|i| i.peer_certificate())
            .map(|der| rustls::pki_types::CertificateDer::from(der.to_vec()));
        if let Some(leaf) = leaf
            && let Ok(peer) = medmij_tls::PeerIdentity::from_peer_certificates(
                medmij_tls::PeerRole::Server,
                &[leaf],
                Some(&host),
            )
        {
            let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
            if known.len() >= MAX_KNOWN_SERVERS && !known.contains_key(&host) {
                known.clear();
            }
            known.insert(host, peer);
        }
        read_whole(resp).await.map_err(Into::into)
    }
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
    read_whole(req.send().await?).await
}

/// Reads a response whole.
async fn read_whole(resp: reqwest::Response) -> Result<Fetched, reqwest::Error> {
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

/// Sets a header, replacing any earlier value of it, so that a response carries
/// each header once (e.g. exactly one `Content-Type`). Invalid values are
/// dropped: every value here is built by the demo itself.
pub(crate) fn with_header(
    mut r: axum::response::Response,
    name: &str,
    value: &str,
) -> axum::response::Response {
    if let (Ok(k), Ok(v)) = (
        axum::http::HeaderName::from_bytes(name.as_bytes()),
        axum::http::HeaderValue::from_str(value),
    ) {
        r.headers_mut().insert(k, v);
    }
    r
}

/// A back-channel answer with health data or about a token: never stored by a
/// cache (RFC 6750 5.3, RFC 6749 5.1 via MedMij OAUTH-14).
pub(crate) fn no_store(r: axum::response::Response) -> axum::response::Response {
    with_header(
        with_header(r, "Cache-Control", "no-store"),
        "Pragma",
        "no-cache",
    )
}

/// A fresh random identifier (128 bits from medmij-oauth's CSPRNG source), as
/// lowercase hex: flow ids, browser-session ids, anti-CSRF tokens.
pub(crate) fn random_hex() -> String {
    use medmij_oauth::RandomSource;
    let mut b = [0u8; 16];
    medmij_oauth::ThreadRandom.fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
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
