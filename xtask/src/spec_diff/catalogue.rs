//! The spec-mutation catalogue (`xtask/tests/spec_diff/catalogue.yaml`) and the
//! properties every diff must have (no findings for identical or reformatted specs).

use std::path::PathBuf;

use serde_json::Value;

use super::compare::compare;
use super::load::parse;
use super::pointer::tokens;
use super::{Finding, Severity};

/// Every rule id spec-diff can emit that the catalogue must exercise at least once.
const RULES: &[&str] = &[
    // paths and operations
    "api-path-removed-without-deprecation",
    "api-path-removed-with-deprecation",
    "api-removed-without-deprecation",
    "api-removed-with-deprecation",
    "endpoint-added",
    "endpoint-deprecated",
    "api-operation-id-updated",
    "api-description-changed",
    "api-tags-changed",
    // parameters
    "new-required-request-parameter",
    "new-optional-request-parameter",
    "new-required-request-header",
    "request-parameter-removed",
    "request-parameter-became-required",
    "request-parameter-became-optional",
    "request-parameter-location-changed",
    "request-parameter-type-changed",
    "request-parameter-format-changed",
    "request-parameter-enum-value-added",
    "request-parameter-enum-value-removed",
    "request-parameter-constraint-changed",
    "request-parameter-description-changed",
    "request-parameter-example-changed",
    // security
    "api-security-added",
    "api-security-removed",
    "security-scheme-description-changed",
    // request bodies
    "request-body-added-required",
    "request-body-added-optional",
    "request-body-removed",
    "request-body-became-required",
    "request-body-became-optional",
    "request-body-media-type-added",
    "request-body-media-type-removed",
    "request-body-additional-properties-closed",
    "request-body-description-changed",
    "request-body-example-changed",
    "new-required-request-property",
    "new-optional-request-property",
    "request-property-removed",
    "request-property-became-required",
    "request-property-became-optional",
    "request-property-type-changed",
    "request-property-became-nullable",
    "request-property-became-not-nullable",
    "request-property-enum-value-added",
    "request-property-enum-value-removed",
    "request-property-default-changed",
    "request-property-constraint-changed",
    "request-property-additional-properties-opened",
    "request-property-any-of-removed",
    "request-property-all-of-added",
    // responses
    "response-success-status-removed",
    "response-success-status-added",
    "response-non-success-status-added",
    "response-non-success-status-removed",
    "response-description-changed",
    "response-media-type-added",
    "response-media-type-removed",
    "response-example-changed",
    "response-header-added",
    "response-header-removed",
    "response-header-became-optional",
    "response-header-became-required",
    "response-header-type-changed",
    "response-header-description-changed",
    "response-header-example-changed",
    "response-body-type-changed",
    "response-body-ref-changed",
    "response-body-additional-properties-closed",
    "response-body-description-changed",
    "response-property-removed",
    "response-property-added",
    "response-property-type-changed",
    "response-property-format-changed",
    "response-property-became-optional",
    "response-property-became-required",
    "response-property-became-nullable",
    "response-property-became-not-nullable",
    "response-property-enum-value-added",
    "response-property-enum-value-removed",
    "response-property-additional-properties-closed",
    "response-property-additional-properties-opened",
    "response-property-ref-changed",
    "response-property-one-of-added",
    "response-property-one-of-removed",
    "response-property-description-changed",
    "response-property-example-changed",
    // document
    "info-title-changed",
    "info-description-changed",
    "info-version-changed",
    "api-server-added",
    "api-server-removed",
    "component-schema-added",
    "component-schema-removed",
];

pub(super) struct Case {
    pub(super) name: String,
    pub(super) base: String,
    base_patch: Vec<Value>,
    patch: Vec<Value>,
    expect: Vec<String>,
    mentions: Vec<String>,
}

fn fixtures() -> PathBuf {
    crate::workspace_root().join("xtask/tests/spec_diff")
}

