//! A PostgreSQL [`TokenStore`] for authorization servers that run several gateway nodes
//! (feature `postgres`).
//!
//! Every operation is one SQL statement, so each is atomic on its own: single-use redemption
//! locks the code row (`FOR UPDATE`), and a replay that races a token issuance either sees the
//! token (and revokes it) or makes the issuance fail (MedMij OAUTH-8). A token is valid only
//! while the row of its code is in the redeemed state and names it, so revocation is the same
//! row update that marks the replay: a statement snapshot can never miss a token committed
//! concurrently. Codes and tokens are
//! keyed by their SHA-256 hashes (`bytea`); the clear values never reach the database
//! (MedMij OAUTH-14, RFC 6819 4.3.2, 4.4.1.2). Times are stored as `bigint` nanoseconds since
//! the Unix epoch, so the 900 s boundary (OAUTH-7) is exact.
//!
//! The store uses the synchronous `postgres` client (which runs a private runtime inside);
//! nothing async leaks into this crate's API. Connections are a small fixed pool. Use
//! [`PgStore::connect_no_tls`] on loopback or a Unix socket, or [`PgStore::from_clients`] with
//! connections you opened with TLS (MedMij TLS-1) for a remote database.

use crate::refresh::{CodeV2, ConsentId, ConsentRecord, LongLastingConsent, Rotation};
use crate::secret::SecretHash;
use crate::store::{
    CODE_RETENTION, CodeRecord, LIFETIME, Redemption, StoreError, TokenRecord, TokenStore,
};
use crate::{ClientId, Scope, ScopeForm, Subject, UseCase};
use postgres::{Client, NoTls, Statement};

mod v2;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Statements prepared on a connection at their first use, by a fixed name: each is parsed
/// and planned once per connection rather than once per call (a `format!`ed query string
/// handed to `query` costs a round trip and a parse every time).
#[derive(Default)]
pub(crate) struct StatementCache(rustc_hash::FxHashMap<&'static str, Statement>);

impl StatementCache {
    /// The statement named `name`, prepared from `sql()` on `client` the first time.
    pub(crate) fn get(
        &mut self,
        client: &mut Client,
        name: &'static str,
        sql: impl FnOnce() -> String,
    ) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.0.get(name) {
            return Ok(s.clone());
        }
        let s = client.prepare(&sql())?;
        self.0.insert(name, s.clone());
        Ok(s)
    }
}

struct Conn {
    client: Client,
    cache: StatementCache,
    insert_code: Statement,
    redeem_code: Statement,
    insert_token: Statement,
    lookup_token: Statement,
    sweep_codes: Statement,
    sweep_tokens: Statement,
}

/// The PostgreSQL token store. Tables are `<prefix>_codes` and `<prefix>_tokens`.
pub struct PgStore {
    conns: Vec<Mutex<Conn>>,
    next: AtomicUsize,
    prefix: String,
}

impl Drop for PgStore {
    /// Closes the connections on a thread of its own: the blocking `postgres` client closes
    /// by running its private runtime, which panics on a tokio worker thread ("Cannot start a
    /// runtime from within a runtime"), where the last handle of a store shared with async
    /// code is often dropped.
    fn drop(&mut self) {
        close_off_runtime(std::mem::take(&mut self.conns));
    }
}

/// Drops `value` (connections of the blocking `postgres` client) on a new thread and waits
/// for it, so that its closing never runs on an async runtime's thread. If no thread can be
/// started, the value is leaked rather than closed here (the server closes the sockets).
pub(crate) fn close_off_runtime<T: Send + 'static>(value: T) {
    let cell = std::sync::Arc::new(Mutex::new(Some(value)));
    let theirs = std::sync::Arc::clone(&cell);
    match std::thread::Builder::new()
        .name("medmij-pg-close".into())
        .spawn(move || drop(theirs.lock().ok().and_then(|mut v| v.take())))
    {
        Ok(handle) => {
            let _ = handle.join();
        }
        Err(_) => {
            if let Ok(mut v) = cell.lock() {
                std::mem::forget(v.take());
            }
        }
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("prefix", &self.prefix)
            .field("connections", &self.conns.len())
            .finish()
    }
}

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub(crate) fn nanos(t: SystemTime) -> Result<i64, StoreError> {
    let n = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).ok(),
        Err(e) => i64::try_from(e.duration().as_nanos()).ok().map(|n| -n),
    };
    n.ok_or_else(|| backend("time outside the range of i64 nanoseconds since 1970"))
}

