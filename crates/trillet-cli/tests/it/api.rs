//! `trillet api`, the real binary: the operation list and per-operation help from
//! the embedded spec, calls against the mock compared with the exact bytes the mock
//! sends, and parameter problems refused before any request (a loopback server
//! counts what arrives).

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn trillet() -> assert_cmd::Command {
    assert_cmd::Command::from_std(common::trillet())
}

fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

/// A loopback server that counts connections and answers each with `[]`.
fn counting_server() -> (String, Arc<AtomicUsize>) {
    common::serving(common::http_reply("200 OK", "application/json", b"[]"))
}

fn against(url: &str) -> assert_cmd::Command {
    assert_cmd::Command::from_std(common::against(url))
}

/// The body the mock sends for `path_and_query` (a 200), read with a plain HTTP/1.1
/// request from a mock started here, with the mock's defaults.
fn mock_body(path_and_query: &str) -> Vec<u8> {
    let (head, body) = mock_response(path_and_query);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    body
}

/// The response head (lowercase) and body the mock sends for `path_and_query`.
fn mock_response(path_and_query: &str) -> (String, Vec<u8>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let server = runtime
        .block_on(trillet_mock::MockServer::start(
            trillet_mock::MockConfig::default(),
        ))
        .expect("the mock starts");
    let address = server.url().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).expect("connects");
    write!(
        stream,
        "GET {path_and_query} HTTP/1.1\r\nhost: {address}\r\nx-api-key: {}\r\nx-workspace-id: {}\r\naccept: application/json\r\nconnection: close\r\n\r\n",
        trillet_mock::MOCK_API_KEY,
        trillet_mock::MOCK_WORKSPACE_ID
    )
    .expect("writes");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("reads");
    drop(server);
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .expect("the mock sends a content-length")
        .trim()
        .parse()
        .expect("a length");
    let body = response[split + 4..].to_vec();
    assert_eq!(body.len(), length);
    (head, body)
}

#[test]
fn list_prints_every_operation_of_the_spec_aligned() {
    let output = trillet().args(["api", "--list"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let stdout = stdout_of(&output);
    let spec = trillet_spec::Spec::bundled().unwrap();
    let operations = spec.operations().unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), operations.len(), "{stdout}");
    // Columns line up: each column starts at the same place on every line.
    let method_at = lines[0].find(&operations[0].method).unwrap();
    let path_at = lines[0].find(&operations[0].path).unwrap();
    for (line, operation) in lines.iter().zip(&operations) {
        assert!(line.starts_with(&format!("{} ", operation.id)), "{line}");
        assert_eq!(line.find(&operation.method), Some(method_at), "{stdout}");
        assert_eq!(line.find(&operation.path), Some(path_at), "{stdout}");
        assert!(
            line.ends_with(operation.summary.as_deref().unwrap()),
            "{line}"
        );
    }
}

