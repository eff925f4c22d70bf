//! Parameter values as text (a query string, a path segment, a command line), typed
//! by the spec and checked against it: the one place that decides what a parameter
//! value means and whether it is valid. The mock server checks requests with it;
//! `trillet api` checks a command line with it before anything is sent.
//!
//! **Typing.** Text is typed by the parameter's schema (through `$ref`s) before it
//! is validated: for an `integer` or `number` schema it must be a JSON number
//! literal with no surrounding space (`1`, `2.5`, `1e3`), for a `boolean` one `true`
//! or `false`; anything else is a string, as it would be on the wire. So `page=1.5`
//! is a number that fails `type: integer`, `page=ten` a string that fails it too.
//!
//! **Integers in plain digits.** An `integer` parameter must also be written the one
//! way every server reads alike: plain decimal digits, `-` for a negative value, no
//! leading zero (`0`, `42`, `-7`). `1e2`, `1.0`, `01`, `+1` and `-0` are refused
//! naming the plain form (`write 100`), not rewritten: a server that reads digits
//! with `parseInt` takes `1e2` as 1, so the form is ambiguous on the wire, and the
//! check cannot change what a request it receives says (the mock refuses it too).
//!
//! **Checks.** The typed value must satisfy the parameter's schema (type, enum,
//! range, length, pattern, format: whatever the validator checks). A JSON-encoded
//! parameter ([`crate::JSON_CONTENT`]) whose text parses as JSON must also satisfy
//! the decoded shape; whether it must be JSON at all is the schema's to say (a
//! `pattern` that only JSON matches). Required parameters must be given; none may
//! be given twice.
//!
//! ```
//! # #[cfg(feature = "validate")] {
//! use trillet_spec::{ParameterCheck, ProblemKind, Spec};
//!
//! let spec = Spec::bundled()?;
//! let list = spec.operation("list_call_histories")?;
//! let check = ParameterCheck::for_operation(&spec, &list)?;
//!
//! let typed = check.check(&[("limit", "5"), ("callType", "sip")]).expect("valid");
//! assert_eq!(typed[0].value, serde_json::json!(5));
//! assert_eq!(typed[1].value, serde_json::json!("sip"));
//!
//! let problems = check.check(&[("limit", "0"), ("colour", "red")]).unwrap_err();
//! assert_eq!(problems[0].name, "limit");
//! assert_eq!(problems[0].kind, ProblemKind::Invalid);
//! assert_eq!(problems[1].kind, ProblemKind::Unknown);
//! # }
//! # Ok::<(), trillet_spec::SpecError>(())
//! ```

use std::fmt;

use serde_json::Value;

use crate::operation::{Operation, Parameter};
use crate::{SchemaValidator, Spec, SpecError};

/// The longest problem description kept: a parameter value can be large, and a
/// message echoes part of it.
pub const MAX_MESSAGE: usize = 300;

/// How a parameter's text is typed before it is validated (from its schema).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueKind {
    /// `integer`: a JSON number literal, which the check also requires in plain
    /// digits (see the module docs).
    Integer,
    /// `number`: a JSON number literal.
    Number,
    /// `boolean`: `true` or `false`.
    Boolean,
    /// Anything else: the text as a string.
    Text,
}

impl ValueKind {
    /// The kind for a schema written in `spec`.
    pub fn of(spec: &Spec, schema: &Value) -> Self {
        match spec.type_of(schema) {
            Some("integer") => ValueKind::Integer,
            Some("number") => ValueKind::Number,
            Some("boolean") => ValueKind::Boolean,
            _ => ValueKind::Text,
        }
    }

    /// `text` as a JSON value of this kind; text that is not of the kind stays a
    /// string (so the schema's `type` reports it).
    pub fn type_text(self, text: &str) -> Value {
        match self {
            ValueKind::Integer | ValueKind::Number => {
                serde_json::from_str::<serde_json::Number>(text)
                    .ok()
                    .filter(|_| text.trim() == text)
                    .map_or_else(|| Value::from(text), Value::Number)
            }
            ValueKind::Boolean => match text {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::from(text),
            },
            ValueKind::Text => Value::from(text),
        }
    }
}

/// A rule a value must satisfy beyond its schema: the reason it is refused, or
/// `None`. See [`ParameterCheck::path_rule`].
pub type ValueRule = fn(&str) -> Option<&'static str>;

