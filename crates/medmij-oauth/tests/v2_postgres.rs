//! Release 2.x against the PostgreSQL store (MedMij OAUTH-8, OAUTH-19, OAUTH-22): the same
//! store-generic checks and properties as tests/v2.rs, and the migration that keeps 1.x
//! rows working. Needs `MEDMIJ_TEST_DATABASE_URL`; never skips silently.
#![cfg(feature = "postgres")]

mod v2_common;
use medmij_oauth::*;
use proptest::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use v2_common::*;

fn url() -> String {
    std::env::var("MEDMIJ_TEST_DATABASE_URL")
        .unwrap_or_else(|_| panic!("MEDMIJ_TEST_DATABASE_URL is not set (see tests/postgres.rs)"))
}

fn prefix() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "oauth_v2_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// A server on a PgStore with fresh tables, dropped afterwards.
struct Pg(Srv<PgStore>);
impl Pg {
    fn new() -> Self {
        let store = PgStore::connect_no_tls(&url(), &prefix(), 2)
            .unwrap_or_else(|e| panic!("cannot connect to MEDMIJ_TEST_DATABASE_URL: {e}"));
        Pg(server_with(store))
    }
}
impl Drop for Pg {
    fn drop(&mut self) {
        let _ = self.0.store().drop_tables();
    }
}

mod oauth_19 {
    use super::*;

    #[test]
    fn pg_rotation_retires_at_once_and_replay_revokes_the_chain() {
        checks::rotation(&Pg::new().0);
    }

    #[test]
    fn pg_chain_lapses_exactly_after_the_refresh_lifetime() {
        checks::lapse_boundary(&Pg::new().0);
    }

    #[test]
    fn pg_concurrent_presentations_yield_at_most_one_rotation() {
        checks::concurrent_presentations(&Pg::new().0);
    }

    #[test]
    fn pg_sweep_forgets_lapsed_chains_only() {
        let pg = Pg::new();
        let s = &pg.0;
        let (_t, _a, r) = long_lasting(s, t0());
        let life = DEFAULT_REFRESH_LIFETIME;
        assert_eq!(s.store().sweep_v2(t0() + life - SEC, life).unwrap(), 1); // the code data
        let person = Subject::new("persoon-1").unwrap();
        assert_eq!(
            s.long_lasting_consents(&person, &client(), t0() + life - SEC)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(s.store().sweep_v2(t0() + life, life).unwrap(), 1); // the chain
        let out = post(
            s,
            &refresh_body(&client(), &r),
            Some(&ids()),
            &client(),
            t0() + SEC,
        );
        assert_eq!(error(&out), "invalid_grant");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]

        /// Never two valid refresh tokens in one chain; a retired one presented again
        /// revokes every token of the chain.
        #[test]
        fn pg_only_the_last_refresh_token_is_valid(n in 0usize..4, pick in 0usize..5, step in 1u64..1_000_000) {
            let pg = Pg::new();
            let s = &pg.0;
            let (all, access, now) = chain(s, n, Duration::from_secs(step));
            let i = pick % all.len();
            let t = ids();
            let out = post(s, &refresh_body(&client(), &all[i]), Some(&t), &client(), now + SEC);
            if i + 1 == all.len() {
                prop_assert_eq!(out.response.status(), 200);
            } else {
                prop_assert_eq!(error(&out), "invalid_grant");
                prop_assert!(!can_read(s, &access, "1", now + SEC));
                let last = post(s, &refresh_body(&client(), all.last().unwrap()), Some(&t), &client(), now + SEC * 2);
                prop_assert_eq!(error(&last), "invalid_grant");
            }
        }

        /// A chain lapses exactly 15,811,200 s after its last rotation.
        #[test]
        fn pg_chain_lapses_after_last_rotation(n in 0usize..3, d in 15_811_195u64..15_811_205) {
            let pg = Pg::new();
            let s = &pg.0;
            let (all, _, now) = chain(s, n, Duration::from_secs(86_400));
            let out = post(s, &refresh_body(&client(), all.last().unwrap()), Some(&ids()), &client(), now + Duration::from_secs(d));
            prop_assert_eq!(out.response.status() == 200, d < 15_811_200);
        }
    }
}

mod oauth_1 {
    use super::*;

    #[test]
    fn pg_v1_flows_never_receive_a_refresh_token() {
        checks::no_refresh_without_long_lasting(&Pg::new().0);
    }
}

mod oauth_8 {
    use super::*;

    #[test]
    fn pg_replayed_2x_code_revokes_access_and_refresh_token() {
        checks::code_replay_revokes_chain(&Pg::new().0);
    }
}

mod oauth_21 {
    use super::*;

    #[test]
    fn pg_v2_tokens_need_the_ids_at_the_resource_endpoint() {
        checks::v2_tokens_need_ids(&Pg::new().0);
    }
}

