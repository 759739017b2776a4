//! The hash chain, signed checkpoints and verification (MedMij LOG-1).
//!
//! Every line of a log is one JSON object, written with a fixed field
//! order:
//!
//! ```text
//! {"seq":N,"prev":"<sha256 of line N-1>","event":{...},"hash":"<sha256>"}
//! {"seq":N,"prev":"<sha256 of line N-1>","checkpoint":{"time":..,"reason":..,"note":..,"key":..,"sig":..},"hash":"<sha256>"}
//! {"anchor":{"seq":S,"hash":..,"cutoff":..,"time":..,"key":..,"sig":..}}
//! ```
//!
//! `hash` is the SHA-256 of the line's bytes up to (not including)
//! `,"hash":`. Line 1 has `seq` 1 and a `prev` of 64 zeros, unless the log
//! was pruned (LOG-3): then line 1 is an `anchor`, signed, standing for the
//! last removed entry. A checkpoint's Ed25519 signature covers its `seq`, its
//! `prev` (the chain head, so everything before it), its time, reason and
//! note.

use std::borrow::Cow;
use std::io::BufRead;
use std::time::SystemTime;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::event::Event;
use crate::hex;

/// The `prev` of the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// Length of `,"hash":"` + 64 hex digits + `"}`.
const HASH_SUFFIX_LEN: usize = 9 + 64 + 2;

/// Why a checkpoint was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CheckpointReason {
    /// Every so many entries.
    Periodic,
    /// Asked for by the application (e.g. before shutting down).
    Requested,
    /// After retention pruning (LOG-3).
    Prune,
    /// After a torn tail was repaired on opening.
    Repair,
}

impl CheckpointReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::Periodic => "periodic",
            Self::Requested => "requested",
            Self::Prune => "prune",
            Self::Repair => "repair",
        }
    }
}

/// A checkpoint entry's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// When it was written.
    #[serde(with = "medmij_types::rfc3339::serde")]
    pub time: SystemTime,
    /// Why.
    pub reason: CheckpointReason,
    /// What happened (pruning, repair), if anything.
    pub note: Option<String>,
    /// The Ed25519 public key, hex.
    pub key: String,
    /// The Ed25519 signature, hex.
    pub sig: String,
}

/// The signed first line of a pruned log: it stands for entry `seq`, the last
/// one removed, whose hash was `hash` (MedMij LOG-3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// The sequence number of the last removed entry.
    pub seq: u64,
    /// Its hash, hex.
    pub hash: String,
    /// Entries before this time were removed.
    #[serde(with = "medmij_types::rfc3339::serde")]
    pub cutoff: SystemTime,
    /// When pruning happened.
    #[serde(with = "medmij_types::rfc3339::serde")]
    pub time: SystemTime,
    /// The Ed25519 public key, hex.
    pub key: String,
    /// The Ed25519 signature, hex.
    pub sig: String,
}

#[derive(Serialize, Deserialize)]
struct AnchorLine {
    anchor: Anchor,
}

fn checkpoint_message(
    seq: u64,
    prev: &[u8; 32],
    time: &str,
    reason: &str,
    note: Option<&str>,
) -> Vec<u8> {
    format!(
        "medmij-log checkpoint v1\n{seq}\n{}\n{time}\n{reason}\n{}",
        hex::encode(prev),
        note.unwrap_or("")
    )
    .into_bytes()
}

fn anchor_message(seq: u64, hash: &[u8; 32], cutoff: &str, time: &str) -> Vec<u8> {
    format!(
        "medmij-log anchor v1\n{seq}\n{}\n{cutoff}\n{time}",
        hex::encode(hash)
    )
    .into_bytes()
}

/// Writes entries of one chain (sans-IO: it produces lines, the sink stores
/// them). Keeps the next sequence number, the chain head and the signing
/// key, and adds a checkpoint every `checkpoint_every` entries.
pub struct ChainWriter {
    next_seq: u64,
    head: [u8; 32],
    since_checkpoint: u64,
    checkpoint_every: u64,
    key: SigningKey,
}

impl std::fmt::Debug for ChainWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainWriter")
            .field("next_seq", &self.next_seq)
            .field("head", &hex::encode(&self.head))
            .field("since_checkpoint", &self.since_checkpoint)
            .finish_non_exhaustive()
    }
}

