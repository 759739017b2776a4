//! The PostgreSQL sink (cargo feature `postgres`), using the synchronous
//! `postgres` crate.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls};

use crate::chain::{ChainWriter, CheckpointReason, Entry, Trust, Verifier, VerifyReport};
use crate::event::{Domain, Event};
use crate::file::PruneReport;
use crate::query::Query;
use crate::retention::Retention;
use crate::{AuditSink, LogError};

/// Settings of a [`PgLog`].
#[derive(Debug, Clone)]
pub struct PgLogConfig {
    /// Connection string, e.g.
    /// `postgres://medmij:medmij@127.0.0.1:5432/medmij_test`.
    pub url: String,
    /// The table (created if missing, with `<table>_anchor` next to it):
    /// 1..=48 characters of `a-z 0-9 _`, starting with a letter or `_`.
    pub table: String,
    /// Signs checkpoints and anchors.
    pub key: SigningKey,
    /// Keys accepted when the chain is verified; by default `key`'s.
    pub trust: Trust,
    /// A checkpoint after this many entries (default 1000).
    pub checkpoint_every: u64,
    /// The domain (default PGO, MedMij LOG-4).
    pub domain: Domain,
}

impl PgLogConfig {
    /// Defaults around `url`, `table` and `key`.
    pub fn new(url: impl Into<String>, table: impl Into<String>, key: SigningKey) -> Self {
        let trust = Trust::Keys(vec![key.verifying_key()]);
        Self {
            url: url.into(),
            table: table.into(),
            key,
            trust,
            checkpoint_every: 1000,
            domain: Domain::Pgo,
        }
    }
}

struct Row {
    seq: i64,
    time_us: i64,
    subject: Option<String>,
    line: String,
}

struct State {
    writer: ChainWriter,
    pending: Vec<Row>,
    pending_upto: u64,
    durable: u64,
    flushing: bool,
    failed: Option<String>,
}

/// A log in a PostgreSQL table: one row per entry (`seq`, `time_us`,
/// `subject`, `line`), the line exactly as the file sink would write it, so
/// the same verifier checks it. Appends are committed in one transaction per
/// group (group commit); an append returns once its transaction committed.
/// One process writes a table at a time.
pub struct PgLog {
    table: String,
    domain: Domain,
    trust: Trust,
    client: Mutex<Client>,
    state: Mutex<State>,
    committed: Condvar,
}

impl std::fmt::Debug for PgLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLog")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

fn db_err(what: &str, e: postgres::Error) -> LogError {
    LogError::Io {
        what: what.to_string(),
        reason: e.to_string(),
    }
}

