//! Authorization-request parsing (MedMij OAUTH-1, OAUTH-3, OAUTH-4,
//! OAUTH-5, OAUTH-10): any query string either opens
//! a session whose redirects stay on the client's host, or is refused as invalid_request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medmij_oauth::*;
use std::sync::OnceLock;

type Server = AuthorizationServer<MemoryStore, StaticClientRegistry>;

fn server() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| {
        let za = Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap();
        let config = ServerConfig::new()
            .offer(za.clone(), ScopeGegevensdienstId::new("1").unwrap(), UseCase::Verzamelen)
            .offer(za.clone(), ScopeGegevensdienstId::new("3").unwrap(), UseCase::Verzamelen)
            .offer(za, ScopeGegevensdienstId::new("4").unwrap(), UseCase::Delen)
            .allow_multiple_pairs(true);
        let ocl = StaticClientRegistry::new()
            .with_client(ClientId::new("pgo.example.nl").unwrap(), None);
        AuthorizationServer::new(config, ocl, MemoryStore::new())
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(q) = std::str::from_utf8(data) else { return };
    match server().authorize(q) {
        Ok(mut session) => {
            assert_eq!(session.request().client_id().as_str(), "pgo.example.nl");
            let r = session.authenticated(Authentication::Failed).unwrap().unwrap();
            let url = url::Url::parse(r.location()).unwrap();
            assert_eq!(url.scheme(), "https");
            assert_eq!(url.host_str(), Some("pgo.example.nl"));
            assert!(url.fragment().is_none());
        }
        Err(e) => {
            assert_eq!(e.error(), "invalid_request");
            assert!(!e.description().is_empty());
        }
    }
});
