//! The path of one call, top to bottom: wait out a client-wide pause and take a
//! rate-limit permit → run one attempt under its timeout → classify the outcome →
//! wait → retry. Body capture and error mapping happen here too; nothing else in
//! the crate sends a request.
//!
//! **Why there is a side channel.** The generated client builds each request and
//! decodes each response itself; the only code that sees the HTTP exchange is its
//! `exec` hook ([`trillet_api::Transport`]), whose only output is a
//! `reqwest::Response`. So the hook reports what it saw of an attempt (status, body
//! for the caller, a fault) in one task-local [`Seen`], scoped around that attempt by
//! [`Call::attempt`]; that is the only state that crosses, and the loop reads it as
//! the authority on how the attempt went. A request sent outside such a scope (the
//! low-level client of [`Client::api`](crate::Client::api)) is sent once, with the
//! credentials, a permit and the timeouts, and counted in [`Policy::unmanaged`]; a
//! test checks that no call of this crate's own is.
//!
//! **Requests described at run time** ([`crate::OperationRequest`]) have no generated
//! code around them: [`Policy::send_prepared`] runs the same loop, and each of its
//! attempts calls [`dispatch`] (the function the hook calls) inside the same scope,
//! then stops where the generated code would on a stand-in response. So both kinds
//! of request share admission, timeouts, classification, waits, credentials, body
//! capture, error mapping and logs.
//!
//! **Writes are sent at most once once they may have arrived.** The API has no
//! idempotency key, so every operation's real-world effect comes from the spec
//! (`x-trillet-effect`, compiled into [`trillet_api::operation_effect`]) or, for a
//! run-time request, from [`crate::OperationRequest::effect`] and else its method.
//! An attempt that failed in a retryable way is repeated only when the effect is
//! repeatable (a read) or the failure proves the server never acted on it: a refused
//! or unresolvable connection, a connect timeout, or a 429 `rate_limit_exceeded`.
//! Anything else ends in [`Error::Unconfirmed`], which says what may have happened
//! and where to check.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use reqwest::header::{CONTENT_ENCODING, HeaderMap, HeaderName, HeaderValue, LOCATION};
use reqwest::{ResponseBuilderExt, StatusCode};
use tracing::Instrument;
use trillet_api::transport::{BoxFuture, OperationInfo};

use crate::error::{ApiError, Error, RedirectProblem, TimeoutStage, transport_cause};
use crate::operation::{Prepared, RawResponse};
use crate::rate_limit::{Limiter, Pause};
use crate::retry::{RetryPolicy, server_hint};
use crate::timeouts::Timeouts;
use trillet_api::Effect;

const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const X_WORKSPACE_ID: HeaderName = HeaderName::from_static("x-workspace-id");

/// The sending policy every call of one client (and its clones) shares.
pub(crate) struct Policy {
    pub(crate) api_key: HeaderValue,
    pub(crate) workspace_id: HeaderValue,
    pub(crate) limiter: Limiter,
    /// Set when the API asks for a wait: every call of the client waits it out.
    pub(crate) pause: Pause,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeouts: Timeouts,
    pub(crate) max_body_bytes: usize,
    /// Requests the hook saw outside a [`Call`] (the low-level client).
    pub(crate) unmanaged: AtomicU64,
}

/// What a successful call returns: the decoded value and, when asked for, the exact
/// body it came from (empty otherwise).
pub(crate) struct Reply<T> {
    pub(crate) value: T,
    pub(crate) body: Bytes,
}

/// The generated client's result for one attempt.
type Generated<T, E> = Result<trillet_api::ResponseValue<T>, trillet_api::Error<E>>;

