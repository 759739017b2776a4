//! Rule edges found by mutation testing (cargo-mutants, see MUTANTS.md): each test here
//! fails when one rule-bearing line of the server is broken. MedMij OAUTH-2 (the bearer
//! header), OAUTH-3 (the OCL seen through `&T` and `Arc<T>`), OAUTH-12 (each case's number
//! and HTTP status), OAUTH-14 (the 8192-byte request bound, exactly), OAUTH-22 (the
//! consent id the person withdraws by), OAUTH-19 with CONSENT-6 (who gets the indefinite
//! period), OAUTH-11 with OAUTH-20 (a stored 2.x session loads back, checked), OAUTH-21
//! (one tracing header makes a token request 2.x), OAUTH-19 with OAUTH-7 (2.x token answers
//! are not cached), OAUTH-22 with OAUTH-19 (the configured 2.x values reach the server),
//! OAUTH-12 case 1 (the person is told in plain words), OAUTH-20 (the birth date of the
//! representation extension is a real date), OAUTH-4 (the exact `redirect_uri` is kept)
//! and OAUTH-6 (a code or token with two wrong digits is refused).

mod common;
mod v2_common;
use common::*;
use medmij_oauth::*;
use std::sync::Arc;

mod oauth_2 {
    use super::*;

    /// MedMij OAUTH-2 (RFC 6750 2.1, RFC 9110 11.1): the scheme name is case-insensitive,
    /// one or more spaces separate it from the token, and any other separator or scheme
    /// gives nothing; the token parsed is the one sent, and it opens the resource.
    #[test]
    fn bearer_scheme_is_case_insensitive_and_only_space_separates() {
        let s = server();
        let code = code_for(&s, "umcharderwijk~1", t0());
        let out = s.token(Some(FORM_CONTENT_TYPE), &token_body(&code), &client(), t0());
        let token = issued_token(&out);
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            for sep in [" ", "  ", "   "] {
                let header = format!("{scheme}{sep}{token}");
                let parsed = parse_bearer(&header).unwrap_or_else(|| panic!("{header:?}"));
                assert_eq!(parsed.secret_text(), token, "{header:?}");
                let access = s
                    .check_resource(Some(&header), &za(), &gd("1"), Interaction::Read, t0())
                    .unwrap_or_else(|e| panic!("{header:?}: {e:?}"));
                assert_eq!(access.subject, subject());
                assert_eq!(access.client_id, client());
            }
        }
        for bad in [
            format!("Bearer\t{token}"),
            format!("Bearer:{token}"),
            format!("Bearer={token}"),
            format!("Bearerx {token}"),
            format!("xBearer {token}"),
            format!("Token {token}"),
            format!(" Bearer {token}"),
            "Bearer ".to_owned(),
            "Bearer".to_owned(),
            "Bearer xyzzy".to_owned(),
        ] {
            assert!(parse_bearer(&bad).is_none(), "{bad:?}");
            let e = s
                .check_resource(Some(&bad), &za(), &gd("1"), Interaction::Read, t0())
                .unwrap_err();
            assert_eq!(e.kind(), ResourceErrorKind::Malformed, "{bad:?}");
        }
    }

    /// MedMij OAUTH-2: a well-formed bearer header with a token the server never issued is
    /// an invalid token (case 7), not a malformed one, and not a success.
    #[test]
    fn well_formed_unknown_token_is_invalid_not_malformed() {
        let s = server();
        let header = "Bearer 00000000-0000-4000-8000-000000000000";
        assert!(parse_bearer(header).is_some());
        let e = s
            .check_resource(Some(header), &za(), &gd("1"), Interaction::Read, t0())
            .unwrap_err();
        assert_eq!(e.kind(), ResourceErrorKind::InvalidToken);
        assert_eq!(e.case_number(), 7);
    }
}

mod oauth_3 {
    use super::*;

    /// The fixture registry's answers through any `ClientRegistry`: the listed client may
    /// use everything (the list does not say), the other only Gegevensdienst 1.
    fn answers_like_the_fixture<C: ClientRegistry>(c: &C) {
        let other = ClientId::new(OTHER_CLIENT).unwrap();
        let unlisted = ClientId::new("niet-op-de-ocl.example.nl").unwrap();
        assert!(c.is_listed(&client()));
        assert!(c.is_listed(&other));
        assert!(!c.is_listed(&unlisted));
        assert_eq!(c.may_use(&client(), &gd("1")), None);
        assert_eq!(c.may_use(&other, &gd("1")), Some(true));
        assert_eq!(c.may_use(&other, &gd("3")), Some(false));
        assert_eq!(c.may_use(&unlisted, &gd("1")), None);
    }

