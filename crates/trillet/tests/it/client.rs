//! The client against real loopback HTTP servers: headers, secrets, redirects, paths,
//! retries, rate limiting and malformed responses.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Response;
use common::{KEY, WORKSPACE, client, envelope, get_a, json, record, serve};
use futures_util::StreamExt;
use trillet::{Error, RateLimit, RetryPolicy, Timeouts};

/// A server answering 503 twice, then record `a`.
async fn unavailable_twice_then_record() -> common::Server {
    serve(|n, _| {
        if n < 2 {
            envelope(503, "unavailable")
        } else {
            record("a")
        }
    })
    .await
}

#[tokio::test]
async fn both_headers_are_sent_on_every_request_including_retries() {
    let server = unavailable_twice_then_record().await;
    let call = get_a(&server.url).await.unwrap();
    assert_eq!(call.id.as_deref(), Some("a"));
    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    for request in seen {
        assert_eq!(request.headers["x-api-key"], KEY);
        assert_eq!(request.headers["x-workspace-id"], WORKSPACE);
        assert_eq!(request.path, "/v2/api/call-history/a");
    }
}

#[tokio::test]
async fn a_redirect_to_another_origin_never_receives_the_key() {
    let elsewhere = serve(|_, _| record("stolen")).await;
    let target = format!("{}/v2/api/call-history/a", elsewhere.url);
    let origin = serve(move |_, _| common::redirect(302, &target)).await;
    let err = get_a(&origin.url).await.unwrap_err();
    assert!(matches!(err, Error::Redirect { .. }), "{err:?}");
    assert!(err.to_string().contains("not followed"), "{err}");
    assert!(
        elsewhere.requests().is_empty(),
        "the other origin was contacted"
    );
    assert_eq!(
        origin.requests().len(),
        1,
        "a refused redirect is not retried"
    );
}

#[tokio::test]
async fn a_same_origin_redirect_is_followed_with_the_headers() {
    let server = serve(|n, _| {
        if n == 0 {
            common::redirect(307, "/v2/api/call-history/b")
        } else {
            record("b")
        }
    })
    .await;
    let call = get_a(&server.url).await.unwrap();
    assert_eq!(call.id.as_deref(), Some("b"));
    assert_eq!(server.requests()[1].headers["x-api-key"], KEY);
}

#[tokio::test]
async fn path_injection_ids_stay_one_segment_under_the_collection() {
    let server = serve(|_, seen| record(&seen.path.replace('"', ""))).await;
    let c = client(&server.url).build().unwrap();
    let ids = [
        "../../v1/api/workspaces",
        "a/b",
        "a?b=1",
        "a#b",
        "%2e%2e",
        "a b",
        "%",
        "..%2f",
        "é/ü",
        "...",
        ".a",
        "a.",
    ];
    for id in ids {
        c.call_history(id).await.unwrap();
    }
    let seen = server.requests();
    assert_eq!(seen.len(), ids.len());
    for (id, request) in ids.iter().zip(seen) {
        let segment = request
            .path
            .strip_prefix("/v2/api/call-history/")
            .unwrap_or_else(|| panic!("{id:?} escaped: {}", request.path));
        assert!(
            !segment.contains('/') && !segment.is_empty(),
            "{id:?} -> {}",
            request.path
        );
        let decoded =
            url::form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
                .next()
                .unwrap()
                .1
                .into_owned();
        assert_eq!(&decoded, id, "the server sees the id itself");
    }
    for id in ["", ".", "..", "\\..\\..\\v1\\api\\workspaces"] {
        let err = c.call_history(id).await.unwrap_err();
        assert!(matches!(err, Error::InvalidId { .. }), "{id:?}: {err:?}");
    }
    assert_eq!(
        server.requests().len(),
        ids.len(),
        "refused ids send nothing"
    );
}

