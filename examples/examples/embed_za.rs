//! A ZA GW embedding medmij-oauth's axum adapter (feature `axum`), with PostgreSQL stores,
//! medmij-tls (front channel, and mutual TLS on the back channel), medmij-consent's pages and
//! medmij-log's audit log. The host writes small trait impls; the adapter does the rest. It
//! serves 1.x and 2.x clients at once: the release is read per request (tracing identifiers
//! or a scope without `~` make it 2.x: long-lasting consent, refresh grant, MedMij OAUTH-19).
//!
//! `cargo run -p medmij-examples --example embed_za` serves until Ctrl-C;
//! `... -- --self-test` runs one flow against itself and exits 0.
//! Database: `MEDMIJ_DATABASE_URL` (default: the local test database).
#![allow(dead_code, unreachable_pub)] // also compiled into tests/embed.rs

use medmij_examples::embed::{
    BoxError, ConsentScreens, DEFAULT_DB, Pki, open_audit, serve, tls_off_runtime, za_self_test,
};
use medmij_oauth::adapter::*;
use medmij_oauth::*;
use std::net::SocketAddr;
/// Where the gateway listens: (front channel, back channel).
pub type Addrs = (SocketAddr, SocketAddr);
use std::path::PathBuf;
use tokio::task::spawn_blocking;

/// The hostnames in the certificates (and on the Whitelist and OCL).
pub const ZA_HOST: &str = "za.example.nl";
/// The PGO GW's hostname: its `client_id` (MedMij OAUTH-3).
pub const PGO_HOST: &str = "pgo.example.nl";

/// Stand-in for DigiD (MedMij OAUTH-18): a form that posts the person back to the callback.
struct DemoLogin;
const LOGIN: &str = "<input name=person value=person-1><button>Inloggen</button></form>";
impl Authenticator for DemoLogin {
    async fn start(&self, _: &FlowInfo, callback: &str) -> HttpResponse {
        HttpResponse::page(
            200,
            format!("<form method=post action=\"{callback}\">{LOGIN}"),
        )
    }
    async fn complete(&self, _: &FlowInfo, r: &HostRequest) -> Authentication {
        let person = form_urlencoded::parse(r.body.as_bytes()).find(|(k, _)| k == "person");
        match person.map(|(_, p)| Subject::new(p.into_owned())) {
            Some(Ok(s)) => Authentication::Established(s),
            _ => Authentication::Failed, // OAUTH-12 case 2
        }
    }
}

/// Every adult has data here (a real ZA GW asks its EHR; under 16: `Ok(false)`, OAUTH-15).
struct EveryoneHasData;
impl DataAvailability for EveryoneHasData {
    async fn available(&self, _: &Subject, _: &FlowInfo) -> Result<bool, HostError> {
        Ok(true)
    }
}

/// The FHIR back end: `/fhir/1/...` is Gegevensdienst 1 of umcharderwijk (read only).
struct Fhir;
impl FhirBackend for Fhir {
    fn target(&self, path: &str) -> Option<(Zorgaanbiedernaam, ScopeGegevensdienstId)> {
        let gd = ScopeGegevensdienstId::new(path.split('/').next()?).ok()?;
        Some((Zorgaanbiedernaam::new("umcharderwijk@medmij").ok()?, gd))
    }
    async fn read(&self, a: &ResourceAccess, path: &str, _: &str) -> Result<FhirReply, HostError> {
        let body = format!(
            r#"{{"resourceType":"Bundle","id":"{path}","note":"{}"}}"#,
            a.scope
        );
        Ok(FhirReply { status: 200, body })
    }
    async fn write(&self, _: &ResourceAccess, _: &str, _: &str) -> Result<FhirReply, HostError> {
        Err(HostError("this ZA GW offers no Delen".into())) // OAUTH-12 case 8
    }
}

/// Starts the ZA GW on loopback (front, back channel): TLS from `pki`, codes, tokens and
/// pending flows in PostgreSQL tables `<prefix>_*`, the audit log in `log`.
pub async fn start(pki: &Pki, db: &str, prefix: &str, log: PathBuf) -> Result<Addrs, BoxError> {
    let tls = tls_off_runtime(pki, ZA_HOST, &[PGO_HOST])?;
    let (url, p, limits) = (db.to_owned(), prefix.to_owned(), FlowLimits::default());
    let tokens = spawn_blocking(move || PgStore::connect_no_tls(&url, &p, 4)).await??;
    let (url, p) = (db.to_owned(), prefix.to_owned());
    let flows = spawn_blocking(move || PgFlowStore::connect_no_tls(&url, &p, 4, limits)).await??;
    // The offer and the OCL (in production: from medmij-lists' ZAL and OCL).
    let za = Zorgaanbiedernaam::new("umcharderwijk@medmij")?;
    let config =
        ServerConfig::new().offer(za, ScopeGegevensdienstId::new("1")?, UseCase::Verzamelen);
    let ocl = StaticClientRegistry::new().with_client(ClientId::new(PGO_HOST)?, None);
    let server = AsyncAuthorizationServer::new(AuthorizationServer::new(config, ocl, tokens));
    let hooks = ZaHooks {
        authenticator: DemoLogin,
        data: EveryoneHasData,
        // medmij-consent's screens: 1.x Toestemming, 2.x with the indefinite period (CONSENT-6).
        consent: ConsentScreens {
            aanbieder: "Ziekenhuis Harderwijk".into(),
            gegevensdienst: "Medicatiegegevens".into(),
        },
        fhir: Fhir,
        audit: open_audit(log, [7; 32], ZA_HOST)?,
        pages: DefaultPages,
    };
    let flows = PendingFlows::new(flows, limits);
    let gateway = ZaGateway::new(server, flows, hooks, ZaSettings::default());
    serve(tls, gateway.router()).await
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let pki = spawn_blocking(Pki::new).await??;
    let db = std::env::var("MEDMIJ_DATABASE_URL").unwrap_or(DEFAULT_DB.into());
    let log = std::env::temp_dir().join(format!("embed-za-{}.jsonl", std::process::id()));
    let (front, back) = start(&pki, &db, "embed_za", log.clone()).await?;
    println!(
        "ZA GW {ZA_HOST}: front {front}, back (mTLS) {back}, log {}",
        log.display()
    );
    if std::env::args().any(|a| a == "--self-test") {
        let fhir = za_self_test(&pki, front, back, ZA_HOST, PGO_HOST).await?;
        println!("self-test passed: one flow, token, FHIR read: {fhir}");
        return Ok(());
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}
