//! The token endpoint (MedMij OAUTH-1, OAUTH-3, OAUTH-6, OAUTH-7, OAUTH-8, OAUTH-9) and the collision redraw (OAUTH-6).

mod common;
use common::*;
use medmij_oauth::*;
use std::collections::VecDeque;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

fn error_of(out: &TokenOutcome) -> (u16, String) {
    let json: serde_json::Value = serde_json::from_str(&out.response.body()).unwrap();
    (
        out.response.status(),
        json["error"].as_str().unwrap_or("").to_owned(),
    )
}

#[test]
fn replay_is_refused_and_revokes_the_token() {
    let s = server();
    let code = code_for(&s, "umcharderwijk~1", t0());
    let first = s.token(Some(FORM_CONTENT_TYPE), &token_body(&code), &client(), t0());
    let token = issued_token(&first);
    let h = format!("Bearer {token}");
    assert!(
        s.check_resource(Some(&h), &za(), &gd("1"), Interaction::Read, t0())
            .is_ok()
    );
    // MedMij OAUTH-8: second presentation -> invalid_grant, breach, token revoked.
    let second = s.token(
        Some(FORM_CONTENT_TYPE),
        &token_body(&code),
        &client(),
        t0() + Duration::from_secs(1),
    );
    assert_eq!(error_of(&second), (400, "invalid_grant".into()));
    assert_eq!(
        second.event,
        TokenEvent::Replay {
            client_id: client(),
            token_revoked: true
        }
    );
    let e = s
        .check_resource(
            Some(&h),
            &za(),
            &gd("1"),
            Interaction::Read,
            t0() + Duration::from_secs(2),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ResourceErrorKind::InvalidToken);
    // A third presentation is still refused.
    assert_eq!(
        error_of(&s.token(Some(FORM_CONTENT_TYPE), &token_body(&code), &client(), t0())).1,
        "invalid_grant"
    );
}

#[test]
fn code_is_retired_whatever_the_outcome() {
    let s = server();
    // Wrong redirect_uri: refused, and the code is gone for good (OAUTH-8, OAUTH-9).
    let code = code_for(&s, "umcharderwijk~1", t0());
    let body = token_body(&code).replace("%2Fcb", "%2Fother");
    let out = s.token(Some(FORM_CONTENT_TYPE), &body, &client(), t0());
    assert_eq!(error_of(&out), (400, "invalid_grant".into()));
    let out = s.token(Some(FORM_CONTENT_TYPE), &token_body(&code), &client(), t0());
    assert_eq!(error_of(&out), (400, "invalid_grant".into()));
    assert!(matches!(
        out.event,
        TokenEvent::Replay {
            token_revoked: false,
            ..
        }
    ));
    // Wrong grant_type also retires the code.
    let code = code_for(&s, "umcharderwijk~1", t0());
    let body = token_body(&code).replace("authorization_code", "refresh_token");
    assert_eq!(
        error_of(&s.token(Some(FORM_CONTENT_TYPE), &body, &client(), t0())),
        (400, "unsupported_grant_type".into())
    );
    assert_eq!(
        error_of(&s.token(Some(FORM_CONTENT_TYPE), &token_body(&code), &client(), t0())).1,
        "invalid_grant"
    );
}

#[test]
fn code_lives_exactly_900_seconds() {
    let s = server();
    let code = code_for(&s, "umcharderwijk~1", t0());
    let out = s.token(
        Some(FORM_CONTENT_TYPE),
        &token_body(&code),
        &client(),
        t0() + LIFETIME,
    );
    assert_eq!(
        error_of(&out),
        (400, "invalid_grant".into()),
        "OAUTH-7: expired at 900 s"
    );
    let code = code_for(&s, "umcharderwijk~1", t0());
    let out = s.token(
        Some(FORM_CONTENT_TYPE),
        &token_body(&code),
        &client(),
        t0() + LIFETIME - Duration::from_nanos(1),
    );
    assert_eq!(
        out.response.status(),
        200,
        "OAUTH-7: valid just before 900 s"
    );
}

