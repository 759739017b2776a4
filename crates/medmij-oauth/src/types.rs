//! Validated MedMij and OAuth values: client identity, Zorgaanbieder, Gegevensdienst,
//! scope, `state` and the authenticated subject.

use std::fmt;
use std::sync::Arc;

/// Why a value was refused by one of the parsers in this module.
///
/// Every variant names the rule it enforces, so that the person reading an error
/// (or a log line) can look it up in the MedMij rulebook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// `client_id` is not a hostname of the OCL form (MedMij LISTS-4, OAUTH-3).
    #[error("client_id is not a valid OCL hostname (MedMij LISTS-4, OAUTH-3)")]
    ClientId,
    /// A Zorgaanbiedernaam must be 10..57 characters matching `([a-z])+@medmij` (MedMij LISTS-1).
    #[error(
        "Zorgaanbiedernaam must be 10..57 characters of the form `([a-z])+@medmij` (MedMij LISTS-1)"
    )]
    Zorgaanbiedernaam,
    /// A GegevensdienstId must be 1..30 visible ASCII characters usable in a scope token
    /// (MedMij LISTS-1, RFC 6749 3.3).
    #[error(
        "GegevensdienstId must be 1..30 characters allowed in an OAuth scope token (MedMij LISTS-1, RFC 6749 3.3)"
    )]
    GegevensdienstId,
    /// The scope is malformed; the payload says how (MedMij OAUTH-5).
    #[error("scope: {0} (MedMij OAUTH-5)")]
    Scope(ScopeError),
    /// `state` must be 1..512 characters of RFC 6749 VSCHAR (MedMij OAUTH-10).
    #[error("state must be 1..512 printable ASCII characters (MedMij OAUTH-10, RFC 6749 A.5)")]
    State,
    /// A subject must be a non-empty opaque identifier.
    #[error("subject must not be empty")]
    Subject,
}

/// What is wrong with a scope string (MedMij OAUTH-5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// The scope is empty.
    #[error("the scope is empty")]
    Empty,
    /// Pairs must be separated by exactly one space, without leading or trailing space.
    #[error("pairs must be separated by single spaces, with no leading or trailing space")]
    Separator,
    /// A pair has no `~` between the Zorgaanbieder and the GegevensdienstId.
    #[error("pair {0} has no `~` between Zorgaanbieder and GegevensdienstId")]
    MissingTilde(usize),
    /// The Zorgaanbieder part of a pair is not `[a-z]+` of a valid Zorgaanbiedernaam.
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
    /// More than one pair where exactly one is allowed (Delen, or releases before 1.5).
    #[error("exactly one `naam~id` pair is allowed here, found {0}")]
    TooManyPairs(usize),
}

/// The OAuth `client_id` of a PGO gateway: its hostname on the OCL, which is also
/// the DNS name in its PKIoverheid certificate (MedMij OAUTH-3, LISTS-4).
///
/// ```
/// use medmij_oauth::ClientId;
/// assert!(ClientId::parse("pgo.example.nl").is_ok());
/// assert!(ClientId::parse("PGO.example.nl").is_err()); // lowercase only (LISTS-4)
/// assert!(ClientId::parse("localhost").is_err());      // at least one dot
/// ```
#[derive(Clone)]
pub struct ClientId(HostRepr);

/// How a [`ClientId`] keeps its hostname: short ones (most) in place, so that parsing,
/// cloning into every code and token record, and dropping need no allocation and no shared
/// reference count; longer ones shared.
#[derive(Clone)]
enum HostRepr {
    Inline { len: u8, bytes: [u8; INLINE_HOST] },
    Shared(Arc<str>),
}

/// The longest hostname a [`ClientId`] keeps in place (the value is then 24 bytes, like a
/// `String`).
const INLINE_HOST: usize = 22;

