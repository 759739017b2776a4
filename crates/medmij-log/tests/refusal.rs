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

    // MedMij OAUTH-14: a window closes exactly `window` after its first
    // refusal; `due` hands it back then, not before, and forgets it.
    #[test]
    fn due_closes_a_window_at_its_end() {
        let mut agg = RefusalAggregator::new(RefusalConfig {
            window: Duration::from_secs(10),
            max_sources: 100,
        });
        assert!(agg.record("192.0.2.1", "tls.handshake", t(100)).is_none());
        assert!(agg.record("192.0.2.1", "tls.handshake", t(105)).is_none());
        assert_eq!(agg.open_windows(), 1);
        assert!(agg.due(t(109)).is_empty());
        assert_eq!(agg.open_windows(), 1);
        let out = agg.due(t(110));
        assert_eq!(
            out,
            [RefusalSummary {
                source: "192.0.2.1".into(),
                kind: "tls.handshake".into(),
                count: 2,
                first: t(100),
                last: t(105),
            }]
        );
        assert_eq!(agg.open_windows(), 0);
        assert!(agg.drain().is_empty());
    }

    // MedMij OAUTH-14: with the table of sources full, a source that already
    // has an open window keeps counting in it; only new sources go to the
    // overflow.
    #[test]
    fn a_source_with_an_open_window_is_not_sent_to_the_overflow() {
        let mut agg = RefusalAggregator::new(RefusalConfig {
            window: Duration::from_secs(60),
            max_sources: 2,
        });
        for (src, at) in [
            ("192.0.2.1", 1),
            ("192.0.2.2", 2),
            ("192.0.2.1", 3),
            ("192.0.2.3", 4),
            ("192.0.2.1", 5),
        ] {
            assert!(agg.record(src, "oauth.unknown_client", t(at)).is_none());
        }
        assert_eq!(agg.open_windows(), 3);
        let counts: Vec<(String, u64)> = agg
            .drain()
            .into_iter()
            .map(|s| (s.source, s.count))
            .collect();
        assert_eq!(
            counts,
            [
                ("192.0.2.1".to_owned(), 3),
                ("192.0.2.2".to_owned(), 1),
                (OVERFLOW_SOURCE.to_owned(), 1)
            ]
        );
    }
}
