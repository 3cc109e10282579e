//! Athena table definitions for a warehouse, in Athena SQL.
//!
//! - `--as delta` (the default): one Delta Lake table per table, the current-state tables
//!   `orders` and `users` included; Athena reads each through its log.
//! - `--as hive`: `CREATE EXTERNAL TABLE` per change table with partition projection (so
//!   Athena needs no `MSCK REPAIR TABLE` and no Glue partitions), and the latest-state views
//!   over them, for readers without Delta support. Projection: `year`, `month`, `day` are
//!   `string` columns with `integer` projections and zero-padding (`digits`), and
//!   `storage.location.template` maps them to the Hive directories.
//!   See <https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html>.

use std::fmt::Write;

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use tributary_table::TableFormat;
use tributary_table::layout::PARTITION_COLUMNS;
use tributary_table::schema::Schema;
use tributary_transform::Table;

use crate::views;

/// What the DDL covers.
#[derive(Debug, Clone)]
pub struct DdlOptions {
    /// `s3://bucket/prefix/` (ending with `/`), where the tables' directories are.
    pub location: String,
    pub database: String,
    /// The years partition projection enumerates (inclusive): rows of other years exist in the
    /// warehouse but Athena does not see them.
    pub years: (i32, i32),
    /// Hive tables with projection, or Delta Lake tables.
    pub layout: TableFormat,
}

/// The Hive (Glue) type of an Arrow type, as `CREATE EXTERNAL TABLE` spells it.
pub fn hive_type(data_type: &DataType) -> String {
    match data_type {
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "bigint".into(),
        DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Decimal128(p, s) => format!("decimal({p},{s})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Binary | DataType::LargeBinary => "binary".into(),
        DataType::Date32 => "date".into(),
        DataType::Timestamp(TimeUnit::Millisecond | TimeUnit::Microsecond, None) => {
            "timestamp".into()
        }
        DataType::List(f) | DataType::LargeList(f) => {
            format!("array<{}>", hive_type(f.data_type()))
        }
        DataType::Struct(fields) => format!(
            "struct<{}>",
            fields
                .iter()
                .map(|f| format!("{}:{}", f.name(), hive_type(f.data_type())))
                .collect::<Vec<_>>()
                .join(",")
        ),
        // not written by Tributary today; named so a new column type shows up in review
        other => other.to_string().to_lowercase(),
    }
}

/// The `CREATE EXTERNAL TABLE` of one Delta table: Athena (engine 3) takes the columns, the
/// partition columns and the file list from the Delta log, so the statement names none.
/// See <https://docs.aws.amazon.com/athena/latest/ug/delta-lake-tables.html>.
pub fn create_delta_table(name: &str, options: &DdlOptions) -> String {
    format!(
        "CREATE EXTERNAL TABLE IF NOT EXISTS `{}`.`{name}`\nLOCATION '{}{name}/'\nTBLPROPERTIES ('table_type'='DELTA')",
        options.database, options.location,
    )
}

/// The `CREATE EXTERNAL TABLE` of one table.
pub fn create_table(table: Table, options: &DdlOptions) -> String {
    if options.layout == TableFormat::Delta {
        return create_delta_table(table.name(), options);
    }
    let schema = table.schema();
    let name = table.name();
    let columns: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| format!("  `{}` {}", f.name(), hive_type(f.data_type())))
        .collect();
    let partitions: Vec<String> = PARTITION_COLUMNS
        .iter()
        .map(|c| format!("`{c}` string"))
        .collect();
    let location = format!("{}{name}/", options.location);
    let (first, last) = options.years;
    let mut out = String::new();
    writeln!(
        out,
        "CREATE EXTERNAL TABLE IF NOT EXISTS `{}`.`{name}` (",
        options.database
    )
    .unwrap();
    writeln!(out, "{}", columns.join(",\n")).unwrap();
    writeln!(out, ")").unwrap();
    writeln!(out, "PARTITIONED BY ({})", partitions.join(", ")).unwrap();
    writeln!(out, "STORED AS PARQUET").unwrap();
    writeln!(out, "LOCATION '{location}'").unwrap();
    writeln!(out, "TBLPROPERTIES (").unwrap();
    let properties = [
        ("projection.enabled", "true".to_string()),
        ("projection.year.type", "integer".into()),
        ("projection.year.range", format!("{first},{last}")),
        ("projection.year.digits", "4".into()),
        ("projection.month.type", "integer".into()),
        ("projection.month.range", "1,12".into()),
        ("projection.month.digits", "2".into()),
        ("projection.day.type", "integer".into()),
        ("projection.day.range", "1,31".into()),
        ("projection.day.digits", "2".into()),
        (
            "storage.location.template",
            format!("{location}year=${{year}}/month=${{month}}/day=${{day}}"),
        ),
        ("parquet.compression", "ZSTD".into()),
    ];
    let properties: Vec<String> = properties
        .iter()
        .map(|(k, v)| format!("  '{k}'='{v}'"))
        .collect();
    writeln!(out, "{}", properties.join(",\n")).unwrap();
    write!(out, ")").unwrap();
    out
}

