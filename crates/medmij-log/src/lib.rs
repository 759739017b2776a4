//! NEN 7513 audit log for MedMij systems (LOG-1, LOG-2, LOG-3, LOG-4): an event model,
//! a SHA-256 hash chain with Ed25519-signed checkpoints, verification that
//! names the first broken or missing entry, retention pruning (12 to 15
//! months), queries by person and time, and a crash-safe file sink with
//! group commit (a PostgreSQL sink behind the `postgres` feature).
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use ed25519_dalek::SigningKey;
//! use medmij_log::*;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = std::env::temp_dir().join(format!("medmij-log-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("audit.jsonl");
//! # let _ = std::fs::remove_file(&path);
//! let now = UNIX_EPOCH + Duration::from_secs(1_750_000_000);
//! let key = SigningKey::from_bytes(&[7; 32]); // in production: a secret key
//! let (log, _report) = FileLog::open(&path, FileLogConfig::new(key), now)?;
//!
//! // MedMij LOG-1: who, on whose data, what, when, where, outcome.
//! let person = SubjectId::new("pgo-user-5f2c", Domain::Pgo)?;
//! let event = Event {
//!     id: "ev-1".into(),
//!     event_type: "consent.decision".into(),
//!     action: Action::Execute,
//!     time: now,
//!     actor: Actor { id: "pgo-user-5f2c".into(), kind: ActorKind::User, role: None, on_behalf_of: None },
//!     subject: Some(person.clone()),
//!     object: Object::secret("authorization-code", "3f9c0d1e-..."), // LOG-4: hashed
//!     source: Source { system: "pgo.example.nl".into(), location: None },
//!     outcome: Outcome::Success,
//!     detail: None,
//! };
//! let seq = log.append(&event)?; // durable when it returns
//! assert_eq!(seq, 1);
//!
//! // MedMij LOG-4: no BSN in the PGO domain.
//! assert!(SubjectId::new("123456782", Domain::Pgo).is_err());
//!
//! let report = log.verify()?;
//! assert_eq!(report.events, 1);
//! let mine = log.query(&Query::subject(person))?;
//! assert_eq!(mine.len(), 1);
//!
//! // MedMij LOG-3: only 12 to 15 months.
//! assert!(Retention::months(11).is_err());
//! log.prune(Retention::months(12)?, now)?;
//! # drop(log);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "tokio")]
mod async_log;
pub mod chain;
pub mod chain_event;
mod event;
mod extract;
mod file;
mod hex;
#[cfg(feature = "postgres")]
mod pg;
mod query;
mod refusal;
mod retention;
mod time;

#[cfg(feature = "tokio")]
pub use async_log::{ASYNC_MAX_BATCH_DEFAULT, ASYNC_QUEUE_DEFAULT, AsyncLog, AsyncLogConfig};
pub use chain::{
    Anchor, ChainHead, ChainWriter, Checkpoint, CheckpointReason, Entry, GENESIS, Trust, Verifier,
    VerifyError, VerifyReport, verify_only, verify_reader,
};
pub use chain_event::{
    ChainError, ChainEvent, ChainEventBuilder, ChainEventSink, ChainEventType, ChainRequest,
    Endpoint, ErrorCode, ErrorText, GrantType, JsonLinesChainSink, MemoryChainSink, Method,
    SessionId, TraceId, secret_like,
};
pub use event::{
    Action, Actor, ActorKind, Domain, Event, EventError, Object, Outcome, Source, SubjectId,
    looks_like_bsn,
};
pub use extract::{
    EXTRACT_FORMAT, Extract, ExtractItem, ExtractReport, Omitted, Selection, extract,
    extract_period, extract_subject, verify_extract,
};
pub use file::{FileLog, FileLogConfig, OpenReport, PruneReport, TornTailRepair, query_file};
#[cfg(feature = "postgres")]
pub use pg::{PgLog, PgLogConfig};
pub use query::{Query, query_reader};
pub use refusal::{
    OVERFLOW_SOURCE, REFUSAL_MAX_SOURCES_DEFAULT, REFUSAL_WINDOW_DEFAULT, RefusalAggregator,
    RefusalConfig, RefusalSummary,
};
pub use retention::{Retention, RetentionError};

/// Formats a time as the log writes it: `YYYY-MM-DDThh:mm:ss.ffffffZ` (UTC,
/// microseconds).
pub fn format_time(t: std::time::SystemTime) -> String {
    time::format(t)
}

/// Parses a time in the form [`format_time`] writes; `None` otherwise.
pub fn parse_time(s: &str) -> Option<std::time::SystemTime> {
    time::parse(s)
}

/// Why a log operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The event was refused (LOG-1, LOG-4).
    #[error(transparent)]
    Event(#[from] EventError),
    /// The stored log does not verify.
    #[error("{path}: {error}")]
    Corrupt {
        /// The file (or table).
        path: std::path::PathBuf,
        /// The first defect.
        error: VerifyError,
    },
    /// Reading or writing failed.
    #[error("{what}: {reason}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        reason: String,
    },
    /// An earlier commit failed; the log refuses further appends until it is
    /// reopened (which verifies and repairs it).
    #[error("an earlier commit failed ({0}); reopen the log")]
    Failed(String),
    /// A setting was refused.
    #[error("configuration: {0}")]
    Config(String),
    /// Another writer (in this process or another) has the log open.
    #[error("{0}: the log is open for writing elsewhere (one writer per log)")]
    InUse(std::path::PathBuf),
    /// An extract would hold entry `seq`, which comes after the last signed
    /// checkpoint (0: the log has no checkpoint); write a checkpoint first
    /// (MedMij LOG-5).
    #[error(
        "entry {seq} is not yet covered by a signed checkpoint; write a checkpoint first (MedMij LOG-5)"
    )]
    Unsigned {
        /// The first selected entry after the last checkpoint.
        seq: u64,
    },
    /// A retention setting was refused (LOG-3).
    #[error(transparent)]
    Retention(#[from] RetentionError),
}

/// Somewhere events can be appended durably. Implemented by [`FileLog`]
/// (and `PgLog` with the `postgres` feature); other crates take a `&dyn AuditSink` or a closure and need not depend on this one's sinks.
pub trait AuditSink {
    /// Appends `event`; returns its sequence number once it is durable.
    fn append(&self, event: &Event) -> Result<u64, LogError>;
}

/// A sink that commits several events together (one write and one `fsync`
/// or one transaction): what [`AsyncLog`](crate::AsyncLog) (feature
/// `tokio`) drives for group commit.
pub trait BatchSink: AuditSink {
    /// Checks `event` as an append would, without writing it.
    fn check(&self, event: &Event) -> Result<(), LogError>;
    /// Appends `events` in order, committed together; their sequence
    /// numbers once durable. Nothing is written if one is invalid.
    fn append_batch(&self, events: &[Event]) -> Result<Vec<u64>, LogError>;
}
