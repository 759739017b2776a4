//! Retention (MedMij LOG-3): at least 12 and at most 15 months.

use std::time::SystemTime;

/// A retention setting outside 12..=15 months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "a retention of {months} months is refused: it must be at least 12 and at most 15 months (MedMij LOG-3)"
)]
pub struct RetentionError {
    /// The refused number of months.
    pub months: u32,
}

/// How long entries are kept (MedMij LOG-3), in calendar months, 12 to 15.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Retention {
    months: u32,
}

impl Retention {
    /// The shortest retention allowed.
    pub const MIN_MONTHS: u32 = 12;
    /// The longest retention allowed.
    pub const MAX_MONTHS: u32 = 15;

    /// A retention of `months` calendar months; refused outside 12..=15.
    pub fn months(months: u32) -> Result<Self, RetentionError> {
        if (Self::MIN_MONTHS..=Self::MAX_MONTHS).contains(&months) {
            Ok(Self { months })
        } else {
            Err(RetentionError { months })
        }
    }

    /// The number of months.
    pub fn get(self) -> u32 {
        self.months
    }

    /// Entries with a time before this are removed when pruning at `now`:
    /// `now` minus the months, on the calendar (day clamped to the month's
    /// length).
    pub fn cutoff(self, now: SystemTime) -> SystemTime {
        crate::time::minus_months(now, self.months)
    }
}
