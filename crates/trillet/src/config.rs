//! Building a [`Client`](crate::Client): every setting, from the environment or by hand.
//! Credentials are kept as secrets from the moment they are read.

use std::fmt;

use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::error::ConfigError;
use crate::rate_limit::RateLimit;
use crate::retry::RetryPolicy;
use crate::timeouts::Timeouts;

/// The API's address when `TRILLET_BASE_URL` is not set.
pub const DEFAULT_BASE_URL: &str = "https://api.trillet.ai";
/// The environment variable holding the API key.
pub const ENV_API_KEY: &str = "TRILLET_API_KEY";
/// The environment variable holding the workspace id.
pub const ENV_WORKSPACE_ID: &str = "TRILLET_WORKSPACE_ID";
/// The environment variable overriding the base URL.
pub const ENV_BASE_URL: &str = "TRILLET_BASE_URL";
/// The default limit on a response body: 4 MiB, far above any real record.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Settings for a [`Client`](crate::Client); start from [`Client::builder`](crate::Client::builder)
/// or [`ClientBuilder::from_env`].
///
/// ```
/// use std::time::Duration;
/// let client = trillet::Client::builder()
///     .api_key("tk_live_example")
///     .workspace_id("ws_123")
///     .timeouts(trillet::Timeouts::default().attempt(Duration::from_secs(10)))
///     .rate_limit(trillet::RateLimit::per_minute(120))
///     .build()?;
/// assert!(!format!("{client:?}").contains("tk_live_example"));
/// # Ok::<(), trillet::Error>(())
/// ```
#[derive(Clone)]
pub struct ClientBuilder {
    pub(crate) api_key: Option<SecretString>,
    pub(crate) workspace_id: Option<String>,
    pub(crate) base_url: String,
    /// Whether [`base_url`](Self::base_url) came from `TRILLET_BASE_URL`, so that an
    /// error names the place the user has to fix.
    pub(crate) base_url_from_env: bool,
    pub(crate) timeouts: Timeouts,
    pub(crate) retry: RetryPolicy,
    pub(crate) rate_limit: RateLimit,
    pub(crate) user_agent: String,
    pub(crate) http_client: Option<reqwest::Client>,
    pub(crate) max_body_bytes: usize,
    pub(crate) allow_insecure_http: bool,
    pub(crate) concurrency: usize,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            api_key: None,
            workspace_id: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            base_url_from_env: false,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            rate_limit: RateLimit::default(),
            user_agent: concat!("trillet-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            http_client: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            allow_insecure_http: false,
            concurrency: 8,
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("workspace_id", &self.workspace_id)
            .field("base_url", &self.base_url)
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .field("rate_limit", &self.rate_limit)
            .field("user_agent", &self.user_agent)
            .field("http_client", &self.http_client.as_ref().map(|_| "custom"))
            .field("max_body_bytes", &self.max_body_bytes)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

impl ClientBuilder {
    /// Settings from `TRILLET_API_KEY`, `TRILLET_WORKSPACE_ID` and (optionally)
    /// `TRILLET_BASE_URL`. A missing or empty variable is an error naming it.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`
    /// (for tests, or configuration kept elsewhere).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let read = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let api_key = read(ENV_API_KEY).ok_or(ConfigError::MissingEnv(ENV_API_KEY))?;
        let workspace_id =
            read(ENV_WORKSPACE_ID).ok_or(ConfigError::MissingEnv(ENV_WORKSPACE_ID))?;
        let mut builder = Self::default().api_key(api_key).workspace_id(workspace_id);
        if let Some(base_url) = read(ENV_BASE_URL) {
            builder = builder.base_url(base_url);
            builder.base_url_from_env = true;
        }
        Ok(builder)
    }

    /// The API key (sent as `x-api-key`; kept secret, never printed).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self
    }

    /// The workspace id (sent as `x-workspace-id`).
    pub fn workspace_id(mut self, workspace_id: impl Into<String>) -> Self {
        self.workspace_id = Some(workspace_id.into());
        self
    }

