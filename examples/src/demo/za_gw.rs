//! The care provider's gateway (ZA GW, Bron of UCI Verzamelen and Lezer of UCI
//! Delen): authorization endpoint, a test stand-in for DigiD, the consent screen,
//! the token endpoint and the FHIR resource endpoints, all logged per NEN 7513.
//! Two axum routers: the front channel (browsers, server-authenticated TLS) and
//! the back channel (gateways, mutual TLS).
//!
//! The back channel is medmij-oauth's axum [`ZaGateway`] (token endpoint, FHIR read and
//! write) with the demo's host implementations ([`Backend`], [`Audit`]) behind
//! [`back_channel`], which maps the ZAL's paths to the router's. The front channel
//! (authorization endpoint, the TEST DigiD stand-in, the consent screen with its
//! CONSENT-5 evidence) is still the hand-written handlers here, on the same
//! authorization server; the router's own front routes are not routed yet. What the
//! adapter needed for them is in it now (the consent page that cannot be made,
//! `ConsentUi::try_render`; a late answer to an expired flow, `FlowStore::take_late`;
//! the LISTS-13 serving check at the authorization endpoint, `FhirBackend::serves`).
//! Still to move: the pending-flow table (the demo's 429 for one source, its run-time
//! global limit, one log entry per expired flow with its stage, which `FlowStore::sweep`
//! does not report), and the consent screen with its anti-CSRF token, DecisionBook and
//! evidence ledger as a `ConsentUi`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Extension, RawQuery, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use tower::ServiceExt;

use medmij_consent::evidence::{
    EvidenceConfig, EvidenceLedger, EvidenceRecord, FileEvidenceLedger, PersonId, ShownText,
};
use medmij_consent::{
    Bevestiging, ConsentKind, ConsentRequest, CsrfToken, Decision, DecisionBook, FlowId, Language,
    PageOptions, PostedDecision, Side, Toestemming, Variables, Wording, render_page,
};
use medmij_log::{Action, ActorKind, Domain, Object, Outcome, SubjectId};
use medmij_oauth::adapter::{
    AuditEvent, AuditSink, Authenticator, Clock, DEFAULT_FHIR_BODY_LIMIT, DataAvailability,
    DefaultPages, Endpoint, FhirBackend, FhirReply, FlowInfo, HostError, HostRequest, MtlsClient,
    ZaGateway, ZaHooks, ZaSettings,
};
use medmij_oauth::{
    AsyncAuthorizationServer, Authentication, AuthorizationServer, ClientId, ClientRegistry,
    ConsentDecision, ConsentOutcome, FlowLimits, HttpResponse, Interaction, InvalidRequest,
    MemoryFlowStore, MemoryStore, PendingFlows, ResourceAccess, ScopeGegevensdienstId,
    ServerConfig, Session, Subject, UseCase, Zorgaanbiedernaam,
};

use crate::embed::ConsentScreens;

use super::audit::{AuditLog, Entry};
use super::limits::FLOW_TIMEOUT;
use super::lists::ZaLists;
use super::net::cookie;
use super::net::{self, PeerAddr, PeerNames};
use super::serving::{self, Difference, Offer};
use super::trace::{Actor, StepOutcome, Trace};
use super::{
    DemoError, GEGEVENSDIENST, GEGEVENSDIENST_2, GEGEVENSDIENST_DELEN, LEZER, ZA_HOST,
    ZORGAANBIEDER,
};
use medmij_types::RuleId;

/// The care provider's display name in the consent text (the DVZA's own relation
/// with it, CONSENT-1).
fn display_name(zorgaanbieder: &str) -> &'static str {
    if zorgaanbieder == LEZER {
        "Huisartsenpraktijk Demo"
    } else {
        "UMC Demo"
    }
}

/// TEST STAND-IN FOR DigiD. Not DigiD, not SAML: a page on the ZA GW, clearly
/// labelled as a test stand-in, where the person either "logs in" as one fixed
/// test person or cancels. In production the ZA GW is a SAML SP of DigiD here
/// (MedMij OAUTH-11); cancelling is what "identity cannot be established" looks
/// like (OAUTH-12 case 2).
pub(crate) struct TestDigidStandIn;

impl TestDigidStandIn {
    /// The care provider's local, pseudonymous identifier of the fixed test person
    /// (never a BSN on the wire; OAUTH-11 "no person identifier between gateways").
    pub(crate) const PERSON: &'static str = "za-person-0001";
    /// Where the stand-in lives on the ZA GW's front channel.
    pub(crate) const PATH: &'static str = "/test-digid";

    /// The login page's HTML: a form that posts `action=login` or `action=cancel`, with
    /// `hidden` fields, to `action`.
    fn html(action: &str, hidden: &[(&str, &str)]) -> String {
        let e = medmij_consent::escape_html;
        let fields: String = hidden
            .iter()
            .map(|(k, v)| {
                format!(
                    "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                    e(k),
                    e(v)
                )
            })
            .collect();
        format!(
            "<!doctype html><html lang=\"nl\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>TEST DigiD stand-in</title></head><body>\
             <main><h1>TEST DigiD stand-in</h1>\
             <p><strong>Dit is niet DigiD.</strong> Dit is een testvoorziening van het \
             MedMij-demonetwerk. U logt in als de vaste testpersoon; er wordt niets \
             gevraagd of gecontroleerd.</p>\
             <p lang=\"en\"><strong>This is not DigiD.</strong> It is a test stand-in of \
             the MedMij demo network: you log in as the fixed test person.</p>\
             <form method=\"post\" action=\"{action}\">{fields}\
             <button type=\"submit\" id=\"digid-login\" name=\"action\" value=\"login\">\
             Inloggen als testpersoon</button> \
             <button type=\"submit\" id=\"digid-cancel\" name=\"action\" value=\"cancel\">\
             Annuleren</button></form></main></body></html>",
            action = e(action),
        )
    }

    /// The login form for medmij-oauth's router: it posts back to `callback`.
    fn form(callback: &str) -> String {
        Self::html(callback, &[])
    }

    /// The login page for one pending flow.
    fn page(flow: &str, csrf: &str) -> Response {
        let html = Self::html(Self::PATH, &[("flow", flow), ("csrf_token", csrf)]);
        let mut r = net::html(200, html);
        for (k, v) in [
            ("X-Frame-Options", "DENY"),
            (
                "Content-Security-Policy",
                "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
            ("Cache-Control", "no-store"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Content-Type-Options", "nosniff"),
        ] {
            r = net::with_header(r, k, v);
        }
        r
    }

    fn person() -> Subject {
        Subject::new(Self::PERSON).expect("a valid subject")
    }
}

/// The cookie that binds a flow to the browser that started it (RFC 6819
/// 4.4.1.8 via MedMij OAUTH-14): set on the authorization request, checked at the
/// DigiD stand-in and on the consent screen, so that a flow id alone continues
/// nothing.
pub(crate) const BROWSER_COOKIE: &str = "za_browser";

/// Compares two secrets in time independent of where they differ.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Per-client Gegevensdiensten as a later OCL release carries them (MedMij LISTS-4),
/// by client hostname. A stand-in built here: the published release2 OCL has no
/// element for them and medmij-lists cannot fill the field from it.
pub(crate) type OclGegevensdiensten = Arc<Mutex<HashMap<String, Vec<String>>>>;

/// The OCL in a list store as medmij-oauth's client registry (MedMij OAUTH-3, LISTS-4).
pub(crate) struct OclRegistry {
    ocl: Arc<medmij_lists::ListStore<medmij_lists::OAuthclientlist>>,
    /// Used only for a client whose OCL entry does not name its Gegevensdiensten.
    overlay: OclGegevensdiensten,
}

impl ClientRegistry for OclRegistry {
    fn is_listed(&self, client: &ClientId) -> bool {
        self.ocl
            .current()
            .is_some_and(|i| i.list().contains(client.as_str()))
    }
    /// MedMij LISTS-4: where the OCL names the client's Gegevensdiensten, only those;
    /// where it does not, no restriction (`None`).
    fn may_use(&self, client: &ClientId, gegevensdienst: &ScopeGegevensdienstId) -> Option<bool> {
        let cur = self.ocl.current()?;
        let entry = cur.list().get(client.as_str())?;
        if let Some(ids) = entry.gegevensdiensten() {
            return Some(ids.iter().any(|i| i.as_str() == gegevensdienst.as_str()));
        }
        let overlay = self.overlay.lock().unwrap_or_else(|e| e.into_inner());
        let ids = overlay.get(client.as_str())?;
        Some(ids.iter().any(|i| i == gegevensdienst.as_str()))
    }
}

/// Where a pending flow stands: at the DigiD stand-in, or on the consent screen.
enum Stage {
    AwaitingLogin,
    AwaitingConsent {
        kind: ConsentKind,
        /// The rendered consent page and its headers (served again on reload).
        page: medmij_consent::ConsentPage,
        /// The text shown, its version and filled variables (for the CONSENT-5
        /// evidence).
        shown: Box<ShownText>,
    },
}

/// A flow between the authorization request and the person's answer.
struct Pending {
    session: Session,
    started: SystemTime,
    csrf: CsrfToken,
    delen: bool,
    stage: Stage,
    /// Where the authorization request came from (counted per source, OAUTH-14).
    source: IpAddr,
    /// The `client_id` of the request (counted per client, OAUTH-14).
    client: String,
    /// The value of [`BROWSER_COOKIE`] of the browser that started the flow.
    browser: String,
}

/// The pending flows by flow id, with how many each source and each client has.
#[derive(Default)]
struct Flows {
    map: HashMap<String, Pending>,
    per_source: HashMap<IpAddr, usize>,
    per_client: HashMap<String, usize>,
}

fn count_down<K: std::hash::Hash + Eq>(m: &mut HashMap<K, usize>, k: &K) {
    if let Some(n) = m.get_mut(k) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            m.remove(k);
        }
    }
}

impl Flows {
    fn insert(&mut self, id: String, p: Pending) {
        *self.per_source.entry(p.source).or_default() += 1;
        *self.per_client.entry(p.client.clone()).or_default() += 1;
        if let Some(old) = self.map.insert(id, p) {
            self.uncount(&old);
        }
    }
    fn remove(&mut self, id: &str) -> Option<Pending> {
        let p = self.map.remove(id)?;
        self.uncount(&p);
        Some(p)
    }
    fn uncount(&mut self, p: &Pending) {
        count_down(&mut self.per_source, &p.source);
        count_down(&mut self.per_client, &p.client);
    }
}

