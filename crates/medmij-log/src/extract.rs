//! Verifiable extracts (MedMij LOG-5): the entries of one person or one
//! period, handed over so that the receiver can check on its own, without
//! the whole log, that they are unchanged and complete for that selection.
//!
//! # What an extract holds
//!
//! An extract covers the log from its start (entry 1, or the signed anchor
//! of a pruned log, LOG-3) through a signed checkpoint (the last one when it
//! was made). For **every** entry in that range it carries, in order,
//! either
//!
//! - the entry's line exactly as stored (`{"line": ...}`): every selected
//!   event and every checkpoint; or
//! - for an event outside the selection, only its sequence number, `prev`
//!   and `hash` (`{"omitted": {"seq":..,"prev":..,"hash":..}}`): nothing of
//!   its content, so the extract discloses no one else's data (LOG-4).
//!
//! The extract is signed as a whole by the log's key ([`Extract::key`],
//! [`Extract::sig`]) over its selection, time, anchor and every item.
//!
//! # What the receiver checks ([`verify_extract`])
//!
//! 1. Each full line hashes to its `hash` (an entry changed in the extract
//!    is [`VerifyError::Altered`]).
//! 2. The items run `seq` 1, 2, 3, … (or from the anchor's `seq + 1`)
//!    without a gap or repetition (a dropped entry is
//!    [`VerifyError::Missing`], a moved one [`VerifyError::OutOfOrder`] or
//!    [`VerifyError::Missing`]), and each item's `prev` is the `hash` of the
//!    item before it ([`VerifyError::BrokenLink`]).
//! 3. Every checkpoint in the range, and the anchor, carries a valid Ed25519
//!    signature by a trusted key over its `seq` and `prev`, made when the
//!    log was written ([`VerifyError::BadSignature`],
//!    [`VerifyError::UntrustedKey`]); the last item is such a checkpoint.
//! 4. Every full event matches the selection.
//! 5. The extract's own signature is valid under a trusted key.
//!
//! # The completeness argument
//!
//! By 2 and 3 the items are, one for one, the entries of the log from its
//! start through the final checkpoint, as linked when that checkpoint was
//! signed: an entry cannot be dropped, added or moved without breaking the
//! sequence or a link ending in a signed `prev`. By 1, every full line is
//! the entry as written. An omitted entry is represented by its hash, which
//! the receiver cannot recompute (that would need its content); what binds
//! the omitted items, and the claim that none of them matches the selection,
//! is the log keeper's signature over the extract (5). So against anyone
//! but the key holder the extract is tamper-evident in every item; against
//! the key holder, the chain still fixes every full entry that is followed
//! by another full line or a checkpoint, the number of entries and the
//! head at every checkpoint (which a receiver can compare with a checkpoint
//! it obtained earlier), and the keeper's signature makes the rest a
//! non-repudiable statement.
//!
//! The size is linear in the log (about 170 bytes per omitted entry), as a
//! statement of completeness for a person must cover every entry that could
//! be theirs. Entries after the last checkpoint are not covered: a log
//! writes a checkpoint first ([`crate::FileLog::extract`] does).

use std::io::BufRead;
use std::time::SystemTime;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::LogError;
use crate::chain::{Anchor, Entry, Trust, Verifier, VerifyError, parse_key, parse_prefix};
use crate::event::{Event, SubjectId};
use crate::hex;
use crate::query::Query;

/// The `format` of an extract.
pub const EXTRACT_FORMAT: &str = "medmij-log extract v1";

mod opt_time {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use std::time::SystemTime;

    pub(super) fn serialize<S: Serializer>(
        t: &Option<SystemTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&medmij_types::rfc3339::format(*t)),
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

/// Which entries an extract hands over: those of one person, or of one
/// period (`from <= time < until`), or both conditions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// Only events about this person.
    pub subject: Option<SubjectId>,
    /// Only events at or after this time.
    #[serde(with = "opt_time")]
    pub from: Option<SystemTime>,
    /// Only events before this time.
    #[serde(with = "opt_time")]
    pub until: Option<SystemTime>,
}

impl Selection {
    /// The events of `subject`.
    pub fn subject(subject: SubjectId) -> Self {
        Self {
            subject: Some(subject),
            ..Self::default()
        }
    }

