//! The publication checks of MedMij Beheer (the Stelselnode): a proposed new
//! version of a list is published only when every check of MedMij LISTS-14
//! passes. Sans-IO: bytes and lists in, the accepted list or every violation
//! out.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::{
    ErrorKind, GegevensdienstId, Hostname, InterfaceversieId, ListKind, MedMijList,
    OAuthclientlist, ParseError, ParseOptions, Position, RuleId, Volgnummer, Whitelist,
    Zorgaanbiedernaam, Zorgaanbiederslijst,
};

/// Which DVZA is registered as qualified for which Gegevensdienst (MedMij
/// LISTS-14). A DVZA is known by the hosts of its endpoints in the ZAL; the
/// caller (MedMij Beheer) keeps the register and fills it.
///
/// [`QualificationRegistry`] is a ready-made map; any
/// `Fn(&str, &GegevensdienstId) -> bool` works as well.
pub trait Qualifications {
    /// Whether the DVZA whose endpoint is at `dvza_host` is registered as
    /// qualified for `gegevensdienst`.
    fn is_qualified(&self, dvza_host: &str, gegevensdienst: &GegevensdienstId) -> bool;
}

impl<F> Qualifications for F
where
    F: Fn(&str, &GegevensdienstId) -> bool,
{
    fn is_qualified(&self, dvza_host: &str, gegevensdienst: &GegevensdienstId) -> bool {
        self(dvza_host, gegevensdienst)
    }
}

/// A plain register for [`Qualifications`]: DVZA endpoint host (compared
/// without regard to ASCII case) to the GegevensdienstIds it is qualified
/// for (MedMij LISTS-14).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QualificationRegistry {
    by_host: BTreeMap<String, BTreeSet<String>>,
}

impl QualificationRegistry {
    /// An empty register: nobody is qualified for anything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the DVZA at `dvza_host` as qualified for `gegevensdienst`.
    pub fn qualify(&mut self, dvza_host: &str, gegevensdienst: &str) -> &mut Self {
        self.by_host
            .entry(dvza_host.to_ascii_lowercase())
            .or_default()
            .insert(gegevensdienst.to_owned());
        self
    }

    /// Registers the DVZA at `dvza_host` as qualified for each of
    /// `gegevensdiensten`.
    pub fn with<I, S>(mut self, dvza_host: &str, gegevensdiensten: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for g in gegevensdiensten {
            self.qualify(dvza_host, g.as_ref());
        }
        self
    }
}

impl<H, I, S> FromIterator<(H, I)> for QualificationRegistry
where
    H: AsRef<str>,
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    fn from_iter<T: IntoIterator<Item = (H, I)>>(iter: T) -> Self {
        iter.into_iter()
            .fold(Self::new(), |r, (h, ids)| r.with(h.as_ref(), ids))
    }
}

impl Qualifications for QualificationRegistry {
    fn is_qualified(&self, dvza_host: &str, gegevensdienst: &GegevensdienstId) -> bool {
        self.by_host
            .get(&dvza_host.to_ascii_lowercase())
            .is_some_and(|ids| ids.contains(gegevensdienst.as_str()))
    }
}

/// The entry of a ZAL or an OCL a [`Violation`] is about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListEntry {
    /// One Gegevensdienst of a Zorgaanbieder in the ZAL.
    Gegevensdienst {
        /// The Zorgaanbieder.
        zorgaanbieder: Zorgaanbiedernaam,
        /// The Gegevensdienst.
        gegevensdienst: GegevensdienstId,
        /// The Interfaceversie it is listed under (a release3 ZAL, MedMij
        /// LISTS-15); `None` in a release2 ZAL.
        interfaceversie: Option<InterfaceversieId>,
    },
    /// An OAuth client in the OCL.
    Client {
        /// Its hostname.
        hostname: Hostname,
    },
}

