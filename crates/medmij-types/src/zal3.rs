//! The nouns of the ZAL release3 (MedMij LISTS-15, 2.x): [`Aanbiedertype`],
//! [`InterfaceversieId`] and [`MaximaleDuur`].
//!
//! No official schema of release3 is public; the lexical forms here are the
//! project's provisional reading of the rulebook, kept in this one place:
//!
//! | type | provisional lexical form |
//! |---|---|
//! | [`Aanbiedertype`] | any string of 1 to 30 characters (an open set; `ZA` and `BAZB` are known) |
//! | [`InterfaceversieId`] | [`INTERFACEVERSIE_ID_PATTERN`]: three dot-separated runs of ASCII digits, 5 to 30 characters |
//! | [`MaximaleDuur`] | `xs:positiveInteger` up to `u32::MAX` days |

use crate::newtype::{check_len, text_newtype};
use crate::{FacetViolation, InvalidValue, ReleaseLine, RuleId};
use std::cmp::Ordering;
use std::fmt;

type Short = compact_str::CompactString;

/// The pattern of [`InterfaceversieId`] (MedMij LISTS-15, provisional).
pub const INTERFACEVERSIE_ID_PATTERN: &str = "[0-9]+\\.[0-9]+\\.[0-9]+";

text_newtype! {
    /// The kind of data provider of a Zorgaanbieder in the ZAL release3
    /// (MedMij LISTS-15): `ZA` a care provider, `BAZB` a provider without a
    /// treatment relation. An open set: any other value (such as the
    /// announced `APD`) is kept as written. Provisional form: 1 to 30
    /// characters.
    ///
    /// ```
    /// use medmij_types::Aanbiedertype;
    /// assert!(Aanbiedertype::new("ZA").unwrap().is_za());
    /// let apd = Aanbiedertype::new("APD").unwrap();
    /// assert!(!apd.is_known());
    /// assert_eq!(apd.as_str(), "APD");
    /// assert!(Aanbiedertype::new("").is_err());
    /// ```
    Aanbiedertype, repr = Short, rule = RuleId::Lists15, check = |s| check_len("Aanbiedertype", s, 1, 30, RuleId::Lists15)
}

impl Aanbiedertype {
    /// `ZA`: a care provider (Zorgaanbieder).
    pub const ZA: &'static str = "ZA";
    /// `BAZB`: a provider without a treatment relation.
    pub const BAZB: &'static str = "BAZB";

    /// Whether this is `ZA`.
    #[must_use]
    pub fn is_za(&self) -> bool {
        self.0 == Self::ZA
    }

    /// Whether this is `BAZB`.
    #[must_use]
    pub fn is_bazb(&self) -> bool {
        self.0 == Self::BAZB
    }

    /// Whether this is one of the values the rulebook names (`ZA`, `BAZB`).
    #[must_use]
    pub fn is_known(&self) -> bool {
        self.is_za() || self.is_bazb()
    }
}

text_newtype! {
    /// The release an Interfaceversie's endpoints speak, `x.y.z` (MedMij
    /// LISTS-15). Its major number names the release line
    /// ([`InterfaceversieId::release_line`]). Provisional form: the whole
    /// value matches [`INTERFACEVERSIE_ID_PATTERN`], 5 to 30 characters.
    ///
    /// ```
    /// use medmij_types::{InterfaceversieId, ReleaseLine};
    /// let v = InterfaceversieId::new("2.1.0").unwrap();
    /// assert_eq!(v.release_line(), Some(ReleaseLine::V2));
    /// assert_eq!(InterfaceversieId::new("1.4.0").unwrap().release_line(), Some(ReleaseLine::V1));
    /// assert_eq!(InterfaceversieId::new("3.0.0").unwrap().release_line(), None);
    /// assert!(InterfaceversieId::new("1.4").is_err());
    /// ```
    InterfaceversieId, repr = Short, rule = RuleId::Lists15, check = |s| {
        check_len("InterfaceversieId", s, 5, 30, RuleId::Lists15)?;
        if split3(s).is_some() {
            Ok(())
        } else {
            Err(InvalidValue::new(
                "InterfaceversieId",
                s,
                FacetViolation::Pattern { pattern: INTERFACEVERSIE_ID_PATTERN },
                RuleId::Lists15,
            ))
        }
    }
}

/// The three digit runs of `x.y.z`, if `s` has that form.
fn split3(s: &str) -> Option<[&str; 3]> {
    let mut parts = s.split('.');
    let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    (parts.next().is_none() && digits(a) && digits(b) && digits(c)).then_some([a, b, c])
}

