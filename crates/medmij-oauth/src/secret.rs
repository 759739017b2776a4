//! Authorization codes and access tokens (MedMij OAUTH-6), their hashes at rest
//! (OAUTH-14, RFC 6819 4.3.2 / 4.4.1.2) and the injectable random source.

use sha2::{Digest, Sha256};
use std::fmt;
use std::hash::{Hash, Hasher};
use uuid::Uuid;

/// A source of random bytes for codes and tokens (MedMij OAUTH-6).
///
/// Production code uses [`ThreadRandom`], a CSPRNG. Tests inject a source that repeats
/// values to prove that the authorization server draws again on a collision.
pub trait RandomSource {
    /// Fills `dest` with random bytes.
    fn fill(&self, dest: &mut [u8; 16]);
}

/// The default random source: `rand`'s thread-local CSPRNG (ChaCha12, seeded and periodically
/// reseeded from the operating system).
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadRandom;

impl RandomSource for ThreadRandom {
    fn fill(&self, dest: &mut [u8; 16]) {
        rand::fill(&mut dest[..]);
    }
}

impl<T: RandomSource + ?Sized> RandomSource for &T {
    fn fill(&self, dest: &mut [u8; 16]) {
        (**self).fill(dest)
    }
}

impl<T: RandomSource + ?Sized> RandomSource for std::sync::Arc<T> {
    fn fill(&self, dest: &mut [u8; 16]) {
        (**self).fill(dest)
    }
}

/// Draws a random UUID version 4 (RFC 9562 4.4) from `random`.
pub(crate) fn draw_uuid(random: &impl RandomSource) -> Uuid {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Parses the canonical lowercase hyphenated text of a version 4 UUID, nothing else: 36
/// characters, hyphens at 8, 13, 18 and 23, lowercase hex digits elsewhere, version 4 and the
/// RFC 9562 variant (`10` in the top bits of byte 8).
pub(crate) fn parse_canonical_v4(s: &str) -> Option<Uuid> {
    let b: &[u8; 36] = s.as_bytes().try_into().ok()?;
    if b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    let mut bytes = [0u8; 16];
    let mut invalid = 0u8;
    // The four hyphens split the text into runs of 8, 4, 4, 4 and 12 hex digits.
    let mut out = bytes.iter_mut();
    for (start, end) in [(0, 8), (9, 13), (14, 18), (19, 23), (24, 36)] {
        let (pairs, _) = b.get(start..end).unwrap_or_default().as_chunks::<2>();
        for &[h, l] in pairs {
            let (h, l) = (hex_value(h), hex_value(l));
            invalid |= h;
            invalid |= l;
            if let Some(o) = out.next() {
                *o = h << 4 | l;
            }
        }
    }
    // Version 4, RFC 9562 variant.
    (invalid & 0xf0 == 0 && bytes[6] >> 4 == 4 && bytes[8] & 0xc0 == 0x80)
        .then(|| Uuid::from_bytes(bytes))
}

/// The value of a lowercase hex digit; `0xff` for every other byte.
fn hex_value(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => 0xff,
    }
}

/// The SHA-256 hash of a code or token text: the only form in which a store keeps them
/// (MedMij OAUTH-14, RFC 6819 4.3.2 and 4.4.1.2; LOG-4).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    /// Wraps 32 bytes (for stores that read hashes back).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The hash bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn of_uuid(u: &Uuid) -> Self {
        let mut buf = [0u8; 36];
        Self::of_text(u.hyphenated().encode_lower(&mut buf))
    }

    /// The hash of a canonical text (as checked by `parse`): the same as hashing the parsed
    /// value, without printing it again.
    fn of_text(text: &str) -> Self {
        match text.as_bytes().try_into() {
            Ok(text) => Self(sha256_of_36(text)),
            Err(_) => Self(Sha256::digest(text.as_bytes()).into()),
        }
    }
}

