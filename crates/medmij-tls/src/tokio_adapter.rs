//! tokio adapter (feature `tokio`): acceptor, connector, asynchronous OCSP and the
//! OCSP driver loop (MedMij TLS-1, TLS-2, TLS-3, TLS-4); explained under "The tokio
//! adapter" on the crate root.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rustls::pki_types::ServerName;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio_rustls::{LazyConfigAcceptor, TlsConnector, client, server};

use crate::certs::OwnCertificates;
use crate::config::{BackChannel, ServerConfigs, front_channel_server_configs};
use crate::driver::OcspDriver;
use crate::error::{ConfigError, OcspFailure, PeerRole, Refusal, RefusalEvent};
use crate::identity::PeerIdentity;
use crate::ocsp::{CachedStatus, OcspQuery, OcspSourceError, OnCacheMiss};
use crate::verify::PeerChecks;

/// Settings of the acceptor and the connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdapterSettings {
    /// The TLS handshake must finish within this time. Default 10 s.
    pub handshake_timeout: Duration,
    /// A first contact's OCSP answer must arrive within this time (MedMij
    /// TLS-3). Default 5 s.
    pub ocsp_deadline: Duration,
    /// Connections from one source address that may be between TCP accept and
    /// the end of their checks at once; more are closed at once. Default 16.
    pub max_handshakes_per_source: usize,
    /// The same, for all sources together. Default 1024.
    pub max_handshakes: usize,
}

impl Default for AdapterSettings {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(10),
            ocsp_deadline: Duration::from_secs(5),
            max_handshakes_per_source: 16,
            max_handshakes: 1024,
        }
    }
}

/// Why a connection was not established.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The handshake did not finish in time.
    #[error("TLS handshake did not finish within {0:?}")]
    HandshakeTimeout(Duration),
    /// The TLS handshake failed (a verifier refusal has been logged already).
    #[error("TLS handshake failed: {0}")]
    Tls(std::io::Error),
    /// The peer was refused after the handshake (OCSP of a first contact,
    /// MedMij TLS-3); the refusal has been logged.
    #[error("peer refused: {}", .0.refusal)]
    Refused(RefusalEvent),
    /// The name to connect to is not a valid DNS name.
    #[error("invalid server name {0:?}")]
    BadServerName(String),
}

/// A boxed future, as returned by [`AsyncOcspSource::fetch`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Fetches OCSP answers asynchronously, e.g. [`ReqwestOcspFetcher`].
pub trait AsyncOcspSource: Send + Sync {
    /// Ask a responder; the DER OCSPResponse.
    fn fetch<'a>(&'a self, query: &'a OcspQuery)
    -> BoxFuture<'a, Result<Vec<u8>, OcspSourceError>>;
}

/// Asks OCSP responders over HTTP POST with reqwest (RFC 6960 appendix A.1):
/// the certificate's AuthorityInfoAccess URLs in order, or one fixed URL.
#[derive(Debug, Clone)]
pub struct ReqwestOcspFetcher {
    client: reqwest::Client,
    fixed_url: Option<String>,
}

