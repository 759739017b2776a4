//! One decision as the consent evidence keeps it (MedMij CONSENT-5).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

use medmij_types::rfc3339::serde as serde_rfc3339;
use medmij_types::{ClientId, ReleaseLine, RuleId, Scope, Zorgaanbiedernaam};
use serde::{Deserialize, Serialize};

use crate::decision::{ConsentRecord, Decision};
use crate::text::{ConsentKind, Language, Wording};
use crate::vars::FlowId;

/// What went wrong with the consent evidence: what, where and which rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// A value handed to a constructor was refused.
    #[error("{field}: {reason} (MedMij {rule})")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
        /// The rule the check comes from.
        rule: RuleId,
    },
    /// The ledger does not verify at this line (1-based): changed, dropped,
    /// reordered or unreadable.
    #[error("{source_name}: line {line}: {reason} (MedMij {rule})")]
    Corrupt {
        /// The file or table.
        source_name: String,
        /// The line (file) or row (table) number, 1-based.
        line: u64,
        /// What does not match.
        reason: String,
        /// CONSENT-5, or TLS-5 when decryption failed.
        rule: RuleId,
    },
    /// Reading or writing failed.
    #[error("{what}: {reason} (MedMij CONSENT-5)")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The error.
        reason: String,
    },
    /// Another writer holds the ledger.
    #[error("{0}: the ledger is held by another writer (MedMij CONSENT-5)")]
    InUse(PathBuf),
    /// An earlier write failed; reopen the ledger (it verifies and repairs).
    #[error("an earlier write failed: {0}; reopen the ledger (MedMij CONSENT-5)")]
    Failed(String),
    /// A setting is not usable.
    #[error("configuration: {0} (MedMij CONSENT-5)")]
    Config(String),
}

impl EvidenceError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
            rule: RuleId::Consent5,
        }
    }
}

/// The person a decision is about: the DVZA's local subject id (from the
/// authentication, OAUTH-18; never a BSN, never sent to the client). 1 to
/// 256 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonId(String);

