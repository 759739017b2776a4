//! The Zorgaanbiederslijst (ZAL): care providers, their Gegevensdiensten and
//! endpoints (MedMij LISTS-1, LISTS-2, LISTS-3), in release2 (1.x) and
//! release3 (2.x, MedMij LISTS-15) in one model.
//!
//! A release3 Zorgaanbieder lists its Gegevensdiensten per
//! [`Interfaceversie`]; a release2 Zorgaanbieder is modelled as one implicit
//! Interfaceversie of the 1.x release line, so that a lookup by release line
//! works the same on both releases.

use crate::ModelError;
use crate::index::{Index, KeySet};
use crate::ser::XmlOut;
use crate::xml::{Builder, ElemDecl, ElemId, Fault, Particle, Schema, unique, value};
use medmij_types::{
    Aanbiedertype, BackChannelUri, FrontChannelUri, GegevensdienstId, InterfaceversieId,
    MaximaleDuur, ReleaseLine, RuleId, Systeemrolcode, Zorgaanbiedernaam,
};
use medmij_types::{Tijdstempel, Volgnummer};
use std::cmp::Ordering;

release_enum! {
    /// The releases of the ZAL this crate reads (dakpanmodel: releases live
    /// side by side; a new release is a new variant).
    ZalRelease {
        /// Release 2 (the 1.x release line), namespace
        /// `xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release2/`
        /// (MedMij LISTS-1).
        Release2 => ("xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release2/", SCHEMA_R2),
        /// Release 3 (the 2.x release line), namespace
        /// `xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release3/`
        /// (MedMij LISTS-15; provisional structure, no official schema is
        /// public).
        Release3 => ("xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release3/", SCHEMA_R3),
    }
}

impl ZalRelease {
    /// The release number as MedMij names it: `release2`, `release3`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Release2 => "release2",
            Self::Release3 => "release3",
        }
    }
}

impl std::fmt::Display for ZalRelease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The Zorgaanbiederslijst: which care providers offer which
/// Gegevensdiensten at which endpoints.
///
/// ```
/// use medmij_lists::Zorgaanbiederslijst;
/// let xml = br#"<Zorgaanbiederslijst xmlns="xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release2/">
///   <Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel>
///   <Volgnummer>7</Volgnummer>
///   <Zorgaanbieders>
///     <Zorgaanbieder>
///       <Zorgaanbiedernaam>umcharderwijk@medmij</Zorgaanbiedernaam>
///       <Gegevensdiensten>
///         <Gegevensdienst>
///           <GegevensdienstId>4</GegevensdienstId>
///           <AuthorizationEndpoint><AuthorizationEndpointuri>https://za.example.nl/oauth/authorize</AuthorizationEndpointuri></AuthorizationEndpoint>
///           <TokenEndpoint><TokenEndpointuri>https://za.example.nl/oauth/token</TokenEndpointuri></TokenEndpoint>
///           <Systeemrollen>
///             <Systeemrol>
///               <Systeemrolcode>LAB-1.0.0-LRB-FHIR</Systeemrolcode>
///               <ResourceEndpoint><ResourceEndpointuri>https://za.example.nl:8443/fhir</ResourceEndpointuri></ResourceEndpoint>
///             </Systeemrol>
///           </Systeemrollen>
///         </Gegevensdienst>
///       </Gegevensdiensten>
///     </Zorgaanbieder>
///   </Zorgaanbieders>
/// </Zorgaanbiederslijst>"#;
/// let zal = Zorgaanbiederslijst::from_bytes(xml).unwrap();
/// let token = zal.token_endpoint("umcharderwijk@medmij", "4").unwrap();
/// assert_eq!(token.as_str(), "https://za.example.nl/oauth/token");
/// let fhir = zal.resource_endpoint("umcharderwijk@medmij", "4", "LAB-1.0.0-LRB-FHIR").unwrap();
/// assert_eq!(fhir.port(), Some(8443));
/// ```
///
/// A release3 list (MedMij LISTS-15) names an Interfaceversie per group of
/// Gegevensdiensten; the lookups take the version or release line the
/// caller speaks:
///
/// ```
/// use medmij_lists::{Zorgaanbiederslijst, ZalRelease, Interface};
/// use medmij_types::ReleaseLine;
/// let xml = br#"<Zorgaanbiederslijst xmlns="xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release3/">
///   <Tijdstempel>2026-11-22T10:00:00.5+01:00</Tijdstempel>
///   <Volgnummer>8</Volgnummer>
///   <Zorgaanbieders><Zorgaanbieder>
///     <Zorgaanbiedernaam>umcharderwijk@medmij</Zorgaanbiedernaam>
///     <Aanbiedertype>ZA</Aanbiedertype>
///     <Interfaceversies><Interfaceversie>
///       <InterfaceversieId>2.0.0</InterfaceversieId>
///       <Gegevensdiensten><Gegevensdienst>
///         <GegevensdienstId>4</GegevensdienstId>
///         <TokenEndpoint><TokenEndpointuri>https://za.example.nl/oauth/token</TokenEndpointuri></TokenEndpoint>
///         <Systeemrollen><Systeemrol>
///           <Systeemrolcode>LAB-2.0-LRB-FHIR</Systeemrolcode>
///           <ResourceEndpoint><ResourceEndpointuri>https://za.example.nl/fhir</ResourceEndpointuri></ResourceEndpoint>
///         </Systeemrol></Systeemrollen>
///       </Gegevensdienst></Gegevensdiensten>
///     </Interfaceversie></Interfaceversies>
///   </Zorgaanbieder></Zorgaanbieders>
/// </Zorgaanbiederslijst>"#;
/// let zal = Zorgaanbiederslijst::from_bytes(xml).unwrap();
/// assert_eq!(zal.release(), ZalRelease::Release3);
/// let lines = zal.release_lines("umcharderwijk@medmij", "4");
/// assert_eq!(lines.newest(), Some(ReleaseLine::V2));
/// let (versie, dienst) = zal
///     .gegevensdienst_in("umcharderwijk@medmij", "4", Interface::Line(ReleaseLine::V2))
///     .unwrap();
/// assert_eq!(versie.id().unwrap().as_str(), "2.0.0");
/// assert!(dienst.authorization_endpoint().is_none());
/// // The two-argument lookups are those of a 1.x caller: nothing here.
/// assert!(zal.gegevensdienst("umcharderwijk@medmij", "4").is_none());
/// ```
#[derive(Debug, Clone)]
pub struct Zorgaanbiederslijst {
    release: ZalRelease,
    tijdstempel: Tijdstempel,
    volgnummer: Volgnummer,
    zorgaanbieders: Vec<Zorgaanbieder>,
    index: Index,
}

