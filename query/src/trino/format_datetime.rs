//! `format_datetime(timestamp, format)` and `parse_datetime(string, format)`, with Joda-Time
//! patterns (`yyyy-MM-dd HH:mm:ss`), as Trino's Java functions take them.
//!
//! ```sql
//! SELECT format_datetime(TIMESTAMP '2026-03-05 14:07:09.120', 'yyyy-MM-dd HH:mm:ss.SSS');  -- 2026-03-05 14:07:09.120
//! SELECT format_datetime(DATE '2026-03-05', 'EEEE, MMMM d');                               -- Thursday, March 5
//! SELECT parse_datetime('2026-03-05 14:07', 'yyyy-MM-dd HH:mm');                           -- 2026-03-05 14:07:00.000 UTC
//! ```
//! Supported letters: `y` `Y` `x` (years), `M` (month: `M`, `MM`, `MMM`, `MMMM`), `d`, `D`,
//! `E` (`E`–`EEE` short, `EEEE` long), `e`, `a`, `H`, `k`, `h`, `K`, `m`, `s`, `S` (fraction
//! digits), `Z` (`-0800`; `ZZ` `-08:00`), `z`, and `'quoted text'`. Others are errors.
//! `parse_datetime` gives a `timestamp(3) with time zone` in UTC.
//! Trino: <https://trino.io/docs/current/functions/datetime.html#java-date-functions>.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use super::date_format::{format_type, format_with, parse_with};
use super::simple::{Simple, string_args};

/// A Joda-Time pattern → chrono's strftime format.
pub fn joda_to_chrono(pattern: &str) -> std::result::Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // quoted literal; '' is a quote
            let mut j = i + 1;
            if j < chars.len() && chars[j] == '\'' {
                out.push('\'');
                i += 2;
                continue;
            }
            while j < chars.len() && chars[j] != '\'' {
                if chars[j] == '%' {
                    out.push('%');
                }
                out.push(chars[j]);
                j += 1;
            }
            i = j + 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            if c == '%' {
                out.push('%');
            }
            out.push(c);
            i += 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        i += n;
        let spec = match (c, n) {
            ('y' | 'Y' | 'u', 2) => "%y".to_string(),
            ('y' | 'Y' | 'u', _) => "%Y".to_string(),
            ('x', 2) => "%g".to_string(),
            ('x', _) => "%G".to_string(),
            ('w', 1) => "%-V".to_string(),
            ('w', _) => "%V".to_string(),
            ('M', 1) => "%-m".to_string(),
            ('M', 2) => "%m".to_string(),
            ('M', 3) => "%b".to_string(),
            ('M', _) => "%B".to_string(),
            ('d', 1) => "%-d".to_string(),
            ('d', _) => "%d".to_string(),
            ('D', 1 | 2) => "%-j".to_string(),
            ('D', _) => "%j".to_string(),
            ('E', 1..=3) => "%a".to_string(),
            ('E', _) => "%A".to_string(),
            ('e', _) => "%u".to_string(),
            ('a', _) => "%p".to_string(),
            ('H', 1) => "%-H".to_string(),
            ('H', _) => "%H".to_string(),
            ('k', _) => return Err("'k' (clock hour 1-24) is not supported".into()),
            ('h', 1) => "%-I".to_string(),
            ('h', _) => "%I".to_string(),
            ('K', _) => return Err("'K' (hour of half day 0-11) is not supported".into()),
            ('m', 1) => "%-M".to_string(),
            ('m', _) => "%M".to_string(),
            ('s', 1) => "%-S".to_string(),
            ('s', _) => "%S".to_string(),
            ('S', 3) => "%3f".to_string(),
            ('S', 6) => "%6f".to_string(),
            ('S', 9) => "%9f".to_string(),
            ('S', n) => {
                return Err(format!(
                    "{n} fraction digits ('S') are not supported; use 3, 6 or 9"
                ));
            }
            ('Z', 1) => "%z".to_string(),
            ('Z', _) => "%:z".to_string(),
            ('z', _) => "%Z".to_string(),
            (other, _) => return Err(format!("pattern letter '{other}' is not supported")),
        };
        out.push_str(&spec);
    }
    Ok(out)
}

pub fn format_datetime() -> ScalarUDF {
    Simple::udf(
        "format_datetime",
        Signature::any(2, Volatility::Immutable),
        |args| format_type("format_datetime", args),
        |args, _| format_with("format_datetime", joda_to_chrono, args),
    )
}

pub fn parse_datetime() -> ScalarUDF {
    Simple::udf(
        "parse_datetime",
        Signature::any(2, Volatility::Immutable),
        |args| {
            string_args(
                "parse_datetime",
                args,
                DataType::Timestamp(TimeUnit::Millisecond, Some(Arc::from("UTC"))),
            )
        },
        |args, t| parse_with("parse_datetime", joda_to_chrono, args, t),
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;
    use super::*;

    #[test]
    fn translates_joda_patterns() {
        assert_eq!(
            joda_to_chrono("yyyy-MM-dd HH:mm:ss.SSS").unwrap(),
            "%Y-%m-%d %H:%M:%S.%3f"
        );
        assert_eq!(
            joda_to_chrono("EEEE, MMMM d 'at' h a").unwrap(),
            "%A, %B %-d at %-I %p"
        );
        assert!(joda_to_chrono("q").is_err());
    }

    #[tokio::test]
    async fn formats_and_parses() {
        assert_eq!(
            value("SELECT format_datetime(TIMESTAMP '2026-03-05 14:07:09.120', 'yyyy-MM-dd HH:mm:ss.SSS')").await,
            "2026-03-05 14:07:09.120"
        );
        assert_eq!(
            value("SELECT format_datetime(DATE '2026-03-05', 'EEEE, MMMM d')").await,
            "Thursday, March 5"
        );
        assert_eq!(
            value("SELECT parse_datetime('2026-03-05 14:07', 'yyyy-MM-dd HH:mm')").await,
            "2026-03-05T14:07:00Z"
        );
    }
}
