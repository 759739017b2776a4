//! medmij-oauth, in memory, one thread: runs whole flows outside criterion, for instruction
//! counts and quick A/B timing. `oauth_count [WARMUP] [FLOWS]` (defaults 200,000 and
//! 200,000): the warm-up fills the store (as in `oauth_flow`, the clock advances 10 ms per
//! flow), then `measured` runs FLOWS flows and the rate is printed. The store's maps reach
//! their final sizes only after several hundred thousand flows: use a warm-up of 1,000,000 for
//! steady-state figures (200,000 is enough to compare instruction counts of parsing changes).
//!
//! Instructions per flow, deterministic apart from the random codes and tokens:
//!
//!     cargo bench -p medmij-benches --bench oauth_count --no-run
//!     valgrind --tool=callgrind --collect-atstart=no --toggle-collect='oauth_count::measured*' \
//!         target/release/deps/oauth_count-* 1000000 50000
//!
//! Figures: BENCHMARKS.md, section `## medmij-oauth`.
#![allow(missing_docs)]

#[path = "oauth_common/mod.rs"]
mod common;

use common::*;
use medmij_oauth::*;
use std::time::{Duration, Instant, SystemTime};

const STEP: Duration = Duration::from_millis(10);

/// Kept out of line so callgrind's `--toggle-collect` can count it alone.
#[inline(never)]
fn measured<S: TokenStore>(
    s: &AuthorizationServer<S, StaticClientRegistry>,
    subject: &Subject,
    now: &mut SystemTime,
    flows: usize,
) {
    let (za, gd) = (za(), gd());
    for _ in 0..flows {
        *now += STEP;
        assert!(flow(s, subject, &za, &gd, *now, None));
    }
}

/// Nanoseconds this thread has run on a CPU (Linux `schedstat`), if available.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.parse::<usize>().expect("a number"));
    let warmup = args.next().unwrap_or(200_000);
    let flows = args.next().unwrap_or(200_000);
    let s = server(MemoryStore::new());
    let subject = Subject::new("person-1").unwrap();
    let (za, gd) = (za(), gd());
    let mut now = t0();
    for _ in 0..warmup {
        now += STEP;
        assert!(flow(&s, &subject, &za, &gd, now, None));
    }
    let (t, cpu) = (Instant::now(), cpu_ns());
    measured(&s, &subject, &mut now, flows);
    let (e, cpu) = (t.elapsed(), cpu_ns().zip(cpu).map(|(b, a)| b - a));
    print!(
        "{flows} flows in {:.3} s: {:.0} flows/s, {:.0} ns/flow",
        e.as_secs_f64(),
        flows as f64 / e.as_secs_f64(),
        e.as_nanos() as f64 / flows as f64
    );
    // On a shared machine the time this thread actually ran is the steadier figure.
    match cpu {
        Some(cpu) => println!(
            "; on CPU {:.3} s: {:.0} flows/s",
            cpu as f64 / 1e9,
            flows as f64 / (cpu as f64 / 1e9)
        ),
        None => println!(),
    }
    // Freeing the store is not part of the figure; skip it so that profiles show only flows.
    std::mem::forget(s);
}
