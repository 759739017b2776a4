//! Pending flows kept in a `FlowStore` (memory here; PostgreSQL in tests/postgres_flows.rs):
//! the stored forms of `Session` and `PendingAuthorization` (MedMij OAUTH-11), and the limits
//! on pending flows (OAUTH-14).

mod common;
use common::flows::*;
use common::*;
use medmij_oauth::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

mod oauth_11 {
    use super::*;

    fn round_trip(s: &Session) -> Session {
        let json = serde_json::to_string(s).unwrap();
        serde_json::from_str(&json).unwrap()
    }

    /// MedMij OAUTH-11: a session stored after any step continues where it was, in order.
    #[test]
    fn session_survives_storage_at_every_stage() {
        let s = server();
        let mut session = round_trip(&s.authorize(&query("umcharderwijk~1", "st")).unwrap());
        assert_eq!(session.stage(), SessionStage::AwaitingAuthentication);
        session
            .authenticated(Authentication::Established(subject()))
            .unwrap();
        let mut session = round_trip(&session);
        assert_eq!(session.stage(), SessionStage::AwaitingDataCheck);
        // Out of order after storage is still out of order.
        assert!(session.consent(ConsentDecision::Granted, t0()).is_err());
        session.data_available(true).unwrap();
        let mut session = round_trip(&session);
        assert_eq!(session.stage(), SessionStage::AwaitingConsent);
        let ConsentOutcome::Granted(e) = session.consent(ConsentDecision::Granted, t0()).unwrap()
        else {
            panic!("granted")
        };
        assert_eq!(e.subject, subject());
        let mut session = round_trip(&session);
        assert_eq!(session.stage(), SessionStage::ReadyToIssue);
        assert_eq!(session.request().redirect_uri(), REDIRECT);
        let r = s.issue_code(&mut session, t0()).unwrap();
        assert_eq!(param(r.location(), "state").as_deref(), Some("st"));
        let session = round_trip(&session);
        assert_eq!(session.stage(), SessionStage::Finished);
    }

    /// MedMij OAUTH-4: a stored session whose redirect URI was altered (or any other value
    /// broken) is refused on load, so a database row can never become a redirect elsewhere.
    #[test]
    fn tampered_session_is_refused_on_load() {
        let s = server();
        let mut session = s.authorize(&query("umcharderwijk~1", "st")).unwrap();
        session
            .authenticated(Authentication::Established(subject()))
            .unwrap();
        let json = serde_json::to_string(&session).unwrap();
        assert!(!format!("{session:?}").contains("person-1"));
        for (from, to) in [
            ("https://pgo.example.nl/cb", "https://evil.example/cb"),
            (
                "https://pgo.example.nl/cb",
                "https://pgo.example.nl:99999/cb",
            ),
            ("\"client_id\":\"pgo.example.nl\"", "\"client_id\":\"PGO\""),
            ("\"scope\":\"umcharderwijk~1\"", "\"scope\":\"\""),
            ("\"subject\":\"person-1\"", "\"subject\":\"\""),
            (
                "\"stage\":\"awaiting_data_check\"",
                "\"stage\":\"ready_to_issue\",\"x\":1",
            ),
        ] {
            assert!(json.contains(from), "{json}");
            let bad = json.replace(from, to);
            assert!(serde_json::from_str::<Session>(&bad).is_err(), "{bad}");
        }
        let no_subject = json.replace(",\"subject\":\"person-1\"", "");
        assert!(serde_json::from_str::<Session>(&no_subject).is_err());
    }

