//! `tributary run`: resolves the options (flag > environment > config file > default), serves
//! /metrics and /healthz, runs the worker, and turns SIGTERM/SIGINT into a clean shutdown.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};
use tributary_ingest::stream::{Metrics, SourceSpec, StartPosition, WorkerConfig};
use tributary_transform::Codec;

use crate::cli::{RunArgs, parse_duration, parse_size};
use crate::metrics_server;

/// The `--config` file: the same options as the flags, in TOML.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    sources: Vec<String>,
    warehouse: Option<String>,
    start: Option<String>,
    flush_interval: Option<String>,
    flush_bytes: Option<String>,
    max_buffer_bytes: Option<String>,
    codec: Option<String>,
    metrics_addr: Option<String>,
    worker_id: Option<String>,
    lease_duration: Option<String>,
    discovery_interval: Option<String>,
    poll_interval: Option<String>,
    shutdown_timeout: Option<String>,
    stall_timeout: Option<String>,
    compact_interval: Option<String>,
    compact_target_bytes: Option<String>,
    compact_fan_in: Option<usize>,
    /// The schema file, relative to the config file's directory.
    schema: Option<std::path::PathBuf>,
}

/// The worker's settings plus what only the binary uses.
#[derive(Debug)]
pub struct Settings {
    pub worker: WorkerConfig,
    pub metrics_addr: std::net::SocketAddr,
    pub shutdown_timeout: Duration,
    /// `/healthz` is 503 when a shard made no progress for this long.
    pub stall_timeout: Duration,
}

fn read_config_file(path: &Path) -> anyhow::Result<ConfigFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "tributary".to_string())
}

/// Merges flags/environment (already in `args` and `schema`, the global `--schema`), the
/// config file and the defaults.
pub fn settings(args: RunArgs, schema: Option<std::path::PathBuf>) -> anyhow::Result<Settings> {
    let file = match &args.config {
        Some(path) => read_config_file(path)?,
        None => ConfigFile::default(),
    };
    let schema = schema.or_else(|| {
        let relative = file.schema.as_ref()?;
        let dir = args.config.as_deref()?.parent()?;
        Some(dir.join(relative))
    });
    let schema = super::schema::load(schema.as_deref())?;
    fn pick(flag: Option<String>, file: Option<String>, default: &str) -> String {
        flag.or(file).unwrap_or_else(|| default.to_string())
    }
    let sources = if args.sources.is_empty() {
        file.sources
    } else {
        args.sources
    };
    let sources = sources
        .iter()
        .map(|s| s.parse::<SourceSpec>().map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let Some(warehouse) = args.warehouse.or(file.warehouse) else {
        bail!(
            "no warehouse: give --warehouse s3://bucket/prefix (or TRIBUTARY_WAREHOUSE, or warehouse = \"...\" in --config)"
        );
    };
    let duration = |name: &str, text: String| {
        parse_duration(&text).map_err(|e| anyhow::anyhow!("--{name}: {e}"))
    };
    let size =
        |name: &str, text: String| parse_size(&text).map_err(|e| anyhow::anyhow!("--{name}: {e}"));
    let start: StartPosition = pick(args.start, file.start, "trim-horizon")
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--start: {e}"))?;
    let codec: Codec = pick(args.codec, file.codec, "zstd")
        .parse()
        .map_err(|e| anyhow::anyhow!("--codec: {e}"))?;
    let metrics_addr = pick(args.metrics_addr, file.metrics_addr, "127.0.0.1:9464");
    let metrics_addr = metrics_addr.parse().with_context(|| {
        format!("--metrics-addr: {metrics_addr:?} is not an address like 127.0.0.1:9464")
    })?;
    let flush_interval = duration(
        "flush-interval",
        pick(args.flush_interval, file.flush_interval, "60s"),
    )?;
    let poll_interval = match args.poll_interval.or(file.poll_interval) {
        Some(text) => duration("poll-interval", text)?,
        None => default_poll_interval(flush_interval),
    };
    let worker = WorkerConfig {
        sources,
        warehouse,
        start,
        flush_interval,
        flush_bytes: size(
            "flush-bytes",
            pick(args.flush_bytes, file.flush_bytes, "128MiB"),
        )?,
        max_buffer_bytes: size(
            "max-buffer-bytes",
            pick(args.max_buffer_bytes, file.max_buffer_bytes, "512MiB"),
        )?,
        codec,
        worker_id: args.worker_id.or(file.worker_id).unwrap_or_else(host_name),
        lease_duration: duration(
            "lease-duration",
            pick(args.lease_duration, file.lease_duration, "30s"),
        )?,
        discovery_interval: duration(
            "discovery-interval",
            pick(args.discovery_interval, file.discovery_interval, "10s"),
        )?,
        poll_interval,
        flush_step_delay: match args.test_flush_step_delay {
            Some(text) => duration("test-flush-step-delay", text)?,
            None => Duration::ZERO,
        },
        compact_interval: match pick(args.compact_interval, file.compact_interval, "10m") {
            off if off.eq_ignore_ascii_case("off") => None,
            text => Some(duration("compact-interval", text)?),
        },
        compact_target_bytes: size(
            "compact-target-bytes",
            pick(
                args.compact_target_bytes,
                file.compact_target_bytes,
                "128MiB",
            ),
        )? as u64,
        compact_fan_in: args.compact_fan_in.or(file.compact_fan_in).unwrap_or(8),
        schema,
    };
    worker.validate()?;
    let shutdown_timeout = duration(
        "shutdown-timeout",
        pick(args.shutdown_timeout, file.shutdown_timeout, "60s"),
    )?;
    let stall_timeout = duration(
        "stall-timeout",
        pick(args.stall_timeout, file.stall_timeout, "5m"),
    )?;
    if stall_timeout <= worker.poll_interval * 2 {
        anyhow::bail!(
            "--stall-timeout {stall_timeout:?} must be longer than twice --poll-interval ({:?}): a caught-up shard reads once per poll",
            worker.poll_interval
        );
    }
    Ok(Settings {
        worker,
        metrics_addr,
        shutdown_timeout,
        stall_timeout,
    })
}

/// Waits for the first SIGTERM or SIGINT and names it.
async fn wait_for_signal() -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}

