//! Release 1.5 multi-service consent end to end (MedMij OAUTH-5, OAUTH-17,
//! CONSENT-1): one login and one Toestemming for both Verzamelen
//! Gegevensdiensten of the demo's Zorgaanbieder, one code and token for exactly
//! both pairs, each Gegevensdienst served with that one token.

use medmij_examples::demo::{Actor, StepOutcome};
use medmij_examples::demo::{ConsentChoice, Network};
use medmij_types::RuleId;

mod oauth_5 {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn one_consent_and_one_token_collect_both_gegevensdiensten() {
        let net = Network::start(false).await.expect("network starts");
        let run = net
            .verzamelen_multi(ConsentChoice::Grant)
            .await
            .expect("flow runs");
        assert!(run.token_obtained, "{run:?}");
        assert_eq!(run.error, None, "{run:?}");
        assert_eq!(
            run.message,
            "Uw Medicatieoverzicht en Basisgegevens Zorg van umcdemo@medmij zijn opgehaald."
        );

        // Both stored, each with its own provenance (CONSENT-4).
        let mut items = net.dossier_items();
        items.sort_by(|a, b| a.2.cmp(&b.2));
        let names: Vec<(&str, bool)> = items.iter().map(|i| (i.2.as_str(), i.1)).collect();
        assert_eq!(
            names,
            [("Basisgegevens Zorg", true), ("Medicatieoverzicht", true)]
        );

        let steps = net.trace().steps();
        let count = |actor: Actor, rule: RuleId| {
            steps
                .iter()
                .filter(|s| s.is(actor, rule, StepOutcome::Done))
                .count()
        };
        // One login, one consent naming both Weergavenamen as CONSENT-1 writes them.
        assert_eq!(count(Actor::DigidStandIn, RuleId::Oauth11), 1, "{steps:#?}");
        assert_eq!(count(Actor::ZaGw, RuleId::Consent1), 1, "{steps:#?}");
        let consent = steps
            .iter()
            .find(|s| s.is(Actor::ZaGw, RuleId::Consent1, StepOutcome::Done))
            .expect("the Toestemming step");
        // The text shown, as CONSENT-1 writes it (data, not narrative).
        assert!(
            consent
                .text
                .contains("'Medicatieoverzicht' en 'Basisgegevens Zorg'"),
            "{consent:#?}"
        );
        let count_text = |needle: &str| steps.iter().filter(|s| s.text.contains(needle)).count();
        // Code and token for exactly both pairs; each Gegevensdienst read with it.
        assert_eq!(
            count_text("checked strictly (bearer, 900 s, scope umcdemo~4 umcdemo~5)"),
            1,
            "{steps:#?}"
        );
        assert_eq!(
            count_text("FHIR read with a valid Bearer token for scope umcdemo~4 umcdemo~5"),
            2,
            "{steps:#?}"
        );
        // OAUTH-17: both Gegevensdiensten read with the one token.
        assert_eq!(
            net.za_log_event_types().await.unwrap(),
            ["consent.granted", "oauth.token", "fhir.read", "fhir.read"]
        );
        let evidence = net.za_evidence().unwrap();
        assert_eq!(evidence.len(), 1);
        assert_eq!(evidence[0].scope, "umcdemo~4 umcdemo~5");
        net.verify_logs().await.expect("logs verify");
    }

    // A single-service request still works next to it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_single_pair_request_is_served_as_before() {
        let net = Network::start(false).await.expect("network starts");
        let run = net.verzamelen(ConsentChoice::Grant).await.unwrap();
        assert!(run.collected.is_some(), "{run:?}");
        assert_eq!(net.dossier_items().len(), 1);
    }
}
