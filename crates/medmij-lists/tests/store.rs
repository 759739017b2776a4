//! ListStore behaviour: LISTS-7 (validate first), LISTS-8 (freshness,
//! rollback), LISTS-9 (Volgnummer), LISTS-10 (3600 s grace), LISTS-11
//! (archive), and lock-free readers.

use medmij_lists::*;
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const T0: u64 = 1_795_428_000;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0 + secs)
}

fn whl(volgnummer: u64, hosts: &[String]) -> Vec<u8> {
    let nodes: String = hosts
        .iter()
        .map(|h| format!("<MedMijNode><Hostname>{h}</Hostname></MedMijNode>"))
        .collect();
    format!(
        "<Whitelist xmlns=\"xmlns://afsprakenstelsel.medmij.nl/whitelist/release2/\"><Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel><Volgnummer>{volgnummer}</Volgnummer><MedMijNodes>{nodes}</MedMijNodes></Whitelist>"
    )
    .into_bytes()
}

/// A ZAL offering the given (provider index, GegevensdienstId) pairs.
fn zal(volgnummer: u64, pairs: &BTreeSet<(u8, u8)>) -> Vec<u8> {
    let mut providers = String::new();
    for p in pairs.iter().map(|(p, _)| *p).collect::<BTreeSet<_>>() {
        let diensten: String = pairs
            .iter()
            .filter(|(q, _)| *q == p)
            .map(|(_, id)| {
                format!(
                    "<Gegevensdienst><GegevensdienstId>{id}</GegevensdienstId><AuthorizationEndpoint><AuthorizationEndpointuri>https://za.example.nl/a</AuthorizationEndpointuri></AuthorizationEndpoint><TokenEndpoint><TokenEndpointuri>https://za.example.nl/t</TokenEndpointuri></TokenEndpoint><Systeemrollen><Systeemrol><Systeemrolcode>X</Systeemrolcode><ResourceEndpoint><ResourceEndpointuri>https://za.example.nl/r</ResourceEndpointuri></ResourceEndpoint></Systeemrol></Systeemrollen></Gegevensdienst>"
                )
            })
            .collect();
        providers.push_str(&format!(
            "<Zorgaanbieder><Zorgaanbiedernaam>{}@medmij</Zorgaanbiedernaam><Gegevensdiensten>{diensten}</Gegevensdiensten></Zorgaanbieder>",
            naam_part(p)
        ));
    }
    format!(
        "<Zorgaanbiederslijst xmlns=\"xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release2/\"><Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel><Volgnummer>{volgnummer}</Volgnummer><Zorgaanbieders>{providers}</Zorgaanbieders></Zorgaanbiederslijst>"
    )
    .into_bytes()
}

fn naam_part(p: u8) -> String {
    format!("zorg{}", (b'a' + p) as char)
}

fn hosts(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}.example.nl")).collect()
}

struct FailingArchive;
impl ArchiveSink for FailingArchive {
    fn archive(&self, _: ListKind, _: &Volgnummer, _: &[u8]) -> std::io::Result<()> {
        Err(std::io::Error::other("disk full"))
    }
}

/// Installs versions of the given sizes (Volgnummer 1, 2, ...) while three
/// readers load the list in force; every load must be one complete version
/// (each version n lists exactly its hosts, all named after n), and versions
/// only move forward.
fn readers_see_whole_versions(sizes: &[usize]) {
    let store: Arc<ListStore<Whitelist>> = Arc::new(ListStore::new(NoArchive));
    let expected: Arc<Vec<usize>> = Arc::new(sizes.to_vec());
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (store, done, expected) = (store.clone(), done.clone(), expected.clone());
            std::thread::spawn(move || {
                let mut last = 0u64;
                let mut loads = 0u64;
                while !done.load(Ordering::Acquire) {
                    if let Some(cur) = store.current() {
                        let l = cur.list();
                        let v = l.volgnummer().as_u64().unwrap();
                        assert!(v >= last, "versions move forward");
                        assert_eq!(l.len(), expected[v as usize - 1], "complete list");
                        for h in l.nodes() {
                            assert!(
                                h.as_str().starts_with(&format!("v{v}-")),
                                "no mixing of versions"
                            );
                        }
                        last = v;
                        loads += 1;
                    }
                    std::thread::yield_now();
                }
                loads
            })
        })
        .collect();
    for (i, &n) in sizes.iter().enumerate() {
        let v = i as u64 + 1;
        let installed = store
            .offer(&whl(v, &hosts(&format!("v{v}-"), n)), at(v))
            .unwrap();
        assert!(matches!(installed, StoreEvent::Installed { .. }));
    }
    done.store(true, Ordering::Release);
    for r in readers {
        r.join().expect("reader saw a consistent list");
    }
    assert_eq!(
        store.current().unwrap().list().len(),
        *sizes.last().unwrap()
    );
}

