//! Interoperability in release 2.x (issue 11, item 7): Python's requests-oauthlib 2.0.0
//! (see `tests/interop/oauth_client_v2.py`) completes a 2.x flow with long-lasting consent
//! against the embedding example's ZA GW (`examples/embed_za.rs`: medmij-oauth's axum
//! adapter over medmij-tls, mutual TLS on the back channel with the PGO GW's certificate,
//! PostgreSQL stores), then refreshes its token; the retired refresh token is refused
//! afterwards (rotation, MedMij OAUTH-19). The ZA GW's chain events (LOG-6) are read back as
//! medmij-log `ChainEvent`s.
//!
//! Requires `python3` with `requests` and `requests_oauthlib`, and PostgreSQL
//! (`MEDMIJ_TEST_DATABASE_URL`); the test fails (never skips) when one is missing.

#[path = "../examples/embed_za.rs"]
mod embed_za;
use embed_za::{PGO_HOST, ZA_HOST};
use medmij_examples::embed::*;
use std::path::Path;
use std::process::Command;

const INSTALL_HINT: &str =
    "python3 -m pip install --break-system-packages requests-oauthlib==2.0.0";

mod oauth_19 {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_oauthlib_refreshes_with_rotation_over_mtls() {
        let pki = tokio::task::spawn_blocking(Pki::new)
            .await
            .unwrap()
            .unwrap();
        let db = std::env::var("MEDMIJ_TEST_DATABASE_URL").unwrap_or(DEFAULT_DB.into());
        let prefix = format!("interop_v2_{}", std::process::id());
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("za.jsonl");
        let (front, back) = embed_za::start(&pki, &db, &prefix, log.clone())
            .await
            .unwrap();
        let (chain, key, root) = pki.write_client_pems(PGO_HOST, dir.path()).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/oauth_client_v2.py");
        let args: Vec<String> = vec![
            script.display().to_string(),
            // Front-channel URIs carry no port (MedMij LISTS-3): the name goes to the front
            // port, as DNS would send it; the back channel keeps its port.
            "--map".into(),
            format!("{ZA_HOST}:443=127.0.0.1:{}", front.port()),
            "--map".into(),
            format!("{ZA_HOST}:{0}=127.0.0.1:{0}", back.port()),
            "--authorize-url".into(),
            format!("https://{ZA_HOST}/authorize"),
            "--token-url".into(),
            format!("https://{ZA_HOST}:{}/token", back.port()),
            "--resource-url".into(),
            format!("https://{ZA_HOST}:{}/fhir/1/Patient", back.port()),
            // MedMij OAUTH-3: the client_id is the PGO GW's hostname; OAUTH-4: the redirect
            // URI is on that host; OAUTH-20: the scope is the Aanbieder's name.
            "--client-id".into(),
            PGO_HOST.into(),
            "--redirect-uri".into(),
            format!("https://{PGO_HOST}/cb"),
            "--scope".into(),
            "umcharderwijk".into(),
            "--cert".into(),
            chain.display().to_string(),
            "--key".into(),
            key.display().to_string(),
            "--root".into(),
            root.display().to_string(),
        ];
        let out = tokio::task::spawn_blocking(move || Command::new("python3").args(&args).output())
            .await
            .unwrap()
            .expect("python3 runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(
            out.status.code(),
            Some(3),
            "a Python module is missing (install: {INSTALL_HINT}):\n{stderr}"
        );
        assert!(out.status.success(), "the client failed:\n{stderr}");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{stderr}"));
        assert_eq!(report["client"]["requests_oauthlib"], "2.0.0", "{report}");
        assert!(report.get("error").is_none(), "{report}");
        let params = report["authorization_url_params"].to_string();
        assert!(
            params.contains("MedMij-Request-ID") && params.contains("X-Correlation-ID"),
            "{params}"
        );
        assert_eq!(
            report["indefinite_preselected"], false,
            "CONSENT-6: never preselected"
        );
        assert_eq!(
            report["token"]["scope"],
            serde_json::json!(["umcharderwijk"])
        );
        assert_eq!(report["token"]["expires_in"], 900);
        assert_eq!(report["token"]["has_refresh_token"], true, "{report}");
        assert_eq!(report["read_first"], 200, "{report}");
        assert_eq!(report["refreshed"]["new_access_token"], true, "{report}");
        assert_eq!(
            report["refreshed"]["new_refresh_token"], true,
            "rotation: {report}"
        );
        assert_eq!(report["refreshed"]["expires_in"], 900);
        assert_eq!(report["read_refreshed"], 200, "{report}");
        assert_eq!(report["old_refresh"]["refused"], true, "rotation: {report}");
        assert_eq!(report["old_refresh"]["error"], "invalid_grant", "{report}");

        // LOG-6: the ZA GW's chain steps, as medmij-log ChainEvents, with the identifiers
        // the client sent and nothing secret in them.
        let events: Vec<medmij_log::ChainEvent> =
            std::fs::read_to_string(log.with_extension("chain.jsonl"))
                .unwrap()
                .lines()
                .map(|l| medmij_log::ChainEvent::from_json(l).unwrap())
                .collect();
        use medmij_log::ChainEventType as T;
        for t in [
            T::ReceiveAuthorizationRequest,
            T::ReceiveTokenRequest,
            T::ReceiveRefreshTokenRequest,
            T::RefreshTokenRequestError,
            T::ReceiveResourceRequest,
        ] {
            assert!(
                events.iter().any(|e| e.event_type == t),
                "no {t:?} among {} chain events",
                events.len()
            );
        }
        let sessions: std::collections::BTreeSet<_> = events
            .iter()
            .map(|e| e.session_id.as_str().to_owned())
            .collect();
        assert!(
            sessions.len() >= 3,
            "a new X-Correlation-ID per refresh: {sessions:?}"
        );

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
