//! Crash safety of the file sink: a child process appends under load and is
//! killed with SIGKILL at random moments. Afterwards every acknowledged
//! entry is present, the chain verifies, and a torn tail is detected and
//! repaired (kept in `<log>.torn`, recorded in the chain), never silently
//! dropped.
//!
//! Rounds: `MEDMIJ_CRASH_ROUNDS` (default 12).

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;

/// Few checkpoints: signature checks are slow in unoptimised test builds.
fn crash_config() -> FileLogConfig {
    let mut c = config();
    c.checkpoint_every = 2_000;
    c
}
use medmij_log::*;

const CHILD_ENV: &str = "MEDMIJ_LOG_CRASH_CHILD";

/// The child side: only does something when started by
/// `appends_survive_sigkill` with `MEDMIJ_LOG_CRASH_CHILD` set to the log's
/// path. Appends from 8 threads (one of them in batches of 40) and prints
/// `ACK <event id> <seq>` after each append returned.
#[test]
fn crash_child_helper() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let round: u64 = std::env::var("MEDMIJ_LOG_CRASH_ROUND")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let (log, _) = FileLog::open(&path, crash_config(), t(1_000_000 + round))
        .expect("the child opens the log");
    let log = Arc::new(log);
    let deadline = Instant::now() + Duration::from_secs(30);
    let threads: Vec<_> = (0..8u64)
        .map(|th| {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut i = 0u64;
                while Instant::now() < deadline {
                    if th == 0 {
                        let evs: Vec<Event> =
                            (0..40).map(|k| event_for(round, th, i + k)).collect();
                        let seqs = log.append_batch(&evs).expect("append_batch");
                        let mut out = std::io::stdout().lock();
                        for (e, s) in evs.iter().zip(seqs) {
                            writeln!(out, "ACK {} {s}", e.id).expect("stdout");
                        }
                        i += 40;
                    } else {
                        let e = event_for(round, th, i);
                        let s = log.append(&e).expect("append");
                        writeln!(std::io::stdout().lock(), "ACK {} {s}", e.id).expect("stdout");
                        i += 1;
                    }
                }
            })
        })
        .collect();
    for th in threads {
        let _ = th.join();
    }
}

fn event_for(round: u64, th: u64, i: u64) -> Event {
    let mut e = event(
        i,
        if i.is_multiple_of(3) {
            "person-a"
        } else {
            "person-b"
        },
        t(2_000_000 + round * 1_000 + i),
    );
    e.id = format!("r{round}-t{th}-{i}");
    e
}

/// xorshift64*, seeded from the clock; the seed is printed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// MedMij LOG-1: every acknowledged entry survives SIGKILL; a torn tail is
/// repaired. (The child helper above stays at the top level: it is run by
/// its exact name.)
mod log_1 {
    use super::*;