/// A model version: (Volgnummer, offered pairs, installed at).
type Version = (u64, BTreeSet<(u8, u8)>, u64);

#[derive(Debug, Clone)]
enum Op {
    /// Offer a ZAL version with this Volgnummer and these pairs, `dt` seconds later.
    Offer(u64, BTreeSet<(u8, u8)>, u64),
    /// Ask about a pair, `dt` seconds later.
    Query(u8, u8, u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            1u64..12,
            proptest::collection::btree_set((0u8..3, 1u8..4), 1..6),
            0u64..2500
        )
            .prop_map(|(v, p, dt)| Op::Offer(v, p, dt)),
        (0u8..3, 1u8..4, 0u64..2500).prop_map(|(p, id, dt)| Op::Query(p, id, dt)),
    ]
}

mod lists_9 {
    use super::*;

    #[test]
    fn invalid_or_older_versions_leave_the_current_one_in_force() {
        let store: ListStore<Whitelist> = ListStore::new(NoArchive);
        assert!(store.current().is_none());
        assert!(store.is_stale(at(0)), "nothing installed: fetch now");
        assert!(matches!(
            store.offer(&whl(5, &hosts("a", 2)), at(0)).unwrap(),
            StoreEvent::Installed { .. }
        ));
        // MedMij LISTS-7: invalid lists are not used.
        let bad = whl(6, &["NOT VALID".into()]);
        assert!(matches!(
            store.offer(&bad, at(1)),
            Err(StoreError::Invalid(_))
        ));
        // MedMij LISTS-9: lower or equal Volgnummer is refused.
        let err = store.offer(&whl(4, &hosts("b", 1)), at(2)).unwrap_err();
        assert!(matches!(err, StoreError::NotNewer { .. }), "{err}");
        let err = store.offer(&whl(5, &hosts("b", 1)), at(2)).unwrap_err();
        assert!(
            matches!(err, StoreError::NotNewer { .. }),
            "same Volgnummer, other content"
        );
        assert_eq!(store.current().unwrap().list().volgnummer().as_str(), "5");
        assert!(store.current().unwrap().list().contains("a1.example.nl"));
        // Newer: installed.
        let e = store.offer(&whl(6, &hosts("c", 1)), at(3)).unwrap();
        assert_eq!(
            e,
            StoreEvent::Installed {
                kind: ListKind::Whl,
                volgnummer: Volgnummer::from_u64(6).unwrap(),
                previous: Volgnummer::from_u64(5),
            }
        );
    }