/// Why the authorization endpoint turned a valid request away (OAUTH-14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Busy {
    /// [`super::limits::MAX_PENDING_FLOWS`] reached.
    Global,
    /// [`super::limits::MAX_PENDING_PER_SOURCE`] reached for this source.
    Source,
    /// [`super::limits::MAX_PENDING_PER_CLIENT`] reached for this client.
    Client,
}

/// Why a step of the front channel refused a flow id.
enum NoFlow {
    /// Unknown, over, at another stage, or a wrong anti-CSRF token.
    Gone(&'static str),
    /// The flow exists, but this browser did not start it.
    Foreign,
}

/// The medmij-oauth ZA GW router with the demo's host implementations. Only its token and
/// resource routes are served (see [`back_channel`]); the authenticator, data check and
/// consent screens are wired for its front routes, which the front channel does not route
/// yet.
type Gateway = ZaGateway<
    MemoryStore,
    OclRegistry,
    MemoryFlowStore,
    DigidSeam,
    Data,
    ConsentScreens,
    Backend,
    Audit,
>;

/// What the demo ZA GW's host implementations share: its lists, log, trace, demo
/// switches and what it is configured to serve.
pub(crate) struct Core {
    lists: ZaLists,
    log: AuditLog,
    trace: Arc<Trace>,
    za: Zorgaanbiedernaam,
    gd: ScopeGegevensdienstId,
    /// The second Verzamelen Gegevensdienst (MedMij OAUTH-5, release 1.5).
    gd_2: ScopeGegevensdienstId,
    lezer: Zorgaanbiedernaam,
    gd_delen: ScopeGegevensdienstId,
    /// Demo switch: the back end has no data of anyone (OAUTH-12 case 3).
    no_data: AtomicBool,
    /// Demo switch: the back end puts the person's BSN in the Bundle (MedMij OAUTH-16).
    bsn_in_payload: AtomicBool,
    /// Whether the ZA GW leaves BSN elements empty before sending (MedMij OAUTH-16; on
    /// by default, off only to play a non-conforming Bron).
    strip_bsn: AtomicBool,
    /// What this gateway is configured to serve (checked against the ZAL in force,
    /// MedMij LISTS-13).
    offers: Vec<Offer>,
    /// The last [`MAX_RECEIVED`] requests that arrived at this gateway (method, path,
    /// query and body as text), for checks that no person identifier travels
    /// (OAUTH-16).
    received: Mutex<std::collections::VecDeque<String>>,
}

pub(crate) struct ZaGw {
    core: Arc<Core>,
    /// medmij-oauth's ZA GW router (token and resource endpoints).
    gateway: Gateway,
    /// Pending flows by flow id (expire after [`FLOW_TIMEOUT`]).
    flows: Mutex<Flows>,
    book: Mutex<DecisionBook>,
    /// The CONSENT-5 evidence ledger: every grant and refusal, for the Zorgaanbieder.
    evidence: Arc<FileEvidenceLedger>,
    /// The Ed25519 key that signs the ledger and its exports (generated at start).
    evidence_key: ed25519_dalek::SigningKey,
    /// See [`OclGegevensdiensten`].
    ocl_gegevensdiensten: OclGegevensdiensten,
    /// The ZAL Volgnummer whose differences with `offers` were last reported.
    zal_checked: Mutex<Option<String>>,
    /// Handshake refusals being appended to the log right now.
    refusals_in_flight: Arc<std::sync::atomic::AtomicUsize>,
    /// See [`super::limits::MAX_PENDING_FLOWS`].
    max_pending: std::sync::atomic::AtomicUsize,
    /// See [`super::limits::MAX_PENDING_PER_SOURCE`].
    max_per_source: usize,
    /// See [`super::limits::MAX_PENDING_PER_CLIENT`].
    max_per_client: usize,
}

type R = Result<Response, DemoError>;

use super::limits::MAX_RECEIVED_REQUESTS as MAX_RECEIVED;

/// The test person's BSN that the demo back end puts in a Bundle with
/// `--bsn-in-payload` (a number that passes the elfproef, MedMij OAUTH-16).
pub(crate) const TEST_BSN: &str = "999990019";

impl std::ops::Deref for ZaGw {
    type Target = Core;
    fn deref(&self) -> &Core {
        &self.core
    }
}

impl Core {
    /// This gateway's clock (the real one plus the demo offset).
    fn now(&self) -> SystemTime {
        self.lists.fetcher().now()
    }

    /// Keeps what arrived (bounded to [`MAX_RECEIVED`]).
    fn note_received(&self, method: &str, path: &str, query: &str, body: &[u8]) {
        let mut r = self.received.lock().unwrap_or_else(|e| e.into_inner());
        if r.len() >= MAX_RECEIVED {
            r.pop_front();
        }
        r.push_back(format!(
            "{method} {path}?{query} {}",
            String::from_utf8_lossy(body)
        ));
    }

    /// Whether this gateway serves Gegevensdienst `id` of `naam` at `now`: configured,
    /// and listed at its endpoints by the ZAL in force or, for 3600 s, by the version
    /// before (MedMij LISTS-13, LISTS-10).
    fn serves(&self, naam: &str, id: &str, now: SystemTime) -> bool {
        self.offers.iter().any(|o| o.naam == naam && o.id == id)
            && serving::serves(&self.lists.zal, ZA_HOST, naam, id, now)
    }

    fn subject(id: &str) -> Option<SubjectId> {
        SubjectId::new(id, Domain::Zorgaanbieder).ok()
    }
}

impl ZaGw {
    pub(crate) fn new(
        lists: ZaLists,
        log: AuditLog,
        trace: Arc<Trace>,
        limits: &super::Limits,
        back_port: u16,
        evidence_path: &std::path::Path,
    ) -> Result<Self, DemoError> {
        let za = Zorgaanbiedernaam::new(ZORGAANBIEDER)?;
        // MedMij CONSENT-5: the evidence ledger in the gateway's directory, signed
        // with a key generated at start.
        let mut seed = [0u8; 32];
        rand::fill(&mut seed[..]);
        let evidence_key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let (evidence, _) =
            FileEvidenceLedger::open(evidence_path, EvidenceConfig::new(evidence_key.clone()))?;
        trace.step(
            Actor::ZaGw,
            &[RuleId::Consent5],
            StepOutcome::Done,
            format!(
                "consent evidence ledger opened: {}",
                evidence_path.display()
            ),
        );
        let back = format!("https://{ZA_HOST}:{back_port}");
        // What this gateway is configured to serve, per (Zorgaanbieder,
        // Gegevensdienst): its endpoints under `prefix` (MedMij LISTS-13).
        let offer = |naam: &str, id: &str, prefix: &str, rol: &str| Offer {
            naam: naam.into(),
            id: id.into(),
            authorize: format!("https://{ZA_HOST}{prefix}/oauth/authorize"),
            token: format!("{back}/oauth/token"),
            resources: vec![(rol.into(), format!("{back}{prefix}/fhir"))],
        };
        let offers = vec![
            offer(ZORGAANBIEDER, GEGEVENSDIENST, "", super::SYSTEEMROL),
            offer(ZORGAANBIEDER, GEGEVENSDIENST_2, "", super::SYSTEEMROL),
            offer(
                LEZER,
                GEGEVENSDIENST_DELEN,
                "/lezer",
                super::SYSTEEMROL_LEZER,
            ),
        ];
        let gd = ScopeGegevensdienstId::new(GEGEVENSDIENST)?;
        let gd_2 = ScopeGegevensdienstId::new(GEGEVENSDIENST_2)?;
        let lezer = Zorgaanbiedernaam::new(LEZER)?;
        let gd_delen = ScopeGegevensdienstId::new(GEGEVENSDIENST_DELEN)?;
        let config = ServerConfig::new()
            .offer(za.clone(), gd.clone(), UseCase::Verzamelen)
            .offer(za.clone(), gd_2.clone(), UseCase::Verzamelen)
            .offer(lezer.clone(), gd_delen.clone(), UseCase::Delen)
            // MedMij OAUTH-5: from release 1.5 one request may carry several pairs of
            // one Zorgaanbieder (Verzamelen only); mandatory for the DVZA.
            .allow_multiple_pairs(true);
        let ocl_gegevensdiensten = OclGegevensdiensten::default();
        let server = AuthorizationServer::new(
            config,
            OclRegistry {
                ocl: lists.ocl.clone(),
                overlay: ocl_gegevensdiensten.clone(),
            },
            MemoryStore::new(),
        );
        let core = Arc::new(Core {
            lists,
            log,
            trace,
            za,
            gd,
            gd_2,
            lezer,
            gd_delen,
            no_data: AtomicBool::new(false),
            bsn_in_payload: AtomicBool::new(false),
            strip_bsn: AtomicBool::new(true),
            received: Mutex::default(),
            offers,
        });
        let clock = {
            let core = core.clone();
            Clock::new(move || core.now())
        };
        let flow_limits = FlowLimits::default();
        let hooks = ZaHooks {
            authenticator: DigidSeam { core: core.clone() },
            data: Data { core: core.clone() },
            consent: ConsentScreens {
                aanbieder: display_name(ZORGAANBIEDER).into(),
                gegevensdienst: super::lists::GEGEVENSDIENST_NAAM.into(),
            },
            fhir: Backend { core: core.clone() },
            audit: Audit { core: core.clone() },
            pages: DefaultPages,
        };
        let gateway = ZaGateway::new(
            AsyncAuthorizationServer::new(server),
            PendingFlows::new(MemoryFlowStore::new(flow_limits), flow_limits),
            hooks,
            ZaSettings {
                clock,
                ..ZaSettings::default()
            },
        );
        Ok(ZaGw {
            core,
            gateway,
            flows: Mutex::new(Flows::default()),
            book: Mutex::new(DecisionBook::new()),
            evidence: Arc::new(evidence),
            evidence_key,
            zal_checked: Mutex::new(None),
            ocl_gegevensdiensten,
            refusals_in_flight: Arc::default(),
            max_pending: std::sync::atomic::AtomicUsize::new(limits.max_pending_flows),
            max_per_source: limits.max_pending_per_source,
            max_per_client: limits.max_pending_per_client,
        })
    }

    /// The lists this gateway fetches.
    pub(crate) fn lists(&self) -> &ZaLists {
        &self.lists
    }

