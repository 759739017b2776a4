//! The axum adapter end to end (feature `axum`): whole Verzamelen and Delen flows through the
//! ZA GW router, the PGO GW router against it, each OAUTH-12 case with its answer, the flow
//! cookie, bad input that never becomes a 500, and a flood from one source.
#![cfg(feature = "axum")]

mod axum_support;
use axum_support::*;
use medmij_oauth::adapter::*;
use medmij_oauth::*;

mod oauth_11 {
    use super::*;

    /// A whole Verzamelen flow: authorize, login, consent page, code, token, FHIR read; every
    /// step audited as a success with its source address.
    #[tokio::test]
    async fn verzamelen_flow_through_the_router() {
        let (router, audit, _) = memory_za(FlowLimits::default());
        let token = whole_flow(&router, "192.0.2.1", "umcharderwijk~1", "alice").await;
        let r = fetch(&router, "GET", "/fhir/1/Patient", &token, None).await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains(r#""subject":"alice""#), "{}", r.body);
        assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
        let events = audit.all();
        for ep in [
            Endpoint::Authorize,
            Endpoint::Login,
            Endpoint::Consent,
            Endpoint::Token,
            Endpoint::Resource,
        ] {
            assert!(
                events.iter().any(|e| e.endpoint == ep && e.success),
                "no success event for {ep:?}"
            );
        }
        let consent = events.iter().find_map(|e| e.consent.clone()).unwrap();
        assert_eq!(consent.decision, ConsentDecision::Granted);
        assert!(
            events
                .iter()
                .filter(|e| e.endpoint != Endpoint::Token && e.endpoint != Endpoint::Resource)
                .all(|e| e.source.to_string() == "192.0.2.1")
        );
    }

    /// A reload of the consent page (or of the login callback) shows the same page again
    /// without a second login; the flow then completes.
    #[tokio::test]
    async fn consent_page_survives_a_reload() {
        let (router, _, _) = memory_za(FlowLimits::default());
        let (cookie, cb, first) = login(&router, "192.0.2.40", "umcharderwijk~1", "nina").await;
        let action = first.marked("ACTION");
        let again = send(
            &router,
            request("GET", &cb, "192.0.2.40", Some(&cookie), None),
        )
        .await;
        assert_eq!(again.status, 200);
        assert_eq!(again.marked("ACTION"), action);
        let reload = send(
            &router,
            request("GET", &action, "192.0.2.40", Some(&cookie), None),
        )
        .await;
        assert_eq!(reload.status, 200);
        assert_eq!(reload.header("x-frame-options").as_deref(), Some("DENY"));
        let d = decide(&router, "192.0.2.40", &cookie, &action, "yes").await;
        assert_eq!(d.status, 302);
        assert!(param(&d.location(), "code").is_some());
    }

    /// The PGO GW router against the ZA GW router: start, the ZA GW's pages, the redirect,
    /// the token request on the (in-test) back channel, the grant handed to the host.
    #[tokio::test]
    async fn pgo_gateway_against_za_gateway() {
        let (za_router, _, _) = memory_za(FlowLimits::default());
        let (pgo_router, grants, pgo_audit) = pgo_gateway(za_router.clone());
        let mut start = request(
            "GET",
            "/start?scope=umcharderwijk~1",
            "198.51.100.9",
            None,
            None,
        );
        start
            .headers_mut()
            .insert("x-person", "p-77".parse().unwrap());
        let s = send(&pgo_router, start).await;
        assert_eq!(s.status, 302, "{}", s.body);
        let pgo_cookie = s.cookie(PGO_COOKIE).expect("pgo cookie");
        let auth_url = url::Url::parse(&s.location()).unwrap();
        assert_eq!(auth_url.host_str(), Some("za.example.nl"));
        let local = format!("{}?{}", auth_url.path(), auth_url.query().unwrap());
        // The browser at the ZA GW.
        let a = send(
            &za_router,
            request("GET", &local, "198.51.100.9", None, None),
        )
        .await;
        let cookie = a.cookie(ZA_COOKIE).unwrap();
        let cb = format!("{}&person=bob", a.marked("CALLBACK"));
        let c = send(
            &za_router,
            request("GET", &cb, "198.51.100.9", Some(&cookie), None),
        )
        .await;
        let d = decide(
            &za_router,
            "198.51.100.9",
            &cookie,
            &c.marked("ACTION"),
            "yes",
        )
        .await;
        assert_eq!(d.status, 302);
        let back = url::Url::parse(&d.location()).unwrap();
        assert_eq!(back.path(), "/redirect");
        let local = format!("/redirect?{}", back.query().unwrap());
        // A redirect without the PGO cookie is refused (another browser).
        let x = send(
            &pgo_router,
            request("GET", &local, "203.0.113.1", None, None),
        )
        .await;
        assert_eq!(x.status, 400);
        let r = send(
            &pgo_router,
            request("GET", &local, "198.51.100.9", Some(&pgo_cookie), None),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let got = grants.lock().unwrap().clone();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, "p-77");
        assert_eq!(got[0].1.scope.as_str(), "umcharderwijk~1");
        assert!(
            pgo_audit
                .all()
                .iter()
                .any(|e| e.endpoint == Endpoint::Redirect && e.success)
        );
        // The flow is finished: the same redirect again is refused.
        let again = send(
            &pgo_router,
            request("GET", &local, "198.51.100.9", Some(&pgo_cookie), None),
        )
        .await;
        assert_eq!(again.status, 400);
    }
}

mod oauth_13 {
    use super::*;

    /// A whole Delen flow: the token writes (POST), and cannot read.
    #[tokio::test]
    async fn delen_flow_through_the_router() {
        let (router, _, fhir) = memory_za(FlowLimits::default());
        let token = whole_flow(&router, "192.0.2.2", "umcharderwijk~48", "carol").await;
        let body = r#"{"resourceType":"Bundle","type":"transaction"}"#;
        let w = fetch(&router, "POST", "/fhir/48/Bundle", &token, Some(body)).await;
        assert_eq!(w.status, 201, "{}", w.body);
        assert_eq!(fhir.written.lock().unwrap().as_slice(), [body.to_owned()]);
        let r = fetch(&router, "GET", "/fhir/48/Bundle", &token, None).await;
        assert_eq!(r.status, 401, "a Delen token does not read");
    }

    /// Every resource event names its interaction (read or write), refusals included; a
    /// Lezer's refusal (4xx, 5xx) is sent as it is and audited as a refusal with the
    /// OperationOutcome's words, a 5xx as OAUTH-12 case 8 (LOG-1).
    #[tokio::test]
    async fn a_lezers_refusal_is_audited_as_a_refusal_with_its_interaction() {
        let (router, audit, fhir) = memory_za(FlowLimits::default());
        let token = whole_flow(&router, "192.0.2.2", "umcharderwijk~48", "carol").await;
        let body = r#"{"resourceType":"Bundle","type":"transaction"}"#;
        for (path, status, case) in [
            ("/fhir/48/refuse/Bundle", 422, None),
            ("/fhir/48/unavailable/Bundle", 503, Some(8)),
        ] {
            let w = fetch(&router, "POST", path, &token, Some(body)).await;
            assert_eq!(w.status, status, "{}", w.body);
            assert!(w.body.contains("OAUTH-16"), "{}", w.body);
            let e = audit.all().pop().unwrap();
            assert_eq!(e.endpoint, Endpoint::Resource);
            assert!(!e.success, "{e:?}");
            assert_eq!(e.case, case);
            assert_eq!(e.interaction, Some(Interaction::Write));
            assert!(e.detail.contains("OAUTH-16"), "{}", e.detail);
            assert!(e.detail.contains(&format!("HTTP {status}")), "{}", e.detail);
        }
        assert!(fhir.written.lock().unwrap().is_empty());
        let r = fetch(&router, "GET", "/fhir/48/Bundle", &token, None).await;
        assert_eq!(r.status, 401);
        let e = audit.all().pop().unwrap();
        assert_eq!((e.success, e.case), (false, Some(7)));
        assert_eq!(e.interaction, Some(Interaction::Read));
        let w = fetch(&router, "POST", "/fhir/48/Bundle", &token, Some(body)).await;
        assert_eq!(w.status, 201);
        let e = audit.all().pop().unwrap();
        assert!(e.success);
        assert_eq!(e.interaction, Some(Interaction::Write));
        assert!(
            audit
                .all()
                .iter()
                .all(|e| (e.endpoint == Endpoint::Resource) == e.interaction.is_some())
        );
    }
}

mod oauth_12 {
    use super::*;

