//! `cargo xtask lint [--spec FILE] [--examples DIR]`: checks the spec before anything
//! is generated from it. Each problem is printed with the JSON pointer it concerns.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use trillet_spec::{Spec, escape_pointer, schema_for_example_file};

/// The two headers every operation must require together.
const SECURITY_HEADERS: [&str; 2] = ["x-api-key", "x-workspace-id"];

/// One lint failure: where (a file and a JSON pointer) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub file: String,
    pub pointer: String,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}: {}", self.file, self.pointer, self.message)
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The spec to check [default: spec/trillet.yaml]
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// The example records to validate against it [default: spec/examples]
    #[arg(long, value_name = "DIR")]
    examples: Option<PathBuf>,
}

pub fn run(args: &Args) -> Result<(), String> {
    let root = crate::workspace_root();
    let spec_path = args
        .spec
        .clone()
        .unwrap_or_else(|| root.join(crate::codegen::SPEC_PATH));
    let examples_dir = args
        .examples
        .clone()
        .unwrap_or_else(|| root.join("spec/examples"));
    let spec_text = std::fs::read_to_string(&spec_path)
        .map_err(|e| format!("cannot read {}: {e}", spec_path.display()))?;
    let examples = read_examples(&examples_dir)?;
    let findings = lint(&spec_text, &examples);
    if findings.is_empty() {
        println!(
            "{}: ok ({} example files checked)",
            spec_path.display(),
            examples.len()
        );
        return Ok(());
    }
    for finding in &findings {
        eprintln!("{finding}");
    }
    Err(format!(
        "{} problem(s) in the spec or its examples",
        findings.len()
    ))
}

/// `(file name, text)` of every `*.json` file in `dir`, sorted by name.
fn read_examples(dir: &std::path::Path) -> Result<Vec<(String, String)>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") {
            let text = std::fs::read_to_string(entry.path())
                .map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?;
            files.push((name, text));
        }
    }
    files.sort();
    Ok(files)
}

/// All checks; an empty result means the spec is fine.
pub fn lint(spec_text: &str, example_files: &[(String, String)]) -> Vec<Finding> {
    let spec_file = crate::codegen::SPEC_PATH;
    let at = |pointer: String, message: String| Finding {
        file: spec_file.to_owned(),
        pointer,
        message,
    };
    if let Err(e) = serde_norway::from_str::<openapiv3::OpenAPI>(spec_text) {
        return vec![at(
            String::new(),
            format!("not a valid OpenAPI 3.0 document: {e}"),
        )];
    }
    let spec = match Spec::parse(spec_text) {
        Ok(spec) => spec,
        Err(e) => return vec![at(String::new(), e.to_string())],
    };
    let doc = spec.document();
    let mut findings = Vec::new();

    let version = doc.get("openapi").and_then(Value::as_str).unwrap_or("");
    if !version.starts_with("3.0.") {
        findings.push(at(
            "/openapi".into(),
            format!("expected OpenAPI 3.0.x, found `{version}`"),
        ));
    }
    check_operations(&spec, &mut findings, &at);
    check_descriptions(doc, &mut findings, &at);
    check_inline_examples(&spec, &mut findings, &at);
    check_example_files(&spec, example_files, &mut findings);
    findings
}

