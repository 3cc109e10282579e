//! Column builders that can take rows back.
//!
//! A record is decoded straight into the columns of its table, value by value, as its bytes are
//! read. A record that fails half-way (a bad value in its fifth column) becomes a dead letter,
//! and the values it already wrote are taken back by truncating every column to the row count
//! before it ([`Rows::rollback`]). Arrow's own builders cannot shrink, so these keep plain
//! vectors and hand them to Arrow arrays, without copying, at the end.
//!
//! ```text
//! Rows ── column(i) ──▶ ColumnBuilder ── Bool | Int* | Float* | Decimal | Date | Timestamp
//!                                     └─ Utf8 | Binary (offsets + bytes)
//!                                     └─ List (offsets + item builder) | Map (offsets + keys,
//!                                        values) | Struct (child builders)
//! ```
//! Members may arrive in any order and a member may be missing: whatever a row did not set is
//! null when the row ends. A member given twice keeps its last value, as serde_json's maps do.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, BooleanBufferBuilder, Date32Array, Decimal128Array,
    Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, ListArray, MapArray,
    RecordBatch, StringArray, StructArray, TimestampMillisecondArray,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::{DataType, Field, Fields, SchemaRef, TimeUnit};
use datafusion::arrow::error::ArrowError;

/// One column's values so far.
#[derive(Debug)]
pub struct ColumnBuilder {
    data_type: DataType,
    valid: BooleanBufferBuilder,
    values: Values,
}

#[derive(Debug)]
enum Values {
    Bool(BooleanBufferBuilder),
    Int8(Vec<i8>),
    Int16(Vec<i16>),
    Int32(Vec<i32>),
    /// `bigint` and `timestamp` (epoch milliseconds).
    Int64(Vec<i64>),
    Float32(Vec<f32>),
    Float64(Vec<f64>),
    Decimal(Vec<i128>),
    /// `string` and `binary`.
    Bytes {
        offsets: Vec<i32>,
        data: Vec<u8>,
    },
    List {
        offsets: Vec<i32>,
        item: Box<ColumnBuilder>,
    },
    Map {
        offsets: Vec<i32>,
        keys: Box<ColumnBuilder>,
        values: Box<ColumnBuilder>,
    },
    Struct(Vec<ColumnBuilder>),
}

/// A value that does not fit its column's type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("{value} is out of range for {target}")]
    OutOfRange { value: String, target: &'static str },
    #[error("a string is more than 2 GiB, the most one batch can hold")]
    TooLong,
}

/// The column types [`ColumnBuilder`] cannot build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no column builder for the Arrow type {0}")]
pub struct UnsupportedType(pub String);

/// A misuse by the decoder (a value of one type appended to a column of another), not a
/// property of the data: the plan chooses the append by the column's type.
fn mismatch(data_type: &DataType, what: &str) -> ! {
    panic!("a {what} value appended to a {data_type} column: the decoder's plan is wrong")
}

fn int_name(data_type: &DataType) -> &'static str {
    match data_type {
        DataType::Int8 => "tinyint",
        DataType::Int16 => "smallint",
        DataType::Int32 => "int",
        DataType::Date32 => "date",
        _ => "bigint",
    }
}

