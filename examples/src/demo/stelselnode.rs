//! The Stelselnode (MedMij Beheer): serves the four lists over mutual TLS; accepts a
//! change to an entry only after the checks of LISTS-14 (the library's
//! `medmij_lists::PublicationChecks`), publishes the complete list with a higher
//! Volgnummer, and archives every version it publishes (LISTS-11, the caller's duty).

use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use medmij_lists::{
    ArchiveSink, DirArchive, GegevensdienstNaam, Gegevensdienstnamenlijst, GnlRelease, Hostname,
    ListEntry, ListKind, ModelError, OAuthclient, OAuthclientlist, OclRelease, PublicationChecks,
    PublicationRefused, QualificationRegistry, RuleId, Tijdstempel, Violation, ViolationKind,
    Volgnummer, Whitelist, WhlRelease, ZalRelease, Zorgaanbieder, Zorgaanbiederslijst,
};
use medmij_log::{Action, ActorKind, Object, Outcome};
use medmij_tls::WhitelistAnswer;

use super::audit::{AuditLog, Entry};
use super::lists::Published;
use super::{DemoError, List, net};

/// A change to one entry of one list, as MedMij Beheer submits it (MedMij LISTS-14).
/// "Modify" replaces the entry with the same key.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ListChange {
    /// Adds a Zorgaanbieder to the ZAL.
    AddZorgaanbieder(Zorgaanbieder),
    /// Replaces the ZAL entry with this Zorgaanbiedernaam.
    ModifyZorgaanbieder(Zorgaanbieder),
    /// Removes the ZAL entry with this Zorgaanbiedernaam.
    RemoveZorgaanbieder(String),
    /// Adds an OAuth client to the OCL.
    AddClient(OAuthclient),
    /// Replaces the OCL entry with this hostname.
    ModifyClient(OAuthclient),
    /// Removes the OCL entry with this hostname.
    RemoveClient(String),
    /// Adds a Gegevensdienst name to the GNL.
    AddGegevensdienstNaam(GegevensdienstNaam),
    /// Replaces the GNL entry with this GegevensdienstId.
    ModifyGegevensdienstNaam(GegevensdienstNaam),
    /// Removes the GNL entry with this GegevensdienstId.
    RemoveGegevensdienstNaam(String),
    /// Adds a node to the Whitelist.
    AddNode(Hostname),
    /// Removes a node from the Whitelist.
    RemoveNode(String),
}

impl ListChange {
    /// The list the change is to.
    pub fn list(&self) -> List {
        match self {
            ListChange::AddZorgaanbieder(_)
            | ListChange::ModifyZorgaanbieder(_)
            | ListChange::RemoveZorgaanbieder(_) => List::Zal,
            ListChange::AddClient(_)
            | ListChange::ModifyClient(_)
            | ListChange::RemoveClient(_) => List::Ocl,
            ListChange::AddGegevensdienstNaam(_)
            | ListChange::ModifyGegevensdienstNaam(_)
            | ListChange::RemoveGegevensdienstNaam(_) => List::Gnl,
            ListChange::AddNode(_) | ListChange::RemoveNode(_) => List::Whl,
        }
    }

    /// In words, e.g. `add Zorgaanbieder kliniekdemo@medmij`.
    pub fn describe(&self) -> String {
        match self {
            ListChange::AddZorgaanbieder(z) => format!("add Zorgaanbieder {}", z.naam()),
            ListChange::ModifyZorgaanbieder(z) => format!("modify Zorgaanbieder {}", z.naam()),
            ListChange::RemoveZorgaanbieder(n) => format!("remove Zorgaanbieder {n}"),
            ListChange::AddClient(c) => format!("add OAuth client {}", c.hostname()),
            ListChange::ModifyClient(c) => format!("modify OAuth client {}", c.hostname()),
            ListChange::RemoveClient(h) => format!("remove OAuth client {h}"),
            ListChange::AddGegevensdienstNaam(g) => format!("add Gegevensdienst {}", g.id()),
            ListChange::ModifyGegevensdienstNaam(g) => {
                format!("modify Gegevensdienst {}", g.id())
            }
            ListChange::RemoveGegevensdienstNaam(id) => format!("remove Gegevensdienst {id}"),
            ListChange::AddNode(h) => format!("add Whitelist node {h}"),
            ListChange::RemoveNode(h) => format!("remove Whitelist node {h}"),
        }
    }
}