    /// The PGO GW's pending authorization survives storage and still checks the redirect.
    #[test]
    fn pending_authorization_survives_storage() {
        let c = Client::new(client(), REDIRECT).unwrap();
        let scope = Scope::parse("umcharderwijk~1", ScopeForm::Single).unwrap();
        let (_, pending) = c
            .start(
                "https://za.example.nl/authorize",
                "https://za.example.nl/token",
                scope,
            )
            .unwrap();
        let json = serde_json::to_string(&pending).unwrap();
        let back: PendingAuthorization = serde_json::from_str(&json).unwrap();
        assert_eq!(back.state(), pending.state());
        let code = Code::random(&ThreadRandom);
        let q = format!("code={code}&state={}", pending.state().as_str());
        assert!(back.handle_redirect(&q, t0()).is_ok());
        let wrong = format!("code={code}&state=x");
        assert_eq!(
            back.handle_redirect(&wrong, t0()).unwrap_err(),
            CallbackError::StateMismatch
        );
        let evil = json.replace("https://pgo.example.nl/cb", "https://evil.example/cb");
        assert!(serde_json::from_str::<PendingAuthorization>(&evil).is_err());
        let plain = json.replace("https://za.example.nl/token", "http://za.example.nl/token");
        assert!(serde_json::from_str::<PendingAuthorization>(&plain).is_err());
    }

    /// MedMij OAUTH-11 on one node with the memory flow store: every step resumes the flow.
    #[test]
    fn whole_flows_through_pending_flows() {
        let node = Node {
            server: server(),
            flows: PendingFlows::new(MemoryFlowStore::default(), FlowLimits::default()),
        };
        for n in 0..5 {
            let mut p = Person {
                n,
                id: None,
                token: None,
                done: false,
            };
            for s in 0..STEPS {
                step(&node, &mut p, s);
            }
            assert!(p.done);
        }
        assert!(node.flows.store().is_empty());
    }
}

mod oauth_14 {
    use super::*;

    /// MedMij OAUTH-14: the limits of the memory flow store, each with its typed answer.
    #[test]
    fn memory_flow_store_limits() {
        limits(&MemoryFlowStore::new(small_limits()));
    }

    /// The same through `&T`, `Arc<T>` and `Box<T>` (the `FlowStore` impls the crate's
    /// `forward_flow_store!` macro writes): `put` and `take` reach the store.
    #[test]
    fn flow_store_limits_through_a_reference_an_arc_and_a_box() {
        limits(&&MemoryFlowStore::new(small_limits()));
        limits(&std::sync::Arc::new(MemoryFlowStore::new(small_limits())));
        limits(&Box::new(MemoryFlowStore::new(small_limits())));
    }

    /// The documented defaults.
    #[test]
    fn default_limits_have_figures() {
        let l = FlowLimits::default();
        assert_eq!(
            (l.per_client, l.per_source, l.total, l.ttl, l.retry_after),
            (
                1024,
                16,
                65_536,
                Duration::from_secs(900),
                Duration::from_secs(60)
            )
        );
    }

