//! Release 2.x in the demo network ("Releases, side by side"): a second
//! Zorgaanbieder whose ZA GW is medmij-oauth's axum [`ZaGateway`] (not hand-written
//! handlers), listed only in the ZAL release3 (MedMij LISTS-15) with a 2.x
//! Interfaceversie, and the PGO GW's 2.x side: the [`PgoHost`] parts for 2.x grants
//! ([`DemoPgoHost`]: the release3 ZAL per (Zorgaanbieder, Gegevensdienst), the FHIR Bundle
//! read over the demo's mutual-TLS back channel and stored in the same dossier with
//! provenance, the refresh-token vault). The PGO GW runs one medmij-oauth
//! [`PgoGateway`](medmij_oauth::adapter::PgoGateway) for both release lines (see
//! `pgo_gw.rs`). Both gateways write their chain-monitoring events
//! (MedMij LOG-6) as JSON lines, matched by correlation id in [`match_chain`].
//!
//! The host implementations come from [`crate::embed`]: [`ConsentScreens`]
//! (medmij-consent's 2.x screen with the indefinite period, CONSENT-6) and
//! [`LogAudit`] (LOG-1, LOG-6).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;
use medmij_lists::{ListStore, Refresher, Zorgaanbiederslijst};
use medmij_log::{ChainEvent, SubjectId};
use medmij_oauth::adapter::{
    AuditEvent, AuditSink, Authenticator, ChainActor, ChainStep, ChainStepKind, Clock, Counterpart,
    DataAvailability, DefaultPages, Endpoint, FhirBackend, FhirReply, FlowInfo, HostAnswer,
    HostError, HostPage, HostRequest, ManagementInfo, MtlsClient, PgoHost, ZaGateway, ZaHooks,
    ZaSettings,
};
use medmij_oauth::{
    AccessGrant, AsyncAuthorizationServer, Authentication, AuthorizationServer, ClientId,
    FlowLimits, GrantV2, HttpResponse, MemoryFlowStore, MemoryStore, MemoryVault, PendingFlows,
    RefreshToken, RefreshTokenVault, ReleaseLine, ResourceAccess, Scope, ScopeGegevensdienstId,
    ServerConfig, Subject, UseCase, VaultKey, Zorgaanbiedernaam,
};
use medmij_types::RuleId;

use super::lists::StelselnodeSource;
use super::net::{self, PeerAddr, PeerNames};
use super::trace::{Actor, StepOutcome, Trace};
use super::{DemoError, GEGEVENSDIENST, PGO_HOST, SYSTEEMROL};
use crate::embed::{ConsentScreens, LogAudit, open_audit};

/// Hostname of the second Zorgaanbieder's gateway, which speaks release 2.x.
pub const ZA2_HOST: &str = "za-gw.kliniek2x-demo.nl";
/// The second Zorgaanbieder (a valid Zorgaanbiedernaam, MedMij LISTS-1), listed in the
/// ZAL release3 only, with a 2.x Interfaceversie (LISTS-15).
pub const ZORGAANBIEDER_2X: &str = "kliniektwee@medmij";
/// Its Gegevensdienst (Medicatieoverzicht, as the first Zorgaanbieder's).
pub const GEGEVENSDIENST_2X: &str = GEGEVENSDIENST;
/// The Interfaceversie the release3 ZAL lists for `umcdemo@medmij` (release line 1.x).
pub const INTERFACEVERSIE_1X: &str = "1.6.0";
/// The Interfaceversie the release3 ZAL lists for [`ZORGAANBIEDER_2X`] (release line 2.x).
pub const INTERFACEVERSIE_2X: &str = "2.2.0";
/// A second mount point of the PGO GW's one flow router (earlier links to the 2.x side
/// went here): `/v2/start` is `/start`; the release line comes from the ZAL either way.
pub const V2_MOUNT: &str = "/v2";
/// The Stelselnode's path of the ZAL release3 (next to `/zal`, the release2 ZAL).
pub const ZAL_RELEASE3_PATH: &str = "zal-release3";
/// The person reference the scripted browser's PGO session carries for the 2.x flows
/// (the PGO's own reference, never a BSN: MedMij OAUTH-16).
pub(crate) const V2_PERSON: &str = "persoon-2x";
/// The name of the PGO's session cookie (the same as the 1.x side's).
pub(crate) const PGO_SESSION: &str = "pgo_session";

/// The scope as the PGO names a (Zorgaanbieder, Gegevensdienst) at its start and collect
/// endpoints; the adapter sends the 2.x form (`kliniektwee`, OAUTH-20) on the wire.
pub fn v2_scope() -> String {
    let naam = ZORGAANBIEDER_2X.trim_end_matches("@medmij");
    format!("{naam}~{GEGEVENSDIENST_2X}")
}

/// The PGO GW's start link for the 2.x Zorgaanbieder's Gegevensdienst (the same `/start`
/// as for 1.x: the release line comes from the ZAL release3, MedMij LISTS-15).
pub(crate) fn v2_start_path() -> String {
    format!("/start?zorgaanbieder={ZORGAANBIEDER_2X}&gegevensdienst={GEGEVENSDIENST_2X}")
}

/// A clock shared by the 2.x gateways that the demo moves forward (to let an access token
/// lapse after 900 s without waiting, MedMij OAUTH-7, OAUTH-19).
#[derive(Clone, Default)]
pub(crate) struct V2Clock(Arc<AtomicU64>);

impl V2Clock {
    fn clock(&self) -> Clock {
        let offset = self.0.clone();
        Clock::new(move || SystemTime::now() + Duration::from_secs(offset.load(Ordering::SeqCst)))
    }
    /// How far the demo moved this clock.
    pub(crate) fn offset(&self) -> Duration {
        Duration::from_secs(self.0.load(Ordering::SeqCst))
    }
    pub(crate) fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_secs(), Ordering::SeqCst);
    }
}

