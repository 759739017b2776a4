//! The PGO GW router: the start endpoint and the redirect endpoint (MedMij OAUTH-3,
//! OAUTH-10, CONSENT-3); for 2.x counterparts also collecting again by refresh (OAUTH-19)
//! and the "Toestemmingen aanpassen" link (OAUTH-22).

use super::host::{
    AuditEvent, AuditSink, ChainActor, ChainGrant, ChainStep, ChainStepKind, Counterpart, Endpoint,
    FailureStage, FlowDone, FlowFailure, MAX_START_CONTEXT, PgoHost, StartRefused as HostRefused,
    StartRoute, TokenTransport,
};
use super::pages::{DefaultPages, Pages};
use super::{
    Clock, DEFAULT_BODY_LIMIT, DEFAULT_SWEEP_INTERVAL, Incoming, SweepGate, busy_page, page,
    respond, set_cookie, sweep_expired, unavailable_page, with_flow_cookie, with_header,
};
use crate::{
    Client, ExpiredFlow, FlowError, FlowId, FlowOwner, FlowStore, GrantV2, HttpResponse,
    PendingFlow, PendingFlows, PersonMessage, RefreshError, RefreshToken, RefreshTokenVault,
    ReleaseLine, Scope, ScopeForm, Subject, ThreadRandom, TraceIds, TracedTokenRequest, UseCase,
    V2Config, VaultKey, run_blocking,
};
use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::get;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::Mutex;

/// The PGO GW's flow cookie (`__Host-` prefix; `HttpOnly`, `Secure`, `SameSite=Lax`): the id
/// of the pending authorization, so the redirect is taken only in the browser that started it
/// (MedMij OAUTH-10, RFC 6819 4.4.1.8).
pub const PGO_COOKIE: &str = "__Host-medmij-pgo";

/// The host's implementations of the PGO GW seams.
#[derive(Debug, Clone)]
pub struct PgoHooks<T, H, L, P = DefaultPages> {
    /// The back channel (mutual TLS, MedMij OAUTH-3).
    pub transport: T,
    /// The person's session, the ZAL and the grant's destination.
    pub host: H,
    /// The audit sink (LOG-1).
    pub audit: L,
    /// Pages for the person.
    pub pages: P,
}

/// How many flows one person (one [`PgoHost::person`] session) may have pending at the PGO
/// GW by default ([`PgoSettings::flows_per_person`]).
pub const DEFAULT_PGO_FLOWS_PER_PERSON: usize = 3;

/// Settings of the PGO GW router.
#[derive(Debug, Clone)]
pub struct PgoSettings {
    /// Most pending flows of one person ([`DEFAULT_PGO_FLOWS_PER_PERSON`], at least 1): a
    /// new start ends the person's oldest pending flow beyond it, so that one session cannot
    /// fill the flow store (MedMij OAUTH-14). Counted per gateway node. The browser's flow
    /// cookie names its newest flow; the way back of an older one (another tab of the same
    /// [`PgoHost::person`] session) is found by its `state` (OAUTH-10).
    pub flows_per_person: usize,
    /// The route of the redirect endpoint: the path of the [`Client`]'s `redirect_uri` below
    /// the router's mount point; default `/redirect`.
    pub redirect_path: String,
    /// Largest request body ([`DEFAULT_BODY_LIMIT`]).
    pub body_limit: usize,
    /// The time source ([`Clock::system`]).
    pub clock: Clock,
    /// How often, at most, a new flow's admission sweeps the flow store for abandoned flows
    /// first ([`DEFAULT_SWEEP_INTERVAL`], 1 s); [`PgoGateway::expire_flows`] sweeps
    /// regardless.
    pub sweep_interval: std::time::Duration,
}

impl Default for PgoSettings {
    fn default() -> Self {
        Self {
            redirect_path: "/redirect".to_owned(),
            flows_per_person: DEFAULT_PGO_FLOWS_PER_PERSON,
            body_limit: DEFAULT_BODY_LIMIT,
            clock: Clock::system(),
            sweep_interval: DEFAULT_SWEEP_INTERVAL,
        }
    }
}

/// What the PGO GW keeps per browser between leaving for the ZA GW and coming back.
#[derive(serde::Serialize, serde::Deserialize)]
enum PgoFlow {
    /// An authorization flow of either release line.
    Flow {
        pending: Box<PendingFlow>,
        person: String,
        /// The host's [`StartRequest::context`](super::StartRequest::context).
        #[serde(default)]
        context: Option<String>,
    },
    /// A visit to the ZA GW's consent management (MedMij OAUTH-22): the `state` sent.
    Manage { state: String, person: String },
}

/// The vault behind the PGO GW, with its error as text.
trait Vault: Send + Sync + 'static {
    fn put(&self, key: &VaultKey, token: &RefreshToken) -> Result<(), String>;
    fn take(&self, key: &VaultKey) -> Result<Option<RefreshToken>, String>;
}

impl<V> Vault for V
where
    V: RefreshTokenVault + Send + Sync + 'static,
    V::Error: std::fmt::Display,
{
    fn put(&self, key: &VaultKey, token: &RefreshToken) -> Result<(), String> {
        RefreshTokenVault::put(self, key, token).map_err(|e| e.to_string())
    }
    fn take(&self, key: &VaultKey) -> Result<Option<RefreshToken>, String> {
        RefreshTokenVault::take(self, key).map_err(|e| e.to_string())
    }
}

/// The "Toestemmingen aanpassen" path for an Aanbieder's scope, below the router's mount
/// point (MedMij OAUTH-22).
fn manage_path(scope: &Scope) -> String {
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("scope", scope.as_str())
        .finish();
    format!("/toestemmingen?{q}")
}

/// The URL without its query (what a chain-monitoring step names, MedMij LOG-6).
fn without_query(url: &str) -> String {
    url.split_once('?').map_or(url, |(u, _)| u).to_owned()
}

