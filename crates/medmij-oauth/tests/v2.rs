//! Release 2.x side by side with 1.x at the authorization server, against MemoryStore
//! (MedMij OAUTH-1, OAUTH-6, OAUTH-8, OAUTH-19, OAUTH-20, OAUTH-21, OAUTH-22, OAUTH-23,
//! CONSENT-6). The same store-generic checks run against PostgreSQL in tests/v2_postgres.rs.

mod v2_common;
use medmij_oauth::*;
use std::time::Duration;
use v2_common::*;

fn mem() -> Srv<MemoryStore> {
    server_with(MemoryStore::new())
}

mod oauth_19 {
    use super::*;

    /// A TokenStore that only implements the 1.x methods: the 2.x ones keep the trait's
    /// default bodies.
    struct Old(MemoryStore);
    impl TokenStore for Old {
        fn insert_code(
            &self,
            h: &SecretHash,
            r: &CodeRecord,
            n: std::time::SystemTime,
        ) -> Result<(), StoreError> {
            self.0.insert_code(h, r, n)
        }
        fn redeem_code(
            &self,
            h: &SecretHash,
            n: std::time::SystemTime,
        ) -> Result<Redemption, StoreError> {
            self.0.redeem_code(h, n)
        }
        fn insert_token(
            &self,
            h: &SecretHash,
            r: &TokenRecord,
            c: &SecretHash,
            n: std::time::SystemTime,
        ) -> Result<(), StoreError> {
            self.0.insert_token(h, r, c, n)
        }
        fn lookup_token(
            &self,
            h: &SecretHash,
            n: std::time::SystemTime,
        ) -> Result<Option<TokenRecord>, StoreError> {
            self.0.lookup_token(h, n)
        }
        fn sweep(&self, n: std::time::SystemTime) -> Result<usize, StoreError> {
            self.0.sweep(n)
        }
    }
    use proptest::prelude::*;

    #[test]
    fn rotation_retires_at_once_and_replay_revokes_the_chain() {
        checks::rotation(&mem());
    }

    #[test]
    fn chain_lapses_exactly_after_the_refresh_lifetime() {
        checks::lapse_boundary(&mem());
    }

    #[test]
    fn concurrent_presentations_yield_at_most_one_rotation() {
        checks::concurrent_presentations(&mem());
    }

    #[test]
    fn refresh_lifetime_is_configuration() {
        let cfg = V2Config {
            refresh_lifetime: Duration::from_secs(100),
            ..V2Config::default()
        };
        let s = AuthorizationServer::new(config().v2_config(cfg), registry(), MemoryStore::new());
        let (t, _, r) = long_lasting(&s, t0());
        let out = post(
            &s,
            &refresh_body(&client(), &r),
            Some(&t),
            &client(),
            t0() + SEC * 100,
        );
        assert_eq!(error(&out), "invalid_grant");
    }

    #[test]
    fn refresh_request_shape_is_checked() {
        let s = mem();
        let (t, _, r) = long_lasting(&s, t0());
        // No tracing headers: invalid_request, and the token is not used up.
        let out = post(&s, &refresh_body(&client(), &r), None, &client(), t0());
        assert_eq!(
            (out.response.status(), error(&out).as_str()),
            (400, "invalid_request")
        );
        // client_id missing, or naming another client.
        let out = post(
            &s,
            &format!("grant_type=refresh_token&refresh_token={r}"),
            Some(&t),
            &client(),
            t0(),
        );
        assert_eq!(error(&out), "invalid_request");
        let out = post(
            &s,
            &refresh_body(&restricted(), &r),
            Some(&t),
            &client(),
            t0(),
        );
        assert_eq!(error(&out), "invalid_client");
        // redirect_uri is not part of a refresh request.
        let body = format!("{}&redirect_uri={REDIRECT}", refresh_body(&client(), &r));
        assert_eq!(
            error(&post(&s, &body, Some(&t), &client(), t0())),
            "invalid_request"
        );
        // Another (listed) client presenting it gets invalid_grant.
        let out = post(
            &s,
            &refresh_body(&restricted(), &r),
            Some(&t),
            &restricted(),
            t0(),
        );
        assert_eq!(error(&out), "invalid_grant");
        // Malformed or unknown refresh token.
        let out = post(
            &s,
            &refresh_body(&client(), "not-a-uuid"),
            Some(&t),
            &client(),
            t0(),
        );
        assert_eq!(error(&out), "invalid_grant");
        // Still usable after all that.
        let out = post(&s, &refresh_body(&client(), &r), Some(&t), &client(), t0());
        assert_eq!(out.response.status(), 200);
    }

