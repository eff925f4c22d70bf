//! The cases that talk HTTP to the loopback mock: one request, an unthrottled batch
//! and a rate-limited batch, each through `trillet::Client` and, where there is
//! one, through the baseline a person would write with `reqwest` alone.

use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use trillet::{CallHistory, Client, RateLimit};
use trillet_mock::{MOCK_API_KEY, MOCK_WORKSPACE_ID, MockConfig, MockServer};

use crate::paired::{self, Comparison};

/// Errors of the harness: anything unexpected ends the case with a message.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The id of the reference page's record: the mock serves the example file's bytes
/// for it without generating anything, so the single-request case measures the
/// clients, not the mock's record generator.
pub const SEED_ID: &str = "1234567890abcdef";

/// Starts a mock on a free loopback port; `None`: no rate limit.
pub async fn start_mock(rate_limit_per_minute: Option<u32>) -> Result<MockServer, BoxError> {
    let config = MockConfig {
        rate_limit_per_minute,
        ..MockConfig::default()
    };
    Ok(MockServer::start(config).await?)
}

/// A `trillet::Client` for the mock, with everything else at its default.
pub fn trillet_client(mock: &MockServer, limit: RateLimit) -> Result<Client, BoxError> {
    Ok(Client::builder()
        .api_key(MOCK_API_KEY)
        .workspace_id(MOCK_WORKSPACE_ID)
        .base_url(mock.url())
        .rate_limit(limit)
        .build()?)
}

/// The baseline: a `reqwest::Client` built once; per request the two headers, GET,
/// read the bytes, `serde_json::from_slice::<CallHistory>`.
#[derive(Clone, Debug)]
pub struct Raw {
    http: reqwest::Client,
    base: String,
}

impl Raw {
    /// A baseline client for the mock.
    pub fn new(mock: &MockServer) -> Result<Self, BoxError> {
        Ok(Self {
            http: reqwest::Client::builder().build()?,
            base: format!("{}/v2/api/call-history/", mock.url()),
        })
    }

    /// Fetches and decodes one record; a non-2xx status is an error.
    pub async fn fetch(&self, id: &str) -> Result<CallHistory, BoxError> {
        let bytes = self
            .http
            .get(format!("{}{id}", self.base))
            .header("x-api-key", MOCK_API_KEY)
            .header("x-workspace-id", MOCK_WORKSPACE_ID)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// The status of one request, for draining a mock's rate-limit bucket.
    pub async fn status(&self, id: &str) -> Result<u16, BoxError> {
        let response = self
            .http
            .get(format!("{}{id}", self.base))
            .header("x-api-key", MOCK_API_KEY)
            .header("x-workspace-id", MOCK_WORKSPACE_ID)
            .send()
            .await?;
        Ok(response.status().as_u16())
    }
}

/// One request at a time, interleaved: `rounds` rounds of `per_round` requests
/// through the client, then as many through the baseline (order alternating by
/// round), after `warmup` requests of each.
#[derive(Clone, Debug)]
pub struct LatencyComparison {
    /// Median latency through the client / median latency of the baseline, over
    /// every request.
    pub ratio: f64,
    /// Per-round ratios (spread, and the median of medians).
    pub rounds: Comparison,
    /// Requests timed on each side.
    pub requests: usize,
    /// Median latencies, in microseconds (context only).
    pub client_us: f64,
    /// Median latency of the baseline, in microseconds (context only).
    pub raw_us: f64,
}

/// Compares one request through `client` with one through `raw`, for `id`.
pub async fn compare_latency(
    client: &Client,
    raw: &Raw,
    id: &str,
    warmup: usize,
    rounds: usize,
    per_round: usize,
) -> Result<LatencyComparison, BoxError> {
    for _ in 0..warmup {
        client.call_history(id).await?;
        raw.fetch(id).await?;
    }
    let (mut all_client, mut all_raw) = (Vec::new(), Vec::new());
    let (mut ratios, mut round_client, mut round_raw) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds.max(1) {
        let (mut c, mut r) = (Vec::with_capacity(per_round), Vec::with_capacity(per_round));
        let client_first = round % 2 == 0;
        for side in [client_first, !client_first] {
            for _ in 0..per_round {
                let started = Instant::now();
                if side {
                    client.call_history(id).await?;
                    c.push(started.elapsed().as_secs_f64() * 1e9);
                } else {
                    raw.fetch(id).await?;
                    r.push(started.elapsed().as_secs_f64() * 1e9);
                }
            }
        }
        let (mc, mr) = (paired::median(&c), paired::median(&r));
        ratios.push(mc / mr);
        round_client.push(mc);
        round_raw.push(mr);
        all_client.extend(c);
        all_raw.extend(r);
    }
    let client_ns = paired::median(&all_client);
    let raw_ns = paired::median(&all_raw);
    Ok(LatencyComparison {
        ratio: client_ns / raw_ns,
        rounds: paired::summarize(ratios, round_client, round_raw),
        requests: all_client.len(),
        client_us: client_ns / 1e3,
        raw_us: raw_ns / 1e3,
    })
}

/// `client.call_histories(ids)` with `concurrency` in flight, in input order (the
/// default), drained; returns the time taken. Every id must succeed.
pub async fn trillet_batch(
    client: &Client,
    ids: &[String],
    concurrency: usize,
) -> Result<Duration, BoxError> {
    // The batch owns its ids; copying them is not part of the measurement.
    let ids_owned = ids.to_vec();
    let started = Instant::now();
    let mut results = client
        .call_histories(ids_owned)
        .concurrency(concurrency)
        .stream();
    let mut ok = 0usize;
    while let Some((id, result)) = results.next().await {
        result.map_err(|e| format!("{id}: {e}"))?;
        ok += 1;
    }
    let elapsed = started.elapsed();
    check_count(ok, ids.len())?;
    Ok(elapsed)
}

/// The baseline batch: `futures` `buffered(concurrency)` over [`Raw::fetch`], in
/// input order like the client's default; returns the time taken.
pub async fn raw_batch(
    raw: &Raw,
    ids: &[String],
    concurrency: usize,
) -> Result<Duration, BoxError> {
    let started = Instant::now();
    let mut results = stream::iter(ids)
        .map(|id| async move { (id, raw.fetch(id).await) })
        .buffered(concurrency);
    let mut ok = 0usize;
    while let Some((id, result)) = results.next().await {
        result.map_err(|e| format!("{id}: {e}"))?;
        ok += 1;
    }
    let elapsed = started.elapsed();
    check_count(ok, ids.len())?;
    Ok(elapsed)
}

fn check_count(ok: usize, expected: usize) -> Result<(), BoxError> {
    if ok == expected {
        Ok(())
    } else {
        Err(format!("{ok} of {expected} records came back").into())
    }
}

/// `n` ids that the mock answers with generated records.
pub fn ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:05}")).collect()
}

