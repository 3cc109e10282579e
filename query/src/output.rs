//! Printing results as a table, CSV or JSON.

use std::io::Write;
use std::str::FromStr;

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::util::pretty::pretty_format_batches;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// An aligned text table with a row count.
    #[default]
    Table,
    /// CSV with a header line.
    Csv,
    /// A JSON array of objects.
    Json,
    /// Tab-separated values without a header, each printed as Trino prints it (its CLI's
    /// `--output-format TSV`): compare with Trino's documentation or Athena's answers.
    Trino,
}

impl FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "table" => Ok(Self::Table),
            "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            "trino" => Ok(Self::Trino),
            other => Err(format!(
                "unknown output format {other:?} (expected table, csv, json or trino)"
            )),
        }
    }
}

/// Writes `batches` to `out` in `format`.
pub fn write(
    batches: &[RecordBatch],
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<(), ArrowError> {
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    match format {
        OutputFormat::Table => {
            if rows > 0 {
                writeln!(out, "{}", pretty_format_batches(batches)?)?;
            }
            writeln!(out, "({rows} row{})", if rows == 1 { "" } else { "s" })?;
        }
        OutputFormat::Csv => {
            // the whole result is encoded before anything is printed: an error never leaves
            // half a result behind it
            let mut text = Vec::new();
            {
                let mut writer = datafusion::arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(&mut text);
                for batch in batches {
                    writer.write(&nested_as_text(batch)?)?;
                }
            }
            out.write_all(&text)?;
        }
        OutputFormat::Json => {
            let mut writer = datafusion::arrow::json::ArrayWriter::new(&mut *out);
            for batch in batches {
                writer.write(batch)?;
            }
            writer.finish()?; // writes `[]` when there were no rows
            writeln!(out)?;
        }
        OutputFormat::Trino => {
            for batch in batches {
                for row in 0..batch.num_rows() {
                    let values = batch
                        .columns()
                        .iter()
                        .map(|c| crate::render::value(c, row))
                        .collect::<Result<Vec<_>, _>>()?;
                    writeln!(out, "{}", values.join("\t"))?;
                }
            }
        }
    }
    Ok(())
}

/// `batch` with its arrays, maps and structs as text, as Athena's CSV results print them
/// (`[1, 2]`, `{a=1, b=x}`): CSV has no nested values of its own.
fn nested_as_text(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    if !batch
        .schema()
        .fields()
        .iter()
        .any(|f| f.data_type().is_nested())
    {
        return Ok(batch.clone());
    }
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if !field.data_type().is_nested() {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
            continue;
        }
        let text: StringArray = (0..column.len())
            .map(|row| {
                if column.is_null(row) {
                    Ok(None)
                } else {
                    crate::render::value(column, row).map(Some)
                }
            })
            .collect::<Result<_, ArrowError>>()?;
        fields.push(Field::new(field.name(), DataType::Utf8, true));
        columns.push(Arc::new(text));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, ListArray, StructArray};
    use datafusion::arrow::datatypes::Int64Type;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("user_id", DataType::Utf8, false),
            Field::new("orders", DataType::Int64, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["a", "b"])),
                Arc::new(Int64Array::from(vec![3, 4])),
            ],
        )
        .unwrap()
    }

    fn render(format: OutputFormat, batches: &[RecordBatch]) -> String {
        let mut out = Vec::new();
        write(batches, format, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formats() {
        assert_eq!(
            render(OutputFormat::Csv, &[batch()]),
            "user_id,orders\na,3\nb,4\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render(OutputFormat::Json, &[batch()])).unwrap();
        assert_eq!(json[1]["orders"], 4);
        assert_eq!(render(OutputFormat::Json, &[]).trim(), "[]");
        let table = render(OutputFormat::Table, &[batch()]);
        assert!(
            table.contains("| user_id | orders |") && table.ends_with("(2 rows)\n"),
            "{table}"
        );
    }

    #[test]
    fn csv_prints_nested_values_as_athena_does() {
        let list = ListArray::from_iter_primitive::<Int64Type, _, _>([
            Some(vec![Some(1), Some(2), Some(3)]),
            None,
        ]);
        let point = StructArray::from(vec![
            (
                Arc::new(Field::new("a", DataType::Int64, true)),
                Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("b", DataType::Utf8, true)),
                Arc::new(StringArray::from(vec![Some("x"), None])) as ArrayRef,
            ),
        ]);
        let schema = Arc::new(Schema::new(vec![
            Field::new("l", list.data_type().clone(), true),
            Field::new("p", point.data_type().clone(), true),
        ]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(list), Arc::new(point)]).unwrap();
        assert_eq!(
            render(OutputFormat::Csv, &[batch]),
            "l,p\n\"[1, 2, 3]\",\"{a=1, b=x}\"\n,\"{a=2, b=NULL}\"\n"
        );
    }
}
