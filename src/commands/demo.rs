//! `tributary demo`: the whole batch path on embedded defaults, no AWS account needed:
//! generate fixtures, backfill events and the DynamoDB stream into a local warehouse, answer
//! the three named queries, and check the answers against the generator's.

use anyhow::Context;
use tributary_fixtures::expected::compare_rows;
use tributary_ingest::{BackfillConfig, Format};
use tributary_query::{NamedQuery, OutputFormat, Params};
use tributary_transform::SinkConfig;

use crate::cli::DemoArgs;
use crate::commands::backfill::{run_with_progress, summary_text};
use crate::commands::query::print_query;

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let fixtures_dir = args.dir.join("fixtures");
    let warehouse = args.dir.join("warehouse");
    let fixtures = tributary_fixtures::generate(&args.fixtures.config(), &fixtures_dir)
        .with_context(|| format!("generating fixtures into {}", fixtures_dir.display()))?;
    println!("Generated fixtures in {}\n", fixtures_dir.display());
    let warehouse_text = warehouse.to_string_lossy().into_owned();
    for (source, format) in [
        (&fixtures.events_dir, Format::Events),
        (&fixtures.stream_dir, Format::DynamodbStream),
    ] {
        let config = BackfillConfig {
            source: source.to_string_lossy().into_owned(),
            format,
            warehouse: warehouse_text.clone(),
            sink: SinkConfig::default(),
            decode_parallelism: std::thread::available_parallelism().map_or(2, |n| n.get()),
            schema: tributary_table::schema::Schema::builtin(),
        };
        let report = run_with_progress(&config).await?;
        println!("{}", summary_text(&config, &report));
    }
    let ctx =
        tributary_query::open(&warehouse_text, tributary_table::schema::Schema::builtin()).await?;
    let params = Params::default();
    for query in NamedQuery::ALL {
        let mut shown = params.clone();
        if query != NamedQuery::TopUsers {
            shown.limit = Some(7);
        }
        println!(
            "$ tributary query {} --warehouse {}{}",
            query.name(),
            warehouse.display(),
            if shown.limit == Some(7) {
                " --limit 7"
            } else {
                ""
            }
        );
        print_query(&ctx, query, &query.sql(&shown), OutputFormat::Table).await?;
        println!();
    }
    // the answers must be the generator's, computed from the simulation itself
    let expected = &fixtures.expected;
    let top = params
        .limit
        .unwrap_or(tributary_query::named::top_users::DEFAULT_LIMIT)
        .min(expected.stream.top_users.len());
    let rows = |q: NamedQuery| {
        let ctx = &ctx;
        let params = &params;
        async move { query_json(ctx, &q.sql(params)).await }
    };
    compare_rows(
        "daily-orders",
        &rows(NamedQuery::DailyOrders).await?,
        &expected.stream.daily_orders,
    )
    .map_err(anyhow::Error::msg)?;
    compare_rows(
        "top-users",
        &rows(NamedQuery::TopUsers).await?,
        &expected.stream.top_users[..top],
    )
    .map_err(anyhow::Error::msg)?;
    compare_rows("funnel", &rows(NamedQuery::Funnel).await?, &expected.funnel)
        .map_err(anyhow::Error::msg)?;
    println!(
        "All three answers equal the generator's expected values ({} events, {} change records, {} days).",
        expected.counts.events,
        expected.counts.stream_records,
        expected.stream.daily_orders.len()
    );
    println!(
        "Try: tributary sql --warehouse {} -c \"SELECT eventType, COUNT(*) FROM events GROUP BY 1\"",
        warehouse.display()
    );
    Ok(())
}

/// Runs `sql` and returns its rows as JSON objects.
async fn query_json(
    ctx: &tributary_query::SessionContext,
    sql: &str,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let batches = tributary_query::sql::run_statements(ctx, sql)
        .await?
        .pop()
        .unwrap_or_default();
    let mut out = Vec::new();
    tributary_query::output::write(&batches, OutputFormat::Json, &mut out)?;
    Ok(serde_json::from_slice(&out)?)
}
