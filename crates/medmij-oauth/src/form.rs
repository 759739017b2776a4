//! `application/x-www-form-urlencoded` for the authorization server's hot paths: a parser that
//! borrows every name and value that needs no decoding, and an encoder that appends to a
//! caller's buffer.
//!
//! Both give exactly the results of the `form_urlencoded` crate (WHATWG URL Standard 5.1 and
//! 5.2): `form_urlencoded::parse` and `form_urlencoded::byte_serialize`. The tests below check
//! that on arbitrary input.

use std::borrow::Cow;

/// The name/value pairs of `input`, in order: the same pairs as `form_urlencoded::parse`.
/// Sequences are split on `&` (empty ones skipped), then at the first `=`; `+` becomes a space,
/// `%XX` (two hex digits, either case) a byte, and the bytes are read as UTF-8 with U+FFFD for
/// invalid sequences. Names come decoded (borrowed unless they contain `+` or `%`); values come
/// as [`Field`]s, decoded when the caller asks.
pub(crate) fn parse(input: &str) -> Parse<'_> {
    Parse { rest: input }
}

/// A name or value as it stands in the input, and whether it has anything to decode.
#[derive(Clone, Copy)]
pub(crate) struct Field<'a> {
    raw: &'a str,
    special: bool,
}

/// The longest value [`Field::decode_in`] decodes into the caller's buffer; longer ones are
/// decoded into a new `String`.
pub(crate) const BUF_LEN: usize = 256;

impl<'a> Field<'a> {
    /// True if the value was sent empty (`name=` or a bare `name`): RFC 6749 3.1 and 3.2 treat
    /// it as omitted (MedMij OAUTH-3).
    pub(crate) fn is_empty(self) -> bool {
        self.raw.is_empty()
    }

    /// The decoded text; borrowed if there was nothing to decode.
    pub(crate) fn decode(self) -> Cow<'a, str> {
        if self.special {
            decode(self.raw)
        } else {
            Cow::Borrowed(self.raw)
        }
    }

    /// The decoded text, using `buf` instead of allocating when it fits (the same text as
    /// [`Field::decode`]).
    pub(crate) fn decode_in<'b>(self, buf: &'b mut [u8; BUF_LEN]) -> Cow<'b, str>
    where
        'a: 'b,
    {
        if !self.special {
            return Cow::Borrowed(self.raw);
        }
        if self.raw.len() > BUF_LEN {
            return decode(self.raw);
        }
        let n = decode_bytes(self.raw.as_bytes(), |chunk, at| {
            // `decode_bytes` writes below `raw.len()`, which fits in `buf`.
            if let Some(out) = buf.get_mut(at..at + chunk.len()) {
                out.copy_from_slice(chunk);
            }
        });
        let buf: &'b [u8; BUF_LEN] = buf;
        let decoded = buf.get(..n).unwrap_or_default();
        match std::str::from_utf8(decoded) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => Cow::Owned(String::from_utf8_lossy(decoded).into_owned()),
        }
    }
}

/// `&`, `=`, `%` and `+` repeated in every byte of a word, for [`special_mask`].
const fn splat(b: u8) -> u64 {
    0x0101_0101_0101_0101 * b as u64
}

/// A mask whose lowest set bit is the top bit of the first byte of `w` (little endian) that is
/// `&`, `=`, `%` or `+`; zero if there is none. (The classic "has zero byte" test per pattern:
/// bits above the first hit may be false positives, the lowest one is exact.)
fn special_mask(w: u64) -> u64 {
    const LO: u64 = splat(1);
    const HI: u64 = splat(0x80);
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    zero(w ^ splat(b'&')) | zero(w ^ splat(b'=')) | zero(w ^ splat(b'%')) | zero(w ^ splat(b'+'))
}

/// The index of the first `&`, `=`, `%` or `+` in `b` at or after `from`, or `b.len()`.
fn next_special(b: &[u8], mut from: usize) -> usize {
    while let Some(chunk) = b.get(from..from + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let m = special_mask(u64::from_le_bytes(w));
        if m != 0 {
            return from + (m.trailing_zeros() / 8) as usize;
        }
        from += 8;
    }
    // Fewer than 8 bytes left: pad with zero bytes, which are not special.
    let tail = b.get(from..).unwrap_or_default();
    let mut w = [0u8; 8];
    for (w, &t) in w.iter_mut().zip(tail) {
        *w = t;
    }
    let m = special_mask(u64::from_le_bytes(w));
    if m != 0 {
        from + (m.trailing_zeros() / 8) as usize
    } else {
        b.len()
    }
}

