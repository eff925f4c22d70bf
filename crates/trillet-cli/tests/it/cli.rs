//! The `trillet` binary end to end against its built-in mock, with golden outputs in
//! `tests/data/` (regenerate with `UPDATE_GOLDEN=1 cargo test -p trillet-cli`).

use crate::common;

use std::path::PathBuf;
use std::time::Instant;

fn trillet() -> assert_cmd::Command {
    // Nothing from the caller's environment leaks into a test.
    assert_cmd::Command::from_std(common::trillet())
}

/// `trillet --mock --rate-limit 0 call-history …`: the built-in mock, unthrottled.
fn mock_call_history() -> assert_cmd::Command {
    let mut cmd = trillet();
    cmd.args(["--mock", "--rate-limit", "0", "call-history"]);
    cmd
}

/// Compares `actual` with the golden file, or rewrites it when UPDATE_GOLDEN is set.
fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("golden file is writable");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

#[test]
fn one_id_prints_the_reference_record_exactly_as_pretty_json() {
    let output = trillet()
        .args(["--mock", "call-history", "get", "1234567890abcdef"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    // The mock serves the reference page's example; the CLI must not change a byte of
    // its content (`0.10` stays, integers stay integers, key order stays).
    let seed = trillet_spec::EXAMPLE_FILES
        .iter()
        .find(|(n, _)| *n == "call-history.seed.json")
        .unwrap()
        .1;
    assert_eq!(stdout_of(&output), seed);
    golden("get-one.json", &stdout_of(&output));
    assert_eq!(stderr_of(&output), "");
}

#[test]
fn several_ids_print_one_json_line_each_in_input_order() {
    let ids = [
        "zz-last",
        "65a7f3c2e4b0a1d2c3f4e5a7",
        "aa-first",
        "1234567890abcdef",
    ];
    let output = mock_call_history()
        .args(["get"])
        .args(ids)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let stdout = stdout_of(&output);
    let got: Vec<String> = ids_in(&stdout);
    assert_eq!(got, ids);
    assert!(
        stdout.contains(r#""customer_charge":0.10"#),
        "numbers are passed through verbatim"
    );
    golden("get-several.jsonl", &stdout);
    assert!(
        stderr_of(&output).contains("4 fetched, 0 failed of 4"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn table_output_has_one_row_per_record() {
    let output = mock_call_history()
        .args(["get", "-o", "table"])
        .args(["1234567890abcdef", "65a7f3c2e4b0a1d2c3f4e5a7", "a1"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    golden("get-table.txt", &stdout_of(&output));
}

#[test]
fn ids_can_come_from_standard_input() {
    let output = mock_call_history()
        .args(["get", "--ids-from", "-"])
        .write_stdin("b\n\na\n")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let stdout = stdout_of(&output);
    let starts: Vec<&str> = stdout.lines().map(|l| &l[..11]).collect();
    assert_eq!(starts, [r#"{"_id":"b","#, r#"{"_id":"a","#]);
}

#[test]
fn help_documents_the_exit_statuses() {
    let output = trillet().arg("--help").output().unwrap();
    assert!(output.status.success());
    golden("help.txt", &stdout_of(&output));
    assert!(stdout_of(&output).contains("130  interrupted"));
}

#[test]
fn a_missing_credential_exits_2_naming_the_variable() {
    let output = trillet()
        .args(["call-history", "get", "x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr_of(&output),
        "error: TRILLET_API_KEY is not set: export it or pass --api-key-file (or try --mock)\n"
    );
    let output = trillet()
        .args(["call-history", "get", "x"])
        .env("TRILLET_API_KEY", "k")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("TRILLET_WORKSPACE_ID is not set"));
    assert_eq!(stdout_of(&output), "");
}

#[test]
fn a_not_found_id_in_a_batch_exits_1_and_the_others_are_printed() {
    let output = mock_call_history()
        .args(["get", "a", "missing-1", "b"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let ids: Vec<String> = ids_in(&stdout_of(&output));
    assert_eq!(ids, ["a", "b"]);
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("error: missing-1: the API answered 404 Not Found (not_found)"),
        "{stderr}"
    );
    assert!(stderr.contains("2 fetched, 1 failed of 3"), "{stderr}");
}

#[test]
fn the_key_never_appears_in_help_or_errors() {
    let output = trillet()
        .args(["--help"])
        .env("TRILLET_API_KEY", "tk_SECRET_in_env")
        .output()
        .unwrap();
    assert!(!stdout_of(&output).contains("tk_SECRET_in_env"));
    let output = trillet()
        .args([
            "-vvv",
            "call-history",
            "get",
            "a",
            "--base-url",
            "http://127.0.0.1:9",
        ])
        .args(["--max-retries", "0", "--workspace-id", "w"])
        .env("TRILLET_API_KEY", "tk_SECRET_in_env")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("could not reach the API"), "{stderr}");
    assert!(!stderr.contains("tk_SECRET_in_env"), "{stderr}");
}

#[test]
fn completions_are_printed_for_a_shell() {
    let output = trillet().args(["completions", "bash"]).output().unwrap();
    assert!(output.status.success());
    assert!(stdout_of(&output).contains("call-history"));
}

#[test]
fn five_hundred_ids_with_chaos_finish_with_every_record_once_in_order() {
    let ids: Vec<String> = (0..500).map(|i| format!("e2e-{i:04}")).collect();
    let started = Instant::now();
    let output = trillet()
        .args(["--mock", "--rate-limit", "6000", "--concurrency", "16"])
        .args([
            "--mock-chaos",
            "0.1",
            "--mock-seed",
            "42",
            "--max-retries",
            "6",
        ])
        .args(["call-history", "get", "--ids-from", "-"])
        .write_stdin(ids.join("\n"))
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    let got: Vec<String> = ids_in(&stdout_of(&output));
    assert_eq!(got, ids);
    assert!(stderr.contains("500 fetched, 0 failed of 500"), "{stderr}");
    eprintln!("500 ids with chaos 0.1 in {elapsed:?}");
}

fn ids_in(jsonl: &str) -> Vec<String> {
    jsonl
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            v["_id"].as_str().expect("an _id").to_owned()
        })
        .collect()
}

#[test]
fn list_prints_the_newest_records_as_a_table() {
    let output = mock_call_history()
        .args(["list", "--limit", "5", "-o", "table"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    golden("list-table.txt", &stdout_of(&output));
}

#[test]
fn listed_json_lines_pipe_into_get_and_the_ids_match() {
    let listed = mock_call_history()
        .args(["list", "--limit", "25", "--page-size", "10"])
        .args(["--output", "jsonl"])
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", stderr_of(&listed));
    golden("list-25.jsonl", &stdout_of(&listed));
    let fetched = mock_call_history()
        .args(["get", "--ids-from", "-"])
        .write_stdin(stdout_of(&listed))
        .output()
        .unwrap();
    assert!(fetched.status.success(), "{}", stderr_of(&fetched));
    let ids = ids_in(&stdout_of(&listed));
    assert_eq!(ids.len(), 25);
    assert_eq!(ids_in(&stdout_of(&fetched)), ids);
}

#[test]
fn list_filters_and_ids_only() {
    let output = mock_call_history()
        .args(["list", "--direction", "inbound"])
        .args(["--since", "2025-01-01", "--limit", "7", "--ids-only"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let ids: Vec<String> = stdout_of(&output).lines().map(str::to_owned).collect();
    assert_eq!(ids.len(), 7);
    assert!(
        ids.iter()
            .all(|id| id.len() == 24 && id.starts_with("65a7f3c2e4b0a1d2")),
        "{ids:?}"
    );
    let got = mock_call_history()
        .args(["get", "--ids-from", "-"])
        .write_stdin(ids.join("\n"))
        .output()
        .unwrap();
    for line in stdout_of(&got).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["direction"], "inbound");
        assert!(v["startTime"].as_f64().unwrap() >= 1_735_689_600.0);
    }
}

#[test]
fn ctrl_c_stops_a_batch_keeps_what_was_printed_and_exits_130() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_trillet"))
        .args([
            "--mock",
            "--rate-limit",
            "600",
            "call-history",
            "get",
            "--ids-from",
            "-",
        ])
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ids: Vec<String> = (0..500).map(|i| format!("int-{i}")).collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ids.join("\n").as_bytes())
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", stderr_of(&output));
    let printed = ids_in(&stdout_of(&output));
    assert!(
        !printed.is_empty() && printed.len() < 500,
        "{} printed",
        printed.len()
    );
    assert_eq!(
        printed,
        ids[..printed.len()],
        "every printed line is whole and in order"
    );
    assert!(
        stderr_of(&output).contains("interrupted:"),
        "{}",
        stderr_of(&output)
    );
}

/// A record whose summary holds a C1 CSI introducer, DEL and a right-to-left
/// override, raw in the body (JSON allows all three unescaped).
const HOSTILE_RECORD: &str = "{\"_id\":\"abc\",\"summary\":\"red\u{9b}31m \u{7f}txet\u{202e}\"}";

#[test]
fn json_to_a_terminal_escapes_c1_and_bidi_and_stays_the_same_json_in_a_pipe_it_is_exact() {
    let (url, _) = common::serving(common::http_reply(
        "200 OK",
        "application/json",
        HOSTILE_RECORD.as_bytes(),
    ));
    for output in ["json", "jsonl"] {
        let mut cmd = common::against(&url);
        cmd.args(["call-history", "get", "abc", "--output", output]);
        let (shown, stderr, status) = common::on_a_terminal(cmd);
        assert!(status.success(), "{stderr}");
        let shown = String::from_utf8(shown).expect("UTF-8");
        assert!(
            !shown.contains(['\u{9b}', '\u{7f}', '\u{202e}']),
            "raw controls on the terminal: {shown:?}"
        );
        assert!(shown.contains(r"red\u009b31m \u007ftxet\u202e"), "{shown}");
        let shown: serde_json::Value = serde_json::from_str(&shown).expect("still JSON");
        let sent: serde_json::Value = serde_json::from_str(HOSTILE_RECORD).expect("JSON");
        assert_eq!(shown, sent, "the same document");

        let piped = common::against(&url)
            .args(["call-history", "get", "abc", "--output", output])
            .output()
            .expect("runs");
        assert!(piped.status.success());
        let piped = String::from_utf8(piped.stdout).expect("UTF-8");
        assert!(
            piped.contains("red\u{9b}31m \u{7f}txet\u{202e}"),
            "{piped:?}"
        );
    }
}

#[test]
fn help_offers_a_key_file_and_warns_that_a_key_on_the_command_line_is_visible() {
    let output = trillet().arg("--help").output().unwrap();
    let help = stdout_of(&output);
    assert!(help.contains("--api-key-file <FILE|->"), "{help}");
    // The text as one line: clap wraps it to the terminal's width.
    let words = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("visible to other users (`ps`) while the command runs: TRILLET_API_KEY or --api-key-file is the safe way"),
        "{help}"
    );
}
