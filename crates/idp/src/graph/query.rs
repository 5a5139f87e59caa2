//! OData query options on collections: `$filter` (`eq` on a property,
//! `startswith(prop,'x')`, joined by `and`), `$select`, `$top` and the
//! `$skiptoken` of the `@odata.nextLink` this provider writes. Anything else
//! (`$search`, `$orderby`, `$expand`, other operators) is refused with
//! Graph's `Request_UnsupportedQuery`, never silently ignored.

use serde_json::Value;

use super::GraphError;

/// Most objects per page (Graph's `$top` maximum for directory objects).
pub const MAX_TOP: usize = 999;
/// Objects per page without `$top` (Graph's default for directory objects).
pub const DEFAULT_TOP: usize = 100;

/// The parsed query options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// `$filter` clauses, all of which must hold.
    pub filter: Vec<Clause>,
    /// `$select`ed properties (empty: all).
    pub select: Vec<String>,
    /// `$top`.
    pub top: Option<usize>,
    /// Where the page starts (from `$skiptoken`).
    pub skip: usize,
    /// `$count=true`: add `@odata.count`.
    pub count: bool,
}

/// One `$filter` clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    /// `prop eq 'value'` (strings compare case-insensitively, as Graph's
    /// directory does), `prop eq true|false`.
    Eq(String, Value),
    /// `startswith(prop,'prefix')`, case-insensitive.
    StartsWith(String, String),
    /// `prop/any(x:x eq 'value')`: a string collection holding the value
    /// (case-insensitive), as `identifierUris` and `servicePrincipalNames`
    /// are queried.
    Any(String, String),
}

impl Query {
    /// Parses a URL query string.
    pub fn parse(raw: Option<&str>) -> Result<Query, GraphError> {
        let mut query = Query::default();
        let Some(raw) = raw else {
            return Ok(query);
        };
        for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            match name.as_ref() {
                "$filter" => query.filter = parse_filter(&value)?,
                "$select" => {
                    query.select = value
                        .split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect();
                }
                "$top" => {
                    let top = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_TOP).contains(n))
                        .ok_or_else(|| {
                            GraphError::bad_request(format!(
                                "Invalid page size specified: '{value}'. Must be between 1 and {MAX_TOP} inclusive."
                            ))
                        })?;
                    query.top = Some(top);
                }
                "$skiptoken" => {
                    query.skip = value
                        .strip_prefix("rg")
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(|| {
                            GraphError::bad_request(format!(
                                "Invalid $skiptoken {value:?}: use the @odata.nextLink as given."
                            ))
                        })?;
                }
                "$count" => query.count = value.eq_ignore_ascii_case("true"),
                "$search" | "$orderby" | "$expand" | "$skip" | "$format" | "$levels" => {
                    return Err(GraphError::unsupported_query(format!(
                        "The query option {name} is not supported by this provider's Graph subset."
                    )));
                }
                _ => {}
            }
        }
        Ok(query)
    }

    /// Whether `object` passes every `$filter` clause.
    pub fn matches(&self, object: &Value) -> bool {
        self.filter.iter().all(|clause| match clause {
            Clause::Eq(name, wanted) => match (property(object, name), wanted) {
                (Some(Value::String(have)), Value::String(want)) => have.eq_ignore_ascii_case(want),
                (Some(have), want) => have == want,
                (None, _) => false,
            },
            Clause::Any(name, wanted) => matches!(
                property(object, name),
                Some(Value::Array(items))
                    if items.iter().any(|i| i.as_str().is_some_and(|i| i.eq_ignore_ascii_case(wanted)))
            ),
            Clause::StartsWith(name, prefix) => matches!(
                property(object, name),
                Some(Value::String(have))
                    if have.len() >= prefix.len()
                        && have.is_char_boundary(prefix.len())
                        && have[..prefix.len()].eq_ignore_ascii_case(prefix)
            ),
        })
    }

    /// The page size: `$top`, or the default.
    pub fn page_size(&self) -> usize {
        self.top.unwrap_or(DEFAULT_TOP)
    }
}

/// A top-level property by name, case-insensitively (OData names are
/// case-sensitive, but Graph's directory accepts any case).
fn property<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    object
        .as_object()?
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

fn parse_filter(text: &str) -> Result<Vec<Clause>, GraphError> {
    split_and(text)
        .into_iter()
        .map(|clause| parse_clause(clause.trim()))
        .collect()
}

/// Splits on ` and ` outside string literals.
fn split_and(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut in_string) = (0, false);
    for (i, c) in text.char_indices() {
        if c == '\'' {
            in_string = !in_string;
        } else if c == ' '
            && !in_string
            && i >= start
            && text
                .get(i..i + 5)
                .is_some_and(|w| w.eq_ignore_ascii_case(" and "))
        {
            parts.push(text.get(start..i).unwrap_or_default());
            start = i + 5;
        }
    }
    parts.push(text.get(start..).unwrap_or_default());
    parts
}

