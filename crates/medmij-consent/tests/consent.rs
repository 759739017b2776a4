//! Texts, decisions, records and provenance (MedMij CONSENT-1, CONSENT-2, CONSENT-3, CONSENT-4), each rule's tests in a module named after it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use medmij_consent::*;
use proptest::prelude::*;

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn vars() -> Variables {
    Variables::new("UMC Harderwijk", "Medicatiegegevens", "Mijn PGO B.V.").unwrap()
}

fn request(flow: &str) -> ConsentRequest {
    ConsentRequest {
        kind: ConsentKind::Toestemming,
        flow: FlowId::new(flow).unwrap(),
        scope: "umcharderwijk~5".parse::<Scope>().unwrap(),
        client: ClientId::new("pgo.example.nl").unwrap(),
        zorgaanbieder: Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap(),
        csrf: CsrfToken::new("0123456789abcdefXYZ").unwrap(),
        asked_at: t(1_700_000_000),
    }
}

fn posted(flow: &str, csrf: &str, decision: &str) -> PostedDecision {
    PostedDecision::from_form(&format!(
        "flow={flow}&csrf_token={csrf}&decision={decision}"
    ))
    .unwrap()
}

mod consent_1 {
    use super::*;

    // MedMij CONSENT-1: the release 1.0 text, word for word, with the three
    // variables in their places.
    #[test]
    fn toestemming_is_the_release_1_0_text() {
        let text = Toestemming::new(vars()).short_text(Language::Nl);
        assert_eq!(
            text,
            "U verleent hierbij 'UMC Harderwijk' toestemming om 'Medicatiegegevens' uit te \
             wisselen met 'Mijn PGO B.V.' voor het doel deze (persoons)gegevens en \
             gezondheidsinformatie in uw persoonlijke gezondheidsomgeving op te nemen."
        );
        // Dutch is the default language.
        assert_eq!(Language::default(), Language::Nl);
        let en = Toestemming::new(vars()).short_text(Language::En);
        assert!(en.contains("'UMC Harderwijk'") && en.contains("'Mijn PGO B.V.'"));
        assert!(en.starts_with("You hereby give"));
    }

    // MedMij CONSENT-1: variables are escaped for HTML, the fixed text is not
    // touched.
    #[test]
    fn variables_are_html_escaped() {
        let v = Variables::new("<b>Kliniek</b> & Co", "Lab \"uitslagen\"", "O'Brien PGO").unwrap();
        let html = Toestemming::new(v).short_html(Language::Nl);
        assert!(html.contains("'&lt;b&gt;Kliniek&lt;/b&gt; &amp; Co'"));
        assert!(html.contains("'Lab &quot;uitslagen&quot;'"));
        assert!(html.contains("'O&#x27;Brien PGO'"));
        assert!(html.contains("(persoons)gegevens"));
        assert!(!html.contains("<b>"));
    }

    // A variable holding a placeholder is not expanded again.
    #[test]
    fn placeholders_in_values_are_not_expanded() {
        let v = Variables::new("{naam leverancier PGO}", "Medicatiegegevens", "Mijn PGO").unwrap();
        let text = Toestemming::new(v).short_text(Language::Nl);
        assert!(text.starts_with("U verleent hierbij '{naam leverancier PGO}' toestemming"));
    }

    #[test]
    fn variables_are_validated() {
        let e = Variables::new("", "Medicatiegegevens", "Mijn PGO").unwrap_err();
        assert_eq!(
            (e.field, e.rule),
            ("naam Zorgaanbieder", medmij_types::RuleId::Consent1)
        );
        let e = Variables::new("UMC", "ab", "Mijn PGO").unwrap_err();
        assert_eq!(e.field, "MedMij-gegevensdienst");
        let e = Variables::new("UMC", "Medicatiegegevens", &"x".repeat(51)).unwrap_err();
        assert_eq!(e.field, "naam leverancier PGO");
        assert!(e.to_string().contains("51 characters"));
        assert!(Variables::new("UMC\u{7}", "Medicatiegegevens", "Mijn PGO").is_err());
        assert!(Variables::new(" UMC", "Medicatiegegevens", "Mijn PGO").is_err());
    }

