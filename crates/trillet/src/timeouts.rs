//! Every time budget of a call in one place: connecting, each attempt, and the whole
//! operation with its retries and waits.

use std::time::Duration;

/// How long a call may take, set with [`ClientBuilder::timeouts`](crate::ClientBuilder::timeouts).
///
/// - **connect** (default 10 s): establishing one connection (TCP and TLS); ignored
///   with a caller-supplied [`http_client`](crate::ClientBuilder::http_client).
/// - **attempt** (default 30 s): one request, from sending it to the end of its
///   body.
/// - **operation** (default none): the whole call, every attempt, backoff, server
///   wait and rate-limit wait included. No retry starts whose wait would end past it,
///   and the last attempt is cut to what is left.
///
/// ```
/// use std::time::Duration;
/// let timeouts = trillet::Timeouts::default()
///     .attempt(Duration::from_secs(5))
///     .operation(Duration::from_secs(60));
/// assert_eq!(timeouts.attempt_timeout(), Duration::from_secs(5));
/// assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(60)));
/// let client = trillet::Client::builder()
///     .api_key("tk_live_example")
///     .workspace_id("ws_123")
///     .timeouts(timeouts)
///     .build()?;
/// # Ok::<(), trillet::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub(crate) connect: Duration,
    pub(crate) attempt: Duration,
    pub(crate) operation: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            attempt: Duration::from_secs(30),
            operation: None,
        }
    }
}

impl Timeouts {
    /// The time allowed to connect.
    pub fn connect(mut self, timeout: Duration) -> Self {
        self.connect = timeout;
        self
    }

    /// The time allowed for one attempt.
    pub fn attempt(mut self, timeout: Duration) -> Self {
        self.attempt = timeout;
        self
    }

    /// The time allowed for the whole call, retries and waits included.
    pub fn operation(mut self, timeout: Duration) -> Self {
        self.operation = Some(timeout);
        self
    }

    /// The connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.connect
    }

    /// The attempt timeout.
    pub fn attempt_timeout(&self) -> Duration {
        self.attempt
    }

    /// The operation timeout, if there is one.
    pub fn operation_timeout(&self) -> Option<Duration> {
        self.operation
    }

    /// Every budget above zero.
    pub(crate) fn check(&self) -> Result<(), crate::ConfigError> {
        let zero = [
            ("connect", Some(self.connect)),
            ("attempt", Some(self.attempt)),
            ("operation", self.operation),
        ]
        .into_iter()
        .find(|(_, d)| d.is_some_and(|d| d.is_zero()));
        match zero {
            Some((name, _)) => Err(crate::ConfigError::Invalid {
                name: "timeouts",
                reason: format!("the {name} timeout must be above zero"),
            }),
            None => Ok(()),
        }
    }
}
