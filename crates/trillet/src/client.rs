//! The [`Client`]: cheap to clone, one connection pool, rate limiter and pause shared
//! by all clones; every operation goes through the generated client and
//! [`Policy::send`](crate::request::Policy::send).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use bytes::Bytes;
use reqwest::Method;
use trillet_api::types::CallHistory;

use crate::batch::Batch;
use crate::config::{ClientBuilder, is_loopback};
use crate::error::{ConfigError, Error};
use crate::operation::{OperationRequest, RawResponse};
use crate::rate_limit::{Limiter, Pause};
use crate::request::{Hook, Policy, decode_json};

/// The longest call-history id sent, in bytes (real ids are 24 hex digits); a
/// longer one is refused before any request ([`Error::InvalidId`]).
pub const MAX_ID_LEN: usize = 1024;

/// The path of `get_call_history`, as the generated client sends it (the CLI's
/// tests against the spec-driven mock check that the two agree).
const GET_CALL_HISTORY_PATH: &str = "/v2/api/call-history/{callHistoryId}";

/// What a client and its clones share: one generated client (with its connection
/// pool and this client's transport) and the policy.
struct Shared {
    base_url: String,
    /// The generated client's HTTP client, for requests described at run time.
    http: reqwest::Client,
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
            .field("timeouts", &self.shared.policy.timeouts)
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

    /// The record and its body.
    pub(crate) fn into_parts(self) -> (T, Bytes) {
        (self.record, self.json)
    }

    /// A record whose JSON is known to be UTF-8 (or empty).
    pub(crate) fn unchecked(record: T, json: Bytes) -> Self {
        Self { record, json }
    }

