//! The 2.x screens (MedMij CONSENT-6, OAUTH-22, OAUTH-23), without a
//! browser; tests/browser_v2.rs drives them in Chromium.

use std::time::{Duration, UNIX_EPOCH};

use medmij_consent::v2::*;
use medmij_consent::*;
use proptest::prelude::*;

fn names() -> Names {
    Names::new("UMC <Harderwijk>", "Mijn PGO B.V.").unwrap()
}

fn csrf() -> CsrfToken {
    CsrfToken::new("0123456789abcdefXYZ").unwrap()
}

fn header(p: &ConsentPage, name: &str) -> String {
    p.headers()
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.clone())
        .unwrap()
}

fn assert_protected(p: &ConsentPage) {
    assert_eq!(header(p, "X-Frame-Options"), "DENY");
    let csp = header(p, "Content-Security-Policy");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(header(p, "Cache-Control"), "no-store");
    assert!(!p.html().contains("<script"));
}

mod consent_6 {
    use super::*;

    proptest! {
        // Bad input never panics: the 2.x form parsers and the export verifier.
        #[test]
        fn v2_parsers_never_panic(body in ".{0,300}") {
            let _ = PostedV2Decision::from_form(&body);
            let _ = PostedManagement::from_form(&body);
            let _ = ReturnUrl::new(&body);
            let _ = medmij_consent::evidence::verify_export(&body, None);
            let mut r = medmij_consent::evidence::LedgerReader::new(Vec::new(), None, "fuzz");
            let _ = r.line(&body);
        }

        #[test]
        fn v2_decision_round_trip(flow in "[A-Za-z0-9._~-]{1,64}", tok in "[A-Za-z0-9._~-]{16,64}", grant: bool, indefinite: bool) {
            let body = format!(
                "decision={}&csrf_token={tok}{}&flow={flow}",
                if grant { "grant" } else { "refuse" },
                if indefinite { "&indefinite=yes" } else { "" }
            );
            let p = PostedV2Decision::from_form(&body).unwrap();
            prop_assert_eq!(p.flow.as_str(), flow.as_str());
            prop_assert_eq!(p.indefinite, indefinite);
            prop_assert_eq!(p.long_lasting(), grant && indefinite);
        }
    }

    // MedMij CONSENT-6: names Aanbieder and PGO, no Gegevensdienst; the four
    // points; the indefinite choice never preselected; grant and refuse.
    #[test]
    fn consent_screen_names_both_explains_four_points_and_never_preselects() {
        let flow = FlowId::new("flow-v2").unwrap();
        let csrf = csrf();
        let texts = ScreenTexts::nl();
        let page = render_consent(
            &texts,
            &names(),
            &ScreenOptions::new("/toestemming", &csrf).with_flow(&flow),
        )
        .unwrap();
        let html = page.html();
        assert_protected(&page);
        assert!(html.contains("<h1 id=\"mc-title\">Toestemming geven</h1>"));
        assert!(html.contains("UMC &lt;Harderwijk&gt;") && html.contains("Mijn PGO B.V."));
        assert!(!html.contains("{Naam"), "placeholder left: {html}");
        assert!(!html.contains("gegevensdienst") && !html.contains("Medicatie"));
        for (i, needle) in [
            "Zonder uw toestemming worden er geen gegevens gedeeld",
            "onbepaalde tijd",
            "zes maanden",
            "Toestemmingen aanpassen",
        ]
        .iter()
        .enumerate()
        {
            let li = html
                .split(&format!("<li id=\"mc-point-{}\">", i + 1))
                .nth(1)
                .unwrap();
            assert!(
                li.split("</li>").next().unwrap().contains(needle),
                "point {}",
                i + 1
            );
        }
        assert!(html.contains("DigiD"));
        let checkbox = html
            .split("<input type=\"checkbox\"")
            .nth(1)
            .unwrap()
            .split('>')
            .next()
            .unwrap();
        assert!(!checkbox.contains("checked"), "preselected: {checkbox}");
        assert!(html.contains("value=\"grant\"") && html.contains("value=\"refuse\""));
        assert!(html.contains("name=\"csrf_token\" value=\"0123456789abcdefXYZ\""));
        assert!(html.contains("name=\"flow\" value=\"flow-v2\""));
        // A name holding a placeholder is not expanded again.
        let odd = Names::new("{Naam PGO} Zorg", "Mijn PGO B.V.").unwrap();
        let p = render_consent(
            &texts,
            &odd,
            &ScreenOptions::new("/t", &csrf).with_flow(&flow),
        )
        .unwrap();
        assert!(p.html().contains("{Naam PGO} Zorg"));
        // Without a flow the screen cannot be rendered.
        assert!(render_consent(&texts, &names(), &ScreenOptions::new("/t", &csrf)).is_err());
    }

