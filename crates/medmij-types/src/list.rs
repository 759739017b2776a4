//! `Tijdstempel` (xs:dateTime) and `Volgnummer` (xs:positiveInteger), the
//! two header values every list carries (MedMij LISTS-1).

use crate::{FacetViolation, InvalidValue, RuleId};
use std::cmp::Ordering;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// XML Schema `whiteSpace="collapse"` for types whose lexical space has no
/// inner whitespace: strip leading and trailing XML whitespace; any inner
/// whitespace is left for the lexical check to refuse.
fn trim_xml_ws(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r'])
}

/// The `Tijdstempel` of a list: an `xs:dateTime` whose lexical form has at
/// least 20 characters (MedMij LISTS-1).
///
/// The lexical form is kept as written (after whitespace collapsing), so a
/// list serializes back to the same text; [`Tijdstempel::unix_nanos`] and
/// [`Tijdstempel::to_system_time`] give the instant. A value without a time
/// zone is read as UTC.
///
/// ```
/// use medmij_types::Tijdstempel;
/// let t = Tijdstempel::new("2018-04-16T10:43:41+01:00").unwrap();
/// assert_eq!(t.unix_nanos(), 1_523_871_821 * 1_000_000_000);
/// assert!(Tijdstempel::new("2018-04-16T10:43:41").is_err()); // 19 characters
/// assert!(Tijdstempel::new("2019-02-29T10:00:00Z").is_err()); // not a leap year
/// ```
#[derive(Clone)]
pub struct Tijdstempel {
    lexical: Box<str>,
    /// Nanoseconds since the Unix epoch (UTC).
    nanos: i128,
    has_zone: bool,
}

impl PartialEq for Tijdstempel {
    fn eq(&self, other: &Self) -> bool {
        self.lexical == other.lexical
    }
}
impl Eq for Tijdstempel {}

impl fmt::Debug for Tijdstempel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tijdstempel({})", self.lexical)
    }
}

impl fmt::Display for Tijdstempel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lexical)
    }
}

fn dt_err(value: &str, why: &'static str) -> InvalidValue {
    InvalidValue::new(
        "Tijdstempel",
        value,
        FacetViolation::DateTime(why),
        RuleId::Lists1,
    )
}

fn two_digits(b: &[u8], at: usize) -> Option<u32> {
    match b.get(at..at + 2)? {
        &[h, l] if h.is_ascii_digit() && l.is_ascii_digit() => {
            Some(u32::from(h - b'0') * 10 + u32::from(l - b'0'))
        }
        _ => None,
    }
}

