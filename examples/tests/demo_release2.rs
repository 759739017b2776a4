//! Release 2.x in the demo network ("Releases, side by side"): a second Zorgaanbieder
//! whose ZA GW is medmij-oauth's axum `ZaGateway`, listed in the ZAL release3 with a 2.x
//! Interfaceversie (MedMij LISTS-15); the PGO GW collects from it through medmij-oauth's
//! `PgoGateway` with long-lasting consent, refreshes with rotation (OAUTH-19), lets the
//! person withdraw the consent (OAUTH-22), and both gateways' chain events match by
//! correlation id (LOG-6).

use medmij_examples::demo::{
    Actor, INTERFACEVERSIE_1X, INTERFACEVERSIE_2X, Network, StepOutcome, ZA2_HOST, ZORGAANBIEDER,
    ZORGAANBIEDER_2X,
};
use medmij_types::RuleId;
use std::time::Duration;

/// A network with one 2.x collection with long-lasting consent done.
async fn collected() -> Network {
    let net = Network::start(false).await.expect("network starts");
    let run = net.verzamelen_v2(true).await.expect("2.x flow runs");
    assert_eq!(run.item.as_deref(), Some("bundle-2x-1"), "{run:?}");
    assert!(!run.full_flow || run.status == 200, "{run:?}");
    assert_eq!(net.v2_refresh_tokens(), (1, Some(1)));
    net
}

/// Whether a step of `actor` cites `rule`, ended as `outcome` and says `text`.
fn has(net: &Network, actor: Actor, rule: RuleId, outcome: StepOutcome, text: &str) -> bool {
    net.trace()
        .steps()
        .iter()
        .any(|s| s.is(actor, rule, outcome) && s.text.contains(text))
}

mod lists_15 {
    use super::*;

    /// The Stelselnode publishes a release3 ZAL next to the release2 one: umcdemo under a
    /// 1.x Interfaceversie, the second Zorgaanbieder under a 2.x one at its own host.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn release3_names_the_release_line_per_zorgaanbieder() {
        let net = Network::start(false).await.expect("network starts");
        let xml = net.published_zal_release3();
        let zal = medmij_lists::Zorgaanbiederslijst::from_bytes(xml.as_bytes()).expect("valid");
        assert_eq!(zal.release(), medmij_lists::ZalRelease::Release3);
        let v1 = medmij_lists::ReleaseLine::V1;
        let v2 = medmij_lists::ReleaseLine::V2;
        let umc = zal.release_lines(ZORGAANBIEDER, "4");
        assert!(umc.contains(v1) && !umc.contains(v2));
        let twee = zal.release_lines(ZORGAANBIEDER_2X, "4");
        assert!(twee.contains(v2) && !twee.contains(v1));
        assert!(xml.contains(INTERFACEVERSIE_1X) && xml.contains(INTERFACEVERSIE_2X));
        let (_, g) = zal
            .gegevensdienst_in(ZORGAANBIEDER_2X, "4", v2)
            .expect("listed for 2.x");
        let auth = g
            .authorization_endpoint()
            .expect("an authorization endpoint");
        assert_eq!(auth.as_str(), format!("https://{ZA2_HOST}/authorize"));
        // The release2 ZAL (1.x) does not list the 2.x-only Zorgaanbieder.
        let r2 = net.published(medmij_examples::demo::List::Zal);
        assert!(!r2.contains(ZORGAANBIEDER_2X));
    }

    /// The PGO GW picks the release per counterpart from the release3 ZAL: 1.x with
    /// umcdemo (the hand-written ZA GW), 2.x with the second one; both Bundles end up in
    /// the one dossier with provenance.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn pgo_speaks_each_counterparts_release() {
        let net = Network::start(false).await.expect("network starts");
        let v1 = net
            .verzamelen(medmij_examples::demo::ConsentChoice::Grant)
            .await
            .expect("1.x flow");
        assert!(v1.collected.is_some(), "{v1:?}");
        // One PgoGateway, one `/start`: the 1.x choice comes from the release3 ZAL too.
        assert!(has(
            &net,
            Actor::PgoGw,
            RuleId::Lists15,
            StepOutcome::Done,
            &format!(
                "{ZORGAANBIEDER} lists Gegevensdienst 4 under Interfaceversie {INTERFACEVERSIE_1X}: speaks V1"
            ),
        ));
        let v2 = net.verzamelen_v2(true).await.expect("2.x flow");
        assert_eq!(v2.item.as_deref(), Some("bundle-2x-1"));
        assert!(has(
            &net,
            Actor::PgoGw,
            RuleId::Lists15,
            StepOutcome::Done,
            &format!("{ZORGAANBIEDER_2X} lists Gegevensdienst 4 under Interfaceversie 2.2.0"),
        ));
        let items = net.dossier_items();
        assert_eq!(items.len(), 2, "{items:?}");
        assert!(
            items.iter().all(|i| i.1),
            "unchanged since receipt: {items:?}"
        );
        let (unchanged, provenance) = net.dossier_item("bundle-2x-1").expect("stored");
        assert!(unchanged);
        assert!(provenance.contains(ZORGAANBIEDER_2X), "{provenance}");
    }
}

