//! The small async traits the host implements, and the values they see.
//!
//! Each trait is one seam of the gateway: the routers call them in the order of MedMij
//! OAUTH-11 and turn every answer into an [`HttpResponse`]. A host implements them with
//! `async fn` (the futures must be `Send`).

use crate::{
    AccessGrant, AuthenticatedPerson, Authentication, ClientId, ConsentDecision, ConsentEvent,
    ConsentId, ConsentPeriod, GrantV2, Interaction, LongLastingConsent, ReleaseLine,
    ResourceAccess, Scope, ScopeGegevensdienstId, Subject, TokenEvent, TokenRequest, TraceIds,
    TracedTokenRequest, UseCase, WithdrawalEvent, Zorgaanbiedernaam,
};
use crate::{HttpResponse, PersonMessage};
use std::future::Future;
use std::net::IpAddr;
use std::time::SystemTime;

/// What a host trait sees of a pending ZA GW flow. The flow id is the value the adapter puts
/// in URLs of this flow (`?flow=`); it is only usable together with the browser's cookie.
#[derive(Debug, Clone)]
pub struct FlowInfo {
    /// The flow id (a bearer secret of the person's session: never log it, MedMij LOG-4).
    pub flow_id: String,
    /// The client (PGO GW) that asked.
    pub client_id: ClientId,
    /// The client's validated redirect URI (MedMij OAUTH-4), where the flow's answer goes:
    /// a consent page's CSP `form-action` must allow its origin, since browsers apply it to
    /// the redirect that follows the posted decision.
    pub redirect_uri: String,
    /// The scope asked (MedMij OAUTH-5).
    pub scope: Scope,
    /// Verzamelen or Delen (MedMij OAUTH-13).
    pub use_case: UseCase,
    /// The person, once authenticated (MedMij OAUTH-18).
    pub subject: Option<Subject>,
    /// The flow's release line, from the request's form ("Releases, side by side"): a 2.x
    /// flow shows the 2.x consent screen with the indefinite-period choice (CONSENT-6).
    pub release: ReleaseLine,
    /// The 2.x flow's tracing identifiers (MedMij OAUTH-21), for pages (OAUTH-23) and logs.
    pub trace: Option<TraceIds>,
}

/// What a host trait sees of a pending consent-management visit (MedMij OAUTH-22): the PGO
/// sent the person's browser to the ZA GW's consent-management entry point.
#[derive(Debug, Clone)]
pub struct ManagementInfo {
    /// The visit's id (a bearer secret of the person's session, as [`FlowInfo::flow_id`]).
    pub flow_id: String,
    /// The client (PGO GW) whose consents are managed.
    pub client_id: ClientId,
    /// The tracing identifiers of the visit (MedMij OAUTH-21).
    pub trace: TraceIds,
    /// The person, once authenticated (MedMij OAUTH-18).
    pub subject: Option<Subject>,
}

/// A request as the host traits see it (the authenticator's callback, the posted consent
/// form): query string, `Content-Type`, body (at most the adapter's body limit), source.
#[derive(Debug, Clone)]
pub struct HostRequest {
    /// The query string (without `?`).
    pub query: String,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body as UTF-8 (empty if it was not UTF-8).
    pub body: String,
    /// The source address.
    pub source: IpAddr,
}

/// A host system that could not answer (the authenticator's back end, the data-availability
/// check, the FHIR back end). Its text goes to the audit sink, never to the person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HostError(pub String);

