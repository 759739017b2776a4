//! The ZAL release3 (MedMij LISTS-15, 2.x) beside release2 in one model:
//! parsing, the Interfaceversie lookups, errors, the model constructors and
//! the serialization round trip.

mod lists_15 {
    use medmij_lists::*;
    use proptest::prelude::*;

    const NS2: &str = "xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release2/";
    const NS3: &str = "xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release3/";

    fn rol(code: &str, host: &str) -> String {
        format!(
            "<Systeemrol><Systeemrolcode>{code}</Systeemrolcode><ResourceEndpoint><ResourceEndpointuri>https://{host}/fhir</ResourceEndpointuri></ResourceEndpoint></Systeemrol>"
        )
    }

    /// A release3 Gegevensdienst; `extra` goes between the id and the
    /// Systeemrollen (endpoints, Abonneren).
    fn dienst(id: &str, extra: &str, rollen: &str) -> String {
        format!(
            "<Gegevensdienst><GegevensdienstId>{id}</GegevensdienstId>{extra}<Systeemrollen>{rollen}</Systeemrollen></Gegevensdienst>"
        )
    }

    fn endpoints(host: &str) -> String {
        format!(
            "<AuthorizationEndpoint><AuthorizationEndpointuri>https://{host}/authorize</AuthorizationEndpointuri></AuthorizationEndpoint>\
             <TokenEndpoint><TokenEndpointuri>https://{host}:8443/token</TokenEndpointuri></TokenEndpoint>"
        )
    }

    fn versie(id: &str, diensten: &str) -> String {
        format!(
            "<Interfaceversie><InterfaceversieId>{id}</InterfaceversieId><Gegevensdiensten>{diensten}</Gegevensdiensten></Interfaceversie>"
        )
    }

    fn aanbieder(naam: &str, typ: &str, versies: &str) -> String {
        format!(
            "<Zorgaanbieder><Zorgaanbiedernaam>{naam}</Zorgaanbiedernaam><Aanbiedertype>{typ}</Aanbiedertype><Interfaceversies>{versies}</Interfaceversies></Zorgaanbieder>"
        )
    }