impl fmt::Display for ListEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gegevensdienst {
                zorgaanbieder,
                gegevensdienst,
                interfaceversie: None,
            } => write!(f, "{zorgaanbieder} Gegevensdienst {gegevensdienst}"),
            Self::Gegevensdienst {
                zorgaanbieder,
                gegevensdienst,
                interfaceversie: Some(v),
            } => write!(
                f,
                "{zorgaanbieder} Interfaceversie {v} Gegevensdienst {gegevensdienst}"
            ),
            Self::Client { hostname } => write!(f, "OAuth client {hostname}"),
        }
    }
}

/// What is wrong with a proposed version (MedMij LISTS-14).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViolationKind {
    /// The proposed version does not validate against the list's schema and
    /// semantic rules (MedMij LISTS-7; the [`Violation::rule`] names the rule
    /// broken, e.g. LISTS-2).
    Invalid(ErrorKind),
    /// Its Volgnummer is not higher than every earlier one (MedMij LISTS-14,
    /// LISTS-9).
    NotNewer {
        /// The proposed Volgnummer.
        proposed: Volgnummer,
        /// The highest Volgnummer published before.
        highest: Volgnummer,
    },
    /// An endpoint host of a ZAL entry, or an OCL hostname, is not on the
    /// Whitelist (MedMij LISTS-14).
    NotWhitelisted {
        /// The entry.
        entry: ListEntry,
        /// The host missing from the Whitelist.
        host: String,
    },
    /// A Gegevensdienst is listed for a DVZA (known by an endpoint host) that
    /// is not registered as qualified for it (MedMij LISTS-14).
    NotQualified {
        /// The ZAL entry.
        entry: ListEntry,
        /// The DVZA's endpoint host.
        dvza: String,
    },
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(k) => write!(f, "{k}"),
            Self::NotNewer { proposed, highest } => write!(
                f,
                "Volgnummer {proposed} is not higher than {highest}, published before"
            ),
            Self::NotWhitelisted { entry, host } => {
                write!(f, "{entry}: host {host} is not on the Whitelist")
            }
            Self::NotQualified { entry, dvza } => {
                let g = match entry {
                    ListEntry::Gegevensdienst { gegevensdienst, .. } => gegevensdienst.as_str(),
                    ListEntry::Client { .. } => "",
                };
                write!(
                    f,
                    "{entry}: DVZA {dvza} is not registered as qualified for Gegevensdienst {g}"
                )
            }
        }
    }
}

/// One reason a proposed version is refused, with the rule and where
/// (MedMij LISTS-14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// What is wrong.
    pub kind: ViolationKind,
    /// The rule broken.
    pub rule: RuleId,
    /// The list the [`Violation::path`] is in: the proposed one, or, for a
    /// proposed Whitelist that drops a host still in use, the ZAL or OCL in
    /// force.
    pub list: ListKind,
    /// The element path, e.g.
    /// `/Zorgaanbiederslijst/Zorgaanbieders/Zorgaanbieder[2]/Gegevensdiensten/Gegevensdienst[1]`
    /// (1-based indexes).
    pub path: String,
    /// Line and column in the proposed bytes, where known (validation
    /// failures).
    pub position: Option<Position>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.position {
            write!(f, "{p}: ")?;
        }
        write!(
            f,
            "{} {}: {} (MedMij {})",
            self.list, self.path, self.kind, self.rule
        )
    }
}

impl Violation {
    fn from_parse(list: ListKind, e: &ParseError) -> Self {
        Self {
            kind: ViolationKind::Invalid(e.kind.clone()),
            rule: e.rule,
            list,
            path: e.path.clone(),
            position: Some(e.position),
        }
    }
}

/// A proposed version refused, with every violation (never empty); nothing
/// is to be published (MedMij LISTS-14).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PublicationRefused {
    /// The list proposed.
    pub list: ListKind,
    /// Why, in the order: validation, Volgnummer, Whitelist, qualification.
    pub violations: Vec<Violation>,
}

impl fmt::Display for PublicationRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "new {} version refused: ", self.list)?;
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