impl ReqwestOcspFetcher {
    /// A fetcher using the certificate's AuthorityInfoAccess.
    pub fn new() -> Result<Self, ConfigError> {
        let tls = crate::profile::ocsp_http_tls()?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError::BadCertificate(format!("HTTP client: {e}")))?;
        Ok(Self {
            client,
            fixed_url: None,
        })
    }

    /// A fetcher that always asks `url` (e.g. a local OCSP proxy).
    pub fn with_url(url: impl Into<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            fixed_url: Some(url.into()),
            ..Self::new()?
        })
    }

    async fn post(
        &self,
        url: &str,
        body: &[u8],
        left: Duration,
    ) -> Result<Vec<u8>, OcspSourceError> {
        if !url.starts_with("http://") {
            return Err(OcspSourceError::Transport(format!(
                "not an http:// URL: {url}"
            )));
        }
        let tr = |e: reqwest::Error| {
            if e.is_timeout() {
                OcspSourceError::Timeout
            } else {
                OcspSourceError::Transport(e.to_string())
            }
        };
        let mut resp = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/ocsp-request")
            .header(reqwest::header::ACCEPT, "application/ocsp-response")
            .body(body.to_vec())
            .timeout(left)
            .send()
            .await
            .map_err(tr)?;
        if resp.status() != reqwest::StatusCode::OK {
            return Err(OcspSourceError::Transport(format!(
                "HTTP status {}",
                resp.status()
            )));
        }
        if resp
            .content_length()
            .is_some_and(|n| n > crate::profile::MAX_OCSP_RESPONSE as u64)
        {
            return Err(OcspSourceError::Transport("response too large".into()));
        }
        // Chunk by chunk: an answer without a content-length (chunked) is refused as
        // soon as it passes the bound, not buffered until the timeout.
        let mut out = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(tr)? {
            if out.len() + chunk.len() > crate::profile::MAX_OCSP_RESPONSE {
                return Err(OcspSourceError::Transport("response too large".into()));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }
}

impl AsyncOcspSource for ReqwestOcspFetcher {
    fn fetch<'a>(
        &'a self,
        query: &'a OcspQuery,
    ) -> BoxFuture<'a, Result<Vec<u8>, OcspSourceError>> {
        Box::pin(async move {
            let deadline = Instant::now() + query.timeout;
            let urls: Vec<&str> = match &self.fixed_url {
                Some(u) => vec![u.as_str()],
                None => query.responder_urls.iter().map(String::as_str).collect(),
            };
            let mut last = OcspSourceError::NoResponder;
            for url in urls {
                let Some(left) = deadline
                    .checked_duration_since(Instant::now())
                    .filter(|d| !d.is_zero())
                else {
                    return Err(OcspSourceError::Timeout);
                };
                match self.post(url, &query.request, left).await {
                    Ok(b) => return Ok(b),
                    Err(e) => last = e,
                }
            }
            Err(last)
        })
    }
}

fn same_cache(back: &BackChannel, driver: &OcspDriver) -> Result<(), ConfigError> {
    if std::ptr::eq(driver.cache(), back.ocsp_checker().cache().as_ref()) {
        Ok(())
    } else {
        Err(ConfigError::OcspDriverMismatch)
    }
}

async fn fetch_within(
    source: &dyn AsyncOcspSource,
    query: &OcspQuery,
    within: Duration,
) -> Result<Vec<u8>, OcspSourceError> {
    match tokio::time::timeout(within, source.fetch(query)).await {
        Ok(r) => r,
        Err(_) => Err(OcspSourceError::Timeout),
    }
}

/// Keep `driver` going forever: run its due jobs concurrently with `source`,
/// then sleep until the next is due (at most `poll` — pending first contacts
/// are picked up then). Spawn it, and abort the task to stop.
pub async fn run_ocsp_driver(
    driver: Arc<OcspDriver>,
    source: Arc<dyn AsyncOcspSource>,
    poll: Duration,
) {
    loop {
        for job in driver.due(SystemTime::now()) {
            let (driver, source) = (driver.clone(), source.clone());
            tokio::spawn(async move {
                let r = fetch_within(source.as_ref(), &job.query, job.query.timeout).await;
                // The status is in the cache now, where the handshakes read it.
                let _ = driver.complete(&job, r, SystemTime::now());
            });
        }
        let now = SystemTime::now();
        let wait = driver
            .next_refresh_at()
            .and_then(|t| t.duration_since(now).ok())
            .unwrap_or(poll)
            .min(poll)
            .max(Duration::from_millis(10));
        tokio::time::sleep(wait).await;
    }
}

