//! MedMij OAUTH-12: one test per row of the exception table, asserting the exact answer.

mod common;
use common::*;
use medmij_oauth::*;

/// Case 1: request invalid -> no redirect; `invalid_request` with the cause.
#[test]
fn case_1_invalid_request_is_not_redirected() {
    let s = server();
    let cases: Vec<(String, InvalidCause)> = vec![
        (
            query("umcharderwijk~1", "st").replace("pgo.example.nl&", "onbekend.example.nl&"),
            InvalidCause::UnknownClient,
        ),
        (
            query("umcharderwijk~1", "st").replace("client_id=pgo.example.nl", "client_id=PGO"),
            InvalidCause::BadClientId,
        ),
        (
            query("umcharderwijk~1", "st").replace("https%3A%2F%2Fpgo", "http%3A%2F%2Fpgo"),
            InvalidCause::BadRedirectUri,
        ),
        (
            query("umcharderwijk~1", "st").replace("%2Fcb", "%2Fcb%23frag"),
            InvalidCause::BadRedirectUri,
        ),
        (
            query("umcharderwijk~1", "st").replace("https%3A%2F%2Fpgo", "https%3A%2F%2Fevil"),
            InvalidCause::BadRedirectUri,
        ),
        (
            query("umcharderwijk~1", "st").replace("response_type=code", "response_type=token"),
            InvalidCause::UnsupportedResponseType,
        ),
        (
            query("umcharderwijk~1", "st").replace("&state=st", ""),
            InvalidCause::Missing("state"),
        ),
        (
            format!("{}&scope=umcharderwijk~3", query("umcharderwijk~1", "st")),
            InvalidCause::Repeated("scope"),
        ),
        (query("umcharderwijk~99", "st"), InvalidCause::NotOffered),
        (
            query("umcharderwijk~1 umcharderwijk~3", "st"),
            InvalidCause::BadScope(ScopeError::TooManyPairs(2)),
        ),
        // A scope without `~` makes the request 2.x ("Releases, side by side", MedMij
        // OAUTH-20), and then its missing tracing identifiers are case 1 (OAUTH-21).
        (
            query("umcharderwijk", "st"),
            InvalidCause::BadTracing(TraceError::Missing("MedMij-Request-ID")),
        ),
    ];
    for (q, cause) in cases {
        let err = s.authorize(&q).expect_err(&q);
        assert_eq!(err.cause(), &cause, "{q}");
        assert_eq!(err.error(), "invalid_request");
        assert_eq!(err.status(), 400);
        assert_eq!(err.description(), cause.to_string());
        let json: serde_json::Value = serde_json::from_str(&err.to_json()).unwrap();
        assert_eq!(json["error"], "invalid_request");
        assert_eq!(json["error_description"], cause.to_string());
        assert!(!err.message_nl().is_empty() && !err.message_en().is_empty());
    }
}

/// Case 1 also covers a client that the OCL restricts (LISTS-4 later releases).
#[test]
fn case_1_client_not_allowed_this_gegevensdienst() {
    let s = server();
    let q = query("umcharderwijk~3", "st")
        .replace(
            "client_id=pgo.example.nl",
            "client_id=andere-pgo.example.com",
        )
        .replace("pgo.example.nl%2Fcb", "andere-pgo.example.com%2Fcb");
    assert_eq!(
        s.authorize(&q).unwrap_err().cause(),
        &InvalidCause::ClientNotAllowed
    );
    let q = q.replace("umcharderwijk%7E3", "umcharderwijk%7E1");
    assert!(s.authorize(&q).is_ok());
}

fn error_redirect(r: &Redirect, error: &str, description: Option<&str>, state: &str) {
    let loc = r.location();
    assert!(loc.starts_with("https://pgo.example.nl/cb?"), "{loc}");
    assert_eq!(param(loc, "error").as_deref(), Some(error));
    assert_eq!(param(loc, "error_description").as_deref(), description);
    assert_eq!(param(loc, "state").as_deref(), Some(state));
    assert_eq!(param(loc, "code"), None);
}

const STATE: &str = "a b&c=d~é"; // not VSCHAR: é

/// Case 2: identity cannot be established -> redirect `unauthorized_client`, state echoed.
#[test]
fn case_2_identity_not_established() {
    let s = server();
    let state = "xyz ABC/+=&?";
    let mut sess = s.authorize(&query("umcharderwijk~1", state)).unwrap();
    let r = sess.authenticated(Authentication::Failed).unwrap().unwrap();
    assert_eq!(
        r.kind(),
        RedirectKind::Error(ErrorCase::IdentityNotEstablished)
    );
    error_redirect(&r, "unauthorized_client", None, state);
    assert_eq!(sess.stage(), SessionStage::Finished);
    // The state must be VSCHAR; a non-ASCII one is case 1.
    assert_eq!(
        s.authorize(&query("umcharderwijk~1", STATE))
            .unwrap_err()
            .cause(),
        &InvalidCause::BadState
    );
}