fn check_operations(
    spec: &Spec,
    findings: &mut Vec<Finding>,
    at: &impl Fn(String, String) -> Finding,
) {
    let doc = spec.document();
    let is_header_key = |s: &&trillet_spec::SecurityScheme| {
        s.kind == "apiKey" && s.location.as_deref() == Some("header")
    };
    // Which security headers some apiKey scheme sends.
    let defined: Vec<String> = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|schemes| schemes.values())
        .filter(|s| {
            s.get("type").and_then(Value::as_str) == Some("apiKey")
                && s.get("in").and_then(Value::as_str) == Some("header")
        })
        .filter_map(|s| s.get("name").and_then(Value::as_str))
        .map(str::to_ascii_lowercase)
        .collect();
    for header in SECURITY_HEADERS {
        if !defined.iter().any(|h| h == header) {
            findings.push(at(
                "/components/securitySchemes".into(),
                format!("no apiKey scheme sends the `{header}` header"),
            ));
        }
    }
    // The operations as trillet-spec reads them (its one walker and resolver): a
    // missing operationId or an undefined scheme is reported as what it is.
    let operations = match spec.operations() {
        Ok(operations) => operations,
        Err(e) => {
            findings.push(at("/paths".into(), e.to_string()));
            return;
        }
    };
    let mut seen_ids: BTreeMap<&str, String> = BTreeMap::new();
    for op in &operations {
        let pointer = format!(
            "/paths/{}/{}",
            escape_pointer(&op.path),
            op.method.to_ascii_lowercase()
        );
        if let Some(first) = seen_ids.insert(&op.id, pointer.clone()) {
            findings.push(at(
                format!("{pointer}/operationId"),
                format!("operationId `{}` is already used at {first}", op.id),
            ));
        }
        // Operation-level security overrides the document's.
        let raw = doc.pointer(&pointer);
        // What the retry rule, the CLI's confirmation and the docs read.
        use crate::extensions::{DOCS_KEY, EFFECT_KEY, spec_docs, spec_effect};
        let extension = |key: &str| raw.and_then(|o| o.get(key));
        if let Err(e) = spec_effect(extension(EFFECT_KEY)) {
            findings.push(at(format!("{pointer}/{EFFECT_KEY}"), e));
        }
        if let Err(e) = spec_docs(extension(DOCS_KEY)) {
            findings.push(at(format!("{pointer}/{DOCS_KEY}"), e));
        }
        let security_pointer = if raw.and_then(|o| o.get("security")).is_some() {
            format!("{pointer}/security")
        } else {
            "/security".to_owned()
        };
        let complete = |requirement: &Vec<trillet_spec::SecurityScheme>| {
            let headers: Vec<String> = requirement
                .iter()
                .filter(is_header_key)
                .filter_map(|s| s.parameter.as_deref().map(str::to_ascii_lowercase))
                .collect();
            SECURITY_HEADERS
                .iter()
                .all(|h| headers.iter().any(|x| x == h))
        };
        if op.security.is_empty() || !op.security.iter().all(complete) {
            findings.push(at(
                security_pointer,
                format!(
                    "every security requirement must require both {} and {} together",
                    SECURITY_HEADERS[0], SECURITY_HEADERS[1]
                ),
            ));
        }
    }
}

fn check_descriptions(
    doc: &Value,
    findings: &mut Vec<Finding>,
    at: &impl Fn(String, String) -> Finding,
) {
    let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return;
    };
    for (name, schema) in schemas {
        let pointer = format!("/components/schemas/{}", escape_pointer(name));
        if !has_description(doc, schema) {
            findings.push(at(
                pointer.clone(),
                format!("schema `{name}` has no description"),
            ));
        }
        walk_properties(doc, schema, &pointer, findings, at);
    }
}

fn walk_properties(
    doc: &Value,
    schema: &Value,
    pointer: &str,
    findings: &mut Vec<Finding>,
    at: &impl Fn(String, String) -> Finding,
) {
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (prop, prop_schema) in props {
            let prop_pointer = format!("{pointer}/properties/{}", escape_pointer(prop));
            if !has_description(doc, prop_schema) {
                findings.push(at(
                    prop_pointer.clone(),
                    format!("property `{prop}` has no description"),
                ));
            }
            walk_properties(doc, prop_schema, &prop_pointer, findings, at);
        }
    }
    if let Some(items) = schema.get("items") {
        walk_properties(doc, items, &format!("{pointer}/items"), findings, at);
    }
}

/// A schema is described by its own `description` or by its `$ref` target's.
fn has_description(doc: &Value, schema: &Value) -> bool {
    let described = |s: &Value| {
        s.get("description")
            .and_then(Value::as_str)
            .is_some_and(|d| !d.trim().is_empty())
    };
    described(schema) || trillet_spec::resolve(doc, schema).is_ok_and(described)
}

