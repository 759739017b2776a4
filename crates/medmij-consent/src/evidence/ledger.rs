//! The ledger's lines, made and checked without I/O (MedMij CONSENT-5).
//!
//! A record line:
//!
//! ```text
//! {"seq":1,"prev":"<64 hex>","at":"<RFC 3339>","rec":{…},"hash":"<64 hex>","sig":"<128 hex>"}
//! ```
//!
//! or, encrypted (MedMij TLS-5), `"enc":"<hex of 24-byte nonce ‖ ciphertext>"`
//! in place of `"rec"`. `hash` = SHA-256 of [`LEDGER_FORMAT`], a zero byte,
//! `seq` (8 bytes big-endian), `prev` (32 bytes), `at` and the payload (the
//! exact bytes of `rec`, or nonce ‖ ciphertext); `sig` is the Ed25519
//! signature of `hash`. The first line's `prev` is 32 zero bytes. After
//! pruning, the file starts with a signed anchor line that stands for the
//! removed lines:
//!
//! ```text
//! {"anchor":{"seq":7,"hash":"<64 hex>","cutoff":"<RFC 3339>","at":"<RFC 3339>"},"sig":"<128 hex>"}
//! ```

use std::time::{Duration, SystemTime};

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier as _, VerifyingKey};
use medmij_types::RuleId;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::record::{EvidenceError, EvidenceRecord};
use super::{hex, unhex, unhex_vec};

/// The domain separator hashed into every line.
pub const LEDGER_FORMAT: &str = "medmij-consent-evidence-ledger/1";

/// How long the evidence is kept (MedMij CONSENT-5: as long as the
/// Zorgaanbieder needs it; its own retention, not LOG-3's 12-15 months).
/// The host sets it in [`EvidenceConfig::retention`]; the default is
/// [`EvidenceRetention::Forever`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EvidenceRetention {
    /// Kept until the host removes it by other means (the default).
    #[default]
    Forever,
    /// Records older than this are removed by `prune`.
    For(Duration),
}

impl EvidenceRetention {
    /// The time before which records are removed at `now`, if any.
    pub fn cutoff(self, now: SystemTime) -> Option<SystemTime> {
        match self {
            Self::Forever => None,
            Self::For(d) => now.checked_sub(d),
        }
    }
}

/// The host-supplied key that encrypts records at rest (MedMij TLS-5):
/// XChaCha20-Poly1305 with a random nonce per line; the line's sequence
/// number and `prev` are bound in as associated data, so a ciphertext
/// cannot be moved. Off unless the host sets [`EvidenceConfig::cipher`].
/// What stays readable: each line's sequence number, time (`at`), hashes
/// and signature; the person, client, scope, flow, decision and text are
/// only in the ciphertext. The key is needed to read, look up, export and
/// prune; verification of the chain without it stops at the first
/// encrypted line.
#[derive(Clone)]
pub struct EvidenceCipher(XChaCha20Poly1305);

impl std::fmt::Debug for EvidenceCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EvidenceCipher(..)")
    }
}

impl EvidenceCipher {
    /// The cipher for a 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        Self(XChaCha20Poly1305::new(key.into()))
    }

    pub(crate) fn seal(&self, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, EvidenceError> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = self
            .0
            .encrypt(&nonce, Payload { msg: plain, aad })
            .map_err(|_| EvidenceError::Config("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub(crate) fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < 24 {
            return None;
        }
        let (nonce, ct) = sealed.split_at(24);
        self.0
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .ok()
    }
}

/// The settings of an evidence store.
#[derive(Debug, Clone)]
pub struct EvidenceConfig {
    /// Signs every line (the DVZA's Ed25519 key).
    pub key: SigningKey,
    /// Keys accepted when verifying; by default only `key`'s public key.
    pub trust: Vec<VerifyingKey>,
    /// Encrypts records at rest (MedMij TLS-5); `None` (the default): off.
    pub cipher: Option<EvidenceCipher>,
    /// How long records are kept; default [`EvidenceRetention::Forever`].
    pub retention: EvidenceRetention,
    /// `fsync` every append (default `true`; turn off only in tests).
    pub fsync: bool,
}

impl EvidenceConfig {
    /// Defaults around `key`.
    pub fn new(key: SigningKey) -> Self {
        Self {
            trust: vec![key.verifying_key()],
            key,
            cipher: None,
            retention: EvidenceRetention::Forever,
            fsync: true,
        }
    }
}

/// The newest line of a ledger: its sequence number and hash (zero and
/// zeros for an empty ledger).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LedgerHead {
    /// Sequence number.
    pub seq: u64,
    /// SHA-256 of the line.
    pub hash: [u8; 32],
}

/// What verifying found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifyReport {
    /// Record lines.
    pub records: u64,
    /// The anchor the ledger starts from after pruning, if any.
    pub anchored_at: Option<u64>,
    /// The newest line.
    pub head: LedgerHead,
}

