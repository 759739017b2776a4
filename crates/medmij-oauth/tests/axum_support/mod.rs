//! In-test implementations of the adapter's host traits, and drivers that walk a browser and
//! a PGO GW through the ZA GW router with `tower::ServiceExt::oneshot`.
#![allow(dead_code, unreachable_pub)]

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{Request, StatusCode};
use medmij_oauth::adapter::*;
use medmij_oauth::*;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

pub const PGO: &str = "pgo.example.nl";
pub const REDIRECT: &str = "https://pgo.example.nl/redirect";

pub fn za() -> Zorgaanbiedernaam {
    Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap()
}

/// The server's offer: Gegevensdienst 1 (Verzamelen) and 48 (Delen).
pub fn config() -> ServerConfig {
    ServerConfig::new()
        .offer(
            za(),
            ScopeGegevensdienstId::new("1").unwrap(),
            UseCase::Verzamelen,
        )
        .offer(
            za(),
            ScopeGegevensdienstId::new("48").unwrap(),
            UseCase::Delen,
        )
}

pub fn ocl() -> StaticClientRegistry {
    StaticClientRegistry::new().with_client(ClientId::new(PGO).unwrap(), None)
}

/// Logs in whoever the callback's `person` parameter names; `fail` is not established.
pub struct TestAuth;

impl Authenticator for TestAuth {
    async fn start(&self, _flow: &FlowInfo, callback: &str) -> HttpResponse {
        HttpResponse::page(200, format!("<p>login</p>CALLBACK[{callback}]"))
    }
    async fn complete(&self, _flow: &FlowInfo, request: &HostRequest) -> Authentication {
        let person = form_urlencoded::parse(request.query.as_bytes())
            .find(|(k, _)| k == "person")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        match person.as_str() {
            "fail" | "" => Authentication::Failed,
            p => Authentication::Established(Subject::new(p).unwrap()),
        }
    }
    async fn start_management(
        &self,
        _info: &ManagementInfo,
        callback: &str,
    ) -> Option<HttpResponse> {
        Some(HttpResponse::page(
            200,
            format!("<p>login to manage</p>CALLBACK[{callback}]"),
        ))
    }
    async fn complete_management(
        &self,
        _info: &ManagementInfo,
        request: &HostRequest,
    ) -> Authentication {
        let person = form_urlencoded::parse(request.query.as_bytes())
            .find(|(k, _)| k == "person")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        match person.as_str() {
            "fail" | "" => Authentication::Failed,
            p => Authentication::Established(Subject::new(p).unwrap()),
        }
    }
}

/// `nodata` has no data; `broken` cannot be checked.
pub struct TestData;

impl DataAvailability for TestData {
    async fn available(&self, subject: &Subject, _flow: &FlowInfo) -> Result<bool, HostError> {
        match subject.as_str() {
            "nodata" => Ok(false),
            "broken" => Err(HostError("availability back end down".into())),
            _ => Ok(true),
        }
    }
}

/// The CSP [`TestConsent`] sends for the person `strict`.
pub const STRICT_CSP: &str = "default-src 'none'; style-src 'sha256-AAAA'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// `decision=yes|no`; anything else is undetermined.
pub struct TestConsent;

