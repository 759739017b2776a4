//! The ZA GW role: authorization server (session steps of MedMij OAUTH-11, token endpoint)
//! and the resource server's token check.

use crate::form::{BUF_LEN, Field};
use crate::secret::{AccessToken, Code, RandomSource, SecretHash, ThreadRandom};
use crate::store::{CodeRecord, LIFETIME, Redemption, StoreError, TokenRecord, TokenStore};
use crate::types::{
    ClientId, GegevensdienstId, Scope, ScopeError, ScopeForm, State, Subject, UseCase,
    Zorgaanbiedernaam,
};
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::time::SystemTime;

/// The OCL as the authorization server sees it: implemented by the caller, typically on top
/// of the newest valid OAuth Client List (MedMij LISTS-4, LISTS-7).
pub trait ClientRegistry {
    /// True if this hostname is on the OCL in force (MedMij OAUTH-3).
    fn is_listed(&self, client: &ClientId) -> bool;

    /// Whether this client may use this Gegevensdienst. `None` means the list release in force
    /// does not say (release 2 of the OCL has no such field): then the server's own offer
    /// decides. `Some(false)` refuses the request (MedMij OAUTH-12 case 1).
    fn may_use(&self, client: &ClientId, gegevensdienst: &GegevensdienstId) -> Option<bool> {
        let _ = (client, gegevensdienst);
        None
    }
}

impl<T: ClientRegistry + ?Sized> ClientRegistry for &T {
    fn is_listed(&self, client: &ClientId) -> bool {
        (**self).is_listed(client)
    }
    fn may_use(&self, client: &ClientId, gegevensdienst: &GegevensdienstId) -> Option<bool> {
        (**self).may_use(client, gegevensdienst)
    }
}

impl<T: ClientRegistry + ?Sized> ClientRegistry for std::sync::Arc<T> {
    fn is_listed(&self, client: &ClientId) -> bool {
        (**self).is_listed(client)
    }
    fn may_use(&self, client: &ClientId, gegevensdienst: &GegevensdienstId) -> Option<bool> {
        (**self).may_use(client, gegevensdienst)
    }
}

/// A map whose keys all come from the server's own configuration (its offer, the OCL), looked
/// up with request values. Nobody outside can add keys, so there is no hash flooding to defend
/// against (which SipHash, the default, is for); a multiply-rotate hash of 8 bytes at a time
/// is enough to spread them.
type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// The hasher of [`FastMap`] (the multiply-add scheme of `rustc-hash` 2, with its final
/// rotation so that the low bits hashbrown uses for the bucket are well mixed).
#[derive(Default)]
struct FastHasher(u64);

impl FastHasher {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    fn add(&mut self, word: u64) {
        self.0 = self.0.wrapping_add(word).wrapping_mul(Self::K);
    }
}

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let tail = chunks.remainder();
        let mut w = [0u8; 8];
        w[..tail.len()].copy_from_slice(tail);
        // The length keeps "ab" + "" and "a" + "b" apart within one key.
        self.add(u64::from_le_bytes(w) ^ ((bytes.len() as u64) << 56));
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

/// A fixed [`ClientRegistry`]: hostnames, each optionally with the Gegevensdiensten it may use.
#[derive(Debug, Clone, Default)]
pub struct StaticClientRegistry {
    clients: FastMap<ClientId, Option<Vec<GegevensdienstId>>>,
}

impl StaticClientRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lists a client; `allowed` is `None` when the list release does not say.
    pub fn with_client(mut self, client: ClientId, allowed: Option<Vec<GegevensdienstId>>) -> Self {
        self.clients.insert(client, allowed);
        self
    }
}

impl ClientRegistry for StaticClientRegistry {
    fn is_listed(&self, client: &ClientId) -> bool {
        self.clients.contains_key(client)
    }
    fn may_use(&self, client: &ClientId, gegevensdienst: &GegevensdienstId) -> Option<bool> {
        self.clients
            .get(client)?
            .as_ref()
            .map(|list| list.contains(gegevensdienst))
    }
}

/// The server's own offer and options: which Gegevensdiensten of which Zorgaanbieders this
/// authorization server serves, each as Verzamelen (Bron) or Delen (Lezer).
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    offer: FastMap<(Zorgaanbiedernaam, GegevensdienstId), UseCase>,
    /// Every offered pair as a ready single-pair scope, keyed by its text: the common request
    /// is answered without parsing or allocating a scope.
    single: FastMap<String, (Scope, GegevensdienstId, UseCase)>,
    multiple_pairs: bool,
}

impl ServerConfig {
    /// An empty offer, single-pair scopes only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a Gegevensdienst of a Zorgaanbieder to the offer.
    pub fn offer(
        mut self,
        zorgaanbieder: Zorgaanbiedernaam,
        gegevensdienst: GegevensdienstId,
        use_case: UseCase,
    ) -> Self {
        let scope = Scope::single(zorgaanbieder.clone(), gegevensdienst.clone());
        self.single.insert(
            scope.as_str().to_owned(),
            (scope, gegevensdienst.clone(), use_case),
        );
        self.offer.insert((zorgaanbieder, gegevensdienst), use_case);
        self
    }

    /// Accepts the release 1.5 multi-pair scope for Verzamelen (MedMij OAUTH-5). Delen
    /// always takes exactly one pair.
    pub fn allow_multiple_pairs(mut self, allow: bool) -> Self {
        self.multiple_pairs = allow;
        self
    }

    fn use_case(&self, z: &Zorgaanbiedernaam, g: &GegevensdienstId) -> Option<UseCase> {
        // Avoid cloning for the lookup: the offer is small and the key is a pair of Strings.
        self.offer
            .iter()
            .find(|((oz, og), _)| oz == z && og == g)
            .map(|(_, u)| *u)
    }
}

/// The longest authorization query or token request body accepted, in bytes: a bound on the
/// work an anonymous request can cause (RFC 6819 4.4.1.11, MedMij OAUTH-14).
pub const MAX_REQUEST_LEN: usize = 8192;

/// Headers for the consent (and login) page the AS shows: no framing, no caching
/// (RFC 6819 4.4.1.9 clickjacking, MedMij OAUTH-14).
pub const CONSENT_PAGE_HEADERS: &[(&str, &str)] = &[
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "frame-ancestors 'none'"),
    ("Cache-Control", "no-store"),
];

