//! The authorization-server flow in the order of MedMij OAUTH-11 (with Delen, OAUTH-13) and the
//! resource check.

mod common;
use common::*;
use medmij_oauth::*;
use std::time::Duration;

#[test]
fn happy_flow_verzamelen() {
    let s = server();
    let mut sess = s.authorize(&query("umcharderwijk~1", "csrf-1")).unwrap();
    assert_eq!(sess.request().use_case(), UseCase::Verzamelen);
    assert_eq!(sess.stage(), SessionStage::AwaitingAuthentication);
    sess.authenticated(Authentication::Established(subject()))
        .unwrap();
    sess.data_available(true).unwrap();
    let ConsentOutcome::Granted(ev) = sess.consent(ConsentDecision::Granted, t0()).unwrap() else {
        panic!()
    };
    assert_eq!(ev.decision, ConsentDecision::Granted); // MedMij CONSENT-3
    let r = s.issue_code(&mut sess, t0()).unwrap();
    assert_eq!(r.kind(), RedirectKind::Code);
    assert_eq!(param(r.location(), "state").as_deref(), Some("csrf-1")); // OAUTH-10
    let code = param(r.location(), "code").unwrap();
    assert!(
        Code::parse(&code).is_some(),
        "OAUTH-6 canonical UUID v4: {code}"
    );
    assert!(
        !format!("{r:?}").contains(&code),
        "LOG-4: Debug hides the code"
    );

    let out = s.token(
        Some(FORM_CONTENT_TYPE),
        &token_body(&code),
        &client(),
        t0() + Duration::from_secs(10),
    );
    assert_eq!(out.response.status(), 200);
    let json: serde_json::Value = serde_json::from_str(&out.response.body()).unwrap();
    assert_eq!(json["token_type"], "bearer");
    assert_eq!(json["expires_in"], 900); // OAUTH-7
    assert_eq!(json["scope"], "umcharderwijk~1"); // OAUTH-5
    assert!(json.get("refresh_token").is_none()); // OAUTH-1
    assert_eq!(json.as_object().unwrap().len(), 4);
    let token = json["access_token"].as_str().unwrap();
    assert!(AccessToken::parse(token).is_some());
    assert!(matches!(out.event, TokenEvent::Issued { .. }));

    let header = format!("Bearer {token}");
    let now = t0() + Duration::from_secs(20);
    let ok = s
        .check_resource(Some(&header), &za(), &gd("1"), Interaction::Read, now)
        .unwrap();
    assert_eq!(ok.subject, subject());
    assert_eq!(ok.client_id, client());
    assert_eq!(ok.expires_at, t0() + Duration::from_secs(910));
    // Scope-bound (OAUTH-5) and read-only for Verzamelen (OAUTH-13).
    for (g, i) in [("3", Interaction::Read), ("1", Interaction::Write)] {
        let e = s
            .check_resource(Some(&header), &za(), &gd(g), i, now)
            .unwrap_err();
        assert_eq!(e.kind(), ResourceErrorKind::WrongScope);
        assert_eq!(e.case_number(), 7);
    }
    // OAUTH-7: valid for exactly 900 s from issue.
    let issued = t0() + Duration::from_secs(10);
    assert!(
        s.check_resource(
            Some(&header),
            &za(),
            &gd("1"),
            Interaction::Read,
            issued + Duration::from_millis(899_999)
        )
        .is_ok()
    );
    assert_eq!(
        s.check_resource(
            Some(&header),
            &za(),
            &gd("1"),
            Interaction::Read,
            issued + LIFETIME
        )
        .unwrap_err()
        .kind(),
        ResourceErrorKind::InvalidToken
    );
    // Case-insensitive scheme, RFC 9110 11.1.
    assert!(
        s.check_resource(
            Some(&format!("bearer {token}")),
            &za(),
            &gd("1"),
            Interaction::Read,
            now
        )
        .is_ok()
    );
}

#[test]
fn delen_is_single_pair_and_write_only() {
    let s = AuthorizationServer::new(
        config().allow_multiple_pairs(true),
        registry(),
        MemoryStore::new(),
    );
    // OAUTH-5/13: Delen exactly one pair, never mixed with Verzamelen.
    for scope in [
        "umcharderwijk~4 umcharderwijk~6",
        "umcharderwijk~1 umcharderwijk~4",
    ] {
        assert_eq!(
            s.authorize(&query(scope, "s")).unwrap_err().cause(),
            &InvalidCause::DelenNotSingle,
            "{scope}"
        );
    }
    let code = code_for(&s, "umcharderwijk~4", t0());
    let token =
        issued_token(&s.token(Some(FORM_CONTENT_TYPE), &token_body(&code), &client(), t0()));
    let h = format!("Bearer {token}");
    assert!(
        s.check_resource(Some(&h), &za(), &gd("4"), Interaction::Write, t0())
            .is_ok()
    );
    assert!(
        s.check_resource(Some(&h), &za(), &gd("4"), Interaction::Read, t0())
            .is_err()
    );
}

