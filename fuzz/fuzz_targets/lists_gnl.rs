#![no_main]
//! Fuzz target: the Gegevensdienstnamenlijst parser never panics, and every list it accepts
//! round-trips through serialization (MedMij LISTS-7).

use libfuzzer_sys::fuzz_target;
use medmij_lists::Gegevensdienstnamenlijst;

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = Gegevensdienstnamenlijst::from_bytes(data) {
        let again = Gegevensdienstnamenlijst::from_bytes(list.to_xml().as_bytes()).expect("serialized GNL parses");
        assert_eq!(again, list);
        for e in list.entries() {
            assert_eq!(list.get(e.id().as_str()), Some(e));
        }
    }
});
