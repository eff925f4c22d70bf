//! Properties of the generated record models, checked on records generated from
//! `spec/trillet.yaml` by the schema translator (`trillet_tests::strategy`): change
//! the spec and the inputs change with it.
//!
//! Properties 1–4 run on every component schema of the spec, through the table of
//! models the generator writes (`trillet_api::COMPONENTS`): a schema added to the
//! spec is covered once it is generated.
//!
//! Cases: 256 per property and component (the decoder-robustness ones 1024), or
//! `PROPTEST_CASES`.
//! Failures are saved in `tests/tests/it/properties.regressions` and replayed first.

use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use serde_json::Value;
use trillet_api::components::Component;
use trillet_api::types::{CallHistory, CallHistorySummary, ErrorEnvelope};
use trillet_tests::check;
use trillet_tests::shape::{Shape, drift};

/// Instances of a component the spec admits.
fn valid(schema: &str) -> BoxedStrategy<Value> {
    trillet_tests::strategies()
        .component(schema)
        .unwrap_or_else(|e| panic!("the translator cannot read the spec: {e}"))
}

/// Instances that are almost valid: some nodes replaced by arbitrary JSON.
fn perturbed(schema: &str) -> BoxedStrategy<Value> {
    trillet_tests::strategies()
        .perturbed(schema)
        .unwrap_or_else(|e| panic!("the translator cannot read the spec: {e}"))
}

/// Every component schema of the spec with its generated model; a component the
/// generated crate does not model fails here (run `cargo xtask codegen`).
fn components() -> Vec<&'static Component> {
    let spec = trillet_tests::spec();
    let names = spec.schema_names();
    let missing: Vec<&&str> = names
        .iter()
        .filter(|n| trillet_tests::models::component(n).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "no generated model for {missing:?}: run `cargo xtask codegen`"
    );
    names
        .iter()
        .filter_map(|n| trillet_tests::models::component(n))
        .collect()
}

/// Runs `property` on `cases` inputs from `strategy` for every component, each
/// with its own runner (failures persisted beside this file), and reports every
/// component that fails, with its shrunk counterexample.
fn for_every_component(
    cases: u32,
    strategy: impl Fn(&str) -> BoxedStrategy<Value>,
    property: impl Fn(&Component, &Value) -> Result<(), TestCaseError>,
) {
    let mut failures = Vec::new();
    let all = components();
    for component in &all {
        let mut config = trillet_tests::config(cases);
        config.source_file = Some(file!());
        let mut runner = TestRunner::new(config);
        if let Err(e) = runner.run(&strategy(component.name()), |input| {
            property(component, &input)
        }) {
            failures.push(format!("{}: {e}", component.name()));
        }
    }
    assert!(all.len() >= 2, "the spec's components were not enumerated");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Property 1, for every component: every instance the spec admits decodes and
/// re-encodes equal in value.
#[test]
fn every_instance_the_spec_admits_decodes_and_re_encodes_equal_in_value() {
    for_every_component(256, valid, check::component_re_encodes_equal_in_value);
}

/// Property 2, for every component: a model survives its own JSON text.
#[test]
fn every_model_survives_encoding_to_json_text_and_decoding_unchanged() {
    for_every_component(256, valid, |component, input| {
        check::component_re_encodes_equal_in_value(component, input)?;
        check::component_survives_encoding_and_decoding(component, input)
    });
}

/// Property 3, for every component: what a model encodes is valid against the spec,
/// for valid and almost-valid inputs.
#[test]
fn every_instance_a_model_encodes_is_valid_against_the_spec() {
    for_every_component(
        256,
        |name| prop_oneof![valid(name), perturbed(name)].boxed(),
        check::component_encodes_only_spec_valid_json,
    );
}

proptest! {
    #![proptest_config(trillet_tests::config(256))]

    /// Property 1 through the wrapper: `trillet::decode_call_history` gives the same
    /// record as the model for every record the spec admits.
    #[test]
    fn the_wrapper_decodes_every_record_the_spec_admits_as_the_model_does(
        input in valid("CallHistory")
    ) {
        let model =
            check::decodes_and_re_encodes_equal_in_value::<CallHistory>("CallHistory", &input)?;
        let wrapper = trillet::decode_call_history(input.to_string().as_bytes());
        prop_assert_eq!(wrapper.ok(), Some(model));
    }
}

/// Bytes a decoder may be handed: random bytes, and the text of valid and almost
/// valid records cut short, with bytes flipped or inserted.
fn hostile_bytes() -> BoxedStrategy<Vec<u8>> {
    let texts = prop_oneof![
        valid("CallHistory"),
        perturbed("CallHistory"),
        perturbed("CallHistorySummary"),
        perturbed("ErrorEnvelope"),
    ]
    .prop_map(|v| v.to_string().into_bytes());
    let edits =
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 0..4);
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..256),
        3 => (texts, edits).prop_map(|(mut bytes, edits)| {
            for (at, byte, how) in edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at.index(bytes.len());
                match how {
                    0 => bytes.truncate(i),
                    1 => bytes[i] ^= byte.max(1),
                    _ => bytes.insert(i, byte),
                }
            }
            bytes
        }),
    ]
    .boxed()
}

