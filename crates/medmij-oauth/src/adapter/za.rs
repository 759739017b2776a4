//! The ZA GW router: authorization endpoint (front channel), token endpoint and resource
//! endpoint (back channel), MedMij OAUTH-11.

use super::host::{
    AuditEvent, AuditSink, Authenticator, ChainActor, ChainGrant, ChainStep, ChainStepKind,
    ConsentUi, DataAvailability, Endpoint, FhirBackend, FlowInfo, ManagementInfo,
    PersonAuthentication,
};
use super::pages::{DefaultPages, Pages};
use super::{
    Clock, DEFAULT_BODY_LIMIT, DEFAULT_FHIR_BODY_LIMIT, DEFAULT_SWEEP_INTERVAL, Incoming,
    MtlsClient, SweepGate, busy_page, host_answer, host_page, page, respond, set_cookie,
    single_param, sweep_expired, unavailable_page, with_flow_cookie, with_header,
};
use crate::{
    AsyncAuthorizationServer, ClientRegistry, ConsentOutcome, ExpiredFlow, FlowError, FlowId,
    FlowOwner, FlowStore, HttpResponse, Interaction, Lateness, PendingFlows, Redirect,
    ResourceError, Session, SessionStage, ThreadRandom, TokenErrorCode, TokenEvent, TokenResponse,
    TokenStore, run_blocking,
};
use crate::{
    Authentication, ClientId, TokenAnswer, TokenHttpRequest, TraceIds, provisional,
    tracing::RequestId,
};
use crate::{PersonOutcome, PersonRefusal, Subject};
use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::SystemTime;

/// The ZA GW's flow cookie (`__Host-` prefix; `HttpOnly`, `Secure`, `SameSite=Lax`). It holds
/// a random binding secret; the flow id travels in the URL (`?flow=`), and a step is taken
/// only when the cookie matches the flow (RFC 6819 4.4.1.8, 4.4.1.10).
pub const ZA_COOKIE: &str = "__Host-medmij-flow";

/// The host's implementations of the ZA GW seams.
#[derive(Debug, Clone)]
pub struct ZaHooks<A, D, U, B, L, P = DefaultPages> {
    /// Authentication of the person (MedMij OAUTH-18).
    pub authenticator: A,
    /// The data-availability and eligibility check (OAUTH-11, OAUTH-15).
    pub data: D,
    /// The consent page and decision (CONSENT-1).
    pub consent: U,
    /// The FHIR back end (OAUTH-13).
    pub fhir: B,
    /// The audit sink (LOG-1).
    pub audit: L,
    /// Pages for the person.
    pub pages: P,
}

/// Settings of the ZA GW router.
#[derive(Debug, Clone)]
pub struct ZaSettings {
    /// The path the router is nested under (for URLs in pages and callbacks), without a
    /// trailing `/`; default `""`.
    pub mount: String,
    /// Largest body of a front-channel or token request ([`DEFAULT_BODY_LIMIT`], 16 KiB).
    pub body_limit: usize,
    /// Largest body of a FHIR write ([`DEFAULT_FHIR_BODY_LIMIT`], 4 MiB).
    pub fhir_body_limit: usize,
    /// The time source ([`Clock::system`]).
    pub clock: Clock,
    /// How often, at most, a new flow's admission sweeps the flow store for abandoned flows
    /// first ([`DEFAULT_SWEEP_INTERVAL`], 1 s). Each sweep is two statements on a database
    /// store; [`ZaGateway::expire_flows`] sweeps regardless.
    pub sweep_interval: std::time::Duration,
}

impl Default for ZaSettings {
    fn default() -> Self {
        Self {
            mount: String::new(),
            body_limit: DEFAULT_BODY_LIMIT,
            fhir_body_limit: DEFAULT_FHIR_BODY_LIMIT,
            clock: Clock::system(),
            sweep_interval: DEFAULT_SWEEP_INTERVAL,
        }
    }
}

/// A pending ZA GW flow as stored: the core session and the hash of the browser's binding.
#[derive(serde::Serialize, serde::Deserialize)]
struct ZaFlow {
    session: Session,
    binding: String,
}

/// A pending consent-management visit as stored (MedMij OAUTH-22).
#[derive(serde::Serialize, serde::Deserialize)]
struct MgmtFlow {
    binding: String,
    client_id: ClientId,
    /// `redirect_uri` with `state`, validated by the core.
    back: String,
    request_id: String,
    correlation_id: String,
    subject: Option<String>,
}

impl MgmtFlow {
    fn trace(&self) -> Option<TraceIds> {
        TraceIds::parse(Some(&self.request_id), Some(&self.correlation_id)).ok()
    }
}

/// A stored value bound to the browser's flow cookie.
trait Bound: Serialize + DeserializeOwned + Send + 'static {
    fn binding(&self) -> &str;
}

impl Bound for ZaFlow {
    fn binding(&self) -> &str {
        &self.binding
    }
}

impl Bound for MgmtFlow {
    fn binding(&self) -> &str {
        &self.binding
    }
}

/// The method's name for a chain-monitoring step (MedMij LOG-6).
fn method_name(m: &http::Method) -> &'static str {
    if m == http::Method::GET {
        "GET"
    } else if m == http::Method::PUT {
        "PUT"
    } else {
        "POST"
    }
}

/// The path (below the mount) of a step of the front channel, for its chain-monitoring step
/// (MedMij LOG-6).
fn flow_path(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Authorize => "/authorize",
        Endpoint::Login => "/authorize/login",
        _ => "/authorize/consent",
    }
}

/// The OAuth `error` of an error redirect (MedMij OAUTH-12 cases 2 to 5).
fn redirect_error(case: u8) -> &'static str {
    if case == 2 {
        "unauthorized_client"
    } else {
        "access_denied"
    }
}

fn binding_hash(cookie: &str) -> Option<String> {
    let id = FlowId::parse(cookie)?;
    Some(
        id.hash()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

/// The ZA GW as an axum router (see the [module notes](super)). Cheap to clone.
pub struct ZaGateway<S, C, F, A, D, U, B, L, P = DefaultPages> {
    // One generic per host seam: the type is long, but a host never writes it out.
    #[allow(clippy::type_complexity)]
    inner: Arc<Za<S, C, F, A, D, U, B, L, P>>,
}

impl<S, C, F, A, D, U, B, L, P> Clone for ZaGateway<S, C, F, A, D, U, B, L, P> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S, C, F, A, D, U, B, L, P> std::fmt::Debug for ZaGateway<S, C, F, A, D, U, B, L, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZaGateway")
            .field("mount", &self.inner.settings.mount)
            .finish_non_exhaustive()
    }
}

struct Za<S, C, F, A, D, U, B, L, P> {
    server: AsyncAuthorizationServer<S, C>,
    flows: Arc<PendingFlows<F>>,
    hooks: ZaHooks<A, D, U, B, L, P>,
    settings: ZaSettings,
    /// When the last admission's sweep started, for [`ZaSettings::sweep_interval`].
    last_sweep: SweepGate,
}

/// A step's flow, taken from the store.
struct Taken<T = ZaFlow> {
    id: FlowId,
    owner: FlowOwner,
    flow: T,
    /// The flow expired before this step (not swept yet): the step ends it (MedMij
    /// OAUTH-12 case 5) instead of continuing it.
    expired: bool,
}