    /// Every default page tells the person what happened in plain Dutch and English, as an
    /// HTML page of its own (MedMij OAUTH-12: never a bare status), with its link back where
    /// it has one, HTML-escaped.
    #[test]
    fn default_pages_tell_the_person_in_dutch_and_english() {
        struct Said;
        impl PersonMessage for Said {
            fn message_nl(&self) -> &'static str {
                "Het ophalen is niet gelukt."
            }
            fn message_en(&self) -> &'static str {
                "Collecting did not work."
            }
        }
        let p = DefaultPages;
        let busy = Busy::new(FlowLimit::PerSource, 8, std::time::Duration::from_secs(60));
        let back = "https://pgo.example.nl/redirect?error=access_denied&state=s";
        let pages: [(&str, String, &str, &str); 6] = [
            ("busy", p.busy(&busy), busy.message_nl(), busy.message_en()),
            ("flow_unknown", p.flow_unknown(), "verlopen", "expired"),
            (
                "unavailable",
                p.unavailable(),
                "Er ging iets mis",
                "went wrong",
            ),
            (
                "not_eligible",
                p.not_eligible(back),
                PersonRefusal::UnderMinimumAge.message_nl(),
                PersonRefusal::UnderMinimumAge.message_en(),
            ),
            (
                "problem",
                p.problem(&Said),
                Said.message_nl(),
                Said.message_en(),
            ),
            (
                "management_not_offered",
                p.management_not_offered(),
                "Toestemmingen beheren kan hier niet",
                "Consents cannot be managed here",
            ),
        ];
        for (name, page, nl, en) in pages {
            assert!(page.starts_with("<!doctype html>"), "{name}: {page}");
            assert!(page.ends_with("</body></html>"), "{name}: {page}");
            assert!(page.contains(nl), "{name}: {page}");
            assert!(page.contains(en), "{name}: {page}");
        }
        let not_eligible = p.not_eligible(back);
        assert!(
            not_eligible.contains(
                "<a href=\"https://pgo.example.nl/redirect?error=access_denied&amp;state=s\">Terug naar uw PGO</a>"
            ),
            "{not_eligible}"
        );
    }

    /// A flow store that is down is answered with 503 and `Retry-After: 1` and the
    /// unavailable page, never a 500, and the refusal is audited; once it is back, a
    /// person's flow completes.
    #[tokio::test]
    async fn a_flow_store_that_is_down_is_a_503_with_retry_after() {
        let limits = FlowLimits::default();
        let flows = SwitchableFlows::new(limits);
        let (router, audit, _) =
            za_gateway(MemoryStore::new(), PendingFlows::new(flows.clone(), limits));
        let unavailable = |a: &Answer, step: &str| {
            assert_eq!(a.status, 503, "{step}: {}", a.body);
            assert_eq!(a.header("retry-after").as_deref(), Some("1"), "{step}");
            assert_eq!(a.body, DefaultPages.unavailable(), "{step}");
        };
        // Down between the first step and the login.
        let a = send(
            &router,
            request(
                "GET",
                &authorize_uri("umcharderwijk~1", "st-1"),
                "192.0.2.16",
                None,
                None,
            ),
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.body);
        let cookie = a.cookie(ZA_COOKIE).expect("flow cookie");
        let callback = format!("{}&person=ann", a.marked("CALLBACK"));
        flows.set_down(true);
        let c = send(
            &router,
            request("GET", &callback, "192.0.2.16", Some(&cookie), None),
        )
        .await;
        unavailable(&c, "login");
        assert!(
            audit
                .all()
                .iter()
                .any(|e| !e.success && e.detail.contains("flow store unavailable")),
            "audited"
        );
        // Down at the first step.
        let a = send(
            &router,
            request(
                "GET",
                &authorize_uri("umcharderwijk~1", "st-2"),
                "192.0.2.16",
                None,
                None,
            ),
        )
        .await;
        assert_eq!(a.status, 503, "{}", a.body);
        assert!(a.header("retry-after").is_some());
        // Down between the consent page and the decision.
        flows.set_down(false);
        let (cookie, action) = to_consent(&router, "192.0.2.16", "umcharderwijk~1", "ann").await;
        flows.set_down(true);
        let d = decide(&router, "192.0.2.16", &cookie, &action, "yes").await;
        unavailable(&d, "decision");
        flows.set_down(false);
        let token = whole_flow(&router, "192.0.2.16", "umcharderwijk~1", "ann").await;
        assert_eq!(
            fetch(&router, "GET", "/fhir/1/Patient", &token, None)
                .await
                .status,
            200
        );
    }

    /// The PGO GW's flow store down at the start or at the redirect back: 503 with
    /// `Retry-After: 1` and the unavailable page, never a 500, audited.
    #[tokio::test]
    async fn the_pgo_gateways_flow_store_down_is_a_503_with_retry_after() {
        let (za_router, _, _) = memory_za(FlowLimits::default());
        let limits = FlowLimits::default();
        let flows = SwitchableFlows::new(limits);
        let (pgo_router, grants, audit) =
            pgo_gateway_on(za_router.clone(), PendingFlows::new(flows.clone(), limits));
        let start = || {
            let mut r = request(
                "GET",
                "/start?scope=umcharderwijk~1",
                "198.51.100.10",
                None,
                None,
            );
            r.headers_mut().insert("x-person", "p-78".parse().unwrap());
            r
        };
        flows.set_down(true);
        let s = send(&pgo_router, start()).await;
        assert_eq!(s.status, 503, "{}", s.body);
        assert_eq!(s.header("retry-after").as_deref(), Some("1"));
        assert_eq!(s.body, DefaultPages.unavailable());
        flows.set_down(false);
        let s = send(&pgo_router, start()).await;
        assert_eq!(s.status, 302, "{}", s.body);
        let pgo_cookie = s.cookie(PGO_COOKIE).expect("pgo cookie");
        let local = at_za(&za_router, &s.location(), "198.51.100.10", "yes").await;
        flows.set_down(true);
        let r = send(
            &pgo_router,
            request("GET", &local, "198.51.100.10", Some(&pgo_cookie), None),
        )
        .await;
        assert_eq!(r.status, 503, "{}", r.body);
        assert_eq!(r.header("retry-after").as_deref(), Some("1"));
        assert_eq!(r.body, DefaultPages.unavailable());
        assert!(grants.lock().unwrap().is_empty());
        let refused: Vec<_> = audit
            .all()
            .into_iter()
            .filter(|e| !e.success && e.detail.contains("flow store unavailable"))
            .map(|e| e.endpoint)
            .collect();
        assert!(refused.contains(&Endpoint::Redirect), "{refused:?}");
    }

    /// A ZA GW on a clock the test moves, with the default limits (ttl and grace 900 s).
    fn clocked() -> (
        TestZa<MemoryStore, MemoryFlowStore>,
        TestAudit,
        std::sync::Arc<std::sync::atomic::AtomicU64>,
    ) {
        clocked_sweeping(ZaSettings::default().sweep_interval)
    }

    /// As [`clocked`], with the admission sweep at most every `sweep_interval`.
    fn clocked_sweeping(
        sweep_interval: std::time::Duration,
    ) -> (
        TestZa<MemoryStore, MemoryFlowStore>,
        TestAudit,
        std::sync::Arc<std::sync::atomic::AtomicU64>,
    ) {
        use std::sync::atomic::Ordering;
        use std::time::{Duration, SystemTime};
        let offset = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let o = offset.clone();
        let clock =
            Clock::new(move || SystemTime::now() + Duration::from_secs(o.load(Ordering::Relaxed)));
        let limits = FlowLimits::default();
        let settings = ZaSettings {
            clock,
            sweep_interval,
            ..ZaSettings::default()
        };
        let flows = PendingFlows::new(MemoryFlowStore::new(limits), limits);
        let (gw, audit) = za_gateway_gw(MemoryStore::new(), flows, settings);
        (gw, audit, offset)
    }

    /// MedMij OAUTH-12 case 5, LOG-1: over an hour of traffic, every flow a person opened and
    /// abandoned is audited exactly once as `Endpoint::FlowExpired` (case 5, with its client
    /// and source), whether the sweep at a new flow, `ZaGateway::expire_flows` or the late
    /// step that ends it found it; a late step within the grace gets the case 5 redirect, one
    /// after the grace the unknown-flow page; the abandoned flows never turn anyone away.
    #[tokio::test]
    async fn every_abandoned_flow_is_audited_once() {
        use std::sync::atomic::Ordering;
        let (gw, audit, offset) = clocked();
        let router = gw.router();
        // 24 flows, one every 150 s from its own address, all left on the consent page.
        let mut left = Vec::new();
        for i in 0..24u64 {
            offset.store(150 * i, Ordering::Relaxed);
            let source = format!("192.0.2.{}", 100 + i);
            let (cookie, action) = to_consent(&router, &source, "umcharderwijk~1", "mo").await;
            left.push((source, cookie, action));
        }
        // Flow 20 (opened at 3000 s) comes back late within its grace (at 4000 s, expired at
        // 3900 s): case 5 redirect, and (not swept yet) its one report.
        offset.store(4000, Ordering::Relaxed);
        let (source, cookie, action) = &left[20];
        let late = decide(&router, source, cookie, action, "yes").await;
        assert_eq!(late.status, 302, "{}", late.body);
        assert_eq!(
            param(&late.location(), "error").as_deref(),
            Some("access_denied")
        );
        assert!(param(&late.location(), "code").is_none());
        // Flow 21 (expired at 4050 s) is reported by the sweep, then comes back within its
        // grace: case 5 again, not reported twice.
        offset.store(4100, Ordering::Relaxed);
        let swept = gw.expire_flows().await;
        assert!(swept >= 1, "{swept}");
        let (source, cookie, action) = &left[21];
        let late = decide(&router, source, cookie, action, "yes").await;
        assert_eq!(late.status, 302, "{}", late.body);
        assert_eq!(
            param(&late.location(), "error").as_deref(),
            Some("access_denied")
        );
        // Flow 0 (expired at 900 s, grace over at 1800 s) is unknown: a page, no redirect.
        let (source, cookie, action) = &left[0];
        let gone = decide(&router, source, cookie, action, "yes").await;
        assert_eq!(gone.status, 400, "{}", gone.body);
        assert!(gone.header("location").is_none());
        // Much later, with the last sweep done by a new flow's admission (which succeeds:
        // expired flows do not count) every abandoned flow has exactly one report.
        offset.store(10_000, Ordering::Relaxed);
        let (c, a) = to_consent(&router, "198.51.100.1", "umcharderwijk~1", "mo").await;
        let d = decide(&router, "198.51.100.1", &c, &a, "yes").await;
        assert!(param(&d.location(), "code").is_some());
        assert_eq!(gw.expire_flows().await, 0, "all reported already");
        let events = expiries(&audit);
        let mut sources: Vec<String> = events.iter().map(|e| e.source.to_string()).collect();
        sources.sort();
        let mut want: Vec<String> = left.iter().map(|(s, _, _)| s.clone()).collect();
        want.sort();
        assert_eq!(sources, want, "each abandoned flow once");
        for e in &events {
            assert_eq!((e.success, e.case), (false, Some(5)));
            assert_eq!(e.client_id.as_ref().map(ClientId::as_str), Some(PGO));
            assert!(e.detail.contains("consent page"), "{}", e.detail);
            assert_eq!(e.subject.as_ref().map(Subject::as_str), Some("mo"));
        }
    }

    /// Opens a flow from `source`; it must be admitted.
    async fn open(router: &axum::Router, source: &str, state: &str) {
        let uri = authorize_uri("umcharderwijk~1", state);
        let a = send(router, request("GET", &uri, source, None, None)).await;
        assert_eq!(a.status, 200, "{}", a.body);
    }

    /// MedMij OAUTH-12 case 5, LOG-1: a new flow sweeps for abandoned ones only when
    /// `ZaSettings::sweep_interval` has passed since the last sweep (one database round trip
    /// less per flow under load), `ZaGateway::expire_flows` sweeps whenever called, and each
    /// abandoned flow is still reported exactly once.
    #[tokio::test]
    async fn the_admission_sweep_runs_at_most_once_per_interval() {
        use std::sync::atomic::Ordering;
        let (gw, audit, offset) = clocked_sweeping(std::time::Duration::from_secs(3600));
        let router = gw.router();
        // t = 0: the first admission sweeps (nothing to report) and is left.
        open(&router, "192.0.2.150", "a").await;
        // t = 901: the first flow has expired, but the last sweep was 901 s ago (< 3600 s).
        offset.store(901, Ordering::Relaxed);
        open(&router, "192.0.2.151", "b").await;
        assert!(expiries(&audit).is_empty(), "not swept within the interval");
        // A host's timer sweeps regardless.
        assert_eq!(gw.expire_flows().await, 1);
        assert_eq!(expiries(&audit).len(), 1);
        // t = 3601: due again; the second flow (expired at 1801 s) is reported by this
        // admission, the first not again.
        offset.store(3601, Ordering::Relaxed);
        open(&router, "192.0.2.152", "c").await;
        let sources: Vec<String> = expiries(&audit)
            .iter()
            .map(|e| e.source.to_string())
            .collect();
        assert_eq!(sources, ["192.0.2.150", "192.0.2.151"]);
        // t = 3602: within the interval again, and the forced sweep finds nothing new.
        offset.store(3602, Ordering::Relaxed);
        open(&router, "192.0.2.153", "d").await;
        assert_eq!(gw.expire_flows().await, 0);
        assert_eq!(expiries(&audit).len(), 2);
    }

    /// A clock set back behind the last sweep makes the next admission sweep at once and
    /// start the interval anew from there (never an overflow, never a sweep put off for the
    /// time the clock went back): an abandoned flow is still reported (MedMij OAUTH-12 case
    /// 5, LOG-1) one interval after the set-back.
    #[tokio::test]
    async fn a_clock_set_back_restarts_the_sweep_interval() {
        use std::sync::atomic::Ordering;
        let (gw, audit, offset) = clocked_sweeping(std::time::Duration::from_secs(3600));
        let router = gw.router();
        // t = 5000: the first admission sweeps; its flow expires at 5900.
        offset.store(5000, Ordering::Relaxed);
        open(&router, "192.0.2.160", "a").await;
        // The clock goes back 4000 s: the admission at t = 1000 sweeps (nothing expired).
        offset.store(1000, Ordering::Relaxed);
        open(&router, "192.0.2.161", "b").await;
        assert!(expiries(&audit).is_empty());
        // t = 5901 is 4901 s after that sweep: due, and both flows are reported, in the
        // order they expired (the second at 1900, the first at 5900).
        offset.store(5901, Ordering::Relaxed);
        open(&router, "192.0.2.162", "c").await;
        let sources: Vec<String> = expiries(&audit)
            .iter()
            .map(|e| e.source.to_string())
            .collect();
        assert_eq!(sources, ["192.0.2.161", "192.0.2.160"]);
    }

    /// MedMij OAUTH-12 case 5, OAUTH-14: one address keeps opening flows and abandoning them;
    /// its expired flows never count toward its per-source limit.
    #[tokio::test]
    async fn abandoned_flows_do_not_block_admission() {
        use std::sync::atomic::Ordering;
        let (gw, audit, offset) = clocked();
        let router = gw.router();
        // 3 × the per-source limit (16), 16 at a time, each batch left to expire.
        for batch in 0..3u64 {
            offset.store(batch * 1000, Ordering::Relaxed);
            for _ in 0..16 {
                let a = send(
                    &router,
                    request(
                        "GET",
                        &authorize_uri("umcharderwijk~1", "st-1"),
                        "192.0.2.77",
                        None,
                        None,
                    ),
                )
                .await;
                assert_eq!(a.status, 200, "batch {batch}: {}", a.body);
            }
        }
        offset.store(5000, Ordering::Relaxed);
        assert_eq!(gw.expire_flows().await, 16, "the last batch");
        let events = expiries(&audit);
        assert_eq!(events.len(), 48);
        assert!(events.iter().all(|e| e.detail.contains("authenticating")));
    }

    fn error_of(a: &Answer) -> (String, Option<String>) {
        assert_eq!(a.status, 302, "{}", a.body);
        let l = a.location();
        assert!(l.starts_with(REDIRECT));
        assert_eq!(param(&l, "state").as_deref(), Some("st-1"));
        (param(&l, "error").unwrap(), param(&l, "error_description"))
    }

    #[tokio::test]
    async fn case_1_invalid_request_is_a_page_not_a_redirect() {
        let (router, audit, _) = memory_za(FlowLimits::default());
        let uri =
            authorize_uri("umcharderwijk~1", "s").replace("pgo.example.nl%2F", "evil.example%2F");
        let a = send(&router, request("GET", &uri, "192.0.2.3", None, None)).await;
        assert_eq!(a.status, 400);
        assert!(a.header("location").is_none());
        assert!(a.header("content-type").unwrap().starts_with("text/html"));
        assert!(a.body.contains("redirect_uri"), "{}", a.body);
        assert_eq!(audit.with_case(1).len(), 1);
        assert_eq!(audit.with_case(1)[0].source.to_string(), "192.0.2.3");
    }

    #[tokio::test]
    async fn case_2_identity_not_established() {
        let (router, audit, _) = memory_za(FlowLimits::default());
        let (_cookie, _, r) = login(&router, "192.0.2.4", "umcharderwijk~1", "fail").await;
        assert_eq!(error_of(&r), ("unauthorized_client".into(), None));
        assert_eq!(audit.with_case(2).len(), 1);
    }

    #[tokio::test]
    async fn case_3_no_such_resources() {
        let (router, audit, _) = memory_za(FlowLimits::default());
        let (_cookie, _, r) = login(&router, "192.0.2.5", "umcharderwijk~1", "nodata").await;
        assert_eq!(
            error_of(&r),
            ("access_denied".into(), Some("No such resources.".into()))
        );
        assert_eq!(audit.with_case(3).len(), 1);
    }

    #[tokio::test]
    async fn case_4_refusal_is_logged_and_redirected() {
        let (router, audit, _) = memory_za(FlowLimits::default());
        let (cookie, action) = to_consent(&router, "192.0.2.6", "umcharderwijk~1", "dave").await;
        let r = decide(&router, "192.0.2.6", &cookie, &action, "no").await;
        assert_eq!(
            error_of(&r),
            ("access_denied".into(), Some("Authorization denied.".into()))
        );
        let refused = audit.with_case(4);
        assert_eq!(refused.len(), 1);
        assert_eq!(
            refused[0].consent.as_ref().unwrap().decision,
            ConsentDecision::Refused
        );
    }

    #[tokio::test]
    async fn case_5_undetermined_answer_or_broken_check() {
        let (router, audit, _) = memory_za(FlowLimits::default());
        let (cookie, action) = to_consent(&router, "192.0.2.7", "umcharderwijk~1", "erin").await;
        let r = decide(&router, "192.0.2.7", &cookie, &action, "maybe").await;
        let failed = ("access_denied".into(), Some("Authorization failed.".into()));
        assert_eq!(error_of(&r), failed);
        // The availability check cannot answer: case 5 as well.
        let (_cookie, _, r) = login(&router, "192.0.2.7", "umcharderwijk~1", "broken").await;
        assert_eq!(error_of(&r), failed);
        assert_eq!(audit.with_case(5).len(), 2);
    }

    /// The consent page cannot be made (ConsentUi::try_render fails): the answer cannot be
    /// established, so case 5, audited with the reason; the flow is over.
    #[tokio::test]
    async fn case_5_when_the_consent_page_cannot_be_made() {
        let (router, audit, _) = memory_za(FlowLimits::default());
        let (cookie, cb, r) = login(&router, "192.0.2.17", "umcharderwijk~1", "nopage").await;
        let failed = ("access_denied".into(), Some("Authorization failed.".into()));
        assert_eq!(error_of(&r), failed);
        let case5 = audit.with_case(5);
        assert_eq!(case5.len(), 1, "{case5:?}");
        assert!(
            case5[0].detail.contains("consent page could not be made"),
            "{}",
            case5[0].detail
        );
        assert!(
            case5[0].detail.contains("no GNL name"),
            "{}",
            case5[0].detail
        );
        // Nothing left to continue: the callback again finds no flow.
        let again = send(
            &router,
            request("GET", &cb, "192.0.2.17", Some(&cookie), None),
        )
        .await;
        assert_eq!(again.status, 400);
    }

    #[tokio::test]
    async fn case_6_replayed_code_is_invalid_grant_and_revokes() {
        let (router, audit, _) = memory_za(FlowLimits::default());
        let (cookie, action) = to_consent(&router, "192.0.2.8", "umcharderwijk~1", "fay").await;
        let d = decide(&router, "192.0.2.8", &cookie, &action, "yes").await;
        let code = param(&d.location(), "code").unwrap();
        let t = redeem(&router, &code, Some(PGO)).await;
        assert_eq!(t.status, 200);
        let token: serde_json::Value = serde_json::from_str(&t.body).unwrap();
        let again = redeem(&router, &code, Some(PGO)).await;
        assert_eq!(again.status, 400);
        assert!(again.body.contains("invalid_grant"));
        let replays = audit.with_case(6);
        assert_eq!(replays.len(), 1);
        assert_eq!(replays[0].detail, "code replayed (OAUTH-8 breach)");
        let r = fetch(
            &router,
            "GET",
            "/fhir/1/Patient",
            token["access_token"].as_str().unwrap(),
            None,
        )
        .await;
        assert_eq!(r.status, 401, "the replay revoked the token (OAUTH-8)");
    }

    #[tokio::test]
    async fn case_7_bad_token_is_suppressed() {
        let (router, audit, _) = memory_za(FlowLimits::default());
        let r = fetch(&router, "GET", "/fhir/1/Patient", "not-a-token", None).await;
        assert_eq!(r.status, 401);
        assert!(r.body.contains("suppressed"), "{}", r.body);
        let r = fetch(
            &router,
            "GET",
            "/fhir/1/Patient",
            "0f8fad5b-d9cb-469f-a165-70867728950e",
            None,
        )
        .await;
        assert_eq!(r.status, 401);
        assert_eq!(audit.with_case(7).len(), 2);
    }

    #[tokio::test]
    async fn case_8_back_end_cannot_deliver() {
        let (router, audit, _) = memory_za(FlowLimits::default());
        let token = whole_flow(&router, "192.0.2.9", "umcharderwijk~1", "gus").await;
        let r = fetch(&router, "GET", "/fhir/1/broken", &token, None).await;
        assert_eq!(r.status, 503);
        assert!(r.body.contains("incomplete"), "{}", r.body);
        assert_eq!(audit.with_case(8).len(), 1);
    }

    /// Bad input never becomes a 500: empty parameters, no parameters, a bad Content-Type, a
    /// port 99999, garbage flow ids and bodies, no client certificate.
    #[tokio::test]
    async fn bad_input_never_500() {
        let (router, audit, _) = memory_za(FlowLimits::default());
        let port = authorize_uri("umcharderwijk~1", "s").replace(
            "pgo.example.nl%2Fredirect",
            "pgo.example.nl%3A99999%2Fredirect",
        );
        let empty = "/authorize?response_type=&client_id=&redirect_uri=&scope=&state=";
        for uri in [
            "/authorize",
            "/authorize?",
            empty,
            &port,
            "/authorize?%ff%fe=%00",
        ] {
            let a = send(&router, request("GET", uri, "192.0.2.10", None, None)).await;
            assert_eq!(a.status, 400, "{uri}");
            assert!(a.header("location").is_none());
        }
        for uri in [
            "/authorize/login",
            "/authorize/login?flow=",
            "/authorize/login?flow=x&flow=y",
            "/authorize/login?flow=0f8fad5b-d9cb-469f-a165-70867728950e",
        ] {
            let a = send(
                &router,
                request("GET", uri, "192.0.2.10", Some("x=y"), None),
            )
            .await;
            assert_eq!(a.status, 400, "{uri}");
        }
        let bad_ct = request(
            "POST",
            "/authorize/consent?flow=zz",
            "192.0.2.10",
            None,
            Some(("text/plain", "\u{0}")),
        );
        assert_eq!(send(&router, bad_ct).await.status, 400);
        // Token endpoint: bad Content-Type, empty body, no certificate.
        let mut t = request(
            "POST",
            "/token",
            "192.0.2.11",
            None,
            Some(("application/json", "{}")),
        );
        t.extensions_mut()
            .insert(MtlsClient(ClientId::new(PGO).unwrap()));
        let a = send(&router, t).await;
        assert_eq!(a.status, 400);
        assert!(a.body.contains("invalid_request"));
        let mut t = request(
            "POST",
            "/token",
            "192.0.2.11",
            None,
            Some((FORM_CONTENT_TYPE, "")),
        );
        t.extensions_mut()
            .insert(MtlsClient(ClientId::new(PGO).unwrap()));
        assert_eq!(send(&router, t).await.status, 400);
        let a = redeem(&router, "0f8fad5b-d9cb-469f-a165-70867728950e", None).await;
        assert_eq!(a.status, 401);
        assert!(a.body.contains("invalid_client"));
        let a = send(
            &router,
            request("GET", "/fhir/%ff/..", "192.0.2.11", None, None),
        )
        .await;
        assert_eq!(a.status, 401);
        // Every refusal was audited.
        assert!(audit.all().iter().filter(|e| !e.success).count() >= 14);
    }

    /// A flow id without its cookie (or with another flow's cookie) is refused, and the
    /// person's flow survives it.
    #[tokio::test]
    async fn flow_id_without_the_cookie_is_refused() {
        let (router, audit, _) = memory_za(FlowLimits::default());
        let a = send(
            &router,
            request(
                "GET",
                &authorize_uri("umcharderwijk~1", "st-1"),
                "192.0.2.12",
                None,
                None,
            ),
        )
        .await;
        let cookie = a.cookie(ZA_COOKIE).unwrap();
        let cb = format!("{}&person=hal", a.marked("CALLBACK"));
        let stranger = send(&router, request("GET", &cb, "203.0.113.5", None, None)).await;
        assert_eq!(stranger.status, 400);
        assert!(stranger.header("location").is_none());
        let other = format!("{ZA_COOKIE}=0f8fad5b-d9cb-469f-a165-70867728950e");
        let wrong = send(
            &router,
            request("GET", &cb, "203.0.113.5", Some(&other), None),
        )
        .await;
        assert_eq!(wrong.status, 400);
        assert!(
            audit
                .all()
                .iter()
                .any(|e| e.detail.contains("cookie") && !e.success)
        );
        // The person's own browser continues.
        let c = send(
            &router,
            request("GET", &cb, "192.0.2.12", Some(&cookie), None),
        )
        .await;
        assert_eq!(c.status, 200, "{}", c.body);
    }

    /// `Session::fail` ends any unfinished session as case 5; a finished one is an error.
    #[test]
    fn session_fail_is_case_5_once() {
        let server = AuthorizationServer::new(config(), ocl(), MemoryStore::new());
        let query = authorize_uri("umcharderwijk~1", "st-1");
        let mut s = server
            .authorize(query.trim_start_matches("/authorize?"))
            .unwrap();
        assert!(s.subject().is_none());
        s.authenticated(Authentication::Established(Subject::new("kim").unwrap()))
            .unwrap();
        assert_eq!(s.subject().map(Subject::as_str), Some("kim"));
        let r = s.fail().unwrap();
        assert_eq!(r.case_number(), Some(5));
        assert!(r.location().contains("Authorization+failed."));
        assert!(s.fail().is_err());
        assert!(s.subject().is_none());
    }

    /// Host-made answers never carry a 500 (MedMij OAUTH-12).
    #[test]
    fn host_answers_never_500() {
        assert_eq!(HttpResponse::page(500, String::new()).status(), 503);
        assert_eq!(HttpResponse::page(1000, String::new()).status(), 503);
        assert_eq!(HttpResponse::fhir(500, String::new()).status(), 503);
        assert_eq!(HttpResponse::fhir(201, "{}".into()).status(), 201);
        let page = HttpResponse::page(400, "<p>x</p>".into());
        assert_eq!(page.header("X-Frame-Options"), Some("DENY"));
        let store_failure = HttpResponse::from(TokenResponse::Error {
            error: TokenErrorCode::ServerError,
            description: "store down",
        });
        assert_eq!(store_failure.status(), 500);
        let sent = store_failure.without_500();
        assert_eq!(sent.status(), 503);
        assert_eq!(sent.header("Retry-After"), Some("1"));
    }

    /// A large write without a valid token is refused as case 7 before its body is read.
    #[tokio::test]
    async fn anonymous_large_write_is_case_7() {
        let (router, audit, fhir) = memory_za(FlowLimits::default());
        let big = "x".repeat(8 * 1024 * 1024);
        let r = fetch(
            &router,
            "POST",
            "/fhir/48/Bundle",
            "not-a-token",
            Some(&big),
        )
        .await;
        assert_eq!(r.status, 401);
        assert!(fhir.written.lock().unwrap().is_empty());
        assert_eq!(audit.with_case(7).len(), 1);
        // With a valid Delen token, an over-limit body is case 8, not a 500.
        let token = whole_flow(&router, "192.0.2.14", "umcharderwijk~48", "lou").await;
        let r = fetch(&router, "POST", "/fhir/48/Bundle", &token, Some(&big)).await;
        assert_eq!(r.status, 503);
        assert!(fhir.written.lock().unwrap().is_empty());
    }
}

