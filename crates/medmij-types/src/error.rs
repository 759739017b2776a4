//! [`InvalidValue`]: why a value is not a valid MedMij noun.

use crate::RuleId;

/// Why a value does not satisfy its type (an XML Schema facet of the list
/// schemas or a lexical rule of the rulebook).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FacetViolation {
    /// Fewer characters than `minLength`.
    #[error("has {len} characters, fewer than the minimum {min}")]
    TooShort {
        /// The minimum length in characters.
        min: usize,
        /// The actual length in characters.
        len: usize,
    },
    /// More characters than `maxLength`.
    #[error("has {len} characters, more than the maximum {max}")]
    TooLong {
        /// The maximum length in characters.
        max: usize,
        /// The actual length in characters.
        len: usize,
    },
    /// The whole value does not match the `pattern` facet.
    #[error("does not match the pattern {pattern}")]
    Pattern {
        /// The pattern, as written in the schema or the rulebook.
        pattern: &'static str,
    },
    /// A character that the type does not allow, at a 1-based character
    /// position.
    #[error("has {found:?} at character {at}, which is not allowed here")]
    Character {
        /// The character.
        found: char,
        /// Its 1-based position, counted in characters.
        at: usize,
    },
    /// Not a valid `xs:dateTime`.
    #[error("is not an xs:dateTime: {0}")]
    DateTime(&'static str),
    /// Not a valid `xs:positiveInteger`.
    #[error("is not an xs:positiveInteger: {0}")]
    PositiveInteger(&'static str),
    /// Not a valid scope; the payload says how.
    #[error("is not a valid scope: {0}")]
    Scope(crate::ScopeError),
}

/// A value that failed its type, as returned by every constructor of this
/// crate: which type, the value (shortened), what is wrong, and the rule
/// that defines the type.
///
/// ```
/// use medmij_types::{Hostname, RuleId};
/// let err = Hostname::new("Localhost").unwrap_err();
/// assert_eq!(err.type_name, "Hostname");
/// assert_eq!(err.rule, RuleId::Lists4);
/// assert!(err.to_string().contains("(MedMij LISTS-4)"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{type_name} {value:?} {violation} (MedMij {rule})")]
pub struct InvalidValue {
    /// The MedMij type that was being constructed, e.g. `"Hostname"`.
    pub type_name: &'static str,
    /// The offending value (truncated to 200 characters).
    pub value: String,
    /// What is wrong with it.
    pub violation: FacetViolation,
    /// The rule that defines the type.
    pub rule: RuleId,
}

impl InvalidValue {
    /// Builds the error; `value` is shortened to 200 characters.
    pub fn new(
        type_name: &'static str,
        value: &str,
        violation: FacetViolation,
        rule: RuleId,
    ) -> Self {
        Self {
            type_name,
            value: shorten(value),
            violation,
            rule,
        }
    }
}

/// `value` cut to its first 200 characters and `…` if it is longer (the
/// body of [`InvalidValue::new`], a name that cargo-mutants mutates).
fn shorten(value: &str) -> String {
    match value.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", value.get(..cut).unwrap_or_default()),
        None => value.to_owned(),
    }
}