    /// The events with `from <= time < until`.
    pub fn period(from: SystemTime, until: SystemTime) -> Self {
        Self {
            subject: None,
            from: Some(from),
            until: Some(until),
        }
    }

    /// Whether `event` is selected.
    #[must_use]
    pub fn matches(&self, event: &Event) -> bool {
        Query {
            subject: self.subject.clone(),
            from: self.from,
            until: self.until,
        }
        .matches(event)
    }
}

/// An entry left out of an extract: only where it stands in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Omitted {
    /// Its sequence number.
    pub seq: u64,
    /// The hash of the entry before it, hex.
    pub prev: String,
    /// Its hash, hex.
    pub hash: String,
}

/// One item of an extract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ExtractItem {
    /// The entry's line exactly as stored, without its newline.
    Line(String),
    /// An event outside the selection.
    Omitted(Omitted),
}

/// A verifiable extract of a log (MedMij LOG-5); see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extract {
    /// [`EXTRACT_FORMAT`].
    pub format: String,
    /// What was selected.
    pub selection: Selection,
    /// When the extract was made.
    #[serde(with = "medmij_types::rfc3339::serde")]
    pub created: SystemTime,
    /// The anchor line of a pruned log.
    pub anchor: Option<String>,
    /// Every entry from the start through the final checkpoint.
    pub items: Vec<ExtractItem>,
    /// The Ed25519 public key that signed the extract, hex.
    pub key: String,
    /// The signature over [`Extract::digest`], hex.
    pub sig: String,
}

impl Extract {
    /// The SHA-256 the extract's signature covers: format, selection,
    /// creation time, anchor and every item, each on its own line.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.format.as_bytes());
        h.update(b"\n");
        h.update(serde_json::to_vec(&self.selection).unwrap_or_default());
        h.update(b"\n");
        h.update(crate::time::format(self.created).as_bytes());
        h.update(b"\n");
        h.update(self.anchor.as_deref().unwrap_or("").as_bytes());
        h.update(b"\n");
        for item in &self.items {
            match item {
                ExtractItem::Line(l) => {
                    h.update(b"L ");
                    h.update(l.as_bytes());
                }
                ExtractItem::Omitted(o) => {
                    h.update(format!("O {} {} {}", o.seq, o.prev, o.hash).as_bytes());
                }
            }
            h.update(b"\n");
        }
        h.finalize().into()
    }

    fn message(&self) -> Vec<u8> {
        format!("{EXTRACT_FORMAT}\n{}", hex::encode(&self.digest())).into_bytes()
    }

    /// The extract as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads an extract from JSON (not yet verified: see
    /// [`verify_extract`]).
    pub fn from_json(json: &str) -> Result<Self, VerifyError> {
        serde_json::from_str(json).map_err(|e| VerifyError::Extract {
            line: 0,
            reason: format!("not an extract: {e}"),
        })
    }
}

/// What a verified extract shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractReport {
    /// What was selected.
    pub selection: Selection,
    /// When the extract was made.
    pub created: SystemTime,
    /// The selected events, with their sequence numbers: complete for the
    /// selection over the covered range.
    pub events: Vec<(u64, Event)>,
    /// The first entry covered (1, or after the anchor).
    pub first_seq: u64,
    /// The final checkpoint: the extract covers the log through it.
    pub through_seq: u64,
    /// The chain's head at the final checkpoint, hex.
    pub head: String,
    /// Entries given by their hash only.
    pub omitted: u64,
    /// Checkpoints verified.
    pub checkpoints: u64,
    /// The anchor, when the log was pruned (LOG-3).
    pub anchor: Option<Anchor>,
    /// The key that signed the extract.
    pub key: VerifyingKey,
}

/// The extract of the entries of `subject` in the log read from `reader`
/// (MedMij LOG-5), signed with `key`; see [`extract`].
pub fn extract_subject<R: BufRead>(
    reader: R,
    trust: Trust,
    subject: &SubjectId,
    key: &SigningKey,
    now: SystemTime,
) -> Result<Extract, LogError> {
    extract(
        reader,
        trust,
        &Selection::subject(subject.clone()),
        key,
        now,
    )
}

