//! Shared helpers for the medmij-log tests.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use medmij_log::*;

/// `secs` seconds after the epoch.
pub fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// The test signing key.
pub fn key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

/// A fresh, empty directory under target/ for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A PGO-domain read event about `subject`.
pub fn event(i: u64, subject: &str, time: SystemTime) -> Event {
    Event {
        id: format!("ev-{i}"),
        event_type: "fhir.read".into(),
        action: Action::Read,
        time,
        actor: Actor {
            id: "pgo.example.nl".into(),
            kind: ActorKind::System,
            role: Some("PGO GW".into()),
            on_behalf_of: Some(subject.into()),
        },
        subject: Some(SubjectId::new(subject, Domain::Pgo).unwrap()),
        object: Object::new("fhir:MedicationStatement", format!("ms-{i}")),
        source: Source {
            system: "pgo.example.nl".into(),
            location: Some("10.0.0.1".into()),
        },
        outcome: Outcome::Success,
        detail: None,
    }
}

/// File log settings with a checkpoint every 10 entries.
pub fn config() -> FileLogConfig {
    let mut c = FileLogConfig::new(key());
    c.checkpoint_every = 10;
    c
}
