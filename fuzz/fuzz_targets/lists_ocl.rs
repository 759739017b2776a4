#![no_main]
//! Fuzz target: the OAuthclientlist parser never panics, and every list it accepts
//! round-trips through serialization (MedMij LISTS-7).

use libfuzzer_sys::fuzz_target;
use medmij_lists::OAuthclientlist;

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = OAuthclientlist::from_bytes(data) {
        let again = OAuthclientlist::from_bytes(list.to_xml().as_bytes()).expect("serialized OCL parses");
        assert_eq!(again, list);
        for c in list.clients() {
            assert_eq!(list.get(&c.hostname().as_str().to_ascii_uppercase()), Some(c));
        }
    }
});
