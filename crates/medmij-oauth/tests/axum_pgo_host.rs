//! The PGO GW router's host seams (feature `axum`): the host reads and checks a start before
//! anyone is sent to log in (`/start` and `/share`, MedMij OAUTH-12, OAUTH-13), its context
//! comes back at the flow's end, a flow that ends without a grant reaches the host, and the
//! per-person and per-source limits of pending flows (OAUTH-14).
#![cfg(feature = "axum")]

mod axum_support;
use axum_support::*;
use medmij_oauth::adapter::*;
use medmij_oauth::*;
use std::sync::{Arc, Mutex};

/// A completed flow as the host saw it: person, use case, context.
type Done = (String, UseCase, Option<String>);

/// What the host saw at the end of each flow.
#[derive(Default, Clone)]
struct Seen {
    done: Arc<Mutex<Vec<Done>>>,
    failed: Arc<Mutex<Vec<(String, FlowFailure)>>>,
}

/// A host with its own query form: `aanbieder`, `dienst` and, for `/share`, an `item` that
/// must be one it knows.
struct ItemHost(Seen);

impl PgoHost for ItemHost {
    async fn person(&self, headers: &http::HeaderMap) -> Option<String> {
        headers.get("x-person")?.to_str().ok().map(str::to_owned)
    }
    fn endpoints(&self, _scope: &Scope) -> Option<(String, String)> {
        Some((
            "https://za.example.nl/authorize".into(),
            "https://za.example.nl/token".into(),
        ))
    }
    async fn start_request(
        &self,
        _person: &str,
        route: StartRoute,
        query: &str,
    ) -> Result<StartRequest, StartRefused> {
        let get = |k: &str| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(n, v)| n == k && !v.is_empty())
                .map(|(_, v)| v.into_owned())
        };
        let refuse = |why: &str| StartRefused::bad_request("Fout.", "Wrong.", why);
        let (Some(a), Some(d)) = (get("aanbieder"), get("dienst")) else {
            return Err(refuse("no aanbieder or dienst"));
        };
        let context = if route == StartRoute::Share {
            let item = get("item").ok_or_else(|| refuse("no item"))?;
            if item != "item-1" {
                return Err(refuse("unknown item"));
            }
            Some(item)
        } else {
            None
        };
        let scope = Scope::parse(&format!("{a}~{d}"), ScopeForm::Multiple)
            .map_err(|_| refuse("bad scope"))?;
        let use_case = if route == StartRoute::Share {
            UseCase::Delen
        } else {
            UseCase::Verzamelen
        };
        Ok(StartRequest {
            scope,
            use_case,
            context,
        })
    }
    async fn granted(&self, _person: &str, _grant: AccessGrant) -> HttpResponse {
        HttpResponse::page(500, "completed handles every grant".into())
    }
    async fn completed(&self, person: &str, _grant: GrantV2, done: FlowDone) -> HttpResponse {
        self.0
            .done
            .lock()
            .unwrap()
            .push((person.to_owned(), done.use_case, done.context));
        HttpResponse::page(200, "<p>klaar</p>".into())
    }
    async fn failed(&self, person: &str, failure: FlowFailure) -> Option<HttpResponse> {
        self.0
            .failed
            .lock()
            .unwrap()
            .push((person.to_owned(), failure));
        Some(HttpResponse::page(200, "<p>niet gelukt</p>".into()))
    }
}

/// A PGO GW with [`ItemHost`] on `flows`, talking to `za` in process.
fn pgo_gateway<F: FlowStore + Send + Sync + 'static>(
    za: Router,
    flows: PendingFlows<F>,
    settings: PgoSettings,
) -> (
    PgoGateway<F, InProcess, ItemHost, TestAudit>,
    Seen,
    TestAudit,
) {
    let seen = Seen::default();
    let audit = TestAudit::default();
    let client = Client::new(ClientId::new(PGO).unwrap(), REDIRECT).unwrap();
    let gw = PgoGateway::new(
        client,
        flows,
        PgoHooks {
            transport: InProcess(za),
            host: ItemHost(seen.clone()),
            audit: audit.clone(),
            pages: DefaultPages,
        },
        settings,
    );
    (gw, seen, audit)
}

fn gateway(za: Router, limits: FlowLimits, per_person: usize) -> (Router, Seen, TestAudit) {
    let settings = PgoSettings {
        flows_per_person: per_person,
        ..PgoSettings::default()
    };
    let flows = PendingFlows::new(MemoryFlowStore::new(limits), limits);
    let (gw, seen, audit) = pgo_gateway(za, flows, settings);
    (gw.router(), seen, audit)
}

