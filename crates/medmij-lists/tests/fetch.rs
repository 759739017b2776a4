//! Feature `fetch`: the Refresher keeps a ListStore current (MedMij
//! LISTS-8), offering every fetched version to the store (LISTS-7, LISTS-9,
//! LISTS-11). HTTP tests run against a loopback axum server; the schedule is
//! tested on tokio's paused clock, never with real sleeps.
#![cfg(feature = "fetch")]

mod lists_8 {
    use medmij_lists::*;
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;
    use tokio::time::Instant;

    fn whl(volgnummer: u64) -> Vec<u8> {
        format!(
            "<Whitelist xmlns=\"xmlns://afsprakenstelsel.medmij.nl/whitelist/release2/\">\
             <Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel><Volgnummer>{volgnummer}</Volgnummer>\
             <MedMijNodes><MedMijNode><Hostname>v{volgnummer}.example.nl</Hostname></MedMijNode></MedMijNodes></Whitelist>"
        )
        .into_bytes()
    }

    const INVALID: &[u8] = b"<Whitelist xmlns=\"xmlns://afsprakenstelsel.medmij.nl/whitelist/release2/\"><Volgnummer>9</Volgnummer></Whitelist>";

    /// What a scripted answer is: a document or an HTTP status.
    type Answer = Result<Vec<u8>, u16>;

