//! Embeddable gateways (cargo feature `axum`): axum routers for both gateway roles, generic
//! over small async traits the host implements.
//!
//! - [`ZaGateway`] (ZA GW): `GET /authorize` (front channel: the authorization request opens
//!   a flow in a [`FlowStore`](crate::FlowStore), bound to the browser by an `HttpOnly`,
//!   `Secure`, `SameSite=Lax` cookie; then [`Authenticator`], [`DataAvailability`],
//!   [`ConsentUi`] and the code redirect, MedMij OAUTH-11), `POST /token` (back channel: the
//!   client is the [`MtlsClient`] extension the host's TLS layer sets, OAUTH-3) and
//!   `/fhir/{*path}` (Bearer check, then [`FhirBackend`]: read for Verzamelen, write for
//!   Delen, OAUTH-13).
//! - [`PgoGateway`] (PGO GW): `GET /start` and `GET /share` (Delen, OAUTH-13), read and
//!   checked by [`PgoHost::start_request`] before anything is stored (OAUTH-12); then the
//!   authorization URL (the [`PendingAuthorization`](crate::PendingAuthorization) waits in a
//!   flow store bound to the person's browser by a cookie, OAUTH-10, at most
//!   [`PgoSettings::flows_per_person`] per person and the [`FlowLimits`](crate::FlowLimits)
//!   per source, HTTP 429, and in total, OAUTH-14) and the redirect endpoint (checks
//!   `state`, redeems the code through [`TokenTransport`], hands the grant to
//!   [`PgoHost::completed`], a flow without a grant to [`PgoHost::failed`]). A flow the
//!   person never came back to is reported once (MedMij OAUTH-12 case 5, LOG-1) as an
//!   [`Endpoint::FlowExpired`] event and to [`PgoHost::failed`] with
//!   [`FailureStage::Expired`]: the gateway sweeps its flow store at every new flow and in
//!   [`PgoGateway::expire_flows`] (call it on a timer).
//!
//! Pages the host makes may carry headers of its own ([`HostPage`]: the consent page through
//! [`ConsentUi::try_render_page`], the login pages through [`Authenticator::start_answer`]
//! and [`Authenticator::start_management_answer`], the consent-management page through
//! [`ConsentUi::render_management_page`]): sent with one `Content-Type`, the host's headers,
//! and the adapter's anti-framing and no-store headers only where the host set none. The
//! hooks that may do I/O (the decision posted from the consent page, which a host registers
//! as evidence, CONSENT-5; the PGO session and start checks) are async; the few that stay
//! synchronous ([`FhirBackend::target`], [`FhirBackend::serves`], [`PgoHost::endpoints`],
//! [`PgoHost::counterpart`]) answer from memory and must not block.
//!
//! # Releases 1.x and 2.x side by side
//!
//! One [`ZaGateway`] serves 1.x and 2.x clients at once; the release is chosen per request
//! and flow, never globally ("Releases, side by side" of the rulebook):
//!
//! - `GET /authorize`: tracing identifiers or a scope without `~` make a request 2.x
//!   (MedMij OAUTH-20, OAUTH-21); the consent page sees [`FlowInfo::release`] and posts the
//!   indefinite-period choice, read by [`ConsentUi::period`] (defaulted: a 1.x host changes
//!   nothing; CONSENT-6).
//! - `POST /token`: `authorization_code` of both lines and the 2.x `refresh_token` grant
//!   with rotation; a replayed refresh token revokes the chain; any other grant is
//!   `unsupported_grant_type` (OAUTH-1, OAUTH-19); `MedMij-Request-ID` is echoed.
//! - `/fhir/{*path}`: a 2.x token needs the tracing headers (OAUTH-21).
//! - `GET /toestemmingen` (the provisional path of OAUTH-22, next to `/authorize`), its
//!   login and `POST /toestemmingen/withdraw`: consent management and withdrawal through
//!   [`Authenticator::start_management`] and [`ConsentUi::render_management`].
//! - A technical failure of a 2.x flow ends on [`Pages::technical_failure`] with the Trace
//!   ID and Session ID and the way back (OAUTH-23).
//!
//! [`PgoGateway`] asks [`PgoHost::counterpart`] which line to speak per Zorgaanbieder and
//! Gegevensdienst; 2.x flows send a new `MedMij-Request-ID` per request and one
//! `X-Correlation-ID` per flow ([`TokenTransport::post_traced`]); a refresh token goes into
//! the vault of [`PgoGateway::with_vault`]; `GET /collect` refreshes on the back channel and
//! falls back to a full flow on `invalid_grant` (OAUTH-19); `GET /toestemmingen` is the
//! "Toestemmingen aanpassen" link handed to [`PgoHost::granted_v2`] (OAUTH-22).
//!
//! Besides the LOG-1 [`AuditEvent`]s (which carry the 2.x identifiers in
//! [`AuditEvent::trace`]), every step of a 2.x flow goes to [`AuditSink::chain`] as a
//! [`ChainStep`] (MedMij LOG-6): actor, step, outcome, the OAUTH-21 identifiers, method and
//! endpoint, grant type, Aanbieder, status and error; never a token, code, flow id or person
//! identifier (LOG-4). The host maps it to medmij-log's `ChainEvent` (see
//! `examples/src/embed.rs`).
//!
//! What the ZA GW checks besides the core (each answered and audited as the rule says):
//!
//! - [`FhirBackend::serves`] (MedMij LISTS-13, LISTS-10): a Gegevensdienst this gateway no
//!   longer serves is OAUTH-12 case 1 at `/authorize` ([`Pages::not_served`]) and case 7 at
//!   `/fhir`.
//! - [`ConsentUi::try_render`]: a consent page that cannot be made ends the flow as case 5.
//! - A step on a flow that expired less than [`FlowLimits::grace`](crate::FlowLimits::grace)
//!   ago ([`FlowStore::take_late`](crate::FlowStore::take_late)) ends it as case 5 with the
//!   redirect (a flow abandoned after it started); after the grace it is unknown (a page).
//!   Every flow that expires unfinished is audited exactly once as
//!   [`Endpoint::FlowExpired`] (case 5, LOG-1): the gateway sweeps the flow store at every
//!   new flow and in [`ZaGateway::expire_flows`] (call it on a timer), and a late step
//!   reports the flow it ends if no sweep did.
//! - A [`FhirReply`] of 400 or more is the back end refusing (a Lezer refusing a payload
//!   with a BSN, OAUTH-16): sent as it is and audited as a refusal, a 5xx as case 8; every
//!   resource event names its [`AuditEvent::interaction`] (OAUTH-13).
//!
//! Every answer is an [`HttpResponse`] of the core or a page of the
//! host's [`Pages`]; nothing becomes an HTTP 500 (MedMij OAUTH-12), a full flow table is a 503
//! with `Retry-After` (OAUTH-14), and every success and refusal goes to the [`AuditSink`] with
//! the source address (LOG-1). The source address is the `ConnectInfo<SocketAddr>` extension
//! (axum's `into_make_service_with_connect_info`, or set by the host's accept loop); without
//! it all requests count as `0.0.0.0`, one source. Store calls run on `spawn_blocking`
//! ([`AsyncAuthorizationServer`](crate::AsyncAuthorizationServer), [`run_blocking`](crate::run_blocking)).

