//! The authenticated person (MedMij OAUTH-18: assurance level, date of birth) and eligibility
//! (OAUTH-15: 16 and older, in Dutch civil time), in the core session and through the ZA GW
//! router (feature `axum`).

#[cfg(feature = "axum")]
mod axum_support;

use medmij_oauth::*;
use std::time::{Duration, SystemTime};
use time::{Date, Month, OffsetDateTime, Weekday};

const CLIENT: &str = "pgo.example.nl";
const REDIRECT: &str = "https://pgo.example.nl/cb";

fn za() -> Zorgaanbiedernaam {
    Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap()
}

fn other_za() -> Zorgaanbiedernaam {
    Zorgaanbiedernaam::new("huisartsjansen@medmij").unwrap()
}

fn config() -> ServerConfig {
    ServerConfig::new()
        .offer(
            za(),
            ScopeGegevensdienstId::new("1").unwrap(),
            UseCase::Verzamelen,
        )
        .offer(
            other_za(),
            ScopeGegevensdienstId::new("1").unwrap(),
            UseCase::Verzamelen,
        )
}

type Server = AuthorizationServer<MemoryStore, StaticClientRegistry>;

fn server_with(config: ServerConfig) -> Server {
    let ocl = StaticClientRegistry::new().with_client(ClientId::new(CLIENT).unwrap(), None);
    AuthorizationServer::new(config, ocl, MemoryStore::new())
}

fn session(server: &Server, scope: &str) -> Session {
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", scope)
        .append_pair("state", "st-9")
        .finish();
    server.authorize(&q).unwrap()
}

fn date(y: i32, m: u8, d: u8) -> Date {
    Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap()
}

fn person(level: AssuranceLevel, born: Date) -> AuthenticatedPerson {
    AuthenticatedPerson::new(Subject::new("person-7").unwrap(), level, born)
}

fn at_unix(secs: i64) -> SystemTime {
    if secs >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs as u64)
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    }
}

fn pair(location: &str, name: &str) -> Option<String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// An oracle for the Dutch offset, written apart from the library: it walks back from 31
/// March/October to the Sunday, and compares calendar fields (not Unix seconds).
fn oracle_offset_hours(utc: OffsetDateTime) -> i64 {
    let last_sunday = |month: Month| {
        let mut day = 31u8;
        while date(utc.year(), month as u8, day).weekday() != Weekday::Sunday {
            day -= 1;
        }
        day
    };
    let key = (utc.month() as u8, utc.day(), utc.hour());
    let start = (3u8, last_sunday(Month::March), 1u8);
    let end = (10u8, last_sunday(Month::October), 1u8);
    if key >= start && key < end { 2 } else { 1 }
}