    // MedMij CONSENT-1: a decision is accepted once, for exactly its own flow,
    // with the right anti-CSRF token.
    #[test]
    fn decision_is_bound_to_one_flow_and_accepted_once() {
        let mut book = DecisionBook::new();
        book.ask(request("flow-a")).unwrap();
        book.ask(request("flow-b")).unwrap();
        assert!(matches!(
            book.ask(request("flow-a")),
            Err(DecisionError::AlreadyAsked { .. })
        ));

        // Wrong token: refused, the question stays open.
        let e = book
            .decide(
                &posted("flow-a", "0123456789abcdefXYW", "grant"),
                Side::Bron,
                t(1_700_000_010),
            )
            .unwrap_err();
        assert!(matches!(e, DecisionError::CsrfMismatch { .. }));
        assert!(book.pending(&FlowId::new("flow-a").unwrap()).is_some());

        let rec = book
            .decide(
                &posted("flow-a", "0123456789abcdefXYZ", "refuse"),
                Side::Bron,
                t(1_700_000_020),
            )
            .unwrap();
        assert_eq!(rec.decision, Decision::Refused);
        assert_eq!(rec.flow.as_str(), "flow-a");
        let again = book
            .decide(
                &posted("flow-a", "0123456789abcdefXYZ", "grant"),
                Side::Bron,
                t(1_700_000_021),
            )
            .unwrap_err();
        assert_eq!(
            again,
            DecisionError::AlreadyDecided {
                flow: FlowId::new("flow-a").unwrap(),
                decision: Decision::Refused
            }
        );
        // flow-b is not affected by flow-a's decision.
        let rec_b = book
            .decide(
                &posted("flow-b", "0123456789abcdefXYZ", "grant"),
                Side::Bron,
                t(1_700_000_030),
            )
            .unwrap();
        assert_eq!(rec_b.decision, Decision::Granted);
        assert!(matches!(
            book.decide(
                &posted("flow-c", "0123456789abcdefXYZ", "grant"),
                Side::Bron,
                t(1)
            ),
            Err(DecisionError::UnknownFlow { .. })
        ));
        // A request decided directly refuses another flow's form.
        let (_, e) = request("flow-x")
            .decide(
                &posted("flow-y", "0123456789abcdefXYZ", "grant"),
                Side::Bron,
                t(2),
            )
            .unwrap_err();
        assert!(matches!(e, DecisionError::WrongFlow { .. }));
    }

    proptest! {
        // Any accepted variable shows up escaped in the HTML and verbatim in the
        // text; no raw markup from a variable reaches the HTML.
        #[test]
        fn any_valid_variable_is_filled_and_escaped(z in "[^\\p{Cc}]{1,100}") {
            prop_assume!(z.trim() == z && !z.trim().is_empty());
            let v = Variables::new(&z, "Medicatiegegevens", "Mijn PGO").unwrap();
            let t = Toestemming::new(v);
            let text = t.full_text(Language::Nl);
            let quoted = format!("'{z}'");
            prop_assert!(text.contains(&quoted));
            let html = t.full_html(Language::Nl);
            let escaped = format!("'{}'", escape_html(&z));
            prop_assert!(html.contains(&escaped));
            let markup = html.chars().filter(|c| matches!(c, '<' | '>' | '"')).count();
            prop_assert_eq!(markup, 0);
        }
    }

    // MedMij CONSENT-1: a question is asked once per run; `forget_before`
    // drops open questions asked before the time given and decided flows
    // decided before it, and keeps those of exactly that time.
    #[test]
    fn forget_before_keeps_the_instant_itself_and_drops_what_came_before() {
        let mut book = DecisionBook::new();
        // `request` asks at 1_700_000_000.
        book.ask(request("flow-open")).unwrap();
        book.ask(request("flow-done")).unwrap();
        book.decide(
            &posted("flow-done", "0123456789abcdefXYZ", "grant"),
            Side::Bron,
            t(1_700_000_100),
        )
        .unwrap();
        let open = FlowId::new("flow-open").unwrap();

        book.forget_before(t(1_700_000_000));
        assert!(book.pending(&open).is_some(), "asked exactly then: kept");
        assert!(matches!(
            book.ask(request("flow-done")),
            Err(DecisionError::AlreadyAsked { .. })
        ));

        book.forget_before(t(1_700_000_001));
        assert!(book.pending(&open).is_none(), "asked before: forgotten");
        assert!(matches!(
            book.decide(
                &posted("flow-open", "0123456789abcdefXYZ", "grant"),
                Side::Bron,
                t(1_700_000_002)
            ),
            Err(DecisionError::UnknownFlow { .. })
        ));
        // Decided at 1_700_000_100: still remembered until a later time.
        assert!(matches!(
            book.ask(request("flow-done")),
            Err(DecisionError::AlreadyAsked { .. })
        ));
        book.forget_before(t(1_700_000_101));
        book.ask(request("flow-done")).unwrap();
    }