/// The cause of an invalid authorization request (MedMij OAUTH-12 case 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidCause {
    /// The query string is longer than [`MAX_REQUEST_LEN`].
    #[error("the request is longer than 8192 bytes")]
    TooLong,
    /// A parameter appears more than once (RFC 6749 3.1).
    #[error("parameter {0} appears more than once (RFC 6749 3.1)")]
    Repeated(&'static str),
    /// A required parameter is missing.
    #[error("parameter {0} is missing")]
    Missing(&'static str),
    /// `client_id` is not a hostname (MedMij OAUTH-3, LISTS-4).
    #[error("client_id is not a valid hostname (MedMij OAUTH-3)")]
    BadClientId,
    /// `client_id` is not on the OCL (MedMij OAUTH-3).
    #[error("client_id is not on the OAuth Client List (MedMij OAUTH-3)")]
    UnknownClient,
    /// `redirect_uri` is not absolute `https` without fragment on the client's host (MedMij OAUTH-4).
    #[error(
        "redirect_uri must be an absolute https URI without fragment on the client's hostname (MedMij OAUTH-4)"
    )]
    BadRedirectUri,
    /// `response_type` is not `code` (MedMij OAUTH-1).
    #[error("response_type must be code (MedMij OAUTH-1)")]
    UnsupportedResponseType,
    /// The scope is malformed (MedMij OAUTH-5).
    #[error("scope is invalid: {0} (MedMij OAUTH-5)")]
    BadScope(ScopeError),
    /// The scope names a Gegevensdienst this server does not offer for that Zorgaanbieder.
    #[error("scope names a Gegevensdienst this server does not offer (MedMij OAUTH-5)")]
    NotOffered,
    /// The scope mixes Verzamelen and Delen, or has several pairs for Delen (MedMij OAUTH-5, OAUTH-13).
    #[error(
        "Delen takes exactly one Gegevensdienst and cannot be mixed with Verzamelen (MedMij OAUTH-5, OAUTH-13)"
    )]
    DelenNotSingle,
    /// The OCL says the client may not use this Gegevensdienst (MedMij LISTS-4).
    #[error(
        "the client may not use this Gegevensdienst according to the OAuth Client List (MedMij LISTS-4)"
    )]
    ClientNotAllowed,
    /// `state` is not 1..512 characters of VSCHAR (MedMij OAUTH-10).
    #[error("state must be 1..512 printable ASCII characters (MedMij OAUTH-10)")]
    BadState,
}

/// OAUTH-12 case 1: the request is invalid. The server does not redirect to the client; it
/// shows the person a page (MedMij OAUTH-4, OAUTH-12).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid_request: {cause}")]
pub struct InvalidRequest {
    cause: InvalidCause,
}

impl InvalidRequest {
    /// The cause.
    pub fn cause(&self) -> &InvalidCause {
        &self.cause
    }

    /// The OAuth error code: always `invalid_request` (MedMij OAUTH-12 case 1).
    pub fn error(&self) -> &'static str {
        "invalid_request"
    }

    /// The `error_description`: the cause in words.
    pub fn description(&self) -> String {
        self.cause.to_string()
    }

    /// HTTP status of the page: 400.
    pub fn status(&self) -> u16 {
        400
    }

    /// `{"error":"invalid_request","error_description":...}` for an API-style answer.
    pub fn to_json(&self) -> String {
        serde_json::json!({"error": self.error(), "error_description": self.description()})
            .to_string()
    }

    /// A complete, minimal HTML page for the person (Dutch and English, then `invalid_request`
    /// and the cause), served with status [`InvalidRequest::status`] and
    /// [`CONSENT_PAGE_HEADERS`]. Never a redirect (MedMij OAUTH-4, OAUTH-12 case 1).
    pub fn to_html(&self) -> String {
        let mut cause = String::new();
        for c in self.description().chars() {
            match c {
                '&' => cause.push_str("&amp;"),
                '<' => cause.push_str("&lt;"),
                '>' => cause.push_str("&gt;"),
                '"' => cause.push_str("&quot;"),
                '\'' => cause.push_str("&#39;"),
                c => cause.push(c),
            }
        }
        format!(
            "<!DOCTYPE html>\n<html lang=\"nl\"><head><meta charset=\"utf-8\">\
             <title>Ongeldig verzoek / Invalid request</title></head><body>\
             <p>{}</p><p lang=\"en\">{}</p><p><code>{}</code>: {}</p></body></html>\n",
            self.message_nl(),
            self.message_en(),
            self.error(),
            cause
        )
    }

    /// A plain-language message in Dutch for the person (shown directly, no redirect).
    pub fn message_nl(&self) -> &'static str {
        "Het verzoek van uw persoonlijke gezondheidsomgeving (PGO) is ongeldig. U wordt niet teruggestuurd; probeer het opnieuw vanuit uw PGO."
    }

    /// A plain-language message in English for the person.
    pub fn message_en(&self) -> &'static str {
        "The request from your personal health environment (PGO) is invalid. You will not be sent back; please try again from your PGO."
    }
}

fn invalid(cause: InvalidCause) -> InvalidRequest {
    InvalidRequest { cause }
}

/// A validated authorization request (MedMij OAUTH-1, 3, 4, 5, 10).
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    client_id: ClientId,
    redirect_uri: Arc<str>,
    scope: Scope,
    state: State,
    use_case: UseCase,
}

impl AuthorizationRequest {
    /// The client.
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }
    /// The exact `redirect_uri` text.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }
    /// The requested scope.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
    /// Verzamelen or Delen, from the server's offer.
    pub fn use_case(&self) -> UseCase {
        self.use_case
    }
}

/// Where the session is; used in [`SessionError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// Waiting for the authenticator's answer.
    AwaitingAuthentication,
    /// Waiting for the answer whether the Zorgaanbieder has data of this person.
    AwaitingDataCheck,
    /// Waiting for the person's consent decision.
    AwaitingConsent,
    /// Consent granted; the code can be issued.
    ReadyToIssue,
    /// The session ended (redirect produced); nothing more can happen.
    Finished,
}