/// The checked parameters of one operation, built once and used for any number of
/// requests.
pub struct ParameterCheck {
    operation: String,
    parameters: Vec<Checker>,
    /// What a `path` parameter's value must also satisfy to be sent as one segment.
    path_rule: Option<ValueRule>,
}

impl fmt::Debug for ParameterCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParameterCheck")
            .field("operation", &self.operation)
            .field(
                "parameters",
                &self
                    .parameters
                    .iter()
                    .map(|p| &p.parameter.name)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

struct Checker {
    parameter: Parameter,
    kind: ValueKind,
    schema: SchemaValidator,
    /// The decoded value's schema, for a JSON-encoded parameter.
    decoded: Option<SchemaValidator>,
}

/// One parameter value that passed its checks.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TypedParameter {
    /// The parameter's name, as sent.
    pub name: String,
    /// Where it is sent: `query`, `path`, `header` or `cookie`.
    pub location: String,
    /// The text as given (what goes on the wire).
    pub text: String,
    /// The text typed by the schema ([`ValueKind`]).
    pub value: Value,
}

/// What is wrong with a parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// A required parameter is not given.
    Missing,
    /// The operation has no parameter of that name.
    Unknown,
    /// The parameter is given more than once.
    Repeated,
    /// The value does not satisfy the parameter's schema.
    Invalid,
}

/// One problem with the parameters of a request, naming the parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParameterProblem {
    /// The parameter's name, as given or as declared.
    pub name: String,
    /// What kind of problem it is.
    pub kind: ProblemKind,
    /// For [`ProblemKind::Invalid`], what the schema says (at most
    /// [`MAX_MESSAGE`] bytes); empty otherwise.
    pub message: String,
}

impl fmt::Display for ParameterProblem {
    /// `limit is required`, `limit is given more than once`, `limit: 0 is less than
    /// the minimum of 1`, `colour is not a parameter of the operation`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.name;
        match self.kind {
            ProblemKind::Missing => write!(f, "{name} is required"),
            ProblemKind::Unknown => write!(f, "{name} is not a parameter of the operation"),
            ProblemKind::Repeated => write!(f, "{name} is given more than once"),
            ProblemKind::Invalid => write!(f, "{name}: {}", self.message),
        }
    }
}

impl ParameterProblem {
    fn new(name: &str, kind: ProblemKind, message: String) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            message: short(&message),
        }
    }
}

impl ParameterCheck {
    /// The checks of `operation`'s parameters, with validators built from `spec`.
    pub fn for_operation(spec: &Spec, operation: &Operation) -> Result<Self, SpecError> {
        let parameters = operation
            .parameters
            .iter()
            .map(|p| {
                Ok(Checker {
                    kind: ValueKind::of(spec, &p.schema),
                    schema: spec.validator_of(&p.name, &p.schema)?,
                    decoded: p
                        .json_content
                        .as_ref()
                        .map(|schema| spec.validator_of(&p.name, schema))
                        .transpose()?,
                    parameter: p.clone(),
                })
            })
            .collect::<Result<_, SpecError>>()
            .map_err(|e: SpecError| e.within(&operation.id))?;
        Ok(Self {
            operation: operation.id.clone(),
            parameters,
            path_rule: None,
        })
    }

    /// Also checks each `path` parameter's value with `rule`, after its schema: the
    /// rule of the client that will send it as one path segment (for the Trillet
    /// client, `trillet::path_segment_problem`: no empty value, dot segment or
    /// backslash), so the check refuses exactly what that client would refuse, and
    /// says so once, before anything is built. The reason `rule` gives is the
    /// problem's message: `callHistoryId: ".." cannot be sent as a path segment: …`.
    /// It applies to [`check`](Self::check) and [`check_request`](Self::check_request)
    /// alike; a server checking the segments it received has no use for it (the mock
    /// sets none).
    pub fn path_rule(mut self, rule: ValueRule) -> Self {
        self.path_rule = Some(rule);
        self
    }

    /// The operation's id.
    pub fn operation_id(&self) -> &str {
        &self.operation
    }

    /// The parameters checked, in the spec's order.
    pub fn parameters(&self) -> impl Iterator<Item = &Parameter> {
        self.parameters.iter().map(|c| &c.parameter)
    }

