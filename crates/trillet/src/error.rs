//! The one error type of this crate, with predicates for deciding what to do next.
//! Messages say what went wrong and what to check, on one line; none contains a secret.

use std::fmt::{self, Write as _};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Datelike as _, SecondsFormat, Utc};
use reqwest::StatusCode;
use trillet_api::Effect;

/// Everything that can go wrong, from configuration to decoding.
///
/// `Debug` reads like the message followed by its causes (see [`DebugChain`]), so
/// that `fn main() -> Result<(), Box<dyn std::error::Error>>` prints something a
/// person can act on.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client could not be configured.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// The id cannot name a call-history record; no request was sent.
    #[error("invalid call-history id {id:?}: {reason}")]
    InvalidId {
        /// The id as given (at most 64 characters of it).
        id: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// The request could not be built: the generated client refused a parameter,
    /// the HTTP client refused the request (a URL too long to send), or an
    /// [`OperationRequest`](crate::OperationRequest) cannot be sent (a placeholder
    /// without a value, a dot segment, a header or body that cannot be sent). No
    /// request was sent, and it is never retried: it would fail the same way.
    #[error("invalid request for {operation}: {reason}")]
    InvalidRequest {
        /// The operation id, as in the spec.
        operation: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The API answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),

    /// The API asked this client to wait longer than its policy allows (or past the
    /// call's deadline), so the call ended without sending this request.
    #[error("rate limited: {}; not sent", RetryAt(*retry_at, *wait))]
    RateLimited {
        /// When the API said requests may resume.
        retry_at: SystemTime,
        /// How long that was from when this error was made.
        wait: Duration,
    },

    /// The response body is not a record the spec allows.
    #[error("the response does not match the spec: at `{path}`: {message}")]
    Decode {
        /// JSON path of the offending field (`.` for the whole body).
        path: String,
        /// What the decoder expected.
        message: String,
        /// The body exactly as received (see [`Error::body`]).
        body: bytes::Bytes,
    },

    /// The response body arrived compressed although the client asked for none.
    #[error(
        "the response body is {encoding}-encoded (Content-Encoding: {encoding}), which this client neither asked for nor decodes"
    )]
    UnsupportedEncoding {
        /// The `Content-Encoding` the server sent.
        encoding: String,
    },

    /// The response body was larger than the configured limit.
    #[error("the response body exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },

    /// No response arrived in time.
    #[error("{stage}{}; raise the timeout or check the network", after_attempts(*attempts))]
    Timeout {
        /// Which budget ran out.
        stage: TimeoutStage,
        /// How many attempts were made.
        attempts: u32,
    },

    /// A redirect was not followed.
    #[error("{problem}")]
    Redirect {
        /// What went wrong, with the status and target.
        problem: RedirectProblem,
    },

    /// Paging went wrong (for example the server repeated a page).
    #[error("listing stopped at page {page}: {reason}")]
    Pagination {
        /// The page number.
        page: u64,
        /// What went wrong.
        reason: String,
    },

    /// A failure the client retries for a read, of a request that is not one and
    /// may have reached the server ([`Error::may_have_reached_server`]), so it was
    /// not sent again: the server may have acted on it (placed a call, sent a
    /// message, created a record), and the API has no idempotency key to make a
    /// repeat safe. The message says what it may have done and how to check; the
    /// accessors ([`status`](Error::status), [`is_timeout`](Error::is_timeout), …)
    /// describe the failure itself, and [`is_retryable`](Error::is_retryable) is
    /// `false`.
    #[error(
        "{error}; not retried: {operation} may have {}, so sending it again could do that twice; {}",
        effect.consequence(),
        effect.how_to_check()
    )]
    Unconfirmed {
        /// The operation id, as in the spec.
        operation: String,
        /// What the operation does in the real world.
        effect: Effect,
        /// The failure that ended the call.
        error: Box<Error>,
    },

    /// The connection failed, or broke off before the response was complete.
    #[error("could not reach the API: {cause}{}", after_attempts(*attempts))]
    Transport {
        /// The root cause, as far as it can be told.
        cause: TransportCause,
        /// How many attempts were made.
        attempts: u32,
        /// The underlying error (it names the URL, never a header); its chain has
        /// the details `cause` sums up.
        #[source]
        source: reqwest::Error,
    },
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An unconfirmed write's message holds its failure's: its causes follow.
        let causes = std::error::Error::source(self.failure());
        DebugChain(self, causes).fmt(f)
    }
}

impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        DebugChain(self, std::error::Error::source(self)).fmt(f)
    }
}

/// The message, then each cause on its own line (the shape `anyhow` prints), with
/// every control character escaped: an API error carries the server's own text,
/// and `Debug` output goes to terminals and logs unfiltered.
///
/// Written by hand because the derived `Debug` (`Config(MissingEnv("…"))`) hides
/// the message, and no crate turns one error's chain into `Debug` output.
struct DebugChain<'a>(
    &'a (dyn fmt::Display + 'a),
    Option<&'a (dyn std::error::Error + 'static)>,
);

impl fmt::Debug for DebugChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Escaped(f);
        write!(out, "{}", self.0)?;
        let mut source = self.1;
        if source.is_some() {
            out.0.write_str("\n\nCaused by:")?;
        }
        while let Some(cause) = source {
            out.0.write_str("\n    ")?;
            write!(out, "{cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// Writes through to the formatter with control characters as `\u{..}` escapes.
struct Escaped<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl fmt::Write for Escaped<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if c.is_control() {
                write!(self.0, "{}", c.escape_unicode())?;
            } else {
                self.0.write_char(c)?;
            }
        }
        Ok(())
    }
}

fn after_attempts(attempts: u32) -> String {
    if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

/// Which time budget ran out (see [`Timeouts`](crate::Timeouts)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutStage {
    /// Connecting took longer than the connect timeout.
    Connect,
    /// One attempt took longer than the attempt timeout.
    Attempt,
    /// The whole call, retries and waits included, reached its deadline.
    Operation,
}

impl fmt::Display for TimeoutStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutStage::Connect => "connecting to the API timed out",
            TimeoutStage::Attempt => "the request timed out",
            TimeoutStage::Operation => "the call reached its deadline",
        })
    }
}

/// The root cause of a [`Error::Transport`], read from the error's source chain.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportCause {
    /// Nothing listens at the address (`host:port`).
    Refused(String),
    /// The host name could not be resolved.
    Dns(String),
    /// The TLS handshake failed (certificate, protocol), with rustls' reason.
    Tls(String),
    /// The proxy could not be reached or refused the tunnel.
    Proxy,
    /// The response head was too large (too many or too long headers).
    HeadTooLarge,
    /// The response was not HTTP (a garbage status line, a malformed header).
    NotHttp,
    /// The connection broke while reading the response: closed or reset mid-body,
    /// or shorter than its `Content-Length`.
    BodyCut,
    /// The connection was reset or closed before a response arrived.
    Reset,
    /// Something else; the source chain has the details.
    Other(String),
}

impl fmt::Display for TransportCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportCause::Refused(at) => write!(f, "connection refused by {at}"),
            TransportCause::Dns(host) => write!(f, "the host name {host} could not be resolved"),
            TransportCause::Tls(reason) => write!(f, "the TLS handshake failed ({reason})"),
            TransportCause::Proxy => {
                f.write_str("the proxy could not be reached or refused the connection")
            }
            TransportCause::HeadTooLarge => {
                f.write_str("the response head is too large (too many or too long headers)")
            }
            TransportCause::NotHttp => f.write_str("the response is not valid HTTP"),
            TransportCause::BodyCut => {
                f.write_str("the connection broke while reading the response")
            }
            TransportCause::Reset => {
                f.write_str("the connection was closed or reset before a response arrived")
            }
            TransportCause::Other(text) => f.write_str(text),
        }
    }
}