/// Unit types whose fixed words tell the person why a PGO GW request ended (MedMij OAUTH-12:
/// plain words, in Dutch and English), each with its [`PersonMessage`].
macro_rules! person_messages {
    ($($(#[$doc:meta])* $name:ident => $nl:literal, $en:literal;)*) => {$(
        $(#[$doc])*
        struct $name;

        impl PersonMessage for $name {
            fn message_nl(&self) -> &'static str {
                $nl
            }
            fn message_en(&self) -> &'static str {
                $en
            }
        }
    )*};
}

person_messages! {
    /// The consent-management visit came back with another `state`.
    ManageRefused =>
        "Deze terugkeer van de zorgaanbieder hoort niet bij uw sessie. Probeer het opnieuw vanuit uw PGO.",
        "This return from the care provider does not belong to your session. Please try again from your PGO.";
    /// Why a start was refused, in plain words.
    StartRefused =>
        "Deze aanvraag kan niet worden gestart. Kies de zorgaanbieder opnieuw in uw PGO.",
        "This request cannot be started. Please choose the care provider again in your PGO.";
    /// The redirect endpoint reached without a flow of this browser (MedMij OAUTH-10: no flow
    /// cookie, or its flow ended or never was).
    NoFlow =>
        "Er loopt geen aanvraag vanuit deze browser. Begin opnieuw in uw PGO.",
        "No request from this browser is waiting. Please start again in your PGO.";
    /// The person never came back from the ZA GW (MedMij OAUTH-12 case 5).
    Abandoned =>
        "Deze aanvraag is verlopen omdat u niet binnen de tijd terugkwam. Begin opnieuw in uw PGO.",
        "This request expired because you did not come back in time. Please start again in your PGO.";
    /// Not logged in at the PGO.
    NoPerson =>
        "Log eerst in bij uw PGO.",
        "Please log in at your PGO first.";
    /// The token request could not be sent.
    NotSent =>
        "De zorgaanbieder is nu niet bereikbaar. Probeer het later opnieuw.",
        "The care provider cannot be reached now. Please try again later.";
}

/// The PGO GW as an axum router (see the [module notes](super)). Cheap to clone.
pub struct PgoGateway<F, T, H, L, P = DefaultPages> {
    inner: Arc<Pgo<F, T, H, L, P>>,
}

impl<F, T, H, L, P> Clone for PgoGateway<F, T, H, L, P> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<F, T, H, L, P> std::fmt::Debug for PgoGateway<F, T, H, L, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgoGateway")
            .field("client_id", self.inner.client.client_id())
            .finish_non_exhaustive()
    }
}

/// The pending flows of each person on this node, newest first (the per-person limit,
/// MedMij OAUTH-14). Holds at most as many persons as the flow store holds flows.
#[derive(Default)]
struct PersonFlows {
    by_person: HashMap<String, VecDeque<FlowId>>,
}

impl PersonFlows {
    /// Adds `id` for `person`; returns the ids beyond `keep` (oldest), to be ended. Forgets
    /// another person when `max_persons` are held (their flows still expire in the store).
    fn add(&mut self, person: &str, id: FlowId, keep: usize, max_persons: usize) -> Vec<FlowId> {
        if !self.by_person.contains_key(person) && self.by_person.len() >= max_persons.max(1) {
            let other = self.by_person.keys().next().cloned();
            if let Some(other) = other {
                self.by_person.remove(&other);
            }
        }
        let list = self.by_person.entry(person.to_owned()).or_default();
        list.push_front(id);
        let mut gone = Vec::new();
        while list.len() > keep.max(1) {
            gone.extend(list.pop_back());
        }
        gone
    }

    /// `id` of `person` is no longer pending.
    fn remove(&mut self, person: &str, id: &FlowId) {
        if let Some(list) = self.by_person.get_mut(person) {
            list.retain(|f| f != id);
            if list.is_empty() {
                self.by_person.remove(person);
            }
        }
    }
}

struct Pgo<F, T, H, L, P> {
    persons: Mutex<PersonFlows>,
    client: Client,
    flows: Arc<PendingFlows<F>>,
    hooks: PgoHooks<T, H, L, P>,
    settings: PgoSettings,
    vault: Option<Arc<dyn Vault>>,
    v2: V2Config,
    /// When the last admission's sweep started, for [`PgoSettings::sweep_interval`].
    last_sweep: SweepGate,
}

