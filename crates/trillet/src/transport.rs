//! How each request of the generated client is actually sent: credentials, rate limit,
//! retries with backoff and server hints, per-attempt timeouts, a bounded body read.
//!
//! It plugs into `trillet_api::Transport`, so the generated code still builds the URL
//! and decodes the body; this module only owns the exchange. Failures that are not
//! `reqwest` errors travel as a [`Failure`] in the response's extensions and are
//! turned into `Error::Custom` by the generated client's post hook. What a call's
//! caller needs afterwards (the exact body, the attempts) goes into a task-local
//! [`CallRecord`] when the call runs inside [`record_call`], so one generated client
//! serves every call.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

use backon::Retryable;
use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, LOCATION};
use reqwest::{ResponseBuilderExt, StatusCode};
use tracing::Instrument;
use trillet_api::transport::{BoxFuture, OperationInfo};

use crate::rate_limit::Limiter;
use crate::retry::{RetryPolicy, is_retryable_status, server_hint};

const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const X_WORKSPACE_ID: HeaderName = HeaderName::from_static("x-workspace-id");

/// The sending policy every call of one client (and its clones) shares.
pub(crate) struct Policy {
    pub(crate) api_key: HeaderValue,
    pub(crate) workspace_id: HeaderValue,
    pub(crate) limiter: Limiter,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeout: Duration,
    pub(crate) max_body_bytes: usize,
}

/// A response as received: kept so the caller can see the exact bytes.
#[derive(Clone, Debug)]
pub(crate) struct Exchange {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// Where the response came from; taken when the response is rebuilt.
    pub(crate) url: Option<url::Url>,
}

/// A failure that is not a `reqwest` error, carried in a stand-in response.
#[derive(Clone, Debug)]
pub(crate) enum Failure {
    BodyTooLarge {
        limit: usize,
    },
    Redirect {
        status: StatusCode,
        location: String,
    },
    /// The request has a streaming body that cannot be sent twice (never for a GET).
    Unreplayable,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::BodyTooLarge { limit } => write!(f, "response body exceeds {limit} bytes"),
            Failure::Redirect { status, location } => {
                write!(
                    f,
                    "redirect ({status}) to another origin refused: {location}"
                )
            }
            Failure::Unreplayable => f.write_str("the request body cannot be replayed"),
        }
    }
}

/// What one call leaves behind for its caller: the last exchange or failure, and
/// the number of attempts. Response headers are kept for error statuses only (the
/// error needs `Retry-After`); a success hands its headers to the decoder.
#[derive(Default, Debug)]
pub(crate) struct CallRecord {
    /// Whether the caller wants the exact body of a success (set before the call).
    pub(crate) keep_body: bool,
    pub(crate) exchange: Option<Exchange>,
    pub(crate) failure: Option<Failure>,
    pub(crate) attempts: u32,
}

tokio::task_local! {
    static CALL_RECORD: RefCell<CallRecord>;
}

/// Runs `call` (one operation of the generated client) and returns its output with
/// what the transport recorded about it; with `keep_body`, a success's exact body.
pub(crate) async fn record_call<F: Future>(keep_body: bool, call: F) -> (F::Output, CallRecord) {
    let record = CallRecord {
        keep_body,
        ..CallRecord::default()
    };
    let scoped = CALL_RECORD.scope(RefCell::new(record), call);
    tokio::pin!(scoped);
    let output = scoped.as_mut().await;
    let record = scoped
        .take_value()
        .map(RefCell::into_inner)
        .unwrap_or_default();
    (output, record)
}

/// The transport of a client's generated client.
pub(crate) struct CallTransport {
    pub(crate) policy: Arc<Policy>,
}

impl trillet_api::Transport for CallTransport {
    fn execute<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
        info: &'a OperationInfo,
    ) -> BoxFuture<'a, reqwest::Result<reqwest::Response>> {
        let span = tracing::info_span!(
            "trillet.request",
            operation = info.operation_id,
            path = request.url().path(),
            attempt = tracing::field::Empty,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
            retry_wait_ms = tracing::field::Empty,
        );
        Box::pin(self.run(client, request).instrument(span))
    }

    fn check(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        _info: &OperationInfo,
    ) -> Result<(), String> {
        match result
            .as_ref()
            .ok()
            .and_then(|r| r.extensions().get::<Failure>())
        {
            Some(failure) => Err(failure.to_string()),
            None => Ok(()),
        }
    }
}

