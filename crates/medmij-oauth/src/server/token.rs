//! The token endpoint (MedMij OAUTH-1, OAUTH-3, OAUTH-6, OAUTH-7, OAUTH-8, OAUTH-9; OAUTH-12
//! case 6).

use super::AuthorizationServer;
use super::config::MAX_REQUEST_LEN;
use super::registry::ClientRegistry;
use crate::form::{BUF_LEN, Field};
use crate::secret::{AccessToken, Code, RandomSource, SecretHash};
use crate::store::{LIFETIME, Redemption, StoreError, TokenRecord, TokenStore};
use crate::tracing::TraceIds;
use crate::{ClientId, ReleaseLine, Scope, Subject, UseCase};
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use super::refresh_grant::RefreshParams;
pub use super::refresh_grant::{TokenAnswer, TokenHttpRequest, TokenOutcomeV2};

/// The OAuth error codes of the token endpoint (RFC 6749 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenErrorCode {
    /// Malformed request: missing or repeated parameter.
    InvalidRequest,
    /// The mTLS client is not on the OCL, or `client_id` differs from it (MedMij OAUTH-3).
    InvalidClient,
    /// The code is invalid, expired, replayed, or bound to another client or redirect_uri
    /// (MedMij OAUTH-12 case 6; OAUTH-7, OAUTH-8, OAUTH-9).
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
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::ServerError => "server_error",
        }
    }
}

/// The HTTP answer of the token endpoint.
#[derive(Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
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
            Self::Issued { scope, .. } => f
                .debug_struct("Issued")
                .field("scope", scope)
                .finish_non_exhaustive(),
            Self::Error { error, description } => f
                .debug_struct("Error")
                .field("error", error)
                .field("description", description)
                .finish(),
        }
    }
}

impl TokenResponse {
    /// The OAUTH-12 case number: 6 for `invalid_grant` (MedMij OAUTH-12), `None` for a token
    /// or another error (those are not OAUTH-12 exceptions).
    pub fn case_number(&self) -> Option<u8> {
        match self {
            Self::Error {
                error: TokenErrorCode::InvalidGrant,
                ..
            } => Some(6),
            _ => None,
        }
    }

    /// HTTP status: 200, 400 (401 for `invalid_client`, RFC 6749 5.2; 500 for a store failure).
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
            Self::Issued {
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

/// `expires_in` as written in the token response: [`LIFETIME`] in seconds (MedMij OAUTH-7).
pub(super) const EXPIRES_IN: &str = "900";
const _: () = assert!(LIFETIME.as_secs() == 900 && LIFETIME.subsec_nanos() == 0);

/// Appends `s` as a JSON string, escaped as serde_json escapes it (RFC 8259 7: `"`, `\` and
/// the control characters; `\b \f \n \r \t` in short form, the others as `\u00xx`).
pub(super) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut rest = s;
    while let Some(i) = rest
        .bytes()
        .position(|c| c < 0x20 || c == b'"' || c == b'\\')
    {
        let (before, from) = rest.split_at(i);
        out.push_str(before);
        let Some((&c, _)) = from.as_bytes().split_first() else {
            break;
        };
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
                out.push(crate::form::hex_digit(c >> 4));
                out.push(crate::form::hex_digit(c));
            }
        }
        // The escaped byte is ASCII: the next one starts a character.
        rest = from.get(1..).unwrap_or_default();
    }
    out.push_str(rest);
    out.push('"');
}

/// What the token endpoint did, for the log (MedMij LOG-1). Holds no code or token (LOG-4).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
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

/// The media type a token request must have (RFC 6749 4.1.3).
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// Checks the token request's `Content-Type`: the media type `application/x-www-form-urlencoded`
/// (case-insensitive, RFC 9110 8.3.1), with any parameters, but a `charset` only if it is
/// UTF-8 (the body is decoded as UTF-8, RFC 6749 Appendix B). The error is the
/// `error_description` to send.
pub(super) fn check_form_content_type(content_type: Option<&str>) -> Result<(), &'static str> {
    let Some(ct) = content_type else {
        return Err(
            "The Content-Type header is missing: a token request is application/x-www-form-urlencoded (RFC 6749 4.1.3).",
        );
    };
    let mut parts = ct.split(';');
    let essence = parts.next().unwrap_or_default().trim_matches([' ', '\t']);
    if !essence.eq_ignore_ascii_case(FORM_CONTENT_TYPE) {
        return Err("The Content-Type is not application/x-www-form-urlencoded (RFC 6749 4.1.3).");
    }
    for param in parts {
        let param = param.trim_matches([' ', '\t']);
        if param.is_empty() {
            continue;
        }
        let Some((name, value)) = param.split_once('=') else {
            return Err("A Content-Type parameter has no value (RFC 9110 5.6.6).");
        };
        if name
            .trim_end_matches([' ', '\t'])
            .eq_ignore_ascii_case("charset")
        {
            let value = value.trim_matches([' ', '\t']);
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            if !value.eq_ignore_ascii_case("utf-8") {
                return Err("The Content-Type charset is not UTF-8 (RFC 6749 Appendix B).");
            }
        }
    }
    Ok(())
}