    /// Checks a request given as `(name, text)` pairs, the parameters in any
    /// location named by their name alone (as on a command line): every declared
    /// parameter is typed and validated, a missing required one, a repeated one and
    /// a name the operation does not declare are problems. The typed values come
    /// back in the order given; the problems, every one of them, in the spec's order
    /// of the parameters, then the unknown names.
    pub fn check(
        &self,
        given: &[(&str, &str)],
    ) -> Result<Vec<TypedParameter>, Vec<ParameterProblem>> {
        let mut problems = self.problems_in(None, given);
        for (name, _) in given {
            let unknown = !self.parameters.iter().any(|c| c.parameter.name == *name);
            if unknown && !problems.iter().any(|p| p.name == *name) {
                problems.push(ParameterProblem::new(
                    name,
                    ProblemKind::Unknown,
                    String::new(),
                ));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(given
            .iter()
            .filter_map(|(name, text)| {
                let checker = self.parameters.iter().find(|c| c.parameter.name == *name)?;
                Some(TypedParameter {
                    name: (*name).to_owned(),
                    location: checker.parameter.location.clone(),
                    text: (*text).to_owned(),
                    value: checker.kind.type_text(text),
                })
            })
            .collect())
    }

    /// Checks a request as a server receives it: the path parameters against the
    /// declared `path` ones and the query against the `query` ones. Query parameters
    /// the operation does not declare are ignored (as the API does); header and
    /// cookie parameters are not checked here. Every problem, in the spec's order.
    pub fn check_request(
        &self,
        path: &[(&str, &str)],
        query: &[(&str, &str)],
    ) -> Vec<ParameterProblem> {
        let mut problems = self.problems_in(Some("path"), path);
        problems.extend(self.problems_in(Some("query"), query));
        problems
    }

    /// The problems of the declared parameters (of `location`, or all) in `given`.
    fn problems_in(&self, location: Option<&str>, given: &[(&str, &str)]) -> Vec<ParameterProblem> {
        let mut problems = Vec::new();
        for checker in &self.parameters {
            let parameter = &checker.parameter;
            if location.is_some_and(|l| l != parameter.location) {
                continue;
            }
            let values: Vec<&str> = given
                .iter()
                .filter(|(name, _)| *name == parameter.name)
                .map(|(_, text)| *text)
                .collect();
            match values.as_slice() {
                [] if parameter.required => problems.push(ParameterProblem::new(
                    &parameter.name,
                    ProblemKind::Missing,
                    String::new(),
                )),
                [] => {}
                [text] => problems.extend(checker.check(text).or_else(|| {
                    let rule = self.path_rule.filter(|_| parameter.location == "path")?;
                    let reason = rule(text)?;
                    Some(ParameterProblem::new(
                        &parameter.name,
                        ProblemKind::Invalid,
                        format!("{text:?} cannot be sent as a path segment: {reason}"),
                    ))
                })),
                _ => problems.push(ParameterProblem::new(
                    &parameter.name,
                    ProblemKind::Repeated,
                    String::new(),
                )),
            }
        }
        problems
    }
}

impl Checker {
    /// The first problem with one value, if any.
    fn check(&self, text: &str) -> Option<ParameterProblem> {
        let name = &self.parameter.name;
        let typed = self.kind.type_text(text);
        let schema_problem = self.schema.problems(&typed).into_iter().next();
        if self.kind == ValueKind::Integer && !is_plain_integer(text) {
            // With its plain form when there is one; else the schema's problem
            // (`ten`), or this one for an integer the schema accepts (`1e300`).
            let message = match plain_integer(text) {
                Some(plain) => Some(format!(
                    "{text:?} is not an integer in plain digits; write {plain}"
                )),
                None if schema_problem.is_none() => Some(format!(
                    "{:?} is not an integer in plain digits",
                    short(text)
                )),
                None => None,
            };
            if let Some(message) = message {
                return Some(ParameterProblem::new(name, ProblemKind::Invalid, message));
            }
        }
        if let Some(problem) = schema_problem {
            return Some(ParameterProblem::new(
                name,
                ProblemKind::Invalid,
                problem.message,
            ));
        }
        // The decoded shape is checked when the text is JSON. Whether it must be
        // is the `schema`'s to say (callIds' pattern admits only JSON; postAnalysis
        // has no pattern, so any text is valid and passed through).
        let decoded = self.decoded.as_ref()?;
        let value = serde_json::from_str::<Value>(text).ok()?;
        let problem = decoded.problems(&value).into_iter().next()?;
        Some(ParameterProblem::new(
            name,
            ProblemKind::Invalid,
            problem.to_string(),
        ))
    }
}

/// Whether `text` is an integer in plain digits: `0`, or an optional `-` and digits
/// without a leading zero (not `-0`). Hand-written: the rule is this one line, and
/// a regex crate is not a dependency here.
fn is_plain_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let plain = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    plain && (digits == "0" && digits.len() == text.len() || !digits.starts_with('0'))
}

/// The plain digits of an integer written another way (`1e2`, `1.0`, `-0`, ` 1` as
/// a JSON number; `01`, `+1` as Rust reads an integer), when that is exact; `None`
/// for text that is not an integer at all (`1.5`, `ten`), which the schema
/// then reports.
fn plain_integer(text: &str) -> Option<String> {
    // Integers an f64 holds exactly: beyond 2^53 a JSON literal such as 1e300 has
    // no one plain form its writer meant.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if let Ok(number) = serde_json::from_str::<serde_json::Number>(text) {
        if let Some(n) = number.as_i64() {
            return Some(n.to_string());
        }
        if let Some(n) = number.as_u64() {
            return Some(n.to_string());
        }
        let f = number.as_f64()?;
        // Exact, and within i64: `-0.0` becomes 0.
        return (f.fract() == 0.0 && f.abs() <= EXACT).then(|| (f as i64).to_string());
    }
    text.parse::<i128>().ok().map(|n| n.to_string())
}

