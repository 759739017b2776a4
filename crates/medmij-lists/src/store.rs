//! [`ListStore`]: keeps a gateway on a valid, current list (MedMij LISTS-7,
//! LISTS-8, LISTS-9, LISTS-10, LISTS-11). Sans-IO: the caller fetches the
//! bytes and passes the time (or the feature `fetch` does, with a
//! `Refresher`).

use crate::error::ParseErrors;
use crate::{ListKind, MedMijList, ParseOptions, Volgnummer, Zorgaanbiederslijst};
use arc_swap::ArcSwap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// MedMij LISTS-10: how long a Gegevensdienst stays servable after the list
/// version that announced it stopped being the current one.
pub const GRACE: Duration = Duration::from_secs(3600);

/// Where every accepted list version is kept (MedMij LISTS-11: at least as
/// long as the logs, so any logged event can be traced to its list).
pub trait ArchiveSink: Send + Sync {
    /// Keeps `bytes`, the exact document of list `kind` version
    /// `volgnummer`. Returns only once the bytes are durable. Archiving the
    /// same version again with the same bytes succeeds.
    fn archive(&self, kind: ListKind, volgnummer: &Volgnummer, bytes: &[u8]) -> io::Result<()>;
}

/// An archive that keeps nothing. For tests and tools; a gateway needs a
/// real archive to meet LISTS-11.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoArchive;