    /// The authorization server (shared with medmij-oauth's router).
    fn server(&self) -> &AuthorizationServer<MemoryStore, OclRegistry> {
        self.gateway.server().inner()
    }

    /// Moves this gateway's clock forward.
    pub(crate) fn advance_clock(&self, by: Duration) {
        self.lists.fetcher().advance_clock(by);
    }

    /// From now on the back end has no data of the person.
    pub(crate) fn set_no_data(&self) {
        self.no_data.store(true, Ordering::Relaxed);
    }

    /// From now on the back end puts the person's BSN in the Bundle it hands over
    /// (MedMij OAUTH-16); with `strip` the ZA GW leaves it empty before sending, as it
    /// must, without it the ZA GW plays a non-conforming Bron.
    pub(crate) fn set_bsn_in_payload(&self, strip: bool) {
        self.bsn_in_payload.store(true, Ordering::Relaxed);
        self.strip_bsn.store(strip, Ordering::Relaxed);
    }

    /// From now on the OCL names `ids` as the Gegevensdiensten `client` may use
    /// (MedMij LISTS-4; see [`OclGegevensdiensten`]).
    pub(crate) fn restrict_client(&self, client: &str, ids: &[&str]) {
        self.ocl_gegevensdiensten
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                client.to_owned(),
                ids.iter().map(|s| (*s).to_owned()).collect(),
            );
    }

    /// The requests that arrived, oldest first (at most [`MAX_RECEIVED`]).
    pub(crate) fn received(&self) -> Vec<String> {
        let r = self.received.lock().unwrap_or_else(|e| e.into_inner());
        r.iter().cloned().collect()
    }

    /// Sets how many flows may wait for a person at once.
    pub(crate) fn limit_pending_flows(&self, n: usize) {
        self.max_pending.store(n, Ordering::Relaxed);
    }

    /// The number of flows waiting for the person.
    pub(crate) fn pending_flows(&self) -> usize {
        self.flows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .len()
    }

    /// Logs a refused back-channel handshake (MedMij TLS-3, TLS-4, LOG-1). Called
    /// from inside the handshake (a sync callback): the append goes to the blocking
    /// pool without waiting for it.
    pub(crate) fn log_refusal(self: &Arc<Self>, ev: &medmij_tls::RefusalEvent) {
        let who = ev
            .peer_names
            .first()
            .cloned()
            .unwrap_or_else(|| "unknown".into());
        let entry = Entry {
            event_type: "tls.refused",
            action: Action::Execute,
            actor: (who, ActorKind::System),
            subject: None,
            object: Object::new("tls-peer", ev.peer_names.join(",")),
            outcome: Outcome::Refused,
            detail: Some(ev.refusal.to_string()),
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            // Not on a tokio thread: append here rather than lose the event.
            if let Err(e) = self.log.record_blocking(entry) {
                self.trace.step(
                    Actor::ZaGw,
                    &[RuleId::Log1],
                    StepOutcome::Failed,
                    format!("logging a refusal failed: {e}"),
                );
            }
            return;
        };
        let me = self.clone();
        self.refusals_in_flight.fetch_add(1, Ordering::SeqCst);
        rt.spawn(async move {
            if let Err(e) = me.log.record(entry).await {
                me.trace.step(
                    Actor::ZaGw,
                    &[RuleId::Log1],
                    StepOutcome::Failed,
                    format!("logging a refusal failed: {e}"),
                );
            }
            me.refusals_in_flight.fetch_sub(1, Ordering::SeqCst);
        });
    }

    /// Logs a connection that ended before any request (MedMij LOG-1: a refused
    /// handshake, on the back channel a missing client certificate included, with
    /// the source address). A refusal of a certificate that was presented
    /// names the peer and is its own entry; a failure without one is anonymous and
    /// counted per source (OAUTH-14).
    pub(crate) fn handshake_failed(self: &Arc<Self>, f: net::HandshakeFailure) {
        let me = self.clone();
        self.refusals_in_flight.fetch_add(1, Ordering::SeqCst);
        // A refusal handed over by `refusal_captured` was already counted in flight.
        let in_flight = 1 + usize::from(f.refusal.is_some());
        tokio::spawn(async move {
            let source = f.addr.ip();
            let r = match &f.refusal {
                Some(ev) => me
                    .log
                    .record_from(
                        Entry {
                            event_type: "tls.refused",
                            action: Action::Execute,
                            actor: (
                                ev.peer_names
                                    .first()
                                    .cloned()
                                    .unwrap_or_else(|| "unknown".into()),
                                ActorKind::System,
                            ),
                            subject: None,
                            object: Object::new("tls-peer", ev.peer_names.join(",")),
                            outcome: Outcome::Refused,
                            detail: Some(ev.refusal.to_string()),
                        },
                        Some(source),
                    )
                    .await
                    .map(|_| ()),
                None => {
                    me.trace.step(
                        Actor::ZaGw,
                        &[RuleId::Tls2, RuleId::Log1],
                        StepOutcome::Refused,
                        format!("connection from {source} refused: {}", f.error),
                    );
                    me.log
                        .record_anonymous(
                            Entry {
                                event_type: "tls.refused",
                                action: Action::Execute,
                                actor: ("unknown".into(), ActorKind::System),
                                subject: None,
                                object: Object::new("tls-peer", "anonymous"),
                                outcome: Outcome::Refused,
                                detail: Some(f.error.clone()),
                            },
                            source,
                        )
                        .await
                        .map(|_| ())
                }
            };
            if let Err(e) = r {
                me.trace.step(
                    Actor::ZaGw,
                    &[RuleId::Log1],
                    StepOutcome::Failed,
                    format!("logging a refusal failed: {e}"),
                );
            }
            me.refusals_in_flight.fetch_sub(in_flight, Ordering::SeqCst);
        });
    }

    /// A refusal was handed to a server task inside its handshake (see
    /// `net::capture_refusal`); it is in flight until `handshake_failed` has
    /// logged it. Counted here, before the peer even sees the alert, so that
    /// `settle_log` waits for it.
    pub(crate) fn refusal_captured(&self) {
        self.refusals_in_flight.fetch_add(1, Ordering::SeqCst);
    }

    /// Logs a refusal of an anonymous front-channel request from `source`
    /// (MedMij LOG-1; counted per source, OAUTH-14). A failing log is traced: the
    /// refusal itself stands.
    async fn refuse_anonymous(&self, source: IpAddr, event_type: &'static str, detail: String) {
        let entry = Entry {
            event_type,
            action: Action::Execute,
            actor: ("unknown".into(), ActorKind::User),
            subject: None,
            object: Object::new("front-channel-request", event_type),
            outcome: Outcome::Refused,
            detail: Some(detail),
        };
        if let Err(e) = self.log.record_anonymous(entry, source).await {
            self.trace.step(
                Actor::ZaGw,
                &[RuleId::Log1],
                StepOutcome::Failed,
                format!("logging a refusal failed: {e}"),
            );
        }
    }

    /// Writes the counting entries of closed anonymous-refusal windows (all of
    /// them with `all`).
    pub(crate) async fn flush_anonymous(&self, all: bool) {
        if let Err(e) = self.log.flush_anonymous(all).await {
            self.trace.step(
                Actor::ZaGw,
                &[RuleId::Log1],
                StepOutcome::Failed,
                format!("logging refusal counts failed: {e}"),
            );
        }
    }

    /// Waits until every refusal reported so far is in the log (anonymous ones
    /// counted so far included).
    pub(crate) async fn settle_log(&self) {
        while self.refusals_in_flight.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        self.flush_anonymous(true).await;
    }

    /// Fetches the ZAL, OCL, GNL and WHL again (MedMij LISTS-8), then reports how what
    /// it serves differs from a new ZAL (LISTS-13).
    pub(crate) async fn refresh_lists(&self) -> Result<(), DemoError> {
        let r = self.lists.refresh().await;
        self.check_offer().await?;
        r
    }

    /// MedMij LISTS-13: once per ZAL version, reports (trace) and logs (LOG-1) every
    /// difference between what this gateway is configured to serve and what the ZAL
    /// in force lists at its endpoints. Returns the differences found (empty when the
    /// version was checked before).
    pub(crate) async fn check_offer(&self) -> Result<Vec<Difference>, DemoError> {
        let Some(zal) = self.lists.zal.current() else {
            return Ok(Vec::new());
        };
        let volgnummer = zal.list().volgnummer().to_string();
        {
            let mut checked = self.zal_checked.lock().unwrap_or_else(|e| e.into_inner());
            if checked.as_deref() == Some(volgnummer.as_str()) {
                return Ok(Vec::new());
            }
            *checked = Some(volgnummer.clone());
        }
        let diffs = serving::differences(&self.offers, zal.list(), ZA_HOST);
        if diffs.is_empty() {
            self.trace.step(
                Actor::ZaGw,
                &[RuleId::Lists13],
                StepOutcome::Done,
                format!(
                    "ZAL {volgnummer}: it lists exactly the {} Gegevensdienst(en) this gateway \
                     is configured to serve, at its endpoints",
                    self.offers.len()
                ),
            );
        }
        for d in &diffs {
            self.trace.step(
                Actor::ZaGw,
                &[RuleId::Lists13, RuleId::Log1],
                StepOutcome::Refused,
                format!("ZAL {volgnummer} differs from the configuration: {d}; logged"),
            );
            self.log
                .record(Entry {
                    event_type: "lists.zal.difference",
                    action: Action::Execute,
                    actor: (ZA_HOST.into(), ActorKind::System),
                    subject: None,
                    object: Object::new("ZAL", volgnummer.clone()),
                    outcome: Outcome::Failure,
                    detail: Some(format!("LISTS-13: {d}")),
                })
                .await?;
        }
        Ok(diffs)
    }

    pub(crate) fn log(&self) -> &AuditLog {
        &self.log
    }

    fn answer(&self, r: R) -> Response {
        r.unwrap_or_else(|e| {
            self.trace.step(
                Actor::ZaGw,
                &[],
                StepOutcome::Failed,
                format!("internal error: {e}"),
            );
            net::html(500, "internal error")
        })
    }

    /// The front channel: authorization endpoints, the DigiD stand-in, the consent
    /// screen.
    pub(crate) fn front_router(me: &Arc<Self>) -> Router {
        Router::new()
            .route("/oauth/authorize", get(front_authorize))
            .route("/lezer/oauth/authorize", get(front_authorize))
            .route(
                TestDigidStandIn::PATH,
                get(front_login_page).post(front_login),
            )
            .route(
                "/oauth/consent",
                get(front_consent_page).post(front_consent),
            )
            .with_state(me.clone())
    }

