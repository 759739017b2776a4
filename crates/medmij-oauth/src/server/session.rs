//! One authorization flow at the AS, step by step (MedMij OAUTH-11), its redirects (OAUTH-10,
//! OAUTH-12 cases 2-5) and the issuing of the code (OAUTH-6, OAUTH-7).

use super::AuthorizationServer;
use super::authorize::{AuthorizationRequest, Representation, RepresentationKind, RequestV2};
use super::registry::ClientRegistry;
use crate::secret::{Code, RandomSource};
use crate::store::{CodeRecord, StoreError, TokenStore};
use crate::{ClientId, Scope, Subject, UseCase};
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

/// Headers for the consent (and login) page the AS shows: no framing, no caching
/// (RFC 6819 4.4.1.9 clickjacking, MedMij OAUTH-14).
pub const CONSENT_PAGE_HEADERS: &[(&str, &str)] = &[
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "frame-ancestors 'none'"),
    ("Cache-Control", "no-store"),
];

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
#[non_exhaustive]
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
            Self::IdentityNotEstablished => 2,
            Self::NoSuchResources => 3,
            Self::Denied => 4,
            Self::Failed => 5,
        }
    }

    /// The OAuth `error` (MedMij OAUTH-12).
    pub fn error(self) -> &'static str {
        match self {
            Self::IdentityNotEstablished => "unauthorized_client",
            _ => "access_denied",
        }
    }

    /// The exact `error_description` (MedMij OAUTH-12); case 2 has none.
    pub fn description(self) -> Option<&'static str> {
        match self {
            Self::IdentityNotEstablished => None,
            Self::NoSuchResources => Some("No such resources."),
            Self::Denied => Some("Authorization denied."),
            Self::Failed => Some("Authorization failed."),
        }
    }
}

/// What a redirect carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum RedirectKind {
    /// `code` and `state`: the happy flow.
    Code,
    /// `error`, maybe `error_description`, and `state`.
    Error(ErrorCase),
}

/// A redirect to the client's `redirect_uri` (HTTP 302 with this `Location`).
#[derive(Clone, PartialEq, Eq)]
#[must_use]
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

    /// The OAUTH-12 case number (2 to 5) of an error redirect; `None` for the code redirect.
    pub fn case_number(&self) -> Option<u8> {
        match self.kind {
            RedirectKind::Code => None,
            RedirectKind::Error(case) => Some(case.number()),
        }
    }
}

impl fmt::Debug for Redirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redirect")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// How long a granted consent lasts (MedMij CONSENT-6, OAUTH-19).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConsentPeriod {
    /// This one run of the flow only (1.x always; 2.x when the person did not choose the
    /// indefinite period, which is never preselected).
    #[default]
    ThisFlow,
    /// 2.x Verzamelen: for an indefinite period; the token endpoint issues a refresh token
    /// (MedMij OAUTH-19). Ignored (treated as [`ConsentPeriod::ThisFlow`]) for 1.x and Delen.
    Indefinite,
}

/// The consent record to log: grant and refusal both (MedMij CONSENT-3, LOG-1).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
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
    /// The period chosen with a grant (MedMij CONSENT-6); [`ConsentPeriod::ThisFlow`] for a
    /// refusal, for 1.x and for Delen.
    pub period: ConsentPeriod,
    /// When.
    pub at: SystemTime,
}

/// The result of [`Session::consent`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum ConsentOutcome {
    /// Granted: log the event, then call [`AuthorizationServer::issue_code`].
    Granted(ConsentEvent),
    /// Refused: log the event and send the redirect (MedMij OAUTH-12 case 4).
    Refused(ConsentEvent, Redirect),
    /// Undetermined: send the redirect (MedMij OAUTH-12 case 5).
    Undetermined(Redirect),
}

#[derive(Clone)]
pub(super) enum Stage {
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
    pub(super) request: AuthorizationRequest,
    pub(super) stage: Stage,
    /// The person chose consent for an indefinite period (2.x Verzamelen, MedMij CONSENT-6).
    pub(super) indefinite: bool,
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

    /// The authenticated person, from authentication until the code is issued.
    pub fn subject(&self) -> Option<&Subject> {
        match &self.stage {
            Stage::AwaitingDataCheck(s) | Stage::AwaitingConsent(s) | Stage::ReadyToIssue(s) => {
                Some(s)
            }
            Stage::AwaitingAuthentication | Stage::Finished => None,
        }
    }

    fn out_of_order(&self, step: &'static str) -> SessionError {
        SessionError {
            step,
            stage: self.stage(),
        }
    }

