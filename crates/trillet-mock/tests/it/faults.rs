//! Rate-limit emulation, faults on demand and seeded chaos, over real HTTP.

use crate::common;

use std::time::{Duration, Instant};

use common::{assert_envelope, client, get, start, unlimited};
use trillet_mock::{FAULT_HEADER, MockConfig, MockServer};

const SEED: &str = include_str!("../../../../spec/examples/call-history.seed.json");

async fn faulted(server: &MockServer, fault: &str) -> reqwest::Response {
    get(&client(), server, "1234567890abcdef")
        .header(FAULT_HEADER, fault)
        .send()
        .await
        .expect("the mock answers")
}

fn assert_reset_at_is_rfc3339(envelope: &serde_json::Value) -> chrono::DateTime<chrono::Utc> {
    let reset_at = envelope["error"]["reset_at"]
        .as_str()
        .expect("reset_at is a string");
    chrono::DateTime::parse_from_rfc3339(reset_at)
        .expect("reset_at is RFC 3339")
        .to_utc()
}

#[tokio::test]
async fn the_request_after_n_in_a_minute_is_429_with_retry_after_and_reset_at() {
    let server = start(MockConfig {
        rate_limit_per_minute: Some(3),
        ..Default::default()
    })
    .await;
    let client = client();
    for _ in 0..3 {
        let response = get(&client, &server, "a").send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    let response = get(&client, &server, "a").send().await.unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    let envelope = assert_envelope(&response.text().await.unwrap(), "rate_limit_exceeded");
    let reset_at = assert_reset_at_is_rfc3339(&envelope);
    assert!(reset_at > chrono::Utc::now(), "{reset_at}");

    // The limit is per key: another key still gets through.
    let other = client
        .get(common::record_url(&server, "a"))
        .header("x-api-key", "another-key")
        .header("x-workspace-id", "w")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);

    let stats = server.stats();
    assert_eq!(stats.rate_limited, 1);
    assert_eq!(stats.too_many_requests(), 1);
    assert_eq!(stats.count(200), 4);
}

#[tokio::test]
async fn the_default_limit_is_60_and_none_turns_it_off() {
    let limited = start(MockConfig::default()).await;
    let free = unlimited().await;
    let client = client();
    let started = Instant::now();
    for _ in 0..100 {
        get(&client, &limited, "x").send().await.unwrap();
        get(&client, &free, "x").send().await.unwrap();
    }
    // A burst of 60 passes; after that one more per second of the test's run.
    let refilled = started.elapsed().as_secs();
    let passed = limited.stats().count(200);
    assert!((60..=60 + refilled).contains(&passed), "{passed}");
    assert_eq!(limited.stats().rate_limited, 100 - passed);
    assert_eq!(free.stats().count(200), 100);
    assert_eq!(free.stats().too_many_requests(), 0);
}

#[tokio::test]
async fn status_faults_send_their_status_and_the_envelope() {
    let server = unlimited().await;
    for (fault, status, code) in [
        ("500", 500, "internal_error"),
        ("502", 502, "bad_gateway"),
        ("503", 503, "service_unavailable"),
    ] {
        let response = faulted(&server, fault).await;
        assert_eq!(response.status(), status);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_envelope(&response.text().await.unwrap(), code);
    }
    let response = faulted(&server, "429").await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    let envelope = assert_envelope(&response.text().await.unwrap(), "rate_limit_exceeded");
    assert_reset_at_is_rfc3339(&envelope);
    let response = faulted(&server, "429=0").await;
    assert_eq!(response.headers()["retry-after"], "0");

    let stats = server.stats();
    assert_eq!(stats.faults_injected, 5);
    assert_eq!(
        stats.rate_limited, 0,
        "injected 429s are not the rate limit's"
    );
    assert_eq!(stats.too_many_requests(), 2);
}

#[tokio::test]
async fn slow_delays_the_normal_answer() {
    let server = unlimited().await;
    let started = Instant::now();
    let response = faulted(&server, "slow=150").await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), SEED);

    let started = Instant::now();
    let response = faulted(&server, "slow=100, 503").await;
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(response.status(), 503);
}