fn read_fixture(name: &str) -> String {
    let path = fixtures().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub(super) fn cases() -> Vec<Case> {
    let list: Vec<Value> = serde_norway::from_str(&read_fixture("catalogue.yaml"))
        .unwrap_or_else(|e| panic!("catalogue.yaml: {e}"));
    let text = |case: &Value, key: &str| -> String {
        case[key]
            .as_str()
            .unwrap_or_else(|| panic!("catalogue.yaml: a case without `{key}`: {case}"))
            .to_string()
    };
    let strings = |case: &Value, key: &str| -> Vec<String> {
        case.get(key)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|i| match i {
                        Value::String(s) => s.clone(),
                        other => panic!("catalogue.yaml: `{key}` items are strings, not {other}"),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let values = |case: &Value, key: &str| -> Vec<Value> {
        case.get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    list.iter()
        .map(|case| Case {
            name: text(case, "name"),
            base: text(case, "base"),
            base_patch: values(case, "base_patch"),
            patch: values(case, "patch"),
            expect: strings(case, "expect"),
            mentions: strings(case, "mentions"),
        })
        .collect()
}

/// Applies one catalogue edit (`set`, `remove`, `append`, `rename`).
fn apply(doc: &mut Value, edit: &Value) -> Result<(), String> {
    let (op, pointer) = ["set", "remove", "append", "rename"]
        .iter()
        .find_map(|op| Some((*op, edit.get(*op)?.as_str()?)))
        .ok_or_else(|| format!("unknown edit {edit}"))?;
    let mut path = tokens(pointer);
    let last = path.pop().ok_or("empty pointer")?;
    let mut parent = &mut *doc;
    for token in &path {
        parent = match parent {
            Value::Object(map) => map.get_mut(token),
            Value::Array(items) => token.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| format!("{pointer}: no `{token}`"))?;
    }
    let missing = || format!("{pointer}: no `{last}`");
    let value = || {
        edit.get("value")
            .cloned()
            .ok_or(format!("{op} needs a value"))
    };
    match (op, parent) {
        ("set", Value::Object(map)) => {
            map.insert(last, value()?);
        }
        ("set", Value::Array(items)) => {
            let i: usize = last.parse().map_err(|_| missing())?;
            if i == items.len() {
                items.push(value()?);
            } else {
                *items.get_mut(i).ok_or_else(missing)? = value()?;
            }
        }
        ("remove", Value::Object(map)) => {
            map.remove(&last).ok_or_else(missing)?;
        }
        ("remove", Value::Array(items)) => {
            let i: usize = last.parse().map_err(|_| missing())?;
            if i >= items.len() {
                return Err(missing());
            }
            items.remove(i);
        }
        ("append", parent) => match parent.get_mut(&last) {
            Some(Value::Array(items)) => items.push(value()?),
            _ => return Err(format!("{pointer} is not an array")),
        },
        ("rename", Value::Object(map)) => {
            let to = edit
                .get("to")
                .and_then(Value::as_str)
                .ok_or("rename needs `to`")?;
            let moved = map.remove(&last).ok_or_else(missing)?;
            map.insert(to.to_string(), moved);
        }
        _ => return Err(format!("cannot {op} at {pointer}")),
    }
    Ok(())
}

/// JSON text with every object's keys in reverse order: a reformatted and
/// reordered, semantically identical spec.
fn reordered_json(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let fields: Vec<String> = map
                .iter()
                .rev()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), reordered_json(v)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(reordered_json).collect();
            format!("[{}]", items.join(", "))
        }
        scalar => scalar.to_string(),
    }
}

/// spec/trillet.yaml as it is now (the catalogue uses a snapshot).
fn live_spec() -> String {
    let path = crate::workspace_root().join(crate::codegen::SPEC_PATH);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn diff(base_text: &str, head_text: &str) -> Result<Vec<Finding>, String> {
    let base = parse("base".into(), base_text.to_string())?;
    let head = parse("head".into(), head_text.to_string())?;
    compare(&base.doc, &head.doc)
}

/// The two spec texts of a case: the base as YAML, the head as reordered JSON.
/// `prepare` edits are applied to the fixture before the case's own edits.
pub(super) fn sides(case: &Case, prepare: &[Value]) -> Result<(String, String), String> {
    let mut doc: Value =
        serde_norway::from_str(&read_fixture(&case.base)).map_err(|e| e.to_string())?;
    for edit in prepare.iter().chain(&case.base_patch) {
        apply(&mut doc, edit)?;
    }
    let base_text = serde_norway::to_string(&doc).map_err(|e| e.to_string())?;
    for edit in &case.patch {
        apply(&mut doc, edit)?;
    }
    Ok((base_text, reordered_json(&doc)))
}

fn run_case(case: &Case) -> Result<Vec<Finding>, String> {
    let (base_text, head_text) = sides(case, &[])?;
    let findings = diff(&base_text, &head_text)?;

    let mut got: Vec<String> = findings
        .iter()
        .map(|f| format!("{} {} {}", f.severity.as_str(), f.id, f.pointer))
        .collect();
    let mut want = case.expect.clone();
    got.sort();
    want.sort();
    if got != want {
        let messages: Vec<String> = findings
            .iter()
            .map(|f| {
                format!(
                    "    {} {} {}\n      {}",
                    f.severity.as_str(),
                    f.id,
                    f.pointer,
                    f.message
                )
            })
            .collect();
        return Err(format!(
            "expected:\n    {}\ngot:\n{}",
            want.join("\n    "),
            messages.join("\n")
        ));
    }
    for text in &case.mentions {
        if !findings.iter().any(|f| f.message.contains(text.as_str())) {
            return Err(format!("no message mentions {text:?}"));
        }
    }
    Ok(findings)
}

#[test]
fn every_catalogue_case_gives_exactly_the_expected_findings() {
    let cases = cases();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            run_case(case)
                .err()
                .map(|e| format!("--- {}\n{e}", case.name))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn the_catalogue_has_at_least_25_cases_with_unique_names() {
    let cases = cases();
    assert!(cases.len() >= 25, "only {} cases", cases.len());
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "duplicate case names");
}

#[test]
fn the_catalogue_exercises_every_rule() {
    let expected: Vec<String> = cases().into_iter().flat_map(|c| c.expect).collect();
    let missing: Vec<&&str> = RULES
        .iter()
        .filter(|rule| !expected.iter().any(|e| e.split(' ').nth(1) == Some(**rule)))
        .collect();
    assert!(
        missing.is_empty(),
        "rules without a catalogue case: {missing:?}"
    );
}

#[test]
fn every_rule_in_the_catalogue_is_listed() {
    let unlisted: Vec<String> = cases()
        .into_iter()
        .flat_map(|c| c.expect)
        .filter_map(|e| e.split(' ').nth(1).map(str::to_string))
        .filter(|id| !RULES.contains(&id.as_str()))
        .collect();
    assert!(unlisted.is_empty(), "add to RULES: {unlisted:?}");
}

#[test]
fn the_live_spec_against_itself_gives_no_findings() {
    let text = live_spec();
    assert_eq!(diff(&text, &text).unwrap(), []);
}

#[test]
fn reordering_keys_and_reformatting_give_no_findings() {
    let text = live_spec();
    let doc: Value = serde_norway::from_str(&text).unwrap();
    let reordered = reordered_json(&doc);
    assert_ne!(reordered, text);
    assert_eq!(diff(&text, &reordered).unwrap(), []);
    assert_eq!(diff(&reordered, &text).unwrap(), []);
}

#[test]
fn a_description_only_change_gives_only_info() {
    let case = cases()
        .into_iter()
        .find(|c| c.name == "a description-only change gives only info")
        .unwrap();
    let findings = run_case(&case).unwrap();
    assert!(!findings.is_empty());
    assert!(findings.iter().all(|f| f.severity == Severity::Info));
}

#[test]
fn a_dangling_ref_is_an_error_not_a_finding() {
    let text = read_fixture("trillet.yaml");
    let broken = text.replace(
        "$ref: \"#/components/schemas/CallCost\"",
        "$ref: \"#/components/schemas/Nope\"",
    );
    assert_ne!(broken, text);
    let error = diff(&text, &broken).unwrap_err();
    assert!(
        error.contains("head spec: `$ref: #/components/schemas/Nope`"),
        "{error}"
    );
    assert!(
        error.contains("/components/schemas/CallHistory/properties/cost"),
        "{error}"
    );
}

#[test]
fn output_is_sorted_by_severity_then_pointer() {
    let case = cases()
        .into_iter()
        .find(|c| c.name == "title, version and servers")
        .unwrap();
    let findings = run_case(&case).unwrap();
    let mut sorted = findings.clone();
    sorted.sort();
    assert_eq!(findings, sorted);
    assert_eq!(findings[0].severity, Severity::Warning);
}

/// `cargo test -p xtask print_the_catalogue -- --ignored --nocapture` shows every
/// case's findings with their messages, for reviewing the wording.
#[test]
#[ignore]
fn print_the_catalogue() {
    for case in cases() {
        println!("--- {}", case.name);
        match run_case(&case) {
            Ok(findings) => {
                for f in findings {
                    println!(
                        "  {:<8} {:<45} {}\n           {}",
                        f.severity.as_str(),
                        f.id,
                        f.pointer,
                        f.message
                    );
                }
            }
            Err(e) => println!("  FAILED: {e}"),
        }
    }
}
