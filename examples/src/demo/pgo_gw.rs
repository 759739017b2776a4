//! The PGO's gateway (PGO GW): medmij-oauth's axum [`PgoGateway`] runs both release lines'
//! front endpoints (`/start`, `/share`, the redirect URI `/cb`, and for 2.x counterparts
//! `/collect` and `/toestemmingen`); this module holds only the demo's host
//! implementations ([`DemoPgo`]: the person's session, the ZAL per counterpart, what to do
//! with a grant; [`PgoAudit`]: the NEN 7513 log; [`BackTransport`]: the mutual-TLS back
//! channel) and what is demo: the dossier with provenance (medmij-consent), the share
//! placement, the typed trace steps and the fault switches.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;

use medmij_consent::{
    CollectedItem, ConsentKind, ConsentRecord, Dossier, FlowId, GegevensdienstNaam, Integrity,
    ItemId,
};
use medmij_log::{Action, ActorKind, Domain, Object, Outcome, SubjectId};
use medmij_oauth::adapter::{
    AuditEvent, AuditSink, ChainStep, Clock, Counterpart, DefaultPages, Endpoint, FailureStage,
    FlowDone, FlowFailure, PgoGateway, PgoHooks, PgoHost, PgoSettings, StartRefused, StartRequest,
    StartRoute, TokenTransport, TransportError,
};
use medmij_oauth::{
    AccessGrant, Client, ClientId, FlowLimits, GrantV2, HttpResponse, MemoryFlowStore,
    PendingFlows, ReleaseLine, Scope, ScopeGegevensdienstId, TokenRequest, TracedTokenRequest,
    UseCase, Zorgaanbiedernaam,
};

use super::audit::{AuditLog, Entry};
use super::lists::PgoLists;
use super::net::{self, Fetched};
use super::release2::{DemoPgoHost, DemoVault, PGO_SESSION, SharedAudit, V2Clock};
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
/// The PGO GW's redirect URI path (below its front channel), on the OCL host (OAUTH-4).
pub(crate) const REDIRECT_PATH: &str = "/cb";
/// The request header in which the demo's session layer hands the person's PGO session to
/// [`DemoPgo::person`] (set by [`pgo_session`]; a value from outside is dropped).
const SESSION_HEADER: &str = "x-demo-pgo-session";

/// A redeemed code's token request, the grant, and the resource URL.
type Redeemed = (TokenRequest, AccessGrant, String);

pub(crate) struct PgoGw {
    client_id: ClientId,
    lists: PgoLists,
    /// The back-channel client: mutual TLS, pooled connections, the server
    /// re-checked before every request (MedMij TLS-4).
    back: Arc<net::BackClient>,
    /// The pending flows of medmij-oauth's PGO GW router, bounded per person
    /// ([`super::limits::MAX_PGO_PENDING_PER_SESSION`]), per source
    /// ([`super::limits::MAX_PGO_PENDING_PER_SOURCE`]) and in total
    /// ([`super::limits::MAX_PGO_PENDING`]); they expire after [`super::FLOW_TIMEOUT`].
    flows: Arc<MemoryFlowStore>,
    limits: FlowLimits,
    /// See [`super::limits::MAX_PGO_PENDING_PER_SESSION`].
    max_per_session: usize,
    /// See [`super::limits::MAX_PGO_PENDING`] (also the bound on kept outcomes).
    max_pending: usize,
    dossier: Mutex<Dossier>,
    log: AuditLog,
    trace: Arc<Trace>,
    /// Outcomes per browser session (`pgo_session` cookie), kept for
    /// [`super::FLOW_TIMEOUT`] for whoever asks (the scripted browser), then dropped.
    result: Mutex<HashMap<String, (SystemTime, VerzamelenRun)>>,
    delen_result: Mutex<HashMap<String, (SystemTime, DelenRun)>>,
    /// The last 1.x token request the back channel sent (for `--replay-code`).
    last_request: Mutex<Option<TokenRequest>>,
    /// The last redeemed code's token request, the grant and the resource URL
    /// (kept only to show the replay of `--replay-code`).
    last: Mutex<Option<Redeemed>>,
    /// Demo switch: the PGO GW plays a non-conforming sender and puts a BSN in what it
    /// shares (to show the Lezer's refusal, MedMij OAUTH-16).
    share_with_bsn: std::sync::atomic::AtomicBool,
}

