//! The generated models carry the records the spec allows, losslessly in value.

use serde_json::{Value, json};
use trillet_api::types::{CallHistory, ErrorEnvelope};
use trillet_api::{Direction, Status};
use trillet_tests::{example, json_eq};

fn round_trip(value: &Value) -> (CallHistory, Value) {
    let record: CallHistory = serde_json::from_value(value.clone()).expect("decodes");
    let back = serde_json::to_value(&record).expect("encodes");
    (record, back)
}

#[test]
fn the_seed_example_decodes_and_re_encodes_equal_in_value() {
    let seed = example("call-history.seed.json");
    let (record, back) = round_trip(&seed);
    assert_eq!(record.id.as_deref(), Some("1234567890abcdef"));
    assert_eq!(record.direction, Some(Direction::Outbound));
    assert_eq!(record.status, Some(Status::Completed));
    assert_eq!(record.start_time, Some(1_680_000_000.0));
    assert_eq!(
        record.cost.as_ref().and_then(|c| c.customer_charge),
        Some(0.10)
    );
    // Empty `metadata`/`functionCalls` are skipped on encode; the rest is equal in value.
    let mut expected = seed.clone();
    let obj = expected.as_object_mut().unwrap();
    obj.remove("metadata");
    obj.remove("functionCalls");
    assert!(
        json_eq(&back, &expected),
        "re-encoded:\n{back:#}\nexpected:\n{expected:#}"
    );
}

#[test]
fn unknown_enum_values_unknown_fields_and_open_object_keys_are_kept() {
    let input = example("call-history.unknown-fields.json");
    let (record, back) = round_trip(&input);
    assert_eq!(record.direction, Some(Direction::Bidirectional));
    assert_eq!(record.status, Some(Status::Active));
    assert!(record.extra.contains_key("recordingUrl"));
    assert!(record.extra.contains_key("transcript"));
    let analyzed = record.analyzed_data.as_ref().unwrap();
    assert_eq!(
        analyzed.extra.get("answered_by_voicemail"),
        Some(&json!(false))
    );
    assert_eq!(record.function_calls[0].get("latencyMs"), Some(&json!(812)));
    assert_eq!(
        record.cost.as_ref().unwrap().extra.get("currency"),
        Some(&json!("USD"))
    );
    assert!(
        json_eq(&back, &input),
        "re-encoded:\n{back:#}\ninput:\n{input:#}"
    );
}

#[test]
fn values_outside_the_listed_sets_decode_and_are_kept() {
    let input = json!({"_id": "x", "direction": "transfer", "status": "voicemail-left"});
    let (record, back) = round_trip(&input);
    assert_eq!(
        record.direction,
        Some(Direction::Unknown("transfer".into()))
    );
    assert_eq!(
        record.status,
        Some(Status::Unknown("voicemail-left".into()))
    );
    assert_eq!(back, input);
}

#[test]
fn a_record_with_only_an_id_decodes() {
    let (record, back) = round_trip(&example("call-history.minimal.json"));
    assert_eq!(record.id.as_deref(), Some("65a7f3c2e4b0a1d2c3f4e5a8"));
    assert!(record.end_time.is_none() && record.direction.is_none());
    assert_eq!(back, example("call-history.minimal.json"));
}

#[test]
fn an_ongoing_call_without_end_time_keeps_its_fractional_start() {
    let (record, _) = round_trip(&example("call-history.ongoing.json"));
    assert_eq!(record.start_time, Some(1_737_062_894.975_423_6));
    assert_eq!(record.end_time, None);
    assert_eq!(record.status, Some(Status::Ongoing));
}

#[test]
fn wrong_types_are_decode_errors_not_panics() {
    for bad in [
        json!({"startTime": "abc"}),
        json!({"cost": 3}),
        json!([]),
        json!({"createdAt": "yesterday"}),
    ] {
        assert!(
            serde_json::from_value::<CallHistory>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn every_error_example_decodes_as_an_envelope_and_round_trips() {
    for (name, text) in trillet_spec::EXAMPLE_FILES
        .iter()
        .filter(|(n, _)| n.starts_with("error."))
    {
        let input: Value = serde_json::from_str(text).unwrap();
        let envelope: ErrorEnvelope = serde_json::from_value(input.clone()).unwrap();
        assert!(!envelope.error.code.is_empty(), "{name}");
        let back = serde_json::to_value(&envelope).unwrap();
        assert!(json_eq(&back, &input), "{name}: {back}");
    }
    let limited: ErrorEnvelope = serde_json::from_value(example("error.429.json")).unwrap();
    assert_eq!(
        limited.error.reset_at.map(|t| t.to_rfc3339()),
        Some("2024-01-22T15:30:00+00:00".into())
    );
}
