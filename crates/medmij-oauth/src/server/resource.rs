//! The resource server's token check (MedMij OAUTH-2, OAUTH-13; OAUTH-12 cases 7 and 8).

use super::AuthorizationServer;
use super::registry::ClientRegistry;
use crate::secret::{AccessToken, RandomSource};
use crate::store::TokenStore;
use crate::{ClientId, Scope, ScopeGegevensdienstId, Subject, UseCase, Zorgaanbiedernaam};
use std::time::SystemTime;

/// The kind of resource interaction (MedMij OAUTH-13): Verzamelen reads, Delen writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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
#[non_exhaustive]
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

impl ResourceErrorKind {
    /// The MedMij rule behind this refusal: OAUTH-2 for a missing or malformed Bearer
    /// header, OAUTH-7 for an unknown, expired or revoked token (with OAUTH-8 for the
    /// revocation), OAUTH-13 for a token used outside its scope or interaction, OAUTH-12
    /// (case 8) for back ends that cannot deliver.
    #[must_use]
    pub fn rule(self) -> medmij_types::RuleId {
        use medmij_types::RuleId;
        match self {
            Self::MissingToken | Self::Malformed => RuleId::Oauth2,
            Self::InvalidToken => RuleId::Oauth7,
            Self::WrongScope => RuleId::Oauth13,
            Self::BackendUnavailable => RuleId::Oauth12,
        }
    }
}

impl ResourceError {
    /// MedMij OAUTH-12 case 8: the back-end systems cannot deliver.
    pub fn backend_unavailable() -> Self {
        Self {
            kind: ResourceErrorKind::BackendUnavailable,
        }
    }

    /// MedMij OAUTH-12 case 7 for a request that names no Gegevensdienst the token could
    /// cover (answered like an invalid token, revealing nothing).
    pub fn wrong_scope() -> Self {
        Self {
            kind: ResourceErrorKind::WrongScope,
        }
    }

    /// MedMij OAUTH-21: the tracing identifiers of a 2.x request are missing or malformed
    /// (case 7, answered as a malformed credential).
    pub(crate) fn invalid_tracing() -> Self {
        Self {
            kind: ResourceErrorKind::Malformed,
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

    /// Every response header besides the status: one `Content-Type`, `Cache-Control:
    /// no-store` (the answer is about a credential, RFC 6750 5.3, MedMij OAUTH-14) and, for
    /// case 7, the `WWW-Authenticate` challenge (RFC 6750 3).
    pub fn headers(&self) -> Vec<(&'static str, &'static str)> {
        let mut h = vec![
            ("Content-Type", self.content_type()),
            ("Cache-Control", "no-store"),
        ];
        if let Some(w) = self.www_authenticate() {
            h.push(("WWW-Authenticate", w));
        }
        h
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
pub(super) fn bearer_text(header: &str) -> Option<&str> {
    let (scheme, rest) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    Some(rest.trim_start_matches(' '))
}

impl<S: TokenStore, C: ClientRegistry, R: RandomSource> AuthorizationServer<S, C, R> {
    /// The resource server's check (MedMij OAUTH-2, OAUTH-5, OAUTH-7, OAUTH-8, OAUTH-13): the `Authorization` header
    /// value, the Zorgaanbieder and Gegevensdienst the request is about, the interaction, and
    /// the time. On failure: OAUTH-12 case 7 (or case 8 if the store fails).
    ///
    /// A token of a 2.x flow needs the tracing identifiers (MedMij OAUTH-21), which this
    /// entry point does not see: it is refused here as case 7; 2.x gateways call
    /// [`AuthorizationServer::check_resource_v2`].
    pub fn check_resource(
        &self,
        authorization: Option<&str>,
        zorgaanbieder: &Zorgaanbiedernaam,
        gegevensdienst: &ScopeGegevensdienstId,
        interaction: Interaction,
        now: SystemTime,
    ) -> Result<ResourceAccess, ResourceError> {
        self.check_resource_traced(
            authorization,
            zorgaanbieder,
            gegevensdienst,
            interaction,
            now,
            false,
        )
    }

    /// The check; `traced` says whether the request carried valid tracing identifiers.
    pub(super) fn check_resource_traced(
        &self,
        authorization: Option<&str>,
        zorgaanbieder: &Zorgaanbiedernaam,
        gegevensdienst: &ScopeGegevensdienstId,
        interaction: Interaction,
        now: SystemTime,
        traced: bool,
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
        // MedMij OAUTH-21: a request of a 2.x flow without the identifiers is case 7.
        if !traced
            && self
                .store
                .token_is_v2(&hash, now)
                .map_err(|_| err(ResourceErrorKind::BackendUnavailable))?
        {
            return Err(ResourceError::invalid_tracing());
        }
        Ok(ResourceAccess {
            expires_at: record.expires_at(),
            subject: record.subject,
            scope: record.scope,
            client_id: record.client_id,
        })
    }
}
