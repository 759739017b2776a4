//! The embedded, crash-safe file sink: one JSON-lines file, appended with
//! `fsync` and group commit.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use ed25519_dalek::SigningKey;

use crate::chain::{
    ChainWriter, CheckpointReason, Entry, Trust, Verifier, VerifyError, VerifyReport, verify_only,
};
use crate::event::{Domain, Event};
use crate::query::Query;
use crate::retention::Retention;
use crate::{AuditSink, LogError};

/// Settings of a [`FileLog`].
#[derive(Debug, Clone)]
pub struct FileLogConfig {
    /// Signs checkpoints and anchors.
    pub key: SigningKey,
    /// Keys accepted when the file is verified on opening; by default only
    /// `key`'s public key.
    pub trust: Trust,
    /// A checkpoint after this many entries (default 1000).
    pub checkpoint_every: u64,
    /// The domain (default PGO: no BSN, MedMij LOG-4).
    pub domain: Domain,
    /// `fsync` (`fdatasync`) every commit (default `true`). Turn off only in
    /// tests: without it an acknowledged entry can be lost on power failure.
    pub fsync: bool,
}

impl FileLogConfig {
    /// Defaults around `key`.
    pub fn new(key: SigningKey) -> Self {
        let trust = Trust::Keys(vec![key.verifying_key()]);
        Self {
            key,
            trust,
            checkpoint_every: 1000,
            domain: Domain::Pgo,
            fsync: true,
        }
    }
}

/// A torn tail found and repaired when opening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTailRepair {
    /// Line number of the incomplete line.
    pub line: u64,
    /// Byte offset where it started; the file was cut there.
    pub offset: u64,
    /// Its length in bytes.
    pub bytes: u64,
    /// The file the cut-off bytes were appended to (`<log>.torn`).
    pub saved_to: PathBuf,
    /// Sequence number of the `repair` checkpoint that records it in the
    /// chain.
    pub checkpoint_seq: u64,
}

/// What opening found.
#[derive(Debug, Clone)]
pub struct OpenReport {
    /// The verification of the existing file (after repair).
    pub verified: VerifyReport,
    /// The torn tail that was repaired, if any.
    pub repaired: Option<TornTailRepair>,
}

/// What pruning did (MedMij LOG-3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneReport {
    /// Entries before this time were removed.
    pub cutoff: SystemTime,
    /// Lines removed (0: nothing was old enough).
    pub removed_lines: u64,
    /// The last removed entry, which the anchor now stands for.
    pub removed_through_seq: Option<u64>,
    /// Sequence number of the `prune` checkpoint, when something was removed.
    pub checkpoint_seq: Option<u64>,
}

struct State {
    writer: ChainWriter,
    pending: Vec<u8>,
    pending_upto: u64,
    durable: u64,
    flushing: bool,
    failed: Option<String>,
}

impl State {
    /// Queues `event`'s line (and a checkpoint, when one is due) for the next
    /// commit; returns the event's sequence number.
    fn enqueue(&mut self, event: &Event) -> u64 {
        let seq = self.writer.push_event(event, &mut self.pending);
        self.pending_upto = self.writer.head().seq;
        seq
    }
}

/// The embedded sink: a hash-chained JSON-lines file (see [`crate::chain`]).
///
/// [`FileLog::append`] returns only once the entry is on disk (`fsync`).
/// Concurrent appends are committed together (group commit): whoever finds
/// no commit under way writes and syncs everything queued so far, the others
/// wait for it.
///
/// One writer per file: [`FileLog::open`] takes an exclusive advisory lock on
/// `<path>.lock` (held until the `FileLog` is dropped), so a second writer, in
/// this process or another, gets [`LogError::InUse`] instead of interleaving
/// its chain with this one's or "repairing" a tail that is being written
/// (either would break the verifiable record MedMij LOG-1 asks for).
/// Readers ([`crate::chain::verify_only`] over the file, the `audit verify`
/// example) need no lock.
pub struct FileLog {
    path: PathBuf,
    /// The exclusive lock on `<path>.lock`, released when dropped.
    _lock: File,
    domain: Domain,
    trust: Trust,
    fsync: bool,
    state: Mutex<State>,
    committed: Condvar,
    file: Mutex<File>,
}