/// Settle the OCSP status of `peer` (MedMij TLS-3): from the cache, else fetch
/// within `deadline`; anything but "good" is the refusal.
async fn settle(
    driver: &OcspDriver,
    source: &dyn AsyncOcspSource,
    peer: &PeerIdentity,
    deadline: Duration,
) -> Result<(), Refusal> {
    let start = Instant::now();
    loop {
        match peer.ocsp_status(driver.cache(), SystemTime::now()) {
            CachedStatus::Good => return Ok(()),
            CachedStatus::Refused(f) => return Err(Refusal::Ocsp(f)),
            CachedStatus::Unknown => {}
        }
        let Some(left) = deadline
            .checked_sub(start.elapsed())
            .filter(|d| !d.is_zero())
        else {
            return Err(Refusal::Ocsp(OcspFailure::Timeout(deadline.as_millis())));
        };
        match driver.job_now(peer.cert_key()) {
            Some(job) => {
                let r = fetch_within(source, &job.query, left).await;
                // Read back from the cache below, like a status another connection fetched.
                let _ = driver.complete(&job, r, SystemTime::now());
            }
            // Another connection of the same peer is fetching: wait for it.
            None => tokio::time::sleep(Duration::from_millis(20).min(left)).await,
        }
    }
}

/// Counts connections between TCP accept and the end of their checks.
#[derive(Debug, Default)]
struct Admission {
    per_source: Mutex<HashMap<IpAddr, usize>>,
}

/// A place among the connections being checked; released when dropped.
#[derive(Debug)]
pub struct HandshakePermit {
    admission: Arc<Admission>,
    ip: IpAddr,
}

impl Drop for HandshakePermit {
    fn drop(&mut self) {
        let mut m = self
            .admission
            .per_source
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

impl Admission {
    fn admit(
        self: &Arc<Self>,
        ip: IpAddr,
        per_source: usize,
        global: usize,
    ) -> Option<HandshakePermit> {
        let mut m = self.per_source.lock().unwrap_or_else(|p| p.into_inner());
        let total: usize = m.values().sum();
        let mine = m.get(&ip).copied().unwrap_or(0);
        if mine >= per_source || total >= global {
            return None;
        }
        *m.entry(ip).or_insert(0) += 1;
        Some(HandshakePermit {
            admission: self.clone(),
            ip,
        })
    }
}

/// A connection that passed every check: the TLS stream, the peer's identity
/// and its address.
#[derive(Debug)]
pub struct Established {
    /// The TLS stream, ready for the first request.
    pub stream: server::TlsStream<TcpStream>,
    /// Who the peer is.
    pub peer: PeerIdentity,
    /// Where it connected from.
    pub addr: SocketAddr,
}

struct AcceptorInner {
    configs: ServerConfigs,
    checks: PeerChecks,
    driver: Arc<OcspDriver>,
    source: Arc<dyn AsyncOcspSource>,
    settings: AdapterSettings,
    admission: Arc<Admission>,
}

/// Back-channel server side on tokio-rustls (see the module docs).
#[derive(Clone)]
pub struct MedmijAcceptor {
    inner: Arc<AcceptorInner>,
}

impl std::fmt::Debug for MedmijAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MedmijAcceptor")
            .field("settings", &self.inner.settings)
            .finish()
    }
}