/// Authentication of the person (MedMij OAUTH-18; DigiD in production): the adapter calls
/// [`Authenticator::start`] right after a valid authorization request and
/// [`Authenticator::complete`] when the person's browser comes back to the callback URL.
pub trait Authenticator: Send + Sync + 'static {
    /// The answer that starts authentication (a login page or a redirect to the identity
    /// provider), which must bring the browser back to `callback` (GET or POST). The adapter
    /// adds the flow cookie to it.
    fn start(&self, flow: &FlowInfo, callback: &str) -> impl Future<Output = HttpResponse> + Send;

    /// The answer that starts authentication, which may be a login page with headers of its
    /// own ([`HostAnswer::Page`]: a per-page CSP, for example), sent as a consent page's
    /// [`HostPage`] is (RFC 6819 4.4.1.9). The adapter calls this method (not
    /// [`Authenticator::start`]) and adds the flow cookie; the default is
    /// [`Authenticator::start`]'s response as it is.
    fn start_answer(
        &self,
        flow: &FlowInfo,
        callback: &str,
    ) -> impl Future<Output = HostAnswer> + Send {
        let answer = self.start(flow, callback);
        async move { HostAnswer::Response(answer.await) }
    }

    /// Completes authentication from the callback request: [`Authentication::Failed`] ends the
    /// flow as MedMij OAUTH-12 case 2.
    fn complete(
        &self,
        flow: &FlowInfo,
        request: &HostRequest,
    ) -> impl Future<Output = Authentication> + Send;

    /// Completes authentication with the full report of MedMij OAUTH-18: the subject, the
    /// assurance level reached and the date of birth. The adapter calls this method (not
    /// [`Authenticator::complete`]); with [`PersonAuthentication::Person`] the core ends the
    /// flow below the Zorgaanbieder's minimum level (case 2) and for a person under 16 (case 3,
    /// after the [`Pages::not_eligible`](super::Pages::not_eligible) page, OAUTH-15). The
    /// default hands on [`Authenticator::complete`]'s answer as
    /// [`PersonAuthentication::Basic`], which carries neither level nor age.
    fn complete_person(
        &self,
        flow: &FlowInfo,
        request: &HostRequest,
    ) -> impl Future<Output = PersonAuthentication> + Send {
        let answer = self.complete(flow, request);
        async move { PersonAuthentication::Basic(answer.await) }
    }

    /// Starts authentication for a consent-management visit (MedMij OAUTH-22, OAUTH-18),
    /// bringing the browser back to `callback`. `None` (the default) means this ZA GW does
    /// not offer consent management: the adapter answers with a page saying so.
    fn start_management(
        &self,
        info: &ManagementInfo,
        callback: &str,
    ) -> impl Future<Output = Option<HttpResponse>> + Send {
        let _ = (info, callback);
        async { None }
    }

    /// As [`Authenticator::start_management`], with a login page that may carry headers of
    /// its own ([`HostAnswer::Page`], as for [`Authenticator::start_answer`]). The adapter
    /// calls this method (not [`Authenticator::start_management`]); the default is
    /// [`Authenticator::start_management`]'s response as it is.
    fn start_management_answer(
        &self,
        info: &ManagementInfo,
        callback: &str,
    ) -> impl Future<Output = Option<HostAnswer>> + Send {
        let answer = self.start_management(info, callback);
        async move { answer.await.map(HostAnswer::Response) }
    }

    /// Completes authentication of a consent-management visit; the default is
    /// [`Authentication::Failed`] (no consent management offered).
    fn complete_management(
        &self,
        info: &ManagementInfo,
        request: &HostRequest,
    ) -> impl Future<Output = Authentication> + Send {
        let _ = (info, request);
        async { Authentication::Failed }
    }
}

/// What [`Authenticator::complete_person`] reports (MedMij OAUTH-18).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonAuthentication {
    /// The full report: the core checks the minimum assurance level (OAUTH-18) and the age
    /// (OAUTH-15) before the data-availability check.
    Person(AuthenticatedPerson),
    /// The bare answer of [`Authenticator::complete`] (a subject, or failed): the core cannot
    /// check level or age, so the host's [`DataAvailability`] must (OAUTH-15).
    Basic(Authentication),
}

/// Whether the Zorgaanbieder has data of this person for the scope (for Delen: whether the
/// Lezer accepts data for this person), including eligibility (MedMij OAUTH-11, OAUTH-15)
/// when the authenticator reports no date of birth ([`PersonAuthentication::Basic`]); with
/// [`PersonAuthentication::Person`] the adapter has already refused a person under 16.
pub trait DataAvailability: Send + Sync + 'static {
    /// `Ok(false)` ends the flow as MedMij OAUTH-12 case 3; an error as case 5.
    fn available(
        &self,
        subject: &Subject,
        flow: &FlowInfo,
    ) -> impl Future<Output = Result<bool, HostError>> + Send;
}

/// A page the host made, with the headers it wants sent with it (for example
/// medmij-consent's per-page `Content-Security-Policy` with the hash of its inline style,
/// `Referrer-Policy: no-referrer`, `X-Content-Type-Options: nosniff`).
///
/// The adapter sends it as HTML with exactly one `Content-Type` (its own,
/// `text/html; charset=utf-8`: a host `Content-Type` is ignored), the host's headers, and
/// each of [`CONSENT_PAGE_HEADERS`](crate::CONSENT_PAGE_HEADERS) (anti-framing, no-store)
/// only where the host set no header of that name (RFC 6819 4.4.1.9).
#[derive(Debug, Clone, Default)]
pub struct HostPage {
    /// The page's HTML.
    pub html: String,
    /// The host's headers.
    pub headers: http::HeaderMap,
}

impl From<String> for HostPage {
    /// The HTML without headers of its own (the adapter's defaults apply).
    fn from(html: String) -> Self {
        Self {
            html,
            headers: http::HeaderMap::new(),
        }
    }
}

/// What a host answers where it may send either its own page or any response: the login
/// page of [`Authenticator::start_answer`] (or a redirect to the identity provider).
#[derive(Debug, Clone)]
pub enum HostAnswer {
    /// A page with the host's headers, sent as [`HostPage`] says (HTTP 200, one
    /// `Content-Type`, the host's headers, the adapter's anti-framing and no-store headers
    /// only where the host set none).
    Page(HostPage),
    /// A response sent as it is (for example a redirect to the identity provider, or
    /// [`HttpResponse::page`] with the adapter's page headers).
    Response(HttpResponse),
}

