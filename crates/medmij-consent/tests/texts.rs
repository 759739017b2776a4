//! The texts of the Toestemming and the Bevestiging and the pages that show
//! them (MedMij CONSENT-1, CONSENT-2).

use medmij_consent::*;

/// The Toestemming as quoted in the MedMij rules (CONSENT-1), the block
/// quote copied line for line, `  > ` prefixes and all.
const RULEBOOK_QUOTE: &str =
    "  > Het doel van het MedMij Afsprakenstelsel is dat eenieder die dat wil, kan
  > beschikken over een Persoonlijke Gezondheidsomgeving (PGO) waarin - onder
  > uw eigen regie - (persoons)gegevens en/of informatie over uw gezondheid
  > wordt opgenomen. Om de PGO te voorzien van de door u gewenste
  > (persoons)gegevens en/of gezondheidsinformatie zijn in het MedMij
  > Afsprakenstelsel afspraken gemaakt over de uitwisseling van deze gegevens.
  > Het uitwisselen van gegevens tussen de zorgaanbieder en uw PGO verloopt
  > zodoende via partijen die voldoen aan deze MedMij-afspraken.
  >
  > Op grond van de Wet geneeskundige behandelingsovereenkomst (WGBO) is de
  > zorgaanbieder verplicht ervoor te zorgen dat ‘anderen’ dan de patiënt
  > (lees: u) geen inlichtingen hebben over, inzage hebben in of een afschrift
  > hebben van uw medisch dossier, tenzij u hiervoor toestemming heeft
  > verleend.
  >
  > Aangezien uw PGO (en eventuele achterliggende partij die werkt volgens de
  > MedMij-afspraken) een zogenaamde ‘andere’ is (in de zin van de WGBO) dient
  > u de zorgaanbieder voor deze gegevensuitwisseling toestemming te verlenen.
  > Deze toestemming heeft specifiek betrekking op de set van (persoons)
  > gegevens en gezondheidsinformatie die, op uw verzoek, door de
  > zorgaanbieder - overeenkomstig de afspraken in het MedMij Afsprakenstelsel
  > - worden uitgewisseld met uw PGO.
  >
  > U verleent hierbij '{naam Zorgaanbieder}' toestemming om
  > '{MedMij-gegevensdienst}' uit te wisselen met '{naam leverancier PGO}' voor
  > het doel deze (persoons)gegevens en gezondheidsinformatie in uw
  > persoonlijke gezondheidsomgeving op te nemen.";

/// Joins the block quote the way Markdown reads it: lines of a paragraph
/// with one space, paragraphs with an empty line.
fn unquote(q: &str) -> String {
    let mut paragraphs: Vec<String> = vec![String::new()];
    for line in q.lines() {
        let l = line.strip_prefix("  >").unwrap();
        let l = l.strip_prefix(' ').unwrap_or(l);
        if l.is_empty() {
            paragraphs.push(String::new());
            continue;
        }
        let p = paragraphs.last_mut().unwrap();
        if !p.is_empty() {
            p.push(' ');
        }
        p.push_str(l);
    }
    paragraphs.join("\n\n")
}

fn vars() -> Variables {
    Variables::new("UMC Harderwijk", "Medicatiegegevens", "Mijn PGO B.V.").unwrap()
}

mod consent_1 {
    use super::*;

    // MedMij CONSENT-1: the full text is the rulebook's, character for
    // character, typographic quotes and the three paragraphs before the
    // operative one included.
    #[test]
    fn full_text_is_the_rulebook_text_character_for_character() {
        let rulebook = unquote(RULEBOOK_QUOTE);
        assert_eq!(TOESTEMMING_VOLLEDIG_NL, rulebook);
        assert_eq!(rulebook.split("\n\n").count(), 4);
        assert!(rulebook.contains("\u{2018}anderen\u{2019}"));
        assert!(rulebook.contains("\u{2018}andere\u{2019}"));
        assert!(TOESTEMMING_VOLLEDIG_NL.ends_with(TOESTEMMING_NL));
        // Where the rulebook itself is at hand, the quote above is still
        // the one in it.
        if let Ok(book) = std::fs::read_to_string("/work/shared/spec/MEDMIJ-RULES.md") {
            assert!(book.contains(RULEBOOK_QUOTE), "the rulebook quote changed");
        }
    }