impl<S, C, F, A, D, U, B, L, P> ZaGateway<S, C, F, A, D, U, B, L, P>
where
    S: TokenStore + Send + Sync + 'static,
    C: ClientRegistry + Send + Sync + 'static,
    F: FlowStore + Send + Sync + 'static,
    A: Authenticator,
    D: DataAvailability,
    U: ConsentUi,
    B: FhirBackend,
    L: AuditSink,
    P: Pages,
{
    /// A gateway on `server` (its token store and OCL) and `flows` (pending flows with their
    /// [`FlowLimits`](crate::FlowLimits)), with the host's hooks.
    pub fn new(
        server: AsyncAuthorizationServer<S, C>,
        flows: PendingFlows<F>,
        hooks: ZaHooks<A, D, U, B, L, P>,
        settings: ZaSettings,
    ) -> Self {
        Self {
            inner: Arc::new(Za {
                server,
                flows: Arc::new(flows),
                hooks,
                settings,
                last_sweep: SweepGate::default(),
            }),
        }
    }

    /// The router: `GET /authorize`, `GET|POST /authorize/login`, `GET|POST /authorize/consent`,
    /// `POST /token`, `GET|POST|PUT /fhir/{*path}`. Nest it under [`ZaSettings::mount`].
    pub fn router(&self) -> Router {
        let (a, l, c, t, r, p) = (
            Arc::clone(&self.inner),
            Arc::clone(&self.inner),
            Arc::clone(&self.inner),
            Arc::clone(&self.inner),
            Arc::clone(&self.inner),
            Arc::clone(&self.inner),
        );
        let login = move |req: Request| {
            let g = Arc::clone(&l);
            async move { g.login(req).await }
        };
        let resource = move |req: Request| {
            let g = Arc::clone(&r);
            async move { g.resource(req).await }
        };
        Router::new()
            .route(
                "/authorize",
                get(move |req: Request| {
                    let g = Arc::clone(&a);
                    async move { g.authorize(req).await }
                }),
            )
            .route("/authorize/login", get(login.clone()).post(login))
            .route(
                "/authorize/consent",
                get(move |req: Request| {
                    let g = Arc::clone(&p);
                    async move { g.consent_page(req).await }
                })
                .post(move |req: Request| {
                    let g = Arc::clone(&c);
                    async move { g.consent(req).await }
                }),
            )
            .route(
                "/token",
                post(move |req: Request| {
                    let g = Arc::clone(&t);
                    async move { g.token(req).await }
                }),
            )
            .route(
                "/fhir/{*path}",
                get(resource.clone()).post(resource.clone()).put(resource),
            )
            .merge(self.management_router())
    }

    /// The consent-management routes (MedMij OAUTH-22), at the provisional path next to the
    /// authorization endpoint ([`V2Config::consent_management_path`](crate::V2Config)):
    /// `GET /toestemmingen`, `GET|POST /toestemmingen/login`, `POST /toestemmingen/withdraw`.
    fn management_router(&self) -> Router {
        let base = format!(
            "/{}",
            self.inner
                .server
                .inner()
                .v2_config()
                .consent_management_path
        );
        let (m, l, w) = (
            Arc::clone(&self.inner),
            Arc::clone(&self.inner),
            Arc::clone(&self.inner),
        );
        let login = move |req: Request| {
            let g = Arc::clone(&l);
            async move { g.manage_login(req).await }
        };
        Router::new()
            .route(
                &base,
                get(move |req: Request| {
                    let g = Arc::clone(&m);
                    async move { g.manage(req).await }
                }),
            )
            .route(&format!("{base}/login"), get(login.clone()).post(login))
            .route(
                &format!("{base}/withdraw"),
                post(move |req: Request| {
                    let g = Arc::clone(&w);
                    async move { g.manage_withdraw(req).await }
                }),
            )
    }

    /// The authorization server (for sweeping its store, for example).
    pub fn server(&self) -> &AsyncAuthorizationServer<S, C> {
        &self.inner.server
    }

    /// The pending flows (for sweeping, for example through [`run_blocking`]).
    pub fn flows(&self) -> &Arc<PendingFlows<F>> {
        &self.inner.flows
    }

    /// Sweeps the flow store and audits each flow that expired unfinished as one
    /// [`Endpoint::FlowExpired`] event (MedMij OAUTH-12 case 5, LOG-1); returns how many. The
    /// gateway does this at every new flow too; call it on a timer so that a quiet gateway
    /// also reports abandoned flows. Every flow is reported exactly once, by this sweep or by
    /// the late step that ends it within [`FlowLimits::grace`](crate::FlowLimits::grace).
    pub async fn expire_flows(&self) -> usize {
        self.inner.report_expired(true).await
    }
}

