//! The PGO GW side of release 2.x against the AS (MedMij OAUTH-19, OAUTH-20, OAUTH-21,
//! OAUTH-22): release per flow, tracing identifiers, strict responses, the vault, refresh
//! and the consent-management link.

mod v2_common;
use medmij_oauth::*;
use v2_common::*;

const AUTH: &str = "https://za.example.nl/oauth/authorize";
const TOKEN: &str = "https://za.example.nl/oauth/token";

fn pgo() -> Client {
    Client::new(client(), "https://pgo.example.nl/cb").unwrap()
}

fn verzamelen() -> Scope {
    Scope::several(za(), [gd("1"), gd("3")]).unwrap()
}

fn header<'a>(h: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
}

/// Runs the client's 2.x flow through the server; returns the pending flow and the grant.
fn full_flow(s: &Srv<MemoryStore>, period: ConsentPeriod) -> (PendingFlow, GrantV2) {
    let (url, pending) = pgo()
        .start_release(
            ReleaseLine::V2,
            AUTH,
            TOKEN,
            verzamelen(),
            UseCase::Verzamelen,
            None,
        )
        .unwrap();
    let query = url::Url::parse(&url).unwrap().query().unwrap().to_owned();
    let code = code_via(s, &query, period, t0());
    let back = format!("code={code}&state={}", pending.state().as_str());
    let received = pending.handle_redirect(&back, t0()).unwrap();
    let req = pending.token_request(&received.code);
    let out = s.token_v2(
        &TokenHttpRequest {
            content_type: Some(FORM_CONTENT_TYPE),
            body: &req.request.body,
            request_id: header(&req.headers, "MedMij-Request-ID"),
            correlation_id: header(&req.headers, "X-Correlation-ID"),
        },
        &client(),
        t0(),
    );
    let grant = pending
        .parse_token_response(out.response.status(), &out.response.body(), t0())
        .unwrap();
    (pending, grant)
}

fn send_refresh(
    s: &Srv<MemoryStore>,
    req: &TracedTokenRequest,
    at: std::time::SystemTime,
) -> TokenOutcomeV2 {
    s.token_v2(
        &TokenHttpRequest {
            content_type: Some(FORM_CONTENT_TYPE),
            body: &req.request.body,
            request_id: header(&req.headers, "MedMij-Request-ID"),
            correlation_id: header(&req.headers, "X-Correlation-ID"),
        },
        &client(),
        at,
    )
}

mod oauth_21 {
    use super::*;

    #[test]
    fn ids_per_request_and_per_flow() {
        let (url, pending) = pgo()
            .start_release(
                ReleaseLine::V2,
                AUTH,
                TOKEN,
                verzamelen(),
                UseCase::Verzamelen,
                None,
            )
            .unwrap();
        let u = url::Url::parse(&url).unwrap();
        let q: std::collections::HashMap<_, _> = u.query_pairs().into_owned().collect();
        assert_eq!(q["scope"], "umcharderwijk");
        let t = *pending.trace().unwrap();
        assert_eq!(q["MedMij-Request-ID"], t.request_id.to_string());
        assert_eq!(q["X-Correlation-ID"], t.correlation_id.to_string());
        let code = Code::random(&ThreadRandom);
        let a = pending.token_request(&code);
        let b = pending.token_request(&code);
        // Same flow: same correlation id; every request a new request id.
        assert_eq!(
            header(&a.headers, "X-Correlation-ID"),
            Some(t.correlation_id.to_string().as_str())
        );
        assert_ne!(
            header(&a.headers, "MedMij-Request-ID"),
            header(&b.headers, "MedMij-Request-ID")
        );
        assert_ne!(
            header(&a.headers, "MedMij-Request-ID"),
            Some(t.request_id.to_string().as_str())
        );
        // 1.x: no identifiers at all.
        let (url1, p1) = pgo()
            .start_release(
                ReleaseLine::V1,
                AUTH,
                TOKEN,
                Scope::single(za(), gd("1")),
                UseCase::Verzamelen,
                None,
            )
            .unwrap();
        assert!(!url1.contains("MedMij-Request-ID"));
        assert!(p1.token_request(&code).headers.is_empty());
    }
}

