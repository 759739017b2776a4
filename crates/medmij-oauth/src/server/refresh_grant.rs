//! 2.x at the token endpoint and around it: the refresh grant with rotation (MedMij
//! OAUTH-19), the answer with a refresh token, consent management and withdrawal (OAUTH-22),
//! the technical-failure outcome (OAUTH-23) and the traced resource check (OAUTH-21).

use super::authorize::{InvalidCause, InvalidRequest, check_redirect_uri};
use super::registry::ClientRegistry;
use super::session::{ErrorCase, Redirect, Session};
use super::token::{EXPIRES_IN, TokenErrorCode, TokenEvent, push_json_str};
use super::{AuthorizationServer, MAX_DRAWS};
use crate::form::Field;
use crate::refresh::{ConsentId, ConsentRecord, LongLastingConsent, Rotation};
use crate::secret::{AccessToken, RandomSource, RefreshToken, SecretHash};
use crate::store::{StoreError, TokenRecord, TokenStore};
use crate::tracing::{CORRELATION_ID, REQUEST_ID, RequestId, TraceIds};
use crate::{
    ClientId, ReleaseLine, Scope, ScopeGegevensdienstId, State, Subject, Zorgaanbiedernaam,
};
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

/// A token request as the 2.x token endpoint reads it: the `Content-Type` header, the body
/// and the two tracing headers (MedMij OAUTH-21), each `None` when absent.
#[derive(Clone, Copy)]
pub struct TokenHttpRequest<'a> {
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The form-encoded body. It holds a code or refresh token: never log it (MedMij LOG-4).
    pub body: &'a str,
    /// The `MedMij-Request-ID` header.
    pub request_id: Option<&'a str>,
    /// The `X-Correlation-ID` header.
    pub correlation_id: Option<&'a str>,
}

impl fmt::Debug for TokenHttpRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenHttpRequest")
            .field("content_type", &self.content_type)
            .field("request_id", &self.request_id)
            .field("correlation_id", &self.correlation_id)
            .finish_non_exhaustive()
    }
}

/// The token endpoint's answer in both release lines.
#[derive(Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum TokenAnswer {
    /// RFC 6749 5.1.
    Issued {
        /// The access token (900 s, MedMij OAUTH-7).
        access_token: AccessToken,
        /// 2.x, long-lasting consent only (MedMij OAUTH-19).
        refresh_token: Option<RefreshToken>,
        /// The Gegevensdiensten the token covers.
        scope: Scope,
        /// The `scope` written in the answer: the request's scope text (MedMij OAUTH-20;
        /// for 1.x the consented pairs, OAUTH-5).
        wire_scope: Arc<str>,
    },
    /// RFC 6749 5.2.
    Error {
        /// The error code.
        error: TokenErrorCode,
        /// The `error_description`.
        description: &'static str,
    },
}

impl fmt::Debug for TokenAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Issued {
                refresh_token,
                wire_scope,
                ..
            } => f
                .debug_struct("Issued")
                .field("refresh_token", &refresh_token.is_some())
                .field("scope", wire_scope)
                .finish_non_exhaustive(),
            Self::Error { error, description } => f
                .debug_struct("Error")
                .field("error", error)
                .field("description", description)
                .finish(),
        }
    }
}

impl TokenAnswer {
    /// HTTP status: 200, 400 (401 for `invalid_client`; 500 for a store failure).
    pub fn status(&self) -> u16 {
        match self {
            Self::Issued { .. } => 200,
            Self::Error {
                error: TokenErrorCode::InvalidClient,
                ..
            } => 401,
            Self::Error {
                error: TokenErrorCode::ServerError,
                ..
            } => 500,
            Self::Error { .. } => 400,
        }
    }

    /// The OAUTH-12 case number: 6 for `invalid_grant`.
    pub fn case_number(&self) -> Option<u8> {
        matches!(
            self,
            Self::Error {
                error: TokenErrorCode::InvalidGrant,
                ..
            }
        )
        .then_some(6)
    }