/// An [`AuditSink`] shared between the adapter and the host (the host emits the resource
/// steps of LOG-6 itself: it makes the resource requests). Every audit event (LOG-1)
/// also becomes a typed trace step of `actor` with the rules of its endpoint.
#[derive(Clone)]
pub(crate) struct SharedAudit {
    pub(crate) log: Arc<LogAudit>,
    pub(crate) trace: Arc<Trace>,
    pub(crate) actor: Actor,
}

/// The rules an adapter endpoint's audit event is about.
fn endpoint_rules(e: Endpoint) -> &'static [RuleId] {
    match e {
        Endpoint::Authorize => &[RuleId::Oauth4, RuleId::Oauth20, RuleId::Oauth21],
        Endpoint::Login => &[RuleId::Oauth18],
        Endpoint::Consent => &[RuleId::Consent6, RuleId::Oauth19, RuleId::Consent3],
        Endpoint::Token => &[RuleId::Oauth7, RuleId::Oauth19, RuleId::Oauth21],
        Endpoint::Resource => &[RuleId::Oauth2, RuleId::Oauth21],
        Endpoint::Start => &[RuleId::Oauth10, RuleId::Lists15, RuleId::Oauth21],
        Endpoint::Redirect => &[RuleId::Oauth10, RuleId::Oauth3, RuleId::Oauth19],
        Endpoint::ConsentManagement => &[RuleId::Oauth22],
        Endpoint::Collect => &[RuleId::Oauth19, RuleId::Oauth21],
        // An endpoint of a later adapter version: logged under LOG-1 only.
        _ => &[RuleId::Log1],
    }
}

impl SharedAudit {
    /// The typed trace step of an audit event (without writing it to the log).
    pub(crate) fn trace_event(&self, event: &AuditEvent) {
        let outcome = match (event.success, event.case) {
            (true, _) => StepOutcome::Done,
            (false, Some(n)) => StepOutcome::Case(n),
            (false, None) => StepOutcome::Refused,
        };
        let session = event
            .trace
            .as_ref()
            .map(|t| format!(" [X-Correlation-ID {}]", t.correlation_id))
            .unwrap_or_default();
        self.trace.step(
            self.actor,
            endpoint_rules(event.endpoint),
            outcome,
            format!("{:?}: {}{session}", event.endpoint, event.detail),
        );
    }
}

impl AuditSink for SharedAudit {
    async fn record(&self, event: AuditEvent) {
        self.trace_event(&event);
        self.log.record(event).await
    }
    async fn chain(&self, step: ChainStep) {
        self.log.chain(step).await
    }
}

// ---------------------------------------------------------------------------
// The 2.x ZA GW: medmij-oauth's ZaGateway with the demo's host implementations.
// ---------------------------------------------------------------------------

/// The TEST DigiD stand-in of the 2.x ZA GW (MedMij OAUTH-18; not DigiD): a form that
/// posts the person's local reference back to the callback, for a flow and for a
/// consent-management visit (OAUTH-22).
struct StandIn {
    trace: Arc<Trace>,
}

/// The stand-in's login page as the adapter sends it: with [`crate::embed::own_page_headers`]
/// (forms to this gateway and to `redirect_uri`'s origin, when given).
fn login_answer(callback: &str, title: &str, redirect_uri: Option<&str>) -> HostAnswer {
    HostAnswer::Page(HostPage {
        html: login_html(callback, title),
        headers: crate::embed::own_page_headers(redirect_uri),
    })
}

fn login_page(callback: &str, title: &str) -> HttpResponse {
    HttpResponse::page(200, login_html(callback, title))
}

fn login_html(callback: &str, title: &str) -> String {
    let e = medmij_consent::escape_html;
    format!(
        "<!doctype html><html lang=\"nl\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         </head><body><h1>TEST DigiD stand-in (geen DigiD)</h1><form method=\"post\" \
         action=\"{}\"><input name=\"person\" value=\"patient-2x\"><button>Inloggen</button>\
         </form></body></html>",
        e(callback)
    )
}

fn person_of(r: &HostRequest) -> Authentication {
    let person = form_urlencoded::parse(r.body.as_bytes()).find(|(k, _)| k == "person");
    match person.map(|(_, p)| Subject::new(p.into_owned())) {
        Some(Ok(s)) => Authentication::Established(s),
        _ => Authentication::Failed,
    }
}

impl Authenticator for StandIn {
    async fn start(&self, _: &FlowInfo, callback: &str) -> HttpResponse {
        login_page(callback, "Inloggen")
    }
    async fn start_answer(&self, flow: &FlowInfo, callback: &str) -> HostAnswer {
        login_answer(callback, "Inloggen", Some(&flow.redirect_uri))
    }
    async fn complete(&self, _: &FlowInfo, r: &HostRequest) -> Authentication {
        let a = person_of(r);
        self.trace.step(
            Actor::DigidStandIn,
            &[RuleId::Oauth18],
            StepOutcome::Done,
            format!("identity established for the 2.x ZA GW ({ZA2_HOST})"),
        );
        a
    }
    async fn start_management(&self, _: &ManagementInfo, callback: &str) -> Option<HttpResponse> {
        Some(login_page(callback, "Toestemmingen beheren"))
    }
    /// The visit names no redirect URI: forms are not restricted (a failed login goes back
    /// to the PGO).
    async fn start_management_answer(
        &self,
        _: &ManagementInfo,
        callback: &str,
    ) -> Option<HostAnswer> {
        Some(login_answer(callback, "Toestemmingen beheren", None))
    }
    async fn complete_management(&self, _: &ManagementInfo, r: &HostRequest) -> Authentication {
        let a = person_of(r);
        self.trace.step(
            Actor::DigidStandIn,
            &[RuleId::Oauth18, RuleId::Oauth22],
            StepOutcome::Done,
            "identity established for consent management at the 2.x ZA GW",
        );
        a
    }
}

