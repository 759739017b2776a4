//! Chain-monitoring events (MedMij LOG-6, release 2.x): one structured JSON
//! event per step of a flow, produced by a gateway and shipped by the host
//! (the delivery channel to MedMij is not public).
//!
//! The JSON form is fixed: the fields in this order, absent optional fields
//! left out:
//!
//! ```text
//! {"type":..,"time":..,"session_id":..,"trace_id":..,"sender":..,"receiver":..,
//!  "request":{"method":..,"endpoint":..,"client_id":..,"grant_type":..,"aanbieder":..,"gegevensdienst":..},
//!  "status":..,"error":{"code":..,"description":..}}
//! ```
//!
//! By construction an event holds no token, code or person identifier
//! (MedMij LOG-4): no field can take one. The identifiers are UUID v4
//! newtypes shared with medmij-oauth through medmij-types (`session_id` is the
//! flow's [`CorrelationId`], `X-Correlation-ID`; `trace_id` the request's
//! [`RequestId`], `MedMij-Request-ID`; MedMij OAUTH-21), hosts are [`Hostname`]s, the
//! endpoint is an `https` URL without query or fragment whose path
//! segments are checked, hosts may not hold a UUID or a long number, and
//! the only free text (the error description) is refused when
//! it looks like it carries a BSN, a UUID or a long opaque string
//! ([`ErrorText`]).

use std::fmt;
use std::io::Write;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use medmij_types::{
    BackChannelUri, ClientId, CorrelationId, GegevensdienstId, Hostname, RequestId, RuleId,
    Zorgaanbiedernaam,
};
use serde::{Deserialize, Serialize};

use crate::LogError;
use crate::event::{EventError, looks_like_bsn};

/// The step of a flow an event reports (MedMij LOG-6). Written in
/// `snake_case`, e.g. `send_authorization_request`.
///
/// The step names come from LOG-6; the names of the error forms
/// (`<step>_error`, e.g. `token_request_error`) and of the refresh-token
/// steps (MedMij OAUTH-19) are not in the public material and are
/// **provisional**.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChainEventType {
    /// The PGO GW sends the authorization request (front channel).
    SendAuthorizationRequest,
    /// The ZA GW receives the authorization request.
    ReceiveAuthorizationRequest,
    /// The ZA GW shows its landing page to the person.
    ShowLandingPage,
    /// The authorization request failed (OAUTH-12 cases 1 to 5).
    AuthorizationRequestError,
    /// The ZA GW sends the authentication request (DigiD, OAUTH-18).
    SendAuthenticationRequest,
    /// The ZA GW receives the authentication response.
    ReceiveAuthenticationResponse,
    /// The authentication failed (provisional name).
    AuthenticationResponseError,
    /// The PGO GW sends the token request.
    SendTokenRequest,
    /// The ZA GW receives the token request.
    ReceiveTokenRequest,
    /// The token request failed (OAUTH-12 case 6; provisional name).
    TokenRequestError,
    /// The PGO GW sends a refresh-token request (OAUTH-19; provisional
    /// name).
    SendRefreshTokenRequest,
    /// The ZA GW receives a refresh-token request (OAUTH-19; provisional
    /// name).
    ReceiveRefreshTokenRequest,
    /// The refresh-token request failed (OAUTH-19; provisional name).
    RefreshTokenRequestError,
    /// The PGO GW sends a resource request.
    SendResourceRequest,
    /// The ZA GW receives a resource request.
    ReceiveResourceRequest,
    /// The resource request failed (OAUTH-12 cases 7 and 8; provisional
    /// name).
    ResourceRequestError,
    /// The PGO GW receives the resource response.
    ReceiveResourceResponse,
    /// The resource response could not be used (provisional name).
    ResourceResponseError,
}

impl ChainEventType {
    /// Every type, in declaration order.
    pub const ALL: &'static [Self] = &[
        Self::SendAuthorizationRequest,
        Self::ReceiveAuthorizationRequest,
        Self::ShowLandingPage,
        Self::AuthorizationRequestError,
        Self::SendAuthenticationRequest,
        Self::ReceiveAuthenticationResponse,
        Self::AuthenticationResponseError,
        Self::SendTokenRequest,
        Self::ReceiveTokenRequest,
        Self::TokenRequestError,
        Self::SendRefreshTokenRequest,
        Self::ReceiveRefreshTokenRequest,
        Self::RefreshTokenRequestError,
        Self::SendResourceRequest,
        Self::ReceiveResourceRequest,
        Self::ResourceRequestError,
        Self::ReceiveResourceResponse,
        Self::ResourceResponseError,
    ];

    /// Whether this is an error form (then the event must carry an error).
    #[must_use]
    pub fn is_error(self) -> bool {
        matches!(
            self,
            Self::AuthorizationRequestError
                | Self::AuthenticationResponseError
                | Self::TokenRequestError
                | Self::RefreshTokenRequestError
                | Self::ResourceRequestError
                | Self::ResourceResponseError
        )
    }
}