/// A session step was called out of the order of MedMij OAUTH-11.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{step} called while the session is {stage:?} (MedMij OAUTH-11 order)")]
pub struct SessionError {
    /// The step that was called.
    pub step: &'static str,
    /// Where the session was.
    pub stage: SessionStage,
}

/// The answer of the pluggable authenticator (DigiD/SAML in production).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    /// The person is identified.
    Established(Subject),
    /// The identity could not be established (MedMij OAUTH-12 case 2).
    Failed,
}

/// The person's answer to the Toestemming (Verzamelen) or Bevestiging (Delen) question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentDecision {
    /// Yes.
    Granted,
    /// No (MedMij OAUTH-12 case 4).
    Refused,
    /// The answer could not be established (MedMij OAUTH-12 case 5).
    Undetermined,
}

/// An exception case of MedMij OAUTH-12 that ends in a redirect to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCase {
    /// Case 2: the person's identity cannot be established.
    IdentityNotEstablished,
    /// Case 3: no data of this person for this Gegevensdienst.
    NoSuchResources,
    /// Case 4: the person refuses.
    Denied,
    /// Case 5: the answer to the authorization question cannot be established.
    Failed,
}

impl ErrorCase {
    /// The number in the OAUTH-12 table.
    pub fn number(self) -> u8 {
        match self {
            ErrorCase::IdentityNotEstablished => 2,
            ErrorCase::NoSuchResources => 3,
            ErrorCase::Denied => 4,
            ErrorCase::Failed => 5,
        }
    }

    /// The OAuth `error` (MedMij OAUTH-12).
    pub fn error(self) -> &'static str {
        match self {
            ErrorCase::IdentityNotEstablished => "unauthorized_client",
            _ => "access_denied",
        }
    }

    /// The exact `error_description` (MedMij OAUTH-12); case 2 has none.
    pub fn description(self) -> Option<&'static str> {
        match self {
            ErrorCase::IdentityNotEstablished => None,
            ErrorCase::NoSuchResources => Some("No such resources."),
            ErrorCase::Denied => Some("Authorization denied."),
            ErrorCase::Failed => Some("Authorization failed."),
        }
    }
}

/// What a redirect carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    /// `code` and `state`: the happy flow.
    Code,
    /// `error`, maybe `error_description`, and `state`.
    Error(ErrorCase),
}

/// A redirect to the client's `redirect_uri` (HTTP 302 with this `Location`).
#[derive(Clone, PartialEq, Eq)]
pub struct Redirect {
    location: String,
    kind: RedirectKind,
}

impl Redirect {
    /// The `Location` header value. It contains a code: never log it (MedMij LOG-4).
    pub fn location(&self) -> &str {
        &self.location
    }
    /// What the redirect carries.
    pub fn kind(&self) -> RedirectKind {
        self.kind
    }
}

impl fmt::Debug for Redirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redirect")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The consent record to log: grant and refusal both (MedMij CONSENT-3, LOG-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentEvent {
    /// The person (server-local identifier).
    pub subject: Subject,
    /// The client (PGO gateway) the consent is about.
    pub client_id: ClientId,
    /// The scope asked.
    pub scope: Scope,
    /// Toestemming (Verzamelen) or Bevestiging (Delen).
    pub use_case: UseCase,
    /// Granted or refused.
    pub decision: ConsentDecision,
    /// When.
    pub at: SystemTime,
}

/// The result of [`Session::consent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentOutcome {
    /// Granted: log the event, then call [`AuthorizationServer::issue_code`].
    Granted(ConsentEvent),
    /// Refused: log the event and send the redirect (MedMij OAUTH-12 case 4).
    Refused(ConsentEvent, Redirect),
    /// Undetermined: send the redirect (MedMij OAUTH-12 case 5).
    Undetermined(Redirect),
}

#[derive(Clone)]
enum Stage {
    AwaitingAuthentication,
    AwaitingDataCheck(Subject),
    AwaitingConsent(Subject),
    ReadyToIssue(Subject),
    Finished,
}

/// One run of the authorization flow at the AS, from a valid authorization request to the
/// redirect (MedMij OAUTH-11). The caller keeps it in the person's user-agent session and
/// calls the steps in order; a step out of order is a [`SessionError`].
#[derive(Clone)]
pub struct Session {
    request: AuthorizationRequest,
    stage: Stage,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("request", &self.request)
            .field("stage", &self.stage())
            .finish()
    }
}

impl Session {
    /// The validated request.
    pub fn request(&self) -> &AuthorizationRequest {
        &self.request
    }

    /// Where the session is.
    pub fn stage(&self) -> SessionStage {
        match self.stage {
            Stage::AwaitingAuthentication => SessionStage::AwaitingAuthentication,
            Stage::AwaitingDataCheck(_) => SessionStage::AwaitingDataCheck,
            Stage::AwaitingConsent(_) => SessionStage::AwaitingConsent,
            Stage::ReadyToIssue(_) => SessionStage::ReadyToIssue,
            Stage::Finished => SessionStage::Finished,
        }
    }

    fn out_of_order(&self, step: &'static str) -> SessionError {
        SessionError {
            step,
            stage: self.stage(),
        }
    }

    fn error_redirect(&mut self, case: ErrorCase) -> Redirect {
        self.stage = Stage::Finished;
        let mut pairs = vec![("error", case.error())];
        if let Some(d) = case.description() {
            pairs.push(("error_description", d));
        }
        pairs.push(("state", self.request.state.as_str()));
        Redirect {
            location: redirect_location(&self.request.redirect_uri, &pairs),
            kind: RedirectKind::Error(case),
        }
    }

    /// Step 1: the authenticator's answer. `Failed` ends the flow with OAUTH-12 case 2.
    pub fn authenticated(
        &mut self,
        result: Authentication,
    ) -> Result<Option<Redirect>, SessionError> {
        if !matches!(self.stage, Stage::AwaitingAuthentication) {
            return Err(self.out_of_order("authenticated"));
        }
        match result {
            Authentication::Established(subject) => {
                self.stage = Stage::AwaitingDataCheck(subject);
                Ok(None)
            }
            Authentication::Failed => {
                Ok(Some(self.error_redirect(ErrorCase::IdentityNotEstablished)))
            }
        }
    }