/// The person has data here (a real ZA GW asks its EHR; OAUTH-11).
struct HasData;
impl DataAvailability for HasData {
    async fn available(&self, _: &Subject, _: &FlowInfo) -> Result<bool, HostError> {
        Ok(true)
    }
}

/// The FHIR back end: `/fhir/4/MedicationStatement` is Gegevensdienst 4 of
/// [`ZORGAANBIEDER_2X`] (read only; no BSN in it, OAUTH-16).
struct Fhir2 {
    trace: Arc<Trace>,
}
impl FhirBackend for Fhir2 {
    fn target(&self, path: &str) -> Option<(Zorgaanbiedernaam, ScopeGegevensdienstId)> {
        let gd = ScopeGegevensdienstId::new(path.split('/').next()?).ok()?;
        Some((Zorgaanbiedernaam::new(ZORGAANBIEDER_2X).ok()?, gd))
    }
    async fn read(&self, a: &ResourceAccess, path: &str, _: &str) -> Result<FhirReply, HostError> {
        let body = serde_json::json!({
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{ "resource": {
                "resourceType": "MedicationStatement",
                "status": "active",
                "medicationCodeableConcept": { "text": "paracetamol 500 mg" },
                "note": [{ "text": format!("{ZORGAANBIEDER_2X}, {path}") }]
            }}]
        })
        .to_string();
        self.trace.step(
            Actor::ZaGw2x,
            &[RuleId::Oauth2, RuleId::Oauth20, RuleId::Oauth21],
            StepOutcome::Done,
            format!("FHIR read {path} for scope {}: Bundle sent", a.scope),
        );
        Ok(FhirReply { status: 200, body })
    }
    async fn write(&self, _: &ResourceAccess, _: &str, _: &str) -> Result<FhirReply, HostError> {
        Err(HostError("this ZA GW offers no Delen".into()))
    }
}

/// Where the 2.x ZA GW's chain events (LOG-6) are written, in the network's directory.
pub(crate) fn za2_chain_path(dir: &Path) -> PathBuf {
    dir.join("za2-gw.audit.chain.jsonl")
}

/// Where the PGO GW's 2.x chain events (LOG-6) are written.
pub(crate) fn pgo2_chain_path(dir: &Path) -> PathBuf {
    dir.join("pgo-gw-v2.audit.chain.jsonl")
}

/// The 2.x ZA GW's router: medmij-oauth's [`ZaGateway`] on memory stores, the OCL's
/// client (the demo PGO GW), the demo's stand-in, medmij-consent's screens and a
/// hash-chained audit log with chain events; the demo's TLS layer's peer name and address
/// become the adapter's [`MtlsClient`] and `ConnectInfo`.
pub(crate) fn za2_router(
    dir: &Path,
    ocl: Arc<ListStore<medmij_lists::OAuthclientlist>>,
    clock: &V2Clock,
    trace: &Arc<Trace>,
) -> Result<(Router, Arc<LogAudit>), DemoError> {
    let limits = FlowLimits::default();
    let naam = Zorgaanbiedernaam::new(ZORGAANBIEDER_2X)?;
    let log = Arc::new(open_audit(
        dir.join("za2-gw.audit.jsonl"),
        [11; 32],
        ZA2_HOST,
    )?);
    let config = ServerConfig::new().offer(
        naam,
        ScopeGegevensdienstId::new(GEGEVENSDIENST_2X)?,
        UseCase::Verzamelen,
    );
    let ocl = Za2Ocl(ocl);
    let server =
        AsyncAuthorizationServer::new(AuthorizationServer::new(config, ocl, MemoryStore::new()));
    let hooks = ZaHooks {
        authenticator: StandIn {
            trace: trace.clone(),
        },
        data: HasData,
        consent: ConsentScreens {
            aanbieder: "Kliniek Twee".into(),
            gegevensdienst: super::lists::GEGEVENSDIENST_NAAM.into(),
        },
        fhir: Fhir2 {
            trace: trace.clone(),
        },
        audit: SharedAudit {
            log: log.clone(),
            trace: trace.clone(),
            actor: Actor::ZaGw2x,
        },
        pages: DefaultPages,
    };
    let flows = PendingFlows::new(MemoryFlowStore::new(limits), limits);
    let settings = ZaSettings {
        clock: clock.clock(),
        ..ZaSettings::default()
    };
    let gateway = ZaGateway::new(server, flows, hooks, settings);
    let router = gateway
        .router()
        .layer(axum::middleware::from_fn(adapter_extensions));
    Ok((router, log))
}

/// The OCL in force at the 2.x ZA GW as medmij-oauth's client registry (MedMij OAUTH-3,
/// LISTS-4): the release2 OCL names no Gegevensdiensten per client, so the offer decides.
struct Za2Ocl(Arc<ListStore<medmij_lists::OAuthclientlist>>);

impl medmij_oauth::ClientRegistry for Za2Ocl {
    fn is_listed(&self, client: &ClientId) -> bool {
        self.0
            .current()
            .is_some_and(|i| i.list().contains(client.as_str()))
    }
}

/// The demo's TLS layer's extensions as the adapter reads them: the mutual-TLS peer's name
/// as [`MtlsClient`] (MedMij OAUTH-3) and the source address as `ConnectInfo` (LOG-1).
pub(crate) async fn adapter_extensions(mut req: Request, next: Next) -> Response {
    let name = req
        .extensions()
        .get::<PeerNames>()
        .and_then(|p| p.first().map(str::to_owned));
    if let Some(Ok(id)) = name.map(|n| ClientId::new(n.as_str())) {
        req.extensions_mut().insert(MtlsClient(id));
    }
    if let Some(PeerAddr(addr)) = req.extensions().get::<PeerAddr>().cloned() {
        req.extensions_mut().insert(ConnectInfo(addr));
    }
    next.run(req).await
}