impl ColumnBuilder {
    pub fn new(data_type: &DataType) -> Result<Self, UnsupportedType> {
        let values = match data_type {
            DataType::Boolean => Values::Bool(BooleanBufferBuilder::new(0)),
            DataType::Int8 => Values::Int8(Vec::new()),
            DataType::Int16 => Values::Int16(Vec::new()),
            DataType::Int32 | DataType::Date32 => Values::Int32(Vec::new()),
            DataType::Int64 | DataType::Timestamp(TimeUnit::Millisecond, _) => {
                Values::Int64(Vec::new())
            }
            DataType::Float32 => Values::Float32(Vec::new()),
            DataType::Float64 => Values::Float64(Vec::new()),
            DataType::Decimal128(..) => Values::Decimal(Vec::new()),
            DataType::Utf8 | DataType::Binary => Values::Bytes {
                offsets: vec![0],
                data: Vec::new(),
            },
            DataType::List(item) => Values::List {
                offsets: vec![0],
                item: Box::new(ColumnBuilder::new(item.data_type())?),
            },
            DataType::Map(entries, _) => {
                let DataType::Struct(fields) = entries.data_type() else {
                    return Err(UnsupportedType(data_type.to_string()));
                };
                if fields.len() != 2 {
                    return Err(UnsupportedType(data_type.to_string()));
                }
                Values::Map {
                    offsets: vec![0],
                    keys: Box::new(ColumnBuilder::new(fields[0].data_type())?),
                    values: Box::new(ColumnBuilder::new(fields[1].data_type())?),
                }
            }
            DataType::Struct(fields) => Values::Struct(
                fields
                    .iter()
                    .map(|f| ColumnBuilder::new(f.data_type()))
                    .collect::<Result<_, _>>()?,
            ),
            other => return Err(UnsupportedType(other.to_string())),
        };
        Ok(Self {
            data_type: data_type.clone(),
            valid: BooleanBufferBuilder::new(0),
            values,
        })
    }

    pub fn data_type(&self) -> &DataType {
        &self.data_type
    }

