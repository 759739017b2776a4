//! Validated identifiers and text variables (CONSENT-1, CONSENT-4). The MedMij
//! nouns (Zorgaanbiedernaam, ClientId, Scope) are those of medmij-types.

use std::fmt;

use medmij_types::RuleId;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// What was wrong with a value handed to one of this crate's constructors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason} (MedMij {rule})")]
pub struct VariableError {
    /// The variable or field that was refused, e.g. `"Zorgaanbieder"`.
    pub field: &'static str,
    /// Why it was refused.
    pub reason: String,
    /// The rule the check comes from, e.g. `RuleId::Consent1`.
    pub rule: RuleId,
}

impl VariableError {
    fn new(field: &'static str, rule: RuleId, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
            rule,
        }
    }
}

/// Checks a free-text variable that will be shown to the person: present
/// (not empty or only white space), no leading or trailing white space, no
/// control characters, and between `min` and `max` characters.
fn check_display_text(
    field: &'static str,
    rule: RuleId,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), VariableError> {
    if value.trim().is_empty() {
        return Err(VariableError::new(field, rule, "is missing or blank"));
    }
    if value.trim() != value {
        return Err(VariableError::new(
            field,
            rule,
            "has leading or trailing white space",
        ));
    }
    if let Some((i, c)) = value.chars().enumerate().find(|(_, c)| c.is_control()) {
        return Err(VariableError::new(
            field,
            rule,
            format!(
                "has a control character U+{:04X} at character {}",
                c as u32,
                i + 1
            ),
        ));
    }
    let n = value.chars().count();
    if n < min || n > max {
        return Err(VariableError::new(
            field,
            rule,
            format!("is {n} characters long; allowed are {min} to {max}"),
        ));
    }
    Ok(())
}

macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident, $field:literal, $rule:expr, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Smallest accepted length in characters.
            pub const MIN_CHARS: usize = $min;
            /// Largest accepted length in characters.
            pub const MAX_CHARS: usize = $max;

            /// Validates `value` (present, no control characters, no
            /// surrounding white space, sensible length).
            pub fn new(value: impl Into<String>) -> Result<Self, VariableError> {
                let value = value.into();
                check_display_text($field, $rule, &value, $min, $max)?;
                Ok(Self(value))
            }

            /// The value as given (not escaped).
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = VariableError;
            fn try_from(value: String) -> Result<Self, VariableError> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_newtype!(
    /// The care provider's name as the person knows it, from the DVZA's own
    /// relation with the Zorgaanbieder: the first variable of CONSENT-1
    /// (`{naam Zorgaanbieder}`). 1 to 100 characters.
    ZorgaanbiederNaam,
    "naam Zorgaanbieder",
    RuleId::Consent1,
    1,
    100
);

text_newtype!(
    /// The Gegevensdienst as shown to the person: the GNL `Weergavenaam` of
    /// the scope (LISTS-5: 3 to 50 characters), the second variable of
    /// CONSENT-1 (`{MedMij-gegevensdienst}`).
    GegevensdienstNaam,
    "MedMij-gegevensdienst",
    RuleId::Consent1,
    3,
    50
);

text_newtype!(
    /// The PGO supplier: the OCL `OAuthclientOrganisatienaam` of the client
    /// (LISTS-4: 3 to 50 characters), the third variable of CONSENT-1
    /// (`{naam leverancier PGO}`).
    PgoLeverancierNaam,
    "naam leverancier PGO",
    RuleId::Consent1,
    3,
    50
);

macro_rules! ascii_newtype {
    ($(#[$doc:meta])* $name:ident, $field:literal, $rule:expr, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `value`.
            pub fn new(value: impl Into<String>) -> Result<Self, VariableError> {
                let value = value.into();
                let check: fn(&str) -> Result<(), String> = $check;
                check(&value).map_err(|r| VariableError::new($field, $rule, r))?;
                Ok(Self(value))
            }

            /// The value.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = VariableError;
            fn try_from(value: String) -> Result<Self, VariableError> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    };
}

fn token_chars(value: &str, min: usize, max: usize) -> Result<(), String> {
    if value.len() < min || value.len() > max {
        return Err(format!(
            "is {} bytes long; allowed are {min} to {max}",
            value.len()
        ));
    }
    if let Some((i, c)) = value
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')))
    {
        return Err(format!(
            "has {c:?} at byte {}; allowed are A-Z a-z 0-9 - _ . ~",
            i + 1
        ));
    }
    Ok(())
}

ascii_newtype!(
    /// Identifies one run of the OAuth flow (one authorization request,
    /// CONSENT-1: the consent covers exactly this run). 1 to 128 characters of
    /// `A-Z a-z 0-9 - _ . ~`.
    FlowId,
    "flow",
    RuleId::Consent1,
    |v| token_chars(v, 1, 128)
);

impl fmt::Debug for FlowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FlowId({:?})", self.0)
    }
}

impl fmt::Display for FlowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

ascii_newtype!(
    /// The anti-CSRF token the host application generates for the consent
    /// form (RFC 6819 4.4.1.8, OAUTH-10); 16 to 256 characters of
    /// `A-Z a-z 0-9 - _ . ~`. Its `Debug` output does not show the value.
    CsrfToken,
    "csrf_token",
    RuleId::Oauth14,
    |v| token_chars(v, 16, 256)
);

impl fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfToken(..)")
    }
}

impl CsrfToken {
    /// Compares in time independent of where the values differ.
    #[must_use]
    pub fn matches(&self, other: &str) -> bool {
        // Unequal lengths are refused at once (the length is not secret).
        self.0.as_bytes().ct_eq(other.as_bytes()).into()
    }
}

ascii_newtype!(
    /// Identifies one item in the PGO's dossier (CONSENT-4), e.g. a FHIR
    /// resource id; 1 to 256 characters of `A-Z a-z 0-9 - _ . ~`.
    ItemId,
    "item",
    RuleId::Consent4,
    |v| token_chars(v, 1, 256)
);

impl fmt::Debug for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ItemId({:?})", self.0)
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Escapes text for HTML element content and attribute values: `&`, `<`,
/// `>`, `"` and `'`.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::CsrfToken;

    #[test]
    fn csrf_token_matches_only_itself() {
        let t = CsrfToken::new("0123456789abcdefXYZ").unwrap();
        assert!(t.matches("0123456789abcdefXYZ"));
        assert!(!t.matches("0123456789abcdefXYz"));
        assert!(!t.matches("1123456789abcdefXYZ"));
        assert!(!t.matches("0123456789abcdefXY"));
        assert!(!t.matches("0123456789abcdefXYZZ"));
        assert!(!t.matches(""));
    }
}
