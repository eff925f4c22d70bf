//! Every operation of the spec the mock is given: the route table, built from
//! [`Spec::operations`], and what the generic handler serves for an operation
//! that has no hand-written behaviour.
//!
//! Two operations keep their hand-written behaviour, by `operationId`:
//! `get_call_history` (records by id, `missing*` ids) and `list_call_histories`
//! (the paged workspace). Every other operation is served generically:
//!
//! - **Credentials** per its `security`: none when it is empty; an `apiKey` header
//!   `x-api-key` / `x-workspace-id` checked as for call history (401 / 403, the
//!   configured values); any other `apiKey` header, query parameter or cookie, or
//!   an `Authorization` header for `http`/`oauth2`/`openIdConnect` schemes, must
//!   be present and non-empty (401). Any one alternative of the list suffices.
//! - **Parameters** against their schemas (`params.rs`), and a JSON request body
//!   against its schema (400 naming what is wrong; a body is read up to
//!   [`MAX_BODY`] bytes, 413 beyond).
//! - **The response**: the first 2xx response (or `default`), with the status it
//!   names (`2XX` and `default` are 200). Its body, for a path whose parameters
//!   carry values (ids):
//!   1. the entry of the response's `examples` whose *name* is a requested path
//!      parameter value, served as written;
//!   2. else the response's example (`example`, else the first of `examples`) with
//!      the requested value put in for each path parameter: every value in the
//!      example equal to that parameter's own `example` (on the parameter or its
//!      schema) is replaced; a parameter without an example replaces the example's
//!      top-level property of its own name, else `_id`, else `id`;
//!   3. else, when the response has no example, an instance of its schema made by
//!      [`Spec::instance_of`] at start (deterministic; the same rule 2 applies).
//!
//!   A body that the replacement would make invalid against the response schema
//!   (the requested id does not fit the property's format, say) is served
//!   without the replacement. A response with no schema and no example has an
//!   empty body.
//! - **Not found**: when the operation documents a 404, a path parameter value
//!   starting with `missing` gets it, as call-history ids do; so does a path the
//!   mock answered a `DELETE` for in the same workspace, or a path below it
//!   (`deleted.rs`: the one piece of state the generic handler keeps).
//! - **Error bodies**: the operation's documented response for the status, when it
//!   has an example (the spec's `components/responses` ones), else the mock's own
//!   envelope. Where the mock knows more than the example, it says so: a 400's
//!   `error.message` names the bad parameter, and a 429's `error.reset_at` is the
//!   real reset time (`Retry-After` is always sent).

use std::collections::BTreeMap;
use std::fmt;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use trillet_spec::{Operation, SchemaValidator, SecurityScheme, Spec, SpecError, escape_pointer};

use crate::envelope;
use crate::params::OperationParams;
use crate::records::MISSING_PREFIX;

/// The operation served by the hand-written record handler.
pub(crate) const GET_OPERATION: &str = "get_call_history";
/// The operation served by the hand-written listing.
pub(crate) const LIST_OPERATION: &str = "list_call_histories";

/// The largest request body read, in bytes.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// Every path of the spec, matched the way axum matches routes.
pub(crate) struct Routes {
    router: matchit::Router<usize>,
    paths: Vec<PathItem>,
}

impl fmt::Debug for Routes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.paths.iter().map(|p| &p.template))
            .finish()
    }
}

/// One path template and the operations on it.
pub(crate) struct PathItem {
    template: String,
    allow: HeaderValue,
    allow_text: String,
    operations: Vec<(Method, Served)>,
}

/// One operation, ready to serve.
pub(crate) struct Served {
    pub(crate) security: Vec<Vec<SecurityScheme>>,
    pub(crate) params: OperationParams,
    pub(crate) kind: Kind,
}

/// How an operation is served.
pub(crate) enum Kind {
    /// The hand-written record handler; the name of its id parameter.
    GetCallHistory(String),
    /// The hand-written listing.
    ListCallHistories,
    /// From the spec alone.
    Generic(Box<Generic>),
}

