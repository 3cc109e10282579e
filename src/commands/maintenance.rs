//! `tributary compact` and `tributary vacuum`: upkeep of the Delta tables.

use std::num::NonZeroU64;

use anyhow::{Context, bail};
use tributary_table::maintenance::{self, RetentionCheck};
use tributary_table::schema::Schema;
use tributary_table::{Warehouse, WarehouseTable};

use crate::cli::{CompactArgs, VacuumArgs};

/// The tables a command covers: one by name, or all.
fn tables(schema: &'static Schema, name: Option<&str>) -> anyhow::Result<Vec<WarehouseTable>> {
    match name {
        None => Ok(WarehouseTable::all(schema)),
        Some(name) => match WarehouseTable::from_name(schema, name) {
            Some(table) => Ok(vec![table]),
            None => bail!(
                "unknown table {name:?} (expected one of {})",
                schema.names()
            ),
        },
    }
}

pub async fn compact(args: CompactArgs, schema: &'static Schema) -> anyhow::Result<()> {
    let warehouse = Warehouse::open(&args.warehouse).await?.with_schema(schema);
    warehouse.verify_conditional_writes().await?;
    let target = NonZeroU64::new(args.target_file_bytes as u64)
        .context("--target-file-bytes must be more than 0")?;
    let mut compacted = 0;
    for table in tables(schema, args.table.as_deref())? {
        let writer = tributary_transform::parquet::writer_properties(args.codec);
        match maintenance::compact(&warehouse, table, target, writer).await? {
            Some(r) => {
                compacted += 1;
                println!(
                    "{}: {} files rewritten as {} in {} partitions",
                    r.table, r.files_removed, r.files_added, r.partitions
                );
            }
            None => println!("{}: not a Delta table, left as it is", table.name()),
        }
    }
    if compacted == 0 {
        bail!(
            "{} has no Delta tables to compact (backfill or run writes them)",
            args.warehouse
        );
    }
    Ok(())
}

pub async fn vacuum(args: VacuumArgs, schema: &'static Schema) -> anyhow::Result<()> {
    let warehouse = Warehouse::open(&args.warehouse).await?.with_schema(schema);
    if !args.dry_run {
        warehouse.verify_conditional_writes().await?;
    }
    let check = if args.allow_short_retention {
        RetentionCheck::Skip
    } else {
        RetentionCheck::Enforce
    };
    let mut vacuumed = 0;
    for table in tables(schema, args.table.as_deref())? {
        match maintenance::vacuum(&warehouse, table, args.retain, check, args.dry_run).await? {
            Some(r) => {
                vacuumed += 1;
                let verb = if r.dry_run { "would delete" } else { "deleted" };
                println!("{}: {verb} {} files", r.table, r.files_deleted.len());
                if r.dry_run {
                    for file in &r.files_deleted {
                        println!("  {file}");
                    }
                }
            }
            None => println!("{}: not a Delta table, left as it is", table.name()),
        }
    }
    if vacuumed == 0 {
        bail!("{} has no Delta tables to vacuum", args.warehouse);
    }
    Ok(())
}
