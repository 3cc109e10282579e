//! Printing results as a table, CSV or JSON.

use std::io::Write;
use std::str::FromStr;

use datafusion::arrow::array::RecordBatch;
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
            let mut writer = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *out);
            for batch in batches {
                writer.write(batch)?;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

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
}
