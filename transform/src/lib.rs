//! # tributary-transform: records in, Parquet out
//!
//! # Layout
//! Data moves top to bottom:
//! - [`model`]: the decoded records (`ClickEvent`, `OrderChange`, `UserChange`) and `DeadLetter`s
//!   that `ingest` produces.
//! - [`batch`]: one Arrow builder per table, with the schemas of `tributary_table::layout`.
//! - [`buffer`]: one builder per (table, day), flushed by size and bounded in memory.
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

pub use batch::{PartitionBatch, partition_batches};
pub use buffer::BufferLimits;
pub use model::{
    ClickEvent, DeadLetter, Operation, OrderChange, OrderItem, Origin, Record, UserChange,
};
pub use parquet::Codec;
pub use sink::{FileTarget, Sink, SinkConfig, SinkError, SinkReport, WrittenFile, write_parquet};
pub use tributary_table::{
    Partition, SequenceNumber, Table, TableFormat, Warehouse, WarehouseError,
};
