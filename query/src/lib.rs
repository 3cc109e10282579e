//! # tributary-query: SQL over the warehouse
//!
//! # Layout
//! - [`session`]: a DataFusion session over a warehouse (local or S3): the Delta tables with
//!   their partition columns, and the [`views`] that give the latest state of orders and users
//!   before the current-state tables exist; [`snapshot_scan`] reads a Delta table's snapshot
//!   with DataFusion's own Parquet scan.
//! - [`ddl`]: the Athena `CREATE EXTERNAL TABLE` (with partition projection) and view statements;
//!   [`athena_ddl`] reads such DDL back, [`external`] registers its tables (with
//!   [`projection`]), and [`metadata`] answers `SHOW TABLES`, `DESCRIBE`, `SHOW PARTITIONS` and
//!   `MSCK REPAIR TABLE`.
//! - [`named`]: the named analytics queries (`daily-orders`, `top-users`, `funnel`), one file
//!   each, written in SQL that Athena runs unchanged.
//! - [`trino`]: Trino (Athena) functions with Trino's semantics, one file each.
//! - [`sql`]: runs SQL text (many statements); [`repl`] is the SQL shell (line editing,
//!   history, completion); [`output`] prints results, with
//!   [`render`] printing values as Trino does.
//!
//! `query` reads what `transform` wrote; it never depends on `ingest`.

pub mod athena_ddl;
pub mod ddl;
pub mod external;
pub mod metadata;
pub mod named;
pub mod output;
pub mod projection;
pub mod render;
pub mod repl;
pub mod session;
pub mod snapshot_scan;
pub mod sql;
pub mod trino;
pub mod views;

pub use datafusion::prelude::SessionContext;
pub use named::{NamedQuery, Params};
pub use output::OutputFormat;
pub use session::{
    CATALOG, DEFAULT_DATABASE, QueryError, Tables, database_name, empty, open, open_tables,
    session, session_of,
};
