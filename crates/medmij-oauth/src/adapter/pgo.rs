//! The PGO GW router: the start endpoint and the redirect endpoint (MedMij OAUTH-3,
//! OAUTH-10, CONSENT-3).

use super::host::{AuditEvent, AuditSink, Endpoint, PgoHost, TokenTransport};
use super::pages::{DefaultPages, Pages};
use super::{
    Clock, DEFAULT_BODY_LIMIT, Incoming, busy_page, page, respond, set_cookie, unavailable_page,
    with_header,
};
use crate::{
    Client, FlowError, FlowId, FlowOwner, FlowStore, HttpResponse, PendingAuthorization,
    PendingFlows, PersonMessage, Scope, ScopeForm, ThreadRandom, run_blocking,
};
use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::get;
use std::sync::Arc;

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

/// Settings of the PGO GW router.
#[derive(Debug, Clone)]
pub struct PgoSettings {
    /// The route of the redirect endpoint: the path of the [`Client`]'s `redirect_uri` below
    /// the router's mount point; default `/redirect`.
    pub redirect_path: String,
    /// Largest request body ([`DEFAULT_BODY_LIMIT`]).
    pub body_limit: usize,
    /// The time source ([`Clock::system`]).
    pub clock: Clock,
}

impl Default for PgoSettings {
    fn default() -> Self {
        Self {
            redirect_path: "/redirect".to_owned(),
            body_limit: DEFAULT_BODY_LIMIT,
            clock: Clock::system(),
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct PgoFlow {
    pending: PendingAuthorization,
    person: String,
}

/// Why a start was refused, in plain words.
struct StartRefused;

impl PersonMessage for StartRefused {
    fn message_nl(&self) -> &'static str {
        "Deze aanvraag kan niet worden gestart. Kies de zorgaanbieder opnieuw in uw PGO."
    }
    fn message_en(&self) -> &'static str {
        "This request cannot be started. Please choose the care provider again in your PGO."
    }
}

/// Not logged in at the PGO.
struct NoPerson;

impl PersonMessage for NoPerson {
    fn message_nl(&self) -> &'static str {
        "Log eerst in bij uw PGO."
    }
    fn message_en(&self) -> &'static str {
        "Please log in at your PGO first."
    }
}

/// The token request could not be sent.
struct NotSent;

impl PersonMessage for NotSent {
    fn message_nl(&self) -> &'static str {
        "De zorgaanbieder is nu niet bereikbaar. Probeer het later opnieuw."
    }
    fn message_en(&self) -> &'static str {
        "The care provider cannot be reached now. Please try again later."
    }
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