/// One reason MedMij Beheer refuses a change (MedMij LISTS-14).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusalReason {
    /// A modify or remove names an entry that is not on the list.
    NotOnList {
        /// The list.
        list: List,
        /// The key that was not found.
        key: String,
    },
    /// The new version does not validate (`rule` names the rule broken, e.g. LISTS-2).
    Invalid {
        /// The list.
        list: List,
        /// The rule broken.
        rule: RuleId,
        /// What and where.
        message: String,
    },
    /// An endpoint host of a ZAL entry, or an OCL hostname, is not on the Whitelist.
    NotWhitelisted {
        /// The list of the entry.
        list: List,
        /// The entry, e.g. `kliniekdemo@medmij Gegevensdienst 7`.
        entry: String,
        /// The host missing from the Whitelist.
        host: String,
    },
    /// A Gegevensdienst is listed for a DVZA (its endpoint host) not registered as
    /// qualified for it.
    NotQualified {
        /// The Zorgaanbieder.
        zorgaanbieder: String,
        /// The GegevensdienstId.
        gegevensdienst: String,
        /// The DVZA's endpoint host.
        dvza: String,
    },
    /// The new version could not be archived (LISTS-11); it is not published.
    NotArchived {
        /// What the archive said.
        message: String,
    },
}

impl RefusalReason {
    /// The rule the reason cites.
    pub fn rule(&self) -> RuleId {
        match self {
            RefusalReason::Invalid { rule, .. } => *rule,
            RefusalReason::NotArchived { .. } => RuleId::Lists11,
            _ => RuleId::Lists14,
        }
    }
}

impl fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefusalReason::NotOnList { list, key } => {
                write!(f, "{key} is not on the {} (MedMij LISTS-14)", name(*list))
            }
            RefusalReason::Invalid {
                list,
                rule,
                message,
            } => write!(
                f,
                "the new {} does not validate: {message} (MedMij {rule}, LISTS-14)",
                name(*list)
            ),
            RefusalReason::NotWhitelisted { list, entry, host } => write!(
                f,
                "{} entry {entry}: host {host} is not on the Whitelist (MedMij LISTS-14)",
                name(*list)
            ),
            RefusalReason::NotQualified {
                zorgaanbieder,
                gegevensdienst,
                dvza,
            } => write!(
                f,
                "{zorgaanbieder} Gegevensdienst {gegevensdienst}: DVZA {dvza} is not registered \
                 as qualified for Gegevensdienst {gegevensdienst} (MedMij LISTS-14)"
            ),
            RefusalReason::NotArchived { message } => write!(
                f,
                "the new version could not be archived: {message} (MedMij LISTS-11)"
            ),
        }
    }
}

/// A change MedMij Beheer refused, with every reason; nothing changed (MedMij
/// LISTS-14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRefused {
    /// The change, in words.
    pub change: String,
    /// Why (never empty).
    pub reasons: Vec<RefusalReason>,
}

impl fmt::Display for ChangeRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "change \"{}\" refused: ", self.change)?;
        for (i, r) in self.reasons.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ChangeRefused {}

/// The current entries of the four lists, as MedMij Beheer keeps them.
#[derive(Clone)]
struct Entries {
    zal: Vec<Zorgaanbieder>,
    ocl: Vec<OAuthclient>,
    gnl: Vec<GegevensdienstNaam>,
    whl: Vec<Hostname>,
}

struct Beheer {
    entries: Entries,
    /// The highest Volgnummer published so far, per list (ZAL, OCL, GNL, WHL).
    last: [u64; 4],
    /// DVZA endpoint host → the GegevensdienstIds it is qualified for.
    qualified: QualificationRegistry,
    archive: DirArchive,
}

fn index(list: List) -> usize {
    match list {
        List::Zal => 0,
        List::Ocl => 1,
        List::Gnl => 2,
        List::Whl => 3,
    }
}

/// The list's short name: `ZAL`, `OCL`, `GNL`, `WHL`.
fn name(list: List) -> &'static str {
    kind(list).short_name()
}

fn kind(list: List) -> ListKind {
    match list {
        List::Zal => ListKind::Zal,
        List::Ocl => ListKind::Ocl,
        List::Gnl => ListKind::Gnl,
        List::Whl => ListKind::Whl,
    }
}

