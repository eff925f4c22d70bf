//! The list operation: spec-valid pages, paging to the end, filters, and listed
//! records that `get` serves.

use crate::common;

use serde_json::Value;
use trillet_mock::{MOCK_API_KEY, MOCK_WORKSPACE_ID, MockConfig, MockServer};

async fn page(server: &MockServer, query: &str) -> (u16, Value) {
    let response = common::client()
        .get(format!("{}/v2/api/call-history?{query}", server.url()))
        .header("x-api-key", MOCK_API_KEY)
        .header("x-workspace-id", MOCK_WORKSPACE_ID)
        .send()
        .await
        .expect("the mock answers");
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_str(&response.text().await.expect("a body")).expect("JSON"),
    )
}

#[tokio::test]
async fn every_listed_item_is_valid_against_the_spec_and_decodes() {
    let server = common::unlimited().await;
    let spec = trillet_spec::Spec::bundled().unwrap();
    let validator = spec.validator("CallHistorySummary").unwrap();
    let (status, items) = page(&server, "limit=1000").await;
    assert_eq!(status, 200);
    let items = items.as_array().unwrap();
    assert_eq!(items.len(), 1000);
    for item in items {
        assert_eq!(validator.problems(item), vec![], "{item}");
        let _: trillet_api::types::CallHistorySummary =
            serde_json::from_value(item.clone()).unwrap();
    }
}

#[tokio::test]
async fn a_workspace_of_1000_pages_as_ten_full_pages_then_an_empty_one() {
    let server = common::unlimited().await;
    let mut ids = Vec::new();
    for n in 1..=11 {
        let (_, items) = page(&server, &format!("page={n}&limit=100")).await;
        let items = items.as_array().unwrap().clone();
        assert_eq!(items.len(), if n <= 10 { 100 } else { 0 }, "page {n}");
        ids.extend(items.iter().map(|i| i["_id"].as_str().unwrap().to_owned()));
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 1000);
    let mut expected = trillet_mock::workspace_ids(1000);
    expected.sort();
    assert_eq!(unique, expected);
}

#[tokio::test]
async fn a_listed_record_is_a_record_get_serves() {
    let server = common::unlimited().await;
    let client = common::client();
    let (_, items) = page(&server, "limit=20").await;
    for item in items.as_array().unwrap() {
        let id = item["_id"].as_str().unwrap();
        let response = common::get(&client, &server, id).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let record: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        assert_eq!(record["_id"], item["_id"]);
        assert_eq!(record["startTime"], item["timestamp"]);
        assert_eq!(record["status"], item["status"]);
        assert_eq!(record["direction"], item["direction"]);
        assert_eq!(record["cost"]["customer_charge"], item["cost"]);
    }
}

#[tokio::test]
async fn filters_narrow_the_listing() {
    let server = common::unlimited().await;
    let (_, all) = page(&server, "limit=1000").await;
    let (_, inbound) = page(&server, "limit=1000&direction=inbound").await;
    let inbound = inbound.as_array().unwrap();
    assert!(!inbound.is_empty() && inbound.len() < all.as_array().unwrap().len());
    assert!(inbound.iter().all(|i| i["direction"] == "inbound"));
    let (status, body) = page(&server, "dateRange=nonsense").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "bad_request");
}

#[tokio::test]
async fn listing_needs_both_credentials() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let response = common::client()
        .get(format!("{}/v2/api/call-history", server.url()))
        .header("x-workspace-id", "w")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn parameters_outside_the_spec_are_400_and_schema_valid_ones_are_served() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    for bad in [
        "callType=pstn",
        "page=0",
        "limit=ten",
        "callIds=a,b",
        "dateRange=%7B%22from%22%3Anull%7D",
    ] {
        let (status, body) = page(&server, bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{bad}: {body}");
    }
    for good in [
        "callType=web",
        "limit=100000000000000000000000",
        "callIds=%5B%5D",
        "dateRange=%7B%22from%22%3A%222025-02-30T00%3A00%3A00Z%22%7D",
        "postAnalysis=anything",
    ] {
        let (status, body) = page(&server, good).await;
        assert_eq!(status, 200, "{good}: {body}");
    }
}

#[tokio::test]
async fn idle_rate_limit_buckets_are_forgotten() {
    let server = MockServer::start(MockConfig {
        // A token is back a millisecond after it is used.
        rate_limit_per_minute: Some(60_000),
        rate_limit_sweep: std::time::Duration::from_millis(100),
        ..Default::default()
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    // Long keys: a bucket's memory must not depend on the key's size.
    let long = "k".repeat(16 * 1024);
    let mut most = 0;
    for i in 0..300 {
        let response = client
            .get(format!("{}/v2/api/call-history/abc", server.url()))
            .header("x-api-key", format!("{long}-{i}"))
            .header("x-workspace-id", MOCK_WORKSPACE_ID)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        most = most.max(server.rate_limit_buckets());
    }
    assert!(most > 0, "the buckets were counted");
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(server.rate_limit_buckets(), 0);
}
