//! MedMij UCI Verzamelen and UCI Delen OAuth state machines (rules OAUTH-1..14), both
//! gateway roles.
//!
//! The ZA GW (care-provider side) embeds [`AuthorizationServer`]: it validates authorization
//! requests, walks a [`Session`] through the steps of MedMij OAUTH-11, issues single-use codes,
//! answers the token endpoint and checks Bearer tokens for the resource server. Everything is
//! sans-IO: calls take the request text, the client's mTLS identity and the current time as
//! parameters and return the response (redirect, JSON body, FHIR OperationOutcome) and the
//! events to log. No sockets, no clock, no async.
//!
//! # A whole flow (UCI Verzamelen)
//!
//! ```
//! use medmij_oauth::*;
//! use std::time::{Duration, SystemTime};
//!
//! // The server's own offer, and the OCL (a trait; here a fixed list).
//! let za = Zorgaanbiedernaam::parse("umcharderwijk@medmij").unwrap();
//! let gd = GegevensdienstId::parse("1").unwrap();
//! let config = ServerConfig::new().offer(za.clone(), gd.clone(), UseCase::Verzamelen);
//! let pgo = ClientId::parse("pgo.example.nl").unwrap();
//! let ocl = StaticClientRegistry::new().with_client(pgo.clone(), None);
//! let server = AuthorizationServer::new(config, ocl, MemoryStore::new());
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
//!
//! // 1. The authorization request arrives on the front channel (the query string).
//! let query = "response_type=code&client_id=pgo.example.nl\
//!              &redirect_uri=https%3A%2F%2Fpgo.example.nl%2Fcb\
//!              &scope=umcharderwijk%7E1&state=k3Jx9q";
//! let mut session = server.authorize(query).expect("valid request");
//!
//! // 2. Authenticate the person (DigiD in production), check for data, ask consent.
//! let person = Subject::new("local-person-42").unwrap();
//! assert!(session.authenticated(Authentication::Established(person)).unwrap().is_none());
//! assert!(session.data_available(true).unwrap().is_none());
//! let ConsentOutcome::Granted(consent_event) =
//!     session.consent(ConsentDecision::Granted, now).unwrap() else { unreachable!() };
//! // ... log consent_event (MedMij CONSENT-3) ...
//!
//! // 3. Issue the code: a 302 to the client with code and state.
//! let redirect = server.issue_code(&mut session, now).unwrap();
//! let location = url::Url::parse(redirect.location()).unwrap();
//! let code = location.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
//!
//! // 4. The client redeems it on the back channel; its identity comes from mutual TLS.
//! let body = format!(
//!     "grant_type=authorization_code&code={code}\
//!      &redirect_uri=https%3A%2F%2Fpgo.example.nl%2Fcb"
//! );
//! let out = server.token(&body, &pgo, now + Duration::from_secs(1));
//! assert_eq!(out.response.status(), 200);
//! let json: serde_json::Value = serde_json::from_str(&out.response.body()).unwrap();
//! assert_eq!(json["expires_in"], 900);
//! let token = json["access_token"].as_str().unwrap();
//!
//! // 5. Resource requests carry the token in the Authorization header.
//! let access = server
//!     .check_resource(Some(&format!("Bearer {token}")), &za, &gd, Interaction::Read,
//!                     now + Duration::from_secs(2))
//!     .unwrap();
//! assert_eq!(access.scope.to_string(), "umcharderwijk~1");
//!
//! // A second presentation of the code is a breach: refused, and the token is revoked.
//! let again = server.token(&body, &pgo, now + Duration::from_secs(3));
//! assert_eq!(again.response.status(), 400);
//! assert!(server
//!     .check_resource(Some(&format!("Bearer {token}")), &za, &gd, Interaction::Read,
//!                     now + Duration::from_secs(4))
//!     .is_err());
//! ```
//!
//! # The PGO side
//!
//! The PGO GW embeds [`Client`]: it builds the authorization URL from the ZAL endpoints with a
//! fresh `state`, checks the redirect, builds the token request and parses the answer
//! strictly. It does not use the `oauth2` crate (explained on [`Client`]): `oauth2`'s
//! response types accept refresh tokens, any `expires_in`, a missing scope and opaque tokens,
//! all of which MedMij forbids; its token exchange does the HTTP itself, where this crate is
//! sans-IO and the PGO must use its own mTLS connection; and the OAUTH-12 case mapping is
//! MedMij-specific either way.
//!
//! ```
//! use medmij_oauth::*;
//! use std::time::SystemTime;
//!
//! let pgo = Client::new(ClientId::parse("pgo.example.nl").unwrap(), "https://pgo.example.nl/cb")
//!     .unwrap();
//! let scope = Scope::parse("umcharderwijk~1", ScopeForm::Single).unwrap();
//! let (url, pending) = pgo
//!     .start("https://za.example.nl/oauth/authorize", "https://za.example.nl/oauth/token", scope)
//!     .unwrap();
//! // Send the browser to `url`; keep `pending` in the person's session. On the way back:
//! let back = format!("error=access_denied&error_description=Authorization+denied.&state={}",
//!                    pending.state().as_str());
//! let err = pending.handle_redirect(&back, SystemTime::now()).unwrap_err();
//! assert_eq!(err, CallbackError::Case(ErrorCase::Denied));
//! assert_eq!(err.message_en(), "You did not give permission. No data will be exchanged.");
//! # let _ = url;
//! ```
//!
//! # The MedMij rules and where they live
//!
//! | rule | where |
//! |---|---|
//! | OAUTH-1 code grant only, no refresh tokens | [`AuthorizationServer::authorize`] (`response_type`), [`AuthorizationServer::token`] (`grant_type`), [`TokenResponse::body`] |
//! | OAUTH-2 Bearer in the header | [`parse_bearer`], [`AuthorizationServer::check_resource`] |
//! | OAUTH-3 confidential client = OCL hostname, mTLS | [`ClientId`], [`ClientRegistry`], `client` parameter of [`AuthorizationServer::token`] |
//! | OAUTH-4 redirect URI | [`AuthorizationServer::authorize`], [`InvalidCause::BadRedirectUri`] |
//! | OAUTH-5 scope `naam~id` | [`Scope`], [`ScopeForm`], [`ServerConfig::allow_multiple_pairs`] |
//! | OAUTH-6 UUID v4, no collisions | [`Code`], [`AccessToken`], [`RandomSource`], [`TokenStore::insert_code`] |
//! | OAUTH-7 900 s | [`LIFETIME`], [`TokenStore`] |
//! | OAUTH-8 single use, replay revokes | [`TokenStore::redeem_code`], [`Redemption`], [`TokenEvent::Replay`] |
//! | OAUTH-9 binding | [`AuthorizationServer::token`] |
//! | OAUTH-10 state | [`State`], echoed in every [`Redirect`] |
//! | OAUTH-11 order | [`Session`], [`SessionError`] |
//! | OAUTH-12 exceptions | [`InvalidRequest`] (1), [`ErrorCase`] (2-5), [`TokenErrorCode::InvalidGrant`] (6), [`ResourceError`] (7, 8) |
//! | OAUTH-13 Delen | [`UseCase::Delen`], [`Interaction`] |
//! | OAUTH-14 RFC 6819 | the table below |
//! | CONSENT-3 | [`ConsentEvent`] |
//! | LOG-4 | redacted `Debug` of [`Code`], [`AccessToken`], [`State`], [`Subject`], [`Redirect`]; stores keep [`SecretHash`]es only |
//!
//! # RFC 6819 threats (MedMij OAUTH-14) and RFC 6750 5.3
//!
//! "Crate" says what this crate does; "embedder" what the gateway built on it must do (this
//! crate is sans-IO and cannot see sockets, certificates or pages).
//!
//! | threat | countered by |
//! |---|---|
//! | 4.1.3 obtaining access tokens from the client | Crate: tokens live 900 s ([`LIFETIME`]) and cover one scope; [`AccessGrant`], [`AccessToken`] and [`TokenRequest`] redact themselves in `Debug` (MedMij LOG-4). Embedder (PGO GW): keep grants server-side, never in the browser. |
//! | 4.1.4 credentials phished in an embedded browser | Embedder: the PGO sends the person to the AS in the system browser; the AS authenticates with DigiD on its own pages. The crate never handles person credentials ([`Authentication`] only carries the outcome). |
//! | 4.1.5 open redirector on the client | Crate: [`Client`] only accepts a `redirect_uri` on its own hostname; [`PendingAuthorization::handle_redirect`] ignores every parameter but `code`, `state`, `error`, `error_description`. |
//! | 4.2.1 password phishing by a counterfeit AS | Crate: [`Client::start`] only takes endpoints of the ZAL form ([`is_zal_uri`], LISTS-3: `https`, no query). Embedder: take them from the newest valid ZAL; TLS with PKIoverheid certificates (medmij-tls). |
//! | 4.2.2 user grants too much scope | Crate: a scope is one Zorgaanbieder and its Gegevensdiensten ([`Scope`]); Delen exactly one; a client restricted by the OCL cannot ask for more ([`ClientRegistry::may_use`]); codes and tokens carry exactly the consented scope; the consent is per flow ([`Session`]). |
//! | 4.2.4 open redirector on the AS | Crate: the AS redirects only to an `https` URI on the client's own hostname, checked before anything else; any invalid request is answered to the person directly, never redirected (OAUTH-4, OAUTH-12 case 1, [`InvalidRequest`]). |
//! | 4.3.1 eavesdropping access tokens | Crate: tokens only in the `Authorization` header ([`parse_bearer`]), token responses carry `Cache-Control: no-store` ([`TokenResponse::headers`]). Embedder: TLS everywhere (TLS-1, medmij-tls). |
//! | 4.3.2 access tokens from the AS database | Crate: stores key on SHA-256 hashes only ([`SecretHash`]), in memory and in PostgreSQL; a database dump yields no usable token. |
//! | 4.3.3 disclosure of client credentials in transit | Crate: no client secrets exist; the client is authenticated by its mTLS certificate, passed to [`AuthorizationServer::token`] as `client` (OAUTH-3); a `client_id` in the body must match it. Embedder: mutual TLS (medmij-tls). |
//! | 4.4.1.1 eavesdropping or leaking codes | Crate: codes live 900 s, are single use, bound to client and `redirect_uri` (OAUTH-7..9); the [`Redirect`] `Debug` hides its location. Embedder: TLS. |
//! | 4.4.1.2 codes from the AS database | Crate: hashes only at rest ([`SecretHash`], both stores). |
//! | 4.4.1.3 online guessing of codes | Crate: 122 random bits per code from a CSPRNG ([`ThreadRandom`]), 900 s life, single use, client-bound; a guessed code of another client gives nothing. Embedder: rate-limit the token endpoint per client. |
//! | 4.4.1.4 malicious client obtains authorization | Crate: only clients on the OCL ([`ClientRegistry::is_listed`]), authenticated by certificate at the token endpoint; the person consents each time with the client's name shown (CONSENT-1). |
//! | 4.4.1.5 code phishing | Crate: the code is bound to the mTLS client identity; a phished code is useless to anyone else and retiring it on any presentation (OAUTH-8) limits it to one try. |
//! | 4.4.1.6 user session impersonation | Crate: the redirect goes only to the registered host; `state` ties it to the user agent. Embedder: TLS on the redirect URI. |
//! | 4.4.1.7 code leakage through a counterfeit client | Crate: `redirect_uri` must be on the client's own hostname (OAUTH-4) and equal at the token endpoint (OAUTH-9). |
//! | 4.4.1.8 CSRF against the redirect URI | Crate: [`Client`] sends a fresh 256-bit `state`, compares it in constant time before anything else ([`CallbackError::StateMismatch`]); the AS echoes it unchanged in every redirect (OAUTH-10). Embedder: keep the [`PendingAuthorization`] in the person's session only. |
//! | 4.4.1.9 clickjacking | Embedder: send [`CONSENT_PAGE_HEADERS`] (`X-Frame-Options: DENY`, `frame-ancestors 'none'`) with the login and consent pages. |
//! | 4.4.1.10 resource owner impersonation | Crate: consent is a separate, explicit step after authentication ([`Session::consent`]); no step can be skipped ([`SessionError`]). Embedder: the consent page must need a real user action (button in a page that cannot be framed). |
//! | 4.4.1.11 DoS exhausting resources | Crate: request size bound ([`MAX_REQUEST_LEN`]); sessions are caller-held values (no server-side state before consent); codes and tokens swept after their time ([`MemoryStore`], [`TokenStore::sweep`]). Embedder: rate-limit per client and per address at the HTTP layer. |
//! | 4.4.1.12 DoS with manufactured codes | Crate: a presented code is syntax-checked (canonical UUID v4) before any store access, and looked up by hash in O(1); unknown codes cost one lookup. Embedder: rate limiting. |
//! | 4.4.1.13 code substitution | Crate: codes are bound to the client and `redirect_uri` (OAUTH-9); on the client side the code is accepted only with the session's own `state`. |
//! | RFC 6750 5.3 safeguard bearer tokens | Crate: redacted `Debug`; hashes at rest; never logged in [`TokenEvent`] / [`ConsentEvent`]. |
//! | RFC 6750 5.3 validate TLS certificate chains; always use TLS | Embedder: medmij-tls (TLS-1..4). The crate checks the `https` scheme of every endpoint and redirect URI. |
//! | RFC 6750 5.3 don't store bearer tokens in cookies | Embedder (PGO GW): keep [`AccessGrant`]s server-side. |
//! | RFC 6750 5.3 issue short-lived tokens | Crate: 900 s ([`LIFETIME`]), no refresh tokens (OAUTH-1). |
//! | RFC 6750 5.3 issue scoped tokens | Crate: every token has exactly one consented [`Scope`], checked per request with the interaction (read for Verzamelen, write for Delen) in [`AuthorizationServer::check_resource`]. |
//! | RFC 6750 5.3 don't pass bearer tokens in page URLs | Crate: [`AuthorizationServer::check_resource`] takes the `Authorization` header only (OAUTH-2); the client only produces the header ([`AccessGrant::authorization_header`]). |
//!
//! # Deviations and choices
//!
//! - Concurrent presentations of one code: exactly one is the first; all others are replays.
//!   Because a replay is a breach (OAUTH-8), the first presentation's token is revoked, or, if
//!   the replay arrived before the token was stored, not issued at all. So in a race no
//!   presenter ends up with a usable token, rather than "exactly one gets a token".
//! - Case 7 answers `401` with `WWW-Authenticate: Bearer error="invalid_token"`, also when the
//!   token is valid but not for this Gegevensdienst or interaction (no `insufficient_scope`:
//!   the answer reveals nothing about the token); a request without any credentials gets a
//!   bare `Bearer` challenge (RFC 6750 3.1). Case 8 answers `503`.
//! - All authorization-request errors are case 1 (`invalid_request`, no redirect), including
//!   an unsupported `response_type`, as the OAUTH-12 table prescribes.
//!
//! # Store
//!
//! [`TokenStore`] is the seam for storage: [`MemoryStore`] (sharded, concurrent, sweeping) for
//! a single node, and `PgStore` (cargo feature `postgres`) for several gateway nodes sharing
//! one PostgreSQL database.