impl Routes {
    /// The routes of every operation in `spec`.
    pub(crate) fn build(spec: &Spec) -> Result<Self, SpecError> {
        let mut grouped: Vec<(String, Vec<Operation>)> = Vec::new();
        for operation in spec.operations()? {
            match grouped.iter_mut().find(|(path, _)| *path == operation.path) {
                Some((_, operations)) => operations.push(operation),
                None => grouped.push((operation.path.clone(), vec![operation])),
            }
        }
        let mut router = matchit::Router::new();
        let mut paths = Vec::new();
        for (template, operations) in grouped {
            if !template.starts_with('/') || template.contains("{*") {
                return Err(SpecError::new(format!(
                    "path `{template}`: the mock serves templates that start with `/` and \
                     whose parameters are whole segments"
                )));
            }
            router
                .insert(template.clone(), paths.len())
                .map_err(|e| SpecError::new(format!("path `{template}` cannot be routed: {e}")))?;
            let mut served = Vec::new();
            for operation in &operations {
                let at = format!("{} {}", operation.method, operation.path);
                let method = Method::from_bytes(operation.method.as_bytes())
                    .map_err(|_| SpecError::new(format!("{at}: not an HTTP method")))?;
                served.push((
                    method,
                    Served::new(spec, operation).map_err(|e| e.within(&at))?,
                ));
            }
            let allow_text = served
                .iter()
                .map(|(m, _)| m.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let allow = HeaderValue::from_str(&allow_text)
                .map_err(|_| SpecError::new(format!("path `{template}`: bad methods")))?;
            paths.push(PathItem {
                template,
                allow,
                allow_text,
                operations: served,
            });
        }
        Ok(Self { router, paths })
    }

    /// The path item `path` (raw, percent-encoded) names, with its parameters
    /// still percent-encoded.
    pub(crate) fn find(&self, path: &str) -> Option<(&PathItem, Vec<(String, String)>)> {
        let matched = self.router.at(path).ok()?;
        let item = self.paths.get(*matched.value)?;
        let params = matched
            .params
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Some((item, params))
    }
}

impl PathItem {
    /// The operation for `method`, if the path has one.
    pub(crate) fn operation(&self, method: &Method) -> Option<&Served> {
        self.operations
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, served)| served)
    }

    /// 405 with `Allow`.
    pub(crate) fn method_not_allowed(&self) -> Response {
        let verb = if self.operations.len() == 1 {
            "is"
        } else {
            "are"
        };
        let mut response = envelope::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            &format!("Only {} {verb} allowed here.", self.allow_text),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, self.allow.clone());
        response
    }
}

impl Served {
    fn new(spec: &Spec, operation: &Operation) -> Result<Self, SpecError> {
        let params = OperationParams::load(spec, operation)?;
        let first_path_parameter = operation
            .parameters
            .iter()
            .find(|p| p.location == "path")
            .map(|p| p.name.clone());
        let kind = match (operation.id.as_str(), first_path_parameter) {
            (GET_OPERATION, Some(id)) => Kind::GetCallHistory(id),
            (LIST_OPERATION, _) => Kind::ListCallHistories,
            _ => Kind::Generic(Box::new(Generic::new(spec, operation)?)),
        };
        Ok(Self {
            security: operation.security.clone(),
            params,
            kind,
        })
    }
}

/// What the generic handler serves for one operation, prepared at start.
pub(crate) struct Generic {
    path_params: Vec<PathParam>,
    body: Option<(SchemaValidator, bool)>,
    success: StatusCode,
    template: Option<Value>,
    named: Map<String, Value>,
    validator: Option<SchemaValidator>,
    pub(crate) errors: ErrorBodies,
    documents_404: bool,
}

struct PathParam {
    name: String,
    example: Option<Value>,
}

impl Generic {
    fn new(spec: &Spec, operation: &Operation) -> Result<Self, SpecError> {
        let response = operation
            .success()
            .or_else(|| operation.responses.iter().find(|r| r.status == "default"));
        let success = response
            .and_then(trillet_spec::Response::first_status)
            .and_then(|s| StatusCode::from_u16(s).ok())
            .filter(StatusCode::is_success)
            .unwrap_or(StatusCode::OK);
        let template = match response {
            Some(r) => match (&r.example, &r.schema) {
                (Some(example), _) => Some(example.clone()),
                (None, Some(schema)) => Some(
                    spec.instance_of(schema)
                        .map_err(|e| e.within(&format!("the {} response", r.status)))?,
                ),
                (None, None) => None,
            },
            None => None,
        };
        let validator = response
            .and_then(|r| r.schema.as_ref())
            .map(|schema| spec.validator_of(&operation.id, schema))
            .transpose()?;
        let named = response
            .map(|r| named_examples(spec, operation, &r.status))
            .unwrap_or_default();
        let path_params = operation
            .parameters
            .iter()
            .filter(|p| p.location == "path")
            .map(|p| PathParam {
                name: p.name.clone(),
                example: p.example.clone().or_else(|| {
                    spec.resolve(&p.schema)
                        .ok()
                        .and_then(|s| s.get("example"))
                        .cloned()
                }),
            })
            .collect();
        let body = operation
            .request_body
            .as_ref()
            .map(|(schema, required)| {
                spec.validator_of("request body", schema)
                    .map(|v| (v, *required))
            })
            .transpose()?;
        Ok(Self {
            path_params,
            body,
            success,
            template,
            named,
            validator,
            errors: ErrorBodies::of(operation),
            documents_404: operation.response(404).is_some(),
        })
    }

