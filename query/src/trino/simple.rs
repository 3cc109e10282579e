//! The shape most Trino functions share: a name, a signature, a return type computed from the
//! argument types, and a kernel over whole arrays (constant arguments arrive as arrays of the
//! batch's length, and a call on constants gives a constant).

use std::hash::{Hash, Hasher};

use datafusion::arrow::array::{ArrayRef, AsArray, StringArray};
use datafusion::arrow::compute::cast;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};

/// The return type of a call with these argument types.
pub type ReturnType = fn(&[DataType]) -> Result<DataType>;
/// The result for these argument arrays (all of one length), of the given return type.
pub type Kernel = fn(&[ArrayRef], &DataType) -> Result<ArrayRef>;

#[derive(Debug)]
pub struct Simple {
    name: &'static str,
    aliases: Vec<String>,
    signature: Signature,
    return_type: ReturnType,
    kernel: Kernel,
    /// The result is JSON text (Trino's `json` type, see [`super::types::json_field`]).
    json: bool,
}

impl Simple {
    pub fn udf(
        name: &'static str,
        signature: Signature,
        return_type: ReturnType,
        kernel: Kernel,
    ) -> ScalarUDF {
        ScalarUDF::from(Simple {
            name,
            aliases: Vec::new(),
            signature,
            return_type,
            kernel,
            json: false,
        })
    }

    pub fn udf_with_aliases(
        name: &'static str,
        aliases: &[&str],
        signature: Signature,
        return_type: ReturnType,
        kernel: Kernel,
    ) -> ScalarUDF {
        let aliases = aliases.iter().map(|a| a.to_string()).collect();
        ScalarUDF::from(Simple {
            name,
            aliases,
            signature,
            return_type,
            kernel,
            json: false,
        })
    }
}

/// A function whose result is Trino's `json` (`json_parse`, `json_extract`).
pub fn json_udf(
    name: &'static str,
    signature: Signature,
    return_type: ReturnType,
    kernel: Kernel,
) -> ScalarUDF {
    ScalarUDF::from(Simple {
        name,
        aliases: Vec::new(),
        signature,
        return_type,
        kernel,
        json: true,
    })
}

impl PartialEq for Simple {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.signature == other.signature
    }
}

impl Eq for Simple {}

impl Hash for Simple {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.signature.hash(state);
    }
}

impl ScalarUDFImpl for Simple {
    fn name(&self) -> &str {
        self.name
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        (self.return_type)(args)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let field = Field::new(self.name, (self.return_type)(&types)?, true);
        Ok(Arc::new(if self.json {
            super::types::json_field(field)
        } else {
            field
        }))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let constant = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let result = (self.kernel)(&arrays, args.return_field.data_type())?;
        Ok(if constant && !arrays.is_empty() {
            ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?)
        } else {
            ColumnarValue::Array(result)
        })
    }
}

/// A plan error naming the function.
pub fn plan_error(
    function: &str,
    message: impl std::fmt::Display,
) -> datafusion::error::DataFusionError {
    datafusion::error::DataFusionError::Plan(format!("{function}(): {message}"))
}

/// An execution error naming the function (bad input data, as Trino reports it).
pub fn data_error(
    function: &str,
    message: impl std::fmt::Display,
) -> datafusion::error::DataFusionError {
    datafusion::error::DataFusionError::Execution(format!("{function}(): {message}"))
}

/// A string argument's values (any of the string layouts, or NULL) as one `StringArray`; its
/// `iter()` gives `Option<&str>` without copying a row.
pub fn utf8(array: &ArrayRef) -> Result<StringArray> {
    Ok(cast(array, &DataType::Utf8)?.as_string::<i32>().clone())
}

/// Is `t` a string type (or NULL)?
pub fn is_string(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    )
}

/// The return type of a function over text: its first argument is a string, the others strings
/// or integers (patterns, paths, groups, limits).
pub fn string_args(function: &str, args: &[DataType], result: DataType) -> Result<DataType> {
    let first_is_text = args.first().is_some_and(is_string);
    if first_is_text && args[1..].iter().all(|t| is_string(t) || t.is_integer()) {
        Ok(result)
    } else {
        Err(plan_error(
            function,
            format!(
                "takes text, not {}",
                args.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }
}

/// The string argument that must be the same on every row (a format, a path, a pattern, a
/// unit); None when it is NULL.
pub fn constant_string(function: &str, what: &str, array: &ArrayRef) -> Result<Option<String>> {
    let values = utf8(array)?;
    let first = values.iter().next().flatten();
    if values.iter().any(|v| v != first) {
        return Err(data_error(
            function,
            format!("the {what} must be the same for every row"),
        ));
    }
    Ok(first.map(str::to_string))
}

/// Each string parsed by `parse`; NULL stays NULL, and the first text that does not parse is
/// the error.
pub fn parse_each<T>(
    array: &ArrayRef,
    parse: impl Fn(&str) -> Result<T>,
) -> Result<Vec<Option<T>>> {
    utf8(array)?
        .iter()
        .map(|s| s.map(&parse).transpose())
        .collect()
}
