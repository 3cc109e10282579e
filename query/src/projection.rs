//! Athena partition projection: a table whose `TBLPROPERTIES` say `projection.enabled` has its
//! partitions computed from the properties, not listed from storage.
//!
//! ```text
//! 'projection.enabled'='true',
//! 'projection.year.type'='integer', 'projection.year.range'='2000,2099', 'projection.year.digits'='4',
//! 'projection.month.type'='integer', 'projection.month.range'='1,12', 'projection.month.digits'='2',
//! 'projection.region.type'='enum', 'projection.region.values'='eu,us',
//! 'storage.location.template'='s3://lake/shop/events/year=${year}/month=${month}/day=${day}'
//! ```
//! As on Athena, only partitions inside the projected ranges are seen. A query's filters on the
//! partition columns are evaluated against the projected values; when at most
//! [`MAX_PARTITION_SCANS`] partitions remain (a day, a week, a month of days), each is read
//! from its own directory, so nothing else is listed. Otherwise the table's directories are
//! listed once, pruned by the filters and the projected ranges.
//!
//! Supported: `integer` (`range`, `digits`, `interval`) and `enum` (`values`) projections, and
//! `storage.location.template` in the Hive layout (`<location>col=${col}/…`) or left out.
//! Reference: <https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html>.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::compute::{cast, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::catalog::TableProvider;
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::datasource::TableType;
use datafusion::datasource::listing::ListingTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::expr_rewriter::unnormalize_col;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, col, lit};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::union::UnionExec;
use futures::{StreamExt, TryStreamExt};

use crate::session::QueryError;

/// At most this many partitions are read directory by directory.
pub const MAX_PARTITION_SCANS: usize = 1000;

/// Projections with more value combinations than this are not enumerated.
const MAX_ENUMERATED: usize = 200_000;

/// The values one partition column takes.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    Integer {
        from: i64,
        to: i64,
        interval: i64,
        digits: usize,
    },
    Enum(Vec<String>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::Integer {
                from, to, interval, ..
            } => usize::try_from((to - from) / interval + 1).unwrap_or(0),
            Values::Enum(v) => v.len(),
        }
    }

    fn texts(&self) -> Vec<String> {
        match self {
            Values::Integer {
                from,
                to,
                interval,
                digits,
            } => (0..self.len() as i64)
                .map(|i| from + i * interval)
                .filter(|v| v <= to)
                .map(|v| format!("{v:0digits$}"))
                .collect(),
            Values::Enum(v) => v.clone(),
        }
    }

    /// The same set as a filter on the column (for a listing scan).
    fn filter(&self, column: &str) -> Expr {
        match self {
            Values::Integer { from, to, .. } => Expr::Cast(datafusion::logical_expr::Cast::new(
                Box::new(col(column)),
                DataType::Int64,
            ))
            .between(lit(*from), lit(*to)),
            Values::Enum(v) => {
                col(column).in_list(v.iter().map(|s| lit(s.as_str())).collect(), false)
            }
        }
    }
}

/// The projected partition columns of a table, in partition order.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    pub columns: Vec<(String, DataType, Values)>,
}

