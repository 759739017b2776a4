//! Release 2.x through the axum adapters (feature `axum`): one ZA GW serving 1.x and 2.x
//! clients at once, the PGO GW speaking 2.x per counterpart, long-lasting consent with
//! refresh and rotation, collecting again, chain revocation on replay, withdrawal, the
//! technical-failure page and the chain-monitoring steps.
#![cfg(feature = "axum")]

mod axum_support;
use axum_support::v2::*;
use axum_support::*;
use medmij_oauth::adapter::*;
use medmij_oauth::*;

/// A whole 2.x flow with a long-lasting consent straight against the ZA GW router: the
/// access token and the refresh token.
async fn long_lasting(router: &axum::Router, person: &str) -> (String, String, TraceIds) {
    let trace = new_trace();
    let (cookie, action) =
        v2_to_consent(router, "192.0.2.1", "umcharderwijk", person, &trace).await;
    let code = v2_grant(router, "192.0.2.1", &cookie, &action, true).await;
    let t = token_request(router, &code_body(&code), Some(&trace)).await;
    assert_eq!(t.status, 200, "{}", t.body);
    let j = json(&t);
    assert_eq!(j["scope"], "umcharderwijk");
    assert_eq!(j["expires_in"], 900);
    (
        j["access_token"].as_str().unwrap().to_owned(),
        j["refresh_token"]
            .as_str()
            .expect("a refresh token")
            .to_owned(),
        trace,
    )
}

mod oauth_19 {
    use super::*;

    /// The whole story through both routers: a 2.x flow with long-lasting consent, the
    /// clock past 900 s (the access token lapses), "collect again" refreshes on the back
    /// channel, the retired refresh token is refused afterwards (rotation), and a replay of
    /// it revokes the chain, so the next collection falls back to a full flow.
    #[tokio::test]
    async fn collect_again_by_refresh_with_rotation_and_replay() {
        let clock = TestClock::default();
        let (za, za_audit, _) = v2_za(&clock);
        let (pgo, grants, pgo_audit, vault) = v2_pgo(za.clone(), &clock);
        let start = send(
            &pgo,
            pgo_request("/start?scope=umcharderwijk~1", "p-7", None),
        )
        .await;
        let to = start.location();
        assert!(to.contains("MedMij-Request-ID="), "{to}");
        assert!(to.contains("X-Correlation-ID="), "{to}");
        assert_eq!(param(&to, "scope").as_deref(), Some("umcharderwijk"));
        let done = through_za(&pgo, &za, "alice", start, true).await;
        assert_eq!(done.status, 200, "{}", done.body);
        let (person, first, manage) = grants.lock().unwrap()[0].clone();
        assert_eq!(person, "p-7");
        assert_eq!(first.wire_scope, "umcharderwijk");
        assert!(
            first.refresh_token.is_none(),
            "the refresh token stays in the vault"
        );
        assert_eq!(
            manage.as_deref(),
            Some("/toestemmingen?scope=umcharderwijk%7E1")
        );
        let rt1 = vault.peek("p-7").expect("refresh token in the vault");
        let first_token = first.access.authorization_header();
        let token1 = first_token.trim_start_matches("Bearer ");
        let flow_trace = first.trace.expect("2.x grant");
        let r = fetch_traced(
            &za,
            "/fhir/1/Patient",
            token1,
            Some(&flow_trace.next_request()),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);

        clock.advance(901);
        let r = fetch_traced(
            &za,
            "/fhir/1/Patient",
            token1,
            Some(&flow_trace.next_request()),
        )
        .await;
        assert_eq!(r.status, 401, "the access token lapsed after 900 s");

        let again = send(
            &pgo,
            pgo_request("/collect?scope=umcharderwijk~1", "p-7", None),
        )
        .await;
        assert_eq!(again.status, 200, "{}", again.body);
        let (_, second, _) = grants.lock().unwrap()[1].clone();
        let rt2 = vault.peek("p-7").expect("the rotated refresh token");
        assert_ne!(rt1, rt2, "rotation: a new refresh token");
        // The audit trail tells the code grant from the rotation (MedMij LOG-1).
        let token_events: Vec<String> = za_audit
            .all()
            .into_iter()
            .filter(|e| e.endpoint == Endpoint::Token && e.success)
            .map(|e| e.detail)
            .collect();
        assert_eq!(token_events, ["token issued", "token refreshed (rotation)"]);
        let second_trace = second.trace.unwrap();
        assert_ne!(
            second_trace.correlation_id, flow_trace.correlation_id,
            "a flow started from a refresh token gets a new X-Correlation-ID (OAUTH-21)"
        );
        let token2 = second.access.authorization_header();
        let r = fetch_traced(
            &za,
            "/fhir/1/Patient",
            token2.trim_start_matches("Bearer "),
            Some(&second_trace.next_request()),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);

        // Rotation: the retired token is refused, and that replay revokes the whole chain.
        let replay =
            token_request(&za, &refresh_body(&rt1.secret_text()), Some(&new_trace())).await;
        assert_eq!(replay.status, 400);
        assert_eq!(json(&replay)["error"], "invalid_grant");
        assert!(
            za_audit
                .all()
                .iter()
                .any(|e| !e.success && e.detail.contains("refresh token replayed")),
        );
        let r = fetch_traced(
            &za,
            "/fhir/1/Patient",
            token2.trim_start_matches("Bearer "),
            Some(&second_trace.next_request()),
        )
        .await;
        assert_eq!(r.status, 401, "the chain's access token is revoked too");
        let current =
            token_request(&za, &refresh_body(&rt2.secret_text()), Some(&new_trace())).await;
        assert_eq!(
            json(&current)["error"],
            "invalid_grant",
            "the chain is revoked"
        );

        // Collect again now falls back to a full flow (OAUTH-19: invalid_grant).
        vault
            .0
            .put(&VaultKey::new("p-7", axum_support::za()), &rt2)
            .unwrap();
        let fallback = send(
            &pgo,
            pgo_request("/collect?scope=umcharderwijk~1", "p-7", None),
        )
        .await;
        assert_eq!(fallback.status, 302, "{}", fallback.body);
        assert!(
            fallback
                .location()
                .starts_with("https://za.example.nl/authorize?")
        );
        assert!(
            pgo_audit
                .all()
                .iter()
                .any(|e| e.endpoint == Endpoint::Collect
                    && e.case == Some(6)
                    && e.detail.contains("new full flow"))
        );
        let done = through_za(&pgo, &za, "alice", fallback, true).await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(vault.peek("p-7").is_some());
    }

