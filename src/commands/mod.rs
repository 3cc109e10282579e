//! One function per subcommand.

mod backfill;
mod ddl;
mod demo;
mod fixtures;
mod maintenance;
mod query;
mod run;
mod schema;
mod sql;

use std::path::PathBuf;

use crate::cli::Command;

/// Runs `command` with the tables of the schema file `schema` (`--schema`, `TRIBUTARY_SCHEMA`;
/// none: the built-in shop schema).
pub async fn run(command: Command, schema: Option<PathBuf>) -> anyhow::Result<()> {
    // `run` reads its schema with its settings (the config file may name one); `schema`
    // commands take the file as they print it; `demo` and `fixtures` are the shop's
    let tables = || schema::load(schema.as_deref());
    match command {
        Command::Backfill(args) => backfill::run(args, tables()?).await,
        Command::Run(args) => run::run(*args, schema).await,
        Command::Query(args) => query::run(args, tables()?).await,
        Command::Sql(args) => sql::run(args, tables()?).await,
        Command::Ddl(args) => ddl::run(args, tables()?),
        Command::Demo(args) => demo::run(args).await,
        Command::Fixtures(args) => fixtures::run(args),
        Command::Schema(command) => schema::run(command, schema.as_deref()),
        Command::Compact(args) => maintenance::compact(args, tables()?).await,
        Command::Vacuum(args) => maintenance::vacuum(args, tables()?).await,
    }
}
