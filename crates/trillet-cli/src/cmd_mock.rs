//! `trillet mock serve`: the mock server on a fixed port until Ctrl-C.
//!
//! With `--api-key`/`--workspace-id` (or their environment variables) the mock
//! accepts only those credentials: another key gets 401, another workspace 403.
//! Without them it accepts any non-empty values.

use std::time::Duration;

use clap::Args;
use secrecy::ExposeSecret;
use trillet_mock::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_CONNECTIONS, MOCK_API_KEY, MOCK_WORKSPACE_ID,
    MockConfig, MockServer,
};

use crate::cli::{Global, ServeArgs};
use crate::{Fatal, exit};

/// How `mock serve` protects itself from clients: connections, timeouts, logs.
#[derive(Debug, Args)]
pub struct ServeLimits {
    /// Connections served at once; more wait until one closes
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub max_connections: usize,

    /// Seconds a connection may take to send a request head, also between
    /// requests (idle connections are closed after it)
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_HEADER_READ_TIMEOUT.as_secs_f64(),
          value_parser = seconds)]
    pub header_timeout: f64,

    /// Seconds between the request summaries logged at info (-v logs each request)
    #[arg(long, value_name = "SECS", default_value_t = 60.0, value_parser = seconds)]
    pub summary_interval: f64,
}

/// A positive, finite number of seconds, at most a day.
fn seconds(text: &str) -> Result<f64, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 {
        Ok(secs)
    } else {
        Err("must be more than 0 and at most 86400 seconds".into())
    }
}

pub async fn serve(global: &Global, args: ServeArgs) -> Result<u8, Fatal> {
    let api_key = crate::context::api_key(global)?;
    let enforced = api_key.is_some() || global.workspace_id.is_some();
    let config = MockConfig {
        rate_limit_per_minute: global.rate_limit.or(Some(60)).filter(|&n| n > 0),
        chaos: args.chaos,
        seed: args.seed,
        api_key: api_key.map(|key| key.expose_secret().to_owned()),
        workspace_id: global.workspace_id.clone(),
        max_connections: args.limits.max_connections,
        header_read_timeout: Duration::from_secs_f64(args.limits.header_timeout),
        summary_interval: Duration::from_secs_f64(args.limits.summary_interval),
        ..MockConfig::default()
    }
    .with_port(args.port);
    let server = MockServer::start(config)
        .await
        .map_err(|e| Fatal(format!("cannot start the mock server: {e}")))?;
    let url = server.url();
    if enforced {
        // The credentials are the caller's own; they are never printed.
        eprintln!(
            "trillet mock listening on {url}\n  only the given --api-key/--workspace-id are accepted \
             (others get 401/403)\n  Ctrl-C stops it"
        );
    } else {
        eprintln!(
            "trillet mock listening on {url}\n  try: TRILLET_BASE_URL={url} TRILLET_API_KEY={MOCK_API_KEY} \
             TRILLET_WORKSPACE_ID={MOCK_WORKSPACE_ID} trillet call-history get 1234567890abcdef\n  Ctrl-C stops it"
        );
    }
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| Fatal(format!("cannot wait for Ctrl-C: {e}")))?;
    server.shutdown().await?;
    Ok(exit::OK)
}
