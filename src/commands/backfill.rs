//! `tributary backfill`: a progress bar on a terminal, a summary at the end.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use tributary_ingest::{BackfillConfig, BackfillReport, Progress};
use tributary_table::schema::Schema;
use tributary_transform::{BufferLimits, SinkConfig};

use crate::cli::BackfillArgs;

pub fn config(args: &BackfillArgs, schema: &'static Schema) -> BackfillConfig {
    BackfillConfig {
        source: args.source.clone(),
        format: args.format,
        warehouse: args.warehouse.clone(),
        sink: SinkConfig {
            limits: BufferLimits {
                max_file_bytes: args.max_file_bytes,
                max_buffer_bytes: args.max_buffer_bytes,
            },
            codec: args.codec,
        },
        decode_parallelism: args
            .decode_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        schema,
    }
}

pub async fn run(args: BackfillArgs, schema: &'static Schema) -> anyhow::Result<()> {
    let config = config(&args, schema);
    let report = run_with_progress(&config).await?;
    if args.json {
        println!("{}", summary_json(&config, &report));
    } else {
        print!("{}", summary_text(&config, &report));
    }
    Ok(())
}

/// Runs a backfill with a progress bar on standard error when it is a terminal.
pub async fn run_with_progress(config: &BackfillConfig) -> anyhow::Result<BackfillReport> {
    let progress = Arc::new(Progress::default());
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {bytes}/{total_bytes} [{wide_bar}] {msg} ({eta})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar
    });
    let ticker = bar.clone().map(|bar| {
        let progress = progress.clone();
        tokio::spawn(async move {
            loop {
                bar.set_length(progress.bytes_total.load(Ordering::Relaxed));
                bar.set_position(progress.bytes_read.load(Ordering::Relaxed));
                bar.set_message(format!(
                    "{} records",
                    progress.records.load(Ordering::Relaxed)
                ));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    });
    let result = tributary_ingest::backfill::run(config, progress).await;
    if let Some(t) = ticker {
        t.abort();
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result.with_context(|| {
        format!(
            "backfill of {} ({}) into {} failed",
            config.source,
            config.format.name(),
            config.warehouse
        )
    })
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

pub fn summary_text(config: &BackfillConfig, r: &BackfillReport) -> String {
    let secs = r.elapsed.as_secs_f64();
    let mut out = format!(
        "backfill {} ({}) -> {}\n  input files          {} ({}{})\n  records read         {}\n",
        config.source,
        config.format.name(),
        config.warehouse,
        r.inputs,
        mib(r.input_bytes),
        if r.skipped_files > 0 {
            format!(", {} other files skipped", r.skipped_files)
        } else {
            String::new()
        },
        r.records_read,
    );
    for (table, rows) in &r.sink.rows {
        out += &format!("  rows {table:<15} {rows}\n");
    }
    let dead: u64 = r.sink.dead_letters.values().sum();
    out += &format!("  dead letters         {dead}");
    if dead > 0 {
        out += &format!(" (under dead_letters/{}/)", config.format.name());
    }
    out += &format!(
        "\n  duplicates skipped   {}\n  files written        {} ({})\n  stale files deleted  {}\n  already committed    {}\n  state rows changed   {}\n  seconds              {:.2}\n  records/s            {:.0}\n",
        r.duplicates_skipped,
        r.sink.files.len(),
        mib(r.sink.bytes()),
        r.stale_files_deleted,
        r.already_committed,
        r.state_rows_changed,
        secs,
        r.records_read as f64 / secs.max(1e-9),
    );
    out
}

pub fn summary_json(config: &BackfillConfig, r: &BackfillReport) -> serde_json::Value {
    serde_json::json!({
        "source": config.source,
        "format": config.format.name(),
        "warehouse": config.warehouse,
        "input_files": r.inputs,
        "skipped_files": r.skipped_files,
        "input_bytes": r.input_bytes,
        "records_read": r.records_read,
        "rows": r.sink.rows,
        "dead_letters": r.sink.dead_letters.values().sum::<u64>(),
        "duplicates_skipped": r.duplicates_skipped,
        "files_written": r.sink.files.len(),
        "bytes_written": r.sink.bytes(),
        "stale_files_deleted": r.stale_files_deleted,
        "already_committed": r.already_committed,
        "state_rows_changed": r.state_rows_changed,
        "seconds": r.elapsed.as_secs_f64(),
        "records_per_second": r.records_read as f64 / r.elapsed.as_secs_f64().max(1e-9),
    })
}