pub async fn run(args: RunArgs, schema: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    let settings = settings(args, schema)?;
    let metrics = Arc::new(Metrics::new());
    let shutdown = CancellationToken::new();
    let server = metrics_server::serve(
        settings.metrics_addr,
        metrics.clone(),
        settings.worker.discovery_interval * 3,
        settings.stall_timeout,
        shutdown.clone(),
    )
    .await?;
    info!(
        worker = %settings.worker.worker_id,
        sources = ?settings.worker.sources.iter().map(ToString::to_string).collect::<Vec<_>>(),
        warehouse = %settings.worker.warehouse,
        metrics = %server,
        "worker starting"
    );
    let mut worker = tokio::spawn(tributary_ingest::stream::run(
        settings.worker,
        metrics,
        shutdown.clone(),
    ));
    let signals = wait_for_signal();
    tokio::pin!(signals);
    let result = tokio::select! {
        result = &mut worker => result,
        signal = &mut signals => {
            info!(signal = signal?, timeout = ?settings.shutdown_timeout, "shutting down: flushing and checkpointing");
            shutdown.cancel();
            match tokio::time::timeout(settings.shutdown_timeout, &mut worker).await {
                Ok(result) => result,
                Err(_) => {
                    error!("shutdown did not finish in time; records not yet checkpointed will be read again on the next start");
                    bail!("shutdown timed out after {:?}", settings.shutdown_timeout);
                }
            }
        }
    };
    shutdown.cancel();
    result
        .context("the worker task failed")?
        .context("the worker stopped")?;
    info!("worker stopped cleanly");
    Ok(())
}