    /// Values so far, nulls included.
    pub fn len(&self) -> usize {
        self.valid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the value at `index` is not null.
    pub fn is_valid(&self, index: usize) -> bool {
        index < self.len() && self.valid.get_bit(index)
    }

    /// The whole number at `index` of an integer, date or timestamp column (`None`: null, or
    /// another type).
    pub fn int_at(&self, index: usize) -> Option<i64> {
        if !self.is_valid(index) {
            return None;
        }
        match &self.values {
            Values::Int8(v) => Some(i64::from(v[index])),
            Values::Int16(v) => Some(i64::from(v[index])),
            Values::Int32(v) => Some(i64::from(v[index])),
            Values::Int64(v) => Some(v[index]),
            _ => None,
        }
    }

    /// The length in bytes of the string or binary value at `index` (`None`: null, or another
    /// type).
    pub fn bytes_len_at(&self, index: usize) -> Option<usize> {
        if !self.is_valid(index) {
            return None;
        }
        match &self.values {
            Values::Bytes { offsets, .. } => Some((offsets[index + 1] - offsets[index]) as usize),
            _ => None,
        }
    }

    /// Takes back every value after the first `len`, and whatever a value after them had
    /// started to write into a nested column's children.
    pub fn truncate(&mut self, len: usize) {
        let len = len.min(self.len());
        self.valid.truncate(len);
        match &mut self.values {
            Values::Bool(v) => v.truncate(len),
            Values::Int8(v) => v.truncate(len),
            Values::Int16(v) => v.truncate(len),
            Values::Int32(v) => v.truncate(len),
            Values::Int64(v) => v.truncate(len),
            Values::Float32(v) => v.truncate(len),
            Values::Float64(v) => v.truncate(len),
            Values::Decimal(v) => v.truncate(len),
            Values::Bytes { offsets, data } => {
                offsets.truncate(len + 1);
                data.truncate(offsets[len] as usize);
            }
            Values::List { offsets, item } => {
                offsets.truncate(len + 1);
                item.truncate(offsets[len] as usize);
            }
            Values::Map {
                offsets,
                keys,
                values,
            } => {
                offsets.truncate(len + 1);
                keys.truncate(offsets[len] as usize);
                values.truncate(offsets[len] as usize);
            }
            Values::Struct(children) => {
                for child in children {
                    child.truncate(len);
                }
            }
        }
    }

    /// Appends a null (a struct's children get one too).
    pub fn append_null(&mut self) {
        self.valid.append(false);
        match &mut self.values {
            Values::Bool(v) => v.append(false),
            Values::Int8(v) => v.push(0),
            Values::Int16(v) => v.push(0),
            Values::Int32(v) => v.push(0),
            Values::Int64(v) => v.push(0),
            Values::Float32(v) => v.push(0.0),
            Values::Float64(v) => v.push(0.0),
            Values::Decimal(v) => v.push(0),
            Values::Bytes { offsets, .. }
            | Values::List { offsets, .. }
            | Values::Map { offsets, .. } => {
                let last = *offsets.last().expect("offsets start with 0");
                offsets.push(last);
            }
            Values::Struct(children) => {
                for child in children {
                    child.append_null();
                }
            }
        }
    }

    pub fn append_bool(&mut self, value: bool) {
        match &mut self.values {
            Values::Bool(v) => v.append(value),
            _ => mismatch(&self.data_type, "boolean"),
        }
        self.valid.append(true);
    }

    /// Appends a whole number to an integer, date (days) or timestamp (milliseconds) column,
    /// refusing one its width cannot hold.
    pub fn append_int(&mut self, value: i64) -> Result<(), ValueError> {
        let target = int_name(&self.data_type);
        let out_of_range = || ValueError::OutOfRange {
            value: value.to_string(),
            target,
        };
        match &mut self.values {
            Values::Int8(v) => v.push(i8::try_from(value).map_err(|_| out_of_range())?),
            Values::Int16(v) => v.push(i16::try_from(value).map_err(|_| out_of_range())?),
            Values::Int32(v) => v.push(i32::try_from(value).map_err(|_| out_of_range())?),
            Values::Int64(v) => v.push(value),
            _ => mismatch(&self.data_type, "integer"),
        }
        self.valid.append(true);
        Ok(())
    }

    /// Appends a number to a `float` or `double` column, refusing one a `float` cannot hold
    /// (`1e39` would become infinity).
    pub fn append_float(&mut self, value: f64) -> Result<(), ValueError> {
        match &mut self.values {
            Values::Float32(v) => {
                let narrow = value as f32;
                if narrow.is_infinite() && value.is_finite() {
                    return Err(ValueError::OutOfRange {
                        value: value.to_string(),
                        target: "float",
                    });
                }
                v.push(narrow)
            }
            Values::Float64(v) => v.push(value),
            _ => mismatch(&self.data_type, "floating-point"),
        }
        self.valid.append(true);
        Ok(())
    }

    /// Appends a decimal's unscaled value (already at the column's scale and precision).
    pub fn append_decimal(&mut self, unscaled: i128) {
        match &mut self.values {
            Values::Decimal(v) => v.push(unscaled),
            _ => mismatch(&self.data_type, "decimal"),
        }
        self.valid.append(true);
    }

    pub fn append_str(&mut self, value: &str) -> Result<(), ValueError> {
        if !matches!(self.data_type, DataType::Utf8) {
            mismatch(&self.data_type, "string")
        }
        self.append_bytes_unchecked(value.as_bytes())
    }

    pub fn append_binary(&mut self, value: &[u8]) -> Result<(), ValueError> {
        if !matches!(self.data_type, DataType::Binary) {
            mismatch(&self.data_type, "binary")
        }
        self.append_bytes_unchecked(value)
    }

    fn append_bytes_unchecked(&mut self, value: &[u8]) -> Result<(), ValueError> {
        let Values::Bytes { offsets, data } = &mut self.values else {
            mismatch(&self.data_type, "string")
        };
        let end = i32::try_from(data.len() + value.len()).map_err(|_| ValueError::TooLong)?;
        data.extend_from_slice(value);
        offsets.push(end);
        self.valid.append(true);
        Ok(())
    }

    /// Appends text built in place by `write` (a JSON rendering, say): no copy of its own.
    pub fn append_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> Result<(), ValueError> {
        let Values::Bytes { offsets, data } = &mut self.values else {
            mismatch(&self.data_type, "string")
        };
        let start = data.len();
        write(data);
        match i32::try_from(data.len()) {
            Ok(end) => {
                offsets.push(end);
                self.valid.append(true);
                Ok(())
            }
            Err(_) => {
                data.truncate(start);
                Err(ValueError::TooLong)
            }
        }
    }

    /// The builder a list's elements go to; [`ColumnBuilder::close_list`] ends the list.
    pub fn list_items(&mut self) -> &mut ColumnBuilder {
        match &mut self.values {
            Values::List { item, .. } => item,
            _ => mismatch(&self.data_type, "list"),
        }
    }

    /// Ends a list whose elements were appended to [`ColumnBuilder::list_items`].
    pub fn close_list(&mut self) -> Result<(), ValueError> {
        match &mut self.values {
            Values::List { offsets, item } => {
                offsets.push(i32::try_from(item.len()).map_err(|_| ValueError::TooLong)?)
            }
            _ => mismatch(&self.data_type, "list"),
        }
        self.valid.append(true);
        Ok(())
    }

    /// The builders a map's keys and values go to, in pairs; [`ColumnBuilder::close_map`]
    /// ends the map.
    pub fn map_entries(&mut self) -> (&mut ColumnBuilder, &mut ColumnBuilder) {
        match &mut self.values {
            Values::Map { keys, values, .. } => (keys, values),
            _ => mismatch(&self.data_type, "map"),
        }
    }

    pub fn close_map(&mut self) -> Result<(), ValueError> {
        match &mut self.values {
            Values::Map { offsets, keys, .. } => {
                offsets.push(i32::try_from(keys.len()).map_err(|_| ValueError::TooLong)?)
            }
            _ => mismatch(&self.data_type, "map"),
        }
        self.valid.append(true);
        Ok(())
    }

    /// A struct's field `index`, ready for this row's value: a value it already holds for the
    /// row (a member given twice) is taken back, so the last one counts.
    pub fn struct_field(&mut self, index: usize) -> &mut ColumnBuilder {
        let len = self.len();
        match &mut self.values {
            Values::Struct(children) => {
                let child = &mut children[index];
                child.truncate(len);
                child
            }
            _ => mismatch(&self.data_type, "struct"),
        }
    }

    /// Ends a struct value: fields the row did not set are null.
    pub fn close_struct(&mut self) {
        let len = self.len();
        match &mut self.values {
            Values::Struct(children) => {
                for child in children {
                    if child.len() == len {
                        child.append_null();
                    }
                }
            }
            _ => mismatch(&self.data_type, "struct"),
        }
        self.valid.append(true);
    }

    /// Memory held, capacity included.
    pub fn bytes(&self) -> usize {
        let valid = self.valid.capacity() / 8;
        valid
            + match &self.values {
                Values::Bool(v) => v.capacity() / 8,
                Values::Int8(v) => v.capacity(),
                Values::Int16(v) => v.capacity() * 2,
                Values::Int32(v) => v.capacity() * 4,
                Values::Int64(v) => v.capacity() * 8,
                Values::Float32(v) => v.capacity() * 4,
                Values::Float64(v) => v.capacity() * 8,
                Values::Decimal(v) => v.capacity() * 16,
                Values::Bytes { offsets, data } => offsets.capacity() * 4 + data.capacity(),
                Values::List { offsets, item } => offsets.capacity() * 4 + item.bytes(),
                Values::Map {
                    offsets,
                    keys,
                    values,
                } => offsets.capacity() * 4 + keys.bytes() + values.bytes(),
                Values::Struct(children) => children.iter().map(ColumnBuilder::bytes).sum(),
            }
    }

    /// The Arrow array of the values so far; the builder is empty afterwards.
    pub fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        let empty = ColumnBuilder::new(&self.data_type).expect("a type this builder was made for");
        let done = std::mem::replace(self, empty);
        done.into_array()
    }

