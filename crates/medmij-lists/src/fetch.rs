//! Feature `fetch`: a [`Refresher`] that keeps a [`ListStore`] current from a
//! [`ListSource`] (MedMij LISTS-8).
//!
//! * **Schedule** (LISTS-8): one fetch at start, then one every
//!   [`RefreshSettings::interval`]; the interval may not exceed the list's
//!   [`ListKind::max_age`] (the Whitelist at least hourly, the other lists at
//!   least daily).
//! * **Retries**: after a failed fetch, or a fetched version that does not
//!   validate, exponential back-off from [`RefreshSettings::retry_initial`],
//!   doubling up to [`RefreshSettings::retry_max`] (never more than the
//!   interval: a retry is never later than the next scheduled fetch), each
//!   delay shortened by a random jitter of up to [`RefreshSettings::jitter`].
//! * **Every fetched version is offered** to the store, which validates
//!   before installing (LISTS-7), refuses a Volgnummer that is not higher
//!   (LISTS-9) and archives what it installs (LISTS-11).
//! * **Manual trigger** (LISTS-8): [`Refresher::refresh_now`] fetches and
//!   offers at once and returns the outcome; [`Refresher::rollback_now`]
//!   installs what the source serves regardless of its Volgnummer (the
//!   explicit, logged operator rollback of LISTS-9).
//! * **Events** for the host to log: [`RefreshEvent`], to a callback.
//!
//! The crate does not depend on medmij-tls: the host supplies the HTTP
//! client. [`HttpSource`] takes a ready [`reqwest::Client`], which the host
//! builds with medmij-tls's rustls `ClientConfig` (e.g. through
//! `reqwest::ClientBuilder::tls_backend_preconfigured`); any other client
//! fits behind [`ListSource`].

use crate::{ListKind, ListStore, MedMijList, StoreError, StoreEvent};
use medmij_types::RuleId;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{Mutex, Notify};

/// Where new list versions come from: one fetch returns the whole document.
pub trait ListSource: Send + Sync + 'static {
    /// Fetches the current document.
    fn fetch(&self) -> impl Future<Output = Result<Vec<u8>, FetchError>> + Send;
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The server answered with a status other than 2xx.
    #[error("the list server answered HTTP {0}")]
    Status(u16),
    /// The document is larger than the limit.
    #[error("the list is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The source did not answer within [`RefreshSettings::fetch_timeout`].
    #[error("the list source did not answer within {0:?}")]
    Timeout(Duration),
    /// The transport failed (connection, TLS, timeout, …).
    #[error("fetching the list failed: {0}")]
    Transport(Box<dyn std::error::Error + Send + Sync>),
}

impl FetchError {
    /// A transport error from any error type.
    pub fn transport(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Transport(Box::new(e))
    }
}

/// Why a manual refresh failed. The version in force stays in force.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// The source could not deliver a document.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The store refused the document (LISTS-7, LISTS-9, LISTS-11).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RefreshError {
    /// The rule behind the refusal: LISTS-7 for an invalid document,
    /// LISTS-9 for an old Volgnummer, LISTS-11 for a failed archive, LISTS-8
    /// for a failed fetch.
    pub fn rule(&self) -> RuleId {
        match self {
            Self::Fetch(_) => RuleId::Lists8,
            Self::Store(StoreError::Invalid(_)) => RuleId::Lists7,
            Self::Store(StoreError::NotNewer { .. }) => RuleId::Lists9,
            Self::Store(StoreError::Archive { .. }) => RuleId::Lists11,
        }
    }

    /// Whether a retry with back-off may help: a failed fetch, an invalid
    /// document or a failed archive. An old Volgnummer waits for the next
    /// scheduled fetch instead.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Self::Store(StoreError::NotNewer { .. }))
    }
}

/// Default fetch interval of the Whitelist: 15 minutes, four chances within
/// the hour of MedMij LISTS-8.
pub const DEFAULT_WHITELIST_INTERVAL: Duration = Duration::from_secs(15 * 60);
/// Default fetch interval of the ZAL, OCL and GNL: 1 hour (MedMij LISTS-8
/// requires at least daily).
pub const DEFAULT_LIST_INTERVAL: Duration = Duration::from_secs(3600);
/// Default first retry delay after a failure: 10 seconds.
pub const DEFAULT_RETRY_INITIAL: Duration = Duration::from_secs(10);
/// Default jitter: each retry delay is shortened by up to 20 %.
pub const DEFAULT_JITTER: f64 = 0.2;
/// Default limit on one fetch: 60 seconds (a hanging server must not stop
/// the schedule).
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// The schedule of a [`Refresher`]. Start from
/// [`RefreshSettings::for_kind`]; the defaults are named constants of this
/// module.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RefreshSettings {
    /// Time between scheduled fetches. Default
    /// [`DEFAULT_WHITELIST_INTERVAL`] for the Whitelist,
    /// [`DEFAULT_LIST_INTERVAL`] for the others; at most
    /// [`ListKind::max_age`] (LISTS-8).
    pub interval: Duration,
    /// First retry delay. Default [`DEFAULT_RETRY_INITIAL`].
    pub retry_initial: Duration,
    /// Longest retry delay. Default a third of the interval; never more
    /// than the interval.
    pub retry_max: Duration,
    /// Fraction (0 to 1) by which a retry delay may be shortened at random,
    /// so that many gateways do not retry in step. Default
    /// [`DEFAULT_JITTER`].
    pub jitter: f64,
    /// Longest time one fetch may take. Default [`DEFAULT_FETCH_TIMEOUT`].
    pub fetch_timeout: Duration,
}