    /// Headers besides the status: JSON, no caching (RFC 6749 5.1).
    pub fn headers(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("Content-Type", "application/json;charset=UTF-8"),
            ("Cache-Control", "no-store"),
            ("Pragma", "no-cache"),
        ]
    }

    /// The JSON body; without a refresh token exactly the 1.x body.
    pub fn body(&self) -> String {
        match self {
            Self::Issued {
                access_token,
                refresh_token,
                wire_scope,
                ..
            } => {
                let mut buf = [0u8; 36];
                let mut out = String::with_capacity(192 + wire_scope.len());
                out.push_str(r#"{"access_token":""#);
                out.push_str(access_token.encode(&mut buf));
                out.push_str(r#"","token_type":"bearer","expires_in":"#);
                out.push_str(EXPIRES_IN);
                if let Some(r) = refresh_token {
                    out.push_str(r#","refresh_token":""#);
                    out.push_str(r.encode(&mut buf));
                    out.push('"');
                }
                out.push_str(r#","scope":"#);
                push_json_str(&mut out, wire_scope);
                out.push('}');
                out
            }
            Self::Error { error, description } => {
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

/// The result of [`AuthorizationServer::token_v2`]. Convert it into an
/// [`HttpResponse`](crate::HttpResponse), which echoes `MedMij-Request-ID` (MedMij OAUTH-21).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct TokenOutcomeV2 {
    /// The answer.
    pub response: TokenAnswer,
    /// The event to log (MedMij LOG-1); holds no code or token (LOG-4).
    pub event: TokenEvent,
    /// The release line the request was served in.
    pub release: ReleaseLine,
    /// The request's tracing identifiers, when both were valid (MedMij OAUTH-21, LOG-6).
    pub trace: Option<TraceIds>,
    /// The `MedMij-Request-ID` to echo, when well-formed.
    pub request_id: Option<RequestId>,
    /// The long-lasting consent the answer belongs to, if any (MedMij OAUTH-19).
    pub consent: Option<ConsentId>,
}

pub(super) struct RefreshParams<'a> {
    pub(super) refresh_token: Option<Field<'a>>,
    pub(super) client_id: Option<Field<'a>>,
    pub(super) redirect_uri: Option<Field<'a>>,
    pub(super) code: Option<Field<'a>>,
}

/// A withdrawal to log (MedMij CONSENT-3, OAUTH-22, LOG-1).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct WithdrawalEvent {
    /// The person.
    pub subject: Subject,
    /// The client the consent was given to.
    pub client_id: ClientId,
    /// The consent withdrawn.
    pub consent: ConsentId,
    /// The Gegevensdiensten it covered.
    pub scope: Scope,
    /// When.
    pub at: SystemTime,
}

/// MedMij OAUTH-23: a technical failure. The host shows its own page (medmij-consent's
/// `v2::render_failure`) with the Trace ID and Session ID, its name and a contact, and the
/// way back only when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TechnicalFailure {
    /// Trace ID (`MedMij-Request-ID`) and Session ID (`X-Correlation-ID`), when known.
    pub trace: Option<TraceIds>,
    /// The way back to the PGO (an OAUTH-12 case 5 redirect), only when `client_id` and
    /// `redirect_uri` were valid.
    pub back: Option<Redirect>,
}

impl InvalidRequest {
    /// The OAUTH-23 page data for an invalid request: its identifiers, and no way back
    /// (client or redirect URI may be the invalid part, MedMij OAUTH-4).
    pub fn technical_failure(&self) -> TechnicalFailure {
        TechnicalFailure {
            trace: self.trace().copied(),
            back: None,
        }
    }
}

impl Session {
    /// Ends the flow on a technical failure (MedMij OAUTH-23): the identifiers of a 2.x
    /// request and the way back, an OAUTH-12 case 5 redirect (`Authorization failed.`).
    pub fn technical_failure(&mut self) -> TechnicalFailure {
        let trace = self.request().v2().map(|v| v.trace);
        TechnicalFailure {
            trace,
            back: Some(self.fail_redirect(ErrorCase::Failed)),
        }
    }
}

/// A validated request to the consent-management entry point (MedMij OAUTH-22): the host
/// authenticates the person, shows [`AuthorizationServer::long_lasting_consents`], asks to
/// confirm a withdrawal, calls [`AuthorizationServer::withdraw_consent`] and sends the
/// person to [`ConsentManagement::back_location`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentManagement {
    /// The client (PGO GW).
    pub client_id: ClientId,
    redirect_uri: String,
    state: State,
    /// The tracing identifiers (MedMij OAUTH-21).
    pub trace: TraceIds,
}

impl ConsentManagement {
    /// Where to send the person back: `redirect_uri` with `state` (MedMij OAUTH-22). It
    /// carries no code.
    pub fn back_location(&self) -> String {
        super::session::redirect_location(&self.redirect_uri, &[("state", self.state.as_str())])
    }
}

impl<S: TokenStore, C: ClientRegistry, R: RandomSource> AuthorizationServer<S, C, R> {
    /// The provisional 2.x values of this server.
    pub fn v2_config(&self) -> &crate::V2Config {
        self.config.v2()
    }

    /// Draws the access and refresh tokens and the consent id, and stores them with the
    /// code's token (MedMij OAUTH-6, OAUTH-19).
    pub(super) fn issue_with_refresh(
        &self,
        record: &TokenRecord,
        code: &SecretHash,
        wire_scope: &str,
        now: SystemTime,
    ) -> Result<(AccessToken, RefreshToken, ConsentId), StoreError> {
        for _ in 0..MAX_DRAWS {
            let access = AccessToken::random(&self.random);
            let refresh = RefreshToken::random(&self.random);
            let consent = ConsentRecord {
                id: ConsentId::random(&self.random),
                client_id: record.client_id.clone(),
                subject: record.subject.clone(),
                scope: record.scope.clone(),
                wire_scope: wire_scope.to_owned(),
                use_case: record.use_case,
                granted_at: now,
            };
            match self.store.insert_token_with_refresh(
                &access.hash(),
                record,
                code,
                &refresh.hash(),
                &consent,
                now,
            ) {
                Ok(()) => return Ok((access, refresh, consent.id)),
                Err(StoreError::Collision) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Collision)
    }

    /// The refresh grant (MedMij OAUTH-19); the tracing headers were checked by the caller.
    pub(super) fn refresh_grant(
        &self,
        p: RefreshParams<'_>,
        client: &ClientId,
        now: SystemTime,
        out: impl Fn(TokenAnswer, TokenEvent, Option<ConsentId>) -> TokenOutcomeV2,
    ) -> TokenOutcomeV2 {
        let refuse = |error, reason: &'static str| {
            out(
                TokenAnswer::Error {
                    error,
                    description: reason,
                },
                TokenEvent::Refused {
                    client_id: client.clone(),
                    error,
                    reason,
                },
                None,
            )
        };
        if !self.clients.is_listed(client) {
            return refuse(
                TokenErrorCode::InvalidClient,
                "The client certificate's hostname is not on the OAuth Client List (MedMij OAUTH-3).",
            );
        }
        match p.client_id {
            None => {
                return refuse(
                    TokenErrorCode::InvalidRequest,
                    "client_id is missing (MedMij OAUTH-19).",
                );
            }
            Some(id) if id.decode().as_bytes() != client.as_str().as_bytes() => {
                return refuse(
                    TokenErrorCode::InvalidClient,
                    "client_id differs from the client certificate's hostname (MedMij OAUTH-3).",
                );
            }
            Some(_) => {}
        }
        if p.redirect_uri.is_some() || p.code.is_some() {
            return refuse(
                TokenErrorCode::InvalidRequest,
                "A refresh request carries no redirect_uri and no code (MedMij OAUTH-19).",
            );
        }
        let Some(presented) = p.refresh_token else {
            return refuse(TokenErrorCode::InvalidRequest, "refresh_token is missing.");
        };
        let Some((_, presented)) = RefreshToken::parse_hashed(&presented.decode()) else {
            return refuse(
                TokenErrorCode::InvalidGrant,
                "The refresh token is not valid.",
            );
        };
        let lifetime = self.config.v2().refresh_lifetime;
        for _ in 0..MAX_DRAWS {
            let access = AccessToken::random(&self.random);
            let refresh = RefreshToken::random(&self.random);
            let rotation = match self.store.rotate_refresh(
                &presented,
                &access.hash(),
                &refresh.hash(),
                client,
                now,
                lifetime,
            ) {
                Ok(r) => r,
                Err(StoreError::Collision) => continue,
                Err(_) => return refuse(TokenErrorCode::ServerError, "The token store failed."),
            };
            return match rotation {
                Rotation::Rotated(rec) => out(
                    TokenAnswer::Issued {
                        access_token: access,
                        refresh_token: Some(refresh),
                        scope: rec.scope.clone(),
                        wire_scope: Arc::from(rec.wire_scope.as_str()),
                    },
                    TokenEvent::Issued {
                        client_id: rec.client_id,
                        scope: rec.scope,
                        subject: rec.subject,
                    },
                    Some(rec.id),
                ),
                Rotation::Replayed => out(
                    TokenAnswer::Error {
                        error: TokenErrorCode::InvalidGrant,
                        description: "The refresh token was already used: every token of this consent is revoked (MedMij OAUTH-19).",
                    },
                    TokenEvent::Replay {
                        client_id: client.clone(),
                        token_revoked: true,
                    },
                    None,
                ),
                Rotation::Expired => refuse(
                    TokenErrorCode::InvalidGrant,
                    "The refresh token has lapsed (MedMij OAUTH-19).",
                ),
                Rotation::Revoked | Rotation::OtherClient | Rotation::Unknown => refuse(
                    TokenErrorCode::InvalidGrant,
                    "The refresh token is not valid.",
                ),
            };
        }
        refuse(TokenErrorCode::ServerError, "The token store failed.")
    }

    /// The person's long-lasting consents for this client that are in force (MedMij
    /// OAUTH-22, CONSENT-6 overview).
    pub fn long_lasting_consents(
        &self,
        subject: &Subject,
        client: &ClientId,
        now: SystemTime,
    ) -> Result<Vec<LongLastingConsent>, StoreError> {
        self.store
            .long_lasting_consents(subject, client, now, self.config.v2().refresh_lifetime)
    }

    /// Withdraws a long-lasting consent of this person and client, after the person
    /// confirmed it (MedMij OAUTH-22): its whole refresh-token chain and its access tokens
    /// are revoked, so a later refresh gets `invalid_grant`. Returns the event to log
    /// (CONSENT-3), `None` if no such consent was in force.
    pub fn withdraw_consent(
        &self,
        id: &ConsentId,
        subject: &Subject,
        client: &ClientId,
        now: SystemTime,
    ) -> Result<Option<WithdrawalEvent>, StoreError> {
        let found = self
            .long_lasting_consents(subject, client, now)?
            .into_iter()
            .find(|c| &c.record.id == id);
        let Some(c) = found else {
            return Ok(None);
        };
        if !self.store.withdraw_consent(id, subject, client, now)? {
            return Ok(None);
        }
        Ok(Some(WithdrawalEvent {
            subject: subject.clone(),
            client_id: client.clone(),
            consent: *id,
            scope: c.record.scope,
            at: now,
        }))
    }

    /// Validates a request to the consent-management entry point (MedMij OAUTH-22):
    /// `client_id` on the OCL, `redirect_uri` as in OAUTH-4, `state`, and the OAUTH-21
    /// identifiers, all query parameters. Invalid: OAUTH-12 case 1.
    pub fn consent_management(&self, query: &str) -> Result<ConsentManagement, InvalidRequest> {
        use super::authorize::invalid;
        use InvalidCause::*;
        if query.len() > super::MAX_REQUEST_LEN {
            return Err(invalid(TooLong));
        }
        let mut v: [Option<Field<'_>>; 5] = [None; 5];
        for (k, val) in crate::form::parse(query) {
            if val.is_empty() {
                continue;
            }
            let (i, name) = match &*k {
                "client_id" => (0, "client_id"),
                "redirect_uri" => (1, "redirect_uri"),
                "state" => (2, "state"),
                REQUEST_ID => (3, REQUEST_ID),
                CORRELATION_ID => (4, CORRELATION_ID),
                _ => continue,
            };
            let Some(slot) = v.get_mut(i) else { continue };
            if slot.is_some() {
                return Err(invalid(Repeated(name)));
            }
            *slot = Some(val);
        }
        let [client_id, redirect_uri, state, rid, cid] = v;
        let client_id = client_id.ok_or(invalid(Missing("client_id")))?;
        let client_id = ClientId::new(&client_id.decode()).map_err(|_| invalid(BadClientId))?;
        if !self.clients.is_listed(&client_id) {
            return Err(invalid(UnknownClient));
        }
        let redirect_uri = redirect_uri
            .ok_or(invalid(Missing("redirect_uri")))?
            .decode()
            .into_owned();
        if !check_redirect_uri(&redirect_uri, &client_id) {
            return Err(invalid(BadRedirectUri));
        }
        let state = state.ok_or(invalid(Missing("state")))?;
        let state = State::parse(&state.decode()).map_err(|_| invalid(BadState))?;
        let trace = TraceIds::parse(
            rid.map(Field::decode).as_deref(),
            cid.map(Field::decode).as_deref(),
        )
        .map_err(|e| invalid(BadTracing(e)))?;
        Ok(ConsentManagement {
            client_id,
            redirect_uri,
            state,
            trace,
        })
    }

    /// The resource check of both release lines (MedMij OAUTH-21): as
    /// [`AuthorizationServer::check_resource`], with the request's `MedMij-Request-ID` and
    /// `X-Correlation-ID` headers (`None` when absent). A request carrying either is 2.x
    /// and needs both as UUIDs v4; a token of a 2.x flow needs them always; else OAUTH-12
    /// case 7. Returns the identifiers with the access (to echo `MedMij-Request-ID` and to
    /// log, LOG-6).
    #[allow(
        clippy::too_many_arguments,
        reason = "the request's parts, as in check_resource"
    )]
    pub fn check_resource_v2(
        &self,
        authorization: Option<&str>,
        request_id: Option<&str>,
        correlation_id: Option<&str>,
        zorgaanbieder: &Zorgaanbiedernaam,
        gegevensdienst: &ScopeGegevensdienstId,
        interaction: super::Interaction,
        now: SystemTime,
    ) -> Result<(super::ResourceAccess, Option<TraceIds>), super::ResourceError> {
        let trace = if request_id.is_some() || correlation_id.is_some() {
            Some(
                TraceIds::parse(request_id, correlation_id)
                    .map_err(|_| super::ResourceError::invalid_tracing())?,
            )
        } else {
            None
        };
        let access = self.check_resource_traced(
            authorization,
            zorgaanbieder,
            gegevensdienst,
            interaction,
            now,
            trace.is_some(),
        )?;
        Ok((access, trace))
    }
}