    // MedMij CONSENT-6, OAUTH-19: the parsed decision carries the choice.
    #[test]
    fn posted_decision_carries_the_indefinite_choice() {
        let p = PostedV2Decision::from_form(
            "flow=f1&csrf_token=0123456789abcdefXYZ&indefinite=yes&decision=grant",
        )
        .unwrap();
        assert_eq!(
            (p.decision, p.indefinite, p.long_lasting()),
            (Decision::Granted, true, true)
        );
        let p = PostedV2Decision::from_form("flow=f1&csrf_token=x&decision=grant").unwrap();
        assert_eq!((p.indefinite, p.long_lasting()), (false, false));
        let p = PostedV2Decision::from_form("flow=f1&csrf_token=x&indefinite=yes&decision=refuse")
            .unwrap();
        assert_eq!((p.decision, p.long_lasting()), (Decision::Refused, false));
        // The book checks the flow and the token and accepts it once.
        let mut book = DecisionBook::new();
        book.ask(ConsentRequest {
            kind: ConsentKind::Toestemming,
            flow: FlowId::new("f1").unwrap(),
            scope: "umcharderwijk~1".parse().unwrap(),
            client: ClientId::new("pgo.example.nl").unwrap(),
            zorgaanbieder: Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap(),
            csrf: csrf(),
            asked_at: UNIX_EPOCH,
        })
        .unwrap();
        let wrong =
            PostedV2Decision::from_form("flow=f1&csrf_token=0123456789abcdefXYz&decision=grant")
                .unwrap();
        assert!(matches!(
            book.decide(&wrong.as_posted(), Side::Bron, UNIX_EPOCH),
            Err(DecisionError::CsrfMismatch { .. })
        ));
        let right = PostedV2Decision::from_form(
            "flow=f1&csrf_token=0123456789abcdefXYZ&indefinite=yes&decision=grant",
        )
        .unwrap();
        let rec = book
            .decide(&right.as_posted(), Side::Bron, UNIX_EPOCH)
            .unwrap();
        assert_eq!(rec.decision, Decision::Granted);
        assert!(
            book.decide(&right.as_posted(), Side::Bron, UNIX_EPOCH)
                .is_err()
        );
        for bad in [
            "flow=f1&csrf_token=x&indefinite=no&decision=grant",
            "flow=f1&csrf_token=x&indefinite=yes&indefinite=yes&decision=grant",
            "flow=f1&csrf_token=x&decision=maybe",
            "csrf_token=x&decision=grant",
            "flow=f1&decision=grant",
            "flow=%zz&csrf_token=x&decision=grant",
        ] {
            assert!(PostedV2Decision::from_form(bad).is_err(), "{bad}");
        }
    }

    // MedMij CONSENT-6: the provisional texts are replaceable as a whole,
    // in one place, and checked.
    #[test]
    fn texts_are_replaceable_whole_and_checked() {
        let flow = FlowId::new("f").unwrap();
        let csrf = csrf();
        let opts = ScreenOptions::new("/t", &csrf).with_flow(&flow);
        let mut own = ScreenTexts::en();
        own.consent_title = "Mag {Naam PGO} ophalen?".into();
        let page = render_consent(&own, &names(), &opts).unwrap();
        assert!(page.html().contains("<html lang=\"en\">"));
        assert!(
            page.html()
                .contains("<h1 id=\"mc-title\">Mag Mijn PGO B.V. ophalen?</h1>")
        );
        let mut bad = ScreenTexts::nl();
        bad.consent_intro = "U deelt {MedMij-gegevensdienst}.".into();
        let e = render_consent(&bad, &names(), &opts).unwrap_err();
        assert_eq!(e.rule, medmij_types::RuleId::Consent6);
        let mut bad = ScreenTexts::nl();
        bad.consent_intro = "Geen namen.".into();
        bad.consent_statement = "Ook hier niet.".into();
        assert!(render_consent(&bad, &names(), &opts).is_err());
        let mut bad = ScreenTexts::nl();
        bad.consent_points[2] = " ".into();
        assert!(bad.check().is_err());
        assert!(ScreenTexts::nl().check().is_ok() && ScreenTexts::en().check().is_ok());
        let mut bad = ScreenTexts::nl();
        bad.failure_contact = "Bel ons.".into();
        assert_eq!(bad.check().unwrap_err().rule, medmij_types::RuleId::Oauth23);
    }