    fn query_for(client: &str, scope: &str) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", client)
            .append_pair("redirect_uri", &format!("https://{client}/cb"))
            .append_pair("scope", scope)
            .append_pair("state", "st")
            .finish()
    }

    /// What the authorization endpoint decides with this registry: the OCL's answers, not
    /// the registry's defaults, reach the server.
    fn server_decides_like_the_fixture<C: ClientRegistry>(clients: C) {
        let s = AuthorizationServer::new(config(), clients, MemoryStore::new());
        assert!(s.authorize(&query_for(CLIENT, "umcharderwijk~3")).is_ok());
        assert!(
            s.authorize(&query_for(OTHER_CLIENT, "umcharderwijk~1"))
                .is_ok()
        );
        assert_eq!(
            s.authorize(&query_for(OTHER_CLIENT, "umcharderwijk~3"))
                .unwrap_err()
                .cause(),
            &InvalidCause::ClientNotAllowed
        );
        assert_eq!(
            s.authorize(&query_for("niet-op-de-ocl.example.nl", "umcharderwijk~1"))
                .unwrap_err()
                .cause(),
            &InvalidCause::UnknownClient
        );
    }

    /// MedMij OAUTH-3: a registry borrowed (`&T`) or shared (`Arc<T>`, also as a trait
    /// object) answers exactly as the registry itself, both when asked directly and when
    /// the server asks it.
    #[test]
    fn borrowed_and_shared_registries_forward_every_answer() {
        let reg = registry();
        answers_like_the_fixture(&reg);
        answers_like_the_fixture(&&reg);
        answers_like_the_fixture(&Arc::new(registry()));
        let shared: Arc<dyn ClientRegistry> = Arc::new(registry());
        answers_like_the_fixture(&shared);
        let borrowed: &dyn ClientRegistry = &reg;
        answers_like_the_fixture(&borrowed);

        server_decides_like_the_fixture(&reg);
        server_decides_like_the_fixture(Arc::new(registry()));
        server_decides_like_the_fixture(shared);
    }

    /// Every hostname ending in `.example.nl` is on this OCL; it says nothing about
    /// Gegevensdiensten (release 2 of the OCL), so it keeps `may_use`'s default.
    struct ListsOnly;

    impl ClientRegistry for ListsOnly {
        fn is_listed(&self, client: &ClientId) -> bool {
            client.as_str().ends_with(".example.nl")
        }
    }

    /// MedMij OAUTH-3: a registry that does not say which Gegevensdiensten a client may use
    /// leaves it to the server's own offer: every offered Gegevensdienst is served, a
    /// Gegevensdienst not offered is still refused.
    #[test]
    fn a_registry_without_a_usage_list_leaves_it_to_the_offer() {
        assert_eq!(ListsOnly.may_use(&client(), &gd("1")), None);
        let s = AuthorizationServer::new(config(), ListsOnly, MemoryStore::new());
        for scope in ["umcharderwijk~1", "umcharderwijk~3"] {
            assert!(s.authorize(&query_for(CLIENT, scope)).is_ok(), "{scope}");
        }
        assert_eq!(
            s.authorize(&query_for(CLIENT, "umcharderwijk~2"))
                .unwrap_err()
                .cause(),
            &InvalidCause::NotOffered
        );
        assert_eq!(
            s.authorize(&query_for(OTHER_CLIENT, "umcharderwijk~1"))
                .unwrap_err()
                .cause(),
            &InvalidCause::UnknownClient
        );
    }
}

mod oauth_12 {
    use super::*;

