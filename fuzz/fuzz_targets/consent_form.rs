//! medmij-consent: the consent-form parsers (1.x `PostedDecision`, 2.x
//! `PostedV2Decision` and `PostedManagement`) never panic on arbitrary
//! bodies, and what parses re-encodes (as `application/x-www-form-urlencoded`)
//! to a body that parses to the same value, unless the re-encoding (which may
//! escape more than the input did) passes the 4096-byte limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medmij_consent::v2::{ManageAction, PostedManagement, PostedV2Decision};
use medmij_consent::{Decision, PostedDecision};
use url::form_urlencoded::Serializer;

fn decision(d: Decision) -> &'static str {
    match d {
        Decision::Granted => "grant",
        Decision::Refused => "refuse",
        Decision::Undetermined => unreachable!("a form never posts an undetermined decision"),
    }
}

/// The parsers refuse bodies longer than this.
const MAX_BODY: usize = 4096;

/// `again` parses to `parsed`, or is too long to be parsed at all.
fn same<T: PartialEq + std::fmt::Debug, E>(
    again: &str,
    parsed: T,
    parse: impl Fn(&str) -> Result<T, E>,
) {
    let reparsed = parse(again).ok();
    if again.len() <= MAX_BODY {
        assert_eq!(reparsed, Some(parsed), "{again}");
    } else {
        assert_eq!(reparsed, None, "{again}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };

    if let Ok(p) = PostedDecision::from_form(body) {
        let again = Serializer::new(String::new())
            .append_pair("flow", &p.flow.to_string())
            .append_pair("csrf_token", &p.csrf_token)
            .append_pair("decision", decision(p.decision))
            .finish();
        same(&again, p, PostedDecision::from_form);
    }

    if let Ok(p) = PostedV2Decision::from_form(body) {
        let mut s = Serializer::new(String::new());
        s.append_pair("flow", &p.flow.to_string())
            .append_pair("csrf_token", &p.csrf_token)
            .append_pair("decision", decision(p.decision));
        if p.indefinite {
            s.append_pair("indefinite", "yes");
        }
        let again = s.finish();
        same(&again, p, PostedV2Decision::from_form);
    }

    if let Ok(p) = PostedManagement::from_form(body) {
        let action = match p.action {
            ManageAction::Withdraw => "withdraw",
            ManageAction::Confirm => "confirm",
            ManageAction::Cancel => "cancel",
        };
        let again = Serializer::new(String::new())
            .append_pair("csrf_token", &p.csrf_token)
            .append_pair("consent", p.consent.as_str())
            .append_pair("action", action)
            .finish();
        same(&again, p, PostedManagement::from_form);
    }
});