impl PersonId {
    /// Validates `value`.
    pub fn new(value: impl Into<String>) -> Result<Self, EvidenceError> {
        let value = value.into();
        if value.is_empty() || value.len() > 256 {
            return Err(EvidenceError::invalid(
                "person",
                format!("is {} bytes long; allowed are 1 to 256", value.len()),
            ));
        }
        if let Some((i, c)) = value.char_indices().find(|(_, c)| !c.is_ascii_graphic()) {
            return Err(EvidenceError::invalid(
                "person",
                format!("has {c:?} at byte {}; allowed is visible ASCII", i + 1),
            ));
        }
        Ok(Self(value))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PersonId {
    type Error = EvidenceError;
    fn try_from(v: String) -> Result<Self, EvidenceError> {
        Self::new(v)
    }
}

impl From<PersonId> for String {
    fn from(p: PersonId) -> Self {
        p.0
    }
}

impl std::fmt::Display for PersonId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The decision registered (MedMij CONSENT-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[must_use]
pub enum EvidenceDecision {
    /// Consent given (Toestemming) or confirmed (Bevestiging).
    Granted,
    /// Refused.
    Refused,
    /// (2.x) A long-lasting consent withdrawn (OAUTH-22).
    Withdrawn,
}

/// The exact text the person was shown (MedMij CONSENT-5): its version, the
/// language, the filled variables and the text itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownText {
    /// The wording and its version, e.g. `toestemming/release-1.0`.
    pub version: String,
    /// The language shown.
    pub language: Language,
    /// The filled variables by placeholder name.
    pub variables: BTreeMap<String, String>,
    /// The statement the person decided on, filled, as plain text.
    pub text: String,
}

impl ShownText {
    /// What a consent screen for `wording` showed in `language`: the short
    /// statement (the operative paragraph of the Toestemming).
    pub fn of(wording: &dyn Wording, language: Language) -> Self {
        Self {
            version: wording.text_version(),
            language,
            variables: wording
                .variable_values()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            text: wording.short_text(language),
        }
    }

    /// A text of the host's own (e.g. a 2.x screen, [`crate::v2`]):
    /// version 1..128 and text 1..20 000 characters, no control characters
    /// but line breaks in the text.
    pub fn custom(
        version: &str,
        language: Language,
        variables: impl IntoIterator<Item = (String, String)>,
        text: &str,
    ) -> Result<Self, EvidenceError> {
        if version.is_empty() || version.len() > 128 || version.chars().any(char::is_control) {
            return Err(EvidenceError::invalid(
                "shown.version",
                "must be 1 to 128 bytes without control characters",
            ));
        }
        if text.is_empty()
            || text.chars().count() > 20_000
            || text.chars().any(|c| c.is_control() && c != '\n')
        {
            return Err(EvidenceError::invalid(
                "shown.text",
                "must be 1 to 20000 characters without control characters other than line breaks",
            ));
        }
        Ok(Self {
            version: version.to_string(),
            language,
            variables: variables.into_iter().collect(),
            text: text.to_string(),
        })
    }
}

mod release_serde {
    use medmij_types::ReleaseLine;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(r: &ReleaseLine, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&r.to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ReleaseLine, D::Error> {
        match String::deserialize(d)?.as_str() {
            "1.x" => Ok(ReleaseLine::V1),
            "2.x" => Ok(ReleaseLine::V2),
            other => Err(D::Error::custom(format!(
                "release {other:?} is neither \"1.x\" nor \"2.x\""
            ))),
        }
    }
}

/// The scope must be what the flow asked for the record's Zorgaanbieder:
/// 1.x `naam~id[ naam~id…]` (OAUTH-5) or 2.x the name alone, optionally
/// with ` onbehalfof` or ` onbehalfofchild` (OAUTH-20).
fn check_scope(scope: &str, zorgaanbieder: &Zorgaanbiedernaam) -> Result<(), EvidenceError> {
    let err = |reason: String| EvidenceError::Invalid {
        field: "scope",
        reason,
        rule: RuleId::Consent5,
    };
    if scope.len() > 2048 {
        return Err(err("is longer than 2048 bytes".into()));
    }
    let named = if scope.contains('~') {
        scope
            .parse::<Scope>()
            .map_err(|e| err(format!("{scope:?} is no 1.x scope (OAUTH-5): {e}")))?
            .zorgaanbieder()
            .clone()
    } else {
        let name = scope
            .strip_suffix(" onbehalfofchild")
            .or_else(|| scope.strip_suffix(" onbehalfof"))
            .unwrap_or(scope);
        Zorgaanbiedernaam::from_scope_part(name)
            .map_err(|e| err(format!("{scope:?} is no 2.x scope (OAUTH-20): {e}")))?
    };
    if &named != zorgaanbieder {
        return Err(err(format!(
            "{scope:?} names another Zorgaanbieder than {}",
            zorgaanbieder.as_str()
        )));
    }
    Ok(())
}

/// One decision in the consent evidence (MedMij CONSENT-5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawRecord")]
pub struct EvidenceRecord {
    /// The person (local subject id).
    pub person: PersonId,
    /// Grant, refusal or (2.x) withdrawal.
    pub decision: EvidenceDecision,
    /// Toestemming or Bevestiging.
    pub kind: ConsentKind,
    /// The release line of the flow.
    #[serde(with = "release_serde")]
    pub release: ReleaseLine,
    /// The exact text shown.
    pub shown: ShownText,
    /// When the decision was taken.
    #[serde(with = "serde_rfc3339")]
    pub at: SystemTime,
    /// The OAuth client (PGO GW hostname).
    pub client: ClientId,
    /// The Zorgaanbieder the evidence is kept for.
    pub zorgaanbieder: Zorgaanbiedernaam,
    /// The scope as requested: 1.x `naam~id[ naam~id…]` (OAUTH-5), 2.x the
    /// Aanbieder's name (OAUTH-20).
    pub scope: String,
    /// The run of the flow (for a withdrawal: the run of the management
    /// flow, OAUTH-22).
    pub flow: FlowId,
    /// (2.x) The person chose consent for an indefinite period (CONSENT-6,
    /// OAUTH-19).
    pub indefinite: bool,
    /// For a withdrawal: the sequence number of the grant it ends.
    pub withdraws: Option<u64>,
}

/// The serialised form, checked on the way in.
#[derive(Deserialize)]
struct RawRecord {
    person: PersonId,
    decision: EvidenceDecision,
    kind: ConsentKind,
    #[serde(with = "release_serde")]
    release: ReleaseLine,
    shown: ShownText,
    #[serde(with = "serde_rfc3339")]
    at: SystemTime,
    client: ClientId,
    zorgaanbieder: Zorgaanbiedernaam,
    scope: String,
    flow: FlowId,
    indefinite: bool,
    withdraws: Option<u64>,
}

impl TryFrom<RawRecord> for EvidenceRecord {
    type Error = EvidenceError;
    fn try_from(r: RawRecord) -> Result<Self, EvidenceError> {
        let rec = Self {
            person: r.person,
            decision: r.decision,
            kind: r.kind,
            release: r.release,
            shown: r.shown,
            at: r.at,
            client: r.client,
            zorgaanbieder: r.zorgaanbieder,
            scope: r.scope,
            flow: r.flow,
            indefinite: r.indefinite,
            withdraws: r.withdraws,
        };
        rec.check()?;
        Ok(rec)
    }
}

impl EvidenceRecord {
    /// The evidence of a 1.x decision taken on a consent screen: the record
    /// of CONSENT-3 ([`ConsentRecord`]), the person and the text shown.
    /// An undetermined answer (OAUTH-12 case 5) is no decision and is
    /// refused.
    pub fn from_consent_record(
        record: &ConsentRecord,
        person: PersonId,
        shown: ShownText,
    ) -> Result<Self, EvidenceError> {
        let decision = match record.decision {
            Decision::Granted => EvidenceDecision::Granted,
            Decision::Refused => EvidenceDecision::Refused,
            Decision::Undetermined => {
                return Err(EvidenceError::invalid(
                    "decision",
                    "an undetermined answer (OAUTH-12 case 5) is not a decision",
                ));
            }
        };
        Ok(Self {
            person,
            decision,
            kind: record.kind,
            release: ReleaseLine::V1,
            shown,
            at: record.recorded_at,
            client: record.client.clone(),
            zorgaanbieder: record.zorgaanbieder.clone(),
            scope: record.scope.as_str().to_string(),
            flow: record.flow.clone(),
            indefinite: false,
            withdraws: None,
        })
    }

    /// The evidence of a 2.x decision on the "Toestemming geven" screen
    /// (CONSENT-6): the scope is the Aanbieder's name (OAUTH-20), and
    /// `indefinite` whether the person chose an indefinite period.
    #[allow(clippy::too_many_arguments)]
    pub fn v2_decision(
        person: PersonId,
        granted: bool,
        indefinite: bool,
        shown: ShownText,
        at: SystemTime,
        client: ClientId,
        zorgaanbieder: Zorgaanbiedernaam,
        flow: FlowId,
    ) -> Self {
        Self {
            person,
            decision: if granted {
                EvidenceDecision::Granted
            } else {
                EvidenceDecision::Refused
            },
            kind: ConsentKind::Toestemming,
            release: ReleaseLine::V2,
            shown,
            at,
            scope: zorgaanbieder.scope_part().to_string(),
            client,
            zorgaanbieder,
            flow,
            indefinite: granted && indefinite,
            withdraws: None,
        }
    }

    /// (2.x) The evidence of a withdrawal (OAUTH-22) of the grant registered
    /// as `grant_seq`: same person, client, Zorgaanbieder and scope; the
    /// text shown is the termination statement.
    pub fn withdrawal(
        grant: &Self,
        grant_seq: u64,
        shown: ShownText,
        at: SystemTime,
        flow: FlowId,
    ) -> Result<Self, EvidenceError> {
        if grant.decision != EvidenceDecision::Granted {
            return Err(EvidenceError::invalid(
                "withdraws",
                format!("record {grant_seq} is not a grant"),
            ));
        }
        Ok(Self {
            person: grant.person.clone(),
            decision: EvidenceDecision::Withdrawn,
            kind: grant.kind,
            release: ReleaseLine::V2,
            shown,
            at,
            client: grant.client.clone(),
            zorgaanbieder: grant.zorgaanbieder.clone(),
            scope: grant.scope.clone(),
            flow,
            indefinite: false,
            withdraws: Some(grant_seq),
        })
    }

    /// Checks what the types cannot: the scope is a 1.x or 2.x scope of
    /// this record's Zorgaanbieder, a withdrawal names its grant and only a
    /// withdrawal does, and only a 2.x grant is for an indefinite period.
    /// The ledger checks every record before it writes it.
    pub fn check(&self) -> Result<(), EvidenceError> {
        check_scope(&self.scope, &self.zorgaanbieder)?;
        if (self.decision == EvidenceDecision::Withdrawn) != self.withdraws.is_some() {
            return Err(EvidenceError::invalid(
                "withdraws",
                "a withdrawal, and only a withdrawal, names the grant it ends",
            ));
        }
        if self.indefinite
            && !(self.decision == EvidenceDecision::Granted && self.release == ReleaseLine::V2)
        {
            return Err(EvidenceError::invalid(
                "indefinite",
                "only a 2.x grant is for an indefinite period (OAUTH-19)",
            ));
        }
        Ok(())
    }

    /// The scope as a 1.x [`Scope`], when it is one.
    pub fn scope_v1(&self) -> Option<Scope> {
        self.scope.parse().ok()
    }

    /// The record as one line of JSON, fields in declaration order.
    pub fn to_json(&self) -> String {
        // Strings, enums, numbers and a BTreeMap: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
