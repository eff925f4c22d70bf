//! The API key never shows up: not in Debug, not in errors, not in logs at TRACE.

use crate::common;

use common::{Captured, KEY, client, envelope, serve};
use trillet::RetryPolicy;

#[tokio::test]
async fn debug_display_and_trace_logs_never_contain_the_key() {
    let (captured, _guard) = Captured::install(tracing::Level::TRACE);

    let server = serve(|n, _| {
        if n == 0 {
            envelope(503, "unavailable")
        } else {
            envelope(401, "unauthorized")
        }
    })
    .await;
    let builder = client(&server.url).retry(RetryPolicy::default().max_attempts(2));
    let builder_debug = format!("{builder:?}");
    let client = builder.build().unwrap();
    let err = client.call_history("a").await.unwrap_err();

    let logs = captured.text();
    // The logs are really there (a span per request with its attempt and status) ...
    assert!(
        logs.contains("trillet.call"),
        "no request span logged:\n{logs}"
    );
    assert!(logs.contains("retrying"), "no retry logged:\n{logs}");
    // ... and nothing shows the key.
    for (what, text) in [
        ("builder Debug", builder_debug),
        ("client Debug", format!("{client:?}")),
        ("error Display", err.to_string()),
        ("error Debug", format!("{err:?}")),
        ("logs", logs),
    ] {
        assert!(!text.contains(KEY), "{what} shows the key:\n{text}");
        assert!(
            !text.contains("SECRET"),
            "{what} shows part of the key:\n{text}"
        );
    }
    assert!(err.to_string().contains("check TRILLET_API_KEY"), "{err}");
}

#[test]
fn from_env_errors_name_the_missing_variable() {
    let err = trillet::ClientBuilder::from_env_with(|_| None).unwrap_err();
    assert!(err.to_string().contains("TRILLET_API_KEY"), "{err}");
    let err = trillet::ClientBuilder::from_env_with(|name| {
        (name == "TRILLET_API_KEY").then(|| "k".to_owned())
    })
    .unwrap_err();
    assert!(err.to_string().contains("TRILLET_WORKSPACE_ID"), "{err}");
}
