//! The ZA GW router: authorization endpoint (front channel), token endpoint and resource
//! endpoint (back channel), MedMij OAUTH-11.

use super::host::{
    AuditEvent, AuditSink, Authenticator, ConsentUi, DataAvailability, Endpoint, FhirBackend,
    FlowInfo, PersonAuthentication,
};
use super::pages::{DefaultPages, Pages};
use super::{
    Clock, DEFAULT_BODY_LIMIT, DEFAULT_FHIR_BODY_LIMIT, Incoming, MtlsClient, busy_page, page,
    respond, set_cookie, unavailable_page, with_header,
};
use crate::{
    AsyncAuthorizationServer, ClientRegistry, ConsentOutcome, FlowError, FlowId, FlowOwner,
    FlowStore, HttpResponse, Interaction, PendingFlows, Redirect, ResourceError, Session,
    SessionStage, ThreadRandom, TokenErrorCode, TokenEvent, TokenResponse, TokenStore,
    run_blocking,
};
use crate::{PersonOutcome, PersonRefusal, Subject};
use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::{get, post};
use std::sync::Arc;

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
}

impl Default for ZaSettings {
    fn default() -> Self {
        Self {
            mount: String::new(),
            body_limit: DEFAULT_BODY_LIMIT,
            fhir_body_limit: DEFAULT_FHIR_BODY_LIMIT,
            clock: Clock::system(),
        }
    }
}

/// A pending ZA GW flow as stored: the core session and the hash of the browser's binding.
#[derive(serde::Serialize, serde::Deserialize)]
struct ZaFlow {
    session: Session,
    binding: String,
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
}

