//! The publication checks of MedMij Beheer (MedMij LISTS-14): validation, a
//! Volgnummer higher than every earlier one, hosts on the Whitelist,
//! Gegevensdiensten only for qualified DVZAs; every violation with its rule
//! and location.

mod lists_14 {
    use medmij_lists::*;
    use proptest::prelude::*;

    const ZA: &str = "za.example.nl";
    const ZA2: &str = "za2.example.nl";
    const PGO: &str = "pgo.example.nl";

    fn whl(volgnummer: u64, hosts: &[&str]) -> Vec<u8> {
        let nodes: String = hosts
            .iter()
            .map(|h| format!("<MedMijNode><Hostname>{h}</Hostname></MedMijNode>"))
            .collect();
        format!(
            "<Whitelist xmlns=\"xmlns://afsprakenstelsel.medmij.nl/whitelist/release2/\"><Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel><Volgnummer>{volgnummer}</Volgnummer><MedMijNodes>{nodes}</MedMijNodes></Whitelist>"
        )
        .into_bytes()
    }

    fn whitelist(hosts: &[&str]) -> Whitelist {
        Whitelist::from_bytes(&whl(1, hosts)).unwrap()
    }

    /// A release2 Gegevensdienst: authorization and token endpoint at `host`,
    /// the resource endpoint at `resource_host`.
    fn dienst(id: &str, host: &str, resource_host: &str) -> String {
        format!(
            "<Gegevensdienst><GegevensdienstId>{id}</GegevensdienstId>\
             <AuthorizationEndpoint><AuthorizationEndpointuri>https://{host}/authorize</AuthorizationEndpointuri></AuthorizationEndpoint>\
             <TokenEndpoint><TokenEndpointuri>https://{host}:8443/token</TokenEndpointuri></TokenEndpoint>\
             <Systeemrollen><Systeemrol><Systeemrolcode>ROL-{id}</Systeemrolcode>\
             <ResourceEndpoint><ResourceEndpointuri>https://{resource_host}/fhir</ResourceEndpointuri></ResourceEndpoint>\
             </Systeemrol></Systeemrollen></Gegevensdienst>"
        )
    }

    fn aanbieder(naam: &str, diensten: &[String]) -> String {
        format!(
            "<Zorgaanbieder><Zorgaanbiedernaam>{naam}</Zorgaanbiedernaam><Gegevensdiensten>{}</Gegevensdiensten></Zorgaanbieder>",
            diensten.concat()
        )
    }

    fn zal(volgnummer: u64, aanbieders: &[String]) -> Vec<u8> {
        format!(
            "<Zorgaanbiederslijst xmlns=\"xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release2/\">\n<Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel>\n<Volgnummer>{volgnummer}</Volgnummer>\n<Zorgaanbieders>{}</Zorgaanbieders>\n</Zorgaanbiederslijst>",
            aanbieders.concat()
        )
        .into_bytes()
    }

    fn ocl(volgnummer: u64, hosts: &[&str]) -> Vec<u8> {
        let clients: String = hosts
            .iter()
            .map(|h| {
                format!(
                    "<OAuthclient><Hostname>{h}</Hostname><OAuthclientOrganisatienaam>PGO {h}</OAuthclientOrganisatienaam></OAuthclient>"
                )
            })
            .collect();
        format!(
            "<OAuthclientlist xmlns=\"xmlns://afsprakenstelsel.medmij.nl/oauthclientlist/release2/\"><Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel><Volgnummer>{volgnummer}</Volgnummer><OAuthclients>{clients}</OAuthclients></OAuthclientlist>"
        )
        .into_bytes()
    }

    fn gnl(volgnummer: u64) -> Vec<u8> {
        format!(
            "<Gegevensdienstnamenlijst xmlns=\"xmlns://afsprakenstelsel.medmij.nl/gegevensdienstnamenlijst/release1/\"><Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel><Volgnummer>{volgnummer}</Volgnummer><Gegevensdiensten><Gegevensdienst><GegevensdienstId>4</GegevensdienstId><Weergavenaam>Basisgegevens</Weergavenaam></Gegevensdienst></Gegevensdiensten></Gegevensdienstnamenlijst>"
        )
        .into_bytes()
    }