#[tokio::test]
async fn rate_limited_twice_with_retry_after_then_success_waits_and_succeeds() {
    let server = serve(|n, _| {
        if n < 2 {
            let mut r = envelope(429, "rate_limit_exceeded");
            r.headers_mut().insert("retry-after", "1".parse().unwrap());
            r
        } else {
            record("a")
        }
    })
    .await;
    let started = Instant::now();
    let call = get_a(&server.url).await.unwrap();
    assert_eq!(call.id.as_deref(), Some("a"));
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn unavailable_twice_then_success_succeeds() {
    let server = unavailable_twice_then_record().await;
    assert!(get_a(&server.url).await.is_ok());
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn not_found_and_other_client_errors_are_requested_exactly_once() {
    for (status, code) in [
        (404, "not_found"),
        (400, "bad_request"),
        (401, "unauthorized"),
        (403, "forbidden"),
    ] {
        let server = serve(move |_, _| envelope(status, code)).await;
        let err = get_a(&server.url).await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(err.code(), Some(code));
        assert!(!err.is_retryable());
        assert_eq!(server.requests().len(), 1, "{status} was retried");
    }
}

#[tokio::test]
async fn the_envelope_reset_at_is_honoured_when_there_is_no_retry_after() {
    let first = Arc::new(Mutex::new(None::<Instant>));
    let seen_first = Arc::clone(&first);
    let server = serve(move |n, _| {
        if n == 0 {
            *seen_first.lock().unwrap() = Some(Instant::now());
            let reset = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
            json(
                429,
                &format!(
                    r#"{{"error":{{"code":"rate_limit_exceeded","message":"Too many requests","reset_at":"{}"}}}}"#,
                    reset.to_rfc3339()
                ),
            )
        } else {
            record("a")
        }
    })
    .await;
    get_a(&server.url).await.unwrap();
    let waited = first.lock().unwrap().unwrap().elapsed();
    assert!(
        waited >= Duration::from_millis(1000),
        "retried after only {waited:?}"
    );
}

#[tokio::test]
async fn retries_give_up_after_the_configured_attempts_with_the_last_error() {
    let server = serve(|_, _| envelope(500, "internal_error")).await;
    let err = client(&server.url)
        .retry(
            RetryPolicy::default()
                .max_attempts(4)
                .initial_backoff(Duration::from_millis(1)),
        )
        .build()
        .unwrap()
        .call_history("a")
        .await
        .unwrap_err();
    assert_eq!(server.requests().len(), 4);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    assert!(err.to_string().contains("after 4 attempts"), "{err}");
}

#[tokio::test]
async fn a_hint_beyond_the_deadline_stops_retrying() {
    let server = serve(|_, _| {
        let mut r = envelope(429, "rate_limit_exceeded");
        r.headers_mut().insert("retry-after", "30".parse().unwrap());
        r
    })
    .await;
    let started = Instant::now();
    let err = client(&server.url)
        .timeouts(Timeouts::default().operation(Duration::from_secs(2)))
        .build()
        .unwrap()
        .call_history("a")
        .await
        .unwrap_err();
    assert!(err.is_rate_limited());
    assert_eq!(
        err.api_error().unwrap().retry_after,
        Some(Duration::from_secs(30))
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_batch_at_the_limit_sees_zero_429s_from_a_ten_per_second_server() {
    // The server allows 10 requests a second (a bucket of 10, refilled at 10/s).
    let bucket = governor::RateLimiter::direct(governor::Quota::per_second(
        std::num::NonZeroU32::new(10).unwrap(),
    ));
    let rejected = Arc::new(Mutex::new(0usize));
    let counted = Arc::clone(&rejected);
    let server = serve(move |_, seen| {
        if bucket.check().is_err() {
            *counted.lock().unwrap() += 1;
            envelope(429, "rate_limit_exceeded")
        } else {
            record(seen.path.rsplit('/').next().unwrap())
        }
    })
    .await;
    let ids: Vec<String> = (0..120).map(|i| format!("id{i:03}")).collect();
    let started = Instant::now();
    let results: Vec<_> = client(&server.url)
        .rate_limit(RateLimit::per_minute(600))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
        .call_histories(ids.clone())
        .concurrency(16)
        .stream()
        .collect()
        .await;
    let elapsed = started.elapsed();
    assert_eq!(*rejected.lock().unwrap(), 0, "the server sent 429s");
    let got: Vec<&String> = results.iter().map(|(id, _)| id).collect();
    assert_eq!(got, ids.iter().collect::<Vec<_>>(), "input order is kept");
    assert!(results.iter().all(|(_, r)| r.is_ok()));
    // 120 requests at 10/s, the first immediately: at least 11.9 s.
    assert!(elapsed >= Duration::from_millis(11_800), "{elapsed:?}");
}

#[tokio::test]
async fn an_unordered_batch_yields_every_id_once() {
    let server = serve(|_, seen| record(seen.path.rsplit('/').next().unwrap())).await;
    let ids: Vec<String> = (0..50).map(|i| i.to_string()).collect();
    let mut got: Vec<String> = client(&server.url)
        .build()
        .unwrap()
        .call_histories(ids.clone())
        .ordered(false)
        .concurrency(8)
        .stream()
        .map(|(id, r)| {
            assert_eq!(r.unwrap().id.as_deref(), Some(id.as_str()));
            id
        })
        .collect()
        .await;
    got.sort_by_key(|id| id.parse::<u32>().unwrap());
    assert_eq!(got, ids);
}

#[tokio::test]
async fn clones_share_one_rate_limiter() {
    let server = serve(|_, _| record("a")).await;
    let a = client(&server.url)
        .rate_limit(RateLimit::per_minute(120))
        .build()
        .unwrap();
    let b = a.clone();
    let started = Instant::now();
    for _ in 0..2 {
        a.call_history("a").await.unwrap();
        b.call_history("a").await.unwrap();
    }
    // Four requests at 2/s from two clones: at least 1.5 s, had they not shared it ~0.5 s.
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn malformed_bodies_give_the_right_error_kind() {
    type Case = (&'static str, Response<Body>, fn(&Error) -> bool);
    let cases: Vec<Case> = vec![
        ("truncated", json(200, r#"{"_id":"a","startTi"#), |e| {
            matches!(e, Error::Decode { .. })
                && e.body() == Some(br#"{"_id":"a","startTi"#.as_slice())
        }),
        ("array", json(200, "[]"), |e| {
            matches!(e, Error::Decode { .. })
        }),
        ("empty", json(200, ""), |e| {
            matches!(e, Error::Decode { .. })
        }),
        (
            "bad field",
            json(200, r#"{"_id":"a","startTime":"abc"}"#),
            // The body that did not decode stays with the error, as received.
            |e| {
                matches!(e, Error::Decode { path, .. } if path == "startTime")
                    && e.body() == Some(br#"{"_id":"a","startTime":"abc"}"#.as_slice())
            },
        ),
        (
            "html 502",
            Response::builder()
                .status(502)
                .header("content-type", "text/html")
                .body(Body::from(
                    "<html><body><h1>502 Bad Gateway</h1></body></html>",
                ))
                .unwrap(),
            |e| {
                e.status().map(|s| s.as_u16()) == Some(502)
                    && e.to_string().contains("502 Bad Gateway")
            },
        ),
        ("teapot", json(418, "short and stout"), |e| {
            e.status().map(|s| s.as_u16()) == Some(418) && e.to_string().contains("short and stout")
        }),
    ];
    for (name, response, expected) in cases {
        let response = Arc::new(Mutex::new(Some(response)));
        let server = serve(move |_, _| {
            response
                .lock()
                .unwrap()
                .take()
                .unwrap_or_else(|| json(502, "again"))
        })
        .await;
        let err = client(&server.url)
            .retry(RetryPolicy::none())
            .build()
            .unwrap()
            .call_history("a")
            .await
            .unwrap_err();
        assert!(expected(&err), "{name}: {err:?}");
    }
}

#[tokio::test]
async fn an_oversized_body_is_refused_without_reading_it_all() {
    let server = serve(|_, _| {
        // Streamed without a content-length, so only the running count can stop it.
        let chunks = futures_util::stream::iter(
            (0..64).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 64 * 1024]))),
        );
        Response::builder()
            .status(200)
            .body(Body::from_stream(chunks))
            .unwrap()
    })
    .await;
    let err = client(&server.url)
        .max_body_bytes(256 * 1024)
        .build()
        .unwrap()
        .call_history("a")
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::BodyTooLarge { limit: 262_144 }),
        "{err:?}"
    );
    assert_eq!(
        server.requests().len(),
        1,
        "an oversized body is not retried"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_configured_time() {
    let url = common::silent_server().await;
    let started = Instant::now();
    let err = client(&url)
        .timeouts(Timeouts::default().attempt(Duration::from_millis(300)))
        .retry(
            RetryPolicy::default()
                .max_attempts(2)
                .initial_backoff(Duration::from_millis(1)),
        )
        .build()
        .unwrap()
        .call_history("a")
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.to_string().contains("after 2 attempts"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_raw_variant_keeps_the_exact_json() {
    let body = r#"{"_id":"a","startTime":1680000000,"cost":{"customer_charge":0.10},"newField":{"n":12345678901234567890}}"#;
    let server = serve(move |_, _| json(200, body)).await;
    let raw = client(&server.url)
        .build()
        .unwrap()
        .call_history_raw("a")
        .await
        .unwrap();
    assert_eq!(raw.json(), body);
    assert_eq!(raw.record().start_time, Some(1_680_000_000.0));
    assert!(raw.record().extra.contains_key("newField"));
}

#[tokio::test]
async fn the_low_level_client_sends_credentials_too() {
    let server = serve(|_, _| record("a")).await;
    let c = client(&server.url).build().unwrap();
    let value = c
        .api()
        .get_call_history()
        .call_history_id("a")
        .send()
        .await
        .unwrap();
    assert_eq!(value.into_inner().id.as_deref(), Some("a"));
    assert_eq!(server.requests()[0].headers["x-api-key"], KEY);
}

#[test]
fn the_client_and_its_futures_can_move_across_threads() {
    fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    fn assert_send<T: Send>(_: &T) {}
    assert_send_sync_clone::<trillet::Client>();
    let client = client("http://127.0.0.1:1").build().unwrap();
    assert_send(&client.call_history("a"));
    assert_send(&client.call_history_raw("a"));
    assert_send(&client.call_histories(vec!["a".to_owned()]).stream());
}

#[tokio::test]
async fn a_rate_limited_batch_sends_its_requests_in_input_order() {
    let server = serve(|_, seen| record(seen.path.rsplit('/').next().unwrap())).await;
    let ids: Vec<String> = (0..16).map(|i| format!("id{i:02}")).collect();
    let results: Vec<_> = client(&server.url)
        .rate_limit(RateLimit::per_minute(1200))
        .build()
        .unwrap()
        .call_histories(ids.clone())
        .concurrency(8)
        .stream()
        .collect()
        .await;
    assert!(results.iter().all(|(_, r)| r.is_ok()));
    let sent: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.path.rsplit('/').next().unwrap().to_owned())
        .collect();
    assert_eq!(sent, ids, "permits were handed out out of order");
}