/// Every statement of `schema`'s tables: the tables, then the current-state tables (Delta) or
/// the views that compute them (Hive).
pub fn statements(schema: &'static Schema, options: &DdlOptions) -> Vec<String> {
    let mut out: Vec<String> = schema
        .handles()
        .into_iter()
        .map(|t| create_table(t, options))
        .collect();
    if options.layout == TableFormat::Delta {
        out.extend(
            schema
                .state_tables()
                .iter()
                .map(|t| create_delta_table(t.name(), options)),
        );
        return out;
    }
    for state in schema.state_tables() {
        let table = state.changes().name();
        let body = views::sql(state).replace(
            &format!("FROM {table}\n"),
            &format!("FROM `{}`.`{table}`\n", options.database),
        );
        out.push(format!(
            "CREATE OR REPLACE VIEW `{}`.`{}` AS\n{body}",
            options.database,
            state.name()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> DdlOptions {
        DdlOptions {
            location: "s3://lake/shop/".into(),
            database: "analytics".into(),
            years: (2000, 2099),
            layout: TableFormat::Hive,
        }
    }

    #[test]
    fn delta_tables_name_only_their_location() {
        let options = DdlOptions {
            layout: TableFormat::Delta,
            ..options()
        };
        assert_eq!(
            create_table(Table::builtin("order_changes"), &options),
            "CREATE EXTERNAL TABLE IF NOT EXISTS `analytics`.`order_changes`\n\
             LOCATION 's3://lake/shop/order_changes/'\n\
             TBLPROPERTIES ('table_type'='DELTA')"
        );
    }

    #[test]
    fn tables_declare_hive_types_and_projection() {
        let ddl = create_table(Table::builtin("events"), &options());
        assert!(
            ddl.starts_with("CREATE EXTERNAL TABLE IF NOT EXISTS `analytics`.`events` ("),
            "{ddl}"
        );
        assert!(ddl.contains("`timestamp` bigint"), "{ddl}");
        assert!(ddl.contains("`properties` struct<page:string,referrer:string,productid:string,amount:double,currency:string>"), "{ddl}");
        assert!(ddl.contains("PARTITIONED BY (`year` string, `month` string, `day` string)"));
        assert!(ddl.contains("LOCATION 's3://lake/shop/events/'"));
        assert!(ddl.contains("'storage.location.template'='s3://lake/shop/events/year=${year}/month=${month}/day=${day}'"));
        let orders = create_table(Table::builtin("order_changes"), &options());
        assert!(orders.contains("`total_amount` decimal(18,4)"), "{orders}");
        assert!(
            orders.contains(
                "`items` array<struct<product_id:string,quantity:bigint,price:decimal(18,4)>>"
            ),
            "{orders}"
        );
        assert!(orders.contains("`change_time` timestamp"), "{orders}");
    }

    #[test]
    fn delta_ddl_declares_the_current_state_tables() {
        let all = statements(
            Schema::builtin(),
            &DdlOptions {
                layout: TableFormat::Delta,
                ..options()
            },
        );
        assert_eq!(all.len(), 5);
        assert!(
            all[3].contains("`analytics`.`orders`\nLOCATION 's3://lake/shop/orders/'"),
            "{}",
            all[3]
        );
        assert!(all[4].contains("`analytics`.`users`"), "{}", all[4]);
        assert!(all.iter().all(|s| !s.contains("VIEW")));
    }

    #[test]
    fn views_read_the_tables_of_the_database() {
        let all = statements(Schema::builtin(), &options());
        assert_eq!(all.len(), 5);
        assert!(
            all[3].starts_with("CREATE OR REPLACE VIEW `analytics`.`orders` AS"),
            "{}",
            all[3]
        );
        assert!(
            all[3].contains("FROM `analytics`.`order_changes`"),
            "{}",
            all[3]
        );
        assert!(
            all[4].contains("FROM `analytics`.`user_changes`"),
            "{}",
            all[4]
        );
    }
}