impl RefreshSettings {
    /// The defaults for list `kind`.
    pub fn for_kind(kind: ListKind) -> Self {
        let interval = match kind {
            ListKind::Whl => DEFAULT_WHITELIST_INTERVAL,
            _ => DEFAULT_LIST_INTERVAL,
        };
        Self {
            interval,
            retry_initial: DEFAULT_RETRY_INITIAL,
            retry_max: interval / 3,
            jitter: DEFAULT_JITTER,
            fetch_timeout: DEFAULT_FETCH_TIMEOUT,
        }
    }

    /// Sets [`RefreshSettings::fetch_timeout`].
    #[must_use]
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = timeout;
        self
    }

    /// Sets [`RefreshSettings::interval`] (and lowers `retry_max` to it if
    /// needed).
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self.retry_max = self.retry_max.min(interval);
        self
    }

    /// Sets the retry delays.
    #[must_use]
    pub fn retry(mut self, initial: Duration, max: Duration) -> Self {
        self.retry_initial = initial;
        self.retry_max = max;
        self
    }

    /// Sets [`RefreshSettings::jitter`] (clamped to 0 to 1).
    #[must_use]
    pub fn jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self.jitter = self.jitter_fraction();
        self
    }

    /// The retry delay after `failures` consecutive failures (at least 1),
    /// before jitter: `retry_initial` doubled per earlier failure, at most
    /// `retry_max` and at most the interval.
    pub fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        let d = self.retry_initial.saturating_mul(1u32 << doublings);
        d.min(self.retry_max).min(self.interval)
    }

    fn check(&self, kind: ListKind) -> Result<(), SettingsError> {
        if self.interval.is_zero() || self.interval > kind.max_age() {
            return Err(SettingsError::Interval {
                kind,
                interval: self.interval,
                max_age: kind.max_age(),
            });
        }
        // A zero delay would retry in a tight loop; a zero timeout would
        // fail every fetch.
        for (what, d) in [
            ("retry_initial", self.retry_initial),
            ("retry_max", self.retry_max),
            ("fetch_timeout", self.fetch_timeout),
        ] {
            if d.is_zero() {
                return Err(SettingsError::Zero { what });
            }
        }
        Ok(())
    }

    /// The jitter as used: clamped to 0 to 1 (NaN is 0), whatever was
    /// written into the public field.
    fn jitter_fraction(&self) -> f64 {
        if self.jitter.is_nan() {
            0.0
        } else {
            self.jitter.clamp(0.0, 1.0)
        }
    }
}

/// A schedule that a [`Refresher`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The interval breaks MedMij LISTS-8 (or is zero).
    #[error(
        "{kind} fetch interval {interval:?} must be above zero and at most {max_age:?} (MedMij LISTS-8)"
    )]
    Interval {
        /// The list.
        kind: ListKind,
        /// The refused interval.
        interval: Duration,
        /// The longest interval LISTS-8 allows for this list.
        max_age: Duration,
    },
    /// A retry delay or the fetch timeout is zero.
    #[error("RefreshSettings::{what} must be above zero")]
    Zero {
        /// The field.
        what: &'static str,
    },
}

/// What a [`Refresher`] did, for the host to log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub enum RefreshEvent {
    /// A fetched version was offered and accepted: installed, unchanged or
    /// (manual rollback) rolled back.
    Accepted {
        /// What the store did.
        event: StoreEvent,
        /// Whether the fetch was a manual trigger.
        manual: bool,
    },
    /// A fetch failed or the store refused the version; the version in
    /// force stays in force (LISTS-7).
    Failed {
        /// The list.
        kind: ListKind,
        /// What went wrong.
        message: String,
        /// The rule behind it (see [`RefreshError::rule`]).
        rule: RuleId,
        /// Consecutive failures of scheduled fetches, this one included (0
        /// for a manual trigger, which does not count).
        failures: u32,
        /// Whether the fetch was a manual trigger.
        manual: bool,
    },
    /// The next scheduled fetch.
    Scheduled {
        /// The list.
        kind: ListKind,
        /// Time until then.
        next_in: Duration,
        /// Whether it is a retry after a failure (back-off).
        retry: bool,
    },
}

