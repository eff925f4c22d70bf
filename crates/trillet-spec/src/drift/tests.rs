use serde_json::{Value, json};

use super::*;
use crate::{EXAMPLE_FILES, Spec};

fn spec() -> Spec {
    Spec::bundled().unwrap()
}

fn example_file(name: &str) -> Value {
    let (_, text) = EXAMPLE_FILES.iter().find(|(n, _)| *n == name).unwrap();
    serde_json::from_str(text).unwrap()
}

fn findings<'r>(report: &'r DriftReport, schema: &str) -> Vec<(&'r str, &'static str)> {
    report
        .schemas
        .iter()
        .filter(|s| s.name == schema)
        .flat_map(|s| s.findings.iter())
        .map(|f| (f.path.as_str(), f.kind.id()))
        .collect()
}

fn finding<'r>(report: &'r DriftReport, path: &str, id: &str) -> &'r FindingKind {
    report
        .schemas
        .iter()
        .flat_map(|s| s.findings.iter())
        .find(|f| f.path == path && f.kind.id() == id)
        .map(|f| &f.kind)
        .unwrap_or_else(|| panic!("no {id} at {path}: {report:#?}"))
}

#[test]
fn the_documented_examples_do_not_drift() {
    let spec = spec();
    let mut drift = DriftAnalyzer::new(&spec).unwrap();
    // Chosen by shape, except the minimal record: `{"_id": …}` alone fits every
    // resource that has an `_id`, so it is checked as what it is.
    for name in [
        "call-history.seed.json",
        "call-history.ongoing.json",
        "error.400.json",
        "error.429.json",
    ] {
        drift.observe(&example_file(name));
    }
    drift.observe_record_as(
        &example_file("call-history.minimal.json"),
        Some("CallHistory"),
    );
    let report = drift.report();
    assert_eq!(report.records, 5);
    assert!(!report.drifted(), "{}", render::text(&report));
    // The keys of an open object are listed, and are no drift.
    finding(&report, "/metadata", "open-object-keys");
    assert_eq!(report.finding_count(), 0);
    let names: Vec<&str> = report.schemas.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["CallHistory", "ErrorEnvelope"]);
}

