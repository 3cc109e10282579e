//! `format(format, args…)`: Java's `String.format`, which Trino calls with the arguments as Java
//! values.
//!
//! ```sql
//! SELECT format('%s%%', 123);                      -- 123%
//! SELECT format('%.5f', pi());                     -- 3.14159
//! SELECT format('%03d', 8);                        -- 008
//! SELECT format('%,.2f', 1234567.89);              -- 1,234,567.89
//! SELECT format('%-7s,%7s', 'hello', 'world');     -- hello  ,  world
//! SELECT format('%2$s %3$s %1$s', 'a', 'b', 'c');  -- b c a
//! SELECT format('%1$tA, %1$tB %1$te, %1$tY', date '2006-07-04');  -- Tuesday, July 4, 2006
//! ```
//! Specifiers are `%[index$][flags][width][.precision]conversion`, with the flags `-#+ 0,(<`
//! and the conversions `b s d o x e f g % n` (upper case too), and `t`/`T` followed by a date
//! or time field (`Y y C m d e j B b h A a H I k l M S L N p s Q R T r D F z`). Trino's
//! argument types decide what a conversion accepts: integers are Java `long`s (`%x` of -1 is
//! `ffffffffffffffff`; `%f` of an integer fails), decimals `BigDecimal`s (exact digits),
//! doubles round half up from their shortest digits, dates, timestamps and timestamps with
//! time zone are `LocalDate`, `LocalDateTime` and `ZonedDateTime` (their `%s` is Java's
//! `2006-07-04T10:00`). A bad format fails as Trino's does, "Invalid format string". Not
//! provided: `%h`, `%c`, `%a` and the zone name `%tZ`/`%tc` (an error, never another text).
//! Trino: <https://trino.io/docs/current/functions/conversion.html#format>.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, Timelike};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Float32Type, Float64Type, Int64Type};
use datafusion::error::Result;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use super::simple::{Simple, data_error, is_string, plan_error, utf8};
use super::time::{instants, local_datetimes};
use crate::render::java_double;

/// An argument as the Java value Trino passes.
#[derive(Debug, Clone)]
enum Arg {
    Null,
    Bool(bool),
    Long(i64),
    Double(f64),
    Decimal(i128, i8),
    Text(String),
    Date(NaiveDate),
    Local(NaiveDateTime),
    Zoned {
        local: NaiveDateTime,
        offset: i32,
        zone: String,
    },
}

fn formattable(t: &DataType) -> bool {
    is_string(t)
        || t.is_integer()
        || matches!(
            t,
            DataType::Boolean
                | DataType::Float32
                | DataType::Float64
                | DataType::Decimal32(..)
                | DataType::Decimal64(..)
                | DataType::Decimal128(..)
                | DataType::Date32
                | DataType::Date64
                | DataType::Timestamp(_, _)
        )
}

fn return_type(args: &[DataType]) -> Result<DataType> {
    match args.split_first() {
        Some((f, rest)) if is_string(f) => match rest.iter().find(|t| !formattable(t)) {
            Some(t) => Err(plan_error(
                "format",
                format!("cannot format a value of type {t}"),
            )),
            None => Ok(DataType::Utf8),
        },
        _ => Err(plan_error("format", "takes a format string and the values")),
    }
}