impl From<HostPage> for HostAnswer {
    fn from(page: HostPage) -> Self {
        Self::Page(page)
    }
}

impl From<HttpResponse> for HostAnswer {
    fn from(response: HttpResponse) -> Self {
        Self::Response(response)
    }
}

/// The consent page (MedMij CONSENT-1; Bevestiging for Delen, OAUTH-13) and the decision
/// posted from it. medmij-consent's pages plug in here.
pub trait ConsentUi: Send + Sync + 'static {
    /// The page's HTML. Its form must POST (`application/x-www-form-urlencoded`) to `action`.
    /// The adapter sends it with [`CONSENT_PAGE_HEADERS`](crate::CONSENT_PAGE_HEADERS).
    fn render(&self, flow: &FlowInfo, action: &str) -> impl Future<Output = String> + Send;

    /// The page with headers of its own ([`HostPage`]: a stricter per-page CSP, for
    /// example), or why it cannot be made. The adapter calls this method (not
    /// [`ConsentUi::try_render`]), with the same meaning of an error; the default is
    /// [`ConsentUi::try_render`]'s HTML without headers.
    fn try_render_page(
        &self,
        flow: &FlowInfo,
        action: &str,
    ) -> impl Future<Output = Result<HostPage, HostError>> + Send {
        let page = self.try_render(flow, action);
        async move { page.await.map(HostPage::from) }
    }

    /// The page's HTML, or why it cannot be made (a list the wording needs is missing, the
    /// Gegevensdienst has no name in the GNL in force, CONSENT-1). The adapter calls this
    /// method through [`ConsentUi::try_render_page`] (not [`ConsentUi::render`]); an error ends the flow as MedMij OAUTH-12 case 5
    /// (the answer cannot be established when the question cannot be asked), audited with
    /// the reason; a 2.x flow on the technical-failure page (OAUTH-23). The default is
    /// [`ConsentUi::render`], which cannot fail.
    fn try_render(
        &self,
        flow: &FlowInfo,
        action: &str,
    ) -> impl Future<Output = Result<String, HostError>> + Send {
        let page = self.render(flow, action);
        async move { Ok(page.await) }
    }

    /// The decision in the posted form; anything unreadable is
    /// [`ConsentDecision::Undetermined`] (MedMij OAUTH-12 case 5). Async, like
    /// [`ConsentUi::render`]: a host that registers the decision as evidence before the code
    /// is issued (CONSENT-5: a durable write, a database round trip) awaits it here instead of
    /// blocking the runtime's worker.
    fn decision(
        &self,
        flow: &FlowInfo,
        form: &HostRequest,
    ) -> impl Future<Output = ConsentDecision> + Send;

    /// The period chosen with a grant on the 2.x consent screen (MedMij CONSENT-6): a
    /// [`ConsentPeriod::Indefinite`] grant of a 2.x Verzamelen flow makes the token endpoint
    /// issue a refresh token (OAUTH-19). The default, for 1.x hosts, is
    /// [`ConsentPeriod::ThisFlow`]; the core ignores the choice for 1.x and Delen.
    /// Async for the same reason as [`ConsentUi::decision`] (a host may record the choice).
    fn period(
        &self,
        flow: &FlowInfo,
        form: &HostRequest,
    ) -> impl Future<Output = ConsentPeriod> + Send {
        let _ = (flow, form);
        async { ConsentPeriod::ThisFlow }
    }

    /// The consent-management page (MedMij OAUTH-22, CONSENT-6): every long-lasting consent
    /// this person gave this PGO, with a form that POSTs the withdrawal, confirmed, to
    /// `action`. The default lists them with a checkbox `withdraw=<consent id>` each and a
    /// confirm button `confirm=yes` (read by [`ConsentUi::withdrawals`]).
    fn render_management(
        &self,
        info: &ManagementInfo,
        consents: &[LongLastingConsent],
        action: &str,
    ) -> impl Future<Output = String> + Send {
        let html = super::pages::management_page(info, consents, action);
        async move { html }
    }

    /// The consent-management page with headers of its own ([`HostPage`], sent as a consent
    /// page's is). The adapter calls this method (not [`ConsentUi::render_management`]); the
    /// default is [`ConsentUi::render_management`]'s HTML without headers (the adapter's
    /// defaults apply).
    fn render_management_page(
        &self,
        info: &ManagementInfo,
        consents: &[LongLastingConsent],
        action: &str,
    ) -> impl Future<Output = HostPage> + Send {
        let html = self.render_management(info, consents, action);
        async move { HostPage::from(html.await) }
    }

    /// The consents whose withdrawal the person confirmed in the posted form (MedMij
    /// OAUTH-22). The default reads the form of [`ConsentUi::render_management`]'s default:
    /// every `withdraw` value, only with `confirm=yes`; nothing without confirmation. Async
    /// like [`ConsentUi::decision`] (a host may check the confirmation against its own
    /// records).
    fn withdrawals(
        &self,
        info: &ManagementInfo,
        form: &HostRequest,
    ) -> impl Future<Output = Vec<ConsentId>> + Send {
        let _ = info;
        let pairs = || form_urlencoded::parse(form.body.as_bytes());
        let chosen = if pairs().any(|(k, v)| k == "confirm" && v == "yes") {
            pairs()
                .filter(|(k, _)| k == "withdraw")
                .filter_map(|(_, v)| ConsentId::parse(&v))
                .collect()
        } else {
            Vec::new()
        };
        async move { chosen }
    }
}

