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
