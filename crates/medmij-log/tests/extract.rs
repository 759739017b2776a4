//! Verifiable extracts (MedMij LOG-5): an honest extract verifies on its
//! own; a changed, dropped or reordered entry and a forged checkpoint are
//! each detected.

mod common;

use common::*;
use ed25519_dalek::SigningKey;
use medmij_log::*;
use proptest::prelude::*;

const SUBJECTS: [&str; 3] = ["person-a", "person-b", "person-c"];

/// A log in memory: `n` events, subjects by `subject_of`, a checkpoint
/// every `every` entries and one at the end.
fn log_bytes(n: u64, every: u64, subject_of: impl Fn(u64) -> usize) -> Vec<u8> {
    let mut w = ChainWriter::new(ChainHead::EMPTY, key(), every);
    let mut out = Vec::new();
    for i in 1..=n {
        w.push_event(&event(i, SUBJECTS[subject_of(i)], t(1_000 + i)), &mut out);
    }
    w.push_checkpoint(t(5_000), CheckpointReason::Requested, None, &mut out);
    out
}

fn trust() -> Trust {
    Trust::Keys(vec![key().verifying_key()])
}

fn subject(s: &str) -> SubjectId {
    SubjectId::new(s, Domain::Pgo).unwrap()
}

fn sample() -> Extract {
    let log = log_bytes(25, 10, |i| (i % 3) as usize);
    extract_subject(
        log.as_slice(),
        trust(),
        &subject("person-b"),
        &key(),
        t(6_000),
    )
    .unwrap()
}

fn line_items(x: &Extract) -> Vec<usize> {
    x.items
        .iter()
        .enumerate()
        .filter(|(_, i)| matches!(i, ExtractItem::Line(l) if l.contains("\"event\":")))
        .map(|(k, _)| k)
        .collect()
}

/// Replaces a line's hash with the SHA-256 of its (changed) body, as a
/// careful forger would.
fn rehash(line: &str) -> String {
    use sha2::{Digest, Sha256};
    let body = &line[..line.len() - 75];
    let h: [u8; 32] = Sha256::digest(body.as_bytes()).into();
    let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
    format!("{body},\"hash\":\"{hex}\"}}")
}

mod log_5 {
    use super::*;

    #[test]
    fn honest_subject_extract_verifies_and_is_complete() {
        let log = log_bytes(25, 10, |i| (i % 3) as usize);
        let x = extract_subject(
            log.as_slice(),
            trust(),
            &subject("person-b"),
            &key(),
            t(6_000),
        )
        .unwrap();
        // Through JSON, as a receiver gets it.
        let x = Extract::from_json(&x.to_json()).unwrap();
        let r = verify_extract(&x, &trust()).unwrap();
        let expected = query_reader(
            log.as_slice(),
            trust(),
            &Query::subject(subject("person-b")),
        )
        .unwrap();
        assert_eq!(r.events, expected);
        assert_eq!(r.events.len(), 9);
        assert_eq!((r.first_seq, r.through_seq), (1, 28)); // 25 events + 3 checkpoints
        assert_eq!(r.checkpoints, 3);
        assert_eq!(r.omitted, 16);
        // No other person's data in the extract.
        let json = x.to_json();
        assert!(!json.contains("person-a") && !json.contains("person-c"));
    }

    #[test]
    fn honest_period_extract_verifies() {
        let log = log_bytes(25, 10, |i| (i % 3) as usize);
        let x = extract_period(
            log.as_slice(),
            trust(),
            t(1_005),
            t(1_012),
            &key(),
            t(6_000),
        )
        .unwrap();
        let r = verify_extract(&x, &trust()).unwrap();
        let seqs: Vec<u64> = r.events.iter().map(|(s, _)| *s).collect();
        // Events 5..=11 are entries 5..=10 and 12 (entry 11 is a checkpoint).
        assert_eq!(seqs, [5, 6, 7, 8, 9, 10, 12]);
    }

    #[test]
    fn a_changed_entry_is_detected() {
        let mut x = sample();
        let k = line_items(&x)[2];
        let ExtractItem::Line(l) = &mut x.items[k] else {
            unreachable!()
        };
        *l = l.replace("ms-", "mx-");
        assert!(matches!(
            verify_extract(&x, &trust()),
            Err(VerifyError::Altered { .. })
        ));
    }

    #[test]
    fn a_changed_entry_with_a_new_hash_is_detected() {
        let mut x = sample();
        let k = line_items(&x)[2];
        let ExtractItem::Line(l) = &mut x.items[k] else {
            unreachable!()
        };
        *l = rehash(&l.replace("ms-", "mx-"));
        // The next item's prev no longer matches.
        assert!(matches!(
            verify_extract(&x, &trust()),
            Err(VerifyError::BrokenLink { .. })
        ));
    }