impl<F, T, H, L, P> PgoGateway<F, T, H, L, P>
where
    F: FlowStore + Send + Sync + 'static,
    T: TokenTransport,
    H: PgoHost,
    L: AuditSink,
    P: Pages,
{
    /// A gateway for `client` (its `client_id` and `redirect_uri`) keeping pending
    /// authorizations in `flows`.
    pub fn new(
        client: Client,
        flows: PendingFlows<F>,
        hooks: PgoHooks<T, H, L, P>,
        settings: PgoSettings,
    ) -> Self {
        Self::build(client, flows, hooks, settings, None)
    }

    /// A gateway that also speaks 2.x (MedMij OAUTH-19): refresh tokens of long-lasting
    /// consents go into `vault` (the host stores them encrypted at rest), keyed by the
    /// person and the Aanbieder, and `GET /collect` takes them out again.
    pub fn with_vault<V>(
        client: Client,
        flows: PendingFlows<F>,
        hooks: PgoHooks<T, H, L, P>,
        settings: PgoSettings,
        vault: V,
    ) -> Self
    where
        V: RefreshTokenVault + Send + Sync + 'static,
        V::Error: std::fmt::Display,
    {
        Self::build(client, flows, hooks, settings, Some(Arc::new(vault)))
    }

    fn build(
        client: Client,
        flows: PendingFlows<F>,
        hooks: PgoHooks<T, H, L, P>,
        settings: PgoSettings,
        vault: Option<Arc<dyn Vault>>,
    ) -> Self {
        Self {
            inner: Arc::new(Pgo {
                persons: Mutex::new(PersonFlows::default()),
                client,
                flows: Arc::new(flows),
                hooks,
                settings,
                vault,
                v2: V2Config::default(),
                last_sweep: SweepGate::default(),
            }),
        }
    }

    /// The pending flows (for their limits and store, for example).
    pub fn flows(&self) -> &Arc<PendingFlows<F>> {
        &self.inner.flows
    }

    /// Sweeps the flow store and reports each flow the person abandoned (never came back
    /// from the ZA GW) once: one [`Endpoint::FlowExpired`] audit event (MedMij OAUTH-12 case
    /// 5, LOG-1) and, for an authorization flow, [`PgoHost::failed`] with
    /// [`FailureStage::Expired`] (its answer is dropped: no browser waits); returns how many.
    /// The gateway does this at every new flow too; call it on a timer so that a quiet
    /// gateway also reports abandoned flows. A store that fails is retried at the next sweep.
    pub async fn expire_flows(&self) -> usize {
        self.inner.report_expired(true).await
    }

    /// The router: `GET /start?scope=<naam~id>[&use_case=delen]` and `GET /share?scope=`
    /// (Delen, MedMij OAUTH-13; both read by [`PgoHost::start_request`]), `GET`
    /// [`PgoSettings::redirect_path`], and for 2.x counterparts `GET /collect?scope=`
    /// (collect again by refresh, MedMij OAUTH-19) and `GET /toestemmingen?scope=` (the
    /// "Toestemmingen aanpassen" link, OAUTH-22).
    pub fn router(&self) -> Router {
        let (s, r) = (Arc::clone(&self.inner), Arc::clone(&self.inner));
        let (c, m) = (Arc::clone(&self.inner), Arc::clone(&self.inner));
        let d = Arc::clone(&self.inner);
        Router::new()
            .route(
                "/share",
                get(move |req: Request| {
                    let g = Arc::clone(&d);
                    async move { g.start(req, StartRoute::Share).await }
                }),
            )
            .route(
                "/collect",
                get(move |req: Request| {
                    let g = Arc::clone(&c);
                    async move { g.collect(req).await }
                }),
            )
            .route(
                "/toestemmingen",
                get(move |req: Request| {
                    let g = Arc::clone(&m);
                    async move { g.manage(req).await }
                }),
            )
            .route(
                "/start",
                get(move |req: Request| {
                    let g = Arc::clone(&s);
                    async move { g.start(req, StartRoute::Start).await }
                }),
            )
            .route(
                &self.inner.settings.redirect_path,
                get(move |req: Request| {
                    let g = Arc::clone(&r);
                    async move { g.redirect(req).await }
                }),
            )
    }
}

