//! Store semantics every [`TokenStore`] must show (MedMij OAUTH-6, OAUTH-7, OAUTH-8), run against the
//! in-memory store and the PostgreSQL store.

use super::*;
use medmij_oauth::*;
use std::sync::{Arc, Barrier};
use std::time::Duration;

fn hash(n: u8) -> SecretHash {
    SecretHash::from_bytes([n; 32])
}

fn code_rec(at: std::time::SystemTime) -> CodeRecord {
    CodeRecord {
        client_id: client(),
        redirect_uri: REDIRECT.into(),
        scope: Scope::parse("umcharderwijk~1 umcharderwijk~3", ScopeForm::Multiple).unwrap(),
        subject: subject(),
        use_case: UseCase::Verzamelen,
        issued_at: at,
    }
}

fn token_rec(at: std::time::SystemTime) -> TokenRecord {
    TokenRecord {
        client_id: client(),
        scope: Scope::parse("umcharderwijk~4", ScopeForm::Single).unwrap(),
        subject: subject(),
        use_case: UseCase::Delen,
        issued_at: at,
    }
}

/// The sequential semantics.
pub fn semantics(s: &dyn TokenStore) {
    let t = t0();
    let ns = Duration::from_nanos(1);
    // OAUTH-6: a kept code collides; the record round-trips exactly.
    s.insert_code(&hash(1), &code_rec(t), t).unwrap();
    assert_eq!(
        s.insert_code(&hash(1), &code_rec(t), t),
        Err(StoreError::Collision)
    );
    assert_eq!(
        s.insert_code(&hash(1), &code_rec(t), t + CODE_RETENTION - ns),
        Err(StoreError::Collision)
    );
    assert_eq!(
        s.redeem_code(&hash(1), t + LIFETIME - ns),
        Ok(Redemption::Fresh(code_rec(t)))
    );
    // Token for the code; a kept token collides.
    s.insert_token(&hash(2), &token_rec(t), &hash(1), t)
        .unwrap();
    assert_eq!(s.lookup_token(&hash(2), t), Ok(Some(token_rec(t))));
    assert_eq!(
        s.lookup_token(&hash(2), t + LIFETIME - ns),
        Ok(Some(token_rec(t)))
    );
    assert_eq!(s.lookup_token(&hash(2), t + LIFETIME), Ok(None), "OAUTH-7");
    assert_eq!(s.lookup_token(&hash(9), t), Ok(None));
    // Only one token per code.
    assert_eq!(
        s.insert_token(&hash(3), &token_rec(t), &hash(1), t),
        Err(StoreError::CodeRevoked)
    );
    // OAUTH-8: replay revokes; further replays still refused.
    assert_eq!(
        s.redeem_code(&hash(1), t),
        Ok(Redemption::Replayed {
            token_revoked: true
        })
    );
    assert_eq!(s.lookup_token(&hash(2), t), Ok(None));
    assert_eq!(
        s.redeem_code(&hash(1), t),
        Ok(Redemption::Replayed {
            token_revoked: false
        })
    );
    // Expired first presentation retires the code too.
    s.insert_code(&hash(4), &code_rec(t), t).unwrap();
    assert_eq!(
        s.redeem_code(&hash(4), t + LIFETIME),
        Ok(Redemption::Expired)
    );
    assert_eq!(
        s.redeem_code(&hash(4), t + LIFETIME),
        Ok(Redemption::Replayed {
            token_revoked: false
        })
    );
    assert_eq!(
        s.insert_token(&hash(5), &token_rec(t), &hash(4), t),
        Err(StoreError::CodeRevoked)
    );
    // Unknown codes.
    assert_eq!(s.redeem_code(&hash(6), t), Ok(Redemption::Unknown));
    assert_eq!(
        s.insert_token(&hash(7), &token_rec(t), &hash(6), t),
        Err(StoreError::CodeRevoked)
    );
    // Token collision with a kept token; allowed once that one expired.
    s.insert_code(&hash(10), &code_rec(t), t).unwrap();
    assert!(matches!(
        s.redeem_code(&hash(10), t),
        Ok(Redemption::Fresh(_))
    ));
    assert_eq!(
        s.insert_token(&hash(11), &token_rec(t), &hash(10), t),
        Ok(())
    );
    s.insert_code(&hash(13), &code_rec(t), t).unwrap();
    assert!(matches!(
        s.redeem_code(&hash(13), t),
        Ok(Redemption::Fresh(_))
    ));
    assert_eq!(
        s.insert_token(&hash(11), &token_rec(t), &hash(13), t),
        Err(StoreError::Collision)
    );
    // After a collision the code still takes a fresh token (the redraw path).
    assert_eq!(
        s.insert_token(&hash(14), &token_rec(t), &hash(13), t),
        Ok(())
    );
    // Past retention: forgotten, and the value may be issued again.
    let later = t + CODE_RETENTION;
    assert_eq!(s.redeem_code(&hash(1), later), Ok(Redemption::Unknown));
    s.insert_code(&hash(1), &code_rec(later), later).unwrap();
    assert_eq!(
        s.redeem_code(&hash(1), later),
        Ok(Redemption::Fresh(code_rec(later)))
    );
    s.insert_code(&hash(12), &code_rec(later), later).unwrap();
    assert!(matches!(
        s.redeem_code(&hash(12), later),
        Ok(Redemption::Fresh(_))
    ));
    s.insert_token(&hash(2), &token_rec(later), &hash(12), later)
        .unwrap();
    assert_eq!(s.lookup_token(&hash(2), later), Ok(Some(token_rec(later))));
    // Sweep removes what is past its time and nothing else.
    let removed = s.sweep(later).unwrap();
    assert!(removed >= 4, "swept {removed}");
    assert_eq!(s.lookup_token(&hash(2), later), Ok(Some(token_rec(later))));
    // Redeemed code 1 (at `later`) now replays.
    assert!(matches!(
        s.redeem_code(&hash(1), later),
        Ok(Redemption::Replayed { .. })
    ));
}