/// Batch throughput, client / baseline, over `rounds` alternating rounds.
#[derive(Clone, Debug)]
pub struct BatchComparison {
    /// Per-round `client time / baseline time`.
    pub rounds: Comparison,
    /// Ids per batch.
    pub ids: usize,
}

/// Compares the two batches over `rounds` rounds after one warm-up round each.
pub async fn compare_batches(
    client: &Client,
    raw: &Raw,
    ids: &[String],
    concurrency: usize,
    rounds: usize,
) -> Result<BatchComparison, BoxError> {
    trillet_batch(client, ids, concurrency).await?;
    raw_batch(raw, ids, concurrency).await?;
    let (mut ratios, mut client_ns, mut raw_ns) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds.max(1) {
        let (c, r) = if round % 2 == 0 {
            let c = trillet_batch(client, ids, concurrency).await?;
            (c, raw_batch(raw, ids, concurrency).await?)
        } else {
            let r = raw_batch(raw, ids, concurrency).await?;
            (trillet_batch(client, ids, concurrency).await?, r)
        };
        ratios.push(c.as_secs_f64() / r.as_secs_f64());
        client_ns.push(c.as_secs_f64() * 1e9);
        raw_ns.push(r.as_secs_f64() * 1e9);
    }
    Ok(BatchComparison {
        rounds: paired::summarize(ratios, client_ns, raw_ns),
        ids: ids.len(),
    })
}

/// What a rate-limited batch achieved.
#[derive(Clone, Debug)]
pub struct RateOutcome {
    /// Ids fetched.
    pub ids: usize,
    /// From the first request to the last result.
    pub elapsed: Duration,
    /// `ids / elapsed`, per second.
    pub achieved_per_sec: f64,
    /// The configured rate, per second.
    pub configured_per_sec: f64,
    /// 429s the mock sent during the batch (rate limit emulation and otherwise).
    pub too_many_requests: u64,
    /// Requests the mock received during the batch (ids plus retries).
    pub requests: u64,
    /// Ids that failed after retries.
    pub failed: usize,
}

impl RateOutcome {
    /// Achieved rate / configured rate.
    pub fn ratio(&self) -> f64 {
        self.achieved_per_sec / self.configured_per_sec
    }
}

/// A batch of `n` ids through a client limited to `per_minute` (burst 1) against a
/// mock enforcing the same `per_minute` per key. With `drained`, the mock's bucket
/// is emptied first (as if another process had spent the budget), so the client
/// has no slack at all.
pub async fn rate_limited_batch(
    n: usize,
    per_minute: u32,
    concurrency: usize,
    drained: bool,
) -> Result<RateOutcome, BoxError> {
    let mock = start_mock(Some(per_minute)).await?;
    if drained {
        drain(&mock).await?;
    }
    let client = trillet_client(&mock, RateLimit::per_minute(per_minute))?;
    let before = mock.stats();
    let ids = ids("rate", n);
    let started = Instant::now();
    let mut results = client.call_histories(ids).concurrency(concurrency).stream();
    let (mut ok, mut failed) = (0usize, 0usize);
    while let Some((_, result)) = results.next().await {
        match result {
            Ok(_) => ok += 1,
            Err(_) => failed += 1,
        }
    }
    let elapsed = started.elapsed();
    let after = mock.stats();
    mock.shutdown().await?;
    Ok(RateOutcome {
        ids: ok + failed,
        elapsed,
        achieved_per_sec: ok as f64 / elapsed.as_secs_f64(),
        configured_per_sec: f64::from(per_minute) / 60.0,
        too_many_requests: after.too_many_requests() - before.too_many_requests(),
        requests: after.requests - before.requests,
        failed,
    })
}

/// Spends the mock's whole bucket for the mock's API key: requests until one is
/// refused with 429.
async fn drain(mock: &MockServer) -> Result<(), BoxError> {
    let raw = Raw::new(mock)?;
    for _ in 0..1000 {
        let statuses: Vec<Result<u16, BoxError>> = stream::iter(0..64)
            .map(|_| raw.status(SEED_ID))
            .buffer_unordered(32)
            .collect()
            .await;
        for status in statuses {
            if status? == 429 {
                return Ok(());
            }
        }
    }
    Err("the mock's rate limit never refused a request".into())
}