/// A column's values as Java values.
fn column(array: &ArrayRef) -> Result<Vec<Arg>> {
    let t = array.data_type();
    let nullable =
        |values: Vec<Option<Arg>>| values.into_iter().map(|v| v.unwrap_or(Arg::Null)).collect();
    Ok(match t {
        DataType::Null => vec![Arg::Null; array.len()],
        DataType::Boolean => nullable(
            array
                .as_boolean()
                .iter()
                .map(|v| v.map(Arg::Bool))
                .collect(),
        ),
        t if t.is_integer() => nullable(
            cast(array, &DataType::Int64)?
                .as_primitive::<Int64Type>()
                .iter()
                .map(|v| v.map(Arg::Long))
                .collect(),
        ),
        // a real's shortest digits, as Java's float
        DataType::Float32 => nullable(
            array
                .as_primitive::<Float32Type>()
                .iter()
                .map(|v| v.map(|v| Arg::Double(v.to_string().parse().unwrap_or(v as f64))))
                .collect(),
        ),
        DataType::Float64 => nullable(
            array
                .as_primitive::<Float64Type>()
                .iter()
                .map(|v| v.map(Arg::Double))
                .collect(),
        ),
        DataType::Decimal32(_, s) | DataType::Decimal64(_, s) | DataType::Decimal128(_, s) => {
            let scale = *s;
            let decimals = cast(array, &DataType::Decimal128(38, scale))?;
            nullable(
                decimals
                    .as_primitive::<Decimal128Type>()
                    .iter()
                    .map(|v| v.map(|v| Arg::Decimal(v, scale)))
                    .collect(),
            )
        }
        t if is_string(t) => nullable(
            utf8(array)?
                .iter()
                .map(|v| v.map(|v| Arg::Text(v.to_string())))
                .collect(),
        ),
        DataType::Date32 | DataType::Date64 => nullable(
            local_datetimes(array)?
                .into_iter()
                .map(|v| v.map(|v| Arg::Date(v.date())))
                .collect(),
        ),
        DataType::Timestamp(_, None) => nullable(
            local_datetimes(array)?
                .into_iter()
                .map(|v| v.map(Arg::Local))
                .collect(),
        ),
        DataType::Timestamp(_, Some(zone)) => {
            let tz = Tz::from_str(zone)?;
            nullable(
                instants(array)?
                    .into_iter()
                    .map(|v| {
                        v.map(|utc| {
                            let instant = utc.with_timezone(&tz);
                            Arg::Zoned {
                                local: instant.naive_local(),
                                offset: instant.offset().fix().local_minus_utc(),
                                zone: zone.to_string(),
                            }
                        })
                    })
                    .collect(),
            )
        }
        other => {
            return Err(plan_error(
                "format",
                format!("cannot format a value of type {other}"),
            ));
        }
    })
}

fn format_kernel(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let formats = utf8(&args[0])?;
    let columns = args[1..].iter().map(column).collect::<Result<Vec<_>>>()?;
    let mut parsed: Option<(String, Vec<Piece>)> = None;
    let mut out = Vec::with_capacity(formats.len());
    for row in 0..formats.len() {
        if formats.is_null(row) {
            out.push(None);
            continue;
        }
        let text = formats.value(row);
        if parsed.as_ref().is_none_or(|(f, _)| f != text) {
            let pieces = parse(text).map_err(|e| invalid(text, e))?;
            parsed = Some((text.to_string(), pieces));
        }
        let pieces = &parsed.as_ref().expect("parsed above").1;
        let values: Vec<&Arg> = columns.iter().map(|c| &c[row]).collect();
        out.push(Some(render(pieces, &values).map_err(|e| invalid(text, e))?));
    }
    Ok(Arc::new(StringArray::from(out)))
}

fn invalid(format: &str, reason: String) -> datafusion::error::DataFusionError {
    data_error(
        "format",
        format!("Invalid format string: {format} ({reason})"),
    )
}

pub fn udf() -> ScalarUDF {
    Simple::udf(
        "format",
        Signature::variadic_any(Volatility::Immutable),
        return_type,
        format_kernel,
    )
}

#[derive(Debug, Default, Clone, Copy)]
struct Flags {
    left: bool,
    alternate: bool,
    plus: bool,
    space: bool,
    zero: bool,
    group: bool,
    paren: bool,
}

#[derive(Debug, Clone, Copy)]
enum Index {
    Next,
    At(usize),
    Previous,
}

#[derive(Debug, Clone)]
struct Spec {
    text: String,
    index: Index,
    flags: Flags,
    width: Option<usize>,
    precision: Option<usize>,
    /// `t` or `T`: the conversion is a date or time field
    time: bool,
    upper: bool,
    conversion: char,
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Spec(Spec),
}

