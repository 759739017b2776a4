#![no_main]
//! Fuzz target: the Zorgaanbiederslijst parser never panics, and every list it accepts
//! round-trips through serialization (MedMij LISTS-7).

use libfuzzer_sys::fuzz_target;
use medmij_lists::Zorgaanbiederslijst;

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = Zorgaanbiederslijst::from_bytes(data) {
        // A valid list serializes to a document that parses to the same list.
        let again = Zorgaanbiederslijst::from_bytes(list.to_xml().as_bytes()).expect("serialized ZAL parses");
        assert_eq!(again, list);
        for z in list.zorgaanbieders() {
            // The two-argument lookups are the 1.x ones (MedMij LISTS-15):
            // in a release2 ZAL, the one implicit Interfaceversie.
            for v in z.interfaceversies().iter().filter(|v| v.is_implicit()) {
                for g in v.gegevensdiensten() {
                    let found = list.gegevensdienst(z.naam().as_str(), g.id().as_str()).expect("lookup");
                    assert_eq!(found, g);
                    for s in g.systeemrollen() {
                        assert_eq!(
                            list.resource_endpoint(z.naam().as_str(), g.id().as_str(), s.code().as_str()),
                            Some(s.resource_endpoint())
                        );
                    }
                }
            }
        }
    }
});
