//! Member names and short texts as serde reads them: borrowed from the record's bytes, owned
//! only when the JSON string had escapes; and [`Skip`], for the values a record holds that no
//! column reads.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde_json::value::RawValue;

/// A map key, borrowed from the input unless it had escapes.
pub enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl<'de> Key<'de> {
    pub fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }

    pub fn into_cow(self) -> Cow<'de, str> {
        match self {
            Key::Borrowed(s) => Cow::Borrowed(s),
            Key::Owned(s) => Cow::Owned(s),
        }
    }
}

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v.to_string()))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// How deep a value no column reads may nest: the levels serde_json allows a value it reads
/// (its recursion limit refuses the 128th).
pub const MAX_DEPTH: usize = 127;

/// A value read and dropped, held to what serde_json holds a value it reads to: at most
/// [`MAX_DEPTH`] levels deep, UTF-8, surrogates in pairs.
///
/// Not [`serde::de::IgnoredAny`], nor a `&RawValue` left unread: serde_json skips both with a
/// loop (`ignore_value`) that never counts the depth nor pairs surrogates, so a record holding a
/// 5,000-deep array under a member no column names became a row, while the same array under a
/// member a column reads is refused ("recursion limit exceeded"). `Skip` takes the value's text
/// as a `&RawValue` does (one pass: syntax and UTF-8 checked, nothing built), then
/// [`well_formed`] looks at it once more, cheaply: one vectorised count of its brackets, one
/// search for backslashes (walking it through `deserialize_any` instead cost twice the skip).
/// Numbers are not parsed: `1e400` where no column reads stays harmless, as before.
pub struct Skip;

impl<'de> de::Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw: &'de RawValue = de::Deserialize::deserialize(d)?;
        well_formed(raw.get()).map_err(de::Error::custom)?;
        Ok(Skip)
    }
}

/// Whether the JSON text `json` (its syntax checked already, as a `&RawValue`'s is) is what
/// serde_json reads as a value: at most [`MAX_DEPTH`] levels deep, every surrogate escape a
/// leading one followed by a trailing one. `Err` is the reason, in serde_json's words.
pub fn well_formed(json: &str) -> Result<(), String> {
    if !nests_within(json, MAX_DEPTH) {
        return Err(format!(
            "recursion limit exceeded: nested more than {MAX_DEPTH} levels deep"
        ));
    }
    if !surrogates_paired(json) {
        return Err("lone surrogate in hex escape".into());
    }
    Ok(())
}

/// Whether the JSON text `json` (syntax checked already) nests at most `limit` arrays and
/// objects deep.
pub fn nests_within(json: &str, limit: usize) -> bool {
    let bytes = json.as_bytes();
    // no more brackets than the limit, strings' included: it cannot be deeper (the common
    // case, decided by one vectorised count)
    if memchr::memchr2_iter(b'[', b'{', bytes).count() <= limit {
        return true;
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// Whether every `\uD800`-`\uDFFF` escape of the JSON text `json` (syntax checked already:
/// each `\u` has its four hex digits) is a leading surrogate followed by a trailing one.
fn surrogates_paired(json: &str) -> bool {
    let bytes = json.as_bytes();
    let unit = |at: usize| -> Option<u16> {
        let hex = bytes.get(at..at + 4)?;
        u16::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
    };
    let mut at = 0;
    // outside strings there are no backslashes; inside, each one starts an escape
    while let Some(found) = bytes.get(at..).and_then(|rest| memchr::memchr(b'\\', rest)) {
        let i = at + found;
        at = i + 2;
        if bytes.get(i + 1) != Some(&b'u') {
            continue;
        }
        at = i + 6;
        match unit(i + 2) {
            Some(0xD800..=0xDBFF) => {
                let trailing = bytes.get(i + 6..i + 8) == Some(b"\\u".as_slice())
                    && matches!(unit(i + 8), Some(0xDC00..=0xDFFF));
                if !trailing {
                    return false;
                }
                at = i + 12;
            }
            Some(0xDC00..=0xDFFF) | None => return false,
            Some(_) => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn skip_takes_any_value_within_the_depth_limit_and_refuses_deeper_ones() {
        for ok in [
            "null",
            "true",
            "-1.5e300",
            "1e400",
            r#""a\"\u00e9\ud83d\ude00""#,
            r#"{"a":[1,{"b":null}],"c":{}}"#,
            // brackets in strings are no levels
            &format!(r#"["{}"]"#, "[{".repeat(200)),
            &format!(r#"{{"a":{}}}"#, nested(126)),
        ] {
            serde_json::from_str::<Skip>(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        // what IgnoredAny lets through
        let deep = format!(r#"{{"a":{}}}"#, nested(5_000));
        serde_json::from_str::<de::IgnoredAny>(&deep).unwrap();
        for too_deep in [deep, format!(r#"{{"a":{}}}"#, nested(128))] {
            let e = serde_json::from_str::<Skip>(&too_deep)
                .err()
                .unwrap()
                .to_string();
            assert!(e.starts_with("recursion limit exceeded"), "{e}");
        }
        assert!(serde_json::from_str::<Skip>("[1,]").is_err());
        for lone in [
            r#""\ud800""#,
            r#""\udfff""#,
            r#"["\ud83dx"]"#,
            r#"{"a":"\ude00\ud83d"}"#,
        ] {
            let e = serde_json::from_str::<Skip>(lone)
                .err()
                .unwrap()
                .to_string();
            assert!(e.starts_with("lone surrogate"), "{lone}: {e}");
        }
        // an escaped backslash before a u is no escape
        serde_json::from_str::<Skip>(r#""\\ud800 \u00e9 \ud83d\ude00""#).unwrap();
        assert!(serde_json::from_slice::<Skip>(b"\"\xff\"").is_err());
    }

    #[test]
    fn depth_is_counted_outside_strings_only() {
        assert!(nests_within(&nested(127), 127));
        assert!(!nests_within(&nested(128), 127));
        let escaped = format!(r#"["\"{}\\", {}]"#, "[".repeat(300), nested(126));
        assert!(nests_within(&escaped, 127), "{escaped}");
        let past = format!(r#"["\\", {}]"#, nested(127));
        assert!(!nests_within(&past, 127));
    }
}