impl ClientId {
    /// Parses a hostname per the LISTS-4 pattern
    /// `(([a-z0-9])([a-z0-9-])*(\.))+([a-z0-9])([a-z0-9-])*([a-z0-9])`, at most 253 characters.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        if !is_ocl_hostname(s) {
            return Err(ValueError::ClientId);
        }
        Ok(ClientId(match u8::try_from(s.len()) {
            Ok(len) if s.len() <= INLINE_HOST => {
                let mut bytes = [0u8; INLINE_HOST];
                bytes[..s.len()].copy_from_slice(s.as_bytes());
                HostRepr::Inline { len, bytes }
            }
            _ => HostRepr::Shared(Arc::from(s)),
        }))
    }

    /// The hostname.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // The bytes were copied from a `&str` (and are ASCII): this cannot fail.
            HostRepr::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            HostRepr::Shared(s) => s,
        }
    }

    /// The hostname's bytes (without the UTF-8 check [`ClientId::as_str`] makes).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            HostRepr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            HostRepr::Shared(s) => s.as_bytes(),
        }
    }
}

// Equality, order and hash are those of the hostname text, as when the value was an
// `Arc<str>`.
impl PartialEq for ClientId {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for ClientId {}

impl PartialOrd for ClientId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ClientId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl std::hash::Hash for ClientId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // What `str`'s `Hash` writes.
        state.write(self.as_bytes());
        state.write_u8(0xff);
    }
}

/// True when `s` matches the LISTS-4 hostname pattern (whole value).
pub(crate) fn is_ocl_hostname(s: &str) -> bool {
    if s.is_empty() || s.len() > 253 {
        return false;
    }
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    // One pass: every label is non-empty and starts with a letter or digit, then letters,
    // digits and hyphens; at least two labels; the last has two or more characters and ends
    // in a letter or digit.
    let (mut dots, mut label_len, mut prev) = (0usize, 0usize, 0u8);
    for &c in s.as_bytes() {
        if c == b'.' {
            if label_len == 0 {
                return false;
            }
            dots += 1;
            label_len = 0;
        } else if alnum(c) || (c == b'-' && label_len > 0) {
            label_len += 1;
        } else {
            return false;
        }
        prev = c;
    }
    dots >= 1 && label_len >= 2 && alnum(prev)
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientId({:?})", self.as_str())
    }
}

/// The name of a care provider, `<letters>@medmij` (MedMij LISTS-1).
///
/// ```
/// use medmij_oauth::Zorgaanbiedernaam;
/// let z = Zorgaanbiedernaam::parse("umcharderwijk@medmij").unwrap();
/// assert_eq!(z.scope_part(), "umcharderwijk");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Zorgaanbiedernaam(String);

const MEDMIJ_SUFFIX: &str = "@medmij";

impl Zorgaanbiedernaam {
    /// Parses the full name, e.g. `umcharderwijk@medmij`: 10..57 characters matching `([a-z])+@medmij`.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let local = s
            .strip_suffix(MEDMIJ_SUFFIX)
            .ok_or(ValueError::Zorgaanbiedernaam)?;
        Self::from_scope_part(local)
    }

    /// Builds the name from the part used in a scope (`umcharderwijk`), adding `@medmij`.
    pub fn from_scope_part(local: &str) -> Result<Self, ValueError> {
        let len = local.len() + MEDMIJ_SUFFIX.len();
        if !(10..=57).contains(&len) || !local.bytes().all(|c| c.is_ascii_lowercase()) {
            return Err(ValueError::Zorgaanbiedernaam);
        }
        let mut s = String::with_capacity(len);
        s.push_str(local);
        s.push_str(MEDMIJ_SUFFIX);
        Ok(Zorgaanbiedernaam(s))
    }

    /// The full name, `umcharderwijk@medmij`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name without `@medmij`, as written in a scope (MedMij OAUTH-5).
    pub fn scope_part(&self) -> &str {
        &self.0[..self.0.len() - MEDMIJ_SUFFIX.len()]
    }
}

