//! What the CLI's test files share.

#![allow(dead_code)] // each test file uses some of it

use std::io::Read;

/// Variables of the caller's environment that must not leak into a test run.
pub const CALLER_ENV: [&str; 4] = [
    "TRILLET_API_KEY",
    "TRILLET_WORKSPACE_ID",
    "TRILLET_BASE_URL",
    "RUST_LOG",
];

/// The `trillet` binary, with nothing from the caller's environment and no colour.
pub fn trillet() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_trillet"));
    for var in CALLER_ENV {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1");
    cmd
}

/// [`trillet`] against the server at `url`, with credentials, no rate limit and no
/// retries.
pub fn against(url: &str) -> std::process::Command {
    let mut cmd = trillet();
    cmd.env("TRILLET_API_KEY", "k")
        .env("TRILLET_WORKSPACE_ID", "w")
        .env("TRILLET_BASE_URL", url)
        .args(["--rate-limit", "0", "--max-retries", "0"]);
    cmd
}

/// Reads an HTTP request head (up to the blank line, or until the peer stops).
pub fn read_head(stream: &mut impl Read) -> Vec<u8> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    head
}

/// A loopback server (127.0.0.1) that answers every connection with `reply`, byte
/// for byte, and closes it; it counts the connections it accepted.
pub fn serving(reply: Vec<u8>) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::Write;
    use std::sync::atomic::Ordering;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = std::sync::Arc::clone(&count);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            seen.fetch_add(1, Ordering::SeqCst);
            read_head(&mut stream);
            let _ = stream.write_all(&reply);
        }
    });
    (url, count)
}

/// An HTTP/1.1 response with `status` (`200 OK`), `content_type` and `body`,
/// closing the connection.
pub fn http_reply(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut reply = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    reply.extend_from_slice(body);
    reply
}
