//! The PGO GW role: OAuth client of UCI Verzamelen and UCI Delen (the client's side of the
//! MedMij OAUTH rules: its redirect URI, OAUTH-4; its `state`, OAUTH-10; strict token
//! responses, OAUTH-1, OAUTH-5, OAUTH-6, OAUTH-7).

use crate::secret::{AccessToken, Code, RandomSource, ThreadRandom};
use crate::server::ErrorCase;
use crate::store::LIFETIME;
use crate::{ClientId, Scope, ScopeForm, State};
use medmij_types::RuleId;
use std::fmt;
use std::time::SystemTime;
use url::Url;

mod v2;
pub use v2::{
    GrantV2, ManagementLink, MemoryVault, PendingFlow, PendingRefresh, RefreshError,
    RefreshTokenVault, TracedTokenRequest, VaultKey,
};

/// Why a client-side value or request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The redirect URI is not absolute `https` without fragment on the client's hostname
    /// (MedMij OAUTH-4).
    #[error(
        "redirect_uri must be an absolute https URI without fragment on the client's hostname (MedMij OAUTH-4)"
    )]
    RedirectUri,
    /// An endpoint from the ZAL does not match its LISTS-3 pattern (`field` names which).
    #[error("{field} does not match the ZAL URI pattern (MedMij LISTS-3)")]
    Endpoint {
        /// `authorization_endpoint` or `token_endpoint`.
        field: &'static str,
    },
    /// The request does not fit the release line: a 2.x Delen scope is one pair; the
    /// representation extension is 2.x only and needs a date `JJJJMMDD` (MedMij OAUTH-20).
    #[error("the scope or representation does not fit release {0} (MedMij OAUTH-20)")]
    Release(crate::ReleaseLine),
}