use axum::Router;

async fn start(pgo: &Router, uri: &str, source: &str, person: &str) -> Answer {
    let mut r = request("GET", uri, source, None, None);
    r.headers_mut().insert("x-person", person.parse().unwrap());
    send(pgo, r).await
}

mod oauth_13 {
    use super::*;

    /// `/share` is Delen: the host's check of the item comes before anything is stored or
    /// anyone is sent to log in; the item comes back with the grant.
    #[tokio::test]
    async fn share_checks_the_item_first_and_hands_it_back() {
        let (za, _, _) = memory_za(FlowLimits::default());
        let limits = FlowLimits::default();
        let (pgo, seen, audit) = gateway(za.clone(), limits, 3);
        for bad in [
            "/share?aanbieder=umcharderwijk&dienst=48",
            "/share?aanbieder=umcharderwijk&dienst=48&item=item-2",
            "/share?aanbieder=umcharderwijk&dienst=48&item=",
            "/share",
        ] {
            let r = start(&pgo, bad, "198.51.100.20", "p-1").await;
            assert_eq!(r.status, 400, "{bad}");
            assert!(r.header("location").is_none());
            assert!(r.cookie(PGO_COOKIE).is_none());
        }
        let refused: Vec<_> = audit
            .all()
            .into_iter()
            .filter(|e| e.endpoint == Endpoint::Start && !e.success)
            .collect();
        assert_eq!(refused.len(), 4, "one audit event per refusal (LOG-1)");
        assert!(refused.iter().any(|e| e.detail == "unknown item"));

        let s = start(
            &pgo,
            "/share?aanbieder=umcharderwijk&dienst=48&item=item-1",
            "198.51.100.20",
            "p-1",
        )
        .await;
        assert_eq!(s.status, 302, "{}", s.body);
        let cookie = s.cookie(PGO_COOKIE).unwrap();
        let back = at_za(&za, &s.location(), "198.51.100.20", "yes").await;
        let r = send(
            &pgo,
            request("GET", &back, "198.51.100.20", Some(&cookie), None),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            seen.done.lock().unwrap().as_slice(),
            [("p-1".to_owned(), UseCase::Delen, Some("item-1".to_owned()))]
        );
    }

    /// The default reading: `/share` is Delen with exactly one Gegevensdienst.
    #[test]
    fn default_reading_of_start_and_share() {
        let s = default_start_request(StartRoute::Share, "scope=umcharderwijk~48").unwrap();
        assert_eq!(s.use_case, UseCase::Delen);
        assert!(
            default_start_request(
                StartRoute::Share,
                "scope=umcharderwijk~48%20umcharderwijk~1"
            )
            .is_err()
        );
        let v = default_start_request(StartRoute::Start, "scope=umcharderwijk~1%20umcharderwijk~2")
            .unwrap();
        assert_eq!(v.use_case, UseCase::Verzamelen);
        assert_eq!(v.scope.gegevensdiensten().len(), 2);
        let d = default_start_request(StartRoute::Start, "scope=umcharderwijk~48&use_case=delen");
        assert_eq!(d.unwrap().use_case, UseCase::Delen);
        let e = default_start_request(StartRoute::Start, "scope=").unwrap_err();
        assert_eq!(e.response.status(), 400);
        assert!(default_start_request(StartRoute::Start, "").is_err());
    }

