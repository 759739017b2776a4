//! The PGO GW client (issue 3, item 2), against the AS of this crate and against hand-made
//! answers.

mod common;
use common::*;
use medmij_oauth::*;
use medmij_types::RuleId;
use std::time::Duration;

const AUTH_EP: &str = "https://za.example.nl/oauth/authorize";
const TOKEN_EP: &str = "https://za.example.nl:8443/oauth/token";

fn pgo() -> Client {
    Client::new(client(), REDIRECT).unwrap()
}

fn scope1() -> Scope {
    Scope::parse("umcharderwijk~1", ScopeForm::Single).unwrap()
}

/// The query part of a redirect Location.
fn query_of(location: &str) -> String {
    url::Url::parse(location)
        .unwrap()
        .query()
        .unwrap()
        .to_owned()
}

/// A random source that hands out the bytes 0, 1, 2, ... in turn, so that what a client
/// draws from it is known.
#[derive(Default)]
struct Counting(std::cell::Cell<u8>);

impl RandomSource for Counting {
    fn fill(&self, dest: &mut [u8; 16]) {
        for b in dest {
            *b = self.0.get();
            self.0.set(self.0.get().wrapping_add(1));
        }
    }
}

/// Lower-case hex, two digits per byte, high nibble first.
fn hex_of(bytes: impl IntoIterator<Item = u8>) -> String {
    bytes.into_iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn client_and_server_complete_a_flow() {
    let s = server();
    let (url, pending) = pgo().start(AUTH_EP, TOKEN_EP, scope1()).unwrap();
    assert!(url.starts_with("https://za.example.nl/oauth/authorize?response_type=code&"));
    let state = param(&url, "state").unwrap();
    assert_eq!(state.len(), 64, "256-bit state, OAUTH-10");
    // The AS sees exactly the query the client built.
    let mut sess = s.authorize(&query_of(&url)).unwrap();
    sess.authenticated(Authentication::Established(subject()))
        .unwrap();
    sess.data_available(true).unwrap();
    assert!(matches!(
        sess.consent(ConsentDecision::Granted, t0()).unwrap(),
        ConsentOutcome::Granted(_)
    ));
    let r = s.issue_code(&mut sess, t0()).unwrap();
    let got = pending
        .handle_redirect(&query_of(r.location()), t0())
        .unwrap();
    assert_eq!(got.scope, scope1());
    let req = pending.token_request(&got.code);
    assert_eq!(req.url, TOKEN_EP);
    assert!(!format!("{req:?}").contains(&got.code.to_string()), "LOG-4");
    let out = s.token(Some(FORM_CONTENT_TYPE), &req.body, &client(), t0());
    let grant = pending
        .parse_token_response(out.response.status(), &out.response.body(), t0())
        .unwrap();
    assert_eq!(grant.expires_at, t0() + LIFETIME);
    assert!(grant.is_valid_at(t0() + Duration::from_secs(899)));
    assert!(!grant.is_valid_at(t0() + LIFETIME));
    let access = s
        .check_resource(
            Some(&grant.authorization_header()),
            &za(),
            &gd("1"),
            Interaction::Read,
            t0(),
        )
        .unwrap();
    assert_eq!(access.subject, subject());
    // A replayed token request gets case 6.
    let out = s.token(Some(FORM_CONTENT_TYPE), &req.body, &client(), t0());
    let e = pending
        .parse_token_response(out.response.status(), &out.response.body(), t0())
        .unwrap_err();
    assert!(e.is_invalid_grant());
}

#[test]
fn every_as_answer_maps_to_a_typed_outcome() {
    let s = server();
    let c = pgo();
    type Drive = fn(&mut Session) -> Redirect;
    let cases: [(Drive, ErrorCase); 4] = [
        (
            |x| x.authenticated(Authentication::Failed).unwrap().unwrap(),
            ErrorCase::IdentityNotEstablished,
        ),
        (
            |x| {
                x.authenticated(Authentication::Established(subject()))
                    .unwrap();
                x.data_available(false).unwrap().unwrap()
            },
            ErrorCase::NoSuchResources,
        ),
        (
            |x| {
                x.authenticated(Authentication::Established(subject()))
                    .unwrap();
                x.data_available(true).unwrap();
                match x.consent(ConsentDecision::Refused, t0()).unwrap() {
                    ConsentOutcome::Refused(_, r) => r,
                    _ => unreachable!(),
                }
            },
            ErrorCase::Denied,
        ),
        (
            |x| {
                x.authenticated(Authentication::Established(subject()))
                    .unwrap();
                x.data_available(true).unwrap();
                match x.consent(ConsentDecision::Undetermined, t0()).unwrap() {
                    ConsentOutcome::Undetermined(r) => r,
                    _ => unreachable!(),
                }
            },
            ErrorCase::Failed,
        ),
    ];
    for (drive, case) in cases {
        let (url, pending) = c.start(AUTH_EP, TOKEN_EP, scope1()).unwrap();
        let mut sess = s.authorize(&query_of(&url)).unwrap();
        let r = drive(&mut sess);
        let e = pending
            .handle_redirect(&query_of(r.location()), t0())
            .unwrap_err();
        assert_eq!(e, CallbackError::Case(case));
        assert!(!e.message_nl().is_empty() && !e.message_en().is_empty());
        assert_ne!(e.message_nl(), e.message_en());
    }
}

#[test]
fn token_responses_are_parsed_strictly() {
    let (_, pending) = pgo().start(AUTH_EP, TOKEN_EP, scope1()).unwrap();
    let tok = "3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b";
    let good = serde_json::json!({"access_token": tok, "token_type": "bearer", "expires_in": 900, "scope": "umcharderwijk~1"});
    assert!(
        pending
            .parse_token_response(200, &good.to_string(), t0())
            .is_ok()
    );
    let with = |k: &str, v: serde_json::Value| {
        let mut j = good.clone();
        j[k] = v;
        j.to_string()
    };
    let without = |k: &str| {
        let mut j = good.clone();
        j.as_object_mut().unwrap().remove(k);
        j.to_string()
    };
    let invalid = |field, rule| TokenResponseError::Invalid { field, rule };
    let cases = [
        (
            with("token_type", "mac".into()),
            invalid("token_type", RuleId::Oauth2),
        ),
        (
            with("expires_in", 3600.into()),
            invalid("expires_in", RuleId::Oauth7),
        ),
        (
            with("expires_in", "900".into()),
            invalid("expires_in", RuleId::Oauth7),
        ),
        (without("expires_in"), invalid("expires_in", RuleId::Oauth7)),
        (
            with("scope", "umcharderwijk~3".into()),
            invalid("scope", RuleId::Oauth5),
        ),
        (without("scope"), invalid("scope", RuleId::Oauth5)),
        (
            with("access_token", tok.to_uppercase().into()),
            invalid("access_token", RuleId::Oauth6),
        ),
        (
            with("refresh_token", "r".into()),
            invalid("refresh_token", RuleId::Oauth1),
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(
            pending.parse_token_response(200, &body, t0()).unwrap_err(),
            expected,
            "{body}"
        );
    }
    assert!(
        pending
            .parse_token_response(200, &with("token_type", "Bearer".into()), t0())
            .is_ok()
    );
    assert_eq!(
        pending
            .parse_token_response(200, "not json", t0())
            .unwrap_err(),
        TokenResponseError::NotJson
    );
    assert_eq!(
        pending.parse_token_response(503, "{}", t0()).unwrap_err(),
        TokenResponseError::Status(503)
    );
    let e = pending
        .parse_token_response(
            400,
            r#"{"error":"invalid_grant","error_description":"x"}"#,
            t0(),
        )
        .unwrap_err();
    assert!(e.is_invalid_grant());
    // Duplicate keys are refused (serde), not silently resolved.
    let dup = format!(
        r#"{{"access_token":"{tok}","access_token":"{tok}","token_type":"bearer","expires_in":900,"scope":"umcharderwijk~1"}}"#
    );
    assert_eq!(
        pending.parse_token_response(200, &dup, t0()).unwrap_err(),
        TokenResponseError::NotJson
    );
}

#[test]
fn client_config_follows_oauth_4_and_lists_3() {
    assert_eq!(
        Client::new(client(), "http://pgo.example.nl/cb").unwrap_err(),
        ClientError::RedirectUri
    );
    assert_eq!(
        Client::new(client(), "https://evil.example.nl/cb").unwrap_err(),
        ClientError::RedirectUri
    );
    assert_eq!(
        Client::new(client(), "https://pgo.example.nl/cb#x").unwrap_err(),
        ClientError::RedirectUri
    );
    let c = pgo();
    assert_eq!(
        c.start("https://za.example.nl:443/a", TOKEN_EP, scope1())
            .unwrap_err(),
        ClientError::Endpoint {
            field: "authorization_endpoint"
        }
    );
    assert_eq!(
        c.start(AUTH_EP, "http://za.example.nl/t", scope1())
            .unwrap_err(),
        ClientError::Endpoint {
            field: "token_endpoint"
        }
    );
    for ok in ["https://a.nl", "https://a.b-c.nl/x/y", "https://a.n"] {
        assert!(is_zal_uri(ok, false), "{ok}");
    }
    for bad in [
        "https://a.nl/",
        "https://a.nl//x",
        "https://a.nl/x?y",
        "https://A.nl",
        "https://nl",
        "https://a.nl:1",
    ] {
        assert!(!is_zal_uri(bad, false), "{bad}");
    }
    assert!(is_zal_uri("https://a.nl:12345/t", true));
    for bad in [
        "https://a.nl:123456/t",
        "https://a.n/t",
        "https://a.nl:/t",
        "https://a.nl:x/t",
    ] {
        assert!(!is_zal_uri(bad, true), "{bad}");
    }
}

mod oauth_10 {
    use super::*;

    /// MedMij OAUTH-10: the `state` carries all 256 bits drawn, both nibbles of every byte
    /// (a state that kept only the low nibbles would have 128 bits).
    #[test]
    fn the_state_is_every_bit_drawn() {
        let c = Client::with_random(client(), REDIRECT, Counting::default()).unwrap();
        let (url, pending) = c.start(AUTH_EP, TOKEN_EP, scope1()).unwrap();
        let expected = hex_of(0..32);
        assert_eq!(pending.state().as_str(), expected);
        assert_eq!(param(&url, "state").unwrap(), expected);
        // The next flow draws the next 32 bytes.
        let (_, next) = c.start(AUTH_EP, TOKEN_EP, scope1()).unwrap();
        assert_eq!(next.state().as_str(), hex_of(32..64));
    }

    #[test]
    fn states_are_fresh() {
        let c = pgo();
        let a = c.start(AUTH_EP, TOKEN_EP, scope1()).unwrap().1;
        let b = c.start(AUTH_EP, TOKEN_EP, scope1()).unwrap().1;
        assert_ne!(a.state(), b.state());
    }

    #[test]
    fn state_is_checked_before_anything_else() {
        let (_, pending) = pgo().start(AUTH_EP, TOKEN_EP, scope1()).unwrap();
        let code = "3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b";
        for q in [
            format!("code={code}"),
            format!("code={code}&state=wrong"),
            format!(
                "code={code}&state={}&state={}",
                pending.state().as_str(),
                pending.state().as_str()
            ),
            "error=access_denied&error_description=Authorization+denied.&state=x".to_owned(),
        ] {
            assert_eq!(
                pending.handle_redirect(&q, t0()),
                Err(CallbackError::StateMismatch),
                "{q}"
            );
        }
        let st = pending.state().as_str();
        assert_eq!(
            pending.handle_redirect(&format!("code=ABC&state={st}"), t0()),
            Err(CallbackError::Malformed { field: "code" })
        );
        assert!(matches!(
            pending.handle_redirect(&format!("error=server_error&state={st}"), t0()),
            Err(CallbackError::Other { .. })
        ));
        assert_eq!(
            pending.handle_redirect(&format!("state={st}"), t0()),
            Err(CallbackError::Malformed { field: "code" })
        );
    }
}

mod lists_3 {
    use super::*;

    /// MedMij LISTS-3: every host label of a ZAL URI starts with `[a-z0-9]` and holds only
    /// `[a-z0-9-]`; a label that breaks only one of the two is refused, on both channels.
    #[test]
    fn every_host_label_is_checked_at_its_start_and_throughout() {
        for host in ["-a.nl", "a.-nl", "a_b.nl", "aB.nl", "a.n_l", "a.nL"] {
            for (uri, back) in [
                (format!("https://{host}"), false),
                (format!("https://{host}/t"), true),
            ] {
                assert!(!is_zal_uri(&uri, back), "{uri} back channel {back}");
            }
        }
        assert!(is_zal_uri("https://a-0.b9.nl", false));
        assert!(is_zal_uri("https://a-0.b9.nl/t", true));
    }
}

mod oauth_3 {
    use super::*;

    /// MedMij OAUTH-3: the token request goes out as a form post with the `Content-Type`
    /// the token endpoint accepts, and asks for JSON (RFC 6749 4.1.3, 5.1).
    #[test]
    fn the_token_request_headers_are_the_ones_the_token_endpoint_takes() {
        let s = server();
        let (url, pending) = pgo().start(AUTH_EP, TOKEN_EP, scope1()).unwrap();
        let mut sess = s.authorize(&query_of(&url)).unwrap();
        sess.authenticated(Authentication::Established(subject()))
            .unwrap();
        sess.data_available(true).unwrap();
        assert!(matches!(
            sess.consent(ConsentDecision::Granted, t0()).unwrap(),
            ConsentOutcome::Granted(_)
        ));
        let r = s.issue_code(&mut sess, t0()).unwrap();
        let got = pending
            .handle_redirect(&query_of(r.location()), t0())
            .unwrap();
        let req = pending.token_request(&got.code);
        assert_eq!(
            req.headers(),
            [
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Accept", "application/json"),
            ]
        );
        let content_type = req
            .headers()
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| *v);
        let out = s.token(content_type, &req.body, &client(), t0());
        assert_eq!(out.response.status(), 200);
        assert!(
            pending
                .parse_token_response(out.response.status(), &out.response.body(), t0())
                .is_ok()
        );
    }
}

mod oauth_12 {
    use super::*;

    /// A sentence for a person: several words, ending in a full stop.
    fn plain(text: &str) -> bool {
        text.split_whitespace().count() >= 5 && text.ends_with('.')
    }

    /// MedMij OAUTH-12: each way a flow ends is shown to the person in plain words, in
    /// Dutch and in English: the AS's cases 2-5, a bad or missing `state`, any other answer,
    /// and a refused token request (case 6).
    #[test]
    fn the_person_is_told_in_plain_dutch_and_english() {
        let callback = [
            CallbackError::StateMismatch,
            CallbackError::Case(ErrorCase::IdentityNotEstablished),
            CallbackError::Case(ErrorCase::NoSuchResources),
            CallbackError::Case(ErrorCase::Denied),
            CallbackError::Case(ErrorCase::Failed),
            CallbackError::Malformed { field: "code" },
            CallbackError::Other {
                error: "server_error".into(),
                description: None,
            },
        ];
        let token = [
            TokenResponseError::Status(503),
            TokenResponseError::NotJson,
            TokenResponseError::Refused {
                status: 400,
                error: "invalid_grant".into(),
                description: None,
            },
        ];
        let messages = callback
            .iter()
            .map(|e| (e.message_nl(), e.message_en()))
            .chain(token.iter().map(|e| (e.message_nl(), e.message_en())));
        let dutch = [
            "gegevens",
            "aanvraag",
            "opnieuw",
            "toestemming",
            "zorgaanbieder",
        ];
        let english = ["data", "request", "again", "permission", "care provider"];
        for (nl, en) in messages {
            assert!(plain(nl) && plain(en), "{nl} / {en}");
            assert!(dutch.iter().any(|w| nl.contains(w)), "{nl}");
            assert!(english.iter().any(|w| en.contains(w)), "{en}");
            assert!(!english.iter().any(|w| nl.contains(w)), "{nl}");
        }
        // The cases the person can act on differently are told apart.
        let nl: std::collections::HashSet<_> =
            callback[..5].iter().map(|e| e.message_nl()).collect();
        let en: std::collections::HashSet<_> =
            callback[..5].iter().map(|e| e.message_en()).collect();
        assert_eq!((nl.len(), en.len()), (5, 5));
    }
}
