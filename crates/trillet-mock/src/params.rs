//! Request parameters checked against the spec: every parameter an operation
//! declares, with the schema the spec gives it (closed enums, integer ranges, the
//! `pattern` of a JSON-encoded string and the decoded shape in its `x-content`).
//! Nothing here lists a parameter by hand, and nothing here types or validates a
//! value: that is `trillet_spec::ParameterCheck`'s, shared with the CLI. This
//! module only says how the mock answers: the first problem, as one message.

use trillet_spec::{ParameterCheck, Spec, SpecError};

/// The checked parameters of one operation.
pub(crate) struct OperationParams {
    check: ParameterCheck,
}

impl std::fmt::Debug for OperationParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.check.parameters().map(|p| &p.name))
            .finish()
    }
}

impl OperationParams {
    /// The parameters of `operation_id` in `spec`.
    pub(crate) fn load(
        spec: &Spec,
        operation: &trillet_spec::Operation,
    ) -> Result<Self, SpecError> {
        Ok(Self {
            check: ParameterCheck::for_operation(spec, operation)?,
        })
    }

    /// Checks the path and query parameters of a request; the message says
    /// what is wrong with the first bad one. Query parameters the spec does not
    /// declare are ignored, as the API does.
    pub(crate) fn check(
        &self,
        path: &[(&str, &str)],
        query: &[(String, String)],
    ) -> Result<(), String> {
        let query: Vec<(&str, &str)> = query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        match self.check.check_request(path, &query).into_iter().next() {
            Some(problem) => Err(problem.to_string()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> OperationParams {
        let spec = Spec::bundled().expect("the bundled spec parses");
        OperationParams::load(
            &spec,
            &spec
                .operation("list_call_histories")
                .expect("the list operation"),
        )
        .expect("the list operation loads")
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