    // MedMij CONSENT-1: full text with the variables filled; the short
    // screen shows the operative paragraph with the variables filled.
    #[test]
    fn short_is_the_operative_paragraph_filled() {
        let t = Toestemming::new(vars());
        let short = t.short_text(Language::Nl);
        assert_eq!(
            short,
            "U verleent hierbij 'UMC Harderwijk' toestemming om 'Medicatiegegevens' uit te \
             wisselen met 'Mijn PGO B.V.' voor het doel deze (persoons)gegevens en \
             gezondheidsinformatie in uw persoonlijke gezondheidsomgeving op te nemen."
        );
        let full = t.full_text(Language::Nl);
        let expected = TOESTEMMING_VOLLEDIG_NL
            .replace("{naam Zorgaanbieder}", "UMC Harderwijk")
            .replace("{MedMij-gegevensdienst}", "Medicatiegegevens")
            .replace("{naam leverancier PGO}", "Mijn PGO B.V.");
        assert_eq!(full, expected);
        assert!(full.ends_with(&short));
    }

    fn names(n: usize) -> Vec<String> {
        [
            "Medicatiegegevens",
            "Allergiegegevens",
            "Labuitslagen",
            "Vaccinaties",
        ][..n]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    // MedMij CONSENT-1, OAUTH-5: with several Gegevensdiensten every
    // Weergavenaam is named, written 'A', 'B' en 'C'.
    #[test]
    fn several_gegevensdiensten_are_named_as_the_rule_writes_them() {
        let expected = [
            "'Medicatiegegevens'",
            "'Medicatiegegevens' en 'Allergiegegevens'",
            "'Medicatiegegevens', 'Allergiegegevens' en 'Labuitslagen'",
            "'Medicatiegegevens', 'Allergiegegevens', 'Labuitslagen' en 'Vaccinaties'",
        ];
        for (n, want) in (1..=4).zip(expected) {
            let ns = names(n);
            let refs: Vec<&str> = ns.iter().map(String::as_str).collect();
            let v = Variables::several("UMC Harderwijk", &refs, "Mijn PGO B.V.").unwrap();
            assert_eq!(v.gegevensdiensten().count(), n);
            let t = Toestemming::new(v);
            let short = t.short_text(Language::Nl);
            assert_eq!(
                short,
                format!(
                    "U verleent hierbij 'UMC Harderwijk' toestemming om {want} uit te wisselen \
                     met 'Mijn PGO B.V.' voor het doel deze (persoons)gegevens en \
                     gezondheidsinformatie in uw persoonlijke gezondheidsomgeving op te nemen."
                ),
                "{n} names"
            );
            assert!(t.full_text(Language::Nl).ends_with(&short));
            if n > 1 {
                assert!(t.short_text(Language::En).contains("' and '"));
            }
        }
        // Escaped in HTML like any variable.
        let v = Variables::several("UMC", &["Lab <a>", "Lab & Co"], "Mijn PGO").unwrap();
        assert!(
            Toestemming::new(v)
                .short_html(Language::Nl)
                .contains("'Lab &lt;a&gt;' en 'Lab &amp; Co'")
        );
        // None, or an invalid name, is refused with the rule.
        let e = Variables::several("UMC", &[], "Mijn PGO").unwrap_err();
        assert_eq!(
            (e.field, e.rule),
            ("MedMij-gegevensdienst", medmij_types::RuleId::Consent1)
        );
        assert!(Variables::several("UMC", &["Medicatiegegevens", "x"], "Mijn PGO").is_err());
    }

    // MedMij CONSENT-1, OAUTH-5: the variables straight from a multi-pair
    // scope and a GNL lookup.
    #[test]
    fn variables_from_a_scope() {
        let scope: Scope = "umcharderwijk~4 umcharderwijk~1 umcharderwijk~49"
            .parse()
            .unwrap();
        let gnl = |id: &str| {
            match id {
                "1" => Some("Basisgegevens Zorg"),
                "4" => Some("Medicatiegegevens"),
                "49" => Some("Vaccinaties"),
                _ => None,
            }
            .map(String::from)
        };
        let v = Variables::from_scope("UMC Harderwijk", &scope, gnl, "Mijn PGO B.V.").unwrap();
        assert!(Toestemming::new(v).short_text(Language::Nl).contains(
            "'Medicatiegegevens', 'Basisgegevens Zorg' en 'Vaccinaties' uit te wisselen"
        ));
        let scope: Scope = "umcharderwijk~4 umcharderwijk~7".parse().unwrap();
        let e = Variables::from_scope("UMC", &scope, gnl, "Mijn PGO").unwrap_err();
        assert!(e.reason.contains("GegevensdienstId 7"), "{e}");
    }

    // MedMij CONSENT-1: the screen shows the short version and links to the
    // full text, which is served as its own page.
    #[test]
    fn screen_links_to_the_full_text_page() {
        let flow = FlowId::new("flow-1").unwrap();
        let csrf = CsrfToken::new("0123456789abcdefXYZ").unwrap();
        let t = Toestemming::new(vars());
        let mut opts = PageOptions::new("/consent", &flow, &csrf);
        opts.full_text_path = Some("/consent/volledige-tekst?flow=flow-1");
        let page = render_page(&t, &opts).unwrap();
        let html = page.html();
        assert!(html.contains(&format!(
            "<p id=\"mc-short\" class=\"mc-short\">{}</p>",
            t.short_html(Language::Nl)
        )));
        assert!(html.contains("href=\"/consent/volledige-tekst?flow=flow-1\""));
        assert!(!html.contains("Het doel van het MedMij Afsprakenstelsel"));
        let full = render_full_text_page(&t, Language::Nl, Some("/consent")).unwrap();
        let fh = full.html();
        for p in t.full_html(Language::Nl).split("\n\n") {
            assert!(
                fh.contains(&format!("<p>{p}</p>")),
                "paragraph missing: {p}"
            );
        }
        assert!(fh.contains("\u{2018}anderen\u{2019}"));
        assert!(fh.contains("href=\"/consent\""));
        assert!(
            full.headers()
                .contains(&("X-Frame-Options", "DENY".to_string()))
        );
        // Without a path the full text follows on the same page.
        let inline = render_page(&t, &PageOptions::new("/consent", &flow, &csrf)).unwrap();
        assert!(inline.html().contains("href=\"#mc-full\""));
        let section = inline.html().split("id=\"mc-full-text\"").nth(1).unwrap();
        assert_eq!(section.matches("<p>").count(), 4);
        // Bad paths are refused.
        opts.full_text_path = Some("https://evil.example/");
        assert!(render_page(&t, &opts).is_err());
        assert!(render_full_text_page(&t, Language::Nl, Some("//evil")).is_err());
    }

    // MedMij CONSENT-1, OAUTH-5: up to 64 Gegevensdiensten are named; a
    // 65th is refused with the rule.
    #[test]
    fn at_most_64_gegevensdiensten_are_named() {
        let ns: Vec<String> = (1..=65).map(|i| format!("Dienst {i:02}")).collect();
        let refs: Vec<&str> = ns.iter().map(String::as_str).collect();
        let v = Variables::several("UMC", &refs[..64], "Mijn PGO").unwrap();
        assert_eq!(v.gegevensdiensten().count(), 64);
        assert!(
            Toestemming::new(v)
                .short_text(Language::Nl)
                .contains("'Dienst 01', 'Dienst 02', ")
        );
        let e = Variables::several("UMC", &refs, "Mijn PGO").unwrap_err();
        assert_eq!(
            (e.field, e.rule, e.reason.as_str()),
            (
                "MedMij-gegevensdienst",
                medmij_types::RuleId::Consent1,
                "65 Gegevensdiensten given; at most 64 are shown"
            )
        );
    }
}

mod consent_2 {
    use super::*;