// ---------------------------------------------------------------------------
// The PGO GW's 2.x side: medmij-oauth's PgoGateway with the demo's host.
// ---------------------------------------------------------------------------

/// The PGO GW's refresh-token vault (MedMij OAUTH-19): medmij-oauth's in-memory vault (a
/// production PGO encrypts at rest), plus the demo's view of the rotation: how many
/// refresh tokens arrived so far and which were retired.
#[derive(Clone, Default)]
pub(crate) struct DemoVault {
    inner: Arc<MemoryVault>,
    /// Every refresh token put in, in order (to show rotation and, for
    /// `--refresh-replay`, to present a retired one).
    issued: Arc<Mutex<Vec<RefreshToken>>>,
}

impl RefreshTokenVault for DemoVault {
    type Error = std::convert::Infallible;
    fn put(&self, key: &VaultKey, token: &RefreshToken) -> Result<(), Self::Error> {
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(*token);
        self.inner.put(key, token)
    }
    fn take(&self, key: &VaultKey) -> Result<Option<RefreshToken>, Self::Error> {
        self.inner.take(key)
    }
}

fn vault_key() -> Result<VaultKey, DemoError> {
    Ok(VaultKey::new(
        V2_PERSON,
        Zorgaanbiedernaam::new(ZORGAANBIEDER_2X)?,
    ))
}

impl DemoVault {
    /// The refresh token kept now, left in place.
    pub(crate) fn current(&self) -> Option<RefreshToken> {
        let key = vault_key().ok()?;
        let t = self.inner.take(&key).ok()??;
        let _ = self.inner.put(&key, &t);
        Some(t)
    }
    /// How many refresh tokens arrived so far, and the number (1-based) of the one kept now.
    pub(crate) fn numbers(&self) -> (usize, Option<usize>) {
        let issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.current();
        let at = current.and_then(|c| issued.iter().rposition(|t| *t == c).map(|i| i + 1));
        (issued.len(), at)
    }
    /// The `n`th refresh token that arrived (1-based).
    pub(crate) fn issued(&self, n: usize) -> Option<RefreshToken> {
        let issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        n.checked_sub(1).and_then(|i| issued.get(i).copied())
    }
    /// Puts `token` back as the one to use (the demo's attacker presents a retired one).
    pub(crate) fn plant(&self, token: &RefreshToken) -> Result<(), DemoError> {
        let key = vault_key()?;
        let _ = self.inner.take(&key);
        let _ = self.inner.put(&key, token);
        Ok(())
    }
}

/// What the 2.x PGO host keeps of the last grant (for the demo's checks).
#[derive(Clone, Default)]
pub(crate) struct LastV2 {
    pub(crate) grant: Option<GrantV2>,
    pub(crate) item: Option<String>,
    pub(crate) manage: Option<String>,
    pub(crate) managed: bool,
}

/// The PGO GW's host for the adapter: the person from the PGO session cookie, the
/// counterpart's release line and endpoints from the release3 ZAL (LISTS-15), and the
/// grant's Bundle read over the back channel and stored in the dossier (CONSENT-4).
pub(crate) struct DemoPgoHost {
    pub(crate) zal3: Arc<ListStore<Zorgaanbiederslijst>>,
    pub(crate) back: Arc<net::BackClient>,
    pub(crate) pgo: Arc<super::pgo_gw::PgoGw>,
    pub(crate) audit: SharedAudit,
    pub(crate) trace: Arc<Trace>,
    pub(crate) last: Arc<Mutex<LastV2>>,
    pub(crate) reads: Arc<AtomicU64>,
}

impl DemoPgoHost {
    /// The counterpart of Gegevensdienst `gd` of `naam` in the release3 ZAL (the newest
    /// release line it lists, MedMij LISTS-15), without a trace step.
    pub(crate) fn lookup(&self, naam: &str, gd: &str) -> Option<Counterpart> {
        let zal = self.zal()?;
        let release = zal.list().release_lines(naam, gd).newest()?;
        let (_, g) = zal.list().gegevensdienst_in(naam, gd, release)?;
        Some(Counterpart {
            release,
            authorization_endpoint: g.authorization_endpoint()?.as_str().to_owned(),
            token_endpoint: g.token_endpoint()?.as_str().to_owned(),
        })
    }

    fn zal(&self) -> Option<Arc<medmij_lists::Installed<Zorgaanbiederslijst>>> {
        self.zal3.current()
    }

    fn chain_step(
        &self,
        kind: ChainStepKind,
        ids: &medmij_oauth::TraceIds,
        url: &str,
        scope: &Scope,
        status: Option<u16>,
    ) -> Result<ChainStep, DemoError> {
        Ok(ChainStep {
            at: SystemTime::now(),
            actor: ChainActor::PgoGateway,
            kind,
            success: status.is_none_or(|s| s == 200),
            trace: *ids,
            method: "GET",
            endpoint: url.split('?').next().unwrap_or(url).to_owned(),
            client_id: ClientId::new(PGO_HOST)?,
            grant_type: None,
            aanbieder: Some(scope.zorgaanbieder().clone()),
            gegevensdienst: scope.gegevensdiensten().first().cloned(),
            status,
            error: None,
            description: None,
        })
    }

