//! The warehouse contract: table names, Arrow schemas and the Hive-style partition path.
//!
//! ```text
//! <root>/events/year=YYYY/month=MM/day=DD/<file>.parquet          event time (UTC)
//! <root>/order_changes/year=YYYY/month=MM/day=DD/<file>.parquet   order creation date (UTC)
//! <root>/user_changes/year=YYYY/month=MM/day=DD/<file>.parquet    profile creation date (UTC)
//! <root>/dead_letters/<format>/<file>.jsonl                       records that could not be mapped
//! <root>/_tributary/...                                           Tributary's own state
//! ```
//! Column names are lower case, as Athena (Glue) stores them, so unquoted camelCase identifiers
//! such as `eventType` and `properties.productId` resolve in every engine.

use std::sync::{Arc, LazyLock};

use chrono::{DateTime, Datelike};
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

/// Money and prices: DECIMAL(18,4).
pub const MONEY_PRECISION: u8 = 18;
pub const MONEY_SCALE: i8 = 4;

/// The partition columns of every table, in path order (zero-padded in paths; `int` columns of
/// the Delta tables, see [`crate::delta::arrow_schema`]).
pub const PARTITION_COLUMNS: [&str; 3] = ["year", "month", "day"];

/// Where dead letters go, below the warehouse root.
pub const DEAD_LETTER_PREFIX: &str = "dead_letters";

/// Where Tributary keeps its own state, below the warehouse root (not a table).
pub const STATE_PREFIX: &str = "_tributary";

/// The tables written as Parquet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Events,
    OrderChanges,
    UserChanges,
}

impl Table {
    pub const ALL: [Table; 3] = [Table::Events, Table::OrderChanges, Table::UserChanges];

    pub fn name(self) -> &'static str {
        match self {
            Table::Events => "events",
            Table::OrderChanges => "order_changes",
            Table::UserChanges => "user_changes",
        }
    }

    /// The table of a name, as [`Table::name`] spells it.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    pub fn schema(self) -> SchemaRef {
        match self {
            Table::Events => EVENTS.clone(),
            Table::OrderChanges => ORDER_CHANGES.clone(),
            Table::UserChanges => USER_CHANGES.clone(),
        }
    }
}

/// A UTC day: the `year=/month=/day=` partition of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Partition {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("epoch milliseconds {0} is outside the years 1000-9999")]
pub struct OutOfRange(pub i64);

impl Partition {
    /// The UTC day of an epoch-millisecond instant; years outside 1000-9999 are refused
    /// (Athena's date range, and four-digit `year=` directories).
    pub fn of_millis(ms: i64) -> Result<Self, OutOfRange> {
        let dt = DateTime::from_timestamp_millis(ms).ok_or(OutOfRange(ms))?;
        if !(1000..=9999).contains(&dt.year()) {
            return Err(OutOfRange(ms));
        }
        Ok(Self {
            year: dt.year(),
            month: dt.month(),
            day: dt.day(),
        })
    }

    /// The partition of a path's `year=/month=/day=` directories (zero-padded or not).
    pub fn of_path(path: &str) -> Option<Self> {
        let value = |name: &str| {
            path.split('/')
                .find_map(|segment| segment.strip_prefix(name)?.strip_prefix('='))
        };
        Some(Self {
            year: value("year")?.parse().ok()?,
            month: value("month")?.parse().ok()?,
            day: value("day")?.parse().ok()?,
        })
    }

    /// `year=2026/month=01/day=05`
    pub fn path(&self) -> String {
        format!(
            "year={:04}/month={:02}/day={:02}",
            self.year, self.month, self.day
        )
    }
}

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn timestamp(name: &str) -> Field {
    Field::new(name, DataType::Timestamp(TimeUnit::Millisecond, None), true)
}

fn money(name: &str) -> Field {
    Field::new(
        name,
        DataType::Decimal128(MONEY_PRECISION, MONEY_SCALE),
        true,
    )
}

