//! The PostgreSQL store under a multi-thread tokio runtime, called as an axum handler calls
//! it, through [`AsyncAuthorizationServer`] (feature `tokio`): whole flows, concurrently.
//! Calling `PgStore` directly from a task panics with "Cannot start a runtime from within a
//! runtime" (the blocking `postgres` client); the adapter never does.
#![cfg(all(feature = "postgres", feature = "tokio"))]

mod common;
use common::*;
use medmij_oauth::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn url() -> String {
    std::env::var("MEDMIJ_TEST_DATABASE_URL")
        .unwrap_or_else(|_| panic!("MEDMIJ_TEST_DATABASE_URL is not set (see tests/postgres.rs)"))
}

fn prefix(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "oauth_{tag}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// One whole flow through the adapter: authorize, consent, code, token, resource.
async fn whole_flow<C: ClientRegistry + Send + Sync + 'static>(
    server: AsyncAuthorizationServer<Arc<PgStore>, C>,
    n: usize,
) -> Subject {
    let person = Subject::new(format!("person-{n}")).unwrap();
    let mut session = server
        .authorize(query("umcharderwijk~1", &format!("st{n}")))
        .await
        .unwrap()
        .unwrap();
    assert!(
        session
            .authenticated(Authentication::Established(person.clone()))
            .unwrap()
            .is_none()
    );
    assert!(session.data_available(true).unwrap().is_none());
    assert!(matches!(
        session.consent(ConsentDecision::Granted, t0()).unwrap(),
        ConsentOutcome::Granted(_)
    ));
    let (_, redirect) = server.issue_code(session, t0()).await.unwrap();
    let code = param(redirect.unwrap().location(), "code").unwrap();
    let out = server
        .token(
            Some("application/x-www-form-urlencoded; charset=UTF-8".to_owned()),
            token_body(&code),
            client(),
            t0(),
        )
        .await
        .unwrap();
    let token = issued_token(&out);
    let access = server
        .check_resource(
            Some(format!("Bearer {token}")),
            za(),
            gd("1"),
            Interaction::Read,
            t0(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(access.subject, person);
    access.subject
}

mod oauth_11 {
    use super::*;

    /// MedMij OAUTH-11 (the whole flow) with the PostgreSQL store on a multi-thread runtime:
    /// 64 concurrent flows, all succeed, none panics.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sixty_four_concurrent_flows_on_postgres_under_tokio() {
        let p = prefix("async");
        let (u, p2) = (url(), p.clone());
        let store = run_blocking(move || PgStore::connect_no_tls(&u, &p2, 8))
            .await
            .unwrap()
            .unwrap();
        let store = Arc::new(store);
        let server = AsyncAuthorizationServer::new(AuthorizationServer::new(
            config(),
            registry(),
            Arc::clone(&store),
        ));
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..64 {
            tasks.spawn(whole_flow(server.clone(), n));
        }
        let mut people = Vec::new();
        let done = tokio::time::timeout(std::time::Duration::from_secs(120), async {
            while let Some(r) = tasks.join_next().await {
                people.push(r.expect("no flow panics"));
            }
        })
        .await;
        run_blocking(move || store.drop_tables())
            .await
            .unwrap()
            .unwrap();
        done.expect("64 flows within 120 s");
        people.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        people.dedup();
        assert_eq!(people.len(), 64);
    }
}