    fn zal3(tijd: &str, aanbieders: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Zorgaanbiederslijst xmlns=\"{NS3}\">\n<Tijdstempel>{tijd}</Tijdstempel>\n<Volgnummer>12</Volgnummer>\n<Zorgaanbieders>\n{aanbieders}\n</Zorgaanbieders>\n</Zorgaanbiederslijst>\n"
        )
    }

    /// Two providers: one with 1.4.0, 1.6.0 and 2.0.0, one BAZB-like with
    /// an unknown Aanbiedertype and a 3.0.0 version only.
    fn sample() -> String {
        let abonneren = "<Abonneren><MaximaleDuur>+0365</MaximaleDuur><SubscriptionEndpointuri>https://za.example.nl:9443/subscribe</SubscriptionEndpointuri></Abonneren>";
        zal3(
            "2026-11-22T10:00:00.125+01:00",
            &[
                aanbieder(
                    "umcdemo@medmij",
                    "ZA",
                    &[
                        versie(
                            "1.4.0",
                            &(dienst(
                                "4",
                                &endpoints("v14.example.nl"),
                                &rol("LAB-1", "v14.example.nl"),
                            ) + &dienst(
                                "6",
                                &endpoints("v14.example.nl"),
                                &rol("MED-1", "v14.example.nl"),
                            )),
                        ),
                        versie(
                            "1.6.0",
                            &dienst(
                                "4",
                                &endpoints("v16.example.nl"),
                                &rol("LAB-1", "v16.example.nl"),
                            ),
                        ),
                        versie(
                            "2.0.0",
                            &dienst(
                                "4",
                                &(endpoints("v20.example.nl") + abonneren),
                                &(rol("LAB-2", "v20.example.nl") + &rol("LAB-2B", "b.example.nl")),
                            ),
                        ),
                    ]
                    .concat(),
                ),
                aanbieder(
                    "apotheekdemo@medmij",
                    "APD",
                    &versie("3.0.0", &dienst("6", "", &rol("MM-3", "apo.example.nl"))),
                ),
            ]
            .concat(),
        )
    }

    #[test]
    fn release3_parses_into_the_shared_model() {
        let zal = Zorgaanbiederslijst::from_bytes(sample().as_bytes()).unwrap();
        assert_eq!(zal.release(), ZalRelease::Release3);
        assert_eq!(zal.release().namespace(), NS3);
        // Fractional seconds in the Tijdstempel (LISTS-15).
        assert_eq!(zal.tijdstempel().as_str(), "2026-11-22T10:00:00.125+01:00");
        let umc = zal.zorgaanbieder("umcdemo@medmij").unwrap();
        assert!(umc.aanbiedertype().unwrap().is_za());
        let ids: Vec<&str> = umc
            .interfaceversies()
            .iter()
            .map(|v| v.id().unwrap().as_str())
            .collect();
        assert_eq!(ids, ["1.4.0", "1.6.0", "2.0.0"]);
        assert_eq!(umc.gegevensdiensten().count(), 4);
        let v20 = umc.interfaceversie("2.0.0").unwrap();
        assert_eq!(v20.release_line(), Some(ReleaseLine::V2));
        let g = v20.gegevensdienst("4").unwrap();
        let ab = g.abonneren().unwrap();
        assert_eq!(ab.maximale_duur().days(), 365);
        assert_eq!(ab.subscription_endpoint().port(), Some(9443));
        assert_eq!(g.systeemrollen().len(), 2);
        // An unknown Aanbiedertype is kept as such; optional endpoints absent.
        let apo = zal.zorgaanbieder("apotheekdemo@medmij").unwrap();
        let t = apo.aanbiedertype().unwrap();
        assert_eq!(t.as_str(), "APD");
        assert!(!t.is_known());
        let g6 = apo.interfaceversies()[0].gegevensdienst("6").unwrap();
        assert!(g6.authorization_endpoint().is_none());
        assert!(g6.token_endpoint().is_none());
        assert!(g6.abonneren().is_none());
        assert_eq!(apo.interfaceversies()[0].release_line(), None);
    }

    #[test]
    fn lookups_take_the_interface_the_caller_speaks() {
        let zal = Zorgaanbiederslijst::from_bytes(sample().as_bytes()).unwrap();
        let n = "umcdemo@medmij";
        // A release line: the highest version of that line listing the id.
        let (v, g) = zal
            .gegevensdienst_in(n, "4", Interface::Line(ReleaseLine::V1))
            .unwrap();
        assert_eq!(v.id().unwrap().as_str(), "1.6.0");
        assert_eq!(
            g.token_endpoint().unwrap().as_str(),
            "https://v16.example.nl:8443/token"
        );
        let (v, _) = zal.gegevensdienst_in(n, "6", ReleaseLine::V1).unwrap();
        assert_eq!(v.id().unwrap().as_str(), "1.4.0");
        assert!(zal.gegevensdienst_in(n, "6", ReleaseLine::V2).is_none());
        // An exact version.
        let (_, g) = zal
            .gegevensdienst_in(n, "4", Interface::Versie("1.4.0"))
            .unwrap();
        assert_eq!(
            g.authorization_endpoint().unwrap().as_str(),
            "https://v14.example.nl/authorize"
        );
        let id = InterfaceversieId::new("2.0.0").unwrap();
        assert!(zal.gegevensdienst_in(n, "4", &id).is_some());
        assert!(
            zal.gegevensdienst_in(n, "4", Interface::Versie("1.5.0"))
                .is_none()
        );
        assert_eq!(
            zal.resource_endpoint_in(n, "4", ReleaseLine::V2, "LAB-2B")
                .unwrap()
                .as_str(),
            "https://b.example.nl/fhir"
        );
        assert!(
            zal.resource_endpoint_in(n, "4", ReleaseLine::V1, "LAB-2B")
                .is_none()
        );
        // The two-argument lookups are the 1.x ones.
        assert_eq!(
            zal.token_endpoint(n, "4").unwrap().as_str(),
            "https://v16.example.nl:8443/token"
        );
        assert_eq!(
            zal.resource_endpoint(n, "4", "LAB-1").unwrap().as_str(),
            "https://v16.example.nl/fhir"
        );
        // Which release lines per (Zorgaanbieder, Gegevensdienst).
        let lines = zal.release_lines(n, "4");
        assert!(lines.contains(ReleaseLine::V1) && lines.contains(ReleaseLine::V2));
        assert_eq!(lines.newest(), Some(ReleaseLine::V2));
        assert_eq!(
            lines.iter().collect::<Vec<_>>(),
            [ReleaseLine::V1, ReleaseLine::V2]
        );
        // The PGO GW chooses per counterpart: the newest line both speak.
        let v1_only = ReleaseLines::of(&[ReleaseLine::V1]);
        assert_eq!(lines.choose(v1_only), Some(ReleaseLine::V1));
        assert_eq!(lines.choose(lines), Some(ReleaseLine::V2));
        let only1 = zal.release_lines(n, "6");
        assert_eq!(only1.choose(ReleaseLines::of(&[ReleaseLine::V2])), None);
        assert_eq!(only1.iter().collect::<Vec<_>>(), [ReleaseLine::V1]);
        // 3.0.0 is no line these libraries speak; nobody offers 9.
        assert!(zal.release_lines("apotheekdemo@medmij", "6").is_empty());
        assert!(
            zal.zorgaanbieder("apotheekdemo@medmij")
                .unwrap()
                .offers("6")
        );
        assert!(zal.release_lines(n, "9").is_empty());
        assert!(zal.release_lines("nobody@medmij", "4").is_empty());
    }

    #[test]
    fn release2_is_one_implicit_1x_interfaceversie() {
        let xml = format!(
            "<Zorgaanbiederslijst xmlns=\"{NS2}\"><Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel><Volgnummer>3</Volgnummer><Zorgaanbieders>\
             <Zorgaanbieder><Zorgaanbiedernaam>umcdemo@medmij</Zorgaanbiedernaam><Gegevensdiensten>{}</Gegevensdiensten></Zorgaanbieder>\
             </Zorgaanbieders></Zorgaanbiederslijst>",
            dienst(
                "4",
                &endpoints("r2.example.nl"),
                &rol("LAB-1", "r2.example.nl")
            )
        );
        let zal = Zorgaanbiederslijst::from_bytes(xml.as_bytes()).unwrap();
        assert_eq!(zal.release(), ZalRelease::Release2);
        let z = zal.zorgaanbieder("umcdemo@medmij").unwrap();
        assert!(z.aanbiedertype().is_none());
        let [v] = z.interfaceversies() else {
            panic!("one implicit version")
        };
        assert!(v.is_implicit() && v.id().is_none());
        assert_eq!(v.release_line(), Some(ReleaseLine::V1));
        let (_, g) = zal
            .gegevensdienst_in("umcdemo@medmij", "4", ReleaseLine::V1)
            .unwrap();
        assert_eq!(Some(g), zal.gegevensdienst("umcdemo@medmij", "4"));
        assert!(
            zal.gegevensdienst_in("umcdemo@medmij", "4", ReleaseLine::V2)
                .is_none()
        );
        assert!(
            zal.gegevensdienst_in("umcdemo@medmij", "4", Interface::Versie("1.0.0"))
                .is_none()
        );
        assert_eq!(
            zal.release_lines("umcdemo@medmij", "4")
                .iter()
                .collect::<Vec<_>>(),
            [ReleaseLine::V1]
        );
        // The release2 namespace does not admit release3 elements.
        let mixed = sample().replace(NS3, NS2);
        let e = Zorgaanbiederslijst::from_bytes(mixed.as_bytes()).unwrap_err();
        assert_eq!(e.first().rule, RuleId::Lists1, "{e}");
    }

    fn first_error(xml: &str) -> ParseError {
        Zorgaanbiederslijst::from_bytes(xml.as_bytes())
            .expect_err("must be refused")
            .first()
            .clone()
    }

    #[test]
    fn uniqueness_per_interfaceversie() {
        let d4 = dienst("4", "", &rol("A", "a.example.nl"));
        // The same GegevensdienstId in two versions is fine ...
        let ok = zal3(
            "2026-11-22T10:00:00Z",
            &aanbieder(
                "umcdemo@medmij",
                "ZA",
                &(versie("1.0.0", &d4) + &versie("2.0.0", &d4)),
            ),
        );
        assert!(Zorgaanbiederslijst::from_bytes(ok.as_bytes()).is_ok());
        // ... twice in one version is not.
        let e = first_error(&zal3(
            "2026-11-22T10:00:00Z",
            &aanbieder(
                "umcdemo@medmij",
                "ZA",
                &versie("1.0.0", &(d4.clone() + &d4)),
            ),
        ));
        assert_eq!(e.rule, RuleId::Lists15);
        assert!(matches!(
            e.kind,
            ErrorKind::Duplicate {
                element: "GegevensdienstId",
                ..
            }
        ));
        assert_eq!(
            e.path,
            "/Zorgaanbiederslijst/Zorgaanbieders/Zorgaanbieder[1]/Interfaceversies/Interfaceversie[1]/Gegevensdiensten/Gegevensdienst[2]/GegevensdienstId"
        );
        // InterfaceversieId unique within a Zorgaanbieder.
        let e = first_error(&zal3(
            "2026-11-22T10:00:00Z",
            &aanbieder(
                "umcdemo@medmij",
                "ZA",
                &(versie("1.0.0", &d4) + &versie("1.0.0", &d4)),
            ),
        ));
        assert_eq!(e.rule, RuleId::Lists15);
        assert!(matches!(
            e.kind,
            ErrorKind::Duplicate {
                element: "InterfaceversieId",
                ..
            }
        ));
        // The same version at two Zorgaanbieders is fine; the same naam twice is not.
        let e = first_error(&zal3(
            "2026-11-22T10:00:00Z",
            &(aanbieder("umcdemo@medmij", "ZA", &versie("1.0.0", &d4))
                + &aanbieder("umcdemo@medmij", "ZA", &versie("1.0.0", &d4))),
        ));
        assert!(matches!(
            e.kind,
            ErrorKind::Duplicate {
                element: "Zorgaanbiedernaam",
                ..
            }
        ));
        // Systeemrolcode unique within a Gegevensdienst.
        let e = first_error(&zal3(
            "2026-11-22T10:00:00Z",
            &aanbieder(
                "umcdemo@medmij",
                "ZA",
                &versie(
                    "1.0.0",
                    &dienst(
                        "4",
                        "",
                        &(rol("A", "a.example.nl") + &rol("A", "b.example.nl")),
                    ),
                ),
            ),
        ));
        assert_eq!(e.rule, RuleId::Lists15);
        assert!(matches!(
            e.kind,
            ErrorKind::Duplicate {
                element: "Systeemrolcode",
                ..
            }
        ));
    }

    #[test]
    fn structure_and_value_errors_name_the_rule_and_place() {
        let d4 = dienst("4", "", &rol("A", "a.example.nl"));
        // Aanbiedertype is required.
        let xml = zal3(
            "2026-11-22T10:00:00Z",
            &aanbieder("umcdemo@medmij", "ZA", &versie("1.0.0", &d4)),
        )
        .replace("<Aanbiedertype>ZA</Aanbiedertype>", "");
        let e = first_error(&xml);
        assert_eq!(e.rule, RuleId::Lists15);
        assert!(
            matches!(e.kind, ErrorKind::UnexpectedElement { ref found, ref expected } if found == "Interfaceversies" && expected == "Aanbiedertype"),
            "{e}"
        );
        // Interfaceversies needs at least one Interfaceversie.
        let e = first_error(&zal3(
            "2026-11-22T10:00:00Z",
            &aanbieder("umcdemo@medmij", "ZA", ""),
        ));
        assert!(
            matches!(
                e.kind,
                ErrorKind::MissingElement {
                    expected: "Interfaceversie"
                }
            ),
            "{e}"
        );
        // Order: Abonneren after the endpoints.
        let wrong = dienst(
            "4",
            &("<Abonneren><MaximaleDuur>1</MaximaleDuur><SubscriptionEndpointuri>https://a.example.nl/s</SubscriptionEndpointuri></Abonneren>".to_owned()
                + &endpoints("a.example.nl")),
            &rol("A", "a.example.nl"),
        );
        let e = first_error(&zal3(
            "2026-11-22T10:00:00Z",
            &aanbieder("umcdemo@medmij", "ZA", &versie("1.0.0", &wrong)),
        ));
        assert_eq!(e.rule, RuleId::Lists15);
        // Values: InterfaceversieId, MaximaleDuur, Aanbiedertype, SubscriptionEndpointuri.
        for (bad, element, rule) in [
            (versie("1.0", &d4), "InterfaceversieId", RuleId::Lists15),
            (
                versie(
                    "1.0.0",
                    &dienst(
                        "4",
                        "<Abonneren><MaximaleDuur>0</MaximaleDuur><SubscriptionEndpointuri>https://a.example.nl/s</SubscriptionEndpointuri></Abonneren>",
                        &rol("A", "a.example.nl"),
                    ),
                ),
                "MaximaleDuur",
                RuleId::Lists15,
            ),
            (
                versie(
                    "1.0.0",
                    &dienst(
                        "4",
                        "<Abonneren><MaximaleDuur>7</MaximaleDuur><SubscriptionEndpointuri>http://a.example.nl/s</SubscriptionEndpointuri></Abonneren>",
                        &rol("A", "a.example.nl"),
                    ),
                ),
                "SubscriptionEndpointuri",
                RuleId::Lists3,
            ),
        ] {
            let e = first_error(&zal3(
                "2026-11-22T10:00:00Z",
                &aanbieder("umcdemo@medmij", "ZA", &bad),
            ));
            assert_eq!(e.rule, rule, "{e}");
            assert!(
                matches!(e.kind, ErrorKind::InvalidValue { element: el, .. } if el == element),
                "{e}"
            );
            assert!(e.position.line > 0, "{e}");
        }
        let e = first_error(&zal3(
            "2026-11-22T10:00:00Z",
            &aanbieder("umcdemo@medmij", "", &versie("1.0.0", &d4)),
        ));
        assert!(
            matches!(
                e.kind,
                ErrorKind::InvalidValue {
                    element: "Aanbiedertype",
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(e.rule, RuleId::Lists15);
    }

    #[test]
    fn the_store_moves_from_release2_to_release3() {
        // A release3 ZAL with a higher Volgnummer replaces a release2 one
        // (LISTS-9); a Gegevensdienst offered in any Interfaceversie may be
        // served, and a withdrawn one for 3600 s more (LISTS-10).
        let r2 = format!(
            "<Zorgaanbiederslijst xmlns=\"{NS2}\"><Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel><Volgnummer>11</Volgnummer><Zorgaanbieders>\
             <Zorgaanbieder><Zorgaanbiedernaam>umcdemo@medmij</Zorgaanbiedernaam><Gegevensdiensten>{}</Gegevensdiensten></Zorgaanbieder>\
             </Zorgaanbieders></Zorgaanbiederslijst>",
            dienst("9", &endpoints("r2.example.nl"), &rol("X", "r2.example.nl"))
        );
        let store: ListStore<Zorgaanbiederslijst> = ListStore::new(NoArchive);
        let t0 = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_428_000);
        let installed = store.offer(r2.as_bytes(), t0).unwrap();
        assert!(matches!(
            installed,
            medmij_lists::StoreEvent::Installed { .. }
        ));
        assert!(store.may_serve("umcdemo@medmij", "9", t0));
        let t1 = t0 + std::time::Duration::from_secs(60);
        let event = store.offer(sample().as_bytes(), t1).unwrap();
        assert!(matches!(event, StoreEvent::Installed { .. }));
        assert_eq!(
            store.current().unwrap().list().release(),
            ZalRelease::Release3
        );
        // Offered only in 2.0.0 and in 1.x versions respectively.
        assert!(store.may_serve("umcdemo@medmij", "4", t1));
        assert!(store.may_serve("apotheekdemo@medmij", "6", t1));
        // Withdrawn with release2: grace, then not.
        assert!(store.may_serve("umcdemo@medmij", "9", t1 + GRACE));
        assert!(!store.may_serve(
            "umcdemo@medmij",
            "9",
            t1 + GRACE + std::time::Duration::from_secs(1)
        ));
        // Back to release2 with a lower Volgnummer: refused (LISTS-9).
        assert!(matches!(
            store.offer(r2.as_bytes(), t1),
            Err(StoreError::NotNewer { .. })
        ));
    }

    #[test]
    fn parse_any_reads_both_releases() {
        match parse_any(sample().as_bytes(), &ParseOptions::default()).unwrap() {
            AnyList::Zal(zal) => assert_eq!(zal.release(), ZalRelease::Release3),
            other => panic!("not a ZAL: {:?}", other.kind()),
        }
        assert_eq!(ListKind::Zal.namespaces(), [NS2, NS3]);
    }

    #[test]
    fn release3_serializes_back() {
        let zal = Zorgaanbiederslijst::from_bytes(sample().as_bytes()).unwrap();
        let xml = zal.to_xml();
        assert!(xml.contains(NS3), "{xml}");
        assert!(xml.contains("<MaximaleDuur>365</MaximaleDuur>"), "{xml}");
        assert!(xml.contains("<Aanbiedertype>APD</Aanbiedertype>"), "{xml}");
        let back = Zorgaanbiederslijst::from_bytes(xml.as_bytes()).unwrap();
        assert_eq!(back, zal);
    }

    fn g3(id: &str, with_auth: bool, abonneren: Option<u32>) -> Gegevensdienst {
        Gegevensdienst::new_release3(
            GegevensdienstId::new(id).unwrap(),
            with_auth.then(|| FrontChannelUri::new("https://a.example.nl/auth").unwrap()),
            Some(BackChannelUri::new("https://a.example.nl/token").unwrap()),
            abonneren.map(|d| {
                Abonneren::new(
                    MaximaleDuur::from_days(d).unwrap(),
                    BackChannelUri::new("https://a.example.nl/sub").unwrap(),
                )
            }),
            vec![Systeemrol::new(
                Systeemrolcode::new("X").unwrap(),
                BackChannelUri::new("https://a.example.nl/fhir").unwrap(),
            )],
        )
        .unwrap()
    }

    #[test]
    fn model_constructors_enforce_the_release3_rules() {
        let iv = |id: &str, ds| Interfaceversie::new(InterfaceversieId::new(id).unwrap(), ds);
        let dup = iv("1.0.0", vec![g3("1", true, None), g3("1", true, None)]).unwrap_err();
        assert!(matches!(
            dup,
            ModelError::Duplicate {
                rule: RuleId::Lists15,
                ..
            }
        ));
        assert!(matches!(iv("1.0.0", vec![]), Err(ModelError::Empty { .. })));
        let naam = Zorgaanbiedernaam::new("umcdemo@medmij").unwrap();
        let za = Aanbiedertype::new("ZA").unwrap();
        let twice = Zorgaanbieder::new_release3(
            naam.clone(),
            za.clone(),
            vec![
                iv("1.0.0", vec![g3("1", true, None)]).unwrap(),
                iv("1.0.0", vec![g3("2", true, None)]).unwrap(),
            ],
        )
        .unwrap_err();
        assert!(matches!(
            twice,
            ModelError::Duplicate {
                element: "InterfaceversieId",
                ..
            }
        ));
        assert!(matches!(
            Zorgaanbieder::new_release3(naam.clone(), za.clone(), vec![]),
            Err(ModelError::Empty {
                rule: RuleId::Lists15,
                ..
            })
        ));
        let z3 = Zorgaanbieder::new_release3(
            naam.clone(),
            za,
            vec![iv("2.0.0", vec![g3("1", false, Some(30))]).unwrap()],
        )
        .unwrap();
        let t = Tijdstempel::new("2026-11-22T10:00:00Z").unwrap();
        let v = Volgnummer::from_u64(5).unwrap();
        // A release3 Zorgaanbieder cannot be written as release2, nor the reverse.
        let e =
            Zorgaanbiederslijst::new(ZalRelease::Release2, t.clone(), v.clone(), vec![z3.clone()])
                .unwrap_err();
        assert!(
            matches!(
                e,
                ModelError::NotInRelease {
                    release: "release2",
                    ..
                }
            ),
            "{e}"
        );
        let r2 = Gegevensdienst::new(
            GegevensdienstId::new("1").unwrap(),
            FrontChannelUri::new("https://a.example.nl/auth").unwrap(),
            BackChannelUri::new("https://a.example.nl/token").unwrap(),
            vec![Systeemrol::new(
                Systeemrolcode::new("X").unwrap(),
                BackChannelUri::new("https://a.example.nl/fhir").unwrap(),
            )],
        )
        .unwrap();
        let z2 = Zorgaanbieder::new(
            Zorgaanbiedernaam::new("anderedemo@medmij").unwrap(),
            vec![r2],
        )
        .unwrap();
        let e =
            Zorgaanbiederslijst::new(ZalRelease::Release3, t.clone(), v.clone(), vec![z2.clone()])
                .unwrap_err();
        assert!(
            matches!(
                e,
                ModelError::NotInRelease {
                    release: "release3",
                    rule: RuleId::Lists15,
                    ..
                }
            ),
            "{e}"
        );
        let ok = Zorgaanbiederslijst::new(ZalRelease::Release3, t, v, vec![z3]).unwrap();
        let back = Zorgaanbiederslijst::from_bytes(ok.to_xml().as_bytes()).unwrap();
        assert_eq!(back, ok);
    }

    /// A release2 ZAL holds only Gegevensdiensten with both endpoints and
    /// no Abonneren (MedMij LISTS-1); the model refuses the others there and
    /// accepts them in release3 (MedMij LISTS-15).
    #[test]
    fn release2_takes_only_gegevensdiensten_with_both_endpoints_and_no_abonneren() {
        let g = |auth: bool, token: bool, abonneren: bool| {
            Gegevensdienst::new_release3(
                GegevensdienstId::new("4").unwrap(),
                auth.then(|| FrontChannelUri::new("https://a.example.nl/auth").unwrap()),
                token.then(|| BackChannelUri::new("https://a.example.nl/token").unwrap()),
                abonneren.then(|| {
                    Abonneren::new(
                        MaximaleDuur::from_days(30).unwrap(),
                        BackChannelUri::new("https://a.example.nl/sub").unwrap(),
                    )
                }),
                vec![Systeemrol::new(
                    Systeemrolcode::new("X").unwrap(),
                    BackChannelUri::new("https://a.example.nl/fhir").unwrap(),
                )],
            )
            .unwrap()
        };
        let list = |release, dienst| {
            let z = Zorgaanbieder::new(
                Zorgaanbiedernaam::new("umcdemo@medmij").unwrap(),
                vec![dienst],
            )
            .unwrap();
            Zorgaanbiederslijst::new(
                release,
                Tijdstempel::new("2026-11-22T10:00:00Z").unwrap(),
                Volgnummer::from_u64(5).unwrap(),
                vec![z],
            )
        };
        for (auth, token, abonneren) in [
            (false, true, false),
            (true, false, false),
            (true, true, true),
        ] {
            let e = list(ZalRelease::Release2, g(auth, token, abonneren)).unwrap_err();
            assert!(
                matches!(
                    e,
                    ModelError::NotInRelease {
                        release: "release2",
                        rule: RuleId::Lists1,
                        ..
                    }
                ),
                "{auth} {token} {abonneren}: {e}"
            );
        }
        let ok = list(ZalRelease::Release2, g(true, true, false)).unwrap();
        assert_eq!(
            ok.token_endpoint("umcdemo@medmij", "4").unwrap().as_str(),
            "https://a.example.nl/token"
        );
    }

    #[test]
    fn releases_and_release_lines_name_themselves() {
        assert_eq!(ZalRelease::Release2.to_string(), "release2");
        assert_eq!(ZalRelease::Release3.to_string(), "release3");
        assert!(ReleaseLines::default().is_empty());
        assert!(!ReleaseLines::of(&[ReleaseLine::V2]).is_empty());
        let none =
            ReleaseLines::of(&[ReleaseLine::V1]).intersect(ReleaseLines::of(&[ReleaseLine::V2]));
        assert!(none.is_empty());
        assert_eq!(none.newest(), None);
    }

    // ------------------------------------------------ round trip (property)

    fn re(r: &str) -> impl Strategy<Value = String> {
        proptest::string::string_regex(r).expect("regex")
    }

    fn dienst3(id: String) -> impl Strategy<Value = Gegevensdienst> {
        (
            proptest::option::of(re("https://[a-z]{1,6}\\.[a-z]{2,4}(/[a-z]{1,4}){0,2}")),
            proptest::option::of(re(
                "https://[a-z]{1,6}\\.[a-z]{2,4}(:[0-9]{1,5})?(/[a-z]{1,4}){0,2}",
            )),
            proptest::option::of((1u32.., re("https://[a-z]{1,6}\\.[a-z]{2,4}/sub"))),
            proptest::collection::btree_set(re("[A-Z]{1,3}-[0-9]\\.[0-9]"), 1..3),
        )
            .prop_map(move |(auth, token, ab, codes)| {
                Gegevensdienst::new_release3(
                    GegevensdienstId::new(&id).unwrap(),
                    auth.map(|a| FrontChannelUri::new(&a).unwrap()),
                    token.map(|t| BackChannelUri::new(&t).unwrap()),
                    ab.map(|(d, u)| {
                        Abonneren::new(
                            MaximaleDuur::from_days(d).unwrap(),
                            BackChannelUri::new(&u).unwrap(),
                        )
                    }),
                    codes
                        .into_iter()
                        .map(|c| {
                            Systeemrol::new(
                                Systeemrolcode::new(&c).unwrap(),
                                BackChannelUri::new("https://r.example.nl/fhir").unwrap(),
                            )
                        })
                        .collect(),
                )
                .unwrap()
            })
    }

    fn versie3() -> impl Strategy<Value = Interfaceversie> {
        (
            re("[0-3]\\.[0-9]{1,2}\\.[0-9]"),
            proptest::collection::btree_set(re("[0-9]{1,2}"), 1..3),
        )
            .prop_flat_map(|(id, ids)| {
                let ds: Vec<_> = ids.into_iter().map(dienst3).collect();
                (Just(id), ds)
            })
            .prop_map(|(id, ds)| {
                Interfaceversie::new(InterfaceversieId::new(&id).unwrap(), ds).unwrap()
            })
    }

    fn zal_r3() -> impl Strategy<Value = Zorgaanbiederslijst> {
        let provider = (
            re("[a-z]{3,10}@medmij"),
            re("ZA|BAZB|APD|[A-Z]{1,5}"),
            proptest::collection::vec(versie3(), 1..4),
        );
        (
            0u64..4_000_000_000,
            1u64..1_000_000,
            proptest::collection::vec(provider, 0..5),
        )
            .prop_map(|(secs, v, ps)| {
                let mut names = std::collections::BTreeSet::new();
                let ps = ps
                    .into_iter()
                    .filter(|(n, _, _)| names.insert(n.clone()))
                    .map(|(n, t, mut vs)| {
                        let mut seen = std::collections::BTreeSet::new();
                        vs.retain(|v| seen.insert(v.id().unwrap().as_str().to_owned()));
                        Zorgaanbieder::new_release3(
                            Zorgaanbiedernaam::new(&n).unwrap(),
                            Aanbiedertype::new(&t).unwrap(),
                            vs,
                        )
                        .unwrap()
                    })
                    .collect();
                Zorgaanbiederslijst::new(
                    ZalRelease::Release3,
                    Tijdstempel::from_system_time(
                        std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs),
                    ),
                    Volgnummer::from_u64(v).unwrap(),
                    ps,
                )
                .unwrap()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn release3_round_trips(list in zal_r3()) {
            let xml = list.to_xml();
            let back = Zorgaanbiederslijst::from_bytes(xml.as_bytes());
            prop_assert!(back.is_ok(), "{}\n{}", back.unwrap_err(), xml);
            let back = back.unwrap();
            prop_assert_eq!(&back, &list);
            // Every entry is found by its exact version.
            for z in list.zorgaanbieders() {
                for v in z.interfaceversies() {
                    let vid = v.id().unwrap();
                    for g in v.gegevensdiensten() {
                        let found = back.gegevensdienst_in(z.naam().as_str(), g.id().as_str(), vid);
                        prop_assert_eq!(found.map(|(_, f)| f), Some(g));
                    }
                }
            }
        }
    }
}
