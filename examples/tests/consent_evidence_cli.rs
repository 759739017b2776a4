//! The `consent_evidence` CLI (MedMij CONSENT-5): export one person's
//! decisions from a ledger and verify the export on its own; a tampered
//! export or another key fails with exit status 1.

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/consent_evidence.rs"]
mod cli;

use std::time::{Duration, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use medmij_consent::evidence::*;
use medmij_consent::{ClientId, FlowId, Language, Zorgaanbiedernaam};

fn cli(args: &[&str]) -> (u8, String, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = cli::run(&args, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

mod consent_5 {
    use super::*;

    #[test]
    fn export_then_verify_and_tampering_fails() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("evidence.jsonl");
        let key = SigningKey::from_bytes(&[5; 32]);
        let key_file = dir.path().join("key.hex");
        std::fs::write(&key_file, hex(&[5; 32])).unwrap();
        {
            let mut cfg = EvidenceConfig::new(key.clone());
            cfg.fsync = false;
            let (l, _) = FileEvidenceLedger::open(&ledger, cfg).unwrap();
            for (i, person) in ["person-a", "person-b", "person-a"].iter().enumerate() {
                let shown = ShownText::custom(
                    "toestemming-2.x/provisional",
                    Language::Nl,
                    [],
                    "U geeft toestemming.",
                )
                .unwrap();
                l.append(&EvidenceRecord::v2_decision(
                    PersonId::new(*person).unwrap(),
                    i != 1,
                    true,
                    shown,
                    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + i as u64),
                    ClientId::new("pgo.example.nl").unwrap(),
                    Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap(),
                    FlowId::new(format!("flow-{i}")).unwrap(),
                ))
                .unwrap();
            }
        }
        let export = dir.path().join("person-a.json");
        let (code, _, err) = cli(&[
            "export",
            ledger.to_str().unwrap(),
            "--person",
            "person-a",
            "--key-file",
            key_file.to_str().unwrap(),
            "--out",
            export.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        let pk = hex(key.verifying_key().as_bytes());
        let (code, out, err) = cli(&["verify", export.to_str().unwrap(), "--public-key", &pk]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("ok: 2 decision(s) of person-a"), "{out}");
        assert!(out.contains("signed with the pinned key"), "{out}");
        assert!(
            out.contains("#1 ") && out.contains("#3 ") && !out.contains("#2 "),
            "{out}"
        );

        // Another key pinned: refused.
        let other = hex(SigningKey::from_bytes(&[6; 32]).verifying_key().as_bytes());
        let (code, _, err) = cli(&["verify", export.to_str().unwrap(), "--public-key", &other]);
        assert_eq!(code, 1);
        assert!(err.contains("another key"), "{err}");

        // A changed decision: refused, naming the record.
        let text = std::fs::read_to_string(&export).unwrap();
        let changed = text.replacen("\"granted\"", "\"refused\"", 1);
        assert_ne!(changed, text);
        std::fs::write(&export, changed).unwrap();
        let (code, _, err) = cli(&["verify", export.to_str().unwrap(), "--public-key", &pk]);
        assert_eq!(code, 1);
        assert!(
            err.contains("record 1") && err.contains("CONSENT-5"),
            "{err}"
        );

        // A ledger signed with another key does not export, unless that key
        // is trusted (a key rotation).
        let other_key = dir.path().join("other.hex");
        std::fs::write(&other_key, hex(&[6; 32])).unwrap();
        let args = [
            "export",
            ledger.to_str().unwrap(),
            "--person",
            "person-a",
            "--key-file",
            other_key.to_str().unwrap(),
        ];
        let (code, _, err) = cli(&args);
        assert_eq!(code, 1);
        assert!(err.contains("signature"), "{err}");
        let mut with_trust = args.to_vec();
        with_trust.extend(["--trust", &pk]);
        let (code, out, err) = cli(&with_trust);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("\"count\": 2"), "{out}");

        // Usage errors exit 2.
        assert_eq!(cli(&["export", ledger.to_str().unwrap()]).0, 2);
        assert_eq!(cli(&["frobnicate", "x"]).0, 2);
        assert_eq!(cli(&[]).0, 2);
    }
}