/// A final response: read (the body is in hand) or passed on unread.
enum Received {
    Read(Exchange),
    Unread(reqwest::Response),
}

/// Why one attempt did not produce a final response.
enum Attempt {
    /// A retryable status, with the wait the server asked for.
    Retryable(Box<Exchange>, Option<Duration>),
    /// A connection error or timeout.
    Transport(reqwest::Error),
    /// Not retryable and not a response: stop.
    Failed(Failure),
}

impl Attempt {
    fn is_retryable(&self) -> bool {
        match self {
            Attempt::Retryable(..) => true,
            Attempt::Transport(e) => {
                e.is_timeout() || e.is_connect() || e.is_request() || e.is_body()
            }
            Attempt::Failed(_) => false,
        }
    }

    fn hint(&self) -> Option<Duration> {
        match self {
            Attempt::Retryable(_, hint) => *hint,
            _ => None,
        }
    }
}

impl CallTransport {
    async fn run(
        &self,
        client: &reqwest::Client,
        mut request: reqwest::Request,
    ) -> reqwest::Result<reqwest::Response> {
        let shared = &*self.policy;
        let headers = request.headers_mut();
        headers.insert(X_API_KEY, shared.api_key.clone());
        headers.insert(X_WORKSPACE_ID, shared.workspace_id.clone());

        let policy = &shared.retry;
        let deadline = policy.deadline.map(|d| Instant::now() + d);
        let attempts = AtomicU32::new(0);
        let request = &request;
        let attempt = || async {
            let n = attempts.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::Span::current().record("attempt", n);
            shared.limiter.acquire().await;
            let timeout = match deadline {
                Some(d) => shared
                    .timeout
                    .min(d.saturating_duration_since(Instant::now())),
                None => shared.timeout,
            };
            // A GET has no body, so it can always be cloned.
            let mut this = request
                .try_clone()
                .ok_or(Attempt::Failed(Failure::Unreplayable))?;
            *this.timeout_mut() = Some(timeout);
            let started = Instant::now();
            let mut response = client.execute(this).await.map_err(Attempt::Transport)?;
            let status = response.status();
            let span = tracing::Span::current();
            span.record("status", status.as_u16());
            if status.is_redirection() {
                // Our own client follows same-origin redirects only; anything still
                // here would take the credentials elsewhere.
                let location = header_text(response.headers(), LOCATION);
                tracing::warn!(%status, "redirect not followed");
                return Err(Attempt::Failed(Failure::Redirect { status, location }));
            }
            if !same_origin(response.url(), request.url()) {
                tracing::warn!("the HTTP client followed a redirect to another origin");
            }
            // Fast path: a success whose declared length is within the limit goes to
            // the decoder unread (hyper refuses a body longer than it declared),
            // unless the caller wants the exact body.
            if status.is_success()
                && !wants_body()
                && response
                    .content_length()
                    .is_some_and(|n| n <= shared.max_body_bytes as u64)
            {
                span.record("latency_ms", started.elapsed().as_millis() as u64);
                return Ok(Received::Unread(response));
            }
            let url = response.url().clone();
            let headers = std::mem::take(response.headers_mut());
            let body = read_limited(response, shared.max_body_bytes).await?;
            span.record("latency_ms", started.elapsed().as_millis() as u64);
            let exchange = Exchange {
                status,
                headers,
                body,
                url: Some(url),
            };
            if is_retryable_status(status) {
                let hint = server_hint(&exchange.headers, &exchange.body, SystemTime::now());
                Err(Attempt::Retryable(Box::new(exchange), hint))
            } else {
                Ok(Received::Read(exchange))
            }
        };

        let outcome = attempt
            .retry(policy.backoff())
            .sleep(tokio::time::sleep)
            .when(Attempt::is_retryable)
            .adjust(|failed, planned| {
                let wait = policy.wait(planned?, failed.hint());
                match deadline {
                    Some(d) if Instant::now() + wait > d => None,
                    _ => Some(wait),
                }
            })
            .notify(|failed, wait| {
                tracing::Span::current().record("retry_wait_ms", wait.as_millis() as u64);
                match failed {
                    Attempt::Retryable(e, _) => {
                        tracing::debug!(
                            status = e.status.as_u16(),
                            wait_ms = wait.as_millis() as u64,
                            "retrying"
                        )
                    }
                    Attempt::Transport(e) => {
                        tracing::debug!(
                            timeout = e.is_timeout(),
                            wait_ms = wait.as_millis() as u64,
                            "retrying after a transport error"
                        )
                    }
                    Attempt::Failed(_) => {}
                }
            })
            .await;

        let total = attempts.load(Ordering::Relaxed);
        match outcome {
            Ok(Received::Read(exchange)) => Ok(deliver(exchange, total)),
            Ok(Received::Unread(response)) => {
                remember(|r| r.attempts = total);
                Ok(response)
            }
            Err(Attempt::Retryable(exchange, _)) => Ok(deliver(*exchange, total)),
            Err(Attempt::Transport(error)) => {
                tracing::debug!(
                    timeout = error.is_timeout(),
                    attempts = total,
                    "request failed"
                );
                remember(|r| r.attempts = total);
                Err(error)
            }
            Err(Attempt::Failed(failure)) => {
                let response = failure_response(failure.clone());
                remember(|r| {
                    r.failure = Some(failure);
                    r.attempts = total;
                });
                Ok(response)
            }
        }
    }
}