mod host;
mod pages;
mod pgo;
mod za;

pub use host::{
    AuditEvent, AuditSink, Authenticator, ChainActor, ChainGrant, ChainStep, ChainStepKind,
    ConsentUi, Counterpart, DataAvailability, Endpoint, FailureStage, FhirBackend, FhirReply,
    FlowDone, FlowFailure, FlowInfo, HostAnswer, HostError, HostPage, HostRequest,
    MAX_START_CONTEXT, ManagementInfo, PersonAuthentication, PersonError, PgoHost, StartRefused,
    StartRequest, StartRoute, TokenTransport, TransportError, default_start_request,
};
pub use pages::{DefaultPages, Pages, escape_into, plain, plain_with_link};
pub use pgo::{DEFAULT_PGO_FLOWS_PER_PERSON, PGO_COOKIE, PgoGateway, PgoHooks, PgoSettings};
pub use za::{ZA_COOKIE, ZaGateway, ZaHooks, ZaSettings};

use crate::{ClientId, HttpResponse};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::SystemTime;

/// The client identity from the back channel's mutual TLS (MedMij OAUTH-3): the hostname in
/// the client's certificate, already checked against the Whitelist and revocation (TLS-3,
/// TLS-4). The host's TLS layer inserts it as a request extension; the token endpoint refuses
/// a request without it (`invalid_client`), the resource endpoint refuses a token held by
/// another client (case 7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MtlsClient(pub ClientId);

/// Default body limit of the routers: 16 KiB (twice [`MAX_REQUEST_LEN`](crate::MAX_REQUEST_LEN);
/// MedMij OAUTH-14 bounded resources). A FHIR write may need more: see
/// [`ZaSettings::fhir_body_limit`].
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;

