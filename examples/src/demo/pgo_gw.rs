//! The PGO's gateway (PGO GW): medmij-oauth client, dossier with provenance
//! (medmij-consent), NEN 7513 log. An axum router for the person's browser; a
//! reqwest client with mutual TLS for the back channel.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::Router;
use axum::extract::{Extension, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;

use medmij_consent::{
    CollectedItem, ConsentKind, ConsentRecord, Dossier, FlowId, GegevensdienstNaam, Integrity,
    ItemId,
};
use medmij_log::{Action, ActorKind, Domain, Object, Outcome, SubjectId};
use medmij_oauth::{
    AccessGrant, Client, ClientId, PendingAuthorization, PersonMessage, Scope,
    ScopeGegevensdienstId, TokenRequest, Zorgaanbiedernaam,
};

use super::audit::{AuditLog, Entry};
use super::lists::PgoLists;
use super::net::{self, Fetched, PeerAddr};
use super::trace::{Actor, StepOutcome, Trace};
use super::{
    DelenRun, DemoError, GEGEVENSDIENST, GEGEVENSDIENST_DELEN, LEZER, PGO_HOST, ReplayRun,
    SYSTEEMROL, SYSTEEMROL_LEZER, VerzamelenRun, ZORGAANBIEDER,
};
use medmij_types::RuleId;

/// The PGO's own account id of the person (PGO domain: no BSN, MedMij LOG-4).
const PGO_ACCOUNT: &str = "pgo-account-demo-1";
/// The label of the link back to the PGO's home page on its plain pages.
const HOME: &str = "Naar MijnPGO Demo";

struct Pending {
    auth: PendingAuthorization,
    started: SystemTime,
    /// For UCI Delen: the dossier item to share.
    share: Option<String>,
    zorgaanbieder: String,
    gegevensdienst: String,
    /// Where `/start` or `/share` came from (counted per source, OAUTH-14).
    source: IpAddr,
}

/// The authorizations waiting for the person to come back, per browser session
/// (`pgo_session` cookie), newest first; bounded per session and in total
/// (MedMij OAUTH-14).
#[derive(Default)]
struct PendingTable {
    by_session: HashMap<String, VecDeque<Pending>>,
    total: usize,
    per_source: HashMap<IpAddr, usize>,
}

impl PendingTable {
    fn count_down(&mut self, source: IpAddr) {
        self.total -= 1;
        if let Some(n) = self.per_source.get_mut(&source) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_source.remove(&source);
            }
        }
    }

    /// Adds `p` for session `sid`; the session's oldest authorization goes when it
    /// already has `per_session`. Returns how many were pushed out.
    fn add(&mut self, sid: &str, p: Pending, per_session: usize) -> usize {
        *self.per_source.entry(p.source).or_default() += 1;
        self.total += 1;
        let list = self.by_session.entry(sid.to_owned()).or_default();
        list.push_front(p);
        let mut gone = Vec::new();
        while list.len() > per_session.max(1) {
            gone.extend(list.pop_back());
        }
        for p in &gone {
            self.count_down(p.source);
        }
        gone.len()
    }

    /// Takes the authorization of session `sid` whose `state` is `state`, or,
    /// when none matches, its newest (whose state check then fails, OAUTH-10).
    fn take(&mut self, sid: &str, state: Option<&str>) -> Option<Pending> {
        let list = self.by_session.get_mut(sid)?;
        let at = state
            .and_then(|st| list.iter().position(|p| p.auth.state().as_str() == st))
            .unwrap_or(0);
        let p = list.remove(at);
        if list.is_empty() {
            self.by_session.remove(sid);
        }
        if let Some(p) = &p {
            self.count_down(p.source);
        }
        p
    }

    /// Drops every authorization `old` says is too old; returns how many.
    fn retain(&mut self, keep: impl Fn(&Pending) -> bool) -> usize {
        let before = self.total;
        for list in self.by_session.values_mut() {
            list.retain(&keep);
        }
        self.by_session.retain(|_, l| !l.is_empty());
        self.total = self.by_session.values().map(VecDeque::len).sum();
        self.per_source.clear();
        for p in self.by_session.values().flatten() {
            *self.per_source.entry(p.source).or_default() += 1;
        }
        before - self.total
    }
}

/// Why `/start` or `/share` was refused before anyone was sent to log in.
struct StartRefusal {
    status: u16,
    title: &'static str,
    text: String,
}

impl StartRefusal {
    fn bad(text: impl Into<String>) -> Self {
        StartRefusal {
            status: 400,
            title: "Ongeldige aanvraag",
            text: text.into(),
        }
    }
    fn too_many(text: impl Into<String>) -> Self {
        StartRefusal {
            status: 429,
            title: "Even geduld",
            text: text.into(),
        }
    }
    fn busy(text: impl Into<String>) -> Self {
        StartRefusal {
            status: 503,
            title: "Even geduld",
            text: text.into(),
        }
    }
}

/// A redeemed code's token request, the grant, and the resource URL.
type Redeemed = (TokenRequest, AccessGrant, String);

pub(crate) struct PgoGw {
    client: Client,
    lists: PgoLists,
    /// The back-channel client: mutual TLS, pooled connections, the server
    /// re-checked before every request (MedMij TLS-4).
    back: net::BackClient,
    pending: Mutex<PendingTable>,
    /// See [`super::limits::MAX_PGO_PENDING_PER_SESSION`].
    max_per_session: usize,
    /// See [`super::limits::MAX_PGO_PENDING`].
    max_pending: usize,
    /// See [`super::limits::MAX_PGO_PENDING_PER_SOURCE`].
    max_per_source: usize,
    dossier: Mutex<Dossier>,
    log: AuditLog,
    trace: Arc<Trace>,
    /// Outcomes per browser session (`pgo_session` cookie).
    /// Outcomes are kept for [`super::FLOW_TIMEOUT`] for whoever asks (the
    /// scripted browser), then dropped.
    result: Mutex<HashMap<String, (SystemTime, VerzamelenRun)>>,
    delen_result: Mutex<HashMap<String, (SystemTime, DelenRun)>>,
    /// The last redeemed code's token request, the grant and the resource URL
    /// (kept only to show the replay of `--replay-code`).
    last: Mutex<Option<Redeemed>>,
    /// Demo switch: the PGO GW plays a non-conforming sender and puts a BSN in what it
    /// shares (to show the Lezer's refusal, MedMij OAUTH-16).
    share_with_bsn: std::sync::atomic::AtomicBool,
}

