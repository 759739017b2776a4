//! A PostgreSQL [`FlowStore`] (feature `postgres`): pending flows shared by every node of a
//! gateway, so that any node continues any flow.
//!
//! Flows are keyed by the SHA-256 hash of their [`FlowId`](crate::FlowId) (MedMij OAUTH-14).
//! Admitting a new flow is one transaction of two statements: the first takes two advisory
//! locks, the client's and then the source address's (always in that order, so two
//! admissions cannot deadlock); the second counts the unexpired flows (each count stops at
//! its limit) and inserts only below every limit: the per-client and per-source limits are
//! exact across nodes. Every statement is prepared once per connection. The total is counted in the same transaction without a lock of its own, so
//! concurrent admissions of different clients may pass it by at most their number.
//!
//! An expired flow stays in the table for [`FlowLimits::grace`] (not counted) so that a late
//! step ends it as MedMij OAUTH-12 case 5; its row's `reported` flag, set by
//! [`FlowStore::sweep`] or cleared by the late step's delete, makes its report exactly once
//! across nodes. [`FlowStore::sweep`] deletes reported rows past the grace, and beyond the
//! newest [`FlowLimits::total`] expired ones.
//!
//! Like [`PgStore`](crate::PgStore) this uses the blocking `postgres` client: from async
//! code call it through [`run_blocking`](crate::run_blocking) (feature `tokio`).

use crate::ClientId;
use crate::flow::{
    Admission, Busy, ExpiredFlow, FlowError, FlowLimit, FlowLimits, FlowOwner, FlowStore, Lateness,
    StoredFlow,
};
use crate::pg::{StatementCache, close_off_runtime, nanos, time, valid_prefix};
use crate::secret::SecretHash;
use postgres::{Client, NoTls};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

fn backend(e: impl std::fmt::Display) -> FlowError {
    FlowError::Backend(e.to_string())
}

fn store_err(e: crate::store::StoreError) -> FlowError {
    FlowError::Backend(e.to_string())
}

/// A connection and the statements prepared on it.
struct Conn {
    client: Client,
    cache: StatementCache,
}

impl Conn {
    /// Runs the statement `name` (prepared from `sql()` on first use) and returns its rows.
    fn query(
        &mut self,
        name: &'static str,
        sql: impl FnOnce() -> String,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, FlowError> {
        let stmt = self
            .cache
            .get(&mut self.client, name, sql)
            .map_err(backend)?;
        self.client.query(&stmt, params).map_err(backend)
    }
}

/// The PostgreSQL flow store. The table is `<prefix>_flows`.
pub struct PgFlowStore {
    conns: Vec<Mutex<Conn>>,
    next: AtomicUsize,
    prefix: String,
    limits: FlowLimits,
}

impl std::fmt::Debug for PgFlowStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgFlowStore")
            .field("prefix", &self.prefix)
            .field("connections", &self.conns.len())
            .field("limits", &self.limits)
            .finish()
    }
}

impl Drop for PgFlowStore {
    /// Closes the connections off any async runtime (see [`PgStore`](crate::PgStore)).
    fn drop(&mut self) {
        close_off_runtime(std::mem::take(&mut self.conns));
    }
}

impl PgFlowStore {
    /// Opens `connections` plain connections (loopback or Unix socket only; use
    /// [`PgFlowStore::from_clients`] with TLS connections for a remote database, MedMij
    /// TLS-1) and creates the table if missing. `prefix` as for
    /// [`PgStore::connect_no_tls`](crate::PgStore::connect_no_tls).
    pub fn connect_no_tls(
        url: &str,
        prefix: &str,
        connections: usize,
        limits: FlowLimits,
    ) -> Result<Self, FlowError> {
        let clients = (0..connections.max(1))
            .map(|_| Client::connect(url, NoTls).map_err(backend))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_clients(clients, prefix, limits)
    }

