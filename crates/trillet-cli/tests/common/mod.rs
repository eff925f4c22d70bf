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

/// The peak resident set of a live process in KiB (`VmHWM` in `/proc/<pid>/status`,
/// Linux): the kernel's high-water mark, which only grows.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Waits for `child` to exit, reading its peak resident set every few milliseconds
/// meanwhile; kills it and returns `None` for the status if it runs past `limit`.
pub fn wait_with_peak(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> (Option<std::process::ExitStatus>, u64) {
    let started = std::time::Instant::now();
    let mut peak = 0;
    loop {
        if let Some(kib) = peak_rss_kib(child.id()) {
            peak = peak.max(kib);
        }
        if let Ok(Some(status)) = child.try_wait() {
            return (Some(status), peak);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return (None, peak);
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// Waits at most `limit` for `child` to exit; kills it and returns `None` past that.
pub fn wait_at_most(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> Option<std::process::ExitStatus> {
    wait_with_peak(child, limit).0
}

/// The path of an HTTP request head (`GET /a/b HTTP/1.1` gives `/a/b`).
pub fn request_path(head: &[u8]) -> String {
    let line = String::from_utf8_lossy(head);
    line.split_whitespace().nth(1).unwrap_or("").to_owned()
}

/// A header's value in an HTTP request head (name matched case-insensitively).
pub fn request_header(head: &[u8], name: &str) -> Option<String> {
    String::from_utf8_lossy(head).lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}