/// A care provider and the Gegevensdiensten it offers, per Interfaceversie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zorgaanbieder {
    naam: Zorgaanbiedernaam,
    /// `None` in release2, which has no Aanbiedertype.
    aanbiedertype: Option<Aanbiedertype>,
    versies: Versies,
}

/// One Interfaceversie inline (every release2 Zorgaanbieder, most release3
/// ones) or several: no second allocation for the common case.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Versies {
    One(Interfaceversie),
    Many(Box<[Interfaceversie]>),
}

impl Versies {
    fn from_vec(mut v: Vec<Interfaceversie>) -> Self {
        if v.len() == 1
            && let Some(one) = v.pop()
        {
            return Self::One(one);
        }
        Self::Many(v.into_boxed_slice())
    }

    fn as_slice(&self) -> &[Interfaceversie] {
        match self {
            Self::One(v) => std::slice::from_ref(v),
            Self::Many(vs) => vs,
        }
    }
}

/// The Gegevensdiensten of a Zorgaanbieder that speak one release
/// (MedMij LISTS-15). In a release2 ZAL it is implicit: no
/// [`InterfaceversieId`], release line 1.x.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interfaceversie {
    id: Option<InterfaceversieId>,
    gegevensdiensten: Box<[Gegevensdienst]>,
}

/// Which interface a caller speaks, for the lookups of
/// [`Zorgaanbiederslijst::gegevensdienst_in`] (MedMij LISTS-15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interface<'a> {
    /// Exactly this InterfaceversieId (`2.0.0`). The implicit version of a
    /// release2 ZAL has no id and matches only [`Interface::Line`].
    Versie(&'a str),
    /// Any Interfaceversie of this release line; the highest version that
    /// lists the Gegevensdienst wins.
    Line(ReleaseLine),
}

impl From<ReleaseLine> for Interface<'_> {
    fn from(line: ReleaseLine) -> Self {
        Interface::Line(line)
    }
}

impl<'a> From<&'a InterfaceversieId> for Interface<'a> {
    fn from(id: &'a InterfaceversieId) -> Self {
        Interface::Versie(id.as_str())
    }
}

/// The release lines in which a Zorgaanbieder offers a Gegevensdienst: a
/// small set, copied, not allocated. The PGO GW chooses the release per
/// counterpart from it ("Releases, side by side"; MedMij LISTS-15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct ReleaseLines(u8);

impl ReleaseLines {
    fn bit(line: ReleaseLine) -> u8 {
        match line {
            ReleaseLine::V1 => 1,
            ReleaseLine::V2 => 2,
        }
    }

    fn insert(&mut self, line: ReleaseLine) {
        self.0 |= Self::bit(line);
    }

    /// Whether `line` is in the set.
    #[must_use]
    pub fn contains(self, line: ReleaseLine) -> bool {
        self.0 & Self::bit(line) != 0
    }

    /// Whether the set is empty (the Gegevensdienst is not offered in a
    /// release line these libraries speak).
    #[must_use]
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The newest line in the set.
    pub fn newest(self) -> Option<ReleaseLine> {
        self.iter().last()
    }

    /// The set of `lines` (e.g. the lines a gateway speaks).
    pub fn of(lines: &[ReleaseLine]) -> Self {
        let mut set = Self::default();
        for &l in lines {
            set.insert(l);
        }
        set
    }

    /// The lines in both sets.
    #[must_use]
    pub fn intersect(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// The release to speak with a counterpart: the newest line both offer
    /// ("Releases, side by side": the PGO GW chooses per counterpart from
    /// the ZAL).
    ///
    /// ```
    /// use medmij_lists::{ReleaseLine, ReleaseLines};
    /// let offered = ReleaseLines::of(&[ReleaseLine::V1, ReleaseLine::V2]);
    /// let spoken = ReleaseLines::of(&[ReleaseLine::V1]);
    /// assert_eq!(offered.choose(spoken), Some(ReleaseLine::V1));
    /// assert_eq!(offered.choose(offered), Some(ReleaseLine::V2));
    /// assert_eq!(spoken.choose(ReleaseLines::of(&[ReleaseLine::V2])), None);
    /// ```
    pub fn choose(self, spoken: Self) -> Option<ReleaseLine> {
        self.intersect(spoken).newest()
    }

    /// The lines, oldest first.
    pub fn iter(self) -> impl Iterator<Item = ReleaseLine> {
        [ReleaseLine::V1, ReleaseLine::V2]
            .into_iter()
            .filter(move |l| self.contains(*l))
    }
}

/// One Gegevensdienst of one Zorgaanbieder: its authorization server and
/// its resource servers per Systeemrol (LISTS-2); in release3 also its
/// subscription service (LISTS-15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gegevensdienst {
    id: GegevensdienstId,
    authorization_endpoint: Option<FrontChannelUri>,
    token_endpoint: Option<BackChannelUri>,
    // Boxed: rare, and the model of a large ZAL is mostly Gegevensdiensten.
    abonneren: Option<Box<Abonneren>>,
    systeemrollen: Box<[Systeemrol]>,
}

/// The subscription service of a release3 Gegevensdienst (MedMij LISTS-15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abonneren {
    maximale_duur: MaximaleDuur,
    subscription_endpoint: BackChannelUri,
}

