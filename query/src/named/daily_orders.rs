//! `daily-orders`: per UTC day of order creation, the orders created that day (whatever
//! happened to them later) and the revenue of those whose latest state is neither CANCELLED
//! nor deleted (their latest `total_amount`).

use super::{Params, REVENUE_CONDITION, latest_orders};

pub fn sql(params: &Params) -> String {
    format!(
        "WITH {latest}
SELECT CAST(created_at AS DATE) AS order_date,
       COUNT(*) AS orders,
       CAST(COALESCE(SUM(CASE WHEN {REVENUE_CONDITION} THEN total_amount END), 0) AS DECIMAL(38, 2)) AS revenue
FROM latest
WHERE rn = 1
GROUP BY CAST(created_at AS DATE)
ORDER BY order_date{limit}",
        latest = latest_orders(params),
        limit = params.limit_clause(None),
    )
}
