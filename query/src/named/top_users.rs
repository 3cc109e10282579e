//! `top-users`: the users with the highest revenue (the current `total_amount` of their orders
//! that are neither CANCELLED nor deleted), ties by `user_id` ascending; default 10. It reads
//! `orders`, the current-state table.

use super::{Params, REVENUE_CONDITION};

pub const DEFAULT_LIMIT: usize = 10;

pub fn sql(params: &Params) -> String {
    format!(
        "SELECT user_id,
       COUNT(*) AS orders,
       CAST(SUM(total_amount) AS DECIMAL(38, 2)) AS revenue
FROM orders
WHERE {range} AND {REVENUE_CONDITION}
GROUP BY user_id
ORDER BY SUM(total_amount) DESC, user_id ASC{limit}",
        range = params.partition_filter(),
        limit = params.limit_clause(Some(DEFAULT_LIMIT)),
    )
}
