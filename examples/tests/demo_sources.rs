//! The source releases' rules in the demo network: no BSN in payloads (MedMij
//! OAUTH-16), the ZA GW's serving duty (LISTS-13, LISTS-10, LISTS-4), publication and
//! archives (LISTS-14, LISTS-11, LISTS-7).

use medmij_examples::demo::{ConsentChoice, List, Network};

/// MedMij OAUTH-16: no BSN travels between the gateways.
mod oauth_16 {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn za_gw_empties_the_bsn_its_back_end_put_in_the_bundle() {
        let net = Network::start(false).await.expect("network starts");
        net.za_puts_bsn_in_payload(true);
        let run = net
            .verzamelen(ConsentChoice::Grant)
            .await
            .expect("flow runs");
        assert_eq!(run.error, None, "{:?}", run.error_description);
        assert!(run.collected.is_some(), "the stripped Bundle is stored");
        // What arrived at the PGO GW carried no BSN: the ZA GW logged the emptying.
        let za = net.za_log().await.unwrap();
        let emptied = za
            .iter()
            .find(|l| l.event_type == "fhir.bsn.emptied")
            .expect("the emptying is logged");
        assert!(
            emptied.detail.as_deref().unwrap_or("").contains("OAUTH-16"),
            "{emptied:?}"
        );
        assert!(
            !format!("{za:?}").contains(medmij_examples_test_bsn()),
            "LOG-4: the number itself is never logged"
        );
        let pgo = net.pgo_log().await.unwrap();
        assert!(
            pgo.iter()
                .any(|l| l.event_type == "dossier.collect" && l.outcome == "success")
        );
        net.verify_logs().await.expect("logs verify");
    }

    /// The demo's test BSN (as the demo's back end uses it).
    fn medmij_examples_test_bsn() -> &'static str {
        "999990019"
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn pgo_gw_refuses_to_store_a_bundle_with_a_bsn_and_logs_it() {
        let net = Network::start(false).await.expect("network starts");
        net.za_puts_bsn_in_payload(false);
        let run = net
            .verzamelen(ConsentChoice::Grant)
            .await
            .expect("flow runs");
        assert!(run.token_obtained);
        assert_eq!(run.collected, None, "OAUTH-16: not stored");
        assert_eq!(run.error.as_deref(), Some("OAUTH-16"));
        assert!(
            run.error_description
                .as_deref()
                .unwrap_or("")
                .contains("$.entry[1].resource.identifier[0]"),
            "{:?}",
            run.error_description
        );
        assert!(
            run.message.contains("burgerservicenummer"),
            "{}",
            run.message
        );
        assert!(
            run.final_page.contains("niet opgeslagen"),
            "{}",
            run.final_page
        );
        let pgo = net.pgo_log().await.unwrap();
        let refused = pgo
            .iter()
            .find(|l| l.event_type == "dossier.collect")
            .expect("logged");
        assert_eq!(refused.outcome, "refused", "{refused:?}");
        assert!(refused.detail.as_deref().unwrap().contains("OAUTH-16"));
        assert!(!format!("{pgo:?}").contains(medmij_examples_test_bsn()));
        net.verify_logs().await.expect("logs verify");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn lezer_answers_case_8_to_a_bundle_with_a_bsn_and_logs_it() {
        let net = Network::start(false).await.expect("network starts");
        let run = net
            .verzamelen(ConsentChoice::Grant)
            .await
            .expect("flow runs");
        let id = run.collected.expect("collected");
        net.pgo_shares_bsn();
        let d = net.delen(&id).await.expect("flow runs");
        assert!(d.token_obtained);
        assert!(!d.placed, "OAUTH-16: the Lezer refuses");
        assert!(d.message.contains("burgerservicenummer"), "{}", d.message);
        let za = net.za_log().await.unwrap();
        let write = za
            .iter()
            .find(|l| l.event_type == "fhir.write")
            .expect("the refusal is logged");
        assert_eq!(write.outcome, "refused");
        let detail = write.detail.as_deref().unwrap();
        assert!(
            detail.contains("OAUTH-16") && detail.contains("case 8"),
            "{detail}"
        );
        let pgo = net.pgo_log().await.unwrap();
        let place = pgo
            .iter()
            .find(|l| l.event_type == "dossier.place")
            .unwrap();
        assert_eq!(place.outcome, "failure");
        assert!(
            place.detail.as_deref().unwrap().contains("OAUTH-16"),
            "{place:?}"
        );
    }

    /// The PGO GW puts no person identifier in any request (URL or body): every
    /// request that reached the ZA GW in a whole Verzamelen and Delen, including
    /// one where the ZA GW's back end had a BSN, is free of it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn requests_between_the_gateways_carry_no_person_identifier() {
        let net = Network::start(false).await.expect("network starts");
        net.za_puts_bsn_in_payload(true);
        let run = net
            .verzamelen(ConsentChoice::Grant)
            .await
            .expect("flow runs");
        let id = run.collected.expect("collected");
        let d = net.delen(&id).await.expect("flow runs");
        assert!(d.placed);
        let got = net.za_received_requests();
        assert!(
            got.len() >= 6,
            "authorize, token, read; authorize, token, write: {got:#?}"
        );
        assert!(got.iter().any(|r| r.starts_with("POST /lezer/fhir/Bundle")));
        for r in &got {
            assert!(!r.contains(medmij_examples_test_bsn()), "{r}");
            assert!(
                !r.contains("pgo-account"),
                "the PGO's account id travels: {r}"
            );
            if let Some(body) = r.strip_prefix("POST /lezer/fhir/Bundle? ") {
                let v: serde_json::Value = serde_json::from_str(body).expect("JSON body");
                assert_eq!(medmij_oauth::fhir::check(&v), Ok(()));
            }
        }
    }
}

