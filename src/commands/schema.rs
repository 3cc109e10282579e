//! `tributary schema check FILE` and `tributary schema show`.

use tributary_table::schema::{Schema, SourceKind};

use crate::cli::SchemaCommand;

pub fn run(command: SchemaCommand) -> anyhow::Result<()> {
    match command {
        SchemaCommand::Show => {
            print!("{}", tributary_table::schema::BUILTIN_TEXT);
            Ok(())
        }
        SchemaCommand::Check { file } => match Schema::read(&file) {
            Ok(schema) => {
                println!("{}: ok", file.display());
                for table in schema.tables() {
                    let state = match (&table.state, table.source) {
                        (Some(state), _) => format!(
                            ", current state in `{}` by ({})",
                            state.name,
                            state.key.join(", ")
                        ),
                        (None, SourceKind::Dynamodb) => ", no current-state table".into(),
                        (None, SourceKind::Json) => String::new(),
                    };
                    println!(
                        "  {} ({} records, {} columns, partitioned by the day of `{}`{state})",
                        table.name,
                        table.source.name(),
                        table.arrow_schema().fields().len(),
                        table.time,
                    );
                }
                Ok(())
            }
            Err(errors) => {
                let n = errors.0.len();
                anyhow::bail!(
                    "{errors}\n{n} mistake{} in {}",
                    if n == 1 { "" } else { "s" },
                    file.display()
                )
            }
        },
    }
}