    /// MedMij OAUTH-14: one client opens flows at full speed from many addresses until its
    /// quota is full (and keeps trying), while a person using a different client completes a
    /// whole flow. The flooder only ever gets the typed busy answer.
    #[test]
    fn one_client_flooding_does_not_turn_away_another_clients_person() {
        let limits = FlowLimits {
            per_client: 64,
            per_source: 4,
            total: 256,
            ..FlowLimits::default()
        };
        let s = Arc::new(server());
        let flows = Arc::new(PendingFlows::new(MemoryFlowStore::new(limits), limits));
        let stop = Arc::new(AtomicBool::new(false));
        let (admitted, refused) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let flooder = {
            let (s, flows, stop) = (Arc::clone(&s), Arc::clone(&flows), Arc::clone(&stop));
            let (admitted, refused) = (Arc::clone(&admitted), Arc::clone(&refused));
            std::thread::spawn(move || {
                let started = Instant::now();
                let session = s.authorize(&query("umcharderwijk~1", "x")).unwrap();
                let mut n = 0u32;
                // Bounded in count and time.
                while n < 20_000 && started.elapsed() < Duration::from_secs(10) {
                    if stop.load(Ordering::Relaxed) && n >= 1_000 {
                        break;
                    }
                    let o = owner(
                        CLIENT,
                        &format!("10.{}.{}.{}", n >> 16, (n >> 8) & 255, n & 255),
                    );
                    match flows.open(&o, &session, &ThreadRandom, t0()) {
                        Ok(_) => admitted.fetch_add(1, Ordering::Relaxed),
                        Err(FlowError::Busy(b)) => {
                            assert_eq!(b.limit(), FlowLimit::PerClient);
                            assert_eq!(HttpResponse::from(b).status(), 503);
                            refused.fetch_add(1, Ordering::Relaxed)
                        }
                        Err(e) => panic!("{e}"),
                    };
                    n += 1;
                }
            })
        };
        // Wait until the flooder's quota is full, then run the person's flow.
        let started = Instant::now();
        while refused.load(Ordering::Relaxed) == 0 && started.elapsed() < Duration::from_secs(10) {
            std::thread::yield_now();
        }
        let q = query("umcharderwijk~1", "st").replace("pgo.example.nl", "andere-pgo.example.com");
        let person = owner(OTHER_CLIENT, "203.0.113.9");
        let session = s.authorize(&q).unwrap();
        let id = flows.open(&person, &session, &ThreadRandom, t0()).unwrap();
        let mut r: Resumed<Session> = flows.resume(&id, t0()).unwrap().unwrap();
        r.value
            .authenticated(Authentication::Established(subject()))
            .unwrap();
        flows.save(&id, &r.owner, &r.value, t0()).unwrap();
        let mut r: Resumed<Session> = flows.resume(&id, t0()).unwrap().unwrap();
        r.value.data_available(true).unwrap();
        assert!(matches!(
            r.value.consent(ConsentDecision::Granted, t0()).unwrap(),
            ConsentOutcome::Granted(_)
        ));
        let redirect = s.issue_code(&mut r.value, t0()).unwrap();
        assert!(
            redirect
                .location()
                .starts_with("https://andere-pgo.example.com/cb?code=")
        );
        stop.store(true, Ordering::Relaxed);
        flooder.join().unwrap();
        assert_eq!(admitted.load(Ordering::Relaxed), 64);
        assert!(refused.load(Ordering::Relaxed) >= 900);
    }

