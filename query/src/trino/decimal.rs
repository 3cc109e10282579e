//! Trino's decimal arithmetic: `*`, `/` and `%` where an operand is a `decimal` and the other a
//! `decimal` or an integer.
//!
//! ```sql
//! SELECT 100.0 * 1 / 3;              -- 33.3            decimal(14,1)
//! SELECT ROUND(100.0 * 2 / 3, 2);    -- 66.7
//! SELECT 10.00 / 3.0;                -- 3.33            decimal(5,2)
//! SELECT 1.5 * 2.25;                 -- 3.375           decimal(5,3)
//! ```
//! With `p`, `s` the precision and scale of `a` and `b` (an `integer` counts as
//! `decimal(10,0)`, a `bigint` as `decimal(19,0)`):
//!
//! | operation | precision | scale |
//! |---|---|---|
//! | `a * b` | `min(38, pa + pb)` | `sa + sb` |
//! | `a / b` | `min(38, pa + sb + max(sb - sa, 0))` | `max(sa, sb)`, rounded half away from zero |
//! | `a % b` | `min(pb - sb, pa - sa) + max(sa, sb)` | `max(sa, sb)` |
//!
//! DataFusion's division keeps at least six fraction digits (`33.333333`), its product one
//! more digit of precision. Trino: <https://trino.io/docs/current/language/types.html#decimal>
//! and its `DecimalOperators`. Division by zero is an error, as in Trino.
//!
//! The SQL planner turns such operators into calls of these functions ([`DecimalPlanner`]);
//! addition and subtraction already follow Trino's rule in DataFusion.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DECIMAL128_MAX_PRECISION, DataType, Decimal128Type, i256};
use datafusion::arrow::error::ArrowError;
use datafusion::common::{DFSchema, ExprSchema, ScalarValue};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ExprSchemable, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::sql::sqlparser::ast::BinaryOperator;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Multiply,
    Divide,
    Modulo,
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DecimalArithmetic {
    op: Op,
    signature: Signature,
}

