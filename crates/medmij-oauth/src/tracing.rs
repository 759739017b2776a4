//! The 2.x tracing identifiers (MedMij OAUTH-21): `MedMij-Request-ID` (a new UUID v4 per
//! request) and `X-Correlation-ID` (one UUID v4 per flow).

use crate::secret::{RandomSource, ThreadRandom};
pub use medmij_types::{CorrelationId, RequestId};

/// The name of the per-request identifier: a query parameter on the authorization request,
/// an HTTP header on token, refresh and resource requests and on responses (MedMij OAUTH-21).
pub const REQUEST_ID: &str = RequestId::HEADER;
/// The name of the per-flow identifier (MedMij OAUTH-21).
pub const CORRELATION_ID: &str = CorrelationId::HEADER;

/// Draws fresh tracing identifiers (MedMij OAUTH-21): [`RequestId`] and [`CorrelationId`]
/// are defined in medmij-types, which has no randomness; this trait adds it.
pub trait NewTraceId: Sized {
    /// A fresh random UUID v4 from `random`.
    fn random(random: &impl RandomSource) -> Self;
    /// A fresh random UUID v4 from the thread CSPRNG.
    fn new_random() -> Self {
        Self::random(&ThreadRandom)
    }
}

impl NewTraceId for RequestId {
    fn random(random: &impl RandomSource) -> Self {
        let mut bytes = [0u8; 16];
        random.fill(&mut bytes);
        Self::from_random_bytes(bytes)
    }
}

impl NewTraceId for CorrelationId {
    fn random(random: &impl RandomSource) -> Self {
        let mut bytes = [0u8; 16];
        random.fill(&mut bytes);
        Self::from_random_bytes(bytes)
    }
}

/// The two tracing identifiers of one 2.x request (MedMij OAUTH-21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceIds {
    /// `MedMij-Request-ID`.
    pub request_id: RequestId,
    /// `X-Correlation-ID`.
    pub correlation_id: CorrelationId,
}

/// Why the tracing identifiers of a 2.x request are not acceptable (MedMij OAUTH-21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The identifier is missing.
    #[error("{0} is missing (MedMij OAUTH-21)")]
    Missing(&'static str),
    /// The identifier is not a canonical lowercase UUID v4.
    #[error("{0} is not a UUID v4 (MedMij OAUTH-21)")]
    Malformed(&'static str),
}

impl TraceIds {
    /// Fresh identifiers for a new flow: a new request id and a new correlation id.
    pub fn new_flow() -> Self {
        Self {
            request_id: RequestId::new_random(),
            correlation_id: CorrelationId::new_random(),
        }
    }

    /// The identifiers of the next request of the same flow: a new request id, the same
    /// correlation id (MedMij OAUTH-21).
    #[must_use]
    pub fn next_request(&self) -> Self {
        Self {
            request_id: RequestId::new_random(),
            correlation_id: self.correlation_id,
        }
    }

    /// Checks both values (each `None` when absent or empty).
    pub fn parse(
        request_id: Option<&str>,
        correlation_id: Option<&str>,
    ) -> Result<Self, TraceError> {
        let request_id = match request_id.filter(|v| !v.is_empty()) {
            None => return Err(TraceError::Missing(REQUEST_ID)),
            Some(v) => RequestId::new(v).map_err(|_| TraceError::Malformed(REQUEST_ID))?,
        };
        let correlation_id = match correlation_id.filter(|v| !v.is_empty()) {
            None => return Err(TraceError::Missing(CORRELATION_ID)),
            Some(v) => CorrelationId::new(v).map_err(|_| TraceError::Malformed(CORRELATION_ID))?,
        };
        Ok(Self {
            request_id,
            correlation_id,
        })
    }

    /// The two HTTP headers for token, refresh and resource requests (MedMij OAUTH-21).
    pub fn headers(&self) -> [(&'static str, String); 2] {
        [
            (REQUEST_ID, self.request_id.to_string()),
            (CORRELATION_ID, self.correlation_id.to_string()),
        ]
    }
}
