//! The HTTP server: routing, request validation in the real API's order, and the
//! [`MockServer`] handle that starts, observes and stops it.
//!
//! Routes come from the spec's operations (`operations.rs`). A request is checked
//! in this order: path (404), method (405), path parameters' encoding (400), the
//! credentials the operation's `security` asks for (`x-api-key` 401,
//! `x-workspace-id` 403), rate limit (429), then `x-mock-fault` (400 if
//! malformed), chaos, the parameters (and a request body) against the spec (400,
//! see `params.rs`), and finally the response (the record, the page, or the
//! operation's example; 404 for `missing*` ids).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use percent_encoding::percent_decode_str;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;
use trillet_spec::Spec;

use crate::config::MockConfig;
use crate::deleted::Deleted;
use crate::envelope;
use crate::error::MockError;
use crate::faults::{self, Chaos, FAULT_HEADER, Fault};
use crate::listing::Workspace;
use crate::operations::{self, ErrorBodies, Generic, Kind, Refusal, Routes, Served};
use crate::rate_limit::KeyedLimit;
use crate::records;
use crate::stats::{Counters, MockStats, Outcome};

/// How long [`MockServer::shutdown`] waits for requests in flight before it
/// stops serving regardless.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running mock server. Dropping the handle stops it (without waiting);
/// [`shutdown`](Self::shutdown) stops it and waits.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    counters: Arc<Counters>,
    limit: Option<Arc<KeyedLimit>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl MockServer {
    /// Binds `config.addr` and serves in a background task of the current Tokio
    /// runtime. Returns once the socket is listening.
    pub async fn start(config: MockConfig) -> Result<Self, MockError> {
        config.validate()?;
        records::warm_up();
        let bind_error = |source| MockError::Bind {
            addr: config.addr,
            source,
        };
        let listener = TcpListener::bind(config.addr).await.map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let state = Arc::new(AppState::new(&config)?);
        let counters = Arc::clone(&state.counters);
        let limit = state.limit.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(Arc::clone(&state));
        let task = tokio::spawn(run(listener, app, state, config, stopped));
        Ok(Self {
            addr,
            counters,
            limit,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:40123` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A snapshot of the request counters.
    pub fn stats(&self) -> MockStats {
        self.counters.snapshot()
    }

    /// How many API keys the rate limiter holds a bucket for (0 without a limit).
    /// Buckets that have refilled are forgotten every
    /// [`MockConfig::rate_limit_sweep`].
    pub fn rate_limit_buckets(&self) -> usize {
        self.limit.as_ref().map_or(0, |limit| limit.buckets())
    }

    /// Stops accepting connections, lets requests in flight finish (for up to
    /// five seconds) and waits for the server task to end.
    pub async fn shutdown(mut self) -> Result<(), MockError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
            Ok(Ok(result)) => result.map_err(MockError::Serve),
            Ok(Err(join)) => Err(MockError::Serve(io::Error::other(join))),
            Err(_elapsed) => {
                tracing::warn!("requests still in flight after {SHUTDOWN_GRACE:?}; stopping");
                task.abort();
                Ok(())
            }
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Runs a mock server on `addr` (overriding `config.addr`) until Ctrl-C, then
/// shuts it down gracefully. This is what `trillet mock serve` runs.
pub async fn serve(config: MockConfig, addr: SocketAddr) -> Result<(), MockError> {
    let server = MockServer::start(MockConfig { addr, ..config }).await?;
    tracing::info!(url = %server.url(), "trillet mock server listening; Ctrl-C stops it");
    let signal = tokio::signal::ctrl_c().await;
    let stopped = server.shutdown().await;
    signal.map_err(MockError::Signal)?;
    stopped
}

/// Accepts connections until `stopped`, serving each with hyper's HTTP/1
/// connection (which enforces the header-read timeout), at most
/// `config.max_connections` at once, then shuts the open ones down gracefully.
///
/// The accept loop is written out because `axum::serve` offers neither a
/// header-read timeout nor a connection cap. The cap is a semaphore permit per
/// connection, taken before `accept`: beyond the cap, connections wait in the
/// kernel's backlog (they are not refused) until a permit is returned.
async fn run(
    listener: TcpListener,
    app: Router,
    state: Arc<AppState>,
    config: MockConfig,
    stopped: oneshot::Receiver<()>,
) -> io::Result<()> {
    let started = Instant::now();
    let permits = Arc::new(Semaphore::new(config.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout);
    let housekeeping = tokio::spawn(housekeeping(
        Arc::clone(&state),
        config.rate_limit_sweep,
        config.summary_interval,
    ));
    // A dropped sender (the handle was dropped) also stops the server.
    let mut stopped = std::pin::pin!(stopped);
    loop {
        let permit = tokio::select! {
            _ = &mut stopped => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_closed) => break,
            },
        };
        let stream = tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    // Out of file descriptors or a connection reset before it was
                    // accepted: not the server's end. Pause briefly, go on.
                    tracing::debug!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    housekeeping.abort();
    log_summary(
        &state,
        &mut MockStats::default(),
        started.elapsed(),
        "mock totals",
    );
    graceful.shutdown().await;
    Ok(())
}

/// Sweeps the rate limiter and logs the periodic summary, until aborted.
async fn housekeeping(state: Arc<AppState>, sweep: Duration, summary: Duration) {
    let mut sweep = tokio::time::interval(sweep);
    let mut summary_tick = tokio::time::interval(summary);
    let mut last = state.counters.snapshot();
    let mut since = Instant::now();
    sweep.tick().await;
    summary_tick.tick().await;
    loop {
        tokio::select! {
            _ = sweep.tick() => {
                if let Some(limit) = &state.limit {
                    limit.sweep();
                }
            }
            _ = summary_tick.tick() => {
                log_summary(&state, &mut last, since.elapsed(), "mock summary");
                since = Instant::now();
            }
        }
    }
}

/// Logs at `info` what was answered since `last` in the `interval` (and makes
/// now the new `last`), unless nothing was.
fn log_summary(state: &AppState, last: &mut MockStats, interval: Duration, what: &str) {
    let now = state.counters.snapshot();
    let requests = now.requests.saturating_sub(last.requests);
    if requests > 0 {
        let statuses = now
            .by_status
            .iter()
            .map(|(status, n)| (status, n.saturating_sub(last.count(*status))))
            .filter(|(_, n)| *n > 0)
            .map(|(status, n)| format!("{status}={n}"))
            .collect::<Vec<_>>()
            .join(",");
        tracing::info!(
            requests,
            statuses = %statuses,
            rate_limited = now.rate_limited.saturating_sub(last.rate_limited),
            faults = now.faults_injected.saturating_sub(last.faults_injected),
            interval_s = interval.as_secs_f64(),
            buckets = state.limit.as_ref().map_or(0, |l| l.buckets()),
            "{what}"
        );
    }
    *last = now;
}

/// What every request handler shares.
#[derive(Debug)]
struct AppState {
    api_key: Option<String>,
    workspace_id: Option<String>,
    limit: Option<Arc<KeyedLimit>>,
    chaos: Chaos,
    counters: Arc<Counters>,
    workspace: Workspace,
    routes: Routes,
    deleted: Deleted,
}

impl AppState {
    fn new(config: &MockConfig) -> Result<Self, MockError> {
        let spec_error = |e: trillet_spec::SpecError| MockError::Config(format!("the spec: {e}"));
        let spec = match &config.spec {
            Some(text) => Spec::parse(text),
            None => Spec::bundled(),
        }
        .map_err(spec_error)?;
        Ok(Self {
            api_key: config.api_key.clone(),
            workspace_id: config.workspace_id.clone(),
            limit: KeyedLimit::new(config.rate_limit_per_minute).map(Arc::new),
            chaos: Chaos::new(config.chaos, config.seed),
            counters: Arc::default(),
            workspace: Workspace::new(config.list_size),
            routes: Routes::build(&spec).map_err(spec_error)?,
            deleted: Deleted::default(),
        })
    }
}

/// Every request goes to [`dispatch`], which routes it by the spec's paths (an
/// axum route per path could panic on templates that conflict; the route table
/// reports them when the server starts).
fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .fallback(dispatch)
        .layer(middleware::from_fn_with_state(Arc::clone(&state), observe))
        .with_state(state)
}

/// Counts and logs every request. Logs method, path, status, latency (to the
/// response head) and fault; never a header value.
async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    state.counters.arrived();
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let outcome = response
        .extensions_mut()
        .remove::<Outcome>()
        .unwrap_or_default();
    let status = response.status().as_u16();
    state.counters.answered(status, &outcome);
    tracing::debug!(
        %method,
        path = %path,
        status,
        latency_ms = started.elapsed().as_secs_f64() * 1e3,
        fault = %outcome.fault.as_deref().unwrap_or("none"),
        "mock request"
    );
    response
}

fn unknown_path() -> Response {
    envelope::error(StatusCode::NOT_FOUND, "not_found", "No such endpoint.")
}

/// Routes a request: 404 for a path the spec does not have, 405 (with `Allow`)
/// for a method the path does not have, else the operation's handler.
async fn dispatch(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let mut outcome = Outcome::default();
    let (parts, body) = request.into_parts();
    let mut response = match state.routes.find(parts.uri.path()) {
        None => unknown_path(),
        Some((item, raw)) => match item.operation(&parts.method) {
            None => item.method_not_allowed(),
            Some(served) => handle(&state, served, parts, body, raw, &mut outcome).await,
        },
    };
    response.extensions_mut().insert(outcome);
    response
}

async fn handle(
    state: &AppState,
    served: &Served,
    parts: Parts,
    body: Body,
    raw: Vec<(String, String)>,
    outcome: &mut Outcome,
) -> Response {
    let plain = ErrorBodies::default();
    let errors = match &served.kind {
        Kind::Generic(generic) => &generic.errors,
        _ => &plain,
    };
    let mut path = Vec::with_capacity(raw.len());
    for (name, value) in raw {
        match percent_decode_str(&value).decode_utf8() {
            Ok(value) => path.push((name, value.into_owned())),
            Err(_) => {
                let message = match served.kind {
                    Kind::GetCallHistory(_) => {
                        "The call-history id is not valid UTF-8 once percent-decoded.".to_owned()
                    }
                    _ => format!(
                        "The path parameter {name} is not valid UTF-8 once percent-decoded."
                    ),
                };
                return errors.refuse(Refusal::bad_request(message));
            }
        }
    }
    let query = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri).map(|Query(q)| q);
    let fault = match admit(
        state,
        served,
        &parts.headers,
        query.as_deref().unwrap_or_default(),
        outcome,
    )
    .await
    {
        Ok(fault) => fault,
        Err(refusal) => return errors.refuse(refusal),
    };
    match &served.kind {
        Kind::GetCallHistory(id_param) => {
            let id = path
                .iter()
                .find(|(k, _)| k == id_param)
                .map(|(_, v)| v.as_str())
                .unwrap_or_default();
            call_history(served, id_param, id, fault)
        }
        Kind::ListCallHistories => list_call_histories(state, served, query, fault),
        Kind::Generic(generic) => {
            generic_operation(state, &parts, served, generic, &path, query, body, fault).await
        }
    }
}

/// `get_call_history`: the record for the id (404 for `missing*` ids).
fn call_history(served: &Served, id_param: &str, id: &str, fault: Option<Fault>) -> Response {
    match served.params.check(&[(id_param, id)], &[]) {
        Err(problem) => envelope::error(StatusCode::BAD_REQUEST, "bad_request", &problem),
        Ok(()) => match (fault, records::record_json(id)) {
            (Some(fault), record) => fault.respond(id, record.as_deref().unwrap_or_default()),
            (None, Some(record)) => envelope::json_response(StatusCode::OK, record),
            (None, None) => envelope::record_not_found(),
        },
    }
}

/// `list_call_histories`: one page of the workspace.
fn list_call_histories(
    state: &AppState,
    served: &Served,
    query: Result<Vec<(String, String)>, QueryRejection>,
    fault: Option<Fault>,
) -> Response {
    match query.map_err(|e| e.body_text()).and_then(|q| {
        served.params.check(&[], &q)?;
        state.workspace.page(&q)
    }) {
        Err(problem) => envelope::error(StatusCode::BAD_REQUEST, "bad_request", &problem),
        Ok(page) => match fault {
            Some(fault) => fault.respond("list", &page),
            None => envelope::json_response(StatusCode::OK, page),
        },
    }
}

/// Any other operation, from the spec alone (see `operations.rs`).
#[allow(clippy::too_many_arguments)] // one request's parts, each used once
async fn generic_operation(
    state: &AppState,
    parts: &Parts,
    served: &Served,
    generic: &Generic,
    path: &[(String, String)],
    query: Result<Vec<(String, String)>, QueryRejection>,
    body: Body,
    fault: Option<Fault>,
) -> Response {
    let errors = &generic.errors;
    let query = match query {
        Ok(query) => query,
        Err(rejection) => return errors.refuse(Refusal::bad_request(rejection.body_text())),
    };
    let path_refs: Vec<(&str, &str)> = path.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    if let Err(problem) = served.params.check(&path_refs, &query) {
        return errors.refuse(Refusal::bad_request(problem));
    }
    if let Err((status, code, message)) = generic.check_body(body).await {
        return errors.error(status, code, &message, true);
    }
    let text = generic.body_for(path);
    let uri_path = parts.uri.path();
    let workspace = parts
        .headers
        .get("x-workspace-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match fault {
        Some(Fault::TooManyRequests { retry_after }) => errors.rate_limited(retry_after),
        Some(Fault::ServerError(status)) => errors.server_error(status),
        Some(other) => {
            let label = path.first().map_or("response", |(_, v)| v.as_str());
            other.respond(label, text.as_deref().unwrap_or_default())
        }
        None if generic.is_missing(path)
            || (generic.documents_404() && state.deleted.covers(workspace, uri_path)) =>
        {
            errors.error(StatusCode::NOT_FOUND, "not_found", "Not found.", false)
        }
        None => {
            if parts.method == axum::http::Method::DELETE {
                state.deleted.insert(workspace, uri_path);
            }
            match text {
                Some(text) => envelope::json_response(generic.success(), text),
                None => operations::empty(generic.success()),
            }
        }
    }
}

/// What every request must pass before it is served, in the real API's order:
/// the credentials its `security` asks for (401, 403), the rate limit (429), then
/// the fault asked for in `x-mock-fault` or drawn by chaos (returned, not applied,
/// so each operation answers it with its own body).
async fn admit(
    state: &AppState,
    served: &Served,
    headers: &HeaderMap,
    query: &[(String, String)],
    outcome: &mut Outcome,
) -> Result<Option<Fault>, Refusal> {
    operations::authenticate(
        &served.security,
        headers,
        query,
        state.api_key.as_deref(),
        state.workspace_id.as_deref(),
    )?;
    if let Some(limit) = &state.limit
        && let Err(wait) = limit.check(operations::rate_key(headers))
    {
        outcome.rate_limited = true;
        // Whole seconds, rounded up, and at least one.
        let retry_after = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        return Err(Refusal::RateLimited(retry_after));
    }
    let plan = match headers.get(FAULT_HEADER).map(HeaderValue::to_str) {
        None => faults::FaultPlan::default(),
        Some(Ok(value)) => match faults::parse(value) {
            Ok(plan) => plan,
            Err(problem) => {
                return Err(Refusal::bad_request(format!("{FAULT_HEADER}: {problem}")));
            }
        },
        Some(Err(_)) => {
            return Err(Refusal::bad_request(format!(
                "{FAULT_HEADER} is not visible ASCII"
            )));
        }
    };
    // Every request that gets this far draws, so the sequence stays reproducible
    // whether or not it also asked for a fault; an asked-for fault wins.
    let chaos = state.chaos.draw();
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    let (fault, source) = match (plan.fault, chaos) {
        (Some(asked), _) => (Some(asked), ""),
        (None, Some(random)) => (Some(random), "chaos:"),
        (None, None) => (None, ""),
    };
    let mut labels = Vec::new();
    if !plan.delay.is_zero() {
        labels.push(format!("slow={}", plan.delay.as_millis()));
    }
    if let Some(fault) = &fault {
        labels.push(format!("{source}{}", fault.label()));
    }
    if !labels.is_empty() {
        outcome.fault = Some(labels.join(","));
    }
    Ok(fault)
}
