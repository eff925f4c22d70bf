//! The [`Client`]: cheap to clone, one connection pool and one rate limiter shared by
//! all clones; each call goes through the generated client and this crate's transport.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use trillet_api::types::{CallHistory, ErrorEnvelope};

use crate::batch::Batch;
use crate::config::ClientBuilder;
use crate::error::{ApiError, ConfigError, Error};
use crate::rate_limit::Limiter;
use crate::transport::{CallRecord, CallTransport, Exchange, Failure, Policy, record_call};

/// The longest id accepted: real ids are 24 hex digits.
const MAX_ID_LEN: usize = 1024;

/// What a client and its clones share: one generated client (with its connection
/// pool and this client's transport) and the policy.
struct Shared {
    base_url: String,
    api: trillet_api::Client,
    policy: Arc<Policy>,
    concurrency: usize,
}

/// A client for the Trillet call-history API.
///
/// ```no_run
/// # async fn run() -> Result<(), trillet::Error> {
/// let client = trillet::Client::from_env()?;
/// let call = client.call_history("65a7f3c2e4b0a1d2c3f4e5a6").await?;
/// println!("{:?} {:?}", call.status, call.summary);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.shared.base_url)
            .field("api_key", &"[redacted]")
            .field("retry", &self.shared.policy.retry)
            .field("timeout", &self.shared.policy.timeout)
            .field("max_body_bytes", &self.shared.policy.max_body_bytes)
            .finish_non_exhaustive()
    }
}

/// A record together with the exact JSON the server sent for it, for tools that must
/// pass through what the typed model does not name (unknown fields stay, integers
/// stay integers, key order is the server's).
#[derive(Clone, Debug)]
pub struct Raw<T> {
    record: T,
    json: Bytes,
}

/// A [`CallHistory`] with its exact JSON.
pub type RawCallHistory = Raw<CallHistory>;

impl<T> Raw<T> {
    /// The typed record.
    pub fn record(&self) -> &T {
        &self.record
    }

    /// The typed record, by value.
    pub fn into_record(self) -> T {
        self.record
    }

    /// The record's JSON exactly as received (valid UTF-8).
    pub fn json(&self) -> &str {
        // Checked in `Raw::new`; the fallback is unreachable.
        std::str::from_utf8(&self.json).unwrap_or_default()
    }

    pub(crate) fn new(record: T, json: Bytes) -> Result<Self, Error> {
        if std::str::from_utf8(&json).is_err() {
            return Err(Error::Decode {
                path: ".".into(),
                message: "the body is not UTF-8".into(),
            });
        }
        Ok(Self { record, json })
    }
}

