//! The MedMij nouns of the lists (LISTS-1, LISTS-4, LISTS-5, LISTS-6) and
//! their URIs (LISTS-3): each constructor checks every facet of the schema
//! type, so an invalid value cannot be constructed.
//!
//! Patterns are matched against the whole value, as XML Schema does; lengths
//! are counted in Unicode characters, not bytes.

use crate::newtype::{check_len, text_newtype};
use crate::scan::{is_host, is_uri};
use crate::{FacetViolation, InvalidValue, RuleId};

/// The representation of the short values (names, ids, codes, hostnames):
/// most are under 24 bytes and are then stored inline, without a heap
/// allocation. URIs, usually longer, stay a `Box<str>` (16 bytes).
type Short = compact_str::CompactString;

/// The pattern of [`Zorgaanbiedernaam`] (LISTS-1).
pub const ZORGAANBIEDERNAAM_PATTERN: &str = "([a-z])+@medmij";
/// The pattern of [`Hostname`] (LISTS-4, LISTS-6).
pub const HOSTNAME_PATTERN: &str = r"(([a-z0-9])([a-z0-9-])*(\.))+([a-z0-9])([a-z0-9-])*([a-z0-9])";
/// The pattern of [`FrontChannelUri`] (LISTS-3).
pub const FRONT_CHANNEL_URI_PATTERN: &str =
    r"https://(([a-z0-9])([a-z0-9-])*(\.))+([a-z0-9])([a-z0-9-])*([a-z0-9])?(/[^?#/]+)*";
/// The pattern of [`BackChannelUri`] (LISTS-3).
pub const BACK_CHANNEL_URI_PATTERN: &str = r"https://(([a-z0-9])([a-z0-9-])*(\.))+([a-z0-9])([a-z0-9-])*([a-z0-9])(:(\d){1,5})?(/[^?#/]+)*";

text_newtype! {
    /// The name of a care provider, `<letters>@medmij` (MedMij LISTS-1):
    /// 10 to 57 characters, the whole value matching `([a-z])+@medmij`.
    ///
    /// ```
    /// use medmij_types::Zorgaanbiedernaam;
    /// let naam = Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap();
    /// assert_eq!(naam.scope_part(), "umcharderwijk");
    /// assert!(Zorgaanbiedernaam::new("UMC@medmij").is_err());
    /// ```
    Zorgaanbiedernaam, repr = Short, rule = RuleId::Lists1, check = check_zorgaanbiedernaam
}

/// The check of [`Zorgaanbiedernaam`] (LISTS-1), a named function so that
/// cargo-mutants mutates it (it does not look into macro invocations).
fn check_zorgaanbiedernaam(s: &str) -> Result<(), InvalidValue> {
    check_len("Zorgaanbiedernaam", s, 10, 57, RuleId::Lists1)?;
    let ok = s
        .strip_suffix("@medmij")
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()));
    if ok {
        Ok(())
    } else {
        Err(InvalidValue::new(
            "Zorgaanbiedernaam",
            s,
            FacetViolation::Pattern {
                pattern: ZORGAANBIEDERNAAM_PATTERN,
            },
            RuleId::Lists1,
        ))
    }
}

const MEDMIJ_SUFFIX: &str = "@medmij";

impl Zorgaanbiedernaam {
    /// The name without `@medmij`, as written in OAuth scopes (MedMij
    /// OAUTH-5, OAUTH-20).
    pub fn scope_part(&self) -> &str {
        // The pattern guarantees the suffix.
        self.0
            .get(..self.0.len() - MEDMIJ_SUFFIX.len())
            .unwrap_or_default()
    }

    /// Builds the name from the part written in a scope (`umcharderwijk`),
    /// adding `@medmij` (MedMij OAUTH-5, OAUTH-20).
    ///
    /// ```
    /// use medmij_types::Zorgaanbiedernaam;
    /// let naam = Zorgaanbiedernaam::from_scope_part("umcharderwijk").unwrap();
    /// assert_eq!(naam, "umcharderwijk@medmij");
    /// assert!(Zorgaanbiedernaam::from_scope_part("umc@medmij").is_err());
    /// ```
    pub fn from_scope_part(part: &str) -> Result<Self, InvalidValue> {
        let mut full = Short::with_capacity(part.len() + MEDMIJ_SUFFIX.len());
        full.push_str(part);
        full.push_str(MEDMIJ_SUFFIX);
        Self::new(&full)
    }
}