fn check_inline_examples(
    spec: &Spec,
    findings: &mut Vec<Finding>,
    at: &impl Fn(String, String) -> Finding,
) {
    for example in spec.inline_examples() {
        let Some(schema) = example.schema else {
            findings.push(at(
                example.pointer,
                "example has no schema to check it against".into(),
            ));
            continue;
        };
        // Validated in the context of the whole spec, so `$ref`s resolve.
        let validator = match spec.validator_of(&example.pointer, &schema) {
            Ok(v) => v,
            Err(e) => {
                findings.push(at(example.pointer, e.to_string()));
                continue;
            }
        };
        for problem in validator.problems(&example.value) {
            findings.push(at(
                format!("{}{}", example.pointer, problem.pointer),
                format!("example does not match its schema: {}", problem.message),
            ));
        }
    }
}

fn check_example_files(spec: &Spec, files: &[(String, String)], findings: &mut Vec<Finding>) {
    let seed_inline = spec.document().pointer(
        "/paths/~1v2~1api~1call-history~1{callHistoryId}/get/responses/200/content/application~1json/example",
    );
    for (name, text) in files {
        let file = format!("spec/examples/{name}");
        let problem = |pointer: String, message: String| Finding {
            file: file.clone(),
            pointer,
            message,
        };
        let Some(schema_name) = schema_for_example_file(name) else {
            findings.push(problem(
                String::new(),
                "unknown example kind: name it call-history.*.json or error.<status>.json".into(),
            ));
            continue;
        };
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                findings.push(problem(String::new(), format!("not valid JSON: {e}")));
                continue;
            }
        };
        let validator = match spec.validator(schema_name) {
            Ok(v) => v,
            Err(e) => {
                findings.push(problem(String::new(), e.to_string()));
                continue;
            }
        };
        for p in validator.problems(&value) {
            findings.push(problem(
                p.pointer,
                format!("does not match {schema_name}: {}", p.message),
            ));
        }
        if name == "call-history.seed.json" && seed_inline != Some(&value) {
            findings.push(problem(
                String::new(),
                "differs from the 200 example inline in the spec; they must be the same record"
                    .into(),
            ));
        }
    }
    for required in ["call-history.seed.json", "call-history.minimal.json"] {
        if !files.iter().any(|(n, _)| n == required) {
            findings.push(Finding {
                file: format!("spec/examples/{required}"),
                pointer: String::new(),
                message: "missing example file".into(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_text() -> String {
        trillet_spec::SPEC_YAML.to_owned()
    }

    fn example_files() -> Vec<(String, String)> {
        trillet_spec::EXAMPLE_FILES
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect()
    }

    fn pointers(findings: &[Finding]) -> Vec<String> {
        findings
            .iter()
            .map(|f| format!("{}#{}", f.file, f.pointer))
            .collect()
    }

    #[test]
    fn the_checked_in_spec_and_examples_pass() {
        assert_eq!(lint(&spec_text(), &example_files()), vec![]);
    }

    #[test]
    fn a_broken_example_file_is_reported_with_its_pointer() {
        let mut files = example_files();
        let seed = files
            .iter_mut()
            .find(|(n, _)| n == "call-history.ongoing.json")
            .unwrap();
        seed.1 = seed.1.replace("1737062894.9754236", "\"abc\"");
        let findings = lint(&spec_text(), &files);
        assert_eq!(
            pointers(&findings),
            vec!["spec/examples/call-history.ongoing.json#/startTime"],
            "{findings:?}"
        );
    }

    #[test]
    fn a_broken_inline_example_is_reported_with_its_pointer() {
        let broken =
            spec_text().replace("reset_at: \"2024-01-22T15:30:00Z\"", "reset_at: \"soon\"");
        let findings = lint(&broken, &example_files());
        assert_eq!(
            pointers(&findings),
            vec![
                "spec/trillet.yaml#/components/responses/RateLimited/content/application~1json/example/error/reset_at"
            ],
            "{findings:?}"
        );
    }

    #[test]
    fn the_seed_file_must_equal_the_inline_200_example() {
        let mut files = example_files();
        let seed = files
            .iter_mut()
            .find(|(n, _)| n == "call-history.seed.json")
            .unwrap();
        seed.1 = seed.1.replace("web-1234abcd", "web-0000");
        let findings = lint(&spec_text(), &files);
        assert_eq!(
            pointers(&findings),
            vec!["spec/examples/call-history.seed.json#"]
        );
    }

    #[test]
    fn a_property_without_description_is_reported() {
        let broken = spec_text().replacen(
            "          description: A short summary of the conversation.\n",
            "",
            1,
        );
        let findings = lint(&broken, &example_files());
        assert_eq!(
            pointers(&findings),
            vec!["spec/trillet.yaml#/components/schemas/CallHistory/properties/summary"]
        );
    }

    #[test]
    fn both_security_headers_must_be_required_together() {
        // The first operation in the file is the list operation.
        let broken = spec_text().replacen("          workspaceId: []\n", "", 1);
        let findings = lint(&broken, &example_files());
        assert_eq!(
            pointers(&findings),
            vec!["spec/trillet.yaml#/paths/~1v2~1api~1call-history/get/security"]
        );
    }

    #[test]
    fn duplicate_operation_ids_are_reported() {
        let doubled = spec_text().replace(
            "components:\n",
            "  /v2/api/call-history-copy/{callHistoryId}:\n    get:\n      operationId: get_call_history\n      x-trillet-effect: read\n      x-trillet-docs: [\"https://docs.trillet.ai/x\"]\n      security: [{apiKey: [], workspaceId: []}]\n      parameters: [{name: callHistoryId, in: path, required: true, schema: {type: string}}]\n      responses: {\"200\": {description: ok}}\ncomponents:\n",
        );
        let findings = lint(&doubled, &example_files());
        // Paths are visited in sorted order: the copy sorts first, so the original is the duplicate.
        assert_eq!(
            pointers(&findings),
            vec![
                "spec/trillet.yaml#/paths/~1v2~1api~1call-history~1{callHistoryId}/get/operationId"
            ]
        );
        assert!(
            findings[0].message.contains("call-history-copy"),
            "{findings:?}"
        );
    }

    #[test]
    fn every_operation_must_say_its_effect_and_its_source_page() {
        let text = spec_text();
        let effect = "x-trillet-effect: read";
        assert!(text.contains(effect), "the spec has no effect to remove");
        let unknown = lint(
            &text.replacen(effect, "x-trillet-effect: reads", 1),
            &example_files(),
        );
        assert_eq!(unknown.len(), 1, "{unknown:?}");
        assert!(
            unknown[0].pointer.ends_with("/x-trillet-effect"),
            "{unknown:?}"
        );
        assert!(
            unknown[0].message.contains("unknown effect \"reads\""),
            "{unknown:?}"
        );
        let missing = lint(&text.replacen(effect, "", 1), &example_files());
        assert!(
            missing
                .iter()
                .any(|f| f.message.contains("no x-trillet-effect")),
            "{missing:?}"
        );
        let docs = text
            .find("x-trillet-docs:")
            .expect("the spec names its pages");
        let undocumented = format!(
            "{}x-trillet-docs-gone:{}",
            &text[..docs],
            &text[docs + 15..]
        );
        let findings = lint(&undocumented, &example_files());
        assert!(
            findings
                .iter()
                .any(|f| f.pointer.ends_with("/x-trillet-docs")),
            "{findings:?}"
        );
    }

    #[test]
    fn an_unparsable_spec_is_one_clear_finding() {
        let findings = lint("openapi: [", &example_files());
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0].message.contains("not a valid OpenAPI"),
            "{findings:?}"
        );
    }
}