pub(crate) fn time(n: i64) -> SystemTime {
    if n >= 0 {
        UNIX_EPOCH + Duration::from_nanos(n.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_nanos(n.unsigned_abs())
    }
}

/// `now - d` in nanoseconds, saturating.
fn before(now: SystemTime, d: Duration) -> Result<i64, StoreError> {
    Ok(nanos(now)?.saturating_sub(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)))
}

fn use_case_code(u: UseCase) -> i16 {
    match u {
        UseCase::Verzamelen => 0,
        UseCase::Delen => 1,
    }
}

fn use_case_of(c: i16) -> Result<UseCase, StoreError> {
    match c {
        0 => Ok(UseCase::Verzamelen),
        1 => Ok(UseCase::Delen),
        _ => Err(backend("stored use_case is neither 0 nor 1")),
    }
}

fn bad_row(what: &str) -> StoreError {
    backend(format!("stored {what} is not valid"))
}

pub(crate) fn valid_prefix(p: &str) -> bool {
    let b = p.as_bytes();
    !b.is_empty()
        && b.len() <= 40
        && b.first()
            .is_some_and(|&c| c.is_ascii_lowercase() || c == b'_')
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

impl PgStore {
    /// Opens `connections` plain connections (loopback or Unix socket only; see the module
    /// notes for TLS), creates the tables if missing and prepares the statements.
    ///
    /// `prefix` (1..40 of `[a-z0-9_]`, not starting with a digit) names the tables.
    pub fn connect_no_tls(url: &str, prefix: &str, connections: usize) -> Result<Self, StoreError> {
        let clients = (0..connections.max(1))
            .map(|_| Client::connect(url, NoTls).map_err(backend))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_clients(clients, prefix)
    }

    /// Uses connections the caller opened (for example with TLS), creates the tables if
    /// missing and prepares the statements.
    pub fn from_clients(mut clients: Vec<Client>, prefix: &str) -> Result<Self, StoreError> {
        if !valid_prefix(prefix) {
            return Err(backend(
                "table prefix must be 1..40 of [a-z0-9_], not starting with a digit",
            ));
        }
        let first = clients
            .first_mut()
            .ok_or_else(|| backend("at least one connection is needed"))?;
        first
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {p}_codes (
                    hash bytea PRIMARY KEY,
                    client_id text NOT NULL,
                    redirect_uri text NOT NULL,
                    scope text NOT NULL,
                    subject text NOT NULL,
                    use_case smallint NOT NULL,
                    issued_at bigint NOT NULL,
                    state smallint NOT NULL,
                    token_hash bytea,
                    token_issued_at bigint);
                 CREATE INDEX IF NOT EXISTS {p}_codes_issued ON {p}_codes (issued_at);
                 CREATE TABLE IF NOT EXISTS {p}_tokens (
                    hash bytea PRIMARY KEY,
                    code_hash bytea NOT NULL,
                    client_id text NOT NULL,
                    scope text NOT NULL,
                    subject text NOT NULL,
                    use_case smallint NOT NULL,
                    issued_at bigint NOT NULL);
                 CREATE INDEX IF NOT EXISTS {p}_tokens_issued ON {p}_tokens (issued_at);
                 {v2}",
                p = prefix,
                v2 = v2::migration(prefix)
            ))
            .map_err(backend)?;
        let conns = clients
            .into_iter()
            .map(|c| Self::prepare(c, prefix).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            conns,
            next: AtomicUsize::new(0),
            prefix: prefix.to_owned(),
        })
    }

    /// Drops the tables (for tests and decommissioning).
    pub fn drop_tables(&self) -> Result<(), StoreError> {
        self.conn()?
            .client
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS {p}_codes; DROP TABLE IF EXISTS {p}_tokens;
                 DROP TABLE IF EXISTS {p}_code_v2; DROP TABLE IF EXISTS {p}_chains;
                 DROP TABLE IF EXISTS {p}_refresh;",
                p = self.prefix
            ))
            .map_err(backend)
    }

    fn prepare(mut client: Client, p: &str) -> Result<Conn, StoreError> {
        // Code states: 0 issued, 1 redeemed, 2 breached (replayed).
        let mut prep = |sql: String| client.prepare(&sql).map_err(backend);
        let insert_code = prep(format!(
            "INSERT INTO {p}_codes AS c
                (hash, client_id, redirect_uri, scope, subject, use_case, issued_at, state, token_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, NULL)
             ON CONFLICT (hash) DO UPDATE SET
                client_id = EXCLUDED.client_id, redirect_uri = EXCLUDED.redirect_uri,
                scope = EXCLUDED.scope, subject = EXCLUDED.subject,
                use_case = EXCLUDED.use_case, issued_at = EXCLUDED.issued_at,
                state = 0, token_hash = NULL, token_issued_at = NULL
             WHERE c.issued_at <= $8"
        ))?;
        // A token is valid only while its code row is in state 1 and names it: a replay
        // (state 2) revokes it in the same row update that retires the code, so there is no
        // window in which a concurrent issuance could escape the revocation (MedMij OAUTH-8).
        let redeem_code = prep(format!(
            "WITH old AS (
                SELECT hash, state, token_hash, token_issued_at FROM {p}_codes
                WHERE hash = $1 AND issued_at > $2 FOR UPDATE)
             UPDATE {p}_codes c SET state = CASE WHEN old.state = 0 THEN 1 ELSE 2 END
             FROM old WHERE c.hash = old.hash
             RETURNING c.client_id, c.redirect_uri, c.scope, c.subject, c.use_case,
                       c.issued_at, old.state,
                       (old.state = 1 AND old.token_hash IS NOT NULL
                        AND old.token_issued_at > $3)"
        ))?;
        let insert_token = prep(format!(
            "WITH eligible AS (
                SELECT hash FROM {p}_codes
                WHERE hash = $2 AND state = 1 AND token_hash IS NULL FOR UPDATE),
             t AS (
                INSERT INTO {p}_tokens AS tk
                    (hash, code_hash, client_id, scope, subject, use_case, issued_at)
                SELECT $1, $2, $3, $4, $5, $6, $7 FROM eligible
                ON CONFLICT (hash) DO UPDATE SET
                    code_hash = EXCLUDED.code_hash, client_id = EXCLUDED.client_id,
                    scope = EXCLUDED.scope, subject = EXCLUDED.subject,
                    use_case = EXCLUDED.use_case, issued_at = EXCLUDED.issued_at,
                    chain_id = NULL, via_refresh = false, v2 = false
                WHERE tk.issued_at <= $8
                RETURNING hash),
             c AS (
                UPDATE {p}_codes SET token_hash = $1, token_issued_at = $7
                WHERE hash = $2 AND EXISTS (SELECT 1 FROM t)
                RETURNING hash)
             SELECT (SELECT count(*) FROM eligible), (SELECT count(*) FROM t),
                    (SELECT count(*) FROM c)"
        ))?;
        // 1.x: valid while its code row names it in state 1. 2.x: a token of a long-lasting
        // consent also needs the chain unrevoked; one issued by a refresh has no code row
        // (MedMij OAUTH-19).
        let lookup_token = prep(format!(
            "SELECT t.client_id, t.scope, t.subject, t.use_case, t.issued_at
             FROM {p}_tokens t
             LEFT JOIN {p}_codes c
               ON c.hash = t.code_hash AND c.token_hash = t.hash AND c.state = 1
             LEFT JOIN {p}_chains ch ON ch.id = t.chain_id
             WHERE t.hash = $1 AND t.issued_at > $2
               AND (c.hash IS NOT NULL OR t.via_refresh)
               AND (t.chain_id IS NULL OR (ch.id IS NOT NULL AND NOT ch.revoked))"
        ))?;
        let sweep_codes = prep(format!("DELETE FROM {p}_codes WHERE issued_at <= $1"))?;
        let sweep_tokens = prep(format!("DELETE FROM {p}_tokens WHERE issued_at <= $1"))?;
        Ok(Conn {
            client,
            cache: StatementCache::default(),
            insert_code,
            redeem_code,
            insert_token,
            lookup_token,
            sweep_codes,
            sweep_tokens,
        })
    }

    /// A free connection if there is one, else waits for the next in turn. Fails only
    /// without connections (the constructor refuses that; `Drop` takes them).
    fn conn(&self) -> Result<MutexGuard<'_, Conn>, StoreError> {
        let n = self.conns.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n.max(1);
        let (from_start, before) = self
            .conns
            .split_at_checked(start)
            .map_or((self.conns.as_slice(), &[][..]), |(before, from)| {
                (from, before)
            });
        if let Some(g) = from_start
            .iter()
            .chain(before)
            .find_map(|c| c.try_lock().ok())
        {
            return Ok(g);
        }
        // A panic while holding a connection leaves no half-done state in the database
        // (statements are atomic), so a poisoned lock is safe to reuse.
        let c = from_start
            .first()
            .ok_or_else(|| backend("no database connection"))?;
        Ok(c.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl TokenStore for PgStore {
    fn insert_code(
        &self,
        hash: &SecretHash,
        record: &CodeRecord,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let mut c = self.conn()?;
        let c = &mut *c;
        let n = c
            .client
            .execute(
                &c.insert_code,
                &[
                    &&hash.as_bytes()[..],
                    &record.client_id.as_str(),
                    &&*record.redirect_uri,
                    &record.scope.as_str(),
                    &record.subject.as_str(),
                    &use_case_code(record.use_case),
                    &nanos(record.issued_at)?,
                    &before(now, CODE_RETENTION)?,
                ],
            )
            .map_err(backend)?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::Collision)
        }
    }

    fn redeem_code(&self, hash: &SecretHash, now: SystemTime) -> Result<Redemption, StoreError> {
        let mut c = self.conn()?;
        let c = &mut *c;
        let rows = c
            .client
            .query(
                &c.redeem_code,
                &[
                    &&hash.as_bytes()[..],
                    &before(now, CODE_RETENTION)?,
                    &before(now, LIFETIME)?,
                ],
            )
            .map_err(backend)?;
        let Some(row) = rows.first() else {
            return Ok(Redemption::Unknown);
        };
        let old_state: i16 = row.try_get(6).map_err(backend)?;
        let revoked: bool = row.try_get(7).map_err(backend)?;
        match old_state {
            0 => {
                let record = CodeRecord {
                    client_id: ClientId::new(row.try_get(0).map_err(backend)?)
                        .map_err(|_| bad_row("client_id"))?,
                    redirect_uri: row.try_get::<_, &str>(1).map_err(backend)?.into(),
                    scope: Scope::parse(row.try_get(2).map_err(backend)?, ScopeForm::Multiple)
                        .map_err(|_| bad_row("scope"))?,
                    subject: Subject::new(row.try_get::<_, String>(3).map_err(backend)?)
                        .map_err(|_| bad_row("subject"))?,
                    use_case: use_case_of(row.try_get(4).map_err(backend)?)?,
                    issued_at: time(row.try_get(5).map_err(backend)?),
                };
                if now < record.expires_at() {
                    Ok(Redemption::Fresh(record))
                } else {
                    Ok(Redemption::Expired)
                }
            }
            _ => Ok(Redemption::Replayed {
                token_revoked: revoked,
            }),
        }
    }

    fn insert_token(
        &self,
        hash: &SecretHash,
        record: &TokenRecord,
        code: &SecretHash,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let mut c = self.conn()?;
        let c = &mut *c;
        let row = c
            .client
            .query_one(
                &c.insert_token,
                &[
                    &&hash.as_bytes()[..],
                    &&code.as_bytes()[..],
                    &record.client_id.as_str(),
                    &record.scope.as_str(),
                    &record.subject.as_str(),
                    &use_case_code(record.use_case),
                    &nanos(record.issued_at)?,
                    &before(now, LIFETIME)?,
                ],
            )
            .map_err(backend)?;
        let eligible: i64 = row.try_get(0).map_err(backend)?;
        let inserted: i64 = row.try_get(1).map_err(backend)?;
        match (eligible, inserted) {
            (0, _) => Err(StoreError::CodeRevoked),
            (_, 0) => Err(StoreError::Collision),
            _ => Ok(()),
        }
    }

    fn lookup_token(
        &self,
        hash: &SecretHash,
        now: SystemTime,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let mut c = self.conn()?;
        let c = &mut *c;
        let rows = c
            .client
            .query(
                &c.lookup_token,
                &[&&hash.as_bytes()[..], &before(now, LIFETIME)?],
            )
            .map_err(backend)?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        Ok(Some(TokenRecord {
            client_id: ClientId::new(row.try_get(0).map_err(backend)?)
                .map_err(|_| bad_row("client_id"))?,
            scope: Scope::parse(row.try_get(1).map_err(backend)?, ScopeForm::Multiple)
                .map_err(|_| bad_row("scope"))?,
            subject: Subject::new(row.try_get::<_, String>(2).map_err(backend)?)
                .map_err(|_| bad_row("subject"))?,
            use_case: use_case_of(row.try_get(3).map_err(backend)?)?,
            issued_at: time(row.try_get(4).map_err(backend)?),
        }))
    }

    fn sweep(&self, now: SystemTime) -> Result<usize, StoreError> {
        let mut c = self.conn()?;
        let c = &mut *c;
        let a = c
            .client
            .execute(&c.sweep_codes, &[&before(now, CODE_RETENTION)?])
            .map_err(backend)?;
        let b = c
            .client
            .execute(&c.sweep_tokens, &[&before(now, LIFETIME)?])
            .map_err(backend)?;
        Ok(usize::try_from(a + b).unwrap_or(usize::MAX))
    }

    fn insert_code_v2(
        &self,
        code: &SecretHash,
        v2: &CodeV2,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        self.pg_insert_code_v2(code, v2, now)
    }

    fn code_v2(&self, code: &SecretHash, now: SystemTime) -> Result<Option<CodeV2>, StoreError> {
        self.pg_code_v2(code, now)
    }

    fn insert_token_with_refresh(
        &self,
        access: &SecretHash,
        record: &TokenRecord,
        code: &SecretHash,
        refresh: &SecretHash,
        consent: &ConsentRecord,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        self.pg_insert_token_with_refresh(access, record, code, refresh, consent, now)
    }

    fn rotate_refresh(
        &self,
        presented: &SecretHash,
        new_access: &SecretHash,
        new_refresh: &SecretHash,
        client: &ClientId,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<Rotation, StoreError> {
        self.pg_rotate(presented, new_access, new_refresh, client, now, lifetime)
    }

    fn revoke_consent_of_code(
        &self,
        code: &SecretHash,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        self.pg_revoke_of_code(code, now)
    }

    fn long_lasting_consents(
        &self,
        subject: &Subject,
        client: &ClientId,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<Vec<LongLastingConsent>, StoreError> {
        self.pg_consents(subject, client, now, lifetime)
    }

    fn withdraw_consent(
        &self,
        id: &ConsentId,
        subject: &Subject,
        client: &ClientId,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        self.pg_withdraw(id, subject, client, now)
    }

    fn sweep_v2(&self, now: SystemTime, lifetime: Duration) -> Result<usize, StoreError> {
        self.pg_sweep_v2(now, lifetime)
    }

    fn mark_token_v2(&self, access: &SecretHash, _now: SystemTime) -> Result<(), StoreError> {
        self.pg_mark_v2(access)
    }

    fn token_is_v2(&self, access: &SecretHash, _now: SystemTime) -> Result<bool, StoreError> {
        self.pg_is_v2(access)
    }
}
