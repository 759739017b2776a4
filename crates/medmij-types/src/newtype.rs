//! The one newtype macro: every text noun of this crate gets the same
//! constructor, accessors and traits from it.

/// Number of Unicode characters (XML Schema counts lengths in characters).
#[inline]
pub(crate) fn char_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// Checks the `minLength`/`maxLength` facets, counted in characters. Inlined
/// (every list value and every request parameter goes through it); the error
/// is built out of line.
#[inline]
pub(crate) fn check_len(
    type_name: &'static str,
    s: &str,
    min: usize,
    max: usize,
    rule: crate::RuleId,
) -> Result<(), crate::InvalidValue> {
    let len = char_len(s);
    if len < min || len > max {
        return Err(len_error(type_name, s, min, max, len, rule));
    }
    Ok(())
}

/// The error of [`check_len`].
#[cold]
#[inline(never)]
fn len_error(
    type_name: &'static str,
    s: &str,
    min: usize,
    max: usize,
    len: usize,
    rule: crate::RuleId,
) -> crate::InvalidValue {
    use crate::{FacetViolation, InvalidValue};
    let violation = if len < min {
        FacetViolation::TooShort { min, len }
    } else {
        FacetViolation::TooLong { max, len }
    };
    InvalidValue::new(type_name, s, violation, rule)
}

/// Checks that `s` holds only XML 1.0 characters (the `Char` production, XML 1.0 §2.2).
/// Every list noun is an `xs:string` (or derived from it), whose value space holds only
/// those characters, so a value with another one could never stand in a list: the list
/// that carried it would not be XML (MedMij LISTS-7). The scan is the one medmij-lists
/// runs over a list's text ([`crate::first_non_xml_char`]).
#[inline]
pub(crate) fn check_xml_chars(
    type_name: &'static str,
    s: &str,
    rule: crate::RuleId,
) -> Result<(), crate::InvalidValue> {
    match crate::scan::first_non_xml_char(s) {
        None => Ok(()),
        Some((offset, found)) => Err(crate::InvalidValue::new(
            type_name,
            s,
            crate::FacetViolation::Character {
                found,
                at: s.get(..offset).map_or(0, |p| p.chars().count()) + 1,
            },
            rule,
        )),
    }
}

/// Defines a validated text newtype: `new(&str)` checks that the value holds only
/// XML characters ([`check_xml_chars`]), then checks it with `check`; `as_str`, `RULE`, `Debug`, `Display`, `AsRef<str>`,
/// `Borrow<str>`, `FromStr`, `TryFrom<&str>`, `TryFrom<String>`,
/// `From<T> for String`, comparison with `str`, and serde (feature `serde`,
/// as the text; deserializing validates).
macro_rules! text_newtype {
    (
        $(#[$meta:meta])*
        $name:ident, repr = $repr:ty, rule = $rule:expr, check = $check:expr
    ) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name($repr);

        impl $name {
            /// Checks `value` against every facet of the type.
            #[inline]
            pub fn new(value: &str) -> Result<Self, $crate::InvalidValue> {
                $crate::newtype::check_xml_chars(stringify!($name), value, $rule)?;
                let check: fn(&str) -> Result<(), $crate::InvalidValue> = $check;
                check(value)?;
                Ok(Self(<$repr>::from(value)))
            }

            /// The value as text.
            #[inline]
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The MedMij rule that defines this type.
            pub const RULE: $crate::RuleId = $rule;
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), &*self.0)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            #[inline]
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl ::std::borrow::Borrow<str> for $name {
            #[inline]
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::InvalidValue;
            fn from_str(s: &str) -> Result<Self, $crate::InvalidValue> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = $crate::InvalidValue;
            fn try_from(s: &str) -> Result<Self, $crate::InvalidValue> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::InvalidValue;
            fn try_from(s: String) -> Result<Self, $crate::InvalidValue> {
                Self::new(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                String::from(&*v.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                &*self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                &*self.0 == *other
            }
        }

        #[cfg(feature = "serde")]
        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                Self::new(&s).map_err(::serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use text_newtype;