type R = Result<Response, DemoError>;

impl PgoGw {
    pub(crate) fn new(
        lists: PgoLists,
        back: net::BackClient,
        log: AuditLog,
        trace: Arc<Trace>,
        limits: &super::Limits,
    ) -> Result<Self, DemoError> {
        let client = Client::new(ClientId::new(PGO_HOST)?, &format!("https://{PGO_HOST}/cb"))?;
        Ok(PgoGw {
            client,
            lists,
            back,
            pending: Mutex::new(PendingTable::default()),
            max_per_session: limits.max_pgo_pending_per_session,
            max_pending: limits.max_pgo_pending,
            max_per_source: limits.max_pgo_pending_per_source,
            dossier: Mutex::new(Dossier::new()),
            log,
            trace,
            result: Mutex::new(HashMap::new()),
            delen_result: Mutex::new(HashMap::new()),
            last: Mutex::new(None),
            share_with_bsn: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// From now on the PGO GW puts a BSN in every Bundle it shares (a non-conforming
    /// sender, to show the Lezer's refusal; MedMij OAUTH-16).
    pub(crate) fn set_share_with_bsn(&self) {
        self.share_with_bsn
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Fetches the ZAL, GNL and WHL again (MedMij LISTS-8).
    pub(crate) async fn refresh_lists(&self) -> Result<(), DemoError> {
        self.lists.refresh().await
    }

    pub(crate) fn log(&self) -> &AuditLog {
        &self.log
    }

    /// The whole dossier (content, provenance, placements) as a CONSENT-7 export,
    /// as JSON.
    pub(crate) fn export_dossier(&self) -> String {
        let d = self.dossier.lock().unwrap_or_else(|e| e.into_inner());
        medmij_consent::portability::export(&d, self.now()).to_json()
    }

    pub(crate) fn take_result(&self, sid: &str) -> Option<VerzamelenRun> {
        self.result
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(sid)
            .map(|(_, r)| r)
    }

    pub(crate) fn take_delen_result(&self, sid: &str) -> Option<DelenRun> {
        self.delen_result
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(sid)
            .map(|(_, r)| r)
    }

    fn set_result(&self, sid: &str, run: VerzamelenRun) {
        let mut results = self.result.lock().unwrap_or_else(|e| e.into_inner());
        Self::bounded_insert(&mut results, sid, (self.now(), run), self.max_pending);
    }

    /// Inserts an outcome, first dropping the oldest ones when `max` are kept
    /// (bounded memory, OAUTH-14).
    fn bounded_insert<T>(
        map: &mut HashMap<String, (SystemTime, T)>,
        sid: &str,
        v: (SystemTime, T),
        max: usize,
    ) {
        while map.len() >= max.max(1) && !map.contains_key(sid) {
            let Some(oldest) = map
                .iter()
                .min_by_key(|(_, (t, _))| *t)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            map.remove(&oldest);
        }
        map.insert(sid.to_owned(), v);
    }

    /// Writes the counting entries of closed anonymous-refusal windows (all of
    /// them with `all`).
    pub(crate) async fn flush_anonymous(&self, all: bool) {
        if let Err(e) = self.log.flush_anonymous(all).await {
            self.trace.step(
                Actor::PgoGw,
                &[RuleId::Log1],
                StepOutcome::Failed,
                format!("logging refusal counts failed: {e}"),
            );
        }
    }

    /// The lists this gateway fetches.
    pub(crate) fn lists(&self) -> &PgoLists {
        &self.lists
    }

    /// This gateway's clock (the real one plus the demo offset).
    fn now(&self) -> SystemTime {
        self.lists.fetcher().now()
    }

    /// Moves this gateway's clock forward.
    pub(crate) fn advance_clock(&self, by: std::time::Duration) {
        self.lists.fetcher().advance_clock(by);
    }

    /// The number of authorizations waiting for the person to come back.
    pub(crate) fn pending_flows(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).total
    }

    /// Drops authorizations the person did not come back to within
    /// [`super::FLOW_TIMEOUT`] (their `state` can no longer be used, OAUTH-10), and
    /// outcomes nobody asked for. Returns how many authorizations ended.
    pub(crate) fn expire_flows(&self) -> usize {
        let now = self.now();
        let old = |t: &SystemTime| {
            now.duration_since(*t)
                .is_ok_and(|d| d >= super::FLOW_TIMEOUT)
        };
        let ended = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| !old(&p.started));
        self.result
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, (t, _)| !old(t));
        self.delen_result
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, (t, _)| !old(t));
        if ended > 0 {
            self.trace.step(
                Actor::PgoGw,
                &[RuleId::Oauth10],
                StepOutcome::Done,
                format!(
                    "{ended} authorization(s) the person did not come back to within {} s dropped",
                    super::FLOW_TIMEOUT.as_secs()
                ),
            );
        }
        ended
    }

    pub(crate) fn dossier_item(&self, id: &str) -> Result<(bool, String), DemoError> {
        let d = self.dossier.lock().unwrap_or_else(|e| e.into_inner());
        let id = ItemId::new(id)?;
        let item = d.item(&id).ok_or("no such dossier item")?;
        Ok((
            d.verify(&id)? == Integrity::Unchanged,
            format!("{:?}", item.provenance()),
        ))
    }

    /// The person's side: a start page, the start of UCI Verzamelen (`/start`) and
    /// of UCI Delen (`/share`), and the OAuth redirect URI (`/cb`).
    pub(crate) fn front_router(me: &Arc<Self>) -> Router {
        Router::new()
            .route("/", get(front_home))
            .route("/start", get(front_start))
            .route("/share", get(front_share))
            .route("/cb", get(front_callback))
            .with_state(me.clone())
    }