/// A FHIR back end's answer: status and `application/fhir+json` body.
///
/// A status of 400 or above is the back end refusing the request (a Lezer that refuses a
/// payload, MedMij OAUTH-16): the adapter sends it as it is and audits it as a refusal
/// (LOG-1), as MedMij OAUTH-12 case 8 when the status is 500 or above, with the first
/// `issue[].diagnostics` of an OperationOutcome body in the event's detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FhirReply {
    /// HTTP status (a 500 is sent as 503, MedMij OAUTH-12).
    pub status: u16,
    /// The FHIR JSON.
    pub body: String,
}

/// The FHIR back end behind the resource endpoint: read for Verzamelen, write for Delen
/// (MedMij OAUTH-13). It receives only requests whose Bearer token covers the path's
/// Gegevensdienst; an error becomes MedMij OAUTH-12 case 8.
pub trait FhirBackend: Send + Sync + 'static {
    /// The Zorgaanbieder and Gegevensdienst a resource path (below the resource route, for
    /// example `Patient/1`) belongs to; `None` is answered as case 7 (revealing nothing).
    /// Read from the path itself (it runs on the runtime's worker and must not block).
    fn target(&self, path: &str) -> Option<(Zorgaanbiedernaam, ScopeGegevensdienstId)>;

    /// A read (GET) for Verzamelen.
    fn read(
        &self,
        access: &ResourceAccess,
        path: &str,
        query: &str,
    ) -> impl Future<Output = Result<FhirReply, HostError>> + Send;

    /// A write (POST or PUT) for Delen.
    fn write(
        &self,
        access: &ResourceAccess,
        path: &str,
        body: &str,
    ) -> impl Future<Output = Result<FhirReply, HostError>> + Send;

    /// A write with the request's headers, for a Lezer that reads more than the body (the
    /// provenance that travels with shared data, MedMij CONSENT-4, for example in an
    /// `X-MedMij-Provenance` header). The adapter calls this method (not
    /// [`FhirBackend::write`]); the default is [`FhirBackend::write`].
    fn write_with_headers(
        &self,
        access: &ResourceAccess,
        path: &str,
        body: &str,
        headers: &http::HeaderMap,
    ) -> impl Future<Output = Result<FhirReply, HostError>> + Send {
        let _ = headers;
        self.write(access, path, body)
    }

    /// Whether this ZA GW serves `gegevensdienst` of `zorgaanbieder` at `now` (MedMij
    /// LISTS-13): what it is configured to serve and the ZAL in force lists at its endpoints,
    /// or, for 3600 s after a new version dropped it, the version before (LISTS-10). The
    /// authorization endpoint asks after a request is found valid and answers one that names
    /// a Gegevensdienst not served as OAUTH-12 case 1 ([`Pages::not_served`](super::Pages),
    /// HTTP 400, no redirect); the resource endpoint asks after the token check and answers
    /// it as case 7 (the token is no longer good for it). Both are audited with the reason.
    /// The default serves everything (a host that checks nothing against the ZAL). Answered
    /// from the lists held in memory (it runs on the runtime's worker and must not block).
    fn serves(
        &self,
        zorgaanbieder: &Zorgaanbiedernaam,
        gegevensdienst: &ScopeGegevensdienstId,
        now: SystemTime,
    ) -> bool {
        let _ = (zorgaanbieder, gegevensdienst, now);
        true
    }
}

/// Which endpoint an [`AuditEvent`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Endpoint {
    /// ZA GW: the authorization request.
    Authorize,
    /// ZA GW: the authenticator's callback.
    Login,
    /// ZA GW: the posted consent decision.
    Consent,
    /// ZA GW: the token endpoint.
    Token,
    /// ZA GW: the resource endpoint.
    Resource,
    /// PGO GW: the start of a flow.
    Start,
    /// PGO GW: the redirect back from the ZA GW (and the token request it makes).
    Redirect,
    /// ZA GW: the consent-management entry point, its login and the withdrawal (MedMij
    /// OAUTH-22). PGO GW: the "Toestemmingen aanpassen" link and the way back.
    ConsentManagement,
    /// PGO GW: collecting again with a refresh token (MedMij OAUTH-19).
    Collect,
    /// A pending flow expired before it was finished (MedMij OAUTH-12 case 5, "a flow
    /// abandoned after it started"; LOG-1): one event per flow, exactly once. ZA GW: whether
    /// the store's sweep found it or a late step ended it. PGO GW: the person never came back
    /// from the ZA GW (found by the sweep; a late way back within the grace is refused as an
    /// unknown flow, as after it). The source is the address that opened the flow; `detail`
    /// names the stage it was left at.
    FlowExpired,
}