    /// MedMij OAUTH-12 cases 7 and 8: each refusal of a resource request says its own case,
    /// HTTP status and OperationOutcome issue code; none is ever a 500.
    #[test]
    fn resource_cases_7_and_8_have_their_status_and_issue_code() {
        let s = server();
        let mut seven = vec![
            s.check_resource(None, &za(), &gd("1"), Interaction::Read, t0())
                .unwrap_err(),
            s.check_resource(Some("Bearer x"), &za(), &gd("1"), Interaction::Read, t0())
                .unwrap_err(),
            ResourceError::wrong_scope(),
        ];
        let code = code_for(&s, "umcharderwijk~1", t0());
        let out = s.token(Some(FORM_CONTENT_TYPE), &token_body(&code), &client(), t0());
        let header = format!("Bearer {}", issued_token(&out));
        // Valid token, other Gegevensdienst / other interaction: case 7, like an invalid token.
        seven.push(
            s.check_resource(Some(&header), &za(), &gd("3"), Interaction::Read, t0())
                .unwrap_err(),
        );
        seven.push(
            s.check_resource(Some(&header), &za(), &gd("1"), Interaction::Write, t0())
                .unwrap_err(),
        );
        for e in &seven {
            assert_eq!(e.case_number(), 7, "{e:?}");
            assert_eq!(e.status(), 401, "{e:?}");
            let body: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
            assert_eq!(body, e.operation_outcome());
            assert_eq!(body["resourceType"], "OperationOutcome");
            assert_eq!(body["issue"][0]["code"], "suppressed", "{e:?}");
            assert_eq!(body["issue"][0]["severity"], "error");
        }
        assert_eq!(seven[0].kind(), ResourceErrorKind::MissingToken);
        assert_eq!(seven[0].www_authenticate(), Some("Bearer"));
        assert_eq!(seven[2].kind(), ResourceErrorKind::WrongScope);
        assert_eq!(seven[3].kind(), ResourceErrorKind::WrongScope);
        assert_eq!(seven[4].kind(), ResourceErrorKind::WrongScope);
        for e in &seven[1..] {
            assert_eq!(
                e.www_authenticate(),
                Some(r#"Bearer error="invalid_token""#)
            );
        }

        let eight = ResourceError::backend_unavailable();
        assert_eq!(eight.kind(), ResourceErrorKind::BackendUnavailable);
        assert_eq!(eight.case_number(), 8);
        assert_eq!(eight.status(), 503);
        assert_eq!(eight.www_authenticate(), None);
        let body: serde_json::Value = serde_json::from_str(&eight.body()).unwrap();
        assert_eq!(body, eight.operation_outcome());
        assert_eq!(body["issue"][0]["code"], "incomplete");
        assert_eq!(eight.content_type(), "application/fhir+json");
    }

    /// MedMij OAUTH-12 case 1: always case 1, `invalid_request`, HTTP 400, with the cause as
    /// the description.
    #[test]
    fn case_1_is_invalid_request_with_status_400() {
        let e = server().authorize("client_id=x").unwrap_err();
        assert_eq!(e.case_number(), 1);
        assert_eq!(e.error(), "invalid_request");
        assert_eq!(e.status(), 400);
        assert_eq!(e.description(), e.cause().to_string());
    }

    /// MedMij OAUTH-12 case 1: the person is told directly, in plain words (Dutch and
    /// English), that the request of the PGO is invalid and that there is no way back; the
    /// same words whatever the cause.
    #[test]
    fn case_1_tells_the_person_in_plain_words() {
        let s = server();
        for q in ["client_id=x", &query("umcharderwijk~2", "st"), ""] {
            let e = s.authorize(q).unwrap_err();
            let nl = e.message_nl();
            assert!(nl.contains("ongeldig"), "{nl}");
            assert!(nl.contains("PGO"), "{nl}");
            assert!(nl.contains("niet teruggestuurd"), "{nl}");
            let en = e.message_en();
            assert!(en.contains("invalid"), "{en}");
            assert!(en.contains("PGO"), "{en}");
            assert!(en.contains("not be sent back"), "{en}");
        }
    }

    /// MedMij OAUTH-12 case 6 at the token endpoint of both release lines: `invalid_grant`
    /// is case 6 with HTTP 400; a token or another error is no OAUTH-12 case.
    #[test]
    fn case_6_is_invalid_grant_at_both_token_entry_points() {
        let s = server();
        let unknown_code = token_body("00000000-0000-4000-8000-000000000000");
        fn req(body: &str) -> TokenHttpRequest<'_> {
            TokenHttpRequest {
                content_type: Some(FORM_CONTENT_TYPE),
                body,
                request_id: None,
                correlation_id: None,
            }
        }

        let v1 = s.token(Some(FORM_CONTENT_TYPE), &unknown_code, &client(), t0());
        assert_eq!(
            (v1.response.case_number(), v1.response.status()),
            (Some(6), 400)
        );
        let v2 = s.token_v2(&req(&unknown_code), &client(), t0());
        assert_eq!(
            (v2.response.case_number(), v2.response.status()),
            (Some(6), 400)
        );

        let unsupported = s.token_v2(&req("grant_type=password"), &client(), t0());
        assert_eq!(unsupported.response.status(), 400);
        assert_eq!(unsupported.response.case_number(), None);

        let code = code_for(&s, "umcharderwijk~1", t0());
        let issued = s.token_v2(&req(&token_body(&code)), &client(), t0());
        assert_eq!(issued.response.status(), 200);
        assert_eq!(issued.response.case_number(), None);
        let issued = s.token(
            Some(FORM_CONTENT_TYPE),
            &token_body(&code_for(&s, "umcharderwijk~1", t0())),
            &client(),
            t0(),
        );
        assert_eq!(issued.response.status(), 200);
        assert_eq!(issued.response.case_number(), None);
    }