    // MedMij CONSENT-6: each text of the host's own is 1 to 2000 characters
    // without control characters.
    #[test]
    fn each_text_is_at_most_2000_characters_without_control_characters() {
        let mut own = ScreenTexts::nl();
        own.grant = "é".repeat(2000);
        assert!(own.check().is_ok());
        own.grant.push('é');
        let e = own.check().unwrap_err();
        assert_eq!(
            (e.field, e.rule, e.reason.as_str()),
            (
                "grant",
                medmij_types::RuleId::Consent6,
                "must be 1 to 2000 characters without control characters"
            )
        );
        let mut own = ScreenTexts::nl();
        own.refuse = "Nee\u{7}".into();
        let e = own.check().unwrap_err();
        assert_eq!(
            (e.field, e.rule),
            ("refuse", medmij_types::RuleId::Consent6)
        );
    }
}

mod consent_5 {
    use super::*;

    // MedMij CONSENT-5: the 2.x texts shown go into the evidence with their
    // version and the filled names; another wording has another version.
    #[test]
    fn shown_2x_texts_for_the_evidence() {
        let shown = ScreenTexts::nl().shown_consent(&names()).unwrap();
        assert_eq!(shown.version, "toestemming-2.x/default-provisional-nl");
        assert_eq!(shown.variables["Naam Aanbieder"], "UMC <Harderwijk>");
        assert_eq!(shown.variables["Naam PGO"], "Mijn PGO B.V.");
        assert_eq!(shown.text.lines().count(), 7);
        assert!(shown.text.contains("Toestemmingen aanpassen") && !shown.text.contains("{Naam"));
        let t = ScreenTexts::nl().shown_termination(&names()).unwrap();
        assert!(t.text.starts_with("Beëindigingsverklaring Toestemming\n"));
        let mut own = ScreenTexts::nl();
        own.grant = "Ja".into();
        let v = own.version();
        assert!(
            v.starts_with("toestemming-2.x/custom-") && v.len() == 39,
            "{v}"
        );
        assert_eq!(
            ScreenTexts::en().version(),
            "toestemming-2.x/default-provisional-en"
        );
    }
}

mod oauth_22 {
    use super::*;

    // MedMij OAUTH-22, CONSENT-6: the overview lists each long-lasting
    // consent with a withdraw action; the termination statement confirms.
    #[test]
    fn overview_and_termination_statement() {
        let csrf = csrf();
        let opts = ScreenOptions::new("/toestemmingen", &csrf);
        let consents = [
            LongLastingConsent {
                handle: ConsentHandle::new("c1").unwrap(),
                aanbieder: ZorgaanbiederNaam::new("UMC Harderwijk").unwrap(),
                given_at: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            },
            LongLastingConsent {
                handle: ConsentHandle::new("c2").unwrap(),
                aanbieder: ZorgaanbiederNaam::new("Huisarts <West>").unwrap(),
                given_at: UNIX_EPOCH + Duration::from_secs(1_710_000_000),
            },
        ];
        let back = ReturnUrl::new("https://pgo.example.nl/cb?state=s1").unwrap();
        let pgo = PgoLeverancierNaam::new("Mijn PGO B.V.").unwrap();
        let page =
            render_overview(&ScreenTexts::nl(), &pgo, &consents, Some(&back), &opts).unwrap();
        let html = page.html();
        assert_protected(&page);
        assert_eq!(
            html.matches("name=\"action\" value=\"withdraw\"").count(),
            2
        );
        assert!(
            html.contains("name=\"consent\" value=\"c1\"")
                && html.contains("name=\"consent\" value=\"c2\"")
        );
        assert!(html.contains("Huisarts &lt;West&gt;"));
        assert!(html.contains("datetime=\"2023-11-14T22:13:20.000000Z\">2023-11-14</time>"));
        assert!(html.contains("href=\"https://pgo.example.nl/cb?state=s1\""));
        assert_eq!(html.matches("name=\"csrf_token\"").count(), 2);
        let empty = render_overview(&ScreenTexts::nl(), &pgo, &[], None, &opts).unwrap();
        assert!(empty.html().contains("id=\"mc-empty\"") && !empty.html().contains("mc-back"));

        let t =
            render_termination(&ScreenTexts::nl(), &names(), &consents[0].handle, &opts).unwrap();
        assert_protected(&t);
        assert!(
            t.html()
                .contains("<h1 id=\"mc-title\">Beëindigingsverklaring Toestemming</h1>")
        );
        assert!(t.html().contains("value=\"confirm\"") && t.html().contains("value=\"cancel\""));

        let p = PostedManagement::from_form("csrf_token=k&consent=c1&action=confirm").unwrap();
        assert_eq!(
            (p.consent.as_str(), p.action),
            ("c1", ManageAction::Confirm)
        );
        assert_eq!(
            PostedManagement::from_form("csrf_token=k&consent=c2&action=withdraw")
                .unwrap()
                .action,
            ManageAction::Withdraw
        );
        for bad in [
            "csrf_token=k&consent=c1&action=delete",
            "csrf_token=k&consent=c%20d&action=confirm",
            "consent=c1&action=confirm",
            "csrf_token=k&consent=c1&consent=c2&action=confirm",
        ] {
            assert!(PostedManagement::from_form(bad).is_err(), "{bad}");
        }
    }
}

