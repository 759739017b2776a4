//! Pending authorization flows shared by the nodes of a gateway: the [`FlowStore`] seam (put
//! and take by [`FlowId`], with an expiry and bounded size), a memory implementation, and the
//! typed layer [`PendingFlows`] that keeps any serde value in it (the ZA GW's [`Session`], the
//! PGO GW's [`PendingAuthorization`]).
//!
//! Bounded resource use (MedMij OAUTH-14, RFC 6819 4.4.1.11): a new flow is admitted only
//! while its client and its source address are under their [`FlowLimits`], and the table
//! under its total; otherwise the answer is the typed [`Busy`] (HTTP 503 with `Retry-After`,
//! never 500). The per-source limit keeps one address from filling a client's quota; the
//! per-client limit keeps one client (for example a `client_id` an attacker names on the
//! front channel) from filling the table for everyone else.
//!
//! [`Session`]: crate::Session
//! [`PendingAuthorization`]: crate::PendingAuthorization

use crate::ClientId;
use crate::secret::{FlowId, RandomSource, SecretHash};
use crate::store::later;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Default [`FlowLimits::per_client`]: 1024 pending flows per `client_id`. A large PGO has
/// some hundreds of persons between its authorization request and their consent at once
/// (DigiD login and the consent page take minutes); 1024 leaves room for that.
pub const DEFAULT_FLOWS_PER_CLIENT: usize = 1024;

/// Default [`FlowLimits::per_source`]: 16 pending flows per source address. A person's
/// browser has one or two at a time; 16 leaves room for a household or office behind one
/// NAT address while one address cannot fill a client's quota.
pub const DEFAULT_FLOWS_PER_SOURCE: usize = 16;

/// Default [`FlowLimits::total`]: 65536 pending flows in all (some tens of MB at most).
pub const DEFAULT_FLOWS_TOTAL: usize = 65_536;

/// Default [`FlowLimits::ttl`]: a pending flow lives 900 s, like the code it leads to (MedMij
/// OAUTH-7); a person who takes longer starts again (OAUTH-12 case 5 for the abandoned one).
pub const DEFAULT_FLOW_TTL: Duration = Duration::from_secs(900);

/// Default [`FlowLimits::retry_after`]: 60 s, sent as `Retry-After` with [`Busy`].
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The limits on pending flows (MedMij OAUTH-14: every limit has a figure, per source and per
/// client). Each field's default is the `DEFAULT_*` constant of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowLimits {
    /// Most pending flows of one `client_id` ([`DEFAULT_FLOWS_PER_CLIENT`]).
    pub per_client: usize,
    /// Most pending flows from one source address, an IPv6 address counted by its /64
    /// ([`FlowOwner::source_key`]; [`DEFAULT_FLOWS_PER_SOURCE`]).
    pub per_source: usize,
    /// Most pending flows in the store ([`DEFAULT_FLOWS_TOTAL`]).
    pub total: usize,
    /// How long a pending flow is kept after each step ([`DEFAULT_FLOW_TTL`]).
    pub ttl: Duration,
    /// What [`Busy`] tells the caller to wait ([`DEFAULT_RETRY_AFTER`]).
    pub retry_after: Duration,
}

impl Default for FlowLimits {
    fn default() -> Self {
        Self {
            per_client: DEFAULT_FLOWS_PER_CLIENT,
            per_source: DEFAULT_FLOWS_PER_SOURCE,
            total: DEFAULT_FLOWS_TOTAL,
            ttl: DEFAULT_FLOW_TTL,
            retry_after: DEFAULT_RETRY_AFTER,
        }
    }
}

/// Which limit of [`FlowLimits`] was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowLimit {
    /// [`FlowLimits::per_client`].
    PerClient,
    /// [`FlowLimits::per_source`].
    PerSource,
    /// [`FlowLimits::total`].
    Total,
}

/// A new flow was not admitted: a limit is reached (MedMij OAUTH-14). Answer HTTP 503 with
/// `Retry-After` ([`HttpResponse`](crate::HttpResponse) does); never 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{} (at most {figure}); try again later (MedMij OAUTH-14)", match .limit {
    FlowLimit::PerClient => "too many pending authorization flows for this client",
    FlowLimit::PerSource => "too many pending authorization flows from this address",
    FlowLimit::Total => "too many pending authorization flows",
})]
pub struct Busy {
    limit: FlowLimit,
    figure: usize,
    retry_after: Duration,
}

impl Busy {
    /// A busy answer for `limit`, whose figure is `figure`.
    pub fn new(limit: FlowLimit, figure: usize, retry_after: Duration) -> Self {
        Self {
            limit,
            figure,
            retry_after,
        }
    }

    /// Which limit.
    pub fn limit(&self) -> FlowLimit {
        self.limit
    }

    /// The limit's figure.
    pub fn figure(&self) -> usize {
        self.figure
    }

