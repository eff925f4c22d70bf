//! Writes are never sent twice once they may have reached the server: the API has no
//! idempotency key, so a repeated `POST /v1/api/call` would place a second real
//! call. Real loopback servers answer 503s, throttle, drop the connection after
//! reading the whole request, hang, or refuse to connect; each test counts what
//! reached them.

#![allow(clippy::unwrap_used)] // helpers of tests: a failure is a broken test setup

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common;

use common::{client, envelope, json, serve};
use trillet::{Effect, Error, Method, OperationRequest, Timeouts};

const CALL_BODY: &str = r#"{"to":"+15550100","call_agent_id":"a1"}"#;

fn place_call() -> OperationRequest {
    OperationRequest::new(Method::POST, "/v1/api/call")
        .operation_id("initiate_call")
        .effect(Effect::Call)
        .json_body(CALL_BODY)
}

fn with_retry_after(
    mut response: axum::response::Response,
    seconds: &str,
) -> axum::response::Response {
    response
        .headers_mut()
        .insert("retry-after", seconds.parse().unwrap());
    response
}

#[tokio::test]
async fn a_503_to_a_call_is_sent_once_and_the_error_says_what_may_have_happened() {
    let server = serve(|_, _| envelope(503, "unavailable")).await;
    let c = client(&server.url).build().unwrap();
    let error = c.send_request(&place_call()).await.unwrap_err();
    assert_eq!(
        server.requests().len(),
        1,
        "a 503 to a call must not be repeated"
    );
    assert!(error.is_unconfirmed(), "{error:?}");
    assert!(
        !error.is_retryable(),
        "the caller must not be told to retry"
    );
    assert!(error.may_have_reached_server());
    assert_eq!(error.effect(), Some(Effect::Call));
    // The accessors still describe the failure itself.
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(error.code(), Some("unavailable"));
    let text = error.to_string();
    for needle in [
        "the API answered 503",
        "not retried",
        "initiate_call may have placed or ended a call",
        "/v2/api/active-calls",
    ] {
        assert!(text.contains(needle), "{needle:?} is missing from: {text}");
    }
    assert!(matches!(error, Error::Unconfirmed { .. }));
}

#[tokio::test]
async fn a_post_without_an_effect_is_a_write_and_is_not_repeated_after_a_5xx() {
    for status in [500, 502, 503, 504] {
        let server = serve(move |_, _| envelope(status, "server_error")).await;
        let c = client(&server.url).build().unwrap();
        let request = OperationRequest::new(Method::POST, "/v1/api/flow-folders")
            .json_body(r#"{"name":"x"}"#);
        assert_eq!(request.effect_of(), Effect::Write);
        let error = c.send_request(&request).await.unwrap_err();
        assert_eq!(server.requests().len(), 1, "{status}");
        assert_eq!(error.effect(), Some(Effect::Write), "{status}");
        assert!(
            error
                .to_string()
                .contains("may have created or changed a record"),
            "{error}"
        );
    }
}

/// PUT is not taken to be idempotent: Trillet's call-flow update appends webhooks.
#[tokio::test]
async fn put_and_delete_are_not_repeated_either() {
    for method in [Method::PUT, Method::PATCH, Method::DELETE] {
        let server = serve(|_, _| envelope(503, "unavailable")).await;
        let c = client(&server.url).build().unwrap();
        let request =
            OperationRequest::new(method.clone(), "/v1/api/call-flows/{id}").path_param("id", "f1");
        let error = c.send_request(&request).await.unwrap_err();
        assert_eq!(server.requests().len(), 1, "{method}");
        assert!(error.is_unconfirmed(), "{method}: {error}");
    }
}

#[tokio::test]
async fn the_same_503_to_a_read_is_retried() {
    let server = serve(|n, _| {
        if n == 0 {
            envelope(503, "unavailable")
        } else {
            json(200, "[]")
        }
    })
    .await;
    let c = client(&server.url).build().unwrap();
    let list = OperationRequest::new(Method::GET, "/v2/api/call-history");
    assert_eq!(list.effect_of(), Effect::Read);
    c.send_request(&list).await.unwrap();
    assert_eq!(server.requests().len(), 2);
    // A POST the spec calls a read (a search, say) is retried like one.
    let server = serve(|n, _| {
        if n == 0 {
            envelope(503, "unavailable")
        } else {
            json(200, "[]")
        }
    })
    .await;
    let c = client(&server.url).build().unwrap();
    let search = OperationRequest::new(Method::POST, "/v1/api/search")
        .effect(Effect::Read)
        .json_body("{}");
    c.send_request(&search).await.unwrap();
    assert_eq!(server.requests().len(), 2);
}

/// The docs' rate-limit envelope (`rate_limit_exceeded`) says the request was
/// refused before it was processed: a write is retried after the wait.
#[tokio::test]
async fn a_documented_rate_limit_refusal_of_a_call_is_waited_out_and_retried() {
    let server = serve(|n, _| {
        if n == 0 {
            with_retry_after(envelope(429, "rate_limit_exceeded"), "0")
        } else {
            json(200, r#"{"callId":"c1"}"#)
        }
    })
    .await;
    let c = client(&server.url).build().unwrap();
    let response = c.send_request(&place_call()).await.unwrap();
    assert_eq!(response.body(), br#"{"callId":"c1"}"#);
    assert_eq!(server.requests().len(), 2);
}

/// Any other 429 (the undocumented concurrent-call limit, a proxy's) proves nothing.
#[tokio::test]
async fn a_429_without_the_documented_code_ends_a_call_unconfirmed() {
    for reply in [
        || with_retry_after(envelope(429, "concurrent_call_limit"), "0"),
        || with_retry_after(json(429, "<html>slow down</html>"), "0"),
    ] {
        let server = serve(move |_, _| reply()).await;
        let c = client(&server.url).build().unwrap();
        let error = c.send_request(&place_call()).await.unwrap_err();
        assert_eq!(server.requests().len(), 1);
        assert!(error.is_unconfirmed() && error.is_rate_limited(), "{error}");
    }
}

/// What a raw server does once it has read a whole request.
#[derive(Clone, Copy)]
enum After {
    /// Closes the connection without a byte of response.
    Drop,
    /// Holds the connection open and says nothing.
    Hang,
}

/// A raw TCP server that reads each request whole (head and `content-length` body)
/// and then misbehaves; it counts the requests it read.
async fn misbehaving(after: After) -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let read = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&read);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            let whole = loop {
                if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    if data.len() >= end + 4 + length {
                        break true;
                    }
                }
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break false,
                    Ok(k) => data.extend_from_slice(&buf[..k]),
                }
            };
            if whole {
                count.fetch_add(1, Ordering::SeqCst);
            }
            match after {
                After::Drop => {
                    let _ = socket.shutdown().await;
                }
                After::Hang => held.push(socket),
            }
        }
    });
    (url, read)
}