    /// A host context over MAX_START_CONTEXT refuses the start (bounded flows, OAUTH-14); one
    /// of exactly MAX_START_CONTEXT bytes is kept and the flow starts.
    #[tokio::test]
    async fn oversized_context_is_refused() {
        struct Big(usize);
        impl PgoHost for Big {
            async fn person(&self, _: &http::HeaderMap) -> Option<String> {
                Some("p".into())
            }
            fn endpoints(&self, _: &Scope) -> Option<(String, String)> {
                Some((
                    "https://za.example.nl/authorize".into(),
                    "https://za.example.nl/token".into(),
                ))
            }
            async fn start_request(
                &self,
                _: &str,
                route: StartRoute,
                query: &str,
            ) -> Result<StartRequest, StartRefused> {
                let mut s = default_start_request(route, query)?;
                s.context = Some("x".repeat(self.0));
                Ok(s)
            }
            async fn granted(&self, _: &str, _: AccessGrant) -> HttpResponse {
                HttpResponse::page(200, String::new())
            }
        }
        let start_with = |len: usize| async move {
            let (za, _, _) = memory_za(FlowLimits::default());
            let limits = FlowLimits::default();
            let audit = TestAudit::default();
            let gw = PgoGateway::new(
                Client::new(ClientId::new(PGO).unwrap(), REDIRECT).unwrap(),
                PendingFlows::new(MemoryFlowStore::new(limits), limits),
                PgoHooks {
                    transport: InProcess(za),
                    host: Big(len),
                    audit: audit.clone(),
                    pages: DefaultPages,
                },
                PgoSettings::default(),
            );
            let r = send(
                &gw.router(),
                request(
                    "GET",
                    "/start?scope=umcharderwijk~1",
                    "198.51.100.21",
                    None,
                    None,
                ),
            )
            .await;
            (r.status, audit)
        };
        let (status, audit) = start_with(MAX_START_CONTEXT + 1).await;
        assert_eq!(status, 400);
        assert_eq!(audit.all().len(), 1);
        assert!(!audit.all()[0].success);
        let (status, audit) = start_with(MAX_START_CONTEXT).await;
        assert_eq!(status, 302);
        assert!(audit.all().iter().all(|e| e.success));
    }
}

mod oauth_12 {
    use super::*;