/// Why a redirect was not followed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedirectProblem {
    /// A redirect to another origin (scheme, host, port): refused so the credentials
    /// stay with the configured host.
    OtherOrigin {
        /// The redirect status.
        status: StatusCode,
        /// The `Location` header.
        location: String,
    },
    /// The redirects came back to a URL already visited, or went on too long.
    Loop {
        /// The URL where the client stopped.
        url: String,
    },
    /// A redirect within the origin that the HTTP client did not follow (a
    /// caller-supplied client without redirects, or a status such as 300).
    NotFollowed {
        /// The redirect status.
        status: StatusCode,
        /// The `Location` header, if any.
        location: String,
    },
}

impl fmt::Display for RedirectProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedirectProblem::OtherOrigin { status, location } => write!(
                f,
                "the server redirected ({status}) to another origin ({location}); not followed, so the API key is not sent there"
            ),
            RedirectProblem::Loop { url } => {
                write!(
                    f,
                    "the server's redirects loop or go on too long (stopped at {url})"
                )
            }
            RedirectProblem::NotFollowed { status, location } => write!(
                f,
                "the server answered {status} with a redirect to {location:?} on the same origin, which the HTTP client did not follow"
            ),
        }
    }
}

/// Configuration errors name the setting or environment variable to fix.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required environment variable is not set or is empty.
    #[error("{0} is not set; export it or pass it to ClientBuilder")]
    MissingEnv(&'static str),
    /// A required builder setting was not given.
    #[error("{0} is required; set it on ClientBuilder or with ClientBuilder::from_env")]
    Missing(&'static str),
    /// A value is malformed.
    #[error("{name} is invalid: {reason}")]
    Invalid {
        /// The setting or variable.
        name: &'static str,
        /// What is wrong with it (never the value of a secret).
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client: {0}")]
    Http(#[source] reqwest::Error),
}

/// An error status from the API, with Trillet's error envelope when there was one.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The envelope's machine-readable `code`, e.g. `rate_limit_exceeded`.
    pub code: Option<String>,
    /// The envelope's `message`, or the start of a non-JSON body.
    pub message: String,
    /// The envelope's `reset_at` (rate-limit errors).
    pub reset_at: Option<DateTime<Utc>>,
    /// The wait the server asked for (the later of `Retry-After` and `reset_at`),
    /// from when the response arrived.
    pub retry_after: Option<Duration>,
    /// When the server said to try again: arrival plus [`retry_after`](Self::retry_after).
    pub retry_at: Option<SystemTime>,
    /// How many attempts were made before giving up.
    pub attempts: u32,
    /// The path (and query) that was requested, when known.
    pub path: Option<String>,
}

impl ApiError {
    /// The API's documented envelope code for a request its rate limiter refused.
    pub const RATE_LIMIT_CODE: &'static str = "rate_limit_exceeded";

    /// Whether the API refused the request for its rate before processing it: a
    /// 429 carrying the documented envelope code [`RATE_LIMIT_CODE`](Self::RATE_LIMIT_CODE).
    /// The docs describe only that rejection for a 429, and tell clients to retry
    /// it; a 429 with any other code (or none) may be the undocumented
    /// concurrent-call limit or a proxy's, and is not taken to prove that nothing
    /// happened.
    pub fn rejected_for_rate(&self) -> bool {
        self.status == StatusCode::TOO_MANY_REQUESTS
            && self.code.as_deref() == Some(Self::RATE_LIMIT_CODE)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the API answered {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        let message = self.message.trim_end_matches('.');
        if !message.is_empty() {
            write!(f, ": {message}")?;
        }
        if self.attempts > 1 {
            write!(f, " after {} attempts", self.attempts)?;
        }
        if let (Some(at), Some(wait)) = (self.retry_at, self.retry_after) {
            write!(f, "; {}", RetryAt(at, wait))?;
        }
        match self.status.as_u16() {
            401 => f.write_str("; check TRILLET_API_KEY"),
            403 => {
                f.write_str("; check TRILLET_WORKSPACE_ID (the key must belong to that workspace)")
            }
            404 => {
                f.write_str("; check the id and the workspace")?;
                match &self.path {
                    Some(path) => write!(f, " (requested {path})"),
                    None => Ok(()),
                }
            }
            429 => f.write_str("; lower the request rate"),
            _ => Ok(()),
        }
    }
}

/// "retry after 2026-12-02T10:00:00Z (in 24h)".
struct RetryAt(SystemTime, Duration);

impl fmt::Display for RetryAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at: Option<DateTime<Utc>> = DateTime::<Utc>::from_timestamp(
            self.0
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                .unwrap_or(0),
            0,
        );
        // A wait past what a calendar shows (`Retry-After: 18446744073709551615`)
        // has no instant: the epoch stands in for it, and only the wait is told.
        let at = at.filter(|at| self.0 > SystemTime::UNIX_EPOCH && at.year() <= 9999);
        match at {
            Some(at) => write!(
                f,
                "retry after {} (in {})",
                at.to_rfc3339_opts(SecondsFormat::Secs, true),
                Coarse(self.1)
            ),
            None => write!(f, "retry in {}", Coarse(self.1)),
        }
    }
}

/// A duration in its two largest units: `24h`, `1h30m`, `2m5s`, `800ms`.
/// (Hand-rolled: `humantime` prints every unit down to nanoseconds.)
struct Coarse(Duration);

impl fmt::Display for Coarse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        const CENTURY: u64 = 100 * 365 * 24 * 3600;
        if secs >= CENTURY {
            return f.write_str("over 100 years");
        }
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        match (h, m, s) {
            (0, 0, 0) => write!(f, "{}ms", self.0.subsec_millis()),
            (0, 0, s) => write!(f, "{s}s"),
            (0, m, 0) => write!(f, "{m}m"),
            (0, m, s) => write!(f, "{m}m{s}s"),
            (h, 0, _) => write!(f, "{h}h"),
            (h, m, _) => write!(f, "{h}h{m}m"),
        }
    }
}