fn oracle_dutch_date(unix: i64) -> Date {
    let utc = OffsetDateTime::from_unix_timestamp(unix).unwrap();
    OffsetDateTime::from_unix_timestamp(unix + 3600 * oracle_offset_hours(utc))
        .unwrap()
        .date()
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn oracle_birthday(born: Date) -> Date {
    let y = born.year() + 16;
    if born.month() == Month::February && born.day() == 29 && !is_leap(y) {
        date(y, 3, 1)
    } else {
        date(y, born.month() as u8, born.day())
    }
}

/// The UTC instant of 00:00 Dutch time on `day` (never inside a DST jump: those are at
/// 02:00/03:00 local).
fn dutch_midnight(day: Date) -> i64 {
    let utc_midnight = day.midnight().assume_utc().unix_timestamp();
    // 00:00 local is 23:00 or 22:00 UTC the day before; the offset at 22:00 UTC decides.
    let probe = OffsetDateTime::from_unix_timestamp(utc_midnight - 7200).unwrap();
    utc_midnight - 3600 * oracle_offset_hours(probe)
}

mod oauth_15 {
    use super::*;
    use proptest::prelude::*;

    /// Found by cargo-mutants: an instant before 1970 on a whole second is not rounded
    /// down one second further (midnight Dutch time on 1 January 1970 is that day).
    #[test]
    fn a_whole_second_before_the_epoch_keeps_its_dutch_date() {
        let midnight_nl = SystemTime::UNIX_EPOCH - Duration::from_secs(3600);
        assert_eq!(
            dutch_date(midnight_nl),
            Some(Date::from_calendar_date(1970, Month::January, 1).unwrap())
        );
        let just_before = midnight_nl - Duration::from_nanos(1);
        assert_eq!(
            dutch_date(just_before),
            Some(Date::from_calendar_date(1969, Month::December, 31).unwrap())
        );
    }

    /// The person under 16 reads why in English too (the page offers both).
    #[test]
    fn the_under_16_page_explains_in_english() {
        assert_eq!(
            PersonMessage::message_en(&PersonRefusal::UnderMinimumAge),
            "MedMij is for persons aged 16 and older. No data will be exchanged."
        );
    }

    fn any_date(from: i32, to: i32) -> impl Strategy<Value = Date> {
        (from..=to, 1u8..=12, 1u8..=31).prop_map(|(y, m, d)| {
            let m = Month::try_from(m).unwrap();
            let d = d.min(time::util::days_in_month(m, y));
            Date::from_calendar_date(y, m, d).unwrap()
        })
    }

    /// Born on 29 February: 16 on 29 February in a leap year, else on 1 March (the Dutch
    /// reading: the day after 28 February). Sixteen years from a leap year only miss a leap day
    /// across a century such as 2100.
    #[test]
    fn leap_day_births_turn_16_on_1_march_in_a_common_year() {
        assert_eq!(
            sixteenth_birthday(date(2084, 2, 29)),
            Some(date(2100, 3, 1))
        );
        assert_eq!(
            sixteenth_birthday(date(1884, 2, 29)),
            Some(date(1900, 3, 1))
        );
        assert_eq!(
            sixteenth_birthday(date(2008, 2, 29)),
            Some(date(2024, 2, 29))
        );
        assert_eq!(sixteenth_birthday(date(2010, 3, 1)), Some(date(2026, 3, 1)));
        let p = person(AssuranceLevel::Hoog, date(2084, 2, 29));
        let feb28 = dutch_midnight(date(2100, 2, 28));
        let mar1 = dutch_midnight(date(2100, 3, 1));
        assert!(!p.is_eligible_at(at_unix(feb28 + 43_200)));
        assert!(!p.is_eligible_at(at_unix(mar1 - 1)));
        assert!(p.is_eligible_at(at_unix(mar1)));
    }

    /// Known instants: the 16th birthday starts at 22:00 UTC the day before in summer and at
    /// 23:00 UTC in winter.
    #[test]
    fn eligible_from_dutch_midnight_in_both_periods() {
        // Summer: 16 on 2026-07-10; 00:00 CEST is 2026-07-09T22:00Z = 1783634400.
        let summer = person(AssuranceLevel::Hoog, date(2010, 7, 10));
        assert!(!summer.is_eligible_at(at_unix(1_783_634_399)));
        assert!(summer.is_eligible_at(at_unix(1_783_634_400)));
        // Winter: 16 on 2026-01-10; 00:00 CET is 2026-01-09T23:00Z = 1767999600.
        let winter = person(AssuranceLevel::Hoog, date(2010, 1, 10));
        assert!(!winter.is_eligible_at(at_unix(1_767_999_599)));
        assert!(winter.is_eligible_at(at_unix(1_767_999_600)));
        assert_eq!(dutch_date(at_unix(1_767_999_600)), Some(date(2026, 1, 10)));
        // Before 1970 and far outside the range: no panic, not eligible.
        assert!(!winter.is_eligible_at(at_unix(-1)));
        assert!(!winter.is_eligible_at(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::MAX / 2)));
    }

    /// The session: a person under 16 ends the flow right after authentication as case 3
    /// (`No such resources.`), before the data check and consent; the reason is typed.
    #[test]
    fn under_16_ends_as_case_3_before_the_data_check() {
        let server = server_with(config());
        let mut s = session(&server, "umcharderwijk~1");
        let now = at_unix(1_783_634_399); // 2026-07-09 23:59:59 CEST
        let out = server
            .authenticated_person(&mut s, person(AssuranceLevel::Hoog, date(2010, 7, 10)), now)
            .unwrap();
        let PersonOutcome::Ended(redirect, reason) = out else {
            panic!("not ended: {out:?}")
        };
        assert_eq!(reason, PersonRefusal::UnderMinimumAge);
        assert_eq!(reason.case(), ErrorCase::NoSuchResources);
        assert_eq!(redirect.case_number(), Some(3));
        let loc = redirect.location();
        assert!(loc.starts_with(REDIRECT), "{loc}");
        assert_eq!(pair(loc, "error").as_deref(), Some("access_denied"));
        assert_eq!(
            pair(loc, "error_description").as_deref(),
            Some("No such resources.")
        );
        assert_eq!(pair(loc, "state").as_deref(), Some("st-9"));
        // Nothing about the person reaches the client.
        assert!(!loc.contains("person-7") && !loc.contains("2010"), "{loc}");
        assert_eq!(s.stage(), SessionStage::Finished);
        assert_eq!(s.subject(), None);
        assert!(s.data_available(true).is_err());
        assert!(s.consent(ConsentDecision::Granted, now).is_err());
        assert_eq!(
            PersonMessage::message_nl(&reason),
            "MedMij is voor personen van 16 jaar en ouder. Er worden geen gegevens uitgewisseld."
        );
    }

    /// On the birthday the flow goes on to the data check, then consent and a code.
    #[test]
    fn sixteen_today_goes_on_to_the_data_check() {
        let server = server_with(config());
        let mut s = session(&server, "umcharderwijk~1");
        let now = at_unix(1_783_634_400);
        let out = server
            .authenticated_person(&mut s, person(AssuranceLevel::Hoog, date(2010, 7, 10)), now)
            .unwrap();
        assert_eq!(out, PersonOutcome::Proceed);
        assert_eq!(s.stage(), SessionStage::AwaitingDataCheck);
        assert_eq!(s.subject().map(Subject::as_str), Some("person-7"));
        // The step is taken once only (MedMij OAUTH-11 order).
        assert!(
            server
                .authenticated_person(&mut s, person(AssuranceLevel::Hoog, date(1990, 1, 1)), now)
                .is_err()
        );
        assert!(s.authenticated(Authentication::Failed).is_err());
        assert_eq!(s.data_available(true).unwrap(), None);
        assert!(matches!(
            s.consent(ConsentDecision::Granted, now).unwrap(),
            ConsentOutcome::Granted(_)
        ));
        let code = server.issue_code(&mut s, now).unwrap();
        assert_eq!(code.kind(), RedirectKind::Code);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Birth dates around the 16th birthday: eligible from 00:00 Dutch time on the
        /// birthday itself, never a second before.
        #[test]
        fn eligible_from_the_birthday_at_dutch_midnight(
            born in any_date(1955, 2080),
            days in -3i64..=3,
            secs in 0i64..86_400,
        ) {
            let birthday = oracle_birthday(born);
            prop_assert_eq!(sixteenth_birthday(born), Some(birthday));
            let p = person(AssuranceLevel::Hoog, born);
            let midnight = dutch_midnight(birthday);
            prop_assert!(p.is_eligible_at(at_unix(midnight)));
            prop_assert!(!p.is_eligible_at(at_unix(midnight - 1)));
            let t = midnight + days * 86_400 + secs;
            prop_assert_eq!(p.is_eligible_at(at_unix(t)), t >= midnight);
        }

        /// `now` near midnight UTC and near midnight Dutch time, in any season: the Dutch
        /// civil date and the verdict match the oracle.
        #[test]
        fn now_near_midnight_utc_and_dutch(
            day in any_date(1971, 2095),
            around in -4i64 * 3600..=4 * 3600,
            born_shift in -1i64..=1,
        ) {
            let t = day.midnight().assume_utc().unix_timestamp() + around;
            prop_assert_eq!(dutch_date(at_unix(t)), Some(oracle_dutch_date(t)));
            // Someone whose 16th birthday is the day before, on, or after `day`.
            let birthday = Date::from_julian_day(day.to_julian_day() + born_shift as i32).unwrap();
            let born = Date::from_calendar_date(birthday.year() - 16, birthday.month(), birthday.day())
                .unwrap_or_else(|_| date(birthday.year() - 16, 2, 28));
            let p = person(AssuranceLevel::Substantieel, born);
            prop_assert_eq!(
                p.is_eligible_at(at_unix(t)),
                oracle_dutch_date(t) >= oracle_birthday(born)
            );
        }

        /// Summer and winter time both, and the days the clocks change (last Sunday of March
        /// and of October), from 21:00 UTC the day before to 03:00 UTC.
        #[test]
        fn around_the_clock_changes(
            year in 1971i32..2095,
            month in prop::sample::select(vec![1u8, 3, 7, 10, 12]),
            day_back in 0u8..7,
            around in -3i64 * 3600..=3 * 3600,
        ) {
            // In March and October: the last Sunday (day_back = its distance from the 31st is
            // found by the oracle); in other months: the last week's days.
            let mut d = 31u8.min(time::util::days_in_month(Month::try_from(month).unwrap(), year));
            if month == 3 || month == 10 {
                while date(year, month, d).weekday() != Weekday::Sunday { d -= 1; }
            } else {
                d -= day_back;
            }
            let t = date(year, month, d).midnight().assume_utc().unix_timestamp() + around;
            prop_assert_eq!(dutch_date(at_unix(t)), Some(oracle_dutch_date(t)));
            let born = date(year - 16, month, d);
            prop_assert_eq!(
                person(AssuranceLevel::Hoog, born).is_eligible_at(at_unix(t)),
                t >= dutch_midnight(date(year, month, d))
            );
        }

        /// Every 29 February: the birthday is 29 February when the year 16 later is a leap
        /// year, 1 March otherwise.
        #[test]
        fn every_leap_day(k in 0i32..2000) {
            let y = k * 4;
            prop_assume!(is_leap(y) && y + 16 <= 9999);
            let b = sixteenth_birthday(date(y, 2, 29)).unwrap();
            if is_leap(y + 16) {
                prop_assert_eq!(b, date(y + 16, 2, 29));
            } else {
                prop_assert_eq!(b, date(y + 16, 3, 1));
            }
        }
    }
}