/// Where a chain stands: the last entry's sequence number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    /// Sequence number of the last entry (0 for an empty log).
    pub seq: u64,
    /// Its hash ([`GENESIS`] for an empty log).
    pub hash: [u8; 32],
    /// Entries written since the last checkpoint.
    pub since_checkpoint: u64,
}

impl ChainHead {
    /// The head of an empty log.
    pub const EMPTY: Self = Self {
        seq: 0,
        hash: GENESIS,
        since_checkpoint: 0,
    };
}

impl ChainWriter {
    /// Continues the chain at `head`, signing checkpoints with `key`, one
    /// every `checkpoint_every` entries (at least 1).
    pub fn new(head: ChainHead, key: SigningKey, checkpoint_every: u64) -> Self {
        Self {
            next_seq: head.seq + 1,
            head: head.hash,
            since_checkpoint: head.since_checkpoint,
            checkpoint_every: checkpoint_every.max(1),
            key,
        }
    }

    /// The current head.
    pub fn head(&self) -> ChainHead {
        ChainHead {
            seq: self.next_seq - 1,
            hash: self.head,
            since_checkpoint: self.since_checkpoint,
        }
    }

    /// The key checkpoints are signed with.
    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The public key checkpoints are signed with.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    fn start(&self, out: &mut Vec<u8>, kind: &str) -> usize {
        let start = out.len();
        out.extend_from_slice(b"{\"seq\":");
        out.extend_from_slice(self.next_seq.to_string().as_bytes());
        out.extend_from_slice(b",\"prev\":\"");
        hex::encode_into(&self.head, out);
        out.extend_from_slice(b"\",\"");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\":");
        start
    }

    fn finish(&mut self, out: &mut Vec<u8>, start: usize) -> u64 {
        let hash: [u8; 32] = Sha256::digest(out.get(start..).unwrap_or_default()).into();
        out.extend_from_slice(b",\"hash\":\"");
        hex::encode_into(&hash, out);
        out.extend_from_slice(b"\"}\n");
        self.head = hash;
        self.next_seq += 1;
        self.next_seq - 1
    }

    /// Appends the line for `event` (with its newline) to `out`, followed by
    /// a periodic checkpoint when one is due. Returns the event's sequence
    /// number. The event should have been validated
    /// ([`Event::validate`]).
    pub fn push_event(&mut self, event: &Event, out: &mut Vec<u8>) -> u64 {
        let start = self.start(out, "event");
        // Serialising strings, enums and formatted times into a Vec cannot
        // fail.
        let _ = serde_json::to_writer(&mut *out, event);
        let seq = self.finish(out, start);
        self.since_checkpoint += 1;
        if self.since_checkpoint >= self.checkpoint_every {
            self.push_checkpoint(event.time, CheckpointReason::Periodic, None, out);
        }
        seq
    }

    /// Appends a signed checkpoint of the current head to `out`; returns its
    /// sequence number.
    pub fn push_checkpoint(
        &mut self,
        time: SystemTime,
        reason: CheckpointReason,
        note: Option<&str>,
        out: &mut Vec<u8>,
    ) -> u64 {
        let time_s = crate::time::format(time);
        let msg = checkpoint_message(self.next_seq, &self.head, &time_s, reason.as_str(), note);
        let sig = self.key.sign(&msg);
        let cp = Checkpoint {
            time,
            reason,
            note: note.map(str::to_owned),
            key: hex::encode(self.key.verifying_key().as_bytes()),
            sig: hex::encode(&sig.to_bytes()),
        };
        let start = self.start(out, "checkpoint");
        let _ = serde_json::to_writer(&mut *out, &cp);
        self.since_checkpoint = 0;
        self.finish(out, start)
    }

    /// The signed anchor line (with newline) standing for entry `seq` with
    /// hash `hash`, for the first line of a pruned log.
    pub fn anchor_line(
        &self,
        seq: u64,
        hash: &[u8; 32],
        cutoff: SystemTime,
        time: SystemTime,
    ) -> Vec<u8> {
        let (c, t) = (crate::time::format(cutoff), crate::time::format(time));
        let sig = self.key.sign(&anchor_message(seq, hash, &c, &t));
        let line = AnchorLine {
            anchor: Anchor {
                seq,
                hash: hex::encode(hash),
                cutoff,
                time,
                key: hex::encode(self.key.verifying_key().as_bytes()),
                sig: hex::encode(&sig.to_bytes()),
            },
        };
        let mut out = serde_json::to_vec(&line).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

/// Why verification stopped: the first broken, missing or unreadable entry.
/// `line` is the 1-based line number in the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The line is not a log entry.
    #[error("line {line}: malformed entry: {reason}")]
    Malformed {
        /// Line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The entry's content does not match its hash: it was altered.
    #[error(
        "line {line}: entry {seq} was altered (its hash does not match its content) (MedMij LOG-1)"
    )]
    Altered {
        /// Line number.
        line: u64,
        /// The entry's sequence number.
        seq: u64,
    },
    /// Entries are missing before this line.
    #[error("line {line}: entry {expected} is missing (found entry {found}) (MedMij LOG-1)")]
    Missing {
        /// Line number.
        line: u64,
        /// The sequence number that should have been here.
        expected: u64,
        /// The one found.
        found: u64,
    },
    /// An entry appears again or out of order.
    #[error("line {line}: entry {found} is out of order (expected entry {expected})")]
    OutOfOrder {
        /// Line number.
        line: u64,
        /// Expected sequence number.
        expected: u64,
        /// The one found.
        found: u64,
    },
    /// The entry does not link to the one before it: that one was altered or
    /// replaced.
    #[error(
        "line {line}: entry {seq} does not follow the entry before it (prev hash differs): an earlier entry was altered or replaced (MedMij LOG-1)"
    )]
    BrokenLink {
        /// Line number.
        line: u64,
        /// The entry's sequence number.
        seq: u64,
    },
    /// A checkpoint or anchor signature is not valid.
    #[error("line {line}: the signature of entry {seq} is not valid (MedMij LOG-1)")]
    BadSignature {
        /// Line number.
        line: u64,
        /// Sequence number (the anchor's stands-for entry for an anchor).
        seq: u64,
    },
    /// A checkpoint or anchor is signed with a key that is not trusted.
    #[error("line {line}: entry {seq} is signed with untrusted key {key}")]
    UntrustedKey {
        /// Line number.
        line: u64,
        /// Sequence number.
        seq: u64,
        /// The key, hex.
        key: String,
    },
    /// The last line is incomplete (no newline): a write was cut off.
    #[error("line {line}: torn tail: {bytes} bytes without a final newline")]
    TornTail {
        /// Line number of the incomplete line.
        line: u64,
        /// Its length.
        bytes: u64,
        /// Byte offset where it starts.
        offset: u64,
    },
    /// An extract is not what it must be: it does not end at a signed
    /// checkpoint, holds an entry outside its selection, or its own
    /// signature is not valid (MedMij LOG-5). `line` is the item number
    /// (the anchor, if any, is item 1; 0 for the extract as a whole).
    #[error("extract item {line}: {reason} (MedMij LOG-5)")]
    Extract {
        /// Item number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// Reading failed.
    #[error("reading the log failed after line {line}: {reason}")]
    Io {
        /// The last line read.
        line: u64,
        /// The error.
        reason: String,
    },
}