    /// MedMij OAUTH-12: no outcome ever becomes an HTTP 500 on the wire.
    mod no_500 {
        use super::*;

        fn server_error() -> HttpResponse {
            HttpResponse::from(&TokenResponse::Error {
                error: TokenErrorCode::ServerError,
                description: "The token store failed.",
            })
        }

        /// MedMij OAUTH-12: `without_500` turns exactly the 5xx answers other than 503 into
        /// `temporarily_unavailable`; a 2xx, 3xx or 4xx answer, and a 503 of its own, pass
        /// unchanged (body and headers included).
        #[test]
        fn without_500_replaces_only_5xx_other_than_503() {
            let e = server_error();
            assert_eq!(e.status(), 500);
            let replaced = e.without_500();
            assert_eq!(replaced, HttpResponse::temporarily_unavailable());
            assert_eq!(replaced.status(), 503);
            assert_eq!(replaced.header("Retry-After"), Some("1"));

            let s = server();
            let refused = HttpResponse::from(&s.token(None, "", &client(), t0()).response);
            assert_eq!(refused.status(), 400);
            assert_eq!(refused.clone().without_500(), refused);
            let code = code_for(&s, "umcharderwijk~1", t0());
            let ok = HttpResponse::from(
                &s.token(Some(FORM_CONTENT_TYPE), &token_body(&code), &client(), t0())
                    .response,
            );
            assert_eq!(ok.status(), 200);
            assert_eq!(ok.clone().without_500(), ok);
            let redirect = HttpResponse::from(&code_redirect(&s));
            assert_eq!(redirect.status(), 302);
            assert_eq!(redirect.clone().without_500(), redirect);

            let own_503 = HttpResponse::page(503, "<p>bezet</p>".to_owned());
            assert_eq!(own_503.clone().without_500(), own_503);
            assert_eq!(own_503.body(), "<p>bezet</p>");
            let case_8 = HttpResponse::from(&ResourceError::backend_unavailable());
            assert_eq!(case_8.status(), 503);
            assert_eq!(case_8.clone().without_500(), case_8);
            for status in [501, 502, 504, 599] {
                let page = HttpResponse::page(status, "x".to_owned());
                assert_eq!(page.status(), status);
                assert_eq!(
                    page.without_500(),
                    HttpResponse::temporarily_unavailable(),
                    "{status}"
                );
            }
        }

        /// MedMij OAUTH-12: a page or FHIR answer keeps a status in 100..=599 except 500;
        /// 500 and anything outside that range becomes 503. The body handed to the adapter
        /// is the body built.
        #[test]
        fn pages_and_fhir_answers_never_carry_500_or_an_invalid_status() {
            for (status, sent) in [
                (100, 100),
                (200, 200),
                (404, 404),
                (499, 499),
                (501, 501),
                (503, 503),
                (599, 599),
                (500, 503),
                (0, 503),
                (99, 503),
                (600, 503),
                (u16::MAX, 503),
            ] {
                let page = HttpResponse::page(status, "<p>x</p>".to_owned());
                assert_eq!(page.status(), sent, "page {status}");
                assert_eq!(page.body(), "<p>x</p>");
                assert_eq!(page.into_body(), "<p>x</p>");
                let fhir = HttpResponse::fhir(status, "{}".to_owned());
                assert_eq!(fhir.status(), sent, "fhir {status}");
                assert_eq!(fhir.into_body(), "{}");
            }
            let e = ResourceError::backend_unavailable();
            assert_eq!(HttpResponse::from(&e).into_body(), e.body());
        }

        fn code_redirect(s: &Server) -> Redirect {
            let mut session = s.authorize(&query("umcharderwijk~1", "st")).unwrap();
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
    }
}

mod oauth_4 {
    use super::*;
    use crate::v2_common as v2;

    /// MedMij OAUTH-4: the request keeps the exact `redirect_uri` text it was validated with
    /// (the code is sent there and the token request must repeat it), in 1.x and in 2.x.
    #[test]
    fn the_request_keeps_the_exact_redirect_uri() {
        let s = server();
        let session = s.authorize(&query("umcharderwijk~1", "st")).unwrap();
        assert_eq!(session.request().redirect_uri(), REDIRECT);
        let v2s = v2::server_with(MemoryStore::new());
        let q = v2::query_v2(&v2::client(), "umcharderwijk", &v2::ids())
            .replace("%2Fcb", "%2Fcb%2Fterug%3Fa%3D1");
        let session = v2s.authorize(&q).unwrap();
        assert_eq!(
            session.request().redirect_uri(),
            "https://pgo.example.nl/cb/terug?a=1"
        );
    }
}

mod oauth_14 {
    use super::*;