/// Leap years as libxml2 computes them on the signed year as written
/// (`-0004` is a leap year, `-0001` is not).
fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`), in i128 so that every i64 year fits.
fn days_from_civil(y: i128, m: u32, d: u32) -> i128 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i128::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i128::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl Tijdstempel {
    /// Parses and checks an `xs:dateTime` lexical value: year (at least four
    /// digits, no leading zero beyond four, not `0000`), month, day (checked
    /// against the month and leap years), `hh:mm:ss` with optional
    /// fraction (`24:00:00` allowed), optional zone `Z` or `±hh:mm` up to
    /// 14:00; then the pattern facet `.{20,}` of LISTS-1. Leading and
    /// trailing whitespace is collapsed away, as XML Schema does for this
    /// type.
    pub fn new(value: &str) -> Result<Self, InvalidValue> {
        Self::parse_lexical(value)
    }

    /// The body of [`Tijdstempel::new`], under a name that cargo-mutants
    /// mutates (it skips every function called `new`).
    fn parse_lexical(value: &str) -> Result<Self, InvalidValue> {
        let s = trim_xml_ws(value);
        let b = s.as_bytes();
        let mut i = 0;
        let negative = b.first() == Some(&b'-');
        if negative {
            i += 1;
        }
        let ystart = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let ydigits = s.get(ystart..i).unwrap_or_default();
        if ydigits.len() < 4 {
            return Err(dt_err(value, "the year needs at least four digits"));
        }
        if ydigits.len() > 4 && ydigits.starts_with('0') {
            return Err(dt_err(
                value,
                "a year of more than four digits has no leading zero",
            ));
        }
        let year: i64 = ydigits
            .parse()
            .map_err(|_| dt_err(value, "the year is out of range"))?;
        if year == 0 {
            return Err(dt_err(value, "year 0000 does not exist"));
        }
        let year = if negative { -year } else { year };
        let rest = b.get(i..).unwrap_or_default();
        // -MM-DDThh:mm:ss
        let at = |k: usize| rest.get(k).copied();
        if rest.len() < 15
            || at(0) != Some(b'-')
            || at(3) != Some(b'-')
            || at(6) != Some(b'T')
            || at(9) != Some(b':')
            || at(12) != Some(b':')
        {
            return Err(dt_err(value, "expected -MM-DDThh:mm:ss after the year"));
        }
        let (Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
            two_digits(rest, 1),
            two_digits(rest, 4),
            two_digits(rest, 7),
            two_digits(rest, 10),
            two_digits(rest, 13),
        ) else {
            return Err(dt_err(value, "expected two-digit date and time fields"));
        };
        if !(1..=12).contains(&month) {
            return Err(dt_err(value, "the month is not 01..12"));
        }
        if day < 1 || day > days_in_month(year, month) {
            return Err(dt_err(value, "the day does not exist in that month"));
        }
        if minute > 59 {
            return Err(dt_err(value, "the minute is not 00..59"));
        }
        if second > 59 {
            return Err(dt_err(value, "the second is not 00..59"));
        }
        let mut j = 15;
        let mut frac_nanos: u32 = 0;
        let mut frac_zero = true;
        if rest.get(j) == Some(&b'.') {
            j += 1;
            let fstart = j;
            while let Some(&d) = rest.get(j).filter(|d| d.is_ascii_digit()) {
                if j - fstart < 9 {
                    frac_nanos = frac_nanos * 10 + u32::from(d - b'0');
                }
                frac_zero &= d == b'0';
                j += 1;
            }
            let n = j - fstart;
            if n == 0 {
                return Err(dt_err(value, "a decimal point needs digits after it"));
            }
            for _ in n..9 {
                frac_nanos *= 10;
            }
        }
        if hour > 24 || (hour == 24 && (minute != 0 || second != 0 || !frac_zero)) {
            return Err(dt_err(
                value,
                "the hour is not 00..23 (24 only as 24:00:00)",
            ));
        }
        let zone = rest.get(j..).unwrap_or_default();
        let offset_minutes: i64 = match zone {
            [] => 0,
            [b'Z'] => 0,
            [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
                let (Some(zh), Some(zm)) = (two_digits(zone, 1), two_digits(zone, 4)) else {
                    return Err(dt_err(value, "the time zone is not ±hh:mm"));
                };
                if zh > 14 || zm > 59 || (zh == 14 && zm != 0) {
                    return Err(dt_err(value, "the time zone is outside -14:00..+14:00"));
                }
                let m = i64::from(zh * 60 + zm);
                if *sign == b'-' { -m } else { m }
            }
            _ => return Err(dt_err(value, "the time zone is not Z or ±hh:mm")),
        };
        // MedMij LISTS-1: pattern `.{20,}` on the (collapsed) value.
        if s.chars().count() < 20 {
            return Err(InvalidValue::new(
                "Tijdstempel",
                value,
                FacetViolation::Pattern { pattern: ".{20,}" },
                RuleId::Lists1,
            ));
        }
        let days = days_from_civil(i128::from(year), month, day);
        let secs =
            days * 86_400 + i128::from(hour) * 3600 + i128::from(minute) * 60 + i128::from(second)
                - i128::from(offset_minutes) * 60;
        Ok(Self {
            lexical: s.into(),
            nanos: secs * 1_000_000_000 + i128::from(frac_nanos),
            has_zone: !zone.is_empty(),
        })
    }

    /// Builds a `Tijdstempel` in UTC (`YYYY-MM-DDThh:mm:ssZ`) from a time,
    /// for lists made by this crate's users (tests, the demo's Stelselnode).
    /// Sub-second precision is dropped. Times before 1970 are not supported
    /// and give 1970-01-01T00:00:00Z.
    pub fn from_system_time(t: SystemTime) -> Self {
        let secs = t
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        // civil_from_days (Howard Hinnant).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        let text = format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60
        );
        // The text is a valid dateTime by construction.
        Self::new(&text).unwrap_or_else(|_| Self::unchecked(text, secs))
    }

    /// The fallback of [`Tijdstempel::from_system_time`] for a text that
    /// would not parse; never reached (its text is a valid dateTime of at
    /// least 20 characters for every time), kept so that no `unwrap` is
    /// needed.
    fn unchecked(text: String, secs: i64) -> Self {
        Self {
            lexical: text.into(),
            nanos: i128::from(secs) * 1_000_000_000,
            has_zone: true,
        }
    }

    /// The lexical form, as written in the list (whitespace collapsed).
    pub fn as_str(&self) -> &str {
        &self.lexical
    }

    /// Nanoseconds since 1970-01-01T00:00:00Z (negative before).
    pub fn unix_nanos(&self) -> i128 {
        self.nanos
    }

    /// Whether the value carries a time zone (otherwise it is read as UTC).
    #[must_use]
    pub fn has_zone(&self) -> bool {
        self.has_zone
    }

    /// The instant as a [`SystemTime`], if it is representable.
    pub fn to_system_time(&self) -> Option<SystemTime> {
        if self.nanos >= 0 {
            let n = u128::try_from(self.nanos).ok()?;
            let secs = u64::try_from(n / 1_000_000_000).ok()?;
            UNIX_EPOCH.checked_add(Duration::new(secs, (n % 1_000_000_000) as u32))
        } else {
            let n = u128::try_from(-self.nanos).ok()?;
            let secs = u64::try_from(n / 1_000_000_000).ok()?;
            UNIX_EPOCH.checked_sub(Duration::new(secs, (n % 1_000_000_000) as u32))
        }
    }
}

/// The `Volgnummer` of a list: an `xs:positiveInteger` of any size (MedMij
/// LISTS-1). A newer list version has a higher Volgnummer (LISTS-9).
///
/// Kept as its canonical decimal digits (no sign, no leading zeros), ordered
/// by numeric value.
///
/// ```
/// use medmij_types::Volgnummer;
/// let a = Volgnummer::new(" +0042 ").unwrap();
/// assert_eq!(a.to_string(), "42");
/// let big = Volgnummer::new("123456789012345678901234567890").unwrap();
/// assert!(big > a);
/// assert!(Volgnummer::new("0").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Volgnummer(Box<str>);

