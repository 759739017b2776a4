//! The in-memory store against the shared store conformance suite and race test.

mod common;
use medmij_oauth::*;
use std::sync::Arc;

#[test]
fn memory_store_semantics() {
    common::conformance::semantics(&MemoryStore::new());
}

#[test]
fn memory_store_race() {
    common::conformance::race(Arc::new(MemoryStore::new()), 16, 100);
}

#[test]
fn memory_store_sweeps_as_it_goes() {
    let s = MemoryStore::new();
    let server = AuthorizationServer::new(common::config(), common::registry(), &s);
    let mut t = common::t0();
    for _ in 0..20_000 {
        let c = common::code_for(&server, "umcharderwijk~1", t);
        assert_eq!(
            server
                .token(
                    Some(FORM_CONTENT_TYPE),
                    &common::token_body(&c),
                    &common::client(),
                    t
                )
                .response
                .status(),
            200
        );
        t += std::time::Duration::from_millis(500);
    }
    // 20,000 flows over 10,000 s; codes are kept 1800 s and tokens 900 s, so without sweeping
    // the store would hold 20,000 of each. The amortised sweep keeps it near the live window
    // (3600 codes, 1800 tokens): at most about twice that plus 64 per shard.
    let (codes, tokens) = s.len();
    assert!(codes <= 2 * 3600 + 64 * 64, "codes kept: {codes}");
    assert!(tokens <= 2 * 1800 + 64 * 64, "tokens kept: {tokens}");
    s.sweep(t).unwrap();
    let (codes, tokens) = s.len();
    assert!(
        codes <= 3600 && tokens <= 1800,
        "after sweep: {codes} {tokens}"
    );
}

fn hash(n: u8) -> SecretHash {
    SecretHash::from_bytes([n; 32])
}

fn token_record(at: std::time::SystemTime) -> TokenRecord {
    TokenRecord {
        client_id: common::client(),
        scope: Scope::parse("umcharderwijk~1", ScopeForm::Single).unwrap(),
        subject: common::subject(),
        use_case: UseCase::Verzamelen,
        issued_at: at,
    }
}

fn code_record(at: std::time::SystemTime) -> CodeRecord {
    CodeRecord {
        client_id: common::client(),
        redirect_uri: common::REDIRECT.into(),
        scope: Scope::parse("umcharderwijk~1", ScopeForm::Single).unwrap(),
        subject: common::subject(),
        use_case: UseCase::Verzamelen,
        issued_at: at,
    }
}

/// MedMij OAUTH-8: a redeemed code is remembered (for replay detection) until
/// [`CODE_RETENTION`] has passed; `MemoryStore::len` and `is_empty` count what is kept.
mod oauth_8 {
    use super::*;

    #[test]
    fn the_memory_store_counts_codes_and_tokens_it_keeps() {
        let s = MemoryStore::new();
        let t = common::t0();
        assert!(s.is_empty());
        assert_eq!(s.len(), (0, 0));
        s.insert_code(&hash(1), &code_record(t), t).unwrap();
        assert_eq!(s.len(), (1, 0));
        assert!(!s.is_empty());
        assert!(matches!(
            s.redeem_code(&hash(1), t),
            Ok(Redemption::Fresh(_))
        ));
        assert_eq!(s.len(), (1, 0), "a redeemed code is remembered");
        s.insert_token(&hash(2), &token_record(t), &hash(1), t)
            .unwrap();
        assert_eq!(s.len(), (1, 1));
        s.insert_code(&hash(3), &code_record(t), t).unwrap();
        assert_eq!(s.len(), (2, 1));
        // A sweep before anything lapsed removes nothing; after the token's lifetime only the
        // codes are left; after the retention nothing.
        assert_eq!(
            s.sweep(t + LIFETIME - std::time::Duration::from_nanos(1)),
            Ok(0)
        );
        assert_eq!(s.len(), (2, 1));
        assert_eq!(s.sweep(t + LIFETIME), Ok(1));
        assert_eq!(s.len(), (2, 0));
        assert!(!s.is_empty());
        assert_eq!(s.sweep(t + CODE_RETENTION), Ok(2));
        assert_eq!(s.len(), (0, 0));
        assert!(s.is_empty());
    }
}

/// MedMij OAUTH-21: a 2.x access token is known as 2.x for its whole 900 s, however many
/// other 2.x tokens are issued meanwhile (the memory store sweeps its 2.x index as it
/// goes, and must keep the live entries).
mod oauth_21 {
    use super::*;

    fn nth(n: u16) -> SecretHash {
        let mut b = [0u8; 32];
        b[..2].copy_from_slice(&n.to_le_bytes());
        b[31] = 0x21;
        SecretHash::from_bytes(b)
    }

    #[test]
    fn marked_tokens_stay_2x_for_their_lifetime_through_sweeps() {
        let s = MemoryStore::new();
        let t = common::t0();
        let ns = std::time::Duration::from_nanos(1);
        for n in 0..600 {
            s.mark_token_v2(&nth(n), t).unwrap();
        }
        for n in 0..600 {
            assert_eq!(
                s.token_is_v2(&nth(n), t + LIFETIME - ns),
                Ok(true),
                "token {n}"
            );
            assert_eq!(s.token_is_v2(&nth(n), t + LIFETIME), Ok(false), "token {n}");
        }
        // Later tokens, marked after the first ones lapsed, sweep those out and stay 2.x.
        for n in 600..1200 {
            s.mark_token_v2(&nth(n), t + LIFETIME).unwrap();
        }
        for n in 600..1200 {
            assert_eq!(s.token_is_v2(&nth(n), t + LIFETIME), Ok(true), "token {n}");
        }
        assert_eq!(s.token_is_v2(&nth(0), t + LIFETIME), Ok(false));
        assert_eq!(s.token_is_v2(&nth(5000), t), Ok(false), "never marked");
    }
}