impl Error {
    /// The failure itself: the error an [`Error::Unconfirmed`] holds, else this one.
    fn failure(&self) -> &Error {
        match self {
            Error::Unconfirmed { error, .. } => error.failure(),
            other => other,
        }
    }

    /// What the operation may have done although the call failed, when the client
    /// did not send it again for that reason ([`Error::Unconfirmed`]).
    pub fn effect(&self) -> Option<Effect> {
        match self {
            Error::Unconfirmed { effect, .. } => Some(*effect),
            _ => None,
        }
    }

    /// Whether the request may have taken effect although the call failed, and
    /// was therefore not sent again ([`Error::Unconfirmed`]): check before
    /// repeating it, as the message says how.
    pub fn is_unconfirmed(&self) -> bool {
        matches!(self, Error::Unconfirmed { .. })
    }

    /// The HTTP status, for API errors and redirects.
    pub fn status(&self) -> Option<StatusCode> {
        match self.failure() {
            Error::Api(api) => Some(api.status),
            Error::RateLimited { .. } => Some(StatusCode::TOO_MANY_REQUESTS),
            Error::Redirect {
                problem:
                    RedirectProblem::OtherOrigin { status, .. }
                    | RedirectProblem::NotFollowed { status, .. },
            } => Some(*status),
            _ => None,
        }
    }

    /// The API's error code (`not_found`, `rate_limit_exceeded`, ...), when it sent one.
    pub fn code(&self) -> Option<&str> {
        match self.failure() {
            Error::Api(api) => api.code.as_deref(),
            _ => None,
        }
    }

