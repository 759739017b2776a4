//! Release 2.x drivers: a movable clock, 2.x authorization requests with tracing
//! identifiers, token and refresh requests with the OAUTH-21 headers, a shared vault and a
//! PGO GW host that speaks 2.x to `umcharderwijk` and 1.x to everyone else.

use super::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// Seconds since the epoch where the tests start.
pub const BASE: u64 = 1_800_000_000;

/// A clock the test moves (MedMij OAUTH-7: 900 s, without sleeping).
#[derive(Clone, Default)]
pub struct TestClock(pub Arc<AtomicU64>);

impl TestClock {
    pub fn clock(&self) -> Clock {
        let offset = Arc::clone(&self.0);
        Clock::new(move || {
            SystemTime::UNIX_EPOCH + Duration::from_secs(BASE + offset.load(Ordering::SeqCst))
        })
    }
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

/// A ZA GW on memory stores with the test clock.
pub fn v2_za(clock: &TestClock) -> (Router, TestAudit, TestFhir) {
    let limits = FlowLimits::default();
    za_gateway_with(
        MemoryStore::new(),
        PendingFlows::new(MemoryFlowStore::new(limits), limits),
        ZaSettings {
            clock: clock.clock(),
            ..ZaSettings::default()
        },
    )
}

/// Fresh identifiers of a flow (MedMij OAUTH-21).
pub fn new_trace() -> TraceIds {
    TraceIds::new_flow()
}

/// A 2.x authorization request: the identifiers as query parameters.
pub fn v2_authorize_uri(scope: &str, state: &str, trace: &TraceIds) -> String {
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", PGO)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", scope)
        .append_pair("state", state)
        .append_pair("MedMij-Request-ID", trace.request_id.as_str())
        .append_pair("X-Correlation-ID", trace.correlation_id.as_str())
        .finish();
    format!("/authorize?{q}")
}

/// A visit to the ZA GW's consent-management entry point (MedMij OAUTH-22) with the
/// identifiers as query parameters.
pub fn v2_management_uri(redirect_uri: &str, state: &str, trace: &TraceIds) -> String {
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", PGO)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state)
        .append_pair("MedMij-Request-ID", trace.request_id.as_str())
        .append_pair("X-Correlation-ID", trace.correlation_id.as_str())
        .finish();
    format!("/toestemmingen?{q}")
}

