//! Aggregates that build a map: `histogram(x)` (each value → how many rows have it) and
//! `map_agg(key, value)` (each key → a value of a row with that key).
//!
//! ```sql
//! SELECT histogram(eventType) FROM events;          -- {ADD_TO_CART=312, PAGE_VIEW=1290, PURCHASE=97}
//! SELECT map_agg(userId, name) FROM users;
//! ```
//! NULL values (histogram) and NULL keys (map_agg) are skipped, as in Trino; map_agg keeps the
//! first value it meets for a key. Entries are ordered by key, so answers are repeatable.
//! Trino: <https://trino.io/docs/current/functions/aggregate.html#histogram>,
//! <https://trino.io/docs/current/functions/aggregate.html#map_agg>.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, MapArray, StructArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Histogram,
    MapAgg,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct MapAggregate {
    kind: Kind,
    signature: Signature,
}

pub fn histogram() -> AggregateUDF {
    AggregateUDF::from(MapAggregate {
        kind: Kind::Histogram,
        signature: Signature::any(1, Volatility::Immutable),
    })
}

pub fn map_agg() -> AggregateUDF {
    AggregateUDF::from(MapAggregate {
        kind: Kind::MapAgg,
        signature: Signature::any(2, Volatility::Immutable),
    })
}

pub(crate) fn map_type(key: &DataType, value: &DataType) -> DataType {
    let entries = Fields::from(vec![
        Field::new("key", key.clone(), false),
        Field::new("value", value.clone(), true),
    ]);
    DataType::Map(
        Arc::new(Field::new("entries", DataType::Struct(entries), false)),
        false,
    )
}

fn key_value(map: &DataType) -> (DataType, DataType) {
    match map {
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) => (kv[0].data_type().clone(), kv[1].data_type().clone()),
            _ => unreachable!("map entries are structs"),
        },
        _ => unreachable!("a map result"),
    }
}

impl AggregateUDFImpl for MapAggregate {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Histogram => "histogram",
            Kind::MapAgg => "map_agg",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            Kind::Histogram => map_type(&args[0], &DataType::Int64),
            Kind::MapAgg => map_type(&args[0], &args[1]),
        })
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let (key, value) = key_value(args.return_field.data_type());
        let list =
            |name: &str, t: DataType| Arc::new(Field::new(name, DataType::new_list(t, true), true));
        Ok(vec![list("keys", key), list("values", value)])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let (key, value) = key_value(args.return_field.data_type());
        Ok(Box::new(MapAccumulator {
            kind: self.kind,
            key,
            value,
            entries: HashMap::new(),
        }))
    }
}

#[derive(Debug)]
struct MapAccumulator {
    kind: Kind,
    key: DataType,
    value: DataType,
    entries: HashMap<ScalarValue, ScalarValue>,
}

impl MapAccumulator {
    /// The entries ordered by key.
    fn sorted(&self) -> (Vec<ScalarValue>, Vec<ScalarValue>) {
        let mut entries: Vec<_> = self.entries.iter().collect();
        entries.sort_by(|a, b| a.0.partial_cmp(b.0).unwrap_or(std::cmp::Ordering::Equal));
        entries
            .into_iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .unzip()
    }

    fn add(&mut self, key: ScalarValue, value: ScalarValue) -> Result<()> {
        if key.is_null() {
            return Ok(());
        }
        match self.kind {
            Kind::Histogram => {
                let count = self
                    .entries
                    .entry(key)
                    .or_insert(ScalarValue::Int64(Some(0)));
                *count = count.add(&value)?;
            }
            Kind::MapAgg => {
                self.entries.entry(key).or_insert(value);
            }
        }
        Ok(())
    }
}

impl Accumulator for MapAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for row in 0..values[0].len() {
            let key = ScalarValue::try_from_array(&values[0], row)?;
            let value = match self.kind {
                Kind::Histogram => ScalarValue::Int64(Some(1)),
                Kind::MapAgg => ScalarValue::try_from_array(&values[1], row)?,
            };
            self.add(key, value)?;
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (keys, values) = (states[0].as_list::<i32>(), states[1].as_list::<i32>());
        for row in 0..keys.len() {
            if keys.is_null(row) {
                continue;
            }
            let (k, v) = (keys.value(row), values.value(row));
            for i in 0..k.len() {
                self.add(
                    ScalarValue::try_from_array(&k, i)?,
                    ScalarValue::try_from_array(&v, i)?,
                )?;
            }
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let (keys, values) = self.sorted();
        let (keys, values) = (
            ScalarValue::new_list_nullable(&keys, &self.key),
            ScalarValue::new_list_nullable(&values, &self.value),
        );
        Ok(vec![ScalarValue::List(keys), ScalarValue::List(values)])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let (keys, values) = self.sorted();
        let array = |values: Vec<ScalarValue>, t: &DataType| -> Result<ArrayRef> {
            if values.is_empty() {
                Ok(datafusion::arrow::array::new_empty_array(t))
            } else {
                ScalarValue::iter_to_array(values)
            }
        };
        let (keys, values) = (array(keys, &self.key)?, array(values, &self.value)?);
        let (key_field, value_field) = (
            Field::new("key", self.key.clone(), false),
            Field::new("value", self.value.clone(), true),
        );
        let entries = StructArray::try_new(
            Fields::from(vec![key_field, value_field]),
            vec![keys, values],
            None,
        )?;
        let DataType::Map(entries_field, _) = map_type(&self.key, &self.value) else {
            unreachable!("a map type")
        };
        let map = MapArray::try_new(
            entries_field,
            OffsetBuffer::from_lengths([entries.len()]),
            entries,
            None,
            false,
        )?;
        Ok(ScalarValue::Map(Arc::new(map)))
    }

    fn size(&self) -> usize {
        size_of_val(self)
            + self
                .entries
                .iter()
                .map(|(k, v)| k.size() + v.size())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;

    #[tokio::test]
    async fn build_maps() {
        let data = "(VALUES ('b', 1), ('a', 2), ('b', 3), (NULL, 4)) AS t(k, v)";
        assert_eq!(
            value(&format!("SELECT histogram(k) FROM {data}")).await,
            "{a: 1, b: 2}"
        );
        assert_eq!(
            value(&format!("SELECT map_agg(k, v) FROM {data}")).await,
            "{a: 2, b: 1}"
        );
    }
}
