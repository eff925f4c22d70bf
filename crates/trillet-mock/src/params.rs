//! Request parameters checked against the spec: every parameter an operation
//! declares, with the schema the spec gives it (closed enums, integer ranges, the
//! `pattern` of a JSON-encoded string and the decoded shape in its `x-content`).
//! Nothing here lists a parameter by hand: it is all read through `trillet-spec`.
//!
//! Query text is typed by the parameter's schema before it is validated: an
//! `integer` or `number` parameter must be a JSON number literal, a `boolean` one
//! `true` or `false`; everything else is a string.

use serde_json::Value;
use trillet_spec::{SchemaValidator, Spec, SpecError};

/// The longest problem description sent back: a parameter value can be large.
const MAX_MESSAGE: usize = 300;

/// The checked parameters of one operation.
pub(crate) struct OperationParams {
    params: Vec<Checked>,
}

impl std::fmt::Debug for OperationParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.params.iter().map(|p| &p.name))
            .finish()
    }
}

struct Checked {
    name: String,
    location: String,
    required: bool,
    kind: Kind,
    schema: SchemaValidator,
    /// The decoded value's schema, for a JSON-encoded parameter.
    decoded: Option<SchemaValidator>,
}

#[derive(Clone, Copy)]
enum Kind {
    Number,
    Boolean,
    Text,
}

impl OperationParams {
    /// The parameters of `operation_id` in `spec`.
    pub(crate) fn load(spec: &Spec, operation_id: &str) -> Result<Self, SpecError> {
        let params = spec
            .parameters(operation_id)?
            .into_iter()
            .map(|p| {
                let kind = match spec.type_of(&p.schema) {
                    Some("integer" | "number") => Kind::Number,
                    Some("boolean") => Kind::Boolean,
                    _ => Kind::Text,
                };
                Ok(Checked {
                    schema: spec.validator_of(&p.name, &p.schema)?,
                    decoded: p
                        .json_content
                        .as_ref()
                        .map(|schema| spec.validator_of(&p.name, schema))
                        .transpose()?,
                    name: p.name,
                    location: p.location,
                    required: p.required,
                    kind,
                })
            })
            .collect::<Result<_, SpecError>>()?;
        Ok(Self { params })
    }

    /// Checks the path and query parameters of a request; the message says
    /// what is wrong with the first bad one. Query parameters the spec does not
    /// declare are ignored, as the API does.
    pub(crate) fn check(
        &self,
        path: &[(&str, &str)],
        query: &[(String, String)],
    ) -> Result<(), String> {
        for param in &self.params {
            let values: Vec<&str> = match param.location.as_str() {
                "path" => path
                    .iter()
                    .filter(|(k, _)| *k == param.name)
                    .map(|(_, v)| *v)
                    .collect(),
                "query" => query
                    .iter()
                    .filter(|(k, _)| *k == param.name)
                    .map(|(_, v)| v.as_str())
                    .collect(),
                // Headers (the credentials) are checked before; no cookies here.
                _ => continue,
            };
            match values.as_slice() {
                [] if param.required => return Err(format!("{} is required", param.name)),
                [] => {}
                [value] => param.check(value).map_err(|problem| short(&problem))?,
                _ => return Err(format!("{} is given more than once", param.name)),
            }
        }
        Ok(())
    }
}

impl Checked {
    fn check(&self, text: &str) -> Result<(), String> {
        let typed = match self.kind {
            Kind::Number => serde_json::from_str::<serde_json::Number>(text)
                .ok()
                .filter(|_| text.trim() == text)
                .map_or_else(|| Value::from(text), Value::Number),
            Kind::Boolean => match text {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::from(text),
            },
            Kind::Text => Value::from(text),
        };
        if let Some(problem) = self.schema.problems(&typed).into_iter().next() {
            return Err(format!("{}: {}", self.name, problem.message));
        }
        // The decoded shape is checked when the text is JSON. Whether it must be
        // is the `schema`'s to say (callIds' pattern admits only JSON; postAnalysis
        // has no pattern, so any text is valid and passed through).
        if let Some(decoded) = &self.decoded
            && let Ok(value) = serde_json::from_str::<Value>(text)
            && let Some(problem) = decoded.problems(&value).into_iter().next()
        {
            return Err(format!("{}: {problem}", self.name));
        }
        Ok(())
    }
}

/// `message`, cut to [`MAX_MESSAGE`] bytes on a character boundary.
fn short(message: &str) -> String {
    if message.len() <= MAX_MESSAGE {
        return message.to_owned();
    }
    let mut end = MAX_MESSAGE;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &message[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> OperationParams {
        let spec = Spec::bundled().expect("the bundled spec parses");
        OperationParams::load(&spec, "list_call_histories").expect("the list operation loads")
    }

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn schema_valid_values_pass() {
        let params = list();
        for (name, value) in [
            ("page", "1"),
            ("limit", "18446744073709551616000"),
            ("callType", "sip"),
            ("status", "anything-at-all"),
            ("callIds", r#" [ "a", "b\u00e9\n" ] "#),
            ("callIds", "[]"),
            (
                "dateRange",
                r#"{"to": 1737062894.97, "from": "2025-02-30T00:00:00+01:00"}"#,
            ),
            ("dateRange", "{}"),
            ("postAnalysis", "not json: passed through"),
        ] {
            assert_eq!(
                params.check(&[], &query(&[(name, value)])),
                Ok(()),
                "{name}={value}"
            );
        }
    }

    #[test]
    fn values_outside_the_schema_are_refused_with_the_parameter_named() {
        let params = list();
        for (name, value) in [
            ("page", "0"),
            ("page", "1.5"),
            ("page", " 1"),
            ("limit", "ten"),
            ("callType", "pstn"),
            ("callIds", "a,b"),
            ("callIds", r#"["a",]"#),
            ("callIds", r#"["\ud800"]"#),
            ("dateRange", r#"{"from":"soon"}"#),
            ("dateRange", r#"{"from":null}"#),
            ("dateRange", r#"{"since":1}"#),
        ] {
            let problem = params
                .check(&[], &query(&[(name, value)]))
                .expect_err(&format!("{name}={value} must be refused"));
            assert!(problem.starts_with(name), "{problem}");
        }
        assert!(
            params
                .check(&[], &query(&[("page", "1"), ("page", "2")]))
                .is_err()
        );
    }

    #[test]
    fn a_long_value_is_not_echoed_in_full() {
        let long = "x".repeat(100_000);
        let problem = list()
            .check(&[], &query(&[("callType", &long)]))
            .expect_err("not an enum value");
        assert!(problem.len() < 400, "{}", problem.len());
    }
}
