//! The one error type of this crate, with predicates for deciding what to do next.
//! Messages say what went wrong and what to check; none contains a secret.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;

/// Everything that can go wrong, from configuration to decoding.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client could not be configured.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// The id cannot name a call-history record; no request was sent.
    #[error("invalid call-history id {id:?}: {reason}")]
    InvalidId {
        /// The id as given.
        id: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// The API answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),

    /// The response body is not a record the spec allows.
    #[error("the response does not match the spec: at `{path}`: {message}")]
    Decode {
        /// JSON path of the offending field (`.` for the whole body).
        path: String,
        /// What the decoder expected.
        message: String,
    },

    /// The response body was larger than the configured limit.
    #[error(
        "the response body exceeds the limit of {limit} bytes; raise it with ClientBuilder::max_body_bytes"
    )]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },

    /// No response arrived in time.
    #[error("the request timed out{}; raise the timeout or check the network", after_attempts(*attempts))]
    Timeout {
        /// How many attempts were made.
        attempts: u32,
    },

    /// The server redirected to another origin; the request was not followed so the
    /// credentials stay with the configured host.
    #[error(
        "the server redirected ({status}) to another origin ({location}); not followed, so the API key is not sent there"
    )]
    Redirect {
        /// The redirect status.
        status: StatusCode,
        /// The `Location` header, if any.
        location: String,
    },

    /// Paging went wrong (for example the server repeated a page).
    #[error("listing stopped at page {page}: {reason}")]
    Pagination {
        /// The page number.
        page: u64,
        /// What went wrong.
        reason: String,
    },

    /// The connection failed or broke off.
    #[error("could not reach the API{}: {source}", after_attempts(*attempts))]
    Transport {
        /// How many attempts were made.
        attempts: u32,
        /// The underlying error (it names the URL, never a header).
        #[source]
        source: reqwest::Error,
    },
}

fn after_attempts(attempts: u32) -> String {
    if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

/// Configuration errors name the setting or environment variable to fix.
#[derive(Debug, thiserror::Error)]
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
    /// The `Retry-After` header, as a wait from when the response arrived.
    pub retry_after: Option<Duration>,
    /// How many attempts were made before giving up.
    pub attempts: u32,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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
        match self.status.as_u16() {
            401 => f.write_str("; check TRILLET_API_KEY"),
            403 => {
                f.write_str("; check TRILLET_WORKSPACE_ID (the key must belong to that workspace)")
            }
            404 => f.write_str("; check the id and the workspace"),
            429 => f.write_str("; lower the request rate (ClientBuilder::rate_limit)"),
            _ => Ok(()),
        }
    }
}

impl Error {
    /// The HTTP status, for API errors.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::Redirect { status, .. } => Some(*status),
            Error::Transport { source, .. } => source.status(),
            _ => None,
        }
    }

    /// The API's error code (`not_found`, `rate_limit_exceeded`, ...), when it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api(api) => api.code.as_deref(),
            _ => None,
        }
    }

    /// The API error details, for API errors.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            _ => None,
        }
    }

    /// Whether the record does not exist (404).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// Whether the API refused the request for its rate (429).
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
    }

    /// Whether the request timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// Whether the same request could succeed later (the client already retried it
    /// as often as its policy allows).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(api) => crate::retry::is_retryable_status(api.status),
            Error::Timeout { .. } | Error::Transport { .. } => true,
            _ => false,
        }
    }

    /// Whether the client's configuration is at fault.
    pub fn is_config(&self) -> bool {
        matches!(self, Error::Config(_))
    }
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
            attempts: 1,
        }))
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
        assert!(Error::Timeout { attempts: 3 }.is_timeout());
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
}
