//! Command-line arguments. Every option is documented here; `--help` prints these docs.
//! Options that name a place or a secret-free setting can also come from environment variables.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use tributary_ingest::Format;
use tributary_query::{NamedQuery, OutputFormat};
use tributary_table::TableFormat;
use tributary_transform::Codec;

#[derive(Parser, Debug)]
#[command(
    name = "tributary",
    version,
    about = "OLTP change streams to date-partitioned Parquet, with Athena-compatible SQL"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug)]
pub struct Global {
    /// Log format on standard error.
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"], env = "TRIBUTARY_LOG_FORMAT")]
    pub log_format: String,
    /// Log filter (tracing env-filter syntax), e.g. `info` or `tributary_ingest=debug`
    /// [default: `info` for `run`, `warn` otherwise].
    #[arg(long, global = true, env = "TRIBUTARY_LOG")]
    pub log: Option<String>,
    /// The schema file that declares the tables (`tributary schema check FILE` checks one)
    /// [default: the built-in shop schema, `tributary schema show`; `run` also reads
    /// `schema = "FILE"` from its config file].
    #[arg(long, global = true, env = "TRIBUTARY_SCHEMA", value_name = "FILE")]
    pub schema: Option<std::path::PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the stream worker: Kinesis and DynamoDB Streams shards into the warehouse, until
    /// SIGTERM or SIGINT (then flush, checkpoint and exit 0).
    Run(Box<RunArgs>),
    /// Backfill JSON Lines files (local or S3, gzipped or not) into the warehouse.
    Backfill(BackfillArgs),
    /// Run a named analytics query.
    Query(QueryArgs),
    /// Run SQL over the warehouse (`-c`, `-f`, or a REPL on standard input).
    Sql(SqlArgs),
    /// Generate fixtures, backfill them into a local warehouse and print the three answers.
    Demo(DemoArgs),
    /// Print the Athena DDL of the warehouse: its Delta Lake tables (or, with `--as hive`,
    /// external tables with partition projection over their Parquet directories).
    Ddl(DdlArgs),
    /// Generate deterministic fixture data and its expected answers.
    Fixtures(FixtureArgs),
    /// Declared schemas: check a schema file, or print the built-in one (the shop's).
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Compact the Delta tables: bin-pack each partition's small files into files near a
    /// target size (readers and writers go on meanwhile).
    Compact(CompactArgs),
    /// Delete the files of the Delta tables that no snapshot within the retention needs
    /// (files compaction replaced, and files of writers that died before their commit).
    Vacuum(VacuumArgs),
}

#[derive(Subcommand, Debug)]
pub enum SchemaCommand {
    /// Read a schema file and report every mistake with its line and reason (exit 1 if any);
    /// on success, list the tables it declares.
    Check {
        /// The schema file (TOML; the README documents the format).
        file: std::path::PathBuf,
    },
    /// Print the built-in schema (the shop's tables), a starting point for your own.
    Show,
}

#[derive(Args, Debug)]
pub struct CompactArgs {
    /// The warehouse: a local directory or s3://bucket/prefix.
    #[arg(long, env = "TRIBUTARY_WAREHOUSE")]
    pub warehouse: String,
    /// One table (events, order_changes, user_changes, orders, users); all of them by default.
    #[arg(long)]
    pub table: Option<String>,
    /// The size compacted files aim at (e.g. 128MiB).
    #[arg(long, default_value = "128MiB", value_parser = parse_size)]
    pub target_file_bytes: usize,
    /// Parquet compression of the rewritten files: zstd, snappy or none.
    #[arg(long, default_value = "zstd", value_parser = clap::value_parser!(Codec))]
    pub codec: Codec,
}