    /// Without the indefinite-period choice a 2.x flow behaves as 1.x: no refresh token;
    /// collecting again is then a full flow.
    #[tokio::test]
    async fn no_refresh_token_without_the_indefinite_choice() {
        let clock = TestClock::default();
        let (za, _, _) = v2_za(&clock);
        let trace = new_trace();
        let (cookie, action) =
            v2_to_consent(&za, "192.0.2.2", "umcharderwijk", "bob", &trace).await;
        let code = v2_grant(&za, "192.0.2.2", &cookie, &action, false).await;
        let t = token_request(&za, &code_body(&code), Some(&trace)).await;
        assert_eq!(t.status, 200, "{}", t.body);
        assert!(json(&t).get("refresh_token").is_none());

        let (pgo, grants, _, vault) = v2_pgo(za.clone(), &clock);
        let leave = send(
            &pgo,
            pgo_request("/collect?scope=umcharderwijk~1", "p-8", None),
        )
        .await;
        let done = through_za(&pgo, &za, "bob", leave, false).await;
        assert_eq!(done.status, 200);
        assert!(vault.peek("p-8").is_none());
        assert!(grants.lock().unwrap()[0].1.refresh_token.is_none());
    }

    /// Non-standard grants are `unsupported_grant_type` (never a 500), with and without the
    /// tracing headers; a refresh request without them is `invalid_request`.
    #[tokio::test]
    async fn refresh_code_grant_is_unsupported() {
        let clock = TestClock::default();
        let (za, _, _) = v2_za(&clock);
        let (_, rt, _) = long_lasting(&za, "carol").await;
        let body = format!("grant_type=refresh_code&refresh_token={rt}&client_id={PGO}");
        for trace in [Some(new_trace()), None] {
            let a = token_request(&za, &body, trace.as_ref()).await;
            assert_eq!(a.status, 400, "{}", a.body);
            assert_eq!(json(&a)["error"], "unsupported_grant_type");
        }
        let a = token_request(&za, &refresh_body(&rt), None).await;
        assert_eq!(json(&a)["error"], "invalid_request");
        // The refresh token is still good: refused requests did not use it.
        let a = token_request(&za, &refresh_body(&rt), Some(&new_trace())).await;
        assert_eq!(a.status, 200, "{}", a.body);
    }

