//! The MedMij demo network in one process on loopback: a test PKI with its
//! OCSP responder, a Stelselnode serving the four lists over mutual TLS, a
//! ZA GW (authorization server, TEST DigiD stand-in, consent page, token and
//! FHIR endpoints) and a PGO GW (OAuth client, dossier with provenance), plus a
//! scripted browser that plays the person on the front channel. A
//! [`FrontDoor`] lets a real browser in.
//!
//! Every server is an axum router on hyper and tokio; TLS is done by
//! tokio-rustls with medmij-tls's profiles and verifiers; the gateways' and the
//! browser's HTTP clients are reqwest.
//!
//! ```no_run
//! use medmij_examples::demo::{ConsentChoice, Network};
//! # #[tokio::main] async fn main() -> Result<(), medmij_examples::demo::DemoError> {
//! let net = Network::start(true).await?;
//! let run = net.verzamelen(ConsentChoice::Grant).await?;
//! assert!(run.collected.is_some());
//! # Ok(()) }
//! ```

mod audit;
mod browser;
mod front_door;
mod limits;
mod lists;
mod net;
mod pgo_gw;
mod release2;
mod serving;
mod stelselnode;
mod trace;
mod za_gw;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::task::AbortHandle;

use medmij_tls::{
    AsyncOcspSource, FrontAcceptor, MedmijAcceptor, ReqwestOcspFetcher, run_ocsp_driver,
};
use medmij_tls::{
    BackChannel, OcspChecker, OcspDriver, OwnCertificates, PeerIdentity, WhitelistAnswer,
};
use medmij_tls::{CertOptions, OcspResponder, TestPki};

pub use front_door::FrontDoor;
pub use limits::{
    ANONYMOUS_LOG_SOURCES, ANONYMOUS_LOG_WINDOW, AUDIT_LOG_QUEUE, FLOW_TIMEOUT, HANDSHAKE_TIMEOUT,
    Limits, MAX_CONNECTIONS, MAX_CONNECTIONS_PER_SOURCE, MAX_HANDSHAKES_PER_SOURCE,
    MAX_PENDING_FLOWS, MAX_PENDING_PER_CLIENT, MAX_PENDING_PER_SOURCE, MAX_PGO_PENDING,
    MAX_PGO_PENDING_PER_SESSION, MAX_PGO_PENDING_PER_SOURCE, MAX_RECEIVED_REQUESTS,
    MAX_TRACE_STEPS, OCSP_DRIVER_POLL, OCSP_FIRST_CONTACT_DEADLINE,
};
pub use release2::{
    ChainFlow, GEGEVENSDIENST_2X, INTERFACEVERSIE_1X, INTERFACEVERSIE_2X, V2_MOUNT, V2Run,
    ZA2_HOST, ZAL_RELEASE3_PATH, ZORGAANBIEDER_2X, match_chain, v2_scope,
};
pub use stelselnode::{ChangeRefused, ListChange, RefusalReason};
pub use trace::{Actor, Step, StepOutcome, Trace};

use medmij_types::RuleId;

/// Any error of the demo network.
pub type DemoError = Box<dyn std::error::Error + Send + Sync>;

/// Hostname of the Stelselnode (MedMij Beheer), configured out of band in every gateway.
pub const STELSELNODE_HOST: &str = "stelselnode.medmij-demo.nl";
/// Hostname of the care provider's gateway (ZA GW).
pub const ZA_HOST: &str = "za-gw.umcdemo.nl";
/// Hostname of the PGO's gateway (PGO GW): its OAuth `client_id` (MedMij OAUTH-3).
pub const PGO_HOST: &str = "pgo-gw.mijnpgo-demo.nl";
/// The Zorgaanbieder of the demo.
pub const ZORGAANBIEDER: &str = "umcdemo@medmij";
/// The Verzamelen Gegevensdienst of the demo (LISTS-12: 4 = Medicatieoverzichten, PGO side).
pub const GEGEVENSDIENST: &str = "4";
/// The second Verzamelen Gegevensdienst of the demo's Zorgaanbieder, collected together
/// with [`GEGEVENSDIENST`] under one consent (MedMij OAUTH-5, release 1.5).
pub const GEGEVENSDIENST_2: &str = "5";
/// The Systeemrol whose resource endpoint serves the Gegevensdienst.
pub const SYSTEEMROL: &str = "MOV-FHIR-BRON";
/// The Lezer of the UCI Delen part of the demo (another care provider on the same
/// DVZA gateway).
pub const LEZER: &str = "huisartsdemo@medmij";
/// The Gegevensdienst the PGO shares with the Lezer.
pub const GEGEVENSDIENST_DELEN: &str = "4";
/// The Lezer's Systeemrol (a FHIR write endpoint).
pub const SYSTEEMROL_LEZER: &str = "MOV-FHIR-LEZER";

/// MedMij Beheer's archive of every list version the Stelselnode published, in
/// [`Network::log_dir`] (MedMij LISTS-11).
pub const STELSELNODE_ARCHIVE_DIR: &str = "stelselnode.lists";
/// The ZA GW's list archive, in [`Network::log_dir`]: one file per list version it
/// installed, `ZAL-1.xml`, `OCL-1.xml`, … (MedMij LISTS-11).
pub const ZA_ARCHIVE_DIR: &str = "za-gw.lists";
/// The PGO GW's list archive, in [`Network::log_dir`] (MedMij LISTS-11).
pub const PGO_ARCHIVE_DIR: &str = "pgo-gw.lists";

/// How often each gateway fetches its lists from the Stelselnode (MedMij LISTS-8:
/// the Whitelist at least hourly).
pub const LIST_REFRESH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// How often the ZA GW ends flows the person left (see [`FLOW_TIMEOUT`]).
pub const FLOW_SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// The names of the files in `dir` (not starting with `.`), sorted.
fn archive_files(dir: &std::path::Path) -> Result<Vec<String>, DemoError> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let name = e?.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Runs `job` every `interval` on the tokio runtime for as long as `target` lives.
/// Failures are reported in the trace by the job itself; for list fetches the
/// version in force stays (LISTS-7).
fn schedule<T, F>(target: &Arc<T>, interval: Duration, job: F) -> AbortHandle
where
    T: Send + Sync + 'static,
    F: for<'a> Fn(&'a T) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'a>>
        + Send
        + 'static,
{
    let weak = Arc::downgrade(target);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match weak.upgrade() {
                Some(t) => job(&t).await,
                None => return,
            }
        }
    })
    .abort_handle()
}

/// One of the four lists the Stelselnode serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    /// Zorgaanbiederslijst (LISTS-1), fetched by the PGO GW.
    Zal,
    /// OAuth Client List (LISTS-4), fetched by the ZA GW.
    Ocl,
    /// Gegevensdienstnamenlijst (LISTS-5), fetched by both.
    Gnl,
    /// Whitelist (LISTS-6), fetched by both.
    Whl,
}

/// What the scripted person does at the TEST DigiD stand-in and on the consent
/// screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentChoice {
    /// Logs in and presses "grant" (the happy flow).
    Grant,
    /// Logs in and presses "refuse" (MedMij OAUTH-12 case 4).
    Refuse,
    /// Presses "cancel" at the DigiD stand-in: the identity is not established
    /// (OAUTH-12 case 2).
    CancelLogin,
    /// Logs in, then leaves the consent screen open this long (on the ZA GW's
    /// clock) before pressing "grant". Past [`FLOW_TIMEOUT`] the answer comes too
    /// late: OAUTH-12 case 5.
    GrantAfter(Duration),
    /// Logs in, reaches the consent screen and closes the browser: the flow stays
    /// pending at both gateways until it expires (see [`Network::expire_flows`]).
    Leave,
}

/// One entry of a gateway's NEN 7513 log (MedMij LOG-1), as far as the demo's
/// tests and printouts need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The event type, e.g. `oauth.token` or `tls.refused`.
    pub event_type: String,
    /// Who acted (a system's name, a person's local id, or `unknown`).
    pub actor: String,
    /// `success`, `failure` or `refused`.
    pub outcome: String,
    /// The network address the request came from, if known.
    pub source: Option<String>,
    /// Free text, if any.
    pub detail: Option<String>,
}

