//! medmij-lists benchmarks (issue targets in BENCHMARKS.md):
//!
//! * `zal_parse/medmij_lists` vs `zal_parse/quick_xml_bare`: parse + full
//!   validation of the 50,000-provider ZAL (~110 MB) against a bare
//!   quick-xml event loop over the same bytes (target: at least half its
//!   throughput, and at least 300 MB/s);
//! * `lookup/whl_contains_100k_*`: Whitelist `contains` with 100,000
//!   entries (target under 50 ns);
//! * `lookup/zal_*_100k`: ZAL endpoint lookups with 100,000 providers
//!   (target under 100 ns).
//!
//! Run: `cargo bench -p medmij-benches --bench lists`.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use medmij_benches::{generate_whl, generate_zal, provider_letters};
use medmij_lists::{Whitelist, Zorgaanbiederslijst};
use quick_xml::Reader;
use quick_xml::events::Event;
use std::hint::black_box;
use std::time::Duration;

fn bare_event_loop(xml: &str) -> usize {
    let mut reader = Reader::from_str(xml);
    let mut n = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => return n,
            Ok(_) => n += 1,
            Err(e) => panic!("{e}"),
        }
    }
}

fn parse(c: &mut Criterion) {
    let xml = generate_zal(50_000, 1);
    let mut g = c.benchmark_group("zal_parse");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Bytes(xml.len() as u64));
    g.bench_function("medmij_lists", |b| {
        b.iter_batched(
            || (),
            |()| Zorgaanbiederslijst::from_bytes(black_box(xml.as_bytes())).expect("valid"),
            // Dropping the 50,000-provider model is not part of parsing.
            BatchSize::PerIteration,
        )
    });
    g.bench_function("quick_xml_bare", |b| {
        b.iter(|| bare_event_loop(black_box(&xml)))
    });
    g.finish();
}

fn lookups(c: &mut Criterion) {
    let whl = Whitelist::from_bytes(generate_whl(100_000).as_bytes()).expect("valid");
    let hosts: Vec<String> = (0..1024)
        .map(|i| format!("node{}.{}.example.nl", i * 97, provider_letters(i * 97)))
        .collect();
    let upper: Vec<String> = hosts.iter().map(|h| h.to_ascii_uppercase()).collect();
    let misses: Vec<String> = hosts.iter().map(|h| format!("x{h}")).collect();
    let zal = Zorgaanbiederslijst::from_bytes(generate_zal(100_000, 2).as_bytes()).expect("valid");
    let keys: Vec<(String, String, String)> = (0..1024)
        .map(|i| {
            let z = &zal.zorgaanbieders()[(i * 89) % zal.len()];
            let g = z.gegevensdiensten().last().expect("one");
            let s = g.systeemrollen().last().expect("one");
            (
                z.naam().to_string(),
                g.id().to_string(),
                s.code().to_string(),
            )
        })
        .collect();

    let mut g = c.benchmark_group("lookup");
    let mut i = 0usize;
    for (name, set) in [
        ("whl_contains_100k_hit", &hosts),
        ("whl_contains_100k_uppercase", &upper),
        ("whl_contains_100k_miss", &misses),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) & 1023;
                whl.contains(black_box(&set[i]))
            })
        });
    }
    g.bench_function("zal_token_endpoint_100k", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            let (n, id, _) = &keys[i];
            zal.token_endpoint(black_box(n), black_box(id)).is_some()
        })
    });
    g.bench_function("zal_resource_endpoint_100k", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            let (n, id, code) = &keys[i];
            zal.resource_endpoint(black_box(n), black_box(id), black_box(code))
                .is_some()
        })
    });
    g.finish();
}

criterion_group!(benches, parse, lookups);
criterion_main!(benches);