    /// Seconds to send in `Retry-After` (at least 1).
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_secs().max(1)
    }

    /// A plain-language message in Dutch for the person.
    pub fn message_nl(&self) -> &'static str {
        "Het is op dit moment te druk. Probeer het over een minuut opnieuw vanuit uw PGO."
    }

    /// A plain-language message in English for the person.
    pub fn message_en(&self) -> &'static str {
        "It is too busy at the moment. Please try again from your PGO in a minute."
    }
}

/// Why a flow-store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// A limit is reached (MedMij OAUTH-14).
    #[error(transparent)]
    Busy(#[from] Busy),
    /// The storage backend failed.
    #[error("flow store backend: {0}")]
    Backend(String),
    /// A stored flow could not be read back (not what [`PendingFlows`] wrote, or its values
    /// no longer pass their checks).
    #[error("stored flow is not valid: {0}")]
    Corrupt(String),
}

/// Who a pending flow counts against: its client and the source address of the request that
/// opened it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowOwner {
    /// The client (`client_id` of the authorization request).
    pub client_id: ClientId,
    /// The address the person's request came from.
    pub source: IpAddr,
}

impl FlowOwner {
    /// What the per-source limit counts: an IPv4 address as it is (also when mapped into
    /// IPv6), an IPv6 address by its /64 prefix. One subscriber's network usually holds a
    /// whole /64 (RFC 7421), so counting single IPv6 addresses would let one network step
    /// around the limit by changing addresses (MedMij OAUTH-14).
    pub fn source_key(&self) -> IpAddr {
        match self.source {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let mut seg = v6.segments();
                    seg[4..].fill(0);
                    IpAddr::V6(seg.into())
                }
            },
        }
    }
}

/// Whether a put opens a flow or stores the next step of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum Admission {
    /// A new flow: checked against the limits.
    New,
    /// A flow that was admitted before and just taken: not counted again, so a person's flow
    /// in progress is never turned away halfway.
    Continuing,
}

/// A flow as stored: its owner and the serialized value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFlow {
    /// Who it counts against.
    pub owner: FlowOwner,
    /// The serialized value (JSON, written by [`PendingFlows`]).
    pub data: String,
}

/// Storage for pending flows, keyed by the hash of a [`FlowId`] (MedMij OAUTH-14). All
/// methods are atomic with respect to each other; implementations serve several threads and,
/// for a database, several gateway nodes.
pub trait FlowStore {
    /// Stores `data` under `id` until `expires_at`. An [`Admission::New`] flow is refused with
    /// [`FlowError::Busy`] when its client or source, or the whole store, is at its limit
    /// (expired flows do not count). A flow already under `id` is replaced.
    fn put(
        &self,
        id: &SecretHash,
        owner: &FlowOwner,
        data: &str,
        expires_at: SystemTime,
        admission: Admission,
        now: SystemTime,
    ) -> Result<(), FlowError>;

    /// Removes and returns the flow under `id`, unless it is missing or expired.
    fn take(&self, id: &SecretHash, now: SystemTime) -> Result<Option<StoredFlow>, FlowError>;

    /// Removes and returns the flow under `id` as [`FlowStore::take`] does, and also a flow
    /// that has expired but was not swept yet, marked `true`: its late step can then end it
    /// properly (the ZA GW redirects with MedMij OAUTH-12 case 5, "a flow abandoned after it
    /// started") instead of not knowing it. The default is [`FlowStore::take`], for which
    /// an expired flow is missing.
    fn take_late(
        &self,
        id: &SecretHash,
        now: SystemTime,
    ) -> Result<Option<(StoredFlow, bool)>, FlowError> {
        Ok(self.take(id, now)?.map(|f| (f, false)))
    }

    /// Removes expired flows; returns how many.
    fn sweep(&self, now: SystemTime) -> Result<usize, FlowError>;
}

macro_rules! forward_flow_store {
    ($($t:tt)*) => {
        impl<T: FlowStore + ?Sized> FlowStore for $($t)* {
            fn put(&self, id: &SecretHash, owner: &FlowOwner, data: &str, expires_at: SystemTime, admission: Admission, now: SystemTime) -> Result<(), FlowError> {
                (**self).put(id, owner, data, expires_at, admission, now)
            }
            fn take(&self, id: &SecretHash, now: SystemTime) -> Result<Option<StoredFlow>, FlowError> {
                (**self).take(id, now)
            }
            fn take_late(&self, id: &SecretHash, now: SystemTime) -> Result<Option<(StoredFlow, bool)>, FlowError> {
                (**self).take_late(id, now)
            }
            fn sweep(&self, now: SystemTime) -> Result<usize, FlowError> {
                (**self).sweep(now)
            }
        }
    };
}
forward_flow_store!(&T);
forward_flow_store!(std::sync::Arc<T>);
forward_flow_store!(Box<T>);

