//! Column types, spelled as Athena (Hive) spells them in `CREATE EXTERNAL TABLE`:
//!
//! | Athena | Arrow (as the writers build it) |
//! |---|---|
//! | `string`, `varchar`, `varchar(n)`, `char(n)` | `Utf8` |
//! | `boolean` | `Boolean` |
//! | `tinyint`, `smallint`, `int`/`integer`, `bigint` | `Int8` … `Int64` |
//! | `float`/`real`, `double` | `Float32`, `Float64` |
//! | `decimal(p,s)` (`decimal(p)` is scale 0) | `Decimal128(p, s)`, p ≤ 38 |
//! | `date` | `Date32` |
//! | `timestamp` | `Timestamp(ms)`: Athena reads Parquet timestamps as `timestamp(3)` |
//! | `binary` | `Binary` |
//! | `array<T>`, `map<K,V>`, `struct<a:T,…>` | `List`, `Map`, `Struct` |
//!
//! Reference: <https://docs.aws.amazon.com/athena/latest/ug/data-types.html>.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Fields, TimeUnit};

/// The widest decimal Athena (and Arrow's `Decimal128`) holds.
pub const MAX_DECIMAL_PRECISION: u8 = 38;

/// A column's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    String,
    Boolean,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Float,
    Double,
    Decimal { precision: u8, scale: i8 },
    Date,
    Timestamp,
    Binary,
    Array(Box<ColumnType>),
    Map(Box<ColumnType>, Box<ColumnType>),
    Struct(Vec<StructField>),
}

/// One field of a `struct<…>`; its values come from the member of the same name (matched as
/// column names are, see [`crate::schema::ColumnDef`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructField {
    pub name: String,
    pub data_type: ColumnType,
}

/// Why a type string is not a type: the byte offset in the string and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for TypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

const NAMES: &[&str] = &[
    "string",
    "varchar",
    "char",
    "boolean",
    "tinyint",
    "smallint",
    "int",
    "integer",
    "bigint",
    "float",
    "real",
    "double",
    "decimal",
    "date",
    "timestamp",
    "binary",
    "array",
    "map",
    "struct",
];

/// Spellings of other systems that users write, and the Athena type they mean.
const NEAR_MISSES: &[(&str, &str)] = &[
    ("text", "string"),
    ("str", "string"),
    ("bool", "boolean"),
    ("long", "bigint"),
    ("int64", "bigint"),
    ("int32", "int"),
    ("number", "decimal(p,s) or double"),
    ("numeric", "decimal(p,s)"),
    ("float64", "double"),
    ("datetime", "timestamp"),
    ("timestamptz", "timestamp"),
    ("list", "array<T>"),
    ("object", "struct<…> or map<string,T>"),
    ("json", "string (JSON text)"),
    ("bytes", "binary"),
];

impl ColumnType {
    /// Parses an Athena type (`decimal(18,4)`, `array<struct<a:int,b:string>>`); case and
    /// spaces between tokens do not matter.
    pub fn parse(text: &str) -> Result<ColumnType, TypeError> {
        let mut parser = Parser { text, at: 0 };
        let parsed = parser.parse_type()?;
        parser.skip_spaces();
        if parser.at < text.len() {
            return Err(parser.error(format!(
                "unexpected {:?} after the type {parsed}",
                &text[parser.at..]
            )));
        }
        Ok(parsed)
    }

    /// The Arrow type the writers build for this column (timestamps in milliseconds, as the
    /// layout has them; see [`crate::delta::arrow_schema`] for the types of the data files).
    pub fn arrow(&self) -> DataType {
        match self {
            ColumnType::String => DataType::Utf8,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::TinyInt => DataType::Int8,
            ColumnType::SmallInt => DataType::Int16,
            ColumnType::Int => DataType::Int32,
            ColumnType::BigInt => DataType::Int64,
            ColumnType::Float => DataType::Float32,
            ColumnType::Double => DataType::Float64,
            ColumnType::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale),
            ColumnType::Date => DataType::Date32,
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, None),
            ColumnType::Binary => DataType::Binary,
            ColumnType::Array(item) => DataType::List(list_item_field(item)),
            ColumnType::Map(key, value) => DataType::Map(map_entries_field(key, value), false),
            ColumnType::Struct(fields) => DataType::Struct(struct_fields(fields)),
        }
    }

    /// Whether the type is (or contains) `array`, `map` or `struct`.
    pub fn is_nested(&self) -> bool {
        matches!(
            self,
            ColumnType::Array(_) | ColumnType::Map(..) | ColumnType::Struct(_)
        )
    }

    /// Whether values of this type are whole numbers.
    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            ColumnType::TinyInt | ColumnType::SmallInt | ColumnType::Int | ColumnType::BigInt
        )
    }
}

/// The element field of a list (`item`, nullable), as Arrow and Parquet name it.
pub fn list_item_field(item: &ColumnType) -> Arc<Field> {
    Arc::new(Field::new("item", item.arrow(), true))
}

