//! Times full parsing against a bare quick-xml event loop over the same
//! file, alternating runs so both see the same machine load, and prints the
//! best time of each and their ratio: `parse-ratio FILE [RUNS]`.

use quick_xml::Reader;
use quick_xml::events::Event;
use std::time::{Duration, Instant};

/// Kept out of line so `valgrind --toggle-collect='parse_ratio::bare'` can
/// count its instructions alone.
#[inline(never)]
fn bare(xml: &str) -> usize {
    let mut reader = Reader::from_str(xml);
    let mut n = 0;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => return n,
            Ok(_) => n += 1,
            Err(e) => panic!("{e}"),
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: parse-ratio FILE [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(7);
    let bytes = std::fs::read(&path).expect("read");
    let text = std::str::from_utf8(&bytes).expect("utf-8");
    let (mut best_bare, mut best_parse) = (Duration::MAX, Duration::MAX);
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(bare(std::hint::black_box(text)));
        best_bare = best_bare.min(t.elapsed());
        let t = Instant::now();
        let list = medmij_lists::parse_any(
            std::hint::black_box(&bytes),
            &medmij_lists::ParseOptions::default(),
        );
        best_parse = best_parse.min(t.elapsed());
        assert!(list.is_ok(), "the file must be a valid list");
        drop(list);
    }
    let mb = bytes.len() as f64 / 1e6;
    println!(
        "{path}: {mb:.1} MB; quick-xml bare {:.0} ms ({:.0} MB/s); medmij-lists parse+validate {:.0} ms ({:.0} MB/s); ratio {:.2}",
        best_bare.as_secs_f64() * 1e3,
        mb / best_bare.as_secs_f64(),
        best_parse.as_secs_f64() * 1e3,
        mb / best_parse.as_secs_f64(),
        best_parse.as_secs_f64() / best_bare.as_secs_f64()
    );
}
