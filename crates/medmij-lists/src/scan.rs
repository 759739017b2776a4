//! Byte scans over short strings (element names, the whitespace between
//! elements, list values), eight bytes at a time in a `u64` ("SIMD within a
//! register"). The values are mostly 2 to 40 bytes long: too short for
//! `memchr`'s set-up cost to pay off, long enough that a byte loop shows in
//! profiles.
//!
//! These are the parse hot paths of the crate (the `zal_parse` benchmark,
//! BENCHMARKS.md): every element name, value and the whitespace between
//! elements goes through them. They are kept here, in one module, with their
//! differential tests: `scans_agree_with_byte_loops`,
//! `scans_find_bytes_near_the_needle` and `bytes_eq_agrees_with_slice_eq`
//! compare them on generated input with the plain byte loops they replace.
//!
//! Indexing here is into the input at offsets below a length checked on the
//! same or the enclosing line (`i + 8 <= n`, `n >= 8`, `n >= 4`) and into
//! fixed eight-byte words; `indexing_slicing` is allowed in this module
//! only, for the hot path.

#![allow(clippy::indexing_slicing)]

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;
const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;

/// The eight bytes of `b` from `i` as a little-endian word.
#[inline(always)]
fn load(b: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(w)
}

/// Whether `f` holds for some eight-byte word of `b`. The words cover every
/// byte: from eight bytes on, the last word overlaps the one before it
/// (harmless for these yes/no questions); four to seven bytes are two
/// overlapping halves; a shorter `b` is one word padded with `pad`. No variable-length copy, which would be a `memcpy` call.
#[inline(always)]
fn any_word(b: &[u8], pad: u8, f: impl Fn(u64) -> bool) -> bool {
    let n = b.len();
    if n >= 8 {
        let mut i = 0;
        while i + 8 <= n {
            if f(load(b, i)) {
                return true;
            }
            i += 8;
        }
        i < n && f(load(b, n - 8))
    } else if n >= 4 {
        // Two overlapping four-byte loads.
        let mut lo = [0u8; 4];
        let mut hi = [0u8; 4];
        lo.copy_from_slice(&b[..4]);
        hi.copy_from_slice(&b[n - 4..]);
        f(u64::from(u32::from_le_bytes(lo)) | (u64::from(u32::from_le_bytes(hi)) << 32))
    } else {
        // Zero to three bytes, each copied on its own.
        let mut w = [pad; 8];
        if let Some(&c) = b.first() {
            w[0] = c;
        }
        if let Some(&c) = b.get(1) {
            w[1] = c;
        }
        if let Some(&c) = b.get(2) {
            w[2] = c;
        }
        f(u64::from_le_bytes(w))
    }
}

/// Whether some byte of `w` is zero (exact as a yes/no answer).
#[inline(always)]
fn has_zero(w: u64) -> bool {
    w.wrapping_sub(LO) & !w & HI != 0
}

/// Whether `b` contains the byte `needle` (which must not be 0).
#[inline]
pub(crate) fn contains(b: &[u8], needle: u8) -> bool {
    let n = LO * u64::from(needle);
    any_word(b, 0, |w| has_zero(w ^ n))
}

/// Whether `b` contains `x` or `y` (neither may be 0).
#[inline]
pub(crate) fn contains2(b: &[u8], x: u8, y: u8) -> bool {
    let (nx, ny) = (LO * u64::from(x), LO * u64::from(y));
    any_word(b, 0, |w| has_zero(w ^ nx) | has_zero(w ^ ny))
}

/// Whether every byte of `b` is at most 0x20 (space).
///
/// In text that has passed the XML character check (no C0 controls other
/// than tab, line feed and carriage return) this is exactly "only XML
/// whitespace".
#[inline]
pub(crate) fn all_le_space(b: &[u8]) -> bool {
    // A byte is above 0x20 iff its high bit is set or its low seven bits
    // plus 0x5F carry into the high bit; no carry crosses a byte.
    const ADD: u64 = LO * 0x5F;
    !any_word(b, b' ', |w| (((w & LOW7) + ADD) | w) & HI != 0)
}

/// The position of the first `needle` in `b`.
#[inline]
pub(crate) fn find(b: &[u8], needle: u8) -> Option<usize> {
    if contains(b, needle) {
        b.iter().position(|&c| c == needle)
    } else {
        None
    }
}

/// Equality for the short strings of element names and prefixes. A plain
/// `==` calls `memcmp`, whose fixed cost dominated profiles of the
/// per-element name and prefix checks.
#[inline]
pub(crate) fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let n = a.len();
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    // Eight bytes at a time; the last word overlaps the one before it.
    let word = |s: &[u8], i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[i..i + 8]);
        u64::from_ne_bytes(w)
    };
    let mut i = 0;
    while i + 8 < n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn scans_agree_with_byte_loops(b in proptest::collection::vec(any::<u8>(), 0..40), x in 1u8.., y in 1u8..) {
            prop_assert_eq!(contains(&b, x), b.contains(&x));
            prop_assert_eq!(contains2(&b, x, y), b.iter().any(|&c| c == x || c == y));
            prop_assert_eq!(all_le_space(&b), b.iter().all(|&c| c <= b' '));
            prop_assert_eq!(find(&b, x), b.iter().position(|&c| c == x));
        }

        #[test]
        fn bytes_eq_agrees_with_slice_eq(
            a in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b')], 0..40),
            b in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b')], 0..40),
        ) {
            prop_assert_eq!(bytes_eq(&a, &b), a == b);
            prop_assert!(bytes_eq(&a, &a));
        }

        #[test]
        fn scans_find_bytes_near_the_needle(
            b in proptest::collection::vec(prop_oneof![Just(b' '), Just(b'!'), Just(b'\n'), Just(b'\r'), Just(b':'), Just(b';'), Just(0u8), Just(0xFFu8), Just(b']')], 0..40),
        ) {
            prop_assert_eq!(contains(&b, b':'), b.contains(&b':'));
            prop_assert_eq!(contains2(&b, b']', b'\r'), b.iter().any(|&c| c == b']' || c == b'\r'));
            prop_assert_eq!(all_le_space(&b), b.iter().all(|&c| c <= b' '));
        }
    }

    proptest! {
        /// Two strings that differ in one byte, wherever it is, are unequal.
        #[test]
        fn bytes_eq_finds_one_differing_byte(
            a in proptest::collection::vec(any::<u8>(), 1..64),
            at in any::<proptest::sample::Index>(),
            flip in 1u8..,
        ) {
            let mut b = a.clone();
            let i = at.index(a.len());
            b[i] ^= flip;
            prop_assert!(!bytes_eq(&a, &b), "differs at {} of {}", i, a.len());
            prop_assert!(bytes_eq(&a, &a.clone()));
        }
    }

    #[test]
    fn contains2_finds_both_needles_in_one_word() {
        assert!(contains2(b"]\r", b']', b'\r'));
        assert!(contains2(b"ab]cd\ref", b']', b'\r'));
        assert!(contains2(b"abcdefgh]\r", b']', b'\r'));
    }
}