    /// Uses connections the caller opened and creates the table if missing.
    pub fn from_clients(
        mut clients: Vec<Client>,
        prefix: &str,
        limits: FlowLimits,
    ) -> Result<Self, FlowError> {
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
                "CREATE TABLE IF NOT EXISTS {prefix}_flows (
                    hash bytea PRIMARY KEY,
                    client_id text NOT NULL,
                    source text NOT NULL,
                    source_key text NOT NULL,
                    data text NOT NULL,
                    expires_at bigint NOT NULL,
                    reported boolean NOT NULL DEFAULT false);
                 ALTER TABLE {prefix}_flows
                    ADD COLUMN IF NOT EXISTS reported boolean NOT NULL DEFAULT false;
                 CREATE INDEX IF NOT EXISTS {prefix}_flows_client ON {prefix}_flows (client_id);
                 CREATE INDEX IF NOT EXISTS {prefix}_flows_source ON {prefix}_flows (source_key);
                 CREATE INDEX IF NOT EXISTS {prefix}_flows_expires ON {prefix}_flows (expires_at);"
            ))
            .map_err(backend)?;
        Ok(Self {
            conns: clients
                .into_iter()
                .map(|client| {
                    Mutex::new(Conn {
                        client,
                        cache: StatementCache::default(),
                    })
                })
                .collect(),
            next: AtomicUsize::new(0),
            prefix: prefix.to_owned(),
            limits,
        })
    }

    /// The limits.
    pub fn limits(&self) -> &FlowLimits {
        &self.limits
    }

    /// [`FlowLimits::grace`] in the table's time unit (nanoseconds).
    fn grace_nanos(&self) -> i64 {
        i64::try_from(self.limits.grace.as_nanos()).unwrap_or(i64::MAX / 2)
    }

    /// Drops the table (for tests and decommissioning).
    pub fn drop_table(&self) -> Result<(), FlowError> {
        self.conn()?
            .client
            .batch_execute(&format!("DROP TABLE IF EXISTS {}_flows", self.prefix))
            .map_err(backend)
    }

    /// A free connection if there is one, else waits for the next in turn. Fails only
    /// without connections (the constructor refuses that; `Drop` takes them).
    fn conn(&self) -> Result<MutexGuard<'_, Conn>, FlowError> {
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
        // Every operation is a statement or a transaction the server rolls back if it is not
        // committed: a poisoned connection holds no half-done state.
        let c = from_start
            .first()
            .ok_or_else(|| backend("no database connection"))?;
        Ok(c.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Admits a new flow: one transaction of two statements. The first takes the client's and
    /// then the source's advisory lock (always in that order, so two admissions cannot
    /// deadlock); the second, run after the locks are held and so seeing every admission
    /// committed before, drops this owner's reported flows past their grace, counts the
    /// unexpired flows (each count stops at its limit, so the work per admission is bounded
    /// by the limits, not by the table) and inserts only if every count is below its limit
    /// (MedMij OAUTH-14).
    fn admit(
        &self,
        c: &mut Conn,
        id: &SecretHash,
        owner: &FlowOwner,
        data: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), FlowError> {
        let p = &self.prefix;
        let l = &self.limits;
        let client = owner.client_id.as_str();
        let source = owner.source.to_string();
        let key = owner.source_key().to_string();
        let limit = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let (per_source, per_client, total) =
            (limit(l.per_source), limit(l.per_client), limit(l.total));
        let lock = c
            .cache
            .get(&mut c.client, "flow_lock", || {
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0)),
                        pg_advisory_xact_lock(hashtextextended($2, 0))"
                    .to_owned()
            })
            .map_err(backend)?;
        let insert = c
            .cache
            .get(&mut c.client, "flow_admit", || {
                format!(
                    "WITH gone AS (
                        DELETE FROM {p}_flows
                        WHERE expires_at <= $7 AND reported AND (client_id = $2 OR source_key = $4)),
                     n AS (SELECT
                        (SELECT count(*) FROM (SELECT 1 FROM {p}_flows
                            WHERE source_key = $4 AND expires_at > $8 AND hash <> $1
                            LIMIT $9) s) AS by_source,
                        (SELECT count(*) FROM (SELECT 1 FROM {p}_flows
                            WHERE client_id = $2 AND expires_at > $8 AND hash <> $1
                            LIMIT $10) s) AS by_client,
                        (SELECT count(*) FROM (SELECT 1 FROM {p}_flows
                            WHERE expires_at > $8 AND hash <> $1 LIMIT $11) s) AS all_flows),
                     ins AS (
                        INSERT INTO {p}_flows AS f
                            (hash, client_id, source, source_key, data, expires_at)
                        SELECT $1, $2, $3, $4, $5, $6 FROM n
                        WHERE by_source < $9 AND by_client < $10 AND all_flows < $11
                        ON CONFLICT (hash) DO UPDATE SET client_id = EXCLUDED.client_id,
                            source = EXCLUDED.source, source_key = EXCLUDED.source_key,
                            data = EXCLUDED.data, expires_at = EXCLUDED.expires_at,
                            reported = false)
                     SELECT by_source, by_client, all_flows FROM n"
                )
            })
            .map_err(backend)?;
        let mut tx = c.client.transaction().map_err(backend)?;
        // Client first, then source: the same order everywhere (no deadlock).
        tx.execute(
            &lock,
            &[
                &format!("{p}:client:{client}"),
                &format!("{p}:source:{key}"),
            ],
        )
        .map_err(backend)?;
        let row = tx
            .query_one(
                &insert,
                &[
                    &&id.as_bytes()[..],
                    &client,
                    &source,
                    &key,
                    &data,
                    &expires_at,
                    &now.saturating_sub(self.grace_nanos()),
                    &now,
                    &per_source,
                    &per_client,
                    &total,
                ],
            )
            .map_err(backend)?;
        let count = |i| -> Result<i64, FlowError> { row.try_get(i).map_err(backend) };
        let busy = |limit, figure| Err(Busy::new(limit, figure, l.retry_after).into());
        if count(0)? >= per_source {
            return busy(FlowLimit::PerSource, l.per_source);
        }
        if count(1)? >= per_client {
            return busy(FlowLimit::PerClient, l.per_client);
        }
        if count(2)? >= total {
            return busy(FlowLimit::Total, l.total);
        }
        tx.commit().map_err(backend)
    }
}

