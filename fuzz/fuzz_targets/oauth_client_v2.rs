//! The PGO client's 2.x token-response parsers, fed untrusted bytes from an AS (MedMij
//! OAUTH-19, OAUTH-20, OAUTH-6, OAUTH-7, OAUTH-2): `PendingFlow::parse_token_response` of a
//! 2.x Verzamelen or Delen flow and `PendingRefresh::parse_response`. The first byte picks
//! the parser, the use case and the HTTP status; the rest is the body. Never panics; a grant
//! only from a 200 with canonical UUID v4 tokens, the requested scope, exactly 900 s and the
//! scope text sent; a refresh token only for Verzamelen and always after a refresh, never
//! equal to the access token; `StartNewFlow` only for an `invalid_grant` refusal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medmij_oauth::*;
use std::time::{Duration, SystemTime};

struct Fixed;

impl RandomSource for Fixed {
    fn fill(&self, dest: &mut [u8; 16]) {
        *dest = [0x11; 16];
    }
}

fn check(grant: &GrantV2, scope: &Scope, wire: &str, now: SystemTime, text: &str) {
    assert!(grant.access.scope.same_as(scope));
    assert_eq!(grant.access.expires_at, now + LIFETIME);
    assert!(AccessToken::parse(&grant.access.token.to_string()).is_some());
    assert_eq!(grant.wire_scope, wire);
    assert!(text.contains("900"));
    if let Some(rt) = &grant.refresh_token {
        assert!(RefreshToken::parse(&rt.secret_text()).is_some());
        assert_ne!(rt.secret_text(), grant.access.token.to_string());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let client = Client::with_random(
        ClientId::new("pgo.example.nl").unwrap(),
        "https://pgo.example.nl/cb",
        Fixed,
    )
    .unwrap();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let status = [200u16, 400, 401, 500][usize::from(mode >> 2) % 4];
    let delen = mode & 2 != 0;
    let (pair, use_case) = if delen {
        ("umcharderwijk~48", UseCase::Delen)
    } else {
        ("umcharderwijk~1", UseCase::Verzamelen)
    };
    let scope = Scope::parse(pair, ScopeForm::Single).unwrap();
    if mode & 1 == 0 {
        let (_, pending) = client
            .start_release(
                ReleaseLine::V2,
                "https://za.example.nl/authorize",
                "https://za.example.nl/token",
                scope.clone(),
                use_case,
                None,
            )
            .unwrap();
        let wire = if delen { pair } else { "umcharderwijk" };
        assert_eq!(pending.wire_scope(), wire);
        if let Ok(grant) = pending.parse_token_response(status, text, now) {
            assert_eq!(status, 200);
            check(&grant, &scope, wire, now, text);
            assert!(!delen || grant.refresh_token.is_none(), "OAUTH-19: Verzamelen only");
            assert_eq!(grant.trace, pending.trace().copied());
        }
    } else {
        let rt = RefreshToken::parse("3f2504e0-4f89-41d3-9a0c-0305e82c3301").unwrap();
        let (_, waiting) = client
            .refresh_request("https://za.example.nl/token", &rt, scope.clone(), "umcharderwijk")
            .unwrap();
        match waiting.parse_response(status, text, now) {
            Ok(grant) => {
                assert_eq!(status, 200);
                check(&grant, &scope, "umcharderwijk", now, text);
                assert!(grant.refresh_token.is_some(), "rotation: always a new one");
            }
            Err(RefreshError::StartNewFlow) => {
                assert!(matches!(status, 400 | 401));
                assert!(text.contains("invalid_grant"));
            }
            Err(_) => {}
        }
    }
});
