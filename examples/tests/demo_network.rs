//! The demo network end to end: UCI Verzamelen over real mutual TLS with OCSP,
//! lists from the Stelselnode, consent, provenance and NEN 7513 logs.

use std::time::Duration;

use medmij_examples::demo::{Actor, StepOutcome};
use medmij_examples::demo::{ConsentChoice, FLOW_TIMEOUT, List, Network};
use medmij_types::RuleId;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verzamelen_happy_flow_stores_the_bundle_with_provenance() {
    let net = Network::start(false).await.expect("network starts");
    let run = net
        .verzamelen(ConsentChoice::Grant)
        .await
        .expect("flow runs");
    assert!(run.token_obtained, "OAUTH-11: access token obtained");
    assert_eq!(run.error, None);
    let id = run.collected.expect("bundle stored in the dossier");
    let (unchanged, provenance) = net.dossier_item(&id).unwrap();
    assert!(unchanged, "CONSENT-4: content unchanged since receipt");
    assert!(provenance.contains("umcdemo@medmij"), "{provenance}");
    assert!(provenance.contains("Medicatieoverzicht"), "{provenance}");
    assert!(run.final_page.contains("opgehaald"), "{}", run.final_page);

    // LOG-1: both logs verify and hold the steps of the flow.
    let (za, pgo) = net.verify_logs().await.expect("logs verify");
    assert_eq!((za, pgo), (3, 3));
    assert_eq!(
        net.za_log_event_types().await.unwrap(),
        ["consent.granted", "oauth.token", "fhir.read"]
    );
    assert_eq!(
        net.pgo_log_event_types().await.unwrap(),
        ["consent.received", "oauth.token", "dossier.collect"]
    );

    // The steps came in the order of OAUTH-11.
    let steps = net.trace().steps();
    let pos = |(actor, rule): (Actor, RuleId)| {
        steps
            .iter()
            .position(|s| s.is(actor, rule, StepOutcome::Done))
            .unwrap_or_else(|| panic!("no step of {actor} under {rule} in {steps:#?}"))
    };
    let order = [
        // The authorization request, valid (OAUTH-4: redirect URI; OAUTH-5: scope).
        (Actor::ZaGw, RuleId::Oauth4),
        // The person logs in at the TEST DigiD stand-in.
        (Actor::Browser, RuleId::Oauth11),
        (Actor::DigidStandIn, RuleId::Oauth11),
        // The Toestemming page, then the decision logged (CONSENT-3).
        (Actor::ZaGw, RuleId::Consent1),
        (Actor::ZaGw, RuleId::Consent3),
        // The code (OAUTH-7), the token request over mTLS (OAUTH-9), the read (OAUTH-2).
        (Actor::ZaGw, RuleId::Oauth7),
        (Actor::ZaGw, RuleId::Oauth9),
        (Actor::ZaGw, RuleId::Oauth2),
        // The Bundle stored with provenance in the dossier (CONSENT-4).
        (Actor::PgoGw, RuleId::Consent4),
    ];
    for w in order.windows(2) {
        assert!(pos(w[0]) < pos(w[1]), "{:?} before {:?}", w[0], w[1]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refusal_redirects_access_denied_and_is_logged() {
    let net = Network::start(false).await.expect("network starts");
    let run = net
        .verzamelen(ConsentChoice::Refuse)
        .await
        .expect("flow runs");
    // MedMij OAUTH-12 case 4.
    assert_eq!(run.error.as_deref(), Some("access_denied"));
    assert_eq!(
        run.error_description.as_deref(),
        Some("Authorization denied.")
    );
    assert!(!run.token_obtained);
    assert_eq!(run.collected, None);
    assert_eq!(
        run.message,
        "You did not give permission. No data will be exchanged."
    );
    assert!(net.trace().steps().iter().any(|s| s.is(
        Actor::ZaGw,
        RuleId::Oauth12,
        StepOutcome::Case(4)
    )));
    // CONSENT-3: the Bron logs the refusal; nothing else happened at the ZA GW.
    net.verify_logs().await.expect("logs verify");
    assert_eq!(net.za_log_event_types().await.unwrap(), ["consent.refused"]);
    assert_eq!(net.pgo_log_event_types().await.unwrap(), ["oauth.callback"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replayed_code_is_refused_and_revokes_the_token() {
    let net = Network::start(false).await.expect("network starts");
    let run = net
        .verzamelen(ConsentChoice::Grant)
        .await
        .expect("flow runs");
    assert!(run.collected.is_some());
    let replay = net.replay_code().await.expect("replay runs");
    // MedMij OAUTH-8, OAUTH-12 case 6: invalid_grant, and the token is revoked (case 7).
    assert_eq!(replay.status, 400);
    assert_eq!(replay.error.as_deref(), Some("invalid_grant"));
    assert_eq!(replay.resource_status_after, 401);
    net.verify_logs().await.expect("logs verify");
    // LOG-1: the refused replay and the refused read with the revoked token are
    // logged too, with the source address.
    let log = net.za_log().await.unwrap();
    let kinds: Vec<(&str, &str)> = log
        .iter()
        .map(|l| (l.event_type.as_str(), l.outcome.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("consent.granted", "success"),
            ("oauth.token", "success"),
            ("fhir.read", "success"),
            ("oauth.token", "refused"),
            ("fhir.read", "refused")
        ]
    );
    assert_eq!(log[4].source.as_deref(), Some("127.0.0.1"));
    assert_eq!(log[4].actor, "pgo-gw.mijnpgo-demo.nl");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn client_dropped_from_the_whitelist_is_refused_at_the_handshake() {
    let net = Network::start(false).await.expect("network starts");
    net.drop_pgo_from_whitelist()
        .await
        .expect("new Whitelist installed");
    let run = net
        .verzamelen(ConsentChoice::Grant)
        .await
        .expect("flow runs");
    // MedMij TLS-4: the ZA GW refuses the PGO GW's handshake; no token, no data.
    assert!(!run.token_obtained);
    assert_eq!(run.collected, None);
    let steps = net.trace().steps();
    assert!(
        steps
            .iter()
            .any(|s| s.is(Actor::ZaGw, RuleId::Tls4, StepOutcome::Refused)),
        "{steps:#?}"
    );
    net.verify_logs().await.expect("logs verify");
    // The consent was given and logged, but nothing was ever fetched.
    assert_eq!(
        net.za_log_event_types().await.unwrap(),
        ["consent.granted", "tls.refused"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delen_shares_the_collected_bundle_with_its_provenance() {
    let net = Network::start(false).await.expect("network starts");
    let run = net
        .verzamelen(ConsentChoice::Grant)
        .await
        .expect("Verzamelen runs");
    let id = run.collected.expect("bundle collected");
    let d = net.delen(&id).await.expect("Delen runs");
    // MedMij OAUTH-13: a Bevestiging, a write with a token for exactly that scope.
    assert!(d.token_obtained);
    assert!(d.placed, "{}", d.message);
    // MedMij CONSENT-4: the placement names the Lezer and carries the origin.
    let placement: serde_json::Value = serde_json::from_str(&d.placement.unwrap()).unwrap();
    assert_eq!(placement["lezer"], "huisartsdemo@medmij");
    assert_eq!(placement["origin"]["bron"], "umcdemo@medmij");
    assert!(net.trace().steps().iter().any(|s| s.is(
        Actor::ZaGw,
        RuleId::Consent2,
        StepOutcome::Done
    )));
    net.verify_logs().await.expect("logs verify");
    assert_eq!(
        net.za_log_event_types().await.unwrap(),
        [
            "consent.granted",
            "oauth.token",
            "fhir.read",
            "bevestiging.granted",
            "oauth.token",
            "fhir.write"
        ]
    );
    assert_eq!(
        net.pgo_log_event_types().await.unwrap(),
        [
            "consent.received",
            "oauth.token",
            "dossier.collect",
            "consent.received",
            "oauth.token",
            "dossier.place"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_data_redirects_access_denied_no_such_resources() {
    let net = Network::start(false).await.expect("network starts");
    net.za_has_no_data();
    let run = net
        .verzamelen(ConsentChoice::Grant)
        .await
        .expect("flow runs");
    // MedMij OAUTH-12 case 3: no consent asked, no code.
    assert_eq!(run.error.as_deref(), Some("access_denied"));
    assert_eq!(run.error_description.as_deref(), Some("No such resources."));
    assert!(!run.token_obtained);
    net.verify_logs().await.expect("logs verify");
    assert_eq!(net.za_log_event_types().await.unwrap(), ["oauth.authorize"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revoked_client_certificate_is_refused_at_the_handshake() {
    let net = Network::start(false).await.expect("network starts");
    net.revoke_pgo_certificate().await;
    let run = net
        .verzamelen(ConsentChoice::Grant)
        .await
        .expect("flow runs");
    // MedMij TLS-3: OCSP says revoked, the ZA GW refuses the session (hard fail).
    assert!(!run.token_obtained);
    assert_eq!(run.collected, None);
    let steps = net.trace().steps();
    assert!(
        steps
            .iter()
            .any(|s| s.is(Actor::ZaGw, RuleId::Tls3, StepOutcome::Refused)),
        "{steps:#?}"
    );
    assert_eq!(
        net.za_log_event_types().await.unwrap(),
        ["consent.granted", "tls.refused"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expired_token_gets_operation_outcome_suppressed() {
    let net = Network::start(false).await.expect("network starts");
    let run = net
        .verzamelen(ConsentChoice::Grant)
        .await
        .expect("flow runs");
    assert!(run.collected.is_some());
    // Still valid just before 900 s (MedMij OAUTH-7) ...
    net.advance_za_clock(std::time::Duration::from_secs(890));
    assert_eq!(net.read_again().await.unwrap().0, 200);
    // ... and refused after (OAUTH-12 case 7).
    net.advance_za_clock(std::time::Duration::from_secs(11));
    let (status, code) = net.read_again().await.unwrap();
    assert_eq!(status, 401);
    assert_eq!(code.as_deref(), Some("suppressed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn equal_volgnummer_is_refused_and_a_stale_whitelist_refuses_every_peer() {
    let net = Network::start(false).await.expect("network starts");
    net.stale_whitelist()
        .await
        .expect("equal Volgnummer refused (LISTS-9)");
    let run = net
        .verzamelen(ConsentChoice::Grant)
        .await
        .expect("flow runs");
    // MedMij LISTS-8, TLS-4: "cannot be determined" refuses the session.
    assert!(!run.token_obtained);
    assert_eq!(run.collected, None);
    let steps = net.trace().steps();
    assert!(
        steps
            .iter()
            .any(|s| s.is(Actor::ZaGw, RuleId::Lists9, StepOutcome::Refused)),
        "{steps:#?}"
    );
    assert!(
        steps
            .iter()
            .any(|s| s.is(Actor::ZaGw, RuleId::Tls4, StepOutcome::Refused)),
        "{steps:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_persons_each_get_their_own_flow() {
    let net = Network::start(false).await.expect("network starts");
    let net = std::sync::Arc::new(net);
    let mut persons = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let net = net.clone();
        persons.spawn(async move {
            net.verzamelen(ConsentChoice::Grant)
                .await
                .map_err(|e| e.to_string())
        });
    }
    let mut ids = Vec::new();
    while let Some(r) = persons.join_next().await {
        ids.push(r.unwrap().expect("flow runs").collected.expect("collected"));
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        8,
        "OAUTH-10: one session, one state, one result each"
    );
    for id in &ids {
        assert!(net.dossier_item(id).unwrap().0);
    }
    assert_eq!(net.verify_logs().await.unwrap(), (24, 24));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelled_login_redirects_unauthorized_client() {
    let net = Network::start(false).await.expect("network starts");
    let run = net
        .verzamelen(ConsentChoice::CancelLogin)
        .await
        .expect("flow runs");
    // MedMij OAUTH-12 case 2: the identity of the person cannot be established.
    assert_eq!(run.error.as_deref(), Some("unauthorized_client"));
    assert!(!run.token_obtained);
    assert_eq!(run.collected, None);
    assert_eq!(
        run.message,
        "Your identity could not be established. No data was exchanged."
    );
    // No consent was asked; the failed authentication is logged.
    assert!(!net.trace().steps().iter().any(
        |s| s.actor == Actor::ZaGw && (s.cites(RuleId::Consent1) || s.cites(RuleId::Consent2))
    ));
    assert_eq!(
        net.za_log_event_types().await.unwrap(),
        ["oauth.authenticate"]
    );
    assert_eq!(net.pending_flows(), 0);
    net.verify_logs().await.expect("logs verify");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_answer_within_the_flow_timeout_counts() {
    let net = Network::start(false).await.expect("network starts");
    let just_in_time = FLOW_TIMEOUT - Duration::from_secs(1);
    let run = net
        .verzamelen(ConsentChoice::GrantAfter(just_in_time))
        .await
        .expect("flow runs");
    assert!(run.token_obtained, "{run:?}");
    assert!(run.collected.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_answer_after_the_flow_timeout_is_undetermined() {
    let net = Network::start(false).await.expect("network starts");
    let run = net
        .verzamelen(ConsentChoice::GrantAfter(FLOW_TIMEOUT))
        .await
        .expect("flow runs");
    // MedMij OAUTH-12 case 5: the answer cannot be established (it came too late),
    // even though the person pressed "grant".
    assert_eq!(run.error.as_deref(), Some("access_denied"));
    assert_eq!(
        run.error_description.as_deref(),
        Some("Authorization failed.")
    );
    assert!(!run.token_obtained);
    assert_eq!(run.collected, None);
    // The flow's expiry is logged once (by the late answer that ended it, LOG-1), then the
    // undetermined answer; a sweep afterwards finds nothing more to log.
    assert_eq!(
        net.za_log_event_types().await.unwrap(),
        ["oauth.flow.expired", "consent.undetermined"]
    );
    assert_eq!(net.pending_flows(), 0);
    assert_eq!(net.expire_flows().await.unwrap().0, 0);
    assert_eq!(net.za_log_event_types().await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn flows_the_person_left_expire_at_both_gateways() {
    let net = Network::start(false).await.expect("network starts");
    for _ in 0..3 {
        let run = net
            .verzamelen(ConsentChoice::Leave)
            .await
            .expect("flow runs");
        assert!(run.final_page.contains("<title>Toestemming</title>"));
    }
    assert_eq!(net.pending_flows(), 3);
    assert_eq!(net.pgo_pending_flows(), 3);
    // Not yet: one second before the timeout nothing ends.
    net.advance_za_clock(FLOW_TIMEOUT - Duration::from_secs(1));
    net.advance_pgo_clock(FLOW_TIMEOUT - Duration::from_secs(1));
    assert_eq!(net.expire_flows().await.unwrap(), (0, 0));
    assert_eq!(net.pending_flows(), 3);
    // At the timeout all three end, are logged, and cannot be continued.
    net.advance_za_clock(Duration::from_secs(1));
    net.advance_pgo_clock(Duration::from_secs(1));
    assert_eq!(net.expire_flows().await.unwrap(), (3, 3));
    assert_eq!(net.pending_flows(), 0);
    assert_eq!(net.pgo_pending_flows(), 0);
    assert_eq!(
        net.za_log_event_types().await.unwrap(),
        ["oauth.flow.expired"; 3]
    );
    // The PGO GW logs each authorization the person never came back to, once (OAUTH-12
    // case 5, LOG-1).
    let pgo_expired =
        |types: Vec<String>| types.iter().filter(|t| *t == "pgo.flow.expired").count();
    assert_eq!(pgo_expired(net.pgo_log_event_types().await.unwrap()), 3);
    net.verify_logs().await.expect("logs verify");
    // A later sweep finds nothing more.
    assert_eq!(net.expire_flows().await.unwrap(), (0, 0));
    assert_eq!(pgo_expired(net.pgo_log_event_types().await.unwrap()), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn too_many_waiting_flows_turn_new_requests_away() {
    let net = Network::start(false).await.expect("network starts");
    net.limit_pending_flows(2);
    for _ in 0..2 {
        let run = net
            .verzamelen(ConsentChoice::Leave)
            .await
            .expect("flow runs");
        assert!(run.final_page.contains("<title>Toestemming</title>"));
    }
    // The third person is told to come back later (OAUTH-14: bounded resources);
    // no session is created for them.
    let run = net
        .verzamelen(ConsentChoice::Grant)
        .await
        .expect("flow runs");
    assert_eq!(
        run.error.as_deref(),
        Some("HTTP 503 at https://za-gw.umcdemo.nl/oauth/authorize")
    );
    assert!(run.final_page.contains("te druk"), "{}", run.final_page);
    assert_eq!(net.pending_flows(), 2);
    // Once the waiting flows expire, there is room again.
    net.advance_za_clock(FLOW_TIMEOUT);
    assert_eq!(net.expire_flows().await.unwrap().0, 2);
    let run = net
        .verzamelen(ConsentChoice::Grant)
        .await
        .expect("flow runs");
    assert!(run.collected.is_some(), "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_stelselnode_publishes_new_versions_at_run_time() {
    let net = Network::start(false).await.expect("network starts");
    for list in [List::Zal, List::Ocl, List::Gnl, List::Whl] {
        assert_eq!(net.volgnummer_in_force(list).as_deref(), Some("1"));
    }
    // A new ZAL (Volgnummer 2) and a new OCL: fetched, validated, installed
    // (LISTS-7, LISTS-8, LISTS-9).
    for list in [List::Zal, List::Ocl] {
        let xml = net.published(list);
        assert!(xml.contains("<Volgnummer>1</Volgnummer>"), "{xml}");
        net.publish(
            list,
            xml.replace("<Volgnummer>1</Volgnummer>", "<Volgnummer>2</Volgnummer>"),
        );
    }
    net.refresh_lists().await.expect("new versions installed");
    assert_eq!(net.volgnummer_in_force(List::Zal).as_deref(), Some("2"));
    assert_eq!(net.volgnummer_in_force(List::Ocl).as_deref(), Some("2"));
    assert_eq!(net.volgnummer_in_force(List::Gnl).as_deref(), Some("1"));

    // An invalid ZAL (Volgnummer 3, but a Zorgaanbiedernaam without "@medmij"):
    // refused, version 2 stays in force (LISTS-7), and flows go on with it.
    let bad = net
        .published(List::Zal)
        .replace("<Volgnummer>2</Volgnummer>", "<Volgnummer>3</Volgnummer>")
        .replace("umcdemo@medmij", "umcdemo");
    net.publish(List::Zal, bad);
    assert!(net.refresh_lists().await.is_err());
    assert_eq!(net.volgnummer_in_force(List::Zal).as_deref(), Some("2"));
    let run = net
        .verzamelen(ConsentChoice::Grant)
        .await
        .expect("flow runs");
    assert!(run.collected.is_some(), "{run:?}");
    let steps = net.trace().steps();
    assert!(
        steps
            .iter()
            .any(|s| s.is(Actor::PgoGw, RuleId::Lists7, StepOutcome::Refused)),
        "{steps:#?}"
    );
}

mod oauth_12 {
    use super::*;

    /// MedMij OAUTH-12 case 5, LOG-1: under traffic (no timer sweeping) flows the person left
    /// are still logged, once each: the ZA GW reports them when it admits the next flow.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn left_flows_are_logged_by_the_next_flow() {
        let net = Network::start(false).await.expect("network starts");
        for _ in 0..2 {
            let run = net
                .verzamelen(ConsentChoice::Leave)
                .await
                .expect("flow runs");
            assert!(run.final_page.contains("<title>Toestemming</title>"));
        }
        net.advance_za_clock(FLOW_TIMEOUT);
        let run = net
            .verzamelen(ConsentChoice::Grant)
            .await
            .expect("flow runs");
        assert!(run.collected.is_some(), "{run:?}");
        let types = net.za_log_event_types().await.unwrap();
        assert_eq!(
            types.iter().filter(|t| *t == "oauth.flow.expired").count(),
            2,
            "{types:?}"
        );
        assert_eq!(net.expire_flows().await.unwrap().0, 0, "logged once");
        net.verify_logs().await.expect("logs verify");
    }

    // MedMij OAUTH-12 case 5: when the consent page cannot be made (here the GNL in
    // force no longer names the Gegevensdienst), the answer cannot be established:
    // the flow ends with access_denied "Authorization failed.", logged; no HTTP 500.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_failing_consent_page_ends_the_flow_as_case_5() {
        let net = Network::start(false).await.expect("network starts");
        let gnl = net.published(List::Gnl);
        let changed = gnl
            .replace("<Volgnummer>1</Volgnummer>", "<Volgnummer>2</Volgnummer>")
            .replace(
                "<GegevensdienstId>4</GegevensdienstId>",
                "<GegevensdienstId>49</GegevensdienstId>",
            );
        assert_ne!(changed, gnl, "{gnl}");
        net.publish(List::Gnl, changed);
        net.refresh_lists().await.expect("new GNL installed");
        let run = net
            .verzamelen(ConsentChoice::Grant)
            .await
            .expect("flow runs");
        assert_eq!(run.error.as_deref(), Some("access_denied"), "{run:?}");
        assert_eq!(
            run.error_description.as_deref(),
            Some("Authorization failed.")
        );
        assert!(!run.token_obtained);
        assert_eq!(net.pending_flows(), 0);
        let log = net.za_log().await.unwrap();
        assert_eq!(log.len(), 1, "{log:#?}");
        assert_eq!(log[0].event_type, "consent.undetermined");
        assert!(
            log[0]
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("consent page could not be made")),
            "{log:#?}"
        );
    }
}

mod consent_5 {
    use super::*;
    use medmij_consent::evidence::{EvidenceDecision, verify_export};

    // MedMij CONSENT-5: the ZA GW registers each decision (grant, refusal) in a
    // tamper-evident evidence ledger with the exact text shown (version and filled
    // variables), the time, the client, the scope and the flow; it can be looked
    // up per person and exported as a document the Zorgaanbieder verifies.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_grant_and_a_refusal_are_in_the_evidence_ledger_and_its_export() {
        let net = Network::start(false).await.expect("network starts");
        let granted = net
            .verzamelen(ConsentChoice::Grant)
            .await
            .expect("flow runs");
        assert!(granted.token_obtained, "{granted:?}");
        let refused = net
            .verzamelen(ConsentChoice::Refuse)
            .await
            .expect("flow runs");
        assert_eq!(refused.error.as_deref(), Some("access_denied"));

        let records = net.za_evidence().expect("verified lookup");
        let decisions: Vec<_> = records.iter().map(|r| r.decision).collect();
        assert_eq!(
            decisions,
            [EvidenceDecision::Granted, EvidenceDecision::Refused]
        );
        assert_ne!(records[0].flow, records[1].flow, "one record per flow");
        for r in &records {
            assert_eq!(r.scope, "umcdemo~4");
            assert!(!r.shown.version.is_empty());
            assert_eq!(
                r.shown
                    .variables
                    .get("MedMij-gegevensdienst")
                    .map(String::as_str),
                Some("'Medicatieoverzicht'"),
                "{:?}",
                r.shown.variables
            );
            assert!(r.shown.text.contains("toestemming"), "{}", r.shown.text);
        }
        assert_eq!(net.verify_za_evidence().expect("ledger verifies"), 2);

        let (json, key) = net.export_za_evidence().expect("export");
        let verified = verify_export(&json, Some(&key)).expect("export verifies");
        assert_eq!(verified.person.as_str(), "za-person-0001");
        assert_eq!(verified.records.len(), 2);
        assert_eq!(verified.records[0].1, records[0]);
        assert_eq!(verified.records[1].1, records[1]);
        // A changed export no longer verifies.
        let tampered = json.replacen("granted", "refused", 1);
        assert_ne!(tampered, json);
        assert!(verify_export(&tampered, Some(&key)).is_err());
    }
}

mod consent_7 {
    use super::*;

    // MedMij CONSENT-7: the PGO GW exports the whole dossier; a second PGO imports
    // it and shows per item the Bron, the Gegevensdienst and that it is unchanged
    // (CONSENT-4), and the placements; a changed item is flagged.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_moved_dossier_keeps_provenance_and_flags_a_changed_item() {
        let net = Network::start(false).await.expect("network starts");
        let first = net.verzamelen(ConsentChoice::Grant).await.unwrap();
        let second = net.verzamelen(ConsentChoice::Grant).await.unwrap();
        let a = first.collected.expect("first item");
        let b = second.collected.expect("second item");
        assert!(net.delen(&a).await.unwrap().placed);

        let moved = net.move_dossier(None).await.expect("import");
        assert_eq!(moved.items.len(), 2, "{moved:?}");
        for i in &moved.items {
            assert!(i.unchanged, "{i:?}");
            assert_eq!(i.bron, "umcdemo@medmij");
            assert_eq!(i.gegevensdienst, "Medicatieoverzicht");
        }
        assert_eq!(moved.placements.len(), 1, "{moved:?}");
        assert!(moved.placements[0].starts_with(&a), "{moved:?}");
        assert!(
            moved.placements[0].contains(medmij_examples::demo::LEZER),
            "{moved:?}"
        );
        assert_eq!(net.second_pgo_items(), 2);

        let tampered = net.move_dossier(Some(&b)).await.expect("import");
        let changed: Vec<_> = tampered
            .items
            .iter()
            .filter(|i| !i.unchanged)
            .map(|i| i.item.clone())
            .collect();
        assert_eq!(changed, [b]);
        assert_eq!(tampered.items.len(), 2);
    }

    // A document that is no dossier export is refused and logged; no panic.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_bad_export_is_refused_and_logged() {
        let net = Network::start(false).await.expect("network starts");
        for bad in ["", "not json", "{\"format\":\"other/1\"}"] {
            assert!(
                net.import_at_second_pgo(bad, true).await.is_err(),
                "{bad:?}"
            );
        }
        assert_eq!(net.second_pgo_items(), 0);
        let log = net.pgo_log().await.unwrap();
        let refused: Vec<_> = log
            .iter()
            .filter(|l| l.event_type == "dossier.import" && l.outcome == "refused")
            .collect();
        assert_eq!(refused.len(), 3, "{log:#?}");
    }
}
