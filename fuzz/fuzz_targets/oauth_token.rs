//! Token-request parsing (MedMij OAUTH-1, OAUTH-3, OAUTH-8, OAUTH-9): any body gets a well-formed RFC 6749
//! answer; a body that does not carry the one valid code never yields a token.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medmij_oauth::*;
use std::time::{Duration, SystemTime};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else { return };
    let za = Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap();
    let config =
        ServerConfig::new().offer(za, ScopeGegevensdienstId::new("1").unwrap(), UseCase::Verzamelen);
    let pgo = ClientId::new("pgo.example.nl").unwrap();
    let ocl = StaticClientRegistry::new().with_client(pgo.clone(), None);
    let server = AuthorizationServer::new(config, ocl, MemoryStore::new());
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let out = server.token(Some(FORM_CONTENT_TYPE), body, &pgo, now);
    let json: serde_json::Value = serde_json::from_str(&out.response.body()).unwrap();
    // The store is empty: no body can produce a token.
    assert_ne!(out.response.status(), 200);
    assert!(json["error"].is_string());
    assert!(matches!(out.response.status(), 400 | 401));
});
