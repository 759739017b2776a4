//! The PGO's dossier doubles as its log of what was collected at which Bron
//! and shared with which Lezer (MedMij LOG-2): every collection and every
//! placement can be read back from it with who, what, when and under which
//! consent, and it survives a move to another PGO (CONSENT-7).

mod log_2 {
    use medmij_consent::portability::{export, import};
    use medmij_consent::{
        CollectedItem, ConsentReference, Dossier, GegevensdienstNaam, ItemId, Zorgaanbiedernaam,
    };
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s)
    }

    fn reference(n: u8) -> ConsentReference {
        serde_json::from_str(&format!("\"sha256:{}\"", format!("{n:02x}").repeat(32))).unwrap()
    }

    fn naam(s: &str) -> Zorgaanbiedernaam {
        Zorgaanbiedernaam::new(s).unwrap()
    }

    #[test]
    fn the_dossier_answers_what_was_collected_where_and_shared_with_whom() {
        let mut d = Dossier::new();
        let collections = [
            ("a", "umcharderwijk@medmij", "Medicatieoverzichten", 1),
            ("b", "umcharderwijk@medmij", "Laboratoriumresultaten", 2),
            ("c", "huisartsoost@medmij", "Basisgegevens Zorg", 3),
        ];
        for (id, bron, dienst, t) in collections {
            d.collect(CollectedItem::receive(
                ItemId::new(id).unwrap(),
                format!("content {id}").into_bytes(),
                naam(bron),
                GegevensdienstNaam::new(dienst).unwrap(),
                reference(t),
                at(u64::from(t)),
            ))
            .unwrap();
        }
        d.place(
            &ItemId::new("c").unwrap(),
            naam("lezerwest@medmij"),
            GegevensdienstNaam::new("Basisgegevens Zorg").unwrap(),
            reference(9),
            at(10),
        )
        .unwrap();

        // Collections per Bron, with Gegevensdienst, time and consent.
        let harderwijk: Vec<(String, String, SystemTime, String)> = d
            .collected_from(&naam("umcharderwijk@medmij"))
            .map(|i| {
                let p = i.provenance();
                (
                    p.item.to_string(),
                    p.gegevensdienst.to_string(),
                    p.received_at,
                    p.consent.to_string(),
                )
            })
            .collect();
        assert_eq!(
            harderwijk,
            [
                (
                    "a".into(),
                    "Medicatieoverzichten".into(),
                    at(1),
                    reference(1).to_string()
                ),
                (
                    "b".into(),
                    "Laboratoriumresultaten".into(),
                    at(2),
                    reference(2).to_string()
                ),
            ]
        );
        assert_eq!(d.collected_from(&naam("huisartsoost@medmij")).count(), 1);
        assert_eq!(d.collected_from(&naam("onbekend@medmij")).count(), 0);

        // Placements per Lezer, with the Bevestiging and the origin.
        let lezer = naam("lezerwest@medmij");
        let placed: Vec<_> = d.placed_with(&lezer).collect();
        assert_eq!(placed.len(), 1);
        assert_eq!(placed[0].item.as_str(), "c");
        assert_eq!(placed[0].placed_at, at(10));
        assert_eq!(placed[0].bevestiging, reference(9));
        assert_eq!(
            placed[0].origin.as_ref().map(|o| o.bron.as_str()),
            Some("huisartsoost@medmij")
        );

        // The log moves with the dossier (CONSENT-7).
        let moved = import(&export(&d, at(20))).unwrap().dossier;
        assert_eq!(
            moved.placements(),
            d.placements(),
            "placements survive the move"
        );
        assert_eq!(moved.items().count(), 3);
    }
}