mod oauth_23 {
    use super::*;

    const TRACE: &str = "3f2b8c1e-9d4a-4e7b-8a6f-0c1d2e3f4a5b";
    const SESSION: &str = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";

    // MedMij OAUTH-23: both ids, the ZA GW's name and contact; a way back
    // only with a valid return URL.
    #[test]
    fn failure_page_shows_ids_name_contact_and_back_only_when_valid() {
        let back = ReturnUrl::new("https://pgo.example.nl/cb?error=access_denied&state=s").unwrap();
        let pgo = PgoLeverancierNaam::new("Mijn PGO B.V.").unwrap();
        let info = FailureInfo {
            trace_id: Some(TRACE),
            session_id: Some(SESSION),
            za_gw_name: "DVZA Oost",
            contact: "support@dvza.example.nl",
            back: Some(&back),
            pgo: Some(&pgo),
        };
        let page = render_failure(&ScreenTexts::nl(), &info).unwrap();
        assert_protected(&page);
        let html = page.html();
        assert!(html.contains(&format!("<dd id=\"mc-trace-id\"><code>{TRACE}</code></dd>")));
        assert!(html.contains(&format!(
            "<dd id=\"mc-session-id\"><code>{SESSION}</code></dd>"
        )));
        assert!(html.contains("Trace ID") && html.contains("Session ID"));
        assert!(html.contains(
            "Neem dan contact op met <strong id=\"mc-za-gw\">DVZA Oost</strong> \
             (<span id=\"mc-contact-value\">support@dvza.example.nl</span>)"
        ));
        assert!(
            html.contains("href=\"https://pgo.example.nl/cb?error=access_denied&amp;state=s\"")
        );
        assert!(html.contains("Terug naar Mijn PGO B.V."));
        // No valid return URL: no way back. A malformed id is not echoed.
        let info = FailureInfo {
            back: None,
            trace_id: Some("<script>alert(1)</script>"),
            session_id: None,
            ..info
        };
        let html = render_failure(&ScreenTexts::nl(), &info)
            .unwrap()
            .html()
            .to_string();
        assert!(!html.contains("mc-back") && !html.contains("<a "));
        assert!(!html.contains("alert"));
        assert_eq!(html.matches("niet ontvangen").count(), 2);
        // At most 2048 bytes: the limit itself is allowed.
        let at_limit = format!("https://pgo.example.nl/cb?s={}", "a".repeat(2048 - 28));
        assert_eq!(at_limit.len(), 2048);
        assert_eq!(ReturnUrl::new(&at_limit).unwrap().as_str(), at_limit);
        let over = format!("{at_limit}a");
        assert_eq!(
            ReturnUrl::new(&over).unwrap_err().rule,
            medmij_types::RuleId::Oauth23
        );
        for bad in [
            "http://pgo.example.nl/cb",
            "https://pgo.example.nl/cb#x",
            "https:///cb",
            "https://pgo.example.nl/cb\"onmouseover=x",
            "javascript:alert(1)",
            "https://user@evil/",
        ] {
            let e = ReturnUrl::new(bad).unwrap_err();
            assert_eq!(e.rule, medmij_types::RuleId::Oauth23, "{bad}");
        }
        let info = FailureInfo {
            za_gw_name: "",
            ..info
        };
        assert!(render_failure(&ScreenTexts::nl(), &info).is_err());
    }

