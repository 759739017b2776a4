//! The PGO GW side of release 2.x (MedMij OAUTH-19, OAUTH-20, OAUTH-21, OAUTH-22): the
//! release chosen per flow from what the host read in the ZAL, tracing identifiers, strict
//! 2.x token responses, refresh tokens behind a vault, the refresh request and the
//! "Toestemmingen aanpassen" link.

use super::{
    AccessGrant, Client, ClientError, PendingAuthorization, TokenRequest, TokenResponseError,
};
use super::{CallbackError, CodeReceived, RawTokenResponse};
use crate::provisional::V2Config;
use crate::secret::{Code, RandomSource, RefreshToken};
use crate::server::RepresentationKind;
use crate::store::LIFETIME;
use crate::tracing::{CORRELATION_ID, NewTraceId, REQUEST_ID, TraceIds};
use crate::{ReleaseLine, Scope, State, UseCase, Zorgaanbiedernaam};
use medmij_types::RuleId;
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::SystemTime;
use url::Url;

/// A token or refresh request with its tracing headers (MedMij OAUTH-21): POST
/// `request.body` to `request.url` with `request.headers()` and `headers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracedTokenRequest {
    /// The request (its `Debug` hides the body, MedMij LOG-4).
    pub request: TokenRequest,
    /// `MedMij-Request-ID` and `X-Correlation-ID` for 2.x; empty for 1.x.
    pub headers: Vec<(&'static str, String)>,
    /// The identifiers sent (2.x), for the chain-monitoring log (LOG-6).
    pub trace: Option<TraceIds>,
}

/// A flow started with [`Client::start_release`]: 1.x or 2.x. Keep it in the person's
/// user-agent session (MedMij OAUTH-10).
#[derive(Clone, Debug)]
pub struct PendingFlow {
    inner: PendingAuthorization,
    release: ReleaseLine,
    use_case: UseCase,
    /// 2.x: the flow's identifiers (the correlation id stays, OAUTH-21) and the scope text.
    trace: Option<TraceIds>,
    wire_scope: String,
}

/// A successful token answer of either release line.
#[derive(Clone, PartialEq, Eq)]
#[must_use]
pub struct GrantV2 {
    /// The access token and its scope.
    pub access: AccessGrant,
    /// 2.x long-lasting consent: the refresh token; put it in the [`RefreshTokenVault`]
    /// (the host stores it encrypted, MedMij OAUTH-19).
    pub refresh_token: Option<RefreshToken>,
    /// The `scope` text of the answer (MedMij OAUTH-20).
    pub wire_scope: String,
    /// The flow's `X-Correlation-ID`, for the resource requests of this flow (OAUTH-21).
    pub trace: Option<TraceIds>,
}

impl fmt::Debug for GrantV2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrantV2")
            .field("access", &self.access)
            .field("refresh_token", &self.refresh_token.is_some())
            .field("wire_scope", &self.wire_scope)
            .finish_non_exhaustive()
    }
}

impl GrantV2 {
    /// The headers of a resource request of this flow: `Authorization` and, for 2.x, a new
    /// `MedMij-Request-ID` with the flow's `X-Correlation-ID` (MedMij OAUTH-2, OAUTH-21).
    pub fn resource_headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![("Authorization", self.access.authorization_header())];
        if let Some(t) = &self.trace {
            h.extend(t.next_request().headers());
        }
        h
    }
}

/// Where the PGO GW keeps refresh tokens: implemented by the host, which stores them
/// encrypted at rest (MedMij OAUTH-19). [`MemoryVault`] is an in-memory implementation for
/// tests.
pub trait RefreshTokenVault {
    /// The host's error.
    type Error;
    /// Stores (or replaces) the refresh token of this person and Aanbieder.
    fn put(&self, key: &VaultKey, token: &RefreshToken) -> Result<(), Self::Error>;
    /// Takes the refresh token out (a refresh token is used once, MedMij OAUTH-19).
    fn take(&self, key: &VaultKey) -> Result<Option<RefreshToken>, Self::Error>;
}

