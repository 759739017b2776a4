//! The source releases' rules in the demo network: no BSN in payloads (MedMij
//! OAUTH-16), the ZA GW's serving duty (LISTS-13, LISTS-10, LISTS-4), publication and
//! archives (LISTS-14, LISTS-11, LISTS-7).

use medmij_examples::demo::{Actor, StepOutcome};
use medmij_examples::demo::{ConsentChoice, List, Network};
use medmij_types::RuleId;

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
            if r.starts_with("POST /oauth/token") {
                assert!(r.contains("code=%28redacted%29"), "{r}");
            }
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
            net.trace().steps().iter().any(|s| s.is(
                Actor::ZaGw,
                RuleId::Lists13,
                StepOutcome::Done
            )),
            "no LISTS-13 report at start"
        );
        assert!(net.za_log().await.unwrap().is_empty());

        assert_eq!(net.withdraw_service().await.expect("ZAL 2 installed"), 2);
        assert_eq!(net.za_volgnummer_in_force(List::Zal).as_deref(), Some("2"));
        let log = net.za_log().await.unwrap();
        let diff: Vec<_> = log
            .iter()
            .filter(|l| l.event_type == "lists.zal.difference")
            .collect();
        // One difference per Gegevensdienst of umcdemo@medmij (4 and 5).
        assert_eq!(diff.len(), 2, "{log:#?}");
        for (d, id) in diff.iter().zip(["4", "5"]) {
            let d = d.detail.as_deref().unwrap();
            assert!(
                d.starts_with(&format!(
                    "LISTS-13: umcdemo@medmij Gegevensdienst {id} is configured but not on the ZAL"
                )),
                "{d}"
            );
        }
        // Reported once per ZAL version, not on every fetch.
        net.refresh_za_lists().await.unwrap();
        let again = net.za_log().await.unwrap();
        assert_eq!(
            again
                .iter()
                .filter(|l| l.event_type == "lists.zal.difference")
                .count(),
            2
        );

        // Within the grace: served.
        let run = net.verzamelen(ConsentChoice::Grant).await.unwrap();
        assert!(run.collected.is_some(), "{:?}", run.error);
        net.advance_za_clock(Duration::from_secs(3590));
        let run = net.verzamelen(ConsentChoice::Grant).await.unwrap();
        assert!(run.collected.is_some(), "3590 s after: {:?}", run.error);

        // After it: a token issued within the grace (and valid for 900 s) reads no more.
        net.advance_za_clock(Duration::from_secs(11));
        // (The ZA GW fetches its lists, so that its Whitelist is fresh for the
        // handshake, LISTS-8; the ZAL is unchanged, the grace runs on.)
        net.refresh_za_lists().await.unwrap();
        let (status, code) = net.read_again().await.unwrap();
        assert_eq!((status, code.as_deref()), (401, Some("suppressed")));
        let log = net.za_log().await.unwrap();
        let read = log
            .iter()
            .rev()
            .find(|l| l.event_type == "fhir.read")
            .unwrap();
        assert_eq!(read.outcome, "refused");
        assert!(
            read.detail.as_deref().unwrap().contains("LISTS-13"),
            "{read:?}"
        );
        // And a new flow: OAUTH-12 case 1, told to the person directly, logged.
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

/// Building blocks for list changes.
mod entries {
    use medmij_lists::{
        BackChannelUri, FrontChannelUri, Gegevensdienst, GegevensdienstId, Hostname, OAuthclient,
        OAuthclientOrganisatienaam, Systeemrol, Systeemrolcode, Zorgaanbieder, Zorgaanbiedernaam,
    };

