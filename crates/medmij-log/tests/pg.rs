//! The PostgreSQL sink against a real server (feature `postgres`). Needs
//! `MEDMIJ_TEST_DATABASE_URL` (CI's `.ci/test` sets it); fails, never skips,
//! when it is missing. Each test uses its own tables.
#![cfg(feature = "postgres")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use medmij_log::*;

fn url() -> String {
    std::env::var("MEDMIJ_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "MEDMIJ_TEST_DATABASE_URL is not set; the `postgres` feature's tests need a PostgreSQL \
             server, e.g. postgres://medmij:medmij@127.0.0.1:5432/medmij_test (.ci/test starts one)"
        )
    })
}

/// A table name no other test run uses.
fn table(name: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
        % 1_000_000_000;
    format!(
        "t_{name}_{}_{nanos}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

struct Tables(String);

impl Drop for Tables {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&url(), postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP TABLE IF EXISTS {0}; DROP TABLE IF EXISTS {0}_anchor;",
                self.0
            ));
        }
    }
}

fn config(table: &str) -> PgLogConfig {
    let mut c = PgLogConfig::new(url(), table, key());
    c.checkpoint_every = 10;
    c
}

mod log_1 {
    use super::*;

    #[test]
    fn append_verify_query_reopen() {
        let name = table("basic");
        let _cleanup = Tables(name.clone());
        let (log, report) = PgLog::open(config(&name)).unwrap();
        assert_eq!(report.events, 0);
        for i in 1..=25u64 {
            let seq = log
                .append(&event(
                    i,
                    if i % 2 == 0 { "person-a" } else { "person-b" },
                    t(1_000 + i),
                ))
                .unwrap();
            assert!(seq >= i);
        }
        let r = log.verify().unwrap();
        assert_eq!((r.events, r.checkpoints), (25, 2));
        let a = SubjectId::new("person-a", Domain::Pgo).unwrap();
        let mine = log
            .query(&Query::subject(a.clone()).between(t(1_010), t(1_020)))
            .unwrap();
        let ids: Vec<&str> = mine.iter().map(|(_, e)| e.id.as_str()).collect();
        assert_eq!(ids, ["ev-10", "ev-12", "ev-14", "ev-16", "ev-18"]);
        // MedMij LOG-4 holds here too.
        let mut bad = event(99, "person-a", t(2_000));
        bad.object = Object::new("patient", "123456782");
        assert!(matches!(log.append(&bad), Err(LogError::Event(_))));
        drop(log);
        // Reopening continues the chain.
        let (log, report) = PgLog::open(config(&name)).unwrap();
        assert_eq!(report.events, 25);
        let seq = log.append(&event(26, "person-a", t(1_026))).unwrap();
        assert_eq!(Some(seq), report.last_seq.map(|s| s + 1));
        assert_eq!(log.verify().unwrap().events, 26);
    }

