//! RFC 3339 (UTC) text for `SystemTime`, and calendar months (LOG-3),
//! on the `time` crate.

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
pub(crate) fn format(t: SystemTime) -> String {
    let nanos = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    i128::try_from(nanos)
        .ok()
        .and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(n).ok())
        .and_then(|dt| dt.format(FORMAT).ok())
        .filter(|s| s.len() == 27)
        .unwrap_or_else(|| MAX.to_owned())
}

/// Parses exactly what [`format`] writes (a valid date, 1970 or later).
pub(crate) fn parse(s: &str) -> Option<SystemTime> {
    if s.len() != 27 || !s.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    let dt = PrimitiveDateTime::parse(s, FORMAT).ok()?.assume_utc();
    if dt.year() < 1970 {
        return None;
    }
    let nanos = u64::try_from(dt.unix_timestamp_nanos()).ok()?;
    Some(UNIX_EPOCH + Duration::from_nanos(nanos))
}

/// `t` minus `months` calendar months, the day clamped to the length of the
/// target month (2025-03-31 minus one month is 2025-02-28), the time of day
/// kept. Before 1970 it gives the epoch.
pub(crate) fn minus_months(t: SystemTime, months: u32) -> SystemTime {
    let nanos = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let Some(dt) = i128::try_from(nanos)
        .ok()
        .and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(n).ok())
    else {
        return t;
    };
    let total = i64::from(dt.year()) * 12 + i64::from(u8::from(dt.month())) - 1 - i64::from(months);
    let (year, month) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    let Some(date) = i32::try_from(year).ok().and_then(|y| {
        let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
        time::Date::from_calendar_date(y, month, dt.day().min(month.length(y))).ok()
    }) else {
        return UNIX_EPOCH;
    };
    u64::try_from(dt.replace_date(date).unix_timestamp_nanos())
        .map_or(UNIX_EPOCH, |n| UNIX_EPOCH + Duration::from_nanos(n))
}

pub(crate) mod serde_rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use std::time::SystemTime;

    pub(crate) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(*t))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let s = <&str>::deserialize(d)?;
        super::parse(s).ok_or_else(|| {
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
    }

    #[test]
    fn months_are_calendar_months() {
        let t = parse("2025-03-31T10:00:00.000000Z").unwrap();
        assert_eq!(format(minus_months(t, 1)), "2025-02-28T10:00:00.000000Z");
        assert_eq!(format(minus_months(t, 13)), "2024-02-29T10:00:00.000000Z");
        assert_eq!(format(minus_months(t, 15)), "2023-12-31T10:00:00.000000Z");
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
}
