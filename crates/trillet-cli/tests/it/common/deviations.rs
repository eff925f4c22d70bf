//! 200 call-history records and 50 list pages that carry fifteen known deviations
//! from spec/trillet.yaml, for the drift tests: new properties at the top, nested in
//! objects and in array items (scalars, objects, arrays of objects), new values of
//! open sets, a number sent as a string, a null where the spec has none, a malformed
//! date. Everything else in them is what the spec describes. Deterministic: the
//! same call gives the same bodies.
//!
//! Shared by the CLI's drift tests and xtask's spec-diff check of the suggestion
//! (which includes this file by path).

use serde_json::{Value, json};

/// How many records `get` serves (ids `rec-000` …).
pub const RECORDS: usize = 200;
/// How many full list pages there are, of [`PAGE_SIZE`] items each.
pub const PAGES: usize = 50;
/// Items per list page.
pub const PAGE_SIZE: usize = 4;

/// One deviation: the schema the record is checked against, the JSON path, and the
/// kind of finding `trillet spec drift` must report there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deviation {
    pub schema: &'static str,
    pub path: &'static str,
    pub kind: &'static str,
}

const fn d(schema: &'static str, path: &'static str, kind: &'static str) -> Deviation {
    Deviation { schema, path, kind }
}

/// The fifteen deviations the bodies carry, and nothing else.
pub const DEVIATIONS: [Deviation; 15] = [
    d("CallHistory", "/recordingUrl", "unknown-property"),
    d("CallHistory", "/transfer", "unknown-property"),
    d("CallHistory", "/transcript", "unknown-property"),
    d("CallHistory", "/cost/currency", "unknown-property"),
    d("CallHistory", "/cost/breakdown", "unknown-property"),
    d(
        "CallHistory",
        "/functionCalls/*/latency_ms",
        "unknown-property",
    ),
    d("CallHistory", "/status", "enum-value"),
    d("CallHistory", "/direction", "enum-value"),
    d("CallHistory", "/startTime", "wrong-type"),
    d("CallHistory", "/summary", "unexpected-null"),
    d("CallHistory", "/createdAt", "bad-format"),
    d("CallHistorySummary", "/sentiment", "unknown-property"),
    d(
        "CallHistorySummary",
        "/analyzedData/answered_by_voicemail",
        "unknown-property",
    ),
    d("CallHistorySummary", "/status", "enum-value"),
    d("CallHistorySummary", "/queue", "unknown-property"),
];

/// The id of record `i`.
pub fn id(i: usize) -> String {
    format!("rec-{i:03}")
}

/// Record `i` (0-based) as `GET /v2/api/call-history/{id}` returns it.
pub fn record(i: usize) -> Value {
    let mut record = json!({
        "_id": id(i),
        "workspaceId": "ws-1",
        "agentId": "agent-1",
        "roomName": format!("web-{i}"),
        "direction": "outbound",
        "status": "completed",
        "startTime": 1_737_062_894.5 + i as f64,
        "endTime": 1_737_063_012 + i as u64,
        "cost": {"customer_charge": 0.0425},
        "metadata": {"crm": {"leadId": i}},
        "functionCalls": [],
        "summary": "Caller booked an appointment.",
        "analyzedData": {"additional_field": "booked"},
        "createdAt": "2025-01-16T21:28:14+01:00",
        "updatedAt": "2025-01-16T21:30:12Z",
    });
    let r = &mut record;
    if i.is_multiple_of(2) {
        r["recordingUrl"] = json!(format!("https://recordings.example/{i}.wav"));
    }
    if i % 5 == 1 {
        r["transfer"] = json!({"to": "+15550001", "reason": "busy", "at": 1_737_063_000,
                               "agent": {"id": "agent-2", "queue": "sales"}});
    }
    if i.is_multiple_of(3) {
        r["transcript"] = json!([{"role": "agent", "text": "Hello!", "ts": 0.5},
                                 {"role": "user", "text": "Hi", "ts": 1}]);
    }
    if i % 4 == 1 {
        r["cost"]["currency"] = json!("USD");
    }
    if i % 6 == 2 {
        r["cost"]["breakdown"] = json!({"llm": 0.01, "tts": 0.0125});
    }
    if i % 8 == 3 {
        r["functionCalls"] = json!([{"latency_ms": 812}]);
    }
    if i % 9 == 4 {
        r["status"] = json!("ringing");
    }
    if i % 10 == 5 {
        r["direction"] = json!("transfer");
    }
    if i % 11 == 6 {
        r["startTime"] = json!(format!("{}", 1_737_062_894 + i));
    }
    if i % 12 == 7 {
        r["summary"] = Value::Null;
    }
    if i % 13 == 8 {
        r["createdAt"] = json!("yesterday");
    }
    record
}

/// List item `j` (0-based, over all pages).
pub fn item(j: usize) -> Value {
    let mut item = json!({
        "_id": id(j),
        "timestamp": 1_737_062_894 + j as u64,
        "callId": format!("web-{j}"),
        "direction": "inbound",
        "status": "completed",
        "cost": 0.0425,
        "recordingUrl": null,
        "summary": "Caller booked an appointment.",
    });
    let it = &mut item;
    if j % 2 == 1 {
        it["sentiment"] = json!("positive");
    }
    if j.is_multiple_of(3) {
        it["analyzedData"] = json!({"answered_by_voicemail": false});
    }
    if j % 5 == 2 {
        it["status"] = json!("queued");
    }
    if j % 7 == 3 {
        it["queue"] = json!({"name": "sales", "wait": {"seconds": 12, "position": 2}});
    }
    item
}

/// List page `page` (1-based) as `GET /v2/api/call-history?page=…` returns it:
/// [`PAGE_SIZE`] items for pages 1 to [`PAGES`], an empty array after.
pub fn page(page: usize) -> Value {
    if page == 0 || page > PAGES {
        return json!([]);
    }
    let first = (page - 1) * PAGE_SIZE;
    Value::Array((first..first + PAGE_SIZE).map(item).collect())
}

/// Every body as the server sends it, one per line: the records, then the pages.
pub fn raw_bodies_jsonl() -> String {
    let mut out = String::new();
    for i in 0..RECORDS {
        out.push_str(&record(i).to_string());
        out.push('\n');
    }
    for p in 1..=PAGES {
        out.push_str(&page(p).to_string());
        out.push('\n');
    }
    out
}

/// Which of [`DEVIATIONS`] a JSON report of `trillet spec drift` found, and which
/// of its drift findings are none of them (false reports).
pub fn score(report: &Value) -> (Vec<Deviation>, Vec<String>) {
    let mut found = Vec::new();
    let mut false_reports = Vec::new();
    if !report["unmatched"].is_null() {
        false_reports.push(format!(
            "records that fit no schema: {}",
            report["unmatched"]
        ));
    }
    for schema in report["schemas"].as_array().into_iter().flatten() {
        let name = schema["name"].as_str().unwrap_or_default();
        for f in schema["findings"].as_array().into_iter().flatten() {
            let (path, kind) = (
                f["path"].as_str().unwrap_or_default(),
                f["kind"].as_str().unwrap_or_default(),
            );
            if kind == "open-object-keys" {
                continue; // listed, not drift
            }
            match DEVIATIONS
                .iter()
                .find(|d| d.schema == name && d.path == path && d.kind == kind)
            {
                Some(d) if !found.contains(d) => found.push(*d),
                Some(_) => {}
                None => false_reports.push(format!("{name} {path} {kind}")),
            }
        }
    }
    (found, false_reports)
}
