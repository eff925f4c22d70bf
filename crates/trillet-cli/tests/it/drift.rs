//! `trillet spec drift` and `--drift`, as real processes: the spec's example files,
//! crafted records, JSON lines and one JSON document, standard input, the three
//! formats, exit statuses, the mock's list, and memory over 100,000 records.

// Test helpers unwrap: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use serde_json::{Value, json};

use common::deviations::{self, DEVIATIONS, RECORDS};
use common::{against, trillet};

fn examples() -> PathBuf {
    trillet_spec::spec_dir().join("examples")
}

fn run_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = trillet()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let text = stdin.to_owned();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(text.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json_report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

/// The findings of a JSON report as `schema path kind`.
fn kinds(report: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for schema in report["schemas"].as_array().unwrap() {
        for f in schema["findings"].as_array().unwrap() {
            found.push(format!(
                "{} {} {}",
                schema["name"].as_str().unwrap(),
                f["path"].as_str().unwrap(),
                f["kind"].as_str().unwrap()
            ));
        }
    }
    found
}

/// A temporary file removed when the test ends.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> TempFile {
        let path =
            std::env::temp_dir().join(format!("trillet-drift-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn crafted() -> String {
    [
        json!({"_id": "1", "startTime": 1, "cost": {"customer_charge": 1},
               "transcript": [{"role": "agent"}], "recordingUrl": "https://r.example/1", "duration": 118,
               "status": "ringing", "direction": "inbound", "createdAt": "not a date",
               "functionCalls": [{"name": "f"}, 7]}),
        // `callFlowId` is CallHistory's alone: among every response schema, the
        // record is chosen by shape.
        json!({"_id": "2", "startTime": "later", "cost": {"customer_charge": 1},
               "callFlowId": "f1", "status": "completed", "recordingUrl": null}),
        json!({"error": {"code": "oops"}}),
    ]
    .iter()
    .map(|v| v.to_string() + "\n")
    .collect()
}

#[test]
fn the_example_files_drift_only_where_they_carry_unknown_fields() {
    let described: Vec<PathBuf> = [
        "call-history.seed.json",
        "call-history.ongoing.json",
        "call-history.minimal.json",
        "error.400.json",
        "error.401.json",
        "error.403.json",
        "error.404.json",
        "error.429.json",
        "error.500.json",
    ]
    .iter()
    .map(|n| examples().join(n))
    .collect();
    let out = trillet()
        .arg("spec")
        .arg("drift")
        .args(&described)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("no drift"), "{}", stdout(&out));

    let out = trillet()
        .args(["spec", "drift", "--format", "json"])
        .arg(examples().join("call-history.unknown-fields.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let found = kinds(&json_report(&out));
    for expected in [
        "CallHistory /transcript unknown-property",
        "CallHistory /recordingUrl unknown-property",
        "CallHistory /cost/currency unknown-property",
        "CallHistory /metadata open-object-keys",
    ] {
        assert!(
            found.contains(&expected.to_owned()),
            "{expected} not in {found:?}"
        );
    }
}

#[test]
fn crafted_records_on_stdin_show_every_kind_of_drift_in_json() {
    let out = run_with_stdin(&["spec", "drift", "--format", "json", "-"], &crafted());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json_report(&out);
    assert_eq!(report["records"], 3);
    assert_eq!(report["drifted"], true);
    let found = kinds(&report);
    for expected in [
        "CallHistory /transcript unknown-property",
        "CallHistory /duration unknown-property",
        "CallHistory /recordingUrl unknown-property",
        "CallHistory /status enum-value",
        "CallHistory /startTime wrong-type",
        "CallHistory /createdAt bad-format",
        "CallHistory /functionCalls/* wrong-type",
        "ErrorEnvelope /error/message missing-required",
    ] {
        assert!(
            found.contains(&expected.to_owned()),
            "{expected} not in {found:?}"
        );
    }
    // Nothing described is reported.
    assert!(
        !found
            .iter()
            .any(|f| f.contains(" /_id ") || f.contains("/direction")),
        "{found:?}"
    );
    let history = &report["schemas"][0];
    let url = history["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "/recordingUrl")
        .unwrap();
    assert_eq!(url["records"], 2);
    assert_eq!(url["types"], json!(["null", "string"]));
    assert_eq!(url["add_to"], "/components/schemas/CallHistory");
    let status = history["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "/status")
        .unwrap();
    assert_eq!(status["open"], true);
    assert_eq!(
        status["values"],
        json!([{"value": "ringing", "records": 1}])
    );
}

#[test]
fn one_json_array_document_is_read_record_by_record() {
    let records: Vec<Value> = crafted()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let document = serde_json::to_string_pretty(&records).unwrap();
    let file = TempFile::new("array.json", &document);
    let out = trillet()
        .args(["spec", "drift", "--format", "json"])
        .arg(&file.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = run_with_stdin(&["spec", "drift", "--format", "json"], &crafted());
    // Same records, same report, whether JSON lines or one array document.
    assert_eq!(json_report(&out), json_report(&lines));
}

#[test]
fn get_output_of_the_mock_pipes_into_drift() {
    let got = trillet()
        .args([
            "--mock",
            "--quiet",
            "call-history",
            "get",
            "a",
            "b",
            "-o",
            "json",
        ])
        .arg("65a7f3c2e4b0a1d2c3f4e5a7")
        .output()
        .unwrap();
    assert_eq!(got.status.code(), Some(0));
    let out = run_with_stdin(&["spec", "drift", "--format", "json"], &stdout(&got));
    let report = json_report(&out);
    assert_eq!(report["records"], 3);
    assert!(kinds(&report).contains(&"CallHistory /transcript unknown-property".to_owned()));
}

#[test]
fn markdown_and_text_are_for_people_and_escaped() {
    let hostile =
        "{\"_id\":\"1\",\"startTime\":1,\"status\":\"\\u001b[2Jgone\",\"x\\u001b]0;t\\u0007\":1}\n";
    let out = run_with_stdin(&["spec", "drift", "--schema", "CallHistory"], hostile);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(
        text.contains("/status") && text.contains("enum-value"),
        "{text}"
    );
    let out = run_with_stdin(&["spec", "drift", "--format", "markdown"], &crafted());
    let md = stdout(&out);
    assert!(md.starts_with("## Spec drift\n"), "{md}");
    assert!(
        md.contains("| `/transcript` | `unknown-property` |"),
        "{md}"
    );
    assert!(md.contains("### `ErrorEnvelope` (1 record)"), "{md}");
}

#[test]
fn usage_errors_exit_2() {
    let out = run_with_stdin(&["spec", "drift", "--schema", "NoSuchThing"], "{}");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no schema named `NoSuchThing`"),
        "{}",
        stderr(&out)
    );
    let out = run_with_stdin(&["spec", "drift"], "{\"_id\": \"1\"}\n{oops\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("JSON document 2"), "{}", stderr(&out));
    let out = trillet()
        .args(["spec", "drift", "/no/such/file.jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = trillet()
        .args(["spec", "drift", "--format", "xml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = trillet()
        .args(["spec", "drift", "--write-spec", "x.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "--write-spec needs --suggest");
}

#[test]
fn suggest_prints_a_patch_whose_spec_no_longer_drifts() {
    let records = TempFile::new("suggest.jsonl", &crafted());
    let head = TempFile::new("head.yaml", "");
    let out = trillet()
        .args([
            "spec",
            "drift",
            "--suggest",
            "--format",
            "json",
            "--write-spec",
        ])
        .arg(&head.0)
        .arg(&records.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let patch = json_report(&out);
    let ops = patch.as_array().unwrap();
    assert!(ops.iter().all(|op| op["op"] == "add"), "{patch}");
    let paths: Vec<&str> = ops.iter().filter_map(|op| op["path"].as_str()).collect();
    for expected in [
        "/components/schemas/CallHistory/properties/transcript",
        "/components/schemas/CallHistory/properties/recordingUrl",
        "/components/schemas/CallHistory/properties/duration",
        "/components/schemas/CallStatus/anyOf/0/enum/-",
    ] {
        assert!(paths.contains(&expected), "{expected} not in {paths:?}");
    }
    // The written spec describes the unknown properties and the new status; the
    // type and format violations and the missing property stay: never loosened.
    let out = trillet()
        .args(["spec", "drift", "--format", "json", "--spec"])
        .arg(&head.0)
        .arg(&records.0)
        .output()
        .unwrap();
    let mut left = kinds(&json_report(&out));
    left.retain(|k| !k.ends_with("open-object-keys"));
    assert_eq!(
        left,
        [
            "CallHistory /createdAt bad-format",
            "CallHistory /functionCalls/* wrong-type",
            "CallHistory /startTime wrong-type",
            "ErrorEnvelope /error/message missing-required",
        ],
        "{left:?}"
    );
    let text = trillet()
        .args(["spec", "drift", "--suggest"])
        .arg(&records.0)
        .output()
        .unwrap();
    assert!(stdout(&text).contains("add /components/schemas/CallHistory/properties/transcript:\n"));
}

#[test]
fn drift_on_the_fly_with_the_mock_list_and_get() {
    let out = trillet()
        .args(["--mock", "call-history", "list", "--limit", "30", "--drift"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "drift does not change the exit status"
    );
    let printed = stdout(&out);
    assert_eq!(printed.lines().count(), 30);
    let err = stderr(&out);
    assert!(
        err.contains("trillet: drift: 30 records read (30 records CallHistorySummary)"),
        "{err}"
    );
    // The mock derives items from generated records that carry analysis keys the
    // spec does not name.
    assert!(err.contains("/analyzedData/"), "{err}");
    // The same summary as `spec drift` on the printed output: no second pass needed.
    let offline = run_with_stdin(
        &["spec", "drift", "--schema", "CallHistorySummary"],
        &printed,
    );
    for line in stdout(&offline).lines() {
        assert!(
            err.contains(&format!("trillet: {line}")),
            "{line} not in {err}"
        );
    }
    // Without --drift, nothing of it.
    let plain = trillet()
        .args(["--mock", "call-history", "list", "--limit", "30"])
        .output()
        .unwrap();
    assert!(!stderr(&plain).contains("drift"));
    assert_eq!(stdout(&plain), printed);

    let got = trillet()
        .args([
            "--mock",
            "call-history",
            "get",
            "--drift",
            "65a7f3c2e4b0a1d2c3f4e5a7",
            "missing-1",
        ])
        .output()
        .unwrap();
    assert_eq!(got.status.code(), Some(1), "a missing id still exits 1");
    assert!(stderr(&got).contains("/transcript"), "{}", stderr(&got));
}

/// The peak resident set (VmHWM, KiB) of `trillet spec drift` reading `records`
/// lines from stdin, sampled from /proc while it runs.
fn peak_kib(records: usize) -> u64 {
    let mut child = trillet()
        .args(["spec", "drift", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = Path::new("/proc")
        .join(child.id().to_string())
        .join("status");
    let mut pipe = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let mut out = std::io::BufWriter::new(&mut pipe);
        for i in 0..records {
            // Distinct ids and statuses, a few hundred distinct unknown keys: the
            // caps hold memory whatever the number of records.
            let line = json!({
                "_id": format!("{i:024x}"), "startTime": i, "status": format!("s{i}"),
                "cost": {"customer_charge": 0.1}, "transcript": [{"role": "agent", "text": "x".repeat(i % 200)}],
                format!("k{}", i % 700): i, "metadata": {format!("m{i}"): true},
            });
            let _ = writeln!(out, "{line}");
        }
    });
    // Read while it runs: a report larger than the pipe's buffer would block it.
    let mut out_pipe = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out_pipe, &mut text);
        text
    });
    let mut peak = 0u64;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status)
            && let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kib);
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    writer.join().unwrap();
    let report: Value = serde_json::from_slice(&reader.join().unwrap()).unwrap();
    assert_eq!(report["records"], records as u64);
    peak
}

#[test]
fn memory_stays_flat_from_1000_to_100000_records() {
    if !Path::new("/proc/self/status").exists() {
        eprintln!("no /proc: memory not measured");
        return;
    }
    let small = peak_kib(1_000);
    let large = peak_kib(100_000);
    let ratio = large as f64 / small as f64;
    eprintln!("peak RSS: 1,000 records {small} KiB, 100,000 records {large} KiB, ratio {ratio:.2}");
    assert!(small > 0 && large > 0);
    assert!(
        ratio < 1.5,
        "memory grew with the records: {small} → {large} KiB"
    );
}

/// A loopback server with the deviation fixture: `GET /v2/api/call-history/{id}`
/// answers that record (a 404 envelope for an unknown id), the list its pages, each
/// body exactly as [`deviations`] makes it.
fn serve_deviations() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            std::thread::spawn(move || {
                let head = common::read_head(&mut stream);
                let head = String::from_utf8_lossy(&head);
                let target = head.split_whitespace().nth(1).unwrap_or_default();
                let (path, query) = target.split_once('?').unwrap_or((target, ""));
                let (status, body) = if path == "/v2/api/call-history" {
                    let page = query
                        .split('&')
                        .find_map(|kv| kv.strip_prefix("page="))
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(1);
                    (200, deviations::page(page).to_string())
                } else {
                    match path
                        .strip_prefix("/v2/api/call-history/rec-")
                        .and_then(|n| n.parse::<usize>().ok())
                        .filter(|n| *n < RECORDS)
                    {
                        Some(i) => (200, deviations::record(i).to_string()),
                        None => (
                            404,
                            r#"{"error":{"code":"not_found","message":"no such record"}}"#.into(),
                        ),
                    }
                };
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes());
            });
        }
    });
    url
}

/// What the CLI records from the deviation server: `get` of every record and
/// `list` of every page, both with `--drift` (outputs, and the two runs).
fn record_deviations() -> (String, Output, Output) {
    let url = serve_deviations();
    let ids: String = (0..RECORDS).map(|i| deviations::id(i) + "\n").collect();
    let ids = TempFile::new("deviation-ids.txt", &ids);
    let got = against(&url)
        .args([
            "call-history",
            "get",
            "-o",
            "jsonl",
            "--drift",
            "--ids-from",
        ])
        .arg(&ids.0)
        .output()
        .unwrap();
    let listed = against(&url)
        .args(["call-history", "list", "--page-size"])
        .arg(deviations::PAGE_SIZE.to_string())
        .arg("--drift")
        .output()
        .unwrap();
    (stdout(&got) + &stdout(&listed), got, listed)
}

fn missing(found: &[deviations::Deviation]) -> Vec<String> {
    DEVIATIONS
        .iter()
        .filter(|d| !found.contains(d))
        .map(|d| format!("{} {} {}", d.schema, d.path, d.kind))
        .collect()
}

#[test]
fn fifteen_known_deviations_are_found_from_raw_bodies_and_from_cli_recordings() {
    let raw = run_with_stdin(
        &["spec", "drift", "--format", "json"],
        &deviations::raw_bodies_jsonl(),
    );
    let (raw_found, raw_false) = deviations::score(&json_report(&raw));

    let (recorded, got, listed) = record_deviations();
    let out = run_with_stdin(&["spec", "drift", "--format", "json"], &recorded);
    let (cli_found, cli_false) = deviations::score(&json_report(&out));
    eprintln!(
        "found {} of 15 from raw bodies ({} false reports), {} of 15 from CLI recordings ({} false reports)",
        raw_found.len(),
        raw_false.len(),
        cli_found.len(),
        cli_false.len()
    );
    assert_eq!(missing(&raw_found), Vec::<String>::new(), "from raw bodies");
    assert_eq!(raw_false, Vec::<String>::new(), "from raw bodies");
    assert_eq!(
        missing(&cli_found),
        Vec::<String>::new(),
        "from CLI recordings"
    );
    assert_eq!(cli_false, Vec::<String>::new(), "from CLI recordings");
    // What the CLI recorded is every body the server sent, records that do not
    // decode included.
    assert_eq!(recorded.lines().count(), RECORDS + deviations::PAGES * 4);

    // The records that do not decode are errors of their ids (exit 1), and the
    // on-the-fly summary analyses and counts them.
    assert_eq!(got.status.code(), Some(1), "{}", stderr(&got));
    let err = stderr(&got);
    assert!(!err.contains("no drift: the spec describes"), "{err}");
    for path in ["/startTime", "/createdAt", "/summary"] {
        assert!(err.contains(path), "{path} not in {err}");
    }
    let violating = (0..RECORDS)
        .filter(|i| i % 11 == 6 || i % 12 == 7 || i % 13 == 8)
        .count();
    assert!(
        err.contains(&format!("{violating} records violate the spec")),
        "{err}"
    );
    assert_eq!(listed.status.code(), Some(0), "{}", stderr(&listed));
}

#[test]
fn a_record_out_of_serde_json_range_is_reported_by_line_and_the_rest_analysed() {
    let deep = format!(
        "{{\"_id\": \"d\", \"metadata\": {}0{}}}",
        "[".repeat(300),
        "]".repeat(300)
    );
    let input = format!(
        "{{\"_id\": \"a\", \"startTime\": 1}}\n{{\"_id\": \"b\", \"startTime\": 1e400}}\n{deep}\n{{\"_id\": \"c\", \"transcript\": []}}\n"
    );
    let file = TempFile::new("unreadable.jsonl", &input);
    let out = trillet()
        .args(["spec", "drift", "--schema", "CallHistory"])
        .arg(&file.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let name = file.0.display().to_string();
    assert!(text.contains("4 records read"), "{text}");
    assert!(
        text.contains("2 records unreadable (not analysed)"),
        "{text}"
    );
    assert!(
        text.contains(&format!("unreadable: {name} line 2: number out of range")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "unreadable: {name} line 3: recursion limit exceeded"
        )),
        "{text}"
    );
    assert!(
        text.contains("/transcript"),
        "the record after them was analysed: {text}"
    );
    let json = run_with_stdin(&["spec", "drift", "--format", "json"], &input);
    let report = json_report(&json);
    assert_eq!(report["unreadable_records"], 2);
    assert_eq!(report["unreadable"][0]["at"], "line 2");
}

#[test]
fn write_spec_replaces_the_file_by_rename_and_keeps_dates_quoted() {
    let records = TempFile::new("rename.jsonl", &crafted());
    let head = TempFile::new("rename-head.yaml", "old: spec\n");
    // A second name for the same file: written in place, it would change too.
    let link = head.0.with_extension("link.yaml");
    let _ = std::fs::remove_file(&link);
    std::fs::hard_link(&head.0, &link).unwrap();
    let out = trillet()
        .args(["spec", "drift", "--suggest", "--write-spec"])
        .arg(&head.0)
        .arg(&records.0)
        .output()
        .unwrap();
    let linked = std::fs::read_to_string(&link).unwrap();
    let _ = std::fs::remove_file(&link);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(linked, "old: spec\n", "the file was overwritten in place");
    let written = std::fs::read_to_string(&head.0).unwrap();
    assert!(
        written.contains("createdAt: '2025-01-01T10:00:00Z'"),
        "{written}"
    );
    trillet_spec::Spec::parse(&written).unwrap();
    // No temporary file is left beside it.
    let dir = head.0.parent().unwrap();
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".trillet-spec-")
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // A directory that does not exist: an error, and nothing written.
    let out = trillet()
        .args([
            "spec",
            "drift",
            "--suggest",
            "--write-spec",
            "/nonexistent-dir/t.yaml",
        ])
        .arg(&records.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot write /nonexistent-dir/t.yaml"),
        "{}",
        stderr(&out)
    );
}

/// How many of the deviation records and list items `spec` (YAML) validates.
fn accepted(spec: &str) -> (usize, usize) {
    let spec = trillet_spec::Spec::parse(spec).unwrap();
    let records = spec.validator("CallHistory").unwrap();
    let items = spec.validator("CallHistorySummary").unwrap();
    let records = (0..RECORDS)
        .filter(|i| records.is_valid(&deviations::record(*i)))
        .count();
    let items = (0..deviations::PAGES * deviations::PAGE_SIZE)
        .filter(|j| items.is_valid(&deviations::item(*j)))
        .count();
    (records, items)
}

#[test]
fn suggested_violations_make_the_patched_spec_accept_every_record_seen() {
    let bodies = TempFile::new("deviations.jsonl", &deviations::raw_bodies_jsonl());
    let run = |extra: &[&str], head: &Path| {
        trillet()
            .args([
                "spec",
                "drift",
                "--suggest",
                "--format",
                "json",
                "--write-spec",
            ])
            .arg(head)
            .args(extra)
            .arg(&bodies.0)
            .output()
            .unwrap()
    };
    let plain = TempFile::new("additions.yaml", "");
    let out = run(&[], &plain.0);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let patch = json_report(&out);
    assert!(
        patch
            .as_array()
            .unwrap()
            .iter()
            .all(|op| op["loosens"].is_null()),
        "{patch}"
    );
    let before =
        accepted(&std::fs::read_to_string(trillet_spec::spec_dir().join("trillet.yaml")).unwrap());
    let additions = accepted(&std::fs::read_to_string(&plain.0).unwrap());

    let loose = TempFile::new("loosened.yaml", "");
    let out = run(&["--suggest-violations"], &loose.0);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let patch = json_report(&out);
    let loosening: Vec<&Value> = patch
        .as_array()
        .unwrap()
        .iter()
        .filter(|op| op["loosens"] == true)
        .collect();
    let paths: Vec<&str> = loosening
        .iter()
        .filter_map(|op| op["path"].as_str())
        .collect();
    for expected in [
        "/components/schemas/CallHistory/properties/startTime/anyOf",
        "/components/schemas/CallHistory/properties/summary/nullable",
        "/components/schemas/CallHistory/properties/createdAt/format",
    ] {
        assert!(paths.contains(&expected), "{expected} not in {paths:?}");
    }
    let loosened = accepted(&std::fs::read_to_string(&loose.0).unwrap());
    eprintln!(
        "records accepted of {RECORDS}: spec {} (items {}), with additions {} (items {}), with violations suggested {} (items {})",
        before.0, before.1, additions.0, additions.1, loosened.0, loosened.1
    );
    assert_eq!(
        loosened,
        (RECORDS, deviations::PAGES * deviations::PAGE_SIZE)
    );
    // The text form marks each loosening change for review.
    let text = trillet()
        .args(["spec", "drift", "--suggest", "--suggest-violations"])
        .arg(&bodies.0)
        .output()
        .unwrap();
    assert_eq!(
        stdout(&text)
            .matches("# LOOSENS: review before applying")
            .count(),
        loosening.len(),
        "{}",
        stdout(&text)
    );
    // Without --suggest it is a usage error.
    let out = trillet()
        .args(["spec", "drift", "--suggest-violations"])
        .arg(&bodies.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn fifteen_known_deviations_are_found_from_a_har_file() {
    let mut entries = Vec::new();
    for i in 0..RECORDS {
        entries.push(json!({
            "request": {"method": "GET", "url": format!("https://api.trillet.ai/v2/api/call-history/{}", deviations::id(i))},
            "response": {"status": 200, "content": {"mimeType": "application/json", "text": deviations::record(i).to_string()}},
        }));
    }
    for p in 1..=deviations::PAGES {
        entries.push(json!({
            "request": {"method": "GET", "url": format!("https://api.trillet.ai/v2/api/call-history?page={p}")},
            "response": {"status": 200, "content": {"mimeType": "application/json", "text": deviations::page(p).to_string()}},
        }));
    }
    entries.push(json!({
        "request": {"method": "GET", "url": "https://cdn.example/app.js"},
        "response": {"status": 200, "content": {"mimeType": "text/javascript", "text": "{}"}},
    }));
    let har = json!({"log": {"version": "1.2", "creator": {"name": "test"}, "entries": entries}});
    let file = TempFile::new("session.har", &har.to_string());
    let out = trillet()
        .args(["spec", "drift", "--format", "json"])
        .arg(&file.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json_report(&out);
    assert_eq!(
        report["records"],
        RECORDS + deviations::PAGES * deviations::PAGE_SIZE
    );
    let (found, false_reports) = deviations::score(&report);
    assert_eq!(missing(&found), Vec::<String>::new());
    assert_eq!(false_reports, Vec::<String>::new());
}

#[test]
fn a_record_that_does_not_decode_is_written_as_received_and_the_file_still_resumes() {
    let url = serve_deviations();
    let file =
        std::env::temp_dir().join(format!("trillet-drift-{}-resume.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&file);
    // rec-006 carries startTime as a string, rec-008 createdAt "yesterday".
    let run = |resume: bool| {
        let mut cmd = against(&url);
        cmd.args([
            "call-history",
            "get",
            "rec-000",
            "rec-006",
            "rec-008",
            "--output-file",
        ])
        .arg(&file);
        if resume {
            cmd.arg("--resume");
        }
        cmd.output().unwrap()
    };
    let first = run(false);
    let written = std::fs::read_to_string(&file).unwrap_or_default();
    let second = run(true);
    let _ = std::fs::remove_file(&file);
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    let err = stderr(&first);
    assert!(
        err.contains("error: rec-006: the response does not match the spec: at `startTime`")
            && err.contains("(written as received)"),
        "{err}"
    );
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), 3, "{written}");
    assert_eq!(
        serde_json::from_str::<Value>(lines[1]).unwrap(),
        deviations::record(6),
        "written as the server sent it"
    );
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("3 already in the file"),
        "{}",
        stderr(&second)
    );
}