impl Abonneren {
    /// A subscription service.
    pub fn new(maximale_duur: MaximaleDuur, subscription_endpoint: BackChannelUri) -> Self {
        Self {
            maximale_duur,
            subscription_endpoint,
        }
    }
    /// The longest subscription, in days.
    pub fn maximale_duur(&self) -> MaximaleDuur {
        self.maximale_duur
    }
    /// The subscription endpoint (back channel).
    pub fn subscription_endpoint(&self) -> &BackChannelUri {
        &self.subscription_endpoint
    }
}

/// A Systeemrol of a Gegevensdienst with its resource endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Systeemrol {
    code: Systeemrolcode,
    resource_endpoint: BackChannelUri,
}

impl Systeemrol {
    /// A Systeemrol.
    pub fn new(code: Systeemrolcode, resource_endpoint: BackChannelUri) -> Self {
        Self {
            code,
            resource_endpoint,
        }
    }
    /// The Systeemrolcode.
    pub fn code(&self) -> &Systeemrolcode {
        &self.code
    }
    /// The resource endpoint (back channel).
    pub fn resource_endpoint(&self) -> &BackChannelUri {
        &self.resource_endpoint
    }
}

/// Refuses an empty or non-unique set of Systeemrollen.
fn check_rollen(systeemrollen: &[Systeemrol], rule: RuleId) -> Result<(), ModelError> {
    if systeemrollen.is_empty() {
        return Err(ModelError::Empty {
            element: "Systeemrollen",
            rule: RuleId::Lists1,
        });
    }
    crate::unique_keys(
        "Systeemrolcode",
        rule,
        systeemrollen.iter().map(|s| s.code.as_str()),
    )
}

/// Refuses an empty or non-unique set of Gegevensdiensten.
fn check_diensten(diensten: &[Gegevensdienst], rule: RuleId) -> Result<(), ModelError> {
    if diensten.is_empty() {
        return Err(ModelError::Empty {
            element: "Gegevensdiensten",
            rule: RuleId::Lists1,
        });
    }
    crate::unique_keys(
        "GegevensdienstId",
        rule,
        diensten.iter().map(|g| g.id.as_str()),
    )
}

impl Gegevensdienst {
    /// A release2 Gegevensdienst (both endpoints, no subscription); refuses
    /// an empty or non-unique set of Systeemrollen (LISTS-1, LISTS-2).
    pub fn new(
        id: GegevensdienstId,
        authorization_endpoint: FrontChannelUri,
        token_endpoint: BackChannelUri,
        systeemrollen: Vec<Systeemrol>,
    ) -> Result<Self, ModelError> {
        check_rollen(&systeemrollen, RuleId::Lists2)?;
        Ok(Self {
            id,
            authorization_endpoint: Some(authorization_endpoint),
            token_endpoint: Some(token_endpoint),
            abonneren: None,
            systeemrollen: systeemrollen.into_boxed_slice(),
        })
    }

    /// A release3 Gegevensdienst, whose endpoints and subscription service
    /// are optional (LISTS-15); refuses an empty or non-unique set of
    /// Systeemrollen.
    pub fn new_release3(
        id: GegevensdienstId,
        authorization_endpoint: Option<FrontChannelUri>,
        token_endpoint: Option<BackChannelUri>,
        abonneren: Option<Abonneren>,
        systeemrollen: Vec<Systeemrol>,
    ) -> Result<Self, ModelError> {
        check_rollen(&systeemrollen, RuleId::Lists15)?;
        Ok(Self {
            id,
            authorization_endpoint,
            token_endpoint,
            abonneren: abonneren.map(Box::new),
            systeemrollen: systeemrollen.into_boxed_slice(),
        })
    }

    /// The GegevensdienstId.
    pub fn id(&self) -> &GegevensdienstId {
        &self.id
    }
    /// The authorization endpoint (front channel); always present in
    /// release2, optional in release3 (LISTS-15).
    pub fn authorization_endpoint(&self) -> Option<&FrontChannelUri> {
        self.authorization_endpoint.as_ref()
    }
    /// The token endpoint (back channel); always present in release2,
    /// optional in release3 (LISTS-15).
    pub fn token_endpoint(&self) -> Option<&BackChannelUri> {
        self.token_endpoint.as_ref()
    }
    /// The subscription service (release3 only, optional; LISTS-15).
    pub fn abonneren(&self) -> Option<&Abonneren> {
        self.abonneren.as_deref()
    }
    /// The Systeemrollen (at least one, codes unique).
    pub fn systeemrollen(&self) -> &[Systeemrol] {
        &self.systeemrollen
    }
    /// The Systeemrol with this code.
    pub fn systeemrol(&self, code: &str) -> Option<&Systeemrol> {
        self.systeemrollen.iter().find(|s| s.code.as_str() == code)
    }
    /// Whether this Gegevensdienst can be written in a release2 ZAL.
    fn fits_release2(&self) -> bool {
        self.authorization_endpoint.is_some()
            && self.token_endpoint.is_some()
            && self.abonneren.is_none()
    }
}

impl Interfaceversie {
    /// An Interfaceversie of a release3 ZAL; refuses an empty or non-unique
    /// set of Gegevensdiensten (GegevensdienstId unique within an
    /// Interfaceversie, LISTS-15).
    pub fn new(
        id: InterfaceversieId,
        gegevensdiensten: Vec<Gegevensdienst>,
    ) -> Result<Self, ModelError> {
        check_diensten(&gegevensdiensten, RuleId::Lists15)?;
        Ok(Self {
            id: Some(id),
            gegevensdiensten: gegevensdiensten.into_boxed_slice(),
        })
    }

    /// The InterfaceversieId; `None` for the implicit 1.x version of a
    /// release2 Zorgaanbieder.
    pub fn id(&self) -> Option<&InterfaceversieId> {
        self.id.as_ref()
    }

