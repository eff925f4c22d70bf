//! The request path against loopback servers that misbehave on purpose: broken
//! connections, garbage responses, long server waits, redirect loops, compressed
//! bodies. Each case also checks that `Error::is_retryable()` says exactly what the
//! client itself did.

#![allow(clippy::unwrap_used)] // helpers of tests: a failure is a broken test setup

use crate::common;

use std::error::Error as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use common::{client, envelope, http_ok, json, raw_server, record, serve};
use futures_util::StreamExt;
use trillet::{Error, RedirectProblem, RetryPolicy, Timeouts, TransportCause};

const RECORD: &str = r#"{"_id":"a","status":"completed"}"#;

/// A client for `url` that makes at most two attempts, with fast backoff.
fn two_attempts(url: &str) -> trillet::Client {
    client(url)
        .retry(
            RetryPolicy::default()
                .max_attempts(2)
                .initial_backoff(Duration::from_millis(5)),
        )
        .build()
        .unwrap()
}

/// Checks the error's kind, that the client retried exactly when the error says it
/// is retryable, and that `Display` does not repeat its source.
fn check(name: &str, err: &Error, requests: usize, expected: impl Fn(&Error) -> bool) {
    assert!(expected(err), "{name}: {err:?}");
    let retried = requests > 1;
    assert_eq!(
        err.is_retryable(),
        retried,
        "{name}: is_retryable() disagrees with what the client did ({requests} requests): {err}"
    );
    if let Some(source) = err.source() {
        assert!(
            !err.to_string().contains(&source.to_string()),
            "{name}: the message repeats its source: {err}"
        );
    }
    assert!(!err.to_string().contains('\n'), "{name}: {err}");
}

#[tokio::test]
async fn each_transport_fault_names_its_root_cause_and_is_retried_only_if_transient() {
    let mut many_headers = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..200 {
        many_headers.extend(format!("x-h{i}: v\r\n").as_bytes());
    }
    many_headers.extend(b"content-length: 0\r\n\r\n");
    type Case = (&'static str, Vec<u8>, fn(&Error) -> bool, &'static str);
    let cases: Vec<Case> = vec![
        (
            "content-length longer than the body",
            b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"_id\":".to_vec(),
            |e| matches!(e, Error::Transport { cause: TransportCause::BodyCut, .. }),
            "the connection broke while reading the response",
        ),
        (
            "chunked body cut off",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n40\r\n{\"_id\":\"a\"".to_vec(),
            |e| matches!(e, Error::Transport { cause: TransportCause::BodyCut, .. }),
            "the connection broke while reading the response",
        ),
        (
            "closed before any response",
            Vec::new(),
            |e| matches!(e, Error::Transport { cause: TransportCause::Reset, .. }),
            "closed or reset before a response arrived",
        ),
        (
            "too many headers",
            many_headers,
            |e| matches!(e, Error::Transport { cause: TransportCause::HeadTooLarge, .. }),
            "too many or too long headers",
        ),
        (
            "garbage status line",
            b"FOO BAR BAZ\r\n\r\n".to_vec(),
            |e| matches!(e, Error::Transport { cause: TransportCause::NotHttp, .. }),
            "not valid HTTP",
        ),
        (
            "gzip body the client did not ask for",
            b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: 4\r\n\r\n\x1f\x8b\x08\x00".to_vec(),
            |e| matches!(e, Error::UnsupportedEncoding { encoding } if encoding == "gzip"),
            "gzip-encoded",
        ),
    ];
    for (name, reply, expected, text) in cases {
        for raw in [false, true] {
            let server = raw_server(vec![reply.clone()]).await;
            let c = two_attempts(&server.url);
            let err = if raw {
                c.call_history_raw("a").await.map(|_| ()).unwrap_err()
            } else {
                c.call_history("a").await.map(|_| ()).unwrap_err()
            };
            let requests = server.heads().len();
            check(name, &err, requests, expected);
            assert!(err.to_string().contains(text), "{name}: {err}");
        }
    }
}

#[tokio::test]
async fn a_body_cut_once_is_retried_and_the_retry_succeeds() {
    let cut = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"_id\":".to_vec();
    for raw in [false, true] {
        let server = raw_server(vec![cut.clone(), http_ok(RECORD)]).await;
        let c = two_attempts(&server.url);
        let id = if raw {
            let r = c.call_history_raw("a").await.unwrap();
            assert_eq!(r.json(), RECORD);
            r.into_record().id
        } else {
            c.call_history("a").await.unwrap().id
        };
        assert_eq!(id.as_deref(), Some("a"));
        assert_eq!(server.heads().len(), 2);
    }
}

#[tokio::test]
async fn a_refused_connection_says_so_and_where_on_one_line() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let err = two_attempts(&format!("http://127.0.0.1:{port}"))
        .call_history("a")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("could not reach the API: connection refused by 127.0.0.1:{port} after 2 attempts")
    );
    assert!(err.is_retryable() && err.is_transport());
}