    /// MedMij OAUTH-14: one address cannot fill a client's quota: a person of the same client
    /// from another address still gets in.
    #[test]
    fn one_address_cannot_fill_a_clients_quota() {
        let limits = FlowLimits {
            per_client: 64,
            per_source: 4,
            ..FlowLimits::default()
        };
        let s = server();
        let flows = PendingFlows::new(MemoryFlowStore::new(limits), limits);
        let session = s.authorize(&query("umcharderwijk~1", "st")).unwrap();
        let attacker = owner(CLIENT, "192.0.2.66");
        for i in 0..1_000 {
            let r = flows.open(&attacker, &session, &ThreadRandom, t0());
            match (i < 4, r) {
                (true, Ok(_)) => {}
                (false, Err(FlowError::Busy(b))) => assert_eq!(b.limit(), FlowLimit::PerSource),
                (_, other) => panic!("attempt {i}: {other:?}"),
            }
        }
        assert!(
            flows
                .open(&owner(CLIENT, "192.0.2.7"), &session, &ThreadRandom, t0())
                .is_ok()
        );
    }
    /// MedMij OAUTH-14: every busy answer of the memory store names its limit with the
    /// configured figure and the configured wait, and tells the person in plain Dutch and
    /// English to come back later; a wait under a second is sent as one second.
    #[test]
    fn busy_answers_carry_the_figure_and_the_wait() {
        let l = FlowLimits {
            per_client: 5,
            per_source: 2,
            total: 7,
            retry_after: Duration::from_secs(120),
            ..FlowLimits::default()
        };
        let s = MemoryFlowStore::new(l);
        assert_eq!(s.limits(), &l);
        let put = |o: &FlowOwner| {
            let id = FlowId::random(&ThreadRandom).hash();
            s.put(&id, o, "{}", t0() + l.ttl, Admission::New, t0())
        };
        let busy = |r: Result<(), FlowError>| match r {
            Err(FlowError::Busy(b)) => b,
            other => panic!("expected Busy, got {other:?}"),
        };
        let a = owner(CLIENT, "192.0.2.1");
        put(&a).unwrap();
        put(&a).unwrap();
        let per_source = busy(put(&a));
        for source in ["192.0.2.2", "192.0.2.2", "192.0.2.3"] {
            put(&owner(CLIENT, source)).unwrap();
        }
        let per_client = busy(put(&owner(CLIENT, "192.0.2.4")));
        put(&owner(OTHER_CLIENT, "198.51.100.1")).unwrap();
        put(&owner(OTHER_CLIENT, "198.51.100.2")).unwrap();
        let total = busy(put(&owner(OTHER_CLIENT, "198.51.100.3")));
        for (b, limit, figure) in [
            (per_source, FlowLimit::PerSource, 2),
            (per_client, FlowLimit::PerClient, 5),
            (total, FlowLimit::Total, 7),
        ] {
            assert_eq!((b.limit(), b.figure()), (limit, figure));
            assert!(
                b.to_string().contains(&format!("(at most {figure})")),
                "{b}"
            );
            assert_eq!(b.retry_after_secs(), 120);
            assert!(b.message_nl().contains("te druk"), "{}", b.message_nl());
            assert!(b.message_en().contains("too busy"), "{}", b.message_en());
        }
        for wait in [Duration::ZERO, Duration::from_millis(999)] {
            assert_eq!(Busy::new(FlowLimit::Total, 1, wait).retry_after_secs(), 1);
        }
    }

    /// MedMij OAUTH-14: flows taken before they expire leave stale entries in the memory
    /// store's expiry order, which it drops by rebuilding it (memory stays bounded); a flow
    /// still live through the rebuild expires, stops counting and is reported as before.
    #[test]
    fn a_live_flow_still_expires_after_stale_entries_are_dropped() {
        let l = FlowLimits {
            per_source: 4,
            ..FlowLimits::default()
        };
        let s = MemoryFlowStore::new(l);
        let (t, a) = (t0(), owner(CLIENT, "192.0.2.1"));
        let kept = FlowId::random(&ThreadRandom).hash();
        s.put(&kept, &a, "kept", t + l.ttl, Admission::New, t)
            .unwrap();
        for _ in 0..2_000 {
            let id = FlowId::random(&ThreadRandom).hash();
            s.put(&id, &a, "taken", t + l.ttl, Admission::New, t)
                .unwrap();
            assert!(s.take(&id, t).unwrap().is_some());
        }
        assert_eq!(s.live(t), 1);
        let expired = t + l.ttl;
        assert_eq!(s.live(expired), 0, "the kept flow expired");
        let reported: Vec<String> = s
            .sweep(expired)
            .unwrap()
            .into_iter()
            .map(|f| f.data)
            .collect();
        assert_eq!(reported, ["kept"]);
        for _ in 0..4 {
            let id = FlowId::random(&ThreadRandom).hash();
            s.put(&id, &a, "new", expired + l.ttl, Admission::New, expired)
                .unwrap();
        }
        assert_eq!(
            (s.len(), s.is_empty()),
            (4, false),
            "the expired flow no longer counts"
        );
    }

