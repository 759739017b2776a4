//! The hand-optimised LISTS-3 and LISTS-4 pattern checks: one table-driven
//! pass over the bytes instead of a regular expression. Kept here, in one
//! module, with their differential test: `one_pass_uri_check_agrees_with_reference`
//! compares them on generated input with the straightforward checks they
//! replaced (the benchmark `lists_parse` justifies them: every endpoint of a
//! ZAL goes through them).
//!
//! Also the LISTS-7 scan for characters XML 1.0 does not allow
//! ([`first_non_xml_char`]), 64 bytes at a time through a branch-free filter:
//! medmij-lists runs it over every text of a list it parses, and every noun's
//! `new` over its value. Its differential test, `xml_char_scan_agrees_with_a_char_loop`,
//! compares it on generated input with a loop over the characters.
//!
//! Indexing here is into a 256-entry table by a byte, and into the input
//! below a length checked on the same line; `indexing_slicing` is allowed
//! in this module only, for the hot path.

#![allow(clippy::indexing_slicing)]

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
pub(crate) fn is_host(host: &str, strict_last: bool) -> bool {
    scan_host(host.as_bytes(), strict_last) == Some(host.len())
}

/// Matches the whole value against the front- (`back = false`) or
/// back-channel (`back = true`) URI pattern of LISTS-3, in one pass.
pub(crate) fn is_uri(s: &str, back: bool) -> bool {
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

/// Whether `c` is a character XML 1.0 allows (the `Char` production, XML 1.0
/// §2.2; a Rust `char` is never a surrogate).
#[must_use]
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Whether byte `c` may be (the start of) a character XML 1.0 does not
/// allow: a C0 control other than tab, line feed and carriage return, or
/// 0xEF, which leads U+FFFE and U+FFFF. Branch-free, so that a chunk is
/// checked with SIMD; it is a filter, and [`first_non_xml_char`]'s byte loop
/// decides, so a wider answer only costs time.
#[inline(always)]
fn maybe_illegal(c: u8) -> bool {
    ((c < 0x20) & (c != b'\t') & (c != b'\n') & (c != b'\r')) | (c == 0xEF)
}

/// The byte offset and the character of the first character in `s` that XML
/// 1.0 does not allow (MedMij LISTS-7): a C0 control other than tab, line
/// feed and carriage return, or U+FFFE or U+FFFF (a `str` holds no
/// surrogates). `None` if every character is allowed.
#[must_use]
#[inline]
pub fn first_non_xml_char(s: &str) -> Option<(usize, char)> {
    let b = s.as_bytes();
    for (k, chunk) in b.chunks(64).enumerate() {
        let i = k * 64;
        let suspicious = chunk.iter().fold(false, |acc, &c| acc | maybe_illegal(c));
        if suspicious {
            for (j, &c) in chunk.iter().enumerate() {
                let at = i + j;
                if c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r') {
                    return Some((at, char::from(c)));
                }
                if c == 0xEF && b.get(at + 1) == Some(&0xBF) {
                    match b.get(at + 2) {
                        Some(0xBE) => return Some((at, '\u{FFFE}')),
                        Some(0xBF) => return Some((at, '\u{FFFF}')),
                        _ => {}
                    }
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    mod lists_7 {
        use super::*;

        proptest! {
            /// The chunked scan finds what a loop over the characters finds,
            /// at the same place.
            #[test]
            fn xml_char_scan_agrees_with_a_char_loop(
                cs in proptest::collection::vec(prop_oneof![
                    4 => any::<char>(),
                    1 => Just('\u{1}'),
                    1 => Just('\u{FFFE}'),
                    1 => Just('\u{FFFF}'),
                    1 => Just('\u{F000}'),
                    1 => Just('\n'),
                ], 0..200),
            ) {
                let s: String = cs.into_iter().collect();
                let expected = s.char_indices().find(|&(_, c)| !is_xml_char(c));
                prop_assert_eq!(first_non_xml_char(&s), expected);
            }
        }

        #[test]
        fn long_illegal_characters_are_found_in_every_chunk() {
            for at in [0, 63, 64, 65, 127, 128, 200] {
                let mut s = "x".repeat(at);
                s.push('\u{2}');
                s.push_str(&"y".repeat(70));
                assert_eq!(first_non_xml_char(&s), Some((at, '\u{2}')), "at {at}");
                let mut s = "x".repeat(at);
                s.push('\u{FFFF}');
                assert_eq!(first_non_xml_char(&s), Some((at, '\u{FFFF}')), "at {at}");
            }
        }

        #[test]
        fn illegal_characters_are_found() {
            assert_eq!(first_non_xml_char("abc\t\n\r"), None);
            assert_eq!(first_non_xml_char("ab\u{1}c"), Some((2, '\u{1}')));
            let long = format!("{}\u{FFFE}", "x".repeat(100));
            assert_eq!(first_non_xml_char(&long), Some((100, '\u{FFFE}')));
            assert_eq!(first_non_xml_char("\u{FFFD}\u{F000}"), None);
            // The chunk filter keeps what it saw: a second control character,
            // or a character led by 0xEF after one, does not hide the first.
            assert_eq!(first_non_xml_char("\u{1}\u{2}"), Some((0, '\u{1}')));
            assert_eq!(first_non_xml_char("\u{1}\u{F000}"), Some((0, '\u{1}')));
            // A text of nothing but line ends and a control character.
            assert_eq!(first_non_xml_char("\u{1}"), Some((0, '\u{1}')));
            assert_eq!(first_non_xml_char("\n\u{1}\r"), Some((1, '\u{1}')));
        }
    }

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
}