impl Client {
    /// A builder with every setting at its default.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from `TRILLET_API_KEY`, `TRILLET_WORKSPACE_ID` and
    /// optionally `TRILLET_BASE_URL`.
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env()?.build()
    }

    pub(crate) fn from_builder(builder: ClientBuilder) -> Result<Self, ConfigError> {
        let base_url = builder.checked_base_url()?;
        let (api_key, workspace_id) = builder.auth_headers()?;
        let http = match builder.http_client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .user_agent(builder.user_agent.as_str())
                .connect_timeout(builder.connect_timeout)
                .redirect(crate::transport::redirect_policy())
                .build()
                .map_err(ConfigError::Http)?,
        };
        let policy = Arc::new(Policy {
            api_key,
            workspace_id,
            limiter: Limiter::new(builder.rate_limit),
            retry: builder.retry,
            timeout: builder.timeout,
            max_body_bytes: builder.max_body_bytes,
        });
        let transport = CallTransport {
            policy: Arc::clone(&policy),
        };
        let api = trillet_api::Client::new_with_client(
            &base_url,
            http,
            trillet_api::Hooks::new(Arc::new(transport)),
        );
        Ok(Self {
            shared: Arc::new(Shared {
                base_url,
                api,
                policy,
                concurrency: builder.concurrency,
            }),
        })
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The generated low-level client, sending through this client's credentials,
    /// rate limit, retries and body limit, for operations this crate does not wrap.
    /// Its errors are the generated `trillet_api::Error`.
    pub fn api(&self) -> &trillet_api::Client {
        &self.shared.api
    }

    /// Fetches one call-history record.
    pub async fn call_history(&self, id: &str) -> Result<CallHistory, Error> {
        self.fetch(id, false).await.map(|(record, _)| record)
    }

    /// Fetches one record and keeps the exact JSON the server sent beside it.
    pub async fn call_history_raw(&self, id: &str) -> Result<RawCallHistory, Error> {
        let (record, json) = self.fetch(id, true).await?;
        Raw::new(record, json)
    }

    /// Fetches many records with bounded concurrency under the shared rate limit;
    /// see [`Batch`] for the options.
    ///
    /// ```no_run
    /// use futures_util::StreamExt;
    /// # async fn run(client: trillet::Client) {
    /// let mut results = client.call_histories(["a1", "b2", "c3"]).concurrency(4).ordered(true).stream();
    /// while let Some((id, result)) = results.next().await {
    ///     match result {
    ///         Ok(call) => println!("{id}: {:?}", call.status),
    ///         Err(e) => eprintln!("{id}: {e}"),
    ///     }
    /// }
    /// # }
    /// ```
    pub fn call_histories<I>(&self, ids: I) -> Batch<I::IntoIter>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: Into<String>,
    {
        Batch::new(self.clone(), ids.into_iter(), self.shared.concurrency)
    }

    async fn fetch(&self, id: &str, keep_body: bool) -> Result<(CallHistory, Bytes), Error> {
        check_id(id)?;
        let operation = self.api().get_call_history().call_history_id(id).send();
        self.run(id, keep_body, operation).await
    }

    /// Runs one operation of the generated client, returning the decoded value with
    /// the body it came from, or a precise error from what the transport recorded.
    /// `subject` names what was asked for, for error messages; `keep_body` asks for
    /// the exact body of a success (otherwise it may be decoded without being kept).
    pub(crate) async fn run<T: serde::de::DeserializeOwned>(
        &self,
        subject: &str,
        keep_body: bool,
        operation: impl Future<
            Output = Result<trillet_api::ResponseValue<T>, trillet_api::Error<ErrorEnvelope>>,
        >,
    ) -> Result<(T, Bytes), Error> {
        let (result, record) = record_call(keep_body, operation).await;
        match result {
            Ok(value) => {
                let body = record.exchange.map(|e| e.body).unwrap_or_default();
                Ok((value.into_inner(), body))
            }
            Err(error) => Err(map_error::<T>(subject, error, record)),
        }
    }
}

/// Decodes a response body into a record; a failure names the JSON path of the
/// offending field.
///
/// ```
/// let err = trillet::decode_call_history(br#"{"_id":"x","startTime":"abc"}"#).unwrap_err();
/// assert!(err.to_string().contains("at `startTime`"), "{err}");
/// ```
pub fn decode_call_history(body: &[u8]) -> Result<CallHistory, Error> {
    decode_json(body)
}

/// Decodes JSON, naming the path of the offending field on failure.
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| Error::Decode {
            path: e.path().to_string(),
            message: e.inner().to_string(),
        })?;
    deserializer.end().map_err(|e| Error::Decode {
        path: ".".into(),
        message: e.to_string(),
    })?;
    Ok(value)
}

/// Refuses ids that cannot be sent as one path segment. The generated client's
/// `encode_path` leaves `.`, `..` and `\` unencoded; URL parsing then resolves dot
/// segments and, for http(s), reads `\` as `/`, so `\..\x` would reach another path.
fn check_id(id: &str) -> Result<(), Error> {
    let reason = if id.is_empty() {
        "it is empty"
    } else if id == "." || id == ".." {
        "a dot segment would change the request path"
    } else if id.contains('\\') {
        "a backslash is read as `/` in URLs and would change the request path"
    } else if id.len() > MAX_ID_LEN {
        "it is longer than 1024 bytes"
    } else {
        return Ok(());
    };
    Err(Error::InvalidId {
        id: id.chars().take(64).collect(),
        reason,
    })
}