impl Policy {
    /// Sends one operation with the whole policy. `make` starts one attempt of the
    /// generated operation (it is called again for each retry); with `keep_body`,
    /// the reply carries the exact body of the success; with `prepaid`, the caller
    /// already holds the first attempt's rate-limit permit (a batch takes them in
    /// input order).
    pub(crate) async fn send<T, E, F, Fut>(
        &self,
        keep_body: bool,
        prepaid: bool,
        make: F,
    ) -> Result<Reply<T>, Error>
    where
        T: serde::de::DeserializeOwned,
        F: Fn() -> Fut,
        Fut: Future<Output = Generated<T, E>>,
    {
        let span = tracing::info_span!(
            "trillet.call",
            operation = tracing::field::Empty,
            attempts = tracing::field::Empty,
        );
        let mut call = Call::new(self, keep_body);
        call.prepaid = prepaid;
        let result = async {
            loop {
                call.admit().await?;
                match call.attempt(&make).await {
                    Ok(reply) => return Ok(reply),
                    Err(error) => call.retry_or_give_up(error).await?,
                }
            }
        }
        .instrument(span.clone())
        .await;
        span.record("attempts", call.attempts);
        result
    }
}

/// One call's state on its way through [`Policy::send`].
pub(crate) struct Call<'p> {
    policy: &'p Policy,
    keep_body: bool,
    /// The end of the operation budget, if there is one.
    deadline: Option<Instant>,
    /// The planned backoffs still available, one per retry.
    schedule: backon::ExponentialBackoff,
    attempts: u32,
    /// Set when the API throttled the last attempt: since when, and the wait it asked.
    throttled: Option<(Instant, Duration)>,
    /// Whether the next attempt's permit is already taken.
    prepaid: bool,
    /// The operation, as the last attempt named it.
    operation: Cow<'static, str>,
    /// What the operation does, as the last attempt's exchange knew it (`None`
    /// until one got that far): it decides whether a failure may be retried.
    effect: Option<Effect>,
}

impl<'p> Call<'p> {
    fn new(policy: &'p Policy, keep_body: bool) -> Self {
        Self {
            policy,
            keep_body,
            deadline: policy
                .timeouts
                .operation
                .and_then(|d| Instant::now().checked_add(d)),
            schedule: policy.retry.schedule(),
            attempts: 0,
            throttled: None,
            prepaid: false,
            operation: Cow::Borrowed(""),
            effect: None,
        }
    }

    /// Waits until the client may send: past any client-wide pause, then for a
    /// rate-limit permit. A pause longer than the policy accepts (or than the
    /// deadline leaves) ends the call with the instant the API named.
    async fn admit(&mut self) -> Result<(), Error> {
        loop {
            if let Some(rest) = self.policy.pause.remaining() {
                if rest > self.policy.retry.max_wait || !self.fits(rest) {
                    return Err(Error::RateLimited {
                        retry_at: SystemTime::now()
                            .checked_add(rest)
                            .unwrap_or(SystemTime::UNIX_EPOCH),
                        wait: rest,
                    });
                }
                tokio::time::sleep(rest).await;
            }
            if std::mem::take(&mut self.prepaid) {
                break;
            }
            let permit = self.policy.limiter.acquire();
            match self.left() {
                Some(left) => tokio::time::timeout(left, permit)
                    .await
                    .map_err(|_| self.timed_out(TimeoutStage::Operation))?,
                None => permit.await,
            }
            // A pause may have begun while this call waited for its permit.
            if self.policy.pause.remaining().is_none() {
                break;
            }
        }
        if let Some((since, asked)) = self.throttled.take() {
            tracing::warn!(
                attempt = self.attempts + 1,
                waited_ms = since.elapsed().as_millis() as u64,
                asked_ms = asked.as_millis() as u64,
                "throttled by the API; resuming"
            );
        }
        Ok(())
    }

