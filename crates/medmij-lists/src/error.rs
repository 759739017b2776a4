//! Typed errors: what was wrong, where (line:column and element path) and
//! which MedMij rule it breaks.

use std::fmt;

/// The rule an error breaks (a [`RuleId`] of medmij-types). Schema errors
/// carry the rule that defines the element or value (`LISTS-1` …); broken
/// XML and hostile input (DOCTYPE, limits, non-UTF-8) carry `LISTS-7`: a
/// list that cannot be validated is not used.
pub use medmij_types::{FacetViolation, InvalidValue, RuleId};

/// A place in the input document: 1-based line and column (in characters)
/// and the 0-based byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Position {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in Unicode characters.
    pub column: u32,
    /// 0-based byte offset into the input.
    pub offset: usize,
}

impl Position {
    /// Computes the line and column of byte `offset` in `input`.
    ///
    /// Offsets past the end are clamped to the end of the input.
    pub fn locate(input: &[u8], offset: usize) -> Self {
        locate_sorted(input, &[offset]).pop().unwrap_or_default()
    }
}

/// The positions of ascending `offsets`, in one pass over `input`.
fn locate_sorted(input: &[u8], offsets: &[usize]) -> Vec<Position> {
    let (mut line, mut column, mut at) = (1u32, 1u32, 0usize);
    let mut out = Vec::with_capacity(offsets.len());
    for &offset in offsets {
        let offset = offset.min(input.len()).max(at);
        for &b in input.get(at..offset).unwrap_or_default() {
            if b == b'\n' {
                line = line.saturating_add(1);
                column = 1;
            } else if (b & 0xC0) != 0x80 {
                // Columns count characters: every byte that is not a UTF-8
                // continuation byte starts one.
                column = column.saturating_add(1);
            }
        }
        at = offset;
        out.push(Position {
            line,
            column,
            offset,
        });
    }
    out
}

/// Fills in line and column of every position in `errors` (recorded as byte
/// offsets while parsing) with one sweep over the input, so that many
/// errors near the end of a large hostile input cost one pass, not one pass
/// each.
pub(crate) fn resolve_positions(input: &[u8], errors: &mut [ParseError]) {
    let mut offsets: Vec<usize> = Vec::with_capacity(errors.len() * 2);
    for e in errors.iter() {
        offsets.push(e.position.offset);
        if let ErrorKind::Duplicate { first, .. } = &e.kind {
            offsets.push(first.offset);
        }
    }
    offsets.sort_unstable();
    offsets.dedup();
    let positions = locate_sorted(input, &offsets);
    let find = |p: Position| {
        offsets
            .binary_search(&p.offset)
            .ok()
            .and_then(|i| positions.get(i).copied())
            .unwrap_or(p)
    };
    for e in errors.iter_mut() {
        e.position = find(e.position);
        if let ErrorKind::Duplicate { first, .. } = &mut e.kind {
            *first = find(*first);
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// The kind of a [`ParseError`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is larger than [`crate::ParseOptions::max_input_size`].
    TooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The input is not UTF-8 (or declares another encoding).
    NotUtf8,
    /// A character that XML 1.0 does not allow (such as a control character).
    IllegalCharacter(char),
    /// A DOCTYPE (and with it DTDs and entity declarations) is refused.
    Doctype,
    /// The XML is not well-formed.
    Malformed(String),
    /// The root element is not a list this crate knows, or not in a list
    /// namespace.
    UnknownRoot {
        /// The root element's local name.
        name: String,
        /// The root element's namespace, if any.
        namespace: Option<String>,
    },
    /// An element the schema does not allow at this place.
    UnexpectedElement {
        /// The element found (local name).
        found: String,
        /// What the schema allows here.
        expected: String,
    },
    /// An element in the wrong namespace (or in none).
    WrongNamespace {
        /// The element's local name.
        element: String,
        /// The namespace it is in, if any.
        found: Option<String>,
        /// The namespace it must be in.
        expected: &'static str,
    },
    /// A required element is missing.
    MissingElement {
        /// The missing element's name.
        expected: &'static str,
    },
    /// Character data in element-only content.
    UnexpectedText,
    /// An attribute that the schema does not declare.
    UnexpectedAttribute {
        /// The attribute's qualified name.
        name: String,
    },
    /// A value that fails its simple type.
    InvalidValue {
        /// The element that holds the value.
        element: &'static str,
        /// The value (truncated to 200 characters).
        value: String,
        /// What is wrong.
        violation: FacetViolation,
    },
    /// A value that must be unique occurs again (LISTS-2, LISTS-4, LISTS-5, LISTS-6,
    /// LISTS-15).
    Duplicate {
        /// The element that holds the value.
        element: &'static str,
        /// The duplicated value.
        value: String,
        /// Where the value first occurred.
        first: Position,
    },
    /// More elements or deeper nesting than [`crate::ParseOptions`] allows.
    LimitExceeded {
        /// Which limit: `"max_depth"` or `"max_entries"`.
        limit: &'static str,
        /// The configured value.
        value: usize,
    },
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { limit } => {
                write!(f, "input is larger than the limit of {limit} bytes")
            }
            Self::NotUtf8 => f.write_str("input is not UTF-8"),
            Self::IllegalCharacter(c) => {
                write!(f, "character U+{:04X} is not allowed in XML", *c as u32)
            }
            Self::Doctype => f.write_str("DOCTYPE declarations are refused"),
            Self::Malformed(m) => write!(f, "malformed XML: {m}"),
            Self::UnknownRoot { name, namespace } => match namespace {
                Some(ns) => write!(f, "unknown list root element {name} in namespace {ns}"),
                None => write!(f, "unknown list root element {name} (no namespace)"),
            },
            Self::UnexpectedElement { found, expected } => {
                write!(f, "unexpected element {found}; expected {expected}")
            }
            Self::WrongNamespace {
                element,
                found,
                expected,
            } => match found {
                Some(ns) => write!(
                    f,
                    "element {element} is in namespace {ns}, expected {expected}"
                ),
                None => write!(
                    f,
                    "element {element} is in no namespace, expected {expected}"
                ),
            },
            Self::MissingElement { expected } => {
                write!(f, "missing element {expected}")
            }
            Self::UnexpectedText => f.write_str("text is not allowed here"),
            Self::UnexpectedAttribute { name } => {
                write!(f, "attribute {name} is not allowed")
            }
            Self::InvalidValue {
                element,
                value,
                violation,
            } => write!(f, "{element} {value:?} {violation}"),
            Self::Duplicate {
                element,
                value,
                first,
            } => write!(f, "duplicate {element} {value:?} (first at {first})"),
            Self::LimitExceeded { limit, value } => {
                write!(f, "limit {limit} = {value} exceeded")
            }
        }
    }
}