impl<F, T, H, L, P> Pgo<F, T, H, L, P>
where
    F: FlowStore + Send + Sync + 'static,
    T: TokenTransport,
    H: PgoHost,
    L: AuditSink,
    P: Pages,
{
    fn event(&self, inc: &Incoming, endpoint: Endpoint, success: bool, detail: &str) -> AuditEvent {
        let mut e = AuditEvent::new(
            self.settings.clock.now(),
            inc.source(),
            endpoint,
            success,
            detail,
        );
        e.client_id = Some(self.client.client_id().clone());
        e
    }

    async fn refuse(
        &self,
        inc: &Incoming,
        endpoint: Endpoint,
        status: u16,
        message: &(dyn PersonMessage + Sync),
        detail: &str,
    ) -> Response {
        self.hooks
            .audit
            .record(self.event(inc, endpoint, false, detail))
            .await;
        page(status, self.hooks.pages.problem(message))
    }

    /// Sweeps the flow store and reports every flow that expired unfinished, once
    /// ([`PgoGateway::expire_flows`]); returns how many.
    ///
    /// Unless `force`d, this sweeps only if [`PgoSettings::sweep_interval`] has passed since
    /// the last sweep started, and only one task at a time.
    async fn report_expired(&self, force: bool) -> usize {
        let now = self.settings.clock.now();
        let every = self.settings.sweep_interval;
        let expired = sweep_expired(&self.flows, &self.last_sweep, every, force, now).await;
        for f in &expired {
            self.report_one(f, now).await;
        }
        expired.len()
    }

    /// The one report of a flow that expired unfinished: its [`Endpoint::FlowExpired`] event
    /// and, for an authorization flow, [`PgoHost::failed`] with [`FailureStage::Expired`].
    async fn report_one(&self, flow: &ExpiredFlow, now: std::time::SystemTime) {
        let value = serde_json::from_str::<PgoFlow>(&flow.data).ok();
        let stage = match &value {
            Some(PgoFlow::Flow { .. }) => "at the ZA GW (the way back never came)",
            Some(PgoFlow::Manage { .. }) => "in consent management at the ZA GW",
            None => "(unreadable flow)",
        };
        let detail = format!("the flow expired unfinished, left {stage} (abandoned)");
        let mut e = AuditEvent::new(
            now,
            flow.owner.source,
            Endpoint::FlowExpired,
            false,
            detail.as_str(),
        );
        e.case = Some(5);
        e.client_id = Some(flow.owner.client_id.clone());
        match value {
            Some(PgoFlow::Flow {
                pending,
                person,
                context,
            }) => {
                e.subject = Subject::new(person.as_str()).ok();
                e.trace = pending.trace().copied();
                self.hooks.audit.record(e).await;
                let failure = FlowFailure {
                    stage: FailureStage::Expired,
                    scope: pending.scope().clone(),
                    use_case: pending.use_case(),
                    context,
                    case: Some(5),
                    error: None,
                    error_description: None,
                    message_nl: Abandoned.message_nl(),
                    message_en: Abandoned.message_en(),
                    detail,
                };
                let _ = self.hooks.host.failed(&person, failure).await;
            }
            Some(PgoFlow::Manage { person, .. }) => {
                e.subject = Subject::new(person.as_str()).ok();
                self.hooks.audit.record(e).await;
            }
            None => self.hooks.audit.record(e).await,
        }
    }

    /// A chain-monitoring step of the PGO GW (MedMij LOG-6).
    fn step(
        &self,
        kind: ChainStepKind,
        success: bool,
        trace: TraceIds,
        method: &'static str,
        endpoint: &str,
        scope: &Scope,
    ) -> ChainStep {
        ChainStep {
            at: self.settings.clock.now(),
            actor: ChainActor::PgoGateway,
            kind,
            success,
            trace,
            method,
            endpoint: without_query(endpoint),
            client_id: self.client.client_id().clone(),
            grant_type: None,
            aanbieder: Some(scope.zorgaanbieder().clone()),
            gegevensdienst: None,
            status: None,
            error: None,
            description: None,
        }
    }

    /// The person, the scope and its counterpart of a start, collect or manage request.
    async fn ask(
        &self,
        inc: &Incoming,
        endpoint: Endpoint,
    ) -> Result<(String, Scope, Counterpart), Response> {
        let Some(person) = self.hooks.host.person(&inc.headers).await else {
            return Err(self
                .refuse(inc, endpoint, 401, &NoPerson, "no PGO session")
                .await);
        };
        let Some(scope) = inc
            .query_param("scope")
            .and_then(|s| Scope::parse(&s, ScopeForm::Multiple).ok())
        else {
            return Err(self
                .refuse(inc, endpoint, 400, &StartRefused, "missing or bad scope")
                .await);
        };
        let Some(counterpart) = self.hooks.host.counterpart(&scope) else {
            return Err(self
                .refuse(inc, endpoint, 400, &StartRefused, "no ZAL endpoints")
                .await);
        };
        Ok((person, scope, counterpart))
    }

    /// Stores `flow` for this browser and answers with a redirect to `url` that sets the
    /// flow cookie.
    #[allow(clippy::too_many_arguments)]
    async fn leave(
        &self,
        inc: &Incoming,
        endpoint: Endpoint,
        person: &str,
        flow: PgoFlow,
        url: String,
        detail: &str,
        trace: Option<TraceIds>,
    ) -> Response {
        // Flows abandoned since the last sweep are reported before a new one is admitted
        // (MedMij OAUTH-12 case 5, LOG-1).
        self.report_expired(false).await;
        let owner = FlowOwner {
            client_id: self.client.client_id().clone(),
            source: inc.source(),
        };
        let flows = Arc::clone(&self.flows);
        let now = self.settings.clock.now();
        let id = match run_blocking(move || flows.open(&owner, &flow, &ThreadRandom, now)).await {
            Ok(Ok(id)) => id,
            Ok(Err(FlowError::Busy(busy))) => {
                self.hooks
                    .audit
                    .record(self.event(inc, endpoint, false, &busy.to_string()))
                    .await;
                // One source at its share: 429 Too Many Requests (RFC 6585), the store as a
                // whole full: 503 (MedMij OAUTH-14).
                return busy_page(&self.hooks.pages, &busy);
            }
            Ok(Err(_)) | Err(_) => {
                self.hooks
                    .audit
                    .record(self.event(inc, endpoint, false, "flow store unavailable"))
                    .await;
                return unavailable_page(&self.hooks.pages);
            }
        };
        let gone = self.persons.lock().unwrap_or_else(|e| e.into_inner()).add(
            person,
            id,
            self.settings.flows_per_person,
            self.flows.limits().total,
        );
        for old in gone {
            let flows = Arc::clone(&self.flows);
            let ended = run_blocking(move || flows.store().take(&old.hash(), now)).await;
            if matches!(ended, Ok(Ok(Some(_)))) {
                let detail = format!(
                    "the person's oldest pending flow ended ({} per person)",
                    self.settings.flows_per_person.max(1)
                );
                let mut e = self.event(inc, endpoint, true, &detail);
                e.subject = Subject::new(person).ok();
                self.hooks.audit.record(e).await;
            }
        }
        let mut e = self.event(inc, endpoint, true, detail);
        e.trace = trace;
        e.subject = Subject::new(person).ok();
        self.hooks.audit.record(e).await;
        let ttl = self.flows.limits().ttl;
        let found = respond(HttpResponse::found(url));
        with_flow_cookie(found, PGO_COOKIE, &id.secret_text(), ttl)
    }

    /// `GET /start` and `GET /share`: the host reads and checks the request
    /// ([`PgoHost::start_request`]) before anything is stored (MedMij OAUTH-12), then the
    /// authorization URL (OAUTH-10, LISTS-3) in the release line the host reads for the
    /// counterpart; 2.x with the OAUTH-21 identifiers.
    async fn start(&self, req: Request, route: StartRoute) -> Response {
        let inc = Incoming::read(req, self.settings.body_limit).await;
        let Some(person) = self.hooks.host.person(&inc.headers).await else {
            return self
                .refuse(&inc, Endpoint::Start, 401, &NoPerson, "no PGO session")
                .await;
        };
        let asked = match self
            .hooks
            .host
            .start_request(&person, route, &inc.view.query)
            .await
        {
            Ok(a)
                if a.context
                    .as_ref()
                    .is_some_and(|c| c.len() > MAX_START_CONTEXT) =>
            {
                Err(HostRefused {
                    response: HttpResponse::page(400, self.hooks.pages.problem(&StartRefused)),
                    detail: format!("start context over {MAX_START_CONTEXT} bytes"),
                })
            }
            other => other,
        };
        let asked = match asked {
            Ok(a) => a,
            Err(r) => {
                self.hooks
                    .audit
                    .record(self.event(&inc, Endpoint::Start, false, &r.detail))
                    .await;
                return respond(r.response);
            }
        };
        let Some(counterpart) = self.hooks.host.counterpart(&asked.scope) else {
            return self
                .refuse(
                    &inc,
                    Endpoint::Start,
                    400,
                    &StartRefused,
                    "no ZAL endpoints",
                )
                .await;
        };
        self.full_flow(
            &inc,
            Endpoint::Start,
            person,
            asked.scope,
            counterpart,
            asked.use_case,
            asked.context,
        )
        .await
    }

    /// Starts a full flow (authentication and consent at the ZA GW).
    #[allow(clippy::too_many_arguments)]
    async fn full_flow(
        &self,
        inc: &Incoming,
        endpoint: Endpoint,
        person: String,
        scope: Scope,
        c: Counterpart,
        use_case: UseCase,
        context: Option<String>,
    ) -> Response {
        let started = self.client.start_release(
            c.release,
            &c.authorization_endpoint,
            &c.token_endpoint,
            scope.clone(),
            use_case,
            None,
        );
        let (url, pending) = match started {
            Ok(x) => x,
            Err(e) => {
                let detail = format!("start refused: {e}");
                return self
                    .refuse(inc, endpoint, 400, &StartRefused, &detail)
                    .await;
            }
        };
        let trace = pending.trace().copied();
        if let Some(t) = trace {
            let step = self.step(
                ChainStepKind::SendAuthorizationRequest,
                true,
                t,
                "GET",
                &c.authorization_endpoint,
                &scope,
            );
            self.hooks.audit.chain(step).await;
        }
        let flow = PgoFlow::Flow {
            pending: Box::new(pending),
            person: person.clone(),
            context,
        };
        self.leave(
            inc,
            endpoint,
            &person,
            flow,
            url,
            "authorization started",
            trace,
        )
        .await
    }

    /// Posts a token or refresh request and logs the step (MedMij LOG-6).
    async fn post(
        &self,
        request: &TracedTokenRequest,
        grant: ChainGrant,
        scope: &Scope,
    ) -> Result<(u16, String), super::TransportError> {
        let answer = self.hooks.transport.post_traced(request).await;
        if let Some(t) = request.trace {
            let ok = matches!(&answer, Ok((200, _)));
            let kind = match (grant, ok) {
                (ChainGrant::AuthorizationCode, true) => ChainStepKind::SendTokenRequest,
                (ChainGrant::AuthorizationCode, false) => ChainStepKind::TokenRequestError,
                (ChainGrant::RefreshToken, true) => ChainStepKind::SendRefreshTokenRequest,
                (ChainGrant::RefreshToken, false) => ChainStepKind::RefreshTokenRequestError,
            };
            let mut step = self.step(kind, ok, t, "POST", &request.request.url, scope);
            step.grant_type = Some(grant);
            match &answer {
                Ok((status, body)) => {
                    step.status = Some(*status);
                    if !ok {
                        step.error = Some(token_error(body));
                    }
                }
                Err(_) => step.error = Some("transport_error"),
            }
            self.hooks.audit.chain(step).await;
        }
        answer
    }

    /// Keeps a grant's refresh token in the vault (MedMij OAUTH-19) and hands the grant to
    /// the host ([`PgoHost::completed`]) with the "Toestemmingen aanpassen" path of a 2.x
    /// grant (OAUTH-22).
    #[allow(clippy::too_many_arguments)]
    async fn hand_over(
        &self,
        inc: &Incoming,
        endpoint: Endpoint,
        person: &str,
        scope: &Scope,
        mut grant: GrantV2,
        release: ReleaseLine,
        use_case: UseCase,
        context: Option<String>,
    ) -> HttpResponse {
        if let (Some(rt), Some(vault)) = (grant.refresh_token, &self.vault) {
            let key = VaultKey::new(person, scope.zorgaanbieder().clone());
            let vault = Arc::clone(vault);
            let stored = run_blocking(move || vault.put(&key, &rt)).await;
            let (ok, detail) = match stored {
                Ok(Ok(())) => (true, "refresh token kept in the vault".to_owned()),
                Ok(Err(e)) => (false, format!("vault refused the refresh token: {e}")),
                Err(e) => (false, format!("vault unavailable: {e}")),
            };
            let mut e = self.event(inc, endpoint, ok, &detail);
            e.trace = grant.trace;
            self.hooks.audit.record(e).await;
            if ok {
                // The token stays in the vault only (RFC 6750 5.3, LOG-4).
                grant.refresh_token = None;
            }
        }
        let manage = grant.trace.map(|_| manage_path(scope));
        let done = FlowDone {
            release,
            use_case,
            context,
            manage,
        };
        self.hooks.host.completed(person, grant, done).await
    }

    /// Collects again through a full flow (authentication and consent at the ZA GW): no
    /// refresh token, or it was refused (MedMij OAUTH-19).
    async fn collect_in_full(
        &self,
        inc: &Incoming,
        person: String,
        scope: Scope,
        c: Counterpart,
    ) -> Response {
        self.full_flow(
            inc,
            Endpoint::Collect,
            person,
            scope,
            c,
            UseCase::Verzamelen,
            None,
        )
        .await
    }

    /// `GET /collect?scope=`: collect again (MedMij OAUTH-19). For a 2.x counterpart with a
    /// refresh token in the vault: a refresh request on the back channel (a new
    /// `X-Correlation-ID`, OAUTH-21), the new refresh token back into the vault (rotation);
    /// on `invalid_grant` (lapsed, withdrawn, revoked) or without a token: a full flow.
    async fn collect(&self, req: Request) -> Response {
        let inc = Incoming::read(req, self.settings.body_limit).await;
        let (person, scope, c) = match self.ask(&inc, Endpoint::Collect).await {
            Ok(x) => x,
            Err(r) => return r,
        };
        let (Some(vault), ReleaseLine::V2) = (&self.vault, c.release) else {
            return self.collect_in_full(&inc, person, scope, c).await;
        };
        let key = VaultKey::new(&*person, scope.zorgaanbieder().clone());
        let v = Arc::clone(vault);
        let rt = match run_blocking(move || v.take(&key)).await {
            Ok(Ok(Some(rt))) => rt,
            Ok(Ok(None)) => {
                return self.collect_in_full(&inc, person, scope, c).await;
            }
            Ok(Err(_)) | Err(_) => {
                let r = self
                    .refuse(&inc, Endpoint::Collect, 503, &NotSent, "vault unavailable")
                    .await;
                return r;
            }
        };
        let wire_scope = scope.zorgaanbieder().scope_part().to_owned();
        let (request, waiting) =
            match self
                .client
                .refresh_request(&c.token_endpoint, &rt, scope.clone(), &wire_scope)
            {
                Ok(x) => x,
                Err(e) => {
                    let detail = format!("refresh refused: {e}");
                    return self
                        .refuse(&inc, Endpoint::Collect, 400, &StartRefused, &detail)
                        .await;
                }
            };
        let (status, body) = match self.post(&request, ChainGrant::RefreshToken, &scope).await {
            Ok(x) => x,
            Err(e) => {
                return self
                    .refuse(&inc, Endpoint::Collect, 503, &NotSent, &e.to_string())
                    .await;
            }
        };
        let now = self.settings.clock.now();
        match waiting.parse_response(status, &body, now) {
            Ok(grant) => {
                let mut e = self.event(&inc, Endpoint::Collect, true, "access token refreshed");
                e.trace = grant.trace;
                self.hooks.audit.record(e).await;
                let answer = self
                    .hand_over(
                        &inc,
                        Endpoint::Collect,
                        &person,
                        &scope,
                        grant,
                        ReleaseLine::V2,
                        UseCase::Verzamelen,
                        None,
                    )
                    .await;
                respond(answer)
            }
            Err(RefreshError::StartNewFlow) => {
                let mut e = self.event(
                    &inc,
                    Endpoint::Collect,
                    false,
                    "refresh token refused (invalid_grant): a new full flow",
                );
                e.case = Some(6);
                e.trace = request.trace;
                self.hooks.audit.record(e).await;
                self.collect_in_full(&inc, person, scope, c).await
            }
            Err(e) => {
                let mut ev = self.event(&inc, Endpoint::Collect, false, &e.to_string());
                ev.trace = request.trace;
                self.hooks.audit.record(ev).await;
                page(400, self.hooks.pages.problem(&NotSent))
            }
        }
    }

    /// `GET /toestemmingen?scope=`: "Toestemmingen aanpassen" (MedMij OAUTH-22): the
    /// person's browser goes to the ZA GW's consent-management entry point; the `state`
    /// waits for the way back in a flow bound to this browser.
    async fn manage(&self, req: Request) -> Response {
        let inc = Incoming::read(req, self.settings.body_limit).await;
        let (person, _, c) = match self.ask(&inc, Endpoint::ConsentManagement).await {
            Ok(x) => x,
            Err(r) => return r,
        };
        if c.release != ReleaseLine::V2 {
            return self
                .refuse(
                    &inc,
                    Endpoint::ConsentManagement,
                    400,
                    &StartRefused,
                    "consent management is 2.x only",
                )
                .await;
        }
        let link = match self
            .client
            .consent_management_link(&c.authorization_endpoint, &self.v2)
        {
            Ok(l) => l,
            Err(e) => {
                let detail = format!("link refused: {e}");
                return self
                    .refuse(
                        &inc,
                        Endpoint::ConsentManagement,
                        400,
                        &StartRefused,
                        &detail,
                    )
                    .await;
            }
        };
        let flow = PgoFlow::Manage {
            state: link.state.as_str().to_owned(),
            person: person.clone(),
        };
        let detail = "consent management visit started";
        self.leave(
            &inc,
            Endpoint::ConsentManagement,
            &person,
            flow,
            link.url,
            detail,
            Some(link.trace),
        )
        .await
    }

    /// Another pending flow of `person` (not `current`) whose `state` is `state`, taken out
    /// of the store; the others looked at go back unchanged.
    async fn sibling(
        &self,
        person: &str,
        current: FlowId,
        state: &str,
        now: std::time::SystemTime,
    ) -> Option<(FlowId, Box<PendingFlow>, Option<String>)> {
        let ids: Vec<FlowId> = self
            .persons
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_person
            .get(person)
            .map(|l| l.iter().copied().filter(|f| *f != current).collect())
            .unwrap_or_default();
        for other in ids {
            let flows = Arc::clone(&self.flows);
            let Ok(Ok(Some(r))) = run_blocking(move || flows.resume::<PgoFlow>(&other, now)).await
            else {
                continue;
            };
            match r.value {
                PgoFlow::Flow {
                    pending,
                    person: p,
                    context,
                } if p == person && pending.state().as_str() == state => {
                    return Some((other, pending, context));
                }
                value => {
                    let flows = Arc::clone(&self.flows);
                    let owner = r.owner;
                    let _ = run_blocking(move || flows.save(&other, &owner, &value, now)).await;
                }
            }
        }
        None
    }

    /// A flow of `person` that ended at the redirect endpoint without a grant (MedMij
    /// OAUTH-12): its audit event (LOG-1), then the host's answer ([`PgoHost::failed`]) or
    /// else the problem page with `status` and `message`; with the flow cookie `cookie`.
    async fn without_grant(
        &self,
        person: &str,
        (event, failure): (AuditEvent, FlowFailure),
        (status, message): (u16, &(dyn PersonMessage + Sync)),
        cookie: &str,
    ) -> Response {
        self.hooks.audit.record(event).await;
        let r = match self.hooks.host.failed(person, failure).await {
            Some(answer) => respond(answer),
            None => page(status, self.hooks.pages.problem(message)),
        };
        with_header(r, http::header::SET_COOKIE, cookie)
    }

    /// The redirect endpoint: `state` first (MedMij OAUTH-10), then the code on the back
    /// channel (OAUTH-3) and the grant to the host; the consent is logged (CONSENT-3). The
    /// way back from a consent-management visit (OAUTH-22) arrives here too.
    async fn redirect(&self, req: Request) -> Response {
        let inc = Incoming::read(req, self.settings.body_limit).await;
        let clear = set_cookie(PGO_COOKIE, None, 0);
        let Some(id) = inc.cookie(PGO_COOKIE).and_then(|c| FlowId::parse(&c)) else {
            return self
                .refuse(&inc, Endpoint::Redirect, 400, &NoFlow, "no flow cookie")
                .await;
        };
        let flows = Arc::clone(&self.flows);
        let now = self.settings.clock.now();
        let resumed = match run_blocking(move || flows.resume::<PgoFlow>(&id, now)).await {
            Ok(Ok(Some(r))) => r,
            Ok(Ok(None)) | Ok(Err(FlowError::Corrupt(_))) => {
                let r = self
                    .refuse(&inc, Endpoint::Redirect, 400, &NoFlow, "unknown flow")
                    .await;
                return with_header(r, http::header::SET_COOKIE, &clear);
            }
            Ok(Err(_)) | Err(_) => {
                self.hooks
                    .audit
                    .record(self.event(&inc, Endpoint::Redirect, false, "flow store unavailable"))
                    .await;
                return unavailable_page(&self.hooks.pages);
            }
        };
        let owner = resumed.owner;
        let (mut pending, person, mut context) = match resumed.value {
            PgoFlow::Flow {
                pending,
                person,
                context,
            } => (pending, person, context),
            PgoFlow::Manage { state, person } => {
                self.persons
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&person, &id);
                let back = inc.query_param("state");
                let ok = back.as_deref().map(str::as_bytes) == Some(state.as_bytes());
                let r = if ok {
                    self.hooks
                        .audit
                        .record(self.event(
                            &inc,
                            Endpoint::ConsentManagement,
                            true,
                            "back from consent management",
                        ))
                        .await;
                    respond(self.hooks.host.managed(&person).await)
                } else {
                    self.refuse(
                        &inc,
                        Endpoint::ConsentManagement,
                        400,
                        &ManageRefused,
                        "state mismatch on the way back from consent management",
                    )
                    .await
                };
                return with_header(r, http::header::SET_COOKIE, &clear);
            }
        };
        // The browser's cookie names its newest flow; a way back from another tab of the
        // same PGO session carries the `state` of one of the person's other pending flows
        // (MedMij OAUTH-10: bound to this user agent's session, never to a bare `state`).
        let mut used = id;
        let mut cookie_after = clear;
        let back_state = inc.query_param("state");
        if let Some(state) = back_state.as_deref()
            && state != pending.state().as_str()
            && self.hooks.host.person(&inc.headers).await.as_deref() == Some(person.as_str())
            && let Some((other, p, c)) = self.sibling(&person, id, state, now).await
        {
            let flows = Arc::clone(&self.flows);
            let newest = PgoFlow::Flow {
                pending,
                person: person.clone(),
                context,
            };
            let kept = run_blocking(move || flows.save(&id, &owner, &newest, now)).await;
            if matches!(kept, Ok(Ok(()))) {
                let ttl = self.flows.limits().ttl.as_secs();
                cookie_after = set_cookie(PGO_COOKIE, Some(&id.secret_text()), ttl);
            } else {
                self.persons
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&person, &id);
            }
            (used, pending, context) = (other, p, c);
        }
        self.persons
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&person, &used);
        let subject = Subject::new(person.as_str()).ok();
        let trace = pending.trace().copied();
        let use_case = pending.use_case();
        let scope = pending.scope().clone();
        // The audit event (LOG-1) and the host's view (OAUTH-12) of the flow ending here.
        let failure = |stage, case, message: &(dyn PersonMessage + Sync), detail: String| {
            let mut ev = self.event(&inc, Endpoint::Redirect, false, &detail);
            ev.case = case;
            ev.trace = trace;
            ev.subject = subject.clone();
            let from_za = stage == FailureStage::Redirect;
            let f = FlowFailure {
                stage,
                scope: scope.clone(),
                use_case,
                context: context.clone(),
                case,
                error: from_za.then(|| inc.query_param("error")).flatten(),
                error_description: from_za
                    .then(|| inc.query_param("error_description"))
                    .flatten(),
                message_nl: message.message_nl(),
                message_en: message.message_en(),
                detail,
            };
            (ev, f)
        };
        let received = match pending.handle_redirect(&inc.view.query, now) {
            Ok(r) => r,
            Err(e) => {
                let case = match &e {
                    crate::CallbackError::Case(c) => Some(c.number()),
                    _ => None,
                };
                let ended = failure(FailureStage::Redirect, case, &e, e.to_string());
                return self
                    .without_grant(&person, ended, (400, &e), &cookie_after)
                    .await;
            }
        };
        let mut ev = self.event(
            &inc,
            Endpoint::Redirect,
            true,
            &format!("consent received for {}", received.scope),
        );
        ev.trace = trace;
        ev.subject = subject.clone();
        self.hooks.audit.record(ev).await;
        let request = pending.token_request(&received.code);
        let scope = received.scope.clone();
        let (status, body) = match self
            .post(&request, ChainGrant::AuthorizationCode, &scope)
            .await
        {
            Ok(x) => x,
            Err(e) => {
                let ended = failure(FailureStage::TokenTransport, None, &NotSent, e.to_string());
                return self
                    .without_grant(&person, ended, (503, &NotSent), &cookie_after)
                    .await;
            }
        };
        let grant = match pending.parse_token_response(status, &body, self.settings.clock.now()) {
            Ok(g) => g,
            Err(e) => {
                let case = e.is_invalid_grant().then_some(6);
                let ended = failure(FailureStage::TokenResponse, case, &e, e.to_string());
                return self
                    .without_grant(&person, ended, (400, &e), &cookie_after)
                    .await;
            }
        };
        let mut ev = self.event(&inc, Endpoint::Redirect, true, "access token received");
        ev.trace = trace;
        ev.subject = subject;
        self.hooks.audit.record(ev).await;
        let answer = self
            .hand_over(
                &inc,
                Endpoint::Redirect,
                &person,
                &scope,
                grant,
                pending.release(),
                use_case,
                context,
            )
            .await;
        with_header(respond(answer), http::header::SET_COOKIE, &cookie_after)
    }
}