/// Checks a ZAL URI (MedMij LISTS-3). Front channel:
/// `https://(([a-z0-9])([a-z0-9-])*(\.))+([a-z0-9])([a-z0-9-])*([a-z0-9])?(/[^?#/]+)*`; back
/// channel: the last host label ends in `[a-z0-9]` and an optional `:` + 1..5 digit port.
#[must_use]
pub fn is_zal_uri(s: &str, back_channel: bool) -> bool {
    let Some(rest) = s.strip_prefix("https://") else {
        return false;
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    if let Some(p) = port
        && (!back_channel || !(1..=5).contains(&p.len()) || !p.bytes().all(|c| c.is_ascii_digit()))
    {
        return false;
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    for (i, l) in labels.iter().enumerate() {
        let b = l.as_bytes();
        if !b.first().is_some_and(|&c| alnum(c)) || !b.iter().all(|&c| alnum(c) || c == b'-') {
            return false;
        }
        // Back channel: the last label is `([a-z0-9])([a-z0-9-])*([a-z0-9])`, at least two
        // characters ending in [a-z0-9]; the front-channel pattern leaves the end optional.
        if i + 1 == labels.len()
            && back_channel
            && (b.len() < 2 || !b.last().is_some_and(|&c| alnum(c)))
        {
            return false;
        }
    }
    if path.is_empty() {
        return true;
    }
    // (/[^?#/]+)*
    path[1..]
        .split('/')
        .all(|seg| !seg.is_empty() && !seg.contains(['?', '#']))
}

/// The PGO GW's OAuth client: its identity (the OCL hostname, MedMij OAUTH-3) and its
/// registered redirect URI (OAUTH-4).
///
/// # Why not the `oauth2` crate
///
/// We evaluated the `oauth2` crate (4.x/5.x) for this side and do not use it:
///
/// - Its token-response types accept what MedMij forbids: `expires_in` and `scope` are
///   optional, `refresh_token` is accepted (MedMij OAUTH-1 forbids refresh tokens), tokens are
///   opaque strings (OAUTH-6 requires canonical UUID v4), and `expires_in` of any value is fine
///   (OAUTH-7 requires exactly 900). Every MedMij check would have to be redone on top.
/// - Its error responses carry no notion of the OAUTH-12 cases, which are told apart by exact
///   `error_description` texts; that mapping is MedMij-specific either way.
/// - Its token exchange runs the HTTP request through an HTTP-client abstraction; this crate is
///   sans-IO and hands the caller the request to send over its own mutual-TLS connection
///   (OAUTH-3: no client secret; the certificate is the credential).
/// - What would remain (building the authorization URL and a form body) is a few lines on top
///   of `url`/`form_urlencoded`, which the crate already uses, while `oauth2` would add its own
///   HTTP, base64 and date-time dependencies to every PGO build.

#[derive(Debug, Clone)]
pub struct Client<R = ThreadRandom> {
    client_id: ClientId,
    redirect_uri: String,
    random: R,
}

impl Client<ThreadRandom> {
    /// A client with the default CSPRNG for `state`.
    pub fn new(client_id: ClientId, redirect_uri: &str) -> Result<Self, ClientError> {
        Self::with_random(client_id, redirect_uri, ThreadRandom)
    }
}

impl<R: RandomSource> Client<R> {
    /// A client with an injected random source.
    pub fn with_random(
        client_id: ClientId,
        redirect_uri: &str,
        random: R,
    ) -> Result<Self, ClientError> {
        if !own_redirect_uri(&client_id, redirect_uri) {
            return Err(ClientError::RedirectUri);
        }
        Ok(Self {
            client_id,
            redirect_uri: redirect_uri.to_owned(),
            random,
        })
    }

    /// The client's identity.
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// Starts a flow: returns the authorization URL to send the person's browser to, and the
    /// pending authorization to keep in that person's user-agent session (which binds the
    /// fresh 256-bit `state` to the session, MedMij OAUTH-10, RFC 6819 4.4.1.8).
    ///
    /// `authorization_endpoint` and `token_endpoint` come from the ZAL entry of the
    /// Zorgaanbieder and Gegevensdienst (MedMij LISTS-1, LISTS-3).
    pub fn start(
        &self,
        authorization_endpoint: &str,
        token_endpoint: &str,
        scope: Scope,
    ) -> Result<(String, PendingAuthorization), ClientError> {
        if !is_zal_uri(authorization_endpoint, false) {
            return Err(ClientError::Endpoint {
                field: "authorization_endpoint",
            });
        }
        if !is_zal_uri(token_endpoint, true) {
            return Err(ClientError::Endpoint {
                field: "token_endpoint",
            });
        }
        let mut url = Url::parse(authorization_endpoint).map_err(|_| ClientError::Endpoint {
            field: "authorization_endpoint",
        })?;
        let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
        self.random.fill(&mut a);
        self.random.fill(&mut b);
        let mut hex = String::with_capacity(64);
        for x in a.into_iter().chain(b) {
            hex.push(crate::form::hex_digit(x >> 4));
            hex.push(crate::form::hex_digit(x));
        }
        // 64 hex digits are always a valid state (MedMij OAUTH-10).
        let state = State::parse(&hex).map_err(|_| ClientError::RedirectUri)?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", self.client_id.as_str())
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", scope.as_str())
            .append_pair("state", state.as_str());
        Ok((
            url.into(),
            PendingAuthorization {
                client_id: self.client_id.clone(),
                redirect_uri: self.redirect_uri.clone(),
                token_endpoint: token_endpoint.to_owned(),
                scope,
                state,
            },
        ))
    }
}

/// A flow the PGO GW started and is waiting to hear back about. Keep it in the person's
/// user-agent session (MedMij OAUTH-10) and drop it after the redirect.
#[derive(Clone)]
#[must_use]
pub struct PendingAuthorization {
    client_id: ClientId,
    redirect_uri: String,
    token_endpoint: String,
    scope: Scope,
    state: State,
}

/// MedMij OAUTH-4 from the client's side: an absolute `https` URI without fragment or user
/// info whose host is exactly the client's hostname.
fn own_redirect_uri(client_id: &ClientId, redirect_uri: &str) -> bool {
    let Ok(url) = Url::parse(redirect_uri) else {
        return false;
    };
    url.scheme() == "https"
        && !redirect_uri.contains('#')
        && url.username().is_empty()
        && url.password().is_none()
        && matches!(url.host(), Some(url::Host::Domain(h)) if h == client_id.as_str())
        && redirect_uri.get(8..8 + client_id.as_str().len()) == Some(client_id.as_str())
}

/// The stored form of a [`PendingAuthorization`], for a flow store shared by the PGO GW's
/// nodes.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PendingRepr {
    client_id: String,
    redirect_uri: String,
    token_endpoint: String,
    scope: String,
    state: String,
}

impl serde::Serialize for PendingAuthorization {
    /// Writes the pending authorization for a [`FlowStore`](crate::FlowStore). It holds the
    /// `state`, a CSRF secret of the person's session: keep it in the store only, never in a
    /// log (MedMij OAUTH-10, LOG-4).
    fn serialize<Z: serde::Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        PendingRepr {
            client_id: self.client_id.as_str().to_owned(),
            redirect_uri: self.redirect_uri.clone(),
            token_endpoint: self.token_endpoint.clone(),
            scope: self.scope.as_str().to_owned(),
            state: self.state.as_str().to_owned(),
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for PendingAuthorization {
    /// Reads a stored pending authorization back, checking every value again (MedMij
    /// OAUTH-3, OAUTH-4, OAUTH-5, OAUTH-10; the token endpoint as a ZAL URI, LISTS-3).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let r = PendingRepr::deserialize(d)?;
        let client_id = ClientId::new(&r.client_id).map_err(D::Error::custom)?;
        if !own_redirect_uri(&client_id, &r.redirect_uri) {
            return Err(D::Error::custom(
                "redirect_uri fails the MedMij OAUTH-4 check",
            ));
        }
        if !is_zal_uri(&r.token_endpoint, true) {
            return Err(D::Error::custom(
                "token_endpoint is not a ZAL URI (MedMij LISTS-3)",
            ));
        }
        Ok(Self {
            client_id,
            redirect_uri: r.redirect_uri,
            token_endpoint: r.token_endpoint,
            scope: Scope::parse(&r.scope, ScopeForm::Multiple).map_err(D::Error::custom)?,
            state: State::parse(&r.state).map_err(D::Error::custom)?,
        })
    }
}

impl fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// A plain-language message for the person, in Dutch and English.
pub trait PersonMessage {
    /// The message in Dutch.
    fn message_nl(&self) -> &'static str;
    /// The message in English.
    fn message_en(&self) -> &'static str;
}

/// Why the redirect back from the AS did not yield a code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// `state` is missing or differs: possible CSRF; the redirect is ignored (MedMij OAUTH-10,
    /// RFC 6819 4.4.1.8).
    #[error("state missing or different from the one sent (MedMij OAUTH-10)")]
    StateMismatch,
    /// The redirect is malformed: `field` is missing, repeated or invalid.
    #[error("redirect parameter {field} is missing, repeated or invalid")]
    Malformed {
        /// Which parameter.
        field: &'static str,
    },
    /// The AS ended the flow with one of the OAUTH-12 cases 2-5.
    #[error("the authorization server ended the flow: OAUTH-12 case {}", .0.number())]
    Case(ErrorCase),
    /// The AS ended the flow with another error.
    #[error("the authorization server answered {error}")]
    Other {
        /// The `error` value.
        error: String,
        /// The `error_description`, if any.
        description: Option<String>,
    },
}

impl PersonMessage for CallbackError {
    fn message_nl(&self) -> &'static str {
        match self {
            Self::StateMismatch => {
                "De aanvraag kon niet worden gecontroleerd en is voor uw veiligheid afgebroken. Start de aanvraag opnieuw."
            }
            Self::Case(ErrorCase::IdentityNotEstablished) => {
                "Uw identiteit kon niet worden vastgesteld. Er zijn geen gegevens uitgewisseld."
            }
            Self::Case(ErrorCase::NoSuchResources) => {
                "Deze zorgaanbieder heeft voor deze gegevensdienst geen gegevens van u."
            }
            Self::Case(ErrorCase::Denied) => {
                "U heeft geen toestemming gegeven. Er worden geen gegevens uitgewisseld."
            }
            Self::Case(ErrorCase::Failed) => {
                "Uw toestemming kon niet worden vastgesteld. Er worden geen gegevens uitgewisseld; probeer het later opnieuw."
            }
            Self::Malformed { .. } | Self::Other { .. } => {
                "Er ging iets mis bij de zorgaanbieder. Probeer het later opnieuw."
            }
        }
    }

    fn message_en(&self) -> &'static str {
        match self {
            Self::StateMismatch => {
                "The request could not be verified and was stopped for your security. Please start again."
            }
            Self::Case(ErrorCase::IdentityNotEstablished) => {
                "Your identity could not be established. No data was exchanged."
            }
            Self::Case(ErrorCase::NoSuchResources) => {
                "This care provider has no data about you for this data service."
            }
            Self::Case(ErrorCase::Denied) => {
                "You did not give permission. No data will be exchanged."
            }
            Self::Case(ErrorCase::Failed) => {
                "Your permission could not be established. No data will be exchanged; please try again later."
            }
            Self::Malformed { .. } | Self::Other { .. } => {
                "Something went wrong at the care provider. Please try again later."
            }
        }
    }
}