    /// The API's base URL (default [`DEFAULT_BASE_URL`]). Must be `https`, except for
    /// loopback hosts such as a local mock.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self.base_url_from_env = false;
        self
    }

    /// The time budgets: connect, each attempt, the whole call (see [`Timeouts`]).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// How failed requests are retried (default: 3 attempts, see [`RetryPolicy`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The client-side rate limit (default 60 requests a minute, see [`RateLimit`]).
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = limit;
        self
    }

    /// The `User-Agent` header (default `trillet-rs/<version>`; ignored with
    /// [`http_client`](Self::http_client)).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Uses this `reqwest::Client` (its pool, proxy and TLS settings). Its redirect
    /// and proxy policies are its own: build it with
    /// [`redirect_policy`](crate::redirect_policy) so that credentials never follow a
    /// redirect to another origin, and with `no_proxy()` for a loopback base URL.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// The largest response body accepted (default [`DEFAULT_MAX_BODY_BYTES`]); a
    /// larger one is an error, read no further than the limit.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// How many requests a batch keeps in flight (default 8, at least 1).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// **Dangerous**: allows a plain-`http` base URL on a non-loopback host, sending
    /// the API key in clear text over the network.
    pub fn danger_allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<crate::Client, crate::Error> {
        crate::Client::from_builder(self).map_err(crate::Error::from)
    }

    /// The checked base URL, without a trailing slash.
    pub(crate) fn checked_base_url(&self) -> Result<String, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            name: if self.base_url_from_env {
                "base URL (TRILLET_BASE_URL)"
            } else {
                "base URL"
            },
            reason,
        };
        let url = url::Url::parse(&self.base_url).map_err(|e| {
            invalid(match e {
                // `api.trillet.ai` or `localhost:4010`: the scheme is what is missing.
                url::ParseError::RelativeUrlWithoutBase => format!(
                    "{e}: add the scheme, e.g. `https://` ({DEFAULT_BASE_URL}) or `http://` for a local mock"
                ),
                e => e.to_string(),
            })
        })?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("must not have a query or fragment".into()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not carry credentials".into()));
        }
        match url.scheme() {
            "https" => {}
            "http" if self.allow_insecure_http || is_loopback(&url) => {}
            "http" => {
                return Err(invalid(
                    "plain http would send the API key in clear text; use https \
                     (http is allowed for loopback hosts only)"
                        .into(),
                ));
            }
            other => return Err(invalid(format!("unsupported scheme `{other}`"))),
        }
        Ok(url.as_str().trim_end_matches('/').to_owned())
    }

    /// The two authentication headers, marked sensitive so `reqwest` and `http`
    /// never print them. Only printable ASCII is accepted: `http` would send other
    /// bytes as they are (raw UTF-8), which no server reads as the same key.
    pub(crate) fn auth_headers(&self) -> Result<(HeaderValue, HeaderValue), ConfigError> {
        let key = self
            .api_key
            .as_ref()
            .map(|k| k.expose_secret())
            .filter(|k| !k.trim().is_empty())
            .ok_or(ConfigError::Missing("api key"))?;
        let workspace = self
            .workspace_id
            .as_deref()
            .filter(|w| !w.trim().is_empty())
            .ok_or(ConfigError::Missing("workspace id"))?;
        let header = |value: &str, name: &'static str| {
            let invalid = || ConfigError::Invalid {
                name,
                reason: "must be printable ASCII (it has a control or non-ASCII character)".into(),
            };
            if !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
                return Err(invalid());
            }
            let mut value = HeaderValue::from_str(value).map_err(|_| invalid())?;
            value.set_sensitive(true);
            Ok::<_, ConfigError>(value)
        };
        Ok((header(key, "api key")?, header(workspace, "workspace id")?))
    }
}

