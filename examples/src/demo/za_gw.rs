//! The care provider's gateway (ZA GW, Bron of UCI Verzamelen and Lezer of UCI
//! Delen): authorization endpoint, a test stand-in for DigiD, the consent screen,
//! the token endpoint and the FHIR resource endpoints, all logged per NEN 7513.
//! Two axum routers: the front channel (browsers, server-authenticated TLS) and
//! the back channel (gateways, mutual TLS).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};

use medmij_consent::{
    Bevestiging, ConsentKind, ConsentRequest, CsrfToken, Decision, DecisionBook, FlowId, Language,
    PageOptions, PostedDecision, Side, Toestemming, Variables, Wording, render_page,
};
use medmij_log::{Action, ActorKind, Domain, Object, Outcome, SubjectId};
use medmij_oauth::{
    AuthorizationServer, ClientId, ClientRegistry, ConsentDecision, ConsentOutcome,
    GegevensdienstId, Interaction, InvalidRequest, MemoryStore, ServerConfig, Session, Subject,
    TokenEvent, UseCase, Zorgaanbiedernaam,
};

use super::audit::{AuditLog, Entry};
use super::lists::ZaLists;
use super::net::{self, PeerNames};
use super::trace::Trace;
use super::{DemoError, GEGEVENSDIENST, GEGEVENSDIENST_DELEN, LEZER, ZORGAANBIEDER};

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

    /// The login page for one pending flow.
    fn page(flow: &str, csrf: &str) -> Response {
        let e = medmij_consent::escape_html;
        let html = format!(
            "<!doctype html><html lang=\"nl\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>TEST DigiD stand-in</title></head><body>\
             <main><h1>TEST DigiD stand-in</h1>\
             <p><strong>Dit is niet DigiD.</strong> Dit is een testvoorziening van het \
             MedMij-demonetwerk. U logt in als de vaste testpersoon; er wordt niets \
             gevraagd of gecontroleerd.</p>\
             <p lang=\"en\"><strong>This is not DigiD.</strong> It is a test stand-in of \
             the MedMij demo network: you log in as the fixed test person.</p>\
             <form method=\"post\" action=\"{path}\">\
             <input type=\"hidden\" name=\"flow\" value=\"{flow}\">\
             <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
             <button type=\"submit\" id=\"digid-login\" name=\"action\" value=\"login\">\
             Inloggen als testpersoon</button> \
             <button type=\"submit\" id=\"digid-cancel\" name=\"action\" value=\"cancel\">\
             Annuleren</button></form></main></body></html>",
            path = Self::PATH,
            flow = e(flow),
            csrf = e(csrf),
        );
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

/// How long a flow may wait for the person (at the DigiD stand-in or on the
/// consent screen) before the ZA GW gives up on it. The rulebook sets no figure;
/// the demo uses the 900 s of an authorization code (OAUTH-7). A decision posted
/// later ends the flow as "cannot be established" (OAUTH-12 case 5).
pub const FLOW_TIMEOUT: Duration = Duration::from_secs(900);

/// By default at most this many flows wait for a person at once; beyond it new
/// authorization requests get a "try again later" page (bounded resource use,
/// RFC 6819 4.4.1.11 via MedMij OAUTH-14).
pub const MAX_PENDING_FLOWS: usize = 100_000;

/// Compares two secrets in time independent of where they differ.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The OCL in a list store as medmij-oauth's client registry (MedMij OAUTH-3, LISTS-4).
pub(crate) struct OclRegistry(Arc<medmij_lists::ListStore<medmij_lists::OAuthclientlist>>);

impl ClientRegistry for OclRegistry {
    fn is_listed(&self, client: &ClientId) -> bool {
        self.0
            .current()
            .is_some_and(|i| i.list().contains(client.as_str()))
    }
    fn may_use(&self, client: &ClientId, gegevensdienst: &GegevensdienstId) -> Option<bool> {
        let cur = self.0.current()?;
        let ids = cur.list().get(client.as_str())?.gegevensdiensten()?;
        Some(ids.iter().any(|i| i.as_str() == gegevensdienst.as_str()))
    }
}

/// Where a pending flow stands: at the DigiD stand-in, or on the consent screen.
enum Stage {
    AwaitingLogin,
    AwaitingConsent {
        kind: ConsentKind,
        /// The rendered consent page and its headers (served again on reload).
        page: medmij_consent::ConsentPage,
    },
}

/// A flow between the authorization request and the person's answer.
struct Pending {
    session: Session,
    started: SystemTime,
    csrf: CsrfToken,
    delen: bool,
    stage: Stage,
}

pub(crate) struct ZaGw {
    server: AuthorizationServer<MemoryStore, OclRegistry>,
    lists: ZaLists,
    /// Pending flows by flow id (expire after [`FLOW_TIMEOUT`]).
    flows: Mutex<HashMap<String, Pending>>,
    book: Mutex<DecisionBook>,
    log: AuditLog,
    trace: Arc<Trace>,
    za: Zorgaanbiedernaam,
    gd: GegevensdienstId,
    lezer: Zorgaanbiedernaam,
    gd_delen: GegevensdienstId,
    /// Demo switch: the back end has no data of anyone (OAUTH-12 case 3).
    no_data: AtomicBool,
    /// Handshake refusals being appended to the log right now.
    refusals_in_flight: Arc<std::sync::atomic::AtomicUsize>,
    /// See [`MAX_PENDING_FLOWS`].
    max_pending: std::sync::atomic::AtomicUsize,
}

type R = Result<Response, DemoError>;

impl ZaGw {
    pub(crate) fn new(lists: ZaLists, log: AuditLog, trace: Arc<Trace>) -> Result<Self, DemoError> {
        let za = Zorgaanbiedernaam::parse(ZORGAANBIEDER)?;
        let gd = GegevensdienstId::parse(GEGEVENSDIENST)?;
        let lezer = Zorgaanbiedernaam::parse(LEZER)?;
        let gd_delen = GegevensdienstId::parse(GEGEVENSDIENST_DELEN)?;
        let config = ServerConfig::new()
            .offer(za.clone(), gd.clone(), UseCase::Verzamelen)
            .offer(lezer.clone(), gd_delen.clone(), UseCase::Delen);
        let server =
            AuthorizationServer::new(config, OclRegistry(lists.ocl.clone()), MemoryStore::new());
        Ok(ZaGw {
            server,
            lists,
            flows: Mutex::new(HashMap::new()),
            book: Mutex::new(DecisionBook::new()),
            log,
            trace,
            za,
            gd,
            lezer,
            gd_delen,
            no_data: AtomicBool::new(false),
            refusals_in_flight: Arc::default(),
            max_pending: std::sync::atomic::AtomicUsize::new(MAX_PENDING_FLOWS),
        })
    }

    /// The lists this gateway fetches.
    pub(crate) fn lists(&self) -> &ZaLists {
        &self.lists
    }

    /// This gateway's clock (the real one plus the demo offset).
    fn now(&self) -> SystemTime {
        self.lists.fetcher().now()
    }

    /// Moves this gateway's clock forward.
    pub(crate) fn advance_clock(&self, by: Duration) {
        self.lists.fetcher().advance_clock(by);
    }

    /// From now on the back end has no data of the person.
    pub(crate) fn set_no_data(&self) {
        self.no_data.store(true, Ordering::Relaxed);
    }

    /// Sets how many flows may wait for a person at once.
    pub(crate) fn limit_pending_flows(&self, n: usize) {
        self.max_pending.store(n, Ordering::Relaxed);
    }

    /// The number of flows waiting for the person.
    pub(crate) fn pending_flows(&self) -> usize {
        self.flows.lock().unwrap_or_else(|e| e.into_inner()).len()
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
                self.trace
                    .step("ZA GW", "LOG-1", format!("logging a refusal failed: {e}"));
            }
            return;
        };
        let me = self.clone();
        self.refusals_in_flight.fetch_add(1, Ordering::SeqCst);
        rt.spawn(async move {
            if let Err(e) = me.log.record(entry).await {
                me.trace
                    .step("ZA GW", "LOG-1", format!("logging a refusal failed: {e}"));
            }
            me.refusals_in_flight.fetch_sub(1, Ordering::SeqCst);
        });
    }

    /// Waits until every refusal reported so far is in the log.
    pub(crate) async fn settle_log(&self) {
        while self.refusals_in_flight.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Fetches the OCL, GNL and WHL again (MedMij LISTS-8).
    pub(crate) async fn refresh_lists(&self) -> Result<(), DemoError> {
        self.lists.refresh(&self.trace).await
    }

    pub(crate) fn log(&self) -> &AuditLog {
        &self.log
    }

    fn subject(id: &str) -> Option<SubjectId> {
        SubjectId::new(id, Domain::Zorgaanbieder).ok()
    }

    fn answer(&self, r: R) -> Response {
        r.unwrap_or_else(|e| {
            self.trace
                .step("ZA GW", "-", format!("internal error: {e}"));
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

    /// The back channel (mutual TLS): token endpoint and FHIR resource endpoints.
    pub(crate) fn back_router(me: &Arc<Self>) -> Router {
        Router::new()
            .route("/oauth/token", post(back_token))
            .route("/fhir/MedicationStatement", get(back_read))
            .route("/lezer/fhir/Bundle", post(back_write))
            .with_state(me.clone())
    }

    /// Ends flows the person left (OAUTH-12 case 5 for those on the consent
    /// screen), logs each, and forgets decisions older than [`FLOW_TIMEOUT`].
    /// Returns how many flows ended.
    pub(crate) async fn expire_flows(&self) -> Result<usize, DemoError> {
        let now = self.now();
        let expired: Vec<(String, Pending)> = {
            let mut flows = self.flows.lock().unwrap_or_else(|e| e.into_inner());
            let ids: Vec<String> = flows
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
                "ZA GW",
                "OAUTH-12 case 5, LOG-1",
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

    /// Takes flow `flow` out of the pending ones if `at_stage` accepts it (and
    /// returns what it derived from it); otherwise leaves it there.
    fn take_flow<T>(
        &self,
        flow: &str,
        at_stage: impl FnOnce(&Pending) -> Option<T>,
    ) -> Option<(Pending, T)> {
        let mut flows = self.flows.lock().unwrap_or_else(|e| e.into_inner());
        let t = at_stage(flows.get(flow)?)?;
        flows.remove(flow).map(|p| (p, t))
    }

    fn is_expired(p: &Pending, now: SystemTime) -> bool {
        now.duration_since(p.started)
            .is_ok_and(|d| d >= FLOW_TIMEOUT)
    }

    /// A consent form that is malformed, has a wrong anti-CSRF token or was posted
    /// before: refused with what was wrong (HTTP 400, OAUTH-14), no redirect.
    fn bad_form(&self, e: &dyn std::error::Error) -> Response {
        self.trace.step(
            "ZA GW",
            "OAUTH-14, CONSENT-1",
            format!("consent form refused: {e}"),
        );
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

    async fn authorize(&self, query: &str) -> R {
        let now = self.now();
        let session = match self.server.authorize(query) {
            Ok(s) => s,
            Err(inv) => {
                // MedMij OAUTH-12 case 1: tell the person directly, never redirect.
                self.trace.step(
                    "ZA GW",
                    "OAUTH-12 case 1",
                    format!("invalid authorization request: {}", inv.description()),
                );
                let (status, html) = (inv.status(), invalid_request_page(&inv));
                self.log
                    .record(Entry {
                        event_type: "oauth.authorize",
                        action: Action::Execute,
                        actor: ("unknown".into(), ActorKind::System),
                        subject: None,
                        object: Object::new("authorization-request", "invalid"),
                        outcome: Outcome::Refused,
                        detail: Some(inv.description()),
                    })
                    .await?;
                return Ok(net::html(status, html));
            }
        };
        let delen = session.request().use_case() == UseCase::Delen;
        if self.pending_flows() >= self.max_pending.load(Ordering::Relaxed) {
            self.trace.step(
                "ZA GW",
                "OAUTH-14",
                "too many flows waiting for a person: request turned away",
            );
            return Ok(net::with_header(
                net::html(
                    503,
                    net::page(
                        "Even geduld",
                        "Het is op dit moment te druk. Probeer het over enkele minuten opnieuw.",
                        None,
                    ),
                ),
                "Retry-After",
                "60",
            ));
        }
        self.trace.step(
            "ZA GW",
            "OAUTH-3..5, OAUTH-11",
            format!(
                "{} authorization request from {} (on the OCL) for scope {}: valid; \
                 session created; person sent to the TEST DigiD stand-in",
                if delen { "Delen" } else { "Verzamelen" },
                session.request().client_id().as_str(),
                session.request().scope()
            ),
        );
        let flow = net::random_hex();
        let csrf = CsrfToken::new(net::random_hex())?;
        self.flows.lock().unwrap_or_else(|e| e.into_inner()).insert(
            flow.clone(),
            Pending {
                session,
                started: now,
                csrf,
                delen,
                stage: Stage::AwaitingLogin,
            },
        );
        Ok(net::redirect(&format!(
            "{}?flow={flow}",
            TestDigidStandIn::PATH
        )))
    }

    fn login_page(&self, query: &str) -> R {
        let flow = net::param(query, "flow").unwrap_or_default();
        let flows = self.flows.lock().unwrap_or_else(|e| e.into_inner());
        match flows.get(&flow) {
            Some(p) if matches!(p.stage, Stage::AwaitingLogin) => {
                Ok(TestDigidStandIn::page(&flow, p.csrf.as_str()))
            }
            _ => Ok(Self::flow_gone()),
        }
    }

    /// The person pressed "log in" or "cancel" at the DigiD stand-in.
    async fn login(&self, form: &str) -> R {
        let now = self.now();
        let (flow, csrf, action) = (
            net::param(form, "flow").unwrap_or_default(),
            net::param(form, "csrf_token").unwrap_or_default(),
            net::param(form, "action").unwrap_or_default(),
        );
        let Some((mut p, ())) = self.take_flow(&flow, |p| {
            (matches!(p.stage, Stage::AwaitingLogin)
                && ct_eq(p.csrf.as_str().as_bytes(), csrf.as_bytes()))
            .then_some(())
        }) else {
            return Ok(Self::flow_gone());
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
                "ZA GW",
                "OAUTH-12 case 2",
                "the person did not log in at the TEST DigiD stand-in: logged; redirect with \
                 unauthorized_client",
            );
            return Ok(net::redirect(r.location()));
        }
        let person = TestDigidStandIn::person();
        self.trace.step(
            "TEST DigiD stand-in",
            "OAUTH-11",
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
                    subject: Self::subject(TestDigidStandIn::PERSON),
                    object: Object::new("authorization-request", scope.to_string()),
                    outcome: Outcome::Refused,
                    detail: Some("no data of this person for this Gegevensdienst".into()),
                })
                .await?;
            self.trace.step(
                "ZA GW",
                "OAUTH-12 case 3",
                "no data of this person for this Gegevensdienst: logged; redirect with \
                 access_denied \"No such resources.\"",
            );
            return Ok(net::redirect(r.location()));
        }
        self.trace.step(
            "ZA GW",
            "OAUTH-11",
            if p.delen {
                "the Lezer knows this person"
            } else {
                "back end has data of this person for this Gegevensdienst"
            },
        );
        let (kind, page, text) = self.consent_page(&p, &flow, now)?;
        p.stage = Stage::AwaitingConsent { kind, page };
        self.flows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(flow.clone(), p);
        self.trace.step(
            "ZA GW",
            if kind == ConsentKind::Bevestiging {
                "CONSENT-2, OAUTH-13, OAUTH-14"
            } else {
                "CONSENT-1, OAUTH-14"
            },
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
    /// the page. Returns the kind, the page and its Dutch text.
    fn consent_page(
        &self,
        p: &Pending,
        flow: &str,
        now: SystemTime,
    ) -> Result<(ConsentKind, medmij_consent::ConsentPage, String), DemoError> {
        let req = p.session.request();
        let scope = req.scope();
        let client = req.client_id();
        // MedMij CONSENT-1: the fixed wording with the GNL name and the OCL name.
        let gd = scope.gegevensdiensten().first().ok_or("empty scope")?;
        let gnl = self.lists.gnl.current().ok_or("no GNL")?;
        let naam = gnl
            .list()
            .weergavenaam(gd.as_str())
            .ok_or("Gegevensdienst not on the GNL")?
            .to_string();
        let ocl = self.lists.ocl.current().ok_or("no OCL")?;
        let org = ocl
            .list()
            .get(client.as_str())
            .ok_or("client not on the OCL")?
            .organisatienaam()
            .to_string();
        let vars = Variables::new(display_name(scope.zorgaanbieder().as_str()), &naam, &org)?;
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
                scope: medmij_consent::Scope::new(scope.to_string())?,
                client: medmij_consent::ClientId::new(client.as_str())?,
                zorgaanbieder: medmij_consent::Zorgaanbiedernaam::new(
                    scope.zorgaanbieder().as_str(),
                )?,
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
        Ok((kind, page, wording.full_text(Language::Nl)))
    }

    fn consent_screen(&self, query: &str) -> R {
        let flow = net::param(query, "flow").unwrap_or_default();
        let flows = self.flows.lock().unwrap_or_else(|e| e.into_inner());
        match flows.get(&flow).map(|p| &p.stage) {
            Some(Stage::AwaitingConsent { page, .. }) => {
                let mut r = net::html(200, page.html());
                for (k, v) in page.headers() {
                    r = net::with_header(r, k, v);
                }
                Ok(r)
            }
            _ => Ok(Self::flow_gone()),
        }
    }

    async fn consent(&self, form: &str) -> R {
        let now = self.now();
        let posted = match PostedDecision::from_form(form) {
            Ok(posted) => posted,
            Err(e) => return Ok(self.bad_form(&e)),
        };
        let Some((mut p, kind)) = self.take_flow(posted.flow.as_str(), |p| match p.stage {
            Stage::AwaitingConsent { kind, .. } => Some(kind),
            Stage::AwaitingLogin => None,
        }) else {
            return Ok(Self::flow_gone());
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
                return Ok(self.bad_form(&e));
            }
        };
        let (decision, event_type, outcome) = match (record.decision, bev) {
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
                subject: Self::subject(TestDigidStandIn::PERSON),
                object: Object::new("consent", record.reference().to_string()),
                outcome,
                detail: Some(record.to_json()),
            })
            .await?;
        let location = match p.session.consent(decision, now)? {
            ConsentOutcome::Granted(_) => {
                self.trace.step(
                    "ZA GW",
                    "CONSENT-3, LOG-1",
                    if bev {
                        "Bevestiging GRANTED and logged (NEN 7513)"
                    } else {
                        "consent GRANTED and logged (NEN 7513)"
                    },
                );
                let r = self.server.issue_code(&mut p.session, now)?;
                self.trace.step(
                    "ZA GW",
                    "OAUTH-6, OAUTH-7, OAUTH-10",
                    "authorization code issued (UUID v4, 900 s); redirect to the PGO with code and state",
                );
                r.location().to_owned()
            }
            ConsentOutcome::Refused(_, r) => {
                self.trace.step(
                    "ZA GW",
                    "OAUTH-12 case 4, CONSENT-3",
                    "consent REFUSED and logged; redirect with access_denied \"Authorization denied.\"",
                );
                r.location().to_owned()
            }
            ConsentOutcome::Undetermined(r) => {
                self.trace.step(
                    "ZA GW",
                    "OAUTH-12 case 5",
                    if expired {
                        "answer came after the flow expired: undetermined, logged; redirect with \
                         access_denied \"Authorization failed.\""
                    } else {
                        "answer undetermined; redirect with access_denied \"Authorization failed.\""
                    },
                );
                r.location().to_owned()
            }
        };
        Ok(net::redirect(&location))
    }

    async fn token(&self, peer: &PeerNames, content_type: Option<&str>, body: &str) -> R {
        let now = self.now();
        // MedMij OAUTH-3: the client is who its mTLS certificate says it is.
        let client = peer
            .first()
            .ok_or("no client certificate")
            .and_then(|n| ClientId::parse(n).map_err(|_| "bad client name"))?;
        let out = self.server.token(content_type, body, &client, now);
        let status = out.response.status();
        let ok = status == 200;
        self.log
            .record(Entry {
                event_type: "oauth.token",
                action: Action::Execute,
                actor: (client.as_str().into(), ActorKind::System),
                // LOG-1 "on whose data": the person the token stands for, when issued.
                subject: match &out.event {
                    TokenEvent::Issued { subject, .. } => Self::subject(subject.as_str()),
                    _ => None,
                },
                // The event's Debug form redacts the subject and holds no code or
                // token (LOG-4).
                object: Object::new("token-request", format!("{:?}", out.event)),
                outcome: if ok {
                    Outcome::Success
                } else {
                    Outcome::Refused
                },
                detail: None,
            })
            .await?;
        self.trace.step(
            "ZA GW",
            if ok {
                "OAUTH-3, OAUTH-8, OAUTH-9"
            } else {
                "OAUTH-12 case 6, OAUTH-8"
            },
            format!(
                "token request from {} over mTLS: HTTP {status}{}",
                client.as_str(),
                if ok {
                    " (Bearer, expires_in 900, no refresh token)"
                } else {
                    ""
                }
            ),
        );
        let mut resp = net::typed(status, "application/json", out.response.body().to_owned());
        for (k, v) in out.response.headers() {
            if !k.eq_ignore_ascii_case("content-type") {
                resp = net::with_header(resp, k, v);
            }
        }
        Ok(resp)
    }

    fn refused(e: &medmij_oauth::ResourceError) -> Response {
        let mut resp = net::typed(e.status(), e.content_type(), e.body().to_owned());
        if let Some(w) = e.www_authenticate() {
            resp = net::with_header(resp, "WWW-Authenticate", w);
        }
        resp
    }

    async fn resource(&self, headers: &HeaderMap) -> R {
        let now = self.now();
        let auth = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        match self
            .server
            .check_resource(auth, &self.za, &self.gd, Interaction::Read, now)
        {
            Ok(access) => {
                let bundle = fhir_bundle(access.subject.as_str());
                self.log
                    .record(Entry {
                        event_type: "fhir.read",
                        action: Action::Read,
                        actor: (access.client_id.as_str().into(), ActorKind::System),
                        subject: Self::subject(access.subject.as_str()),
                        object: Object::new("Bundle", "MedicationStatement?searchset"),
                        outcome: Outcome::Success,
                        detail: Some(format!("scope {}", access.scope)),
                    })
                    .await?;
                self.trace.step(
                    "ZA GW",
                    "OAUTH-2, OAUTH-11, LOG-1",
                    format!(
                        "FHIR read with a valid Bearer token for scope {}: Bundle sent, logged",
                        access.scope
                    ),
                );
                Ok(net::typed(200, "application/fhir+json", bundle))
            }
            Err(e) => {
                self.trace.step(
                    "ZA GW",
                    "OAUTH-12 case 7/8",
                    format!("FHIR read refused: HTTP {}", e.status()),
                );
                Ok(Self::refused(&e))
            }
        }
    }

    /// The Lezer's FHIR write endpoint (UCI Delen, MedMij OAUTH-13).
    async fn write(&self, headers: &HeaderMap, body: &[u8]) -> R {
        let now = self.now();
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        match self.server.check_resource(
            header("authorization"),
            &self.lezer,
            &self.gd_delen,
            Interaction::Write,
            now,
        ) {
            Ok(access) => {
                let doc: serde_json::Value = match serde_json::from_slice(body) {
                    Ok(v) => v,
                    Err(_) => return Ok(net::html(400, "not JSON")),
                };
                if doc["resourceType"] != "Bundle" {
                    return Ok(net::html(400, "not a FHIR Bundle"));
                }
                // MedMij CONSENT-4: the provenance travels along with shared data.
                let provenance = header("x-medmij-provenance").unwrap_or("").to_owned();
                self.log
                    .record(Entry {
                        event_type: "fhir.write",
                        action: Action::Create,
                        actor: (access.client_id.as_str().into(), ActorKind::System),
                        subject: Self::subject(access.subject.as_str()),
                        object: Object::new("Bundle", format!("{} bytes", body.len())),
                        outcome: Outcome::Success,
                        detail: Some(format!("scope {}; provenance {provenance}", access.scope)),
                    })
                    .await?;
                self.trace.step(
                    "ZA GW (Lezer)",
                    "OAUTH-13, CONSENT-4, LOG-1",
                    format!(
                        "FHIR write with a valid Bearer token for scope {}: Bundle accepted \
                         with its provenance, logged",
                        access.scope
                    ),
                );
                let oo = serde_json::json!({
                    "resourceType": "OperationOutcome",
                    "issue": [{ "severity": "information", "code": "informational",
                                "diagnostics": "Bundle received" }]
                });
                Ok(net::typed(200, "application/fhir+json", oo.to_string()))
            }
            Err(e) => {
                self.trace.step(
                    "ZA GW (Lezer)",
                    "OAUTH-12 case 7/8",
                    format!("FHIR write refused: HTTP {}", e.status()),
                );
                Ok(Self::refused(&e))
            }
        }
    }
}

type St = State<Arc<ZaGw>>;

async fn front_authorize(State(me): St, RawQuery(q): RawQuery) -> Response {
    let r = me.authorize(q.as_deref().unwrap_or("")).await;
    me.answer(r)
}

async fn front_login_page(State(me): St, RawQuery(q): RawQuery) -> Response {
    let r = me.login_page(q.as_deref().unwrap_or(""));
    me.answer(r)
}

async fn front_login(State(me): St, body: String) -> Response {
    let r = me.login(&body).await;
    me.answer(r)
}

async fn front_consent_page(State(me): St, RawQuery(q): RawQuery) -> Response {
    let r = me.consent_screen(q.as_deref().unwrap_or(""));
    me.answer(r)
}

async fn front_consent(State(me): St, body: String) -> Response {
    let r = me.consent(&body).await;
    me.answer(r)
}

async fn back_token(
    State(me): St,
    Extension(peer): Extension<PeerNames>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let r = me.token(&peer, content_type, &body).await;
    me.answer(r)
}

async fn back_read(State(me): St, headers: HeaderMap) -> Response {
    let r = me.resource(&headers).await;
    me.answer(r)
}

async fn back_write(State(me): St, headers: HeaderMap, body: Bytes) -> Response {
    let r = me.write(&headers, &body).await;
    me.answer(r)
}

/// A small FHIR R4 searchset Bundle: the test person's medication overview.
fn fhir_bundle(person: &str) -> String {
    serde_json::json!({
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
    })
    .to_string()
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