mod oauth_14 {
    use super::*;

    /// A bounded flood from one source hits the per-source limit (429 Too Many Requests with
    /// Retry-After, never 500) while another source's flow completes; a full client quota is
    /// 503.
    #[tokio::test]
    async fn flood_from_one_source_while_another_completes() {
        let limits = FlowLimits {
            per_source: 8,
            ..FlowLimits::default()
        };
        let (router, audit, _) = memory_za(limits);
        let flood = {
            let router = router.clone();
            tokio::spawn(async move {
                let mut busy = 0;
                for i in 0..200 {
                    let uri = authorize_uri("umcharderwijk~1", &format!("f{i}"));
                    let a = send(&router, request("GET", &uri, "203.0.113.66", None, None)).await;
                    match a.status {
                        200 => {}
                        429 => {
                            assert!(a.header("retry-after").is_some());
                            busy += 1;
                        }
                        s => panic!("unexpected {s}"),
                    }
                }
                busy
            })
        };
        let token = whole_flow(&router, "192.0.2.13", "umcharderwijk~1", "ivy").await;
        let r = fetch(&router, "GET", "/fhir/1/Patient", &token, None).await;
        assert_eq!(r.status, 200);
        let busy = flood.await.unwrap();
        assert_eq!(busy, 192, "exactly the per-source figure got through");
        assert_eq!(
            audit
                .all()
                .iter()
                .filter(|e| !e.success && e.detail.contains("address"))
                .count(),
            192
        );
        // The client's quota, not the source's: 503 (the gateway is short of room for it).
        let limits = FlowLimits {
            per_client: 2,
            ..FlowLimits::default()
        };
        let (router, _, _) = memory_za(limits);
        let mut statuses = Vec::new();
        for i in 0..3 {
            let uri = authorize_uri("umcharderwijk~1", &format!("c{i}"));
            let source = format!("198.51.100.{i}");
            let a = send(&router, request("GET", &uri, &source, None, None)).await;
            statuses.push(a.status);
        }
        assert_eq!(statuses, [200, 200, 503]);
    }