/// What a refresh token is kept under: the PGO's own person reference (never a BSN, MedMij
/// OAUTH-16) and the Aanbieder.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VaultKey {
    /// The PGO's local reference of the person.
    pub person: String,
    /// The Aanbieder.
    pub aanbieder: Zorgaanbiedernaam,
}

/// An in-memory [`RefreshTokenVault`] (tests; not encrypted).
#[derive(Default)]
pub struct MemoryVault(Mutex<HashMap<VaultKey, RefreshToken>>);

impl fmt::Debug for MemoryVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryVault").finish_non_exhaustive()
    }
}

impl RefreshTokenVault for MemoryVault {
    type Error = std::convert::Infallible;
    fn put(&self, key: &VaultKey, token: &RefreshToken) -> Result<(), Self::Error> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone(), *token);
        Ok(())
    }
    fn take(&self, key: &VaultKey) -> Result<Option<RefreshToken>, Self::Error> {
        Ok(self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(key))
    }
}

/// Why a refresh failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// `invalid_grant`: the consent lapsed, was withdrawn or the chain was revoked. Start a
    /// new full flow (authentication and consent), MedMij OAUTH-19.
    #[error(
        "the refresh token was refused (invalid_grant): start a new full flow (MedMij OAUTH-19)"
    )]
    StartNewFlow,
    /// Any other refusal or a response that breaks a rule.
    #[error(transparent)]
    Response(#[from] TokenResponseError),
}

/// A refresh request sent and waiting for its answer.
#[derive(Debug, Clone)]
pub struct PendingRefresh {
    scope: Scope,
    wire_scope: String,
    trace: TraceIds,
}

/// The "Toestemmingen aanpassen" link (MedMij OAUTH-22): send the person's browser to `url`;
/// keep `state` in the session and check it when the person comes back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagementLink {
    /// The URL of the consent-management entry point.
    pub url: String,
    /// The fresh `state`.
    pub state: State,
    /// The identifiers sent.
    pub trace: TraceIds,
}

fn fresh_state(random: &impl RandomSource) -> Result<State, ClientError> {
    let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
    random.fill(&mut a);
    random.fill(&mut b);
    let mut hex = String::with_capacity(64);
    for x in a.into_iter().chain(b) {
        hex.push(crate::form::hex_digit(x >> 4));
        hex.push(crate::form::hex_digit(x));
    }
    State::parse(&hex).map_err(|_| ClientError::RedirectUri)
}