impl<S, C, F, A, D, U, B, L, P> Za<S, C, F, A, D, U, B, L, P>
where
    S: TokenStore + Send + Sync + 'static,
    C: ClientRegistry + Send + Sync + 'static,
    F: FlowStore + Send + Sync + 'static,
    A: Authenticator,
    D: DataAvailability,
    U: ConsentUi,
    B: FhirBackend,
    L: AuditSink,
    P: Pages,
{
    async fn audit(&self, event: AuditEvent) {
        self.hooks.audit.record(event).await;
    }

    /// The audit event of a flow that expired unfinished ([`Endpoint::FlowExpired`], MedMij
    /// OAUTH-12 case 5, LOG-1), with the client, person and tracing identifiers of its
    /// session when it is a ZA GW flow.
    fn expired_event(&self, flow: &ExpiredFlow, now: SystemTime) -> AuditEvent {
        let session = serde_json::from_str::<ZaFlow>(&flow.data)
            .ok()
            .map(|f| f.session);
        let stage = match session.as_ref().map(Session::stage) {
            Some(SessionStage::AwaitingAuthentication) => "while authenticating",
            Some(SessionStage::AwaitingDataCheck) => "during the data-availability check",
            Some(SessionStage::AwaitingConsent | SessionStage::ReadyToIssue) => {
                "on the consent page"
            }
            Some(SessionStage::Finished) => "after it ended",
            None => "(consent management)",
        };
        let mut e = AuditEvent::new(
            now,
            flow.owner.source,
            Endpoint::FlowExpired,
            false,
            format!("the flow expired unfinished, left {stage} (abandoned)"),
        );
        e.case = Some(5);
        e.client_id = Some(flow.owner.client_id.clone());
        if let Some(s) = &session {
            e.subject = s.subject().cloned();
            e.trace = s.request().v2().map(|v| v.trace);
        }
        e
    }

    /// Sweeps the flow store and audits every flow that expired unfinished, once
    /// ([`Endpoint::FlowExpired`]); returns how many. A store that fails is retried at the
    /// next sweep (its flows stay unreported).
    ///
    /// Unless `force`d, this sweeps only if [`ZaSettings::sweep_interval`] has passed since the
    /// last sweep started, and only one task at a time.
    async fn report_expired(&self, force: bool) -> usize {
        let now = self.settings.clock.now();
        let every = self.settings.sweep_interval;
        let expired = sweep_expired(&self.flows, &self.last_sweep, every, force, now).await;
        for f in &expired {
            self.audit(self.expired_event(f, now)).await;
        }
        expired.len()
    }

    fn info(id: &FlowId, session: &Session) -> FlowInfo {
        let r = session.request();
        FlowInfo {
            flow_id: id.secret_text(),
            client_id: r.client_id().clone(),
            redirect_uri: r.redirect_uri().to_owned(),
            scope: r.scope().clone(),
            use_case: r.use_case(),
            subject: session.subject().cloned(),
            release: r.release(),
            trace: r.v2().map(|v| v.trace),
        }
    }

    /// A chain-monitoring step of this gateway (MedMij LOG-6).
    #[allow(
        clippy::too_many_arguments,
        reason = "the fields every step has; the optional ones are set by the caller"
    )]
    fn step(
        &self,
        kind: ChainStepKind,
        success: bool,
        trace: TraceIds,
        method: &'static str,
        path: &str,
        client: &ClientId,
    ) -> ChainStep {
        ChainStep {
            at: self.settings.clock.now(),
            actor: ChainActor::ZaGateway,
            kind,
            success,
            trace,
            method,
            endpoint: format!("{}{path}", self.settings.mount),
            client_id: client.clone(),
            grant_type: None,
            aanbieder: None,
            gegevensdienst: None,
            status: None,
            error: None,
            description: None,
        }
    }

    /// A step of a 2.x front-channel flow (none for 1.x).
    async fn flow_step(
        &self,
        session: &Session,
        kind: ChainStepKind,
        success: bool,
        (method, path): (&'static str, &str),
        error: Option<(&'static str, String)>,
    ) {
        let r = session.request();
        let Some(v2) = r.v2() else { return };
        let mut step = self.step(kind, success, v2.trace, method, path, r.client_id());
        step.aanbieder = Some(r.scope().zorgaanbieder().clone());
        if let Some((code, description)) = error {
            step.error = Some(code);
            step.description = Some(description);
        }
        self.hooks.audit.chain(step).await;
    }

    fn flow_url(&self, step: &str, id: &FlowId) -> String {
        format!(
            "{}/authorize/{step}?flow={}",
            self.settings.mount,
            id.secret_text()
        )
    }

    /// The event for a step of flow `session`.
    fn event(
        &self,
        inc: &Incoming,
        endpoint: Endpoint,
        session: Option<&Session>,
        success: bool,
        case: Option<u8>,
        detail: impl Into<String>,
    ) -> AuditEvent {
        let mut e = AuditEvent::new(
            self.settings.clock.now(),
            inc.source(),
            endpoint,
            success,
            detail,
        );
        e.case = case;
        if let Some(s) = session {
            e.client_id = Some(s.request().client_id().clone());
            e.subject = s.subject().cloned();
            e.trace = s.request().v2().map(|v| v.trace);
        }
        e
    }

    /// A redirect that ends the flow (clears the cookie), after auditing it; its chain step
    /// (MedMij LOG-6) names the request `inc` that ended it.
    async fn finish(
        &self,
        inc: &Incoming,
        session: &Session,
        redirect: Redirect,
        mut event: AuditEvent,
    ) -> Response {
        event.case = event.case.or(redirect.case_number());
        if event.client_id.is_none() {
            event.client_id = Some(session.request().client_id().clone());
        }
        let endpoint = flow_path(event.endpoint);
        if let Some(case) = redirect.case_number() {
            let error = (redirect_error(case), event.detail.clone());
            self.flow_step(
                session,
                ChainStepKind::AuthorizationRequestError,
                false,
                (method_name(&inc.method), endpoint),
                Some(error),
            )
            .await;
        }
        self.audit(event).await;
        with_header(
            respond(HttpResponse::from(&redirect)),
            http::header::SET_COOKIE,
            &set_cookie(ZA_COOKIE, None, 0),
        )
    }

    /// Ends a broken flow as MedMij OAUTH-12 case 5.
    async fn fail(
        &self,
        inc: &Incoming,
        endpoint: Endpoint,
        mut session: Session,
        detail: &str,
    ) -> Response {
        let event = self.event(inc, endpoint, Some(&session), false, Some(5), detail);
        match session.fail() {
            Ok(redirect) => self.finish(inc, &session, redirect, event).await,
            Err(_) => {
                self.audit(event).await;
                page(400, self.hooks.pages.flow_unknown())
            }
        }
    }

    /// A technical failure of a flow (MedMij OAUTH-23): a 2.x flow ends on the ZA GW's own
    /// page with its Trace ID and Session ID and the way back (an OAUTH-12 case 5 redirect);
    /// a 1.x flow as [`Za::fail`]. `stage` is the provisional `error_description` text.
    async fn fail_technical(
        &self,
        inc: &Incoming,
        endpoint: Endpoint,
        mut session: Session,
        detail: &str,
        stage: &str,
    ) -> Response {
        if session.request().v2().is_none() {
            return self.fail(inc, endpoint, session, detail).await;
        }
        let event = self.event(inc, endpoint, Some(&session), false, Some(5), detail);
        self.audit(event).await;
        let path = flow_path(endpoint);
        let error = Some(("access_denied", stage.to_owned()));
        self.flow_step(
            &session,
            ChainStepKind::AuthorizationRequestError,
            false,
            (method_name(&inc.method), path),
            error,
        )
        .await;
        let failure = session.technical_failure();
        let r = page(503, self.hooks.pages.technical_failure(&failure));
        with_header(r, http::header::SET_COOKIE, &set_cookie(ZA_COOKIE, None, 0))
    }

    /// Takes the flow named by `?flow=` if this browser's cookie is bound to it.
    async fn take(&self, inc: &Incoming, endpoint: Endpoint) -> Result<Taken, Response> {
        self.take_as::<ZaFlow>(inc, endpoint).await
    }

    /// [`Za::take`] for any bound flow value.
    async fn take_as<T: Bound>(
        &self,
        inc: &Incoming,
        endpoint: Endpoint,
    ) -> Result<Taken<T>, Response> {
        let refuse = |detail: &'static str| {
            let mut e = AuditEvent::new(
                self.settings.clock.now(),
                inc.source(),
                endpoint,
                false,
                detail,
            );
            e.case = Some(5);
            e
        };
        let Some(id) = inc.query_param("flow").and_then(|f| FlowId::parse(&f)) else {
            self.audit(refuse("no or malformed flow id")).await;
            return Err(page(400, self.hooks.pages.flow_unknown()));
        };
        let now = self.settings.clock.now();
        let flows = Arc::clone(&self.flows);
        let id2 = id;
        let resumed = run_blocking(move || flows.resume_late::<T>(&id2, now)).await;
        let (resumed, lateness) = match resumed {
            Ok(Ok(Some(r))) => r,
            Ok(Ok(None)) => {
                self.audit(refuse("unknown, finished or expired flow"))
                    .await;
                return Err(page(400, self.hooks.pages.flow_unknown()));
            }
            Ok(Err(FlowError::Corrupt(_))) => {
                self.audit(refuse("stored flow unreadable")).await;
                return Err(page(400, self.hooks.pages.flow_unknown()));
            }
            Ok(Err(_)) | Err(_) => {
                self.audit(refuse("flow store unavailable")).await;
                return Err(unavailable_page(&self.hooks.pages));
            }
        };
        if lateness == Lateness::LateUnreported {
            // The one report of this flow's expiry (the sweep will not see it again).
            let data = serde_json::to_string(&resumed.value).unwrap_or_default();
            let expired = ExpiredFlow {
                owner: resumed.owner.clone(),
                data,
                expired_at: now,
            };
            self.audit(self.expired_event(&expired, now)).await;
        }
        let expired = lateness.expired();
        let bound = inc
            .cookie(ZA_COOKIE)
            .and_then(|c| binding_hash(&c))
            .is_some_and(|h| h == resumed.value.binding());
        if !bound {
            // Not this browser's flow: put it back untouched, so a stranger who learnt the
            // flow id can neither take nor end the person's flow (an expired one stays gone:
            // putting it back would give it another ttl).
            if !expired {
                let flows = Arc::clone(&self.flows);
                let (owner, value) = (resumed.owner, resumed.value);
                let _ = run_blocking(move || flows.save(&id, &owner, &value, now)).await;
            }
            self.audit(refuse("flow cookie missing or not bound to this flow"))
                .await;
            return Err(page(400, self.hooks.pages.flow_unknown()));
        }
        Ok(Taken {
            id,
            owner: resumed.owner,
            flow: resumed.value,
            expired,
        })
    }

    /// Takes the flow named by `?flow=` for a step at `endpoint`; a flow that expired before
    /// this step is ended here as MedMij OAUTH-12 case 5 (a redirect with `access_denied`
    /// "Authorization failed.", audited), as every other missing flow is refused.
    async fn take_live(&self, inc: &Incoming, endpoint: Endpoint) -> Result<Taken, Response> {
        let t = self.take(inc, endpoint).await?;
        if t.expired {
            let detail = "the flow expired before this step (abandoned)";
            return Err(self.fail(inc, endpoint, t.flow.session, detail).await);
        }
        Ok(t)
    }

    async fn save_as<T: Bound>(&self, id: FlowId, owner: FlowOwner, value: T) -> bool {
        let flows = Arc::clone(&self.flows);
        let now = self.settings.clock.now();
        matches!(
            run_blocking(move || flows.save(&id, &owner, &value, now)).await,
            Ok(Ok(()))
        )
    }

    async fn save(&self, t: &Taken) -> bool {
        let flows = Arc::clone(&self.flows);
        let (id, owner) = (t.id, t.owner.clone());
        let flow = ZaFlow {
            session: t.flow.session.clone(),
            binding: t.flow.binding.clone(),
        };
        let now = self.settings.clock.now();
        matches!(
            run_blocking(move || flows.save(&id, &owner, &flow, now)).await,
            Ok(Ok(()))
        )
    }

    /// `GET /authorize`: the authorization request (MedMij OAUTH-11).
    async fn authorize(&self, req: Request) -> Response {
        let inc = Incoming::read(req, self.settings.body_limit).await;
        let session = match self.server.authorize(inc.view.query.clone()).await {
            Ok(Ok(s)) => s,
            Ok(Err(invalid)) => {
                let e = self.event(
                    &inc,
                    Endpoint::Authorize,
                    None,
                    false,
                    Some(1),
                    invalid.description(),
                );
                let trace = invalid.trace().copied();
                let mut e = e;
                e.trace = trace;
                self.audit(e).await;
                // MedMij LOG-6: a 2.x request whose identifiers were valid (the client may be
                // the invalid part: it is named only when listed in the query as sent).
                let client = inc
                    .query_param("client_id")
                    .and_then(|c| ClientId::new(&c).ok());
                if let (Some(trace), Some(client)) = (trace, client) {
                    let mut step = self.step(
                        ChainStepKind::AuthorizationRequestError,
                        false,
                        trace,
                        "GET",
                        "/authorize",
                        &client,
                    );
                    step.status = Some(invalid.status());
                    step.error = Some(invalid.error());
                    step.description = Some(invalid.description());
                    self.hooks.audit.chain(step).await;
                }
                return page(invalid.status(), self.hooks.pages.invalid_request(&invalid));
            }
            Err(_) => {
                let e = self.event(&inc, Endpoint::Authorize, None, false, None, "task failed");
                self.audit(e).await;
                return unavailable_page(&self.hooks.pages);
            }
        };
        self.flow_step(
            &session,
            ChainStepKind::ReceiveAuthorizationRequest,
            true,
            ("GET", "/authorize"),
            None,
        )
        .await;
        // MedMij LISTS-13, LISTS-10: only what this gateway serves now; else case 1.
        let now = self.settings.clock.now();
        let scope = session.request().scope();
        let za = scope.zorgaanbieder();
        if let Some(gd) = scope
            .gegevensdiensten()
            .iter()
            .find(|gd| !self.hooks.fhir.serves(za, gd, now))
        {
            let detail = format!(
                "Gegevensdienst {} of {} is not served at this gateway (LISTS-13)",
                gd.as_str(),
                za.as_str()
            );
            let html = self.hooks.pages.not_served(za.as_str(), gd.as_str());
            let e = self.event(
                &inc,
                Endpoint::Authorize,
                Some(&session),
                false,
                Some(1),
                detail.clone(),
            );
            self.audit(e).await;
            self.flow_step(
                &session,
                ChainStepKind::AuthorizationRequestError,
                false,
                ("GET", "/authorize"),
                Some(("invalid_request", detail)),
            )
            .await;
            return page(400, html);
        }
        let binding = FlowId::random(&ThreadRandom);
        let flow = ZaFlow {
            session: session.clone(),
            binding: binding_hash(&binding.secret_text()).unwrap_or_default(),
        };
        let owner = FlowOwner {
            client_id: session.request().client_id().clone(),
            source: inc.source(),
        };
        // Flows abandoned since the last sweep are reported before a new one is admitted
        // (MedMij OAUTH-12 case 5, LOG-1).
        self.report_expired(false).await;
        let now = self.settings.clock.now();
        let flows = Arc::clone(&self.flows);
        let opened = run_blocking(move || flows.open(&owner, &flow, &ThreadRandom, now)).await;
        let id = match opened {
            Ok(Ok(id)) => id,
            Ok(Err(FlowError::Busy(busy))) => {
                let e = self.event(
                    &inc,
                    Endpoint::Authorize,
                    Some(&session),
                    false,
                    None,
                    busy.to_string(),
                );
                self.audit(e).await;
                return busy_page(&self.hooks.pages, &busy);
            }
            Ok(Err(_)) | Err(_) if session.request().v2().is_some() => {
                return self
                    .fail_technical(
                        &inc,
                        Endpoint::Authorize,
                        session,
                        "flow store unavailable",
                        "flow store unavailable",
                    )
                    .await;
            }
            Ok(Err(_)) | Err(_) => {
                let e = self.event(
                    &inc,
                    Endpoint::Authorize,
                    Some(&session),
                    false,
                    None,
                    "flow store unavailable",
                );
                self.audit(e).await;
                return unavailable_page(&self.hooks.pages);
            }
        };
        let info = Self::info(&id, &session);
        let start = self
            .hooks
            .authenticator
            .start_answer(&info, &self.flow_url("login", &id))
            .await;
        let e = self.event(
            &inc,
            Endpoint::Authorize,
            Some(&session),
            true,
            None,
            "flow opened; authentication started",
        );
        self.audit(e).await;
        self.flow_step(
            &session,
            ChainStepKind::SendAuthenticationRequest,
            true,
            ("GET", "/authorize"),
            None,
        )
        .await;
        let ttl = self.flows.limits().ttl;
        with_flow_cookie(host_answer(start), ZA_COOKIE, &binding.secret_text(), ttl)
    }

    /// `GET|POST /authorize/login`: the authenticator's callback, the data check and the
    /// consent page (MedMij OAUTH-11, OAUTH-18, CONSENT-1).
    async fn login(&self, req: Request) -> Response {
        let inc = Incoming::read(req, self.settings.body_limit).await;
        let mut t = match self.take_live(&inc, Endpoint::Login).await {
            Ok(t) => t,
            Err(r) => return r,
        };
        if t.flow.session.stage() == SessionStage::AwaitingConsent {
            // The callback again (a reload, or the back button): the same consent page, no
            // second authentication; the cookie ties it to this browser.
            return self.ask_consent(&inc, &t, "consent page shown again").await;
        }
        if t.flow.session.stage() != SessionStage::AwaitingAuthentication {
            return self
                .fail(
                    &inc,
                    Endpoint::Login,
                    t.flow.session,
                    "login step out of order",
                )
                .await;
        }
        let info = Self::info(&t.id, &t.flow.session);
        let step = match self
            .hooks
            .authenticator
            .complete_person(&info, &inc.view)
            .await
        {
            PersonAuthentication::Basic(auth) => t.flow.session.authenticated(auth),
            // MedMij OAUTH-18, OAUTH-15: level and age, before the data check.
            PersonAuthentication::Person(person) => {
                let subject = person.subject().clone();
                let now = self.settings.clock.now();
                let server = self.server.inner();
                match server.authenticated_person(&mut t.flow.session, person, now) {
                    Ok(PersonOutcome::Proceed) => Ok(None),
                    Ok(PersonOutcome::Ended(redirect, refusal)) => {
                        return self
                            .refuse_person(&inc, &t.flow.session, subject, redirect, refusal)
                            .await;
                    }
                    Err(e) => Err(e),
                }
            }
        };
        let established = matches!(step, Ok(None));
        let kind = if established {
            ChainStepKind::ReceiveAuthenticationResponse
        } else {
            ChainStepKind::AuthenticationResponseError
        };
        let error = (!established).then(|| {
            (
                "unauthorized_client",
                provisional::failure_description::AUTHENTICATION_FAILED.to_owned(),
            )
        });
        self.flow_step(
            &t.flow.session,
            kind,
            established,
            (method_name(&inc.method), "/authorize/login"),
            error,
        )
        .await;
        t.flow.session = match self
            .after_login_step(
                &inc,
                t.flow.session,
                step,
                "identity not established",
                "login step out of order",
            )
            .await
        {
            Ok(session) => session,
            Err(r) => return r,
        };
        let info = Self::info(&t.id, &t.flow.session);
        let Some(subject) = info.subject.clone() else {
            return self
                .fail(&inc, Endpoint::Login, t.flow.session, "no subject")
                .await;
        };
        let available = match self.hooks.data.available(&subject, &info).await {
            Ok(a) => a,
            Err(err) => {
                let detail = format!("data-availability check failed: {err}");
                let stage = provisional::failure_description::AVAILABILITY_CHECK_FAILED;
                return self
                    .fail_technical(&inc, Endpoint::Login, t.flow.session, &detail, stage)
                    .await;
            }
        };
        let step = t.flow.session.data_available(available);
        t.flow.session = match self
            .after_login_step(
                &inc,
                t.flow.session,
                step,
                "no data of this person for this scope",
                "data step out of order",
            )
            .await
        {
            Ok(session) => session,
            Err(r) => return r,
        };
        self.ask_consent(&inc, &t, "authenticated; consent asked")
            .await
    }

    /// The end of a step of the login callback (MedMij OAUTH-11): the session back when the
    /// flow goes on; else the answer that ends it: the core's redirect (audited as `ended`,
    /// OAUTH-12) or, for a step out of order, the flow's failure (case 5, audited as
    /// `out_of_order`).
    async fn after_login_step<E>(
        &self,
        inc: &Incoming,
        session: Session,
        step: Result<Option<Redirect>, E>,
        ended: &str,
        out_of_order: &str,
    ) -> Result<Session, Response> {
        match step {
            Ok(None) => Ok(session),
            Ok(Some(redirect)) => {
                let e = self.event(inc, Endpoint::Login, Some(&session), false, None, ended);
                Err(self.finish(inc, &session, redirect, e).await)
            }
            Err(_) => Err(self.fail(inc, Endpoint::Login, session, out_of_order).await),
        }
    }

    /// Ends the flow right after authentication (MedMij OAUTH-18 case 2, OAUTH-15 case 3). A
    /// person under 16 first sees the [`Pages::not_eligible`] page, whose link "Terug naar uw
    /// PGO" is the case 3 redirect; the client learns only `No such resources.`.
    async fn refuse_person(
        &self,
        inc: &Incoming,
        session: &Session,
        subject: Subject,
        redirect: Redirect,
        refusal: PersonRefusal,
    ) -> Response {
        let detail = match refusal {
            PersonRefusal::AssuranceTooLow { reached, minimum } => format!(
                "assurance level {reached:?} below the Zorgaanbieder's minimum {minimum:?} (OAUTH-18)"
            ),
            PersonRefusal::UnderMinimumAge => "person under 16 (OAUTH-15)".to_owned(),
        };
        let mut e = self.event(inc, Endpoint::Login, Some(session), false, None, detail);
        e.subject = Some(subject);
        if refusal != PersonRefusal::UnderMinimumAge {
            return self.finish(inc, session, redirect, e).await;
        }
        e.case = redirect.case_number();
        self.audit(e).await;
        let html = self.hooks.pages.not_eligible(redirect.location());
        // The link leaves for the PGO: no Referer with this callback's URL.
        let r = with_header(
            page(200, html),
            http::header::REFERRER_POLICY,
            "no-referrer",
        );
        with_header(r, http::header::SET_COOKIE, &set_cookie(ZA_COOKIE, None, 0))
    }

    /// Puts the flow back and shows the consent page (MedMij CONSENT-1).
    async fn ask_consent(&self, inc: &Incoming, t: &Taken, detail: &str) -> Response {
        let info = Self::info(&t.id, &t.flow.session);
        let action = self.flow_url("consent", &t.id);
        let html = match self.hooks.consent.try_render_page(&info, &action).await {
            Ok(page) => page,
            Err(err) => {
                // MedMij OAUTH-12 case 5: the question cannot be asked, so the answer cannot
                // be established; the flow is not put back.
                let detail = format!("the consent page could not be made: {err}");
                let session = t.flow.session.clone();
                return self
                    .fail_technical(
                        inc,
                        Endpoint::Login,
                        session,
                        &detail,
                        "consent page failed",
                    )
                    .await;
            }
        };
        if !self.save(t).await {
            let e = self.event(
                inc,
                Endpoint::Login,
                Some(&t.flow.session),
                false,
                None,
                "flow store unavailable",
            );
            self.audit(e).await;
            return unavailable_page(&self.hooks.pages);
        }
        let e = self.event(
            inc,
            Endpoint::Login,
            Some(&t.flow.session),
            true,
            None,
            detail,
        );
        self.audit(e).await;
        self.flow_step(
            &t.flow.session,
            ChainStepKind::ShowLandingPage,
            true,
            (method_name(&inc.method), "/authorize/consent"),
            None,
        )
        .await;
        host_page(200, html)
    }

    /// `GET /authorize/consent`: the consent page again (a reload), for this browser's flow
    /// while it waits for the decision.
    async fn consent_page(&self, req: Request) -> Response {
        let inc = Incoming::read(req, self.settings.body_limit).await;
        let t = match self.take_live(&inc, Endpoint::Consent).await {
            Ok(t) => t,
            Err(r) => return r,
        };
        if t.flow.session.stage() != SessionStage::AwaitingConsent {
            let detail = "consent page asked out of order";
            return self
                .fail(&inc, Endpoint::Consent, t.flow.session, detail)
                .await;
        }
        self.ask_consent(&inc, &t, "consent page shown again").await
    }

    /// `POST /authorize/consent`: the decision, and the code redirect (MedMij CONSENT-3,
    /// OAUTH-6, OAUTH-10, OAUTH-12 cases 4 and 5).
    async fn consent(&self, req: Request) -> Response {
        let inc = Incoming::read(req, self.settings.body_limit).await;
        let mut t = match self.take_live(&inc, Endpoint::Consent).await {
            Ok(t) => t,
            Err(r) => return r,
        };
        let info = Self::info(&t.id, &t.flow.session);
        let decision = self.hooks.consent.decision(&info, &inc.view).await;
        // MedMij CONSENT-6, OAUTH-19: the period chosen on the 2.x screen (1.x: this flow).
        let period = self.hooks.consent.period(&info, &inc.view).await;
        let now = self.settings.clock.now();
        let outcome = match t.flow.session.consent_with(decision, period, now) {
            Ok(o) => o,
            Err(_) => {
                return self
                    .fail(
                        &inc,
                        Endpoint::Consent,
                        t.flow.session,
                        "consent step out of order",
                    )
                    .await;
            }
        };
        match outcome {
            ConsentOutcome::Granted(ev) => {
                let mut e = self.event(
                    &inc,
                    Endpoint::Consent,
                    Some(&t.flow.session),
                    true,
                    None,
                    "consent granted",
                );
                e.consent = Some(ev);
                self.audit(e).await;
                let session = t.flow.session;
                match self
                    .server
                    .issue_code(session, self.settings.clock.now())
                    .await
                {
                    Ok((session, Ok(redirect))) => {
                        let e = self.event(
                            &inc,
                            Endpoint::Consent,
                            Some(&session),
                            true,
                            None,
                            "code issued",
                        );
                        self.finish(&inc, &session, redirect, e).await
                    }
                    Ok((session, Err(err))) => {
                        let detail = format!("code not issued: {err}");
                        self.fail_technical(
                            &inc,
                            Endpoint::Consent,
                            session,
                            &detail,
                            "code not issued",
                        )
                        .await
                    }
                    Err(_) => {
                        let e = self.event(
                            &inc,
                            Endpoint::Consent,
                            None,
                            false,
                            Some(5),
                            "task failed issuing the code",
                        );
                        self.audit(e).await;
                        unavailable_page(&self.hooks.pages)
                    }
                }
            }
            ConsentOutcome::Refused(ev, redirect) => {
                let mut e = self.event(
                    &inc,
                    Endpoint::Consent,
                    Some(&t.flow.session),
                    false,
                    None,
                    "consent refused",
                );
                e.consent = Some(ev);
                self.finish(&inc, &t.flow.session, redirect, e).await
            }
            ConsentOutcome::Undetermined(redirect) => {
                let e = self.event(
                    &inc,
                    Endpoint::Consent,
                    Some(&t.flow.session),
                    false,
                    None,
                    "consent decision could not be established",
                );
                self.finish(&inc, &t.flow.session, redirect, e).await
            }
        }
    }

    /// `POST /token`: the back channel (MedMij OAUTH-3, OAUTH-8, OAUTH-9, OAUTH-12 case 6).
    async fn token(&self, req: Request) -> Response {
        let inc = Incoming::read(req, self.settings.body_limit).await;
        let refuse = |error, reason: &'static str| {
            let mut e = AuditEvent::new(
                self.settings.clock.now(),
                inc.source(),
                Endpoint::Token,
                false,
                reason,
            );
            e.client_id = inc.extensions.get::<MtlsClient>().map(|c| c.0.clone());
            (
                e,
                respond(HttpResponse::from(TokenResponse::Error {
                    error,
                    description: reason,
                })),
            )
        };
        let Some(MtlsClient(client)) = inc.extensions.get::<MtlsClient>().cloned() else {
            let (e, r) = refuse(
                TokenErrorCode::InvalidClient,
                "No client certificate: the token endpoint needs mutual TLS (MedMij OAUTH-3).",
            );
            self.audit(e).await;
            return r;
        };
        if inc.body_refused {
            let (e, r) = refuse(
                TokenErrorCode::InvalidRequest,
                "The body is too large or not UTF-8.",
            );
            self.audit(e).await;
            return r;
        }
        let now = self.settings.clock.now();
        let content_type = inc.header(http::header::CONTENT_TYPE);
        let request_id = inc.header(http::HeaderName::from_static("medmij-request-id"));
        let correlation_id = inc.header(http::HeaderName::from_static("x-correlation-id"));
        // Only the grant type is read here, for the logs; the core reads the whole form.
        let grant = match single_param(&inc.view.body, "grant_type").as_deref() {
            Some("authorization_code") => Some(ChainGrant::AuthorizationCode),
            Some("refresh_token") => Some(ChainGrant::RefreshToken),
            _ => None,
        };
        let body = inc.view.body.clone();
        let c = client.clone();
        // MedMij OAUTH-19, OAUTH-21: one endpoint for both lines; the request's form and its
        // code decide the release, the refresh grant is 2.x only.
        let answered = self
            .server
            .run(move |s| {
                s.token_v2(
                    &TokenHttpRequest {
                        content_type: content_type.as_deref(),
                        body: &body,
                        request_id: request_id.as_deref(),
                        correlation_id: correlation_id.as_deref(),
                    },
                    &c,
                    now,
                )
            })
            .await;
        match answered {
            Ok(out) => {
                let success = matches!(out.event, TokenEvent::Issued { .. });
                let refresh = grant == Some(ChainGrant::RefreshToken);
                let mut e = AuditEvent::new(
                    now,
                    inc.source(),
                    Endpoint::Token,
                    success,
                    match &out.event {
                        TokenEvent::Issued { .. } if refresh => "token refreshed (rotation)",
                        TokenEvent::Issued { .. } => "token issued",
                        TokenEvent::Replay { .. } if refresh => {
                            "refresh token replayed (OAUTH-19 breach): consent chain revoked"
                        }
                        TokenEvent::Replay { .. } => "code replayed (OAUTH-8 breach)",
                        TokenEvent::Refused { reason, .. } => reason,
                    },
                );
                e.case = out.response.case_number();
                e.client_id = Some(client.clone());
                e.trace = out.trace;
                let mut aanbieder = None;
                if let TokenEvent::Issued { subject, scope, .. } = &out.event {
                    e.subject = Some(subject.clone());
                    aanbieder = Some(scope.zorgaanbieder().clone());
                }
                e.token = Some(out.event.clone());
                self.audit(e).await;
                if let Some(trace) = out.trace {
                    let kind = match (refresh, success) {
                        (true, true) => ChainStepKind::ReceiveRefreshTokenRequest,
                        (true, false) => ChainStepKind::RefreshTokenRequestError,
                        (false, true) => ChainStepKind::ReceiveTokenRequest,
                        (false, false) => ChainStepKind::TokenRequestError,
                    };
                    let mut step = self.step(kind, success, trace, "POST", "/token", &client);
                    step.grant_type = grant;
                    step.aanbieder = aanbieder;
                    step.status = Some(out.response.status());
                    if let TokenAnswer::Error { error, description } = &out.response {
                        step.error = Some(error.as_str());
                        step.description = Some((*description).to_owned());
                    }
                    self.hooks.audit.chain(step).await;
                }
                respond(HttpResponse::from(&out).without_500())
            }
            Err(_) => {
                let mut e =
                    AuditEvent::new(now, inc.source(), Endpoint::Token, false, "task failed");
                e.client_id = Some(client);
                self.audit(e).await;
                respond(HttpResponse::temporarily_unavailable())
            }
        }
    }

    fn mgmt_base(&self) -> String {
        format!(
            "{}/{}",
            self.settings.mount,
            self.server.inner().v2_config().consent_management_path
        )
    }

    fn mgmt_event(
        &self,
        inc: &Incoming,
        flow: Option<&MgmtFlow>,
        success: bool,
        detail: &str,
    ) -> AuditEvent {
        let mut e = AuditEvent::new(
            self.settings.clock.now(),
            inc.source(),
            Endpoint::ConsentManagement,
            success,
            detail,
        );
        if let Some(f) = flow {
            e.client_id = Some(f.client_id.clone());
            e.trace = f.trace();
            e.subject = f.subject.as_deref().and_then(|s| Subject::new(s).ok());
        }
        e
    }

    fn mgmt_info(id: &FlowId, flow: &MgmtFlow, trace: TraceIds) -> ManagementInfo {
        ManagementInfo {
            flow_id: id.secret_text(),
            client_id: flow.client_id.clone(),
            trace,
            subject: flow.subject.as_deref().and_then(|s| Subject::new(s).ok()),
        }
    }

    /// `GET /toestemmingen`: the consent-management entry point (MedMij OAUTH-22): the
    /// request is checked as an authorization request's parts (OAUTH-4, OAUTH-21; invalid:
    /// case 1), then the person authenticates (OAUTH-18).
    async fn manage(&self, req: Request) -> Response {
        let inc = Incoming::read(req, self.settings.body_limit).await;
        let query = inc.view.query.clone();
        let m = match self.server.run(move |s| s.consent_management(&query)).await {
            Ok(Ok(m)) => m,
            Ok(Err(invalid)) => {
                let mut e = self.mgmt_event(&inc, None, false, &invalid.description());
                e.case = Some(1);
                e.trace = invalid.trace().copied();
                self.audit(e).await;
                return page(invalid.status(), self.hooks.pages.invalid_request(&invalid));
            }
            Err(_) => {
                let e = self.mgmt_event(&inc, None, false, "task failed");
                self.audit(e).await;
                return unavailable_page(&self.hooks.pages);
            }
        };
        let binding = FlowId::random(&ThreadRandom);
        let flow = MgmtFlow {
            binding: binding_hash(&binding.secret_text()).unwrap_or_default(),
            client_id: m.client_id.clone(),
            back: m.back_location(),
            request_id: m.trace.request_id.to_string(),
            correlation_id: m.trace.correlation_id.to_string(),
            subject: None,
        };
        let owner = FlowOwner {
            client_id: m.client_id.clone(),
            source: inc.source(),
        };
        let now = self.settings.clock.now();
        let flows = Arc::clone(&self.flows);
        let stored = MgmtFlow {
            binding: flow.binding.clone(),
            client_id: flow.client_id.clone(),
            back: flow.back.clone(),
            request_id: flow.request_id.clone(),
            correlation_id: flow.correlation_id.clone(),
            subject: None,
        };
        let id = match run_blocking(move || flows.open(&owner, &stored, &ThreadRandom, now)).await {
            Ok(Ok(id)) => id,
            Ok(Err(FlowError::Busy(busy))) => {
                let e = self.mgmt_event(&inc, Some(&flow), false, &busy.to_string());
                self.audit(e).await;
                return busy_page(&self.hooks.pages, &busy);
            }
            Ok(Err(_)) | Err(_) => {
                let e = self.mgmt_event(&inc, Some(&flow), false, "flow store unavailable");
                self.audit(e).await;
                return unavailable_page(&self.hooks.pages);
            }
        };
        let info = Self::mgmt_info(&id, &flow, m.trace);
        let callback = format!("{}/login?flow={}", self.mgmt_base(), id.secret_text());
        let Some(start) = self
            .hooks
            .authenticator
            .start_management_answer(&info, &callback)
            .await
        else {
            let flows = Arc::clone(&self.flows);
            let _ = run_blocking(move || flows.resume::<MgmtFlow>(&id, now)).await;
            let e = self.mgmt_event(&inc, Some(&flow), false, "consent management not offered");
            self.audit(e).await;
            return page(404, self.hooks.pages.management_not_offered());
        };
        let e = self.mgmt_event(
            &inc,
            Some(&flow),
            true,
            "consent management: authentication started",
        );
        self.audit(e).await;
        let ttl = self.flows.limits().ttl;
        with_flow_cookie(host_answer(start), ZA_COOKIE, &binding.secret_text(), ttl)
    }

    /// Sends the person back to the PGO with `state` (MedMij OAUTH-22) and clears the cookie.
    fn back_to_pgo(back: &str) -> Response {
        with_header(
            respond(HttpResponse::found(back.to_owned())),
            http::header::SET_COOKIE,
            &set_cookie(ZA_COOKIE, None, 0),
        )
    }

    /// `GET|POST /toestemmingen/login`: the authenticator's callback, then the overview of
    /// the person's long-lasting consents for this PGO with the withdrawal form (MedMij
    /// OAUTH-22, CONSENT-6).
    async fn manage_login(&self, req: Request) -> Response {
        let inc = Incoming::read(req, self.settings.body_limit).await;
        let mut t = match self
            .take_as::<MgmtFlow>(&inc, Endpoint::ConsentManagement)
            .await
        {
            Ok(t) => t,
            Err(r) => return r,
        };
        if t.expired {
            // Left too long: the way back to the PGO, nothing changed.
            let e = self.mgmt_event(&inc, Some(&t.flow), false, "visit expired before this step");
            self.audit(e).await;
            return Self::back_to_pgo(&t.flow.back);
        }
        let Some(trace) = t.flow.trace() else {
            let e = self.mgmt_event(&inc, Some(&t.flow), false, "stored visit unreadable");
            self.audit(e).await;
            return page(400, self.hooks.pages.flow_unknown());
        };
        let info = Self::mgmt_info(&t.id, &t.flow, trace);
        let subject = match info.subject.clone() {
            // A reload of the overview: no second authentication.
            Some(s) => s,
            None => match self
                .hooks
                .authenticator
                .complete_management(&info, &inc.view)
                .await
            {
                Authentication::Established(s) => s,
                Authentication::Failed => {
                    let mut e =
                        self.mgmt_event(&inc, Some(&t.flow), false, "identity not established");
                    e.case = Some(2);
                    self.audit(e).await;
                    return Self::back_to_pgo(&t.flow.back);
                }
            },
        };
        let now = self.settings.clock.now();
        let (s2, c2) = (subject.clone(), t.flow.client_id.clone());
        let consents = match self
            .server
            .run(move |s| s.long_lasting_consents(&s2, &c2, now))
            .await
        {
            Ok(Ok(c)) => c,
            Ok(Err(_)) | Err(_) => {
                let e = self.mgmt_event(&inc, Some(&t.flow), false, "token store unavailable");
                self.audit(e).await;
                let failure = crate::TechnicalFailure {
                    trace: Some(trace),
                    back: None,
                };
                return page(503, self.hooks.pages.technical_failure(&failure));
            }
        };
        t.flow.subject = Some(subject.as_str().to_owned());
        let info = Self::mgmt_info(&t.id, &t.flow, trace);
        let detail = format!(
            "consent management: {} long-lasting consents shown",
            consents.len()
        );
        let event = self.mgmt_event(&inc, Some(&t.flow), true, &detail);
        let back = t.flow.back.clone();
        if !self.save_as(t.id, t.owner, t.flow).await {
            let mut e = event;
            e.success = false;
            e.detail = "flow store unavailable".to_owned();
            self.audit(e).await;
            return Self::back_to_pgo(&back);
        }
        let action = format!("{}/withdraw?flow={}", self.mgmt_base(), info.flow_id);
        let html = self
            .hooks
            .consent
            .render_management_page(&info, &consents, &action)
            .await;
        self.audit(event).await;
        host_page(200, html)
    }

    /// `POST /toestemmingen/withdraw`: the confirmed withdrawal (MedMij OAUTH-22): each
    /// consent's refresh-token chain is revoked and logged (CONSENT-3, LOG-1); then the
    /// person goes back to the PGO with `state`.
    async fn manage_withdraw(&self, req: Request) -> Response {
        let inc = Incoming::read(req, self.settings.body_limit).await;
        let t = match self
            .take_as::<MgmtFlow>(&inc, Endpoint::ConsentManagement)
            .await
        {
            Ok(t) => t,
            Err(r) => return r,
        };
        if t.expired {
            // Left too long: the way back to the PGO, nothing changed.
            let e = self.mgmt_event(&inc, Some(&t.flow), false, "visit expired before this step");
            self.audit(e).await;
            return Self::back_to_pgo(&t.flow.back);
        }
        let (Some(trace), Some(subject)) = (
            t.flow.trace(),
            t.flow.subject.as_deref().and_then(|s| Subject::new(s).ok()),
        ) else {
            let e = self.mgmt_event(&inc, Some(&t.flow), false, "withdrawal before login");
            self.audit(e).await;
            return Self::back_to_pgo(&t.flow.back);
        };
        let info = Self::mgmt_info(&t.id, &t.flow, trace);
        let chosen = self.hooks.consent.withdrawals(&info, &inc.view).await;
        if chosen.is_empty() {
            let e = self.mgmt_event(&inc, Some(&t.flow), true, "no withdrawal confirmed");
            self.audit(e).await;
        }
        let now = self.settings.clock.now();
        for id in chosen {
            let (s2, c2) = (subject.clone(), t.flow.client_id.clone());
            let done = self
                .server
                .run(move |s| s.withdraw_consent(&id, &s2, &c2, now))
                .await;
            let mut e = match done {
                Ok(Ok(Some(ev))) => {
                    let mut e = self.mgmt_event(&inc, Some(&t.flow), true, "consent withdrawn");
                    e.withdrawal = Some(ev);
                    e
                }
                Ok(Ok(None)) => {
                    self.mgmt_event(&inc, Some(&t.flow), false, "no such consent in force")
                }
                Ok(Err(_)) | Err(_) => {
                    self.mgmt_event(&inc, Some(&t.flow), false, "token store unavailable")
                }
            };
            e.subject = Some(subject.clone());
            self.audit(e).await;
        }
        Self::back_to_pgo(&t.flow.back)
    }

    /// `/fhir/{*path}`: Bearer check, then the back end (MedMij OAUTH-2, OAUTH-13, OAUTH-17;
    /// OAUTH-12 cases 7 and 8). 2.x (OAUTH-21): a request with tracing headers, and every
    /// request with a token of a 2.x flow, needs both; `MedMij-Request-ID` is echoed.
    async fn resource(&self, req: Request) -> Response {
        // The body is read only after the token check: an anonymous request costs no buffer
        // (MedMij OAUTH-14, RFC 6819 4.4.1.11).
        let (mut inc, body) = Incoming::head(req);
        let path = inc
            .path
            .split_once("/fhir/")
            .map(|(_, p)| p.to_owned())
            .unwrap_or_default();
        let interaction = if inc.method == http::Method::GET {
            Interaction::Read
        } else {
            Interaction::Write
        };
        let method = method_name(&inc.method);
        let now = self.settings.clock.now();
        let request_id = inc.header(http::HeaderName::from_static("medmij-request-id"));
        let correlation_id = inc.header(http::HeaderName::from_static("x-correlation-id"));
        let echo = request_id.as_deref().and_then(|v| RequestId::new(v).ok());
        let echoed = |r: Response| match echo {
            Some(id) => with_header(
                r,
                http::HeaderName::from_static("medmij-request-id"),
                id.as_str(),
            ),
            None => r,
        };
        let refuse = |inc: &Incoming, err: ResourceError, detail: &str| {
            let mut e = AuditEvent::new(now, inc.source(), Endpoint::Resource, false, detail);
            e.case = Some(err.case_number());
            e.interaction = Some(interaction);
            e.client_id = inc.extensions.get::<MtlsClient>().map(|c| c.0.clone());
            (e, echoed(respond(HttpResponse::from(&err))))
        };
        let Some((za, gd)) = self.hooks.fhir.target(&path) else {
            let (e, r) = refuse(
                &inc,
                ResourceError::wrong_scope(),
                "path names no Gegevensdienst",
            );
            self.audit(e).await;
            return r;
        };
        let authorization = inc.header(http::header::AUTHORIZATION);
        let (za2, gd2) = (za.clone(), gd.clone());
        let checked = self
            .server
            .run(move |s| {
                s.check_resource_v2(
                    authorization.as_deref(),
                    request_id.as_deref(),
                    correlation_id.as_deref(),
                    &za2,
                    &gd2,
                    interaction,
                    now,
                )
            })
            .await;
        let req_path = inc.path.clone();
        let chain_step = |trace: TraceIds, client: &ClientId, err: Option<&ResourceError>| {
            let kind = if err.is_some() {
                ChainStepKind::ResourceRequestError
            } else {
                ChainStepKind::ReceiveResourceRequest
            };
            let mut step = self.step(kind, err.is_none(), trace, method, &req_path, client);
            step.aanbieder = Some(za.clone());
            step.gegevensdienst = Some(gd.clone());
            if let Some(err) = err {
                step.status = Some(err.status());
                step.error = Some(if err.case_number() == 7 {
                    "suppressed"
                } else {
                    "incomplete"
                });
                step.description = Some(format!("{:?}", err.kind()));
            }
            step
        };
        let (access, trace) = match checked {
            Ok(Ok(a)) => a,
            Ok(Err(err)) => {
                let detail = format!("token refused: {:?}", err.kind());
                // The tracing identifiers, when valid, name the refused 2.x request (LOG-6).
                let trace = inc
                    .header(http::HeaderName::from_static("medmij-request-id"))
                    .zip(inc.header(http::HeaderName::from_static("x-correlation-id")))
                    .and_then(|(r, c)| TraceIds::parse(Some(&r), Some(&c)).ok());
                let client = inc.extensions.get::<MtlsClient>().map(|c| c.0.clone());
                let (mut e, r) = refuse(&inc, err.clone(), &detail);
                e.trace = trace;
                self.audit(e).await;
                if let (Some(trace), Some(client)) = (trace, client) {
                    let step = chain_step(trace, &client, Some(&err));
                    self.hooks.audit.chain(step).await;
                }
                return r;
            }
            Err(_) => {
                let (e, r) = refuse(&inc, ResourceError::backend_unavailable(), "task failed");
                self.audit(e).await;
                return r;
            }
        };
        if let Some(MtlsClient(c)) = inc.extensions.get::<MtlsClient>()
            && *c != access.client_id
        {
            let (e, r) = refuse(
                &inc,
                ResourceError::wrong_scope(),
                "token presented by another client than it was issued to",
            );
            self.audit(e).await;
            return r;
        }
        if !self.hooks.fhir.serves(&za, &gd, now) {
            // MedMij LISTS-13, LISTS-10: the ZAL no longer lists it here (grace over).
            let detail = format!(
                "Gegevensdienst {} of {} is not served at this gateway (LISTS-13)",
                gd.as_str(),
                za.as_str()
            );
            let err = ResourceError::wrong_scope();
            let (mut e, r) = refuse(&inc, err.clone(), &detail);
            e.client_id = Some(access.client_id.clone());
            e.subject = Some(access.subject.clone());
            e.trace = trace;
            self.audit(e).await;
            if let Some(trace) = trace {
                let step = chain_step(trace, &access.client_id, Some(&err));
                self.hooks.audit.chain(step).await;
            }
            return r;
        }
        if let Some(trace) = trace {
            let step = chain_step(trace, &access.client_id, None);
            self.hooks.audit.chain(step).await;
        }
        if interaction == Interaction::Write {
            inc.read_body(body, self.settings.fhir_body_limit).await;
        }
        if inc.body_refused {
            let (e, r) = refuse(
                &inc,
                ResourceError::backend_unavailable(),
                "body too large or not UTF-8",
            );
            self.audit(e).await;
            return r;
        }
        let reply = match interaction {
            Interaction::Read => self.hooks.fhir.read(&access, &path, &inc.view.query).await,
            Interaction::Write => {
                let fhir = &self.hooks.fhir;
                fhir.write_with_headers(&access, &path, &inc.view.body, &inc.headers)
                    .await
            }
        };
        match reply {
            Ok(reply) => {
                // MedMij LOG-1: a back end's refusal (4xx, 5xx) is audited as a refusal, a
                // failure (5xx) as OAUTH-12 case 8, with its OperationOutcome's words.
                let refused = reply.status >= 400;
                let detail = match refused.then(|| diagnostics(&reply.body)).flatten() {
                    Some(why) => format!(
                        "{interaction:?} {path} refused by the back end: HTTP {}: {why}",
                        reply.status
                    ),
                    None if refused => format!(
                        "{interaction:?} {path} refused by the back end: HTTP {}",
                        reply.status
                    ),
                    None => format!("{interaction:?} {path} answered {}", reply.status),
                };
                let mut e =
                    AuditEvent::new(now, inc.source(), Endpoint::Resource, !refused, detail);
                e.case = (reply.status >= 500).then_some(8);
                e.interaction = Some(interaction);
                e.client_id = Some(access.client_id.clone());
                e.subject = Some(access.subject.clone());
                e.trace = trace;
                self.audit(e).await;
                echoed(respond(HttpResponse::fhir(reply.status, reply.body)))
            }
            Err(err) => {
                let (mut e, r) = refuse(
                    &inc,
                    ResourceError::backend_unavailable(),
                    &format!("back end failed: {err}"),
                );
                e.subject = Some(access.subject.clone());
                e.trace = trace;
                self.audit(e).await;
                if let Some(trace) = trace {
                    let step = chain_step(
                        trace,
                        &access.client_id,
                        Some(&ResourceError::backend_unavailable()),
                    );
                    self.hooks.audit.chain(step).await;
                }
                r
            }
        }
    }
}

/// The first `issue[].diagnostics` of a FHIR OperationOutcome (a back end's refusal), at
/// most 256 characters; `None` for any other body.
fn diagnostics(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    if v.get("resourceType")?.as_str()? != "OperationOutcome" {
        return None;
    }
    let text = v
        .get("issue")?
        .as_array()?
        .iter()
        .find_map(|i| i.get("diagnostics")?.as_str())?;
    Some(text.chars().take(256).collect())
}
