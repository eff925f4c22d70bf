//! Connection limits on real sockets: the header-read timeout closes a
//! connection that sends half a request head and one idle between requests,
//! and the connection cap holds other clients back only until idle ones are
//! closed, so a client is still served.

use crate::common;

use std::time::{Duration, Instant};

use common::{client, get, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use trillet_mock::{MockConfig, MockServer};

const TIMEOUT: Duration = Duration::from_millis(400);

async fn server(max_connections: usize) -> MockServer {
    start(MockConfig {
        rate_limit_per_minute: None,
        max_connections,
        header_read_timeout: TIMEOUT,
        ..Default::default()
    })
    .await
}

/// Reads until the server closes the connection; returns what it sent and
/// how long that took. Fails the test if it stays open for 10 s.
async fn until_closed(stream: &mut TcpStream) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut received));
    match read.await {
        Ok(Ok(_)) | Ok(Err(_)) => {}
        Err(_) => panic!("the server kept the connection open for 10 s"),
    }
    (received, started.elapsed())
}

#[tokio::test]
async fn half_a_request_head_is_dropped_after_the_header_read_timeout() {
    let server = server(8).await;
    let mut stream = TcpStream::connect(server.addr()).await.expect("connects");
    stream
        .write_all(b"GET /v2/api/call-history/abc HTTP/1.1\r\nHost: mock\r\nx-api-key: k")
        .await
        .expect("writes");
    let (received, after) = until_closed(&mut stream).await;
    assert!(after >= TIMEOUT - Duration::from_millis(100), "{after:?}");
    // No response to a request that never finished.
    assert!(
        !String::from_utf8_lossy(&received).contains(" 200 "),
        "{}",
        String::from_utf8_lossy(&received)
    );
}

#[tokio::test]
async fn a_keep_alive_connection_idle_after_a_request_is_closed() {
    let server = server(8).await;
    let mut stream = TcpStream::connect(server.addr()).await.expect("connects");
    stream
        .write_all(
            b"GET /v2/api/call-history/abc HTTP/1.1\r\nHost: mock\r\n\
              x-api-key: k\r\nx-workspace-id: w\r\n\r\n",
        )
        .await
        .expect("writes");
    let (received, after) = until_closed(&mut stream).await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(after >= TIMEOUT - Duration::from_millis(100), "{after:?}");
}

#[tokio::test]
async fn idle_connections_at_the_cap_are_closed_and_a_new_client_is_served() {
    const CAP: usize = 4;
    let server = server(CAP).await;
    let mut idle = Vec::new();
    for _ in 0..CAP {
        idle.push(TcpStream::connect(server.addr()).await.expect("connects"));
    }
    // Give the server time to accept them all: every permit is now held.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let response = get(&client(), &server, "abc").send().await.expect("served");
    assert_eq!(response.status(), 200);
    let waited = started.elapsed();
    // It waited for a slot: the idle connections were closed first.
    assert!(waited >= TIMEOUT - Duration::from_millis(200), "{waited:?}");
    for stream in &mut idle {
        let (received, _) = until_closed(stream).await;
        assert!(
            received.is_empty(),
            "{}",
            String::from_utf8_lossy(&received)
        );
    }
}

#[tokio::test]
async fn below_the_cap_a_client_is_served_at_once_beside_idle_connections() {
    let server = server(8).await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(server.addr()).await.expect("connects"));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let response = get(&client(), &server, "abc").send().await.expect("served");
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() < TIMEOUT, "{:?}", started.elapsed());
}