/// The `error` of a token endpoint's JSON answer, when it is one of RFC 6749 5.2's codes
/// (never free text from the peer, MedMij LOG-4).
fn token_error(body: &str) -> &'static str {
    let error = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned));
    match error.as_deref() {
        Some("invalid_request") => "invalid_request",
        Some("invalid_client") => "invalid_client",
        Some("invalid_grant") => "invalid_grant",
        Some("unauthorized_client") => "unauthorized_client",
        Some("unsupported_grant_type") => "unsupported_grant_type",
        Some("invalid_scope") => "invalid_scope",
        Some("server_error") => "server_error",
        Some("temporarily_unavailable") => "temporarily_unavailable",
        _ => "invalid_response",
    }
}

/// The PGO GW's per-person bookkeeping of pending flows (MedMij OAUTH-14): the newest kept,
/// the oldest beyond the cap handed back to be ended, the map bounded by the store's total.
#[cfg(test)]
mod oauth_14 {
    use super::PersonFlows;
    use crate::{FlowId, ThreadRandom};

    fn id() -> FlowId {
        FlowId::random(&ThreadRandom)
    }

    #[test]
    fn the_oldest_beyond_the_cap_are_handed_back() {
        let mut p = PersonFlows::default();
        let ids: Vec<FlowId> = (0..4).map(|_| id()).collect();
        assert!(p.add("a", ids[0], 2, 10).is_empty());
        assert!(p.add("a", ids[1], 2, 10).is_empty());
        assert_eq!(p.add("a", ids[2], 2, 10), [ids[0]]);
        // A cap of 0 keeps 1: the newest.
        assert_eq!(p.add("a", ids[3], 0, 10), [ids[1], ids[2]]);
        assert_eq!(p.by_person["a"], [ids[3]]);
    }

