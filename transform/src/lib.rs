//! # tributary-transform: records in, Parquet out
//!
//! # Layout
//! Data moves top to bottom:
//! - [`model`]: the decoded records (`ClickEvent`, `OrderChange`, `UserChange`) and `DeadLetter`s
//!   that `ingest` produces; [`sequence`]: stream sequence numbers, ordered numerically.
//! - [`layout`]: the warehouse contract: table names, Arrow schemas, `year=/month=/day=` partitions.
//! - [`batch`]: one Arrow builder per table.
//! - [`buffer`]: one builder per (table, day), flushed by size and bounded in memory.
//! - [`parquet`]: Athena-friendly Parquet encoding.
//! - [`sink`]: routes records to buffers and flushed batches to files with deterministic names;
//!   [`dead_letters`] formats the records it could not map.
//! - [`warehouse`]: the local directory or S3 prefix the files go to; [`aws`] builds the AWS
//!   configuration (region, credentials chain, endpoint) in one place.

pub mod aws;
pub mod batch;
pub mod buffer;
pub mod dead_letters;
pub mod layout;
pub mod model;
pub mod parquet;
pub mod sequence;
pub mod sink;
pub mod warehouse;

pub use batch::{PartitionBatch, partition_batches};
pub use buffer::BufferLimits;
pub use layout::{Partition, Table};
pub use model::{
    ClickEvent, DeadLetter, Operation, OrderChange, OrderItem, Origin, Record, UserChange,
};
pub use parquet::Codec;
pub use sequence::SequenceNumber;
pub use sink::{Sink, SinkConfig, SinkError, SinkReport, WrittenFile, write_parquet};
pub use warehouse::{Warehouse, WarehouseError};