    // MedMij OAUTH-23: an identifier is shown only in the full UUID form;
    // a part of one, or one with more after it, is "not received".
    #[test]
    fn only_a_whole_uuid_is_shown_as_an_identifier() {
        let info = FailureInfo {
            trace_id: Some("3f2b8c1e"),
            session_id: Some("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d0"),
            za_gw_name: "DVZA Oost",
            contact: "support@dvza.example.nl",
            back: None,
            pgo: None,
        };
        let html = render_failure(&ScreenTexts::nl(), &info)
            .unwrap()
            .html()
            .to_string();
        assert!(!html.contains("<code>"), "{html}");
        assert_eq!(html.matches("niet ontvangen").count(), 2);
        let info = FailureInfo {
            trace_id: Some("3F2B8C1E-9D4A-4E7B-8A6F-0C1D2E3F4A5B"),
            ..info
        };
        let html = render_failure(&ScreenTexts::nl(), &info)
            .unwrap()
            .html()
            .to_string();
        assert!(html.contains(
            "<dd id=\"mc-trace-id\"><code>3F2B8C1E-9D4A-4E7B-8A6F-0C1D2E3F4A5B</code></dd>"
        ));
    }

    // MedMij OAUTH-23: the ZA GW's name and contact are 1 to 200
    // characters without control characters.
    #[test]
    fn name_and_contact_are_at_most_200_characters_without_control_characters() {
        let long = "é".repeat(200);
        let info = FailureInfo {
            trace_id: None,
            session_id: None,
            za_gw_name: &long,
            contact: &long,
            back: None,
            pgo: None,
        };
        assert!(render_failure(&ScreenTexts::nl(), &info).is_ok());
        let longer = "é".repeat(201);
        for (name, contact, field) in [
            (longer.as_str(), "support", "za_gw_name"),
            ("DVZA Oost", longer.as_str(), "contact"),
            ("DVZA\u{7} Oost", "support", "za_gw_name"),
            ("DVZA Oost", "support\n", "contact"),
        ] {
            let info = FailureInfo {
                za_gw_name: name,
                contact,
                ..info.clone()
            };
            let e = render_failure(&ScreenTexts::nl(), &info).unwrap_err();
            assert_eq!(
                (e.field, e.rule, e.reason.as_str()),
                (
                    field,
                    medmij_types::RuleId::Oauth23,
                    "must be 1 to 200 characters without control characters"
                ),
                "{name:?} {contact:?}"
            );
        }
    }
}

mod oauth_14 {
    use super::*;

    // MedMij OAUTH-14 (bounded resource use), CONSENT-6: the 2.x forms are
    // read up to 4096 bytes, and refused from 4097 on.
    #[test]
    fn a_form_of_exactly_4096_bytes_is_read_and_one_byte_more_is_not() {
        let head = "flow=f&csrf_token=0123456789abcdef&decision=grant&indefinite=yes&pad=";
        let at_limit = format!("{head}{}", "x".repeat(4096 - head.len()));
        assert_eq!(at_limit.len(), 4096);
        assert!(
            PostedV2Decision::from_form(&at_limit)
                .unwrap()
                .long_lasting()
        );
        assert_eq!(
            PostedV2Decision::from_form(&format!("{at_limit}x")),
            Err(FormError::Malformed("longer than 4096 bytes".into()))
        );
        let head = "csrf_token=k&consent=c1&action=confirm&pad=";
        let at_limit = format!("{head}{}", "x".repeat(4096 - head.len()));
        assert_eq!(
            PostedManagement::from_form(&at_limit).unwrap().action,
            ManageAction::Confirm
        );
        assert_eq!(
            PostedManagement::from_form(&format!("{at_limit}x")),
            Err(FormError::Malformed("longer than 4096 bytes".into()))
        );
    }
}
