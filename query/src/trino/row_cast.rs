//! Casts between rows take the fields by position, as Trino's do:
//!
//! ```sql
//! SELECT CAST(ROW(1, 'a') AS row(id bigint, name varchar));                       -- {id=1, name=a}
//! SELECT CAST(ROW(1, 'a') AS row(id bigint, name varchar)).name;                  -- a
//! SELECT CAST(ARRAY[ROW(1, 2.5)] AS array(row(n integer, price double)));         -- [{n=1, price=2.5}]
//! ```
//! DataFusion matches fields by name (`ROW(1, 'a')` has fields `field0`, `field1`) and refuses a cast
//! whose names do not overlap. An analyzer rule ([`super::casts::TrinoCasts`]) turns a cast
//! between rows of the same number of fields whose names differ into
//! `trino_row_cast(x, CAST(NULL AS type))`, which renames the fields by position and casts
//! each value (inside arrays too). Rows of different sizes are an error, as in Trino.
//! Trino: <https://trino.io/docs/current/functions/conversion.html#cast>,
//! <https://trino.io/docs/current/language/types.html#row>.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListArray, StructArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Fields};
use datafusion::common::{ScalarValue, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{Expr, ScalarUDF, Signature, Volatility};

use super::simple::Simple;
use super::type_of::trino_type_name;

pub fn udf() -> ScalarUDF {
    Simple::udf(
        "trino_row_cast",
        Signature::any(2, Volatility::Immutable),
        |args| Ok(args[1].clone()),
        |args, to| positional(&args[0], to),
    )
}

/// Does a cast from `from` to `to` take row fields by position where DataFusion would take
/// them by name? An error for rows of different sizes.
pub fn applies(from: &DataType, to: &DataType) -> Result<bool> {
    match (from, to) {
        (DataType::Struct(a), DataType::Struct(b)) if a.len() != b.len() => {
            plan_err!(
                "Cannot cast {} to {}: the rows have different numbers of fields",
                trino_type_name(from),
                trino_type_name(to)
            )
        }
        (DataType::Struct(a), DataType::Struct(b)) => Ok(a.iter().zip(b.iter()).any(|(x, y)| {
            x.name() != y.name() || applies(x.data_type(), y.data_type()).unwrap_or(false)
        })),
        (DataType::List(a), DataType::List(b)) => applies(a.data_type(), b.data_type()),
        _ => Ok(false),
    }
}

/// The call that casts `expr` to `to` field by field.
pub fn call(expr: Expr, to: &DataType) -> Result<Expr> {
    let template = Expr::Literal(ScalarValue::try_new_null(to)?, None);
    Ok(Expr::ScalarFunction(ScalarFunction::new_udf(
        Arc::new(udf()),
        vec![expr, template],
    )))
}

/// `array` as `to`, row fields taken by position.
fn positional(array: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    Ok(match (array.data_type(), to) {
        (DataType::Struct(_), DataType::Struct(fields)) => {
            let rows = array.as_struct();
            let columns = rows
                .columns()
                .iter()
                .zip(fields.iter())
                .map(|(c, f)| positional(c, f.data_type()))
                .collect::<Result<Vec<_>>>()?;
            let fields: Fields = fields
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(true))
                .collect();
            Arc::new(StructArray::try_new(
                fields,
                columns,
                rows.nulls().cloned(),
            )?)
        }
        (DataType::List(_), DataType::List(element)) => {
            let list = array.as_list::<i32>();
            let values = positional(list.values(), element.data_type())?;
            let element = Arc::new(element.as_ref().clone().with_nullable(true));
            Arc::new(ListArray::try_new(
                element,
                list.offsets().clone(),
                values,
                list.nulls().cloned(),
            )?)
        }
        _ => cast(array, to)?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{data_type, error, value};

    #[tokio::test]
    async fn casts_rows_by_position() {
        assert_eq!(
            value("SELECT CAST(ROW(1, 'a') AS row(id bigint, name varchar))").await,
            "{id: 1, name: a}"
        );
        assert_eq!(
            value("SELECT CAST(ROW(1, 'a') AS row(id bigint, name varchar)).name").await,
            "a"
        );
        assert_eq!(
            data_type("SELECT CAST(ROW(1, 'a') AS row(id bigint, name varchar)).id").await,
            "Int64"
        );
        let nested = "SELECT CAST(ARRAY[ROW(1, 2.5), NULL] AS array(row(n integer, price double)))";
        assert_eq!(value(nested).await, "[{n: 1, price: 2.5}, ]");
        assert!(
            error("SELECT CAST(ROW(1, 2) AS row(a integer))")
                .await
                .contains("different numbers of fields")
        );
    }
}