/// The outcome of one UCI Verzamelen run, as seen by the PGO GW.
#[derive(Debug, Clone)]
pub struct VerzamelenRun {
    /// The dossier item id of the stored FHIR Bundle, if data was collected.
    pub collected: Option<String>,
    /// Whether the PGO GW obtained an access token.
    pub token_obtained: bool,
    /// The OAuth error the PGO GW received on its redirect URI, if any.
    pub error: Option<String>,
    /// Its `error_description`, if any.
    pub error_description: Option<String>,
    /// The plain-language message shown to the person at the end.
    pub message: String,
    /// The HTML page the browser ended on.
    pub final_page: String,
    /// The ZA GW's cookie that binds the flow to the person's browser
    /// (medmij-oauth's `ZA_COOKIE`), if the browser got one: for tests that continue a flow the
    /// person left ([`ConsentChoice::Leave`]) with another client.
    pub za_cookie: Option<String>,
}

/// One item as the second PGO imported it (MedMij CONSENT-7, CONSENT-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedItem {
    /// The item's id.
    pub item: String,
    /// The Bron it came from via MedMij.
    pub bron: String,
    /// The Gegevensdienst (GNL name).
    pub gegevensdienst: String,
    /// Whether its content is unchanged since the first PGO received it.
    pub unchanged: bool,
}

/// A dossier moved to a second PGO (MedMij CONSENT-7).
#[derive(Debug, Clone)]
pub struct DossierMove {
    /// Every item, in the export's order, with its verification.
    pub items: Vec<MovedItem>,
    /// Every placement, as text (item, Lezer, Gegevensdienst, time).
    pub placements: Vec<String>,
    /// The size of the export in bytes.
    pub bytes: usize,
}

/// The outcome of one UCI Delen run, as seen by the PGO GW.
#[derive(Debug, Clone)]
pub struct DelenRun {
    /// Whether the PGO GW obtained an access token from the Lezer.
    pub token_obtained: bool,
    /// Whether the Lezer accepted the data (HTTP 200 on the FHIR write).
    pub placed: bool,
    /// The placement record (MedMij CONSENT-4) as JSON, if placed.
    pub placement: Option<String>,
    /// The plain-language message shown to the person at the end.
    pub message: String,
}

/// The outcome of presenting an already used authorization code again
/// (MedMij OAUTH-8, OAUTH-12 case 6).
#[derive(Debug, Clone)]
pub struct ReplayRun {
    /// HTTP status of the token endpoint's answer to the replay.
    pub status: u16,
    /// The OAuth `error` of that answer.
    pub error: Option<String>,
    /// HTTP status of a FHIR read with the token issued for the code, after the replay.
    pub resource_status_after: u16,
}

/// The whole network, running as tasks on the tokio runtime it was started on
/// until it is dropped.
pub struct Network {
    trace: Arc<Trace>,
    tasks: Vec<AbortHandle>,
    pki: Arc<TestPki>,
    front_ports: (u16, u16),
    /// The 2.x ZA GW's front-channel port.
    za2_front_port: u16,
    responder: OcspResponder,
    ocsp_driver: Arc<OcspDriver>,
    ocsp_fetcher: Arc<dyn AsyncOcspSource>,
    pgo_identity: PeerIdentity,
    pgo_serial: Vec<u8>,
    za_back_connections: Arc<std::sync::atomic::AtomicU64>,
    pgo_pem: (String, String),
    za_back_port: u16,
    stelselnode: Arc<stelselnode::Stelselnode>,
    za: Arc<za_gw::ZaGw>,
    pgo: Arc<pgo_gw::PgoGw>,
    /// The dossier at a second PGO the person moves to (MedMij CONSENT-7).
    second_pgo: std::sync::Mutex<medmij_consent::Dossier>,
    browser: browser::Browser,
    /// The release 2.x parts: the PGO GW's 2.x side and what the demo shows of it.
    v2: release2::V2Parts,
    dir: PathBuf,
    /// Whether the directory stays when the network is dropped.
    keep_dir: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network").field("dir", &self.dir).finish()
    }
}

/// A URL without its query.
fn short_url(u: &str) -> &str {
    u.split('?').next().unwrap_or(u)
}

impl Drop for Network {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        if !self.keep_dir.load(std::sync::atomic::Ordering::Relaxed) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Runs the OCSP driver's due jobs now, concurrently, on the runtime (no
/// blocking call on a worker), and waits for them (MedMij TLS-3).
async fn ocsp_refresh_due(driver: &Arc<OcspDriver>, fetcher: &Arc<dyn AsyncOcspSource>) {
    let jobs = driver.due(SystemTime::now());
    let mut set = tokio::task::JoinSet::new();
    for job in jobs {
        let (driver, fetcher) = (driver.clone(), fetcher.clone());
        set.spawn(async move {
            let r = match tokio::time::timeout(job.query.timeout, fetcher.fetch(&job.query)).await {
                Ok(r) => r,
                Err(_) => Err(medmij_tls::OcspSourceError::Timeout),
            };
            // The status is in the driver's cache now, where the handshakes read it.
            let _ = driver.complete(&job, r, SystemTime::now());
        });
    }
    while set.join_next().await.is_some() {}
}

impl Network {
    /// Generates the test PKI, starts the OCSP responder, the Stelselnode and both
    /// gateways, and has the gateways fetch their lists. With `print`, every step
    /// is printed as it happens.
    pub async fn start(print: bool) -> Result<Network, DemoError> {
        Self::start_with(print, Limits::default()).await
    }

