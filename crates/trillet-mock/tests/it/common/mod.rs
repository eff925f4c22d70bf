//! Shared helpers: start a mock on a free port and send authenticated requests.

#![allow(dead_code)]

// The same capture as the client's tests: one global subscriber, per-thread sinks.
#[path = "../../../../trillet/tests/it/common/capture.rs"]
mod capture;
pub use capture::Captured;

use trillet_mock::{MOCK_API_KEY, MOCK_WORKSPACE_ID, MockConfig, MockServer};

/// A server without a rate limit, for tests that send many requests.
pub async fn unlimited() -> MockServer {
    start(MockConfig {
        rate_limit_per_minute: None,
        ..Default::default()
    })
    .await
}

pub async fn start(config: MockConfig) -> MockServer {
    MockServer::start(config).await.expect("the mock starts")
}

/// A client that does not follow redirects (so the redirect fault is visible).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

pub fn record_url(server: &MockServer, id: &str) -> String {
    format!("{}/v2/api/call-history/{id}", server.url())
}

/// GET of record `id` with the mock's credentials.
pub fn get(client: &reqwest::Client, server: &MockServer, id: &str) -> reqwest::RequestBuilder {
    client
        .get(record_url(server, id))
        .header("x-api-key", MOCK_API_KEY)
        .header("x-workspace-id", MOCK_WORKSPACE_ID)
}

/// Asserts `body` is an `ErrorEnvelope` with `code` and returns it as JSON.
pub fn assert_envelope(body: &str, code: &str) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_str(body).expect("the body is JSON");
    let spec = trillet_spec::Spec::bundled().expect("the spec parses");
    let validator = spec.validator("ErrorEnvelope").expect("a validator");
    assert!(
        validator.problems(&value).is_empty(),
        "{body}: {:?}",
        validator.problems(&value)
    );
    assert_eq!(value["error"]["code"], code, "{body}");
    value
}
