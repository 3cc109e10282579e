//! URL functions: `url_extract_host`, `url_extract_path`, `url_extract_parameter`,
//! `url_extract_protocol`, `url_extract_port`, `url_extract_query`, `url_extract_fragment`.
//!
//! ```sql
//! SELECT url_extract_host('https://shop.example.com:8443/p/42?ref=mail&k=v#top');       -- shop.example.com
//! SELECT url_extract_path('https://shop.example.com:8443/p/42?ref=mail&k=v#top');       -- /p/42
//! SELECT url_extract_parameter('https://shop.example.com/p/42?ref=mail&k=v', 'ref');    -- mail
//! ```
//! Text that is not a URL gives NULL, as in Trino; a missing parameter gives NULL.
//! Trino: <https://trino.io/docs/current/functions/url.html>.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::error::Result;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};
use url::Url;

use super::simple::{Simple, string_args, utf8};

fn part(args: &[ArrayRef], get: fn(&Url) -> Option<String>) -> Result<ArrayRef> {
    let out: StringArray = utf8(&args[0])?
        .iter()
        .map(|s| get(&Url::parse(s?).ok()?))
        .collect();
    Ok(Arc::new(out))
}

fn parameter(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let names = utf8(&args[1])?;
    let out: StringArray = utf8(&args[0])?
        .iter()
        .zip(names.iter())
        .map(|(s, name)| {
            let (url, name) = (Url::parse(s?).ok()?, name?);
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    Ok(Arc::new(out))
}

/// The port written in `text`'s authority, if any.
fn written_port(text: &str) -> Option<i64> {
    let rest = &text[text.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = host_port.rsplit_once(':')?;
    (!host.is_empty() && (!host.starts_with('[') || host.ends_with(']'))).then_some(())?;
    port.parse().ok()
}

fn port(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let out: Int64Array = utf8(&args[0])?
        .iter()
        .map(|s| {
            let text = s?;
            let url = Url::parse(text).ok()?;
            // the parser drops a scheme's default port (`http://a.com:80/`); Trino keeps it
            url.port().map(i64::from).or_else(|| written_port(text))
        })
        .collect();
    Ok(Arc::new(out))
}

/// `f` of each text; NULL stays NULL.
fn each(args: &[ArrayRef], f: impl Fn(&str) -> String) -> Result<ArrayRef> {
    let out: StringArray = utf8(&args[0])?.iter().map(|t| t.map(&f)).collect();
    Ok(Arc::new(out))
}

pub fn all() -> Vec<ScalarUDF> {
    let one = || Signature::any(1, Volatility::Immutable);
    vec![
        Simple::udf(
            "url_extract_host",
            one(),
            |a| string_args("url_extract_host", a, DataType::Utf8),
            |a, _| part(a, |u| u.host_str().map(str::to_string)),
        ),
        Simple::udf(
            "url_extract_path",
            one(),
            |a| string_args("url_extract_path", a, DataType::Utf8),
            |a, _| part(a, |u| Some(u.path().to_string())),
        ),
        Simple::udf(
            "url_extract_protocol",
            one(),
            |a| string_args("url_extract_protocol", a, DataType::Utf8),
            |a, _| part(a, |u| Some(u.scheme().to_string())),
        ),
        Simple::udf(
            "url_extract_query",
            one(),
            |a| string_args("url_extract_query", a, DataType::Utf8),
            |a, _| part(a, |u| Some(u.query().unwrap_or("").to_string())),
        ),
        Simple::udf(
            "url_extract_fragment",
            one(),
            |a| string_args("url_extract_fragment", a, DataType::Utf8),
            |a, _| part(a, |u| Some(u.fragment().unwrap_or("").to_string())),
        ),
        Simple::udf(
            "url_extract_port",
            one(),
            |a| string_args("url_extract_port", a, DataType::Int64),
            port,
        ),
        Simple::udf(
            "url_encode",
            one(),
            |a| string_args("url_encode", a, DataType::Utf8),
            |a, _| {
                each(a, |t| {
                    url::form_urlencoded::byte_serialize(t.as_bytes()).collect()
                })
            },
        ),
        Simple::udf(
            "url_decode",
            one(),
            |a| string_args("url_decode", a, DataType::Utf8),
            |a, _| {
                each(a, |t| {
                    percent_encoding::percent_decode_str(&t.replace('+', " "))
                        .decode_utf8_lossy()
                        .into_owned()
                })
            },
        ),
        Simple::udf(
            "url_extract_parameter",
            Signature::any(2, Volatility::Immutable),
            |a| string_args("url_extract_parameter", a, DataType::Utf8),
            parameter,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::tests::value;

    #[tokio::test]
    async fn takes_urls_apart() {
        let url = "'https://shop.example.com:8443/p/42?ref=mail&k=v#top'";
        assert_eq!(
            value(&format!("SELECT url_extract_host({url})")).await,
            "shop.example.com"
        );
        assert_eq!(
            value(&format!("SELECT url_extract_path({url})")).await,
            "/p/42"
        );
        assert_eq!(
            value(&format!("SELECT url_extract_port({url})")).await,
            "8443"
        );
        assert_eq!(
            value("SELECT url_extract_port('http://example.com:80/a')").await,
            "80"
        );
        assert_eq!(
            value("SELECT url_encode('a b/ü*-._~')").await,
            "a+b%2F%C3%BC*-._%7E"
        );
        assert_eq!(value("SELECT url_decode('a+b%2F%C3%BC')").await, "a b/ü");
        assert_eq!(
            value("SELECT url_extract_port('https://[::1]:443/')").await,
            "443"
        );
        assert_eq!(
            value("SELECT url_extract_port('http://example.com/a:80')").await,
            ""
        );
        assert_eq!(
            value(&format!("SELECT url_extract_parameter({url}, 'ref')")).await,
            "mail"
        );
        assert_eq!(
            value(&format!("SELECT url_extract_parameter({url}, 'nope')")).await,
            ""
        );
        assert_eq!(
            value(&format!("SELECT url_extract_fragment({url})")).await,
            "top"
        );
        assert_eq!(value("SELECT url_extract_host('not a url')").await, "");
    }
}