    /// The success status.
    pub(crate) fn success(&self) -> StatusCode {
        self.success
    }

    /// Whether the request names something that does not exist (a 404 the
    /// operation documents).
    pub(crate) fn documents_404(&self) -> bool {
        self.documents_404
    }

    pub(crate) fn is_missing(&self, path: &[(String, String)]) -> bool {
        self.documents_404 && path.iter().any(|(_, v)| v.starts_with(MISSING_PREFIX))
    }

    /// The success body for these (decoded) path parameters, `None` for an
    /// empty one; see the module for the rule.
    pub(crate) fn body_for(&self, path: &[(String, String)]) -> Option<String> {
        let template = self.template.as_ref()?;
        if let Some(named) = path.iter().find_map(|(_, v)| self.named.get(v)) {
            return serde_json::to_string(named).ok();
        }
        let mut body = template.clone();
        for param in &self.path_params {
            let Some((_, value)) = path.iter().find(|(k, _)| *k == param.name) else {
                continue;
            };
            match &param.example {
                Some(needle) => replace_equal(&mut body, needle, &typed_like(needle, value)),
                None => replace_named(&mut body, &param.name, value),
            }
        }
        if self.validator.as_ref().is_some_and(|v| !v.is_valid(&body)) {
            body = template.clone();
        }
        serde_json::to_string(&body).ok()
    }

    /// Checks the request body against the operation's, when it has one.
    pub(crate) async fn check_body(
        &self,
        body: Body,
    ) -> Result<(), (StatusCode, &'static str, String)> {
        let Some((validator, required)) = &self.body else {
            return Ok(());
        };
        let bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The request body is larger than {MAX_BODY} bytes or was cut."),
            )
        })?;
        let bad = |message: String| (StatusCode::BAD_REQUEST, "bad_request", short(&message));
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return if *required {
                Err(bad("A request body is required.".into()))
            } else {
                Ok(())
            };
        }
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| bad(format!("The request body is not JSON: {e}")))?;
        match validator.problems(&value).into_iter().next() {
            Some(problem) => Err(bad(format!("request body: {problem}"))),
            None => Ok(()),
        }
    }
}

/// The `examples` of an operation's response, by name.
fn named_examples(spec: &Spec, operation: &Operation, status: &str) -> Map<String, Value> {
    let document = spec.document();
    let media = document
        .pointer(&format!("/paths/{}", escape_pointer(&operation.path)))
        .and_then(|item| spec.resolve(item).ok())
        .and_then(|item| item.get(operation.method.to_ascii_lowercase()))
        .and_then(|raw| raw.pointer(&format!("/responses/{}", escape_pointer(status))))
        .and_then(|response| spec.resolve(response).ok())
        .and_then(|response| response.pointer("/content/application~1json/examples"))
        .and_then(Value::as_object);
    media
        .into_iter()
        .flatten()
        .filter_map(|(name, example)| {
            let value = spec.resolve(example).ok()?.get("value")?;
            Some((name.clone(), value.clone()))
        })
        .collect()
}

/// `text` as a value of the kind of `like` (a number for a numeric example).
fn typed_like(like: &Value, text: &str) -> Value {
    match like {
        Value::Number(_) => serde_json::from_str::<serde_json::Number>(text)
            .map(Value::Number)
            .unwrap_or_else(|_| Value::from(text)),
        Value::Bool(_) => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::from(text),
        },
        _ => Value::from(text),
    }
}

/// Replaces every value equal to `needle` in `node` (at any depth) by `with`.
fn replace_equal(node: &mut Value, needle: &Value, with: &Value) {
    if node == needle {
        *node = with.clone();
        return;
    }
    match node {
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| replace_equal(i, needle, with)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|v| replace_equal(v, needle, with)),
        _ => {}
    }
}

