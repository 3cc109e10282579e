//! `date_format(timestamp, format)` and `date_parse(string, format)`, with MySQL's format
//! specifiers (DataFusion's `to_char` takes chrono's).
//!
//! ```sql
//! SELECT date_format(TIMESTAMP '2026-03-05 14:07:09', '%Y-%m-%d %H:%i:%s');   -- 2026-03-05 14:07:09
//! SELECT date_format(DATE '2026-03-05', '%W %e %M %Y');                        -- Thursday 5 March 2026
//! SELECT date_parse('2026/03/05 2:07 PM', '%Y/%m/%d %l:%i %p');                -- 2026-03-05 14:07:00.000
//! ```
//! Trino: <https://trino.io/docs/current/functions/datetime.html#mysql-date-functions>. The
//! specifiers Trino does not support (`%D`, `%U`, `%u`, `%V`, `%w`, `%X`) are errors, as in Trino.
//! `date_parse` gives a `timestamp(3)`; fields the format leaves out are those of
//! 1970-01-01 00:00:00.

use std::str::FromStr;
use std::sync::Arc;

use chrono::format::{Parsed, StrftimeItems};
use chrono::{NaiveDateTime, NaiveTime, TimeZone};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::error::Result;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use super::simple::{
    Simple, constant_string, data_error, is_string, parse_each, plan_error, string_args,
};
use super::time::{from_local, local_datetimes, temporal_to};

/// A MySQL format → chrono's strftime format.
pub fn mysql_to_chrono(format: &str) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(format.len() * 2);
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(spec) = chars.next() else {
            out.push_str("%%");
            break;
        };
        out.push_str(match spec {
            'a' => "%a",
            'b' => "%b",
            'c' => "%-m",
            'd' => "%d",
            'e' => "%-d",
            'f' => "%6f",
            'H' => "%H",
            'h' | 'I' => "%I",
            'i' => "%M",
            'j' => "%j",
            'k' => "%-H",
            'l' => "%-I",
            'M' => "%B",
            'm' => "%m",
            'p' => "%p",
            'r' => "%I:%M:%S %p",
            'S' | 's' => "%S",
            'T' => "%H:%M:%S",
            'v' => "%V",
            'W' => "%A",
            'x' => "%G",
            'Y' => "%Y",
            'y' => "%y",
            '%' => "%%",
            'D' | 'U' | 'u' | 'V' | 'w' | 'X' => return Err(format!("%{spec} is not supported")),
            other => {
                out.push(other);
                continue;
            }
        });
    }
    Ok(out)
}

/// Parses `text` with a chrono format; missing date fields are 1970-01-01's, missing time 00:00.
pub fn parse_local(text: &str, format: &str) -> Option<NaiveDateTime> {
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, text, StrftimeItems::new(format)).ok()?;
    if parsed.year().is_none()
        && parsed.year_div_100().is_none()
        && parsed.year_mod_100().is_none()
        && parsed.isoyear().is_none()
    {
        parsed.set_year(1970).ok()?;
    }
    if parsed.month().is_none() && parsed.ordinal().is_none() && parsed.isoweek().is_none() {
        parsed.set_month(1).ok()?;
    }
    if parsed.day().is_none() && parsed.ordinal().is_none() && parsed.weekday().is_none() {
        parsed.set_day(1).ok()?;
    }
    if parsed.hour_div_12().is_none() && parsed.hour_mod_12().is_none() {
        parsed.set_hour(0).ok()?;
    }
    if parsed.minute().is_none() {
        parsed.set_minute(0).ok()?;
    }
    if parsed.second().is_none() {
        parsed.set_second(0).ok()?;
    }
    let date = parsed.to_naive_date().ok()?;
    let time = parsed.to_naive_time().unwrap_or(NaiveTime::MIN);
    Some(date.and_time(time))
}