    #[test]
    fn another_person_is_forgotten_only_for_a_new_person_at_the_bound() {
        let mut p = PersonFlows::default();
        p.add("a", id(), 3, 2);
        // Below the bound: nobody forgotten.
        p.add("b", id(), 3, 2);
        assert_eq!(p.by_person.len(), 2);
        // A person already held, at the bound: nobody forgotten.
        p.add("a", id(), 3, 2);
        assert_eq!(p.by_person.len(), 2);
        assert_eq!(p.by_person["a"].len(), 2);
        assert_eq!(p.by_person["b"].len(), 1);
        // A new person at the bound: exactly one other forgotten, the new one held.
        p.add("c", id(), 3, 2);
        assert_eq!(p.by_person.len(), 2);
        assert_eq!(p.by_person["c"].len(), 1);
    }

    #[test]
    fn a_finished_flow_is_forgotten_and_then_its_person() {
        let mut p = PersonFlows::default();
        let (x, y) = (id(), id());
        p.add("a", x, 3, 10);
        p.add("a", y, 3, 10);
        p.remove("a", &x);
        assert_eq!(p.by_person["a"], [y]);
        p.remove("b", &y);
        assert_eq!(
            p.by_person["a"],
            [y],
            "another person's remove changes nothing"
        );
        p.remove("a", &y);
        assert!(p.by_person.is_empty());
    }
}

