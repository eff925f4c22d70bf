//! Each request is logged with `tracing` at `debug` (method, path, status,
//! latency, fault) and no header value. The capture is per thread
//! (`common::Captured`), so other tests of the binary do not disturb it.

use crate::common;

use common::{Captured, client, record_url, unlimited};

// A current-thread runtime: the server runs on this thread, under this subscriber.
#[tokio::test(flavor = "current_thread")]
async fn each_request_is_logged_at_debug_without_header_values() {
    let (captured, _guard) = Captured::install(tracing::Level::DEBUG);

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

    let logs = captured.text();
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