    /// MedMij OAUTH-14: a new flow put under the id of a live flow replaces it and is not
    /// counted twice; put under the id of an expired flow it is a new flow like any other,
    /// refused at the limit.
    #[test]
    fn only_a_live_flow_under_the_same_id_is_not_counted_twice() {
        let l = FlowLimits {
            per_source: 1,
            ..FlowLimits::default()
        };
        let s = MemoryFlowStore::new(l);
        let (t, a) = (t0(), owner(CLIENT, "192.0.2.44"));
        let put = |id: &SecretHash, now: SystemTime| {
            s.put(id, &a, "{}", now + l.ttl, Admission::New, now)
        };
        let first = FlowId::random(&ThreadRandom).hash();
        put(&first, t).unwrap();
        put(&first, t).unwrap();
        assert_eq!(s.live(t), 1, "replaced, not counted twice");
        let later = t + l.ttl;
        let second = FlowId::random(&ThreadRandom).hash();
        put(&second, later).unwrap();
        match put(&first, later) {
            Err(FlowError::Busy(b)) => assert_eq!(b.limit(), FlowLimit::PerSource),
            other => panic!("expected Busy, got {other:?}"),
        }
        assert_eq!(s.live(later), 1);
    }
}

mod oauth_12 {
    use super::*;

    /// MedMij OAUTH-12 case 5: the memory flow store hands a late step its expired flow.
    #[test]
    fn memory_flow_store_take_late() {
        late(&MemoryFlowStore::new(small_limits()));
    }

    /// The same, and the reports of abandoned flows, through `&T`, `Arc<T>` and `Box<T>`
    /// (`forward_flow_store!`): `take_late` and `sweep` reach the store.
    #[test]
    fn late_steps_and_sweeps_through_a_reference_an_arc_and_a_box() {
        let l = small_limits();
        let delays: Vec<Option<u64>> = (0..40u64)
            .map(|i| {
                [None, Some(0), Some(i % 900), Some(900 + i % 7), Some(2_000)][(i % 5) as usize]
            })
            .collect();
        late(&&MemoryFlowStore::new(l));
        abandoned_over_time(&&MemoryFlowStore::new(l), &l, &delays, 300, 7);
        late(&std::sync::Arc::new(MemoryFlowStore::new(l)));
        abandoned_over_time(
            &std::sync::Arc::new(MemoryFlowStore::new(l)),
            &l,
            &delays,
            300,
            7,
        );
        late(&Box::new(MemoryFlowStore::new(l)));
        abandoned_over_time(&Box::new(MemoryFlowStore::new(l)), &l, &delays, 300, 7);
    }

