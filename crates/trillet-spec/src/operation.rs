//! The spec's operations as data: what the mock serves, what `trillet api` offers,
//! what the lint and the tests walk. Built once by [`Spec::operations`], with every
//! `$ref` (parameters, responses, security schemes) resolved through
//! [`crate::resolve`].

use serde_json::{Map, Value};

use crate::resolve::resolve;
use crate::{Spec, SpecError};

/// The HTTP methods a path item may hold, in the order OpenAPI lists them.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One operation of the spec.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Operation {
    /// Its `operationId`.
    pub id: String,
    /// The HTTP method, upper case (`GET`).
    pub method: String,
    /// The path template, as written (`/v2/api/call-history/{callHistoryId}`).
    pub path: String,
    /// Its `summary`, if any.
    pub summary: Option<String>,
    /// Its `description`, if any.
    pub description: Option<String>,
    /// Its parameters, path-level ones included (an operation's own one wins).
    pub parameters: Vec<Parameter>,
    /// What authenticates a request: any one alternative, each satisfied by all of
    /// its schemes. Empty when the operation needs no credentials.
    pub security: Vec<Vec<SecurityScheme>>,
    /// Its request body's JSON schema and whether the body is required.
    pub request_body: Option<(Value, bool)>,
    /// The media types its request body may be sent as (`application/json`,
    /// `multipart/form-data`), in document order; empty without a body.
    pub request_media: Vec<String>,
    /// Its `tags` (the resource it belongs to), in order.
    pub tags: Vec<String>,
    /// Its responses, in document order.
    pub responses: Vec<Response>,
    /// Its `x-trillet-effect`, as written: what running it does in the real world
    /// (`read`, `write`, `call`, …; parsed by `trillet_api::Effect`, checked by
    /// `cargo xtask lint`).
    pub effect: Option<String>,
    /// Its `x-trillet-docs`: the pages of Trillet's reference it follows.
    pub docs: Vec<String>,
}

/// One parameter of an operation.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Parameter {
    /// The parameter's name, as sent.
    pub name: String,
    /// Where it is sent: `query`, `path`, `header` or `cookie`.
    pub location: String,
    /// Whether the request must carry it.
    pub required: bool,
    /// Its description, if any.
    pub description: Option<String>,
    /// Its OpenAPI schema, as written (possibly a `$ref`).
    pub schema: Value,
    /// For a JSON-encoded parameter, the schema of the decoded value
    /// ([`crate::JSON_CONTENT`]).
    pub json_content: Option<Value>,
    /// Its `example`, if any.
    pub example: Option<Value>,
}

/// A security scheme an operation requires.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SecurityScheme {
    /// Its name under `components/securitySchemes`.
    pub name: String,
    /// Its `type` (`apiKey`, `http`, …).
    pub kind: String,
    /// For an `apiKey` scheme, where the key goes (`header`, `query`, `cookie`).
    pub location: Option<String>,
    /// For an `apiKey` scheme, the header, query or cookie name.
    pub parameter: Option<String>,
}

/// One response of an operation.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Response {
    /// The status as written: `200`, `4XX`, `default`.
    pub status: String,
    /// Its description.
    pub description: String,
    /// The schema of its `application/json` body, as written (possibly a `$ref`).
    pub schema: Option<Value>,
    /// Its `application/json` example: `example`, else the first of `examples`.
    pub example: Option<Value>,
    /// The names of the headers it documents.
    pub headers: Vec<String>,
}

impl Response {
    /// Whether a response with HTTP status `status` is this one (exactly, or by a
    /// range such as `5XX`; `default` matches nothing here).
    pub fn covers(&self, status: u16) -> bool {
        let text = status.to_string();
        if self.status == text {
            return true;
        }
        let bytes = self.status.as_bytes();
        bytes.len() == 3
            && bytes[1..].eq_ignore_ascii_case(b"XX")
            && text.as_bytes().first() == bytes.first()
    }

    /// The smallest HTTP status this response stands for (`5XX` → 500).
    pub fn first_status(&self) -> Option<u16> {
        let normalized = self.status.to_ascii_uppercase().replace("XX", "00");
        normalized.parse().ok()
    }

    /// Whether it is a success (2xx).
    pub fn is_success(&self) -> bool {
        self.status.starts_with('2')
    }
}

impl Operation {
    /// The success response with a JSON body (the first 2xx), if any.
    pub fn success(&self) -> Option<&Response> {
        self.responses.iter().find(|r| r.is_success())
    }

