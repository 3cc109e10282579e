//! Trino (Athena engine 3) functions whose DataFusion namesakes are missing or answer
//! differently. One function per file, each with the Trino rule it follows and a SQL example;
//! [`register`] installs them all (replacing DataFusion's own of the same name).
//!
//! | function | Trino rule |
//! |---|---|
//! | [`date`](date::Date) | `date(x)` = `CAST(x AS date)`; a timestamp with time zone gives its local date |
//! | [`from_unixtime`](from_unixtime::FromUnixtime) | epoch seconds (fractions kept to the millisecond) → `timestamp(3) with time zone` in UTC |
//! | [`to_unixtime`](to_unixtime::ToUnixtime) | a timestamp → epoch seconds as `double` (DataFusion: an integer) |
//! | [`typeof`](type_of::TypeOf) | the Trino name of the argument's type |
//!
//! Reference: <https://trino.io/docs/current/functions/datetime.html>,
//! <https://trino.io/docs/current/functions/conversion.html>.

pub mod date;
pub mod from_unixtime;
pub mod to_unixtime;
pub mod type_of;

use datafusion::arrow::array::ArrayRef;
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF};
use datafusion::prelude::SessionContext;

/// Registers every Trino function in `ctx`.
pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::from(date::Date::new()));
    ctx.register_udf(ScalarUDF::from(from_unixtime::FromUnixtime::new()));
    ctx.register_udf(ScalarUDF::from(to_unixtime::ToUnixtime::new()));
    ctx.register_udf(ScalarUDF::from(type_of::TypeOf::new()));
}

/// Applies an array kernel to a one-argument call, keeping a scalar a scalar.
pub(crate) fn map_one(arg: &ColumnarValue, kernel: impl Fn(&ArrayRef) -> Result<ArrayRef>) -> Result<ColumnarValue> {
    match arg {
        ColumnarValue::Array(array) => Ok(ColumnarValue::Array(kernel(array)?)),
        ColumnarValue::Scalar(scalar) => {
            let array = scalar.to_array_of_size(1)?;
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&kernel(&array)?, 0)?))
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use datafusion::arrow::util::display::array_value_to_string;
    use datafusion::prelude::SessionContext;

    /// Runs `sql` (one row, one column) with the Trino functions and renders the value.
    pub async fn value(sql: &str) -> String {
        let ctx = SessionContext::new();
        super::register(&ctx);
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        array_value_to_string(batches[0].column(0), 0).unwrap()
    }

    /// The Arrow type of `sql`'s one column.
    pub async fn data_type(sql: &str) -> String {
        let ctx = SessionContext::new();
        super::register(&ctx);
        let df = ctx.sql(sql).await.unwrap();
        df.schema().field(0).data_type().to_string()
    }
}
