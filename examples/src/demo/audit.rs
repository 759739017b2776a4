//! A gateway's NEN 7513 log (MedMij LOG-1..4) on a medmij-log file sink.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use ed25519_dalek::SigningKey;
use medmij_log::{
    Action, Actor, ActorKind, Event, FileLog, FileLogConfig, Object, Outcome, Query, Source,
    SubjectId,
};

use super::DemoError;

pub(crate) struct AuditLog {
    log: Arc<FileLog>,
    system: &'static str,
    seq: AtomicU64,
}

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
    ) -> Result<Self, DemoError> {
        let (log, _) = FileLog::open(
            path,
            FileLogConfig::new(SigningKey::from_bytes(&key)),
            SystemTime::now(),
        )?;
        Ok(AuditLog {
            log: Arc::new(log),
            system,
            seq: AtomicU64::new(0),
        })
    }

    /// Appends one event; durable when the future resolves. The append waits for
    /// the disk (fdatasync, group commit), so it runs on tokio's blocking pool, not
    /// on an async worker.
    pub(crate) async fn record(&self, e: Entry) -> Result<u64, DemoError> {
        let event = self.event(e);
        let log = self.log.clone();
        Ok(tokio::task::spawn_blocking(move || log.append(&event)).await??)
    }

    /// Appends one event on this thread; durable when this returns. For callers
    /// outside a tokio runtime.
    pub(crate) fn record_blocking(&self, e: Entry) -> Result<u64, DemoError> {
        Ok(self.log.append(&self.event(e))?)
    }

    /// The NEN 7513 event for `e`, with this gateway's next id and the time now.
    fn event(&self, e: Entry) -> Event {
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
                location: None,
            },
            outcome: e.outcome,
            detail: e.detail,
        }
    }

    /// Verifies the hash chain and checkpoints; returns the number of events.
    pub(crate) fn verify(&self) -> Result<u64, DemoError> {
        Ok(self.log.verify()?.events)
    }

    /// The event types in the log, in order.
    pub(crate) fn event_types(&self) -> Result<Vec<String>, DemoError> {
        Ok(self
            .log
            .query(&Query::default())?
            .into_iter()
            .map(|(_, e)| e.event_type)
            .collect())
    }
}
