//! The four MedMij lists, parsed, validated and kept current.
//!
//! MedMij Beheer publishes four lists as XML (the LISTS rules of
//! `MEDMIJ-RULES.md`; the table under "Rules and items" below):
//!
//! | list | type | used by |
//! |---|---|---|
//! | Zorgaanbiederslijst (ZAL) | [`Zorgaanbiederslijst`] | PGO gateway: providers and endpoints |
//! | OAuth Client List (OCL) | [`OAuthclientlist`] | care-provider gateway: who may be an OAuth client |
//! | Gegevensdienstnamenlijst (GNL) | [`Gegevensdienstnamenlijst`] | both: names shown to people |
//! | Whitelist (WHL) | [`Whitelist`] | every node: who may connect |
//!
//! This crate gives you:
//!
//! * a typed model whose newtypes ([`Zorgaanbiedernaam`], [`Hostname`],
//!   [`FrontChannelUri`], …) cannot hold an invalid value;
//! * a streaming parser (quick-xml events, no DOM) with complete schema
//!   validation: element names, order and cardinality, every length and
//!   pattern facet, `xs:dateTime` and unbounded `xs:positiveInteger`, the
//!   uniqueness rules, namespaces, and refusal of hostile input (DOCTYPE,
//!   oversized input, non-UTF-8). Every error is typed and names the rule
//!   ID, the element path and line:column;
//! * lookups that do not allocate;
//! * serialization back to XML;
//! * a [`ListStore`] that keeps a gateway on a valid, current list: it
//!   installs a version only when it validates and is newer (LISTS-7,
//!   LISTS-9), archives every version (LISTS-11), honours the 3600 s grace
//!   of LISTS-10 and reports staleness (LISTS-8). It is sans-IO: time is an
//!   argument;
//! * for MedMij Beheer (the Stelselnode), [`PublicationChecks`]: the checks
//!   of LISTS-14 on a proposed new version (it validates, its Volgnummer is
//!   higher than every earlier one, its hosts are on the Whitelist, every
//!   Gegevensdienst is run by a qualified DVZA), every violation with its
//!   rule and location; archiving and publishing stay with the caller;
//! * with the feature `fetch`, a `Refresher` (tokio) that keeps a store
//!   current from a `ListSource` (a host-built reqwest client in
//!   `HttpSource`, or any other): the LISTS-8 schedule, back-off with
//!   jitter, a manual trigger and events for the host's log.
//!
//! ```
//! use medmij_lists::{ListStore, StoreEvent, Whitelist, NoArchive};
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! let v1 = br#"<Whitelist xmlns="xmlns://afsprakenstelsel.medmij.nl/whitelist/release2/">
//!   <Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel><Volgnummer>1</Volgnummer>
//!   <MedMijNodes><MedMijNode><Hostname>pgo.example.nl</Hostname></MedMijNode></MedMijNodes>
//! </Whitelist>"#;
//! let now = UNIX_EPOCH + Duration::from_secs(1_795_428_000);
//! let store: ListStore<Whitelist> = ListStore::new(NoArchive);
//! let event = store.offer(v1, now).unwrap();
//! assert!(matches!(event, StoreEvent::Installed { .. }));
//! assert!(store.current().unwrap().list().contains("pgo.example.nl"));
//! // An older or equal Volgnummer is refused (MedMij LISTS-9).
//! assert!(store.offer(v1, now).is_ok_and(|e| matches!(e, StoreEvent::Unchanged { .. })));
//! ```
//!
//! # Rules and items
//!
//! | rule | item |
//! |---|---|
//! | LISTS-1 | [`Zorgaanbiederslijst`] ([`ZalRelease::Release2`]), [`Zorgaanbieder`], [`Gegevensdienst`], [`Systeemrol`]; `schemas/zal-release2.xsd` |
//! | LISTS-2 | the uniqueness checks of the parser ([`ErrorKind::Duplicate`]) and the model constructors ([`ModelError::Duplicate`]) |
//! | LISTS-3 | [`FrontChannelUri`], [`BackChannelUri`] |
//! | LISTS-4 | [`OAuthclientlist`], [`OAuthclient`]; `schemas/ocl-release2.xsd` |
//! | LISTS-5 | [`Gegevensdienstnamenlijst`], [`GegevensdienstNaam`]; `schemas/gnl-release1.xsd` |
//! | LISTS-6 | [`Whitelist`]; `schemas/whl-release2.xsd` |
//! | LISTS-7 | [`MedMijList::parse`], [`parse_any`], [`ParseOptions`], [`ParseErrors`], [`ListStore::offer`] |
//! | LISTS-8 | [`ListKind::max_age`], [`ListStore::freshness`], [`ListStore::is_stale`], [`ListStore::rollback`]; with feature `fetch`: `Refresher` (schedule, back-off, `refresh_now`, `rollback_now`), `RefreshSettings`, `ListSource`, `HttpSource` |
//! | LISTS-9 | [`ListStore::offer`], [`StoreError::NotNewer`], [`StoreEvent::RolledBack`] |
//! | LISTS-10 | [`GRACE`], [`ListStore::within_grace`], [`ListStore::may_serve`] |
//! | LISTS-11 | [`ArchiveSink`], [`DirArchive`] |
//! | LISTS-12 | nothing hard-coded: the GNL names the Gegevensdiensten at run time |
//! | LISTS-14 | [`PublicationChecks`] (validation, a Volgnummer higher than every earlier one, endpoint hosts and OCL hostnames on the Whitelist, Gegevensdiensten only for qualified DVZAs), [`Qualifications`], [`QualificationRegistry`], [`PublicationRefused`], [`Violation`]; archiving the accepted version (LISTS-11) and publishing it are the caller's |
//! | LISTS-15 | [`ZalRelease::Release3`], [`Zorgaanbieder::aanbiedertype`], [`Interfaceversie`], [`Abonneren`], [`Interface`], [`Zorgaanbiederslijst::gegevensdienst_in`], [`Zorgaanbiederslijst::release_lines`], [`ReleaseLines`]; `schemas/zal-release3.xsd` (provisional) |
//!
//! # Releases side by side
//!
//! One model holds both ZAL releases (MedMij LISTS-15). A release2
//! Zorgaanbieder is one implicit [`Interfaceversie`] of the 1.x line; a
//! release3 one lists its Interfaceversies, each named by an
//! [`InterfaceversieId`] whose major number is the release line. The
//! two-argument lookups ([`Zorgaanbiederslijst::gegevensdienst`],
//! [`Zorgaanbiederslijst::token_endpoint`], …) are those of a 1.x caller;
//! a caller that speaks 2.x, or one exact version, uses
//! [`Zorgaanbiederslijst::gegevensdienst_in`]. None of them allocates.
//!
//! # Schemas
//!
//! `schemas/` holds the project's own XSDs, written from the rulebook. They
//! are the reference the differential test checks this parser against
//! (with `xmllint --schema` as the oracle). The model types are written by
//! hand rather than generated with `xsd-parser`: generated types carry
//! plain `String`s and serde-driven deserialisation, so they can express
//! neither the facet-checked newtypes, nor `xs:unique`, nor error positions
//! with rule IDs, nor the allocation-free lookup indexes; a generated layer
//! would sit beside this one without checking anything the XSDs do not
//! already check in the differential test.
//!
//! # Known difference with libxml2
//!
//! `xs:positiveInteger` has no upper bound in XML Schema and a Volgnummer
//! may be of any size (LISTS-1). libxml2 refuses values of more than 24
//! significant digits; this crate accepts them, as the schema says.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![warn(clippy::use_self, unused_qualifications)]