/// SHA-256 (FIPS 180-4) of a 36-byte message, the length of every code and token text: the
/// message and its padding fill exactly one block, which goes straight to the compression
/// function of `sha2` (the same digest as `Sha256::digest`, tested; without the streaming
/// buffer around it).
fn sha256_of_36(text: &[u8; 36]) -> [u8; 32] {
    const H0: [u32; 8] = [
        0x6a09_e667,
        0xbb67_ae85,
        0x3c6e_f372,
        0xa54f_f53a,
        0x510e_527f,
        0x9b05_688c,
        0x1f83_d9ab,
        0x5be0_cd19,
    ];
    let mut block = [0u8; 64];
    block[..36].copy_from_slice(text);
    // FIPS 180-4 5.1.1: a 1 bit, zeros, and the length in bits as a 64-bit big-endian number.
    block[36] = 0x80;
    block[56..].copy_from_slice(&(36u64 * 8).to_be_bytes());
    let mut state = H0;
    sha2::block_api::compress256(&mut state, &[block]);
    let mut out = [0u8; 32];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

impl Hash for SecretHash {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(&self.0);
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(")?;
        for b in &self.0[..8] {
            write!(f, "{b:02x}")?;
        }
        f.write_str("..)")
    }
}

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq)]
        pub struct $name(Uuid);

        impl $name {
            /// Parses the canonical lowercase text form of a UUID v4 (MedMij OAUTH-6);
            /// anything else (upper case, braces, URN form, other versions) is refused.
            pub fn parse(s: &str) -> Option<Self> {
                parse_canonical_v4(s).map($name)
            }

            /// Parses like [`Self::parse`] and also returns the hash, computed from `s` itself
            /// (which is the canonical text).
            #[allow(dead_code, reason = "not every secret type is read from a request")]
            pub(crate) fn parse_hashed(s: &str) -> Option<(Self, SecretHash)> {
                let v = Self::parse(s)?;
                Some((v, SecretHash::of_text(s)))
            }

            /// Draws a fresh random value (UUID v4, MedMij OAUTH-6). The authorization server
            /// does this itself, checking for collisions; this is for stores, tests and
            /// benchmarks.
            pub fn random(random: &impl RandomSource) -> Self {
                $name(draw_uuid(random))
            }

            /// The SHA-256 hash under which stores keep this value (MedMij OAUTH-14).
            pub fn hash(&self) -> SecretHash {
                SecretHash::of_uuid(&self.0)
            }

            /// The canonical lowercase text (to put on the wire; never into a log, MedMij LOG-4).
            pub fn secret_text(&self) -> String {
                self.0.hyphenated().to_string()
            }

            /// Writes the canonical lowercase text into `buf` without allocating.
            pub fn encode<'b>(&self, buf: &'b mut [u8; 36]) -> &'b str {
                self.0.hyphenated().encode_lower(buf)
            }
        }

        impl fmt::Display for $name {
            /// Writes the canonical lowercase text (MedMij OAUTH-6).
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            /// Redacted: codes and tokens never appear in clear in logs (MedMij LOG-4).
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!($label, "(<redacted>)"))
            }
        }
    };
}

secret_type!(
    /// An authorization code: a random UUID v4 in canonical lowercase text (MedMij OAUTH-6),
    /// valid for 900 seconds (OAUTH-7), usable once (OAUTH-8).
    ///
    /// ```
    /// use medmij_oauth::Code;
    /// assert!(Code::parse("3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b").is_some());
    /// assert!(Code::parse("3F2B8C1E-9D4A-4F6B-8E2A-1C3D5E7F9A0B").is_none()); // not canonical
    /// assert!(Code::parse("3f2b8c1e-9d4a-1f6b-8e2a-1c3d5e7f9a0b").is_none()); // version 1
    /// ```
    Code,
    "Code"
);

secret_type!(
    /// An access token: a random UUID v4 in canonical lowercase text (MedMij OAUTH-6), a
    /// Bearer token (OAUTH-2) valid for 900 seconds (OAUTH-7).
    AccessToken,
    "AccessToken"
);

