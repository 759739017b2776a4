//! The authenticated person (MedMij OAUTH-18): assurance level, date of birth, and the
//! eligibility check of OAUTH-15, as the step of the [`Session`] right after authentication.
//!
//! # Dates
//!
//! Age is counted in the Netherlands' civil calendar. `now` becomes a Dutch civil date by the
//! EU summer-time rule for Europe/Amsterdam (in force since 1996), without a time-zone
//! database: CEST (UTC+2) from the last Sunday of March 01:00 UTC up to the last Sunday of
//! October 01:00 UTC, CET (UTC+1) otherwise ([`dutch_date`]). A person is eligible from
//! 00:00 Dutch time on the 16th birthday ([`sixteenth_birthday`]). A person born on 29
//! February turns 16 on 1 March when that year is not a leap year (the Dutch reading: the day
//! after 28 February).

use super::AuthorizationServer;
use super::config::ServerConfig;
use super::session::{ErrorCase, Redirect, Session, SessionError, Stage};
use crate::{PersonMessage, Subject, Zorgaanbiedernaam};
use std::fmt;
use std::time::SystemTime;
use time::{Date, Month, OffsetDateTime};

/// The assurance level (betrouwbaarheidsniveau) an authentication reached, DigiD's four
/// levels, ordered from low to high (MedMij OAUTH-18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AssuranceLevel {
    /// DigiD Basis (user name and password).
    Basis,
    /// DigiD Midden (with an SMS code or the app).
    Midden,
    /// DigiD Substantieel (the app with an identity document check).
    Substantieel,
    /// DigiD Hoog (identity document with chip).
    Hoog,
}

/// The minimum assurance level when the Zorgaanbieder set none
/// ([`ServerConfig::minimum_assurance`]): [`AssuranceLevel::Substantieel`], the level commonly
/// asked for medical data. The rulebook gives no figure (MedMij OAUTH-18): the Zorgaanbieder
/// sets its own, and this default is a choice of this library.
pub const DEFAULT_MINIMUM_ASSURANCE: AssuranceLevel = AssuranceLevel::Substantieel;

/// MedMij serves persons of 16 and older (MedMij OAUTH-15).
pub const MINIMUM_AGE: u8 = 16;

/// What the authenticator reports of the person (MedMij OAUTH-18): a local subject (never sent
/// to the client), the assurance level reached and the date of birth. Its `Debug` hides the
/// date of birth.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthenticatedPerson {
    subject: Subject,
    assurance: AssuranceLevel,
    birth_date: Date,
}

impl AuthenticatedPerson {
    /// The report.
    pub fn new(subject: Subject, assurance: AssuranceLevel, birth_date: Date) -> Self {
        Self {
            subject,
            assurance,
            birth_date,
        }
    }

    /// The local subject.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The assurance level reached.
    pub fn assurance(&self) -> AssuranceLevel {
        self.assurance
    }

    /// The date of birth.
    pub fn birth_date(&self) -> Date {
        self.birth_date
    }

    /// Whether the person is 16 or older at `now`, in Dutch civil time (MedMij OAUTH-15): the
    /// [`dutch_date`] of `now` is on or after the [`sixteenth_birthday`], so from 00:00 Dutch
    /// time on the birthday. A date out of range is not eligible.
    #[must_use]
    pub fn is_eligible_at(&self, now: SystemTime) -> bool {
        match (dutch_date(now), sixteenth_birthday(self.birth_date)) {
            (Some(today), Some(birthday)) => today >= birthday,
            _ => false,
        }
    }
}

impl fmt::Debug for AuthenticatedPerson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticatedPerson")
            .field("subject", &self.subject)
            .field("assurance", &self.assurance)
            .finish_non_exhaustive()
    }
}

/// The Dutch civil date (Europe/Amsterdam) at `now`, by the fixed EU rule: UTC+2 from the last
/// Sunday of March 01:00 UTC (inclusive) to the last Sunday of October 01:00 UTC (exclusive),
/// UTC+1 otherwise (the EU rule in force since 1996; no time-zone database is used). `None`
/// outside the `time` crate's range.
pub fn dutch_date(now: SystemTime) -> Option<Date> {
    let secs = unix_seconds(now)?;
    let year = OffsetDateTime::from_unix_timestamp(secs).ok()?.year();
    let summer_from = last_sunday_0100_utc(year, Month::March)?;
    let summer_until = last_sunday_0100_utc(year, Month::October)?;
    let offset = if (summer_from..summer_until).contains(&secs) {
        7200
    } else {
        3600
    };
    Some(
        OffsetDateTime::from_unix_timestamp(secs.checked_add(offset)?)
            .ok()?
            .date(),
    )
}

