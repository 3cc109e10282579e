//! Parquet encoding with the properties Athena reads well: INT64 timestamps (never INT96),
//! DECIMAL for money, column statistics, and a codec Athena supports (ZSTD or Snappy).

use std::str::FromStr;

use bytes::Bytes;
use datafusion::arrow::array::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;

/// The codecs Athena reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Codec {
    /// ZSTD level 1: about Snappy's speed with smaller files (fewer bytes scanned by Athena).
    #[default]
    Zstd,
    Snappy,
    Uncompressed,
}

impl FromStr for Codec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "zstd" => Ok(Codec::Zstd),
            "snappy" => Ok(Codec::Snappy),
            "none" | "uncompressed" => Ok(Codec::Uncompressed),
            other => Err(format!(
                "unknown codec {other:?} (expected zstd, snappy or none)"
            )),
        }
    }
}

impl Codec {
    fn compression(self) -> Compression {
        match self {
            Codec::Zstd => Compression::ZSTD(ZstdLevel::try_new(1).expect("level 1 is valid")),
            Codec::Snappy => Compression::SNAPPY,
            Codec::Uncompressed => Compression::UNCOMPRESSED,
        }
    }
}

/// Columns whose values differ on every row: a dictionary there is built and then thrown away
/// (the encoder falls back once it grows past a page), so it is not tried. A profile of the
/// events backfill had dictionary interning at 9% of its time, most of it on these columns.
const UNIQUE_COLUMNS: [&str; 3] = ["ingest_sequence", "event_id", "sequence_number"];

pub fn writer_properties(codec: Codec) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_compression(codec.compression())
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by(format!("tributary {}", env!("CARGO_PKG_VERSION")));
    for column in UNIQUE_COLUMNS {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(column), false);
    }
    builder.build()
}

/// Encodes batches of one schema as a whole Parquet file in memory.
pub fn encode(batches: &[RecordBatch], codec: Codec) -> Result<Bytes, ParquetError> {
    let Some(first) = batches.first() else {
        return Err(ParquetError::General("no batches to encode".into()));
    };
    let mut out = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut out, first.schema(), Some(writer_properties(codec)))?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.close()?;
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::order;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use datafusion::parquet::basic::Type as PhysicalType;
    use tributary_table::layout::Table;

    #[test]
    fn timestamps_are_int64_and_money_is_decimal() {
        let bytes = encode(&[order(7, 6).batch], Codec::Zstd).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes.clone()).unwrap();
        let schema = reader.metadata().file_metadata().schema_descr();
        for column in schema.columns() {
            assert_ne!(
                column.physical_type(),
                PhysicalType::INT96,
                "{}",
                column.name()
            );
            if column.name() == "created_at" {
                assert_eq!(column.physical_type(), PhysicalType::INT64);
            }
            if column.name() == "total_amount" {
                assert!(format!("{:?}", column.logical_type_ref()).contains("Decimal"));
            }
        }
        let batches: Vec<_> = reader.build().unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(batches[0].num_rows(), 1);
        assert_eq!(
            batches[0].schema(),
            Table::builtin("order_changes").schema()
        );
    }

    #[test]
    fn codec_names() {
        assert_eq!("ZSTD".parse::<Codec>().unwrap(), Codec::Zstd);
        assert!("lz4".parse::<Codec>().is_err());
    }
}