    // MedMij CONSENT-1: a refused decision names the flow it was for.
    #[test]
    fn a_flow_is_shown_as_given_and_errors_name_it() {
        let flow = FlowId::new("flow-a.1_~").unwrap();
        assert_eq!(flow.to_string(), "flow-a.1_~");
        let e = DecisionError::AlreadyDecided {
            flow: flow.clone(),
            decision: Decision::Refused,
        };
        assert_eq!(
            e.to_string(),
            "flow flow-a.1_~ was already decided (Refused); a decision is accepted once (MedMij CONSENT-1)"
        );
        let (_, e) = request("flow-x")
            .decide(
                &posted("flow-y", "0123456789abcdefXYZ", "grant"),
                Side::Bron,
                t(2),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the decision is for flow flow-y, the request is for flow flow-x (MedMij CONSENT-1)"
        );
    }
}

mod consent_2 {
    use super::*;

    // MedMij CONSENT-2: the Bevestiging has a default wording with the same
    // variables, and a custom wording must keep every variable exactly once.
    #[test]
    fn bevestiging_template() {
        let b = Bevestiging::new(vars());
        assert_eq!(b.kind(), ConsentKind::Bevestiging);
        let nl = b.full_text(Language::Nl);
        for v in ["UMC Harderwijk", "Medicatiegegevens", "Mijn PGO B.V."] {
            assert!(nl.contains(&format!("'{v}'")), "{nl}");
        }
        let custom = BevestigingTemplate::default()
            .with_wording(
                Language::Nl,
                "Ik bevestig dat {MedMij-gegevensdienst} van {naam leverancier PGO} naar {naam Zorgaanbieder} gaat.",
                "{MedMij-gegevensdienst} naar {naam Zorgaanbieder} via {naam leverancier PGO}?",
            )
            .unwrap();
        let b = Bevestiging::with_template(vars(), custom);
        assert_eq!(
            b.full_text(Language::Nl),
            "Ik bevestig dat Medicatiegegevens van Mijn PGO B.V. naar UMC Harderwijk gaat."
        );
        // The English default is untouched.
        assert!(b.full_text(Language::En).starts_with("You hereby confirm"));
        for bad in [
            "{MedMij-gegevensdienst} {naam leverancier PGO}",
            "{MedMij-gegevensdienst} {naam leverancier PGO} {naam Zorgaanbieder} {naam Zorgaanbieder}",
            "<b>{MedMij-gegevensdienst}</b> {naam leverancier PGO} {naam Zorgaanbieder}",
            "{MedMij-gegevensdienst} {naam leverancier PGO} {naam Zorgaanbieder} {other}",
        ] {
            let e = BevestigingTemplate::default()
                .with_wording(
                    Language::Nl,
                    bad,
                    "{MedMij-gegevensdienst} {naam leverancier PGO} {naam Zorgaanbieder}",
                )
                .unwrap_err();
            assert_eq!(e.rule, medmij_types::RuleId::Consent2);
        }
    }

    // MedMij CONSENT-2: the Bevestiging page, in English.
    #[test]
    fn bevestiging_page_in_english() {
        let flow = FlowId::new("flow-delen").unwrap();
        let csrf = CsrfToken::new("0123456789abcdefXYZ").unwrap();
        let mut opts = PageOptions::new("/delen/bevestiging", &flow, &csrf);
        opts.language = Language::En;
        let b = Bevestiging::new(vars());
        let page = render_page(&b, &opts).unwrap();
        let html = page.html();
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("<h1 id=\"mc-title\">Confirmation</h1>"));
        assert!(html.contains(">Confirm</button>") && html.contains(">Do not confirm</button>"));
        assert!(html.contains(&format!("<p>{}</p>", b.full_html(Language::En))));
        assert!(html.contains(&b.short_html(Language::En)));
        assert!(html.contains("action=\"/delen/bevestiging\""));
    }
}

mod oauth_5 {
    use super::*;