#[test]
fn malformed_requests() {
    let s = server();
    let code = code_for(&s, "umcharderwijk~1", t0());
    let out = s.token(
        Some(FORM_CONTENT_TYPE),
        &format!("{}&grant_type=authorization_code", token_body(&code)),
        &client(),
        t0(),
    );
    assert_eq!(error_of(&out), (400, "invalid_request".into()));
    let out = s.token(
        Some(FORM_CONTENT_TYPE),
        "grant_type=authorization_code",
        &client(),
        t0(),
    );
    assert_eq!(error_of(&out), (400, "invalid_request".into()));
    let out = s.token(Some(FORM_CONTENT_TYPE), "", &client(), t0());
    assert_eq!(error_of(&out), (400, "invalid_request".into()));
    let out = s.token(
        Some(FORM_CONTENT_TYPE),
        "grant_type=password&username=a&password=b",
        &client(),
        t0(),
    );
    assert_eq!(
        error_of(&out),
        (400, "unsupported_grant_type".into()),
        "OAUTH-1"
    );
}

/// A random source that replays a scripted list of 16-byte blocks, then counts up.
struct Scripted(Mutex<(VecDeque<[u8; 16]>, u64)>);

impl Scripted {
    fn new(blocks: &[[u8; 16]]) -> Self {
        Scripted(Mutex::new((blocks.iter().copied().collect(), 1)))
    }
}

impl RandomSource for Scripted {
    fn fill(&self, dest: &mut [u8; 16]) {
        let mut g = self.0.lock().unwrap();
        *dest = match g.0.pop_front() {
            Some(b) => b,
            None => {
                g.1 += 1;
                let mut b = [0xabu8; 16];
                b[..8].copy_from_slice(&g.1.to_le_bytes());
                b
            }
        };
    }
}

/// MedMij OAUTH-6: a forced collision makes the server draw again, for codes and tokens.
#[test]
fn collisions_are_redrawn() {
    let same = [7u8; 16];
    // Code 1 = same; code 2 draws same (collision) then a fresh value;
    // token 1 draws same too: tokens are checked against tokens, so same is fine there;
    // token 2 draws same (collision with token 1) then fresh.
    let s = AuthorizationServer::with_random(
        config(),
        registry(),
        MemoryStore::new(),
        Scripted::new(&[same, same, [1; 16], same, same, [2; 16]]),
    );
    let c1 = code_for(&s, "umcharderwijk~1", t0());
    let c2 = code_for(&s, "umcharderwijk~1", t0());
    assert_ne!(c1, c2, "the colliding draw was replaced");
    let expected_same = uuid::Builder::from_random_bytes(same)
        .into_uuid()
        .to_string();
    assert_eq!(c1, expected_same);
    let t1 = issued_token(&s.token(Some(FORM_CONTENT_TYPE), &token_body(&c1), &client(), t0()));
    let t2 = issued_token(&s.token(Some(FORM_CONTENT_TYPE), &token_body(&c2), &client(), t0()));
    assert_eq!(t1, expected_same);
    assert_ne!(t1, t2);
    // Both tokens work, each for its own flow.
    for t in [&t1, &t2] {
        let h = format!("Bearer {t}");
        assert!(
            s.check_resource(Some(&h), &za(), &gd("1"), Interaction::Read, t0())
                .is_ok()
        );
    }
}

/// An expired-and-forgotten value may be drawn again: only values in circulation collide.
#[test]
fn expired_values_may_recur() {
    let same = [9u8; 16];
    let s = AuthorizationServer::with_random(
        config(),
        registry(),
        MemoryStore::new(),
        Scripted::new(&[same, same]),
    );
    let c1 = code_for(&s, "umcharderwijk~1", t0());
    let later = t0() + CODE_RETENTION;
    let c2 = code_for(&s, "umcharderwijk~1", later);
    assert_eq!(c1, c2);
    assert_eq!(
        s.token(Some(FORM_CONTENT_TYPE), &token_body(&c2), &client(), later)
            .response
            .status(),
        200
    );
}

