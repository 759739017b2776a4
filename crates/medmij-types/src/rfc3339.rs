//! The one RFC 3339 form the crates write times in (logs, consent records,
//! evidence): `YYYY-MM-DDThh:mm:ss.ffffffZ`, UTC with microseconds, always
//! 27 characters, on the `time` crate.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use medmij_types::rfc3339;
//! let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
//! assert_eq!(rfc3339::format(t), "2024-02-29T12:34:56.000000Z");
//! assert_eq!(rfc3339::parse("2024-02-29T12:34:56.000000Z"), Some(t));
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// `YYYY-MM-DDThh:mm:ss.ffffffZ`: UTC, microseconds, always 27 characters.
const FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// The last instant the format can write.
const MAX: &str = "9999-12-31T23:59:59.999999Z";

/// Formats as `YYYY-MM-DDThh:mm:ss.ffffffZ` (microseconds, truncated).
/// Times before 1970 are written as 1970-01-01T00:00:00.000000Z, times
/// after 9999 as the last instant of 9999.
pub fn format(t: SystemTime) -> String {
    let nanos = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    i128::try_from(nanos)
        .ok()
        .and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(n).ok())
        .and_then(|dt| dt.format(FORMAT).ok())
        .filter(|s| s.len() == 27)
        .unwrap_or_else(|| MAX.to_owned())
}

/// Parses exactly what [`format()`] writes (a valid date, 1970 or later);
/// `None` for anything else.
pub fn parse(s: &str) -> Option<SystemTime> {
    if s.len() != 27 || !s.as_bytes().first()?.is_ascii_digit() {
        return None;
    }
    let dt = PrimitiveDateTime::parse(s, FORMAT).ok()?.assume_utc();
    if dt.year() < 1970 {
        return None;
    }
    let nanos = u64::try_from(dt.unix_timestamp_nanos()).ok()?;
    Some(UNIX_EPOCH + Duration::from_nanos(nanos))
}

/// `#[serde(with = "medmij_types::rfc3339::serde")]` for `SystemTime`
/// fields (feature `serde`).
#[cfg(feature = "serde")]
pub mod serde {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use std::borrow::Cow;
    use std::time::SystemTime;

    /// Writes the time in the form of [`super::format()`].
    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(*t))
    }

    /// Reads the form of [`super::format()`]; anything else is an error.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let s = Cow::<'de, str>::deserialize(d)?;
        super::parse(&s).ok_or_else(|| {
            D::Error::custom(format!(
                "not a UTC date-time YYYY-MM-DDThh:mm:ss.ffffffZ: {s:?}"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(secs in 0u64..10_000_000_000, us in 0u64..1_000_000) {
            let t = UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(us);
            prop_assert_eq!(parse(&format(t)), Some(t));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = parse(&s);
        }
    }

    #[test]
    fn known_date() {
        // 2024-02-29T12:34:56Z = 1709210096
        let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        assert_eq!(format(t), "2024-02-29T12:34:56.000000Z");
    }

    #[test]
    fn parse_is_strict() {
        assert!(parse("2024-02-29T12:34:56.000000Z").is_some());
        for bad in [
            "2023-02-29T12:34:56.000000Z",
            "1969-12-31T23:59:59.999999Z",
            "2024-02-29T24:00:00.000000Z",
            "2024-02-29T12:34:60.000000Z",
            "2024-02-29T12:34:56.00000Z",
            "2024-02-29T12:34:56.000000",
            "+024-02-29T12:34:56.000000Z",
            "2024-02-29 12:34:56.000000Z",
            "",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert_eq!(
            format(UNIX_EPOCH - Duration::from_secs(1)),
            "1970-01-01T00:00:00.000000Z"
        );
        assert_eq!(
            format(UNIX_EPOCH + Duration::from_nanos(1_999)),
            "1970-01-01T00:00:00.000001Z"
        );
    }

    /// MedMij LOG-1: log entries and records carry their time in this one
    /// form; a reader takes back exactly what a writer wrote, from the
    /// first instant of 1970 on.
    mod log_1 {
        use super::*;

        #[test]
        fn the_year_1970_is_read_and_1969_is_not() {
            assert_eq!(parse("1970-01-01T00:00:00.000000Z"), Some(UNIX_EPOCH));
            assert_eq!(
                parse("1970-12-31T23:59:59.999999Z"),
                Some(UNIX_EPOCH + Duration::from_micros(31_535_999_999_999))
            );
            assert_eq!(parse("1969-12-31T23:59:59.999999Z"), None);
            assert_eq!(
                parse("1971-01-01T00:00:00.000000Z"),
                Some(UNIX_EPOCH + Duration::from_secs(31_536_000))
            );
        }

        #[cfg(feature = "serde")]
        #[test]
        fn serde_writes_and_reads_the_one_form() {
            let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096) + Duration::from_micros(7);
            let mut out = Vec::new();
            serde::serialize(&t, &mut serde_json::Serializer::new(&mut out)).unwrap();
            assert_eq!(out, b"\"2024-02-29T12:34:56.000007Z\"");
            let read = serde::deserialize(&mut serde_json::Deserializer::from_str(
                "\"2024-02-29T12:34:56.000007Z\"",
            ))
            .unwrap();
            assert_eq!(read, t);
            for bad in [
                "\"2024-02-29T12:34:56Z\"",
                "\"1969-12-31T23:59:59.999999Z\"",
                "\"\"",
                "17",
            ] {
                let err = serde::deserialize(&mut serde_json::Deserializer::from_str(bad));
                assert!(err.is_err(), "{bad}");
            }
            let err = serde::deserialize(&mut serde_json::Deserializer::from_str(
                "\"2024-02-29T12:34:56Z\"",
            ))
            .unwrap_err();
            assert!(
                err.to_string()
                    .contains("not a UTC date-time YYYY-MM-DDThh:mm:ss.ffffffZ"),
                "{err}"
            );
        }
    }
}