    #[test]
    fn nonstandard_grant_is_unsupported_never_500() {
        let s = mem();
        let t = ids();
        for g in [
            "refresh_code",
            "password",
            "client_credentials",
            "REFRESH_TOKEN",
        ] {
            let out = post(
                &s,
                &format!("grant_type={g}&client_id=pgo.example.nl"),
                Some(&t),
                &client(),
                t0(),
            );
            assert_eq!(out.response.status(), 400);
            assert_eq!(error(&out), "unsupported_grant_type");
            assert!(!json(&out)["error_description"].as_str().unwrap().is_empty());
        }
    }

    #[test]
    fn refresh_tokens_never_in_debug() {
        let s = mem();
        let (t, _, r) = long_lasting(&s, t0());
        let out = post(&s, &refresh_body(&client(), &r), Some(&t), &client(), t0());
        let (_, r2) = tokens(&out);
        let dbg = format!("{out:?} {:?}", HttpResponse::from(&out));
        assert!(!dbg.contains(&r2.unwrap()));
        let tok = RefreshToken::parse(&r).unwrap();
        assert_eq!(format!("{tok:?}"), "RefreshToken(<redacted>)");
    }

    /// The trait's 2.x defaults (MedMij OAUTH-19, OAUTH-21, OAUTH-22): a 1.x-only store cannot
    /// open a long-lasting consent, stores nothing when asked to, and answers every 2.x
    /// question with "nothing of 2.x here", so a 1.x token is never taken for a 2.x one.
    #[test]
    fn store_without_v2_support_refuses_a_chain_and_reports_no_2x_state() {
        let s = Old(MemoryStore::new());
        let t = t0();
        let life = DEFAULT_REFRESH_LIFETIME;
        let h = |n: u8| SecretHash::from_bytes([n; 32]);
        let scope = Scope::parse("umcharderwijk~1", ScopeForm::Single).unwrap();
        let subject = Subject::new("p").unwrap();
        let code = CodeRecord {
            client_id: client(),
            redirect_uri: "https://pgo.example.nl/cb".into(),
            scope: scope.clone(),
            subject: subject.clone(),
            use_case: UseCase::Verzamelen,
            issued_at: t,
        };
        let token = TokenRecord {
            client_id: client(),
            scope: scope.clone(),
            subject: subject.clone(),
            use_case: UseCase::Verzamelen,
            issued_at: t,
        };
        let consent = ConsentRecord {
            id: ConsentId::from_bytes([7; 16]),
            client_id: client(),
            subject: subject.clone(),
            scope,
            wire_scope: "umcharderwijk".into(),
            use_case: UseCase::Verzamelen,
            granted_at: t,
        };
        s.insert_code(&h(1), &code, t).unwrap();
        assert!(matches!(s.redeem_code(&h(1), t), Ok(Redemption::Fresh(_))));
        assert_eq!(
            s.insert_token_with_refresh(&h(2), &token, &h(1), &h(3), &consent, t),
            Err(StoreError::Unsupported)
        );
        assert_eq!(s.lookup_token(&h(2), t), Ok(None), "nothing stored");
        assert_eq!(s.code_v2(&h(1), t), Ok(None));
        assert_eq!(
            s.rotate_refresh(&h(3), &h(4), &h(5), &client(), t, life),
            Ok(Rotation::Unknown)
        );
        assert_eq!(s.revoke_consent_of_code(&h(1), t), Ok(false));
        assert_eq!(
            s.long_lasting_consents(&subject, &client(), t, life),
            Ok(Vec::new())
        );
        assert_eq!(
            s.withdraw_consent(&consent.id, &subject, &client(), t),
            Ok(false)
        );
        assert_eq!(s.sweep_v2(t + life, life), Ok(0));
        // A 1.x token stays 1.x even when marked (OAUTH-21: no tracing ids required of it).
        s.insert_token(&h(2), &token, &h(1), t).unwrap();
        assert_eq!(s.mark_token_v2(&h(2), t), Ok(()));
        assert_eq!(s.token_is_v2(&h(2), t), Ok(false));
        // The memory store does take a marked token for a 2.x one.
        let m = MemoryStore::new();
        m.insert_code(&h(1), &code, t).unwrap();
        assert!(matches!(m.redeem_code(&h(1), t), Ok(Redemption::Fresh(_))));
        m.insert_token(&h(2), &token, &h(1), t).unwrap();
        assert_eq!(m.token_is_v2(&h(2), t), Ok(false));
        m.mark_token_v2(&h(2), t).unwrap();
        assert_eq!(m.token_is_v2(&h(2), t), Ok(true));
    }