#[macro_use]
mod common;
mod error;
#[cfg(feature = "fetch")]
mod fetch;
mod gnl;
mod index;
mod ocl;
mod publication;
mod scan;
mod ser;
mod store;
mod whl;
mod xml;
mod zal;

pub use error::{
    ErrorKind, FacetViolation, InvalidValue, ParseError, ParseErrors, Position, ReadError, RuleId,
};
#[cfg(feature = "fetch")]
pub use fetch::{
    DEFAULT_FETCH_TIMEOUT, DEFAULT_JITTER, DEFAULT_LIST_INTERVAL, DEFAULT_RETRY_INITIAL,
    DEFAULT_WHITELIST_INTERVAL, FetchError, HttpSource, ListSource, RefreshError, RefreshEvent,
    RefreshSettings, Refresher, SettingsError,
};
pub use gnl::{GegevensdienstNaam, Gegevensdienstnamenlijst, GnlRelease};
/// The list values are the shared MedMij vocabulary of `medmij-types`,
/// re-exported here so that a user of the lists needs one import path.
pub use medmij_types::{
    Aanbiedertype, BACK_CHANNEL_URI_PATTERN, BackChannelUri, FRONT_CHANNEL_URI_PATTERN,
    FrontChannelUri, GegevensdienstId, HOSTNAME_PATTERN, Hostname, INTERFACEVERSIE_ID_PATTERN,
    InterfaceversieId, MaximaleDuur, OAuthclientOrganisatienaam, ReleaseLine, Systeemrolcode,
    Tijdstempel, Volgnummer, Weergavenaam, ZORGAANBIEDERNAAM_PATTERN, Zorgaanbiedernaam,
};
pub use ocl::{OAuthclient, OAuthclientlist, OclRelease};
pub use publication::{
    ListEntry, PublicationChecks, PublicationRefused, QualificationRegistry, Qualifications,
    Violation, ViolationKind,
};
pub use store::{
    ArchiveSink, DirArchive, Freshness, GRACE, Installed, ListStore, NoArchive, StoreError,
    StoreEvent,
};
pub use whl::{Whitelist, WhlRelease};
pub use zal::{
    Abonneren, Gegevensdienst, Interface, Interfaceversie, ReleaseLines, Systeemrol, ZalRelease,
    Zorgaanbieder, Zorgaanbiederslijst,
};

