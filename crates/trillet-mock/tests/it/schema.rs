//! Every record the mock serves is valid against the spec's `CallHistory` schema
//! and decodes with the generated `trillet_api::types::CallHistory`, and together
//! the records use what the spec leaves open.

use crate::common;

use std::collections::BTreeSet;

use common::{client, get, unlimited};
use serde_json::Value;
use trillet_spec::{EXAMPLE_FILES, Spec};

#[tokio::test]
async fn five_hundred_served_records_validate_and_decode() {
    let spec = Spec::bundled().unwrap();
    let validator = spec.validator("CallHistory").unwrap();
    let server = unlimited().await;
    let client = client();

    let mut ids: Vec<String> = (0..500)
        .map(|i| format!("{:024x}", 0x65a7_f3c2u64 * 7919 + i))
        .collect();
    ids.extend(["x", "42", "a b", "é"].map(String::from));
    let mut directions = BTreeSet::new();
    let mut statuses = BTreeSet::new();
    let (mut integer_starts, mut fractional_starts, mut ongoing, mut extra_top, mut extra_analysis) =
        (0, 0, 0, 0, 0);
    for id in &ids {
        let response = get(&client, &server, id).send().await.unwrap();
        assert_eq!(response.status(), 200, "{id}");
        assert_eq!(response.headers()["content-type"], "application/json");
        let text = response.text().await.unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        let problems = validator.problems(&value);
        assert!(problems.is_empty(), "{id}: {problems:?}\n{text}");
        let record: trillet_api::types::CallHistory = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{id} does not decode: {e}\n{text}"));
        assert_eq!(record.id.as_deref(), Some(id.as_str()));

        if let Some(direction) = &record.direction {
            directions.insert(direction.as_str().to_owned());
        }
        if let Some(status) = &record.status {
            statuses.insert(status.as_str().to_owned());
        }
        match value.get("startTime") {
            Some(start) if start.is_u64() => integer_starts += 1,
            Some(_) => fractional_starts += 1,
            None => {}
        }
        if value.get("startTime").is_some() && value.get("endTime").is_none() {
            ongoing += 1;
        }
        if !record.extra.is_empty() {
            extra_top += 1;
        }
        if let Some(data) = &record.analyzed_data {
            assert!(
                !data.extra.is_empty(),
                "analyzedData has an extra key: {text}"
            );
            extra_analysis += 1;
        }
    }
    for known in trillet_api::Direction::KNOWN {
        assert!(
            directions.contains(*known),
            "{known} never served: {directions:?}"
        );
    }
    for known in trillet_api::Status::KNOWN {
        assert!(
            statuses.contains(*known),
            "{known} never served: {statuses:?}"
        );
    }
    assert!(directions.contains("transfer"), "{directions:?}");
    assert!(
        statuses
            .iter()
            .any(|s| !trillet_api::Status::from(s.as_str()).is_known())
    );
    for (what, count) in [
        ("integer startTime", integer_starts),
        ("fractional startTime", fractional_starts),
        ("no endTime", ongoing),
        ("unknown top-level key", extra_top),
        ("analyzedData", extra_analysis),
    ] {
        assert!(count >= 10, "only {count} records with {what}");
    }
}

#[tokio::test]
async fn every_example_file_is_served_verbatim_by_its_id() {
    let server = unlimited().await;
    let client = client();
    let mut served = 0;
    for (name, text) in EXAMPLE_FILES {
        if trillet_spec::schema_for_example_file(name) != Some("CallHistory") {
            continue;
        }
        let value: Value = serde_json::from_str(text).unwrap();
        let id = value["_id"].as_str().unwrap();
        let body = get(&client, &server, id)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, *text, "{name}");
        served += 1;
    }
    assert!(served >= 4);
}
