//! A gateway's NEN 7513 log (MedMij LOG-1, LOG-2, LOG-3, LOG-4) on a medmij-log file sink.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use ed25519_dalek::SigningKey;
use medmij_log::{
    Action, Actor, ActorKind, AsyncLog, AsyncLogConfig, Event, FileLog, FileLogConfig, Object,
    Outcome, Query, Source, SubjectId,
};

use super::DemoError;

pub(crate) struct AuditLog {
    /// Appends go through medmij-log's async handle: its own writer thread, a
    /// bounded queue (back-pressure instead of memory growth, OAUTH-14) and
    /// group commit (one fdatasync for what is queued), never a runtime worker.
    log: AsyncLog<FileLog>,
    system: &'static str,
    seq: AtomicU64,
    /// Anonymous refusals counted per source address (see
    /// [`super::limits::ANONYMOUS_LOG_WINDOW`]).
    anonymous: Mutex<HashMap<IpAddr, Window>>,
    window: Duration,
    max_sources: usize,
}

/// The anonymous refusals of one source after the first one of its window.
struct Window {
    opened: Instant,
    opened_at: SystemTime,
    counts: BTreeMap<&'static str, u64>,
}

/// The key under which sources beyond [`super::limits::ANONYMOUS_LOG_SOURCES`]
/// are counted together.
const OTHER_SOURCES: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

/// One event to log; the system and id are filled in by [`AuditLog::record`].
pub(crate) struct Entry {
    pub(crate) event_type: &'static str,
    pub(crate) action: Action,
    pub(crate) actor: (String, ActorKind),
    pub(crate) subject: Option<SubjectId>,
    pub(crate) object: Object,
    pub(crate) outcome: Outcome,
    pub(crate) detail: Option<String>,
}

impl AuditLog {
    /// Opens a fresh log. The signing key is a fixed demo key; in production it is a
    /// secret of the gateway.
    pub(crate) fn open(
        path: &Path,
        system: &'static str,
        key: [u8; 32],
        limits: &super::Limits,
    ) -> Result<Self, DemoError> {
        let (log, _) = FileLog::open(
            path,
            FileLogConfig::new(SigningKey::from_bytes(&key)),
            SystemTime::now(),
        )?;
        Ok(AuditLog {
            log: AsyncLog::new(
                log,
                AsyncLogConfig {
                    queue: limits.audit_log_queue.max(1),
                    ..AsyncLogConfig::default()
                },
            )?,
            system,
            seq: AtomicU64::new(0),
            anonymous: Mutex::new(HashMap::new()),
            window: limits.anonymous_log_window,
            max_sources: limits.anonymous_log_sources.max(1),
        })
    }

    /// Appends one event; durable when the future resolves. The append waits for
    /// the disk (fdatasync, group commit) on medmij-log's writer thread, not on an
    /// async worker.
    pub(crate) async fn record(&self, e: Entry) -> Result<u64, DemoError> {
        self.record_from(e, None).await
    }

    /// As [`AuditLog::record`], with the network address the request came from
    /// (LOG-1 "where").
    pub(crate) async fn record_from(
        &self,
        e: Entry,
        source: Option<IpAddr>,
    ) -> Result<u64, DemoError> {
        Ok(self.log.append(self.event(e, source)).await?)
    }

    /// Appends one event on this thread; durable when this returns. For callers
    /// outside a tokio runtime.
    pub(crate) fn record_blocking(&self, e: Entry) -> Result<u64, DemoError> {
        Ok(self.log.sink().append(&self.event(e, None))?)
    }

    /// Logs a refusal of an anonymous request from `source` (MedMij LOG-1, with the
    /// log volume bounded per OAUTH-14): the first refusal of a source in its window
    /// is written at once as its own entry; later ones in the same window are only
    /// counted, and written as one entry when the window closes (see
    /// [`AuditLog::flush_anonymous`]). Returns whether `e` itself was written.
    pub(crate) async fn record_anonymous(
        &self,
        e: Entry,
        source: IpAddr,
    ) -> Result<bool, DemoError> {
        let now = Instant::now();
        let (closed, first) = {
            let mut map = self.anonymous.lock().unwrap_or_else(|e| e.into_inner());
            let key = if map.contains_key(&source) || map.len() < self.max_sources {
                source
            } else {
                OTHER_SOURCES
            };
            let closed = match map.get(&key) {
                Some(w) if now.duration_since(w.opened) >= self.window => map.remove(&key),
                _ => None,
            };
            let first = match map.get_mut(&key) {
                Some(w) => {
                    *w.counts.entry(e.event_type).or_default() += 1;
                    false
                }
                None => {
                    map.insert(
                        key,
                        Window {
                            opened: now,
                            opened_at: SystemTime::now(),
                            counts: BTreeMap::new(),
                        },
                    );
                    true
                }
            };
            (closed.map(|w| (key, w)), first)
        };
        if let Some((key, w)) = closed {
            self.write_summary(key, w).await?;
        }
        if first {
            self.record_from(e, Some(source)).await?;
        }
        Ok(first)
    }

