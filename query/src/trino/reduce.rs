//! `reduce(array, initialState, inputFunction, outputFunction)`: Trino's fold over an array.
//!
//! ```sql
//! SELECT reduce(ARRAY[5, 20, 50], 0, (s, x) -> s + x, s -> s);                  -- 75
//! SELECT reduce(ARRAY[5, 20, NULL, 50], 0, (s, x) -> s + coalesce(x, 0), s -> s); -- 75
//! SELECT reduce(ARRAY[2147483647, 1], BIGINT '0', (s, x) -> s + x, s -> s);    -- 2147483648
//! SELECT reduce(o.items, 0.0, (s, i) -> s + i.price * i.quantity, s -> s) FROM orders o;
//! ```
//! The state starts as `initialState`, `inputFunction(state, element)` is applied to each element
//! in order, and `outputFunction(state)` gives the answer. A NULL array gives NULL; NULL elements
//! reach the lambda (so `s + x` turns the state NULL, as in Trino). The state's type is the one
//! `inputFunction` returns (`0` and a `bigint` array fold in `bigint`; decimal states widen to
//! precision 38 so that repeated additions keep one type), and the initial state is cast to it.
//!
//! Rows are folded together: step k evaluates `inputFunction` once, on the k-th element of every
//! array that has one, so the lambda runs as a vectorised expression, not once per element.
//! Trino: <https://trino.io/docs/current/functions/array.html#reduce>.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, BooleanArray, UInt32Array};
use datafusion::arrow::compute::{cast, interleave, nullif, take, take_arrays};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, HigherOrderFunctionArgs, HigherOrderReturnFieldArgs, HigherOrderSignature,
    HigherOrderUDF, HigherOrderUDFImpl, LambdaParametersProgress, ValueOrLambda, Volatility,
};

#[derive(Debug, PartialEq, Eq, Hash)]
struct Reduce {
    signature: HigherOrderSignature,
}

pub fn function() -> HigherOrderUDF {
    HigherOrderUDF::new_from_impl(Reduce {
        signature: HigherOrderSignature::exact(
            vec![
                ValueOrLambda::Value(()),
                ValueOrLambda::Value(()),
                ValueOrLambda::Lambda(()),
                ValueOrLambda::Lambda(()),
            ],
            Volatility::Immutable,
        ),
    })
}

fn element_field(list: &FieldRef) -> Result<FieldRef> {
    match list.data_type() {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            Ok(Arc::clone(f))
        }
        DataType::Null => Ok(Arc::new(Field::new_list_field(DataType::Null, true))),
        other => plan_err!("reduce takes an array first, not {other}"),
    }
}

/// The state's type, from what `inputFunction` returns: decimals widen to precision 38, so
/// that `s + x` returns the type `s` already has.
fn state_type(returned: &DataType) -> DataType {
    match returned {
        DataType::Decimal128(_, s) => DataType::Decimal128(38, *s),
        other => other.clone(),
    }
}

impl HigherOrderUDFImpl for Reduce {
    fn name(&self) -> &str {
        "reduce"
    }

    fn signature(&self) -> &HigherOrderSignature {
        &self.signature
    }

    fn lambda_parameters(
        &self,
        step: usize,
        fields: &[ValueOrLambda<FieldRef, Option<FieldRef>>],
    ) -> Result<LambdaParametersProgress> {
        let [
            ValueOrLambda::Value(list),
            ValueOrLambda::Value(initial),
            ValueOrLambda::Lambda(input),
            ValueOrLambda::Lambda(_),
        ] = fields
        else {
            return plan_err!("reduce takes (array, initialState, (s, x) -> …, s -> …)");
        };
        let element = element_field(list)?;
        let state = |t: DataType| Arc::new(Field::new("s", t, true));
        match (step, input) {
            // once inputFunction's return type is known (this may already be so at step 0, when
            // the expression is planned again), fold in that type …
            (_, Some(returned)) => {
                let s = state(state_type(returned.data_type()));
                Ok(LambdaParametersProgress::Complete(vec![
                    vec![Arc::clone(&s), element],
                    vec![s],
                ]))
            }
            // … and first learn it from a state of the initial value's type
            (0, None) => Ok(LambdaParametersProgress::Partial(vec![
                Some(vec![state(initial.data_type().clone()), element]),
                None,
            ])),
            (_, None) => plan_err!("reduce: the type inputFunction returns is not known"),
        }
    }