    /// Whether this is the implicit version of a release2 Zorgaanbieder.
    #[must_use]
    pub fn is_implicit(&self) -> bool {
        self.id.is_none()
    }

    /// The release line the endpoints speak: the major number of the
    /// InterfaceversieId (1 → 1.x, 2 → 2.x, others `None`), 1.x for the
    /// implicit version of release2 (LISTS-15).
    pub fn release_line(&self) -> Option<ReleaseLine> {
        match &self.id {
            None => Some(ReleaseLine::V1),
            Some(id) => id.release_line(),
        }
    }

    /// Whether a caller speaking `interface` can use this version.
    #[must_use]
    pub fn matches(&self, interface: Interface<'_>) -> bool {
        match interface {
            Interface::Versie(v) => self.id.as_ref().is_some_and(|id| id.as_str() == v),
            Interface::Line(line) => self.release_line() == Some(line),
        }
    }

    /// The Gegevensdiensten (at least one, ids unique).
    pub fn gegevensdiensten(&self) -> &[Gegevensdienst] {
        &self.gegevensdiensten
    }

    /// The Gegevensdienst with this id.
    pub fn gegevensdienst(&self, id: &str) -> Option<&Gegevensdienst> {
        // One to a handful per version: a scan beats hashing.
        self.gegevensdiensten.iter().find(|g| g.id.as_str() == id)
    }

    /// Orders versions by value; the implicit one is the lowest.
    fn cmp_version(&self, other: &Self) -> Ordering {
        match (&self.id, &other.id) {
            (Some(a), Some(b)) => a.cmp_version(b),
            (a, b) => a.is_some().cmp(&b.is_some()),
        }
    }
}

impl Zorgaanbieder {
    /// A release2 Zorgaanbieder (one implicit 1.x Interfaceversie); refuses
    /// an empty or non-unique set of Gegevensdiensten (LISTS-1, LISTS-2).
    pub fn new(
        naam: Zorgaanbiedernaam,
        gegevensdiensten: Vec<Gegevensdienst>,
    ) -> Result<Self, ModelError> {
        check_diensten(&gegevensdiensten, RuleId::Lists2)?;
        Ok(Self {
            naam,
            aanbiedertype: None,
            versies: Versies::One(Interfaceversie {
                id: None,
                gegevensdiensten: gegevensdiensten.into_boxed_slice(),
            }),
        })
    }

    /// A release3 Zorgaanbieder; refuses an empty set of Interfaceversies
    /// or a repeated InterfaceversieId (LISTS-15).
    pub fn new_release3(
        naam: Zorgaanbiedernaam,
        aanbiedertype: Aanbiedertype,
        interfaceversies: Vec<Interfaceversie>,
    ) -> Result<Self, ModelError> {
        if interfaceversies.is_empty() {
            return Err(ModelError::Empty {
                element: "Interfaceversies",
                rule: RuleId::Lists15,
            });
        }
        if interfaceversies.iter().any(Interfaceversie::is_implicit) {
            return Err(ModelError::NotInRelease {
                element: "Interfaceversie without InterfaceversieId",
                release: ZalRelease::Release3.name(),
                rule: RuleId::Lists15,
            });
        }
        crate::unique_keys(
            "InterfaceversieId",
            RuleId::Lists15,
            interfaceversies
                .iter()
                .filter_map(|v| v.id.as_ref().map(InterfaceversieId::as_str)),
        )?;
        Ok(Self {
            naam,
            aanbiedertype: Some(aanbiedertype),
            versies: Versies::from_vec(interfaceversies),
        })
    }

    /// The Zorgaanbiedernaam.
    pub fn naam(&self) -> &Zorgaanbiedernaam {
        &self.naam
    }

    /// The Aanbiedertype (release3; `None` in release2).
    pub fn aanbiedertype(&self) -> Option<&Aanbiedertype> {
        self.aanbiedertype.as_ref()
    }

    /// The Interfaceversies in list order (at least one; in release2 the
    /// one implicit 1.x version).
    pub fn interfaceversies(&self) -> &[Interfaceversie] {
        self.versies.as_slice()
    }

    /// The Interfaceversie with this id.
    pub fn interfaceversie(&self, id: &str) -> Option<&Interfaceversie> {
        self.interfaceversies()
            .iter()
            .find(|v| v.id.as_ref().is_some_and(|i| i.as_str() == id))
    }

