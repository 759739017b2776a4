//! Newtypes for the MedMij list values. Each constructor checks every facet
//! of the schema type, so an invalid value cannot be constructed.
//!
//! Patterns are matched against the whole value, as XML Schema does; lengths
//! are counted in Unicode characters, not bytes.

use crate::error::{FacetViolation, InvalidValue, RuleId};
use std::borrow::Borrow;
use std::fmt;

fn char_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

fn check_len(
    type_name: &'static str,
    s: &str,
    min: usize,
    max: usize,
    rule: RuleId,
) -> Result<(), InvalidValue> {
    let len = char_len(s);
    if len < min {
        return Err(InvalidValue::new(
            type_name,
            s,
            FacetViolation::TooShort { min, len },
            rule,
        ));
    }
    if len > max {
        return Err(InvalidValue::new(
            type_name,
            s,
            FacetViolation::TooLong { max, len },
            rule,
        ));
    }
    Ok(())
}

/// The representation of the short values (names, ids, codes): most are
/// under 24 bytes and are then stored inline, without a heap allocation.
/// URIs and hostnames, usually longer, stay a `Box<str>` (16 bytes).
type Short = compact_str::CompactString;

macro_rules! string_newtype {
    (
        $(#[$meta:meta])*
        $name:ident, repr = $repr:ty, rule = $rule:literal, check = $check:expr
    ) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name($repr);

        impl $name {
            /// Checks `value` against every facet of the type.
            pub fn new(value: &str) -> Result<Self, InvalidValue> {
                let check: fn(&str) -> Result<(), InvalidValue> = $check;
                check(value)?;
                Ok($name(<$repr>::from(value)))
            }

            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The MedMij rule that defines this type.
            pub const RULE: RuleId = $rule;
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&*self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidValue;
            fn from_str(s: &str) -> Result<Self, InvalidValue> {
                $name::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidValue;
            fn try_from(s: &str) -> Result<Self, InvalidValue> {
                $name::new(s)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                &*self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                &*self.0 == *other
            }
        }
    };
}

/// The pattern of [`Zorgaanbiedernaam`] (LISTS-1).
pub const ZORGAANBIEDERNAAM_PATTERN: &str = "([a-z])+@medmij";
/// The pattern of [`Hostname`] (LISTS-4, LISTS-6).
pub const HOSTNAME_PATTERN: &str = r"(([a-z0-9])([a-z0-9-])*(\.))+([a-z0-9])([a-z0-9-])*([a-z0-9])";
/// The pattern of [`FrontChannelUri`] (LISTS-3).
pub const FRONT_CHANNEL_URI_PATTERN: &str =
    r"https://(([a-z0-9])([a-z0-9-])*(\.))+([a-z0-9])([a-z0-9-])*([a-z0-9])?(/[^?#/]+)*";
/// The pattern of [`BackChannelUri`] (LISTS-3).
pub const BACK_CHANNEL_URI_PATTERN: &str = r"https://(([a-z0-9])([a-z0-9-])*(\.))+([a-z0-9])([a-z0-9-])*([a-z0-9])(:(\d){1,5})?(/[^?#/]+)*";

string_newtype! {
    /// The name of a care provider, `<letters>@medmij` (MedMij LISTS-1):
    /// 10 to 57 characters, the whole value matching `([a-z])+@medmij`.
    ///
    /// ```
    /// use medmij_lists::Zorgaanbiedernaam;
    /// let naam = Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap();
    /// assert_eq!(naam.scope_prefix(), "umcharderwijk");
    /// assert!(Zorgaanbiedernaam::new("UMC@medmij").is_err());
    /// ```
    Zorgaanbiedernaam, repr = Short, rule = "LISTS-1", check = |s| {
        check_len("Zorgaanbiedernaam", s, 10, 57, "LISTS-1")?;
        let ok = s
            .strip_suffix("@medmij")
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()));
        if ok {
            Ok(())
        } else {
            Err(InvalidValue::new(
                "Zorgaanbiedernaam",
                s,
                FacetViolation::Pattern { pattern: ZORGAANBIEDERNAAM_PATTERN },
                "LISTS-1",
            ))
        }
    }
}

