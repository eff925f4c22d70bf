//! Error responses in the spec's `ErrorEnvelope` shape, with a JSON content type.
//! Codes and messages follow `spec/examples/error.*.json`.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{SecondsFormat, TimeDelta, Utc};
use serde_json::json;

const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A response with `content-type: application/json` and the given body.
pub(crate) fn json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    (status, [(header::CONTENT_TYPE, JSON)], body.into()).into_response()
}

/// `{"error": {"code": …, "message": …}}` with `status`.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "error": { "code": code, "message": message } });
    json_response(status, body.to_string())
}

/// 429 with `Retry-After: <retry_after_secs>` and, in the envelope, `reset_at`
/// that many seconds from now.
pub(crate) fn rate_limited(retry_after_secs: u64) -> Response {
    let body = json!({
        "error": {
            "code": "rate_limit_exceeded",
            "message": "Too many requests",
            "reset_at": reset_at(retry_after_secs),
        }
    });
    let mut response = json_response(StatusCode::TOO_MANY_REQUESTS, body.to_string());
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

/// The RFC 3339 instant `retry_after_secs` from now.
pub(crate) fn reset_at(retry_after_secs: u64) -> String {
    let now = Utc::now();
    i64::try_from(retry_after_secs)
        .ok()
        .and_then(TimeDelta::try_seconds)
        .and_then(|wait| now.checked_add_signed(wait))
        .unwrap_or(now)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// 404 for a call-history id that does not exist (`error.404.json`).
pub(crate) fn record_not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "Call history not found.",
    )
}

/// 5xx with the envelope of `error.500.json`, coded by status.
pub(crate) fn server_error(status: StatusCode) -> Response {
    let (code, message) = match status {
        StatusCode::BAD_GATEWAY => ("bad_gateway", "The upstream service failed."),
        StatusCode::SERVICE_UNAVAILABLE => (
            "service_unavailable",
            "The service is temporarily unavailable.",
        ),
        _ => ("internal_error", "An unexpected error occurred."),
    };
    error(status, code, message)
}