impl Volgnummer {
    /// Parses an `xs:positiveInteger` lexical value: optional leading `+`,
    /// ASCII digits, value at least 1; leading and trailing whitespace is
    /// collapsed away.
    pub fn new(value: &str) -> Result<Self, InvalidValue> {
        Self::parse_lexical(value)
    }

    /// The body of [`Volgnummer::new`], under a name that cargo-mutants
    /// mutates (it skips every function called `new`).
    fn parse_lexical(value: &str) -> Result<Self, InvalidValue> {
        let s = trim_xml_ws(value);
        let digits = s.strip_prefix('+').unwrap_or(s);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidValue::new(
                "Volgnummer",
                value,
                FacetViolation::PositiveInteger("expected an optional '+' and decimal digits"),
                RuleId::Lists1,
            ));
        }
        let canonical = digits.trim_start_matches('0');
        if canonical.is_empty() {
            return Err(InvalidValue::new(
                "Volgnummer",
                value,
                FacetViolation::PositiveInteger("the value must be at least 1"),
                RuleId::Lists1,
            ));
        }
        Ok(Self(canonical.into()))
    }

    /// A Volgnummer from a machine integer (0 is not positive: `None`).
    pub fn from_u64(n: u64) -> Option<Self> {
        (n > 0).then(|| Self(n.to_string().into()))
    }

    /// The value, if it fits in a `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        self.0.parse().ok()
    }

    /// The canonical decimal digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The next Volgnummer (this one plus one).
    #[must_use]
    pub fn next(&self) -> Self {
        let mut digits = self.0.as_bytes().to_vec();
        // Add one from the right: trailing nines become zeros.
        let mut carry = true;
        for d in digits.iter_mut().rev() {
            if *d == b'9' {
                *d = b'0';
            } else {
                *d += 1;
                carry = false;
                break;
            }
        }
        if carry {
            digits.insert(0, b'1');
        }
        Self(String::from_utf8(digits).unwrap_or_default().into())
    }
}