    /// Reads the Bundle with the grant over the back channel (OAUTH-2, OAUTH-21) and stores
    /// it with provenance; the item id.
    async fn collect(&self, grant: &GrantV2) -> Result<String, DemoError> {
        let scope = &grant.access.scope;
        let naam = scope.zorgaanbieder().as_str().to_owned();
        let gd = GEGEVENSDIENST_2X;
        let zal = self.zal().ok_or("no ZAL release3")?;
        let ep = zal
            .list()
            .resource_endpoint_in(&naam, gd, ReleaseLine::V2, SYSTEEMROL)
            .ok_or("no 2.x resource endpoint on the ZAL release3")?;
        let url = format!("{}/MedicationStatement", ep.as_str());
        let ids = grant
            .trace
            .as_ref()
            .map(|t| t.next_request())
            .ok_or("a 2.x grant without tracing identifiers")?;
        let mut req = self
            .back
            .get(&url)
            .header("Authorization", grant.access.authorization_header())
            .header("Accept", "application/fhir+json");
        for (k, v) in ids.headers() {
            req = req.header(k, v);
        }
        let send = self.chain_step(ChainStepKind::SendResourceRequest, &ids, &url, scope, None)?;
        self.audit.chain(send).await;
        let resp = self.back.fetch(req).await?;
        let kind = if resp.status == 200 {
            ChainStepKind::ReceiveResourceResponse
        } else {
            ChainStepKind::ResourceResponseError
        };
        let got = self.chain_step(kind, &ids, &url, scope, Some(resp.status))?;
        self.audit.chain(got).await;
        self.trace.step(
            Actor::PgoGw,
            &[RuleId::Oauth2, RuleId::Oauth21, RuleId::Log6],
            if resp.status == 200 {
                StepOutcome::Done
            } else {
                StepOutcome::Refused
            },
            format!(
                "2.x resource request with MedMij-Request-ID and X-Correlation-ID {}: HTTP {}",
                ids.correlation_id, resp.status
            ),
        );
        if resp.status != 200 {
            return Err(format!("the 2.x resource endpoint answered HTTP {}", resp.status).into());
        }
        let bundle: serde_json::Value = serde_json::from_slice(&resp.body)?;
        if bundle["resourceType"] != "Bundle" {
            return Err("the resource endpoint did not return a FHIR Bundle".into());
        }
        medmij_oauth::fhir::check(&bundle)?;
        let n = self.reads.fetch_add(1, Ordering::SeqCst) + 1;
        let item_id = format!("bundle-2x-{n}");
        let flow = ids.correlation_id.to_string();
        let person = SubjectId::new(V2_PERSON, medmij_log::Domain::Pgo)?;
        let gnl_naam = self
            .pgo
            .store_v2(&naam, gd, &item_id, &resp.body, scope, &flow, person)
            .await?;
        self.trace.step(
            Actor::PgoGw,
            &[RuleId::Consent4, RuleId::Log1],
            StepOutcome::Done,
            format!("Bundle stored as {item_id} with provenance ({naam}, {gnl_naam}); logged"),
        );
        Ok(item_id)
    }
}

impl PgoHost for DemoPgoHost {
    async fn person(&self, headers: &axum::http::HeaderMap) -> Option<String> {
        net::cookie(headers, PGO_SESSION).map(str::to_owned)
    }

    fn endpoints(&self, scope: &Scope) -> Option<(String, String)> {
        let c = self.counterpart(scope)?;
        Some((c.authorization_endpoint, c.token_endpoint))
    }

    /// The release line per (Zorgaanbieder, Gegevensdienst) from the release3 ZAL: the
    /// newest line the ZAL lists that this PGO GW speaks (LISTS-15).
    fn counterpart(&self, scope: &Scope) -> Option<Counterpart> {
        let zal = self.zal()?;
        let naam = scope.zorgaanbieder().as_str();
        let gd = scope.gegevensdiensten().first()?.as_str().to_owned();
        let lines = zal.list().release_lines(naam, &gd);
        let release = lines.newest()?;
        let (v, g) = zal.list().gegevensdienst_in(naam, &gd, release)?;
        let c = Counterpart {
            release,
            authorization_endpoint: g.authorization_endpoint()?.as_str().to_owned(),
            token_endpoint: g.token_endpoint()?.as_str().to_owned(),
        };
        self.trace.step(
            Actor::PgoGw,
            &[RuleId::Lists15],
            StepOutcome::Done,
            format!(
                "ZAL release3: {naam} lists Gegevensdienst {gd} under Interfaceversie {}: \
                 speaks {release:?}",
                v.id().map(|i| i.as_str()).unwrap_or("-")
            ),
        );
        Some(c)
    }

    async fn granted(&self, _person: &str, _grant: AccessGrant) -> HttpResponse {
        HttpResponse::page(409, "granted_v2 handles every grant".into())
    }

    async fn granted_v2(
        &self,
        _person: &str,
        grant: GrantV2,
        manage: Option<String>,
    ) -> HttpResponse {
        self.trace.step(
            Actor::PgoGw,
            &[RuleId::Oauth19, RuleId::Oauth20],
            StepOutcome::Done,
            format!(
                "2.x access token for scope {:?} (900 s){}",
                grant.wire_scope,
                if grant.refresh_token.is_some() {
                    "; its refresh token stays in the grant (the vault refused it)"
                } else {
                    ""
                }
            ),
        );
        let item = self.collect(&grant).await;
        {
            let mut l = self.last.lock().unwrap_or_else(|e| e.into_inner());
            l.grant = Some(grant);
            l.manage = manage.clone();
            l.item = item.as_ref().ok().cloned();
        }
        let e = medmij_consent::escape_html;
        match item {
            Ok(id) => HttpResponse::page(
                200,
                format!(
                    "<!doctype html><html lang=\"nl\"><head><meta charset=\"utf-8\"><title>MijnPGO\
                     </title></head><body><p id=\"collected\">{}</p><p><a id=\"manage\" \
                     href=\"{}\">Toestemmingen aanpassen</a></p></body></html>",
                    e(&id),
                    e(manage.as_deref().unwrap_or(""))
                ),
            ),
            Err(err) => {
                self.trace.step(
                    Actor::PgoGw,
                    &[RuleId::Oauth2],
                    StepOutcome::Failed,
                    format!("2.x collection failed: {err}"),
                );
                HttpResponse::page(502, net::page("Fout", "Er ging iets mis.", None))
            }
        }
    }

