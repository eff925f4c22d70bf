//! `trillet spec drift` and `--drift`, as real processes: the spec's example files,
//! crafted records, JSON lines and one JSON document, standard input, the three
//! formats, exit statuses, the mock's list, and memory over 100,000 records.

// Test helpers unwrap: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use serde_json::{Value, json};

use common::trillet;

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
        json!({"_id": "2", "startTime": "later", "cost": {"customer_charge": 1},
               "status": "completed", "recordingUrl": null}),
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
