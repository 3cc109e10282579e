//! The warehouse contract: table handles and the Hive-style partition path.
//!
//! ```text
//! <root>/<table>/year=YYYY/month=MM/day=DD/<file>.parquet   the UTC day of the table's time column
//! <root>/<state table>/year=YYYY/month=MM/day=DD/...        the same day as the key's change rows
//! <root>/dead_letters/<format>/<file>.jsonl                 records that could not be mapped
//! <root>/_tributary/...                                     Tributary's own state
//! ```
//! The tables and their columns come from the schema in use ([`crate::schema`]): the shop's
//! `events` (by event time), `order_changes` and `user_changes` (by creation date) by default.
//! Column names are lower case, as Athena (Glue) stores them, so unquoted camelCase identifiers
//! such as `eventType` and `properties.productId` resolve in every engine.

use chrono::{DateTime, Datelike};
use datafusion::arrow::datatypes::SchemaRef;

pub use crate::schema::PARTITION_COLUMNS;
use crate::schema::{Schema, TableDef};
use crate::state::StateTable;

/// Where dead letters go, below the warehouse root.
pub const DEAD_LETTER_PREFIX: &str = "dead_letters";

/// Where Tributary keeps its own state, below the warehouse root (not a table).
pub const STATE_PREFIX: &str = "_tributary";

/// A table the writers append to: a table of the schema in use (the shop's `events`,
/// `order_changes`, `user_changes` by default). A handle: a reference into a schema that lives
/// as long as the process ([`Schema::leak`]), compared by name.
#[derive(Clone, Copy)]
pub struct Table(&'static TableDef);

impl Table {
    pub fn of(def: &'static TableDef) -> Self {
        Self(def)
    }

    /// A table of the built-in (shop) schema.
    ///
    /// # Panics
    /// When the shop has no table of that name: for code and tests that name the shop's
    /// tables.
    pub fn builtin(name: &str) -> Self {
        Schema::builtin()
            .get(name)
            .unwrap_or_else(|| panic!("the shop has no table {name}"))
    }

    pub fn name(self) -> &'static str {
        &self.0.name
    }

    pub fn def(self) -> &'static TableDef {
        self.0
    }

    /// The Arrow schema rows are built in (no partition columns).
    pub fn schema(self) -> SchemaRef {
        self.0.arrow_schema()
    }

    /// The current-state table that follows this one, if it has one.
    pub fn state(self) -> Option<StateTable> {
        StateTable::of(self)
    }
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Table({})", self.name())
    }
}

impl PartialEq for Table {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Table {}

impl std::hash::Hash for Table {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state)
    }
}

impl PartialOrd for Table {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Table {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name().cmp(other.name())
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
        for table in Schema::builtin().handles() {
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