fn map_error<T: serde::de::DeserializeOwned>(
    subject: &str,
    error: trillet_api::Error<ErrorEnvelope>,
    record: CallRecord,
) -> Error {
    use trillet_api::Error as Gen;
    let attempts = record.attempts.max(1);
    match error {
        Gen::Custom(message) => match record.failure {
            Some(Failure::BodyTooLarge { limit }) => Error::BodyTooLarge { limit },
            Some(Failure::Redirect { status, location }) => Error::Redirect { status, location },
            Some(Failure::Unreplayable) | None => Error::Config(ConfigError::Invalid {
                name: "request",
                reason: message,
            }),
        },
        Gen::ErrorResponse(value) => {
            let status = value.status();
            let retry_after =
                crate::retry::retry_after(value.headers(), std::time::SystemTime::now());
            let envelope = value.into_inner();
            Error::Api(Box::new(ApiError {
                status,
                code: Some(envelope.error.code),
                message: envelope.error.message,
                reset_at: envelope.error.reset_at,
                retry_after,
                attempts,
            }))
        }
        Gen::InvalidResponsePayload(body, _) => match &record.exchange {
            Some(exchange) if !exchange.status.is_success() => {
                api_error_from_body(exchange, attempts)
            }
            _ => match decode_json::<T>(&body) {
                Err(error) => error,
                // The generated decoder refused what ours accepts: report it plainly.
                Ok(_) => Error::Decode {
                    path: ".".into(),
                    message: "the body could not be decoded".into(),
                },
            },
        },
        Gen::UnexpectedResponse(response) => match &record.exchange {
            Some(exchange) => api_error_from_body(exchange, attempts),
            None => Error::Api(Box::new(ApiError {
                status: response.status(),
                code: None,
                message: String::new(),
                reset_at: None,
                retry_after: None,
                attempts,
            })),
        },
        Gen::CommunicationError(source)
        | Gen::ResponseBodyError(source)
        | Gen::InvalidUpgrade(source) => {
            if source.is_timeout() {
                Error::Timeout { attempts }
            } else {
                Error::Transport { attempts, source }
            }
        }
        Gen::InvalidRequest(_) => Error::InvalidId {
            id: subject.chars().take(64).collect(),
            reason: "the generated client refused it",
        },
    }
}

/// An API error from a body that is not (or not quite) Trillet's envelope, such as a
/// proxy's HTML error page: the envelope's fields where they are, else a snippet.
fn api_error_from_body(exchange: &Exchange, attempts: u32) -> Error {
    let envelope = serde_json::from_slice::<serde_json::Value>(&exchange.body).ok();
    let field = |name: &str| {
        envelope
            .as_ref()
            .and_then(|v| v.pointer(&format!("/error/{name}")))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let retry_after = crate::retry::retry_after(&exchange.headers, std::time::SystemTime::now());
    Error::Api(Box::new(ApiError {
        status: exchange.status,
        code: field("code"),
        message: field("message").unwrap_or_else(|| snippet(&exchange.body)),
        reset_at: crate::retry::reset_at(&exchange.body),
        retry_after,
        attempts,
    }))
}

/// The start of a body, on one line, for error messages.
fn snippet(body: &[u8]) -> String {
    const MAX: usize = 120;
    let text = String::from_utf8_lossy(body);
    let mut line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > MAX {
        line = line.chars().take(MAX).collect::<String>() + "…";
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_dot_segment_ids_are_refused_before_any_request() {
        for id in ["", ".", "..", "\\..\\x", "a\\b"] {
            assert!(
                matches!(check_id(id), Err(Error::InvalidId { .. })),
                "{id:?}"
            );
        }
        for id in [
            "...",
            "a/b",
            "%2e%2e",
            "../../v1",
            "65a7f3c2e4b0a1d2c3f4e5a6",
        ] {
            assert!(check_id(id).is_ok(), "{id:?}");
        }
        assert!(check_id(&"x".repeat(2000)).is_err());
    }

    #[test]
    fn decode_errors_name_the_json_path() {
        let err = decode_call_history(br#"{"cost":{"customer_charge":"free"}}"#).unwrap_err();
        assert!(
            err.to_string().contains("at `cost.customer_charge`"),
            "{err}"
        );
        assert!(matches!(
            decode_call_history(b""),
            Err(Error::Decode { .. })
        ));
        assert!(matches!(
            decode_call_history(b"[]"),
            Err(Error::Decode { .. })
        ));
        assert!(matches!(
            decode_call_history(br#"{"_id":"a"} x"#),
            Err(Error::Decode { .. })
        ));
    }

    #[test]
    fn snippets_are_short_and_on_one_line() {
        let html = format!("<html>\n  <body>{}</body>\n</html>", "x".repeat(500));
        let s = snippet(html.as_bytes());
        assert!(!s.contains('\n') && s.chars().count() <= 121, "{s}");
    }
}