    fn qualified() -> QualificationRegistry {
        QualificationRegistry::new()
            .with(ZA, ["4", "6"])
            .with(ZA2, ["4"])
    }

    fn v(n: u64) -> Volgnummer {
        Volgnummer::from_u64(n).unwrap()
    }

    #[test]
    fn a_valid_newer_version_is_accepted() {
        let w = whitelist(&[ZA, ZA2, PGO]);
        let q = qualified();
        let checks = PublicationChecks::new(&w, &q);
        let first = zal(1, &[aanbieder("umcdemo@medmij", &[dienst("4", ZA, ZA)])]);
        let v1: Zorgaanbiederslijst = checks.check(None, &first).unwrap();
        assert_eq!(v1.volgnummer(), &v(1));
        let second = zal(
            2,
            &[
                aanbieder(
                    "umcdemo@medmij",
                    &[dienst("4", ZA, ZA), dienst("6", ZA, ZA)],
                ),
                aanbieder("kliniekdemo@medmij", &[dienst("4", ZA2, ZA2)]),
            ],
        );
        let v2 = checks.check(Some(&v1), &second).unwrap();
        // The accepted version is the proposal, parsed.
        assert_eq!(v2, Zorgaanbiederslijst::from_bytes(&second).unwrap());
        // Much higher is fine too (higher than every earlier one).
        let v9: OAuthclientlist = checks.check(None, &ocl(9, &[PGO])).unwrap();
        checks.check(Some(&v9), &ocl(10, &[PGO])).unwrap();
        let g: Gegevensdienstnamenlijst = checks.check(None, &gnl(1)).unwrap();
        checks.check(Some(&g), &gnl(2)).unwrap();
    }

    #[test]
    fn a_version_that_does_not_validate_is_refused_with_positions() {
        let w = whitelist(&[ZA]);
        let q = qualified();
        let checks = PublicationChecks::new(&w, &q);
        // The same Zorgaanbiedernaam twice (LISTS-2).
        let dup = zal(
            2,
            &[
                aanbieder("umcdemo@medmij", &[dienst("4", ZA, ZA)]),
                aanbieder("umcdemo@medmij", &[dienst("6", ZA, ZA)]),
            ],
        );
        let e = checks.check::<Zorgaanbiederslijst>(None, &dup).unwrap_err();
        assert_eq!(e.list, ListKind::Zal);
        assert_eq!(e.violations.len(), 1, "{e}");
        let x = &e.violations[0];
        assert_eq!(x.rule, RuleId::Lists2);
        assert!(matches!(
            x.kind,
            ViolationKind::Invalid(ErrorKind::Duplicate { .. })
        ));
        assert!(x.path.contains("Zorgaanbieder[2]"), "{}", x.path);
        let pos = x.position.expect("a validation error has a position");
        assert_eq!(pos.line, 4, "{x}");
        // A bad host pattern (LISTS-3) and plain garbage.
        let bad = zal(
            2,
            &[aanbieder(
                "umcdemo@medmij",
                &[dienst("4", "ZA.example.nl", ZA)],
            )],
        );
        let e = checks.check::<Zorgaanbiederslijst>(None, &bad).unwrap_err();
        assert!(e.violations.iter().any(|x| x.rule == RuleId::Lists3), "{e}");
        let e = checks
            .check::<Whitelist>(None, b"<not-a-list/>")
            .unwrap_err();
        assert!(!e.violations.is_empty());
        assert!(
            e.violations
                .iter()
                .all(|x| matches!(x.kind, ViolationKind::Invalid(_)))
        );
        // Another list's bytes are not this list.
        let e = checks
            .check::<OAuthclientlist>(None, &whl(2, &[ZA]))
            .unwrap_err();
        assert!(!e.violations.is_empty());
    }