    async fn managed(&self, _person: &str) -> HttpResponse {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).managed = true;
        self.trace.step(
            Actor::PgoGw,
            &[RuleId::Oauth22],
            StepOutcome::Done,
            "back from the ZA GW's consent management with the right state",
        );
        HttpResponse::page(
            200,
            net::page(
                "Toestemmingen",
                "Uw toestemmingen bij de zorgaanbieder zijn bijgewerkt.",
                None,
            ),
        )
    }
}

/// The PGO GW's audit log of its 2.x side (LOG-1) with its chain events (LOG-6).
pub(crate) fn pgo2_audit(dir: &Path, trace: &Arc<Trace>) -> Result<SharedAudit, DemoError> {
    Ok(SharedAudit {
        log: Arc::new(open_audit(
            dir.join("pgo-gw-v2.audit.jsonl"),
            [12; 32],
            PGO_HOST,
        )?),
        trace: trace.clone(),
        actor: Actor::PgoGw,
    })
}

// ---------------------------------------------------------------------------
// Chain monitoring (LOG-6): both gateways' events, matched by correlation id.
// ---------------------------------------------------------------------------

/// The events of one flow (one `X-Correlation-ID`) at both gateways.
#[derive(Debug, Clone, Default)]
pub struct ChainFlow {
    /// The PGO GW's events, in order.
    pub pgo: Vec<ChainEvent>,
    /// The ZA GW's events, in order.
    pub za: Vec<ChainEvent>,
}

impl ChainFlow {
    /// The PGO GW's events about a request to the ZA GW (every event but the resource
    /// response it read) that have no ZA GW event with the same `MedMij-Request-ID`: empty
    /// when every request has its counterpart.
    pub fn unmatched(&self) -> Vec<&ChainEvent> {
        use medmij_log::ChainEventType as T;
        self.pgo
            .iter()
            .filter(|e| {
                !matches!(
                    e.event_type,
                    T::ReceiveResourceResponse | T::ResourceResponseError
                )
            })
            .filter(|e| !self.za.iter().any(|z| z.trace_id == e.trace_id))
            .collect()
    }
}

/// Reads a JSON-lines chain-event file (an absent file is empty).
pub(crate) fn read_chain(path: &Path) -> Result<Vec<ChainEvent>, DemoError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| ChainEvent::from_json(l).map_err(|e| -> DemoError { e.to_string().into() }))
        .collect()
}

/// Both gateways' events grouped by `session_id` (= `X-Correlation-ID`, MedMij OAUTH-21).
pub fn match_chain(pgo: Vec<ChainEvent>, za: Vec<ChainEvent>) -> BTreeMap<String, ChainFlow> {
    let mut out: BTreeMap<String, ChainFlow> = BTreeMap::new();
    for e in pgo {
        out.entry(e.session_id.to_string()).or_default().pgo.push(e);
    }
    for e in za {
        out.entry(e.session_id.to_string()).or_default().za.push(e);
    }
    out
}

// ---------------------------------------------------------------------------
// The network's 2.x parts and what the demo does with them.
// ---------------------------------------------------------------------------

/// What the network keeps of the 2.x ZA GW: its lists (for their schedule) and its audit
/// log (to verify it, LOG-1).
pub(crate) struct Za2Node {
    pub(crate) lists: Arc<super::lists::Za2Lists>,
    pub(crate) log: Arc<LogAudit>,
}

/// The PGO GW's 2.x side as the network keeps it.
pub(crate) struct V2Parts {
    /// The PGO GW's flow router for both release lines (medmij-oauth's `PgoGateway`, see
    /// `pgo_gw::gateway_router`), at the root and under [`V2_MOUNT`].
    pub(crate) router: Router,
    /// The same gateway, for its sweep of abandoned flows (`PgoGw::expire_flows`).
    pub(crate) gateway: Arc<super::pgo_gw::DemoPgoGateway>,
    clock: V2Clock,
    vault: DemoVault,
    last: Arc<Mutex<LastV2>>,
    back: Arc<net::BackClient>,
    zal3: Arc<ListStore<Zorgaanbiederslijst>>,
    /// The PGO GW's refresher of the ZAL release3 (LISTS-8), run on the lists' schedule.
    pub(crate) zal3_refresh: Arc<Refresher<Zorgaanbiederslijst, StelselnodeSource>>,
    /// The 2.x ZA GW's audit log (LOG-1).
    za2_log: Arc<LogAudit>,
    /// The PGO GW's audit log of its 2.x side (LOG-1).
    pgo2_log: Arc<LogAudit>,
    /// The 2.x ZA GW's lists (kept alive for their schedule).
    _za2_lists: Arc<super::lists::Za2Lists>,
    /// The person's browser of the 2.x flows (one session throughout).
    person: Mutex<Option<Arc<super::browser::Person>>>,
}