/// Which checkpoint keys verification accepts.
#[derive(Debug, Clone)]
#[must_use]
#[non_exhaustive]
pub enum Trust {
    /// Only these keys (the normal case: pin the log's key).
    Keys(Vec<VerifyingKey>),
    /// Any key, as long as each signature is valid under the key written
    /// next to it. This checks integrity only, not who signed.
    Embedded,
}

/// One verified entry.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Entry {
    /// An event.
    Event {
        /// Its sequence number.
        seq: u64,
        /// The event.
        event: Box<Event>,
    },
    /// A checkpoint.
    Checkpoint {
        /// Its sequence number.
        seq: u64,
        /// Its content.
        checkpoint: Checkpoint,
    },
    /// The anchor of a pruned log.
    Anchor(Anchor),
}

/// What a successful verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Lines read.
    pub lines: u64,
    /// Event entries.
    pub events: u64,
    /// Checkpoint entries.
    pub checkpoints: u64,
    /// Sequence number of the first entry (after the anchor, if any).
    pub first_seq: Option<u64>,
    /// Sequence number of the last entry.
    pub last_seq: Option<u64>,
    /// Hash of the last entry (hex), or of the anchor's entry.
    pub head: Option<String>,
    /// Sequence number of the last checkpoint.
    pub last_checkpoint: Option<u64>,
    /// Entries after the last checkpoint (not yet covered by a signature).
    pub unsigned_tail: u64,
    /// The anchor, when the log was pruned.
    pub anchor: Option<Anchor>,
    /// Bytes read.
    pub bytes: u64,
    /// Entries written since the last checkpoint, to continue the chain.
    pub(crate) head_raw: Option<ChainHead>,
}