mod oauth_18 {
    use super::*;
    use AssuranceLevel::*;
    use proptest::prelude::*;

    /// The person below the assurance level reads why, in both languages.
    #[test]
    fn the_assurance_page_explains_in_both_languages() {
        let low = PersonRefusal::AssuranceTooLow {
            reached: Basis,
            minimum: Substantieel,
        };
        assert!(PersonMessage::message_en(&low).contains("assurance level is too low"));
        assert!(PersonMessage::message_nl(&low).contains("te laag betrouwbaarheidsniveau"));
    }

    #[test]
    fn levels_are_ordered_and_the_default_is_substantieel() {
        assert!(Basis < Midden && Midden < Substantieel && Substantieel < Hoog);
        assert_eq!(DEFAULT_MINIMUM_ASSURANCE, Substantieel);
        let c = ServerConfig::new().minimum_assurance(other_za(), Midden);
        assert_eq!(c.minimum_assurance_of(&za()), Substantieel);
        assert_eq!(c.minimum_assurance_of(&other_za()), Midden);
    }

    /// Below the Zorgaanbieder's minimum the flow ends as case 2 (`unauthorized_client`, no
    /// description), even for an adult; the level is checked before the age.
    #[test]
    fn below_the_minimum_is_case_2() {
        let server = server_with(config());
        let now = at_unix(1_783_634_400);
        for (born, what) in [(date(1980, 5, 5), "adult"), (date(2015, 5, 5), "child")] {
            let mut s = session(&server, "umcharderwijk~1");
            let out = server
                .authenticated_person(&mut s, person(Midden, born), now)
                .unwrap();
            let PersonOutcome::Ended(redirect, reason) = out else {
                panic!("{what}: not ended")
            };
            assert_eq!(
                reason,
                PersonRefusal::AssuranceTooLow {
                    reached: Midden,
                    minimum: Substantieel
                }
            );
            assert_eq!(redirect.case_number(), Some(2), "{what}");
            let loc = redirect.location();
            assert_eq!(pair(loc, "error").as_deref(), Some("unauthorized_client"));
            assert_eq!(pair(loc, "error_description"), None);
            assert_eq!(pair(loc, "state").as_deref(), Some("st-9"));
            assert_eq!(s.stage(), SessionStage::Finished);
        }
    }