    /// Every Gegevensdienst of every Interfaceversie, in list order (an id
    /// offered in two versions comes twice).
    pub fn gegevensdiensten(&self) -> impl Iterator<Item = &Gegevensdienst> + '_ {
        self.interfaceversies()
            .iter()
            .flat_map(|v| v.gegevensdiensten.iter())
    }

    /// The Gegevensdienst with this id for a 1.x caller: as
    /// [`Zorgaanbieder::gegevensdienst_in`] with [`ReleaseLine::V1`]. In a
    /// release2 ZAL that is the one entry.
    pub fn gegevensdienst(&self, id: &str) -> Option<&Gegevensdienst> {
        // The release2 case, on the lookup hot path: one implicit version.
        if let Versies::One(v) = &self.versies
            && v.id.is_none()
        {
            return v.gegevensdienst(id);
        }
        self.gegevensdienst_in(id, Interface::Line(ReleaseLine::V1))
            .map(|(_, g)| g)
    }

    /// The Gegevensdienst with this id for a caller speaking `interface`,
    /// with the Interfaceversie it is listed in: for a release line, the
    /// highest version of that line that lists it (LISTS-15). Does not
    /// allocate.
    pub fn gegevensdienst_in<'s>(
        &'s self,
        id: &str,
        interface: impl Into<Interface<'s>>,
    ) -> Option<(&'s Interfaceversie, &'s Gegevensdienst)> {
        let interface = interface.into();
        let mut best: Option<(&Interfaceversie, &Gegevensdienst)> = None;
        for v in self.interfaceversies() {
            if !v.matches(interface) {
                continue;
            }
            if let Some(g) = v.gegevensdienst(id)
                && best.is_none_or(|(b, _)| v.cmp_version(b) == Ordering::Greater)
            {
                best = Some((v, g));
            }
        }
        best
    }

    /// Whether any Interfaceversie lists Gegevensdienst `id`.
    #[must_use]
    pub fn offers(&self, id: &str) -> bool {
        self.interfaceversies()
            .iter()
            .any(|v| v.gegevensdienst(id).is_some())
    }

    /// The release lines in which this Zorgaanbieder offers Gegevensdienst
    /// `id` (LISTS-15; release2: 1.x).
    pub fn release_lines(&self, id: &str) -> ReleaseLines {
        let mut lines = ReleaseLines::default();
        for v in self.interfaceversies() {
            if let Some(line) = v.release_line()
                && v.gegevensdienst(id).is_some()
            {
                lines.insert(line);
            }
        }
        lines
    }

    fn fits(&self, release: ZalRelease) -> Result<(), ModelError> {
        let bad = |element| {
            Err(ModelError::NotInRelease {
                element,
                release: release.name(),
                rule: match release {
                    ZalRelease::Release2 => RuleId::Lists1,
                    ZalRelease::Release3 => RuleId::Lists15,
                },
            })
        };
        match release {
            ZalRelease::Release2 => {
                if self.aanbiedertype.is_some() {
                    return bad("Aanbiedertype");
                }
                if !matches!(&self.versies, Versies::One(v) if v.is_implicit()) {
                    return bad("Interfaceversies");
                }
                if !self.gegevensdiensten().all(Gegevensdienst::fits_release2) {
                    return bad("Gegevensdienst without both endpoints, or with Abonneren");
                }
                Ok(())
            }
            ZalRelease::Release3 => {
                if self.aanbiedertype.is_none() {
                    return bad("Zorgaanbieder without Aanbiedertype");
                }
                if self
                    .interfaceversies()
                    .iter()
                    .any(Interfaceversie::is_implicit)
                {
                    return bad("Interfaceversie without InterfaceversieId");
                }
                Ok(())
            }
        }
    }
}

impl Zorgaanbiederslijst {
    /// A ZAL from its parts; refuses duplicate Zorgaanbiedernamen (LISTS-2)
    /// and Zorgaanbieders that cannot be written in `release` (a release2
    /// ZAL has no Aanbiedertype, no InterfaceversieId, no Abonneren and both
    /// endpoints; a release3 ZAL has an Aanbiedertype and explicit
    /// Interfaceversies, LISTS-15).
    pub fn new(
        release: ZalRelease,
        tijdstempel: Tijdstempel,
        volgnummer: Volgnummer,
        zorgaanbieders: Vec<Zorgaanbieder>,
    ) -> Result<Self, ModelError> {
        crate::unique_keys(
            "Zorgaanbiedernaam",
            RuleId::Lists2,
            zorgaanbieders.iter().map(|z| z.naam.as_str()),
        )?;
        for z in &zorgaanbieders {
            z.fits(release)?;
        }
        Ok(Self::assemble(
            release,
            tijdstempel,
            volgnummer,
            zorgaanbieders,
        ))
    }

    fn assemble(
        release: ZalRelease,
        tijdstempel: Tijdstempel,
        volgnummer: Volgnummer,
        zorgaanbieders: Vec<Zorgaanbieder>,
    ) -> Self {
        let index = Index::build(&zorgaanbieders, false, |z| z.naam.as_str());
        Self {
            release,
            tijdstempel,
            volgnummer,
            zorgaanbieders,
            index,
        }
    }

    /// All Zorgaanbieders in list order.
    pub fn zorgaanbieders(&self) -> &[Zorgaanbieder] {
        &self.zorgaanbieders
    }

    /// The Zorgaanbieder with this name (exact match; names are lowercase).
    pub fn zorgaanbieder(&self, naam: &str) -> Option<&Zorgaanbieder> {
        let z = &self.zorgaanbieders;
        self.index.get(z, naam, |z| z.naam.as_str())
    }

    /// The Gegevensdienst `id` of Zorgaanbieder `naam` for a 1.x caller
    /// (release line [`ReleaseLine::V1`]; in a release2 ZAL the one entry):
    /// its authorization server (LISTS-2: at most one per pair).
    pub fn gegevensdienst(&self, naam: &str, id: &str) -> Option<&Gegevensdienst> {
        self.zorgaanbieder(naam)?.gegevensdienst(id)
    }

