//! The FHIR BSN guard (MedMij OAUTH-16): never panics on any input; whatever `strip` empties,
//! `check` accepts afterwards; `check` refuses exactly when `find_bsn` reports something;
//! every finding's path leads to an identifier object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medmij_oauth::fhir::{self, FhirError};

fuzz_target!(|data: &[u8]| {
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(data) else {
        assert!(matches!(
            fhir::parse_and_check(data),
            Err(FhirError::NotJson { .. })
        ));
        return;
    };
    match fhir::find_bsn(&value) {
        Err(FhirError::TooDeep { .. }) => {
            let before = value.clone();
            assert!(fhir::strip(&mut value).is_err());
            assert_eq!(value, before, "strip leaves a too-deep payload unchanged");
        }
        Err(other) => panic!("find_bsn gave {other:?}"),
        Ok(findings) => {
            match fhir::check(&value) {
                Ok(()) => assert!(findings.is_empty()),
                Err(e) => {
                    assert_eq!(e.rule().to_string(), "OAUTH-16");
                    assert_eq!(e.findings(), &findings[..]);
                }
            }
            for f in &findings {
                let p = f.path.to_string();
                assert!(p.len() > 1 && p.starts_with('$'), "{p}");
            }
            let removed = fhir::strip(&mut value).expect("depth already checked");
            assert_eq!(removed, findings);
            assert!(
                fhir::check(&value).is_ok(),
                "stripped payload still carries a BSN"
            );
            let text = serde_json::to_vec(&value).expect("serializes");
            assert!(fhir::parse_and_check(&text).is_ok());
        }
    }
});