    /// As [`Network::start`], with these limits instead of the defaults of
    /// [`Limits::default`].
    pub async fn start_with(print: bool, limits: Limits) -> Result<Network, DemoError> {
        let trace = Arc::new(Trace::new(print, limits.max_trace_steps));
        let conn = net::ConnLimits::from(&limits);
        let dir = std::env::temp_dir().join(format!(
            "medmij-demo-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)?
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir)?;

        let pki = Arc::new(TestPki::new("MedMij demo")?);
        let responder = OcspResponder::start(pki.clone())?;
        let opts = CertOptions::with_ocsp(responder.url());
        let stelsel_cert = pki.issue(&[STELSELNODE_HOST], &opts)?;
        let za_cert = pki.issue(&[ZA_HOST], &opts)?;
        let za2_cert = pki.issue(&[ZA2_HOST], &opts)?;
        let pgo_cert = pki.issue(&[PGO_HOST], &opts)?;
        // MedMij TLS-3: the verifiers read only the OCSP cache; one driver (the
        // demo's nodes share one process and one cache) fetches the answers for
        // the demo's certificates, asynchronously, and staples the servers' own
        // (see `ocsp_refresh_due`); then a task keeps them fresh.
        let ocsp = OcspChecker::new();
        let ocsp_driver = Arc::new(OcspDriver::new(&ocsp));
        // medmij-tls's fetcher builds a plain reqwest client, which (reqwest's
        // `rustls-no-provider`) panics without a process-wide crypto provider:
        // install rustls' ring provider, the one medmij-tls uses (a no-op when
        // one is installed already).
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let ocsp_fetcher: Arc<dyn AsyncOcspSource> = Arc::new(ReqwestOcspFetcher::new()?);
        let stelsel_own = stelsel_cert.own_certificate()?;
        let za_own = za_cert.own_certificate()?;
        ocsp_driver.watch_own(&stelsel_own)?;
        ocsp_driver.watch_own(&za_own)?;
        let za2_own = za2_cert.own_certificate()?;
        ocsp_driver.watch_own(&za2_own)?;
        // The PGO GW is a back-channel client only: nothing to staple.
        ocsp_driver.watch_chain(&pgo_cert.chain)?;
        ocsp_refresh_due(&ocsp_driver, &ocsp_fetcher).await;
        let mut tasks = vec![
            tokio::spawn(run_ocsp_driver(
                ocsp_driver.clone(),
                ocsp_fetcher.clone(),
                limits::OCSP_DRIVER_POLL,
            ))
            .abort_handle(),
        ];
        let adapter = net::adapter_settings(&limits);
        trace.step(
            Actor::TestPki,
            &[RuleId::Tls2, RuleId::Tls3],
            StepOutcome::Done,
            format!(
                "PKIoverheid-shaped test root and intermediate generated; certificates for \
                 {STELSELNODE_HOST}, {ZA_HOST}, {ZA2_HOST}, {PGO_HOST}; OCSP responder at {}",
                responder.url()
            ),
        );

        let (stelsel_l, stelsel_port) = net::bind().await?;
        let (za_front_l, za_front_port) = net::bind().await?;
        let (za_back_l, za_back_port) = net::bind().await?;
        let (pgo_front_l, pgo_front_port) = net::bind().await?;
        let (za2_front_l, za2_front_port) = net::bind().await?;
        let (za2_back_l, za2_back_port) = net::bind().await?;
        // Where each gateway's DNS would send the names (back-channel URIs carry
        // their port, MedMij LISTS-3).
        let back_hosts: net::HostMap = vec![
            (STELSELNODE_HOST, 0),
            (ZA_HOST, 0),
            (ZA2_HOST, 0),
            (PGO_HOST, 0),
        ];

        // MedMij Beheer publishes the four lists.
        let published = lists::demo_lists(za_back_port, za2_back_port)?;
        let stelsel_log = audit::AuditLog::open(
            &dir.join("stelselnode.audit.jsonl"),
            STELSELNODE_HOST,
            [3; 32],
            &limits,
        )?;
        // MedMij LISTS-14: the DVZA registered as qualified, by its endpoint host.
        let qualified = vec![(
            ZA_HOST.to_owned(),
            vec![
                GEGEVENSDIENST.to_owned(),
                GEGEVENSDIENST_2.to_owned(),
                GEGEVENSDIENST_DELEN.to_owned(),
            ],
        )];
        let stelselnode = Arc::new(stelselnode::Stelselnode::new(
            published,
            &dir.join(STELSELNODE_ARCHIVE_DIR),
            qualified,
            stelsel_log,
        )?);
        let anchors = || pki.trust_anchors();
        let ocsp = || ocsp.clone();
        let stelsel_back = BackChannel::new(
            anchors()?,
            stelselnode.whitelist(),
            OwnCertificates::new(vec![stelsel_own])?,
        )
        .with_ocsp(ocsp())
        .refusal_log(trace.refusal_log(Actor::Stelselnode));
        tasks.push(net::serve(
            stelsel_l,
            net::Acceptor::Back(MedmijAcceptor::new(
                &stelsel_back,
                ocsp_driver.clone(),
                ocsp_fetcher.clone(),
                adapter,
            )?),
            stelselnode.router(),
            conn,
            None,
            Arc::default(),
        ));
        trace.step(
            Actor::Stelselnode,
            &[
                RuleId::Lists1,
                RuleId::Lists4,
                RuleId::Lists5,
                RuleId::Lists6,
            ],
            StepOutcome::Done,
            format!("serving ZAL, OCL, GNL, WHL over mutual TLS on 127.0.0.1:{stelsel_port}"),
        );

        // The Stelselnode's own name is configured out of band (it is where the
        // Whitelist comes from), so list fetching admits exactly that host.
        let to_stelselnode = |own: &medmij_tls::IssuedCert,
                              who: Actor|
         -> Result<lists::ListFetcher, DemoError> {
            let wl = |h: &str, _now: SystemTime| {
                if h == STELSELNODE_HOST {
                    WhitelistAnswer::Listed
                } else {
                    WhitelistAnswer::NotListed
                }
            };
            let back = BackChannel::new(
                anchors()?,
                Arc::new(wl),
                OwnCertificates::new(vec![own.own_certificate()?])?,
            )
            .with_ocsp(ocsp())
            .refusal_log(trace.refusal_log(who));
            let client =
                net::BackClient::new(back.client_config()?, &back_hosts, back.checks().clone())?;
            Ok(lists::ListFetcher::new(client, stelsel_port))
        };

        // ZA GW.
        let za_lists = lists::ZaLists::new(
            to_stelselnode(&za_cert, Actor::ZaGw)?,
            &dir.join(ZA_ARCHIVE_DIR),
            &trace,
        )?;
        za_lists.refresh().await?;
        let za_whitelist = za_lists.whitelist();
        let za_log =
            audit::AuditLog::open(&dir.join("za-gw.audit.jsonl"), ZA_HOST, [1; 32], &limits)?;
        let za = Arc::new(za_gw::ZaGw::new(
            za_lists,
            za_log,
            trace.clone(),
            &limits,
            za_back_port,
            &dir.join("za-gw.evidence.jsonl"),
        )?);
        // MedMij LISTS-13: what it serves against what the ZAL says.
        za.check_offer().await?;
        // Handshake refusals go to the trace and to the NEN 7513 log (LOG-1): a
        // refusal inside a back-channel handshake is handed to the server task,
        // which logs it once with the source address (see `handshake_failed`).
        let za_refusals = {
            let traced = trace.refusal_log(Actor::ZaGw);
            let za = Arc::downgrade(&za);
            let log: medmij_tls::RefusalLog = Arc::new(move |ev: &medmij_tls::RefusalEvent| {
                traced(ev);
                if let Some(za) = za.upgrade() {
                    if net::capture_refusal(ev) {
                        za.refusal_captured();
                    } else {
                        za.log_refusal(ev);
                    }
                }
            });
            log
        };
        let za_handshakes: net::HandshakeHook = {
            let za = Arc::downgrade(&za);
            Arc::new(move |f: net::HandshakeFailure| {
                if let Some(za) = za.upgrade() {
                    za.handshake_failed(f);
                }
            })
        };
        let za_back_connections = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let za_back = BackChannel::new(
            anchors()?,
            za_whitelist,
            OwnCertificates::new(vec![za_own])?,
        )
        .with_ocsp(ocsp())
        .refusal_log(za_refusals);
        tasks.push(net::serve(
            za_front_l,
            net::Acceptor::Front(FrontAcceptor::new(
                OwnCertificates::new(vec![za_cert.own_certificate()?])?,
                adapter,
            )?),
            za_gw::ZaGw::front_router(&za),
            conn,
            Some(za_handshakes.clone()),
            Arc::default(),
        ));
        tasks.push(net::serve(
            za_back_l,
            net::Acceptor::Back(MedmijAcceptor::new(
                &za_back,
                ocsp_driver.clone(),
                ocsp_fetcher.clone(),
                adapter,
            )?),
            za_gw::ZaGw::back_router(&za),
            conn,
            Some(za_handshakes),
            za_back_connections.clone(),
        ));
        trace.step(
            Actor::ZaGw,
            &[
                RuleId::Tls1,
                RuleId::Tls2,
                RuleId::Tls3,
                RuleId::Tls4,
                RuleId::Oauth3,
            ],
            StepOutcome::Done,
            format!(
                "front channel on 127.0.0.1:{za_front_port}, back channel (mTLS) on \
                 127.0.0.1:{za_back_port}"
            ),
        );

        // PGO GW.
        let pgo_lists = lists::PgoLists::new(
            to_stelselnode(&pgo_cert, Actor::PgoGw)?,
            &dir.join(PGO_ARCHIVE_DIR),
            &trace,
        )?;
        pgo_lists.refresh().await?;
        let pgo_back = BackChannel::new(
            anchors()?,
            pgo_lists.whitelist(),
            OwnCertificates::new(vec![pgo_cert.own_certificate()?])?,
        )
        .with_ocsp(ocsp())
        .refusal_log(trace.refusal_log(Actor::PgoGw));
        let pgo_log =
            audit::AuditLog::open(&dir.join("pgo-gw.audit.jsonl"), PGO_HOST, [2; 32], &limits)?;
        let pgo_client = net::BackClient::new(
            pgo_back.client_config()?,
            &back_hosts,
            pgo_back.checks().clone(),
        )?;
        let pgo = Arc::new(pgo_gw::PgoGw::new(
            pgo_lists,
            pgo_client,
            pgo_log,
            trace.clone(),
            &limits,
        )?);
        // Release 2.x ("Releases, side by side"): the second Zorgaanbieder's ZA GW
        // (medmij-oauth's ZaGateway) and the PGO GW's 2.x side (its PgoGateway).
        let v2 = {
            let za2_lists = Arc::new(lists::Za2Lists::new(
                to_stelselnode(&za2_cert, Actor::ZaGw2x)?,
                &dir.join("za2-gw.lists"),
                &trace,
            )?);
            za2_lists.refresh().await?;
            tasks.push(schedule(&za2_lists, LIST_REFRESH_INTERVAL, |l| {
                Box::pin(async move {
                    let _ = l.refresh().await;
                })
            }));
            let za2_back = BackChannel::new(
                anchors()?,
                za2_lists.whitelist(),
                OwnCertificates::new(vec![za2_own])?,
            )
            .with_ocsp(ocsp())
            .refusal_log(trace.refusal_log(Actor::ZaGw2x))
            // MedMij TLS-6: the 2.x profile (no wildcard certificates; an Organization
            // Validated front-channel certificate). The demo's test PKI is not G1-shaped.
            .with_profile(medmij_tls::TlsProfile::V2);
            let clock = release2::V2Clock::default();
            let (za2, za2_log) = release2::za2_router(&dir, za2_lists.ocl.clone(), &clock, &trace)?;
            tasks.push(net::serve(
                za2_front_l,
                net::Acceptor::Front(FrontAcceptor::with_profile(
                    medmij_tls::TlsProfile::V2,
                    OwnCertificates::new(vec![za2_cert.own_certificate()?])?,
                    adapter,
                )?),
                za2.clone(),
                conn,
                None,
                Arc::default(),
            ));
            tasks.push(net::serve(
                za2_back_l,
                net::Acceptor::Back(MedmijAcceptor::new(
                    &za2_back,
                    ocsp_driver.clone(),
                    ocsp_fetcher.clone(),
                    adapter,
                )?),
                za2,
                conn,
                None,
                Arc::default(),
            ));
            trace.step(
                Actor::ZaGw2x,
                &[
                    RuleId::Tls1,
                    RuleId::Tls2,
                    RuleId::Tls4,
                    RuleId::Tls6,
                    RuleId::Oauth3,
                ],
                StepOutcome::Done,
                format!(
                    "{ZORGAANBIEDER_2X} at {ZA2_HOST} (medmij-oauth ZaGateway, release 2.x): \
                     front channel on 127.0.0.1:{za2_front_port}, back channel (mTLS) on \
                     127.0.0.1:{za2_back_port}"
                ),
            );
            release2::V2Parts::start(
                &dir,
                release2::Za2Node {
                    lists: za2_lists,
                    log: za2_log,
                },
                clock,
                &pgo,
                pgo.lists().fetcher(),
                net::BackClient::new(
                    pgo_back.client_config()?,
                    &back_hosts,
                    pgo_back.checks().clone(),
                )?,
                &trace,
            )
            .await?
        };
        tasks.push(schedule(&v2.zal3_refresh, LIST_REFRESH_INTERVAL, |r| {
            Box::pin(async move {
                let _ = r.refresh_now().await;
            })
        }));
        tasks.push(net::serve(
            pgo_front_l,
            net::Acceptor::Front(FrontAcceptor::new(
                OwnCertificates::new(vec![pgo_cert.own_certificate()?])?,
                adapter,
            )?),
            pgo_gw::PgoGw::front_router(&pgo)
                .merge(v2.router.clone())
                .nest(V2_MOUNT, v2.router.clone()),
            conn,
            None,
            Arc::default(),
        ));
        trace.step(
            Actor::PgoGw,
            &[RuleId::Tls1, RuleId::Tls2, RuleId::Tls3, RuleId::Tls4],
            StepOutcome::Done,
            format!("front channel on 127.0.0.1:{pgo_front_port}"),
        );

        tasks.push(schedule(&za, LIST_REFRESH_INTERVAL, |za| {
            Box::pin(async move {
                let _ = za.refresh_lists().await;
            })
        }));
        tasks.push(schedule(&pgo, LIST_REFRESH_INTERVAL, |pgo| {
            Box::pin(async move {
                let _ = pgo.refresh_lists().await;
            })
        }));
        tasks.push(schedule(&za, FLOW_SWEEP_INTERVAL, |za| {
            Box::pin(async move {
                let _ = za.expire_flows().await;
            })
        }));
        let pgo_gateway = Arc::downgrade(&v2.gateway);
        tasks.push(schedule(&pgo, FLOW_SWEEP_INTERVAL, move |pgo| {
            let gateway = pgo_gateway.upgrade();
            Box::pin(async move {
                if let Some(gateway) = gateway {
                    pgo.expire_flows(&gateway).await;
                }
            })
        }));
        // Counting entries of anonymous refusals, once their window closes (LOG-1).
        tasks.push(schedule(&za, limits.anonymous_log_window, |za| {
            Box::pin(async move {
                za.flush_anonymous(false).await;
            })
        }));
        tasks.push(schedule(&pgo, limits.anonymous_log_window, |pgo| {
            Box::pin(async move {
                pgo.flush_anonymous(false).await;
            })
        }));
        trace.step(
            Actor::Gateways,
            &[RuleId::Lists8],
            StepOutcome::Done,
            format!(
                "lists fetched again every {} minutes",
                LIST_REFRESH_INTERVAL.as_secs() / 60
            ),
        );

        let front_hosts: net::HostMap = vec![
            (ZA_HOST, za_front_port),
            (ZA2_HOST, za2_front_port),
            (PGO_HOST, pgo_front_port),
        ];
        let browser = browser::Browser::new(pki.root_der().clone(), front_hosts, trace.clone())?;
        let front_ports = (za_front_port, pgo_front_port);

        Ok(Network {
            trace,
            tasks,
            pki,
            front_ports,
            za2_front_port,
            responder,
            ocsp_driver,
            ocsp_fetcher,
            pgo_identity: PeerIdentity::from_peer_certificates(
                medmij_tls::PeerRole::Client,
                &pgo_cert.chain,
                None,
            )
            .map_err(|r| format!("the PGO GW's certificate: {r}"))?,
            pgo_serial: pgo_cert.serial.clone(),
            za_back_connections,
            pgo_pem: (pgo_cert.chain_pem.clone(), pgo_cert.key_pem.clone()),
            za_back_port,
            stelselnode,
            za,
            pgo,
            second_pgo: std::sync::Mutex::new(medmij_consent::Dossier::new()),
            browser,
            v2,
            dir,
            keep_dir: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The step trace shared by all parts of the network.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// The PGO GW's home page: a link to collect, and the dossier with a link to
    /// share each item.
    pub fn home_url(&self) -> String {
        format!("https://{PGO_HOST}/")
    }

    /// Where a person starts UCI Verzamelen in a browser: the PGO GW's start link.
    pub fn start_url(&self) -> String {
        format!(
            "https://{PGO_HOST}/start?zorgaanbieder={ZORGAANBIEDER}&gegevensdienst={GEGEVENSDIENST}"
        )
    }

    /// Chromium flags that send the front-channel host names (which carry no port,
    /// MedMij LISTS-3) to the loopback ports, in a throw-away profile. The test PKI's
    /// root is not in any browser's trust store, hence `--ignore-certificate-errors`
    /// (for this test network only).
    pub fn chromium_args(&self, profile_dir: &std::path::Path) -> Vec<String> {
        let (za, pgo) = self.front_ports;
        vec![
            format!("--user-data-dir={}", profile_dir.display()),
            format!(
                "--host-resolver-rules=MAP {ZA_HOST}:443 127.0.0.1:{za}, MAP {PGO_HOST}:443 \
                 127.0.0.1:{pgo}, MAP {ZA2_HOST}:443 127.0.0.1:{}",
                self.za2_front_port
            ),
            "--ignore-certificate-errors".to_owned(),
            "--no-first-run".to_owned(),
        ]
    }

    /// Opens the front door: a proxy on 127.0.0.1 through which a real browser
    /// reaches the front channel by the demo's host names (see [`FrontDoor`]).
    pub async fn open_front_door(&self) -> Result<FrontDoor, DemoError> {
        let (za, pgo) = self.front_ports;
        FrontDoor::open(
            vec![
                (ZA_HOST, za),
                (PGO_HOST, pgo),
                (ZA2_HOST, self.za2_front_port),
            ],
            self.pki.root_pem().to_owned(),
        )
        .await
    }

    /// An HTTP client on the front channel, as a browser without cookies that
    /// connects from `local` (any address in 127.0.0.0/8): another source address,
    /// for tests of the per-source limits (MedMij OAUTH-14). It follows no
    /// redirects.
    pub fn front_channel_client(
        &self,
        local: std::net::IpAddr,
    ) -> Result<reqwest::Client, DemoError> {
        self.browser.client_from(local)
    }

    /// Writes the test root certificate (PEM) into the log directory and returns its
    /// path, for importing into a browser.
    pub fn write_root_pem(&self) -> Result<PathBuf, DemoError> {
        let path = self.dir.join("test-root.pem");
        std::fs::write(&path, self.pki.root_pem())?;
        Ok(path)
    }

    /// The ZA GW's front-channel port on 127.0.0.1 (authorization endpoint and consent
    /// page). Front-channel URIs carry no port (MedMij LISTS-3): another client maps
    /// `https://`[`ZA_HOST`]`/…` to this port, as DNS would map the name.
    pub fn za_front_port(&self) -> u16 {
        self.front_ports.0
    }

    /// How many back-channel connections the ZA GW has established so far
    /// (handshake and checks passed). Requests on a kept-open connection do not
    /// add to it: a test compares it before and after a request to tell "refused
    /// on the open connection" from "refused at a new handshake" (MedMij TLS-4).
    pub fn za_back_connections(&self) -> u64 {
        self.za_back_connections
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The ZA GW's back-channel port on 127.0.0.1 (token and FHIR endpoints; its
    /// certificate names [`ZA_HOST`]).
    pub fn za_back_port(&self) -> u16 {
        self.za_back_port
    }

    /// Writes the PGO GW's test certificate chain and key (PEM) into the log
    /// directory, so that another HTTP client (curl) can act as the PGO GW on the
    /// back channel. Test PKI only.
    pub fn write_pgo_credentials(&self) -> Result<(PathBuf, PathBuf), DemoError> {
        let chain = self.dir.join("pgo-gw.chain.pem");
        let key = self.dir.join("pgo-gw.key.pem");
        std::fs::write(&chain, &self.pgo_pem.0)?;
        std::fs::write(&key, &self.pgo_pem.1)?;
        Ok((chain, key))
    }

    /// The access token the PGO GW obtained in its last granted Verzamelen, for
    /// interoperability tests with another client. Demo only: a real PGO GW never
    /// hands a token out (RFC 6750 5.3).
    pub fn last_access_token(&self) -> Option<String> {
        self.pgo.last_access_token()
    }

    /// Runs UCI Verzamelen once as a new person: the browser opens the PGO GW's
    /// start link, is sent to the ZA GW, logs in at the TEST DigiD stand-in (or
    /// cancels) and answers the consent screen as `choice` says.
    pub async fn verzamelen(&self, choice: ConsentChoice) -> Result<VerzamelenRun, DemoError> {
        self.verzamelen_from(choice, &self.start_url()).await
    }

    /// Runs UCI Verzamelen once for both Verzamelen Gegevensdiensten of the demo's
    /// Zorgaanbieder with one login and one consent (MedMij OAUTH-5, release 1.5):
    /// one token for both scopes' pairs, each Gegevensdienst read with it
    /// (OAUTH-17) and stored as its own dossier item (see [`Network::dossier_items`]).
    pub async fn verzamelen_multi(
        &self,
        choice: ConsentChoice,
    ) -> Result<VerzamelenRun, DemoError> {
        let url = format!(
            "https://{PGO_HOST}/start?zorgaanbieder={ZORGAANBIEDER}&gegevensdienst=\
             {GEGEVENSDIENST}+{GEGEVENSDIENST_2}"
        );
        self.verzamelen_from(choice, &url).await
    }

    /// The items in the PGO GW's dossier: id, whether unchanged since receipt
    /// (MedMij CONSENT-4), and the Gegevensdienst's name.
    pub fn dossier_items(&self) -> Vec<(String, bool, String)> {
        self.pgo.dossier_items()
    }

    async fn verzamelen_from(
        &self,
        choice: ConsentChoice,
        start: &str,
    ) -> Result<VerzamelenRun, DemoError> {
        self.trace.mark();
        let person = self.browser.fresh()?;
        let (page, at) = person.navigate("GET", start, None).await?;
        let sid = person
            .cookie(PGO_HOST, "pgo_session")
            .ok_or("the PGO GW set no session cookie")?;
        // Whether the flow has ended: the browser is back at the PGO.
        let ended = |page: &net::Fetched| {
            self.pgo.take_result(&sid).map(|mut run| {
                run.final_page = page.body_str().to_owned();
                run
            })
        };
        if let Some(run) = ended(&page) {
            return Ok(run);
        }
        if page.status != 200 {
            // The ZA GW answered the person directly, without sending them back to
            // the PGO (e.g. OAUTH-12 case 1, or too busy): the flow ends there.
            return Ok(VerzamelenRun {
                collected: None,
                token_obtained: false,
                error: Some(format!("HTTP {} at {}", page.status, short_url(&at))),
                error_description: None,
                message: "(the person stays on the care provider's page)".into(),
                final_page: page.body_str().to_owned(),
                za_cookie: person.cookie(ZA_HOST, medmij_oauth::adapter::ZA_COOKIE),
            });
        }
        // The TEST DigiD stand-in (MedMij OAUTH-11; OAUTH-12 case 2 on cancel).
        let login = browser::Form::parse(page.body_str())?;
        let action = if choice == ConsentChoice::CancelLogin {
            "cancel"
        } else {
            "login"
        };
        self.trace.step(
            Actor::Browser,
            &[RuleId::Oauth11],
            StepOutcome::Done,
            format!("person presses \"{action}\" at the TEST DigiD stand-in"),
        );
        let (page, at) = person.submit(&at, &login, "action", action).await?;
        if let Some(run) = ended(&page) {
            return Ok(run);
        }
        if page.status != 200 {
            return Err(format!("expected the consent page, got HTTP {}", page.status).into());
        }
        let form = browser::Form::parse(page.body_str())?;
        if choice == ConsentChoice::Leave {
            self.trace.step(
                Actor::Browser,
                &[RuleId::Consent1],
                StepOutcome::Done,
                "person closes the browser on the consent screen",
            );
            return Ok(VerzamelenRun {
                collected: None,
                token_obtained: false,
                error: None,
                error_description: None,
                message: "(the person left)".into(),
                final_page: page.body_str().to_owned(),
                za_cookie: person.cookie(ZA_HOST, medmij_oauth::adapter::ZA_COOKIE),
            });
        }
        if let ConsentChoice::GrantAfter(wait) = choice {
            self.za.advance_clock(wait);
            self.trace.step(
                Actor::Browser,
                &[RuleId::Oauth12],
                StepOutcome::Done,
                format!(
                    "person leaves the consent screen open for {} s (ZA GW clock moved)",
                    wait.as_secs()
                ),
            );
        }
        let decision = if choice == ConsentChoice::Refuse {
            "refuse"
        } else {
            "grant"
        };
        self.trace.step(
            Actor::Browser,
            &[RuleId::Consent1],
            StepOutcome::Done,
            format!("person reads the Toestemming and presses \"{decision}\""),
        );
        let (end, _) = person.submit(&at, &form, "decision", decision).await?;
        ended(&end).ok_or_else(|| "the PGO GW did not finish the flow".into())
    }

    /// Runs UCI Delen once: the person shares dossier item `item` (e.g. the Bundle
    /// collected by [`Network::verzamelen`]) with the Lezer, logging in at the
    /// DigiD stand-in and confirming the Bevestiging.
    pub async fn delen(&self, item: &str) -> Result<DelenRun, DemoError> {
        self.trace.mark();
        let start = format!(
            "https://{PGO_HOST}/share?zorgaanbieder={LEZER}&gegevensdienst={GEGEVENSDIENST_DELEN}&item={item}"
        );
        let person = self.browser.fresh()?;
        let (page, at) = person.navigate("GET", &start, None).await?;
        let sid = person
            .cookie(PGO_HOST, "pgo_session")
            .ok_or("the PGO GW set no session cookie")?;
        if page.status != 200 {
            return Err(format!("expected the DigiD stand-in, got HTTP {}", page.status).into());
        }
        let login = browser::Form::parse(page.body_str())?;
        self.trace.step(
            Actor::Browser,
            &[RuleId::Oauth11],
            StepOutcome::Done,
            "person presses \"login\" at the TEST DigiD stand-in",
        );
        let (page, at) = person.submit(&at, &login, "action", "login").await?;
        if page.status != 200 {
            return Err(format!("expected the Bevestiging page, got HTTP {}", page.status).into());
        }
        let form = browser::Form::parse(page.body_str())?;
        self.trace.step(
            Actor::Browser,
            &[RuleId::Consent2],
            StepOutcome::Done,
            "person reads the Bevestiging and presses \"grant\"",
        );
        person.submit(&at, &form, "decision", "grant").await?;
        self.pgo
            .take_delen_result(&sid)
            .ok_or_else(|| "the PGO GW did not finish the flow".into())
    }

    /// The ZA GW's back end has no data of the person from now on (MedMij OAUTH-12
    /// case 3).
    pub fn za_has_no_data(&self) {
        self.za.set_no_data();
        self.trace.step(
            Actor::ZaGw,
            &[RuleId::Oauth11],
            StepOutcome::Done,
            "back end switched to: no data of the test person",
        );
    }

    /// The ZA GW's back end puts the test person's BSN in the Bundle from now on
    /// (MedMij OAUTH-16). With `strip` the ZA GW leaves it empty before sending, as the
    /// rule says; without it the ZA GW plays a non-conforming Bron, so that the PGO GW's
    /// refusal shows.
    pub fn za_puts_bsn_in_payload(&self, strip: bool) {
        self.za.set_bsn_in_payload(strip);
        self.trace.step(
            Actor::ZaGw,
            &[RuleId::Oauth16],
            StepOutcome::Done,
            if strip {
                "back end switched to: a Patient with the BSN in the Bundle"
            } else {
                "back end switched to: a Patient with the BSN in the Bundle, and the ZA GW \
                 no longer empties it (NON-CONFORMING, demo only)"
            },
        );
    }

    /// The PGO GW puts a BSN in every Bundle it shares from now on (a non-conforming
    /// sender, demo only): the Lezer must refuse it as OAUTH-12 case 8 (MedMij
    /// OAUTH-16).
    pub fn pgo_shares_bsn(&self) {
        self.pgo.set_share_with_bsn();
        self.trace.step(
            Actor::PgoGw,
            &[RuleId::Oauth16],
            StepOutcome::Done,
            "switched to: a BSN in every shared Bundle (NON-CONFORMING, demo only)",
        );
    }

    /// The last requests that arrived at the ZA GW (front and back channel), oldest
    /// first, each as `METHOD path?query body`: for checking that no person
    /// identifier travels between the gateways (MedMij OAUTH-16). Bounded: the ZA GW
    /// keeps the last [`MAX_RECEIVED_REQUESTS`].
    pub fn za_received_requests(&self) -> Vec<String> {
        self.za.received()
    }

    /// The OCSP responder reports the PGO GW's certificate as revoked from now on:
    /// the ZA GW refuses its next handshake, and its next request on a kept-open
    /// connection (MedMij TLS-3, TLS-4).
    pub async fn revoke_pgo_certificate(&self) {
        self.responder.revoke(&self.pgo_serial);
        // The OCSP driver learns it at its next refresh; the demo refreshes now,
        // asynchronously, and waits (bounded) until the cache says "revoked" (the
        // driver task may hold the job already).
        self.ocsp_driver.refresh_all_now();
        for _ in 0..500 {
            ocsp_refresh_due(&self.ocsp_driver, &self.ocsp_fetcher).await;
            let status = self
                .pgo_identity
                .ocsp_status(self.ocsp_driver.cache(), SystemTime::now());
            if matches!(status, medmij_tls::CachedStatus::Refused(_)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.trace.step(
            Actor::OcspResponder,
            &[RuleId::Tls3],
            StepOutcome::Done,
            format!("the certificate of {PGO_HOST} is now reported revoked"),
        );
    }

    /// Moves the ZA GW's clock forward by `by` (to show the 900 s lifetime, MedMij
    /// OAUTH-7).
    pub fn advance_za_clock(&self, by: std::time::Duration) {
        self.za.advance_clock(by);
        self.trace.step(
            Actor::ZaGw,
            &[RuleId::Oauth7],
            StepOutcome::Done,
            format!("clock moved {} s forward", by.as_secs()),
        );
    }

    /// After a granted flow: the PGO GW reads the resource again with the token it
    /// got. Returns the HTTP status and the FHIR OperationOutcome issue code, if any
    /// (MedMij OAUTH-12 case 7: `suppressed`).
    pub async fn read_again(&self) -> Result<(u16, Option<String>), DemoError> {
        self.pgo.read_again().await
    }

    /// LISTS-9 then LISTS-8: the Stelselnode publishes a Whitelist with the same
    /// Volgnummer as the one in force (the ZA GW refuses it and keeps its version),
    /// then the ZA GW goes two hours without a successful Whitelist fetch: its
    /// Whitelist is stale, so no peer's listing can be determined and every
    /// back-channel handshake is refused (TLS-4).
    pub async fn stale_whitelist(&self) -> Result<(), DemoError> {
        let xml = lists::whitelist_xml(
            &[
                STELSELNODE_HOST,
                ZA_HOST,
                ZA2_HOST,
                PGO_HOST,
                "rogue-node.example.nl",
            ],
            "1",
        )?;
        self.stelselnode.publish(List::Whl, xml);
        self.trace.step(
            Actor::Stelselnode,
            &[RuleId::Lists9],
            StepOutcome::Done,
            "publishes a Whitelist with an extra node but the same Volgnummer 1",
        );
        let refused = self.za.refresh_lists().await.is_err();
        if !refused {
            return Err("the ZA GW installed a Whitelist with an equal Volgnummer".into());
        }
        self.za
            .advance_clock(std::time::Duration::from_secs(2 * 3600));
        self.trace.step(
            Actor::ZaGw,
            &[RuleId::Lists8],
            StepOutcome::Done,
            "two hours pass without a successful Whitelist fetch: the Whitelist in force is stale",
        );
        Ok(())
    }

    /// After a granted flow: the PGO GW presents the same code again. The ZA GW must
    /// refuse it (`invalid_grant`) and revoke the token issued for it (MedMij OAUTH-8,
    /// OAUTH-12 case 6); the token is then refused at the resource endpoint (case 7).
    pub async fn replay_code(&self) -> Result<ReplayRun, DemoError> {
        self.pgo.replay_last_code().await
    }

    /// MedMij Beheer publishes a new Whitelist version (Volgnummer 2) without the PGO
    /// GW, and the ZA GW fetches it (LISTS-8): from its next request on (on a
    /// kept-open connection, or at a new handshake), the ZA GW refuses the PGO GW
    /// (TLS-4).
    pub async fn drop_pgo_from_whitelist(&self) -> Result<(), DemoError> {
        let xml = lists::whitelist_xml(&[STELSELNODE_HOST, ZA_HOST, ZA2_HOST], "2")?;
        self.stelselnode.publish(List::Whl, xml);
        self.trace.step(
            Actor::Stelselnode,
            &[RuleId::Lists6, RuleId::Lists8],
            StepOutcome::Done,
            format!("published Whitelist version 2 without {PGO_HOST}"),
        );
        self.za.refresh_lists().await
    }

    /// MedMij LISTS-13, LISTS-10: MedMij Beheer publishes ZAL version `volgnummer`
    /// without the Gegevensdienst of [`ZORGAANBIEDER`] (the Zorgaanbieder leaves the
    /// list), and the ZA GW fetches it at once; it reports and logs the difference with
    /// its configuration, serves the Gegevensdienst for 3600 s more, then answers
    /// OAUTH-12 case 1. The PGO GW keeps its ZAL until its own next fetch, so that its
    /// requests still arrive.
    pub async fn withdraw_service(&self) -> Result<u64, DemoError> {
        let (_, volgnummer) = self
            .change_list(ListChange::RemoveZorgaanbieder(ZORGAANBIEDER.into()))
            .await?;
        self.za.refresh_lists().await?;
        Ok(volgnummer)
    }

    /// MedMij Beheer submits `change` to the Stelselnode (MedMij LISTS-14): checked,
    /// then published as a complete list with a higher Volgnummer and archived
    /// (LISTS-11), or refused with every reason, changing nothing. Logged either way
    /// in the Stelselnode's NEN 7513 log (LOG-1). Gateways fetch the new version on
    /// their next refresh.
    pub async fn change_list(&self, change: ListChange) -> Result<(List, u64), ChangeRefused> {
        let what = change.describe();
        let r = self.stelselnode.change(change).await;
        match &r {
            Ok((list, v)) => self.trace.step(
                Actor::Stelselnode,
                &[RuleId::Lists14, RuleId::Lists11],
                StepOutcome::Done,
                format!("MedMij Beheer: {what}: checked; published {list:?} {v}; archived"),
            ),
            Err(e) => self.trace.step(
                Actor::Stelselnode,
                &[RuleId::Lists14, RuleId::Log1],
                StepOutcome::Refused,
                format!("MedMij Beheer: {e}; nothing changed; logged"),
            ),
        }
        r
    }

    /// The files in MedMij Beheer's archive of published list versions (MedMij
    /// LISTS-11), sorted by name (`GNL-1.xml`, `OCL-1.xml`, `WHL-1.xml`, `ZAL-1.xml`,
    /// `ZAL-2.xml`, …).
    pub fn stelselnode_archive(&self) -> Result<Vec<String>, DemoError> {
        archive_files(&self.stelselnode.archive_dir())
    }

    /// The entries of the Stelselnode's NEN 7513 log (list changes, accepted and
    /// refused), in order.
    pub fn stelselnode_log(&self) -> Result<Vec<LogLine>, DemoError> {
        self.stelselnode.log().events()
    }

    /// The demo's Zorgaanbieder entries as the ZAL lists them (the Bron
    /// [`ZORGAANBIEDER`] and the Lezer [`LEZER`]), to build changes from.
    pub fn demo_zorgaanbieders(&self) -> Result<Vec<medmij_lists::Zorgaanbieder>, DemoError> {
        lists::demo_zorgaanbieders(self.za_back_port, true)
    }

    /// The OCL, as the ZA GW reads it, names `gegevensdiensten` as the only ones the
    /// PGO GW may use from now on (MedMij LISTS-4). A stand-in: the release2 OCL has no
    /// element for them, so the ZA GW keeps them beside its OCL store.
    pub fn restrict_pgo_on_ocl(&self, gegevensdiensten: &[&str]) {
        self.za.restrict_client(PGO_HOST, gegevensdiensten);
        self.trace.step(
            Actor::ZaGw,
            &[RuleId::Lists4],
            StepOutcome::Done,
            format!("the OCL names {gegevensdiensten:?} as the Gegevensdiensten of {PGO_HOST}"),
        );
    }

    /// Both gateways' list archives (MedMij LISTS-11): the files in the ZA GW's and in
    /// the PGO GW's archive directory, sorted by name (`GNL-1.xml`, `OCL-1.xml`, …).
    pub fn gateway_archives(&self) -> Result<(Vec<String>, Vec<String>), DemoError> {
        Ok((
            archive_files(&self.dir.join(ZA_ARCHIVE_DIR))?,
            archive_files(&self.dir.join(PGO_ARCHIVE_DIR))?,
        ))
    }

    /// MedMij Beheer publishes a new version of `list` on the Stelselnode (any XML:
    /// the gateways validate it, LISTS-7). Gateways fetch it on their next refresh,
    /// or at once with [`Network::refresh_lists`].
    pub fn publish(&self, list: List, xml: impl Into<String>) {
        self.stelselnode.publish(list, xml.into());
        self.trace.step(
            Actor::Stelselnode,
            &[RuleId::Lists8],
            StepOutcome::Done,
            format!("published a new {list:?}"),
        );
    }

    /// The XML of `list` as the Stelselnode publishes it now.
    pub fn published(&self, list: List) -> String {
        self.stelselnode.published(list)
    }

    /// Both gateways fetch their lists now (as they do every
    /// [`LIST_REFRESH_INTERVAL`]). Returns the first failure (the version in force
    /// stays: LISTS-7, LISTS-9); both gateways are tried.
    pub async fn refresh_lists(&self) -> Result<(), DemoError> {
        let za = self.za.refresh_lists().await;
        let pgo = self.pgo.refresh_lists().await;
        za.and(pgo)
    }

    /// The Volgnummer of the list in force at the gateway that fetches it (the PGO
    /// GW for the ZAL and the GNL, the ZA GW for the OCL and the WHL).
    pub fn volgnummer_in_force(&self, list: List) -> Option<String> {
        match list {
            List::Zal => self.pgo.lists().volgnummer(list),
            _ => self.za.lists().volgnummer(list),
        }
    }

    /// The Volgnummer of `list` in force at the ZA GW (it fetches all four: the ZAL
    /// for what it serves, MedMij LISTS-13).
    pub fn za_volgnummer_in_force(&self, list: List) -> Option<String> {
        self.za.lists().volgnummer(list)
    }

    /// Only the ZA GW fetches its lists now (the PGO GW keeps its versions).
    pub async fn refresh_za_lists(&self) -> Result<(), DemoError> {
        self.za.refresh_lists().await
    }

    /// Only the PGO GW fetches its lists now (the ZA GW keeps its versions).
    pub async fn refresh_pgo_lists(&self) -> Result<(), DemoError> {
        self.pgo.refresh_lists().await
    }

    /// MedMij Beheer publishes Whitelist version 2 without the ZA GW, and only the
    /// PGO GW fetches it (LISTS-8): from its next request on (on a pooled
    /// connection too), the PGO GW refuses the ZA GW as a server (TLS-4).
    pub async fn drop_za_from_pgo_whitelist(&self) -> Result<(), DemoError> {
        let xml = lists::whitelist_xml(&[STELSELNODE_HOST, PGO_HOST], "2")?;
        self.stelselnode.publish(List::Whl, xml);
        self.trace.step(
            Actor::Stelselnode,
            &[RuleId::Lists6, RuleId::Lists8],
            StepOutcome::Done,
            format!("published Whitelist version 2 without {ZA_HOST}"),
        );
        self.pgo.refresh_lists().await
    }

    /// Both gateways end the flows the person left for longer than [`FLOW_TIMEOUT`]
    /// (each does so by itself every [`FLOW_SWEEP_INTERVAL`]); returns how many
    /// ended at the ZA GW and at the PGO GW.
    pub async fn expire_flows(&self) -> Result<(usize, usize), DemoError> {
        Ok((
            self.za.expire_flows().await?,
            self.pgo.expire_flows(&self.v2.gateway).await,
        ))
    }

    /// Sets how many flows may wait for a person at the ZA GW at once (default
    /// [`MAX_PENDING_FLOWS`]); beyond it the authorization endpoint answers 503.
    pub fn limit_pending_flows(&self, n: usize) {
        self.za.limit_pending_flows(n);
    }

    /// Moves the PGO GW's clock forward by `by`.
    pub fn advance_pgo_clock(&self, by: Duration) {
        self.pgo.advance_clock(by);
        self.trace.step(
            Actor::PgoGw,
            &[],
            StepOutcome::Done,
            format!("clock moved {} s forward", by.as_secs()),
        );
    }

    /// The number of authorizations at the PGO GW waiting for the person to come
    /// back.
    pub fn pgo_pending_flows(&self) -> usize {
        self.pgo.pending_flows()
    }

    /// The number of flows at the ZA GW waiting for the person (at the DigiD
    /// stand-in or on the consent screen).
    pub fn pending_flows(&self) -> usize {
        self.za.pending_flows()
    }

    /// Whether the dossier item still matches its provenance digest (MedMij CONSENT-4),
    /// with the provenance as text.
    pub fn dossier_item(&self, id: &str) -> Result<(bool, String), DemoError> {
        self.pgo.dossier_item(id)
    }

    /// The test person's decisions in the ZA GW's consent evidence ledger (MedMij
    /// CONSENT-5), from a verified read: decision, scope and text version of each.
    pub fn za_evidence(&self) -> Result<Vec<medmij_consent::evidence::EvidenceRecord>, DemoError> {
        self.za.evidence_of(za_gw::TestDigidStandIn::PERSON)
    }

    /// Verifies the ZA GW's whole consent evidence ledger (MedMij CONSENT-5);
    /// returns the number of records.
    pub fn verify_za_evidence(&self) -> Result<u64, DemoError> {
        self.za.verify_evidence()
    }

    /// The test person's consent evidence as a signed export (MedMij CONSENT-5),
    /// with the DVZA's public key to verify it with.
    pub fn export_za_evidence(&self) -> Result<(String, ed25519_dalek::VerifyingKey), DemoError> {
        self.za.export_evidence(za_gw::TestDigidStandIn::PERSON)
    }

    /// Moves the person's dossier from the PGO GW to a second PGO (MedMij CONSENT-7):
    /// the PGO GW exports it (content, provenance, placements), the second PGO imports
    /// it and checks every item against the digest recorded at the first receipt
    /// (CONSENT-4). With `tamper`, the content of that item is changed in the export
    /// on the way (to show that the import flags it); the second PGO then keeps what
    /// it had. A refused import is logged (LOG-1) and returned as an error.
    pub async fn move_dossier(&self, tamper: Option<&str>) -> Result<DossierMove, DemoError> {
        let mut json = self.pgo.export_dossier();
        self.trace.step(
            Actor::PgoGw,
            &[RuleId::Consent7],
            StepOutcome::Done,
            format!(
                "dossier exported (content, provenance, placements; {} bytes)",
                json.len()
            ),
        );
        if let Some(item) = tamper {
            json = tamper_export(&json, item)?;
            self.trace.step(
                Actor::Demo,
                &[RuleId::Consent7],
                StepOutcome::Done,
                format!("the export is changed on the way: content of {item}"),
            );
        }
        self.import_at_second_pgo(&json, tamper.is_none()).await
    }

    /// The second PGO imports a dossier export (MedMij CONSENT-7); with `keep` its
    /// dossier becomes the imported one. A document that is no valid export is
    /// refused, logged (LOG-1) and returned as an error.
    pub async fn import_at_second_pgo(
        &self,
        json: &str,
        keep: bool,
    ) -> Result<DossierMove, DemoError> {
        let report = match medmij_consent::portability::DossierExport::from_json(json.as_bytes())
            .and_then(|e| medmij_consent::portability::import(&e))
        {
            Ok(r) => r,
            Err(e) => {
                self.pgo
                    .log()
                    .record(audit::Entry {
                        event_type: "dossier.import",
                        action: medmij_log::Action::Create,
                        actor: ("second-pgo".into(), medmij_log::ActorKind::System),
                        subject: None,
                        object: medmij_log::Object::new(
                            "dossier-export",
                            format!("{} bytes", json.len()),
                        ),
                        outcome: medmij_log::Outcome::Refused,
                        detail: Some(e.to_string()),
                    })
                    .await?;
                self.trace.step(
                    Actor::SecondPgo,
                    &[RuleId::Consent7, RuleId::Log1],
                    StepOutcome::Refused,
                    format!("import REFUSED: {e}; logged"),
                );
                return Err(e.into());
            }
        };
        let items: Vec<MovedItem> = report
            .items
            .iter()
            .filter_map(|(id, integrity)| {
                let item = report.dossier.item(id)?;
                let p = item.provenance();
                Some(MovedItem {
                    item: id.to_string(),
                    bron: p.bron.to_string(),
                    gegevensdienst: p.gegevensdienst.to_string(),
                    unchanged: *integrity == medmij_consent::Integrity::Unchanged,
                })
            })
            .collect();
        let placements: Vec<String> = report
            .dossier
            .placements()
            .iter()
            .map(|p| {
                format!(
                    "{} placed with {} ({}) at {}",
                    p.item,
                    p.lezer,
                    p.gegevensdienst,
                    medmij_log::format_time(p.placed_at)
                )
            })
            .collect();
        for i in &items {
            self.trace.step(
                Actor::SecondPgo,
                &[RuleId::Consent7, RuleId::Consent4],
                StepOutcome::Done,
                format!(
                    "item {} from {} ({}) via MedMij: {}",
                    i.item,
                    i.bron,
                    i.gegevensdienst,
                    if i.unchanged {
                        "unchanged since receipt"
                    } else {
                        "CHANGED since receipt (flagged)"
                    }
                ),
            );
        }
        if keep {
            *self.second_pgo.lock().unwrap_or_else(|e| e.into_inner()) = report.dossier;
        }
        Ok(DossierMove {
            items,
            placements,
            bytes: json.len(),
        })
    }

    /// The number of items in the second PGO's dossier (MedMij CONSENT-7).
    pub fn second_pgo_items(&self) -> usize {
        self.second_pgo
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .items()
            .count()
    }

    /// Verifies both NEN 7513 logs (MedMij LOG-1), once every event reported so far
    /// is written; returns the number of events in the ZA GW log and in the PGO GW
    /// log.
    pub async fn verify_logs(&self) -> Result<(u64, u64), DemoError> {
        self.za.settle_log().await;
        self.pgo.flush_anonymous(true).await;
        Ok((self.za.log().verify()?, self.pgo.log().verify()?))
    }

    /// The event types in the ZA GW log, in order (once every event reported so far
    /// is written).
    pub async fn za_log_event_types(&self) -> Result<Vec<String>, DemoError> {
        self.za.settle_log().await;
        self.za.log().event_types()
    }

    /// The event types in the PGO GW log, in order.
    pub async fn pgo_log_event_types(&self) -> Result<Vec<String>, DemoError> {
        self.pgo.flush_anonymous(true).await;
        self.pgo.log().event_types()
    }

    /// The entries of the ZA GW log, in order (once every event reported so far is
    /// written, anonymous refusals counted so far included).
    pub async fn za_log(&self) -> Result<Vec<LogLine>, DemoError> {
        self.za.settle_log().await;
        self.za.log().events()
    }

    /// The entries of the ZA GW log written so far, in order, without writing the
    /// counts of anonymous refusals whose window is still open.
    pub fn za_log_written(&self) -> Result<Vec<LogLine>, DemoError> {
        self.za.log().events()
    }

    /// The entries of the PGO GW log, in order (anonymous refusals counted so far
    /// included).
    pub async fn pgo_log(&self) -> Result<Vec<LogLine>, DemoError> {
        self.pgo.flush_anonymous(true).await;
        self.pgo.log().events()
    }

    /// Where the logs (and the files written by [`Network::write_root_pem`] and
    /// [`Network::write_pgo_credentials`]) are. A temporary directory: removed when
    /// the network is dropped, unless [`Network::keep_dir`] says otherwise.
    pub fn log_dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// Whether [`Network::log_dir`] stays when the network is dropped (default:
    /// it is removed).
    pub fn keep_dir(&self, keep: bool) {
        self.keep_dir
            .store(keep, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Changes one character of the content of `item` in a dossier export (still valid
/// base64, different content): the demo's tampering on the way (MedMij CONSENT-7).
fn tamper_export(json: &str, item: &str) -> Result<String, DemoError> {
    let mut doc: serde_json::Value = serde_json::from_str(json)?;
    let items = doc["items"].as_array_mut().ok_or("export without items")?;
    let e = items
        .iter_mut()
        .find(|e| e["provenance"]["item"] == item)
        .ok_or("no such item in the export")?;
    let content = e["content_base64"]
        .as_str()
        .ok_or("item without content")?
        .to_owned();
    let mut bytes = content.into_bytes();
    let i = bytes.len() / 2;
    let b = bytes.get_mut(i).ok_or("empty content")?;
    *b = if *b == b'A' { b'B' } else { b'A' };
    e["content_base64"] = serde_json::Value::String(String::from_utf8(bytes)?);
    Ok(doc.to_string())
}