impl VerifyReport {
    /// Where the chain stands, to continue writing it.
    pub fn chain_head(&self) -> ChainHead {
        self.head_raw.unwrap_or(ChainHead::EMPTY)
    }
}

/// Checks a log line by line (sans-IO). Feed lines without their newline.
#[derive(Debug)]
pub struct Verifier {
    trust: Trust,
    expect: u64,
    head: [u8; 32],
    line: u64,
    report: VerifyReport,
}

pub(crate) struct Prefix<'a> {
    pub(crate) seq: u64,
    pub(crate) prev: [u8; 32],
    kind: &'a [u8],
    value: &'a [u8],
    pub(crate) hash: [u8; 32],
    body: &'a [u8],
}

pub(crate) fn parse_prefix(line: &[u8]) -> Result<Prefix<'_>, String> {
    let rest = line
        .strip_prefix(b"{\"seq\":")
        .ok_or("does not start with {\"seq\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 20 || (digits > 1 && rest.first() == Some(&b'0')) {
        return Err("seq is not a number".into());
    }
    let (digits, rest) = rest.split_at_checked(digits).ok_or("seq is not a number")?;
    let seq: u64 = std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or("seq is out of range")?;
    let rest = rest
        .strip_prefix(b",\"prev\":\"")
        .ok_or("field 2 is not prev")?;
    let (prev, rest) = rest
        .split_at_checked(64)
        .ok_or("prev is not 64 hex digits")?;
    let prev = hex::decode::<32>(prev).ok_or("prev is not 64 hex digits")?;
    let rest = rest.strip_prefix(b"\",\"").ok_or("field 3 is missing")?;
    let (kind, rest) = if let Some(r) = rest.strip_prefix(b"event\":") {
        (&b"event"[..], r)
    } else if let Some(r) = rest.strip_prefix(b"checkpoint\":") {
        (&b"checkpoint"[..], r)
    } else {
        return Err("field 3 is neither event nor checkpoint".into());
    };
    let (value, suffix) = rest
        .len()
        .checked_sub(HASH_SUFFIX_LEN)
        .and_then(|at| rest.split_at_checked(at))
        .ok_or("no hash field at the end")?;
    let hex_part = suffix
        .strip_prefix(b",\"hash\":\"")
        .and_then(|s| s.strip_suffix(b"\"}"))
        .ok_or("the last field is not hash")?;
    let hash = hex::decode::<32>(hex_part).ok_or("hash is not 64 hex digits")?;
    Ok(Prefix {
        seq,
        prev,
        kind,
        value,
        hash,
        body: line
            .get(..line.len().saturating_sub(HASH_SUFFIX_LEN))
            .unwrap_or_default(),
    })
}

pub(crate) fn parse_key(s: &str) -> Option<VerifyingKey> {
    VerifyingKey::from_bytes(&hex::decode::<32>(s.as_bytes())?).ok()
}

impl Verifier {
    /// A verifier that accepts checkpoints signed under `trust`.
    pub fn new(trust: Trust) -> Self {
        Self {
            trust,
            expect: 1,
            head: GENESIS,
            line: 0,
            report: VerifyReport::default(),
        }
    }

    fn check_sig(
        &mut self,
        seq: u64,
        key_hex: &str,
        sig_hex: &str,
        msg: &[u8],
    ) -> Result<(), VerifyError> {
        let line = self.line;
        let key = parse_key(key_hex).ok_or(VerifyError::Malformed {
            line,
            reason: "key is not an Ed25519 public key in hex".into(),
        })?;
        if let Trust::Keys(keys) = &self.trust
            && !keys.contains(&key)
        {
            return Err(VerifyError::UntrustedKey {
                line,
                seq,
                key: key_hex.into(),
            });
        }
        let sig = hex::decode::<64>(sig_hex.as_bytes())
            .map(|b| Signature::from_bytes(&b))
            .ok_or(VerifyError::Malformed {
                line,
                reason: "sig is not 128 hex digits".into(),
            })?;
        key.verify(msg, &sig)
            .map_err(|_| VerifyError::BadSignature { line, seq })
    }

