//! Moving a person's dossier to another PGO (MedMij CONSENT-7) without
//! losing what CONSENT-4 requires: per item, that it came via MedMij from
//! which Bron and whether it is unchanged since, and which content was
//! placed with which Lezer.
//!
//! # The export format
//!
//! One JSON document, `format` = [`EXPORT_FORMAT`]:
//!
//! ```text
//! {
//!   "format": "medmij-rs/dossier-export/1",
//!   "exported_at": "2026-12-05T10:00:00.000000Z",
//!   "items": [
//!     { "provenance": { "item": "...", "bron": "x@medmij", "gegevensdienst": "...",
//!                       "received_at": "...", "consent": "sha256:...",
//!                       "content_sha256": "<64 hex>", "channel": "MedMij" },
//!       "content_base64": "<the content exactly as received, base64>" }
//!   ],
//!   "placements": [ { "item": "...", "lezer": "...", "gegevensdienst": "...",
//!                     "placed_at": "...", "bevestiging": "sha256:...",
//!                     "content_sha256": "...", "origin": { ... } | null,
//!                     "channel": "MedMij" } ]
//! }
//! ```
//!
//! Times are UTC RFC 3339 with microseconds (`medmij_types::rfc3339`).
//! The receiving PGO reads it with [`import`], which checks every item
//! against the digest recorded when the *first* PGO received it: an item is
//! [`Integrity::Unchanged`] or flagged [`Integrity::Changed`] (never
//! silently accepted), and every placement names an item of the export.
//!
//! At rest the export holds health data: [`seal`] encrypts it with a
//! host-supplied key (XChaCha20-Poly1305, the [`EvidenceCipher`] of the
//! evidence ledger; MedMij TLS-5) and [`open`] decrypts it. Off unless the
//! host calls them.

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::evidence::EvidenceCipher;
use crate::provenance::{CollectedItem, Dossier, Integrity, Placement, Provenance};
use crate::vars::ItemId;
use medmij_types::RuleId;
use medmij_types::rfc3339::serde as serde_rfc3339;

/// The `format` of an export this crate writes and reads.
pub const EXPORT_FORMAT: &str = "medmij-rs/dossier-export/1";

/// The largest export [`import`] reads (256 MiB), so that a hostile file
/// cannot make it allocate without bound.
pub const MAX_EXPORT_LEN: usize = 256 << 20;

/// A dossier as it leaves one PGO (MedMij CONSENT-7): see the module docs
/// for the JSON form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DossierExport {
    /// Always [`EXPORT_FORMAT`].
    pub format: String,
    /// When the export was made.
    #[serde(with = "serde_rfc3339")]
    pub exported_at: SystemTime,
    /// Every collected item with its content and provenance.
    pub items: Vec<ExportedItem>,
    /// Every placement with a Lezer.
    pub placements: Vec<Placement>,
}

/// One collected item in an export: the content exactly as received, and
/// its provenance (CONSENT-4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedItem {
    /// Where it came from and the digest of the content as received.
    pub provenance: Provenance,
    /// The content, base64 (standard alphabet, padded).
    pub content_base64: String,
}

/// Why an export could not be read or imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PortabilityError {
    /// The document is larger than [`MAX_EXPORT_LEN`].
    #[error("the export is {len} bytes, more than {max} (MedMij CONSENT-7)")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not JSON of the export form; `line`/`column` say where.
    #[error("not a dossier export at line {line}, column {column}: {reason} (MedMij CONSENT-7)")]
    Malformed {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What was wrong.
        reason: String,
    },
    /// Another `format`.
    #[error("unknown export format {0:?}; this crate reads {EXPORT_FORMAT} (MedMij CONSENT-7)")]
    Format(String),
    /// An item's content is not valid base64.
    #[error("item {item}: content_base64 is not base64 (MedMij CONSENT-7)")]
    Content {
        /// The item.
        item: ItemId,
    },
    /// Two items with one id.
    #[error("item {0} appears twice (MedMij CONSENT-4)")]
    DuplicateItem(ItemId),
    /// A placement of an item the export does not hold.
    #[error("placement of item {0}, which is not in the export (MedMij CONSENT-4)")]
    UnknownPlacement(ItemId),
    /// The sealed export could not be opened (wrong key, or changed).
    #[error("the sealed export cannot be opened with this key, or was changed (MedMij TLS-5)")]
    Sealed,
}

