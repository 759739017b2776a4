//! The embedding examples (`examples/embed_za.rs`, `examples/embed_pgo.rs`), compiled in: a
//! flow across both over real TLS (the browser at the PGO GW and the ZA GW, the code redeemed
//! over mutual TLS, PostgreSQL stores at the ZA GW), the ZA GW's self-test, and their line
//! budgets.

#[path = "../examples/embed_pgo.rs"]
mod embed_pgo;
use embed_pgo::embed_za::{self, PGO_HOST, ZA_HOST};
use medmij_examples::embed::*;

mod oauth_11 {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flow_across_both_examples() {
        let pki = tokio::task::spawn_blocking(Pki::new)
            .await
            .unwrap()
            .unwrap();
        let db = std::env::var("MEDMIJ_TEST_DATABASE_URL").unwrap_or(DEFAULT_DB.into());
        let prefix = format!("embed_test_{}", std::process::id());
        let dir = tempfile::tempdir().unwrap();
        let (za_front, za_back) = embed_za::start(&pki, &db, &prefix, dir.path().join("za.jsonl"))
            .await
            .unwrap();
        let (pgo_front, pgo) = embed_pgo::start(&pki, za_back, dir.path().join("pgo.jsonl"))
            .await
            .unwrap();
        let answer = browser_flow(&pki, pgo_front, za_front, PGO_HOST, ZA_HOST)
            .await
            .unwrap();
        assert_eq!(answer.status, 200, "{}", answer.body);
        {
            let grants = pgo.grants.lock().unwrap();
            assert_eq!(grants.len(), 1);
            assert_eq!(grants[0].0, "person-1");
            assert_eq!(grants[0].1.scope.as_str(), "umcharderwijk~1");
        }
        // The ZA GW's own self-test on the same gateway: token and FHIR read over mTLS.
        let fhir = za_self_test(&pki, za_front, za_back, ZA_HOST, PGO_HOST)
            .await
            .unwrap();
        assert!(fhir.contains("umcharderwijk~1"), "{fhir}");
        // Both audit logs recorded the flow (LOG-1).
        let za_log = std::fs::read_to_string(dir.path().join("za.jsonl")).unwrap();
        assert!(za_log.contains("oauth.token") && za_log.contains("127.0.0.1"));
        let pgo_log = std::fs::read_to_string(dir.path().join("pgo.jsonl")).unwrap();
        assert!(pgo_log.contains("oauth.redirect"));
        tokio::task::spawn_blocking(move || {
            medmij_oauth::PgStore::connect_no_tls(&db, &prefix, 1)
                .unwrap()
                .drop_tables()
                .unwrap();
            let limits = medmij_oauth::FlowLimits::default();
            medmij_oauth::PgFlowStore::connect_no_tls(&db, &prefix, 1, limits)
                .unwrap()
                .drop_table()
                .unwrap();
        })
        .await
        .unwrap();
    }
}

mod budget {
    fn lines(file: &str) -> usize {
        let path = format!("{}/examples/{file}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).unwrap().lines().count()
    }

    #[test]
    fn the_examples_stay_within_their_line_budgets() {
        assert!(
            lines("embed_za.rs") <= 150,
            "embed_za.rs: {}",
            lines("embed_za.rs")
        );
        assert!(
            lines("embed_pgo.rs") <= 100,
            "embed_pgo.rs: {}",
            lines("embed_pgo.rs")
        );
    }
}
