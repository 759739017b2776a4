//! medmij-log: the line parser and verifier on arbitrary bytes must never
//! panic; what verifies must also be queryable, with the same events.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medmij_log::{Entry, Query, Trust, Verifier, query_reader, verify_reader};

fuzz_target!(|data: &[u8]| {
    let mut events = 0u64;
    let verified = verify_reader(data, Trust::Embedded, |e| {
        if matches!(e, Entry::Event { .. }) {
            events += 1;
        }
    });
    // The fast path gives the same verdict.
    let fast = medmij_log::verify_only(data, Trust::Embedded);
    assert_eq!(fast, verified);
    if let Ok(report) = &verified {
        assert_eq!(report.events, events);
        let all = query_reader(data, Trust::Embedded, &Query::default()).expect("verified, so queryable");
        assert_eq!(all.len() as u64, events);
    }
    // Line by line, without the reader.
    let mut v = Verifier::new(Trust::Embedded);
    for line in data.split(|b| *b == b'\n') {
        if v.line(line).is_err() {
            break;
        }
    }
});