impl PortabilityError {
    /// The rule the refusal comes from.
    pub fn rule(&self) -> RuleId {
        match self {
            Self::DuplicateItem(_) | Self::UnknownPlacement(_) => RuleId::Consent4,
            Self::Sealed => RuleId::Tls5,
            _ => RuleId::Consent7,
        }
    }
}

/// The outcome of an import: the dossier at the new PGO, and for every item
/// whether it is unchanged since the first PGO received it.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// The imported dossier (items and placements, provenance kept).
    pub dossier: Dossier,
    /// Per item, in the export's order: unchanged, or changed (flagged).
    pub items: Vec<(ItemId, Integrity)>,
}

impl ImportReport {
    /// The items whose content differs from what the Bron sent.
    pub fn changed(&self) -> impl Iterator<Item = &ItemId> {
        self.items
            .iter()
            .filter(|(_, i)| matches!(i, Integrity::Changed { .. }))
            .map(|(id, _)| id)
    }
}

/// Exports the whole dossier: content, provenance and placements
/// (MedMij CONSENT-7).
pub fn export(dossier: &Dossier, now: SystemTime) -> DossierExport {
    DossierExport {
        format: EXPORT_FORMAT.to_owned(),
        exported_at: now,
        items: dossier
            .items()
            .map(|i| ExportedItem {
                provenance: i.provenance().clone(),
                content_base64: BASE64.encode(i.content()),
            })
            .collect(),
        placements: dossier.placements().to_vec(),
    }
}

impl DossierExport {
    /// The JSON document.
    pub fn to_json(&self) -> String {
        // A struct of strings, numbers and lists always serialises.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads an export; refuses anything but the documented form.
    pub fn from_json(bytes: &[u8]) -> Result<Self, PortabilityError> {
        if bytes.len() > MAX_EXPORT_LEN {
            return Err(PortabilityError::TooLarge {
                len: bytes.len(),
                max: MAX_EXPORT_LEN,
            });
        }
        let export: Self =
            serde_json::from_slice(bytes).map_err(|e| PortabilityError::Malformed {
                line: e.line(),
                column: e.column(),
                reason: e.to_string(),
            })?;
        if export.format != EXPORT_FORMAT {
            return Err(PortabilityError::Format(export.format));
        }
        Ok(export)
    }
}

/// Imports an export at another PGO (MedMij CONSENT-7): every item keeps its
/// provenance and is checked against the digest recorded at the first
/// receipt (CONSENT-4); changed items are imported but flagged in the
/// report, never passed off as unchanged.
pub fn import(export: &DossierExport) -> Result<ImportReport, PortabilityError> {
    let mut dossier = Dossier::new();
    let mut items = Vec::with_capacity(export.items.len());
    for e in &export.items {
        let id = e.provenance.item.clone();
        let content = BASE64
            .decode(&e.content_base64)
            .map_err(|_| PortabilityError::Content { item: id.clone() })?;
        let item = CollectedItem::from_parts(content, e.provenance.clone());
        let integrity = item.verify();
        dossier
            .collect(item)
            .map_err(|_| PortabilityError::DuplicateItem(id.clone()))?;
        items.push((id, integrity));
    }
    for p in &export.placements {
        if dossier.item(&p.item).is_none() {
            return Err(PortabilityError::UnknownPlacement(p.item.clone()));
        }
        dossier.restore_placement(p.clone());
    }
    Ok(ImportReport { dossier, items })
}

/// The associated data that binds a sealed export to its purpose.
const SEAL_AAD: &[u8] = EXPORT_FORMAT.as_bytes();

/// Encrypts an export for storage or transport (MedMij TLS-5).
pub fn seal(export: &DossierExport, cipher: &EvidenceCipher) -> Result<Vec<u8>, PortabilityError> {
    cipher
        .seal(SEAL_AAD, export.to_json().as_bytes())
        .map_err(|_| PortabilityError::Sealed)
}

/// Decrypts and reads a sealed export (MedMij TLS-5).
pub fn open(sealed: &[u8], cipher: &EvidenceCipher) -> Result<DossierExport, PortabilityError> {
    let plain = cipher
        .open(SEAL_AAD, sealed)
        .ok_or(PortabilityError::Sealed)?;
    DossierExport::from_json(&plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::ConsentReference;
    use crate::vars::GegevensdienstNaam;
    use medmij_types::Zorgaanbiedernaam;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s)
    }