impl DecimalArithmetic {
    pub fn new(op: Op) -> Self {
        Self {
            op,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// The `decimal(p,s)` an exact operand takes part in decimal arithmetic as.
fn as_decimal(data_type: &DataType) -> Option<(u8, i8)> {
    match data_type {
        DataType::Decimal128(p, s) => Some((*p, *s)),
        DataType::Int8 | DataType::UInt8 => Some((3, 0)),
        DataType::Int16 | DataType::UInt16 => Some((5, 0)),
        DataType::Int32 | DataType::UInt32 => Some((10, 0)),
        DataType::Int64 => Some((19, 0)),
        DataType::UInt64 => Some((20, 0)),
        _ => None,
    }
}

impl Op {
    /// Trino's result type for operands `decimal(pa,sa)` and `decimal(pb,sb)`.
    fn result(self, (pa, sa): (u8, i8), (pb, sb): (u8, i8)) -> Result<(u8, i8)> {
        let (pa, sa, pb, sb) = (pa as i32, sa as i32, pb as i32, sb as i32);
        let (precision, scale) = match self {
            Op::Multiply => ((pa + pb).min(38), sa + sb),
            Op::Divide => ((pa + sb + (sb - sa).max(0)).min(38), sa.max(sb)),
            Op::Modulo => ((pb - sb).min(pa - sa) + sa.max(sb), sa.max(sb)),
        };
        if scale > DECIMAL128_MAX_PRECISION as i32 {
            return Err(DataFusionError::Plan(format!(
                "decimal scale {scale} is larger than the maximum 38"
            )));
        }
        Ok((precision.max(scale).max(1) as u8, scale as i8))
    }

    fn name(self) -> &'static str {
        match self {
            Op::Multiply => "trino_decimal_multiply",
            Op::Divide => "trino_decimal_divide",
            Op::Modulo => "trino_decimal_modulo",
        }
    }
}

fn pow10(n: i32) -> i256 {
    i256::from_i128(10).wrapping_pow(n as u32)
}

fn overflow() -> ArrowError {
    ArrowError::ComputeError("Decimal overflow".into())
}

impl ScalarUDFImpl for DecimalArithmetic {
    fn name(&self) -> &str {
        self.op.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        args.iter().map(operand_type).collect()
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let operand = |t: &DataType| as_decimal(t).unwrap_or((1, 0));
        let (p, s) = self.op.result(operand(&args[0]), operand(&args[1]))?;
        Ok(DataType::Decimal128(p, s))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalars = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let (a, b) = (
            cast(&arrays[0], &operand_type(arrays[0].data_type())?)?,
            cast(&arrays[1], &operand_type(arrays[1].data_type())?)?,
        );
        let (a, b) = (
            a.as_primitive::<Decimal128Type>(),
            b.as_primitive::<Decimal128Type>(),
        );
        let (sa, sb) = (a.scale() as i32, b.scale() as i32);
        let DataType::Decimal128(p, s) =
            self.return_type(&[a.data_type().clone(), b.data_type().clone()])?
        else {
            unreachable!("decimal results")
        };
        let s = s as i32;
        let limit = pow10(p as i32);
        let op = self.op;
        let result: Decimal128Array =
            datafusion::arrow::compute::kernels::arity::try_binary(a, b, |x, y| {
                let (x, y) = (i256::from_i128(x), i256::from_i128(y));
                let value = match op {
                    Op::Multiply => x.checked_mul(y).ok_or_else(overflow)?,
                    Op::Divide | Op::Modulo if y == i256::ZERO => {
                        return Err(ArrowError::DivideByZero);
                    }
                    // x / 10^sa ÷ y / 10^sb at scale s: x · 10^(s - sa + sb) / y, half away from zero
                    Op::Divide => {
                        let dividend = x.checked_mul(pow10(s - sa + sb)).ok_or_else(overflow)?;
                        let (quotient, remainder) = (dividend / y, dividend % y);
                        let doubled = remainder
                            .wrapping_abs()
                            .checked_mul(i256::from_i128(2))
                            .ok_or_else(overflow)?;
                        if doubled >= y.wrapping_abs() {
                            if (x < i256::ZERO) != (y < i256::ZERO) {
                                quotient - i256::ONE
                            } else {
                                quotient + i256::ONE
                            }
                        } else {
                            quotient
                        }
                    }
                    // both at scale s, then the remainder (sign of the dividend)
                    Op::Modulo => (x * pow10(s - sa)) % (y * pow10(s - sb)),
                };
                if value >= limit || value <= limit.wrapping_neg() {
                    return Err(overflow());
                }
                value.to_i128().ok_or_else(overflow)
            })?;
        let result = Arc::new(result.with_precision_and_scale(p, s as i8)?) as ArrayRef;
        Ok(if all_scalars {
            ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?)
        } else {
            ColumnarValue::Array(result)
        })
    }
}

/// The decimal type an operand takes part as (NULL as the narrowest decimal).
fn operand_type(t: &DataType) -> Result<DataType> {
    match as_decimal(t) {
        Some((p, s)) => Ok(DataType::Decimal128(p, s)),
        None if t == &DataType::Null => Ok(DataType::Decimal128(1, 0)),
        None => Err(DataFusionError::Plan(format!("decimal arithmetic on {t}"))),
    }
}

/// Plans `*`, `/` and `%` between a decimal and a decimal or integer as Trino's decimal
/// arithmetic.
#[derive(Debug, Default)]
pub struct DecimalPlanner;

impl ExprPlanner for DecimalPlanner {
    fn plan_binary_op(
        &self,
        expr: RawBinaryExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawBinaryExpr>> {
        let op = match expr.op {
            BinaryOperator::Multiply => Op::Multiply,
            BinaryOperator::Divide => Op::Divide,
            BinaryOperator::Modulo => Op::Modulo,
            _ => return Ok(PlannerResult::Original(expr)),
        };
        let (left, right) = (type_of(&expr.left, schema), type_of(&expr.right, schema));
        let decimal = |t: &Option<DataType>| matches!(t, Some(DataType::Decimal128(_, _)));
        let exact = |t: &Option<DataType>| t.as_ref().is_some_and(|t| as_decimal(t).is_some());
        if (decimal(&left) || decimal(&right)) && exact(&left) && exact(&right) {
            let udf = Arc::new(ScalarUDF::from(DecimalArithmetic::new(op)));
            return Ok(PlannerResult::Planned(Expr::ScalarFunction(
                datafusion::logical_expr::expr::ScalarFunction::new_udf(
                    udf,
                    vec![expr.left, expr.right],
                ),
            )));
        }
        Ok(PlannerResult::Original(expr))
    }
}

fn type_of(expr: &Expr, schema: &DFSchema) -> Option<DataType> {
    expr.get_type(schema as &dyn ExprSchema).ok()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{data_type, value};

    #[tokio::test]
    async fn follows_trinos_precision_and_scale() {
        assert_eq!(value("SELECT 100.0 * 1 / 3").await, "33.3");
        assert_eq!(data_type("SELECT 100.0 * 1 / 3").await, "Decimal128(14, 1)");
        assert_eq!(value("SELECT ROUND(100.0 * 2 / 3, 2)").await, "66.7");
        assert_eq!(value("SELECT 10.00 / 3.0").await, "3.33");
        assert_eq!(value("SELECT -2.0 / 3").await, "-0.7");
        assert_eq!(value("SELECT 1.5 * 2.25").await, "3.375");
        assert_eq!(data_type("SELECT 1.5 * 2.25").await, "Decimal128(5, 3)");
        assert_eq!(value("SELECT 7.5 % 2").await, "1.5");
        assert_eq!(
            value("SELECT 1.0 / 3e0").await,
            "0.3333333333333333",
            "a double operand makes it double arithmetic"
        );
    }

    #[tokio::test]
    async fn division_by_zero_is_an_error() {
        let ctx = super::super::tests::context();
        let err = crate::sql::run_statements(&ctx, "SELECT 1.0 / 0")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("Divide by zero"), "{err}");
    }
}
