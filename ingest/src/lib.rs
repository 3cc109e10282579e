//! # tributary-ingest: sources in, rows out
//!
//! # Layout
//! - [`source`]: lists the input files of a batch source (file, directory, `s3://` prefix).
//! - [`read`]: reads one input on a blocking thread as chunks of whole lines (gzip detected, a
//!   byte-order mark skipped).
//! - [`decode`]: raw records (Kinesis payloads: [`decode::kinesis`], KPL aggregates:
//!   [`decode::kpl`]) → rows of the schema's tables, or a dead-letter reason. A plan per table
//!   ([`decode::plan`]) drives one pass over each record: JSON documents
//!   ([`decode::document`]), DynamoDB images ([`decode::typed`]), routed and wrapped in their
//!   change columns by [`decode::schema_decoder`].
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