    /// One attempt of the operation, under the attempt timeout (cut to what the
    /// deadline leaves), with what the hook saw turned into the outcome.
    async fn attempt<T, E, F, Fut>(&mut self, make: &F) -> Result<Reply<T>, Error>
    where
        T: serde::de::DeserializeOwned,
        F: Fn() -> Fut,
        Fut: Future<Output = Generated<T, E>>,
    {
        self.attempts += 1;
        let attempt_budget = self.policy.timeouts.attempt;
        let (budget, stage) = match self.left() {
            Some(left) if left < attempt_budget => (left, TimeoutStage::Operation),
            _ => (attempt_budget, TimeoutStage::Attempt),
        };
        let started = Instant::now();
        let seen = RefCell::new(Seen::new(self.keep_body, self.attempts));
        let scoped = SEEN.scope(seen, tokio::time::timeout(budget, make()));
        tokio::pin!(scoped);
        let result = scoped.as_mut().await;
        let seen = scoped
            .take_value()
            .map(RefCell::into_inner)
            .unwrap_or_default();
        let latency_ms = started.elapsed().as_millis() as u64;
        self.operation = seen.operation.clone();
        self.effect = seen.effect.or(self.effect);
        let (operation, status, bytes) = (
            seen.operation.clone(),
            seen.status.map(|s| s.as_u16()),
            seen.bytes,
        );
        let outcome = match result {
            Ok(result) => seen.outcome(result),
            Err(_elapsed) => Err(self.timed_out(stage)),
        };
        match &outcome {
            Ok(_) => tracing::debug!(
                operation = &*operation,
                attempt = self.attempts,
                status,
                latency_ms,
                bytes,
                "attempt finished"
            ),
            Err(error) => tracing::debug!(
                operation = &*operation,
                attempt = self.attempts,
                status,
                latency_ms,
                bytes,
                %error,
                "attempt failed"
            ),
        }
        outcome
    }