/// The checks MedMij Beheer runs on a proposed new version of a list before
/// publishing it (MedMij LISTS-14):
///
/// 1. it validates (MedMij LISTS-7: schema and semantic rules, LISTS-1,
///    LISTS-2, LISTS-3, LISTS-4, LISTS-5, LISTS-6, LISTS-15);
/// 2. its Volgnummer is higher than every earlier one;
/// 3. every endpoint host of a ZAL entry (authorization, token, resource
///    and subscription endpoints) and every OCL hostname is on the Whitelist
///    in force; a proposed Whitelist must keep every host that the ZAL and
///    OCL in force use ([`PublicationChecks::with_lists_in_force`]);
/// 4. a Gegevensdienst is listed only for a DVZA (known by its endpoint
///    hosts) registered as qualified for it ([`Qualifications`]).
///
/// Every violation is reported, each with its rule and location. The
/// archive of every published version (MedMij LISTS-11) stays with the
/// caller: archive the exact bytes of an accepted version, then publish it.
/// So does the rule that the published list holds exactly the current
/// entries: the caller builds the proposal from them.
///
/// ```
/// use medmij_lists::{PublicationChecks, QualificationRegistry, Whitelist, Zorgaanbiederslijst};
///
/// let whl = Whitelist::from_bytes(br#"<Whitelist xmlns="xmlns://afsprakenstelsel.medmij.nl/whitelist/release2/">
///   <Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel><Volgnummer>1</Volgnummer>
///   <MedMijNodes><MedMijNode><Hostname>za.example.nl</Hostname></MedMijNode></MedMijNodes>
/// </Whitelist>"#).unwrap();
/// let qualified = QualificationRegistry::new().with("za.example.nl", ["4"]);
/// let zal = |v: u32, host: &str| format!(r#"<Zorgaanbiederslijst xmlns="xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release2/">
///   <Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel><Volgnummer>{v}</Volgnummer>
///   <Zorgaanbieders><Zorgaanbieder><Zorgaanbiedernaam>umcdemo@medmij</Zorgaanbiedernaam>
///   <Gegevensdiensten><Gegevensdienst><GegevensdienstId>4</GegevensdienstId>
///   <AuthorizationEndpoint><AuthorizationEndpointuri>https://{host}/authorize</AuthorizationEndpointuri></AuthorizationEndpoint>
///   <TokenEndpoint><TokenEndpointuri>https://{host}/token</TokenEndpointuri></TokenEndpoint>
///   <Systeemrollen><Systeemrol><Systeemrolcode>MM-1.0-BGZ-FHIR</Systeemrolcode>
///   <ResourceEndpoint><ResourceEndpointuri>https://{host}/fhir</ResourceEndpointuri></ResourceEndpoint>
///   </Systeemrol></Systeemrollen></Gegevensdienst></Gegevensdiensten></Zorgaanbieder></Zorgaanbieders>
/// </Zorgaanbiederslijst>"#);
/// let checks = PublicationChecks::new(&whl, &qualified);
/// // The first version: accepted; the caller archives and publishes it.
/// let v1: Zorgaanbiederslijst = checks.check(None, zal(1, "za.example.nl").as_bytes()).unwrap();
/// // Volgnummer not higher, host not on the Whitelist, DVZA not qualified: all three.
/// let refused = checks
///     .check(Some(&v1), zal(1, "elders.example.nl").as_bytes())
///     .unwrap_err();
/// assert_eq!(refused.violations.len(), 3);
/// ```
#[derive(Clone)]
pub struct PublicationChecks<'a> {
    whitelist: &'a Whitelist,
    qualifications: &'a dyn Qualifications,
    zal_in_force: Option<&'a Zorgaanbiederslijst>,
    ocl_in_force: Option<&'a OAuthclientlist>,
    options: ParseOptions,
}