#[test]
fn multi_pair_verzamelen_when_switched_on() {
    let s = AuthorizationServer::new(
        config().allow_multiple_pairs(true),
        registry(),
        MemoryStore::new(),
    );
    let code = code_for(&s, "umcharderwijk~1 umcharderwijk~3", t0());
    let out = s.token(Some(FORM_CONTENT_TYPE), &token_body(&code), &client(), t0());
    let json: serde_json::Value = serde_json::from_str(&out.response.body()).unwrap();
    assert_eq!(json["scope"], "umcharderwijk~1 umcharderwijk~3");
    let h = format!("Bearer {}", json["access_token"].as_str().unwrap());
    for g in ["1", "3"] {
        assert!(
            s.check_resource(Some(&h), &za(), &gd(g), Interaction::Read, t0())
                .is_ok()
        );
    }
}

#[test]
fn steps_out_of_order_are_errors() {
    let s = server();
    let mut sess = s.authorize(&query("umcharderwijk~1", "s")).unwrap();
    assert_eq!(
        sess.data_available(true).unwrap_err(),
        SessionError {
            step: "data_available",
            stage: SessionStage::AwaitingAuthentication
        }
    );
    assert!(sess.consent(ConsentDecision::Granted, t0()).is_err());
    assert!(matches!(
        s.issue_code(&mut sess, t0()),
        Err(IssueError::Session(_))
    ));
    sess.authenticated(Authentication::Established(subject()))
        .unwrap();
    assert!(
        sess.authenticated(Authentication::Established(subject()))
            .is_err()
    );
    assert!(sess.consent(ConsentDecision::Granted, t0()).is_err());
    sess.data_available(true).unwrap();
    assert!(s.issue_code(&mut sess, t0()).is_err());
    assert!(matches!(
        sess.consent(ConsentDecision::Granted, t0()).unwrap(),
        ConsentOutcome::Granted(_)
    ));
    assert!(sess.consent(ConsentDecision::Refused, t0()).is_err());
    let code = s.issue_code(&mut sess, t0()).unwrap();
    assert!(matches!(code.kind(), RedirectKind::Code));
    // Finished: a second code is never issued from the same session.
    assert_eq!(
        s.issue_code(&mut sess, t0()).unwrap_err(),
        IssueError::Session(SessionError {
            step: "issue_code",
            stage: SessionStage::Finished
        })
    );
    // A finished error session accepts nothing either.
    let mut sess = s.authorize(&query("umcharderwijk~1", "s")).unwrap();
    sess.authenticated(Authentication::Failed).unwrap();
    assert!(sess.authenticated(Authentication::Failed).is_err());
    assert!(sess.data_available(true).is_err());
}

#[test]
fn redirect_uri_with_query_keeps_it() {
    let s = server();
    let q = query("umcharderwijk~1", "s").replace("%2Fcb", "%2Fcb%3Fx%3D1");
    let mut sess = s.authorize(&q).unwrap();
    let r = sess.authenticated(Authentication::Failed).unwrap().unwrap();
    assert!(
        r.location()
            .starts_with("https://pgo.example.nl/cb?x=1&error="),
        "{}",
        r.location()
    );
}

/// MedMij OAUTH-4: the redirect URI's host is exactly the client's hostname.
#[test]
fn redirect_uri_host_must_be_exactly_the_client() {
    let s = server();
    let with = |r: &str| {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", CLIENT)
            .append_pair("redirect_uri", r)
            .append_pair("scope", "umcharderwijk~1")
            .append_pair("state", "s")
            .finish()
    };
    for ok in [
        "https://pgo.example.nl",
        "https://pgo.example.nl/cb",
        "https://pgo.example.nl:8443/cb",
        "https://pgo.example.nl?x=1",
        "https://pgo.example.nl/a/b%20c?x=1&y",
    ] {
        assert!(s.authorize(&with(ok)).is_ok(), "{ok}");
    }
    for bad in [
        "https://pgo.example.nl@evil.example.com/cb",
        "https://pgo.example.nl.evil.example.com/cb",
        "https://user@pgo.example.nl/cb",
        "https://PGO.example.nl/cb",
        "https://pgo.example.nl:/cb",
        "https://pgo.example.nl:123456/cb",
        "https://pgo.example.nl/c b",
        "https://pgo.example.nl/cb#",
        "HTTPS://pgo.example.nl/cb",
        "//pgo.example.nl/cb",
        "https://pgo.example.nl\\@evil.example.com",
    ] {
        assert_eq!(
            s.authorize(&with(bad)).unwrap_err().cause(),
            &InvalidCause::BadRedirectUri,
            "{bad}"
        );
    }
}