    /// The minimum is per Zorgaanbieder: Midden is enough where it is set so, not elsewhere.
    #[test]
    fn the_minimum_is_per_zorgaanbieder() {
        let server = server_with(config().minimum_assurance(other_za(), Midden));
        let now = at_unix(1_783_634_400);
        let mut s = session(&server, "huisartsjansen~1");
        let out = server.authenticated_person(&mut s, person(Midden, date(1980, 5, 5)), now);
        assert_eq!(out, Ok(PersonOutcome::Proceed));
        let mut s = session(&server, "umcharderwijk~1");
        let out = server.authenticated_person(&mut s, person(Midden, date(1980, 5, 5)), now);
        assert!(matches!(
            out,
            Ok(PersonOutcome::Ended(
                _,
                PersonRefusal::AssuranceTooLow { .. }
            ))
        ));
    }

    /// The date of birth stays out of `Debug` (and so out of logs).
    #[test]
    fn debug_hides_the_birth_date() {
        let text = format!("{:?}", person(Hoog, date(1987, 11, 23)));
        assert!(!text.contains("1987") && !text.contains("23"), "{text}");
        assert!(text.contains("Hoog"), "{text}");
    }

    proptest! {
        /// An adult proceeds exactly when the level reached is at least the minimum.
        #[test]
        fn proceeds_iff_level_reaches_the_minimum(
            reached in prop::sample::select(vec![Basis, Midden, Substantieel, Hoog]),
            minimum in prop::sample::select(vec![Basis, Midden, Substantieel, Hoog]),
        ) {
            let server = server_with(config().minimum_assurance(za(), minimum));
            let mut s = session(&server, "umcharderwijk~1");
            let out = server
                .authenticated_person(&mut s, person(reached, date(1980, 5, 5)), at_unix(1_783_634_400))
                .unwrap();
            prop_assert_eq!(out == PersonOutcome::Proceed, reached >= minimum);
            prop_assert_eq!(
                s.stage() == SessionStage::AwaitingDataCheck,
                reached >= minimum
            );
        }
    }
}

