//! Refusals name their rule as a typed `RuleId` (not a string): each authorization-request
//! refusal (MedMij OAUTH-12 case 1), each resource refusal and each person refusal says
//! which rule it enforces, so a host can log and count refusals per rule.

mod common;
use common::*;
use medmij_oauth::*;
use medmij_types::RuleId;

/// An authorization request of `pairs`, in that order.
fn q(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The valid request's pairs with `key` replaced by `value` (or left out for `None`).
fn with(key: &str, value: Option<&str>) -> String {
    let base = [
        ("response_type", "code"),
        ("client_id", CLIENT),
        ("redirect_uri", REDIRECT),
        ("scope", "umcharderwijk~1"),
        ("state", "st"),
    ];
    let pairs: Vec<(&str, &str)> = base
        .iter()
        .filter_map(|&(k, v)| match (k == key, value) {
            (true, Some(x)) => Some((k, x)),
            (true, None) => None,
            (false, _) => Some((k, v)),
        })
        .collect();
    q(&pairs)
}

fn rule_of(query: &str) -> RuleId {
    let refused = server().authorize(query).expect_err(query);
    refused.cause().rule()
}

mod oauth_12 {
    use super::*;

    // MedMij OAUTH-12 case 1: every refusal of an authorization request names the rule
    // it enforces.
    #[test]
    fn each_authorization_refusal_names_its_rule() {
        assert!(server().authorize(&with("state", Some("st"))).is_ok());
        let long_state = "s".repeat(600);
        let cases: [(String, RuleId); 8] = [
            (with("state", None), RuleId::Oauth12),
            (
                format!("{}&scope=umcharderwijk~1", with("state", Some("st"))),
                RuleId::Oauth12,
            ),
            (with("response_type", Some("token")), RuleId::Oauth1),
            (
                with("client_id", Some("onbekend.example.nl")),
                RuleId::Oauth3,
            ),
            (
                with("redirect_uri", Some("https://elders.example.nl/cb")),
                RuleId::Oauth4,
            ),
            (with("scope", Some("umcharderwijk~1~2")), RuleId::Oauth5),
            (with("state", Some(&long_state)), RuleId::Oauth10),
            (with("state", Some(&"x".repeat(9000))), RuleId::Oauth14),
        ];
        for (query, rule) in cases {
            let got = rule_of(&query);
            assert_eq!(got, rule, "{query:.120}");
        }
        // Release 1.5 (several pairs allowed): Delen still takes exactly one (OAUTH-13).
        let multi = AuthorizationServer::new(
            config().allow_multiple_pairs(true),
            registry(),
            MemoryStore::new(),
        );
        let two_delen = with("scope", Some("umcharderwijk~4 umcharderwijk~6"));
        let refused = multi.authorize(&two_delen).expect_err("two Delen pairs");
        assert_eq!(refused.cause().rule(), RuleId::Oauth13);
    }

    // Resource refusals (cases 7 and 8) name theirs.
    #[test]
    fn each_resource_refusal_kind_names_its_rule() {
        use ResourceErrorKind::*;
        assert_eq!(MissingToken.rule(), RuleId::Oauth2);
        assert_eq!(Malformed.rule(), RuleId::Oauth2);
        assert_eq!(InvalidToken.rule(), RuleId::Oauth7);
        assert_eq!(WrongScope.rule(), RuleId::Oauth13);
        assert_eq!(BackendUnavailable.rule(), RuleId::Oauth12);
        // Person refusals after authentication (cases 2 and 3).
        assert_eq!(PersonRefusal::UnderMinimumAge.rule(), RuleId::Oauth15);
        let low = PersonRefusal::AssuranceTooLow {
            reached: AssuranceLevel::Basis,
            minimum: AssuranceLevel::Substantieel,
        };
        assert_eq!(low.rule(), RuleId::Oauth18);
    }
}