mod client;
pub mod fhir;
mod form;
#[cfg(feature = "postgres")]
mod pg;
mod secret;
mod server;
mod store;
mod types;

pub use client::{
    AccessGrant, CallbackError, Client, ClientError, CodeReceived, PendingAuthorization,
    PersonMessage, TokenRequest, TokenResponseError, is_zal_uri,
};
#[cfg(feature = "postgres")]
pub use pg::PgStore;
pub use secret::{AccessToken, Code, RandomSource, SecretHash, ThreadRandom};
pub use server::{
    Authentication, AuthorizationRequest, AuthorizationServer, CONSENT_PAGE_HEADERS,
    ClientRegistry, ConsentDecision, ConsentEvent, ConsentOutcome, ErrorCase, Interaction,
    InvalidCause, InvalidRequest, IssueError, MAX_REQUEST_LEN, Redirect, RedirectKind,
    ResourceAccess, ResourceError, ResourceErrorKind, ServerConfig, Session, SessionError,
    SessionStage, StaticClientRegistry, TokenErrorCode, TokenEvent, TokenOutcome, TokenResponse,
    parse_bearer,
};
pub use store::{
    CODE_RETENTION, CodeRecord, LIFETIME, MemoryStore, Redemption, StoreError, TokenRecord,
    TokenStore,
};
pub use types::{
    ClientId, GegevensdienstId, Scope, ScopeError, ScopeForm, State, Subject, UseCase, ValueError,
    Zorgaanbiedernaam,
};