    /// The array and the initial state keep their types here; the state is cast once the type
    /// `inputFunction` returns is known (`coerce_values_for_lambdas`).
    fn coerce_value_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        Ok(arg_types.to_vec())
    }

    fn coerce_values_for_lambdas(
        &self,
        fields: &[ValueOrLambda<DataType, DataType>],
    ) -> Result<Option<Vec<DataType>>> {
        match fields {
            [
                ValueOrLambda::Value(list),
                _,
                ValueOrLambda::Lambda(returned),
                _,
            ] => Ok(Some(vec![list.clone(), state_type(returned)])),
            _ => plan_err!("reduce takes (array, initialState, (s, x) -> …, s -> …)"),
        }
    }

    fn return_field_from_args(&self, args: HigherOrderReturnFieldArgs) -> Result<FieldRef> {
        match args.arg_fields {
            [_, _, _, ValueOrLambda::Lambda(output)] => Ok(Arc::new(Field::new(
                "reduce",
                output.data_type().clone(),
                true,
            ))),
            _ => plan_err!("reduce takes (array, initialState, (s, x) -> …, s -> …)"),
        }
    }

    fn invoke_with_args(&self, args: HigherOrderFunctionArgs) -> Result<ColumnarValue> {
        let [
            ValueOrLambda::Value(list),
            ValueOrLambda::Value(initial),
            ValueOrLambda::Lambda(input),
            ValueOrLambda::Lambda(output),
        ] = &args.args[..]
        else {
            return exec_err!("reduce takes (array, initialState, (s, x) -> …, s -> …)");
        };
        let rows = args.number_rows;
        let list = list.to_array(rows)?;
        let list = match list.data_type() {
            DataType::List(_) => list,
            DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
                cast(&list, &DataType::List(Arc::clone(f)))?
            }
            DataType::Null => {
                return Ok(ColumnarValue::Array(
                    datafusion::arrow::array::new_null_array(args.return_type(), rows),
                ));
            }
            other => return exec_err!("reduce takes an array, not {other}"),
        };
        let list = list.as_list::<i32>();
        let offsets = list.value_offsets();
        let length = |row: usize| {
            if list.is_null(row) {
                0
            } else {
                (offsets[row + 1] - offsets[row]) as usize
            }
        };
        let longest = (0..rows).map(length).max().unwrap_or(0);

        let mut state = initial.to_array(rows)?;
        for k in 0..longest {
            // the rows whose array has a k-th element, and where that element is
            let active: Vec<u32> = (0..rows)
                .filter(|&r| length(r) > k)
                .map(|r| r as u32)
                .collect();
            let elements: UInt32Array = active
                .iter()
                .map(|&r| offsets[r as usize] as u32 + k as u32)
                .collect();
            let active = UInt32Array::from(active);
            let s = take(&state, &active, None)?;
            let x = take(list.values(), &elements, None)?;
            let folded = input
                .evaluate(
                    &[&|| Ok(Arc::clone(&s)), &|| Ok(Arc::clone(&x))],
                    |captured| Ok(take_arrays(captured, &active, None)?),
                )?
                .into_array(active.len())?;
            let folded = cast(&folded, state.data_type())?;
            // the new state: folded for the active rows, unchanged for the others
            let mut choice: Vec<(usize, usize)> = (0..rows).map(|r| (0, r)).collect();
            for (position, &row) in active.values().iter().enumerate() {
                choice[row as usize] = (1, position);
            }
            state = interleave(&[state.as_ref(), folded.as_ref()], &choice)?;
        }
        let answer = output
            .evaluate(&[&|| Ok(Arc::clone(&state))], |captured| {
                Ok(captured.to_vec())
            })?
            .into_array(rows)?;
        let answer = cast(&answer, args.return_type())?;
        // a NULL array folds to NULL
        Ok(ColumnarValue::Array(match list.nulls() {
            Some(nulls) if nulls.null_count() > 0 => {
                let is_null =
                    BooleanArray::from((0..rows).map(|r| list.is_null(r)).collect::<Vec<_>>());
                nullif(&answer, &is_null)?
            }
            _ => answer,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{data_type, value};

    #[tokio::test]
    async fn folds_as_trino_does() {
        assert_eq!(
            value("SELECT reduce(ARRAY[5, 20, 50], 0, (s, x) -> s + x, s -> s)").await,
            "75"
        );
        assert_eq!(
            data_type("SELECT reduce(ARRAY[5, 20, 50], 0, (s, x) -> s + x, s -> s)").await,
            "Int32"
        );
        assert_eq!(
            value("SELECT reduce(ARRAY[5, 20, NULL, 50], 0, (s, x) -> s + x, s -> s)").await,
            ""
        );
        assert_eq!(
            value("SELECT reduce(ARRAY[2147483647, 1], BIGINT '0', (s, x) -> s + x, s -> s)").await,
            "2147483648"
        );
        assert_eq!(value("SELECT reduce(a, 0, (s, x) -> s + x, s -> s) FROM (SELECT ARRAY[1] AS a UNION ALL SELECT NULL) WHERE a IS NULL").await, "");
        assert_eq!(
            value("SELECT reduce(ARRAY['a', 'b'], '', (s, x) -> s || x, s -> upper(s))").await,
            "AB"
        );
    }

    #[tokio::test]
    async fn folds_each_row_with_its_own_array_and_columns() {
        let sql = "SELECT array_agg(r ORDER BY k) FROM (SELECT k, reduce(a, k, (s, x) -> s * 10 + x, s -> s + n) AS r \
                   FROM (VALUES (1, ARRAY[1, 2], 0), (2, ARRAY[], 100), (3, ARRAY[7], 1000)) t(k, a, n))";
        assert_eq!(value(sql).await, "[112, 102, 1037]");
    }
}