/// The entries field of a map: non-null keys, nullable values.
pub fn map_entries_field(key: &ColumnType, value: &ColumnType) -> Arc<Field> {
    Arc::new(Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("key", key.arrow(), false),
            Field::new("value", value.arrow(), true),
        ])),
        false,
    ))
}

/// The Arrow fields of a struct: every field nullable.
pub fn struct_fields(fields: &[StructField]) -> Fields {
    fields
        .iter()
        .map(|f| Field::new(&f.name, f.data_type.arrow(), true))
        .collect()
}

impl fmt::Display for ColumnType {
    /// Athena's own spelling, which [`ColumnType::parse`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::String => f.write_str("string"),
            ColumnType::Boolean => f.write_str("boolean"),
            ColumnType::TinyInt => f.write_str("tinyint"),
            ColumnType::SmallInt => f.write_str("smallint"),
            ColumnType::Int => f.write_str("int"),
            ColumnType::BigInt => f.write_str("bigint"),
            ColumnType::Float => f.write_str("float"),
            ColumnType::Double => f.write_str("double"),
            ColumnType::Decimal { precision, scale } => write!(f, "decimal({precision},{scale})"),
            ColumnType::Date => f.write_str("date"),
            ColumnType::Timestamp => f.write_str("timestamp"),
            ColumnType::Binary => f.write_str("binary"),
            ColumnType::Array(item) => write!(f, "array<{item}>"),
            ColumnType::Map(key, value) => write!(f, "map<{key},{value}>"),
            ColumnType::Struct(fields) => {
                f.write_str("struct<")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}:{}", field.name, field.data_type)?;
                }
                f.write_str(">")
            }
        }
    }
}

