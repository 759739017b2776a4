//! The PGO client's parsers (MedMij OAUTH-1, OAUTH-2, OAUTH-5,
//! OAUTH-6, OAUTH-7, OAUTH-10): the redirect back from the AS
//! and the token response. Never panics; a code is only accepted with the right `state`; a
//! grant always has the requested scope and a canonical token.
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

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let client = Client::with_random(
        ClientId::new("pgo.example.nl").unwrap(),
        "https://pgo.example.nl/cb",
        Fixed,
    )
    .unwrap();
    let scope = Scope::parse("umcharderwijk~1", ScopeForm::Single).unwrap();
    let (_, pending) = client
        .start("https://za.example.nl/authorize", "https://za.example.nl/token", scope.clone())
        .unwrap();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    if mode & 1 == 0 {
        if let Ok(got) = pending.handle_redirect(text, now) {
            assert!(text.contains(pending.state().as_str()));
            assert_eq!(got.code.to_string().len(), 36);
        }
    } else {
        let status = [200u16, 400, 401, 500][usize::from(mode >> 1) % 4];
        if let Ok(grant) = pending.parse_token_response(status, text, now) {
            assert_eq!(status, 200);
            assert!(grant.scope.same_as(&scope));
            assert_eq!(grant.expires_at, now + LIFETIME);
            assert!(AccessToken::parse(&grant.token.to_string()).is_some());
        }
    }
});