    #[test]
    fn the_volgnummer_must_be_higher_than_every_earlier_one() {
        let w = whitelist(&[ZA, PGO]);
        let q = qualified();
        let checks = PublicationChecks::new(&w, &q);
        let v5: OAuthclientlist = checks.check(None, &ocl(5, &[PGO])).unwrap();
        for n in [5, 4, 1] {
            let e = checks.check(Some(&v5), &ocl(n, &[PGO])).unwrap_err();
            assert_eq!(
                e.violations,
                [Violation {
                    kind: ViolationKind::NotNewer {
                        proposed: v(n),
                        highest: v(5)
                    },
                    rule: RuleId::Lists14,
                    list: ListKind::Ocl,
                    path: "/OAuthclientlist/Volgnummer".into(),
                    position: None,
                }]
            );
        }
        // The highest published may be above the version in force (from the
        // caller's archive).
        let e = checks
            .check_after::<OAuthclientlist>(Some(&v(7)), &ocl(6, &[PGO]))
            .unwrap_err();
        assert!(matches!(
            e.violations[0].kind,
            ViolationKind::NotNewer { .. }
        ));
        checks
            .check_after::<OAuthclientlist>(Some(&v(7)), &ocl(8, &[PGO]))
            .unwrap();
        // Arbitrary size (LISTS-1: xs:positiveInteger).
        let big = "123456789012345678901234567890";
        let proposal = String::from_utf8(whl(1, &[ZA]))
            .unwrap()
            .replace("<Volgnummer>1<", &format!("<Volgnummer>{big}<"));
        let earlier = Volgnummer::new("123456789012345678901234567891").unwrap();
        let e = checks
            .check_after::<Whitelist>(Some(&earlier), proposal.as_bytes())
            .unwrap_err();
        assert_eq!(e.violations.len(), 1);
    }

    #[test]
    fn zal_endpoint_hosts_must_be_on_the_whitelist() {
        let w = whitelist(&[ZA, PGO]);
        let q = QualificationRegistry::new()
            .with(ZA, ["4", "6"])
            .with("elders.example.nl", ["6"])
            .with("fhir.example.nl", ["6"]);
        let checks = PublicationChecks::new(&w, &q);
        let p = zal(
            2,
            &[
                aanbieder("umcdemo@medmij", &[dienst("4", ZA, ZA)]),
                aanbieder(
                    "kliniekdemo@medmij",
                    &[
                        dienst("4", ZA, ZA),
                        dienst("6", "elders.example.nl", "fhir.example.nl"),
                    ],
                ),
            ],
        );
        let e = checks.check::<Zorgaanbiederslijst>(None, &p).unwrap_err();
        let hosts: Vec<(&str, &str)> = e
            .violations
            .iter()
            .map(|x| match &x.kind {
                ViolationKind::NotWhitelisted { host, .. } => (host.as_str(), x.path.as_str()),
                other => panic!("{other:?}"),
            })
            .collect();
        let at = "/Zorgaanbiederslijst/Zorgaanbieders/Zorgaanbieder[2]/Gegevensdiensten/Gegevensdienst[2]";
        assert_eq!(hosts, [("elders.example.nl", at), ("fhir.example.nl", at)]);
        let x = &e.violations[0];
        assert_eq!((x.rule, x.list), (RuleId::Lists14, ListKind::Zal));
        assert_eq!(
            x.kind,
            ViolationKind::NotWhitelisted {
                entry: ListEntry::Gegevensdienst {
                    zorgaanbieder: Zorgaanbiedernaam::new("kliniekdemo@medmij").unwrap(),
                    gegevensdienst: GegevensdienstId::new("6").unwrap(),
                    interfaceversie: None,
                },
                host: "elders.example.nl".into(),
            }
        );
        assert!(
            x.to_string()
                .contains("kliniekdemo@medmij Gegevensdienst 6: host elders.example.nl is not on the Whitelist"),
            "{x}"
        );
    }

