//! Helpers shared by the workspace-level tests in `tests/tests/it/`.
//!
//! - [`strategy`]: JSON Schema → proptest strategies (spec-valid values);
//! - [`canonical`]: "equal in value" as the spec defines the values;
//! - [`shape`]: the shape of a schema, to compare the spec with the model's `schemars` schema;
//! - [`check`]: the round-trip and conformance checks, generic over the model type;
//! - [`models`]: which generated type models which spec component.

pub mod canonical;
pub mod check;
pub mod models;
pub mod shape;
pub mod strategy;

use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex};

use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence};
use serde_json::Value;
use trillet_spec::{SchemaValidator, Spec};

/// Whether two JSON values are equal, comparing numbers by value (`1680000000`
/// equals `1680000000.0`) and date-time strings by the instant they name
/// (`2025-01-16T21:28:14+01:00` equals `2025-01-16T20:28:14Z`).
///
/// Schema-blind; [`canonical::Canonical`] applies these rules only where the spec
/// types a value as a number or a date-time.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(x), Value::String(y)) => x == y || same_instant(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn same_instant(a: &str, b: &str) -> bool {
    match (canonical::rfc3339_instant(a), canonical::rfc3339_instant(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// The example files compiled into `trillet-spec`, parsed.
pub fn example(name: &str) -> Value {
    let text = trillet_spec::EXAMPLE_FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .unwrap_or_else(|| panic!("no example file named {name}"));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

/// `spec/trillet.yaml`, read from disk when the tests run.
pub fn spec() -> &'static Spec {
    static SPEC: LazyLock<Spec> = LazyLock::new(|| {
        let path = trillet_spec::spec_dir().join("trillet.yaml");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        Spec::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    });
    &SPEC
}

/// Strategies generating instances of the spec's schemas.
pub fn strategies() -> strategy::SchemaStrategies {
    strategy::SchemaStrategies::for_spec(spec())
}

/// Canonical forms of instances of the spec's schemas.
pub fn canonical() -> &'static canonical::Canonical {
    static CANONICAL: LazyLock<canonical::Canonical> =
        LazyLock::new(|| canonical::Canonical::for_spec(spec()));
    &CANONICAL
}

/// A validator for `components/schemas/<name>` of the spec (built once per name).
pub fn validator(name: &str) -> &'static SchemaValidator {
    static CACHE: LazyLock<Mutex<BTreeMap<String, &'static SchemaValidator>>> =
        LazyLock::new(Mutex::default);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache.entry(name.to_owned()).or_insert_with(|| {
        let validator = spec()
            .validator(name)
            .unwrap_or_else(|e| panic!("no validator for {name}: {e}"));
        Box::leak(Box::new(validator))
    })
}

/// The number of cases a property runs: `PROPTEST_CASES` if set, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The configuration of the suite's properties: [`cases`]`(default)` cases, failures
/// persisted beside the test source (`tests/tests/it/<file>.regressions`, checked in).
pub fn config(default_cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default_cases),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    }
}

/// The workspace README's Rust examples, compiled (and run, unless marked
/// `no_run`) by `cargo test --doc -p trillet-tests`.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;