    #[test]
    fn group_commit_from_threads() {
        let name = table("threads");
        let _cleanup = Tables(name.clone());
        let (log, _) = PgLog::open(config(&name)).unwrap();
        let log = Arc::new(log);
        let handles: Vec<_> = (0..6u64)
            .map(|th| {
                let log = log.clone();
                std::thread::spawn(move || {
                    (0..40u64)
                        .map(|i| {
                            log.append(&event(th * 100 + i, "person-a", t(5_000)))
                                .unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seqs: Vec<u64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        seqs.sort_unstable();
        seqs.dedup();
        assert_eq!(seqs.len(), 240);
        assert_eq!(log.verify().unwrap().events, 240);
    }

    #[test]
    fn tampering_in_the_table_is_reported() {
        let name = table("tamper");
        let _cleanup = Tables(name.clone());
        let (log, _) = PgLog::open(config(&name)).unwrap();
        for i in 1..=12u64 {
            log.append(&event(i, "person-a", t(1_000 + i))).unwrap();
        }
        let mut c = postgres::Client::connect(&url(), postgres::NoTls).unwrap();
        c.execute(
            &format!("UPDATE {name} SET line = replace(line, 'ms-5', 'ms-X') WHERE seq = 5"),
            &[],
        )
        .unwrap();
        match log.verify() {
            Err(LogError::Corrupt {
                error: VerifyError::Altered { line: 5, seq: 5 },
                ..
            }) => {}
            other => panic!("not detected: {other:?}"),
        }
        c.execute(
            &format!("UPDATE {name} SET line = replace(line, 'ms-X', 'ms-5') WHERE seq = 5"),
            &[],
        )
        .unwrap();
        c.execute(&format!("DELETE FROM {name} WHERE seq = 7"), &[])
            .unwrap();
        match log.verify() {
            Err(LogError::Corrupt {
                error:
                    VerifyError::Missing {
                        expected: 7,
                        found: 8,
                        ..
                    },
                ..
            }) => {}
            other => panic!("not detected: {other:?}"),
        }
    }

    /// The async handle over `PgLog` (features `tokio` and `postgres`): group
    /// commit in one transaction per batch, and the chain verifies afterwards
    /// (MedMij LOG-1).
    #[cfg(feature = "tokio")]
    #[test]
    fn async_pg_appends_commit_in_groups_and_verify() {
        let name = table("async_log");
        let _t = Tables(name.clone());
        // The synchronous client is opened, and verified, outside the
        // runtime (it runs its own); the writer thread is not a runtime
        // thread.
        let (pg, _) = PgLog::open(config(&name)).unwrap();
        let log = Arc::new(AsyncLog::new(pg, AsyncLogConfig::default()).unwrap());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(async {
            let mut handles = Vec::new();
            for task in 0..8u64 {
                let log = log.clone();
                handles.push(tokio::spawn(async move {
                    for i in 0..20 {
                        let n = task * 100 + i;
                        log.append(event(n, "person-a", t(2_000 + n)))
                            .await
                            .unwrap();
                    }
                }));
            }
            for h in handles {
                h.await.unwrap();
            }
        });
        drop(rt);
        assert!(log.batches() < 160, "{} commits", log.batches());
        assert_eq!(log.sink().verify().unwrap().events, 160);
    }

    // The table name goes into SQL text: only 1 to 48 of a-z 0-9 _, not
    // starting with a digit; anything else is refused before connecting.
    #[test]
    fn table_names_are_checked_before_they_reach_sql() {
        let long = "a".repeat(49);
        for bad in [
            "",
            "Audit",
            "audit-log",
            "audit;drop table x",
            "1audit",
            "audit log",
            long.as_str(),
        ] {
            match PgLog::open(config(bad)) {
                Err(LogError::Config(m)) => assert!(m.contains("table name"), "{bad:?}: {m}"),
                other => panic!("{bad:?}: expected a refusal, got {:?}", other.map(|_| ())),
            }
        }
        let name = format!("{:_<48}", table("n"));
        assert_eq!(name.len(), 48);
        let _tables = Tables(name.clone());
        assert!(PgLog::open(config(&name)).is_ok());
    }

    // The `subject` column (for the operator's own SQL, indexed with the
    // time) holds each event's subject; a checkpoint row has none.
    #[test]
    fn the_subject_column_is_on_the_event_rows_only() {
        let name = table("subj");
        let _tables = Tables(name.clone());
        let (log, _) = PgLog::open(config(&name)).unwrap();
        let who = |i: u64| {
            if i.is_multiple_of(2) {
                "person-a"
            } else {
                "person-b"
            }
        };
        for i in 1..=10 {
            log.append(&event(i, who(i), t(1_000 + i))).unwrap();
        }
        let mut c = postgres::Client::connect(&url(), postgres::NoTls).unwrap();
        let rows: Vec<(i64, Option<String>)> = c
            .query(
                &format!("SELECT seq, subject FROM {name} ORDER BY seq"),
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let mut expected: Vec<(i64, Option<String>)> = (1..=10)
            .map(|i| (i as i64, Some(who(i).to_owned())))
            .collect();
        expected.push((11, None)); // the periodic checkpoint after 10 events
        assert_eq!(rows, expected);
    }

    // MedMij LOG-1: through `&dyn AuditSink` and `BatchSink` the PostgreSQL
    // sink checks, numbers and stores events like a direct append.
    #[test]
    fn appends_through_the_sink_traits_are_checked_numbered_and_stored() {
        let name = table("sinks");
        let _tables = Tables(name.clone());
        let (log, _) = PgLog::open(config(&name)).unwrap();
        let sink: &dyn AuditSink = &log;
        assert_eq!(sink.append(&event(1, "person-a", t(1_001))).unwrap(), 1);
        assert_eq!(sink.append(&event(2, "person-a", t(1_002))).unwrap(), 2);
        let batch: &dyn BatchSink = &log;
        let mut bad = event(3, "person-a", t(1_003));
        bad.actor.on_behalf_of = Some("123456782".into());
        assert!(matches!(
            batch.check(&bad),
            Err(LogError::Event(EventError {
                rule: medmij_types::RuleId::Log4,
                ..
            }))
        ));
        assert!(batch.check(&event(3, "person-a", t(1_003))).is_ok());
        assert_eq!(log.verify().unwrap().events, 2);
    }
}

mod log_3 {
    use super::*;

    // MedMij LOG-3 in the database.
    #[test]
    fn prune_in_the_database() {
        let name = table("prune");
        let _cleanup = Tables(name.clone());
        let (log, _) = PgLog::open(config(&name)).unwrap();
        let day = 86_400;
        let start = 1_600_000_000;
        for i in 0..40u64 {
            log.append(&event(i, "person-a", t(start + i * 15 * day)))
                .unwrap();
        }
        let now = t(start + 600 * day);
        let retention = Retention::months(13).unwrap();
        let r = log.prune(retention, now).unwrap();
        assert!(r.removed_lines > 0);
        let cutoff = retention.cutoff(now);
        let rest = log.query(&Query::default()).unwrap();
        let expected = (0..40u64)
            .filter(|i| t(start + i * 15 * day) >= cutoff)
            .count();
        assert_eq!(rest.len(), expected);
        assert!(rest.iter().all(|(_, e)| e.time >= cutoff));
        let v = log.verify().unwrap();
        assert!(v.anchor.is_some());
        drop(log);
        let (log, _) = PgLog::open(config(&name)).unwrap();
        log.append(&event(100, "person-a", now + Duration::from_secs(1)))
            .unwrap();
        assert_eq!(log.verify().unwrap().events as usize, expected + 1);
    }
}

mod log_5 {
    use super::*;

    #[test]
    fn extract_from_the_database_verifies_on_its_own() {
        let name = table("extract");
        let _t = Tables(name.clone());
        let (log, _) = PgLog::open(config(&name)).unwrap();
        for i in 1..=25u64 {
            log.append(&event(
                i,
                if i % 4 == 0 { "person-x" } else { "person-y" },
                t(1_000 + i),
            ))
            .unwrap();
        }
        let subject = SubjectId::new("person-x", Domain::Pgo).unwrap();
        let x = log
            .extract(&Selection::subject(subject.clone()), t(5_000))
            .unwrap();
        let r = verify_extract(&x, &Trust::Keys(vec![key().verifying_key()])).unwrap();
        assert_eq!(r.events, log.query(&Query::subject(subject)).unwrap());
        assert_eq!(r.events.len(), 6);
        // The extract covers everything written, through the new checkpoint.
        assert_eq!(Some(r.through_seq), log.verify().unwrap().last_seq);
        assert!(!x.to_json().contains("person-y"));
    }
}