/// One audit record (MedMij LOG-1): one per success and one per refusal, with the source
/// address. Holds no code, token or flow id (LOG-4).
#[derive(Debug, Clone)]
#[must_use]
pub struct AuditEvent {
    /// When.
    pub at: SystemTime,
    /// The request's source address.
    pub source: IpAddr,
    /// Where.
    pub endpoint: Endpoint,
    /// True for a success, false for a refusal or failure.
    pub success: bool,
    /// The MedMij OAUTH-12 case, if the outcome is one.
    pub case: Option<u8>,
    /// The client (PGO GW), when known.
    pub client_id: Option<ClientId>,
    /// The person (server-local subject), when known.
    pub subject: Option<Subject>,
    /// A short reason in words.
    pub detail: String,
    /// The consent record (grant and refusal, MedMij CONSENT-3).
    pub consent: Option<ConsentEvent>,
    /// The token endpoint's record.
    pub token: Option<TokenEvent>,
    /// The 2.x tracing identifiers of the request or its flow (MedMij OAUTH-21, LOG-6).
    pub trace: Option<TraceIds>,
    /// A withdrawn long-lasting consent (MedMij OAUTH-22, CONSENT-3).
    pub withdrawal: Option<WithdrawalEvent>,
    /// The resource endpoint's interaction (MedMij OAUTH-13: a read for Verzamelen, a write
    /// for Delen), set on every [`Endpoint::Resource`] event, refusals included, from the
    /// request's method; `None` for the other endpoints.
    pub interaction: Option<Interaction>,
}

impl AuditEvent {
    /// An event with only the required fields set.
    pub fn new(
        at: SystemTime,
        source: IpAddr,
        endpoint: Endpoint,
        success: bool,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            at,
            source,
            endpoint,
            success,
            case: None,
            client_id: None,
            subject: None,
            detail: detail.into(),
            consent: None,
            token: None,
            trace: None,
            withdrawal: None,
            interaction: None,
        }
    }
}

/// Where audit events go (MedMij LOG-1; medmij-log's `AsyncLog` plugs in here). Must not
/// fail the request: a sink that cannot write deals with that itself.
pub trait AuditSink: Send + Sync + 'static {
    /// Records one event.
    fn record(&self, event: AuditEvent) -> impl Future<Output = ()> + Send;

    /// The chain-monitoring hook (MedMij LOG-6): one [`ChainStep`] per step of a 2.x flow,
    /// besides the LOG-1 [`AuditEvent`]s. The host turns it into the JSON event it ships
    /// (medmij-log's `ChainEvent`). The default drops it (a 1.x host).
    fn chain(&self, step: ChainStep) -> impl Future<Output = ()> + Send {
        let _ = step;
        async {}
    }
}

/// The kind of a chain-monitoring step (MedMij LOG-6), one per type the rulebook names; the
/// error forms and the refresh-token steps carry medmij-log's provisional names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChainStepKind {
    /// PGO GW: sends the authorization request (front channel).
    SendAuthorizationRequest,
    /// ZA GW: receives the authorization request.
    ReceiveAuthorizationRequest,
    /// ZA GW: shows its landing page (the consent page after authentication).
    ShowLandingPage,
    /// ZA GW: the authorization request failed (OAUTH-12 cases 1 to 5).
    AuthorizationRequestError,
    /// ZA GW: sends the authentication request (OAUTH-18).
    SendAuthenticationRequest,
    /// ZA GW: receives the authentication response.
    ReceiveAuthenticationResponse,
    /// ZA GW: the authentication failed.
    AuthenticationResponseError,
    /// PGO GW: sends the token request.
    SendTokenRequest,
    /// ZA GW: receives the token request.
    ReceiveTokenRequest,
    /// The token request failed (OAUTH-12 case 6).
    TokenRequestError,
    /// PGO GW: sends a refresh-token request (OAUTH-19).
    SendRefreshTokenRequest,
    /// ZA GW: receives a refresh-token request (OAUTH-19).
    ReceiveRefreshTokenRequest,
    /// The refresh-token request failed (OAUTH-19).
    RefreshTokenRequestError,
    /// PGO GW: sends a resource request.
    SendResourceRequest,
    /// ZA GW: receives a resource request.
    ReceiveResourceRequest,
    /// ZA GW: the resource request failed (OAUTH-12 cases 7 and 8).
    ResourceRequestError,
    /// PGO GW: receives the resource response.
    ReceiveResourceResponse,
    /// PGO GW: the resource response could not be used.
    ResourceResponseError,
}