    /// The default body limits let every lawful request through (MedMij OAUTH-14 bounds
    /// resources, never a person's flow): a token request padded to the core's own bound of
    /// `MAX_REQUEST_LEN` bytes still reaches the core and gets its token
    /// (`DEFAULT_BODY_LIMIT`, 16 KiB, is twice that), and a FHIR write of exactly
    /// `DEFAULT_FHIR_BODY_LIMIT` bytes (4 MiB) is written; one byte more is refused before
    /// the host sees it (503, never a 500).
    #[tokio::test]
    async fn the_default_body_limits_let_lawful_requests_through() {
        assert_eq!(DEFAULT_BODY_LIMIT, 16 * 1024);
        assert_eq!(DEFAULT_BODY_LIMIT, 2 * MAX_REQUEST_LEN);
        let (router, _, fhir) = memory_za(FlowLimits::default());
        let (cookie, action) = to_consent(&router, "192.0.2.15", "umcharderwijk~48", "max").await;
        let d = decide(&router, "192.0.2.15", &cookie, &action, "yes").await;
        assert_eq!(d.status, 302, "{}", d.body);
        let code = param(&d.location(), "code").expect("code");
        let mut body = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", &code)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("client_id", PGO)
            .append_pair("padding", "")
            .finish();
        body.push_str(&"x".repeat(MAX_REQUEST_LEN - body.len()));
        assert_eq!(body.len(), MAX_REQUEST_LEN);
        let mut r = request(
            "POST",
            "/token",
            "192.0.2.200",
            None,
            Some((FORM_CONTENT_TYPE, &body)),
        );
        r.extensions_mut()
            .insert(MtlsClient(ClientId::new(PGO).unwrap()));
        let t = send(&router, r).await;
        assert_eq!(t.status, 200, "{}", t.body);
        let json: serde_json::Value = serde_json::from_str(&t.body).unwrap();
        let token = json["access_token"].as_str().unwrap();
        // The documented figure, written out: a test that used the constant would follow a
        // changed default.
        assert_eq!(DEFAULT_FHIR_BODY_LIMIT, 4 * 1024 * 1024);
        let write = "x".repeat(4 * 1024 * 1024);
        let w = fetch(&router, "POST", "/fhir/48/Bundle", token, Some(&write)).await;
        assert!(w.status < 300, "{} {}", w.status, w.body);
        assert_eq!(fhir.written.lock().unwrap().len(), 1);
        let over = "x".repeat(4 * 1024 * 1024 + 1);
        let w = fetch(&router, "POST", "/fhir/48/Bundle", token, Some(&over)).await;
        assert_eq!(w.status, 503);
        assert_eq!(
            fhir.written.lock().unwrap().len(),
            1,
            "not handed to the host"
        );
    }
}