/// `message`, cut to [`MAX_MESSAGE`] bytes on a character boundary (problem
/// messages quote the value, which can be large).
pub fn short(message: &str) -> String {
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

    fn check_of(id: &str) -> ParameterCheck {
        let spec = Spec::bundled().unwrap();
        let operation = spec.operation(id).unwrap();
        ParameterCheck::for_operation(&spec, &operation).unwrap()
    }

    #[test]
    fn integers_must_be_in_plain_digits_and_the_plain_form_is_named() {
        let list = check_of("list_call_histories");
        for (text, plain) in [
            ("1e2", "100"),
            ("1E2", "100"),
            ("100e-2", "1"),
            ("1.0", "1"),
            ("01", "1"),
            ("+1", "1"),
            ("007", "7"),
            ("-0", "0"),
            (" 1", "1"),
        ] {
            for problems in [
                list.check(&[("limit", text)]).unwrap_err(),
                // As the mock receives it.
                list.check_request(&[], &[("limit", text)]),
            ] {
                assert_eq!(problems.len(), 1, "{text}: {problems:?}");
                assert_eq!(problems[0].kind, ProblemKind::Invalid);
                assert_eq!(
                    problems[0].to_string(),
                    format!("limit: {text:?} is not an integer in plain digits; write {plain}")
                );
            }
        }
        // Plain digits pass, however large (the spec gives no maximum).
        for text in ["1", "10", "100", "18446744073709551616000"] {
            let typed = list.check(&[("limit", text)]).unwrap();
            assert_eq!(typed[0].text, text);
        }
        // Not integers at all: the schema's own problem, with no plain form.
        for text in ["1.5", "ten", "1e400", "-", "0x10"] {
            let problems = list.check(&[("limit", text)]).unwrap_err();
            assert!(
                !problems[0].message.contains("plain digits"),
                "{text}: {}",
                problems[0]
            );
        }
        // An integer with no exact plain form is refused all the same.
        let problems = list.check(&[("limit", "1e300")]).unwrap_err();
        assert_eq!(
            problems[0].to_string(),
            r#"limit: "1e300" is not an integer in plain digits"#
        );
        assert!(is_plain_integer("0") && is_plain_integer("-7") && is_plain_integer("42"));
        for text in ["", "-", "-0", "00", "01", "+1", "1.0", "1e2", " 1", "1 "] {
            assert!(!is_plain_integer(text), "{text:?}");
        }
    }

    #[test]
    fn text_is_typed_by_the_schema() {
        assert_eq!(ValueKind::Number.type_text("12"), Value::from(12));
        assert_eq!(ValueKind::Integer.type_text("12"), Value::from(12));
        assert_eq!(ValueKind::Number.type_text("1.5").as_f64(), Some(1.5));
        assert_eq!(ValueKind::Number.type_text(" 1"), Value::from(" 1"));
        assert_eq!(ValueKind::Number.type_text("ten"), Value::from("ten"));
        assert_eq!(ValueKind::Boolean.type_text("true"), Value::Bool(true));
        assert_eq!(ValueKind::Boolean.type_text("True"), Value::from("True"));
        assert_eq!(ValueKind::Text.type_text("12"), Value::from("12"));
    }

    #[test]
    fn a_command_line_is_checked_strictly_with_every_problem_named() {
        let list = check_of("list_call_histories");
        let problems = list
            .check(&[
                ("page", "0"),
                ("limit", "1"),
                ("limit", "2"),
                ("colour", "red"),
                ("callType", "pstn"),
            ])
            .unwrap_err();
        let named: Vec<(&str, ProblemKind)> =
            problems.iter().map(|p| (p.name.as_str(), p.kind)).collect();
        assert_eq!(
            named,
            [
                ("page", ProblemKind::Invalid),
                ("limit", ProblemKind::Repeated),
                ("callType", ProblemKind::Invalid),
                ("colour", ProblemKind::Unknown),
            ]
        );
        assert!(
            problems[2].to_string().starts_with("callType: "),
            "{}",
            problems[2]
        );

        let get = check_of("get_call_history");
        let missing = get.check(&[]).unwrap_err();
        assert_eq!(missing[0].kind, ProblemKind::Missing);
        assert_eq!(missing[0].to_string(), "callHistoryId is required");
        let empty = get.check(&[("callHistoryId", "")]).unwrap_err();
        assert_eq!(empty[0].kind, ProblemKind::Invalid);
        let typed = get.check(&[("callHistoryId", "42")]).unwrap();
        assert_eq!(typed[0].location, "path");
        assert_eq!(typed[0].value, Value::from("42"));
    }

    #[test]
    fn a_request_ignores_undeclared_query_parameters_and_other_locations() {
        let list = check_of("list_call_histories");
        assert!(list.check_request(&[], &[("colour", "red")]).is_empty());
        let problems = list.check_request(&[], &[("dateRange", r#"{"since":1}"#)]);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].to_string().starts_with("dateRange: "),
            "{}",
            problems[0]
        );
        // A path parameter given as a query parameter is not the path parameter.
        let get = check_of("get_call_history");
        let problems = get.check_request(&[], &[("callHistoryId", "42")]);
        assert_eq!(problems[0].kind, ProblemKind::Missing);
    }

    #[test]
    fn a_path_rule_checks_path_parameters_only_after_their_schema() {
        fn no_dots(value: &str) -> Option<&'static str> {
            value.contains('.').then_some("it has a dot")
        }
        let get = check_of("get_call_history").path_rule(no_dots);
        let problems = get.check(&[("callHistoryId", "a.b")]).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].kind, ProblemKind::Invalid);
        assert_eq!(
            problems[0].to_string(),
            r#"callHistoryId: "a.b" cannot be sent as a path segment: it has a dot"#
        );
        // The schema's own problem comes first, and alone.
        let empty = get.check(&[("callHistoryId", "")]).unwrap_err();
        assert!(!empty[0].message.contains("path segment"), "{}", empty[0]);
        assert!(get.check(&[("callHistoryId", "ab")]).is_ok());
        // The same for a request as a server receives it; query parameters are
        // not ruled.
        let problems = get.check_request(&[("callHistoryId", "a.b")], &[]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        let list = check_of("list_call_histories").path_rule(no_dots);
        assert!(list.check(&[("status", "a.b")]).is_ok());
        // Without the rule, the value is only the schema's.
        assert!(
            check_of("get_call_history")
                .check(&[("callHistoryId", "a.b")])
                .is_ok()
        );
    }

    #[test]
    fn messages_are_bounded() {
        let long = "x".repeat(100_000);
        let problems = check_of("list_call_histories")
            .check(&[("callType", &long)])
            .unwrap_err();
        assert!(problems[0].to_string().len() < 400);
    }
}