impl Ord for Volgnummer {
    fn cmp(&self, other: &Self) -> Ordering {
        // Canonical digits: a longer number is larger.
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Volgnummer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for Volgnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Volgnummer({})", self.0)
    }
}

impl fmt::Display for Volgnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Volgnummer {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        Self::new(s)
    }
}

impl std::str::FromStr for Tijdstempel {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        Self::new(s)
    }
}

impl TryFrom<&str> for Tijdstempel {
    type Error = InvalidValue;
    fn try_from(s: &str) -> Result<Self, InvalidValue> {
        Self::new(s)
    }
}

impl AsRef<str> for Tijdstempel {
    fn as_ref(&self) -> &str {
        &self.lexical
    }
}

impl TryFrom<&str> for Volgnummer {
    type Error = InvalidValue;
    fn try_from(s: &str) -> Result<Self, InvalidValue> {
        Self::new(s)
    }
}

impl AsRef<str> for Volgnummer {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Serde as the lexical text; deserializing validates (feature `serde`).
#[cfg(feature = "serde")]
mod serde_impls {
    use super::{Tijdstempel, Volgnummer};
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};
    use std::borrow::Cow;

    impl Serialize for Tijdstempel {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(self.as_str())
        }
    }

    impl<'de> Deserialize<'de> for Tijdstempel {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            Self::new(&Cow::<'de, str>::deserialize(d)?).map_err(D::Error::custom)
        }
    }

    impl Serialize for Volgnummer {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(self.as_str())
        }
    }

    impl<'de> Deserialize<'de> for Volgnummer {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            Self::new(&Cow::<'de, str>::deserialize(d)?).map_err(D::Error::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn datetime_edges_agree_with_xml_schema() {
        for ok in [
            "2018-04-16T12:56:33Z",
            "2018-04-16T24:00:00Z",
            "2018-04-16T24:00:00.000Z",
            "2020-02-29T10:00:00Z",
            "2000-02-29T10:00:00Z",
            "-0004-02-29T10:00:00Z",
            "-2000-02-01T10:00:00Z",
            "12000-02-01T10:00:00Z",
            "2018-04-16T12:56:33.5",
            "2018-04-16T12:56:33+14:00",
            "2018-04-16T12:56:33-13:59",
            "  2018-04-16T12:56:33Z\n",
            "9223372036854775807-02-01T10:00:00Z",
            "-9223372036854775807-02-01T10:00:00Z",
        ] {
            assert!(Tijdstempel::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "2018-04-16T24:00:01Z",
            "2018-04-16T24:00:00.001Z",
            "2018-04-16T23:59:60Z",
            "2019-02-29T10:00:00Z",
            "1900-02-29T10:00:00Z",
            "-0001-02-29T10:00:00Z",
            "0000-02-01T10:00:00Z",
            "-0000-02-01T10:00:00Z",
            "02000-02-01T10:00:00Z",
            "2018-04-16T12:56:33",
            "  2018-04-16T12:56:33  ",
            "2018-04-16T12:56:33+14:01",
            "2018-04-16T12:56:33+01:60",
            "2018-04-16T12:56:33.Z",
            "2018-04-16T1:56:33Z",
            "2018-04-16T12:56:33z",
            "2018-13-16T12:56:33Z",
            "2018-04-31T12:56:33Z",
            "2018-04-16T12:56:33+1:00",
            "9223372036854775808-02-01T10:00:00Z",
            "2018-04-16 12:56:33Z",
            "",
        ] {
            assert!(Tijdstempel::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn datetime_instant() {
        let a = Tijdstempel::new("2018-04-16T10:43:41+01:00").unwrap();
        let b = Tijdstempel::new("2018-04-16T09:43:41Z").unwrap();
        assert_eq!(a.unix_nanos(), b.unix_nanos());
        let midnight = Tijdstempel::new("2018-04-16T24:00:00Z").unwrap();
        let next = Tijdstempel::new("2018-04-17T00:00:00Z").unwrap();
        assert_eq!(midnight.unix_nanos(), next.unix_nanos());
        assert_ne!(midnight, next, "equality is on the lexical form");
    }

    proptest! {
        #[test]
        fn from_system_time_round_trips(secs in 0u64..253_402_300_799) {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            let ts = Tijdstempel::from_system_time(t);
            prop_assert_eq!(ts.to_system_time(), Some(t));
            prop_assert_eq!(Tijdstempel::new(ts.as_str()).unwrap(), ts);
        }

        #[test]
        fn volgnummer_orders_like_integers(a in 1u128.., b in 1u128..) {
            let va = Volgnummer::new(&a.to_string()).unwrap();
            let vb = Volgnummer::new(&format!("+000{b}")).unwrap();
            prop_assert_eq!(va.cmp(&vb), a.cmp(&b));
            let next = va.next();
            prop_assert_eq!(next.as_str(), (a + 1).to_string());
        }
    }

    #[test]
    fn volgnummer_lexical() {
        assert_eq!(Volgnummer::new("\n7\t").unwrap().as_str(), "7");
        assert_eq!(Volgnummer::new("0005").unwrap().as_u64(), Some(5));
        for bad in ["0", "+0", "-1", "-0", "++1", "1 2", "", "１", "x"] {
            assert!(Volgnummer::new(bad).is_err(), "{bad}");
        }
        assert_eq!(Volgnummer::new("999").unwrap().next().as_str(), "1000");
    }

    /// MedMij LISTS-1: the Tijdstempel (`xs:dateTime`, at least 20
    /// characters) and the Volgnummer (`xs:positiveInteger`) of a list.
    mod lists_1 {
        use super::*;

        #[test]
        fn a_tijdstempel_is_shown_as_written_after_collapsing() {
            let t = Tijdstempel::new(" 2018-04-16T12:56:33.50+01:00\n").unwrap();
            assert_eq!(t.to_string(), "2018-04-16T12:56:33.50+01:00");
            assert_eq!(t.as_str(), "2018-04-16T12:56:33.50+01:00");
            assert_eq!(t.as_ref(), "2018-04-16T12:56:33.50+01:00");
            let parsed: Tijdstempel = "2018-04-16T12:56:33.50+01:00".parse().unwrap();
            assert_eq!(parsed, t);
            assert_eq!(
                Tijdstempel::try_from("2018-04-16T12:56:33.50+01:00").unwrap(),
                t
            );
            assert!("2018-04-16T12:56:33".parse::<Tijdstempel>().is_err());
            assert!(Tijdstempel::try_from("2018-04-16T12:56:33").is_err());
            assert_ne!(t, Tijdstempel::new("2018-04-16T12:56:33.5+01:00").unwrap());
        }

        #[test]
        fn each_two_digit_field_is_two_ascii_digits() {
            // ':' is the byte after '9': read as a digit it would be 10.
            for bad in [
                "2018-0:-16T12:56:33Z",
                "2018-04-0:T12:56:33Z",
                "2018-04-16T0::56:33Z",
                "2018-04-16T12:0::33Z",
                "2018-04-16T12:56:0:Z",
                "2018-04-16T12:56:33+0::00",
                "2018-04-16T12:56:33+01:0:",
                "2018-04-16T12:56:33+0a:00",
            ] {
                let err = Tijdstempel::new(bad).unwrap_err();
                assert_eq!(err.type_name, "Tijdstempel", "{bad}");
                assert_eq!(err.rule, RuleId::Lists1, "{bad}");
                assert!(
                    matches!(err.violation, FacetViolation::DateTime(_)),
                    "{bad}: {err}"
                );
            }
            let ok = Tijdstempel::new("2018-10-10T10:10:10+10:10").unwrap();
            assert_eq!(ok.unix_nanos(), 1_539_129_610 * 1_000_000_000);
        }

        #[test]
        fn the_instant_before_and_after_1970() {
            let t = Tijdstempel::new("1970-01-01T00:00:01.000000001Z").unwrap();
            assert_eq!(t.unix_nanos(), 1_000_000_001);
            assert_eq!(t.to_system_time(), Some(UNIX_EPOCH + Duration::new(1, 1)));
            let before = Tijdstempel::new("1969-12-31T23:59:58.75Z").unwrap();
            assert_eq!(before.unix_nanos(), -1_250_000_000);
            assert_eq!(
                before.to_system_time(),
                Some(UNIX_EPOCH - Duration::new(1, 250_000_000))
            );
            let epoch = Tijdstempel::new("1970-01-01T01:00:00+01:00").unwrap();
            assert_eq!(epoch.unix_nanos(), 0);
            assert_eq!(epoch.to_system_time(), Some(UNIX_EPOCH));
            let later = Tijdstempel::new("2038-01-19T03:14:08.5Z").unwrap();
            assert_eq!(
                later.to_system_time(),
                Some(UNIX_EPOCH + Duration::new(2_147_483_648, 500_000_000))
            );
        }

        #[test]
        fn negative_years_and_zones_count_backwards() {
            let nanos = |s: &str| Tijdstempel::new(s).unwrap().unix_nanos();
            const DAY: i128 = 86_400 * 1_000_000_000;
            assert_eq!(
                nanos("0001-01-01T00:00:00Z"),
                -62_135_596_800 * 1_000_000_000
            );
            // -0001, 0000 (a leap year, not writable), 0001: two years apart.
            assert_eq!(
                nanos("0001-01-01T00:00:00Z") - nanos("-0001-01-01T00:00:00Z"),
                731 * DAY
            );
            assert_eq!(
                nanos("2018-04-16T05:43:41-05:00"),
                nanos("2018-04-16T10:43:41Z")
            );
            assert_eq!(
                nanos("2018-04-16T23:59:00-14:00") - nanos("2018-04-16T23:59:00+14:00"),
                DAY * 28 / 24
            );
        }

        #[test]
        fn each_separator_stands_at_its_place() {
            for bad in [
                "2018x04-16T12:56:33Z",
                "2018-04x16T12:56:33Z",
                "2018-04-16x12:56:33Z",
                "2018-04-16T12x56:33Z",
                "2018-04-16T12:56x33Z",
                "12018-04-16T12:56:3",
                "2018-04-16T12:56:3",
            ] {
                assert_eq!(
                    Tijdstempel::new(bad).unwrap_err().violation,
                    FacetViolation::DateTime("expected -MM-DDThh:mm:ss after the year"),
                    "{bad}"
                );
            }
            // A five-digit year leaves room for exactly 20 characters without a zone.
            let t = Tijdstempel::new("12018-04-16T12:56:33").unwrap();
            assert!(!t.has_zone());
        }

        #[test]
        fn fractions_count_to_the_nanosecond_and_no_further() {
            let frac = |s: &str| {
                Tijdstempel::new(s)
                    .unwrap()
                    .unix_nanos()
                    .rem_euclid(1_000_000_000)
            };
            assert_eq!(frac("2018-04-16T12:56:33.1Z"), 100_000_000);
            assert_eq!(frac("2018-04-16T12:56:33.123456789Z"), 123_456_789);
            assert_eq!(frac("2018-04-16T12:56:33.1234567891Z"), 123_456_789);
            assert_eq!(
                frac("2018-04-16T12:56:33.99999999999999999999999999Z"),
                999_999_999
            );
        }

        #[test]
        fn a_zone_is_known_when_written() {
            assert!(Tijdstempel::new("2018-04-16T12:56:33Z").unwrap().has_zone());
            assert!(
                Tijdstempel::new("2018-04-16T12:56:33-05:00")
                    .unwrap()
                    .has_zone()
            );
            assert!(
                !Tijdstempel::new("2018-04-16T12:56:33.0")
                    .unwrap()
                    .has_zone()
            );
        }

        #[test]
        fn from_system_time_writes_utc_seconds() {
            let t = Tijdstempel::from_system_time(
                UNIX_EPOCH + Duration::new(1_709_210_096, 999_999_999),
            );
            assert_eq!(t.as_str(), "2024-02-29T12:34:56Z");
            assert_eq!(t.unix_nanos(), 1_709_210_096 * 1_000_000_000);
            assert!(t.has_zone());
            let t = Tijdstempel::from_system_time(UNIX_EPOCH - Duration::from_secs(1));
            assert_eq!(t.as_str(), "1970-01-01T00:00:00Z");
            // The last day of a 400-year cycle (the calendar repeats after
            // 146 097 days): the leap day of a year divisible by 400.
            for (secs, text) in [
                (951_782_399, "2000-02-28T23:59:59Z"),
                (951_782_400, "2000-02-29T00:00:00Z"),
                (951_868_799, "2000-02-29T23:59:59Z"),
                (951_868_800, "2000-03-01T00:00:00Z"),
                (13_574_563_200, "2400-02-29T00:00:00Z"),
            ] {
                let t = Tijdstempel::from_system_time(UNIX_EPOCH + Duration::from_secs(secs));
                assert_eq!(t.as_str(), text);
            }
        }

        #[test]
        fn a_volgnummer_from_and_to_a_machine_integer() {
            assert_eq!(Volgnummer::from_u64(0), None);
            assert_eq!(Volgnummer::from_u64(1).unwrap().as_str(), "1");
            assert_eq!(
                Volgnummer::from_u64(u64::MAX).unwrap().as_str(),
                "18446744073709551615"
            );
            let max = Volgnummer::new("18446744073709551615").unwrap();
            assert_eq!(max.as_u64(), Some(18_446_744_073_709_551_615));
            assert_eq!(max.next().as_str(), "18446744073709551616");
            assert_eq!(max.next().as_u64(), None);
            assert_eq!(Volgnummer::new("+0001").unwrap().as_u64(), Some(1));
            assert_eq!(Volgnummer::new("2").unwrap().as_u64(), Some(2));
        }

        #[test]
        fn a_volgnummer_is_shown_as_its_canonical_digits() {
            let v = Volgnummer::new(" +00420\t").unwrap();
            assert_eq!(v.to_string(), "420");
            assert_eq!(v.as_ref(), "420");
            assert_eq!("+00420".parse::<Volgnummer>().unwrap(), v);
            assert_eq!(Volgnummer::try_from("420").unwrap(), v);
            assert!("0".parse::<Volgnummer>().is_err());
            assert!(Volgnummer::try_from("-420").is_err());
        }

        #[cfg(feature = "serde")]
        #[test]
        fn serde_is_the_text_and_deserializing_checks() {
            let t = Tijdstempel::new("2018-04-16T12:56:33.5+01:00").unwrap();
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                "\"2018-04-16T12:56:33.5+01:00\""
            );
            let back: Tijdstempel =
                serde_json::from_str("\"2018-04-16T12:56:33.5+01:00\"").unwrap();
            assert_eq!(back, t);
            assert!(serde_json::from_str::<Tijdstempel>("\"2018-04-16T12:56:33\"").is_err());
            let v = Volgnummer::new("42").unwrap();
            assert_eq!(serde_json::to_string(&v).unwrap(), "\"42\"");
            let back: Volgnummer = serde_json::from_str("\"+042\"").unwrap();
            assert_eq!(back, v);
            assert!(serde_json::from_str::<Volgnummer>("\"0\"").is_err());
        }
    }

    /// MedMij LISTS-9: a newer list version has a higher Volgnummer.
    mod lists_9 {
        use super::*;

        #[test]
        fn next_adds_one_with_carries() {
            for (v, next) in [
                ("1", "2"),
                ("8", "9"),
                ("9", "10"),
                ("19", "20"),
                ("1099", "1100"),
                ("99999999999999999999", "100000000000000000000"),
            ] {
                let v = Volgnummer::new(v).unwrap();
                assert_eq!(v.next().as_str(), next);
                assert!(v.next() > v);
            }
        }

        #[test]
        fn order_is_by_value() {
            let v = |s: &str| Volgnummer::new(s).unwrap();
            assert!(v("10") > v("9"));
            assert!(v("9") < v("10"));
            assert!(v("21") > v("12"));
            assert_eq!(v("007").cmp(&v("7")), Ordering::Equal);
            assert_eq!(v("10").partial_cmp(&v("9")), Some(Ordering::Greater));
            assert_eq!(v("9").partial_cmp(&v("10")), Some(Ordering::Less));
            assert_eq!(v("5").partial_cmp(&v("5")), Some(Ordering::Equal));
        }
    }
}
