//! # tributary-table: the warehouse's tables
//!
//! # Layout
//! - [`schema`]: declared schemas (a TOML file with Athena types, or the built-in shop): which
//!   tables there are, which records belong to each, where each column comes from.
//! - [`layout`]: the warehouse contract: table names, Arrow schemas, `year=/month=/day=`
//!   partitions; [`sequence`]: stream sequence numbers, ordered numerically.
//! - [`warehouse`]: the local directory or S3 prefix everything lives in; [`aws`] builds the
//!   AWS configuration (region, credentials chain, endpoint) in one place; [`store_probe`]:
//!   a writer's check at start that the store enforces conditional writes; [`faults`]: a store
//!   with faults on demand (outages, stalls, ignored conditions), for tests.
//! - [`delta`]: the tables as Delta Lake tables: creation, atomic commits of data files with
//!   `txn` actions (idempotent per writer and flush), and the versions those hold;
//!   [`committer`]: group commit, many writers' flushes to one table in one Delta commit; [`stats`]:
//!   the per-file statistics those commits carry for data skipping; [`compaction`]: small
//!   files merged and sorted (all at once, or by size tiers as the worker does);
//!   [`maintenance`]: compaction and vacuum of the Delta tables; [`state`]: the current-state tables (`orders`,
//!   `users`), kept up to date from the change tables by MERGE.
//!
//! `transform` writes files with these schemas, `ingest` commits them and keeps its
//! checkpoints here, `query` reads the tables; none of them defines the contract itself.

pub mod append;
pub mod aws;
pub mod catalog;
pub mod committer;
pub mod compaction;
pub mod delta;
pub mod faults;
pub mod files;
pub mod layout;
pub mod maintenance;
pub mod schema;
pub mod sequence;
pub mod state;
pub mod stats;
pub mod store_probe;
#[cfg(test)]
pub(crate) mod testing;
pub mod txn;
pub mod warehouse;

pub use catalog::WarehouseTable;
pub use delta::{CommitKind, CommitReport, Contribution, DataFile, TableError, TableFormat, Txn};
pub use layout::{Partition, Table};
pub use sequence::SequenceNumber;
pub use warehouse::{Warehouse, WarehouseError};
