//! A client for the [Trillet AI](https://trillet.ai) call-history API that is safe to
//! run in production against a rate-limited API.
//!
//! - **Configuration** from `TRILLET_API_KEY`, `TRILLET_WORKSPACE_ID` and
//!   `TRILLET_BASE_URL` ([`Client::from_env`]) or a [`ClientBuilder`].
//! - **Secrets** stay secret: the key is a `secrecy::SecretString`, both headers are
//!   marked sensitive, and no `Debug`, error or log line shows the key.
//! - **Transport safety**: `https` only (loopback excepted, and never proxied),
//!   credentials never follow a redirect to another origin, ids are encoded as one
//!   path segment, bodies are read up to a size limit.
//! - **Retries** of 429/5xx, timeouts and broken connections with full-jitter
//!   exponential backoff. A server's `Retry-After` or `reset_at` is obeyed in full,
//!   by every clone of the client at once, or ends the call with the instant to
//!   retry ([`Error::retry_at`]); [`Error::is_retryable`] is the one classifier.
//! - **Timeouts** for connecting, each attempt and the whole call ([`Timeouts`]).
//! - **Rate limiting** shared by all clones (60 requests a minute by default).
//! - **Any operation** of the generated client with the whole policy
//!   ([`Client::call`]), and any operation at all, described at run time
//!   ([`OperationRequest`], [`Client::send_request`]), with the same policy.
//! - **Batches** with bounded concurrency, in input order or as completed.
//! - **Listing** with typed filters, as a lazy stream of items across pages.
//!
//! The models are the generated ones from `trillet-api`, re-exported here, with
//! [`Direction`] and [`Status`] as open enums and [`CallHistoryExt`] for typed times.
//!
//! ```no_run
//! use trillet::{CallHistoryExt, Client, Direction};
//!
//! # async fn run() -> Result<(), trillet::Error> {
//! let client = Client::from_env()?;
//! let call = client.call_history("65a7f3c2e4b0a1d2c3f4e5a6").await?;
//! if call.direction == Some(Direction::Inbound) {
//!     println!("inbound call lasting {:?}", call.duration());
//! }
//! # Ok(()) }
//! ```
//!
//! Errors say what to do next and answer the usual questions:
//!
//! ```no_run
//! # async fn run(client: trillet::Client) {
//! match client.call_history("nope").await {
//!     Err(e) if e.is_not_found() => eprintln!("no such call"),
//!     Err(e) if e.is_retryable() => eprintln!("try again later: {e}"),
//!     Err(e) => eprintln!("{e}"),
//!     Ok(call) => println!("{:?}", call.summary),
//! }
//! # }
//! ```
#![deny(missing_docs)]

mod batch;
mod client;
mod config;
mod error;
mod list;
mod operation;
mod rate_limit;
mod record;
mod request;
mod retry;
mod timeouts;

pub use batch::Batch;
pub use client::{Client, MAX_ID_LEN, Raw, RawCallHistory, decode_call_history};
pub use config::{
    ClientBuilder, DEFAULT_BASE_URL, DEFAULT_MAX_BODY_BYTES, ENV_API_KEY, ENV_BASE_URL,
    ENV_WORKSPACE_ID,
};
pub use error::{ApiError, ConfigError, Error, RedirectProblem, TimeoutStage, TransportCause};
pub use list::{ListCallHistories, Page, RawCallHistorySummary};
pub use operation::{OperationRequest, RawResponse, path_segment_problem};
pub use rate_limit::RateLimit;
pub use record::CallHistoryExt;
pub use request::redirect_policy;
pub use retry::{RetryPolicy, is_retryable_status};
pub use timeouts::Timeouts;
pub use trillet_api::Effect;

/// The time types of the models and of [`ListCallHistories::since`] (chrono's).
pub use chrono::{DateTime, Utc};
/// HTTP methods and statuses, as [`OperationRequest`] and [`RawResponse`] use them.
pub use reqwest::{Method, StatusCode};

/// The generated models, re-exported.
pub use trillet_api::types::{
    AnalyzedData, ApiError as ApiErrorBody, CallCost, CallHistory, CallHistorySummary, CallType,
    ErrorEnvelope, FunctionCall,
};
pub use trillet_api::{CallMedium, Direction, Status};

/// The generated low-level crate, for what this crate does not wrap.
pub use trillet_api as api;

/// The README's Rust snippets, compiled as doc-tests; the unit test below checks
/// that they use no crate beyond the README's dependency block.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeSnippets;

#[cfg(test)]
mod readme {
    /// The crates of the README's dependency block (as Rust names), and std's.
    const DECLARED: [&str; 6] = [
        "trillet",
        "tokio",
        "futures_util",
        "tracing_subscriber",
        "std",
        "core",
    ];

    /// The first segment of every path in `code` that starts at a crate: each
    /// `use` tree's root, and each lowercase `name::` not preceded by `::` or a
    /// name character elsewhere (types, `Client::from_env`, start uppercase).
    fn crate_roots(code: &str) -> Vec<String> {
        let mut roots = Vec::new();
        for line in code.lines() {
            let line = line.trim_start().trim_start_matches("# ");
            if line.starts_with("//") {
                continue;
            }
            if let Some(tree) = line.strip_prefix("use ") {
                let root: String = tree
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                roots.push(root);
                continue;
            }
            let bytes = line.as_bytes();
            let mut i = 0;
            while let Some(at) = line[i..].find("::").map(|n| n + i) {
                let start = line[..at]
                    .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .map_or(0, |n| n + 1);
                let name = &line[start..at];
                let after_path = start >= 2 && &bytes[start - 2..start] == b"::";
                let after_dot = start >= 1 && bytes[start - 1] == b'.';
                if !name.is_empty()
                    && !after_path
                    && !after_dot
                    && name.starts_with(|c: char| c.is_ascii_lowercase())
                {
                    roots.push(name.to_owned());
                }
                i = at + 2;
            }
        }
        roots
    }

    #[test]
    fn readme_snippets_use_only_the_crates_of_its_dependency_block() {
        let readme = include_str!("../../../README.md");
        let mut snippets = 0;
        let mut rest = readme;
        while let Some(start) = rest.find("```rust") {
            let body = &rest[start..];
            let Some(open_end) = body.find('\n') else {
                break;
            };
            let Some(len) = body[open_end..].find("\n```") else {
                break;
            };
            let code = &body[open_end..open_end + len];
            snippets += 1;
            for root in crate_roots(code) {
                assert!(
                    DECLARED.contains(&root.as_str()),
                    "a README snippet uses `{root}`, which its dependency block does not \
                     declare:\n{code}"
                );
            }
            rest = &body[open_end + len..];
        }
        assert!(snippets >= 4, "found {snippets} snippets");
        // The scanner itself: what the newcomer pasted.
        assert_eq!(
            crate_roots("use trillet_api::types::{CallHistory, error::ConversionError};"),
            ["trillet_api"]
        );
        assert_eq!(
            crate_roots("let t: chrono::DateTime<Utc> = x.y::<u8>(); Client::new(); a.b::<c::D>()"),
            ["chrono", "c"]
        );
    }
}
