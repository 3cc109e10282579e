//! `tributary schema check FILE` and `tributary schema show`, and the schema every other
//! command reads (`--schema FILE`).

use std::path::Path;

use tributary_table::schema::{Schema, SchemaErrors, SourceKind};

use crate::cli::SchemaCommand;

/// The schema of `--schema FILE` (every mistake in the message), or the built-in one.
pub fn load(file: Option<&Path>) -> anyhow::Result<&'static Schema> {
    match file {
        None => Ok(Schema::builtin()),
        Some(file) => Schema::read(file)
            .map(Schema::leak)
            .map_err(|errors| mistakes(errors, file)),
    }
}

fn mistakes(errors: SchemaErrors, file: &Path) -> anyhow::Error {
    let n = errors.0.len();
    anyhow::anyhow!(
        "{errors}\n{n} mistake{} in the schema file {}",
        if n == 1 { "" } else { "s" },
        file.display()
    )
}

pub fn run(command: SchemaCommand, schema: Option<&Path>) -> anyhow::Result<()> {
    match command {
        // `--schema FILE schema show` prints that file, as the other commands would read it
        SchemaCommand::Show => match schema {
            None => {
                print!("{}", tributary_table::schema::BUILTIN_TEXT);
                Ok(())
            }
            Some(file) => {
                load(Some(file))?;
                print!("{}", std::fs::read_to_string(file)?);
                Ok(())
            }
        },
        SchemaCommand::Check { file } => {
            let schema = Schema::read(&file).map_err(|errors| mistakes(errors, &file))?;
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
    }
}