/// A tracing identifier as received, checked (MedMij OAUTH-21), refused as an
/// [`EventError`] naming the chain event's field.
fn trace_field<T: std::str::FromStr<Err = medmij_types::InvalidValue>>(
    field: &'static str,
    value: &str,
) -> Result<T, EventError> {
    value
        .parse()
        .map_err(|e: medmij_types::InvalidValue| EventError {
            field,
            reason: e.violation.to_string(),
            rule: e.rule,
        })
}

/// The HTTP method of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
}

/// The OAuth grant type of a token request (MedMij OAUTH-1, OAUTH-19).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GrantType {
    /// `authorization_code`.
    AuthorizationCode,
    /// `refresh_token` (2.x, OAUTH-19).
    RefreshToken,
}

/// The longest error description accepted, in bytes.
pub const ERROR_TEXT_MAX: usize = 256;

/// A run of at least this many token characters (`A-Z a-z 0-9 - _ . ~ + /
/// =`) with a digit in it is taken for an opaque value (a token, code or
/// key) and refused in free text (provisional).
pub const OPAQUE_RUN_MIN: usize = 20;

/// Why `text` may not stand in a log's free text, if it may not: it looks
/// like it carries a BSN (a number of 8 or more digits, also a date written
/// with digits only), a UUID (every code and token is one, OAUTH-6) or
/// another long opaque value (MedMij LOG-4).
pub fn secret_like(text: &str) -> Option<&'static str> {
    scan(text, true)
}

/// [`secret_like`] without the opaque-run check (for hostnames, whose
/// labels may be long and hold digits).
fn scan(text: &str, opaque: bool) -> Option<&'static str> {
    let b = text.as_bytes();
    // Runs of digits with the separators looks_like_bsn allows.
    let mut i = 0;
    while let Some(c) = b.get(i) {
        if c.is_ascii_digit() {
            let mut j = i;
            while b
                .get(j)
                .is_some_and(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b' '))
            {
                j += 1;
            }
            let run = text[i..j].trim_end_matches(['.', '-', ' ']);
            let digits = run.bytes().filter(u8::is_ascii_digit).count();
            if looks_like_bsn(run) || digits >= 8 {
                return Some("holds a number of 8 or more digits (a BSN?)");
            }
            // `b[i]` is a digit, so the run took at least it: `j > i`.
            i = j;
        } else {
            i += 1;
        }
    }
    // UUIDs in any case, and long opaque runs.
    let token = |c: u8| {
        c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~' | b'+' | b'/' | b'=')
    };
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if token(c) {
            let mut j = i;
            while b.get(j).is_some_and(|&c| token(c)) {
                j += 1;
            }
            let run = &text[i..j];
            let lower = run.to_ascii_lowercase();
            let has_uuid = (0..lower.len().saturating_sub(35)).any(|k| {
                lower.get(k..k + 36).is_some_and(|w| {
                    w.bytes().enumerate().all(|(p, c)| match p {
                        8 | 13 | 18 | 23 => c == b'-',
                        _ => c.is_ascii_hexdigit(),
                    })
                })
            });
            if has_uuid {
                return Some("holds a UUID (a code or token?)");
            }
            if opaque && run.len() >= OPAQUE_RUN_MIN && run.bytes().any(|c| c.is_ascii_digit()) {
                return Some("holds a long opaque string (a token, code or key?)");
            }
            i = j;
        } else {
            i += 1;
        }
    }
    None
}

/// A free-text error description (e.g. `invalid parameter redirect_uri`,
/// MedMij OAUTH-23): 1 to [`ERROR_TEXT_MAX`] bytes, no control characters,
/// and refused when it looks like it carries a BSN, UUID or other opaque
/// value ([`secret_like`], MedMij LOG-4).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ErrorText(String);

