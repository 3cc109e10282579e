//! Reading Athena DDL: `CREATE DATABASE`, `CREATE EXTERNAL TABLE … PARTITIONED BY … STORED AS
//! PARQUET LOCATION … TBLPROPERTIES (…)` with Hive column types, and `CREATE VIEW`, as
//! [`crate::ddl`] prints them and as analysts keep them for Athena.
//!
//! Parsed with the generic SQL dialect, which reads Hive's clauses and `struct<a:T>` types;
//! Hive types become Arrow types:
//!
//! | Hive | Arrow |
//! |---|---|
//! | `string`, `varchar(n)`, `char(n)` | `Utf8` |
//! | `tinyint`, `smallint`, `int`/`integer`, `bigint` | `Int8` … `Int64` |
//! | `float`/`real`, `double` | `Float32`, `Float64` |
//! | `decimal(p,s)` | `Decimal128(p, s)` |
//! | `boolean`, `binary`, `date` | `Boolean`, `Binary`, `Date32` |
//! | `timestamp` | `Timestamp(ms)`: Athena reads Parquet timestamps as `timestamp(3)` |
//! | `array<T>`, `map<K,V>`, `struct<a:T,…>` | `List`, `Map`, `Struct` |
//!
//! Reference: <https://docs.aws.amazon.com/athena/latest/ug/create-table.html>,
//! <https://docs.aws.amazon.com/athena/latest/ug/data-types.html>.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use datafusion::sql::sqlparser::ast::{
    ArrayElemTypeDef, CreateTableOptions, DataType as SqlType, ExactNumberInfo,
    HiveDistributionStyle, ObjectName, SqlOption, Statement,
};
use datafusion::sql::sqlparser::parser::Parser;

use crate::session::QueryError;

/// One statement of a DDL file.
#[derive(Debug, Clone, PartialEq)]
pub enum DdlStatement {
    Database(String),
    Table(ExternalTable),
    /// `CREATE [OR REPLACE] VIEW`, kept as SQL to run.
    View {
        name: String,
        sql: String,
    },
}

/// A table declared by `CREATE EXTERNAL TABLE`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalTable {
    pub database: Option<String>,
    pub name: String,
    pub columns: Vec<(String, DataType)>,
    pub partitions: Vec<(String, DataType)>,
    /// As written (`s3://…/` or `file:///…/`).
    pub location: String,
    /// `TBLPROPERTIES`, keys as written.
    pub properties: BTreeMap<String, String>,
}

fn invalid(message: impl Into<String>) -> QueryError {
    QueryError::Invalid(message.into())
}

/// The statements of an Athena DDL text (`;`-separated).
pub fn parse(ddl: &str) -> Result<Vec<DdlStatement>, QueryError> {
    let statements = Parser::parse_sql(&crate::trino::dialect::TrinoDialect, ddl)
        .map_err(|e| invalid(format!("Athena DDL: {e}")))?;
    statements.into_iter().map(statement).collect()
}

fn lower_name(name: &ObjectName) -> (Option<String>, String) {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| p.to_string().trim_matches(['`', '"']).to_ascii_lowercase())
        .collect();
    match parts.as_slice() {
        [table] => (None, table.clone()),
        [.., database, table] => (Some(database.clone()), table.clone()),
        [] => (None, String::new()),
    }
}

fn statement(statement: Statement) -> Result<DdlStatement, QueryError> {
    match statement {
        Statement::CreateDatabase { db_name, .. } => {
            Ok(DdlStatement::Database(lower_name(&db_name).1))
        }
        Statement::CreateView(view) => {
            let (database, name) = lower_name(&view.name);
            let name = database.map_or(name.clone(), |d| format!("{d}.{name}"));
            Ok(DdlStatement::View {
                name,
                sql: view.query.to_string(),
            })
        }
        Statement::CreateTable(table) => {
            let (database, name) = lower_name(&table.name);
            let columns = table
                .columns
                .iter()
                .map(|c| Ok((c.name.value.to_ascii_lowercase(), arrow_type(&c.data_type)?)))
                .collect::<Result<Vec<_>, QueryError>>()?;
            let partitions = match &table.hive_distribution {
                HiveDistributionStyle::PARTITIONED { columns } => columns
                    .iter()
                    .map(|c| Ok((c.name.value.to_ascii_lowercase(), arrow_type(&c.data_type)?)))
                    .collect::<Result<Vec<_>, QueryError>>()?,
                _ => Vec::new(),
            };
            let location = table
                .hive_formats
                .as_ref()
                .and_then(|f| f.location.clone())
                .or(table.location.clone())
                .ok_or_else(|| invalid(format!("table {name}: no LOCATION")))?;
            let mut properties = BTreeMap::new();
            if let CreateTableOptions::TableProperties(options) = &table.table_options {
                for option in options {
                    if let SqlOption::KeyValue { key, value } = option {
                        properties.insert(unquote(&key.to_string()), unquote(&value.to_string()));
                    }
                }
            }
            Ok(DdlStatement::Table(ExternalTable {
                database,
                name,
                columns,
                partitions,
                location,
                properties,
            }))
        }
        other => Err(invalid(format!(
            "Athena DDL: expected CREATE DATABASE, CREATE EXTERNAL TABLE or CREATE VIEW, got: {other}"
        ))),
    }
}