    /// After a failed attempt: `Ok` once the wait before the next attempt is over, or
    /// the error to end the call with. [`Error::is_retryable`] decides what is
    /// retried, and only for a read: a request with any other effect that may
    /// have reached the server ([`Error::may_have_reached_server`]) ends the call
    /// as [`Error::Unconfirmed`], since the API has no idempotency key. An
    /// operation whose effect is not known yet (no attempt reached the exchange)
    /// counts as a write. A server's wait is obeyed in full or ends the call.
    async fn retry_or_give_up(&mut self, error: Error) -> Result<(), Error> {
        let error = error.with_attempts(self.attempts);
        if !error.is_retryable() {
            return Err(error);
        }
        let hint = error.retry_after();
        if let Some(hint) = hint {
            // The API asked the client, not just this request, to wait.
            self.policy.pause.extend(hint);
        }
        let effect = self.effect.unwrap_or(Effect::Write);
        if !effect.is_repeatable() && error.may_have_reached_server() {
            tracing::warn!(
                operation = &*self.operation,
                attempt = self.attempts,
                %effect,
                %error,
                "not retried: the request may have taken effect"
            );
            return Err(Error::Unconfirmed {
                operation: operation_name(self.operation.clone()),
                effect,
                error: Box::new(error),
            });
        }
        let Some(planned) = self.schedule.next() else {
            return Err(error);
        };
        let Some(wait) = self.policy.retry.wait(planned, hint) else {
            return Err(error);
        };
        if !self.fits(wait) {
            return Err(error);
        }
        if error.is_rate_limited() {
            self.throttled = Some((Instant::now(), wait));
        } else {
            tracing::debug!(
                attempt = self.attempts,
                wait_ms = wait.as_millis() as u64,
                %error,
                "retrying"
            );
        }
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// What is left of the operation budget (`None`: no deadline).
    fn left(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Whether a wait of `wait` from now ends within the deadline.
    fn fits(&self, wait: Duration) -> bool {
        self.left().is_none_or(|left| wait <= left)
    }

    fn timed_out(&self, stage: TimeoutStage) -> Error {
        Error::Timeout {
            stage,
            attempts: self.attempts,
        }
    }
}

tokio::task_local! {
    /// What the hook saw of the attempt in progress; see the module docs.
    static SEEN: RefCell<Seen>;
}

/// What the hook saw of one attempt.
#[derive(Default)]
pub(crate) struct Seen {
    /// What the operation does: set before the exchange for a request described
    /// at run time, else by [`dispatch`] from the spec's table or the method.
    effect: Option<Effect>,
    /// Whether the caller wants the exact body of a success (set before the attempt).
    keep_body: bool,
    /// Which attempt of the call this is.
    attempt: u32,
    operation: Cow<'static, str>,
    status: Option<StatusCode>,
    /// Body bytes received (the declared length on the unread fast path).
    bytes: u64,
    /// The exact body of a success, when asked for.
    body: Option<Bytes>,
    /// An error status, read whole: the loop makes the error from it. Boxed, like
    /// `fault`, because tokio swaps the whole value in and out of the task-local on
    /// every poll, and these are rare.
    error_status: Option<Box<ErrorResponse>>,
    /// Why the attempt failed in the hook.
    fault: Option<Box<Fault>>,
}

/// An error status as received.
pub(crate) struct ErrorResponse {
    status: StatusCode,
    /// The path and query requested.
    path: String,
    headers: HeaderMap,
    body: Bytes,
    /// When it arrived, for the server's waits.
    at: SystemTime,
}

/// A failure found by the hook rather than by `reqwest` or the decoder.
enum Fault {
    BodyTooLarge {
        limit: usize,
    },
    Redirect(RedirectProblem),
    Encoding(String),
    /// Reading the body failed (the connection broke).
    Body(reqwest::Error),
}

impl Seen {
    fn new(keep_body: bool, attempt: u32) -> Self {
        Self {
            keep_body,
            attempt,
            ..Self::default()
        }
    }

    /// The attempt's outcome: what the hook saw wins over what the generated code
    /// made of the stand-in response it was given.
    fn outcome<T, E>(self, result: Generated<T, E>) -> Result<Reply<T>, Error>
    where
        T: serde::de::DeserializeOwned,
    {
        if let Some(fault) = self.fault {
            return Err(match *fault {
                Fault::BodyTooLarge { limit } => Error::BodyTooLarge { limit },
                Fault::Redirect(problem) => Error::Redirect { problem },
                Fault::Encoding(encoding) => Error::UnsupportedEncoding { encoding },
                Fault::Body(source) => reqwest_error(source),
            });
        }
        if let Some(response) = self.error_status {
            return Err(api_error(&response));
        }
        use trillet_api::Error as Gen;
        match result {
            Ok(value) => Ok(Reply {
                value: value.into_inner(),
                body: self.body.unwrap_or_default(),
            }),
            Err(Gen::InvalidResponsePayload(body, _)) => Err(match decode_json::<T>(&body) {
                Err(error) => error,
                // The generated decoder refused what ours accepts: say so plainly.
                Ok(_) => Error::Decode {
                    path: ".".into(),
                    message: "the body could not be decoded".into(),
                    body: body.clone(),
                },
            }),
            // A request the HTTP client could not build fails every attempt the same
            // way: the caller's error, not the network's.
            Err(Gen::CommunicationError(e)) if e.is_builder() => {
                Err(build_error(self.operation, e))
            }
            Err(
                Gen::CommunicationError(e) | Gen::ResponseBodyError(e) | Gen::InvalidUpgrade(e),
            ) => Err(reqwest_error(e)),
            Err(Gen::ErrorResponse(value)) => Err(status_error(value.status(), "")),
            Err(Gen::UnexpectedResponse(response)) => Err(status_error(
                response.status(),
                "a status the spec does not document for this operation",
            )),
            Err(Gen::InvalidRequest(reason) | Gen::Custom(reason)) => Err(Error::InvalidRequest {
                operation: operation_name(self.operation),
                reason,
            }),
        }
    }
}

/// The operation's id for an error; a request refused before the hook saw it has
/// none yet (`request`, as an [`OperationRequest`](crate::OperationRequest) without
/// one is named).
fn operation_name(operation: Cow<'static, str>) -> String {
    if operation.is_empty() {
        "request".to_owned()
    } else {
        operation.into_owned()
    }
}

/// A request `reqwest` refused to build (a URL it cannot turn into an HTTP URI, a
/// header it refuses), as [`Error::InvalidRequest`]: named by its cause, not by the
/// URL, which can be as long as the value that broke it.
fn build_error(operation: Cow<'static, str>, error: reqwest::Error) -> Error {
    use std::error::Error as _;
    let length = error
        .url()
        .map(|url| format!(" (its URL is {} bytes)", url.as_str().len()))
        .unwrap_or_default();
    let error = error.without_url();
    let cause = error
        .source()
        .map_or_else(|| error.to_string(), ToString::to_string);
    Error::InvalidRequest {
        operation: operation_name(operation),
        reason: format!(
            "the request cannot be built{length}: {}",
            snippet(cause.as_bytes())
        ),
    }
}

/// A `reqwest` error as this crate's error: redirect, timeout or transport.
fn reqwest_error(error: reqwest::Error) -> Error {
    if error.is_redirect() {
        let url = error.url().map(|u| u.to_string()).unwrap_or_default();
        return Error::Redirect {
            problem: RedirectProblem::Loop { url },
        };
    }
    if error.is_timeout() {
        let stage = if error.is_connect() {
            TimeoutStage::Connect
        } else {
            TimeoutStage::Attempt
        };
        return Error::Timeout { stage, attempts: 1 };
    }
    Error::Transport {
        cause: transport_cause(&error),
        attempts: 1,
        source: error,
    }
}

fn status_error(status: StatusCode, message: &str) -> Error {
    Error::Api(Box::new(ApiError {
        status,
        code: None,
        message: message.to_owned(),
        reset_at: None,
        retry_after: None,
        retry_at: None,
        attempts: 1,
        path: None,
    }))
}

/// The path and query of a URL, as a reader of an error wants to see it.
fn path_of(url: &url::Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// An API error from an error response: Trillet's envelope where it is (read
/// leniently, so a partial envelope still gives its fields), else a snippet of the
/// body (a proxy's HTML page), with the wait the server asked for.
fn api_error(response: &ErrorResponse) -> Error {
    let envelope = serde_json::from_slice::<serde_json::Value>(&response.body).ok();
    let field = |name: &str| {
        envelope
            .as_ref()
            .and_then(|v| v.pointer(&format!("/error/{name}")))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let reset_at = field("reset_at")
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(&at).ok())
        .map(|at| at.with_timezone(&chrono::Utc));
    let retry_after = server_hint(&response.headers, reset_at, response.at);
    Error::Api(Box::new(ApiError {
        status: response.status,
        code: field("code"),
        message: field("message").unwrap_or_else(|| snippet(&response.body)),
        reset_at,
        retry_after,
        retry_at: retry_after.and_then(|wait| response.at.checked_add(wait)),
        attempts: 1,
        path: Some(response.path.clone()),
    }))
}

/// The start of a body (or of any long text), on one line, for error messages.
pub(crate) fn snippet(body: &[u8]) -> String {
    const MAX: usize = 120;
    let text = String::from_utf8_lossy(body);
    let mut line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > MAX {
        line = line.chars().take(MAX).collect::<String>() + "…";
    }
    line
}

/// Decodes JSON, naming the path of the offending field on failure.
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| Error::Decode {
            path: e.path().to_string(),
            message: e.inner().to_string(),
            body: Bytes::copy_from_slice(body),
        })?;
    deserializer.end().map_err(|e| Error::Decode {
        path: ".".into(),
        message: e.to_string(),
        body: Bytes::copy_from_slice(body),
    })?;
    Ok(value)
}

/// The hook of a client's generated client: every request goes through it.
pub(crate) struct Hook {
    pub(crate) policy: Arc<Policy>,
}

impl trillet_api::Transport for Hook {
    fn execute<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
        info: &'a OperationInfo,
    ) -> BoxFuture<'a, reqwest::Result<reqwest::Response>> {
        Box::pin(dispatch(
            &self.policy,
            client,
            request,
            Cow::Borrowed(info.operation_id),
        ))
    }

    fn check(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        _info: &OperationInfo,
    ) -> Result<(), String> {
        match result
            .as_ref()
            .ok()
            .and_then(|r| r.extensions().get::<Handled>())
        {
            Some(Handled(text)) => Err(text.clone()),
            None => Ok(()),
        }
    }
}

