//! The latest-state views over the CDC logs. Views rather than materialized tables: they are
//! always consistent with the log, cost no extra writes, and the same SQL runs on Athena.
//!
//! The latest change of an item is the one with the greatest `change_time`, ties broken by the
//! stream `sequence_number` (zero-padded text, so text order is numeric order). Export
//! snapshots have no sequence number and sort before stream changes of the same instant.

/// `orders`: one row per order, its latest state; `deleted` when the last change was a REMOVE.
pub const ORDERS: &str = "\
SELECT order_id, user_id, status, total_amount, currency, created_at, updated_at, items, extra_attributes,
       operation = 'REMOVE' AS deleted, change_time AS last_change_time, year, month, day
FROM (
  SELECT *, row_number() OVER (PARTITION BY order_id ORDER BY change_time DESC, sequence_number DESC NULLS LAST) AS rn
  FROM order_changes
) latest
WHERE rn = 1";

/// `users`: one row per user, the latest profile; `deleted` when the last change was a REMOVE.
pub const USERS: &str = "\
SELECT user_id, email, name, country, created_at, updated_at, extra_attributes,
       operation = 'REMOVE' AS deleted, change_time AS last_change_time, year, month, day
FROM (
  SELECT *, row_number() OVER (PARTITION BY user_id ORDER BY change_time DESC, sequence_number DESC NULLS LAST) AS rn
  FROM user_changes
) latest
WHERE rn = 1";

pub const ALL: [(&str, &str); 2] = [("orders", ORDERS), ("users", USERS)];
