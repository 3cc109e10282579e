//! `tributary fixtures`: deterministic data and its expected answers.

use anyhow::Context;

use crate::cli::FixtureArgs;

pub fn run(args: FixtureArgs) -> anyhow::Result<()> {
    let summary = tributary_fixtures::generate(&args.settings.config(), &args.out)
        .with_context(|| format!("generating fixtures into {}", args.out.display()))?;
    let c = &summary.expected.counts;
    println!(
        "fixtures in {}:\n  events           {} ({})\n  dynamodb stream  {} records, {} redelivered ({})\n  dynamodb export  {} items ({})\n  expected answers {}",
        args.out.display(),
        c.events,
        summary.events_dir.display(),
        c.stream_records,
        c.stream_duplicates,
        summary.stream_dir.display(),
        c.export_orders + c.export_users,
        summary.export_dir.display(),
        summary.expected_path.display(),
    );
    Ok(())
}