    /// A refusal at the ZA GW (case 4) reaches the host with the redirect's `error`, the
    /// case, the use case and the context; the host's page is the answer.
    #[tokio::test]
    async fn a_refused_flow_reaches_the_host() {
        let (za, _, _) = memory_za(FlowLimits::default());
        let (pgo, seen, audit) = gateway(za.clone(), FlowLimits::default(), 3);
        let s = start(
            &pgo,
            "/share?aanbieder=umcharderwijk&dienst=48&item=item-1",
            "198.51.100.22",
            "p-2",
        )
        .await;
        let cookie = s.cookie(PGO_COOKIE).unwrap();
        let back = at_za(&za, &s.location(), "198.51.100.22", "no").await;
        let r = send(
            &pgo,
            request("GET", &back, "198.51.100.22", Some(&cookie), None),
        )
        .await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains("niet gelukt"));
        let failed = seen.failed.lock().unwrap().clone();
        assert_eq!(failed.len(), 1);
        let (person, f) = &failed[0];
        assert_eq!(person, "p-2");
        assert_eq!(f.stage, FailureStage::Redirect);
        assert_eq!(f.case, Some(4));
        assert_eq!(f.error.as_deref(), Some("access_denied"));
        assert_eq!(f.use_case, UseCase::Delen);
        assert_eq!(f.context.as_deref(), Some("item-1"));
        assert!(seen.done.lock().unwrap().is_empty());
        let logged: Vec<_> = audit
            .all()
            .into_iter()
            .filter(|e| e.endpoint == Endpoint::Redirect && !e.success)
            .collect();
        assert_eq!(logged.len(), 1);
        assert_eq!(logged[0].case, Some(4));
        assert_eq!(logged[0].subject.as_ref().map(|s| s.as_str()), Some("p-2"));
    }

    /// The PGO GW reports each flow the person abandoned (never came back from the ZA GW) once
    /// (MedMij OAUTH-12 case 5, LOG-1), on the memory store and on PostgreSQL alike.
    mod expired {
        use super::*;
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::time::{Duration, SystemTime};

        /// A PGO GW on `flows` with a clock the test moves by `offset` seconds.
        fn clocked<F: FlowStore + Send + Sync + 'static>(
            za: Router,
            flows: PendingFlows<F>,
            offset: Arc<AtomicU64>,
        ) -> (
            PgoGateway<F, InProcess, ItemHost, TestAudit>,
            Seen,
            TestAudit,
        ) {
            let clock = Clock::new(move || {
                SystemTime::now() + Duration::from_secs(offset.load(Ordering::Relaxed))
            });
            let settings = PgoSettings {
                clock,
                ..PgoSettings::default()
            };
            pgo_gateway(za, flows, settings)
        }

        /// Five persons leave for the ZA GW and never come back (ttl and grace 900 s). One comes
        /// back late within the grace: refused as an unknown flow, as before, and not reported
        /// there. `PgoGateway::expire_flows` reports all five once each (an audit event with
        /// case 5, the person and the source, and `PgoHost::failed` with `FailureStage::Expired`
        /// and the host's context); a second sweep and a new flow's admission report nothing
        /// again; a sixth flow abandoned later is reported by the next admission's sweep.
        async fn abandoned_flows_reported_once<F: FlowStore + Send + Sync + 'static>(
            flows: PendingFlows<F>,
        ) {
            let (za, _, _) = memory_za(FlowLimits::default());
            let offset = Arc::new(AtomicU64::new(0));
            let (gw, seen, audit) = clocked(za.clone(), flows, offset.clone());
            let pgo = gw.router();
            let mut left = Vec::new();
            for i in 0..5u64 {
                let source = format!("198.51.100.{}", 40 + i);
                let uri = "/share?aanbieder=umcharderwijk&dienst=48&item=item-1";
                let s = start(&pgo, uri, &source, &format!("p-{i}")).await;
                assert_eq!(s.status, 302, "{}", s.body);
                left.push((source, s.cookie(PGO_COOKIE).unwrap(), s.location()));
            }
            // Flow 2's way back, made now at the ZA GW, arrives at 1000 s: expired at 900 s,
            // within its grace, refused as an unknown flow (as before the grace existed).
            let (source, cookie, location) = &left[2];
            let back = at_za(&za, location, source, "yes").await;
            offset.store(1000, Ordering::Relaxed);
            let late = send(&pgo, request("GET", &back, source, Some(cookie), None)).await;
            assert_eq!(late.status, 400, "{}", late.body);
            assert!(seen.done.lock().unwrap().is_empty());
            assert!(
                seen.failed.lock().unwrap().is_empty(),
                "not reported by the late step"
            );
            assert!(expiries(&audit).is_empty());
            // The sweep reports all five, once.
            assert_eq!(gw.expire_flows().await, 5);
            assert_eq!(gw.expire_flows().await, 0, "reported already");
            // A new flow's admission sweeps too: nothing new.
            let s = start(
                &pgo,
                "/start?aanbieder=umcharderwijk&dienst=1",
                "203.0.113.9",
                "p-9",
            )
            .await;
            assert_eq!(s.status, 302, "{}", s.body);
            assert_eq!(expiries(&audit).len(), 5);
            // p-9 abandons it too; the next admission (at 2000 s) reports it.
            offset.store(2000, Ordering::Relaxed);
            let s = start(
                &pgo,
                "/start?aanbieder=umcharderwijk&dienst=1",
                "203.0.113.10",
                "p-10",
            )
            .await;
            assert_eq!(s.status, 302, "{}", s.body);
            assert_eq!(gw.expire_flows().await, 0, "the admission reported it");
            let events = expiries(&audit);
            let mut sources: Vec<String> = events.iter().map(|e| e.source.to_string()).collect();
            sources.sort();
            let mut want: Vec<String> = left.iter().map(|(s, _, _)| s.clone()).collect();
            want.push("203.0.113.9".into());
            want.sort();
            assert_eq!(sources, want, "each abandoned flow once");
            for e in &events {
                assert_eq!((e.success, e.case), (false, Some(5)), "{e:?}");
                assert_eq!(e.client_id.as_ref().map(ClientId::as_str), Some(PGO));
                assert!(e.detail.contains("abandoned"), "{}", e.detail);
            }
            let failed = seen.failed.lock().unwrap().clone();
            assert_eq!(failed.len(), 6);
            let mut persons: Vec<&str> = failed.iter().map(|(p, _)| p.as_str()).collect();
            persons.sort();
            assert_eq!(persons, ["p-0", "p-1", "p-2", "p-3", "p-4", "p-9"]);
            for (person, f) in &failed {
                assert_eq!(f.stage, FailureStage::Expired);
                assert_eq!(f.case, Some(5));
                assert_eq!(f.error, None);
                let shared = person.as_str() != "p-9";
                let want = if shared {
                    UseCase::Delen
                } else {
                    UseCase::Verzamelen
                };
                assert_eq!(f.use_case, want);
                assert_eq!(f.context.is_some(), shared, "{person}: {:?}", f.context);
                let event = events
                    .iter()
                    .find(|e| e.subject.as_ref().map(|s| s.as_str()) == Some(person.as_str()));
                assert!(event.is_some(), "{person} audited");
            }
        }

        #[tokio::test]
        async fn memory_store() {
            let limits = FlowLimits::default();
            abandoned_flows_reported_once(PendingFlows::new(MemoryFlowStore::new(limits), limits))
                .await;
        }

        /// The same on PostgreSQL (needs `MEDMIJ_TEST_DATABASE_URL`; never skips silently).
        #[cfg(feature = "postgres")]
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn postgres_store() {
            let url = std::env::var("MEDMIJ_TEST_DATABASE_URL")
                .unwrap_or_else(|_| panic!("MEDMIJ_TEST_DATABASE_URL is not set"));
            let limits = FlowLimits::default();
            let prefix = format!("pgo_expired_{}", std::process::id());
            let store = tokio::task::spawn_blocking(move || {
                Arc::new(PgFlowStore::connect_no_tls(&url, &prefix, 2, limits).unwrap())
            })
            .await
            .unwrap();
            abandoned_flows_reported_once(PendingFlows::new(Arc::clone(&store), limits)).await;
            tokio::task::spawn_blocking(move || store.drop_table().unwrap())
                .await
                .unwrap();
        }
    }
}