/// The extract of the entries with `from <= time < until` in the log read
/// from `reader` (MedMij LOG-5), signed with `key`; see [`extract`].
pub fn extract_period<R: BufRead>(
    reader: R,
    trust: Trust,
    from: SystemTime,
    until: SystemTime,
    key: &SigningKey,
    now: SystemTime,
) -> Result<Extract, LogError> {
    extract(reader, trust, &Selection::period(from, until), key, now)
}

/// The extract of the entries `selection` picks from the log read from
/// `reader` (MedMij LOG-5): the log is verified under `trust` on the way
/// (a broken log is [`LogError::Corrupt`]), covered through its last
/// checkpoint, and the extract signed with `key` at `now`. A selected entry
/// after the last checkpoint is [`LogError::Unsigned`]: write a checkpoint
/// first.
pub fn extract<R: BufRead>(
    reader: R,
    trust: Trust,
    selection: &Selection,
    key: &SigningKey,
    now: SystemTime,
) -> Result<Extract, LogError> {
    extract_through(reader, trust, selection, key, now, None)
}

/// Builds an extract from a log's lines fed one by one, verifying them on
/// the way (shared by the file reader and `PgLog`).
pub(crate) struct ExtractBuilder<'a> {
    selection: &'a Selection,
    v: Verifier,
    anchor: Option<String>,
    items: Vec<ExtractItem>,
    /// Items through the last checkpoint.
    covered: usize,
    first_unsigned_selected: Option<u64>,
}

impl<'a> ExtractBuilder<'a> {
    pub(crate) fn new(trust: Trust, selection: &'a Selection) -> Self {
        Self {
            selection,
            v: Verifier::new(trust),
            anchor: None,
            items: Vec::new(),
            covered: 0,
            first_unsigned_selected: None,
        }
    }

    /// Takes the next line (without its newline); returns its sequence
    /// number (the anchor's stands-for entry for an anchor).
    pub(crate) fn push(&mut self, line: &[u8]) -> Result<u64, VerifyError> {
        let text = || String::from_utf8_lossy(line).into_owned();
        match self.v.line(line)? {
            Entry::Anchor(a) => {
                self.anchor = Some(text());
                Ok(a.seq)
            }
            Entry::Checkpoint { seq, .. } => {
                self.items.push(ExtractItem::Line(text()));
                self.covered = self.items.len();
                self.first_unsigned_selected = None;
                Ok(seq)
            }
            Entry::Event { seq, event } => {
                if self.selection.matches(&event) {
                    self.items.push(ExtractItem::Line(text()));
                    self.first_unsigned_selected.get_or_insert(seq);
                } else {
                    // The verifier accepted the line, so its prefix parses.
                    let p = parse_prefix(line).map_err(|reason| VerifyError::Malformed {
                        line: self.items.len() as u64 + 1,
                        reason,
                    })?;
                    self.items.push(ExtractItem::Omitted(Omitted {
                        seq: p.seq,
                        prev: hex::encode(&p.prev),
                        hash: hex::encode(&p.hash),
                    }));
                }
                Ok(seq)
            }
        }
    }

    /// The extract through the last checkpoint, signed with `key` at `now`.
    pub(crate) fn finish(mut self, key: &SigningKey, now: SystemTime) -> Result<Extract, LogError> {
        if let Some(seq) = self.first_unsigned_selected {
            return Err(LogError::Unsigned { seq });
        }
        if self.covered == 0 {
            return Err(LogError::Unsigned { seq: 0 });
        }
        self.items.truncate(self.covered);
        let mut x = Extract {
            format: EXTRACT_FORMAT.into(),
            selection: self.selection.clone(),
            created: now,
            anchor: self.anchor,
            items: self.items,
            key: hex::encode(key.verifying_key().as_bytes()),
            sig: String::new(),
        };
        x.sig = hex::encode(&key.sign(&x.message()).to_bytes());
        Ok(x)
    }
}