#[test]
fn the_unknown_fields_example_is_reported_path_by_path() {
    let spec = spec();
    let mut drift = DriftAnalyzer::new(&spec).unwrap();
    drift.observe(&example_file("call-history.unknown-fields.json"));
    let report = drift.report();
    let found = findings(&report, "CallHistory");
    for expected in [
        ("/recordingUrl", "unknown-property"),
        ("/transcript", "unknown-property"),
        ("/cost/currency", "unknown-property"),
        ("/cost/breakdown", "unknown-property"),
        ("/analyzedData/answered_by_voicemail", "unknown-property"),
        ("/analyzedData/sentiment", "unknown-property"),
        ("/metadata", "open-object-keys"),
        // `FunctionCall` names no property: what is seen in it is drift.
        ("/functionCalls/*/name", "unknown-property"),
        ("/functionCalls/*/latencyMs", "unknown-property"),
    ] {
        assert!(found.contains(&expected), "{expected:?} not in {found:?}");
    }
    // Described properties are not reported.
    assert!(
        !found
            .iter()
            .any(|(p, _)| *p == "/_id" || *p == "/cost/customer_charge")
    );
    match finding(&report, "/transcript", "unknown-property") {
        FindingKind::UnknownProperty {
            records,
            types,
            example,
            add_to,
            ..
        } => {
            assert_eq!(*records, 1);
            assert_eq!(types, &["array"]);
            assert_eq!(example, r#"[{"role":"agent","text":"Hello!"}]"#);
            assert_eq!(add_to, "/components/schemas/CallHistory");
        }
        other => panic!("{other:?}"),
    }
    match finding(&report, "/cost/currency", "unknown-property") {
        FindingKind::UnknownProperty { add_to, .. } => {
            assert_eq!(add_to, "/components/schemas/CallCost")
        }
        other => panic!("{other:?}"),
    }
    // `FunctionCall` names no property, unlike the free-form `metadata`: its keys
    // are drift, to be named in its own `properties`.
    match finding(&report, "/functionCalls/*/latencyMs", "unknown-property") {
        FindingKind::UnknownProperty {
            add_to,
            adds_properties,
            ..
        } => {
            assert_eq!(add_to, "/components/schemas/FunctionCall");
            assert!(*adds_properties);
        }
        other => panic!("{other:?}"),
    }
    assert!(!found.contains(&("/functionCalls/*", "open-object-keys")));
}

#[test]
fn the_schema_is_chosen_by_shape() {
    let spec = spec();
    let mut drift = DriftAnalyzer::new(&spec).unwrap();
    // Every named schema a response is described by, once, in name order.
    let mut named: Vec<String> = spec
        .operations()
        .unwrap()
        .iter()
        .flat_map(|o| o.responses.iter())
        .filter_map(|r| r.schema.as_ref())
        .flat_map(|s| [s.clone(), s.get("items").cloned().unwrap_or_default()])
        .filter_map(|s| {
            s.get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .map(str::to_owned)
        })
        .collect();
    named.sort();
    named.dedup();
    assert_eq!(drift.candidates(), named);
    for name in [
        "CallHistory",
        "CallHistorySummary",
        "ErrorEnvelope",
        "Agent",
    ] {
        assert!(named.iter().any(|n| n == name), "{name}: {named:?}");
    }
    // A raw list body: an array of summaries (cost a number, timestamp, callId).
    drift.observe(&json!([
        {"_id": "a", "timestamp": 1.5, "callId": "web-1", "cost": 0.1, "duration": 3},
        {"_id": "b", "timestamp": 2, "callId": "web-2", "cost": 0.2}
    ]));
    drift.observe(&json!({"_id": "c", "startTime": 1, "cost": {"customer_charge": 1}}));
    drift.observe(&json!({"error": {"code": "x", "message": "y"}}));
    drift.observe(&json!("a string is no record"));
    let report = drift.report();
    let counts: Vec<(&str, u64)> = report
        .schemas
        .iter()
        .map(|s| (s.name.as_str(), s.records))
        .collect();
    assert_eq!(
        counts,
        [
            ("CallHistory", 1),
            ("CallHistorySummary", 2),
            ("ErrorEnvelope", 1)
        ]
    );
    let unmatched = report.unmatched.as_ref().unwrap();
    assert_eq!(
        (unmatched.records, unmatched.types.as_slice()),
        (1, &["string".to_owned()][..])
    );
    assert!(report.drifted());
    assert_eq!(report.finding_count(), 0);
}

#[test]
fn enums_types_formats_nulls_and_required_properties_are_checked() {
    let spec = spec();
    let mut drift = DriftAnalyzer::with_schema(&spec, "CallHistory").unwrap();
    drift.observe(&json!({
        "status": "ringing", "direction": "sideways", "startTime": "soon",
        "createdAt": "yesterday", "updatedAt": "2025-01-01T10:05:00Z",
        "summary": null, "functionCalls": [1, {"name": "f"}],
    }));
    drift.observe(
        &json!({"status": "ringing", "direction": "inbound", "createdAt": "2025-13-01T00:00:00Z"}),
    );
    let report = drift.report();
    match finding(&report, "/status", "enum-value") {
        FindingKind::EnumValues {
            open,
            values,
            enum_at,
            ..
        } => {
            assert!(*open);
            assert_eq!(
                values,
                &[ValueCount {
                    value: "ringing".into(),
                    records: 2
                }]
            );
            assert_eq!(enum_at, "/components/schemas/CallStatus/anyOf/0");
        }
        other => panic!("{other:?}"),
    }
    match finding(&report, "/startTime", "wrong-type") {
        FindingKind::WrongType {
            expected,
            seen,
            example,
            ..
        } => {
            assert_eq!(
                (expected.as_str(), seen.as_slice()),
                ("number", &["string".to_owned()][..])
            );
            assert_eq!(example, "\"soon\"");
        }
        other => panic!("{other:?}"),
    }
    match finding(&report, "/createdAt", "bad-format") {
        FindingKind::BadFormat {
            format, records, ..
        } => {
            assert_eq!((format.as_str(), *records), ("date-time", 2))
        }
        other => panic!("{other:?}"),
    }
    finding(&report, "/summary", "unexpected-null");
    finding(&report, "/functionCalls/*", "wrong-type");
    assert!(!findings(&report, "CallHistory").contains(&("/updatedAt", "bad-format")));

    let mut errors = DriftAnalyzer::with_schema(&spec, "ErrorEnvelope").unwrap();
    errors.observe(&json!({"error": {"code": "x"}}));
    errors.observe(&json!({"message": "no envelope"}));
    let report = errors.report();
    match finding(&report, "/error/message", "missing-required") {
        FindingKind::MissingRequired { records, .. } => assert_eq!(*records, 1),
        other => panic!("{other:?}"),
    }
    finding(&report, "/error", "missing-required");
    finding(&report, "/message", "unknown-property");
}

#[test]
fn a_closed_enum_is_reported_but_never_suggested() {
    let document = json!({
        "openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {},
        "components": {"schemas": {"R": {"type": "object", "properties": {
            "kind": {"type": "string", "enum": ["a", "b"]},
            "items": {"type": "array", "items": {"type": "array", "items": {"$ref": "#/components/schemas/R"}}}
        }}}}
    });
    let spec = Spec::from_document(document).unwrap();
    let mut drift = DriftAnalyzer::with_schema(&spec, "R").unwrap();
    drift.observe(&json!({"kind": "c", "items": [[{"kind": "d", "extra": true}]]}));
    let report = drift.report();
    match finding(&report, "/items/*/*/kind", "enum-value") {
        FindingKind::EnumValues { open, values, .. } => {
            assert!(!*open);
            assert_eq!(values[0].value, "d");
        }
        other => panic!("{other:?}"),
    }
    finding(&report, "/kind", "enum-value");
    finding(&report, "/items/*/*/extra", "unknown-property");
    let ops: Vec<String> = report
        .suggestion()
        .ops
        .into_iter()
        .map(|o| o.path)
        .collect();
    assert_eq!(ops, ["/components/schemas/R/properties/extra"]);
}

#[test]
fn the_suggestion_describes_what_was_seen_and_only_adds() {
    let spec = spec();
    let mut drift = DriftAnalyzer::new(&spec).unwrap();
    // Chosen by shape among every response schema: `callFlowId` is CallHistory's alone.
    let records = [
        json!({"_id": "1", "startTime": 1, "cost": {"customer_charge": 1}, "status": "ringing",
               "callFlowId": "f1",
               "transcript": [{"role": "agent"}], "recordingUrl": null, "duration": 118}),
        json!({"_id": "2", "startTime": 2, "cost": {"customer_charge": 1}, "status": "completed",
               "callFlowId": "f1",
               "recordingUrl": "https://r.example/2.wav", "duration": 3.5}),
        example_file("call-history.unknown-fields.json"),
    ];
    for record in &records {
        drift.observe(record);
    }
    let report = drift.report();
    let suggestion = report.suggestion();
    let value_at = |path: &str| {
        suggestion
            .ops
            .iter()
            .find(|op| op.path == path)
            .map(|op| op.value.clone())
            .unwrap_or_else(|| panic!("no {path} in {suggestion:#?}"))
    };
    let url = value_at("/components/schemas/CallHistory/properties/recordingUrl");
    assert_eq!(url["type"], "string");
    assert_eq!(url["nullable"], true);
    // The description names no count (a second run would rewrite it); the
    // reason, for people, does.
    assert_eq!(url["description"], super::SEEN);
    let reason = &suggestion
        .ops
        .iter()
        .find(|op| op.path.ends_with("/properties/recordingUrl"))
        .unwrap()
        .reason;
    assert!(reason.contains("3 of 3 CallHistory records"), "{reason}");
    assert_eq!(
        value_at("/components/schemas/CallHistory/properties/duration")["type"],
        "number"
    );
    assert_eq!(
        value_at("/components/schemas/CallHistory/properties/transcript")["type"],
        "array"
    );
    assert_eq!(
        value_at("/components/schemas/CallStatus/anyOf/0/enum/-"),
        "ringing"
    );
    // Every op is an `add`, and the patched spec describes the records.
    let patched = Spec::from_document(suggestion.apply(spec.document()).unwrap()).unwrap();
    let mut again = DriftAnalyzer::new(&patched).unwrap();
    for record in &records {
        again.observe(record);
    }
    let after = again.report();
    let left: Vec<&str> = after
        .schemas
        .iter()
        .flat_map(|s| s.findings.iter())
        .map(|f| f.kind.id())
        .filter(|id| *id != "open-object-keys")
        .collect();
    assert!(left.is_empty(), "{}", render::text(&after));
    assert!(after.suggestion().ops.is_empty());
    // The patched spec still validates what it validated.
    #[cfg(feature = "validate")]
    {
        let validator = patched.validator("CallHistory").unwrap();
        for record in &records {
            assert!(
                validator.is_valid(record),
                "{:?}",
                validator.problems(record)
            );
        }
    }
    assert_eq!(suggestion.to_json_patch()[0]["op"], "add");
}

#[test]
fn distinct_keys_and_values_are_capped() {
    let spec = spec();
    let mut drift = DriftAnalyzer::with_schema(&spec, "CallHistory")
        .unwrap()
        .cap(10);
    for i in 0..50 {
        drift.observe(&json!({format!("k{i}"): i, "status": format!("s{i}"), "metadata": {format!("m{i}"): 1}}));
    }
    let report = drift.report();
    let schema = &report.schemas[0];
    let unknown = schema
        .findings
        .iter()
        .filter(|f| f.kind.id() == "unknown-property")
        .count();
    assert_eq!(unknown, 10);
    assert_eq!(schema.capped, [""]);
    match finding(&report, "/status", "enum-value") {
        FindingKind::EnumValues {
            values, untracked, ..
        } => {
            assert_eq!((values.len(), *untracked), (10, 40))
        }
        other => panic!("{other:?}"),
    }
    match finding(&report, "/metadata", "open-object-keys") {
        FindingKind::OpenObjectKeys { keys, untracked } => {
            assert_eq!((keys.len(), *untracked), (10, 40))
        }
        other => panic!("{other:?}"),
    }
    assert!(render::text(&report).contains("capped"));
}

#[test]
fn examples_are_escaped_and_cut() {
    let shown = example(
        &json!(format!("\u{1b}[2J{}", "x".repeat(100))),
        EXAMPLE_CHARS,
    );
    assert!(!shown.contains('\u{1b}'));
    assert!(shown.starts_with("\"\\u001b[2J"), "{shown}");
    assert_eq!(shown.chars().count(), EXAMPLE_CHARS);
    assert!(shown.ends_with('…'));
    assert_eq!(
        example(&json!("a\u{202e}b\u{9b}"), 60),
        "\"a\\u{202e}b\\u{9b}\""
    );
}

#[test]
fn a_reader_streams_json_lines_arrays_and_concatenated_documents() {
    let spec = spec();
    let mut drift = DriftAnalyzer::new(&spec).unwrap();
    let input = "\u{feff}{\"_id\":\"1\",\"startTime\":1,\"transcript\":[]}\n\n\
                 [{\"_id\":\"2\",\"timestamp\":1,\"callId\":\"c\"},\n {\"_id\":\"3\",\"timestamp\":2,\"callId\":\"d\"}]\
                 {\"error\":{\"code\":\"c\",\"message\":\"m\"}}  ";
    assert_eq!(drift.observe_reader(input.as_bytes()).unwrap(), 4);
    let report = drift.report();
    assert_eq!(report.records, 4);
    assert_eq!(
        findings(&report, "CallHistory"),
        [("/transcript", "unknown-property")]
    );
    let error = drift
        .observe_reader("{\"a\": 1}\n{not json".as_bytes())
        .unwrap_err();
    assert!(error.to_string().contains("JSON document 2"), "{error}");
}

#[test]
fn renderings_name_every_finding() {
    let spec = spec();
    let mut drift = DriftAnalyzer::with_schema(&spec, "CallHistory").unwrap();
    drift.observe(&json!({"transcript": "a|b", "status": "ringing"}));
    let report = drift.report();
    let text = render::text(&report);
    assert!(
        text.contains("/transcript") && text.contains("unknown-property"),
        "{text}"
    );
    let md = render::markdown(&report);
    assert!(md.contains("| `/status` | `enum-value` |"), "{md}");
    assert!(md.contains("a\\|b"), "{md}");
    let json = render::json(&report);
    assert_eq!(json["drifted"], true);
    assert_eq!(json["schemas"][0]["findings"][0]["kind"], "enum-value");
    assert_eq!(json["schemas"][0]["findings"][1]["path"], "/transcript");
    let fragment = render::suggestion_text(&report.suggestion());
    assert!(
        fragment.contains("add /components/schemas/CallHistory/properties/transcript:"),
        "{fragment}"
    );
    assert!(
        fragment.contains("add /components/schemas/CallStatus/anyOf/0/enum/-:\n  ringing"),
        "{fragment}"
    );
}

#[test]
fn a_property_unknown_in_both_record_shapes_is_suggested_once_with_both_counts() {
    let spec = spec();
    let mut drift = DriftAnalyzer::new(&spec).unwrap();
    drift.observe(&json!({"_id": "1", "startTime": 1, "workspaceId": "w",
                          "analyzedData": {"sentiment": "positive"}}));
    drift.observe(&json!([{"_id": "2", "timestamp": 1, "callId": "c",
                           "analyzedData": {"sentiment": 3}}]));
    let suggestion = drift.report().suggestion();
    let ops: Vec<&PatchOp> = suggestion
        .ops
        .iter()
        .filter(|op| op.path == "/components/schemas/AnalyzedData/properties/sentiment")
        .collect();
    assert_eq!(ops.len(), 1, "{suggestion:#?}");
    let reason = &ops[0].reason;
    assert!(reason.contains("1 of 1 CallHistory records"), "{reason}");
    assert!(
        reason.contains("1 of 1 CallHistorySummary records"),
        "{reason}"
    );
    // A string in one, an integer in the other: no type is claimed.
    assert!(ops[0].value.get("type").is_none(), "{:?}", ops[0].value);
}

#[test]
fn a_record_serde_json_cannot_hold_is_reported_with_its_line_and_the_rest_is_read() {
    let spec = spec();
    let mut drift = DriftAnalyzer::with_schema(&spec, "CallHistory").unwrap();
    let deep = format!("{{\"metadata\": {}1{}}}", "[".repeat(200), "]".repeat(200));
    let input = format!(
        "{{\"_id\": \"a\"}}\n{{\"_id\": \"b\", \"startTime\": 1e400}}\n\n{deep}\n{{\"_id\": \"c\", \"transcript\": []}}\n"
    );
    assert_eq!(
        drift
            .observe_input(input.as_bytes(), "calls.jsonl")
            .unwrap(),
        4
    );
    let report = drift.report();
    assert_eq!(report.records, 4);
    assert_eq!(report.unreadable_records, 2);
    let places: Vec<(&str, &str)> = report
        .unreadable
        .iter()
        .map(|u| (u.input.as_str(), u.at.as_str()))
        .collect();
    assert_eq!(
        places,
        [("calls.jsonl", "line 2"), ("calls.jsonl", "line 4")]
    );
    assert!(report.unreadable[0].reason.contains("number out of range"));
    assert!(report.unreadable[1].reason.contains("recursion limit"));
    // The records around them were analysed, and an unreadable one is drift.
    assert_eq!(
        findings(&report, "CallHistory"),
        [("/transcript", "unknown-property")]
    );
    assert!(report.drifted());
    let text = render::text(&report);
    assert!(
        text.contains("unreadable: calls.jsonl line 2: number out of range"),
        "{text}"
    );
    assert!(
        text.contains("2 records unreadable (not analysed)"),
        "{text}"
    );

    // Elements of one array document are placed by their own line too.
    let mut drift = DriftAnalyzer::new(&spec).unwrap();
    let page = "[\n{\"_id\": \"1\", \"timestamp\": 1, \"callId\": \"c\"},\n{\"_id\": \"2\", \"timestamp\": 1e999, \"callId\": \"c\"}\n]";
    drift.observe_input(page.as_bytes(), "").unwrap();
    let report = drift.report();
    assert_eq!(report.unreadable[0].at, "line 3");
    // One text with an unreadable record in it: the others are still observed.
    let mut drift = DriftAnalyzer::new(&spec).unwrap();
    drift
        .observe_json("[{\"_id\": \"1\", \"timestamp\": 1, \"callId\": \"c\"}, {\"_id\": \"2\", \"timestamp\": -1e400}]")
        .unwrap();
    let report = drift.report();
    assert_eq!((report.records, report.unreadable_records), (2, 1));
}

#[test]
fn records_that_violate_the_spec_are_counted() {
    let spec = spec();
    let mut drift = DriftAnalyzer::with_schema(&spec, "CallHistory").unwrap();
    drift.observe(&json!({"_id": "1", "createdAt": "yesterday"}));
    drift.observe(&json!({"_id": "2", "startTime": "1", "summary": null}));
    drift.observe(&json!({"_id": "3", "status": "ringing", "transcript": []}));
    let report = drift.report();
    // New properties and new values of open sets are drift the spec allows.
    assert_eq!(report.violating(), 2);
    assert!(
        render::text(&report).starts_with("drift: 3 records read (3 records CallHistory); 5 findings of drift; 2 records violate the spec\n"),
        "{}",
        render::text(&report)
    );
}

/// Everything of `markdown` outside its code spans (CommonMark: a run of backticks
/// opens a span that the next run of the same length closes).
fn outside_code_spans(markdown: &str) -> String {
    let chars: Vec<char> = markdown.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '`' {
            let run = chars[i..].iter().take_while(|c| **c == '`').count();
            let mut j = i + run;
            let mut closed = None;
            while j < chars.len() {
                if chars[j] == '`' {
                    let other = chars[j..].iter().take_while(|c| **c == '`').count();
                    if other == run {
                        closed = Some(j + run);
                        break;
                    }
                    j += other;
                } else {
                    j += 1;
                }
            }
            match closed {
                Some(end) => i = end,
                None => {
                    out.extend(&chars[i..i + run]);
                    i += run;
                }
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[test]
fn markdown_code_quotes_every_string_from_the_server() {
    let spec = spec();
    let mut drift = DriftAnalyzer::new(&spec).unwrap();
    let hostile = "<img src=x onerror=alert(1)> [click](https://evil.example) @maintainers ``x";
    drift.observe(&json!({"_id": "1", "startTime": 1, "status": hostile,
                          "metadata": {hostile: 1}, hostile: hostile,
                          "createdAt": hostile}));
    drift.observe(&json!({"error": {"code": "c"}, "x": hostile}));
    drift.observe(&json!(hostile));
    let report = drift.report();
    let md = render::markdown(&report);
    let prose = outside_code_spans(&md);
    for raw in ["<img", "](", "@maintainers", "onerror"] {
        assert!(!prose.contains(raw), "{raw} outside a code span in:\n{md}");
    }
    // Still there, inside code spans, and the table rows keep their three cells.
    assert!(md.contains("@maintainers"), "{md}");
    for row in md.lines().filter(|l| l.starts_with("| `/")) {
        let cells = row.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 4, "{row}");
    }
}

#[test]
fn text_columns_line_up_when_keys_are_escaped() {
    let spec = spec();
    let mut drift = DriftAnalyzer::with_schema(&spec, "CallHistory").unwrap();
    drift.observe(&json!({"_id": "1", "a\u{1b}[31m\u{202e}": 1, "plain_key_x": 2}));
    let text = render::text(&drift.report());
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("unknown-property"))
        .collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{202e}'),
        "{text:?}"
    );
    // The kind column starts at the same character on both rows.
    let column = |row: &str| {
        let byte = row.find("unknown-property").unwrap();
        row[..byte].chars().count()
    };
    assert_eq!(column(rows[0]), column(rows[1]), "{text}");
}

#[test]
fn new_objects_and_arrays_of_objects_are_described_as_deep_as_seen() {
    let spec = spec();
    let mut drift = DriftAnalyzer::with_schema(&spec, "CallHistory").unwrap();
    let records = [
        json!({"_id": "1", "transfer": {"to": "+1555", "at": 5, "agent": {"id": "a", "queue": "sales"}},
               "transcript": [{"role": "agent", "text": "Hi", "ts": 0.5}, {"role": "user", "ts": 1}],
               "functionCalls": [{"latency_ms": 812}]}),
        json!({"_id": "2", "transfer": {"to": "+1556", "reason": "busy"},
               "functionCalls": [{"latency_ms": 3, "name": "book"}]}),
    ];
    for record in &records {
        drift.observe(record);
    }
    let report = drift.report();
    let suggestion = report.suggestion();
    let op = |path: &str| {
        suggestion
            .ops
            .iter()
            .find(|op| op.path == path)
            .unwrap_or_else(|| panic!("no {path} in {suggestion:#?}"))
    };
    let transfer = &op("/components/schemas/CallHistory/properties/transfer").value;
    assert_eq!(
        *transfer,
        json!({"type": "object", "description": SEEN, "additionalProperties": {}, "properties": {
            "to": {"type": "string"}, "reason": {"type": "string"}, "at": {"type": "number"},
            "agent": {"type": "object", "additionalProperties": {}, "properties": {
                "id": {"type": "string"}, "queue": {"type": "string"}}}}})
    );
    assert!(transfer.get("required").is_none());
    let transcript = &op("/components/schemas/CallHistory/properties/transcript").value;
    assert_eq!(
        transcript["items"],
        json!({"type": "object", "additionalProperties": {}, "properties": {
            "role": {"type": "string"}, "text": {"type": "string"}, "ts": {"type": "number"}}})
    );
    // Keys seen inside items of `functionCalls` go on its item schema, which names
    // none yet: one `properties` map.
    let calls = &op("/components/schemas/FunctionCall/properties").value;
    assert_eq!(calls["latency_ms"]["type"], "number");
    assert_eq!(calls["name"]["type"], "string");
    assert!(suggestion.ops.iter().all(|op| !op.loosens));

    // The patched spec describes every record, and still takes them.
    let patched = Spec::from_document(suggestion.apply(spec.document()).unwrap()).unwrap();
    let mut again = DriftAnalyzer::with_schema(&patched, "CallHistory").unwrap();
    for record in &records {
        again.observe(record);
    }
    let after = again.report();
    assert!(!after.drifted(), "{}", render::text(&after));
    #[cfg(feature = "validate")]
    {
        let validator = patched.validator("CallHistory").unwrap();
        for record in &records {
            assert!(
                validator.is_valid(record),
                "{:?}",
                validator.problems(record)
            );
        }
    }
}

#[test]
fn violations_get_a_loosening_change_only_when_asked() {
    let spec = spec();
    let mut drift = DriftAnalyzer::with_schema(&spec, "CallHistory").unwrap();
    let records = [
        json!({"_id": "1", "startTime": "1737062900", "summary": null, "createdAt": "yesterday"}),
        json!({"_id": "2", "startTime": 1.5, "summary": "s", "createdAt": "2025-01-01T10:00:00Z"}),
        json!({"_id": "3", "status": 7}),
    ];
    for record in &records {
        drift.observe(record);
    }
    let report = drift.report();
    assert!(
        report.suggestion().ops.is_empty(),
        "{:#?}",
        report.suggestion()
    );
    let suggestion = report.suggest(&SuggestOptions::new().violations(true));
    assert!(suggestion.loosens());
    assert!(
        suggestion.ops.iter().all(|op| op.loosens),
        "{suggestion:#?}"
    );
    let at = |path: &str| suggestion.ops.iter().find(|op| op.path == path);
    let start = "/components/schemas/CallHistory/properties/startTime";
    assert_eq!(
        at(&format!("{start}/type")).unwrap().kind,
        PatchKind::Remove
    );
    assert_eq!(
        at(&format!("{start}/anyOf")).unwrap().value,
        json!([{"type": "number"}, {"type": "string"}])
    );
    assert_eq!(
        at("/components/schemas/CallHistory/properties/summary/nullable")
            .unwrap()
            .value,
        true
    );
    assert_eq!(
        at("/components/schemas/CallHistory/properties/createdAt/format")
            .unwrap()
            .kind,
        PatchKind::Remove
    );
    // No alternative of the open set takes a number: one more does.
    assert_eq!(
        at("/components/schemas/CallStatus/anyOf/-").unwrap().value,
        json!({"type": "number"})
    );
    let patch = suggestion.to_json_patch();
    assert!(
        patch
            .as_array()
            .unwrap()
            .iter()
            .all(|op| op["loosens"] == true),
        "{patch}"
    );
    assert!(render::suggestion_text(&suggestion).contains("# LOOSENS: review before applying"));

    // With the change, the spec takes every record.
    let patched = Spec::from_document(suggestion.apply(spec.document()).unwrap()).unwrap();
    let mut again = DriftAnalyzer::with_schema(&patched, "CallHistory").unwrap();
    for record in &records {
        again.observe(record);
    }
    assert_eq!(
        again.report().violating(),
        0,
        "{}",
        render::text(&again.report())
    );
    #[cfg(feature = "validate")]
    {
        let validator = patched.validator("CallHistory").unwrap();
        for record in &records {
            assert!(
                validator.is_valid(record),
                "{:?}",
                validator.problems(record)
            );
        }
    }
}

#[test]
fn a_second_run_over_more_records_suggests_the_same_text() {
    let spec = spec();
    let run = |n: usize| {
        let mut drift = DriftAnalyzer::with_schema(&spec, "CallHistory").unwrap();
        for i in 0..n {
            drift.observe(&json!({"_id": i.to_string(), "recordingUrl": "https://r.example/1"}));
        }
        let suggestion = drift.report().suggestion();
        suggestion.apply(spec.document()).unwrap()
    };
    assert_eq!(run(3), run(10));
}

#[test]
fn the_patched_spec_keeps_date_examples_quoted_in_yaml() {
    let spec = spec();
    let yaml = render::spec_yaml(spec.document()).unwrap();
    // serde_norway's own output leaves them plain, which YAML 1.1 readers load as dates.
    let plain = serde_norway::to_string(spec.document()).unwrap();
    assert!(
        plain.contains("createdAt: 2025-01-01T10:00:00Z"),
        "the premise changed"
    );
    assert!(yaml.contains("createdAt: '2025-01-01T10:00:00Z'"), "{yaml}");
    for line in yaml.lines() {
        let value = line
            .split_once(": ")
            .map_or(line.trim_start_matches([' ', '-']), |(_, v)| v);
        let b = value.as_bytes();
        let date_like = b.len() >= 6 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-';
        assert!(!date_like, "a plain date-like scalar: {line}");
    }
    let back: Value = serde_norway::from_str(&yaml).unwrap();
    assert_eq!(&back, spec.document());
}

#[test]
fn a_har_file_is_read_entry_by_entry_against_each_operation() {
    use base64::Engine as _;
    let spec = spec();
    let mut drift = DriftAnalyzer::new(&spec).unwrap();
    let record = r#"{"_id": "a", "startTime": 1, "transcript": []}"#;
    let page = r#"[{"_id": "a", "timestamp": 1, "callId": "c", "sentiment": "ok"}]"#;
    let har = json!({"log": {"version": "1.2", "creator": {"name": "t"}, "entries": [
        {"request": {"method": "GET", "url": "https://api.example/v2/api/call-history/a?x=1"},
         "response": {"status": 200, "content": {"mimeType": "application/json",
             "text": base64::engine::general_purpose::STANDARD.encode(record), "encoding": "base64"}}},
        {"request": {"method": "GET", "url": "https://api.example/v2/api/call-history?page=1"},
         "response": {"status": 200, "content": {"text": page}}},
        {"request": {"method": "GET", "url": "https://cdn.example/app.js"},
         "response": {"status": 200, "content": {"text": "{}"}}},
        {"request": {"method": "GET", "url": "https://api.example/v2/api/call-history/b"},
         "response": {"status": 200, "content": {"text": "{\"_id\": \"b\", \"startTime\": 1e400}"}}},
    ]}});
    let summary = drift
        .observe_har(har.to_string().as_bytes(), "s.har")
        .unwrap();
    assert_eq!(
        (summary.entries, summary.analysed, summary.other),
        (4, 3, 1)
    );
    let report = drift.report();
    assert_eq!(
        findings(&report, "CallHistory"),
        [("/transcript", "unknown-property")]
    );
    assert_eq!(
        findings(&report, "CallHistorySummary"),
        [("/sentiment", "unknown-property")]
    );
    assert_eq!(report.unreadable[0].at, "entry 4");
    assert!(drift.observe_har(&b"{\"x\": 1}"[..], "").is_err());
}