    /// Writes the counting entry of every window that has closed; with `all`, also
    /// of the open ones (e.g. before the log is read), whose counts start again
    /// from zero while the window stays open (its next refusal is counted, not
    /// written on its own). Returns how many entries were written.
    pub(crate) async fn flush_anonymous(&self, all: bool) -> Result<usize, DemoError> {
        let now = Instant::now();
        let due: Vec<(IpAddr, Window)> = {
            let mut map = self.anonymous.lock().unwrap_or_else(|e| e.into_inner());
            let closed: Vec<IpAddr> = map
                .iter()
                .filter(|(_, w)| now.duration_since(w.opened) >= self.window)
                .map(|(k, _)| *k)
                .collect();
            let mut due: Vec<(IpAddr, Window)> = closed
                .into_iter()
                .filter_map(|k| map.remove(&k).map(|w| (k, w)))
                .collect();
            if all {
                for (k, w) in map.iter_mut() {
                    if !w.counts.is_empty() {
                        due.push((
                            *k,
                            Window {
                                opened: w.opened,
                                opened_at: w.opened_at,
                                counts: std::mem::take(&mut w.counts),
                            },
                        ));
                    }
                }
            }
            due
        };
        let mut written = 0;
        for (key, w) in due {
            if self.write_summary(key, w).await? {
                written += 1;
            }
        }
        Ok(written)
    }

    /// The counting entry of one closed window, if anything was counted in it.
    async fn write_summary(&self, key: IpAddr, w: Window) -> Result<bool, DemoError> {
        let total: u64 = w.counts.values().sum();
        if total == 0 {
            return Ok(false);
        }
        let who = if key == OTHER_SOURCES {
            "other sources".to_owned()
        } else {
            key.to_string()
        };
        let kinds: Vec<String> = w.counts.iter().map(|(k, n)| format!("{k} x{n}")).collect();
        let since = w
            .opened_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        self.record_from(
            Entry {
                event_type: "refusals.counted",
                action: Action::Execute,
                actor: ("unknown".into(), ActorKind::System),
                subject: None,
                object: Object::new("source", who.clone()),
                outcome: Outcome::Refused,
                detail: Some(format!(
                    "{total} more anonymous refusal(s) from {who} in the window opened at                      {since} (Unix time): {}",
                    kinds.join(", ")
                )),
            },
            (key != OTHER_SOURCES).then_some(key),
        )
        .await?;
        Ok(true)
    }

    /// The NEN 7513 event for `e`, with this gateway's next id and the time now.
    fn event(&self, e: Entry, source: Option<IpAddr>) -> Event {
        let n = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        Event {
            id: format!("{}-{n}", self.system),
            event_type: e.event_type.into(),
            action: e.action,
            time: SystemTime::now(),
            actor: Actor {
                id: e.actor.0,
                kind: e.actor.1,
                role: None,
                on_behalf_of: None,
            },
            subject: e.subject,
            object: e.object,
            source: Source {
                system: self.system.into(),
                location: source.map(|a| a.to_string()),
            },
            outcome: e.outcome,
            detail: e.detail,
        }
    }

    /// Verifies the hash chain and checkpoints; returns the number of events.
    pub(crate) fn verify(&self) -> Result<u64, DemoError> {
        Ok(self.log.sink().verify()?.events)
    }

    /// The events in the log, in order.
    pub(crate) fn events(&self) -> Result<Vec<super::LogLine>, DemoError> {
        Ok(self
            .log
            .sink()
            .query(&Query::default())?
            .into_iter()
            .map(|(_, e)| super::LogLine {
                event_type: e.event_type,
                actor: e.actor.id,
                outcome: format!("{:?}", e.outcome).to_lowercase(),
                source: e.source.location,
                detail: e.detail,
            })
            .collect())
    }

    /// The event types in the log, in order.
    pub(crate) fn event_types(&self) -> Result<Vec<String>, DemoError> {
        Ok(self
            .log
            .sink()
            .query(&Query::default())?
            .into_iter()
            .map(|(_, e)| e.event_type)
            .collect())
    }
}