impl<R: RandomSource> Client<R> {
    /// Starts a flow in the release line the host read in the ZAL for this Aanbieder and
    /// Gegevensdienst (a release3 `InterfaceversieId`'s major version; a release2 ZAL is
    /// 1.x). 1.x: as [`Client::start`]. 2.x (MedMij OAUTH-20, OAUTH-21): Verzamelen asks the
    /// Aanbieder's name as scope, Delen its one pair; `representation` appends
    /// ` onbehalfof`/` onbehalfofchild` with `MedMij_geboortedatum`; the URL carries a new
    /// `MedMij-Request-ID` and the flow's new `X-Correlation-ID`.
    pub fn start_release(
        &self,
        release: ReleaseLine,
        authorization_endpoint: &str,
        token_endpoint: &str,
        scope: Scope,
        use_case: UseCase,
        representation: Option<(RepresentationKind, &str)>,
    ) -> Result<(String, PendingFlow), ClientError> {
        if release == ReleaseLine::V1 {
            if representation.is_some() {
                return Err(ClientError::Release(release));
            }
            let (url, inner) = self.start(authorization_endpoint, token_endpoint, scope)?;
            let wire_scope = inner.scope.as_str().to_owned();
            return Ok((
                url,
                PendingFlow {
                    inner,
                    release,
                    use_case,
                    trace: None,
                    wire_scope,
                },
            ));
        }
        let mut wire_scope = match use_case {
            UseCase::Verzamelen => scope.zorgaanbieder().scope_part().to_owned(),
            UseCase::Delen if scope.gegevensdiensten().len() == 1 => scope.as_str().to_owned(),
            UseCase::Delen => return Err(ClientError::Release(release)),
        };
        if let Some((kind, date)) = representation {
            if !crate::server::valid_birth_date(date) {
                return Err(ClientError::Release(release));
            }
            wire_scope.push(' ');
            wire_scope.push_str(kind.as_str());
        }
        let (_, inner) = self.start(authorization_endpoint, token_endpoint, scope)?;
        let trace = TraceIds {
            request_id: crate::RequestId::random(&self.random),
            correlation_id: crate::CorrelationId::random(&self.random),
        };
        let mut url = Url::parse(authorization_endpoint).map_err(|_| ClientError::Endpoint {
            field: "authorization_endpoint",
        })?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", self.client_id.as_str())
                .append_pair("redirect_uri", &self.redirect_uri)
                .append_pair("scope", &wire_scope)
                .append_pair("state", inner.state.as_str())
                .append_pair(REQUEST_ID, trace.request_id.as_str())
                .append_pair(CORRELATION_ID, trace.correlation_id.as_str());
            if let Some((_, date)) = representation {
                q.append_pair("MedMij_geboortedatum", date);
            }
        }
        Ok((
            url.into(),
            PendingFlow {
                inner,
                release,
                use_case,
                trace: Some(trace),
                wire_scope,
            },
        ))
    }

    /// The refresh request (MedMij OAUTH-19): `grant_type=refresh_token`, the token and
    /// `client_id`, no `redirect_uri`; a flow started from a refresh token gets a new
    /// `X-Correlation-ID` (OAUTH-21). `scope` is what the consent covers, `wire_scope` the
    /// scope text of its flow (the answer must carry it).
    pub fn refresh_request(
        &self,
        token_endpoint: &str,
        refresh_token: &RefreshToken,
        scope: Scope,
        wire_scope: &str,
    ) -> Result<(TracedTokenRequest, PendingRefresh), ClientError> {
        if !super::is_zal_uri(token_endpoint, true) {
            return Err(ClientError::Endpoint {
                field: "token_endpoint",
            });
        }
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", &refresh_token.secret_text())
            .append_pair("client_id", self.client_id.as_str())
            .finish();
        let trace = TraceIds {
            request_id: crate::RequestId::random(&self.random),
            correlation_id: crate::CorrelationId::random(&self.random),
        };
        Ok((
            TracedTokenRequest {
                request: TokenRequest {
                    url: token_endpoint.to_owned(),
                    body,
                },
                headers: trace.headers().to_vec(),
                trace: Some(trace),
            },
            PendingRefresh {
                scope,
                wire_scope: wire_scope.to_owned(),
                trace,
            },
        ))
    }

    /// The "Toestemmingen aanpassen" link for an Aanbieder (MedMij OAUTH-22): the
    /// consent-management path (provisional, [`V2Config::consent_management_path`]) in place
    /// of the last segment of the authorization endpoint, with `client_id`, `redirect_uri`,
    /// a fresh `state` and new OAUTH-21 identifiers.
    pub fn consent_management_link(
        &self,
        authorization_endpoint: &str,
        config: &V2Config,
    ) -> Result<ManagementLink, ClientError> {
        let bad = || ClientError::Endpoint {
            field: "authorization_endpoint",
        };
        if !super::is_zal_uri(authorization_endpoint, false) {
            return Err(bad());
        }
        let mut url = Url::parse(authorization_endpoint).map_err(|_| bad())?;
        {
            let mut seg = url.path_segments_mut().map_err(|_| bad())?;
            seg.pop_if_empty()
                .pop()
                .push(&config.consent_management_path);
        }
        let state = fresh_state(&self.random)?;
        let trace = TraceIds {
            request_id: crate::RequestId::random(&self.random),
            correlation_id: crate::CorrelationId::random(&self.random),
        };
        url.query_pairs_mut()
            .append_pair("client_id", self.client_id.as_str())
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("state", state.as_str())
            .append_pair(REQUEST_ID, trace.request_id.as_str())
            .append_pair(CORRELATION_ID, trace.correlation_id.as_str());
        Ok(ManagementLink {
            url: url.into(),
            state,
            trace,
        })
    }
}