impl fmt::Debug for PublicationChecks<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicationChecks")
            .field("whitelist", &self.whitelist.volgnummer())
            .field("zal_in_force", &self.zal_in_force.map(|l| l.volgnummer()))
            .field("ocl_in_force", &self.ocl_in_force.map(|l| l.volgnummer()))
            .finish_non_exhaustive()
    }
}

impl<'a> PublicationChecks<'a> {
    /// Checks against the Whitelist in force and the register of
    /// qualifications (MedMij LISTS-14).
    pub fn new(whitelist: &'a Whitelist, qualifications: &'a dyn Qualifications) -> Self {
        PublicationChecks {
            whitelist,
            qualifications,
            zal_in_force: None,
            ocl_in_force: None,
            options: ParseOptions::default(),
        }
    }

    /// The ZAL and OCL in force, whose hosts a proposed Whitelist must keep
    /// (MedMij LISTS-14). Without them a proposed Whitelist is checked for
    /// validity and Volgnummer only.
    pub fn with_lists_in_force(
        mut self,
        zal: Option<&'a Zorgaanbiederslijst>,
        ocl: Option<&'a OAuthclientlist>,
    ) -> Self {
        self.zal_in_force = zal;
        self.ocl_in_force = ocl;
        self
    }

    /// Parse the proposal with these limits (default [`ParseOptions::default`]).
    pub fn with_parse_options(mut self, options: ParseOptions) -> Self {
        self.options = options;
        self
    }

    /// Checks `proposed`, the bytes of a new version of list `L`, against
    /// `in_force`, the version published last (so the highest so far): the
    /// accepted list, or every violation (MedMij LISTS-14).
    pub fn check<L: MedMijList>(
        &self,
        in_force: Option<&L>,
        proposed: &[u8],
    ) -> Result<L, PublicationRefused> {
        self.check_after(in_force.map(|l| l.volgnummer()), proposed)
    }

    /// As [`PublicationChecks::check`], with the highest Volgnummer ever
    /// published for this list given directly (e.g. from the archive, when
    /// the version in force is not the highest one).
    pub fn check_after<L: MedMijList>(
        &self,
        highest_earlier: Option<&Volgnummer>,
        proposed: &[u8],
    ) -> Result<L, PublicationRefused> {
        let refused = |violations| PublicationRefused {
            list: L::KIND,
            violations,
        };
        // MedMij LISTS-7: the new version validates.
        let list = L::parse(proposed, &self.options).map_err(|errors| {
            refused(
                errors
                    .errors()
                    .iter()
                    .map(|e| Violation::from_parse(L::KIND, e))
                    .collect(),
            )
        })?;
        let mut violations = Vec::new();
        // MedMij LISTS-14: a Volgnummer higher than every earlier one.
        if let Some(highest) = highest_earlier
            && list.volgnummer() <= highest
        {
            violations.push(Violation {
                kind: ViolationKind::NotNewer {
                    proposed: list.volgnummer().clone(),
                    highest: highest.clone(),
                },
                rule: RuleId::Lists14,
                list: L::KIND,
                path: format!("/{}/Volgnummer", L::KIND.root_element()),
                position: None,
            });
        }
        let any: &dyn Any = &list;
        if let Some(zal) = any.downcast_ref::<Zorgaanbiederslijst>() {
            zal_violations(zal, self.whitelist, &mut violations);
            qualification_violations(zal, self.qualifications, &mut violations);
        } else if let Some(ocl) = any.downcast_ref::<OAuthclientlist>() {
            ocl_violations(ocl, self.whitelist, &mut violations);
        } else if let Some(whl) = any.downcast_ref::<Whitelist>() {
            if let Some(zal) = self.zal_in_force {
                zal_violations(zal, whl, &mut violations);
            }
            if let Some(ocl) = self.ocl_in_force {
                ocl_violations(ocl, whl, &mut violations);
            }
        }
        if violations.is_empty() {
            Ok(list)
        } else {
            Err(refused(violations))
        }
    }
}

