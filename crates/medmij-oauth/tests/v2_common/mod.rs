//! Shared 2.x helpers and store-generic checks, run against MemoryStore (tests/v2.rs) and
//! PgStore (tests/v2_postgres.rs).
#![allow(dead_code, unreachable_pub)]

use medmij_oauth::*;
use std::time::{Duration, SystemTime};

pub fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}
pub fn za() -> Zorgaanbiedernaam {
    Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap()
}
pub fn gd(s: &str) -> ScopeGegevensdienstId {
    ScopeGegevensdienstId::new(s).unwrap()
}
pub fn client() -> ClientId {
    ClientId::new("pgo.example.nl").unwrap()
}
pub fn restricted() -> ClientId {
    ClientId::new("beperkt.example.nl").unwrap()
}
pub const REDIRECT: &str = "https%3A%2F%2Fpgo.example.nl%2Fcb";

pub fn config() -> ServerConfig {
    ServerConfig::new()
        .offer(za(), gd("1"), UseCase::Verzamelen)
        .offer(za(), gd("3"), UseCase::Verzamelen)
        .offer(za(), gd("5"), UseCase::Delen)
        .allow_multiple_pairs(true)
}

pub fn registry() -> StaticClientRegistry {
    StaticClientRegistry::new()
        .with_client(client(), None)
        .with_client(restricted(), Some(vec![gd("1")]))
}

pub type Srv<S, R = ThreadRandom> = AuthorizationServer<S, StaticClientRegistry, R>;

pub fn server_with<S: TokenStore>(store: S) -> Srv<S> {
    AuthorizationServer::new(config(), registry(), store)
}

pub fn ids() -> TraceIds {
    TraceIds::new_flow()
}

/// A 2.x authorization query.
pub fn query_v2(client: &ClientId, scope: &str, t: &TraceIds) -> String {
    format!(
        "response_type=code&client_id={c}&redirect_uri=https%3A%2F%2F{c}%2Fcb&scope={s}&state=st4te\
         &MedMij-Request-ID={r}&X-Correlation-ID={x}",
        c = client.as_str(),
        s = scope.replace(' ', "+").replace('~', "%7E"),
        r = t.request_id,
        x = t.correlation_id
    )
}

/// Runs a flow to the code; returns the code.
pub fn code_via<S: TokenStore, R: RandomSource>(
    s: &Srv<S, R>,
    query: &str,
    period: ConsentPeriod,
    now: SystemTime,
) -> String {
    let mut session = s.authorize(query).expect("valid request");
    session
        .authenticated(Authentication::Established(
            Subject::new("persoon-1").unwrap(),
        ))
        .unwrap();
    session.data_available(true).unwrap();
    let ConsentOutcome::Granted(ev) = session
        .consent_with(ConsentDecision::Granted, period, now)
        .unwrap()
    else {
        panic!("granted")
    };
    let _ = ev;
    let r = s.issue_code(&mut session, now).unwrap();
    let u = url::Url::parse(r.location()).unwrap();
    u.query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned()
}

pub fn code_body(client: &ClientId, code: &str) -> String {
    format!(
        "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2F{c}%2Fcb&client_id={c}",
        c = client.as_str()
    )
}

pub fn refresh_body(client: &ClientId, rt: &str) -> String {
    format!(
        "grant_type=refresh_token&refresh_token={rt}&client_id={}",
        client.as_str()
    )
}

pub fn post<S: TokenStore, R: RandomSource>(
    s: &Srv<S, R>,
    body: &str,
    t: Option<&TraceIds>,
    client: &ClientId,
    now: SystemTime,
) -> TokenOutcomeV2 {
    let (r, x) = match t {
        Some(t) => (
            Some(t.request_id.to_string()),
            Some(t.correlation_id.to_string()),
        ),
        None => (None, None),
    };
    s.token_v2(
        &TokenHttpRequest {
            content_type: Some(FORM_CONTENT_TYPE),
            body,
            request_id: r.as_deref(),
            correlation_id: x.as_deref(),
        },
        client,
        now,
    )
}

pub fn json(o: &TokenOutcomeV2) -> serde_json::Value {
    serde_json::from_str(&o.response.body()).unwrap()
}