/// A code received on the redirect. The PGO GW logs the consent now (MedMij CONSENT-3) and
/// redeems the code at once (it lives 900 s, OAUTH-7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeReceived {
    /// The code.
    pub code: Code,
    /// The scope the person consented to.
    pub scope: Scope,
    /// When the code arrived (for the consent log, CONSENT-3).
    pub at: SystemTime,
}

/// A token request for the back channel: POST `body` to `url` over mutual TLS with the
/// client's PKIoverheid certificate (MedMij OAUTH-3).
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The token endpoint from the ZAL.
    pub url: String,
    /// The `application/x-www-form-urlencoded` body. Contains the code: never log it (LOG-4).
    pub body: String,
}

impl TokenRequest {
    /// Headers to send with the body.
    pub fn headers(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Accept", "application/json"),
        ]
    }
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Why a token response was refused or carried an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenResponseError {
    /// The AS answered with an RFC 6749 5.2 error; `invalid_grant` is OAUTH-12 case 6.
    #[error("the token endpoint answered {error}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The `error` value.
        error: String,
        /// The `error_description`, if any.
        description: Option<String>,
    },
    /// A success response that breaks a MedMij rule: `field` says which, `rule` the rule
    /// (an `error` field in a success answer breaks OAUTH-1's grant, RFC 6749 5.1).
    #[error("token response field {field} violates MedMij {rule}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// The rule.
        rule: RuleId,
    },
    /// The body is not a JSON object of the expected shape.
    #[error("token response is not valid JSON of the RFC 6749 5.1/5.2 shape")]
    NotJson,
    /// A status other than 200, 400 or 401.
    #[error("unexpected HTTP status {0} from the token endpoint")]
    Status(u16),
}

