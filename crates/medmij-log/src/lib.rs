//! NEN 7513 audit log for MedMij systems (MedMij LOG-1, LOG-3, LOG-4,
//! LOG-5, LOG-6): an event model, a SHA-256 hash chain with Ed25519-signed
//! checkpoints, verification that names the first broken or missing entry,
//! retention pruning (12 to 15 months), queries by person and time,
//! verifiable extracts, a crash-safe file sink with group commit (a
//! PostgreSQL sink behind the `postgres` feature, an async handle behind
//! `tokio`), aggregated refusal counts, and the 2.x chain-monitoring
//! events.
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
//! let (log, _report) = FileLog::open(&path, FileLogConfig::new(key.clone()), now)?;
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
//! let mine = log.query(&Query::subject(person.clone()))?;
//! assert_eq!(mine.len(), 1);
//!
//! // MedMij LOG-3: only 12 to 15 months.
//! assert!(Retention::months(11).is_err());
//! log.prune(Retention::months(12)?, now)?;
//!
//! // MedMij LOG-5: the person's entries as an extract the receiver checks
//! // on its own, against the log's public key only.
//! let extract = log.extract(&Selection::subject(person.clone()), now)?;
//! let json = extract.to_json(); // hand this over
//! let trust = Trust::Keys(vec![key.verifying_key()]);
//! let checked = verify_extract(&Extract::from_json(&json)?, &trust)?;
//! assert_eq!(checked.events.len(), 1);
//!
//! // MedMij LOG-6 (2.x): one chain-monitoring event per step of a flow.
//! let sink = MemoryChainSink::new(); // the host ships them to MedMij
//! let pgo = medmij_types::Hostname::new("pgo.example.nl")?;
//! let za = medmij_types::Hostname::new("za.umcharderwijk.example.nl")?;
//! sink.emit(
//!     &ChainEvent::builder(ChainEventType::SendTokenRequest, now)
//!         .session_str("6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f") // X-Correlation-ID
//!         .trace_str("1a1a1a1a-2b2b-4c3c-ad4d-5e5e5e5e5e5e") // MedMij-Request-ID
//!         .between(&pgo, &za)
//!         .request(Method::Post, "https://za.umcharderwijk.example.nl/oauth/token")
//!         .grant_type(GrantType::AuthorizationCode)
//!         .build()?,
//! )?;
//! assert!(sink.events()[0].to_json().starts_with(r#"{"type":"send_token_request","#));
//! # drop(log);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```
//!
//! # Rules and items
//!
//! | rule | item |
//! |---|---|
//! | LOG-1 | [`Event`] (who, on whose data, what, when, where, on whose behalf, outcome), [`chain`] (hash chain, signed [`Checkpoint`]s, [`Verifier`], [`verify_only`]), [`FileLog`], `PgLog`, [`AuditSink`], [`BatchSink`], `AsyncLog` (feature `tokio`), [`RefusalAggregator`] (refusals are logged, in bounded volume), [`Query`] |
//! | LOG-2 | not here: the PGO's dossier is the log of what was collected and shared; it belongs to the host (with the consent records of medmij-consent) |
//! | LOG-3 | [`Retention`] (12 to 15 months), [`FileLog::prune`], `PgLog::prune`, [`Anchor`] |
//! | LOG-4 | [`SubjectId`] and [`Event::validate`] (no BSN in the PGO domain), [`Object::secret`] (tokens and codes only hashed), [`secret_like`], [`ErrorText`], [`Endpoint`] |
//! | LOG-5 | [`extract_subject`], [`extract_period`], [`FileLog::extract`], `PgLog::extract`, [`verify_extract`], [`Extract`], [`ExtractReport`] |
//! | LOG-6 | [`ChainEvent`], [`ChainEventBuilder`], [`ChainEventType`], [`CorrelationId`], [`RequestId`], [`ChainEventSink`], [`MemoryChainSink`], [`JsonLinesChainSink`] |
//! | OAUTH-14 | [`RefusalAggregator`], [`RefusalConfig`]; `AsyncLogConfig::queue` (bounded) |
//! | OAUTH-21 | [`CorrelationId`], [`RequestId`] (defined in medmij-types, re-exported here) |
//!
//! # Settings and their defaults
//!
//! | setting | default |
//! |---|---|
//! | [`FileLogConfig::checkpoint_every`] | 1000 entries |
//! | [`RefusalConfig::window`] | [`REFUSAL_WINDOW_DEFAULT`] = 60 s |
//! | [`RefusalConfig::max_sources`] | [`REFUSAL_MAX_SOURCES_DEFAULT`] = 10,000 |
//! | `AsyncLogConfig::queue` | `ASYNC_QUEUE_DEFAULT` = 1024 |
//! | `AsyncLogConfig::max_batch` | `ASYNC_MAX_BATCH_DEFAULT` = 256 |
//! | [`ERROR_TEXT_MAX`] (provisional) | 256 bytes |
//! | [`OPAQUE_RUN_MIN`] (provisional) | 20 characters |
//!
//! The names of the LOG-6 error forms and refresh-token steps
//! ([`ChainEventType`]) are provisional: they are not in the public
//! material.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![warn(clippy::use_self, unused_qualifications)]

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
    ERROR_TEXT_MAX, Endpoint, ErrorCode, ErrorText, GrantType, JsonLinesChainSink, MemoryChainSink,
    Method, OPAQUE_RUN_MIN, secret_like,
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
pub use medmij_types::{CorrelationId, RequestId};
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
#[non_exhaustive]
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
/// or one transaction): what `AsyncLog` (feature
/// `tokio`) drives for group commit.
pub trait BatchSink: AuditSink {
    /// Checks `event` as an append would, without writing it.
    fn check(&self, event: &Event) -> Result<(), LogError>;
    /// Appends `events` in order, committed together; their sequence
    /// numbers once durable. Nothing is written if one is invalid.
    fn append_batch(&self, events: &[Event]) -> Result<Vec<u64>, LogError>;
}
