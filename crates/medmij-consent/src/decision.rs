//! Consent requests bound to one flow, decisions accepted once, and the
//! records CONSENT-3 asks for.

use std::collections::HashMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::text::ConsentKind;
use crate::vars::{CsrfToken, FlowId};
use medmij_types::rfc3339::serde as serde_rfc3339;
use medmij_types::{ClientId, Scope, Zorgaanbiedernaam};

/// The person's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[must_use]
pub enum Decision {
    /// Granted (Toestemming given, Bevestiging confirmed).
    Granted,
    /// Refused (OAUTH-12 case 4: `access_denied`, `Authorization denied.`).
    Refused,
    /// The answer could not be established (OAUTH-12 case 5:
    /// `access_denied`, `Authorization failed.`).
    Undetermined,
}

/// Why a decision was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecisionError {
    /// The posted decision names another flow than the request (CONSENT-1:
    /// a consent covers exactly one run of the flow).
    #[error(
        "the decision is for flow {posted}, the request is for flow {expected} (MedMij CONSENT-1)"
    )]
    WrongFlow {
        /// The flow of the request.
        expected: FlowId,
        /// The flow named in the posted form.
        posted: FlowId,
    },
    /// The anti-CSRF token does not match (OAUTH-14, RFC 6819 4.4.1.8).
    #[error("flow {flow}: the anti-CSRF token does not match (MedMij OAUTH-14)")]
    CsrfMismatch {
        /// The flow.
        flow: FlowId,
    },
    /// The flow was decided before; a decision is accepted once.
    #[error(
        "flow {flow} was already decided ({decision:?}); a decision is accepted once (MedMij CONSENT-1)"
    )]
    AlreadyDecided {
        /// The flow.
        flow: FlowId,
        /// The decision accepted earlier.
        decision: Decision,
    },
    /// No consent was asked for this flow.
    #[error("no consent was asked for flow {flow}")]
    UnknownFlow {
        /// The flow.
        flow: FlowId,
    },
    /// Consent for this flow was asked before (each run asks anew, once).
    #[error("consent for flow {flow} was already asked (MedMij CONSENT-1)")]
    AlreadyAsked {
        /// The flow.
        flow: FlowId,
    },
}

/// A question put to the person, bound to exactly one run of the flow and
/// its scope, client and Zorgaanbieder (MedMij CONSENT-1, CONSENT-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRequest {
    /// Toestemming or Bevestiging.
    pub kind: ConsentKind,
    /// The run of the flow.
    pub flow: FlowId,
    /// Exactly the scope asked for (OAUTH-5).
    pub scope: Scope,
    /// The OAuth client (PGO GW hostname).
    pub client: ClientId,
    /// The Zorgaanbieder (Bron for Verzamelen, Lezer for Delen).
    pub zorgaanbieder: Zorgaanbiedernaam,
    /// The token the consent form posts back.
    pub csrf: CsrfToken,
    /// When the question was put.
    pub asked_at: SystemTime,
}

/// The decision as posted by the consent form (`application/x-www-form-urlencoded`
/// with fields `flow`, `csrf_token` and `decision` = `grant` | `refuse`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct PostedDecision {
    /// The `flow` field.
    pub flow: FlowId,
    /// The `csrf_token` field, as posted.
    pub csrf_token: String,
    /// The `decision` field.
    pub decision: Decision,
}

/// Why a posted form was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormError {
    /// A field is missing.
    #[error("form field {0:?} is missing")]
    Missing(&'static str),
    /// A field is present more than once.
    #[error("form field {0:?} is present more than once")]
    Repeated(&'static str),
    /// A field has a value that is not allowed.
    #[error("form field {field:?}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The body is not valid form encoding.
    #[error("the form body is malformed: {0}")]
    Malformed(String),
}

pub(crate) fn percent_decode(s: &str) -> Result<String, FormError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        FormError::Malformed(format!("bad %-escape at byte {}", i + 1))
                    })?;
                out.push(hex);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| FormError::Malformed("not UTF-8 after decoding".into()))
}