#[tokio::test]
async fn truncate_sends_half_the_record_with_200() {
    let server = unlimited().await;
    let response = faulted(&server, "truncate").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = response.text().await.unwrap();
    assert_eq!(body, SEED[..SEED.len() / 2]);
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());
}

#[tokio::test]
async fn html_sends_a_502_page() {
    let server = unlimited().await;
    let response = faulted(&server, "html").await;
    assert_eq!(response.status(), 502);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(response.text().await.unwrap().contains("<html>"));
}

#[tokio::test]
async fn empty_sends_200_without_a_body() {
    let server = unlimited().await;
    let response = faulted(&server, "empty").await;
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn oversize_streams_exactly_that_many_bytes() {
    let server = unlimited().await;
    let response = faulted(&server, "oversize=3000000").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.content_length(), None, "streamed, not announced");
    let body = response.bytes().await.unwrap();
    assert_eq!(body.len(), 3_000_000);
    // Large enough to be a (huge) JSON record.
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(value["_id"], "1234567890abcdef");

    let tiny = faulted(&server, "oversize=5").await.bytes().await.unwrap();
    assert_eq!(tiny.len(), 5);
}

#[tokio::test]
async fn redirect_sends_302_with_the_location() {
    let server = unlimited().await;
    let target = "http://elsewhere.invalid/steal?a=1,2";
    let response = faulted(&server, &format!("redirect={target}")).await;
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], target);
}

#[tokio::test]
async fn a_malformed_fault_header_is_400() {
    let server = unlimited().await;
    for bad in ["404", "slow=soon", "truncate,html", "redirect="] {
        let response = faulted(&server, bad).await;
        assert_eq!(response.status(), 400, "{bad}");
        assert_envelope(&response.text().await.unwrap(), "bad_request");
    }
}

/// Statuses (and Retry-After values) for `n` sequential requests to a server
/// with this chaos rate and seed.
async fn chaos_run(chaos: f64, seed: u64, n: usize) -> (Vec<u16>, MockServer) {
    let server = start(MockConfig {
        rate_limit_per_minute: None,
        chaos,
        seed,
        ..Default::default()
    })
    .await;
    let client = client();
    let mut statuses = Vec::with_capacity(n);
    for i in 0..n {
        let response = get(&client, &server, &format!("id-{i}"))
            .send()
            .await
            .expect("the mock answers");
        let status = response.status().as_u16();
        if status == 429 {
            assert_eq!(response.headers()["retry-after"], "0");
        }
        statuses.push(status);
    }
    (statuses, server)
}

#[tokio::test]
async fn chaos_is_deterministic_for_a_seed() {
    let (first, server) = chaos_run(0.3, 42, 80).await;
    let (second, _) = chaos_run(0.3, 42, 80).await;
    assert_eq!(first, second, "same seed, same sequence");
    let (other, _) = chaos_run(0.3, 43, 80).await;
    assert_ne!(first, other, "another seed, other faults");

    let faults = first.iter().filter(|s| **s != 200).count();
    assert!((8..=45).contains(&faults), "about 30% of 80: {faults}");
    assert!(
        first.iter().all(|s| [200, 429, 500, 502, 503].contains(s)),
        "only retryable faults: {first:?}"
    );
    assert_eq!(server.stats().faults_injected, faults as u64);
    let (calm, _) = chaos_run(0.0, 42, 40).await;
    assert!(calm.iter().all(|s| *s == 200));
}

#[tokio::test]
async fn a_retrying_client_always_gets_through_chaos() {
    let server = start(MockConfig {
        rate_limit_per_minute: None,
        chaos: 0.5,
        seed: 7,
        ..Default::default()
    })
    .await;
    let client = client();
    for i in 0..20 {
        let id = format!("id-{i}");
        let mut attempts = 0;
        loop {
            attempts += 1;
            let response = get(&client, &server, &id).send().await.unwrap();
            if response.status() == 200 {
                let record: serde_json::Value = response.json().await.unwrap();
                assert_eq!(record["_id"], id.as_str());
                break;
            }
            assert!(attempts < 30, "{id} never got through");
        }
    }
}