mod oauth_20 {
    use super::*;

    #[test]
    fn release_per_flow_and_scope_forms() {
        let c = pgo();
        let (u, _) = c
            .start_release(
                ReleaseLine::V2,
                AUTH,
                TOKEN,
                Scope::single(za(), gd("5")),
                UseCase::Delen,
                Some((RepresentationKind::OnBehalfOf, "19800101")),
            )
            .unwrap();
        let q: std::collections::HashMap<_, _> = url::Url::parse(&u)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect();
        assert_eq!(q["scope"], "umcharderwijk~5 onbehalfof");
        assert_eq!(q["MedMij_geboortedatum"], "19800101");
        assert_eq!(
            c.start_release(
                ReleaseLine::V2,
                AUTH,
                TOKEN,
                verzamelen(),
                UseCase::Delen,
                None
            )
            .unwrap_err(),
            ClientError::Release(ReleaseLine::V2)
        );
        assert!(
            c.start_release(
                ReleaseLine::V1,
                AUTH,
                TOKEN,
                verzamelen(),
                UseCase::Verzamelen,
                Some((RepresentationKind::OnBehalfOf, "19800101"))
            )
            .is_err()
        );
        assert!(
            c.start_release(
                ReleaseLine::V2,
                AUTH,
                TOKEN,
                verzamelen(),
                UseCase::Verzamelen,
                Some((RepresentationKind::OnBehalfOf, "19801301"))
            )
            .is_err()
        );
    }

    #[test]
    fn strict_2x_token_response() {
        let (pending, _) = full_flow(&server_with(MemoryStore::new()), ConsentPeriod::ThisFlow);
        let a = AccessToken::random(&ThreadRandom);
        let r = RefreshToken::random(&ThreadRandom);
        let ok = format!(
            r#"{{"access_token":"{a}","token_type":"bearer","expires_in":900,"scope":"umcharderwijk"}}"#
        );
        assert!(pending.parse_token_response(200, &ok, t0()).is_ok());
        let with_r = format!(
            r#"{{"access_token":"{a}","token_type":"bearer","expires_in":900,"refresh_token":"{r}","scope":"umcharderwijk"}}"#
        );
        assert_eq!(
            pending
                .parse_token_response(200, &with_r, t0())
                .unwrap()
                .refresh_token,
            Some(r)
        );
        for bad in [
            ok.replace("umcharderwijk", "umcharderwijk~1 umcharderwijk~3"),
            ok.replace("900", "3600"),
            with_r.replace(&r.to_string(), "not-a-uuid"),
            with_r.replace(&r.to_string(), &r.to_string().to_uppercase()),
        ] {
            assert!(
                pending.parse_token_response(200, &bad, t0()).is_err(),
                "{bad}"
            );
        }
    }
}

mod oauth_19 {
    use super::*;

    #[test]
    fn refresh_through_the_vault_and_new_flow_on_invalid_grant() {
        let s = server_with(MemoryStore::new());
        let (pending, grant) = full_flow(&s, ConsentPeriod::Indefinite);
        let vault = MemoryVault::default();
        let key = VaultKey::new("pgo-persoon-7", za());
        vault.put(&key, &grant.refresh_token.unwrap()).unwrap();
        let c = pgo();
        // Refresh: a new flow id, no redirect_uri, the same scope text.
        let rt = vault.take(&key).unwrap().unwrap();
        let (req, wait) = c
            .refresh_request(TOKEN, &rt, verzamelen(), pending.wire_scope())
            .unwrap();
        assert!(!req.request.body.contains("redirect_uri"));
        assert_ne!(
            req.trace.unwrap().correlation_id,
            pending.trace().unwrap().correlation_id
        );
        assert!(!format!("{req:?}").contains(&rt.to_string()));
        let out = send_refresh(&s, &req, t0() + SEC);
        let g2 = wait
            .parse_response(out.response.status(), &out.response.body(), t0() + SEC)
            .unwrap();
        let r2 = g2.refresh_token.unwrap();
        assert_ne!(r2, rt);
        assert!(
            g2.resource_headers()
                .iter()
                .any(|(k, _)| *k == "X-Correlation-ID")
        );
        vault.put(&key, &r2).unwrap();
        // The person withdraws; the next refresh tells the host to start a new full flow.
        let person = Subject::new("persoon-1").unwrap();
        let id = s
            .long_lasting_consents(&person, &client(), t0() + SEC)
            .unwrap()[0]
            .record
            .id;
        assert!(
            s.withdraw_consent(&id, &person, &client(), t0() + SEC)
                .unwrap()
                .is_some()
        );
        let (req, wait) = c
            .refresh_request(
                TOKEN,
                &vault.take(&key).unwrap().unwrap(),
                verzamelen(),
                "umcharderwijk",
            )
            .unwrap();
        let out = send_refresh(&s, &req, t0() + SEC * 2);
        assert_eq!(
            wait.parse_response(out.response.status(), &out.response.body(), t0())
                .unwrap_err(),
            RefreshError::StartNewFlow
        );
    }