struct Entry {
    owner: FlowOwner,
    data: String,
    expires_at: SystemTime,
}

#[derive(Default)]
struct Table {
    flows: HashMap<SecretHash, Entry>,
    per_client: HashMap<ClientId, usize>,
    per_source: HashMap<IpAddr, usize>,
    /// Expiry order, for sweeping a little at every put; entries whose flow was taken or
    /// replaced are skipped when they come up.
    expiry: BinaryHeap<Reverse<(SystemTime, SecretHash)>>,
}

impl Table {
    fn remove(&mut self, id: &SecretHash) -> Option<Entry> {
        let e = self.flows.remove(id)?;
        if let Some(n) = self.per_client.get_mut(&e.owner.client_id) {
            *n -= 1;
            if *n == 0 {
                self.per_client.remove(&e.owner.client_id);
            }
        }
        let key = e.owner.source_key();
        if let Some(n) = self.per_source.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.per_source.remove(&key);
            }
        }
        Some(e)
    }

    /// Drops every flow expired at `now`; returns how many.
    fn sweep(&mut self, now: SystemTime) -> usize {
        let mut n = 0;
        while let Some(Reverse((at, id))) = self.expiry.peek().copied() {
            if at > now {
                break;
            }
            self.expiry.pop();
            if self.flows.get(&id).is_some_and(|e| e.expires_at == at) {
                self.remove(&id);
                n += 1;
            }
        }
        // Stale heap entries (flows taken before they expired) are bounded by rebuilding.
        if self.expiry.len() > 2 * self.flows.len() + 1024 {
            self.expiry = self
                .flows
                .iter()
                .map(|(id, e)| Reverse((e.expires_at, *id)))
                .collect();
        }
        n
    }
}

/// The flow store in memory, for a single node (and tests). Limits are enforced exactly;
/// expired flows are swept a little at every put.
pub struct MemoryFlowStore {
    limits: FlowLimits,
    table: Mutex<Table>,
}

impl fmt::Debug for MemoryFlowStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryFlowStore")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl MemoryFlowStore {
    /// An empty store with these limits.
    pub fn new(limits: FlowLimits) -> Self {
        Self {
            limits,
            table: Mutex::new(Table::default()),
        }
    }

    /// The limits.
    pub fn limits(&self) -> &FlowLimits {
        &self.limits
    }

    /// How many flows are stored (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.lock().flows.len()
    }

    /// True if no flow is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // Every table update completes before the lock is released; a panic elsewhere while
        // holding it leaves a consistent table.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for MemoryFlowStore {
    fn default() -> Self {
        Self::new(FlowLimits::default())
    }
}

impl FlowStore for MemoryFlowStore {
    fn put(
        &self,
        id: &SecretHash,
        owner: &FlowOwner,
        data: &str,
        expires_at: SystemTime,
        admission: Admission,
        now: SystemTime,
    ) -> Result<(), FlowError> {
        let mut t = self.lock();
        t.sweep(now);
        t.remove(id);
        if admission == Admission::New {
            let l = &self.limits;
            let busy = |limit, figure| Err(Busy::new(limit, figure, l.retry_after).into());
            if t.per_source.get(&owner.source_key()).copied().unwrap_or(0) >= l.per_source {
                return busy(FlowLimit::PerSource, l.per_source);
            }
            if t.per_client.get(&owner.client_id).copied().unwrap_or(0) >= l.per_client {
                return busy(FlowLimit::PerClient, l.per_client);
            }
            if t.flows.len() >= l.total {
                return busy(FlowLimit::Total, l.total);
            }
        }
        *t.per_client.entry(owner.client_id.clone()).or_insert(0) += 1;
        *t.per_source.entry(owner.source_key()).or_insert(0) += 1;
        t.expiry.push(Reverse((expires_at, *id)));
        t.flows.insert(
            *id,
            Entry {
                owner: owner.clone(),
                data: data.to_owned(),
                expires_at,
            },
        );
        Ok(())
    }

    fn take(&self, id: &SecretHash, now: SystemTime) -> Result<Option<StoredFlow>, FlowError> {
        Ok(self
            .take_late(id, now)?
            .and_then(|(f, expired)| (!expired).then_some(f)))
    }

    fn take_late(
        &self,
        id: &SecretHash,
        now: SystemTime,
    ) -> Result<Option<(StoredFlow, bool)>, FlowError> {
        let mut t = self.lock();
        Ok(t.remove(id).map(|e| {
            let expired = now >= e.expires_at;
            let flow = StoredFlow {
                owner: e.owner,
                data: e.data,
            };
            (flow, expired)
        }))
    }

    fn sweep(&self, now: SystemTime) -> Result<usize, FlowError> {
        Ok(self.lock().sweep(now))
    }
}

