//! Scope parsing (MedMij OAUTH-5): never panics; a parsed scope prints back to its input and
//! obeys the form it was parsed with.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medmij_oauth::{Scope, ScopeForm};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    for form in [ScopeForm::Single, ScopeForm::Multiple] {
        if let Ok(scope) = Scope::parse(s, form) {
            assert_eq!(scope.to_string(), s);
            assert!(!scope.gegevensdiensten().is_empty());
            if form == ScopeForm::Single {
                assert_eq!(scope.gegevensdiensten().len(), 1);
            }
            let again = Scope::parse(&scope.to_string(), form).expect("round trip");
            assert_eq!(again, scope);
        }
    }
});
