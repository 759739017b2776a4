//! Two ZA GW nodes behind a round-robin front (feature `axum` and `postgres`): two routers,
//! two `AuthorizationServer`s, one PostgreSQL database for codes, tokens and pending flows.
//! Every request of a flow goes to the other node than the one before; one node stops while
//! flows are between login and consent and between consent and token, and the other node
//! finishes every flow (MedMij OAUTH-11 across gateway nodes).
#![cfg(all(feature = "axum", feature = "postgres"))]

mod axum_support;
use axum::Router;
use axum::body::Body;
use axum_support::*;
use medmij_oauth::adapter::*;
use medmij_oauth::*;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

fn url() -> String {
    std::env::var("MEDMIJ_TEST_DATABASE_URL")
        .unwrap_or_else(|_| panic!("MEDMIJ_TEST_DATABASE_URL is not set"))
}

/// The round-robin front: the next running node for every request.
struct Front {
    nodes: Mutex<Vec<Option<Router>>>,
    next: AtomicUsize,
    served: Mutex<Vec<usize>>,
}

impl Front {
    fn pick(&self) -> (usize, Router) {
        let nodes = self.nodes.lock().unwrap();
        for _ in 0..nodes.len() {
            let i = self.next.fetch_add(1, Ordering::Relaxed) % nodes.len();
            if let Some(r) = &nodes[i] {
                return (i, r.clone());
            }
        }
        panic!("no node running");
    }

    async fn send(&self, req: http::Request<Body>) -> Answer {
        let (i, router) = self.pick();
        self.served.lock().unwrap().push(i);
        send(&router, req).await
    }

    fn stop(&self, i: usize) {
        self.nodes.lock().unwrap()[i] = None;
    }
}

fn node(prefix: &str) -> (Router, TestAudit, PgStore, PgFlowStore) {
    let limits = FlowLimits::default();
    let store = PgStore::connect_no_tls(&url(), prefix, 2).unwrap();
    let flows = PgFlowStore::connect_no_tls(&url(), prefix, 2, limits).unwrap();
    let (r, audit, _) = za_gateway(
        // The router gets its own connections; the returned pair is for cleanup only.
        PgStore::connect_no_tls(&url(), prefix, 2).unwrap(),
        PendingFlows::new(
            PgFlowStore::connect_no_tls(&url(), prefix, 2, limits).unwrap(),
            limits,
        ),
    );
    (r, audit, store, flows)
}

mod oauth_11 {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_one_stops_the_other_finishes_every_flow() {
        let prefix = format!("adapter_rr_{}", std::process::id());
        let p = prefix.clone();
        let ((r0, a0, store, flows), (r1, a1, _, _)) =
            tokio::task::spawn_blocking(move || (node(&p), node(&p)))
                .await
                .unwrap();
        let front = Front {
            nodes: Mutex::new(vec![Some(r0), Some(r1)]),
            next: AtomicUsize::new(0),
            served: Mutex::new(Vec::new()),
        };
        const FLOWS: usize = 8;
        let source = |i: usize| format!("192.0.2.{}", 20 + i);
        // Every flow to the consent page; the even ones also to the code.
        let mut at_consent = Vec::new();
        let mut codes = Vec::new();
        for i in 0..FLOWS {
            let a = front
                .send(request(
                    "GET",
                    &authorize_uri("umcharderwijk~1", "st-1"),
                    &source(i),
                    None,
                    None,
                ))
                .await;
            assert_eq!(a.status, 200, "{}", a.body);
            let cookie = a.cookie(ZA_COOKIE).unwrap();
            let cb = format!("{}&person=p{i}", a.marked("CALLBACK"));
            let c = front
                .send(request("GET", &cb, &source(i), Some(&cookie), None))
                .await;
            assert_eq!(c.status, 200, "{}", c.body);
            let action = c.marked("ACTION");
            if i % 2 == 0 {
                let d = front
                    .send(request(
                        "POST",
                        &action,
                        &source(i),
                        Some(&cookie),
                        Some((FORM_CONTENT_TYPE, "decision=yes")),
                    ))
                    .await;
                assert_eq!(d.status, 302);
                codes.push((i, param(&d.location(), "code").unwrap()));
            } else {
                at_consent.push((i, cookie, action));
            }
        }
        {
            let served = front.served.lock().unwrap();
            assert!(
                served.windows(2).all(|w| w[0] != w[1]),
                "requests alternate nodes"
            );
        }
        // Node 0 stops; node 1 finishes every flow.
        front.stop(0);
        for (i, cookie, action) in at_consent {
            let d = front
                .send(request(
                    "POST",
                    &action,
                    &source(i),
                    Some(&cookie),
                    Some((FORM_CONTENT_TYPE, "decision=yes")),
                ))
                .await;
            assert_eq!(d.status, 302, "{}", d.body);
            codes.push((i, param(&d.location(), "code").unwrap()));
        }
        assert_eq!(codes.len(), FLOWS);
        for (i, code) in codes {
            let (_, router) = front.pick();
            let t = redeem(&router, &code, Some(PGO)).await;
            assert_eq!(t.status, 200, "{}", t.body);
            let json: serde_json::Value = serde_json::from_str(&t.body).unwrap();
            let r = fetch(
                &router,
                "GET",
                "/fhir/1/Patient",
                json["access_token"].as_str().unwrap(),
                None,
            )
            .await;
            assert_eq!(r.status, 200);
            assert!(r.body.contains(&format!(r#""subject":"p{i}""#)));
        }
        assert!(a0.all().iter().any(|e| e.success));
        assert!(
            a1.all()
                .iter()
                .filter(|e| e.endpoint == Endpoint::Token && e.success)
                .count()
                == FLOWS
        );
        tokio::task::spawn_blocking(move || {
            store.drop_tables().unwrap();
            flows.drop_table().unwrap();
        })
        .await
        .unwrap();
    }
}