    /// The back channel (mutual TLS): medmij-oauth's token and resource endpoints at the
    /// paths the ZAL lists (`/oauth/token`, `/fhir/…`, `/lezer/fhir/…`), see
    /// [`back_channel`].
    pub(crate) fn back_router(me: &Arc<Self>) -> Router {
        let (core, inner) = (me.core.clone(), me.gateway.router());
        Router::new().fallback(move |req: Request| {
            let (core, inner) = (core.clone(), inner.clone());
            async move { back_channel(&core, inner, req).await }
        })
    }

    /// Ends flows the person left (OAUTH-12 case 5 for those on the consent
    /// screen), logs each, and forgets decisions older than [`FLOW_TIMEOUT`].
    /// Returns how many flows ended.
    pub(crate) async fn expire_flows(&self) -> Result<usize, DemoError> {
        let now = self.now();
        let expired: Vec<(String, Pending)> = {
            let mut flows = self.flows.lock().unwrap_or_else(|e| e.into_inner());
            let ids: Vec<String> = flows
                .map
                .iter()
                .filter(|(_, p)| Self::is_expired(p, now))
                .map(|(k, _)| k.clone())
                .collect();
            ids.into_iter()
                .filter_map(|k| flows.remove(&k).map(|p| (k, p)))
                .collect()
        };
        for (flow, p) in &expired {
            let detail = match &p.stage {
                Stage::AwaitingLogin => "the person did not log in".to_owned(),
                Stage::AwaitingConsent { kind, .. } => {
                    let side = if *kind == ConsentKind::Bevestiging {
                        Side::Lezer
                    } else {
                        Side::Bron
                    };
                    let record = FlowId::new(flow.clone()).ok().and_then(|f| {
                        self.book
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .undetermined(&f, side, now)
                            .ok()
                    });
                    record.map_or_else(|| "the person did not answer".to_owned(), |r| r.to_json())
                }
            };
            self.log
                .record(Entry {
                    event_type: "oauth.flow.expired",
                    action: Action::Execute,
                    actor: ("za-gw".into(), ActorKind::System),
                    subject: None,
                    object: Object::new(
                        "authorization-request",
                        p.session.request().scope().to_string(),
                    ),
                    outcome: Outcome::Failure,
                    detail: Some(detail),
                })
                .await?;
        }
        if !expired.is_empty() {
            self.trace.step(
                Actor::ZaGw,
                &[RuleId::Oauth12, RuleId::Log1],
                StepOutcome::Case(5),
                format!(
                    "{} flow(s) left by the person for over {} s ended and logged",
                    expired.len(),
                    FLOW_TIMEOUT.as_secs()
                ),
            );
        }
        if let Some(t) = now.checked_sub(FLOW_TIMEOUT) {
            self.book
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .forget_before(t);
        }
        Ok(expired.len())
    }

    /// Takes flow `flow` out of the pending ones if this browser started it
    /// (`browser`, the value of its [`BROWSER_COOKIE`]) and `at_stage` accepts it
    /// (and returns what it derived from it); otherwise leaves it there.
    fn take_flow<T>(
        &self,
        flow: &str,
        browser: Option<&str>,
        at_stage: impl FnOnce(&Pending) -> Option<T>,
    ) -> Result<(Pending, T), NoFlow> {
        let mut flows = self.flows.lock().unwrap_or_else(|e| e.into_inner());
        let p = flows
            .map
            .get(flow)
            .ok_or(NoFlow::Gone("unknown or finished flow"))?;
        if !Self::same_browser(p, browser) {
            return Err(NoFlow::Foreign);
        }
        let t = at_stage(p).ok_or(NoFlow::Gone("flow at another step, or a wrong form"))?;
        flows
            .remove(flow)
            .map(|p| (p, t))
            .ok_or(NoFlow::Gone("unknown or finished flow"))
    }

    /// Whether `browser` (the request's [`BROWSER_COOKIE`]) is the browser that
    /// started flow `p`.
    fn same_browser(p: &Pending, browser: Option<&str>) -> bool {
        browser.is_some_and(|b| ct_eq(p.browser.as_bytes(), b.as_bytes()))
    }

    /// Refuses a flow id as `why` says: a plain page (HTTP 400), no redirect, and a
    /// NEN 7513 entry (LOG-1). A flow a browser did not start stays pending for
    /// the browser that did.
    async fn no_flow(&self, why: NoFlow, step: &'static str, source: IpAddr) -> Response {
        match why {
            NoFlow::Gone(reason) => {
                self.refuse_anonymous(source, "oauth.flow.unknown", format!("{step}: {reason}"))
                    .await;
                Self::flow_gone()
            }
            NoFlow::Foreign => {
                self.trace.step(Actor::ZaGw, &[RuleId::Oauth14, RuleId::Log1], StepOutcome::Refused,
                    format!("{step}: a flow id without the cookie of the browser that started it: refused"),
                );
                self.refuse_anonymous(
                    source,
                    "oauth.flow.foreign",
                    format!("{step}: flow id presented without the cookie of the browser that started it"),
                )
                .await;
                net::html(
                    400,
                    net::page(
                        "Andere browser",
                        "Deze aanvraag is in een andere browser begonnen. Begin opnieuw vanuit \
                         uw PGO, in deze browser.",
                        None,
                    ),
                )
            }
        }
    }

    fn is_expired(p: &Pending, now: SystemTime) -> bool {
        now.duration_since(p.started)
            .is_ok_and(|d| d >= FLOW_TIMEOUT)
    }

    /// A consent form that is malformed, has a wrong anti-CSRF token or was posted
    /// before: refused with what was wrong (HTTP 400, OAUTH-14), no redirect.
    async fn bad_form(&self, e: String, source: IpAddr) -> Response {
        self.trace.step(
            Actor::ZaGw,
            &[RuleId::Oauth14, RuleId::Consent1],
            StepOutcome::Refused,
            format!("consent form refused: {e}"),
        );
        self.refuse_anonymous(source, "consent.form.refused", e.clone())
            .await;
        net::html(
            400,
            net::page(
                "Ongeldig formulier",
                &format!("Dit antwoord is niet verwerkt: {e}"),
                None,
            ),
        )
    }

    /// A plain page for a browser whose flow is unknown or over: no redirect (the
    /// client's redirect URI is not known, or the flow already ended).
    fn flow_gone() -> Response {
        net::html(
            400,
            net::page(
                "Sessie onbekend of verlopen",
                "Deze aanvraag is onbekend of al afgelopen. Begin opnieuw vanuit uw PGO.",
                None,
            ),
        )
    }

    async fn authorize(&self, query: &str, headers: &HeaderMap, source: IpAddr) -> R {
        let now = self.now();
        self.note_received("GET", "/oauth/authorize", query, b"");
        let session = match self.server().authorize(query) {
            Ok(s) => s,
            Err(inv) => {
                // MedMij OAUTH-12 case 1: tell the person directly, never redirect.
                self.trace.step(
                    Actor::ZaGw,
                    &[RuleId::Oauth12],
                    StepOutcome::Case(1),
                    format!("invalid authorization request: {}", inv.description()),
                );
                let (status, html) = (inv.status(), invalid_request_page(&inv));
                // An anonymous request: counted per source (LOG-1, OAUTH-14).
                self.refuse_anonymous(source, "oauth.authorize", inv.description())
                    .await;
                return Ok(net::html(status, html));
            }
        };
        // MedMij LISTS-13, LISTS-10: only what the ZAL in force (or, for 3600 s, the
        // version before) lists at this gateway; otherwise OAUTH-12 case 1.
        let scope = session.request().scope();
        let naam = scope.zorgaanbieder().as_str().to_owned();
        if let Some(gd) = scope
            .gegevensdiensten()
            .iter()
            .find(|gd| !self.serves(&naam, gd.as_str(), now))
        {
            let why = format!(
                "the ZAL in force does not list Gegevensdienst {} of {naam} at this gateway \
                 (MedMij LISTS-13)",
                gd.as_str()
            );
            self.trace.step(
                Actor::ZaGw,
                &[RuleId::Oauth12, RuleId::Lists13, RuleId::Lists10],
                StepOutcome::Case(1),
                format!("invalid authorization request: {why}"),
            );
            self.refuse_anonymous(source, "oauth.authorize", why.clone())
                .await;
            return Ok(net::html(400, not_served_page(&why)));
        }
        let delen = session.request().use_case() == UseCase::Delen;
        let client = session.request().client_id().as_str().to_owned();
        let scope_text = session.request().scope().to_string();
        // The browser's cookie: kept if it has one of ours, else a new one.
        let browser = cookie(headers, BROWSER_COOKIE)
            .filter(|v| v.len() == 32 && v.bytes().all(|c| c.is_ascii_hexdigit()))
            .map_or_else(net::random_hex, str::to_owned);
        let flow = net::random_hex();
        let csrf = CsrfToken::new(net::random_hex())?;
        // Admission and insertion under one lock: the limits hold under load
        // (OAUTH-14).
        let busy = {
            let mut flows = self.flows.lock().unwrap_or_else(|e| e.into_inner());
            let busy = if flows.map.len() >= self.max_pending.load(Ordering::Relaxed) {
                Some(Busy::Global)
            } else if flows.per_source.get(&source).copied().unwrap_or(0) >= self.max_per_source {
                Some(Busy::Source)
            } else if flows.per_client.get(&client).copied().unwrap_or(0) >= self.max_per_client {
                Some(Busy::Client)
            } else {
                None
            };
            if busy.is_none() {
                flows.insert(
                    flow.clone(),
                    Pending {
                        session,
                        started: now,
                        csrf,
                        delen,
                        stage: Stage::AwaitingLogin,
                        source,
                        client: client.clone(),
                        browser: browser.clone(),
                    },
                );
            }
            busy
        };
        if let Some(busy) = busy {
            let (status, why, text) = match busy {
                Busy::Global => (
                    503,
                    "too many flows waiting for a person",
                    "Het is op dit moment te druk. Probeer het over enkele minuten opnieuw.",
                ),
                Busy::Source => (
                    429,
                    "too many flows waiting for a person from this address",
                    "Er lopen te veel aanvragen vanaf uw adres. Rond die eerst af of probeer \
                     het over enkele minuten opnieuw.",
                ),
                Busy::Client => (
                    503,
                    "too many flows waiting for a person for this client",
                    "Het is op dit moment te druk. Probeer het over enkele minuten opnieuw.",
                ),
            };
            self.trace.step(
                Actor::ZaGw,
                &[RuleId::Oauth14],
                StepOutcome::Refused,
                format!("{why}: request from {source} turned away (HTTP {status})"),
            );
            self.refuse_anonymous(
                source,
                "oauth.authorize.busy",
                format!("{why}; client {client}, scope {scope_text}"),
            )
            .await;
            return Ok(net::with_header(
                net::html(status, net::page("Even geduld", text, None)),
                "Retry-After",
                "60",
            ));
        }
        self.trace.step(
            Actor::ZaGw,
            &[
                RuleId::Oauth3,
                RuleId::Oauth4,
                RuleId::Oauth5,
                RuleId::Oauth11,
            ],
            StepOutcome::Done,
            format!(
                "{} authorization request from {} (on the OCL) for scope {}: valid; \
                 session created; person sent to the TEST DigiD stand-in",
                if delen { "Delen" } else { "Verzamelen" },
                client,
                scope_text
            ),
        );
        Ok(net::with_header(
            net::redirect(&format!("{}?flow={flow}", TestDigidStandIn::PATH)),
            "Set-Cookie",
            &format!("{BROWSER_COOKIE}={browser}; Path=/; Secure; HttpOnly; SameSite=Lax"),
        ))
    }

