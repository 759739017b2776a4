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
/// invalid sequences. A name or value without `+` or `%` is borrowed.
pub(crate) fn parse(input: &str) -> Parse<'_> {
    Parse { rest: input }
}

/// The bytes [`Parse`] stops at: `&`, `=`, `%` and `+`.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'&' as usize] = true;
    t[b'=' as usize] = true;
    t[b'%' as usize] = true;
    t[b'+' as usize] = true;
    t
};

/// The iterator of [`parse`].
pub(crate) struct Parse<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Parse<'a> {
    type Item = (Cow<'a, str>, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            // One pass over the sequence: where it ends, where its first `=` is, and whether
            // the name or the value needs decoding.
            let b = self.rest.as_bytes();
            let mut eq = None;
            let (mut name_special, mut value_special) = (false, false);
            let mut end = b.len();
            for (i, &c) in b.iter().enumerate() {
                if !SPECIAL[usize::from(c)] {
                    continue;
                }
                match c {
                    b'&' => {
                        end = i;
                        break;
                    }
                    b'=' if eq.is_none() => eq = Some(i),
                    b'=' => {}
                    _ if eq.is_none() => name_special = true,
                    _ => value_special = true,
                }
            }
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
            let name = if name_special {
                decode(name)
            } else {
                Cow::Borrowed(name)
            };
            let value = if value_special {
                decode(value)
            } else {
                Cow::Borrowed(value)
            };
            return Some((name, value));
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
    let b = s.as_bytes();
    let special = |c: &u8| *c == b'+' || *c == b'%';
    let Some(first) = b.iter().position(special) else {
        return Cow::Borrowed(s);
    };
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..first]);
    let mut i = first;
    while i < b.len() {
        let c = b[i];
        if c == b'+' {
            out.push(b' ');
            i += 1;
        } else if c == b'%'
            && let Some(&[h, l]) = b.get(i + 1..i + 3)
            && let (Some(h), Some(l)) = (hex(h), hex(l))
        {
            out.push(h << 4 | l);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
        // Copy the run up to the next `+` or `%` at once.
        let run = b[i..].iter().position(special).unwrap_or(b.len() - i);
        out.extend_from_slice(&b[i..i + run]);
        i += run;
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// Appends `value` form-encoded to `out`: the same text as `form_urlencoded::byte_serialize`
/// (`*-._`, ASCII letters and digits as they are, space as `+`, every other byte as `%XX` in
/// upper case).
pub(crate) fn encode_into(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let unchanged = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'*' | b'-' | b'.' | b'_');
    let mut rest = value;
    while !rest.is_empty() {
        let n = rest.bytes().take_while(|&c| unchanged(c)).count();
        out.push_str(&rest[..n]);
        let bytes = rest.as_bytes();
        let mut i = n;
        while let Some(&c) = bytes.get(i)
            && !unchanged(c)
        {
            if c == b' ' {
                out.push('+');
            } else {
                out.push('%');
                out.push(char::from(HEX[usize::from(c >> 4)]));
                out.push(char::from(HEX[usize::from(c & 15)]));
            }
            i += 1;
        }
        // `i` is at the end or at an ASCII byte, so it is a char boundary.
        rest = &rest[i..];
    }
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
        parse(input)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
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
