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
//! strictly. (Why this does not use the `oauth2` crate: see [`Client`]'s module notes,
//! repeated here: `oauth2`'s response types accept refresh tokens, any `expires_in`, a missing
//! scope and opaque tokens, all of which MedMij forbids; its token exchange does the HTTP
//! itself, where this crate is sans-IO and the PGO must use its mTLS connection; and the
//! OAUTH-12 case mapping is MedMij-specific either way.)
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
//! # Store
//!
//! [`TokenStore`] is the seam for storage: [`MemoryStore`] (sharded, concurrent, sweeping) for
//! a single node, and `PgStore` (cargo feature `postgres`) for several gateway nodes sharing
//! one PostgreSQL database.

mod client;
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
    Authentication, AuthorizationRequest, AuthorizationServer, ClientRegistry, ConsentDecision,
    ConsentEvent, ConsentOutcome, ErrorCase, Interaction, InvalidCause, InvalidRequest, IssueError,
    Redirect, RedirectKind, ResourceAccess, ResourceError, ResourceErrorKind, ServerConfig,
    Session, SessionError, SessionStage, StaticClientRegistry, TokenErrorCode, TokenEvent,
    TokenOutcome, TokenResponse, parse_bearer,
};
pub use store::{
    CODE_RETENTION, CodeRecord, LIFETIME, MemoryStore, Redemption, StoreError, TokenRecord,
    TokenStore,
};
pub use types::{
    ClientId, GegevensdienstId, Scope, ScopeError, ScopeForm, State, Subject, UseCase, ValueError,
    Zorgaanbiedernaam,
};