fn model_rule(e: &ModelError) -> RuleId {
    match e {
        ModelError::Empty { rule, .. } | ModelError::Duplicate { rule, .. } => *rule,
        #[allow(unreachable_patterns)]
        _ => RuleId::Lists14,
    }
}

pub(crate) struct Stelselnode {
    lists: RwLock<Published>,
    beheer: Mutex<Beheer>,
    log: AuditLog,
}

impl Stelselnode {
    /// Starts with the first versions of the four lists, archives them in `archive`
    /// (LISTS-11), and takes the DVZAs' qualifications (endpoint host → the
    /// GegevensdienstIds it is qualified for) for the checks of LISTS-14.
    pub(crate) fn new(
        lists: Published,
        archive: &std::path::Path,
        qualified: Vec<(String, Vec<String>)>,
        log: AuditLog,
    ) -> Result<Self, DemoError> {
        let archive = DirArchive::new(archive)?;
        let zal = Zorgaanbiederslijst::from_bytes(lists.zal.as_bytes())?;
        let ocl = OAuthclientlist::from_bytes(lists.ocl.as_bytes())?;
        let gnl = Gegevensdienstnamenlijst::from_bytes(lists.gnl.as_bytes())?;
        let whl = Whitelist::from_bytes(lists.whl.as_bytes())?;
        archive.archive(ListKind::Zal, zal.volgnummer(), lists.zal.as_bytes())?;
        archive.archive(ListKind::Ocl, ocl.volgnummer(), lists.ocl.as_bytes())?;
        archive.archive(ListKind::Gnl, gnl.volgnummer(), lists.gnl.as_bytes())?;
        archive.archive(ListKind::Whl, whl.volgnummer(), lists.whl.as_bytes())?;
        let n = |v: &Volgnummer| v.to_string().parse::<u64>().unwrap_or(u64::MAX / 2);
        let beheer = Beheer {
            last: [
                n(zal.volgnummer()),
                n(ocl.volgnummer()),
                n(gnl.volgnummer()),
                n(whl.volgnummer()),
            ],
            entries: Entries {
                zal: zal.zorgaanbieders().to_vec(),
                ocl: ocl.clients().to_vec(),
                gnl: gnl.entries().to_vec(),
                whl: whl.nodes().to_vec(),
            },
            qualified: qualified.into_iter().collect(),
            archive,
        };
        Ok(Stelselnode {
            lists: RwLock::new(lists),
            beheer: Mutex::new(beheer),
            log,
        })
    }

    /// MedMij Beheer's way to change a list (MedMij LISTS-14): applies `change` to
    /// the current entries, checks the new version (it validates against the
    /// list rules, LISTS-7; every ZAL endpoint host and OCL hostname is on the Whitelist; every
    /// Gegevensdienst is listed only for a DVZA qualified for it), then publishes the
    /// complete list with a Volgnummer higher than every earlier one and archives it
    /// (LISTS-11). Returns the list and its new Volgnummer. A refused change is
    /// answered with all its reasons and changes nothing. Either way it is logged
    /// (LOG-1).
    pub(crate) async fn change(&self, change: ListChange) -> Result<(List, u64), ChangeRefused> {
        let what = change.describe();
        let result = self.apply(change);
        let (outcome, detail) = match &result {
            Ok((list, v)) => (Outcome::Success, format!("published {} {v}", name(*list))),
            Err(e) => (Outcome::Refused, e.to_string()),
        };
        // A log that cannot be written does not undo the decision; it is reported.
        let _ = self
            .log
            .record(Entry {
                event_type: "lists.change",
                action: Action::Update,
                actor: ("MedMij Beheer".into(), ActorKind::User),
                subject: None,
                object: Object::new("list-change", what),
                outcome,
                detail: Some(detail),
            })
            .await;
        result
    }

