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

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    /// The state-machine model against PostgreSQL (fewer cases: each is a fresh table pair).
    #[test]
    fn pg_matches_reference_model(ops in prop::collection::vec(common::model::op(), 1..80), seed in any::<u64>()) {
        let s = TempStore::new(1);
        common::model::run(Arc::clone(&s.0), ops, seed)?;
    }
}