#[test]
fn get_call_history_against_the_mock_prints_the_exact_body() {
    let expected = mock_body("/v2/api/call-history/1234567890abcdef");
    let output = trillet()
        .args(["--mock", "api", "get_call_history"])
        .args(["-p", "callHistoryId=1234567890abcdef"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(output.stdout, expected);
    assert_eq!(stderr_of(&output), "");
    // The same record through the typed command: the same JSON value.
    let typed = trillet()
        .args(["--mock", "call-history", "get", "1234567890abcdef"])
        .output()
        .unwrap();
    let a: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&typed.stdout).unwrap();
    assert_eq!(a, b);
}

#[test]
fn list_call_histories_against_the_mock_prints_the_exact_body_or_one_line_per_item() {
    let expected = mock_body("/v2/api/call-history?limit=3&callType=web");
    let output = trillet()
        .args(["--mock", "--rate-limit", "0", "api", "list_call_histories"])
        .args(["-p", "limit=3", "-p", "callType=web"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(output.stdout, expected);

    let lines = trillet()
        .args(["--mock", "--rate-limit", "0", "api", "list_call_histories"])
        .args(["-p", "limit=3", "-p", "callType=web", "--output", "jsonl"])
        .output()
        .unwrap();
    assert!(lines.status.success(), "{}", stderr_of(&lines));
    let items: Vec<serde_json::Value> = serde_json::from_slice(&expected).unwrap();
    assert_eq!(items.len(), 3);
    let stdout = stdout_of(&lines);
    let printed: Vec<&str> = stdout.lines().collect();
    assert_eq!(printed.len(), 3, "{stdout}");
    for (line, item) in printed.iter().zip(&items) {
        assert_eq!(
            &serde_json::from_str::<serde_json::Value>(line).unwrap(),
            item
        );
    }
    // Lossless: the lines hold the body's own text, item for item, minus whitespace.
    let body = String::from_utf8(expected).unwrap();
    let compact: String = body.split_whitespace().collect();
    assert_eq!(
        format!("[{}]", printed.join(",")).replace(' ', ""),
        compact.replace(' ', "")
    );
}

#[test]
fn bad_parameters_exit_2_naming_them_and_nothing_is_sent() {
    let (url, count) = counting_server();
    for (args, needles) in [
        (
            vec!["get_call_history"],
            vec!["get_call_history", "callHistoryId is required"],
        ),
        (
            vec!["get_call_history", "-p", "callHistoryId="],
            vec!["get_call_history", "callHistoryId:"],
        ),
        (
            vec!["list_call_histories", "-p", "limit=0"],
            vec!["list_call_histories", "limit:"],
        ),
        (
            vec!["list_call_histories", "-p", "page=two"],
            vec!["list_call_histories", "page:"],
        ),
        (
            vec!["list_call_histories", "-p", "callType=pstn"],
            vec!["callType:", "sip"],
        ),
        (
            vec!["list_call_histories", "-p", "dateRange={\"since\":1}"],
            vec!["dateRange:"],
        ),
        (
            vec!["list_call_histories", "-p", "colour=red"],
            vec!["list_call_histories", "colour is not a parameter"],
        ),
        (
            vec!["list_call_histories", "-p", "limit=1", "-p", "limit=2"],
            vec!["limit is given more than once"],
        ),
        (
            vec!["list_call_histories", "-p", "limit"],
            vec!["-p limit is not NAME=VALUE"],
        ),
        (vec!["list_call_histories", "--body", "{}"], vec!["--body"]),
    ] {
        let output = against(&url).arg("api").args(&args).output().unwrap();
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        for needle in needles {
            assert!(
                stderr.contains(needle),
                "{args:?}: {needle:?} not in {stderr}"
            );
        }
        assert_eq!(stdout_of(&output), "", "{args:?}");
    }
    assert_eq!(count.load(Ordering::SeqCst), 0, "a request was sent");
    // The server does count: a valid call reaches it.
    let output = against(&url)
        .args(["api", "list_call_histories", "-p", "limit=1"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "[]");
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn an_unknown_operation_is_a_usage_error_listing_the_valid_ones() {
    let (url, count) = counting_server();
    let output = against(&url)
        .args(["api", "delete_everything", "-p", "x=1"])
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("unknown operation `delete_everything`"),
        "{stderr}"
    );
    for id in ["get_call_history", "list_call_histories"] {
        assert!(stderr.contains(id), "{stderr}");
    }
    assert_eq!(count.load(Ordering::SeqCst), 0);
}

#[test]
fn help_of_an_operation_shows_its_parameters_from_the_spec() {
    let output = trillet()
        .args(["api", "list_call_histories", "--help"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let help = stdout_of(&output);
    let spec = trillet_spec::Spec::bundled().unwrap();
    let operation = spec.operation("list_call_histories").unwrap();
    assert!(
        help.contains(operation.summary.as_deref().unwrap()),
        "{help}"
    );
    assert!(help.contains("GET /v2/api/call-history"), "{help}");
    assert!(!operation.parameters.is_empty());
    for parameter in &operation.parameters {
        assert!(
            help.contains(&format!("  {}  (query, ", parameter.name)),
            "{} missing from {help}",
            parameter.name
        );
    }
    assert!(
        help.contains("limit  (query, integer, optional, default 10)"),
        "{help}"
    );
    assert!(help.contains("one of: sip, web"), "{help}");
    assert!(help.contains("values: completed, failed"), "{help}");
    assert!(help.contains("The number of records per page."), "{help}");

    let get = trillet()
        .args(["api", "get_call_history", "-h"])
        .output()
        .unwrap();
    let help = stdout_of(&get);
    assert!(
        help.contains("callHistoryId  (path, string, required)"),
        "{help}"
    );
    // The api command itself lists the operations with their summaries.
    let api = trillet().args(["api", "--help"]).output().unwrap();
    let help = stdout_of(&api);
    assert!(
        help.contains("get_call_history") && help.contains("Get one call-history record"),
        "{help}"
    );
}

#[test]
fn an_api_error_exits_1_with_the_status_and_the_operation() {
    let output = trillet()
        .args(["--mock", "api", "get_call_history"])
        .args(["-p", "callHistoryId=missing-1"])
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("get_call_history") && stderr.contains("404"),
        "{stderr}"
    );
    assert_eq!(stdout_of(&output), "");
}

#[test]
fn a_success_whose_body_is_not_json_is_a_failed_call_exit_1_not_a_usage_error() {
    let (url, count) = common::serving(common::http_reply(
        "200 OK",
        "text/html",
        b"<html><body>\x1b[2J maintenance</body></html>",
    ));
    let output = against(&url)
        .args(["api", "get_call_history", "-p", "callHistoryId=a"])
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("get_call_history") && stderr.contains("not JSON"),
        "{stderr}"
    );
    // The body is neither printed nor echoed raw.
    assert_eq!(stdout_of(&output), "");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn a_request_that_cannot_be_built_is_a_usage_error_sent_never_and_said_briefly() {
    let (url, count) = counting_server();
    let long = "a".repeat(70_000);
    for args in [
        vec![
            "get_call_history".to_owned(),
            "-p".into(),
            format!("callHistoryId={long}"),
        ],
        vec![
            "list_call_histories".to_owned(),
            "-p".into(),
            format!("status={long}"),
        ],
    ] {
        // Retries allowed: a local error must not use them.
        let started = std::time::Instant::now();
        let output = assert_cmd::Command::from_std(common::trillet())
            .env("TRILLET_API_KEY", "k")
            .env("TRILLET_WORKSPACE_ID", "w")
            .env("TRILLET_BASE_URL", &url)
            .args(["--rate-limit", "0", "--max-retries", "3", "api"])
            .args(&args)
            .output()
            .unwrap();
        let elapsed = started.elapsed();
        let stderr = stderr_of(&output);
        let shown: String = stderr.chars().take(300).collect();
        assert_eq!(output.status.code(), Some(2), "{shown}");
        assert!(stderr.len() < 1000, "{} bytes: {shown}", stderr.len());
        assert!(
            stderr.contains(&args[0]) && stderr.contains("URL"),
            "{stderr}"
        );
        assert!(!stderr.contains("attempts"), "{stderr}");
        assert_eq!(stdout_of(&output), "");
        assert!(elapsed < std::time::Duration::from_secs(10), "{elapsed:?}");
    }
    assert_eq!(count.load(Ordering::SeqCst), 0, "a request was sent");
}

#[test]
fn a_transport_error_does_not_repeat_a_long_url() {
    // A port nothing listens on: the connection is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let output = against(&format!("http://127.0.0.1:{port}"))
        .args(["api", "list_call_histories", "-p"])
        .arg(format!("status={}", "a".repeat(60_000)))
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    let shown: String = stderr.chars().take(300).collect();
    assert_eq!(output.status.code(), Some(1), "{shown}");
    assert!(stderr.contains("connection refused"), "{shown}");
    assert!(stderr.len() < 1000, "{} bytes: {shown}", stderr.len());
}

#[test]
fn a_path_parameter_that_is_not_one_segment_is_refused_by_the_check_once_exit_2() {
    let (url, count) = counting_server();
    for value in ["..", ".", "a\\b", "\\..\\x"] {
        let output = against(&url)
            .args(["api", "get_call_history", "-p"])
            .arg(format!("callHistoryId={value}"))
            .output()
            .unwrap();
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(2), "{value:?}: {stderr}");
        assert!(
            stderr.contains("callHistoryId:") && stderr.contains("path segment"),
            "{value:?}: {stderr}"
        );
        // Said once, by the check: not again by the library.
        assert_eq!(stderr.lines().count(), 1, "{value:?}: {stderr}");
        assert!(!stderr.contains("invalid request"), "{value:?}: {stderr}");
        assert_eq!(stdout_of(&output), "");
    }
    assert_eq!(count.load(Ordering::SeqCst), 0, "a request was sent");
    // Dots inside a segment, percent signs and slashes are one segment, encoded.
    for value in ["...", "a.b", "%2e%2e", "a/b"] {
        let output = against(&url)
            .args(["api", "get_call_history", "-p"])
            .arg(format!("callHistoryId={value}"))
            .output()
            .unwrap();
        assert!(output.status.success(), "{value:?}: {}", stderr_of(&output));
    }
    assert_eq!(count.load(Ordering::SeqCst), 4);
}

#[test]
fn an_integer_not_in_plain_digits_is_refused_naming_its_canonical_form() {
    let (url, count) = counting_server();
    for (value, canonical) in [
        ("1e2", "100"),
        ("01", "1"),
        ("+1", "1"),
        ("1.0", "1"),
        ("5E0", "5"),
    ] {
        let output = against(&url)
            .args(["api", "list_call_histories", "-p"])
            .arg(format!("limit={value}"))
            .output()
            .unwrap();
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(2), "{value}: {stderr}");
        assert!(
            stderr.contains("limit:") && stderr.contains(&format!("write {canonical}")),
            "{value}: {stderr}"
        );
    }
    assert_eq!(count.load(Ordering::SeqCst), 0, "a request was sent");
    // The mock's check is the same check: a request with `limit=1e2` is a 400.
    let (head, body) = mock_response("/v2/api/call-history?limit=1e2");
    let body = String::from_utf8_lossy(&body);
    assert!(head.starts_with("http/1.1 400"), "{head}\n{body}");
    assert!(body.contains("write 100"), "{body}");
    // Plain digits go through, as typed.
    let output = against(&url)
        .args(["api", "list_call_histories", "-p", "limit=100"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn trillet_api_escapes_c1_and_bidi_for_a_terminal_only() {
    let body = "{\"_id\":\"abc\",\"summary\":\"\u{9b}2J\u{202e}\"}";
    let (url, _) = common::serving(common::http_reply(
        "200 OK",
        "application/json",
        body.as_bytes(),
    ));
    let mut cmd = common::against(&url);
    cmd.args(["api", "get_call_history", "-p", "callHistoryId=abc"]);
    let (shown, stderr, status) = common::on_a_terminal(cmd);
    assert!(status.success(), "{stderr}");
    let shown = String::from_utf8(shown).expect("UTF-8");
    assert_eq!(
        shown,
        "{\"_id\":\"abc\",\"summary\":\"\\u009b2J\\u202e\"}\n"
    );
    let piped = common::against(&url)
        .args(["api", "get_call_history", "-p", "callHistoryId=abc"])
        .output()
        .expect("runs");
    assert_eq!(piped.stdout, body.as_bytes());
}

const CALL: &str = r#"{"to":"+14155551234","call_agent_id":"665a1b2c3d4e5f6a7b8c9d0e"}"#;

/// `trillet api initiate_call` against `url`, with the client's retries on (the
/// default three attempts) so that a repeat would be seen.
fn place_call(url: &str) -> std::process::Command {
    let mut cmd = common::trillet();
    cmd.env("TRILLET_API_KEY", "k")
        .env("TRILLET_WORKSPACE_ID", "w")
        .env("TRILLET_BASE_URL", url)
        .args(["--rate-limit", "0", "api", "initiate_call", "--body", CALL]);
    cmd
}

#[test]
fn placing_a_call_without_a_terminal_needs_yes_and_sends_nothing_without_it() {
    let (url, count) = common::serving(common::http_reply(
        "200 OK",
        "application/json",
        br#"{"status":"success","call_id":"1"}"#,
    ));
    let refused = assert_cmd::Command::from_std(place_call(&url))
        .write_stdin("y\n")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", stderr_of(&refused));
    let said = stderr_of(&refused);
    assert!(
        said.contains("initiate_call (POST /v1/api/call) places or ends a real call")
            && said.contains("not sent: confirm with --yes"),
        "{said}"
    );
    assert_eq!(
        count.load(Ordering::SeqCst),
        0,
        "nothing reached the server"
    );

    let sent = assert_cmd::Command::from_std(place_call(&url))
        .arg("--yes")
        .output()
        .unwrap();
    assert!(sent.status.success(), "{}", stderr_of(&sent));
    assert_eq!(stdout_of(&sent), r#"{"status":"success","call_id":"1"}"#);
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn a_503_to_a_placed_call_is_sent_once_and_a_read_three_times() {
    let (url, count) = common::serving(common::http_reply(
        "503 Service Unavailable",
        "application/json",
        br#"{"error":{"code":"unavailable","message":"try later"}}"#,
    ));
    let call = assert_cmd::Command::from_std(place_call(&url))
        .arg("--yes")
        .output()
        .unwrap();
    assert_eq!(call.status.code(), Some(1), "{}", stderr_of(&call));
    let said = stderr_of(&call);
    assert!(
        said.contains("not retried: initiate_call may have placed or ended a call")
            && said.contains("GET /v2/api/active-calls"),
        "{said}"
    );
    assert_eq!(count.load(Ordering::SeqCst), 1, "the call was sent once");

    let read = assert_cmd::Command::from_std(common::trillet())
        .env("TRILLET_API_KEY", "k")
        .env("TRILLET_WORKSPACE_ID", "w")
        .env("TRILLET_BASE_URL", &url)
        .args(["--rate-limit", "0", "api", "list_active_calls"])
        .output()
        .unwrap();
    assert_eq!(read.status.code(), Some(1), "{}", stderr_of(&read));
    assert_eq!(count.load(Ordering::SeqCst), 1 + 3, "the read was retried");
}

#[test]
fn on_a_terminal_a_call_is_sent_only_after_yes() {
    let (url, count) = common::serving(common::http_reply(
        "200 OK",
        "application/json",
        br#"{"status":"success","call_id":"1"}"#,
    ));
    let (shown, status) = common::typing_on_a_terminal(place_call(&url), "[y/N]", "n\n");
    assert_eq!(status.code(), Some(2), "{shown}");
    assert!(
        shown.contains(
            "initiate_call (POST /v1/api/call) places or ends a real call: Place an outbound phone call.\nSend it? [y/N] n\n"
        ) && shown.contains("initiate_call: not sent"),
        "{shown}"
    );
    assert_eq!(count.load(Ordering::SeqCst), 0, "declined: nothing sent");

    let (shown, status) = common::typing_on_a_terminal(place_call(&url), "[y/N]", "yes\n");
    assert!(status.success(), "{shown}");
    assert!(
        shown.contains(r#"{"status":"success","call_id":"1"}"#),
        "{shown}"
    );
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn reads_are_sent_without_asking_and_help_states_each_effect() {
    let (url, count) = counting_server();
    let output = against(&url)
        .args(["api", "list_active_calls"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(count.load(Ordering::SeqCst), 1);

    for (id, effect) in [
        (
            "initiate_call",
            "Effect: call: it places or ends a real call. It asks before sending",
        ),
        ("get_call_history", "Effect: read: it only reads."),
    ] {
        let help = trillet().args(["api", id, "--help"]).output().unwrap();
        let text = stdout_of(&help).replace('\n', " ");
        assert!(text.contains(effect), "{id}: {text}");
    }
}
