//! The care provider's gateway (ZA GW, Bron of UCI Verzamelen and Lezer of UCI
//! Delen): authorization endpoint, a test stand-in for DigiD, the consent screen,
//! the token endpoint and the FHIR resource endpoints, all logged per NEN 7513.
//! Two axum routers: the front channel (browsers, server-authenticated TLS) and
//! the back channel (gateways, mutual TLS).
//!
//! Both run medmij-oauth's axum [`ZaGateway`] (MedMij OAUTH-11): [`front_channel`] and
//! [`back_channel`] map the paths the ZAL lists to the router's and hand it the TLS
//! layer's peer name and source address. What stays here is what the router asks of its
//! host, and what is demo:
//!
//! - [`DigidSeam`]: the TEST DigiD stand-in (not DigiD) as the `Authenticator`;
//! - [`Data`]: the back end's data check, with the demo's "no data" switch;
//! - [`Screens`]: medmij-consent's Toestemming and Bevestiging as the `ConsentUi`, with
//!   the decision book and the CONSENT-5 evidence ledger;
//! - [`Backend`]: the demo's FHIR back end (bundles, OAUTH-16 stripping, the Lezer's
//!   refusal of a BSN, LISTS-13 serving against the ZAL in force);
//! - [`DemoFlows`]: the pending-flow store with the demo's run-time global limit;
//! - [`Audit`]: the router's audit events as the demo's NEN 7513 entries (LOG-1) and
//!   typed trace steps;
//! - the TLS refusal logging, the LISTS-13 report of a new ZAL, the demo switches.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;
use axum::response::Response;
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
    AuditEvent, AuditSink, Authenticator, Clock, ConsentUi, DEFAULT_FHIR_BODY_LIMIT,
    DataAvailability, DefaultPages, Endpoint, FhirBackend, FhirReply, FlowInfo, HostAnswer,
    HostError, HostPage, HostRequest, MtlsClient, ZaGateway, ZaHooks, ZaSettings,
};
use medmij_oauth::{
    Admission, AsyncAuthorizationServer, Authentication, AuthorizationServer, ClientId,
    ClientRegistry, ConsentDecision, ExpiredFlow, FlowError, FlowLimit, FlowLimits, FlowOwner,
    FlowStore, HttpResponse, Interaction, Lateness, MemoryFlowStore, MemoryStore, PendingFlows,
    ResourceAccess, ScopeGegevensdienstId, SecretHash, ServerConfig, StoredFlow, Subject, UseCase,
    Zorgaanbiedernaam,
};

use super::audit::{AuditLog, Entry};
use super::limits::FLOW_TIMEOUT;
use super::lists::ZaLists;
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

    fn person() -> Subject {
        Subject::new(Self::PERSON).expect("a valid subject")
    }
}

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

