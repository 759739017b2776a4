//! Calendar months (LOG-3) on the `time` crate; the RFC 3339 text form is
//! the one of `medmij_types::rfc3339`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use time::OffsetDateTime;

pub(crate) use medmij_types::rfc3339::{format, parse};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_calendar_months() {
        let t = parse("2025-03-31T10:00:00.000000Z").unwrap();
        assert_eq!(format(minus_months(t, 1)), "2025-02-28T10:00:00.000000Z");
        assert_eq!(format(minus_months(t, 13)), "2024-02-29T10:00:00.000000Z");
        assert_eq!(format(minus_months(t, 15)), "2023-12-31T10:00:00.000000Z");
    }
}
