//! The mock answers like the real API: records, 404s, 405s and header checks,
//! over real HTTP on a free loopback port.

use crate::common;

use common::{assert_envelope, client, get, record_url, start, unlimited};
use trillet_mock::{MockConfig, MockServer};

const SEED: &str = include_str!("../../../../spec/examples/call-history.seed.json");

#[tokio::test]
async fn the_seed_id_returns_the_example_byte_for_byte() {
    let server = unlimited().await;
    let response = get(&client(), &server, "1234567890abcdef")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = response.text().await.unwrap();
    assert_eq!(body, SEED);
    assert!(body.contains("\"customer_charge\": 0.10"));
    assert!(body.contains("\"startTime\": 1680000000,"));
}

#[tokio::test]
async fn the_same_id_gives_the_same_bytes_and_other_ids_other_records() {
    let server = unlimited().await;
    let client = client();
    let body = |id: &'static str| {
        let request = get(&client, &server, id);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(response.headers()["content-type"], "application/json");
            response.text().await.unwrap()
        }
    };
    let first = body("65a7f3c2e4b0a1d2c3f4e5b1").await;
    assert_eq!(first, body("65a7f3c2e4b0a1d2c3f4e5b1").await);
    let other = body("65a7f3c2e4b0a1d2c3f4e5b2").await;
    assert_ne!(first, other);
    let record: serde_json::Value = serde_json::from_str(&other).unwrap();
    assert_eq!(record["_id"], "65a7f3c2e4b0a1d2c3f4e5b2");
    // A second server (a later run) serves the same bytes.
    let again = unlimited().await;
    let response = get(&client, &again, "65a7f3c2e4b0a1d2c3f4e5b1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), first);
}

#[tokio::test]
async fn a_percent_encoded_id_is_one_segment() {
    let server = unlimited().await;
    let response = get(&client(), &server, "a%2Fb%20c").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let record: serde_json::Value = response.json().await.unwrap();
    assert_eq!(record["_id"], "a/b c");
}

#[tokio::test]
async fn ids_starting_with_missing_are_404_with_the_envelope() {
    let server = unlimited().await;
    for id in ["missing", "missing-42", "missing65a7f3c2e4b0a1d2c3f4e5a6"] {
        let response = get(&client(), &server, id).send().await.unwrap();
        assert_eq!(response.status(), 404, "{id}");
        assert_eq!(response.headers()["content-type"], "application/json");
        let body = response.text().await.unwrap();
        let envelope = assert_envelope(&body, "not_found");
        assert_eq!(envelope["error"]["message"], "Call history not found.");
    }
}

#[tokio::test]
async fn unknown_paths_are_404_with_the_envelope() {
    let server = unlimited().await;
    let client = client();
    for path in [
        "/",
        "/v2/api/call-history/",
        "/v2/api/call-history/a/b",
        "/v1/api/call-history/1234567890abcdef",
    ] {
        let response = client
            .get(format!("{}{path}", server.url()))
            .header("x-api-key", "k")
            .header("x-workspace-id", "w")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert_envelope(&response.text().await.unwrap(), "not_found");
    }
}

#[tokio::test]
async fn methods_other_than_get_are_405() {
    let server = unlimited().await;
    let client = client();
    for method in [
        reqwest::Method::POST,
        reqwest::Method::DELETE,
        reqwest::Method::PUT,
    ] {
        let response = client
            .request(method.clone(), record_url(&server, "1234567890abcdef"))
            .header("x-api-key", "k")
            .header("x-workspace-id", "w")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{method}");
        assert_eq!(response.headers()["allow"], "GET");
        assert_envelope(&response.text().await.unwrap(), "method_not_allowed");
    }
}

async fn status_and_body(
    server: &MockServer,
    key: Option<&str>,
    workspace: Option<&str>,
) -> (u16, String) {
    let mut request = client().get(record_url(server, "1234567890abcdef"));
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    if let Some(workspace) = workspace {
        request = request.header("x-workspace-id", workspace);
    }
    let response = request.send().await.expect("the mock answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a text body"))
}

#[tokio::test]
async fn a_missing_or_empty_key_is_401_and_a_missing_or_empty_workspace_403() {
    let server = unlimited().await;
    for key in [None, Some(""), Some("  ")] {
        let (status, body) = status_and_body(&server, key, Some("w")).await;
        assert_eq!(status, 401, "{key:?}");
        assert_envelope(&body, "unauthorized");
        // Without either header, the key is checked first.
        let (status, _) = status_and_body(&server, key, None).await;
        assert_eq!(status, 401);
    }
    for workspace in [None, Some("")] {
        let (status, body) = status_and_body(&server, Some("k"), workspace).await;
        assert_eq!(status, 403, "{workspace:?}");
        assert_envelope(&body, "forbidden");
    }
    // Any non-empty pair is accepted when none is configured.
    assert_eq!(status_and_body(&server, Some("k"), Some("w")).await.0, 200);
}

#[tokio::test]
async fn configured_credentials_reject_other_values() {
    let server = start(MockConfig {
        api_key: Some("right-key".into()),
        workspace_id: Some("right-ws".into()),
        ..Default::default()
    })
    .await;
    let (status, body) = status_and_body(&server, Some("wrong-key"), Some("right-ws")).await;
    assert_eq!(status, 401);
    assert_envelope(&body, "unauthorized");
    let (status, body) = status_and_body(&server, Some("right-key"), Some("wrong-ws")).await;
    assert_eq!(status, 403);
    assert_envelope(&body, "forbidden");
    assert_eq!(
        status_and_body(&server, Some("right-key"), Some("right-ws"))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn stats_count_requests_and_statuses() {
    let server = unlimited().await;
    let client = client();
    get(&client, &server, "a").send().await.unwrap();
    get(&client, &server, "b").send().await.unwrap();
    get(&client, &server, "missing-c").send().await.unwrap();
    client.get(server.url()).send().await.unwrap();
    let stats = server.stats();
    assert_eq!(stats.requests, 4);
    assert_eq!(stats.count(200), 2);
    assert_eq!(stats.count(404), 2);
    assert_eq!(stats.responses(), 4);
    assert_eq!(stats.too_many_requests(), 0);
    assert_eq!(stats.rate_limited, 0);
    assert_eq!(stats.faults_injected, 0);
}

#[tokio::test]
async fn servers_on_port_zero_run_side_by_side_and_stop() {
    let one = unlimited().await;
    let two = unlimited().await;
    assert_ne!(one.addr(), two.addr());
    assert!(one.addr().ip().is_loopback());
    assert_eq!(one.url(), format!("http://{}", one.addr()));
    let url = record_url(&one, "x");
    one.shutdown().await.unwrap();
    let fresh = reqwest::Client::new();
    assert!(fresh.get(&url).send().await.is_err(), "stopped by shutdown");

    let url = record_url(&two, "x");
    drop(two);
    let mut refused = false;
    for _ in 0..50 {
        if fresh.get(&url).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(refused, "stopped by drop");
}

#[tokio::test]
async fn invalid_configuration_is_an_error() {
    let error = MockServer::start(MockConfig {
        chaos: 2.0,
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(error.to_string().contains("chaos"), "{error}");
}
