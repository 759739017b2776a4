//! The OAuth scope of a MedMij flow (OAUTH-5) and the use case it belongs
//! to (OAUTH-13).

use crate::names::{ScopeGegevensdienstId, Zorgaanbiedernaam};
use crate::{FacetViolation, InvalidValue, RuleId};
use std::fmt;
use std::sync::Arc;

/// What is wrong with a scope string (MedMij OAUTH-5). Pair numbers are
/// 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// The scope is empty.
    #[error("the scope is empty")]
    Empty,
    /// Pairs must be separated by exactly one space, without leading or
    /// trailing space.
    #[error("pairs must be separated by single spaces, with no leading or trailing space")]
    Separator,
    /// A pair has no `~` between the Zorgaanbieder and the GegevensdienstId.
    #[error("pair {0} has no `~` between Zorgaanbieder and GegevensdienstId")]
    MissingTilde(usize),
    /// The Zorgaanbieder part of a pair is not the `[a-z]+` of a valid
    /// Zorgaanbiedernaam.
    #[error("pair {0}: the Zorgaanbieder part is not a valid Zorgaanbiedernaam without @medmij")]
    Zorgaanbieder(usize),
    /// The GegevensdienstId part of a pair is invalid.
    #[error("pair {0}: the GegevensdienstId part is invalid")]
    Gegevensdienst(usize),
    /// Several pairs name different Zorgaanbieders (release 1.5 requires one).
    #[error("pair {0} names a different Zorgaanbieder than pair 1")]
    MixedZorgaanbieders(usize),
    /// The same GegevensdienstId appears twice.
    #[error("pair {0} repeats a GegevensdienstId")]
    Duplicate(usize),
    /// More than one pair where exactly one is allowed (Delen, or releases
    /// before 1.5).
    #[error("exactly one `naam~id` pair is allowed here, found {0}")]
    TooManyPairs(usize),
}

/// Which scope shapes a parser accepts (MedMij OAUTH-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScopeForm {
    /// Exactly one `naam~id` pair: UCI Delen always, UCI Verzamelen before
    /// release 1.5.
    Single,
    /// One or more pairs of one Zorgaanbieder separated by single spaces
    /// (UCI Verzamelen from release 1.5).
    Multiple,
}

/// An OAuth scope in the MedMij form `<zorgaanbiedernaam without
/// @medmij>~<GegevensdienstId>` (MedMij OAUTH-5): one Zorgaanbieder and one
/// or more of its Gegevensdiensten. Cheap to clone (shared).
///
/// ```
/// use medmij_types::{Scope, ScopeForm};
/// let s = Scope::parse("umcharderwijk~4", ScopeForm::Single).unwrap();
/// assert_eq!(s.to_string(), "umcharderwijk~4");
/// assert_eq!(s.zorgaanbieder().as_str(), "umcharderwijk@medmij");
/// // Release 1.5 multi-pair form, only where switched on:
/// assert!(Scope::parse("umcharderwijk~1 umcharderwijk~3", ScopeForm::Single).is_err());
/// assert!(Scope::parse("umcharderwijk~1 umcharderwijk~3", ScopeForm::Multiple).is_ok());
/// assert!(Scope::parse("umcharderwijk~1 anderziekenhuis~3", ScopeForm::Multiple).is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Scope(Arc<ScopeInner>);

/// Shared, immutable contents of a [`Scope`].
#[derive(PartialEq, Eq, Hash)]
struct ScopeInner {
    zorgaanbieder: Zorgaanbiedernaam,
    gegevensdiensten: Vec<ScopeGegevensdienstId>,
    /// The canonical text, `naam~id naam~id`; shared, so that a token answer can carry it
    /// without a copy ([`Scope::shared_text`]).
    text: Arc<str>,
}