#[derive(Args, Debug)]
pub struct VacuumArgs {
    /// The warehouse: a local directory or s3://bucket/prefix.
    #[arg(long, env = "TRIBUTARY_WAREHOUSE")]
    pub warehouse: String,
    /// One table (events, order_changes, user_changes, orders, users); all of them by default.
    #[arg(long)]
    pub table: Option<String>,
    /// Keep every file a snapshot of this age or younger needs (e.g. 168h, 7d). At least 24h
    /// unless --allow-short-retention: shorter than your longest query, or than a writer's
    /// time between writing and committing, deletes files still in use.
    #[arg(long, default_value = "168h", value_parser = humantime::parse_duration)]
    pub retain: std::time::Duration,
    /// Accept a --retain below 24h (for a warehouse no writer and no reader is using).
    #[arg(long)]
    pub allow_short_retention: bool,
    /// List what would be deleted, delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct BackfillArgs {
    /// A file, a directory, or s3://bucket/prefix of JSON Lines files (.json, .jsonl, .ndjson, optionally .gz).
    #[arg(long)]
    pub source: String,
    /// What the records are: clickstream events, DynamoDB Streams records, or a DynamoDB export.
    #[arg(long, value_parser = clap::value_parser!(Format))]
    pub format: Format,
    /// The warehouse: a local directory or s3://bucket/prefix.
    #[arg(long, env = "TRIBUTARY_WAREHOUSE")]
    pub warehouse: String,
    /// Parquet compression: zstd or snappy (both read by Athena), or none.
    #[arg(long, default_value = "zstd", value_parser = clap::value_parser!(Codec))]
    pub codec: Codec,
    /// Flush a partition's buffer to a file when its in-memory size reaches this (e.g. 128MiB).
    #[arg(long, default_value = "128MiB", value_parser = parse_size)]
    pub max_file_bytes: usize,
    /// Memory for all partition buffers together; past it the largest buffer is flushed.
    #[arg(long, default_value = "128MiB", value_parser = parse_size)]
    pub max_buffer_bytes: usize,
    /// Chunks of input decoded in parallel (default: the number of CPU cores).
    #[arg(long)]
    pub decode_threads: Option<usize>,
    /// Print the summary as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

/// `tributary run`. Every option can also be set by an environment variable (shown) or in the
/// `--config` TOML file (the option's name with `_` for `-`, e.g. `flush_interval = "30s"`).
/// Precedence: flag, then environment, then file, then the default.
#[derive(Args, Debug, Default)]
pub struct RunArgs {
    /// A TOML file with any of the options below.
    #[arg(long, env = "TRIBUTARY_CONFIG")]
    pub config: Option<PathBuf>,
    /// A stream to read; repeat for several: `kinesis:<stream name or ARN>`, `dynamodb:<table>`
    /// (the table's latest stream) or `dynamodb-stream:<stream ARN>`.
    #[arg(long = "source", env = "TRIBUTARY_SOURCES", value_delimiter = ',')]
    pub sources: Vec<String>,
    /// The warehouse: s3://bucket/prefix or a local directory.
    #[arg(long, env = "TRIBUTARY_WAREHOUSE")]
    pub warehouse: Option<String>,
    /// Where shards without a checkpoint start: trim-horizon, latest, or
    /// at-timestamp:<RFC 3339>. Shards with a checkpoint always resume from it
    /// [default: trim-horizon].
    #[arg(long, env = "TRIBUTARY_START")]
    pub start: Option<String>,
    /// Flush a shard's buffered records at the latest this long after the first arrived
    /// (e.g. 60s, 5m) [default: 60s].
    #[arg(long, env = "TRIBUTARY_FLUSH_INTERVAL")]
    pub flush_interval: Option<String>,
    /// Flush a shard's buffer when its in-memory size reaches this (e.g. 128MiB) [default: 128MiB].
    #[arg(long, env = "TRIBUTARY_FLUSH_BYTES")]
    pub flush_bytes: Option<String>,
    /// Memory all shard buffers together may hold; past it, readers flush and wait instead of
    /// buffering more [default: 512MiB].
    #[arg(long, env = "TRIBUTARY_MAX_BUFFER_BYTES")]
    pub max_buffer_bytes: Option<String>,
    /// Parquet compression: zstd, snappy or none [default: zstd].
    #[arg(long, env = "TRIBUTARY_CODEC")]
    pub codec: Option<String>,
    /// Where /metrics (Prometheus) and /healthz are served [default: 127.0.0.1:9464].
    #[arg(long, env = "TRIBUTARY_METRICS_ADDR")]
    pub metrics_addr: Option<String>,
    /// This worker's name in shard leases; give each worker on one host its own
    /// [default: the host name].
    #[arg(long, env = "TRIBUTARY_WORKER_ID")]
    pub worker_id: Option<String>,
    /// Another worker may take a shard whose lease was not renewed for this long [default: 30s].
    #[arg(long, env = "TRIBUTARY_LEASE_DURATION")]
    pub lease_duration: Option<String>,
    /// How often shards are listed, to find children after a split, merge or rollover [default: 10s].
    #[arg(long, env = "TRIBUTARY_DISCOVERY_INTERVAL")]
    pub discovery_interval: Option<String>,
    /// Wait between reads of a shard that is caught up [default: 1s, or half the flush
    /// interval if that is shorter, at least 200ms].
    #[arg(long, env = "TRIBUTARY_POLL_INTERVAL")]
    pub poll_interval: Option<String>,
    /// /healthz answers 503 when a shard has neither read nor committed anything for this
    /// long (renewing its lease does not count): its reads or writes keep failing, or it waits
    /// for memory [default: 5m].
    #[arg(long, env = "TRIBUTARY_STALL_TIMEOUT")]
    pub stall_timeout: Option<String>,
    /// On SIGTERM/SIGINT, give up flushing after this long and exit 1 (what was not
    /// checkpointed is read again on the next start) [default: 60s].
    #[arg(long, env = "TRIBUTARY_SHUTDOWN_TIMEOUT")]
    pub shutdown_timeout: Option<String>,
    /// How often the worker merges the tables' small files (by size tiers, sorted), or `off`
    /// [default: 10m].
    #[arg(long, env = "TRIBUTARY_COMPACT_INTERVAL")]
    pub compact_interval: Option<String>,
    /// The file size compaction aims at [default: 128MiB].
    #[arg(long, env = "TRIBUTARY_COMPACT_TARGET_BYTES")]
    pub compact_target_bytes: Option<String>,
    /// Files of one size tier that the worker's compaction merges at once: more means fewer
    /// rewrites of each row and more files between merges [default: 8; at least 2].
    #[arg(long, env = "TRIBUTARY_COMPACT_FAN_IN")]
    pub compact_fan_in: Option<usize>,
    /// Crash tests only: pause this long after each step of a flush (intent, files, tables), so a
    /// test can kill the process inside a flush.
    #[arg(long, hide = true)]
    pub test_flush_step_delay: Option<String>,
}

#[derive(Args, Debug)]
pub struct QueryArgs {
    /// daily-orders, top-users or funnel.
    #[arg(value_parser = clap::value_parser!(NamedQuery))]
    pub name: NamedQuery,
    /// The warehouse: a local directory or s3://bucket/prefix.
    #[arg(long, env = "TRIBUTARY_WAREHOUSE")]
    pub warehouse: Option<String>,
    /// First UTC day included (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last UTC day included (YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<NaiveDate>,
    /// At most this many rows (top-users: 10 by default).
    #[arg(long)]
    pub limit: Option<usize>,
    /// table, csv, json, or trino (tab-separated, values as Trino prints them).
    #[arg(long, default_value = "table", value_parser = clap::value_parser!(OutputFormat))]
    pub format: OutputFormat,
    /// Print the Athena SQL instead of running it.
    #[arg(long)]
    pub print_sql: bool,
    /// The database the tables are in (`<database>.events`, as on Athena).
    #[arg(long, default_value = tributary_query::DEFAULT_DATABASE, env = "TRIBUTARY_DATABASE")]
    pub database: String,
}

#[derive(Args, Debug)]
pub struct SqlArgs {
    /// The warehouse: a local directory or s3://bucket/prefix.
    #[arg(long, env = "TRIBUTARY_WAREHOUSE", required_unless_present = "ddl")]
    pub warehouse: Option<String>,
    /// Athena DDL to register tables from (CREATE DATABASE / EXTERNAL TABLE / VIEW, as
    /// `tributary ddl` prints it); partition projection in TBLPROPERTIES is honoured. Repeatable;
    /// with --warehouse, added to the warehouse's tables.
    #[arg(long)]
    pub ddl: Vec<PathBuf>,
    /// SQL to run (one or more statements separated by `;`).
    #[arg(short = 'c', long = "command", conflicts_with = "file")]
    pub command: Option<String>,
    /// A file of SQL statements to run.
    #[arg(short = 'f', long)]
    pub file: Option<PathBuf>,
    /// The database the tables are in: `events`, `<database>.events` and
    /// `awsdatacatalog.<database>.events` all work, as on Athena.
    #[arg(long, default_value = tributary_query::DEFAULT_DATABASE, env = "TRIBUTARY_DATABASE")]
    pub database: String,
    /// table, csv, json, or trino (tab-separated, values as Trino prints them).
    #[arg(long, default_value = "table", value_parser = clap::value_parser!(OutputFormat))]
    pub format: OutputFormat,
}

#[derive(Args, Debug)]
pub struct DdlArgs {
    /// The warehouse the tables point at: s3://bucket/prefix (a local directory gives file:// locations).
    #[arg(long, env = "TRIBUTARY_WAREHOUSE")]
    pub warehouse: String,
    /// The Athena (Glue) database.
    #[arg(long, default_value = tributary_query::DEFAULT_DATABASE, env = "TRIBUTARY_DATABASE")]
    pub database: String,
    /// The years partition projection covers, FIRST-LAST; rows of other years stay invisible to Athena.
    #[arg(long, default_value = "2000-2099", value_parser = parse_years)]
    pub years: (i32, i32),
    /// How Athena reads the tables: `delta` (Athena's Delta Lake tables, which read the Delta
    /// log: atomic, compaction-safe) or `hive` (external tables over the Parquet directories,
    /// with partition projection, for readers without Delta support; see the README for when
    /// that is safe).
    #[arg(long = "as", default_value = "delta", value_parser = clap::value_parser!(TableFormat))]
    pub layout: TableFormat,
}

/// `2000-2099`: an inclusive range of years.
pub fn parse_years(text: &str) -> Result<(i32, i32), String> {
    let bad = || format!("{text:?} is not a range of years like 2000-2099");
    let (a, b) = text.split_once('-').ok_or_else(bad)?;
    let (a, b): (i32, i32) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if !(1000..=9999).contains(&a) || !(1000..=9999).contains(&b) || a > b {
        return Err(bad());
    }
    Ok((a, b))
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Where the fixtures and the warehouse go.
    #[arg(long, default_value = "tributary-demo")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub fixtures: FixtureSettings,
}

#[derive(Args, Debug)]
pub struct FixtureArgs {
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub settings: FixtureSettings,
}

#[derive(Args, Debug, Clone)]
pub struct FixtureSettings {
    /// Random seed: the same seed and sizes give byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Clickstream events.
    #[arg(long, default_value_t = 20_000)]
    pub events: usize,
    /// Users.
    #[arg(long, default_value_t = 400)]
    pub users: usize,
    /// Orders (each makes 1-5 change records).
    #[arg(long, default_value_t = 1_500)]
    pub orders: usize,
    /// Days of activity.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// First day of activity (YYYY-MM-DD).
    #[arg(long, default_value = "2026-01-01")]
    pub start: NaiveDate,
}

impl FixtureSettings {
    pub fn config(&self) -> tributary_fixtures::FixtureConfig {
        tributary_fixtures::FixtureConfig {
            seed: self.seed,
            events: self.events,
            users: self.users,
            orders: self.orders,
            start: self.start,
            days: self.days,
        }
    }
}

/// `128MiB`, `64MB`, `1GiB`, `4096`: bytes.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let size: bytesize::ByteSize = text
        .trim()
        .parse()
        .map_err(|e| format!("{text:?} is not a size like 128MiB: {e}"))?;
    usize::try_from(size.as_u64())
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{text:?} is not a positive size"))
}

