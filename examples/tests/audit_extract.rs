//! `audit extract` and `audit verify-extract` (MedMij LOG-5): an extract
//! made from a log file verifies on its own; a changed one does not.

use std::time::{Duration, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use medmij_examples::audit_extract::run;
use medmij_log::{
    Action, Actor, ActorKind, Domain, Event, FileLog, FileLogConfig, Object, Outcome, Source,
    SubjectId,
};

fn cli(args: &[&str]) -> (u8, String, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run(&args, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn event(i: u64, subject: &str) -> Event {
    Event {
        id: format!("ev-{i}"),
        event_type: "fhir.read".into(),
        action: Action::Read,
        time: UNIX_EPOCH + Duration::from_secs(1_767_225_600 + i),
        actor: Actor {
            id: "pgo.example.nl".into(),
            kind: ActorKind::System,
            role: None,
            on_behalf_of: None,
        },
        subject: Some(SubjectId::new(subject, Domain::Pgo).unwrap()),
        object: Object::new("fhir:MedicationStatement", format!("ms-{i}")),
        source: Source {
            system: "pgo.example.nl".into(),
            location: None,
        },
        outcome: Outcome::Success,
        detail: None,
    }
}

mod log_5 {
    use super::*;

    #[test]
    fn extract_then_verify_extract_and_a_changed_extract_fails() {
        let dir = tempfile::tempdir().unwrap();
        let log_path = dir.path().join("audit.jsonl");
        let key = SigningKey::from_bytes(&[7; 32]);
        let key_file = dir.path().join("signing.key");
        std::fs::write(&key_file, hex(key.as_bytes())).unwrap();
        let public = hex(key.verifying_key().as_bytes());
        {
            let mut config = FileLogConfig::new(key.clone());
            config.fsync = false;
            let (log, _) =
                FileLog::open(&log_path, config, UNIX_EPOCH + Duration::from_secs(1)).unwrap();
            for i in 1..=12 {
                log.append(&event(i, if i % 3 == 0 { "person-x" } else { "person-y" }))
                    .unwrap();
            }
            log.checkpoint(UNIX_EPOCH + Duration::from_secs(1_767_230_000))
                .unwrap();
        }
        let log_arg = log_path.to_str().unwrap();
        let kf = key_file.to_str().unwrap();

        let (code, json, err) = cli(&[
            "extract",
            "--subject",
            "person-x",
            "--sign-key-file",
            kf,
            log_arg,
        ]);
        assert_eq!(code, 0, "{err}");
        assert!(json.contains("person-x") && !json.contains("person-y"));
        let x_path = dir.path().join("extract.json");
        std::fs::write(&x_path, &json).unwrap();
        let x_arg = x_path.to_str().unwrap();

        let (code, out, err) = cli(&["verify-extract", x_arg, "--key", &public]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            out.starts_with(&format!("OK {x_arg}: 4 selected events")),
            "{out}"
        );
        assert_eq!(out.lines().count(), 5, "{out}");

        // Another key is not trusted.
        let other = hex(SigningKey::from_bytes(&[8; 32]).verifying_key().as_bytes());
        let (code, out, _) = cli(&["verify-extract", x_arg, "--key", &other]);
        assert_eq!(code, 1, "{out}");

        // A changed entry in the extract.
        std::fs::write(&x_path, json.replace("ms-3", "ms-4")).unwrap();
        let (code, out, _) = cli(&["verify-extract", x_arg, "--key", &public]);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.starts_with("FAILED") && out.contains("altered"),
            "{out}"
        );

        // Usage errors.
        assert_eq!(cli(&["verify-extract", x_arg]).0, 2);
        assert_eq!(cli(&["extract", "--subject", "person-x", log_arg]).0, 2);
    }
}