    #[test]
    fn a_changed_entry_with_the_links_redone_is_detected_by_the_extract_signature() {
        let mut x = sample();
        let k = line_items(&x)[2];
        let ExtractItem::Line(l) = &x.items[k] else {
            unreachable!()
        };
        let forged = rehash(&l.replace("ms-", "mx-"));
        let new_hash = forged[forged.len() - 66..forged.len() - 2].to_owned();
        x.items[k] = ExtractItem::Line(forged);
        let ExtractItem::Omitted(next) = &mut x.items[k + 1] else {
            panic!("expected an omitted entry after a selected one")
        };
        next.prev = new_hash;
        let e = verify_extract(&x, &trust()).unwrap_err();
        assert!(
            matches!(&e, VerifyError::Extract { line: 0, reason } if reason.contains("signature")),
            "{e}"
        );
    }

    #[test]
    fn a_dropped_entry_is_detected() {
        for k in [0, 5, line_items(&sample())[3]] {
            let mut x = sample();
            x.items.remove(k);
            assert!(
                matches!(
                    verify_extract(&x, &trust()),
                    Err(VerifyError::Missing { .. })
                ),
                "dropped item {k}"
            );
        }
        // Dropping the final checkpoint leaves an unsigned end.
        let mut x = sample();
        x.items.pop();
        assert!(matches!(
            verify_extract(&x, &trust()),
            Err(VerifyError::Extract { .. })
        ));
    }

    #[test]
    fn an_extract_cut_at_an_earlier_checkpoint_is_detected() {
        // The chain alone still ends at a signed checkpoint; the extract's
        // own signature covers every item.
        let mut x = sample();
        let cp = x.items.len()
            - 2
            - x.items[..x.items.len() - 1]
                .iter()
                .rev()
                .position(|i| matches!(i, ExtractItem::Line(l) if l.contains("\"checkpoint\":")))
                .unwrap();
        x.items.truncate(cp + 1);
        let e = verify_extract(&x, &trust()).unwrap_err();
        assert!(
            matches!(&e, VerifyError::Extract { line: 0, reason } if reason.contains("signature")),
            "{e}"
        );
    }

    // MedMij LOG-5: a defect is named by its item number, omitted items
    // counted like full ones.
    #[test]
    fn a_dropped_omitted_entry_is_named_by_its_item_number() {
        // person-a has entries 3, 6, 9, ...: items 1 and 2 are omitted.
        let log = log_bytes(12, 10, |i| (i % 3) as usize);
        let x = extract_subject(
            log.as_slice(),
            trust(),
            &subject("person-a"),
            &key(),
            t(6_000),
        )
        .unwrap();
        assert!(matches!(&x.items[0], ExtractItem::Omitted(o) if o.seq == 1));
        assert!(matches!(&x.items[1], ExtractItem::Omitted(o) if o.seq == 2));
        let mut bad = x.clone();
        bad.items.remove(0);
        assert_eq!(
            verify_extract(&bad, &trust()).unwrap_err(),
            VerifyError::Missing {
                line: 1,
                expected: 1,
                found: 2
            }
        );
        let mut bad = x.clone();
        bad.items.remove(1);
        assert_eq!(
            verify_extract(&bad, &trust()).unwrap_err(),
            VerifyError::Missing {
                line: 2,
                expected: 2,
                found: 3
            }
        );
    }