/// The date a person born on `birth_date` turns 16 (MedMij OAUTH-15): the same month and day
/// 16 years later; for 29 February in a year that is not a leap year, 1 March. `None` when
/// that date is out of the `time` crate's range.
pub fn sixteenth_birthday(birth_date: Date) -> Option<Date> {
    let year = birth_date.year().checked_add(i32::from(MINIMUM_AGE))?;
    match Date::from_calendar_date(year, birth_date.month(), birth_date.day()) {
        Ok(d) => Some(d),
        // Only 29 February can be missing in the target year.
        Err(_) => Date::from_calendar_date(year, Month::March, 1).ok(),
    }
}

/// Whole seconds since the Unix epoch, rounded down (also before the epoch).
fn unix_seconds(now: SystemTime) -> Option<i64> {
    match now.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).ok(),
        Err(e) => {
            let d = e.duration();
            let whole = i64::try_from(d.as_secs()).ok()?;
            let extra = i64::from(d.subsec_nanos() > 0);
            whole.checked_add(extra).map(|s| -s)
        }
    }
}

/// The last Sunday of `month` (March or October: 31 days) of `year`, 01:00 UTC, in Unix
/// seconds.
fn last_sunday_0100_utc(year: i32, month: Month) -> Option<i64> {
    let last = Date::from_calendar_date(year, month, 31).ok()?;
    let back = i32::from(last.weekday().number_days_from_sunday());
    let sunday = Date::from_julian_day(last.to_julian_day() - back).ok()?;
    sunday
        .midnight()
        .assume_utc()
        .unix_timestamp()
        .checked_add(3600)
}

/// Why the flow ended right after authentication (MedMij OAUTH-18, OAUTH-15). The ZA GW shows
/// the person [`PersonMessage`]; the client only sees the [`ErrorCase`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PersonRefusal {
    /// The assurance level reached is below the Zorgaanbieder's minimum: case 2 (MedMij
    /// OAUTH-18).
    AssuranceTooLow {
        /// The level reached.
        reached: AssuranceLevel,
        /// The Zorgaanbieder's minimum.
        minimum: AssuranceLevel,
    },
    /// The person is younger than 16: case 3, `No such resources.` (MedMij OAUTH-15).
    UnderMinimumAge,
}

impl PersonRefusal {
    /// The MedMij rule behind the refusal: OAUTH-18 (assurance level) or OAUTH-15 (age).
    #[must_use]
    pub fn rule(self) -> medmij_types::RuleId {
        match self {
            Self::AssuranceTooLow { .. } => medmij_types::RuleId::Oauth18,
            Self::UnderMinimumAge => medmij_types::RuleId::Oauth15,
        }
    }

    /// The OAUTH-12 case the flow ends with.
    pub fn case(self) -> ErrorCase {
        match self {
            Self::AssuranceTooLow { .. } => ErrorCase::IdentityNotEstablished,
            Self::UnderMinimumAge => ErrorCase::NoSuchResources,
        }
    }
}

impl PersonMessage for PersonRefusal {
    fn message_nl(&self) -> &'static str {
        match self {
            Self::AssuranceTooLow { .. } => {
                "U bent ingelogd met een te laag betrouwbaarheidsniveau voor deze zorgaanbieder. Log in met een hoger niveau (bijvoorbeeld de DigiD-app met identiteitscheck)."
            }
            Self::UnderMinimumAge => {
                "MedMij is voor personen van 16 jaar en ouder. Er worden geen gegevens uitgewisseld."
            }
        }
    }
    fn message_en(&self) -> &'static str {
        match self {
            Self::AssuranceTooLow { .. } => {
                "Your login's assurance level is too low for this care provider. Please log in with a higher level."
            }
            Self::UnderMinimumAge => {
                "MedMij is for persons aged 16 and older. No data will be exchanged."
            }
        }
    }
}

/// The result of [`Session::authenticated_person`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum PersonOutcome {
    /// Authenticated and eligible: the session waits for the data-availability check.
    Proceed,
    /// The flow ended: send the redirect (its case is [`PersonRefusal::case`]); for
    /// [`PersonRefusal::UnderMinimumAge`] tell the person first (MedMij OAUTH-15).
    Ended(Redirect, PersonRefusal),
}