/// Every Gegevensdienst of a ZAL with its entry, element path and endpoint
/// hosts (sorted, each once).
fn zal_services(zal: &Zorgaanbiederslijst) -> Vec<(ListEntry, String, BTreeSet<&str>)> {
    let mut out = Vec::new();
    for (i, za) in zal.zorgaanbieders().iter().enumerate() {
        for (k, v) in za.interfaceversies().iter().enumerate() {
            for (j, g) in v.gegevensdiensten().iter().enumerate() {
                let path = if v.is_implicit() {
                    format!(
                        "/Zorgaanbiederslijst/Zorgaanbieders/Zorgaanbieder[{}]/Gegevensdiensten/Gegevensdienst[{}]",
                        i + 1,
                        j + 1
                    )
                } else {
                    format!(
                        "/Zorgaanbiederslijst/Zorgaanbieders/Zorgaanbieder[{}]/Interfaceversies/Interfaceversie[{}]/Gegevensdiensten/Gegevensdienst[{}]",
                        i + 1,
                        k + 1,
                        j + 1
                    )
                };
                let hosts: BTreeSet<&str> = g
                    .authorization_endpoint()
                    .map(|u| u.host())
                    .into_iter()
                    .chain(g.token_endpoint().map(|u| u.host()))
                    .chain(
                        g.systeemrollen()
                            .iter()
                            .map(|r| r.resource_endpoint().host()),
                    )
                    .chain(g.abonneren().map(|a| a.subscription_endpoint().host()))
                    .collect();
                let entry = ListEntry::Gegevensdienst {
                    zorgaanbieder: za.naam().clone(),
                    gegevensdienst: g.id().clone(),
                    interfaceversie: v.id().cloned(),
                };
                out.push((entry, path, hosts));
            }
        }
    }
    out
}

/// MedMij LISTS-14: every endpoint host of the ZAL on the Whitelist.
fn zal_violations(zal: &Zorgaanbiederslijst, whitelist: &Whitelist, out: &mut Vec<Violation>) {
    for (entry, path, hosts) in zal_services(zal) {
        for h in hosts.into_iter().filter(|h| !whitelist.contains(h)) {
            out.push(Violation {
                kind: ViolationKind::NotWhitelisted {
                    entry: entry.clone(),
                    host: h.to_owned(),
                },
                rule: RuleId::Lists14,
                list: ListKind::Zal,
                path: path.clone(),
                position: None,
            });
        }
    }
}

/// MedMij LISTS-14: every OCL hostname on the Whitelist.
fn ocl_violations(ocl: &OAuthclientlist, whitelist: &Whitelist, out: &mut Vec<Violation>) {
    for (i, c) in ocl.clients().iter().enumerate() {
        if !whitelist.contains(c.hostname().as_str()) {
            out.push(Violation {
                kind: ViolationKind::NotWhitelisted {
                    entry: ListEntry::Client {
                        hostname: c.hostname().clone(),
                    },
                    host: c.hostname().to_string(),
                },
                rule: RuleId::Lists14,
                list: ListKind::Ocl,
                path: format!("/OAuthclientlist/OAuthclients/OAuthclient[{}]", i + 1),
                position: None,
            });
        }
    }
}

/// MedMij LISTS-14: a Gegevensdienst only for a DVZA qualified for it.
fn qualification_violations(
    zal: &Zorgaanbiederslijst,
    qualifications: &dyn Qualifications,
    out: &mut Vec<Violation>,
) {
    for (entry, path, hosts) in zal_services(zal) {
        let ListEntry::Gegevensdienst { gegevensdienst, .. } = &entry else {
            continue;
        };
        for h in hosts {
            if !qualifications.is_qualified(h, gegevensdienst) {
                out.push(Violation {
                    kind: ViolationKind::NotQualified {
                        entry: entry.clone(),
                        dvza: h.to_owned(),
                    },
                    rule: RuleId::Lists14,
                    list: ListKind::Zal,
                    path: path.clone(),
                    position: None,
                });
            }
        }
    }
}