impl fmt::Display for Zorgaanbiedernaam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Zorgaanbiedernaam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zorgaanbiedernaam({:?})", self.0)
    }
}

/// The identifier of a Gegevensdienst (data service), 1..30 characters (MedMij LISTS-1, LISTS-5).
///
/// Inside a scope it must also be a valid RFC 6749 scope-token character string, so this type
/// accepts only visible ASCII other than `"` and `\`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GegevensdienstId(String);

impl GegevensdienstId {
    /// Parses an identifier such as `4`.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let ok = (1..=30).contains(&s.len())
            && s.bytes()
                .all(|c| (0x21..=0x7e).contains(&c) && c != b'"' && c != b'\\');
        if ok {
            Ok(GegevensdienstId(s.to_owned()))
        } else {
            Err(ValueError::GegevensdienstId)
        }
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GegevensdienstId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for GegevensdienstId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GegevensdienstId({:?})", self.0)
    }
}

/// Which scope shapes a parser accepts (MedMij OAUTH-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeForm {
    /// Exactly one `naam~id` pair: UCI Delen always, UCI Verzamelen before release 1.5.
    Single,
    /// One or more pairs of one Zorgaanbieder separated by single spaces (Verzamelen, release 1.5).
    Multiple,
}

/// An OAuth scope in the MedMij form `<zorgaanbiedernaam without @medmij>~<GegevensdienstId>`
/// (MedMij OAUTH-5): one Zorgaanbieder and one or more of its Gegevensdiensten.
///
/// ```
/// use medmij_oauth::{Scope, ScopeForm};
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

/// Shared, immutable contents of a [`Scope`] (cheap to clone: the stores copy scopes a lot).
#[derive(PartialEq, Eq, Hash)]
struct ScopeInner {
    zorgaanbieder: Zorgaanbiedernaam,
    gegevensdiensten: Vec<GegevensdienstId>,
    /// The canonical text, `naam~id naam~id`.
    text: String,
}

impl Scope {
    fn new(zorgaanbieder: Zorgaanbiedernaam, gegevensdiensten: Vec<GegevensdienstId>) -> Self {
        let mut text = String::new();
        for (i, g) in gegevensdiensten.iter().enumerate() {
            if i > 0 {
                text.push(' ');
            }
            text.push_str(zorgaanbieder.scope_part());
            text.push('~');
            text.push_str(g.as_str());
        }
        Scope(Arc::new(ScopeInner {
            zorgaanbieder,
            gegevensdiensten,
            text,
        }))
    }

    /// A scope of exactly one pair.
    pub fn single(zorgaanbieder: Zorgaanbiedernaam, gegevensdienst: GegevensdienstId) -> Self {
        Scope::new(zorgaanbieder, vec![gegevensdienst])
    }

    /// The canonical text (MedMij OAUTH-5).
    pub fn as_str(&self) -> &str {
        &self.0.text
    }