impl TokenResponseError {
    /// True for OAUTH-12 case 6 (`invalid_grant`).
    #[must_use]
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, Self::Refused { error, .. } if error == "invalid_grant")
    }
}

impl PersonMessage for TokenResponseError {
    fn message_nl(&self) -> &'static str {
        "De toegang tot uw gegevens kon niet worden verkregen. Start de aanvraag opnieuw."
    }
    fn message_en(&self) -> &'static str {
        "Access to your data could not be obtained. Please start again."
    }
}

/// An access token with what it is for (RFC 6749 5.1, checked against MedMij OAUTH-1,
/// OAUTH-5, OAUTH-6, OAUTH-7).
#[derive(Clone, PartialEq, Eq)]
#[must_use]
pub struct AccessGrant {
    /// The token (MedMij OAUTH-6).
    pub token: AccessToken,
    /// Exactly the requested scope (MedMij OAUTH-5).
    pub scope: Scope,
    /// Receipt time + 900 s (MedMij OAUTH-7).
    pub expires_at: SystemTime,
}

impl AccessGrant {
    /// The `Authorization` header value: `Bearer <token>` (MedMij OAUTH-2, RFC 6750 2.1).
    pub fn authorization_header(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// True while the token can be used.
    #[must_use]
    pub fn is_valid_at(&self, now: SystemTime) -> bool {
        now < self.expires_at
    }
}

impl fmt::Debug for AccessGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessGrant")
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Constant-time comparison, so that the `state` check leaks no timing (RFC 6819 4.4.1.8).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(serde::Deserialize)]
struct RawTokenResponse {
    access_token: Option<serde_json::Value>,
    token_type: Option<serde_json::Value>,
    expires_in: Option<serde_json::Value>,
    scope: Option<serde_json::Value>,
    refresh_token: Option<serde_json::Value>,
    error: Option<serde_json::Value>,
    error_description: Option<serde_json::Value>,
}

