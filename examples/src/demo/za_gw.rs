//! The care provider's gateway (ZA GW, Bron of UCI Verzamelen): authorization
//! endpoint with the consent screen, a test stand-in for DigiD, the token
//! endpoint and a FHIR resource endpoint, all logged per NEN 7513.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use medmij_consent::{
    Bevestiging, ConsentKind, ConsentRequest, CsrfToken, Decision, DecisionBook, FlowId, Language,
    PageOptions, PostedDecision, Side, Toestemming, Variables, Wording, render_page,
};
use medmij_log::{Action, ActorKind, Domain, Object, Outcome, SubjectId};
use medmij_oauth::{
    AuthorizationServer, ClientId, ClientRegistry, ConsentDecision, ConsentOutcome,
    GegevensdienstId, Interaction, MemoryStore, RandomSource, ServerConfig, Session, Subject,
    ThreadRandom, TokenEvent, UseCase, Zorgaanbiedernaam,
};

use super::audit::{AuditLog, Entry};
use super::http::{Handler, Request, Response};
use super::lists::ZaLists;
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

/// TEST STAND-IN FOR DigiD. Not DigiD, not SAML: it "authenticates" one fixed
/// test person without asking anything. In production the ZA GW is a SAML SP of
/// DigiD here (MedMij OAUTH-11).
pub(crate) struct TestDigidStandIn;

impl TestDigidStandIn {
    /// The care provider's local, pseudonymous identifier of the fixed test person
    /// (never a BSN on the wire; OAUTH-11 "no person identifier between gateways").
    pub(crate) const PERSON: &'static str = "za-person-0001";