fn parse(format: &str) -> Result<Vec<Piece>, String> {
    let chars: Vec<char> = format.chars().collect();
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < chars.len() && chars[*i].is_ascii_digit() {
            *i += 1;
        }
        (start < *i).then(|| chars[start..*i].iter().collect::<String>())
    };
    while i < chars.len() {
        if chars[i] != '%' {
            text.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        let mut index = Index::Next;
        let before = i;
        if let Some(n) = digits(&mut i) {
            if chars.get(i) == Some(&'$') {
                i += 1;
                let n: usize = n
                    .parse()
                    .map_err(|_| format!("IllegalFormatArgumentIndex: {n}"))?;
                if n == 0 {
                    return Err("IllegalFormatArgumentIndex: 0".into());
                }
                index = Index::At(n);
            } else {
                i = before;
            }
        }
        let mut flags = Flags::default();
        while let Some(&c) = chars.get(i) {
            let flag = match c {
                '-' => &mut flags.left,
                '#' => &mut flags.alternate,
                '+' => &mut flags.plus,
                ' ' => &mut flags.space,
                '0' => &mut flags.zero,
                ',' => &mut flags.group,
                '(' => &mut flags.paren,
                '<' => {
                    index = Index::Previous;
                    i += 1;
                    continue;
                }
                _ => break,
            };
            if *flag {
                return Err(format!("DuplicateFormatFlags: Flags = '{c}'"));
            }
            *flag = true;
            i += 1;
        }
        let width = digits(&mut i)
            .map(|w| {
                w.parse::<usize>()
                    .map_err(|_| format!("IllegalFormatWidth: {w}"))
            })
            .transpose()?;
        let precision = if chars.get(i) == Some(&'.') {
            i += 1;
            let p = digits(&mut i).ok_or_else(|| {
                format!(
                    "IllegalFormatPrecision: {}",
                    chars[start..i].iter().collect::<String>()
                )
            })?;
            Some(
                p.parse::<usize>()
                    .map_err(|_| format!("IllegalFormatPrecision: {p}"))?,
            )
        } else {
            None
        };
        let time = matches!(chars.get(i), Some('t' | 'T'));
        let upper = chars.get(i).is_some_and(|c| c.is_ascii_uppercase());
        if time {
            i += 1;
        }
        let Some(&conversion) = chars.get(i) else {
            return Err(format!(
                "UnknownFormatConversion: Conversion = '{}'",
                if time { chars[i - 1] } else { '%' }
            ));
        };
        i += 1;
        let spec_text: String = chars[start..i].iter().collect();
        let known = if time {
            "HIklMSLNpzZsQBbhAaCYyjmdeRTrDFc".contains(conversion)
        } else {
            "bBhHsScCdoxXeEfgGaA%n".contains(conversion)
        };
        if !known {
            return Err(format!(
                "UnknownFormatConversion: Conversion = '{}'",
                if time {
                    format!("{}{conversion}", chars[i - 2])
                } else {
                    conversion.to_string()
                }
            ));
        }
        if (flags.left || flags.zero) && width.is_none() {
            return Err(format!("MissingFormatWidth: {spec_text}"));
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        let conversion = if time {
            conversion
        } else {
            conversion.to_ascii_lowercase()
        };
        pieces.push(Piece::Spec(Spec {
            text: spec_text,
            index,
            flags,
            width,
            precision,
            time,
            upper,
            conversion,
        }));
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

fn render(pieces: &[Piece], args: &[&Arg]) -> Result<String, String> {
    let mut out = String::new();
    let mut ordinary = 0;
    let mut last: Option<usize> = None;
    for piece in pieces {
        let spec = match piece {
            Piece::Text(t) => {
                out.push_str(t);
                continue;
            }
            Piece::Spec(s) => s,
        };
        if !spec.time && spec.conversion == '%' {
            out.push_str(&justify("%".into(), spec));
            continue;
        }
        if !spec.time && spec.conversion == 'n' {
            out.push('\n');
            continue;
        }
        let position = match spec.index {
            Index::Next => {
                ordinary += 1;
                ordinary - 1
            }
            Index::At(n) => n - 1,
            Index::Previous => last.ok_or_else(|| {
                format!("MissingFormatArgument: Format specifier '{}'", spec.text)
            })?,
        };
        last = Some(position);
        let arg = args
            .get(position)
            .ok_or_else(|| format!("MissingFormatArgument: Format specifier '{}'", spec.text))?;
        let text = if spec.time {
            time_field(spec, arg)?
        } else {
            convert(spec, arg)?
        };
        out.push_str(&justify(
            if spec.upper {
                text.to_uppercase()
            } else {
                text
            },
            spec,
        ));
    }
    Ok(out)
}

/// Pads to the width: on the left, or on the right with the `-` flag.
fn justify(text: String, spec: &Spec) -> String {
    let length = text.chars().count();
    match spec.width {
        Some(w) if w > length => {
            let pad = " ".repeat(w - length);
            if spec.flags.left {
                text + &pad
            } else {
                pad + &text
            }
        }
        _ => text,
    }
}

fn java_class(arg: &Arg) -> &'static str {
    match arg {
        Arg::Null => "null",
        Arg::Bool(_) => "java.lang.Boolean",
        Arg::Long(_) => "java.lang.Long",
        Arg::Double(_) => "java.lang.Double",
        Arg::Decimal(..) => "java.math.BigDecimal",
        Arg::Text(_) => "java.lang.String",
        Arg::Date(_) => "java.time.LocalDate",
        Arg::Local(_) => "java.time.LocalDateTime",
        Arg::Zoned { .. } => "java.time.ZonedDateTime",
    }
}

fn mismatch(spec: &Spec, arg: &Arg) -> String {
    format!(
        "IllegalFormatConversion: {} != {}",
        spec.conversion,
        java_class(arg)
    )
}

fn flags_mismatch(spec: &Spec, flag: char) -> String {
    format!(
        "FormatFlagsConversionMismatch: Conversion = {}, Flags = {flag}",
        spec.conversion
    )
}

/// Java's `toString` of the value (`%s`).
fn java_string(arg: &Arg) -> String {
    match arg {
        Arg::Null => "null".into(),
        Arg::Bool(b) => b.to_string(),
        Arg::Long(v) => v.to_string(),
        Arg::Double(v) => java_double(*v),
        Arg::Decimal(v, s) => big_decimal_string(*v, *s),
        Arg::Text(t) => t.clone(),
        Arg::Date(d) => d.format("%Y-%m-%d").to_string(),
        Arg::Local(t) => local_date_time_string(t),
        Arg::Zoned {
            local,
            offset,
            zone,
        } => {
            let offset_text = if *offset == 0 {
                "Z".to_string()
            } else {
                offset_string(*offset, true)
            };
            // a zone named by an offset is that offset; a region is added in brackets
            let region = if zone.starts_with(['+', '-']) {
                String::new()
            } else {
                format!("[{zone}]")
            };
            format!("{}{offset_text}{region}", local_date_time_string(local))
        }
    }
}

/// `LocalDateTime.toString`: seconds only when not zero, the fraction in groups of three digits.
fn local_date_time_string(t: &NaiveDateTime) -> String {
    let mut text = t.format("%Y-%m-%dT%H:%M").to_string();
    let nanos = t.nanosecond();
    if t.second() != 0 || nanos != 0 {
        text.push_str(&format!(":{:02}", t.second()));
    }
    if nanos != 0 {
        if nanos.is_multiple_of(1_000_000) {
            text.push_str(&format!(".{:03}", nanos / 1_000_000));
        } else if nanos.is_multiple_of(1000) {
            text.push_str(&format!(".{:06}", nanos / 1000));
        } else {
            text.push_str(&format!(".{nanos:09}"));
        }
    }
    text
}

/// `+05:30` (with a colon) or `+0530`.
fn offset_string(seconds: i32, colon: bool) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.abs() / 60;
    if colon {
        format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    } else {
        format!("{sign}{:02}{:02}", minutes / 60, minutes % 60)
    }
}

/// `BigDecimal.toString`: plain unless the exponent is below -6.
fn big_decimal_string(unscaled: i128, scale: i8) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    let scale = scale as i64;
    let adjusted = digits.len() as i64 - 1 - scale;
    if scale <= 0 {
        return format!("{sign}{digits}{}", "0".repeat((-scale) as usize));
    }
    if adjusted >= -6 {
        let scale = scale as usize;
        let padded = if digits.len() <= scale {
            format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
        } else {
            digits
        };
        let (whole, fraction) = padded.split_at(padded.len() - scale);
        return format!("{sign}{whole}.{fraction}");
    }
    let (first, rest) = digits.split_at(1);
    let fraction = if rest.is_empty() {
        String::new()
    } else {
        format!(".{rest}")
    };
    format!("{sign}{first}{fraction}E{adjusted}")
}

