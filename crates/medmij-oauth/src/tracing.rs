//! The 2.x tracing identifiers (MedMij OAUTH-21): `MedMij-Request-ID` (a new UUID v4 per
//! request) and `X-Correlation-ID` (one UUID v4 per flow).

use crate::secret::{RandomSource, ThreadRandom, draw_uuid, parse_canonical_v4};
use std::fmt;
use uuid::Uuid;

/// The name of the per-request identifier: a query parameter on the authorization request,
/// an HTTP header on token, refresh and resource requests and on responses (MedMij OAUTH-21).
pub const REQUEST_ID: &str = "MedMij-Request-ID";
/// The name of the per-flow identifier (MedMij OAUTH-21).
pub const CORRELATION_ID: &str = "X-Correlation-ID";

macro_rules! trace_uuid {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(Uuid);

        impl $name {
            /// Parses the canonical lowercase text of a UUID v4; anything else is refused
            /// (MedMij OAUTH-21).
            pub fn parse(s: &str) -> Option<Self> {
                parse_canonical_v4(s).map($name)
            }
            /// A fresh random UUID v4 from the thread CSPRNG.
            pub fn new_random() -> Self {
                Self::random(&ThreadRandom)
            }
            /// A fresh random UUID v4 from `random`.
            pub fn random(random: &impl RandomSource) -> Self {
                $name(draw_uuid(random))
            }
            /// The canonical lowercase text.
            pub fn as_text(&self) -> String {
                self.0.hyphenated().to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0.hyphenated())
            }
        }
    };
}

trace_uuid!(
    /// `MedMij-Request-ID`: the Trace ID of one request (MedMij OAUTH-21, OAUTH-23; LOG-6
    /// `trace_id`). Not a secret.
    RequestId
);
trace_uuid!(
    /// `X-Correlation-ID`: the Session ID of one flow (MedMij OAUTH-21, OAUTH-23; LOG-6
    /// `session_id`). Not a secret.
    CorrelationId
);

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
            Some(v) => RequestId::parse(v).ok_or(TraceError::Malformed(REQUEST_ID))?,
        };
        let correlation_id = match correlation_id.filter(|v| !v.is_empty()) {
            None => return Err(TraceError::Missing(CORRELATION_ID)),
            Some(v) => CorrelationId::parse(v).ok_or(TraceError::Malformed(CORRELATION_ID))?,
        };
        Ok(Self {
            request_id,
            correlation_id,
        })
    }

    /// The two HTTP headers for token, refresh and resource requests (MedMij OAUTH-21).
    pub fn headers(&self) -> [(&'static str, String); 2] {
        [
            (REQUEST_ID, self.request_id.as_text()),
            (CORRELATION_ID, self.correlation_id.as_text()),
        ]
    }
}