/// Checks a 2.x success body strictly (MedMij OAUTH-2, OAUTH-6, OAUTH-7, OAUTH-19,
/// OAUTH-20); `refresh` says whether a refresh token may (`Some(false)`), must
/// (`Some(true)`) or must not (`None`) be present.
fn parse_v2(
    status: u16,
    body: &str,
    now: SystemTime,
    scope: &Scope,
    wire_scope: &str,
    refresh: Option<bool>,
) -> Result<(AccessGrant, Option<RefreshToken>), TokenResponseError> {
    use TokenResponseError::Invalid;
    let raw = RawTokenResponse::success(status, body)?;
    let refresh_token = match (&raw.refresh_token, refresh) {
        (None, Some(true)) | (Some(_), None) => {
            return Err(Invalid {
                field: "refresh_token",
                rule: RuleId::Oauth19,
            });
        }
        (None, _) => None,
        (Some(v), _) => Some(v.as_str().and_then(RefreshToken::parse).ok_or(Invalid {
            field: "refresh_token",
            rule: RuleId::Oauth6,
        })?),
    };
    raw.check_bearer_lifetime()?;
    if raw.scope.as_ref().and_then(|s| s.as_str()) != Some(wire_scope) {
        return Err(Invalid {
            field: "scope",
            rule: RuleId::Oauth20,
        });
    }
    let token = raw.access_token()?;
    if refresh_token.is_some_and(|r| r.to_string() == token.to_string()) {
        return Err(Invalid {
            field: "refresh_token",
            rule: RuleId::Oauth6,
        });
    }
    Ok((
        AccessGrant {
            token,
            scope: scope.clone(),
            expires_at: crate::store::later(now, LIFETIME),
        },
        refresh_token,
    ))
}

/// The stored form of a [`PendingFlow`], for a flow store shared by the PGO GW's nodes.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PendingFlowRepr {
    inner: PendingAuthorization,
    v2: bool,
    use_case: UseCase,
    request_id: Option<String>,
    correlation_id: Option<String>,
    wire_scope: String,
}

impl serde::Serialize for PendingFlow {
    /// Writes the pending flow for a [`FlowStore`](crate::FlowStore); it holds the `state`
    /// (keep it in the store only, MedMij OAUTH-10, LOG-4).
    fn serialize<Z: serde::Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        PendingFlowRepr {
            inner: self.inner.clone(),
            v2: self.release == ReleaseLine::V2,
            use_case: self.use_case,
            request_id: self.trace.map(|t| t.request_id.to_string()),
            correlation_id: self.trace.map(|t| t.correlation_id.to_string()),
            wire_scope: self.wire_scope.clone(),
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for PendingFlow {
    /// Reads a stored pending flow back, checking every value again (as
    /// [`PendingAuthorization`]'s; a 2.x flow needs both OAUTH-21 identifiers).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let r = PendingFlowRepr::deserialize(d)?;
        let (release, trace) = if r.v2 {
            let t = TraceIds::parse(r.request_id.as_deref(), r.correlation_id.as_deref())
                .map_err(D::Error::custom)?;
            (ReleaseLine::V2, Some(t))
        } else {
            (ReleaseLine::V1, None)
        };
        Ok(Self {
            inner: r.inner,
            release,
            use_case: r.use_case,
            trace,
            wire_scope: r.wire_scope,
        })
    }
}

impl PendingFlow {
    /// The release line of the flow.
    pub fn release(&self) -> ReleaseLine {
        self.release
    }

