//! `avg` and `sum` over decimals with Trino's result types:
//!
//! ```sql
//! SELECT avg(x) FROM (VALUES (1.0), (1.1)) t(x);     -- 1.1   decimal(2,1): the input's type, half up
//! SELECT typeof(sum(x)) FROM (VALUES (1.5)) t(x);    -- decimal(38,1)
//! ```
//! Trino's `avg` of a `decimal(p,s)` is a `decimal(p,s)`, rounded half up; DataFusion's is a
//! `decimal(p+4,s+4)` (so `avg(price)` prints four more digits). Trino's `sum` of a
//! `decimal(p,s)` is a `decimal(38,s)`; DataFusion's a `decimal(p+10,s)`. Both wrap
//! DataFusion's aggregate: it computes in its own type and the result is cast to Trino's (Arrow
//! rounds half away from zero when the scale shrinks). Other argument types are untouched.
//! Trino: <https://trino.io/docs/current/functions/aggregate.html#avg>,
//! <https://trino.io/docs/current/functions/aggregate.html#sum>.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator,
    ReversedUDAF, Signature,
};

#[derive(Debug, PartialEq, Eq, Hash)]
enum Kind {
    Avg,
    Sum,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Retyped {
    inner: Arc<AggregateUDF>,
    kind: Kind,
}

pub fn avg() -> AggregateUDF {
    AggregateUDF::from(Retyped {
        inner: datafusion::functions_aggregate::average::avg_udaf(),
        kind: Kind::Avg,
    })
}

pub fn sum() -> AggregateUDF {
    AggregateUDF::from(Retyped {
        inner: datafusion::functions_aggregate::sum::sum_udaf(),
        kind: Kind::Sum,
    })
}

impl Retyped {
    /// Trino's result type for an argument of type `input`, or None where DataFusion's agrees.
    fn retype(&self, input: &DataType) -> Option<DataType> {
        match (&self.kind, input) {
            (Kind::Avg, DataType::Decimal128(p, s)) => Some(DataType::Decimal128(*p, *s)),
            (Kind::Sum, DataType::Decimal128(_, s)) => Some(DataType::Decimal128(38, *s)),
            _ => None,
        }
    }

    /// DataFusion's own result field, from the arguments' fields.
    fn inner_field(&self, expr_fields: &[FieldRef], name: &str) -> Result<FieldRef> {
        let types: Vec<DataType> = expr_fields.iter().map(|f| f.data_type().clone()).collect();
        Ok(Arc::new(Field::new(
            name,
            self.inner.return_type(&types)?,
            true,
        )))
    }
}

impl AggregateUDFImpl for Retyped {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.inner().coerce_types(arg_types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let inner = self.inner.return_type(arg_types)?;
        Ok(arg_types
            .first()
            .and_then(|t| self.retype(t))
            .unwrap_or(inner))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let to = args.return_field.data_type().clone();
        let inner_args = AccumulatorArgs {
            return_field: self.inner_field(args.expr_fields, args.name)?,
            ..args
        };
        Ok(Box::new(Cast {
            inner: self.inner.accumulator(inner_args)?,
            to,
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let return_field = self.inner_field(args.input_fields, args.name)?;
        self.inner.state_fields(StateFieldsArgs {
            return_field,
            ..args
        })
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        match self.inner_field(args.expr_fields, args.name) {
            Ok(return_field) => self.inner.groups_accumulator_supported(AccumulatorArgs {
                return_field,
                ..args
            }),
            Err(_) => false,
        }
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        let to = args.return_field.data_type().clone();
        let inner_args = AccumulatorArgs {
            return_field: self.inner_field(args.expr_fields, args.name)?,
            ..args
        };
        Ok(Box::new(CastGroups {
            inner: self.inner.create_groups_accumulator(inner_args)?,
            to,
        }))
    }

    fn reverse_expr(&self) -> ReversedUDAF {
        ReversedUDAF::Identical
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

/// An accumulator whose result is cast to `to`.
#[derive(Debug)]
struct Cast {
    inner: Box<dyn Accumulator>,
    to: DataType,
}

impl Accumulator for Cast {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.inner.update_batch(values)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.inner.evaluate()?.cast_to(&self.to)
    }

    fn size(&self) -> usize {
        self.inner.size()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.inner.state()
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.inner.merge_batch(states)
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.inner.retract_batch(values)
    }

    fn supports_retract_batch(&self) -> bool {
        self.inner.supports_retract_batch()
    }
}

/// A groups accumulator whose results are cast to `to`.
struct CastGroups {
    inner: Box<dyn GroupsAccumulator>,
    to: DataType,
}

impl GroupsAccumulator for CastGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.inner
            .update_batch(values, group_indices, opt_filter, total_num_groups)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        Ok(cast(&self.inner.evaluate(emit_to)?, &self.to)?)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        self.inner.state(emit_to)
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.inner
            .merge_batch(values, group_indices, total_num_groups)
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        self.inner.convert_to_state(values, opt_filter)
    }

    fn size(&self) -> usize {
        self.inner.size()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{data_type, value};

    #[tokio::test]
    async fn keep_trinos_decimal_types() {
        let data = "(VALUES (1.0), (1.1)) t(x)";
        assert_eq!(value(&format!("SELECT avg(x) FROM {data}")).await, "1.1");
        assert_eq!(
            data_type(&format!("SELECT avg(x) FROM {data}")).await,
            "Decimal128(2, 1)"
        );
        assert_eq!(
            data_type(&format!("SELECT sum(x) FROM {data}")).await,
            "Decimal128(38, 1)"
        );
        assert_eq!(value(&format!("SELECT sum(x) FROM {data}")).await, "2.1");
        // grouped (the groups accumulator), and as a window
        let grouped = "SELECT array_agg(a ORDER BY k) FROM (SELECT k, avg(x) AS a FROM (VALUES (1, 2.25), (1, 2.30), (2, 1.00)) t(k, x) GROUP BY k)";
        assert_eq!(value(grouped).await, "[2.28, 1.00]");
        let window = "SELECT array_agg(a ORDER BY k) FROM (SELECT k, avg(x) OVER (ORDER BY k) AS a FROM (VALUES (1, 1.0), (2, 2.0)) t(k, x))";
        assert_eq!(value(window).await, "[1.0, 1.5]");
        // other types keep DataFusion's (Trino's too)
        assert_eq!(
            data_type("SELECT avg(x) FROM (VALUES (1), (2)) t(x)").await,
            "Float64"
        );
        assert_eq!(
            data_type("SELECT sum(x) FROM (VALUES (1), (2)) t(x)").await,
            "Int64"
        );
    }
}