    fn into_array(mut self) -> Result<ArrayRef, ArrowError> {
        let nulls = Some(NullBuffer::new(self.valid.finish())).filter(|n| n.null_count() > 0);
        let data_type = self.data_type;
        Ok(match self.values {
            Values::Bool(mut v) => Arc::new(BooleanArray::new(v.finish(), nulls)),
            Values::Int8(v) => Arc::new(Int8Array::new(ScalarBuffer::from(v), nulls)),
            Values::Int16(v) => Arc::new(Int16Array::new(ScalarBuffer::from(v), nulls)),
            Values::Int32(v) => match data_type {
                DataType::Date32 => Arc::new(Date32Array::new(ScalarBuffer::from(v), nulls)),
                _ => Arc::new(Int32Array::new(ScalarBuffer::from(v), nulls)),
            },
            Values::Int64(v) => match data_type {
                DataType::Timestamp(_, zone) => Arc::new(
                    TimestampMillisecondArray::new(ScalarBuffer::from(v), nulls)
                        .with_timezone_opt(zone),
                ),
                _ => Arc::new(Int64Array::new(ScalarBuffer::from(v), nulls)),
            },
            Values::Float32(v) => Arc::new(Float32Array::new(ScalarBuffer::from(v), nulls)),
            Values::Float64(v) => Arc::new(Float64Array::new(ScalarBuffer::from(v), nulls)),
            Values::Decimal(v) => {
                let DataType::Decimal128(precision, scale) = data_type else {
                    unreachable!("decimal values are made for decimal types")
                };
                Arc::new(
                    Decimal128Array::new(ScalarBuffer::from(v), nulls)
                        .with_precision_and_scale(precision, scale)?,
                )
            }
            Values::Bytes { offsets, data } => {
                let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
                match data_type {
                    DataType::Binary => {
                        Arc::new(BinaryArray::try_new(offsets, data.into(), nulls)?)
                    }
                    _ => Arc::new(StringArray::try_new(offsets, data.into(), nulls)?),
                }
            }
            Values::List { offsets, item } => {
                let DataType::List(field) = data_type else {
                    unreachable!("list values are made for list types")
                };
                Arc::new(ListArray::try_new(
                    field,
                    OffsetBuffer::new(ScalarBuffer::from(offsets)),
                    item.into_array()?,
                    nulls,
                )?)
            }
            Values::Map {
                offsets,
                keys,
                values,
            } => {
                let DataType::Map(entries_field, sorted) = data_type else {
                    unreachable!("map values are made for map types")
                };
                let DataType::Struct(fields) = entries_field.data_type().clone() else {
                    unreachable!("map entries are structs")
                };
                let entries = StructArray::try_new(
                    fields,
                    vec![keys.into_array()?, values.into_array()?],
                    None,
                )?;
                Arc::new(MapArray::try_new(
                    entries_field,
                    OffsetBuffer::new(ScalarBuffer::from(offsets)),
                    entries,
                    nulls,
                    sorted,
                )?)
            }
            Values::Struct(children) => {
                let DataType::Struct(fields) = data_type else {
                    unreachable!("struct values are made for struct types")
                };
                let children = children
                    .into_iter()
                    .map(ColumnBuilder::into_array)
                    .collect::<Result<Vec<_>, _>>()?;
                struct_array(fields, children, nulls)?
            }
        })
    }
}