/// The final response of a call, handed to the generated code; the call's record
/// keeps what its caller may need.
fn deliver(exchange: Exchange, attempts: u32) -> reqwest::Response {
    tracing::debug!(status = exchange.status.as_u16(), attempts, "response");
    let (response, kept) = exchange.into_response();
    remember(|r| {
        r.exchange = Some(kept);
        r.attempts = attempts;
    });
    response
}

/// Whether the current call wants the exact body of a success.
fn wants_body() -> bool {
    CALL_RECORD
        .try_with(|record| record.borrow().keep_body)
        .unwrap_or(false)
}

/// Updates the current call's record, when the call is being recorded.
fn remember(update: impl FnOnce(&mut CallRecord)) {
    // Outside `record_call` (the low-level client) there is nothing to update.
    let _ = CALL_RECORD.try_with(|record| update(&mut record.borrow_mut()));
}

/// Whether two URLs share scheme, host and port (compared without allocating).
fn same_origin(a: &url::Url, b: &url::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Reads the body, refusing to hold more than `limit` bytes. A body that arrives in
/// one chunk (the usual case for a record) is kept as is, without a copy.
async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Bytes, Attempt> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(Attempt::Failed(Failure::BodyTooLarge { limit }));
    }
    let too_large = || Attempt::Failed(Failure::BodyTooLarge { limit });
    let Some(first) = response.chunk().await.map_err(Attempt::Transport)? else {
        return Ok(Bytes::new());
    };
    if first.len() > limit {
        return Err(too_large());
    }
    let Some(second) = response.chunk().await.map_err(Attempt::Transport)? else {
        return Ok(first);
    };
    let mut body = BytesMut::from(first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
        next = response.chunk().await.map_err(Attempt::Transport)?;
    }
    Ok(body.freeze())
}

fn header_text(headers: &HeaderMap, name: HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

impl Exchange {
    /// A response for the generated code to decode, rebuilt from what was read, and
    /// what the call's record keeps of it (headers only for error statuses).
    fn into_response(self) -> (reqwest::Response, Exchange) {
        let kept = Exchange {
            status: self.status,
            headers: if self.status.is_success() {
                HeaderMap::new()
            } else {
                self.headers.clone()
            },
            body: self.body.clone(),
            url: None,
        };
        let mut response = http::Response::builder().status(self.status);
        // Passing the URL along spares reqwest parsing a placeholder URL.
        if let Some(url) = self.url {
            response = response.url(url);
        }
        let mut response = match response.body(self.body.clone()) {
            Ok(response) => response,
            // Unreachable: the status came from a response.
            Err(_) => http::Response::new(self.body),
        };
        *response.headers_mut() = self.headers;
        (reqwest::Response::from(response), kept)
    }
}

/// A stand-in response carrying a [`Failure`]; the post hook turns it into an error
/// before anything is decoded.
fn failure_response(failure: Failure) -> reqwest::Response {
    let mut response = http::Response::new(Bytes::new());
    response.extensions_mut().insert(failure);
    reqwest::Response::from(response)
}

/// The redirect policy of clients built by this crate: follow redirects within the
/// same origin (scheme, host, port), at most 5, and never to another origin, so the
/// `x-api-key` and `x-workspace-id` headers stay with the configured host. reqwest's
/// default policy would forward them: it strips only a fixed list such as
/// `Authorization` and `Cookie`.
pub fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if !same_origin || attempt.previous().len() > 5 {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}
