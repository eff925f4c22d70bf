//! How each request of the generated client is actually sent: credentials, rate limit,
//! retries with backoff and server hints, per-attempt timeouts, a bounded body read.
//!
//! It plugs into `trillet_api::Transport`, so the generated code still builds the URL
//! and decodes the body; this module only owns the exchange. Failures that are not
//! `reqwest` errors travel as a [`Failure`] in the response's extensions and are
//! turned into `Error::Custom` by the generated client's post hook.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

use backon::Retryable;
use bytes::{Bytes, BytesMut};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, LOCATION};
use tracing::Instrument;
use trillet_api::transport::{BoxFuture, OperationInfo};

use crate::rate_limit::Limiter;
use crate::retry::{RetryPolicy, is_retryable_status, server_hint};

const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const X_WORKSPACE_ID: HeaderName = HeaderName::from_static("x-workspace-id");

/// What every call of one client (and its clones) shares.
pub(crate) struct Shared {
    pub(crate) base_url: String,
    pub(crate) http: reqwest::Client,
    pub(crate) api_key: HeaderValue,
    pub(crate) workspace_id: HeaderValue,
    pub(crate) limiter: Limiter,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeout: Duration,
    pub(crate) max_body_bytes: usize,
    pub(crate) concurrency: usize,
}

/// A response as received: kept so the caller can see the exact bytes.
#[derive(Clone, Debug)]
pub(crate) struct Exchange {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
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
/// the number of attempts.
#[derive(Default, Debug)]
pub(crate) struct CallRecord {
    pub(crate) exchange: Option<Exchange>,
    pub(crate) failure: Option<Failure>,
    pub(crate) attempts: u32,
}

/// The transport for one call (or for the low-level client, without a record).
pub(crate) struct CallTransport {
    pub(crate) shared: Arc<Shared>,
    pub(crate) record: Option<Arc<std::sync::Mutex<CallRecord>>>,
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

/// Why one attempt did not produce a final response.
enum Attempt {
    /// A retryable status, with the wait the server asked for.
    Retryable(Exchange, Option<Duration>),
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
        let shared = &self.shared;
        let headers = request.headers_mut();
        headers.insert(X_API_KEY, shared.api_key.clone());
        headers.insert(X_WORKSPACE_ID, shared.workspace_id.clone());
        let origin = request.url().origin();

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
            let response = client.execute(this).await.map_err(Attempt::Transport)?;
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
            if response.url().origin() != origin {
                tracing::warn!("the HTTP client followed a redirect to another origin");
            }
            let headers = response.headers().clone();
            let body = read_limited(response, shared.max_body_bytes).await?;
            span.record("latency_ms", started.elapsed().as_millis() as u64);
            let exchange = Exchange {
                status,
                headers,
                body,
            };
            if is_retryable_status(status) {
                let hint = server_hint(&exchange.headers, &exchange.body, SystemTime::now());
                Err(Attempt::Retryable(exchange, hint))
            } else {
                Ok(exchange)
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
            Ok(exchange) | Err(Attempt::Retryable(exchange, _)) => {
                tracing::debug!(
                    status = exchange.status.as_u16(),
                    attempts = total,
                    "response"
                );
                let response = exchange_response(&exchange);
                self.remember(|r| {
                    r.exchange = Some(exchange);
                    r.attempts = total;
                });
                Ok(response)
            }
            Err(Attempt::Transport(error)) => {
                tracing::debug!(
                    timeout = error.is_timeout(),
                    attempts = total,
                    "request failed"
                );
                self.remember(|r| r.attempts = total);
                Err(error)
            }
            Err(Attempt::Failed(failure)) => {
                let response = failure_response(failure.clone());
                self.remember(|r| {
                    r.failure = Some(failure);
                    r.attempts = total;
                });
                Ok(response)
            }
        }
    }

    fn remember(&self, update: impl FnOnce(&mut CallRecord)) {
        if let Some(record) = &self.record {
            // A poisoned lock only means another thread panicked mid-update; the
            // record is plain data, so keep using it.
            let mut guard = record.lock().unwrap_or_else(|p| p.into_inner());
            update(&mut guard);
        }
    }
}

/// Reads the body, refusing to hold more than `limit` bytes.
async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Bytes, Attempt> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(Attempt::Failed(Failure::BodyTooLarge { limit }));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(Attempt::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(Attempt::Failed(Failure::BodyTooLarge { limit }));
        }
        body.extend_from_slice(&chunk);
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

/// A response for the generated code to decode, rebuilt from what was read.
fn exchange_response(exchange: &Exchange) -> reqwest::Response {
    let mut response = http::Response::new(exchange.body.clone());
    *response.status_mut() = exchange.status;
    *response.headers_mut() = exchange.headers.clone();
    reqwest::Response::from(response)
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
