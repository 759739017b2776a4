//! Whole flows through medmij-oauth's axum adapter (`ZaGateway`) with the PostgreSQL token and
//! flow stores: authorization request, login callback, consent, code redirect, token request,
//! one FHIR read, `MEDMIJ_BENCH_CONCURRENCY` (default 64) flows at a time. Prints flows/s and
//! the token endpoint's p50/p99/max. Not criterion: one timed run of `MEDMIJ_BENCH_FLOWS`
//! flows (default 2000; e.g. `MEDMIJ_BENCH_FLOWS=64` for a quick check).
//!
//! Needs `MEDMIJ_TEST_DATABASE_URL`; without it this prints a notice and measures nothing.
#![allow(missing_docs)]

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http;
use medmij_oauth::adapter::*;
use medmij_oauth::*;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tower::ServiceExt;

const PGO: &str = "pgo.example.nl";
const REDIRECT: &str = "https://pgo.example.nl/cb";

struct Login;
impl Authenticator for Login {
    async fn start(&self, _: &FlowInfo, callback: &str) -> HttpResponse {
        HttpResponse::page(200, format!("CB[{callback}]"))
    }
    async fn complete(&self, _: &FlowInfo, _: &HostRequest) -> Authentication {
        Authentication::Established(Subject::new("person-1").expect("subject"))
    }
}
struct Data;
impl DataAvailability for Data {
    async fn available(&self, _: &Subject, _: &FlowInfo) -> Result<bool, HostError> {
        Ok(true)
    }
}
struct Consent;
impl ConsentUi for Consent {
    async fn render(&self, _: &FlowInfo, action: &str) -> String {
        format!("CB[{action}]")
    }
    async fn decision(&self, _: &FlowInfo, _: &HostRequest) -> ConsentDecision {
        ConsentDecision::Granted
    }
}
struct Fhir;
impl FhirBackend for Fhir {
    fn target(&self, _: &str) -> Option<(Zorgaanbiedernaam, ScopeGegevensdienstId)> {
        Some((za(), ScopeGegevensdienstId::new("1").ok()?))
    }
    async fn read(&self, _: &ResourceAccess, _: &str, _: &str) -> Result<FhirReply, HostError> {
        Ok(FhirReply {
            status: 200,
            body: r#"{"resourceType":"Bundle"}"#.into(),
        })
    }
    async fn write(&self, _: &ResourceAccess, _: &str, _: &str) -> Result<FhirReply, HostError> {
        Err(HostError("read only".into()))
    }
}
#[derive(Clone)]
struct Count(Arc<AtomicUsize>);
impl AuditSink for Count {
    async fn record(&self, _: AuditEvent) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn za() -> Zorgaanbiedernaam {
    Zorgaanbiedernaam::new("umcharderwijk@medmij").expect("name")
}

fn req(
    method: &str,
    uri: &str,
    source: SocketAddr,
    cookie: Option<&str>,
    body: &str,
) -> http::Request<Body> {
    let mut b = http::Request::builder().method(method).uri(uri);
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    if !body.is_empty() {
        b = b.header("content-type", FORM_CONTENT_TYPE);
    }
    let mut r = b.body(Body::from(body.to_owned())).expect("request");
    r.extensions_mut().insert(ConnectInfo(source));
    r
}

async fn call(router: &Router, r: http::Request<Body>) -> (u16, http::HeaderMap, String) {
    let res = router.clone().oneshot(r).await.expect("infallible");
    let (parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.expect("body");
    (
        parts.status.as_u16(),
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

fn marked(body: &str) -> String {
    body.split("CB[")
        .nth(1)
        .and_then(|r| r.split(']').next())
        .expect("marker")
        .to_owned()
}

/// One whole flow; returns the token request's latency.
async fn flow(router: &Router, source: SocketAddr, n: usize) -> Duration {
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", PGO)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "umcharderwijk~1")
        .append_pair("state", &format!("s{n}"))
        .finish();
    let (s, h, b) = call(
        router,
        req("GET", &format!("/authorize?{q}"), source, None, ""),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let set = h
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("cookie");
    let cookie = set.split(';').next().expect("cookie").to_owned();
    let (s, _, b) = call(router, req("GET", &marked(&b), source, Some(&cookie), "")).await;
    assert_eq!(s, 200, "{b}");
    let (s, h, _) = call(
        router,
        req("POST", &marked(&b), source, Some(&cookie), "decision=yes"),
    )
    .await;
    assert_eq!(s, 302);
    let loc = h
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location");
    let url = url::Url::parse(loc).expect("url");
    let code = url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .expect("code")
        .1
        .into_owned();
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}",
        form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
    );
    let mut t = req("POST", "/token", source, None, &body);
    t.extensions_mut()
        .insert(MtlsClient(ClientId::new(PGO).expect("client")));
    let started = Instant::now();
    let (s, _, b) = call(router, t).await;
    let latency = started.elapsed();
    assert_eq!(s, 200, "{b}");
    let json: serde_json::Value = serde_json::from_str(&b).expect("json");
    let token = json["access_token"].as_str().expect("token");
    let mut r = req("GET", "/fhir/1/Patient", source, None, "");
    r.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    assert_eq!(call(router, r).await.0, 200);
    latency
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let Ok(url) = std::env::var("MEDMIJ_TEST_DATABASE_URL") else {
        eprintln!("oauth_axum_pg: MEDMIJ_TEST_DATABASE_URL not set; nothing measured");
        return;
    };
    let (flows, concurrency) = (
        env("MEDMIJ_BENCH_FLOWS", 2000),
        env("MEDMIJ_BENCH_CONCURRENCY", 64),
    );
    let prefix = format!("oauth_axum_bench_{}", std::process::id());
    let limits = FlowLimits::default();
    let tokens = PgStore::connect_no_tls(&url, &prefix, 8).expect("connect");
    let pending = PgFlowStore::connect_no_tls(&url, &prefix, 8, limits).expect("connect");
    let config = ServerConfig::new().offer(
        za(),
        ScopeGegevensdienstId::new("1").expect("gd"),
        UseCase::Verzamelen,
    );
    let ocl = StaticClientRegistry::new().with_client(ClientId::new(PGO).expect("client"), None);
    let server = AsyncAuthorizationServer::new(AuthorizationServer::new(config, ocl, tokens));
    let audit = Count(Arc::new(AtomicUsize::new(0)));
    let hooks = ZaHooks {
        authenticator: Login,
        data: Data,
        consent: Consent,
        fhir: Fhir,
        audit: audit.clone(),
        pages: DefaultPages,
    };
    let gateway = ZaGateway::new(
        server,
        PendingFlows::new(pending, limits),
        hooks,
        ZaSettings::default(),
    );
    let router = gateway.router();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (elapsed, mut latencies) = rt.block_on(async {
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let workers: Vec<_> = (0..concurrency)
            .map(|w| {
                let (router, next) = (router.clone(), next.clone());
                // One source address per worker: the per-source limit (16) is not the subject.
                let source: SocketAddr = format!("10.0.{}.{}:40000", w / 250, w % 250 + 1)
                    .parse()
                    .expect("addr");
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= flows {
                            return lat;
                        }
                        lat.push(flow(&router, source, n).await);
                    }
                })
            })
            .collect();
        let mut all = Vec::with_capacity(flows);
        for w in workers {
            all.extend(w.await.expect("worker"));
        }
        (started.elapsed(), all)
    });
    latencies.sort();
    let pct = |p: f64| {
        latencies[((latencies.len() as f64 * p).ceil() as usize)
            .saturating_sub(1)
            .min(latencies.len() - 1)]
    };
    println!(
        "oauth_axum_pg: {flows} whole flows, {concurrency} concurrent: {:.0} flows/s; token p50 {:?}, p99 {:?}, max {:?}; {} audit events",
        flows as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        latencies.last().copied().unwrap_or_default(),
        audit.0.load(Ordering::Relaxed)
    );
    drop(gateway);
    drop(router);
    drop(rt);
    let cleanup = PgStore::connect_no_tls(&url, &prefix, 1).expect("connect");
    cleanup.drop_tables().expect("drop");
    PgFlowStore::connect_no_tls(&url, &prefix, 1, limits)
        .expect("connect")
        .drop_table()
        .expect("drop");
}
