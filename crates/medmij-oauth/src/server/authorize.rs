//! The authorization endpoint: validating the request (MedMij OAUTH-1, OAUTH-3, OAUTH-4,
//! OAUTH-5, OAUTH-10) or refusing it as OAUTH-12 case 1 without a redirect.

use super::AuthorizationServer;
use super::config::MAX_REQUEST_LEN;
use super::registry::ClientRegistry;
use super::session::{Session, Stage};
use crate::form::{BUF_LEN, Field};
use crate::secret::RandomSource;
use crate::store::TokenStore;
use crate::tracing::{CORRELATION_ID, REQUEST_ID, TraceError, TraceIds};
use crate::{
    ClientId, ReleaseLine, Scope, ScopeError, ScopeForm, State, UseCase, Zorgaanbiedernaam,
};
use std::sync::Arc;

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
        "redirect_uri must be an absolute https URI without fragment on the client's hostname, with a port (if any) in 1..65535 (MedMij OAUTH-4)"
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
    /// 2.x: a tracing identifier is missing or not a UUID v4 (MedMij OAUTH-21).
    #[error("{0}")]
    BadTracing(TraceError),
    /// 2.x: the scope is not of the 2.x form (MedMij OAUTH-20): the Aanbieder's name for
    /// Verzamelen, one `naam~id` for Delen, optionally ` onbehalfof` or ` onbehalfofchild`.
    #[error("scope is invalid: {0} (MedMij OAUTH-20)")]
    BadScopeV2(&'static str),
    /// 2.x: the representation extension lacks a valid `MedMij_geboortedatum=JJJJMMDD`
    /// (MedMij OAUTH-20).
    #[error(
        "MedMij_geboortedatum must be a date JJJJMMDD with the representation extension (MedMij OAUTH-20)"
    )]
    BadBirthDate,
    /// The Gegevensdienst is offered for 2.x only: a 1.x request is not served ("Releases,
    /// side by side").
    #[error("this Gegevensdienst is no longer offered for release 1.x requests")]
    V1NotServed,
}

/// OAUTH-12 case 1: the request is invalid. The server does not redirect to the client; it
/// shows the person a page (MedMij OAUTH-4, OAUTH-12).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid_request: {cause}")]
pub struct InvalidRequest {
    cause: InvalidCause,
    trace: Option<TraceIds>,
}

impl InvalidCause {
    /// The MedMij rule this cause breaks. Causes from RFC 6749's request syntax
    /// (repeated or missing parameters) are OAUTH-12 case 1 itself; a request too long is
    /// refused under OAUTH-14 (bounded resources).
    #[must_use]
    pub fn rule(&self) -> medmij_types::RuleId {
        use medmij_types::RuleId;
        match self {
            Self::TooLong => RuleId::Oauth14,
            Self::Repeated(_) | Self::Missing(_) => RuleId::Oauth12,
            Self::BadClientId | Self::UnknownClient => RuleId::Oauth3,
            Self::BadRedirectUri => RuleId::Oauth4,
            Self::UnsupportedResponseType => RuleId::Oauth1,
            Self::BadScope(_) | Self::NotOffered => RuleId::Oauth5,
            Self::DelenNotSingle => RuleId::Oauth13,
            Self::ClientNotAllowed => RuleId::Lists4,
            Self::BadState => RuleId::Oauth10,
            Self::BadTracing(_) => RuleId::Oauth21,
            Self::BadScopeV2(_) | Self::BadBirthDate | Self::V1NotServed => RuleId::Oauth20,
        }
    }
}

impl InvalidRequest {
    /// The request's valid tracing identifiers, if it had both (MedMij OAUTH-21, OAUTH-23:
    /// the failure page shows them as Trace ID and Session ID).
    pub fn trace(&self) -> Option<&TraceIds> {
        self.trace.as_ref()
    }

    /// The cause.
    pub fn cause(&self) -> &InvalidCause {
        &self.cause
    }

    /// The OAUTH-12 case number: always 1 (MedMij OAUTH-12).
    pub fn case_number(&self) -> u8 {
        1
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

    /// A plain-language message in Dutch for the person (shown directly, no redirect).
    pub fn message_nl(&self) -> &'static str {
        "Het verzoek van uw persoonlijke gezondheidsomgeving (PGO) is ongeldig. U wordt niet teruggestuurd; probeer het opnieuw vanuit uw PGO."
    }