impl RawTokenResponse {
    /// The JSON body of a token answer with `status`, checked as far as both release lines
    /// agree: a 400/401 carries the RFC 6749 5.2 error (returned as `Refused`), any other
    /// status but 200 is `Status`, and a success carries no `error` field (MedMij OAUTH-1).
    fn success(status: u16, body: &str) -> Result<Self, TokenResponseError> {
        let raw: Self = serde_json::from_str(body).map_err(|_| TokenResponseError::NotJson)?;
        match status {
            200 => {}
            400 | 401 => {
                let error = raw
                    .error
                    .as_ref()
                    .and_then(|e| e.as_str())
                    .ok_or(TokenResponseError::NotJson)?;
                return Err(TokenResponseError::Refused {
                    status,
                    error: error.to_owned(),
                    description: raw
                        .error_description
                        .as_ref()
                        .and_then(|d| d.as_str())
                        .map(str::to_owned),
                });
            }
            s => return Err(TokenResponseError::Status(s)),
        }
        if raw.error.is_some() {
            return Err(TokenResponseError::Invalid {
                field: "error",
                rule: RuleId::Oauth1,
            });
        }
        Ok(raw)
    }

    /// `token_type` is `Bearer` in any case (MedMij OAUTH-2) and `expires_in` exactly
    /// 900 (MedMij OAUTH-7).
    fn check_bearer_lifetime(&self) -> Result<(), TokenResponseError> {
        let token_type = self.token_type.as_ref().and_then(|t| t.as_str());
        if !token_type.is_some_and(|t| t.eq_ignore_ascii_case("bearer")) {
            return Err(TokenResponseError::Invalid {
                field: "token_type",
                rule: RuleId::Oauth2,
            });
        }
        if self.expires_in.as_ref().and_then(|e| e.as_u64()) != Some(LIFETIME.as_secs()) {
            return Err(TokenResponseError::Invalid {
                field: "expires_in",
                rule: RuleId::Oauth7,
            });
        }
        Ok(())
    }

    /// The access token, a canonical UUID v4 (MedMij OAUTH-6).
    fn access_token(&self) -> Result<AccessToken, TokenResponseError> {
        self.access_token
            .as_ref()
            .and_then(|t| t.as_str())
            .and_then(AccessToken::parse)
            .ok_or(TokenResponseError::Invalid {
                field: "access_token",
                rule: RuleId::Oauth6,
            })
    }
}

