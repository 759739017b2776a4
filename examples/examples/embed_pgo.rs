//! A PGO GW embedding medmij-oauth's axum adapter (feature `axum`): the start endpoint sends
//! the person to the ZA GW, the redirect endpoint redeems the code over medmij-tls mutual TLS
//! and hands the access token to the PGO. The ZA GW it collects from is `embed_za.rs`, run in
//! the same process (the test PKI lives in the process).
//!
//! `cargo run -p medmij-examples --example embed_pgo` serves until Ctrl-C;
//! `... -- --self-test` walks one flow as the person's browser and exits 0.
#![allow(dead_code, unreachable_pub)] // also compiled into tests/embed.rs

#[path = "embed_za.rs"]
pub mod embed_za;
use embed_za::{PGO_HOST, ZA_HOST};
use medmij_examples::embed::*;
use medmij_oauth::adapter::*;
use medmij_oauth::*;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The PGO's side: its sessions, the ZAL, and where tokens are kept (server-side only,
/// RFC 6750 5.3).
#[derive(Default, Clone)]
pub struct Pgo {
    /// The access tokens received, per person.
    pub grants: Arc<Mutex<Vec<(String, AccessGrant)>>>,
}
impl PgoHost for Pgo {
    async fn person(&self, headers: &axum::http::HeaderMap) -> Option<String> {
        let cookies = headers.get("cookie")?.to_str().ok()?;
        let session = cookies
            .split(';')
            .find_map(|c| c.trim().strip_prefix("pgo-session="));
        session.map(str::to_owned) // a real PGO looks its session up
    }
    fn endpoints(&self, _: &Scope) -> Option<(String, String)> {
        // The ZAL entry (medmij-lists) of the Zorgaanbieder's Gegevensdienst (LISTS-3).
        Some((
            format!("https://{ZA_HOST}/authorize"),
            format!("https://{ZA_HOST}/token"),
        ))
    }
    async fn granted(&self, person: &str, grant: AccessGrant) -> HttpResponse {
        self.grants
            .lock()
            .map(|mut g| g.push((person.into(), grant)))
            .ok();
        HttpResponse::page(200, "<p>Uw gegevens worden opgehaald.</p>".into())
    }
}

/// Starts the PGO GW's front channel on loopback; its token requests go to `za_back`.
pub async fn start(
    pki: &Pki,
    za_back: SocketAddr,
    log: std::path::PathBuf,
) -> Result<(SocketAddr, Pgo), BoxError> {
    let tls = tls_off_runtime(pki, PGO_HOST, &[ZA_HOST])?;
    let client = Client::new(
        ClientId::new(PGO_HOST)?,
        &format!("https://{PGO_HOST}/redirect"),
    )?;
    let limits = FlowLimits::default();
    let pgo = Pgo::default();
    let hooks = PgoHooks {
        transport: MtlsTransport {
            connector: tls.connector.clone(),
            addr: za_back,
        },
        host: pgo.clone(),
        audit: open_audit(log, [8; 32], PGO_HOST)?,
        pages: DefaultPages,
    };
    let flows = PendingFlows::new(MemoryFlowStore::new(limits), limits);
    let gateway = PgoGateway::new(client, flows, hooks, PgoSettings::default());
    Ok((serve(tls, gateway.router()).await?.0, pgo))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let pki = tokio::task::spawn_blocking(Pki::new).await??;
    let db = std::env::var("MEDMIJ_DATABASE_URL").unwrap_or(DEFAULT_DB.into());
    let tmp = std::env::temp_dir();
    let za_log = tmp.join(format!("embed-za-{}.jsonl", std::process::id()));
    let (za_front, za_back) = embed_za::start(&pki, &db, "embed_za", za_log).await?;
    let log = tmp.join(format!("embed-pgo-{}.jsonl", std::process::id()));
    let (front, pgo) = start(&pki, za_back, log).await?;
    println!("PGO GW {PGO_HOST}: front {front}; ZA GW {ZA_HOST}: front {za_front}");
    if std::env::args().any(|a| a == "--self-test") {
        let answer = browser_flow(&pki, front, za_front, PGO_HOST, ZA_HOST).await?;
        let tokens = pgo.grants.lock().map(|g| g.len()).unwrap_or(0);
        if answer.status != 200 || tokens != 1 {
            return Err(
                format!("self-test failed: {} with {tokens} token(s)", answer.status).into(),
            );
        }
        println!("self-test passed: the PGO GW holds an access token");
        return Ok(());
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}
