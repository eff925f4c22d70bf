//! `trillet spec drift --suggest` reviewed like any spec change: the suggestion for
//! records with fields and values the spec does not know, applied to a copy of
//! spec/trillet.yaml, is rated by `cargo xtask spec-diff` as non-breaking on the
//! wire, and the patched spec describes the records.

#![allow(clippy::unwrap_used)] // test helpers: a failure there is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use trillet_spec::Spec;
use trillet_spec::drift::DriftAnalyzer;

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// What a first run against the real API could record: the list's fields on full
/// records, values outside the open sets, keys beyond the documented ones.
fn records() -> Vec<Value> {
    let unknown_fields: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_file("spec/examples/call-history.unknown-fields.json"))
            .unwrap(),
    )
    .unwrap();
    vec![
        unknown_fields,
        json!({"_id": "a1", "startTime": 1, "cost": {"customer_charge": 0.2, "currency": "EUR"},
               "status": "ringing", "direction": "sideways", "duration": 118,
               "transcript": [{"role": "agent", "text": "Hi"}], "recordingUrl": null}),
        json!([{"_id": "b1", "timestamp": 2.5, "callId": "web-1", "cost": 0.1,
                "status": "queued", "agent": {"_id": "x"}, "sentiment": "positive",
                "analyzedData": {"answered_by_voicemail": true}}]),
    ]
}

#[test]
fn the_suggested_change_is_non_breaking_on_the_wire() {
    let spec = Spec::bundled().unwrap();
    let mut drift = DriftAnalyzer::new(&spec).unwrap();
    for record in records() {
        drift.observe(&record);
    }
    let report = drift.report();
    assert!(report.drifted());
    let suggestion = report.suggestion();
    assert!(suggestion.ops.len() >= 8, "{suggestion:#?}");
    let patched = suggestion.apply(spec.document()).unwrap();

    let dir = std::env::temp_dir().join(format!("xtask-drift-suggest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let head = dir.join("trillet.yaml");
    std::fs::write(&head, serde_norway::to_string(&patched).unwrap()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["spec-diff", "--format", "json", "--base"])
        .arg(repo_file("spec/trillet.yaml"))
        .arg("--head")
        .arg(&head)
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Non-breaking on the wire. The one major change is to the Rust API: keys seen
    // in `FunctionCall` (an object that names no property) make its generated type
    // a struct instead of a map (exit 2 for that alone).
    assert_eq!(
        out.status.code(),
        Some(2),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diff: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(diff["summary"]["breaking"], 0, "{stdout}");
    assert_eq!(
        major_rust_changes(&diff),
        ["trillet_api::types::FunctionCall"]
    );
    let findings = diff["findings"].as_array().unwrap();
    let rule = |id: &str, pointer: &str| {
        findings
            .iter()
            .any(|f| f["id"].as_str().is_some_and(|i| i.ends_with(id)) && f["pointer"] == pointer)
    };
    assert!(
        rule(
            "property-added",
            "/components/schemas/CallHistory/properties/transcript"
        ),
        "{stdout}"
    );
    assert!(
        rule(
            "property-added",
            "/components/schemas/CallCost/properties/currency"
        ),
        "{stdout}"
    );
    assert!(
        findings.iter().any(|f| f["id"]
            .as_str()
            .is_some_and(|i| i.contains("enum-value-added"))),
        "{stdout}"
    );
    for f in findings {
        assert_ne!(f["severity"], "breaking", "{f}");
    }

    // The patched spec describes the records: nothing drifts but open-object keys.
    let patched = Spec::from_document(patched).unwrap();
    let mut again = DriftAnalyzer::new(&patched).unwrap();
    for record in records() {
        again.observe(&record);
    }
    let after = again.report();
    assert!(
        !after.drifted(),
        "{}",
        trillet_spec::drift::render::text(&after)
    );
}

#[allow(dead_code)] // shared with the CLI's drift tests, which use all of it
#[path = "../../../crates/trillet-cli/tests/it/common/deviations.rs"]
mod deviations;

/// The Rust items a spec-diff report rates as a major change, each once.
fn major_rust_changes(diff: &Value) -> Vec<String> {
    let mut paths: Vec<String> = diff["rust"]["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["semver"] == "major")
        .filter_map(|c| c["path"].as_str())
        .map(|p| {
            p.replace(
                "trillet_api::types::serde_json::Map",
                "trillet_api::types::FunctionCall",
            )
        })
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// `cargo xtask spec-diff --format json` of `patched` (written as `--write-spec` does).
fn spec_diff(patched: &Value, name: &str) -> Value {
    let dir = std::env::temp_dir().join(format!("xtask-drift-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let head = dir.join("trillet.yaml");
    std::fs::write(
        &head,
        trillet_spec::drift::render::spec_yaml(patched).unwrap(),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["spec-diff", "--format", "json", "--base"])
        .arg(repo_file("spec/trillet.yaml"))
        .arg("--head")
        .arg(&head)
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn the_suggestion_for_the_fifteen_deviations_is_valid_and_non_breaking() {
    let spec = Spec::bundled().unwrap();
    let mut drift = DriftAnalyzer::new(&spec).unwrap();
    drift
        .observe_reader(deviations::raw_bodies_jsonl().as_bytes())
        .unwrap();
    let report = drift.report();
    let suggestion = report.suggestion();
    assert!(!suggestion.loosens());
    let patched = suggestion.apply(spec.document()).unwrap();
    let diff = spec_diff(&patched, "deviations");
    assert_eq!(diff["summary"]["breaking"], 0, "{diff:#}");
    assert_eq!(
        major_rust_changes(&diff),
        ["trillet_api::types::FunctionCall"]
    );
    // Valid: it parses as a spec, every inline example still fits its schema, and
    // what it describes no longer drifts (the violations stay: never loosened).
    let patched = Spec::from_document(patched).unwrap();
    for example in patched.inline_examples() {
        if let Some(schema) = &example.schema {
            let validator = patched.validator_of(&example.pointer, schema).unwrap();
            assert!(validator.is_valid(&example.value), "{}", example.pointer);
        }
    }
    let mut again = DriftAnalyzer::new(&patched).unwrap();
    again
        .observe_reader(deviations::raw_bodies_jsonl().as_bytes())
        .unwrap();
    let left: Vec<String> = again
        .report()
        .schemas
        .iter()
        .flat_map(|s| s.findings.iter())
        .filter(|f| f.is_drift())
        .map(|f| format!("{} {}", f.path, f.kind.id()))
        .collect();
    assert_eq!(
        left,
        [
            "/createdAt bad-format",
            "/startTime wrong-type",
            "/summary unexpected-null"
        ]
    );

    // With the violations, the loosening is what spec-diff reviews.
    let loose = report.suggest(&trillet_spec::drift::SuggestOptions::new().violations(true));
    let diff = spec_diff(&loose.apply(spec.document()).unwrap(), "loose");
    // Loosening a response is breaking for clients: why it is opt-in and marked.
    eprintln!("spec-diff of the loosened spec: {}", diff["summary"]);
    assert!(diff["summary"]["breaking"].as_u64() > Some(0), "{diff:#}");
}