impl PgoGw {
    pub(crate) fn new(
        lists: PgoLists,
        back: net::BackClient,
        log: AuditLog,
        trace: Arc<Trace>,
        limits: &super::Limits,
    ) -> Result<Self, DemoError> {
        let flow_limits = FlowLimits {
            per_client: limits.max_pgo_pending,
            per_source: limits.max_pgo_pending_per_source,
            total: limits.max_pgo_pending,
            ttl: super::FLOW_TIMEOUT,
            ..FlowLimits::default()
        };
        Ok(PgoGw {
            client_id: ClientId::new(PGO_HOST)?,
            lists,
            back: Arc::new(back),
            flows: Arc::new(MemoryFlowStore::new(flow_limits)),
            limits: flow_limits,
            max_per_session: limits.max_pgo_pending_per_session,
            max_pending: limits.max_pgo_pending,
            dossier: Mutex::new(Dossier::new()),
            log,
            trace,
            result: Mutex::new(HashMap::new()),
            delen_result: Mutex::new(HashMap::new()),
            last_request: Mutex::new(None),
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
        self.flows.len()
    }

    /// Ends authorizations the person did not come back to within
    /// [`super::FLOW_TIMEOUT`] (their `state` can no longer be used, OAUTH-10):
    /// medmij-oauth's PGO GW sweeps its flow store and reports each once
    /// (`Endpoint::FlowExpired`, logged as `pgo.flow.expired` by [`PgoAudit`], MedMij
    /// OAUTH-12 case 5, LOG-1; flows found by the sweep at a new flow were logged then);
    /// outcomes nobody asked for are dropped. Returns how many authorizations this sweep
    /// ended.
    pub(crate) async fn expire_flows(&self, gateway: &DemoPgoGateway) -> usize {
        let now = self.now();
        let old = |t: &SystemTime| {
            now.duration_since(*t)
                .is_ok_and(|d| d >= super::FLOW_TIMEOUT)
        };
        let ended = gateway.expire_flows().await;
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
                    "{ended} authorization(s) the person did not come back to within {} s \
                     ended and logged",
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

    /// The PGO's own pages: its home page. The flows' endpoints are medmij-oauth's
    /// [`PgoGateway`] router ([`gateway_router`]), merged next to it.
    pub(crate) fn front_router(me: &Arc<Self>) -> Router {
        Router::new()
            .route("/", get(front_home))
            .with_state(me.clone())
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
                collect_2x = e(&super::release2::v2_start_path()),
                twee = super::release2::ZORGAANBIEDER_2X,
                collect = e(&collect)
            ),
        )
    }

    /// The endpoints of Gegevensdienst `gd` of `za` as this PGO GW reads them: the ZAL
    /// release3 names the release line per Gegevensdienst (MedMij LISTS-15); what only the
    /// release2 ZAL lists is 1.x (LISTS-1).
    fn lookup(&self, zal3: &DemoPgoHost, za: &str, gd: &str) -> Option<Counterpart> {
        if let Some(c) = zal3.lookup(za, gd) {
            return Some(c);
        }
        let zal = self.lists.zal.current()?;
        let g = zal.list().gegevensdienst(za, gd)?;
        Some(Counterpart {
            release: ReleaseLine::V1,
            authorization_endpoint: g.authorization_endpoint()?.as_str().to_owned(),
            token_endpoint: g.token_endpoint()?.as_str().to_owned(),
        })
    }

    /// Reads `/start?zorgaanbieder=&gegevensdienst=` or
    /// `/share?zorgaanbieder=&gegevensdienst=&item=` (MedMij OAUTH-5, OAUTH-13): missing or
    /// unknown input is refused with a plain page (HTTP 400) before anyone is sent to log
    /// in (OAUTH-12); for Delen the dossier item is checked first.
    fn start_request(
        &self,
        zal3: &DemoPgoHost,
        route: StartRoute,
        query: &str,
    ) -> Result<StartRequest, StartRefused> {
        let share = route == StartRoute::Share;
        let bad = |text: &str| StartRefused {
            response: HttpResponse::page(400, net::page("Ongeldige aanvraag", text, Some(HOME))),
            detail: text.to_owned(),
        };
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
        let za = za.ok_or_else(|| bad("Er is geen zorgaanbieder gekozen."))?;
        let gd = gd.ok_or_else(|| bad("Er is geen gegevensdienst gekozen."))?;
        // UCI Delen: the item must be in the dossier before anyone logs in.
        if share {
            let item = item
                .as_deref()
                .ok_or_else(|| bad("Er is geen dossieritem gekozen om te delen."))?;
            let known = ItemId::new(item).ok().is_some_and(|id| {
                self.dossier
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .item(&id)
                    .is_some()
            });
            if !known {
                return Err(bad(
                    "Dit dossieritem bestaat niet (meer). Er is niets gedeeld.",
                ));
            }
        }
        if self.lists.zal.current().is_none() && zal3.lookup(&za, &gd).is_none() {
            let text =
                "De lijst van zorgaanbieders is nog niet beschikbaar. Probeer het later opnieuw.";
            return Err(StartRefused {
                response: HttpResponse::page(503, net::page("Even geduld", text, Some(HOME))),
                detail: text.to_owned(),
            });
        }
        // MedMij OAUTH-5 (release 1.5): Verzamelen may ask several Gegevensdiensten of
        // one Zorgaanbieder at once (ids separated by a space); Delen exactly one.
        let mut ids: Vec<&str> = Vec::new();
        for id in gd.split(' ') {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.len() > 1 && share {
            return Err(bad("Delen gaat over precies een gegevensdienst."));
        }
        let mut found = Vec::with_capacity(ids.len());
        for id in &ids {
            found.push(self.lookup(zal3, &za, id).ok_or_else(|| {
                bad("Deze zorgaanbieder biedt deze gegevensdienst niet aan via MedMij.")
            })?);
        }
        if found.iter().any(|c| *c != found[0]) {
            return Err(bad(
                "Deze gegevensdiensten kunnen niet samen worden opgehaald.",
            ));
        }
        let (Ok(za_name), Ok(gd_ids)) = (
            Zorgaanbiedernaam::new(&za),
            ids.iter()
                .map(|id| ScopeGegevensdienstId::new(id))
                .collect::<Result<Vec<_>, _>>(),
        ) else {
            return Err(bad("Onbekende zorgaanbieder of gegevensdienst."));
        };
        let scope = Scope::several(za_name, gd_ids)
            .ok_or_else(|| bad("Er is geen gegevensdienst gekozen."))?;
        Ok(StartRequest {
            scope,
            use_case: if share {
                UseCase::Delen
            } else {
                UseCase::Verzamelen
            },
            context: item,
        })
    }

    /// The consent the PGO GW received with a code (MedMij CONSENT-3), logged.
    async fn consent_received(
        &self,
        scope: &Scope,
        use_case: UseCase,
        person: &SubjectId,
    ) -> Result<ConsentRecord, DemoError> {
        let kind = if use_case == UseCase::Delen {
            ConsentKind::Bevestiging
        } else {
            ConsentKind::Toestemming
        };
        let record = ConsentRecord::received_by_pgo(
            kind,
            FlowId::new(net::random_hex())?,
            scope.clone(),
            self.client_id.clone(),
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
                detail: Some(record.to_json()),
            })
            .await?;
        Ok(record)
    }

    /// A 1.x flow of session `sid` ended with a grant (the adapter redeemed the code over
    /// mutual TLS and checked the answer strictly, MedMij OAUTH-3, OAUTH-6, OAUTH-7):
    /// Verzamelen reads the FHIR resources and stores them with provenance; Delen writes
    /// the dossier item to the Lezer.
    async fn completed(&self, sid: &str, grant: GrantV2, done: FlowDone) -> HttpResponse {
        match self.try_completed(sid, grant.access, done).await {
            Ok(r) => r,
            Err(e) => self.failed_run(sid, &e),
        }
    }

    async fn try_completed(
        &self,
        sid: &str,
        grant: AccessGrant,
        done: FlowDone,
    ) -> Result<HttpResponse, DemoError> {
        let person = SubjectId::new(PGO_ACCOUNT, Domain::Pgo)?;
        let record = self
            .consent_received(&grant.scope, done.use_case, &person)
            .await?;
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
        let zorgaanbieder = grant.scope.zorgaanbieder().as_str().to_owned();
        let gds: Vec<String> = grant
            .scope
            .gegevensdiensten()
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect();
        let first_gd = gds
            .first()
            .ok_or("a scope without a Gegevensdienst")?
            .clone();
        if done.use_case == UseCase::Delen {
            let item = done.context.ok_or("a Delen flow without its item")?;
            return self
                .place(
                    sid,
                    &zorgaanbieder,
                    &first_gd,
                    &item,
                    &record,
                    &grant,
                    person,
                )
                .await;
        }
        let treq = self
            .last_request
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();

        // The FHIR resource (MedMij OAUTH-2: token in the Authorization header).
        let zal = self.lists.zal.current().ok_or("no ZAL")?;
        // MedMij OAUTH-5: a release-1.5 scope names several Gegevensdiensten; the
        // first is read here, the others after it with the same token (OAUTH-17).
        let ep = zal
            .list()
            .resource_endpoint(&zorgaanbieder, &first_gd, SYSTEEMROL)
            .ok_or("no resource endpoint on the ZAL")?;
        let url = format!("{}/{}", ep.as_str(), resource_path(&first_gd));
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
                    detail: Some(format!("from {zorgaanbieder}: {e}; not stored")),
                })
                .await?;
            self.trace.step(
                Actor::PgoGw,
                &[RuleId::Oauth16, RuleId::Log1],
                StepOutcome::Refused,
                format!("Bundle REFUSED, not stored: {e}; logged"),
            );
            let message = format!(
                "De gegevens van {zorgaanbieder} bevatten een burgerservicenummer (BSN). Dat mag \
                 niet via MedMij, daarom zijn ze niet opgeslagen. Er is niets in uw dossier gezet."
            );
            self.set_result(
                sid,
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
            return Ok(HttpResponse::page(
                200,
                net::page("Geen gegevens opgeslagen", &message, Some(HOME)),
            ));
        }