    /// A 1.x and a 2.x flow interleaved on one ZA GW: each answered in its own line.
    #[tokio::test]
    async fn one_and_two_on_the_same_gateway_at_once() {
        let clock = TestClock::default();
        let (za, audit, _) = v2_za(&clock);
        let trace = new_trace();
        let (c1, a1) = to_consent(&za, "192.0.2.11", "umcharderwijk~1", "dave").await;
        let (c2, a2) = v2_to_consent(&za, "192.0.2.12", "umcharderwijk", "erin", &trace).await;
        let code2 = v2_grant(&za, "192.0.2.12", &c2, &a2, true).await;
        let d1 = decide(&za, "192.0.2.11", &c1, &a1, "yes").await;
        let code1 = param(&d1.location(), "code").unwrap();
        let t1 = redeem(&za, &code1, Some(PGO)).await;
        assert_eq!(t1.status, 200, "{}", t1.body);
        let j1 = json(&t1);
        assert_eq!(j1["scope"], "umcharderwijk~1");
        assert!(
            j1.get("refresh_token").is_none(),
            "1.x: never a refresh token"
        );
        assert!(t1.header("medmij-request-id").is_none());
        let t2 = token_request(&za, &code_body(&code2), Some(&trace)).await;
        assert_eq!(t2.status, 200, "{}", t2.body);
        assert!(json(&t2)["refresh_token"].is_string());
        assert!(
            t2.header("medmij-request-id").is_some(),
            "echoed (OAUTH-21)"
        );
        // The 1.x token needs no tracing headers.
        let r = fetch_traced(
            &za,
            "/fhir/1/Patient",
            j1["access_token"].as_str().unwrap(),
            None,
        )
        .await;
        assert_eq!(r.status, 200);
        let consents: Vec<_> = audit.all().into_iter().filter_map(|e| e.consent).collect();
        assert!(
            consents
                .iter()
                .any(|c| c.period == ConsentPeriod::Indefinite)
        );
        assert!(consents.iter().any(|c| c.period == ConsentPeriod::ThisFlow));
    }
}

mod oauth_20 {
    use super::*;

    /// The Aanbieder's name as scope: the consent covers its offered Verzamelen
    /// Gegevensdiensten, the token response echoes the scope text.
    #[tokio::test]
    async fn scope_per_aanbieder() {
        let clock = TestClock::default();
        let (za, _, _) = v2_za(&clock);
        let (token, _, trace) = long_lasting(&za, "frank").await;
        let r = fetch_traced(&za, "/fhir/1/Patient", &token, Some(&trace.next_request())).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = fetch_traced(&za, "/fhir/48/Bundle", &token, Some(&trace.next_request())).await;
        assert_eq!(r.status, 401, "Delen is not part of a Verzamelen consent");
    }

    /// The PGO GW speaks 1.x to a counterpart the ZAL lists in 1.x and 2.x to the other.
    #[tokio::test]
    async fn release_per_counterpart() {
        let clock = TestClock::default();
        let (za, _, _) = v2_za(&clock);
        let (pgo, _, _, _) = v2_pgo(za, &clock);
        let v1 = send(
            &pgo,
            pgo_request("/start?scope=ziekenhuisdelft~1", "p-1", None),
        )
        .await;
        assert_eq!(v1.status, 302);
        assert_eq!(
            param(&v1.location(), "scope").as_deref(),
            Some("ziekenhuisdelft~1")
        );
        assert!(param(&v1.location(), "X-Correlation-ID").is_none());
        let v2 = send(
            &pgo,
            pgo_request("/start?scope=umcharderwijk~1", "p-1", None),
        )
        .await;
        assert_eq!(
            param(&v2.location(), "scope").as_deref(),
            Some("umcharderwijk")
        );
    }
}