    /// Accounts for entry `seq`, given only by its `prev` and `hash` (an
    /// entry left out of an extract, MedMij LOG-5): it must be the next
    /// entry and link to the one before it; its hash becomes the head.
    pub(crate) fn skip(
        &mut self,
        seq: u64,
        prev: &[u8; 32],
        hash: &[u8; 32],
    ) -> Result<(), VerifyError> {
        let line = self.next_line();
        self.check_link(line, seq, prev)?;
        self.report.unsigned_tail += 1;
        self.advance(seq, *hash);
        Ok(())
    }

    /// Counts the next line; returns its number.
    fn next_line(&mut self) -> u64 {
        self.line += 1;
        self.report.lines += 1;
        self.line
    }

    /// Checks that entry `seq`, on `line`, is the next one and that its
    /// `prev` is the head.
    fn check_link(&self, line: u64, seq: u64, prev: &[u8; 32]) -> Result<(), VerifyError> {
        if seq != self.expect {
            return Err(if seq > self.expect {
                VerifyError::Missing {
                    line,
                    expected: self.expect,
                    found: seq,
                }
            } else {
                VerifyError::OutOfOrder {
                    line,
                    expected: self.expect,
                    found: seq,
                }
            });
        }
        if *prev != self.head {
            return Err(VerifyError::BrokenLink { line, seq });
        }
        Ok(())
    }

    /// Makes entry `seq`, with `hash`, the head.
    fn advance(&mut self, seq: u64, hash: [u8; 32]) {
        self.report.first_seq.get_or_insert(seq);
        self.report.last_seq = Some(seq);
        self.head = hash;
        self.expect = seq.saturating_add(1);
        self.report.head_raw = Some(ChainHead {
            seq,
            hash,
            since_checkpoint: self.report.unsigned_tail,
        });
    }

    /// Checks the next line (without its newline) and returns its entry.
    pub fn line(&mut self, bytes: &[u8]) -> Result<Entry, VerifyError> {
        self.step(bytes, true).and_then(|e| {
            e.ok_or(VerifyError::Malformed {
                line: self.line,
                reason: "internal: no entry".into(),
            })
        })
    }

    /// Checks the next line (without its newline) like [`Verifier::line`],
    /// with the same verdict (the same error on the same line; for an event
    /// that does not parse, the full parse's reason may also name a column),
    /// but without building the event: faster when only the verdict is
    /// wanted.
    pub fn check(&mut self, bytes: &[u8]) -> Result<(), VerifyError> {
        self.step(bytes, false).map(|_| ())
    }

    fn step(&mut self, bytes: &[u8], full: bool) -> Result<Option<Entry>, VerifyError> {
        let line = self.next_line();
        self.report.bytes += bytes.len() as u64 + 1;
        let malformed = |reason: String| VerifyError::Malformed { line, reason };
        if bytes.starts_with(b"{\"anchor\":") {
            if line != 1 {
                return Err(malformed("an anchor may only be the first line".into()));
            }
            let a: AnchorLine =
                serde_json::from_slice(bytes).map_err(|e| malformed(format!("anchor: {e}")))?;
            let a = a.anchor;
            let hash = hex::decode::<32>(a.hash.as_bytes())
                .ok_or_else(|| malformed("anchor hash is not 64 hex digits".into()))?;
            let msg = anchor_message(
                a.seq,
                &hash,
                &crate::time::format(a.cutoff),
                &crate::time::format(a.time),
            );
            self.check_sig(a.seq, &a.key, &a.sig, &msg)?;
            if a.seq == u64::MAX {
                return Err(malformed("anchor seq is out of range".into()));
            }
            self.expect = a.seq + 1;
            self.head = hash;
            self.report.anchor = Some(a.clone());
            self.report.head = Some(a.hash.clone());
            self.report.head_raw = Some(ChainHead {
                seq: a.seq,
                hash,
                since_checkpoint: 0,
            });
            return Ok(Some(Entry::Anchor(a)));
        }
        let p = parse_prefix(bytes).map_err(malformed)?;
        let actual: [u8; 32] = Sha256::digest(p.body).into();
        if actual != p.hash {
            return Err(VerifyError::Altered { line, seq: p.seq });
        }
        self.check_link(line, p.seq, &p.prev)?;
        let entry = if p.kind == b"event" {
            let entry = if full {
                let event: Event = serde_json::from_slice(p.value)
                    .map_err(|e| malformed(format!("event: {e}")))?;
                Some(Entry::Event {
                    seq: p.seq,
                    event: Box::new(event),
                })
            } else {
                check_event(p.value).map_err(|e| malformed(format!("event: {e}")))?;
                None
            };
            self.report.events += 1;
            self.report.unsigned_tail += 1;
            entry
        } else {
            let cp: Checkpoint = serde_json::from_slice(p.value)
                .map_err(|e| malformed(format!("checkpoint: {e}")))?;
            let msg = checkpoint_message(
                p.seq,
                &p.prev,
                &crate::time::format(cp.time),
                cp.reason.as_str(),
                cp.note.as_deref(),
            );
            self.check_sig(p.seq, &cp.key, &cp.sig, &msg)?;
            self.report.checkpoints += 1;
            self.report.last_checkpoint = Some(p.seq);
            self.report.unsigned_tail = 0;
            Some(Entry::Checkpoint {
                seq: p.seq,
                checkpoint: cp,
            })
        };
        self.advance(p.seq, p.hash);
        Ok(entry)
    }

