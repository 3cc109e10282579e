//! The named analytics queries: one file each, with the Athena SQL and what it answers.
//! The SQL is written in the dialect Athena (Trino) and DataFusion share, so `--print-sql`
//! shows exactly what runs here and what Athena would run.

pub mod daily_orders;
pub mod funnel;
pub mod top_users;

use std::str::FromStr;

use chrono::NaiveDate;

/// The named queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedQuery {
    DailyOrders,
    TopUsers,
    Funnel,
}

impl NamedQuery {
    pub const ALL: [NamedQuery; 3] = [
        NamedQuery::DailyOrders,
        NamedQuery::TopUsers,
        NamedQuery::Funnel,
    ];

    pub fn name(self) -> &'static str {
        match self {
            NamedQuery::DailyOrders => "daily-orders",
            NamedQuery::TopUsers => "top-users",
            NamedQuery::Funnel => "funnel",
        }
    }

    /// The tables the query reads (the session loads only these).
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            NamedQuery::DailyOrders | NamedQuery::TopUsers => &["orders"],
            NamedQuery::Funnel => &["events"],
        }
    }

    /// The SQL for these parameters.
    pub fn sql(self, params: &Params) -> String {
        match self {
            NamedQuery::DailyOrders => daily_orders::sql(params),
            NamedQuery::TopUsers => top_users::sql(params),
            NamedQuery::Funnel => funnel::sql(params),
        }
    }
}

impl FromStr for NamedQuery {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|q| q.name() == s)
            .ok_or_else(|| {
                format!("unknown query {s:?} (expected daily-orders, top-users or funnel)")
            })
    }
}

/// Parameters of a named query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    /// First UTC day included.
    pub from: Option<NaiveDate>,
    /// Last UTC day included.
    pub to: Option<NaiveDate>,
    /// At most this many rows (top-users: default 10).
    pub limit: Option<usize>,
}

impl Params {
    /// A predicate on the `year/month/day` partition columns (so only those partitions are
    /// read), or `TRUE`.
    pub(crate) fn partition_filter(&self) -> String {
        let day = PARTITION_DAY;
        match (self.from, self.to) {
            (Some(f), Some(t)) => format!("{day} BETWEEN '{f}' AND '{t}'"),
            (Some(f), None) => format!("{day} >= '{f}'"),
            (None, Some(t)) => format!("{day} <= '{t}'"),
            (None, None) => "TRUE".into(),
        }
    }

    pub(crate) fn limit_clause(&self, default: Option<usize>) -> String {
        self.limit
            .or(default)
            .map(|n| format!("\nLIMIT {n}"))
            .unwrap_or_default()
    }
}

/// The partition's UTC day as `yyyy-mm-dd` text, whether the partition columns are zero-padded
/// strings (Hive directories) or `int`s (the Delta tables): text order is day order.
pub(crate) const PARTITION_DAY: &str = "CAST(year AS VARCHAR) || '-' || lpad(CAST(month AS VARCHAR), 2, '0') || '-' || lpad(CAST(day AS VARCHAR), 2, '0')";

/// Counts towards revenue: the order's current state (a row of `orders`) is neither cancelled
/// nor deleted.
pub(crate) const REVENUE_CONDITION: &str = "NOT deleted AND COALESCE(status, '') <> 'CANCELLED'";

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_table::schema::Schema;

    #[test]
    fn partition_filters_cover_both_ends() {
        let d = |s: &str| Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap());
        let p = Params {
            from: d("2026-01-01"),
            to: d("2026-01-31"),
            limit: None,
        };
        assert_eq!(
            p.partition_filter(),
            format!("{PARTITION_DAY} BETWEEN '2026-01-01' AND '2026-01-31'")
        );
        assert_eq!(Params::default().partition_filter(), "TRUE");
        assert_eq!(
            Params {
                limit: Some(3),
                ..Default::default()
            }
            .limit_clause(Some(10)),
            "\nLIMIT 3"
        );
        assert_eq!(Params::default().limit_clause(None), "");
        assert!("nope".parse::<NamedQuery>().is_err());
        assert_eq!("top-users".parse::<NamedQuery>(), Ok(NamedQuery::TopUsers));
    }

    /// Every query plans against the warehouse schema, with and without a range and a limit.
    #[tokio::test]
    async fn every_query_plans_for_every_parameter_shape() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = crate::open(dir.path().to_str().unwrap(), Schema::builtin())
            .await
            .unwrap();
        let d = |s: &str| Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap());
        for params in [
            Params::default(),
            Params {
                from: d("2026-01-01"),
                to: None,
                limit: Some(5),
            },
            Params {
                from: None,
                to: d("2026-01-31"),
                limit: None,
            },
            Params {
                from: d("2026-01-01"),
                to: d("2026-01-31"),
                limit: Some(1),
            },
        ] {
            for query in NamedQuery::ALL {
                let sql = query.sql(&params);
                let rows = crate::sql::run_statements(&ctx, &sql)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}\n{e}"));
                assert_eq!(
                    rows[0].iter().map(|b| b.num_rows()).sum::<usize>(),
                    0,
                    "an empty warehouse has no rows"
                );
            }
        }
    }
}