impl Scope {
    fn build(
        zorgaanbieder: Zorgaanbiedernaam,
        gegevensdiensten: Vec<ScopeGegevensdienstId>,
    ) -> Self {
        let naam = zorgaanbieder.scope_part();
        // The exact length, so that the text is written in one allocation (a
        // capacity only: cargo-mutants leaves the arguments of `with_capacity` alone).
        let mut text = String::with_capacity(
            gegevensdiensten
                .iter()
                .map(|g| naam.len() + 1 + g.as_str().len())
                .sum::<usize>()
                + gegevensdiensten.len().saturating_sub(1),
        );
        for (i, g) in gegevensdiensten.iter().enumerate() {
            if i > 0 {
                text.push(' ');
            }
            text.push_str(naam);
            text.push('~');
            text.push_str(g.as_str());
        }
        Self(Arc::new(ScopeInner {
            zorgaanbieder,
            gegevensdiensten,
            text: Arc::from(text),
        }))
    }

    /// A scope of exactly one pair.
    pub fn single(zorgaanbieder: Zorgaanbiedernaam, gegevensdienst: ScopeGegevensdienstId) -> Self {
        Self::build(zorgaanbieder, vec![gegevensdienst])
    }

    /// A scope of one or more pairs of one Zorgaanbieder (release 1.5);
    /// repeated ids are kept once. `None` if `gegevensdiensten` is empty.
    pub fn several(
        zorgaanbieder: Zorgaanbiedernaam,
        gegevensdiensten: impl IntoIterator<Item = ScopeGegevensdienstId>,
    ) -> Option<Self> {
        let mut ids: Vec<ScopeGegevensdienstId> = Vec::new();
        for id in gegevensdiensten {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        (!ids.is_empty()).then(|| Self::build(zorgaanbieder, ids))
    }

    /// The canonical text (MedMij OAUTH-5).
    pub fn as_str(&self) -> &str {
        &self.0.text
    }

    /// Parses a scope string. Pairs are separated by exactly one space (RFC
    /// 6749 3.3).
    pub fn parse(s: &str, form: ScopeForm) -> Result<Self, ScopeError> {
        if s.is_empty() {
            return Err(ScopeError::Empty);
        }
        let mut zorgaanbieder: Option<Zorgaanbiedernaam> = None;
        let mut gegevensdiensten: Vec<ScopeGegevensdienstId> = Vec::with_capacity(1);
        for (i, pair) in s.split(' ').enumerate() {
            let n = i + 1;
            if pair.is_empty() {
                return Err(ScopeError::Separator);
            }
            let (naam, id) = pair.split_once('~').ok_or(ScopeError::MissingTilde(n))?;
            let id = ScopeGegevensdienstId::new(id).map_err(|_| ScopeError::Gegevensdienst(n))?;
            match &zorgaanbieder {
                None => {
                    zorgaanbieder = Some(
                        Zorgaanbiedernaam::from_scope_part(naam)
                            .map_err(|_| ScopeError::Zorgaanbieder(n))?,
                    );
                }
                Some(z) if z.scope_part() == naam => {}
                Some(_) => {
                    if Zorgaanbiedernaam::from_scope_part(naam).is_err() {
                        return Err(ScopeError::Zorgaanbieder(n));
                    }
                    return Err(ScopeError::MixedZorgaanbieders(n));
                }
            }
            if gegevensdiensten.contains(&id) {
                return Err(ScopeError::Duplicate(n));
            }
            gegevensdiensten.push(id);
        }
        if form == ScopeForm::Single && gegevensdiensten.len() != 1 {
            return Err(ScopeError::TooManyPairs(gegevensdiensten.len()));
        }
        Ok(Self::build(
            zorgaanbieder.ok_or(ScopeError::Empty)?,
            gegevensdiensten,
        ))
    }

    /// The canonical text as a shared string: the same text as [`Scope::as_str`], without
    /// a copy (the token endpoint's `scope`, MedMij OAUTH-5).
    pub fn shared_text(&self) -> Arc<str> {
        Arc::clone(&self.0.text)
    }

    /// The one Zorgaanbieder this scope is about.
    pub fn zorgaanbieder(&self) -> &Zorgaanbiedernaam {
        &self.0.zorgaanbieder
    }

    /// The Gegevensdiensten, in the order of the request; never empty.
    pub fn gegevensdiensten(&self) -> &[ScopeGegevensdienstId] {
        &self.0.gegevensdiensten
    }

    /// True if the scope covers this Gegevensdienst of this Zorgaanbieder.
    #[must_use]
    pub fn covers(&self, zorgaanbieder: &Zorgaanbiedernaam, id: &ScopeGegevensdienstId) -> bool {
        &self.0.zorgaanbieder == zorgaanbieder && self.0.gegevensdiensten.contains(id)
    }

    /// True if both scopes name the same Zorgaanbieder and the same set of
    /// Gegevensdiensten (order does not matter, RFC 6749 3.3).
    #[must_use]
    pub fn same_as(&self, other: &Self) -> bool {
        self.0.zorgaanbieder == other.0.zorgaanbieder
            && self.0.gegevensdiensten.len() == other.0.gegevensdiensten.len()
            && self
                .0
                .gegevensdiensten
                .iter()
                .all(|g| other.0.gegevensdiensten.contains(g))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.text)
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({:?})", self.0.text)
    }
}