/// `ingest_*`: where a row came from, so duplicates can be traced.
fn ingest_fields() -> Vec<Field> {
    vec![
        utf8("ingest_source"),
        utf8("ingest_shard"),
        utf8("ingest_sequence"),
        timestamp("ingest_arrival_time"),
    ]
}

/// The CDC header of `order_changes` and `user_changes`.
fn change_fields() -> Vec<Field> {
    vec![
        Field::new("operation", DataType::Utf8, false),
        utf8("sequence_number"),
        Field::new(
            "change_time",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
        utf8("event_id"),
    ]
}

pub fn event_properties_fields() -> Fields {
    Fields::from(vec![
        utf8("page"),
        utf8("referrer"),
        utf8("productid"),
        Field::new("amount", DataType::Float64, true),
        utf8("currency"),
    ])
}

pub fn order_item_fields() -> Fields {
    Fields::from(vec![
        utf8("product_id"),
        Field::new("quantity", DataType::Int64, true),
        money("price"),
    ])
}

pub fn order_item_list_field() -> Arc<Field> {
    Arc::new(Field::new(
        "item",
        DataType::Struct(order_item_fields()),
        true,
    ))
}

static EVENTS: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut fields = vec![
        Field::new("eventtype", DataType::Utf8, false),
        Field::new("userid", DataType::Utf8, false),
        Field::new("timestamp", DataType::Int64, false),
        Field::new(
            "properties",
            DataType::Struct(event_properties_fields()),
            true,
        ),
        utf8("extra"),
    ];
    fields.extend(ingest_fields());
    Arc::new(Schema::new(fields))
});

static ORDER_CHANGES: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut fields = change_fields();
    fields.extend([
        Field::new("order_id", DataType::Utf8, false),
        Field::new("user_id", DataType::Utf8, false),
        utf8("status"),
        money("total_amount"),
        utf8("currency"),
        Field::new(
            "created_at",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
        timestamp("updated_at"),
        Field::new("items", DataType::List(order_item_list_field()), true),
        utf8("extra_attributes"),
    ]);
    fields.extend(ingest_fields());
    Arc::new(Schema::new(fields))
});

static USER_CHANGES: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut fields = change_fields();
    fields.extend([
        Field::new("user_id", DataType::Utf8, false),
        utf8("email"),
        utf8("name"),
        utf8("country"),
        Field::new(
            "created_at",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
        timestamp("updated_at"),
        utf8("extra_attributes"),
    ]);
    fields.extend(ingest_fields());
    Arc::new(Schema::new(fields))
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_is_the_utc_day() {
        // 2026-01-05T23:59:59.999Z and one millisecond later
        let p = Partition::of_millis(1_767_657_599_999).unwrap();
        assert_eq!(p.path(), "year=2026/month=01/day=05");
        assert_eq!(
            Partition::of_millis(1_767_657_600_000).unwrap().path(),
            "year=2026/month=01/day=06"
        );
    }

    #[test]
    fn a_partition_reads_back_from_its_path() {
        let p = Partition::of_millis(1_767_657_599_999).unwrap();
        let file = format!("events/{}/x.parquet", p.path());
        assert_eq!(Partition::of_path(&file), Some(p));
        assert_eq!(
            Partition::of_path("year=2026/month=1/day=5/x.parquet"),
            Some(p)
        );
        assert_eq!(Partition::of_path("year=2026/month=1/x.parquet"), None);
        assert_eq!(Partition::of_path("year=x/month=1/day=5"), None);
    }

    #[test]
    fn refuses_instants_outside_four_digit_years() {
        assert!(Partition::of_millis(-62_000_000_000_000).is_err());
        assert!(Partition::of_millis(i64::MAX).is_err());
    }

    #[test]
    fn column_names_are_lower_case() {
        for table in Table::ALL {
            for field in table.schema().fields() {
                assert_eq!(
                    field.name(),
                    &field.name().to_lowercase(),
                    "{}",
                    table.name()
                );
                assert!(!field.name().starts_with('_'));
            }
        }
    }
}
