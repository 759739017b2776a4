//! medmij-oauth release 2.x: the refresh grant (MedMij OAUTH-19) per second, next to the 2.x
//! code grant, in memory and (with `MEDMIJ_TEST_DATABASE_URL`) with `PgStore`. Not criterion:
//! plain timed runs that print one line per measurement.
//!
//! Per backend and thread count:
//!
//! * `code`: whole 2.x Verzamelen flows with an indefinite (long-lasting) consent, as the
//!   PGO GW and the AS run them: `Client::start_release` → `authorize` → authenticated →
//!   data available → `consent_with(.., Indefinite, ..)` → `issue_code` → `handle_redirect`
//!   → `token_request` → `token_v2` (code grant; its time is the token latency) →
//!   `parse_token_response` (which yields the refresh token).
//! * `refresh`: per thread `MEDMIJ_BENCH_CHAINS` (default 100) chains started from such
//!   flows, then `MEDMIJ_BENCH_REFRESHES` refreshes over them in turn (rotation: every
//!   answer's refresh token is used for the chain's next refresh). A chain keeps its access
//!   tokens of the last 900 s, so with one chain (`MEDMIJ_BENCH_CHAINS=1`) and 10 ms per
//!   refresh it holds up to 90,000 of them, far beyond a real person's:
//!   `refresh_request` → `token_v2` (refresh grant; token latency) → `parse_response`.
//!
//! Printed: operations/s over the wall time (all threads), the server's `token_v2` alone
//! (operations per second of summed `token_v2` time, one thread's view), and the `token_v2`
//! latency p50/p99/max. The simulated clock advances 10 ms per operation.
//!
//! Env: `MEDMIJ_BENCH_REFRESHES` (default 20000 in memory, 2000 per run on PostgreSQL),
//! `MEDMIJ_BENCH_CONCURRENCY` (PostgreSQL thread counts, default `1,4`; memory runs one
//! thread), `MEDMIJ_TEST_DATABASE_URL` (without it only the memory runs).
#![allow(missing_docs)]

#[path = "oauth_common/mod.rs"]
mod common;

use common::*;
use medmij_oauth::*;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

const AUTHZ: &str = "https://za.example.nl/oauth/authorize";
const TOKEN: &str = "https://za.example.nl/oauth/token";
const STEP: Duration = Duration::from_millis(10);

fn pgo() -> Client {
    Client::new(client(), "https://pgo.example.nl/cb").expect("client")
}

fn scope() -> Scope {
    Scope::parse("umcharderwijk~1", ScopeForm::Single).expect("scope")
}

fn req<'a>(r: &'a TracedTokenRequest) -> TokenHttpRequest<'a> {
    let h = |n: &str| {
        r.headers
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.as_str())
    };
    TokenHttpRequest {
        content_type: Some(FORM_CONTENT_TYPE),
        body: &r.request.body,
        request_id: h("MedMij-Request-ID"),
        correlation_id: h("X-Correlation-ID"),
    }
}

/// One whole 2.x flow with a long-lasting consent; returns the grant and the `token_v2` time.
fn code_flow<S: TokenStore>(
    s: &AuthorizationServer<S, StaticClientRegistry>,
    c: &Client,
    subject: &Subject,
    now: SystemTime,
) -> (GrantV2, Duration) {
    let (url, pending) = c
        .start_release(
            ReleaseLine::V2,
            AUTHZ,
            TOKEN,
            scope(),
            UseCase::Verzamelen,
            None,
        )
        .expect("start");
    let q = &url[url.find('?').expect("query") + 1..];
    let mut session = s.authorize(q).expect("valid request");
    session
        .authenticated(Authentication::Established(subject.clone()))
        .expect("authenticated");
    session.data_available(true).expect("data");
    let granted = session
        .consent_with(ConsentDecision::Granted, ConsentPeriod::Indefinite, now)
        .expect("consent");
    assert!(matches!(granted, ConsentOutcome::Granted(_)));
    let redirect = s.issue_code(&mut session, now).expect("code");
    let loc = redirect.location();
    let code = pending
        .handle_redirect(&loc[loc.find('?').expect("query") + 1..], now)
        .expect("redirect")
        .code;
    let tr = pending.token_request(&code);
    let started = Instant::now();
    let out = s.token_v2(&req(&tr), &client(), now);
    let body = out.response.body();
    let lat = started.elapsed();
    let grant = pending
        .parse_token_response(out.response.status(), &body, now)
        .expect("code grant");
    assert!(
        grant.refresh_token.is_some(),
        "long-lasting consent gives a refresh token"
    );
    (grant, lat)
}