/// `60s`, `5m`, `1h 30m`, `500ms`: a duration.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("{text:?} is not a duration like 60s or 5m: {e}"))
}

/// Library targets whose messages say nothing to a user at `info`: the Delta kernel logs
/// every snapshot it builds (several per commit), and delta-rs warns on every MERGE into an
/// empty table ("Missing target skipped-file metric"). Its transaction code logs an error for
/// every conditional commit that lost its version to another writer ("exceeded maximum commit
/// attempts"), which our commits then check and write again, and report themselves if they
/// fail. A filter that names one of them keeps its own level for it.
const QUIET_LIBRARIES: &[&str] = &[
    "buoyant_kernel=warn",
    "deltalake_core::operations::merge=error",
    "deltalake_core::kernel::transaction=off",
];

fn with_quiet_libraries(filter: &str) -> String {
    let mut directives = vec![filter.to_string()];
    for quiet in QUIET_LIBRARIES {
        let target = quiet.split('=').next().unwrap_or(quiet);
        if !filter.contains(target) {
            // a later directive for the same target wins; a more specific target wins anyway
            directives.push(quiet.to_string());
        }
    }
    directives.join(",")
}

pub fn init_logging(global: &Global, command: &Command) {
    let level = if matches!(command, Command::Run(_)) {
        "info"
    } else {
        "warn"
    };
    let filter = global.log.as_deref().unwrap_or(level);
    let filter = tracing_subscriber::EnvFilter::try_new(with_quiet_libraries(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(with_quiet_libraries(level)));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if global.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_chatter_is_quiet_unless_the_filter_asks_for_it() {
        assert_eq!(
            with_quiet_libraries("info"),
            "info,buoyant_kernel=warn,deltalake_core::operations::merge=error,\
             deltalake_core::kernel::transaction=off"
        );
        assert_eq!(
            with_quiet_libraries("debug,buoyant_kernel=debug"),
            "debug,buoyant_kernel=debug,deltalake_core::operations::merge=error,\
             deltalake_core::kernel::transaction=off"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("128MiB"), Ok(128 << 20));
        assert_eq!(parse_size("64MB"), Ok(64_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12XB").is_err());
        assert!(parse_size("MiB").is_err());
        assert_eq!(
            parse_duration("60s"),
            Ok(std::time::Duration::from_secs(60))
        );
        assert_eq!(
            parse_duration("1m 30s"),
            Ok(std::time::Duration::from_secs(90))
        );
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn the_cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
