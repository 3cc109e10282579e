//! Trino (Athena engine 3) semantics on DataFusion: SQL written for Athena runs unchanged and
//! gives Trino's answer. Where DataFusion and Trino differ, Trino wins.
//!
//! How SQL is read (each file documents its Trino rule with examples):
//! - [`dialect`]: the generic dialect plus lambdas (`x -> x + 1`) and, through [`type_syntax`],
//!   Trino's nested types in casts (`array(T)`, `map(K, V)`, `row(a T)`).
//! - [`rewrite`]: on the parsed statement: `_colN` column names, `1.5e3` as `double`, timestamp
//!   literal precision, `AT TIME ZONE`, `typeof('cat')`, aggregates Trino spells differently
//!   (`count_if`, `max_by`/`min_by`, `arbitrary`, `every`, `listagg`), `IF`, `try`, `UNNEST … WITH ORDINALITY`.
//! - [`types`]: Trino's type names (`timestamp` is `timestamp(3)`, `json`).
//! - [`literals`]: integer literals are `integer` when they fit (an analyzer rule); [`casts`]:
//!   casts to integers round, as Trino's do, and casts from JSON to arrays, maps and rows
//!   read the JSON ([`json_cast`]),
//!   casts between rows go by position ([`row_cast`]); [`operand_types`]: text and numbers
//!   are not compared or added (`'a' = 1` is a planning error, as in Trino).
//! - [`decimal`]: decimal literals (`100.0` is `decimal(4,1)`) and Trino's `*`, `/`, `%` on
//!   decimals; [`round`] keeps Trino's decimal result types.
//!
//! Functions (one file each, or one file per family sharing a rule):
//!
//! | file | functions |
//! |---|---|
//! | [`date`], [`from_unixtime`], [`to_unixtime`], [`time_zone`] | `date`, `from_unixtime` (UTC `timestamp(3) with time zone`), `to_unixtime` (`double`), `at_timezone`, `with_timezone` |
//! | [`now`] | `current_timestamp`/`now()` (`timestamp(3) with time zone`), `localtimestamp` |
//! | [`date_add`], [`date_diff`], [`date_trunc`] | calendar arithmetic by unit name |
//! | [`date_format`], [`format_datetime`], [`iso8601`] | MySQL specifiers, Joda patterns, ISO 8601 text |
//! | [`fields`] | `year` … `millisecond`, `day_of_week`/`dow`, `week`, `timezone_hour`/`timezone_minute`, `last_day_of_month` |
//! | [`json`], [`regexp`], [`url`], [`split`] | `json_extract[_scalar]`, `json_parse`, `regexp_extract`, `regexp_replace` (all matches, `$1`), `url_extract_*`, `url_encode`/`url_decode`, `split` |
//! | [`arrays`] | `element_at`, `contains`, `slice`, `sequence`, `transform`, `filter`, `any_match` |
//! | [`zip`] | `zip` (and through [`rewrite`], `zip_with`) |
//! | [`maps`] | `map_from_entries`, `map_concat` |
//! | [`reduce`] | `reduce(array, initialState, (s, x) -> …, s -> …)` |
//! | [`decimal_aggregates`] | `avg` and `sum` of decimals with Trino's result types |
//! | [`map_aggregates`] | `histogram`, `map_agg` |
//! | [`moments`] | `skewness`, `kurtosis` |
//! | [`approx_percentile`] over [`tdigest`] | `approx_percentile` with Trino's t-digest (no interpolation between samples) |
//! | [`binary`] | `to_utf8`, `from_utf8`, `to_hex`, `from_hex`, `md5`, `sha1`, `sha256`, `sha512`, `crc32`, `xxhash64`, base64 |
//! | [`strings`] | `hamming_distance`, `split_to_map` |
//! | [`math`] | `sign` (keeps its type), `from_base`, `to_base` |
//! | [`format`] | `format` (Java's `String.format`) |
//! | [`type_of`] | `typeof` with Trino's type names |
//!
//! [`simple`] and [`time`] hold what the functions share. Reference:
//! <https://trino.io/docs/current/functions.html>; `tests/conformance/*.toml` checks the
//! answers against Trino's documentation.

pub mod approx_percentile;
pub mod arrays;
pub mod binary;
pub mod casts;
pub mod date;
pub mod date_add;
pub mod date_diff;
pub mod date_format;
pub mod date_trunc;
pub mod decimal;
pub mod decimal_aggregates;
pub mod dialect;
pub mod fields;
pub mod format;
pub mod format_datetime;
pub mod from_unixtime;
pub mod iso8601;
pub mod json;
pub mod json_cast;
pub mod lateral_unnest;
pub mod literals;
pub mod map_aggregates;
pub mod maps;
pub mod math;
pub mod moments;
pub mod now;
pub mod operand_types;
pub mod reduce;
pub mod regexp;
pub mod rewrite;
pub mod round;
pub mod row_cast;
pub mod simple;
pub mod split;
pub mod strings;
pub mod tdigest;
pub mod time;
pub mod time_zone;
pub mod to_unixtime;
pub mod type_of;
pub mod type_syntax;
pub mod types;
pub mod url;
pub mod zip;