    fn reference(n: u8) -> ConsentReference {
        serde_json::from_str(&format!("\"sha256:{}\"", format!("{n:02x}").repeat(32))).unwrap()
    }

    fn dossier() -> Dossier {
        let mut d = Dossier::new();
        for (i, (bron, body)) in [
            (
                "umcharderwijk@medmij",
                br#"{"resourceType":"Bundle","id":"a"}"#.to_vec(),
            ),
            (
                "huisartsoost@medmij",
                br#"{"resourceType":"Bundle","id":"b"}"#.to_vec(),
            ),
        ]
        .into_iter()
        .enumerate()
        {
            d.collect(CollectedItem::receive(
                ItemId::new(format!("item-{i}")).unwrap(),
                body,
                Zorgaanbiedernaam::new(bron).unwrap(),
                GegevensdienstNaam::new("Medicatieoverzichten").unwrap(),
                reference(1),
                at(u64::try_from(i).unwrap()),
            ))
            .unwrap();
        }
        d.place(
            &ItemId::new("item-0").unwrap(),
            Zorgaanbiedernaam::new("lezerwest@medmij").unwrap(),
            GegevensdienstNaam::new("Basisgegevens Zorg").unwrap(),
            reference(2),
            at(10),
        )
        .unwrap();
        d
    }

    mod consent_7 {
        use super::*;
        use proptest::prelude::*;

        #[test]
        fn a_dossier_moves_with_provenance_and_placements() {
            let d = dossier();
            let json = export(&d, at(20)).to_json();
            let report = import(&DossierExport::from_json(json.as_bytes()).unwrap()).unwrap();
            assert_eq!(report.items.len(), 2);
            assert!(report.items.iter().all(|(_, i)| *i == Integrity::Unchanged));
            assert_eq!(report.changed().count(), 0);
            for bron in ["umcharderwijk@medmij", "huisartsoost@medmij"] {
                let bron = Zorgaanbiedernaam::new(bron).unwrap();
                let mine: Vec<_> = report.dossier.collected_from(&bron).collect();
                let theirs: Vec<_> = d.collected_from(&bron).collect();
                assert_eq!(mine, theirs);
            }
            let lezer = Zorgaanbiedernaam::new("lezerwest@medmij").unwrap();
            let placed: Vec<_> = report.dossier.placed_with(&lezer).collect();
            assert_eq!(placed.len(), 1);
            assert_eq!(placed[0].item.as_str(), "item-0");
            assert!(placed[0].origin.is_some(), "the provenance travels along");
        }

