//! Trino's spelling of the nested types in `CAST` and `TRY_CAST`: `array(T)`, `map(K, V)` and
//! `row(name T, …)`, which the generic SQL dialect only knows as `ARRAY<T>`, `MAP(K, V)`
//! (nowhere in a cast) and `STRUCT<name T>`.
//!
//! ```sql
//! SELECT CAST(ARRAY[1, 2] AS array(varchar));                                  -- [1, 2]
//! SELECT CAST(json_extract(payload, '$.tags') AS array(varchar)) FROM t;       -- see super::json_cast
//! SELECT CAST(json_parse('{"a": 1}') AS map(varchar, integer));                -- {a=1}
//! SELECT CAST(ROW(1, 'x') AS row(id bigint, name varchar)).name;               -- x
//! ```
//! Each is read into sqlparser's own type (an angle-bracket array, a map, a parenthesised
//! struct), so the rest of the pipeline sees ordinary types; [`super::types`] turns them into
//! Arrow types. A row field without a name (`row(integer, varchar)`) is named `field0`, `field1`, …
//! Trino: <https://trino.io/docs/current/language/types.html#structural>.

use datafusion::sql::sqlparser::ast::{
    ArrayElemTypeDef, CastKind, DataType, Expr, Ident, StructBracketKind, StructField,
};
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::Token;

/// `CAST(x AS type)` or `TRY_CAST(x AS type)` when the parser is at one; None otherwise (the
/// parser then reads the expression as usual).
pub fn cast(parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
    let kind = match &parser.peek_token_ref().token {
        Token::Word(w) if w.keyword == Keyword::CAST => CastKind::Cast,
        Token::Word(w) if w.keyword == Keyword::TRY_CAST => CastKind::TryCast,
        _ => return None,
    };
    if parser.peek_nth_token_ref(1).token != Token::LParen {
        return None;
    }
    parser.next_token();
    Some(cast_arguments(parser, kind))
}

fn cast_arguments(parser: &mut Parser, kind: CastKind) -> Result<Expr, ParserError> {
    parser.expect_token(&Token::LParen)?;
    let expr = parser.parse_expr()?;
    parser.expect_keyword_is(Keyword::AS)?;
    let data_type = data_type(parser)?;
    parser.expect_token(&Token::RParen)?;
    Ok(Expr::Cast {
        kind,
        expr: Box::new(expr),
        data_type,
        array: false,
        format: None,
    })
}

/// A type, with Trino's nested spellings; any other type as the generic dialect reads it.
pub fn data_type(parser: &mut Parser) -> Result<DataType, ParserError> {
    let constructor = match (
        &parser.peek_token_ref().token,
        &parser.peek_nth_token_ref(1).token,
    ) {
        (Token::Word(w), Token::LParen) if w.quote_style.is_none() => w.value.to_ascii_lowercase(),
        _ => return parser.parse_data_type(),
    };
    let nested = match constructor.as_str() {
        "array" | "map" | "row" | "struct" => constructor,
        _ => return parser.parse_data_type(),
    };
    parser.next_token();
    parser.next_token();
    let parsed = match nested.as_str() {
        "array" => DataType::Array(ArrayElemTypeDef::AngleBracket(Box::new(data_type(parser)?))),
        "map" => {
            let key = data_type(parser)?;
            parser.expect_token(&Token::Comma)?;
            DataType::Map(Box::new(key), Box::new(data_type(parser)?))
        }
        _ => {
            let mut fields = Vec::new();
            loop {
                let named = matches!(&parser.peek_token_ref().token, Token::Word(_))
                    && matches!(&parser.peek_nth_token_ref(1).token, Token::Word(_));
                let field_name = if named {
                    Some(parser.parse_identifier()?)
                } else {
                    Some(Ident::new(format!("field{}", fields.len())))
                };
                fields.push(StructField {
                    field_name,
                    field_type: data_type(parser)?,
                    options: None,
                });
                if !parser.consume_token(&Token::Comma) {
                    break;
                }
            }
            DataType::Struct(fields, StructBracketKind::Parentheses)
        }
    };
    parser.expect_token(&Token::RParen)?;
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use datafusion::sql::sqlparser::parser::Parser;

    use super::super::dialect::TrinoDialect;

    fn parsed(sql: &str) -> String {
        Parser::parse_sql(&TrinoDialect, sql).unwrap_or_else(|e| panic!("{sql}: {e}"))[0]
            .to_string()
    }

    #[test]
    fn reads_trinos_nested_types() {
        assert_eq!(
            parsed("SELECT CAST(a AS array(integer))"),
            "SELECT CAST(a AS ARRAY<INTEGER>)"
        );
        assert_eq!(
            parsed("SELECT TRY_CAST(a AS map(varchar, array(bigint)))"),
            "SELECT TRY_CAST(a AS Map(VARCHAR, ARRAY<BIGINT>))"
        );
        assert_eq!(
            parsed("SELECT CAST(a AS row(Id bigint, \"Name\" varchar))"),
            "SELECT CAST(a AS STRUCT(Id BIGINT, \"Name\" VARCHAR))"
        );
        assert_eq!(
            parsed("SELECT CAST(a AS ROW(integer, decimal(10, 2)))"),
            "SELECT CAST(a AS STRUCT(field0 INTEGER, field1 DECIMAL(10,2)))"
        );
        assert_eq!(
            parsed("SELECT CAST(a AS ARRAY<INT>), CAST(b AS decimal(5, 1))"),
            "SELECT CAST(a AS ARRAY<INT>), CAST(b AS DECIMAL(5,1))"
        );
        // what the rewrites print reads back the same
        let printed = parsed("SELECT CAST(a AS map(varchar, row(x integer)))");
        assert_eq!(parsed(&printed), printed);
    }
}
