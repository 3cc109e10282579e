//! `funnel`: per UTC event day, the users who viewed a product page (`PAGE_VIEW` of a page under
//! `/products/`), how many of those also added to cart that day, and how many of those also
//! purchased that day, with the step rates (rounded to 4 places; NULL when nobody reached the
//! step before).

use super::{PARTITION_DAY, Params};

/// Users are grouped by the partition columns, and the day is spelled as a DATE once per day.
pub fn sql(params: &Params) -> String {
    format!(
        "WITH per_user AS (
  SELECT year, month, day,
         userId,
         MAX(CASE WHEN eventType = 'PAGE_VIEW' AND properties.page LIKE '/products/%' THEN 1 ELSE 0 END) AS viewed,
         MAX(CASE WHEN eventType = 'ADD_TO_CART' THEN 1 ELSE 0 END) AS carted,
         MAX(CASE WHEN eventType = 'PURCHASE' THEN 1 ELSE 0 END) AS purchased
  FROM events
  WHERE {filter}
  GROUP BY 1, 2, 3, 4
)
SELECT CAST({PARTITION_DAY} AS DATE) AS day,
       SUM(viewed) AS viewers,
       SUM(viewed * carted) AS carters,
       SUM(viewed * carted * purchased) AS purchasers,
       ROUND(CAST(SUM(viewed * carted) AS DOUBLE) / NULLIF(SUM(viewed), 0), 4) AS view_to_cart_rate,
       ROUND(CAST(SUM(viewed * carted * purchased) AS DOUBLE) / NULLIF(SUM(viewed * carted), 0), 4) AS cart_to_purchase_rate
FROM per_user
GROUP BY year, month, day
ORDER BY year, month, day{limit}",
        filter = params.partition_filter(),
        limit = params.limit_clause(None),
    )
}