secret_type!(
    /// A refresh token (2.x, MedMij OAUTH-19): a random UUID v4 in canonical lowercase text
    /// (OAUTH-6), valid for six months from issue (provisional, [`crate::V2Config`]), retired
    /// at its first use (rotation). Stores keep its hash only (OAUTH-14); never logged (LOG-4).
    RefreshToken,
    "RefreshToken"
);

secret_type!(
    /// The identifier of a pending authorization flow in a [`FlowStore`](crate::FlowStore): a
    /// random UUID v4 the person's user agent carries (for example in a cookie) from step to
    /// step. It is a bearer secret of the person's session: stores key on its hash (MedMij
    /// OAUTH-14) and it never appears in clear in a log (LOG-4).
    FlowId,
    "FlowId"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_values_are_canonical_v4() {
        for _ in 0..1000 {
            let c = Code::random(&ThreadRandom);
            let text = c.to_string();
            assert_eq!(text, text.to_lowercase());
            assert_eq!(Code::parse(&text), Some(c), "round trip of {text}");
            assert_eq!(c.0.get_version_num(), 4);
        }
    }

    #[test]
    fn non_canonical_forms_are_refused() {
        let good = "3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b";
        assert!(AccessToken::parse(good).is_some());
        for bad in [
            "3f2b8c1e9d4a4f6b8e2a1c3d5e7f9a0b",
            "{3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b}",
            "urn:uuid:3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b",
            "3f2b8c1e-9d4a-4f6b-ce2a-1c3d5e7f9a0b", // wrong variant
            "3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0",
            " 3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b",
        ] {
            assert!(AccessToken::parse(bad).is_none(), "{bad}");
        }
    }

    /// The direct parser against the `uuid` crate's: same acceptance, same value.
    fn reference_parse(s: &str) -> Option<Uuid> {
        let canonical = s.len() == 36
            && s.bytes().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == b'-',
                _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
            });
        let u = Uuid::try_parse(s).ok().filter(|_| canonical)?;
        (u.get_version_num() == 4 && u.get_variant() == uuid::Variant::RFC4122).then_some(u)
    }

    #[test]
    fn parse_agrees_with_uuid_crate() {
        let good = "3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b";
        let mut cases = vec![good.to_owned(), good.to_uppercase(), String::new()];
        // Every single-character change of a valid value, at every position.
        for i in 0..36 {
            for c in "0123456789abcdefABCDEFgz-{ ".chars() {
                let mut t = good.to_owned();
                t.replace_range(i..i + 1, &c.to_string());
                cases.push(t);
            }
        }
        for _ in 0..1000 {
            cases.push(Code::random(&ThreadRandom).to_string());
            let mut raw = [0u8; 16];
            ThreadRandom.fill(&mut raw);
            cases.push(Uuid::from_bytes(raw).hyphenated().to_string());
        }
        for s in &cases {
            assert_eq!(parse_canonical_v4(s), reference_parse(s), "{s:?}");
            if let Some((c, h)) = Code::parse_hashed(s) {
                assert_eq!(h, c.hash(), "{s:?}");
            }
        }
    }

    #[test]
    fn one_block_sha256_is_sha256() {
        let mut text = [0u8; 36];
        for i in 0..2000u32 {
            for (j, b) in text.iter_mut().enumerate() {
                *b = (i.wrapping_mul(2_654_435_761) >> (j % 24)) as u8 ^ j as u8;
            }
            let expected: [u8; 32] = Sha256::digest(text).into();
            assert_eq!(sha256_of_36(&text), expected);
        }
        for s in [
            "",
            "abc",
            "3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0",
            "x".repeat(37).as_str(),
        ] {
            let expected: [u8; 32] = Sha256::digest(s.as_bytes()).into();
            assert_eq!(SecretHash::of_text(s).0, expected, "{s:?}");
        }
    }

    #[test]
    fn hash_is_sha256_of_text_and_debug_is_redacted() {
        let c = Code::parse("3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b").unwrap();
        let expected: [u8; 32] = Sha256::digest(b"3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b").into();
        assert_eq!(c.hash().as_bytes(), &expected);
        assert_eq!(format!("{c:?}"), "Code(<redacted>)");
    }
}
