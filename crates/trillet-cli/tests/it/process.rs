//! The real binary against real processes, pipes and signals: hostile server text,
//! SIGTERM and SIGHUP mid-batch, `kill -9` and `--resume`, streaming stdin, flags.

use crate::common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
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
    // At most this many runs are killed; the next one is left to finish, so a slow
    // machine (each run getting less done before its kill) still ends, and the
    // file is checked the same way.
    const KILLS: usize = 30;
    let mut runs = 0;
    loop {
        runs += 1;
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
        let wait = if runs > KILLS {
            Duration::from_secs(120)
        } else {
            Duration::from_millis(50 + seed % 750)
        };
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
                assert!(runs <= KILLS, "the last run did not finish in 2 minutes");
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

/// A loopback server for the long-job tests: answers each GET with 200 and
/// `answer(id)` (the last path segment), counts requests and keeps the API keys it
/// was sent. Answers are held until `hold_until` requests have arrived or
/// [`open`](Self::open) is called (at most 30 s), so that many are in flight at once.
struct Loopback {
    url: String,
    requests: Arc<AtomicUsize>,
    keys: Arc<Mutex<Vec<String>>>,
    open: Arc<AtomicBool>,
}

impl Loopback {
    fn start(hold_until: usize, answer: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let requests = Arc::new(AtomicUsize::new(0));
        let keys = Arc::new(Mutex::new(Vec::new()));
        let open = Arc::new(AtomicBool::new(hold_until <= 1));
        let answer = Arc::new(answer);
        let (counter, seen, gate) = (requests.clone(), keys.clone(), open.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { break };
                let (counter, seen, gate, answer) =
                    (counter.clone(), seen.clone(), gate.clone(), answer.clone());
                std::thread::spawn(move || {
                    let head = common::read_head(&mut stream);
                    if head.is_empty() {
                        return;
                    }
                    let arrived = counter.fetch_add(1, Ordering::SeqCst) + 1;
                    if let Some(key) = common::request_header(&head, "x-api-key") {
                        seen.lock().expect("keys").push(key);
                    }
                    let started = Instant::now();
                    while !gate.load(Ordering::SeqCst)
                        && counter.load(Ordering::SeqCst).max(arrived) < hold_until
                        && started.elapsed() < Duration::from_secs(30)
                    {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    let path = common::request_path(&head);
                    let id = path.rsplit('/').next().unwrap_or_default().to_owned();
                    let body = answer(&id);
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(&body);
                });
            }
        });
        Self {
            url,
            requests,
            keys,
            open,
        }
    }

    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// `trillet … call-history get IDS --output-file FILE --resume` against `url`.
fn resume_run(url: &str, file: &std::path::Path, ids: &[&str]) -> std::process::Output {
    against(url)
        .args(["call-history", "get"])
        .args(ids)
        .arg("--output-file")
        .arg(file)
        .arg("--resume")
        .output()
        .expect("runs")
}

fn lines_of(file: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .expect("output file")
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_second_run_on_an_output_file_in_use_fails_at_once_and_the_first_finishes_whole() {
    let server = Loopback::start(usize::MAX, |id| format!(r#"{{"_id":"{id}"}}"#).into_bytes());
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("calls.jsonl");
    let mut first = against(&server.url)
        .args(["call-history", "get", "a", "b", "--resume", "--output-file"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // The first run holds the file while its requests wait at the server.
    let started = Instant::now();
    while server.requests() < 2 && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.requests(), 2, "the first run never asked");
    let mut second = against(&server.url)
        .args([
            "call-history",
            "get",
            "a",
            "b",
            "c",
            "--resume",
            "--output-file",
        ])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let status = common::wait_at_most(&mut second, Duration::from_secs(10));
    server.open();
    let mut stderr = String::new();
    let _ = second
        .stderr
        .take()
        .map(|mut e| e.read_to_string(&mut stderr));
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(2),
        "the second run was not refused while the first held the file: {stderr}"
    );
    assert!(
        stderr.contains(&file.display().to_string()) && stderr.contains("in use"),
        "{stderr}"
    );
    let first = common::wait_at_most(&mut first, Duration::from_secs(20));
    assert!(first.is_some_and(|s| s.success()));
    assert_eq!(
        lines_of(&file),
        [r#"{"_id":"a"}"#, r#"{"_id":"b"}"#],
        "the first run's output is whole"
    );
    // Once the first run is over, the file is free again.
    let again = resume_run(&server.url, &file, &["a", "b", "c"]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(stderr.contains("2 already in the file"), "{stderr}");
    assert_eq!(lines_of(&file).len(), 3);
}

#[test]
fn each_record_and_its_newline_go_to_the_output_file_in_one_write() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("calls.jsonl");
    let trace = dir.path().join("trace.txt");
    let status = Command::new("strace")
        .args([
            "-f",
            "-y",
            "-qq",
            "-e",
            "trace=write,writev,pwrite64",
            "-s",
            "100000",
            "-o",
        ])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_trillet"))
        .args(["--mock", "--quiet", "call-history", "get", "a", "b", "c"])
        .arg("--output-file")
        .arg(&file)
        .env_remove("RUST_LOG")
        .env_remove("TRILLET_API_KEY")
        .status()
        .expect("strace runs (the machine image has it: apt-get install strace)");
    assert!(status.success());
    let name = file.display().to_string();
    let trace = std::fs::read_to_string(&trace).expect("trace");
    let writes: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains(&format!("<{name}>")))
        .collect();
    assert_eq!(writes.len(), 3, "one write per record: {writes:#?}");
    for write in writes {
        assert!(
            write.contains(r#", "{\"_id\":"#) && write.contains(r#"}\n", "#),
            "a record and its newline in one call: {write}"
        );
    }
    assert_eq!(lines_of(&file).len(), 3);
}

#[test]
fn large_records_in_flight_cost_a_small_multiple_of_their_size() {
    const N: usize = 4;
    const SIZE: usize = 3_300_000;
    // The costliest shape for a tree of JSON values: millions of tiny elements in a
    // field the model does not name.
    fn large(id: &str) -> Vec<u8> {
        let mut body = format!(r#"{{"_id":"{id}","status":"completed","blob":["#).into_bytes();
        while body.len() < SIZE - 4 {
            body.extend_from_slice(b"0,");
        }
        body.extend_from_slice(b"0]}");
        body
    }
    fn small(id: &str) -> Vec<u8> {
        format!(r#"{{"_id":"{id}","status":"completed","blob":[0]}}"#).into_bytes()
    }
    let ids: Vec<String> = (0..N).map(|i| format!("big-{i}")).collect();
    let peak = |answer: fn(&str) -> Vec<u8>| {
        let server = Loopback::start(N, answer);
        let mut child = against(&server.url)
            .args(["--quiet", "--concurrency", &N.to_string()])
            .args(["call-history", "get"])
            .args(&ids)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut stdout = child.stdout.take().expect("stdout");
        let counter = std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = stdout.read_to_end(&mut out);
            out.iter().filter(|&&b| b == b'\n').count()
        });
        let (status, peak) = common::wait_with_peak(&mut child, Duration::from_secs(120));
        let lines = counter.join().expect("counter");
        assert!(status.is_some_and(|s| s.success()), "the run failed");
        assert_eq!(lines, N);
        assert_eq!(server.requests(), N);
        peak
    };
    let baseline = peak(small);
    let loaded = peak(large);
    let in_flight_kib = (N * SIZE / 1024) as u64;
    let ratio = loaded.saturating_sub(baseline) as f64 / in_flight_kib as f64;
    eprintln!(
        "peak RSS: {baseline} KiB with small records, {loaded} KiB with {N} of {SIZE} bytes in flight: {ratio:.2} × their size"
    );
    assert!(
        ratio <= 4.0,
        "{N} records of {SIZE} bytes in flight cost {ratio:.1} times their size"
    );
}

#[test]
fn an_output_file_that_is_not_a_regular_file_is_refused_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    let fifo = fifo.display().to_string();
    for (path, resume) in [
        ("/dev/zero", true),
        ("/dev/full", true),
        ("/dev/full", false),
        (fifo.as_str(), true),
        (fifo.as_str(), false),
    ] {
        let mut cmd = trillet();
        cmd.args([
            "--mock",
            "call-history",
            "get",
            "a",
            "b",
            "--output-file",
            path,
        ]);
        if resume {
            cmd.arg("--resume");
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let (status, peak) = common::wait_with_peak(&mut child, Duration::from_secs(5));
        let mut stderr = String::new();
        let _ = child
            .stderr
            .take()
            .map(|mut e| e.read_to_string(&mut stderr));
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(2),
            "{path} (resume: {resume}): still running after 5 s ({peak} KiB) or not refused: {stderr}"
        );
        assert!(
            stderr.contains(path) && stderr.contains("not a regular file"),
            "{path}: {stderr}"
        );
    }
}

#[test]
fn resume_reads_the_output_file_as_a_stream_keeping_only_the_ids() {
    const LINES: usize = 48;
    const LINE: usize = 1 << 20;
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, filler: usize| {
        let path = dir.path().join(name);
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        for i in 0..LINES {
            writeln!(
                file,
                r#"{{"_id":"old-{i}","summary":"{}"}}"#,
                "x".repeat(filler)
            )
            .expect("write");
        }
        file.flush().expect("flush");
        path
    };
    let small = write("small.jsonl", 10);
    let big = write("big.jsonl", LINE);
    let peak = |file: &std::path::Path| {
        let mut child = trillet()
            .args([
                "--mock",
                "--quiet",
                "call-history",
                "get",
                "--ids-from",
                "-",
            ])
            .arg("--output-file")
            .arg(file)
            .arg("--resume")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "old-3\nnew-1").expect("ids");
        stdin.flush().expect("flush");
        // The new record is in the file: the old content has been read.
        let before = std::fs::metadata(file).expect("size").len();
        let started = Instant::now();
        while std::fs::metadata(file).expect("size").len() <= before
            || !lines_of(file)
                .last()
                .is_some_and(|l| l.contains(r#""_id":"new-1""#))
        {
            assert!(started.elapsed() < Duration::from_secs(60), "never fetched");
            std::thread::sleep(Duration::from_millis(20));
        }
        let peak = common::peak_rss_kib(child.id()).expect("VmHWM");
        drop(stdin);
        let status = common::wait_at_most(&mut child, Duration::from_secs(20));
        assert!(status.is_some_and(|s| s.success()));
        peak
    };
    let baseline = peak(&small);
    let read = peak(&big);
    let size_kib = (LINES * LINE / 1024) as u64;
    eprintln!("peak RSS resuming: {baseline} KiB for a small file, {read} KiB for {size_kib} KiB");
    assert!(
        read.saturating_sub(baseline) <= size_kib / 4,
        "resuming a {size_kib} KiB file took {} KiB more than a small one",
        read.saturating_sub(baseline)
    );
    assert_eq!(lines_of(&big).len(), LINES + 1, "old-3 was skipped");
}

#[test]
fn resume_skips_an_id_the_server_answered_under_another_id() {
    let server = Loopback::start(0, |id| {
        format!(r#"{{"_id":"{}","status":"completed"}}"#, id.to_lowercase()).into_bytes()
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("calls.jsonl");
    let first = resume_run(&server.url, &file, &["ABC", "def"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(server.requests(), 2);
    let second = resume_run(&server.url, &file, &["ABC", "def"]);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    assert!(stderr.contains("2 already in the file"), "{stderr}");
    assert_eq!(server.requests(), 2, "ABC was fetched again");
    let lines = lines_of(&file);
    assert_eq!(lines.len(), 2, "a duplicate: {lines:?}");
    // The file holds the records exactly as the server sent them.
    assert_eq!(lines[0], r#"{"_id":"abc","status":"completed"}"#);
}

#[test]
fn a_record_without_an_id_never_stops_the_next_resume() {
    let server = Loopback::start(0, |id| match id {
        "anon" => br#"{"status":"completed"}"#.to_vec(),
        _ => format!(r#"{{"_id":"{id}"}}"#).into_bytes(),
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("calls.jsonl");
    let first = resume_run(&server.url, &file, &["a", "anon", "b"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = resume_run(&server.url, &file, &["a", "anon", "b", "c"]);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("1 fetched, 0 failed of 1, 3 already in the file"),
        "{stderr}"
    );
    assert_eq!(server.requests(), 4);
    assert_eq!(
        lines_of(&file),
        [
            r#"{"_id":"a"}"#,
            r#"{"status":"completed"}"#,
            r#"{"_id":"b"}"#,
            r#"{"_id":"c"}"#
        ]
    );
}

#[test]
fn notes_left_by_an_earlier_output_file_of_the_same_name_are_not_counted() {
    let server = Loopback::start(0, |id| match id {
        "stale" => br#"{"_id":"stale"}"#.to_vec(),
        _ => br#"{"status":"completed"}"#.to_vec(),
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("calls.jsonl");
    // The file was deleted, its notes were not.
    std::fs::write(
        dir.path().join("calls.jsonl.requested"),
        "{\"requested\":\"stale\",\"_id\":null}\n",
    )
    .expect("write notes");
    let first = resume_run(&server.url, &file, &["anon"]);
    assert!(first.status.success());
    let second = resume_run(&server.url, &file, &["anon", "stale"]);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    assert_eq!(
        server.requests(),
        2,
        "anon fetched twice, or stale never: {stderr}"
    );
    assert!(
        stderr.contains("1 fetched, 0 failed of 1, 1 already in the file"),
        "{stderr}"
    );
    assert_eq!(
        lines_of(&file),
        [r#"{"status":"completed"}"#, r#"{"_id":"stale"}"#],
        "anon was fetched again and stale never"
    );
}

#[test]
fn a_note_left_without_its_record_by_a_crash_is_cut_off_so_no_later_record_is_lost() {
    let server = Loopback::start(0, |_| br#"{"status":"completed"}"#.to_vec());
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("calls.jsonl");
    // A run noted p and wrote its record, noted q and was killed before q's record.
    std::fs::write(&file, "{\"status\":\"completed\"}\n").expect("write records");
    std::fs::write(
        dir.path().join("calls.jsonl.requested"),
        "{\"requested\":\"p\",\"_id\":null}\n{\"requested\":\"q\",\"_id\":null}\n",
    )
    .expect("write notes");
    let first = resume_run(&server.url, &file, &["p", "q", "r"]);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(
        stderr.contains("2 fetched, 0 failed of 2, 1 already in the file"),
        "{stderr}"
    );
    // Every id is in the file now: nothing is fetched again.
    let second = resume_run(&server.url, &file, &["p", "q", "r"]);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    assert!(
        stderr.contains("0 fetched, 0 failed of 0, 3 already in the file"),
        "{stderr}"
    );
    assert_eq!(server.requests(), 2);
    assert_eq!(lines_of(&file).len(), 3);
}

#[test]
fn ids_from_a_source_without_newlines_keep_memory_flat_and_stay_interruptible() {
    let peak_after = |source: &str| {
        let mut child = trillet()
            .args(["--mock", "call-history", "get", "--ids-from", source])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_secs(2));
        let peak = common::peak_rss_kib(child.id()).expect("VmHWM");
        kill(&child, "-INT");
        let status = common::wait_at_most(&mut child, Duration::from_secs(10));
        let mut stderr = String::new();
        let _ = child
            .stderr
            .take()
            .map(|mut e| e.read_to_string(&mut stderr));
        (peak, status.and_then(|s| s.code()), stderr)
    };
    // Standard input kept open and idle: what the command costs while it waits.
    let (baseline, _, _) = peak_after("-");
    let (peak, code, stderr) = peak_after("/dev/zero");
    eprintln!("peak RSS: {baseline} KiB idle, {peak} KiB after 2 s of /dev/zero");
    assert!(
        peak <= baseline * 2,
        "reading a line without end grew to {peak} KiB (idle: {baseline} KiB)"
    );
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("/dev/zero line 1: longer than"), "{stderr}");
}

#[test]
fn the_api_key_can_come_from_a_file_or_standard_input_and_is_never_echoed() {
    let server = Loopback::start(0, |id| format!(r#"{{"_id":"{id}"}}"#).into_bytes());
    let dir = tempfile::tempdir().expect("temp dir");
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, "tk_from_file\n").expect("write key");
    let base = || {
        let mut cmd = trillet();
        cmd.env("TRILLET_WORKSPACE_ID", "w")
            .env("TRILLET_BASE_URL", &server.url)
            .args(["--rate-limit", "0", "--max-retries", "0", "--quiet"]);
        cmd
    };
    // The file wins over an exported key (and is not refused beside it).
    let out = base()
        .env("TRILLET_API_KEY", "tk_from_env")
        .arg("--api-key-file")
        .arg(&key_file)
        .args(["call-history", "get", "a"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut child = base()
        .args(["--api-key-file", "-", "call-history", "get", "b"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"tk_from_stdin\r\n")
        .expect("key");
    assert!(child.wait().expect("waits").success());
    assert_eq!(
        *server.keys.lock().expect("keys"),
        ["tk_from_file", "tk_from_stdin"]
    );

    // Both on standard input: a usage error before anything is read or sent.
    let out = base()
        .args([
            "--api-key-file",
            "-",
            "call-history",
            "get",
            "--ids-from",
            "-",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--api-key-file -") && stderr.contains("--ids-from -"),
        "{stderr}"
    );

    // A missing file is named; a bad key is refused without showing it.
    let missing = dir.path().join("nope");
    let out = base()
        .arg("--api-key-file")
        .arg(&missing)
        .args(["call-history", "get", "a"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&missing.display().to_string()));
    std::fs::write(&key_file, "tk_s\u{e9}cret_\u{1b}[2J\n").expect("write key");
    let out = base()
        .arg("--api-key-file")
        .arg(&key_file)
        .args(["call-history", "get", "a"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        !stderr.contains("cret") && !stderr.contains('\u{1b}'),
        "{stderr}"
    );
    assert_eq!(server.requests(), 2, "nothing sent with a bad key");
}