mod oauth_7 {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, SystemTime};

    /// The routers take the time from the settings' clock: an answer to a flow left past its
    /// 900 s ends it as OAUTH-12 case 5 (a flow abandoned after it started: redirect with
    /// `access_denied` "Authorization failed.", audited, nothing issued), and a code presented
    /// after 900 s is `invalid_grant`.
    #[tokio::test]
    async fn flows_and_codes_expire_on_the_routers_clock() {
        let offset = Arc::new(AtomicU64::new(0));
        let o = offset.clone();
        let clock =
            Clock::new(move || SystemTime::now() + Duration::from_secs(o.load(Ordering::Relaxed)));
        let limits = FlowLimits::default();
        let settings = ZaSettings {
            clock,
            ..ZaSettings::default()
        };
        let store = Arc::new(MemoryFlowStore::new(limits));
        let (router, audit, _) = za_gateway_with(
            MemoryStore::new(),
            PendingFlows::new(store.clone(), limits),
            settings,
        );
        let (cookie, action) = to_consent(&router, "192.0.2.30", "umcharderwijk~1", "mo").await;
        offset.store(901, Ordering::Relaxed);
        let late = decide(&router, "192.0.2.30", &cookie, &action, "yes").await;
        assert_eq!(late.status, 302, "{}", late.body);
        let l = late.location();
        assert!(l.starts_with(REDIRECT), "{l}");
        assert_eq!(param(&l, "error").as_deref(), Some("access_denied"));
        assert_eq!(
            param(&l, "error_description").as_deref(),
            Some("Authorization failed.")
        );
        assert!(param(&l, "code").is_none());
        assert!(
            audit
                .all()
                .iter()
                .any(|e| e.case == Some(5) && e.detail.contains("expired"))
        );
        assert!(
            !audit.all().iter().any(|e| e.consent.is_some()),
            "no decision taken"
        );
        // Ended: the same answer again finds no flow (a plain page, no second redirect).
        let again = decide(&router, "192.0.2.30", &cookie, &action, "yes").await;
        assert_eq!(again.status, 400);
        assert!(again.header("location").is_none());
        // Swept (and reported), an expired flow still ends as case 5 within its grace
        // (FlowLimits::grace, 900 s) ...
        let (cookie, action) = to_consent(&router, "192.0.2.30", "umcharderwijk~1", "mo").await;
        offset.store(1803, Ordering::Relaxed);
        let at = SystemTime::now() + Duration::from_secs(1803);
        assert_eq!(store.sweep(at).unwrap().len(), 1);
        let late = decide(&router, "192.0.2.30", &cookie, &action, "yes").await;
        assert_eq!(late.status, 302, "{}", late.body);
        assert_eq!(
            param(&late.location(), "error").as_deref(),
            Some("access_denied")
        );
        // ... and is unknown after it: a plain page, no redirect.
        let (cookie, action) = to_consent(&router, "192.0.2.30", "umcharderwijk~1", "mo").await;
        offset.store(1803 + 1800, Ordering::Relaxed);
        let gone = decide(&router, "192.0.2.30", &cookie, &action, "yes").await;
        assert_eq!(gone.status, 400);
        assert!(gone.header("location").is_none());
        let (cookie, action) = to_consent(&router, "192.0.2.30", "umcharderwijk~1", "mo").await;
        let d = decide(&router, "192.0.2.30", &cookie, &action, "yes").await;
        let code = param(&d.location(), "code").unwrap();
        offset.store(1803 + 1800 + 901, Ordering::Relaxed);
        let t = redeem(&router, &code, Some(PGO)).await;
        assert_eq!(t.status, 400);
        assert!(t.body.contains("invalid_grant"));
    }
}