#[tokio::test]
async fn a_host_that_does_not_resolve_is_named() {
    struct NoSuchHost;
    impl reqwest::dns::Resolve for NoSuchHost {
        fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
            Box::pin(async {
                Err::<reqwest::dns::Addrs, _>(
                    Box::new(std::io::Error::other("no such host")) as Box<_>
                )
            })
        }
    }
    let http = reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(Arc::new(NoSuchHost))
        .build()
        .unwrap();
    let err = client("https://api.trillet.invalid")
        .http_client(http)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
        .call_history("a")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Transport { cause: TransportCause::Dns(host), .. } if host == "api.trillet.invalid"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "could not reach the API: the host name api.trillet.invalid could not be resolved"
    );
}

#[tokio::test]
async fn a_tls_handshake_with_a_plain_http_server_is_a_tls_error_and_not_retried() {
    let server = raw_server(vec![
        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n".to_vec(),
    ])
    .await;
    let url = server.url.replace("http://", "https://");
    let err = two_attempts(&url).call_history("a").await.unwrap_err();
    check("tls", &err, server.heads().len(), |e| {
        matches!(
            e,
            Error::Transport {
                cause: TransportCause::Tls(_),
                ..
            }
        )
    });
    assert!(err.to_string().contains("TLS handshake failed"), "{err}");
}

#[tokio::test]
async fn a_redirect_loop_on_the_same_url_is_called_a_loop() {
    let server = serve(|_, seen| common::redirect(302, &seen.path.clone())).await;
    let err = two_attempts(&server.url)
        .call_history("a")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Redirect {
                problem: RedirectProblem::Loop { .. }
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("loop"), "{err}");
    assert!(!err.to_string().contains("another origin"), "{err}");
    assert!(!err.is_retryable());
    assert!(server.requests().len() <= 2, "{}", server.requests().len());
}

#[tokio::test]
async fn a_same_origin_redirect_the_http_client_did_not_follow_is_not_called_cross_origin() {
    let server = serve(|_, _| common::redirect(301, "/v2/api/call-history/b")).await;
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let err = client(&server.url)
        .http_client(http)
        .build()
        .unwrap()
        .call_history("a")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Redirect {
                problem: RedirectProblem::NotFollowed { .. }
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("same origin"), "{err}");
    assert_eq!(server.requests().len(), 1);
}

/// A server whose every answer is a 429 with these extra headers and body.
async fn always_429(retry_after: Option<String>, reset_at: Option<String>) -> common::Server {
    serve(move |_, _| {
        let body = match &reset_at {
            Some(at) => format!(
                r#"{{"error":{{"code":"rate_limit_exceeded","message":"Too many requests","reset_at":"{at}"}}}}"#
            ),
            None => r#"{"error":{"code":"rate_limit_exceeded","message":"Too many requests"}}"#
                .to_owned(),
        };
        let mut r = json(429, &body);
        if let Some(value) = &retry_after {
            r.headers_mut().insert("retry-after", value.parse().unwrap());
        }
        r
    })
    .await
}

#[tokio::test]
async fn a_server_wait_beyond_the_cap_ends_the_call_at_once_with_the_instant() {
    let in_a_day = chrono::Utc::now() + chrono::Duration::days(1);
    let cases = [
        ("Retry-After seconds", Some("86400".to_owned()), None),
        (
            "Retry-After date in 2100",
            Some("Fri, 01 Jan 2100 00:00:00 GMT".to_owned()),
            None,
        ),
        ("reset_at a day ahead", None, Some(in_a_day.to_rfc3339())),
    ];
    for (name, retry_after, reset_at) in cases {
        let server = always_429(retry_after, reset_at).await;
        let started = Instant::now();
        let err = client(&server.url)
            .build()
            .unwrap()
            .call_history("a")
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{name}: waited {:?}",
            started.elapsed()
        );
        assert_eq!(server.requests().len(), 1, "{name}: retried");
        assert!(
            err.is_rate_limited() && err.is_retryable(),
            "{name}: {err:?}"
        );
        let wait = err.retry_after().unwrap();
        assert!(wait > Duration::from_secs(86_000), "{name}: {wait:?}");
        let at = err.retry_at().unwrap();
        assert!(
            at > SystemTime::now() + Duration::from_secs(86_000),
            "{name}"
        );
        let text = err.to_string();
        assert!(text.contains("; retry after "), "{name}: {text}");
        if name.contains("2100") {
            assert!(
                text.contains("retry after 2100-01-01T00:00:00Z (in "),
                "{text}"
            );
        } else {
            assert!(
                text.contains("(in 23h") || text.contains("(in 24h"),
                "{name}: {text}"
            );
        }
    }
}