/// Through the ZA GW router: the authenticator's full report, the plain page for a person
/// under 16 with the case 3 link back, case 2 below the minimum level.
#[cfg(feature = "axum")]
mod router {
    use super::axum_support::{
        Answer, TestAudit, TestConsent, TestData, TestFhir, authorize_uri, decide, request, send,
    };
    use super::*;
    use medmij_oauth::adapter::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Reports the person named by the callback's `person`, `level` and `born` parameters
    /// through [`Authenticator::complete_person`]; `complete` is never used.
    struct PersonAuth;

    impl Authenticator for PersonAuth {
        async fn start(&self, _flow: &FlowInfo, callback: &str) -> HttpResponse {
            HttpResponse::page(200, format!("<p>login</p>CALLBACK[{callback}]"))
        }
        async fn complete(&self, _flow: &FlowInfo, _request: &HostRequest) -> Authentication {
            Authentication::Failed
        }
        async fn complete_person(
            &self,
            _flow: &FlowInfo,
            request: &HostRequest,
        ) -> PersonAuthentication {
            let get = |name: &str| {
                form_urlencoded::parse(request.query.as_bytes())
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            let level = match get("level").as_str() {
                "basis" => AssuranceLevel::Basis,
                "midden" => AssuranceLevel::Midden,
                "hoog" => AssuranceLevel::Hoog,
                _ => AssuranceLevel::Substantieel,
            };
            let born = Date::parse(
                &get("born"),
                time::macros::format_description!("[year]-[month]-[day]"),
            );
            match (Subject::new(get("person")), born) {
                (Ok(s), Ok(b)) => {
                    PersonAuthentication::Person(AuthenticatedPerson::new(s, level, b))
                }
                _ => PersonAuthentication::Basic(Authentication::Failed),
            }
        }
    }