/// Where every request of a client leaves: the credentials are set here and only
/// here; inside a managed call (a [`Call`] attempt) the exchange reports to the
/// loop, outside one (the low-level client) it is sent once and counted.
async fn dispatch(
    policy: &Policy,
    client: &reqwest::Client,
    mut request: reqwest::Request,
    operation: Cow<'static, str>,
) -> reqwest::Result<reqwest::Response> {
    let headers = request.headers_mut();
    headers.insert(X_API_KEY, policy.api_key.clone());
    headers.insert(X_WORKSPACE_ID, policy.workspace_id.clone());
    let method = request.method().clone();
    let managed = SEEN
        .try_with(|seen| {
            let mut seen = seen.borrow_mut();
            seen.operation = operation.clone();
            if seen.effect.is_none() {
                seen.effect = Some(
                    trillet_api::operation_effect(&operation)
                        .unwrap_or_else(|| Effect::for_method(method.as_str())),
                );
            }
            (seen.keep_body, seen.attempt)
        })
        .ok();
    match managed {
        Some((keep_body, attempt)) => {
            if attempt == 1 {
                tracing::Span::current().record("operation", &*operation);
            }
            exchange(policy, client, request, Some(keep_body)).await
        }
        None => {
            policy.unmanaged.fetch_add(1, Ordering::Relaxed);
            policy.limiter.acquire().await;
            *request.timeout_mut() = Some(policy.timeouts.attempt);
            exchange(policy, client, request, None).await
        }
    }
}

