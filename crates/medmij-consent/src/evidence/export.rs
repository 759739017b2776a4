//! One person's consents as a document the Zorgaanbieder verifies on its
//! own (MedMij CONSENT-5).
//!
//! ```text
//! {"format":"medmij-consent-evidence-export/1","person":"…","exported_at":"…",
//!  "records":[{"n":1,"ledger_seq":4,"record":{…},"hash":"<64 hex>"},…],
//!  "count":2,"head":"<64 hex>","public_key":"<64 hex>","signature":"<128 hex>"}
//! ```
//!
//! `hash` of record `n` = SHA-256 of [`EXPORT_FORMAT`], a zero byte, `n`
//! and `ledger_seq` (8 bytes big-endian each), the hash of record `n - 1` (32 zero bytes for the
//! first) and `record` in its canonical form (its fields in the order of
//! [`EvidenceRecord`], no white space, as [`EvidenceRecord::to_json`]
//! writes it); `head` is the last hash (zeros
//! when there are none). `signature` is the Ed25519 signature, by the
//! DVZA's key, of the SHA-256 of the format, person, `exported_at`, `count`
//! and `head`. A changed, dropped, added or reordered record changes
//! `head` or breaks a hash; a changed person, time or count breaks the
//! signature.

use std::time::SystemTime;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier as _, VerifyingKey};
use medmij_types::RuleId;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::record::{EvidenceError, EvidenceRecord, PersonId};
use super::{hex, unhex};

/// The format name of an export.
pub const EXPORT_FORMAT: &str = "medmij-consent-evidence-export/1";

/// A signed export of one person's consent evidence (MedMij CONSENT-5).
#[derive(Debug, Clone)]
pub struct EvidenceExport {
    json: String,
    count: u64,
}

impl EvidenceExport {
    /// Builds and signs the export of `person`'s `records` (ledger sequence
    /// number and record, as [`super::EvidenceLedger::lookup`] gives them).
    /// Every record must be of `person`.
    pub fn build(
        person: &PersonId,
        records: &[(u64, EvidenceRecord)],
        key: &SigningKey,
        now: SystemTime,
    ) -> Result<Self, EvidenceError> {
        let mut prev = [0u8; 32];
        let mut out = Vec::with_capacity(records.len());
        for (i, (seq, r)) in records.iter().enumerate() {
            if &r.person != person {
                return Err(EvidenceError::invalid(
                    "records",
                    format!("ledger record {seq} is not of person {person}"),
                ));
            }
            let n = i as u64 + 1;
            let json = r.to_json();
            let h = record_hash(n, *seq, &prev, json.as_bytes());
            let record = RawValue::from_string(json)
                .map_err(|e| EvidenceError::Config(format!("record JSON: {e}")))?;
            out.push(RecordOut {
                n,
                ledger_seq: *seq,
                record,
                hash: hex(&h),
            });
            prev = h;
        }
        let exported_at = medmij_types::rfc3339::format(now);
        let count = out.len() as u64;
        let sig = key.sign(&signed_hash(person.as_str(), &exported_at, count, &prev));
        let doc = DocOut {
            format: EXPORT_FORMAT,
            person: person.as_str(),
            exported_at: &exported_at,
            records: out,
            count,
            head: hex(&prev),
            public_key: hex(key.verifying_key().as_bytes()),
            signature: hex(&sig.to_bytes()),
        };
        let json = serde_json::to_string_pretty(&doc)
            .map_err(|e| EvidenceError::Config(format!("export JSON: {e}")))?;
        Ok(Self { json, count })
    }

    /// The document (JSON, UTF-8).
    pub fn to_json(&self) -> &str {
        &self.json
    }

    /// The number of records.
    pub fn count(&self) -> u64 {
        self.count
    }
}

fn record_hash(n: u64, ledger_seq: u64, prev: &[u8; 32], record: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(EXPORT_FORMAT.as_bytes());
    h.update([0u8]);
    h.update(n.to_be_bytes());
    h.update(ledger_seq.to_be_bytes());
    h.update(prev);
    h.update(record);
    h.finalize().into()
}

fn signed_hash(person: &str, exported_at: &str, count: u64, head: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(EXPORT_FORMAT.as_bytes());
    h.update(b"\0signed\0");
    h.update((person.len() as u64).to_be_bytes());
    h.update(person.as_bytes());
    h.update(exported_at.as_bytes());
    h.update(count.to_be_bytes());
    h.update(head);
    h.finalize().into()
}

#[derive(Serialize)]
struct RecordOut {
    n: u64,
    ledger_seq: u64,
    record: Box<RawValue>,
    hash: String,
}