    #[test]
    fn identifiers_are_validated() {
        assert!(Zorgaanbiedernaam::new("umcharderwijk@medmij").is_ok());
        assert!(Zorgaanbiedernaam::new("abc@medmij").is_ok());
        assert!(Zorgaanbiedernaam::new("ab@medmij").is_err()); // 9 characters
        assert!(Zorgaanbiedernaam::new("Umcharderwijk@medmij").is_err());
        assert!("umcharderwijk~4 umcharderwijk~6".parse::<Scope>().is_ok());
        assert!("umcharderwijk~4  umcharderwijk~6".parse::<Scope>().is_err());
        assert!("umcharderwijk~4 anders~6".parse::<Scope>().is_err());
        assert!("umcharderwijk".parse::<Scope>().is_err());
        assert!(ClientId::new("pgo.example.nl").is_ok());
        assert!(ClientId::new("pgo").is_err());
        assert!(ClientId::new("PGO.example.nl").is_err());
        assert!(CsrfToken::new("short").is_err());
        assert!(FlowId::new("a b").is_err());
    }
}

mod oauth_12 {
    use super::*;

    // OAUTH-12 case 5: undetermined.
    #[test]
    fn undetermined_is_recorded_once() {
        let mut book = DecisionBook::new();
        book.ask(request("flow-u")).unwrap();
        let f = FlowId::new("flow-u").unwrap();
        let rec = book.undetermined(&f, Side::Bron, t(1_700_000_900)).unwrap();
        assert_eq!(rec.decision, Decision::Undetermined);
        assert!(book.undetermined(&f, Side::Bron, t(1_700_000_901)).is_err());
        book.forget_before(t(1_800_000_000));
        assert!(matches!(
            book.undetermined(&f, Side::Bron, t(1)),
            Err(DecisionError::UnknownFlow { .. })
        ));
    }
}

mod oauth_14 {
    use super::*;

    #[test]
    fn form_parsing() {
        let p =
            PostedDecision::from_form("decision=grant&flow=f%2D1&csrf_token=abc+def&x=1").unwrap();
        assert_eq!(
            (p.flow.as_str(), p.csrf_token.as_str(), p.decision),
            ("f-1", "abc def", Decision::Granted)
        );
        assert_eq!(
            PostedDecision::from_form("flow=f&decision=grant"),
            Err(FormError::Missing("csrf_token"))
        );
        assert_eq!(
            PostedDecision::from_form("flow=f&flow=g&csrf_token=x&decision=grant"),
            Err(FormError::Repeated("flow"))
        );
        assert!(matches!(
            PostedDecision::from_form("flow=f&csrf_token=x&decision=maybe"),
            Err(FormError::Invalid {
                field: "decision",
                ..
            })
        ));
        assert!(matches!(
            PostedDecision::from_form("flow=%zz"),
            Err(FormError::Malformed(_))
        ));
    }

    // The consent page: self-contained, lang set, both buttons, anti-framing.
    #[test]
    fn page_structure_and_headers() {
        let flow = FlowId::new("flow-html").unwrap();
        let csrf = CsrfToken::new("tok\u{2d}0123456789abcdef").unwrap();
        let v = Variables::new("Kliniek <Oost>", "Medicatiegegevens", "Mijn PGO").unwrap();
        let mut opts = PageOptions::new("/consent", &flow, &csrf);
        opts.language = Language::En;
        opts.body_class = Some("brand-x");
        let page = render_page(&Toestemming::new(v.clone()), &opts).unwrap();
        let html = page.html();
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("'Kliniek &lt;Oost&gt;'"));
        assert!(html.contains("value=\"grant\"") && html.contains("value=\"refuse\""));
        assert!(html.contains("name=\"csrf_token\" value=\"tok-0123456789abcdef\""));
        assert!(html.contains("href=\"#mc-full\"") && html.contains("id=\"mc-full\""));
        assert!(
            !html.contains("http://") && !html.contains("https://") && !html.contains("<script")
        );
        let h = |n: &str| {
            page.headers()
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(h("X-Frame-Options"), "DENY");
        assert!(h("Content-Security-Policy").contains("frame-ancestors 'none'"));
        assert_eq!(h("Cache-Control"), "no-store");
        assert!(
            render_page(
                &Toestemming::new(v.clone()),
                &PageOptions::new("https://evil.example/x", &flow, &csrf)
            )
            .is_err()
        );
        assert!(
            render_page(
                &Toestemming::new(v.clone()),
                &PageOptions::new("//evil.example/x", &flow, &csrf)
            )
            .is_err()
        );
        let mut bad = PageOptions::new("/c", &flow, &csrf);
        bad.extra_css = Some("</style><script>");
        assert!(render_page(&Toestemming::new(v.clone()), &bad).is_err());
        // Without a redirect origin the form may post only to the page's own
        // origin; with one, the redirect after the POST (OAUTH-11) is allowed
        // too, and nothing else.
        assert!(h("Content-Security-Policy").contains("form-action 'self';"));
        let mut with_origin = PageOptions::new("/c", &flow, &csrf);
        with_origin.redirect_origin = Some("https://pgo.example.nl:8443");
        let page = render_page(&Toestemming::new(v.clone()), &with_origin).unwrap();
        let csp = &page
            .headers()
            .iter()
            .find(|(k, _)| *k == "Content-Security-Policy")
            .unwrap()
            .1;
        assert!(
            csp.contains("form-action 'self' https://pgo.example.nl:8443;"),
            "{csp}"
        );
        with_origin.redirect_origin = Some("https://pgo.example.nl; script-src *");
        assert!(render_page(&Toestemming::new(v), &with_origin).is_err());
    }