impl MedmijAcceptor {
    /// An acceptor for `back` (its verifiers switched to
    /// [`OnCacheMiss::Provisional`]). `driver` must be built on
    /// `back.ocsp_checker()` (so that it fills the cache the verifiers read);
    /// `source` fetches first contacts' answers. A driver on another checker
    /// is [`ConfigError::OcspDriverMismatch`].
    pub fn new(
        back: &BackChannel,
        driver: Arc<OcspDriver>,
        source: Arc<dyn AsyncOcspSource>,
        settings: AdapterSettings,
    ) -> Result<Self, ConfigError> {
        same_cache(back, &driver)?;
        let back = back.clone().on_cache_miss(OnCacheMiss::Provisional);
        Ok(Self {
            inner: Arc::new(AcceptorInner {
                configs: back.server_configs()?,
                checks: back.checks().clone(),
                driver,
                source,
                settings,
                admission: Arc::new(Admission::default()),
            }),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &AdapterSettings {
        &self.inner.settings
    }

    /// A place for a new connection from `addr`, or `None` when its source (or
    /// everyone together) already has the maximum of connections in their
    /// handshake: close the connection then.
    pub fn admit(&self, addr: SocketAddr) -> Option<HandshakePermit> {
        let s = &self.inner.settings;
        self.inner
            .admission
            .admit(addr.ip(), s.max_handshakes_per_source, s.max_handshakes)
    }

    /// Handshake on an accepted TCP connection, within the deadline, with the
    /// server's group preference; then settle a provisional OCSP check. On
    /// success the stream is ready for the first request.
    pub async fn accept(
        &self,
        tcp: TcpStream,
        permit: HandshakePermit,
    ) -> Result<(server::TlsStream<TcpStream>, PeerIdentity), AdapterError> {
        let inner = &self.inner;
        let t = inner.settings.handshake_timeout;
        let stream = tokio::time::timeout(t, handshake(&inner.configs, tcp))
            .await
            .map_err(|_| AdapterError::HandshakeTimeout(t))??;
        let certs = stream.get_ref().1.peer_certificates().unwrap_or_default();
        let peer =
            PeerIdentity::from_peer_certificates(PeerRole::Client, certs, None).map_err(|r| {
                AdapterError::Refused(inner.checks.report(PeerRole::Client, Vec::new(), r))
            })?;
        settle(
            &inner.driver,
            inner.source.as_ref(),
            &peer,
            inner.settings.ocsp_deadline,
        )
        .await
        .map_err(|r| {
            AdapterError::Refused(inner.checks.report(
                PeerRole::Client,
                peer.dns_names().to_vec(),
                r,
            ))
        })?;
        drop(permit);
        Ok((stream, peer))
    }

    /// Accept on `listener` until the returned [`Incoming`] is dropped: each
    /// connection is admitted (per-source and global limits), handshaken and
    /// checked on a task of its own, and handed out only once it passed.
    pub fn incoming(&self, listener: TcpListener) -> Incoming {
        let (tx, rx) = mpsc::channel(64);
        let me = self.clone();
        let task = tokio::spawn(async move {
            loop {
                let Some((tcp, addr, permit)) = admitted(&listener, |a| me.admit(a)).await else {
                    continue;
                };
                let (me, tx) = (me.clone(), tx.clone());
                tokio::spawn(async move {
                    match me.accept(tcp, permit).await {
                        Ok((stream, peer)) => {
                            let _ = tx.send(Established { stream, peer, addr }).await;
                        }
                        Err(e) => {
                            log::info!("medmij-tls: connection from {addr} not established: {e}")
                        }
                    }
                });
            }
        });
        Incoming {
            rx,
            task: task.abort_handle(),
        }
    }

    /// The re-check before each request on a kept-open connection, against the
    /// Whitelist and the OCSP cache at `now`; refusals are logged (MedMij
    /// TLS-4, TLS-3).
    pub fn recheck(&self, peer: &PeerIdentity, now: SystemTime) -> Result<(), Refusal> {
        self.inner
            .checks
            .recheck(peer, now)
            .map_err(|ev| ev.refusal)
    }
}

/// Established connections from [`MedmijAcceptor::incoming`]; dropping it
/// stops accepting.
#[derive(Debug)]
pub struct Incoming {
    rx: mpsc::Receiver<Established>,
    task: AbortHandle,
}

impl Incoming {
    /// The next established connection.
    pub async fn next(&mut self) -> Option<Established> {
        self.rx.recv().await
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Front-channel server side on tokio-rustls (user agent to gateway, no
/// client certificate): the server's strongest group per ClientHello (MedMij
/// TLS-1, TLS-6), the handshake deadline and the per-source and global limits
/// of [`AdapterSettings`] (its `ocsp_deadline` is not used here).
#[derive(Clone)]
pub struct FrontAcceptor {
    configs: ServerConfigs,
    settings: AdapterSettings,
    admission: Arc<Admission>,
}

impl std::fmt::Debug for FrontAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrontAcceptor")
            .field("settings", &self.settings)
            .finish()
    }
}

impl FrontAcceptor {
    /// A front-channel acceptor presenting one of `own`, with the 1.x profile.
    pub fn new(own: OwnCertificates, settings: AdapterSettings) -> Result<Self, ConfigError> {
        Ok(Self {
            configs: front_channel_server_configs(own)?,
            settings,
            admission: Arc::new(Admission::default()),
        })
    }

    /// A front-channel acceptor for `profile` (a [`crate::TlsProfile`] or a
    /// `medmij_types::ReleaseLine`): under the 2.x profile a wildcard own
    /// certificate is [`ConfigError::WildcardCertificate`] (MedMij TLS-6).
    /// The back channel's profile is [`BackChannel::with_profile`].
    pub fn with_profile(
        profile: impl Into<crate::TlsProfile>,
        own: OwnCertificates,
        settings: AdapterSettings,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            configs: crate::front_channel_server_configs_for(profile, own)?,
            settings,
            admission: Arc::new(Admission::default()),
        })
    }

    /// As [`MedmijAcceptor::admit`].
    pub fn admit(&self, addr: SocketAddr) -> Option<HandshakePermit> {
        let s = &self.settings;
        self.admission
            .admit(addr.ip(), s.max_handshakes_per_source, s.max_handshakes)
    }

    /// Handshake on an accepted TCP connection within the deadline, with the
    /// server's group preference.
    pub async fn accept(
        &self,
        tcp: TcpStream,
        permit: HandshakePermit,
    ) -> Result<server::TlsStream<TcpStream>, AdapterError> {
        let t = self.settings.handshake_timeout;
        let stream = tokio::time::timeout(t, handshake(&self.configs, tcp))
            .await
            .map_err(|_| AdapterError::HandshakeTimeout(t))??;
        drop(permit);
        Ok(stream)
    }

    /// Accept on `listener` until the returned [`FrontIncoming`] is dropped,
    /// as [`MedmijAcceptor::incoming`] does.
    pub fn incoming(&self, listener: TcpListener) -> FrontIncoming {
        let (tx, rx) = mpsc::channel(64);
        let me = self.clone();
        let task = tokio::spawn(async move {
            loop {
                let Some((tcp, addr, permit)) = admitted(&listener, |a| me.admit(a)).await else {
                    continue;
                };
                let (me, tx) = (me.clone(), tx.clone());
                tokio::spawn(async move {
                    match me.accept(tcp, permit).await {
                        Ok(stream) => {
                            let _ = tx.send((stream, addr)).await;
                        }
                        Err(e) => {
                            log::info!("medmij-tls: connection from {addr} not established: {e}")
                        }
                    }
                });
            }
        });
        FrontIncoming {
            rx,
            task: task.abort_handle(),
        }
    }
}

/// Established front-channel connections (TLS stream, peer address) from
/// [`FrontAcceptor::incoming`]; dropping it stops accepting.
#[derive(Debug)]
pub struct FrontIncoming {
    rx: mpsc::Receiver<(server::TlsStream<TcpStream>, SocketAddr)>,
    task: AbortHandle,
}

impl FrontIncoming {
    /// The next established connection.
    pub async fn next(&mut self) -> Option<(server::TlsStream<TcpStream>, SocketAddr)> {
        self.rx.recv().await
    }
}

impl Drop for FrontIncoming {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Read the ClientHello, continue with the config of the server's strongest
/// group (MedMij TLS-1).
async fn handshake(
    configs: &ServerConfigs,
    tcp: TcpStream,
) -> Result<server::TlsStream<TcpStream>, AdapterError> {
    let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp)
        .await
        .map_err(AdapterError::Tls)?;
    let cfg = configs.for_client_hello(&start.client_hello());
    start.into_stream(cfg).await.map_err(AdapterError::Tls)
}

/// Accept one TCP connection and admit it; `None` (after logging) when
/// accepting failed or the source is over its limit (the connection is closed).
async fn admitted(
    listener: &TcpListener,
    admit: impl Fn(SocketAddr) -> Option<HandshakePermit>,
) -> Option<(TcpStream, SocketAddr, HandshakePermit)> {
    let (tcp, addr) = match listener.accept().await {
        Ok(x) => x,
        Err(e) => {
            log::warn!("medmij-tls: accept failed: {e}");
            tokio::time::sleep(Duration::from_millis(50)).await;
            return None;
        }
    };
    match admit(addr) {
        Some(p) => Some((tcp, addr, p)),
        None => {
            log::warn!(
                "medmij-tls: too many connections in their handshake from {}; closed",
                addr.ip()
            );
            None
        }
    }
}

/// Back-channel client side on tokio-rustls (see the module docs).
#[derive(Clone)]
pub struct MedmijConnector {
    connector: TlsConnector,
    checks: PeerChecks,
    driver: Arc<OcspDriver>,
    source: Arc<dyn AsyncOcspSource>,
    settings: AdapterSettings,
}

impl std::fmt::Debug for MedmijConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MedmijConnector")
            .field("settings", &self.settings)
            .finish()
    }
}

