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

/// Store-level fixtures and checks of the 2.x `TokenStore` methods, run against MemoryStore
/// (tests/v2.rs) and PgStore (tests/v2_postgres.rs): every collision refused on its own
/// (MedMij OAUTH-6), the chain's live access tokens revoked on a replay (OAUTH-19), withdrawal
/// and overview of a long-lasting consent (OAUTH-22). A check that takes `fresh` builds a new
/// store per case with it and hands the store to `done` afterwards; the others fill the
/// empty store they are given and hand it back.
pub mod store_level {
    use super::*;

    pub fn h(n: u16) -> SecretHash {
        let mut b = [0u8; 32];
        b[..2].copy_from_slice(&n.to_le_bytes());
        b[31] = 0x19;
        SecretHash::from_bytes(b)
    }

    pub fn subject() -> Subject {
        Subject::new("p").unwrap()
    }

    pub fn scope() -> Scope {
        Scope::parse("umcharderwijk~1", ScopeForm::Single).unwrap()
    }

    pub fn code_rec(t: std::time::SystemTime) -> CodeRecord {
        CodeRecord {
            client_id: client(),
            redirect_uri: "https://pgo.example.nl/cb".into(),
            scope: scope(),
            subject: subject(),
            use_case: UseCase::Verzamelen,
            issued_at: t,
        }
    }

    pub fn token_rec(t: std::time::SystemTime) -> TokenRecord {
        TokenRecord {
            client_id: client(),
            scope: scope(),
            subject: subject(),
            use_case: UseCase::Verzamelen,
            issued_at: t,
        }
    }

    pub fn consent(id: u8, t: std::time::SystemTime) -> ConsentRecord {
        ConsentRecord {
            id: ConsentId::from_bytes([id; 16]),
            client_id: client(),
            subject: subject(),
            scope: scope(),
            wire_scope: "umcharderwijk".into(),
            use_case: UseCase::Verzamelen,
            granted_at: t,
        }
    }

    /// A redeemed code `code`, ready for its token.
    pub fn redeemed<S: TokenStore>(s: &S, code: u16, t: std::time::SystemTime) {
        s.insert_code(&h(code), &code_rec(t), t).unwrap();
        assert!(matches!(
            s.redeem_code(&h(code), t),
            Ok(Redemption::Fresh(_))
        ));
    }

    /// Fills `s` with one chain: code 1, access 2, refresh 3, consent 1; and a kept code 10
    /// and a 1.x access token 11 (for code 12).
    pub fn one_chain<S: TokenStore>(s: S, t: std::time::SystemTime) -> S {
        redeemed(&s, 1, t);
        s.insert_token_with_refresh(&h(2), &token_rec(t), &h(1), &h(3), &consent(1, t), t)
            .unwrap();
        s.insert_code(&h(10), &code_rec(t), t).unwrap();
        redeemed(&s, 12, t);
        s.insert_token(&h(11), &token_rec(t), &h(12), t).unwrap();
        s
    }

    /// Each collision on its own refuses the new chain and stores nothing.
    pub fn opening_a_chain_refuses_each_collision_alone<S: TokenStore>(
        fresh: impl Fn() -> S,
        done: impl Fn(S),
    ) {
        let t = t0();
        // (access, refresh, consent id) with exactly one collision each.
        let cases: [(u16, u16, u8, &str); 8] = [
            (20, 20, 2, "access equals refresh"),
            (2, 21, 2, "access is a kept access token of a chain"),
            (11, 21, 2, "access is a kept 1.x access token"),
            (20, 3, 2, "refresh is a kept refresh token"),
            (3, 21, 2, "access is a kept refresh token"),
            (20, 21, 1, "the consent id is taken"),
            (20, 10, 2, "refresh is a kept code"),
            (20, 11, 2, "refresh is a kept access token"),
        ];
        for (access, refresh, id, what) in cases {
            let s = one_chain(fresh(), t);
            redeemed(&s, 30, t);
            assert_eq!(
                s.insert_token_with_refresh(
                    &h(access),
                    &token_rec(t),
                    &h(30),
                    &h(refresh),
                    &consent(id, t),
                    t
                ),
                Err(StoreError::Collision),
                "{what}"
            );
            if ![2, 3, 11].contains(&access) {
                assert_eq!(
                    s.lookup_token(&h(access), t),
                    Ok(None),
                    "{what}: nothing stored"
                );
            }
            if refresh == 21 {
                assert_eq!(
                    s.rotate_refresh(
                        &h(21),
                        &h(50),
                        &h(51),
                        &client(),
                        t,
                        DEFAULT_REFRESH_LIFETIME
                    ),
                    Ok(Rotation::Unknown),
                    "{what}: no refresh token stored"
                );
            }
            // The same call without the collision succeeds.
            s.insert_token_with_refresh(&h(40), &token_rec(t), &h(30), &h(41), &consent(9, t), t)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            done(s);
        }
    }

