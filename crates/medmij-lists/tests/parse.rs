//! Parsing behaviour: error reports, hostile input, lookups and the
//! serialization round trip (MedMij LISTS-1, LISTS-2, LISTS-3, LISTS-4,
//! LISTS-5, LISTS-6, LISTS-7).

use medmij_lists::*;
use proptest::prelude::*;

const WHL_NS: &str = "xmlns://afsprakenstelsel.medmij.nl/whitelist/release2/";
const ZAL_NS: &str = "xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release2/";

fn whl(nodes: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Whitelist xmlns=\"{WHL_NS}\">\n  <Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel>\n  <Volgnummer>3</Volgnummer>\n  <MedMijNodes>{nodes}</MedMijNodes>\n</Whitelist>\n"
    )
}

fn node(h: &str) -> String {
    format!("<MedMijNode><Hostname>{h}</Hostname></MedMijNode>")
}

fn first_error(xml: &[u8]) -> ParseError {
    Whitelist::from_bytes(xml)
        .expect_err("must be refused")
        .first()
        .clone()
}

// ------------------------------------------------ what every list type shares

/// What the crate's `list_common!` and `impl_list!` macros write for every list type:
/// equality on the content, field by field (`changed` holds the list with another
/// Tijdstempel, another Volgnummer and other entries), and `MedMijList` doors that give
/// what the type's own methods give (`xml` is the type's own `to_xml`).
fn shared_doors<L: MedMijList + std::fmt::Debug>(list: &L, xml: &str, changed: &[L]) {
    assert_eq!(<L as MedMijList>::to_xml(list), xml);
    let back = <L as MedMijList>::parse(xml.as_bytes(), &ParseOptions::default()).unwrap();
    assert_eq!(&back, list);
    assert_eq!(
        (
            <L as MedMijList>::tijdstempel(&back),
            <L as MedMijList>::volgnummer(&back)
        ),
        (
            <L as MedMijList>::tijdstempel(list),
            <L as MedMijList>::volgnummer(list)
        )
    );
    for (i, c) in changed.iter().enumerate() {
        assert_ne!(c, list, "change {i} not seen");
    }
}

fn ts(s: &str) -> Tijdstempel {
    Tijdstempel::new(s).unwrap()
}

fn vn(s: &str) -> Volgnummer {
    Volgnummer::new(s).unwrap()
}

// ------------------------------------------------ round trip (property)

fn s(re: &str) -> impl Strategy<Value = String> {
    proptest::string::string_regex(re).expect("regex")
}

