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
use std::collections::{BinaryHeap, HashMap, VecDeque};
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

/// Default [`FlowLimits::grace`]: an expired flow stays answerable for another 900 s (the
/// flow lifetime, [`DEFAULT_FLOW_TTL`]): a person who comes back to an abandoned flow within
/// that time is sent back to the PGO with MedMij OAUTH-12 case 5 (`access_denied`) instead of
/// seeing an "unknown flow" page.
pub const DEFAULT_FLOW_GRACE: Duration = DEFAULT_FLOW_TTL;

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
    /// How long an expired flow stays answerable as MedMij OAUTH-12 case 5 ("a flow abandoned
    /// after it started") after its expiry ([`DEFAULT_FLOW_GRACE`]). Expired flows never
    /// count toward the admission limits; at most [`FlowLimits::total`] of them are kept
    /// (the oldest go first), so memory stays bounded.
    pub grace: Duration,
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
            grace: DEFAULT_FLOW_GRACE,
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

/// Whether a flow taken by [`FlowStore::take_late`] was still live, and if not, whether its
/// expiry was reported already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lateness {
    /// The flow had not expired: the step continues it.
    OnTime,
    /// The flow had expired (within [`FlowLimits::grace`]) and [`FlowStore::sweep`] reported
    /// it already: the step ends it (MedMij OAUTH-12 case 5) without reporting it again.
    Late,
    /// The flow had expired (within [`FlowLimits::grace`]) and was not reported yet: the step
    /// ends it and reports its expiry (this is the one report of it).
    LateUnreported,
}

impl Lateness {
    /// True unless [`Lateness::OnTime`].
    pub fn expired(self) -> bool {
        self != Self::OnTime
    }
}

/// A flow that expired without being finished, reported once by [`FlowStore::sweep`] (or as
/// [`Lateness::LateUnreported`] by the late step that ends it): the host audits it as
/// abandoned (MedMij OAUTH-12 case 5, LOG-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredFlow {
    /// Who it counted against.
    pub owner: FlowOwner,
    /// The serialized value (JSON, written by [`PendingFlows`]).
    pub data: String,
    /// When it expired.
    pub expired_at: SystemTime,
}

/// Storage for pending flows, keyed by the hash of a [`FlowId`] (MedMij OAUTH-14). All
/// methods are atomic with respect to each other; implementations serve several threads and,
/// for a database, several gateway nodes.
///
/// A flow that expires without being finished is kept for [`FlowLimits::grace`] more (not
/// counted toward the limits), so that a late step can still end it as MedMij OAUTH-12 case
/// 5, and is reported exactly once: by [`FlowStore::sweep`], or, if a late step takes it
/// first, as [`Lateness::LateUnreported`].
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

    /// Removes and returns the flow under `id`, unless it is missing or expired (an expired
    /// flow is left for [`FlowStore::take_late`] and [`FlowStore::sweep`]).
    fn take(&self, id: &SecretHash, now: SystemTime) -> Result<Option<StoredFlow>, FlowError>;

    /// Removes and returns the flow under `id` as [`FlowStore::take`] does, and also a flow
    /// that expired less than [`FlowLimits::grace`] ago, marked late: its late step then ends
    /// it properly (the ZA GW redirects with MedMij OAUTH-12 case 5, "a flow abandoned after
    /// it started") instead of not knowing it. A flow past its grace is missing.
    fn take_late(
        &self,
        id: &SecretHash,
        now: SystemTime,
    ) -> Result<Option<(StoredFlow, Lateness)>, FlowError>;

    /// Reports every flow that has expired at `now` and was not reported yet, each once (in
    /// all nodes together), and forgets reported flows past [`FlowLimits::grace`]. Call it
    /// regularly (the ZA GW adapter does at every new flow) and audit what it returns.
    fn sweep(&self, now: SystemTime) -> Result<Vec<ExpiredFlow>, FlowError>;
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
            fn take_late(&self, id: &SecretHash, now: SystemTime) -> Result<Option<(StoredFlow, Lateness)>, FlowError> {
                (**self).take_late(id, now)
            }
            fn sweep(&self, now: SystemTime) -> Result<Vec<ExpiredFlow>, FlowError> {
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
    /// Past `expires_at` and moved to the grace queue (no longer counted).
    expired: bool,
    /// Its expiry was reported.
    reported: bool,
}