mod oauth_14 {
    use super::*;

    /// One person's starts keep the newest `flows_per_person` flows: the oldest ends (its
    /// redirect is refused), the newest completes.
    #[tokio::test]
    async fn pending_flows_are_capped_per_person() {
        let (za, _, _) = memory_za(FlowLimits::default());
        let limits = FlowLimits::default();
        let (pgo, seen, audit) = gateway(za.clone(), limits, 2);
        let uri = "/start?aanbieder=umcharderwijk&dienst=1";
        let mut started = Vec::new();
        for _ in 0..4 {
            let s = start(&pgo, uri, "198.51.100.23", "p-3").await;
            assert_eq!(s.status, 302);
            started.push((s.cookie(PGO_COOKIE).unwrap(), s.location()));
        }
        let ended = audit
            .all()
            .iter()
            .filter(|e| e.detail.contains("oldest pending flow ended"))
            .count();
        assert_eq!(ended, 2);
        // The first flow ended: its way back is refused, nothing redeemed.
        let (cookie, location) = &started[0];
        let back = at_za(&za, location, "198.51.100.23", "yes").await;
        let r = send(
            &pgo,
            request("GET", &back, "198.51.100.23", Some(cookie), None),
        )
        .await;
        assert_eq!(r.status, 400);
        assert!(seen.done.lock().unwrap().is_empty());
        // The newest completes.
        let (cookie, location) = &started[3];
        let back = at_za(&za, location, "198.51.100.23", "yes").await;
        let r = send(
            &pgo,
            request("GET", &back, "198.51.100.23", Some(cookie), None),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(seen.done.lock().unwrap().len(), 1);
    }

    /// A full flow store (every source under its share) is 503 with Retry-After, not 429:
    /// the gateway is short of room, the source asked for nothing too much (RFC 6585).
    #[tokio::test]
    async fn a_full_store_is_503() {
        let (za, _, _) = memory_za(FlowLimits::default());
        let limits = FlowLimits {
            total: 2,
            ..FlowLimits::default()
        };
        let (pgo, _, _) = gateway(za, limits, 100);
        let uri = "/start?aanbieder=umcharderwijk&dienst=1";
        let mut statuses = Vec::new();
        for i in 0..3 {
            let s = start(
                &pgo,
                uri,
                &format!("203.0.113.{}", 80 + i),
                &format!("p-{i}"),
            )
            .await;
            if s.status == 503 {
                assert!(s.header("retry-after").is_some());
            }
            statuses.push(s.status);
        }
        assert_eq!(statuses, [302, 302, 503]);
    }

    /// One source at its share gets 429 with Retry-After; another source is still served.
    #[tokio::test]
    async fn a_source_at_its_share_gets_429() {
        let (za, _, _) = memory_za(FlowLimits::default());
        let limits = FlowLimits {
            per_source: 3,
            ..FlowLimits::default()
        };
        let (pgo, _, audit) = gateway(za, limits, 100);
        let uri = "/start?aanbieder=umcharderwijk&dienst=1";
        let mut statuses = Vec::new();
        for i in 0..5 {
            let s = start(&pgo, uri, "203.0.113.70", &format!("p-{i}")).await;
            if s.status == 429 {
                assert!(s.header("retry-after").is_some());
            }
            statuses.push(s.status);
        }
        assert_eq!(statuses, [302, 302, 302, 429, 429]);
        assert_eq!(start(&pgo, uri, "203.0.113.71", "p-9").await.status, 302);
        assert_eq!(
            audit
                .all()
                .iter()
                .filter(|e| e.endpoint == Endpoint::Start && !e.success)
                .count(),
            2
        );
    }
}

mod oauth_10 {
    use super::*;