impl AsRef<str> for Scope {
    fn as_ref(&self) -> &str {
        &self.0.text
    }
}

/// Parses the widest 1.x form, [`ScopeForm::Multiple`]; use
/// [`Scope::parse`] to choose the form.
impl std::str::FromStr for Scope {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        Self::parse(s, ScopeForm::Multiple)
            .map_err(|e| InvalidValue::new("Scope", s, FacetViolation::Scope(e), RuleId::Oauth5))
    }
}

impl TryFrom<&str> for Scope {
    type Error = InvalidValue;
    fn try_from(s: &str) -> Result<Self, InvalidValue> {
        s.parse()
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The two use cases whose OAuth flows MedMij defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum UseCase {
    /// UCI Verzamelen: the PGO collects (reads) data from a Bron; consent is
    /// a Toestemming (CONSENT-1).
    Verzamelen,
    /// UCI Delen: the PGO shares (writes) data to a Lezer; the person gives
    /// a Bevestiging (CONSENT-2, OAUTH-13).
    Delen,
}

#[cfg(test)]
mod oauth_5 {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_malformed_shape_has_its_error() {
        use ScopeError::*;
        for (s, want) in [
            ("", Empty),
            ("umcharderwijk~1  umcharderwijk~2", Separator),
            (" umcharderwijk~1", Separator),
            ("umcharderwijk~1 ", Separator),
            ("umcharderwijk-1", MissingTilde(1)),
            ("UMC~1", Zorgaanbieder(1)),
            ("umcharderwijk~", Gegevensdienst(1)),
            ("umcharderwijk~1 ab~2", Zorgaanbieder(2)),
            ("umcharderwijk~1 anderziekenhuis~2", MixedZorgaanbieders(2)),
            ("umcharderwijk~1 umcharderwijk~1", Duplicate(2)),
        ] {
            assert_eq!(Scope::parse(s, ScopeForm::Multiple), Err(want), "{s:?}");
        }
        assert_eq!(
            Scope::parse("umcharderwijk~1 umcharderwijk~2", ScopeForm::Single),
            Err(TooManyPairs(2))
        );
    }

    fn naam(s: &str) -> Zorgaanbiedernaam {
        Zorgaanbiedernaam::new(s).unwrap()
    }

    fn id(s: &str) -> ScopeGegevensdienstId {
        ScopeGegevensdienstId::new(s).unwrap()
    }

    #[test]
    fn one_pair_is_the_single_form() {
        let s = Scope::parse("umcharderwijk~4", ScopeForm::Single).unwrap();
        assert_eq!(s.as_str(), "umcharderwijk~4");
        assert_eq!(s.zorgaanbieder().as_str(), "umcharderwijk@medmij");
        assert_eq!(s.gegevensdiensten(), [id("4")]);
        assert_eq!(s, Scope::single(naam("umcharderwijk@medmij"), id("4")));
        let s = Scope::parse("umcharderwijk~4 umcharderwijk~49", ScopeForm::Multiple).unwrap();
        assert_eq!(s.gegevensdiensten(), [id("4"), id("49")]);
    }

    #[test]
    fn the_scope_is_shown_as_its_canonical_text() {
        let s =
            Scope::several(naam("umcharderwijk@medmij"), [id("49"), id("4"), id("49")]).unwrap();
        assert_eq!(s.to_string(), "umcharderwijk~49 umcharderwijk~4");
        assert_eq!(s.as_ref(), "umcharderwijk~49 umcharderwijk~4");
        assert_eq!(&*s.shared_text(), "umcharderwijk~49 umcharderwijk~4");
        assert_eq!(s.gegevensdiensten(), [id("49"), id("4")]);
        assert_eq!(Scope::several(naam("umcharderwijk@medmij"), []), None);
    }

    #[test]
    fn text_parses_in_the_multiple_form_and_errors_name_oauth_5() {
        let s: Scope = "umcharderwijk~1 umcharderwijk~3".parse().unwrap();
        assert_eq!(s.gegevensdiensten(), [id("1"), id("3")]);
        assert_eq!(
            Scope::try_from("umcharderwijk~1").unwrap().as_str(),
            "umcharderwijk~1"
        );
        let err = "umcharderwijk~1 anderziekenhuis~3"
            .parse::<Scope>()
            .unwrap_err();
        assert_eq!(err.type_name, "Scope");
        assert_eq!(err.rule, RuleId::Oauth5);
        assert_eq!(
            err.violation,
            FacetViolation::Scope(ScopeError::MixedZorgaanbieders(2))
        );
        assert!(Scope::try_from("umcharderwijk").is_err());
    }

    #[test]
    fn covers_one_gegevensdienst_of_its_own_zorgaanbieder() {
        let s = Scope::parse("umcharderwijk~1 umcharderwijk~3", ScopeForm::Multiple).unwrap();
        let umc = naam("umcharderwijk@medmij");
        let ander = naam("anderziekenhuis@medmij");
        assert!(s.covers(&umc, &id("1")));
        assert!(s.covers(&umc, &id("3")));
        assert!(!s.covers(&umc, &id("2")));
        assert!(!s.covers(&ander, &id("1")));
    }

    #[test]
    fn same_as_compares_the_zorgaanbieder_and_the_set() {
        let p = |t: &str| Scope::parse(t, ScopeForm::Multiple).unwrap();
        assert!(
            p("umcharderwijk~1 umcharderwijk~3").same_as(&p("umcharderwijk~3 umcharderwijk~1"))
        );
        assert!(!p("umcharderwijk~1").same_as(&p("anderziekenhuis~1")));
        assert!(!p("umcharderwijk~1").same_as(&p("umcharderwijk~1 umcharderwijk~3")));
        assert!(!p("umcharderwijk~1 umcharderwijk~3").same_as(&p("umcharderwijk~1")));
        assert!(
            !p("umcharderwijk~1 umcharderwijk~3").same_as(&p("umcharderwijk~1 umcharderwijk~2"))
        );
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_is_the_text_and_deserializing_checks() {
        let s = Scope::parse("umcharderwijk~1 umcharderwijk~3", ScopeForm::Multiple).unwrap();
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            "\"umcharderwijk~1 umcharderwijk~3\""
        );
        let back: Scope = serde_json::from_str("\"umcharderwijk~1 umcharderwijk~3\"").unwrap();
        assert_eq!(back, s);
        assert!(serde_json::from_str::<Scope>("\"umcharderwijk~1 ab~3\"").is_err());
    }

    proptest! {
        /// The canonical text parses back to the same scope, whatever ids
        /// the pairs carry.
        #[test]
        fn canonical_text_round_trips(
            naam in "[a-z]{3,50}",
            ids in proptest::collection::btree_set("[!-~&&[^\"\\\\ ]]{1,30}", 1..5),
        ) {
            let z = Zorgaanbiedernaam::from_scope_part(&naam).unwrap();
            let ids: Vec<_> = ids.iter().map(|i| ScopeGegevensdienstId::new(i).unwrap()).collect();
            let scope = Scope::several(z.clone(), ids.clone()).unwrap();
            prop_assert_eq!(&*scope.shared_text(), scope.as_str());
            let back = Scope::parse(scope.as_str(), ScopeForm::Multiple).unwrap();
            prop_assert_eq!(&*back.shared_text(), scope.as_str());
            prop_assert_eq!(&back, &scope);
            prop_assert!(back.same_as(&scope));
            for id in &ids {
                prop_assert!(back.covers(&z, id));
            }
        }
    }
}