    /// Pads a form to exactly `len` bytes with a parameter every endpoint ignores.
    fn padded(form: &str, len: usize) -> String {
        let head = format!("{form}&pad=");
        assert!(head.len() < len);
        let p = format!("{head}{}", "a".repeat(len - head.len()));
        assert_eq!(p.len(), len);
        p
    }

    /// MedMij OAUTH-14 (RFC 6819 4.4.1.11): an authorization request of exactly
    /// `MAX_REQUEST_LEN` (8192) bytes is served, one byte more is case 1 `TooLong`.
    #[test]
    fn authorization_request_bound_is_exactly_8192_bytes() {
        assert_eq!(MAX_REQUEST_LEN, 8192);
        let s = server();
        let q = query("umcharderwijk~1", "st");
        assert!(s.authorize(&q).is_ok());
        assert!(s.authorize(&padded(&q, 8192)).is_ok());
        let e = s.authorize(&padded(&q, 8193)).unwrap_err();
        assert_eq!(e.cause(), &InvalidCause::TooLong);
        assert_eq!(e.case_number(), 1);
    }

    /// MedMij OAUTH-14 (RFC 6819 4.4.1.11): a token request body of exactly 8192 bytes is
    /// served, one byte more is refused with HTTP 400 `invalid_request` before the code is
    /// looked at (the code stays redeemable).
    #[test]
    fn token_request_bound_is_exactly_8192_bytes() {
        let s = server();
        let code = code_for(&s, "umcharderwijk~1", t0());
        let over = s.token(
            Some(FORM_CONTENT_TYPE),
            &padded(&token_body(&code), 8193),
            &client(),
            t0(),
        );
        assert_eq!(over.response.status(), 400);
        match &over.response {
            TokenResponse::Error { error, description } => {
                assert_eq!(*error, TokenErrorCode::InvalidRequest);
                assert_eq!(*description, "The request body is longer than 8192 bytes.");
            }
            other => panic!("expected an error, got {other:?}"),
        }
        let at = s.token(
            Some(FORM_CONTENT_TYPE),
            &padded(&token_body(&code), 8192),
            &client(),
            t0(),
        );
        assert_eq!(at.response.status(), 200, "{:?}", at.response);
        issued_token(&at);
    }

    /// MedMij OAUTH-14 (RFC 6819 4.4.1.11): the consent-management entry point (MedMij
    /// OAUTH-22) has the same bound: 8192 bytes served, 8193 refused as case 1 `TooLong`.
    #[test]
    fn consent_management_bound_is_exactly_8192_bytes() {
        let s = server();
        let t = TraceIds::new_flow();
        let q = form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", CLIENT)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("state", "s1")
            .append_pair("MedMij-Request-ID", t.request_id.as_str())
            .append_pair("X-Correlation-ID", t.correlation_id.as_str())
            .finish();
        assert!(s.consent_management(&q).is_ok());
        let m = s.consent_management(&padded(&q, 8192)).unwrap();
        assert_eq!(m.trace, t);
        let e = s.consent_management(&padded(&q, 8193)).unwrap_err();
        assert_eq!(e.cause(), &InvalidCause::TooLong);
        assert_eq!(e.case_number(), 1);
    }
}

mod oauth_22 {
    use super::*;
    use crate::v2_common as v2;

    /// MedMij OAUTH-22: the consent id the overview shows is the canonical lowercase UUID v4
    /// text; parsing that text gives the same id, by which the person withdraws the consent;
    /// any other spelling is no id. Its 16 bytes (what a store keeps) give it back unchanged.
    #[test]
    fn the_shown_consent_id_parses_back_and_withdraws() {
        let s = v2::server_with(MemoryStore::new());
        let _ = v2::long_lasting(&s, v2::t0());
        let person = Subject::new("persoon-1").unwrap();
        let list = s
            .long_lasting_consents(&person, &v2::client(), v2::t0())
            .unwrap();
        assert_eq!(list.len(), 1);
        let id = list[0].record.id;

        let shown = id.to_string();
        assert_eq!(shown.len(), 36, "{shown}");
        assert_eq!(shown, shown.to_ascii_lowercase());
        assert_eq!(shown.as_bytes()[14], b'4', "a UUID v4: {shown}");
        assert_eq!(ConsentId::from_bytes(*id.as_bytes()), id);
        assert_eq!(id.as_bytes(), ConsentId::parse(&shown).unwrap().as_bytes());
        let other = ConsentId::random(&ThreadRandom);
        assert_ne!(other, id);
        assert_ne!(other.as_bytes(), id.as_bytes());
        assert_eq!(ConsentId::from_bytes(*other.as_bytes()), other);
        for bad in [
            shown.to_ascii_uppercase(),
            format!("{{{shown}}}"),
            shown.replace('-', ""),
            format!("{shown} "),
            String::new(),
        ] {
            assert_eq!(ConsentId::parse(&bad), None, "{bad:?}");
        }

        let posted = ConsentId::parse(&shown).expect("the shown id parses");
        assert_eq!(posted, id);
        let ev = s
            .withdraw_consent(&posted, &person, &v2::client(), v2::t0())
            .unwrap()
            .expect("withdrawn");
        assert_eq!(ev.consent, id);
        assert!(
            s.long_lasting_consents(&person, &v2::client(), v2::t0())
                .unwrap()
                .is_empty()
        );
    }