fn tijdstempel() -> impl Strategy<Value = Tijdstempel> {
    (0u64..4_000_000_000).prop_map(|secs| {
        Tijdstempel::from_system_time(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
    })
}

fn volgnummer() -> impl Strategy<Value = Volgnummer> {
    s("[1-9][0-9]{0,40}").prop_map(|d| Volgnummer::new(&d).unwrap())
}

/// Any XML character but the controls, plus the whitespace that must survive
/// (CR is written as a character reference).
fn text(min: usize, max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(prop_oneof![8 => any::<char>().prop_filter("xml char", |c| !c.is_control() && !matches!(*c, '\u{FFFE}' | '\u{FFFF}')), 1 => Just('\r'), 1 => Just('\n'), 1 => Just('&'), 1 => Just('<')], min..=max)
        .prop_map(|cs| cs.into_iter().collect())
}

fn host() -> impl Strategy<Value = String> {
    s("[a-z0-9][a-z0-9-]{0,6}(\\.[a-z0-9][a-z0-9-]{0,6}){0,2}\\.[a-z0-9][a-z0-9-]{0,5}[a-z0-9]")
}

fn gegevensdienst(id: String) -> impl Strategy<Value = Gegevensdienst> {
    let port = s("(:[0-9]{1,5})?");
    (
        host(),
        s("(/[^?#/\\p{Cc}\\x{FFFE}\\x{FFFF}]{1,5}){0,3}"),
        host(),
        port,
        proptest::collection::btree_map(text(1, 30), (host(), s("(/[a-z]{1,5}){0,2}")), 1..3),
    )
        .prop_map(move |(ah, ap, th, port, rollen)| {
            let rollen = rollen
                .into_iter()
                .map(|(code, (rh, rp))| {
                    Systeemrol::new(
                        Systeemrolcode::new(&code).unwrap(),
                        BackChannelUri::new(&format!("https://{rh}{rp}")).unwrap(),
                    )
                })
                .collect();
            Gegevensdienst::new(
                GegevensdienstId::new(&id).unwrap(),
                FrontChannelUri::new(&format!("https://{ah}{ap}")).unwrap(),
                BackChannelUri::new(&format!("https://{th}{port}")).unwrap(),
                rollen,
            )
            .unwrap()
        })
}

fn zal() -> impl Strategy<Value = Zorgaanbiederslijst> {
    let provider = (
        s("[a-z]{3,12}@medmij"),
        proptest::collection::btree_set(text(1, 30), 1..4),
    )
        .prop_flat_map(|(naam, ids)| {
            let diensten: Vec<_> = ids.into_iter().map(gegevensdienst).collect();
            (Just(naam), diensten)
        });
    (
        tijdstempel(),
        volgnummer(),
        proptest::collection::vec(provider, 0..6),
    )
        .prop_map(|(t, v, ps)| {
            let mut seen = std::collections::BTreeSet::new();
            let ps = ps
                .into_iter()
                .filter(|(n, _)| seen.insert(n.clone()))
                .map(|(n, ds)| Zorgaanbieder::new(Zorgaanbiedernaam::new(&n).unwrap(), ds).unwrap())
                .collect();
            Zorgaanbiederslijst::new(ZalRelease::Release2, t, v, ps).unwrap()
        })
}

mod lists_7 {
    use super::*;

    #[test]
    fn error_names_rule_path_and_position() {
        let xml = whl(&format!(
            "\n    {}\n    {}",
            node("a.example.nl"),
            node("B.example.nl")
        ));
        let e = first_error(xml.as_bytes());
        assert_eq!(
            e.rule,
            medmij_lists::RuleId::Lists4,
            "Hostname pattern is defined in LISTS-4"
        );
        assert_eq!(e.path, "/Whitelist/MedMijNodes/MedMijNode[2]/Hostname");
        assert_eq!((e.position.line, e.position.column), (7, 17));
        assert!(matches!(
            e.kind,
            ErrorKind::InvalidValue {
                element: "Hostname",
                violation: FacetViolation::Pattern { .. },
                ..
            }
        ));
        let shown = e.to_string();
        assert!(
            shown.starts_with("7:17: /Whitelist/MedMijNodes/MedMijNode[2]/Hostname: "),
            "{shown}"
        );
        assert!(shown.ends_with("(MedMij LISTS-4)"), "{shown}");
    }

    #[test]
    fn value_errors_are_all_collected() {
        let xml = whl(&[
            node("A.nl"),
            node("ok.example.nl"),
            node("x"),
            node("ok.example.nl"),
        ]
        .concat());
        let errors = Whitelist::from_bytes(xml.as_bytes()).unwrap_err();
        let kinds: Vec<_> = errors.errors().iter().map(|e| e.path.clone()).collect();
        assert_eq!(errors.errors().len(), 3, "{errors}");
        assert_eq!(kinds[0], "/Whitelist/MedMijNodes/MedMijNode[1]/Hostname");
        assert_eq!(kinds[1], "/Whitelist/MedMijNodes/MedMijNode[3]/Hostname");
        assert!(matches!(
            errors.errors()[2].kind,
            ErrorKind::Duplicate { .. }
        ));
        // max_errors bounds the collection.
        let one =
            Whitelist::from_bytes_with(xml.as_bytes(), &ParseOptions::default().max_errors(1))
                .unwrap_err();
        assert_eq!(one.errors().len(), 1);
        // Every error is reported, one per line, in document order.
        let lines: Vec<String> = errors.errors().iter().map(ToString::to_string).collect();
        assert_eq!(errors.to_string(), lines.join("\n"));
        assert!(lines[0].contains("MedMijNode[1]/Hostname"), "{}", lines[0]);
        let owned: Vec<ParseError> = errors.clone().into_iter().collect();
        assert_eq!(owned, errors.errors());
    }

    /// The XML rules a list must meet beyond its schema (MedMij LISTS-7):
    /// predefined entities and character references, the XML declaration,
    /// processing instructions and namespace declarations.
    #[test]
    fn xml_edge_cases_are_read_as_xml_reads_them() {
        let doc = |before_root: &str, root_attrs: &str, host: &str| {
            format!(
                "{before_root}<Whitelist xmlns=\"{WHL_NS}\"{root_attrs}><Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel><Volgnummer>3</Volgnummer><MedMijNodes><MedMijNode><Hostname>{host}</Hostname></MedMijNode></MedMijNodes></Whitelist>"
            )
        };
        let xml_ns = "http://www.w3.org/XML/1998/namespace";
        let xsi = "http://www.w3.org/2001/XMLSchema-instance";
        let accepted = [
            doc("<?xml version=\"1.0\" standalone=\"no\"?>", "", "a.nl"),
            doc("<?xml-stylesheet href=\"x\"?>", "", "a.nl"),
            doc("", " xmlns:p=\"urn:x\"", "a.nl"),
            doc("", &format!(" xmlns:xml=\"{xml_ns}\""), "a.nl"),
            doc("", "", "&#x61;.n&#108;"),
            // Both location attributes of XML Schema, through two prefixes.
            doc(
                "",
                &format!(
                    " xmlns:a=\"{xsi}\" xmlns:b=\"{xsi}\" a:schemaLocation=\"x y\" b:noNamespaceSchemaLocation=\"z\""
                ),
                "a.nl",
            ),
        ];
        for xml in &accepted {
            let list = Whitelist::from_bytes(xml.as_bytes());
            assert!(list.is_ok(), "{xml}: {}", list.unwrap_err());
        }
        let refused = [
            doc("<?xml version=\"1.0\" standalone=\"maybe\"?>", "", "a.nl"),
            // The declaration only at the very start.
            doc("<!-- c --><?xml version=\"1.0\"?>", "", "a.nl"),
            // Reserved or missing processing instruction targets.
            doc("<?XmL x?>", "", "a.nl"),
            doc("<? x?>", "", "a.nl"),
            // Undeclaring a prefix, declaring `xmlns`, binding `xml` elsewhere
            // or another prefix to the XML namespace.
            doc("", " xmlns:p=\"\"", "a.nl"),
            doc("", " xmlns:xmlns=\"urn:x\"", "a.nl"),
            doc("", " xmlns:xml=\"urn:x\"", "a.nl"),
            doc("", &format!(" xmlns:p=\"{xml_ns}\""), "a.nl"),
            // A sign is no digit of a character reference.
            doc("", "", "&#x+61;.nl"),
            doc("", "", "&#+97;.nl"),
            // One attribute twice, through two prefixes bound to one namespace.
            doc(
                "",
                &format!(
                    " xmlns:a=\"{xsi}\" xmlns:b=\"{xsi}\" a:schemaLocation=\"x y\" b:schemaLocation=\"x y\""
                ),
                "a.nl",
            ),
        ];
        for xml in &refused {
            let e = Whitelist::from_bytes(xml.as_bytes()).expect_err(xml);
            assert!(
                matches!(e.first().kind, ErrorKind::Malformed(_)),
                "{xml}: {e}"
            );
            assert_eq!(e.first().rule, medmij_lists::RuleId::Lists7, "{xml}: {e}");
        }
        // The predefined entities stand for their characters.
        let gnl = "<Gegevensdienstnamenlijst xmlns=\"xmlns://afsprakenstelsel.medmij.nl/gegevensdienstnamenlijst/release1/\"><Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel><Volgnummer>3</Volgnummer><Gegevensdiensten><Gegevensdienst><GegevensdienstId>4</GegevensdienstId><Weergavenaam>&apos;a&quot; &lt;b&gt; &amp;</Weergavenaam></Gegevensdienst></Gegevensdiensten></Gegevensdienstnamenlijst>";
        let list = Gegevensdienstnamenlijst::from_bytes(gnl.as_bytes()).unwrap();
        assert_eq!(list.weergavenaam("4").unwrap().as_str(), "'a\" <b> &");
        // Line ends in a value are normalized (CR LF and a lone CR become
        // LF), whatever else the value holds.
        let crlf = gnl.replace("&apos;a&quot; &lt;b&gt; &amp;", "x\r\ny]z\rw");
        let list = Gegevensdienstnamenlijst::from_bytes(crlf.as_bytes()).unwrap();
        assert_eq!(list.weergavenaam("4").unwrap().as_str(), "x\ny]z\nw");
        // Below the root, an element in no namespace is in the wrong one,
        // and an unbound prefix is named as such.
        let none = whl(&node("a.nl")).replace("<MedMijNode>", "<MedMijNode xmlns=\"\">");
        let e = Whitelist::from_bytes(none.as_bytes()).unwrap_err();
        assert!(
            matches!(
                &e.first().kind,
                ErrorKind::WrongNamespace { found: None, .. }
            ),
            "{none}: {e}"
        );
        let unbound = whl("<q:MedMijNode><Hostname>a.nl</Hostname></q:MedMijNode>");
        let e = Whitelist::from_bytes(unbound.as_bytes()).unwrap_err();
        assert!(
            e.to_string().contains("unbound namespace prefix"),
            "{unbound}: {e}"
        );
        // A prefix declared below the root counts by the namespace it is
        // bound to: the list's own, or another one, which is refused.
        let nodes = |decl: &str, prefix: &str| {
            whl("").replace(
                "<MedMijNodes></MedMijNodes>",
                &format!("<MedMijNodes {decl}><{prefix}MedMijNode><{prefix}Hostname>a.nl</{prefix}Hostname></{prefix}MedMijNode></MedMijNodes>"),
            )
        };
        let own = nodes(&format!("xmlns:w=\"{WHL_NS}\""), "w:");
        assert!(
            Whitelist::from_bytes(own.as_bytes())
                .unwrap()
                .contains("a.nl"),
            "{own}"
        );
        let other = nodes("xmlns:w=\"urn:x\"", "w:");
        let e = Whitelist::from_bytes(other.as_bytes()).unwrap_err();
        assert!(
            matches!(e.first().kind, ErrorKind::WrongNamespace { .. }),
            "{other}: {e}"
        );
        // A prefix that is not bound is named as such.
        let e = Whitelist::from_bytes(
            doc("", "", "a.nl")
                .replace("<Whitelist xmlns", "<w:Whitelist xmlns")
                .replace("</Whitelist>", "</w:Whitelist>")
                .as_bytes(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("unbound namespace prefix"), "{e}");
    }

    /// Hostile input is refused at the byte where it goes wrong, a
    /// byte-order mark counted (MedMij LISTS-7).
    #[test]
    fn bad_bytes_are_placed_at_their_offset() {
        for bom in ["", "\u{FEFF}"] {
            let base = bom.len();
            let mut not_utf8 = format!("{bom}<Whitelist>").into_bytes();
            not_utf8.push(0xFF);
            let e = Whitelist::from_bytes(&not_utf8).unwrap_err();
            assert_eq!(e.first().kind, ErrorKind::NotUtf8);
            assert_eq!(e.first().position.offset, base + 11, "bom {base}");
            let control = format!("{bom}<Whitelist>\u{1}");
            let e = Whitelist::from_bytes(control.as_bytes()).unwrap_err();
            assert_eq!(e.first().kind, ErrorKind::IllegalCharacter('\u{1}'));
            assert_eq!(e.first().position.offset, base + 11, "bom {base}");
        }
    }

    /// A list is read up to `max_input_size` bytes and not one more:
    /// oversized input is refused before it is parsed (MedMij LISTS-7).
    #[test]
    fn a_reader_is_read_up_to_the_limit() {
        let xml = whl(&node("a.example.nl"));
        let n = xml.len();
        assert_eq!(read_limited(xml.as_bytes(), n).unwrap(), xml.as_bytes());
        let too_large = |r: Result<Whitelist, ReadError>| match r {
            Err(ReadError::Invalid(e)) => e.first().clone(),
            other => panic!("{other:?}"),
        };
        let e = match read_limited(xml.as_bytes(), n - 1) {
            Err(ReadError::Invalid(e)) => e.first().clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(e.kind, ErrorKind::TooLarge { limit: n - 1 });
        assert_eq!(e.rule, medmij_lists::RuleId::Lists7);
        assert!(
            e.to_string()
                .contains(&format!("larger than the limit of {} bytes", n - 1)),
            "{e}"
        );
        let list =
            Whitelist::from_reader(xml.as_bytes(), &ParseOptions::default().max_input_size(n))
                .unwrap();
        assert!(list.contains("a.example.nl"));
        let e = too_large(Whitelist::from_reader(
            xml.as_bytes(),
            &ParseOptions::default().max_input_size(n - 1),
        ));
        assert_eq!(e.kind, ErrorKind::TooLarge { limit: n - 1 });
    }

    #[test]
    fn structure_errors() {
        type Check = fn(&ErrorKind) -> bool;
        let cases: &[(&str, Check)] = &[
            ("<MedMijNode/>", |k| {
                matches!(
                    k,
                    ErrorKind::MissingElement {
                        expected: "Hostname"
                    }
                )
            }),
            (
                "<MedMijNode><Hostname>a.bc</Hostname><Extra/></MedMijNode>",
                |k| matches!(k, ErrorKind::UnexpectedElement { .. }),
            ),
            ("text", |k| matches!(k, ErrorKind::UnexpectedText)),
            (
                "<MedMijNode xmlns=\"urn:x\"><Hostname>a.bc</Hostname></MedMijNode>",
                |k| matches!(k, ErrorKind::WrongNamespace { .. }),
            ),
            (
                "<MedMijNode foo=\"1\"><Hostname>a.bc</Hostname></MedMijNode>",
                |k| matches!(k, ErrorKind::UnexpectedAttribute { .. }),
            ),
            ("<MedMijNode><Hostname>a.bc</Hostname></MedMijNodes>", |k| {
                matches!(k, ErrorKind::Malformed(_))
            }),
            ("&unknown;", |k| matches!(k, ErrorKind::Malformed(_))),
        ];
        for (body, check) in cases {
            let e = first_error(whl(body).as_bytes());
            assert!(check(&e.kind), "{body}: {e}");
            assert!(e.position.line >= 1);
        }
        // Header order (LISTS-1: Tijdstempel, Volgnummer, then entries).
        let swapped = format!(
            "<Whitelist xmlns=\"{WHL_NS}\"><Volgnummer>3</Volgnummer><Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel><MedMijNodes/></Whitelist>"
        );
        assert!(matches!(
            first_error(swapped.as_bytes()).kind,
            ErrorKind::UnexpectedElement { .. }
        ));
    }

    #[test]
    fn hostile_input_is_refused() {
        // MedMij LISTS-7: DOCTYPE (and with it entity expansion) is refused.
        let bomb = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]>{}",
            whl("")
        );
        let e = first_error(bomb.as_bytes());
        assert_eq!(e.kind, ErrorKind::Doctype);
        assert_eq!(e.rule, medmij_lists::RuleId::Lists7);

        // Not UTF-8 (Latin-1 é), and a declared other encoding.
        let mut latin1 = whl("").into_bytes();
        latin1.splice(10..10, [0xE9]);
        assert_eq!(first_error(&latin1).kind, ErrorKind::NotUtf8);
        let declared = whl("").replace("UTF-8", "ISO-8859-1");
        assert_eq!(first_error(declared.as_bytes()).kind, ErrorKind::NotUtf8);
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(whl("").encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(first_error(&utf16).kind, ErrorKind::NotUtf8);

        // Size limit.
        let xml = whl(&node("a.example.nl"));
        let opts = ParseOptions::default().max_input_size(xml.len() - 1);
        let e = Whitelist::from_bytes_with(xml.as_bytes(), &opts).unwrap_err();
        assert_eq!(
            e.first().kind,
            ErrorKind::TooLarge {
                limit: xml.len() - 1
            }
        );
        let r = Whitelist::from_reader(xml.as_bytes(), &opts);
        assert!(matches!(r, Err(ReadError::Invalid(_))));

        // Entry limit.
        let many: String = (0..5).map(|i| node(&format!("n{i}.example.nl"))).collect();
        let opts = ParseOptions::default().max_entries(4);
        let e = Whitelist::from_bytes_with(whl(&many).as_bytes(), &opts).unwrap_err();
        assert!(matches!(
            e.first().kind,
            ErrorKind::LimitExceeded {
                limit: "max_entries",
                value: 4
            }
        ));
        // Exactly the limit is allowed.
        let four: String = (0..4).map(|i| node(&format!("n{i}.example.nl"))).collect();
        let list = Whitelist::from_bytes_with(whl(&four).as_bytes(), &opts).unwrap();
        assert_eq!(list.nodes().len(), 4);

        // Depth limit.
        let opts = ParseOptions::default().max_depth(3);
        let e = Whitelist::from_bytes_with(whl(&node("a.bc")).as_bytes(), &opts).unwrap_err();
        assert!(matches!(
            e.first().kind,
            ErrorKind::LimitExceeded {
                limit: "max_depth",
                ..
            }
        ));

        // Control characters and U+FFFF are not XML characters.
        let e = first_error(whl(&node("a.b\u{1}c")).as_bytes());
        assert_eq!(e.kind, ErrorKind::IllegalCharacter('\u{1}'));
        let e = first_error(whl(&node("a.b&#xFFFF;c")).as_bytes());
        assert!(matches!(e.kind, ErrorKind::Malformed(_)));

        // A second root, text outside the root, a late XML declaration.
        for tail in ["<Whitelist/>", "junk", "<?xml version=\"1.0\"?>"] {
            let xml = format!("{}{tail}", whl(""));
            assert!(
                matches!(first_error(xml.as_bytes()).kind, ErrorKind::Malformed(_)),
                "{tail}"
            );
        }
        // Truncated input never panics and says where.
        let xml = whl(&node("a.example.nl"));
        for cut in 0..xml.trim_end().len() {
            let r = Whitelist::from_bytes(&xml.as_bytes()[..cut]);
            assert!(r.is_err(), "cut at {cut}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Arbitrary bytes never panic the parser (the fuzz targets go further).
        #[test]
        fn arbitrary_input_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_any(&bytes, &ParseOptions::default());
        }
    }
}

mod lists_2 {
    use super::*;

    #[test]
    fn duplicates_point_at_both_occurrences() {
        // MedMij LISTS-6: Hostname unique in the Whitelist.
        let xml = whl(&format!(
            "\n{}\n{}",
            node("a.example.nl"),
            node("a.example.nl")
        ));
        let e = first_error(xml.as_bytes());
        assert_eq!(e.rule, medmij_lists::RuleId::Lists6);
        match e.kind {
            ErrorKind::Duplicate {
                element,
                value,
                first,
            } => {
                assert_eq!(element, "Hostname");
                assert_eq!(value, "a.example.nl");
                assert_eq!(first.line, 6);
                assert_eq!(e.position.line, 7);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn model_constructors_enforce_uniqueness() {
        let t = Tijdstempel::new("2026-11-22T10:00:00Z").unwrap();
        let v = Volgnummer::from_u64(1).unwrap();
        let h = Hostname::new("a.example.nl").unwrap();
        let e = Whitelist::new(
            WhlRelease::Release2,
            t.clone(),
            v.clone(),
            vec![h.clone(), h],
        )
        .unwrap_err();
        assert!(matches!(
            e,
            ModelError::Duplicate {
                rule: medmij_lists::RuleId::Lists6,
                ..
            }
        ));
        let g = |id: &str| {
            Gegevensdienst::new(
                GegevensdienstId::new(id).unwrap(),
                FrontChannelUri::new("https://a.example.nl/auth").unwrap(),
                BackChannelUri::new("https://a.example.nl/token").unwrap(),
                vec![Systeemrol::new(
                    Systeemrolcode::new("X").unwrap(),
                    BackChannelUri::new("https://a.example.nl/fhir").unwrap(),
                )],
            )
            .unwrap()
        };
        let naam = Zorgaanbiedernaam::new("abc@medmij").unwrap();
        assert!(Zorgaanbieder::new(naam.clone(), vec![g("1"), g("1")]).is_err());
        assert!(matches!(
            Zorgaanbieder::new(naam.clone(), vec![]),
            Err(ModelError::Empty { .. })
        ));
        let z = Zorgaanbieder::new(naam, vec![g("1"), g("2")]).unwrap();
        assert!(Zorgaanbiederslijst::new(ZalRelease::Release2, t, v, vec![z.clone(), z]).is_err());
    }

    /// A Gegevensdienst has at least one Systeemrol (MedMij LISTS-1) and
    /// its Systeemrolcodes are unique (MedMij LISTS-2), in the model as in
    /// the parser.
    #[test]
    fn a_gegevensdienst_needs_unique_systeemrollen() {
        let rol = |code: &str| {
            Systeemrol::new(
                Systeemrolcode::new(code).unwrap(),
                BackChannelUri::new("https://a.example.nl/fhir").unwrap(),
            )
        };
        let g = |rollen| {
            Gegevensdienst::new(
                GegevensdienstId::new("4").unwrap(),
                FrontChannelUri::new("https://a.example.nl/auth").unwrap(),
                BackChannelUri::new("https://a.example.nl/token").unwrap(),
                rollen,
            )
        };
        assert!(matches!(
            g(vec![]),
            Err(ModelError::Empty {
                element: "Systeemrollen",
                rule: medmij_lists::RuleId::Lists1,
            })
        ));
        assert!(matches!(
            g(vec![rol("X"), rol("X")]),
            Err(ModelError::Duplicate {
                element: "Systeemrolcode",
                rule: medmij_lists::RuleId::Lists2,
                ..
            })
        ));
        let two = g(vec![rol("X"), rol("Y")]).unwrap();
        assert_eq!(two.systeemrollen().len(), 2);
        assert_eq!(two.systeemrol("Y").unwrap().code().as_str(), "Y");
    }
}

mod lists_1 {
    use super::*;

    #[test]
    fn xml_variants_that_are_valid() {
        // Comments, PIs, CDATA, character references, BOM, prefixes and
        // xsi:schemaLocation are all allowed, as XML and XML Schema allow them.
        let xml = format!(
            "\u{FEFF}<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?><!-- c --><?app x?>\
             <w:Whitelist xmlns:w=\"{WHL_NS}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"{WHL_NS} w.xsd\">\
             <w:Tijdstempel> 2026-11-22T10:00:00Z\n</w:Tijdstempel><w:Volgnummer>+003</w:Volgnummer>\
             <w:MedMijNodes><!-- n --><w:MedMijNode><w:Hostname>a<!-- x -->.<![CDATA[ex]]>&#x61;mple.nl</w:Hostname></w:MedMijNode></w:MedMijNodes></w:Whitelist>"
        );
        let list = Whitelist::from_bytes(xml.as_bytes()).unwrap();
        assert_eq!(list.nodes()[0].as_str(), "a.example.nl");
        assert_eq!(list.volgnummer().as_str(), "3");
        assert_eq!(list.tijdstempel().as_str(), "2026-11-22T10:00:00Z");
    }

    #[test]
    fn parse_any_dispatches_on_root_and_namespace() {
        let list = parse_any(whl("").as_bytes(), &ParseOptions::default()).unwrap();
        assert_eq!(list.kind(), ListKind::Whl);
        let wrong = whl("").replace(WHL_NS, ZAL_NS);
        let e = parse_any(wrong.as_bytes(), &ParseOptions::default()).unwrap_err();
        assert!(matches!(e.first().kind, ErrorKind::UnknownRoot { .. }));
        // A root element of one list in another list's namespace is no
        // list: parse_any refuses it under LISTS-7, before any list's
        // schema is tried.
        for wrong in [
            whl("").replace(WHL_NS, ZAL_NS),
            format!("<Zorgaanbiederslijst xmlns=\"{WHL_NS}\"/>"),
        ] {
            let e = parse_any(wrong.as_bytes(), &ParseOptions::default()).unwrap_err();
            assert!(
                matches!(e.first().kind, ErrorKind::UnknownRoot { .. }),
                "{e}"
            );
            assert_eq!(e.first().rule, medmij_lists::RuleId::Lists7, "{e}");
        }
        // Whatever parse_any read writes back as that list.
        let xml = whl(&node("a.example.nl"));
        let any = parse_any(xml.as_bytes(), &ParseOptions::default()).unwrap();
        assert_eq!(
            any.to_xml(),
            Whitelist::from_bytes(xml.as_bytes()).unwrap().to_xml()
        );
        // A list parsed as another kind is refused with UnknownRoot.
        let e = Zorgaanbiederslijst::from_bytes(whl("").as_bytes()).unwrap_err();
        assert!(matches!(e.first().kind, ErrorKind::UnknownRoot { .. }));
    }

    #[test]
    fn big_volgnummer_is_accepted() {
        // MedMij LISTS-1: xs:positiveInteger is unbounded. (libxml2 stops at
        // 24 significant digits; this is the one documented difference.)
        let digits = "9".repeat(60);
        let xml = whl("").replace("<Volgnummer>3<", &format!("<Volgnummer>{digits}<"));
        let list = Whitelist::from_bytes(xml.as_bytes()).unwrap();
        assert_eq!(list.volgnummer().as_str(), digits);
        assert!(list.volgnummer() > &Volgnummer::new(&"9".repeat(59)).unwrap());
    }

    #[test]
    fn zal_lookups() {
        let xml = format!(
            "<Zorgaanbiederslijst xmlns=\"{ZAL_NS}\"><Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel><Volgnummer>1</Volgnummer><Zorgaanbieders>{}</Zorgaanbieders></Zorgaanbiederslijst>",
            (0..40)
                .map(|i| format!(
                    "<Zorgaanbieder><Zorgaanbiedernaam>{}@medmij</Zorgaanbiedernaam><Gegevensdiensten>\
                     <Gegevensdienst><GegevensdienstId>1</GegevensdienstId><AuthorizationEndpoint><AuthorizationEndpointuri>https://p{i}.example.nl/auth</AuthorizationEndpointuri></AuthorizationEndpoint>\
                     <TokenEndpoint><TokenEndpointuri>https://p{i}.example.nl:8443/token</TokenEndpointuri></TokenEndpoint><Systeemrollen>\
                     <Systeemrol><Systeemrolcode>A</Systeemrolcode><ResourceEndpoint><ResourceEndpointuri>https://r{i}.example.nl/a</ResourceEndpointuri></ResourceEndpoint></Systeemrol>\
                     <Systeemrol><Systeemrolcode>B</Systeemrolcode><ResourceEndpoint><ResourceEndpointuri>https://r{i}.example.nl/b</ResourceEndpointuri></ResourceEndpoint></Systeemrol>\
                     </Systeemrollen></Gegevensdienst></Gegevensdiensten></Zorgaanbieder>",
                    "abc".to_owned() + &"x".repeat(i)
                ))
                .collect::<String>()
        );
        let zal = Zorgaanbiederslijst::from_bytes(xml.as_bytes()).unwrap();
        assert_eq!(zal.len(), 40);
        for i in 0..40 {
            let naam = format!("abc{}@medmij", "x".repeat(i));
            assert_eq!(
                zal.authorization_endpoint(&naam, "1").unwrap().as_str(),
                format!("https://p{i}.example.nl/auth")
            );
            assert_eq!(zal.token_endpoint(&naam, "1").unwrap().port(), Some(8443));
            assert_eq!(
                zal.resource_endpoint(&naam, "1", "B").unwrap().as_str(),
                format!("https://r{i}.example.nl/b")
            );
            assert!(zal.resource_endpoint(&naam, "1", "C").is_none());
            assert!(zal.gegevensdienst(&naam, "2").is_none());
        }
        assert!(zal.zorgaanbieder("nobody@medmij").is_none());
        assert_eq!(
            zal.zorgaanbieder("abc@medmij").unwrap().naam().scope_part(),
            "abc"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn zal_round_trips(list in zal()) {
            let xml = list.to_xml();
            prop_assert_eq!(<Zorgaanbiederslijst as MedMijList>::to_xml(&list), xml.clone());
            let back = Zorgaanbiederslijst::from_bytes(xml.as_bytes());
            prop_assert!(back.is_ok(), "{}\n{}", back.unwrap_err(), xml);
            prop_assert_eq!(back.unwrap(), list);
        }
    }
}

mod lists_4 {
    use super::*;

    const OCL_NS: &str = "xmlns://afsprakenstelsel.medmij.nl/oauthclientlist/release2/";

    /// The hostname is the client's identity (MedMij LISTS-4), looked up
    /// ASCII case-insensitively; release 2 says nothing about the client's
    /// Gegevensdiensten, so none is known ("no restriction known").
    #[test]
    fn clients_are_found_by_hostname() {
        let xml = format!(
            "<OAuthclientlist xmlns=\"{OCL_NS}\"><Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel><Volgnummer>522</Volgnummer><OAuthclients>\
             <OAuthclient><Hostname>medmij.pgo.example.nl</Hostname><OAuthclientOrganisatienaam>De PGO</OAuthclientOrganisatienaam></OAuthclient>\
             <OAuthclient><Hostname>andere.pgo.example.nl</Hostname><OAuthclientOrganisatienaam>Een andere PGO</OAuthclientOrganisatienaam></OAuthclient>\
             </OAuthclients></OAuthclientlist>"
        );
        let ocl = OAuthclientlist::from_bytes(xml.as_bytes()).unwrap();
        let client = ocl.get("ANDERE.pgo.example.nl").unwrap();
        assert_eq!(client.hostname().as_str(), "andere.pgo.example.nl");
        assert_eq!(client.organisatienaam().as_str(), "Een andere PGO");
        assert_eq!(client.gegevensdiensten(), None);
        assert!(ocl.contains("medmij.pgo.example.nl"));
        assert!(ocl.contains("Medmij.Pgo.Example.NL"));
        assert!(!ocl.contains("pgo.example.nl"));
        assert!(!ocl.contains("x.medmij.pgo.example.nl"));
        assert!(ocl.get("nergens.example.nl").is_none());
    }

    /// Two OCLs are equal when their release, Tijdstempel, Volgnummer and clients are;
    /// the count of clients; the `MedMijList` doors.
    #[test]
    fn an_ocl_is_its_content() {
        let client = |h: &str, n: &str| {
            OAuthclient::new(
                Hostname::new(h).unwrap(),
                OAuthclientOrganisatienaam::new(n).unwrap(),
            )
        };
        let clients = || {
            vec![
                client("a.example.nl", "PGO A"),
                client("b.example.nl", "PGO B"),
            ]
        };
        let ocl = |t: &str, v: &str, c| {
            OAuthclientlist::new(OclRelease::Release2, ts(t), vn(v), c).unwrap()
        };
        let list = ocl("2026-11-22T10:00:00Z", "522", clients());
        assert_eq!((list.len(), list.is_empty()), (2, false));
        let empty = ocl("2026-11-22T10:00:00Z", "522", vec![]);
        assert_eq!((empty.len(), empty.is_empty()), (0, true));
        let changed = [
            ocl("2026-11-22T10:00:01Z", "522", clients()),
            ocl("2026-11-22T10:00:00Z", "523", clients()),
            ocl(
                "2026-11-22T10:00:00Z",
                "522",
                vec![client("a.example.nl", "PGO A")],
            ),
        ];
        shared_doors(&list, &list.to_xml(), &changed);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn ocl_round_trips(t in tijdstempel(), v in volgnummer(), clients in proptest::collection::btree_map(host(), text(3, 50), 0..8)) {
            let clients = clients.into_iter().map(|(h, n)| OAuthclient::new(Hostname::new(&h).unwrap(), OAuthclientOrganisatienaam::new(&n).unwrap())).collect();
            let list = OAuthclientlist::new(OclRelease::Release2, t, v, clients).unwrap();
            prop_assert_eq!(OAuthclientlist::from_bytes(list.to_xml().as_bytes()).unwrap(), list);
        }
    }
}

mod lists_5 {
    use super::*;

    /// Two GNLs are equal when their release, Tijdstempel, Volgnummer and names are; the
    /// count of names; the `MedMijList` doors.
    #[test]
    fn a_gnl_is_its_content() {
        let name = |i: &str, n: &str| {
            GegevensdienstNaam::new(
                GegevensdienstId::new(i).unwrap(),
                Weergavenaam::new(n).unwrap(),
            )
        };
        let names = || {
            vec![
                name("1", "Basisgegevens Zorg"),
                name("4", "Laboratoriumuitslagen"),
            ]
        };
        let gnl = |t: &str, v: &str, e| {
            Gegevensdienstnamenlijst::new(GnlRelease::Release1, ts(t), vn(v), e).unwrap()
        };
        let list = gnl("2026-11-22T10:00:00Z", "7", names());
        assert_eq!((list.len(), list.is_empty()), (2, false));
        let empty = gnl("2026-11-22T10:00:00Z", "7", vec![]);
        assert_eq!((empty.len(), empty.is_empty()), (0, true));
        let changed = [
            gnl("2026-11-22T10:00:01Z", "7", names()),
            gnl("2026-11-22T10:00:00Z", "8", names()),
            gnl(
                "2026-11-22T10:00:00Z",
                "7",
                vec![name("1", "Basisgegevens Zorg")],
            ),
        ];
        shared_doors(&list, &list.to_xml(), &changed);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn gnl_round_trips(t in tijdstempel(), v in volgnummer(), entries in proptest::collection::btree_map(text(1, 30), text(3, 50), 0..8)) {
            let entries = entries.into_iter().map(|(i, n)| GegevensdienstNaam::new(GegevensdienstId::new(&i).unwrap(), Weergavenaam::new(&n).unwrap())).collect();
            let list = Gegevensdienstnamenlijst::new(GnlRelease::Release1, t, v, entries).unwrap();
            prop_assert_eq!(Gegevensdienstnamenlijst::from_bytes(list.to_xml().as_bytes()).unwrap(), list);
        }
    }
}

mod lists_6 {
    use super::*;

    /// A list is written as its publisher writes it: the XML declaration,
    /// the list's namespace, one element per line, four spaces per level.
    #[test]
    fn a_list_is_written_one_element_per_line() {
        let list = Whitelist::new(
            WhlRelease::Release2,
            Tijdstempel::new("2026-11-22T10:00:00Z").unwrap(),
            Volgnummer::from_u64(3).unwrap(),
            vec![
                Hostname::new("a.example.nl").unwrap(),
                Hostname::new("b.example.nl").unwrap(),
            ],
        )
        .unwrap();
        let expected = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Whitelist xmlns=\"{WHL_NS}\">\n    <Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel>\n    <Volgnummer>3</Volgnummer>\n    <MedMijNodes>\n        <MedMijNode>\n            <Hostname>a.example.nl</Hostname>\n        </MedMijNode>\n        <MedMijNode>\n            <Hostname>b.example.nl</Hostname>\n        </MedMijNode>\n    </MedMijNodes>\n</Whitelist>\n"
        );
        assert_eq!(list.to_xml(), expected);
    }

    /// Two Whitelists are equal when their release, Tijdstempel, Volgnummer and nodes are;
    /// the count of nodes; the `MedMijList` doors.
    #[test]
    fn a_whitelist_is_its_content() {
        let nodes = |n: &[&str]| n.iter().map(|h| Hostname::new(h).unwrap()).collect();
        let whl =
            |t: &str, v: &str, n| Whitelist::new(WhlRelease::Release2, ts(t), vn(v), n).unwrap();
        let list = whl(
            "2026-11-22T10:00:00Z",
            "3",
            nodes(&["a.example.nl", "b.example.nl"]),
        );
        assert_eq!((list.len(), list.is_empty()), (2, false));
        let empty = whl("2026-11-22T10:00:00Z", "3", vec![]);
        assert_eq!((empty.len(), empty.is_empty()), (0, true));
        let changed = [
            whl(
                "2026-11-22T10:00:01Z",
                "3",
                nodes(&["a.example.nl", "b.example.nl"]),
            ),
            whl(
                "2026-11-22T10:00:00Z",
                "4",
                nodes(&["a.example.nl", "b.example.nl"]),
            ),
            whl("2026-11-22T10:00:00Z", "3", nodes(&["a.example.nl"])),
        ];
        shared_doors(&list, &list.to_xml(), &changed);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn whl_round_trips_and_contains_ignores_case(t in tijdstempel(), v in volgnummer(), hosts in proptest::collection::btree_set(host(), 0..20)) {
            let nodes: Vec<Hostname> = hosts.iter().map(|h| Hostname::new(h).unwrap()).collect();
            let list = Whitelist::new(WhlRelease::Release2, t, v, nodes).unwrap();
            let back = Whitelist::from_bytes(list.to_xml().as_bytes()).unwrap();
            prop_assert_eq!(&back, &list);
            for h in &hosts {
                prop_assert!(back.contains(h));
                prop_assert!(back.contains(&h.to_ascii_uppercase()));
                let other = format!("x{h}");
                prop_assert_eq!(back.contains(&other), hosts.contains(&other));
            }
        }
    }
}

mod lists_12 {
    use super::*;

    /// MedMij LISTS-12: the release 1.0 catalogue is not hard-coded into
    /// parsing; the GNL is the source of truth at run time, so ids and names
    /// outside the catalogue parse, and a catalogue id gets the GNL's name.
    #[test]
    fn the_catalogue_is_not_hard_coded() {
        let gnl = br#"<Gegevensdienstnamenlijst xmlns="xmlns://afsprakenstelsel.medmij.nl/gegevensdienstnamenlijst/release1/">
  <Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel><Volgnummer>3</Volgnummer>
  <Gegevensdiensten>
    <Gegevensdienst><GegevensdienstId>4</GegevensdienstId><Weergavenaam>Een andere naam</Weergavenaam></Gegevensdienst>
    <Gegevensdienst><GegevensdienstId>99</GegevensdienstId><Weergavenaam>Nieuwe dienst</Weergavenaam></Gegevensdienst>
    <Gegevensdienst><GegevensdienstId>x-49</GegevensdienstId><Weergavenaam>Niet in 1.0</Weergavenaam></Gegevensdienst>
  </Gegevensdiensten>
</Gegevensdienstnamenlijst>"#;
        let list = Gegevensdienstnamenlijst::from_bytes(gnl).unwrap();
        // The GNL names a Gegevensdienst by its id (MedMij LISTS-5).
        assert_eq!(list.weergavenaam("99").unwrap().as_str(), "Nieuwe dienst");
        assert_eq!(
            list.get("x-49").unwrap().weergavenaam().as_str(),
            "Niet in 1.0"
        );
        assert_eq!(list.get("4").unwrap().id().as_str(), "4");
        assert!(list.get("5").is_none());
        assert!(list.weergavenaam("49").is_none());
        let names: Vec<(String, String)> = list
            .entries()
            .iter()
            .map(|g| (g.id().to_string(), g.weergavenaam().to_string()))
            .collect();
        assert_eq!(
            names,
            [
                ("4".to_owned(), "Een andere naam".to_owned()),
                ("99".to_owned(), "Nieuwe dienst".to_owned()),
                ("x-49".to_owned(), "Niet in 1.0".to_owned()),
            ]
        );
    }
}
