//! Request checks at the authorization and token endpoints and the headers of every answer:
//! MedMij OAUTH-3 (empty values, the token request's form), OAUTH-4 (the redirect URI's port),
//! OAUTH-12 (inspectable case numbers) and OAUTH-14 (no caching of credential answers).

mod common;
use common::*;
use medmij_oauth::*;

fn query_with_redirect(redirect: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT)
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", "umcharderwijk~1")
        .append_pair("state", "st")
        .finish()
}

fn description(out: &TokenOutcome) -> String {
    match &out.response {
        TokenResponse::Error { description, .. } => (*description).to_owned(),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn error_code(out: &TokenOutcome) -> Option<TokenErrorCode> {
    match &out.response {
        TokenResponse::Error { error, .. } => Some(*error),
        TokenResponse::Issued { .. } => None,
        other => panic!("a token response this test does not know: {other:?}"),
    }
}

/// Runs the session to a code for a query and returns the code redirect.
fn code_redirect(s: &Server, query: &str) -> Redirect {
    let mut session = s.authorize(query).expect(query);
    session
        .authenticated(Authentication::Established(subject()))
        .unwrap();
    session.data_available(true).unwrap();
    assert!(matches!(
        session.consent(ConsentDecision::Granted, t0()).unwrap(),
        ConsentOutcome::Granted(_)
    ));
    s.issue_code(&mut session, t0()).unwrap()
}

mod oauth_4 {
    use super::*;

    /// MedMij OAUTH-4: a port outside 1..65535, or one that is not decimal digits, is case 1
    /// at the authorization endpoint: no session, so no step can ever redirect there.
    #[test]
    fn port_outside_1_to_65535_is_case_1_and_never_redirected() {
        let s = server();
        for port in [
            "0", "00", "65536", "99999", "100000", "", "abc", "-1", "+443", "1e3", "443a", " 443",
        ] {
            let redirect = format!("https://{CLIENT}:{port}/cb");
            let err = s
                .authorize(&query_with_redirect(&redirect))
                .expect_err(&redirect);
            assert_eq!(err.cause(), &InvalidCause::BadRedirectUri, "{redirect}");
            assert_eq!(err.case_number(), 1);
            assert!(err.description().contains("1..65535"), "{redirect}");
        }
    }

    /// MedMij OAUTH-4: ports 1..65535 are fine, and the code redirect is a URL that parses
    /// with that port (nothing later can fail on it).
    #[test]
    fn ports_in_range_are_accepted_and_redirect_there() {
        let s = server();
        for (port, expect) in [("1", 1u16), ("443", 443), ("8443", 8443), ("65535", 65535)] {
            let redirect = format!("https://{CLIENT}:{port}/cb");
            let r = code_redirect(&s, &query_with_redirect(&redirect));
            assert!(r.location().starts_with(&redirect), "{redirect}");
            let url = url::Url::parse(r.location()).unwrap();
            assert_eq!(url.port_or_known_default(), Some(expect));
        }
    }
}

mod oauth_3 {
    use super::*;

    /// MedMij OAUTH-3 (RFC 6749 3.1): at the authorization endpoint an empty value is an
    /// omitted parameter: it neither counts as a repetition nor stands in for a value.
    #[test]
    fn empty_values_are_omitted_at_the_authorization_endpoint() {
        let s = server();
        let q = query("umcharderwijk~1", "st");
        // An extra empty copy of each parameter is ignored.
        for name in [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
        ] {
            for extra in [format!("{name}="), name.to_owned()] {
                let before = format!("{extra}&{q}");
                let after = format!("{q}&{extra}");
                assert!(s.authorize(&before).is_ok(), "{before}");
                assert!(s.authorize(&after).is_ok(), "{after}");
            }
        }
        // A parameter only sent empty is missing.
        for name in [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
        ] {
            let stripped: Vec<String> = q
                .split('&')
                .map(|p| {
                    if p.starts_with(&format!("{name}=")) {
                        format!("{name}=")
                    } else {
                        p.to_owned()
                    }
                })
                .collect();
            let stripped = stripped.join("&");
            let err = s.authorize(&stripped).expect_err(&stripped);
            assert_eq!(err.cause(), &InvalidCause::Missing(name), "{stripped}");
        }
    }

    /// MedMij OAUTH-3 (RFC 6749 3.2): at the token endpoint an empty value is an omitted
    /// parameter.
    #[test]
    fn empty_values_are_omitted_at_the_token_endpoint() {
        let s = server();
        // An empty client_id is omitted (not a different client); an empty extra code is not
        // a repetition.
        let code = code_for(&s, "umcharderwijk~1", t0());
        let body = format!(
            "code=&{}",
            token_body(&code).replace("client_id=pgo.example.nl", "client_id=")
        );
        let out = s.token(Some(FORM_CONTENT_TYPE), &body, &client(), t0());
        assert_eq!(out.response.status(), 200, "{:?}", out.response);
        for (name, missing) in [
            ("grant_type", "grant_type is missing."),
            ("redirect_uri", "redirect_uri is missing."),
            ("code", "code is missing."),
        ] {
            let code = code_for(&s, "umcharderwijk~1", t0());
            let body: Vec<String> = token_body(&code)
                .split('&')
                .map(|p| {
                    if p.starts_with(&format!("{name}=")) {
                        format!("{name}=")
                    } else {
                        p.to_owned()
                    }
                })
                .collect();
            let out = s.token(Some(FORM_CONTENT_TYPE), &body.join("&"), &client(), t0());
            assert_eq!(out.response.status(), 400);
            assert_eq!(error_code(&out), Some(TokenErrorCode::InvalidRequest));
            assert_eq!(description(&out), missing);
        }
    }

    /// The token request is a form POST (RFC 6749 4.1.3, on the back channel of MedMij
    /// OAUTH-3): media type parameters are fine, any other type is HTTP 400 `invalid_request`
    /// saying so, and the body of such a request is not read (its code stays valid).
    #[test]
    fn token_request_must_be_form_encoded() {
        let s = server();
        for ct in [
            None,
            Some(""),
            Some("application/json"),
            Some("text/plain; charset=UTF-8"),
            Some("application/x-www-form-urlencodedx"),
            Some("multipart/form-data; boundary=x"),
            Some("application/x-www-form-urlencoded; charset=ISO-8859-1"),
            Some("application/x-www-form-urlencoded; charset"),
        ] {
            let code = code_for(&s, "umcharderwijk~1", t0());
            let out = s.token(ct, &token_body(&code), &client(), t0());
            assert_eq!(out.response.status(), 400, "{ct:?}");
            assert_eq!(
                error_code(&out),
                Some(TokenErrorCode::InvalidRequest),
                "{ct:?}"
            );
            assert!(description(&out).contains("Content-Type"), "{ct:?}");
            assert!(matches!(
                out.event,
                TokenEvent::Refused {
                    error: TokenErrorCode::InvalidRequest,
                    ..
                }
            ));
            // The code was not presented: the proper request still gets a token.
            let out = s.token(Some(FORM_CONTENT_TYPE), &token_body(&code), &client(), t0());
            assert_eq!(out.response.status(), 200, "{ct:?}");
        }
        for ct in [
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=UTF-8",
            "Application/X-WWW-Form-URLEncoded;charset=\"utf-8\"",
            "application/x-www-form-urlencoded ; foo=bar",
        ] {
            let code = code_for(&s, "umcharderwijk~1", t0());
            let out = s.token(Some(ct), &token_body(&code), &client(), t0());
            assert_eq!(out.response.status(), 200, "{ct}");
        }
    }
}

mod oauth_12 {
    use super::*;

    /// MedMij OAUTH-12: every outcome says its case number.
    #[test]
    fn every_outcome_says_its_case_number() {
        let s = server();
        let inv = s.authorize("client_id=x").unwrap_err();
        assert_eq!(inv.case_number(), 1);

        let q = query("umcharderwijk~1", "st");
        let mut a = s.authorize(&q).unwrap();
        let r = a.authenticated(Authentication::Failed).unwrap().unwrap();
        assert_eq!(r.case_number(), Some(2));

        let mut b = s.authorize(&q).unwrap();
        b.authenticated(Authentication::Established(subject()))
            .unwrap();
        let r = b.data_available(false).unwrap().unwrap();
        assert_eq!(r.case_number(), Some(3));

        for (decision, case) in [
            (ConsentDecision::Refused, 4),
            (ConsentDecision::Undetermined, 5),
        ] {
            let mut c = s.authorize(&q).unwrap();
            c.authenticated(Authentication::Established(subject()))
                .unwrap();
            c.data_available(true).unwrap();
            let r = match c.consent(decision, t0()).unwrap() {
                ConsentOutcome::Refused(_, r) | ConsentOutcome::Undetermined(r) => r,
                other => panic!("expected a refusal, got {other:?}"),
            };
            assert_eq!(r.case_number(), Some(case));
        }

        let code = code_redirect(&s, &q);
        assert_eq!(code.case_number(), None);

        let bad = s.token(
            Some(FORM_CONTENT_TYPE),
            &token_body("00000000-0000-4000-8000-000000000000"),
            &client(),
            t0(),
        );
        assert_eq!(bad.response.case_number(), Some(6));
        let unsupported = s.token(
            Some(FORM_CONTENT_TYPE),
            "grant_type=password",
            &client(),
            t0(),
        );
        assert_eq!(unsupported.response.case_number(), None);

        let e = s
            .check_resource(None, &za(), &gd("1"), Interaction::Read, t0())
            .unwrap_err();
        assert_eq!(e.case_number(), 7);
        assert_eq!(ResourceError::backend_unavailable().case_number(), 8);
    }
}

mod oauth_14 {
    use super::*;

    fn count(headers: &[(&str, &str)], name: &str) -> usize {
        headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .count()
    }

    fn value<'a>(headers: &[(&'a str, &'a str)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// MedMij OAUTH-14 (RFC 6819 4.3.1, RFC 6749 5.1): token answers, issued or refused, are
    /// never cached and have exactly one Content-Type.
    #[test]
    fn token_answers_are_not_cached_and_have_one_content_type() {
        let s = server();
        let code = code_for(&s, "umcharderwijk~1", t0());
        let ok = s.token(Some(FORM_CONTENT_TYPE), &token_body(&code), &client(), t0());
        let refused = s.token(None, "", &client(), t0());
        for out in [ok, refused] {
            let h = out.response.headers();
            assert_eq!(count(h, "Content-Type"), 1);
            assert_eq!(value(h, "Cache-Control"), Some("no-store"));
            assert_eq!(value(h, "Pragma"), Some("no-cache"));
        }
    }

    /// MedMij OAUTH-14 (RFC 6750 5.3): the OperationOutcome answers of cases 7 and 8 are never
    /// cached, have one Content-Type, and case 7 carries its challenge.
    #[test]
    fn resource_outcomes_are_not_cached_and_have_one_content_type() {
        let s = server();
        let missing = s
            .check_resource(None, &za(), &gd("1"), Interaction::Read, t0())
            .unwrap_err();
        let malformed = s
            .check_resource(Some("Bearer x"), &za(), &gd("1"), Interaction::Read, t0())
            .unwrap_err();
        let backend = ResourceError::backend_unavailable();
        for (e, challenge) in [
            (&missing, Some("Bearer")),
            (&malformed, Some(r#"Bearer error="invalid_token""#)),
            (&backend, None),
        ] {
            let h = e.headers();
            assert_eq!(count(&h, "Content-Type"), 1);
            assert_eq!(value(&h, "Content-Type"), Some("application/fhir+json"));
            assert_eq!(value(&h, "Cache-Control"), Some("no-store"));
            assert_eq!(value(&h, "WWW-Authenticate"), challenge);
        }
    }
}