    /// Looks flow `flow` up for a page at `step`, for this browser only.
    fn peek_flow<T>(
        &self,
        flow: &str,
        browser: Option<&str>,
        at_stage: impl FnOnce(&Pending) -> Option<T>,
    ) -> Result<T, NoFlow> {
        let flows = self.flows.lock().unwrap_or_else(|e| e.into_inner());
        let p = flows
            .map
            .get(flow)
            .ok_or(NoFlow::Gone("unknown or finished flow"))?;
        if !Self::same_browser(p, browser) {
            return Err(NoFlow::Foreign);
        }
        at_stage(p).ok_or(NoFlow::Gone("flow at another step"))
    }

    async fn login_page(&self, query: &str, headers: &HeaderMap, source: IpAddr) -> R {
        let flow = net::param(query, "flow").unwrap_or_default();
        let found = self.peek_flow(&flow, cookie(headers, BROWSER_COOKIE), |p| {
            matches!(p.stage, Stage::AwaitingLogin).then(|| p.csrf.as_str().to_owned())
        });
        match found {
            Ok(csrf) => Ok(TestDigidStandIn::page(&flow, &csrf)),
            Err(why) => Ok(self.no_flow(why, "DigiD stand-in page", source).await),
        }
    }

    /// The person pressed "log in" or "cancel" at the DigiD stand-in.
    async fn login(&self, form: &str, headers: &HeaderMap, source: IpAddr) -> R {
        let now = self.now();
        let (flow, csrf, action) = (
            net::param(form, "flow").unwrap_or_default(),
            net::param(form, "csrf_token").unwrap_or_default(),
            net::param(form, "action").unwrap_or_default(),
        );
        let taken = self.take_flow(&flow, cookie(headers, BROWSER_COOKIE), |p| {
            (matches!(p.stage, Stage::AwaitingLogin)
                && ct_eq(p.csrf.as_str().as_bytes(), csrf.as_bytes()))
            .then_some(())
        });
        let mut p = match taken {
            Ok((p, ())) => p,
            Err(why) => return Ok(self.no_flow(why, "DigiD stand-in answer", source).await),
        };
        let scope = p.session.request().scope().clone();
        if Self::is_expired(&p, now) || action != "login" {
            // MedMij OAUTH-12 case 2: the identity could not be established.
            let r = p
                .session
                .authenticated(medmij_oauth::Authentication::Failed)?
                .ok_or("no redirect for a failed authentication")?;
            self.log
                .record(Entry {
                    event_type: "oauth.authenticate",
                    action: Action::Execute,
                    actor: ("unknown".into(), ActorKind::User),
                    subject: None,
                    object: Object::new("authorization-request", scope.to_string()),
                    outcome: Outcome::Failure,
                    detail: Some("identity not established (TEST DigiD stand-in)".into()),
                })
                .await?;
            self.trace.step(
                Actor::ZaGw,
                &[RuleId::Oauth12],
                StepOutcome::Case(2),
                "the person did not log in at the TEST DigiD stand-in: logged; redirect with \
                 unauthorized_client",
            );
            return Ok(net::redirect(r.location()));
        }
        let person = TestDigidStandIn::person();
        self.trace.step(
            Actor::DigidStandIn,
            &[RuleId::Oauth11],
            StepOutcome::Done,
            format!(
                "the person logged in as the fixed test person {} (a stand-in, NOT DigiD)",
                TestDigidStandIn::PERSON
            ),
        );
        if let Some(r) = p
            .session
            .authenticated(medmij_oauth::Authentication::Established(person.clone()))?
        {
            return Ok(net::redirect(r.location()));
        }
        // The demo's back-end system holds data of the test person only.
        let has_data =
            person.as_str() == TestDigidStandIn::PERSON && !self.no_data.load(Ordering::Relaxed);
        if let Some(r) = p.session.data_available(has_data)? {
            self.log
                .record(Entry {
                    event_type: "oauth.authorize",
                    action: Action::Execute,
                    actor: (TestDigidStandIn::PERSON.into(), ActorKind::User),
                    subject: Core::subject(TestDigidStandIn::PERSON),
                    object: Object::new("authorization-request", scope.to_string()),
                    outcome: Outcome::Refused,
                    detail: Some("no data of this person for this Gegevensdienst".into()),
                })
                .await?;
            self.trace.step(
                Actor::ZaGw,
                &[RuleId::Oauth12],
                StepOutcome::Case(3),
                "no data of this person for this Gegevensdienst: logged; redirect with \
                 access_denied \"No such resources.\"",
            );
            return Ok(net::redirect(r.location()));
        }
        self.trace.step(
            Actor::ZaGw,
            &[RuleId::Oauth11],
            StepOutcome::Done,
            if p.delen {
                "the Lezer knows this person"
            } else {
                "back end has data of this person for this Gegevensdienst"
            },
        );
        let (kind, page, text, shown) = match self.consent_page(&p, &flow, now) {
            Ok(x) => x,
            Err(e) => {
                // The question cannot be asked, so the answer cannot be established:
                // the flow ends as OAUTH-12 case 5, logged.
                return self
                    .end_undetermined(p, &format!("the consent page could not be made: {e}"), now)
                    .await;
            }
        };
        p.stage = Stage::AwaitingConsent {
            kind,
            page,
            shown: Box::new(shown),
        };
        self.flows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(flow.clone(), p);
        self.trace.step(
            Actor::ZaGw,
            if kind == ConsentKind::Bevestiging {
                &[RuleId::Consent2, RuleId::Oauth13, RuleId::Oauth14]
            } else {
                &[RuleId::Consent1, RuleId::Oauth14]
            },
            StepOutcome::Done,
            format!(
                "{} page shown (frame-busting headers): \"{text}\"",
                if kind == ConsentKind::Bevestiging {
                    "Bevestiging"
                } else {
                    "Toestemming"
                },
            ),
        );
        // Post/redirect/get: the consent screen has its own address.
        let mut r = net::redirect(&format!("/oauth/consent?flow={flow}"));
        *r.status_mut() = axum::http::StatusCode::SEE_OTHER;
        Ok(r)
    }

    /// Asks the question (CONSENT-1 or CONSENT-2) in the decision book and renders
    /// the page. Returns the kind, the page, its Dutch text and the text shown as
    /// the CONSENT-5 evidence records it.
    fn consent_page(
        &self,
        p: &Pending,
        flow: &str,
        now: SystemTime,
    ) -> Result<(ConsentKind, medmij_consent::ConsentPage, String, ShownText), DemoError> {
        let req = p.session.request();
        let scope = req.scope();
        let client = req.client_id();
        // MedMij CONSENT-1: the fixed wording with the GNL name of every
        // Gegevensdienst of the scope (release 1.5: 'A' en 'B') and the OCL name.
        let gnl = self.lists.gnl.current().ok_or("no GNL")?;
        let ocl = self.lists.ocl.current().ok_or("no OCL")?;
        let org = ocl
            .list()
            .get(client.as_str())
            .ok_or("client not on the OCL")?
            .organisatienaam()
            .to_string();
        let vars = Variables::from_scope(
            display_name(scope.zorgaanbieder().as_str()),
            scope,
            |id| gnl.list().weergavenaam(id).map(|n| n.to_string()),
            &org,
        )?;
        let (wording, kind): (Box<dyn Wording>, _) = if p.delen {
            (Box::new(Bevestiging::new(vars)), ConsentKind::Bevestiging)
        } else {
            (Box::new(Toestemming::new(vars)), ConsentKind::Toestemming)
        };
        let flow_id = FlowId::new(flow)?;
        self.book
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ask(ConsentRequest {
                kind,
                flow: flow_id.clone(),
                // One vocabulary (medmij-types): the values cross from
                // medmij-oauth to medmij-consent as they are.
                scope: scope.clone(),
                client: client.clone(),
                zorgaanbieder: scope.zorgaanbieder().clone(),
                csrf: p.csrf.clone(),
                asked_at: now,
            })?;
        // The answer redirects to the client's (validated, OAUTH-4) redirect URI;
        // the page's CSP form-action must allow that origin.
        let redirect_origin = url::Url::parse(req.redirect_uri())
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        let mut options = PageOptions::new("/oauth/consent", &flow_id, &p.csrf);
        options.redirect_origin = Some(&redirect_origin);
        let page = render_page(wording.as_ref(), &options)?;
        Ok((
            kind,
            page,
            wording.full_text(Language::Nl),
            ShownText::of(wording.as_ref(), Language::Nl),
        ))
    }