    /// The API error details, for API errors.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self.failure() {
            Error::Api(api) => Some(api),
            _ => None,
        }
    }

    /// The body of a response that does not match the spec ([`Error::Decode`]),
    /// exactly as the server sent it, so that a tool can still keep or analyse what
    /// arrived; `None` for other errors (an error status keeps its envelope in
    /// [`ApiError`]).
    pub fn body(&self) -> Option<&[u8]> {
        match self.failure() {
            Error::Decode { body, .. } if !body.is_empty() => Some(body),
            _ => None,
        }
    }

    /// Whether the record does not exist (404).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// Whether the API refused the request for its rate: a 429, or a call ended
    /// because the API asked the client to wait too long.
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
    }

    /// Whether a time budget ran out.
    pub fn is_timeout(&self) -> bool {
        matches!(self.failure(), Error::Timeout { .. })
    }

    /// Whether the connection failed or broke off.
    pub fn is_transport(&self) -> bool {
        matches!(self.failure(), Error::Transport { .. })
    }

    /// How long the server asked the client to wait before trying again, measured
    /// from when the error was made.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.failure() {
            Error::Api(api) => api.retry_after,
            Error::RateLimited { wait, .. } => Some(*wait),
            _ => None,
        }
    }

    /// When the server said requests may resume.
    pub fn retry_at(&self) -> Option<SystemTime> {
        match self.failure() {
            Error::Api(api) => api.retry_at,
            Error::RateLimited { retry_at, .. } => Some(*retry_at),
            _ => None,
        }
    }

    /// Whether this is a kind of failure the client retries (429, 500, 502, 503, 504,
    /// timeouts, refused, reset or broken connections, DNS failures): the same
    /// request may succeed later. The client already retried it as often as its
    /// policy allows, or stopped because the server asked for a longer wait.
    /// This is the one classifier: the client's retry loop asks it too, and, for
    /// an operation that is not a read, [`may_have_reached_server`](Self::may_have_reached_server)
    /// as well.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(api) => crate::retry::is_retryable_status(api.status),
            Error::RateLimited { .. } | Error::Timeout { .. } => true,
            Error::Transport { cause, .. } => matches!(
                cause,
                TransportCause::Refused(_)
                    | TransportCause::Dns(_)
                    | TransportCause::BodyCut
                    | TransportCause::Reset
                    | TransportCause::Other(_)
            ),
            _ => false,
        }
    }

    /// Whether the request may have reached the server (and the server may have
    /// acted on it) although the call failed: `false` only when it certainly did
    /// not. That is: connecting failed (refused, no such host, the TLS handshake
    /// or the proxy tunnel failed, connecting timed out), the request could not be
    /// built, the client's own wait ended the call before sending
    /// ([`Error::RateLimited`]), or the API's rate limiter refused it
    /// ([`ApiError::rejected_for_rate`]). A request whose [`Effect`] is not
    /// `Read` is never sent again once this holds ([`Error::Unconfirmed`]): the API
    /// has no idempotency key, so a repeat could place a second call or send a
    /// second message. A caller's own retry must ask the same question.
    pub fn may_have_reached_server(&self) -> bool {
        match self {
            Error::Api(api) => !api.rejected_for_rate(),
            Error::Timeout { stage, .. } => *stage != TimeoutStage::Connect,
            // reqwest's connect errors come from its connector (DNS, TCP, TLS
            // handshake, proxy tunnel): the request had not been written yet.
            Error::Transport { cause, source, .. } => {
                !(source.is_connect()
                    || matches!(cause, TransportCause::Refused(_) | TransportCause::Dns(_)))
            }
            Error::Config(_)
            | Error::InvalidId { .. }
            | Error::InvalidRequest { .. }
            | Error::RateLimited { .. } => false,
            _ => true,
        }
    }

    /// Whether the caller's input is at fault and nothing was sent: an id that
    /// cannot name a record ([`Error::InvalidId`]) or a request that cannot be built
    /// ([`Error::InvalidRequest`]). Sending it again fails the same way.
    pub fn is_invalid_request(&self) -> bool {
        matches!(self, Error::InvalidId { .. } | Error::InvalidRequest { .. })
    }

    /// Whether the client's configuration is at fault.
    pub fn is_config(&self) -> bool {
        matches!(self, Error::Config(_))
    }

    /// Sets the number of attempts on the variants that count them.
    pub(crate) fn with_attempts(mut self, n: u32) -> Self {
        self.set_attempts(n);
        self
    }

    fn set_attempts(&mut self, n: u32) {
        match self {
            Error::Unconfirmed { error, .. } => error.set_attempts(n),
            Error::Api(api) => api.attempts = n,
            Error::Timeout { attempts, .. } | Error::Transport { attempts, .. } => *attempts = n,
            _ => {}
        }
    }
}