/// What pruning did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneReport {
    /// Records before this time were eligible; `None` with
    /// [`EvidenceRetention::Forever`].
    pub cutoff: Option<SystemTime>,
    /// Records removed.
    pub removed: u64,
}

fn line_hash(seq: u64, prev: &[u8; 32], at: &str, payload: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(LEDGER_FORMAT.as_bytes());
    h.update([0u8]);
    h.update(seq.to_be_bytes());
    h.update(prev);
    h.update((at.len() as u64).to_be_bytes());
    h.update(at.as_bytes());
    h.update(payload);
    h.finalize().into()
}

fn anchor_hash(a: &AnchorBody) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(LEDGER_FORMAT.as_bytes());
    h.update(b"\0anchor\0");
    h.update(a.seq.to_be_bytes());
    h.update(a.hash.as_bytes());
    h.update(a.cutoff.as_bytes());
    h.update(a.at.as_bytes());
    h.finalize().into()
}

fn aad(seq: u64, prev: &[u8; 32]) -> Vec<u8> {
    let mut v = Vec::with_capacity(40);
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(prev);
    v
}

#[derive(Serialize)]
struct LineOut<'a> {
    seq: u64,
    prev: String,
    at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rec: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    enc: Option<String>,
    hash: String,
    sig: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineIn<'a> {
    seq: u64,
    prev: &'a str,
    at: &'a str,
    #[serde(borrow, default)]
    rec: Option<&'a RawValue>,
    #[serde(default)]
    enc: Option<&'a str>,
    hash: &'a str,
    sig: &'a str,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnchorBody {
    seq: u64,
    hash: String,
    cutoff: String,
    at: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnchorLine {
    anchor: AnchorBody,
    sig: String,
}

/// Makes the ledger's lines (sans-IO): each [`LedgerWriter::line`] is the
/// next line of the chain, ending in `\n`.
#[derive(Debug)]
pub struct LedgerWriter {
    key: SigningKey,
    cipher: Option<EvidenceCipher>,
    head: LedgerHead,
}

impl LedgerWriter {
    /// A writer continuing after `head` (the default head for a new ledger).
    pub fn new(head: LedgerHead, key: SigningKey, cipher: Option<EvidenceCipher>) -> Self {
        Self { key, cipher, head }
    }

    /// The newest line written.
    pub fn head(&self) -> LedgerHead {
        self.head
    }

    /// The next line for `record` and its sequence number. The writer's
    /// head moves on: write the line, or drop the writer.
    pub fn line(&mut self, record: &EvidenceRecord) -> Result<(u64, String), EvidenceError> {
        record.check()?;
        let seq = self.head.seq + 1;
        let prev = self.head.hash;
        let at = medmij_types::rfc3339::format(record.at);
        let json = record.to_json();
        let (rec, enc, payload): (Option<Box<RawValue>>, Option<String>, Vec<u8>) =
            match &self.cipher {
                None => {
                    let raw = RawValue::from_string(json.clone())
                        .map_err(|e| EvidenceError::Config(format!("record JSON: {e}")))?;
                    (Some(raw), None, json.into_bytes())
                }
                Some(c) => {
                    let sealed = c.seal(&aad(seq, &prev), json.as_bytes())?;
                    (None, Some(hex(&sealed)), sealed)
                }
            };
        let hash = line_hash(seq, &prev, &at, &payload);
        let sig = self.key.sign(&hash);
        let out = LineOut {
            seq,
            prev: hex(&prev),
            at: &at,
            rec: rec.as_deref(),
            enc,
            hash: hex(&hash),
            sig: hex(&sig.to_bytes()),
        };
        let mut line = serde_json::to_string(&out)
            .map_err(|e| EvidenceError::Config(format!("line JSON: {e}")))?;
        line.push('\n');
        self.head = LedgerHead { seq, hash };
        Ok((seq, line))
    }

