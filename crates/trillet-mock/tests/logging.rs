//! Each request is logged with `tracing` at `debug` (method, path, status,
//! latency, fault) and no header value. Alone in its binary: `tracing` caches per-callsite
//! interest process-wide, so a thread-scoped subscriber must not race other tests.

mod common;

use common::{client, record_url, unlimited};

/// Collects what a `tracing` subscriber writes.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

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

// A current-thread runtime: the server runs on this thread, under this subscriber.
#[tokio::test(flavor = "current_thread")]
async fn each_request_is_logged_at_debug_without_header_values() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = unlimited().await;
    let secret = "sk-live-do-not-log-7f3a";
    let response = client()
        .get(record_url(&server, "abc"))
        .header("x-api-key", secret)
        .header("x-workspace-id", "ws-do-not-log")
        .header(trillet_mock::FAULT_HEADER, "slow=1,503")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    server.shutdown().await.unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for expected in [
        "method=GET",
        "path=/v2/api/call-history/abc",
        "status=503",
        "latency_ms=",
        "fault=slow=1,503",
    ] {
        assert!(logs.contains(expected), "{expected} missing from {logs}");
    }
    assert!(!logs.contains(secret), "{logs}");
    assert!(!logs.contains("ws-do-not-log"), "{logs}");
}
