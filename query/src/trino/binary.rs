//! Trino's `varbinary` functions: `to_utf8`, `from_utf8`, `to_hex`, `from_hex`, `md5`, `sha1`,
//! `sha256`, `sha512`, `crc32`, `xxhash64`, `to_base64`, `from_base64`, `to_base64url`,
//! `from_base64url`.
//!
//! ```sql
//! SELECT to_hex(md5(to_utf8('a')));                 -- 0CC175B9C0F1B6A831C399E269772661
//! SELECT to_hex(sha256(to_utf8(user_id))) FROM t;   -- a stable pseudonym
//! SELECT from_utf8(from_base64('aGVsbG8='));         -- hello
//! SELECT crc32(to_utf8('a'));                        -- 3904355907
//! ```
//! The rules are Trino's: hashes return `varbinary` (DataFusion's `md5` returns hex text),
//! `to_hex` writes upper-case digits, base64 is padded, `from_utf8` replaces invalid bytes with
//! U+FFFD, and `xxhash64` is the 8 bytes of the hash, big-endian. Text arguments are read as
//! their UTF-8 bytes. The `varbinary` type is Arrow's `Binary` ([`super::types`]); Trino's CLI
//! prints it as hex bytes separated by spaces ([`crate::render`]).
//! Trino: <https://trino.io/docs/current/functions/binary.html>.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, BinaryArray, Int64Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::error::Result;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use super::simple::{Simple, data_error, is_string, plan_error, utf8};

fn is_binary(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView
    ) || is_string(t)
}

/// The argument's bytes (text as UTF-8).
fn bytes(array: &ArrayRef) -> Result<BinaryArray> {
    Ok(cast(array, &DataType::Binary)?.as_binary::<i32>().clone())
}

/// A function from bytes to a value of type `result`, made by `f` for each non-null row.
macro_rules! over_bytes {
    ($name:literal, $result:expr, $out:ty, $f:expr) => {
        Simple::udf(
            $name,
            Signature::any(1, Volatility::Immutable),
            |a| {
                if is_binary(&a[0]) {
                    Ok($result)
                } else {
                    Err(plan_error($name, format!("takes varbinary, not {}", a[0])))
                }
            },
            |args, _| {
                let out: $out = bytes(&args[0])?.iter().map(|b| b.map($f)).collect();
                Ok(Arc::new(out))
            },
        )
    };
}

fn digest<D: Digest>(bytes: &[u8]) -> Vec<u8> {
    D::digest(bytes).to_vec()
}

fn to_hex(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let out: StringArray = if args[0].data_type().is_integer() {
        cast(&args[0], &DataType::Int64)?
            .as_primitive::<Int64Type>()
            .iter()
            .map(|n| n.map(|n| format!("{n:X}")))
            .collect()
    } else {
        bytes(&args[0])?
            .iter()
            .map(|b| b.map(hex::encode_upper))
            .collect()
    };
    Ok(Arc::new(out))
}