use std::io::Read;
use std::time::Duration;

/// Limits for hostile input (MedMij LISTS-7: a list that fails is not used).
///
/// The defaults admit the largest real lists with room to spare (a ZAL of
/// 50,000 providers is about 110 MB).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseOptions {
    /// Largest accepted input in bytes. Default 512 MiB.
    pub max_input_size: usize,
    /// Deepest element nesting. The schemas nest at most 7 deep, so any
    /// value of 7 or more accepts every valid list. Default 32.
    pub max_depth: usize,
    /// Most occurrences of one repeated element within one parent (e.g.
    /// Zorgaanbieders in the list, Gegevensdiensten in a Zorgaanbieder).
    /// Default 1,000,000.
    pub max_entries: usize,
    /// Most value and uniqueness errors collected before giving up.
    /// Default 100.
    pub max_errors: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            max_input_size: 512 * 1024 * 1024,
            max_depth: 32,
            max_entries: 1_000_000,
            max_errors: 100,
        }
    }
}

impl ParseOptions {
    /// Sets [`ParseOptions::max_input_size`].
    #[must_use]
    pub fn max_input_size(mut self, bytes: usize) -> Self {
        self.max_input_size = bytes;
        self
    }
    /// Sets [`ParseOptions::max_depth`].
    #[must_use]
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }
    /// Sets [`ParseOptions::max_entries`].
    #[must_use]
    pub fn max_entries(mut self, entries: usize) -> Self {
        self.max_entries = entries;
        self
    }
    /// Sets [`ParseOptions::max_errors`] (at least 1).
    #[must_use]
    pub fn max_errors(mut self, errors: usize) -> Self {
        self.max_errors = errors.max(1);
        self
    }
}

/// A list model that is not consistent with the rules (when building a list
/// in code rather than parsing it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A collection that needs at least one element is empty.
    #[error("{element} needs at least one entry (MedMij {rule})")]
    Empty {
        /// The element.
        element: &'static str,
        /// The rule.
        rule: RuleId,
    },
    /// A value that must be unique occurs twice.
    #[error("duplicate {element} {value:?} (MedMij {rule})")]
    Duplicate {
        /// The element.
        element: &'static str,
        /// The value.
        value: String,
        /// The rule.
        rule: RuleId,
    },
    /// A part of the model that the list's release cannot express (e.g. an
    /// Aanbiedertype in a release2 ZAL, MedMij LISTS-15).
    #[error("{element} cannot be written in {release} (MedMij {rule})")]
    NotInRelease {
        /// What does not fit.
        element: &'static str,
        /// The release, e.g. `release2`.
        release: &'static str,
        /// The rule that defines the release's structure.
        rule: RuleId,
    },
}