mod lists_13 {
    use super::*;

    /// A host that checks nothing against the ZAL keeps the trait's default: every
    /// Gegevensdienst of every Zorgaanbieder is served, at any time.
    #[test]
    fn the_default_serves_everything() {
        struct Plain;
        impl FhirBackend for Plain {
            fn target(&self, _path: &str) -> Option<(Zorgaanbiedernaam, ScopeGegevensdienstId)> {
                None
            }
            async fn read(
                &self,
                _access: &ResourceAccess,
                _path: &str,
                _query: &str,
            ) -> Result<FhirReply, HostError> {
                Err(HostError("no reads".into()))
            }
            async fn write(
                &self,
                _access: &ResourceAccess,
                _path: &str,
                _body: &str,
            ) -> Result<FhirReply, HostError> {
                Err(HostError("no writes".into()))
            }
        }
        for (gd, secs) in [("1", 0), ("48", 1_800_000_000), ("99", u32::MAX as u64)] {
            assert!(Plain.serves(
                &za(),
                &ScopeGegevensdienstId::new(gd).unwrap(),
                std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs),
            ));
        }
    }

    /// A token issued while the Gegevensdienst was served reads no more once the host says
    /// it is not (the ZAL dropped it, grace over): OAUTH-12 case 7, audited with the reason.
    #[tokio::test]
    async fn a_gegevensdienst_no_longer_served_is_case_7() {
        let (router, audit, fhir) = memory_za(FlowLimits::default());
        let token = whole_flow(&router, "192.0.2.9", "umcharderwijk~1", "alice").await;
        let r = fetch(&router, "GET", "/fhir/1/Patient", &token, None).await;
        assert_eq!(r.status, 200);
        fhir.withdrawn.lock().unwrap().push("1".into());
        let r = fetch(&router, "GET", "/fhir/1/Patient", &token, None).await;
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(r.body.contains("suppressed"), "{}", r.body);
        let e = audit.all().pop().unwrap();
        assert_eq!((e.success, e.case), (false, Some(7)));
        assert!(e.detail.contains("LISTS-13"), "{}", e.detail);
        assert_eq!(e.subject.as_ref().map(Subject::as_str), Some("alice"));
        // And a new request for it: case 1, a page (no redirect), audited with the reason.
        let a = send(
            &router,
            request(
                "GET",
                &authorize_uri("umcharderwijk~1", "st-1"),
                "192.0.2.9",
                None,
                None,
            ),
        )
        .await;
        assert_eq!(a.status, 400, "{}", a.body);
        assert!(a.header("location").is_none());
        assert!(a.cookie(ZA_COOKIE).is_none(), "no flow opened");
        assert!(
            a.body.contains("invalid_request") && a.body.contains("LISTS-13"),
            "{}",
            a.body
        );
        let e = audit.all().pop().unwrap();
        assert_eq!(
            (e.endpoint, e.success, e.case),
            (Endpoint::Authorize, false, Some(1))
        );
        assert!(e.detail.contains("LISTS-13"), "{}", e.detail);
        // Another Gegevensdienst is still served.
        whole_flow(&router, "192.0.2.9", "umcharderwijk~48", "alice").await;
    }
}