/// Runs every decoder of a response body the workspace has on `bytes`; the wrapper's
/// `decode_call_history` must accept exactly what the model accepts, as the same record.
fn decode_everything(bytes: &[u8]) -> Result<(), TestCaseError> {
    let _ = serde_json::from_slice::<ErrorEnvelope>(bytes);
    let _ = serde_json::from_slice::<CallHistorySummary>(bytes);
    let _ = serde_json::from_slice::<Vec<CallHistorySummary>>(bytes);
    let model = serde_json::from_slice::<CallHistory>(bytes).ok();
    let wrapper = trillet::decode_call_history(bytes).ok();
    prop_assert_eq!(
        wrapper,
        model,
        "trillet::decode_call_history and the model disagree on {:?}",
        String::from_utf8_lossy(bytes)
    );
    Ok(())
}

fn decode_values(input: &Value) {
    let _ = serde_json::from_value::<CallHistory>(input.clone());
    let _ = serde_json::from_value::<CallHistorySummary>(input.clone());
    let _ = serde_json::from_value::<ErrorEnvelope>(input.clone());
}

proptest! {
    #![proptest_config(trillet_tests::config(1024))]

    /// Property 5, bytes.
    #[test]
    fn arbitrary_bytes_never_panic_a_decoder(bytes in hostile_bytes()) {
        decode_everything(&bytes)?;
    }

    /// Property 5, JSON values (decoded from a `Value` as well as from its text).
    #[test]
    fn arbitrary_json_never_panics_a_decoder(
        input in prop_oneof![
            trillet_tests::strategies().any_json(),
            perturbed("CallHistory"),
            perturbed("CallHistorySummary"),
        ]
    ) {
        decode_values(&input);
        decode_everything(input.to_string().as_bytes())?;
    }
}

/// Property 4: the schema `schemars` derives from the generated types has the shape
/// of the spec's schema (property names, required names, JSON types, enum values,
/// formats, unknown keys kept), for every component with a model type.
#[test]
fn the_models_schema_has_the_same_shape_as_the_specs() {
    let spec = trillet_tests::spec();
    let mut problems = Vec::new();
    for component in components() {
        let (name, model) = (component.name(), component.json_schema());
        let spec_shape = Shape::of(spec.document(), spec.schema(name).unwrap());
        let model_shape = Shape::of(&model, &model);
        problems.extend(
            drift(&spec_shape, &model_shape)
                .into_iter()
                .map(|d| format!("{name}{d}")),
        );
    }
    assert!(
        problems.is_empty(),
        "the generated models have drifted from the spec (run `cargo xtask codegen`, or fix the hand-written types):\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn every_spec_component_has_a_model_type() {
    let names: Vec<&str> = components().iter().map(|c| c.name()).collect();
    assert_eq!(names, trillet_tests::spec().schema_names());
}