impl FlowStore for PgFlowStore {
    fn put(
        &self,
        id: &SecretHash,
        owner: &FlowOwner,
        data: &str,
        expires_at: SystemTime,
        admission: Admission,
        now: SystemTime,
    ) -> Result<(), FlowError> {
        let expires = nanos(expires_at).map_err(store_err)?;
        let now = nanos(now).map_err(store_err)?;
        let mut c = self.conn()?;
        match admission {
            Admission::New => self.admit(&mut c, id, owner, data, expires, now),
            Admission::Continuing => c
                .query(
                    "flow_put",
                    || {
                        format!(
                            "INSERT INTO {p}_flows AS f
                            (hash, client_id, source, source_key, data, expires_at)
                         VALUES ($1, $2, $3, $4, $5, $6)
                         ON CONFLICT (hash) DO UPDATE SET client_id = EXCLUDED.client_id,
                            source = EXCLUDED.source, source_key = EXCLUDED.source_key,
                            data = EXCLUDED.data, expires_at = EXCLUDED.expires_at,
                            reported = false",
                            p = self.prefix
                        )
                    },
                    &[
                        &&id.as_bytes()[..],
                        &owner.client_id.as_str(),
                        &owner.source.to_string(),
                        &owner.source_key().to_string(),
                        &data,
                        &expires,
                    ],
                )
                .map(|_| ()),
        }
    }

    fn take(&self, id: &SecretHash, now: SystemTime) -> Result<Option<StoredFlow>, FlowError> {
        let now = nanos(now).map_err(store_err)?;
        let rows = self.conn()?.query(
            "flow_take",
            || {
                format!(
                    "DELETE FROM {}_flows WHERE hash = $1 AND expires_at > $2
                     RETURNING client_id, source, data",
                    self.prefix
                )
            },
            &[&&id.as_bytes()[..], &now],
        )?;
        rows.first()
            .map(|row| {
                Ok(StoredFlow {
                    owner: owner(row)?,
                    data: row.try_get(2).map_err(backend)?,
                })
            })
            .transpose()
    }

    fn take_late(
        &self,
        id: &SecretHash,
        now: SystemTime,
    ) -> Result<Option<(StoredFlow, Lateness)>, FlowError> {
        let now = nanos(now).map_err(store_err)?;
        // A flow past its grace is left for the sweep, which reports it if nobody did.
        let rows = self.conn()?.query(
            "flow_take_late",
            || {
                format!(
                    "DELETE FROM {}_flows WHERE hash = $1 AND expires_at > $2
                     RETURNING client_id, source, data, expires_at, reported",
                    self.prefix
                )
            },
            &[&&id.as_bytes()[..], &now.saturating_sub(self.grace_nanos())],
        )?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let expires: i64 = row.try_get(3).map_err(backend)?;
        let reported: bool = row.try_get(4).map_err(backend)?;
        let lateness = match (now >= expires, reported) {
            (false, _) => Lateness::OnTime,
            (true, true) => Lateness::Late,
            (true, false) => Lateness::LateUnreported,
        };
        let flow = StoredFlow {
            owner: owner(row)?,
            data: row.try_get(2).map_err(backend)?,
        };
        Ok(Some((flow, lateness)))
    }

    fn sweep(&self, now: SystemTime) -> Result<Vec<ExpiredFlow>, FlowError> {
        let now = nanos(now).map_err(store_err)?;
        let p = &self.prefix;
        let mut c = self.conn()?;
        // Marking is atomic per row: of two nodes sweeping at once, one reports each flow.
        let rows = c.query(
            "flow_sweep_mark",
            || {
                format!(
                    "UPDATE {p}_flows SET reported = true
                     WHERE expires_at <= $1 AND NOT reported
                     RETURNING client_id, source, data, expires_at"
                )
            },
            &[&now],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(ExpiredFlow {
                owner: owner(row)?,
                data: row.try_get(2).map_err(backend)?,
                expired_at: time(row.try_get(3).map_err(backend)?),
            });
        }
        out.sort_by_key(|f| f.expired_at);
        let total = i64::try_from(self.limits.total).unwrap_or(i64::MAX);
        c.query(
            "flow_sweep_drop",
            || {
                format!(
                    "DELETE FROM {p}_flows WHERE reported AND (expires_at <= $1
                        OR hash IN (SELECT hash FROM {p}_flows WHERE expires_at <= $2
                                    ORDER BY expires_at DESC OFFSET $3))"
                )
            },
            &[&now.saturating_sub(self.grace_nanos()), &now, &total],
        )?;
        Ok(out)
    }
}

/// The owner in columns 0 (`client_id`) and 1 (`source`) of a row.
fn owner(row: &postgres::Row) -> Result<FlowOwner, FlowError> {
    let corrupt = |what: &str| FlowError::Corrupt(format!("stored {what} is not valid"));
    let client_id =
        ClientId::new(row.try_get(0).map_err(backend)?).map_err(|_| corrupt("client_id"))?;
    let source: IpAddr = row
        .try_get::<_, &str>(1)
        .map_err(backend)?
        .parse()
        .map_err(|_| corrupt("source"))?;
    Ok(FlowOwner { client_id, source })
}