/// Puts `value` in the top-level string property `name`, else `_id`, else `id`.
fn replace_named(node: &mut Value, name: &str, value: &str) {
    let Value::Object(map) = node else {
        return;
    };
    let key = [name, "_id", "id"]
        .into_iter()
        .find(|key| map.get(*key).is_some_and(Value::is_string));
    if let Some(slot) = key.and_then(|key| map.get_mut(key)) {
        *slot = Value::from(value);
    }
}

/// An operation's documented error bodies, by status.
#[derive(Debug, Default)]
pub(crate) struct ErrorBodies {
    examples: BTreeMap<u16, Value>,
}

/// Why a request is refused before it is served.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// An error status with the envelope's code and message; `specific` when the
    /// message says something about this request a documented example cannot.
    Error {
        status: StatusCode,
        code: &'static str,
        message: String,
        specific: bool,
    },
    /// 429 from the rate limit, with `Retry-After` in seconds.
    RateLimited(u64),
}

impl Refusal {
    /// A 400 naming what is wrong.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::Error {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: message.into(),
            specific: true,
        }
    }
}

/// The statuses a documented example may give the body of.
const ERROR_STATUSES: [u16; 11] = [400, 401, 403, 404, 405, 413, 429, 500, 502, 503, 504];

impl ErrorBodies {
    fn of(operation: &Operation) -> Self {
        let examples = ERROR_STATUSES
            .iter()
            .filter_map(|status| {
                let example = operation.response(*status)?.example.as_ref()?;
                example.is_object().then(|| (*status, example.clone()))
            })
            .collect();
        Self { examples }
    }

    /// The response for a refusal.
    pub(crate) fn refuse(&self, refusal: Refusal) -> Response {
        match refusal {
            Refusal::RateLimited(retry_after) => self.rate_limited(retry_after),
            Refusal::Error {
                status,
                code,
                message,
                specific,
            } => self.error(status, code, &message, specific),
        }
    }

    /// `status` with the documented example, its `error.message` replaced by
    /// `message` when `specific`; the envelope when there is no example.
    pub(crate) fn error(
        &self,
        status: StatusCode,
        code: &str,
        message: &str,
        specific: bool,
    ) -> Response {
        let Some(example) = self.examples.get(&status.as_u16()) else {
            return envelope::error(status, code, message);
        };
        let mut body = example.clone();
        if specific {
            match body.pointer_mut("/error/message") {
                Some(slot @ Value::String(_)) => *slot = Value::from(message),
                _ => return envelope::error(status, code, message),
            }
        }
        envelope::json_response(status, body.to_string())
    }

    /// 429 with `Retry-After`, the documented body with the real `reset_at`.
    pub(crate) fn rate_limited(&self, retry_after: u64) -> Response {
        let mut response = envelope::rate_limited(retry_after);
        if let Some(example) = self.examples.get(&429) {
            let mut body = example.clone();
            if let Some(slot) = body.pointer_mut("/error/reset_at") {
                *slot = Value::from(envelope::reset_at(retry_after));
            }
            *response.body_mut() = Body::from(body.to_string());
        }
        response
    }

    /// A 5xx with the documented body, else the envelope coded by status.
    pub(crate) fn server_error(&self, status: StatusCode) -> Response {
        match self.examples.get(&status.as_u16()) {
            Some(example) => envelope::json_response(status, example.to_string()),
            None => envelope::server_error(status),
        }
    }
}

/// The request's credentials checked against `security` (any one alternative,
/// all of its schemes); `api_key` / `workspace_id` are the configured values.
pub(crate) fn authenticate(
    security: &[Vec<SecurityScheme>],
    headers: &HeaderMap,
    query: &[(String, String)],
    api_key: Option<&str>,
    workspace_id: Option<&str>,
) -> Result<(), Refusal> {
    let mut first_failure = None;
    for alternative in security {
        // A 401 (who are you) is reported before a 403 (you may not).
        let mut failures: Vec<Refusal> = alternative
            .iter()
            .filter_map(|scheme| check_scheme(scheme, headers, query, api_key, workspace_id).err())
            .collect();
        failures.sort_by_key(|f| match f {
            Refusal::Error { status, .. } => status.as_u16(),
            Refusal::RateLimited(_) => 429,
        });
        match failures.into_iter().next() {
            None => return Ok(()),
            Some(failure) => {
                first_failure.get_or_insert(failure);
            }
        }
    }
    first_failure.map_or(Ok(()), Err)
}

fn unauthorized(message: String) -> Refusal {
    Refusal::Error {
        status: StatusCode::UNAUTHORIZED,
        code: "unauthorized",
        message,
        specific: false,
    }
}