    /// MedMij OAUTH-22, OAUTH-19: the server answers with the provisional values it was
    /// configured with (the consent-management path its adapter serves, the refresh-token
    /// lifetime), not the defaults; the configured lifetime is the one the overview of
    /// consents in force uses.
    #[test]
    fn the_server_keeps_its_configured_v2_values() {
        let custom = V2Config {
            refresh_lifetime: std::time::Duration::from_secs(60),
            consent_management_path: "beheer".to_owned(),
        };
        assert_ne!(custom, V2Config::default());
        let s = AuthorizationServer::new(
            v2::config().v2_config(custom.clone()),
            v2::registry(),
            MemoryStore::new(),
        );
        assert_eq!(s.v2_config(), &custom);
        assert_eq!(s.v2_config().consent_management_path, "beheer");
        let _ = v2::long_lasting(&s, v2::t0());
        let person = Subject::new("persoon-1").unwrap();
        let in_force = |secs| {
            s.long_lasting_consents(
                &person,
                &v2::client(),
                v2::t0() + std::time::Duration::from_secs(secs),
            )
            .unwrap()
            .len()
        };
        assert_eq!(in_force(59), 1);
        assert_eq!(in_force(61), 0);
        assert_eq!(
            v2::server_with(MemoryStore::new()).v2_config(),
            &V2Config::default()
        );
    }
}

mod oauth_19 {
    use super::*;
    use crate::v2_common as v2;

    /// The period recorded when the person decides `decision` choosing `period`, on the
    /// flow of `query`.
    fn period_after(
        query: &str,
        decision: ConsentDecision,
        period: ConsentPeriod,
    ) -> ConsentPeriod {
        let s = v2::server_with(MemoryStore::new());
        let mut session = s.authorize(query).expect(query);
        session
            .authenticated(Authentication::Established(subject()))
            .unwrap();
        session.data_available(true).unwrap();
        match session.consent_with(decision, period, v2::t0()).unwrap() {
            ConsentOutcome::Granted(e) | ConsentOutcome::Refused(e, _) => e.period,
            other => panic!("decided, not {other:?}"),
        }
    }

    /// MedMij OAUTH-19, CONSENT-6: the indefinite period holds only for a granted 2.x
    /// Verzamelen flow; a 1.x flow, a 2.x Delen flow and a refusal record this flow only,
    /// whatever the screen sent.
    #[test]
    fn indefinite_period_only_for_granted_v2_verzamelen() {
        use ConsentDecision::{Granted, Refused};
        use ConsentPeriod::{Indefinite, ThisFlow};
        let t = v2::ids();
        let v2_verzamelen = v2::query_v2(&v2::client(), "umcharderwijk", &t);
        let v2_delen = v2::query_v2(&v2::client(), "umcharderwijk~5", &t);
        let v1_verzamelen = query("umcharderwijk~1", "st");
        assert_eq!(
            period_after(&v2_verzamelen, Granted, Indefinite),
            Indefinite
        );
        assert_eq!(period_after(&v2_verzamelen, Granted, ThisFlow), ThisFlow);
        assert_eq!(period_after(&v2_verzamelen, Refused, Indefinite), ThisFlow);
        assert_eq!(period_after(&v2_delen, Granted, Indefinite), ThisFlow);
        assert_eq!(period_after(&v1_verzamelen, Granted, Indefinite), ThisFlow);
    }

    /// The headers of a 2.x token answer, directly and on the wire.
    fn assert_json_not_cached(o: &TokenOutcomeV2) {
        let what = format!("{:?}", o.response);
        assert_eq!(
            o.response.headers(),
            &[
                ("Content-Type", "application/json;charset=UTF-8"),
                ("Cache-Control", "no-store"),
                ("Pragma", "no-cache"),
            ],
            "{what}"
        );
        let http = HttpResponse::from(o);
        assert_eq!(
            http.header("Content-Type"),
            Some("application/json;charset=UTF-8"),
            "{what}"
        );
        assert_eq!(http.header("Cache-Control"), Some("no-store"), "{what}");
        assert_eq!(http.header("Pragma"), Some("no-cache"), "{what}");
    }