    fn failed(&self, sid: &str, e: &DemoError) -> Response {
        self.trace.step(
            Actor::PgoGw,
            &[],
            StepOutcome::Failed,
            format!("error: {e}"),
        );
        self.set_result(
            sid,
            VerzamelenRun {
                collected: None,
                token_obtained: false,
                error: Some(e.to_string()),
                error_description: None,
                message: "Er ging iets mis.".into(),
                final_page: String::new(),
                za_cookie: None,
            },
        );
        net::html(500, net::page("Fout", "Er ging iets mis.", Some(HOME)))
    }

    /// The redirect URI reached without an authorization this browser started
    /// (no session, a reload, or a forged link; OAUTH-10): HTTP 400, nothing
    /// redeemed.
    fn no_authorization() -> Response {
        net::html(
            400,
            net::page(
                "Geen lopende aanvraag",
                "Er loopt geen aanvraag vanuit deze browser. Begin opnieuw.",
                Some(HOME),
            ),
        )
    }

    /// Logs a callback without an authorization this browser started (anonymous,
    /// counted per source: MedMij LOG-1, OAUTH-14).
    async fn refuse_callback(&self, source: IpAddr) {
        self.trace.step(Actor::PgoGw, &[RuleId::Oauth10, RuleId::Log1], StepOutcome::Refused,
            format!("redirect URI reached from {source} without an authorization of this browser: refused"),
        );
        let entry = Entry {
            event_type: "oauth.callback.unknown",
            action: Action::Execute,
            actor: ("unknown".into(), ActorKind::User),
            subject: None,
            object: Object::new("front-channel-request", "/cb"),
            outcome: Outcome::Refused,
            detail: Some("no authorization of this browser is waiting".into()),
        };
        if let Err(e) = self.log.record_anonymous(entry, source).await {
            self.trace.step(
                Actor::PgoGw,
                &[RuleId::Log1],
                StepOutcome::Failed,
                format!("logging a refusal failed: {e}"),
            );
        }
    }

    /// The PGO's home page: what the person can do, as links.
    fn home(&self) -> Response {
        let collect =
            format!("/start?zorgaanbieder={ZORGAANBIEDER}&gegevensdienst={GEGEVENSDIENST}");
        let e = medmij_consent::escape_html;
        let bronnen: Vec<_> = [ZORGAANBIEDER, super::release2::ZORGAANBIEDER_2X]
            .iter()
            .filter_map(|n| medmij_consent::Zorgaanbiedernaam::new(n).ok())
            .collect();
        let d = self.dossier.lock().unwrap_or_else(|e| e.into_inner());
        let items: String = bronnen
            .iter()
            .flat_map(|b| d.collected_from(b))
            .take(20)
            .map(|it| {
                let id = it.provenance().item.as_str();
                format!(
                    "<li>{} &mdash; <a href=\"/share?zorgaanbieder={LEZER}&amp;gegevensdienst=\
                     {GEGEVENSDIENST_DELEN}&amp;item={}\">delen met {LEZER}</a></li>",
                    e(id),
                    e(id)
                )
            })
            .collect();
        let items = if items.is_empty() {
            "<p>Nog niets opgehaald.</p>".to_owned()
        } else {
            format!("<ul>{items}</ul>")
        };
        net::html(
            200,
            format!(
                "<!doctype html><html lang=\"nl\"><head><meta charset=\"utf-8\">\
                 <title>MijnPGO Demo</title></head><body><main><h1>MijnPGO Demo</h1>\
                 <p>Een persoonlijke gezondheidsomgeving van het MedMij-demonetwerk.</p>\
                 <p><a id=\"collect\" href=\"{collect}\">Haal uw Medicatieoverzicht op bij \
                 {ZORGAANBIEDER}</a></p><p><a id=\"collect-2x\" href=\"{collect_2x}\">Haal uw \
                 Medicatieoverzicht op bij {twee} (release 2.x, na een eerste ophaalactie \
                 hierboven)</a></p><h2>Uw dossier</h2>{items}</main></body></html>",
                collect_2x = e(&format!(
                    "{}/start?scope={}",
                    super::release2::V2_MOUNT,
                    super::release2::v2_scope()
                )),
                twee = super::release2::ZORGAANBIEDER_2X,
                collect = e(&collect)
            ),
        )
    }

    /// The person asks to collect a Gegevensdienst of a Zorgaanbieder (`/start`)
    /// or to share dossier item `item` with one (`/share`): look both up in the ZAL
    /// and send the browser to the authorization endpoint. Missing or unknown input
    /// is refused with a plain page (HTTP 400) and logged before anyone is sent to
    /// log in (MedMij OAUTH-12, LOG-1); never an HTTP 500.
    async fn start(
        &self,
        query: &str,
        headers: &HeaderMap,
        source: IpAddr,
        share: bool,
    ) -> Response {
        let route = if share { "/share" } else { "/start" };
        match self.try_start(query, headers, source, share) {
            Ok(r) => r,
            Err(refusal) => {
                self.trace.step(
                    Actor::PgoGw,
                    &[RuleId::Oauth12, RuleId::Log1],
                    StepOutcome::Refused,
                    format!(
                        "{route} from {source} refused (HTTP {}): {}",
                        refusal.status, refusal.text
                    ),
                );
                let entry = Entry {
                    event_type: if share {
                        "pgo.share.refused"
                    } else {
                        "pgo.start.refused"
                    },
                    action: Action::Execute,
                    actor: ("unknown".into(), ActorKind::User),
                    subject: None,
                    object: Object::new("front-channel-request", route),
                    outcome: Outcome::Refused,
                    detail: Some(refusal.text.clone()),
                };
                if let Err(e) = self.log.record_anonymous(entry, source).await {
                    self.trace.step(
                        Actor::PgoGw,
                        &[RuleId::Log1],
                        StepOutcome::Failed,
                        format!("logging a refusal failed: {e}"),
                    );
                }
                net::html(
                    refusal.status,
                    net::page(refusal.title, &refusal.text, Some(HOME)),
                )
            }
        }
    }

