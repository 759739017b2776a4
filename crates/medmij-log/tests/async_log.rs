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
}