    // MedMij CONSENT-2: the provisional default is replaceable as a whole.
    #[test]
    fn bevestiging_default_is_replaceable_whole() {
        let t = BevestigingTemplate::replace_all(
            "Ik stuur {MedMij-gegevensdienst} via {naam leverancier PGO} naar {naam Zorgaanbieder}.",
            "{MedMij-gegevensdienst} naar {naam Zorgaanbieder} ({naam leverancier PGO})?",
            "I send {MedMij-gegevensdienst} via {naam leverancier PGO} to {naam Zorgaanbieder}.",
            "{MedMij-gegevensdienst} to {naam Zorgaanbieder} ({naam leverancier PGO})?",
        )
        .unwrap();
        let b = Bevestiging::with_template(vars(), t);
        assert_eq!(
            b.full_text(Language::Nl),
            "Ik stuur Medicatiegegevens via Mijn PGO B.V. naar UMC Harderwijk."
        );
        assert_eq!(
            b.short_text(Language::En),
            "Medicatiegegevens to UMC Harderwijk (Mijn PGO B.V.)?"
        );
        // Unquoted placeholder, several names: A, B en C.
        let v = Variables::several(
            "UMC",
            &["Medicatiegegevens", "Labuitslagen", "Vaccinaties"],
            "Mijn PGO",
        )
        .unwrap();
        let t = BevestigingTemplate::replace_all(
            "Ik stuur {MedMij-gegevensdienst} via {naam leverancier PGO} naar {naam Zorgaanbieder}.",
            "{MedMij-gegevensdienst} {naam Zorgaanbieder} {naam leverancier PGO}",
            "{MedMij-gegevensdienst} {naam Zorgaanbieder} {naam leverancier PGO}",
            "{MedMij-gegevensdienst} {naam Zorgaanbieder} {naam leverancier PGO}",
        )
        .unwrap();
        assert_eq!(
            Bevestiging::with_template(v, t).full_text(Language::Nl),
            "Ik stuur Medicatiegegevens, Labuitslagen en Vaccinaties via Mijn PGO naar UMC."
        );
        // A bad English text refuses the whole replacement.
        assert!(
            BevestigingTemplate::replace_all(
                "{MedMij-gegevensdienst} {naam leverancier PGO} {naam Zorgaanbieder}",
                "{MedMij-gegevensdienst} {naam leverancier PGO} {naam Zorgaanbieder}",
                "{MedMij-gegevensdienst} {naam leverancier PGO}",
                "{MedMij-gegevensdienst} {naam leverancier PGO} {naam Zorgaanbieder}",
            )
            .is_err()
        );
        // The default is the provisional one, kept in one place.
        assert_eq!(BEVESTIGING_NL, medmij_consent::provisional::BEVESTIGING_NL);
    }