/// The result of [`AuthorizationServer::token`]: the HTTP answer and the log event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct TokenOutcome {
    /// The answer to send.
    pub response: TokenResponse,
    /// The event to log.
    pub event: TokenEvent,
}

impl<S: TokenStore, C: ClientRegistry, R: RandomSource> AuthorizationServer<S, C, R> {
    /// The token endpoint: `content_type` is the request's `Content-Type` header (`None` if
    /// absent), `body` the request body and `client` the hostname from the client's mTLS
    /// certificate (MedMij OAUTH-3).
    ///
    /// The body must be `application/x-www-form-urlencoded` (RFC 6749 4.1.3; parameters such
    /// as `; charset=UTF-8` are allowed, a charset other than UTF-8 is not); otherwise the
    /// answer is HTTP 400 `invalid_request` and the body is not read, so no code in it counts
    /// as presented. A parameter sent with an empty value is treated as omitted (MedMij
    /// OAUTH-3, RFC 6749 3.2).
    ///
    /// Any syntactically valid code in a form body is retired at once, whatever the outcome
    /// (MedMij OAUTH-8).
    ///
    /// This is the 1.x entry point: it has no tracing headers, so a code of a 2.x flow and
    /// the refresh grant are refused with `invalid_request` (MedMij OAUTH-21); 2.x gateways
    /// call [`AuthorizationServer::token_v2`].
    pub fn token(
        &self,
        content_type: Option<&str>,
        body: &str,
        client: &ClientId,
        now: SystemTime,
    ) -> TokenOutcome {
        let out = self.token_inner(
            &TokenHttpRequest {
                content_type,
                body,
                request_id: None,
                correlation_id: None,
            },
            client,
            now,
            true,
        );
        TokenOutcome {
            response: match out.response {
                TokenAnswer::Issued {
                    access_token,
                    scope,
                    ..
                } => TokenResponse::Issued {
                    access_token,
                    scope,
                },
                TokenAnswer::Error { error, description } => {
                    TokenResponse::Error { error, description }
                }
            },
            event: out.event,
        }
    }

    /// The token endpoint of both release lines ("Releases, side by side"): the
    /// authorization-code grant (MedMij OAUTH-1, OAUTH-7, OAUTH-8, OAUTH-9) and, for 2.x,
    /// the refresh grant (OAUTH-19). The checks of [`AuthorizationServer::token`] apply, and:
    ///
    /// - a code of a 2.x flow and every refresh request need valid `MedMij-Request-ID` and
    ///   `X-Correlation-ID` headers (MedMij OAUTH-21), else HTTP 400 `invalid_request`;
    /// - for a 2.x Verzamelen code the consent covers the Aanbieder's offered
    ///   Gegevensdiensten that the OCL allows this client ([`ClientRegistry::may_use`],
    ///   MedMij OAUTH-20); none allowed is `invalid_grant`;
    /// - a refresh token is issued only for a long-lasting consent (MedMij OAUTH-19,
    ///   CONSENT-6); the response's `scope` is the request's scope text (OAUTH-20);
    /// - a replayed code also revokes the consent's refresh-token chain (MedMij OAUTH-8);
    /// - any other `grant_type` is `unsupported_grant_type` (OAUTH-1).
    pub fn token_v2(
        &self,
        req: &TokenHttpRequest<'_>,
        client: &ClientId,
        now: SystemTime,
    ) -> TokenOutcomeV2 {
        self.token_inner(req, client, now, false)
    }