fn convert(spec: &Spec, arg: &Arg) -> Result<String, String> {
    let precision_cut = |text: String| match spec.precision {
        Some(p) => text.chars().take(p).collect(),
        None => text,
    };
    match spec.conversion {
        'b' => Ok(precision_cut(match arg {
            Arg::Null => "false".into(),
            Arg::Bool(b) => b.to_string(),
            _ => "true".into(),
        })),
        's' => {
            if spec.flags.alternate {
                return Err(flags_mismatch(spec, '#'));
            }
            Ok(precision_cut(java_string(arg)))
        }
        _ if matches!(arg, Arg::Null) => Ok("null".into()),
        'd' => match arg {
            Arg::Long(v) => {
                if spec.precision.is_some() {
                    return Err(format!(
                        "IllegalFormatPrecision: {}",
                        spec.precision.unwrap_or(0)
                    ));
                }
                if spec.flags.alternate {
                    return Err(flags_mismatch(spec, '#'));
                }
                Ok(signed(
                    *v < 0,
                    v.unsigned_abs().to_string(),
                    spec.flags,
                    spec.width,
                ))
            }
            _ => Err(mismatch(spec, arg)),
        },
        'o' | 'x' => match arg {
            Arg::Long(v) => {
                for (set, flag) in [
                    (spec.flags.plus, '+'),
                    (spec.flags.space, ' '),
                    (spec.flags.group, ','),
                    (spec.flags.paren, '('),
                ] {
                    if set {
                        return Err(flags_mismatch(spec, flag));
                    }
                }
                let bits = *v as u64;
                let (digits, prefix) = if spec.conversion == 'o' {
                    (format!("{bits:o}"), "0")
                } else {
                    (format!("{bits:x}"), "0x")
                };
                let prefix = if spec.flags.alternate { prefix } else { "" };
                let zeros = match spec.width {
                    Some(w) if spec.flags.zero && w > digits.len() + prefix.len() => {
                        "0".repeat(w - digits.len() - prefix.len())
                    }
                    _ => String::new(),
                };
                Ok(format!("{prefix}{zeros}{digits}"))
            }
            _ => Err(mismatch(spec, arg)),
        },
        'e' | 'f' | 'g' => {
            let decimal = match arg {
                // NaN has no sign; an infinity takes the sign flags but no zeros or grouping
                Arg::Double(v) if v.is_nan() => return Ok("NaN".into()),
                Arg::Double(v) if v.is_infinite() => {
                    let flags = Flags {
                        zero: false,
                        group: false,
                        ..spec.flags
                    };
                    return Ok(signed(*v < 0.0, "Infinity".into(), flags, None));
                }
                Arg::Double(v) => Digits::of_double(*v),
                Arg::Decimal(v, s) => Digits::of_decimal(*v, *s),
                _ => return Err(mismatch(spec, arg)),
            };
            if spec.conversion == 'e' && spec.flags.group {
                return Err(flags_mismatch(spec, ','));
            }
            if spec.conversion == 'g' && spec.flags.alternate {
                return Err(flags_mismatch(spec, '#'));
            }
            let negative = decimal.negative;
            let magnitude = match spec.conversion {
                'f' => decimal.fixed(spec.precision.unwrap_or(6), spec.flags.alternate),
                'e' => decimal.scientific(spec.precision.unwrap_or(6), spec.flags.alternate),
                _ => decimal.general(spec.precision.map(|p| p.max(1)).unwrap_or(6)),
            };
            Ok(signed(negative, magnitude, spec.flags, spec.width))
        }
        _ => Err(format!(
            "the conversion %{} is not provided",
            spec.conversion
        )),
    }
}