    fn apply(&self, change: ListChange) -> Result<(List, u64), ChangeRefused> {
        let what = change.describe();
        let list = change.list();
        let refused = |reasons| ChangeRefused {
            change: what.clone(),
            reasons,
        };
        let mut b = self.beheer.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = b.entries.clone();
        let not_on = |key: &str| {
            vec![RefusalReason::NotOnList {
                list,
                key: key.to_owned(),
            }]
        };
        match change {
            ListChange::AddZorgaanbieder(z) => next.zal.push(z),
            ListChange::ModifyZorgaanbieder(z) => {
                let at = next.zal.iter().position(|e| e.naam() == z.naam());
                let at = at.ok_or_else(|| refused(not_on(z.naam().as_str())))?;
                next.zal[at] = z;
            }
            ListChange::RemoveZorgaanbieder(n) => {
                let at = next.zal.iter().position(|e| e.naam().as_str() == n);
                next.zal.remove(at.ok_or_else(|| refused(not_on(&n)))?);
            }
            ListChange::AddClient(c) => next.ocl.push(c),
            ListChange::ModifyClient(c) => {
                let at = next.ocl.iter().position(|e| e.hostname() == c.hostname());
                let at = at.ok_or_else(|| refused(not_on(c.hostname().as_str())))?;
                next.ocl[at] = c;
            }
            ListChange::RemoveClient(h) => {
                let at = next.ocl.iter().position(|e| e.hostname().as_str() == h);
                next.ocl.remove(at.ok_or_else(|| refused(not_on(&h)))?);
            }
            ListChange::AddGegevensdienstNaam(g) => next.gnl.push(g),
            ListChange::ModifyGegevensdienstNaam(g) => {
                let at = next.gnl.iter().position(|e| e.id() == g.id());
                let at = at.ok_or_else(|| refused(not_on(g.id().as_str())))?;
                next.gnl[at] = g;
            }
            ListChange::RemoveGegevensdienstNaam(id) => {
                let at = next.gnl.iter().position(|e| e.id().as_str() == id);
                next.gnl.remove(at.ok_or_else(|| refused(not_on(&id)))?);
            }
            ListChange::AddNode(h) => next.whl.push(h),
            ListChange::RemoveNode(h) => {
                let at = next.whl.iter().position(|e| e.as_str() == h);
                next.whl.remove(at.ok_or_else(|| refused(not_on(&h)))?);
            }
        }
        let volgnummer = b.last[index(list)].saturating_add(1);
        let xml = build(list, &next, volgnummer).map_err(refused)?;
        publication_check(list, &b, &xml).map_err(refused)?;
        let v = Volgnummer::new(&volgnummer.to_string()).map_err(|e| {
            refused(vec![RefusalReason::NotArchived {
                message: e.to_string(),
            }])
        })?;
        b.archive
            .archive(kind(list), &v, xml.as_bytes())
            .map_err(|e| {
                refused(vec![RefusalReason::NotArchived {
                    message: e.to_string(),
                }])
            })?;
        b.entries = next;
        b.last[index(list)] = volgnummer;
        drop(b);
        self.set(list, xml);
        Ok((list, volgnummer))
    }

    fn set(&self, list: List, xml: String) {
        let mut g = self.lists.write().unwrap_or_else(|e| e.into_inner());
        match list {
            List::Zal => g.zal = xml,
            List::Ocl => g.ocl = xml,
            List::Gnl => g.gnl = xml,
            List::Whl => g.whl = xml,
        }
    }

    /// Serves `xml` as the new version of one list, bypassing MedMij Beheer's checks
    /// and archive: a test hook that plays a faulty or hostile publisher (equal
    /// Volgnummer, invalid XML, …). Gateways fetch it on their next refresh (MedMij
    /// LISTS-8) and validate it before installing it (LISTS-7, LISTS-9). A later
    /// accepted change gets a Volgnummer above this one's, where it has one.
    pub(crate) fn publish(&self, list: super::List, xml: String) {
        let v = match list {
            List::Zal => Zorgaanbiederslijst::from_bytes(xml.as_bytes())
                .ok()
                .map(|l| l.volgnummer().to_string()),
            List::Ocl => OAuthclientlist::from_bytes(xml.as_bytes())
                .ok()
                .map(|l| l.volgnummer().to_string()),
            List::Gnl => Gegevensdienstnamenlijst::from_bytes(xml.as_bytes())
                .ok()
                .map(|l| l.volgnummer().to_string()),
            List::Whl => Whitelist::from_bytes(xml.as_bytes())
                .ok()
                .map(|l| l.volgnummer().to_string()),
        };
        if let Some(v) = v.and_then(|v| v.parse::<u64>().ok()) {
            let mut b = self.beheer.lock().unwrap_or_else(|e| e.into_inner());
            let last = &mut b.last[index(list)];
            *last = (*last).max(v);
        }
        self.set(list, xml);
    }

