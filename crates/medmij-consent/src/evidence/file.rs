//! The embedded evidence store: one append-only JSON-lines file, each
//! append `fsync`ed, a torn last line repaired on open (MedMij CONSENT-5).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use super::EvidenceLedger;
use super::ledger::{
    EvidenceConfig, LedgerHead, LedgerReader, LedgerWriter, PruneReport, VerifyReport,
};
use super::record::{EvidenceError, EvidenceRecord, PersonId};

/// A torn last line found and repaired when opening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTailRepair {
    /// Its line number.
    pub line: u64,
    /// Byte offset where it started; the file was cut there.
    pub offset: u64,
    /// Its length in bytes.
    pub bytes: u64,
    /// Where the cut-off bytes were saved (`<ledger>.torn`).
    pub saved_to: PathBuf,
}

/// What opening found.
#[derive(Debug, Clone)]
pub struct OpenReport {
    /// The verification of the file (after repair).
    pub verified: VerifyReport,
    /// The torn tail repaired, if any.
    pub repaired: Option<TornTailRepair>,
}

struct State {
    writer: LedgerWriter,
    file: File,
    failed: Option<String>,
}

/// The embedded store of the consent evidence: a chained, signed JSON-lines
/// file (see [`super::ledger`](crate::evidence::LedgerWriter)).
/// [`FileEvidenceLedger::append`] returns once the line is on disk. One
/// writer per file: opening takes an exclusive lock on `<path>.lock`.
pub struct FileEvidenceLedger {
    path: PathBuf,
    _lock: File,
    config: EvidenceConfig,
    state: Mutex<State>,
}

impl std::fmt::Debug for FileEvidenceLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileEvidenceLedger")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> EvidenceError {
    EvidenceError::Io {
        what: format!("{what} {}", path.display()),
        reason: e.to_string(),
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

fn sync_dir(path: &Path) -> Result<(), EvidenceError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err("syncing directory", dir, e))
}

/// A last line without `\n`: its line number, offset and length.
type Torn = (u64, u64, u64);

/// Reads every line of `path` through `reader`; calls `each` per record
/// with its sequence number, the record, the offset after it and the head.
/// A last line without `\n` is reported as `Ok(Err(torn))`.
fn read_file(
    path: &Path,
    reader: &mut LedgerReader,
    mut each: impl FnMut(u64, EvidenceRecord, u64, LedgerHead),
) -> Result<Result<(), Torn>, EvidenceError> {
    let f = File::open(path).map_err(|e| io_err("opening", path, e))?;
    let mut r = BufReader::with_capacity(1 << 16, f);
    let mut buf = Vec::with_capacity(4096);
    let (mut line, mut offset) = (0u64, 0u64);
    loop {
        buf.clear();
        let n = r
            .read_until(b'\n', &mut buf)
            .map_err(|e| io_err("reading", path, e))?;
        if n == 0 {
            return Ok(Ok(()));
        }
        line += 1;
        let Some(text) = buf.strip_suffix(b"\n") else {
            return Ok(Err((line, offset, n as u64)));
        };
        offset += n as u64;
        let text = std::str::from_utf8(text).map_err(|_| EvidenceError::Corrupt {
            source_name: path.display().to_string(),
            line,
            reason: "not UTF-8".into(),
            rule: medmij_types::RuleId::Consent5,
        })?;
        if let Some((seq, rec)) = reader.line(text)? {
            each(seq, rec, offset, reader.head());
        }
    }
}