mod consent_1 {
    use super::*;

    /// MedMij CONSENT-1 (RFC 6819 4.4.1.9): a consent page the host hands over with headers
    /// of its own is sent with them (one CSP, the host's), with exactly one `Content-Type`
    /// (the adapter's HTML one), and the adapter's anti-framing and no-store headers only
    /// where the host set none; a page without headers keeps the adapter's.
    #[tokio::test]
    async fn consent_page_carries_the_hosts_headers() {
        let (router, _, _) = memory_za(FlowLimits::default());
        let (_cookie, _, c) = login(&router, "192.0.2.5", "umcharderwijk~1", "strict").await;
        assert_eq!(c.status, 200, "{}", c.body);
        let all = |name: &str| -> Vec<String> {
            c.headers
                .get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(all("content-security-policy"), [STRICT_CSP]);
        assert_eq!(all("content-type"), ["text/html; charset=utf-8"]);
        assert_eq!(all("referrer-policy"), ["no-referrer"]);
        assert_eq!(all("x-content-type-options"), ["nosniff"]);
        assert_eq!(all("x-frame-options"), ["DENY"], "the host set none");
        assert_eq!(all("cache-control"), ["no-store"], "the host set none");
        // Another person's page: the adapter's headers only.
        let (_, _) = to_consent(&router, "192.0.2.6", "umcharderwijk~1", "mo").await;
        let (_cookie, _, c) = login(&router, "192.0.2.6", "umcharderwijk~1", "mo").await;
        let csp: Vec<_> = c
            .headers
            .get_all("content-security-policy")
            .iter()
            .collect();
        assert_eq!(csp, ["frame-ancestors 'none'"]);
        assert_eq!(c.headers.get_all("content-type").iter().count(), 1);
    }

    /// The host's headers for its login and consent-management pages: a per-page CSP, a
    /// `Cache-Control` of its own (which replaces the adapter's) and a `Content-Type` the
    /// adapter must not send twice.
    fn host_headers() -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::CONTENT_SECURITY_POLICY,
            http::HeaderValue::from_static(STRICT_CSP),
        );
        h.insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store, private"),
        );
        h.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain"),
        );
        h
    }

    fn with_headers(html: String) -> HostPage {
        HostPage {
            html,
            headers: host_headers(),
        }
    }

    /// The test authenticator, with login pages that carry the host's headers.
    struct StrictLogin;

    impl Authenticator for StrictLogin {
        async fn start(&self, flow: &FlowInfo, callback: &str) -> HttpResponse {
            TestAuth.start(flow, callback).await
        }
        async fn start_answer(&self, _flow: &FlowInfo, callback: &str) -> HostAnswer {
            with_headers(format!("<p>login</p>CALLBACK[{callback}]")).into()
        }
        async fn complete(&self, flow: &FlowInfo, request: &HostRequest) -> Authentication {
            TestAuth.complete(flow, request).await
        }
        async fn start_management_answer(
            &self,
            _info: &ManagementInfo,
            callback: &str,
        ) -> Option<HostAnswer> {
            Some(with_headers(format!("<p>login to manage</p>CALLBACK[{callback}]")).into())
        }
        async fn complete_management(
            &self,
            info: &ManagementInfo,
            request: &HostRequest,
        ) -> Authentication {
            TestAuth.complete_management(info, request).await
        }
    }

    /// The test consent UI, with a consent-management page that carries the host's headers.
    struct StrictManagement;

    impl ConsentUi for StrictManagement {
        async fn render(&self, flow: &FlowInfo, action: &str) -> String {
            TestConsent.render(flow, action).await
        }
        async fn decision(&self, flow: &FlowInfo, form: &HostRequest) -> ConsentDecision {
            TestConsent.decision(flow, form).await
        }
        async fn render_management_page(
            &self,
            info: &ManagementInfo,
            consents: &[LongLastingConsent],
            action: &str,
        ) -> HostPage {
            with_headers(self.render_management(info, consents, action).await)
        }
    }

    /// Each header of `a` named `name`.
    fn all(a: &Answer, name: &str) -> Vec<String> {
        a.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    /// The page as `HostPage` says: one `Content-Type` (the adapter's HTML one), the host's
    /// CSP and `Cache-Control` in place of the adapter's, the adapter's `X-Frame-Options`
    /// where the host set none (RFC 6819 4.4.1.9).
    fn assert_host_page(a: &Answer) {
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(all(a, "content-type"), ["text/html; charset=utf-8"]);
        assert_eq!(all(a, "content-security-policy"), [STRICT_CSP]);
        assert_eq!(all(a, "cache-control"), ["no-store, private"]);
        assert_eq!(all(a, "x-frame-options"), ["DENY"], "the host set none");
    }

    /// MedMij CONSENT-1 (RFC 6819 4.4.1.9) for the pages around the consent page: the login
    /// page (`Authenticator::start_answer`) and, for a consent-management visit (OAUTH-22),
    /// its login page (`Authenticator::start_management_answer`) and the overview
    /// (`ConsentUi::render_management_page`) are sent with the host's headers as a consent
    /// page's `HostPage` is, with the flow cookie; a host without them keeps the adapter's.
    #[tokio::test]
    async fn login_and_management_pages_carry_the_hosts_headers() {
        let (gw, _) = za_with(StrictLogin, StrictManagement);
        let router = gw.router();
        let a = send(
            &router,
            request(
                "GET",
                &authorize_uri("umcharderwijk~1", "st-1"),
                "192.0.2.71",
                None,
                None,
            ),
        )
        .await;
        assert_host_page(&a);
        let cookie = a.cookie(ZA_COOKIE).expect("flow cookie");
        // The flow goes on from the host's login page.
        let callback = format!("{}&person=mo", a.marked("CALLBACK"));
        let c = send(
            &router,
            request("GET", &callback, "192.0.2.71", Some(&cookie), None),
        )
        .await;
        assert_eq!(c.status, 200, "{}", c.body);
        // Consent management: its login page, then the overview.
        let t = v2::new_trace();
        let uri = v2::v2_management_uri(REDIRECT, "s-1", &t);
        let m = send(&router, request("GET", &uri, "192.0.2.72", None, None)).await;
        assert_host_page(&m);
        let cookie = m.cookie(ZA_COOKIE).expect("visit cookie");
        let callback = format!("{}&person=mo", m.marked("CALLBACK"));
        let o = send(
            &router,
            request("GET", &callback, "192.0.2.72", Some(&cookie), None),
        )
        .await;
        assert_host_page(&o);
        assert!(o.body.contains("withdraw"), "{}", o.body);
        // The test hooks without headers of their own: the adapter's page headers.
        let (router, _, _) = memory_za(FlowLimits::default());
        let a = send(
            &router,
            request(
                "GET",
                &authorize_uri("umcharderwijk~1", "st-1"),
                "192.0.2.73",
                None,
                None,
            ),
        )
        .await;
        assert_eq!(
            all(&a, "content-security-policy"),
            ["frame-ancestors 'none'"]
        );
        assert_eq!(all(&a, "cache-control"), ["no-store"]);
        assert_eq!(all(&a, "content-type").len(), 1);
    }
}