/// A number's sign, grouping and zero padding to `width`, as the flags ask (`,` `+` ` ` `(`
/// `0`; `%e` refuses `,` before this).
fn signed(negative: bool, magnitude: String, flags: Flags, width: Option<usize>) -> String {
    let magnitude = if flags.group {
        let (whole, rest) = match magnitude.find(['.', 'e']) {
            Some(i) => magnitude.split_at(i),
            None => (magnitude.as_str(), ""),
        };
        let mut grouped = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        grouped + rest
    } else {
        magnitude
    };
    let (before, after) = if negative {
        if flags.paren { ("(", ")") } else { ("-", "") }
    } else if flags.plus {
        ("+", "")
    } else if flags.space {
        (" ", "")
    } else {
        ("", "")
    };
    let length = before.len() + magnitude.chars().count() + after.len();
    let zeros = match width {
        Some(w) if flags.zero && w > length => "0".repeat(w - length),
        _ => String::new(),
    };
    format!("{before}{zeros}{magnitude}{after}")
}

/// A decimal number as its significant digits: `0.d1d2… × 10^point`.
#[derive(Debug, Clone, PartialEq)]
struct Digits {
    negative: bool,
    /// no leading zeros; empty for zero
    digits: Vec<u8>,
    point: i32,
}

impl Digits {
    /// A double's shortest digits (those Java's `Double.toString` prints).
    fn of_double(v: f64) -> Digits {
        let text = format!("{:e}", v.abs());
        let (mantissa, exponent) = text.split_once('e').expect("`{:e}` has an exponent");
        let exponent: i32 = exponent.parse().expect("an integer exponent");
        Digits::from_parts(
            v.is_sign_negative() && v != 0.0,
            mantissa.replace('.', ""),
            exponent + 1,
        )
    }