/// The PGO GW's own refusals tell the person what happened in plain words, in Dutch and in
/// English (MedMij OAUTH-12), each situation in its own words.
#[cfg(test)]
mod oauth_12 {
    use super::{Abandoned, ManageRefused, NoFlow, NoPerson, NotSent, StartRefused};
    use crate::PersonMessage;

    /// A sentence for a person: several words, ending in a full stop.
    fn plain(text: &str) -> bool {
        text.split_whitespace().count() >= 4 && text.ends_with('.')
    }

    #[test]
    fn each_refusal_is_told_in_plain_dutch_and_english() {
        let messages: [&dyn PersonMessage; 6] = [
            &ManageRefused,
            &StartRefused,
            &NoFlow,
            &Abandoned,
            &NoPerson,
            &NotSent,
        ];
        let dutch = ["uw", "de", "het", "is", "niet"];
        let english = ["your", "the", "please", "is", "not"];
        let mut seen = std::collections::HashSet::new();
        for m in messages {
            let (nl, en) = (m.message_nl(), m.message_en());
            assert!(plain(nl) && plain(en), "{nl} / {en}");
            let words = |t: &str, of: &[&str]| {
                t.to_lowercase()
                    .split(|c: char| !c.is_alphabetic())
                    .filter(|w| of.contains(w))
                    .count()
            };
            assert!(words(nl, &dutch) > words(nl, &english), "not Dutch: {nl}");
            assert!(words(en, &english) > words(en, &dutch), "not English: {en}");
            assert!(
                seen.insert(nl) && seen.insert(en),
                "said twice: {nl} / {en}"
            );
        }
    }
}

/// The error code a failed token request's chain step carries (MedMij LOG-6): the OAuth
/// error the ZA GW answered, or `invalid_response` for anything else.
#[cfg(test)]
mod log_6 {
    use super::token_error;

    #[test]
    fn the_step_names_the_oauth_error_or_an_invalid_response() {
        for code in [
            "invalid_request",
            "invalid_client",
            "invalid_grant",
            "unauthorized_client",
            "unsupported_grant_type",
            "invalid_scope",
            "server_error",
            "temporarily_unavailable",
        ] {
            assert_eq!(token_error(&format!(r#"{{"error":"{code}"}}"#)), code);
        }
        for body in [
            r#"{"error":"access_denied"}"#,
            r#"{"error":7}"#,
            r#"{"access_token":"x"}"#,
            "<html>",
            "",
        ] {
            assert_eq!(token_error(body), "invalid_response", "{body}");
        }
    }
}