    /// The scope asked (MedMij OAUTH-5).
    pub fn scope(&self) -> &Scope {
        self.inner.scope()
    }

    /// Verzamelen or Delen (MedMij OAUTH-13), as started.
    pub fn use_case(&self) -> UseCase {
        self.use_case
    }

    /// The flow's identifiers (2.x).
    pub fn trace(&self) -> Option<&TraceIds> {
        self.trace.as_ref()
    }

    /// The `state` sent.
    pub fn state(&self) -> &State {
        self.inner.state()
    }

    /// The scope text sent.
    pub fn wire_scope(&self) -> &str {
        &self.wire_scope
    }

    /// Handles the redirect back (as [`PendingAuthorization::handle_redirect`]).
    pub fn handle_redirect(
        &self,
        query: &str,
        now: SystemTime,
    ) -> Result<CodeReceived, CallbackError> {
        self.inner.handle_redirect(query, now)
    }

    /// The token request for a code, with a new `MedMij-Request-ID` and the flow's
    /// `X-Correlation-ID` as headers for 2.x (MedMij OAUTH-21).
    pub fn token_request(&self, code: &Code) -> TracedTokenRequest {
        let trace = self.trace.as_ref().map(TraceIds::next_request);
        TracedTokenRequest {
            request: self.inner.token_request(code),
            headers: trace.map(|t| t.headers().to_vec()).unwrap_or_default(),
            trace,
        }
    }

    /// Parses the token answer strictly. 1.x: as
    /// [`PendingAuthorization::parse_token_response`] (no refresh token, OAUTH-1). 2.x:
    /// `scope` equals the scope text sent (OAUTH-20), a `refresh_token` only for Verzamelen
    /// and then a UUID v4 (OAUTH-19, OAUTH-6).
    pub fn parse_token_response(
        &self,
        status: u16,
        body: &str,
        now: SystemTime,
    ) -> Result<GrantV2, TokenResponseError> {
        if self.release == ReleaseLine::V1 {
            let access = self.inner.parse_token_response(status, body, now)?;
            return Ok(GrantV2 {
                access,
                refresh_token: None,
                wire_scope: self.wire_scope.clone(),
                trace: None,
            });
        }
        let refresh = (self.use_case == UseCase::Verzamelen).then_some(false);
        let (access, refresh_token) = parse_v2(
            status,
            body,
            now,
            &self.inner.scope,
            &self.wire_scope,
            refresh,
        )?;
        Ok(GrantV2 {
            access,
            refresh_token,
            wire_scope: self.wire_scope.clone(),
            trace: self.trace,
        })
    }
}

impl PendingRefresh {
    /// Parses the refresh answer: a new access token and a new refresh token (rotation,
    /// MedMij OAUTH-19) for exactly the flow's scope text; `invalid_grant` means
    /// [`RefreshError::StartNewFlow`].
    pub fn parse_response(
        &self,
        status: u16,
        body: &str,
        now: SystemTime,
    ) -> Result<GrantV2, RefreshError> {
        match parse_v2(status, body, now, &self.scope, &self.wire_scope, Some(true)) {
            Ok((access, refresh_token)) => Ok(GrantV2 {
                access,
                refresh_token,
                wire_scope: self.wire_scope.clone(),
                trace: Some(self.trace),
            }),
            Err(e) if e.is_invalid_grant() => Err(RefreshError::StartNewFlow),
            Err(e) => Err(e.into()),
        }
    }
}

impl VaultKey {
    /// A key.
    pub fn new(person: impl Into<String>, aanbieder: Zorgaanbiedernaam) -> Self {
        Self {
            person: person.into(),
            aanbieder,
        }
    }
}