/// (access, refresh) of a successful answer.
pub fn tokens(o: &TokenOutcomeV2) -> (String, Option<String>) {
    let j = json(o);
    assert_eq!(o.response.status(), 200, "{j}");
    (
        j["access_token"].as_str().unwrap().to_owned(),
        j["refresh_token"].as_str().map(str::to_owned),
    )
}

pub fn error(o: &TokenOutcomeV2) -> String {
    json(o)["error"].as_str().unwrap_or("").to_owned()
}

pub fn can_read<S: TokenStore, R: RandomSource>(
    s: &Srv<S, R>,
    access: &str,
    g: &str,
    now: SystemTime,
) -> bool {
    let t = ids();
    s.check_resource_v2(
        Some(&format!("Bearer {access}")),
        Some(t.request_id.as_str()),
        Some(t.correlation_id.as_str()),
        &za(),
        &gd(g),
        Interaction::Read,
        now,
    )
    .is_ok()
}

/// A long-lasting 2.x Verzamelen flow: (trace, access, refresh).
pub fn long_lasting<S: TokenStore, R: RandomSource>(
    s: &Srv<S, R>,
    now: SystemTime,
) -> (TraceIds, String, String) {
    let t = ids();
    let code = code_via(
        s,
        &query_v2(&client(), "umcharderwijk", &t),
        ConsentPeriod::Indefinite,
        now,
    );
    let out = post(
        s,
        &code_body(&client(), &code),
        Some(&t.next_request()),
        &client(),
        now,
    );
    let (a, r) = tokens(&out);
    (t, a, r.expect("refresh token for a long-lasting consent"))
}

pub const SEC: Duration = Duration::from_secs(1);

/// Rotates `n` times; returns every refresh token in order (the first included) and the
/// last access token.
pub fn chain<S: TokenStore, R: RandomSource>(
    s: &Srv<S, R>,
    n: usize,
    step: Duration,
) -> (Vec<String>, String, SystemTime) {
    let (t, mut a, r) = long_lasting(s, t0());
    let mut all = vec![r];
    let mut now = t0();
    for _ in 0..n {
        now += step;
        let out = post(
            s,
            &refresh_body(&client(), all.last().unwrap()),
            Some(&t.next_request()),
            &client(),
            now,
        );
        let (na, nr) = tokens(&out);
        a = na;
        all.push(nr.unwrap());
    }
    (all, a, now)
}

/// Store-generic checks, used by the memory and PostgreSQL test files.
pub mod checks {
    use super::*;

    /// MedMij OAUTH-19: rotation: the presented token is retired at once, the new pair works,
    /// exactly the consented scope.
    pub fn rotation<S: TokenStore, R: RandomSource>(s: &Srv<S, R>) {
        let (t, a, r) = long_lasting(s, t0());
        assert!(can_read(s, &a, "1", t0()) && can_read(s, &a, "3", t0()));
        let now = t0() + Duration::from_secs(60);
        let out = post(
            s,
            &refresh_body(&client(), &r),
            Some(&t.next_request()),
            &client(),
            now,
        );
        let j = json(&out);
        assert_eq!(j["scope"], "umcharderwijk");
        assert_eq!(j["expires_in"], 900);
        let (a2, r2) = tokens(&out);
        let r2 = r2.unwrap();
        assert_ne!(r2, r);
        assert!(can_read(s, &a2, "3", now));
        assert_eq!(out.release, ReleaseLine::V2);
        assert!(out.consent.is_some());
        // The same refresh token again: breach, chain revoked (the new pair too).
        let again = post(
            s,
            &refresh_body(&client(), &r),
            Some(&t.next_request()),
            &client(),
            now + SEC,
        );
        assert_eq!(error(&again), "invalid_grant");
        assert!(!can_read(s, &a2, "1", now + SEC));
        let later = post(
            s,
            &refresh_body(&client(), &r2),
            Some(&t.next_request()),
            &client(),
            now + SEC,
        );
        assert_eq!(error(&later), "invalid_grant");
    }