    /// MedMij OAUTH-19, OAUTH-7 (RFC 6749 5.1): every answer of the 2.x token endpoint
    /// (the code grant with a refresh token, the refresh grant, and a refusal) is JSON and
    /// may not be cached: it carries the access and the refresh token.
    #[test]
    fn v2_token_answers_are_json_and_never_cached() {
        let s = v2::server_with(MemoryStore::new());
        let t = v2::ids();
        let code = v2::code_via(
            &s,
            &v2::query_v2(&v2::client(), "umcharderwijk", &t),
            ConsentPeriod::Indefinite,
            v2::t0(),
        );
        let issued = v2::post(
            &s,
            &v2::code_body(&v2::client(), &code),
            Some(&t.next_request()),
            &v2::client(),
            v2::t0(),
        );
        let (_, refresh) = v2::tokens(&issued);
        assert_json_not_cached(&issued);
        let rotated = v2::post(
            &s,
            &v2::refresh_body(&v2::client(), &refresh.expect("a refresh token")),
            Some(&t.next_request()),
            &v2::client(),
            v2::t0(),
        );
        assert!(v2::tokens(&rotated).1.is_some());
        assert_json_not_cached(&rotated);
        let refused = v2::post(
            &s,
            "grant_type=password",
            Some(&t.next_request()),
            &v2::client(),
            v2::t0(),
        );
        assert_eq!(refused.response.status(), 400);
        assert_json_not_cached(&refused);
    }
}

mod oauth_11 {
    use super::*;
    use crate::v2_common as v2;

    fn stored(query: &str) -> serde_json::Value {
        let s = v2::server_with(MemoryStore::new());
        let mut session = s.authorize(query).expect(query);
        session
            .authenticated(Authentication::Established(subject()))
            .unwrap();
        serde_json::to_value(&session).unwrap()
    }

    /// MedMij OAUTH-11 (a session carried between gateway nodes), OAUTH-20: a stored 2.x
    /// session loads back with its representation (or without one), and a stored
    /// `MedMij_geboortedatum` that is no date is refused on the way back in.
    #[test]
    fn stored_v2_sessions_load_back_and_bad_birth_dates_are_refused() {
        let t = v2::ids();
        let plain = stored(&v2::query_v2(&v2::client(), "umcharderwijk", &t));
        let back: Session = serde_json::from_value(plain.clone()).expect("plain 2.x session");
        let req = back.request().v2().expect("still 2.x");
        assert_eq!(req.trace, t);
        assert_eq!(req.representation, None);
        assert_eq!(back.stage(), SessionStage::AwaitingDataCheck);

        for (word, kind) in [
            ("onbehalfof", RepresentationKind::OnBehalfOf),
            ("onbehalfofchild", RepresentationKind::OnBehalfOfChild),
        ] {
            let q = format!(
                "{}&MedMij_geboortedatum=20100101",
                v2::query_v2(&v2::client(), &format!("umcharderwijk {word}"), &t)
            );
            let repr = stored(&q);
            let back: Session = serde_json::from_value(repr.clone()).expect(word);
            let r = back.request().v2().unwrap().representation.clone().unwrap();
            assert_eq!(r.kind, kind);
            assert_eq!(r.geboortedatum, "20100101");
            for bad in ["20101340", "20100230", "2010010", "abcdefgh"] {
                let mut v = repr.clone();
                v["geboortedatum"] = serde_json::Value::from(bad);
                assert!(
                    serde_json::from_value::<Session>(v).is_err(),
                    "{word} {bad}"
                );
            }
        }
    }
}

mod oauth_21 {
    use super::*;

    /// MedMij OAUTH-21 ("Releases, side by side"): a token request carrying either tracing
    /// header is a 2.x request, even when the other header is missing; one refused before its
    /// code or refresh token is looked at is answered in release 2.x, with no valid trace and
    /// the well-formed `MedMij-Request-ID` echoed. A request with neither header is 1.x.
    #[test]
    fn one_tracing_header_makes_a_token_request_v2() {
        let s = server();
        let t = TraceIds::new_flow();
        let (rid, cid) = (t.request_id.to_string(), t.correlation_id.to_string());
        for body in ["grant_type=password", "code=x", ""] {
            for (request_id, correlation_id) in
                [(Some(rid.as_str()), None), (None, Some(cid.as_str()))]
            {
                let out = s.token_v2(
                    &TokenHttpRequest {
                        content_type: Some(FORM_CONTENT_TYPE),
                        body,
                        request_id,
                        correlation_id,
                    },
                    &client(),
                    t0(),
                );
                let what = format!("{body:?} {request_id:?} {correlation_id:?}");
                assert_eq!(out.release, ReleaseLine::V2, "{what}");
                assert_eq!(out.response.status(), 400, "{what}");
                assert_eq!(out.trace, None, "{what}");
                assert_eq!(
                    out.request_id.map(|r| r.to_string()),
                    request_id.map(str::to_owned),
                    "{what}"
                );
            }
            let plain = s.token_v2(
                &TokenHttpRequest {
                    content_type: Some(FORM_CONTENT_TYPE),
                    body,
                    request_id: None,
                    correlation_id: None,
                },
                &client(),
                t0(),
            );
            assert_eq!(plain.release, ReleaseLine::V1, "{body:?}");
            assert_eq!(plain.response.status(), 400, "{body:?}");
            assert_eq!(plain.trace, None);
        }
    }
}

mod oauth_20 {
    use super::*;
    use crate::v2_common as v2;

