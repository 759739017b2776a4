//! The hand-optimised LISTS-3 and LISTS-4 pattern checks: one table-driven
//! pass over the bytes instead of a regular expression. Kept here, in one
//! module, with their differential test: `one_pass_uri_check_agrees_with_reference`
//! compares them on generated input with the straightforward checks they
//! replaced (the benchmark `lists_parse` justifies them: every endpoint of a
//! ZAL goes through them).
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
}