impl std::fmt::Debug for FileLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileLog")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> LogError {
    LogError::Io {
        what: format!("{what} {}", path.display()),
        reason: e.to_string(),
    }
}

fn sync_dir(path: &Path) -> Result<(), LogError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err("syncing directory", dir, e))
}

fn torn_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".torn");
    PathBuf::from(p)
}

fn lock_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

/// Takes the exclusive writer lock of the log at `path`.
fn lock(path: &Path) -> Result<File, LogError> {
    let lock_path = lock_path(path);
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| io_err("opening", &lock_path, e))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(LogError::InUse(path.to_path_buf())),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err("locking", &lock_path, e)),
    }
}

fn verify_file(path: &Path, trust: &Trust) -> Result<VerifyReport, VerifyError> {
    let f = File::open(path).map_err(|e| VerifyError::Io {
        line: 0,
        reason: e.to_string(),
    })?;
    verify_only(BufReader::with_capacity(1 << 20, f), trust.clone())
}

impl FileLog {
    /// Opens (or creates) the log at `path`, verifies it, and repairs a torn
    /// tail: the incomplete last line is appended to `<path>.torn`, cut from
    /// the log, and a `repair` checkpoint recording it is written (time
    /// `now`). Any other defect refuses to open ([`LogError::Corrupt`]).
    /// Another writer holding the log refuses to open ([`LogError::InUse`]).
    pub fn open(
        path: impl AsRef<Path>,
        config: FileLogConfig,
        now: SystemTime,
    ) -> Result<(Self, OpenReport), LogError> {
        let path = path.as_ref().to_path_buf();
        if let Trust::Keys(keys) = &config.trust
            && !keys.contains(&config.key.verifying_key())
        {
            return Err(LogError::Config(
                "the signing key's public key is not among the trusted keys".into(),
            ));
        }
        // Before reading anything: a tail being written by another writer is
        // not torn.
        let lock = lock(&path)?;
        let mut repaired = None;
        let verified = if path.exists() {
            match verify_file(&path, &config.trust) {
                Ok(r) => r,
                Err(VerifyError::TornTail {
                    line,
                    bytes,
                    offset,
                }) => {
                    let saved_to = torn_path(&path);
                    let mut f = OpenOptions::new()
                        .read(true)
                        .write(true)
                        .open(&path)
                        .map_err(|e| io_err("opening", &path, e))?;
                    f.seek(SeekFrom::Start(offset))
                        .map_err(|e| io_err("reading", &path, e))?;
                    let mut tail = Vec::new();
                    f.read_to_end(&mut tail)
                        .map_err(|e| io_err("reading", &path, e))?;
                    let mut t = OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&saved_to)
                        .map_err(|e| io_err("opening", &saved_to, e))?;
                    t.write_all(&tail)
                        .and_then(|_| t.sync_all())
                        .map_err(|e| io_err("writing", &saved_to, e))?;
                    f.set_len(offset)
                        .and_then(|_| f.sync_all())
                        .map_err(|e| io_err("truncating", &path, e))?;
                    sync_dir(&path)?;
                    repaired = Some(TornTailRepair {
                        line,
                        offset,
                        bytes,
                        saved_to,
                        checkpoint_seq: 0,
                    });
                    verify_file(&path, &config.trust).map_err(|error| LogError::Corrupt {
                        path: path.clone(),
                        error,
                    })?
                }
                Err(error) => return Err(LogError::Corrupt { path, error }),
            }
        } else {
            OpenOptions::new()
                .create_new(true)
                .write(true)
                .open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| io_err("creating", &path, e))?;
            sync_dir(&path)?;
            VerifyReport::default()
        };
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| io_err("opening", &path, e))?;
        let writer = ChainWriter::new(
            verified.chain_head(),
            config.key.clone(),
            config.checkpoint_every,
        );
        let durable = writer.head().seq;
        let log = Self {
            path,
            _lock: lock,
            domain: config.domain,
            trust: config.trust,
            fsync: config.fsync,
            state: Mutex::new(State {
                writer,
                pending: Vec::with_capacity(1 << 16),
                pending_upto: durable,
                durable,
                flushing: false,
                failed: None,
            }),
            committed: Condvar::new(),
            file: Mutex::new(file),
        };
        if let Some(r) = &mut repaired {
            let note = format!(
                "torn tail repaired: {} bytes of line {} at offset {} moved to {}",
                r.bytes,
                r.line,
                r.offset,
                r.saved_to.display()
            );
            r.checkpoint_seq = log.checkpoint_with(now, CheckpointReason::Repair, Some(&note))?;
        }
        Ok((log, OpenReport { verified, repaired }))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends `event` and returns its sequence number once it is durable.
    pub fn append(&self, event: &Event) -> Result<u64, LogError> {
        event.validate(self.domain)?;
        let mut st = self.lock();
        if let Some(f) = &st.failed {
            return Err(LogError::Failed(f.clone()));
        }
        let seq = st.enqueue(event);
        self.commit(st, seq)?;
        Ok(seq)
    }

    /// Appends several events, committed together; returns their sequence
    /// numbers once they are durable. Nothing is written if one is invalid.
    pub fn append_batch(&self, events: &[Event]) -> Result<Vec<u64>, LogError> {
        for e in events {
            e.validate(self.domain)?;
        }
        let mut st = self.lock();
        if let Some(f) = &st.failed {
            return Err(LogError::Failed(f.clone()));
        }
        let seqs: Vec<u64> = events.iter().map(|e| st.enqueue(e)).collect();
        let last = st.pending_upto;
        self.commit(st, last)?;
        Ok(seqs)
    }

    /// Writes a signed checkpoint of the current head now (e.g. before
    /// shutting down) and returns its sequence number once durable.
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
        let State {
            writer, pending, ..
        } = &mut *st;
        let seq = writer.push_checkpoint(now, reason, note, pending);
        st.pending_upto = seq;
        self.commit(st, seq)?;
        Ok(seq)
    }

    /// Group commit: wait until `seq` is durable, writing the queue ourselves
    /// when nobody else is.
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
            let mut buf = std::mem::take(&mut st.pending);
            let upto = st.pending_upto;
            drop(st);
            let res = self.write_durably(&buf);
            st = self.lock();
            st.flushing = false;
            match res {
                Ok(()) => {
                    st.durable = upto;
                    if st.pending.is_empty() {
                        buf.clear();
                        st.pending = buf;
                    }
                }
                Err(e) => {
                    // What reached the file is unknown: refuse further
                    // appends; reopening verifies and repairs the tail.
                    st.failed = Some(e.to_string());
                }
            }
            self.committed.notify_all();
        }
    }

    fn write_durably(&self, buf: &[u8]) -> Result<(), LogError> {
        let mut f = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        f.write_all(buf)
            .map_err(|e| io_err("appending to", &self.path, e))?;
        if self.fsync {
            f.sync_data()
                .map_err(|e| io_err("syncing", &self.path, e))?;
        }
        Ok(())
    }

    /// Waits until no commit is under way and holds the state: used by
    /// operations that read or replace the whole file.
    fn quiesce(&self) -> Result<MutexGuard<'_, State>, LogError> {
        let mut st = self.lock();
        loop {
            if let Some(f) = &st.failed {
                return Err(LogError::Failed(f.clone()));
            }
            if !st.flushing {
                break;
            }
            st = self
                .committed
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if st.durable < st.pending_upto {
            // Commit what is queued first.
            let upto = st.pending_upto;
            self.commit(st, upto)?;
            return self.quiesce();
        }
        Ok(st)
    }

    /// A verifiable extract of the entries `selection` picks (MedMij
    /// LOG-5): writes a `requested` checkpoint at `now` so that everything
    /// written so far is covered, then extracts through it, signed with
    /// this log's key (see [`crate::extract()`]).
    pub fn extract(
        &self,
        selection: &crate::Selection,
        now: SystemTime,
    ) -> Result<crate::Extract, LogError> {
        let through = self.checkpoint(now)?;
        let key = self.lock().writer.signing_key().clone();
        let f = File::open(&self.path).map_err(|e| io_err("opening", &self.path, e))?;
        crate::extract::extract_through(
            BufReader::with_capacity(1 << 20, f),
            self.trust.clone(),
            selection,
            &key,
            now,
            Some(through),
        )
        .map_err(|e| match e {
            LogError::Corrupt { error, .. } => LogError::Corrupt {
                path: self.path.clone(),
                error,
            },
            e => e,
        })
    }

    /// Verifies the whole file as it is on disk.
    pub fn verify(&self) -> Result<VerifyReport, LogError> {
        let _st = self.quiesce()?;
        verify_file(&self.path, &self.trust).map_err(|error| LogError::Corrupt {
            path: self.path.clone(),
            error,
        })
    }

    /// The events matching `query`, from a verified read of the file (what
    /// the PGO shows the person: all events of one subject, by time range).
    pub fn query(&self, query: &Query) -> Result<Vec<(u64, Event)>, LogError> {
        let _st = self.quiesce()?;
        query_file(&self.path, self.trust.clone(), query)
    }

    /// Removes the entries older than `retention` at `now` (MedMij LOG-3):
    /// every line up to the last one whose time is before the cutoff. The
    /// file is rewritten to start with a signed anchor for the last removed
    /// entry, so the rest still verifies, and a `prune` checkpoint records
    /// the pruning in the chain. The new file replaces the old one
    /// atomically (write, `fsync`, rename).
    pub fn prune(&self, retention: Retention, now: SystemTime) -> Result<PruneReport, LogError> {
        let cutoff = retention.cutoff(now);
        let mut st = self.quiesce()?;
        // One verifying pass: find the last line older than the cutoff,
        // its hash and where the next line starts. Memory: one line.
        let corrupt = |error| LogError::Corrupt {
            path: self.path.clone(),
            error,
        };
        let mut last_old: Option<(u64, u64, [u8; 32], u64)> = None; // (line, seq, hash, end offset)
        {
            let f = File::open(&self.path).map_err(|e| io_err("opening", &self.path, e))?;
            let mut reader = BufReader::with_capacity(1 << 20, f);
            let mut v = Verifier::new(self.trust.clone());
            let mut buf = Vec::with_capacity(4096);
            let (mut line, mut offset) = (0u64, 0u64);
            loop {
                buf.clear();
                let n = reader
                    .read_until(b'\n', &mut buf)
                    .map_err(|e| io_err("reading", &self.path, e))?;
                if n == 0 {
                    break;
                }
                let Some(text) = buf.strip_suffix(b"\n") else {
                    return Err(corrupt(VerifyError::TornTail {
                        line: line + 1,
                        bytes: n as u64,
                        offset,
                    }));
                };
                line += 1;
                offset += n as u64;
                let (seq, t) = match v.line(text).map_err(corrupt)? {
                    Entry::Event { seq, event } => (seq, event.time),
                    Entry::Checkpoint { seq, checkpoint } => (seq, checkpoint.time),
                    Entry::Anchor(_) => continue,
                };
                if t < cutoff {
                    // A verified entry line ends in `"hash":"<64 hex>"}` + newline.
                    let hash = text
                        .len()
                        .checked_sub(2 + 64)
                        .and_then(|s| text.get(s..s + 64))
                        .and_then(crate::hex::decode::<32>)
                        .ok_or_else(|| {
                            LogError::Config("pruning: the last removed line has no hash".into())
                        })?;
                    last_old = Some((line, seq, hash, offset));
                }
            }
        }
        let Some((old_line, old_seq, old_hash, keep_from)) = last_old else {
            return Ok(PruneReport {
                cutoff,
                removed_lines: 0,
                removed_through_seq: None,
                checkpoint_seq: None,
            });
        };
        // Write the anchor and copy the rest to a new file.
        let tmp = {
            let mut p = self.path.as_os_str().to_owned();
            p.push(".prune-tmp");
            PathBuf::from(p)
        };
        let mut out = File::create(&tmp).map_err(|e| io_err("creating", &tmp, e))?;
        let mut src = File::open(&self.path).map_err(|e| io_err("opening", &self.path, e))?;
        out.write_all(&st.writer.anchor_line(old_seq, &old_hash, cutoff, now))
            .and_then(|_| src.seek(SeekFrom::Start(keep_from)))
            .and_then(|_| std::io::copy(&mut src, &mut out))
            .and_then(|_| out.sync_all())
            .map_err(|e| io_err("writing", &tmp, e))?;
        drop(out);
        // Check what we wrote before it replaces the log.
        verify_file(&tmp, &self.trust).map_err(|error| LogError::Corrupt {
            path: tmp.clone(),
            error,
        })?;
        std::fs::rename(&tmp, &self.path).map_err(|e| io_err("renaming", &tmp, e))?;
        sync_dir(&self.path)?;
        let file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|e| io_err("opening", &self.path, e))?;
        *self.file.lock().unwrap_or_else(PoisonError::into_inner) = file;
        let note = format!(
            "pruned (LOG-3, {} months): {old_line} lines through entry {old_seq}, cutoff {}",
            retention.get(),
            crate::time::format(cutoff)
        );
        let State {
            writer, pending, ..
        } = &mut *st;
        let seq = writer.push_checkpoint(now, CheckpointReason::Prune, Some(&note), pending);
        st.pending_upto = seq;
        self.commit(st, seq)?;
        Ok(PruneReport {
            cutoff,
            removed_lines: old_line,
            removed_through_seq: Some(old_seq),
            checkpoint_seq: Some(seq),
        })
    }
}