/// Which gateway emitted a [`ChainStep`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChainActor {
    /// The ZA GW (receiver of the PGO GW's requests).
    ZaGateway,
    /// The PGO GW (sender).
    PgoGateway,
}

/// The grant type of a token request in a [`ChainStep`] (MedMij OAUTH-1, OAUTH-19).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChainGrant {
    /// `authorization_code`.
    AuthorizationCode,
    /// `refresh_token` (2.x).
    RefreshToken,
}

/// One step of a 2.x flow for chain monitoring (MedMij LOG-6). By construction it holds no
/// token, code, flow id or person identifier (LOG-4): the identifiers are the OAUTH-21 UUIDs,
/// the request is named by method and path, the error by its OAuth code and the core's
/// fixed description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainStep {
    /// When.
    pub at: SystemTime,
    /// Which gateway.
    pub actor: ChainActor,
    /// The step.
    pub kind: ChainStepKind,
    /// True when the step succeeded (the error kinds are always false).
    pub success: bool,
    /// `session_id` = `X-Correlation-ID`, `trace_id` = `MedMij-Request-ID` (MedMij OAUTH-21).
    pub trace: TraceIds,
    /// The HTTP method (`GET` or `POST`, `PUT`).
    pub method: &'static str,
    /// ZA GW: the path of its own endpoint (the host prefixes its base URL); PGO GW: the
    /// URL it sent to, without query.
    pub endpoint: String,
    /// The PGO GW (sender of the request; the other party is the host itself or the
    /// Aanbieder's ZA GW).
    pub client_id: ClientId,
    /// The grant type of a token request.
    pub grant_type: Option<ChainGrant>,
    /// The Aanbieder, when known.
    pub aanbieder: Option<Zorgaanbiedernaam>,
    /// The Gegevensdienst, when the request names one.
    pub gegevensdienst: Option<ScopeGegevensdienstId>,
    /// The HTTP status answered or received.
    pub status: Option<u16>,
    /// The OAuth or OAUTH-12 error code (`invalid_grant`, `access_denied`, ...).
    pub error: Option<&'static str>,
    /// The error's fixed description (never a value from the request).
    pub description: Option<String>,
}

/// A transport error of the PGO GW's back channel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token request transport: {0}")]
pub struct TransportError(pub String);

/// The PGO GW's back channel (MedMij OAUTH-3): POSTs a token request over the host's mutual
/// TLS client (medmij-tls's connector) and returns the status and body.
pub trait TokenTransport: Send + Sync + 'static {
    /// POSTs `request.body` to `request.url` with `request.headers()`.
    fn post(
        &self,
        request: &TokenRequest,
    ) -> impl Future<Output = Result<(u16, String), TransportError>> + Send;

    /// POSTs a token or refresh request with its extra headers (2.x: `MedMij-Request-ID` and
    /// `X-Correlation-ID`, MedMij OAUTH-21). The default sends it through
    /// [`TokenTransport::post`] without them: enough for 1.x, refused by a 2.x ZA GW, so a
    /// host that speaks 2.x implements this method.
    fn post_traced(
        &self,
        request: &TracedTokenRequest,
    ) -> impl Future<Output = Result<(u16, String), TransportError>> + Send {
        self.post(&request.request)
    }
}

/// The counterpart of a flow as the PGO GW's host read it in the ZAL (MedMij LISTS-1;
/// release3 names an `InterfaceversieId` per Gegevensdienst, LISTS-15): the release line to
/// speak and the endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counterpart {
    /// 1.x or 2.x, per Zorgaanbieder and Gegevensdienst ("Releases, side by side").
    pub release: ReleaseLine,
    /// The authorization endpoint (front channel).
    pub authorization_endpoint: String,
    /// The token endpoint (back channel).
    pub token_endpoint: String,
}