    #[test]
    fn appends_survive_sigkill() {
        let rounds: u64 = std::env::var("MEDMIJ_CRASH_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(12);
        let seed = std::env::var("MEDMIJ_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_nanos() as u64
                    | 1
            });
        println!("crash test: {rounds} rounds, MEDMIJ_CRASH_SEED={seed}");
        let mut rng = Rng(seed);
        let dir = temp_dir("crash");
        let path = dir.join("audit.jsonl");
        let exe = std::env::current_exe().unwrap();
        let mut acked_total: HashMap<String, u64> = HashMap::new();
        let mut torn_rounds = 0;
        let mut sigkill_torn = 0;
        for round in 1..=rounds {
            let mut child = Command::new(&exe)
                .args([
                    "--exact",
                    "crash_child_helper",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_ENV, &path)
                .env("MEDMIJ_LOG_CRASH_ROUND", round.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            let stdout = child.stdout.take().unwrap();
            let acked: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
            let first_ack = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
            let reader = {
                let acked = acked.clone();
                let first_ack = first_ack.clone();
                std::thread::spawn(move || {
                    for line in BufReader::new(stdout).lines() {
                        let Ok(line) = line else { break };
                        let mut parts = line.split(' ');
                        if parts.next() != Some("ACK") {
                            continue;
                        }
                        // A line cut by the kill is incomplete: not an acknowledgement we can count.
                        if let (Some(id), Some(Ok(seq)), None) = (
                            parts.next(),
                            parts.next().map(str::parse::<u64>),
                            parts.next(),
                        ) {
                            acked.lock().unwrap().push((id.to_owned(), seq));
                            let (m, c) = &*first_ack;
                            *m.lock().unwrap() = true;
                            c.notify_all();
                        }
                    }
                })
            };
            // Wait for the first acknowledgement, then kill at a random moment.
            {
                let (m, c) = &*first_ack;
                let g = m.lock().unwrap();
                let (g, timeout) = c
                    .wait_timeout_while(g, Duration::from_secs(60), |seen| !*seen)
                    .unwrap();
                assert!(
                    !timeout.timed_out() && *g,
                    "round {round}: the child acknowledged nothing within 60 s"
                );
            }
            std::thread::sleep(Duration::from_micros(rng.next() % 300_000));
            child.kill().unwrap(); // SIGKILL
            let status = child.wait().unwrap();
            assert!(!status.success(), "round {round}: the child was not killed");
            reader.join().unwrap();
            let acked = std::mem::take(&mut *acked.lock().unwrap());

            // A SIGKILL rarely cuts a write in the middle. In every other round,
            // also cut the file at a random byte after the last acknowledged
            // entry, as a power failure could cut unacknowledged data: the tail
            // must be detected and repaired without losing an acknowledged entry.
            let mut simulated = false;
            if round.is_multiple_of(2) {
                let max_acked = acked.iter().map(|(_, s)| *s).max().unwrap_or(0);
                let data = std::fs::read(&path).unwrap();
                let mut end = 0usize;
                let needle = format!("{{\"seq\":{max_acked},");
                for l in data.split_inclusive(|b| *b == b'\n') {
                    end += l.len();
                    if l.starts_with(needle.as_bytes()) {
                        break;
                    }
                }
                if end + 2 < data.len() {
                    let cut = end + 1 + (rng.next() as usize % (data.len() - end - 2));
                    if data[cut - 1] != b'\n' {
                        std::fs::OpenOptions::new()
                            .write(true)
                            .open(&path)
                            .unwrap()
                            .set_len(cut as u64)
                            .unwrap();
                        simulated = true;
                    }
                }
            }

            // Reopen: verifies the chain, repairs a torn tail.
            let torn_before = std::fs::metadata(dir.join("audit.jsonl.torn"))
                .map(|m| m.len())
                .unwrap_or(0);
            let (log, report) = FileLog::open(&path, crash_config(), t(3_000_000 + round))
                .unwrap_or_else(|e| panic!("round {round}: reopening failed: {e}"));
            assert!(
                !simulated || report.repaired.is_some(),
                "round {round}: the cut tail was not detected"
            );
            if let Some(rep) = &report.repaired {
                torn_rounds += 1;
                if !simulated {
                    sigkill_torn += 1;
                }
                let torn_after = std::fs::metadata(&rep.saved_to).unwrap().len();
                assert_eq!(
                    torn_after - torn_before,
                    rep.bytes,
                    "round {round}: the torn bytes are kept"
                );
                println!(
                    "round {round}: torn tail of {} bytes at line {} repaired{}",
                    rep.bytes,
                    rep.line,
                    if simulated {
                        " (simulated power cut)"
                    } else {
                        " (SIGKILL)"
                    }
                );
            }
            // The query reads the whole file through the verifier: the chain verifies.
            let present: HashMap<String, u64> = log
                .query(&Query::default())
                .unwrap_or_else(|e| panic!("round {round}: {e}"))
                .into_iter()
                .map(|(s, e)| (e.id, s))
                .collect();
            for (id, seq) in &acked {
                assert_eq!(
                    present.get(id),
                    Some(seq),
                    "round {round}: acknowledged entry {id} (seq {seq}) is missing"
                );
            }
            for (id, seq) in &acked_total {
                assert_eq!(
                    present.get(id),
                    Some(seq),
                    "round {round}: entry {id} of an earlier round is missing"
                );
            }
            acked_total.extend(acked.iter().cloned());
            println!(
                "round {round}: {} acknowledged, {} events in the log",
                acked.len(),
                present.len()
            );
        }
        println!(
            "crash test: {rounds} rounds, {} acknowledged entries all present, {torn_rounds} torn tails repaired ({sigkill_torn} cut by SIGKILL itself)",
            acked_total.len()
        );
    }
}
