//! MedMij UCI Verzamelen and UCI Delen OAuth state machines for both gateway roles (the OAUTH
//! rules of the MedMij rulebook; the table at the end says which item implements which rule).
//!
//! The ZA GW (care-provider side) embeds [`AuthorizationServer`]: it validates authorization
//! requests, walks a [`Session`] through the steps of MedMij OAUTH-11, issues single-use codes,
//! answers the token endpoint and checks Bearer tokens for the resource server. The protocol
//! core is sans-IO: calls take the request text (and, at the token endpoint, its
//! `Content-Type`), the client's mTLS identity and the current time as parameters and return
//! a typed outcome and the events to log. No sockets, no clock, no threads, no async.
//! Every outcome converts into one [`HttpResponse`] (status, headers, body), so an adapter
//! copies it and never builds JSON, FHIR or a redirect itself; pages for the person (the
//! OAUTH-12 case 1 page, the busy page) are the host's, rendered from the typed outcome.
//!
//! # Cargo features (adapters)
//!
//! | feature | adds |
//! |---|---|
//! | `http` | `HttpResponse::into_http`: `http::Response<String>` (the `http` crate 1.x) |
//! | `tokio` | `AsyncAuthorizationServer` and `run_blocking`: the core and its synchronous stores on `tokio::task::spawn_blocking`, so an axum handler can call them |
//! | `axum` | module `adapter`: embeddable axum routers for the ZA GW (authorization, token and resource endpoints) and the PGO GW (start and redirect endpoints), generic over small async traits the host implements |
//! | `postgres` | `PgStore` (codes and tokens) and `PgFlowStore` (pending flows) for several gateway nodes sharing one database |
//!
//! # A whole flow (UCI Verzamelen)
//!
//! ```
//! use medmij_oauth::*;
//! use std::time::{Duration, SystemTime};
//!
//! // The server's own offer, and the OCL (a trait; here a fixed list).
//! let za = Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap();
//! let gd = ScopeGegevensdienstId::new("1").unwrap();
//! let config = ServerConfig::new().offer(za.clone(), gd.clone(), UseCase::Verzamelen);
//! let pgo = ClientId::new("pgo.example.nl").unwrap();
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
//! let out = server.token(Some(FORM_CONTENT_TYPE), &body, &pgo, now + Duration::from_secs(1));
//! let http = HttpResponse::from(&out.response); // what the adapter sends
//! assert_eq!(http.status(), 200);
//! assert_eq!(http.header("Cache-Control"), Some("no-store"));
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
//! let again = server.token(Some(FORM_CONTENT_TYPE), &body, &pgo, now + Duration::from_secs(3));
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
//! let pgo = Client::new(ClientId::new("pgo.example.nl").unwrap(), "https://pgo.example.nl/cb")
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
//! | OAUTH-1 code grant only, no refresh tokens (2.x: the refresh grant of OAUTH-19) | [`AuthorizationServer::authorize`] (`response_type`), [`AuthorizationServer::token`] (`grant_type`; `refresh_token` unsupported on this 1.x entry point), [`AuthorizationServer::token_v2`] (`refresh_token` for 2.x only, every other grant `unsupported_grant_type`), [`TokenResponse::body`]; 1.x flows never get a refresh token ([`TokenAnswer::body`]) |
//! | OAUTH-2 Bearer in the header | [`parse_bearer`], [`AuthorizationServer::check_resource`] |
//! | OAUTH-3 confidential client = OCL hostname, mTLS; empty values are omitted | [`ClientId`], [`ClientRegistry`], `client` parameter of [`AuthorizationServer::token`]; empty parameters in [`AuthorizationServer::authorize`] and [`AuthorizationServer::token`]; the token request's `Content-Type` ([`FORM_CONTENT_TYPE`]) |
//! | OAUTH-4 redirect URI (port 1..65535) | [`AuthorizationServer::authorize`], [`InvalidCause::BadRedirectUri`]; re-checked when a stored [`Session`] or [`PendingAuthorization`] is loaded |
//! | OAUTH-5 scope `naam~id` (2.x: OAUTH-20) | [`Scope`], [`ScopeForm`], [`ServerConfig::allow_multiple_pairs`]; 1.x served only where [`ServerConfig::without_v1`] was not set ([`InvalidCause::V1NotServed`]) |
//! | OAUTH-6 UUID v4, no collisions (2.x: refresh tokens too) | [`Code`], [`AccessToken`], [`RefreshToken`], [`RandomSource`], [`TokenStore::insert_code`]; a new refresh token is checked against kept codes, access and refresh tokens and drawn again on a collision ([`TokenStore::insert_token_with_refresh`], [`TokenStore::rotate_refresh`]) |
//! | OAUTH-7 900 s | [`LIFETIME`], [`TokenStore`] |
//! | OAUTH-8 single use, replay revokes (2.x: the refresh-token chain too) | [`TokenStore::redeem_code`], [`Redemption`], [`TokenEvent::Replay`]; [`TokenStore::revoke_consent_of_code`] |
//! | OAUTH-9 binding | [`AuthorizationServer::token`] |
//! | OAUTH-10 state | [`State`], echoed in every [`Redirect`] |
//! | OAUTH-11 order, across gateway nodes | [`Session`], [`SessionError`], [`Session::fail`]; [`FlowStore`], [`PendingFlows`], [`MemoryFlowStore`], `PgFlowStore`; from async code `AsyncAuthorizationServer`; whole endpoints: the `adapter` routers `ZaGateway` and `PgoGateway` (feature `axum`) |
//! | OAUTH-12 exceptions, never an HTTP 500 | [`InvalidRequest`] (1), [`ErrorCase`] (2-5), [`TokenErrorCode::InvalidGrant`] (6), [`ResourceError`] (7, 8); the number from `case_number()` on each; the rule a refusal enforces from [`InvalidCause::rule`], [`ResourceErrorKind::rule`], [`PersonRefusal::rule`] and [`TokenResponseError::Invalid`]'s `rule` (typed [`medmij_types::RuleId`]); the answer from [`HttpResponse`] |
//! | OAUTH-13 Delen | [`UseCase::Delen`], [`Interaction`]; PGO GW: `GET /share` and `adapter::PgoHost::start_request` (feature `axum`) |
//! | OAUTH-14 RFC 6819, bounded resources | the table below; pending-flow limits per source and per client: [`FlowLimits`], [`Busy`]; PGO GW per person: `adapter::PgoSettings::flows_per_person` (feature `axum`) |
//! | OAUTH-15 eligibility: 16 and older, in Dutch civil time; else case 3 | [`Session::authenticated_person`], [`AuthenticatedPerson::is_eligible_at`], [`dutch_date`], [`sixteenth_birthday`], [`PersonRefusal::UnderMinimumAge`]; the `adapter`'s `Pages::not_eligible` |
//! | OAUTH-18 authentication report, minimum assurance level; else case 2 | [`AuthenticatedPerson`], [`AssuranceLevel`], [`ServerConfig::minimum_assurance`] (default [`DEFAULT_MINIMUM_ASSURANCE`]), [`AuthorizationServer::authenticated_person`]; the `adapter`'s `Authenticator::complete_person` |
//! | OAUTH-19 (2.x) long-lasting consent, refresh tokens with rotation | [`ConsentPeriod`], [`Session::consent_with`], [`AuthorizationServer::token_v2`], [`TokenAnswer`], [`RefreshToken`], [`TokenStore::rotate_refresh`], [`Rotation`], [`V2Config::refresh_lifetime`]; client: [`PendingFlow::parse_token_response`], [`RefreshTokenVault`], [`Client::refresh_request`], [`RefreshError::StartNewFlow`] |
//! | OAUTH-20 (2.x) scope per Aanbieder, OCL at the token endpoint, representation | [`AuthorizationServer::authorize`] ([`RequestV2`], [`Representation`], [`InvalidCause::BadScopeV2`], [`InvalidCause::BadBirthDate`]), [`AuthorizationServer::token_v2`] ([`ClientRegistry::may_use`]; `scope` echoed); client: [`Client::start_release`] |
//! | OAUTH-21 (2.x) tracing identifiers | [`TraceIds`], [`RequestId`], [`CorrelationId`], [`InvalidCause::BadTracing`], [`TokenHttpRequest`], [`TokenOutcomeV2`] (echo in its [`HttpResponse`]), [`AuthorizationServer::check_resource_v2`] (a token of a 2.x flow, [`TokenStore::token_is_v2`], needs them; [`AuthorizationServer::check_resource`] refuses it as case 7); client: [`PendingFlow::token_request`], [`GrantV2::resource_headers`] |
//! | OAUTH-22 (2.x) managing and withdrawing long-lasting consent | [`AuthorizationServer::consent_management`], [`ConsentManagement`], [`AuthorizationServer::long_lasting_consents`], [`AuthorizationServer::withdraw_consent`], [`WithdrawalEvent`], [`LongLastingConsent`]; client: [`Client::consent_management_link`]; the `adapter` routers' `/toestemmingen` routes (feature `axum`) |
//! | OAUTH-23 (2.x) technical-failure explanation | [`TechnicalFailure`] from [`Session::technical_failure`] and [`InvalidRequest::technical_failure`] (the page is medmij-consent's `v2::render_failure`); provisional descriptions in [`provisional::failure_description`] |
//! | CONSENT-3 | [`ConsentEvent`]; 2.x withdrawal: [`WithdrawalEvent`]; the `adapter` routers hand every grant and refusal to the host's `AuditSink` |
//! | CONSENT-6 (2.x) the indefinite-period choice | [`ConsentPeriod`] (never preselected: [`Session::consent`] is [`ConsentPeriod::ThisFlow`]), [`ConsentEvent::period`] |
//! | LOG-1 | the `adapter` routers (feature `axum`): one `AuditEvent` per success and per refusal, with the source address |
//! | LOG-6 (2.x) chain monitoring | the `adapter` routers (feature `axum`): one `ChainStep` per step of a 2.x flow to `AuditSink::chain` |
//! | LOG-4 | redacted `Debug` of [`Code`], [`AccessToken`], [`RefreshToken`], [`State`], [`Subject`], [`Redirect`], [`TokenAnswer`], [`TokenHttpRequest`], [`GrantV2`]; stores keep [`SecretHash`]es only |
//!
//! # Releases 1.x and 2.x side by side
//!
//! One server serves both release lines, chosen per request ("Releases, side by side" of the
//! rulebook): tracing identifiers or a Verzamelen scope without `~` make an authorization
//! request 2.x, and then every 2.x requirement applies; a request with neither is 1.x,
//! served where [`ServerConfig::without_v1`] has not withdrawn 1.x for the pair. A code
//! remembers its flow's release ([`CodeV2`]), so the token endpoint applies the 2.x rules
//! (tracing headers, OCL check, refresh token for a long-lasting consent) to 2.x codes only.
//! Use [`AuthorizationServer::token_v2`] (with the tracing headers) for both lines; the 1.x
//! [`AuthorizationServer::token`] keeps its answers and refuses 2.x codes. Stores implement
//! the 2.x operations as defaulted [`TokenStore`] methods ([`MemoryStore`] and `PgStore` do;
//! a store without them cannot issue a 2.x code, [`StoreError::Unsupported`]). `PgStore`
//! migrates existing tables additively (new tables, new nullable or defaulted columns), so
//! 1.x rows keep working.
//!
//! A 2.x Verzamelen flow with a long-lasting consent, then one collection by refresh:
//!
//! ```
//! use medmij_oauth::*;
//! use std::time::{Duration, SystemTime};
//!
//! let za = Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap();
//! let config = ServerConfig::new()
//!     .offer(za.clone(), ScopeGegevensdienstId::new("1").unwrap(), UseCase::Verzamelen)
//!     .offer(za.clone(), ScopeGegevensdienstId::new("3").unwrap(), UseCase::Verzamelen);
//! let pgo = ClientId::new("pgo.example.nl").unwrap();
//! let server = AuthorizationServer::new(
//!     config, StaticClientRegistry::new().with_client(pgo.clone(), None), MemoryStore::new());
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
//!
//! // The PGO GW read release 2.x for this Aanbieder in the ZAL.
//! let client = Client::new(pgo.clone(), "https://pgo.example.nl/cb").unwrap();
//! let scope = Scope::parse("umcharderwijk~1", ScopeForm::Single).unwrap();
//! let (url, pending) = client
//!     .start_release(ReleaseLine::V2, "https://za.example.nl/oauth/authorize",
//!                    "https://za.example.nl/oauth/token", scope, UseCase::Verzamelen, None)
//!     .unwrap();
//! // The AS: scope `umcharderwijk` (every offered Gegevensdienst), tracing ids required.
//! let mut session = server.authorize(url::Url::parse(&url).unwrap().query().unwrap()).unwrap();
//! assert_eq!(session.request().release(), ReleaseLine::V2);
//! session.authenticated(Authentication::Established(Subject::new("p-42").unwrap())).unwrap();
//! session.data_available(true).unwrap();
//! // The person chose the indefinite period (never preselected, MedMij CONSENT-6).
//! session.consent_with(ConsentDecision::Granted, ConsentPeriod::Indefinite, now).unwrap();
//! let redirect = server.issue_code(&mut session, now).unwrap();
//! let back = url::Url::parse(redirect.location()).unwrap();
//! let code = pending.handle_redirect(back.query().unwrap(), now).unwrap().code;
//!
//! // Token request with the tracing headers; the answer carries a refresh token.
//! let req = pending.token_request(&code);
//! let h = |n: &str| req.headers.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str());
//! let out = server.token_v2(&TokenHttpRequest {
//!     content_type: Some(FORM_CONTENT_TYPE), body: &req.request.body,
//!     request_id: h("MedMij-Request-ID"), correlation_id: h("X-Correlation-ID"),
//! }, &pgo, now);
//! let grant = pending.parse_token_response(200, &out.response.body(), now).unwrap();
//! assert_eq!(grant.wire_scope, "umcharderwijk");
//! let vault = MemoryVault::default();
//! let key = VaultKey::new("pgo-person-7", za.clone());
//! vault.put(&key, &grant.refresh_token.unwrap()).unwrap();
//!
//! // A day later: collect again by refresh (rotation: a new refresh token each time).
//! let later = now + Duration::from_secs(86_400);
//! let rt = vault.take(&key).unwrap().unwrap();
//! let all = Scope::parse("umcharderwijk~1 umcharderwijk~3", ScopeForm::Multiple).unwrap();
//! let (req, wait) = client
//!     .refresh_request("https://za.example.nl/oauth/token", &rt, all, &grant.wire_scope)
//!     .unwrap();
//! let h = |n: &str| req.headers.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str());
//! let out = server.token_v2(&TokenHttpRequest {
//!     content_type: Some(FORM_CONTENT_TYPE), body: &req.request.body,
//!     request_id: h("MedMij-Request-ID"), correlation_id: h("X-Correlation-ID"),
//! }, &pgo, later);
//! let fresh = wait.parse_response(out.response.status(), &out.response.body(), later).unwrap();
//! assert_ne!(fresh.refresh_token, Some(rt));
//! ```
//!
//! # Provisional values
//!
//! The 2.x values the rulebook marks provisional live in [`provisional`] and
//! [`V2Config`] (per server: [`ServerConfig::v2_config`]):
//!
//! | value | default |
//! |---|---|
//! | refresh-token validity (OAUTH-19) | [`DEFAULT_REFRESH_LIFETIME`] = 15,811,200 s (183 days) |
//! | consent-management path (OAUTH-22) | [`DEFAULT_CONSENT_MANAGEMENT_PATH`] = `toestemmingen`, next to the authorization endpoint |
//! | OAUTH-23 `error_description` texts | `invalid parameter <name>`, `authentication failed`, `availability check failed` ([`provisional::failure_description`]) |
//!
//! # Settings and their defaults
//!
//! Not provisional but chosen here where the rulebook gives no figure; each is a named setting.
//!
//! | setting | default |
//! |---|---|
//! | [`FlowLimits::per_source`] (pending flows per source address, IPv6 per /64) | [`DEFAULT_FLOWS_PER_SOURCE`] = 16 |
//! | [`FlowLimits::per_client`] (pending flows per client) | [`DEFAULT_FLOWS_PER_CLIENT`] = 1024 |
//! | [`FlowLimits::total`] (pending flows in all) | [`DEFAULT_FLOWS_TOTAL`] = 65,536 |
//! | [`FlowLimits::ttl`] (a pending flow's life) | [`DEFAULT_FLOW_TTL`] = 900 s |
//! | [`FlowLimits::grace`] (an expired flow still answered as OAUTH-12 case 5) | [`DEFAULT_FLOW_GRACE`] = 900 s |
//! | [`FlowLimits::retry_after`] (`Retry-After` of a [`Busy`] answer) | [`DEFAULT_RETRY_AFTER`] = 60 s |
//! | [`ServerConfig::minimum_assurance`] (OAUTH-18) | [`DEFAULT_MINIMUM_ASSURANCE`] = Substantieel |
//! | `adapter::ZaSettings::body_limit`, `adapter::PgoSettings::body_limit` (feature `axum`) | `adapter::DEFAULT_BODY_LIMIT` = 16 KiB |
//! | `adapter::ZaSettings::fhir_body_limit` | `adapter::DEFAULT_FHIR_BODY_LIMIT` = 4 MiB |
//! | `adapter::ZaSettings::sweep_interval`, `adapter::PgoSettings::sweep_interval` (how often a new flow sweeps for abandoned ones) | `adapter::DEFAULT_SWEEP_INTERVAL` = 1 s |
//! | `adapter::PgoSettings::flows_per_person` | `adapter::DEFAULT_PGO_FLOWS_PER_PERSON` = 3 |
//! | start context kept for a PGO flow | `adapter::MAX_START_CONTEXT` = 1024 bytes (fixed) |
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
//! | 4.3.1 eavesdropping access tokens | Crate: tokens only in the `Authorization` header ([`parse_bearer`]), token responses and resource outcomes carry `Cache-Control: no-store` ([`TokenResponse::headers`], [`ResourceError::headers`], [`HttpResponse`]). Embedder: TLS everywhere (TLS-1, medmij-tls). |
//! | 4.3.2 access tokens from the AS database | Crate: stores key on SHA-256 hashes only ([`SecretHash`]), in memory and in PostgreSQL; a database dump yields no usable token. |
//! | 4.3.3 disclosure of client credentials in transit | Crate: no client secrets exist; the client is authenticated by its mTLS certificate, passed to [`AuthorizationServer::token`] as `client` (OAUTH-3); a `client_id` in the body must match it. Embedder: mutual TLS (medmij-tls). |
//! | 4.4.1.1 eavesdropping or leaking codes | Crate: codes live 900 s, are single use, bound to client and `redirect_uri` (OAUTH-7, OAUTH-8, OAUTH-9); the [`Redirect`] `Debug` hides its location. Embedder: TLS. |
//! | 4.4.1.2 codes from the AS database | Crate: hashes only at rest ([`SecretHash`], both stores). |
//! | 4.4.1.3 online guessing of codes | Crate: 122 random bits per code from a CSPRNG ([`ThreadRandom`]), 900 s life, single use, client-bound; a guessed code of another client gives nothing. Embedder: rate-limit the token endpoint per client. |
//! | 4.4.1.4 malicious client obtains authorization | Crate: only clients on the OCL ([`ClientRegistry::is_listed`]), authenticated by certificate at the token endpoint; the person consents each time with the client's name shown (CONSENT-1). |
//! | 4.4.1.5 code phishing | Crate: the code is bound to the mTLS client identity; a phished code is useless to anyone else and retiring it on any presentation (OAUTH-8) limits it to one try. |
//! | 4.4.1.6 user session impersonation | Crate: the redirect goes only to the registered host; `state` ties it to the user agent. Embedder: TLS on the redirect URI. |
//! | 4.4.1.7 code leakage through a counterfeit client | Crate: `redirect_uri` must be on the client's own hostname (OAUTH-4) and equal at the token endpoint (OAUTH-9). |
//! | 4.4.1.8 CSRF against the redirect URI | Crate: [`Client`] sends a fresh 256-bit `state`, compares it in constant time before anything else ([`CallbackError::StateMismatch`]); the AS echoes it unchanged in every redirect (OAUTH-10). Embedder: keep the [`PendingAuthorization`] in the person's session only. |
//! | 4.4.1.9 clickjacking | Embedder: send [`CONSENT_PAGE_HEADERS`] (`X-Frame-Options: DENY`, `frame-ancestors 'none'`) with the login and consent pages; the axum ZA GW does, and sends a consent page's, login page's or consent-management page's own headers (`adapter::HostPage`, `adapter::HostAnswer`, e.g. medmij-consent's stricter CSP) in their place where the host gives them. |
//! | 4.4.1.10 resource owner impersonation | Crate: consent is a separate, explicit step after authentication ([`Session::consent`]); no step can be skipped ([`SessionError`]). Embedder: the consent page must need a real user action (button in a page that cannot be framed). |
//! | 4.4.1.11 DoS exhausting resources | Crate: request size bound ([`MAX_REQUEST_LEN`]); sessions are caller-held values; kept server-side in a [`FlowStore`], a new flow is admitted only under [`FlowLimits`] per source address (IPv6 per /64; default 16), per client (1024) and in total (65536), each flow living 900 s (an expired one kept, uncounted and capped at the total, for another [`FlowLimits::grace`] of 900 s so a late step ends it as OAUTH-12 case 5, and reported once by [`FlowStore::sweep`]), else the typed [`Busy`] (HTTP 503 with `Retry-After`; the axum routers answer a source that reached its own limit with 429); codes and tokens swept after their time ([`MemoryStore`], [`TokenStore::sweep`], [`FlowStore::sweep`]). Embedder: pass the real source address; rate-limit per client and per address at the HTTP layer. |
//! | 4.4.1.12 DoS with manufactured codes | Crate: a presented code is syntax-checked (canonical UUID v4) before any store access, and looked up by hash in O(1); unknown codes cost one lookup. Embedder: rate limiting. |
//! | 4.4.1.13 code substitution | Crate: codes are bound to the client and `redirect_uri` (OAUTH-9); on the client side the code is accepted only with the session's own `state`. |
//! | RFC 6750 5.3 safeguard bearer tokens | Crate: redacted `Debug`; hashes at rest; never logged in [`TokenEvent`] / [`ConsentEvent`]. |
//! | RFC 6750 5.3 validate TLS certificate chains; always use TLS | Embedder: medmij-tls (TLS-1, TLS-2, TLS-3, TLS-4). The crate checks the `https` scheme of every endpoint and redirect URI. |
//! | RFC 6750 5.3 don't store bearer tokens in cookies | Embedder (PGO GW): keep [`AccessGrant`]s server-side. |
//! | RFC 6750 5.3 issue short-lived tokens | Crate: 900 s ([`LIFETIME`]); 1.x no refresh tokens (OAUTH-1); 2.x refresh tokens only for a long-lasting consent, rotated at every use, six months (provisional) after the last use (OAUTH-19). |
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
//! - The minimum assurance level (OAUTH-18) has no figure in the rulebook: each Zorgaanbieder
//!   sets it ([`ServerConfig::minimum_assurance`]); the default is this crate's choice,
//!   [`DEFAULT_MINIMUM_ASSURANCE`] = Substantieel, the level commonly asked for medical data.
//! - Age (OAUTH-15) is counted on the Dutch civil date of `now`, computed without a time-zone
//!   database by the EU summer-time rule (CEST from the last Sunday of March 01:00 UTC to the
//!   last Sunday of October 01:00 UTC, else CET; [`dutch_date`]); a person is eligible from
//!   00:00 Dutch time on the 16th birthday, and one born on 29 February turns 16 on 1 March in
//!   a common year ([`sixteenth_birthday`]).
//! - All authorization-request errors are case 1 (`invalid_request`, no redirect), including
//!   an unsupported `response_type`, as the OAUTH-12 table prescribes.
//!
//! - The token endpoint reads no body whose `Content-Type` is not
//!   `application/x-www-form-urlencoded` (a `charset` other than UTF-8 included): HTTP 400
//!   `invalid_request`, and a code in such a body is not retired (it was not presented as a
//!   form parameter, OAUTH-8).
//! - A store failure at the token endpoint is still `server_error` with HTTP 500 (RFC 6749
//!   5.2 has no other code for it); a failure of the resource check is case 8 (503).
//!
//! # Stores
//!
//! [`TokenStore`] is the seam for codes and tokens: [`MemoryStore`] (sharded, concurrent,
//! sweeping) for a single node, and `PgStore` (cargo feature `postgres`) for several gateway
//! nodes sharing one PostgreSQL database. [`FlowStore`] is the seam for pending flows (the
//! [`Session`] between the authorization request and the code, the PGO GW's
//! [`PendingAuthorization`]): [`MemoryFlowStore`] and `PgFlowStore`, used through
//! [`PendingFlows`]. Both PostgreSQL stores use the blocking `postgres` client: from a tokio
//! task call them through `AsyncAuthorizationServer` or `run_blocking` (feature `tokio`),
//! never directly (the client panics on a runtime thread).

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![warn(clippy::use_self, unused_qualifications)]