impl V2Parts {
    /// Fetches the ZAL release3 (LISTS-15) for the PGO GW and builds its 2.x router.
    pub(crate) async fn start(
        dir: &Path,
        za2: Za2Node,
        clock: V2Clock,
        pgo: &Arc<super::pgo_gw::PgoGw>,
        fetcher: &super::lists::ListFetcher,
        back: net::BackClient,
        trace: &Arc<Trace>,
    ) -> Result<V2Parts, DemoError> {
        let zal3 = Arc::new(ListStore::new(medmij_lists::DirArchive::new(
            dir.join("pgo-gw.lists.release3"),
        )?));
        let refresher = fetcher.refresher(ZAL_RELEASE3_PATH, zal3.clone(), trace, Actor::PgoGw)?;
        refresher.refresh_now().await.map(|_| ())?;
        let zal3_refresh = Arc::new(refresher);
        let back = Arc::new(back);
        let vault = DemoVault::default();
        let last = Arc::new(Mutex::new(LastV2::default()));
        let audit = pgo2_audit(dir, trace)?;
        let audit2 = audit.clone();
        let pgo2_log = audit.log.clone();
        let host = DemoPgoHost {
            zal3: zal3.clone(),
            back: back.clone(),
            pgo: pgo.clone(),
            audit,
            trace: trace.clone(),
            last: last.clone(),
            reads: Arc::default(),
        };
        let (router, gateway) =
            super::pgo_gw::gateway_router(pgo, host, audit2, vault.clone(), &clock)?;
        Ok(V2Parts {
            router,
            gateway: Arc::new(gateway),
            clock,
            vault,
            last,
            back,
            zal3,
            zal3_refresh,
            za2_log: za2.log,
            pgo2_log,
            _za2_lists: za2.lists,
            person: Mutex::new(None),
        })
    }
}

/// The outcome of a 2.x step through the browser.
#[derive(Debug, Clone)]
pub struct V2Run {
    /// The dossier item stored, if the PGO GW collected.
    pub item: Option<String>,
    /// Whether the person went through a full flow (authentication and consent at the ZA
    /// GW): always for a first collection; for "collect again", when there was no refresh
    /// or it was refused (MedMij OAUTH-19).
    pub full_flow: bool,
    /// The HTTP status of the page the browser ended on.
    pub status: u16,
    /// That page's URL (without query).
    pub at: String,
}

impl super::Network {
    fn v2_person(&self, fresh: bool) -> Result<Arc<super::browser::Person>, DemoError> {
        let mut g = self.v2.person.lock().unwrap_or_else(|e| e.into_inner());
        if fresh || g.is_none() {
            let p = self.browser.fresh()?;
            p.set_cookie(PGO_HOST, &format!("{PGO_SESSION}={V2_PERSON}"))?;
            *g = Some(Arc::new(p));
        }
        g.clone().ok_or_else(|| "no browser".into())
    }

    /// Walks the ZA GW's pages from `page` (at `at`): the stand-in's login, then the consent
    /// screen (granted, with the indefinite period when `long_lasting`: CONSENT-6), back
    /// to the PGO GW.
    async fn v2_walk(
        &self,
        person: &super::browser::Person,
        mut page: net::Fetched,
        mut at: String,
        long_lasting: bool,
    ) -> Result<(net::Fetched, String), DemoError> {
        for _ in 0..3 {
            if !at.starts_with(&format!("https://{ZA2_HOST}/")) || page.status != 200 {
                break;
            }
            let body = page.body_str().to_owned();
            let action = crate::embed::form_action(&body).ok_or("a ZA GW page without a form")?;
            let target = url::Url::parse(&at)?.join(&action)?;
            let form = if body.contains("name=\"person\"") {
                "person=patient-2x".to_owned()
            } else {
                let flow = action.split("flow=").nth(1).ok_or("no flow id")?;
                let flow = flow.split('&').next().unwrap_or(flow);
                let mut f = format!("flow={flow}&csrf_token={flow}&decision=grant");
                if long_lasting {
                    f.push_str("&indefinite=yes");
                }
                f
            };
            (page, at) = person.navigate("POST", target.as_str(), Some(form)).await?;
        }
        Ok((page, at))
    }

    fn v2_outcome(&self, page: &net::Fetched, at: &str, full_flow: bool) -> V2Run {
        let item = (page.status == 200 && at.starts_with(&format!("https://{PGO_HOST}/")))
            .then(|| {
                self.v2
                    .last
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .item
                    .clone()
            })
            .flatten();
        V2Run {
            item,
            full_flow,
            status: page.status,
            at: at.split('?').next().unwrap_or(at).to_owned(),
        }
    }

    /// UCI Verzamelen over release 2.x from [`ZORGAANBIEDER_2X`] (a fresh browser): the PGO
    /// GW reads the release3 ZAL (LISTS-15), the person logs in and grants consent, for an
    /// indefinite period when `long_lasting` (CONSENT-6, OAUTH-19); the PGO GW redeems the
    /// code with the OAUTH-21 headers, reads the Bundle and stores it in the dossier.
    pub async fn verzamelen_v2(&self, long_lasting: bool) -> Result<V2Run, DemoError> {
        self.trace.mark();
        {
            let mut l = self.v2.last.lock().unwrap_or_else(|e| e.into_inner());
            l.item = None;
        }
        let person = self.v2_person(true)?;
        let start = format!("https://{PGO_HOST}{}", v2_start_path());
        let (page, at) = person.navigate("GET", &start, None).await?;
        let (page, at) = self.v2_walk(&person, page, at, long_lasting).await?;
        Ok(self.v2_outcome(&page, &at, true))
    }