    /// Each collision on its own refuses the rotation and changes nothing: the presented
    /// refresh token stays valid.
    pub fn rotating_refuses_each_collision_alone<S: TokenStore>(
        fresh: impl Fn() -> S,
        done: impl Fn(S),
    ) {
        let t = t0();
        let life = DEFAULT_REFRESH_LIFETIME;
        let cases: [(u16, u16, &str); 5] = [
            (20, 20, "new access equals new refresh"),
            (20, 3, "new refresh is a kept refresh token"),
            (3, 21, "new access is a kept refresh token"),
            (20, 10, "new refresh is a kept code"),
            (20, 11, "new refresh is a kept access token"),
        ];
        for (access, refresh, what) in cases {
            let s = one_chain(fresh(), t);
            assert_eq!(
                s.rotate_refresh(&h(3), &h(access), &h(refresh), &client(), t + SEC, life),
                Err(StoreError::Collision),
                "{what}"
            );
            assert!(
                matches!(
                    s.rotate_refresh(&h(3), &h(40), &h(41), &client(), t + SEC, life),
                    Ok(Rotation::Rotated(_))
                ),
                "{what}: the presented token still rotates"
            );
            done(s);
        }
    }

    /// A replayed refresh token revokes every access token of the chain still live,
    /// the first one included (it is still within its 900 s).
    pub fn replay_revokes_every_live_access_token_of_the_chain<S: TokenStore>(s: S) -> S {
        let t = t0();
        let life = DEFAULT_REFRESH_LIFETIME;
        let s = one_chain(s, t);
        assert!(matches!(
            s.rotate_refresh(&h(3), &h(40), &h(41), &client(), t + SEC, life),
            Ok(Rotation::Rotated(_))
        ));
        assert!(matches!(
            s.rotate_refresh(&h(41), &h(50), &h(51), &client(), t + SEC * 2, life),
            Ok(Rotation::Rotated(_))
        ));
        let now = t + SEC * 3;
        for a in [2, 40, 50] {
            assert!(
                s.lookup_token(&h(a), now).unwrap().is_some(),
                "access {a} live"
            );
        }
        assert_eq!(
            s.rotate_refresh(&h(3), &h(60), &h(61), &client(), now, life),
            Ok(Rotation::Replayed)
        );
        for a in [2, 40, 50] {
            assert_eq!(s.lookup_token(&h(a), now), Ok(None), "access {a} revoked");
        }
        assert_eq!(
            s.lookup_token(&h(11), now).map(|r| r.is_some()),
            Ok(true),
            "other flows untouched"
        );
        s
    }

    /// Only the consent's own person and client may withdraw it; anyone else's attempt
    /// is refused and leaves the chain working.
    pub fn withdrawal_needs_the_consents_own_person_and_client<S: TokenStore>(s: S) -> S {
        let t = t0();
        let life = DEFAULT_REFRESH_LIFETIME;
        let s = one_chain(s, t);
        let id = consent(1, t).id;
        let other_person = Subject::new("q").unwrap();
        let other_client = ClientId::new("andere-pgo.example.com").unwrap();
        assert_eq!(
            s.withdraw_consent(&id, &other_person, &client(), t),
            Ok(false)
        );
        assert_eq!(
            s.withdraw_consent(&id, &subject(), &other_client, t),
            Ok(false)
        );
        assert_eq!(
            s.withdraw_consent(&id, &other_person, &other_client, t),
            Ok(false)
        );
        assert_eq!(s.lookup_token(&h(2), t).map(|r| r.is_some()), Ok(true));
        assert_eq!(
            s.long_lasting_consents(&subject(), &client(), t, life)
                .map(|v| v.len()),
            Ok(1)
        );
        assert_eq!(s.withdraw_consent(&id, &subject(), &client(), t), Ok(true));
        assert_eq!(
            s.withdraw_consent(&id, &subject(), &client(), t),
            Ok(false),
            "once"
        );
        assert_eq!(s.lookup_token(&h(2), t), Ok(None), "the chain is revoked");
        assert_eq!(
            s.long_lasting_consents(&subject(), &client(), t, life),
            Ok(Vec::new())
        );
        s
    }

