//! Plumbing shared by the embedding examples (`examples/embed_za.rs`, `examples/embed_pgo.rs`)
//! that a vendor replaces with its own: the test PKI (PKIoverheid certificates in
//! production), serving an axum router over medmij-tls (front channel and mutual-TLS back
//! channel with the per-request re-check, MedMij TLS-4), a small HTTPS client, a
//! medmij-log audit sink for the adapter (LOG-1) that also writes the adapter's chain steps
//! as medmij-log `ChainEvent`s (LOG-6), and medmij-consent's consent screens of both release
//! lines for the ZA GW (CONSENT-1, CONSENT-6).

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::TokioIo;
use medmij_consent::{self as consent, PageOptions, PostedDecision, Toestemming};
use medmij_log::{Action, Actor, ActorKind, AsyncLog, Event, FileLog, Object, Outcome, Source};
use medmij_log::{ChainEvent, ChainEventSink, ChainEventType, JsonLinesChainSink};
use medmij_oauth::adapter::{
    AuditEvent, AuditSink, ChainActor, ChainGrant, ChainStep, ChainStepKind, ConsentUi, FlowInfo,
    HostPage, HostRequest, ManagementInfo, MtlsClient, TokenTransport, TransportError, plain,
};
use medmij_oauth::{
    ClientId, ConsentDecision, ConsentPeriod, LongLastingConsent, ReleaseLine, TokenRequest,
    TracedTokenRequest,
};
use medmij_tls::{
    AdapterSettings, FrontAcceptor, MedmijAcceptor, MedmijConnector, ReqwestOcspFetcher,
};
use medmij_tls::{
    BackChannel, BlockingOcspFetcher, OcspChecker, OcspDriver, OwnCertificates, WhitelistAnswer,
};
use medmij_tls::{CertOptions, OcspResponder, TestPki};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// Any error of the examples.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A test PKI with its OCSP responder (MedMij TLS-2, TLS-3). Create it outside the runtime
/// or in `spawn_blocking`.
pub struct Pki {
    pki: Arc<TestPki>,
    responder: OcspResponder,
}

/// One gateway's TLS: back-channel acceptor and connector (mutual TLS), front acceptor.
pub struct Tls {
    /// Back channel, server side.
    pub acceptor: MedmijAcceptor,
    /// Back channel, client side.
    pub connector: MedmijConnector,
    /// Front channel (browsers).
    pub front: FrontAcceptor,
}

impl Pki {
    /// A fresh PKI and OCSP responder on loopback.
    pub fn new() -> Result<Pki, BoxError> {
        // reqwest (the OCSP fetcher) uses the process's default rustls provider.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let pki = Arc::new(TestPki::new("MedMij embed")?);
        let responder = OcspResponder::start(pki.clone())?;
        Ok(Pki { pki, responder })
    }

    /// TLS for `host`, trusting the peers in `whitelist` (the MedMij Whitelist, TLS-4).
    /// Blocking (fetches the first OCSP answer): call it in `spawn_blocking` or before the
    /// runtime.
    pub fn tls(&self, host: &str, whitelist: &[&str]) -> Result<Tls, BoxError> {
        let cert = self
            .pki
            .issue(&[host], &CertOptions::with_ocsp(self.responder.url()))?;
        let listed: Vec<String> = whitelist.iter().map(|h| h.to_string()).collect();
        let wl = move |h: &str, _now: SystemTime| {
            if listed.iter().any(|l| l == h) {
                WhitelistAnswer::Listed
            } else {
                WhitelistAnswer::NotListed
            }
        };
        let own = || OwnCertificates::new(vec![cert.own_certificate()?]);
        let back = BackChannel::new(self.pki.trust_anchors()?, Arc::new(wl), own()?)
            .with_ocsp(OcspChecker::new());
        let driver = Arc::new(OcspDriver::new(back.ocsp_checker()));
        driver.watch_chain(&cert.chain)?;
        driver.refresh_blocking(&BlockingOcspFetcher::new()?, SystemTime::now());
        let source = Arc::new(ReqwestOcspFetcher::new()?);
        let settings = AdapterSettings::default();
        Ok(Tls {
            acceptor: MedmijAcceptor::new(&back, driver.clone(), source.clone(), settings)?,
            connector: MedmijConnector::new(&back, driver, source, settings)?,
            front: FrontAcceptor::new(own()?, settings)?,
        })
    }