    #[test]
    fn ocl_hostnames_must_be_on_the_whitelist() {
        let w = whitelist(&[ZA, PGO]);
        let q = qualified();
        let checks = PublicationChecks::new(&w, &q);
        let e = checks
            .check::<OAuthclientlist>(None, &ocl(2, &[PGO, "pgo2.example.nl"]))
            .unwrap_err();
        assert_eq!(
            e.violations,
            [Violation {
                kind: ViolationKind::NotWhitelisted {
                    entry: ListEntry::Client {
                        hostname: Hostname::new("pgo2.example.nl").unwrap()
                    },
                    host: "pgo2.example.nl".into(),
                },
                rule: RuleId::Lists14,
                list: ListKind::Ocl,
                path: "/OAuthclientlist/OAuthclients/OAuthclient[2]".into(),
                position: None,
            }]
        );
    }

    #[test]
    fn a_gegevensdienst_only_for_a_qualified_dvza() {
        let w = whitelist(&[ZA, ZA2]);
        let q = qualified(); // ZA: 4 and 6; ZA2: 4 only
        let checks = PublicationChecks::new(&w, &q);
        let p = zal(
            2,
            &[aanbieder(
                "kliniekdemo@medmij",
                &[dienst("4", ZA2, ZA2), dienst("6", ZA2, ZA)],
            )],
        );
        let e = checks.check::<Zorgaanbiederslijst>(None, &p).unwrap_err();
        assert_eq!(e.violations.len(), 1, "{e}");
        let x = &e.violations[0];
        assert_eq!(x.rule, RuleId::Lists14);
        assert_eq!(
            x.path,
            "/Zorgaanbiederslijst/Zorgaanbieders/Zorgaanbieder[1]/Gegevensdiensten/Gegevensdienst[2]"
        );
        assert!(
            matches!(&x.kind, ViolationKind::NotQualified { dvza, entry: ListEntry::Gegevensdienst { gegevensdienst, .. } }
                if dvza == ZA2 && gegevensdienst.as_str() == "6"),
            "{x:?}"
        );
        assert!(
            x.to_string()
                .contains("not registered as qualified for Gegevensdienst 6")
        );
        // Nobody registered: every host of every Gegevensdienst.
        let nobody = QualificationRegistry::new();
        let e = PublicationChecks::new(&w, &nobody)
            .check::<Zorgaanbiederslijst>(None, &p)
            .unwrap_err();
        assert_eq!(e.violations.len(), 3, "{e}");
        // Any function is a register; the registry ignores ASCII case.
        let only_4 = |_: &str, g: &GegevensdienstId| g.as_str() == "4";
        let e = PublicationChecks::new(&w, &only_4)
            .check::<Zorgaanbiederslijst>(None, &p)
            .unwrap_err();
        assert_eq!(e.violations.len(), 2, "{e}");
        let upper = QualificationRegistry::new()
            .with("ZA2.Example.NL", ["4", "6"])
            .with(ZA, ["6"]);
        PublicationChecks::new(&w, &upper)
            .check::<Zorgaanbiederslijst>(None, &p)
            .unwrap();
    }

