//! `zip(array1, array2[, …])`: the arrays merged element-wise into an array of rows.
//!
//! ```sql
//! SELECT zip(ARRAY[1, 2], ARRAY['1b', null, '3b']);
//! -- [ROW(1, '1b'), ROW(2, null), ROW(null, '3b')]
//! ```
//! Trino's rule: a shorter array is padded with NULL to the longest one's length; a NULL
//! array makes the result NULL. The rows' fields are anonymous (`field0`, `field1`, … as
//! Trino's clients show them). `zip_with` is `transform` over `zip` (see [`super::rewrite`]).
//! Trino: <https://trino.io/docs/current/functions/array.html#zip>.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListArray, StructArray, UInt64Array};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::{cast, take};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::error::Result;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use super::simple::{Simple, plan_error};
use super::types::anonymous_field;

fn element_fields(args: &[DataType]) -> Result<Fields> {
    if args.len() < 2 {
        return Err(plan_error("zip", "takes two or more arrays"));
    }
    args.iter()
        .enumerate()
        .map(|(i, t)| match t {
            DataType::List(item) | DataType::LargeList(item) | DataType::FixedSizeList(item, _) => {
                Ok(Field::new(
                    anonymous_field(i),
                    item.data_type().clone(),
                    true,
                ))
            }
            // a NULL array: the result is NULL
            DataType::Null => Ok(Field::new(anonymous_field(i), DataType::Null, true)),
            other => Err(plan_error("zip", format!("takes arrays, not {other}"))),
        })
        .collect()
}

fn zip_type(args: &[DataType]) -> Result<DataType> {
    Ok(DataType::new_list(
        DataType::Struct(element_fields(args)?),
        true,
    ))
}

fn zip(args: &[ArrayRef], result: &DataType) -> Result<ArrayRef> {
    let DataType::List(item) = result else {
        return Err(plan_error("zip", "returns an array"));
    };
    let DataType::Struct(fields) = item.data_type() else {
        return Err(plan_error("zip", "returns an array of rows"));
    };
    let lists = args
        .iter()
        .zip(fields.iter())
        .map(|(a, f)| cast(a, &DataType::new_list(f.data_type().clone(), true)))
        .collect::<Result<Vec<_>, _>>()?;
    let lists: Vec<&ListArray> = lists.iter().map(|l| l.as_list::<i32>()).collect();
    let rows = args[0].len();
    // for each input array, the index of each output element in its values (None pads)
    let mut picks: Vec<Vec<Option<u64>>> = vec![Vec::new(); lists.len()];
    let mut offsets = vec![0i32];
    let mut valid = Vec::with_capacity(rows);
    for row in 0..rows {
        let present = lists.iter().all(|l| l.is_valid(row));
        valid.push(present);
        if present {
            let longest = lists
                .iter()
                .map(|l| l.value_length(row) as usize)
                .max()
                .unwrap_or(0);
            for (list, picks) in lists.iter().zip(picks.iter_mut()) {
                let (start, length) = (
                    list.value_offsets()[row] as usize,
                    list.value_length(row) as usize,
                );
                picks.extend((0..longest).map(|j| (j < length).then_some((start + j) as u64)));
            }
        }
        offsets.push(picks[0].len() as i32);
    }
    let columns = lists
        .iter()
        .zip(picks)
        .map(|(list, picks)| take(list.values().as_ref(), &UInt64Array::from(picks), None))
        .collect::<Result<Vec<_>, _>>()?;
    let rows_of = StructArray::try_new(fields.clone(), columns, None)?;
    Ok(Arc::new(ListArray::try_new(
        Arc::clone(item),
        OffsetBuffer::new(offsets.into()),
        Arc::new(rows_of),
        Some(NullBuffer::from(valid)),
    )?))
}

pub fn udf() -> ScalarUDF {
    Simple::udf(
        "zip",
        Signature::variadic_any(Volatility::Immutable),
        zip_type,
        zip,
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;

    #[tokio::test]
    async fn pads_the_shorter_arrays() {
        let zipped = "zip(ARRAY[1, 2], ARRAY['1b', null, '3b'])";
        assert_eq!(value(&format!("SELECT cardinality({zipped})")).await, "3");
        assert_eq!(
            value(&format!("SELECT transform({zipped}, r -> r['field1'])")).await,
            "[1b, , 3b]"
        );
        assert_eq!(
            value(&format!("SELECT transform({zipped}, r -> r['field0'])")).await,
            "[1, 2, ]"
        );
        assert_eq!(value("SELECT zip(ARRAY[1], NULL) IS NULL").await, "true");
        assert_eq!(value("SELECT zip_with(ARRAY[1, 3, 5], ARRAY['a', 'b', 'c'], (x, y) -> (y, x))[2]['field1']").await, "3");
        assert_eq!(
            value("SELECT zip_with(ARRAY[1, 2], ARRAY[3, 4], (x, y) -> x + y)").await,
            "[4, 6]"
        );
    }
}