impl Projection {
    /// The projection the properties declare, or None when `projection.enabled` is not true.
    pub fn from_properties(
        table: &str,
        location: &str,
        partitions: &[(String, DataType)],
        properties: &BTreeMap<String, String>,
    ) -> Result<Option<Projection>, QueryError> {
        if properties
            .get("projection.enabled")
            .is_none_or(|v| !v.eq_ignore_ascii_case("true"))
        {
            return Ok(None);
        }
        let invalid = |m: String| QueryError::Invalid(format!("table {table}: {m}"));
        if let Some(template) = properties.get("storage.location.template") {
            let hive: Vec<String> = partitions
                .iter()
                .map(|(c, _)| format!("{c}=${{{c}}}"))
                .collect();
            let expected = format!("{}{}", with_slash(location), hive.join("/"));
            if template.trim_end_matches('/') != expected {
                return Err(invalid(format!(
                    "storage.location.template {template:?} is not the Hive layout {expected:?}; only that layout is supported"
                )));
            }
        }
        let mut columns = Vec::new();
        for (name, data_type) in partitions {
            let get = |key: &str| properties.get(&format!("projection.{name}.{key}"));
            let values = match get("type").map(|t| t.to_ascii_lowercase()).as_deref() {
                Some("integer") => {
                    let range = get("range")
                        .ok_or_else(|| invalid(format!("projection.{name}.range is missing")))?;
                    let (from, to) = range
                        .split_once(',')
                        .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)))
                        .ok_or_else(|| {
                            invalid(format!(
                                "projection.{name}.range {range:?} is not two integers"
                            ))
                        })?;
                    let number = |key: &str, default: i64| -> Result<i64, QueryError> {
                        get(key).map_or(Ok(default), |v| {
                            v.trim().parse().map_err(|_| {
                                invalid(format!("projection.{name}.{key} {v:?} is not a number"))
                            })
                        })
                    };
                    let (interval, digits) = (
                        number("interval", 1)?.max(1),
                        number("digits", 0)?.max(0) as usize,
                    );
                    Values::Integer {
                        from,
                        to,
                        interval,
                        digits,
                    }
                }
                Some("enum") => {
                    let values = get("values")
                        .ok_or_else(|| invalid(format!("projection.{name}.values is missing")))?;
                    Values::Enum(values.split(',').map(|v| v.trim().to_string()).collect())
                }
                Some(other) => {
                    return Err(invalid(format!(
                        "projection.{name}.type {other:?} is not supported (integer, enum)"
                    )));
                }
                None => return Err(invalid(format!("projection.{name}.type is missing"))),
            };
            columns.push((name.clone(), data_type.clone(), values));
        }
        Ok(Some(Projection { columns }))
    }

    /// Every combination of the projected values, one row each, when there are not too many.
    fn enumerate(&self) -> Result<Option<RecordBatch>> {
        let total = self
            .columns
            .iter()
            .try_fold(1usize, |n, (_, _, v)| n.checked_mul(v.len()));
        let Some(total) = total.filter(|n| *n <= MAX_ENUMERATED) else {
            return Ok(None);
        };
        let mut arrays: Vec<ArrayRef> = Vec::new();
        let mut repeat = total;
        for (_, data_type, values) in &self.columns {
            let texts = values.texts();
            repeat /= texts.len().max(1);
            let cycle = total / (texts.len().max(1) * repeat).max(1);
            let column: StringArray = (0..cycle)
                .flat_map(|_| {
                    texts
                        .iter()
                        .flat_map(|t| std::iter::repeat_n(Some(t.as_str()), repeat))
                })
                .collect();
            arrays.push(cast(&(Arc::new(column) as ArrayRef), data_type)?);
        }
        let schema = Schema::new(
            self.columns
                .iter()
                .map(|(n, t, _)| Field::new(n, t.clone(), true))
                .collect::<Vec<_>>(),
        );
        Ok(Some(RecordBatch::try_new(Arc::new(schema), arrays)?))
    }
}

fn with_slash(location: &str) -> String {
    if location.ends_with('/') {
        location.to_string()
    } else {
        format!("{location}/")
    }
}

/// A Parquet table with partition projection.
#[derive(Debug)]
pub struct ProjectedTable {
    pub inner: Arc<ListingTable>,
    pub projection: Projection,
}