impl ConsentUi for TestConsent {
    async fn render(&self, flow: &FlowInfo, action: &str) -> String {
        format!("<p>consent for {}</p>ACTION[{action}]", flow.scope)
    }
    /// The page cannot be made for the person `nopage` (MedMij CONSENT-1, OAUTH-12 case 5).
    async fn try_render(&self, flow: &FlowInfo, action: &str) -> Result<String, HostError> {
        if flow
            .subject
            .as_ref()
            .is_some_and(|s| s.as_str() == "nopage")
        {
            return Err(HostError("no GNL name for the Gegevensdienst".into()));
        }
        Ok(self.render(flow, action).await)
    }
    /// The person `strict` gets the page with headers of its own (a per-page CSP as
    /// medmij-consent computes one, and a `Content-Type` the adapter must not send twice).
    async fn try_render_page(&self, flow: &FlowInfo, action: &str) -> Result<HostPage, HostError> {
        let html = self.try_render(flow, action).await?;
        let mut page = HostPage::from(html);
        if flow
            .subject
            .as_ref()
            .is_some_and(|s| s.as_str() == "strict")
        {
            let h = &mut page.headers;
            h.insert(
                http::header::CONTENT_SECURITY_POLICY,
                http::HeaderValue::from_static(STRICT_CSP),
            );
            h.insert(
                http::header::REFERRER_POLICY,
                http::HeaderValue::from_static("no-referrer"),
            );
            h.insert(
                http::header::X_CONTENT_TYPE_OPTIONS,
                http::HeaderValue::from_static("nosniff"),
            );
            h.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain"),
            );
        }
        Ok(page)
    }
    async fn decision(&self, _flow: &FlowInfo, form: &HostRequest) -> ConsentDecision {
        match form_urlencoded::parse(form.body.as_bytes()).find(|(k, _)| k == "decision") {
            Some((_, v)) if v == "yes" => ConsentDecision::Granted,
            Some((_, v)) if v == "no" => ConsentDecision::Refused,
            _ => ConsentDecision::Undetermined,
        }
    }
    /// `period=indefinite` (the 2.x screen's choice, MedMij CONSENT-6).
    async fn period(&self, _flow: &FlowInfo, form: &HostRequest) -> ConsentPeriod {
        match form_urlencoded::parse(form.body.as_bytes()).find(|(k, _)| k == "period") {
            Some((_, v)) if v == "indefinite" => ConsentPeriod::Indefinite,
            _ => ConsentPeriod::ThisFlow,
        }
    }
}

/// `/fhir/<gegevensdienst>/<rest>`; a path with `broken` fails (case 8). Writes are kept.
#[derive(Clone, Default)]
pub struct TestFhir {
    pub written: Arc<Mutex<Vec<String>>>,
    /// The `X-MedMij-Provenance` of each write (MedMij CONSENT-4).
    pub provenance: Arc<Mutex<Vec<Option<String>>>>,
    /// Gegevensdiensten no longer served (MedMij LISTS-13).
    pub withdrawn: Arc<Mutex<Vec<String>>>,
}

impl FhirBackend for TestFhir {
    async fn write_with_headers(
        &self,
        access: &ResourceAccess,
        path: &str,
        body: &str,
        headers: &http::HeaderMap,
    ) -> Result<FhirReply, HostError> {
        let p = headers
            .get("x-medmij-provenance")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        self.provenance.lock().unwrap().push(p);
        self.write(access, path, body).await
    }
    fn serves(
        &self,
        _za: &Zorgaanbiedernaam,
        gd: &ScopeGegevensdienstId,
        _now: std::time::SystemTime,
    ) -> bool {
        !self
            .withdrawn
            .lock()
            .unwrap()
            .iter()
            .any(|w| w == gd.as_str())
    }
    fn target(&self, path: &str) -> Option<(Zorgaanbiedernaam, ScopeGegevensdienstId)> {
        let gd = path.split('/').next()?;
        Some((za(), ScopeGegevensdienstId::new(gd).ok()?))
    }
    async fn read(
        &self,
        access: &ResourceAccess,
        path: &str,
        _query: &str,
    ) -> Result<FhirReply, HostError> {
        if path.contains("broken") {
            return Err(HostError("FHIR back end down".into()));
        }
        Ok(FhirReply {
            status: 200,
            body: format!(
                r#"{{"resourceType":"Bundle","subject":"{}"}}"#,
                access.subject.as_str()
            ),
        })
    }
    async fn write(
        &self,
        _access: &ResourceAccess,
        path: &str,
        body: &str,
    ) -> Result<FhirReply, HostError> {
        if path.contains("broken") {
            return Err(HostError("FHIR back end down".into()));
        }
        // A Lezer that refuses the payload without saying why: 409 (`conflict`), no
        // OperationOutcome.
        if path.contains("conflict") {
            return Ok(FhirReply {
                status: 409,
                body: r#"{"resourceType":"Bundle","type":"transaction-response"}"#.into(),
            });
        }
        // A Lezer that refuses the payload: 422 (`refuse`) or 503 (`unavailable`), with an
        // OperationOutcome that says why.
        for (mark, status) in [("refuse", 422), ("unavailable", 503)] {
            if path.contains(mark) {
                return Ok(FhirReply {
                    status,
                    body: r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"incomplete","diagnostics":"payload carries a BSN (OAUTH-16)"}]}"#.into(),
                });
            }
        }
        self.written.lock().unwrap().push(body.to_owned());
        Ok(FhirReply {
            status: 201,
            body: r#"{"resourceType":"Bundle","type":"transaction-response"}"#.into(),
        })
    }
}