/// Reads the root cause of a `reqwest` error from its source chain: typed where the
/// layers expose types (`std::io::Error`, `hyper::Error`, `rustls::Error`), by the
/// one fixed message where they do not (reqwest's private DNS error type).
pub(crate) fn transport_cause(error: &reqwest::Error) -> TransportCause {
    use std::error::Error as _;
    let authority = || {
        error
            .url()
            .map(|u| match (u.host_str(), u.port_or_known_default()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_owned(),
                _ => u.as_str().to_owned(),
            })
            .unwrap_or_else(|| "the server".into())
    };
    let host = || {
        error
            .url()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "of the server".into())
    };
    let mut deepest = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if text == "error resolving DNS" || text == "dns error" {
            return TransportCause::Dns(host());
        }
        if text.contains("tunnel") || text.contains("proxy") {
            return TransportCause::Proxy;
        }
        if let Some(tls) = find_rustls(cause) {
            return TransportCause::Tls(tls.to_string());
        }
        if let Some(h) = cause.downcast_ref::<hyper::Error>() {
            // `is_parse_too_large` exists only with hyper's server feature.
            if h.is_parse() && text.contains("too large") {
                return TransportCause::HeadTooLarge;
            }
            if h.is_parse() || h.is_parse_status() {
                return TransportCause::NotHttp;
            }
            if h.is_incomplete_message() {
                // Before the head (nothing came back) or inside the body.
                return if error.is_body() || error.is_decode() {
                    TransportCause::BodyCut
                } else {
                    TransportCause::Reset
                };
            }
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            match io.kind() {
                K::ConnectionRefused => return TransportCause::Refused(authority()),
                K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof
                    if error.is_body() || error.is_decode() =>
                {
                    return TransportCause::BodyCut;
                }
                K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                    return TransportCause::Reset;
                }
                _ => {}
            }
        }
        deepest = text;
        source = cause.source();
    }
    if error.is_body() || error.is_decode() {
        TransportCause::BodyCut
    } else {
        TransportCause::Other(deepest)
    }
}

