//! 2.x long-lasting consent (MedMij OAUTH-19, OAUTH-22): the consent behind a refresh-token
//! chain, what a store keeps of a 2.x code, and the outcome of a rotation.

use crate::secret::{RandomSource, draw_uuid, parse_canonical_v4};
use crate::tracing::CorrelationId;
use crate::{ClientId, Scope, Subject, UseCase};
use std::fmt;
use std::time::SystemTime;
use uuid::Uuid;

/// The identifier of one long-lasting consent (one refresh-token rotation chain), shown to
/// the person in the overview and used to withdraw it (MedMij OAUTH-22). A random UUID v4;
/// not a credential (it only works together with the authenticated person).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConsentId(Uuid);

impl ConsentId {
    /// Draws a new id.
    pub fn random(random: &impl RandomSource) -> Self {
        Self(draw_uuid(random))
    }
    /// Parses the canonical lowercase UUID v4 text.
    pub fn parse(s: &str) -> Option<Self> {
        parse_canonical_v4(s).map(ConsentId)
    }
    /// The 16 bytes (for stores).
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
    /// From 16 stored bytes.
    pub fn from_bytes(b: [u8; 16]) -> Self {
        Self(Uuid::from_bytes(b))
    }
}

impl fmt::Display for ConsentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for ConsentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConsentId({})", self.0.hyphenated())
    }
}

/// What a store keeps about a 2.x code besides its [`CodeRecord`](crate::CodeRecord).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeV2 {
    /// The `scope` text of the authorization request, echoed in the token response (MedMij
    /// OAUTH-20), e.g. `umcharderwijk` or `umcharderwijk onbehalfof`.
    pub wire_scope: String,
    /// The person chose consent for an indefinite period (MedMij CONSENT-6): the token
    /// endpoint issues a refresh token (OAUTH-19).
    pub long_lasting: bool,
    /// The flow's `X-Correlation-ID` (MedMij OAUTH-21).
    pub correlation_id: CorrelationId,
}

/// One long-lasting consent: the consent behind a refresh-token rotation chain (MedMij
/// OAUTH-19).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    /// The chain's id.
    pub id: ConsentId,
    /// The client (PGO GW).
    pub client_id: ClientId,
    /// The person.
    pub subject: Subject,
    /// Every Gegevensdienst the consent covers, as a scope of pairs (what resource checks use).
    pub scope: Scope,
    /// The `scope` text of the authorization request (token responses echo it, MedMij OAUTH-20).
    pub wire_scope: String,
    /// Verzamelen (2.x refresh tokens exist for Verzamelen only).
    pub use_case: UseCase,
    /// When the consent was given (the first token issued).
    pub granted_at: SystemTime,
}

/// A long-lasting consent as the overview shows it (MedMij OAUTH-22, CONSENT-6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongLastingConsent {
    /// The consent.
    pub record: ConsentRecord,
    /// When its refresh token was last rotated (or first issued).
    pub last_rotation: SystemTime,
    /// When it lapses unless used before: `last_rotation` + the refresh lifetime.
    pub expires_at: SystemTime,
}

/// The outcome of presenting a refresh token ([`TokenStore::rotate_refresh`](crate::TokenStore::rotate_refresh)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Rotation {
    /// The token was valid: it is retired, the new access and refresh tokens are stored.
    Rotated(ConsentRecord),
    /// The token was already retired: a breach; the whole chain is revoked now (MedMij OAUTH-19).
    Replayed,
    /// The chain lapsed: no use for the refresh lifetime (MedMij OAUTH-19).
    Expired,
    /// The chain was revoked (withdrawal, breach).
    Revoked,
    /// The token belongs to another client; nothing changed.
    OtherClient,
    /// No such refresh token.
    Unknown,
}
