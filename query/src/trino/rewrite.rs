//! Trino's reading of SQL text, applied to the parsed statement before DataFusion plans it:
//!
//! | SQL | Trino | DataFusion alone |
//! |---|---|---|
//! | `SELECT a + 1, count(*)` | columns `_col0`, `_col1` | names from the expression text, and an error when two look alike |
//! | `1.5e3` | `double` | with decimal literals on: a decimal of negative scale |
//! | `TIMESTAMP '2026-01-01 10:00:00.25'` | `timestamp(2)`: the literal's digits set its precision | `timestamp(9)` |
//! | `JSON '[1, 2]'` | the JSON value | a string |
//! | `DECIMAL '1.20'` | `decimal(3,2)`: the literal's digits set precision and scale | `decimal(38,10)` |
//! | `x AT TIME ZONE 'Europe/Paris'` | keeps `x`'s precision | `timestamp(9)` |
//! | `items[1].price` | the field of an element | not supported (a field after a subscript) |
//! | `try(x)` | NULL where `x` fails | see [`Try`]: division by zero and failed casts |
//! | `typeof('cat')` | `varchar(3)`: a string literal's type has its length | `varchar` |
//! | `count_if(x)` | rows where `x` is true | `count(CASE WHEN x THEN 1 END)` |
//! | `max_by(x, y)`, `min_by(x, y)` | `x` of the row with the largest (smallest) `y` | `first_value(x ORDER BY y DESC/ASC NULLS LAST)` |
//! | `arbitrary(x)`, `any_value(x)` | some non-null `x` of the group | `max(x)` |
//! | `every(x)` | all true | `bool_and(x)` |
//! | `variance(x)` | sample variance | `var_samp(x)` |
//! | `mod`, `truncate`, `ceiling`, `is_nan`, `nan()`, `infinity()`, `e()`, `levenshtein_distance`, `codepoint` | Trino's names | `%`, `trunc`, `ceil`, `isnan`, casts, `exp(1)`, `levenshtein`, `ascii` |
//! | `replace(s, x)` | removes `x` | `replace(s, x, '')` |
//! | `current_timezone()` | the session's zone: UTC on Athena | `'UTC'` |
//! | `all_match(a, x -> p)`, `none_match(a, x -> p)` | three-valued, like `any_match` | `NOT any_match(a, x -> NOT (p))`, `NOT any_match(a, x -> p)` |
//! | `arrays_overlap(a, b)` | a common element | `array_has_any(a, b)` |
//! | `bitwise_and`, `bitwise_or`, `bitwise_xor`, `bitwise_not` | on `bigint`s | `&`, `\|`, `^` on casts to `bigint`; `-1 - x` |
//! | `from_unixtime(t, zone)` | the instant in `zone` | `at_timezone(from_unixtime(t), zone)` |
//! | `regexp_position(s, p)` | 1-based position of the first match, -1 for none | `regexp_instr`, 0 made -1 |
//! | `width_bucket(x, low, high, n)` | the bucket of `x` among `n` equal ones, 0 below, `n + 1` above | arithmetic |
//! | `geometric_mean(x)`, `max(x, n)`, `min(x, n)` | aggregates | `exp(avg(ln(x)))`, `slice(array_sort(array_agg(x), 'DESC'), 1, n)` |
//! | `map_filter(m, (k, v) -> p)`, `transform_keys`, `transform_values` | map lambdas | the lambda over `map_entries(m)`, `k` and `v` as the entry's key and value, the map rebuilt with `map(keys, values)` |
//! | `zip_with(a, b, (x, y) -> f)` | `f` over the pairs, the shorter array padded with NULL | `transform(zip(a, b), p -> f)`, `x` and `y` as the pair's fields |
//! | `ROW(a, b)`, `(a, b)` | a row with anonymous fields, shown as `field0`, `field1` | `named_struct('field0', a, 'field1', b)` (DataFusion's `struct` names them `c0`, `c1`, and takes only identifiers and literals in `(a, b)`) |
//! | `IF(c, a[, b])` | `a` where `c` is true, else `b` (or NULL); only that branch is evaluated | `CASE WHEN c THEN a ELSE b END` |
//! | `listagg(x, sep) WITHIN GROUP (ORDER BY y)` | joined strings | `string_agg(x, sep ORDER BY y)` |
//! | `FROM r CROSS JOIN UNNEST(r.a) AS t(x)` | each row with its own elements | see [`super::lateral_unnest`] |
//! | `UNNEST(a) WITH ORDINALITY AS t(x, n)` | each element with its 1-based position | `UNNEST(a, generate_series(1, cardinality(a)))` |
//!
//! Arrow strings carry no length bound, so `typeof` of a string literal is the one place the
//! bound shows; it is answered here.
//!
//! Trino: <https://trino.io/docs/current/language/types.html#timestamp-p>,
//! <https://trino.io/docs/current/language/types.html#double>,
//! <https://trino.io/docs/current/functions/datetime.html#time-zone-conversion>.