/// Compares two runs of ASCII digits by value (leading zeros ignored).
fn cmp_digits(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl InterfaceversieId {
    /// The major, minor and patch numbers as written (digit runs).
    pub fn parts(&self) -> [&str; 3] {
        // The constructor checked the form.
        split3(&self.0).unwrap_or(["", "", ""])
    }

    /// The major number, if it fits in a `u32`.
    pub fn major(&self) -> Option<u32> {
        self.parts()[0].parse().ok()
    }

    /// The release line the major number names (MedMij LISTS-15, "Releases,
    /// side by side"): 1 is [`ReleaseLine::V1`], 2 is [`ReleaseLine::V2`];
    /// any other major is a line these libraries do not speak (`None`).
    pub fn release_line(&self) -> Option<ReleaseLine> {
        match self.parts()[0].trim_start_matches('0') {
            "1" => Some(ReleaseLine::V1),
            "2" => Some(ReleaseLine::V2),
            _ => None,
        }
    }

    /// Orders by value, part by part (`1.10.0` after `1.9.0`; leading
    /// zeros ignored). The derived `Ord` compares the text.
    pub fn cmp_version(&self, other: &Self) -> Ordering {
        let (a, b) = (self.parts(), other.parts());
        cmp_digits(a[0], b[0])
            .then_with(|| cmp_digits(a[1], b[1]))
            .then_with(|| cmp_digits(a[2], b[2]))
    }
}

/// The longest subscription a Gegevensdienst allows, in days (MedMij
/// LISTS-15, `Abonneren/MaximaleDuur`): an `xs:positiveInteger`
/// (optional `+`, ASCII digits, surrounding whitespace collapsed), at most
/// `u32::MAX` (provisional bound).
///
/// ```
/// use medmij_types::MaximaleDuur;
/// assert_eq!(MaximaleDuur::new(" +0365 ").unwrap().days(), 365);
/// assert!(MaximaleDuur::new("0").is_err());
/// assert!(MaximaleDuur::new("4294967296").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MaximaleDuur(u32);

impl MaximaleDuur {
    /// The MedMij rule that defines this type.
    pub const RULE: RuleId = RuleId::Lists15;

    /// Parses the lexical form.
    pub fn new(value: &str) -> Result<Self, InvalidValue> {
        Self::parse_lexical(value)
    }

    /// The body of [`MaximaleDuur::new`], under a name that cargo-mutants
    /// mutates (it skips every function called `new`).
    fn parse_lexical(value: &str) -> Result<Self, InvalidValue> {
        let err = |why| {
            InvalidValue::new(
                "MaximaleDuur",
                value,
                FacetViolation::PositiveInteger(why),
                RuleId::Lists15,
            )
        };
        let s = value.trim_matches([' ', '\t', '\n', '\r']);
        let digits = s.strip_prefix('+').unwrap_or(s);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("expected an optional '+' and decimal digits"));
        }
        let canonical = digits.trim_start_matches('0');
        if canonical.is_empty() {
            return Err(err("the value must be at least 1"));
        }
        canonical
            .parse::<u32>()
            .map(MaximaleDuur)
            .map_err(|_| err("the value must be at most 4294967295"))
    }

    /// A duration of `days` days (0 is not positive: `None`).
    pub fn from_days(days: u32) -> Option<Self> {
        (days > 0).then_some(Self(days))
    }

    /// The number of days.
    pub fn days(self) -> u32 {
        self.0
    }

    /// The duration (days of 86,400 s).
    pub fn as_duration(self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.0) * 86_400)
    }
}