fn forbidden(message: &str) -> Refusal {
    Refusal::Error {
        status: StatusCode::FORBIDDEN,
        code: "forbidden",
        message: message.to_owned(),
        specific: false,
    }
}

fn check_scheme(
    scheme: &SecurityScheme,
    headers: &HeaderMap,
    query: &[(String, String)],
    api_key: Option<&str>,
    workspace_id: Option<&str>,
) -> Result<(), Refusal> {
    let name = scheme.parameter.as_deref().unwrap_or_default();
    match (scheme.kind.as_str(), scheme.location.as_deref()) {
        ("apiKey", Some("header")) if name.eq_ignore_ascii_case("x-api-key") => {
            match credential(headers, name, api_key) {
                Credential::Accepted => Ok(()),
                Credential::Missing => Err(unauthorized(
                    "Missing API key: send the x-api-key header.".into(),
                )),
                Credential::Rejected => Err(unauthorized("Missing or invalid API key.".into())),
            }
        }
        ("apiKey", Some("header")) if name.eq_ignore_ascii_case("x-workspace-id") => {
            match credential(headers, name, workspace_id) {
                Credential::Accepted => Ok(()),
                Credential::Missing => Err(forbidden(
                    "Missing workspace: send the x-workspace-id header.",
                )),
                Credential::Rejected => {
                    Err(forbidden("The API key has no access to this workspace."))
                }
            }
        }
        ("apiKey", Some("header")) => match credential(headers, name, None) {
            Credential::Accepted => Ok(()),
            _ => Err(unauthorized(format!(
                "Missing credentials: send the {name} header."
            ))),
        },
        ("apiKey", Some("query")) => {
            if query.iter().any(|(k, v)| k == name && !v.trim().is_empty()) {
                Ok(())
            } else {
                Err(unauthorized(format!(
                    "Missing credentials: send the {name} query parameter."
                )))
            }
        }
        ("apiKey", Some("cookie")) => {
            let sent = headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .filter_map(|pair| pair.trim().split_once('='))
                .any(|(k, v)| k == name && !v.trim().is_empty());
            if sent {
                Ok(())
            } else {
                Err(unauthorized(format!(
                    "Missing credentials: send the {name} cookie."
                )))
            }
        }
        _ => match credential(headers, header::AUTHORIZATION.as_str(), None) {
            Credential::Accepted => Ok(()),
            _ => Err(unauthorized(
                "Missing credentials: send the Authorization header.".into(),
            )),
        },
    }
}

/// A credential header checked against its expected value.
enum Credential {
    Accepted,
    /// Absent, empty or blank.
    Missing,
    /// Not the expected value, or not visible ASCII.
    Rejected,
}

fn credential(headers: &HeaderMap, name: &str, expected: Option<&str>) -> Credential {
    let Some(value) = headers.get(name) else {
        return Credential::Missing;
    };
    let Ok(value) = value.to_str() else {
        return Credential::Rejected;
    };
    let value = value.trim();
    if value.is_empty() {
        Credential::Missing
    } else if expected.is_some_and(|expected| expected != value) {
        Credential::Rejected
    } else {
        Credential::Accepted
    }
}

/// The rate-limit key of a request: its `x-api-key`, `""` without one.
pub(crate) fn rate_key(headers: &HeaderMap) -> &str {
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default()
}

pub(crate) use trillet_spec::params::short;

/// An empty response with `status`.
pub(crate) fn empty(status: StatusCode) -> Response {
    (status, Body::empty()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_example_gets_the_requested_id_where_the_parameter_example_was() {
        let mut body = json!({"_id": "a1", "owner": {"agent": "a1"}, "list": ["a1", "b"], "n": 1});
        replace_equal(&mut body, &json!("a1"), &json!("zz"));
        assert_eq!(
            body,
            json!({"_id": "zz", "owner": {"agent": "zz"}, "list": ["zz", "b"], "n": 1})
        );
        let mut body = json!({"id": "x", "agentId": 3});
        replace_named(&mut body, "agentId", "q");
        assert_eq!(
            body,
            json!({"id": "q", "agentId": 3}),
            "a non-string property is skipped"
        );
        assert_eq!(typed_like(&json!(1), "42"), json!(42));
        assert_eq!(typed_like(&json!(1), "x"), json!("x"));
    }

    #[test]
    fn a_long_message_is_cut_on_a_character_boundary() {
        let long = "é".repeat(1000);
        let cut = short(&long);
        assert!(
            cut.len() <= trillet_spec::params::MAX_MESSAGE + 3,
            "{}",
            cut.len()
        );
    }
}
