//! 2.x authorization requests (MedMij OAUTH-20, OAUTH-21, "Releases, side by side"): any
//! query is either a session or OAUTH-12 case 1, never a panic; a 2.x session always has
//! valid tracing identifiers and the 2.x scope form; the representation extension always
//! carries a real date; a session survives the flow store's round trip. `RID` and `CID` in
//! the input become valid UUIDs v4.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medmij_oauth::*;
use std::sync::OnceLock;

type Server = AuthorizationServer<MemoryStore, StaticClientRegistry>;

fn server() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| {
        let za = Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap();
        let gd = |s| ScopeGegevensdienstId::new(s).unwrap();
        let config = ServerConfig::new()
            .offer(za.clone(), gd("1"), UseCase::Verzamelen)
            .offer(za.clone(), gd("3"), UseCase::Verzamelen)
            .offer(za.clone(), gd("5"), UseCase::Delen)
            .without_v1(za, gd("3"))
            .allow_multiple_pairs(true);
        let ocl = StaticClientRegistry::new()
            .with_client(ClientId::new("pgo.example.nl").unwrap(), None);
        AuthorizationServer::new(config, ocl, MemoryStore::new())
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let t = TraceIds::new_flow();
    let query = text
        .replace("RID", &t.request_id.to_string())
        .replace("CID", &t.correlation_id.to_string());
    match server().authorize(&query) {
        Ok(session) => {
            let req = session.request();
            match req.v2() {
                Some(v2) => {
                    assert_eq!(req.release(), ReleaseLine::V2);
                    assert!(query.contains("MedMij-Request-ID") && query.contains("X-Correlation-ID"));
                    let main = v2.wire_scope.split(' ').next().unwrap();
                    match req.use_case() {
                        UseCase::Verzamelen => {
                            assert!(!main.contains('~'));
                            assert_eq!(req.scope().as_str(), "umcharderwijk~1 umcharderwijk~3");
                        }
                        UseCase::Delen => {
                            assert_eq!(main, "umcharderwijk~5");
                            assert_eq!(req.scope().gegevensdiensten().len(), 1);
                        }
                    }
                    if let Some(rep) = &v2.representation {
                        assert_eq!(rep.geboortedatum.len(), 8);
                        assert!(rep.geboortedatum.bytes().all(|b| b.is_ascii_digit()));
                        assert!(v2.wire_scope.ends_with(rep.kind.as_str()));
                    } else {
                        assert!(!v2.wire_scope.contains(' '));
                    }
                }
                None => {
                    assert_eq!(req.release(), ReleaseLine::V1);
                    assert!(req.scope().as_str().contains('~'));
                    // Gegevensdienst 3 is no longer offered for 1.x.
                    assert!(!req.scope().as_str().contains("~3"));
                }
            }
            let text = serde_json::to_string(&session).unwrap();
            let back: Session = serde_json::from_str(&text).unwrap();
            assert_eq!(back.request().v2(), req.v2());
            assert_eq!(back.request().scope(), req.scope());
        }
        Err(e) => {
            assert_eq!(e.case_number(), 1);
            assert!(!e.description().is_empty());
            let http = HttpResponse::from(&e);
            assert_eq!(http.status(), 400);
            let f = e.technical_failure();
            assert!(f.back.is_none());
        }
    }
});