    /// `sweep_v2` forgets a 2.x code's data after `CODE_RETENTION` and a chain once it has
    /// lapsed (MedMij OAUTH-19), and says how many entries went.
    #[test]
    fn memory_sweep_forgets_lapsed_chains_only() {
        let s = mem();
        let (_t, _a, r) = long_lasting(&s, t0());
        let life = DEFAULT_REFRESH_LIFETIME;
        assert_eq!(
            s.store().sweep_v2(t0() + SEC, life),
            Ok(0),
            "nothing lapsed yet"
        );
        let ns = Duration::from_nanos(1);
        assert_eq!(s.store().sweep_v2(t0() + CODE_RETENTION - ns, life), Ok(0));
        assert_eq!(
            s.store().sweep_v2(t0() + CODE_RETENTION, life),
            Ok(1),
            "the code data, at its retention"
        );
        assert_eq!(s.store().sweep_v2(t0() + life - SEC, life), Ok(0));
        assert_eq!(s.store().sweep_v2(t0() + life, life), Ok(1), "the chain");
        let out = post(
            &s,
            &refresh_body(&client(), &r),
            Some(&ids()),
            &client(),
            t0() + SEC,
        );
        assert_eq!(error(&out), "invalid_grant", "a swept chain is unknown");
    }

    /// Both lapse in one sweep: the count is the sum.
    #[test]
    fn memory_sweep_counts_code_data_and_chain_together() {
        let s = mem();
        let _ = long_lasting(&s, t0());
        let life = DEFAULT_REFRESH_LIFETIME;
        assert_eq!(s.store().sweep_v2(t0() + life, life), Ok(2));
    }