    /// A client certificate for `host` (with this PKI's OCSP responder) written to `dir` as
    /// PEM files for a client that is not ours (an interoperability test): (chain, key,
    /// root).
    pub fn write_client_pems(
        &self,
        host: &str,
        dir: &std::path::Path,
    ) -> Result<(PathBuf, PathBuf, PathBuf), BoxError> {
        let cert = self
            .pki
            .issue(&[host], &CertOptions::with_ocsp(self.responder.url()))?;
        let (chain, key, root) = (
            dir.join(format!("{host}.chain.pem")),
            dir.join(format!("{host}.key.pem")),
            dir.join("root.pem"),
        );
        std::fs::write(&chain, &cert.chain_pem)?;
        std::fs::write(&key, &cert.key_pem)?;
        std::fs::write(&root, self.pki.root_pem())?;
        Ok((chain, key, root))
    }

    /// A browser's TLS configuration: trusts the test root.
    pub fn browser(&self) -> Result<Arc<rustls::ClientConfig>, BoxError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.pki.root_der().clone())?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

/// Serves `router` on the back channel: mutual TLS through `acceptor`; before every request
/// the peer is re-checked against the Whitelist and revocation (MedMij TLS-4), and the
/// request carries the peer's hostname as [`MtlsClient`] (OAUTH-3) and its address.
pub async fn serve_back(acceptor: MedmijAcceptor, listener: TcpListener, router: Router) {
    let mut incoming = acceptor.incoming(listener);
    while let Some(est) = incoming.next().await {
        let (acceptor, router) = (acceptor.clone(), router.clone());
        tokio::spawn(async move {
            let (peer, addr) = (Arc::new(est.peer), est.addr);
            let service = hyper::service::service_fn(move |mut req: hyper::Request<_>| {
                let (acceptor, router, peer) = (acceptor.clone(), router.clone(), peer.clone());
                async move {
                    if acceptor.recheck(&peer, SystemTime::now()).is_err() {
                        let mut r = axum::response::Response::new(axum::body::Body::empty());
                        *r.status_mut() = axum::http::StatusCode::FORBIDDEN;
                        return Ok(r);
                    }
                    let name = peer.dns_names().first().cloned().unwrap_or_default();
                    if let Ok(id) = ClientId::new(name.as_str()) {
                        req.extensions_mut().insert(MtlsClient(id));
                    }
                    req.extensions_mut().insert(ConnectInfo(addr));
                    router.oneshot(req).await
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(est.stream), service)
                .await;
        });
    }
}

/// Serves `router` on the front channel (TLS, no client certificate).
pub async fn serve_front(front: FrontAcceptor, listener: TcpListener, router: Router) {
    let mut incoming = front.incoming(listener);
    while let Some((stream, addr)) = incoming.next().await {
        let router = router.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut req: hyper::Request<_>| {
                req.extensions_mut().insert(ConnectInfo(addr));
                router.clone().oneshot(req)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// An HTTP/1.1 answer: status, header lines (lower-case names), body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Header fields.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
}

impl Answer {
    /// The first header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request (`Connection: close`) over a TLS stream.
pub async fn http1<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
    host: &str,
    head: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Answer, BoxError> {
    let mut req = format!("{head} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(req.as_bytes()).await?;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await; // a peer may close without close_notify
    let text = String::from_utf8(raw)?;
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP head")?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .ok_or("no status")?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Answer {
        status: status.parse()?,
        headers,
        body: body.to_owned(),
    })
}

/// A browser request to `host` at `addr` (TLS with `config`).
pub async fn browse(
    config: &Arc<rustls::ClientConfig>,
    addr: SocketAddr,
    host: &str,
    head: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Answer, BoxError> {
    let tcp = TcpStream::connect(addr).await?;
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())?;
    let tls = tokio_rustls::TlsConnector::from(config.clone())
        .connect(name, tcp)
        .await?;
    http1(tls, host, head, headers, body).await
}

/// The PGO GW's back channel (MedMij OAUTH-3): the token request over mutual TLS; every
/// hostname goes to `addr` (loopback stands in for DNS).
pub struct MtlsTransport {
    /// The connector.
    pub connector: MedmijConnector,
    /// Where the ZA GW's back channel listens.
    pub addr: SocketAddr,
}

impl TokenTransport for MtlsTransport {
    async fn post(&self, request: &TokenRequest) -> Result<(u16, String), TransportError> {
        let err = |e: &dyn std::fmt::Display| TransportError(e.to_string());
        let url = url::Url::parse(&request.url).map_err(|e| err(&e))?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let tcp = TcpStream::connect(self.addr).await.map_err(|e| err(&e))?;
        let (tls, _peer) = self
            .connector
            .connect(&host, tcp)
            .await
            .map_err(|e| err(&e))?;
        let head = format!("POST {}", url.path());
        let a = http1(tls, &host, &head, request.headers(), &request.body)
            .await
            .map_err(|e| err(&e))?;
        Ok((a.status, a.body))
    }

    /// 2.x: the same with `MedMij-Request-ID` and `X-Correlation-ID` (MedMij OAUTH-21).
    async fn post_traced(&self, r: &TracedTokenRequest) -> Result<(u16, String), TransportError> {
        let err = |e: &dyn std::fmt::Display| TransportError(e.to_string());
        let url = url::Url::parse(&r.request.url).map_err(|e| err(&e))?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let tcp = TcpStream::connect(self.addr).await.map_err(|e| err(&e))?;
        let (tls, _peer) = self
            .connector
            .connect(&host, tcp)
            .await
            .map_err(|e| err(&e))?;
        let mut headers: Vec<(&str, &str)> = r.request.headers().to_vec();
        headers.extend(r.headers.iter().map(|(k, v)| (*k, v.as_str())));
        let head = format!("POST {}", url.path());
        let a = http1(tls, &host, &head, &headers, &r.request.body)
            .await
            .map_err(|e| err(&e))?;
        Ok((a.status, a.body))
    }
}

/// The adapter's audit events into a NEN 7513 hash-chained file log (medmij-log, LOG-1),
/// and its 2.x chain steps as medmij-log `ChainEvent` JSON lines (LOG-6; the host ships
/// them to MedMij).
pub struct LogAudit {
    /// The log.
    pub log: AsyncLog<FileLog>,
    /// This gateway's name (the log's `source.system`; its hostname in chain events).
    pub system: String,
    /// Where chain events go, if anywhere.
    pub chain: Option<JsonLinesChainSink<std::fs::File>>,
    seq: AtomicU64,
}

impl LogAudit {
    /// A sink writing to `log` as `system`.
    pub fn new(log: AsyncLog<FileLog>, system: &str) -> LogAudit {
        LogAudit {
            log,
            system: system.to_owned(),
            chain: None,
            seq: AtomicU64::new(0),
        }
    }
}

/// The adapter's chain step as medmij-log's `ChainEvent` (MedMij LOG-6): `own` is this
/// gateway's hostname, the other party the PGO GW (at a ZA GW) or the host of the URL sent
/// to (at a PGO GW).
pub fn chain_event(step: &ChainStep, own: &str) -> Result<ChainEvent, BoxError> {
    use ChainEventType as T;
    use ChainStepKind as K;
    use medmij_log::{GrantType, Method};
    let kind = match step.kind {
        K::SendAuthorizationRequest => T::SendAuthorizationRequest,
        K::ReceiveAuthorizationRequest => T::ReceiveAuthorizationRequest,
        K::ShowLandingPage => T::ShowLandingPage,
        K::AuthorizationRequestError => T::AuthorizationRequestError,
        K::SendAuthenticationRequest => T::SendAuthenticationRequest,
        K::ReceiveAuthenticationResponse => T::ReceiveAuthenticationResponse,
        K::AuthenticationResponseError => T::AuthenticationResponseError,
        K::SendTokenRequest => T::SendTokenRequest,
        K::ReceiveTokenRequest => T::ReceiveTokenRequest,
        K::TokenRequestError => T::TokenRequestError,
        K::SendRefreshTokenRequest => T::SendRefreshTokenRequest,
        K::ReceiveRefreshTokenRequest => T::ReceiveRefreshTokenRequest,
        K::RefreshTokenRequestError => T::RefreshTokenRequestError,
        K::SendResourceRequest => T::SendResourceRequest,
        K::ReceiveResourceRequest => T::ReceiveResourceRequest,
        K::ResourceRequestError => T::ResourceRequestError,
        K::ReceiveResourceResponse => T::ReceiveResourceResponse,
        K::ResourceResponseError => T::ResourceResponseError,
    };
    let method = match step.method {
        "GET" => Method::Get,
        "PUT" => Method::Put,
        _ => Method::Post,
    };
    let me = ClientId::new(own)?;
    let (sender, receiver, endpoint) = match step.actor {
        ChainActor::ZaGateway => (
            step.client_id.clone(),
            me,
            format!("https://{own}{}", step.endpoint),
        ),
        ChainActor::PgoGateway => {
            let url = url::Url::parse(&step.endpoint)?;
            let to = ClientId::new(url.host_str().ok_or("no host")?)?;
            (me, to, step.endpoint.clone())
        }
    };
    let mut b = ChainEvent::builder(kind, step.at)
        .session_str(step.trace.correlation_id.as_str())
        .trace_str(step.trace.request_id.as_str())
        .between(&sender, &receiver)
        .request(method, &endpoint)
        .client(&step.client_id);
    if let Some(g) = step.grant_type {
        b = b.grant_type(match g {
            ChainGrant::AuthorizationCode => GrantType::AuthorizationCode,
            ChainGrant::RefreshToken => GrantType::RefreshToken,
        });
    }
    if let Some(a) = &step.aanbieder {
        b = b.aanbieder(a);
    }
    if let Some(g) = &step.gegevensdienst {
        b = b.gegevensdienst(&medmij_types::GegevensdienstId::new(g.as_str())?);
    }
    if let Some(s) = step.status {
        b = b.status(s);
    }
    if let Some(code) = step.error {
        b = b.error(code, step.description.as_deref());
    }
    Ok(b.build()?)
}

impl AuditSink for LogAudit {
    async fn record(&self, e: AuditEvent) {
        let n = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let client = e.client_id.as_ref().map(|c| c.to_string());
        let event = Event {
            id: format!("{}-{n}", self.system),
            event_type: format!("oauth.{:?}", e.endpoint).to_lowercase(),
            action: Action::Execute,
            time: e.at,
            actor: Actor {
                id: client.clone().unwrap_or_else(|| "unknown".into()),
                kind: ActorKind::System,
                role: None,
                on_behalf_of: None,
            },
            subject: None,
            object: Object::new("oauth-flow", client.unwrap_or_else(|| "-".into())),
            source: Source {
                system: self.system.clone(),
                location: Some(e.source.to_string()),
            },
            outcome: if e.success {
                Outcome::Success
            } else {
                Outcome::Refused
            },
            detail: Some(match e.case {
                Some(c) => format!("MedMij OAUTH-12 case {c}: {}", e.detail),
                None => e.detail,
            }),
        };
        // LOG-1: a log that cannot write is the host's alarm, not the person's error.
        if let Err(err) = self.log.append(event).await {
            eprintln!("audit log: {err}");
        }
    }

    async fn chain(&self, step: ChainStep) {
        let Some(sink) = &self.chain else { return };
        // LOG-6: an event that cannot be built or written is the host's alarm too.
        match chain_event(&step, &self.system) {
            Ok(event) => {
                if let Err(err) = sink.emit(&event) {
                    eprintln!("chain events: {err}");
                }
            }
            Err(err) => eprintln!("chain event {:?}: {err}", step.kind),
        }
    }
}

/// The headers a gateway's own page without inline style or script goes out with (a login
/// page, the consent-management overview; MedMij OAUTH-14, RFC 6819 4.4.1.9): a CSP that
/// allows nothing to load, no framing and no `<base>`, and forms only to this gateway and
/// the origin of `redirect_uri` where given (browsers apply `form-action` to the redirect
/// that answers the post; without it forms are not restricted); no referrer (the page's
/// URL holds the flow id, LOG-4); nosniff. The adapter adds its no-store and anti-framing
/// headers where these name none ([`HostPage`]).
pub fn own_page_headers(redirect_uri: Option<&str>) -> axum::http::HeaderMap {
    use axum::http::{HeaderValue, header};
    let mut csp = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'".to_owned();
    if let Some(origin) = redirect_uri
        .and_then(|u| url::Url::parse(u).ok())
        .map(|u| u.origin().ascii_serialization())
    {
        csp.push_str(&format!("; form-action 'self' {origin}"));
    }
    let mut h = axum::http::HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h
}

/// The ZA GW's consent screens from medmij-consent: the 1.x Toestemming page (CONSENT-1)
/// and, for a 2.x flow, the 2.x screen with the indefinite-period checkbox, never
/// preselected (CONSENT-6); the posted decision and period.
pub struct ConsentScreens {
    /// The Aanbieder's name on the page.
    pub aanbieder: String,
    /// The Gegevensdienst's name on the 1.x page.
    pub gegevensdienst: String,
}

impl ConsentScreens {
    fn page(&self, flow: &FlowInfo, action: &str) -> Result<String, BoxError> {
        // The flow cookie guards the flow id; it doubles as the anti-CSRF token.
        let id = consent::FlowId::new(&*flow.flow_id)?;
        let csrf = consent::CsrfToken::new(&*flow.flow_id)?;
        if flow.release == ReleaseLine::V2 {
            let names = consent::v2::Names::new(&self.aanbieder, flow.client_id.as_str())?;
            let options = consent::v2::ScreenOptions::new(action, &csrf).with_flow(&id);
            let texts = consent::v2::ScreenTexts::nl();
            return Ok(consent::v2::render_consent(&texts, &names, &options)?
                .html()
                .to_owned());
        }
        let client = flow.client_id.as_str();
        let vars = consent::Variables::new(&self.aanbieder, &self.gegevensdienst, client)?;
        let options = PageOptions::new(action, &id, &csrf);
        Ok(consent::render_page(&Toestemming::new(vars), &options)?
            .html()
            .to_owned())
    }

    fn v2_form(flow: &FlowInfo, form: &HostRequest) -> Option<consent::v2::PostedV2Decision> {
        let posted = consent::v2::PostedV2Decision::from_form(&form.body).ok()?;
        (flow.release == ReleaseLine::V2 && posted.csrf_token == flow.flow_id).then_some(posted)
    }
}

fn decision(d: consent::Decision) -> ConsentDecision {
    match d {
        consent::Decision::Granted => ConsentDecision::Granted,
        consent::Decision::Refused => ConsentDecision::Refused,
        consent::Decision::Undetermined => ConsentDecision::Undetermined,
    }
}

impl ConsentUi for ConsentScreens {
    async fn render(&self, flow: &FlowInfo, action: &str) -> String {
        self.page(flow, action)
            .unwrap_or_else(|_| plain("Probeer later.", "Try later.", None))
    }
    async fn decision(&self, flow: &FlowInfo, form: &HostRequest) -> ConsentDecision {
        if let Some(posted) = Self::v2_form(flow, form) {
            return decision(posted.decision);
        }
        match PostedDecision::from_form(&form.body) {
            Ok(p) if p.csrf_token == flow.flow_id => decision(p.decision),
            _ => ConsentDecision::Undetermined, // OAUTH-12 case 5
        }
    }
    async fn period(&self, flow: &FlowInfo, form: &HostRequest) -> ConsentPeriod {
        match Self::v2_form(flow, form) {
            Some(p) if p.long_lasting() => ConsentPeriod::Indefinite,
            _ => ConsentPeriod::ThisFlow,
        }
    }
    /// The adapter's overview (MedMij OAUTH-22) with [`own_page_headers`] (its withdrawal
    /// answer redirects to the PGO, whose origin the visit does not name: forms are not
    /// restricted).
    async fn render_management_page(
        &self,
        info: &ManagementInfo,
        consents: &[LongLastingConsent],
        action: &str,
    ) -> HostPage {
        HostPage {
            html: self.render_management(info, consents, action).await,
            headers: own_page_headers(None),
        }
    }
}

/// The value of the first `action="..."` in a page.
pub fn form_action(html: &str) -> Option<String> {
    let start = html.find("action=\"")? + 8;
    let end = html[start..].find('"')? + start;
    Some(html[start..end].replace("&amp;", "&"))
}

/// The cookie a response sets (`name=value`).
pub fn set_cookie(a: &Answer) -> Option<String> {
    Some(a.header("set-cookie")?.split(';').next()?.to_owned())
}

/// One Verzamelen flow against a ZA GW, as a browser and a PGO GW would run it (the ZA GW's
/// self-test): authorization request, login, consent, code, token over mutual TLS, one FHIR
/// read. Returns the FHIR answer's body.
pub async fn za_self_test(
    pki: &Pki,
    front: SocketAddr,
    back: SocketAddr,
    za: &str,
    pgo: &str,
) -> Result<String, BoxError> {
    use medmij_oauth::{Client, Scope, ScopeForm};
    let browser = pki.browser()?;
    let tls = tls_off_runtime(pki, pgo, &[za])?;
    let client = Client::new(ClientId::new(pgo)?, &format!("https://{pgo}/redirect"))?;
    let scope = Scope::parse("umcharderwijk~1", ScopeForm::Single)?;
    let (url, pending) = client.start(
        &format!("https://{za}/authorize"),
        &format!("https://{za}/token"),
        scope,
    )?;
    let url = url::Url::parse(&url)?;
    let target = format!("GET {}?{}", url.path(), url.query().unwrap_or_default());
    let login = browse(&browser, front, za, &target, &[], "").await?;
    let cookie = set_cookie(&login).ok_or("no flow cookie")?;
    let form = [
        ("Cookie", cookie.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let action = form_action(&login.body).ok_or("no login form")?;
    let page = browse(
        &browser,
        front,
        za,
        &format!("POST {action}"),
        &form,
        "person=person-1",
    )
    .await?;
    let action = form_action(&page.body).ok_or("no consent form")?;
    let flow = action.split("flow=").nth(1).ok_or("no flow id")?.to_owned();
    let body = format!("flow={flow}&csrf_token={flow}&decision=grant");
    let done = browse(&browser, front, za, &format!("POST {action}"), &form, &body).await?;
    let location = url::Url::parse(done.header("location").ok_or("no redirect")?)?;
    let code = pending.handle_redirect(location.query().unwrap_or_default(), SystemTime::now())?;
    let transport = MtlsTransport {
        connector: tls.connector.clone(),
        addr: back,
    };
    let (status, body) = transport.post(&pending.token_request(&code.code)).await?;
    let grant = pending.parse_token_response(status, &body, SystemTime::now())?;
    let tcp = TcpStream::connect(back).await?;
    let (stream, _) = tls.connector.connect(za, tcp).await?;
    let auth = grant.authorization_header();
    let r = http1(
        stream,
        za,
        "GET /fhir/1/Patient",
        &[("Authorization", &auth)],
        "",
    )
    .await?;
    if r.status != 200 {
        return Err(format!("resource answered {}", r.status).into());
    }
    Ok(r.body)
}

/// Opens the hash-chained audit log at `path` (medmij-log `FileLog`, signed with `key`; keep
/// the key in an HSM in production) behind an [`AsyncLog`], as the adapter's audit sink;
/// the chain events (LOG-6) go to `path` with extension `chain.jsonl`.
pub fn open_audit(
    path: std::path::PathBuf,
    key: [u8; 32],
    system: &str,
) -> Result<LogAudit, BoxError> {
    let key = ed25519_dalek::SigningKey::from_bytes(&key);
    let chain = std::fs::File::create(path.with_extension("chain.jsonl"))?;
    let (log, _) = FileLog::open(path, medmij_log::FileLogConfig::new(key), SystemTime::now())?;
    let mut audit = LogAudit::new(
        AsyncLog::new(log, medmij_log::AsyncLogConfig::default())?,
        system,
    );
    audit.chain = Some(JsonLinesChainSink::new(chain));
    Ok(audit)
}

/// Serves `router` on two loopback ports: the front channel and the back channel (mutual
/// TLS). Returns (front, back).
pub async fn serve(tls: Tls, router: Router) -> Result<(SocketAddr, SocketAddr), BoxError> {
    let front = TcpListener::bind("127.0.0.1:0").await?;
    let back = TcpListener::bind("127.0.0.1:0").await?;
    let addrs = (front.local_addr()?, back.local_addr()?);
    tokio::spawn(serve_front(tls.front, front, router.clone()));
    tokio::spawn(serve_back(tls.acceptor, back, router));
    Ok(addrs)
}

/// [`Pki::tls`] on a thread of its own (it blocks), from async code.
pub fn tls_off_runtime(pki: &Pki, host: &str, whitelist: &[&str]) -> Result<Tls, BoxError> {
    std::thread::scope(|s| s.spawn(|| pki.tls(host, whitelist)).join())
        .map_err(|_| "TLS setup panicked")?
}

/// The database the examples use unless `MEDMIJ_DATABASE_URL` says otherwise.
pub const DEFAULT_DB: &str = "postgres://medmij:medmij@127.0.0.1:5432/medmij_test";

/// One Verzamelen flow as the person's browser walks it: PGO GW start (with the PGO session
/// cookie `pgo-session=<person>`), the ZA GW's login and consent pages, back to the PGO GW's
/// redirect endpoint. Returns the PGO GW's last answer.
pub async fn browser_flow(
    pki: &Pki,
    pgo_front: SocketAddr,
    za_front: SocketAddr,
    pgo: &str,
    za: &str,
) -> Result<Answer, BoxError> {
    let browser = pki.browser()?;
    let session = [("Cookie", "pgo-session=person-1")];
    let started = browse(
        &browser,
        pgo_front,
        pgo,
        "GET /start?scope=umcharderwijk~1",
        &session,
        "",
    )
    .await?;
    let pgo_cookie = set_cookie(&started).ok_or("no PGO flow cookie")?;
    let to_za = url::Url::parse(
        started
            .header("location")
            .ok_or("no redirect to the ZA GW")?,
    )?;
    let target = format!("GET {}?{}", to_za.path(), to_za.query().unwrap_or_default());
    let login = browse(&browser, za_front, za, &target, &[], "").await?;
    let cookie = set_cookie(&login).ok_or("no ZA flow cookie")?;
    let form = [
        ("Cookie", cookie.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let action = form_action(&login.body).ok_or("no login form")?;
    let page = browse(
        &browser,
        za_front,
        za,
        &format!("POST {action}"),
        &form,
        "person=person-1",
    )
    .await?;
    let action = form_action(&page.body).ok_or("no consent form")?;
    let flow = action.split("flow=").nth(1).ok_or("no flow id")?.to_owned();
    let body = format!("flow={flow}&csrf_token={flow}&decision=grant");
    let done = browse(
        &browser,
        za_front,
        za,
        &format!("POST {action}"),
        &form,
        &body,
    )
    .await?;
    let back = url::Url::parse(done.header("location").ok_or("no redirect to the PGO GW")?)?;
    let target = format!("GET {}?{}", back.path(), back.query().unwrap_or_default());
    let cookies = format!("pgo-session=person-1; {pgo_cookie}");
    browse(
        &browser,
        pgo_front,
        pgo,
        &target,
        &[("Cookie", &cookies)],
        "",
    )
    .await
}

#[cfg(test)]
mod log_6 {
    use super::*;
    use medmij_oauth::{TraceIds, Zorgaanbiedernaam};

    fn step(actor: ChainActor, kind: ChainStepKind, endpoint: &str) -> ChainStep {
        ChainStep {
            at: SystemTime::UNIX_EPOCH,
            actor,
            kind,
            success: false,
            trace: TraceIds::new_flow(),
            method: "POST",
            endpoint: endpoint.into(),
            client_id: ClientId::new("pgo.example.nl").unwrap(),
            grant_type: Some(ChainGrant::RefreshToken),
            aanbieder: Some(Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap()),
            gegevensdienst: None,
            status: Some(400),
            error: Some("invalid_grant"),
            description: Some("The refresh token has lapsed (MedMij OAUTH-19).".into()),
        }
    }

    /// Both gateways' steps become valid medmij-log chain events with the right sender and
    /// receiver; the JSON reads back to the same event.
    #[test]
    fn steps_map_to_chain_events() {
        let s = step(
            ChainActor::PgoGateway,
            ChainStepKind::RefreshTokenRequestError,
            "https://za.example.nl/token",
        );
        let e = chain_event(&s, "pgo.example.nl").unwrap();
        assert_eq!(e.event_type, ChainEventType::RefreshTokenRequestError);
        assert_eq!(e.sender.as_str(), "pgo.example.nl");
        assert_eq!(e.receiver.as_str(), "za.example.nl");
        assert_eq!(e.session_id, s.trace.correlation_id);
        assert_eq!(e.trace_id, s.trace.request_id);
        let json = e.to_json();
        assert!(json.contains(r#""grant_type":"refresh_token""#), "{json}");
        assert_eq!(ChainEvent::from_json(&json).unwrap(), e);

        let s = step(
            ChainActor::ZaGateway,
            ChainStepKind::TokenRequestError,
            "/token",
        );
        let e = chain_event(&s, "za.example.nl").unwrap();
        assert_eq!(e.sender.as_str(), "pgo.example.nl");
        assert_eq!(e.request.endpoint.as_str(), "https://za.example.nl/token");
    }
}