    /// The Stelselnode's NEN 7513 log.
    pub(crate) fn log(&self) -> &AuditLog {
        &self.log
    }

    /// Where the archive is: one file per published version, `ZAL-2.xml`.
    pub(crate) fn archive_dir(&self) -> std::path::PathBuf {
        let b = self.beheer.lock().unwrap_or_else(|e| e.into_inner());
        b.archive.dir().to_path_buf()
    }

    /// The XML of one list as it is served now.
    pub(crate) fn published(&self, list: super::List) -> String {
        let g = self.lists.read().unwrap_or_else(|e| e.into_inner());
        match list {
            super::List::Zal => g.zal.clone(),
            super::List::Ocl => g.ocl.clone(),
            super::List::Gnl => g.gnl.clone(),
            super::List::Whl => g.whl.clone(),
        }
    }

    /// The XML of the ZAL release3 as it is served now (MedMij LISTS-15).
    pub(crate) fn published_zal_release3(&self) -> String {
        let g = self.lists.read().unwrap_or_else(|e| e.into_inner());
        g.zal3.clone()
    }

    /// Who may connect: the nodes on the Whitelist it publishes (MedMij TLS-4).
    pub(crate) fn whitelist(self: &Arc<Self>) -> Arc<dyn medmij_tls::Whitelist> {
        let me = self.clone();
        Arc::new(move |host: &str, _now: std::time::SystemTime| {
            let g = me.lists.read().unwrap_or_else(|e| e.into_inner());
            match medmij_lists::Whitelist::from_bytes(g.whl.as_bytes()) {
                Ok(w) if w.contains(host) => WhitelistAnswer::Listed,
                Ok(_) => WhitelistAnswer::NotListed,
                Err(_) => WhitelistAnswer::Undetermined,
            }
        })
    }

    /// `GET /zal`, `/ocl`, `/gnl`, `/whl`.
    pub(crate) fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/{list}", get(serve_list))
            .with_state(self.clone())
    }
}

async fn serve_list(State(me): State<Arc<Stelselnode>>, Path(list): Path<String>) -> Response {
    let g = me.lists.read().unwrap_or_else(|e| e.into_inner());
    let xml = match list.as_str() {
        "zal" => &g.zal,
        // The ZAL release3 (MedMij LISTS-15), published next to the release2 one.
        super::release2::ZAL_RELEASE3_PATH => &g.zal3,
        "ocl" => &g.ocl,
        "gnl" => &g.gnl,
        "whl" => &g.whl,
        _ => return net::html(404, "not found"),
    };
    net::typed(200, "application/xml", xml.clone())
}

fn stamp() -> Result<Tijdstempel, RefusalReason> {
    Tijdstempel::new(&medmij_log::format_time(SystemTime::now())).map_err(|e| {
        RefusalReason::Invalid {
            list: List::Zal,
            rule: RuleId::Lists14,
            message: e.to_string(),
        }
    })
}

/// The complete new version of `list` from `next`, serialised; the model refuses
/// what it cannot hold (e.g. a duplicate key, LISTS-2).
fn build(list: List, next: &Entries, volgnummer: u64) -> Result<String, Vec<RefusalReason>> {
    let invalid = |rule, message: String| {
        vec![RefusalReason::Invalid {
            list,
            rule,
            message,
        }]
    };
    let t = stamp().map_err(|r| vec![r])?;
    let v = Volgnummer::new(&volgnummer.to_string())
        .map_err(|e| invalid(RuleId::Lists14, e.to_string()))?;
    let model = |e: ModelError| invalid(model_rule(&e), e.to_string());
    let xml = match list {
        List::Zal => Zorgaanbiederslijst::new(ZalRelease::Release2, t, v, next.zal.clone())
            .map_err(model)?
            .to_xml(),
        List::Ocl => OAuthclientlist::new(OclRelease::Release2, t, v, next.ocl.clone())
            .map_err(model)?
            .to_xml(),
        List::Gnl => Gegevensdienstnamenlijst::new(GnlRelease::Release1, t, v, next.gnl.clone())
            .map_err(model)?
            .to_xml(),
        List::Whl => Whitelist::new(WhlRelease::Release2, t, v, next.whl.clone())
            .map_err(model)?
            .to_xml(),
    };
    Ok(xml)
}