mod oauth_22 {
    use super::*;

    #[test]
    fn pg_withdrawal_revokes_the_chain() {
        checks::withdrawal(&Pg::new().0);
    }
}

mod oauth_14 {
    use super::*;

    /// The migration keeps 1.x rows working: a token issued on the 1.x schema (no 2.x
    /// tables or columns) is still valid once a 2.x store opens the same tables.
    #[test]
    fn pg_migration_keeps_existing_v1_rows() {
        let p = prefix();
        let s = server_with(PgStore::connect_no_tls(&url(), &p, 1).unwrap());
        let q = format!(
            "response_type=code&client_id=pgo.example.nl&redirect_uri={REDIRECT}&scope=umcharderwijk%7E1&state=x"
        );
        let code = code_via(&s, &q, ConsentPeriod::ThisFlow, t0());
        let (a, _) = tokens(&post(
            &s,
            &code_body(&client(), &code),
            None,
            &client(),
            t0(),
        ));
        drop(s);
        // Back to the 1.x schema.
        let mut db = postgres::Client::connect(&url(), postgres::NoTls).unwrap();
        db.batch_execute(&format!(
            "ALTER TABLE {p}_tokens DROP COLUMN chain_id; ALTER TABLE {p}_tokens DROP COLUMN via_refresh;
             DROP TABLE {p}_chains; DROP TABLE {p}_refresh; DROP TABLE {p}_code_v2;"
        ))
        .unwrap();
        // Hashes only at rest (MedMij OAUTH-14): the key is the token's SHA-256.
        let rows = db
            .query(&format!("SELECT hash FROM {p}_tokens"), &[])
            .unwrap();
        assert_eq!(rows.len(), 1);
        let stored: &[u8] = rows[0].get(0);
        assert_eq!(
            stored,
            &AccessToken::parse(&a).unwrap().hash().as_bytes()[..]
        );
        let s = server_with(PgStore::connect_no_tls(&url(), &p, 1).unwrap());
        assert!(can_read(&s, &a, "1", t0() + SEC));
        // And 2.x works on the migrated tables.
        checks::rotation(&s);
        let (_, _, r) = long_lasting(&s, t0());
        let h = RefreshToken::parse(&r).unwrap().hash();
        let n: i64 = db
            .query_one(
                &format!("SELECT count(*) FROM {p}_refresh WHERE hash = $1"),
                &[&&h.as_bytes()[..]],
            )
            .unwrap()
            .get(0);
        assert_eq!(n, 1);
        s.store().drop_tables().unwrap();
    }
}

/// The store-level 2.x checks of tests/v2.rs `store_v2`, against PostgreSQL: every
/// collision across codes, access and refresh tokens refused on its own (MedMij OAUTH-6),
/// a chain only for a code redeemed once and a replayed code revoking it (OAUTH-8), a replay
/// revoking the chain's live access tokens (OAUTH-19), withdrawal and overview
/// (OAUTH-22).
mod store_v2 {
    use super::*;
    use v2_common::store_level;

    /// A PgStore on fresh tables.
    fn fresh() -> PgStore {
        PgStore::connect_no_tls(&url(), &prefix(), 1)
            .unwrap_or_else(|e| panic!("cannot connect to MEDMIJ_TEST_DATABASE_URL: {e}"))
    }

    fn done(s: PgStore) {
        let _ = s.drop_tables();
    }

    mod oauth_6 {
        use super::*;

        #[test]
        fn pg_opening_a_chain_refuses_each_collision_alone() {
            store_level::opening_a_chain_refuses_each_collision_alone(fresh, done);
        }

        #[test]
        fn pg_rotating_refuses_each_collision_alone() {
            store_level::rotating_refuses_each_collision_alone(fresh, done);
        }
    }

    mod oauth_8 {
        use super::*;

        #[test]
        fn pg_a_chain_needs_a_code_redeemed_once() {
            done(store_level::a_chain_needs_a_code_redeemed_once(fresh()));
        }

        #[test]
        fn pg_a_replayed_code_revokes_its_chain_once() {
            done(store_level::a_replayed_code_revokes_its_chain_once(fresh()));
        }
    }

    mod oauth_19 {
        use super::*;

        #[test]
        fn pg_replay_revokes_every_live_access_token_of_the_chain() {
            done(store_level::replay_revokes_every_live_access_token_of_the_chain(fresh()));
        }
    }

    mod oauth_22 {
        use super::*;

        #[test]
        fn pg_withdrawal_needs_the_consents_own_person_and_client() {
            done(store_level::withdrawal_needs_the_consents_own_person_and_client(fresh()));
        }

        #[test]
        fn pg_overview_lists_a_consent_until_it_lapses() {
            done(store_level::overview_lists_a_consent_until_it_lapses(
                fresh(),
            ));
        }
    }
}