    pub(super) fn error_redirect(&mut self, case: ErrorCase) -> Redirect {
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

    /// An error redirect that ends the flow (used by the 2.x technical-failure outcome).
    pub(super) fn fail_redirect(&mut self, case: ErrorCase) -> Redirect {
        self.error_redirect(case)
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

    /// Ends an unfinished session with MedMij OAUTH-12 case 5 (the answer to the
    /// authorization question cannot be established: a step's system failed, or the flow was
    /// broken off). A finished session is a [`SessionError`].
    pub fn fail(&mut self) -> Result<Redirect, SessionError> {
        if matches!(self.stage, Stage::Finished) {
            return Err(self.out_of_order("fail"));
        }
        Ok(self.error_redirect(ErrorCase::Failed))
    }

    /// Step 3: the person's decision (CONSENT-1/2). Refusal is logged and ends with case 4;
    /// undetermined ends with case 5 (MedMij OAUTH-12, CONSENT-3). The consent covers this
    /// run of the flow only; for the 2.x indefinite period use [`Session::consent_with`].
    pub fn consent(
        &mut self,
        decision: ConsentDecision,
        now: SystemTime,
    ) -> Result<ConsentOutcome, SessionError> {
        self.consent_with(decision, ConsentPeriod::ThisFlow, now)
    }

    /// Step 3 with the period the person chose on the 2.x consent screen (MedMij CONSENT-6):
    /// [`ConsentPeriod::Indefinite`] on a granted 2.x Verzamelen flow makes the token
    /// endpoint issue a refresh token (OAUTH-19); for 1.x and Delen it counts as
    /// [`ConsentPeriod::ThisFlow`]. The outcome's [`ConsentEvent::period`] carries the choice.
    pub fn consent_with(
        &mut self,
        decision: ConsentDecision,
        period: ConsentPeriod,
        now: SystemTime,
    ) -> Result<ConsentOutcome, SessionError> {
        let Stage::AwaitingConsent(subject) = &self.stage else {
            return Err(self.out_of_order("consent"));
        };
        let subject = subject.clone();
        let period = if decision == ConsentDecision::Granted
            && self.request.v2.is_some()
            && self.request.use_case == UseCase::Verzamelen
        {
            period
        } else {
            ConsentPeriod::ThisFlow
        };
        let event = |decision| ConsentEvent {
            subject: subject.clone(),
            client_id: self.request.client_id.clone(),
            scope: self.request.scope.clone(),
            use_case: self.request.use_case,
            decision,
            period,
            at: now,
        };
        match decision {
            ConsentDecision::Granted => {
                let e = event(decision);
                self.indefinite = period == ConsentPeriod::Indefinite;
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

impl<S: TokenStore, C: ClientRegistry, R: RandomSource> AuthorizationServer<S, C, R> {
    /// Step 4: issues the code (MedMij OAUTH-6, OAUTH-7) and the redirect with `code` and `state`
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
        if let Some(v2) = &req.v2 {
            // 2.x: the token endpoint must know the flow's release, scope text and period
            // (MedMij OAUTH-19, OAUTH-20, OAUTH-21). If the store cannot keep it, the code is
            // retired at once, so that it can never be redeemed as a 1.x code.
            let meta = crate::refresh::CodeV2 {
                wire_scope: v2.wire_scope.to_string(),
                long_lasting: session.indefinite,
                correlation_id: v2.trace.correlation_id,
            };
            if let Err(e) = self.store.insert_code_v2(&code.hash(), &meta, now) {
                let _ = self.store.redeem_code(&code.hash(), now);
                return Err(e.into());
            }
        }
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
}

/// Appends form-encoded pairs to a checked redirect URI (which has no fragment), keeping any
/// query it already has (RFC 6749 3.1.2).
pub(super) fn redirect_location(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
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

/// The stored form of a [`Session`] (MedMij OAUTH-11 across gateway nodes): plain text
/// fields, checked again on the way back in.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionRepr {
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: String,
    use_case: UseCaseRepr,
    stage: StageRepr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    /// 2.x (absent in 1.x rows, which therefore still load): the request's scope text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    wire_scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    correlation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    representation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    geboortedatum: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    indefinite: bool,
}

#[derive(Clone, Copy, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum UseCaseRepr {
    Verzamelen,
    Delen,
}

#[derive(Clone, Copy, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum StageRepr {
    AwaitingAuthentication,
    AwaitingDataCheck,
    AwaitingConsent,
    ReadyToIssue,
    Finished,
}

impl serde::Serialize for Session {
    /// Writes the session for a [`FlowStore`](crate::FlowStore) shared by gateway nodes. The
    /// stored form holds the `state` and the person's local subject: keep it in the store
    /// only, never in a log (MedMij LOG-4).
    fn serialize<Z: serde::Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        let r = &self.request;
        let (stage, subject) = match &self.stage {
            Stage::AwaitingAuthentication => (StageRepr::AwaitingAuthentication, None),
            Stage::AwaitingDataCheck(x) => (StageRepr::AwaitingDataCheck, Some(x)),
            Stage::AwaitingConsent(x) => (StageRepr::AwaitingConsent, Some(x)),
            Stage::ReadyToIssue(x) => (StageRepr::ReadyToIssue, Some(x)),
            Stage::Finished => (StageRepr::Finished, None),
        };
        SessionRepr {
            client_id: r.client_id.as_str().to_owned(),
            redirect_uri: r.redirect_uri.to_string(),
            scope: r.scope.as_str().to_owned(),
            state: r.state.as_str().to_owned(),
            use_case: match r.use_case {
                UseCase::Verzamelen => UseCaseRepr::Verzamelen,
                UseCase::Delen => UseCaseRepr::Delen,
            },
            stage,
            subject: subject.map(|x| x.as_str().to_owned()),
            wire_scope: r.v2.as_ref().map(|v| v.wire_scope.to_string()),
            request_id: r.v2.as_ref().map(|v| v.trace.request_id.to_string()),
            correlation_id: r.v2.as_ref().map(|v| v.trace.correlation_id.to_string()),
            representation: r
                .v2
                .as_ref()
                .and_then(|v| v.representation.as_ref())
                .map(|p| p.kind.as_str().to_owned()),
            geboortedatum: r
                .v2
                .as_ref()
                .and_then(|v| v.representation.as_ref())
                .map(|p| p.geboortedatum.clone()),
            indefinite: self.indefinite,
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Session {
    /// Reads a stored session back, checking every value again: the client id (MedMij
    /// OAUTH-3), the redirect URI on the client's host (OAUTH-4: a corrupt row can never
    /// become a redirect elsewhere), the scope (OAUTH-5), the state (OAUTH-10) and the subject.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let r = SessionRepr::deserialize(d)?;
        let client_id = ClientId::new(&r.client_id).map_err(D::Error::custom)?;
        if !super::authorize::check_redirect_uri(&r.redirect_uri, &client_id) {
            return Err(D::Error::custom(
                "redirect_uri fails the MedMij OAUTH-4 check",
            ));
        }
        let scope = Scope::parse(&r.scope, crate::ScopeForm::Multiple).map_err(D::Error::custom)?;
        let state = crate::State::parse(&r.state).map_err(D::Error::custom)?;
        let subject = r
            .subject
            .map(Subject::new)
            .transpose()
            .map_err(D::Error::custom)?;
        let need = |s: Option<Subject>| {
            s.ok_or_else(|| D::Error::custom("subject missing for this stage"))
        };
        let stage = match r.stage {
            StageRepr::AwaitingAuthentication => Stage::AwaitingAuthentication,
            StageRepr::AwaitingDataCheck => Stage::AwaitingDataCheck(need(subject)?),
            StageRepr::AwaitingConsent => Stage::AwaitingConsent(need(subject)?),
            StageRepr::ReadyToIssue => Stage::ReadyToIssue(need(subject)?),
            StageRepr::Finished => Stage::Finished,
        };
        let v2 = match r.wire_scope {
            None => None,
            Some(wire_scope) => {
                let trace = crate::tracing::TraceIds::parse(
                    r.request_id.as_deref(),
                    r.correlation_id.as_deref(),
                )
                .map_err(D::Error::custom)?;
                let representation = match (r.representation.as_deref(), r.geboortedatum) {
                    (None, None) => None,
                    (Some(k), Some(d)) if super::authorize::valid_birth_date(&d) => {
                        let kind = match k {
                            "onbehalfof" => RepresentationKind::OnBehalfOf,
                            "onbehalfofchild" => RepresentationKind::OnBehalfOfChild,
                            _ => return Err(D::Error::custom("unknown representation")),
                        };
                        Some(Representation {
                            kind,
                            geboortedatum: d,
                        })
                    }
                    _ => return Err(D::Error::custom("representation incomplete")),
                };
                Some(RequestV2 {
                    trace,
                    wire_scope: Arc::from(wire_scope),
                    representation,
                })
            }
        };
        Ok(Self {
            request: AuthorizationRequest {
                client_id,
                redirect_uri: Arc::from(r.redirect_uri),
                scope,
                state,
                use_case: match r.use_case {
                    UseCaseRepr::Verzamelen => UseCase::Verzamelen,
                    UseCaseRepr::Delen => UseCase::Delen,
                },
                v2,
            },
            stage,
            indefinite: r.indefinite,
        })
    }
}