    fn authenticate() -> Subject {
        Subject::new(Self::PERSON).expect("a valid subject")
    }
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

fn random_hex() -> String {
    let mut b = [0u8; 16];
    ThreadRandom.fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) struct ZaGw {
    server: AuthorizationServer<MemoryStore, OclRegistry>,
    lists: ZaLists,
    sessions: Mutex<HashMap<String, (Session, ConsentKind)>>,
    book: Mutex<DecisionBook>,
    log: AuditLog,
    trace: Arc<Trace>,
    za: Zorgaanbiedernaam,
    gd: GegevensdienstId,
    lezer: Zorgaanbiedernaam,
    gd_delen: GegevensdienstId,
    /// Demo switch: the back end has no data of anyone (OAUTH-12 case 3).
    no_data: AtomicBool,
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
            sessions: Mutex::new(HashMap::new()),
            book: Mutex::new(DecisionBook::new()),
            log,
            trace,
            za,
            gd,
            lezer,
            gd_delen,
            no_data: AtomicBool::new(false),
        })
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

    /// Logs a refused back-channel handshake (MedMij TLS-3, TLS-4, LOG-1).
    pub(crate) fn log_refusal(&self, ev: &medmij_tls::RefusalEvent) {
        let who = ev
            .peer_names
            .first()
            .cloned()
            .unwrap_or_else(|| "unknown".into());
        let _ = self.log.record(Entry {
            event_type: "tls.refused",
            action: Action::Execute,
            actor: (who, ActorKind::System),
            subject: None,
            object: Object::new("tls-peer", ev.peer_names.join(",")),
            outcome: Outcome::Refused,
            detail: Some(ev.refusal.to_string()),
        });
    }

    /// Fetches the OCL, GNL and WHL again (MedMij LISTS-8).
    pub(crate) fn refresh_lists(&self) -> Result<(), DemoError> {
        self.lists.refresh(&self.trace)
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
            Response::html(500, "internal error")
        })
    }

    /// The front channel: authorization endpoint and consent form.
    pub(crate) fn front_handler(me: &Arc<Self>) -> Handler {
        let me = me.clone();
        Arc::new(move |req: &Request| {
            let r = match (req.method.as_str(), req.path()) {
                ("GET", "/oauth/authorize" | "/lezer/oauth/authorize") => me.authorize(req),
                ("POST", "/oauth/consent") => me.consent(req),
                _ => Ok(Response::html(404, "not found")),
            };
            me.answer(r)
        })
    }

    /// The back channel (mutual TLS): token endpoint and FHIR resource endpoint.
    pub(crate) fn back_handler(me: &Arc<Self>) -> Handler {
        let me = me.clone();
        Arc::new(move |req: &Request| {
            let r = match (req.method.as_str(), req.path()) {
                ("POST", "/oauth/token") => me.token(req),
                ("GET", "/fhir/MedicationStatement") => me.resource(req),
                ("POST", "/lezer/fhir/Bundle") => me.write(req),
                _ => Ok(Response::html(404, "not found")),
            };
            me.answer(r)
        })
    }

    fn authorize(&self, req: &Request) -> R {
        let now = self.now();
        let mut session = match self.server.authorize(req.query()) {
            Ok(s) => s,
            Err(inv) => {
                // MedMij OAUTH-12 case 1: tell the person directly, never redirect.
                self.trace.step(
                    "ZA GW",
                    "OAUTH-12 case 1",
                    format!("invalid authorization request: {}", inv.description()),
                );
                self.log.record(Entry {
                    event_type: "oauth.authorize",
                    action: Action::Execute,
                    actor: ("unknown".into(), ActorKind::System),
                    subject: None,
                    object: Object::new("authorization-request", "invalid"),
                    outcome: Outcome::Refused,
                    detail: Some(inv.description()),
                })?;
                return Ok(Response::html(inv.status(), inv.to_html()));
            }
        };
        let client = session.request().client_id().clone();
        let scope = session.request().scope().clone();
        let delen = session.request().use_case() == UseCase::Delen;
        let redirect_uri = session.request().redirect_uri().to_owned();
        self.trace.step(
            "ZA GW",
            "OAUTH-3..5, OAUTH-11",
            format!(
                "{} authorization request from {} (on the OCL) for scope {scope}: valid; \
                 session created",
                if delen { "Delen" } else { "Verzamelen" },
                client.as_str()
            ),
        );
        let person = TestDigidStandIn::authenticate();
        self.trace.step(
            "TEST DigiD stand-in",
            "OAUTH-11",
            format!(
                "authenticated the fixed test person {} (a stand-in, NOT DigiD)",
                TestDigidStandIn::PERSON
            ),
        );
        if let Some(r) =
            session.authenticated(medmij_oauth::Authentication::Established(person.clone()))?
        {
            return Ok(Response::redirect(r.location()));
        }
        // The demo's back-end system holds data of the test person only.
        let has_data =
            person.as_str() == TestDigidStandIn::PERSON && !self.no_data.load(Ordering::Relaxed);
        if let Some(r) = session.data_available(has_data)? {
            self.log.record(Entry {
                event_type: "oauth.authorize",
                action: Action::Execute,
                actor: (TestDigidStandIn::PERSON.into(), ActorKind::User),
                subject: Self::subject(TestDigidStandIn::PERSON),
                object: Object::new("authorization-request", scope.to_string()),
                outcome: Outcome::Refused,
                detail: Some("no data of this person for this Gegevensdienst".into()),
            })?;
            self.trace.step(
                "ZA GW",
                "OAUTH-12 case 3",
                "no data of this person for this Gegevensdienst: logged; redirect with \
                 access_denied \"No such resources.\"",
            );
            return Ok(Response::redirect(r.location()));
        }
        self.trace.step(
            "ZA GW",
            "OAUTH-11",
            if delen {
                "the Lezer knows this person"
            } else {
                "back end has data of this person for this Gegevensdienst"
            },
        );

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
        let (wording, kind): (Box<dyn Wording>, _) = if delen {
            (Box::new(Bevestiging::new(vars)), ConsentKind::Bevestiging)
        } else {
            (Box::new(Toestemming::new(vars)), ConsentKind::Toestemming)
        };
        let flow = FlowId::new(random_hex())?;
        let csrf = CsrfToken::new(random_hex())?;
        self.book
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ask(ConsentRequest {
                kind,
                flow: flow.clone(),
                scope: medmij_consent::Scope::new(scope.to_string())?,
                client: medmij_consent::ClientId::new(client.as_str())?,
                zorgaanbieder: medmij_consent::Zorgaanbiedernaam::new(
                    scope.zorgaanbieder().as_str(),
                )?,
                csrf: csrf.clone(),
                asked_at: now,
            })?;
        // The answer redirects to the client's (validated, OAUTH-4) redirect
        // URI; the page's CSP form-action must allow that origin.
        let redirect_origin = url::Url::parse(&redirect_uri)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        let mut options = PageOptions::new("/oauth/consent", &flow, &csrf);
        options.redirect_origin = Some(&redirect_origin);
        let page = render_page(wording.as_ref(), &options)?;
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(flow.to_string(), (session, kind));
        self.trace.step(
            "ZA GW",
            if delen {
                "CONSENT-2, OAUTH-13, OAUTH-14"
            } else {
                "CONSENT-1, OAUTH-14"
            },
            format!(
                "{} page shown (frame-busting headers): \"{}\"",
                if delen { "Bevestiging" } else { "Toestemming" },
                wording.full_text(Language::Nl)
            ),
        );
        let mut resp = Response::html(200, page.html());
        for (k, v) in page.headers() {
            resp = resp.with_header(k, v.clone());
        }
        Ok(resp)
    }

    fn consent(&self, req: &Request) -> R {
        let now = self.now();
        let posted = PostedDecision::from_form(req.body_str())?;
        let (mut session, kind) = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&posted.flow.to_string())
            .ok_or("unknown or finished flow")?;
        let bev = kind == ConsentKind::Bevestiging;
        let side = if bev { Side::Lezer } else { Side::Bron };
        let record = self
            .book
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .decide(&posted, side, now)?;
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
        self.log.record(Entry {
            event_type,
            action: Action::Execute,
            actor: (TestDigidStandIn::PERSON.into(), ActorKind::User),
            subject: Self::subject(TestDigidStandIn::PERSON),
            object: Object::new("consent", record.reference().to_string()),
            outcome,
            detail: Some(record.to_json()),
        })?;
        match session.consent(decision, now)? {
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
                let r = self.server.issue_code(&mut session, now)?;
                self.trace.step(
                    "ZA GW",
                    "OAUTH-6, OAUTH-7, OAUTH-10",
                    "authorization code issued (UUID v4, 900 s); redirect to the PGO with code and state",
                );
                Ok(Response::redirect(r.location()))
            }
            ConsentOutcome::Refused(_, r) => {
                self.trace.step(
                    "ZA GW",
                    "OAUTH-12 case 4, CONSENT-3",
                    "consent REFUSED and logged; redirect with access_denied \"Authorization denied.\"",
                );
                Ok(Response::redirect(r.location()))
            }
            ConsentOutcome::Undetermined(r) => {
                self.trace.step(
                    "ZA GW",
                    "OAUTH-12 case 5",
                    "answer undetermined; redirect with access_denied",
                );
                Ok(Response::redirect(r.location()))
            }
        }
    }

    fn token(&self, req: &Request) -> R {
        let now = self.now();
        // MedMij OAUTH-3: the client is who its mTLS certificate says it is.
        let client = req
            .peer_names
            .first()
            .ok_or("no client certificate")
            .and_then(|n| ClientId::parse(n).map_err(|_| "bad client name"))?;
        let out = self.server.token(req.body_str(), &client, now);
        let status = out.response.status();
        let ok = status == 200;
        self.log.record(Entry {
            event_type: "oauth.token",
            action: Action::Execute,
            actor: (client.as_str().into(), ActorKind::System),
            // LOG-1 "on whose data": the person the token stands for, when issued.
            subject: match &out.event {
                TokenEvent::Issued { subject, .. } => Self::subject(subject.as_str()),
                _ => None,
            },
            // The event's Debug form redacts the subject and holds no code or token
            // (LOG-4).
            object: Object::new("token-request", format!("{:?}", out.event)),
            outcome: if ok {
                Outcome::Success
            } else {
                Outcome::Refused
            },
            detail: None,
        })?;
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
        let mut resp = Response::new(status, "application/json", out.response.body());
        for (k, v) in out.response.headers() {
            if !k.eq_ignore_ascii_case("content-type") {
                resp = resp.with_header(k, *v);
            }
        }
        Ok(resp)
    }

    fn resource(&self, req: &Request) -> R {
        let now = self.now();
        match self.server.check_resource(
            req.header("authorization"),
            &self.za,
            &self.gd,
            Interaction::Read,
            now,
        ) {
            Ok(access) => {
                let bundle = fhir_bundle(access.subject.as_str());
                self.log.record(Entry {
                    event_type: "fhir.read",
                    action: Action::Read,
                    actor: (access.client_id.as_str().into(), ActorKind::System),
                    subject: Self::subject(access.subject.as_str()),
                    object: Object::new("Bundle", "MedicationStatement?searchset"),
                    outcome: Outcome::Success,
                    detail: Some(format!("scope {}", access.scope)),
                })?;
                self.trace.step(
                    "ZA GW",
                    "OAUTH-2, OAUTH-11, LOG-1",
                    format!(
                        "FHIR read with a valid Bearer token for scope {}: Bundle sent, logged",
                        access.scope
                    ),
                );
                Ok(Response::new(200, "application/fhir+json", bundle))
            }
            Err(e) => {
                self.trace.step(
                    "ZA GW",
                    "OAUTH-12 case 7/8",
                    format!("FHIR read refused: HTTP {}", e.status()),
                );
                let mut resp = Response::new(e.status(), e.content_type(), e.body());
                if let Some(w) = e.www_authenticate() {
                    resp = resp.with_header("WWW-Authenticate", w);
                }
                Ok(resp)
            }
        }
    }
}

