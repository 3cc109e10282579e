//! `top-users`: the users with the highest revenue (latest `total_amount` of their orders whose
//! latest state is neither CANCELLED nor deleted), ties by `user_id` ascending; default 10.

use super::{Params, REVENUE_CONDITION, latest_orders};

pub const DEFAULT_LIMIT: usize = 10;

pub fn sql(params: &Params) -> String {
    format!(
        "WITH {latest}
SELECT user_id,
       COUNT(*) AS orders,
       CAST(SUM(total_amount) AS DECIMAL(38, 2)) AS revenue
FROM latest
WHERE rn = 1 AND {REVENUE_CONDITION}
GROUP BY user_id
ORDER BY SUM(total_amount) DESC, user_id ASC{limit}",
        latest = latest_orders(params),
        limit = params.limit_clause(Some(DEFAULT_LIMIT)),
    )
}