    /// The Gegevensdienst `id` of Zorgaanbieder `naam` for a caller
    /// speaking `interface` (an InterfaceversieId or a release line), with
    /// the Interfaceversie it is listed in (LISTS-15). Does not allocate.
    pub fn gegevensdienst_in<'s>(
        &'s self,
        naam: &str,
        id: &str,
        interface: impl Into<Interface<'s>>,
    ) -> Option<(&'s Interfaceversie, &'s Gegevensdienst)> {
        self.zorgaanbieder(naam)?.gegevensdienst_in(id, interface)
    }

    /// The release lines in which Zorgaanbieder `naam` offers Gegevensdienst
    /// `id` (empty if it does not): the PGO GW chooses the release per
    /// counterpart from it (LISTS-15).
    pub fn release_lines(&self, naam: &str, id: &str) -> ReleaseLines {
        self.zorgaanbieder(naam)
            .map(|z| z.release_lines(id))
            .unwrap_or_default()
    }

    /// The authorization endpoint of (Zorgaanbieder, Gegevensdienst) for a
    /// 1.x caller.
    pub fn authorization_endpoint(&self, naam: &str, id: &str) -> Option<&FrontChannelUri> {
        self.gegevensdienst(naam, id)?.authorization_endpoint()
    }

    /// The token endpoint of (Zorgaanbieder, Gegevensdienst) for a 1.x
    /// caller.
    pub fn token_endpoint(&self, naam: &str, id: &str) -> Option<&BackChannelUri> {
        self.gegevensdienst(naam, id)?.token_endpoint()
    }

    /// The resource endpoint of (Zorgaanbieder, Gegevensdienst, Systeemrol)
    /// for a 1.x caller (LISTS-2: at most one per triple).
    pub fn resource_endpoint(
        &self,
        naam: &str,
        id: &str,
        systeemrolcode: &str,
    ) -> Option<&BackChannelUri> {
        Some(
            &self
                .gegevensdienst(naam, id)?
                .systeemrol(systeemrolcode)?
                .resource_endpoint,
        )
    }

    /// The resource endpoint of (Zorgaanbieder, Gegevensdienst, Systeemrol)
    /// for a caller speaking `interface` (LISTS-15).
    pub fn resource_endpoint_in<'s>(
        &'s self,
        naam: &str,
        id: &str,
        interface: impl Into<Interface<'s>>,
        systeemrolcode: &str,
    ) -> Option<&'s BackChannelUri> {
        let (_, g) = self.gegevensdienst_in(naam, id, interface)?;
        Some(&g.systeemrol(systeemrolcode)?.resource_endpoint)
    }

    /// Serializes the list as XML in its release's namespace and structure.
    pub fn to_xml(&self) -> String {
        const ROOT: &str = "Zorgaanbiederslijst";
        let r3 = self.release == ZalRelease::Release3;
        let mut w = XmlOut::new(ROOT, self.release.namespace());
        w.leaf("Tijdstempel", self.tijdstempel.as_str());
        w.leaf("Volgnummer", self.volgnummer.as_str());
        w.open("Zorgaanbieders");
        for z in &self.zorgaanbieders {
            w.open("Zorgaanbieder");
            w.leaf("Zorgaanbiedernaam", z.naam.as_str());
            if r3 {
                if let Some(t) = &z.aanbiedertype {
                    w.leaf("Aanbiedertype", t.as_str());
                }
                w.open("Interfaceversies");
            }
            for v in z.interfaceversies() {
                if r3 {
                    w.open("Interfaceversie");
                    if let Some(id) = &v.id {
                        w.leaf("InterfaceversieId", id.as_str());
                    }
                }
                write_diensten(&mut w, &v.gegevensdiensten);
                if r3 {
                    w.close("Interfaceversie");
                }
            }
            if r3 {
                w.close("Interfaceversies");
            }
            w.close("Zorgaanbieder");
        }
        w.close("Zorgaanbieders");
        w.finish(ROOT)
    }
}

fn write_diensten(w: &mut XmlOut, diensten: &[Gegevensdienst]) {
    w.open("Gegevensdiensten");
    for g in diensten {
        w.open("Gegevensdienst");
        w.leaf("GegevensdienstId", g.id.as_str());
        if let Some(a) = &g.authorization_endpoint {
            w.open("AuthorizationEndpoint");
            w.leaf("AuthorizationEndpointuri", a.as_str());
            w.close("AuthorizationEndpoint");
        }
        if let Some(t) = &g.token_endpoint {
            w.open("TokenEndpoint");
            w.leaf("TokenEndpointuri", t.as_str());
            w.close("TokenEndpoint");
        }
        if let Some(a) = &g.abonneren {
            w.open("Abonneren");
            w.leaf("MaximaleDuur", &a.maximale_duur.to_string());
            w.leaf("SubscriptionEndpointuri", a.subscription_endpoint.as_str());
            w.close("Abonneren");
        }
        w.open("Systeemrollen");
        for s in &g.systeemrollen {
            w.open("Systeemrol");
            w.leaf("Systeemrolcode", s.code.as_str());
            w.open("ResourceEndpoint");
            w.leaf("ResourceEndpointuri", s.resource_endpoint.as_str());
            w.close("ResourceEndpoint");
            w.close("Systeemrol");
        }
        w.close("Systeemrollen");
        w.close("Gegevensdienst");
    }
    w.close("Gegevensdiensten");
}

// Element ids of the content models below. Both releases use the same ids
// for the elements they share (0, the root, to 17); release3 adds 18 to 24.
const TIJDSTEMPEL: ElemId = 1;
const VOLGNUMMER: ElemId = 2;
const ZORGAANBIEDERS: ElemId = 3;
const ZORGAANBIEDER: ElemId = 4;
const NAAM: ElemId = 5;
const GEGEVENSDIENSTEN: ElemId = 6;
const GEGEVENSDIENST: ElemId = 7;
const GD_ID: ElemId = 8;
const AUTH: ElemId = 9;
const AUTH_URI: ElemId = 10;
const TOKEN: ElemId = 11;
const TOKEN_URI: ElemId = 12;
const SYSTEEMROLLEN: ElemId = 13;
const SYSTEEMROL: ElemId = 14;
const CODE: ElemId = 15;
const RESOURCE: ElemId = 16;
const RESOURCE_URI: ElemId = 17;
const AANBIEDERTYPE: ElemId = 18;
const INTERFACEVERSIES: ElemId = 19;
const INTERFACEVERSIE: ElemId = 20;
const IV_ID: ElemId = 21;
const ABONNEREN: ElemId = 22;
const MAXIMALE_DUUR: ElemId = 23;
const SUBSCRIPTION_URI: ElemId = 24;