/// Keeps every event and every chain-monitoring step.
#[derive(Clone, Default)]
pub struct TestAudit {
    pub events: Arc<Mutex<Vec<AuditEvent>>>,
    pub steps: Arc<Mutex<Vec<ChainStep>>>,
}

impl AuditSink for TestAudit {
    async fn record(&self, event: AuditEvent) {
        self.events.lock().unwrap().push(event);
    }
    async fn chain(&self, step: ChainStep) {
        self.steps.lock().unwrap().push(step);
    }
}

impl TestAudit {
    pub fn all(&self) -> Vec<AuditEvent> {
        self.events.lock().unwrap().clone()
    }
    pub fn steps(&self) -> Vec<ChainStep> {
        self.steps.lock().unwrap().clone()
    }
    pub fn with_case(&self, case: u8) -> Vec<AuditEvent> {
        self.all()
            .into_iter()
            .filter(|e| e.case == Some(case))
            .collect()
    }
}

/// A ZA GW router on `store` and `flows`.
pub fn za_gateway<S, F>(store: S, flows: PendingFlows<F>) -> (Router, TestAudit, TestFhir)
where
    S: TokenStore + Send + Sync + 'static,
    F: FlowStore + Send + Sync + 'static,
{
    za_gateway_with(store, flows, ZaSettings::default())
}

/// A ZA GW router with `settings`.
pub fn za_gateway_with<S, F>(
    store: S,
    flows: PendingFlows<F>,
    settings: ZaSettings,
) -> (Router, TestAudit, TestFhir)
where
    S: TokenStore + Send + Sync + 'static,
    F: FlowStore + Send + Sync + 'static,
{
    let audit = TestAudit::default();
    let fhir = TestFhir::default();
    let server = AsyncAuthorizationServer::new(AuthorizationServer::new(config(), ocl(), store));
    let gw = ZaGateway::new(
        server,
        flows,
        ZaHooks {
            authenticator: TestAuth,
            data: TestData,
            consent: TestConsent,
            fhir: fhir.clone(),
            audit: audit.clone(),
            pages: DefaultPages,
        },
        settings,
    );
    (gw.router(), audit, fhir)
}

/// A memory flow store that can be switched off: while `down` is set, every call fails as
/// an unreachable database would (`FlowError::Backend`). For the answers when the flow store
/// is unavailable (MedMij OAUTH-12 case 8: 503 with `Retry-After`, never a 500).
#[derive(Clone)]
pub struct SwitchableFlows {
    inner: Arc<MemoryFlowStore>,
    pub down: Arc<std::sync::atomic::AtomicBool>,
}

impl SwitchableFlows {
    pub fn new(limits: FlowLimits) -> Self {
        Self {
            inner: Arc::new(MemoryFlowStore::new(limits)),
            down: Arc::default(),
        }
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
    }

    fn up(&self) -> Result<&MemoryFlowStore, FlowError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            Err(FlowError::Backend("switched off by the test".into()))
        } else {
            Ok(&self.inner)
        }
    }
}

impl FlowStore for SwitchableFlows {
    fn put(
        &self,
        id: &SecretHash,
        owner: &FlowOwner,
        data: &str,
        expires_at: std::time::SystemTime,
        admission: Admission,
        now: std::time::SystemTime,
    ) -> Result<(), FlowError> {
        self.up()?.put(id, owner, data, expires_at, admission, now)
    }
    fn take(
        &self,
        id: &SecretHash,
        now: std::time::SystemTime,
    ) -> Result<Option<StoredFlow>, FlowError> {
        self.up()?.take(id, now)
    }
    fn take_late(
        &self,
        id: &SecretHash,
        now: std::time::SystemTime,
    ) -> Result<Option<(StoredFlow, Lateness)>, FlowError> {
        self.up()?.take_late(id, now)
    }
    fn sweep(&self, now: std::time::SystemTime) -> Result<Vec<ExpiredFlow>, FlowError> {
        self.up()?.sweep(now)
    }
}

