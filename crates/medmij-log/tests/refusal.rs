//! Aggregated refusals written to a log (MedMij OAUTH-14, LOG-1): a flood
//! from one source costs a bounded number of entries, and another source's
//! refusal is still logged on its own.

mod common;

use std::time::Duration;

use common::*;
use medmij_log::*;

mod oauth_14 {
    use super::*;

    #[test]
    fn a_flood_costs_a_bounded_number_of_log_entries() {
        let dir = temp_dir("refusal-flood");
        let path = dir.join("audit.jsonl");
        let mut c = config();
        c.fsync = false;
        let (log, _) = FileLog::open(&path, c, t(1_000)).unwrap();
        let mut agg = RefusalAggregator::new(RefusalConfig::default());
        let mut n = 0u64;
        let mut append = |s: RefusalSummary| {
            n += 1;
            log.append(&s.to_event(format!("refusal-{n}"), "za.example.nl"))
                .unwrap();
        };
        let start = t(10_000);
        // 100,000 refused handshakes from one address in 120 s, and one
        // from another address.
        for i in 0..100_000u64 {
            let now = start + Duration::from_micros(i * 1_200);
            if let Some(s) = agg.record("192.168.1.10", "tls.handshake", now) {
                append(s);
            }
            if i == 30_000
                && let Some(s) = agg.record("203.0.113.5", "tls.handshake", now)
            {
                append(s);
            }
            if i % 10_000 == 0 {
                agg.due(now).into_iter().for_each(&mut append);
            }
        }
        agg.drain().into_iter().for_each(&mut append);
        let events = log.query(&Query::default()).unwrap();
        assert!(events.len() <= 3, "{} entries", events.len());
        let from = |addr: &str| -> Vec<Event> {
            events
                .iter()
                .filter(|(_, e)| e.source.location.as_deref() == Some(addr))
                .map(|(_, e)| e.clone())
                .collect()
        };
        let flood = from("192.168.1.10");
        let total: u64 = flood
            .iter()
            .map(|e| e.object.id.parse::<u64>().unwrap())
            .sum();
        assert_eq!(total, 100_000);
        assert!(flood.iter().all(|e| e.outcome == Outcome::Refused));
        let single = from("203.0.113.5");
        assert_eq!(single.len(), 1);
        assert_eq!(single[0].object.id, "1");
        log.verify().unwrap();
    }
}