    /// A plain-language message in English for the person.
    pub fn message_en(&self) -> &'static str {
        "The request from your personal health environment (PGO) is invalid. You will not be sent back; please try again from your PGO."
    }
}

pub(super) fn invalid(cause: InvalidCause) -> InvalidRequest {
    InvalidRequest { cause, trace: None }
}

/// A validated authorization request (MedMij OAUTH-1, OAUTH-3, OAUTH-4, OAUTH-5, OAUTH-10).
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub(super) client_id: ClientId,
    pub(super) redirect_uri: Arc<str>,
    pub(super) scope: Scope,
    pub(super) state: State,
    pub(super) use_case: UseCase,
    pub(super) v2: Option<RequestV2>,
}

/// The 2.x part of an authorization request (MedMij OAUTH-20, OAUTH-21).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestV2 {
    /// The tracing identifiers of the authorization request (MedMij OAUTH-21).
    pub trace: TraceIds,
    /// The `scope` text as sent (echoed by the token endpoint, MedMij OAUTH-20).
    pub wire_scope: Arc<str>,
    /// The representation extension, if any (MedMij OAUTH-20).
    pub representation: Option<Representation>,
}

/// Whom the person acts for (the optional 2.x scope extension, MedMij OAUTH-20); the ZA
/// GW's availability check decides what it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Representation {
    /// ` onbehalfof` or ` onbehalfofchild`.
    pub kind: RepresentationKind,
    /// `MedMij_geboortedatum`, checked as a date `JJJJMMDD`.
    pub geboortedatum: String,
}

/// The two forms of the representation extension (MedMij OAUTH-20).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RepresentationKind {
    /// `onbehalfof`.
    OnBehalfOf,
    /// `onbehalfofchild`.
    OnBehalfOfChild,
}

impl RepresentationKind {
    /// The scope word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnBehalfOf => "onbehalfof",
            Self::OnBehalfOfChild => "onbehalfofchild",
        }
    }
}

/// Checks `JJJJMMDD`: eight digits forming a real Gregorian date (MedMij OAUTH-20).
pub(crate) fn valid_birth_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n = |r: std::ops::Range<usize>| {
        b.get(r)
            .unwrap_or_default()
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let (y, m, d) = (n(0..4), n(4..6), n(6..8));
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1 && (1..=days).contains(&d)
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
    /// The release line of the request ("Releases, side by side").
    pub fn release(&self) -> ReleaseLine {
        if self.v2.is_some() {
            ReleaseLine::V2
        } else {
            ReleaseLine::V1
        }
    }
    /// The 2.x part (tracing identifiers, scope text, representation); `None` for 1.x.
    pub fn v2(&self) -> Option<&RequestV2> {
        self.v2.as_ref()
    }
    /// The `state` (MedMij OAUTH-10).
    pub fn state(&self) -> &State {
        &self.state
    }
}