mod consent_5 {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A consent UI that registers every decision as evidence before it answers (MedMij
    /// CONSENT-5: no code without evidence), the write awaited on the blocking pool as a
    /// durable ledger append would be; the person `noledger`'s decision cannot be registered.
    #[derive(Clone, Default)]
    struct EvidenceFirst(Arc<Mutex<Vec<String>>>);

    impl ConsentUi for EvidenceFirst {
        async fn render(&self, flow: &FlowInfo, action: &str) -> String {
            TestConsent.render(flow, action).await
        }
        async fn decision(&self, flow: &FlowInfo, form: &HostRequest) -> ConsentDecision {
            let decided = TestConsent.decision(flow, form).await;
            let who = flow.subject.as_ref().map(|s| s.as_str().to_owned());
            let who = who.unwrap_or_default();
            let ledger = Arc::clone(&self.0);
            let written = run_blocking(move || {
                if who == "noledger" {
                    return false;
                }
                // A durable write takes a while; the runtime's only worker is free meanwhile.
                std::thread::sleep(std::time::Duration::from_millis(20));
                ledger.lock().unwrap().push(format!("{who} {decided:?}"));
                true
            })
            .await;
            if written == Ok(true) {
                decided
            } else {
                ConsentDecision::Undetermined
            }
        }
    }

    /// MedMij CONSENT-5 through the async `ConsentUi::decision`: on a single-threaded
    /// runtime the hook awaits its evidence write (another request is served meanwhile), the
    /// code is issued only once the grant is registered, a refusal is registered too, and a
    /// decision that cannot be registered ends the flow as OAUTH-12 case 5 without a code.
    #[tokio::test(flavor = "current_thread")]
    async fn the_decision_awaits_its_evidence() {
        let ledger = EvidenceFirst::default();
        let (gw, _) = za_with(TestAuth, ledger.clone());
        let router = gw.router();
        let (cookie, action) = to_consent(&router, "192.0.2.61", "umcharderwijk~1", "mo").await;
        let (c2, a2) = to_consent(&router, "192.0.2.62", "umcharderwijk~1", "eve").await;
        // Both decisions at once on the one worker: each hook's write is awaited.
        let (granted, refused) = tokio::join!(
            decide(&router, "192.0.2.61", &cookie, &action, "yes"),
            decide(&router, "192.0.2.62", &c2, &a2, "no"),
        );
        assert!(
            param(&granted.location(), "code").is_some(),
            "{}",
            granted.body
        );
        assert_eq!(
            param(&refused.location(), "error").as_deref(),
            Some("access_denied")
        );
        let mut written = ledger.0.lock().unwrap().clone();
        written.sort();
        assert_eq!(written, ["eve Refused", "mo Granted"]);
        // Not registered: no code (case 5).
        let (cookie, action) =
            to_consent(&router, "192.0.2.63", "umcharderwijk~1", "noledger").await;
        let d = decide(&router, "192.0.2.63", &cookie, &action, "yes").await;
        assert_eq!(d.status, 302, "{}", d.body);
        assert!(param(&d.location(), "code").is_none());
        assert_eq!(
            param(&d.location(), "error").as_deref(),
            Some("access_denied")
        );
        assert_eq!(
            param(&d.location(), "error_description").as_deref(),
            Some("Authorization failed.")
        );
        assert_eq!(ledger.0.lock().unwrap().len(), 2);
    }
}

mod consent_4 {
    use super::*;

    /// A Lezer reads the write's headers (FhirBackend::write_with_headers): the provenance
    /// that travels with the shared data arrives with it (MedMij CONSENT-4).
    #[tokio::test]
    async fn a_write_reaches_the_back_end_with_its_headers() {
        let (router, _, fhir) = memory_za(FlowLimits::default());
        let token = whole_flow(&router, "192.0.2.21", "umcharderwijk~48", "carol").await;
        let body = r#"{"resourceType":"Bundle","type":"transaction"}"#;
        let mut r = request(
            "POST",
            "/fhir/48/Bundle",
            "192.0.2.21",
            None,
            Some(("application/fhir+json", body)),
        );
        r.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        r.headers_mut().insert(
            "x-medmij-provenance",
            "item-1 from umcharderwijk".parse().unwrap(),
        );
        r.extensions_mut()
            .insert(MtlsClient(ClientId::new(PGO).unwrap()));
        let w = send(&router, r).await;
        assert_eq!(w.status, 201, "{}", w.body);
        let w = fetch(&router, "POST", "/fhir/48/Bundle", &token, Some(body)).await;
        assert_eq!(w.status, 201, "{}", w.body);
        assert_eq!(
            fhir.provenance.lock().unwrap().as_slice(),
            [Some("item-1 from umcharderwijk".to_owned()), None]
        );
        assert_eq!(fhir.written.lock().unwrap().len(), 2);
    }
}

mod log_1 {
    use super::*;

    /// Each resource request is audited with what became of it (MedMij LOG-1): served
    /// (`answered`), or refused by the back end with its reason when it gives one (the
    /// diagnostics of an OperationOutcome) and with the status alone when it does not.
    #[tokio::test]
    async fn resource_requests_are_audited_with_their_outcome() {
        let (router, audit, _) = memory_za(FlowLimits::default());
        let token = whole_flow(&router, "192.0.2.18", "umcharderwijk~48", "kim").await;
        let cases = [
            ("48/Bundle", 201, true, "Write 48/Bundle answered 201"),
            (
                "48/refuse",
                422,
                false,
                "Write 48/refuse refused by the back end: HTTP 422: payload carries a BSN (OAUTH-16)",
            ),
            (
                "48/conflict",
                409,
                false,
                "Write 48/conflict refused by the back end: HTTP 409",
            ),
        ];
        for (path, status, success, detail) in cases {
            let r = fetch(
                &router,
                "POST",
                &format!("/fhir/{path}"),
                &token,
                Some("{}"),
            )
            .await;
            assert_eq!(r.status, status, "{path}: {}", r.body);
            let e = audit
                .all()
                .into_iter()
                .rfind(|e| e.endpoint == Endpoint::Resource)
                .expect("audited");
            assert_eq!((e.success, e.detail.as_str()), (success, detail), "{path}");
        }
    }
}