/// A flow taken from the store by [`PendingFlows::resume`]: the value and its owner (to put
/// it back with [`PendingFlows::save`]).
#[derive(Debug, Clone)]
pub struct Resumed<T> {
    /// The flow's value (for the ZA GW a [`Session`](crate::Session)).
    pub value: T,
    /// Who it counts against.
    pub owner: FlowOwner,
}

/// Typed pending flows on a [`FlowStore`]: any serde value (a [`Session`](crate::Session), a
/// [`PendingAuthorization`](crate::PendingAuthorization)) as JSON under a fresh [`FlowId`].
/// Every node of a gateway that shares the store can continue every flow.
///
/// ```
/// use medmij_oauth::*;
/// use std::time::SystemTime;
///
/// let flows = PendingFlows::new(MemoryFlowStore::default(), FlowLimits::default());
/// let owner = FlowOwner {
///     client_id: ClientId::new("pgo.example.nl").unwrap(),
///     source: "192.0.2.7".parse().unwrap(),
/// };
/// let now = SystemTime::now();
/// let id = flows.open(&owner, &"step 1".to_owned(), &ThreadRandom, now).unwrap();
/// // ... the person's browser carries `id` to the next step, on any node ...
/// let back = flows.resume::<String>(&id, now).unwrap().unwrap();
/// assert_eq!(back.value, "step 1");
/// assert!(flows.resume::<String>(&id, now).unwrap().is_none()); // taken
/// ```
#[derive(Debug)]
pub struct PendingFlows<F> {
    store: F,
    limits: FlowLimits,
}

impl<F: FlowStore> PendingFlows<F> {
    /// Flows on `store`; `limits.ttl` is how long a flow is kept after each step. (The
    /// admission limits are the store's own: give it the same `limits`.)
    pub fn new(store: F, limits: FlowLimits) -> Self {
        Self { store, limits }
    }

    /// The store.
    pub fn store(&self) -> &F {
        &self.store
    }

    /// Opens a new flow (checked against the limits: [`FlowError::Busy`]) and returns its
    /// fresh id.
    pub fn open<T: Serialize>(
        &self,
        owner: &FlowOwner,
        value: &T,
        random: &impl RandomSource,
        now: SystemTime,
    ) -> Result<FlowId, FlowError> {
        let data = encode(value)?;
        let id = FlowId::random(random);
        self.store.put(
            &id.hash(),
            owner,
            &data,
            later(now, self.limits.ttl),
            Admission::New,
            now,
        )?;
        Ok(id)
    }

    /// Takes a flow out of the store to run its next step; `None` if it is unknown, already
    /// taken or expired (for the ZA GW: OAUTH-12 case 5 if the request was valid). Put it back
    /// with [`PendingFlows::save`] unless the step finished it.
    pub fn resume<T: DeserializeOwned>(
        &self,
        id: &FlowId,
        now: SystemTime,
    ) -> Result<Option<Resumed<T>>, FlowError> {
        let Some(stored) = self.store.take(&id.hash(), now)? else {
            return Ok(None);
        };
        let value =
            serde_json::from_str(&stored.data).map_err(|e| FlowError::Corrupt(e.to_string()))?;
        Ok(Some(Resumed {
            value,
            owner: stored.owner,
        }))
    }

    /// As [`PendingFlows::resume`], and also a flow that has expired but was not swept yet,
    /// marked `true` ([`FlowStore::take_late`]): the caller ends it (MedMij OAUTH-12 case 5)
    /// rather than putting it back.
    pub fn resume_late<T: DeserializeOwned>(
        &self,
        id: &FlowId,
        now: SystemTime,
    ) -> Result<Option<(Resumed<T>, bool)>, FlowError> {
        let Some((stored, expired)) = self.store.take_late(&id.hash(), now)? else {
            return Ok(None);
        };
        let value =
            serde_json::from_str(&stored.data).map_err(|e| FlowError::Corrupt(e.to_string()))?;
        let resumed = Resumed {
            value,
            owner: stored.owner,
        };
        Ok(Some((resumed, expired)))
    }

    /// Puts a resumed flow back after a step, for another [`PendingFlows::limits`] `ttl`.
    pub fn save<T: Serialize>(
        &self,
        id: &FlowId,
        owner: &FlowOwner,
        value: &T,
        now: SystemTime,
    ) -> Result<(), FlowError> {
        let data = encode(value)?;
        self.store.put(
            &id.hash(),
            owner,
            &data,
            later(now, self.limits.ttl),
            Admission::Continuing,
            now,
        )
    }

    /// The limits.
    pub fn limits(&self) -> &FlowLimits {
        &self.limits
    }
}

fn encode<T: Serialize>(value: &T) -> Result<String, FlowError> {
    serde_json::to_string(value).map_err(|e| FlowError::Corrupt(e.to_string()))
}
