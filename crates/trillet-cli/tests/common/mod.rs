//! What the CLI's test files share.

#![allow(dead_code)] // each test file uses some of it

use std::io::Read;

pub mod deviations;

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
