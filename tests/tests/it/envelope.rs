//! The error envelope (`ErrorEnvelope` in the spec) round-trips like the record does:
//! with and without `reset_at`, with extra keys beside `error` and inside it.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};
use trillet_api::types::ErrorEnvelope;
use trillet_tests::check;

const SCHEMA: &str = "ErrorEnvelope";

fn envelopes() -> BoxedStrategy<Value> {
    trillet_tests::strategies()
        .component(SCHEMA)
        .unwrap_or_else(|e| panic!("the translator cannot read the spec: {e}"))
}

proptest! {
    #![proptest_config(trillet_tests::config(256))]

    #[test]
    fn every_envelope_the_spec_admits_decodes_and_re_encodes_equal_in_value(input in envelopes()) {
        check::decodes_and_re_encodes_equal_in_value::<ErrorEnvelope>(SCHEMA, &input)?;
    }

    #[test]
    fn an_envelope_survives_encoding_to_json_text_and_decoding_unchanged(input in envelopes()) {
        let model = check::decodes_and_re_encodes_equal_in_value::<ErrorEnvelope>(SCHEMA, &input)?;
        check::survives_encoding_and_decoding(SCHEMA, &model)?;
    }

    #[test]
    fn every_envelope_the_model_encodes_is_valid_against_the_spec(
        input in prop_oneof![envelopes(), trillet_tests::strategies().perturbed(SCHEMA).unwrap()]
    ) {
        check::encodes_only_spec_valid_json::<ErrorEnvelope>(SCHEMA, &input)?;
    }
}

/// The generated envelopes cover what the properties are meant to cover.
#[test]
fn generated_envelopes_come_with_and_without_reset_at_and_with_extra_keys_at_both_levels() {
    let strategy = envelopes();
    let mut runner = TestRunner::deterministic();
    let (mut with_reset, mut without_reset, mut extra_outside, mut extra_inside) = (0, 0, 0, 0);
    for _ in 0..256 {
        let v = strategy.new_tree(&mut runner).unwrap().current();
        let error = v["error"].as_object().unwrap();
        if error.contains_key("reset_at") {
            with_reset += 1;
        } else {
            without_reset += 1;
        }
        extra_outside += usize::from(v.as_object().unwrap().len() > 1);
        extra_inside += usize::from(
            error
                .keys()
                .any(|k| !["code", "message", "reset_at"].contains(&k.as_str())),
        );
    }
    for (what, n) in [
        ("with reset_at", with_reset),
        ("without reset_at", without_reset),
        ("with extra keys beside `error`", extra_outside),
        ("with extra keys inside `error`", extra_inside),
    ] {
        assert!(n >= 32, "only {n} of 256 generated envelopes are {what}");
    }
}

#[test]
fn a_rate_limit_envelope_keeps_its_reset_time_and_extra_keys() {
    let input = json!({
        "error": {
            "code": "rate_limit_exceeded",
            "message": "Too many requests",
            "reset_at": "2024-01-22T16:30:00.5+01:00",
            "retry_after_seconds": 30
        },
        "request_id": "req_1"
    });
    let envelope =
        check::decodes_and_re_encodes_equal_in_value::<ErrorEnvelope>(SCHEMA, &input).unwrap();
    assert_eq!(
        envelope.error.reset_at.map(|t| t.to_rfc3339()),
        Some("2024-01-22T15:30:00.500+00:00".into())
    );
    assert_eq!(envelope.error.extra["retry_after_seconds"], json!(30));
    assert_eq!(envelope.extra["request_id"], json!("req_1"));
}

#[test]
fn an_envelope_without_reset_at_encodes_without_it() {
    let input = json!({"error": {"code": "not_found", "message": "Call history not found."}});
    let envelope =
        check::decodes_and_re_encodes_equal_in_value::<ErrorEnvelope>(SCHEMA, &input).unwrap();
    assert_eq!(envelope.error.reset_at, None);
    assert_eq!(serde_json::to_value(&envelope).unwrap(), input);
}

#[test]
fn an_envelope_without_its_required_parts_is_a_decode_error() {
    for bad in [
        json!({}),
        json!({"error": {"code": "x"}}),
        json!({"error": {"message": "x"}}),
        json!({"error": {"code": "x", "message": "y", "reset_at": "soon"}}),
    ] {
        assert!(
            serde_json::from_value::<ErrorEnvelope>(bad.clone()).is_err(),
            "{bad}"
        );
        assert!(!trillet_tests::validator(SCHEMA).is_valid(&bad), "{bad}");
    }
}
