#![no_main]
//! Fuzz target: the Whitelist parser never panics, and every list it accepts
//! round-trips through serialization (MedMij LISTS-7).

use libfuzzer_sys::fuzz_target;
use medmij_lists::Whitelist;

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = Whitelist::from_bytes(data) {
        let again = Whitelist::from_bytes(list.to_xml().as_bytes()).expect("serialized WHL parses");
        assert_eq!(again, list);
        for h in list.nodes() {
            assert!(list.contains(h.as_str()));
            assert!(list.contains(&h.as_str().to_ascii_uppercase()));
        }
    }
    // Any input: parse_any agrees with the specific parser or names another list.
    let _ = medmij_lists::parse_any(data, &medmij_lists::ParseOptions::default());
});