/// Case 3: no data -> `access_denied`, `No such resources.`
#[test]
fn case_3_no_such_resources() {
    let s = server();
    let mut sess = s.authorize(&query("umcharderwijk~1", "s3")).unwrap();
    sess.authenticated(Authentication::Established(subject()))
        .unwrap();
    let r = sess.data_available(false).unwrap().unwrap();
    assert_eq!(r.kind(), RedirectKind::Error(ErrorCase::NoSuchResources));
    error_redirect(&r, "access_denied", Some("No such resources."), "s3");
}

/// Case 4: refusal -> logged; `access_denied`, `Authorization denied.`
#[test]
fn case_4_refused_is_logged_and_denied() {
    let s = server();
    let mut sess = s.authorize(&query("umcharderwijk~1", "s4")).unwrap();
    sess.authenticated(Authentication::Established(subject()))
        .unwrap();
    sess.data_available(true).unwrap();
    let ConsentOutcome::Refused(event, r) = sess.consent(ConsentDecision::Refused, t0()).unwrap()
    else {
        panic!("expected a refusal")
    };
    // MedMij CONSENT-3: the refusal is logged with who, what, when.
    assert_eq!(event.decision, ConsentDecision::Refused);
    assert_eq!(event.client_id, client());
    assert_eq!(event.scope.to_string(), "umcharderwijk~1");
    assert_eq!(event.use_case, UseCase::Verzamelen);
    assert_eq!(event.at, t0());
    assert_eq!(event.subject, subject());
    error_redirect(&r, "access_denied", Some("Authorization denied."), "s4");
}

/// Case 5: undetermined -> `access_denied`, `Authorization failed.`
#[test]
fn case_5_authorization_failed() {
    let s = server();
    let mut sess = s.authorize(&query("umcharderwijk~1", "s5")).unwrap();
    sess.authenticated(Authentication::Established(subject()))
        .unwrap();
    sess.data_available(true).unwrap();
    let ConsentOutcome::Undetermined(r) =
        sess.consent(ConsentDecision::Undetermined, t0()).unwrap()
    else {
        panic!("expected undetermined")
    };
    error_redirect(&r, "access_denied", Some("Authorization failed."), "s5");
}

/// Case 6: code validation fails -> HTTP 400 `invalid_grant` (RFC 6749 5.2).
#[test]
fn case_6_invalid_grant() {
    let s = server();
    let bogus = "3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b";
    for body in [
        token_body(bogus),
        token_body("not-a-uuid"),
        token_body(&bogus.to_uppercase()),
    ] {
        let out = s.token(Some(FORM_CONTENT_TYPE), &body, &client(), t0());
        assert_eq!(out.response.status(), 400);
        let json: serde_json::Value = serde_json::from_str(&out.response.body()).unwrap();
        assert_eq!(json["error"], "invalid_grant", "{body}");
        assert!(
            out.response
                .headers()
                .contains(&("Cache-Control", "no-store"))
        );
    }
}

/// Case 7: token validation fails -> OperationOutcome `suppressed`, RFC 6750 challenge.
#[test]
fn case_7_invalid_token_operation_outcome() {
    let s = server();
    let bad = "Bearer 3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b";
    let e = s
        .check_resource(Some(bad), &za(), &gd("1"), Interaction::Read, t0())
        .unwrap_err();
    assert_eq!(e.case_number(), 7);
    assert_eq!(e.kind(), ResourceErrorKind::InvalidToken);
    assert_eq!(e.status(), 401);
    assert_eq!(
        e.www_authenticate(),
        Some(r#"Bearer error="invalid_token""#)
    );
    assert_eq!(e.content_type(), "application/fhir+json");
    let oo: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
    assert_eq!(oo["resourceType"], "OperationOutcome");
    assert_eq!(oo["issue"][0]["code"], "suppressed");
    assert_eq!(oo["issue"][0]["severity"], "error");
    // No credentials at all: RFC 6750 3.1 challenge without an error code, same outcome.
    let e = s
        .check_resource(None, &za(), &gd("1"), Interaction::Read, t0())
        .unwrap_err();
    assert_eq!(e.www_authenticate(), Some("Bearer"));
    assert_eq!(e.operation_outcome()["issue"][0]["code"], "suppressed");
    // Malformed header.
    let e = s
        .check_resource(Some("Basic abc"), &za(), &gd("1"), Interaction::Read, t0())
        .unwrap_err();
    assert_eq!(e.kind(), ResourceErrorKind::Malformed);
    assert_eq!(
        e.www_authenticate(),
        Some(r#"Bearer error="invalid_token""#)
    );
}

/// Case 8: the back end cannot deliver -> OperationOutcome `incomplete`.
#[test]
fn case_8_backend_incomplete() {
    let e = ResourceError::backend_unavailable();
    assert_eq!(e.case_number(), 8);
    assert_eq!(e.www_authenticate(), None);
    let oo = e.operation_outcome();
    assert_eq!(oo["resourceType"], "OperationOutcome");
    assert_eq!(oo["issue"][0]["code"], "incomplete");
    assert_eq!(oo["issue"][0]["severity"], "error");
}