/// A source that always returns the same bytes: after the first value, every draw collides,
/// and the server gives up with a server error instead of looping or reusing the value.
#[test]
fn endless_collisions_end_in_an_error() {
    let s = AuthorizationServer::with_random(
        config(),
        registry(),
        MemoryStore::new(),
        Scripted::new(&[[3; 16]; 100]),
    );
    let _ = code_for(&s, "umcharderwijk~1", t0());
    let mut sess = s.authorize(&query("umcharderwijk~1", "s")).unwrap();
    sess.authenticated(Authentication::Established(subject()))
        .unwrap();
    sess.data_available(true).unwrap();
    assert!(matches!(
        sess.consent(ConsentDecision::Granted, t0()).unwrap(),
        ConsentOutcome::Granted(_)
    ));
    assert_eq!(
        s.issue_code(&mut sess, t0()).unwrap_err(),
        IssueError::Store(StoreError::Collision)
    );
}

/// Race (issue 3, item 3): many threads present the same code at once. Exactly one
/// presentation is the first (it alone can yield a token); all others are replays
/// (MedMij OAUTH-8). Because a replay is a breach, the token of the first presentation is
/// either never issued (the replay overtook it before the token was stored) or revoked: in no
/// case is a token for this code usable after the race, and never are two tokens issued.
#[test]
fn concurrent_redemption_has_exactly_one_winner() {
    let s = Arc::new(server());
    let mut issued_rounds = 0;
    for round in 0..50 {
        let code = code_for(&*s, "umcharderwijk~1", t0());
        let n = 16;
        let barrier = Arc::new(Barrier::new(n));
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let (s, barrier, body) = (Arc::clone(&s), Arc::clone(&barrier), token_body(&code));
                std::thread::spawn(move || {
                    barrier.wait();
                    s.token(Some(FORM_CONTENT_TYPE), &body, &client(), t0())
                })
            })
            .collect();
        let outs: Vec<TokenOutcome> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let replays = outs
            .iter()
            .filter(|o| matches!(o.event, TokenEvent::Replay { .. }))
            .count();
        let winners: Vec<_> = outs.iter().filter(|o| o.response.status() == 200).collect();
        assert_eq!(replays, n - 1, "round {round}: all but one are replays");
        assert!(winners.len() <= 1, "round {round}: never two tokens");
        for o in &outs {
            if o.response.status() != 200 {
                assert_eq!(error_of(o), (400, "invalid_grant".into()));
            }
        }
        if let Some(w) = winners.first() {
            issued_rounds += 1;
            let h = format!("Bearer {}", issued_token(w));
            assert!(
                s.check_resource(Some(&h), &za(), &gd("1"), Interaction::Read, t0())
                    .is_err()
            );
        }
    }
    eprintln!(
        "rounds where the first presentation got its token before a replay: {issued_rounds}/50"
    );
}