    /// Step 2: whether the Zorgaanbieder has data of this person for the scope (for Delen:
    /// whether the Lezer can accept data for this person). `false` ends the flow with
    /// OAUTH-12 case 3.
    pub fn data_available(&mut self, available: bool) -> Result<Option<Redirect>, SessionError> {
        let Stage::AwaitingDataCheck(subject) = &self.stage else {
            return Err(self.out_of_order("data_available"));
        };
        if available {
            self.stage = Stage::AwaitingConsent(subject.clone());
            Ok(None)
        } else {
            Ok(Some(self.error_redirect(ErrorCase::NoSuchResources)))
        }
    }

    /// Step 3: the person's decision (CONSENT-1/2). Refusal is logged and ends with case 4;
    /// undetermined ends with case 5 (MedMij OAUTH-12, CONSENT-3).
    pub fn consent(
        &mut self,
        decision: ConsentDecision,
        now: SystemTime,
    ) -> Result<ConsentOutcome, SessionError> {
        let Stage::AwaitingConsent(subject) = &self.stage else {
            return Err(self.out_of_order("consent"));
        };
        let subject = subject.clone();
        let event = |decision| ConsentEvent {
            subject: subject.clone(),
            client_id: self.request.client_id.clone(),
            scope: self.request.scope.clone(),
            use_case: self.request.use_case,
            decision,
            at: now,
        };
        match decision {
            ConsentDecision::Granted => {
                let e = event(decision);
                self.stage = Stage::ReadyToIssue(subject);
                Ok(ConsentOutcome::Granted(e))
            }
            ConsentDecision::Refused => {
                let e = event(decision);
                Ok(ConsentOutcome::Refused(
                    e,
                    self.error_redirect(ErrorCase::Denied),
                ))
            }
            ConsentDecision::Undetermined => Ok(ConsentOutcome::Undetermined(
                self.error_redirect(ErrorCase::Failed),
            )),
        }
    }
}

/// How many times the server draws a new code or token after a collision before giving up.
/// With a CSPRNG a single collision is already practically impossible (MedMij OAUTH-6).
const MAX_DRAWS: usize = 8;

/// Error of [`AuthorizationServer::issue_code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The session is not at [`SessionStage::ReadyToIssue`].
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The store failed, or every draw collided.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The OAuth error codes of the token endpoint (RFC 6749 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenErrorCode {
    /// Malformed request: missing or repeated parameter.
    InvalidRequest,
    /// The mTLS client is not on the OCL, or `client_id` differs from it (MedMij OAUTH-3).
    InvalidClient,
    /// The code is invalid, expired, replayed, or bound to another client or redirect_uri
    /// (MedMij OAUTH-12 case 6; OAUTH-7, 8, 9).
    InvalidGrant,
    /// `grant_type` is not `authorization_code` (MedMij OAUTH-1).
    UnsupportedGrantType,
    /// The store failed (not an RFC 6749 5.2 code; HTTP 500).
    ServerError,
}

impl TokenErrorCode {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenErrorCode::InvalidRequest => "invalid_request",
            TokenErrorCode::InvalidClient => "invalid_client",
            TokenErrorCode::InvalidGrant => "invalid_grant",
            TokenErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            TokenErrorCode::ServerError => "server_error",
        }
    }
}

/// The HTTP answer of the token endpoint.
#[derive(Clone, PartialEq, Eq)]
pub enum TokenResponse {
    /// RFC 6749 5.1: an access token.
    Issued {
        /// The token (MedMij OAUTH-6).
        access_token: AccessToken,
        /// Exactly the consented scope (MedMij OAUTH-5).
        scope: Scope,
    },
    /// RFC 6749 5.2: an error.
    Error {
        /// The error code.
        error: TokenErrorCode,
        /// The `error_description`.
        description: &'static str,
    },
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenResponse::Issued { scope, .. } => f
                .debug_struct("Issued")
                .field("scope", scope)
                .finish_non_exhaustive(),
            TokenResponse::Error { error, description } => f
                .debug_struct("Error")
                .field("error", error)
                .field("description", description)
                .finish(),
        }
    }
}

impl TokenResponse {
    /// HTTP status: 200, 400 (401 for `invalid_client`, RFC 6749 5.2; 500 for a store failure).
    pub fn status(&self) -> u16 {
        match self {
            TokenResponse::Issued { .. } => 200,
            TokenResponse::Error {
                error: TokenErrorCode::InvalidClient,
                ..
            } => 401,
            TokenResponse::Error {
                error: TokenErrorCode::ServerError,
                ..
            } => 500,
            TokenResponse::Error { .. } => 400,
        }
    }

    /// Response headers besides the status: JSON, and no caching (RFC 6749 5.1).
    pub fn headers(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("Content-Type", "application/json;charset=UTF-8"),
            ("Cache-Control", "no-store"),
            ("Pragma", "no-cache"),
        ]
    }

    /// The JSON body: RFC 6749 5.1 (`token_type` `bearer`, `expires_in` 900, `scope`; no
    /// refresh token, MedMij OAUTH-1) or 5.2.
    pub fn body(&self) -> String {
        match self {
            TokenResponse::Issued {
                access_token,
                scope,
            } => {
                // Written directly (the same text serde_json gives; tested): this is on every
                // token request.
                let mut buf = [0u8; 36];
                let scope = scope.as_str();
                let mut out = String::with_capacity(128 + scope.len());
                out.push_str(r#"{"access_token":""#);
                out.push_str(access_token.encode(&mut buf));
                out.push_str(r#"","token_type":"bearer","expires_in":"#);
                out.push_str(EXPIRES_IN);
                out.push_str(r#","scope":"#);
                push_json_str(&mut out, scope);
                out.push('}');
                out
            }
            TokenResponse::Error { error, description } => {
                let mut out = String::with_capacity(48 + description.len());
                out.push_str(r#"{"error":"#);
                push_json_str(&mut out, error.as_str());
                out.push_str(r#","error_description":"#);
                push_json_str(&mut out, description);
                out.push('}');
                out
            }
        }
    }
}

/// `expires_in` as written in the token response: [`LIFETIME`] in seconds (MedMij OAUTH-7).
const EXPIRES_IN: &str = "900";
const _: () = assert!(LIFETIME.as_secs() == 900 && LIFETIME.subsec_nanos() == 0);

/// Appends `s` as a JSON string, escaped as serde_json escapes it (RFC 8259 7: `"`, `\` and
/// the control characters; `\b \f \n \r \t` in short form, the others as `\u00xx`).
fn push_json_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut rest = s;
    while let Some(i) = rest
        .bytes()
        .position(|c| c < 0x20 || c == b'"' || c == b'\\')
    {
        out.push_str(&rest[..i]);
        let c = rest.as_bytes()[i];
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(c >> 4)]));
                out.push(char::from(HEX[usize::from(c & 15)]));
            }
        }
        // The escaped byte is ASCII: the next one starts a character.
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
    out.push('"');
}

