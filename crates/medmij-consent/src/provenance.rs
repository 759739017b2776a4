//! Provenance in the PGO's dossier (MedMij CONSENT-4, LOG-2).

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::decision::{Channel, ConsentReference, hex};
use crate::vars::{GegevensdienstNaam, ItemId};
use medmij_types::Zorgaanbiedernaam;
use medmij_types::rfc3339::serde as serde_rfc3339;

/// SHA-256 of an item's content as received (or as placed).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentDigest([u8; 32]);

impl ContentDigest {
    /// The digest of `content`.
    pub fn of(content: &[u8]) -> Self {
        Self(Sha256::digest(content).into())
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ContentDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl fmt::Debug for ContentDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentDigest({})", hex(&self.0))
    }
}

impl Serialize for ContentDigest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex(&self.0))
    }
}

impl<'de> Deserialize<'de> for ContentDigest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let s = String::deserialize(d)?;
        if s.len() != 64 {
            return Err(D::Error::custom("a SHA-256 digest is 64 hex digits"));
        }
        let out = crate::evidence::unhex::<32>(&s)
            .ok_or_else(|| D::Error::custom("a SHA-256 digest is lowercase hex"))?;
        Ok(Self(out))
    }
}

/// Whether content is what was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum Integrity {
    /// The content's SHA-256 equals the recorded one.
    Unchanged,
    /// It differs.
    Changed {
        /// The recorded digest.
        recorded: ContentDigest,
        /// The digest of the content now.
        now: ContentDigest,
    },
}

/// Where a collected item came from (CONSENT-4): the Bron, the Gegevensdienst
/// (GNL name), when, under which consent, and the SHA-256 of the content as
/// received. Via the MedMij network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The item in the dossier.
    pub item: ItemId,
    /// The Bron.
    pub bron: Zorgaanbiedernaam,
    /// The Gegevensdienst, by its GNL Weergavenaam.
    pub gegevensdienst: GegevensdienstNaam,
    /// When it was received.
    #[serde(with = "serde_rfc3339")]
    pub received_at: SystemTime,
    /// The Toestemming it was collected under.
    pub consent: ConsentReference,
    /// SHA-256 of the content as received.
    pub content_sha256: ContentDigest,
    /// Via the MedMij network.
    pub channel: Channel,
}

impl Provenance {
    /// Whether `content` is unchanged since it was received.
    pub fn verify(&self, content: &[u8]) -> Integrity {
        integrity(self.content_sha256, content)
    }
}

fn integrity(recorded: ContentDigest, content: &[u8]) -> Integrity {
    let now = ContentDigest::of(content);
    if now == recorded {
        Integrity::Unchanged
    } else {
        Integrity::Changed { recorded, now }
    }
}

/// That an item was placed with a Lezer (UC Delen, CONSENT-4): which Lezer,
/// which Gegevensdienst, when, under which Bevestiging, the SHA-256 of what
/// was sent, and the item's own provenance if it had been collected via
/// MedMij (it travels along).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// The item in the dossier.
    pub item: ItemId,
    /// The Lezer.
    pub lezer: Zorgaanbiedernaam,
    /// The Gegevensdienst, by its GNL Weergavenaam.
    pub gegevensdienst: GegevensdienstNaam,
    /// When it was placed.
    #[serde(with = "serde_rfc3339")]
    pub placed_at: SystemTime,
    /// The Bevestiging it was placed under.
    pub bevestiging: ConsentReference,
    /// SHA-256 of the content as sent.
    pub content_sha256: ContentDigest,
    /// The item's provenance, when it came via MedMij.
    pub origin: Option<Provenance>,
    /// Via the MedMij network.
    pub channel: Channel,
}

impl Placement {
    /// Whether `content` is what was placed.
    pub fn verify(&self, content: &[u8]) -> Integrity {
        integrity(self.content_sha256, content)
    }
}

/// A collected item: its content and its provenance, which cannot be
/// separated from it (CONSENT-4). The content cannot be changed in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectedItem {
    content: Vec<u8>,
    provenance: Provenance,
}

