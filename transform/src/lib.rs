//! # tributary-transform: rows in, Parquet out
//!
//! # Layout
//! Data moves top to bottom:
//! - [`columns`]: the column builders `ingest`'s decoders write each record into (and take a
//!   failed record back from), in the tables' schemas.
//! - [`model`]: where a record came from, and the `DeadLetter`s that stand in for records that
//!   could not be decoded.
//! - [`batch`]: a table's rows split into batches per (table, day).
//! - [`buffer`]: batches per (table, day), flushed by size and bounded in memory.
//! - [`parquet`]: Athena-friendly Parquet encoding.
//! - [`sink`]: routes records to buffers and flushed batches to files with deterministic names;
//!   [`dead_letters`] formats the records it could not map.
//!
//! Where the files go (the warehouse, its tables and their commits) is `tributary_table`.

pub mod batch;
pub mod buffer;
pub mod columns;
pub mod dead_letters;
pub mod model;
pub mod parquet;
pub mod sink;
#[cfg(test)]
pub(crate) mod testing;

pub use batch::{PartitionBatch, split_by_partition};
pub use buffer::BufferLimits;
pub use model::{DeadLetter, Operation, Origin};
pub use parquet::Codec;
pub use sink::{FileTarget, Sink, SinkConfig, SinkError, SinkReport, WrittenFile, write_parquet};
pub use tributary_table::{
    Partition, SequenceNumber, Table, TableFormat, Warehouse, WarehouseError,
};
