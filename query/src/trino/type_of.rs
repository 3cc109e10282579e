//! `typeof(expr)`: the name of the argument's type, as Trino spells it.
//!
//! ```sql
//! SELECT typeof(CAST(1 AS integer));   -- integer
//! SELECT typeof(from_unixtime(0));      -- timestamp(3) with time zone
//! SELECT typeof(json_parse('[1]'));     -- json
//! ```
//! Literals have Trino's types (`1` is an `integer`, `1.50` a `decimal(3,2)`, `'cat'` a
//! `varchar(3)`): see [`super::literals`] and [`super::rewrite`].
//! Trino: <https://trino.io/docs/current/functions/conversion.html#typeof>.

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::types::{is_json, precision_of_unit};

pub fn udf() -> ScalarUDF {
    ScalarUDF::from(TypeOf {
        signature: Signature::any(1, Volatility::Immutable),
    })
}

/// `typeof` reads its argument's field, not only its type: a JSON text is `json`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct TypeOf {
    signature: Signature,
}

impl ScalarUDFImpl for TypeOf {
    fn name(&self) -> &str {
        "typeof"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let field = &args.arg_fields[0];
        let name = if is_json(field) {
            "json".to_string()
        } else {
            trino_type_name(field.data_type())
        };
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(name))))
    }
}

/// The Trino name of an Arrow type.
pub fn trino_type_name(data_type: &DataType) -> String {
    let precision = |unit: &TimeUnit| precision_of_unit(*unit);
    match data_type {
        DataType::Null => "unknown".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int32 => "integer".into(),
        DataType::Int64 => "bigint".into(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => "bigint".into(),
        DataType::Float16 | DataType::Float32 => "real".into(),
        DataType::Float64 => "double".into(),
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) => format!("decimal({p},{s})"),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("decimal({p},{s})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "varchar".into(),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => "varbinary".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(unit, None) => format!("timestamp({})", precision(unit)),
        DataType::Timestamp(unit, Some(_)) => {
            format!("timestamp({}) with time zone", precision(unit))
        }
        DataType::Time32(unit) | DataType::Time64(unit) => format!("time({})", precision(unit)),
        DataType::Interval(_) | DataType::Duration(_) => "interval day to second".into(),
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::FixedSizeList(f, _) => {
            format!("array({})", trino_type_name(f.data_type()))
        }
        DataType::Struct(fields) => format!(
            "row({})",
            fields
                .iter()
                .enumerate()
                .map(|(i, f)| if super::types::is_anonymous_field(f.name(), i) {
                    trino_type_name(f.data_type())
                } else {
                    format!("{} {}", f.name(), trino_type_name(f.data_type()))
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                format!(
                    "map({}, {})",
                    trino_type_name(kv[0].data_type()),
                    trino_type_name(kv[1].data_type())
                )
            }
            other => format!("map({other})"),
        },
        DataType::Dictionary(_, value) => trino_type_name(value),
        other => other.to_string().to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;

    #[tokio::test]
    async fn names_types_as_trino_does() {
        assert_eq!(value("SELECT typeof(CAST(1 AS INT))").await, "integer");
        assert_eq!(value("SELECT typeof(CAST(1 AS BIGINT))").await, "bigint");
        assert_eq!(value("SELECT typeof(CAST(1 AS DOUBLE))").await, "double");
        assert_eq!(
            value("SELECT typeof(CAST(1 AS DECIMAL(10,2)))").await,
            "decimal(10,2)"
        );
        assert_eq!(
            value("SELECT typeof(CAST('x' AS varchar))").await,
            "varchar"
        );
        assert_eq!(
            value("SELECT typeof(from_unixtime(0))").await,
            "timestamp(3) with time zone"
        );
        assert_eq!(
            value("SELECT typeof(make_array(1, 2))").await,
            "array(integer)"
        );
        assert_eq!(value("SELECT typeof(1)").await, "integer");
        assert_eq!(value("SELECT typeof(3000000000)").await, "bigint");
        // a row built without names has anonymous fields (`field0`, … in values, left out here)
        assert_eq!(
            value("SELECT typeof(ROW(1, 2e0))").await,
            "row(integer, double)"
        );
        assert_eq!(
            value("SELECT typeof((1 + 1, 2e0))").await,
            "row(integer, double)"
        );
        assert_eq!(
            value("SELECT ROW(1 + 1, 2e0)").await,
            "{field0: 2, field1: 2.0}"
        );
        assert_eq!(value("SELECT typeof('cat')").await, "varchar(3)");
        assert_eq!(value("SELECT typeof(1.50)").await, "decimal(3,2)");
        assert_eq!(value("SELECT typeof(1.5e0)").await, "double");
        assert_eq!(value("SELECT typeof(json_parse('[1]'))").await, "json");
        assert_eq!(
            value("SELECT typeof(json_extract('{}', '$'))").await,
            "json"
        );
        assert_eq!(value("SELECT typeof(JSON '1')").await, "json");
        assert_eq!(
            value("SELECT typeof(CAST(json_parse('[1]') AS varchar))").await,
            "varchar"
        );
    }
}