impl Session {
    /// Step 1 with the authenticator's full report (MedMij OAUTH-11, OAUTH-18, OAUTH-15): an
    /// assurance level below `minimum` ends the flow as OAUTH-12 case 2; then a person under
    /// 16 at `now` (Dutch civil date) ends it as case 3, before the data-availability check and
    /// before consent. Otherwise the session waits for [`Session::data_available`].
    ///
    /// [`AuthorizationServer::authenticated_person`] takes `minimum` from the
    /// [`ServerConfig`]. (The older [`Session::authenticated`] carries no age nor level: a host
    /// that uses it checks both itself.)
    pub fn authenticated_person(
        &mut self,
        person: AuthenticatedPerson,
        minimum: AssuranceLevel,
        now: SystemTime,
    ) -> Result<PersonOutcome, SessionError> {
        if !matches!(self.stage, Stage::AwaitingAuthentication) {
            return Err(SessionError {
                step: "authenticated_person",
                stage: self.stage(),
            });
        }
        let refusal = if person.assurance < minimum {
            Some(PersonRefusal::AssuranceTooLow {
                reached: person.assurance,
                minimum,
            })
        } else if !person.is_eligible_at(now) {
            Some(PersonRefusal::UnderMinimumAge)
        } else {
            None
        };
        match refusal {
            Some(r) => Ok(PersonOutcome::Ended(self.error_redirect(r.case()), r)),
            None => {
                self.stage = Stage::AwaitingDataCheck(person.subject);
                Ok(PersonOutcome::Proceed)
            }
        }
    }
}

impl ServerConfig {
    /// Sets the minimum assurance level of a Zorgaanbieder (MedMij OAUTH-18); without one it is
    /// [`DEFAULT_MINIMUM_ASSURANCE`] (Substantieel).
    #[must_use]
    pub fn minimum_assurance(
        mut self,
        zorgaanbieder: Zorgaanbiedernaam,
        level: AssuranceLevel,
    ) -> Self {
        self.minimum_assurance.insert(zorgaanbieder, level);
        self
    }

    /// The minimum assurance level of a Zorgaanbieder (MedMij OAUTH-18).
    pub fn minimum_assurance_of(&self, zorgaanbieder: &Zorgaanbiedernaam) -> AssuranceLevel {
        self.minimum_assurance
            .get(zorgaanbieder)
            .copied()
            .unwrap_or(DEFAULT_MINIMUM_ASSURANCE)
    }
}

impl<S, C, R> AuthorizationServer<S, C, R> {
    /// [`Session::authenticated_person`] with the minimum assurance level the configuration
    /// sets for the scope's Zorgaanbieder (MedMij OAUTH-18, OAUTH-15). Touches no store.
    pub fn authenticated_person(
        &self,
        session: &mut Session,
        person: AuthenticatedPerson,
        now: SystemTime,
    ) -> Result<PersonOutcome, SessionError> {
        let minimum = self
            .config
            .minimum_assurance_of(session.request.scope.zorgaanbieder());
        session.authenticated_person(person, minimum, now)
    }
}

#[cfg(test)]
mod oauth_15 {
    use super::*;
    use std::time::Duration;

    fn at(secs: i64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap())
    }

    #[test]
    fn dst_edges_2026() {
        // 2026-03-29 01:00 UTC: summer time starts; 2026-10-25 01:00 UTC: it ends.
        let start = 1_774_746_000; // 2026-03-29T01:00:00Z
        assert_eq!(last_sunday_0100_utc(2026, Month::March), Some(start));
        let end = 1_792_890_000; // 2026-10-25T01:00:00Z
        assert_eq!(last_sunday_0100_utc(2026, Month::October), Some(end));
        // 2026-03-28T23:00:00Z is 00:00 CET on the 29th.
        assert_eq!(
            dutch_date(at(start - 7200)),
            Date::from_calendar_date(2026, Month::March, 29).ok()
        );
        assert_eq!(
            dutch_date(at(start - 7201)),
            Date::from_calendar_date(2026, Month::March, 28).ok()
        );
    }

    #[test]
    fn out_of_range_is_none_not_a_panic() {
        assert_eq!(
            unix_seconds(SystemTime::UNIX_EPOCH - Duration::from_millis(1)),
            Some(-1)
        );
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert_eq!(dutch_date(far), None);
        let max = Date::from_calendar_date(9999, Month::June, 1).ok();
        assert_eq!(max.and_then(sixteenth_birthday), None);
    }
}
