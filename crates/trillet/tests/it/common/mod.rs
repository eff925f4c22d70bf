//! A loopback HTTP server for the client's tests: each test scripts its answers.

#![allow(dead_code, clippy::unwrap_used)] // test support: a failure here is a broken test setup

use std::sync::{Arc, Mutex};
use std::time::Duration;

mod capture;
pub use capture::Captured;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, Response, StatusCode};

pub const KEY: &str = "tk_test_SECRET_4f9a";
pub const WORKSPACE: &str = "ws_test_1";

/// What the server saw of one request.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    /// The request body (up to 1 MiB).
    pub body: Vec<u8>,
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
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, 1 << 20)
                .await
                .unwrap_or_default();
            let seen = Seen {
                method: parts.method.to_string(),
                path: parts.uri.path().to_owned(),
                query: parts.uri.query().unwrap_or("").to_owned(),
                headers: parts.headers,
                body: body.to_vec(),
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

/// A raw TCP server that reads each request head and answers connection `n` with
/// `replies[n]` (the last one again after that), byte for byte, then closes: for
/// responses no HTTP server library would send.
pub struct RawServer {
    pub url: String,
    pub connections: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl RawServer {
    /// The request heads received, one per connection.
    pub fn heads(&self) -> Vec<String> {
        self.connections
            .lock()
            .unwrap()
            .iter()
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .collect()
    }
}

pub async fn raw_server(replies: Vec<Vec<u8>>) -> RawServer {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let connections: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let log = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let n = {
                let mut log = log.lock().unwrap();
                log.push(Vec::new());
                log.len() - 1
            };
            let reply = replies[n.min(replies.len() - 1)].clone();
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                // A TLS ClientHello (0x16) has no blank line: answer it at once.
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.first() != Some(&0x16) {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(k) => head.extend_from_slice(&buf[..k]),
                    }
                }
                log.lock().unwrap()[n] = head;
                let _ = socket.write_all(&reply).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    RawServer { url, connections }
}

/// A complete 200 response with `body` as JSON.
pub fn http_ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A redirect response.
pub fn redirect(status: u16, location: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("location", location)
        .body(Body::empty())
        .unwrap()
}

/// A server that accepts connections and never writes a byte; returns its URL.
pub async fn silent_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    url
}