/// Whether a URL names this machine (`localhost`, 127.0.0.0/8, `::1`): requests there
/// are never sent through a proxy.
pub(crate) fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn missing_or_empty_variables_are_named() {
        let err = ClientBuilder::from_env_with(env(&[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "TRILLET_API_KEY is not set; export it or pass it to ClientBuilder"
        );
        let err = ClientBuilder::from_env_with(env(&[
            ("TRILLET_API_KEY", "k"),
            ("TRILLET_WORKSPACE_ID", " "),
        ]))
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("TRILLET_WORKSPACE_ID is not set"),
            "{err}"
        );
    }

    #[test]
    fn the_base_url_defaults_and_can_be_overridden() {
        let b = ClientBuilder::from_env_with(env(&[
            ("TRILLET_API_KEY", "k"),
            ("TRILLET_WORKSPACE_ID", "w"),
        ]))
        .unwrap();
        assert_eq!(b.checked_base_url().unwrap(), "https://api.trillet.ai");
        let b = ClientBuilder::from_env_with(env(&[
            ("TRILLET_API_KEY", "k"),
            ("TRILLET_WORKSPACE_ID", "w"),
            ("TRILLET_BASE_URL", "http://127.0.0.1:4010/"),
        ]))
        .unwrap();
        assert_eq!(b.checked_base_url().unwrap(), "http://127.0.0.1:4010");
    }

    #[test]
    fn a_bad_base_url_names_where_it_came_from_and_what_to_add() {
        let from_env = ClientBuilder::from_env_with(env(&[
            ("TRILLET_API_KEY", "k"),
            ("TRILLET_WORKSPACE_ID", "w"),
            ("TRILLET_BASE_URL", "api.trillet.ai"),
        ]))
        .unwrap()
        .checked_base_url()
        .unwrap_err()
        .to_string();
        assert!(from_env.contains("TRILLET_BASE_URL"), "{from_env}");
        assert!(
            from_env.contains("add the scheme, e.g. `https://`"),
            "{from_env}"
        );
        let from_code = ClientBuilder::default()
            .base_url("localhost:4010")
            .checked_base_url()
            .unwrap_err()
            .to_string();
        assert!(!from_code.contains("TRILLET_BASE_URL"), "{from_code}");
        assert!(from_code.contains("base URL"), "{from_code}");
        // Set from the environment, then overridden in code: the code's value is the one to fix.
        let overridden = ClientBuilder::from_env_with(env(&[
            ("TRILLET_API_KEY", "k"),
            ("TRILLET_WORKSPACE_ID", "w"),
            ("TRILLET_BASE_URL", "http://127.0.0.1:1"),
        ]))
        .unwrap()
        .base_url("ftp://x")
        .checked_base_url()
        .unwrap_err()
        .to_string();
        assert!(!overridden.contains("TRILLET_BASE_URL"), "{overridden}");
    }

    #[test]
    fn plain_http_is_refused_off_loopback_unless_explicitly_allowed() {
        let b = ClientBuilder::default().base_url("http://api.trillet.ai");
        assert!(
            b.checked_base_url()
                .unwrap_err()
                .to_string()
                .contains("clear text")
        );
        for ok in ["http://localhost:1", "http://127.0.0.2:9", "http://[::1]:8"] {
            assert!(
                ClientBuilder::default()
                    .base_url(ok)
                    .checked_base_url()
                    .is_ok(),
                "{ok}"
            );
        }
        let b = ClientBuilder::default()
            .base_url("http://10.0.0.1")
            .danger_allow_insecure_http(true);
        assert!(b.checked_base_url().is_ok());
        assert!(
            ClientBuilder::default()
                .base_url("ftp://x")
                .checked_base_url()
                .is_err()
        );
        assert!(
            ClientBuilder::default()
                .base_url("https://u:p@x")
                .checked_base_url()
                .is_err()
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let b = ClientBuilder::default()
            .api_key("sekrit-key-123")
            .workspace_id("w");
        let shown = format!("{b:?}");
        assert!(!shown.contains("sekrit"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn auth_headers_are_sensitive_and_validated() {
        let (key, ws) = ClientBuilder::default()
            .api_key("k")
            .workspace_id("w")
            .auth_headers()
            .unwrap();
        assert!(key.is_sensitive() && ws.is_sensitive());
        let err = ClientBuilder::default()
            .api_key("bad\nkey")
            .workspace_id("w")
            .auth_headers()
            .unwrap_err();
        assert!(!err.to_string().contains("bad"), "{err}");
        for (key, workspace) in [("clé-secrète", "w"), ("k", "wörkspace"), ("k\u{7f}", "w")] {
            let err = ClientBuilder::default()
                .api_key(key)
                .workspace_id(workspace)
                .auth_headers()
                .unwrap_err();
            let text = err.to_string();
            assert!(text.contains("printable ASCII"), "{text}");
            assert!(!text.contains("secr") && !text.contains("wörk"), "{text}");
        }
    }
}