/// Refuses a model whose `keys` repeat (LISTS-2, LISTS-4, LISTS-5, LISTS-6,
/// LISTS-15), for lists
/// built in code rather than parsed.
fn unique_keys<'a>(
    element: &'static str,
    rule: RuleId,
    keys: impl Iterator<Item = &'a str>,
) -> Result<(), ModelError> {
    let mut seen = index::KeySet::default();
    for k in keys {
        if seen.insert(k, 0).is_some() {
            return Err(ModelError::Duplicate {
                element,
                value: k.to_owned(),
                rule,
            });
        }
    }
    Ok(())
}

/// An error for states the driver rules out (a list without its header
/// after a successful run). Reported rather than panicking.
fn internal_error() -> ParseErrors {
    ParseErrors(vec![ParseError {
        kind: ErrorKind::Malformed("internal error: list header missing after validation".into()),
        rule: RuleId::Lists7,
        position: Position::default(),
        path: String::new(),
    }])
}

/// Which of the four lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ListKind {
    /// Zorgaanbiederslijst.
    Zal,
    /// OAuth Client List.
    Ocl,
    /// Gegevensdienstnamenlijst.
    Gnl,
    /// Whitelist.
    Whl,
}

impl ListKind {
    /// The short name: `ZAL`, `OCL`, `GNL` or `WHL`.
    pub fn short_name(self) -> &'static str {
        match self {
            Self::Zal => "ZAL",
            Self::Ocl => "OCL",
            Self::Gnl => "GNL",
            Self::Whl => "WHL",
        }
    }

    /// The root element name.
    pub fn root_element(self) -> &'static str {
        match self {
            Self::Zal => "Zorgaanbiederslijst",
            Self::Ocl => "OAuthclientlist",
            Self::Gnl => "Gegevensdienstnamenlijst",
            Self::Whl => "Whitelist",
        }
    }

    /// How old the list in force may get before a gateway must have fetched
    /// a newer one (MedMij LISTS-8): the Whitelist hourly, the others daily.
    pub fn max_age(self) -> Duration {
        match self {
            Self::Whl => Duration::from_secs(3600),
            _ => Duration::from_secs(24 * 3600),
        }
    }

    /// The namespaces of every supported release of this list.
    pub fn namespaces(self) -> Vec<&'static str> {
        match self {
            Self::Zal => ZalRelease::ALL.iter().map(|r| r.namespace()).collect(),
            Self::Ocl => OclRelease::ALL.iter().map(|r| r.namespace()).collect(),
            Self::Gnl => GnlRelease::ALL.iter().map(|r| r.namespace()).collect(),
            Self::Whl => WhlRelease::ALL.iter().map(|r| r.namespace()).collect(),
        }
    }
}

impl std::fmt::Display for ListKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.short_name())
    }
}

/// What the four list types have in common; [`ListStore`] works with any.
pub trait MedMijList: Sized + PartialEq + Send + Sync + 'static {
    /// Which list this is.
    const KIND: ListKind;
    /// Parses and fully validates the list.
    fn parse(input: &[u8], opts: &ParseOptions) -> Result<Self, ParseErrors>;
    /// The Tijdstempel.
    fn tijdstempel(&self) -> &Tijdstempel;
    /// The Volgnummer.
    fn volgnummer(&self) -> &Volgnummer;
    /// The XML form.
    fn to_xml(&self) -> String;

    /// Reads the list from `reader` (at most `opts.max_input_size` bytes)
    /// and parses it. The bytes are read into one buffer, then validated in
    /// one streaming pass; a list store keeps those exact bytes for its
    /// archive (LISTS-11).
    fn from_reader<R: Read>(reader: R, opts: &ParseOptions) -> Result<Self, ReadError> {
        let bytes = read_limited(reader, opts.max_input_size)?;
        Ok(Self::parse(&bytes, opts)?)
    }
}