/// The front channel of a 2.x flow up to the consent page: (cookie, consent action).
pub async fn v2_to_consent(
    router: &Router,
    source: &str,
    scope: &str,
    person: &str,
    trace: &TraceIds,
) -> (String, String) {
    let a = send(
        router,
        request(
            "GET",
            &v2_authorize_uri(scope, "st-2", trace),
            source,
            None,
            None,
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let cookie = a.cookie(ZA_COOKIE).expect("flow cookie");
    let callback = format!("{}&person={person}", a.marked("CALLBACK"));
    let c = send(
        router,
        request("GET", &callback, source, Some(&cookie), None),
    )
    .await;
    assert_eq!(c.status, 200, "{}", c.body);
    (cookie, c.marked("ACTION"))
}

/// Grants consent, for an indefinite period when `indefinite` (MedMij CONSENT-6); returns
/// the code.
pub async fn v2_grant(
    router: &Router,
    source: &str,
    cookie: &str,
    action: &str,
    indefinite: bool,
) -> String {
    let form = if indefinite {
        "decision=yes&period=indefinite"
    } else {
        "decision=yes"
    };
    let d = send(
        router,
        request(
            "POST",
            action,
            source,
            Some(cookie),
            Some((FORM_CONTENT_TYPE, form)),
        ),
    )
    .await;
    assert_eq!(d.status, 302, "{}", d.body);
    assert_eq!(param(&d.location(), "state").as_deref(), Some("st-2"));
    param(&d.location(), "code").expect("code")
}

/// A token-endpoint request as the PGO GW (mTLS identity), with the OAUTH-21 headers of
/// `trace` (a new request id each time) when given.
pub async fn token_request(router: &Router, body: &str, trace: Option<&TraceIds>) -> Answer {
    let mut r = request(
        "POST",
        "/token",
        "192.0.2.200",
        None,
        Some((FORM_CONTENT_TYPE, body)),
    );
    if let Some(t) = trace {
        for (k, v) in t.next_request().headers() {
            r.headers_mut().insert(k, v.parse().unwrap());
        }
    }
    r.extensions_mut()
        .insert(MtlsClient(ClientId::new(PGO).unwrap()));
    send(router, r).await
}

pub fn code_body(code: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("client_id", PGO)
        .finish()
}

pub fn refresh_body(refresh_token: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "refresh_token")
        .append_pair("refresh_token", refresh_token)
        .append_pair("client_id", PGO)
        .finish()
}

/// The JSON of an answer.
pub fn json(a: &Answer) -> serde_json::Value {
    serde_json::from_str(&a.body).unwrap()
}

/// A resource request with a Bearer token and, when given, the OAUTH-21 headers.
pub async fn fetch_traced(
    router: &Router,
    path: &str,
    token: &str,
    trace: Option<&TraceIds>,
) -> Answer {
    let mut r = request("GET", path, "192.0.2.200", None, None);
    r.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    if let Some(t) = trace {
        for (k, v) in t.headers() {
            r.headers_mut().insert(k, v.parse().unwrap());
        }
    }
    r.extensions_mut()
        .insert(MtlsClient(ClientId::new(PGO).unwrap()));
    send(router, r).await
}

/// A vault the test can look into.
#[derive(Clone, Default)]
pub struct SharedVault(pub Arc<MemoryVault>);

impl RefreshTokenVault for SharedVault {
    type Error = std::convert::Infallible;
    fn put(&self, key: &VaultKey, token: &RefreshToken) -> Result<(), Self::Error> {
        self.0.put(key, token)
    }
    fn take(&self, key: &VaultKey) -> Result<Option<RefreshToken>, Self::Error> {
        self.0.take(key)
    }
}

impl SharedVault {
    /// The token kept for `person` at umcharderwijk, left in place.
    pub fn peek(&self, person: &str) -> Option<RefreshToken> {
        let key = VaultKey::new(person, za());
        let t = self.0.take(&key).unwrap();
        if let Some(t) = &t {
            self.0.put(&key, t).unwrap();
        }
        t
    }
}

pub type V2Grants = Arc<Mutex<Vec<(String, GrantV2, Option<String>)>>>;

/// The person is the `x-person` header; umcharderwijk speaks 2.x, every other Zorgaanbieder
/// 1.x (the ZAL's Interfaceversie per counterpart).
pub struct V2PgoHost(pub V2Grants);

impl PgoHost for V2PgoHost {
    async fn person(&self, headers: &http::HeaderMap) -> Option<String> {
        headers.get("x-person")?.to_str().ok().map(str::to_owned)
    }
    fn endpoints(&self, _scope: &Scope) -> Option<(String, String)> {
        Some((
            "https://za.example.nl/authorize".into(),
            "https://za.example.nl/token".into(),
        ))
    }
    fn counterpart(&self, scope: &Scope) -> Option<Counterpart> {
        let (authorization_endpoint, token_endpoint) = self.endpoints(scope)?;
        let release = if scope.zorgaanbieder().scope_part() == "umcharderwijk" {
            ReleaseLine::V2
        } else {
            ReleaseLine::V1
        };
        Some(Counterpart {
            release,
            authorization_endpoint,
            token_endpoint,
        })
    }
    async fn granted(&self, _person: &str, _grant: AccessGrant) -> HttpResponse {
        HttpResponse::page(409, "granted_v2 is implemented".into())
    }
    async fn granted_v2(
        &self,
        person: &str,
        grant: GrantV2,
        manage: Option<String>,
    ) -> HttpResponse {
        self.0
            .lock()
            .unwrap()
            .push((person.to_owned(), grant, manage));
        HttpResponse::page(200, "<p>Gegevens worden opgehaald.</p>".into())
    }
}

/// A 2.x-capable PGO GW whose back channel is `za`, with a vault.
pub fn v2_pgo(za: Router, clock: &TestClock) -> (Router, V2Grants, TestAudit, SharedVault) {
    let grants = V2Grants::default();
    let audit = TestAudit::default();
    let vault = SharedVault::default();
    let client = Client::new(ClientId::new(PGO).unwrap(), REDIRECT).unwrap();
    let limits = FlowLimits::default();
    let gw = PgoGateway::with_vault(
        client,
        PendingFlows::new(MemoryFlowStore::new(limits), limits),
        PgoHooks {
            transport: InProcess(za),
            host: V2PgoHost(grants.clone()),
            audit: audit.clone(),
            pages: DefaultPages,
        },
        PgoSettings {
            clock: clock.clock(),
            ..PgoSettings::default()
        },
        vault.clone(),
    );
    (gw.router(), grants, audit, vault)
}

/// A request of the person's browser to the PGO GW.
pub fn pgo_request(uri: &str, person: &str, cookie: Option<&str>) -> http::Request<Body> {
    let mut r = request("GET", uri, "192.0.2.7", cookie, None);
    r.headers_mut().insert("x-person", person.parse().unwrap());
    r
}

/// The path and query of an absolute URL.
pub fn path_and_query(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    format!("{}?{}", u.path(), u.query().unwrap_or_default())
}

/// Follows a PGO GW answer that sends the browser to the ZA GW's authorization endpoint
/// through login and consent and back to the PGO GW; returns the PGO GW's last answer.
pub async fn through_za(
    pgo: &Router,
    za: &Router,
    person: &str,
    leave: Answer,
    indefinite: bool,
) -> Answer {
    assert_eq!(leave.status, 302, "{}", leave.body);
    let pgo_cookie = leave.cookie(PGO_COOKIE).expect("PGO flow cookie");
    let to = leave.location();
    assert!(to.starts_with("https://za.example.nl/authorize?"), "{to}");
    let a = send(
        za,
        request("GET", &path_and_query(&to), "192.0.2.7", None, None),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let za_cookie = a.cookie(ZA_COOKIE).unwrap();
    let callback = format!("{}&person={person}", a.marked("CALLBACK"));
    let c = send(
        za,
        request("GET", &callback, "192.0.2.7", Some(&za_cookie), None),
    )
    .await;
    assert_eq!(c.status, 200, "{}", c.body);
    let form = if indefinite {
        "decision=yes&period=indefinite"
    } else {
        "decision=yes"
    };
    let d = send(
        za,
        request(
            "POST",
            &c.marked("ACTION"),
            "192.0.2.7",
            Some(&za_cookie),
            Some((FORM_CONTENT_TYPE, form)),
        ),
    )
    .await;
    assert_eq!(d.status, 302, "{}", d.body);
    let back = d.location();
    assert!(back.starts_with(REDIRECT), "{back}");
    send(
        pgo,
        pgo_request(&path_and_query(&back), person, Some(&pgo_cookie)),
    )
    .await
}