impl fmt::Display for MaximaleDuur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for MaximaleDuur {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        Self::new(s)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for MaximaleDuur {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for MaximaleDuur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u32::deserialize(d)?;
        Self::from_days(n).ok_or_else(|| {
            serde::de::Error::custom("MaximaleDuur must be at least 1 (MedMij LISTS-15)")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod lists_15 {
        use super::*;

        #[test]
        fn aanbiedertype_is_an_open_set() {
            // MedMij LISTS-15: ZA, BAZB, and any other value kept as such.
            let za = Aanbiedertype::new("ZA").unwrap();
            assert!(za.is_za() && za.is_known() && !za.is_bazb());
            assert!(Aanbiedertype::new("BAZB").unwrap().is_bazb());
            let apd = Aanbiedertype::new("APD").unwrap();
            assert!(!apd.is_known());
            assert_eq!(apd.to_string(), "APD");
            assert_eq!(Aanbiedertype::new("").unwrap_err().rule, RuleId::Lists15);
            assert!(Aanbiedertype::new(&"X".repeat(31)).is_err());
            assert!(Aanbiedertype::new(&"X".repeat(30)).is_ok());
        }

        #[test]
        fn interfaceversie_id_form() {
            for ok in ["1.4.0", "2.0.0", "10.20.30", "01.0.0", "0.0.0"] {
                assert!(InterfaceversieId::new(ok).is_ok(), "{ok}");
            }
            for bad in [
                "",
                "1.4",
                "1.4.0.1",
                "1..0",
                ".1.0",
                "1.0.",
                "v1.0.0",
                "1.0.0 ",
                " 1.0.0",
                "1.a.0",
                "١.0.0",
                "1.0.0-rc1",
            ] {
                let e = InterfaceversieId::new(bad).unwrap_err();
                assert_eq!(e.rule, RuleId::Lists15, "{bad:?}");
            }
        }

        #[test]
        fn major_names_the_release_line() {
            let line = |s: &str| InterfaceversieId::new(s).unwrap().release_line();
            assert_eq!(line("1.4.0"), Some(ReleaseLine::V1));
            assert_eq!(line("001.6.2"), Some(ReleaseLine::V1));
            assert_eq!(line("2.2.0"), Some(ReleaseLine::V2));
            assert_eq!(line("0.9.0"), None);
            assert_eq!(line("3.0.0"), None);
            assert_eq!(line("12.0.0"), None);
            assert_eq!(InterfaceversieId::new("2.1.0").unwrap().major(), Some(2));
            assert_eq!(
                InterfaceversieId::new("99999999999.0.0").unwrap().major(),
                None
            );
        }

        #[test]
        fn versions_order_by_value() {
            let v = |s: &str| InterfaceversieId::new(s).unwrap();
            assert_eq!(v("1.10.0").cmp_version(&v("1.9.0")), Ordering::Greater);
            assert_eq!(v("2.0.0").cmp_version(&v("1.99.99")), Ordering::Greater);
            assert_eq!(v("01.2.3").cmp_version(&v("1.2.3")), Ordering::Equal);
            assert_eq!(v("1.2.3").cmp_version(&v("1.2.4")), Ordering::Less);
        }

        #[test]
        fn maximale_duur_is_a_bounded_positive_integer() {
            assert_eq!(MaximaleDuur::new("365").unwrap().days(), 365);
            assert_eq!(MaximaleDuur::new("\n+007\t").unwrap().days(), 7);
            assert_eq!(MaximaleDuur::new("4294967295").unwrap().days(), u32::MAX);
            for bad in [
                "",
                "0",
                "+0",
                "-1",
                "1.0",
                "1 2",
                "x",
                "１",
                "4294967296",
                "++1",
            ] {
                let e = MaximaleDuur::new(bad).unwrap_err();
                assert_eq!(e.rule, RuleId::Lists15, "{bad:?}");
            }
            assert_eq!(
                MaximaleDuur::from_days(30).unwrap().as_duration().as_secs(),
                30 * 86_400
            );
            assert!(MaximaleDuur::from_days(0).is_none());
        }

        #[test]
        fn maximale_duur_reads_and_writes_its_days() {
            let d: MaximaleDuur = " +0365 ".parse().unwrap();
            assert_eq!(d.days(), 365);
            assert_eq!(d.to_string(), "365");
            assert_eq!(d, MaximaleDuur::from_days(365).unwrap());
            assert!("0".parse::<MaximaleDuur>().is_err());
            assert_eq!(MaximaleDuur::from_days(1).unwrap().days(), 1);
            assert_eq!(MaximaleDuur::from_days(1).unwrap().to_string(), "1");
            assert_eq!(
                MaximaleDuur::from_days(u32::MAX)
                    .unwrap()
                    .as_duration()
                    .as_secs(),
                4_294_967_295 * 86_400
            );
        }

        #[test]
        fn bazb_is_known_and_the_release_lines_are_named() {
            let bazb = Aanbiedertype::new("BAZB").unwrap();
            assert!(bazb.is_known() && !bazb.is_za());
            let line = |s: &str| InterfaceversieId::new(s).unwrap().release_line();
            assert_eq!(line("1.6.0").unwrap().to_string(), "1.x");
            assert_eq!(line("2.0.0").unwrap().to_string(), "2.x");
            assert_eq!(
                InterfaceversieId::new("1.10.2").unwrap().parts(),
                ["1", "10", "2"]
            );
        }

        #[cfg(feature = "serde")]
        #[test]
        fn maximale_duur_is_a_json_number_of_at_least_1() {
            let d = MaximaleDuur::from_days(30).unwrap();
            assert_eq!(serde_json::to_string(&d).unwrap(), "30");
            assert_eq!(serde_json::from_str::<MaximaleDuur>("30").unwrap(), d);
            let err = serde_json::from_str::<MaximaleDuur>("0").unwrap_err();
            assert!(err.to_string().contains("(MedMij LISTS-15)"), "{err}");
            assert!(serde_json::from_str::<MaximaleDuur>("-1").is_err());
            assert!(serde_json::from_str::<MaximaleDuur>("\"30\"").is_err());
        }
    }
}