    pub(crate) fn new(record: T, json: Bytes) -> Result<Self, Error> {
        if std::str::from_utf8(&json).is_err() {
            return Err(Error::Decode {
                path: ".".into(),
                message: "the body is not UTF-8".into(),
                body: json,
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
        builder.timeouts.check()?;
        let http = match builder.http_client {
            Some(client) => client,
            None => {
                let mut http = reqwest::Client::builder()
                    .user_agent(builder.user_agent.as_str())
                    .connect_timeout(builder.timeouts.connect)
                    .redirect(crate::request::redirect_policy());
                // Loopback traffic (a local mock) never goes through a proxy, whatever
                // HTTP_PROXY or ALL_PROXY say: the proxy would see it in clear text.
                // For https, a proxy only ever sees the CONNECT line.
                if url::Url::parse(&base_url).is_ok_and(|u| is_loopback(&u)) {
                    http = http.no_proxy();
                }
                http.build().map_err(ConfigError::Http)?
            }
        };
        let policy = Arc::new(Policy {
            api_key,
            workspace_id,
            limiter: Limiter::new(builder.rate_limit),
            pause: Pause::new(),
            retry: builder.retry,
            timeouts: builder.timeouts,
            max_body_bytes: builder.max_body_bytes,
            unmanaged: AtomicU64::new(0),
        });
        let hook = Hook {
            policy: Arc::clone(&policy),
        };
        let api = trillet_api::Client::new_with_client(
            &base_url,
            http.clone(),
            trillet_api::Hooks::new(Arc::new(hook)),
        );
        Ok(Self {
            shared: Arc::new(Shared {
                base_url,
                http,
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

    /// The generated low-level client, with this client's credentials, rate limit,
    /// timeouts and body limit, for code that wants the generated error type. Each
    /// of its requests is sent once: [`call`](Self::call) adds retries, server waits
    /// and [`Error`].
    pub fn api(&self) -> &trillet_api::Client {
        &self.shared.api
    }

    /// Sends any operation of the generated client with the whole policy: rate limit,
    /// client-wide pauses, retries, timeouts, body limit and credentials, returning
    /// this crate's [`Error`]. `operation` starts one attempt; it is called again for
    /// each retry.
    ///
    /// ```no_run
    /// # async fn run(client: trillet::Client) -> Result<(), trillet::Error> {
    /// let page = client
    ///     .call(|api| api.list_call_histories().limit(5u64).send())
    ///     .await?;
    /// println!("{} records", page.len());
    /// # Ok(()) }
    /// ```
    pub async fn call<'c, T, E, F, Fut>(&'c self, operation: F) -> Result<T, Error>
    where
        T: serde::de::DeserializeOwned,
        F: Fn(&'c trillet_api::Client) -> Fut,
        Fut: Future<Output = Result<trillet_api::ResponseValue<T>, trillet_api::Error<E>>>,
    {
        let api = &self.shared.api;
        let reply = self
            .shared
            .policy
            .send(false, false, || operation(api))
            .await?;
        Ok(reply.value)
    }

    /// Like [`call`](Self::call), keeping the exact body the server sent beside the
    /// decoded value.
    ///
    /// ```no_run
    /// # async fn run(client: trillet::Client) -> Result<(), trillet::Error> {
    /// let raw = client
    ///     .call_raw(|api| api.get_call_history().call_history_id("65a7f3c2e4b0a1d2c3f4e5a6").send())
    ///     .await?;
    /// println!("{}", raw.json());
    /// # Ok(()) }
    /// ```
    pub async fn call_raw<'c, T, E, F, Fut>(&'c self, operation: F) -> Result<Raw<T>, Error>
    where
        T: serde::de::DeserializeOwned,
        F: Fn(&'c trillet_api::Client) -> Fut,
        Fut: Future<Output = Result<trillet_api::ResponseValue<T>, trillet_api::Error<E>>>,
    {
        let api = &self.shared.api;
        let reply = self
            .shared
            .policy
            .send(true, false, || operation(api))
            .await?;
        Raw::new(reply.value, reply.body)
    }

    /// Sends a request described at run time ([`OperationRequest`]) with the whole
    /// policy of the typed calls: client-wide pause and rate limit, retries decided
    /// by [`Error::is_retryable`] (with the server's waits), timeouts, body limit,
    /// credentials and tracing. A 2xx returns the status, headers and exact body;
    /// any other status is the [`Error::Api`] a typed call gives (status, the error
    /// envelope's code and message when it decodes, the wait asked for).
    ///
    /// What cannot be sent (see [`OperationRequest`]) is [`Error::InvalidRequest`]
    /// before any request, without taking a rate-limit permit.
    ///
    /// ```no_run
    /// use trillet::{Method, OperationRequest};
    /// # async fn run(client: trillet::Client) -> Result<(), trillet::Error> {
    /// let request = OperationRequest::new(Method::GET, "/v2/api/call-history")
    ///     .operation_id("list_call_histories")
    ///     .query("limit", "5");
    /// match client.send_request(&request).await {
    ///     Ok(response) => println!("{}", String::from_utf8_lossy(response.body())),
    ///     Err(e) if e.status().is_some_and(|s| s.as_u16() == 400) => eprintln!("refused: {e}"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn send_request(&self, request: &OperationRequest) -> Result<RawResponse, Error> {
        let prepared = request.prepare(&self.shared.base_url)?;
        self.shared
            .policy
            .send_prepared(&self.shared.http, &prepared, false)
            .await
    }

    /// Fetches one call-history record.
    pub async fn call_history(&self, id: &str) -> Result<CallHistory, Error> {
        check_id(id)?;
        self.call(|api| api.get_call_history().call_history_id(id).send())
            .await
    }

    /// Fetches one record and keeps the exact JSON the server sent beside it.
    pub async fn call_history_raw(&self, id: &str) -> Result<RawCallHistory, Error> {
        check_id(id)?;
        self.call_raw(|api| api.get_call_history().call_history_id(id).send())
            .await
    }

    /// Fetches one record whose first rate-limit permit the caller already holds;
    /// with `keep_body`, with its exact JSON (else the JSON is empty).
    pub(crate) async fn call_history_prepaid(
        &self,
        id: &str,
        keep_body: bool,
    ) -> Result<RawCallHistory, Error> {
        check_id(id)?;
        let api = &self.shared.api;
        let reply = self
            .shared
            .policy
            .send(keep_body, true, || {
                api.get_call_history().call_history_id(id).send()
            })
            .await?;
        if keep_body {
            Raw::new(reply.value, reply.body)
        } else {
            Ok(Raw::unchecked(reply.value, Bytes::new()))
        }
    }

    /// The exact body of one record whose first rate-limit permit the caller
    /// already holds, not decoded: the same request, policy and errors as
    /// [`call_history_prepaid`](Self::call_history_prepaid), without the typed
    /// model (whose free-form maps can cost many times the body's size).
    pub(crate) async fn call_history_body_prepaid(&self, id: &str) -> Result<Bytes, Error> {
        check_id(id)?;
        let request = OperationRequest::new(Method::GET, GET_CALL_HISTORY_PATH)
            .operation_id("get_call_history")
            .path_param("callHistoryId", id);
        let prepared = request.prepare(&self.shared.base_url)?;
        let response = self
            .shared
            .policy
            .send_prepared(&self.shared.http, &prepared, true)
            .await?;
        Ok(response.into_body())
    }

    /// Waits for one rate-limit permit of this client.
    pub(crate) async fn permit(&self) {
        self.shared.policy.limiter.acquire().await;
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
    pub fn call_histories<I>(&self, ids: I) -> Batch
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: Into<String> + 'static,
    {
        let ids = futures_util::stream::iter(ids.into_iter().map(Into::into));
        Batch::new(self.clone(), Box::pin(ids), self.shared.concurrency)
    }

    /// Like [`call_histories`](Self::call_histories), for ids that arrive as a
    /// stream (a pipe, a queue): each is read only when a request slot is free, so
    /// memory stays flat however many there are.
    pub fn call_histories_from<S>(&self, ids: S) -> Batch
    where
        S: futures_util::Stream<Item = String> + Send + 'static,
    {
        Batch::new(self.clone(), Box::pin(ids), self.shared.concurrency)
    }

    /// Requests the hook saw outside a managed call (the low-level client).
    #[cfg(test)]
    pub(crate) fn unmanaged_requests(&self) -> u64 {
        self.shared
            .policy
            .unmanaged
            .load(std::sync::atomic::Ordering::Relaxed)
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

/// Refuses ids that cannot be sent as one path segment, by the one rule
/// ([`path_segment_problem`](crate::path_segment_problem)): the generated client's
/// `encode_path` leaves `.`, `..` and `\` unencoded; URL parsing then resolves dot
/// segments and, for http(s), reads `\` as `/`, so `\..\x` would reach another path.
/// An id is also at most [`MAX_ID_LEN`] bytes.
fn check_id(id: &str) -> Result<(), Error> {
    let reason = if let Some(reason) = crate::path_segment_problem(id) {
        reason
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
}