    /// The overview lists a consent until the instant it lapses, not at that instant,
    /// and only to its own person and client.
    pub fn overview_lists_a_consent_until_it_lapses<S: TokenStore>(s: S) -> S {
        let t = t0();
        let life = DEFAULT_REFRESH_LIFETIME;
        let ns = std::time::Duration::from_nanos(1);
        let s = one_chain(s, t);
        let listed = s
            .long_lasting_consents(&subject(), &client(), t + life - ns, life)
            .unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].expires_at, t + life);
        assert_eq!(listed[0].last_rotation, t);
        assert_eq!(
            s.long_lasting_consents(&subject(), &client(), t + life, life),
            Ok(Vec::new())
        );
        let other_person = Subject::new("q").unwrap();
        let other_client = ClientId::new("andere-pgo.example.com").unwrap();
        assert_eq!(
            s.long_lasting_consents(&other_person, &client(), t, life),
            Ok(Vec::new())
        );
        assert_eq!(
            s.long_lasting_consents(&subject(), &other_client, t, life),
            Ok(Vec::new())
        );
        s
    }

    /// MedMij OAUTH-8: a chain is opened only for a code redeemed once and not yet used: a
    /// replayed code, a code already used for a token and a code never issued are refused
    /// with `CodeRevoked`, and nothing is stored.
    pub fn a_chain_needs_a_code_redeemed_once<S: TokenStore>(s: S) -> S {
        let t = t0();
        let s = one_chain(s, t);
        redeemed(&s, 30, t);
        assert!(matches!(
            s.redeem_code(&h(30), t),
            Ok(Redemption::Replayed { .. })
        ));
        for (code, what) in [
            (30, "a replayed code"),
            (1, "a code already used for the chain"),
            (31, "a code never issued"),
        ] {
            assert_eq!(
                s.insert_token_with_refresh(
                    &h(20),
                    &token_rec(t),
                    &h(code),
                    &h(21),
                    &consent(2, t),
                    t
                ),
                Err(StoreError::CodeRevoked),
                "{what}"
            );
            assert_eq!(
                s.lookup_token(&h(20), t),
                Ok(None),
                "{what}: no access token"
            );
            assert_eq!(
                s.rotate_refresh(
                    &h(21),
                    &h(50),
                    &h(51),
                    &client(),
                    t,
                    DEFAULT_REFRESH_LIFETIME
                ),
                Ok(Rotation::Unknown),
                "{what}: no refresh token"
            );
        }
        s
    }

    /// MedMij OAUTH-8: a replayed code revokes the chain opened with it, once: the answer says
    /// whether there was a chain to revoke, and a 1.x code has none.
    pub fn a_replayed_code_revokes_its_chain_once<S: TokenStore>(s: S) -> S {
        let t = t0();
        let s = one_chain(s, t);
        assert_eq!(s.revoke_consent_of_code(&h(12), t), Ok(false), "a 1.x code");
        assert_eq!(s.revoke_consent_of_code(&h(1), t), Ok(true));
        assert_eq!(s.lookup_token(&h(2), t), Ok(None), "its access token");
        assert_eq!(
            s.rotate_refresh(
                &h(3),
                &h(50),
                &h(51),
                &client(),
                t,
                DEFAULT_REFRESH_LIFETIME
            ),
            Ok(Rotation::Revoked),
            "its refresh token"
        );
        assert_eq!(s.revoke_consent_of_code(&h(1), t), Ok(false), "once");
        assert_eq!(
            s.lookup_token(&h(11), t).map(|r| r.is_some()),
            Ok(true),
            "other flows untouched"
        );
        s
    }
}