/// Default limit for a FHIR write body (Delen): 4 MiB.
pub const DEFAULT_FHIR_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Default for [`ZaSettings::sweep_interval`] and [`PgoSettings::sweep_interval`]: a gateway
/// sweeps its flow store for abandoned flows at a new flow at most once a second (our choice,
/// not a rulebook value). Each abandoned flow is still reported exactly once (MedMij OAUTH-12
/// case 5, LOG-1), at most this much later; [`ZaGateway::expire_flows`] and
/// [`PgoGateway::expire_flows`] sweep at once.
pub const DEFAULT_SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Where the routers take the time from: the system clock by default; a host may shift it
/// (a test, or a demo that fast-forwards to expire flows and tokens, MedMij OAUTH-7).
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> SystemTime + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(SystemTime::now))
    }

    /// A clock that asks `now`.
    pub fn new(now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    /// The time now.
    pub fn now(&self) -> SystemTime {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// A request read into memory: what the routers need of it.
pub(crate) struct Incoming {
    pub(crate) method: http::Method,
    pub(crate) path: String,
    pub(crate) headers: http::HeaderMap,
    pub(crate) extensions: http::Extensions,
    /// The host-trait view (query, content type, body, source).
    pub(crate) view: HostRequest,
    /// The body was larger than the limit or not UTF-8.
    pub(crate) body_refused: bool,
}

impl Incoming {
    /// Reads the request and its body (at most `limit` bytes).
    pub(crate) async fn read(req: Request, limit: usize) -> Self {
        let (mut inc, body) = Self::head(req);
        inc.read_body(body, limit).await;
        inc
    }

    /// The request without its body (read it later with [`Incoming::read_body`], or never).
    pub(crate) fn head(req: Request) -> (Self, Body) {
        let (parts, body) = req.into_parts();
        let source = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let inc = Self {
            method: parts.method,
            path: parts.uri.path().to_owned(),
            view: HostRequest {
                query: parts.uri.query().unwrap_or_default().to_owned(),
                content_type,
                body: String::new(),
                source,
            },
            headers: parts.headers,
            extensions: parts.extensions,
            body_refused: false,
        };
        (inc, body)
    }

    /// Reads the body (at most `limit` bytes, UTF-8; else [`Incoming::body_refused`]).
    pub(crate) async fn read_body(&mut self, body: Body, limit: usize) {
        match axum::body::to_bytes(body, limit).await {
            Ok(bytes) => match String::from_utf8(bytes.to_vec()) {
                Ok(s) => self.view.body = s,
                Err(_) => self.body_refused = true,
            },
            Err(_) => self.body_refused = true,
        }
    }

    pub(crate) fn source(&self) -> IpAddr {
        self.view.source
    }

    /// The single value of query parameter `name` (none if missing, empty or repeated).
    pub(crate) fn query_param(&self, name: &str) -> Option<String> {
        single_param(&self.view.query, name)
    }

    /// The value of cookie `name` (none if missing or repeated).
    pub(crate) fn cookie(&self, name: &str) -> Option<String> {
        let mut found = None;
        for header in self.headers.get_all(http::header::COOKIE) {
            let Ok(text) = header.to_str() else { continue };
            for pair in text.split(';') {
                if let Some((k, v)) = pair.trim().split_once('=')
                    && k == name
                {
                    if found.is_some() {
                        return None;
                    }
                    found = Some(v.trim_matches('"').to_owned());
                }
            }
        }
        found
    }

    pub(crate) fn header(&self, name: http::HeaderName) -> Option<String> {
        let mut values = self.headers.get_all(name).iter();
        let first = values.next()?;
        if values.next().is_some() {
            return None;
        }
        first.to_str().ok().map(str::to_owned)
    }
}

/// When a gateway's admission sweep last started, for its `sweep_interval` (nanoseconds
/// since 1970 on the gateway's clock; 0 before the first).
#[derive(Debug, Default)]
pub(crate) struct SweepGate(std::sync::atomic::AtomicU64);

impl SweepGate {
    /// True, and the sweep time taken, if a sweep is due at `now`: `every` or more since the
    /// last one started (or the clock was set back). Of tasks asking at once, one gets it.
    pub(crate) fn due(&self, now: SystemTime, every: std::time::Duration) -> bool {
        use std::sync::atomic::Ordering;
        let now = now.duration_since(std::time::UNIX_EPOCH).map_or(1, |d| {
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1)
        });
        let every = u64::try_from(every.as_nanos()).unwrap_or(u64::MAX);
        let last = self.0.load(Ordering::Relaxed);
        let due = last == 0 || now < last || now - last >= every;
        due && self
            .0
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }
}

/// Sweeps the flow store off the runtime ([`crate::run_blocking`]) and returns the flows that
/// expired unfinished, each once ([`crate::FlowStore::sweep`]); unless `force`d, only when
/// `gate` says a sweep is due after `every`. A store that fails yields none: its flows stay
/// unreported and the next sweep finds them.
pub(crate) async fn sweep_expired<F>(
    flows: &Arc<crate::PendingFlows<F>>,
    gate: &SweepGate,
    every: std::time::Duration,
    force: bool,
    now: SystemTime,
) -> Vec<crate::ExpiredFlow>
where
    F: crate::FlowStore + Send + Sync + 'static,
{
    if !force && !gate.due(now, every) {
        return Vec::new();
    }
    let flows = Arc::clone(flows);
    match crate::run_blocking(move || flows.store().sweep(now)).await {
        Ok(Ok(expired)) => expired,
        Ok(Err(_)) | Err(_) => Vec::new(),
    }
}

pub(crate) fn single_param(query: &str, name: &str) -> Option<String> {
    let mut found = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k == name {
            if found.is_some() {
                return None;
            }
            found = Some(v.into_owned());
        }
    }
    found.filter(|v| !v.is_empty())
}

