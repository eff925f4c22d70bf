//! Properties of the generated record models, checked on records generated from
//! `spec/trillet.yaml` by the schema translator (`trillet_tests::strategy`): change
//! the spec and the inputs change with it.
//!
//! Cases: 256 per property (the decoder-robustness ones 1024), or `PROPTEST_CASES`.
//! Failures are saved in `tests/tests/properties.regressions` and replayed first.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::Value;
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

/// Properties 1–3 for the model `$ty` of the spec component `$schema`.
macro_rules! record_properties {
    ($module:ident, $schema:literal, $ty:ty) => {
        mod $module {
            use super::*;

            const SCHEMA: &str = $schema;

            proptest! {
                #![proptest_config(trillet_tests::config(256))]

                /// Property 1.
                #[test]
                fn every_record_the_spec_admits_decodes_and_re_encodes_equal_in_value(
                    input in valid(SCHEMA)
                ) {
                    check::decodes_and_re_encodes_equal_in_value::<$ty>(SCHEMA, &input)?;
                }

                /// Property 2.
                #[test]
                fn a_record_survives_encoding_to_json_text_and_decoding_unchanged(
                    input in valid(SCHEMA)
                ) {
                    let model = check::decodes_and_re_encodes_equal_in_value::<$ty>(SCHEMA, &input)?;
                    check::survives_encoding_and_decoding(SCHEMA, &model)?;
                }

                /// Property 3.
                #[test]
                fn every_record_the_model_encodes_is_valid_against_the_spec(
                    input in prop_oneof![valid(SCHEMA), perturbed(SCHEMA)]
                ) {
                    check::encodes_only_spec_valid_json::<$ty>(SCHEMA, &input)?;
                }
            }
        }
    };
}

record_properties!(call_history, "CallHistory", CallHistory);
record_properties!(
    call_history_summary,
    "CallHistorySummary",
    CallHistorySummary
);

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
    for name in spec.schema_names() {
        let Some(model) = trillet_tests::models::model_schema(name) else {
            continue; // `every_spec_component_has_a_model_type` reports it
        };
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
    let missing: Vec<&str> = trillet_tests::spec()
        .schema_names()
        .into_iter()
        .filter(|n| !trillet_tests::models::COMPONENTS.contains(n))
        .collect();
    assert!(
        missing.is_empty(),
        "register the generated type of {missing:?} in tests/src/models.rs"
    );
}
