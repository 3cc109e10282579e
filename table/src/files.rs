//! One data file of a Delta table written from Arrow batches: encoded on a blocking thread,
//! PUT below the table's partition directory, and described (size, rows, statistics) as the
//! commit that adds it needs. Compaction and the first build of a current-state table write
//! their files this way; both read data files through [`context`].

use bytes::Bytes;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::SessionContext;

use crate::delta::{DataFile, TableError};
use crate::layout::Partition;
use crate::warehouse::Warehouse;

/// A DataFusion context that reads the warehouse's store (for reading data files directly).
pub fn context(warehouse: &Warehouse) -> datafusion::error::Result<SessionContext> {
    let ctx = SessionContext::new();
    let store_url = ObjectStoreUrl::parse(warehouse.store_url())?;
    ctx.register_object_store(store_url.as_ref(), warehouse.store().clone());
    Ok(ctx)
}

/// Writes `batches` (of `schema`, the table's file schema) as `<table>/<partition>/<name>` and
/// describes the file.
pub async fn write(
    warehouse: &Warehouse,
    table: &str,
    partition: Partition,
    name: &str,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    writer: &WriterProperties,
) -> Result<DataFile, TableError> {
    let path = format!("{}/{name}", partition.path());
    let failed = |reason: String| TableError::File {
        path: format!("{table}/{path}"),
        reason,
    };
    let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
    let properties = writer.clone();
    let (encoded, stats) = tokio::task::spawn_blocking(move || {
        let stats = crate::stats::of_batches(&batches);
        let mut out = Vec::new();
        let mut file = ArrowWriter::try_new(&mut out, schema, Some(properties))?;
        for batch in &batches {
            file.write(batch)?;
        }
        file.close()?;
        Ok::<_, datafusion::parquet::errors::ParquetError>((out, stats))
    })
    .await
    .map_err(|e| failed(e.to_string()))?
    .map_err(|e| failed(e.to_string()))?;
    let bytes = encoded.len() as u64;
    warehouse
        .put(
            &warehouse.path(&format!("{table}/{path}")),
            Bytes::from(encoded),
        )
        .await
        .map_err(|e| failed(e.to_string()))?;
    Ok(DataFile {
        path,
        partition,
        bytes,
        rows,
        stats: Some(stats),
    })
}