    // MedMij CONSENT-2: the names are written 'A', 'B' en 'C' only when the
    // placeholder stands between two quotes; a quote on one side only is
    // the wording's own and the names are listed A, B en C.
    #[test]
    fn a_quote_on_one_side_of_the_placeholder_lists_the_names_unquoted() {
        let v = Variables::several(
            "UMC",
            &["Medicatiegegevens", "Labuitslagen", "Vaccinaties"],
            "Mijn PGO",
        )
        .unwrap();
        let t = BevestigingTemplate::replace_all(
            "Ik stuur '{MedMij-gegevensdienst} via {naam leverancier PGO} naar {naam Zorgaanbieder}.",
            "{MedMij-gegevensdienst}' naar {naam Zorgaanbieder} ({naam leverancier PGO})?",
            "I send '{MedMij-gegevensdienst}' via {naam leverancier PGO} to {naam Zorgaanbieder}.",
            "{MedMij-gegevensdienst} to {naam Zorgaanbieder} ({naam leverancier PGO})?",
        )
        .unwrap();
        let b = Bevestiging::with_template(v, t);
        assert_eq!(
            b.full_text(Language::Nl),
            "Ik stuur 'Medicatiegegevens, Labuitslagen en Vaccinaties via Mijn PGO naar UMC."
        );
        assert_eq!(
            b.short_text(Language::Nl),
            "Medicatiegegevens, Labuitslagen en Vaccinaties' naar UMC (Mijn PGO)?"
        );
        assert_eq!(
            b.full_text(Language::En),
            "I send 'Medicatiegegevens', 'Labuitslagen' and 'Vaccinaties' via Mijn PGO to UMC."
        );
    }

    // MedMij CONSENT-2: a wording of the host's own may be 1000 characters
    // long, not one more.
    #[test]
    fn a_wording_may_be_exactly_1000_characters_long() {
        let base = "{MedMij-gegevensdienst} {naam leverancier PGO} {naam Zorgaanbieder}";
        let at_limit = format!("{base}{}", "é".repeat(1000 - base.chars().count()));
        assert_eq!(at_limit.chars().count(), 1000);
        let t = BevestigingTemplate::default()
            .with_wording(Language::Nl, &at_limit, base)
            .unwrap();
        assert!(
            Bevestiging::with_template(vars(), t)
                .full_text(Language::Nl)
                .ends_with("éé")
        );
        let over = format!("{at_limit}é");
        let e = BevestigingTemplate::default()
            .with_wording(Language::Nl, &over, base)
            .unwrap_err();
        assert_eq!(
            (e.field, e.rule, e.reason.as_str()),
            (
                "Bevestiging full text",
                medmij_types::RuleId::Consent2,
                "is longer than 1000 characters"
            )
        );
    }