/// One error in a list document.
///
/// Displayed as `line:column: path: message (MedMij RULE)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What was wrong.
    pub kind: ErrorKind,
    /// The rule that was broken.
    pub rule: RuleId,
    /// Where in the input.
    pub position: Position,
    /// The element path, e.g. `/Zorgaanbiederslijst/Zorgaanbieders/Zorgaanbieder[3]/Zorgaanbiedernaam`.
    pub path: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {} (MedMij {})", self.position, self.kind, self.rule)
        } else {
            write!(
                f,
                "{}: {}: {} (MedMij {})",
                self.position, self.path, self.kind, self.rule
            )
        }
    }
}

impl std::error::Error for ParseError {}

/// All errors found in one document (at least one).
///
/// Structural and well-formedness errors stop the parser; value and
/// uniqueness errors are collected (up to
/// [`crate::ParseOptions::max_errors`]) so that one run reports them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseErrors(pub(crate) Vec<ParseError>);

/// What [`ParseErrors::first`] would return for an empty collection, which
/// the parser never builds.
static NO_ERROR: ParseError = ParseError {
    kind: ErrorKind::Malformed(String::new()),
    rule: RuleId::Lists7,
    position: Position {
        line: 1,
        column: 1,
        offset: 0,
    },
    path: String::new(),
};

impl ParseErrors {
    /// The errors, in document order.
    pub fn errors(&self) -> &[ParseError] {
        &self.0
    }

    /// The first error.
    pub fn first(&self) -> &ParseError {
        // Every constructor records at least one error; the fallback only
        // keeps this accessor total.
        self.0.first().unwrap_or(&NO_ERROR)
    }
}

impl IntoIterator for ParseErrors {
    type Item = ParseError;
    type IntoIter = std::vec::IntoIter<ParseError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Display for ParseErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseErrors {}

/// Reading a list from an [`std::io::Read`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The reader failed.
    #[error("reading the list failed: {0}")]
    Io(#[from] std::io::Error),
    /// The document is invalid.
    #[error("{0}")]
    Invalid(#[from] ParseErrors),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_counts_lines_and_characters() {
        let input = "ab\ncé€d\n".as_bytes();
        assert_eq!(
            Position::locate(input, 0),
            Position {
                line: 1,
                column: 1,
                offset: 0
            }
        );
        let d = input.iter().position(|&b| b == b'd').unwrap();
        let p = Position::locate(input, d);
        assert_eq!((p.line, p.column), (2, 4));
        let p = Position::locate(input, 10_000);
        assert_eq!(p.offset, input.len());
        assert_eq!((p.line, p.column), (3, 1));
    }

    proptest::proptest! {
        /// One sweep gives every error, and every duplicate's first
        /// occurrence, the same position as locating each offset alone.
        #[test]
        fn one_sweep_equals_locating_each(
            text in "(a|é|\n|𝄞|x){0,200}",
            offsets in proptest::collection::vec(0usize..900, 1..8),
        ) {
            let input = text.as_bytes();
            let mut errors: Vec<ParseError> = offsets
                .iter()
                .map(|&o| ParseError {
                    kind: ErrorKind::Duplicate {
                        element: "Hostname",
                        value: String::new(),
                        first: Position { offset: o / 2, ..Position::default() },
                    },
                    rule: RuleId::Lists6,
                    position: Position { offset: o, ..Position::default() },
                    path: String::new(),
                })
                .collect();
            resolve_positions(input, &mut errors);
            for (e, &o) in errors.iter().zip(&offsets) {
                proptest::prop_assert_eq!(e.position, Position::locate(input, o));
                let ErrorKind::Duplicate { first, .. } = &e.kind else { unreachable!() };
                proptest::prop_assert_eq!(*first, Position::locate(input, o / 2));
            }
        }
    }
}