    /// "Collect again" (MedMij OAUTH-19): the PGO GW refreshes on the back channel with the
    /// refresh token in its vault (rotation) and collects; on `invalid_grant` it falls back
    /// to a full flow, which the person walks when `complete` (else the run ends at the ZA
    /// GW's login page, `full_flow` set).
    pub async fn collect_again_v2(&self, complete: bool) -> Result<V2Run, DemoError> {
        self.trace.mark();
        {
            let mut l = self.v2.last.lock().unwrap_or_else(|e| e.into_inner());
            l.item = None;
        }
        let person = self.v2_person(false)?;
        let url = format!("https://{PGO_HOST}/collect?scope={}", v2_scope());
        let (page, at) = person.navigate("GET", &url, None).await?;
        let full_flow = at.starts_with(&format!("https://{ZA2_HOST}/"));
        let (page, at) = if full_flow && complete {
            self.v2_walk(&person, page, at, true).await?
        } else {
            (page, at)
        };
        Ok(self.v2_outcome(&page, &at, full_flow))
    }

    /// "Toestemmingen aanpassen" (MedMij OAUTH-22): the PGO GW sends the browser to the ZA
    /// GW's consent management; the person logs in, ticks every long-lasting consent and
    /// confirms the withdrawal; the ZA GW revokes the refresh-token chain and sends the
    /// person back with `state`. Returns how many consents the page listed and whether the
    /// PGO GW took the way back.
    pub async fn withdraw_v2(&self) -> Result<(usize, bool), DemoError> {
        self.trace.mark();
        let person = self.v2_person(false)?;
        let manage = self
            .v2
            .last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .manage
            .clone()
            .ok_or("no \"Toestemmingen aanpassen\" link yet")?;
        let url = format!("https://{PGO_HOST}{manage}");
        let (page, at) = person.navigate("GET", &url, None).await?;
        let body = page.body_str().to_owned();
        let action = crate::embed::form_action(&body).ok_or("no login form for management")?;
        let target = url::Url::parse(&at)?.join(&action)?;
        let (page, at) = person
            .navigate("POST", target.as_str(), Some("person=patient-2x".into()))
            .await?;
        let body = page.body_str().to_owned();
        let ids: Vec<String> = body
            .split("name=\"withdraw\" value=\"")
            .skip(1)
            .filter_map(|r| r.split('"').next().map(str::to_owned))
            .collect();
        let action = crate::embed::form_action(&body).ok_or("no consent-management form")?;
        let target = url::Url::parse(&at)?.join(&action)?;
        let mut form = form_urlencoded::Serializer::new(String::new());
        for id in &ids {
            form.append_pair("withdraw", id);
        }
        form.append_pair("confirm", "yes");
        let (page, _) = person
            .navigate("POST", target.as_str(), Some(form.finish()))
            .await?;
        let back = page.status == 200
            && self
                .v2
                .last
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .managed;
        Ok((ids.len(), back))
    }

    /// Moves the 2.x gateways' clock forward (past 900 s the access token lapses, MedMij
    /// OAUTH-7, OAUTH-19).
    pub fn advance_v2_clock(&self, by: Duration) {
        self.v2.clock.advance(by);
    }

    /// The refresh tokens the PGO GW received so far, and the number (1-based) of the one
    /// in its vault now (MedMij OAUTH-19: rotation retires the others).
    pub fn v2_refresh_tokens(&self) -> (usize, Option<usize>) {
        self.v2.vault.numbers()
    }

    /// A FHIR read with the last 2.x access token over the back channel (a new
    /// `MedMij-Request-ID` in the flow's `X-Correlation-ID`, OAUTH-21): the HTTP status.
    pub async fn v2_read_with_last_token(&self) -> Result<u16, DemoError> {
        let grant = self
            .v2
            .last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .grant
            .clone()
            .ok_or("no 2.x grant yet")?;
        let zal = self.v2.zal3.current().ok_or("no ZAL release3")?;
        let ep = zal
            .list()
            .resource_endpoint_in(
                ZORGAANBIEDER_2X,
                GEGEVENSDIENST_2X,
                ReleaseLine::V2,
                SYSTEEMROL,
            )
            .ok_or("no 2.x resource endpoint")?;
        let mut req = self
            .v2
            .back
            .get(format!("{}/MedicationStatement", ep.as_str()))
            .header("Authorization", grant.access.authorization_header());
        if let Some(t) = &grant.trace {
            for (k, v) in t.next_request().headers() {
                req = req.header(k, v);
            }
        }
        Ok(self.v2.back.fetch(req).await?.status)
    }

    /// Puts the `n`th refresh token the PGO GW received (1-based) back in its vault: with a
    /// retired one, the next "collect again" presents it, which is a breach (OAUTH-19).
    pub fn v2_present_refresh_token(&self, n: usize) -> Result<(), DemoError> {
        let t = self.v2.vault.issued(n).ok_or("no such refresh token")?;
        self.trace.step(
            Actor::Demo,
            &[RuleId::Oauth19],
            StepOutcome::Done,
            format!("refresh token #{n} (retired) planted in the PGO GW's vault, as an attacker would present it"),
        );
        self.v2.vault.plant(&t)
    }

    /// Verifies the 2.x gateways' hash-chained audit logs (MedMij LOG-1): the number of
    /// events of the 2.x ZA GW and of the PGO GW's 2.x side.
    pub fn verify_v2_logs(&self) -> Result<(u64, u64), DemoError> {
        let za = self.v2.za2_log.log.sink().verify()?;
        let pgo = self.v2.pgo2_log.log.sink().verify()?;
        Ok((za.events, pgo.events))
    }

    /// The ZAL release3 as the Stelselnode serves it (MedMij LISTS-15).
    pub fn published_zal_release3(&self) -> String {
        self.stelselnode.published_zal_release3()
    }

    /// Both gateways' chain events (LOG-6) of the 2.x flows so far, per correlation id.
    pub fn v2_chain(&self) -> Result<BTreeMap<String, ChainFlow>, DemoError> {
        let pgo = read_chain(&pgo2_chain_path(&self.dir))?;
        let za = read_chain(&za2_chain_path(&self.dir))?;
        Ok(match_chain(pgo, za))
    }
}