    /// Parses a scope string. Pairs are separated by exactly one space (RFC 6749 3.3).
    pub fn parse(s: &str, form: ScopeForm) -> Result<Self, ScopeError> {
        if s.is_empty() {
            return Err(ScopeError::Empty);
        }
        let mut zorgaanbieder: Option<Zorgaanbiedernaam> = None;
        let mut gegevensdiensten: Vec<GegevensdienstId> = Vec::with_capacity(1);
        for (i, pair) in s.split(' ').enumerate() {
            let n = i + 1;
            if pair.is_empty() {
                return Err(ScopeError::Separator);
            }
            let (naam, id) = pair.split_once('~').ok_or(ScopeError::MissingTilde(n))?;
            let id = GegevensdienstId::parse(id).map_err(|_| ScopeError::Gegevensdienst(n))?;
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
        Ok(Scope::new(
            zorgaanbieder.ok_or(ScopeError::Empty)?,
            gegevensdiensten,
        ))
    }

    /// The one Zorgaanbieder this scope is about.
    pub fn zorgaanbieder(&self) -> &Zorgaanbiedernaam {
        &self.0.zorgaanbieder
    }

    /// The Gegevensdiensten, in the order of the request; never empty.
    pub fn gegevensdiensten(&self) -> &[GegevensdienstId] {
        &self.0.gegevensdiensten
    }

    /// True if the scope covers this Gegevensdienst of this Zorgaanbieder.
    pub fn covers(&self, zorgaanbieder: &Zorgaanbiedernaam, id: &GegevensdienstId) -> bool {
        &self.0.zorgaanbieder == zorgaanbieder && self.0.gegevensdiensten.contains(id)
    }

    /// True if both scopes name the same Zorgaanbieder and the same set of Gegevensdiensten
    /// (order does not matter, RFC 6749 3.3).
    pub fn same_as(&self, other: &Scope) -> bool {
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

/// The two use cases whose OAuth flows this crate implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UseCase {
    /// UCI Verzamelen: the PGO collects (reads) data from a Bron; consent is a Toestemming (CONSENT-1).
    Verzamelen,
    /// UCI Delen: the PGO shares (writes) data to a Lezer; the person gives a Bevestiging
    /// (CONSENT-2, MedMij OAUTH-13).
    Delen,
}

/// The OAuth `state` value (MedMij OAUTH-10): 1..512 characters of RFC 6749 VSCHAR
/// (`%x20-7E`). The AS returns it unchanged; the client checks it.
#[derive(Clone, PartialEq, Eq)]
pub struct State(String);

impl State {
    /// Parses a `state` value.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        if (1..=512).contains(&s.len()) && s.bytes().all(|c| (0x20..=0x7e).contains(&c)) {
            Ok(State(s.to_owned()))
        } else {
            Err(ValueError::State)
        }
    }

    /// The value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The state is a CSRF secret of the person's session: keep it out of logs (MedMij LOG-4).
        f.write_str("State(<redacted>)")
    }
}

/// The person as the authorization server's authenticator identified them: an opaque,
/// server-local identifier (MedMij OAUTH-11: no BSN or other person identifier travels
/// between gateways, the tokens stand for the person).
///
/// `Debug` redacts the value (MedMij LOG-4).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Subject(Arc<str>);