fn unquote(text: &str) -> String {
    text.trim_matches(['\'', '"', '`']).to_string()
}

/// The Arrow type of a Hive column type.
pub fn arrow_type(t: &SqlType) -> Result<DataType, QueryError> {
    Ok(match t {
        SqlType::String(_) | SqlType::Varchar(_) | SqlType::Char(_) | SqlType::Text => {
            DataType::Utf8
        }
        SqlType::TinyInt(_) => DataType::Int8,
        SqlType::SmallInt(_) => DataType::Int16,
        SqlType::Int(_) | SqlType::Integer(_) => DataType::Int32,
        SqlType::BigInt(_) => DataType::Int64,
        SqlType::Float(_) | SqlType::Real => DataType::Float32,
        SqlType::Double(_) | SqlType::DoublePrecision => DataType::Float64,
        SqlType::Decimal(info) | SqlType::Numeric(info) => match info {
            ExactNumberInfo::PrecisionAndScale(p, s) => DataType::Decimal128(*p as u8, *s as i8),
            ExactNumberInfo::Precision(p) => DataType::Decimal128(*p as u8, 0),
            ExactNumberInfo::None => DataType::Decimal128(10, 0),
        },
        SqlType::Boolean | SqlType::Bool => DataType::Boolean,
        SqlType::Binary(_) | SqlType::Varbinary(_) => DataType::Binary,
        SqlType::Date => DataType::Date32,
        SqlType::Timestamp(_, _) => DataType::Timestamp(TimeUnit::Millisecond, None),
        SqlType::Array(
            ArrayElemTypeDef::AngleBracket(inner)
            | ArrayElemTypeDef::SquareBracket(inner, _)
            | ArrayElemTypeDef::Parenthesis(inner),
        ) => DataType::List(Arc::new(Field::new_list_field(arrow_type(inner)?, true))),
        SqlType::Map(key, value) => {
            let entries = Field::new(
                "entries",
                DataType::Struct(Fields::from(vec![
                    Field::new("key", arrow_type(key)?, false),
                    Field::new("value", arrow_type(value)?, true),
                ])),
                false,
            );
            DataType::Map(Arc::new(entries), false)
        }
        SqlType::Struct(fields, _) => DataType::Struct(
            fields
                .iter()
                .map(|f| {
                    let name = f
                        .field_name
                        .as_ref()
                        .map(|n| n.value.to_ascii_lowercase())
                        .unwrap_or_default();
                    Ok(Field::new(name, arrow_type(&f.field_type)?, true))
                })
                .collect::<Result<Fields, QueryError>>()?,
        ),
        other => {
            return Err(invalid(format!(
                "Athena DDL: unsupported column type {other}"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ddl::{DdlOptions, statements};

    #[test]
    fn reads_back_what_tributary_ddl_prints() {
        let options = DdlOptions {
            location: "s3://lake/shop/".into(),
            database: "analytics".into(),
            years: (2000, 2099),
            layout: tributary_table::TableFormat::Hive,
        };
        let text = format!(
            "CREATE DATABASE IF NOT EXISTS `analytics`;\n{};",
            statements(tributary_table::schema::Schema::builtin(), &options).join(";\n")
        );
        let parsed = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(parsed.len(), 6);
        assert_eq!(parsed[0], DdlStatement::Database("analytics".into()));
        let DdlStatement::Table(events) = &parsed[1] else {
            panic!("{:?}", parsed[1])
        };
        assert_eq!(
            (events.database.as_deref(), events.name.as_str()),
            (Some("analytics"), "events")
        );
        assert_eq!(events.location, "s3://lake/shop/events/");
        assert_eq!(
            events
                .partitions
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>(),
            ["year", "month", "day"]
        );
        assert_eq!(events.properties["projection.year.range"], "2000,2099");
        assert!(matches!(parsed[4], DdlStatement::View { .. }));
    }
}