#[derive(Default)]
struct Table {
    flows: HashMap<SecretHash, Entry>,
    /// Live (unexpired) flows, what [`FlowLimits::total`] counts.
    live: usize,
    per_client: HashMap<ClientId, usize>,
    per_source: HashMap<IpAddr, usize>,
    /// Expiry order of live flows; entries whose flow was taken or replaced are skipped when
    /// they come up.
    expiry: BinaryHeap<Reverse<(SystemTime, SecretHash)>>,
    /// Expired flows in expiry order, kept for the grace; stale ids are skipped.
    grace: VecDeque<(SystemTime, SecretHash)>,
    /// Expired flows still in `flows` (what the grace cap counts).
    expired: usize,
    /// Expired flows not yet reported, in expiry order; stale ids are skipped.
    fresh: Vec<SecretHash>,
    /// Unreported flows dropped from the grace queue (its cap), waiting for the next sweep.
    outbox: VecDeque<ExpiredFlow>,
}

impl Table {
    fn uncount(&mut self, owner: &FlowOwner) {
        self.live -= 1;
        if let Some(n) = self.per_client.get_mut(&owner.client_id) {
            *n -= 1;
            if *n == 0 {
                self.per_client.remove(&owner.client_id);
            }
        }
        let key = owner.source_key();
        if let Some(n) = self.per_source.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.per_source.remove(&key);
            }
        }
    }

    fn remove(&mut self, id: &SecretHash) -> Option<Entry> {
        let e = self.flows.remove(id)?;
        if e.expired {
            self.expired -= 1;
        } else {
            self.uncount(&e.owner);
        }
        Some(e)
    }

    /// Removes a flow and keeps its report for the next sweep if it is due.
    fn drop_reporting(&mut self, id: &SecretHash, cap: usize) {
        if let Some(e) = self.remove(id)
            && e.expired
            && !e.reported
        {
            if self.outbox.len() >= cap.max(1) {
                // Bounded: the host that never sweeps loses the oldest reports, not memory.
                self.outbox.pop_front();
            }
            self.outbox.push_back(ExpiredFlow {
                owner: e.owner,
                data: e.data,
                expired_at: e.expires_at,
            });
        }
    }

    /// Moves every flow expired at `now` to the grace queue (no longer counted) and drops
    /// those past their grace or beyond the cap (`limits.total`).
    fn expire(&mut self, now: SystemTime, limits: &FlowLimits) {
        while let Some(Reverse((at, id))) = self.expiry.peek().copied() {
            if at > now {
                break;
            }
            self.expiry.pop();
            let owner = match self.flows.get_mut(&id) {
                Some(e) if e.expires_at == at && !e.expired => {
                    e.expired = true;
                    e.owner.clone()
                }
                _ => continue,
            };
            self.uncount(&owner);
            self.expired += 1;
            self.grace.push_back((at, id));
            self.fresh.push(id);
        }
        while let Some((at, id)) = self.grace.front().copied() {
            let past = later(at, limits.grace) <= now;
            if !past && self.expired <= limits.total {
                break;
            }
            self.grace.pop_front();
            if self
                .flows
                .get(&id)
                .is_some_and(|e| e.expired && e.expires_at == at)
            {
                self.drop_reporting(&id, limits.total);
            }
        }
        self.drop_stale();
    }

    /// Bounds the stale entries of the expiry heap, the grace queue and the list of flows to
    /// report (flows taken or replaced before they came up) by rebuilding each from `flows`
    /// once it holds more than 1024 entries beyond twice those it needs. Stale entries are
    /// skipped when they come up, so when this runs changes no answer.
    fn drop_stale(&mut self) {
        if self.expiry.len() > 2 * self.live + 1024 {
            self.expiry = self
                .flows
                .iter()
                .filter(|(_, e)| !e.expired)
                .map(|(id, e)| Reverse((e.expires_at, *id)))
                .collect();
        }
        if self.grace.len() > 2 * self.expired + 1024 {
            let flows = &self.flows;
            self.grace.retain(|(at, id)| {
                flows
                    .get(id)
                    .is_some_and(|e| e.expired && e.expires_at == *at)
            });
        }
        if self.fresh.len() > 2 * self.flows.len() + 1024 {
            let flows = &self.flows;
            self.fresh
                .retain(|id| flows.get(id).is_some_and(|e| e.expired && !e.reported));
        }
    }

    /// Reports what expired and was not reported yet.
    fn report(&mut self) -> Vec<ExpiredFlow> {
        let mut out: Vec<ExpiredFlow> = self.outbox.drain(..).collect();
        for id in std::mem::take(&mut self.fresh) {
            if let Some(e) = self.flows.get_mut(&id)
                && e.expired
                && !e.reported
            {
                e.reported = true;
                out.push(ExpiredFlow {
                    owner: e.owner.clone(),
                    data: e.data.clone(),
                    expired_at: e.expires_at,
                });
            }
        }
        out
    }
}

