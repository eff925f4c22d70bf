//! Proxies from the environment, with the real binary: loopback traffic (`--mock`, a
//! local base URL) never goes through one, and for https a proxy sees only CONNECT.

use crate::common;

use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assert_cmd::cargo::cargo_bin_cmd;

const KEY: &str = "tk_proxy_test_SECRET";

/// A loopback "proxy" that records every request head it receives and refuses it.
struct RecordingProxy {
    url: String,
    heads: Arc<Mutex<Vec<String>>>,
}

impl RecordingProxy {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let heads: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = Arc::clone(&heads);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { break };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let head = common::read_head(&mut stream);
                if let Ok(mut log) = log.lock() {
                    log.push(String::from_utf8_lossy(&head).into_owned());
                }
                let _ = stream.write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
            }
        });
        Self { url, heads }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().map(|h| h.clone()).unwrap_or_default()
    }
}

fn trillet(proxy: &RecordingProxy) -> assert_cmd::Command {
    let mut cmd = cargo_bin_cmd!("trillet");
    for var in ["TRILLET_BASE_URL", "RUST_LOG", "NO_PROXY", "no_proxy"] {
        cmd.env_remove(var);
    }
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env(var, &proxy.url);
    }
    cmd.env("TRILLET_API_KEY", KEY)
        .env("TRILLET_WORKSPACE_ID", "ws_proxy");
    cmd
}

#[test]
fn the_mock_is_reached_directly_whatever_the_proxy_variables_say() {
    let proxy = RecordingProxy::start();
    let output = trillet(&proxy)
        .args(["--mock", "call-history", "get", "1234567890abcdef"])
        .output()
        .expect("trillet runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("\"_id\": \"1234567890abcdef\""));
    assert!(
        proxy.heads().is_empty(),
        "the proxy saw: {:?}",
        proxy.heads()
    );
}

#[test]
fn an_https_base_url_shows_a_proxy_only_the_connect_line() {
    let proxy = RecordingProxy::start();
    let output = trillet(&proxy)
        .args([
            "--max-retries",
            "0",
            "call-history",
            "get",
            "65a7f3c2e4b0a1d2c3f4e5a6",
        ])
        .timeout(Duration::from_secs(30))
        .output()
        .expect("trillet runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("proxy"), "{stderr}");
    let heads = proxy.heads();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(
        heads[0].starts_with("CONNECT api.trillet.ai:443 HTTP/1.1\r\n"),
        "{:?}",
        heads[0]
    );
    for secret in [KEY, "x-api-key", "ws_proxy", "call-history"] {
        assert!(
            !heads[0].contains(secret),
            "the proxy saw {secret:?}: {:?}",
            heads[0]
        );
    }
}
