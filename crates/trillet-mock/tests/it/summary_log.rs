//! At `info`, the mock logs a periodic summary (requests and statuses per
//! interval) and nothing per request, captured per thread (`common::Captured`).

use crate::common;

use std::time::Duration;

use common::{Captured, client, get, start};
use trillet_mock::MockConfig;

// A current-thread runtime: the server runs on this thread, under this subscriber.
#[tokio::test(flavor = "current_thread")]
async fn an_info_level_run_logs_interval_summaries_and_no_request_lines() {
    let (captured, _guard) = Captured::install(tracing::Level::INFO);

    let server = start(MockConfig {
        rate_limit_per_minute: None,
        summary_interval: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let client = client();
    for i in 0..40 {
        let id = if i % 4 == 0 { "missing-1" } else { "abc" };
        let response = get(&client, &server, id).send().await.expect("a response");
        assert!(response.status() == 200 || response.status() == 404);
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    server.shutdown().await.expect("a clean stop");

    let logs = captured.text();
    assert!(!logs.contains("mock request"), "{logs}");
    assert!(!logs.contains("call-history/abc"), "{logs}");
    let summaries: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("mock summary"))
        .collect();
    // The forty requests are counted once across the summaries (one, or two if
    // they straddled an interval); idle intervals log nothing.
    assert!(!summaries.is_empty() && summaries.len() <= 2, "{logs}");
    let field = |line: &str, name: &str| -> String {
        line.split_whitespace()
            .find_map(|word| word.strip_prefix(name))
            .unwrap_or_default()
            .to_owned()
    };
    let mut requests = 0;
    let mut by_status = std::collections::BTreeMap::<String, u64>::new();
    for line in &summaries {
        requests += field(line, "requests=").parse::<u64>().expect("a count");
        for item in field(line, "statuses=").split(',') {
            let (status, n) = item.split_once('=').expect("status=count");
            *by_status.entry(status.to_owned()).or_default() += n.parse::<u64>().expect("a count");
        }
    }
    assert_eq!(requests, 40, "{logs}");
    assert_eq!(by_status.get("200"), Some(&30), "{logs}");
    assert_eq!(by_status.get("404"), Some(&10), "{logs}");
    assert!(logs.contains("mock totals"), "{logs}");
}
