//! What the request path logs: one `debug` event per finished attempt (fast path
//! included), a `warn` with the real wait when the API throttles, span fields once.

use crate::common;

use std::time::Duration;

use common::{Captured, client, envelope, record, serve};

/// The log lines that contain `needle`.
fn lines<'a>(logs: &'a str, needle: &str) -> Vec<&'a str> {
    logs.lines().filter(|l| l.contains(needle)).collect()
}

// A current-thread runtime, so every event is on the thread the subscriber is set for.
#[tokio::test(flavor = "current_thread")]
async fn a_successful_request_logs_one_attempt_event_with_its_facts() {
    let (captured, _guard) = Captured::install(tracing::Level::DEBUG);
    let server = serve(|_, _| record("a")).await;
    client(&server.url)
        .build()
        .unwrap()
        .call_history("a")
        .await
        .unwrap();
    let logs = captured.text();
    let attempts = lines(&logs, "attempt finished");
    assert_eq!(attempts.len(), 1, "{logs}");
    let line = attempts[0];
    for field in [
        "operation=\"get_call_history\"",
        "attempt=1",
        "status=200",
        "latency_ms=",
        "bytes=55",
    ] {
        assert!(line.contains(field), "{field} missing: {line}");
    }
    assert!(
        line.contains("trillet.call{operation=\"get_call_history\"}"),
        "{line}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn retries_log_an_event_per_attempt_and_span_fields_once() {
    let (captured, _guard) = Captured::install(tracing::Level::DEBUG);
    let server = serve(|n, _| {
        if n < 2 {
            envelope(503, "unavailable")
        } else {
            record("a")
        }
    })
    .await;
    client(&server.url)
        .build()
        .unwrap()
        .call_history("a")
        .await
        .unwrap();
    let logs = captured.text();
    assert_eq!(lines(&logs, "attempt failed").len(), 2, "{logs}");
    assert_eq!(lines(&logs, "attempt finished").len(), 1, "{logs}");
    assert_eq!(lines(&logs, "retrying").len(), 2, "{logs}");
    for line in logs.lines() {
        assert!(
            line.matches("operation=").count() <= 2,
            "a field recorded twice: {line}"
        );
        assert!(!line.contains("attempt=1 attempt=2"), "{line}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_throttled_request_warns_with_the_real_wait_limiter_included() {
    let (captured, _guard) = Captured::install(tracing::Level::WARN);
    let server = serve(|n, _| {
        if n == 0 {
            let mut r = envelope(429, "rate_limit_exceeded");
            r.headers_mut().insert("retry-after", "1".parse().unwrap());
            r
        } else {
            record("a")
        }
    })
    .await;
    // 30 a minute: the retry also waits for its permit, up to 2 s after the first.
    let c = client(&server.url)
        .rate_limit(trillet::RateLimit::per_minute(30))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    c.call_history("a").await.unwrap();
    let took = started.elapsed();
    let logs = captured.text();
    let warned = lines(&logs, "throttled by the API");
    assert_eq!(warned.len(), 1, "{logs}");
    let waited: u64 = warned[0]
        .split("waited_ms=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no waited_ms: {}", warned[0]));
    assert!(took >= Duration::from_millis(1900), "{took:?}");
    assert!(
        waited >= 1900,
        "the limiter's wait is missing: {}",
        warned[0]
    );
    assert!(warned[0].contains("asked_ms="), "{}", warned[0]);
}