impl<S: TokenStore, C: ClientRegistry, R: RandomSource> AuthorizationServer<S, C, R> {
    /// Validates an authorization request (the query string of the authorization endpoint)
    /// and opens a session, or refuses it per MedMij OAUTH-12 case 1 (no redirect).
    ///
    /// The release line is chosen per request ("Releases, side by side"): tracing
    /// identifiers (`MedMij-Request-ID`, `X-Correlation-ID` as query parameters, MedMij
    /// OAUTH-21) or a scope without `~` (OAUTH-20) make it 2.x, and then every 2.x
    /// requirement applies (a missing or malformed identifier is case 1); a request with
    /// neither is 1.x, served only for the pairs not marked [`ServerConfig::without_v1`].
    ///
    /// [`ServerConfig::without_v1`]: crate::ServerConfig::without_v1
    pub fn authorize(&self, query: &str) -> Result<Session, InvalidRequest> {
        use InvalidCause::*;
        const NAMES: [&str; 8] = [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            REQUEST_ID,
            CORRELATION_ID,
            "MedMij_geboortedatum",
        ];
        if query.len() > MAX_REQUEST_LEN {
            return Err(invalid(TooLong));
        }
        let [
            response_type,
            client_id,
            redirect_uri,
            scope,
            state,
            request_id,
            correlation_id,
            birth_date,
        ] = collect_params(query, &NAMES, |k| match k {
            "response_type" => Some(0),
            "client_id" => Some(1),
            "redirect_uri" => Some(2),
            "scope" => Some(3),
            "state" => Some(4),
            REQUEST_ID => Some(5),
            CORRELATION_ID => Some(6),
            "MedMij_geboortedatum" => Some(7),
            _ => None,
        })
        .map_err(|n| invalid(Repeated(n)))?;
        let traced = request_id.is_some() || correlation_id.is_some();
        let trace = if traced {
            Some(TraceIds::parse(
                request_id.map(Field::decode).as_deref(),
                correlation_id.map(Field::decode).as_deref(),
            ))
        } else {
            None
        };
        // Every case 1 answer carries the identifiers when both were valid (MedMij OAUTH-23).
        let valid_trace = trace.and_then(Result::ok);
        let fail = |cause| InvalidRequest {
            cause,
            trace: valid_trace,
        };
        // Client and redirect first: until both are known good, nothing may be redirected
        // (MedMij OAUTH-4).
        let client_id = client_id.ok_or_else(|| fail(Missing("client_id")))?;
        let client_id = ClientId::new(&client_id.decode()).map_err(|_| fail(BadClientId))?;
        if !self.clients.is_listed(&client_id) {
            return Err(fail(UnknownClient));
        }
        let redirect_uri = redirect_uri.ok_or_else(|| fail(Missing("redirect_uri")))?;
        let mut buf = [0u8; BUF_LEN];
        let redirect_uri = redirect_uri.decode_in(&mut buf);
        if !check_redirect_uri(&redirect_uri, &client_id) {
            return Err(fail(BadRedirectUri));
        }
        match response_type.map(Field::decode).as_deref() {
            None => return Err(fail(Missing("response_type"))),
            Some("code") => {}
            Some(_) => return Err(fail(UnsupportedResponseType)),
        }
        let state = state.ok_or_else(|| fail(Missing("state")))?;
        let state = State::parse(&state.decode()).map_err(|_| fail(BadState))?;
        let scope = scope.ok_or_else(|| fail(Missing("scope")))?;
        let mut scope_buf = [0u8; BUF_LEN];
        let scope = scope.decode_in(&mut scope_buf);
        if traced || !scope.contains('~') {
            // 2.x: every 2.x requirement applies (MedMij OAUTH-20, OAUTH-21).
            let trace = match trace {
                Some(Ok(t)) => t,
                Some(Err(e)) => return Err(fail(BadTracing(e))),
                None => return Err(fail(BadTracing(TraceError::Missing(REQUEST_ID)))),
            };
            let birth_date = birth_date.map(Field::decode);
            let (scope, use_case, representation) =
                self.scope_v2(&scope, birth_date.as_deref()).map_err(fail)?;
            return Ok(Session {
                request: AuthorizationRequest {
                    client_id,
                    redirect_uri: Arc::from(&*redirect_uri),
                    scope: scope.0,
                    state,
                    use_case,
                    v2: Some(RequestV2 {
                        trace,
                        wire_scope: scope.1,
                        representation,
                    }),
                },
                stage: Stage::AwaitingAuthentication,
                indefinite: false,
            });
        }
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
            if !self.config.serves_v1(scope.zorgaanbieder(), g) {
                return Err(invalid(V1NotServed));
            }
            return Ok(Session {
                request: AuthorizationRequest {
                    client_id,
                    redirect_uri: Arc::from(&*redirect_uri),
                    scope: scope.clone(),
                    state,
                    use_case: *use_case,
                    v2: None,
                },
                stage: Stage::AwaitingAuthentication,
                indefinite: false,
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
            if !self.config.serves_v1(scope.zorgaanbieder(), g) {
                return Err(invalid(V1NotServed));
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
                v2: None,
            },
            stage: Stage::AwaitingAuthentication,
            indefinite: false,
        })
    }