impl Zorgaanbiedernaam {
    /// The name without `@medmij`, as used in OAuth scopes (MedMij OAUTH-5).
    pub fn scope_prefix(&self) -> &str {
        // The pattern guarantees the suffix.
        &self.0[..self.0.len() - "@medmij".len()]
    }
}

string_newtype! {
    /// The identifier of a Gegevensdienst, 1 to 30 characters (MedMij
    /// LISTS-1, LISTS-5). The GNL gives it a name (LISTS-12).
    GegevensdienstId, repr = Short, rule = "LISTS-1", check = |s| check_len("GegevensdienstId", s, 1, 30, "LISTS-1")
}

string_newtype! {
    /// The code of a Systeemrol, 1 to 30 characters (MedMij LISTS-1).
    Systeemrolcode, repr = Short, rule = "LISTS-1", check = |s| check_len("Systeemrolcode", s, 1, 30, "LISTS-1")
}

string_newtype! {
    /// The user-facing name of a Gegevensdienst, 3 to 50 characters
    /// (MedMij LISTS-5).
    Weergavenaam, repr = Short, rule = "LISTS-5", check = |s| check_len("Weergavenaam", s, 3, 50, "LISTS-5")
}

string_newtype! {
    /// The organisation name of an OAuth client, 3 to 50 characters
    /// (MedMij LISTS-4); shown in the consent text (CONSENT-1).
    OAuthclientOrganisatienaam, repr = Short, rule = "LISTS-4", check = |s| {
        check_len("OAuthclientOrganisatienaam", s, 3, 50, "LISTS-4")
    }
}

string_newtype! {
    /// A node's DNS name (MedMij LISTS-4, LISTS-6): lowercase labels of
    /// `[a-z0-9-]` starting with a letter or digit, at least two labels,
    /// the last one at least two characters and ending in a letter or digit.
    ///
    /// ```
    /// use medmij_lists::Hostname;
    /// assert!(Hostname::new("medmij.deenigeechtepgo.nl").is_ok());
    /// assert!(Hostname::new("Medmij.nl").is_err());
    /// assert!(Hostname::new("localhost").is_err());
    /// ```
    Hostname, repr = Box<str>, rule = "LISTS-4", check = |s| {
        if is_host(s, true) {
            Ok(())
        } else {
            Err(InvalidValue::new(
                "Hostname",
                s,
                FacetViolation::Pattern { pattern: HOSTNAME_PATTERN },
                "LISTS-4",
            ))
        }
    }
}

string_newtype! {
    /// A front-channel URI (MedMij LISTS-3): `https`, lowercase host with at
    /// least one dot, no port, no query, no fragment, no empty path segment,
    /// no trailing slash.
    ///
    /// ```
    /// use medmij_lists::FrontChannelUri;
    /// assert!(FrontChannelUri::new("https://za.example.nl/oauth/authorize").is_ok());
    /// assert!(FrontChannelUri::new("https://za.example.nl:443/oauth").is_err());
    /// assert!(FrontChannelUri::new("https://za.example.nl/oauth/").is_err());
    /// ```
    FrontChannelUri, repr = Box<str>, rule = "LISTS-3", check = |s| {
        if is_uri(s, false) {
            Ok(())
        } else {
            Err(InvalidValue::new(
                "FrontChannelUri",
                s,
                FacetViolation::Pattern { pattern: FRONT_CHANNEL_URI_PATTERN },
                "LISTS-3",
            ))
        }
    }
}

