//! Requests described at run time: an operation the generated client has no typed
//! builder for (one added to the spec after codegen, or one a tool reads from the
//! spec, as `trillet api` does), sent through the same request path as every typed
//! call ([`Client::send_request`](crate::Client::send_request)).
//!
//! This module only describes and prepares the request (the URL with each path
//! parameter encoded as one segment, the query, the headers, the body); sending it,
//! with the credentials, rate limit, retries, timeouts and body limit, is
//! `request.rs`'s, like any other call. It knows nothing of the spec: a caller that
//! reads the spec (the CLI, through `trillet-spec`) turns an operation into an
//! [`OperationRequest`], so this crate stays free of the spec parser.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};

use crate::error::Error;
use trillet_api::Effect;

/// An HTTP request to the API described at run time: method, path template, path
/// parameters, query pairs, headers and an optional JSON body.
///
/// Path parameters fill the template's `{name}` placeholders, each encoded as one
/// path segment (every byte but `A–Z a–z 0–9 - . _ ~` is percent-encoded, so `/`,
/// `?` and `#` cannot change the path); a value [`path_segment_problem`] refuses
/// (empty, `.`, `..`, a backslash) is refused, as it is for the typed calls. The query is form-encoded in the order given. The request carries
/// `accept: application/json` and the `api-version` the typed operations send
/// unless a header given here replaces them; the credential headers are always the
/// client's own, whatever is given here.
///
/// Nothing is checked against the spec here: the caller is expected to have done
/// that. What cannot be sent at all (a placeholder without a value, a header name
/// that is not one, a body that is not JSON, a URL too long for an HTTP request)
/// makes [`Error::InvalidRequest`] before anything is sent: it is never retried, and
/// its message names what is wrong without repeating a long value.
///
/// ```
/// use trillet::{Client, Method, OperationRequest};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let mock = trillet_mock::MockServer::start(Default::default()).await?;
/// # let client = Client::builder()
/// #     .api_key(trillet_mock::MOCK_API_KEY)
/// #     .workspace_id(trillet_mock::MOCK_WORKSPACE_ID)
/// #     .base_url(mock.url())
/// #     .build()?;
/// // let client = Client::from_env()?;   (here: a client of the mock)
/// let request = OperationRequest::new(Method::GET, "/v2/api/call-history/{callHistoryId}")
///     .operation_id("get_call_history")
///     .path_param("callHistoryId", "1234567890abcdef");
/// let response = client.send_request(&request).await?;
/// assert_eq!(response.status(), 200);
/// let record: serde_json::Value = serde_json::from_slice(response.body())?;
/// assert_eq!(record["_id"], "1234567890abcdef");
///
/// let page = OperationRequest::new(Method::GET, "/v2/api/call-history")
///     .operation_id("list_call_histories")
///     .query("limit", "5")
///     .query("callType", "sip");
/// let body = client.send_request(&page).await?.into_body();
/// assert!(body.starts_with(b"["));
///
/// // An error status is the error a typed call gives.
/// let missing = request.clone().path_param("callHistoryId", "missing-1");
/// let error = client.send_request(&missing).await.unwrap_err();
/// assert!(error.is_not_found(), "{error}");
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct OperationRequest {
    operation: Cow<'static, str>,
    method: Method,
    path_template: String,
    path_params: Vec<(String, String)>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<Bytes>,
    /// `None`: [`Effect::for_method`].
    effect: Option<Effect>,
}

impl fmt::Debug for OperationRequest {
    /// Header values are left out: they are the caller's and may be private.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperationRequest")
            .field("operation", &self.operation)
            .field("method", &self.method)
            .field("effect", &self.effect_of())
            .field("path_template", &self.path_template)
            .field("path_params", &self.path_params)
            .field("query", &self.query)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("body_bytes", &self.body.as_ref().map(Bytes::len))
            .finish()
    }
}

impl OperationRequest {
    /// A request with `method` to `path_template` (such as
    /// `/v2/api/call-history/{callHistoryId}`), relative to the client's base URL.
    pub fn new(method: Method, path_template: impl Into<String>) -> Self {
        Self {
            operation: Cow::Borrowed("request"),
            method,
            path_template: path_template.into(),
            path_params: Vec::new(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            effect: None,
        }
    }

    /// What the operation does in the real world (the spec's `x-trillet-effect`),
    /// which decides whether it may be sent twice. Without it, an operation id of
    /// the generated client takes that operation's effect
    /// ([`trillet_api::operation_effect`]); any other request counts GET, HEAD,
    /// OPTIONS and TRACE as reads and every other method as a write.
    pub fn effect(mut self, effect: Effect) -> Self {
        self.effect = Some(effect);
        self
    }

    /// The effect the request is sent with (see [`effect`](Self::effect)).
    pub fn effect_of(&self) -> Effect {
        self.effect
            .or_else(|| trillet_api::operation_effect(&self.operation))
            .unwrap_or_else(|| Effect::for_method(self.method.as_str()))
    }

    /// The operation's id, for logs and errors (the spec's `operationId`).
    pub fn operation_id(mut self, id: impl Into<String>) -> Self {
        self.operation = Cow::Owned(id.into());
        self
    }

    /// The value of the template's `{name}` placeholder, sent as one path segment
    /// (given twice, the last value wins).
    pub fn path_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.path_params.push((name.into(), value.into()));
        self
    }