impl PostedDecision {
    /// Parses the body the consent page (see [`crate::page`]) posts. Unknown
    /// fields are ignored; the three known ones must each be present once.
    pub fn from_form(body: &str) -> Result<Self, FormError> {
        if body.len() > 4096 {
            return Err(FormError::Malformed("longer than 4096 bytes".into()));
        }
        let (mut flow, mut csrf, mut decision) = (None, None, None);
        for pair in body.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = percent_decode(k)?;
            let v = percent_decode(v)?;
            let (slot, name) = match k.as_str() {
                "flow" => (&mut flow, "flow"),
                "csrf_token" => (&mut csrf, "csrf_token"),
                "decision" => (&mut decision, "decision"),
                _ => continue,
            };
            if slot.replace(v).is_some() {
                return Err(FormError::Repeated(name));
            }
        }
        let flow = FlowId::new(flow.ok_or(FormError::Missing("flow"))?).map_err(|e| {
            FormError::Invalid {
                field: "flow",
                reason: e.reason,
            }
        })?;
        let csrf_token = csrf.ok_or(FormError::Missing("csrf_token"))?;
        let decision = match decision.ok_or(FormError::Missing("decision"))?.as_str() {
            "grant" => Decision::Granted,
            "refuse" => Decision::Refused,
            other => {
                return Err(FormError::Invalid {
                    field: "decision",
                    reason: format!("{other:?} is neither \"grant\" nor \"refuse\""),
                });
            }
        };
        Ok(Self {
            flow,
            csrf_token,
            decision,
        })
    }
}

impl ConsentRequest {
    /// Accepts the posted decision if it is for this flow and carries this
    /// request's anti-CSRF token. Consumes the request: a decision is
    /// accepted once. On refusal the request is handed back with the reason.
    pub fn decide(
        self,
        posted: &PostedDecision,
        side: Side,
        at: SystemTime,
    ) -> Result<ConsentRecord, (Box<Self>, DecisionError)> {
        if posted.flow != self.flow {
            let e = DecisionError::WrongFlow {
                expected: self.flow.clone(),
                posted: posted.flow.clone(),
            };
            return Err((Box::new(self), e));
        }
        if !self.csrf.matches(&posted.csrf_token) {
            let e = DecisionError::CsrfMismatch {
                flow: self.flow.clone(),
            };
            return Err((Box::new(self), e));
        }
        Ok(self.record(posted.decision, side, at))
    }

    /// Records that the answer could not be established (OAUTH-12 case 5),
    /// e.g. the person left or the session expired.
    pub fn undetermined(self, side: Side, at: SystemTime) -> ConsentRecord {
        self.record(Decision::Undetermined, side, at)
    }

    fn record(self, decision: Decision, side: Side, at: SystemTime) -> ConsentRecord {
        ConsentRecord {
            side,
            kind: self.kind,
            flow: self.flow,
            scope: self.scope,
            client: self.client,
            zorgaanbieder: self.zorgaanbieder,
            decision,
            asked_at: Some(self.asked_at),
            recorded_at: at,
            profile: ConsentProfile::ExplicieteToestemming,
            channel: Channel::MedMij,
        }
    }
}

/// Keeps the open questions of a gateway and remembers which flows were
/// decided, so that a decision is accepted once even when the form is posted
/// again (MedMij CONSENT-1). In memory; the host application decides how
/// long to keep it ([`DecisionBook::forget_before`]).
#[derive(Debug, Default)]
pub struct DecisionBook {
    open: HashMap<FlowId, ConsentRequest>,
    decided: HashMap<FlowId, (Decision, SystemTime)>,
}

impl DecisionBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a question. Refused when this flow was asked before.
    pub fn ask(&mut self, request: ConsentRequest) -> Result<(), DecisionError> {
        if self.open.contains_key(&request.flow) || self.decided.contains_key(&request.flow) {
            return Err(DecisionError::AlreadyAsked { flow: request.flow });
        }
        self.open.insert(request.flow.clone(), request);
        Ok(())
    }

    /// The open question of this flow, if any.
    pub fn pending(&self, flow: &FlowId) -> Option<&ConsentRequest> {
        self.open.get(flow)
    }

    /// Accepts a posted decision once (see [`ConsentRequest::decide`]).
    pub fn decide(
        &mut self,
        posted: &PostedDecision,
        side: Side,
        at: SystemTime,
    ) -> Result<ConsentRecord, DecisionError> {
        if let Some((decision, _)) = self.decided.get(&posted.flow) {
            return Err(DecisionError::AlreadyDecided {
                flow: posted.flow.clone(),
                decision: *decision,
            });
        }
        let request = self
            .open
            .remove(&posted.flow)
            .ok_or_else(|| DecisionError::UnknownFlow {
                flow: posted.flow.clone(),
            })?;
        match request.decide(posted, side, at) {
            Ok(record) => {
                self.decided
                    .insert(record.flow.clone(), (record.decision, at));
                Ok(record)
            }
            Err((request, e)) => {
                self.open.insert(request.flow.clone(), *request);
                Err(e)
            }
        }
    }

    /// Closes an open question as undetermined (OAUTH-12 case 5).
    pub fn undetermined(
        &mut self,
        flow: &FlowId,
        side: Side,
        at: SystemTime,
    ) -> Result<ConsentRecord, DecisionError> {
        if let Some((decision, _)) = self.decided.get(flow) {
            return Err(DecisionError::AlreadyDecided {
                flow: flow.clone(),
                decision: *decision,
            });
        }
        let request = self
            .open
            .remove(flow)
            .ok_or_else(|| DecisionError::UnknownFlow { flow: flow.clone() })?;
        let record = request.undetermined(side, at);
        self.decided.insert(flow.clone(), (record.decision, at));
        Ok(record)
    }

    /// Forgets decided flows decided before `t`, and open questions asked
    /// before `t` (the host calls this once flows can no longer be
    /// continued, e.g. after the 900 s of OAUTH-7).
    pub fn forget_before(&mut self, t: SystemTime) {
        self.decided.retain(|_, (_, at)| *at >= t);
        self.open.retain(|_, r| r.asked_at >= t);
    }
}

