//! The latest-state views over the CDC logs, for warehouses whose current-state tables do not
//! exist yet (nothing written to the change table) and for Athena over the Hive layout. Views
//! rather than materialized tables there: they are always consistent with the log, cost no
//! extra writes, and the same SQL runs on Athena.
//!
//! The latest change of a key is the one with the greatest `change_time`, ties broken by the
//! stream `sequence_number` (zero-padded text, so text order is numeric order). Export
//! snapshots have no sequence number and sort before stream changes of the same instant.

use tributary_table::state::StateTable;

/// The view of `state`: one row per key of its change table, its latest state; `deleted`
/// when the last change was a REMOVE. The change table is named on a line of its own
/// (`FROM <table>` then a newline), so a caller can qualify it with a database.
pub fn sql(state: StateTable) -> String {
    let quoted = |c: &str| format!("\"{c}\"");
    let entity: Vec<String> = state.entity_columns().iter().map(|c| quoted(c)).collect();
    let key: Vec<String> = state.key().iter().map(|c| quoted(c)).collect();
    format!(
        "SELECT {},\n       operation = 'REMOVE' AS deleted, change_time AS last_change_time, year, month, day\n\
         FROM (\n  SELECT *, row_number() OVER (PARTITION BY {} ORDER BY change_time DESC, sequence_number DESC NULLS LAST) AS rn\n  \
         FROM {}\n) latest\nWHERE rn = 1",
        entity.join(", "),
        key.join(", "),
        state.changes().name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_names_the_entity_the_key_and_its_change_table() {
        let orders = sql(StateTable::builtin("orders"));
        assert!(
            orders.starts_with(
                "SELECT \"order_id\", \"user_id\", \"status\", \"total_amount\", \"currency\", \
                 \"created_at\", \"updated_at\", \"items\", \"extra_attributes\",\n"
            ),
            "{orders}"
        );
        assert!(
            orders.contains("PARTITION BY \"order_id\" ORDER BY change_time DESC"),
            "{orders}"
        );
        assert!(orders.contains("FROM order_changes\n"), "{orders}");
        let users = sql(StateTable::builtin("users"));
        assert!(users.contains("FROM user_changes\n"), "{users}");
        assert!(!users.contains("order_id"), "{users}");
    }
}