mod oauth_21 {
    use super::*;

    /// Missing identifiers: case 1 at the authorization endpoint, `invalid_request` at the
    /// token endpoint, case 7 at the resource endpoint; every chain step carries the flow's
    /// identifiers and no token or code.
    #[tokio::test]
    async fn identifiers_required_and_logged() {
        let clock = TestClock::default();
        let (za, audit, _) = v2_za(&clock);
        let uri = authorize_uri("umcharderwijk", "st-1");
        let a = send(&za, request("GET", &uri, "192.0.2.30", None, None)).await;
        assert_eq!(a.status, 400, "a 2.x scope without identifiers is case 1");

        let trace = new_trace();
        let (cookie, action) =
            v2_to_consent(&za, "192.0.2.31", "umcharderwijk", "gina", &trace).await;
        let code = v2_grant(&za, "192.0.2.31", &cookie, &action, true).await;
        let untraced = token_request(&za, &code_body(&code), None).await;
        assert_eq!(untraced.status, 400);
        assert_eq!(json(&untraced)["error"], "invalid_request");

        let (token, rt, trace) = long_lasting(&za, "gina").await;
        let r = fetch_traced(&za, "/fhir/1/Patient", &token, None).await;
        assert_eq!(r.status, 401, "a 2.x token needs the headers (case 7)");
        let next = trace.next_request();
        let r = fetch_traced(&za, "/fhir/1/Patient", &token, Some(&next)).await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("medmij-request-id"),
            Some(next.request_id.to_string()),
            "echoed"
        );
        let steps = audit.steps();
        let kinds: Vec<_> = steps
            .iter()
            .filter(|s| s.trace.correlation_id == trace.correlation_id)
            .map(|s| s.kind)
            .collect();
        for k in [
            ChainStepKind::ReceiveAuthorizationRequest,
            ChainStepKind::SendAuthenticationRequest,
            ChainStepKind::ReceiveAuthenticationResponse,
            ChainStepKind::ShowLandingPage,
            ChainStepKind::ReceiveTokenRequest,
            ChainStepKind::ReceiveResourceRequest,
        ] {
            assert!(kinds.contains(&k), "{k:?} missing in {kinds:?}");
        }
        assert!(steps.iter().all(|s| s.actor == ChainActor::ZaGateway));
        let dump = format!("{steps:?}");
        for secret in [token.as_str(), rt.as_str(), code.as_str(), "gina"] {
            assert!(!dump.contains(secret), "LOG-4: {secret} in a chain step");
        }
        assert!(
            audit
                .all()
                .iter()
                .filter(|e| e.endpoint == Endpoint::Token && e.success)
                .all(|e| e.trace.is_some()),
        );
    }

    /// The PGO GW sends one X-Correlation-ID per flow and a new MedMij-Request-ID per
    /// request; its steps are logged as the sender's.
    #[tokio::test]
    async fn pgo_sends_identifiers() {
        let clock = TestClock::default();
        let (za, za_audit, _) = v2_za(&clock);
        let (pgo, _, pgo_audit, _) = v2_pgo(za.clone(), &clock);
        let leave = send(
            &pgo,
            pgo_request("/start?scope=umcharderwijk~1", "p-9", None),
        )
        .await;
        let cid = param(&leave.location(), "X-Correlation-ID").unwrap();
        let rid = param(&leave.location(), "MedMij-Request-ID").unwrap();
        let done = through_za(&pgo, &za, "hank", leave, true).await;
        assert_eq!(done.status, 200);
        let sent: Vec<_> = pgo_audit.steps();
        assert!(sent.iter().all(|s| s.actor == ChainActor::PgoGateway));
        let token_step = sent
            .iter()
            .find(|s| s.kind == ChainStepKind::SendTokenRequest)
            .expect("token request step");
        assert_eq!(token_step.trace.correlation_id.to_string(), cid);
        assert_ne!(token_step.trace.request_id.to_string(), rid);
        assert_eq!(token_step.endpoint, "https://za.example.nl/token");
        // A token request that succeeded carries its status and no error (MedMij LOG-6).
        assert!(token_step.success);
        assert_eq!(token_step.status, Some(200));
        assert_eq!(token_step.error, None);
        let received = za_audit
            .steps()
            .into_iter()
            .find(|s| s.kind == ChainStepKind::ReceiveTokenRequest)
            .unwrap();
        assert_eq!(
            received.trace, token_step.trace,
            "both ends log the same identifiers"
        );
        assert_eq!(received.grant_type, Some(ChainGrant::AuthorizationCode));
    }
}

