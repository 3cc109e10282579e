//! `tributary ddl`: the Athena statements that make the warehouse queryable there.

use tributary_query::ddl::{DdlOptions, statements};
use tributary_table::schema::Schema;
use tributary_table::warehouse::Location;

use crate::cli::DdlArgs;

pub fn run(args: DdlArgs, schema: &'static Schema) -> anyhow::Result<()> {
    let database = tributary_query::database_name(&args.database)?;
    let location = match Location::parse(&args.warehouse)? {
        Location::S3 { bucket, prefix } if prefix.is_empty() => format!("s3://{bucket}/"),
        Location::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}/"),
        Location::Local(dir) => {
            let abs = std::path::absolute(&dir)?;
            format!(
                "file://{}/",
                abs.display().to_string().trim_end_matches('/')
            )
        }
    };
    let options = DdlOptions {
        location,
        database,
        years: args.years,
        layout: args.layout,
    };
    println!("CREATE DATABASE IF NOT EXISTS `{}`;\n", options.database);
    for statement in statements(schema, &options) {
        println!("{statement};\n");
    }
    Ok(())
}