    /// Counts the data-availability calls (the check must not run for an ineligible person).
    #[derive(Clone, Default)]
    struct CountingData(Arc<AtomicUsize>);

    impl DataAvailability for CountingData {
        async fn available(&self, subject: &Subject, flow: &FlowInfo) -> Result<bool, HostError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            TestData.available(subject, flow).await
        }
    }

    /// 2026-07-10 00:00 CEST.
    const NOW: i64 = 1_783_634_400;

    fn gateway() -> (axum::Router, TestAudit, CountingData) {
        let audit = TestAudit::default();
        let data = CountingData::default();
        let limits = FlowLimits::default();
        let server = AsyncAuthorizationServer::new(AuthorizationServer::new(
            axum_support::config(),
            axum_support::ocl(),
            MemoryStore::new(),
        ));
        let settings = ZaSettings {
            clock: Clock::new(|| at_unix(NOW)),
            ..ZaSettings::default()
        };
        let gw = ZaGateway::new(
            server,
            PendingFlows::new(MemoryFlowStore::new(limits), limits),
            ZaHooks {
                authenticator: PersonAuth,
                data: data.clone(),
                consent: TestConsent,
                fhir: TestFhir::default(),
                audit: audit.clone(),
                pages: DefaultPages,
            },
            settings,
        );
        (gw.router(), audit, data)
    }

    /// Authorize and log in with `extra` callback parameters: (cookie, callback answer).
    async fn login(router: &axum::Router, extra: &str) -> (String, String, Answer) {
        let a = send(
            router,
            request(
                "GET",
                &authorize_uri("umcharderwijk~1", "st-1"),
                "192.0.2.9",
                None,
                None,
            ),
        )
        .await;
        let cookie = a.cookie(ZA_COOKIE).unwrap();
        let cb = format!("{}&{extra}", a.marked("CALLBACK"));
        let c = send(
            router,
            request("GET", &cb, "192.0.2.9", Some(&cookie), None),
        )
        .await;
        (cookie, cb, c)
    }

    fn href(body: &str) -> String {
        let start = body.find("href=\"").expect("a link") + 6;
        let end = body[start..].find('"').unwrap() + start;
        body[start..end].replace("&amp;", "&")
    }

    mod oauth_15 {
        use super::*;