/// MedMij LISTS-14 through the library's [`PublicationChecks`]: `xml`, the new version
/// of `list`, validates (LISTS-7), has a Volgnummer higher than every earlier one, its
/// hosts are on the Whitelist in force (for a new Whitelist: it keeps every host the
/// ZAL and OCL in force use), and every Gegevensdienst is run by a DVZA qualified
/// for it. Archiving (LISTS-11) stays here, in [`Stelselnode::change`].
fn publication_check(list: List, b: &Beheer, xml: &str) -> Result<(), Vec<RefusalReason>> {
    let invalid = |rule, message: String| {
        vec![RefusalReason::Invalid {
            list,
            rule,
            message,
        }]
    };
    let t = stamp().map_err(|r| vec![r])?;
    let model = |e: ModelError| invalid(model_rule(&e), e.to_string());
    let in_force = |l: List| Volgnummer::from_u64(b.last[index(l)].max(1));
    let version = |l: List| {
        in_force(l).ok_or_else(|| invalid(RuleId::Lists14, "no Volgnummer in force".into()))
    };
    // The lists in force, as MedMij Beheer keeps their entries.
    let e = &b.entries;
    let whl = Whitelist::new(
        WhlRelease::Release2,
        t.clone(),
        version(List::Whl)?,
        e.whl.clone(),
    )
    .map_err(model)?;
    let zal = Zorgaanbiederslijst::new(
        ZalRelease::Release2,
        t.clone(),
        version(List::Zal)?,
        e.zal.clone(),
    )
    .map_err(model)?;
    let ocl = OAuthclientlist::new(OclRelease::Release2, t, version(List::Ocl)?, e.ocl.clone())
        .map_err(model)?;
    let checks =
        PublicationChecks::new(&whl, &b.qualified).with_lists_in_force(Some(&zal), Some(&ocl));
    // Every earlier Volgnummer, including one a test hook published past Beheer.
    let highest = Volgnummer::from_u64(b.last[index(list)]);
    let bytes = xml.as_bytes();
    let result = match list {
        List::Zal => checks
            .check_after::<Zorgaanbiederslijst>(highest.as_ref(), bytes)
            .map(drop),
        List::Ocl => checks
            .check_after::<OAuthclientlist>(highest.as_ref(), bytes)
            .map(drop),
        List::Gnl => checks
            .check_after::<Gegevensdienstnamenlijst>(highest.as_ref(), bytes)
            .map(drop),
        List::Whl => checks
            .check_after::<Whitelist>(highest.as_ref(), bytes)
            .map(drop),
    };
    result.map_err(|e: PublicationRefused| {
        e.violations.into_iter().map(|v| reason(list, v)).collect()
    })
}

/// The demo's words for one violation the library found (MedMij LISTS-14).
fn reason(list: List, v: Violation) -> RefusalReason {
    let of = |k: ListKind| match k {
        ListKind::Zal => List::Zal,
        ListKind::Ocl => List::Ocl,
        ListKind::Gnl => List::Gnl,
        ListKind::Whl => List::Whl,
    };
    let entry = |e: &ListEntry| match e {
        ListEntry::Gegevensdienst {
            zorgaanbieder,
            gegevensdienst,
            ..
        } => format!("{zorgaanbieder} Gegevensdienst {gegevensdienst}"),
        ListEntry::Client { hostname } => hostname.to_string(),
        other => other.to_string(),
    };
    match &v.kind {
        ViolationKind::NotWhitelisted { entry: e, host } => RefusalReason::NotWhitelisted {
            list: of(v.list),
            entry: entry(e),
            host: host.clone(),
        },
        ViolationKind::NotQualified {
            entry:
                ListEntry::Gegevensdienst {
                    zorgaanbieder,
                    gegevensdienst,
                    ..
                },
            dvza,
        } => RefusalReason::NotQualified {
            zorgaanbieder: zorgaanbieder.to_string(),
            gegevensdienst: gegevensdienst.to_string(),
            dvza: dvza.clone(),
        },
        _ => RefusalReason::Invalid {
            list,
            rule: v.rule,
            message: v.to_string(),
        },
    }
}
