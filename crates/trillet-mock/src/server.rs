//! The HTTP server: routing, request validation in the real API's order, and the
//! [`MockServer`] handle that starts, observes and stops it.
//!
//! A request to the record route is checked in this order: method (405), path
//! (400), `x-api-key` (401), `x-workspace-id` (403), rate limit (429), then
//! `x-mock-fault` (400 if malformed), chaos, the parameters against the spec
//! (400, see `params.rs`), and finally the record (200 or 404).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::any;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;
use trillet_spec::Spec;

use crate::config::MockConfig;
use crate::envelope;
use crate::error::MockError;
use crate::faults::{self, Chaos, FAULT_HEADER};
use crate::listing::Workspace;
use crate::params::OperationParams;
use crate::rate_limit::KeyedLimit;
use crate::records;
use crate::stats::{Counters, MockStats, Outcome};

/// The route of the get operation.
const RECORD_ROUTE: &str = "/v2/api/call-history/{id}";

/// The route of the list operation.
const LIST_ROUTE: &str = "/v2/api/call-history";

/// The operation ids of the two routes in the spec.
const GET_OPERATION: &str = "get_call_history";
const LIST_OPERATION: &str = "list_call_histories";

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
    get_params: OperationParams,
    list_params: OperationParams,
}

impl AppState {
    fn new(config: &MockConfig) -> Result<Self, MockError> {
        let spec_error = |e: trillet_spec::SpecError| MockError::Config(format!("the spec: {e}"));
        let spec = Spec::bundled().map_err(spec_error)?;
        Ok(Self {
            api_key: config.api_key.clone(),
            workspace_id: config.workspace_id.clone(),
            limit: KeyedLimit::new(config.rate_limit_per_minute).map(Arc::new),
            chaos: Chaos::new(config.chaos, config.seed),
            counters: Arc::default(),
            workspace: Workspace::new(config.list_size),
            get_params: OperationParams::load(&spec, GET_OPERATION).map_err(spec_error)?,
            list_params: OperationParams::load(&spec, LIST_OPERATION).map_err(spec_error)?,
        })
    }
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(RECORD_ROUTE, any(call_history))
        .route(LIST_ROUTE, any(list_call_histories))
        .fallback(unknown_path)
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

async fn unknown_path() -> Response {
    envelope::error(StatusCode::NOT_FOUND, "not_found", "No such endpoint.")
}

async fn call_history(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let mut outcome = Outcome::default();
    let mut response = match id {
        Ok(Path(id)) => match admit(&state, &method, &headers, &mut outcome).await {
            Ok(fault) => match state.get_params.check(&[("callHistoryId", &id)], &[]) {
                Err(problem) => envelope::error(StatusCode::BAD_REQUEST, "bad_request", &problem),
                Ok(()) => match (fault, records::record_json(&id)) {
                    (Some(fault), record) => {
                        fault.respond(&id, record.as_deref().unwrap_or_default())
                    }
                    (None, Some(record)) => envelope::json_response(StatusCode::OK, record),
                    (None, None) => envelope::record_not_found(),
                },
            },
            Err(refused) => refused,
        },
        Err(_) => envelope::error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "The call-history id is not valid UTF-8 once percent-decoded.",
        ),
    };
    response.extensions_mut().insert(outcome);
    response
}

async fn list_call_histories(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let mut outcome = Outcome::default();
    let mut response = match admit(&state, &method, &headers, &mut outcome).await {
        Err(refused) => refused,
        Ok(fault) => match query.map_err(|e| e.body_text()).and_then(|Query(q)| {
            state.list_params.check(&[], &q)?;
            state.workspace.page(&q)
        }) {
            Err(problem) => envelope::error(StatusCode::BAD_REQUEST, "bad_request", &problem),
            Ok(page) => match fault {
                Some(fault) => fault.respond("list", &page),
                None => envelope::json_response(StatusCode::OK, page),
            },
        },
    };
    response.extensions_mut().insert(outcome);
    response
}

/// What every request must pass before it is served, in the real API's order:
/// method, `x-api-key` (401), `x-workspace-id` (403), the rate limit (429), then
/// the fault asked for in `x-mock-fault` or drawn by chaos (returned, not applied,
/// so each operation answers it with its own body).
async fn admit(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    outcome: &mut Outcome,
) -> Result<Option<faults::Fault>, Response> {
    if method != Method::GET {
        let mut response = envelope::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Only GET is allowed here.",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET"));
        return Err(response);
    }
    let key = match credential(headers, "x-api-key", state.api_key.as_deref()) {
        Credential::Accepted(key) => key,
        Credential::Missing => {
            return Err(envelope::error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Missing API key: send the x-api-key header.",
            ));
        }
        Credential::Rejected => {
            return Err(envelope::error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Missing or invalid API key.",
            ));
        }
    };
    match credential(headers, "x-workspace-id", state.workspace_id.as_deref()) {
        Credential::Accepted(_) => {}
        Credential::Missing => {
            return Err(envelope::error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Missing workspace: send the x-workspace-id header.",
            ));
        }
        Credential::Rejected => {
            return Err(envelope::error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "The API key has no access to this workspace.",
            ));
        }
    }
    if let Some(limit) = &state.limit
        && let Err(wait) = limit.check(key)
    {
        outcome.rate_limited = true;
        // Whole seconds, rounded up, and at least one.
        let retry_after = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        return Err(envelope::rate_limited(retry_after));
    }
    let plan = match headers.get(FAULT_HEADER).map(HeaderValue::to_str) {
        None => faults::FaultPlan::default(),
        Some(Ok(value)) => match faults::parse(value) {
            Ok(plan) => plan,
            Err(problem) => {
                return Err(envelope::error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    &format!("{FAULT_HEADER}: {problem}"),
                ));
            }
        },
        Some(Err(_)) => {
            return Err(envelope::error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                &format!("{FAULT_HEADER} is not visible ASCII"),
            ));
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

/// A credential header checked against its expected value.
enum Credential<'a> {
    Accepted(&'a str),
    /// Absent, empty or blank.
    Missing,
    /// Not the expected value, or not visible ASCII.
    Rejected,
}

fn credential<'a>(headers: &'a HeaderMap, name: &str, expected: Option<&str>) -> Credential<'a> {
    let Some(value) = headers.get(name) else {
        return Credential::Missing;
    };
    let Ok(value) = value.to_str() else {
        return Credential::Rejected;
    };
    let value = value.trim();
    if value.is_empty() {
        Credential::Missing
    } else if expected.is_some_and(|expected| expected != value) {
        Credential::Rejected
    } else {
        Credential::Accepted(value)
    }
}