/// A format in another syntax (MySQL's, Joda's) translated to chrono's.
pub type Translate = fn(&str) -> std::result::Result<String, String>;

/// Each date or timestamp of `args[0]` formatted with the constant format `args[1]`, in its zone.
pub fn format_with(function: &str, translate: Translate, args: &[ArrayRef]) -> Result<ArrayRef> {
    let Some(format) = constant_string(function, "format", &args[1])? else {
        return Ok(Arc::new(StringArray::new_null(args[0].len())));
    };
    let format = translate(&format).map_err(|e| data_error(function, e))?;
    let zone = match args[0].data_type() {
        DataType::Timestamp(_, Some(z)) => Tz::from_str(z)?,
        _ => Tz::from_str("UTC")?,
    };
    let out: StringArray = local_datetimes(&args[0])?
        .into_iter()
        .map(|v| {
            v.and_then(|v| zone.from_local_datetime(&v).earliest())
                .map(|t| t.format(&format).to_string())
        })
        .collect();
    Ok(Arc::new(out))
}

/// Each string of `args[0]` parsed with the constant format `args[1]` into `data_type`.
pub fn parse_with(
    function: &str,
    translate: Translate,
    args: &[ArrayRef],
    data_type: &DataType,
) -> Result<ArrayRef> {
    let Some(original) = constant_string(function, "format", &args[1])? else {
        return from_local(vec![None; args[0].len()], data_type);
    };
    let format = translate(&original).map_err(|e| data_error(function, e))?;
    let values = parse_each(&args[0], |s| {
        parse_local(s, &format).ok_or_else(|| {
            data_error(
                function,
                format!("invalid format: \"{s}\" does not match \"{original}\""),
            )
        })
    })?;
    from_local(values, data_type)
}

/// The return type of a formatting function: a date or timestamp and a format give text.
pub fn format_type(function: &str, args: &[DataType]) -> Result<DataType> {
    if !is_string(&args[1]) {
        return Err(plan_error(
            function,
            format!("takes a format string, not {}", args[1]),
        ));
    }
    temporal_to(function, &args[0], DataType::Utf8)
}

pub fn date_format() -> ScalarUDF {
    Simple::udf(
        "date_format",
        Signature::any(2, Volatility::Immutable),
        |args| format_type("date_format", args),
        |args, _| format_with("date_format", mysql_to_chrono, args),
    )
}

pub fn date_parse() -> ScalarUDF {
    Simple::udf(
        "date_parse",
        Signature::any(2, Volatility::Immutable),
        |args| {
            string_args(
                "date_parse",
                args,
                DataType::Timestamp(TimeUnit::Millisecond, None),
            )
        },
        |args, t| parse_with("date_parse", mysql_to_chrono, args, t),
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;
    use super::*;

    #[test]
    fn translates_mysql_specifiers() {
        assert_eq!(
            mysql_to_chrono("%Y-%m-%d %H:%i:%s").unwrap(),
            "%Y-%m-%d %H:%M:%S"
        );
        assert_eq!(mysql_to_chrono("100%% %e").unwrap(), "100%% %-d");
        assert!(mysql_to_chrono("%U").is_err());
    }

    #[tokio::test]
    async fn formats_and_parses() {
        assert_eq!(
            value("SELECT date_format(TIMESTAMP '2026-03-05 14:07:09', '%Y-%m-%d %H:%i:%s')").await,
            "2026-03-05 14:07:09"
        );
        assert_eq!(
            value("SELECT date_format(DATE '2026-03-05', '%W %e %M %Y')").await,
            "Thursday 5 March 2026"
        );
        assert_eq!(
            value("SELECT date_parse('2026/03/05 2:07 PM', '%Y/%m/%d %l:%i %p')").await,
            "2026-03-05T14:07:00"
        );
        assert_eq!(
            value("SELECT date_parse('2026-03', '%Y-%m')").await,
            "2026-03-01T00:00:00"
        );
    }
}