    // MedMij CONSENT-2: the Bevestiging screen shows its wording with the
    // variables HTML-escaped, short above the buttons and full below.
    #[test]
    fn the_bevestiging_html_is_its_wording_with_the_variables_escaped() {
        let v = Variables::new("Kliniek <Oost>", "Lab & Co", "Mijn \"PGO\"").unwrap();
        let b = Bevestiging::new(v);
        let short = "Bevestigt u dat 'Lab &amp; Co' uit uw persoonlijke gezondheidsomgeving bij \
                     'Mijn &quot;PGO&quot;' beschikbaar wordt gesteld aan 'Kliniek &lt;Oost&gt;'?";
        let full = "U bevestigt hierbij dat 'Lab &amp; Co' uit uw persoonlijke gezondheidsomgeving \
                    bij 'Mijn &quot;PGO&quot;' beschikbaar wordt gesteld aan 'Kliniek &lt;Oost&gt;'.";
        assert_eq!(b.short_html(Language::Nl), short);
        assert_eq!(b.full_html(Language::Nl), full);
        let flow = FlowId::new("flow-delen").unwrap();
        let csrf = CsrfToken::new("0123456789abcdefXYZ").unwrap();
        let page = render_page(&b, &PageOptions::new("/delen", &flow, &csrf)).unwrap();
        assert!(page.html().contains(short));
        assert!(page.html().contains(&format!("<p>{full}</p>")));
    }
}

/// Every variable and identifier type (the crate's `text_newtype!` and `ascii_newtype!`
/// macros write each) keeps its value through every door in and out, and every door in
/// refuses what `new` refuses, naming the field and the rule.
mod variable_types {
    use super::*;
    use medmij_types::RuleId;

    macro_rules! doors {
        ($t:ident, field = $field:literal, rule = $rule:expr, valid = $valid:expr, invalid = $invalid:expr) => {{
            let v = $t::new($valid).unwrap();
            assert_eq!(v.as_str(), $valid);
            assert_eq!($t::try_from($valid.to_owned()).unwrap(), v);
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, serde_json::to_string($valid).unwrap());
            assert_eq!(serde_json::from_str::<$t>(&json).unwrap(), v);
            for e in [
                $t::new($invalid).unwrap_err(),
                $t::try_from($invalid.to_owned()).unwrap_err(),
            ] {
                assert_eq!((e.field, e.rule), ($field, $rule), stringify!($t));
            }
            let refused = serde_json::to_string($invalid).unwrap();
            assert!(serde_json::from_str::<$t>(&refused).is_err());
            assert_eq!(String::from(v), $valid);
        }};
    }

    mod consent_1 {
        use super::*;

        #[test]
        fn the_three_variables_keep_their_text_through_every_door() {
            doors!(
                ZorgaanbiederNaam,
                field = "naam Zorgaanbieder",
                rule = RuleId::Consent1,
                valid = "Ziekenhuis Harderwijk",
                invalid = " Ziekenhuis"
            );
            doors!(
                GegevensdienstNaam,
                field = "MedMij-gegevensdienst",
                rule = RuleId::Consent1,
                valid = "Basisgegevens Zorg",
                invalid = "BG"
            );
            doors!(
                PgoLeverancierNaam,
                field = "naam leverancier PGO",
                rule = RuleId::Consent1,
                valid = "Mijn PGO B.V.",
                invalid = "PG"
            );
            for (shown, valid) in [
                (
                    ZorgaanbiederNaam::new("Ziekenhuis Harderwijk")
                        .unwrap()
                        .to_string(),
                    "Ziekenhuis Harderwijk",
                ),
                (
                    GegevensdienstNaam::new("Basisgegevens Zorg")
                        .unwrap()
                        .to_string(),
                    "Basisgegevens Zorg",
                ),
                (
                    PgoLeverancierNaam::new("Mijn PGO B.V.")
                        .unwrap()
                        .to_string(),
                    "Mijn PGO B.V.",
                ),
            ] {
                assert_eq!(shown, valid);
            }
        }

        #[test]
        fn a_flow_id_keeps_its_text_through_every_door() {
            doors!(
                FlowId,
                field = "flow",
                rule = RuleId::Consent1,
                valid = "flow-1_a.b~c",
                invalid = "flow 1"
            );
        }
    }

    mod consent_4 {
        use super::*;

        #[test]
        fn an_item_id_keeps_its_text_through_every_door() {
            doors!(
                ItemId,
                field = "item",
                rule = RuleId::Consent4,
                valid = "ms-48.a",
                invalid = "ms/48"
            );
        }
    }

    mod oauth_14 {
        use super::*;

        #[test]
        fn a_csrf_token_keeps_its_text_through_every_door() {
            doors!(
                CsrfToken,
                field = "csrf_token",
                rule = RuleId::Oauth14,
                valid = "0123456789abcdef-_.~",
                invalid = "0123456789abcde"
            );
        }
    }
}