/// The `api-version` header the generated operations send (the spec's
/// `info.version` at codegen time); requests described at run time send it too.
pub(crate) fn api_version() -> &'static str {
    <trillet_api::Client as trillet_api::ClientInfo<trillet_api::Hooks>>::api_version()
}

/// What a request described at run time gives back on success: the status and
/// headers (the body is the reply's). It is never decoded from a body: `Policy::send`
/// asks its replies to be `Deserialize` only to name the field of a decode error,
/// which this reply cannot have, so every field is skipped.
#[derive(Default, serde::Deserialize)]
pub(crate) struct Head {
    #[serde(skip)]
    status: StatusCode,
    #[serde(skip)]
    headers: HeaderMap,
}

impl Policy {
    /// Sends a request described at run time with the whole policy, as
    /// [`Policy::send`] sends a generated operation: one attempt is one
    /// [`dispatch`], and what the hook would report (a fault, an error status)
    /// is reported the same way. With `prepaid`, the caller already holds the
    /// first attempt's rate-limit permit, as for [`Policy::send`].
    pub(crate) async fn send_prepared(
        &self,
        client: &reqwest::Client,
        prepared: &Prepared,
        prepaid: bool,
    ) -> Result<RawResponse, Error> {
        let attempt = || async {
            use trillet_api::Error as Gen;
            // Named before anything can fail, so every error of the attempt names it.
            note(|seen| {
                seen.operation = prepared.operation.clone();
                seen.effect = Some(prepared.effect);
            });
            let request = prepared
                .request(client)
                .map_err(Gen::<()>::CommunicationError)?;
            let response = dispatch(self, client, request, prepared.operation.clone())
                .await
                .map_err(Gen::CommunicationError)?;
            // As the generated code's post hook does: a stand-in ends the attempt,
            // and the loop reads what the exchange noted.
            if let Some(Handled(text)) = response.extensions().get::<Handled>() {
                return Err(Gen::Custom(text.clone()));
            }
            let head = Head {
                status: response.status(),
                headers: response.headers().clone(),
            };
            Ok(trillet_api::ResponseValue::new(
                head,
                response.status(),
                HeaderMap::new(),
            ))
        };
        let reply = self.send(true, prepaid, attempt).await?;
        let Head { status, headers } = reply.value;
        Ok(RawResponse::new(status, headers, reply.body))
    }
}

/// Marks a stand-in response: the hook has handled the real one, and the generated
/// code must stop (with this text, for the low-level client) without decoding.
#[derive(Clone)]
struct Handled(String);