impl CollectedItem {
    /// The item as it arrives from `bron`: records the digest of `content`.
    pub fn receive(
        item: ItemId,
        content: Vec<u8>,
        bron: Zorgaanbiedernaam,
        gegevensdienst: GegevensdienstNaam,
        consent: ConsentReference,
        received_at: SystemTime,
    ) -> Self {
        let provenance = Provenance {
            item,
            bron,
            gegevensdienst,
            received_at,
            consent,
            content_sha256: ContentDigest::of(&content),
            channel: Channel::MedMij,
        };
        Self {
            content,
            provenance,
        }
    }

    /// Puts together an item read back from storage; check it with
    /// [`CollectedItem::verify`].
    pub fn from_parts(content: Vec<u8>, provenance: Provenance) -> Self {
        Self {
            content,
            provenance,
        }
    }

    /// The content.
    pub fn content(&self) -> &[u8] {
        &self.content
    }

    /// Its provenance.
    pub fn provenance(&self) -> &Provenance {
        &self.provenance
    }

    /// Whether the content is unchanged since it was received.
    pub fn verify(&self) -> Integrity {
        self.provenance.verify(&self.content)
    }
}

/// Why a dossier operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DossierError {
    /// An item with this id is already in the dossier.
    #[error("item {0} is already in the dossier (MedMij CONSENT-4)")]
    Duplicate(ItemId),
    /// No item with this id.
    #[error("item {0} is not in the dossier")]
    Unknown(ItemId),
}

/// The PGO's dossier as far as CONSENT-4 and LOG-2 are concerned: which
/// content came via MedMij from which Bron and is unchanged since, and which
/// content was placed with which Lezer. In memory.
#[derive(Debug, Default, Clone)]
pub struct Dossier {
    items: BTreeMap<ItemId, CollectedItem>,
    placements: Vec<Placement>,
}

impl Dossier {
    /// An empty dossier.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a collected item.
    pub fn collect(&mut self, item: CollectedItem) -> Result<(), DossierError> {
        let id = item.provenance.item.clone();
        if self.items.contains_key(&id) {
            return Err(DossierError::Duplicate(id));
        }
        self.items.insert(id, item);
        Ok(())
    }

    /// Records that item `id` was placed with `lezer`; its provenance travels
    /// along.
    pub fn place(
        &mut self,
        id: &ItemId,
        lezer: Zorgaanbiedernaam,
        gegevensdienst: GegevensdienstNaam,
        bevestiging: ConsentReference,
        placed_at: SystemTime,
    ) -> Result<&Placement, DossierError> {
        let item = self
            .items
            .get(id)
            .ok_or_else(|| DossierError::Unknown(id.clone()))?;
        self.placements.push(Placement {
            item: id.clone(),
            lezer,
            gegevensdienst,
            placed_at,
            bevestiging,
            content_sha256: ContentDigest::of(&item.content),
            origin: Some(item.provenance.clone()),
            channel: Channel::MedMij,
        });
        // Just pushed, so never the error.
        self.placements
            .last()
            .ok_or_else(|| DossierError::Unknown(id.clone()))
    }

    /// Every collected item, by id.
    pub fn items(&self) -> impl Iterator<Item = &CollectedItem> {
        self.items.values()
    }

    /// Every placement, in the order they were made.
    pub fn placements(&self) -> &[Placement] {
        &self.placements
    }

    /// Puts back a placement read from an export (CONSENT-7); the caller
    /// has checked that its item is in the dossier.
    pub(crate) fn restore_placement(&mut self, placement: Placement) {
        self.placements.push(placement);
    }

    /// The item with this id.
    pub fn item(&self, id: &ItemId) -> Option<&CollectedItem> {
        self.items.get(id)
    }

    /// Whether item `id` is unchanged since it was received.
    pub fn verify(&self, id: &ItemId) -> Result<Integrity, DossierError> {
        self.items
            .get(id)
            .map(CollectedItem::verify)
            .ok_or_else(|| DossierError::Unknown(id.clone()))
    }

    /// The items that came via MedMij from `bron`.
    pub fn collected_from<'a>(
        &'a self,
        bron: &'a Zorgaanbiedernaam,
    ) -> impl Iterator<Item = &'a CollectedItem> + 'a {
        self.items
            .values()
            .filter(move |i| &i.provenance.bron == bron)
    }

    /// What was placed with `lezer`.
    pub fn placed_with<'a>(
        &'a self,
        lezer: &'a Zorgaanbiedernaam,
    ) -> impl Iterator<Item = &'a Placement> + 'a {
        self.placements.iter().filter(move |p| &p.lezer == lezer)
    }
}