/// Reads at most `limit` bytes; one more is an error ([`ErrorKind::TooLarge`]).
pub fn read_limited<R: Read>(reader: R, limit: usize) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    reader.take(cap).read_to_end(&mut bytes)?;
    if bytes.len() > limit {
        return Err(ReadError::Invalid(ParseErrors(vec![ParseError {
            kind: ErrorKind::TooLarge { limit },
            rule: RuleId::Lists7,
            position: Position::default(),
            path: String::new(),
        }])));
    }
    Ok(bytes)
}

macro_rules! impl_list {
    ($t:ty, $kind:expr) => {
        impl MedMijList for $t {
            const KIND: ListKind = $kind;
            fn parse(input: &[u8], opts: &ParseOptions) -> Result<Self, ParseErrors> {
                <$t>::from_bytes_with(input, opts)
            }
            fn tijdstempel(&self) -> &Tijdstempel {
                <$t>::tijdstempel(self)
            }
            fn volgnummer(&self) -> &Volgnummer {
                <$t>::volgnummer(self)
            }
            fn to_xml(&self) -> String {
                <$t>::to_xml(self)
            }
        }
    };
}

impl_list!(Zorgaanbiederslijst, ListKind::Zal);
impl_list!(OAuthclientlist, ListKind::Ocl);
impl_list!(Gegevensdienstnamenlijst, ListKind::Gnl);
impl_list!(Whitelist, ListKind::Whl);

/// Any of the four lists, as [`parse_any`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyList {
    /// A Zorgaanbiederslijst.
    Zal(Zorgaanbiederslijst),
    /// An OAuth Client List.
    Ocl(OAuthclientlist),
    /// A Gegevensdienstnamenlijst.
    Gnl(Gegevensdienstnamenlijst),
    /// A Whitelist.
    Whl(Whitelist),
}

impl AnyList {
    /// Which list this is.
    pub fn kind(&self) -> ListKind {
        match self {
            Self::Zal(_) => ListKind::Zal,
            Self::Ocl(_) => ListKind::Ocl,
            Self::Gnl(_) => ListKind::Gnl,
            Self::Whl(_) => ListKind::Whl,
        }
    }
    /// The Tijdstempel.
    pub fn tijdstempel(&self) -> &Tijdstempel {
        match self {
            Self::Zal(l) => l.tijdstempel(),
            Self::Ocl(l) => l.tijdstempel(),
            Self::Gnl(l) => l.tijdstempel(),
            Self::Whl(l) => l.tijdstempel(),
        }
    }
    /// The Volgnummer.
    pub fn volgnummer(&self) -> &Volgnummer {
        match self {
            Self::Zal(l) => l.volgnummer(),
            Self::Ocl(l) => l.volgnummer(),
            Self::Gnl(l) => l.volgnummer(),
            Self::Whl(l) => l.volgnummer(),
        }
    }
    /// The XML form.
    pub fn to_xml(&self) -> String {
        match self {
            Self::Zal(l) => l.to_xml(),
            Self::Ocl(l) => l.to_xml(),
            Self::Gnl(l) => l.to_xml(),
            Self::Whl(l) => l.to_xml(),
        }
    }
}

/// Parses whichever of the four lists `input` is, by its root element and
/// namespace.
pub fn parse_any(input: &[u8], opts: &ParseOptions) -> Result<AnyList, ParseErrors> {
    let (driver, root) = xml::Driver::new(input, opts)?;
    let ns = root.namespace.as_deref();
    let is = |k: ListKind| {
        root.local == k.root_element() && k.namespaces().iter().any(|n| Some(*n) == ns)
    };
    if is(ListKind::Zal) {
        Zorgaanbiederslijst::from_driver(driver, &root).map(AnyList::Zal)
    } else if is(ListKind::Ocl) {
        OAuthclientlist::from_driver(driver, &root).map(AnyList::Ocl)
    } else if is(ListKind::Gnl) {
        Gegevensdienstnamenlijst::from_driver(driver, &root).map(AnyList::Gnl)
    } else if is(ListKind::Whl) {
        Whitelist::from_driver(driver, &root).map(AnyList::Whl)
    } else {
        Err(ParseErrors(vec![ParseError {
            kind: ErrorKind::UnknownRoot {
                name: root.local,
                namespace: root.namespace,
            },
            rule: RuleId::Lists7,
            position: Position::locate(input, root.offset),
            path: String::new(),
        }]))
    }
}