/// The test ZA GW's type.
pub type TestZa<S, F> = ZaGateway<
    S,
    StaticClientRegistry,
    F,
    TestAuth,
    TestData,
    TestConsent,
    TestFhir,
    TestAudit,
    DefaultPages,
>;

/// The ZA GW itself (for [`ZaGateway::expire_flows`]) with `settings`, and its audit.
pub fn za_gateway_gw<S, F>(
    store: S,
    flows: PendingFlows<F>,
    settings: ZaSettings,
) -> (TestZa<S, F>, TestAudit)
where
    S: TokenStore + Send + Sync + 'static,
    F: FlowStore + Send + Sync + 'static,
{
    let audit = TestAudit::default();
    let server = AsyncAuthorizationServer::new(AuthorizationServer::new(config(), ocl(), store));
    let gw = ZaGateway::new(
        server,
        flows,
        ZaHooks {
            authenticator: TestAuth,
            data: TestData,
            consent: TestConsent,
            fhir: TestFhir::default(),
            audit: audit.clone(),
            pages: DefaultPages,
        },
        settings,
    );
    (gw, audit)
}

/// The [`Endpoint::FlowExpired`] events audited (MedMij OAUTH-12 case 5, LOG-1).
pub fn expiries(audit: &TestAudit) -> Vec<AuditEvent> {
    audit
        .all()
        .into_iter()
        .filter(|e| e.endpoint == Endpoint::FlowExpired)
        .collect()
}

/// A ZA GW on memory stores with the test seams but the host's own authenticator `A` and
/// consent UI `U`.
pub type ZaWith<A, U> = ZaGateway<
    MemoryStore,
    StaticClientRegistry,
    MemoryFlowStore,
    A,
    TestData,
    U,
    TestFhir,
    TestAudit,
    DefaultPages,
>;

/// A ZA GW on memory stores with the default limits and the host's own `authenticator` and
/// `consent` UI (the other seams are the test ones), and its audit.
pub fn za_with<A: Authenticator, U: ConsentUi>(
    authenticator: A,
    consent: U,
) -> (ZaWith<A, U>, TestAudit) {
    let limits = FlowLimits::default();
    let audit = TestAudit::default();
    let server = AsyncAuthorizationServer::new(AuthorizationServer::new(
        config(),
        ocl(),
        MemoryStore::new(),
    ));
    let gw = ZaGateway::new(
        server,
        PendingFlows::new(MemoryFlowStore::new(limits), limits),
        ZaHooks {
            authenticator,
            data: TestData,
            consent,
            fhir: TestFhir::default(),
            audit: audit.clone(),
            pages: DefaultPages,
        },
        ZaSettings::default(),
    );
    (gw, audit)
}

/// A ZA GW on memory stores with `limits`.
pub fn memory_za(limits: FlowLimits) -> (Router, TestAudit, TestFhir) {
    za_gateway(
        MemoryStore::new(),
        PendingFlows::new(MemoryFlowStore::new(limits), limits),
    )
}

/// An answer, read.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }
    pub fn location(&self) -> String {
        self.header("location").expect("a Location header")
    }
    /// The value between `MARK[` and `]` in the body.
    pub fn marked(&self, mark: &str) -> String {
        let start = self.body.find(&format!("{mark}[")).expect(mark) + mark.len() + 1;
        let end = self.body[start..].find(']').unwrap() + start;
        self.body[start..end].to_owned()
    }
    /// The flow cookie set by this answer (`name=value`).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(|v| v.split(';').next().unwrap().to_owned())
    }
}

/// A request from `source`, as a TLS front end would hand it on.
pub fn request(
    method: &str,
    uri: &str,
    source: &str,
    cookie: Option<&str>,
    body: Option<(&str, &str)>,
) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    let body = match body {
        Some((ct, text)) => {
            b = b.header("content-type", ct);
            Body::from(text.to_owned())
        }
        None => Body::empty(),
    };
    let mut r = b.body(body).unwrap();
    let addr: SocketAddr = format!("{source}:40000").parse().unwrap();
    r.extensions_mut().insert(ConnectInfo(addr));
    r
}

