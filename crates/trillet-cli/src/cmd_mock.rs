//! `trillet mock serve`: the mock server on a fixed port until Ctrl-C.

use trillet_mock::{MOCK_API_KEY, MOCK_WORKSPACE_ID, MockConfig, MockServer};

use crate::cli::{Global, ServeArgs};
use crate::{Fatal, exit};

pub async fn serve(global: &Global, args: ServeArgs) -> Result<u8, Fatal> {
    let config = MockConfig {
        rate_limit_per_minute: global.rate_limit.or(Some(60)).filter(|&n| n > 0),
        chaos: args.chaos,
        seed: args.seed,
        ..MockConfig::default()
    }
    .with_port(args.port);
    let server = MockServer::start(config)
        .await
        .map_err(|e| Fatal(format!("cannot start the mock server: {e}")))?;
    eprintln!(
        "trillet mock listening on {url}\n  try: TRILLET_BASE_URL={url} TRILLET_API_KEY={MOCK_API_KEY} \
         TRILLET_WORKSPACE_ID={MOCK_WORKSPACE_ID} trillet call-history get 1234567890abcdef\n  Ctrl-C stops it",
        url = server.url()
    );
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| Fatal(format!("cannot wait for Ctrl-C: {e}")))?;
    server.shutdown().await?;
    Ok(exit::OK)
}