use std::sync::Arc;

use datafusion::execution::SessionStateBuilder;
use datafusion::optimizer::Analyzer;
use datafusion::prelude::{SessionConfig, SessionContext};

/// A session that reads SQL as Trino does: decimal literals (`1.5` is a `decimal(2,1)`),
/// Trino's type names ([`types`]), integer literals ([`literals`]) and decimal arithmetic
/// ([`decimal`]), and the Trino functions. Statements are parsed with [`dialect`] and
/// rewritten by [`rewrite`] (see [`crate::sql::parse`]).
pub fn context(config: SessionConfig) -> SessionContext {
    let config = config.set_bool("datafusion.sql_parser.parse_float_as_decimal", true);
    let mut analyzer_rules = Analyzer::new().rules;
    // before type coercion, which then sees Trino's literal types
    analyzer_rules.insert(0, Arc::new(literals::IntegerLiterals));
    // before type coercion too, which would cast text compared with numbers
    analyzer_rules.insert(1, Arc::new(operand_types::StrictOperands));
    // after type coercion, which fixes the operand types
    analyzer_rules.push(Arc::new(casts::TrinoCasts));
    let mut state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .with_type_planner(Arc::new(types::TrinoTypes))
        .with_analyzer_rules(analyzer_rules)
        .build();
    use datafusion::execution::FunctionRegistry;
    state
        .register_expr_planner(Arc::new(decimal::DecimalPlanner))
        .expect("a session takes expression planners");
    state
        .register_function_rewrite(Arc::new(arrays::ArrayRewrites))
        .expect("a session takes function rewrites");
    state
        .register_function_rewrite(Arc::new(round::RoundRewrite))
        .expect("a session takes function rewrites");
    let ctx = SessionContext::new_with_state(state);
    register(&ctx);
    ctx
}

/// Registers every Trino function in `ctx`.
pub fn register(ctx: &SessionContext) {
    let single = [
        time_zone::at_timezone(),
        time_zone::with_timezone(),
        date::udf(),
        from_unixtime::udf(),
        to_unixtime::udf(),
        type_of::udf(),
        date_add::udf(),
        date_diff::udf(),
        date_trunc::udf(),
        date_format::date_format(),
        date_format::date_parse(),
        format_datetime::format_datetime(),
        format_datetime::parse_datetime(),
        split::udf(),
        json_cast::udf(),
        now::now(),
        now::localtimestamp(),
        json_cast::to_json_udf(),
        row_cast::udf(),
        format::udf(),
        zip::udf(),
    ];
    let families = [
        binary::all(),
        fields::all(),
        iso8601::all(),
        json::all(),
        maps::all(),
        math::all(),
        regexp::all(),
        strings::all(),
        url::all(),
    ];
    for udf in single.into_iter().chain(families.into_iter().flatten()) {
        ctx.register_udf(udf);
    }
    arrays::register(ctx);
    ctx.register_udaf(map_aggregates::histogram());
    ctx.register_udaf(map_aggregates::map_agg());
    ctx.register_udaf(approx_percentile::udaf());
    ctx.register_udaf(decimal_aggregates::avg());
    ctx.register_udaf(decimal_aggregates::sum());
    ctx.register_udaf(moments::skewness());
    ctx.register_udaf(moments::kurtosis());
    ctx.register_higher_order_function(Arc::new(reduce::function()));
}

#[cfg(test)]
pub(crate) mod tests {
    use datafusion::arrow::util::display::array_value_to_string;
    use datafusion::prelude::{SessionConfig, SessionContext};

    /// A Trino session without tables.
    pub fn context() -> SessionContext {
        super::context(SessionConfig::new())
    }

    /// Runs `sql` (one row, one column) as Trino reads it and renders the value (Arrow's
    /// rendering).
    pub async fn value(sql: &str) -> String {
        let batches = crate::sql::run_statements(&context(), sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        array_value_to_string(batches[0][0].column(0), 0).unwrap()
    }

    /// The error `sql` gives.
    pub async fn error(sql: &str) -> String {
        match crate::sql::run_statements(&context(), sql).await {
            Ok(_) => panic!("{sql} succeeded"),
            Err(e) => e.to_string(),
        }
    }

    /// The Arrow type of `sql`'s one column.
    pub async fn data_type(sql: &str) -> String {
        let batches = crate::sql::run_statements(&context(), sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        batches[0][0].schema().field(0).data_type().to_string()
    }
}