pub async fn send(router: &Router, req: Request<Body>) -> Answer {
    let r = router.clone().oneshot(req).await.unwrap();
    let status = r.status();
    assert_ne!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "MedMij OAUTH-12: never a 500"
    );
    let headers = r.headers().clone();
    let bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status: status.as_u16(),
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

pub fn authorize_uri(scope: &str, state: &str) -> String {
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", PGO)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", scope)
        .append_pair("state", state)
        .finish();
    format!("/authorize?{q}")
}

/// The query parameter `name` of a URL.
pub fn param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The front channel through the stand-in's login: the flow cookie, the login callback URL
/// and the answer to it (the consent page, or the flow's end), asserting nothing about it.
pub async fn login(
    router: &Router,
    source: &str,
    scope: &str,
    person: &str,
) -> (String, String, Answer) {
    let a = send(
        router,
        request("GET", &authorize_uri(scope, "st-1"), source, None, None),
    )
    .await;
    let cookie = a.cookie(ZA_COOKIE).expect("flow cookie");
    let callback = format!("{}&person={person}", a.marked("CALLBACK"));
    let c = send(
        router,
        request("GET", &callback, source, Some(&cookie), None),
    )
    .await;
    (cookie, callback, c)
}

/// The front channel up to the consent page: (cookie, consent action URL).
pub async fn to_consent(
    router: &Router,
    source: &str,
    scope: &str,
    person: &str,
) -> (String, String) {
    let a = send(
        router,
        request("GET", &authorize_uri(scope, "st-1"), source, None, None),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let cookie = a.cookie(ZA_COOKIE).expect("flow cookie");
    let set = a.header("set-cookie").unwrap();
    for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(attr), "{set}");
    }
    let callback = format!("{}&person={person}", a.marked("CALLBACK"));
    let c = send(
        router,
        request("GET", &callback, source, Some(&cookie), None),
    )
    .await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.header("x-frame-options").as_deref(), Some("DENY"));
    (cookie, c.marked("ACTION"))
}

/// Posts the decision; returns the redirect answer.
pub async fn decide(
    router: &Router,
    source: &str,
    cookie: &str,
    action: &str,
    decision: &str,
) -> Answer {
    send(
        router,
        request(
            "POST",
            action,
            source,
            Some(cookie),
            Some((FORM_CONTENT_TYPE, &format!("decision={decision}"))),
        ),
    )
    .await
}

/// The token request on the back channel as `client` (the mTLS identity).
pub async fn redeem(router: &Router, code: &str, client: Option<&str>) -> Answer {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("client_id", PGO)
        .finish();
    let mut r = request(
        "POST",
        "/token",
        "192.0.2.200",
        None,
        Some((FORM_CONTENT_TYPE, &body)),
    );
    if let Some(c) = client {
        r.extensions_mut()
            .insert(MtlsClient(ClientId::new(c).unwrap()));
    }
    send(router, r).await
}