/// MedMij LISTS-1: the ZAL release2 content model.
static SCHEMA_R2: Schema = Schema {
    namespace: "xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release2/",
    rule: RuleId::Lists1,
    elems: &[
        ElemDecl::complex(
            "Zorgaanbiederslijst",
            &[
                Particle::one(TIJDSTEMPEL),
                Particle::one(VOLGNUMMER),
                Particle::one(ZORGAANBIEDERS),
            ],
        ),
        ElemDecl::simple("Tijdstempel"),
        ElemDecl::simple("Volgnummer"),
        ElemDecl::complex("Zorgaanbieders", &[Particle::many(ZORGAANBIEDER, 0)]),
        ElemDecl::complex(
            "Zorgaanbieder",
            &[Particle::one(NAAM), Particle::one(GEGEVENSDIENSTEN)],
        ),
        ElemDecl::simple("Zorgaanbiedernaam"),
        ElemDecl::complex("Gegevensdiensten", &[Particle::many(GEGEVENSDIENST, 1)]),
        ElemDecl::complex(
            "Gegevensdienst",
            &[
                Particle::one(GD_ID),
                Particle::one(AUTH),
                Particle::one(TOKEN),
                Particle::one(SYSTEEMROLLEN),
            ],
        ),
        ElemDecl::simple("GegevensdienstId"),
        ElemDecl::complex("AuthorizationEndpoint", &[Particle::one(AUTH_URI)]),
        ElemDecl::simple("AuthorizationEndpointuri"),
        ElemDecl::complex("TokenEndpoint", &[Particle::one(TOKEN_URI)]),
        ElemDecl::simple("TokenEndpointuri"),
        ElemDecl::complex("Systeemrollen", &[Particle::many(SYSTEEMROL, 1)]),
        ElemDecl::complex(
            "Systeemrol",
            &[Particle::one(CODE), Particle::one(RESOURCE)],
        ),
        ElemDecl::simple("Systeemrolcode"),
        ElemDecl::complex("ResourceEndpoint", &[Particle::one(RESOURCE_URI)]),
        ElemDecl::simple("ResourceEndpointuri"),
    ],
};

/// MedMij LISTS-15: the ZAL release3 content model (provisional; the
/// project's `schemas/zal-release3.xsd` states the same).
static SCHEMA_R3: Schema = Schema {
    namespace: "xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release3/",
    rule: RuleId::Lists15,
    elems: &[
        ElemDecl::complex(
            "Zorgaanbiederslijst",
            &[
                Particle::one(TIJDSTEMPEL),
                Particle::one(VOLGNUMMER),
                Particle::one(ZORGAANBIEDERS),
            ],
        ),
        ElemDecl::simple("Tijdstempel"),
        ElemDecl::simple("Volgnummer"),
        ElemDecl::complex("Zorgaanbieders", &[Particle::many(ZORGAANBIEDER, 0)]),
        ElemDecl::complex(
            "Zorgaanbieder",
            &[
                Particle::one(NAAM),
                Particle::one(AANBIEDERTYPE),
                Particle::one(INTERFACEVERSIES),
            ],
        ),
        ElemDecl::simple("Zorgaanbiedernaam"),
        ElemDecl::complex("Gegevensdiensten", &[Particle::many(GEGEVENSDIENST, 1)]),
        ElemDecl::complex(
            "Gegevensdienst",
            &[
                Particle::one(GD_ID),
                Particle::opt(AUTH),
                Particle::opt(TOKEN),
                Particle::opt(ABONNEREN),
                Particle::one(SYSTEEMROLLEN),
            ],
        ),
        ElemDecl::simple("GegevensdienstId"),
        ElemDecl::complex("AuthorizationEndpoint", &[Particle::one(AUTH_URI)]),
        ElemDecl::simple("AuthorizationEndpointuri"),
        ElemDecl::complex("TokenEndpoint", &[Particle::one(TOKEN_URI)]),
        ElemDecl::simple("TokenEndpointuri"),
        ElemDecl::complex("Systeemrollen", &[Particle::many(SYSTEEMROL, 1)]),
        ElemDecl::complex(
            "Systeemrol",
            &[Particle::one(CODE), Particle::one(RESOURCE)],
        ),
        ElemDecl::simple("Systeemrolcode"),
        ElemDecl::complex("ResourceEndpoint", &[Particle::one(RESOURCE_URI)]),
        ElemDecl::simple("ResourceEndpointuri"),
        ElemDecl::simple("Aanbiedertype"),
        ElemDecl::complex("Interfaceversies", &[Particle::many(INTERFACEVERSIE, 1)]),
        ElemDecl::complex(
            "Interfaceversie",
            &[Particle::one(IV_ID), Particle::one(GEGEVENSDIENSTEN)],
        ),
        ElemDecl::simple("InterfaceversieId"),
        ElemDecl::complex(
            "Abonneren",
            &[
                Particle::one(MAXIMALE_DUUR),
                Particle::one(SUBSCRIPTION_URI),
            ],
        ),
        ElemDecl::simple("MaximaleDuur"),
        ElemDecl::simple("SubscriptionEndpointuri"),
    ],
};

#[derive(Default)]
struct ZalBuilder {
    tijdstempel: Option<Tijdstempel>,
    volgnummer: Option<Volgnummer>,
    zorgaanbieders: Vec<Zorgaanbieder>,
    names: KeySet,
    /// Whether the document is a release3 ZAL (an Interfaceversies element
    /// was seen; the schema requires one in every release3 Zorgaanbieder).
    release3: bool,
    // Current Zorgaanbieder.
    naam: Option<Zorgaanbiedernaam>,
    aanbiedertype: Option<Aanbiedertype>,
    versies: Vec<Interfaceversie>,
    versie_ids: KeySet,
    entry_ok: bool,
    // Current Interfaceversie (release3).
    iv_id: Option<InterfaceversieId>,
    // Current Gegevensdiensten (of the Zorgaanbieder in release2, of the
    // Interfaceversie in release3).
    diensten: Vec<Gegevensdienst>,
    dienst_ids: KeySet,
    // Current Gegevensdienst.
    gd_id: Option<GegevensdienstId>,
    auth: Option<FrontChannelUri>,
    token: Option<BackChannelUri>,
    abonneren: Option<Box<Abonneren>>,
    rollen: Vec<Systeemrol>,
    codes: KeySet,
    // Current Abonneren.
    max_duur: Option<MaximaleDuur>,
    subscription: Option<BackChannelUri>,
    // Current Systeemrol.
    code: Option<Systeemrolcode>,
    resource: Option<BackChannelUri>,
}