/// Text decoded to bytes by `decode`; text that does not decode is an error naming it.
fn decoded(
    function: &'static str,
    array: &ArrayRef,
    decode: impl Fn(&str) -> Option<Vec<u8>>,
) -> Result<ArrayRef> {
    let out = utf8(array)?
        .iter()
        .map(|t| {
            t.map(|t| decode(t).ok_or_else(|| data_error(function, format!("cannot decode {t:?}"))))
                .transpose()
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(BinaryArray::from_iter(out)))
}

fn text_to_bytes(
    name: &'static str,
    kernel: fn(&[ArrayRef], &DataType) -> Result<ArrayRef>,
) -> ScalarUDF {
    Simple::udf(
        name,
        Signature::any(1, Volatility::Immutable),
        move |a| {
            if is_string(&a[0]) {
                Ok(DataType::Binary)
            } else {
                Err(plan_error(
                    "from_hex/from_base64/to_utf8",
                    format!("takes varchar, not {}", a[0]),
                ))
            }
        },
        kernel,
    )
}

pub fn all() -> Vec<ScalarUDF> {
    vec![
        text_to_bytes("to_utf8", |args, _| {
            Ok(Arc::new(bytes(&args[0])?) as ArrayRef)
        }),
        text_to_bytes("from_hex", |args, _| {
            decoded("from_hex", &args[0], |t| hex::decode(t).ok())
        }),
        text_to_bytes("from_base64", |args, _| {
            decoded("from_base64", &args[0], |t| STANDARD.decode(t).ok())
        }),
        text_to_bytes("from_base64url", |args, _| {
            decoded("from_base64url", &args[0], |t| URL_SAFE.decode(t).ok())
        }),
        over_bytes!("from_utf8", DataType::Utf8, StringArray, |b: &[u8]| {
            String::from_utf8_lossy(b).into_owned()
        }),
        over_bytes!("to_base64", DataType::Utf8, StringArray, |b: &[u8]| {
            STANDARD.encode(b)
        }),
        over_bytes!("to_base64url", DataType::Utf8, StringArray, |b: &[u8]| {
            URL_SAFE.encode(b)
        }),
        over_bytes!("md5", DataType::Binary, BinaryArray, digest::<Md5>),
        over_bytes!("sha1", DataType::Binary, BinaryArray, digest::<Sha1>),
        over_bytes!("sha256", DataType::Binary, BinaryArray, digest::<Sha256>),
        over_bytes!("sha512", DataType::Binary, BinaryArray, digest::<Sha512>),
        over_bytes!("crc32", DataType::Int64, Int64Array, |b: &[u8]| i64::from(
            crc32fast::hash(b)
        )),
        over_bytes!("xxhash64", DataType::Binary, BinaryArray, |b: &[u8]| {
            twox_hash::XxHash64::oneshot(0, b).to_be_bytes().to_vec()
        }),
        Simple::udf(
            "to_hex",
            Signature::any(1, Volatility::Immutable),
            |a| {
                if is_binary(&a[0]) || a[0].is_integer() {
                    Ok(DataType::Utf8)
                } else {
                    Err(plan_error(
                        "to_hex",
                        format!("takes varbinary, not {}", a[0]),
                    ))
                }
            },
            to_hex,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::tests::{error, value};

    #[tokio::test]
    async fn hashes_and_encodes_as_trino_does() {
        assert_eq!(
            value("SELECT to_hex(md5(to_utf8('a')))").await,
            "0CC175B9C0F1B6A831C399E269772661"
        );
        assert_eq!(
            value("SELECT to_hex(sha1(to_utf8('a')))").await,
            "86F7E437FAA5A7FCE15D1DDCB9EAEAEA377667B8"
        );
        assert_eq!(
            value("SELECT to_hex(sha256(to_utf8('a')))").await,
            "CA978112CA1BBDCAFAC231B39A23DC4DA786EFF8147C4E72B9807785AFEE48BB"
        );
        assert_eq!(
            value("SELECT length(to_hex(sha512(to_utf8('a'))))").await,
            "128"
        );
        assert_eq!(value("SELECT crc32(to_utf8('a'))").await, "3904355907");
        assert_eq!(
            value("SELECT to_hex(xxhash64(to_utf8('')))").await,
            "EF46DB3751D8E999"
        );
        assert_eq!(
            value("SELECT to_base64(to_utf8('hello'))").await,
            "aGVsbG8="
        );
        assert_eq!(
            value("SELECT from_utf8(from_base64('aGVsbG8='))").await,
            "hello"
        );
        assert_eq!(value("SELECT from_utf8(from_hex('E282AC'))").await, "€");
        assert_eq!(value("SELECT from_utf8(from_hex('FF'))").await, "\u{FFFD}");
        assert_eq!(value("SELECT to_base64url(from_hex('FBFF'))").await, "-_8=");
        assert!(
            error("SELECT from_hex('XYZ')")
                .await
                .contains("cannot decode \"XYZ\"")
        );
    }
}