/// What the token endpoint did, for the log (MedMij LOG-1). Holds no code or token (LOG-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenEvent {
    /// A token was issued.
    Issued {
        /// To whom.
        client_id: ClientId,
        /// For what.
        scope: Scope,
        /// For whom.
        subject: Subject,
    },
    /// A code was presented a second time: a breach (MedMij OAUTH-8).
    Replay {
        /// Who presented it.
        client_id: ClientId,
        /// True if a still-valid token issued for the code was revoked by this presentation.
        token_revoked: bool,
    },
    /// The request was refused.
    Refused {
        /// Who asked.
        client_id: ClientId,
        /// The error sent.
        error: TokenErrorCode,
        /// Why, in words.
        reason: &'static str,
    },
}

/// The result of [`AuthorizationServer::token`]: the HTTP answer and the log event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOutcome {
    /// The answer to send.
    pub response: TokenResponse,
    /// The event to log.
    pub event: TokenEvent,
}

/// The kind of resource interaction (MedMij OAUTH-13): Verzamelen reads, Delen writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    /// FHIR read/search (Verzamelen).
    Read,
    /// FHIR POST/transaction (Delen).
    Write,
}

/// A resource request that may proceed: the person and scope the token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceAccess {
    /// The person (MedMij OAUTH-11: the token stands for the person).
    pub subject: Subject,
    /// The token's scope.
    pub scope: Scope,
    /// The client that holds the token.
    pub client_id: ClientId,
    /// When the token expires.
    pub expires_at: SystemTime,
}

/// Why a resource request was refused (MedMij OAUTH-12 case 7) or could not be served (case 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceErrorKind {
    /// No `Authorization` header (RFC 6750 3.1: no error code in the challenge).
    MissingToken,
    /// The header is not `Bearer <canonical UUID v4>` (MedMij OAUTH-2, OAUTH-6).
    Malformed,
    /// Unknown, expired (OAUTH-7) or revoked (OAUTH-8) token.
    InvalidToken,
    /// Valid token, but not for this Zorgaanbieder/Gegevensdienst or interaction
    /// (MedMij OAUTH-5, OAUTH-13). Answered like an invalid token, revealing nothing.
    WrongScope,
    /// OAUTH-12 case 8: the back-end systems cannot deliver (also used when the token store fails).
    BackendUnavailable,
}

/// A refused or failed resource request, answered with a FHIR OperationOutcome
/// (MedMij OAUTH-12 cases 7 and 8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceError {
    kind: ResourceErrorKind,
}

impl ResourceError {
    /// MedMij OAUTH-12 case 8: the back-end systems cannot deliver.
    pub fn backend_unavailable() -> Self {
        ResourceError {
            kind: ResourceErrorKind::BackendUnavailable,
        }
    }

    /// Why.
    pub fn kind(&self) -> ResourceErrorKind {
        self.kind
    }

    /// The OAUTH-12 case number: 7 or 8.
    pub fn case_number(&self) -> u8 {
        match self.kind {
            ResourceErrorKind::BackendUnavailable => 8,
            _ => 7,
        }
    }

    /// HTTP status: 401 for case 7 (RFC 6750 3.1), 503 for case 8.
    pub fn status(&self) -> u16 {
        match self.kind {
            ResourceErrorKind::BackendUnavailable => 503,
            _ => 401,
        }
    }

    /// The `WWW-Authenticate` header for case 7 (RFC 6750 3): `Bearer error="invalid_token"`,
    /// or bare `Bearer` when the request had no credentials at all (RFC 6750 3.1).
    pub fn www_authenticate(&self) -> Option<&'static str> {
        match self.kind {
            ResourceErrorKind::BackendUnavailable => None,
            ResourceErrorKind::MissingToken => Some("Bearer"),
            _ => Some(r#"Bearer error="invalid_token""#),
        }
    }

    /// `Content-Type` of the body.
    pub fn content_type(&self) -> &'static str {
        "application/fhir+json"
    }

    /// The FHIR OperationOutcome: issue code `suppressed` (case 7) or `incomplete` (case 8).
    pub fn operation_outcome(&self) -> serde_json::Value {
        let (code, text) = match self.kind {
            ResourceErrorKind::BackendUnavailable => (
                "incomplete",
                "The back-end systems cannot deliver the requested data.",
            ),
            _ => (
                "suppressed",
                "The access token is not valid for this request.",
            ),
        };
        serde_json::json!({
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": text}],
        })
    }

    /// The OperationOutcome as a JSON string.
    pub fn body(&self) -> String {
        self.operation_outcome().to_string()
    }
}

/// Parses an `Authorization` header value `Bearer <token>` (RFC 6750 2.1; scheme name
/// case-insensitive, RFC 9110 11.1) into an access token of canonical form (MedMij OAUTH-6).
pub fn parse_bearer(header: &str) -> Option<AccessToken> {
    bearer_text(header).and_then(AccessToken::parse)
}

/// The token text of `Bearer <token>`, before the token itself is checked.
fn bearer_text(header: &str) -> Option<&str> {
    let (scheme, rest) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    Some(rest.trim_start_matches(' '))
}

