//! List the newest call histories, then fetch each listed record in full, with
//! tracing on standard error. Runs with no account against the built-in mock:
//!
//! ```sh
//! cargo run -p trillet --example list_then_fetch -- --mock
//! RUST_LOG=trillet=debug cargo run -p trillet --example list_then_fetch -- --mock
//! TRILLET_API_KEY=… TRILLET_WORKSPACE_ID=… cargo run -p trillet --example list_then_fetch
//! ```

use futures_util::StreamExt;
use tracing_subscriber::EnvFilter;
use trillet::{CallHistoryExt, Client};
use trillet_mock::{MOCK_API_KEY, MOCK_WORKSPACE_ID, MockConfig, MockServer};

/// How many records to list and fetch.
const LIMIT: usize = 5;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `RUST_LOG` picks what is logged (default: info); logs go to standard error.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    // With --mock, a mock server on loopback; it stops when `_mock` is dropped.
    let (client, _mock) = if std::env::args().any(|a| a == "--mock") {
        let mock = MockServer::start(MockConfig::default()).await?;
        let client = Client::builder()
            .api_key(MOCK_API_KEY)
            .workspace_id(MOCK_WORKSPACE_ID)
            .base_url(mock.url())
            .build()?;
        (client, Some(mock))
    } else {
        (Client::from_env()?, None)
    };

    let mut listed = client.list_call_histories().max_items(LIMIT).stream();
    let mut ids = Vec::new();
    while let Some(item) = listed.next().await {
        if let Some(id) = item?.id {
            ids.push(id);
        }
    }
    tracing::info!(count = ids.len(), "listed");

    let mut fetched = client.call_histories(ids).concurrency(4).stream();
    while let Some((id, result)) = fetched.next().await {
        match result {
            Ok(call) => println!(
                "{id}: {} {}, {}",
                call.status.as_ref().map_or("-".into(), |s| s.to_string()),
                call.duration()
                    .map_or("-".into(), |d| format!("{:.1} s", d.as_secs_f64())),
                call.summary.as_deref().unwrap_or("-")
            ),
            Err(e) => eprintln!("{id}: {e}"),
        }
    }
    Ok(())
}