    /// Ends a flow at the consent step whose answer cannot be established
    /// (OAUTH-12 case 5): logged, and the browser is sent back to the client with
    /// `access_denied` "Authorization failed.".
    async fn end_undetermined(&self, mut p: Pending, why: &str, now: SystemTime) -> R {
        let scope = p.session.request().scope().to_string();
        self.log
            .record_from(
                Entry {
                    event_type: "consent.undetermined",
                    action: Action::Execute,
                    actor: (TestDigidStandIn::PERSON.into(), ActorKind::User),
                    subject: Core::subject(TestDigidStandIn::PERSON),
                    object: Object::new("authorization-request", scope),
                    outcome: Outcome::Failure,
                    detail: Some(why.to_owned()),
                },
                Some(p.source),
            )
            .await?;
        self.trace.step(Actor::ZaGw, &[RuleId::Oauth12, RuleId::Log1], StepOutcome::Case(5),
            format!("{why}: flow ended and logged; redirect with access_denied \"Authorization failed.\""),
        );
        match p.session.consent(ConsentDecision::Undetermined, now)? {
            ConsentOutcome::Undetermined(r) => Ok(net::redirect(r.location())),
            _ => Err("an undetermined answer did not end as undetermined".into()),
        }
    }

    /// Appends a decision to the CONSENT-5 evidence ledger; logs a failure
    /// (LOG-1) and returns false when it could not be registered. An undetermined
    /// answer is no decision (the ledger has no such record): it stays in the NEN
    /// 7513 log only, and true is returned.
    async fn register_evidence(
        &self,
        record: &medmij_consent::ConsentRecord,
        shown: ShownText,
        source: IpAddr,
    ) -> bool {
        if record.decision == Decision::Undetermined {
            self.trace.step(
                Actor::ZaGw,
                &[RuleId::Consent5],
                StepOutcome::Done,
                "undetermined answer: no decision, so no evidence record (NEN 7513 log only)",
            );
            return true;
        }
        let appended = match PersonId::new(TestDigidStandIn::PERSON)
            .and_then(|person| EvidenceRecord::from_consent_record(record, person, shown))
        {
            Ok(rec) => {
                let ledger = self.evidence.clone();
                tokio::task::spawn_blocking(move || ledger.append(&rec))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r.map_err(|e| e.to_string()))
            }
            Err(e) => Err(e.to_string()),
        };
        match appended {
            Ok(seq) => {
                self.trace.step(
                    Actor::ZaGw,
                    &[RuleId::Consent5],
                    StepOutcome::Done,
                    format!(
                        "decision registered in the evidence ledger (record {seq}, text version, \
                         variables, time, client, scope, flow)"
                    ),
                );
                true
            }
            Err(e) => {
                self.trace.step(
                    Actor::ZaGw,
                    &[RuleId::Consent5, RuleId::Oauth12],
                    StepOutcome::Case(5),
                    format!("decision could not be registered as evidence: {e}"),
                );
                let _ = self
                    .log
                    .record_from(
                        Entry {
                            event_type: "consent.evidence",
                            action: Action::Create,
                            actor: (ZA_HOST.into(), ActorKind::System),
                            subject: Core::subject(TestDigidStandIn::PERSON),
                            object: Object::new("consent", record.reference().to_string()),
                            outcome: Outcome::Failure,
                            detail: Some(e),
                        },
                        Some(source),
                    )
                    .await;
                false
            }
        }
    }

    /// The person's decisions in the CONSENT-5 evidence ledger (a verified read).
    pub(crate) fn evidence_of(&self, person: &str) -> Result<Vec<EvidenceRecord>, DemoError> {
        let person = PersonId::new(person)?;
        Ok(self
            .evidence
            .lookup(&person)?
            .into_iter()
            .map(|(_, r)| r)
            .collect())
    }

    /// Verifies the whole evidence ledger; returns the number of records.
    pub(crate) fn verify_evidence(&self) -> Result<u64, DemoError> {
        Ok(self.evidence.verify()?.records)
    }

    /// Exports the person's decisions as a signed document (CONSENT-5); returns it
    /// with the DVZA's public key.
    pub(crate) fn export_evidence(
        &self,
        person: &str,
    ) -> Result<(String, ed25519_dalek::VerifyingKey), DemoError> {
        let person = PersonId::new(person)?;
        let export = self
            .evidence
            .export(&person, &self.evidence_key, self.now())?;
        Ok((
            export.to_json().to_owned(),
            self.evidence_key.verifying_key(),
        ))
    }

    async fn consent_screen(&self, query: &str, headers: &HeaderMap, source: IpAddr) -> R {
        let flow = net::param(query, "flow").unwrap_or_default();
        let found = self.peek_flow(&flow, cookie(headers, BROWSER_COOKIE), |p| match &p.stage {
            Stage::AwaitingConsent { page, .. } => Some(page.clone()),
            Stage::AwaitingLogin => None,
        });
        match found {
            Ok(page) => {
                // The page's own headers (Content-Type included) replace the defaults:
                // exactly one of each.
                let mut r = net::html(200, page.html());
                for (k, v) in page.headers() {
                    r = net::with_header(r, k, v);
                }
                Ok(r)
            }
            Err(why) => Ok(self.no_flow(why, "consent page", source).await),
        }
    }

    async fn consent(&self, form: &str, headers: &HeaderMap, source: IpAddr) -> R {
        let now = self.now();
        let posted = match PostedDecision::from_form(form) {
            Ok(posted) => posted,
            Err(e) => return Ok(self.bad_form(e.to_string(), source).await),
        };
        let taken =
            self.take_flow(
                posted.flow.as_str(),
                cookie(headers, BROWSER_COOKIE),
                |p| match &p.stage {
                    Stage::AwaitingConsent { kind, shown, .. } => Some((*kind, shown.clone())),
                    Stage::AwaitingLogin => None,
                },
            );
        let (mut p, (kind, shown)) = match taken {
            Ok(x) => x,
            Err(why) => return Ok(self.no_flow(why, "consent answer", source).await),
        };
        let bev = kind == ConsentKind::Bevestiging;
        let side = if bev { Side::Lezer } else { Side::Bron };
        let expired = Self::is_expired(&p, now);
        let record = {
            let mut book = self.book.lock().unwrap_or_else(|e| e.into_inner());
            if expired {
                // Too late: the answer cannot be established (OAUTH-12 case 5).
                book.undetermined(&posted.flow, side, now)
            } else {
                book.decide(&posted, side, now)
            }
        };
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                // A bad anti-CSRF token or a replayed form: the flow stays pending
                // for the real answer.
                self.flows
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(posted.flow.to_string(), p);
                return Ok(self.bad_form(e.to_string(), source).await);
            }
        };
        let (mut decision, event_type, outcome) = match (record.decision, bev) {
            (Decision::Granted, false) => (
                ConsentDecision::Granted,
                "consent.granted",
                Outcome::Success,
            ),
            (Decision::Granted, true) => (
                ConsentDecision::Granted,
                "bevestiging.granted",
                Outcome::Success,
            ),
            (Decision::Refused, false) => (
                ConsentDecision::Refused,
                "consent.refused",
                Outcome::Refused,
            ),
            (Decision::Refused, true) => (
                ConsentDecision::Refused,
                "bevestiging.refused",
                Outcome::Refused,
            ),
            _ => (
                ConsentDecision::Undetermined,
                "consent.undetermined",
                Outcome::Failure,
            ),
        };
        // MedMij CONSENT-3, LOG-1: the Bron logs the grant and the refusal.
        self.log
            .record(Entry {
                event_type,
                action: Action::Execute,
                actor: (TestDigidStandIn::PERSON.into(), ActorKind::User),
                subject: Core::subject(TestDigidStandIn::PERSON),
                object: Object::new("consent", record.reference().to_string()),
                outcome,
                detail: Some(record.to_json()),
            })
            .await?;
        // MedMij CONSENT-5: the decision goes to the evidence ledger too. Without
        // evidence no code is issued: the answer cannot be established (OAUTH-12
        // case 5).
        if !self.register_evidence(&record, *shown, p.source).await {
            decision = ConsentDecision::Undetermined;
        }
        let location = match p.session.consent(decision, now)? {
            ConsentOutcome::Granted(_) => {
                self.trace.step(
                    Actor::ZaGw,
                    &[RuleId::Consent3, RuleId::Log1],
                    StepOutcome::Done,
                    if bev {
                        "Bevestiging GRANTED and logged (NEN 7513)"
                    } else {
                        "consent GRANTED and logged (NEN 7513)"
                    },
                );
                let r = self.server().issue_code(&mut p.session, now)?;
                self.trace.step(Actor::ZaGw, &[RuleId::Oauth6, RuleId::Oauth7, RuleId::Oauth10], StepOutcome::Done,
                    "authorization code issued (UUID v4, 900 s); redirect to the PGO with code and state",
                );
                r.location().to_owned()
            }
            ConsentOutcome::Refused(_, r) => {
                self.trace.step(Actor::ZaGw, &[RuleId::Oauth12, RuleId::Consent3], StepOutcome::Case(4),
                    "consent REFUSED and logged; redirect with access_denied \"Authorization denied.\"",
                );
                r.location().to_owned()
            }
            ConsentOutcome::Undetermined(r) => {
                self.trace.step(
                    Actor::ZaGw,
                    &[RuleId::Oauth12],
                    StepOutcome::Case(5),
                    if expired {
                        "answer came after the flow expired: undetermined, logged; redirect with \
                         access_denied \"Authorization failed.\""
                    } else {
                        "answer undetermined; redirect with access_denied \"Authorization failed.\""
                    },
                );
                r.location().to_owned()
            }
            // A later medmij-oauth may add outcomes; this demo knows none of them, so it
            // issues nothing and answers with an error instead of a redirect.
            _ => {
                return Ok(net::html(
                    500,
                    net::page("Error", "unknown consent outcome", None),
                ));
            }
        };
        Ok(net::redirect(&location))
    }
}

type St = State<Arc<ZaGw>>;

type Peer = Extension<PeerAddr>;

async fn front_authorize(
    State(me): St,
    Extension(PeerAddr(addr)): Peer,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let r = me
        .authorize(q.as_deref().unwrap_or(""), &headers, addr.ip())
        .await;
    me.answer(r)
}

async fn front_login_page(
    State(me): St,
    Extension(PeerAddr(addr)): Peer,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let r = me
        .login_page(q.as_deref().unwrap_or(""), &headers, addr.ip())
        .await;
    me.answer(r)
}

async fn front_login(
    State(me): St,
    Extension(PeerAddr(addr)): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Bytes, not String: a body that is not UTF-8 is refused (and logged) by the
    // handler, not by axum without a log entry.
    let r = me
        .login(&String::from_utf8_lossy(&body), &headers, addr.ip())
        .await;
    me.answer(r)
}