    /// A Zorgaanbieder with one Gegevensdienst whose endpoints are all on `host`.
    pub(crate) fn zorgaanbieder(naam: &str, id: &str, host: &str) -> Zorgaanbieder {
        let g = Gegevensdienst::new(
            GegevensdienstId::new(id).unwrap(),
            FrontChannelUri::new(&format!("https://{host}/oauth/authorize")).unwrap(),
            BackChannelUri::new(&format!("https://{host}:8443/oauth/token")).unwrap(),
            vec![Systeemrol::new(
                Systeemrolcode::new("MOV-FHIR-BRON").unwrap(),
                BackChannelUri::new(&format!("https://{host}:8443/fhir")).unwrap(),
            )],
        )
        .unwrap();
        Zorgaanbieder::new(Zorgaanbiedernaam::new(naam).unwrap(), vec![g]).unwrap()
    }

    pub(crate) fn client(host: &str) -> OAuthclient {
        OAuthclient::new(
            Hostname::new(host).unwrap(),
            OAuthclientOrganisatienaam::new("Tweede PGO B.V.").unwrap(),
        )
    }

    pub(crate) fn node(host: &str) -> Hostname {
        Hostname::new(host).unwrap()
    }
}

/// MedMij LISTS-14: MedMij Beheer checks every change before publication; a refused
/// change is answered with its reasons and changes nothing.
mod lists_14 {
    use super::entries::*;
    use super::*;
    use medmij_examples::demo::{ListChange, RefusalReason, ZA_HOST};