    #[test]
    fn refresh_answer_without_refresh_token_is_refused() {
        let c = pgo();
        let (_, wait) = c
            .refresh_request(
                TOKEN,
                &RefreshToken::random(&ThreadRandom),
                verzamelen(),
                "umcharderwijk",
            )
            .unwrap();
        let a = AccessToken::random(&ThreadRandom);
        let body = format!(
            r#"{{"access_token":"{a}","token_type":"bearer","expires_in":900,"scope":"umcharderwijk"}}"#
        );
        assert!(matches!(
            wait.parse_response(200, &body, t0()),
            Err(RefreshError::Response(_))
        ));
    }

    #[test]
    fn v1_and_delen_responses_with_a_refresh_token_are_refused() {
        let c = pgo();
        let a = AccessToken::random(&ThreadRandom);
        let r = RefreshToken::random(&ThreadRandom);
        let (_, p1) = c
            .start_release(
                ReleaseLine::V1,
                AUTH,
                TOKEN,
                Scope::single(za(), gd("1")),
                UseCase::Verzamelen,
                None,
            )
            .unwrap();
        let b1 = format!(
            r#"{{"access_token":"{a}","token_type":"bearer","expires_in":900,"refresh_token":"{r}","scope":"umcharderwijk~1"}}"#
        );
        assert!(p1.parse_token_response(200, &b1, t0()).is_err());
        let (_, pd) = c
            .start_release(
                ReleaseLine::V2,
                AUTH,
                TOKEN,
                Scope::single(za(), gd("5")),
                UseCase::Delen,
                None,
            )
            .unwrap();
        let bd = b1.replace("umcharderwijk~1", "umcharderwijk~5");
        assert!(pd.parse_token_response(200, &bd, t0()).is_err());
    }
}

mod oauth_22 {
    use super::*;

    /// A random source that hands out the bytes 0, 1, 2, ... in turn.
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

    /// MedMij OAUTH-22 with OAUTH-10: the link's fresh `state` carries all 256 bits drawn,
    /// both nibbles of every byte, and the link sends exactly that `state`.
    #[test]
    fn the_link_state_is_every_bit_drawn() {
        let c = Client::with_random(client(), "https://pgo.example.nl/cb", Counting::default())
            .unwrap();
        let link = c
            .consent_management_link(AUTH, &V2Config::default())
            .unwrap();
        let expected: String = (0u8..32).map(|b| format!("{b:02x}")).collect();
        assert_eq!(link.state.as_str(), expected);
        let sent = url::Url::parse(&link.url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned());
        assert_eq!(sent.as_deref(), Some(expected.as_str()));
    }

    #[test]
    fn consent_management_link_is_accepted_by_the_server() {
        let s = server_with(MemoryStore::new());
        let link = pgo()
            .consent_management_link(AUTH, &V2Config::default())
            .unwrap();
        let u = url::Url::parse(&link.url).unwrap();
        assert_eq!(u.path(), "/oauth/toestemmingen");
        let m = s.consent_management(u.query().unwrap()).unwrap();
        assert_eq!(m.trace, link.trace);
        assert_eq!(
            m.back_location(),
            format!("https://pgo.example.nl/cb?state={}", link.state.as_str())
        );
    }
}
