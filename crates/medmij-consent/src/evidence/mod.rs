//! Consent evidence (MedMij CONSENT-5): a tamper-evident ledger of the
//! person's decisions (grant, refusal; 2.x: withdrawal) that the DVZA keeps
//! for the Zorgaanbieder, looked up per person and exported as a document
//! the Zorgaanbieder verifies on its own.
//!
//! - [`EvidenceRecord`]: one decision with the exact text shown (its version
//!   and filled variables, [`ShownText`]), the time, the client, the scope,
//!   the flow and the person (a local subject id, [`PersonId`]).
//! - The ledger is a chain of JSON lines: each line carries its sequence
//!   number, the hash of the line before, the record (or, with a key, the
//!   record encrypted, MedMij TLS-5), its own hash and an Ed25519 signature
//!   of that hash. [`LedgerWriter`] makes lines, [`LedgerReader`] checks
//!   them (sans-IO); [`FileEvidenceLedger`] (append-only file, `fsync`, a
//!   torn last line repaired on open) and, with the feature `postgres`,
//!   `PgEvidenceLedger` store them.
//! - A changed, dropped or reordered line breaks the chain; a line whose
//!   hash was recomputed breaks its signature. Dropping the newest lines
//!   leaves a valid shorter chain: the host that needs to detect that keeps
//!   [`LedgerHead`] somewhere else (e.g. logs it, LOG-1).
//! - [`EvidenceExport`]: one person's decisions, chained anew and signed
//!   with Ed25519; [`verify_export`] checks it with the DVZA's public key.
//! - Retention ([`EvidenceRetention`]) is the evidence's own, not LOG-3's
//!   12-15 months: by default [`EvidenceRetention::Forever`].

mod export;
mod file;
mod ledger;
#[cfg(feature = "postgres")]
mod pg;
mod record;

pub use export::{EXPORT_FORMAT, EvidenceExport, ExportError, VerifiedExport, verify_export};
pub use file::{FileEvidenceLedger, OpenReport, TornTailRepair, lookup_file};
pub use ledger::{
    EvidenceCipher, EvidenceConfig, EvidenceRetention, LEDGER_FORMAT, LedgerHead, LedgerReader,
    LedgerWriter, PruneReport, VerifyReport,
};
#[cfg(feature = "postgres")]
pub use pg::PgEvidenceLedger;
pub use record::{EvidenceDecision, EvidenceError, EvidenceRecord, PersonId, ShownText};

/// What every evidence store does (MedMij CONSENT-5). Implemented by
/// [`FileEvidenceLedger`] and, with the feature `postgres`,
/// `PgEvidenceLedger`.
pub trait EvidenceLedger {
    /// Registers a decision; returns its sequence number once it is durable.
    fn append(&self, record: &EvidenceRecord) -> Result<u64, EvidenceError>;
    /// Every decision of `person`, in ledger order, from a verified read.
    fn lookup(&self, person: &PersonId) -> Result<Vec<(u64, EvidenceRecord)>, EvidenceError>;
    /// Verifies the whole ledger.
    fn verify(&self) -> Result<VerifyReport, EvidenceError>;
    /// The newest line (sequence number and hash).
    fn head(&self) -> LedgerHead;
    /// Removes the records older than the configured retention at `now`
    /// (nothing with [`EvidenceRetention::Forever`]).
    fn prune(&self, now: std::time::SystemTime) -> Result<PruneReport, EvidenceError>;

    /// Exports `person`'s decisions as a signed document (MedMij
    /// CONSENT-5) with `key`, the DVZA's Ed25519 key.
    fn export(
        &self,
        person: &PersonId,
        key: &ed25519_dalek::SigningKey,
        now: std::time::SystemTime,
    ) -> Result<EvidenceExport, EvidenceError> {
        let records = self.lookup(person)?;
        EvidenceExport::build(person, &records, key, now)
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    crate::decision::hex(bytes)
}

pub(crate) fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let v = unhex_vec(s)?;
    v.try_into().ok()
}

/// Lowercase hex only (uppercase digits are refused), an even number of them.
pub(crate) fn unhex_vec(s: &str) -> Option<Vec<u8>> {
    base16ct::lower::decode_vec(s).ok()
}

#[cfg(test)]
mod hex_tests {
    use proptest::prelude::*;

    /// The hand-written decoder `unhex_vec` replaced: the reference the
    /// `base16ct` wrapper must agree with.
    fn reference_unhex_vec(s: &str) -> Option<Vec<u8>> {
        if !s.len().is_multiple_of(2) {
            return None;
        }
        let val = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        s.as_bytes()
            .chunks(2)
            .map(|p| Some((val(p[0])? << 4) | val(p[1])?))
            .collect()
    }

    /// The hand-written encoder `hex` replaced.
    fn reference_hex(bytes: &[u8]) -> String {
        const H: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            s.push(H[(b >> 4) as usize] as char);
            s.push(H[(b & 15) as usize] as char);
        }
        s
    }

    proptest! {
        #[test]
        fn hex_matches_the_reference(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
            prop_assert_eq!(super::hex(&bytes), reference_hex(&bytes));
            prop_assert_eq!(super::unhex_vec(&super::hex(&bytes)), Some(bytes));
        }

        #[test]
        fn unhex_matches_the_reference(s in "[0-9a-fA-Fg é]{0,70}") {
            prop_assert_eq!(super::unhex_vec(&s), reference_unhex_vec(&s));
            prop_assert_eq!(super::unhex::<32>(&s), reference_unhex_vec(&s).and_then(|v| v.try_into().ok()));
        }

        #[test]
        fn unhex_matches_the_reference_on_64_digits(s in "[0-9a-fA-F]{64}") {
            prop_assert_eq!(super::unhex::<32>(&s), reference_unhex_vec(&s).and_then(|v| v.try_into().ok()));
        }
    }
}
