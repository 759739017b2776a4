//! The async handle (feature `tokio`): many concurrent appenders on a
//! multi-thread runtime, group commit, and a chain that verifies afterwards
//! (MedMij LOG-1).
#![cfg(feature = "tokio")]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::*;
use medmij_log::*;

mod log_1 {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_appends_are_durable_and_the_chain_verifies() {
        let dir = temp_dir("async-log");
        let path = dir.join("audit.jsonl");
        let mut c = config();
        c.fsync = true;
        let (file, _) = FileLog::open(&path, c, t(1_000)).unwrap();
        let log = Arc::new(
            AsyncLog::new(
                file,
                AsyncLogConfig {
                    queue: 64,
                    max_batch: 32,
                },
            )
            .unwrap(),
        );
        let (tasks, each) = (16u64, 25u64);
        let mut handles = Vec::new();
        for task in 0..tasks {
            let log = log.clone();
            handles.push(tokio::spawn(async move {
                let mut seqs = Vec::new();
                for i in 0..each {
                    let n = task * 1000 + i;
                    seqs.push(
                        log.append(event(n, "person-a", t(2_000 + n)))
                            .await
                            .unwrap(),
                    );
                }
                seqs
            }));
        }
        // A timer still runs while appends wait: no worker is blocked.
        let ticker = tokio::spawn(async {
            for _ in 0..5 {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        });
        let mut all = BTreeSet::new();
        for h in handles {
            for s in h.await.unwrap() {
                assert!(all.insert(s), "sequence number {s} given twice");
            }
        }
        ticker.await.unwrap();
        assert_eq!(all.len() as u64, tasks * each);
        // Group commit: fewer commits than appends.
        let batches = log.batches();
        assert!(batches < tasks * each, "{batches} commits");

        // An invalid event is refused before it is queued.
        let mut bad = event(1, "person-a", t(1));
        bad.id = "has space".into();
        assert!(matches!(log.append(bad).await, Err(LogError::Event(_))));

        let log = Arc::into_inner(log).expect("the tasks are done");
        let file = log.close().await;
        let report = tokio::task::spawn_blocking(move || file.verify().unwrap())
            .await
            .unwrap();
        assert_eq!(report.events, tasks * each);
        // Everything a caller was told is durable is on disk.
        let read = verify_only(
            std::io::BufReader::new(std::fs::File::open(&path).unwrap()),
            Trust::Keys(vec![key().verifying_key()]),
        )
        .unwrap();
        assert!(read.last_seq.unwrap() >= *all.last().unwrap());
    }

    /// MedMij LOG-1: dropping the handle commits everything queued before it returns,
    /// also the events whose appenders stopped waiting.
    #[tokio::test(flavor = "current_thread")]
    async fn dropping_the_handle_commits_everything_queued_first() {
        let sink = SlowSink::default();
        let events = sink.events.clone();
        let (log, handles) = twelve_appends(sink);
        // All twelve are queued while the first commit (100 ms) is under way.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        for h in &handles {
            h.abort();
        }
        for h in handles {
            let _ = h.await;
        }
        let log = Arc::into_inner(log).expect("the appenders are gone");
        drop(log);
        assert_eq!(events.lock().unwrap().len(), 12);
    }
}

/// A sink that takes 100 ms per commit, as a slow disk would; it keeps the events and
/// the size of each commit where the test can still read them once the log is gone.
#[derive(Default)]
struct SlowSink {
    events: Arc<std::sync::Mutex<Vec<Event>>>,
    sizes: Arc<std::sync::Mutex<Vec<usize>>>,
}

impl AuditSink for SlowSink {
    fn append(&self, event: &Event) -> Result<u64, LogError> {
        self.append_batch(std::slice::from_ref(event)).map(|s| s[0])
    }
}

impl BatchSink for SlowSink {
    fn check(&self, event: &Event) -> Result<(), LogError> {
        Ok(event.validate(Domain::Pgo)?)
    }
    fn append_batch(&self, events: &[Event]) -> Result<Vec<u64>, LogError> {
        std::thread::sleep(std::time::Duration::from_millis(100));
        self.sizes.lock().unwrap().push(events.len());
        let mut all = self.events.lock().unwrap();
        let first = all.len() as u64 + 1;
        all.extend_from_slice(events);
        Ok((first..first + events.len() as u64).collect())
    }
}

mod oauth_14 {
    use super::*;

    /// On a runtime with a single thread, other tasks keep running while an
    /// append waits for a slow commit: the commit is not on the runtime's
    /// thread. With a queue of 2, all 12 appends still complete: those
    /// beyond the queue wait for room instead of failing.
    #[tokio::test(flavor = "current_thread")]
    async fn appends_wait_without_blocking_the_runtime() {
        let log = Arc::new(
            AsyncLog::new(
                SlowSink::default(),
                AsyncLogConfig {
                    queue: 2,
                    max_batch: 4,
                },
            )
            .unwrap(),
        );
        let ticks = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let ticker = {
            let ticks = ticks.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            })
        };
        let mut handles = Vec::new();
        for i in 0..12u64 {
            let log = log.clone();
            handles.push(tokio::spawn(async move {
                log.append(event(i, "person-a", t(2_000 + i)))
                    .await
                    .unwrap()
            }));
        }
        let mut seqs: Vec<u64> = Vec::new();
        for h in handles {
            seqs.push(h.await.unwrap());
        }
        ticker.abort();
        seqs.sort();
        assert_eq!(seqs, (1..=12).collect::<Vec<_>>());
        // At least three commits of 100 ms each; the 1 ms ticker ran meanwhile
        // (blocked, it would tick about once between commits).
        assert!(log.batches() >= 3, "{} commits", log.batches());
        assert!(
            ticks.load(std::sync::atomic::Ordering::Relaxed) >= 60,
            "the runtime was blocked"
        );
    }

    /// Twelve appends queued at once while the first commit is under way go in groups of
    /// at most `max_batch` (4) events: bounded work per commit.
    #[tokio::test(flavor = "current_thread")]
    async fn a_group_commit_holds_at_most_max_batch_events() {
        let sink = SlowSink::default();
        let sizes = sink.sizes.clone();
        let (log, handles) = twelve_appends(sink);
        let mut seqs: Vec<u64> = Vec::new();
        for h in handles {
            seqs.push(h.await.unwrap().unwrap());
        }
        seqs.sort();
        assert_eq!(seqs, (1..=12).collect::<Vec<_>>());
        let sizes = sizes.lock().unwrap().clone();
        assert_eq!(sizes.iter().sum::<usize>(), 12);
        assert!(sizes.iter().all(|n| *n <= 4), "{sizes:?}");
        assert!(sizes.contains(&4), "grouped: {sizes:?}");
        drop(log);
    }
}

/// An `AsyncLog` over `sink` (queue 16, groups of at most 4) and twelve appends spawned
/// on it at once.
#[allow(clippy::type_complexity)]
fn twelve_appends(
    sink: SlowSink,
) -> (
    Arc<AsyncLog<SlowSink>>,
    Vec<tokio::task::JoinHandle<Result<u64, LogError>>>,
) {
    let log = Arc::new(
        AsyncLog::new(
            sink,
            AsyncLogConfig {
                queue: 16,
                max_batch: 4,
            },
        )
        .unwrap(),
    );
    let handles = (0..12u64)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { log.append(event(i, "person-a", t(2_000 + i))).await })
        })
        .collect();
    (log, handles)
}