    /// MedMij OAUTH-12 case 5, LOG-1: over 400 flows from one address (3 live at most, the
    /// per-source limit), every abandoned flow is reported exactly once whether a sweep, the
    /// sweep-at-put or its late step found it; late steps within the grace find their flow,
    /// after it not; expired flows never block admission.
    #[test]
    fn every_abandoned_flow_is_reported_once() {
        let l = small_limits();
        let delays: Vec<Option<u64>> = (0..400u64)
            .map(|i| match i % 5 {
                0 => None,
                1 => Some(0),
                2 => Some(i % 900),
                3 => Some(900 + i % 7),
                _ => Some(2_000),
            })
            .collect();
        for sweep_every in [1, 7] {
            abandoned_over_time(&MemoryFlowStore::new(l), &l, &delays, 300, sweep_every);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// MedMij OAUTH-12 case 5, LOG-1: the same over random late steps, spacings and
        /// sweep rhythms (each flow reported once, found exactly within its grace).
        #[test]
        fn abandoned_flows_are_reported_once_over_time(
            delays in proptest::collection::vec(proptest::option::of(0u64..2_500), 1..120),
            step_s in 300u64..1_200,
            // At most 8: after the last sweep come up to 7 more flows, and up to 3 (ttl 900 /
            // step 300) opened up to it expire after it: 10 unreported at most, what the
            // memory store keeps for the next sweep (`total`).
            sweep_every in 1usize..9,
        ) {
            let l = small_limits();
            abandoned_over_time(&MemoryFlowStore::new(l), &l, &delays, step_s, sweep_every);
        }
    }

    /// MedMij OAUTH-12 case 5, OAUTH-14: expired flows kept for their grace are capped at
    /// `total` (memory stays bounded), the oldest going first; each is still reported once.
    #[test]
    fn expired_flows_kept_for_the_grace_are_capped() {
        let l = FlowLimits {
            grace: Duration::from_secs(10_000),
            ..small_limits() // total 10
        };
        let s = MemoryFlowStore::new(l);
        let t = t0();
        // One flow every 100 s: at most 9 live at once; a sweep every 8 flows.
        let mut reported: Vec<String> = Vec::new();
        let ids: Vec<SecretHash> = (0..30)
            .map(|i| {
                if i % 8 == 0 {
                    let at = t + Duration::from_secs(100 * i);
                    reported.extend(s.sweep(at).unwrap().into_iter().map(|f| f.data));
                }
                let id = FlowId::random(&ThreadRandom).hash();
                let o = owner(&format!("pgo{i}.example.nl"), &format!("192.0.2.{i}"));
                let at = t + Duration::from_secs(100 * i);
                s.put(&id, &o, &format!("{i}"), at + l.ttl, Admission::New, at)
                    .unwrap();
                id
            })
            .collect();
        let after = t + l.ttl + Duration::from_secs(100 * 29); // all expired, within grace
        assert_eq!(s.live(after), 0);
        assert!(
            s.take_late(&ids[0], after).unwrap().is_none(),
            "dropped by the cap"
        );
        let (_, lateness) = s.take_late(&ids[29], after).unwrap().unwrap();
        assert_eq!(lateness, Lateness::LateUnreported);
        reported.extend(s.sweep(after).unwrap().into_iter().map(|f| f.data));
        reported.sort_by_key(|d| d.parse::<u32>().unwrap());
        let want: Vec<String> = (0..29).map(|i| i.to_string()).collect();
        assert_eq!(reported, want, "each once, the late one by its step");
    }

    /// MedMij OAUTH-12 case 5: a flow taken by `take_late` says whether it had expired.
    #[test]
    fn lateness_says_whether_the_flow_expired() {
        let s = MemoryFlowStore::new(small_limits());
        let (t, a) = (t0(), owner(CLIENT, "192.0.2.41"));
        let put = |data: &str| {
            let id = FlowId::random(&ThreadRandom).hash();
            s.put(
                &id,
                &a,
                data,
                t + Duration::from_secs(900),
                Admission::New,
                t,
            )
            .unwrap();
            id
        };
        let (on_time, late, swept) = (put("on time"), put("late"), put("swept"));
        let (_, lateness) = s.take_late(&on_time, t).unwrap().unwrap();
        assert!(!lateness.expired(), "{lateness:?}");
        let after = t + Duration::from_secs(900);
        let (_, lateness) = s.take_late(&late, after).unwrap().unwrap();
        assert_eq!(lateness, Lateness::LateUnreported);
        assert!(lateness.expired());
        assert_eq!(s.sweep(after).unwrap().len(), 1);
        let (_, lateness) = s.take_late(&swept, after).unwrap().unwrap();
        assert_eq!(lateness, Lateness::Late);
        assert!(lateness.expired());
    }

    /// MedMij OAUTH-12 case 5, OAUTH-14: expired flows ended by their late steps leave stale
    /// entries in the memory store's grace queue and in its list of flows to report, which it
    /// drops (memory stays bounded); the expired flows still waiting are reported once by the
    /// sweep, found within their grace and gone after it.
    #[test]
    fn waiting_flows_keep_their_grace_and_report_after_stale_entries_are_dropped() {
        let l = FlowLimits {
            per_client: 2_000,
            per_source: 2_000,
            total: 2_000,
            ..FlowLimits::default()
        };
        let s = MemoryFlowStore::new(l);
        let (t, a) = (t0(), owner(CLIENT, "192.0.2.42"));
        let ids: Vec<SecretHash> = (0..1_200)
            .map(|i| {
                let id = FlowId::random(&ThreadRandom).hash();
                s.put(&id, &a, &i.to_string(), t + l.ttl, Admission::New, t)
                    .unwrap();
                id
            })
            .collect();
        let expired = t + l.ttl;
        // 1150 taken: the grace queue and the report list hold 1200 entries for 50 flows,
        // more than 1024 beyond twice 50.
        for id in &ids[..1_150] {
            let (_, lateness) = s.take_late(id, expired).unwrap().unwrap();
            assert_eq!(lateness, Lateness::LateUnreported);
        }
        let mut reported: Vec<u32> = s
            .sweep(expired)
            .unwrap()
            .into_iter()
            .map(|f| f.data.parse().unwrap())
            .collect();
        reported.sort_unstable();
        assert_eq!(reported, (1_150..1_200).collect::<Vec<u32>>());
        let almost = expired + l.grace - Duration::from_secs(1);
        let (_, lateness) = s.take_late(&ids[1_150], almost).unwrap().unwrap();
        assert_eq!(lateness, Lateness::Late, "within the grace");
        let past = expired + l.grace;
        for id in &ids[1_151..] {
            assert!(s.take_late(id, past).unwrap().is_none(), "past the grace");
        }
        assert!(s.sweep(past).unwrap().is_empty());
    }

    /// MedMij OAUTH-12 case 5: a flow put again under its id after it expired keeps the grace
    /// of its new expiry, not of the old one.
    #[test]
    fn a_flow_put_again_keeps_the_grace_of_its_new_expiry() {
        let l = small_limits();
        let s = MemoryFlowStore::new(l);
        let (t, a) = (t0(), owner(CLIENT, "192.0.2.43"));
        let id = FlowId::random(&ThreadRandom).hash();
        s.put(&id, &a, "first", t + l.ttl, Admission::New, t)
            .unwrap();
        let again = t + l.ttl + Duration::from_secs(100);
        assert_eq!(s.live(again), 0, "the first one expired");
        s.put(&id, &a, "second", again + l.ttl, Admission::New, again)
            .unwrap();
        // The first expiry's grace is over; the second flow expired just now.
        let at = again + l.ttl;
        assert!(at >= t + l.ttl + l.grace);
        let (f, lateness) = s.take_late(&id, at).unwrap().unwrap();
        assert_eq!(
            (f.data.as_str(), lateness),
            ("second", Lateness::LateUnreported)
        );
    }

    /// MedMij OAUTH-12 case 5: `PendingFlows::resume_late` hands back the value of a flow
    /// that expired within its grace, marked late, for its step to end it; on time before.
    #[test]
    fn pending_flows_resume_a_late_flow() {
        let l = small_limits();
        let flows = PendingFlows::new(MemoryFlowStore::new(l), l);
        assert_eq!(flows.limits(), &l);
        let a = owner(CLIENT, "192.0.2.45");
        let on_time = flows
            .open(&a, &"on time".to_owned(), &ThreadRandom, t0())
            .unwrap();
        let late = flows
            .open(&a, &"late".to_owned(), &ThreadRandom, t0())
            .unwrap();
        let (r, lateness) = flows
            .resume_late::<String>(&on_time, t0())
            .unwrap()
            .unwrap();
        assert_eq!(
            (r.value.as_str(), &r.owner, lateness),
            ("on time", &a, Lateness::OnTime)
        );
        let after = t0() + l.ttl;
        assert!(flows.resume::<String>(&late, after).unwrap().is_none());
        let (r, lateness) = flows.resume_late::<String>(&late, after).unwrap().unwrap();
        assert_eq!(
            (r.value.as_str(), &r.owner, lateness),
            ("late", &a, Lateness::LateUnreported)
        );
        assert!(
            flows.resume_late::<String>(&late, after).unwrap().is_none(),
            "taken once"
        );
    }
}