type EventSink = Box<dyn Fn(&RefreshEvent) + Send + Sync>;
type Clock = Box<dyn Fn() -> SystemTime + Send + Sync>;

struct Inner<L, S> {
    store: Arc<ListStore<L>>,
    source: S,
    settings: RefreshSettings,
    on_event: Option<EventSink>,
    clock: Clock,
    /// Serializes attempts (the schedule and manual triggers) and holds the
    /// jitter's generator.
    attempt: Mutex<SmallRng>,
    /// Wakes the schedule after a successful manual trigger.
    wake: Notify,
}

/// Keeps a [`ListStore`] current from a [`ListSource`] (MedMij LISTS-8).
/// Cheap to clone: clones share the store, source and schedule.
///
/// ```no_run
/// # async fn example(client: reqwest::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use medmij_lists::{HttpSource, ListStore, NoArchive, RefreshSettings, Refresher, Whitelist, MedMijList};
/// use std::sync::Arc;
/// let store: Arc<ListStore<Whitelist>> = Arc::new(ListStore::new(NoArchive));
/// let source = HttpSource::new(client, "https://lists.example.nl/whitelist.xml".parse()?);
/// let refresher = Refresher::new(store.clone(), source, RefreshSettings::for_kind(Whitelist::KIND))?
///     .with_events(|e| eprintln!("{e:?}"));
/// tokio::spawn({
///     let r = refresher.clone();
///     async move { r.run().await }
/// });
/// // An operator's "fetch now":
/// let outcome = refresher.refresh_now().await;
/// # let _ = outcome; Ok(()) }
/// ```
pub struct Refresher<L, S> {
    inner: Arc<Inner<L, S>>,
}