/// Updates what the current attempt saw (nothing outside a managed call).
fn note(update: impl FnOnce(&mut Seen)) {
    let _ = SEEN.try_with(|seen| update(&mut seen.borrow_mut()));
}

/// One HTTP exchange. `keep_body` is `None` outside a managed call: error statuses
/// then go to the generated decoder, as the low-level client expects.
async fn exchange(
    policy: &Policy,
    client: &reqwest::Client,
    request: reqwest::Request,
    keep_body: Option<bool>,
) -> reqwest::Result<reqwest::Response> {
    let mut response = client.execute(request).await?;
    let status = response.status();
    note(|seen| seen.status = Some(status));
    if status.is_redirection() {
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let same_origin = response
            .url()
            .join(&location)
            .is_ok_and(|target| target.origin() == response.url().origin());
        let problem = if same_origin {
            RedirectProblem::NotFollowed { status, location }
        } else {
            RedirectProblem::OtherOrigin { status, location }
        };
        tracing::warn!(%status, "redirect not followed");
        return Ok(fail(Fault::Redirect(problem)));
    }
    // The client asks for no compression, so any encoding is the server's doing.
    if let Some(encoding) = response
        .headers()
        .get(CONTENT_ENCODING)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
        .filter(|e| !e.eq_ignore_ascii_case("identity"))
    {
        return Ok(fail(Fault::Encoding(encoding.chars().take(40).collect())));
    }
    let limit = policy.max_body_bytes;
    let keep = keep_body.unwrap_or(false);
    // Fast path: a success whose declared length is within the limit goes to the
    // decoder unread (hyper refuses a body longer than it declared).
    if status.is_success()
        && !keep
        && let Some(length) = response.content_length().filter(|&n| n <= limit as u64)
    {
        note(|seen| seen.bytes = length);
        return Ok(response);
    }
    let url = response.url().clone();
    let headers = std::mem::take(response.headers_mut());
    let body = match read_limited(response, limit).await {
        Ok(body) => body,
        Err(fault) => return Ok(fail(fault)),
    };
    note(|seen| seen.bytes = body.len() as u64);
    if status.is_success() {
        if keep {
            note(|seen| seen.body = Some(body.clone()));
        }
    } else if keep_body.is_some() {
        let at = SystemTime::now();
        note(|seen| {
            seen.error_status = Some(Box::new(ErrorResponse {
                status,
                path: path_of(&url),
                headers,
                body,
                at,
            }))
        });
        return Ok(stand_in(String::new()));
    }
    Ok(rebuild(status, headers, body, url))
}

/// Records `fault` for the loop and returns the stand-in that stops the generated code.
fn fail(fault: Fault) -> reqwest::Response {
    let text = match &fault {
        Fault::BodyTooLarge { limit } => format!("response body exceeds {limit} bytes"),
        Fault::Redirect(problem) => problem.to_string(),
        Fault::Encoding(encoding) => format!("unsupported Content-Encoding {encoding}"),
        Fault::Body(error) => error.to_string(),
    };
    note(|seen| seen.fault = Some(Box::new(fault)));
    stand_in(text)
}

fn stand_in(text: String) -> reqwest::Response {
    let mut response = http::Response::new(Bytes::new());
    response.extensions_mut().insert(Handled(text));
    reqwest::Response::from(response)
}

/// A response for the generated code to decode, rebuilt from what was read.
fn rebuild(
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    url: url::Url,
) -> reqwest::Response {
    // Passing the URL along spares reqwest parsing a placeholder URL.
    let response = http::Response::builder().status(status).url(url);
    let mut response = match response.body(body.clone()) {
        Ok(response) => response,
        // Unreachable: the status came from a response.
        Err(_) => http::Response::new(body),
    };
    *response.headers_mut() = headers;
    reqwest::Response::from(response)
}