/// The medmij-oauth ZA GW router with the demo's host implementations, served at the
/// ZAL's paths by [`front_channel`] and [`back_channel`].
type Gateway =
    ZaGateway<MemoryStore, OclRegistry, DemoFlows, DigidSeam, Data, Screens, Backend, Audit>;

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
    /// medmij-oauth's ZA GW router.
    gateway: Gateway,
    /// The consent screens (shared with the router: their decision book and evidence).
    screens: Screens,
    /// The TEST DigiD stand-in (shared with the router: its pending anti-CSRF tokens).
    stand_in: DigidSeam,
    /// The Ed25519 key that signs the ledger and its exports (generated at start).
    evidence_key: ed25519_dalek::SigningKey,
    /// See [`OclGegevensdiensten`].
    ocl_gegevensdiensten: OclGegevensdiensten,
    /// The ZAL Volgnummer whose differences with `offers` were last reported.
    zal_checked: Mutex<Option<String>>,
    /// Handshake refusals being appended to the log right now.
    refusals_in_flight: Arc<std::sync::atomic::AtomicUsize>,
}

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
        // MedMij OAUTH-14: the demo's figures per source, per client and in all; a flow
        // waits FLOW_TIMEOUT for the person's next step.
        let flow_limits = FlowLimits {
            per_source: limits.max_pending_per_source,
            per_client: limits.max_pending_per_client,
            total: limits.max_pending_flows,
            ttl: FLOW_TIMEOUT,
            // A late step within another FLOW_TIMEOUT still ends as OAUTH-12 case 5.
            grace: FLOW_TIMEOUT,
            retry_after: Duration::from_secs(60),
        };
        let screens = Screens {
            core: core.clone(),
            book: Arc::default(),
            evidence: Arc::new(evidence),
            asked: Arc::default(),
        };
        let stand_in = DigidSeam {
            core: core.clone(),
            csrf: Arc::default(),
        };
        let hooks = ZaHooks {
            authenticator: stand_in.clone(),
            data: Data { core: core.clone() },
            consent: screens.clone(),
            fhir: Backend { core: core.clone() },
            audit: Audit { core: core.clone() },
            pages: DefaultPages,
        };
        let gateway = ZaGateway::new(
            AsyncAuthorizationServer::new(server),
            PendingFlows::new(DemoFlows::new(flow_limits), flow_limits),
            hooks,
            ZaSettings {
                mount: "/oauth".into(),
                clock,
                ..ZaSettings::default()
            },
        );
        Ok(ZaGw {
            core,
            gateway,
            screens,
            stand_in,
            evidence_key,
            zal_checked: Mutex::new(None),
            ocl_gegevensdiensten,
            refusals_in_flight: Arc::default(),
        })
    }

    /// The lists this gateway fetches.
    pub(crate) fn lists(&self) -> &ZaLists {
        &self.lists
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
        self.gateway
            .flows()
            .store()
            .total
            .store(n, Ordering::Relaxed);
    }

    /// The number of flows waiting for the person.
    pub(crate) fn pending_flows(&self) -> usize {
        self.gateway.flows().store().inner.len()
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

    /// The front channel (browsers): medmij-oauth's authorization endpoint, the TEST DigiD
    /// stand-in's callback and the consent screen at the paths the ZAL lists, see
    /// [`front_channel`].
    pub(crate) fn front_router(me: &Arc<Self>) -> Router {
        let (core, inner) = (me.core.clone(), me.gateway.router());
        Router::new().fallback(move |req: Request| {
            let (core, inner) = (core.clone(), inner.clone());
            async move { front_channel(&core, inner, req).await }
        })
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

    /// Ends flows the person left (MedMij OAUTH-12 case 5): medmij-oauth's ZA GW sweeps its
    /// flow store and audits each flow that waited longer than [`FLOW_TIMEOUT`] since its
    /// last step once (`Endpoint::FlowExpired`, logged as `oauth.flow.expired` by [`Audit`],
    /// LOG-1; flows found by the sweep at a new flow or by a late step were logged then);
    /// questions and decisions older than [`FLOW_TIMEOUT`] are forgotten. Returns how many
    /// flows this sweep ended.
    pub(crate) async fn expire_flows(&self) -> Result<usize, DemoError> {
        let now = self.now();
        let swept = self.gateway.expire_flows().await;
        let _ = self.screens.stale(now);
        self.stand_in.forget_before(now);
        if swept > 0 {
            self.trace.step(
                Actor::ZaGw,
                &[RuleId::Oauth12, RuleId::Log1],
                StepOutcome::Case(5),
                format!(
                    "{swept} flow(s) left by the person for over {} s ended and logged",
                    FLOW_TIMEOUT.as_secs()
                ),
            );
        }
        Ok(swept)
    }

    /// The person's decisions in the CONSENT-5 evidence ledger (a verified read).
    pub(crate) fn evidence_of(&self, person: &str) -> Result<Vec<EvidenceRecord>, DemoError> {
        let person = PersonId::new(person)?;
        Ok(self
            .screens
            .evidence
            .lookup(&person)?
            .into_iter()
            .map(|(_, r)| r)
            .collect())
    }

    /// Verifies the whole evidence ledger; returns the number of records.
    pub(crate) fn verify_evidence(&self) -> Result<u64, DemoError> {
        Ok(self.screens.evidence.verify()?.records)
    }

    /// Exports the person's decisions as a signed document (CONSENT-5); returns it
    /// with the DVZA's public key.
    pub(crate) fn export_evidence(
        &self,
        person: &str,
    ) -> Result<(String, ed25519_dalek::VerifyingKey), DemoError> {
        let person = PersonId::new(person)?;
        let export = self
            .screens
            .evidence
            .export(&person, &self.evidence_key, self.now())?;
        Ok((
            export.to_json().to_owned(),
            self.evidence_key.verifying_key(),
        ))
    }
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

/// The ZA GW's front channel (browsers) in front of medmij-oauth's router: the ZAL's
/// authorization endpoints (`/oauth/authorize`, the Lezer's `/lezer/oauth/authorize`) and
/// the router's own steps below `/oauth/authorize/` (the stand-in's callback `login`, the
/// consent screen `consent`); any other path is not found, so the token and resource
/// endpoints are never reachable here. Keeps the authorization requests that arrived (for
/// the OAUTH-16 checks) and hands the router the source address (LOG-1, OAUTH-14).
async fn front_channel(core: &Core, inner: Router, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let mapped = match path.as_str() {
        "/oauth/authorize" | "/lezer/oauth/authorize" => {
            core.note_received(parts.method.as_str(), "/oauth/authorize", &query, b"");
            "/authorize"
        }
        "/oauth/authorize/login" => "/authorize/login",
        "/oauth/authorize/consent" => "/authorize/consent",
        _ => return net::html(404, "not found"),
    };
    let uri = if query.is_empty() {
        mapped.to_owned()
    } else {
        format!("{mapped}?{query}")
    };
    match uri.parse() {
        Ok(u) => parts.uri = u,
        Err(_) => return net::html(404, "not found"),
    }
    if let Some(PeerAddr(addr)) = parts.extensions.get::<PeerAddr>().cloned() {
        parts.extensions.insert(ConnectInfo(addr));
    }
    match inner.oneshot(Request::from_parts(parts, body)).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

/// The pending flows (MedMij OAUTH-14): medmij-oauth's memory flow store with its limits
/// per source and per client, and a limit in all that the demo changes at run time
/// ([`ZaGw::limit_pending_flows`]).
pub(crate) struct DemoFlows {
    inner: MemoryFlowStore,
    total: AtomicUsize,
    retry_after: Duration,
    /// Admission of a new flow: the check in all and the insertion under one lock.
    admit: Mutex<()>,
}

impl DemoFlows {
    fn new(limits: FlowLimits) -> Self {
        DemoFlows {
            inner: MemoryFlowStore::new(limits),
            total: AtomicUsize::new(limits.total),
            retry_after: limits.retry_after,
            admit: Mutex::new(()),
        }
    }
}

impl FlowStore for DemoFlows {
    fn put(
        &self,
        id: &SecretHash,
        owner: &FlowOwner,
        data: &str,
        expires_at: SystemTime,
        admission: Admission,
        now: SystemTime,
    ) -> Result<(), FlowError> {
        if !matches!(admission, Admission::New) {
            return self.inner.put(id, owner, data, expires_at, admission, now);
        }
        let _admit = self.admit.lock().unwrap_or_else(|e| e.into_inner());
        let total = self.total.load(Ordering::Relaxed);
        // Live flows only: expired ones wait for their report and grace without counting.
        if self.inner.live(now) >= total {
            let busy = medmij_oauth::Busy::new(FlowLimit::Total, total, self.retry_after);
            return Err(FlowError::Busy(busy));
        }
        self.inner.put(id, owner, data, expires_at, admission, now)
    }
    fn take(&self, id: &SecretHash, now: SystemTime) -> Result<Option<StoredFlow>, FlowError> {
        self.inner.take(id, now)
    }
    fn take_late(
        &self,
        id: &SecretHash,
        now: SystemTime,
    ) -> Result<Option<(StoredFlow, Lateness)>, FlowError> {
        self.inner.take_late(id, now)
    }
    fn sweep(&self, now: SystemTime) -> Result<Vec<ExpiredFlow>, FlowError> {
        self.inner.sweep(now)
    }
}

/// The question asked on a flow's consent screen: kept to show the same page again on a
/// reload, and for the CONSENT-5 evidence of the answer.
struct Asked {
    kind: ConsentKind,
    /// The page and medmij-consent's headers for it.
    page: HostPage,
    /// The text shown, its version and filled variables (CONSENT-5).
    shown: ShownText,
    at: SystemTime,
    scope: String,
}

/// The consent screens as medmij-oauth's [`ConsentUi`]: medmij-consent's Toestemming
/// (CONSENT-1) or Bevestiging (CONSENT-2, Delen) with the GNL and OCL names, an anti-CSRF
/// token per question in the decision book, and every decision in the CONSENT-5 evidence
/// ledger (without evidence, no code: the answer cannot be established, OAUTH-12 case 5).
#[derive(Clone)]
pub(crate) struct Screens {
    core: Arc<Core>,
    book: Arc<Mutex<DecisionBook>>,
    /// The CONSENT-5 evidence ledger: every grant and refusal, for the Zorgaanbieder.
    evidence: Arc<FileEvidenceLedger>,
    asked: Arc<Mutex<HashMap<String, Asked>>>,
}

impl Screens {
    /// The questions of flows left longer than [`FLOW_TIMEOUT`], each with its scope and the
    /// undetermined record of the decision book (JSON); forgets them, and decisions older
    /// than [`FLOW_TIMEOUT`].
    fn stale(&self, now: SystemTime) -> Vec<(String, String)> {
        let old: Vec<(String, Asked)> = {
            let mut asked = self.asked.lock().unwrap_or_else(|e| e.into_inner());
            let ids: Vec<String> = asked
                .iter()
                .filter(|(_, a)| now.duration_since(a.at).is_ok_and(|d| d >= FLOW_TIMEOUT))
                .map(|(k, _)| k.clone())
                .collect();
            ids.into_iter()
                .filter_map(|k| asked.remove(&k).map(|a| (k, a)))
                .collect()
        };
        let mut book = self.book.lock().unwrap_or_else(|e| e.into_inner());
        let out = old
            .into_iter()
            .map(|(flow, a)| {
                let side = Self::side(a.kind);
                let record = FlowId::new(flow)
                    .ok()
                    .and_then(|f| book.undetermined(&f, side, now).ok());
                let detail =
                    record.map_or_else(|| "the person did not answer".to_owned(), |r| r.to_json());
                (a.scope, detail)
            })
            .collect();
        if let Some(t) = now.checked_sub(FLOW_TIMEOUT) {
            book.forget_before(t);
        }
        out
    }

    fn side(kind: ConsentKind) -> Side {
        if kind == ConsentKind::Bevestiging {
            Side::Lezer
        } else {
            Side::Bron
        }
    }

    /// Asks the question (CONSENT-1 or CONSENT-2) in the decision book and renders the
    /// page. Returns the kind, the page, its Dutch text and the text shown as the CONSENT-5
    /// evidence records it.
    fn ask(
        &self,
        flow: &FlowInfo,
        action: &str,
        now: SystemTime,
    ) -> Result<(ConsentKind, HostPage, String, ShownText), DemoError> {
        let scope = &flow.scope;
        let client = &flow.client_id;
        let lists = &self.core.lists;
        // MedMij CONSENT-1: the fixed wording with the GNL name of every Gegevensdienst of
        // the scope (release 1.5: 'A' en 'B') and the OCL name.
        let gnl = lists.gnl.current().ok_or("no GNL")?;
        let ocl = lists.ocl.current().ok_or("no OCL")?;
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
        let (wording, kind): (Box<dyn Wording>, _) = if flow.use_case == UseCase::Delen {
            (Box::new(Bevestiging::new(vars)), ConsentKind::Bevestiging)
        } else {
            (Box::new(Toestemming::new(vars)), ConsentKind::Toestemming)
        };
        let flow_id = FlowId::new(flow.flow_id.as_str())?;
        let csrf = CsrfToken::new(net::random_hex())?;
        self.book
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ask(ConsentRequest {
                kind,
                flow: flow_id.clone(),
                // One vocabulary (medmij-types): the values cross from medmij-oauth to
                // medmij-consent as they are.
                scope: scope.clone(),
                client: client.clone(),
                zorgaanbieder: scope.zorgaanbieder().clone(),
                csrf: csrf.clone(),
                asked_at: now,
            })?;
        // The decision's answer redirects to the PGO: its origin joins the CSP form-action
        // (browsers apply it to the redirect after the POST).
        let origin = url::Url::parse(&flow.redirect_uri)?
            .origin()
            .ascii_serialization();
        let mut options = PageOptions::new(action, &flow_id, &csrf);
        options.redirect_origin = Some(&origin);
        let page = render_page(wording.as_ref(), &options)?;
        // medmij-consent's headers for this page: its CSP (with the hash of the page's
        // style), no referrer, nosniff, no framing, no caching (RFC 6819 4.4.1.9).
        let mut headers = axum::http::HeaderMap::new();
        for (name, value) in page.headers() {
            if let (Ok(n), Ok(v)) = (
                axum::http::HeaderName::from_bytes(name.as_bytes()),
                axum::http::HeaderValue::from_str(value),
            ) {
                headers.append(n, v);
            }
        }
        Ok((
            kind,
            HostPage {
                html: page.html().to_owned(),
                headers,
            },
            wording.full_text(Language::Nl),
            ShownText::of(wording.as_ref(), Language::Nl),
        ))
    }

    /// Appends a decision to the CONSENT-5 evidence ledger; false when it could not be
    /// registered (traced; the router logs the flow's end). An undetermined answer is no
    /// decision: nothing to register. The append (a durable file write) runs on the
    /// blocking pool, never on the runtime's worker.
    async fn register_evidence(
        &self,
        record: &medmij_consent::ConsentRecord,
        shown: ShownText,
    ) -> bool {
        if record.decision == Decision::Undetermined {
            return true;
        }
        let evidence = Arc::clone(&self.evidence);
        let appended = match PersonId::new(TestDigidStandIn::PERSON)
            .and_then(|person| EvidenceRecord::from_consent_record(record, person, shown))
        {
            Ok(rec) => {
                medmij_oauth::run_blocking(move || evidence.append(&rec).map_err(|e| e.to_string()))
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()))
            }
            Err(e) => Err(e.to_string()),
        };
        match appended {
            Ok(seq) => {
                self.core.trace.step(
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
                self.core.trace.step(
                    Actor::ZaGw,
                    &[RuleId::Consent5, RuleId::Oauth12],
                    StepOutcome::Case(5),
                    format!("decision could not be registered as evidence: {e}"),
                );
                false
            }
        }
    }
}

impl ConsentUi for Screens {
    /// The page, or an empty one when it cannot be made (the router calls
    /// [`Screens::try_render`], which ends such a flow as OAUTH-12 case 5).
    async fn render(&self, flow: &FlowInfo, action: &str) -> String {
        self.try_render(flow, action).await.unwrap_or_default()
    }

    async fn try_render(&self, flow: &FlowInfo, action: &str) -> Result<String, HostError> {
        self.try_render_page(flow, action).await.map(|p| p.html)
    }

    /// The page with medmij-consent's headers for it (its CSP among them).
    async fn try_render_page(&self, flow: &FlowInfo, action: &str) -> Result<HostPage, HostError> {
        if let Some(a) = self
            .asked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&flow.flow_id)
        {
            // A reload: the same question, the same page.
            return Ok(a.page.clone());
        }
        let now = self.core.now();
        let (kind, html, text, shown) = self
            .ask(flow, action, now)
            .map_err(|e| HostError(e.to_string()))?;
        self.core.trace.step(
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
        self.asked.lock().unwrap_or_else(|e| e.into_inner()).insert(
            flow.flow_id.clone(),
            Asked {
                kind,
                page: html.clone(),
                shown,
                at: now,
                scope: flow.scope.to_string(),
            },
        );
        Ok(html)
    }

    /// The posted answer, checked against the question in the decision book (its anti-CSRF
    /// token, once only) and registered as CONSENT-5 evidence before the answer goes back
    /// (the ledger's append awaited on the blocking pool).
    async fn decision(&self, flow: &FlowInfo, form: &HostRequest) -> ConsentDecision {
        let now = self.core.now();
        let refused = |why: String| {
            self.core.trace.step(
                Actor::ZaGw,
                &[RuleId::Oauth14, RuleId::Consent1],
                StepOutcome::Refused,
                format!("consent form refused: {why}"),
            );
            ConsentDecision::Undetermined
        };
        let posted = match PostedDecision::from_form(&form.body) {
            Ok(p) if p.flow.as_str() == flow.flow_id => p,
            Ok(_) => return refused("the form names another flow".into()),
            Err(e) => return refused(e.to_string()),
        };
        let Some(asked) = self
            .asked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&flow.flow_id)
        else {
            return refused("no question was asked in this flow".into());
        };
        let record = self.book.lock().unwrap_or_else(|e| e.into_inner()).decide(
            &posted,
            Self::side(asked.kind),
            now,
        );
        let record = match record {
            Ok(r) => r,
            // A bad anti-CSRF token or a replayed form: no answer (OAUTH-12 case 5).
            Err(e) => return refused(e.to_string()),
        };
        // MedMij CONSENT-5: without evidence no code is issued.
        if !self.register_evidence(&record, asked.shown).await {
            return ConsentDecision::Undetermined;
        }
        match record.decision {
            Decision::Granted => ConsentDecision::Granted,
            Decision::Refused => ConsentDecision::Refused,
            _ => ConsentDecision::Undetermined,
        }
    }
}

/// The TEST DigiD stand-in as medmij-oauth's [`Authenticator`] (MedMij OAUTH-11; not
/// DigiD): its page posts `action=login` or `action=cancel` back to the router's callback,
/// with an anti-CSRF token of its own per flow (besides the router's flow cookie).
#[derive(Clone)]
pub(crate) struct DigidSeam {
    core: Arc<Core>,
    /// The anti-CSRF token of each flow at the stand-in, with when it was shown.
    csrf: Arc<Mutex<HashMap<String, (String, SystemTime)>>>,
}

impl DigidSeam {
    /// Forgets the tokens of flows left longer than [`FLOW_TIMEOUT`].
    fn forget_before(&self, now: SystemTime) {
        let mut m = self.csrf.lock().unwrap_or_else(|e| e.into_inner());
        m.retain(|_, (_, at)| now.duration_since(*at).map_or(true, |d| d < FLOW_TIMEOUT));
    }
}

impl DigidSeam {
    /// The stand-in's login page for `flow`, with a fresh anti-CSRF token.
    fn login_html(&self, flow: &FlowInfo, callback: &str) -> String {
        let token = net::random_hex();
        self.csrf
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(flow.flow_id.clone(), (token.clone(), self.core.now()));
        let hidden = [
            ("flow", flow.flow_id.as_str()),
            ("csrf_token", token.as_str()),
        ];
        TestDigidStandIn::html(callback, &hidden)
    }
}

impl Authenticator for DigidSeam {
    /// The login page with the adapter's page headers only (the router calls
    /// [`DigidSeam::start_answer`]).
    async fn start(&self, flow: &FlowInfo, callback: &str) -> HttpResponse {
        HttpResponse::page(200, self.login_html(flow, callback))
    }
    /// The login page with headers of its own (RFC 6819 4.4.1.9): a CSP that lets its form
    /// post only here and to the PGO (a cancel is answered by the redirect to it), and no
    /// referrer (the page's URL holds the flow id).
    async fn start_answer(&self, flow: &FlowInfo, callback: &str) -> HostAnswer {
        HostAnswer::Page(HostPage {
            html: self.login_html(flow, callback),
            headers: crate::embed::own_page_headers(Some(&flow.redirect_uri)),
        })
    }
    async fn complete(&self, flow: &FlowInfo, r: &HostRequest) -> Authentication {
        let expected = self
            .csrf
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&flow.flow_id);
        let field = |name: &str| {
            form_urlencoded::parse(r.body.as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let csrf_ok = expected
            .zip(field("csrf_token"))
            .is_some_and(|((want, _), got)| ct_eq(want.as_bytes(), got.as_bytes()));
        if !csrf_ok || field("action").as_deref() != Some("login") {
            // MedMij OAUTH-12 case 2: the identity could not be established.
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
            Endpoint::FlowExpired => self.expired(&e).await,
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

    /// A flow the person left (MedMij OAUTH-12 case 5, LOG-1): one `oauth.flow.expired`
    /// entry per flow, for the person when they had logged in.
    async fn expired(&self, e: &AuditEvent) -> Result<(), DemoError> {
        self.core
            .log
            .record_from(
                Entry {
                    event_type: "oauth.flow.expired",
                    action: Action::Execute,
                    actor: ("za-gw".into(), ActorKind::System),
                    subject: e.subject.as_ref().and_then(|s| Core::subject(s.as_str())),
                    object: Object::new("authorization-request", Self::actor(e)),
                    outcome: Outcome::Failure,
                    detail: Some(detail_with_case(e)),
                },
                Some(e.source),
            )
            .await?;
        Ok(())
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

    /// The front channel (MedMij OAUTH-11): the entries of the NEN 7513 log are the
    /// decisions and refusals (CONSENT-3, OAUTH-12); the steps that only move a flow on
    /// (opened, authenticated, page shown, code issued) are traced, not logged. A refusal
    /// of a request without a known client is anonymous and counted per source (LOG-1,
    /// OAUTH-14).
    async fn front(&self, e: &AuditEvent) -> Result<(), DemoError> {
        let trace = &self.core.trace;
        let client = Self::actor(e);
        // Refusals before there is a flow of a known client: anonymous.
        if !e.success && e.client_id.is_none() {
            let event_type = if e.detail.contains("not bound") {
                trace.step(
                    Actor::ZaGw,
                    &[RuleId::Oauth14, RuleId::Log1],
                    StepOutcome::Refused,
                    format!("{}: refused", e.detail),
                );
                "oauth.flow.foreign"
            } else if e.endpoint == Endpoint::Authorize && e.case == Some(1) {
                trace.step(
                    Actor::ZaGw,
                    &[RuleId::Oauth12],
                    StepOutcome::Case(1),
                    format!("invalid authorization request: {}", e.detail),
                );
                "oauth.authorize"
            } else if e.endpoint == Endpoint::Authorize {
                "oauth.authorize.refused"
            } else {
                "oauth.flow.unknown"
            };
            self.core
                .refuse_anonymous(e.source, event_type, e.detail.clone())
                .await;
            return Ok(());
        }
        let scope = e
            .consent
            .as_ref()
            .map(|c| c.scope.to_string())
            .unwrap_or_default();
        let entry = |event_type, outcome, detail: String| Entry {
            event_type,
            action: Action::Execute,
            actor: (TestDigidStandIn::PERSON.into(), ActorKind::User),
            subject: e.subject.as_ref().and_then(|s| Core::subject(s.as_str())),
            object: Object::new("authorization-request", client.clone()),
            outcome,
            detail: Some(detail),
        };
        match (e.endpoint, e.success, e.case) {
            (Endpoint::Authorize, true, _) => trace.step(
                Actor::ZaGw,
                &[
                    RuleId::Oauth3,
                    RuleId::Oauth4,
                    RuleId::Oauth5,
                    RuleId::Oauth11,
                ],
                StepOutcome::Done,
                format!(
                    "authorization request from {client} (on the OCL): valid; session created; \
                     person sent to the TEST DigiD stand-in"
                ),
            ),
            // MedMij LISTS-13, LISTS-10: a Gegevensdienst no longer served (case 1).
            (Endpoint::Authorize, false, Some(1)) => {
                trace.step(
                    Actor::ZaGw,
                    &[RuleId::Oauth12, RuleId::Lists13, RuleId::Lists10],
                    StepOutcome::Case(1),
                    format!("invalid authorization request: {}", e.detail),
                );
                self.core
                    .refuse_anonymous(e.source, "oauth.authorize", e.detail.clone())
                    .await;
            }
            (Endpoint::Authorize, false, _) => {
                let busy = e.detail.contains("too many");
                trace.step(
                    Actor::ZaGw,
                    &[RuleId::Oauth14],
                    StepOutcome::Refused,
                    format!("{}: request from {} turned away", e.detail, e.source),
                );
                let event_type = if busy {
                    "oauth.authorize.busy"
                } else {
                    "oauth.authorize.refused"
                };
                self.core
                    .refuse_anonymous(
                        e.source,
                        event_type,
                        format!("{}; client {client}", e.detail),
                    )
                    .await;
            }
            (Endpoint::Consent, _, _) if e.consent.is_some() => {
                let c = e.consent.as_ref().map(|c| (c.use_case, c.decision));
                let bev = matches!(c, Some((UseCase::Delen, _)));
                let granted = matches!(c, Some((_, ConsentDecision::Granted)));
                let event_type = match (granted, bev) {
                    (true, false) => "consent.granted",
                    (true, true) => "bevestiging.granted",
                    (false, false) => "consent.refused",
                    (false, true) => "bevestiging.refused",
                };
                let outcome = if granted {
                    Outcome::Success
                } else {
                    Outcome::Refused
                };
                // MedMij CONSENT-3, LOG-1: the Bron logs the grant and the refusal.
                self.core
                    .log
                    .record_from(
                        entry(event_type, outcome, format!("{}; scope {scope}", e.detail)),
                        Some(e.source),
                    )
                    .await?;
                let what = if bev { "Bevestiging" } else { "consent" };
                if granted {
                    trace.step(
                        Actor::ZaGw,
                        &[RuleId::Consent3, RuleId::Log1],
                        StepOutcome::Done,
                        format!("{what} GRANTED and logged (NEN 7513)"),
                    );
                } else {
                    trace.step(
                        Actor::ZaGw,
                        &[RuleId::Oauth12, RuleId::Consent3],
                        StepOutcome::Case(4),
                        format!(
                            "{what} REFUSED and logged; redirect with access_denied \
                             \"Authorization denied.\""
                        ),
                    );
                }
            }
            (Endpoint::Consent, true, _) => trace.step(
                Actor::ZaGw,
                &[RuleId::Oauth6, RuleId::Oauth7, RuleId::Oauth10],
                StepOutcome::Done,
                "authorization code issued (UUID v4, 900 s); redirect to the PGO with code and \
                 state",
            ),
            (Endpoint::Login, true, _) => {}
            // MedMij OAUTH-12 case 2: the identity could not be established.
            (_, false, Some(2)) => {
                self.core
                    .log
                    .record_from(
                        Entry {
                            event_type: "oauth.authenticate",
                            action: Action::Execute,
                            actor: ("unknown".into(), ActorKind::User),
                            subject: None,
                            object: Object::new("authorization-request", client.clone()),
                            outcome: Outcome::Failure,
                            detail: Some("identity not established (TEST DigiD stand-in)".into()),
                        },
                        Some(e.source),
                    )
                    .await?;
                trace.step(
                    Actor::ZaGw,
                    &[RuleId::Oauth12],
                    StepOutcome::Case(2),
                    "the person did not log in at the TEST DigiD stand-in: logged; redirect with \
                     unauthorized_client",
                );
            }
            // Case 3: no data of this person for this Gegevensdienst.
            (_, false, Some(3)) => {
                self.core
                    .log
                    .record_from(
                        Entry {
                            event_type: "oauth.authorize",
                            action: Action::Execute,
                            actor: (TestDigidStandIn::PERSON.into(), ActorKind::User),
                            subject: e.subject.as_ref().and_then(|s| Core::subject(s.as_str())),
                            object: Object::new("authorization-request", client.clone()),
                            outcome: Outcome::Refused,
                            detail: Some(format!(
                                "no data of this person for this Gegevensdienst ({})",
                                e.detail
                            )),
                        },
                        Some(e.source),
                    )
                    .await?;
                trace.step(
                    Actor::ZaGw,
                    &[RuleId::Oauth12],
                    StepOutcome::Case(3),
                    "no data of this person for this Gegevensdienst: logged; redirect with \
                     access_denied \"No such resources.\"",
                );
            }
            // Case 5: the answer cannot be established (the consent page could not be
            // made, the flow was left too long, a step out of order, a bad form).
            (_, false, _) => {
                self.core
                    .log
                    .record_from(
                        entry(
                            "consent.undetermined",
                            Outcome::Failure,
                            detail_with_case(e),
                        ),
                        Some(e.source),
                    )
                    .await?;
                trace.step(
                    Actor::ZaGw,
                    &[RuleId::Oauth12, RuleId::Log1],
                    refused(e),
                    format!(
                        "{}: flow ended and logged; redirect with access_denied \
                         \"Authorization failed.\"",
                        e.detail
                    ),
                );
            }
            _ => {}
        }
        Ok(())
    }
}