/// A recursive-descent reader of one type string.
struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn error(&self, message: String) -> TypeError {
        TypeError {
            offset: self.at,
            message,
        }
    }

    fn skip_spaces(&mut self) {
        while self.text[self.at..].starts_with([' ', '\t', '\n', '\r']) {
            self.at += 1;
        }
    }

    fn word(&mut self) -> &str {
        self.skip_spaces();
        let start = self.at;
        let rest = &self.text[start..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        self.at += len;
        &self.text[start..start + len]
    }

    fn eat(&mut self, token: char) -> bool {
        self.skip_spaces();
        if self.text[self.at..].starts_with(token) {
            self.at += token.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: char, context: &str) -> Result<(), TypeError> {
        if self.eat(token) {
            return Ok(());
        }
        let found = self.text[self.at..].chars().next();
        Err(self.error(match found {
            Some(c) => format!("expected '{token}' {context}, found '{c}'"),
            None => format!("expected '{token}' {context}, found the end of the type"),
        }))
    }

    fn number(&mut self, what: &str) -> Result<u32, TypeError> {
        let start = self.at;
        let word = self.word().to_string();
        word.parse::<u32>().map_err(|_| TypeError {
            offset: start,
            message: format!("expected {what} (a whole number), found {word:?}"),
        })
    }

    fn parse_type(&mut self) -> Result<ColumnType, TypeError> {
        self.skip_spaces();
        let start = self.at;
        let name = self.word().to_ascii_lowercase();
        let unknown = |name: &str| {
            let hint = NEAR_MISSES
                .iter()
                .find(|(miss, _)| *miss == name)
                .map(|(_, meant)| format!(" (did you mean {meant}?)"))
                .unwrap_or_default();
            TypeError {
                offset: start,
                message: if name.is_empty() {
                    "expected a type".to_string()
                } else {
                    format!(
                        "unknown type `{name}`{hint}; the types are {}",
                        NAMES.join(", ")
                    )
                },
            }
        };
        Ok(match name.as_str() {
            "string" => ColumnType::String,
            "varchar" | "char" => {
                if self.eat('(') {
                    self.number("a length")?;
                    self.expect(')', "after the length")?;
                }
                ColumnType::String
            }
            "boolean" => ColumnType::Boolean,
            "tinyint" => ColumnType::TinyInt,
            "smallint" => ColumnType::SmallInt,
            "int" | "integer" => ColumnType::Int,
            "bigint" => ColumnType::BigInt,
            "float" | "real" => ColumnType::Float,
            "double" => ColumnType::Double,
            "date" => ColumnType::Date,
            "timestamp" => ColumnType::Timestamp,
            "binary" => ColumnType::Binary,
            "decimal" => {
                let (precision, scale) = if self.eat('(') {
                    let precision = self.number("the precision")?;
                    let scale = if self.eat(',') {
                        self.number("the scale")?
                    } else {
                        0
                    };
                    self.expect(')', "after decimal(p,s)")?;
                    (precision, scale)
                } else {
                    // Hive's default, which nobody means: say what to write instead
                    return Err(TypeError {
                        offset: start,
                        message: "decimal needs its precision and scale, as in decimal(18,4)"
                            .into(),
                    });
                };
                if precision == 0 || precision > u32::from(MAX_DECIMAL_PRECISION) {
                    return Err(TypeError {
                        offset: start,
                        message: format!(
                            "decimal({precision},{scale}): the precision must be 1 to {MAX_DECIMAL_PRECISION}"
                        ),
                    });
                }
                if scale > precision {
                    return Err(TypeError {
                        offset: start,
                        message: format!(
                            "decimal({precision},{scale}): the scale cannot exceed the precision"
                        ),
                    });
                }
                ColumnType::Decimal {
                    precision: precision as u8,
                    scale: scale as i8,
                }
            }
            "array" => {
                self.expect('<', "after array")?;
                let item = self.parse_type()?;
                self.expect('>', "to close array<…>")?;
                ColumnType::Array(Box::new(item))
            }
            "map" => {
                self.expect('<', "after map")?;
                let key_at = self.at;
                let key = self.parse_type()?;
                if key.is_nested() {
                    return Err(TypeError {
                        offset: key_at,
                        message: format!("a map's key must be a primitive type, not {key}"),
                    });
                }
                self.expect(',', "between a map's key and value types")?;
                let value = self.parse_type()?;
                self.expect('>', "to close map<…>")?;
                ColumnType::Map(Box::new(key), Box::new(value))
            }
            "struct" => {
                self.expect('<', "after struct")?;
                let mut fields: Vec<StructField> = Vec::new();
                loop {
                    self.skip_spaces();
                    let name_at = self.at;
                    let name = self.word().to_string();
                    if name.is_empty() {
                        return Err(self.error("expected a field name in struct<…>".into()));
                    }
                    if fields.iter().any(|f| f.name.eq_ignore_ascii_case(&name)) {
                        return Err(TypeError {
                            offset: name_at,
                            message: format!("struct field `{name}` appears twice"),
                        });
                    }
                    self.expect(':', "after a struct field's name")?;
                    let data_type = self.parse_type()?;
                    fields.push(StructField {
                        name: name.to_ascii_lowercase(),
                        data_type,
                    });
                    if !self.eat(',') {
                        break;
                    }
                }
                self.expect('>', "to close struct<…>")?;
                ColumnType::Struct(fields)
            }
            other => return Err(unknown(other)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_prints_athena_types() {
        for text in [
            "string",
            "bigint",
            "decimal(18,4)",
            "array<struct<product_id:string,quantity:bigint,price:decimal(18,4)>>",
            "map<string,array<int>>",
            "timestamp",
        ] {
            let parsed = ColumnType::parse(text).unwrap();
            assert_eq!(parsed.to_string(), text);
        }
        assert_eq!(
            ColumnType::parse(" Array < VARCHAR(20) > ").unwrap(),
            ColumnType::Array(Box::new(ColumnType::String))
        );
        assert_eq!(ColumnType::parse("integer").unwrap(), ColumnType::Int);
        assert_eq!(
            ColumnType::parse("struct<productId:string>").unwrap(),
            ColumnType::Struct(vec![StructField {
                name: "productid".into(),
                data_type: ColumnType::String
            }])
        );
    }

    #[test]
    fn says_what_is_wrong_and_where() {
        let cases = [
            ("long", 0, "unknown type `long` (did you mean bigint?)"),
            ("array<int", 9, "expected '>' to close array<…>"),
            ("decimal(40,2)", 0, "precision must be 1 to 38"),
            ("decimal(4,6)", 0, "scale cannot exceed"),
            ("decimal", 0, "decimal needs its precision and scale"),
            ("map<array<int>,int>", 4, "key must be a primitive"),
            ("struct<a:int,a:int>", 13, "appears twice"),
            ("struct<a int>", 9, "expected ':'"),
            ("int int", 4, "unexpected \"int\""),
            ("", 0, "expected a type"),
        ];
        for (text, offset, message) in cases {
            let err = ColumnType::parse(text).unwrap_err();
            assert!(err.message.contains(message), "{text}: {err:?}");
            assert_eq!(err.offset, offset, "{text}: {err:?}");
        }
    }

    #[test]
    fn arrow_types_follow_the_table() {
        assert_eq!(
            ColumnType::parse("timestamp").unwrap().arrow(),
            DataType::Timestamp(TimeUnit::Millisecond, None)
        );
        let DataType::List(item) = ColumnType::parse("array<int>").unwrap().arrow() else {
            panic!()
        };
        assert_eq!((item.name().as_str(), item.is_nullable()), ("item", true));
        let DataType::Map(entries, sorted) = ColumnType::parse("map<string,int>").unwrap().arrow()
        else {
            panic!()
        };
        assert!(!sorted);
        let DataType::Struct(kv) = entries.data_type() else {
            panic!()
        };
        assert!(!kv[0].is_nullable() && kv[1].is_nullable());
    }
}