/// A step's flow, taken from the store.
struct Taken {
    id: FlowId,
    owner: FlowOwner,
    flow: ZaFlow,
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
    }

    /// The authorization server (for sweeping its store, for example).
    pub fn server(&self) -> &AsyncAuthorizationServer<S, C> {
        &self.inner.server
    }

    /// The pending flows (for sweeping, for example through [`run_blocking`]).
    pub fn flows(&self) -> &Arc<PendingFlows<F>> {
        &self.inner.flows
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

    fn info(id: &FlowId, session: &Session) -> FlowInfo {
        let r = session.request();
        FlowInfo {
            flow_id: id.secret_text(),
            client_id: r.client_id().clone(),
            scope: r.scope().clone(),
            use_case: r.use_case(),
            subject: session.subject().cloned(),
        }
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
        }
        e
    }

    /// A redirect that ends the flow (clears the cookie), after auditing it.
    async fn finish(
        &self,
        session: &Session,
        redirect: Redirect,
        mut event: AuditEvent,
    ) -> Response {
        event.case = event.case.or(redirect.case_number());
        if event.client_id.is_none() {
            event.client_id = Some(session.request().client_id().clone());
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
            Ok(redirect) => self.finish(&session, redirect, event).await,
            Err(_) => {
                self.audit(event).await;
                page(400, self.hooks.pages.flow_unknown())
            }
        }
    }

    /// Takes the flow named by `?flow=` if this browser's cookie is bound to it.
    async fn take(&self, inc: &Incoming, endpoint: Endpoint) -> Result<Taken, Response> {
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
        let resumed = run_blocking(move || flows.resume::<ZaFlow>(&id2, now)).await;
        let resumed = match resumed {
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
        let bound = inc
            .cookie(ZA_COOKIE)
            .and_then(|c| binding_hash(&c))
            .is_some_and(|h| h == resumed.value.binding);
        if !bound {
            // Not this browser's flow: put it back untouched, so a stranger who learnt the
            // flow id can neither take nor end the person's flow.
            let flows = Arc::clone(&self.flows);
            let (owner, value) = (resumed.owner, resumed.value);
            let _ = run_blocking(move || flows.save(&id, &owner, &value, now)).await;
            self.audit(refuse("flow cookie missing or not bound to this flow"))
                .await;
            return Err(page(400, self.hooks.pages.flow_unknown()));
        }
        Ok(Taken {
            id,
            owner: resumed.owner,
            flow: resumed.value,
        })
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
                self.audit(e).await;
                return page(invalid.status(), self.hooks.pages.invalid_request(&invalid));
            }
            Err(_) => {
                let e = self.event(&inc, Endpoint::Authorize, None, false, None, "task failed");
                self.audit(e).await;
                return unavailable_page(&self.hooks.pages);
            }
        };
        let binding = FlowId::random(&ThreadRandom);
        let flow = ZaFlow {
            session: session.clone(),
            binding: binding_hash(&binding.secret_text()).unwrap_or_default(),
        };
        let owner = FlowOwner {
            client_id: session.request().client_id().clone(),
            source: inc.source(),
        };
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
            .start(&info, &self.flow_url("login", &id))
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
        let ttl = self.flows.limits().ttl.as_secs();
        with_header(
            respond(start),
            http::header::SET_COOKIE,
            &set_cookie(ZA_COOKIE, Some(&binding.secret_text()), ttl),
        )
    }

    /// `GET|POST /authorize/login`: the authenticator's callback, the data check and the
    /// consent page (MedMij OAUTH-11, OAUTH-18, CONSENT-1).
    async fn login(&self, req: Request) -> Response {
        let inc = Incoming::read(req, self.settings.body_limit).await;
        let mut t = match self.take(&inc, Endpoint::Login).await {
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
        match step {
            Ok(None) => {}
            Ok(Some(redirect)) => {
                let e = self.event(
                    &inc,
                    Endpoint::Login,
                    Some(&t.flow.session),
                    false,
                    None,
                    "identity not established",
                );
                return self.finish(&t.flow.session, redirect, e).await;
            }
            Err(_) => {
                return self
                    .fail(
                        &inc,
                        Endpoint::Login,
                        t.flow.session,
                        "login step out of order",
                    )
                    .await;
            }
        }
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
                return self
                    .fail(&inc, Endpoint::Login, t.flow.session, &detail)
                    .await;
            }
        };
        match t.flow.session.data_available(available) {
            Ok(None) => {}
            Ok(Some(redirect)) => {
                let e = self.event(
                    &inc,
                    Endpoint::Login,
                    Some(&t.flow.session),
                    false,
                    None,
                    "no data of this person for this scope",
                );
                return self.finish(&t.flow.session, redirect, e).await;
            }
            Err(_) => {
                return self
                    .fail(
                        &inc,
                        Endpoint::Login,
                        t.flow.session,
                        "data step out of order",
                    )
                    .await;
            }
        }
        self.ask_consent(&inc, &t, "authenticated; consent asked")
            .await
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
            return self.finish(session, redirect, e).await;
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
        let info = Self::info(&t.id, &t.flow.session);
        let html = self
            .hooks
            .consent
            .render(&info, &self.flow_url("consent", &t.id))
            .await;
        let e = self.event(
            inc,
            Endpoint::Login,
            Some(&t.flow.session),
            true,
            None,
            detail,
        );
        self.audit(e).await;
        page(200, html)
    }

    /// `GET /authorize/consent`: the consent page again (a reload), for this browser's flow
    /// while it waits for the decision.
    async fn consent_page(&self, req: Request) -> Response {
        let inc = Incoming::read(req, self.settings.body_limit).await;
        let t = match self.take(&inc, Endpoint::Consent).await {
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
        let mut t = match self.take(&inc, Endpoint::Consent).await {
            Ok(t) => t,
            Err(r) => return r,
        };
        let info = Self::info(&t.id, &t.flow.session);
        let decision = self.hooks.consent.decision(&info, &inc.view);
        let outcome = match t.flow.session.consent(decision, self.settings.clock.now()) {
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
                        self.finish(&session, redirect, e).await
                    }
                    Ok((session, Err(err))) => {
                        let detail = format!("code not issued: {err}");
                        self.fail(&inc, Endpoint::Consent, session, &detail).await
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
                self.finish(&t.flow.session, redirect, e).await
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
                self.finish(&t.flow.session, redirect, e).await
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
        match self
            .server
            .token(content_type, inc.view.body.clone(), client.clone(), now)
            .await
        {
            Ok(out) => {
                let success = matches!(out.event, TokenEvent::Issued { .. });
                let mut e = AuditEvent::new(
                    now,
                    inc.source(),
                    Endpoint::Token,
                    success,
                    match &out.event {
                        TokenEvent::Issued { .. } => "token issued",
                        TokenEvent::Replay { .. } => "code replayed (OAUTH-8 breach)",
                        TokenEvent::Refused { reason, .. } => reason,
                    },
                );
                e.case = out.response.case_number();
                e.client_id = Some(client);
                if let TokenEvent::Issued { subject, .. } = &out.event {
                    e.subject = Some(subject.clone());
                }
                e.token = Some(out.event);
                self.audit(e).await;
                respond(HttpResponse::from(&out.response).without_500())
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

    /// `/fhir/{*path}`: Bearer check, then the back end (MedMij OAUTH-2, OAUTH-13, OAUTH-17;
    /// OAUTH-12 cases 7 and 8).
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
        let now = self.settings.clock.now();
        let refuse = |inc: &Incoming, err: ResourceError, detail: &str| {
            let mut e = AuditEvent::new(now, inc.source(), Endpoint::Resource, false, detail);
            e.case = Some(err.case_number());
            e.client_id = inc.extensions.get::<MtlsClient>().map(|c| c.0.clone());
            (e, respond(HttpResponse::from(&err)))
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
        let access = match self
            .server
            .check_resource(authorization, za, gd, interaction, now)
            .await
        {
            Ok(Ok(a)) => a,
            Ok(Err(err)) => {
                let detail = format!("token refused: {:?}", err.kind());
                let (e, r) = refuse(&inc, err, &detail);
                self.audit(e).await;
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
            Interaction::Write => self.hooks.fhir.write(&access, &path, &inc.view.body).await,
        };
        match reply {
            Ok(reply) => {
                let mut e = AuditEvent::new(
                    now,
                    inc.source(),
                    Endpoint::Resource,
                    true,
                    format!("{interaction:?} {path} answered {}", reply.status),
                );
                e.client_id = Some(access.client_id.clone());
                e.subject = Some(access.subject.clone());
                self.audit(e).await;
                respond(HttpResponse::fhir(reply.status, reply.body))
            }
            Err(err) => {
                let (mut e, r) = refuse(
                    &inc,
                    ResourceError::backend_unavailable(),
                    &format!("back end failed: {err}"),
                );
                e.subject = Some(access.subject.clone());
                self.audit(e).await;
                r
            }
        }
    }
}
