//! medmij-oauth, in memory, one thread: a whole flow, and code issue + redeem.
//! Figures and targets: BENCHMARKS.md, section `## medmij-oauth`.
#![allow(missing_docs)]

#[path = "oauth_common/mod.rs"]
mod common;

use common::*;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use medmij_oauth::*;
use std::hint::black_box;
use std::time::Duration;

/// Simulated time advances 10 ms per flow, so the store reaches its steady state (codes kept
/// 1800 s, tokens 900 s: 180,000 codes and 90,000 tokens live) and sweeps as it would in
/// production, instead of growing for ever or staying empty.
const STEP: Duration = Duration::from_millis(10);

fn whole_flow(c: &mut Criterion) {
    let mut g = c.benchmark_group("oauth_flow");
    g.throughput(Throughput::Elements(1));
    let s = server(MemoryStore::new());
    let (subject, za, gd) = (Subject::new("person-1").unwrap(), za(), gd());
    let mut now = t0();
    g.bench_function("memory/whole_flow", |b| {
        b.iter(|| {
            now += STEP;
            assert!(flow(&s, &subject, &za, &gd, now, None));
        })
    });
    g.finish();
}

fn issue_redeem(c: &mut Criterion) {
    let mut g = c.benchmark_group("oauth_code");
    g.throughput(Throughput::Elements(1));
    // Store level: draw a UUID v4 from the CSPRNG, hash it, insert (with the OAUTH-6
    // collision check), redeem (single use, OAUTH-8).
    let store = MemoryStore::new();
    let record = CodeRecord {
        client_id: client(),
        redirect_uri: "https://pgo.example.nl/cb".into(),
        scope: Scope::single(za(), gd()),
        subject: Subject::new("person-1").unwrap(),
        use_case: UseCase::Verzamelen,
        issued_at: t0(),
    };
    let mut now = t0();
    g.bench_function("memory/store_issue_redeem", |b| {
        b.iter(|| {
            now += STEP;
            let code = Code::random(&ThreadRandom);
            let mut r = record.clone();
            r.issued_at = now;
            store.insert_code(&code.hash(), &r, now).unwrap();
            let text = code.to_string();
            let presented = Code::parse(black_box(&text)).unwrap();
            assert!(matches!(
                store.redeem_code(&presented.hash(), now),
                Ok(Redemption::Fresh(_))
            ));
        })
    });
    // Server level: issue_code on a consented session (redirect URL built), then the token
    // endpoint (form parsing, redemption, token issuance, JSON body).
    let s = server(MemoryStore::new());
    let mut ready = s.authorize(QUERY).unwrap();
    ready
        .authenticated(Authentication::Established(Subject::new("p").unwrap()))
        .unwrap();
    ready.data_available(true).unwrap();
    let granted = ready.consent(ConsentDecision::Granted, t0()).unwrap();
    assert!(matches!(granted, ConsentOutcome::Granted(_)));
    let mut now = t0();
    g.bench_function("memory/server_issue_code_and_token", |b| {
        b.iter(|| {
            now += STEP;
            let mut session = ready.clone();
            let redirect = s.issue_code(&mut session, now).unwrap();
            let loc = redirect.location();
            let i = loc.find("code=").unwrap() + 5;
            let body = format!("{BODY_HEAD}{}{BODY_TAIL}", &loc[i..i + 36]);
            let out = s.token(Some(FORM_CONTENT_TYPE), &body, &client(), now);
            black_box(out.response.body());
        })
    });
    g.finish();
}

criterion_group!(benches, whole_flow, issue_redeem);
criterion_main!(benches);
