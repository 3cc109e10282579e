//! What we hand to Athena parses as Athena SQL, checked with an independent parser (sqlglot,
//! dialect `athena`): the DDL of `tributary ddl` and the named queries' `--print-sql`.

use crate::helpers::*;

const PARSE: &str = r#"
import json, sys, sqlglot
from sqlglot import exp
out = []
for text in sys.argv[1:]:
    for statement in sqlglot.parse(text, read="athena", error_level=sqlglot.ErrorLevel.RAISE):
        if statement is None:
            continue
        kind = type(statement).__name__
        columns = [c.name for c in statement.find_all(exp.ColumnDef)] if kind == "Create" else []
        out.append({"kind": kind, "columns": columns, "sql": statement.sql(dialect="athena")[:60]})
print(json.dumps(out))
"#;

#[test]
fn ddl_and_named_queries_parse_as_athena_sql() {
    let ddl = tributary_ok(&["ddl", "--warehouse", "s3://lake/shop", "--database", "analytics"]);
    let parsed = python_json(PARSE, &[&ddl]);
    let statements = parsed.as_array().unwrap();
    // the database, three tables, two views
    assert_eq!(statements.len(), 6, "{parsed:#}");
    assert!(statements.iter().all(|s| s["kind"] == "Create"), "{parsed:#}");
    let events = &statements[1]["columns"];
    for column in ["eventtype", "userid", "timestamp", "properties", "year", "month", "day"] {
        assert!(events.as_array().unwrap().iter().any(|c| c == column), "events lacks {column}: {events}");
    }
    for name in ["daily-orders", "top-users", "funnel"] {
        let sql = tributary_ok(&["query", name, "--print-sql", "--from", "2026-01-01", "--to", "2026-01-31"]);
        let parsed = python_json(PARSE, &[&sql]);
        assert_eq!(parsed.as_array().unwrap().len(), 1, "{name}: {parsed:#}");
        assert_eq!(parsed[0]["kind"], "Select", "{name}: {parsed:#}");
    }
}