/// Without replays, concurrent presentations of distinct codes all succeed.
#[test]
fn concurrent_distinct_codes_all_succeed() {
    let s = Arc::new(server());
    let codes: Vec<String> = (0..64)
        .map(|_| code_for(&*s, "umcharderwijk~1", t0()))
        .collect();
    let barrier = Arc::new(Barrier::new(codes.len()));
    let handles: Vec<_> = codes
        .into_iter()
        .map(|c| {
            let (s, barrier) = (Arc::clone(&s), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                s.token(Some(FORM_CONTENT_TYPE), &token_body(&c), &client(), t0())
                    .response
                    .status()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 200);
    }
}

mod oauth_9 {
    use super::*;

    #[test]
    fn code_is_bound_to_its_client() {
        let s = server();
        let code = code_for(&s, "umcharderwijk~1", t0());
        let other = ClientId::new(OTHER_CLIENT).unwrap();
        let body = token_body(&code).replace(
            "client_id=pgo.example.nl",
            "client_id=andere-pgo.example.com",
        );
        let out = s.token(Some(FORM_CONTENT_TYPE), &body, &other, t0());
        assert_eq!(error_of(&out), (400, "invalid_grant".into()), "OAUTH-9");
        // client_id in the body must match the mTLS identity (OAUTH-3).
        let code = code_for(&s, "umcharderwijk~1", t0());
        let out = s.token(Some(FORM_CONTENT_TYPE), &token_body(&code), &other, t0());
        assert_eq!(error_of(&out), (401, "invalid_client".into()));
        // mTLS identity not on the OCL (OAUTH-3).
        let code = code_for(&s, "umcharderwijk~1", t0());
        let stranger = ClientId::new("vreemd.example.org").unwrap();
        let body = token_body(&code).replace("&client_id=pgo.example.nl", "");
        assert_eq!(
            error_of(&s.token(Some(FORM_CONTENT_TYPE), &body, &stranger, t0())),
            (401, "invalid_client".into())
        );
    }
}

mod oauth_6 {
    use super::*;

    /// Every secret type (the crate's `secret_type!` macro writes each) reads only the
    /// canonical lowercase UUID v4 text, writes it back the same through each door, is kept
    /// under the SHA-256 of that text (OAUTH-14), draws from the random source it is given,
    /// and never shows its value in `Debug` (LOG-4).
    #[test]
    fn every_secret_type_reads_writes_and_hashes_its_text() {
        use sha2::Digest;
        macro_rules! secret {
            ($t:ident) => {{
                let text = "3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b";
                let v = $t::parse(text).unwrap();
                assert!($t::parse(&text.to_uppercase()).is_none());
                assert!($t::parse("3f2b8c1e-9d4a-1f6b-8e2a-1c3d5e7f9a0b").is_none());
                assert_eq!(v.secret_text(), text);
                assert_eq!(v.to_string(), text);
                let mut buf = [0u8; 36];
                assert_eq!(v.encode(&mut buf), text);
                let sha: [u8; 32] = sha2::Sha256::digest(text).into();
                assert_eq!(v.hash().as_bytes(), &sha, stringify!($t));
                assert_eq!(format!("{v:?}"), concat!(stringify!($t), "(<redacted>)"));
                let drawn = [0x5au8; 16];
                let r = $t::random(&Scripted::new(&[drawn]));
                let expected = uuid::Builder::from_random_bytes(drawn).into_uuid();
                assert_eq!(r.secret_text(), expected.to_string(), stringify!($t));
                assert!(v == $t::parse(text).unwrap() && v != r);
            }};
        }
        secret!(Code);
        secret!(AccessToken);
        secret!(RefreshToken);
        secret!(FlowId);
    }

    /// MedMij OAUTH-6: the server draws its codes from the random source it is given, also
    /// when it is given a reference to the source or an `Arc` of it.
    #[test]
    fn the_random_source_is_used_through_a_reference_and_an_arc() {
        let drawn = [0x5au8; 16];
        let expected = uuid::Builder::from_random_bytes(drawn)
            .into_uuid()
            .to_string();
        let source = Scripted::new(&[drawn]);
        let s = AuthorizationServer::with_random(config(), registry(), MemoryStore::new(), &source);
        assert_eq!(code_for(&s, "umcharderwijk~1", t0()), expected);
        let source = Arc::new(Scripted::new(&[drawn]));
        let s = AuthorizationServer::with_random(config(), registry(), MemoryStore::new(), source);
        assert_eq!(code_for(&s, "umcharderwijk~1", t0()), expected);
    }
}