/// A resource request with a Bearer token.
pub async fn fetch(
    router: &Router,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> Answer {
    let mut r = request(
        method,
        path,
        "192.0.2.200",
        None,
        body.map(|b| ("application/fhir+json", b)),
    );
    r.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r.extensions_mut()
        .insert(MtlsClient(ClientId::new(PGO).unwrap()));
    send(router, r).await
}

/// Walks the ZA GW from the authorization URL to its redirect back (`decision` yes or no);
/// the PGO GW's local redirect path and query.
pub async fn at_za(za: &Router, location: &str, source: &str, decision: &str) -> String {
    let auth_url = url::Url::parse(location).unwrap();
    let local = format!("{}?{}", auth_url.path(), auth_url.query().unwrap());
    let a = send(za, request("GET", &local, source, None, None)).await;
    let cookie = a.cookie(ZA_COOKIE).unwrap();
    let cb = format!("{}&person=bob", a.marked("CALLBACK"));
    let c = send(za, request("GET", &cb, source, Some(&cookie), None)).await;
    let d = decide(za, source, &cookie, &c.marked("ACTION"), decision).await;
    assert_eq!(d.status, 302);
    let back = url::Url::parse(&d.location()).unwrap();
    format!("{}?{}", back.path(), back.query().unwrap())
}

/// A whole flow to the access token: returns the token.
pub async fn whole_flow(router: &Router, source: &str, scope: &str, person: &str) -> String {
    let (cookie, action) = to_consent(router, source, scope, person).await;
    let d = decide(router, source, &cookie, &action, "yes").await;
    assert_eq!(d.status, 302, "{}", d.body);
    let code = param(&d.location(), "code").expect("code");
    assert_eq!(param(&d.location(), "state").as_deref(), Some("st-1"));
    let t = redeem(router, &code, Some(PGO)).await;
    assert_eq!(t.status, 200, "{}", t.body);
    let json: serde_json::Value = serde_json::from_str(&t.body).unwrap();
    json["access_token"].as_str().unwrap().to_owned()
}

/// The PGO GW's back channel in the test: straight into the ZA GW router, with the PGO's
/// mTLS identity.
pub struct InProcess(pub Router);

impl TokenTransport for InProcess {
    async fn post(&self, request: &TokenRequest) -> Result<(u16, String), TransportError> {
        let path = url::Url::parse(&request.url)
            .map_err(|e| TransportError(e.to_string()))?
            .path()
            .to_owned();
        let mut r = self::request(
            "POST",
            &path,
            "192.0.2.200",
            None,
            Some((FORM_CONTENT_TYPE, &request.body)),
        );
        r.extensions_mut()
            .insert(MtlsClient(ClientId::new(PGO).unwrap()));
        let a = send(&self.0, r).await;
        Ok((a.status, a.body))
    }
    async fn post_traced(
        &self,
        request: &TracedTokenRequest,
    ) -> Result<(u16, String), TransportError> {
        let path = url::Url::parse(&request.request.url)
            .map_err(|e| TransportError(e.to_string()))?
            .path()
            .to_owned();
        let mut r = self::request(
            "POST",
            &path,
            "192.0.2.200",
            None,
            Some((FORM_CONTENT_TYPE, &request.request.body)),
        );
        for (k, v) in &request.headers {
            r.headers_mut().insert(*k, v.parse().unwrap());
        }
        r.extensions_mut()
            .insert(MtlsClient(ClientId::new(PGO).unwrap()));
        let a = send(&self.0, r).await;
        Ok((a.status, a.body))
    }
}

pub type Grants = Arc<Mutex<Vec<(String, AccessGrant)>>>;

/// The person is the `x-person` header; the ZAL has one entry.
pub struct TestPgoHost(pub Grants);

impl PgoHost for TestPgoHost {
    async fn person(&self, headers: &http::HeaderMap) -> Option<String> {
        headers.get("x-person")?.to_str().ok().map(str::to_owned)
    }
    fn endpoints(&self, _scope: &Scope) -> Option<(String, String)> {
        Some((
            "https://za.example.nl/authorize".into(),
            "https://za.example.nl/token".into(),
        ))
    }
    async fn granted(&self, person: &str, grant: AccessGrant) -> HttpResponse {
        self.0.lock().unwrap().push((person.to_owned(), grant));
        HttpResponse::page(200, "<p>Gegevens worden opgehaald.</p>".into())
    }
}

/// A PGO GW router whose back channel is `za`.
pub fn pgo_gateway(za: Router) -> (Router, Grants, TestAudit) {
    let limits = FlowLimits::default();
    pgo_gateway_on(za, PendingFlows::new(MemoryFlowStore::new(limits), limits))
}

/// A PGO GW router whose back channel is `za`, on the flow store `flows`.
pub fn pgo_gateway_on<F>(za: Router, flows: PendingFlows<F>) -> (Router, Grants, TestAudit)
where
    F: FlowStore + Send + Sync + 'static,
{
    let grants = Grants::default();
    let audit = TestAudit::default();
    let client = Client::new(ClientId::new(PGO).unwrap(), REDIRECT).unwrap();
    let gw = PgoGateway::new(
        client,
        flows,
        PgoHooks {
            transport: InProcess(za),
            host: TestPgoHost(grants.clone()),
            audit: audit.clone(),
            pages: DefaultPages,
        },
        PgoSettings::default(),
    );
    (gw.router(), grants, audit)
}

pub mod v2;
