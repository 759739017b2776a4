#![no_main]
//! Fuzz target: the Zorgaanbiederslijst parser never panics on release3
//! input (MedMij LISTS-15); every list it accepts round-trips through
//! serialization (MedMij LISTS-7), and the Interfaceversie lookups find
//! every entry by its exact version and by its release line.

use libfuzzer_sys::fuzz_target;
use medmij_lists::{Interface, Zorgaanbiederslijst};

fuzz_target!(|data: &[u8]| {
    let Ok(list) = Zorgaanbiederslijst::from_bytes(data) else {
        return;
    };
    let again = Zorgaanbiederslijst::from_bytes(list.to_xml().as_bytes()).expect("serialized ZAL parses");
    assert_eq!(again, list);
    for z in list.zorgaanbieders() {
        let naam = z.naam().as_str();
        assert_eq!(list.zorgaanbieder(naam), Some(z));
        for v in z.interfaceversies() {
            for g in v.gegevensdiensten() {
                let id = g.id().as_str();
                assert!(z.offers(id));
                if let Some(vid) = v.id() {
                    let (found_v, found) = list
                        .gegevensdienst_in(naam, id, Interface::Versie(vid.as_str()))
                        .expect("lookup by version");
                    assert_eq!((found_v, found), (v, g));
                }
                if let Some(line) = v.release_line() {
                    assert!(list.release_lines(naam, id).contains(line));
                    // The line lookup answers with a version of that line
                    // that lists the id, never a lower one than this.
                    let (lv, lg) = list.gegevensdienst_in(naam, id, line).expect("lookup by line");
                    assert_eq!(lv.release_line(), Some(line));
                    assert_eq!(lg.id(), g.id());
                    if let (Some(a), Some(b)) = (lv.id(), v.id()) {
                        assert!(a.cmp_version(b).is_ge());
                    }
                }
            }
        }
    }
});
