//! The schema translator (`trillet_tests::strategy`) is sound and thorough on the
//! spec: what it generates is valid against the spec, and covers what the
//! properties are meant to exercise.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::Value;

fn component(name: &str) -> BoxedStrategy<Value> {
    trillet_tests::strategies()
        .component(name)
        .unwrap_or_else(|e| panic!("the translator cannot read the spec: {e}"))
}

fn sample(name: &str, n: usize) -> Vec<Value> {
    let strategy = component(name);
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).expect("a value").current())
        .collect()
}

/// Every component of the spec, paired with its generated instances.
fn every_component() -> BoxedStrategy<(String, Value)> {
    let strategies: Vec<_> = trillet_tests::spec()
        .schema_names()
        .into_iter()
        .map(|name| {
            let name = name.to_owned();
            component(&name).prop_map(move |v| (name.clone(), v))
        })
        .collect();
    proptest::strategy::Union::new(strategies).boxed()
}

proptest! {
    #![proptest_config(trillet_tests::config(256))]

    #[test]
    fn every_generated_instance_of_every_component_is_valid_against_the_spec(
        (name, input) in every_component()
    ) {
        let problems = trillet_tests::validator(&name).problems(&input);
        prop_assert!(problems.is_empty(), "{name}: {input}: {problems:?}");
    }

    #[test]
    fn every_generated_record_is_valid_against_the_spec(input in component("CallHistory")) {
        let problems = trillet_tests::validator("CallHistory").problems(&input);
        prop_assert!(problems.is_empty(), "{input}: {problems:?}");
    }
}

#[test]
fn the_translator_reads_every_component_of_the_spec() {
    let strategies = trillet_tests::strategies();
    for name in trillet_tests::spec().schema_names() {
        let _ = strategies
            .component(name)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let _ = strategies
            .perturbed(name)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn generated_instances_leave_out_and_include_every_optional_property() {
    let spec = trillet_tests::spec();
    for name in spec.schema_names() {
        let schema = spec.schema(name).unwrap();
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
            continue;
        };
        let required: Vec<&Value> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().collect())
            .unwrap_or_default();
        let instances = sample(name, 256);
        for property in properties.keys() {
            let present = instances
                .iter()
                .filter(|r| r.get(property).is_some())
                .count();
            if required.contains(&&Value::from(property.as_str())) {
                assert_eq!(present, 256, "required `{name}.{property}`");
            } else {
                assert!(
                    (32..=224).contains(&present),
                    "`{name}.{property}` is present in {present} of 256 instances"
                );
            }
        }
    }
}

#[test]
fn generated_records_carry_what_the_round_trip_must_keep() {
    let records = sample("CallHistory", 512);
    let spec = trillet_tests::spec();
    let declared: BTreeSet<&String> = spec.schema("CallHistory").unwrap()["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    let count = |what: &dyn Fn(&Value) -> bool| records.iter().filter(|r| what(r)).count();
    let known_directions = ["inbound", "outbound", "bidirectional"];
    let checks: Vec<(&str, usize)> = vec![
        (
            "unknown top-level keys",
            count(&|r| r.as_object().unwrap().keys().any(|k| !declared.contains(k))),
        ),
        (
            "unknown keys in cost",
            count(&|r| {
                r["cost"]
                    .as_object()
                    .is_some_and(|c| c.keys().any(|k| k != "customer_charge"))
            }),
        ),
        (
            "a listed direction",
            count(&|r| {
                r["direction"]
                    .as_str()
                    .is_some_and(|d| known_directions.contains(&d))
            }),
        ),
        (
            "an unlisted direction",
            count(&|r| {
                r["direction"]
                    .as_str()
                    .is_some_and(|d| !known_directions.contains(&d))
            }),
        ),
        (
            "a fractional startTime",
            count(&|r| r["startTime"].as_f64().is_some_and(|t| t.fract() != 0.0)),
        ),
        (
            "a startTime beyond 2^53",
            count(&|r| {
                r["startTime"]
                    .as_f64()
                    .is_some_and(|t| t.abs() > 9_007_199_254_740_992.0)
            }),
        ),
        (
            "a createdAt with an offset",
            count(&|r| {
                r["createdAt"]
                    .as_str()
                    .is_some_and(|t| t.ends_with(|c: char| c.is_ascii_digit()))
            }),
        ),
        (
            "a non-ASCII summary",
            count(&|r| r["summary"].as_str().is_some_and(|s| !s.is_ascii())),
        ),
        (
            "non-empty functionCalls",
            count(&|r| r["functionCalls"].as_array().is_some_and(|a| !a.is_empty())),
        ),
        (
            "empty metadata",
            count(&|r| r["metadata"].as_object().is_some_and(|m| m.is_empty())),
        ),
    ];
    let missing: Vec<String> = checks
        .iter()
        .filter(|(_, n)| *n < 5)
        .map(|(what, n)| format!("{what}: {n} of 512"))
        .collect();
    assert!(missing.is_empty(), "too rarely generated: {missing:?}");
}

#[test]
fn perturbed_records_are_sometimes_invalid() {
    let strategy = trillet_tests::strategies()
        .perturbed("CallHistory")
        .unwrap();
    let mut runner = TestRunner::deterministic();
    let validator = trillet_tests::validator("CallHistory");
    let invalid = (0..256)
        .filter(|_| {
            !validator.is_valid(&strategy.new_tree(&mut runner).expect("a value").current())
        })
        .count();
    assert!((64..=250).contains(&invalid), "{invalid} of 256 invalid");
}