#[derive(Serialize)]
struct DocOut<'a> {
    format: &'a str,
    person: &'a str,
    exported_at: &'a str,
    records: Vec<RecordOut>,
    count: u64,
    head: String,
    public_key: String,
    signature: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordIn<'a> {
    n: u64,
    ledger_seq: u64,
    #[serde(borrow)]
    record: &'a RawValue,
    hash: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocIn<'a> {
    format: &'a str,
    person: String,
    exported_at: &'a str,
    #[serde(borrow)]
    records: Vec<RecordIn<'a>>,
    count: u64,
    head: &'a str,
    public_key: &'a str,
    signature: &'a str,
}

/// Why an export does not verify: what and where (record number, 1-based,
/// or 0 for the document as a whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("consent evidence export: record {record}: {reason} (MedMij {rule})")]
pub struct ExportError {
    /// The record (1-based), 0 for the document.
    pub record: u64,
    /// What is wrong.
    pub reason: String,
    /// CONSENT-5.
    pub rule: RuleId,
}

fn err(record: u64, reason: impl Into<String>) -> ExportError {
    ExportError {
        record,
        reason: reason.into(),
        rule: RuleId::Consent5,
    }
}

/// A verified export.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct VerifiedExport {
    /// The person.
    pub person: PersonId,
    /// When it was exported.
    pub exported_at: SystemTime,
    /// The records with their ledger sequence numbers, in order.
    pub records: Vec<(u64, EvidenceRecord)>,
    /// The key that signed it.
    pub signed_by: VerifyingKey,
}

/// Verifies an export on its own (MedMij CONSENT-5): the format, every
/// record's hash in the chain, the count, the head, that every record is
/// of the exported person, and the Ed25519 signature. With `trusted` (the
/// DVZA's public key as the Zorgaanbieder knows it), the export must be
/// signed with that key; without it, only with the key it names (which
/// proves integrity, not origin).
pub fn verify_export(
    json: &str,
    trusted: Option<&VerifyingKey>,
) -> Result<VerifiedExport, ExportError> {
    let doc: DocIn<'_> =
        serde_json::from_str(json).map_err(|e| err(0, format!("not an export: {e}")))?;
    if doc.format != EXPORT_FORMAT {
        return Err(err(
            0,
            format!("format {:?}, expected {EXPORT_FORMAT:?}", doc.format),
        ));
    }
    let person = PersonId::new(doc.person).map_err(|e| err(0, e.to_string()))?;
    let exported_at = medmij_types::rfc3339::parse(doc.exported_at)
        .ok_or_else(|| err(0, "exported_at is not an RFC 3339 UTC time"))?;
    let mut prev = [0u8; 32];
    let mut records = Vec::with_capacity(doc.records.len());
    for (i, r) in doc.records.iter().enumerate() {
        let n = i as u64 + 1;
        if r.n != n {
            return Err(err(
                n,
                format!(
                    "numbered {} where {n} follows: records were dropped or moved",
                    r.n
                ),
            ));
        }
        let rec: EvidenceRecord = serde_json::from_str(r.record.get())
            .map_err(|e| err(n, format!("the record is not valid: {e}")))?;
        // The canonical form: the record as this crate writes it, so that a
        // document re-serialised (keys reordered, spaces) still verifies.
        let h = record_hash(n, r.ledger_seq, &prev, rec.to_json().as_bytes());
        if unhex::<32>(r.hash) != Some(h) {
            return Err(err(
                n,
                "the record does not hash to its hash: it was changed",
            ));
        }
        if rec.person != person {
            return Err(err(n, "the record is of another person"));
        }
        records.push((r.ledger_seq, rec));
        prev = h;
    }
    if doc.count != records.len() as u64 {
        return Err(err(
            0,
            format!(
                "count says {} records, the document holds {}: records were dropped or added",
                doc.count,
                records.len()
            ),
        ));
    }
    if unhex::<32>(doc.head) != Some(prev) {
        return Err(err(
            0,
            "head is not the last record's hash: records were dropped, added or reordered",
        ));
    }
    let key = unhex::<32>(doc.public_key)
        .and_then(|k| VerifyingKey::from_bytes(&k).ok())
        .ok_or_else(|| err(0, "public_key is not an Ed25519 public key"))?;
    if let Some(t) = trusted
        && t != &key
    {
        return Err(err(0, "signed with another key than the trusted one"));
    }
    let sig = unhex::<64>(doc.signature)
        .map(|s| Signature::from_bytes(&s))
        .ok_or_else(|| err(0, "signature is not 128 hex digits"))?;
    key.verify(
        &signed_hash(person.as_str(), doc.exported_at, doc.count, &prev),
        &sig,
    )
    .map_err(|_| err(0, "the signature does not verify: forged or altered"))?;
    Ok(VerifiedExport {
        person,
        exported_at,
        records,
        signed_by: key,
    })
}
