//! Shared fixtures for the integration tests.
#![allow(dead_code, unreachable_pub, missing_docs)]

pub mod conformance;
pub mod flows;
pub mod model;

use medmij_oauth::*;
use std::time::{Duration, SystemTime};

pub const CLIENT: &str = "pgo.example.nl";
pub const OTHER_CLIENT: &str = "andere-pgo.example.com";
pub const REDIRECT: &str = "https://pgo.example.nl/cb";
pub const ZA: &str = "umcharderwijk@medmij";

pub fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

pub fn client() -> ClientId {
    ClientId::new(CLIENT).unwrap()
}

pub fn za() -> Zorgaanbiedernaam {
    Zorgaanbiedernaam::new(ZA).unwrap()
}

pub fn gd(id: &str) -> ScopeGegevensdienstId {
    ScopeGegevensdienstId::new(id).unwrap()
}

pub fn config() -> ServerConfig {
    ServerConfig::new()
        .offer(za(), gd("1"), UseCase::Verzamelen)
        .offer(za(), gd("3"), UseCase::Verzamelen)
        .offer(za(), gd("4"), UseCase::Delen)
        .offer(za(), gd("6"), UseCase::Delen)
}

pub fn registry() -> StaticClientRegistry {
    StaticClientRegistry::new()
        .with_client(client(), None)
        .with_client(ClientId::new(OTHER_CLIENT).unwrap(), Some(vec![gd("1")]))
}

pub type Server = AuthorizationServer<MemoryStore, StaticClientRegistry>;

pub fn server() -> Server {
    AuthorizationServer::new(config(), registry(), MemoryStore::new())
}

pub fn query(scope: &str, state: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", scope)
        .append_pair("state", state)
        .finish()
}

pub fn subject() -> Subject {
    Subject::new("person-1").unwrap()
}

/// Runs the session steps up to the code redirect; returns the code text.
pub fn code_for<S: TokenStore, C: ClientRegistry, R: RandomSource>(
    server: &AuthorizationServer<S, C, R>,
    scope: &str,
    now: SystemTime,
) -> String {
    let mut s = server.authorize(&query(scope, "st")).unwrap();
    assert_eq!(
        s.authenticated(Authentication::Established(subject()))
            .unwrap(),
        None
    );
    assert_eq!(s.data_available(true).unwrap(), None);
    assert!(matches!(
        s.consent(ConsentDecision::Granted, now).unwrap(),
        ConsentOutcome::Granted(_)
    ));
    let r = server.issue_code(&mut s, now).unwrap();
    param(r.location(), "code").unwrap()
}

pub fn param(location: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(location).unwrap();
    let v: Vec<String> = url
        .query_pairs()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .collect();
    assert!(v.len() <= 1, "{name} repeated in {location}");
    v.into_iter().next()
}

pub fn token_body(code: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("client_id", CLIENT)
        .finish()
}

pub fn issued_token(outcome: &TokenOutcome) -> String {
    match &outcome.response {
        TokenResponse::Issued { access_token, .. } => access_token.to_string(),
        other => panic!("expected a token, got {other:?}"),
    }
}
