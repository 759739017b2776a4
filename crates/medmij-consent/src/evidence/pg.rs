//! The PostgreSQL evidence store (cargo feature `postgres`), using the
//! synchronous `postgres` crate (MedMij CONSENT-5).

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use postgres::{Client, NoTls};

use super::EvidenceLedger;
use super::ledger::{
    EvidenceConfig, LedgerHead, LedgerReader, LedgerWriter, PruneReport, VerifyReport,
};
use super::record::{EvidenceError, EvidenceRecord, PersonId};

struct State {
    client: Client,
    writer: LedgerWriter,
}

/// The consent evidence in a PostgreSQL table: one row per ledger line
/// (`seq BIGINT PRIMARY KEY, at_us BIGINT, line TEXT`), the same chained,
/// signed lines as [`super::FileEvidenceLedger`]. One writer per table
/// (a second one fails on the primary key instead of forking the chain).
/// Lookups read the table through the verifier.
pub struct PgEvidenceLedger {
    table: String,
    config: EvidenceConfig,
    state: Mutex<State>,
}

impl std::fmt::Debug for PgEvidenceLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgEvidenceLedger")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

fn db_err(what: &str, e: postgres::Error) -> EvidenceError {
    EvidenceError::Io {
        what: what.to_string(),
        reason: e.to_string(),
    }
}

fn micros(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

impl PgEvidenceLedger {
    /// Connects to `url`, creates `table` if missing (1..48 of `a-z 0-9 _`,
    /// not starting with a digit) and verifies what is there.
    pub fn open(
        url: &str,
        table: &str,
        config: EvidenceConfig,
    ) -> Result<(Self, VerifyReport), EvidenceError> {
        let ok = !table.is_empty()
            && table.len() <= 48
            && table
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !table.as_bytes().first().is_some_and(u8::is_ascii_digit);
        if !ok {
            return Err(EvidenceError::Config(format!(
                "table name {table:?}: 1..48 of a-z 0-9 _, not starting with a digit"
            )));
        }
        if !config.trust.contains(&config.key.verifying_key()) {
            return Err(EvidenceError::Config(
                "the signing key's public key is not among the trusted keys".into(),
            ));
        }
        let mut client =
            Client::connect(url, NoTls).map_err(|e| db_err("connecting to PostgreSQL", e))?;
        client
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {table} (seq BIGINT PRIMARY KEY, at_us BIGINT NOT NULL, line TEXT NOT NULL)"
            ))
            .map_err(|e| db_err("creating the table", e))?;
        let (_, report) = read_rows(&mut client, table, &config)?;
        let writer = LedgerWriter::new(report.head, config.key.clone(), config.cipher.clone());
        Ok((
            Self {
                table: table.to_string(),
                config,
                state: Mutex::new(State { client, writer }),
            },
            report,
        ))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

type Rows = Vec<(u64, EvidenceRecord, LedgerHead)>;

fn read_rows(
    client: &mut Client,
    table: &str,
    config: &EvidenceConfig,
) -> Result<(Rows, VerifyReport), EvidenceError> {
    let rows = client
        .query(&format!("SELECT line FROM {table} ORDER BY seq"), &[])
        .map_err(|e| db_err("reading the ledger", e))?;
    let mut reader = LedgerReader::new(config.trust.clone(), config.cipher.clone(), table);
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let line: String = row.get(0);
        if let Some((seq, rec)) = reader.line(line.trim_end_matches('\n'))? {
            out.push((seq, rec, reader.head()));
        }
    }
    Ok((out, reader.report()))
}

impl EvidenceLedger for PgEvidenceLedger {
    fn append(&self, record: &EvidenceRecord) -> Result<u64, EvidenceError> {
        let mut st = self.lock();
        let before = st.writer.head();
        let (seq, line) = st.writer.line(record)?;
        let seq_i = i64::try_from(seq)
            .map_err(|_| EvidenceError::Config("sequence number out of range".into()))?;
        let res = st.client.execute(
            &format!(
                "INSERT INTO {} (seq, at_us, line) VALUES ($1, $2, $3)",
                self.table
            ),
            &[&seq_i, &micros(record.at), &line],
        );
        if let Err(e) = res {
            st.writer =
                LedgerWriter::new(before, self.config.key.clone(), self.config.cipher.clone());
            return Err(db_err("appending to the ledger", e));
        }
        Ok(seq)
    }

    fn lookup(&self, person: &PersonId) -> Result<Vec<(u64, EvidenceRecord)>, EvidenceError> {
        let mut st = self.lock();
        let (rows, _) = read_rows(&mut st.client, &self.table, &self.config)?;
        Ok(rows
            .into_iter()
            .filter(|(_, r, _)| &r.person == person)
            .map(|(s, r, _)| (s, r))
            .collect())
    }

    fn verify(&self) -> Result<VerifyReport, EvidenceError> {
        let mut st = self.lock();
        let (_, report) = read_rows(&mut st.client, &self.table, &self.config)?;
        if report.head != st.writer.head() {
            return Err(EvidenceError::Corrupt {
                source_name: self.table.clone(),
                line: report.records,
                reason: format!(
                    "the table ends at entry {}, the writer wrote up to {}: rows were dropped",
                    report.head.seq,
                    st.writer.head().seq
                ),
                rule: medmij_types::RuleId::Consent5,
            });
        }
        Ok(report)
    }

    fn head(&self) -> LedgerHead {
        self.lock().writer.head()
    }

    /// Removes the oldest records while they are older than the retention,
    /// in one transaction, leaving a signed anchor row for the last removed.
    fn prune(&self, now: SystemTime) -> Result<PruneReport, EvidenceError> {
        let Some(cutoff) = self.config.retention.cutoff(now) else {
            return Ok(PruneReport {
                cutoff: None,
                removed: 0,
            });
        };
        let mut st = self.lock();
        let (rows, _) = read_rows(&mut st.client, &self.table, &self.config)?;
        let old = rows.iter().take_while(|(_, r, _)| r.at < cutoff).count();
        let Some((_, _, removed_head)) = old.checked_sub(1).and_then(|i| rows.get(i)) else {
            return Ok(PruneReport {
                cutoff: Some(cutoff),
                removed: 0,
            });
        };
        let anchor = st.writer.anchor_line(*removed_head, cutoff, now);
        let upto = i64::try_from(removed_head.seq)
            .map_err(|_| EvidenceError::Config("sequence number out of range".into()))?;
        let t = &self.table;
        let mut tx = st
            .client
            .transaction()
            .map_err(|e| db_err("starting the prune", e))?;
        tx.execute(&format!("DELETE FROM {t} WHERE seq <= $1"), &[&upto])
            .and_then(|_| {
                tx.execute(
                    &format!("INSERT INTO {t} (seq, at_us, line) VALUES ($1, $2, $3)"),
                    &[&upto, &micros(now), &anchor],
                )
            })
            .map_err(|e| db_err("pruning", e))?;
        tx.commit().map_err(|e| db_err("committing the prune", e))?;
        Ok(PruneReport {
            cutoff: Some(cutoff),
            removed: old as u64,
        })
    }
}