        /// A person of 15 sees the plain page (MedMij is for 16 and older) with "Terug naar uw
        /// PGO" linking the case 3 redirect; the data check never runs; the flow is over.
        #[tokio::test]
        async fn under_16_sees_the_page_and_the_client_gets_case_3() {
            let (router, audit, data) = gateway();
            let (cookie, cb, c) = login(&router, "person=kim&born=2010-07-11").await;
            assert_eq!(c.status, 200, "{}", c.body);
            assert!(
                c.body
                    .contains("MedMij is voor personen van 16 jaar en ouder"),
                "{}",
                c.body
            );
            assert!(c.body.contains(">Terug naar uw PGO</a>"), "{}", c.body);
            assert_eq!(c.header("x-frame-options").as_deref(), Some("DENY"));
            assert_eq!(c.header("cache-control").as_deref(), Some("no-store"));
            assert_eq!(c.header("referrer-policy").as_deref(), Some("no-referrer"));
            let back = href(&c.body);
            assert!(back.starts_with(axum_support::REDIRECT), "{back}");
            assert_eq!(pair(&back, "error").as_deref(), Some("access_denied"));
            assert_eq!(
                pair(&back, "error_description").as_deref(),
                Some("No such resources.")
            );
            assert_eq!(pair(&back, "state").as_deref(), Some("st-1"));
            assert!(!back.contains("kim") && !back.contains("2010"), "{back}");
            assert!(c.header("set-cookie").unwrap().contains("Max-Age=0"));
            assert_eq!(
                data.0.load(Ordering::SeqCst),
                0,
                "no data check for a minor"
            );
            let e = audit.with_case(3);
            assert_eq!(e.len(), 1);
            assert!(!e[0].success);
            assert_eq!(e[0].endpoint, Endpoint::Login);
            assert_eq!(e[0].subject.as_ref().map(Subject::as_str), Some("kim"));
            // The flow is finished: no consent can follow, nor a second login.
            let flow = cb.split("flow=").nth(1).unwrap().split('&').next().unwrap();
            let action = format!("/authorize/consent?flow={flow}");
            let d = decide(&router, "192.0.2.9", &cookie, &action, "yes").await;
            assert_eq!(d.status, 400, "{}", d.body);
            let again = send(
                &router,
                request("GET", &cb, "192.0.2.9", Some(&cookie), None),
            )
            .await;
            assert_eq!(again.status, 400, "{}", again.body);
            assert!(audit.all().iter().all(|e| e.consent.is_none()));
        }

        /// Sixteen today (at 00:00 Dutch time): on to the data check and the consent page,
        /// then a code.
        #[tokio::test]
        async fn sixteen_today_reaches_consent() {
            let (router, _, data) = gateway();
            let (cookie, _, c) = login(&router, "person=kim&born=2010-07-10").await;
            assert_eq!(c.status, 200, "{}", c.body);
            assert_eq!(data.0.load(Ordering::SeqCst), 1);
            let action = c.marked("ACTION");
            let d = decide(&router, "192.0.2.9", &cookie, &action, "yes").await;
            assert_eq!(d.status, 302, "{}", d.body);
            assert!(pair(&d.location(), "code").is_some());
        }
    }

    mod oauth_18 {
        use super::*;

        /// Below the default minimum (Substantieel): case 2 redirect, no page, no data check.
        #[tokio::test]
        async fn below_the_minimum_is_a_case_2_redirect() {
            let (router, audit, data) = gateway();
            let (_, _, c) = login(&router, "person=piet&born=1970-01-01&level=midden").await;
            assert_eq!(c.status, 302, "{}", c.body);
            let loc = c.location();
            assert_eq!(pair(&loc, "error").as_deref(), Some("unauthorized_client"));
            assert_eq!(pair(&loc, "state").as_deref(), Some("st-1"));
            assert_eq!(data.0.load(Ordering::SeqCst), 0);
            assert_eq!(audit.with_case(2).len(), 1);
            // Hoog is enough.
            let (_, _, ok) = login(&router, "person=piet&born=1970-01-01&level=hoog").await;
            assert_eq!(ok.status, 200, "{}", ok.body);
            assert!(ok.body.contains("ACTION["), "{}", ok.body);
        }
    }
}