    fn try_start(
        &self,
        query: &str,
        headers: &HeaderMap,
        source: IpAddr,
        share: bool,
    ) -> Result<Response, StartRefusal> {
        let mut za = None;
        let mut gd = None;
        let mut item = None;
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            // OAUTH-3: a parameter with an empty value counts as omitted.
            if v.is_empty() {
                continue;
            }
            match &*k {
                "item" if share => item = Some(v.into_owned()),
                "zorgaanbieder" => za = Some(v.into_owned()),
                "gegevensdienst" => gd = Some(v.into_owned()),
                _ => {}
            }
        }
        let za = za.ok_or_else(|| StartRefusal::bad("Er is geen zorgaanbieder gekozen."))?;
        let gd = gd.ok_or_else(|| StartRefusal::bad("Er is geen gegevensdienst gekozen."))?;
        // UCI Delen: the item must be in the dossier before anyone logs in.
        if share {
            let item = item
                .as_deref()
                .ok_or_else(|| StartRefusal::bad("Er is geen dossieritem gekozen om te delen."))?;
            let known = ItemId::new(item).ok().is_some_and(|id| {
                self.dossier
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .item(&id)
                    .is_some()
            });
            if !known {
                return Err(StartRefusal::bad(
                    "Dit dossieritem bestaat niet (meer). Er is niets gedeeld.",
                ));
            }
        }
        let zal = self.lists.zal.current().ok_or_else(|| {
            StartRefusal::busy(
                "De lijst van zorgaanbieders is nog niet beschikbaar. Probeer het later opnieuw.",
            )
        })?;
        // MedMij OAUTH-5 (release 1.5): Verzamelen may ask several Gegevensdiensten of
        // one Zorgaanbieder at once (ids separated by a space); Delen exactly one.
        let mut ids: Vec<&str> = Vec::new();
        for id in gd.split(' ') {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let gd = ids.join(" ");
        if ids.len() > 1 && share {
            return Err(StartRefusal::bad(
                "Delen gaat over precies een gegevensdienst.",
            ));
        }
        let mut entries = Vec::with_capacity(ids.len());
        for id in &ids {
            entries.push(zal.list().gegevensdienst(&za, id).ok_or_else(|| {
                StartRefusal::bad(
                    "Deze zorgaanbieder biedt deze gegevensdienst niet aan via MedMij.",
                )
            })?);
        }
        let entry = entries[0];
        if entries.iter().any(|e| {
            e.authorization_endpoint() != entry.authorization_endpoint()
                || e.token_endpoint() != entry.token_endpoint()
        }) {
            return Err(StartRefusal::bad(
                "Deze gegevensdiensten kunnen niet samen worden opgehaald.",
            ));
        }
        let (Ok(za_name), Ok(gd_ids)) = (
            Zorgaanbiedernaam::new(&za),
            ids.iter()
                .map(|id| ScopeGegevensdienstId::new(id))
                .collect::<Result<Vec<_>, _>>(),
        ) else {
            return Err(StartRefusal::bad(
                "Onbekende zorgaanbieder of gegevensdienst.",
            ));
        };
        let scope = Scope::several(za_name, gd_ids)
            .ok_or_else(|| StartRefusal::bad("Er is geen gegevensdienst gekozen."))?;
        // A 1.x Gegevensdienst lists both endpoints (MedMij LISTS-1).
        let (Some(authorize), Some(token)) =
            (entry.authorization_endpoint(), entry.token_endpoint())
        else {
            return Err(StartRefusal::bad(
                "Deze zorgaanbieder noemt geen autorisatie- of token-adres voor deze gegevensdienst.",
            ));
        };
        let (url, auth) = self
            .client
            .start(authorize.as_str(), token.as_str(), scope.clone())
            .map_err(|e| {
                StartRefusal::busy(format!(
                    "De gegevens van deze zorgaanbieder zijn niet bruikbaar ({e}). Probeer het \
                     later opnieuw."
                ))
            })?;
        // The browser's session: kept if it has one of ours, else a new one.
        let sid = net::cookie(headers, "pgo_session")
            .filter(|v| v.len() == 32 && v.bytes().all(|c| c.is_ascii_hexdigit()))
            .map_or_else(net::random_hex, str::to_owned);
        let pushed_out = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            if pending.total >= self.max_pending {
                return Err(StartRefusal::busy(
                    "Het is op dit moment te druk. Probeer het over enkele minuten opnieuw.",
                ));
            }
            if pending.per_source.get(&source).copied().unwrap_or(0) >= self.max_per_source {
                return Err(StartRefusal::too_many(
                    "Er lopen te veel aanvragen vanaf uw adres. Rond die eerst af of probeer \
                     het over enkele minuten opnieuw.",
                ));
            }
            pending.add(
                &sid,
                Pending {
                    auth,
                    started: self.now(),
                    share: item,
                    zorgaanbieder: za,
                    gegevensdienst: gd,
                    source,
                },
                self.max_per_session,
            )
        };
        if pushed_out > 0 {
            self.trace.step(
                Actor::PgoGw,
                &[RuleId::Oauth10, RuleId::Oauth14],
                StepOutcome::Refused,
                format!(
                    "this browser's oldest waiting authorization dropped ({} per session)",
                    self.max_per_session
                ),
            );
        }
        self.trace.step(
            Actor::PgoGw,
            &[RuleId::Lists1, RuleId::Oauth5, RuleId::Oauth10],
            StepOutcome::Done,
            format!(
                "endpoints from the ZAL; scope {scope}; fresh state bound to the browser session; \
                 redirect to {}",
                authorize.as_str()
            ),
        );
        Ok(net::with_header(
            net::redirect(&url),
            "Set-Cookie",
            &format!("pgo_session={sid}; Path=/; Secure; HttpOnly; SameSite=Lax"),
        ))
    }

    /// The redirect URI: check state, redeem the code over mTLS, read the FHIR
    /// resource, store it in the dossier with provenance.
    async fn callback(&self, sid: &str, query: &str) -> R {
        let now = self.now();
        let sid = sid.to_owned();
        let state = net::param(query, "state");
        let Some(p) = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take(&sid, state.as_deref())
        else {
            return Ok(Self::no_authorization());
        };
        let person = SubjectId::new(PGO_ACCOUNT, Domain::Pgo)?;
        let received = match p.auth.handle_redirect(query, now) {
            Ok(r) => r,
            Err(e) => {
                let (error, error_description) = (
                    net::param(query, "error"),
                    net::param(query, "error_description"),
                );
                self.log
                    .record(Entry {
                        event_type: "oauth.callback",
                        action: Action::Execute,
                        actor: (PGO_ACCOUNT.into(), ActorKind::User),
                        subject: Some(person),
                        object: Object::new("authorization", p.zorgaanbieder.clone()),
                        outcome: Outcome::Refused,
                        detail: Some(format!("{e}")),
                    })
                    .await?;
                self.trace.step(
                    Actor::PgoGw,
                    &[RuleId::Oauth10, RuleId::Oauth12],
                    StepOutcome::Refused,
                    format!(
                        "redirect back without a code ({}): flow ends; the person sees: \"{}\"",
                        error.as_deref().unwrap_or("?"),
                        e.message_en()
                    ),
                );
                self.set_result(
                    &sid,
                    VerzamelenRun {
                        collected: None,
                        token_obtained: false,
                        error,
                        error_description,
                        message: e.message_en().into(),
                        final_page: String::new(),
                        za_cookie: None,
                    },
                );
                return Ok(net::html(
                    200,
                    net::page("Geen gegevens opgehaald", e.message_nl(), Some(HOME)),
                ));
            }
        };
        self.trace.step(
            Actor::PgoGw,
            &[RuleId::Oauth10],
            StepOutcome::Done,
            "redirect back with a code; state matches the browser session",
        );
        // MedMij CONSENT-3: the PGO GW logs the consent when it receives the code.
        let kind = if p.share.is_some() {
            ConsentKind::Bevestiging
        } else {
            ConsentKind::Toestemming
        };
        let record = ConsentRecord::received_by_pgo(
            kind,
            FlowId::new(sid.clone())?,
            received.scope.clone(),
            self.client.client_id().clone(),
            received.scope.zorgaanbieder().clone(),
            received.at,
        );
        self.log
            .record(Entry {
                event_type: "consent.received",
                action: Action::Create,
                actor: (PGO_ACCOUNT.into(), ActorKind::User),
                subject: Some(person.clone()),
                object: Object::new("consent", record.reference().to_string()),
                outcome: Outcome::Success,
                detail: Some(record.to_json()),
            })
            .await?;

        // Token request on the back channel, mutual TLS (MedMij OAUTH-3, TLS-2, TLS-3, TLS-4).
        let treq = p.auth.token_request(&received.code);
        let resp = match self.send_token_request(&treq).await {
            Ok(r) => r,
            Err(e) => {
                // E.g. the ZA GW refused the handshake (TLS-3, TLS-4): no session, no token.
                let e = net::root_cause(e.as_ref());
                self.trace.step(
                    Actor::PgoGw,
                    &[RuleId::Tls3, RuleId::Tls4],
                    StepOutcome::Failed,
                    format!("token request failed, no TLS session with the ZA GW: {e}"),
                );
                self.log
                    .record(Entry {
                        event_type: "oauth.token",
                        action: Action::Execute,
                        actor: (PGO_HOST.into(), ActorKind::System),
                        subject: Some(person),
                        object: Object::new("token-request", treq.url.clone()),
                        outcome: Outcome::Failure,
                        detail: Some(format!("no TLS session: {e}")),
                    })
                    .await?;
                let message = "De verbinding met de zorgaanbieder kon niet veilig worden opgezet. \
                     Er zijn geen gegevens opgehaald.";
                self.set_result(
                    &sid,
                    VerzamelenRun {
                        collected: None,
                        token_obtained: false,
                        error: Some(format!("no TLS session: {e}")),
                        error_description: None,
                        message: message.into(),
                        final_page: String::new(),
                        za_cookie: None,
                    },
                );
                return Ok(net::html(
                    200,
                    net::page("Geen gegevens opgehaald", message, Some(HOME)),
                ));
            }
        };
        let grant = p
            .auth
            .parse_token_response(resp.status, resp.body_str(), self.now())?;
        self.log
            .record(Entry {
                event_type: "oauth.token",
                action: Action::Execute,
                actor: (PGO_HOST.into(), ActorKind::System),
                subject: Some(person.clone()),
                object: Object::new("access-grant", grant.scope.to_string()),
                outcome: Outcome::Success,
                detail: None,
            })
            .await?;
        self.trace.step(
            Actor::PgoGw,
            &[
                RuleId::Oauth1,
                RuleId::Oauth2,
                RuleId::Oauth3,
                RuleId::Oauth6,
                RuleId::Oauth7,
            ],
            StepOutcome::Done,
            format!(
                "access token received over mTLS and checked strictly (bearer, 900 s, scope {})",
                grant.scope
            ),
        );

        if let Some(item) = &p.share {
            return self.place(&sid, &p, item, &record, &grant, person).await;
        }

        // The FHIR resource (MedMij OAUTH-2: token in the Authorization header).
        let zal = self.lists.zal.current().ok_or("no ZAL")?;
        // MedMij OAUTH-5: a release-1.5 scope names several Gegevensdiensten; the
        // first is read here, the others after it with the same token (OAUTH-17).
        let (first_gd, more_gds) = p
            .gegevensdienst
            .split_once(' ')
            .unwrap_or((&p.gegevensdienst, ""));
        let ep = zal
            .list()
            .resource_endpoint(&p.zorgaanbieder, first_gd, SYSTEEMROL)
            .ok_or("no resource endpoint on the ZAL")?;
        let url = format!("{}/{}", ep.as_str(), resource_path(first_gd));
        let resp = self.read_resource(&grant, &url).await?;
        if resp.status != 200 {
            return Err(format!("FHIR read answered HTTP {}", resp.status).into());
        }
        let bundle: serde_json::Value = serde_json::from_slice(&resp.body)?;
        if bundle["resourceType"] != "Bundle" {
            return Err("the resource endpoint did not return a FHIR Bundle".into());
        }
        self.trace.step(
            Actor::PgoGw,
            &[RuleId::Oauth2, RuleId::Oauth11],
            StepOutcome::Done,
            format!("FHIR Bundle received ({} bytes)", resp.body.len()),
        );
        // MedMij OAUTH-16: a payload that still carries a BSN is not stored; the
        // refusal is logged (LOG-1) and the person told in plain words.
        if let Err(e) = medmij_oauth::fhir::check(&bundle) {
            self.log
                .record(Entry {
                    event_type: "dossier.collect",
                    action: Action::Create,
                    actor: (PGO_HOST.into(), ActorKind::System),
                    subject: Some(person),
                    object: Object::new("Bundle", format!("{} bytes", resp.body.len())),
                    outcome: Outcome::Refused,
                    detail: Some(format!("from {}: {e}; not stored", p.zorgaanbieder)),
                })
                .await?;
            self.trace.step(
                Actor::PgoGw,
                &[RuleId::Oauth16, RuleId::Log1],
                StepOutcome::Refused,
                format!("Bundle REFUSED, not stored: {e}; logged"),
            );
            let message = format!(
                "De gegevens van {} bevatten een burgerservicenummer (BSN). Dat mag niet via \
                 MedMij, daarom zijn ze niet opgeslagen. Er is niets in uw dossier gezet.",
                p.zorgaanbieder
            );
            self.set_result(
                &sid,
                VerzamelenRun {
                    collected: None,
                    token_obtained: true,
                    error: Some("OAUTH-16".into()),
                    error_description: Some(e.to_string()),
                    message: message.clone(),
                    final_page: String::new(),
                    za_cookie: None,
                },
            );
            return Ok(net::html(
                200,
                net::page("Geen gegevens opgeslagen", &message, Some(HOME)),
            ));
        }

        // MedMij CONSENT-4: stored with its provenance, inseparably.
        let item_id = format!("bundle-{sid}");
        let naam = self
            .store_collected(
                &p.zorgaanbieder,
                first_gd,
                &item_id,
                &resp.body,
                &record,
                person.clone(),
            )
            .await?;
        self.trace.step(
            Actor::PgoGw,
            &[RuleId::Consent4, RuleId::Log1, RuleId::Log2],
            StepOutcome::Done,
            format!(
                "Bundle stored in the dossier as {item_id} with provenance ({}, {naam}, \
                 SHA-256 of the content, consent reference); logged",
                p.zorgaanbieder
            ),
        );
        let mut names = vec![naam.clone()];
        for gd in more_gds.split(' ').filter(|g| !g.is_empty()) {
            names.push(
                self.collect_more(&sid, &p, gd, &grant, &record, person.clone())
                    .await?,
            );
        }
        let message = if names.len() == 1 {
            format!("Uw {naam} van {} is opgehaald.", p.zorgaanbieder)
        } else {
            format!(
                "Uw {} van {} zijn opgehaald.",
                names.join(" en "),
                p.zorgaanbieder
            )
        };
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((treq, grant, url));
        self.set_result(
            &sid,
            VerzamelenRun {
                collected: Some(item_id),
                token_obtained: true,
                error: None,
                error_description: None,
                message: message.clone(),
                final_page: String::new(),
                za_cookie: None,
            },
        );
        let shown = bundle["entry"]
            .as_array()
            .map(|es| {
                es.iter()
                    .filter_map(|e| {
                        e["resource"]["medicationCodeableConcept"]["coding"][0]["display"].as_str()
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        Ok(net::html(
            200,
            net::page(
                "Gegevens opgehaald",
                &format!("{message} Medicatie: {shown}."),
                Some(HOME),
            ),
        ))
    }

    /// The token request on the back channel, mutual TLS (MedMij OAUTH-3, TLS-2, TLS-3, TLS-4).
    async fn send_token_request(&self, treq: &TokenRequest) -> Result<Fetched, DemoError> {
        let mut req = self.back.post(&treq.url).body(treq.body.clone());
        for (k, v) in treq.headers() {
            req = req.header(*k, *v);
        }
        self.back.fetch(req).await
    }

    /// A FHIR read with the token in the Authorization header (MedMij OAUTH-2).
    /// Reads one more Gegevensdienst of a release-1.5 scope with the same token
    /// (MedMij OAUTH-5, OAUTH-17) and stores it with its provenance (CONSENT-4) as
    /// `bundle-<sid>-<gd>`; returns its GNL name. A Bundle with a BSN is refused,
    /// logged and not stored (OAUTH-16).
    /// Stores a collected Bundle in the dossier with its provenance (MedMij
    /// CONSENT-4: the Bron, the GNL name of Gegevensdienst `gd`, the consent
    /// reference) and logs the collection (LOG-1); returns the GNL name.
    async fn store_collected(
        &self,
        zorgaanbieder: &str,
        gd: &str,
        item_id: &str,
        body: &[u8],
        record: &ConsentRecord,
        person: SubjectId,
    ) -> Result<String, DemoError> {
        let gnl = self.lists.gnl.current().ok_or("no GNL")?;
        let naam = gnl
            .list()
            .weergavenaam(gd)
            .ok_or("Gegevensdienst not on the GNL")?
            .to_string();
        let item = CollectedItem::receive(
            ItemId::new(item_id)?,
            body.to_vec(),
            medmij_consent::Zorgaanbiedernaam::new(zorgaanbieder)?,
            GegevensdienstNaam::new(naam.clone())?,
            record.reference(),
            self.now(),
        );
        self.dossier
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .collect(item)?;
        self.log
            .record(Entry {
                event_type: "dossier.collect",
                action: Action::Create,
                actor: (PGO_HOST.into(), ActorKind::System),
                subject: Some(person),
                object: Object::new("dossier-item", item_id),
                outcome: Outcome::Success,
                detail: Some(format!("from {zorgaanbieder} ({naam}) via MedMij")),
            })
            .await?;
        Ok(naam)
    }

    /// A Bundle collected over release 2.x by medmij-oauth's PGO GW adapter (see
    /// `release2.rs`): the consent is logged as received (MedMij CONSENT-3, the flow named
    /// by its `X-Correlation-ID`) and the Bundle stored in the same dossier with its
    /// provenance (CONSENT-4); returns the Gegevensdienst's GNL name.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn store_v2(
        &self,
        zorgaanbieder: &str,
        gd: &str,
        item_id: &str,
        body: &[u8],
        scope: &Scope,
        flow: &str,
        person: SubjectId,
    ) -> Result<String, DemoError> {
        let record = ConsentRecord::received_by_pgo(
            ConsentKind::Toestemming,
            FlowId::new(flow.to_owned())?,
            scope.clone(),
            self.client.client_id().clone(),
            scope.zorgaanbieder().clone(),
            self.now(),
        );
        self.log
            .record(Entry {
                event_type: "consent.received",
                action: Action::Create,
                actor: (PGO_ACCOUNT.into(), ActorKind::User),
                subject: Some(person.clone()),
                object: Object::new("consent", record.reference().to_string()),
                outcome: Outcome::Success,
                detail: Some(format!("release 2.x, scope {scope}")),
            })
            .await?;
        self.store_collected(zorgaanbieder, gd, item_id, body, &record, person)
            .await
    }

    async fn collect_more(
        &self,
        sid: &str,
        p: &Pending,
        gd: &str,
        grant: &AccessGrant,
        record: &ConsentRecord,
        person: SubjectId,
    ) -> Result<String, DemoError> {
        let zal = self.lists.zal.current().ok_or("no ZAL")?;
        let ep = zal
            .list()
            .resource_endpoint(&p.zorgaanbieder, gd, SYSTEEMROL)
            .ok_or("no resource endpoint on the ZAL")?;
        let url = format!("{}/{}", ep.as_str(), resource_path(gd));
        let resp = self.read_resource(grant, &url).await?;
        if resp.status != 200 {
            return Err(format!(
                "FHIR read of Gegevensdienst {gd} answered HTTP {}",
                resp.status
            )
            .into());
        }
        let bundle: serde_json::Value = serde_json::from_slice(&resp.body)?;
        if bundle["resourceType"] != "Bundle" {
            return Err("the resource endpoint did not return a FHIR Bundle".into());
        }
        if let Err(e) = medmij_oauth::fhir::check(&bundle) {
            self.log
                .record(Entry {
                    event_type: "dossier.collect",
                    action: Action::Create,
                    actor: (PGO_HOST.into(), ActorKind::System),
                    subject: Some(person),
                    object: Object::new("Bundle", format!("{} bytes", resp.body.len())),
                    outcome: Outcome::Refused,
                    detail: Some(format!("from {}: {e}; not stored", p.zorgaanbieder)),
                })
                .await?;
            return Err(format!("Bundle of Gegevensdienst {gd} refused: {e}").into());
        }
        let item_id = format!("bundle-{sid}-{gd}");
        let naam = self
            .store_collected(&p.zorgaanbieder, gd, &item_id, &resp.body, record, person)
            .await?;
        self.trace.step(
            Actor::PgoGw,
            &[RuleId::Oauth17, RuleId::Consent4, RuleId::Log1],
            StepOutcome::Done,
            format!(
                "same token, Gegevensdienst {gd}: Bundle stored as {item_id} with provenance ({}, \
                 {naam}); logged",
                p.zorgaanbieder
            ),
        );
        Ok(naam)
    }

    /// The dossier's items: id, whether unchanged since receipt (CONSENT-4), and
    /// the Gegevensdienst name.
    pub(crate) fn dossier_items(&self) -> Vec<(String, bool, String)> {
        let d = self.dossier.lock().unwrap_or_else(|e| e.into_inner());
        d.items()
            .map(|i| {
                (
                    i.provenance().item.to_string(),
                    i.verify() == Integrity::Unchanged,
                    i.provenance().gegevensdienst.to_string(),
                )
            })
            .collect()
    }

    async fn read_resource(&self, grant: &AccessGrant, url: &str) -> Result<Fetched, DemoError> {
        self.back
            .fetch(
                self.back
                    .get(url)
                    .header("Authorization", grant.authorization_header())
                    .header("Accept", "application/fhir+json"),
            )
            .await
    }

    pub(crate) fn last_access_token(&self) -> Option<String> {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|l| l.1.token.to_string())
    }

    /// Reads the resource again with the last grant.
    pub(crate) async fn read_again(&self) -> Result<(u16, Option<String>), DemoError> {
        let (_, grant, url) = self
            .last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or("no earlier grant")?;
        self.trace.mark();
        let resp = self.read_resource(&grant, &url).await?;
        let oo: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
        let code = oo["issue"][0]["code"].as_str().map(str::to_owned);
        self.trace.step(
            Actor::PgoGw,
            &[RuleId::Oauth7, RuleId::Oauth12],
            StepOutcome::Case(7),
            format!(
                "FHIR read with the earlier token: HTTP {}{}",
                resp.status,
                code.as_deref()
                    .map(|c| format!(", OperationOutcome issue code {c}"))
                    .unwrap_or_default()
            ),
        );
        Ok((resp.status, code))
    }

    /// Presents the last redeemed code again (a breach, MedMij OAUTH-8), then tries
    /// the token it had obtained.
    pub(crate) async fn replay_last_code(&self) -> Result<ReplayRun, DemoError> {
        let (treq, grant, url) = self
            .last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or("no redeemed code to replay")?;
        self.trace.mark();
        let resp = self.send_token_request(&treq).await?;
        let json: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
        let error = json["error"].as_str().map(str::to_owned);
        self.trace.step(
            Actor::PgoGw,
            &[RuleId::Oauth8, RuleId::Oauth12],
            StepOutcome::Case(6),
            format!(
                "presented the same code again: HTTP {} {}",
                resp.status,
                error.as_deref().unwrap_or("")
            ),
        );
        let after = self.read_resource(&grant, &url).await?;
        self.trace.step(
            Actor::PgoGw,
            &[RuleId::Oauth8, RuleId::Oauth12],
            StepOutcome::Case(7),
            format!(
                "FHIR read with the token issued for that code: HTTP {} (token revoked)",
                after.status
            ),
        );
        Ok(ReplayRun {
            status: resp.status,
            error,
            resource_status_after: after.status,
        })
    }

    /// UCI Delen: write the dossier item to the Lezer with its provenance, and record
    /// the placement (MedMij OAUTH-13, CONSENT-4).
    async fn place(
        &self,
        sid: &str,
        p: &Pending,
        item: &str,
        record: &ConsentRecord,
        grant: &AccessGrant,
        person: SubjectId,
    ) -> R {
        let id = ItemId::new(item)?;
        let (content, provenance) = {
            let d = self.dossier.lock().unwrap_or_else(|e| e.into_inner());
            let it = d.item(&id).ok_or("no such dossier item")?;
            (
                it.content().to_vec(),
                serde_json::to_string(it.provenance())?,
            )
        };
        let content =
            if self
                .share_with_bsn
                .load(std::sync::atomic::Ordering::Relaxed)
            {
                self.trace.step(Actor::PgoGw, &[RuleId::Oauth16], StepOutcome::Done,
                "NON-CONFORMING (demo switch): a Patient with a BSN is added to the shared Bundle",
            );
                with_bsn(&content)?
            } else {
                content
            };
        let zal = self.lists.zal.current().ok_or("no ZAL")?;
        let ep = zal
            .list()
            .resource_endpoint(&p.zorgaanbieder, &p.gegevensdienst, SYSTEEMROL_LEZER)
            .ok_or("no Lezer resource endpoint on the ZAL")?;
        let resp = self
            .back
            .fetch(
                self.back
                    .post(format!("{}/Bundle", ep.as_str()))
                    .header("Authorization", grant.authorization_header())
                    .header("Content-Type", "application/fhir+json")
                    .header("X-MedMij-Provenance", provenance)
                    .body(content),
            )
            .await?;
        let placed = resp.status == 200;
        // Why the Lezer refused, if it did (its OperationOutcome).
        let refused_why = (!placed)
            .then(|| serde_json::from_slice::<serde_json::Value>(&resp.body).ok())
            .flatten()
            .and_then(|oo| oo["issue"][0]["diagnostics"].as_str().map(str::to_owned));
        self.trace.step(
            Actor::PgoGw,
            &[RuleId::Oauth2, RuleId::Oauth13],
            StepOutcome::Done,
            format!(
                "FHIR write of {item} to {} with its provenance: HTTP {}",
                p.zorgaanbieder, resp.status
            ),
        );
        let gnl = self.lists.gnl.current().ok_or("no GNL")?;
        let naam = gnl
            .list()
            .weergavenaam(&p.gegevensdienst)
            .ok_or("Gegevensdienst not on the GNL")?
            .to_string();
        let placement = if placed {
            let mut d = self.dossier.lock().unwrap_or_else(|e| e.into_inner());
            let pl = d.place(
                &id,
                medmij_consent::Zorgaanbiedernaam::new(&p.zorgaanbieder)?,
                GegevensdienstNaam::new(naam.clone())?,
                record.reference(),
                self.now(),
            )?;
            Some(serde_json::to_string(pl)?)
        } else {
            None
        };
        self.log
            .record(Entry {
                event_type: "dossier.place",
                action: Action::Execute,
                actor: (PGO_HOST.into(), ActorKind::System),
                subject: Some(person),
                object: Object::new("dossier-item", item),
                outcome: if placed {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
                detail: Some(match &refused_why {
                    Some(why) => format!(
                        "with {} ({naam}) via MedMij; refused: {why}",
                        p.zorgaanbieder
                    ),
                    None => format!("with {} ({naam}) via MedMij", p.zorgaanbieder),
                }),
            })
            .await?;
        let message = if placed {
            self.trace.step(
                Actor::PgoGw,
                &[RuleId::Consent4, RuleId::Log1, RuleId::Log2],
                StepOutcome::Done,
                format!(
                    "placement recorded in the dossier ({item} with {}); logged",
                    p.zorgaanbieder
                ),
            );
            format!("Uw {naam} is gedeeld met {}.", p.zorgaanbieder)
        } else if refused_why
            .as_deref()
            .is_some_and(|d| d.contains(medmij_oauth::fhir::RULE.as_str()))
        {
            format!(
                "Het delen is niet gelukt: {} heeft de gegevens geweigerd omdat er een \
                 burgerservicenummer (BSN) in stond. Dat mag niet via MedMij.",
                p.zorgaanbieder
            )
        } else {
            "Het delen is niet gelukt.".to_owned()
        };
        self.delen_result
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                sid.to_owned(),
                (
                    self.now(),
                    DelenRun {
                        token_obtained: true,
                        placed,
                        placement,
                        message: message.clone(),
                    },
                ),
            );
        Ok(net::html(200, net::page("Delen", &message, Some(HOME))))
    }
}

type St = State<Arc<PgoGw>>;

async fn front_home(State(me): St) -> Response {
    me.home()
}

async fn front_start(
    State(me): St,
    Extension(PeerAddr(addr)): Extension<PeerAddr>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    me.start(q.as_deref().unwrap_or(""), &headers, addr.ip(), false)
        .await
}

async fn front_share(
    State(me): St,
    Extension(PeerAddr(addr)): Extension<PeerAddr>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    me.start(q.as_deref().unwrap_or(""), &headers, addr.ip(), true)
        .await
}

async fn front_callback(
    State(me): St,
    Extension(PeerAddr(addr)): Extension<PeerAddr>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let sid = net::cookie(&headers, "pgo_session")
        .unwrap_or("")
        .to_owned();
    let r = if sid.is_empty() {
        Ok(PgoGw::no_authorization())
    } else {
        me.callback(&sid, q.as_deref().unwrap_or("")).await
    };
    match r {
        Ok(r) => {
            if r.status() == 400 {
                // A callback this browser did not start (OAUTH-10): logged (LOG-1).
                me.refuse_callback(addr.ip()).await;
            }
            r
        }
        Err(e) => me.failed(&sid, &e),
    }
}

/// `content` (a FHIR Bundle) with a Patient carrying a BSN added: what a
/// non-conforming sender would share (demo switch, MedMij OAUTH-16).
fn with_bsn(content: &[u8]) -> Result<Vec<u8>, DemoError> {
    let mut doc: serde_json::Value = serde_json::from_slice(content)?;
    let patient = serde_json::json!({
        "resource": {
            "resourceType": "Patient",
            "identifier": [{
                "system": medmij_oauth::fhir::BSN_SYSTEMS[1],
                "value": super::za_gw::TEST_BSN
            }]
        }
    });
    doc["entry"]
        .as_array_mut()
        .ok_or("the shared Bundle has no entries")?
        .push(patient);
    Ok(serde_json::to_vec(&doc)?)
}

/// The FHIR path the demo reads for a Gegevensdienst: [`GEGEVENSDIENST`] is a
/// Medicatieoverzicht, the second one Observations.
fn resource_path(gd: &str) -> &'static str {
    if gd == GEGEVENSDIENST {
        "MedicationStatement"
    } else {
        "Observation"
    }
}
