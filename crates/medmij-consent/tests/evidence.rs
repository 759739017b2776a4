//! The consent evidence ledger and its export (MedMij CONSENT-5), encrypted
//! at rest (MedMij TLS-5).

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use medmij_consent::evidence::*;
use medmij_consent::*;
use medmij_types::RuleId;

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn key(b: u8) -> SigningKey {
    SigningKey::from_bytes(&[b; 32])
}

fn path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("medmij-consent-evidence");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{name}-{}.jsonl", std::process::id()));
    for suffix in ["", ".lock", ".torn"] {
        let mut q = p.clone().into_os_string();
        q.push(suffix);
        let _ = std::fs::remove_file(q);
    }
    p
}

fn config() -> EvidenceConfig {
    let mut c = EvidenceConfig::new(key(7));
    c.fsync = false;
    c
}

fn record(person: &str, flow: &str, decision: Decision, at: u64) -> EvidenceRecord {
    let vars = Variables::new("UMC Harderwijk", "Medicatiegegevens", "Mijn PGO B.V.").unwrap();
    let toestemming = Toestemming::new(vars);
    let mut req = ConsentRequest {
        kind: ConsentKind::Toestemming,
        flow: FlowId::new(flow).unwrap(),
        scope: "umcharderwijk~5".parse().unwrap(),
        client: ClientId::new("pgo.example.nl").unwrap(),
        zorgaanbieder: Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap(),
        csrf: CsrfToken::new("0123456789abcdefXYZ").unwrap(),
        asked_at: t(at),
    };
    req.asked_at = t(at);
    let posted = PostedDecision {
        flow: req.flow.clone(),
        csrf_token: "0123456789abcdefXYZ".into(),
        decision,
    };
    let rec = req.decide(&posted, Side::Bron, t(at + 5)).unwrap();
    EvidenceRecord::from_consent_record(
        &rec,
        PersonId::new(person).unwrap(),
        ShownText::of(&toestemming, Language::Nl),
    )
    .unwrap()
}

/// Three decisions of person-a, one of person-b, interleaved.
fn fill(ledger: &dyn EvidenceLedger) {
    ledger
        .append(&record("person-a", "f1", Decision::Granted, 1_700_000_000))
        .unwrap();
    ledger
        .append(&record("person-b", "f2", Decision::Refused, 1_700_000_100))
        .unwrap();
    ledger
        .append(&record("person-a", "f3", Decision::Refused, 1_700_000_200))
        .unwrap();
    ledger
        .append(&record("person-a", "f4", Decision::Granted, 1_700_000_300))
        .unwrap();
}