    /// The token endpoint; `v1_only` for the 1.x entry point, where `refresh_token` is an
    /// unsupported grant type as in every 1.x release (MedMij OAUTH-1).
    fn token_inner(
        &self,
        req: &TokenHttpRequest<'_>,
        client: &ClientId,
        now: SystemTime,
        v1_only: bool,
    ) -> TokenOutcomeV2 {
        let traced = req.request_id.is_some() || req.correlation_id.is_some();
        let trace = if traced {
            Some(TraceIds::parse(req.request_id, req.correlation_id))
        } else {
            None
        };
        let valid_trace = trace.and_then(Result::ok);
        // MedMij OAUTH-21: echo a well-formed MedMij-Request-ID even if the other one is bad.
        let request_id = req
            .request_id
            .and_then(|v| crate::tracing::RequestId::new(v).ok());
        let mut release = if traced {
            ReleaseLine::V2
        } else {
            ReleaseLine::V1
        };
        let out = |response, event, release, consent| TokenOutcomeV2 {
            response,
            event,
            release,
            trace: valid_trace,
            request_id,
            consent,
        };
        let refuse = |error, reason: &'static str, release| {
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
                release,
                None,
            )
        };
        const NEED_TRACE: &str = "MedMij-Request-ID and X-Correlation-ID (UUID v4) are required on a 2.x token request (MedMij OAUTH-21).";
        let body = req.body;
        if body.len() > MAX_REQUEST_LEN {
            return refuse(
                TokenErrorCode::InvalidRequest,
                "The request body is longer than 8192 bytes.",
                release,
            );
        }
        if let Err(reason) = check_form_content_type(req.content_type) {
            return refuse(TokenErrorCode::InvalidRequest, reason, release);
        }
        // One pass over the body: collect the parameters and retire every valid code in it at
        // once (MedMij OAUTH-8: whatever the outcome).
        let mut redemption: Option<(SecretHash, Redemption)> = None;
        let [
            mut grant_type,
            mut code,
            mut redirect_uri,
            mut client_id,
            mut refresh_token,
        ] = [None, None, None, None, None];
        let mut repeated = false;
        for (k, v) in crate::form::parse(body) {
            // MedMij OAUTH-3 (RFC 6749 3.2): an empty value is an omitted parameter.
            if v.is_empty() {
                continue;
            }
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
                                    release,
                                );
                            }
                        }
                    }
                    &mut code
                }
                "redirect_uri" => &mut redirect_uri,
                "client_id" => &mut client_id,
                "refresh_token" => &mut refresh_token,
                _ => continue,
            };
            repeated |= slot.is_some();
            *slot = Some(v);
        }
        if repeated {
            return refuse(
                TokenErrorCode::InvalidRequest,
                "A parameter appears more than once (RFC 6749 3.2).",
                release,
            );
        }
        if let Some((hash, Redemption::Replayed { token_revoked })) = &redemption {
            // MedMij OAUTH-8: a second presentation is a breach; the token is revoked, and
            // in 2.x the refresh-token chain opened with the code as well.
            let chain_revoked = self
                .store
                .revoke_consent_of_code(hash, now)
                .unwrap_or(false);
            return out(
                TokenAnswer::Error {
                    error: TokenErrorCode::InvalidGrant,
                    description: "The authorization code was already used (MedMij OAUTH-8).",
                },
                TokenEvent::Replay {
                    client_id: client.clone(),
                    token_revoked: *token_revoked || chain_revoked,
                },
                release,
                None,
            );
        }
        match grant_type.map(Field::decode).as_deref() {
            None => {
                return refuse(
                    TokenErrorCode::InvalidRequest,
                    "grant_type is missing.",
                    release,
                );
            }
            Some("authorization_code") => {}
            Some("refresh_token") if !v1_only => {
                if valid_trace.is_none() {
                    return refuse(TokenErrorCode::InvalidRequest, NEED_TRACE, ReleaseLine::V2);
                }
                return self.refresh_grant(
                    RefreshParams {
                        refresh_token,
                        client_id,
                        redirect_uri,
                        code,
                    },
                    client,
                    now,
                    |response, event, consent| out(response, event, ReleaseLine::V2, consent),
                );
            }
            Some(_) => {
                return refuse(
                    TokenErrorCode::UnsupportedGrantType,
                    "Only grant_type authorization_code is supported (MedMij OAUTH-1; 2.x also refresh_token, OAUTH-19).",
                    release,
                );
            }
        }
        if !self.clients.is_listed(client) {
            return refuse(
                TokenErrorCode::InvalidClient,
                "The client certificate's hostname is not on the OAuth Client List (MedMij OAUTH-3).",
                release,
            );
        }
        if let Some(id) = client_id
            && id.decode().as_bytes() != client.as_str().as_bytes()
        {
            return refuse(
                TokenErrorCode::InvalidClient,
                "client_id differs from the client certificate's hostname (MedMij OAUTH-3).",
                release,
            );
        }
        if code.is_none() {
            return refuse(TokenErrorCode::InvalidRequest, "code is missing.", release);
        }
        let Some(redirect_uri) = redirect_uri else {
            return refuse(
                TokenErrorCode::InvalidRequest,
                "redirect_uri is missing.",
                release,
            );
        };
        let Some((code_hash, redemption)) = redemption else {
            return refuse(
                TokenErrorCode::InvalidGrant,
                "The authorization code is not valid.",
                release,
            );
        };
        let record = match redemption {
            Redemption::Fresh(r) => r,
            Redemption::Expired => {
                return refuse(
                    TokenErrorCode::InvalidGrant,
                    "The authorization code has expired (MedMij OAUTH-7).",
                    release,
                );
            }
            Redemption::Unknown | Redemption::Replayed { .. } => {
                return refuse(
                    TokenErrorCode::InvalidGrant,
                    "The authorization code is not valid.",
                    release,
                );
            }
        };
        let v2 = match self.store.code_v2(&code_hash, now) {
            Ok(v) => v,
            Err(_) => {
                return refuse(
                    TokenErrorCode::ServerError,
                    "The token store failed.",
                    release,
                );
            }
        };
        // The release line of a code grant is the flow's, whatever headers came along.
        release = if v2.is_some() {
            ReleaseLine::V2
        } else {
            ReleaseLine::V1
        };
        if v2.is_some() && valid_trace.is_none() {
            return refuse(TokenErrorCode::InvalidRequest, NEED_TRACE, release);
        }
        if &record.client_id != client {
            return refuse(
                TokenErrorCode::InvalidGrant,
                "The authorization code was issued to another client (MedMij OAUTH-9).",
                release,
            );
        }
        let mut buf = [0u8; BUF_LEN];
        if *record.redirect_uri != *redirect_uri.decode_in(&mut buf) {
            return refuse(
                TokenErrorCode::InvalidGrant,
                "redirect_uri differs from the authorization request (MedMij OAUTH-9).",
                release,
            );
        }
        let mut scope = record.scope;
        if v2.is_some() {
            // MedMij OAUTH-20: the token endpoint applies the OCL's allowed Gegevensdiensten.
            let allowed: Vec<_> = scope
                .gegevensdiensten()
                .iter()
                .filter(|g| self.clients.may_use(client, g) != Some(false))
                .cloned()
                .collect();
            match Scope::several(scope.zorgaanbieder().clone(), allowed) {
                Some(s) => scope = s,
                None => {
                    return refuse(
                        TokenErrorCode::InvalidGrant,
                        "The OAuth Client List allows this client none of the Gegevensdiensten of this scope (MedMij OAUTH-20).",
                        release,
                    );
                }
            }
        }
        let wire_scope: Arc<str> = match &v2 {
            Some(v) => Arc::from(v.wire_scope.as_str()),
            None => Arc::from(scope.as_str()),
        };
        let token_record = TokenRecord {
            client_id: record.client_id,
            scope,
            subject: record.subject,
            use_case: record.use_case,
            issued_at: now,
        };
        let long_lasting = v2.as_ref().is_some_and(|v| v.long_lasting)
            && token_record.use_case == UseCase::Verzamelen;
        let issued = if long_lasting {
            // MedMij OAUTH-19: a refresh token only for a long-lasting consent.
            self.issue_with_refresh(&token_record, &code_hash, &wire_scope, now)
                .map(|(a, r, id)| (a, Some(r), Some(id)))
        } else {
            self.draw_unique(|t: &AccessToken| {
                self.store
                    .insert_token(&t.hash(), &token_record, &code_hash, now)
            })
            .and_then(|a| {
                // MedMij OAUTH-21: its resource requests must carry the identifiers.
                if v2.is_some() {
                    self.store.mark_token_v2(&a.hash(), now)?;
                }
                Ok((a, None, None))
            })
        };
        match issued {
            Ok((access_token, refresh_token, consent)) => out(
                TokenAnswer::Issued {
                    access_token,
                    refresh_token,
                    scope: token_record.scope.clone(),
                    wire_scope,
                },
                TokenEvent::Issued {
                    client_id: token_record.client_id,
                    scope: token_record.scope,
                    subject: token_record.subject,
                },
                release,
                consent,
            ),
            // A replay overtook this (first) presentation before its token was stored: the
            // code is breached, so no token is issued at all (MedMij OAUTH-8).
            Err(StoreError::CodeRevoked) => refuse(
                TokenErrorCode::InvalidGrant,
                "The authorization code was replayed while its token was being issued (MedMij OAUTH-8).",
                release,
            ),
            Err(_) => refuse(
                TokenErrorCode::ServerError,
                "The token store failed.",
                release,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::ThreadRandom;
    use crate::{ScopeForm, ScopeGegevensdienstId, Zorgaanbiedernaam};
    use proptest::prelude::*;

    #[test]
    fn token_bodies_are_what_serde_json_writes() {
        let za = Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap();
        let scopes = [
            Scope::single(za.clone(), ScopeGegevensdienstId::new("4").unwrap()),
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