impl ErrorText {
    /// Checks `value`.
    pub fn new(value: &str) -> Result<Self, EventError> {
        let err = |reason: String, rule| EventError {
            field: "error.description",
            reason,
            rule,
        };
        if value.is_empty() || value.len() > ERROR_TEXT_MAX {
            return Err(err(
                format!("is {} bytes long; 1 to {ERROR_TEXT_MAX}", value.len()),
                RuleId::Log6,
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(err("contains a control character".into(), RuleId::Log6));
        }
        if let Some(why) = secret_like(value) {
            return Err(err(why.into(), RuleId::Log4));
        }
        Ok(Self(value.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ErrorText {
    type Error = EventError;
    fn try_from(v: String) -> Result<Self, EventError> {
        Self::new(&v)
    }
}

impl From<ErrorText> for String {
    fn from(v: ErrorText) -> Self {
        v.0
    }
}

impl fmt::Debug for ErrorText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ErrorText({:?})", self.0)
    }
}

/// An error code: an OAuth `error` (`invalid_request`, `access_denied`,
/// MedMij OAUTH-12) or a FHIR issue code (`suppressed`, `incomplete`):
/// 1 to 64 of `a-z _ -`. No digits, so it cannot carry a BSN, UUID or
/// token (MedMij LOG-4).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ErrorCode(String);

impl ErrorCode {
    /// Checks `value`.
    pub fn new(value: &str) -> Result<Self, EventError> {
        if (1..=64).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'-')
        {
            Ok(Self(value.to_owned()))
        } else {
            Err(EventError {
                field: "error.code",
                reason: "must be 1 to 64 of a-z _ -".into(),
                rule: RuleId::Log6,
            })
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ErrorCode {
    type Error = EventError;
    fn try_from(v: String) -> Result<Self, EventError> {
        Self::new(&v)
    }
}

impl From<ErrorCode> for String {
    fn from(v: ErrorCode) -> Self {
        v.0
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ErrorCode({:?})", self.0)
    }
}

/// The endpoint a request went to: an `https` URL without query or fragment
/// (a [`BackChannelUri`], MedMij LISTS-3), whose path segments hold no BSN,
/// UUID or opaque value ([`secret_like`], MedMij LOG-4). Log the endpoint,
/// not the resource: `https://za.example.nl/fhir/MedicationStatement`, not
/// `.../MedicationStatement/<id>`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Endpoint(BackChannelUri);

impl Endpoint {
    /// Checks `value`.
    pub fn new(value: &str) -> Result<Self, EventError> {
        let uri = BackChannelUri::new(value).map_err(|e| EventError {
            field: "request.endpoint",
            reason: e.to_string(),
            rule: RuleId::Log6,
        })?;
        let why = scan(uri.host(), false)
            .map(|why| format!("its host {why}"))
            .or_else(|| {
                uri.path()
                    .split('/')
                    .find_map(secret_like)
                    .map(|why| format!("its path {why}"))
            });
        if let Some(reason) = why {
            return Err(EventError {
                field: "request.endpoint",
                reason,
                rule: RuleId::Log4,
            });
        }
        Ok(Self(uri))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host.
    pub fn host(&self) -> &str {
        self.0.host()
    }
}

impl TryFrom<String> for Endpoint {
    type Error = EventError;
    fn try_from(v: String) -> Result<Self, EventError> {
        Self::new(&v)
    }
}

impl From<Endpoint> for String {
    fn from(v: Endpoint) -> Self {
        v.0.into()
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({:?})", self.0.as_str())
    }
}

/// The request an event is about (MedMij LOG-6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainRequest {
    /// The HTTP method.
    pub method: Method,
    /// Where it went.
    pub endpoint: Endpoint,
    /// The OAuth client (the PGO GW's hostname, OAUTH-3), when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_id: Option<ClientId>,
    /// The grant type of a token request.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub grant_type: Option<GrantType>,
    /// The Aanbieder (from the scope, OAUTH-20).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub aanbieder: Option<Zorgaanbiedernaam>,
    /// The Gegevensdienst, when the step concerns one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gegevensdienst: Option<GegevensdienstId>,
}

/// The error an event reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainError {
    /// The OAuth or FHIR code.
    pub code: ErrorCode,
    /// What failed, in a few words (OAUTH-23).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<ErrorText>,
}

/// One chain-monitoring event (MedMij LOG-6). Build it with
/// [`ChainEvent::builder`]; see the module docs for the JSON form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainEvent {
    /// The step.
    #[serde(rename = "type")]
    pub event_type: ChainEventType,
    /// When it happened (RFC 3339, UTC, microseconds).
    #[serde(with = "medmij_types::rfc3339::serde")]
    pub time: SystemTime,
    /// `X-Correlation-ID` of the flow.
    pub session_id: CorrelationId,
    /// `MedMij-Request-ID` of the request.
    pub trace_id: RequestId,
    /// The sending node.
    pub sender: Hostname,
    /// The receiving node.
    pub receiver: Hostname,
    /// The request.
    pub request: ChainRequest,
    /// The HTTP status of the response, when there is one (100..=599).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status: Option<u16>,
    /// The error, for the error forms.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<ChainError>,
}

impl ChainEvent {
    /// A builder for an event of `event_type` at `time`.
    pub fn builder(event_type: ChainEventType, time: SystemTime) -> ChainEventBuilder {
        ChainEventBuilder {
            event_type,
            time,
            session_id: None,
            trace_id: None,
            sender: None,
            receiver: None,
            method: None,
            endpoint: None,
            client_id: None,
            grant_type: None,
            aanbieder: None,
            gegevensdienst: None,
            status: None,
            error: None,
        }
    }

    /// Checks what the types alone do not: the status range, and that an
    /// error form carries an error and no other type does (MedMij LOG-6).
    pub fn validate(&self) -> Result<(), EventError> {
        let hosts = [
            ("sender", Some(self.sender.as_str())),
            ("receiver", Some(self.receiver.as_str())),
            (
                "request.client_id",
                self.request.client_id.as_ref().map(|c| c.as_str()),
            ),
            ("request.endpoint", Some(self.request.endpoint.host())),
        ];
        for (field, host) in hosts {
            if let Some(why) = host.and_then(|h| scan(h, false)) {
                return Err(EventError {
                    field,
                    reason: format!("the host {why}"),
                    rule: RuleId::Log4,
                });
            }
        }
        if let Some(s) = self.status
            && !(100..=599).contains(&s)
        {
            return Err(EventError {
                field: "status",
                reason: format!("{s} is not an HTTP status (100 to 599)"),
                rule: RuleId::Log6,
            });
        }
        match (self.event_type.is_error(), self.error.is_some()) {
            (true, false) => Err(EventError {
                field: "error",
                reason: "an error form needs an error".into(),
                rule: RuleId::Log6,
            }),
            (false, true) => Err(EventError {
                field: "error",
                reason: "only the error forms carry an error".into(),
                rule: RuleId::Log6,
            }),
            _ => Ok(()),
        }
    }

    /// The fixed JSON form, one line, without a newline.
    pub fn to_json(&self) -> String {
        // Serialising strings, enums, numbers and formatted times cannot
        // fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads an event from its JSON form, checking every field.
    pub fn from_json(json: &str) -> Result<Self, EventError> {
        let e: Self = serde_json::from_str(json).map_err(|e| EventError {
            field: "json",
            reason: e.to_string(),
            rule: RuleId::Log6,
        })?;
        e.validate()?;
        Ok(e)
    }
}

/// Builds a [`ChainEvent`]; [`ChainEventBuilder::build`] checks that the
/// required fields (session, trace, sender, receiver, method, endpoint) are
/// set. Setters taking text check it at once and keep the first error for
/// `build`.
#[derive(Debug, Clone)]
#[must_use]
pub struct ChainEventBuilder {
    event_type: ChainEventType,
    time: SystemTime,
    session_id: Option<Result<CorrelationId, EventError>>,
    trace_id: Option<Result<RequestId, EventError>>,
    sender: Option<Hostname>,
    receiver: Option<Hostname>,
    method: Option<Method>,
    endpoint: Option<Result<Endpoint, EventError>>,
    client_id: Option<ClientId>,
    grant_type: Option<GrantType>,
    aanbieder: Option<Zorgaanbiedernaam>,
    gegevensdienst: Option<GegevensdienstId>,
    status: Option<u16>,
    error: Option<Result<ChainError, EventError>>,
}

impl ChainEventBuilder {
    /// The flow's `X-Correlation-ID`.
    pub fn session(mut self, id: &CorrelationId) -> Self {
        self.session_id = Some(Ok(*id));
        self
    }

    /// The flow's `X-Correlation-ID` as received (checked).
    pub fn session_str(mut self, id: &str) -> Self {
        self.session_id = Some(trace_field("session_id", id));
        self
    }

    /// The request's `MedMij-Request-ID`.
    pub fn trace(mut self, id: &RequestId) -> Self {
        self.trace_id = Some(Ok(*id));
        self
    }

    /// The request's `MedMij-Request-ID` as received (checked).
    pub fn trace_str(mut self, id: &str) -> Self {
        self.trace_id = Some(trace_field("trace_id", id));
        self
    }

    /// Sender and receiver.
    pub fn between(mut self, sender: &Hostname, receiver: &Hostname) -> Self {
        self.sender = Some(sender.clone());
        self.receiver = Some(receiver.clone());
        self
    }

    /// Method and endpoint (checked, see [`Endpoint`]).
    pub fn request(mut self, method: Method, endpoint: &str) -> Self {
        self.method = Some(method);
        self.endpoint = Some(Endpoint::new(endpoint));
        self
    }

    /// The OAuth client.
    pub fn client(mut self, client: &ClientId) -> Self {
        self.client_id = Some(client.clone());
        self
    }

    /// The grant type.
    pub fn grant_type(mut self, grant: GrantType) -> Self {
        self.grant_type = Some(grant);
        self
    }

    /// The Aanbieder.
    pub fn aanbieder(mut self, aanbieder: &Zorgaanbiedernaam) -> Self {
        self.aanbieder = Some(aanbieder.clone());
        self
    }

    /// The Gegevensdienst.
    pub fn gegevensdienst(mut self, id: &GegevensdienstId) -> Self {
        self.gegevensdienst = Some(id.clone());
        self
    }

    /// The response's HTTP status.
    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// The error (code and optional description, both checked).
    pub fn error(mut self, code: &str, description: Option<&str>) -> Self {
        self.error = Some((|| {
            Ok(ChainError {
                code: ErrorCode::new(code)?,
                description: description.map(ErrorText::new).transpose()?,
            })
        })());
        self
    }

    /// The event, or the first field that is missing or refused.
    pub fn build(self) -> Result<ChainEvent, EventError> {
        let missing = |field: &'static str| EventError {
            field,
            reason: "is required".into(),
            rule: RuleId::Log6,
        };
        let event = ChainEvent {
            event_type: self.event_type,
            time: self.time,
            session_id: self.session_id.ok_or_else(|| missing("session_id"))??,
            trace_id: self.trace_id.ok_or_else(|| missing("trace_id"))??,
            sender: self.sender.ok_or_else(|| missing("sender"))?,
            receiver: self.receiver.ok_or_else(|| missing("receiver"))?,
            request: ChainRequest {
                method: self.method.ok_or_else(|| missing("request.method"))?,
                endpoint: self.endpoint.ok_or_else(|| missing("request.endpoint"))??,
                client_id: self.client_id,
                grant_type: self.grant_type,
                aanbieder: self.aanbieder,
                gegevensdienst: self.gegevensdienst,
            },
            status: self.status,
            error: self.error.transpose()?,
        };
        event.validate()?;
        Ok(event)
    }
}

/// Where a gateway hands its chain events; the host ships them to MedMij
/// (the channel is not public, MedMij LOG-6).
pub trait ChainEventSink {
    /// Takes one event.
    fn emit(&self, event: &ChainEvent) -> Result<(), LogError>;
}

/// Keeps events in memory (tests, or a host that ships them in batches):
/// it grows until [`MemoryChainSink::take`] empties it.
#[derive(Debug, Default)]
pub struct MemoryChainSink {
    events: Mutex<Vec<ChainEvent>>,
}

impl MemoryChainSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the events so far.
    pub fn events(&self) -> Vec<ChainEvent> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes the events so far, leaving the sink empty.
    pub fn take(&self) -> Vec<ChainEvent> {
        std::mem::take(&mut *self.events.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl ChainEventSink for MemoryChainSink {
    fn emit(&self, event: &ChainEvent) -> Result<(), LogError> {
        event.validate()?;
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event.clone());
        Ok(())
    }
}

/// Writes each event as one JSON line (the fixed form of
/// [`ChainEvent::to_json`]) to a writer, flushing after each.
#[derive(Debug)]
pub struct JsonLinesChainSink<W: Write> {
    out: Mutex<W>,
}

impl<W: Write> JsonLinesChainSink<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        Self {
            out: Mutex::new(out),
        }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<W: Write> ChainEventSink for JsonLinesChainSink<W> {
    fn emit(&self, event: &ChainEvent) -> Result<(), LogError> {
        event.validate()?;
        let mut line = event.to_json();
        line.push('\n');
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        out.write_all(line.as_bytes())
            .and_then(|_| out.flush())
            .map_err(|e| LogError::Io {
                what: "writing a chain event".into(),
                reason: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod log_4 {
        use super::*;

        #[test]
        fn free_text_with_secrets_is_refused() {
            for bad in [
                "token 0d6f3c1e-8a51-4f7e-9d0a-2b3c4d5e6f70 expired",
                "token 0D6F3C1E-8A51-4F7E-9D0A-2B3C4D5E6F70 expired",
                "person 123456782",
                "person 1234.56.782",
                "bearer eyJhbGciOiJIUzI1NiJ9abcdef12345",
                "key 0123456789abcdef0123456789abcdef",
            ] {
                let e = ErrorText::new(bad).unwrap_err();
                assert_eq!(e.rule, RuleId::Log4, "{bad}");
            }
            for good in [
                "invalid parameter redirect_uri",
                "authentication failed",
                "No such resources.",
                "availability check failed at step 3 of 4",
            ] {
                assert!(ErrorText::new(good).is_ok(), "{good}");
            }
        }

        #[test]
        fn hostnames_holding_a_uuid_are_refused() {
            let h = |s: &str| Hostname::new(s).unwrap();
            let e = ChainEvent::builder(ChainEventType::SendTokenRequest, SystemTime::UNIX_EPOCH)
                .session_str("0d6f3c1e-8a51-4f7e-9d0a-2b3c4d5e6f70")
                .trace_str("0d6f3c1e-8a51-4f7e-9d0a-2b3c4d5e6f71")
                .between(
                    &h("0d6f3c1e-8a51-4f7e-9d0a-2b3c4d5e6f72.example.nl"),
                    &h("za.example.nl"),
                )
                .request(Method::Post, "https://za.example.nl/oauth/token")
                .build()
                .unwrap_err();
            assert_eq!((e.field, e.rule), ("sender", RuleId::Log4));
        }

        #[test]
        fn endpoint_paths_with_identifiers_are_refused() {
            assert!(Endpoint::new("https://za.example.nl/fhir/Patient").is_ok());
            assert_eq!(
                Endpoint::new("https://za.example.nl/fhir/Patient/123456782")
                    .unwrap_err()
                    .rule,
                RuleId::Log4
            );
            assert!(
                Endpoint::new(
                    "https://za.example.nl/fhir/Binary/0d6f3c1e-8a51-4f7e-9d0a-2b3c4d5e6f70"
                )
                .is_err()
            );
            assert!(Endpoint::new("https://za.example.nl/token?code=abc").is_err());
            // Versioned paths and long hostnames are fine, per segment and
            // per label.
            assert!(
                Endpoint::new("https://za.example.nl/api/v1/fhir/r4/MedicationStatement").is_ok()
            );
            assert!(
                Endpoint::new("https://medmij-gateway-production-2026.example.nl/fhir").is_ok()
            );
            assert!(
                Endpoint::new("https://0d6f3c1e-8a51-4f7e-9d0a-2b3c4d5e6f70.example.nl/fhir")
                    .is_err()
            );
            assert!(Endpoint::new("https://za.example.nl/o/eyJhbGciOiJIUzI1NiJ9abc123").is_err());
        }
    }

    mod oauth_21 {
        use super::*;

        #[test]
        fn identifiers_are_uuid_v4() {
            let ok = "0d6f3c1e-8a51-4f7e-9d0a-2b3c4d5e6f70";
            assert!(trace_field::<CorrelationId>("session_id", ok).is_ok());
            // Version 1, uppercase, too short, bad variant.
            for bad in [
                "0d6f3c1e-8a51-1f7e-9d0a-2b3c4d5e6f70",
                "0D6F3C1E-8A51-4F7E-9D0A-2B3C4D5E6F70",
                "0d6f3c1e-8a51-4f7e-9d0a-2b3c4d5e6f7",
                "0d6f3c1e-8a51-4f7e-cd0a-2b3c4d5e6f70",
                "",
            ] {
                let e = trace_field::<RequestId>("trace_id", bad).unwrap_err();
                assert_eq!((e.field, e.rule), ("trace_id", RuleId::Oauth21), "{bad}");
            }
        }
    }
}