    /// The report so far.
    pub fn finish(mut self) -> VerifyReport {
        if let Some(h) = self.report.head_raw {
            self.report.head = Some(hex::encode(&h.hash));
        }
        self.report
    }
}

/// The shape of an event, borrowed where it can be: what
/// [`Verifier::check`] parses instead of building an [`Event`]. It accepts
/// exactly what deserialising an [`Event`] accepts.
#[derive(Deserialize)]
#[allow(dead_code)]
struct EventCheck<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    event_type: Cow<'a, str>,
    action: crate::event::Action,
    #[serde(borrow)]
    time: Cow<'a, str>,
    #[serde(borrow)]
    actor: ActorCheck<'a>,
    #[serde(borrow)]
    subject: Option<Cow<'a, str>>,
    #[serde(borrow)]
    object: ObjectCheck<'a>,
    #[serde(borrow)]
    source: SourceCheck<'a>,
    outcome: crate::event::Outcome,
    #[serde(borrow)]
    detail: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct ActorCheck<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    kind: crate::event::ActorKind,
    #[serde(borrow)]
    role: Option<Cow<'a, str>>,
    #[serde(borrow)]
    on_behalf_of: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct ObjectCheck<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    id: Cow<'a, str>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct SourceCheck<'a> {
    #[serde(borrow)]
    system: Cow<'a, str>,
    #[serde(borrow)]
    location: Option<Cow<'a, str>>,
}

fn check_event(value: &[u8]) -> Result<(), String> {
    let e: EventCheck<'_> = serde_json::from_slice(value).map_err(|e| e.to_string())?;
    if crate::time::parse(&e.time).is_none() {
        return Err(format!(
            "not a UTC date-time YYYY-MM-DDThh:mm:ss.ffffffZ: {:?}",
            e.time
        ));
    }
    if let Some(s) = &e.subject {
        crate::event::SubjectId::check(s).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Verifies a whole log from `reader` without building events (see
/// [`Verifier::check`]): the fast path for checking a log.
pub fn verify_only<R: BufRead>(mut reader: R, trust: Trust) -> Result<VerifyReport, VerifyError> {
    let mut v = Verifier::new(trust);
    let mut buf = Vec::with_capacity(4096);
    let mut offset = 0u64;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| VerifyError::Io {
                line: v.line,
                reason: e.to_string(),
            })?;
        if n == 0 {
            return Ok(v.finish());
        }
        let Some(line) = buf.strip_suffix(b"\n") else {
            return Err(VerifyError::TornTail {
                line: v.line + 1,
                bytes: n as u64,
                offset,
            });
        };
        offset += n as u64;
        v.check(line)?;
    }
}

/// Verifies a whole log from `reader`, calling `each` for every entry.
/// Stops at the first broken or missing entry; an incomplete last line is
/// reported as [`VerifyError::TornTail`].
pub fn verify_reader<R: BufRead>(
    mut reader: R,
    trust: Trust,
    mut each: impl FnMut(&Entry),
) -> Result<VerifyReport, VerifyError> {
    let mut v = Verifier::new(trust);
    let mut buf = Vec::with_capacity(4096);
    let mut offset = 0u64;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| VerifyError::Io {
                line: v.line,
                reason: e.to_string(),
            })?;
        if n == 0 {
            return Ok(v.finish());
        }
        let Some(line) = buf.strip_suffix(b"\n") else {
            return Err(VerifyError::TornTail {
                line: v.line + 1,
                bytes: n as u64,
                offset,
            });
        };
        offset += n as u64;
        let entry = v.line(line)?;
        each(&entry);
    }
}