impl ProjectedTable {
    /// The projected partitions that `filters` (on partition columns only) leave.
    fn partitions(&self, state: &dyn Session, filters: &[Expr]) -> Result<Option<RecordBatch>> {
        let Some(all) = self.projection.enumerate()? else {
            return Ok(None);
        };
        let Some(predicate) = conjunction(filters.iter().cloned().map(unnormalize_col)) else {
            return Ok(Some(all));
        };
        let schema = DFSchema::try_from(all.schema().as_ref().clone())?;
        let predicate = state.create_physical_expr(predicate, &schema)?;
        let mask = predicate.evaluate(&all)?.into_array(all.num_rows())?;
        let mask = mask
            .as_any()
            .downcast_ref::<datafusion::arrow::array::BooleanArray>()
            .ok_or_else(|| {
                DataFusionError::Internal("a partition filter that is not a predicate".into())
            })?;
        Ok(Some(filter_record_batch(&all, mask)?))
    }

    fn is_partition_filter(&self, expr: &Expr) -> bool {
        let refs = expr.column_refs();
        !refs.is_empty()
            && refs
                .iter()
                .all(|c| self.projection.columns.iter().any(|(n, _, _)| *n == c.name))
    }
}

#[async_trait]
impl TableProvider for ProjectedTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let partition_filters: Vec<Expr> = filters
            .iter()
            .filter(|f| self.is_partition_filter(f))
            .cloned()
            .collect();
        match self.partitions(state, &partition_filters)? {
            Some(partitions) if partitions.num_rows() <= MAX_PARTITION_SCANS => {
                // one scan per partition directory: equality on every partition column lists
                // just that directory
                let scans = (0..partitions.num_rows()).map(|row| {
                    let mut own = filters.to_vec();
                    for (i, (name, _, _)) in self.projection.columns.iter().enumerate() {
                        let value = ScalarValue::try_from_array(partitions.column(i), row)?;
                        own.push(col(name.as_str()).eq(lit(value)));
                    }
                    Ok::<_, DataFusionError>(own)
                });
                let scans: Vec<Vec<Expr>> = scans.collect::<Result<_>>()?;
                let plans: Vec<Arc<dyn ExecutionPlan>> = futures::stream::iter(scans)
                    .map(|own| async move { self.inner.scan(state, projection, &own, limit).await })
                    .buffered(16)
                    .try_collect()
                    .await?;
                if plans.is_empty() {
                    let schema =
                        datafusion::physical_plan::project_schema(&self.schema(), projection)?;
                    return Ok(Arc::new(EmptyExec::new(schema)));
                }
                UnionExec::try_new(plans)
            }
            // too many to read one by one: list once, pruned by the filters and the ranges
            _ => {
                let mut all = filters.to_vec();
                all.extend(
                    self.projection
                        .columns
                        .iter()
                        .map(|(name, _, values)| values.filter(name)),
                );
                self.inner.scan(state, projection, &all, limit).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn properties(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_integer_and_enum_projections() {
        let partitions = vec![
            ("year".to_string(), DataType::Utf8),
            ("region".to_string(), DataType::Utf8),
        ];
        let props = properties(&[
            ("projection.enabled", "true"),
            ("projection.year.type", "integer"),
            ("projection.year.range", "2025,2026"),
            ("projection.year.digits", "4"),
            ("projection.region.type", "enum"),
            ("projection.region.values", "eu,us"),
            (
                "storage.location.template",
                "s3://b/t/year=${year}/region=${region}",
            ),
        ]);
        let p = Projection::from_properties("t", "s3://b/t/", &partitions, &props)
            .unwrap()
            .unwrap();
        let all = p.enumerate().unwrap().unwrap();
        assert_eq!(all.num_rows(), 4);
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&[all])
            .unwrap()
            .to_string();
        assert!(
            text.contains("| 2025 | eu     |") && text.contains("| 2026 | us     |"),
            "{text}"
        );
        let wrong = properties(&[
            ("projection.enabled", "true"),
            ("storage.location.template", "s3://b/t/${year}/${region}"),
        ]);
        assert!(
            Projection::from_properties("t", "s3://b/t/", &partitions, &wrong)
                .unwrap_err()
                .to_string()
                .contains("Hive layout")
        );
        assert_eq!(
            Projection::from_properties("t", "s3://b/t/", &partitions, &BTreeMap::new()).unwrap(),
            None
        );
    }
}