use std::ops::ControlFlow;

use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{
    AccessExpr, BinaryOperator, CastKind, DataType, ExactNumberInfo, Expr, FunctionArg,
    FunctionArgExpr, FunctionArguments, Ident, OneOrManyWithParens, Query, SelectItem, SetExpr,
    Subscript, TableFactor, Value, VisitMut, VisitorMut,
};
use datafusion::sql::sqlparser::parser::Parser;

use super::dialect::TrinoDialect;

/// Rewrites `statement` in place to Trino's reading. A rewrite that does not parse back (the
/// rewrites are written as SQL text) is an error naming the expression, never a panic: the
/// statement is the user's.
pub fn statement(statement: &mut DFStatement) -> Result<(), RewriteError> {
    match statement {
        DFStatement::Statement(s) => match s.visit(&mut Trino) {
            ControlFlow::Break(e) => Err(e),
            ControlFlow::Continue(()) => Ok(()),
        },
        DFStatement::Explain(explain) => self::statement(&mut explain.statement),
        _ => Ok(()),
    }
}

/// A Trino expression that has no DataFusion rewrite (for example `count_if(t.*)`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read {expression} as Trino does: {reason}")]
pub struct RewriteError {
    expression: String,
    reason: String,
}

struct Trino;

impl VisitorMut for Trino {
    type Break = RewriteError;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<RewriteError> {
        super::lateral_unnest::rewrite(query);
        name_columns(&mut query.body);
        ControlFlow::Continue(())
    }

    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<RewriteError> {
        if let TableFactor::UNNEST {
            array_exprs,
            with_ordinality,
            ..
        } = factor
            && *with_ordinality
            && !array_exprs.is_empty()
        {
            let longest = array_exprs
                .iter()
                .map(|a| format!("cardinality({a})"))
                .collect::<Vec<_>>();
            let longest = if longest.len() == 1 {
                longest[0].clone()
            } else {
                format!("greatest({})", longest.join(", "))
            };
            let series = format!("generate_series(1, {longest})");
            let shown = array_exprs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let original = format!("UNNEST({shown}) WITH ORDINALITY");
            array_exprs.push(parse_expr(&series, &original)?);
            *with_ordinality = false;
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<RewriteError> {
        if let Some(respelled) = respelled(expr) {
            *expr = respelled?;
            return ControlFlow::Continue(());
        }
        match expr {
            Expr::Tuple(values) if !values.is_empty() => {
                let values: Vec<String> = values.iter().map(ToString::to_string).collect();
                *expr = parse_expr(&anonymous_row(&values), expr)?;
            }
            Expr::Value(v) => {
                if let Value::Number(text, _) = &v.value
                    && text.contains(['e', 'E'])
                {
                    *expr = Expr::Cast {
                        kind: CastKind::Cast,
                        expr: Box::new(Expr::Value(Value::SingleQuotedString(text.clone()).into())),
                        data_type: DataType::Double(ExactNumberInfo::None),
                        array: false,
                        format: None,
                    };
                }
            }
            Expr::TypedString(typed) => match (&mut typed.data_type, &typed.value.value) {
                (DataType::Timestamp(precision @ None, _), Value::SingleQuotedString(text)) => {
                    *precision = Some(fraction_digits(text));
                }
                // a JSON literal is the JSON its text holds, unlike `CAST('…' AS json)`, a JSON string
                (DataType::JSON, Value::SingleQuotedString(text)) => {
                    let text = text.replace('\'', "''");
                    *expr = parse_expr(&format!("json_parse('{text}')"), expr)?;
                }
                (
                    DataType::Decimal(info @ ExactNumberInfo::None),
                    Value::SingleQuotedString(text),
                ) => {
                    if let Some((precision, scale)) = decimal_digits(text) {
                        *info = ExactNumberInfo::PrecisionAndScale(precision, scale);
                    }
                }
                _ => {}
            },
            Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("typeof") => {
                if let FunctionArguments::List(list) = &f.args
                    && let [FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v)))] =
                        list.args.as_slice()
                    && let Value::SingleQuotedString(text) = &v.value
                {
                    let name = format!("varchar({})", text.chars().count());
                    *expr = Expr::Value(Value::SingleQuotedString(name).into());
                }
            }
            // `items[1].price`: a field after a subscript, which DataFusion takes as a string
            Expr::CompoundFieldAccess { access_chain, .. } => {
                for access in access_chain.iter_mut() {
                    if let AccessExpr::Dot(Expr::Identifier(field)) = access {
                        let name = if field.quote_style.is_some() {
                            field.value.clone()
                        } else {
                            field.value.to_ascii_lowercase()
                        };
                        *access =
                            AccessExpr::Dot(Expr::Value(Value::SingleQuotedString(name).into()));
                    }
                }
            }
            Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("try") => {
                if let FunctionArguments::List(list) = &f.args
                    && let [FunctionArg::Unnamed(FunctionArgExpr::Expr(inner))] =
                        list.args.as_slice()
                {
                    let mut inner = inner.clone();
                    if let ControlFlow::Break(e) = inner.visit(&mut Try) {
                        return ControlFlow::Break(e);
                    }
                    *expr = Expr::Nested(Box::new(inner));
                }
            }
            // a keyword in Trino, a column name to the generic dialect
            Expr::Identifier(ident)
                if ident.quote_style.is_none()
                    && ident.value.eq_ignore_ascii_case("localtimestamp") =>
            {
                *expr = parse_expr("localtimestamp()", expr)?;
            }
            Expr::AtTimeZone {
                timestamp,
                time_zone,
            } => {
                let text = format!("at_timezone({timestamp}, {time_zone})");
                *expr = parse_expr(&text, expr)?;
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// Inside `try(…)`: the errors Trino's `try` turns into NULL, made NULL where they arise —
/// division and remainder by zero (the divisor becomes `NULLIF(divisor, 0)`) and casts that
/// fail (`TRY_CAST`).
struct Try;

impl VisitorMut for Try {
    type Break = RewriteError;

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<RewriteError> {
        match expr {
            Expr::BinaryOp {
                op: BinaryOperator::Divide | BinaryOperator::Modulo,
                right,
                ..
            } => {
                let text = format!("NULLIF({right}, 0)");
                **right = parse_expr(&text, &**right)?;
            }
            Expr::Cast { kind, .. }
                if *kind == CastKind::Cast || *kind == CastKind::DoubleColon =>
            {
                *kind = CastKind::TryCast
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// Names each unnamed computed column `_col<position>`, as Trino does; plain column references
/// keep their names.
fn name_columns(body: &mut SetExpr) {
    match body {
        SetExpr::Select(select) => {
            for (position, item) in select.projection.iter_mut().enumerate() {
                if let SelectItem::UnnamedExpr(expr) = item
                    && !matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
                {
                    *item = SelectItem::ExprWithAlias {
                        expr: expr.clone(),
                        alias: Ident::new(format!("_col{position}")),
                    };
                }
            }
        }
        SetExpr::SetOperation { left, right, .. } => {
            name_columns(left);
            name_columns(right);
        }
        SetExpr::Query(query) => name_columns(&mut query.body),
        _ => {}
    }
}

/// Trino's functions and aggregates that DataFusion spells differently, rewritten; None for
/// any other expression.
fn respelled(expr: &Expr) -> Option<ControlFlow<RewriteError, Expr>> {
    let Expr::Function(f) = expr else { return None };
    let args: Vec<String> = match &f.args {
        FunctionArguments::List(list) => list.args.iter().map(ToString::to_string).collect(),
        FunctionArguments::None => Vec::new(),
        FunctionArguments::Subquery(_) => return None,
    };
    // `x -> NOT (p)` for the lambda `x -> p`
    let negated = |position: usize| match &f.args {
        FunctionArguments::List(list) => match list.args.get(position) {
            Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Lambda(l)))) => {
                Some(format!("{} -> NOT ({})", l.params, l.body))
            }
            _ => None,
        },
        _ => None,
    };
    // the body of the lambda `(a, b) -> body` at `position`, with `a` and `b` replaced by
    // `fields` (the key and value of a map entry `__entry`, the fields of a zipped pair)
    let lambda_over = |position: usize, fields: [Expr; 2]| match &f.args {
        FunctionArguments::List(list) => match list.args.get(position) {
            Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Lambda(l)))) => {
                let params: Vec<String> = match &l.params {
                    OneOrManyWithParens::One(p) => vec![p.name.value.clone()],
                    OneOrManyWithParens::Many(ps) => {
                        ps.iter().map(|p| p.name.value.clone()).collect()
                    }
                };
                let [a, b] = <[String; 2]>::try_from(params).ok()?;
                let mut body = (*l.body).clone();
                let [x, y] = fields;
                let _ = body.visit(&mut Substitute(vec![(a, x), (b, y)]));
                Some(body.to_string())
            }
            _ => None,
        },
        _ => None,
    };
    let over_entry = |position: usize| {
        lambda_over(
            position,
            [field_of("__entry", "key"), field_of("__entry", "value")],
        )
    };
    // an aggregate inside an expression cannot take the call's OVER or FILTER
    let plain = f.over.is_none() && f.filter.is_none();
    let name = f.name.to_string().to_ascii_lowercase();
    let text = match (name.as_str(), args.as_slice()) {
        ("count_if", [x]) => format!("count(CASE WHEN {x} THEN 1 END)"),
        ("max_by", [x, y]) => format!("first_value({x} ORDER BY {y} DESC NULLS LAST)"),
        ("min_by", [x, y]) => format!("first_value({x} ORDER BY {y} ASC NULLS LAST)"),
        ("arbitrary" | "any_value", [x]) => format!("max({x})"),
        ("every", [x]) => format!("bool_and({x})"),
        ("variance", [x]) => format!("var_samp({x})"),
        ("geometric_mean", [x]) if plain => format!("exp(avg(ln(CAST({x} AS double))))"),
        ("max", [x, n]) if plain => format!(
            "slice(array_sort(array_agg({x}) FILTER (WHERE {x} IS NOT NULL), 'DESC'), 1, {n})"
        ),
        ("min", [x, n]) if plain => format!(
            "slice(array_sort(array_agg({x}) FILTER (WHERE {x} IS NOT NULL), 'ASC'), 1, {n})"
        ),
        // functions
        ("mod", [a, b]) => format!("({a} % {b})"),
        ("truncate", [x]) => format!("trunc({x})"),
        ("ceiling", [x]) => format!("ceil({x})"),
        ("is_nan", [x]) => format!("isnan({x})"),
        ("nan", []) => "CAST('NaN' AS double)".to_string(),
        ("infinity", []) => "CAST('Infinity' AS double)".to_string(),
        ("e", []) => "exp(CAST(1 AS double))".to_string(),
        ("levenshtein_distance", [a, b]) => format!("levenshtein({a}, {b})"),
        ("replace", [s, x]) => format!("replace({s}, {x}, '')"),
        ("codepoint", [x]) => format!("ascii({x})"),
        ("current_timezone", []) => "'UTC'".to_string(),
        ("all_match", [a, _]) => format!("NOT any_match({a}, {})", negated(1)?),
        ("none_match", [a, p]) => format!("NOT any_match({a}, {p})"),
        ("arrays_overlap", [a, b]) => format!("array_has_any({a}, {b})"),
        ("bitwise_and", [a, b]) => format!("(CAST({a} AS bigint) & CAST({b} AS bigint))"),
        ("bitwise_or", [a, b]) => format!("(CAST({a} AS bigint) | CAST({b} AS bigint))"),
        ("bitwise_xor", [a, b]) => format!("(CAST({a} AS bigint) ^ CAST({b} AS bigint))"),
        // two's complement: NOT x is -1 - x, which cannot overflow
        ("bitwise_not", [x]) => format!("(-1 - CAST({x} AS bigint))"),
        ("zip_with", [a, b, _]) => format!(
            "transform(zip({a}, {b}), __pair -> {})",
            lambda_over(
                2,
                [field_of("__pair", "field0"), field_of("__pair", "field1")]
            )?
        ),
        ("row", values) if !values.is_empty() => anonymous_row(values),
        ("from_unixtime", [t, zone]) => format!("at_timezone(from_unixtime({t}), {zone})"),
        ("regexp_position", [s, pattern]) => format!(
            "CASE regexp_instr({s}, {pattern}) WHEN 0 THEN -1 ELSE regexp_instr({s}, {pattern}) END"
        ),
        ("width_bucket", [x, low, high, n]) => format!(
            "CASE WHEN CAST({x} AS double) < {low} THEN 0 WHEN CAST({x} AS double) >= {high} THEN {n} + 1 \
             ELSE CAST(floor((CAST({x} AS double) - {low}) * {n} / ({high} - {low})) AS bigint) + 1 END"
        ),
        ("map_filter", [m, _]) => {
            let kept = format!("filter(map_entries({m}), __entry -> {})", over_entry(1)?);
            format!(
                "map(transform({kept}, __entry -> __entry['key']), transform({kept}, __entry -> __entry['value']))"
            )
        }
        ("transform_values", [m, _]) => {
            format!(
                "map(map_keys({m}), transform(map_entries({m}), __entry -> {}))",
                over_entry(1)?
            )
        }
        ("transform_keys", [m, _]) => {
            format!(
                "map(transform(map_entries({m}), __entry -> {}), map_values({m}))",
                over_entry(1)?
            )
        }
        // not an aggregate, but spelled differently too: Trino's `IF` evaluates only the branch taken
        ("if", [condition, then]) => format!("CASE WHEN {condition} THEN {then} END"),
        ("if", [condition, then, otherwise]) => {
            format!("CASE WHEN {condition} THEN {then} ELSE {otherwise} END")
        }
        ("listagg", [x, separator]) => {
            let order: Vec<String> = f.within_group.iter().map(ToString::to_string).collect();
            let order = if order.is_empty() {
                String::new()
            } else {
                format!(" ORDER BY {}", order.join(", "))
            };
            format!("string_agg({x}, {separator}{order})")
        }
        _ => return None,
    };
    let mut rewritten = match parse_expr(&text, expr) {
        ControlFlow::Continue(rewritten) => rewritten,
        ControlFlow::Break(e) => return Some(ControlFlow::Break(e)),
    };
    if let Expr::Function(new) = &mut rewritten {
        new.over = f.over.clone();
        new.filter = f.filter.clone();
    }
    Some(ControlFlow::Continue(rewritten))
}

/// Replaces each named identifier by an expression (lambda parameters by what they stand for).
/// `ROW(a, b)` or `(a, b)`: a row whose fields have no names, which Trino's clients call
/// `field0`, `field1`, … (see [`super::types::anonymous_field`]).
fn anonymous_row(values: &[String]) -> String {
    let fields: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("'{}', {v}", super::types::anonymous_field(i)))
        .collect();
    format!("named_struct({})", fields.join(", "))
}