text_newtype! {
    /// The identifier of a Gegevensdienst, 1 to 30 characters (MedMij
    /// LISTS-1, LISTS-5). The GNL gives it a name (LISTS-12).
    GegevensdienstId, repr = Short, rule = RuleId::Lists1, check = |s| check_len("GegevensdienstId", s, 1, 30, RuleId::Lists1)
}

text_newtype! {
    /// The code of a Systeemrol, 1 to 30 characters (MedMij LISTS-1).
    Systeemrolcode, repr = Short, rule = RuleId::Lists1, check = |s| check_len("Systeemrolcode", s, 1, 30, RuleId::Lists1)
}

text_newtype! {
    /// The user-facing name of a Gegevensdienst, 3 to 50 characters
    /// (MedMij LISTS-5).
    Weergavenaam, repr = Short, rule = RuleId::Lists5, check = |s| check_len("Weergavenaam", s, 3, 50, RuleId::Lists5)
}

text_newtype! {
    /// The organisation name of an OAuth client, 3 to 50 characters
    /// (MedMij LISTS-4); shown in the consent text (CONSENT-1).
    OAuthclientOrganisatienaam, repr = Short, rule = RuleId::Lists4, check = |s| {
        check_len("OAuthclientOrganisatienaam", s, 3, 50, RuleId::Lists4)
    }
}

text_newtype! {
    /// A node's DNS name (MedMij LISTS-4, LISTS-6): lowercase labels of
    /// `[a-z0-9-]` starting with a letter or digit, at least two labels,
    /// the last one at least two characters and ending in a letter or digit.
    ///
    /// ```
    /// use medmij_types::Hostname;
    /// assert!(Hostname::new("medmij.deenigeechtepgo.nl").is_ok());
    /// assert!(Hostname::new("Medmij.nl").is_err());
    /// assert!(Hostname::new("localhost").is_err());
    /// ```
    Hostname, repr = Short, rule = RuleId::Lists4, check = |s| {
        if is_host(s, true) {
            Ok(())
        } else {
            Err(InvalidValue::new(
                "Hostname",
                s,
                FacetViolation::Pattern { pattern: HOSTNAME_PATTERN },
                RuleId::Lists4,
            ))
        }
    }
}

/// The OAuth `client_id` of a PGO gateway: its hostname on the OCL, which is
/// also the DNS name in its PKIoverheid certificate (MedMij OAUTH-3,
/// LISTS-4). The same type as [`Hostname`]: a client is known by its host.
pub type ClientId = Hostname;

text_newtype! {
    /// A GegevensdienstId as it may stand in an OAuth scope (MedMij OAUTH-5,
    /// RFC 6749 3.3): the 1 to 30 characters of a [`GegevensdienstId`],
    /// restricted to visible ASCII other than `"` and `\` (a scope token).
    /// Convert explicitly: `ScopeGegevensdienstId::try_from(&id)` checks,
    /// `GegevensdienstId::from(scope_id)` always succeeds.
    ///
    /// ```
    /// use medmij_types::{GegevensdienstId, ScopeGegevensdienstId};
    /// let id = GegevensdienstId::new("49").unwrap();
    /// let in_scope = ScopeGegevensdienstId::try_from(&id).unwrap();
    /// assert_eq!(GegevensdienstId::from(in_scope), id);
    /// // A valid list value, but not a scope token:
    /// let spaced = GegevensdienstId::new("a b").unwrap();
    /// assert!(ScopeGegevensdienstId::try_from(&spaced).is_err());
    /// ```
    ScopeGegevensdienstId, repr = Short, rule = RuleId::Oauth5, check = check_scope_token
}

/// The check of [`ScopeGegevensdienstId`] (OAUTH-5), a named function so
/// that cargo-mutants mutates it (it does not look into macro invocations).
fn check_scope_token(s: &str) -> Result<(), InvalidValue> {
    check_len("ScopeGegevensdienstId", s, 1, 30, RuleId::Oauth5)?;
    match s
        .chars()
        .enumerate()
        .find(|&(_, c)| !matches!(c, '\x21'..='\x7e') || c == '"' || c == '\\')
    {
        Some((i, found)) => Err(InvalidValue::new(
            "ScopeGegevensdienstId",
            s,
            FacetViolation::Character { found, at: i + 1 },
            RuleId::Oauth5,
        )),
        None => Ok(()),
    }
}

impl TryFrom<&GegevensdienstId> for ScopeGegevensdienstId {
    type Error = InvalidValue;
    fn try_from(id: &GegevensdienstId) -> Result<Self, InvalidValue> {
        Self::new(id.as_str())
    }
}