    proptest! {
        #[test]
        fn posted_form_round_trip(flow in "[A-Za-z0-9._~-]{1,128}", tok in "[A-Za-z0-9._~-]{16,64}", grant: bool) {
            let body = format!("csrf_token={tok}&decision={}&flow={flow}", if grant { "grant" } else { "refuse" });
            let p = PostedDecision::from_form(&body).unwrap();
            prop_assert_eq!(p.flow.as_str(), flow.as_str());
            prop_assert_eq!(p.csrf_token, tok);
            prop_assert_eq!(p.decision, if grant { Decision::Granted } else { Decision::Refused });
        }

        #[test]
        fn form_parser_never_panics(body in ".{0,300}") {
            let _ = PostedDecision::from_form(&body);
        }
    }

    // MedMij OAUTH-14 (bounded resource use): a posted form is read up to
    // 4096 bytes, and refused from 4097 on.
    #[test]
    fn a_form_of_exactly_4096_bytes_is_read_and_one_byte_more_is_not() {
        let head = "flow=f&csrf_token=0123456789abcdef&decision=grant&pad=";
        let at_limit = format!("{head}{}", "x".repeat(4096 - head.len()));
        assert_eq!(at_limit.len(), 4096);
        let p = PostedDecision::from_form(&at_limit).unwrap();
        assert_eq!(p.decision, Decision::Granted);
        let over = format!("{at_limit}x");
        assert_eq!(
            PostedDecision::from_form(&over),
            Err(FormError::Malformed("longer than 4096 bytes".into()))
        );
    }

    // MedMij OAUTH-14 (no framing, a CSP of the page's own), CONSENT-1: the
    // host's page options are checked to their limits before they reach
    // the page or its CSP.
    #[test]
    fn page_options_are_checked_to_their_limits() {
        let flow = FlowId::new("flow-limits").unwrap();
        let csrf = CsrfToken::new("0123456789abcdefXYZ").unwrap();
        let t = Toestemming::new(vars());
        let render = |opts: &PageOptions<'_>| render_page(&t, opts).map(|p| p.html().to_string());
        let refused = |opts: &PageOptions<'_>| match render_page(&t, opts) {
            Err(e) => e.field,
            Ok(_) => panic!("accepted: {opts:?}"),
        };

        // action and full_text_path: a single '/', up to 512 visible ASCII.
        let path512 = format!("/{}", "a".repeat(511));
        assert!(render(&PageOptions::new(&path512, &flow, &csrf)).is_ok());
        let path513 = format!("{path512}a");
        assert_eq!(refused(&PageOptions::new(&path513, &flow, &csrf)), "action");
        for bad in ["consent", "//evil", "/con sent", "/consent\u{e9}"] {
            assert_eq!(
                refused(&PageOptions::new(bad, &flow, &csrf)),
                "action",
                "{bad}"
            );
        }
        let mut opts = PageOptions::new("/c", &flow, &csrf);
        opts.full_text_path = Some(&path512);
        assert!(
            render(&opts)
                .unwrap()
                .contains(&format!("href=\"{path512}\""))
        );
        opts.full_text_path = Some("/full text");
        assert_eq!(refused(&opts), "full_text_path");