/// Converts a core answer into an axum response.
pub(crate) fn respond(r: HttpResponse) -> Response {
    r.into_http().map(Body::from)
}

/// A `Set-Cookie` value for a flow cookie (`__Host-` prefix: `Secure`, `Path=/`, no
/// `Domain`); `value` `None` clears it.
pub(crate) fn set_cookie(name: &str, value: Option<&str>, max_age: u64) -> String {
    match value {
        Some(v) => {
            format!("{name}={v}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Lax")
        }
        None => format!("{name}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"),
    }
}

/// Adds a header to a response (values the adapter builds are always valid).
pub(crate) fn with_header(mut r: Response, name: http::HeaderName, value: &str) -> Response {
    if let Ok(v) = http::HeaderValue::from_str(value) {
        r.headers_mut().append(name, v);
    }
    r
}

/// `r` with the flow cookie `name` set to `secret` for as long as a flow's step is kept
/// (`ttl`, [`FlowLimits::ttl`](crate::FlowLimits::ttl)).
pub(crate) fn with_flow_cookie(
    r: Response,
    name: &str,
    secret: &str,
    ttl: std::time::Duration,
) -> Response {
    let cookie = set_cookie(name, Some(secret), ttl.as_secs());
    with_header(r, http::header::SET_COOKIE, &cookie)
}

/// A page with `status`.
pub(crate) fn page(status: u16, html: String) -> Response {
    respond(HttpResponse::page(status, html))
}

/// A host's page ([`HostPage`]) with `status`: one `Content-Type` (the adapter's), the
/// host's headers, and the adapter's anti-framing and no-store headers
/// ([`CONSENT_PAGE_HEADERS`](crate::CONSENT_PAGE_HEADERS)) only where the host set none of
/// that name.
pub(crate) fn host_page(status: u16, p: HostPage) -> Response {
    let mut r = page(status, p.html);
    let h = r.headers_mut();
    let own = |n: &http::HeaderName| n != http::header::CONTENT_TYPE;
    for name in p.headers.keys().filter(|n| own(n)) {
        h.remove(name);
    }
    for (name, value) in p.headers.iter().filter(|(n, _)| own(n)) {
        h.append(name.clone(), value.clone());
    }
    r
}

/// A host's answer ([`HostAnswer`]): its page as [`host_page`] sends it (HTTP 200), or its
/// response as it is.
pub(crate) fn host_answer(a: HostAnswer) -> Response {
    match a {
        HostAnswer::Page(p) => host_page(200, p),
        HostAnswer::Response(r) => respond(r),
    }
}

/// The busy page with `Retry-After` (MedMij OAUTH-14): 429 Too Many Requests when this
/// source reached its own limit (RFC 6585: the source is asking too much, not the gateway
/// short of room), 503 when a client's or the whole table is full.
pub(crate) fn busy_page(pages: &impl Pages, busy: &crate::Busy) -> Response {
    let status = if busy.limit() == crate::FlowLimit::PerSource {
        429
    } else {
        503
    };
    with_header(
        page(status, pages.busy(busy)),
        http::header::RETRY_AFTER,
        &busy.retry_after_secs().to_string(),
    )
}

/// The unavailable page: 503 with `Retry-After: 1`.
pub(crate) fn unavailable_page(pages: &impl Pages) -> Response {
    with_header(
        page(503, pages.unavailable()),
        http::header::RETRY_AFTER,
        "1",
    )
}
