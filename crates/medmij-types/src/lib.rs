//! The shared MedMij vocabulary, as `rustls-pki-types` is for the rustls
//! ecosystem: one definition of every MedMij noun that more than one of the
//! medmij-rs crates uses, and [`RuleId`], one variant per rule of the
//! rulebook. The five crates (medmij-lists, medmij-oauth, medmij-tls,
//! medmij-consent, medmij-log) depend on this crate and on no other crate
//! of ours, so a value crosses a crate boundary as the same type, never as
//! a string to parse again.
//!
//! Every noun is a newtype whose constructor checks every facet of its
//! type, and that the value holds only characters XML 1.0 can carry (no
//! list could hold another, MedMij LISTS-7): an invalid value cannot be
//! constructed. They all offer the same
//! set: `new(&str)`, `as_str()`, `RULE` (the rule that defines the type),
//! `FromStr`, `TryFrom<&str>`, `TryFrom<String>`, `AsRef<str>`, `Display`,
//! `Debug`, comparison with `str`, and, with the feature `serde`,
//! `Serialize`/`Deserialize` as the text (deserializing validates). A
//! refused value is an [`InvalidValue`]: the type, the value, what is wrong
//! and the rule.
//!
//! This crate has no behaviour beyond validation.
//!
//! ```
//! use medmij_types::*;
//!
//! let naam: Zorgaanbiedernaam = "umcharderwijk@medmij".parse()?;
//! let id = GegevensdienstId::new("4")?;
//! // The scope form of an id is stricter (a scope token): convert explicitly.
//! let scope = Scope::single(naam.clone(), ScopeGegevensdienstId::try_from(&id)?);
//! assert_eq!(scope.as_str(), "umcharderwijk~4");
//!
//! let client = ClientId::new("pgo.example.nl")?; // = Hostname (OAUTH-3)
//! let token_uri = BackChannelUri::new("https://za.example.nl:8443/oauth/token")?;
//! assert_eq!((token_uri.host(), token_uri.port()), ("za.example.nl", Some(8443)));
//!
//! let err = Hostname::new("Localhost").unwrap_err();
//! assert_eq!(err.rule, RuleId::Lists4);
//! # let _ = client;
//! # Ok::<(), InvalidValue>(())
//! ```
//!
//! # Rules and items
//!
//! | rule | item |
//! |---|---|
//! | every rule | [`RuleId`] (one variant each), [`ReleaseLine`], [`RuleGroup`] |
//! | LISTS-1 | [`Zorgaanbiedernaam`], [`GegevensdienstId`], [`Systeemrolcode`], [`Tijdstempel`], [`Volgnummer`] |
//! | LISTS-3 | [`FrontChannelUri`], [`BackChannelUri`] (and [`BackChannelUri::port`] for the usable port range) |
//! | LISTS-4 | [`Hostname`], [`ClientId`], [`OAuthclientOrganisatienaam`] |
//! | LISTS-5 | [`Weergavenaam`] |
//! | LISTS-6 | [`Hostname`] |
//! | LISTS-7 | [`first_non_xml_char`], [`is_xml_char`] (the one scan for characters XML 1.0 does not allow, which medmij-lists runs over a list's text); every text noun's `new` (and each door in: `FromStr`, `TryFrom`, serde) refuses such a character, as [`FacetViolation::Character`]: no list could hold it |
//! | LISTS-9 | [`Volgnummer`]'s order (by value, any size) |
//! | LISTS-15 | [`Aanbiedertype`], [`InterfaceversieId`] (and [`InterfaceversieId::release_line`]), [`MaximaleDuur`] (provisional forms) |
//! | OAUTH-3 | [`ClientId`] |
//! | OAUTH-5 | [`Scope`], [`ScopeForm`], [`ScopeError`], [`ScopeGegevensdienstId`] |
//! | OAUTH-13 | [`UseCase`] |
//! | OAUTH-21 | [`RequestId`] (`MedMij-Request-ID`), [`CorrelationId`] (`X-Correlation-ID`), [`UUID_V4_PATTERN`] |
//! | LOG-1 | [`rfc3339`] (the time form of log entries and records) |
//!
//! The hand-optimised pattern checks of LISTS-3 and LISTS-4 and the LISTS-7
//! character scan live in one module (`scan`) with differential property
//! tests against the straightforward checks they replace.

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

pub mod rfc3339;

mod error;
mod list;
mod names;
mod newtype;
mod rule;
mod scan;
mod scope;
mod tracing;
mod zal3;

pub use error::{FacetViolation, InvalidValue};
pub use list::{Tijdstempel, Volgnummer};
pub use names::{
    BACK_CHANNEL_URI_PATTERN, BackChannelUri, ClientId, FRONT_CHANNEL_URI_PATTERN, FrontChannelUri,
    GegevensdienstId, HOSTNAME_PATTERN, Hostname, OAuthclientOrganisatienaam,
    ScopeGegevensdienstId, Systeemrolcode, Weergavenaam, ZORGAANBIEDERNAAM_PATTERN,
    Zorgaanbiedernaam,
};
pub use rule::{ReleaseLine, RuleGroup, RuleId, UnknownRule};
pub use scan::{first_non_xml_char, is_xml_char};
pub use scope::{Scope, ScopeError, ScopeForm, UseCase};
pub use tracing::{CorrelationId, RequestId, UUID_V4_PATTERN};
pub use zal3::{Aanbiedertype, INTERFACEVERSIE_ID_PATTERN, InterfaceversieId, MaximaleDuur};