    /// One query pair, appended in order (a name may repeat).
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// One request header (replacing a default of the same name; repeated names are
    /// all sent). `x-api-key` and `x-workspace-id` are the client's and replaced.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The exact bytes of a JSON document to send as the body, with
    /// `content-type: application/json`.
    pub fn json_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// The operation id (`request` unless one was given).
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path template, as given.
    pub fn path_template(&self) -> &str {
        &self.path_template
    }

    /// The path, template filled in and each parameter encoded, as it is sent.
    pub fn path(&self) -> Result<String, Error> {
        let invalid = |reason: String| Error::InvalidRequest {
            operation: self.operation.to_string(),
            reason,
        };
        let template = &self.path_template;
        if !template.starts_with('/') {
            return Err(invalid(format!(
                "the path template {template:?} does not start with `/`"
            )));
        }
        let mut path = String::with_capacity(template.len() + 32);
        let mut used = Vec::new();
        let mut rest = template.as_str();
        while let Some(open) = rest.find(['{', '}']) {
            let (literal, tail) = rest.split_at(open);
            path.push_str(literal);
            let close = match tail.strip_prefix('{').and_then(|t| t.find('}')) {
                Some(close) => close,
                None => {
                    return Err(invalid(format!(
                        "the path template {template:?} has an unmatched brace"
                    )));
                }
            };
            let name = &tail[1..=close];
            let value = self
                .path_params
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .ok_or_else(|| invalid(format!("no value for path parameter `{name}`")))?;
            if let Some(reason) = path_segment_problem(value) {
                return Err(invalid(format!(
                    "path parameter `{name}` cannot be {:?}: {reason}",
                    crate::request::snippet(value.as_bytes())
                )));
            }
            encode_segment(value, &mut path);
            used.push(name);
            rest = &tail[close + 2..];
        }
        path.push_str(rest);
        if let Some((name, _)) = self
            .path_params
            .iter()
            .find(|(n, _)| !used.contains(&n.as_str()))
        {
            return Err(invalid(format!(
                "the path template has no placeholder `{{{name}}}`"
            )));
        }
        Ok(path)
    }

    /// The request ready to send from `base_url`, checked once before any attempt.
    pub(crate) fn prepare(&self, base_url: &str) -> Result<Prepared, Error> {
        let invalid = |reason: String| Error::InvalidRequest {
            operation: self.operation.to_string(),
            reason,
        };
        let path = self.path()?;
        let mut url = url::Url::parse(&format!("{}{path}", base_url.trim_end_matches('/')))
            .map_err(|e| invalid(format!("not a URL: {e}")))?;
        if !self.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&self.query);
        }
        // The HTTP client turns the URL into an `http::Uri` for each attempt; one it
        // cannot (longer than an `http::Uri` holds, 64 KiB) would fail every attempt
        // the same way, so it is refused here, naming its length, not its text.
        if let Err(e) = http::Uri::try_from(url.as_str()) {
            return Err(invalid(format!(
                "the request URL cannot be sent ({} bytes: {e}); shorten the path \
                 parameters and the query",
                url.as_str().len()
            )));
        }
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Ok(version) = HeaderValue::from_str(crate::request::api_version()) {
            headers.insert(HeaderName::from_static("api-version"), version);
        }
        let mut given = HeaderMap::new();
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                invalid(format!(
                    "{:?} is not a header name",
                    crate::request::snippet(name.as_bytes())
                ))
            })?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| invalid(format!("the value of header `{name}` cannot be sent")))?;
            given.append(name, value);
        }
        for name in given.keys() {
            headers.remove(name);
        }
        for (name, value) in &given {
            headers.append(name, value.clone());
        }
        if let Some(body) = &self.body {
            serde_json::from_slice::<serde::de::IgnoredAny>(body)
                .map_err(|e| invalid(format!("the body is not JSON: {e}")))?;
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        Ok(Prepared {
            operation: self.operation.clone(),
            effect: self.effect_of(),
            method: self.method.clone(),
            url,
            headers,
            body: self.body.clone(),
        })
    }
}

/// Why `value` cannot be sent as one path segment, or `None` when it can: the one
/// rule for path parameter values, used by the typed calls (a call-history id), by
/// [`OperationRequest`], and by a caller that checks values before building a
/// request (`trillet api` gives it to `trillet_spec::ParameterCheck::path_rule`),
/// so none of them can disagree.
///
/// Refused: an empty value and the dot segments `.` and `..` (URL parsers and
/// servers resolve them, even percent-encoded, so the request would reach another
/// path), and any value with a backslash (read as `/` in http(s) URLs; the
/// generated client leaves it unencoded, and servers that decode `%5C` read it the
/// same way). Anything else is one segment once percent-encoded.
///
/// ```
/// use trillet::path_segment_problem;
/// assert_eq!(path_segment_problem("65a7f3c2e4b0a1d2c3f4e5a6"), None);
/// assert_eq!(path_segment_problem("a/b"), None); // sent as a%2Fb
/// assert!(path_segment_problem("..").is_some());
/// assert!(path_segment_problem("\\..\\x").is_some());
/// ```
pub fn path_segment_problem(value: &str) -> Option<&'static str> {
    if value.is_empty() {
        Some("it is empty")
    } else if value == "." || value == ".." {
        Some("a dot segment would change the request path")
    } else if value.contains('\\') {
        Some("a backslash is read as `/` in URLs and would change the request path")
    } else {
        None
    }
}

