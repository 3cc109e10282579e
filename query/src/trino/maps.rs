//! Maps built from other values: `map_from_entries(array(row(K, V)))` and
//! `map_concat(map, map, …)`.
//!
//! ```sql
//! SELECT map_from_entries(ARRAY[(1, 'x'), (2, 'y')]);            -- {1=x, 2=y}
//! SELECT map_concat(MAP(ARRAY['a', 'b'], ARRAY[1, 2]), MAP(ARRAY['b'], ARRAY[3]));
//! -- {b=3, a=1}: a key in several maps takes its value from the last of them
//! ```
//! Trino's rules: `map_from_entries` fails on a NULL entry, a NULL key or a key given twice
//! (a map's keys are distinct); `map_concat` takes two or more maps, is NULL when one of them
//! is, and lists the last map's entries first, then the new keys of the maps before it, from
//! the last to the first (Trino's order, which its CLI shows).
//! Trino: <https://trino.io/docs/current/functions/map.html#map_from_entries>,
//! <https://trino.io/docs/current/functions/map.html#map_concat>.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, MapArray, StructArray, UInt64Array, new_null_array,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::{cast, interleave, take};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use super::map_aggregates::map_type;
use super::simple::{Simple, data_error, plan_error};

/// A map array of `map_type` from its keys, values and row offsets.
fn map_array(
    map_type: &DataType,
    keys: ArrayRef,
    values: ArrayRef,
    offsets: Vec<i32>,
    nulls: Option<NullBuffer>,
) -> Result<ArrayRef> {
    let DataType::Map(entries_field, sorted) = map_type else {
        return Err(plan_error("map", format!("not a map type: {map_type}")));
    };
    let DataType::Struct(fields) = entries_field.data_type() else {
        return Err(plan_error("map", "map entries are not rows"));
    };
    let entries = StructArray::try_new(fields.clone(), vec![keys, values], None)?;
    Ok(Arc::new(MapArray::try_new(
        Arc::clone(entries_field),
        OffsetBuffer::new(offsets.into()),
        entries,
        nulls,
        *sorted,
    )?))
}

fn from_entries_type(args: &[DataType]) -> Result<DataType> {
    match &args[0] {
        DataType::List(item) | DataType::LargeList(item) => match item.data_type() {
            DataType::Struct(fields) if fields.len() == 2 => {
                Ok(map_type(fields[0].data_type(), fields[1].data_type()))
            }
            other => Err(plan_error(
                "map_from_entries",
                format!("takes an array of (key, value) rows, not of {other}"),
            )),
        },
        DataType::Null => Ok(DataType::Null),
        other => Err(plan_error(
            "map_from_entries",
            format!("takes an array of (key, value) rows, not {other}"),
        )),
    }
}

fn map_from_entries(args: &[ArrayRef], result: &DataType) -> Result<ArrayRef> {
    if *result == DataType::Null {
        return Ok(new_null_array(result, args[0].len()));
    }
    let list = match args[0].data_type() {
        DataType::LargeList(item) => cast(&args[0], &DataType::List(Arc::clone(item)))?,
        _ => Arc::clone(&args[0]),
    };
    let list = list.as_list::<i32>();
    let entries = list.values().as_struct();
    let (keys, values) = (entries.column(0), entries.column(1));
    // logical nulls: a NULL-typed column's values are all NULL
    let key_nulls = keys.logical_nulls();
    let mut indices = Vec::new();
    let mut offsets = vec![0i32];
    for row in 0..list.len() {
        if list.is_valid(row) {
            let mut seen = HashSet::new();
            let range = list.offsets()[row] as usize..list.offsets()[row + 1] as usize;
            for i in range {
                if entries.is_null(i) {
                    return Err(data_error("map_from_entries", "map entry cannot be null"));
                }
                if key_nulls.as_ref().is_some_and(|n| n.is_null(i)) {
                    return Err(data_error("map_from_entries", "map key cannot be null"));
                }
                let key = ScalarValue::try_from_array(keys, i)?;
                if !seen.insert(key.clone()) {
                    return Err(data_error(
                        "map_from_entries",
                        format!("Duplicate map keys ({key}) are not allowed"),
                    ));
                }
                indices.push(i as u64);
            }
        }
        offsets.push(indices.len() as i32);
    }
    let indices = UInt64Array::from(indices);
    map_array(
        result,
        take(keys, &indices, None)?,
        take(values, &indices, None)?,
        offsets,
        list.nulls().cloned(),
    )
}