struct Pgo<F, T, H, L, P> {
    client: Client,
    flows: Arc<PendingFlows<F>>,
    hooks: PgoHooks<T, H, L, P>,
    settings: PgoSettings,
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
        Self {
            inner: Arc::new(Pgo {
                client,
                flows: Arc::new(flows),
                hooks,
                settings,
            }),
        }
    }

    /// The router: `GET /start?scope=<naam~id>` and `GET` [`PgoSettings::redirect_path`].
    pub fn router(&self) -> Router {
        let (s, r) = (Arc::clone(&self.inner), Arc::clone(&self.inner));
        Router::new()
            .route(
                "/start",
                get(move |req: Request| {
                    let g = Arc::clone(&s);
                    async move { g.start(req).await }
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

    /// `GET /start?scope=`: the authorization URL (MedMij OAUTH-10, LISTS-3).
    async fn start(&self, req: Request) -> Response {
        let inc = Incoming::read(req, self.settings.body_limit).await;
        let Some(person) = self.hooks.host.person(&inc.headers) else {
            return self
                .refuse(&inc, Endpoint::Start, 401, &NoPerson, "no PGO session")
                .await;
        };
        let Some(scope) = inc
            .query_param("scope")
            .and_then(|s| Scope::parse(&s, ScopeForm::Multiple).ok())
        else {
            return self
                .refuse(
                    &inc,
                    Endpoint::Start,
                    400,
                    &StartRefused,
                    "missing or bad scope",
                )
                .await;
        };
        let Some((authorize, token)) = self.hooks.host.endpoints(&scope) else {
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
        let (url, pending) = match self.client.start(&authorize, &token, scope) {
            Ok(x) => x,
            Err(e) => {
                let detail = format!("start refused: {e}");
                return self
                    .refuse(&inc, Endpoint::Start, 400, &StartRefused, &detail)
                    .await;
            }
        };
        let owner = FlowOwner {
            client_id: self.client.client_id().clone(),
            source: inc.source(),
        };
        let flows = Arc::clone(&self.flows);
        let flow = PgoFlow { pending, person };
        let now = self.settings.clock.now();
        let id = match run_blocking(move || flows.open(&owner, &flow, &ThreadRandom, now)).await {
            Ok(Ok(id)) => id,
            Ok(Err(FlowError::Busy(busy))) => {
                self.hooks
                    .audit
                    .record(self.event(&inc, Endpoint::Start, false, &busy.to_string()))
                    .await;
                return busy_page(&self.hooks.pages, &busy);
            }
            Ok(Err(_)) | Err(_) => {
                self.hooks
                    .audit
                    .record(self.event(&inc, Endpoint::Start, false, "flow store unavailable"))
                    .await;
                return unavailable_page(&self.hooks.pages);
            }
        };
        self.hooks
            .audit
            .record(self.event(&inc, Endpoint::Start, true, "authorization started"))
            .await;
        let ttl = self.flows.limits().ttl.as_secs();
        with_header(
            respond(HttpResponse::found(url)),
            http::header::SET_COOKIE,
            &set_cookie(PGO_COOKIE, Some(&id.secret_text()), ttl),
        )
    }

    /// The redirect endpoint: `state` first (MedMij OAUTH-10), then the code on the back
    /// channel (OAUTH-3) and the grant to the host; the consent is logged (CONSENT-3).
    async fn redirect(&self, req: Request) -> Response {
        let inc = Incoming::read(req, self.settings.body_limit).await;
        let clear = set_cookie(PGO_COOKIE, None, 0);
        let Some(id) = inc.cookie(PGO_COOKIE).and_then(|c| FlowId::parse(&c)) else {
            return self
                .refuse(
                    &inc,
                    Endpoint::Redirect,
                    400,
                    &StartRefused,
                    "no flow cookie",
                )
                .await;
        };
        let flows = Arc::clone(&self.flows);
        let now = self.settings.clock.now();
        let flow = match run_blocking(move || flows.resume::<PgoFlow>(&id, now)).await {
            Ok(Ok(Some(r))) => r.value,
            Ok(Ok(None)) | Ok(Err(FlowError::Corrupt(_))) => {
                let r = self
                    .refuse(&inc, Endpoint::Redirect, 400, &StartRefused, "unknown flow")
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
        let received = match flow.pending.handle_redirect(&inc.view.query, now) {
            Ok(r) => r,
            Err(e) => {
                let mut ev = self.event(&inc, Endpoint::Redirect, false, &e.to_string());
                if let crate::CallbackError::Case(c) = &e {
                    ev.case = Some(c.number());
                }
                self.hooks.audit.record(ev).await;
                let r = page(400, self.hooks.pages.problem(&e));
                return with_header(r, http::header::SET_COOKIE, &clear);
            }
        };
        self.hooks
            .audit
            .record(self.event(
                &inc,
                Endpoint::Redirect,
                true,
                &format!("consent received for {}", received.scope),
            ))
            .await;
        let request = flow.pending.token_request(&received.code);
        let (status, body) = match self.hooks.transport.post(&request).await {
            Ok(x) => x,
            Err(e) => {
                let r = self
                    .refuse(&inc, Endpoint::Redirect, 503, &NotSent, &e.to_string())
                    .await;
                return with_header(r, http::header::SET_COOKIE, &clear);
            }
        };
        let grant =
            match flow
                .pending
                .parse_token_response(status, &body, self.settings.clock.now())
            {
                Ok(g) => g,
                Err(e) => {
                    let mut ev = self.event(&inc, Endpoint::Redirect, false, &e.to_string());
                    if e.is_invalid_grant() {
                        ev.case = Some(6);
                    }
                    self.hooks.audit.record(ev).await;
                    let r = page(400, self.hooks.pages.problem(&e));
                    return with_header(r, http::header::SET_COOKIE, &clear);
                }
            };
        self.hooks
            .audit
            .record(self.event(&inc, Endpoint::Redirect, true, "access token received"))
            .await;
        let answer = self.hooks.host.granted(&flow.person, grant).await;
        with_header(respond(answer), http::header::SET_COOKIE, &clear)
    }
}