    /// Two tabs of one PGO session: the browser holds only the newest flow cookie, yet the
    /// first tab's way back (its own `state`) completes its own flow, and the second tab's
    /// way back still completes afterwards. Another session with the same cookie and
    /// `state` is refused.
    #[tokio::test]
    async fn another_tab_of_the_same_session_comes_back() {
        let (za, _, _) = memory_za(FlowLimits::default());
        let (pgo, seen, _) = gateway(za.clone(), FlowLimits::default(), 3);
        let uri = "/start?aanbieder=umcharderwijk&dienst=1";
        let first = start(&pgo, uri, "198.51.100.30", "p-7").await;
        let second = start(&pgo, uri, "198.51.100.30", "p-7").await;
        let cookie = second.cookie(PGO_COOKIE).unwrap();
        let back_first = at_za(&za, &first.location(), "198.51.100.30", "yes").await;
        let back_second = at_za(&za, &second.location(), "198.51.100.30", "yes").await;

        // Another session presents the browser's cookie with the first tab's state.
        let mut r = request("GET", &back_first, "198.51.100.30", Some(&cookie), None);
        r.headers_mut().insert("x-person", "p-8".parse().unwrap());
        let other = send(&pgo, r).await;
        assert_eq!(other.status, 200, "the host's failure page");
        assert_eq!(
            seen.failed.lock().unwrap().len(),
            1,
            "OAUTH-10 state mismatch"
        );
        assert!(seen.done.lock().unwrap().is_empty());
        // That refusal ended the browser's newest flow (the cookie's): the second tab is
        // gone, the first still waits.
        let mut r = request("GET", &back_first, "198.51.100.30", Some(&cookie), None);
        r.headers_mut().insert("x-person", "p-7".parse().unwrap());
        let a = send(&pgo, r).await;
        assert_eq!(a.status, 400, "no flow under the cookie any more");

        // Again, cleanly: two tabs, the first comes back first.
        let first = start(&pgo, uri, "198.51.100.30", "p-7").await;
        let second = start(&pgo, uri, "198.51.100.30", "p-7").await;
        let cookie = second.cookie(PGO_COOKIE).unwrap();
        let back_first = at_za(&za, &first.location(), "198.51.100.30", "yes").await;
        let back_second = {
            let _ = back_second;
            at_za(&za, &second.location(), "198.51.100.30", "yes").await
        };
        for back in [&back_first, &back_second] {
            let mut r = request("GET", back, "198.51.100.30", Some(&cookie), None);
            r.headers_mut().insert("x-person", "p-7".parse().unwrap());
            let a = send(&pgo, r).await;
            assert_eq!(a.status, 200, "{}", a.body);
        }
        assert_eq!(seen.done.lock().unwrap().len(), 2);
    }

    /// Three tabs of one PGO session, the browser holding the third's cookie: each way back
    /// finds its own pending flow by its own `state` among the person's others, oldest
    /// first, and completes it; none is mistaken for another.
    #[tokio::test]
    async fn each_of_three_tabs_finds_its_own_flow() {
        let (za, _, _) = memory_za(FlowLimits::default());
        let (pgo, seen, _) = gateway(za.clone(), FlowLimits::default(), 3);
        let uri = "/start?aanbieder=umcharderwijk&dienst=1";
        let mut tabs = Vec::new();
        for _ in 0..3 {
            tabs.push(start(&pgo, uri, "198.51.100.31", "p-6").await);
        }
        let cookie = tabs[2].cookie(PGO_COOKIE).unwrap();
        let mut backs = Vec::new();
        for tab in &tabs {
            backs.push(at_za(&za, &tab.location(), "198.51.100.31", "yes").await);
        }
        for (n, back) in backs.iter().enumerate() {
            let mut r = request("GET", back, "198.51.100.31", Some(&cookie), None);
            r.headers_mut().insert("x-person", "p-6".parse().unwrap());
            let a = send(&pgo, r).await;
            assert_eq!(a.status, 200, "tab {n}: {}", a.body);
            assert!(seen.failed.lock().unwrap().is_empty(), "tab {n}");
            assert_eq!(seen.done.lock().unwrap().len(), n + 1, "tab {n}");
        }
    }
}