fn parse_clause(clause: &str) -> Result<Clause, GraphError> {
    let invalid = || {
        GraphError::bad_request(format!(
            "Invalid filter clause: {clause:?}. This provider supports `property eq 'value'`, `property eq true|false` and `startswith(property,'value')`, joined by `and`."
        ))
    };
    if let Some(args) = clause
        .strip_prefix("startswith(")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        let (name, literal) = args.split_once(',').ok_or_else(invalid)?;
        let Value::String(prefix) = literal_value(literal.trim()).ok_or_else(invalid)? else {
            return Err(invalid());
        };
        return Ok(Clause::StartsWith(name.trim().to_owned(), prefix));
    }
    if let Some((name, lambda)) = clause.split_once("/any(")
        && let Some(lambda) = lambda.strip_suffix(')')
    {
        // `x:x eq 'value'`
        let (variable, test) = lambda.split_once(':').ok_or_else(invalid)?;
        let mut words = test.trim().splitn(3, ' ');
        let (Some(subject), Some(op), Some(literal)) = (words.next(), words.next(), words.next())
        else {
            return Err(invalid());
        };
        if subject != variable.trim() || !op.eq_ignore_ascii_case("eq") {
            return Err(GraphError::unsupported_query(format!(
                "Only `{name}/any(x:x eq 'value')` is supported in {clause:?}."
            )));
        }
        let Some(Value::String(value)) = literal_value(literal.trim()) else {
            return Err(invalid());
        };
        return Ok(Clause::Any(name.trim().to_owned(), value));
    }
    let mut words = clause.splitn(3, ' ');
    let (Some(name), Some(op), Some(literal)) = (words.next(), words.next(), words.next()) else {
        return Err(invalid());
    };
    if !op.eq_ignore_ascii_case("eq") {
        return Err(GraphError::unsupported_query(format!(
            "The operator {op:?} in {clause:?} is not supported by this provider's Graph subset (eq and startswith are)."
        )));
    }
    if name.contains('/') || name.contains('(') {
        return Err(GraphError::unsupported_query(format!(
            "Filtering on {name:?} is not supported by this provider's Graph subset (top-level properties are)."
        )));
    }
    let value = literal_value(literal.trim()).ok_or_else(invalid)?;
    Ok(Clause::Eq(name.to_owned(), value))
}

/// `'text'` (with `''` for a quote), `true`, `false`, `null` or a number.
fn literal_value(literal: &str) -> Option<Value> {
    if let Some(inner) = literal
        .strip_prefix('\'')
        .and_then(|rest| rest.strip_suffix('\''))
    {
        return Some(Value::String(inner.replace("''", "'")));
    }
    match literal {
        "true" => Some(Value::Bool(true)),
        "false" => Some(Value::Bool(false)),
        "null" => Some(Value::Null),
        number => number.parse::<i64>().ok().map(Value::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_parse_and_match() {
        let q = Query::parse(Some(
            "%24filter=appId%20eq%20%27ABC%27%20and%20startswith(displayName,%27Ord%27)&%24top=5&%24select=id,appId",
        ))
        .unwrap();
        assert_eq!(q.top, Some(5));
        assert_eq!(q.select, ["id", "appId"]);
        assert!(q.matches(&json!({"appId": "abc", "displayName": "Orders API"})));
        assert!(!q.matches(&json!({"appId": "abc", "displayName": "Inventory"})));
        assert!(!q.matches(&json!({"displayName": "Orders API"})));
        let q = Query::parse(Some("$filter=securityEnabled eq true")).unwrap();
        assert!(q.matches(&json!({"securityEnabled": true})));
        let q = Query::parse(Some("$filter=identifierUris/any(x:x eq 'API://Orders')")).unwrap();
        assert!(q.matches(&json!({"identifierUris": ["api://orders", "https://x"]})));
        assert!(!q.matches(&json!({"identifierUris": ["api://other"]})));
        let q = Query::parse(Some("$filter=displayName eq 'O''Brien and co'")).unwrap();
        assert!(q.matches(&json!({"displayName": "o'brien AND CO"})));
    }

    #[test]
    fn unsupported_options_are_refused() {
        for raw in [
            "$filter=appId ne 'x'",
            "$search=\"displayName:x\"",
            "$orderby=displayName",
            "$filter=identifierUris/any(x:x ne 'api://x')",
            "$filter=manager/displayName eq 'x'",
        ] {
            let e = Query::parse(Some(raw)).unwrap_err();
            assert_eq!(e.code, "Request_UnsupportedQuery", "{raw}");
        }
        for raw in ["$filter=appId", "$top=0", "$top=1000", "$skiptoken=zz"] {
            let e = Query::parse(Some(raw)).unwrap_err();
            assert_eq!((e.status, e.code), (400, "BadRequest"), "{raw}");
        }
    }
}
