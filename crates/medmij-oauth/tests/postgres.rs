//! The PostgreSQL store (feature `postgres`) against a real server: the store conformance
//! suite, the race test, and the state-machine model.
//!
//! Needs `MEDMIJ_TEST_DATABASE_URL` (CI exports it, see `.ci/lib.sh`). With the feature on and
//! the variable missing these tests fail: they never skip silently.
#![cfg(feature = "postgres")]

mod common;
use medmij_oauth::*;
use proptest::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn url() -> String {
    std::env::var("MEDMIJ_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "MEDMIJ_TEST_DATABASE_URL is not set. The `postgres` feature's tests need a \
             PostgreSQL server, e.g. postgres://medmij:medmij@127.0.0.1:5432/medmij_test \
             (.ci/test starts one and exports the variable)."
        )
    })
}

/// A store on tables with a prefix unique to this process and call, dropped afterwards.
struct TempStore(Arc<PgStore>);

impl TempStore {
    fn new(connections: usize) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let prefix = format!(
            "oauth_t{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            nanos
        );
        let store = PgStore::connect_no_tls(&url(), &prefix, connections)
            .unwrap_or_else(|e| panic!("cannot connect to MEDMIJ_TEST_DATABASE_URL: {e}"));
        TempStore(Arc::new(store))
    }
}

impl Drop for TempStore {
    fn drop(&mut self) {
        let _ = self.0.drop_tables();
    }
}

/// A 1.x Verzamelen code of the test client for one Gegevensdienst, issued at `at`.
fn code_record(at: std::time::SystemTime) -> CodeRecord {
    CodeRecord {
        client_id: common::client(),
        redirect_uri: common::REDIRECT.into(),
        scope: Scope::parse("umcharderwijk~1", ScopeForm::Single).unwrap(),
        subject: common::subject(),
        use_case: UseCase::Verzamelen,
        issued_at: at,
    }
}

#[test]
fn pg_store_semantics() {
    let s = TempStore::new(1);
    common::conformance::semantics(&*s.0);
}

#[test]
fn pg_store_race() {
    let s = TempStore::new(8);
    common::conformance::race(Arc::clone(&s.0), 16, 20);
}

#[test]
fn pg_store_full_flow() {
    let s = TempStore::new(2);
    let server = AuthorizationServer::new(common::config(), common::registry(), Arc::clone(&s.0));
    let code = common::code_for(&server, "umcharderwijk~1", common::t0());
    let token = common::issued_token(&server.token(
        Some(FORM_CONTENT_TYPE),
        &common::token_body(&code),
        &common::client(),
        common::t0(),
    ));
    let h = format!("Bearer {token}");
    let ok = server
        .check_resource(
            Some(&h),
            &common::za(),
            &common::gd("1"),
            Interaction::Read,
            common::t0(),
        )
        .unwrap();
    assert_eq!(ok.subject, common::subject());
}

#[test]
fn pg_store_refuses_bad_prefix() {
    let e = PgStore::connect_no_tls(&url(), "x; DROP TABLE y", 1).unwrap_err();
    assert!(matches!(e, StoreError::Backend(_)));
}