/// The iterator of [`parse`].
pub(crate) struct Parse<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Parse<'a> {
    type Item = (Cow<'a, str>, Field<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            // One pass over the sequence, from special byte to special byte: where it ends,
            // where its first `=` is, and whether the name or the value needs decoding.
            let b = self.rest.as_bytes();
            let mut eq = None;
            let (mut name_special, mut value_special) = (false, false);
            let mut i = next_special(b, 0);
            while let Some(&c) = b.get(i) {
                match c {
                    b'&' => break,
                    b'=' if eq.is_none() => eq = Some(i),
                    b'=' => {}
                    _ if eq.is_none() => name_special = true,
                    _ => value_special = true,
                }
                i = next_special(b, i + 1);
            }
            let end = i;
            // `end` and `eq` are at ASCII bytes: char boundaries.
            let sequence = &self.rest[..end];
            self.rest = self.rest.get(end + 1..).unwrap_or("");
            if sequence.is_empty() {
                continue;
            }
            let (name, value) = match eq {
                Some(i) => (&sequence[..i], &sequence[i + 1..]),
                None => (sequence, ""),
            };
            let name = Field {
                raw: name,
                special: name_special,
            };
            let value = Field {
                raw: value,
                special: value_special,
            };
            return Some((name.decode(), value));
        }
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// One name or value: `+` to space, then percent-decoding, then UTF-8 (lossy).
fn decode(s: &str) -> Cow<'_, str> {
    let mut out = Vec::with_capacity(s.len());
    decode_bytes(s.as_bytes(), |chunk, _| out.extend_from_slice(chunk));
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// Decodes `b` (`+` to space, `%XX` to a byte), handing the output to `put` in chunks with the
/// offset at which each goes; returns the decoded length (never more than `b.len()`).
fn decode_bytes(b: &[u8], mut put: impl FnMut(&[u8], usize)) -> usize {
    let special = |c: &u8| *c == b'+' || *c == b'%';
    let mut n = 0;
    let mut i = 0;
    while i < b.len() {
        // Copy the run up to the next `+` or `%` at once.
        let rest = b.get(i..).unwrap_or_default();
        let run = rest.iter().position(special).unwrap_or(rest.len());
        put(rest.get(..run).unwrap_or_default(), n);
        n += run;
        i += run;
        let Some(&c) = b.get(i) else { break };
        if c == b'%'
            && let Some(&[h, l]) = b.get(i + 1..i + 3)
            && let (Some(h), Some(l)) = (hex(h), hex(l))
        {
            put(&[h << 4 | l], n);
            i += 3;
        } else {
            put(&[if c == b'+' { b' ' } else { c }], n);
            i += 1;
        }
        n += 1;
    }
    n
}

/// Appends `value` form-encoded to `out`: the same text as `form_urlencoded::byte_serialize`
/// (`*-._`, ASCII letters and digits as they are, space as `+`, every other byte as `%XX` in
/// upper case).
pub(crate) fn encode_into(out: &mut String, value: &str) {
    let mut rest = value;
    while !rest.is_empty() {
        let bytes = rest.as_bytes();
        let n = bytes
            .iter()
            .position(|&c| !unchanged(c))
            .unwrap_or(bytes.len());
        out.push_str(&rest[..n]);
        let mut i = n;
        while let Some(&c) = bytes.get(i)
            && !unchanged(c)
        {
            if c == b' ' {
                out.push('+');
            } else {
                out.push('%');
                out.push(hex_digit(c >> 4).to_ascii_uppercase());
                out.push(hex_digit(c).to_ascii_uppercase());
            }
            i += 1;
        }
        // `i` is at the end or at an ASCII byte, so it is a char boundary.
        rest = &rest[i..];
    }
}

/// Whether [`encode_into`] writes `c` as it is: ASCII letters and digits, `*`, `-`, `.`, `_`.
fn unchanged(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'*' | b'-' | b'.' | b'_')
}

/// The lowercase hex digit of the low four bits of `n`.
pub(crate) fn hex_digit(n: u8) -> char {
    let n = n & 15;
    char::from(if n < 10 { b'0' + n } else { b'a' + (n - 10) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference(input: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(input.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    fn ours(input: &str) -> Vec<(String, String)> {
        let pairs: Vec<(String, String)> = parse(input)
            .map(|(k, v)| (k.into_owned(), v.decode().into_owned()))
            .collect();
        // Decoding into a buffer gives the same text.
        let mut buf = [0u8; BUF_LEN];
        for ((_, v), (_, expected)) in parse(input).zip(&pairs) {
            assert_eq!(&*v.decode_in(&mut buf), expected);
        }
        pairs
    }

    fn encoded(value: &str) -> String {
        let mut out = String::from("x=");
        encode_into(&mut out, value);
        out
    }

    #[test]
    fn parse_matches_form_urlencoded_on_edge_cases() {
        for input in [
            "",
            "&",
            "&&a=1&&",
            "a",
            "a=",
            "=b",
            "=",
            "a==b",
            "a=b=c",
            "a+b=c+d",
            "%41=%62%2B",
            "%=%%",
            "%4=%4g",
            "%g1=x%",
            "%%41",
            "a=%C3%A9",
            "a=%C3",
            "a=%FF%FE",
            "a=%E2%82",
            "é=ü&ü+%20=%7e",
            "redirect_uri=https%3A%2F%2Fpgo.example.nl%2Fcb&scope=umcharderwijk%7E1",
        ] {
            assert_eq!(ours(input), reference(input), "{input:?}");
        }
    }

    #[test]
    fn encode_matches_byte_serialize_on_edge_cases() {
        for value in [
            "",
            "k3Jx9qTz",
            "a b",
            "a+b",
            "~!*'();:@&=+$,/?#[]",
            "é\u{7f}\0",
            "%",
        ] {
            let expected: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
            assert_eq!(encoded(value), format!("x={expected}"), "{value:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn parse_matches_form_urlencoded(input in "[a-c=&+%0-9A-Fa-fgG\u{e9}\u{1F600} ]{0,40}") {
            prop_assert_eq!(ours(&input), reference(&input));
        }

        #[test]
        fn parse_matches_form_urlencoded_on_long_values(
            input in "([a-c=&+%0-9A-Fa-f\u{e9}]{0,3}[a-c%0-9A-F\u{e9}]{250,270}){0,3}",
        ) {
            prop_assert_eq!(ours(&input), reference(&input));
        }

        #[test]
        fn parse_matches_form_urlencoded_on_any_text(input in any::<String>()) {
            prop_assert_eq!(ours(&input), reference(&input));
        }

        #[test]
        fn encode_matches_byte_serialize(value in any::<String>()) {
            let expected: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
            prop_assert_eq!(encoded(&value), format!("x={expected}"));
        }
    }
}
