//! Integration tests: the real `tributary` binary against local directories, S3 on LocalStack
//! (through the AWS SDK over HTTP), and DuckDB/pyarrow as an independent Parquet reader.
//!
//! They need the environment `scripts/test.sh` sets up: `AWS_ENDPOINT_URL` (LocalStack) and
//! `TRIBUTARY_PYTHON` (a Python with duckdb and pyarrow). Without it they fail and say so.

mod alone;
mod athena;
mod backfill;
mod bad_input;
mod chaos;
mod cli;
mod conformance;
mod delta;
mod emulator;
mod helpdesk;
mod helpers;
mod independent_reader;
mod s3;
mod schema;
mod stream;
mod stream_identity;