    #[test]
    fn every_violation_is_reported_in_order() {
        let w = whitelist(&[ZA, PGO]);
        let q = qualified();
        let checks = PublicationChecks::new(&w, &q);
        let in_force: Zorgaanbiederslijst = checks
            .check(
                None,
                &zal(3, &[aanbieder("umcdemo@medmij", &[dienst("4", ZA, ZA)])]),
            )
            .unwrap();
        let p = zal(
            3,
            &[
                aanbieder(
                    "umcdemo@medmij",
                    &[dienst("4", ZA, ZA), dienst("9", ZA, ZA)],
                ),
                aanbieder("kliniekdemo@medmij", &[dienst("4", "nieuw.example.nl", ZA)]),
            ],
        );
        let e = checks.check(Some(&in_force), &p).unwrap_err();
        let kinds: Vec<&str> = e
            .violations
            .iter()
            .map(|x| match &x.kind {
                ViolationKind::NotNewer { .. } => "volgnummer",
                ViolationKind::NotWhitelisted { .. } => "whitelist",
                ViolationKind::NotQualified { .. } => "qualified",
                _ => "other",
            })
            .collect();
        // Not higher; nieuw.example.nl not listed; 9 at ZA and 4 at
        // nieuw.example.nl not qualified.
        assert_eq!(
            kinds,
            ["volgnummer", "whitelist", "qualified", "qualified"],
            "{e}"
        );
        assert!(e.violations.iter().all(|x| x.rule == RuleId::Lists14));
        let text = e.to_string();
        assert!(text.starts_with("new ZAL version refused: "), "{text}");
        assert_eq!(text.matches("(MedMij LISTS-14)").count(), 4, "{text}");
        // Every violation once, in order, separated by "; ".
        let each: Vec<String> = e.violations.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            format!("new ZAL version refused: {}", each.join("; "))
        );
    }

    /// A register built from (DVZA, Gegevensdiensten) pairs answers as one
    /// built with `with` (MedMij LISTS-14).
    #[test]
    fn a_register_collected_from_pairs_qualifies_the_same() {
        let collected: QualificationRegistry = [(ZA, vec!["4", "6"]), (ZA2, vec!["4"])]
            .into_iter()
            .collect();
        let id = |g: &str| GegevensdienstId::new(g).unwrap();
        for (host, g, expected) in [
            (ZA, "4", true),
            (ZA, "6", true),
            (ZA2, "4", true),
            (ZA2, "6", false),
            (PGO, "4", false),
        ] {
            assert_eq!(collected.is_qualified(host, &id(g)), expected, "{host} {g}");
            assert_eq!(
                qualified().is_qualified(host, &id(g)),
                expected,
                "{host} {g}"
            );
        }
    }

    #[test]
    fn a_whitelist_must_keep_the_hosts_the_lists_in_force_use() {
        let w = whitelist(&[ZA, ZA2, PGO]);
        let q = qualified();
        let z = Zorgaanbiederslijst::from_bytes(&zal(
            1,
            &[
                aanbieder("umcdemo@medmij", &[dienst("4", ZA, ZA)]),
                aanbieder("kliniekdemo@medmij", &[dienst("4", ZA2, ZA)]),
            ],
        ))
        .unwrap();
        let o = OAuthclientlist::from_bytes(&ocl(1, &[PGO])).unwrap();
        let checks = PublicationChecks::new(&w, &q).with_lists_in_force(Some(&z), Some(&o));
        // Dropping ZA breaks both Zorgaanbieders; dropping PGO the OCL.
        let e = checks.check(Some(&w), &whl(2, &[ZA2])).unwrap_err();
        let got: Vec<(ListKind, String)> = e
            .violations
            .iter()
            .map(|x| match &x.kind {
                ViolationKind::NotWhitelisted { host, .. } => (x.list, host.clone()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            got,
            [
                (ListKind::Zal, ZA.to_owned()),
                (ListKind::Zal, ZA.to_owned()),
                (ListKind::Ocl, PGO.to_owned())
            ]
        );
        assert_eq!(e.list, ListKind::Whl);
        // Adding a node, keeping the others: accepted.
        checks
            .check(Some(&w), &whl(2, &[ZA, ZA2, PGO, "nieuw.example.nl"]))
            .unwrap();
        // Without the lists in force only validity and Volgnummer are checked.
        PublicationChecks::new(&w, &q)
            .check(Some(&w), &whl(2, &[ZA2]))
            .unwrap();
    }

    #[test]
    fn release3_endpoints_including_subscription_are_checked() {
        // MedMij LISTS-15 lists the subscription endpoint, an endpoint too.
        let p = "<Zorgaanbiederslijst xmlns=\"xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release3/\">\
            <Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel><Volgnummer>2</Volgnummer><Zorgaanbieders>\
            <Zorgaanbieder><Zorgaanbiedernaam>umcdemo@medmij</Zorgaanbiedernaam><Aanbiedertype>ZA</Aanbiedertype><Interfaceversies>\
            <Interfaceversie><InterfaceversieId>1.6.0</InterfaceversieId><Gegevensdiensten>\
            <Gegevensdienst><GegevensdienstId>4</GegevensdienstId>\
            <AuthorizationEndpoint><AuthorizationEndpointuri>https://za.example.nl/authorize</AuthorizationEndpointuri></AuthorizationEndpoint>\
            <TokenEndpoint><TokenEndpointuri>https://za.example.nl/token</TokenEndpointuri></TokenEndpoint>\
            <Systeemrollen><Systeemrol><Systeemrolcode>R</Systeemrolcode><ResourceEndpoint><ResourceEndpointuri>https://za.example.nl/fhir</ResourceEndpointuri></ResourceEndpoint></Systeemrol></Systeemrollen>\
            </Gegevensdienst></Gegevensdiensten></Interfaceversie>\
            <Interfaceversie><InterfaceversieId>2.0.0</InterfaceversieId><Gegevensdiensten>\
            <Gegevensdienst><GegevensdienstId>4</GegevensdienstId>\
            <AuthorizationEndpoint><AuthorizationEndpointuri>https://za.example.nl/authorize</AuthorizationEndpointuri></AuthorizationEndpoint>\
            <TokenEndpoint><TokenEndpointuri>https://za.example.nl/token</TokenEndpointuri></TokenEndpoint>\
            <Abonneren><MaximaleDuur>365</MaximaleDuur><SubscriptionEndpointuri>https://abo.example.nl/subscribe</SubscriptionEndpointuri></Abonneren>\
            <Systeemrollen><Systeemrol><Systeemrolcode>R</Systeemrolcode><ResourceEndpoint><ResourceEndpointuri>https://za.example.nl/fhir</ResourceEndpointuri></ResourceEndpoint></Systeemrol></Systeemrollen>\
            </Gegevensdienst></Gegevensdiensten></Interfaceversie>\
            </Interfaceversies></Zorgaanbieder></Zorgaanbieders></Zorgaanbiederslijst>";
        let w = whitelist(&[ZA]);
        let q = qualified().with("abo.example.nl", ["4"]);
        let e = PublicationChecks::new(&w, &q)
            .check::<Zorgaanbiederslijst>(None, p.as_bytes())
            .unwrap_err();
        assert_eq!(e.violations.len(), 1, "{e}");
        let x = &e.violations[0];
        assert_eq!(
            x.path,
            "/Zorgaanbiederslijst/Zorgaanbieders/Zorgaanbieder[1]/Interfaceversies/Interfaceversie[2]/Gegevensdiensten/Gegevensdienst[1]"
        );
        assert!(
            matches!(&x.kind, ViolationKind::NotWhitelisted { host, entry: ListEntry::Gegevensdienst { interfaceversie: Some(v), .. } }
                if host == "abo.example.nl" && v.as_str() == "2.0.0"),
            "{x:?}"
        );
        let w = whitelist(&[ZA, "abo.example.nl"]);
        PublicationChecks::new(&w, &q)
            .check::<Zorgaanbiederslijst>(None, p.as_bytes())
            .unwrap();
    }

    proptest! {
        #[test]
        fn bad_input_is_refused_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let w = whitelist(&[ZA]);
            let q = qualified();
            let checks = PublicationChecks::new(&w, &q);
            let r = checks.check::<Zorgaanbiederslijst>(None, &bytes);
            prop_assert!(r.is_err());
            prop_assert!(!r.unwrap_err().violations.is_empty());
        }

        #[test]
        fn mutated_proposals_never_panic(at in 0usize..600, byte in any::<u8>()) {
            let w = whitelist(&[ZA]);
            let q = qualified();
            let checks = PublicationChecks::new(&w, &q);
            let mut p = zal(2, &[aanbieder("umcdemo@medmij", &[dienst("4", ZA, ZA)])]);
            let i = at % p.len();
            p[i] = byte;
            if let Err(e) = checks.check::<Zorgaanbiederslijst>(None, &p) {
                prop_assert!(!e.violations.is_empty());
            }
        }
    }
}