        #[test]
        fn a_changed_item_is_flagged_not_hidden() {
            let mut e = export(&dossier(), at(20));
            e.items[1].content_base64 = BASE64.encode(br#"{"resourceType":"Bundle","id":"B"}"#);
            let report = import(&e).unwrap();
            assert_eq!(
                report.changed().map(ItemId::as_str).collect::<Vec<_>>(),
                ["item-1"]
            );
            assert_eq!(report.items[0].1, Integrity::Unchanged);
        }

        #[test]
        fn malformed_exports_are_refused_with_where_and_why() {
            let json = export(&dossier(), at(20)).to_json();
            type Check = fn(&PortabilityError) -> bool;
            let cases: Vec<(Vec<u8>, Check)> = vec![
                (b"{".to_vec(), |e| {
                    matches!(e, PortabilityError::Malformed { line: 1, .. })
                }),
                (json.replace(EXPORT_FORMAT, "other/1").into_bytes(), |e| {
                    matches!(e, PortabilityError::Format(_))
                }),
                (
                    json.replacen("\"items\"", "\"extra\": 1, \"items\"", 1)
                        .into_bytes(),
                    |e| matches!(e, PortabilityError::Malformed { .. }),
                ),
            ];
            for (bytes, want) in cases {
                let err = DossierExport::from_json(&bytes).unwrap_err();
                assert!(want(&err), "{err}");
                assert_eq!(err.rule(), RuleId::Consent7);
            }
            let mut e = export(&dossier(), at(20));
            e.items[0].content_base64 = "not base64!".into();
            assert!(matches!(import(&e), Err(PortabilityError::Content { .. })));
            let mut e = export(&dossier(), at(20));
            e.items.push(e.items[0].clone());
            assert!(matches!(
                import(&e),
                Err(PortabilityError::DuplicateItem(_))
            ));
            let mut e = export(&dossier(), at(20));
            e.items.remove(0);
            let err = import(&e).unwrap_err();
            assert!(matches!(err, PortabilityError::UnknownPlacement(_)));
            assert_eq!(err.rule(), RuleId::Consent4);
        }

        proptest! {
            #[test]
            fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
                if let Ok(e) = DossierExport::from_json(&bytes) {
                    let _ = import(&e);
                }
            }

            /// Whatever the contents, an untouched export imports with every
            /// item unchanged, and flipping one byte of one item flags
            /// exactly that item.
            #[test]
            fn integrity_survives_the_move(
                bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..6),
                flip in any::<prop::sample::Index>(),
            ) {
                let mut d = Dossier::new();
                for (i, b) in bodies.iter().enumerate() {
                    d.collect(CollectedItem::receive(
                        ItemId::new(format!("i{i}")).unwrap(),
                        b.clone(),
                        Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap(),
                        GegevensdienstNaam::new("Documenten").unwrap(),
                        reference(3),
                        at(0),
                    )).unwrap();
                }
                let mut e = export(&d, at(1));
                let back = DossierExport::from_json(e.to_json().as_bytes()).unwrap();
                prop_assert_eq!(&back, &e);
                prop_assert_eq!(import(&back).unwrap().changed().count(), 0);
                let k = flip.index(e.items.len());
                let mut content = BASE64.decode(&e.items[k].content_base64).unwrap();
                content.push(0x20);
                e.items[k].content_base64 = BASE64.encode(&content);
                let report = import(&e).unwrap();
                let changed: Vec<&ItemId> = report.changed().collect();
                prop_assert_eq!(changed, vec![&e.items[k].provenance.item]);
            }
        }

        // MedMij CONSENT-7: an export of up to 256 MiB is read; one byte
        // more is refused before it is parsed.
        #[test]
        fn an_export_of_exactly_256_mib_is_read_and_one_byte_more_is_not() {
            // One allocation for both sizes.
            let mut bytes = Vec::with_capacity(268_435_457);
            bytes.resize(268_435_456, b'x');
            assert!(
                matches!(
                    DossierExport::from_json(&bytes),
                    Err(PortabilityError::Malformed {
                        line: 1,
                        column: 1,
                        ..
                    })
                ),
                "read and refused as JSON"
            );
            bytes.push(b'x');
            assert_eq!(
                DossierExport::from_json(&bytes),
                Err(PortabilityError::TooLarge {
                    len: 268_435_457,
                    max: 268_435_456
                })
            );
        }
    }

    mod tls_5 {
        use super::*;

        #[test]
        fn a_sealed_export_holds_no_plaintext_and_opens_only_with_its_key() {
            let e = export(&dossier(), at(20));
            let cipher = EvidenceCipher::new(&[7; 32]);
            let sealed = seal(&e, &cipher).unwrap();
            let text = String::from_utf8_lossy(&sealed);
            for needle in ["umcharderwijk", "Bundle", "item-0", "Medicatieoverzichten"] {
                assert!(!text.contains(needle), "{needle} in the sealed export");
            }
            assert_eq!(open(&sealed, &cipher).unwrap(), e);
            let other = EvidenceCipher::new(&[8; 32]);
            assert_eq!(open(&sealed, &other), Err(PortabilityError::Sealed));
            let mut tampered = sealed.clone();
            let last = tampered.len() - 1;
            tampered[last] ^= 1;
            assert_eq!(open(&tampered, &cipher), Err(PortabilityError::Sealed));
        }

        // MedMij TLS-5, CONSENT-4, CONSENT-7: each refusal names its rule.
        #[test]
        fn each_refusal_names_its_rule() {
            let id = ItemId::new("item-0").unwrap();
            assert_eq!(PortabilityError::Sealed.rule(), RuleId::Tls5);
            assert_eq!(
                PortabilityError::DuplicateItem(id.clone()).rule(),
                RuleId::Consent4
            );
            assert_eq!(
                PortabilityError::UnknownPlacement(id).rule(),
                RuleId::Consent4
            );
            assert_eq!(
                PortabilityError::Format("x".into()).rule(),
                RuleId::Consent7
            );
        }
    }
}