fn struct_array(
    fields: Fields,
    children: Vec<ArrayRef>,
    nulls: Option<NullBuffer>,
) -> Result<ArrayRef, ArrowError> {
    Ok(Arc::new(StructArray::try_new(fields, children, nulls)?))
}

/// The rows of one table being built: a column builder per field of its schema.
#[derive(Debug)]
pub struct Rows {
    schema: SchemaRef,
    columns: Vec<ColumnBuilder>,
    rows: usize,
}

impl Rows {
    pub fn new(schema: SchemaRef) -> Result<Self, UnsupportedType> {
        let columns = schema
            .fields()
            .iter()
            .map(|f| ColumnBuilder::new(f.data_type()))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            schema,
            columns,
            rows: 0,
        })
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Whole rows so far.
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Column `index`, ready for the current row's value (a value it already holds for the
    /// row is taken back: the last one counts).
    pub fn column(&mut self, index: usize) -> &mut ColumnBuilder {
        let column = &mut self.columns[index];
        column.truncate(self.rows);
        column
    }

    /// Column `index` as it is, to read (unlike [`Rows::column`], which readies it for a value).
    pub fn get(&self, index: usize) -> &ColumnBuilder {
        &self.columns[index]
    }

    /// Whether the current row has set column `index`.
    pub fn is_set(&self, index: usize) -> bool {
        self.columns[index].len() > self.rows
    }

    /// The field of column `index`.
    pub fn field(&self, index: usize) -> &Field {
        self.schema.field(index)
    }

    /// Ends the current row: columns it did not set are null.
    pub fn finish_row(&mut self) {
        for column in &mut self.columns {
            if column.len() == self.rows {
                column.append_null();
            }
        }
        self.rows += 1;
    }

    /// Takes back whatever the current row wrote.
    pub fn rollback(&mut self) {
        for column in &mut self.columns {
            column.truncate(self.rows);
        }
    }

    /// Memory held, capacity included.
    pub fn bytes(&self) -> usize {
        self.columns.iter().map(ColumnBuilder::bytes).sum()
    }

    /// The rows so far as one batch of the schema; the builders are empty afterwards. A
    /// required (non-nullable) column with a null is an error here: the decoder checks those.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        self.rollback();
        let columns = self
            .columns
            .iter_mut()
            .map(ColumnBuilder::finish)
            .collect::<Result<Vec<_>, _>>()?;
        let rows = std::mem::take(&mut self.rows);
        RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(rows)),
        )
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{Int32Type, Schema};
    use datafusion::arrow::util::display::array_value_to_string;

    use super::*;

    fn schema() -> SchemaRef {
        let item = Fields::from(vec![
            Field::new("sku", DataType::Utf8, true),
            Field::new("n", DataType::Int32, true),
        ]);
        let entries = Field::new(
            "entries",
            DataType::Struct(Fields::from(vec![
                Field::new("key", DataType::Utf8, false),
                Field::new("value", DataType::Int64, true),
            ])),
            false,
        );
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("ok", DataType::Boolean, true),
            Field::new("price", DataType::Decimal128(12, 2), true),
            Field::new("at", DataType::Timestamp(TimeUnit::Millisecond, None), true),
            Field::new("day", DataType::Date32, true),
            Field::new("tiny", DataType::Int8, true),
            Field::new("ratio", DataType::Float64, true),
            Field::new(
                "items",
                DataType::List(Arc::new(Field::new("item", DataType::Struct(item), true))),
                true,
            ),
            Field::new("counts", DataType::Map(Arc::new(entries), false), true),
            Field::new("raw", DataType::Binary, true),
        ]))
    }

    fn cell(batch: &RecordBatch, column: &str, row: usize) -> String {
        let array = batch.column_by_name(column).unwrap();
        if array.is_null(row) {
            return "NULL".into();
        }
        array_value_to_string(array, row).unwrap()
    }

    /// One row with a list of two structs, one field given twice.
    fn full_row(rows: &mut Rows, id: &str) {
        rows.column(0).append_str(id).unwrap();
        rows.column(1).append_bool(true);
        rows.column(2).append_decimal(1_050);
        rows.column(3).append_int(1_767_607_200_000).unwrap();
        rows.column(4).append_int(20_458).unwrap();
        rows.column(5).append_int(-7).unwrap();
        rows.column(6).append_float(0.25).unwrap();
        // a column is readied once per value: asking for it again takes back what it holds
        let list = rows.column(7);
        for (sku, n) in [("a", 1), ("b", 2)] {
            let items = list.list_items();
            items.struct_field(1).append_int(99).unwrap();
            items.struct_field(0).append_str(sku).unwrap();
            items.struct_field(1).append_int(n).unwrap();
            items.close_struct();
        }
        list.close_list().unwrap();
        let map = rows.column(8);
        let (keys, values) = map.map_entries();
        keys.append_str("x").unwrap();
        values.append_int(3).unwrap();
        map.close_map().unwrap();
        rows.column(9).append_binary(&[0, 255]).unwrap();
        rows.finish_row();
    }

    #[test]
    fn rows_take_back_a_failed_record_at_any_depth() {
        let mut rows = Rows::new(schema()).unwrap();
        full_row(&mut rows, "r1");
        // a record that fails inside its list of items, after several columns
        rows.column(0).append_str("bad").unwrap();
        rows.column(2).append_decimal(5);
        let items = rows.column(7).list_items();
        items.struct_field(0).append_str("half").unwrap();
        assert!(rows.column(5).append_int(300).is_err(), "300 is no tinyint");
        rows.rollback();
        // a sparse row: only the id
        rows.column(0).append_str("r2").unwrap();
        rows.finish_row();
        full_row(&mut rows, "r3");
        let batch = rows.finish().unwrap();
        assert_eq!(batch.num_rows(), 3);
        let ids: Vec<String> = (0..3).map(|r| cell(&batch, "id", r)).collect();
        assert_eq!(ids, ["r1", "r2", "r3"]);
        assert_eq!(cell(&batch, "price", 0), "10.50");
        assert_eq!(cell(&batch, "price", 1), "NULL");
        assert_eq!(cell(&batch, "at", 2), "2026-01-05T10:00:00");
        assert_eq!(cell(&batch, "day", 0), "2026-01-05");
        assert_eq!(cell(&batch, "tiny", 0), "-7");
        assert_eq!(cell(&batch, "items", 0), "[{sku: a, n: 1}, {sku: b, n: 2}]");
        assert_eq!(cell(&batch, "items", 1), "NULL");
        assert_eq!(cell(&batch, "items", 2), cell(&batch, "items", 0));
        assert_eq!(cell(&batch, "counts", 2), "{x: 3}");
        assert_eq!(cell(&batch, "raw", 0), "00ff");
        let items = batch.column_by_name("items").unwrap().as_list::<i32>();
        assert_eq!(items.values().len(), 4, "the failed record's item is gone");
        let n = items
            .values()
            .as_struct()
            .column(1)
            .as_primitive::<Int32Type>();
        assert_eq!(n.values().to_vec(), [1, 2, 1, 2]);
        // the builders start again, empty
        assert!(rows.is_empty());
        full_row(&mut rows, "r4");
        assert_eq!(cell(&rows.finish().unwrap(), "id", 0), "r4");
    }

    #[test]
    fn integers_are_refused_outside_their_width() {
        let mut int = ColumnBuilder::new(&DataType::Int32).unwrap();
        assert_eq!(
            int.append_int(i64::from(i32::MAX) + 1)
                .unwrap_err()
                .to_string(),
            "2147483648 is out of range for int"
        );
        assert!(int.is_empty());
        int.append_int(-5).unwrap();
        assert_eq!(int.finish().unwrap().len(), 1);
    }

    #[test]
    fn a_float_refuses_what_it_cannot_hold_instead_of_storing_infinity() {
        let mut float = ColumnBuilder::new(&DataType::Float32).unwrap();
        assert_eq!(
            float.append_float(1e39).unwrap_err().to_string(),
            "1000000000000000000000000000000000000000 is out of range for float"
        );
        assert!(float.is_empty());
        float.append_float(3.4e38).unwrap();
        float.append_float(f64::NEG_INFINITY).unwrap();
        let mut double = ColumnBuilder::new(&DataType::Float64).unwrap();
        double.append_float(1e300).unwrap();
        assert_eq!(float.finish().unwrap().len(), 2);
    }

    #[test]
    fn a_null_struct_keeps_its_children_aligned() {
        let data_type = DataType::Struct(Fields::from(vec![Field::new("a", DataType::Utf8, true)]));
        let mut s = ColumnBuilder::new(&data_type).unwrap();
        s.append_null();
        s.struct_field(0).append_str("x").unwrap();
        s.close_struct();
        let array = s.finish().unwrap();
        assert_eq!(array.len(), 2);
        assert!(array.is_null(0));
        assert_eq!(array_value_to_string(&array, 1).unwrap(), "{a: x}");
    }

    #[test]
    fn unsupported_types_are_named() {
        assert!(
            ColumnBuilder::new(&DataType::Float16)
                .unwrap_err()
                .to_string()
                .contains("Float16")
        );
    }
}