/// The flow store in memory, for a single node (and tests). Limits are enforced exactly;
/// flows are expired a little at every put (their reports wait for [`FlowStore::sweep`]).
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

    /// How many live flows are stored: expired ones kept for their grace are not counted,
    /// but flows that expired since the last put, take or sweep are.
    pub fn len(&self) -> usize {
        self.lock().live
    }

    /// How many flows are live at `now` (what the admission limits count).
    pub fn live(&self, now: SystemTime) -> usize {
        let mut t = self.lock();
        t.expire(now, &self.limits);
        t.live
    }

    /// True if no live flow is stored ([`MemoryFlowStore::len`]).
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
        t.expire(now, &self.limits);
        if admission == Admission::New {
            let l = &self.limits;
            let mine = t.flows.get(id).is_some_and(|e| !e.expired);
            let busy = |limit, figure| Err(Busy::new(limit, figure, l.retry_after).into());
            let at = |n: Option<&usize>| n.copied().unwrap_or(0).saturating_sub(usize::from(mine));
            if at(t.per_source.get(&owner.source_key())) >= l.per_source {
                return busy(FlowLimit::PerSource, l.per_source);
            }
            if at(t.per_client.get(&owner.client_id)) >= l.per_client {
                return busy(FlowLimit::PerClient, l.per_client);
            }
            if t.live.saturating_sub(usize::from(mine)) >= l.total {
                return busy(FlowLimit::Total, l.total);
            }
        }
        t.drop_reporting(id, self.limits.total);
        t.live += 1;
        *t.per_client.entry(owner.client_id.clone()).or_insert(0) += 1;
        *t.per_source.entry(owner.source_key()).or_insert(0) += 1;
        t.expiry.push(Reverse((expires_at, *id)));
        t.flows.insert(
            *id,
            Entry {
                owner: owner.clone(),
                data: data.to_owned(),
                expires_at,
                expired: false,
                reported: false,
            },
        );
        Ok(())
    }

    fn take(&self, id: &SecretHash, now: SystemTime) -> Result<Option<StoredFlow>, FlowError> {
        let mut t = self.lock();
        t.expire(now, &self.limits);
        if t.flows.get(id).is_none_or(|e| now >= e.expires_at) {
            return Ok(None);
        }
        Ok(t.remove(id).map(|e| StoredFlow {
            owner: e.owner,
            data: e.data,
        }))
    }

    fn take_late(
        &self,
        id: &SecretHash,
        now: SystemTime,
    ) -> Result<Option<(StoredFlow, Lateness)>, FlowError> {
        let mut t = self.lock();
        t.expire(now, &self.limits);
        // After `expire`, a flow still here is live or within its grace.
        Ok(t.remove(id).map(|e| {
            let lateness = match (now >= e.expires_at, e.reported) {
                (false, _) => Lateness::OnTime,
                (true, true) => Lateness::Late,
                (true, false) => Lateness::LateUnreported,
            };
            let flow = StoredFlow {
                owner: e.owner,
                data: e.data,
            };
            (flow, lateness)
        }))
    }

    fn sweep(&self, now: SystemTime) -> Result<Vec<ExpiredFlow>, FlowError> {
        let mut t = self.lock();
        t.expire(now, &self.limits);
        Ok(t.report())
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

    /// As [`PendingFlows::resume`], and also a flow that expired less than
    /// [`FlowLimits::grace`] ago, marked late ([`FlowStore::take_late`]): the caller ends it
    /// (MedMij OAUTH-12 case 5) rather than putting it back, and reports its expiry if it is
    /// [`Lateness::LateUnreported`].
    pub fn resume_late<T: DeserializeOwned>(
        &self,
        id: &FlowId,
        now: SystemTime,
    ) -> Result<Option<(Resumed<T>, Lateness)>, FlowError> {
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
