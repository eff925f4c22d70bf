//! The real binary against real processes, pipes and signals: hostile server text,
//! SIGTERM and SIGHUP mid-batch, `kill -9` and `--resume`, streaming stdin, flags.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{against, trillet};

/// A loopback server answering every request with `status` and `body`.
fn serve_once_per_request(status: u16, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            common::read_head(&mut stream);
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    url
}

#[test]
fn escape_sequences_from_the_server_never_reach_the_terminal_raw() {
    let record = r#"{"_id":"x\u001b]0;pwned\u0007","status":"\u001b[2Jdone","summary":"hi\u001b[31m red\u009b"}"#;
    let url = serve_once_per_request(200, record);
    let out = against(&url)
        .args(["call-history", "get", "x", "--output", "table"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        !table.contains('\u{1b}') && !table.contains('\u{7}') && !table.contains('\u{9b}'),
        "{table:?}"
    );
    assert!(
        table.contains("pwned\\u{7}") && table.contains("\\u{1b}[2J"),
        "{table}"
    );
    // JSON output stays exactly what the server sent (escaped by JSON itself).
    let json = against(&url)
        .args(["call-history", "get", "x", "-o", "jsonl"])
        .output()
        .expect("runs");
    assert_eq!(String::from_utf8_lossy(&json.stdout).trim(), record);

    let error = r#"{"error":{"code":"not_found","message":"gone\u001b[2J\u001b]0;title\u0007"}}"#;
    let url = serve_once_per_request(404, error);
    let out = against(&url)
        .args(["call-history", "get", "a", "b"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{7}'),
        "{stderr:?}"
    );
    assert!(stderr.contains("gone\\u{1b}[2J"), "{stderr}");
    assert!(
        stderr.contains("(requested /v2/api/call-history/a)"),
        "{stderr}"
    );
}

/// Starts a throttled batch of `n` ids against the mock, reading ids from stdin.
fn batch(n: usize, extra: &[&str]) -> (Child, Vec<String>) {
    let ids: Vec<String> = (0..n).map(|i| format!("sig-{i:04}")).collect();
    let mut child = trillet()
        .args(["--mock", "--rate-limit", "600", "--concurrency", "4"])
        .args(["call-history", "get", "--ids-from", "-"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(ids.join("\n").as_bytes())
        .expect("write ids");
    drop(stdin);
    (child, ids)
}

fn kill(child: &Child, signal: &str) {
    let ok = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(ok.success());
}

#[test]
fn sigterm_and_sighup_end_a_batch_with_whole_lines_a_summary_and_their_status() {
    for (signal, code, word) in [("-TERM", 143, "terminated:"), ("-HUP", 129, "hung up:")] {
        let (child, ids) = batch(300, &[]);
        std::thread::sleep(Duration::from_millis(1500));
        kill(&child, signal);
        let out = child.wait_with_output().expect("waits");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{signal}: {stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let printed: Vec<String> = stdout
            .lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{signal}: a cut line {line:?}: {e}"));
                v["_id"].as_str().expect("an id").to_owned()
            })
            .collect();
        assert!(
            !printed.is_empty() && printed.len() < ids.len(),
            "{signal}: {}",
            printed.len()
        );
        assert_eq!(printed, ids[..printed.len()], "{signal}: in order, no gap");
        assert!(stderr.contains(word), "{signal}: {stderr}");
        assert!(
            stderr.contains(&format!("{} fetched", printed.len())),
            "{signal}: {stderr}"
        );
    }
}

#[test]
fn kill_9_at_random_points_then_resume_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ids_file = dir.path().join("ids.txt");
    let out_file = dir.path().join("calls.jsonl");
    let ids: Vec<String> = (0..120).map(|i| format!("res-{i:04}")).collect();
    std::fs::write(&ids_file, ids.join("\n")).expect("write ids");
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut runs = 0;
    loop {
        runs += 1;
        assert!(runs < 60, "never finished");
        let mut child = trillet()
            .args([
                "--mock",
                "--rate-limit",
                "1200",
                "--concurrency",
                "4",
                "--quiet",
            ])
            .args(["call-history", "get", "--ids-from"])
            .arg(&ids_file)
            .arg("--output-file")
            .arg(&out_file)
            .arg("--resume")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // xorshift: a kill point between 50 and 800 ms, the same sequence every run.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let wait = Duration::from_millis(50 + seed % 750);
        let started = Instant::now();
        let finished = loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                break Some(status);
            }
            if started.elapsed() >= wait {
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        match finished {
            Some(status) => {
                let mut stderr = String::new();
                let _ = child
                    .stderr
                    .take()
                    .map(|mut e| e.read_to_string(&mut stderr));
                assert!(status.success(), "{stderr}");
                break;
            }
            None => {
                kill(&child, "-KILL");
                let _ = child.wait();
            }
        }
    }
    let content = std::fs::read_to_string(&out_file).expect("output");
    assert!(content.ends_with('\n'));
    let got: Vec<String> = content
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("a whole record");
            v["_id"].as_str().expect("id").to_owned()
        })
        .collect();
    assert_eq!(
        got.iter().collect::<HashSet<_>>().len(),
        got.len(),
        "a duplicate"
    );
    assert_eq!(got, ids, "after {runs} runs");
    eprintln!("{runs} runs, {} killed", runs - 1);
}