#[cfg(feature = "axum")]
pub mod adapter;
#[cfg(feature = "tokio")]
mod blocking;
mod client;
pub mod fhir;
mod flow;
mod form;
#[cfg(feature = "postgres")]
mod pg;
#[cfg(feature = "postgres")]
mod pg_flow;
pub mod provisional;
mod refresh;
mod response;
mod secret;
mod server;
mod store;
pub mod tracing;
mod types;

#[cfg(feature = "tokio")]
pub use blocking::{AsyncAuthorizationServer, TaskFailed, run_blocking};
pub use client::{
    AccessGrant, CallbackError, Client, ClientError, CodeReceived, GrantV2, ManagementLink,
    MemoryVault, PendingAuthorization, PendingFlow, PendingRefresh, PersonMessage, RefreshError,
    RefreshTokenVault, TokenRequest, TokenResponseError, TracedTokenRequest, VaultKey, is_zal_uri,
};
pub use flow::{
    Admission, Busy, DEFAULT_FLOW_GRACE, DEFAULT_FLOW_TTL, DEFAULT_FLOWS_PER_CLIENT,
    DEFAULT_FLOWS_PER_SOURCE, DEFAULT_FLOWS_TOTAL, DEFAULT_RETRY_AFTER, ExpiredFlow, FlowError,
    FlowLimit, FlowLimits, FlowOwner, FlowStore, Lateness, MemoryFlowStore, PendingFlows, Resumed,
    StoredFlow,
};
/// The MedMij nouns of medmij-types that this crate's API speaks, re-exported.
pub use medmij_types::{
    ClientId, ReleaseLine, Scope, ScopeError, ScopeForm, ScopeGegevensdienstId, UseCase,
    Zorgaanbiedernaam,
};
#[cfg(feature = "postgres")]
pub use pg::PgStore;
#[cfg(feature = "postgres")]
pub use pg_flow::PgFlowStore;
pub use provisional::{DEFAULT_CONSENT_MANAGEMENT_PATH, DEFAULT_REFRESH_LIFETIME, V2Config};
pub use refresh::{CodeV2, ConsentId, ConsentRecord, LongLastingConsent, Rotation};
pub use response::HttpResponse;
pub use secret::{AccessToken, Code, FlowId, RandomSource, RefreshToken, SecretHash, ThreadRandom};
/// The authenticated person and eligibility (MedMij OAUTH-18, OAUTH-15).
pub use server::{
    AssuranceLevel, AuthenticatedPerson, DEFAULT_MINIMUM_ASSURANCE, MINIMUM_AGE, PersonOutcome,
    PersonRefusal, dutch_date, sixteenth_birthday,
};
pub use server::{
    Authentication, AuthorizationRequest, AuthorizationServer, CONSENT_PAGE_HEADERS,
    ClientRegistry, ConsentDecision, ConsentEvent, ConsentManagement, ConsentOutcome,
    ConsentPeriod, ErrorCase, FORM_CONTENT_TYPE, Interaction, InvalidCause, InvalidRequest,
    IssueError, MAX_REQUEST_LEN, Redirect, RedirectKind, Representation, RepresentationKind,
    RequestV2, ResourceAccess, ResourceError, ResourceErrorKind, ServerConfig, Session,
    SessionError, SessionStage, StaticClientRegistry, TechnicalFailure, TokenAnswer,
    TokenErrorCode, TokenEvent, TokenHttpRequest, TokenOutcome, TokenOutcomeV2, TokenResponse,
    WithdrawalEvent, parse_bearer,
};
pub use store::{
    CODE_RETENTION, CodeRecord, LIFETIME, MemoryStore, Redemption, StoreError, TokenRecord,
    TokenStore,
};
pub use tracing::{CorrelationId, NewTraceId, RequestId, TraceError, TraceIds};
pub use types::{State, Subject, ValueError};