impl AuditSink for FileLog {
    fn append(&self, event: &Event) -> Result<u64, LogError> {
        Self::append(self, event)
    }
}

impl crate::BatchSink for FileLog {
    fn check(&self, event: &Event) -> Result<(), LogError> {
        Ok(event.validate(self.domain)?)
    }
    fn append_batch(&self, events: &[Event]) -> Result<Vec<u64>, LogError> {
        Self::append_batch(self, events)
    }
}

/// The events matching `query` in the log file at `path`, read through the
/// verifier (a broken chain is an error, not a partial answer).
pub fn query_file(path: &Path, trust: Trust, query: &Query) -> Result<Vec<(u64, Event)>, LogError> {
    let f = File::open(path).map_err(|e| io_err("opening", path, e))?;
    crate::query::query_reader(BufReader::with_capacity(1 << 20, f), trust, query).map_err(
        |error| LogError::Corrupt {
            path: path.to_path_buf(),
            error,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{SubjectId, test_event};
    use std::time::{Duration, UNIX_EPOCH};

    mod log_1 {
        use super::*;

        /// Queues `event` as an appender does, but leaves the commit to
        /// someone else: the state a race leaves behind when an appender has
        /// queued its line while another's commit was under way, and that
        /// commit has just ended (the appender has not woken yet).
        fn queue_without_commit(log: &FileLog, event: &Event) -> u64 {
            log.lock().enqueue(event)
        }

        /// MedMij LOG-1: `verify` and `query` read the whole file; they first
        /// commit what another appender queued, so no acknowledged-to-be
        /// entry is missing from what they report.
        #[test]
        fn whole_file_reads_first_commit_what_another_appender_queued() {
            let dir =
                std::env::temp_dir().join(format!("medmij-log-quiesce-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let mut config = FileLogConfig::new(SigningKey::from_bytes(&[42; 32]));
            config.fsync = false;
            let t = |s| UNIX_EPOCH + Duration::from_secs(s);
            let (log, _) = FileLog::open(dir.join("audit.log"), config, t(1_000)).unwrap();
            log.append(&test_event(1, "person-a", t(1_001))).unwrap();

            let queued = queue_without_commit(&log, &test_event(2, "person-a", t(1_002)));
            let report = log.verify().unwrap();
            assert_eq!(
                report.events, 2,
                "verify saw the file without the queued entry"
            );
            let on_disk = std::fs::read_to_string(dir.join("audit.log")).unwrap();
            assert!(
                on_disk.contains("\"ev-2\""),
                "the queued entry was not written first"
            );
            {
                let st = log.lock();
                assert_eq!((st.durable, st.pending.len()), (queued, 0));
            }

            queue_without_commit(&log, &test_event(3, "person-a", t(1_003)));
            let person = SubjectId::new("person-a", Domain::Pgo).unwrap();
            let found = log.query(&Query::subject(person)).unwrap();
            let ids: Vec<&str> = found.iter().map(|(_, e)| e.id.as_str()).collect();
            assert_eq!(ids, ["ev-1", "ev-2", "ev-3"]);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
