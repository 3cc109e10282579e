//! Values as Trino prints them (its CLI's `--output-format TSV`, Athena's result files), so a
//! result can be compared with Trino's documentation and Athena's answers character for
//! character:
//!
//! | type | example |
//! |---|---|
//! | `double` | `33.333333333333336`, `1.76722560025E9` (Java's `Double.toString`) |
//! | `decimal(p,s)` | `33.30` (all `s` digits) |
//! | `timestamp(3)` | `2026-01-01 00:00:00.000` |
//! | `timestamp(3) with time zone` | `2026-01-01 00:00:00.000 UTC` |
//! | `array`, `map`, `row` | `[1, 2]`, `{a=1}`, `{x=1, y=a}` |
//! | NULL | `NULL` |

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Float32Type, Float64Type};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::util::display::array_value_to_string;

/// Row `row` of `array`, rendered as Trino renders it.
pub fn value(array: &ArrayRef, row: usize) -> Result<String, ArrowError> {
    if array.is_null(row) || array.data_type() == &DataType::Null {
        return Ok("NULL".into());
    }
    Ok(match array.data_type() {
        DataType::Float64 => java_double(array.as_primitive::<Float64Type>().value(row)),
        DataType::Float32 => java_double(array.as_primitive::<Float32Type>().value(row) as f64),
        DataType::Timestamp(unit, zone) => {
            // Arrow's display: `2026-01-01T00:00:00.250` (+ offset for zoned values); Trino's:
            // a space, exactly the type's fraction digits, and the zone's name
            let digits = crate::trino::types::precision_of_unit(*unit);
            // zoned values display as local time in their zone plus the offset
            let local = array_value_to_string(array, row)?;
            let text = timestamp_text(&local, digits);
            match zone {
                Some(z) => format!("{text} {z}"),
                None => text,
            }
        }
        DataType::List(_) | DataType::LargeList(_) => {
            let list = match array.data_type() {
                DataType::List(_) => array.as_list::<i32>().value(row),
                _ => array.as_list::<i64>().value(row),
            };
            let items = (0..list.len())
                .map(|i| value(&list, i))
                .collect::<Result<Vec<_>, _>>()?;
            format!("[{}]", items.join(", "))
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let items = fields
                .iter()
                .zip(s.columns())
                .map(|(f, c)| Ok(format!("{}={}", f.name(), value(c, row)?)))
                .collect::<Result<Vec<_>, ArrowError>>()?;
            format!("{{{}}}", items.join(", "))
        }
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            let (keys, values) = (entries.column(0), entries.column(1));
            let items = (0..entries.len())
                .map(|i| Ok(format!("{}={}", value(keys, i)?, value(values, i)?)))
                .collect::<Result<Vec<_>, ArrowError>>()?;
            format!("{{{}}}", items.join(", "))
        }
        // varbinary: hex bytes separated by spaces, as Trino's CLI prints them
        DataType::Binary => array
            .as_binary::<i32>()
            .value(row)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" "),
        DataType::LargeBinary => array
            .as_binary::<i64>()
            .value(row)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" "),
        _ => array_value_to_string(array, row)?,
    })
}

/// `2026-01-01T00:00:00.25[+offset]` → `2026-01-01 00:00:00.250` with `digits` fraction digits.
fn timestamp_text(arrow: &str, digits: usize) -> String {
    let text = arrow.replacen('T', " ", 1);
    // drop a trailing offset (`Z`, `+05:00`, `-05:00`) that Arrow adds to zoned values
    let end = text
        .find(['Z', '+'])
        .or_else(|| text[11..].rfind('-').map(|i| i + 11))
        .unwrap_or(text.len());
    let (main, fraction) = match text[..end].split_once('.') {
        Some((main, fraction)) => (main.to_string(), fraction.to_string()),
        None => (text[..end].to_string(), String::new()),
    };
    if digits == 0 {
        return main;
    }
    let mut fraction: String = fraction.chars().take(digits).collect();
    while fraction.len() < digits {
        fraction.push('0');
    }
    format!("{main}.{fraction}")
}

/// Java's `Double.toString` (which Trino uses): plain between 10^-3 and 10^7, with at least one
/// fraction digit; scientific (`1.5E9`) outside; shortest digits that read back the same value.
pub fn java_double(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let abs = x.abs();
    if (1e-3..1e7).contains(&abs) {
        let text = format!("{x}");
        return if text.contains('.') {
            text
        } else {
            format!("{text}.0")
        };
    }
    // Rust's `{:e}` gives the shortest digits too: `1.76722560025e9`
    let sci = format!("{x:e}");
    let (mantissa, exponent) = sci.split_once('e').expect("`{:e}` has an exponent");
    let mantissa = if mantissa.contains('.') {
        mantissa.to_string()
    } else {
        format!("{mantissa}.0")
    };
    format!("{mantissa}E{exponent}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_as_in_java() {
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(33.333333333333336), "33.333333333333336");
        assert_eq!(java_double(1_767_225_600.25), "1.76722560025E9");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(0.001), "0.001");
        assert_eq!(java_double(0.0001), "1.0E-4");
        assert_eq!(java_double(-2.5e-5), "-2.5E-5");
    }

    #[test]
    fn timestamps_get_a_space_and_their_fraction_digits() {
        assert_eq!(
            timestamp_text("2026-01-01T00:00:00", 3),
            "2026-01-01 00:00:00.000"
        );
        assert_eq!(
            timestamp_text("2026-01-01T00:00:00.25", 3),
            "2026-01-01 00:00:00.250"
        );
        assert_eq!(
            timestamp_text("2025-12-31T19:00:00-05:00", 3),
            "2025-12-31 19:00:00.000"
        );
        assert_eq!(
            timestamp_text("2026-01-01T00:00:00.5Z", 6),
            "2026-01-01 00:00:00.500000"
        );
    }
}