mod oauth_19 {
    use super::*;

    /// Past 900 s the access token lapses; "collect again" refreshes on the back channel:
    /// a new refresh token replaces the old one (rotation) and a new Bundle is stored.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn refresh_rotates_and_collects_again() {
        let net = collected().await;
        net.advance_v2_clock(Duration::from_secs(901));
        assert_eq!(net.v2_read_with_last_token().await.unwrap(), 401);
        let again = net.collect_again_v2(false).await.expect("collect again");
        assert!(!again.full_flow, "{again:?}");
        assert_eq!(again.item.as_deref(), Some("bundle-2x-2"));
        assert_eq!(net.v2_refresh_tokens(), (2, Some(2)), "rotation");
        assert_eq!(net.v2_read_with_last_token().await.unwrap(), 200);
        assert!(has(
            &net,
            Actor::ZaGw2x,
            RuleId::Oauth19,
            StepOutcome::Done,
            "token refreshed (rotation)"
        ));
        assert!(has(
            &net,
            Actor::PgoGw,
            RuleId::Oauth19,
            StepOutcome::Done,
            "access token refreshed"
        ));
        let ids: Vec<String> = net.dossier_items().into_iter().map(|i| i.0).collect();
        assert!(ids.contains(&"bundle-2x-2".to_owned()), "{ids:?}");
    }

    /// Without the indefinite period ticked there is no refresh token: collecting again is
    /// a full flow (authentication and consent).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_refresh_token_without_long_lasting_consent() {
        let net = Network::start(false).await.expect("network starts");
        let run = net.verzamelen_v2(false).await.expect("2.x flow");
        assert_eq!(run.item.as_deref(), Some("bundle-2x-1"));
        assert_eq!(net.v2_refresh_tokens(), (0, None));
        let again = net.collect_again_v2(false).await.expect("collect again");
        assert!(again.full_flow, "{again:?}");
        assert!(again.at.starts_with(&format!("https://{ZA2_HOST}/")));
    }

    /// A retired refresh token presented again is a breach: invalid_grant, and the whole
    /// chain is revoked: the current access token and refresh token are refused too.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn replay_revokes_the_chain() {
        let net = collected().await;
        net.advance_v2_clock(Duration::from_secs(901));
        let again = net.collect_again_v2(false).await.expect("refresh");
        assert!(!again.full_flow);
        assert_eq!(net.v2_read_with_last_token().await.unwrap(), 200);
        net.v2_present_refresh_token(1).expect("token #1");
        let replay = net.collect_again_v2(false).await.expect("replay");
        assert!(replay.full_flow, "{replay:?}");
        assert!(has(
            &net,
            Actor::ZaGw2x,
            RuleId::Oauth19,
            StepOutcome::Case(6),
            "refresh token replayed"
        ));
        assert_eq!(
            net.v2_read_with_last_token().await.unwrap(),
            401,
            "the current access token is revoked with the chain"
        );
        net.v2_present_refresh_token(2).expect("token #2");
        let current = net.collect_again_v2(false).await.expect("current");
        assert!(
            current.full_flow,
            "the current refresh token is revoked too"
        );
    }
}

