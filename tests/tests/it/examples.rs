//! Property 6: every example the spec ships decodes as its model and re-encodes
//! equal in value: the files in `spec/examples/` (read from disk, so a new file is
//! picked up without a code change) and the examples written inline in the spec,
//! the reference page's seed record first among them.

use serde_json::Value;
use trillet_tests::canonical::first_difference;

/// Decodes `text` as the model of `schema`, re-encodes it and compares in value.
fn round_trips(schema: &str, text: &str) -> Result<(), String> {
    let input: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let output = trillet_tests::models::round_trip(schema, text)
        .ok_or_else(|| format!("no model type is registered for `{schema}`"))??;
    let canonical = trillet_tests::canonical();
    let (expected, actual) = (
        canonical.component(schema, &input),
        canonical.component(schema, &output),
    );
    match first_difference(&expected, &actual) {
        None => Ok(()),
        Some(at) => Err(format!(
            "re-encoded differently at {at}\n  output: {output}"
        )),
    }
}

#[test]
fn every_example_file_decodes_and_re_encodes_equal_in_value() {
    let dir = trillet_spec::spec_dir().join("examples");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(
        names.contains(&"call-history.seed.json".to_owned()),
        "{names:?}"
    );
    let mut failures = Vec::new();
    for name in &names {
        let Some(schema) = trillet_spec::schema_for_example_file(name) else {
            failures.push(format!(
                "{name}: its name does not say which schema it follows"
            ));
            continue;
        };
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        if let Err(e) = round_trips(schema, &text) {
            failures.push(format!("{name} ({schema}): {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The component a schema names: `$ref` to it (`Some((name, false))`), or an array
/// of it (`Some((name, true))`).
fn named_component(schema: &Value) -> Option<(String, bool)> {
    let name = |s: &Value| {
        s.get("$ref")?
            .as_str()?
            .strip_prefix("#/components/schemas/")
            .map(str::to_owned)
    };
    match name(schema) {
        Some(n) => Some((n, false)),
        None if schema.get("type") == Some(&Value::from("array")) => {
            Some((name(schema.get("items")?)?, true))
        }
        None => None,
    }
}

#[test]
fn every_inline_example_of_the_spec_decodes_and_re_encodes_equal_in_value() {
    let spec = trillet_tests::spec();
    let mut checked = Vec::new();
    let mut failures = Vec::new();
    for example in spec.inline_examples() {
        // The component an example belongs to: the schema beside it (a `$ref`, or an
        // array of one), or the component it is written in.
        let by_schema = example.schema.as_ref().and_then(named_component);
        let by_place = example
            .pointer
            .strip_prefix("/components/schemas/")
            .and_then(|rest| rest.strip_suffix("/example"))
            .filter(|name| !name.contains('/'))
            .map(|name| (name.to_owned(), false));
        let Some((schema, many)) = by_schema.or(by_place) else {
            continue; // parameters and headers: plain strings, no model
        };
        let items = match (&example.value, many) {
            (Value::Array(items), true) => items.clone(),
            (value, _) => vec![value.clone()],
        };
        for (i, item) in items.iter().enumerate() {
            if let Err(e) = round_trips(&schema, &item.to_string()) {
                failures.push(format!("{} [{i}] ({schema}): {e}", example.pointer));
            }
        }
        checked.push((example.pointer, schema));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for schema in ["CallHistory", "CallHistorySummary", "ErrorEnvelope"] {
        assert!(
            checked.iter().any(|(_, s)| s == schema),
            "no inline example of {schema} was checked: {checked:?}"
        );
    }
}

#[test]
fn the_seed_file_is_the_specs_inline_example_of_a_call_history_response() {
    let seed = trillet_tests::example("call-history.seed.json");
    let inline: Vec<Value> = trillet_tests::spec()
        .inline_examples()
        .into_iter()
        .filter(|e| e.pointer.contains("/responses/200/"))
        .filter(|e| {
            e.schema.as_ref().and_then(named_component) == Some(("CallHistory".into(), false))
        })
        .map(|e| e.value)
        .collect();
    assert_eq!(inline, vec![seed]);
}
