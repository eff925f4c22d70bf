//! Requests described at run time (`OperationRequest`, `Client::send_request`)
//! against real loopback servers: the same retries, errors, credentials, body limit
//! and logs as the typed calls, and the exact body back.

use crate::common;

use common::{Captured, KEY, WORKSPACE, client, envelope, json, serve};
use trillet::{Error, Method, OperationRequest};

/// A body with what a typed model would change: key order, `0.10`, a big integer,
/// an unknown field, odd spacing.
const BODY: &str = r#"{ "z":1, "_id":"a",  "cost":{"customer_charge":0.10}, "n":18446744073709551616000, "new":[true] }"#;

fn get_a() -> OperationRequest {
    OperationRequest::new(Method::GET, "/v2/api/call-history/{callHistoryId}")
        .operation_id("get_call_history")
        .path_param("callHistoryId", "a")
}

#[tokio::test]
async fn a_503_is_retried_and_the_exact_body_of_the_200_comes_back() {
    let server = serve(|n, _| {
        if n == 0 {
            envelope(503, "unavailable")
        } else {
            json(200, BODY)
        }
    })
    .await;
    let c = client(&server.url).build().unwrap();
    let response = c.send_request(&get_a()).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.body(), BODY.as_bytes());
    assert_eq!(response.headers()["content-type"], "application/json");
    let seen = server.requests();
    assert_eq!(seen.len(), 2, "one retry after the 503");
    for request in &seen {
        assert_eq!(request.path, "/v2/api/call-history/a");
        assert_eq!(request.headers["x-api-key"], KEY);
        assert_eq!(request.headers["x-workspace-id"], WORKSPACE);
        assert_eq!(request.headers["accept"], "application/json");
        assert_eq!(request.headers["api-version"], "v2");
    }
}