/// RFC 6819 4.4.1.11: oversized requests are refused before any work.
#[test]
fn oversized_requests_are_refused() {
    let s = server();
    let q = format!(
        "{}&pad={}",
        query("umcharderwijk~1", "s"),
        "a".repeat(MAX_REQUEST_LEN)
    );
    assert_eq!(s.authorize(&q).unwrap_err().cause(), &InvalidCause::TooLong);
    let body = format!(
        "grant_type=authorization_code&pad={}",
        "a".repeat(MAX_REQUEST_LEN)
    );
    let out = s.token(Some(FORM_CONTENT_TYPE), &body, &client(), t0());
    assert_eq!(out.response.status(), 400);
    assert!(CONSENT_PAGE_HEADERS.contains(&("X-Frame-Options", "DENY")));
}

/// Bad input never panics: not even a clock at the end of representable time.
#[test]
fn absurd_times_do_not_panic() {
    let s = server();
    // The last representable seconds: issue time + 900 s cannot be represented.
    let Some(far) =
        std::time::SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(i64::MAX as u64 - 100))
    else {
        return; // a platform whose SystemTime is narrower: nothing to test
    };
    assert!(far.checked_add(LIFETIME).is_none());
    let mut sess = s.authorize(&query("umcharderwijk~1", "s")).unwrap();
    sess.authenticated(Authentication::Established(subject()))
        .unwrap();
    sess.data_available(true).unwrap();
    assert!(matches!(
        sess.consent(ConsentDecision::Granted, far).unwrap(),
        ConsentOutcome::Granted(_)
    ));
    if let Ok(r) = s.issue_code(&mut sess, far) {
        let code = param(r.location(), "code").unwrap();
        let out = s.token(Some(FORM_CONTENT_TYPE), &token_body(&code), &client(), far);
        assert_eq!(
            out.response.status(),
            400,
            "a code at an unrepresentable expiry is expired"
        );
    }
}

mod oauth_2 {
    use super::*;

    /// MedMij OAUTH-2: the token travels only as `Authorization: Bearer
    /// <token>`; any other scheme, form or place gives nothing.
    #[test]
    fn only_the_bearer_header_carries_the_token() {
        let s = server();
        let code = code_for(&s, "umcharderwijk~1", t0());
        let out = s.token(Some(FORM_CONTENT_TYPE), &token_body(&code), &client(), t0());
        let token = issued_token(&out);
        assert_eq!(
            parse_bearer(&format!("Bearer {token}")).map(|t| t.secret_text()),
            Some(token.clone())
        );
        // RFC 6750 2.1: `Bearer 1*SP b64token`; more than one space is allowed.
        assert!(parse_bearer(&format!("Bearer  {token}")).is_some());
        for bad in [
            format!("Basic {token}"),
            format!("Bearer{token}"),
            format!("Bearer {}", token.to_uppercase()),
            format!("Bearer {token} extra"),
            format!("Bearer access_token={token}"),
            token.clone(),
            String::new(),
        ] {
            assert!(parse_bearer(&bad).is_none(), "{bad:?}");
            let e = s
                .check_resource(Some(&bad), &za(), &gd("1"), Interaction::Read, t0())
                .unwrap_err();
            assert_eq!(e.case_number(), 7, "{bad:?}");
        }
        // No header at all: case 7 with a bare challenge (RFC 6750 3.1).
        let e = s
            .check_resource(None, &za(), &gd("1"), Interaction::Read, t0())
            .unwrap_err();
        assert_eq!(e.case_number(), 7);
    }
}

mod oauth_17 {
    use super::*;

    /// MedMij OAUTH-17: within its lifetime one access token authorizes any
    /// number of resource requests for its scope, every Gegevensdienst of
    /// it included.
    #[test]
    fn one_token_serves_many_requests_for_its_scope() {
        let s = AuthorizationServer::new(
            config().allow_multiple_pairs(true),
            registry(),
            MemoryStore::new(),
        );
        let code = code_for(&s, "umcharderwijk~1 umcharderwijk~3", t0());
        let out = s.token(Some(FORM_CONTENT_TYPE), &token_body(&code), &client(), t0());
        let h = format!("Bearer {}", issued_token(&out));
        for second in (0..900).step_by(7) {
            for g in ["1", "3"] {
                let now = t0() + Duration::from_secs(second);
                assert!(
                    s.check_resource(Some(&h), &za(), &gd(g), Interaction::Read, now)
                        .is_ok(),
                    "request {second} s after issue for {g}"
                );
            }
        }
        // And not beyond the lifetime (OAUTH-7).
        assert!(
            s.check_resource(
                Some(&h),
                &za(),
                &gd("1"),
                Interaction::Read,
                t0() + LIFETIME
            )
            .is_err()
        );
    }
}