    /// The documented response for an HTTP status: exact first, then a range.
    pub fn response(&self, status: u16) -> Option<&Response> {
        let exact = status.to_string();
        self.responses
            .iter()
            .find(|r| r.status == exact)
            .or_else(|| self.responses.iter().find(|r| r.covers(status)))
    }

    /// The parameter called `name` (any location).
    pub fn parameter(&self, name: &str) -> Option<&Parameter> {
        self.parameters.iter().find(|p| p.name == name)
    }

    /// The headers a request must carry to satisfy its first security
    /// alternative (`x-api-key`, `x-workspace-id`).
    pub fn credential_headers(&self) -> Vec<&str> {
        self.security
            .first()
            .into_iter()
            .flatten()
            .filter(|s| s.location.as_deref() == Some("header"))
            .filter_map(|s| s.parameter.as_deref())
            .collect()
    }
}

impl Spec {
    /// Every operation, in document order (paths, then methods).
    pub fn operations(&self) -> Result<Vec<Operation>, SpecError> {
        let document = self.document();
        let mut found = Vec::new();
        for (path, item) in document
            .get("paths")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let item = resolve(document, item)?;
            for method in METHODS {
                if let Some(raw) = item.get(method) {
                    found.push(self.operation_at(path, method, item, raw)?);
                }
            }
        }
        Ok(found)
    }

    /// The operation `operation_id`.
    pub fn operation(&self, operation_id: &str) -> Result<Operation, SpecError> {
        self.operations()?
            .into_iter()
            .find(|o| o.id == operation_id)
            .ok_or_else(|| SpecError::new(format!("the spec has no operation `{operation_id}`")))
    }

    /// The parameters of the operation `operation_id` (path-level ones included,
    /// an operation's own winning), `$ref`s to `components/parameters` resolved.
    pub fn parameters(&self, operation_id: &str) -> Result<Vec<Parameter>, SpecError> {
        Ok(self.operation(operation_id)?.parameters)
    }

    fn operation_at(
        &self,
        path: &str,
        method: &str,
        item: &Value,
        raw: &Value,
    ) -> Result<Operation, SpecError> {
        let document = self.document();
        let at = format!("{} {path}", method.to_ascii_uppercase());
        let id = text(raw, "operationId")
            .ok_or_else(|| SpecError::new(format!("{at}: the operation has no operationId")))?;
        let mut parameters: Vec<Parameter> = Vec::new();
        for list in [item.get("parameters"), raw.get("parameters")] {
            for p in list.and_then(Value::as_array).into_iter().flatten() {
                let parameter = parameter(document, p).map_err(|e| e.within(&at))?;
                parameters
                    .retain(|q| (&q.name, &q.location) != (&parameter.name, &parameter.location));
                parameters.push(parameter);
            }
        }
        let security_list = raw
            .get("security")
            .or_else(|| document.get("security"))
            .and_then(Value::as_array);
        let mut security = Vec::new();
        for requirement in security_list.into_iter().flatten() {
            let mut schemes = Vec::new();
            for name in requirement.as_object().into_iter().flat_map(Map::keys) {
                schemes.push(scheme(document, name).map_err(|e| e.within(&at))?);
            }
            security.push(schemes);
        }
        let (request_body, request_media) = match raw.get("requestBody") {
            Some(body) => {
                let body = resolve(document, body).map_err(|e| e.within(&at))?;
                let media = body
                    .get("content")
                    .and_then(Value::as_object)
                    .map(|content| content.keys().cloned().collect())
                    .unwrap_or_default();
                let json = body
                    .pointer("/content/application~1json/schema")
                    .map(|s| (s.clone(), body.get("required") == Some(&Value::Bool(true))));
                (json, media)
            }
            None => (None, Vec::new()),
        };
        let mut responses = Vec::new();
        for (status, response) in raw
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let response = resolve(document, response).map_err(|e| e.within(&at))?;
            let media = response.pointer("/content/application~1json");
            let example = media.and_then(|m| {
                m.get("example").cloned().or_else(|| {
                    m.get("examples")
                        .and_then(Value::as_object)
                        .and_then(|all| all.values().next())
                        .and_then(|e| resolve(document, e).ok())
                        .and_then(|e| e.get("value").cloned())
                })
            });
            responses.push(Response {
                status: status.clone(),
                description: text(response, "description").unwrap_or_default(),
                schema: media.and_then(|m| m.get("schema")).cloned(),
                example,
                headers: response
                    .get("headers")
                    .and_then(Value::as_object)
                    .map(|h| h.keys().cloned().collect())
                    .unwrap_or_default(),
            });
        }
        Ok(Operation {
            id,
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            summary: text(raw, "summary"),
            description: text(raw, "description"),
            parameters,
            security,
            request_body,
            responses,
            effect: text(raw, "x-trillet-effect"),
            docs: texts(raw, "x-trillet-docs"),
            request_media,
            tags: texts(raw, "tags"),
        })
    }
}

