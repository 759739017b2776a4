//! medmij-consent: the two documents another party hands in. A dossier
//! export from another PGO (`portability::DossierExport::from_json` and
//! `portability::import`, MedMij CONSENT-7) and a consent-evidence export
//! (`evidence::verify_export`, MedMij CONSENT-5) never panic on arbitrary
//! bytes; an export that imports re-exports and imports again to the same
//! per-item verdicts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medmij_consent::evidence::verify_export;
use medmij_consent::portability::{DossierExport, export, import};
use std::time::{Duration, UNIX_EPOCH};

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = DossierExport::from_json(data) {
        if let Ok(report) = import(&doc) {
            let again = export(&report.dossier, UNIX_EPOCH + Duration::from_secs(1));
            let back = DossierExport::from_json(again.to_json().as_bytes())
                .expect("a re-export reads back");
            let second = import(&back).expect("a re-export imports");
            let mut first: Vec<_> = report.items.clone();
            let mut then: Vec<_> = second.items.clone();
            first.sort_by(|a, b| a.0.cmp(&b.0));
            then.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(first, then, "verdicts survive a second move");
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = verify_export(text, None);
    }
});
