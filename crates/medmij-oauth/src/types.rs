//! The OAuth values of this crate: `state` and the authenticated subject. The
//! MedMij nouns (ClientId, Zorgaanbiedernaam, ScopeGegevensdienstId, Scope,
//! UseCase) are those of medmij-types, re-exported from the crate root.

use std::fmt;
use std::sync::Arc;

/// Why a `state` or subject value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// `state` must be 1..512 characters of RFC 6749 VSCHAR (MedMij OAUTH-10).
    #[error("state must be 1..512 printable ASCII characters (MedMij OAUTH-10, RFC 6749 A.5)")]
    State,
    /// A subject must be a non-empty opaque identifier.
    #[error("subject must not be empty")]
    Subject,
}

/// The OAuth `state` value (MedMij OAUTH-10): 1..512 characters of RFC 6749 VSCHAR
/// (`%x20-7E`). The AS returns it unchanged; the client checks it.
#[derive(Clone, PartialEq, Eq)]
pub struct State(String);

impl State {
    /// Parses a `state` value.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        if (1..=512).contains(&s.len()) && s.bytes().all(|c| (0x20..=0x7e).contains(&c)) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ValueError::State)
        }
    }

    /// The value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The state is a CSRF secret of the person's session: keep it out of logs (MedMij LOG-4).
        f.write_str("State(<redacted>)")
    }
}

/// The person as the authorization server's authenticator identified them: an opaque,
/// server-local identifier (MedMij OAUTH-11: no BSN or other person identifier travels
/// between gateways, the tokens stand for the person).
///
/// `Debug` redacts the value (MedMij LOG-4).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Subject(Arc<str>);

impl Subject {
    /// Wraps a non-empty identifier.
    pub fn new(id: impl Into<String>) -> Result<Self, ValueError> {
        let id = id.into();
        if id.is_empty() {
            Err(ValueError::Subject)
        } else {
            Ok(Self(Arc::from(id)))
        }
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Subject(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_vschar() {
        assert!(State::parse("abc DEF~!").is_ok());
        assert!(State::parse("").is_err());
        assert!(State::parse("a\u{7f}").is_err());
        assert!(State::parse("é").is_err());
        assert!(State::parse(&"a".repeat(513)).is_err());
        assert_eq!(
            format!("{:?}", State::parse("geheim").unwrap()),
            "State(<redacted>)"
        );
    }
}
