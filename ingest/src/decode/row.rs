//! What every row gets once its record's members are read: the required columns checked, the
//! partition chosen from the time column, the rest column and the `ingest_*` columns written.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde_json::{Map, Value};
use tributary_table::schema::EpochUnit;
use tributary_transform::Partition;
use tributary_transform::columns::Rows;
use tributary_transform::model::Origin;

use super::plan::{Conversion, TablePlan};

/// Runs `fill` on a new row of `rows`: the row is finished when `fill` succeeds, and taken
/// back with everything it wrote, at any depth, when it fails.
pub fn in_row<T>(
    rows: &mut Rows,
    fill: impl FnOnce(&mut Rows) -> Result<T, String>,
) -> Result<T, String> {
    match fill(rows) {
        Ok(value) => {
            rows.finish_row();
            Ok(value)
        }
        Err(e) => {
            rows.rollback();
            Err(e)
        }
    }
}

/// Checks the required columns, chooses the partition, and writes the rest and ingest columns
/// of the current row.
pub fn finish_columns(
    plan: &TablePlan,
    rows: &mut Rows,
    rest: Map<String, Value>,
    origin: &Origin,
    text: &mut String,
) -> Result<Partition, String> {
    let row = rows.len();
    for &i in &plan.required {
        let column = plan.column(i);
        let builder = rows.get(i);
        let missing = if !builder.is_valid(row) {
            Some(if builder.len() > row {
                "is null"
            } else {
                "is missing"
            })
        } else if builder.bytes_len_at(row) == Some(0) {
            Some("is empty")
        } else {
            None
        };
        if let Some(missing) = missing {
            return Err(format!(
                "column {} (from {}) {missing}",
                column.name, column.source
            ));
        }
    }
    let partition = partition_of(plan, rows)?;
    if let Some(i) = plan.rest
        && !rest.is_empty()
    {
        rows.column(i)
            .append_with(|out| {
                serde_json::to_writer(out, &rest).expect("a JSON value writes to memory")
            })
            .map_err(|e| format!("column {}: {e}", plan.schema.field(i).name()))?;
    }
    let at = plan.ingest;
    let too_long = |e| format!("ingest columns: {e}");
    rows.column(at)
        .append_str(&origin.source)
        .map_err(too_long)?;
    rows.column(at + 1)
        .append_str(&origin.shard)
        .map_err(too_long)?;
    text.clear();
    origin.sequence.write_padded(text);
    rows.column(at + 2).append_str(text).map_err(too_long)?;
    match origin.arrival_time_ms {
        Some(ms) => rows
            .column(at + 3)
            .append_int(ms)
            .map_err(|e| format!("ingest_arrival_time: {e}"))?,
        None => rows.column(at + 3).append_null(),
    }
    Ok(partition)
}

/// The UTC day of the row's time column.
fn partition_of(plan: &TablePlan, rows: &mut Rows) -> Result<Partition, String> {
    let row = rows.len();
    let Some(column) = plan.columns[plan.time].as_ref() else {
        // the change time (the raw DynamoDB table's partition), in epoch milliseconds
        let ms = rows
            .get(plan.time)
            .int_at(row)
            .ok_or("change_time is missing")?;
        return Partition::of_millis(ms).map_err(|e| format!("change_time: {e}"));
    };
    let value = rows
        .get(plan.time)
        .int_at(row)
        .ok_or_else(|| format!("column {} (from {}) is missing", column.name, column.source))?;
    let ms = match (&column.conversion, plan.time_unit) {
        (Conversion::Date, _) => value.checked_mul(86_400_000),
        (Conversion::Timestamp { .. }, _) => Some(value),
        (_, Some(unit)) => epoch_millis(value, unit),
        (_, None) => Some(value),
    };
    let ms = ms.ok_or_else(|| {
        format!(
            "column {} (from {}): {value} is out of range",
            column.name, column.source
        )
    })?;
    Partition::of_millis(ms)
        .map_err(|e| format!("column {} (from {}): {e}", column.name, column.source))
}

/// A decoding error's message: a value's own mistake (a column's type, a missing prefix) as
/// its reason alone, which already names the column; a syntax error with its position.
pub fn reason(e: serde_json::Error) -> String {
    let text = e.to_string();
    if e.is_data() && text.starts_with("column ") {
        let at = format!(" at line {} column {}", e.line(), e.column());
        if let Some(reason) = text.strip_suffix(&at) {
            return reason.to_string();
        }
    }
    text
}

/// Epoch `value` in `unit`, as milliseconds.
pub fn epoch_millis(value: i64, unit: EpochUnit) -> Option<i64> {
    match unit {
        EpochUnit::Seconds => value.checked_mul(1_000),
        EpochUnit::Milliseconds => Some(value),
        EpochUnit::Microseconds => Some(value.div_euclid(1_000)),
    }
}

/// A fractional epoch number in `unit`, as milliseconds (rounded).
pub fn epoch_millis_f64(value: f64, unit: EpochUnit) -> Option<i64> {
    let ms = match unit {
        EpochUnit::Seconds => value * 1_000.0,
        EpochUnit::Milliseconds => value,
        EpochUnit::Microseconds => value / 1_000.0,
    }
    .round();
    (ms.is_finite() && ms.abs() < 9.0e18).then_some(ms as i64)
}

/// Days since 1970-01-01 of an ISO date (`2026-01-05`, or the date of a date-time).
pub fn parse_date(text: &str) -> Option<i64> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date");
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some((d - epoch).num_days());
    }
    parse_time(text).map(|ms| ms.div_euclid(86_400_000))
}

/// At most 40 characters of a value, for messages.
pub fn shown(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// ISO-8601 as shops write it: with an offset (`2026-01-05T10:00:00Z`, `+02:00`), without one
/// (taken as UTC), or a bare date. Returns epoch milliseconds.
pub fn parse_time(text: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(|d| {
        d.and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_millis()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iso_times() {
        assert_eq!(parse_time("2026-01-05T10:00:00Z"), Some(1_767_607_200_000));
        assert_eq!(
            parse_time("2026-01-05T12:00:00+02:00"),
            Some(1_767_607_200_000)
        );
        assert_eq!(
            parse_time("2026-01-05T10:00:00.250"),
            Some(1_767_607_200_250)
        );
        assert_eq!(parse_time("2026-01-05"), Some(1_767_571_200_000));
        assert_eq!(parse_time("yesterday"), None);
    }
}