    /// Parses a 2.x scope (MedMij OAUTH-20): `<naam>` (Verzamelen: every offered
    /// Verzamelen Gegevensdienst of the Aanbieder; the token endpoint applies the OCL) or
    /// `<naam>~<id>` (Delen, exactly one), optionally followed by ` onbehalfof` or
    /// ` onbehalfofchild` with `MedMij_geboortedatum`.
    #[allow(clippy::type_complexity, reason = "private helper")]
    fn scope_v2(
        &self,
        text: &str,
        birth_date: Option<&str>,
    ) -> Result<((Scope, Arc<str>), UseCase, Option<Representation>), InvalidCause> {
        use InvalidCause::*;
        let (main, ext) = match text.split_once(' ') {
            Some((m, e)) => (m, Some(e)),
            None => (text, None),
        };
        let representation = match ext {
            None => None,
            Some(e) => {
                let kind = match e {
                    "onbehalfof" => RepresentationKind::OnBehalfOf,
                    "onbehalfofchild" => RepresentationKind::OnBehalfOfChild,
                    _ => {
                        return Err(BadScopeV2(
                            "after the Aanbieder only ` onbehalfof` or ` onbehalfofchild` may follow",
                        ));
                    }
                };
                let date = birth_date.ok_or(BadBirthDate)?;
                if !valid_birth_date(date) {
                    return Err(BadBirthDate);
                }
                Some(Representation {
                    kind,
                    geboortedatum: date.to_owned(),
                })
            }
        };
        if main.contains('~') {
            let scope = Scope::parse(main, ScopeForm::Single).map_err(BadScope)?;
            let Some(g) = scope.gegevensdiensten().first() else {
                return Err(BadScope(ScopeError::Empty));
            };
            match self.config.use_case(scope.zorgaanbieder(), g) {
                None => Err(NotOffered),
                Some(UseCase::Delen) => {
                    Ok(((scope, Arc::from(text)), UseCase::Delen, representation))
                }
                Some(UseCase::Verzamelen) => Err(BadScopeV2(
                    "a 2.x Verzamelen scope is the Aanbieder's name without @medmij and nothing else",
                )),
            }
        } else {
            let z = Zorgaanbiedernaam::from_scope_part(main)
                .map_err(|_| BadScopeV2("the Aanbieder's name is not valid"))?;
            let gds = self.config.offered_for(&z, UseCase::Verzamelen);
            let scope = Scope::several(z, gds).ok_or(NotOffered)?;
            Ok((
                (scope, Arc::from(text)),
                UseCase::Verzamelen,
                representation,
            ))
        }
    }
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
        // MedMij OAUTH-3 (RFC 6749 3.1): a parameter sent without a value is omitted, so it
        // is neither a value nor a repetition.
        if v.is_empty() {
            continue;
        }
        if let Some((slot, &name)) = index(&k).and_then(|i| values.get_mut(i).zip(names.get(i))) {
            debug_assert_eq!(name, k);
            if slot.is_some() {
                return Err(name);
            }
            *slot = Some(v);
        }
    }
    Ok(values)
}

/// Checks a redirect URI per MedMij OAUTH-4: absolute, `https`, no fragment, host equal to the
/// client's hostname (exactly: no user info, no other case, no percent-encoded host), an
/// optional port in 1..65535, and otherwise only RFC 3986 URI characters.
pub(super) fn check_redirect_uri(raw: &str, client: &ClientId) -> bool {
    let Some(rest) = raw
        .as_bytes()
        .strip_prefix(b"https://")
        .and_then(|r| r.strip_prefix(client.as_str().as_bytes()))
    else {
        return false;
    };
    let rest = match rest.strip_prefix(b":") {
        Some(p) => {
            // MedMij OAUTH-4: a port, if any, is 1..65535 in decimal digits; an empty port, a
            // sign or any other character is refused.
            let digits = p.iter().take_while(|c| c.is_ascii_digit()).count();
            if !(1..=5).contains(&digits) {
                return false;
            }
            let (port, after) = p.split_at(digits);
            let port = port.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
            if !(1..=65535).contains(&port) {
                return false;
            }
            after
        }
        None => rest,
    };
    if !(rest.is_empty() || rest.starts_with(b"/") || rest.starts_with(b"?")) {
        return false;
    }
    rest.iter().all(|&c| uri_char(c))
}

/// The bytes [`check_redirect_uri`] allows after the host: ASCII letters and digits and
/// `-._~:/?[]@!$&'()*+,;=%`.
fn uri_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~:/?[]@!$&'()*+,;=%".contains(&c)
}
