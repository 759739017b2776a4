//! Bearer-header parsing (MedMij OAUTH-2, OAUTH-6, RFC 6750 2.1): never panics; accepts only
//! `Bearer` + one canonical lowercase UUID v4, which prints back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medmij_oauth::parse_bearer;

fuzz_target!(|data: &[u8]| {
    let Ok(h) = std::str::from_utf8(data) else { return };
    if let Some(t) = parse_bearer(h) {
        let text = t.to_string();
        assert_eq!(text.len(), 36);
        assert!(h.ends_with(&text));
        assert!(h[..6].eq_ignore_ascii_case("bearer"));
        assert_eq!(text, text.to_ascii_lowercase());
        assert_eq!(&text[14..15], "4");
    }
});
