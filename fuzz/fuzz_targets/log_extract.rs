//! medmij-log: an extract (MedMij LOG-5) and a chain event (MedMij LOG-6)
//! read from arbitrary bytes must never panic; a chain event that reads
//! writes back to the same JSON, and free text with a UUID is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medmij_log::{ChainEvent, ErrorText, Extract, Trust, verify_extract};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(x) = Extract::from_json(text) {
        let _ = verify_extract(&x, &Trust::Embedded);
    }
    if let Ok(e) = ChainEvent::from_json(text) {
        assert_eq!(ChainEvent::from_json(&e.to_json()).as_ref(), Ok(&e));
    }
    // Free text with a UUID in it is never accepted.
    if ErrorText::new(text).is_ok() {
        let lower = text.to_ascii_lowercase();
        assert!(!lower.contains("0d6f3c1e-8a51-4f7e-9d0a-2b3c4d5e6f70"));
    }
    let _ = ErrorText::new(&format!("{text} 0d6f3c1e-8a51-4f7e-9d0a-2b3c4d5e6f70"))
        .expect_err("a UUID in free text is refused");
});