    #[test]
    fn rollback_is_explicit_and_reported() {
        // MedMij LISTS-8/LISTS-9: only an operator rollback installs an older version.
        let store: ListStore<Whitelist> = ListStore::new(NoArchive);
        assert!(matches!(
            store.offer(&whl(7, &hosts("new", 1)), at(0)).unwrap(),
            StoreEvent::Installed { .. }
        ));
        let e = store
            .rollback(&whl(6, &hosts("old", 1)), at(10), "bad version 7")
            .unwrap();
        assert_eq!(
            e,
            StoreEvent::RolledBack {
                kind: ListKind::Whl,
                from: Volgnummer::from_u64(7),
                to: Volgnummer::from_u64(6).unwrap(),
                reason: "bad version 7".into(),
            }
        );
        assert!(store.current().unwrap().list().contains("old0.example.nl"));
        // A rollback still validates (LISTS-7).
        assert!(store.rollback(b"<nonsense/>", at(11), "x").is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// MedMij LISTS-9 and LISTS-10 against a reference model: an offer is
        /// installed iff its Volgnummer is higher; a pair may be served iff it
        /// is in the current version or in one that stopped being current at
        /// most 3600 s ago.
        #[test]
        fn store_matches_the_model(ops in proptest::collection::vec(op(), 1..40)) {
            let store: ListStore<Zorgaanbiederslijst> = ListStore::new(NoArchive);
            // Model: installed versions as (volgnummer, pairs, installed_at).
            // (volgnummer, pairs, installed_at)
            let mut installed: Vec<Version> = Vec::new();
            let mut now = 0u64;
            for op in ops {
                match op {
                    Op::Offer(v, pairs, dt) => {
                        now += dt;
                        let r = store.offer(&zal(v, &pairs), at(now));
                        let newer = installed.last().is_none_or(|(cur, _, _)| v > *cur);
                        let same = installed.last().is_some_and(|(cur, p, _)| v == *cur && *p == pairs);
                        if newer {
                            prop_assert!(matches!(r, Ok(StoreEvent::Installed { .. })), "{:?}", r);
                            installed.push((v, pairs, now));
                        } else if same {
                            prop_assert!(matches!(r, Ok(StoreEvent::Unchanged { .. })), "{:?}", r);
                        } else {
                            prop_assert!(matches!(r, Err(StoreError::NotNewer { .. })), "{:?}", r);
                        }
                    }
                    Op::Query(p, id, dt) => {
                        now += dt;
                        let naam = format!("{}@medmij", naam_part(p));
                        let expected = installed.iter().enumerate().any(|(i, (_, pairs, _))| {
                            let in_force = i + 1 == installed.len();
                            let until = installed.get(i + 1).map(|(_, _, t)| *t);
                            pairs.contains(&(p, id)) && (in_force || until.is_some_and(|u| now - u <= 3600))
                        });
                        prop_assert_eq!(store.may_serve(&naam, &id.to_string(), at(now)), expected, "pair ({}, {}) at {}", p, id, now);
                    }
                }
            }
            let current = store.current().map(|c| c.list().volgnummer().as_u64().unwrap());
            prop_assert_eq!(current, installed.last().map(|(v, _, _)| *v));
        }
    }
}

mod lists_8 {
    use super::*;

    #[test]
    fn freshness_follows_lists_8() {
        let store: ListStore<Whitelist> = ListStore::new(NoArchive);
        assert!(matches!(
            store.offer(&whl(1, &hosts("a", 1)), at(0)).unwrap(),
            StoreEvent::Installed { .. }
        ));
        // Whitelist: at least hourly.
        assert!(!store.is_stale(at(3600)));
        assert!(store.is_stale(at(3601)));
        // An unchanged fetch counts as a check.
        let e = store.offer(&whl(1, &hosts("a", 1)), at(3000)).unwrap();
        assert!(matches!(e, StoreEvent::Unchanged { .. }));
        let f = store.freshness(at(4000)).unwrap();
        assert_eq!(f.since_check, Duration::from_secs(1000));
        assert_eq!(f.max_age, Duration::from_secs(3600));
        assert!(!f.stale);
        assert!(f.tijdstempel_age.is_some());
        // ZAL: daily.
        let zals: ListStore<Zorgaanbiederslijst> = ListStore::new(NoArchive);
        assert!(matches!(
            zals.offer(&zal(1, &[(0, 1)].into()), at(0)).unwrap(),
            StoreEvent::Installed { .. }
        ));
        assert!(!zals.is_stale(at(86_400)));
        assert!(zals.is_stale(at(86_401)));
    }
}

mod lists_11 {
    use super::*;