impl From<ScopeGegevensdienstId> for GegevensdienstId {
    fn from(id: ScopeGegevensdienstId) -> Self {
        // Every scope token of 1..30 characters is a valid list value.
        Self(id.0)
    }
}

impl From<&ScopeGegevensdienstId> for GegevensdienstId {
    fn from(id: &ScopeGegevensdienstId) -> Self {
        Self(id.0.clone())
    }
}

impl PartialEq<GegevensdienstId> for ScopeGegevensdienstId {
    fn eq(&self, other: &GegevensdienstId) -> bool {
        self.0 == other.0
    }
}

impl PartialEq<ScopeGegevensdienstId> for GegevensdienstId {
    fn eq(&self, other: &ScopeGegevensdienstId) -> bool {
        self.0 == other.0
    }
}

text_newtype! {
    /// A front-channel URI (MedMij LISTS-3): `https`, lowercase host with at
    /// least one dot, no port, no query, no fragment, no empty path segment,
    /// no trailing slash.
    ///
    /// ```
    /// use medmij_types::FrontChannelUri;
    /// assert!(FrontChannelUri::new("https://za.example.nl/oauth/authorize").is_ok());
    /// assert!(FrontChannelUri::new("https://za.example.nl:443/oauth").is_err());
    /// assert!(FrontChannelUri::new("https://za.example.nl/oauth/").is_err());
    /// ```
    FrontChannelUri, repr = Box<str>, rule = RuleId::Lists3, check = |s| {
        if is_uri(s, false) {
            Ok(())
        } else {
            Err(InvalidValue::new(
                "FrontChannelUri",
                s,
                FacetViolation::Pattern { pattern: FRONT_CHANNEL_URI_PATTERN },
                RuleId::Lists3,
            ))
        }
    }
}

text_newtype! {
    /// A back-channel URI (MedMij LISTS-3): as [`FrontChannelUri`], but the
    /// last host label ends in a letter or digit and a port of 1 to 5 digits
    /// may follow.
    ///
    /// ```
    /// use medmij_types::BackChannelUri;
    /// let uri = BackChannelUri::new("https://za.example.nl:8099/oauth/token").unwrap();
    /// assert_eq!(uri.host(), "za.example.nl");
    /// assert_eq!(uri.port(), Some(8099));
    /// ```
    BackChannelUri, repr = Box<str>, rule = RuleId::Lists3, check = |s| {
        if is_uri(s, true) {
            Ok(())
        } else {
            Err(InvalidValue::new(
                "BackChannelUri",
                s,
                FacetViolation::Pattern { pattern: BACK_CHANNEL_URI_PATTERN },
                RuleId::Lists3,
            ))
        }
    }
}

fn uri_host(s: &str) -> &str {
    let rest = &s["https://".len()..];
    let end = rest.find([':', '/']).unwrap_or(rest.len());
    &rest[..end]
}

fn uri_path(s: &str) -> &str {
    let rest = &s["https://".len()..];
    rest.find('/').map_or("", |i| &rest[i..])
}

impl FrontChannelUri {
    /// The host part.
    pub fn host(&self) -> &str {
        uri_host(&self.0)
    }
    /// The path (empty or starting with `/`).
    pub fn path(&self) -> &str {
        uri_path(&self.0)
    }
}