mod oauth_22 {
    use super::*;

    /// "Toestemmingen aanpassen": the PGO GW sends the browser to the ZA GW's
    /// consent-management entry point; the person logs in, sees the long-lasting consent,
    /// confirms the withdrawal and comes back with `state`; the next refresh is refused and
    /// collecting again is a full flow.
    #[tokio::test]
    async fn withdrawal_then_refresh_refused() {
        let clock = TestClock::default();
        let (za, za_audit, _) = v2_za(&clock);
        let (pgo, grants, _, vault) = v2_pgo(za.clone(), &clock);
        let start = send(
            &pgo,
            pgo_request("/start?scope=umcharderwijk~1", "p-3", None),
        )
        .await;
        through_za(&pgo, &za, "ivy", start, true).await;
        let manage = grants.lock().unwrap()[0].2.clone().unwrap();
        let rt = vault.peek("p-3").unwrap();

        let go = send(&pgo, pgo_request(&manage, "p-3", None)).await;
        assert_eq!(go.status, 302, "{}", go.body);
        let pgo_cookie = go.cookie(PGO_COOKIE).unwrap();
        let to = go.location();
        assert!(
            to.starts_with("https://za.example.nl/toestemmingen?"),
            "{to}"
        );
        let login = send(
            &za,
            request("GET", &path_and_query(&to), "192.0.2.7", None, None),
        )
        .await;
        assert_eq!(login.status, 200, "{}", login.body);
        let cookie = login.cookie(ZA_COOKIE).unwrap();
        let cb = format!("{}&person=ivy", login.marked("CALLBACK"));
        let overview = send(&za, request("GET", &cb, "192.0.2.7", Some(&cookie), None)).await;
        assert_eq!(overview.status, 200, "{}", overview.body);
        assert_eq!(overview.header("x-frame-options").as_deref(), Some("DENY"));
        assert!(overview.body.contains("umcharderwijk"), "{}", overview.body);
        let id = overview
            .body
            .split("name=\"withdraw\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_owned();
        let action = overview
            .body
            .split("action=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .replace("&amp;", "&");
        let body = format!("withdraw={id}&confirm=yes");
        let done = send(
            &za,
            request(
                "POST",
                &action,
                "192.0.2.7",
                Some(&cookie),
                Some((FORM_CONTENT_TYPE, &body)),
            ),
        )
        .await;
        assert_eq!(done.status, 302, "{}", done.body);
        let back = done.location();
        assert!(back.starts_with(REDIRECT), "{back}");
        assert!(param(&back, "code").is_none());
        let withdrawn: Vec<_> = za_audit
            .all()
            .into_iter()
            .filter_map(|e| e.withdrawal)
            .collect();
        assert_eq!(withdrawn.len(), 1);
        assert_eq!(withdrawn[0].consent.to_string(), id);
        let home = send(
            &pgo,
            pgo_request(&path_and_query(&back), "p-3", Some(&pgo_cookie)),
        )
        .await;
        assert_eq!(home.status, 200, "{}", home.body);

        let refused =
            token_request(&za, &refresh_body(&rt.secret_text()), Some(&new_trace())).await;
        assert_eq!(json(&refused)["error"], "invalid_grant");
        let again = send(
            &pgo,
            pgo_request("/collect?scope=umcharderwijk~1", "p-3", None),
        )
        .await;
        assert_eq!(again.status, 302, "a full flow after the withdrawal");
        assert!(
            again
                .location()
                .starts_with("https://za.example.nl/authorize?")
        );
    }

    /// A management request with a redirect URI off the client's host is case 1, no
    /// redirect; a way back with another `state` is refused at the PGO GW.
    #[tokio::test]
    async fn bad_requests_refused() {
        let clock = TestClock::default();
        let (za, _, _) = v2_za(&clock);
        let t = new_trace();
        let uri = v2_management_uri("https://evil.example.com/r", "s", &t);
        let a = send(&za, request("GET", &uri, "192.0.2.8", None, None)).await;
        assert_eq!(a.status, 400);
        assert!(a.header("location").is_none());

        let (pgo, _, _, _) = v2_pgo(za, &clock);
        let go = send(
            &pgo,
            pgo_request("/toestemmingen?scope=umcharderwijk~1", "p-4", None),
        )
        .await;
        let cookie = go.cookie(PGO_COOKIE).unwrap();
        let back = send(
            &pgo,
            pgo_request("/redirect?state=forged", "p-4", Some(&cookie)),
        )
        .await;
        assert_eq!(back.status, 400);
    }
    /// A host that offers no consent management (the trait defaults, as a 1.x host).
    struct NoManagement;

    impl Authenticator for NoManagement {
        async fn start(&self, _flow: &FlowInfo, callback: &str) -> HttpResponse {
            HttpResponse::page(200, format!("CALLBACK[{callback}]"))
        }
        async fn complete(&self, _flow: &FlowInfo, _request: &HostRequest) -> Authentication {
            Authentication::Failed
        }
    }

    /// Without `Authenticator::start_management` the entry point says so (404), opens no
    /// visit and sets no cookie.
    #[tokio::test]
    async fn not_offered_by_a_host_without_it() {
        let limits = FlowLimits::default();
        let audit = TestAudit::default();
        let gw = ZaGateway::new(
            AsyncAuthorizationServer::new(AuthorizationServer::new(
                config(),
                ocl(),
                MemoryStore::new(),
            )),
            PendingFlows::new(MemoryFlowStore::new(limits), limits),
            ZaHooks {
                authenticator: NoManagement,
                data: TestData,
                consent: TestConsent,
                fhir: TestFhir::default(),
                audit: audit.clone(),
                pages: DefaultPages,
            },
            ZaSettings::default(),
        );
        let t = new_trace();
        let uri = v2_management_uri(REDIRECT, "s-1", &t);
        let r = send(&gw.router(), request("GET", &uri, "192.0.2.50", None, None)).await;
        assert_eq!(r.status, 404, "{}", r.body);
        assert!(r.cookie(ZA_COOKIE).is_none());
        assert_eq!(gw.flows().store().len(), 0, "no visit left open");
        assert!(
            audit
                .all()
                .iter()
                .any(|e| e.endpoint == Endpoint::ConsentManagement
                    && !e.success
                    && e.trace == Some(t))
        );
    }

    /// A withdrawal form posted without `confirm=yes` (here `confirm=no`) withdraws nothing:
    /// the refresh token keeps working.
    #[tokio::test]
    async fn unconfirmed_withdrawal_changes_nothing() {
        let clock = TestClock::default();
        let (za, audit, _) = v2_za(&clock);
        let (_, rt, _) = long_lasting(&za, "jack").await;
        let t = new_trace();
        let uri = v2_management_uri(REDIRECT, "s-2", &t);
        let login = send(&za, request("GET", &uri, "192.0.2.51", None, None)).await;
        let cookie = login.cookie(ZA_COOKIE).unwrap();
        let cb = format!("{}&person=jack", login.marked("CALLBACK"));
        let overview = send(&za, request("GET", &cb, "192.0.2.51", Some(&cookie), None)).await;
        let id = overview
            .body
            .split("name=\"withdraw\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_owned();
        let action = overview
            .body
            .split("action=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .replace("&amp;", "&");
        let body = format!("withdraw={id}&confirm=no");
        let back = send(
            &za,
            request(
                "POST",
                &action,
                "192.0.2.51",
                Some(&cookie),
                Some((FORM_CONTENT_TYPE, &body)),
            ),
        )
        .await;
        assert_eq!(back.status, 302);
        assert_eq!(param(&back.location(), "state").as_deref(), Some("s-2"));
        assert!(audit.all().iter().all(|e| e.withdrawal.is_none()));
        let a = token_request(&za, &refresh_body(&rt), Some(&new_trace())).await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
}

mod oauth_23 {
    use super::*;

    /// A technical failure of a 2.x flow: the ZA GW's own page with the Trace ID and the
    /// Session ID and the way back (case 5); a 1.x flow keeps its redirect.
    #[tokio::test]
    async fn technical_failure_page() {
        let clock = TestClock::default();
        let (za, audit, _) = v2_za(&clock);
        let trace = new_trace();
        let a = send(
            &za,
            request(
                "GET",
                &v2_authorize_uri("umcharderwijk", "st-2", &trace),
                "192.0.2.9",
                None,
                None,
            ),
        )
        .await;
        let cookie = a.cookie(ZA_COOKIE).unwrap();
        let cb = format!("{}&person=broken", a.marked("CALLBACK"));
        let f = send(&za, request("GET", &cb, "192.0.2.9", Some(&cookie), None)).await;
        assert_eq!(f.status, 503);
        assert!(f.body.contains(trace.request_id.as_str()), "{}", f.body);
        assert!(f.body.contains(trace.correlation_id.as_str()), "{}", f.body);
        assert!(f.body.contains("error=access_denied"), "{}", f.body);
        assert!(f.body.contains(REDIRECT.split('/').nth(2).unwrap()));
        let step = audit
            .steps()
            .into_iter()
            .find(|s| s.kind == ChainStepKind::AuthorizationRequestError)
            .unwrap();
        assert_eq!(
            step.description.as_deref(),
            Some("availability check failed")
        );

        let a = send(
            &za,
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
        let cb = format!("{}&person=broken", a.marked("CALLBACK"));
        let f = send(&za, request("GET", &cb, "192.0.2.9", Some(&cookie), None)).await;
        assert_eq!(f.status, 302, "1.x unchanged: case 5 redirect");
    }
}

mod log_6 {
    use super::*;

    /// The ZA GW's steps of `kinds` in one flow.
    fn steps(audit: &TestAudit, trace: &TraceIds, kinds: &[ChainStepKind]) -> Vec<ChainStep> {
        audit
            .steps()
            .into_iter()
            .filter(|s| kinds.contains(&s.kind) && s.trace.correlation_id == trace.correlation_id)
            .collect()
    }

    fn errors(audit: &TestAudit, trace: &TraceIds) -> Vec<ChainStep> {
        steps(audit, trace, &[ChainStepKind::AuthorizationRequestError])
    }

    fn authentication(audit: &TestAudit, trace: &TraceIds) -> Vec<ChainStep> {
        use ChainStepKind::{AuthenticationResponseError, ReceiveAuthenticationResponse};
        steps(
            audit,
            trace,
            &[ReceiveAuthenticationResponse, AuthenticationResponseError],
        )
    }

    /// A 2.x flow that ends in error leaves one `AuthorizationRequestError` step naming the
    /// request that ended it: its method and endpoint, and the OAuth error of the redirect
    /// (MedMij LOG-6; OAUTH-12 case 2 at the login callback, a GET; case 4 at the consent, a
    /// POST; a technical failure at the authorization request, a GET, OAUTH-23).
    #[tokio::test]
    async fn an_error_step_names_the_request_that_ended_the_flow() {
        let clock = TestClock::default();
        let limits = FlowLimits::default();
        let flows = SwitchableFlows::new(limits);
        let (za, audit, _) = za_gateway_with(
            MemoryStore::new(),
            PendingFlows::new(flows.clone(), limits),
            ZaSettings {
                clock: clock.clock(),
                ..ZaSettings::default()
            },
        );
        let shape = |s: &ChainStep| (s.method, s.endpoint.clone(), s.error, s.success);

        let trace = new_trace();
        let a = send(
            &za,
            request(
                "GET",
                &v2_authorize_uri("umcharderwijk", "st-2", &trace),
                "192.0.2.60",
                None,
                None,
            ),
        )
        .await;
        let cookie = a.cookie(ZA_COOKIE).unwrap();
        let cb = format!("{}&person=fail", a.marked("CALLBACK"));
        let r = send(&za, request("GET", &cb, "192.0.2.60", Some(&cookie), None)).await;
        assert_eq!(r.status, 302, "{}", r.body);
        let steps = errors(&audit, &trace);
        assert_eq!(steps.len(), 1);
        assert_eq!(
            shape(&steps[0]),
            (
                "GET",
                "/authorize/login".into(),
                Some("unauthorized_client"),
                false
            )
        );

        let login = authentication(&audit, &trace);
        assert_eq!(login.len(), 1);
        assert_eq!(login[0].kind, ChainStepKind::AuthenticationResponseError);
        assert_eq!(
            shape(&login[0]),
            (
                "GET",
                "/authorize/login".into(),
                Some("unauthorized_client"),
                false
            )
        );

        let trace = new_trace();
        let (cookie, action) =
            v2_to_consent(&za, "192.0.2.61", "umcharderwijk", "dave", &trace).await;
        let r = decide(&za, "192.0.2.61", &cookie, &action, "no").await;
        assert_eq!(r.status, 302, "{}", r.body);
        let steps = errors(&audit, &trace);
        assert_eq!(steps.len(), 1);
        assert_eq!(
            shape(&steps[0]),
            (
                "POST",
                "/authorize/consent".into(),
                Some("access_denied"),
                false
            )
        );

        let login = authentication(&audit, &trace);
        assert_eq!(login.len(), 1);
        assert_eq!(login[0].kind, ChainStepKind::ReceiveAuthenticationResponse);
        assert_eq!(
            shape(&login[0]),
            ("GET", "/authorize/login".into(), None, true)
        );

        let trace = new_trace();
        flows.set_down(true);
        let r = send(
            &za,
            request(
                "GET",
                &v2_authorize_uri("umcharderwijk", "st-2", &trace),
                "192.0.2.62",
                None,
                None,
            ),
        )
        .await;
        assert_eq!(r.status, 503, "{}", r.body);
        let steps = errors(&audit, &trace);
        assert_eq!(steps.len(), 1);
        assert_eq!(
            shape(&steps[0]),
            ("GET", "/authorize".into(), Some("access_denied"), false)
        );
    }

    /// The resource endpoint's step names the request's method, GET, POST or PUT, whether
    /// the request is served or refused (MedMij LOG-6).
    #[tokio::test]
    async fn a_resource_step_names_the_method() {
        let clock = TestClock::default();
        let (za, audit, _) = v2_za(&clock);
        let (token, _, _) = long_lasting(&za, "ivan").await;
        let trace = new_trace();
        for method in ["GET", "POST", "PUT", "GET"] {
            let body = (method != "GET").then_some(("application/fhir+json", "{}"));
            let mut r = request(method, "/fhir/1/Patient", "192.0.2.200", None, body);
            r.headers_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
            for (k, v) in trace.headers() {
                r.headers_mut().insert(k, v.parse().unwrap());
            }
            r.extensions_mut()
                .insert(MtlsClient(ClientId::new(PGO).unwrap()));
            send(&za, r).await;
            let step = audit
                .steps()
                .into_iter()
                .rfind(|s| {
                    matches!(
                        s.kind,
                        ChainStepKind::ReceiveResourceRequest | ChainStepKind::ResourceRequestError
                    )
                })
                .expect("a resource step");
            assert_eq!(step.method, method);
            assert_eq!(step.endpoint, "/fhir/1/Patient");
        }
    }

    /// A refused resource request's step says how: `suppressed` when the token did not do
    /// (OAUTH-12 case 7: nothing revealed), `incomplete` when the back end failed (case 8)
    /// (MedMij LOG-6).
    #[tokio::test]
    async fn a_refused_resource_step_says_suppressed_or_incomplete() {
        let clock = TestClock::default();
        let (za, audit, _) = v2_za(&clock);
        let (token, _, _) = long_lasting(&za, "jan").await;
        let trace = new_trace();
        let last_error = || {
            audit
                .steps()
                .into_iter()
                .rfind(|s| s.kind == ChainStepKind::ResourceRequestError)
                .expect("an error step")
        };
        let r = fetch_traced(&za, "/fhir/1/broken", &token, Some(&trace)).await;
        assert_eq!(r.status, 503, "{}", r.body);
        let step = last_error();
        assert_eq!((step.error, step.status), (Some("incomplete"), Some(503)));
        clock.advance(901);
        let r = fetch_traced(&za, "/fhir/1/Patient", &token, Some(&trace)).await;
        assert_eq!(r.status, 401, "{}", r.body);
        let step = last_error();
        assert_eq!((step.error, step.status), (Some("suppressed"), Some(401)));
    }
}