/// The PGO GW's side of the person: who is logged in at the PGO, where a Zorgaanbieder's
/// endpoints are (the ZAL), and what to do with a grant.
pub trait PgoHost: Send + Sync + 'static {
    /// The person's PGO session (for example from a session cookie); `None` refuses the start
    /// (the person logs in at the PGO first). Async: a host's session store may be a
    /// database.
    fn person(&self, headers: &http::HeaderMap) -> impl Future<Output = Option<String>> + Send;

    /// The authorization and token endpoints of the scope's Zorgaanbieder from the newest ZAL
    /// (MedMij LISTS-1); `None` refuses the start. Answered from the lists held in memory
    /// (this method, like [`PgoHost::counterpart`], must not block: it runs on the runtime's
    /// worker).
    fn endpoints(&self, scope: &Scope) -> Option<(String, String)>;

    /// The access token arrived for `person`: keep it server-side (RFC 6750 5.3) and answer
    /// the browser.
    fn granted(
        &self,
        person: &str,
        grant: AccessGrant,
    ) -> impl Future<Output = HttpResponse> + Send;

    /// The release line and endpoints for the scope's Zorgaanbieder and Gegevensdienst. The
    /// default is [`PgoHost::endpoints`] in release 1.x; a 2.x host answers per counterpart.
    fn counterpart(&self, scope: &Scope) -> Option<Counterpart> {
        self.endpoints(scope)
            .map(|(authorization_endpoint, token_endpoint)| Counterpart {
                release: ReleaseLine::V1,
                authorization_endpoint,
                token_endpoint,
            })
    }

    /// A grant of either release line arrived for `person` (first flow or collected again
    /// by refresh). Its refresh token (MedMij OAUTH-19) is in the gateway's vault
    /// ([`PgoGateway::with_vault`](super::PgoGateway::with_vault)) and no longer in the
    /// grant; without a vault (or when the vault refused it) it is left in the grant. `manage` is the "Toestemmingen aanpassen" path of the PGO GW router for
    /// this Aanbieder (MedMij OAUTH-22), for a 2.x grant; offer it to the person. The
    /// default hands the access grant to [`PgoHost::granted`].
    fn granted_v2(
        &self,
        person: &str,
        grant: GrantV2,
        manage: Option<String>,
    ) -> impl Future<Output = HttpResponse> + Send {
        let _ = manage;
        self.granted(person, grant.access)
    }

    /// The person came back from the ZA GW's consent management with the right `state`
    /// (MedMij OAUTH-22). The default is a plain page; a host shows its own overview.
    fn managed(&self, person: &str) -> impl Future<Output = HttpResponse> + Send {
        let _ = person;
        async {
            HttpResponse::page(
                200,
                super::pages::plain(
                    "Uw toestemmingen bij de zorgaanbieder zijn bijgewerkt.",
                    "Your consents at the care provider have been updated.",
                    None,
                ),
            )
        }
    }

    /// Reads and checks a start request (`GET /start` or `GET /share`) before anything is
    /// stored or anyone is sent to log in (MedMij OAUTH-12: missing or unknown input is a
    /// plain page, logged, LOG-1). A host with its own query form, or with something to check
    /// first (the dossier item a Delen flow shares), answers here; async, since that check
    /// may read the host's database. The default is [`default_start_request`].
    fn start_request(
        &self,
        person: &str,
        route: StartRoute,
        query: &str,
    ) -> impl Future<Output = Result<StartRequest, StartRefused>> + Send {
        let _ = person;
        let asked = default_start_request(route, query);
        async move { asked }
    }

    /// A flow of either release line ended with a grant (after the vault took a 2.x refresh
    /// token, as for [`PgoHost::granted_v2`]). `done` carries the use case and the host's
    /// [`StartRequest::context`]. The default hands a 2.x grant to [`PgoHost::granted_v2`]
    /// and a 1.x grant to [`PgoHost::granted`].
    fn completed(
        &self,
        person: &str,
        grant: GrantV2,
        done: FlowDone,
    ) -> impl Future<Output = HttpResponse> + Send {
        async move {
            if done.release == ReleaseLine::V2 {
                self.granted_v2(person, grant, done.manage).await
            } else {
                self.granted(person, grant.access).await
            }
        }
    }

    /// A flow of `person` ended without a grant (MedMij OAUTH-12; the adapter has logged it,
    /// LOG-1). `Some` is the answer to the browser; `None` (the default) is the adapter's
    /// problem page with HTTP 400 (503 when the token request could not be sent). A flow the
    /// person abandoned ([`FailureStage::Expired`], case 5) comes here once, with no browser
    /// waiting: the answer is dropped.
    fn failed(
        &self,
        person: &str,
        failure: FlowFailure,
    ) -> impl Future<Output = Option<HttpResponse>> + Send {
        let _ = (person, failure);
        async { None }
    }
}

/// Something that went wrong for the person, with plain words in Dutch and English.
pub type PersonError<'a> = &'a (dyn PersonMessage + Sync);

/// The PGO GW route a start came through (MedMij OAUTH-13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StartRoute {
    /// `GET /start`: UCI Verzamelen (in the default reading also Delen with `use_case=delen`).
    Start,
    /// `GET /share`: UCI Delen.
    Share,
}

/// Most bytes of [`StartRequest::context`]: the host's data travels with every pending flow,
/// so it is bounded like the flow itself (MedMij OAUTH-14).
pub const MAX_START_CONTEXT: usize = 1024;

/// What the PGO GW's host read from a start request ([`PgoHost::start_request`]): the scope
/// (MedMij OAUTH-5), the use case (OAUTH-13) and what the host wants back at the flow's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartRequest {
    /// The Zorgaanbieder and its Gegevensdiensten (one for Delen).
    pub scope: Scope,
    /// Verzamelen or Delen.
    pub use_case: UseCase,
    /// Host data kept with the pending flow and handed back in [`FlowDone::context`] or
    /// [`FlowFailure::context`] (for example the dossier item a Delen flow shares); at most
    /// [`MAX_START_CONTEXT`] bytes, longer refuses the start. Never a secret: it is stored
    /// as it is in the flow store.
    pub context: Option<String>,
}

