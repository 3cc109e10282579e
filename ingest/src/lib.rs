//! # tributary-ingest: sources in, records out
//!
//! # Layout
//! - [`source`]: lists the input files of a batch source (file, directory, `s3://` prefix).
//! - [`read`]: reads one input on a blocking thread as chunks of whole lines (gzip detected).
//! - [`decode`]: one raw record (Kinesis payloads: [`decode::kinesis`], KPL aggregates: [`decode::kpl`]) → a `Record` or a dead-letter reason: [`decode::events`]
//!   (clickstream JSON), [`decode::dynamodb`] (DynamoDB Streams records), [`decode::export`]
//!   (DynamoDB export lines), both mapped by [`decode::entity`] (the single-table design) with
//!   [`decode::attribute`] (DynamoDB's typed JSON).
//! - [`backfill`]: drives a batch source through decoding into a `tributary_transform::Sink`,
//!   and makes re-runs idempotent.
//! - [`stream`]: the long-running worker over Kinesis and DynamoDB Streams shards (leases,
//!   lineage, flushes with an intent, checkpoints; exactly once through crashes).

pub mod backfill;
pub mod decode;
pub mod read;
pub mod source;
pub mod stream;

pub use backfill::{BackfillConfig, BackfillError, BackfillReport, Progress};
pub use decode::Format;