impl Subject {
    /// Wraps a non-empty identifier.
    pub fn new(id: impl Into<String>) -> Result<Self, ValueError> {
        let id = id.into();
        if id.is_empty() {
            Err(ValueError::Subject)
        } else {
            Ok(Subject(Arc::from(id)))
        }
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Subject(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames_follow_lists_4() {
        for ok in ["a.nl", "pgo.example.nl", "x-1.y2.com", "1.22"] {
            assert!(ClientId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "nl", "a.n", "-a.nl", "a..nl", "a.nl.", "A.nl", "a.n-", "a_b.nl", "a.nl:443",
        ] {
            assert_eq!(ClientId::parse(bad), Err(ValueError::ClientId), "{bad}");
        }
    }

    /// The LISTS-4 check as first written (collecting the labels), to compare against.
    fn reference_hostname(s: &str) -> bool {
        if s.is_empty() || s.len() > 253 {
            return false;
        }
        let labels: Vec<&str> = s.split('.').collect();
        let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        labels.len() >= 2
            && labels.iter().enumerate().all(|(i, label)| {
                let b = label.as_bytes();
                !b.is_empty()
                    && alnum(b[0])
                    && b.iter().all(|&c| alnum(c) || c == b'-')
                    && (i != labels.len() - 1 || (b.len() >= 2 && alnum(b[b.len() - 1])))
            })
    }

    proptest::proptest! {
        #[test]
        fn hostname_check_agrees_with_reference(s in "[a-c0-2.A_-]{0,12}") {
            proptest::prop_assert_eq!(is_ocl_hostname(&s), reference_hostname(&s));
        }
    }

    #[test]
    fn client_ids_of_any_length_behave_as_their_text() {
        use std::hash::{BuildHasher, RandomState};
        let hasher = RandomState::new();
        let names: Vec<String> = (4..40)
            .map(|n| format!("{}.nl", "a".repeat(n - 3)))
            .chain(["pgo.example.nl".into(), format!("{}.nl", "b".repeat(250))])
            .collect();
        for a in &names {
            let id = ClientId::parse(a).unwrap();
            assert_eq!(id.as_str(), a);
            assert_eq!(id.to_string(), *a);
            assert_eq!(format!("{id:?}"), format!("ClientId({a:?})"));
            assert_eq!(hasher.hash_one(&id), hasher.hash_one(a.as_str()));
            assert_eq!(id.clone(), id);
            for b in &names {
                let other = ClientId::parse(b).unwrap();
                assert_eq!(id == other, a == b);
                assert_eq!(id.cmp(&other), a.as_str().cmp(b.as_str()));
            }
        }
    }

    #[test]
    fn zorgaanbiedernaam_lengths_follow_lists_1() {
        assert!(Zorgaanbiedernaam::parse("abc@medmij").is_ok()); // 10 chars
        assert!(Zorgaanbiedernaam::parse("ab@medmij").is_err()); // 9 chars
        let fifty = "a".repeat(50);
        assert!(Zorgaanbiedernaam::parse(&format!("{fifty}@medmij")).is_ok()); // 57
        assert!(Zorgaanbiedernaam::parse(&format!("{fifty}a@medmij")).is_err()); // 58
        assert!(Zorgaanbiedernaam::parse("Abc@medmij").is_err());
        assert!(Zorgaanbiedernaam::parse("abc1@medmij").is_err());
        assert!(Zorgaanbiedernaam::parse("abc@medmi").is_err());
    }

    #[test]
    fn scope_errors_say_where() {
        use ScopeError::*;
        let p = |s| Scope::parse(s, ScopeForm::Multiple);
        assert_eq!(p(""), Err(Empty));
        assert_eq!(p("umcharderwijk~4 "), Err(Separator));
        assert_eq!(p("umcharderwijk~4  umcharderwijk~5"), Err(Separator));
        assert_eq!(p("umcharderwijk4"), Err(MissingTilde(1)));
        assert_eq!(p("UMC~4"), Err(Zorgaanbieder(1)));
        assert_eq!(p("umcharderwijk~"), Err(Gegevensdienst(1)));
        assert_eq!(p("umcharderwijk~4 umcharderwijk~4"), Err(Duplicate(2)));
        assert_eq!(
            p("umcharderwijk~4 umcutrecht~4"),
            Err(MixedZorgaanbieders(2))
        );
        assert_eq!(
            Scope::parse("umcharderwijk~4 umcharderwijk~6", ScopeForm::Single),
            Err(TooManyPairs(2))
        );
        let s = p("umcharderwijk~4 umcharderwijk~6").unwrap();
        assert_eq!(s.to_string(), "umcharderwijk~4 umcharderwijk~6");
        let z = Zorgaanbiedernaam::parse("umcharderwijk@medmij").unwrap();
        assert!(s.covers(&z, &GegevensdienstId::parse("6").unwrap()));
        assert!(!s.covers(&z, &GegevensdienstId::parse("8").unwrap()));
    }

    #[test]
    fn state_is_vschar() {
        assert!(State::parse("abc DEF~!").is_ok());
        assert!(State::parse("").is_err());
        assert!(State::parse("a\u{7f}").is_err());
        assert!(State::parse("é").is_err());
        assert!(State::parse(&"a".repeat(513)).is_err());
        assert_eq!(
            format!("{:?}", State::parse("geheim").unwrap()),
            "State(<redacted>)"
        );
    }
}