    // MedMij LOG-5: the extract of a pruned log (LOG-3) covers it from the
    // entry right after its anchor; the anchor is item 1 when a defect is
    // named.
    #[test]
    fn a_pruned_logs_extract_starts_right_after_its_anchor() {
        let (last, head) = (41, [7; 32]);
        let w0 = ChainWriter::new(ChainHead::EMPTY, key(), 1000);
        let mut log = w0.anchor_line(last, &head, t(900), t(950));
        let mut w = ChainWriter::new(
            ChainHead {
                seq: last,
                hash: head,
                since_checkpoint: 0,
            },
            key(),
            1000,
        );
        for i in 1..=6 {
            w.push_event(
                &event(i, SUBJECTS[(i % 3) as usize], t(1_000 + i)),
                &mut log,
            );
        }
        w.push_checkpoint(t(2_000), CheckpointReason::Requested, None, &mut log);
        let x = extract_subject(
            log.as_slice(),
            trust(),
            &subject("person-a"),
            &key(),
            t(6_000),
        )
        .unwrap();
        let r = verify_extract(&x, &trust()).unwrap();
        assert_eq!(r.anchor.as_ref().map(|a| a.seq), Some(last));
        assert_eq!((r.first_seq, r.through_seq), (last + 1, last + 7));
        let seqs: Vec<u64> = r.events.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, [last + 3, last + 6]);
        // Cut short after an event: named at its last item, the anchor
        // counted.
        let mut bad = x.clone();
        bad.items.pop();
        let e = verify_extract(&bad, &trust()).unwrap_err();
        assert!(
            matches!(&e, VerifyError::Extract { line, reason } if *line == bad.items.len() as u64 + 1 && reason.contains("checkpoint")),
            "{e:?}"
        );
        // Items 2 and 3 (entries 42 and 43) are omitted; drop the first.
        let mut bad = x.clone();
        bad.items.remove(0);
        assert_eq!(
            verify_extract(&bad, &trust()).unwrap_err(),
            VerifyError::Missing {
                line: 2,
                expected: last + 1,
                found: last + 2
            }
        );
    }

    // MedMij LOG-5: an entry given in full that is not in the selection is
    // named by its item number.
    #[test]
    fn an_unselected_entry_in_full_is_named_by_its_item_number() {
        let log = log_bytes(25, 10, |i| (i % 3) as usize);
        let mut x = sample();
        let k = x
            .items
            .iter()
            .position(|i| matches!(i, ExtractItem::Omitted(_)))
            .unwrap();
        let full = String::from_utf8(log)
            .unwrap()
            .lines()
            .nth(k)
            .unwrap()
            .to_owned();
        x.items[k] = ExtractItem::Line(full);
        let e = verify_extract(&x, &trust()).unwrap_err();
        assert!(
            matches!(&e, VerifyError::Extract { line, reason } if *line == k as u64 + 1 && reason.contains("not in the selection")),
            "{e:?}"
        );
        // And an extract cut short after an event is named at its last item.
        let mut x = sample();
        x.items.pop();
        let e = verify_extract(&x, &trust()).unwrap_err();
        assert!(
            matches!(&e, VerifyError::Extract { line, reason } if *line == x.items.len() as u64 && reason.contains("checkpoint")),
            "{e:?}"
        );
    }

    // MedMij LOG-5: an extract is made only from a log that verifies; a
    // torn last line is named by its line number and offset.
    #[test]
    fn a_torn_log_is_refused_naming_the_torn_line() {
        let mut log = log_bytes(12, 10, |i| (i % 3) as usize);
        let lines = log.iter().filter(|&&b| b == b'\n').count() as u64;
        let good = log.len() as u64;
        let torn = b"{\"seq\":15,\"prev\":";
        log.extend_from_slice(torn);
        match extract_subject(
            log.as_slice(),
            trust(),
            &subject("person-a"),
            &key(),
            t(6_000),
        ) {
            Err(LogError::Corrupt {
                error:
                    VerifyError::TornTail {
                        line,
                        bytes,
                        offset,
                    },
                ..
            }) => assert_eq!((line, bytes, offset), (lines + 1, torn.len() as u64, good)),
            other => panic!("expected a torn tail, got {other:?}"),
        }
    }

    #[test]
    fn a_reordered_entry_is_detected() {
        let mut x = sample();
        let k = line_items(&x)[1];
        x.items.swap(k, k + 1);
        assert!(matches!(
            verify_extract(&x, &trust()),
            Err(VerifyError::Missing { .. } | VerifyError::OutOfOrder { .. })
        ));
    }

    #[test]
    fn a_forged_checkpoint_is_detected() {
        // A changed note, hash redone: the signature no longer holds.
        let mut x = sample();
        let last = x.items.len() - 1;
        let ExtractItem::Line(l) = &x.items[last] else {
            unreachable!()
        };
        x.items[last] =
            ExtractItem::Line(rehash(&l.replace("\"note\":null", "\"note\":\"all fine\"")));
        assert!(matches!(
            verify_extract(&x, &trust()),
            Err(VerifyError::BadSignature { .. })
        ));
        // A checkpoint signed with another key: not trusted.
        let log = log_bytes(25, 10, |i| (i % 3) as usize);
        let other = SigningKey::from_bytes(&[9; 32]);
        let v = verify_reader(log.as_slice(), trust(), |_| {}).unwrap();
        let mut w = ChainWriter::new(v.chain_head(), other.clone(), 1000);
        let mut forged = log.clone();
        w.push_event(&event(99, "person-b", t(1_200)), &mut forged);
        w.push_checkpoint(t(6_000), CheckpointReason::Requested, None, &mut forged);
        let x = extract_subject(
            forged.as_slice(),
            Trust::Embedded,
            &subject("person-b"),
            &key(),
            t(6_000),
        )
        .unwrap();
        assert!(matches!(
            verify_extract(&x, &trust()),
            Err(VerifyError::UntrustedKey { .. })
        ));
    }

    #[test]
    fn an_unselected_entry_in_full_is_refused() {
        let log = log_bytes(25, 10, |i| (i % 3) as usize);
        let mut x = sample();
        let k = x
            .items
            .iter()
            .position(|i| matches!(i, ExtractItem::Omitted(_)))
            .unwrap();
        let full = String::from_utf8(log)
            .unwrap()
            .lines()
            .nth(k)
            .unwrap()
            .to_owned();
        x.items[k] = ExtractItem::Line(full);
        assert!(matches!(
            verify_extract(&x, &trust()),
            Err(VerifyError::Extract { .. })
        ));
    }

    #[test]
    fn an_extract_signed_with_another_key_is_refused() {
        let log = log_bytes(12, 10, |i| (i % 3) as usize);
        let other = SigningKey::from_bytes(&[9; 32]);
        let x = extract_subject(
            log.as_slice(),
            trust(),
            &subject("person-a"),
            &other,
            t(6_000),
        )
        .unwrap();
        assert!(matches!(
            verify_extract(&x, &trust()),
            Err(VerifyError::Extract { line: 0, .. })
        ));
    }

    #[test]
    fn selected_entries_after_the_last_checkpoint_are_refused() {
        let mut w = ChainWriter::new(ChainHead::EMPTY, key(), 5);
        let mut out = Vec::new();
        for i in 1..=7 {
            w.push_event(&event(i, "person-a", t(1_000 + i)), &mut out);
        }
        assert!(matches!(
            extract_subject(
                out.as_slice(),
                trust(),
                &subject("person-a"),
                &key(),
                t(6_000)
            ),
            Err(LogError::Unsigned { seq: 7 })
        ));
    }

    #[test]
    fn file_log_extract_covers_everything_written_and_survives_pruning() {
        let dir = temp_dir("extract-file");
        let path = dir.join("audit.jsonl");
        let (log, _) = FileLog::open(&path, config(), t(1_000)).unwrap();
        let month = 31 * 24 * 3600;
        for i in 1..=30u64 {
            // Entries 1..=15 are old, 16..=30 recent.
            let when = if i <= 15 {
                t(1_000 + i)
            } else {
                t(20 * month + i)
            };
            log.append(&event(i, SUBJECTS[(i % 2) as usize], when))
                .unwrap();
        }
        log.prune(Retention::months(12).unwrap(), t(20 * month + 100))
            .unwrap();
        let x = log
            .extract(
                &Selection::subject(subject("person-b")),
                t(20 * month + 200),
            )
            .unwrap();
        let r = verify_extract(&x, &trust()).unwrap();
        assert!(r.anchor.is_some());
        assert!(r.first_seq > 1);
        let expected = log.query(&Query::subject(subject("person-b"))).unwrap();
        assert_eq!(r.events, expected);
        assert!(!expected.is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Over random logs and selections: the honest extract verifies and
        /// holds exactly what a query over the whole log finds; dropping,
        /// swapping or changing one item is detected.
        #[test]
        fn honest_extracts_verify_and_tampering_is_detected(
            subjects in proptest::collection::vec(0usize..3, 1..60),
            every in 1u64..12,
            by_subject in any::<bool>(),
            who in 0usize..3,
            from in 0u64..60,
            len in 0u64..60,
            tamper in 0u8..3,
            at in any::<prop::sample::Index>(),
        ) {
            let n = subjects.len() as u64;
            let log = log_bytes(n, every, |i| subjects[(i - 1) as usize]);
            let (sel, q) = if by_subject {
                (Selection::subject(subject(SUBJECTS[who])), Query::subject(subject(SUBJECTS[who])))
            } else {
                let (f, u) = (t(1_000 + from), t(1_000 + from + len));
                (Selection::period(f, u), Query::default().between(f, u))
            };
            let x = extract(log.as_slice(), trust(), &sel, &key(), t(9_000)).unwrap();
            let r = verify_extract(&x, &trust()).unwrap();
            prop_assert_eq!(&r.events, &query_reader(log.as_slice(), trust(), &q).unwrap());

            let mut bad = x.clone();
            let k = at.index(bad.items.len());
            match tamper {
                0 => { bad.items.remove(k); }
                1 => {
                    let j = (k + 1) % bad.items.len();
                    prop_assume!(j != k);
                    bad.items.swap(k, j);
                }
                _ => match &mut bad.items[k] {
                    ExtractItem::Line(l) => *l = l.replacen("\"seq\":", "\"seq\": ", 1).replace("fhir.read", "fhir.eras"),
                    ExtractItem::Omitted(o) => o.hash = o.hash.replace('a', "b").replace('0', "1"),
                    other => panic!("an extract item this test does not know: {other:?}"),
                },
            }
            prop_assume!(bad != x);
            prop_assert!(verify_extract(&bad, &trust()).is_err());
        }
    }
}