    #[test]
    fn store_without_v2_support_cannot_issue_a_2x_code() {
        let s = server_with(Old(MemoryStore::new()));
        let mut session = s
            .authorize(&query_v2(&client(), "umcharderwijk", &ids()))
            .unwrap();
        session
            .authenticated(Authentication::Established(Subject::new("p").unwrap()))
            .unwrap();
        session.data_available(true).unwrap();
        assert!(matches!(
            session.consent(ConsentDecision::Granted, t0()).unwrap(),
            ConsentOutcome::Granted(_)
        ));
        assert!(matches!(
            s.issue_code(&mut session, t0()),
            Err(IssueError::Store(StoreError::Unsupported))
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Never two valid refresh tokens in one chain: of all tokens of a chain only the
        /// last one works; a retired one presented again revokes the whole chain.
        #[test]
        fn only_the_last_refresh_token_is_valid(n in 0usize..5, pick in 0usize..6, step in 1u64..1_000_000) {
            let s = mem();
            let (all, access, now) = chain(&s, n, Duration::from_secs(step));
            let i = pick % all.len();
            let t = ids();
            let out = post(&s, &refresh_body(&client(), &all[i]), Some(&t), &client(), now + SEC);
            if i + 1 == all.len() {
                prop_assert_eq!(out.response.status(), 200);
            } else {
                prop_assert_eq!(error(&out), "invalid_grant");
                // The whole chain is revoked: the last refresh and the last access token.
                prop_assert!(!can_read(&s, &access, "1", now + SEC));
                let last = post(&s, &refresh_body(&client(), all.last().unwrap()), Some(&t), &client(), now + SEC * 2);
                prop_assert_eq!(error(&last), "invalid_grant");
            }
        }

        /// A chain lapses exactly DEFAULT_REFRESH_LIFETIME after its last rotation.
        #[test]
        fn chain_lapses_after_last_rotation(n in 0usize..3, d in 15_811_190u64..15_811_210) {
            let s = mem();
            let (all, _, now) = chain(&s, n, Duration::from_secs(86_400));
            let out = post(&s, &refresh_body(&client(), all.last().unwrap()), Some(&ids()), &client(), now + Duration::from_secs(d));
            prop_assert_eq!(out.response.status() == 200, d < 15_811_200);
        }

        /// 1.x flows never receive a refresh token, whatever period is passed.
        #[test]
        fn v1_never_gets_a_refresh_token(indef in any::<bool>(), pair in prop::sample::select(vec!["1", "3", "5"])) {
            let s = mem();
            let q = format!("response_type=code&client_id=pgo.example.nl&redirect_uri={REDIRECT}&scope=umcharderwijk%7E{pair}&state=x");
            let p = if indef { ConsentPeriod::Indefinite } else { ConsentPeriod::ThisFlow };
            let code = code_via(&s, &q, p, t0());
            let out = post(&s, &code_body(&client(), &code), Some(&ids()), &client(), t0());
            prop_assert_eq!(out.response.status(), 200);
            prop_assert!(json(&out).get("refresh_token").is_none());
            prop_assert_eq!(out.release, ReleaseLine::V1);
        }
    }
}

mod oauth_1 {
    use super::*;

    #[test]
    fn v1_flows_never_receive_a_refresh_token() {
        checks::no_refresh_without_long_lasting(&mem());
    }

    #[test]
    fn old_token_entry_point_refuses_2x_codes() {
        let s = mem();
        let t = ids();
        let code = code_via(
            &s,
            &query_v2(&client(), "umcharderwijk", &t),
            ConsentPeriod::Indefinite,
            t0(),
        );
        let out = s.token(
            Some(FORM_CONTENT_TYPE),
            &code_body(&client(), &code),
            &client(),
            t0(),
        );
        assert_eq!(out.response.status(), 400);
        assert!(out.response.body().contains("invalid_request"));
    }
}

mod oauth_8 {
    use super::*;

    #[test]
    fn replayed_2x_code_revokes_access_and_refresh_token() {
        checks::code_replay_revokes_chain(&mem());
    }
}

mod oauth_20 {
    use super::*;

    #[test]
    fn verzamelen_scope_is_the_aanbieder_and_covers_every_offered_gegevensdienst() {
        let s = mem();
        let t = ids();
        let session = s
            .authorize(&query_v2(&client(), "umcharderwijk", &t))
            .unwrap();
        assert_eq!(session.request().release(), ReleaseLine::V2);
        assert_eq!(session.request().use_case(), UseCase::Verzamelen);
        assert_eq!(
            session.request().scope().as_str(),
            "umcharderwijk~1 umcharderwijk~3"
        );
        let code = code_via(
            &s,
            &query_v2(&client(), "umcharderwijk", &t),
            ConsentPeriod::ThisFlow,
            t0(),
        );
        let out = post(&s, &code_body(&client(), &code), Some(&t), &client(), t0());
        assert_eq!(json(&out)["scope"], "umcharderwijk");
        let (a, _) = tokens(&out);
        assert!(can_read(&s, &a, "1", t0()) && can_read(&s, &a, "3", t0()));
        assert!(!can_read(&s, &a, "5", t0()));
    }

    #[test]
    fn token_endpoint_applies_the_ocl() {
        let s = mem();
        let t = ids();
        let code = code_via(
            &s,
            &query_v2(&restricted(), "umcharderwijk", &t),
            ConsentPeriod::Indefinite,
            t0(),
        );
        let out = post(
            &s,
            &code_body(&restricted(), &code),
            Some(&t),
            &restricted(),
            t0(),
        );
        let (a, r) = tokens(&out);
        assert!(can_read(&s, &a, "1", t0()));
        assert!(!can_read(&s, &a, "3", t0()));
        assert_eq!(json(&out)["scope"], "umcharderwijk");
        // The refreshed token keeps exactly that scope.
        let out = post(
            &s,
            &refresh_body(&restricted(), &r.unwrap()),
            Some(&t),
            &restricted(),
            t0() + SEC,
        );
        let (a2, _) = tokens(&out);
        assert!(can_read(&s, &a2, "1", t0() + SEC) && !can_read(&s, &a2, "3", t0() + SEC));
        // Delen 5 is not on the restricted client's list: refused at the token endpoint.
        let code = code_via(
            &s,
            &query_v2(&restricted(), "umcharderwijk~5", &t),
            ConsentPeriod::ThisFlow,
            t0(),
        );
        let out = post(
            &s,
            &code_body(&restricted(), &code),
            Some(&t),
            &restricted(),
            t0(),
        );
        assert_eq!(error(&out), "invalid_grant");
    }

    #[test]
    fn delen_takes_exactly_one_pair_and_verzamelen_no_pair() {
        let s = mem();
        let t = ids();
        assert_eq!(
            s.authorize(&query_v2(&client(), "umcharderwijk~5", &t))
                .unwrap()
                .request()
                .use_case(),
            UseCase::Delen
        );
        for bad in [
            "umcharderwijk~1",
            "umcharderwijk~5 umcharderwijk~1",
            "umcharderwijk extra",
            "UMC",
            "onbekend",
            "",
        ] {
            let e = s.authorize(&query_v2(&client(), bad, &t));
            assert!(e.is_err(), "{bad}");
            assert_eq!(e.unwrap_err().case_number(), 1);
        }
    }

    #[test]
    fn representation_extension_is_parsed_and_carried() {
        let s = mem();
        let t = ids();
        let q = format!(
            "{}&MedMij_geboortedatum=20120229",
            query_v2(&client(), "umcharderwijk onbehalfofchild", &t)
        );
        let session = s.authorize(&q).unwrap();
        let rep = session
            .request()
            .v2()
            .unwrap()
            .representation
            .clone()
            .unwrap();
        assert_eq!(rep.kind, RepresentationKind::OnBehalfOfChild);
        assert_eq!(rep.geboortedatum, "20120229");
        // Survives the flow store.
        let back: Session =
            serde_json::from_str(&serde_json::to_string(&session).unwrap()).unwrap();
        assert_eq!(back.request().v2(), session.request().v2());
        let code = code_via(&s, &q, ConsentPeriod::ThisFlow, t0());
        let out = post(&s, &code_body(&client(), &code), Some(&t), &client(), t0());
        assert_eq!(json(&out)["scope"], "umcharderwijk onbehalfofchild");
        for bad in [
            "",
            "&MedMij_geboortedatum=20110229",
            "&MedMij_geboortedatum=2012-02-2",
            "&MedMij_geboortedatum=20121301",
        ] {
            let q = format!(
                "{}{bad}",
                query_v2(&client(), "umcharderwijk onbehalfof", &t)
            );
            assert_eq!(
                s.authorize(&q).unwrap_err().cause(),
                &InvalidCause::BadBirthDate,
                "{bad}"
            );
        }
    }

    #[test]
    fn v1_request_is_served_only_where_v1_is_still_offered() {
        let cfg = config().without_v1(za(), gd("1"));
        let s = AuthorizationServer::new(cfg, registry(), MemoryStore::new());
        let q = |sc: &str| {
            format!(
                "response_type=code&client_id=pgo.example.nl&redirect_uri={REDIRECT}&scope={sc}&state=x"
            )
        };
        assert_eq!(
            s.authorize(&q("umcharderwijk%7E1")).unwrap_err().cause(),
            &InvalidCause::V1NotServed
        );
        assert!(s.authorize(&q("umcharderwijk%7E3")).is_ok());
        assert!(
            s.authorize(&query_v2(&client(), "umcharderwijk", &ids()))
                .is_ok()
        );
    }
}

mod oauth_21 {
    use super::*;

    #[test]
    fn authorization_request_needs_both_ids_once_it_is_2x() {
        let s = mem();
        let t = ids();
        let full = query_v2(&client(), "umcharderwijk", &t);
        assert_eq!(s.authorize(&full).unwrap().request().v2().unwrap().trace, t);
        // Scope without ~ but no ids: 2.x, so case 1.
        let q = format!(
            "response_type=code&client_id=pgo.example.nl&redirect_uri={REDIRECT}&scope=umcharderwijk&state=x"
        );
        let e = s.authorize(&q).unwrap_err();
        assert!(matches!(
            e.cause(),
            InvalidCause::BadTracing(TraceError::Missing(_))
        ));
        // A 1.x pair scope with one id: 2.x, the other missing.
        let q = format!(
            "response_type=code&client_id=pgo.example.nl&redirect_uri={REDIRECT}&scope=umcharderwijk%7E5&state=x&MedMij-Request-ID={}",
            t.request_id
        );
        assert!(matches!(
            s.authorize(&q).unwrap_err().cause(),
            InvalidCause::BadTracing(TraceError::Missing("X-Correlation-ID"))
        ));
        // Malformed: upper case, version 1.
        for bad in [
            "3F2B8C1E-9D4A-4F6B-8E2A-1C3D5E7F9A0B",
            "3f2b8c1e-9d4a-1f6b-8e2a-1c3d5e7f9a0b",
            "x",
        ] {
            let q = full.replace(t.correlation_id.as_str(), bad);
            assert!(
                matches!(
                    s.authorize(&q).unwrap_err().cause(),
                    InvalidCause::BadTracing(TraceError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn token_request_of_a_2x_flow_needs_the_headers_and_echoes_the_request_id() {
        let s = mem();
        let t = ids();
        let code = code_via(
            &s,
            &query_v2(&client(), "umcharderwijk", &t),
            ConsentPeriod::ThisFlow,
            t0(),
        );
        let bad = s.token_v2(
            &TokenHttpRequest {
                content_type: Some(FORM_CONTENT_TYPE),
                body: &code_body(&client(), &code),
                request_id: Some("nope"),
                correlation_id: Some(t.correlation_id.as_str()),
            },
            &client(),
            t0(),
        );
        assert_eq!(
            (bad.response.status(), error(&bad).as_str()),
            (400, "invalid_request")
        );
        let code = code_via(
            &s,
            &query_v2(&client(), "umcharderwijk", &t),
            ConsentPeriod::ThisFlow,
            t0(),
        );
        let n = t.next_request();
        let ok = post(&s, &code_body(&client(), &code), Some(&n), &client(), t0());
        let http = HttpResponse::from(&ok);
        assert_eq!(http.status(), 200);
        assert_eq!(
            http.header("MedMij-Request-ID"),
            Some(n.request_id.to_string().as_str())
        );
        assert_eq!(ok.trace, Some(n));
    }

    #[test]
    fn v2_tokens_need_the_ids_at_the_resource_endpoint() {
        checks::v2_tokens_need_ids(&mem());
    }

    #[test]
    fn resource_request_needs_the_ids() {
        let s = mem();
        let h = |a: &str| format!("Bearer {a}");
        let check = |a: &str, r: Option<&str>, c: Option<&str>| {
            s.check_resource_v2(Some(&h(a)), r, c, &za(), &gd("1"), Interaction::Read, t0())
        };
        for period in [ConsentPeriod::Indefinite, ConsentPeriod::ThisFlow] {
            let t = ids();
            let code = code_via(&s, &query_v2(&client(), "umcharderwijk", &t), period, t0());
            let (a, _) = tokens(&post(
                &s,
                &code_body(&client(), &code),
                Some(&t),
                &client(),
                t0(),
            ));
            let n = t.next_request();
            let (rid, cid) = (n.request_id.to_string(), n.correlation_id.to_string());
            assert_eq!(check(&a, Some(&rid), Some(&cid)).unwrap().1, Some(n));
            // A 2.x token: missing, partial or malformed identifiers are case 7.
            for (r, c) in [
                (None, None),
                (None, Some(cid.as_str())),
                (Some("x"), Some(cid.as_str())),
            ] {
                assert_eq!(
                    check(&a, r, c).unwrap_err().case_number(),
                    7,
                    "{period:?} {r:?} {c:?}"
                );
            }
            // The 1.x entry point cannot see them: case 7.
            assert_eq!(
                s.check_resource(Some(&h(&a)), &za(), &gd("1"), Interaction::Read, t0())
                    .unwrap_err()
                    .case_number(),
                7
            );
        }
        // A 1.x token needs none; sent malformed, the request is 2.x and refused.
        let q = format!(
            "response_type=code&client_id=pgo.example.nl&redirect_uri={REDIRECT}&scope=umcharderwijk%7E1&state=x"
        );
        let code = code_via(&s, &q, ConsentPeriod::ThisFlow, t0());
        let (a, _) = tokens(&post(
            &s,
            &code_body(&client(), &code),
            None,
            &client(),
            t0(),
        ));
        assert_eq!(check(&a, None, None).unwrap().1, None);
        assert!(
            s.check_resource(Some(&h(&a)), &za(), &gd("1"), Interaction::Read, t0())
                .is_ok()
        );
        assert!(check(&a, Some("x"), None).is_err());
    }
}

mod oauth_22 {
    use super::*;

    #[test]
    fn withdrawal_revokes_the_chain() {
        checks::withdrawal(&mem());
    }

    #[test]
    fn consent_management_entry_point_is_checked() {
        let s = mem();
        let t = ids();
        let q = format!(
            "client_id=pgo.example.nl&redirect_uri={REDIRECT}&state=s1&MedMij-Request-ID={}&X-Correlation-ID={}",
            t.request_id, t.correlation_id
        );
        let m = s.consent_management(&q).unwrap();
        assert_eq!(m.back_location(), "https://pgo.example.nl/cb?state=s1");
        assert_eq!(m.trace, t);
        let bad = q.replace("pgo.example.nl%2Fcb", "evil.example.nl%2Fcb");
        assert_eq!(
            s.consent_management(&bad).unwrap_err().cause(),
            &InvalidCause::BadRedirectUri
        );
        let no_ids = format!("client_id=pgo.example.nl&redirect_uri={REDIRECT}&state=s1");
        assert!(s.consent_management(&no_ids).is_err());
    }
}

mod oauth_23 {
    use super::*;

    #[test]
    fn technical_failure_carries_trace_and_session_id() {
        let s = mem();
        let t = ids();
        let mut session = s
            .authorize(&query_v2(&client(), "umcharderwijk", &t))
            .unwrap();
        let f = session.technical_failure();
        assert_eq!(f.trace, Some(t));
        let back = f.back.unwrap();
        assert!(back.location().contains("error=access_denied"));
        assert!(back.location().contains("Authorization+failed."));
        assert_eq!(session.stage(), SessionStage::Finished);
        // An invalid request: identifiers, no way back.
        let q = query_v2(&client(), "umcharderwijk", &t)
            .replace("pgo.example.nl%2Fcb", "evil.example.nl");
        let e = s.authorize(&q).unwrap_err();
        let f = e.technical_failure();
        assert_eq!((f.trace, f.back), (Some(t), None));
        // The case 1 answer echoes the Trace ID (OAUTH-21).
        assert_eq!(
            HttpResponse::from(&e).header("MedMij-Request-ID"),
            Some(t.request_id.to_string().as_str())
        );
    }
}

mod consent_6 {
    use super::*;

    #[test]
    fn consent_outcome_carries_the_indefinite_choice() {
        let s = mem();
        let mut session = s
            .authorize(&query_v2(&client(), "umcharderwijk", &ids()))
            .unwrap();
        session
            .authenticated(Authentication::Established(Subject::new("p").unwrap()))
            .unwrap();
        session.data_available(true).unwrap();
        let ConsentOutcome::Granted(ev) = session
            .consent_with(ConsentDecision::Granted, ConsentPeriod::Indefinite, t0())
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(ev.period, ConsentPeriod::Indefinite);
        // Default (never preselected): this flow only.
        let mut session = s
            .authorize(&query_v2(&client(), "umcharderwijk", &ids()))
            .unwrap();
        session
            .authenticated(Authentication::Established(Subject::new("p").unwrap()))
            .unwrap();
        session.data_available(true).unwrap();
        let ConsentOutcome::Granted(ev) = session.consent(ConsentDecision::Granted, t0()).unwrap()
        else {
            panic!()
        };
        assert_eq!(ev.period, ConsentPeriod::ThisFlow);
    }
}

mod oauth_6 {
    use super::*;
    use std::sync::Mutex;

    /// Draws 0, 1, 0, 3, 4, 3, 6, 7, 6, ...: every third value repeats one drawn two
    /// draws before, so codes, access and refresh tokens collide across kinds; the server
    /// must draw again (MedMij OAUTH-6).
    struct Repeating(Mutex<u64>);
    impl RandomSource for Repeating {
        fn fill(&self, dest: &mut [u8; 16]) {
            let mut n = self.0.lock().unwrap();
            let v = if *n % 3 == 2 { *n - 2 } else { *n };
            *n += 1;
            dest.fill(0);
            dest[..8].copy_from_slice(&v.to_le_bytes());
        }
    }

    #[test]
    fn refresh_and_access_tokens_are_distinct_and_redrawn_on_collision() {
        let s = AuthorizationServer::with_random(
            config(),
            registry(),
            MemoryStore::new(),
            Repeating(Mutex::new(0)),
        );
        let (t, a, r) = long_lasting(&s, t0());
        assert_ne!(a, r);
        let mut seen = std::collections::HashSet::from([a, r.clone()]);
        let mut r = r;
        for i in 1..5u64 {
            let out = post(
                &s,
                &refresh_body(&client(), &r),
                Some(&t),
                &client(),
                t0() + SEC * i as u32,
            );
            let (a2, r2) = tokens(&out);
            let r2 = r2.unwrap();
            assert!(seen.insert(a2));
            assert!(seen.insert(r2.clone()));
            r = r2;
        }
    }
}

/// The memory store's 2.x operations at the level of the `TokenStore` trait: every
/// collision refused on its own (MedMij OAUTH-6), the chain's live access tokens revoked on a
/// replay (OAUTH-19), 2.x code data kept for exactly `CODE_RETENTION`.
mod store_v2 {
    use super::*;
    use v2_common::store_level::{self, h};

    mod oauth_6 {
        use super::*;

        /// Each collision on its own refuses the new chain and stores nothing.
        #[test]
        fn opening_a_chain_refuses_each_collision_alone() {
            store_level::opening_a_chain_refuses_each_collision_alone(MemoryStore::new, drop);
        }

        /// Each collision on its own refuses the rotation and changes nothing: the presented
        /// refresh token stays valid.
        #[test]
        fn rotating_refuses_each_collision_alone() {
            store_level::rotating_refuses_each_collision_alone(MemoryStore::new, drop);
        }
    }

    mod oauth_8 {
        use super::*;

        /// A chain is opened only for a code redeemed once and not yet used.
        #[test]
        fn a_chain_needs_a_code_redeemed_once() {
            store_level::a_chain_needs_a_code_redeemed_once(MemoryStore::new());
        }

        /// A replayed code revokes the chain opened with it, once.
        #[test]
        fn a_replayed_code_revokes_its_chain_once() {
            store_level::a_replayed_code_revokes_its_chain_once(MemoryStore::new());
        }
    }

    mod oauth_19 {
        use super::*;

        /// A replayed refresh token revokes every access token of the chain still live,
        /// the first one included (it is still within its 900 s).
        #[test]
        fn replay_revokes_every_live_access_token_of_the_chain() {
            store_level::replay_revokes_every_live_access_token_of_the_chain(MemoryStore::new());
        }

        /// 2.x code data is kept for exactly `CODE_RETENTION`, and stays readable however
        /// many other 2.x codes are stored meanwhile (the amortised sweep keeps live ones).
        #[test]
        fn code_data_is_kept_for_the_retention_through_sweeps() {
            let t = t0();
            let ns = std::time::Duration::from_nanos(1);
            let s = MemoryStore::new();
            let v2 = CodeV2 {
                wire_scope: "umcharderwijk".into(),
                long_lasting: true,
                correlation_id: ids().correlation_id,
            };
            for n in 0..600 {
                s.insert_code_v2(&h(n), &v2, t).unwrap();
            }
            for n in 0..600 {
                assert_eq!(
                    s.code_v2(&h(n), t + CODE_RETENTION - ns),
                    Ok(Some(v2.clone())),
                    "code {n}"
                );
                assert_eq!(s.code_v2(&h(n), t + CODE_RETENTION), Ok(None), "code {n}");
            }
            for n in 600..1200 {
                s.insert_code_v2(&h(n), &v2, t + CODE_RETENTION).unwrap();
            }
            for n in 600..1200 {
                assert_eq!(
                    s.code_v2(&h(n), t + CODE_RETENTION),
                    Ok(Some(v2.clone())),
                    "code {n}"
                );
            }
        }
    }

    mod oauth_22 {
        use super::*;

        /// Only the consent's own person and client may withdraw it; anyone else's attempt
        /// is refused and leaves the chain working.
        #[test]
        fn withdrawal_needs_the_consents_own_person_and_client() {
            store_level::withdrawal_needs_the_consents_own_person_and_client(MemoryStore::new());
        }

        /// The overview lists a consent until the instant it lapses, not at that instant,
        /// and only to its own person and client.
        #[test]
        fn overview_lists_a_consent_until_it_lapses() {
            store_level::overview_lists_a_consent_until_it_lapses(MemoryStore::new());
        }
    }
}

/// A store reached through `&T`, `Arc<T>` or `Box<T>` (the `TokenStore` impls the crate's
/// `forward_store!` macro writes) does exactly what the store itself does, method by method.
mod store_forwarding {
    use super::*;
    use std::sync::Arc;
    use v2_common::store_level::{self, code_rec, h, token_rec};

    /// Every check of `store_level` through the wrapper `fresh` builds, and the methods those
    /// leave out (1.x and 2.x sweeps, 2.x code data, the 2.x mark) compared with a plain
    /// `MemoryStore` given the same calls.
    fn every_method<S: TokenStore>(fresh: impl Fn() -> S) {
        store_level::opening_a_chain_refuses_each_collision_alone(&fresh, drop);
        store_level::rotating_refuses_each_collision_alone(&fresh, drop);
        store_level::a_chain_needs_a_code_redeemed_once(fresh());
        store_level::a_replayed_code_revokes_its_chain_once(fresh());
        store_level::replay_revokes_every_live_access_token_of_the_chain(fresh());
        store_level::withdrawal_needs_the_consents_own_person_and_client(fresh());
        store_level::overview_lists_a_consent_until_it_lapses(fresh());

        let t = t0();
        let v2 = CodeV2 {
            wire_scope: "umcharderwijk".into(),
            long_lasting: true,
            correlation_id: ids().correlation_id,
        };
        let (wrapped, plain) = (fresh(), MemoryStore::new());
        for n in [1, 2] {
            assert_eq!(
                wrapped.insert_code(&h(n), &code_rec(t), t),
                plain.insert_code(&h(n), &code_rec(t), t)
            );
            assert_eq!(
                wrapped.insert_code_v2(&h(n), &v2, t),
                plain.insert_code_v2(&h(n), &v2, t)
            );
        }
        assert_eq!(wrapped.code_v2(&h(1), t), Ok(Some(v2.clone())));
        assert_eq!(wrapped.code_v2(&h(3), t), Ok(None));
        store_level::redeemed(&wrapped, 5, t);
        store_level::redeemed(&plain, 5, t);
        for s in [&wrapped as &dyn TokenStore, &plain] {
            s.insert_token(&h(6), &token_rec(t), &h(5), t).unwrap();
            assert_eq!(s.token_is_v2(&h(6), t), Ok(false));
            s.mark_token_v2(&h(6), t).unwrap();
        }
        assert_eq!(wrapped.token_is_v2(&h(6), t), Ok(true));
        // Both sweeps count what they forget; more than one entry each.
        let later = t + CODE_RETENTION + Duration::from_secs(1);
        let swept = plain.sweep(later).unwrap();
        assert!(swept > 1, "{swept}");
        assert_eq!(wrapped.sweep(later), Ok(swept));
        let swept_v2 = plain.sweep_v2(later, DEFAULT_REFRESH_LIFETIME).unwrap();
        assert!(swept_v2 > 1, "{swept_v2}");
        assert_eq!(
            wrapped.sweep_v2(later, DEFAULT_REFRESH_LIFETIME),
            Ok(swept_v2)
        );
    }

    mod oauth_6 {
        use super::*;

        #[test]
        fn a_store_behind_a_reference_an_arc_or_a_box_is_the_store() {
            every_method(|| &*Box::leak(Box::new(MemoryStore::new())));
            every_method(|| Arc::new(MemoryStore::new()));
            every_method(|| Box::new(MemoryStore::new()));
        }
    }
}