#[tokio::test]
async fn a_batch_stops_at_the_first_long_wait_instead_of_each_id_waiting() {
    let server = always_429(Some("86400".into()), None).await;
    let ids: Vec<String> = (0..8).map(|i| format!("id{i}")).collect();
    let started = Instant::now();
    let results: Vec<_> = client(&server.url)
        .build()
        .unwrap()
        .call_histories(ids)
        .concurrency(2)
        .stream()
        .collect()
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        server.requests().len() <= 2,
        "{} requests",
        server.requests().len()
    );
    for (id, result) in results {
        let err = result.unwrap_err();
        assert!(err.is_rate_limited(), "{id}: {err:?}");
        assert!(err.retry_at().is_some(), "{id}");
        assert!(err.to_string().contains("retry after"), "{id}: {err}");
    }
}

#[tokio::test]
async fn a_429_pauses_every_clone_of_the_client_until_the_reset() {
    let first = Arc::new(Mutex::new(None::<Instant>));
    let arrivals = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let (f, a) = (Arc::clone(&first), Arc::clone(&arrivals));
    let server = serve(move |n, seen| {
        let now = Instant::now();
        let start = *f.lock().unwrap().get_or_insert(now);
        a.lock().unwrap().push(now - start);
        if n == 0 {
            let mut r = envelope(429, "rate_limit_exceeded");
            r.headers_mut().insert("retry-after", "2".parse().unwrap());
            r
        } else {
            record(seen.path.rsplit('/').next().unwrap())
        }
    })
    .await;
    let a_client = client(&server.url).build().unwrap();
    let b_client = a_client.clone();
    let a_call = tokio::spawn(async move { a_client.call_history("a").await });
    // Start the clone's call once the first 429 has been answered and read.
    while arrivals.lock().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let b = b_client.call_history("b").await.unwrap();
    assert_eq!(b.id.as_deref(), Some("b"));
    a_call.await.unwrap().unwrap();
    let arrivals = arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 3, "{arrivals:?}");
    for later in &arrivals[1..] {
        assert!(
            *later >= Duration::from_millis(1900),
            "sent during the pause: {arrivals:?}"
        );
    }
}

#[tokio::test]
async fn no_duration_arithmetic_panics_on_extreme_waits_and_budgets() {
    let server = always_429(Some("18446744073709551615".into()), None).await;
    for policy in [
        RetryPolicy::default().max_wait(Duration::MAX),
        RetryPolicy::default(),
    ] {
        let started = Instant::now();
        let err = client(&server.url)
            .retry(policy)
            .timeouts(Timeouts::default().operation(Duration::from_secs(2)))
            .build()
            .unwrap()
            .call_history("a")
            .await
            .unwrap_err();
        assert!(err.is_rate_limited(), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
        let _ = err.to_string();
    }
    // An operation budget too large to add to now is no budget at all.
    let ok = serve(|_, _| record("a")).await;
    client(&ok.url)
        .timeouts(Timeouts::default().operation(Duration::MAX))
        .build()
        .unwrap()
        .call_history("a")
        .await
        .unwrap();
}

#[tokio::test]
async fn the_operation_deadline_covers_retries_and_waits() {
    let server = always_429(Some("1".into()), None).await;
    let started = Instant::now();
    let err = client(&server.url)
        .retry(RetryPolicy::default().max_attempts(10))
        .timeouts(Timeouts::default().operation(Duration::from_millis(2500)))
        .build()
        .unwrap()
        .call_history("a")
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(err.is_rate_limited(), "{err:?}");
    assert!(elapsed < Duration::from_millis(2600), "{elapsed:?}");
    // 1 s apart: the first at 0, then at 1 s and 2 s; a fourth would end past 2.5 s.
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn an_attempt_timeout_is_cut_to_what_the_deadline_leaves() {
    let url = common::silent_server().await;
    let started = Instant::now();
    let err = client(&url)
        .timeouts(
            Timeouts::default()
                .attempt(Duration::from_secs(30))
                .operation(Duration::from_millis(400)),
        )
        .build()
        .unwrap()
        .call_history("a")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                stage: trillet::TimeoutStage::Operation,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(err.to_string().contains("deadline"), "{err}");
}
