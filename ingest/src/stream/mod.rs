//! The stream worker: Kinesis Data Streams and DynamoDB Streams shards in, Delta commits and
//! checkpoints out, each record exactly once.
//!
//! # Layout
//! Data moves top to bottom:
//! - [`config`]: what `tributary run` is given (`--source`, flush limits, leases), checked.
//! - [`worker`]: per source, lists shards, claims the ready ones ([`lease`]) in lineage order,
//!   and runs one [`shard_task`] per shard until shutdown; [`membership`]: heartbeats, so that
//!   workers split the shards evenly.
//! - [`identity`]: which stream a source's checkpoints belong to (ARN and creation time); a
//!   re-created stream gets a namespace of its own.
//! - [`client`]: what a stream service offers ([`kinesis`], [`dynamodb_streams`] over the AWS
//!   SDK); [`shard`]: shard ids, lineage and start positions.
//! - [`budget`]: the memory all buffers and recoveries share (`--max-buffer-bytes`).
//! - [`reader`]: one shard's iterator: throttling backoff, expired iterators, closed shards.
//! - [`records`]: a GetRecords answer → Arrow batches per partition and dead letters.
//! - [`flush`]: a shard's buffer → intent, files, Delta commits (through the worker's group
//!   committer, `tributary_table::committer`), checkpoint; completes a pending flush after a
//!   crash or a takeover, table by table. [`checkpoint`]: the compare-and-swap state object
//!   per shard.
//! - [`current_state`]: after the commits, the `orders` and `users` tables are refreshed;
//!   [`compactor`]: every `--compact-interval`, small files are merged by size tiers.
//! - [`metrics`]: Prometheus counters and gauges, and the health the binary serves.
//!
//! The protocol and why it is exactly-once: `docs/stream-protocol.md`.

pub mod budget;
pub mod checkpoint;
pub mod client;
pub mod compactor;
pub mod config;
pub mod current_state;
pub mod dynamodb_streams;
pub mod flush;
pub mod identity;
pub mod kinesis;
pub mod lease;
pub mod membership;
#[cfg(test)]
pub(crate) mod memory;
pub mod metrics;
pub mod reader;
pub mod records;
pub mod shard;
pub mod shard_task;
pub mod worker;

pub use config::{SourceSpec, WorkerConfig};
pub use metrics::Metrics;
pub use shard::StartPosition;
pub use worker::{WorkerError, run};