/// Issue 3, item 3: many threads present the same code at once; exactly one redemption is
/// fresh, and at most one token is issued for it.
pub fn race<S: TokenStore + Send + Sync + 'static>(store: Arc<S>, threads: usize, rounds: usize) {
    let server = Arc::new(AuthorizationServer::new(config(), registry(), store));
    for round in 0..rounds {
        let code = code_for(&*server, "umcharderwijk~1", t0());
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (s, b, body) = (Arc::clone(&server), Arc::clone(&barrier), token_body(&code));
                std::thread::spawn(move || {
                    b.wait();
                    s.token(Some(FORM_CONTENT_TYPE), &body, &client(), t0())
                })
            })
            .collect();
        let outs: Vec<TokenOutcome> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let replays = outs
            .iter()
            .filter(|o| matches!(o.event, TokenEvent::Replay { .. }))
            .count();
        let tokens = outs.iter().filter(|o| o.response.status() == 200).count();
        assert_eq!(
            replays,
            threads - 1,
            "round {round}: exactly one first presentation"
        );
        assert!(tokens <= 1, "round {round}: at most one token");
        for o in &outs {
            if let TokenResponse::Issued { access_token, .. } = &o.response {
                let h = format!("Bearer {access_token}");
                assert!(
                    server
                        .check_resource(Some(&h), &za(), &gd("1"), Interaction::Read, t0())
                        .is_err(),
                    "OAUTH-8: revoked after the replays"
                );
            }
        }
    }
    // Distinct codes in parallel all succeed.
    let codes: Vec<String> = (0..threads)
        .map(|_| code_for(&*server, "umcharderwijk~1", t0()))
        .collect();
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = codes
        .into_iter()
        .map(|c| {
            let (s, b) = (Arc::clone(&server), Arc::clone(&barrier));
            std::thread::spawn(move || {
                b.wait();
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