fn concat_type(args: &[DataType]) -> Result<DataType> {
    if args.len() < 2 {
        return Err(plan_error(
            "map_concat",
            "There must be two or more concatenation arguments",
        ));
    }
    let mut maps = args.iter().filter(|t| **t != DataType::Null);
    let Some(first) = maps.next() else {
        return Ok(DataType::Null);
    };
    if !matches!(first, DataType::Map(_, _)) {
        return Err(plan_error("map_concat", format!("takes maps, not {first}")));
    }
    match maps.find(|t| *t != first) {
        Some(other) => Err(plan_error(
            "map_concat",
            format!("takes maps of one type, not {first} and {other}"),
        )),
        None => Ok(first.clone()),
    }
}

fn map_concat(args: &[ArrayRef], result: &DataType) -> Result<ArrayRef> {
    let rows = args[0].len();
    if *result == DataType::Null {
        return Ok(new_null_array(result, rows));
    }
    let maps = args
        .iter()
        .map(|a| cast(a, result))
        .collect::<Result<Vec<_>, _>>()?;
    let maps: Vec<&MapArray> = maps.iter().map(|m| m.as_map()).collect();
    let keys: Vec<&dyn Array> = maps.iter().map(|m| m.keys().as_ref()).collect();
    let values: Vec<&dyn Array> = maps.iter().map(|m| m.values().as_ref()).collect();
    let mut picked: Vec<(usize, usize)> = Vec::new();
    let mut offsets = vec![0i32];
    let mut valid = Vec::with_capacity(rows);
    for row in 0..rows {
        let present = maps.iter().all(|m| m.is_valid(row));
        valid.push(present);
        if present {
            let mut seen = HashSet::new();
            for (m, map) in maps.iter().enumerate().rev() {
                let range =
                    map.value_offsets()[row] as usize..map.value_offsets()[row + 1] as usize;
                for i in range {
                    if seen.insert(ScalarValue::try_from_array(keys[m], i)?) {
                        picked.push((m, i));
                    }
                }
            }
        }
        offsets.push(picked.len() as i32);
    }
    let (keys, values) = if picked.is_empty() {
        let (k, v) = (maps[0].keys(), maps[0].values());
        (k.slice(0, 0), v.slice(0, 0))
    } else {
        (interleave(&keys, &picked)?, interleave(&values, &picked)?)
    };
    map_array(result, keys, values, offsets, Some(NullBuffer::from(valid)))
}

pub fn all() -> Vec<ScalarUDF> {
    vec![
        Simple::udf(
            "map_from_entries",
            Signature::any(1, Volatility::Immutable),
            from_entries_type,
            map_from_entries,
        ),
        Simple::udf(
            "map_concat",
            Signature::variadic_any(Volatility::Immutable),
            concat_type,
            map_concat,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::tests::{error, value};

    #[tokio::test]
    async fn builds_maps_as_trino_does() {
        assert_eq!(
            value("SELECT map_from_entries(ARRAY[(1, 'x'), (2, 'y')])").await,
            "{1: x, 2: y}"
        );
        assert_eq!(
            value("SELECT map_from_entries(ARRAY[(1, 'x'), (2, 'y')])[2]").await,
            "y"
        );
        assert!(
            error("SELECT map_from_entries(ARRAY[(1, 'x'), (1, 'y')])")
                .await
                .contains("Duplicate map keys (1)")
        );
        assert!(
            error("SELECT map_from_entries(ARRAY[(NULL, 'x')])")
                .await
                .contains("map key cannot be null")
        );
        let concat =
            "map_concat(MAP(ARRAY['a', 'b'], ARRAY[1, 2]), MAP(ARRAY['b', 'c'], ARRAY[3, 4]))";
        assert_eq!(
            value(&format!("SELECT {concat}")).await,
            "{b: 3, c: 4, a: 1}"
        );
        assert_eq!(value(&format!("SELECT cardinality({concat})")).await, "3");
        assert_eq!(
            value("SELECT map_concat(MAP(ARRAY['a'], ARRAY[1]), NULL) IS NULL").await,
            "true"
        );
        assert!(
            error("SELECT map_concat(MAP(ARRAY['a'], ARRAY[1]))")
                .await
                .contains("two or more")
        );
    }
}