impl ZalBuilder {
    /// The rule of the uniqueness checks below the Zorgaanbieder: LISTS-2
    /// in release2, LISTS-15 in release3.
    fn uniqueness_rule(&self) -> RuleId {
        if self.release3 {
            RuleId::Lists15
        } else {
            RuleId::Lists2
        }
    }
}

impl Builder for ZalBuilder {
    fn start(&mut self, elem: ElemId, _offset: usize) {
        match elem {
            ZORGAANBIEDER => {
                self.naam = None;
                self.aanbiedertype = None;
                self.versies.clear();
                self.versie_ids.clear();
                self.diensten.clear();
                self.dienst_ids.clear();
                self.entry_ok = true;
            }
            INTERFACEVERSIES => self.release3 = true,
            INTERFACEVERSIE => {
                self.iv_id = None;
                self.diensten.clear();
                self.dienst_ids.clear();
            }
            GEGEVENSDIENST => {
                self.gd_id = None;
                self.auth = None;
                self.token = None;
                self.abonneren = None;
                self.rollen.clear();
                self.codes.clear();
            }
            // Abonneren and Systeemrol need no reset: `end` takes both of
            // their fields, so the next one starts empty.
            _ => {}
        }
    }

    fn value(&mut self, elem: ElemId, text: &str, offset: usize) -> Result<(), Fault> {
        let r = match elem {
            TIJDSTEMPEL => value(Tijdstempel::new(text)).map(|v| self.tijdstempel = Some(v)),
            VOLGNUMMER => value(Volgnummer::new(text)).map(|v| self.volgnummer = Some(v)),
            NAAM => {
                let naam = value(Zorgaanbiedernaam::new(text))?;
                // MedMij LISTS-2: Zorgaanbiedernaam unique in the ZAL (and
                // MedMij LISTS-15 says the same for release3).
                unique(&mut self.names, naam.as_str(), offset, RuleId::Lists2)
                    .inspect_err(|_| self.entry_ok = false)?;
                self.naam = Some(naam);
                Ok(())
            }
            AANBIEDERTYPE => value(Aanbiedertype::new(text)).map(|v| self.aanbiedertype = Some(v)),
            IV_ID => {
                let id = value(InterfaceversieId::new(text))?;
                // MedMij LISTS-15: InterfaceversieId unique within a Zorgaanbieder.
                unique(&mut self.versie_ids, id.as_str(), offset, RuleId::Lists15)?;
                self.iv_id = Some(id);
                Ok(())
            }
            GD_ID => {
                let id = value(GegevensdienstId::new(text))?;
                // MedMij LISTS-2: GegevensdienstId unique within one
                // Zorgaanbieder; MedMij LISTS-15: within one Interfaceversie.
                let rule = self.uniqueness_rule();
                unique(&mut self.dienst_ids, id.as_str(), offset, rule)?;
                self.gd_id = Some(id);
                Ok(())
            }
            AUTH_URI => value(FrontChannelUri::new(text)).map(|v| self.auth = Some(v)),
            TOKEN_URI => value(BackChannelUri::new(text)).map(|v| self.token = Some(v)),
            MAXIMALE_DUUR => value(MaximaleDuur::new(text)).map(|v| self.max_duur = Some(v)),
            SUBSCRIPTION_URI => {
                value(BackChannelUri::new(text)).map(|v| self.subscription = Some(v))
            }
            CODE => {
                let code = value(Systeemrolcode::new(text))?;
                // MedMij LISTS-2: Systeemrolcode unique within one Gegevensdienst.
                let rule = self.uniqueness_rule();
                unique(&mut self.codes, code.as_str(), offset, rule)?;
                self.code = Some(code);
                Ok(())
            }
            RESOURCE_URI => value(BackChannelUri::new(text)).map(|v| self.resource = Some(v)),
            _ => Ok(()),
        };
        if r.is_err() {
            self.entry_ok = false;
        }
        r
    }

    fn end(&mut self, elem: ElemId) -> Result<(), Fault> {
        match elem {
            SYSTEEMROL => {
                if let (Some(code), Some(resource_endpoint)) =
                    (self.code.take(), self.resource.take())
                {
                    self.rollen.push(Systeemrol {
                        code,
                        resource_endpoint,
                    });
                }
            }
            ABONNEREN => {
                if let (Some(maximale_duur), Some(subscription_endpoint)) =
                    (self.max_duur.take(), self.subscription.take())
                {
                    self.abonneren = Some(Box::new(Abonneren {
                        maximale_duur,
                        subscription_endpoint,
                    }));
                }
            }
            GEGEVENSDIENST => {
                // The schema requires both endpoints in release2; a missing
                // one there is an error reported by the driver.
                if let Some(id) = self.gd_id.take() {
                    self.diensten.push(Gegevensdienst {
                        id,
                        authorization_endpoint: self.auth.take(),
                        token_endpoint: self.token.take(),
                        abonneren: self.abonneren.take(),
                        // An exact-size copy; the builder keeps its buffer.
                        systeemrollen: self.rollen.drain(..).collect(),
                    });
                }
            }
            INTERFACEVERSIE => {
                if let Some(id) = self.iv_id.take() {
                    self.versies.push(Interfaceversie {
                        id: Some(id),
                        gegevensdiensten: self.diensten.drain(..).collect(),
                    });
                }
            }
            ZORGAANBIEDER => {
                if let Some(naam) = self.naam.take()
                    && self.entry_ok
                {
                    let versies = if self.release3 {
                        Versies::from_vec(self.versies.drain(..).collect())
                    } else {
                        Versies::One(Interfaceversie {
                            id: None,
                            gegevensdiensten: self.diensten.drain(..).collect(),
                        })
                    };
                    self.zorgaanbieders.push(Zorgaanbieder {
                        naam,
                        aanbiedertype: self.aanbiedertype.take(),
                        versies,
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }
}

list_common!(
    Zorgaanbiederslijst,
    ZalRelease,
    ZalBuilder,
    zorgaanbieders,
    "Zorgaanbiederslijst (ZAL)"
);