fn micros(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn as_i64(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn verify_rows(
    client: &mut Client,
    table: &str,
    trust: &Trust,
    mut each: impl FnMut(&Entry),
) -> Result<VerifyReport, LogError> {
    let mut v = Verifier::new(trust.clone());
    let corrupt = |error| LogError::Corrupt {
        path: std::path::PathBuf::from(format!("postgres table {table}")),
        error,
    };
    let anchor = client
        .query_opt(
            &format!("SELECT line FROM {table}_anchor WHERE id = 1"),
            &[],
        )
        .map_err(|e| db_err("reading the anchor", e))?;
    if let Some(row) = anchor {
        let line: String = row.get(0);
        let entry = v.line(line.as_bytes()).map_err(corrupt)?;
        each(&entry);
    }
    // Streamed: one row in memory at a time.
    let params: [&(dyn postgres::types::ToSql + Sync); 0] = [];
    let mut rows = client
        .query_raw(&format!("SELECT line FROM {table} ORDER BY seq"), params)
        .map_err(|e| db_err("reading the log", e))?;
    while let Some(row) = rows.next().map_err(|e| db_err("reading the log", e))? {
        let line: &str = row.get(0);
        let entry = v.line(line.as_bytes()).map_err(corrupt)?;
        each(&entry);
    }
    Ok(v.finish())
}

impl PgLog {
    /// Connects, creates the tables if missing, and verifies what is there.
    pub fn open(config: PgLogConfig) -> Result<(Self, VerifyReport), LogError> {
        let t = &config.table;
        let ok = !t.is_empty()
            && t.len() <= 48
            && t.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !t.as_bytes().first().is_some_and(u8::is_ascii_digit);
        if !ok {
            return Err(LogError::Config(format!(
                "table name {t:?}: 1..48 of a-z 0-9 _, not starting with a digit"
            )));
        }
        if let Trust::Keys(keys) = &config.trust
            && !keys.contains(&config.key.verifying_key())
        {
            return Err(LogError::Config(
                "the signing key's public key is not among the trusted keys".into(),
            ));
        }
        let mut client = Client::connect(&config.url, NoTls)
            .map_err(|e| db_err("connecting to PostgreSQL", e))?;
        client
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {t} (seq BIGINT PRIMARY KEY, time_us BIGINT NOT NULL, subject TEXT, line TEXT NOT NULL);
                 CREATE INDEX IF NOT EXISTS {t}_subject_time ON {t} (subject, time_us);
                 CREATE TABLE IF NOT EXISTS {t}_anchor (id INT PRIMARY KEY CHECK (id = 1), line TEXT NOT NULL);"
            ))
            .map_err(|e| db_err("creating the tables", e))?;
        let report = verify_rows(&mut client, t, &config.trust, |_| {})?;
        let writer = ChainWriter::new(
            report.chain_head(),
            config.key.clone(),
            config.checkpoint_every,
        );
        let durable = writer.head().seq;
        Ok((
            Self {
                table: config.table,
                domain: config.domain,
                trust: config.trust,
                client: Mutex::new(client),
                state: Mutex::new(State {
                    writer,
                    pending: Vec::new(),
                    pending_upto: durable,
                    durable,
                    flushing: false,
                    failed: None,
                }),
                committed: Condvar::new(),
            },
            report,
        ))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn client(&self) -> MutexGuard<'_, Client> {
        self.client.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues the lines in `buf` (one entry per line) as rows.
    fn queue(st: &mut State, buf: &[u8], first_seq: u64, time: SystemTime, subject: Option<&str>) {
        for (i, line) in buf
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .enumerate()
        {
            st.pending.push(Row {
                seq: as_i64(first_seq + i as u64),
                time_us: micros(time),
                // Only the event line carries the subject; a checkpoint after it does not.
                subject: if i == 0 {
                    subject.map(str::to_owned)
                } else {
                    None
                },
                line: String::from_utf8_lossy(line).into_owned(),
            });
        }
        st.pending_upto = st.writer.head().seq;
    }

    /// Queues `event`'s row (and a checkpoint's, when one is due) for the next
    /// commit, writing its lines through `buf`; returns the event's sequence
    /// number.
    fn enqueue(st: &mut State, event: &Event, buf: &mut Vec<u8>) -> u64 {
        buf.clear();
        let seq = st.writer.push_event(event, buf);
        let subject = event.subject.as_ref().map(|s| s.as_str());
        Self::queue(st, buf, seq, event.time, subject);
        seq
    }

    /// Appends `event`; returns its sequence number once committed.
    pub fn append(&self, event: &Event) -> Result<u64, LogError> {
        event.validate(self.domain)?;
        let mut st = self.lock();
        if let Some(f) = &st.failed {
            return Err(LogError::Failed(f.clone()));
        }
        let seq = Self::enqueue(&mut st, event, &mut Vec::with_capacity(1024));
        self.commit(st, seq)?;
        Ok(seq)
    }

    /// Appends several events in one transaction; returns their sequence
    /// numbers once committed. Nothing is written if one is invalid.
    pub fn append_batch(&self, events: &[Event]) -> Result<Vec<u64>, LogError> {
        for e in events {
            e.validate(self.domain)?;
        }
        let mut st = self.lock();
        if let Some(f) = &st.failed {
            return Err(LogError::Failed(f.clone()));
        }
        let mut seqs = Vec::with_capacity(events.len());
        let mut buf = Vec::with_capacity(1024);
        for event in events {
            seqs.push(Self::enqueue(&mut st, event, &mut buf));
        }
        let last = st.pending_upto;
        self.commit(st, last)?;
        Ok(seqs)
    }

    /// Writes a signed checkpoint now; returns its sequence number once
    /// committed.
    pub fn checkpoint(&self, now: SystemTime) -> Result<u64, LogError> {
        self.checkpoint_with(now, CheckpointReason::Requested, None)
    }

    fn checkpoint_with(
        &self,
        now: SystemTime,
        reason: CheckpointReason,
        note: Option<&str>,
    ) -> Result<u64, LogError> {
        let mut st = self.lock();
        if let Some(f) = &st.failed {
            return Err(LogError::Failed(f.clone()));
        }
        let mut buf = Vec::with_capacity(512);
        let seq = st.writer.push_checkpoint(now, reason, note, &mut buf);
        Self::queue(&mut st, &buf, seq, now, None);
        self.commit(st, seq)?;
        Ok(seq)
    }

    fn commit<'a>(&'a self, mut st: MutexGuard<'a, State>, seq: u64) -> Result<(), LogError> {
        loop {
            if st.durable >= seq {
                return Ok(());
            }
            if let Some(f) = &st.failed {
                return Err(LogError::Failed(f.clone()));
            }
            if st.flushing {
                st = self
                    .committed
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            st.flushing = true;
            let rows = std::mem::take(&mut st.pending);
            let upto = st.pending_upto;
            drop(st);
            let res = self.insert(&rows);
            st = self.lock();
            st.flushing = false;
            match res {
                Ok(()) => st.durable = upto,
                Err(e) => st.failed = Some(e.to_string()),
            }
            self.committed.notify_all();
        }
    }

    fn insert(&self, rows: &[Row]) -> Result<(), LogError> {
        let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
        let times: Vec<i64> = rows.iter().map(|r| r.time_us).collect();
        let subjects: Vec<Option<&str>> = rows.iter().map(|r| r.subject.as_deref()).collect();
        let lines: Vec<&str> = rows.iter().map(|r| r.line.as_str()).collect();
        self.client()
            .execute(
                &format!(
                    "INSERT INTO {} (seq, time_us, subject, line) SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[])",
                    self.table
                ),
                &[&seqs, &times, &subjects, &lines],
            )
            .map(|_| ())
            .map_err(|e| db_err("inserting log rows", e))
    }

    fn quiesce(&self) -> Result<MutexGuard<'_, State>, LogError> {
        let mut st = self.lock();
        loop {
            if let Some(f) = &st.failed {
                return Err(LogError::Failed(f.clone()));
            }
            if !st.flushing && st.durable >= st.pending_upto {
                return Ok(st);
            }
            if !st.flushing {
                let upto = st.pending_upto;
                self.commit(st, upto)?;
                st = self.lock();
                continue;
            }
            st = self
                .committed
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Verifies the whole chain in the table.
    pub fn verify(&self) -> Result<VerifyReport, LogError> {
        let _st = self.quiesce()?;
        verify_rows(&mut self.client(), &self.table, &self.trust, |_| {})
    }

    /// The events matching `query`, from a verified read of the table.
    pub fn query(&self, query: &Query) -> Result<Vec<(u64, Event)>, LogError> {
        let _st = self.quiesce()?;
        let mut out = Vec::new();
        verify_rows(&mut self.client(), &self.table, &self.trust, |entry| {
            if let Entry::Event { seq, event } = entry
                && query.matches(event)
            {
                out.push((*seq, (**event).clone()));
            }
        })?;
        Ok(out)
    }

    /// A verifiable extract of the entries `selection` picks (MedMij
    /// LOG-5): writes a `requested` checkpoint at `now` so that everything
    /// written so far is covered, then streams the table through it into
    /// the extract, signed with this log's key (see [`crate::extract()`]).
    pub fn extract(
        &self,
        selection: &crate::Selection,
        now: SystemTime,
    ) -> Result<crate::Extract, LogError> {
        let through = self.checkpoint(now)?;
        // Held while reading: no pruning or appending meanwhile.
        let st = self.quiesce()?;
        let key = st.writer.signing_key().clone();
        let t = &self.table;
        let corrupt = |error| LogError::Corrupt {
            path: std::path::PathBuf::from(format!("postgres table {t}")),
            error,
        };
        let mut b = crate::extract::ExtractBuilder::new(self.trust.clone(), selection);
        let mut client = self.client();
        let anchor = client
            .query_opt(&format!("SELECT line FROM {t}_anchor WHERE id = 1"), &[])
            .map_err(|e| db_err("reading the anchor", e))?;
        if let Some(row) = anchor {
            let line: String = row.get(0);
            b.push(line.as_bytes()).map_err(corrupt)?;
        }
        let through_i64 = as_i64(through);
        let params: [&(dyn postgres::types::ToSql + Sync); 1] = [&through_i64];
        let mut rows = client
            .query_raw(
                &format!("SELECT line FROM {t} WHERE seq <= $1 ORDER BY seq"),
                params,
            )
            .map_err(|e| db_err("reading the log", e))?;
        while let Some(row) = rows.next().map_err(|e| db_err("reading the log", e))? {
            let line: &str = row.get(0);
            b.push(line.as_bytes()).map_err(corrupt)?;
        }
        drop(rows);
        drop(client);
        drop(st);
        b.finish(&key, now)
    }

    /// Removes the entries older than `retention` at `now` (MedMij LOG-3),
    /// in one transaction that also replaces the signed anchor; then writes
    /// a `prune` checkpoint.
    pub fn prune(&self, retention: Retention, now: SystemTime) -> Result<PruneReport, LogError> {
        let cutoff = retention.cutoff(now);
        let st = self.quiesce()?;
        // Verify first: never prune a chain that does not verify.
        verify_rows(&mut self.client(), &self.table, &self.trust, |_| {})?;
        let t = &self.table;
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(|e| db_err("starting a transaction", e))?;
        let last = tx
            .query_opt(
                &format!("SELECT seq, line FROM {t} WHERE seq = (SELECT max(seq) FROM {t} WHERE time_us < $1)"),
                &[&micros(cutoff)],
            )
            .map_err(|e| db_err("finding old entries", e))?;
        let Some(row) = last else {
            return Ok(PruneReport {
                cutoff,
                removed_lines: 0,
                removed_through_seq: None,
                checkpoint_seq: None,
            });
        };
        let seq: i64 = row.get(0);
        let line: String = row.get(1);
        let hash = line
            .len()
            .checked_sub(2 + 64)
            .and_then(|s| line.as_bytes().get(s..s + 64))
            .and_then(crate::hex::decode::<32>)
            .ok_or_else(|| LogError::Config("pruning: the last removed row has no hash".into()))?;
        let seq = u64::try_from(seq).unwrap_or(0);
        let mut anchor = st.writer.anchor_line(seq, &hash, cutoff, now);
        anchor.pop(); // the newline
        let removed = tx
            .execute(&format!("DELETE FROM {t} WHERE seq <= $1"), &[&as_i64(seq)])
            .map_err(|e| db_err("deleting old entries", e))?;
        tx.execute(
            &format!("INSERT INTO {t}_anchor (id, line) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET line = EXCLUDED.line"),
            &[&String::from_utf8_lossy(&anchor).as_ref()],
        )
        .map_err(|e| db_err("writing the anchor", e))?;
        tx.commit()
            .map_err(|e| db_err("committing the pruning", e))?;
        drop(client);
        drop(st);
        let note = format!(
            "pruned (LOG-3, {} months): {removed} rows through entry {seq}, cutoff {}",
            retention.get(),
            crate::time::format(cutoff)
        );
        let cp = self.checkpoint_with(now, CheckpointReason::Prune, Some(&note))?;
        Ok(PruneReport {
            cutoff,
            removed_lines: removed,
            removed_through_seq: Some(seq),
            checkpoint_seq: Some(cp),
        })
    }
}

impl AuditSink for PgLog {
    fn append(&self, event: &Event) -> Result<u64, LogError> {
        Self::append(self, event)
    }
}

impl crate::BatchSink for PgLog {
    fn check(&self, event: &Event) -> Result<(), LogError> {
        Ok(event.validate(self.domain)?)
    }
    fn append_batch(&self, events: &[Event]) -> Result<Vec<u64>, LogError> {
        Self::append_batch(self, events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{SubjectId, test_event};
    use std::sync::Arc;
    use std::sync::mpsc;
    use std::time::Duration;

    mod log_1 {
        use super::*;

        /// Needs `MEDMIJ_TEST_DATABASE_URL` (`.ci/test` sets it); fails,
        /// never skips, when it is missing.
        fn url() -> String {
            std::env::var("MEDMIJ_TEST_DATABASE_URL").unwrap_or_else(|_| {
                panic!(
                    "MEDMIJ_TEST_DATABASE_URL is not set; the `postgres` feature's tests need a \
                     PostgreSQL server (.ci/test starts one)"
                )
            })
        }

        /// Drops the test's tables.
        struct Tables(String);

        impl Drop for Tables {
            fn drop(&mut self) {
                if let Ok(mut c) = Client::connect(&url(), NoTls) {
                    let _ = c.batch_execute(&format!(
                        "DROP TABLE IF EXISTS {0}; DROP TABLE IF EXISTS {0}_anchor;",
                        self.0
                    ));
                }
            }
        }

        /// Queues `event` as an appender does, but leaves the commit to
        /// someone else: the state a race leaves behind when an appender has
        /// queued its row while another's commit was under way, and that
        /// commit has just ended (the appender has not woken yet).
        fn queue_without_commit(log: &PgLog, event: &Event) -> u64 {
            PgLog::enqueue(&mut log.lock(), event, &mut Vec::new())
        }

        /// Runs `op` on its own thread and fails, rather than hanging, if it
        /// waits for a commit nobody makes.
        fn within_10s<T: Send + 'static>(
            log: &Arc<PgLog>,
            op: fn(&PgLog) -> Result<T, LogError>,
        ) -> T {
            let (tx, rx) = mpsc::channel();
            let log = Arc::clone(log);
            std::thread::spawn(move || {
                let _ = tx.send(op(&log));
            });
            rx.recv_timeout(Duration::from_secs(10))
                .expect("the operation waited for a commit nobody makes")
                .unwrap()
        }

        /// MedMij LOG-1: `verify` and `query` read the whole table; they
        /// first commit what another appender queued, so no entry about to
        /// be acknowledged is missing from what they report.
        #[test]
        fn whole_table_reads_first_commit_what_another_appender_queued() {
            let table = format!("t_quiesce_{}", std::process::id());
            let _cleanup = Tables(table.clone());
            let t = |s| UNIX_EPOCH + Duration::from_secs(s);
            let config = PgLogConfig::new(url(), &table, SigningKey::from_bytes(&[42; 32]));
            let log = Arc::new(PgLog::open(config).unwrap().0);
            log.append(&test_event(1, "person-a", t(1_001))).unwrap();

            let queued = queue_without_commit(&log, &test_event(2, "person-a", t(1_002)));
            let report = within_10s(&log, PgLog::verify);
            assert_eq!(
                report.events, 2,
                "verify saw the table without the queued row"
            );
            {
                let st = log.lock();
                assert_eq!((st.durable, st.pending.len()), (queued, 0));
            }

            queue_without_commit(&log, &test_event(3, "person-a", t(1_003)));
            let found = within_10s(&log, |log| {
                let person = SubjectId::new("person-a", Domain::Pgo)
                    .map_err(|e| LogError::Config(e.to_string()))?;
                log.query(&Query::subject(person))
            });
            let ids: Vec<&str> = found.iter().map(|(_, e)| e.id.as_str()).collect();
            assert_eq!(ids, ["ev-1", "ev-2", "ev-3"]);
        }
    }
}