/// Percent-encodes `value` as one path segment: only unreserved characters stay.
fn encode_segment(value: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in value.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 0xf)] as char);
        }
    }
}

/// An [`OperationRequest`] checked and resolved against a base URL: each attempt
/// builds its `reqwest::Request` from it (cheap clones; the body is shared).
pub(crate) struct Prepared {
    pub(crate) operation: Cow<'static, str>,
    pub(crate) effect: Effect,
    method: Method,
    url: url::Url,
    headers: HeaderMap,
    body: Option<Bytes>,
}

impl Prepared {
    /// One attempt's request.
    pub(crate) fn request(&self, client: &reqwest::Client) -> reqwest::Result<reqwest::Request> {
        let mut builder = client
            .request(self.method.clone(), self.url.clone())
            .headers(self.headers.clone());
        if let Some(body) = &self.body {
            builder = builder.body(body.clone());
        }
        builder.build()
    }
}

/// A successful (2xx) response to an [`OperationRequest`]: its status, headers and
/// the body exactly as received. An error status is an [`Error`] instead, as for
/// the typed calls.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RawResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl RawResponse {
    pub(crate) fn new(status: StatusCode, headers: HeaderMap, body: Bytes) -> Self {
        Self {
            status,
            headers,
            body,
        }
    }

    /// The HTTP status (a success).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body, byte for byte as received.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body, by value.
    pub fn into_body(self) -> Bytes {
        self.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(template: &str) -> OperationRequest {
        OperationRequest::new(Method::GET, template).operation_id("op")
    }

    #[test]
    fn path_parameters_are_one_segment_each() {
        let path = get("/a/{id}/b/{x}")
            .path_param("id", "a/b?c#d e f%2F")
            .path_param("x", "é~.-_")
            .path()
            .unwrap();
        assert_eq!(path, "/a/a%2Fb%3Fc%23d%20e%20f%252F/b/%C3%A9~.-_");
        assert_eq!(get("/plain").path().unwrap(), "/plain");
    }

    #[test]
    fn what_cannot_be_sent_is_refused_naming_the_operation() {
        for (request, needle) in [
            (get("/a/{id}"), "no value for path parameter `id`"),
            (get("/a/{id}").path_param("id", ".."), "would change"),
            (get("/a/{id}").path_param("id", "."), "would change"),
            (get("/a/{id}").path_param("id", "a\\b"), "backslash"),
            (get("/a/{id}").path_param("id", ""), "empty"),
            (get("/a/{id").path_param("id", "1"), "unmatched"),
            (get("/a/}").path_param("id", "1"), "unmatched"),
            (get("/a").path_param("id", "1"), "no placeholder `{id}`"),
            (get("a"), "does not start"),
        ] {
            let error = request.path().unwrap_err();
            assert!(
                matches!(&error, Error::InvalidRequest { operation, .. } if operation == "op"),
                "{error:?}"
            );
            assert!(error.to_string().contains(needle), "{error}");
        }
        let bad_header = get("/a").header("bad name", "v").prepare("http://h");
        assert!(bad_header.is_err());
        let bad_body = get("/a").json_body("{nope").prepare("http://h");
        assert!(bad_body.err().unwrap().to_string().contains("not JSON"));
    }

    #[test]
    fn a_path_parameter_is_refused_exactly_when_the_one_rule_refuses_it() {
        for value in [
            "", ".", "..", "...", "a.b", "\\", "a\\b", "%2e%2e", "a/b", "é",
        ] {
            let refused = get("/a/{id}").path_param("id", value).path().is_err();
            assert_eq!(refused, path_segment_problem(value).is_some(), "{value:?}");
        }
        assert_eq!(path_segment_problem("..."), None);
        assert!(path_segment_problem("x\\..").is_some());
    }

    #[test]
    fn the_query_is_form_encoded_in_order_and_headers_replace_defaults() {
        let prepared = get("/a")
            .query("b", "x y&z")
            .query("a", "1")
            .header("accept", "text/plain")
            .json_body(r#"{"k":1}"#)
            .prepare("http://127.0.0.1:1/")
            .unwrap();
        assert_eq!(prepared.url.as_str(), "http://127.0.0.1:1/a?b=x+y%26z&a=1");
        assert_eq!(prepared.headers[ACCEPT], "text/plain");
        assert_eq!(
            prepared.headers["api-version"],
            crate::request::api_version()
        );
        assert_eq!(prepared.headers[CONTENT_TYPE], "application/json");
    }
}