fn lines(p: &PathBuf) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn write_lines(p: &PathBuf, ls: &[String]) {
    std::fs::write(p, ls.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
}

fn open_err(p: &PathBuf) -> (u64, String, RuleId) {
    match FileEvidenceLedger::open(p, config()) {
        Err(EvidenceError::Corrupt {
            line, reason, rule, ..
        }) => (line, reason, rule),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

mod consent_5 {
    use super::*;

    // MedMij CONSENT-5: the record keeps the exact text shown (version and
    // filled variables), time, client, scope, flow and the person.
    #[test]
    fn record_holds_text_version_variables_time_client_scope_flow_person() {
        let r = record("person-a", "f1", Decision::Granted, 1_700_000_000);
        assert_eq!(r.shown.version, TOESTEMMING_TEXT_VERSION);
        assert_eq!(r.shown.variables["naam Zorgaanbieder"], "UMC Harderwijk");
        assert_eq!(
            r.shown.variables["MedMij-gegevensdienst"],
            "'Medicatiegegevens'"
        );
        assert_eq!(r.shown.variables["naam leverancier PGO"], "Mijn PGO B.V.");
        assert!(
            r.shown
                .text
                .starts_with("U verleent hierbij 'UMC Harderwijk'")
        );
        assert_eq!(r.at, t(1_700_000_005));
        assert_eq!(r.client.as_str(), "pgo.example.nl");
        assert_eq!(r.scope, "umcharderwijk~5");
        assert_eq!(r.flow.as_str(), "f1");
        assert_eq!(r.person.as_str(), "person-a");
        assert_eq!(r.decision, EvidenceDecision::Granted);
        // An undetermined answer is no decision.
        let mut req = ConsentRequest {
            kind: ConsentKind::Toestemming,
            flow: FlowId::new("f9").unwrap(),
            scope: "umcharderwijk~5".parse().unwrap(),
            client: ClientId::new("pgo.example.nl").unwrap(),
            zorgaanbieder: Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap(),
            csrf: CsrfToken::new("0123456789abcdefXYZ").unwrap(),
            asked_at: t(1),
        };
        req.asked_at = t(2);
        let u = req.undetermined(Side::Bron, t(3));
        let e = EvidenceRecord::from_consent_record(&u, PersonId::new("p").unwrap(), r.shown)
            .unwrap_err();
        assert!(matches!(
            e,
            EvidenceError::Invalid {
                rule: RuleId::Consent5,
                ..
            }
        ));
        assert!(PersonId::new("").is_err() && PersonId::new("a b").is_err());
        // What the types cannot check is checked before writing.
        let p = path("checked");
        let (l, _) = FileEvidenceLedger::open(&p, config()).unwrap();
        let good = record("person-a", "f1", Decision::Granted, 1_700_000_000);
        for (bad, field) in [
            (
                EvidenceRecord {
                    scope: "anderziekenhuis~5".into(),
                    ..good.clone()
                },
                "scope",
            ),
            (
                EvidenceRecord {
                    scope: "umcharderwijk~".into(),
                    ..good.clone()
                },
                "scope",
            ),
            (
                EvidenceRecord {
                    indefinite: true,
                    ..good.clone()
                },
                "indefinite",
            ),
            (
                EvidenceRecord {
                    withdraws: Some(1),
                    ..good.clone()
                },
                "withdraws",
            ),
        ] {
            match l.append(&bad) {
                Err(EvidenceError::Invalid { field: f, rule, .. }) => {
                    assert_eq!((f, rule), (field, RuleId::Consent5))
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(l.head().seq, 0);
        let v2 = EvidenceRecord {
            scope: "umcharderwijk onbehalfofchild".into(),
            ..good
        };
        assert!(v2.check().is_ok());
    }

    // MedMij CONSENT-5: lookup per person returns exactly that person's
    // decisions, in order; they survive reopening.
    #[test]
    fn lookup_returns_exactly_one_persons_decisions() {
        let p = path("lookup");
        {
            let (l, report) = FileEvidenceLedger::open(&p, config()).unwrap();
            assert_eq!(report.verified.records, 0);
            fill(&l);
        }
        let (l, report) = FileEvidenceLedger::open(&p, config()).unwrap();
        assert_eq!(report.verified.records, 4);
        assert!(report.repaired.is_none());
        let a = l.lookup(&PersonId::new("person-a").unwrap()).unwrap();
        assert_eq!(a.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [1, 3, 4]);
        assert_eq!(
            a.iter().map(|(_, r)| r.flow.as_str()).collect::<Vec<_>>(),
            ["f1", "f3", "f4"]
        );
        assert!(a.iter().all(|(_, r)| r.person.as_str() == "person-a"));
        let b = l.lookup(&PersonId::new("person-b").unwrap()).unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].1.decision, EvidenceDecision::Refused);
        assert!(
            l.lookup(&PersonId::new("person-c").unwrap())
                .unwrap()
                .is_empty()
        );
        assert_eq!(l.verify().unwrap().head.seq, 4);
        // One writer per file.
        assert!(matches!(
            FileEvidenceLedger::open(&p, config()),
            Err(EvidenceError::InUse(_))
        ));
    }

    // MedMij CONSENT-5: a changed record is detected.
    #[test]
    fn changed_record_is_detected() {
        let p = path("changed");
        fill(&FileEvidenceLedger::open(&p, config()).unwrap().0);
        let mut ls = lines(&p);
        assert!(ls[1].contains("\"decision\":\"refused\""));
        ls[1] = ls[1].replace("\"decision\":\"refused\"", "\"decision\":\"granted\"");
        write_lines(&p, &ls);
        let (line, reason, rule) = open_err(&p);
        assert_eq!((line, rule), (2, RuleId::Consent5));
        assert!(reason.contains("changed"), "{reason}");
    }

    // MedMij CONSENT-5: a dropped record is detected.
    #[test]
    fn dropped_record_is_detected() {
        let p = path("dropped");
        fill(&FileEvidenceLedger::open(&p, config()).unwrap().0);
        let mut ls = lines(&p);
        ls.remove(1);
        write_lines(&p, &ls);
        let (line, reason, _) = open_err(&p);
        assert_eq!(line, 2);
        assert!(reason.contains("dropped"), "{reason}");
        // The first line dropped too.
        let p = path("dropped-first");
        fill(&FileEvidenceLedger::open(&p, config()).unwrap().0);
        let mut ls = lines(&p);
        ls.remove(0);
        write_lines(&p, &ls);
        assert_eq!(open_err(&p).0, 1);
        // Dropping the newest line under a running writer: verify says so.
        let p = path("dropped-tail");
        let (l, _) = FileEvidenceLedger::open(&p, config()).unwrap();
        fill(&l);
        let mut ls = lines(&p);
        ls.pop();
        write_lines(&p, &ls);
        let e = l.verify().unwrap_err();
        assert!(e.to_string().contains("dropped"), "{e}");
    }

    // MedMij CONSENT-5: reordered records are detected.
    #[test]
    fn reordered_records_are_detected() {
        let p = path("reordered");
        fill(&FileEvidenceLedger::open(&p, config()).unwrap().0);
        let mut ls = lines(&p);
        ls.swap(1, 2);
        write_lines(&p, &ls);
        let (line, reason, _) = open_err(&p);
        assert_eq!(line, 2);
        assert!(reason.contains("moved"), "{reason}");
    }

    // MedMij CONSENT-5: a line rewritten consistently by someone without the
    // key (hash recomputed, own signature) is refused: it is not signed by a
    // trusted key.
    #[test]
    fn line_signed_with_another_key_is_detected() {
        let p = path("forged-line");
        fill(&FileEvidenceLedger::open(&p, config()).unwrap().0);
        let ls = lines(&p);
        // A forger's ledger, same records, another key: its first line is
        // well formed and chained, but not trusted.
        let q = path("forger");
        let mut fc = EvidenceConfig::new(key(9));
        fc.fsync = false;
        fill(&FileEvidenceLedger::open(&q, fc).unwrap().0);
        let mut forged = ls.clone();
        forged[0] = lines(&q)[0].clone();
        write_lines(&p, &forged);
        let (line, reason, _) = open_err(&p);
        assert_eq!(line, 1);
        assert!(reason.contains("signature"), "{reason}");
    }

    // A crash in the middle of an append leaves a torn last line: it is
    // saved aside and cut off on open, and appending goes on.
    #[test]
    fn torn_last_line_is_repaired_on_open() {
        let p = path("torn");
        fill(&FileEvidenceLedger::open(&p, config()).unwrap().0);
        let whole = std::fs::read(&p).unwrap();
        let mut torn = whole.clone();
        torn.extend_from_slice(b"{\"seq\":5,\"prev\":\"00");
        std::fs::write(&p, &torn).unwrap();
        let (l, report) = FileEvidenceLedger::open(&p, config()).unwrap();
        let r = report.repaired.expect("repaired");
        assert_eq!((r.line, r.offset, r.bytes), (5, whole.len() as u64, 19));
        assert_eq!(
            std::fs::read(&r.saved_to).unwrap(),
            b"{\"seq\":5,\"prev\":\"00"
        );
        assert_eq!(std::fs::read(&p).unwrap(), whole);
        assert_eq!(
            l.append(&record("person-a", "f5", Decision::Granted, 1_700_000_400))
                .unwrap(),
            5
        );
        assert_eq!(l.verify().unwrap().records, 5);
    }

    // MedMij CONSENT-5: the export verifies on its own; a changed, dropped
    // or reordered record and a forged signature are detected.
    #[test]
    fn export_verifies_and_detects_tampering() {
        let p = path("export");
        let (l, _) = FileEvidenceLedger::open(&p, config()).unwrap();
        fill(&l);
        let person = PersonId::new("person-a").unwrap();
        let export = l.export(&person, &key(7), t(1_800_000_000)).unwrap();
        assert_eq!(export.count(), 3);
        let trusted = key(7).verifying_key();
        let v = verify_export(export.to_json(), Some(&trusted)).unwrap();
        assert_eq!(v.person, person);
        assert_eq!(v.exported_at, t(1_800_000_000));
        assert_eq!(v.records, l.lookup(&person).unwrap());

        let doc: serde_json::Value = serde_json::from_str(export.to_json()).unwrap();
        let check = |d: &serde_json::Value| verify_export(&d.to_string(), Some(&trusted));
        // The untouched document, re-serialised, still verifies.
        assert!(check(&doc).is_ok());
        // Changed.
        let mut d = doc.clone();
        d["records"][1]["record"]["decision"] = "granted".into();
        let e = check(&d).unwrap_err();
        assert_eq!((e.record, e.rule), (2, RuleId::Consent5));
        assert!(e.reason.contains("changed"), "{e}");
        // Dropped (the last one, so that the numbering still fits).
        let mut d = doc.clone();
        d["records"].as_array_mut().unwrap().pop();
        let e = check(&d).unwrap_err();
        assert!(e.reason.contains("dropped"), "{e}");
        // Dropped, count and head adjusted: the signature breaks.
        let mut d = doc.clone();
        d["records"].as_array_mut().unwrap().pop();
        d["count"] = 2.into();
        d["head"] = doc["records"][1]["hash"].clone();
        let e = check(&d).unwrap_err();
        assert!(e.reason.contains("signature"), "{e}");
        // Reordered.
        let mut d = doc.clone();
        d["records"].as_array_mut().unwrap().swap(0, 1);
        assert!(check(&d).is_err());
        // Forged signature.
        let mut d = doc.clone();
        let sig = doc["signature"].as_str().unwrap();
        let flipped = if sig.starts_with('0') { "1" } else { "0" };
        d["signature"] = format!("{flipped}{}", &sig[1..]).into();
        let e = check(&d).unwrap_err();
        assert!(e.reason.contains("signature"), "{e}");
        // Signed by someone else's key: valid on its own, not from the DVZA.
        let other = EvidenceExport::build(
            &person,
            &l.lookup(&person).unwrap(),
            &key(9),
            t(1_800_000_000),
        )
        .unwrap();
        assert!(verify_export(other.to_json(), None).is_ok());
        let e = verify_export(other.to_json(), Some(&trusted)).unwrap_err();
        assert!(e.reason.contains("another key"), "{e}");
        // Another person's record smuggled in.
        let b = l.lookup(&PersonId::new("person-b").unwrap()).unwrap();
        assert!(EvidenceExport::build(&person, &b, &key(7), t(1)).is_err());
        // Garbage never panics.
        for bad in ["", "{}", "[]", "{\"format\":1}", "null"] {
            assert!(verify_export(bad, Some(&trusted)).is_err());
        }
    }

    // MedMij CONSENT-5: own retention, not LOG-3's; default forever.
    #[test]
    fn retention_is_its_own_setting_and_defaults_to_forever() {
        assert_eq!(EvidenceRetention::default(), EvidenceRetention::Forever);
        assert_eq!(config().retention, EvidenceRetention::Forever);
        let p = path("retention");
        let (l, _) = FileEvidenceLedger::open(&p, config()).unwrap();
        fill(&l);
        let r = l.prune(t(4_000_000_000)).unwrap();
        assert_eq!((r.cutoff, r.removed), (None, 0));
        assert_eq!(l.verify().unwrap().records, 4);
        drop(l);
        // Twenty years: the two oldest go, the rest still verifies.
        let mut c = config();
        c.retention = EvidenceRetention::For(Duration::from_secs(20 * 365 * 86_400));
        let (l, _) = FileEvidenceLedger::open(&p, c.clone()).unwrap();
        let now = t(1_700_000_150 + 20 * 365 * 86_400);
        let r = l.prune(now).unwrap();
        assert_eq!(r.removed, 2);
        let v = l.verify().unwrap();
        assert_eq!((v.records, v.anchored_at, v.head.seq), (2, Some(2), 4));
        assert_eq!(
            l.append(&record("person-b", "f6", Decision::Granted, 1_700_000_500))
                .unwrap(),
            5
        );
        drop(l);
        let (l, report) = FileEvidenceLedger::open(&p, c).unwrap();
        assert_eq!(report.verified.records, 3);
        let a = l.lookup(&PersonId::new("person-a").unwrap()).unwrap();
        assert_eq!(a.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [3, 4]);
        // An anchor cannot be forged without the key.
        drop(l);
        let mut ls = lines(&p);
        ls[0] = ls[0].replace("\"seq\":2", "\"seq\":3");
        write_lines(&p, &ls);
        assert!(FileEvidenceLedger::open(&p, config()).is_err());
    }

    // (2.x) A withdrawal refers to the grant it ends.
    #[test]
    fn withdrawal_is_registered_against_its_grant() {
        let p = path("withdrawal");
        let (l, _) = FileEvidenceLedger::open(&p, config()).unwrap();
        let shown = ShownText::custom(
            "toestemming-2.x/provisional",
            Language::Nl,
            [("Naam Aanbieder".to_string(), "UMC Harderwijk".to_string())],
            "U geeft toestemming.",
        )
        .unwrap();
        let grant = EvidenceRecord::v2_decision(
            PersonId::new("person-a").unwrap(),
            true,
            true,
            shown.clone(),
            t(1_700_000_000),
            ClientId::new("pgo.example.nl").unwrap(),
            Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap(),
            FlowId::new("v2-1").unwrap(),
        );
        assert_eq!(
            (grant.scope.as_str(), grant.indefinite),
            ("umcharderwijk", true)
        );
        let seq = l.append(&grant).unwrap();
        let w = EvidenceRecord::withdrawal(
            &grant,
            seq,
            shown.clone(),
            t(1_700_100_000),
            FlowId::new("v2-manage-1").unwrap(),
        )
        .unwrap();
        l.append(&w).unwrap();
        let a = l.lookup(&PersonId::new("person-a").unwrap()).unwrap();
        assert_eq!(a[1].1.decision, EvidenceDecision::Withdrawn);
        assert_eq!(a[1].1.withdraws, Some(seq));
        assert!(EvidenceRecord::withdrawal(&w, 2, shown, t(1), FlowId::new("x").unwrap()).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        // MedMij CONSENT-5: any one-character change to an export either fails
        // to verify or leaves every record as it was (e.g. white space); it
        // never panics.
        #[test]
        fn no_single_change_slips_through(pos in 0usize..100_000, c in proptest::char::any()) {
            let export = sample_export();
            let json = export.to_json();
            let chars: Vec<char> = json.chars().collect();
            let i = pos % chars.len();
            let mut changed = chars.clone();
            changed[i] = c;
            let changed: String = changed.into_iter().collect();
            let trusted = key(7).verifying_key();
            let original = verify_export(json, Some(&trusted)).unwrap();
            if let Ok(v) = verify_export(&changed, Some(&trusted)) {
                proptest::prop_assert_eq!(v, original);
            }
        }
    }

    #[cfg(feature = "postgres")]
    mod postgres {
        use super::*;

        const URL: &str = "postgres://medmij:medmij@127.0.0.1:5432/medmij_test";

        fn table(name: &str) -> String {
            let t = format!("consent_evidence_{name}_{}", std::process::id());
            let mut c = ::postgres::Client::connect(URL, ::postgres::NoTls).unwrap();
            c.batch_execute(&format!("DROP TABLE IF EXISTS {t}"))
                .unwrap();
            t
        }

        fn drop_table(t: &str) {
            let mut c = ::postgres::Client::connect(URL, ::postgres::NoTls).unwrap();
            c.batch_execute(&format!("DROP TABLE IF EXISTS {t}"))
                .unwrap();
        }

        // MedMij CONSENT-5 on PostgreSQL: lookup per person, tamper
        // detection, retention.
        #[test]
        fn postgres_ledger() {
            let tb = table("pg");
            {
                let (l, r) = PgEvidenceLedger::open(URL, &tb, config()).unwrap();
                assert_eq!(r.records, 0);
                fill(&l);
            }
            let (l, r) = PgEvidenceLedger::open(URL, &tb, config()).unwrap();
            assert_eq!(r.records, 4);
            let a = l.lookup(&PersonId::new("person-a").unwrap()).unwrap();
            assert_eq!(a.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [1, 3, 4]);
            assert!(a.iter().all(|(_, r)| r.person.as_str() == "person-a"));
            let export = l
                .export(
                    &PersonId::new("person-b").unwrap(),
                    &key(7),
                    t(1_800_000_000),
                )
                .unwrap();
            assert_eq!(
                verify_export(export.to_json(), Some(&key(7).verifying_key()))
                    .unwrap()
                    .records
                    .len(),
                1
            );
            let mut c = ::postgres::Client::connect(URL, ::postgres::NoTls).unwrap();
            // Changed.
            c.execute(
                &format!("UPDATE {tb} SET line = replace(line, '\"refused\"', '\"granted\"') WHERE seq = 2"),
                &[],
            )
            .unwrap();
            let e = l.verify().unwrap_err();
            assert!(matches!(e, EvidenceError::Corrupt { line: 2, .. }), "{e}");
            assert!(l.lookup(&PersonId::new("person-a").unwrap()).is_err());
            drop(l);
            assert!(PgEvidenceLedger::open(URL, &tb, config()).is_err());
            drop_table(&tb);

            // Dropped.
            let tb = table("pgdrop");
            fill(&PgEvidenceLedger::open(URL, &tb, config()).unwrap().0);
            c.execute(&format!("DELETE FROM {tb} WHERE seq = 3"), &[])
                .unwrap();
            assert!(matches!(
                PgEvidenceLedger::open(URL, &tb, config()),
                Err(EvidenceError::Corrupt { line: 3, .. })
            ));
            drop_table(&tb);

            // Retention.
            let tb = table("pgprune");
            let mut cfg = config();
            cfg.retention = EvidenceRetention::For(Duration::from_secs(1000));
            let (l, _) = PgEvidenceLedger::open(URL, &tb, cfg.clone()).unwrap();
            fill(&l);
            assert_eq!(l.prune(t(1_700_001_150)).unwrap().removed, 2);
            assert_eq!(
                l.append(&record("person-c", "f7", Decision::Granted, 1_700_002_000))
                    .unwrap(),
                5
            );
            drop(l);
            let (l, r) = PgEvidenceLedger::open(URL, &tb, cfg).unwrap();
            assert_eq!((r.records, r.anchored_at), (3, Some(2)));
            assert_eq!(l.verify().unwrap().head.seq, 5);
            drop_table(&tb);

            // MedMij TLS-5: encrypted rows hold no plaintext either.
            let tb = table("pgenc");
            let mut cfg = config();
            cfg.cipher = Some(EvidenceCipher::new(&[42; 32]));
            fill(&PgEvidenceLedger::open(URL, &tb, cfg.clone()).unwrap().0);
            let rows: Vec<String> = c
                .query(&format!("SELECT line FROM {tb} ORDER BY seq"), &[])
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            assert_eq!(rows.len(), 4);
            for row in &rows {
                for secret in ["umcharderwijk", "pgo.example.nl", "person-", "verleent"] {
                    assert!(!row.contains(secret), "{secret} in clear: {row}");
                }
            }
            let (l, _) = PgEvidenceLedger::open(URL, &tb, cfg).unwrap();
            assert_eq!(
                l.lookup(&PersonId::new("person-a").unwrap()).unwrap().len(),
                3
            );
            assert!(PgEvidenceLedger::open(URL, &tb, config()).is_err());
            drop(l);
            drop_table(&tb);
        }

        // MedMij CONSENT-5 on PostgreSQL: the table name goes into SQL text,
        // so it is checked before anything is sent: 1 to 48 of `a-z 0-9 _`,
        // not starting with a digit.
        #[test]
        fn pg_table_names_are_checked_before_they_reach_sql() {
            let name48 = format!("ce_{}_", std::process::id());
            let name48 = format!("{name48}{}", "x".repeat(48 - name48.len()));
            let under = format!("_ce_{}", std::process::id());
            for good in [name48.as_str(), under.as_str()] {
                drop_table(good);
                let (l, r) = PgEvidenceLedger::open(URL, good, config()).unwrap();
                assert_eq!(r.records, 0, "{good}");
                drop(l);
                drop_table(good);
            }
            let name49 = format!("{name48}x");
            for bad in [
                "",
                name49.as_str(),
                "Consent_upper",
                "ce;drop",
                "ce x",
                "ce-x",
                "1ce",
            ] {
                match PgEvidenceLedger::open(URL, bad, config()) {
                    Err(EvidenceError::Config(reason)) => {
                        assert!(reason.starts_with("table name"), "{bad}: {reason}")
                    }
                    other => panic!("{bad:?}: {other:?}"),
                }
            }
        }

        // MedMij CONSENT-5 on PostgreSQL: the head is the last record, each
        // row keeps its time in microseconds, and a record exactly at the
        // cutoff is kept by pruning.
        #[test]
        fn pg_head_times_and_the_cutoff() {
            let tb = table("pghead");
            let mut cfg = config();
            cfg.retention = EvidenceRetention::For(Duration::from_secs(1000));
            let (l, _) = PgEvidenceLedger::open(URL, &tb, cfg).unwrap();
            fill(&l);
            let head = l.head();
            assert_eq!(head.seq, 4);
            assert_ne!(head.hash, [0; 32]);
            assert_eq!(head, l.verify().unwrap().head);
            let mut c = ::postgres::Client::connect(URL, ::postgres::NoTls).unwrap();
            let at_us: Vec<i64> = c
                .query(&format!("SELECT at_us FROM {tb} ORDER BY seq"), &[])
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            assert_eq!(
                at_us,
                [
                    1_700_000_005_000_000,
                    1_700_000_105_000_000,
                    1_700_000_205_000_000,
                    1_700_000_305_000_000
                ]
            );
            // The second record was taken at 1_700_000_105.
            let r = l.prune(t(1_700_001_105)).unwrap();
            assert_eq!((r.cutoff, r.removed), (Some(t(1_700_000_105)), 1));
            let v = l.verify().unwrap();
            assert_eq!((v.records, v.anchored_at, v.head.seq), (3, Some(1), 4));
            drop(l);
            drop_table(&tb);
        }
    }

    // MedMij CONSENT-5, CONSENT-2: a Bevestiging is registered with the
    // version of its wording and the filled variables, like a Toestemming;
    // a replaced wording has a version of its own.
    #[test]
    fn a_bevestiging_is_recorded_with_its_version_and_variables() {
        let vars = Variables::several(
            "UMC Harderwijk",
            &["Medicatiegegevens", "Labuitslagen"],
            "Mijn PGO B.V.",
        )
        .unwrap();
        let b = Bevestiging::new(vars.clone());
        let shown = ShownText::of(&b, Language::Nl);
        assert_eq!(shown.version, "bevestiging/default-provisional");
        assert_eq!(shown.variables["naam Zorgaanbieder"], "UMC Harderwijk");
        assert_eq!(
            shown.variables["MedMij-gegevensdienst"],
            "'Medicatiegegevens' en 'Labuitslagen'"
        );
        assert_eq!(shown.variables["naam leverancier PGO"], "Mijn PGO B.V.");
        assert_eq!(shown.variables.len(), 3);
        assert_eq!(shown.text, b.short_text(Language::Nl));
        let own = BevestigingTemplate::default()
            .with_wording(
                Language::En,
                "{MedMij-gegevensdienst} via {naam leverancier PGO} to {naam Zorgaanbieder}.",
                "{MedMij-gegevensdienst} via {naam leverancier PGO} to {naam Zorgaanbieder}?",
            )
            .unwrap();
        let v = own.version();
        assert!(
            v.starts_with("bevestiging/custom-") && v.len() == 19 + 16,
            "{v}"
        );
        let shown = ShownText::of(&Bevestiging::with_template(vars, own.clone()), Language::En);
        assert_eq!(shown.version, v);
        let other = own
            .with_wording(
                Language::En,
                "{MedMij-gegevensdienst} via {naam leverancier PGO} to {naam Zorgaanbieder}!",
                "{MedMij-gegevensdienst} via {naam leverancier PGO} to {naam Zorgaanbieder}?",
            )
            .unwrap();
        assert_ne!(other.version(), v);
    }

    /// A wording of the host's own that names neither its version nor its
    /// variables.
    struct OwnWording;

    impl Wording for OwnWording {
        fn kind(&self) -> ConsentKind {
            ConsentKind::Toestemming
        }
        fn full_text(&self, _: Language) -> String {
            "Eigen volledige tekst.".into()
        }
        fn full_html(&self, _: Language) -> String {
            "Eigen volledige tekst.".into()
        }
        fn short_text(&self, _: Language) -> String {
            "Eigen korte tekst.".into()
        }
        fn short_html(&self, _: Language) -> String {
            "Eigen korte tekst.".into()
        }
    }

    // MedMij CONSENT-5: a wording that does not name its version is
    // registered as `unversioned`, with no variables, and its text.
    #[test]
    fn a_wording_that_names_no_version_is_recorded_unversioned() {
        let shown = ShownText::of(&OwnWording, Language::Nl);
        assert_eq!(shown.version, "unversioned");
        assert!(shown.variables.is_empty(), "{:?}", shown.variables);
        assert_eq!(shown.text, "Eigen korte tekst.");
    }

    // MedMij CONSENT-5: a text of the host's own (a 2.x screen) is kept with
    // a version of 1 to 128 bytes and a text of 1 to 20 000 characters,
    // neither with control characters but the text's line breaks.
    #[test]
    fn a_shown_text_of_the_hosts_own_is_checked() {
        let ok = |version: &str, text: &str| {
            ShownText::custom(version, Language::Nl, [], text).map(|s| (s.version, s.text))
        };
        let field = |version: &str, text: &str| match ok(version, text) {
            Err(EvidenceError::Invalid { field, rule, .. }) => {
                assert_eq!(rule, RuleId::Consent5);
                field
            }
            other => panic!("{version:?} {text:?}: {other:?}"),
        };
        let v128 = "v".repeat(128);
        let t20000 = "é".repeat(20_000);
        assert_eq!(ok(&v128, &t20000).unwrap(), (v128.clone(), t20000.clone()));
        assert!(ok("eigen/1", "regel 1\nregel 2").is_ok());
        assert_eq!(field("", "tekst"), "shown.version");
        assert_eq!(field(&format!("{v128}v"), "tekst"), "shown.version");
        assert_eq!(field("eigen\u{7}", "tekst"), "shown.version");
        assert_eq!(field("eigen/1", ""), "shown.text");
        assert_eq!(field("eigen/1", &format!("{t20000}é")), "shown.text");
        assert_eq!(field("eigen/1", "regel\u{7}"), "shown.text");
        assert_eq!(field("eigen/1", "regel\r\n"), "shown.text");
    }

    // MedMij CONSENT-5: a person is shown by the local id as given.
    #[test]
    fn a_person_is_shown_as_given() {
        assert_eq!(
            PersonId::new("subject-8f3a").unwrap().to_string(),
            "subject-8f3a"
        );
    }

    // MedMij CONSENT-5: a person is named by 1 to 256 bytes of visible ASCII.
    #[test]
    fn a_person_id_is_at_most_256_bytes() {
        assert_eq!(PersonId::new("p".repeat(256)).unwrap().as_str().len(), 256);
        assert!(PersonId::new("p".repeat(257)).is_err());
        assert!(PersonId::new("p".repeat(1000)).is_err());
    }

    // MedMij CONSENT-5, OAUTH-5: the scope kept is at most 2048 bytes.
    #[test]
    fn a_scope_of_exactly_2048_bytes_is_kept() {
        // 3 pairs of 17 bytes, 105 of 18, 107 spaces: 2048 bytes.
        let ids: Vec<String> = (100..103)
            .chain(1000..1105)
            .map(|i| i.to_string())
            .collect();
        let scope = |ids: &[String]| {
            ids.iter()
                .map(|i| format!("umcharderwijk~{i}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let good = record("person-a", "f1", Decision::Granted, 1_700_000_000);
        let at_limit = EvidenceRecord {
            scope: scope(&ids),
            ..good.clone()
        };
        assert_eq!(at_limit.scope.len(), 2048);
        assert_eq!(at_limit.check(), Ok(()));
        let mut more = ids.clone();
        more[0] = "1200".into();
        let over = EvidenceRecord {
            scope: scope(&more),
            ..good
        };
        assert_eq!(over.scope.len(), 2049);
        match over.check() {
            Err(EvidenceError::Invalid {
                field,
                reason,
                rule,
            }) => assert_eq!(
                (field, reason.as_str(), rule),
                ("scope", "is longer than 2048 bytes", RuleId::Consent5)
            ),
            other => panic!("{other:?}"),
        }
    }

    // MedMij CONSENT-6, OAUTH-19: only a 2.x grant is for an indefinite
    // period; a refusal with the box checked, or a grant without it, is not.
    #[test]
    fn a_2x_refusal_is_never_for_an_indefinite_period() {
        let shown =
            ShownText::custom("toestemming-2.x/eigen", Language::Nl, [], "Toestemming?").unwrap();
        let decide = |granted: bool, indefinite: bool| {
            EvidenceRecord::v2_decision(
                PersonId::new("person-a").unwrap(),
                granted,
                indefinite,
                shown.clone(),
                t(1_700_000_000),
                ClientId::new("pgo.example.nl").unwrap(),
                Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap(),
                FlowId::new("v2-1").unwrap(),
            )
        };
        for (granted, indefinite, decision, kept) in [
            (true, true, EvidenceDecision::Granted, true),
            (true, false, EvidenceDecision::Granted, false),
            (false, true, EvidenceDecision::Refused, false),
            (false, false, EvidenceDecision::Refused, false),
        ] {
            let r = decide(granted, indefinite);
            assert_eq!(
                (r.decision, r.indefinite),
                (decision, kept),
                "{granted} {indefinite}"
            );
            assert_eq!(r.check(), Ok(()));
        }
    }

    // MedMij CONSENT-5, OAUTH-5, OAUTH-20: the scope kept reads back as a
    // 1.x scope when it is one; a 2.x scope (the Aanbieder's name) is not.
    #[test]
    fn the_scope_reads_back_as_a_1x_scope_when_it_is_one() {
        let r = record("person-a", "f1", Decision::Granted, 1_700_000_000);
        assert_eq!(
            r.scope_v1(),
            Some("umcharderwijk~5".parse::<Scope>().unwrap())
        );
        let v2 = EvidenceRecord {
            scope: "umcharderwijk".into(),
            ..r
        };
        assert_eq!(v2.check(), Ok(()));
        assert_eq!(v2.scope_v1(), None);
    }

    // MedMij CONSENT-5: a reader next to the running writer looks one
    // person's decisions up from the file as the ledger does; the ledger's
    // head is its last record.
    #[test]
    fn a_reader_next_to_the_writer_finds_one_persons_decisions() {
        let p = path("reader");
        let (l, _) = FileEvidenceLedger::open(&p, config()).unwrap();
        fill(&l);
        let head = l.head();
        assert_eq!(head.seq, 4);
        assert_ne!(head.hash, [0; 32]);
        assert_eq!(head, l.verify().unwrap().head);
        let trust = vec![key(7).verifying_key()];
        let a = PersonId::new("person-a").unwrap();
        let found = lookup_file(&p, trust.clone(), None, &a).unwrap();
        assert_eq!(found.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [1, 3, 4]);
        assert_eq!(found, l.lookup(&a).unwrap());
        let c = PersonId::new("person-c").unwrap();
        assert!(lookup_file(&p, trust, None, &c).unwrap().is_empty());
    }

    // MedMij CONSENT-5: pruning removes the records older than the
    // retention; one taken exactly at the cutoff is kept.
    #[test]
    fn a_record_exactly_at_the_cutoff_is_kept() {
        let p = path("cutoff");
        let mut c = config();
        let twenty_years = Duration::from_secs(20 * 365 * 86_400);
        c.retention = EvidenceRetention::For(twenty_years);
        let (l, _) = FileEvidenceLedger::open(&p, c).unwrap();
        fill(&l);
        // The second record was taken at 1_700_000_105.
        let r = l.prune(t(1_700_000_105) + twenty_years).unwrap();
        assert_eq!((r.cutoff, r.removed), (Some(t(1_700_000_105)), 1));
        let v = l.verify().unwrap();
        assert_eq!((v.records, v.anchored_at), (3, Some(1)));
    }

    // MedMij CONSENT-5: a ledger named without a directory lives in the
    // current directory.
    #[test]
    fn a_ledger_named_without_a_directory_lives_in_the_current_directory() {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("medmij-consent-cwd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Every other test here uses absolute paths.
        std::env::set_current_dir(&dir).unwrap();
        let name = std::path::Path::new("evidence-here.jsonl");
        for f in ["evidence-here.jsonl", "evidence-here.jsonl.lock"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
        {
            let (l, report) = FileEvidenceLedger::open(name, config()).unwrap();
            assert_eq!(report.verified.records, 0);
            fill(&l);
        }
        assert!(dir.join("evidence-here.jsonl").exists());
        let (l, report) = FileEvidenceLedger::open(name, config()).unwrap();
        assert_eq!(report.verified.records, 4);
        assert_eq!(l.verify().unwrap().head.seq, 4);
    }

    // MedMij CONSENT-5: the anchor a pruned ledger starts with is signed
    // whole: its cutoff and time cannot be changed without the key.
    #[test]
    fn an_anchors_times_cannot_be_changed_without_the_key() {
        let p = path("anchor-times");
        let mut c = config();
        c.retention = EvidenceRetention::For(Duration::from_secs(20 * 365 * 86_400));
        {
            let (l, _) = FileEvidenceLedger::open(&p, c.clone()).unwrap();
            fill(&l);
            let now = t(1_700_000_150 + 20 * 365 * 86_400);
            assert_eq!(l.prune(now).unwrap().removed, 2);
        }
        let good = lines(&p);
        assert!(FileEvidenceLedger::open(&p, c.clone()).is_ok());
        for field in ["\"cutoff\":\"20", "\"at\":\"20"] {
            let mut ls = good.clone();
            assert!(
                ls[0].starts_with("{\"anchor\"") && ls[0].contains(field),
                "{}",
                ls[0]
            );
            ls[0] = ls[0].replacen(field, &field.replace("\"20", "\"19"), 1);
            write_lines(&p, &ls);
            match FileEvidenceLedger::open(&p, c.clone()) {
                Err(EvidenceError::Corrupt { line, reason, .. }) => assert_eq!(
                    (line, reason.as_str()),
                    (1, "the signature does not verify with a trusted key"),
                    "{field}"
                ),
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}

fn sample_export() -> EvidenceExport {
    let person = PersonId::new("person-a").unwrap();
    let records: Vec<(u64, EvidenceRecord)> =
        [(1, "f1", Decision::Granted), (3, "f3", Decision::Refused)]
            .into_iter()
            .map(|(s, f, d)| (s, record("person-a", f, d, 1_700_000_000 + s)))
            .collect();
    EvidenceExport::build(&person, &records, &key(7), t(1_800_000_000)).unwrap()
}

mod tls_5 {
    use super::*;

    // MedMij TLS-5: with a host key the file holds no plaintext scope,
    // client, person or text; without the key, or with another, it does
    // not open.
    #[test]
    fn encrypted_at_rest_holds_no_plaintext() {
        let p = path("encrypted");
        let mut c = config();
        c.cipher = Some(EvidenceCipher::new(&[42; 32]));
        {
            let (l, _) = FileEvidenceLedger::open(&p, c.clone()).unwrap();
            fill(&l);
        }
        let raw = std::fs::read_to_string(&p).unwrap();
        for secret in [
            "umcharderwijk",
            "pgo.example.nl",
            "person-a",
            "Medicatiegegevens",
            "verleent",
            "granted",
        ] {
            assert!(!raw.contains(secret), "{secret} in clear");
        }
        assert!(raw.contains("\"enc\":"));
        let (l, _) = FileEvidenceLedger::open(&p, c.clone()).unwrap();
        let a = l.lookup(&PersonId::new("person-a").unwrap()).unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].1.scope, "umcharderwijk~5");
        drop(l);
        match FileEvidenceLedger::open(&p, config()) {
            Err(EvidenceError::Corrupt { rule, line, .. }) => {
                assert_eq!((rule, line), (RuleId::Tls5, 1))
            }
            other => panic!("{other:?}"),
        }
        let mut wrong = config();
        wrong.cipher = Some(EvidenceCipher::new(&[43; 32]));
        assert!(matches!(
            FileEvidenceLedger::open(&p, wrong),
            Err(EvidenceError::Corrupt {
                rule: RuleId::Tls5,
                ..
            })
        ));
        // Encryption is off by default.
        assert!(config().cipher.is_none());
    }

    // MedMij TLS-5: a ciphertext too short to hold its nonce is refused as
    // corrupt, as any that does not decrypt (bad input never panics).
    #[test]
    fn a_ciphertext_shorter_than_its_nonce_is_refused() {
        let p = path("short-enc");
        let mut c = config();
        c.cipher = Some(EvidenceCipher::new(&[42; 32]));
        {
            let (l, _) = FileEvidenceLedger::open(&p, c.clone()).unwrap();
            fill(&l);
        }
        let good = lines(&p);
        for short in ["", "00", &"ab".repeat(23)] {
            let mut ls = good.clone();
            let start = ls[0].find("\"enc\":\"").unwrap() + 7;
            let end = start + ls[0][start..].find('"').unwrap();
            ls[0].replace_range(start..end, short);
            write_lines(&p, &ls);
            match FileEvidenceLedger::open(&p, c.clone()) {
                Err(EvidenceError::Corrupt { rule, line, .. }) => {
                    assert_eq!((rule, line), (RuleId::Tls5, 1), "{short:?}")
                }
                other => panic!("{short:?}: {other:?}"),
            }
        }
    }

    // MedMij TLS-5: a ciphertext is bound to its line (sequence number and
    // `prev`); moved to another line it does not decrypt.
    #[test]
    fn a_ciphertext_moved_to_another_line_does_not_decrypt() {
        let p = path("moved-enc");
        let mut c = config();
        c.cipher = Some(EvidenceCipher::new(&[42; 32]));
        {
            let (l, _) = FileEvidenceLedger::open(&p, c.clone()).unwrap();
            fill(&l);
        }
        let enc = |l: &str| {
            let start = l.find("\"enc\":\"").unwrap() + 7;
            start..start + l[start..].find('"').unwrap()
        };
        let mut ls = lines(&p);
        let second = ls[1][enc(&ls[1])].to_string();
        let r = enc(&ls[0]);
        ls[0].replace_range(r, &second);
        write_lines(&p, &ls);
        match FileEvidenceLedger::open(&p, c) {
            Err(EvidenceError::Corrupt {
                rule, line, reason, ..
            }) => assert_eq!(
                (rule, line, reason.as_str()),
                (
                    RuleId::Tls5,
                    1,
                    "the record does not decrypt with the key given"
                )
            ),
            other => panic!("{other:?}"),
        }
    }
}
