//! A loopback HTTP server for the client's tests: each test scripts its answers.

#![allow(dead_code, clippy::unwrap_used)] // test support: a failure here is a broken test setup

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, Response, StatusCode};

pub const KEY: &str = "tk_test_SECRET_4f9a";
pub const WORKSPACE: &str = "ws_test_1";

/// What the server saw of one request.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
}

/// A running server and the requests it has seen.
pub struct Server {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

type Handler = Arc<dyn Fn(usize, &Seen) -> Response<Body> + Send + Sync>;

/// Serves every request with `answer(n, request)`, `n` counting from 0.
pub async fn serve(
    answer: impl Fn(usize, &Seen) -> Response<Body> + Send + Sync + 'static,
) -> Server {
    serve_on("127.0.0.1:0", answer).await
}

pub async fn serve_on(
    addr: &str,
    answer: impl Fn(usize, &Seen) -> Response<Body> + Send + Sync + 'static,
) -> Server {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let answer: Handler = Arc::new(answer);
    let log = Arc::clone(&seen);
    let app = Router::new().fallback(move |request: Request<Body>| {
        let log = Arc::clone(&log);
        let answer = Arc::clone(&answer);
        async move {
            let seen = Seen {
                path: request.uri().path().to_owned(),
                query: request.uri().query().unwrap_or("").to_owned(),
                headers: request.headers().clone(),
            };
            let n = {
                let mut log = log.lock().unwrap();
                log.push(seen.clone());
                log.len() - 1
            };
            answer(n, &seen)
        }
    });
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server { url, seen }
}

pub fn json(status: u16, body: &str) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

pub fn record(id: &str) -> Response<Body> {
    json(
        200,
        &format!(r#"{{"_id":"{id}","status":"completed","startTime":1680000000}}"#),
    )
}

pub fn envelope(status: u16, code: &str) -> Response<Body> {
    json(
        status,
        &format!(r#"{{"error":{{"code":"{code}","message":"scripted {status}"}}}}"#),
    )
}

/// A client for `url` with fast retries, so tests spend time only where they mean to.
pub fn client(url: &str) -> trillet::ClientBuilder {
    trillet::Client::builder()
        .api_key(KEY)
        .workspace_id(WORKSPACE)
        .base_url(url)
        .rate_limit(trillet::RateLimit::Off)
        .retry(
            trillet::RetryPolicy::default()
                .initial_backoff(Duration::from_millis(5))
                .max_backoff(Duration::from_millis(20)),
        )
}

/// The value of one query parameter, percent-decoded.
pub fn query_param(seen: &Seen, name: &str) -> Option<String> {
    url::form_urlencoded::parse(seen.query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Fetches record `a` from `url` with the test client's defaults.
pub async fn get_a(url: &str) -> Result<trillet::CallHistory, trillet::Error> {
    client(url).build().unwrap().call_history("a").await
}