mod oauth_22 {
    use super::*;

    /// "Toestemmingen aanpassen": the browser walks the ZA GW's consent management, the
    /// person confirms the withdrawal, the PGO GW gets the person back; the next refresh is
    /// refused (invalid_grant) and the PGO GW falls back to a full flow, which works.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn withdrawal_refuses_the_next_refresh() {
        let net = collected().await;
        let (listed, back) = net.withdraw_v2().await.expect("withdrawal");
        assert_eq!(listed, 1);
        assert!(back, "the PGO GW took the way back with the right state");
        assert!(has(
            &net,
            Actor::ZaGw2x,
            RuleId::Oauth22,
            StepOutcome::Done,
            "consent withdrawn"
        ));
        let after = net.collect_again_v2(false).await.expect("collect again");
        assert!(after.full_flow, "{after:?}");
        assert!(has(
            &net,
            Actor::PgoGw,
            RuleId::Oauth19,
            StepOutcome::Case(6),
            "invalid_grant"
        ));
        // The person goes through the full flow again and the PGO collects.
        let full = net.collect_again_v2(true).await.expect("full flow");
        assert!(full.full_flow);
        assert_eq!(full.item.as_deref(), Some("bundle-2x-2"), "{full:?}");
    }
}

mod log_6 {
    use super::*;
    use medmij_log::ChainEventType as T;

    /// Both gateways' chain events match by correlation id: every PGO GW request has a ZA
    /// GW event with the same MedMij-Request-ID, and the refresh has its own correlation id.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn pgo_and_za_events_match_by_correlation_id() {
        let net = collected().await;
        net.advance_v2_clock(Duration::from_secs(901));
        net.collect_again_v2(false).await.expect("refresh");
        let flows = net.v2_chain().expect("chain events");
        assert!(flows.len() >= 2, "{flows:?}");
        for (session, flow) in &flows {
            assert!(flow.unmatched().is_empty(), "{session}: {flow:?}");
            for e in flow.pgo.iter().chain(&flow.za) {
                assert_eq!(e.session_id.to_string(), *session);
            }
        }
        let with = |t: T| {
            flows
                .values()
                .find(|f| f.pgo.iter().any(|e| e.event_type == t))
                .expect("a flow with it")
        };
        let first = with(T::SendTokenRequest);
        let send = first
            .pgo
            .iter()
            .find(|e| e.event_type == T::SendTokenRequest)
            .unwrap();
        assert!(
            first
                .za
                .iter()
                .any(|e| e.event_type == T::ReceiveTokenRequest && e.trace_id == send.trace_id)
        );
        let refresh = with(T::SendRefreshTokenRequest);
        assert!(
            refresh
                .za
                .iter()
                .any(|e| e.event_type == T::ReceiveRefreshTokenRequest)
        );
        assert!(
            !refresh
                .pgo
                .iter()
                .any(|e| e.event_type == T::SendTokenRequest)
        );
        assert!(
            first
                .pgo
                .iter()
                .any(|e| e.event_type == T::SendResourceRequest)
        ); // Besides the chain events, both 2.x sides keep a hash-chained audit log (LOG-1).
        let (za, pgo) = net.verify_v2_logs().expect("the 2.x audit logs verify");
        assert!(za >= 5 && pgo >= 3, "{za} {pgo}");
    }
}
