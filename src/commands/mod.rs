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

use crate::cli::Command;

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Backfill(args) => backfill::run(args).await,
        Command::Run(args) => run::run(*args).await,
        Command::Query(args) => query::run(args).await,
        Command::Sql(args) => sql::run(args).await,
        Command::Ddl(args) => ddl::run(args),
        Command::Demo(args) => demo::run(args).await,
        Command::Fixtures(args) => fixtures::run(args),
        Command::Schema(command) => schema::run(command),
        Command::Compact(args) => maintenance::compact(args).await,
        Command::Vacuum(args) => maintenance::vacuum(args).await,
    }
}
