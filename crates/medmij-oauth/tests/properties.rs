//! Property tests of the numbers in the rules: 900 s (MedMij OAUTH-7), single use (OAUTH-8),
//! uniqueness (OAUTH-6), and the scope grammar (OAUTH-5).

mod common;
use common::*;
use medmij_oauth::*;
use proptest::prelude::*;
use std::collections::HashSet;
use std::time::Duration;

fn delta() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0u64..2_000_000_000_000).prop_map(Duration::from_nanos),
        (899_999_999_000u64..900_000_001_000).prop_map(Duration::from_nanos),
        Just(LIFETIME),
    ]
}

proptest! {
    /// OAUTH-7: a code can be redeemed iff it is presented less than 900 s after issue.
    #[test]
    fn code_valid_for_exactly_900_seconds(start in 0u64..4_000_000_000, d in delta()) {
        let s = server();
        let t = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(start);
        let code = code_for(&s, "umcharderwijk~1", t);
        let out = s.token(Some(FORM_CONTENT_TYPE), &token_body(&code), &client(), t + d);
        prop_assert_eq!(out.response.status() == 200, d < LIFETIME);
    }

    /// OAUTH-7: a token works iff used less than 900 s after issue; OAUTH-8: one code gives
    /// at most one token, whatever the times of the presentations.
    #[test]
    fn token_valid_for_exactly_900_seconds(
        d_issue in (0u64..899).prop_map(Duration::from_secs),
        d_use in delta(),
        replays in prop::collection::vec(delta(), 0..4),
    ) {
        let s = server();
        let code = code_for(&s, "umcharderwijk~1", t0());
        let at = t0() + d_issue;
        let token = issued_token(&s.token(Some(FORM_CONTENT_TYPE), &token_body(&code), &client(), at));
        let h = format!("Bearer {token}");
        let ok = s.check_resource(Some(&h), &za(), &gd("1"), Interaction::Read, at + d_use).is_ok();
        prop_assert_eq!(ok, d_use < LIFETIME);
        for r in &replays {
            let out = s.token(Some(FORM_CONTENT_TYPE), &token_body(&code), &client(), at + *r);
            prop_assert_eq!(out.response.status(), 400);
        }
        if let Some(last) = replays.iter().max() {
            // OAUTH-8: from a replay on, the token is dead.
            let ok = s.check_resource(Some(&h), &za(), &gd("1"), Interaction::Read, at + *last).is_ok();
            prop_assert!(!ok);
        }
    }

    /// OAUTH-5: every well-formed scope prints back to itself; single form has one pair.
    #[test]
    fn scope_round_trip(
        naam in "[a-z]{3,50}",
        ids in prop::collection::hash_set("[!#-\\[\\]-~]{1,30}", 1..5),
    ) {
        let ids: Vec<String> = ids.into_iter().filter(|i| !i.contains(' ')).collect();
        let text = ids.iter().map(|i| format!("{naam}~{i}")).collect::<Vec<_>>().join(" ");
        let s = Scope::parse(&text, ScopeForm::Multiple).unwrap();
        prop_assert_eq!(s.to_string(), text.clone());
        prop_assert_eq!(s.zorgaanbieder().scope_part(), naam.as_str());
        prop_assert_eq!(Scope::parse(&text, ScopeForm::Single).is_ok(), ids.len() == 1);
    }

    /// OAUTH-5: the parser never panics and never accepts what it cannot print back.
    #[test]
    fn scope_parse_total(s in "\\PC{0,80}") {
        if let Ok(scope) = Scope::parse(&s, ScopeForm::Multiple) {
            prop_assert_eq!(scope.to_string(), s);
        }
    }
}

/// OAUTH-6: with the real CSPRNG, many codes and tokens are all distinct, v4 and lowercase.
#[test]
fn many_codes_and_tokens_are_distinct() {
    let s = server();
    let mut codes = HashSet::new();
    let mut tokens = HashSet::new();
    for _ in 0..2000 {
        let c = code_for(&s, "umcharderwijk~1", t0());
        let t = issued_token(&s.token(Some(FORM_CONTENT_TYPE), &token_body(&c), &client(), t0()));
        assert!(Code::parse(&c).is_some() && AccessToken::parse(&t).is_some());
        assert!(codes.insert(c));
        assert!(tokens.insert(t));
    }
}
