//! What a mock server is told at start: where to listen, which credentials to
//! expect, how hard to rate-limit and how often to misbehave.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::MockError;

/// The API key the CLI's `--mock` sends; any non-empty key is accepted unless
/// [`MockConfig::api_key`] says otherwise.
pub const MOCK_API_KEY: &str = "trillet-mock-key";

/// The workspace id the CLI's `--mock` sends; any non-empty id is accepted unless
/// [`MockConfig::workspace_id`] says otherwise.
pub const MOCK_WORKSPACE_ID: &str = "trillet-mock-workspace";

/// How many records the mock's workspace lists by default.
pub const DEFAULT_LIST_SIZE: usize = 1000;

/// How many connections are served at once by default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// How long a connection may take to send a request head by default.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The documented rate limit of the Developer plan: 60 requests per minute per key.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 60;

/// How a [`MockServer`](crate::MockServer) behaves. Build one with struct-update
/// syntax over [`Default`]:
///
/// ```
/// let config = trillet_mock::MockConfig {
///     rate_limit_per_minute: None,
///     chaos: 0.1,
///     seed: 7,
///     ..Default::default()
/// };
/// assert_eq!(config.addr.port(), 0);
/// ```
#[derive(Clone, PartialEq)]
pub struct MockConfig {
    /// Where to listen. Default `127.0.0.1:0`: loopback, a free port chosen by the OS.
    pub addr: SocketAddr,
    /// Requests per minute allowed per API key, as a token bucket that holds that
    /// many requests and refills evenly over a minute. `None` or `Some(0)`: no limit.
    /// Default `Some(60)`.
    pub rate_limit_per_minute: Option<u32>,
    /// Probability in `0.0..=1.0` that a request gets a random retryable fault
    /// (500, 502, 503, or 429 with `Retry-After: 0`). Default `0.0`.
    pub chaos: f64,
    /// Seed of the chaos draws: the same seed and request order give the same faults.
    pub seed: u64,
    /// The only `x-api-key` accepted (others get 401); `None` accepts any non-empty key.
    pub api_key: Option<String>,
    /// The only `x-workspace-id` accepted (others get 403); `None` accepts any
    /// non-empty id.
    pub workspace_id: Option<String>,
    /// How many records the list operation holds (default 1000). Each is one that
    /// `get` serves; see [`workspace_ids`](crate::workspace_ids).
    pub list_size: usize,
    /// How many connections are served at once (at least 1; default 256). Further
    /// connections wait, accepted by the kernel but not read, until one closes;
    /// [`header_read_timeout`](Self::header_read_timeout) makes sure idle ones do.
    pub max_connections: usize,
    /// How long a connection may take to send a complete request head (default
    /// 10 s), counted from when it is ready for one: a connection idle between
    /// requests is closed after this long too, and so is one that sends half a
    /// head. Must not be zero.
    pub header_read_timeout: Duration,
    /// How often rate-limit buckets that have refilled are forgotten (default 10 s).
    /// Must not be zero.
    pub rate_limit_sweep: Duration,
    /// How often a summary of the requests answered since the last one is logged
    /// at `info` (default 60 s; none when nothing was answered). Each request is
    /// logged at `debug`. Must not be zero.
    pub summary_interval: Duration,
    /// The spec to serve, as YAML or JSON text: every operation in it is served
    /// (see the crate docs). `None` (the default): the bundled
    /// `spec/trillet.yaml` ([`trillet_spec::SPEC_YAML`]). A spec that does not
    /// parse, or an operation the mock cannot serve, fails
    /// [`MockServer::start`](crate::MockServer::start).
    pub spec: Option<String>,
}

impl std::fmt::Debug for MockConfig {
    /// The credentials are shown only as set or not, the spec by its size.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: &Option<String>| if v.is_some() { "Some(<set>)" } else { "None" };
        f.debug_struct("MockConfig")
            .field("addr", &self.addr)
            .field("rate_limit_per_minute", &self.rate_limit_per_minute)
            .field("chaos", &self.chaos)
            .field("seed", &self.seed)
            .field("api_key", &format_args!("{}", set(&self.api_key)))
            .field("workspace_id", &format_args!("{}", set(&self.workspace_id)))
            .field("list_size", &self.list_size)
            .field("max_connections", &self.max_connections)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("rate_limit_sweep", &self.rate_limit_sweep)
            .field("summary_interval", &self.summary_interval)
            .field(
                "spec",
                &match &self.spec {
                    Some(text) => format!("<{} bytes>", text.len()),
                    None => "<bundled>".to_owned(),
                },
            )
            .finish()
    }
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            rate_limit_per_minute: Some(DEFAULT_RATE_LIMIT_PER_MINUTE),
            chaos: 0.0,
            seed: 0,
            api_key: None,
            workspace_id: None,
            list_size: DEFAULT_LIST_SIZE,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            rate_limit_sweep: Duration::from_secs(10),
            summary_interval: Duration::from_secs(60),
            spec: None,
        }
    }
}

impl MockConfig {
    /// The same configuration listening on `127.0.0.1:<port>` (`0`: any free port).
    pub fn with_port(mut self, port: u16) -> Self {
        self.addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        self
    }

    /// The same configuration serving the spec `text` (YAML or JSON) instead of
    /// the bundled one.
    pub fn with_spec(mut self, text: impl Into<String>) -> Self {
        self.spec = Some(text.into());
        self
    }

    /// Checks the values that have a range.
    pub(crate) fn validate(&self) -> Result<(), MockError> {
        if !(0.0..=1.0).contains(&self.chaos) {
            return Err(MockError::Config(format!(
                "chaos must be a probability between 0 and 1, not {}",
                self.chaos
            )));
        }
        if self.max_connections == 0 {
            return Err(MockError::Config(
                "max_connections must be at least 1".into(),
            ));
        }
        for (name, value) in [
            ("header_read_timeout", self.header_read_timeout),
            ("rate_limit_sweep", self.rate_limit_sweep),
            ("summary_interval", self.summary_interval),
        ] {
            if value.is_zero() {
                return Err(MockError::Config(format!("{name} must not be zero")));
            }
        }
        for (name, value) in [
            ("api_key", &self.api_key),
            ("workspace_id", &self.workspace_id),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(MockError::Config(format!(
                    "{name} must not be empty (use None to accept any value)"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chaos_outside_zero_to_one_is_rejected() {
        for chaos in [-0.1, 1.5, f64::NAN] {
            let config = MockConfig {
                chaos,
                ..Default::default()
            };
            assert!(config.validate().is_err(), "{chaos}");
        }
        assert!(MockConfig::default().validate().is_ok());
    }

    #[test]
    fn debug_shows_neither_credentials_nor_the_spec_text() {
        let config = MockConfig {
            api_key: Some("sk-secret-1".into()),
            workspace_id: Some("ws-secret-2".into()),
            ..Default::default()
        }
        .with_spec("openapi: 3.0.3 # secret-3");
        let debug = format!("{config:?}");
        for secret in ["sk-secret-1", "ws-secret-2", "secret-3"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(debug.contains("api_key: Some(<set>)"), "{debug}");
        assert!(format!("{:?}", MockConfig::default()).contains("<bundled>"));
    }

    #[test]
    fn with_port_stays_on_loopback() {
        let config = MockConfig::default().with_port(4010);
        assert_eq!(config.addr.to_string(), "127.0.0.1:4010");
    }
}
