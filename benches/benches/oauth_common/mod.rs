//! Shared fixtures of the medmij-oauth benchmarks (included with `#[path]`).
#![allow(dead_code)]

use medmij_oauth::*;
use std::time::{Duration, SystemTime};

pub(crate) const QUERY: &str = "response_type=code&client_id=pgo.example.nl\
    &redirect_uri=https%3A%2F%2Fpgo.example.nl%2Fcb&scope=umcharderwijk%7E1&state=k3Jx9qTz";
pub(crate) const BODY_HEAD: &str = "grant_type=authorization_code&code=";
pub(crate) const BODY_TAIL: &str =
    "&redirect_uri=https%3A%2F%2Fpgo.example.nl%2Fcb&client_id=pgo.example.nl";

pub(crate) fn za() -> Zorgaanbiedernaam {
    Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap()
}

pub(crate) fn gd() -> ScopeGegevensdienstId {
    ScopeGegevensdienstId::new("1").unwrap()
}

pub(crate) fn client() -> ClientId {
    ClientId::new("pgo.example.nl").unwrap()
}

pub(crate) fn server<S: TokenStore>(store: S) -> AuthorizationServer<S, StaticClientRegistry> {
    let config = ServerConfig::new().offer(za(), gd(), UseCase::Verzamelen);
    let ocl = StaticClientRegistry::new().with_client(client(), None);
    AuthorizationServer::new(config, ocl, store)
}

pub(crate) fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// One whole flow: authorize, authenticate, data check, consent, code, token, resource check.
/// Returns false if any step did not give the happy answer.
pub(crate) fn flow<S: TokenStore>(
    s: &AuthorizationServer<S, StaticClientRegistry>,
    subject: &Subject,
    za: &Zorgaanbiedernaam,
    gd: &ScopeGegevensdienstId,
    now: SystemTime,
    token_latency: Option<&mut Duration>,
) -> bool {
    let mut session = s.authorize(QUERY).expect("valid request");
    let _ = session.authenticated(Authentication::Established(subject.clone()));
    let _ = session.data_available(true);
    let _ = session.consent(ConsentDecision::Granted, now);
    let redirect = s.issue_code(&mut session, now).expect("code");
    let loc = redirect.location();
    let i = loc.find("code=").expect("code in redirect") + 5;
    let mut body = String::with_capacity(160);
    body.push_str(BODY_HEAD);
    body.push_str(&loc[i..i + 36]);
    body.push_str(BODY_TAIL);
    let started = std::time::Instant::now();
    let out = s.token(Some(FORM_CONTENT_TYPE), &body, &client(), now);
    let json = out.response.body();
    if let Some(l) = token_latency {
        *l = started.elapsed();
    }
    let TokenResponse::Issued { access_token, .. } = &out.response else {
        return false;
    };
    std::hint::black_box(json);
    let header = format!("Bearer {access_token}");
    s.check_resource(Some(&header), za, gd, Interaction::Read, now)
        .is_ok()
}