async fn front_consent_page(
    State(me): St,
    Extension(PeerAddr(addr)): Peer,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let r = me
        .consent_screen(q.as_deref().unwrap_or(""), &headers, addr.ip())
        .await;
    me.answer(r)
}

async fn front_consent(
    State(me): St,
    Extension(PeerAddr(addr)): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let r = me
        .consent(&String::from_utf8_lossy(&body), &headers, addr.ip())
        .await;
    me.answer(r)
}

/// The OAUTH-12 case 1 page for a request the ZAL no longer covers: the same words
/// as medmij-oauth's case 1 page, shown to the person directly (no redirect).
fn not_served_page(why: &str) -> String {
    let esc = why
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "<!DOCTYPE html>\n<html lang=\"nl\"><head><meta charset=\"utf-8\">\
         <title>Ongeldig verzoek / Invalid request</title></head><body>\
         <p>Het verzoek van uw persoonlijke gezondheidsomgeving (PGO) is ongeldig. U wordt \
         niet teruggestuurd; probeer het opnieuw vanuit uw PGO.</p>\
         <p lang=\"en\">The request from your personal health environment (PGO) is invalid. \
         You will not be sent back; please try again from your PGO.</p>\
         <p><code>invalid_request</code>: {esc}</p></body></html>\n"
    )
}

/// A small FHIR R4 searchset Bundle: the test person's medication overview. With
/// `bsn`, the back end also puts a Patient with the test person's BSN in it (as an
/// xIS would; MedMij OAUTH-16 makes the ZA GW leave it empty before sending).
/// The demo back end's answer for [`GEGEVENSDIENST_2`]: one Observation.
fn observation_bundle(person: &str) -> serde_json::Value {
    serde_json::json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "entry": [{
            "fullUrl": "urn:uuid:3a7c9e21-5b4d-4c8f-8e12-9d0f6a7b8c31",
            "resource": {
                "resourceType": "Observation",
                "id": "obs-1",
                "status": "final",
                "code": { "text": "Lichaamslengte" },
                "valueQuantity": { "value": 178, "unit": "cm" },
                "subject": { "display": format!("test person {person}") }
            }
        }]
    })
}

fn fhir_bundle(person: &str, bsn: bool) -> serde_json::Value {
    let mut b = serde_json::json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "entry": [{
            "fullUrl": "urn:uuid:6e2f3c1a-8d4b-4f7e-9a51-2c0b7d9e4f10",
            "resource": {
                "resourceType": "MedicationStatement",
                "id": "mst-1",
                "status": "active",
                "medicationCodeableConcept": {
                    "coding": [{
                        "system": "urn:oid:2.16.840.1.113883.2.4.4.1",
                        "code": "67903",
                        "display": "Metoprolol tablet 50mg"
                    }]
                },
                "subject": { "display": format!("test person {person}") },
                "dosage": [{ "text": "1 x per dag 1 tablet" }]
            }
        }]
    });
    if bsn && let Some(entries) = b["entry"].as_array_mut() {
        entries.push(serde_json::json!({
            "fullUrl": "urn:uuid:0b9d6c55-3f1e-4a7b-8d2c-5e6f7a8b9c0d",
            "resource": {
                "resourceType": "Patient",
                "identifier": [{
                    "system": medmij_oauth::fhir::BSN_SYSTEMS[0],
                    "value": TEST_BSN
                }],
                "name": [{ "text": format!("test person {person}") }]
            }
        }));
        b["total"] = serde_json::json!(2);
    }
    b
}

/// MedMij OAUTH-12 case 1 shown to the person (moved here from medmij-oauth: pages are the
/// host's): a complete, minimal HTML page (Dutch and English, then `invalid_request`
/// and the cause), served with status `InvalidRequest::status` and
/// `CONSENT_PAGE_HEADERS`. Never a redirect (MedMij OAUTH-4, OAUTH-12 case 1).
fn invalid_request_page(inv: &InvalidRequest) -> String {
    let mut cause = String::new();
    for c in inv.description().chars() {
        match c {
            '&' => cause.push_str("&amp;"),
            '<' => cause.push_str("&lt;"),
            '>' => cause.push_str("&gt;"),
            '"' => cause.push_str("&quot;"),
            '\'' => cause.push_str("&#39;"),
            c => cause.push(c),
        }
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"nl\"><head><meta charset=\"utf-8\">\
         <title>Ongeldig verzoek / Invalid request</title></head><body>\
         <p>{}</p><p lang=\"en\">{}</p><p><code>{}</code>: {}</p></body></html>\n",
        inv.message_nl(),
        inv.message_en(),
        inv.error(),
        cause
    )
}

// ---------------------------------------------------------------------------
// The host implementations of medmij-oauth's ZA GW seams.
// ---------------------------------------------------------------------------

/// The ZA GW's back channel (mutual TLS) in front of medmij-oauth's router: maps the
/// paths the ZAL lists to the router's (`/oauth/token` to `/token`, `/lezer/fhir/…` to
/// `/fhir/lezer/…`; any other path is not found), keeps what arrived (codes redacted,
/// LOG-4) for the OAUTH-16 checks, and hands the TLS layer's peer name and address to the
/// router as [`MtlsClient`] (OAUTH-3) and `ConnectInfo` (LOG-1).
async fn back_channel(core: &Core, inner: Router, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let mapped = if path == "/oauth/token" {
        "/token".to_owned()
    } else if path.starts_with("/fhir/") && !path.starts_with("/fhir/lezer/") {
        // (The Lezer's service only at its own endpoint, as the ZAL lists it: LISTS-13.)
        path.clone()
    } else if let Some(rest) = path.strip_prefix("/lezer/fhir/") {
        format!("/fhir/lezer/{rest}")
    } else {
        return net::html(404, "not found");
    };
    let client = parts
        .extensions
        .get::<PeerNames>()
        .and_then(|p| p.first().map(str::to_owned));
    let source = parts.extensions.get::<PeerAddr>().map(|p| p.0);
    let Ok(bytes) = axum::body::to_bytes(body, DEFAULT_FHIR_BODY_LIMIT).await else {
        // Too large for any endpoint here: refused and logged (LOG-1, OAUTH-14).
        let _ = core
            .log
            .record_from(
                Entry {
                    event_type: "back-channel.refused",
                    action: Action::Execute,
                    actor: (
                        client.unwrap_or_else(|| "unknown".into()),
                        ActorKind::System,
                    ),
                    subject: None,
                    object: Object::new("request", path),
                    outcome: Outcome::Refused,
                    detail: Some("body too large".into()),
                },
                source.map(|a| a.ip()),
            )
            .await;
        return net::no_store(net::html(413, "body too large"));
    };
    let method = parts.method.as_str().to_owned();
    if mapped == "/token" {
        // The code itself is not kept (LOG-4: codes never in clear).
        let redacted: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form_urlencoded::parse(&bytes).map(|(k, v)| {
                let v = if k == "code" || k == "refresh_token" {
                    "(redacted)".into()
                } else {
                    v
                };
                (k, v)
            }))
            .finish();
        core.note_received(&method, &path, &query, redacted.as_bytes());
    } else {
        core.note_received(&method, &path, &query, &bytes);
    }
    let uri = if query.is_empty() {
        mapped
    } else {
        format!("{mapped}?{query}")
    };
    match uri.parse() {
        Ok(u) => parts.uri = u,
        Err(_) => return net::html(404, "not found"),
    }
    if let Some(Ok(id)) = client.map(|n| ClientId::new(n.as_str())) {
        parts.extensions.insert(MtlsClient(id));
    }
    if let Some(addr) = source {
        parts.extensions.insert(ConnectInfo(addr));
    }
    let req = Request::from_parts(parts, axum::body::Body::from(bytes));
    match inner.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

/// The TEST DigiD stand-in as medmij-oauth's [`Authenticator`] (MedMij OAUTH-11; not
/// DigiD).
pub(crate) struct DigidSeam {
    core: Arc<Core>,
}

impl Authenticator for DigidSeam {
    async fn start(&self, _flow: &FlowInfo, callback: &str) -> HttpResponse {
        HttpResponse::page(200, TestDigidStandIn::form(callback))
    }
    async fn complete(&self, _flow: &FlowInfo, r: &HostRequest) -> Authentication {
        let login =
            form_urlencoded::parse(r.body.as_bytes()).any(|(k, v)| k == "action" && v == "login");
        if !login {
            return Authentication::Failed;
        }
        self.core.trace.step(
            Actor::DigidStandIn,
            &[RuleId::Oauth11],
            StepOutcome::Done,
            format!(
                "the person logged in as the fixed test person {} (a stand-in, NOT DigiD)",
                TestDigidStandIn::PERSON
            ),
        );
        Authentication::Established(TestDigidStandIn::person())
    }
}

/// The demo back end's data check (MedMij OAUTH-11): data of the test person only, none
/// at all after [`Core::no_data`] is switched on.
pub(crate) struct Data {
    core: Arc<Core>,
}

impl DataAvailability for Data {
    async fn available(&self, subject: &Subject, _flow: &FlowInfo) -> Result<bool, HostError> {
        Ok(subject.as_str() == TestDigidStandIn::PERSON
            && !self.core.no_data.load(Ordering::Relaxed))
    }
}

/// The demo back end behind medmij-oauth's resource endpoint (MedMij OAUTH-13): reads of
/// Gegevensdienst 4 (`MedicationStatement`) and 5 (`Observation`) of the Bron, writes of
/// the Lezer's Gegevensdienst (`lezer/Bundle`).
pub(crate) struct Backend {
    core: Arc<Core>,
}

/// A FHIR OperationOutcome with one issue.
fn outcome(severity: &str, code: &str, diagnostics: &str) -> String {
    serde_json::json!({
        "resourceType": "OperationOutcome",
        "issue": [{ "severity": severity, "code": code, "diagnostics": diagnostics }]
    })
    .to_string()
}

impl FhirBackend for Backend {
    fn target(&self, path: &str) -> Option<(Zorgaanbiedernaam, ScopeGegevensdienstId)> {
        let c = &self.core;
        match path {
            // One path per Gegevensdienst (MedMij OAUTH-17: a token for both serves each).
            "MedicationStatement" => Some((c.za.clone(), c.gd.clone())),
            "Observation" => Some((c.za.clone(), c.gd_2.clone())),
            "lezer/Bundle" => Some((c.lezer.clone(), c.gd_delen.clone())),
            _ => None,
        }
    }