/// Collects the named parameters of a form-encoded string; a repeated one is an error
/// (RFC 6749 3.1, 3.2). Unknown parameters are ignored (RFC 6749 3.1).
/// `index` gives the position of a name in `names` (a `match` on the literal names, which the
/// compiler turns into length checks and inline comparisons).
fn collect_params<'a, const N: usize>(
    input: &'a str,
    names: &[&'static str; N],
    index: impl Fn(&str) -> Option<usize>,
) -> Result<[Option<Field<'a>>; N], &'static str> {
    let mut values: [Option<Field<'a>>; N] = [None; N];
    for (k, v) in crate::form::parse(input) {
        if let Some(i) = index(&k) {
            debug_assert_eq!(names[i], k);
            if values[i].is_some() {
                return Err(names[i]);
            }
            values[i] = Some(v);
        }
    }
    Ok(values)
}

/// Checks a redirect URI per MedMij OAUTH-4: absolute, `https`, no fragment, host equal to the
/// client's hostname (exactly: no user info, no other case, no percent-encoded host), an
/// optional port, and otherwise only RFC 3986 URI characters.
fn check_redirect_uri(raw: &str, client: &ClientId) -> bool {
    let Some(rest) = raw
        .as_bytes()
        .strip_prefix(b"https://")
        .and_then(|r| r.strip_prefix(client.as_bytes()))
    else {
        return false;
    };
    let rest = match rest.strip_prefix(b":") {
        Some(p) => {
            let digits = p.iter().take_while(|c| c.is_ascii_digit()).count();
            if !(1..=5).contains(&digits) {
                return false;
            }
            &p[digits..]
        }
        None => rest,
    };
    if !(rest.is_empty() || rest.starts_with(b"/") || rest.starts_with(b"?")) {
        return false;
    }
    rest.iter().all(|&c| URI_CHAR[usize::from(c)])
}

/// The bytes [`check_redirect_uri`] allows after the host: ASCII letters and digits and
/// `-._~:/?[]@!$&'()*+,;=%`.
const URI_CHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = (c as u8).is_ascii_alphanumeric();
        c += 1;
    }
    let extra = b"-._~:/?[]@!$&'()*+,;=%";
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
};

/// Appends form-encoded pairs to a checked redirect URI (which has no fragment), keeping any
/// query it already has (RFC 6749 3.1.2).
fn redirect_location(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(redirect_uri.len() + 96);
    out.push_str(redirect_uri);
    if !redirect_uri.contains('?') {
        out.push('?');
    } else if !redirect_uri.ends_with(['?', '&']) {
        out.push('&');
    }
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        crate::form::encode_into(&mut out, v);
    }
    out
}

/// The ZA GW authorization server and resource-server token check. Sans-IO: every call takes
/// its input (and the time) and returns its output.
pub struct AuthorizationServer<S, C, R = ThreadRandom> {
    config: ServerConfig,
    clients: C,
    store: S,
    random: R,
}

impl<S, C, R> fmt::Debug for AuthorizationServer<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationServer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S: TokenStore, C: ClientRegistry> AuthorizationServer<S, C, ThreadRandom> {
    /// A server with the default CSPRNG.
    pub fn new(config: ServerConfig, clients: C, store: S) -> Self {
        Self::with_random(config, clients, store, ThreadRandom)
    }
}