impl MedmijConnector {
    /// A connector for `back` (verifier switched to
    /// [`OnCacheMiss::Provisional`]); `driver` built on `back.ocsp_checker()`.
    pub fn new(
        back: &BackChannel,
        driver: Arc<OcspDriver>,
        source: Arc<dyn AsyncOcspSource>,
        settings: AdapterSettings,
    ) -> Result<Self, ConfigError> {
        same_cache(back, &driver)?;
        let back = back.clone().on_cache_miss(OnCacheMiss::Provisional);
        Ok(Self {
            connector: TlsConnector::from(Arc::new(back.client_config()?)),
            checks: back.checks().clone(),
            driver,
            source,
            settings,
        })
    }

    /// Handshake with `server_name` over `tcp` within the deadline, then settle
    /// a provisional OCSP check; the stream is then ready for the first request.
    pub async fn connect(
        &self,
        server_name: &str,
        tcp: TcpStream,
    ) -> Result<(client::TlsStream<TcpStream>, PeerIdentity), AdapterError> {
        let name = ServerName::try_from(server_name.to_owned())
            .map_err(|_| AdapterError::BadServerName(server_name.to_owned()))?;
        let t = self.settings.handshake_timeout;
        let stream = tokio::time::timeout(t, self.connector.connect(name, tcp))
            .await
            .map_err(|_| AdapterError::HandshakeTimeout(t))?
            .map_err(AdapterError::Tls)?;
        let certs = stream.get_ref().1.peer_certificates().unwrap_or_default();
        let peer = PeerIdentity::from_peer_certificates(PeerRole::Server, certs, Some(server_name))
            .map_err(|r| {
                AdapterError::Refused(self.checks.report(PeerRole::Server, Vec::new(), r))
            })?;
        settle(
            &self.driver,
            self.source.as_ref(),
            &peer,
            self.settings.ocsp_deadline,
        )
        .await
        .map_err(|r| {
            AdapterError::Refused(self.checks.report(
                PeerRole::Server,
                peer.dns_names().to_vec(),
                r,
            ))
        })?;
        Ok((stream, peer))
    }

    /// The re-check before each request on a kept-open connection (MedMij
    /// TLS-4, TLS-3); refusals are logged.
    pub fn recheck(&self, peer: &PeerIdentity, now: SystemTime) -> Result<(), Refusal> {
        self.checks.recheck(peer, now).map_err(|ev| ev.refusal)
    }
}
