//! `daily-orders`: per UTC day of order creation, the orders created that day (whatever
//! happened to them later, deleted ones included) and the revenue of those whose current state
//! is neither CANCELLED nor deleted (their current `total_amount`).
//!
//! It reads `orders`, the current-state table (one row per order, partitioned by creation day),
//! so its cost follows the number of orders in the range, not the length of their history.

use super::{Params, REVENUE_CONDITION};

pub fn sql(params: &Params) -> String {
    format!(
        "SELECT CAST(created_at AS DATE) AS order_date,
       COUNT(*) AS orders,
       CAST(COALESCE(SUM(CASE WHEN {REVENUE_CONDITION} THEN total_amount END), 0) AS DECIMAL(38, 2)) AS revenue
FROM orders
WHERE {range}
GROUP BY CAST(created_at AS DATE)
ORDER BY order_date{limit}",
        range = params.partition_filter(),
        limit = params.limit_clause(None),
    )
}
