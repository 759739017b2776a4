//! An async handle over a durable sink (cargo feature `tokio`), for
//! gateways embedded in a tokio runtime: appends run on a writer thread the
//! handle owns, never on a runtime worker, through a bounded queue, with
//! group commit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};

use crate::chain::VerifyError;
use crate::event::Event;
use crate::{BatchSink, LogError};

/// Default of [`AsyncLogConfig::queue`].
pub const ASYNC_QUEUE_DEFAULT: usize = 1024;
/// Default of [`AsyncLogConfig::max_batch`].
pub const ASYNC_MAX_BATCH_DEFAULT: usize = 256;

/// Settings of an [`AsyncLog`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsyncLogConfig {
    /// Appends waiting for the writer at most (default
    /// [`ASYNC_QUEUE_DEFAULT`] = 1024, at least 1). When the queue is full,
    /// `append` waits (back-pressure) instead of growing memory (MedMij
    /// OAUTH-14: bounded resource use).
    pub queue: usize,
    /// Events committed together at most (default
    /// [`ASYNC_MAX_BATCH_DEFAULT`] = 256, at least 1): everything queued
    /// when the writer is free, up to this many, goes in one write and one
    /// `fsync` (or one transaction).
    pub max_batch: usize,
}

impl Default for AsyncLogConfig {
    fn default() -> Self {
        Self {
            queue: ASYNC_QUEUE_DEFAULT,
            max_batch: ASYNC_MAX_BATCH_DEFAULT,
        }
    }
}

struct Request {
    event: Event,
    reply: oneshot::Sender<Result<u64, LogError>>,
}

/// An async handle over a [`BatchSink`] ([`crate::FileLog`], or `PgLog`
/// with the `postgres` feature). A thread owned by the handle takes the
/// queued appends and commits them in groups; [`AsyncLog::append`] returns
/// once its event is durable. [`AsyncLog::close`] finishes what is queued
/// without blocking the runtime; dropping the handle does the same but
/// waits for the thread in place (a blocking wait).
///
/// `PgLog` uses the synchronous `postgres` client, which runs its own
/// runtime: open it (and drop the handle) outside the tokio runtime or in
/// `spawn_blocking`; the writer thread is not a runtime thread, so appends
/// through the handle are fine.
///
/// ```
/// # use std::time::{Duration, UNIX_EPOCH};
/// # use medmij_log::*;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("medmij-log-async-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let path = dir.join("audit.jsonl");
/// # let _ = std::fs::remove_file(&path);
/// # let now = UNIX_EPOCH + Duration::from_secs(1_750_000_000);
/// let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
/// let (file, _) = FileLog::open(&path, FileLogConfig::new(key), now)?;
/// let log = AsyncLog::new(file, AsyncLogConfig::default())?;
/// # let event = Event {
/// #     id: "ev-1".into(), event_type: "fhir.read".into(), action: Action::Read, time: now,
/// #     actor: Actor { id: "pgo.example.nl".into(), kind: ActorKind::System, role: None, on_behalf_of: None },
/// #     subject: None, object: Object::new("fhir:Patient", "p-1"),
/// #     source: Source { system: "pgo.example.nl".into(), location: None },
/// #     outcome: Outcome::Success, detail: None,
/// # };
/// let rt = tokio::runtime::Runtime::new()?;
/// let seq = rt.block_on(log.append(event))?; // durable when it returns
/// assert_eq!(seq, 1);
/// # drop(log);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
pub struct AsyncLog<S: BatchSink + Send + Sync + 'static> {
    tx: Option<mpsc::Sender<Request>>,
    sink: Arc<S>,
    batches: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
    done: Option<oneshot::Receiver<()>>,
}

impl<S: BatchSink + Send + Sync + 'static> std::fmt::Debug for AsyncLog<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncLog")
            .field("batches", &self.batches.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A copy of `e` for each waiter of a failed group commit.
fn copy_err(e: &LogError) -> LogError {
    match e {
        LogError::Event(x) => LogError::Event(x.clone()),
        LogError::Corrupt { path, error } => LogError::Corrupt {
            path: path.clone(),
            error: VerifyError::clone(error),
        },
        LogError::Io { what, reason } => LogError::Io {
            what: what.clone(),
            reason: reason.clone(),
        },
        LogError::Failed(x) => LogError::Failed(x.clone()),
        LogError::Config(x) => LogError::Config(x.clone()),
        LogError::InUse(p) => LogError::InUse(p.clone()),
        LogError::Unsigned { seq } => LogError::Unsigned { seq: *seq },
        LogError::Retention(r) => LogError::Retention(*r),
    }
}

fn writer<S: BatchSink>(
    sink: &S,
    mut rx: mpsc::Receiver<Request>,
    max_batch: usize,
    batches: &AtomicU64,
) {
    let mut batch: Vec<Request> = Vec::with_capacity(max_batch);
    let mut events: Vec<Event> = Vec::with_capacity(max_batch);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        events.clear();
        events.extend(batch.iter().map(|r| r.event.clone()));
        let result = sink.append_batch(&events);
        batches.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(seqs) => {
                for (r, seq) in batch.drain(..).zip(seqs) {
                    // The caller may have gone away; the entry is durable
                    // all the same.
                    let _ = r.reply.send(Ok(seq));
                }
            }
            Err(e) => {
                for r in batch.drain(..) {
                    let _ = r.reply.send(Err(copy_err(&e)));
                }
            }
        }
    }
}

impl<S: BatchSink + Send + Sync + 'static> AsyncLog<S> {
    /// Starts the writer thread over `sink`.
    pub fn new(sink: S, config: AsyncLogConfig) -> Result<Self, LogError> {
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let sink = Arc::new(sink);
        let batches = Arc::new(AtomicU64::new(0));
        let (s, b, max_batch) = (sink.clone(), batches.clone(), config.max_batch.max(1));
        let (done_tx, done) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("medmij-log-writer".into())
            .spawn(move || {
                writer(&*s, rx, max_batch, &b);
                let _ = done_tx.send(());
            })
            .map_err(|e| LogError::Io {
                what: "starting the log writer thread".into(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            tx: Some(tx),
            sink,
            batches,
            thread: Some(thread),
            done: Some(done),
        })
    }

    /// Appends `event`; returns its sequence number once it is durable. An
    /// invalid event is refused before it is queued; a full queue makes
    /// this wait.
    pub async fn append(&self, event: Event) -> Result<u64, LogError> {
        self.sink.check(&event)?;
        let (reply, rx) = oneshot::channel();
        let closed = || LogError::Failed("the log writer has stopped".into());
        self.tx
            .as_ref()
            .ok_or_else(closed)?
            .send(Request { event, reply })
            .await
            .map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }

    /// The sink, e.g. to verify or query it. Its methods block: call them
    /// from `spawn_blocking` or outside the runtime.
    pub fn sink(&self) -> &S {
        &self.sink
    }

    /// Closes the queue and waits, without blocking the runtime, until the
    /// writer has committed everything queued; returns the sink (e.g. to
    /// verify it, or to open a new handle).
    pub async fn close(mut self) -> Arc<S> {
        self.tx.take();
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
        if let Some(t) = self.thread.take() {
            // The writer has finished: joining does not wait.
            let _ = t.join();
        }
        self.sink.clone()
    }

    /// Group commits done so far (each one write and `fsync`, or one
    /// transaction).
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }
}

impl<S: BatchSink + Send + Sync + 'static> Drop for AsyncLog<S> {
    fn drop(&mut self) {
        // Closing the queue ends the writer once it has committed what is
        // queued.
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
