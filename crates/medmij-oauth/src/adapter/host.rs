//! The small async traits the host implements, and the values they see.
//!
//! Each trait is one seam of the gateway: the routers call them in the order of MedMij
//! OAUTH-11 and turn every answer into an [`HttpResponse`]. A host implements them with
//! `async fn` (the futures must be `Send`).

use crate::{
    AccessGrant, AuthenticatedPerson, Authentication, ClientId, ConsentDecision, ConsentEvent,
    ResourceAccess, Scope, ScopeGegevensdienstId, Subject, TokenEvent, TokenRequest, UseCase,
    Zorgaanbiedernaam,
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
    /// The scope asked (MedMij OAUTH-5).
    pub scope: Scope,
    /// Verzamelen or Delen (MedMij OAUTH-13).
    pub use_case: UseCase,
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

/// The consent page (MedMij CONSENT-1; Bevestiging for Delen, OAUTH-13) and the decision
/// posted from it. medmij-consent's pages plug in here.
pub trait ConsentUi: Send + Sync + 'static {
    /// The page's HTML. Its form must POST (`application/x-www-form-urlencoded`) to `action`.
    /// The adapter sends it with [`CONSENT_PAGE_HEADERS`](crate::CONSENT_PAGE_HEADERS).
    fn render(&self, flow: &FlowInfo, action: &str) -> impl Future<Output = String> + Send;

    /// The decision in the posted form; anything unreadable is
    /// [`ConsentDecision::Undetermined`] (MedMij OAUTH-12 case 5).
    fn decision(&self, flow: &FlowInfo, form: &HostRequest) -> ConsentDecision;
}

/// A FHIR back end's answer: status and `application/fhir+json` body.
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
        }
    }
}

/// Where audit events go (MedMij LOG-1; medmij-log's `AsyncLog` plugs in here). Must not
/// fail the request: a sink that cannot write deals with that itself.
pub trait AuditSink: Send + Sync + 'static {
    /// Records one event.
    fn record(&self, event: AuditEvent) -> impl Future<Output = ()> + Send;
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
}

/// The PGO GW's side of the person: who is logged in at the PGO, where a Zorgaanbieder's
/// endpoints are (the ZAL), and what to do with a grant.
pub trait PgoHost: Send + Sync + 'static {
    /// The person's PGO session (for example from a session cookie); `None` refuses the start
    /// (the person logs in at the PGO first).
    fn person(&self, headers: &http::HeaderMap) -> Option<String>;

    /// The authorization and token endpoints of the scope's Zorgaanbieder from the newest ZAL
    /// (MedMij LISTS-1); `None` refuses the start.
    fn endpoints(&self, scope: &Scope) -> Option<(String, String)>;

    /// The access token arrived for `person`: keep it server-side (RFC 6750 5.3) and answer
    /// the browser.
    fn granted(
        &self,
        person: &str,
        grant: AccessGrant,
    ) -> impl Future<Output = HttpResponse> + Send;
}

/// Something that went wrong for the person, with plain words in Dutch and English.
pub type PersonError<'a> = &'a (dyn PersonMessage + Sync);
