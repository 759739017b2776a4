//! medmij-log: durable appends per second on the embedded file sink
//! (issue 5 aim: 20,000/s with group commit). Every append returns only
//! after `fdatasync`; concurrent appenders share commits (group commit).
//!
//! * `log_append/threads_N`: N threads calling `FileLog::append` (one event
//!   each call); throughput = acknowledged durable appends per second.
//! * `log_append/batch_100`: one thread calling `append_batch` with 100
//!   events.
//!
//! Run: `cargo bench -p medmij-benches --bench log_append`. The log file is
//! in `target/tmp/` (the disk the target directory is on).

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use medmij_log::{
    Action, Actor, ActorKind, Domain, Event, FileLog, FileLogConfig, Object, Outcome, Source,
    SubjectId,
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

fn open(name: &str) -> FileLog {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("medmij-log-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.jsonl"));
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(dir.join(format!("{name}.jsonl.torn")));
    let config = FileLogConfig::new(SigningKey::from_bytes(&[9; 32]));
    FileLog::open(
        &path,
        config,
        UNIX_EPOCH + Duration::from_secs(1_750_000_000),
    )
    .unwrap()
    .0
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("log_append");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(1));
    for threads in [1u64, 16, 64, 256] {
        let log = Arc::new(open(&format!("threads_{threads}")));
        g.bench_function(format!("threads_{threads}"), |b| {
            b.iter_custom(|iters| {
                let per = iters.div_ceil(threads);
                let start = Instant::now();
                let hs: Vec<_> = (0..threads)
                    .map(|th| {
                        let log = log.clone();
                        std::thread::spawn(move || {
                            for i in 0..per {
                                log.append(&event(th * 1_000_000_000 + i)).unwrap();
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.join().unwrap();
                }
                // Per append actually made (per * threads >= iters).
                start
                    .elapsed()
                    .mul_f64(iters as f64 / (per * threads) as f64)
            })
        });
    }
    let log = open("batch_100");
    let batch: Vec<Event> = (0..100).map(event).collect();
    g.throughput(Throughput::Elements(100));
    g.bench_function("batch_100", |b| {
        b.iter(|| log.append_batch(&batch).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
