//! medmij-log: verification speed (issue 5 aim: 200 MB/s).
//!
//! * `log_verify/chain_20k`: `verify_only` (what `FileLog::open`,
//!   `FileLog::verify` and `audit verify` use) over an in-memory log of
//!   20,000 events (~10 MB) with a signed checkpoint every 1,000: hash
//!   chain, every event's JSON checked, every signature checked; throughput
//!   in bytes.
//! * `log_verify/chain_20k_with_events`: `verify_reader`, which also builds
//!   every `Event` for a callback (what queries use).
//!
//! Run: `cargo bench -p medmij-benches --bench log_verify`.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::time::{Duration, UNIX_EPOCH};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use medmij_log::{
    Action, Actor, ActorKind, ChainHead, ChainWriter, Domain, Event, Object, Outcome, Source,
    SubjectId, Trust, verify_only, verify_reader,
};

fn event(i: u64) -> Event {
    Event {
        id: format!("ev-{i}"),
        event_type: "fhir.read".into(),
        action: Action::Read,
        time: UNIX_EPOCH + Duration::from_secs(1_750_000_000 + i),
        actor: Actor {
            id: "pgo.example.nl".into(),
            kind: ActorKind::System,
            role: Some("PGO GW".into()),
            on_behalf_of: Some(format!("person-{}", i % 1000)),
        },
        subject: Some(SubjectId::new(format!("person-{}", i % 1000), Domain::Pgo).unwrap()),
        object: Object::new("fhir:MedicationStatement", format!("ms-{i}")),
        source: Source {
            system: "pgo.example.nl".into(),
            location: Some("10.0.0.1".into()),
        },
        outcome: Outcome::Success,
        detail: None,
    }
}

fn bench(c: &mut Criterion) {
    let key = SigningKey::from_bytes(&[9; 32]);
    let trust = Trust::Keys(vec![key.verifying_key()]);
    let mut w = ChainWriter::new(ChainHead::EMPTY, key, 1000);
    let mut log = Vec::new();
    for i in 0..20_000 {
        w.push_event(&event(i), &mut log);
    }
    let mut g = c.benchmark_group("log_verify");
    g.throughput(Throughput::Bytes(log.len() as u64));
    g.bench_function("chain_20k", |b| {
        b.iter(|| {
            let r = verify_only(log.as_slice(), trust.clone()).unwrap();
            assert_eq!(r.events, 20_000);
        })
    });
    g.bench_function("chain_20k_with_events", |b| {
        b.iter(|| {
            let mut n = 0u64;
            let r = verify_reader(log.as_slice(), trust.clone(), |_| n += 1).unwrap();
            assert_eq!((r.events, n), (20_000, 20_020));
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