#[test]
fn resume_repairs_a_cut_last_line_and_refuses_a_file_without_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_file = dir.path().join("calls.jsonl");
    std::fs::write(&out_file, "{\"_id\":\"a\"}\n{\"_id\":\"b\",\"sta").expect("write");
    let refused = trillet()
        .args([
            "--mock",
            "call-history",
            "get",
            "a",
            "b",
            "c",
            "--output-file",
        ])
        .arg(&out_file)
        .output()
        .expect("runs");
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--resume"));
    let out = trillet()
        .args([
            "--mock",
            "call-history",
            "get",
            "a",
            "b",
            "c",
            "--resume",
            "--output-file",
        ])
        .arg(&out_file)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("removed a last line cut short"), "{stderr}");
    assert!(stderr.contains("1 already in the file"), "{stderr}");
    let ids: Vec<String> = std::fs::read_to_string(&out_file)
        .expect("output")
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("whole")["_id"]
                .as_str()
                .expect("id")
                .to_owned()
        })
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
}

#[test]
fn ids_on_stdin_are_fetched_as_they_arrive() {
    let mut child = trillet()
        .args(["--mock", "call-history", "get", "--ids-from", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    for id in ["first-1", "second-2"] {
        writeln!(stdin, "{id}").expect("write");
        stdin.flush().expect("flush");
        let mut line = String::new();
        // Standard input is still open: the record can only come if ids stream.
        stdout.read_line(&mut line).expect("read");
        assert!(line.contains(&format!("\"_id\":\"{id}\"")), "{line}");
    }
    drop(stdin);
    assert!(child.wait().expect("waits").success());
}

#[test]
fn json_output_of_several_records_is_one_valid_document() {
    let out = trillet()
        .args(["--mock", "call-history", "get", "a", "b", "c", "-o", "json"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let ids: Vec<&str> = doc
        .as_array()
        .expect("an array")
        .iter()
        .map(|r| r["_id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
    let one = trillet()
        .args(["--mock", "call-history", "get", "a", "-o", "json"])
        .output()
        .expect("runs");
    assert!(
        serde_json::from_slice::<serde_json::Value>(&one.stdout)
            .expect("valid")
            .is_object()
    );
}

#[test]
fn the_mock_runs_at_local_speed_unless_a_rate_is_asked_for() {
    let ids: Vec<String> = (0..25).map(|i| format!("fast-{i}")).collect();
    let started = Instant::now();
    let out = trillet()
        .args(["--mock", "--quiet", "call-history", "get"])
        .args(&ids)
        .output()
        .expect("runs");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 25);
    // At the API's 60 a minute this takes 24 s.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn bad_flags_are_usage_errors_and_open_set_values_warn() {
    for args in [
        &["--concurrency", "0"][..],
        &["--timeout", "1e20"],
        &["--timeout", "0"],
        &["--mock-chaos", "2"],
    ] {
        let out = trillet()
            .arg("--mock")
            .args(args)
            .args(["call-history", "get", "a"])
            .output()
            .expect("runs");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{args:?}"
        );
    }
    let out = trillet()
        .args(["--mock", "call-history", "list", "--call-type", "fax"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("sip, web"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = trillet()
        .args([
            "--mock",
            "call-history",
            "list",
            "--status",
            "bogus",
            "--limit",
            "3",
        ])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: --status bogus is not one of the values the spec lists"),
        "{stderr}"
    );
}

#[test]
fn a_closed_standard_error_is_no_panic() {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec '{}' --mock call-history get a missing-1 2>&-",
            env!("CARGO_BIN_EXE_trillet")
        ))
        .env_remove("RUST_LOG")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "a panic exits 101");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"_id\":\"a\""));
}