/// The strings of an array member (others skipped; none when absent).
fn texts(node: &Value, key: &str) -> Vec<String> {
    node.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

fn text(node: &Value, key: &str) -> Option<String> {
    node.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn parameter(document: &Value, raw: &Value) -> Result<Parameter, SpecError> {
    let raw = resolve(document, raw)?;
    let name = text(raw, "name").ok_or_else(|| SpecError::new("a parameter has no name"))?;
    Ok(Parameter {
        location: text(raw, "in")
            .ok_or_else(|| SpecError::new(format!("parameter `{name}` has no `in`")))?,
        required: raw.get("required") == Some(&Value::Bool(true)),
        description: text(raw, "description"),
        schema: raw
            .get("schema")
            .cloned()
            .unwrap_or(Value::Object(Map::new())),
        json_content: raw
            .pointer(&format!(
                "/{}/application~1json/schema",
                crate::JSON_CONTENT
            ))
            .cloned(),
        example: raw.get("example").cloned(),
        name,
    })
}

fn scheme(document: &Value, name: &str) -> Result<SecurityScheme, SpecError> {
    let raw = document
        .pointer(&format!(
            "/components/securitySchemes/{}",
            crate::escape_pointer(name)
        ))
        .ok_or_else(|| SpecError::new(format!("security scheme `{name}` is not defined")))?;
    let raw = resolve(document, raw)?;
    Ok(SecurityScheme {
        name: name.to_owned(),
        kind: text(raw, "type").unwrap_or_default(),
        location: text(raw, "in"),
        parameter: text(raw, "name"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_operations_are_read_with_their_refs_resolved() {
        let spec = Spec::bundled().unwrap();
        let operations = spec.operations().unwrap();
        let ids: Vec<&str> = operations.iter().map(|o| o.id.as_str()).collect();
        for id in ["list_call_histories", "get_call_history", "initiate_call"] {
            assert!(ids.contains(&id), "{ids:?}");
        }
        let get = operations
            .iter()
            .find(|o| o.id == "get_call_history")
            .unwrap();
        assert_eq!(get.method, "GET");
        assert_eq!(get.path, "/v2/api/call-history/{callHistoryId}");
        assert_eq!(get.effect.as_deref(), Some("read"));
        assert_eq!(get.tags, ["call-history"]);
        assert!(get.docs[0].starts_with("https://"), "{:?}", get.docs);
        assert!(get.request_media.is_empty());
        let call = operations.iter().find(|o| o.id == "initiate_call").unwrap();
        assert_eq!(call.request_media, ["application/json"]);
        assert_eq!(get.credential_headers(), ["x-api-key", "x-workspace-id"]);
        let id = get.parameter("callHistoryId").unwrap();
        assert!(id.required);
        assert_eq!(id.location, "path");
        assert_eq!(
            get.success()
                .and_then(|r| r.example.as_ref())
                .and_then(|e| e.get("_id")),
            Some(&Value::from("1234567890abcdef"))
        );
        // A `$ref` response is resolved: its example and headers are there.
        let limited = get.response(429).unwrap();
        assert_eq!(limited.headers, ["Retry-After"]);
        assert!(limited.example.is_some());
        assert_eq!(get.response(503).map(|r| r.status.as_str()), Some("5XX"));
        assert_eq!(get.response(418), None);
        assert_eq!(
            get.response(503).and_then(Response::first_status),
            Some(500)
        );
    }

    #[test]
    fn a_missing_security_scheme_or_operation_id_is_an_error() {
        let spec = Spec::parse(
            "openapi: 3.0.3\npaths:\n  /a:\n    get:\n      operationId: a\n      security:\n        - nope: []\n      responses: {}\n",
        )
        .unwrap();
        let error = spec.operations().unwrap_err().to_string();
        assert!(
            error.contains("GET /a") && error.contains("`nope`"),
            "{error}"
        );
        let spec =
            Spec::parse("openapi: 3.0.3\npaths:\n  /a:\n    get:\n      responses: {}\n").unwrap();
        assert!(
            spec.operations()
                .unwrap_err()
                .to_string()
                .contains("no operationId")
        );
        assert!(spec.operation("x").is_err());
    }
}