    /// Submits `change`, which must be refused; asserts nothing was published or
    /// archived, and returns the reasons.
    async fn refused(net: &Network, change: ListChange) -> Vec<RefusalReason> {
        let before: Vec<String> = [List::Zal, List::Ocl, List::Gnl, List::Whl]
            .iter()
            .map(|l| net.published(*l))
            .collect();
        let archive = net.stelselnode_archive().unwrap();
        let e = net.change_list(change).await.expect_err("refused");
        assert!(!e.reasons.is_empty());
        let after: Vec<String> = [List::Zal, List::Ocl, List::Gnl, List::Whl]
            .iter()
            .map(|l| net.published(*l))
            .collect();
        assert_eq!(before, after, "a refused change changes nothing");
        assert_eq!(net.stelselnode_archive().unwrap(), archive);
        let log = net.stelselnode_log().unwrap();
        let last = log.last().expect("logged");
        assert_eq!(
            (last.event_type.as_str(), last.outcome.as_str()),
            ("lists.change", "refused")
        );
        assert_eq!(last.detail.as_deref(), Some(e.to_string().as_str()));
        e.reasons
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn add_modify_remove_are_published_with_a_higher_volgnummer_and_archived() {
        let net = Network::start(false).await.expect("network starts");
        let host = "pgo2.example.nl";
        assert_eq!(
            net.change_list(ListChange::AddNode(node(host)))
                .await
                .unwrap(),
            (List::Whl, 2)
        );
        assert_eq!(
            net.change_list(ListChange::AddClient(client(host)))
                .await
                .unwrap(),
            (List::Ocl, 2)
        );
        assert_eq!(
            net.change_list(ListChange::ModifyClient(client(host)))
                .await
                .unwrap(),
            (List::Ocl, 3)
        );
        assert_eq!(
            net.change_list(ListChange::RemoveClient(host.into()))
                .await
                .unwrap(),
            (List::Ocl, 4)
        );
        let bron = net.demo_zorgaanbieders().unwrap().remove(0);
        assert_eq!(
            net.change_list(ListChange::ModifyZorgaanbieder(bron))
                .await
                .unwrap(),
            (List::Zal, 2)
        );
        // The published list holds exactly the current entries.
        let ocl =
            medmij_lists::OAuthclientlist::from_bytes(net.published(List::Ocl).as_bytes()).unwrap();
        assert_eq!(ocl.volgnummer().to_string(), "4");
        assert!(!ocl.contains(host));
        let whl = medmij_lists::Whitelist::from_bytes(net.published(List::Whl).as_bytes()).unwrap();
        assert!(whl.contains(host));
        // LISTS-11: every published version archived, one file each.
        assert_eq!(
            net.stelselnode_archive().unwrap(),
            [
                "GNL-1.xml",
                "OCL-1.xml",
                "OCL-2.xml",
                "OCL-3.xml",
                "OCL-4.xml",
                "WHL-1.xml",
                "WHL-2.xml",
                "ZAL-1.xml",
                "ZAL-2.xml"
            ]
        );
        let archived =
            std::fs::read_to_string(net.log_dir().join("stelselnode.lists").join("OCL-4.xml"))
                .unwrap();
        assert_eq!(archived, net.published(List::Ocl));
        // The gateways install it (LISTS-7, LISTS-9) and the flow still works.
        net.refresh_lists().await.unwrap();
        assert_eq!(net.za_volgnummer_in_force(List::Ocl).as_deref(), Some("4"));
        assert!(
            net.verzamelen(ConsentChoice::Grant)
                .await
                .unwrap()
                .collected
                .is_some()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn each_check_refuses_with_its_reason() {
        let net = Network::start(false).await.expect("network starts");

        // Endpoints on a host not on the Whitelist, of a DVZA not registered.
        let r = refused(
            &net,
            ListChange::AddZorgaanbieder(zorgaanbieder(
                "kliniekdemo@medmij",
                "4",
                "za-gw.kliniekdemo.nl",
            )),
        )
        .await;
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(
            matches!(&r[0], RefusalReason::NotWhitelisted { list: List::Zal, host, .. }
            if host == "za-gw.kliniekdemo.nl")
        );
        assert!(
            matches!(&r[1], RefusalReason::NotQualified { dvza, .. } if dvza == "za-gw.kliniekdemo.nl")
        );
        assert!(r.iter().all(|x| x.rule() == medmij_lists::RuleId::Lists14));

        // A Gegevensdienst the (whitelisted) DVZA is not qualified for.
        let r = refused(
            &net,
            ListChange::AddZorgaanbieder(zorgaanbieder("kliniekdemo@medmij", "6", ZA_HOST)),
        )
        .await;
        assert_eq!(
            r,
            [RefusalReason::NotQualified {
                zorgaanbieder: "kliniekdemo@medmij".into(),
                gegevensdienst: "6".into(),
                dvza: ZA_HOST.into()
            }]
        );
        assert!(r[0].to_string().contains("not registered as qualified"));

        // The new version does not validate: a second entry with the same name (LISTS-2).
        let r = refused(
            &net,
            ListChange::AddZorgaanbieder(zorgaanbieder("umcdemo@medmij", "4", ZA_HOST)),
        )
        .await;
        assert!(
            matches!(
                &r[..],
                [RefusalReason::Invalid {
                    list: List::Zal,
                    rule: medmij_lists::RuleId::Lists2,
                    ..
                }]
            ),
            "{r:?}"
        );

        // An OCL hostname not on the Whitelist.
        let r = refused(&net, ListChange::AddClient(client("pgo2.example.nl"))).await;
        assert!(
            matches!(
                &r[..],
                [RefusalReason::NotWhitelisted {
                    list: List::Ocl,
                    ..
                }]
            ),
            "{r:?}"
        );

        // Removing a Whitelist node the OCL and ZAL still use.
        let r = refused(&net, ListChange::RemoveNode(ZA_HOST.into())).await;
        assert!(
            r.iter().all(|x| matches!(
                x,
                RefusalReason::NotWhitelisted {
                    list: List::Zal,
                    ..
                }
            )),
            "{r:?}"
        );
        assert_eq!(r.len(), 3, "both Zorgaanbieders' Gegevensdiensten: {r:?}");

        // Modify or remove of an entry that is not there.
        let r = refused(&net, ListChange::RemoveClient("nobody.example.nl".into())).await;
        assert!(
            matches!(&r[..], [RefusalReason::NotOnList { list: List::Ocl, key }] if key == "nobody.example.nl")
        );
        let r = refused(
            &net,
            ListChange::ModifyZorgaanbieder(zorgaanbieder("nergensdemo@medmij", "4", ZA_HOST)),
        )
        .await;
        assert!(matches!(
            &r[..],
            [RefusalReason::NotOnList {
                list: List::Zal,
                ..
            }]
        ));

        // The old lists are still served and in force; a flow works.
        net.refresh_lists().await.unwrap();
        assert_eq!(net.volgnummer_in_force(List::Zal).as_deref(), Some("1"));
        assert!(
            net.verzamelen(ConsentChoice::Grant)
                .await
                .unwrap()
                .collected
                .is_some()
        );
        net.verify_logs().await.unwrap();
    }
}

/// MedMij LISTS-11, LISTS-7: both gateways archive every list version they install,
/// one file per version, byte for byte what they validated.
mod lists_11 {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn gateways_archive_every_version_they_install() {
        let net = Network::start(false).await.expect("network starts");
        let (za, pgo) = net.gateway_archives().unwrap();
        assert_eq!(za, ["GNL-1.xml", "OCL-1.xml", "WHL-1.xml", "ZAL-1.xml"]);
        assert_eq!(pgo, ["GNL-1.xml", "WHL-1.xml", "ZAL-1.xml"]);
        net.withdraw_service().await.unwrap();
        net.refresh_lists().await.unwrap();
        // An invalid version is not installed (LISTS-7), so not archived either.
        net.publish(List::Gnl, "<not-a-list/>");
        assert!(net.refresh_lists().await.is_err());
        let (za, pgo) = net.gateway_archives().unwrap();
        assert_eq!(
            za,
            [
                "GNL-1.xml",
                "OCL-1.xml",
                "WHL-1.xml",
                "ZAL-1.xml",
                "ZAL-2.xml"
            ]
        );
        assert_eq!(pgo, ["GNL-1.xml", "WHL-1.xml", "ZAL-1.xml", "ZAL-2.xml"]);
        for dir in ["za-gw.lists", "pgo-gw.lists"] {
            let zal2 = std::fs::read_to_string(net.log_dir().join(dir).join("ZAL-2.xml")).unwrap();
            assert_eq!(zal2, net.published(List::Zal), "{dir}");
        }
    }
}

/// MedMij LISTS-13 with LISTS-14: a Zorgaanbieder that MedMij Beheer lists at the ZA
/// GW's host, but that the ZA GW is not configured to serve, is reported and logged
/// as a difference.
mod lists_13_reports {
    use super::entries::zorgaanbieder;
    use super::*;
    use medmij_examples::demo::{ListChange, ZA_HOST};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_zal_entry_at_this_gateway_that_it_does_not_serve_is_reported() {
        let net = Network::start(false).await.expect("network starts");
        let (list, v) = net
            .change_list(ListChange::AddZorgaanbieder(zorgaanbieder(
                "kliniekdemo@medmij",
                "4",
                ZA_HOST,
            )))
            .await
            .expect("whitelisted host of a qualified DVZA: accepted");
        assert_eq!((list, v), (List::Zal, 2));
        net.refresh_za_lists().await.unwrap();
        let log = net.za_log().await.unwrap();
        let diffs: Vec<_> = log
            .iter()
            .filter(|l| l.event_type == "lists.zal.difference")
            .map(|l| l.detail.clone().unwrap_or_default())
            .collect();
        assert_eq!(diffs.len(), 1, "{diffs:#?}");
        assert!(
            diffs[0].contains(
                "lists kliniekdemo@medmij Gegevensdienst 4 at this gateway, which is not configured"
            ),
            "{}",
            diffs[0]
        );
        assert!(net.trace().steps().iter().any(|s| s.is(
            Actor::ZaGw,
            RuleId::Lists13,
            StepOutcome::Refused
        )));
    }
}