impl<L, S> Clone for Refresher<L, S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<L, S> std::fmt::Debug for Refresher<L, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refresher")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl<L: MedMijList, S: ListSource> Refresher<L, S> {
    /// A refresher for `store` from `source`; refuses an interval above the
    /// list's LISTS-8 maximum age.
    pub fn new(
        store: Arc<ListStore<L>>,
        source: S,
        settings: RefreshSettings,
    ) -> Result<Self, SettingsError> {
        settings.check(L::KIND)?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                source,
                settings,
                on_event: None,
                clock: Box::new(SystemTime::now),
                attempt: Mutex::new(rand::make_rng()),
                wake: Notify::new(),
            }),
        })
    }

    fn inner_mut(&mut self) -> Option<&mut Inner<L, S>> {
        Arc::get_mut(&mut self.inner)
    }

    /// Sends every [`RefreshEvent`] to `sink` (call before cloning).
    #[must_use]
    pub fn with_events(mut self, sink: impl Fn(&RefreshEvent) + Send + Sync + 'static) -> Self {
        if let Some(inner) = self.inner_mut() {
            inner.on_event = Some(Box::new(sink));
        }
        self
    }

    /// Uses `clock` for the times passed to the store (default
    /// `SystemTime::now`; call before cloning). A closure may capture state: a host that
    /// shifts its clock (a test, a demo fast-forwarding past a list's validity) passes
    /// the same clock its gateways use.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        if let Some(inner) = self.inner_mut() {
            inner.clock = Box::new(clock);
        }
        self
    }

    /// Sets the jitter seed (for reproducible tests; call before cloning).
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        if let Some(inner) = self.inner_mut() {
            inner.attempt = Mutex::new(SmallRng::seed_from_u64(seed));
        }
        self
    }

    /// The store this refresher keeps current.
    pub fn store(&self) -> &Arc<ListStore<L>> {
        &self.inner.store
    }

    /// The schedule.
    pub fn settings(&self) -> &RefreshSettings {
        &self.inner.settings
    }

    fn emit(&self, event: RefreshEvent) {
        if let Some(sink) = &self.inner.on_event {
            sink(&event);
        }
    }

    async fn fetch_and_offer(&self, rollback: Option<&str>) -> Result<StoreEvent, RefreshError> {
        let limit = self.inner.settings.fetch_timeout;
        let bytes = tokio::time::timeout(limit, self.inner.source.fetch())
            .await
            .map_err(|_| FetchError::Timeout(limit))??;
        let now = (self.inner.clock)();
        let store = &self.inner.store;
        Ok(match rollback {
            Some(reason) => store.rollback(&bytes, now, reason)?,
            None => store.offer(&bytes, now)?,
        })
    }

    /// One attempt, reported; `failures` is the count before it.
    async fn attempt(
        &self,
        rollback: Option<&str>,
        failures: u32,
        manual: bool,
    ) -> Result<StoreEvent, RefreshError> {
        let result = self.fetch_and_offer(rollback).await;
        match &result {
            Ok(event) => self.emit(RefreshEvent::Accepted {
                event: event.clone(),
                manual,
            }),
            Err(e) => self.emit(RefreshEvent::Failed {
                kind: L::KIND,
                message: e.to_string(),
                rule: e.rule(),
                failures: if manual { 0 } else { failures + 1 },
                manual,
            }),
        }
        result
    }

    /// The manual trigger of LISTS-8: fetches at once, offers the version
    /// to the store and returns what happened. Waits for a scheduled fetch
    /// in progress. A success restarts the schedule's interval.
    pub async fn refresh_now(&self) -> Result<StoreEvent, RefreshError> {
        let _guard = self.inner.attempt.lock().await;
        let result = self.attempt(None, 0, true).await;
        if result.is_ok() {
            self.inner.wake.notify_one();
        }
        result
    }

    /// The operator rollback of LISTS-8 and LISTS-9: fetches at once and
    /// installs the version regardless of its Volgnummer (it must still
    /// validate, LISTS-7, and is archived, LISTS-11). The event names
    /// `reason`; log it.
    pub async fn rollback_now(&self, reason: &str) -> Result<StoreEvent, RefreshError> {
        let _guard = self.inner.attempt.lock().await;
        let result = self.attempt(Some(reason), 0, true).await;
        if result.is_ok() {
            self.inner.wake.notify_one();
        }
        result
    }

    /// Runs the schedule forever: a fetch at once, then every interval,
    /// with back-off after failures. Spawn it on a tokio runtime; drop the
    /// task to stop.
    pub async fn run(&self) {
        let settings = &self.inner.settings;
        let mut failures: u32 = 0;
        let mut delay = Duration::ZERO;
        loop {
            if !delay.is_zero() {
                // A successful manual trigger restarts the interval.
                if tokio::time::timeout(delay, self.inner.wake.notified())
                    .await
                    .is_ok()
                {
                    failures = 0;
                    delay = settings.interval;
                    self.emit(RefreshEvent::Scheduled {
                        kind: L::KIND,
                        next_in: delay,
                        retry: false,
                    });
                    continue;
                }
            }
            let mut rng = self.inner.attempt.lock().await;
            let result = self.attempt(None, failures, false).await;
            let retry = match result {
                Ok(_) => {
                    failures = 0;
                    false
                }
                Err(e) if e.is_retryable() => {
                    failures = failures.saturating_add(1);
                    true
                }
                Err(_) => {
                    failures = 0;
                    false
                }
            };
            delay = if retry {
                let base = settings.backoff(failures);
                // Shorten by up to `jitter`: never later than the back-off.
                let u: f64 = rng.random();
                base.mul_f64(1.0 - settings.jitter_fraction() * u)
            } else {
                settings.interval
            };
            drop(rng);
            self.emit(RefreshEvent::Scheduled {
                kind: L::KIND,
                next_in: delay,
                retry,
            });
        }
    }
}

/// A [`ListSource`] over HTTP(S) with a host-built [`reqwest::Client`]
/// (build it with medmij-tls's rustls `ClientConfig` for the MedMij
/// network). Refuses a non-2xx answer and a body above the size limit.
#[derive(Debug, Clone)]
pub struct HttpSource {
    client: reqwest::Client,
    url: reqwest::Url,
    max_size: usize,
}

impl HttpSource {
    /// Fetches `url` with `client`; the size limit is that of the default
    /// [`crate::ParseOptions`].
    pub fn new(client: reqwest::Client, url: reqwest::Url) -> Self {
        Self {
            client,
            url,
            max_size: crate::ParseOptions::default().max_input_size,
        }
    }

    /// Sets the largest accepted body in bytes.
    #[must_use]
    pub fn with_max_size(mut self, bytes: usize) -> Self {
        self.max_size = bytes;
        self
    }

    /// The URL.
    pub fn url(&self) -> &reqwest::Url {
        &self.url
    }
}

impl ListSource for HttpSource {
    async fn fetch(&self) -> Result<Vec<u8>, FetchError> {
        let mut resp = self
            .client
            .get(self.url.clone())
            .send()
            .await
            .map_err(FetchError::transport)?;
        let status = resp.status();
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let limit = self.max_size;
        if resp
            .content_length()
            .is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX))
        {
            return Err(FetchError::TooLarge { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(FetchError::transport)? {
            if body.len().saturating_add(chunk.len()) > limit {
                return Err(FetchError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}