    /// MedMij OAUTH-20: the representation extension needs `MedMij_geboortedatum` as a
    /// real Gregorian date `JJJJMMDD`: exactly eight digits, a month 1..12, a day of that
    /// month (29 February only in a leap year), a year from 1. Anything else is case 1
    /// `BadBirthDate`.
    #[test]
    fn birth_date_is_exactly_eight_digits_of_a_real_date() {
        let s = v2::server_with(MemoryStore::new());
        let t = v2::ids();
        let with_date = |date: &str| {
            let q = format!(
                "{}&MedMij_geboortedatum={date}",
                v2::query_v2(&v2::client(), "umcharderwijk onbehalfof", &t)
            );
            s.authorize(&q)
        };
        for good in [
            "20100101", "20101231", "20000229", "20240229", "20230228", "20100430", "00010101",
        ] {
            let session = with_date(good).unwrap_or_else(|e| panic!("{good}: {e}"));
            let r = session
                .request()
                .v2()
                .unwrap()
                .representation
                .clone()
                .unwrap();
            assert_eq!(r.geboortedatum, good);
        }
        for bad in [
            "201001011", // nine digits
            "2010010",   // seven
            "20100:01",  // a colon counted as the digit ten
            "2010-1-1",
            "2010010a",
            "19000229", // 1900 is no leap year
            "20230229",
            "20100431",
            "20101301",
            "20100001",
            "20100100",
            "00000101", // no year 0
        ] {
            let e = with_date(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad} accepted"));
            assert_eq!(e.cause(), &InvalidCause::BadBirthDate, "{bad}");
            assert_eq!(e.case_number(), 1);
        }
    }
}

mod oauth_6 {
    use super::*;

    /// MedMij OAUTH-6: a code or token is only the canonical lowercase text of a UUID v4.
    /// Both digits of one byte wrong (upper case, not hex) are refused as surely as one, at
    /// every byte; so are two wrong digits in two different bytes.
    #[test]
    fn every_wrong_digit_is_refused_also_two_together() {
        let good = "3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b";
        assert!(Code::parse(good).is_some());
        let digits: Vec<usize> = (0..36).filter(|i| ![8, 13, 18, 23].contains(i)).collect();
        let with = |changes: &[(usize, char)]| {
            let mut t: Vec<char> = good.chars().collect();
            for &(i, c) in changes {
                t[i] = c;
            }
            t.into_iter().collect::<String>()
        };
        for byte in digits.chunks(2) {
            for (h, l) in [('F', 'F'), ('z', 'z'), ('G', 'g'), (' ', ' ')] {
                let bad = with(&[(byte[0], h), (byte[1], l)]);
                assert!(Code::parse(&bad).is_none(), "{bad:?}");
                assert!(AccessToken::parse(&bad).is_none(), "{bad:?}");
            }
        }
        for (n, &i) in digits.iter().enumerate() {
            for &j in &digits[n + 1..] {
                let bad = with(&[(i, 'G'), (j, 'G')]);
                assert!(Code::parse(&bad).is_none(), "{bad:?}");
            }
        }
    }
}

mod oauth_23 {
    use super::*;

    /// The provisional `error_description` texts of a 2.x failure, as the rulebook words them
    /// (MedMij OAUTH-23): `invalid parameter <name>`, `authentication failed`, `availability
    /// check failed`. A host names the failed stage with them.
    #[test]
    fn the_provisional_failure_descriptions_are_the_rulebooks() {
        use provisional::failure_description::*;
        for name in ["scope", "client_id", "MedMij-Request-ID"] {
            assert_eq!(invalid_parameter(name), format!("invalid parameter {name}"));
        }
        assert_eq!(AUTHENTICATION_FAILED, "authentication failed");
        assert_eq!(AVAILABILITY_CHECK_FAILED, "availability check failed");
    }
}