impl FileEvidenceLedger {
    /// Opens (or creates) the ledger at `path` and verifies it. A torn last
    /// line (a crash during an append) is saved to `<path>.torn` and cut
    /// off; any other defect refuses to open ([`EvidenceError::Corrupt`]).
    pub fn open(
        path: impl AsRef<Path>,
        config: EvidenceConfig,
    ) -> Result<(Self, OpenReport), EvidenceError> {
        let path = path.as_ref().to_path_buf();
        if !config.trust.contains(&config.key.verifying_key()) {
            return Err(EvidenceError::Config(
                "the signing key's public key is not among the trusted keys".into(),
            ));
        }
        let lock_path = with_suffix(&path, ".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io_err("opening", &lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(EvidenceError::InUse(path)),
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(io_err("locking", &lock_path, e));
            }
        }
        let mut repaired = None;
        if !path.exists() {
            OpenOptions::new()
                .create_new(true)
                .write(true)
                .open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| io_err("creating", &path, e))?;
            sync_dir(&path)?;
        }
        let mut reader = Self::reader_for(&config, &path);
        if let Err((line, offset, bytes)) = read_file(&path, &mut reader, |_, _, _, _| {})? {
            let saved_to = with_suffix(&path, ".torn");
            let mut f = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|e| io_err("opening", &path, e))?;
            let mut tail = Vec::new();
            f.seek(SeekFrom::Start(offset))
                .and_then(|_| f.read_to_end(&mut tail))
                .map_err(|e| io_err("reading", &path, e))?;
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&saved_to)
                .and_then(|mut t| t.write_all(&tail).and_then(|_| t.sync_all()))
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
            });
        }
        let verified = reader.report();
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| io_err("opening", &path, e))?;
        let writer = LedgerWriter::new(verified.head, config.key.clone(), config.cipher.clone());
        Ok((
            Self {
                path,
                _lock: lock,
                config,
                state: Mutex::new(State {
                    writer,
                    file,
                    failed: None,
                }),
            },
            OpenReport { verified, repaired },
        ))
    }

    fn reader_for(config: &EvidenceConfig, path: &Path) -> LedgerReader {
        LedgerReader::new(
            config.trust.clone(),
            config.cipher.clone(),
            path.display().to_string(),
        )
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, EvidenceError> {
        let st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(f) = &st.failed {
            return Err(EvidenceError::Failed(f.clone()));
        }
        Ok(st)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    #[allow(clippy::type_complexity)]
    fn read_all(
        &self,
    ) -> Result<(Vec<(u64, EvidenceRecord, u64, LedgerHead)>, VerifyReport), EvidenceError> {
        let mut reader = Self::reader_for(&self.config, &self.path);
        let mut all = Vec::new();
        match read_file(&self.path, &mut reader, |s, r, end, h| {
            all.push((s, r, end, h))
        })? {
            Ok(()) => Ok((all, reader.report())),
            Err((line, _, _)) => Err(EvidenceError::Corrupt {
                source_name: self.path.display().to_string(),
                line,
                reason: "the last line is incomplete".into(),
                rule: medmij_types::RuleId::Consent5,
            }),
        }
    }
}

/// `person`'s decisions from the ledger file at `path`, read through the
/// verifier without taking the writer's lock (a reader next to a running
/// gateway). A torn last line (an append under way) is left out.
pub fn lookup_file(
    path: &Path,
    trust: Vec<ed25519_dalek::VerifyingKey>,
    cipher: Option<super::EvidenceCipher>,
    person: &PersonId,
) -> Result<Vec<(u64, EvidenceRecord)>, EvidenceError> {
    let mut reader = LedgerReader::new(trust, cipher, path.display().to_string());
    let mut out = Vec::new();
    let _torn = read_file(path, &mut reader, |s, r, _, _| {
        if &r.person == person {
            out.push((s, r));
        }
    })?;
    Ok(out)
}

impl EvidenceLedger for FileEvidenceLedger {
    fn append(&self, record: &EvidenceRecord) -> Result<u64, EvidenceError> {
        let mut st = self.lock()?;
        let before = st.writer.head();
        let (seq, line) = st.writer.line(record)?;
        let res = st.file.write_all(line.as_bytes()).and_then(|_| {
            if self.config.fsync {
                st.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = res {
            // What reached the file is unknown: refuse further appends;
            // reopening verifies and repairs the tail.
            let e = io_err("appending to", &self.path, e);
            st.failed = Some(e.to_string());
            st.writer =
                LedgerWriter::new(before, self.config.key.clone(), self.config.cipher.clone());
            return Err(e);
        }
        Ok(seq)
    }

    fn lookup(&self, person: &PersonId) -> Result<Vec<(u64, EvidenceRecord)>, EvidenceError> {
        let _st = self.lock()?;
        let (all, _) = self.read_all()?;
        Ok(all
            .into_iter()
            .filter(|(_, r, _, _)| &r.person == person)
            .map(|(s, r, _, _)| (s, r))
            .collect())
    }

    fn verify(&self) -> Result<VerifyReport, EvidenceError> {
        let st = self.lock()?;
        let (_, report) = self.read_all()?;
        if report.head != st.writer.head() {
            return Err(EvidenceError::Corrupt {
                source_name: self.path.display().to_string(),
                line: report.records,
                reason: format!(
                    "the file ends at entry {}, the writer wrote up to {}: lines were dropped",
                    report.head.seq,
                    st.writer.head().seq
                ),
                rule: medmij_types::RuleId::Consent5,
            });
        }
        Ok(report)
    }

    fn head(&self) -> LedgerHead {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .writer
            .head()
    }

    /// Removes the oldest records while they are older than the retention:
    /// the file is rewritten to start with a signed anchor for the last
    /// removed record, then replaced atomically (write, `fsync`, rename).
    fn prune(&self, now: SystemTime) -> Result<PruneReport, EvidenceError> {
        let Some(cutoff) = self.config.retention.cutoff(now) else {
            return Ok(PruneReport {
                cutoff: None,
                removed: 0,
            });
        };
        let mut st = self.lock()?;
        let (all, _) = self.read_all()?;
        let old = all.iter().take_while(|(_, r, _, _)| r.at < cutoff).count();
        let Some((_, _, keep_from, removed_head)) = old.checked_sub(1).and_then(|i| all.get(i))
        else {
            return Ok(PruneReport {
                cutoff: Some(cutoff),
                removed: 0,
            });
        };
        let removed_head = *removed_head;
        let tmp = with_suffix(&self.path, ".prune-tmp");
        let mut out = File::create(&tmp).map_err(|e| io_err("creating", &tmp, e))?;
        let mut src = File::open(&self.path).map_err(|e| io_err("opening", &self.path, e))?;
        out.write_all(st.writer.anchor_line(removed_head, cutoff, now).as_bytes())
            .and_then(|_| src.seek(SeekFrom::Start(*keep_from)))
            .and_then(|_| std::io::copy(&mut src, &mut out))
            .and_then(|_| out.sync_all())
            .map_err(|e| io_err("writing", &tmp, e))?;
        drop(out);
        let mut check = Self::reader_for(&self.config, &tmp);
        if read_file(&tmp, &mut check, |_, _, _, _| {})?.is_err() {
            return Err(EvidenceError::Corrupt {
                source_name: tmp.display().to_string(),
                line: 0,
                reason: "the pruned copy ends in an incomplete line".into(),
                rule: medmij_types::RuleId::Consent5,
            });
        }
        std::fs::rename(&tmp, &self.path).map_err(|e| io_err("renaming", &tmp, e))?;
        sync_dir(&self.path)?;
        st.file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|e| io_err("opening", &self.path, e))?;
        Ok(PruneReport {
            cutoff: Some(cutoff),
            removed: old as u64,
        })
    }
}