    fn serves(&self, za: &Zorgaanbiedernaam, gd: &ScopeGegevensdienstId, now: SystemTime) -> bool {
        let served = self.core.serves(za.as_str(), gd.as_str(), now);
        if !served {
            self.core.trace.step(
                Actor::ZaGw,
                &[RuleId::Lists13, RuleId::Lists10, RuleId::Oauth12],
                StepOutcome::Case(7),
                format!(
                    "resource request REFUSED: the ZAL in force no longer lists Gegevensdienst \
                     {} of {} at this gateway",
                    gd.as_str(),
                    za.as_str()
                ),
            );
        }
        served
    }

    async fn read(
        &self,
        access: &ResourceAccess,
        path: &str,
        _query: &str,
    ) -> Result<FhirReply, HostError> {
        let person = access.subject.as_str();
        let mut bundle = if path == "Observation" {
            observation_bundle(person)
        } else {
            fhir_bundle(person, self.core.bsn_in_payload.load(Ordering::Relaxed))
        };
        self.core
            .leave_bsn_empty(&mut bundle, access)
            .await
            .map_err(|e| HostError(e.to_string()))?;
        self.core.trace.step(
            Actor::ZaGw,
            &[RuleId::Oauth2, RuleId::Oauth11, RuleId::Log1],
            StepOutcome::Done,
            format!(
                "FHIR read with a valid Bearer token for scope {}: Bundle sent, logged",
                access.scope
            ),
        );
        Ok(FhirReply {
            status: 200,
            body: bundle.to_string(),
        })
    }

    async fn write(
        &self,
        access: &ResourceAccess,
        path: &str,
        body: &str,
    ) -> Result<FhirReply, HostError> {
        self.write_with_headers(access, path, body, &HeaderMap::new())
            .await
    }

    /// The Lezer's write (MedMij OAUTH-13) with its `X-MedMij-Provenance` (CONSENT-4: the
    /// provenance travels along with shared data).
    async fn write_with_headers(
        &self,
        access: &ResourceAccess,
        _path: &str,
        body: &str,
        headers: &HeaderMap,
    ) -> Result<FhirReply, HostError> {
        let provenance = headers
            .get("x-medmij-provenance")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("(none)");
        let doc: Option<serde_json::Value> = serde_json::from_str(body).ok();
        let Some(doc) = doc.filter(|d| d["resourceType"] == "Bundle") else {
            return Ok(FhirReply {
                status: 400,
                body: outcome("error", "invalid", "not a FHIR Bundle"),
            });
        };
        // MedMij OAUTH-16: a Lezer refuses a payload that still carries a BSN (OAUTH-12
        // case 8); the router logs the refusal with these words.
        if let Err(e) = medmij_oauth::fhir::check(&doc) {
            let case8 = medmij_oauth::ResourceError::backend_unavailable();
            self.core.trace.step(
                Actor::ZaGwLezer,
                &[RuleId::Oauth16, RuleId::Oauth12, RuleId::Log1],
                StepOutcome::Case(8),
                format!(
                    "FHIR write REFUSED: {e}; answered case 8 (HTTP {}), logged",
                    case8.status()
                ),
            );
            return Ok(FhirReply {
                status: case8.status(),
                body: outcome("error", "incomplete", &format!("{e} (OAUTH-12 case 8)")),
            });
        }
        self.core.trace.step(
            Actor::ZaGwLezer,
            &[RuleId::Oauth13, RuleId::Consent4, RuleId::Log1],
            StepOutcome::Done,
            format!(
                "FHIR write with a valid Bearer token for scope {}: Bundle accepted with its \
                 provenance ({provenance}), logged",
                access.scope
            ),
        );
        Ok(FhirReply {
            status: 200,
            body: outcome("information", "informational", "Bundle received"),
        })
    }
}

impl Core {
    /// The sender's duty of MedMij OAUTH-16: BSN elements left empty before the Bundle
    /// leaves the ZA GW. What was emptied is traced and logged (LOG-1), never the
    /// number itself (LOG-4).
    async fn leave_bsn_empty(
        &self,
        bundle: &mut serde_json::Value,
        access: &ResourceAccess,
    ) -> Result<(), DemoError> {
        if !self.strip_bsn.load(Ordering::Relaxed) {
            if medmij_oauth::fhir::check(bundle).is_err() {
                self.trace.step(
                    Actor::ZaGw,
                    &[RuleId::Oauth16],
                    StepOutcome::Done,
                    "NON-CONFORMING (demo switch): the Bundle leaves with the BSN the back end \
                     put in it",
                );
            }
            return Ok(());
        }
        let emptied = medmij_oauth::fhir::strip(bundle)?;
        if emptied.is_empty() {
            return Ok(());
        }
        let paths = emptied
            .iter()
            .map(|f| f.path.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        self.log
            .record(Entry {
                event_type: "fhir.bsn.emptied",
                action: Action::Update,
                actor: (ZA_HOST.into(), ActorKind::System),
                subject: Self::subject(access.subject.as_str()),
                object: Object::new("Bundle", paths.clone()),
                outcome: Outcome::Success,
                detail: Some(format!(
                    "OAUTH-16: {} BSN element(s) left empty before sending to {}",
                    emptied.len(),
                    access.client_id.as_str()
                )),
            })
            .await?;
        self.trace.step(
            Actor::ZaGw,
            &[RuleId::Oauth16, RuleId::Log1],
            StepOutcome::Done,
            format!(
                "the back end put a BSN in the Bundle ({paths}): left empty before sending; logged"
            ),
        );
        Ok(())
    }
}

/// medmij-oauth's audit events (MedMij LOG-1) as the demo's NEN 7513 entries, each also a
/// typed trace step.
pub(crate) struct Audit {
    core: Arc<Core>,
}

impl AuditSink for Audit {
    async fn record(&self, e: AuditEvent) {
        let r = match e.endpoint {
            Endpoint::Token => self.token(&e).await,
            Endpoint::Resource => self.resource(&e).await,
            _ => self.front(&e).await,
        };
        if let Err(err) = r {
            self.core.trace.step(
                Actor::ZaGw,
                &[RuleId::Log1],
                StepOutcome::Failed,
                format!("logging failed: {err}"),
            );
        }
    }
}

/// The event's detail with its OAUTH-12 case, if it has one.
fn detail_with_case(e: &AuditEvent) -> String {
    match e.case {
        Some(n) => format!("{}; OAUTH-12 case {n}", e.detail),
        None => e.detail.clone(),
    }
}

/// The refusal outcome of an event in the trace.
fn refused(e: &AuditEvent) -> StepOutcome {
    e.case.map_or(StepOutcome::Refused, StepOutcome::Case)
}

impl Audit {
    fn actor(e: &AuditEvent) -> String {
        e.client_id
            .as_ref()
            .map_or_else(|| "unknown".to_owned(), |c| c.as_str().to_owned())
    }

    fn outcome(e: &AuditEvent) -> Outcome {
        if e.success {
            Outcome::Success
        } else {
            Outcome::Refused
        }
    }

    /// The token endpoint (MedMij OAUTH-3, OAUTH-8, OAUTH-9; OAUTH-12 case 6).
    async fn token(&self, e: &AuditEvent) -> Result<(), DemoError> {
        let who = Self::actor(e);
        self.core
            .log
            .record_from(
                Entry {
                    event_type: "oauth.token",
                    action: Action::Execute,
                    actor: (who.clone(), ActorKind::System),
                    // LOG-1 "on whose data": the person the token stands for, when issued.
                    subject: e.subject.as_ref().and_then(|s| Core::subject(s.as_str())),
                    // The token event's Debug form redacts the subject and holds no code or
                    // token (LOG-4).
                    object: Object::new(
                        "token-request",
                        e.token
                            .as_ref()
                            .map_or_else(|| e.detail.clone(), |t| format!("{t:?}")),
                    ),
                    outcome: Self::outcome(e),
                    detail: Some(detail_with_case(e)),
                },
                Some(e.source),
            )
            .await?;
        if e.success {
            self.core.trace.step(
                Actor::ZaGw,
                &[RuleId::Oauth3, RuleId::Oauth8, RuleId::Oauth9],
                StepOutcome::Done,
                format!(
                    "token request from {who} over mTLS: {} (Bearer, expires_in 900, no refresh \
                     token)",
                    e.detail
                ),
            );
        } else {
            self.core.trace.step(
                Actor::ZaGw,
                &[RuleId::Oauth12, RuleId::Oauth8],
                refused(e),
                format!("token request from {who} refused: {}; logged", e.detail),
            );
        }
        Ok(())
    }

    /// The resource endpoint (MedMij OAUTH-2, OAUTH-13; OAUTH-12 cases 7 and 8).
    async fn resource(&self, e: &AuditEvent) -> Result<(), DemoError> {
        let write = e.interaction == Some(Interaction::Write);
        let (event_type, action, actor) = if write {
            ("fhir.write", Action::Create, Actor::ZaGwLezer)
        } else {
            ("fhir.read", Action::Read, Actor::ZaGw)
        };
        self.core
            .log
            .record_from(
                Entry {
                    event_type,
                    action,
                    actor: (Self::actor(e), ActorKind::System),
                    subject: e.subject.as_ref().and_then(|s| Core::subject(s.as_str())),
                    object: Object::new("resource-request", e.detail.clone()),
                    outcome: Self::outcome(e),
                    detail: Some(detail_with_case(e)),
                },
                Some(e.source),
            )
            .await?;
        // A success is traced by the back end, with the token's scope.
        if !e.success {
            self.core.trace.step(
                actor,
                &[RuleId::Oauth12, RuleId::Log1],
                refused(e),
                format!(
                    "FHIR {event_type} from {} refused: {}; logged",
                    e.source, e.detail
                ),
            );
        }
        Ok(())
    }

    /// The router's front-channel endpoints (authorize, login, consent), which this gateway
    /// does not route yet: should one be reached, its event is logged as it comes.
    async fn front(&self, e: &AuditEvent) -> Result<(), DemoError> {
        self.core
            .log
            .record_from(
                Entry {
                    event_type: "oauth.front",
                    action: Action::Execute,
                    actor: (Self::actor(e), ActorKind::User),
                    subject: e.subject.as_ref().and_then(|s| Core::subject(s.as_str())),
                    object: Object::new("front-channel-request", format!("{:?}", e.endpoint)),
                    outcome: Self::outcome(e),
                    detail: Some(detail_with_case(e)),
                },
                Some(e.source),
            )
            .await?;
        Ok(())
    }
}
