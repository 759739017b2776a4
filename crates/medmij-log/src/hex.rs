//! Lowercase hexadecimal, on the `base16ct` crate (constant-time, lowercase
//! only: uppercase digits are refused when decoding, as before).

/// Lowercase hex of `bytes`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(bytes)
}

/// Appends lowercase hex of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + base16ct::encoded_len(bytes), 0);
    if let Some(tail) = out.get_mut(start..) {
        // `tail` is exactly `encoded_len(bytes)` long, so this cannot fail.
        let encoded = base16ct::lower::encode(bytes, tail);
        debug_assert!(encoded.is_ok());
    }
}

/// Decodes exactly `N` bytes of lowercase hex.
pub(crate) fn decode<const N: usize>(s: &[u8]) -> Option<[u8; N]> {
    if s.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    base16ct::lower::decode(s, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    /// The hand-written codec this module replaced: the reference the
    /// `base16ct` wrappers must agree with.
    mod reference {
        const H: &[u8; 16] = b"0123456789abcdef";

        pub(super) fn encode(bytes: &[u8]) -> String {
            let mut s = String::with_capacity(bytes.len() * 2);
            for b in bytes {
                s.push(H[(b >> 4) as usize] as char);
                s.push(H[(b & 15) as usize] as char);
            }
            s
        }

        fn nibble(c: u8) -> Option<u8> {
            match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            }
        }

        pub(super) fn decode<const N: usize>(s: &[u8]) -> Option<[u8; N]> {
            if s.len() != 2 * N {
                return None;
            }
            let mut out = [0u8; N];
            for (i, o) in out.iter_mut().enumerate() {
                *o = (nibble(s[2 * i])? << 4) | nibble(s[2 * i + 1])?;
            }
            Some(out)
        }
    }

    fn hexish() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop::sample::select(b"0123456789abcdefABCDEFgz \x00\xff".to_vec()),
            0..70,
        )
    }

    proptest! {
        #[test]
        fn encode_matches_the_reference(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
            prop_assert_eq!(super::encode(&bytes), reference::encode(&bytes));
            let mut out = b"prefix".to_vec();
            super::encode_into(&bytes, &mut out);
            prop_assert_eq!(out, [b"prefix".as_slice(), reference::encode(&bytes).as_bytes()].concat());
        }

        #[test]
        fn decode_matches_the_reference(s in hexish()) {
            prop_assert_eq!(super::decode::<32>(&s), reference::decode::<32>(&s));
            prop_assert_eq!(super::decode::<4>(&s), reference::decode::<4>(&s));
        }

        #[test]
        fn decode_matches_the_reference_on_64_digits(s in prop::collection::vec(
            prop::sample::select(b"0123456789abcdefABCDEFg".to_vec()), 64..=64)) {
            prop_assert_eq!(super::decode::<32>(&s), reference::decode::<32>(&s));
        }

        #[test]
        fn round_trip(bytes in any::<[u8; 32]>()) {
            prop_assert_eq!(super::decode::<32>(super::encode(&bytes).as_bytes()), Some(bytes));
        }
    }

    #[test]
    fn uppercase_is_refused() {
        assert_eq!(super::decode::<1>(b"AB"), None);
        assert_eq!(super::decode::<1>(b"ab"), Some([0xab]));
        assert_eq!(super::decode::<1>(b"abc"), None);
    }
}
