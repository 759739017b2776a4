//! medmij-oauth with the PostgreSQL store on loopback: whole flows per second (criterion) and
//! the token endpoint's latency distribution (p50/p99/max, printed).
//!
//! Needs `MEDMIJ_TEST_DATABASE_URL` (e.g. postgres://medmij:medmij@127.0.0.1:5432/medmij_test);
//! without it this benchmark prints a notice and measures nothing.
#![allow(missing_docs)]

#[path = "oauth_common/mod.rs"]
mod common;

use common::*;
use criterion::{Criterion, Throughput};
use medmij_oauth::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let Ok(url) = std::env::var("MEDMIJ_TEST_DATABASE_URL") else {
        eprintln!("oauth_pg: MEDMIJ_TEST_DATABASE_URL not set; nothing measured");
        return;
    };
    let prefix = format!("oauth_bench_{}", std::process::id());
    let store = Arc::new(PgStore::connect_no_tls(&url, &prefix, 4).expect("connect"));
    let s = Arc::new(server(Arc::clone(&store)));
    let (subject, za, gd) = (Subject::new("person-1").unwrap(), za(), gd());

    let mut c = Criterion::default().configure_from_args();
    {
        let mut g = c.benchmark_group("oauth_pg");
        g.throughput(Throughput::Elements(1));
        let mut now = t0();
        g.bench_function("pg/whole_flow_1_thread", |b| {
            b.iter(|| {
                now += Duration::from_millis(10);
                assert!(flow(&s, &subject, &za, &gd, now, None));
            })
        });
        g.finish();
    }

    // Token-endpoint latency, one thread, then four threads sharing four connections.
    for threads in [1usize, 4] {
        let per_thread = 5000 / threads;
        let start = Instant::now();
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let (s, subject, za, gd) =
                    (Arc::clone(&s), subject.clone(), za.clone(), gd.clone());
                std::thread::spawn(move || {
                    let mut lat = Vec::with_capacity(per_thread);
                    let mut now = t0() + Duration::from_secs(86_400 * (k as u64 + 1));
                    for _ in 0..per_thread {
                        now += Duration::from_millis(10);
                        let mut l = Duration::ZERO;
                        assert!(flow(&s, &subject, &za, &gd, now, Some(&mut l)));
                        lat.push(l);
                    }
                    lat
                })
            })
            .collect();
        let mut lat: Vec<Duration> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let elapsed = start.elapsed();
        lat.sort();
        let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
        println!(
            "oauth_pg threads={threads} flows={} flows/s={:.0} token_latency p50={:?} p99={:?} max={:?}",
            lat.len(),
            lat.len() as f64 / elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.99),
            lat[lat.len() - 1],
        );
    }
    c.final_summary();
    store.drop_tables().expect("drop bench tables");
}
