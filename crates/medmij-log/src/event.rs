//! The NEN 7513 event model (MedMij LOG-1, LOG-4).

use medmij_types::RuleId;
use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::hex;

/// A field of an event that was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event field {field}: {reason} (MedMij {rule})")]
pub struct EventError {
    /// The field, e.g. `"subject"` or `"actor.role"`.
    pub field: &'static str,
    /// Why it was refused.
    pub reason: String,
    /// The rule, e.g. `RuleId::Log4`.
    pub rule: RuleId,
}

fn check_text(field: &'static str, v: &str, max: usize) -> Result<(), EventError> {
    let err = |reason: String| EventError {
        field,
        reason,
        rule: RuleId::Log1,
    };
    if v.is_empty() {
        return Err(err("is empty".into()));
    }
    if v.len() > max {
        return Err(err(format!("is {} bytes long; at most {max}", v.len())));
    }
    if let Some(c) = v.chars().find(|c| c.is_control()) {
        return Err(err(format!(
            "contains control character U+{:04X}",
            c as u32
        )));
    }
    Ok(())
}

/// The NEN 7513 action: what was done to the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Action {
    /// Create (`C`).
    #[serde(rename = "C")]
    Create,
    /// Read (`R`).
    #[serde(rename = "R")]
    Read,
    /// Update (`U`).
    #[serde(rename = "U")]
    Update,
    /// Delete (`D`).
    #[serde(rename = "D")]
    Delete,
    /// Execute (`E`): a function, e.g. a consent decision or a login.
    #[serde(rename = "E")]
    Execute,
}

/// Whether the acting party is a person or a system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ActorKind {
    /// A person (user).
    User,
    /// A system or service.
    System,
}

/// Who acted (NEN 7513 "who"): user or system, with role and on whose
/// behalf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Identifier of the user or system (1..256 bytes). Not a BSN in the PGO
    /// domain: use a pseudonym.
    pub id: String,
    /// User or system.
    pub kind: ActorKind,
    /// The role in which it acted, if any (1..128 bytes).
    pub role: Option<String>,
    /// On whose behalf it acted, if any (1..256 bytes).
    pub on_behalf_of: Option<String>,
}

/// Which domain a log belongs to; decides what a subject identifier may be
/// (MedMij LOG-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Domain {
    /// The PGO domain: no BSN (a value that looks like one is refused).
    #[default]
    Pgo,
    /// A care provider's systems (DVZA), which may identify the person by BSN.
    Zorgaanbieder,
}

/// Whether `v` looks like a BSN: 8 or 9 digits, possibly with `.`, `-` or
/// spaces between them, and nothing else.
pub fn looks_like_bsn(v: &str) -> bool {
    let digits = v.bytes().filter(u8::is_ascii_digit).count();
    (8..=9).contains(&digits)
        && v.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b' '))
}

/// The person whose data the event is about (NEN 7513 "on whose data"), by
/// an identifier that is not a BSN in the PGO domain (MedMij LOG-4).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SubjectId(String);

impl SubjectId {
    /// Validates `value` for `domain`: 1..256 bytes, no control characters,
    /// and in the PGO domain not BSN-like ([`looks_like_bsn`]).
    pub fn new(value: impl Into<String>, domain: Domain) -> Result<Self, EventError> {
        let value = value.into();
        check_text("subject", &value, 256)?;
        if domain == Domain::Pgo && looks_like_bsn(&value) {
            return Err(EventError {
                field: "subject",
                reason: "looks like a BSN; the PGO domain identifies the person by a pseudonym"
                    .into(),
                rule: RuleId::Log4,
            });
        }
        Ok(Self(value))
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What deserialising checks (any domain).
    pub(crate) fn check(value: &str) -> Result<(), EventError> {
        check_text("subject", value, 256)
    }
}

impl TryFrom<String> for SubjectId {
    type Error = EventError;
    fn try_from(v: String) -> Result<Self, EventError> {
        // Read back from a log: the domain is checked by the log on append.
        Self::new(v, Domain::Zorgaanbieder)
    }
}

impl From<SubjectId> for String {
    fn from(v: SubjectId) -> Self {
        v.0
    }
}

impl fmt::Debug for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubjectId({:?})", self.0)
    }
}

impl fmt::Display for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the action was done to (NEN 7513 "what").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Object {
    /// The kind of object, e.g. `"fhir:MedicationStatement"`,
    /// `"consent"`, `"access-token"` (1..128 bytes).
    #[serde(rename = "type")]
    pub kind: String,
    /// Its identifier (1..256 bytes). For tokens and codes use
    /// [`Object::secret`], never the value (MedMij LOG-4).
    pub id: String,
}