/// MedMij LISTS-13, LISTS-10: the ZA GW serves what the ZAL in force lists at its
/// endpoints, a withdrawn Gegevensdienst for 3600 s more, then answers case 1. (The
/// exact boundary, 3600 s in and 3601 s out, is tested on the same function with a
/// fixed clock in `demo::serving::lists_10`.)
mod lists_13 {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn withdrawn_service_is_served_for_the_grace_then_refused_as_case_1() {
        let net = Network::start(false).await.expect("network starts");
        // The demo ZAL lists exactly what the ZA GW is configured to serve.
        assert!(
            net.trace()
                .steps()
                .iter()
                .any(|s| s.text.contains("lists exactly the 2 Gegevensdienst(en)")),
            "no LISTS-13 report at start"
        );
        assert!(net.za_log().await.unwrap().is_empty());

        net.withdraw_service("2").await.expect("ZAL 2 installed");
        assert_eq!(net.za_volgnummer_in_force(List::Zal).as_deref(), Some("2"));
        let log = net.za_log().await.unwrap();
        let diff: Vec<_> = log
            .iter()
            .filter(|l| l.event_type == "lists.zal.difference")
            .collect();
        assert_eq!(diff.len(), 1, "{log:#?}");
        let d = diff[0].detail.as_deref().unwrap();
        assert!(
            d.starts_with(
                "LISTS-13: umcdemo@medmij Gegevensdienst 4 is configured but not on the ZAL"
            ),
            "{d}"
        );
        // Reported once per ZAL version, not on every fetch.
        net.refresh_za_lists().await.unwrap();
        let again = net.za_log().await.unwrap();
        assert_eq!(
            again
                .iter()
                .filter(|l| l.event_type == "lists.zal.difference")
                .count(),
            1
        );

        // Within the grace: served.
        let run = net.verzamelen(ConsentChoice::Grant).await.unwrap();
        assert!(run.collected.is_some(), "{:?}", run.error);
        net.advance_za_clock(Duration::from_secs(3590));
        let run = net.verzamelen(ConsentChoice::Grant).await.unwrap();
        assert!(run.collected.is_some(), "3590 s after: {:?}", run.error);

        // After it: OAUTH-12 case 1, told to the person directly, logged.
        net.advance_za_clock(Duration::from_secs(11));
        let run = net.verzamelen(ConsentChoice::Grant).await.unwrap();
        assert_eq!(run.collected, None);
        assert!(!run.token_obtained);
        assert!(
            run.error.as_deref().unwrap().starts_with("HTTP 400"),
            "{:?}",
            run.error
        );
        assert!(
            run.final_page.contains("invalid_request"),
            "{}",
            run.final_page
        );
        assert!(run.final_page.contains("LISTS-13"), "{}", run.final_page);
        let log = net.za_log().await.unwrap();
        assert!(
            log.iter().any(|l| l.outcome == "refused"
                && l.detail.as_deref().is_some_and(|d| d.contains("LISTS-13"))),
            "{log:#?}"
        );
    }
}

/// MedMij LISTS-4: the OCL's per-client Gegevensdiensten restrict the client where the
/// list names them.
mod lists_4 {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_client_restricted_by_the_ocl_cannot_ask_for_another_gegevensdienst() {
        let net = Network::start(false).await.expect("network starts");
        net.restrict_pgo_on_ocl(&["4"]);
        let run = net.verzamelen(ConsentChoice::Grant).await.unwrap();
        assert!(run.collected.is_some(), "allowed: {:?}", run.error);
        net.restrict_pgo_on_ocl(&["1", "3"]);
        let run = net.verzamelen(ConsentChoice::Grant).await.unwrap();
        assert_eq!(run.collected, None);
        assert!(!run.token_obtained);
        assert!(
            run.error.as_deref().unwrap().starts_with("HTTP 400"),
            "{:?}",
            run.error
        );
        assert!(run.final_page.contains("LISTS-4"), "{}", run.final_page);
    }
}
