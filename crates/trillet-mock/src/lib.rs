//! A spec-driven mock of the Trillet AI call-history API: a real HTTP server on
//! loopback that serves `GET /v2/api/call-history/{id}` the way the real API does.
//!
//! It starts in milliseconds on `127.0.0.1:0` (a free port), so tests can run many
//! in parallel, and it behaves like the documented API:
//!
//! - **Records.** The ids of the spec's example files (`spec/examples/call-history.*.json`)
//!   return those files byte for byte: `1234567890abcdef` is the reference page's
//!   record, with `0.10` and integer times exactly as written. Any other id returns a
//!   record generated from a hash of the id: the same id always gives the same bytes,
//!   `_id` is the id, and the record is valid against the spec's `CallHistory`
//!   schema while using what the spec leaves open (unknown `direction`/`status`
//!   values, fractional times, no `endTime` for ongoing calls, extra keys).
//!   See [`record_json`]. Records are sent with `content-type: application/json`.
//! - **Listing.** `GET /v2/api/call-history` lists a workspace of
//!   [`MockConfig::list_size`] records (default 1000, ids from [`workspace_ids`]),
//!   newest first, as bare JSON arrays paged by `page`/`limit` (defaults 1 and 10);
//!   `status`, `direction`, `agentId`, `callType`, `search` (in the summary),
//!   `callIds` and `dateRange` filter it (`pathwayId`, `batchId` and `postAnalysis`
//!   are accepted and ignored). Every listed record is one `get` serves.
//! - **Not found.** By convention, ids starting with `missing` (e.g.
//!   `missing-42`) return **404** with the error envelope
//!   `{"error": {"code": "not_found", "message": "Call history not found."}}`.
//!   Any path the spec does not have also returns 404 with the envelope; a method
//!   the path does not have returns 405 with `Allow`.
//! - **Every operation.** The routes are the operations of the spec the server is
//!   given ([`MockConfig::spec`]; by default the bundled one). The two above keep
//!   their hand-written behaviour; every other operation is served from the spec
//!   alone: its `security` checked (none when it is `security: []`), its
//!   parameters and JSON request body validated (400), and its success response's
//!   example answered, with the requested id put in where the path parameter's own
//!   example was (or the `examples` entry named by the id); without an example, a
//!   deterministic instance of the response schema ([`trillet_spec::Spec::instance_of`]).
//!   Its documented error responses use the spec's example bodies; faults,
//!   chaos, the rate limit, stats and logs apply to it as to the others. A spec
//!   the mock cannot serve (conflicting paths, a response schema no instance can
//!   be made for) fails [`MockServer::start`] with the reason.
//! - **Authentication.** A missing or empty `x-api-key` gets 401 and a missing or
//!   empty `x-workspace-id` gets 403, both with the envelope. With
//!   [`MockConfig::api_key`] / [`MockConfig::workspace_id`] set, other values get
//!   401 / 403 too. [`MOCK_API_KEY`] and [`MOCK_WORKSPACE_ID`] are what the CLI's
//!   `--mock` sends.
//! - **Rate limit.** Per API key, [`MockConfig::rate_limit_per_minute`] requests
//!   (default 60) as a token bucket that refills evenly over a minute; beyond it,
//!   429 with `Retry-After` (whole seconds, at least 1) and the envelope with
//!   `code: rate_limit_exceeded` and `reset_at` (RFC 3339).
//! - **Faults on demand**, with the request header `x-mock-fault` (checked after
//!   authentication and rate limit):
//!
//!   | value | response |
//!   |---|---|
//!   | `429`, `429=<s>` | 429, `Retry-After: <s>` (default 1), rate-limit envelope |
//!   | `500`, `502`, `503` | that status with the error envelope |
//!   | `slow=<ms>` | the normal response (or the other fault), `<ms>` later |
//!   | `truncate` | 200, the record's JSON cut in half |
//!   | `html` | 502 with an HTML error page (`text/html`) |
//!   | `empty` | 200 with an empty body |
//!   | `oversize=<bytes>` | 200, a streamed (chunked) body of exactly `<bytes>` bytes |
//!   | `redirect=<url>` | 302 with `Location: <url>` |
//!
//!   Items combine with commas, at most one besides `slow` (`slow=200,503`);
//!   `redirect=` takes the rest of the value. A malformed value gets 400.
//! - **Chaos.** With [`MockConfig::chaos`] `= p`, each request that passes
//!   authentication, the rate limit and `x-mock-fault` parsing independently gets, with probability `p`, a retryable fault:
//!   500, 502, 503, or 429 with `Retry-After: 0`. The draws come from one generator
//!   seeded with [`MockConfig::seed`], in request order, so a seed and a request
//!   sequence give the same faults. No fault is one a client should give up on, so
//!   a retrying client always gets through (unless `p` is 1).
//! - **Parameters.** Every path and query parameter is checked against the spec's
//!   schema for it, read through `trillet-spec` (closed enums such as `callType`,
//!   `page`/`limit` minimums, the `pattern` of the JSON-encoded `callIds` and
//!   `dateRange` and their decoded shape in `x-content`): a value outside it gets
//!   400 with the envelope (`code: bad_request`); a schema-valid one never does.
//! - **Limits.** At most [`MockConfig::max_connections`] connections are served at
//!   once; [`MockConfig::header_read_timeout`] closes a connection that sends half
//!   a request head or sits idle between requests. Rate-limit buckets are keyed by
//!   a hash of the key and forgotten once refilled, so memory does not grow with
//!   the number or size of keys ever seen.
//! - **Observability.** [`MockServer::stats`] counts requests, responses per status,
//!   rate-limit 429s and injected faults. Each request is logged with `tracing` at
//!   `debug` (method, path, status, latency, fault); every
//!   [`MockConfig::summary_interval`] a summary of the interval (requests, statuses)
//!   is logged at `info`. Header values never are.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use trillet_mock::{MOCK_API_KEY, MOCK_WORKSPACE_ID, MockConfig, MockServer};
//!
//! let server = MockServer::start(MockConfig::default()).await?;
//! let response = reqwest::Client::new()
//!     .get(format!("{}/v2/api/call-history/1234567890abcdef", server.url()))
//!     .header("x-api-key", MOCK_API_KEY)
//!     .header("x-workspace-id", MOCK_WORKSPACE_ID)
//!     .send()
//!     .await?;
//! assert_eq!(response.status(), 200);
//! assert!(response.text().await?.contains("\"customer_charge\": 0.10"));
//! assert_eq!(server.stats().count(200), 1);
//! server.shutdown().await?;
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod config;
mod deleted;
mod envelope;
mod error;
mod faults;
mod listing;
mod operations;
mod params;
mod rate_limit;
mod records;
mod server;
mod stats;

pub use config::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_LIST_SIZE, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_RATE_LIMIT_PER_MINUTE, MOCK_API_KEY, MOCK_WORKSPACE_ID, MockConfig,
};
pub use error::MockError;
pub use faults::FAULT_HEADER;
pub use listing::workspace_ids;
pub use records::{MISSING_PREFIX, record_json};
pub use server::{MockServer, serve};
pub use stats::MockStats;