/// The table prefix goes into SQL text, so only 1 to 40 of `[a-z0-9_]`, not starting with a
/// digit, are taken; every other form is refused before any table is made.
#[test]
fn pg_store_takes_only_plain_prefixes() {
    let n = std::process::id();
    for bad in [
        String::new(),
        "1abc".into(),
        "Abc".into(),
        "a-b".into(),
        "a b".into(),
        "a\"b".into(),
        "ab\u{e9}".into(),
        "a".repeat(41),
    ] {
        let e = PgStore::connect_no_tls(&url(), &bad, 1).unwrap_err();
        assert!(matches!(e, StoreError::Backend(_)), "{bad:?}");
        let e = PgFlowStore::connect_no_tls(&url(), &bad, 1, FlowLimits::default()).unwrap_err();
        assert!(matches!(e, FlowError::Backend(_)), "{bad:?}");
    }
    for good in [
        format!("_p{n}"),
        format!("p{n}_x9"),
        format!("p{n}_{}", "a".repeat(40 - 2 - n.to_string().len())),
    ] {
        assert!(good.len() <= 40, "{good}");
        let s = PgStore::connect_no_tls(&url(), &good, 1).unwrap_or_else(|e| panic!("{good}: {e}"));
        s.drop_tables().unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    /// The state-machine model against PostgreSQL (fewer cases: each is a fresh table pair).
    #[test]
    fn pg_matches_reference_model(ops in prop::collection::vec(common::model::op(), 1..80), seed in any::<u64>()) {
        let s = TempStore::new(1);
        common::model::run(Arc::clone(&s.0), ops, seed)?;
    }
}

mod oauth_7 {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// MedMij OAUTH-7: times are stored as signed nanoseconds, so a clock before 1970 (a
    /// test clock, a misset host) round-trips exactly and the 900 s are counted from it.
    #[test]
    fn pg_times_before_1970_round_trip_exactly() {
        let s = TempStore::new(1);
        let at = UNIX_EPOCH - Duration::from_secs(10) - Duration::from_nanos(7);
        let record = code_record(at);
        let h = SecretHash::from_bytes([70; 32]);
        s.0.insert_code(&h, &record, at).unwrap();
        match s.0.redeem_code(&h, at + Duration::from_secs(1)).unwrap() {
            Redemption::Fresh(r) => assert_eq!(r, record),
            other => panic!("expected a fresh code, got {other:?}"),
        }
    }
}

mod oauth_8 {
    use super::*;
    use std::time::Duration;

    /// MedMij OAUTH-8: codes are kept `CODE_RETENTION` for replay detection and then swept;
    /// the sweep says how many rows it removed (codes and tokens together).
    #[test]
    fn pg_sweep_counts_what_it_removes() {
        let s = TempStore::new(1);
        let t = common::t0();
        for n in [81u8, 82] {
            let record = code_record(t);
            s.0.insert_code(&SecretHash::from_bytes([n; 32]), &record, t)
                .unwrap();
        }
        let ns = Duration::from_nanos(1);
        assert_eq!(
            s.0.sweep(t + CODE_RETENTION - ns).unwrap(),
            0,
            "kept until then"
        );
        assert_eq!(s.0.sweep(t + CODE_RETENTION).unwrap(), 2);
        assert_eq!(s.0.sweep(t + CODE_RETENTION).unwrap(), 0);
    }
}

mod oauth_11 {
    use super::*;
    use std::time::{Duration, Instant};

    /// MedMij OAUTH-11: gateway nodes share the store with async code, where its last handle
    /// is often dropped on a runtime worker. Dropping it there neither panics ("Cannot start
    /// a runtime from within a runtime") nor leaks: its connections are closed.
    #[test]
    fn pg_store_dropped_on_a_runtime_worker_closes_its_connections() {
        let app = format!("medmij_drop_{}", std::process::id());
        let sep = if url().contains('?') { '&' } else { '?' };
        let tagged = format!("{}{sep}application_name={app}", url());
        let open = |app: &str| -> i64 {
            let mut c = postgres::Client::connect(&url(), postgres::NoTls).unwrap();
            c.query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                &[&app],
            )
            .unwrap()
            .get(0)
        };
        let prefix = format!("oauth_drop_{}", std::process::id());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (p, a) = (prefix.clone(), app.clone());
        let dropped = rt.block_on(async move {
            let store = tokio::task::spawn_blocking(move || {
                PgStore::connect_no_tls(&tagged, &p, 2).unwrap()
            })
            .await
            .unwrap();
            let before = tokio::task::spawn_blocking(move || open(&a)).await.unwrap();
            assert_eq!(before, 2, "the store's two connections");
            // On the worker thread itself.
            tokio::spawn(async move { drop(store) }).await
        });
        assert!(dropped.is_ok(), "dropping the store panicked: {dropped:?}");
        drop(rt);
        let started = Instant::now();
        while open(&app) != 0 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the store's connections stay open after it was dropped"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        PgStore::connect_no_tls(&url(), &prefix, 1)
            .unwrap()
            .drop_tables()
            .unwrap();
    }
}