/// `variable['field']`, built as an expression (the lambdas' stand-ins).
fn field_of(variable: &str, field: &str) -> Expr {
    Expr::CompoundFieldAccess {
        root: Box::new(Expr::Identifier(Ident::new(variable))),
        access_chain: vec![AccessExpr::Subscript(Subscript::Index {
            index: Expr::Value(Value::SingleQuotedString(field.to_string()).into()),
        })],
    }
}

struct Substitute(Vec<(String, Expr)>);

impl VisitorMut for Substitute {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::Identifier(ident) = expr
            && let Some((_, replacement)) = self
                .0
                .iter()
                .find(|(name, _)| ident.value.eq_ignore_ascii_case(name))
        {
            *expr = replacement.clone();
        }
        ControlFlow::Continue(())
    }
}

/// `text`, the rewrite of `original`, parsed back into an expression.
fn parse_expr(text: &str, original: &dyn std::fmt::Display) -> ControlFlow<RewriteError, Expr> {
    match Parser::new(&TrinoDialect)
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
    {
        Ok(expr) => ControlFlow::Continue(expr),
        Err(e) => ControlFlow::Break(RewriteError {
            expression: original.to_string(),
            reason: format!("its rewrite {text} is not valid SQL ({e})"),
        }),
    }
}

/// The precision and scale of a decimal literal's text (`DECIMAL '1.20'` is `decimal(3,2)`,
/// `DECIMAL '0.5'` `decimal(1,1)`); None when it is not a plain decimal number.
fn decimal_digits(text: &str) -> Option<(u64, i64)> {
    let digits = text.trim().trim_start_matches(['+', '-']);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if !(whole
        .chars()
        .chain(fraction.chars())
        .all(|c| c.is_ascii_digit())
        && (whole.len() + fraction.len()) > 0)
    {
        return None;
    }
    let whole = whole.trim_start_matches('0').len() as u64;
    let scale = fraction.len() as u64;
    Some(((whole + scale).max(1), scale as i64))
}