impl<S: TokenStore, C: ClientRegistry, R: RandomSource> AuthorizationServer<S, C, R> {
    /// A server with an injected random source (tests; MedMij OAUTH-6).
    pub fn with_random(config: ServerConfig, clients: C, store: S, random: R) -> Self {
        AuthorizationServer {
            config,
            clients,
            store,
            random,
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Validates an authorization request (the query string of the authorization endpoint)
    /// and opens a session, or refuses it per MedMij OAUTH-12 case 1 (no redirect).
    pub fn authorize(&self, query: &str) -> Result<Session, InvalidRequest> {
        use InvalidCause::*;
        const NAMES: [&str; 5] = [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
        ];
        if query.len() > MAX_REQUEST_LEN {
            return Err(invalid(TooLong));
        }
        let [response_type, client_id, redirect_uri, scope, state] =
            collect_params(query, &NAMES, |k| match k {
                "response_type" => Some(0),
                "client_id" => Some(1),
                "redirect_uri" => Some(2),
                "scope" => Some(3),
                "state" => Some(4),
                _ => None,
            })
            .map_err(|n| invalid(Repeated(n)))?;
        // Client and redirect first: until both are known good, nothing may be redirected
        // (MedMij OAUTH-4).
        let client_id = client_id.ok_or(invalid(Missing("client_id")))?;
        let client_id = ClientId::parse(&client_id.decode()).map_err(|_| invalid(BadClientId))?;
        if !self.clients.is_listed(&client_id) {
            return Err(invalid(UnknownClient));
        }
        let redirect_uri = redirect_uri.ok_or(invalid(Missing("redirect_uri")))?;
        let mut buf = [0u8; BUF_LEN];
        let redirect_uri = redirect_uri.decode_in(&mut buf);
        if !check_redirect_uri(&redirect_uri, &client_id) {
            return Err(invalid(BadRedirectUri));
        }
        match response_type.map(Field::decode).as_deref() {
            None => return Err(invalid(Missing("response_type"))),
            Some("code") => {}
            Some(_) => return Err(invalid(UnsupportedResponseType)),
        }
        let state = state.ok_or(invalid(Missing("state")))?;
        let state = State::parse(&state.decode()).map_err(|_| invalid(BadState))?;
        let scope = scope.ok_or(invalid(Missing("scope")))?;
        let mut scope_buf = [0u8; BUF_LEN];
        let scope = scope.decode_in(&mut scope_buf);
        let form = if self.config.multiple_pairs {
            ScopeForm::Multiple
        } else {
            ScopeForm::Single
        };
        if let Some((scope, g, use_case)) = self.config.single.get(&*scope) {
            // Fast path: exactly one offered pair (the same checks as below).
            if self.clients.may_use(&client_id, g) == Some(false) {
                return Err(invalid(ClientNotAllowed));
            }
            return Ok(Session {
                request: AuthorizationRequest {
                    client_id,
                    redirect_uri: Arc::from(&*redirect_uri),
                    scope: scope.clone(),
                    state,
                    use_case: *use_case,
                },
                stage: Stage::AwaitingAuthentication,
            });
        }
        let scope = Scope::parse(&scope, form).map_err(|e| invalid(BadScope(e)))?;
        let mut use_case = None;
        for g in scope.gegevensdiensten() {
            let u = self
                .config
                .use_case(scope.zorgaanbieder(), g)
                .ok_or(invalid(NotOffered))?;
            if self.clients.may_use(&client_id, g) == Some(false) {
                return Err(invalid(ClientNotAllowed));
            }
            match use_case {
                None => use_case = Some(u),
                Some(prev) if prev == u => {}
                Some(_) => return Err(invalid(DelenNotSingle)),
            }
        }
        let use_case = use_case.ok_or(invalid(BadScope(ScopeError::Empty)))?;
        if use_case == UseCase::Delen && scope.gegevensdiensten().len() != 1 {
            return Err(invalid(DelenNotSingle));
        }
        Ok(Session {
            request: AuthorizationRequest {
                client_id,
                redirect_uri: Arc::from(&*redirect_uri),
                scope,
                state,
                use_case,
            },
            stage: Stage::AwaitingAuthentication,
        })
    }

    /// Step 4: issues the code (MedMij OAUTH-6, 7) and the redirect with `code` and `state`
    /// (OAUTH-10). The session must be [`SessionStage::ReadyToIssue`].
    pub fn issue_code(
        &self,
        session: &mut Session,
        now: SystemTime,
    ) -> Result<Redirect, IssueError> {
        let Stage::ReadyToIssue(subject) = &session.stage else {
            return Err(session.out_of_order("issue_code").into());
        };
        let req = &session.request;
        let record = CodeRecord {
            client_id: req.client_id.clone(),
            redirect_uri: Arc::clone(&req.redirect_uri),
            scope: req.scope.clone(),
            subject: subject.clone(),
            use_case: req.use_case,
            issued_at: now,
        };
        let code =
            self.draw_unique(|code: &Code| self.store.insert_code(&code.hash(), &record, now))?;
        let mut buf = [0u8; 36];
        let location = redirect_location(
            &req.redirect_uri,
            &[
                ("code", code.encode(&mut buf)),
                ("state", req.state.as_str()),
            ],
        );
        session.stage = Stage::Finished;
        Ok(Redirect {
            location,
            kind: RedirectKind::Code,
        })
    }

    /// Draws values until `insert` accepts one without collision (MedMij OAUTH-6).
    fn draw_unique<T>(
        &self,
        mut insert: impl FnMut(&T) -> Result<(), StoreError>,
    ) -> Result<T, StoreError>
    where
        T: Drawn,
    {
        for _ in 0..MAX_DRAWS {
            let v = T::draw_from(&self.random);
            match insert(&v) {
                Ok(()) => return Ok(v),
                Err(StoreError::Collision) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Collision)
    }

    /// The token endpoint: `body` is the `application/x-www-form-urlencoded` request body and
    /// `client` the hostname from the client's mTLS certificate (MedMij OAUTH-3).
    ///
    /// Any syntactically valid code in the body is retired at once, whatever the outcome
    /// (MedMij OAUTH-8).
    pub fn token(&self, body: &str, client: &ClientId, now: SystemTime) -> TokenOutcome {
        let refuse = |error, reason| TokenOutcome {
            response: TokenResponse::Error {
                error,
                description: reason,
            },
            event: TokenEvent::Refused {
                client_id: client.clone(),
                error,
                reason,
            },
        };
        if body.len() > MAX_REQUEST_LEN {
            return refuse(
                TokenErrorCode::InvalidRequest,
                "The request body is longer than 8192 bytes.",
            );
        }
        // One pass over the body: collect the parameters and retire every valid code in it at
        // once (MedMij OAUTH-8: whatever the outcome).
        let mut redemption: Option<(SecretHash, Redemption)> = None;
        let [mut grant_type, mut code, mut redirect_uri, mut client_id] = [None, None, None, None];
        let mut repeated = false;
        for (k, v) in crate::form::parse(body) {
            let slot = match &*k {
                "grant_type" => &mut grant_type,
                "code" => {
                    if let Some((_, hash)) = Code::parse_hashed(&v.decode()) {
                        match self.store.redeem_code(&hash, now) {
                            Ok(r) => {
                                if redemption.is_none() || matches!(r, Redemption::Replayed { .. })
                                {
                                    redemption = Some((hash, r));
                                }
                            }
                            Err(_) => {
                                return refuse(
                                    TokenErrorCode::ServerError,
                                    "The token store failed.",
                                );
                            }
                        }
                    }
                    &mut code
                }
                "redirect_uri" => &mut redirect_uri,
                "client_id" => &mut client_id,
                _ => continue,
            };
            repeated |= slot.is_some();
            *slot = Some(v);
        }
        if repeated {
            return refuse(
                TokenErrorCode::InvalidRequest,
                "A parameter appears more than once (RFC 6749 3.2).",
            );
        }
        if let Some((_, Redemption::Replayed { token_revoked })) = &redemption {
            // MedMij OAUTH-8: a second presentation is a breach; the token is revoked.
            return TokenOutcome {
                response: TokenResponse::Error {
                    error: TokenErrorCode::InvalidGrant,
                    description: "The authorization code was already used (MedMij OAUTH-8).",
                },
                event: TokenEvent::Replay {
                    client_id: client.clone(),
                    token_revoked: *token_revoked,
                },
            };
        }
        match grant_type.map(Field::decode).as_deref() {
            None => {
                return refuse(TokenErrorCode::InvalidRequest, "grant_type is missing.");
            }
            Some("authorization_code") => {}
            Some(_) => {
                return refuse(
                    TokenErrorCode::UnsupportedGrantType,
                    "Only grant_type authorization_code is supported (MedMij OAUTH-1).",
                );
            }
        }
        if !self.clients.is_listed(client) {
            return refuse(
                TokenErrorCode::InvalidClient,
                "The client certificate's hostname is not on the OAuth Client List (MedMij OAUTH-3).",
            );
        }
        if let Some(id) = client_id
            && id.decode().as_bytes() != client.as_bytes()
        {
            return refuse(
                TokenErrorCode::InvalidClient,
                "client_id differs from the client certificate's hostname (MedMij OAUTH-3).",
            );
        }
        if code.is_none() {
            return refuse(TokenErrorCode::InvalidRequest, "code is missing.");
        }
        let Some(redirect_uri) = redirect_uri else {
            return refuse(TokenErrorCode::InvalidRequest, "redirect_uri is missing.");
        };
        let invalid_grant = |reason| refuse(TokenErrorCode::InvalidGrant, reason);
        let Some((code_hash, redemption)) = redemption else {
            return invalid_grant("The authorization code is not valid.");
        };
        let record = match redemption {
            Redemption::Fresh(r) => r,
            Redemption::Expired => {
                return invalid_grant("The authorization code has expired (MedMij OAUTH-7).");
            }
            Redemption::Unknown | Redemption::Replayed { .. } => {
                return invalid_grant("The authorization code is not valid.");
            }
        };
        if &record.client_id != client {
            return invalid_grant(
                "The authorization code was issued to another client (MedMij OAUTH-9).",
            );
        }
        let mut buf = [0u8; BUF_LEN];
        if *record.redirect_uri != *redirect_uri.decode_in(&mut buf) {
            return invalid_grant(
                "redirect_uri differs from the authorization request (MedMij OAUTH-9).",
            );
        }
        let token_record = TokenRecord {
            client_id: record.client_id,
            scope: record.scope,
            subject: record.subject,
            use_case: record.use_case,
            issued_at: now,
        };
        match self.draw_unique(|t: &AccessToken| {
            self.store
                .insert_token(&t.hash(), &token_record, &code_hash, now)
        }) {
            Ok(access_token) => TokenOutcome {
                event: TokenEvent::Issued {
                    client_id: token_record.client_id,
                    scope: token_record.scope.clone(),
                    subject: token_record.subject,
                },
                response: TokenResponse::Issued {
                    access_token,
                    scope: token_record.scope,
                },
            },
            // A replay overtook this (first) presentation before its token was stored: the
            // code is breached, so no token is issued at all (MedMij OAUTH-8).
            Err(StoreError::CodeRevoked) => invalid_grant(
                "The authorization code was replayed while its token was being issued (MedMij OAUTH-8).",
            ),
            Err(_) => refuse(TokenErrorCode::ServerError, "The token store failed."),
        }
    }

    /// The resource server's check (MedMij OAUTH-2, 5, 7, 8, 13): the `Authorization` header
    /// value, the Zorgaanbieder and Gegevensdienst the request is about, the interaction, and
    /// the time. On failure: OAUTH-12 case 7 (or case 8 if the store fails).
    pub fn check_resource(
        &self,
        authorization: Option<&str>,
        zorgaanbieder: &Zorgaanbiedernaam,
        gegevensdienst: &GegevensdienstId,
        interaction: Interaction,
        now: SystemTime,
    ) -> Result<ResourceAccess, ResourceError> {
        let err = |kind| ResourceError { kind };
        let header = authorization.ok_or(err(ResourceErrorKind::MissingToken))?;
        let (_, hash) = bearer_text(header)
            .and_then(AccessToken::parse_hashed)
            .ok_or(err(ResourceErrorKind::Malformed))?;
        let record = self
            .store
            .lookup_token(&hash, now)
            .map_err(|_| err(ResourceErrorKind::BackendUnavailable))?
            .ok_or(err(ResourceErrorKind::InvalidToken))?;
        let interaction_ok = matches!(
            (record.use_case, interaction),
            (UseCase::Verzamelen, Interaction::Read) | (UseCase::Delen, Interaction::Write)
        );
        if !interaction_ok || !record.scope.covers(zorgaanbieder, gegevensdienst) {
            return Err(err(ResourceErrorKind::WrongScope));
        }
        Ok(ResourceAccess {
            expires_at: record.expires_at(),
            subject: record.subject,
            scope: record.scope,
            client_id: record.client_id,
        })
    }
}

/// Values the server draws: codes and tokens.
trait Drawn: Sized {
    fn draw_from(random: &impl RandomSource) -> Self;
}

impl Drawn for Code {
    fn draw_from(random: &impl RandomSource) -> Self {
        Code::random(random)
    }
}

impl Drawn for AccessToken {
    fn draw_from(random: &impl RandomSource) -> Self {
        AccessToken::random(random)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn token_bodies_are_what_serde_json_writes() {
        let za = Zorgaanbiedernaam::parse("umcharderwijk@medmij").unwrap();
        let scopes = [
            Scope::single(za.clone(), GegevensdienstId::parse("4").unwrap()),
            Scope::parse(
                "umcharderwijk~1 umcharderwijk~3 umcharderwijk~!#$%&'()*+,-./:;<=>?@[]^_`{|}~",
                ScopeForm::Multiple,
            )
            .unwrap(),
        ];
        for scope in scopes {
            let access_token = AccessToken::random(&ThreadRandom);
            let expected = serde_json::json!({
                "access_token": access_token.secret_text(),
                "token_type": "bearer",
                "expires_in": 900,
                "scope": scope.as_str(),
            });
            let r = TokenResponse::Issued {
                access_token,
                scope,
            };
            // Same text as serde_json's (key order as written, no spaces).
            let body = r.body();
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&body).unwrap(),
                expected
            );
            let mut buf = [0u8; 36];
            let TokenResponse::Issued {
                access_token,
                scope,
            } = &r
            else {
                unreachable!()
            };
            assert_eq!(
                body,
                format!(
                    r#"{{"access_token":"{}","token_type":"bearer","expires_in":900,"scope":{}}}"#,
                    access_token.encode(&mut buf),
                    serde_json::to_string(scope.as_str()).unwrap()
                )
            );
        }
        let e = TokenResponse::Error {
            error: TokenErrorCode::InvalidGrant,
            description: "The authorization code is not valid.",
        };
        assert_eq!(
            e.body(),
            r#"{"error":"invalid_grant","error_description":"The authorization code is not valid."}"#
        );
    }

    #[test]
    fn json_strings_are_escaped_like_serde_json() {
        for s in [
            "",
            "a\"b\\c",
            "\u{0}\u{1f}\u{7f}\u{8}\u{c}\n\r\t",
            "é/ü\u{2028}",
        ] {
            let mut out = String::new();
            push_json_str(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn json_strings_are_escaped_like_serde_json_on_any_text(s in any::<String>()) {
            let mut out = String::new();
            push_json_str(&mut out, &s);
            prop_assert_eq!(out, serde_json::to_string(&s).unwrap());
        }
    }
}