impl BackChannelUri {
    /// The host part.
    pub fn host(&self) -> &str {
        uri_host(&self.0)
    }
    /// The path (empty or starting with `/`).
    pub fn path(&self) -> &str {
        uri_path(&self.0)
    }
    /// The explicit port, if the URI has one written in ASCII digits that
    /// fits in a `u16`. The schema's `\d` also admits other Unicode decimal
    /// digits; such ports are valid list values but are not usable ports,
    /// and give `None` here.
    pub fn port(&self) -> Option<u16> {
        let rest = &self.0["https://".len()..];
        let colon = rest.find(':')?;
        let after = &rest[colon + 1..];
        let digits = &after[..after.find('/').unwrap_or(after.len())];
        if digits.bytes().all(|b| b.is_ascii_digit()) {
            digits.parse().ok()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zorgaanbiedernaam_lengths_and_pattern() {
        // MedMij LISTS-1: 10..57 characters, ([a-z])+@medmij.
        assert!(Zorgaanbiedernaam::new("abc@medmij").is_ok()); // 10
        assert!(Zorgaanbiedernaam::new("ab@medmij").is_err()); // 9
        let max = format!("{}@medmij", "a".repeat(50));
        assert!(Zorgaanbiedernaam::new(&max).is_ok());
        let over = format!("{}@medmij", "a".repeat(51));
        assert!(matches!(
            Zorgaanbiedernaam::new(&over).unwrap_err().violation,
            FacetViolation::TooLong { max: 57, len: 58 }
        ));
        for bad in [
            "abc1@medmij",
            " abc@medmij",
            "abcd@medmij ",
            "abcd@MEDMIJ",
            "abcdé@medmij",
            "abcd@medmijx",
        ] {
            assert!(Zorgaanbiedernaam::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hostname_pattern() {
        for ok in ["a.bc", "a-.bc", "1.22", "a.b-c", "x.y.z9", "a--b.c-d.ef"] {
            assert!(Hostname::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "a", "ab", "a.b", "a.b-", "-a.bc", ".bc", "a..bc", "a.bc.", "A.bc", "a_b.cd",
            "a.bc:1", " a.bc",
        ] {
            assert!(Hostname::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn scope_gegevensdienst_id() {
        for ok in ["1", "49", "a.b-c_d", "~", &"x".repeat(30)] {
            assert!(ScopeGegevensdienstId::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "a\"b", "a\\b", "é", &"x".repeat(31), "\u{7f}"] {
            let err = ScopeGegevensdienstId::new(bad).unwrap_err();
            assert_eq!(err.rule, RuleId::Oauth5, "{bad:?}");
        }
        let e = ScopeGegevensdienstId::new("ab c").unwrap_err();
        assert_eq!(e.violation, FacetViolation::Character { found: ' ', at: 3 });
    }

    #[test]
    fn zorgaanbiedernaam_scope_part_round_trips() {
        let z = Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap();
        assert_eq!(z.scope_part(), "umcharderwijk");
        assert_eq!(
            Zorgaanbiedernaam::from_scope_part(z.scope_part()).unwrap(),
            z
        );
        for bad in ["", "ab", "Umc", "umc1", "umc@medmij"] {
            assert!(Zorgaanbiedernaam::from_scope_part(bad).is_err(), "{bad}");
        }
    }

    /// MedMij LISTS-3: the front- and back-channel URI patterns.
    mod lists_3 {
        use super::*;

        #[test]
        fn uri_patterns() {
            // Front channel: last label may be one character or end in '-'.
            for ok in [
                "https://a.b",
                "https://a.b-",
                "https://a.b/x",
                "https://a.bc/x y/é:z",
            ] {
                assert!(FrontChannelUri::new(ok).is_ok(), "{ok}");
            }
            for bad in [
                "http://a.bc",
                "https://a.bc:80",
                "https://a.bc/",
                "https://a.bc//x",
                "https://a.bc/x?y",
                "https://a.bc/x#y",
                "https://abc",
                "https://A.bc",
                "https://a.bc/x/",
            ] {
                assert!(FrontChannelUri::new(bad).is_err(), "{bad}");
            }
            for ok in [
                "https://a.bc",
                "https://a.bc:1",
                "https://a.bc:65535/x",
                "https://a.bc:99999",
                "https://a.bc:١٢",
                "https://a.bc:１２/x",
            ] {
                assert!(BackChannelUri::new(ok).is_ok(), "{ok}");
            }
            for bad in [
                "https://a.b",
                "https://a.b-",
                "https://a.bc:",
                "https://a.bc:123456",
                "https://a.bc:²",
                "https://a.bc:߁",
                "https://a.bc:8/",
                "https://a.bc:x",
            ] {
                assert!(BackChannelUri::new(bad).is_err(), "{bad}");
            }
            let u = BackChannelUri::new("https://a.bc:٨٠/p").unwrap();
            assert_eq!(u.port(), None);
            assert_eq!(u.host(), "a.bc");
            assert_eq!(u.path(), "/p");
        }

        #[test]
        fn a_host_does_not_end_in_a_dot() {
            for bad in ["https://a.bc.", "https://a.bc./x", "https://a.b..c"] {
                assert!(FrontChannelUri::new(bad).is_err(), "{bad}");
                assert!(BackChannelUri::new(bad).is_err(), "{bad}");
            }
            assert!(Hostname::new("a.bc.").is_err());
            assert!(FrontChannelUri::new("https://a.bc.d").is_ok());
        }

        #[test]
        fn host_path_and_port_of_a_uri() {
            let f = FrontChannelUri::new("https://za.example.nl/oauth/authorize").unwrap();
            assert_eq!(f.host(), "za.example.nl");
            assert_eq!(f.path(), "/oauth/authorize");
            let f = FrontChannelUri::new("https://za.example.nl").unwrap();
            assert_eq!((f.host(), f.path()), ("za.example.nl", ""));
            let b = BackChannelUri::new("https://za.example.nl:8099/oauth/token").unwrap();
            assert_eq!(b.host(), "za.example.nl");
            assert_eq!(b.path(), "/oauth/token");
            assert_eq!(b.port(), Some(8099));
            let b = BackChannelUri::new("https://za.example.nl:65535").unwrap();
            assert_eq!(
                (b.host(), b.path(), b.port()),
                ("za.example.nl", "", Some(65_535))
            );
            let b = BackChannelUri::new("https://za.example.nl:1/x").unwrap();
            assert_eq!(b.port(), Some(1));
            // Valid list values, but no usable port: more than 65535.
            assert_eq!(
                BackChannelUri::new("https://za.example.nl:65536")
                    .unwrap()
                    .port(),
                None
            );
            let b = BackChannelUri::new("https://za.example.nl/oauth/token").unwrap();
            assert_eq!(
                (b.host(), b.path(), b.port()),
                ("za.example.nl", "/oauth/token", None)
            );
        }
    }

    /// MedMij LISTS-1: the lengths of the list values are checked to the
    /// character, and a refusal says which bound.
    mod lists_1 {
        use super::*;

        #[test]
        fn a_refusal_names_the_bound_it_missed() {
            assert_eq!(
                Zorgaanbiedernaam::new("ab@medmij").unwrap_err().violation,
                FacetViolation::TooShort { min: 10, len: 9 }
            );
            assert_eq!(
                GegevensdienstId::new("").unwrap_err().violation,
                FacetViolation::TooShort { min: 1, len: 0 }
            );
            assert_eq!(
                Systeemrolcode::new(&"x".repeat(31)).unwrap_err().violation,
                FacetViolation::TooLong { max: 30, len: 31 }
            );
            assert!(Systeemrolcode::new(&"x".repeat(30)).is_ok());
            assert!(Systeemrolcode::new("x").is_ok());
        }
    }

    /// MedMij LISTS-4: a Hostname (the `client_id` of OAUTH-3) and the
    /// refusal that names the rule.
    mod lists_4 {
        use super::*;

        #[test]
        fn a_long_refused_value_is_shown_cut_to_200_characters() {
            let long = format!("{}.nl", "é".repeat(298));
            let err = Hostname::new(&long).unwrap_err();
            assert_eq!(err.value, format!("{}…", "é".repeat(200)));
            let exact = "É".repeat(200);
            assert_eq!(Hostname::new(&exact).unwrap_err().value, exact);
        }

        #[test]
        fn a_refused_hostname_names_lists_4() {
            let err = Hostname::new("Localhost").unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "Hostname \"Localhost\" does not match the pattern {HOSTNAME_PATTERN} (MedMij LISTS-4)"
                )
            );
            let err = OAuthclientOrganisatienaam::new("ab").unwrap_err();
            assert_eq!(
                err.to_string(),
                "OAuthclientOrganisatienaam \"ab\" has 2 characters, fewer than the minimum 3 (MedMij LISTS-4)"
            );
        }
    }

    /// MedMij OAUTH-5: a GegevensdienstId as a scope token, and back.
    mod oauth_5 {
        use super::*;

        #[test]
        fn a_scope_id_equals_the_list_id_of_the_same_text() {
            let id = GegevensdienstId::new("49").unwrap();
            let in_scope = ScopeGegevensdienstId::try_from(&id).unwrap();
            assert!(in_scope == id);
            assert!(id == in_scope);
            let other = GegevensdienstId::new("4").unwrap();
            assert!(in_scope != other);
            assert!(other != in_scope);
            assert_eq!(GegevensdienstId::from(&in_scope), id);
            assert_eq!(GegevensdienstId::from(in_scope).as_str(), "49");
            let spaced = GegevensdienstId::new("a b").unwrap();
            assert_eq!(
                ScopeGegevensdienstId::try_from(&spaced).unwrap_err().rule,
                RuleId::Oauth5
            );
        }
    }

    #[test]
    fn lengths_count_characters() {
        // 30 characters, 61 bytes: valid (MedMij LISTS-1 counts characters).
        let id = format!("{}𝄞", "é".repeat(29));
        assert!(GegevensdienstId::new(&id).is_ok());
        let id31 = format!("{id}x");
        assert!(GegevensdienstId::new(&id31).is_err());
        assert!(GegevensdienstId::new("").is_err());
        assert!(Weergavenaam::new("   ").is_ok());
        assert!(Weergavenaam::new("ab").is_err());
    }
}