impl Object {
    /// An object with an ordinary identifier.
    pub fn new(kind: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            id: id.into(),
        }
    }

    /// An object that is a secret (authorization code, access token): only
    /// its SHA-256 is logged, as `sha256:<hex>` (MedMij LOG-4, OAUTH-14
    /// 4.3.2).
    pub fn secret(kind: impl Into<String>, secret: &str) -> Self {
        Self {
            kind: kind.into(),
            id: format!("sha256:{}", hex::encode(&Sha256::digest(secret.as_bytes()))),
        }
    }
}

/// Where the event happened (NEN 7513 "where"): the system and, optionally,
/// the location or network address the request came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The system that logs, e.g. the gateway's hostname (1..256 bytes).
    pub system: String,
    /// Location or source address, if known (1..256 bytes).
    pub location: Option<String>,
}

/// How the action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Outcome {
    /// It succeeded.
    Success,
    /// It was refused (e.g. the person refused consent, access denied).
    Refused,
    /// It failed.
    Failure,
}

/// One NEN 7513 event (MedMij LOG-1). Serialised as JSON with the fields in
/// this order: `id`, `type`, `action`, `time`, `actor`, `subject`, `object`,
/// `source`, `outcome`, `detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Unique event id (1..128 bytes of `A-Z a-z 0-9 - _ . :`).
    pub id: String,
    /// Event type, e.g. `"consent.decision"`, `"fhir.read"` (1..128 bytes).
    #[serde(rename = "type")]
    pub event_type: String,
    /// The action.
    pub action: Action,
    /// When it happened (UTC, microseconds).
    #[serde(with = "medmij_types::rfc3339::serde")]
    pub time: SystemTime,
    /// Who acted, in which role, on whose behalf.
    pub actor: Actor,
    /// The person whose data it concerns; `None` for events about no person.
    pub subject: Option<SubjectId>,
    /// What it was done to.
    pub object: Object,
    /// Where.
    pub source: Source,
    /// The outcome.
    pub outcome: Outcome,
    /// Extra detail without personal data (up to 2048 bytes), e.g. a consent
    /// decision or a provenance reference.
    pub detail: Option<String>,
}

impl Event {
    /// Checks every field (lengths, characters) and, in the PGO domain, that
    /// the subject is not BSN-like (MedMij LOG-4).
    pub fn validate(&self, domain: Domain) -> Result<(), EventError> {
        check_text("id", &self.id, 128)?;
        if !self
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        {
            return Err(EventError {
                field: "id",
                reason: "allowed are A-Z a-z 0-9 - _ . :".into(),
                rule: RuleId::Log1,
            });
        }
        check_text("type", &self.event_type, 128)?;
        check_text("actor.id", &self.actor.id, 256)?;
        if let Some(r) = &self.actor.role {
            check_text("actor.role", r, 128)?;
        }
        if let Some(r) = &self.actor.on_behalf_of {
            check_text("actor.on_behalf_of", r, 256)?;
        }
        if let Some(s) = &self.subject {
            SubjectId::new(s.as_str(), domain)?;
        }
        if domain == Domain::Pgo {
            for (field, v) in [
                ("actor.id", Some(&self.actor.id)),
                ("actor.on_behalf_of", self.actor.on_behalf_of.as_ref()),
                ("object.id", Some(&self.object.id)),
            ] {
                if v.is_some_and(|v| looks_like_bsn(v)) {
                    return Err(EventError {
                        field,
                        reason: "looks like a BSN; not allowed in the PGO domain".into(),
                        rule: RuleId::Log4,
                    });
                }
            }
        }
        check_text("object.type", &self.object.kind, 128)?;
        check_text("object.id", &self.object.id, 256)?;
        check_text("source.system", &self.source.system, 256)?;
        if let Some(l) = &self.source.location {
            check_text("source.location", l, 256)?;
        }
        if let Some(d) = &self.detail {
            check_text("detail", d, 2048)?;
        }
        Ok(())
    }
}

/// An event for the crate's own unit tests.
#[cfg(test)]
pub(crate) fn test_event(i: u64, subject: &str, time: SystemTime) -> Event {
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
        subject: SubjectId::new(subject, Domain::Pgo).ok(),
        object: Object::new("fhir:MedicationStatement", format!("ms-{i}")),
        source: Source {
            system: "pgo.example.nl".into(),
            location: Some("10.0.0.1".into()),
        },
        outcome: Outcome::Success,
        detail: None,
    }
}