/// The number of fraction-of-second digits in a timestamp literal (`… 10:00:00.25` → 2).
fn fraction_digits(text: &str) -> u64 {
    let time = text.split_once([' ', 'T']).map_or("", |(_, time)| time);
    match time.split_once('.') {
        Some((_, fraction)) => fraction.chars().take_while(char::is_ascii_digit).count() as u64,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use datafusion::sql::parser::DFParser;

    use super::*;

    fn rewritten(sql: &str) -> String {
        let mut statements = DFParser::parse_sql_with_dialect(sql, &TrinoDialect).unwrap();
        let mut s = statements.pop_front().unwrap();
        statement(&mut s).unwrap();
        s.to_string()
    }

    /// What has no rewrite is an error naming the expression, whatever the input.
    #[test]
    fn a_rewrite_that_does_not_parse_is_an_error_not_a_panic() {
        for sql in [
            "SELECT count_if(t.*) FROM t",
            "SELECT count_if(t.*) FILTER (WHERE t.a > 1) FROM t",
            "SELECT 1 + count_if(t.*) AS n FROM t",
        ] {
            let mut statements = DFParser::parse_sql_with_dialect(sql, &TrinoDialect).unwrap();
            let mut s = statements.pop_front().unwrap();
            let e = statement(&mut s).expect_err(sql);
            assert!(e.to_string().contains("t.*"), "{sql}: {e}");
        }
    }

    #[test]
    fn reads_sql_as_trino_does() {
        assert_eq!(
            rewritten("SELECT a, t.b, a + 1, count(*) FROM t"),
            "SELECT a, t.b, a + 1 AS _col2, count(*) AS _col3 FROM t"
        );
        assert_eq!(
            rewritten("SELECT 1.5e3"),
            "SELECT CAST('1.5e3' AS DOUBLE) AS _col0"
        );
        assert_eq!(
            rewritten("SELECT TIMESTAMP '2026-01-01 10:00:00.25' AS t"),
            "SELECT TIMESTAMP(2) '2026-01-01 10:00:00.25' AS t"
        );
        assert_eq!(
            rewritten("SELECT TIMESTAMP '2026-01-01 10:00:00' AS t"),
            "SELECT TIMESTAMP(0) '2026-01-01 10:00:00' AS t"
        );
        assert_eq!(
            rewritten("SELECT typeof('cat') AS t"),
            "SELECT 'varchar(3)' AS t"
        );
        assert_eq!(
            rewritten("SELECT try(a / b + CAST(c AS int)) AS t FROM u"),
            "SELECT (a / NULLIF(b, 0) + TRY_CAST(c AS INT)) AS t FROM u"
        );
        assert_eq!(
            rewritten("SELECT items[1].Price AS p FROM t"),
            "SELECT items[1].'price' AS p FROM t"
        );
        assert_eq!(
            rewritten(
                "SELECT count_if(a > 1) AS c, max_by(a, b) AS m, listagg(a, ',') WITHIN GROUP (ORDER BY b) AS l FROM t"
            ),
            "SELECT count(CASE WHEN a > 1 THEN 1 END) AS c, first_value(a ORDER BY b DESC NULLS LAST) AS m, string_agg(a, ',' ORDER BY b) AS l FROM t"
        );
        assert_eq!(
            rewritten("SELECT x, n FROM UNNEST(ARRAY['a', 'b']) WITH ORDINALITY AS t(x, n)"),
            "SELECT x, n FROM UNNEST(ARRAY['a', 'b'], generate_series(1, cardinality(ARRAY['a', 'b']))) AS t (x, n)"
        );
        assert_eq!(
            rewritten("SELECT x AT TIME ZONE 'UTC' AS t FROM u"),
            "SELECT at_timezone(x, 'UTC') AS t FROM u"
        );
        assert_eq!(
            rewritten("SELECT a + 1 FROM t UNION ALL SELECT (SELECT max(b) FROM u)"),
            "SELECT a + 1 AS _col0 FROM t UNION ALL SELECT (SELECT max(b) AS _col0 FROM u) AS _col0"
        );
    }
}
