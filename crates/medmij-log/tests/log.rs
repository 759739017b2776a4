//! The event model, the hash chain, checkpoints, retention and queries
//! (MedMij LOG-1, LOG-3, LOG-4).

mod common;

use std::io::Write;
use std::time::Duration;

use common::*;
use ed25519_dalek::SigningKey;
use medmij_log::*;
use proptest::prelude::*;

fn write_log(name: &str, n: u64) -> (std::path::PathBuf, FileLog) {
    let dir = temp_dir(name);
    let path = dir.join("audit.jsonl");
    let (log, _) = FileLog::open(&path, config(), t(1_000)).unwrap();
    for i in 1..=n {
        log.append(&event(
            i,
            if i % 2 == 0 { "person-a" } else { "person-b" },
            t(1_000 + i),
        ))
        .unwrap();
    }
    (path, log)
}

fn verify(path: &std::path::Path) -> Result<VerifyReport, VerifyError> {
    verify_reader(
        std::fs::read(path).unwrap().as_slice(),
        Trust::Keys(vec![key().verifying_key()]),
        |_| {},
    )
}

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &std::path::Path, lines: &[String]) {
    let mut s = lines.join("\n");
    s.push('\n');
    std::fs::write(path, s).unwrap();
}

fn sha_hex(b: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(b)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

mod log_1 {
    use super::*;

    // MedMij LOG-1: NEN 7513 fields, JSON lines, fixed field order.
    #[test]
    fn entries_are_json_lines_with_fixed_field_order() {
        let (path, _log) = write_log("order", 1);
        let l = &lines(&path)[0];
        let keys = [
            "\"seq\":1,",
            "\"prev\":\"",
            "\"event\":{\"id\":\"ev-1\"",
            "\"type\":",
            "\"action\":\"R\"",
            "\"time\":\"1970-01-01T00:16:41.000000Z\"",
            "\"actor\":{\"id\":",
            "\"kind\":\"system\"",
            "\"role\":",
            "\"on_behalf_of\":",
            "\"subject\":\"person-b\"",
            "\"object\":{\"type\":",
            "\"source\":{\"system\":",
            "\"location\":",
            "\"outcome\":\"success\"",
            "\"detail\":null",
            "\"hash\":\"",
        ];
        let mut at = 0;
        for k in keys {
            let i = l[at..]
                .find(k)
                .unwrap_or_else(|| panic!("{k} not after byte {at} in {l}"));
            at += i + k.len();
        }
        assert!(l.starts_with(
            "{\"seq\":1,\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\""
        ));
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["event"]["subject"], "person-b");
    }

    // MedMij LOG-1: signed checkpoints every N entries, the chain verifies.
    #[test]
    fn chain_and_checkpoints_verify() {
        let (path, log) = write_log("verify", 25);
        let r = log.verify().unwrap();
        assert_eq!((r.events, r.checkpoints), (25, 2)); // after 10 and 20 events
        assert_eq!(r.last_seq, Some(27));
        assert_eq!(r.unsigned_tail, 5);
        assert_eq!(r.last_checkpoint, Some(22));
        log.checkpoint(t(9_999)).unwrap();
        let r = verify(&path).unwrap();
        assert_eq!((r.unsigned_tail, r.last_checkpoint), (0, Some(28)));
        // Another key is not trusted.
        let other = SigningKey::from_bytes(&[1; 32]).verifying_key();
        let e = verify_reader(
            std::fs::read(&path).unwrap().as_slice(),
            Trust::Keys(vec![other]),
            |_| {},
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                VerifyError::UntrustedKey {
                    line: 11,
                    seq: 11,
                    ..
                }
            ),
            "{e:?}"
        );
        // Embedded trust checks integrity only.
        assert!(
            verify_reader(
                std::fs::read(&path).unwrap().as_slice(),
                Trust::Embedded,
                |_| {}
            )
            .is_ok()
        );
    }

    // MedMij LOG-1: verify reports the first altered, missing or reordered entry.
    #[test]
    fn tampering_is_reported_at_the_first_broken_entry() {
        let (path, log) = write_log("tamper", 15);
        drop(log);
        let orig = lines(&path);

        // Altered content, hash left as it was.
        let mut l = orig.clone();
        l[4] = l[4].replace("person-b", "person-c");
        write_lines(&path, &l);
        assert_eq!(
            verify(&path).unwrap_err(),
            VerifyError::Altered { line: 5, seq: 5 }
        );

        // Altered content with its hash recomputed: the next entry no longer links.
        let mut l = orig.clone();
        let body = l[4].replace("person-b", "person-c");
        let body = &body[..body.len() - 75];
        let h = sha_hex(body.as_bytes());
        l[4] = format!("{body},\"hash\":\"{h}\"}}");
        write_lines(&path, &l);
        assert_eq!(
            verify(&path).unwrap_err(),
            VerifyError::BrokenLink { line: 6, seq: 6 }
        );

        // A removed entry.
        let mut l = orig.clone();
        l.remove(6);
        write_lines(&path, &l);
        assert_eq!(
            verify(&path).unwrap_err(),
            VerifyError::Missing {
                line: 7,
                expected: 7,
                found: 8
            }
        );

        // Two entries swapped.
        let mut l = orig.clone();
        l.swap(2, 3);
        write_lines(&path, &l);
        assert_eq!(
            verify(&path).unwrap_err(),
            VerifyError::Missing {
                line: 3,
                expected: 3,
                found: 4
            }
        );

        // The first entry removed.
        let mut l = orig.clone();
        l.remove(0);
        write_lines(&path, &l);
        assert_eq!(
            verify(&path).unwrap_err(),
            VerifyError::Missing {
                line: 1,
                expected: 1,
                found: 2
            }
        );

        // Rewriting the whole chain without the key: the checkpoint signature fails.
        let mut l = orig.clone();
        let mut prev = "0".repeat(64);
        for (i, line) in l.iter_mut().enumerate() {
            let mut body = line[..line.len() - 75].to_string();
            body.replace_range(
                body.find("\"prev\":\"").unwrap() + 8..body.find("\"prev\":\"").unwrap() + 72,
                &prev,
            );
            if i == 2 {
                body = body.replace("person-b", "person-c");
            }
            let h = sha_hex(body.as_bytes());
            *line = format!("{body},\"hash\":\"{h}\"}}");
            prev = h;
        }
        write_lines(&path, &l);
        assert_eq!(
            verify(&path).unwrap_err(),
            VerifyError::BadSignature { line: 11, seq: 11 }
        );

        // Garbage.
        let mut l = orig.clone();
        l[1] = "{\"seq\":2,\"prev\":\"zz\"}".into();
        write_lines(&path, &l);
        assert!(matches!(
            verify(&path).unwrap_err(),
            VerifyError::Malformed { line: 2, .. }
        ));
    }

    // Crash repair: an incomplete last line is cut off, kept in <log>.torn, and
    // recorded in the chain; nothing is silently dropped.
    #[test]
    fn torn_tail_is_detected_and_repaired() {
        let (path, log) = write_log("torn", 3);
        drop(log);
        let good_len = std::fs::metadata(&path).unwrap().len();
        let torn = b"{\"seq\":4,\"prev\":\"abc";
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(torn)
            .unwrap();
        assert!(
            matches!(verify(&path).unwrap_err(), VerifyError::TornTail { line: 4, bytes, offset } if offset == good_len && bytes == torn.len() as u64)
        );
        let (log, report) = FileLog::open(&path, config(), t(2_000)).unwrap();
        let rep = report.repaired.expect("the torn tail is reported");
        assert_eq!(
            (rep.line, rep.bytes, rep.offset),
            (4, torn.len() as u64, good_len)
        );
        assert_eq!(std::fs::read(&rep.saved_to).unwrap(), torn);
        assert_eq!(rep.checkpoint_seq, 4);
        let seq = log.append(&event(4, "person-a", t(2_001))).unwrap();
        assert_eq!(seq, 5);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"reason\":\"repair\""));
        assert!(text.contains("torn tail repaired: 20 bytes of line 4"));
        assert_eq!(log.verify().unwrap().events, 4);
        // A broken entry in the middle is not "repaired": opening refuses.
        drop(log);
        let mut l = lines(&path);
        l[1] = l[1].replace("person-a", "person-x");
        write_lines(&path, &l);
        assert!(matches!(
            FileLog::open(&path, config(), t(3_000)),
            Err(LogError::Corrupt {
                error: VerifyError::Altered { line: 2, .. },
                ..
            })
        ));
    }

    // Queries: all events of one person, by time range.
    #[test]
    fn queries_by_subject_and_time() {
        let (_path, log) = write_log("query", 30);
        let a = SubjectId::new("person-a", Domain::Pgo).unwrap();
        let all_a = log.query(&Query::subject(a.clone())).unwrap();
        assert_eq!(all_a.len(), 15);
        assert!(all_a.iter().all(|(_, e)| e.subject.as_ref() == Some(&a)));
        let some = log
            .query(&Query::subject(a).between(t(1_010), t(1_020)))
            .unwrap();
        let ids: Vec<&str> = some.iter().map(|(_, e)| e.id.as_str()).collect();
        assert_eq!(ids, ["ev-10", "ev-12", "ev-14", "ev-16", "ev-18"]);
        let everyone = log
            .query(&Query::default().between(t(1_029), t(2_000)))
            .unwrap();
        assert_eq!(everyone.len(), 2);
    }

    // Group commit: many threads, every sequence number once, the chain verifies.
    #[test]
    fn concurrent_appends_form_one_chain() {
        let (path, log) = write_log("threads", 0);
        let log = std::sync::Arc::new(log);
        let handles: Vec<_> = (0..8)
            .map(|th| {
                let log = log.clone();
                std::thread::spawn(move || {
                    (0..50)
                        .map(|i| {
                            log.append(&event(th * 1000 + i, "person-a", t(10_000)))
                                .unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seqs: Vec<u64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        seqs.sort_unstable();
        seqs.dedup();
        assert_eq!(seqs.len(), 400);
        let r = verify(&path).unwrap();
        assert_eq!(r.events, 400);
        assert_eq!(r.checkpoints, 40);
        let batch: Vec<Event> = (0..5)
            .map(|i| event(90_000 + i, "person-b", t(10_001)))
            .collect();
        let s = log.append_batch(&batch).unwrap();
        assert_eq!(s.len(), 5);
        assert!(s.windows(2).all(|w| w[1] > w[0]));
    }

    // MedMij LOG-1: a log named without a directory lives in the current
    // directory: it is created, written, pruned (its directory synced each
    // time) and verified there.
    #[test]
    fn a_log_named_without_a_directory_lives_in_the_current_directory() {
        let dir = temp_dir("cwd");
        // Every other test here uses absolute paths.
        std::env::set_current_dir(&dir).unwrap();
        let name = std::path::Path::new("audit-here.jsonl");
        let (log, _) = FileLog::open(name, config(), t(1_000)).unwrap();
        log.append(&event(1, "person-a", t(1_001))).unwrap();
        log.append(&event(2, "person-a", t(40_000_000))).unwrap();
        let r = log
            .prune(Retention::months(12).unwrap(), t(40_000_001))
            .unwrap();
        assert_eq!(r.removed_through_seq, Some(1));
        assert_eq!(log.verify().unwrap().events, 1);
        drop(log);
        assert!(dir.join("audit-here.jsonl").exists());
        let (log, _) = FileLog::open(name, config(), t(40_000_002)).unwrap();
        assert_eq!(log.query(&Query::default()).unwrap().len(), 1);
    }

    // MedMij LOG-1: other crates log through `&dyn AuditSink` (and an async
    // handle through `BatchSink`); appends through them are checked,
    // numbered and stored like direct ones.
    #[test]
    fn appends_through_the_sink_traits_are_checked_numbered_and_stored() {
        let (_path, log) = write_log("sinks", 2);
        let sink: &dyn AuditSink = &log;
        assert_eq!(sink.append(&event(3, "person-a", t(2_000))).unwrap(), 3);
        let batch: &dyn BatchSink = &log;
        let mut bad = event(4, "person-a", t(2_001));
        bad.actor.on_behalf_of = Some("123456782".into());
        assert!(matches!(
            batch.check(&bad),
            Err(LogError::Event(EventError {
                rule: medmij_types::RuleId::Log4,
                ..
            }))
        ));
        assert!(batch.check(&event(4, "person-a", t(2_001))).is_ok());
        let two = [
            event(4, "person-a", t(2_001)),
            event(5, "person-b", t(2_002)),
        ];
        assert_eq!(batch.append_batch(&two).unwrap(), [4, 5]);
        assert!(sink.append(&bad).is_err());
        let ids: Vec<String> = log
            .query(&Query::default())
            .unwrap()
            .into_iter()
            .map(|(_, e)| e.id)
            .collect();
        assert_eq!(ids, ["ev-1", "ev-2", "ev-3", "ev-4", "ev-5"]);
    }

    /// MedMij LOG-1 (a verifiable record): two writers would fork the hash chain.
    #[test]
    fn one_writer_per_log_file() {
        let path = temp_dir("one-writer").join("audit.jsonl");
        let (first, _) = FileLog::open(&path, config(), t(1_000)).unwrap();
        first.append(&event(1, "p1", t(1_001))).unwrap();
        // A second writer (here in the same process; the lock is per open file, so
        // another process is refused the same way) is refused before it reads
        // anything, and the first one goes on undisturbed.
        match FileLog::open(&path, config(), t(1_002)) {
            Err(LogError::InUse(p)) => assert_eq!(p, path),
            other => panic!("expected InUse, got {other:?}"),
        }
        first.append(&event(2, "p1", t(1_003))).unwrap();
        assert_eq!(first.verify().unwrap().events, 2);
        // Once the first writer is gone, the log opens again.
        drop(first);
        let (again, _) = FileLog::open(&path, config(), t(1_004)).unwrap();
        assert_eq!(again.verify().unwrap().events, 2);
        // Reading needs no lock.
        let f = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
        assert!(verify_only(f, Trust::Keys(vec![key().verifying_key()])).is_ok());
    }

    /// Replaces a line's hash with the SHA-256 of its (changed) body, as a
    /// forger who knows the format but not the key would.
    fn rehash(line: &str) -> String {
        let body = &line[..line.len() - 75];
        format!("{body},\"hash\":\"{}\"}}", sha_hex(body.as_bytes()))
    }

    fn check(lines: &[String]) -> Result<VerifyReport, VerifyError> {
        let text = lines.join("\n") + "\n";
        let full = verify_reader(
            text.as_bytes(),
            Trust::Keys(vec![key().verifying_key()]),
            |_| {},
        );
        let fast = verify_only(text.as_bytes(), Trust::Keys(vec![key().verifying_key()]));
        // The fast path gives the same verdict on the same line (a serde
        // reason may name the column where the full parse stopped).
        match (&fast, &full) {
            (
                Err(VerifyError::Malformed { line: a, .. }),
                Err(VerifyError::Malformed { line: b, .. }),
            ) => assert_eq!(a, b),
            _ => assert_eq!(fast, full),
        }
        full
    }

    fn chain_lines(n: u64, every: u64) -> Vec<String> {
        let mut w = ChainWriter::new(ChainHead::EMPTY, key(), every);
        let mut buf = Vec::new();
        for i in 1..=n {
            w.push_event(&event(i, "person-a", t(1_000 + i)), &mut buf);
        }
        String::from_utf8(buf)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    // MedMij LOG-1: a checkpoint's signature covers why it was written: a
    // periodic checkpoint passed off as another kind (its hash redone) no
    // longer verifies; each kind written by the log verifies as itself.
    #[test]
    fn the_checkpoint_signature_covers_its_reason() {
        let l = chain_lines(3, 3);
        assert!(l[3].contains("\"reason\":\"periodic\""), "{}", l[3]);
        assert_eq!(check(&l).unwrap().checkpoints, 1);
        for other in ["requested", "prune", "repair"] {
            let mut forged = l.clone();
            forged[3] = rehash(&l[3].replace(
                "\"reason\":\"periodic\"",
                &format!("\"reason\":\"{other}\""),
            ));
            assert_eq!(
                check(&forged).unwrap_err(),
                VerifyError::BadSignature { line: 4, seq: 4 },
                "periodic passed off as {other}"
            );
        }
        let mut w = ChainWriter::new(ChainHead::EMPTY, key(), 1000);
        let mut buf = Vec::new();
        let reasons = [
            CheckpointReason::Periodic,
            CheckpointReason::Requested,
            CheckpointReason::Prune,
            CheckpointReason::Repair,
        ];
        for (i, r) in reasons.into_iter().enumerate() {
            w.push_event(&event(i as u64, "person-a", t(10)), &mut buf);
            w.push_checkpoint(t(11), r, Some("note"), &mut buf);
        }
        let mut seen = Vec::new();
        verify_reader(
            buf.as_slice(),
            Trust::Keys(vec![key().verifying_key()]),
            |e| {
                if let Entry::Checkpoint { checkpoint, .. } = e {
                    seen.push(checkpoint.reason);
                }
            },
        )
        .unwrap();
        assert_eq!(seen, reasons);
    }

    // MedMij LOG-1: the writer's public key is the one a reader pins; a log
    // it wrote verifies under it and not under another writer's.
    #[test]
    fn a_log_verifies_under_its_writers_public_key() {
        let w = ChainWriter::new(ChainHead::EMPTY, key(), 2);
        assert_eq!(w.verifying_key(), key().verifying_key());
        let other = ChainWriter::new(ChainHead::EMPTY, SigningKey::from_bytes(&[3; 32]), 2);
        assert_ne!(other.verifying_key(), w.verifying_key());
        let text = chain_lines(4, 2).join("\n") + "\n";
        let r = verify_only(text.as_bytes(), Trust::Keys(vec![w.verifying_key()])).unwrap();
        assert_eq!((r.events, r.checkpoints), (4, 2));
        assert!(matches!(
            verify_only(text.as_bytes(), Trust::Keys(vec![other.verifying_key()])),
            Err(VerifyError::UntrustedKey {
                line: 3,
                seq: 3,
                ..
            })
        ));
    }

    // MedMij LOG-1: one entry, one spelling. A sequence number with a leading
    // zero is not an entry, even with its hash redone (it would otherwise
    // stand for the same entry as the one written); an entry 0 is out of
    // order, not a second entry 1.
    #[test]
    fn a_sequence_number_is_written_one_way_only() {
        let l = chain_lines(3, 1000);
        assert!(check(&l).is_ok());
        for (at, from, to) in [
            (0, "{\"seq\":1,", "{\"seq\":01,"),
            (1, "{\"seq\":2,", "{\"seq\":02,"),
            (2, "{\"seq\":3,", "{\"seq\":003,"),
            (0, "{\"seq\":1,", "{\"seq\":,"),
        ] {
            let mut forged = l.clone();
            forged[at] = rehash(&l[at].replacen(from, to, 1));
            assert!(
                matches!(check(&forged), Err(VerifyError::Malformed { line, .. }) if line == at as u64 + 1),
                "{to}: {:?}",
                check(&forged)
            );
        }
        let mut forged = l.clone();
        forged[0] = rehash(&l[0].replacen("{\"seq\":1,", "{\"seq\":,", 1));
        assert_eq!(
            check(&forged).unwrap_err(),
            VerifyError::Malformed {
                line: 1,
                reason: "seq is not a number".into()
            }
        );
        let mut forged = l.clone();
        forged[0] = rehash(&l[0].replacen("{\"seq\":1,", "{\"seq\":0,", 1));
        assert_eq!(
            check(&forged).unwrap_err(),
            VerifyError::OutOfOrder {
                line: 1,
                expected: 1,
                found: 0
            }
        );
    }

    // MedMij LOG-1: a chain may run through every u64 sequence number: an
    // entry of 20 digits verifies; 21 digits is not a sequence number.
    #[test]
    fn sequence_numbers_run_to_twenty_digits() {
        let last = 10u64.pow(19) - 1; // 19 digits, the next one has 20
        let head = [7; 32];
        let w0 = ChainWriter::new(ChainHead::EMPTY, key(), 1000);
        let mut buf = w0.anchor_line(last, &head, t(1), t(2));
        let mut w = ChainWriter::new(
            ChainHead {
                seq: last,
                hash: head,
                since_checkpoint: 0,
            },
            key(),
            1000,
        );
        assert_eq!(
            w.push_event(&event(1, "person-a", t(3)), &mut buf),
            last + 1
        );
        w.push_event(&event(2, "person-a", t(4)), &mut buf);
        w.push_checkpoint(t(5), CheckpointReason::Requested, None, &mut buf);
        let l: Vec<String> = String::from_utf8(buf)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        let r = check(&l).unwrap();
        assert_eq!(
            (r.first_seq, r.last_seq, r.events, r.checkpoints),
            (Some(last + 1), Some(last + 3), 2, 1)
        );
        let mut forged = l.clone();
        forged[1] = rehash(&l[1].replacen("{\"seq\":1", "{\"seq\":10", 1));
        assert!(
            matches!(check(&forged), Err(VerifyError::Malformed { line: 2, .. })),
            "{:?}",
            check(&forged)
        );
    }

    // The report says how much was read: every line and every byte.
    #[test]
    fn the_report_counts_the_lines_and_bytes_read() {
        let (path, log) = write_log("counts", 12);
        let len = std::fs::metadata(&path).unwrap().len();
        let r = log.verify().unwrap();
        assert_eq!((r.lines, r.bytes), (13, len));
        let r = verify(&path).unwrap();
        assert_eq!((r.lines, r.bytes), (13, len));
    }

    // MedMij LOG-1: the fast check refuses what reading the events refuses:
    // an entry whose event is not well-formed (a time in another form, an
    // empty subject, a field missing), even with its hash redone.
    #[test]
    fn the_fast_check_refuses_a_malformed_event_as_reading_does() {
        let l = chain_lines(2, 1000);
        for (from, to) in [
            (
                "\"time\":\"1970-01-01T00:16:42.000000Z\"",
                "\"time\":\"1970-01-01T00:16:42Z\"",
            ),
            ("\"subject\":\"person-a\"", "\"subject\":\"\""),
            (",\"outcome\":\"success\"", ""),
        ] {
            let mut forged = l.clone();
            forged[1] = rehash(&l[1].replacen(from, to, 1));
            assert_ne!(forged[1], l[1]);
            let e = check(&forged);
            assert!(
                matches!(e, Err(VerifyError::Malformed { line: 2, .. })),
                "{to}: {e:?}"
            );
        }
    }

    // MedMij LOG-1: every text field of an event may be exactly as long as
    // its maximum, and not one byte longer.
    #[test]
    fn event_fields_may_be_exactly_their_maximum_length() {
        type Set = fn(&mut Event, String);
        let fields: [(&str, usize, Set); 10] = [
            ("id", 128, |e, v| e.id = v),
            ("type", 128, |e, v| e.event_type = v),
            ("actor.id", 256, |e, v| e.actor.id = v),
            ("actor.role", 128, |e, v| e.actor.role = Some(v)),
            ("actor.on_behalf_of", 256, |e, v| {
                e.actor.on_behalf_of = Some(v)
            }),
            ("object.type", 128, |e, v| e.object.kind = v),
            ("object.id", 256, |e, v| e.object.id = v),
            ("source.system", 256, |e, v| e.source.system = v),
            ("source.location", 256, |e, v| e.source.location = Some(v)),
            ("detail", 2048, |e, v| e.detail = Some(v)),
        ];
        for (field, max, set) in fields {
            let mut e = event(1, "person-a", t(5_000));
            set(&mut e, "a".repeat(max));
            assert_eq!(e.validate(Domain::Pgo), Ok(()), "{field} of {max} bytes");
            set(&mut e, "a".repeat(max + 1));
            let err = e.validate(Domain::Pgo).unwrap_err();
            assert_eq!(
                (err.field, err.rule),
                (field, medmij_types::RuleId::Log1),
                "{field} of {} bytes",
                max + 1
            );
        }
        assert!(SubjectId::new("a".repeat(256), Domain::Pgo).is_ok());
        let err = SubjectId::new("a".repeat(257), Domain::Pgo).unwrap_err();
        assert_eq!(err.field, "subject");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        // Any change of any single byte of a log is detected.
        #[test]
        fn any_byte_change_is_detected(n in 1u64..12, pos in any::<prop::sample::Index>(), delta in 1u8..=255) {
            let mut w = ChainWriter::new(ChainHead::EMPTY, key(), 4);
            let mut buf = Vec::new();
            for i in 0..n {
                w.push_event(&event(i, "person-a", t(i)), &mut buf);
            }
            let trust = Trust::Keys(vec![key().verifying_key()]);
            let ok = verify_reader(buf.as_slice(), trust.clone(), |_| {}).is_ok();
            prop_assert!(ok);
            let i = pos.index(buf.len());
            buf[i] = buf[i].wrapping_add(delta);
            let full = verify_reader(buf.as_slice(), trust.clone(), |_| {});
            prop_assert!(full.is_err());
            // The fast path agrees, error for error.
            prop_assert_eq!(verify_only(buf.as_slice(), trust), full);
        }

        // Dropping any line but the last is reported; dropping the last one is
        // visible as an unsigned tail shorter than before or a checkpoint gone.
        #[test]
        fn any_dropped_line_is_reported(n in 2u64..15, drop_at in any::<prop::sample::Index>()) {
            let mut w = ChainWriter::new(ChainHead::EMPTY, key(), 3);
            let mut buf = Vec::new();
            for i in 0..n {
                w.push_event(&event(i, "person-a", t(i)), &mut buf);
            }
            let text = String::from_utf8(buf).unwrap();
            let mut lines: Vec<&str> = text.lines().collect();
            let k = drop_at.index(lines.len() - 1);
            lines.remove(k);
            let joined = lines.join("\n") + "\n";
            let e = verify_reader(joined.as_bytes(), Trust::Embedded, |_| {}).unwrap_err();
            let is_missing = matches!(e, VerifyError::Missing { line, .. } if line == k as u64 + 1);
            prop_assert!(is_missing, "{:?}", e);
        }

        // The verifier never panics on arbitrary input.
        #[test]
        fn verifier_never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let full = verify_reader(data.as_slice(), Trust::Embedded, |_| {});
            prop_assert_eq!(verify_only(data.as_slice(), Trust::Embedded), full);
        }
    }
}

mod log_3 {
    use super::*;

    // MedMij LOG-3: pruning removes what is older than the retention, leaves a
    // signed anchor, records a checkpoint; the rest verifies.
    #[test]
    fn prune_keeps_a_verifiable_chain() {
        let dir = temp_dir("prune");
        let path = dir.join("audit.jsonl");
        let day = 86_400;
        let start = 1_600_000_000; // 2020-09-13
        let (log, _) = FileLog::open(&path, config(), t(start)).unwrap();
        for i in 0..40u64 {
            log.append(&event(i, "person-a", t(start + i * 15 * day)))
                .unwrap(); // 600 days
        }
        let now = t(start + 600 * day);
        let r = log.prune(Retention::months(12).unwrap(), now).unwrap();
        let cutoff = Retention::months(12).unwrap().cutoff(now);
        assert!(r.removed_lines > 0);
        let rest = log.query(&Query::default()).unwrap();
        assert!(
            rest.iter().all(|(_, e)| e.time >= cutoff),
            "everything older than the cutoff is gone"
        );
        let kept_expected = (0..40u64)
            .filter(|i| t(start + i * 15 * day) >= cutoff)
            .count();
        assert_eq!(rest.len(), kept_expected, "everything younger is kept");
        let v = log.verify().unwrap();
        assert!(v.anchor.is_some());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("{\"anchor\":"));
        assert!(text.contains("\"reason\":\"prune\""));
        // Appending goes on, reopening works.
        log.append(&event(100, "person-a", now)).unwrap();
        drop(log);
        let (log, rep) = FileLog::open(&path, config(), now).unwrap();
        assert!(rep.repaired.is_none());
        assert_eq!(rep.verified.events as usize, kept_expected + 1);
        // A second prune later moves the anchor on.
        let later = now + Duration::from_secs(200 * day);
        log.prune(Retention::months(12).unwrap(), later).unwrap();
        assert!(log.verify().is_ok());
        // A forged anchor (not signed by the key) is refused.
        drop(log);
        let mut l = lines(&path);
        l[0] = l[0].replace("\"seq\":", "\"seq\":1");
        write_lines(&path, &l);
        assert!(matches!(
            verify(&path).unwrap_err(),
            VerifyError::BadSignature { line: 1, .. }
        ));
    }

    // MedMij LOG-3: the bounds themselves are allowed, and a retention is
    // exactly its months on the calendar.
    #[test]
    fn retention_of_exactly_12_and_15_months() {
        let now = parse_time("2026-03-31T10:00:00.000000Z").unwrap();
        for (m, cutoff) in [
            (12, "2025-03-31T10:00:00.000000Z"),
            (13, "2025-02-28T10:00:00.000000Z"),
            (14, "2025-01-31T10:00:00.000000Z"),
            (15, "2024-12-31T10:00:00.000000Z"),
        ] {
            let r = Retention::months(m).unwrap();
            assert_eq!(r.get(), m);
            assert_eq!(format_time(r.cutoff(now)), cutoff, "{m} months");
        }
        assert_eq!((Retention::MIN_MONTHS, Retention::MAX_MONTHS), (12, 15));
        assert_eq!(Retention::months(11).unwrap_err().months, 11);
        assert_eq!(Retention::months(16).unwrap_err().months, 16);
    }

    // MedMij LOG-3: pruning reads the whole log through the verifier; a
    // last line torn behind the log's back is refused, named by its line
    // number and offset, and nothing is removed.
    #[test]
    fn prune_refuses_a_torn_log_naming_the_torn_line() {
        let (path, log) = write_log("prune-torn", 3);
        let good = std::fs::metadata(&path).unwrap().len();
        let torn = b"{\"seq\":4,\"prev\":\"ab";
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(torn)
            .unwrap();
        match log.prune(Retention::months(12).unwrap(), t(100_000_000)) {
            Err(LogError::Corrupt {
                error:
                    VerifyError::TornTail {
                        line,
                        bytes,
                        offset,
                    },
                ..
            }) => assert_eq!((line, bytes, offset), (4, torn.len() as u64, good)),
            other => panic!("expected a torn tail, got {other:?}"),
        }
        assert_eq!(lines(&path).len(), 4);
    }

    // MedMij LOG-3: an entry exactly 12 months old is kept (at least 12
    // months); one a microsecond older is removed.
    #[test]
    fn an_entry_exactly_at_the_cutoff_is_kept() {
        let dir = temp_dir("prune-exact");
        let path = dir.join("audit.jsonl");
        let at = |s: &str| parse_time(s).unwrap();
        let (log, _) = FileLog::open(&path, config(), at("2025-03-31T09:00:00.000000Z")).unwrap();
        log.append(&event(1, "person-a", at("2025-03-31T09:59:59.999999Z")))
            .unwrap();
        log.append(&event(2, "person-a", at("2025-03-31T10:00:00.000000Z")))
            .unwrap();
        let now = at("2026-03-31T10:00:00.000000Z");
        let r = log.prune(Retention::months(12).unwrap(), now).unwrap();
        assert_eq!(format_time(r.cutoff), "2025-03-31T10:00:00.000000Z");
        assert_eq!((r.removed_lines, r.removed_through_seq), (1, Some(1)));
        let left: Vec<String> = log
            .query(&Query::default())
            .unwrap()
            .into_iter()
            .map(|(_, e)| e.id)
            .collect();
        assert_eq!(left, ["ev-2"]);
    }

    // Everything old: the file keeps only the anchor, then the prune checkpoint.
    #[test]
    fn prune_everything() {
        let dir = temp_dir("prune-all");
        let path = dir.join("audit.jsonl");
        let (log, _) = FileLog::open(&path, config(), t(0)).unwrap();
        for i in 0..5u64 {
            log.append(&event(i, "person-a", t(1_000 + i))).unwrap();
        }
        let now = t(1_000 + 3 * 365 * 86_400);
        let r = log.prune(Retention::months(15).unwrap(), now).unwrap();
        assert_eq!((r.removed_lines, r.removed_through_seq), (5, Some(5)));
        let v = log.verify().unwrap();
        assert_eq!((v.lines, v.events, v.checkpoints), (2, 0, 1));
        assert_eq!(log.append(&event(9, "person-a", now)).unwrap(), 7);
        assert!(log.query(&Query::default()).unwrap().len() == 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        // MedMij LOG-3 on any history: after pruning at any time with any
        // allowed retention, exactly the events at or after the cutoff remain,
        // and the chain verifies.
        #[test]
        fn prune_keeps_exactly_the_retained(
            gaps in proptest::collection::vec(0u64..40 * 86_400, 1..40),
            months in 12u32..=15,
            later in 0u64..800 * 86_400,
        ) {
            let dir = temp_dir("prune-prop");
            let path = dir.join("audit.jsonl");
            let mut cfg = config();
            cfg.fsync = false;
            let (log, _) = FileLog::open(&path, cfg, t(0)).unwrap();
            let mut time = 1_500_000_000u64;
            let mut times = Vec::new();
            for (i, g) in gaps.iter().enumerate() {
                time += g;
                times.push(time);
                log.append(&event(i as u64, "person-a", t(time))).unwrap();
            }
            let now = t(time + later);
            let retention = Retention::months(months).unwrap();
            log.prune(retention, now).unwrap();
            let cutoff = retention.cutoff(now);
            let left: Vec<u64> = log.query(&Query::default()).unwrap().iter().map(|(s, _)| *s).collect();
            let expected = times.iter().filter(|&&x| t(x) >= cutoff).count();
            prop_assert_eq!(left.len(), expected);
            prop_assert!(log.verify().is_ok());
            drop(log);
            let _ = std::fs::remove_dir_all(&dir);
        }

        // MedMij LOG-3: 12..=15 months accepted, everything else refused.
        #[test]
        fn retention_between_12_and_15_months(m in 0u32..1000) {
            let r = Retention::months(m);
            prop_assert_eq!(r.is_ok(), (12..=15).contains(&m));
            if let Err(e) = r {
                prop_assert_eq!(e.months, m);
                prop_assert!(e.to_string().contains("LOG-3"));
            }
        }

        // The cutoff lies between m*28 and m*31 days back, and more months give
        // an earlier cutoff.
        #[test]
        fn retention_cutoff_is_calendar_months(m in 12u32..=15, secs in 1_000_000_000u64..4_000_000_000) {
            let now = t(secs);
            let c = Retention::months(m).unwrap().cutoff(now);
            let back = now.duration_since(c).unwrap().as_secs();
            prop_assert!(back >= u64::from(m) * 28 * 86_400 && back <= u64::from(m) * 31 * 86_400);
            if m < 15 {
                prop_assert!(Retention::months(m + 1).unwrap().cutoff(now) < c);
            }
            prop_assert!(now.duration_since(c).unwrap() >= Duration::from_secs(365 * 86_400));
        }

    }
}

mod log_4 {
    use super::*;

    // MedMij LOG-4: no BSN in the PGO domain; secrets only as hashes.
    #[test]
    fn no_bsn_in_pgo_domain_and_no_secrets_in_clear() {
        for bsn in ["123456782", "12345678", "123.456.782", "1234-56-782"] {
            let e = SubjectId::new(bsn, Domain::Pgo).unwrap_err();
            assert_eq!((e.field, e.rule), ("subject", medmij_types::RuleId::Log4));
            assert!(SubjectId::new(bsn, Domain::Zorgaanbieder).is_ok());
        }
        assert!(SubjectId::new("1234567890", Domain::Pgo).is_ok());
        assert!(SubjectId::new("pseudo-123456782", Domain::Pgo).is_ok());
        let (path, log) = write_log("bsn", 0);
        let mut e = event(1, "person-a", t(5_000));
        e.actor.on_behalf_of = Some("123456782".into());
        assert!(matches!(
            log.append(&e),
            Err(LogError::Event(EventError {
                rule: medmij_types::RuleId::Log4,
                ..
            }))
        ));
        let token = "6f1c7a52-9a0e-4c5b-8f1f-2f6f1b0c9d3e";
        let mut e = event(2, "person-a", t(5_001));
        e.object = Object::secret("access-token", token);
        log.append(&e).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(token));
        assert!(text.contains("\"id\":\"sha256:"));
        let mut e = event(3, "person-a", t(5_002));
        e.id = "bad id".into();
        assert!(matches!(
            log.append(&e),
            Err(LogError::Event(EventError { field: "id", .. }))
        ));
        e.id = "ok".into();
        e.detail = Some("line\nbreak".into());
        assert!(matches!(
            log.append(&e),
            Err(LogError::Event(EventError {
                field: "detail",
                ..
            }))
        ));
    }

    // MedMij LOG-4: a subject made for a care provider's log (where a BSN
    // may identify the person) is refused when the event reaches a PGO-domain
    // log; it reads back exactly as written.
    #[test]
    fn a_bsn_subject_from_another_domain_is_refused_in_the_pgo_domain() {
        let bsn = SubjectId::new("123456782", Domain::Zorgaanbieder).unwrap();
        assert_eq!(bsn.as_str(), "123456782");
        assert_eq!(bsn.to_string(), "123456782");
        let mut e = event(1, "person-a", t(5_000));
        e.actor.on_behalf_of = None;
        e.subject = Some(bsn);
        assert_eq!(e.validate(Domain::Zorgaanbieder), Ok(()));
        let err = e.validate(Domain::Pgo).unwrap_err();
        assert_eq!(
            (err.field, err.rule),
            ("subject", medmij_types::RuleId::Log4)
        );
        let (_path, log) = write_log("bsn-subject", 0);
        assert!(matches!(
            log.append(&e),
            Err(LogError::Event(EventError {
                field: "subject",
                ..
            }))
        ));
    }
}