    /// A signed anchor line standing for the lines up to `removed` (their
    /// last sequence number and hash), removed at `now` for `cutoff`.
    pub(crate) fn anchor_line(
        &self,
        removed: LedgerHead,
        cutoff: SystemTime,
        now: SystemTime,
    ) -> String {
        let body = AnchorBody {
            seq: removed.seq,
            hash: hex(&removed.hash),
            cutoff: medmij_types::rfc3339::format(cutoff),
            at: medmij_types::rfc3339::format(now),
        };
        let sig = self.key.sign(&anchor_hash(&body));
        let line = AnchorLine {
            anchor: body,
            sig: hex(&sig.to_bytes()),
        };
        let mut s = serde_json::to_string(&line).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// Checks the ledger's lines in order (sans-IO): every line must follow
/// the one before (sequence number and `prev`), hash to its `hash`, and be
/// signed by a trusted key; an encrypted record must decrypt.
#[derive(Debug)]
pub struct LedgerReader {
    trust: Vec<VerifyingKey>,
    cipher: Option<EvidenceCipher>,
    source: String,
    line: u64,
    head: LedgerHead,
    report: VerifyReport,
}

impl LedgerReader {
    /// A reader for the ledger named `source` (for error messages).
    pub fn new(
        trust: Vec<VerifyingKey>,
        cipher: Option<EvidenceCipher>,
        source: impl Into<String>,
    ) -> Self {
        Self {
            trust,
            cipher,
            source: source.into(),
            line: 0,
            head: LedgerHead::default(),
            report: VerifyReport::default(),
        }
    }

    fn corrupt(&self, reason: impl Into<String>) -> EvidenceError {
        EvidenceError::Corrupt {
            source_name: self.source.clone(),
            line: self.line,
            reason: reason.into(),
            rule: RuleId::Consent5,
        }
    }

    fn check_sig(&self, hash: &[u8; 32], sig: &str) -> Result<(), EvidenceError> {
        let sig = unhex::<64>(sig).ok_or_else(|| self.corrupt("sig is not 128 hex digits"))?;
        let sig = Signature::from_bytes(&sig);
        if self.trust.iter().any(|k| k.verify(hash, &sig).is_ok()) {
            Ok(())
        } else {
            Err(self.corrupt("the signature does not verify with a trusted key"))
        }
    }

    /// Checks the next line (without its `\n`); returns the record, or
    /// `None` for an anchor line.
    pub fn line(&mut self, text: &str) -> Result<Option<(u64, EvidenceRecord)>, EvidenceError> {
        self.line += 1;
        if text.starts_with("{\"anchor\"") {
            if self.line != 1 {
                return Err(self.corrupt("an anchor line may only be the first line"));
            }
            let a: AnchorLine = serde_json::from_str(text)
                .map_err(|e| self.corrupt(format!("unreadable anchor: {e}")))?;
            let hash = unhex::<32>(&a.anchor.hash)
                .ok_or_else(|| self.corrupt("anchor hash is not 64 hex digits"))?;
            self.check_sig(&anchor_hash(&a.anchor), &a.sig)?;
            self.head = LedgerHead {
                seq: a.anchor.seq,
                hash,
            };
            self.report.anchored_at = Some(a.anchor.seq);
            self.report.head = self.head;
            return Ok(None);
        }
        let l: LineIn<'_> =
            serde_json::from_str(text).map_err(|e| self.corrupt(format!("unreadable: {e}")))?;
        let expected = self.head.seq + 1;
        if l.seq != expected {
            return Err(self.corrupt(format!(
                "sequence number {} where {expected} follows: a line was dropped, added or moved",
                l.seq
            )));
        }
        let prev = unhex::<32>(l.prev).ok_or_else(|| self.corrupt("prev is not 64 hex digits"))?;
        if prev != self.head.hash {
            return Err(self.corrupt(
                "prev is not the hash of the line before: a line was changed, dropped or moved",
            ));
        }
        let hash = unhex::<32>(l.hash).ok_or_else(|| self.corrupt("hash is not 64 hex digits"))?;
        let (payload, json) = match (l.rec, l.enc) {
            (Some(rec), None) => (rec.get().as_bytes().to_vec(), rec.get().to_string()),
            (None, Some(enc)) => {
                let sealed =
                    unhex_vec(enc).ok_or_else(|| self.corrupt("enc is not lowercase hex"))?;
                let Some(cipher) = &self.cipher else {
                    return Err(EvidenceError::Corrupt {
                        source_name: self.source.clone(),
                        line: self.line,
                        reason: "the record is encrypted and no key was given".into(),
                        rule: RuleId::Tls5,
                    });
                };
                let plain = cipher.open(&aad(l.seq, &prev), &sealed).ok_or_else(|| {
                    EvidenceError::Corrupt {
                        source_name: self.source.clone(),
                        line: self.line,
                        reason: "the record does not decrypt with the key given".into(),
                        rule: RuleId::Tls5,
                    }
                })?;
                let json = String::from_utf8(plain)
                    .map_err(|_| self.corrupt("the decrypted record is not UTF-8"))?;
                (sealed, json)
            }
            _ => return Err(self.corrupt("a line holds exactly one of rec and enc")),
        };
        if line_hash(l.seq, &prev, l.at, &payload) != hash {
            return Err(self.corrupt("the line does not hash to its hash: it was changed"));
        }
        self.check_sig(&hash, l.sig)?;
        let record: EvidenceRecord = serde_json::from_str(&json)
            .map_err(|e| self.corrupt(format!("the record is not valid: {e}")))?;
        if medmij_types::rfc3339::format(record.at) != l.at {
            return Err(self.corrupt("at differs from the record's time"));
        }
        self.head = LedgerHead { seq: l.seq, hash };
        self.report.records += 1;
        self.report.head = self.head;
        Ok(Some((l.seq, record)))
    }

    /// The last line verified.
    pub fn head(&self) -> LedgerHead {
        self.head
    }

    /// What was verified so far.
    pub fn report(&self) -> VerifyReport {
        self.report.clone()
    }
}