    /// A loopback HTTP server (axum) on its own thread and runtime, with
    /// real time, answering from a script; the last answer repeats.
    fn serve(script: Vec<Answer>) -> (reqwest::Url, Arc<Mutex<usize>>) {
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let hits = Arc::new(Mutex::new(0usize));
        let (tx, rx) = std::sync::mpsc::channel();
        let h = hits.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                let app = axum::Router::new().route(
                    "/whitelist.xml",
                    axum::routing::get(move || {
                        let script = script.clone();
                        let hits = h.clone();
                        async move {
                            *hits.lock().unwrap() += 1;
                            let mut s = script.lock().unwrap();
                            let answer = if s.len() > 1 {
                                s.pop_front().unwrap()
                            } else {
                                s.front().cloned().unwrap()
                            };
                            match answer {
                                Ok(body) => (axum::http::StatusCode::OK, body),
                                Err(code) => (
                                    axum::http::StatusCode::from_u16(code).unwrap(),
                                    b"unavailable".to_vec(),
                                ),
                            }
                        }
                    }),
                );
                axum::serve(listener, app).await.unwrap();
            });
        });
        let addr = rx.recv().unwrap();
        let url = format!("http://{addr}/whitelist.xml").parse().unwrap();
        (url, hits)
    }

    fn client() -> reqwest::Client {
        // In a workspace-wide build reqwest carries rustls without a
        // provider and refuses to build a client until one is installed.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        // No idle pool: no pool timers on the paused clock.
        reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
    }

    fn store() -> Arc<ListStore<Whitelist>> {
        Arc::new(ListStore::new(NoArchive))
    }

    /// The events a refresher sent, with when (on tokio's clock).
    type EventLog = Arc<Mutex<Vec<(Instant, RefreshEvent)>>>;

    fn events() -> (EventLog, impl Fn(&RefreshEvent) + Send + Sync + 'static) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        (log, move |e: &RefreshEvent| {
            l.lock().unwrap().push((Instant::now(), e.clone()))
        })
    }

    fn current(store: &ListStore<Whitelist>) -> u64 {
        store
            .current()
            .and_then(|c| c.list().volgnummer().as_u64())
            .unwrap_or(0)
    }

    #[tokio::test]
    async fn loopback_installs_newer_versions_and_refuses_invalid_and_older() {
        let (url, hits) = serve(vec![
            Ok(whl(1)),
            Ok(whl(2)),
            Ok(INVALID.to_vec()),
            Ok(whl(1)),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let archive = DirArchive::new(dir.path()).unwrap();
        let store: Arc<ListStore<Whitelist>> = Arc::new(ListStore::new(archive.clone()));
        let (log, sink) = events();
        let r = Refresher::new(
            store.clone(),
            HttpSource::new(client(), url),
            RefreshSettings::for_kind(ListKind::Whl),
        )
        .unwrap()
        .with_events(sink);
        // Each manual trigger (LISTS-8) fetches once and offers the version.
        assert!(matches!(
            r.refresh_now().await.unwrap(),
            StoreEvent::Installed { previous: None, .. }
        ));
        assert_eq!(current(&store), 1);
        assert!(matches!(
            r.refresh_now().await.unwrap(),
            StoreEvent::Installed {
                previous: Some(_),
                ..
            }
        ));
        assert_eq!(current(&store), 2);
        // Invalid: refused (LISTS-7), 2 stays in force.
        let e = r.refresh_now().await.unwrap_err();
        assert_eq!(e.rule(), RuleId::Lists7, "{e}");
        assert!(e.is_retryable());
        assert_eq!(current(&store), 2);
        // Lower Volgnummer: refused (LISTS-9), 2 stays in force.
        let e = r.refresh_now().await.unwrap_err();
        assert_eq!(e.rule(), RuleId::Lists9, "{e}");
        assert!(!e.is_retryable());
        assert_eq!(current(&store), 2);
        assert!(store.current().unwrap().list().contains("v2.example.nl"));
        assert_eq!(*hits.lock().unwrap(), 4);
        // The store's archive keeps exactly the installed versions (LISTS-11).
        let v = |n| Volgnummer::from_u64(n).unwrap();
        assert_eq!(
            std::fs::read(archive.path_of(ListKind::Whl, &v(1))).unwrap(),
            whl(1)
        );
        assert_eq!(
            std::fs::read(archive.path_of(ListKind::Whl, &v(2))).unwrap(),
            whl(2)
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
        let log = log.lock().unwrap();
        let accepted = log
            .iter()
            .filter(|(_, e)| matches!(e, RefreshEvent::Accepted { manual: true, .. }))
            .count();
        let failed: Vec<RuleId> = log
            .iter()
            .filter_map(|(_, e)| match e {
                RefreshEvent::Failed {
                    rule, manual: true, ..
                } => Some(*rule),
                _ => None,
            })
            .collect();
        assert_eq!(accepted, 2);
        assert_eq!(failed, [RuleId::Lists7, RuleId::Lists9]);
    }

    #[tokio::test]
    async fn http_errors_are_fetch_errors() {
        let (url, _) = serve(vec![Err(503)]);
        let store = store();
        let r = Refresher::new(
            store.clone(),
            HttpSource::new(client(), url.clone()),
            RefreshSettings::for_kind(ListKind::Whl),
        )
        .unwrap();
        let e = r.refresh_now().await.unwrap_err();
        assert!(
            matches!(e, RefreshError::Fetch(FetchError::Status(503))),
            "{e}"
        );
        assert_eq!(e.rule(), RuleId::Lists8);
        // A body above the limit is refused before parsing.
        let (url, _) = serve(vec![Ok(whl(1))]);
        let small = Refresher::new(
            store.clone(),
            HttpSource::new(client(), url).with_max_size(20),
            RefreshSettings::for_kind(ListKind::Whl),
        )
        .unwrap();
        let e = small.refresh_now().await.unwrap_err();
        assert!(
            matches!(e, RefreshError::Fetch(FetchError::TooLarge { limit: 20 })),
            "{e}"
        );
        assert!(store.current().is_none());
        // The limit itself is allowed: a body of exactly `max_size` bytes is
        // read and installed, one byte less is refused.
        let body = whl(1);
        let (url, _) = serve(vec![Ok(body.clone())]);
        let at = |max| {
            Refresher::new(
                store.clone(),
                HttpSource::new(client(), url.clone()).with_max_size(max),
                RefreshSettings::for_kind(ListKind::Whl),
            )
            .unwrap()
        };
        let e = at(body.len() - 1).refresh_now().await.unwrap_err();
        assert!(
            matches!(e, RefreshError::Fetch(FetchError::TooLarge { limit }) if limit == body.len() - 1),
            "{e}"
        );
        assert!(matches!(
            at(body.len()).refresh_now().await.unwrap(),
            StoreEvent::Installed { .. }
        ));
        assert_eq!(current(&store), 1);
    }

    /// The time between a `Scheduled` event and the next attempt's event.
    fn attempts(log: &[(Instant, RefreshEvent)]) -> Vec<(Instant, bool)> {
        log.iter()
            .filter_map(|(t, e)| match e {
                RefreshEvent::Accepted { manual: false, .. } => Some((*t, true)),
                RefreshEvent::Failed { manual: false, .. } => Some((*t, false)),
                _ => None,
            })
            .collect()
    }

    fn scheduled(log: &[(Instant, RefreshEvent)]) -> Vec<(Duration, bool)> {
        log.iter()
            .filter_map(|(_, e)| match e {
                RefreshEvent::Scheduled { next_in, retry, .. } => Some((*next_in, *retry)),
                _ => None,
            })
            .collect()
    }

    /// Real network I/O needs the real clock: on a paused one tokio jumps
    /// to the next timer (the fetch timeout) while a response is on its
    /// way. So this test runs in real time with millisecond delays; the
    /// schedule itself is tested on the paused clock below.
    #[tokio::test]
    async fn backoff_on_a_server_that_fails_three_times() {
        let (url, hits) = serve(vec![Err(503), Err(500), Err(503), Ok(whl(1))]);
        let store = store();
        let (log, sink) = events();
        let ms = Duration::from_millis;
        let settings = RefreshSettings::for_kind(ListKind::Whl)
            .retry(ms(20), ms(1000))
            .jitter(0.2);
        let r = Refresher::new(
            store.clone(),
            HttpSource::new(client(), url),
            settings.clone(),
        )
        .unwrap()
        .with_events(sink)
        .with_seed(7);
        let task = tokio::spawn({
            let r = r.clone();
            async move { r.run().await }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        while current(&store) == 0 && Instant::now() < deadline {
            tokio::time::sleep(ms(10)).await;
        }
        task.abort();
        assert_eq!(current(&store), 1);
        assert_eq!(*hits.lock().unwrap(), 4);
        let log = log.lock().unwrap();
        let sched = scheduled(&log);
        // Three retries, doubling from 20 ms, each shortened by at most 20 %
        // and never lengthened; then the regular interval.
        assert!(sched.len() >= 4, "{sched:?}");
        for (i, &(d, retry)) in sched[..3].iter().enumerate() {
            let base = ms(20 << i);
            assert!(retry);
            assert!(d <= base && d >= base.mul_f64(0.8), "retry {i}: {d:?}");
        }
        assert_eq!(sched[3], (settings.interval, false));
        // The attempts happened no earlier than scheduled.
        let at = attempts(&log);
        assert_eq!(
            at.iter().map(|a| a.1).collect::<Vec<_>>(),
            [false, false, false, true]
        );
        for k in 1..4 {
            assert!(at[k].0 - at[k - 1].0 >= sched[k - 1].0, "attempt {k}");
        }
        let failures: Vec<u32> = log
            .iter()
            .filter_map(|(_, e)| match e {
                RefreshEvent::Failed { failures, .. } => Some(*failures),
                _ => None,
            })
            .collect();
        assert_eq!(failures, [1, 2, 3]);
    }

    /// An in-memory source that records when it was asked (on tokio's
    /// clock) and answers from a script; the last answer repeats.
    #[derive(Clone)]
    struct Scripted {
        script: Arc<Mutex<VecDeque<Answer>>>,
        asked: Arc<Mutex<Vec<Instant>>>,
    }

    impl Scripted {
        fn new(script: Vec<Answer>) -> Scripted {
            Scripted {
                script: Arc::new(Mutex::new(script.into())),
                asked: Arc::default(),
            }
        }
        fn asked(&self) -> Vec<Instant> {
            self.asked.lock().unwrap().clone()
        }
    }

    impl ListSource for Scripted {
        async fn fetch(&self) -> Result<Vec<u8>, FetchError> {
            self.asked.lock().unwrap().push(Instant::now());
            let mut s = self.script.lock().unwrap();
            let a = if s.len() > 1 {
                s.pop_front().unwrap()
            } else {
                s.front().cloned().unwrap()
            };
            a.map_err(FetchError::Status)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_schedule_on_the_paused_clock() {
        // Fails three times, then answers: retries after 10, 20 and 40 s
        // (no jitter), then the interval.
        let source = Scripted::new(vec![Err(503), Err(503), Err(502), Ok(whl(1)), Ok(whl(2))]);
        let store = store();
        let settings = RefreshSettings::for_kind(ListKind::Whl)
            .retry(Duration::from_secs(10), Duration::from_secs(300))
            .jitter(0.0);
        let r = Refresher::new(store.clone(), source.clone(), settings).unwrap();
        let start = Instant::now();
        let task = tokio::spawn({
            let r = r.clone();
            async move { r.run().await }
        });
        tokio::time::sleep(
            Duration::from_secs(70) + DEFAULT_WHITELIST_INTERVAL + Duration::from_secs(1),
        )
        .await;
        task.abort();
        let offsets: Vec<u64> = source
            .asked()
            .iter()
            .map(|t| (*t - start).as_secs())
            .collect();
        let q = DEFAULT_WHITELIST_INTERVAL.as_secs();
        assert_eq!(offsets, [0, 10, 30, 70, 70 + q]);
        assert_eq!(current(&store), 2);
    }

    // The host's clock, not the system's, stamps what the refresher installs: a
    // closure that captures a shifted time (as a demo or a test fast-forwards).
    #[tokio::test(start_paused = true)]
    async fn the_refresher_stamps_installs_with_the_hosts_clock() {
        let source = Scripted::new(vec![Ok(whl(1)), Ok(whl(2))]);
        let store = store();
        let shift = Arc::new(Mutex::new(Duration::from_secs(86_400)));
        let base = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let clock = {
            let shift = shift.clone();
            move || base + *shift.lock().unwrap()
        };
        let r = Refresher::new(
            store.clone(),
            source.clone(),
            RefreshSettings::for_kind(ListKind::Whl),
        )
        .unwrap()
        .with_clock(clock);
        assert!(matches!(
            r.refresh_now().await.unwrap(),
            StoreEvent::Installed { .. }
        ));
        let first = store.current().unwrap().installed_at();
        assert_eq!(first, base + Duration::from_secs(86_400));
        *shift.lock().unwrap() = Duration::from_secs(2 * 86_400);
        assert!(matches!(
            r.refresh_now().await.unwrap(),
            StoreEvent::Installed { .. }
        ));
        assert_eq!(current(&store), 2);
        let second = store.current().unwrap().installed_at();
        assert_eq!(second, base + Duration::from_secs(2 * 86_400));
    }

    #[tokio::test(start_paused = true)]
    async fn schedule_fetches_at_start_then_every_interval() {
        let source = Scripted::new(vec![Ok(whl(1)), Ok(whl(2)), Ok(whl(2)), Ok(whl(3))]);
        let store = store();
        let r = Refresher::new(
            store.clone(),
            source.clone(),
            RefreshSettings::for_kind(ListKind::Whl),
        )
        .unwrap();
        let start = Instant::now();
        let task = tokio::spawn({
            let r = r.clone();
            async move { r.run().await }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(current(&store), 1);
        tokio::time::sleep(DEFAULT_WHITELIST_INTERVAL).await;
        assert_eq!(current(&store), 2);
        tokio::time::sleep(DEFAULT_WHITELIST_INTERVAL * 2).await;
        assert_eq!(current(&store), 3);
        task.abort();
        let offsets: Vec<Duration> = source.asked().iter().map(|t| *t - start).collect();
        let q = DEFAULT_WHITELIST_INTERVAL;
        assert_eq!(offsets, [Duration::ZERO, q, q * 2, q * 3]);
        // LISTS-8: the Whitelist at least hourly.
        assert!(q <= ListKind::Whl.max_age());
        // The store counts as freshly checked (an unchanged version too).
        assert!(!store.is_stale(std::time::SystemTime::now()));
    }

    #[tokio::test(start_paused = true)]
    async fn manual_trigger_fetches_at_once_and_restarts_the_interval() {
        let source = Scripted::new(vec![Ok(whl(1)), Ok(whl(2)), Ok(whl(3))]);
        let store = store();
        let (log, sink) = events();
        let r = Refresher::new(
            store.clone(),
            source.clone(),
            RefreshSettings::for_kind(ListKind::Whl).interval(Duration::from_secs(3600)),
        )
        .unwrap()
        .with_events(sink);
        let start = Instant::now();
        let task = tokio::spawn({
            let r = r.clone();
            async move { r.run().await }
        });
        tokio::time::sleep(Duration::from_secs(1800)).await;
        assert_eq!(current(&store), 1);
        let outcome = r.refresh_now().await.unwrap();
        assert!(matches!(outcome, StoreEvent::Installed { .. }));
        assert_eq!(current(&store), 2);
        // The next scheduled fetch is an interval after the manual one.
        tokio::time::sleep(Duration::from_secs(3600 + 60)).await;
        task.abort();
        let offsets: Vec<u64> = source
            .asked()
            .iter()
            .map(|t| (*t - start).as_secs())
            .collect();
        assert_eq!(offsets, [0, 1800, 1800 + 3600]);
        assert_eq!(current(&store), 3);
        let manual = log
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, e)| matches!(e, RefreshEvent::Accepted { manual: true, .. }))
            .count();
        assert_eq!(manual, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_older_version_waits_for_the_interval_not_a_retry() {
        let source = Scripted::new(vec![Ok(whl(5)), Ok(whl(4))]);
        let store = store();
        let (log, sink) = events();
        let r = Refresher::new(
            store.clone(),
            source.clone(),
            RefreshSettings::for_kind(ListKind::Whl),
        )
        .unwrap()
        .with_events(sink);
        let task = tokio::spawn({
            let r = r.clone();
            async move { r.run().await }
        });
        tokio::time::sleep(DEFAULT_WHITELIST_INTERVAL * 2 + Duration::from_secs(1)).await;
        task.abort();
        assert_eq!(current(&store), 5);
        let sched = scheduled(&log.lock().unwrap());
        assert!(
            sched
                .iter()
                .all(|&(d, retry)| !retry && d == DEFAULT_WHITELIST_INTERVAL),
            "{sched:?}"
        );
        assert_eq!(source.asked().len(), 3);
    }

    /// A source that never answers.
    struct Hanging;

    impl ListSource for Hanging {
        async fn fetch(&self) -> Result<Vec<u8>, FetchError> {
            std::future::pending().await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_source_times_out_and_is_retried() {
        let store = store();
        let (log, sink) = events();
        let settings = RefreshSettings::for_kind(ListKind::Whl)
            .fetch_timeout(Duration::from_secs(30))
            .jitter(0.0);
        let r = Refresher::new(store.clone(), Hanging, settings)
            .unwrap()
            .with_events(sink);
        let start = Instant::now();
        let e = r.refresh_now().await.unwrap_err();
        assert!(
            matches!(e, RefreshError::Fetch(FetchError::Timeout(_))),
            "{e}"
        );
        assert_eq!(Instant::now() - start, Duration::from_secs(30));
        let task = tokio::spawn({
            let r = r.clone();
            async move { r.run().await }
        });
        tokio::time::sleep(Duration::from_secs(30 + 10 + 30 + 1)).await;
        task.abort();
        // Two scheduled attempts, each timed out, the second after the
        // first back-off delay.
        let log = log.lock().unwrap();
        let sched = scheduled(&log);
        assert_eq!(
            sched[..2],
            [
                (Duration::from_secs(10), true),
                (Duration::from_secs(20), true)
            ]
        );
        assert!(store.current().is_none());
    }

    #[tokio::test]
    async fn rollback_now_installs_an_older_version_explicitly() {
        let source = Scripted::new(vec![Ok(whl(8)), Ok(whl(6))]);
        let store = store();
        let r = Refresher::new(
            store.clone(),
            source,
            RefreshSettings::for_kind(ListKind::Whl),
        )
        .unwrap();
        let installed = r.refresh_now().await.unwrap();
        assert!(matches!(installed, StoreEvent::Installed { .. }));
        let e = r
            .rollback_now("operator: v8 lists a wrong node")
            .await
            .unwrap();
        assert!(
            matches!(&e, StoreEvent::RolledBack { reason, .. } if reason == "operator: v8 lists a wrong node"),
            "{e:?}"
        );
        assert_eq!(current(&store), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn an_out_of_range_jitter_is_clamped_not_a_panic() {
        let source = Scripted::new(vec![Err(500)]);
        let mut wild = RefreshSettings::for_kind(ListKind::Whl);
        wild.jitter = 7.0;
        let r = Refresher::new(store(), source.clone(), wild).unwrap();
        let task = tokio::spawn({
            let r = r.clone();
            async move { r.run().await }
        });
        tokio::time::sleep(Duration::from_secs(600)).await;
        // Still running (a panic would have finished the task), and with
        // full jitter retrying no later than the back-off schedule.
        assert!(!task.is_finished());
        task.abort();
        assert!(source.asked().len() >= 6, "{}", source.asked().len());
    }

    #[test]
    fn settings_follow_lists_8() {
        let whl = RefreshSettings::for_kind(ListKind::Whl);
        assert_eq!(whl.interval, DEFAULT_WHITELIST_INTERVAL);
        // The documented defaults, written out: the Whitelist every 15
        // minutes, the others hourly, retries from 10 s up to a third of the
        // interval, shortened by up to 20 %, each fetch at most 60 s.
        let secs = Duration::from_secs;
        assert_eq!(
            (
                whl.interval,
                whl.retry_initial,
                whl.retry_max,
                whl.fetch_timeout
            ),
            (secs(900), secs(10), secs(300), secs(60))
        );
        assert_eq!(whl.jitter, 0.2);
        for kind in [ListKind::Zal, ListKind::Ocl, ListKind::Gnl] {
            let s = RefreshSettings::for_kind(kind);
            assert_eq!(
                (s.interval, s.retry_max),
                (secs(3600), secs(1200)),
                "{kind}"
            );
        }
        assert!(whl.interval <= Duration::from_secs(3600));
        let zal = RefreshSettings::for_kind(ListKind::Zal);
        assert_eq!(zal.interval, DEFAULT_LIST_INTERVAL);
        assert!(zal.interval <= Duration::from_secs(24 * 3600));
        // Back-off: doubling from the first delay, capped by retry_max and
        // by the interval.
        let s = RefreshSettings::for_kind(ListKind::Whl)
            .retry(Duration::from_secs(10), Duration::from_secs(60));
        let b: Vec<u64> = (1..=6).map(|n| s.backoff(n).as_secs()).collect();
        assert_eq!(b, [10, 20, 40, 60, 60, 60]);
        let capped = RefreshSettings::for_kind(ListKind::Whl)
            .retry(Duration::from_secs(10), Duration::from_secs(100_000));
        assert_eq!(capped.backoff(40), DEFAULT_WHITELIST_INTERVAL);
        assert_eq!(
            RefreshSettings::for_kind(ListKind::Whl).jitter(7.0).jitter,
            1.0
        );
        // An interval beyond LISTS-8 is refused.
        let e = Refresher::new(
            store(),
            Scripted::new(vec![Err(500)]),
            RefreshSettings::for_kind(ListKind::Whl).interval(Duration::from_secs(2 * 3600)),
        )
        .unwrap_err();
        assert!(
            matches!(e, SettingsError::Interval { max_age, .. } if max_age == Duration::from_secs(3600))
        );
        assert!(e.to_string().contains("LISTS-8"), "{e}");
        assert!(
            Refresher::new(
                store(),
                Scripted::new(vec![Err(500)]),
                RefreshSettings::for_kind(ListKind::Whl).interval(Duration::ZERO),
            )
            .is_err()
        );
        // A zero retry delay would be a tight loop against the server.
        let e = Refresher::new(
            store(),
            Scripted::new(vec![Err(500)]),
            RefreshSettings::for_kind(ListKind::Whl).retry(Duration::ZERO, Duration::from_secs(1)),
        )
        .unwrap_err();
        assert_eq!(
            e,
            SettingsError::Zero {
                what: "retry_initial"
            }
        );
        // A jitter written out of range into the public field is clamped
        // when used, never a panic.
        let mut wild = RefreshSettings::for_kind(ListKind::Whl);
        wild.jitter = f64::NAN;
        assert!(Refresher::new(store(), Scripted::new(vec![Err(500)]), wild).is_ok());
    }
}