/// One refresh with rotation; returns the new grant and the `token_v2` time.
fn refresh<S: TokenStore>(
    s: &AuthorizationServer<S, StaticClientRegistry>,
    c: &Client,
    grant: &GrantV2,
    now: SystemTime,
) -> (GrantV2, Duration) {
    let rt = grant.refresh_token.as_ref().expect("refresh token");
    let (tr, wait) = c
        .refresh_request(TOKEN, rt, scope(), &grant.wire_scope)
        .expect("refresh request");
    let started = Instant::now();
    let out = s.token_v2(&req(&tr), &client(), now);
    let body = out.response.body();
    let lat = started.elapsed();
    let fresh = wait
        .parse_response(out.response.status(), &body, now)
        .expect("refresh grant");
    assert!(
        fresh.refresh_token.is_some(),
        "rotation gives a new refresh token"
    );
    (fresh, lat)
}

fn report(label: &str, threads: usize, wall: Duration, mut lat: Vec<Duration>) {
    lat.sort();
    let n = lat.len();
    let sum: Duration = lat.iter().sum();
    let pct = |p: f64| lat[((n as f64 * p) as usize).min(n - 1)];
    println!(
        "oauth_refresh {label} threads={threads} n={n} ops/s={:.0} token_v2_only/s={:.0} \
         token_latency p50={:?} p99={:?} max={:?}",
        n as f64 / wall.as_secs_f64(),
        n as f64 / sum.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        lat[n - 1],
    );
}

fn run<S: TokenStore + Send + Sync + 'static>(
    backend: &str,
    s: Arc<AuthorizationServer<S, StaticClientRegistry>>,
    n: usize,
    threads: usize,
    epoch: u64,
    chains: usize,
) {
    for kind in ["code", "refresh"] {
        let per_thread = n / threads;
        let start = Instant::now();
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let s = Arc::clone(&s);
                std::thread::spawn(move || {
                    let c = pgo();
                    let subject = Subject::new(format!("person-{k}")).expect("subject");
                    let mut now = t0() + Duration::from_secs(86_400 * (epoch * 64 + k as u64));
                    let mut lat = Vec::with_capacity(per_thread);
                    if kind == "code" {
                        for _ in 0..per_thread {
                            now += STEP;
                            lat.push(code_flow(&s, &c, &subject, now).1);
                        }
                    } else {
                        // The chains' first grants are set up outside the timing.
                        let mut grants: Vec<GrantV2> = (0..chains)
                            .map(|_| {
                                now += STEP;
                                code_flow(&s, &c, &subject, now).0
                            })
                            .collect();
                        let t = Instant::now();
                        for i in 0..per_thread {
                            now += STEP;
                            let g = &mut grants[i % chains];
                            let (fresh, l) = refresh(&s, &c, g, now);
                            *g = fresh;
                            lat.push(l);
                        }
                        return (lat, Some(t.elapsed()));
                    }
                    (lat, None)
                })
            })
            .collect();
        let mut lat = Vec::with_capacity(n);
        let mut longest = Duration::ZERO;
        for h in handles {
            let (l, t) = h.join().expect("thread");
            lat.extend(l);
            longest = longest.max(t.unwrap_or_default());
        }
        let wall = if kind == "refresh" {
            longest
        } else {
            start.elapsed()
        };
        report(&format!("{backend}/{kind}"), threads, wall, lat);
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is ignored.
    let n_mem = env_usize("MEDMIJ_BENCH_REFRESHES", 20_000);
    let chains = env_usize("MEDMIJ_BENCH_CHAINS", 100).max(1);
    let mem = Arc::new(server(MemoryStore::new()));
    // Warm-up, then the measured run.
    run("memory", Arc::clone(&mem), n_mem / 10, 1, 0, chains);
    run("memory", mem, n_mem, 1, 1, chains);

    let Ok(url) = std::env::var("MEDMIJ_TEST_DATABASE_URL") else {
        eprintln!("oauth_refresh: MEDMIJ_TEST_DATABASE_URL not set; PostgreSQL not measured");
        return;
    };
    let n_pg = env_usize("MEDMIJ_BENCH_REFRESHES", 2_000);
    let threads: Vec<usize> = std::env::var("MEDMIJ_BENCH_CONCURRENCY")
        .unwrap_or_else(|_| "1,4".into())
        .split(',')
        .filter_map(|t| t.trim().parse().ok())
        .collect();
    let prefix = format!("oauth_bench_{}", std::process::id());
    let conns = threads.iter().copied().max().unwrap_or(1).max(4);
    let store = Arc::new(PgStore::connect_no_tls(&url, &prefix, conns).expect("connect"));
    let s = Arc::new(server(Arc::clone(&store)));
    for (i, &t) in threads.iter().enumerate() {
        run("pg", Arc::clone(&s), n_pg, t, 2 + i as u64, chains);
    }
    store.drop_tables().expect("drop bench tables");
}