/// Which party keeps the record (CONSENT-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The Bron (ZA GW, UC Verzamelen) that asked the Toestemming.
    Bron,
    /// The Lezer (ZA GW, UC Delen) that asked the Bevestiging.
    Lezer,
    /// The PGO GW, which logs the consent when it receives the code.
    Pgo,
}

/// The consent profile stored with collected data (CONSENT-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConsentProfile {
    /// "expliciete toestemming".
    #[serde(rename = "expliciete toestemming")]
    ExplicieteToestemming,
}

/// How the data came (CONSENT-3: "via the MedMij network").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Channel {
    /// Via the MedMij network.
    MedMij,
}

/// What CONSENT-3 asks to be kept of a grant or refusal, on the source
/// side (Bron/Lezer) and on the PGO side. Serialises to JSON (for a
/// NEN 7513 log, LOG-1) with UTC date-times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    /// Who keeps this record.
    pub side: Side,
    /// Toestemming or Bevestiging.
    pub kind: ConsentKind,
    /// The run of the flow the decision covers (and nothing else).
    pub flow: FlowId,
    /// The scope the decision covers.
    pub scope: Scope,
    /// The OAuth client.
    pub client: ClientId,
    /// The Zorgaanbieder.
    pub zorgaanbieder: Zorgaanbiedernaam,
    /// The answer.
    pub decision: Decision,
    /// When the question was put (unknown on the PGO side).
    #[serde(with = "opt_time")]
    pub asked_at: Option<SystemTime>,
    /// When the decision was taken; on the PGO side, when the code arrived.
    #[serde(with = "serde_rfc3339")]
    pub recorded_at: SystemTime,
    /// The consent profile.
    pub profile: ConsentProfile,
    /// Via the MedMij network.
    pub channel: Channel,
}

mod opt_time {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use std::time::SystemTime;

    pub(super) fn serialize<S: Serializer>(
        t: &Option<SystemTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&medmij_types::rfc3339::format(*t)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => medmij_types::rfc3339::parse(&s)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("not a UTC date-time: {s:?}"))),
        }
    }
}

/// Refers to one [`ConsentRecord`]: `sha256:` and the SHA-256 of its JSON,
/// in lowercase hex. Provenance records carry it (CONSENT-4).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConsentReference(String);

impl ConsentReference {
    /// The text, `sha256:<64 hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ConsentReference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(bytes)
}

impl ConsentRecord {
    /// The PGO side's record, made when the authorization code arrives
    /// (CONSENT-3: "the PGO GW logs the consent when it receives the code").
    pub fn received_by_pgo(
        kind: ConsentKind,
        flow: FlowId,
        scope: Scope,
        client: ClientId,
        zorgaanbieder: Zorgaanbiedernaam,
        code_received_at: SystemTime,
    ) -> Self {
        Self {
            side: Side::Pgo,
            kind,
            flow,
            scope,
            client,
            zorgaanbieder,
            decision: Decision::Granted,
            asked_at: None,
            recorded_at: code_received_at,
            profile: ConsentProfile::ExplicieteToestemming,
            channel: Channel::MedMij,
        }
    }

    /// The record as one line of JSON, fields in declaration order.
    pub fn to_json(&self) -> String {
        // Serialising plain strings, enums and numbers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The reference provenance records carry (CONSENT-4).
    pub fn reference(&self) -> ConsentReference {
        ConsentReference(format!(
            "sha256:{}",
            hex(&Sha256::digest(self.to_json().as_bytes()))
        ))
    }
}