    /// A decimal's exact digits.
    fn of_decimal(unscaled: i128, scale: i8) -> Digits {
        let digits = unscaled.unsigned_abs().to_string();
        let point = digits.len() as i32 - scale as i32;
        Digits::from_parts(unscaled < 0, digits, point)
    }

    fn from_parts(negative: bool, digits: String, point: i32) -> Digits {
        let leading = digits.len() - digits.trim_start_matches('0').len();
        let digits: Vec<u8> = digits
            .trim_start_matches('0')
            .trim_end_matches('0')
            .bytes()
            .map(|b| b - b'0')
            .collect();
        let point = if digits.is_empty() {
            0
        } else {
            point - leading as i32
        };
        Digits {
            negative,
            digits,
            point,
        }
    }

    /// Rounded half up to `keep` significant digits (`keep` may be zero or negative: the value
    /// rounds to a unit of the first digit's place, or to zero).
    fn round(&self, keep: i32) -> Digits {
        if keep >= self.digits.len() as i32 {
            return self.clone();
        }
        if keep < 0 || (keep == 0 && self.digits[0] < 5) {
            return Digits {
                negative: self.negative,
                digits: Vec::new(),
                point: 0,
            };
        }
        if keep == 0 {
            return Digits {
                negative: self.negative,
                digits: vec![1],
                point: self.point + 1,
            };
        }
        let mut digits = self.digits[..keep as usize].to_vec();
        let mut point = self.point;
        if self.digits[keep as usize] >= 5 {
            let mut i = digits.len();
            loop {
                if i == 0 {
                    digits.insert(0, 1);
                    point += 1;
                    break;
                }
                i -= 1;
                if digits[i] == 9 {
                    digits[i] = 0;
                } else {
                    digits[i] += 1;
                    break;
                }
            }
        }
        while digits.last() == Some(&0) {
            digits.pop();
        }
        Digits {
            negative: self.negative,
            digits,
            point,
        }
    }

    fn digit(&self, position: i32) -> char {
        // position 0 is the first significant digit
        if position >= 0 && (position as usize) < self.digits.len() {
            (b'0' + self.digits[position as usize]) as char
        } else {
            '0'
        }
    }

    /// `123.450` with `precision` fraction digits, rounded half up.
    fn fixed(&self, precision: usize, point_always: bool) -> String {
        let rounded = if self.digits.is_empty() {
            self.clone()
        } else {
            self.round(self.point + precision as i32)
        };
        let whole: String = if rounded.digits.is_empty() || rounded.point <= 0 {
            "0".into()
        } else {
            (0..rounded.point).map(|i| rounded.digit(i)).collect()
        };
        let fraction: String = (0..precision as i32)
            .map(|i| {
                if rounded.digits.is_empty() {
                    '0'
                } else {
                    rounded.digit(rounded.point + i)
                }
            })
            .collect();
        if precision == 0 {
            if point_always {
                format!("{whole}.")
            } else {
                whole
            }
        } else {
            format!("{whole}.{fraction}")
        }
    }

    /// `1.234500e+02` with `precision` fraction digits, rounded half up.
    fn scientific(&self, precision: usize, point_always: bool) -> String {
        let rounded = self.round(precision as i32 + 1);
        let exponent = if rounded.digits.is_empty() {
            0
        } else {
            rounded.point - 1
        };
        let fraction: String = (1..=precision as i32).map(|i| rounded.digit(i)).collect();
        let first = rounded.digit(0);
        let point = if precision > 0 || point_always {
            "."
        } else {
            ""
        };
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{first}{point}{fraction}e{sign}{:02}", exponent.abs())
    }