impl ZaGw {
    /// The Lezer's FHIR write endpoint (UCI Delen, MedMij OAUTH-13).
    fn write(&self, req: &Request) -> R {
        let now = self.now();
        match self.server.check_resource(
            req.header("authorization"),
            &self.lezer,
            &self.gd_delen,
            Interaction::Write,
            now,
        ) {
            Ok(access) => {
                let doc: serde_json::Value = match serde_json::from_slice(&req.body) {
                    Ok(v) => v,
                    Err(_) => return Ok(Response::html(400, "not JSON")),
                };
                if doc["resourceType"] != "Bundle" {
                    return Ok(Response::html(400, "not a FHIR Bundle"));
                }
                // MedMij CONSENT-4: the provenance travels along with shared data.
                let provenance = req.header("x-medmij-provenance").unwrap_or("").to_owned();
                self.log.record(Entry {
                    event_type: "fhir.write",
                    action: Action::Create,
                    actor: (access.client_id.as_str().into(), ActorKind::System),
                    subject: Self::subject(access.subject.as_str()),
                    object: Object::new("Bundle", format!("{} bytes", req.body.len())),
                    outcome: Outcome::Success,
                    detail: Some(format!("scope {}; provenance {provenance}", access.scope)),
                })?;
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
                Ok(Response::new(200, "application/fhir+json", oo.to_string()))
            }
            Err(e) => {
                self.trace.step(
                    "ZA GW (Lezer)",
                    "OAUTH-12 case 7/8",
                    format!("FHIR write refused: HTTP {}", e.status()),
                );
                let mut resp = Response::new(e.status(), e.content_type(), e.body());
                if let Some(w) = e.www_authenticate() {
                    resp = resp.with_header("WWW-Authenticate", w);
                }
                Ok(resp)
            }
        }
    }
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
