//! Shared helpers: start a mock on a free port and send authenticated requests.

#![allow(dead_code)]

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

/// Collects what a `tracing` subscriber writes, as a test reads a log.
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("not poisoned")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Captures this thread's events up to `level` while the guard lives.
    pub fn install(
        level: tracing_subscriber::filter::LevelFilter,
    ) -> (Self, tracing::subscriber::DefaultGuard) {
        let captured = Self::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        (captured, tracing::subscriber::set_default(subscriber))
    }

    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("not poisoned")).into_owned()
    }
}