/// A caught-up shard is read again after 1 s, or after half the flush interval if that is
/// shorter (a record waits for the next read, then for the flush: a 1 s poll would add half a
/// second on average to a 1 s flush interval), but never more often than Kinesis serves a
/// shard (5 reads per second).
fn default_poll_interval(flush_interval: Duration) -> Duration {
    (flush_interval / 2).clamp(Duration::from_millis(200), Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_file(text: &str) -> (tempfile::TempDir, RunArgs) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tributary.toml");
        std::fs::write(&path, text).unwrap();
        (
            dir,
            RunArgs {
                config: Some(path),
                ..Default::default()
            },
        )
    }

    #[test]
    fn a_short_flush_interval_shortens_the_default_poll() {
        assert_eq!(
            default_poll_interval(Duration::from_secs(60)),
            Duration::from_secs(1)
        );
        assert_eq!(
            default_poll_interval(Duration::from_secs(1)),
            Duration::from_millis(500)
        );
        assert_eq!(
            default_poll_interval(Duration::from_millis(100)),
            Duration::from_millis(200)
        );
        let (_dir, mut args) = with_file("sources = [\"kinesis:c\"]\nwarehouse = \"w\"\n");
        args.flush_interval = Some("1s".into());
        assert_eq!(
            settings(args, None).unwrap().worker.poll_interval,
            Duration::from_millis(500)
        );
        let (_dir, mut args) =
            with_file("sources = [\"kinesis:c\"]\nwarehouse = \"w\"\npoll_interval = \"2s\"\n");
        args.flush_interval = Some("1s".into());
        assert_eq!(
            settings(args, None).unwrap().worker.poll_interval,
            Duration::from_secs(2),
            "a given poll interval is kept"
        );
    }

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let (_dir, mut args) = with_file(
            "sources = [\"kinesis:clicks\", \"dynamodb:shop\"]\nwarehouse = \"s3://b/wh\"\nflush_interval = \"30s\"\nflush_bytes = \"64MiB\"\n",
        );
        args.flush_interval = Some("5s".into());
        let s = settings(args, None).unwrap();
        assert_eq!(
            s.worker.sources,
            vec![
                SourceSpec::Kinesis("clicks".into()),
                SourceSpec::DynamodbTable("shop".into())
            ]
        );
        assert_eq!(s.worker.warehouse, "s3://b/wh");
        assert_eq!(
            s.worker.flush_interval,
            Duration::from_secs(5),
            "the flag wins"
        );
        assert_eq!(
            s.worker.flush_bytes,
            64 << 20,
            "the file wins over the default"
        );
        assert_eq!(s.worker.max_buffer_bytes, 512 << 20, "the default");
        assert_eq!(s.worker.start, StartPosition::TrimHorizon);
        assert_eq!(s.metrics_addr.to_string(), "127.0.0.1:9464");
    }

    #[test]
    fn mistakes_are_named() {
        let (_dir, args) = with_file(
            "sources = [\"kinesis:clicks\"]\nwarehouse = \"wh\"\nflush_intervall = \"30s\"\n",
        );
        let err = format!("{:#}", settings(args, None).unwrap_err());
        assert!(err.contains("unknown field `flush_intervall`"), "{err}");
        let args = RunArgs {
            warehouse: Some("wh".into()),
            ..Default::default()
        };
        assert!(format!("{:#}", settings(args, None).unwrap_err()).contains("no --source"));
        let args = RunArgs {
            sources: vec!["kinesis:a".into()],
            ..Default::default()
        };
        assert!(format!("{:#}", settings(args, None).unwrap_err()).contains("no warehouse"));
        let args = RunArgs {
            sources: vec!["kinesis:a".into()],
            warehouse: Some("wh".into()),
            flush_interval: Some("soon".into()),
            ..Default::default()
        };
        assert!(format!("{:#}", settings(args, None).unwrap_err()).contains("--flush-interval"));
        let args = RunArgs {
            sources: vec!["kinesis:a".into()],
            warehouse: Some("wh".into()),
            flush_bytes: Some("1GiB".into()),
            ..Default::default()
        };
        assert!(format!("{:#}", settings(args, None).unwrap_err()).contains("--max-buffer-bytes"));
    }
}