    /// `%g`: `precision` significant digits, scientific below 10^-4 or from 10^precision on.
    fn general(&self, precision: usize) -> String {
        if self.digits.is_empty() {
            return self.fixed(precision - 1, false);
        }
        let rounded = self.round(precision as i32);
        let exponent = rounded.point - 1;
        if exponent >= -4 && exponent < precision as i32 {
            self.fixed((precision as i32 - 1 - exponent) as usize, false)
        } else {
            self.scientific(precision - 1, false)
        }
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// `%t…`: a field of a date, a timestamp, a timestamp with time zone, or a `long` of
/// milliseconds since the epoch (read in UTC, Athena's zone).
fn time_field(spec: &Spec, arg: &Arg) -> Result<String, String> {
    if spec.precision.is_some() {
        return Err(format!(
            "IllegalFormatPrecision: {}",
            spec.precision.unwrap_or(0)
        ));
    }
    let (date, time, offset): (NaiveDate, Option<NaiveDateTime>, Option<i32>) = match arg {
        Arg::Null => return Ok("null".into()),
        Arg::Date(d) => (*d, None, None),
        Arg::Local(t) => (t.date(), Some(*t), None),
        Arg::Zoned { local, offset, .. } => (local.date(), Some(*local), Some(*offset)),
        Arg::Long(ms) => {
            let t = DateTime::from_timestamp_millis(*ms)
                .ok_or_else(|| format!("the instant {ms} is out of range"))?
                .naive_utc();
            (t.date(), Some(t), Some(0))
        }
        other => {
            return Err(format!(
                "IllegalFormatConversion: {} != {}",
                spec.conversion,
                java_class(other)
            ));
        }
    };
    let needs_time = || {
        time.ok_or_else(|| {
            format!(
                "UnsupportedTemporalType: %t{} needs a time, not a date",
                spec.conversion
            )
        })
    };
    let needs_zone = || {
        offset.ok_or_else(|| {
            format!(
                "UnsupportedTemporalType: %t{} needs a time zone",
                spec.conversion
            )
        })
    };
    let hour12 = |t: &NaiveDateTime| {
        if t.hour().is_multiple_of(12) {
            12
        } else {
            t.hour() % 12
        }
    };
    let field = |c: char| -> Result<String, String> {
        Ok(match c {
            'H' => format!("{:02}", needs_time()?.hour()),
            'I' => format!("{:02}", hour12(&needs_time()?)),
            'k' => needs_time()?.hour().to_string(),
            'l' => hour12(&needs_time()?).to_string(),
            'M' => format!("{:02}", needs_time()?.minute()),
            'S' => format!("{:02}", needs_time()?.second()),
            'L' => format!("{:03}", needs_time()?.nanosecond() / 1_000_000),
            'N' => format!("{:09}", needs_time()?.nanosecond()),
            'p' => (if needs_time()?.hour() < 12 {
                "am"
            } else {
                "pm"
            })
            .to_string(),
            'z' => offset_string(needs_zone()?, false),
            's' => (needs_time()?.and_utc().timestamp() - needs_zone()? as i64).to_string(),
            'Q' => (needs_time()?.and_utc().timestamp_millis() - needs_zone()? as i64 * 1000)
                .to_string(),
            'B' => MONTHS[date.month0() as usize].to_string(),
            'b' | 'h' => MONTHS[date.month0() as usize][..3].to_string(),
            'A' => DAYS[date.weekday().num_days_from_monday() as usize].to_string(),
            'a' => DAYS[date.weekday().num_days_from_monday() as usize][..3].to_string(),
            'C' => format!("{:02}", date.year().div_euclid(100)),
            'Y' => format!("{:04}", date.year()),
            'y' => format!("{:02}", date.year().rem_euclid(100)),
            'j' => format!("{:03}", date.ordinal()),
            'm' => format!("{:02}", date.month()),
            'd' => format!("{:02}", date.day()),
            'e' => date.day().to_string(),
            other => return Err(format!("the conversion %t{other} is not provided")),
        })
    };
    match spec.conversion {
        'R' => Ok(format!("{}:{}", field('H')?, field('M')?)),
        'T' => Ok(format!("{}:{}:{}", field('H')?, field('M')?, field('S')?)),
        'r' => Ok(format!(
            "{}:{}:{} {}",
            field('I')?,
            field('M')?,
            field('S')?,
            field('p')?.to_uppercase()
        )),
        'D' => Ok(format!("{}/{}/{}", field('m')?, field('d')?, field('y')?)),
        'F' => Ok(format!("{}-{}-{}", field('Y')?, field('m')?, field('d')?)),
        c => field(c),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{error, value};

    #[tokio::test]
    async fn formats_as_java_does() {
        // Trino's documented examples
        assert_eq!(value("SELECT format('%s%%', 123)").await, "123%");
        assert_eq!(value("SELECT format('%.5f', pi())").await, "3.14159");
        assert_eq!(value("SELECT format('%03d', 8)").await, "008");
        assert_eq!(
            value("SELECT format('%,.2f', 1234567.89)").await,
            "1,234,567.89"
        );
        assert_eq!(
            value("SELECT format('%-7s,%7s', 'hello', 'world')").await,
            "hello  ,  world"
        );
        assert_eq!(
            value("SELECT format('%2$s %3$s %1$s', 'a', 'b', 'c')").await,
            "b c a"
        );
        assert_eq!(
            value("SELECT format('%1$tA, %1$tB %1$te, %1$tY', date '2006-07-04')").await,
            "Tuesday, July 4, 2006"
        );
        // Java's rules
        assert_eq!(value("SELECT format('%.2f', 0.125e0)").await, "0.13");
        assert_eq!(value("SELECT format('%.2f', 1.005e0)").await, "1.01");
        assert_eq!(value("SELECT format('%.1f', 0.05)").await, "0.1");
        assert_eq!(
            value("SELECT format('%e', 12345.678e0)").await,
            "1.234568e+04"
        );
        assert_eq!(
            value("SELECT format('%g', 0.0001234e0)").await,
            "0.000123400"
        );
        assert_eq!(
            value("SELECT format('%g', 123456789e0)").await,
            "1.23457e+08"
        );
        assert_eq!(
            value("SELECT format('%x|%#X|%o', -1, 255, 8)").await,
            "ffffffffffffffff|0XFF|10"
        );
        assert_eq!(
            value("SELECT format('%(,d|%+d|% d|%08.2f', -1234567, 5, 5, -3.14159e0)").await,
            "(1,234,567)|+5| 5|-0003.14"
        );
        assert_eq!(
            value("SELECT format('%s %S %b %.3s', 2.5e0, 'abc', NULL, 'abcdef')").await,
            "2.5 ABC false abc"
        );
        assert_eq!(value("SELECT format('%s', 0.00000010)").await, "1.0E-7");
        assert_eq!(value("SELECT format('%s|%tF %<tT', TIMESTAMP '2026-03-01 10:00:00', TIMESTAMP '2026-03-01 10:05:06')").await, "2026-03-01T10:00|2026-03-01 10:05:06");
        assert_eq!(
            value("SELECT format('%s', from_unixtime(0))").await,
            "1970-01-01T00:00Z[UTC]"
        );
        assert_eq!(
            value("SELECT format('%tz %<tH', from_unixtime(0) AT TIME ZONE 'Asia/Kolkata')").await,
            "+0530 05"
        );
        assert_eq!(
            value("SELECT format('%Tp %tQ', from_unixtime(3600), from_unixtime(1.5e0))").await,
            "AM 1500"
        );
        assert!(error("SELECT format('%d', 1.5e0)").await.contains(
            "Invalid format string: %d (IllegalFormatConversion: d != java.lang.Double)"
        ));
        assert!(
            error("SELECT format('%.2f', 1)")
                .await
                .contains("f != java.lang.Long")
        );
        assert!(
            error("SELECT format('%s %s', 1)")
                .await
                .contains("MissingFormatArgument")
        );
        assert!(
            error("SELECT format('%q', 1)")
                .await
                .contains("UnknownFormatConversion")
        );
        assert!(
            error("SELECT format('%tH', DATE '2026-01-01')")
                .await
                .contains("needs a time")
        );
    }
}