string_newtype! {
    /// A back-channel URI (MedMij LISTS-3): as [`FrontChannelUri`], but the
    /// last host label ends in a letter or digit and a port of 1 to 5 digits
    /// may follow.
    ///
    /// ```
    /// use medmij_lists::BackChannelUri;
    /// let uri = BackChannelUri::new("https://za.example.nl:8099/oauth/token").unwrap();
    /// assert_eq!(uri.host(), "za.example.nl");
    /// assert_eq!(uri.port(), Some(8099));
    /// ```
    BackChannelUri, repr = Box<str>, rule = "LISTS-3", check = |s| {
        if is_uri(s, true) {
            Ok(())
        } else {
            Err(InvalidValue::new(
                "BackChannelUri",
                s,
                FacetViolation::Pattern { pattern: BACK_CHANNEL_URI_PATTERN },
                "LISTS-3",
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

/// Byte classes for the host and path scans: one table lookup per byte
/// instead of a chain of range checks.
const ALNUM: u8 = 1;
const HYPHEN: u8 = 2;
const DOT: u8 = 3;
/// `/`, `?` and `#`: the bytes that end or break a path segment.
const PATH_SPECIAL: u8 = 4;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = b'a';
    while c <= b'z' {
        t[c as usize] = ALNUM;
        c += 1;
    }
    let mut c = b'0';
    while c <= b'9' {
        t[c as usize] = ALNUM;
        c += 1;
    }
    t[b'-' as usize] = HYPHEN;
    t[b'.' as usize] = DOT;
    t[b'/' as usize] = PATH_SPECIAL;
    t[b'?' as usize] = PATH_SPECIAL;
    t[b'#' as usize] = PATH_SPECIAL;
    t
};

/// Scans the host at the start of `b`: labels of `[a-z0-9-]` starting with
/// `[a-z0-9]`, separated by single dots. Returns where the host ends (the
/// first byte that is not part of it) if the labels are well formed and
/// there is at least one dot; `strict_last` selects the Hostname /
/// back-channel form, whose last label has at least two characters and ends
/// in `[a-z0-9]`.
fn scan_host(b: &[u8], strict_last: bool) -> Option<usize> {
    let mut dots = 0usize;
    let mut label_len = 0usize;
    let mut last = 0u8;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match CLASS[usize::from(c)] {
            ALNUM => {}
            HYPHEN if label_len > 0 => {}
            DOT if label_len > 0 => {
                dots += 1;
                label_len = 0;
                i += 1;
                continue;
            }
            _ => break,
        }
        label_len += 1;
        last = c;
        i += 1;
    }
    let ok = label_len > 0
        && dots > 0
        && (!strict_last || (label_len >= 2 && CLASS[usize::from(last)] == ALNUM));
    ok.then_some(i)
}

/// Checks a host against the label rules (see [`scan_host`]).
fn is_host(host: &str, strict_last: bool) -> bool {
    scan_host(host.as_bytes(), strict_last) == Some(host.len())
}

/// Matches the whole value against the front- (`back = false`) or
/// back-channel (`back = true`) URI pattern of LISTS-3, in one pass.
fn is_uri(s: &str, back: bool) -> bool {
    let Some(rest) = s.strip_prefix("https://") else {
        return false;
    };
    let b = rest.as_bytes();
    let Some(mut i) = scan_host(b, back) else {
        return false;
    };
    if back && b.get(i) == Some(&b':') {
        // `(:(\d){1,5})?`: one to five (Unicode) decimal digits.
        let start = i + 1;
        let mut j = start;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j < b.len() && b[j] >= 0x80 {
            // Non-ASCII digits: count characters up to the path.
            let after = &rest[start..];
            let end = after.find('/').unwrap_or(after.len());
            let port = &after[..end];
            let n = port.chars().count();
            if !(1..=5).contains(&n) || !port.chars().all(is_xsd_digit) {
                return false;
            }
            j = start + end;
        } else if !(1..=5).contains(&(j - start)) {
            return false;
        }
        i = j;
    }
    // `(/[^?#/]+)*`: non-empty segments without `?` or `#`. Multi-byte
    // UTF-8 sequences never contain these ASCII bytes, so bytes suffice.
    let p = &b[i..];
    if p.is_empty() {
        return true;
    }
    if p[0] != b'/' {
        return false;
    }
    let mut seg = 0usize;
    for &c in &p[1..] {
        if CLASS[usize::from(c)] == PATH_SPECIAL {
            if c != b'/' || seg == 0 {
                return false;
            }
            seg = 0;
        } else {
            seg += 1;
        }
    }
    seg > 0
}

/// XML Schema's `\d`, which is `\p{Nd}`: the decimal digits of the Unicode
/// character database. The ranges are those of Unicode 4.0.1, the database
/// behind libxml2's schema regular expressions (the oracle of our
/// differential test), so that verdicts agree with it character for
/// character.
fn is_xsd_digit(c: char) -> bool {
    const ND: &[(u32, u32)] = &[
        (0x0030, 0x0039),
        (0x0660, 0x0669),
        (0x06F0, 0x06F9),
        (0x0966, 0x096F),
        (0x09E6, 0x09EF),
        (0x0A66, 0x0A6F),
        (0x0AE6, 0x0AEF),
        (0x0B66, 0x0B6F),
        (0x0BE7, 0x0BEF),
        (0x0C66, 0x0C6F),
        (0x0CE6, 0x0CEF),
        (0x0D66, 0x0D6F),
        (0x0E50, 0x0E59),
        (0x0ED0, 0x0ED9),
        (0x0F20, 0x0F29),
        (0x1040, 0x1049),
        (0x1369, 0x1371),
        (0x17E0, 0x17E9),
        (0x1810, 0x1819),
        (0x1946, 0x194F),
        (0xFF10, 0xFF19),
        (0x104A0, 0x104A9),
        (0x1D7CE, 0x1D7FF),
    ];
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    let c = c as u32;
    ND.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The straightforward host check that the table-driven [`scan_host`]
    /// replaced; kept as its oracle.
    fn is_host_reference(host: &str, strict_last: bool) -> bool {
        let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        let (mut dots, mut label_len, mut last) = (0usize, 0usize, 0u8);
        for &c in host.as_bytes() {
            if c == b'.' {
                if label_len == 0 {
                    return false;
                }
                dots += 1;
                label_len = 0;
                continue;
            }
            let ok = if label_len == 0 {
                alnum(c)
            } else {
                alnum(c) || c == b'-'
            };
            if !ok {
                return false;
            }
            label_len += 1;
            last = c;
        }
        label_len > 0 && dots > 0 && (!strict_last || (label_len >= 2 && alnum(last)))
    }

    /// The straightforward form of the LISTS-3 URI check that the one-pass
    /// [`is_uri`] replaced; kept as its oracle.
    fn is_uri_reference(s: &str, back: bool) -> bool {
        let Some(rest) = s.strip_prefix("https://") else {
            return false;
        };
        let host_end = rest
            .as_bytes()
            .iter()
            .position(|&c| c == b'/' || (back && c == b':'))
            .unwrap_or(rest.len());
        if !is_host_reference(&rest[..host_end], back) {
            return false;
        }
        let mut rest = &rest[host_end..];
        if back && let Some(after) = rest.strip_prefix(':') {
            let end = after.find('/').unwrap_or(after.len());
            let port = &after[..end];
            let n = port.chars().count();
            if !(1..=5).contains(&n) || !port.chars().all(is_xsd_digit) {
                return false;
            }
            rest = &after[end..];
        }
        let p = rest.as_bytes();
        if p.is_empty() {
            return true;
        }
        if p[0] != b'/' {
            return false;
        }
        let mut seg = 0usize;
        for &c in &p[1..] {
            match c {
                b'/' if seg == 0 => return false,
                b'/' => seg = 0,
                b'?' | b'#' => return false,
                _ => seg += 1,
            }
        }
        seg > 0
    }

    fn uri_like() -> impl Strategy<Value = String> {
        prop_oneof![
            // Mostly well-formed: labels, an optional port, a path.
            "(https://)?([a-z0-9-]{0,4}\\.?){1,4}(:[0-9\u{660}\u{b2}\u{ff11}x]{0,6})?(/[a-zé?#]{0,3}){0,3}/?",
            // Anything from the relevant alphabet.
            "(https://)?[a-zA-Z0-9.:/?#é\\-]{0,30}",
        ]
    }

    proptest! {
        #[test]
        fn one_pass_uri_check_agrees_with_reference(s in uri_like()) {
            for back in [false, true] {
                prop_assert_eq!(is_uri(&s, back), is_uri_reference(&s, back), "{:?} back={}", s, back);
            }
            let host = s.strip_prefix("https://").unwrap_or(&s);
            for strict in [false, true] {
                prop_assert_eq!(is_host(host, strict), is_host_reference(host, strict), "{:?}", host);
            }
        }
    }

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