        // extra_css: no '<', up to 16 KiB.
        let css = format!("b{{}}{}", " ".repeat(16_384 - 3));
        let mut opts = PageOptions::new("/c", &flow, &csrf);
        opts.extra_css = Some(&css);
        assert!(render(&opts).is_ok());
        let more = format!("{css} ");
        opts.extra_css = Some(&more);
        assert_eq!(refused(&opts), "extra_css");

        // body_class: 1..64 of A-Z a-z 0-9 - _.
        let class64 = format!("Aa0-_{}", "x".repeat(59));
        let mut opts = PageOptions::new("/c", &flow, &csrf);
        opts.body_class = Some(&class64);
        assert!(
            render(&opts)
                .unwrap()
                .contains(&format!("<body class=\"medmij-consent {class64}\">"))
        );
        let class65 = format!("{class64}x");
        for bad in ["", "a b", "a\"b", "a.b", class65.as_str()] {
            opts.body_class = Some(bad);
            assert_eq!(refused(&opts), "body_class", "{bad:?}");
        }

        // redirect_origin: https://host[:port], lowercase DNS host up to 253
        // bytes, a port of 1 to 5 digits.
        let label = "a".repeat(63);
        let host253 = format!("{label}.{label}.{label}.{}", "b".repeat(61));
        assert_eq!(host253.len(), 253);
        let origin = format!("https://{host253}:65535");
        let mut opts = PageOptions::new("/c", &flow, &csrf);
        opts.redirect_origin = Some(&origin);
        let page = render_page(&t, &opts).unwrap();
        let csp = &page
            .headers()
            .iter()
            .find(|(k, _)| *k == "Content-Security-Policy")
            .unwrap()
            .1;
        assert!(
            csp.contains(&format!("form-action 'self' {origin};")),
            "{csp}"
        );
        opts.redirect_origin = Some("https://pgo-2.example.nl");
        assert!(render(&opts).is_ok());
        let host254 = format!("https://{host253}b");
        for bad in [
            host254.as_str(),
            "https://pgo.example.nl:123456",
            "https://pgo.example.nl:80a",
            "https://pgo.example.nl:",
            "https://:443",
            "https://pgo_x.example.nl",
            "pgo.example.nl",
        ] {
            opts.redirect_origin = Some(bad);
            assert_eq!(refused(&opts), "redirect_origin", "{bad}");
        }
    }
}

mod consent_3 {
    use super::*;

    // MedMij CONSENT-3: time, profile "expliciete toestemming", via MedMij, on
    // both sides.
    #[test]
    fn consent_records() {
        let rec = request("flow-r")
            .decide(
                &posted("flow-r", "0123456789abcdefXYZ", "grant"),
                Side::Bron,
                t(1_700_000_042),
            )
            .unwrap();
        let json = rec.to_json();
        assert!(
            json.contains("\"profile\":\"expliciete toestemming\""),
            "{json}"
        );
        assert!(json.contains("\"channel\":\"MedMij\""));
        assert!(
            json.contains("\"recorded_at\":\"2023-11-14T22:14:02.000000Z\""),
            "{json}"
        );
        assert!(
            json.contains("\"asked_at\":\"2023-11-14T22:13:20.000000Z\""),
            "{json}"
        );
        assert!(
            !json.contains("0123456789abcdefXYZ"),
            "the CSRF token is not recorded"
        );
        let back: ConsentRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, rec);
        assert_eq!(back.reference(), rec.reference());

        let pgo = ConsentRecord::received_by_pgo(
            ConsentKind::Toestemming,
            rec.flow.clone(),
            rec.scope.clone(),
            rec.client.clone(),
            rec.zorgaanbieder.clone(),
            t(1_700_000_050),
        );
        assert_eq!(
            (pgo.side, pgo.decision, pgo.asked_at),
            (Side::Pgo, Decision::Granted, None)
        );
        assert_ne!(pgo.reference(), rec.reference());
        assert!(pgo.reference().as_str().starts_with("sha256:"));
        assert_eq!(pgo.reference().as_str().len(), 7 + 64);
    }
}

mod consent_4 {
    use super::*;