impl PendingAuthorization {
    /// The scope asked for.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The `state` sent (to store alongside the session, if the caller stores it separately).
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Handles the redirect back from the AS (the query string of the `redirect_uri`):
    /// checks `state` first (MedMij OAUTH-10), then maps `code` or the error to a typed
    /// outcome (OAUTH-12 cases 2-5).
    pub fn handle_redirect(
        &self,
        query: &str,
        now: SystemTime,
    ) -> Result<CodeReceived, CallbackError> {
        let mut state = None;
        let mut code = None;
        let mut error = None;
        let mut description = None;
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            let (slot, field) = match &*k {
                "state" => (&mut state, "state"),
                "code" => (&mut code, "code"),
                "error" => (&mut error, "error"),
                "error_description" => (&mut description, "error_description"),
                _ => continue,
            };
            if slot.is_some() {
                return Err(if field == "state" {
                    CallbackError::StateMismatch
                } else {
                    CallbackError::Malformed { field }
                });
            }
            *slot = Some(v);
        }
        match &state {
            Some(s) if ct_eq(s.as_bytes(), self.state.as_str().as_bytes()) => {}
            _ => return Err(CallbackError::StateMismatch),
        }
        match (code, error) {
            (Some(c), None) => Code::parse(&c)
                .map(|code| CodeReceived {
                    code,
                    scope: self.scope.clone(),
                    at: now,
                })
                .ok_or(CallbackError::Malformed { field: "code" }),
            (None, Some(e)) => {
                let d = description.as_deref();
                let case = match (&*e, d) {
                    ("unauthorized_client", _) => Some(ErrorCase::IdentityNotEstablished),
                    ("access_denied", Some("No such resources.")) => {
                        Some(ErrorCase::NoSuchResources)
                    }
                    ("access_denied", Some("Authorization denied.")) => Some(ErrorCase::Denied),
                    ("access_denied", Some("Authorization failed.")) => Some(ErrorCase::Failed),
                    _ => None,
                };
                Err(match case {
                    Some(c) => CallbackError::Case(c),
                    None => CallbackError::Other {
                        error: e.into_owned(),
                        description: description.map(|d| d.into_owned()),
                    },
                })
            }
            (Some(_), Some(_)) => Err(CallbackError::Malformed { field: "error" }),
            (None, None) => Err(CallbackError::Malformed { field: "code" }),
        }
    }

    /// The token request for a received code (MedMij OAUTH-3, OAUTH-9): `grant_type`,
    /// `code`, the same `redirect_uri`, and `client_id`.
    pub fn token_request(&self, code: &Code) -> TokenRequest {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", &code.to_string())
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("client_id", self.client_id.as_str())
            .finish();
        TokenRequest {
            url: self.token_endpoint.clone(),
            body,
        }
    }

    /// Parses the token endpoint's answer strictly: `token_type` bearer (OAUTH-2),
    /// `expires_in` exactly 900 (OAUTH-7), `scope` equal to the requested one (OAUTH-5),
    /// `access_token` a canonical UUID v4 (OAUTH-6), no `refresh_token` (OAUTH-1); or the
    /// RFC 6749 5.2 error.
    pub fn parse_token_response(
        &self,
        status: u16,
        body: &str,
        now: SystemTime,
    ) -> Result<AccessGrant, TokenResponseError> {
        use TokenResponseError::Invalid;
        let raw = RawTokenResponse::success(status, body)?;
        if raw.refresh_token.is_some() {
            return Err(Invalid {
                field: "refresh_token",
                rule: RuleId::Oauth1,
            });
        }
        raw.check_bearer_lifetime()?;
        let scope = raw
            .scope
            .as_ref()
            .and_then(|s| s.as_str())
            .and_then(|s| Scope::parse(s, ScopeForm::Multiple).ok())
            .filter(|s| s.same_as(&self.scope))
            .ok_or(Invalid {
                field: "scope",
                rule: RuleId::Oauth5,
            })?;
        let token = raw.access_token()?;
        Ok(AccessGrant {
            token,
            scope,
            expires_at: crate::store::later(now, LIFETIME),
        })
    }
}