    #[test]
    fn every_version_is_archived_before_use() {
        // MedMij LISTS-11.
        let dir = tempfile::tempdir().unwrap();
        let archive = DirArchive::new(dir.path()).unwrap();
        let store: ListStore<Whitelist> = ListStore::new(archive.clone());
        let v1 = whl(1, &hosts("a", 1));
        let v2 = whl(2, &hosts("b", 1));
        assert!(matches!(
            store.offer(&v1, at(0)).unwrap(),
            StoreEvent::Installed { .. }
        ));
        assert!(matches!(
            store.offer(&v2, at(1)).unwrap(),
            StoreEvent::Installed { .. }
        ));
        let v1_path = archive.path_of(ListKind::Whl, &Volgnummer::from_u64(1).unwrap());
        assert_eq!(std::fs::read(&v1_path).unwrap(), v1);
        assert_eq!(
            std::fs::read(archive.path_of(ListKind::Whl, &Volgnummer::from_u64(2).unwrap()))
                .unwrap(),
            v2
        );
        // Rolling back to v1 archives the same bytes again: fine.
        assert!(matches!(
            store.rollback(&v1, at(2), "test").unwrap(),
            StoreEvent::RolledBack { .. }
        ));
        // Other content under an archived Volgnummer is refused, not overwritten.
        let forged = whl(1, &hosts("forged", 1));
        let store2: ListStore<Whitelist> = ListStore::new(archive);
        assert!(matches!(
            store2.offer(&forged, at(3)),
            Err(StoreError::Archive { .. })
        ));
        assert!(store2.current().is_none());
        assert_eq!(std::fs::read(&v1_path).unwrap(), v1);
    }

    /// An archived version that cannot be read is an error, not a reason
    /// to write over it: nothing is written and no temporary file is left.
    #[test]
    fn an_unreadable_archive_entry_is_an_error_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let archive = DirArchive::new(dir.path()).unwrap();
        let v1 = Volgnummer::from_u64(1).unwrap();
        // A directory where the archived file would be: reading it fails
        // with another error than "not found".
        std::fs::create_dir(archive.path_of(ListKind::Whl, &v1)).unwrap();
        let store: ListStore<Whitelist> = ListStore::new(archive);
        assert!(matches!(
            store.offer(&whl(1, &hosts("a", 1)), at(0)),
            Err(StoreError::Archive { .. })
        ));
        assert!(store.current().is_none());
        let entries: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(entries, ["WHL-1.xml"]);
    }

    #[test]
    fn a_version_that_cannot_be_archived_is_not_used() {
        let store: ListStore<Whitelist> = ListStore::new(FailingArchive);
        assert!(matches!(
            store.offer(&whl(1, &hosts("a", 1)), at(0)),
            Err(StoreError::Archive { .. })
        ));
        assert!(store.current().is_none());
    }
}

mod lists_7 {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]

        /// Readers never see a half-installed list (lock-free swap).
        #[test]
        fn readers_never_see_a_half_installed_list(sizes in proptest::collection::vec(0usize..300, 1..40)) {
            readers_see_whole_versions(&sizes);
        }
    }
}

mod lists_10 {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// MedMij LISTS-10: exactly 3600 s of grace, not one second more.
        #[test]
        fn grace_is_exactly_3600_seconds(t1 in 0u64..100_000, extra in 0u64..7200) {
            let store: ListStore<Zorgaanbiederslijst> = ListStore::new(NoArchive);
            assert!(matches!(
                store.offer(&zal(1, &[(0, 1), (1, 2)].into()), at(0)).unwrap(),
                StoreEvent::Installed { .. }
            ));
            assert!(matches!(
                store.offer(&zal(2, &[(1, 2)].into()), at(t1)).unwrap(),
                StoreEvent::Installed { .. }
            ));
            let q = t1 + extra;
            prop_assert_eq!(store.may_serve("zorga@medmij", "1", at(q)), extra <= 3600);
            prop_assert!(store.may_serve("zorgb@medmij", "2", at(q)));
            prop_assert!(!store.may_serve("zorgc@medmij", "1", at(q)));
        }
    }
}