    // MedMij CONSENT-4: provenance is bound to the content by its SHA-256.
    #[test]
    fn provenance_and_placement() {
        let consent = request("flow-p")
            .decide(
                &posted("flow-p", "0123456789abcdefXYZ", "grant"),
                Side::Pgo,
                t(1_700_000_000),
            )
            .unwrap()
            .reference();
        let bron = Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap();
        let lezer = Zorgaanbiedernaam::new("huisartsdelen@medmij").unwrap();
        let dienst = GegevensdienstNaam::new("Medicatiegegevens").unwrap();
        let id = ItemId::new("med-1").unwrap();
        let item = CollectedItem::receive(
            id.clone(),
            b"content v1".to_vec(),
            bron.clone(),
            dienst.clone(),
            consent.clone(),
            t(1_700_000_100),
        );
        assert_eq!(item.verify(), Integrity::Unchanged);
        // Content changed in storage: detected.
        let tampered = CollectedItem::from_parts(b"content v2".to_vec(), item.provenance().clone());
        match tampered.verify() {
            Integrity::Changed { recorded, now } => {
                assert_eq!(recorded, ContentDigest::of(b"content v1"));
                assert_eq!(now, ContentDigest::of(b"content v2"));
            }
            other => panic!("change not detected: {other:?}"),
        }
        let mut dossier = Dossier::new();
        dossier.collect(item.clone()).unwrap();
        assert_eq!(
            dossier.collect(item.clone()),
            Err(DossierError::Duplicate(id.clone()))
        );
        assert_eq!(dossier.verify(&id), Ok(Integrity::Unchanged));
        let placement = dossier
            .place(
                &id,
                lezer.clone(),
                dienst.clone(),
                consent.clone(),
                t(1_700_000_200),
            )
            .unwrap()
            .clone();
        assert_eq!(placement.origin.as_ref().map(|o| &o.bron), Some(&bron));
        assert_eq!(placement.verify(b"content v1"), Integrity::Unchanged);
        assert_ne!(placement.verify(b"content v1 "), Integrity::Unchanged);
        assert_eq!(dossier.collected_from(&bron).count(), 1);
        assert_eq!(dossier.collected_from(&lezer).count(), 0);
        assert_eq!(dossier.placed_with(&lezer).count(), 1);
        let json = serde_json::to_string(item.provenance()).unwrap();
        assert!(json.contains(&ContentDigest::of(b"content v1").to_string()));
        let back: Provenance = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, item.provenance());
        assert!(dossier.verify(&ItemId::new("nope").unwrap()).is_err());
    }

    // MedMij CONSENT-4: the consent reference reads the same as text and
    // as `Display`; a dossier's errors name the item.
    #[test]
    fn references_and_item_ids_are_shown_as_they_are() {
        let rec = request("flow-s")
            .decide(
                &posted("flow-s", "0123456789abcdefXYZ", "grant"),
                Side::Pgo,
                t(1_700_000_000),
            )
            .unwrap();
        let reference = rec.reference();
        assert_eq!(reference.to_string(), reference.as_str());
        assert!(reference.to_string().starts_with("sha256:"));
        assert_eq!(reference.to_string().len(), 7 + 64);

        let id = ItemId::new("med-1.a_~").unwrap();
        assert_eq!(id.to_string(), "med-1.a_~");
        let mut dossier = Dossier::new();
        let item = CollectedItem::receive(
            id.clone(),
            b"content".to_vec(),
            Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap(),
            GegevensdienstNaam::new("Medicatiegegevens").unwrap(),
            reference,
            t(1_700_000_100),
        );
        dossier.collect(item.clone()).unwrap();
        assert_eq!(
            dossier.collect(item).unwrap_err().to_string(),
            "item med-1.a_~ is already in the dossier (MedMij CONSENT-4)"
        );
        assert_eq!(
            dossier
                .verify(&ItemId::new("other").unwrap())
                .unwrap_err()
                .to_string(),
            "item other is not in the dossier"
        );
    }

    // MedMij CONSENT-4: the digest bound to an item is the SHA-256 of its
    // content, as bytes and as lowercase hex.
    #[test]
    fn the_content_digest_is_the_sha256_of_the_content() {
        let d = ContentDigest::of(b"abc");
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(d.to_string(), hex);
        let bytes: Vec<String> = d.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(bytes.concat(), hex);
        assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{hex}\""));
    }
}