    /// MedMij OAUTH-19: the same refresh token presented concurrently: at most one
    /// presentation gets tokens; when more came, the later ones are breaches and revoke the
    /// chain, so no refresh token of it stays valid.
    pub fn concurrent_presentations<S: TokenStore + Sync, R: RandomSource + Sync>(s: &Srv<S, R>) {
        let (t, _a, r) = long_lasting(s, t0());
        let outs: Vec<TokenOutcomeV2> = std::thread::scope(|sc| {
            let hs: Vec<_> = (0..6)
                .map(|_| {
                    sc.spawn(|| {
                        post(
                            s,
                            &refresh_body(&client(), &r),
                            Some(&t.next_request()),
                            &client(),
                            t0() + SEC,
                        )
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<_> = outs.iter().filter(|o| o.response.status() == 200).collect();
        assert!(winners.len() <= 1);
        assert!(
            outs.iter()
                .all(|o| matches!(o.response.status(), 200 | 400))
        );
        if let Some(w) = winners.first() {
            let (_, r2) = tokens(w);
            let again = post(
                s,
                &refresh_body(&client(), &r2.unwrap()),
                Some(&t),
                &client(),
                t0() + SEC * 2,
            );
            // Six presentations, one winner: the others were breaches.
            assert_eq!(error(&again), "invalid_grant");
        }
    }

    /// MedMij OAUTH-21: a token of a 2.x flow (long-lasting or not, refreshed or not) is
    /// refused without tracing identifiers; a 1.x token is not.
    pub fn v2_tokens_need_ids<S: TokenStore, R: RandomSource>(s: &Srv<S, R>) {
        let bare = |a: &str| {
            s.check_resource_v2(
                Some(&format!("Bearer {a}")),
                None,
                None,
                &za(),
                &gd("1"),
                Interaction::Read,
                t0() + SEC,
            )
        };
        let (t, a, r) = long_lasting(s, t0());
        assert!(can_read(s, &a, "1", t0()) && bare(&a).is_err());
        let (a2, _) = tokens(&post(
            s,
            &refresh_body(&client(), &r),
            Some(&t),
            &client(),
            t0(),
        ));
        assert!(can_read(s, &a2, "1", t0()) && bare(&a2).is_err());
        let code = code_via(
            s,
            &query_v2(&client(), "umcharderwijk", &t),
            ConsentPeriod::ThisFlow,
            t0(),
        );
        let (a3, _) = tokens(&post(
            s,
            &code_body(&client(), &code),
            Some(&t),
            &client(),
            t0(),
        ));
        assert!(can_read(s, &a3, "1", t0()) && bare(&a3).is_err());
        let q = format!(
            "response_type=code&client_id=pgo.example.nl&redirect_uri={REDIRECT}&scope=umcharderwijk%7E1&state=x"
        );
        let code = code_via(s, &q, ConsentPeriod::ThisFlow, t0());
        let (a4, _) = tokens(&post(
            s,
            &code_body(&client(), &code),
            None,
            &client(),
            t0(),
        ));
        assert!(bare(&a4).is_ok());
    }

    /// MedMij OAUTH-19: the chain lapses exactly `lifetime` after its last rotation.
    pub fn lapse_boundary<S: TokenStore, R: RandomSource>(s: &Srv<S, R>) {
        let life = DEFAULT_REFRESH_LIFETIME;
        assert_eq!(life.as_secs(), 15_811_200);
        let (t, _a, r) = long_lasting(s, t0());
        let out = post(
            s,
            &refresh_body(&client(), &r),
            Some(&t.next_request()),
            &client(),
            t0() + life,
        );
        assert_eq!(error(&out), "invalid_grant");
        let (t, _a, r) = long_lasting(s, t0());
        let just = t0() + life - Duration::from_nanos(1);
        let out = post(
            s,
            &refresh_body(&client(), &r),
            Some(&t.next_request()),
            &client(),
            just,
        );
        let (_, r2) = tokens(&out);
        // The new token lives from its own issue.
        let out = post(
            s,
            &refresh_body(&client(), &r2.unwrap()),
            Some(&t.next_request()),
            &client(),
            just + life - SEC,
        );
        assert_eq!(out.response.status(), 200);
    }

    /// MedMij OAUTH-22: withdrawal revokes the chain; the overview lists it before, not after.
    pub fn withdrawal<S: TokenStore, R: RandomSource>(s: &Srv<S, R>) {
        let (t, a, r) = long_lasting(s, t0());
        let person = Subject::new("persoon-1").unwrap();
        let list = s
            .long_lasting_consents(&person, &client(), t0() + SEC)
            .unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].record.wire_scope, "umcharderwijk");
        let id = list[0].record.id;
        assert!(
            s.long_lasting_consents(&person, &restricted(), t0())
                .unwrap()
                .is_empty()
        );
        // Another person cannot withdraw it.
        let other = Subject::new("persoon-2").unwrap();
        assert!(
            s.withdraw_consent(&id, &other, &client(), t0() + SEC)
                .unwrap()
                .is_none()
        );
        let ev = s
            .withdraw_consent(&id, &person, &client(), t0() + SEC)
            .unwrap()
            .unwrap();
        assert_eq!(ev.consent, id);
        assert!(
            s.long_lasting_consents(&person, &client(), t0() + SEC)
                .unwrap()
                .is_empty()
        );
        assert!(!can_read(s, &a, "1", t0() + SEC));
        let out = post(
            s,
            &refresh_body(&client(), &r),
            Some(&t.next_request()),
            &client(),
            t0() + SEC * 2,
        );
        assert_eq!(error(&out), "invalid_grant");
        assert!(
            s.withdraw_consent(&id, &person, &client(), t0() + SEC * 3)
                .unwrap()
                .is_none()
        );
    }

    /// MedMij OAUTH-8 (2.x): a replayed code revokes the access and the refresh token.
    pub fn code_replay_revokes_chain<S: TokenStore, R: RandomSource>(s: &Srv<S, R>) {
        let t = ids();
        let code = code_via(
            s,
            &query_v2(&client(), "umcharderwijk", &t),
            ConsentPeriod::Indefinite,
            t0(),
        );
        let out = post(
            s,
            &code_body(&client(), &code),
            Some(&t.next_request()),
            &client(),
            t0(),
        );
        let (a, r) = tokens(&out);
        let again = post(
            s,
            &code_body(&client(), &code),
            Some(&t.next_request()),
            &client(),
            t0() + SEC,
        );
        assert_eq!(error(&again), "invalid_grant");
        assert!(!can_read(s, &a, "1", t0() + SEC));
        let rr = post(
            s,
            &refresh_body(&client(), &r.unwrap()),
            Some(&t.next_request()),
            &client(),
            t0() + SEC,
        );
        assert_eq!(error(&rr), "invalid_grant");
    }

    /// MedMij OAUTH-1, OAUTH-19: 1.x flows and 2.x flows without the indefinite choice get
    /// no refresh token.
    pub fn no_refresh_without_long_lasting<S: TokenStore, R: RandomSource>(s: &Srv<S, R>) {
        let q1 = format!(
            "response_type=code&client_id=pgo.example.nl&redirect_uri={REDIRECT}&scope=umcharderwijk%7E1&state=abc"
        );
        let code = code_via(s, &q1, ConsentPeriod::Indefinite, t0());
        let out = post(s, &code_body(&client(), &code), None, &client(), t0());
        assert_eq!(out.release, ReleaseLine::V1);
        assert_eq!(tokens(&out).1, None);
        assert!(!out.response.body().contains("refresh_token"));
        let t = ids();
        let code = code_via(
            s,
            &query_v2(&client(), "umcharderwijk", &t),
            ConsentPeriod::ThisFlow,
            t0(),
        );
        let out = post(s, &code_body(&client(), &code), Some(&t), &client(), t0());
        assert_eq!(tokens(&out).1, None);
        // Delen never gets one.
        let code = code_via(
            s,
            &query_v2(&client(), "umcharderwijk~5", &t),
            ConsentPeriod::Indefinite,
            t0(),
        );
        let out = post(s, &code_body(&client(), &code), Some(&t), &client(), t0());
        assert_eq!(tokens(&out).1, None);
    }
}