/// [`extract`], reading no further than entry `through` when given.
pub(crate) fn extract_through<R: BufRead>(
    mut reader: R,
    trust: Trust,
    selection: &Selection,
    key: &SigningKey,
    now: SystemTime,
    through: Option<u64>,
) -> Result<Extract, LogError> {
    let corrupt = |error| LogError::Corrupt {
        path: "extract source".into(),
        error,
    };
    let mut b = ExtractBuilder::new(trust, selection);
    let mut buf = Vec::with_capacity(4096);
    let mut line_no = 0u64;
    let mut offset = 0u64;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| LogError::Io {
                what: "reading the log for an extract".into(),
                reason: e.to_string(),
            })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let Some(line) = buf.strip_suffix(b"\n") else {
            return Err(corrupt(VerifyError::TornTail {
                line: line_no,
                bytes: n as u64,
                offset,
            }));
        };
        offset += n as u64;
        let seq = b.push(line).map_err(corrupt)?;
        if through.is_some_and(|t| seq >= t) {
            break;
        }
    }
    b.finish(key, now)
}

/// Verifies `extract` on its own (MedMij LOG-5): the checks and the
/// completeness argument are in the module docs. Signatures (checkpoints,
/// anchor, the extract's own) must be by a key `trust` accepts. Returns the
/// selected events and what was covered, or the first defect.
pub fn verify_extract(extract: &Extract, trust: &Trust) -> Result<ExtractReport, VerifyError> {
    let whole = |reason: String| VerifyError::Extract { line: 0, reason };
    if extract.format != EXTRACT_FORMAT {
        return Err(whole(format!(
            "format is {:?}, expected {EXTRACT_FORMAT:?}",
            extract.format
        )));
    }
    let mut v = Verifier::new(trust.clone());
    let mut item_no = 0u64;
    let mut anchor = None;
    if let Some(a) = &extract.anchor {
        item_no += 1;
        match v.line(a.as_bytes())? {
            Entry::Anchor(a) => anchor = Some(a),
            _ => {
                return Err(VerifyError::Extract {
                    line: item_no,
                    reason: "the anchor is not an anchor line".into(),
                });
            }
        }
    }
    let mut events = Vec::new();
    let mut omitted = 0u64;
    let mut last_is_checkpoint = false;
    for item in &extract.items {
        item_no += 1;
        match item {
            ExtractItem::Line(l) => match v.line(l.as_bytes())? {
                Entry::Event { seq, event } => {
                    if !extract.selection.matches(&event) {
                        return Err(VerifyError::Extract {
                            line: item_no,
                            reason: format!("entry {seq} is not in the selection"),
                        });
                    }
                    events.push((seq, *event));
                    last_is_checkpoint = false;
                }
                Entry::Checkpoint { .. } => last_is_checkpoint = true,
                Entry::Anchor(_) => {
                    return Err(VerifyError::Extract {
                        line: item_no,
                        reason: "an anchor among the items".into(),
                    });
                }
            },
            ExtractItem::Omitted(o) => {
                let (Some(prev), Some(hash)) = (
                    hex::decode::<32>(o.prev.as_bytes()),
                    hex::decode::<32>(o.hash.as_bytes()),
                ) else {
                    return Err(VerifyError::Malformed {
                        line: item_no,
                        reason: "omitted entry: prev or hash is not 64 hex digits".into(),
                    });
                };
                v.skip(o.seq, &prev, &hash)?;
                omitted += 1;
                last_is_checkpoint = false;
            }
        }
    }
    if !last_is_checkpoint {
        return Err(VerifyError::Extract {
            line: item_no,
            reason: "the extract does not end at a signed checkpoint".into(),
        });
    }
    let report = v.finish();
    // The extract's own signature.
    let key = parse_key(&extract.key)
        .ok_or_else(|| whole("key is not an Ed25519 public key in hex".into()))?;
    if let Trust::Keys(keys) = trust
        && !keys.contains(&key)
    {
        return Err(whole(format!(
            "the extract is signed with untrusted key {}",
            extract.key
        )));
    }
    let sig = hex::decode::<64>(extract.sig.as_bytes())
        .map(|b| Signature::from_bytes(&b))
        .ok_or_else(|| whole("sig is not 128 hex digits".into()))?;
    key.verify(&extract.message(), &sig)
        .map_err(|_| whole("the extract's signature is not valid".into()))?;
    let through_seq = report.last_seq.unwrap_or(0);
    Ok(ExtractReport {
        selection: extract.selection.clone(),
        created: extract.created,
        events,
        first_seq: anchor.as_ref().map_or(1, |a: &Anchor| a.seq + 1),
        through_seq,
        head: report.head.unwrap_or_default(),
        omitted,
        checkpoints: report.checkpoints,
        anchor,
        key,
    })
}