        // MedMij CONSENT-4: stored with its provenance, inseparably.
        let item_id = format!("bundle-{sid}");
        let naam = self
            .store_collected(
                &zorgaanbieder,
                &first_gd,
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
                "Bundle stored in the dossier as {item_id} with provenance ({zorgaanbieder}, \
                 {naam}, SHA-256 of the content, consent reference); logged"
            ),
        );
        let mut names = vec![naam.clone()];
        for gd in gds.iter().skip(1) {
            names.push(
                self.collect_more(sid, &zorgaanbieder, gd, &grant, &record, person.clone())
                    .await?,
            );
        }
        let message = if names.len() == 1 {
            format!("Uw {naam} van {zorgaanbieder} is opgehaald.")
        } else {
            format!(
                "Uw {} van {zorgaanbieder} zijn opgehaald.",
                names.join(" en ")
            )
        };
        if let Some(treq) = treq {
            *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((treq, grant, url));
        }
        self.set_result(
            sid,
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
        Ok(HttpResponse::page(
            200,
            net::page(
                "Gegevens opgehaald",
                &format!("{message} Medicatie: {shown}."),
                Some(HOME),
            ),
        ))
    }

    /// Something of the demo's own went wrong after the grant: traced, told, no 500.
    fn failed_run(&self, sid: &str, e: &DemoError) -> HttpResponse {
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
        HttpResponse::page(502, net::page("Fout", "Er ging iets mis.", Some(HOME)))
    }

    /// A 1.x flow of session `sid` ended without a grant (the adapter logged its audit
    /// event): the NEN 7513 entry, the trace step and the outcome for the person.
    async fn failed(&self, sid: &str, f: FlowFailure) -> HttpResponse {
        match self.try_failed(sid, f).await {
            Ok(r) => r,
            Err(e) => self.failed_run(sid, &e),
        }
    }

    async fn try_failed(&self, sid: &str, f: FlowFailure) -> Result<HttpResponse, DemoError> {
        let person = SubjectId::new(PGO_ACCOUNT, Domain::Pgo)?;
        let (message, error) = match f.stage {
            FailureStage::Redirect => {
                self.log
                    .record(Entry {
                        event_type: "oauth.callback",
                        action: Action::Execute,
                        actor: (PGO_ACCOUNT.into(), ActorKind::User),
                        subject: Some(person),
                        object: Object::new(
                            "authorization",
                            f.scope.zorgaanbieder().as_str().to_owned(),
                        ),
                        outcome: Outcome::Refused,
                        detail: Some(f.detail.clone()),
                    })
                    .await?;
                self.trace.step(
                    Actor::PgoGw,
                    &[RuleId::Oauth10, RuleId::Oauth12],
                    StepOutcome::Refused,
                    format!(
                        "redirect back without a code ({}): flow ends; the person sees: \"{}\"",
                        f.error.as_deref().unwrap_or("?"),
                        f.message_en
                    ),
                );
                (f.message_nl.to_owned(), f.error.clone())
            }
            // The token request was not sent or its answer refused.
            _ => {
                // The consent was received with the code (CONSENT-3), then no token.
                self.consent_received(&f.scope, f.use_case, &person).await?;
                let transport = f.stage == FailureStage::TokenTransport;
                let (rules, outcome, what): (&'static [RuleId], _, _) = if transport {
                    (
                        &[RuleId::Tls3, RuleId::Tls4],
                        StepOutcome::Failed,
                        format!("no TLS session: {}", f.detail),
                    )
                } else {
                    (
                        &[RuleId::Oauth6, RuleId::Oauth7, RuleId::Oauth12],
                        StepOutcome::Refused,
                        format!("token answer refused: {}", f.detail),
                    )
                };
                self.trace.step(
                    Actor::PgoGw,
                    rules,
                    outcome,
                    format!("token request failed, no access token: {what}"),
                );
                self.log
                    .record(Entry {
                        event_type: "oauth.token",
                        action: Action::Execute,
                        actor: (PGO_HOST.into(), ActorKind::System),
                        subject: Some(person),
                        object: Object::new("token-request", f.scope.to_string()),
                        outcome: if transport {
                            Outcome::Failure
                        } else {
                            Outcome::Refused
                        },
                        detail: Some(what.clone()),
                    })
                    .await?;
                let message = if transport {
                    "De verbinding met de zorgaanbieder kon niet veilig worden opgezet. Er zijn \
                     geen gegevens opgehaald."
                        .to_owned()
                } else {
                    f.message_nl.to_owned()
                };
                (message, Some(what))
            }
        };
        let message_en = if f.stage == FailureStage::Redirect {
            f.message_en.to_owned()
        } else {
            message.clone()
        };
        self.set_result(
            sid,
            VerzamelenRun {
                collected: None,
                token_obtained: false,
                error,
                error_description: f.error_description.clone(),
                message: message_en,
                final_page: String::new(),
                za_cookie: None,
            },
        );
        Ok(HttpResponse::page(
            200,
            net::page("Geen gegevens opgehaald", &message, Some(HOME)),
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
            self.client_id.clone(),
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

    #[allow(clippy::too_many_arguments)]
    async fn collect_more(
        &self,
        sid: &str,
        zorgaanbieder: &str,
        gd: &str,
        grant: &AccessGrant,
        record: &ConsentRecord,
        person: SubjectId,
    ) -> Result<String, DemoError> {
        let zal = self.lists.zal.current().ok_or("no ZAL")?;
        let ep = zal
            .list()
            .resource_endpoint(zorgaanbieder, gd, SYSTEEMROL)
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
                    detail: Some(format!("from {}: {e}; not stored", zorgaanbieder)),
                })
                .await?;
            return Err(format!("Bundle of Gegevensdienst {gd} refused: {e}").into());
        }
        let item_id = format!("bundle-{sid}-{gd}");
        let naam = self
            .store_collected(zorgaanbieder, gd, &item_id, &resp.body, record, person)
            .await?;
        self.trace.step(
            Actor::PgoGw,
            &[RuleId::Oauth17, RuleId::Consent4, RuleId::Log1],
            StepOutcome::Done,
            format!(
                "same token, Gegevensdienst {gd}: Bundle stored as {item_id} with provenance ({}, \
                 {naam}); logged",
                zorgaanbieder
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
    #[allow(clippy::too_many_arguments)]
    async fn place(
        &self,
        sid: &str,
        zorgaanbieder: &str,
        gegevensdienst: &str,
        item: &str,
        record: &ConsentRecord,
        grant: &AccessGrant,
        person: SubjectId,
    ) -> Result<HttpResponse, DemoError> {
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
            .resource_endpoint(zorgaanbieder, gegevensdienst, SYSTEEMROL_LEZER)
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
                zorgaanbieder, resp.status
            ),
        );
        let gnl = self.lists.gnl.current().ok_or("no GNL")?;
        let naam = gnl
            .list()
            .weergavenaam(gegevensdienst)
            .ok_or("Gegevensdienst not on the GNL")?
            .to_string();
        let placement = if placed {
            let mut d = self.dossier.lock().unwrap_or_else(|e| e.into_inner());
            let pl = d.place(
                &id,
                medmij_consent::Zorgaanbiedernaam::new(zorgaanbieder)?,
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
                    Some(why) => {
                        format!("with {} ({naam}) via MedMij; refused: {why}", zorgaanbieder)
                    }
                    None => format!("with {} ({naam}) via MedMij", zorgaanbieder),
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
                    zorgaanbieder
                ),
            );
            format!("Uw {naam} is gedeeld met {}.", zorgaanbieder)
        } else if refused_why
            .as_deref()
            .is_some_and(|d| d.contains(medmij_oauth::fhir::RULE.as_str()))
        {
            format!(
                "Het delen is niet gelukt: {} heeft de gegevens geweigerd omdat er een \
                 burgerservicenummer (BSN) in stond. Dat mag niet via MedMij.",
                zorgaanbieder
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
        Ok(HttpResponse::page(
            200,
            net::page("Delen", &message, Some(HOME)),
        ))
    }
}

// ---------------------------------------------------------------------------
// The host implementations of medmij-oauth's PGO GW router.
// ---------------------------------------------------------------------------

/// The PGO GW's host ([`PgoHost`]): the person is the PGO session (the `pgo_session` cookie,
/// via [`pgo_session`]); the counterpart and its release line come from the ZAL release3
/// per (Zorgaanbieder, Gegevensdienst), else the release2 ZAL as 1.x (MedMij LISTS-15,
/// LISTS-1); a 1.x grant goes to the dossier (Verzamelen) or the Lezer (Delen), a 2.x grant
/// to the 2.x host ([`DemoPgoHost`]).
pub(crate) struct DemoPgo {
    pub(crate) pgo: Arc<PgoGw>,
    pub(crate) v2: DemoPgoHost,
}

impl PgoHost for DemoPgo {
    async fn person(&self, headers: &axum::http::HeaderMap) -> Option<String> {
        headers
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    fn endpoints(&self, scope: &Scope) -> Option<(String, String)> {
        let c = self.counterpart(scope)?;
        Some((c.authorization_endpoint, c.token_endpoint))
    }

    fn counterpart(&self, scope: &Scope) -> Option<Counterpart> {
        // The release3 ZAL, with its LISTS-15 trace step; else the release2 ZAL (1.x).
        self.v2.counterpart(scope).or_else(|| {
            let gd = scope.gegevensdiensten().first()?.as_str().to_owned();
            let c = self
                .pgo
                .lookup(&self.v2, scope.zorgaanbieder().as_str(), &gd)?;
            self.pgo.trace.step(
                Actor::PgoGw,
                &[RuleId::Lists1, RuleId::Oauth5, RuleId::Oauth10],
                StepOutcome::Done,
                format!(
                    "endpoints from the ZAL; scope {scope}; fresh state bound to the browser \
                     session; redirect to {}",
                    c.authorization_endpoint
                ),
            );
            Some(c)
        })
    }

    async fn start_request(
        &self,
        _person: &str,
        route: StartRoute,
        query: &str,
    ) -> Result<StartRequest, StartRefused> {
        self.pgo.start_request(&self.v2, route, query)
    }

    async fn granted(&self, _person: &str, _grant: AccessGrant) -> HttpResponse {
        HttpResponse::page(409, "completed handles every grant".into())
    }

    async fn completed(&self, person: &str, grant: GrantV2, done: FlowDone) -> HttpResponse {
        if done.release == ReleaseLine::V2 {
            self.v2.granted_v2(person, grant, done.manage).await
        } else {
            self.pgo.completed(person, grant, done).await
        }
    }

    async fn failed(&self, person: &str, failure: FlowFailure) -> Option<HttpResponse> {
        if failure.stage == FailureStage::Expired {
            // Abandoned (no browser waits): [`PgoAudit`] logged it as `pgo.flow.expired`.
            return None;
        }
        let release = self
            .pgo
            .lookup(
                &self.v2,
                failure.scope.zorgaanbieder().as_str(),
                failure.scope.gegevensdiensten().first()?.as_str(),
            )
            .map(|c| c.release);
        if release == Some(ReleaseLine::V2) {
            // A 2.x flow: the adapter's page (its audit event is in the 2.x log).
            return None;
        }
        Some(self.pgo.failed(person, failure).await)
    }

    async fn managed(&self, person: &str) -> HttpResponse {
        self.v2.managed(person).await
    }
}

/// The PGO GW's audit sink: every adapter event becomes a typed trace step; refusals
/// before a flow exists (a bad start, a redirect without this browser's flow) are
/// anonymous NEN 7513 entries counted per source (MedMij LOG-1, OAUTH-14); events of 2.x
/// flows and the chain events (LOG-6) go to the 2.x log. The 1.x flow's entries (consent,
/// token, dossier) are written by [`DemoPgo`], which knows what they mean.
pub(crate) struct PgoAudit {
    pub(crate) pgo: Arc<PgoGw>,
    pub(crate) v2: SharedAudit,
}

impl PgoAudit {
    /// A flow the person abandoned at the ZA GW (MedMij OAUTH-12 case 5): one
    /// `pgo.flow.expired` entry per flow (LOG-1), from the address that started it.
    async fn expired(&self, event: &AuditEvent) -> Result<(), DemoError> {
        let detail = match event.case {
            Some(c) => format!("{} (OAUTH-12 case {c})", event.detail),
            None => event.detail.clone(),
        };
        self.pgo
            .log
            .record_from(
                Entry {
                    event_type: "pgo.flow.expired",
                    action: Action::Execute,
                    actor: ("pgo-gw".into(), ActorKind::System),
                    subject: Some(SubjectId::new(PGO_ACCOUNT, Domain::Pgo)?),
                    object: Object::new("authorization", REDIRECT_PATH),
                    outcome: Outcome::Failure,
                    detail: Some(detail),
                },
                Some(event.source),
            )
            .await?;
        Ok(())
    }
}

impl AuditSink for PgoAudit {
    async fn record(&self, event: AuditEvent) {
        if event.endpoint == Endpoint::FlowExpired
            && let Err(e) = self.expired(&event).await
        {
            self.pgo.trace.step(
                Actor::PgoGw,
                &[RuleId::Log1],
                StepOutcome::Failed,
                format!("logging an abandoned flow failed: {e}"),
            );
        }
        let anonymous = match event.endpoint {
            Endpoint::Start => (!event.success).then_some(("pgo.start.refused", "/start")),
            Endpoint::Redirect if event.subject.is_none() => {
                (!event.success).then_some(("oauth.callback.unknown", REDIRECT_PATH))
            }
            _ => None,
        };
        if let Some((event_type, route)) = anonymous {
            let entry = Entry {
                event_type,
                action: Action::Execute,
                actor: ("unknown".into(), ActorKind::User),
                subject: None,
                object: Object::new("front-channel-request", route),
                outcome: Outcome::Refused,
                detail: Some(event.detail.clone()),
            };
            if let Err(e) = self.pgo.log.record_anonymous(entry, event.source).await {
                self.pgo.trace.step(
                    Actor::PgoGw,
                    &[RuleId::Log1],
                    StepOutcome::Failed,
                    format!("logging a refusal failed: {e}"),
                );
            }
        }
        if event.trace.is_some() {
            self.v2.record(event).await;
        } else {
            self.v2.trace_event(&event);
        }
    }

    async fn chain(&self, step: ChainStep) {
        self.v2.chain(step).await
    }
}

/// The PGO GW's back channel for the adapter (MedMij OAUTH-3): the demo's mutual-TLS
/// client (TLS-2, TLS-3, TLS-4), with the OAUTH-21 headers on 2.x token and refresh
/// requests; it keeps the last 1.x token request for the demo's `--replay-code`.
pub(crate) struct BackTransport(pub(crate) Arc<PgoGw>);

impl BackTransport {
    async fn send(
        &self,
        request: &TokenRequest,
        extra: &[(&'static str, String)],
    ) -> Result<(u16, String), TransportError> {
        let back = &self.0.back;
        let mut req = back.post(&request.url).body(request.body.clone());
        for (k, v) in request.headers() {
            req = req.header(*k, *v);
        }
        for (k, v) in extra {
            req = req.header(*k, v.as_str());
        }
        let r = back
            .fetch(req)
            .await
            .map_err(|e| TransportError(net::root_cause(e.as_ref())))?;
        Ok((r.status, r.body_str().to_owned()))
    }
}

impl TokenTransport for BackTransport {
    async fn post(&self, request: &TokenRequest) -> Result<(u16, String), TransportError> {
        *self
            .0
            .last_request
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(request.clone());
        self.send(request, &[]).await
    }
    async fn post_traced(&self, r: &TracedTokenRequest) -> Result<(u16, String), TransportError> {
        if r.trace.is_none() {
            return self.post(&r.request).await;
        }
        self.send(&r.request, &r.headers).await
    }
}

/// The PGO GW as the demo runs it: medmij-oauth's [`PgoGateway`] on the demo's flow store
/// with its host, audit sink and back channel.
pub(crate) type DemoPgoGateway =
    PgoGateway<Arc<MemoryFlowStore>, BackTransport, DemoPgo, PgoAudit, DefaultPages>;

/// The PGO GW's flow router: medmij-oauth's [`PgoGateway`] with a vault for 2.x refresh
/// tokens (MedMij OAUTH-19), on the PGO GW's flow store, its clock (plus the 2.x clock's
/// offset), the demo's host, audit sink and back channel; behind the demo's session layer
/// ([`pgo_session`]) and the TLS layer's source address.
pub(crate) fn gateway_router(
    pgo: &Arc<PgoGw>,
    host: DemoPgoHost,
    audit: SharedAudit,
    vault: DemoVault,
    v2_clock: &V2Clock,
) -> Result<(Router, DemoPgoGateway), DemoError> {
    let client = Client::new(
        pgo.client_id.clone(),
        &format!("https://{PGO_HOST}{REDIRECT_PATH}"),
    )?;
    let hooks = PgoHooks {
        transport: BackTransport(pgo.clone()),
        audit: PgoAudit {
            pgo: pgo.clone(),
            v2: audit,
        },
        host: DemoPgo {
            pgo: pgo.clone(),
            v2: host,
        },
        pages: DefaultPages,
    };
    let flows = PendingFlows::new(pgo.flows.clone(), pgo.limits);
    let (clock_pgo, v2_clock) = (pgo.clone(), v2_clock.clone());
    let settings = PgoSettings {
        redirect_path: REDIRECT_PATH.to_owned(),
        flows_per_person: pgo.max_per_session,
        clock: Clock::new(move || clock_pgo.now() + v2_clock.offset()),
        ..PgoSettings::default()
    };
    let gateway = PgoGateway::with_vault(client, flows, hooks, settings, vault);
    let router = gateway
        .router()
        .layer(axum::middleware::from_fn(pgo_session))
        .layer(axum::middleware::from_fn(
            super::release2::adapter_extensions,
        ));
    Ok((router, gateway))
}

/// The demo PGO's session (its own login is out of scope): the `pgo_session` cookie, or a
/// new session for a browser without one, handed to [`DemoPgo::person`] in a request
/// header; a new session's cookie is set only when a flow started (a redirect), so a
/// refused start starts no session.
async fn pgo_session(mut req: Request, next: Next) -> Response {
    let ok = |v: &str| {
        (1..=64).contains(&v.len())
            && v.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    };
    let existing = net::cookie(req.headers(), PGO_SESSION)
        .filter(|v| ok(v))
        .map(str::to_owned);
    let (sid, new) = match existing {
        Some(s) => (s, false),
        None => (net::random_hex(), true),
    };
    req.headers_mut().remove(SESSION_HEADER);
    if let Ok(v) = axum::http::HeaderValue::from_str(&sid) {
        req.headers_mut().insert(SESSION_HEADER, v);
    }
    let r = next.run(req).await;
    let mut r = r;
    if new && r.status().is_redirection() {
        let cookie = format!("{PGO_SESSION}={sid}; Path=/; Secure; HttpOnly; SameSite=Lax");
        if let Ok(v) = axum::http::HeaderValue::from_str(&cookie) {
            // Appended: the adapter's flow cookie is in the same answer.
            r.headers_mut().append(axum::http::header::SET_COOKIE, v);
        }
    }
    r
}

type St = State<Arc<PgoGw>>;

async fn front_home(State(me): St) -> Response {
    me.home()
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
