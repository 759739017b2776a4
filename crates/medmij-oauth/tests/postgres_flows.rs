//! Pending flows in PostgreSQL (feature `postgres`): the flow-store limits (MedMij OAUTH-14)
//! and two gateway nodes sharing one database (token store and flow store) that continue
//! each other's flows, one of them dropped halfway (OAUTH-11).
//!
//! Needs `MEDMIJ_TEST_DATABASE_URL` (see tests/postgres.rs); never skips silently.
#![cfg(feature = "postgres")]

mod common;
use common::flows::*;
use medmij_oauth::*;
use std::sync::atomic::{AtomicUsize, Ordering};

fn url() -> String {
    std::env::var("MEDMIJ_TEST_DATABASE_URL")
        .unwrap_or_else(|_| panic!("MEDMIJ_TEST_DATABASE_URL is not set (see tests/postgres.rs)"))
}

fn prefix(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "oauth_{tag}_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

type PgNode = Node<PgStore, PgFlowStore>;

fn node(prefix: &str, limits: FlowLimits) -> PgNode {
    Node {
        server: AuthorizationServer::new(
            common::config(),
            common::registry(),
            PgStore::connect_no_tls(&url(), prefix, 2).unwrap(),
        ),
        flows: PendingFlows::new(
            PgFlowStore::connect_no_tls(&url(), prefix, 2, limits).unwrap(),
            limits,
        ),
    }
}

mod oauth_14 {
    use super::*;

    /// MedMij OAUTH-14: the PostgreSQL flow store keeps the same limits as the memory one.
    #[test]
    fn pg_flow_store_limits() {
        let p = prefix("fl");
        let s = PgFlowStore::connect_no_tls(&url(), &p, 1, small_limits()).unwrap();
        limits(&s);
        s.drop_table().unwrap();
    }

    /// MedMij OAUTH-14: the store answers with the limits it was opened with (a host reads
    /// them for its `Retry-After` and its pages).
    #[test]
    fn pg_flow_store_keeps_its_limits() {
        let p = prefix("lim");
        let l = small_limits();
        let s = PgFlowStore::connect_no_tls(&url(), &p, 1, l).unwrap();
        assert_eq!(*s.limits(), l);
        assert_ne!(*s.limits(), FlowLimits::default());
        s.drop_table().unwrap();
    }

    /// MedMij OAUTH-14: admissions racing from several nodes never exceed a client's limit.
    #[test]
    fn pg_flow_limits_hold_under_concurrency() {
        let p = prefix("flc");
        let l = FlowLimits {
            per_client: 10,
            per_source: 1000,
            ..FlowLimits::default()
        };
        let stores: Vec<PgFlowStore> = (0..4)
            .map(|_| PgFlowStore::connect_no_tls(&url(), &p, 2, l).unwrap())
            .collect();
        let admitted = AtomicUsize::new(0);
        std::thread::scope(|sc| {
            for (i, s) in stores.iter().enumerate() {
                let admitted = &admitted;
                sc.spawn(move || {
                    for j in 0..10 {
                        let o = owner(common::CLIENT, &format!("10.1.{i}.{j}"));
                        let id = FlowId::random(&ThreadRandom).hash();
                        let far = common::t0() + std::time::Duration::from_secs(900);
                        match s.put(&id, &o, "{}", far, Admission::New, common::t0()) {
                            Ok(()) => {
                                admitted.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(FlowError::Busy(b)) => assert_eq!(b.limit(), FlowLimit::PerClient),
                            Err(e) => panic!("{e}"),
                        }
                    }
                });
            }
        });
        assert_eq!(admitted.load(Ordering::Relaxed), 10);
        stores[0].drop_table().unwrap();
    }
}

mod oauth_11 {
    use super::*;

    /// MedMij OAUTH-11: a gateway node shares the store with async code, where the last
    /// handle is often dropped on a runtime worker; dropping it there closes its connections
    /// off the runtime instead of panicking ("Cannot start a runtime from within a
    /// runtime").
    #[test]
    fn pg_flow_store_can_be_dropped_on_a_runtime_worker() {
        let p = prefix("drop");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (u, p2) = (url(), p.clone());
        let dropped = rt.block_on(async move {
            let store = tokio::task::spawn_blocking(move || {
                PgFlowStore::connect_no_tls(&u, &p2, 2, small_limits()).unwrap()
            })
            .await
            .unwrap();
            // On the worker thread itself.
            tokio::spawn(async move { drop(store) }).await
        });
        assert!(dropped.is_ok(), "dropping the store panicked: {dropped:?}");
        drop(rt);
        PgFlowStore::connect_no_tls(&url(), &p, 1, small_limits())
            .unwrap()
            .drop_table()
            .unwrap();
    }

    /// MedMij OAUTH-11 across nodes: two servers share one database (token store and flow
    /// store). Every step of every flow runs on the other node than the step before; after
    /// the consent step node B is dropped and node A finishes every flow.
    #[test]
    fn two_nodes_alternate_and_one_is_dropped_midway() {
        let p = prefix("nodes");
        let a = node(&p, FlowLimits::default());
        let mut b = Some(node(&p, FlowLimits::default()));
        let mut people: Vec<Person> = (0..12)
            .map(|n| Person {
                n,
                id: None,
                token: None,
                done: false,
            })
            .collect();
        let mut on_b = 0;
        for s in 0..STEPS {
            if s == 4 {
                // Node B goes away (its connections close); its flows are in the database.
                drop(b.take());
            }
            for person in &mut people {
                match (&b, (person.n + s) % 2) {
                    (Some(b), 1) => {
                        step(b, person, s);
                        on_b += 1;
                    }
                    _ => step(&a, person, s),
                }
            }
        }
        assert!(people.iter().all(|p| p.done));
        assert_eq!(on_b, 24, "node B ran half of steps 0..4");
        assert_eq!(
            a.flows.store().sweep(common::t0() + LIFETIME).unwrap(),
            vec![]
        );
        a.flows.store().drop_table().unwrap();
        a.server.store().drop_tables().unwrap();
    }
}

mod oauth_12 {
    use super::*;

    /// MedMij OAUTH-12 case 5: the PostgreSQL flow store hands a late step its expired flow,
    /// as the memory one does.
    #[test]
    fn pg_flow_store_take_late() {
        let p = prefix("late");
        let s = PgFlowStore::connect_no_tls(&url(), &p, 1, small_limits()).unwrap();
        late(&s);
        s.drop_table().unwrap();
    }

    /// MedMij OAUTH-12 case 5: a grace too long for the table's nanoseconds (here
    /// `Duration::MAX`) is taken as about 146 years, not as nothing: a step days after its
    /// flow expired still finds it, late.
    #[test]
    fn pg_an_unbounded_grace_keeps_late_flows_answerable() {
        use std::time::Duration;
        let p = prefix("grace");
        let l = FlowLimits {
            grace: Duration::MAX,
            ..small_limits()
        };
        let s = PgFlowStore::connect_no_tls(&url(), &p, 1, l).unwrap();
        let t = common::t0();
        let id = FlowId::random(&ThreadRandom).hash();
        let o = owner(common::CLIENT, "192.0.2.60");
        s.put(
            &id,
            &o,
            "{}",
            t + Duration::from_secs(900),
            Admission::New,
            t,
        )
        .unwrap();
        let days_later = t + Duration::from_secs(900 + 3 * 86_400);
        let (f, lateness) = s.take_late(&id, days_later).unwrap().expect("still kept");
        assert_eq!((f.owner, lateness), (o, Lateness::LateUnreported));
        s.drop_table().unwrap();
    }

    /// MedMij OAUTH-12 case 5, LOG-1: the PostgreSQL flow store reports every abandoned flow
    /// exactly once and keeps it answerable for its grace, as the memory one does; expired
    /// flows never block admission.
    #[test]
    fn pg_every_abandoned_flow_is_reported_once() {
        let l = small_limits();
        let delays: Vec<Option<u64>> = (0..60u64)
            .map(|i| match i % 5 {
                0 => None,
                1 => Some(0),
                2 => Some(i * 13 % 900),
                3 => Some(900 + i % 7),
                _ => Some(2_000),
            })
            .collect();
        for sweep_every in [0, 1, 7] {
            let p = prefix("exp");
            let s = PgFlowStore::connect_no_tls(&url(), &p, 1, l).unwrap();
            abandoned_over_time(&s, &l, &delays, 300, sweep_every);
            s.drop_table().unwrap();
        }
    }

    /// MedMij OAUTH-12 case 5, LOG-1: two nodes sweeping the same table report each expired
    /// flow once between them.
    #[test]
    fn pg_two_nodes_report_each_expired_flow_once() {
        let p = prefix("exp2");
        let l = FlowLimits {
            per_source: 1000,
            per_client: 1000,
            total: 1000,
            ..small_limits()
        };
        let a = PgFlowStore::connect_no_tls(&url(), &p, 1, l).unwrap();
        let b = PgFlowStore::connect_no_tls(&url(), &p, 1, l).unwrap();
        let t = common::t0();
        let o = owner(common::CLIENT, "192.0.2.9");
        for i in 0..40 {
            let id = FlowId::random(&ThreadRandom).hash();
            a.put(&id, &o, &format!("{i}"), t + l.ttl, Admission::New, t)
                .unwrap();
        }
        let at = t + l.ttl;
        let (ra, rb) = std::thread::scope(|sc| {
            let ha = sc.spawn(|| a.sweep(at).unwrap());
            let hb = sc.spawn(|| b.sweep(at).unwrap());
            (ha.join().unwrap(), hb.join().unwrap())
        });
        let mut all: Vec<u32> = ra
            .iter()
            .chain(&rb)
            .map(|f| f.data.parse().unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..40).collect::<Vec<u32>>());
        a.drop_table().unwrap();
    }
}
