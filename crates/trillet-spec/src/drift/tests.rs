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
    for name in [
        "call-history.seed.json",
        "call-history.ongoing.json",
        "call-history.minimal.json",
        "error.400.json",
        "error.429.json",
    ] {
        drift.observe(&example_file(name));
    }
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
        ("/functionCalls/*", "open-object-keys"),
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
    match finding(&report, "/functionCalls/*", "open-object-keys") {
        FindingKind::OpenObjectKeys { keys, .. } => {
            let keys: Vec<&str> = keys.iter().map(|k| k.value.as_str()).collect();
            assert_eq!(keys, ["arguments", "latencyMs", "name", "result"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_schema_is_chosen_by_shape() {
    let spec = spec();
    let mut drift = DriftAnalyzer::new(&spec).unwrap();
    assert_eq!(
        drift.candidates(),
        ["CallHistory", "CallHistorySummary", "ErrorEnvelope"]
    );
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
        FindingKind::MissingRequired { records } => assert_eq!(*records, 1),
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
    let records = [
        json!({"_id": "1", "startTime": 1, "cost": {"customer_charge": 1}, "status": "ringing",
               "transcript": [{"role": "agent"}], "recordingUrl": null, "duration": 118}),
        json!({"_id": "2", "startTime": 2, "cost": {"customer_charge": 1}, "status": "completed",
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
    assert!(
        url["description"]
            .as_str()
            .unwrap()
            .contains("Seen by `trillet spec drift` in 3 of 3 CallHistory records")
    );
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
    let description = ops[0].value["description"].as_str().unwrap();
    assert!(
        description.contains("1 of 1 CallHistory records"),
        "{description}"
    );
    assert!(
        description.contains("1 of 1 CallHistorySummary records"),
        "{description}"
    );
    // A string in one, an integer in the other: no type is claimed.
    assert!(ops[0].value.get("type").is_none(), "{:?}", ops[0].value);
}
