//! The 2.x tracing identifiers (MedMij OAUTH-21): `MedMij-Request-ID`, a new
//! UUID v4 per request ([`RequestId`], the `trace_id` of a LOG-6 chain
//! event) and `X-Correlation-ID`, one UUID v4 per flow ([`CorrelationId`],
//! the `session_id` of a LOG-6 chain event). Defined once here because
//! medmij-oauth sends and checks them and medmij-log writes them.
//!
//! Only the canonical lowercase text of a version 4 UUID (RFC 9562 variant)
//! is accepted. Drawing a fresh identifier needs randomness, which this crate
//! does not have: [`RequestId::from_random_bytes`] turns 16 random bytes from
//! the caller's CSPRNG into one (medmij-oauth does so).

use crate::{FacetViolation, InvalidValue, RuleId};
use std::fmt;

/// The canonical text of a UUID v4: 8-4-4-4-12 lowercase hex digits, the
/// version digit `4`, the variant digit one of `8 9 a b` (MedMij OAUTH-21).
pub const UUID_V4_PATTERN: &str =
    "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

/// Whether `b` is the canonical lowercase text of a UUID v4.
fn is_canonical_v4(b: &[u8; 36]) -> bool {
    b.iter().enumerate().all(|(i, &c)| match i {
        8 | 13 | 18 | 23 => c == b'-',
        14 => c == b'4',
        19 => matches!(c, b'8' | b'9' | b'a' | b'b'),
        _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
    })
}

/// The canonical text of the UUID v4 made of `bytes` (version and variant bits set).
fn v4_text(mut bytes: [u8; 16]) -> [u8; 36] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    if let Some(b) = bytes.get_mut(6) {
        *b = (*b & 0x0f) | 0x40;
    }
    if let Some(b) = bytes.get_mut(8) {
        *b = (*b & 0x3f) | 0x80;
    }
    let mut out = [b'-'; 36];
    let mut slots = out
        .iter_mut()
        .enumerate()
        .filter(|(i, _)| !matches!(i, 8 | 13 | 18 | 23))
        .map(|(_, s)| s);
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            if let (Some(slot), Some(&h)) = (slots.next(), HEX.get(usize::from(nibble))) {
                *slot = h;
            }
        }
    }
    out
}

macro_rules! trace_id {
    ($(#[$doc:meta])* $name:ident, $header:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; 36]);

        impl $name {
            /// The HTTP header (and, on the authorization request, query parameter) that
            /// carries it (MedMij OAUTH-21).
            pub const HEADER: &'static str = $header;
            /// The rule that defines it.
            pub const RULE: RuleId = RuleId::Oauth21;

            /// Checks `value`: the canonical lowercase text of a UUID v4, nothing else.
            pub fn new(value: &str) -> Result<Self, InvalidValue> {
                match <&[u8; 36]>::try_from(value.as_bytes()) {
                    Ok(b) if is_canonical_v4(b) => Ok(Self(*b)),
                    _ => Err(InvalidValue::new(
                        stringify!($name),
                        value,
                        FacetViolation::Pattern { pattern: UUID_V4_PATTERN },
                        Self::RULE,
                    )),
                }
            }

            /// The identifier made of 16 bytes from a CSPRNG: the version and variant
            /// bits are set, the other 122 bits kept.
            #[must_use]
            pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
                Self(v4_text(bytes))
            }

            /// The canonical text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                // Only ASCII is ever stored (checked or written above).
                std::str::from_utf8(&self.0).unwrap_or_default()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidValue;
            fn from_str(s: &str) -> Result<Self, InvalidValue> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidValue;
            fn try_from(s: &str) -> Result<Self, InvalidValue> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(s: String) -> Result<Self, InvalidValue> {
                Self::new(&s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::new(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

trace_id!(
    /// `MedMij-Request-ID`: the identifier of one request, a fresh UUID v4 for every
    /// request (MedMij OAUTH-21, OAUTH-23); the `trace_id` of a chain-monitoring event
    /// (LOG-6). Not a secret.
    RequestId,
    "MedMij-Request-ID"
);

trace_id!(
    /// `X-Correlation-ID`: the identifier of one flow, one UUID v4 for all its requests
    /// (MedMij OAUTH-21, OAUTH-23); the `session_id` of a chain-monitoring event (LOG-6).
    /// Not a secret.
    CorrelationId,
    "X-Correlation-ID"
);

#[cfg(test)]
mod tests {
    mod oauth_21 {
        use crate::{CorrelationId, RequestId, RuleId};
        use proptest::prelude::*;

        #[test]
        fn canonical_lowercase_v4_only() {
            let ok = "0d6f3c1e-8a51-4f7e-9d0a-2b3c4d5e6f70";
            assert_eq!(RequestId::new(ok).unwrap().as_str(), ok);
            assert_eq!(CorrelationId::new(ok).unwrap().to_string(), ok);
            for bad in [
                "",
                "0D6F3C1E-8A51-4F7E-9D0A-2B3C4D5E6F70", // upper case
                "0d6f3c1e-8a51-1f7e-9d0a-2b3c4d5e6f70", // version 1
                "0d6f3c1e-8a51-4f7e-cd0a-2b3c4d5e6f70", // variant c
                "0d6f3c1e8a514f7e9d0a2b3c4d5e6f70",     // no hyphens
                "{0d6f3c1e-8a51-4f7e-9d0a-2b3c4d5e6f70}", // braces
                "0d6f3c1e-8a51-4f7e-9d0a-2b3c4d5e6f7g", // not hex
                "0d6f3c1e-8a51-4f7e-9d0a-2b3c4d5e6f70 ", // trailing space
                "0d6f3c1e_8a51-4f7e-9d0a-2b3c4d5e6f70", // wrong separator
            ] {
                let e = RequestId::new(bad).unwrap_err();
                assert_eq!(e.rule, RuleId::Oauth21, "{bad:?}");
                assert!(CorrelationId::new(bad).is_err(), "{bad:?}");
            }
        }

        proptest! {
            // Any 16 random bytes make a valid id that reads back as itself.
            #[test]
            fn random_bytes_make_a_valid_v4(bytes in any::<[u8; 16]>()) {
                let id = RequestId::from_random_bytes(bytes);
                prop_assert_eq!(RequestId::new(id.as_str()).unwrap(), id);
                let mut expect = bytes;
                expect[6] = (expect[6] & 0x0f) | 0x40;
                expect[8] = (expect[8] & 0x3f) | 0x80;
                let hex: String = expect.iter().map(|b| format!("{b:02x}")).collect();
                prop_assert_eq!(id.as_str().replace('-', ""), hex);
            }

            // The check agrees with a straightforward reading of the pattern.
            #[test]
            fn the_check_agrees_with_the_pattern(s in "[0-9a-fA-F-]{36}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}") {
                let b = s.as_bytes();
                let hex = |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
                let expect = b.len() == 36
                    && (0..36).all(|i| match i {
                        8 | 13 | 18 | 23 => b[i] == b'-',
                        14 => b[i] == b'4',
                        19 => matches!(b[i], b'8' | b'9' | b'a' | b'b'),
                        _ => hex(b[i]),
                    });
                prop_assert_eq!(RequestId::new(&s).is_ok(), expect);
            }
        }
    }
}
