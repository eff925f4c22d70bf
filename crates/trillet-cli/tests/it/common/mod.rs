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

/// A new pseudo-terminal: the side a test reads and writes, and the side a child
/// gets as its terminal.
fn pseudo_terminal() -> (std::fs::File, rustix::fd::OwnedFd) {
    use rustix::fs::{Mode, OFlags};
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
        .expect("a pseudo-terminal");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname(&master, Vec::new()).expect("the terminal's name");
    let terminal = rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .expect("the terminal opens");
    (std::fs::File::from(master), terminal)
}

/// Everything written to the terminal until no process has it open, with the
/// terminal's CR LF turned back into LF.
fn read_terminal(mut master: std::fs::File) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match master.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // Linux: EIO once no process has the terminal open.
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::IO.raw_os_error()) => break,
            Err(e) => panic!("reading the terminal: {e}"),
        }
    }
    let mut lf = Vec::with_capacity(out.len());
    let mut i = 0;
    while i < out.len() {
        if out[i] == b'\r' && out.get(i + 1) == Some(&b'\n') {
            i += 1;
        }
        lf.push(out[i]);
        i += 1;
    }
    lf
}

/// Runs `cmd` with its standard output on a new pseudo-terminal (so for the child
/// it is a terminal: `isatty(1)` holds) and returns what it wrote there, with the
/// terminal's CR LF turned back into LF, and how it exited. Standard input is
/// empty; standard error goes to a file, returned too.
pub fn on_a_terminal(
    mut cmd: std::process::Command,
) -> (Vec<u8>, String, std::process::ExitStatus) {
    let (master, terminal) = pseudo_terminal();
    let mut stderr = tempfile::tempfile().expect("a file for standard error");
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::from(terminal))
        .stderr(stderr.try_clone().expect("a second handle"));
    let mut child = cmd.spawn().expect("the command starts");
    // The command holds this side's copy of the terminal: without it, reading the
    // other side ends when the child closes its own.
    drop(cmd);
    let out = read_terminal(master);
    let status = child.wait().expect("the command ends");
    let mut text = String::new();
    use std::io::Seek;
    stderr.rewind().expect("rewinds");
    stderr
        .read_to_string(&mut text)
        .expect("standard error is UTF-8");
    (out, text, status)
}

/// Runs `cmd` with standard input, output and error all on a new pseudo-terminal,
/// as a person at a terminal would, typing `typed` once the terminal shows
/// `prompt`; returns everything the terminal showed (the echoed answer included)
/// and how it exited.
pub fn typing_on_a_terminal(
    mut cmd: std::process::Command,
    prompt: &str,
    typed: &str,
) -> (String, std::process::ExitStatus) {
    use std::io::Write;
    let (master, terminal) = pseudo_terminal();
    let dup = || std::process::Stdio::from(terminal.try_clone().expect("a second handle"));
    cmd.stdin(dup()).stdout(dup()).stderr(dup());
    drop(terminal);
    let mut child = cmd.spawn().expect("the command starts");
    drop(cmd);
    // Wait for the question before answering: typed-ahead input would be read by
    // whatever reads the terminal first.
    let mut reader = master.try_clone().expect("a second handle");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(prompt) {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let mut writer = master.try_clone().expect("a second handle");
    // A child that ended before asking has closed the terminal: nothing to type.
    writer.write_all(typed.as_bytes()).ok();
    drop(writer);
    drop(reader);
    let rest = read_terminal(master);
    let status = child.wait().expect("the command ends");
    seen.extend_from_slice(&rest);
    (String::from_utf8_lossy(&seen).replace("\r\n", "\n"), status)
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