#[tokio::test]
async fn a_404_envelope_is_the_typed_api_error_and_is_not_retried() {
    let server = serve(|_, _| envelope(404, "not_found")).await;
    let c = client(&server.url).build().unwrap();
    let error = c.send_request(&get_a()).await.unwrap_err();
    assert!(error.is_not_found(), "{error:?}");
    assert!(!error.is_retryable());
    let api = error.api_error().expect("an API error");
    assert_eq!(api.status.as_u16(), 404);
    assert_eq!(api.code.as_deref(), Some("not_found"));
    assert_eq!(api.message, "scripted 404");
    assert_eq!(api.path.as_deref(), Some("/v2/api/call-history/a"));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_like_a_typed_call() {
    let server = serve(|n, _| {
        if n == 0 {
            let mut response = envelope(429, "rate_limit_exceeded");
            response
                .headers_mut()
                .insert("retry-after", "1".parse().unwrap());
            response
        } else {
            json(200, "[]")
        }
    })
    .await;
    let c = client(&server.url).build().unwrap();
    let started = std::time::Instant::now();
    let list = OperationRequest::new(Method::GET, "/v2/api/call-history").query("limit", "5");
    let response = c.send_request(&list).await.unwrap();
    assert_eq!(response.body(), b"[]");
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
    assert_eq!(server.requests()[1].query, "limit=5");
}

#[tokio::test]
async fn query_pairs_and_path_parameters_are_encoded_as_sent() {
    let server = serve(|_, _| json(200, "{}")).await;
    let c = client(&server.url).build().unwrap();
    let request = OperationRequest::new(Method::GET, "/v2/api/call-history/{id}")
        .path_param("id", "../x?y")
        .query("callIds", r#"["a b","c&d"]"#)
        .query("page", "2");
    c.send_request(&request).await.unwrap();
    let seen = &server.requests()[0];
    assert_eq!(seen.path, "/v2/api/call-history/..%2Fx%3Fy");
    assert_eq!(
        common::query_param(seen, "callIds").as_deref(),
        Some(r#"["a b","c&d"]"#)
    );
    assert_eq!(common::query_param(seen, "page").as_deref(), Some("2"));
}

#[tokio::test]
async fn the_credentials_are_the_clients_and_never_shown() {
    let server = serve(|_, _| envelope(401, "unauthorized")).await;
    let c = client(&server.url).build().unwrap();
    // A header named like a credential is replaced by the client's own.
    let request = get_a().header("x-api-key", "forged").header("x-trace", "1");
    let (log, _guard) = Captured::install(tracing::Level::TRACE);
    let error = c.send_request(&request).await.unwrap_err();
    let seen = &server.requests()[0];
    assert_eq!(seen.headers["x-api-key"], KEY);
    assert_eq!(seen.headers.get_all("x-api-key").iter().count(), 1);
    assert_eq!(seen.headers["x-trace"], "1");
    for text in [
        format!("{request:?}"),
        format!("{error}"),
        format!("{error:?}"),
        format!("{c:?}"),
        log.text(),
    ] {
        assert!(!text.contains(KEY), "the key leaked: {text}");
        assert!(!text.contains("forged"), "a header value leaked: {text}");
    }
    assert!(log.text().contains("get_call_history"), "{}", log.text());
}

#[tokio::test]
async fn a_request_that_cannot_be_sent_is_refused_before_any_request() {
    let server = serve(|_, _| json(200, "{}")).await;
    let c = client(&server.url).build().unwrap();
    for request in [
        OperationRequest::new(Method::GET, "/v2/api/call-history/{id}").operation_id("op"),
        OperationRequest::new(Method::GET, "/v2/api/call-history/{id}").path_param("id", ".."),
        OperationRequest::new(Method::POST, "/x").json_body("{not json"),
    ] {
        let error = c.send_request(&request).await.unwrap_err();
        assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
    }
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn the_body_limit_applies() {
    let server = serve(|_, _| json(200, &format!("\"{}\"", "x".repeat(10_000)))).await;
    let c = client(&server.url).max_body_bytes(1000).build().unwrap();
    let error = c.send_request(&get_a()).await.unwrap_err();
    assert!(
        matches!(error, Error::BodyTooLarge { limit: 1000 }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_json_body_is_sent_as_given() {
    use std::sync::{Arc, Mutex};
    /// What arrived: `METHOD content-type`, and the body.
    type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;
    let bodies: Received = Arc::default();
    let log = Arc::clone(&bodies);
    let app =
        axum::Router::new().fallback(move |request: axum::http::Request<axum::body::Body>| {
            let log = Arc::clone(&log);
            async move {
                let method = request.method().to_string();
                let content_type = request.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                let body = axum::body::to_bytes(request.into_body(), 1 << 20)
                    .await
                    .unwrap();
                log.lock()
                    .unwrap()
                    .push((format!("{method} {content_type}"), body.to_vec()));
                json(201, r#"{"ok":true}"#)
            }
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let c = client(&url).build().unwrap();
    let sent = r#"{"a": 0.10, "b": [1,2]}"#;
    let response = c
        .send_request(&OperationRequest::new(Method::POST, "/things").json_body(sent))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(response.body(), br#"{"ok":true}"#);
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies[0].0, "POST application/json");
    assert_eq!(bodies[0].1, sent.as_bytes());
}

/// A request whose URL cannot be built (a 70,000-character path parameter or query
/// value) is the caller's error: refused before any attempt, never retried, and the
/// message does not repeat the value. The same for a typed call.
#[tokio::test]
async fn a_url_too_long_to_send_is_an_invalid_request_sent_never_and_said_briefly() {
    let server = serve(|_, _| json(200, "{}")).await;
    let c = client(&server.url).build().unwrap();
    let long = "a".repeat(70_000);
    let started = std::time::Instant::now();
    for request in [
        get_a().path_param("callHistoryId", long.clone()),
        OperationRequest::new(Method::GET, "/v2/api/call-history")
            .operation_id("list_call_histories")
            .query("search", long.clone()),
    ] {
        let error = c.send_request(&request).await.unwrap_err();
        let text = error.to_string();
        let shown: String = text.chars().take(300).collect();
        assert!(
            matches!(&error, Error::InvalidRequest { operation, .. }
                if operation == request.operation()),
            "{shown}"
        );
        assert!(!error.is_retryable(), "{shown}");
        assert!(text.len() < 1000, "{} bytes: {shown}", text.len());
        assert!(text.contains("URL"), "{shown}");
    }
    let typed = c
        .list_call_histories()
        .search(long.clone())
        .page(1)
        .await
        .unwrap_err();
    let text = typed.to_string();
    let shown: String = text.chars().take(300).collect();
    assert!(matches!(typed, Error::InvalidRequest { .. }), "{shown}");
    assert!(!typed.is_retryable(), "{shown}");
    assert!(text.len() < 1000, "{} bytes: {shown}", text.len());
    assert!(server.requests().is_empty(), "a request was sent");
    // No retries, no backoff: well under the time three attempts would take.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