/// rustls' error, which arrives wrapped in one or more `io::Error`s (whose `source()`
/// skips the wrapped error itself, so the chain walk alone never meets it).
fn find_rustls<'a>(mut error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    for _ in 0..8 {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        error = error.downcast_ref::<std::io::Error>()?.get_ref()?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> Error {
        Error::Api(Box::new(ApiError {
            status: StatusCode::from_u16(status).unwrap(),
            code: Some("x".into()),
            message: "m".into(),
            reset_at: None,
            retry_after: None,
            retry_at: None,
            attempts: 1,
            path: Some("/v2/api/call-history/x".into()),
        }))
    }

    #[test]
    fn debug_reads_like_the_message_with_causes_and_no_raw_control_characters() {
        let missing = Error::from(ConfigError::MissingEnv("TRILLET_API_KEY"));
        assert_eq!(
            format!("{missing:?}"),
            "TRILLET_API_KEY is not set; export it or pass it to ClientBuilder"
        );
        let boxed: Box<dyn std::error::Error> = Box::new(missing);
        assert!(format!("{boxed:?}").starts_with("TRILLET_API_KEY is not set"));

        let Error::Api(mut hostile) = api(500) else {
            unreachable!()
        };
        hostile.message = "boom\u{1b}[2J\r\nforged line".into();
        let debug = format!("{:?}", Error::Api(hostile));
        assert!(!debug.chars().any(char::is_control), "{debug}");
        assert!(
            debug.contains("boom\\u{1b}[2J\\u{d}\\u{a}forged line"),
            "{debug}"
        );
    }

    #[test]
    fn a_huge_wait_says_one_thing_not_an_instant_in_the_past() {
        // What `admit` builds when now + the wait overflows SystemTime.
        let huge = Error::RateLimited {
            retry_at: SystemTime::UNIX_EPOCH,
            wait: Duration::from_secs(u64::MAX),
        };
        assert_eq!(
            huge.to_string(),
            "rate limited: retry in over 100 years; not sent"
        );
        // Past year 9999 but representable: still only the wait.
        let far = Duration::from_secs(400_000 * 365 * 86_400);
        let far = Error::RateLimited {
            retry_at: SystemTime::UNIX_EPOCH + far,
            wait: far,
        };
        assert_eq!(
            far.to_string(),
            "rate limited: retry in over 100 years; not sent"
        );
        let day = Duration::from_secs(86_400);
        let near = Error::RateLimited {
            retry_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000) + day,
            wait: day,
        };
        assert_eq!(
            near.to_string(),
            "rate limited: retry after 2027-01-16T08:00:00Z (in 24h); not sent"
        );
    }

    #[test]
    fn debug_lists_each_cause_on_its_own_line() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::other("inner\u{7}"));
        assert_eq!(
            format!("{:?}", DebugChain(&e, std::error::Error::source(&e))),
            "outer\n\nCaused by:\n    inner\\u{7}"
        );
    }

    #[test]
    fn a_not_found_names_the_path_that_was_requested() {
        assert!(
            api(404)
                .to_string()
                .ends_with("check the id and the workspace (requested /v2/api/call-history/x)"),
            "{}",
            api(404)
        );
    }

    #[test]
    fn auth_errors_say_which_variable_to_check() {
        assert!(api(401).to_string().ends_with("check TRILLET_API_KEY"));
        assert!(api(403).to_string().contains("check TRILLET_WORKSPACE_ID"));
    }

    #[test]
    fn predicates_follow_the_status() {
        assert!(api(404).is_not_found() && !api(404).is_retryable());
        assert!(api(429).is_rate_limited() && api(429).is_retryable());
        assert!(api(503).is_retryable() && !api(400).is_retryable());
        assert_eq!(api(404).code(), Some("x"));
        let timeout = Error::Timeout {
            stage: TimeoutStage::Attempt,
            attempts: 3,
        };
        assert!(timeout.is_timeout() && timeout.is_retryable());
    }

    #[test]
    fn missing_variables_are_named() {
        let e = Error::from(ConfigError::MissingEnv("TRILLET_API_KEY"));
        assert_eq!(
            e.to_string(),
            "TRILLET_API_KEY is not set; export it or pass it to ClientBuilder"
        );
        assert!(e.is_config());
    }

    #[test]
    fn a_rate_limit_names_the_instant_and_the_wait() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_205_600); // 2026-12-02T10:00:00Z
        let e = Error::RateLimited {
            retry_at: at,
            wait: Duration::from_secs(86_400),
        };
        assert_eq!(
            e.to_string(),
            "rate limited: retry after 2026-12-02T10:00:00Z (in 24h); not sent"
        );
        assert!(e.is_rate_limited() && e.is_retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(86_400)));
        // A wait beyond any calendar still prints, without panicking.
        let far = Error::RateLimited {
            retry_at: SystemTime::UNIX_EPOCH + Duration::from_secs(u64::MAX / 4),
            wait: Duration::MAX,
        };
        assert!(far.to_string().contains("retry"), "{far}");
    }

    #[test]
    fn coarse_durations_keep_two_units() {
        let cases = [
            (Duration::from_millis(800), "800ms"),
            (Duration::from_secs(5), "5s"),
            (Duration::from_secs(125), "2m5s"),
            (Duration::from_secs(120), "2m"),
            (Duration::from_secs(5400), "1h30m"),
            (Duration::from_secs(86_400), "24h"),
        ];
        for (d, text) in cases {
            assert_eq!(Coarse(d).to_string(), text);
        }
    }
}