/// Reads the body, refusing to hold more than `limit` bytes. A body that arrives in
/// one chunk (the usual case for a record) is kept as is, without a copy.
async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Bytes, Fault> {
    let too_large = || Fault::BodyTooLarge { limit };
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let Some(first) = response.chunk().await.map_err(Fault::Body)? else {
        return Ok(Bytes::new());
    };
    if first.len() > limit {
        return Err(too_large());
    }
    let Some(second) = response.chunk().await.map_err(Fault::Body)? else {
        return Ok(first);
    };
    let mut body = BytesMut::from(first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
        next = response.chunk().await.map_err(Fault::Body)?;
    }
    Ok(body.freeze())
}

/// The redirect policy of clients built by this crate: follow redirects within the
/// same origin (scheme, host, port), at most 5 and never back to a URL already
/// visited, and never to another origin, so the `x-api-key` and `x-workspace-id`
/// headers stay with the configured host. reqwest's default policy would forward
/// them: it strips only a fixed list such as `Authorization` and `Cookie`.
pub fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if !same_origin {
            attempt.stop()
        } else if attempt.previous().len() > 5 || attempt.previous().contains(attempt.url()) {
            attempt.error("redirect loop")
        } else {
            attempt.follow()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    /// A loopback server answering every record id and an empty list page.
    async fn serve() -> String {
        let app = axum::Router::new().fallback(|uri: axum::http::Uri| async move {
            let body = if uri.path().ends_with("/call-history") {
                r#"[{"_id":"a"}]"#.to_owned()
            } else {
                r#"{"_id":"a"}"#.to_owned()
            };
            ([("content-type", "application/json")], body)
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    #[tokio::test]
    async fn every_call_of_the_crate_runs_inside_the_request_path() {
        let url = serve().await;
        let client = crate::Client::builder()
            .api_key("k")
            .workspace_id("w")
            .base_url(&url)
            .rate_limit(crate::RateLimit::Off)
            .build()
            .unwrap();
        client.call_history("a").await.unwrap();
        client.call_history_raw("a").await.unwrap();
        let batch: Vec<_> = client.call_histories(["a", "b"]).stream().collect().await;
        assert!(batch.iter().all(|(_, r)| r.is_ok()));
        let raw: Vec<_> = client.call_histories(["c"]).stream_raw().collect().await;
        assert!(raw[0].1.is_ok());
        let listed: Vec<_> = client
            .list_call_histories()
            .page_size(5)
            .stream()
            .collect()
            .await;
        assert_eq!(listed.len(), 1);
        client.list_call_histories().page(2).await.unwrap();
        client
            .call(|api| api.get_call_history().call_history_id("d").send())
            .await
            .unwrap();
        let described =
            crate::OperationRequest::new(crate::Method::GET, "/v2/api/call-history/{id}")
                .path_param("id", "f");
        client.send_request(&described).await.unwrap();
        assert_eq!(
            client.unmanaged_requests(),
            0,
            "a call escaped the request path"
        );
        // The counter does count: the low-level client is outside it.
        client
            .api()
            .get_call_history()
            .call_history_id("e")
            .send()
            .await
            .unwrap();
        assert_eq!(client.unmanaged_requests(), 1);
    }

    #[test]
    fn snippets_are_short_and_on_one_line() {
        let html = format!("<html>\n  <body>{}</body>\n</html>", "x".repeat(500));
        let s = snippet(html.as_bytes());
        assert!(!s.contains('\n') && s.chars().count() <= 121, "{s}");
    }

    #[test]
    fn a_partial_envelope_still_gives_its_fields_and_the_wait() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("86400"));
        let error = api_error(&ErrorResponse {
            status: StatusCode::TOO_MANY_REQUESTS,
            path: "/x".into(),
            headers,
            body: Bytes::from_static(br#"{"error":{"code":"rate_limit_exceeded"}}"#),
            at,
        });
        assert_eq!(error.code(), Some("rate_limit_exceeded"));
        assert_eq!(error.retry_after(), Some(Duration::from_secs(86_400)));
        assert_eq!(error.retry_at(), Some(at + Duration::from_secs(86_400)));
        assert!(
            error
                .to_string()
                .contains("retry after 2023-11-15T22:13:20Z (in 24h)"),
            "{error}"
        );
    }
}
