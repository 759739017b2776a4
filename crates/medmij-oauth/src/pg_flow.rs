//! A PostgreSQL [`FlowStore`] (feature `postgres`): pending flows shared by every node of a
//! gateway, so that any node continues any flow.
//!
//! Flows are keyed by the SHA-256 hash of their [`FlowId`](crate::FlowId) (MedMij OAUTH-14).
//! Admitting a new flow is one transaction that takes two advisory locks, first the client's
//! and then the source address's (always in that order, so two admissions cannot deadlock),
//! counts the unexpired flows and inserts: the per-client and per-source limits are exact
//! across nodes. The total is counted in the same transaction without a lock of its own, so
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
use crate::pg::{close_off_runtime, nanos, time, valid_prefix};
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

/// The PostgreSQL flow store. The table is `<prefix>_flows`.
pub struct PgFlowStore {
    conns: Vec<Mutex<Client>>,
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
            conns: clients.into_iter().map(Mutex::new).collect(),
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
            .batch_execute(&format!("DROP TABLE IF EXISTS {}_flows", self.prefix))
            .map_err(backend)
    }

    /// A free connection if there is one, else waits for the next in turn. Fails only
    /// without connections (the constructor refuses that; `Drop` takes them).
    fn conn(&self) -> Result<MutexGuard<'_, Client>, FlowError> {
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

    fn admit(
        &self,
        c: &mut Client,
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
        let mut tx = c.transaction().map_err(backend)?;
        // Client first, then source: the same order everywhere (no deadlock).
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&format!("{p}:client:{client}")],
        )
        .map_err(backend)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&format!("{p}:source:{key}")],
        )
        .map_err(backend)?;
        tx.execute(
            &format!(
                "DELETE FROM {p}_flows WHERE hash = $1
                    OR (expires_at <= $2 AND reported AND (client_id = $3 OR source_key = $4))"
            ),
            &[
                &&id.as_bytes()[..],
                &now.saturating_sub(self.grace_nanos()),
                &client,
                &key,
            ],
        )
        .map_err(backend)?;
        let row = tx
            .query_one(
                &format!(
                    "SELECT
                        (SELECT count(*) FROM {p}_flows WHERE source_key = $1 AND expires_at > $3),
                        (SELECT count(*) FROM {p}_flows WHERE client_id = $2 AND expires_at > $3),
                        (SELECT count(*) FROM {p}_flows WHERE expires_at > $3)"
                ),
                &[&key, &client, &now],
            )
            .map_err(backend)?;
        let count = |i| -> Result<usize, FlowError> {
            let n: i64 = row.try_get(i).map_err(backend)?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        };
        let busy = |limit, figure| Err(Busy::new(limit, figure, l.retry_after).into());
        if count(0)? >= l.per_source {
            return busy(FlowLimit::PerSource, l.per_source);
        }
        if count(1)? >= l.per_client {
            return busy(FlowLimit::PerClient, l.per_client);
        }
        if count(2)? >= l.total {
            return busy(FlowLimit::Total, l.total);
        }
        tx.execute(
            &format!(
                "INSERT INTO {p}_flows (hash, client_id, source, source_key, data, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)"
            ),
            &[
                &&id.as_bytes()[..],
                &client,
                &source,
                &key,
                &data,
                &expires_at,
            ],
        )
        .map_err(backend)?;
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
                .execute(
                    &format!(
                        "INSERT INTO {p}_flows AS f
                            (hash, client_id, source, source_key, data, expires_at)
                         VALUES ($1, $2, $3, $4, $5, $6)
                         ON CONFLICT (hash) DO UPDATE SET client_id = EXCLUDED.client_id,
                            source = EXCLUDED.source, source_key = EXCLUDED.source_key,
                            data = EXCLUDED.data, expires_at = EXCLUDED.expires_at,
                            reported = false",
                        p = self.prefix
                    ),
                    &[
                        &&id.as_bytes()[..],
                        &owner.client_id.as_str(),
                        &owner.source.to_string(),
                        &owner.source_key().to_string(),
                        &data,
                        &expires,
                    ],
                )
                .map(|_| ())
                .map_err(backend),
        }
    }

    fn take(&self, id: &SecretHash, now: SystemTime) -> Result<Option<StoredFlow>, FlowError> {
        let now = nanos(now).map_err(store_err)?;
        let rows = self
            .conn()?
            .query(
                &format!(
                    "DELETE FROM {}_flows WHERE hash = $1 AND expires_at > $2
                     RETURNING client_id, source, data",
                    self.prefix
                ),
                &[&&id.as_bytes()[..], &now],
            )
            .map_err(backend)?;
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
        let rows = self
            .conn()?
            .query(
                &format!(
                    "DELETE FROM {}_flows WHERE hash = $1 AND expires_at > $2
                     RETURNING client_id, source, data, expires_at, reported",
                    self.prefix
                ),
                &[&&id.as_bytes()[..], &now.saturating_sub(self.grace_nanos())],
            )
            .map_err(backend)?;
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
        let rows = c
            .query(
                &format!(
                    "UPDATE {p}_flows SET reported = true
                     WHERE expires_at <= $1 AND NOT reported
                     RETURNING client_id, source, data, expires_at"
                ),
                &[&now],
            )
            .map_err(backend)?;
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
        c.execute(
            &format!(
                "DELETE FROM {p}_flows WHERE reported AND (expires_at <= $1
                    OR hash IN (SELECT hash FROM {p}_flows WHERE expires_at <= $2
                                ORDER BY expires_at DESC OFFSET $3))"
            ),
            &[&now.saturating_sub(self.grace_nanos()), &now, &total],
        )
        .map_err(backend)?;
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