/// The host refused a start before anyone was sent to log in (MedMij OAUTH-12: missing or
/// unknown input is a plain page, never a redirect): the answer and its reason for the log.
#[derive(Debug, Clone)]
pub struct StartRefused {
    /// The page for the person (a 4xx status; the adapter sends it as it is).
    pub response: HttpResponse,
    /// The reason in words, for the audit event (LOG-1; no secret, LOG-4).
    pub detail: String,
}

impl StartRefused {
    /// HTTP 400 with the adapter's plain page in Dutch and English.
    pub fn bad_request(nl: &str, en: &str, detail: impl Into<String>) -> Self {
        Self {
            response: HttpResponse::page(400, super::pages::plain(nl, en, None)),
            detail: detail.into(),
        }
    }
}

/// The default reading of a start request ([`PgoHost::start_request`]): `scope=<naam~id>`
/// (several Gegevensdiensten separated by a space, MedMij OAUTH-5) and, on
/// [`StartRoute::Start`], `use_case=delen` for Delen; [`StartRoute::Share`] is always Delen
/// (OAUTH-13) with exactly one Gegevensdienst.
pub fn default_start_request(route: StartRoute, query: &str) -> Result<StartRequest, StartRefused> {
    let refuse = |detail: &str| {
        StartRefused::bad_request(
            "Deze aanvraag kan niet worden gestart. Kies de zorgaanbieder opnieuw in uw PGO.",
            "This request cannot be started. Please choose the care provider again in your PGO.",
            detail,
        )
    };
    let scope = super::single_param(query, "scope")
        .and_then(|s| Scope::parse(&s, crate::ScopeForm::Multiple).ok())
        .ok_or_else(|| refuse("missing or bad scope"))?;
    let use_case = match (route, super::single_param(query, "use_case").as_deref()) {
        (StartRoute::Share, _) | (StartRoute::Start, Some("delen")) => UseCase::Delen,
        _ => UseCase::Verzamelen,
    };
    if use_case == UseCase::Delen && scope.gegevensdiensten().len() != 1 {
        return Err(refuse("Delen names exactly one Gegevensdienst"));
    }
    Ok(StartRequest {
        scope,
        use_case,
        context: None,
    })
}

/// A PGO GW flow that ended with a grant, as [`PgoHost::completed`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowDone {
    /// The flow's release line.
    pub release: ReleaseLine,
    /// Verzamelen or Delen (MedMij OAUTH-13).
    pub use_case: UseCase,
    /// The host's [`StartRequest::context`] (`None` when collected again by refresh).
    pub context: Option<String>,
    /// The "Toestemmingen aanpassen" path of a 2.x grant (MedMij OAUTH-22).
    pub manage: Option<String>,
}

/// Where a PGO GW flow ended without a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureStage {
    /// The redirect back from the ZA GW carried an error or failed the `state` check
    /// (MedMij OAUTH-10, OAUTH-12 cases 1 to 5).
    Redirect,
    /// The token request could not be sent (no mutual-TLS session, MedMij OAUTH-3).
    TokenTransport,
    /// The token endpoint refused or answered outside the rules (MedMij OAUTH-12 case 6,
    /// OAUTH-6, OAUTH-7).
    TokenResponse,
    /// The person never came back from the ZA GW: the pending flow expired unfinished
    /// (MedMij OAUTH-12 case 5, "a flow abandoned after it started"), found by the sweep at
    /// a new flow or by [`PgoGateway::expire_flows`](super::PgoGateway::expire_flows). Reported
    /// once per flow; there is no browser waiting, so [`PgoHost::failed`]'s answer is not
    /// sent.
    Expired,
}

/// A PGO GW flow of a known person that ended without a grant, as [`PgoHost::failed`] sees
/// it (MedMij OAUTH-12). Holds no code or token (LOG-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowFailure {
    /// Where it ended.
    pub stage: FailureStage,
    /// The scope asked.
    pub scope: Scope,
    /// Verzamelen or Delen.
    pub use_case: UseCase,
    /// The host's [`StartRequest::context`].
    pub context: Option<String>,
    /// The MedMij OAUTH-12 case, when the outcome is one.
    pub case: Option<u8>,
    /// The redirect's `error` (RFC 6749 4.1.2.1), when the ZA GW sent one.
    pub error: Option<String>,
    /// The redirect's `error_description`, when the ZA GW sent one.
    pub error_description: Option<String>,
    /// What to tell the person, in Dutch.
    pub message_nl: &'static str,
    /// What to tell the person, in English.
    pub message_en: &'static str,
    /// What went wrong, in words, for the host's log.
    pub detail: String,
}
