//! `trillet mock serve` as a real process: it enforces the credentials it is
//! given, and never prints them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const KEY: &str = "sk-serve-test-6d1e";
const WORKSPACE: &str = "ws-serve-test";

/// A running `trillet mock serve`, killed on drop.
struct Serve {
    child: Child,
    addr: String,
    banner: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str]) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trillet"))
        .args(["mock", "serve", "--port", "0", "--rate-limit", "0"])
        .args(args)
        .env_remove("TRILLET_API_KEY")
        .env_remove("TRILLET_WORKSPACE_ID")
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("trillet starts");
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut lines = BufReader::new(stderr).lines();
    let mut banner = String::new();
    let addr = loop {
        let line = lines
            .next()
            .expect("the mock prints where it listens")
            .expect("stderr is text");
        banner.push_str(&line);
        banner.push('\n');
        if let Some(url) = line.split("listening on http://").nth(1) {
            break url.trim().to_owned();
        }
    };
    // Keep draining stderr so the process never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Serve {
        child,
        addr,
        banner,
    }
}

/// The status of `GET path` with the given credential headers.
fn status(addr: &str, path: &str, key: &str, workspace: &str) -> u16 {
    let mut stream = TcpStream::connect(addr).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nx-api-key: {key}\r\n\
         x-workspace-id: {workspace}\r\nConnection: close\r\n\r\n"
    )
    .expect("writes");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("a response");
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response}"))
}

#[test]
fn serve_with_credentials_accepts_only_those() {
    let mock = serve(&["--api-key", KEY, "--workspace-id", WORKSPACE]);
    for path in ["/v2/api/call-history/abc", "/v2/api/call-history?limit=2"] {
        assert_eq!(status(&mock.addr, path, KEY, WORKSPACE), 200, "{path}");
        assert_eq!(
            status(&mock.addr, path, "another-key", WORKSPACE),
            401,
            "{path}"
        );
        assert_eq!(status(&mock.addr, path, KEY, "another-ws"), 403, "{path}");
    }
    assert!(!mock.banner.contains(KEY), "{}", mock.banner);
}

#[test]
fn serve_without_credentials_accepts_any_non_empty_ones() {
    let mock = serve(&[]);
    assert_eq!(
        status(&mock.addr, "/v2/api/call-history/abc", "any", "any"),
        200
    );
}

#[test]
fn serve_refuses_a_zero_connection_cap_and_a_non_finite_timeout() {
    for args in [
        ["--max-connections", "0"],
        ["--header-timeout", "1e20"],
        ["--header-timeout", "NaN"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_trillet"))
            .args(["mock", "serve", "--port", "0"])
            .args(args)
            .output()
            .expect("trillet runs");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
}