#[tokio::test]
async fn a_connection_dropped_after_the_call_was_read_is_not_sent_again() {
    let (url, read) = misbehaving(After::Drop).await;
    let c = client(&url).build().unwrap();
    let error = c.send_request(&place_call()).await.unwrap_err();
    assert_eq!(
        read.load(Ordering::SeqCst),
        1,
        "the call reached the server once"
    );
    assert!(error.is_unconfirmed() && error.is_transport(), "{error:?}");
    assert!(error.to_string().contains("not retried"), "{error}");
    // The same drop to a read is retried (three attempts by default).
    let (url, read) = misbehaving(After::Drop).await;
    let c = client(&url).build().unwrap();
    let list = OperationRequest::new(Method::GET, "/v2/api/call-history");
    let error = c.send_request(&list).await.unwrap_err();
    assert_eq!(read.load(Ordering::SeqCst), 3, "{error}");
    assert!(!error.is_unconfirmed());
}

#[tokio::test]
async fn a_call_that_times_out_after_it_was_sent_is_not_sent_again() {
    let (url, read) = misbehaving(After::Hang).await;
    let c = client(&url)
        .timeouts(Timeouts::default().attempt(Duration::from_millis(300)))
        .build()
        .unwrap();
    let error = c.send_request(&place_call()).await.unwrap_err();
    assert_eq!(read.load(Ordering::SeqCst), 1);
    assert!(error.is_unconfirmed() && error.is_timeout(), "{error:?}");
}

/// A refused connection never carried a byte of the request: a call is retried.
#[tokio::test]
async fn a_refused_connection_is_retried_even_for_a_call() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let c = client(&url).build().unwrap();
    let error = c.send_request(&place_call()).await.unwrap_err();
    assert!(!error.is_unconfirmed(), "{error}");
    assert!(!error.may_have_reached_server(), "{error}");
    assert!(error.to_string().contains("after 3 attempts"), "{error}");
}

/// Generated operations take their effect from the spec's table.
#[tokio::test]
async fn generated_operations_read_their_effect_from_the_spec() {
    assert_eq!(
        trillet::api::operation_effect("get_call_history"),
        Some(Effect::Read)
    );
    assert_eq!(
        trillet::api::operation_effect("initiate_call"),
        Some(Effect::Call)
    );
    assert_eq!(trillet::api::operation_effect("no_such_operation"), None);
    let server = serve(|n, _| {
        if n == 0 {
            envelope(503, "unavailable")
        } else {
            common::record("a")
        }
    })
    .await;
    let c = client(&server.url).build().unwrap();
    c.call_history("a").await.unwrap();
    assert_eq!(server.requests().len(), 2, "a read is retried");
}

/// The typed client's `initiate_call` (a POST with a JSON body, generated from the
/// spec) is sent once after a 503, with the body the builder made.
#[tokio::test]
async fn a_typed_call_is_sent_once_after_a_503() {
    let server = serve(|_, _| envelope(503, "unavailable")).await;
    let c = client(&server.url).build().unwrap();
    let error = c
        .call(|api| {
            api.initiate_call()
                .body(
                    trillet::api::types::InitiateCallRequest::builder()
                        .to("+14155551234")
                        .call_agent_id("a1"),
                )
                .send()
        })
        .await
        .unwrap_err();
    assert!(error.is_unconfirmed(), "{error}");
    assert_eq!(error.effect(), Some(Effect::Call));
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "sent once");
    let sent: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(
        sent,
        serde_json::json!({"to": "+14155551234", "call_agent_id": "a1"})
    );
}