impl ArchiveSink for NoArchive {
    fn archive(&self, _: ListKind, _: &Volgnummer, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
}

/// The default archive: a directory with one file per list and Volgnummer,
/// `ZAL-123.xml`, written atomically (temporary file, fsync, rename, fsync
/// of the directory).
#[derive(Debug, Clone)]
pub struct DirArchive {
    dir: PathBuf,
}

impl DirArchive {
    /// An archive in `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    /// The file that holds `kind` version `volgnummer`.
    pub fn path_of(&self, kind: ListKind, volgnummer: &Volgnummer) -> PathBuf {
        self.dir
            .join(format!("{}-{}.xml", kind.short_name(), volgnummer))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl ArchiveSink for DirArchive {
    fn archive(&self, kind: ListKind, volgnummer: &Volgnummer, bytes: &[u8]) -> io::Result<()> {
        let path = self.path_of(kind, volgnummer);
        match fs::read(&path) {
            Ok(existing) if existing == bytes => return Ok(()),
            Ok(_) => {
                // Never overwrite the evidence of what was in force.
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "{} holds other content for {} {}",
                        path.display(),
                        kind,
                        volgnummer
                    ),
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let tmp = self.dir.join(format!(
            ".{}-{}.{}.tmp",
            kind.short_name(),
            volgnummer,
            std::process::id()
        ));
        if let Err(e) = write_then_rename(&tmp, &path, bytes) {
            // Leave no partial copy behind; the error is the write's.
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        fs::File::open(&self.dir)?.sync_all()?;
        Ok(())
    }
}

/// Writes `bytes` durably to `tmp`, then renames it to `path`.
fn write_then_rename(tmp: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = fs::File::create(tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(tmp, path)
}

/// A list version in force, with when it was installed.
#[derive(Debug)]
pub struct Installed<L> {
    list: L,
    installed_at: SystemTime,
}

impl<L> Installed<L> {
    /// The list.
    pub fn list(&self) -> &L {
        &self.list
    }
    /// When it was installed.
    pub fn installed_at(&self) -> SystemTime {
        self.installed_at
    }
}

/// What an accepted offer or rollback did. Gateways log these.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub enum StoreEvent {
    /// A newer version was validated, archived and installed (LISTS-7,
    /// LISTS-9, LISTS-11).
    Installed {
        /// The list.
        kind: ListKind,
        /// The new version.
        volgnummer: Volgnummer,
        /// The version it replaced.
        previous: Option<Volgnummer>,
    },
    /// The offered version is the one in force: nothing changed, but the
    /// list counts as freshly checked (LISTS-8).
    Unchanged {
        /// The list.
        kind: ListKind,
        /// The version in force.
        volgnummer: Volgnummer,
    },
    /// An operator installed a version regardless of its Volgnummer
    /// (LISTS-8, LISTS-9).
    RolledBack {
        /// The list.
        kind: ListKind,
        /// The version that was in force.
        from: Option<Volgnummer>,
        /// The version now in force.
        to: Volgnummer,
        /// The operator's reason.
        reason: String,
    },
}

/// Why an offer was refused. The previous version stays in force (LISTS-7).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The document failed validation (LISTS-7).
    #[error("the list failed validation (MedMij LISTS-7): {0}")]
    Invalid(#[from] ParseErrors),
    /// The Volgnummer is not higher than the one in force (LISTS-9).
    #[error("{kind} Volgnummer {offered} is not higher than {current} in force (MedMij LISTS-9)")]
    NotNewer {
        /// The list.
        kind: ListKind,
        /// The offered version.
        offered: Volgnummer,
        /// The version in force.
        current: Volgnummer,
    },
    /// The version could not be archived, so it is not used (LISTS-11).
    #[error("archiving {kind} {volgnummer} failed (MedMij LISTS-11): {source}")]
    Archive {
        /// The list.
        kind: ListKind,
        /// The version.
        volgnummer: Volgnummer,
        /// The I/O error.
        source: io::Error,
    },
}

/// How current the list in force is (MedMij LISTS-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freshness {
    /// The list.
    pub kind: ListKind,
    /// The version in force.
    pub volgnummer: Volgnummer,
    /// Time since the last successful fetch (an install or an unchanged
    /// offer).
    pub since_check: Duration,
    /// Age of the version's Tijdstempel, if it lies in the past.
    pub tijdstempel_age: Option<Duration>,
    /// The allowed [`Freshness::since_check`].
    pub max_age: Duration,
    /// Whether `since_check` exceeds `max_age`: fetch now.
    pub stale: bool,
}

struct State<L> {
    current: Option<Arc<Installed<L>>>,
    /// Versions that stopped being current, with when; kept for the grace
    /// period of LISTS-10.
    previous: Vec<(Arc<Installed<L>>, SystemTime)>,
    last_check: Option<SystemTime>,
}

impl<L> Clone for State<L> {
    fn clone(&self) -> Self {
        Self {
            current: self.current.clone(),
            previous: self.previous.clone(),
            last_check: self.last_check,
        }
    }
}

/// Keeps one list current for a gateway.
///
/// * [`ListStore::offer`] installs a fetched version only if it validates
///   (LISTS-7) and its Volgnummer is higher (LISTS-9), after archiving it
///   (LISTS-11);
/// * [`ListStore::rollback`] is the explicit operator override, reported as
///   [`StoreEvent::RolledBack`];
/// * [`ListStore::current`] never blocks: readers load an `Arc` of the
///   version in force while a new one is parsed and swapped in, and never
///   see a half-installed list;
/// * [`ListStore::within_grace`] and, for the ZAL,
///   [`ListStore::may_serve`] honour the 3600 s grace of LISTS-10;
/// * [`ListStore::freshness`] reports staleness (LISTS-8).
pub struct ListStore<L> {
    state: ArcSwap<State<L>>,
    /// Serializes writers; readers never take it.
    write: Mutex<()>,
    archive: Box<dyn ArchiveSink>,
    opts: ParseOptions,
    max_age: Duration,
}

impl<L: MedMijList> ListStore<L> {
    /// An empty store that archives to `archive`, with default
    /// [`ParseOptions`] and the LISTS-8 maximum age of the list kind.
    pub fn new(archive: impl ArchiveSink + 'static) -> Self {
        Self {
            state: ArcSwap::from_pointee(State {
                current: None,
                previous: Vec::new(),
                last_check: None,
            }),
            write: Mutex::new(()),
            archive: Box::new(archive),
            opts: ParseOptions::default(),
            max_age: L::KIND.max_age(),
        }
    }

    /// Uses `opts` for parsing offered versions.
    #[must_use]
    pub fn with_options(mut self, opts: ParseOptions) -> Self {
        self.opts = opts;
        self
    }

    /// Overrides the maximum age before the list counts as stale (default:
    /// [`ListKind::max_age`]).
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// The version in force, if any. Lock-free.
    pub fn current(&self) -> Option<Arc<Installed<L>>> {
        self.state.load().current.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        // The guard protects no data, so a poisoned lock is still usable.
        self.write.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Offers a fetched version at time `now`.
    ///
    /// Validated first (LISTS-7); then refused unless its Volgnummer is
    /// higher than the one in force (LISTS-9; an identical version gives
    /// [`StoreEvent::Unchanged`]); then archived (LISTS-11); then installed.
    /// On any error the previous version stays in force.
    pub fn offer(&self, bytes: &[u8], now: SystemTime) -> Result<StoreEvent, StoreError> {
        let list = L::parse(bytes, &self.opts)?;
        let _guard = self.lock();
        let state = self.state.load_full();
        if let Some(cur) = &state.current {
            let current = cur.list.volgnummer();
            let offered = list.volgnummer();
            if offered <= current {
                if offered == current && list == cur.list {
                    let mut next = (*state).clone();
                    next.last_check = Some(now);
                    self.state.store(Arc::new(next));
                    return Ok(StoreEvent::Unchanged {
                        kind: L::KIND,
                        volgnummer: current.clone(),
                    });
                }
                return Err(StoreError::NotNewer {
                    kind: L::KIND,
                    offered: offered.clone(),
                    current: current.clone(),
                });
            }
        }
        let volgnummer = list.volgnummer().clone();
        self.archive_version(&volgnummer, bytes)?;
        let previous = state.current.as_ref().map(|c| c.list.volgnummer().clone());
        self.install(&state, list, now);
        Ok(StoreEvent::Installed {
            kind: L::KIND,
            volgnummer,
            previous,
        })
    }

    /// Installs a version regardless of its Volgnummer: the explicit,
    /// logged operator rollback of LISTS-8/LISTS-9. The document must still
    /// validate (LISTS-7) and is archived (LISTS-11).
    pub fn rollback(
        &self,
        bytes: &[u8],
        now: SystemTime,
        reason: &str,
    ) -> Result<StoreEvent, StoreError> {
        let list = L::parse(bytes, &self.opts)?;
        let _guard = self.lock();
        let state = self.state.load_full();
        let to = list.volgnummer().clone();
        self.archive_version(&to, bytes)?;
        let from = state.current.as_ref().map(|c| c.list.volgnummer().clone());
        self.install(&state, list, now);
        Ok(StoreEvent::RolledBack {
            kind: L::KIND,
            from,
            to,
            reason: reason.to_owned(),
        })
    }

    fn archive_version(&self, volgnummer: &Volgnummer, bytes: &[u8]) -> Result<(), StoreError> {
        self.archive
            .archive(L::KIND, volgnummer, bytes)
            .map_err(|source| StoreError::Archive {
                kind: L::KIND,
                volgnummer: volgnummer.clone(),
                source,
            })
    }

    fn install(&self, state: &State<L>, list: L, now: SystemTime) {
        let mut previous: Vec<_> = state
            .previous
            .iter()
            .filter(|(_, until)| now.duration_since(*until).map_or(true, |d| d <= GRACE))
            .cloned()
            .collect();
        if let Some(cur) = &state.current {
            previous.push((cur.clone(), now));
        }
        let next = State {
            current: Some(Arc::new(Installed {
                list,
                installed_at: now,
            })),
            previous,
            last_check: Some(now),
        };
        self.state.store(Arc::new(next));
    }

    /// Whether `pred` holds for the version in force, or for a version that
    /// stopped being current no more than 3600 s before `now` (MedMij
    /// LISTS-10: in-flight sessions may finish).
    pub fn within_grace(&self, now: SystemTime, pred: impl Fn(&L) -> bool) -> bool {
        let state = self.state.load();
        if state.current.as_ref().is_some_and(|c| pred(&c.list)) {
            return true;
        }
        state.previous.iter().any(|(v, until)| {
            now.duration_since(*until).map_or(true, |d| d <= GRACE) && pred(&v.list)
        })
    }

    /// How current the list in force is at `now`; `None` before the first
    /// install.
    pub fn freshness(&self, now: SystemTime) -> Option<Freshness> {
        let state = self.state.load();
        let cur = state.current.as_ref()?;
        let since_check = state
            .last_check
            .and_then(|t| now.duration_since(t).ok())
            .unwrap_or_default();
        let tijdstempel_age = cur
            .list
            .tijdstempel()
            .to_system_time()
            .and_then(|t| now.duration_since(t).ok());
        Some(Freshness {
            kind: L::KIND,
            volgnummer: cur.list.volgnummer().clone(),
            since_check,
            tijdstempel_age,
            max_age: self.max_age,
            stale: since_check > self.max_age,
        })
    }

    /// Whether the gateway must fetch now: nothing installed yet, or the
    /// list in force was last checked more than the maximum age ago (LISTS-8).
    pub fn is_stale(&self, now: SystemTime) -> bool {
        self.freshness(now).is_none_or(|f| f.stale)
    }
}

impl ListStore<Zorgaanbiederslijst> {
    /// Whether Gegevensdienst `id` of Zorgaanbieder `naam` may be served at
    /// `now`: it is in the ZAL in force (in any Interfaceversie, MedMij
    /// LISTS-15), or was in a version that stopped being current at most
    /// 3600 s ago (MedMij LISTS-10).
    pub fn may_serve(&self, naam: &str, id: &str, now: SystemTime) -> bool {
        self.within_grace(now, |zal| {
            zal.zorgaanbieder(naam).is_some_and(|z| z.offers(id))
        })
    }
}

impl<L> std::fmt::Debug for ListStore<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListStore")
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}
