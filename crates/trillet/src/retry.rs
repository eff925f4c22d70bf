//! When to retry and how long to wait: full-jitter exponential backoff (via `backon`),
//! overridden upward by the server's own hints (`Retry-After`, the envelope's `reset_at`).

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How failed requests are retried.
///
/// The default follows the AWS SDKs' "standard" mode: 3 attempts in all, full-jitter
/// exponential backoff from 200 ms doubling up to 20 s, and a server hint wins when
/// it asks for a longer wait (capped by [`max_wait`](Self::max_wait)).
///
/// ```
/// use std::time::Duration;
/// let policy = trillet::RetryPolicy::default()
///     .max_attempts(5)
///     .deadline(Duration::from_secs(30));
/// assert_eq!(policy.attempts(), 5);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    pub(crate) max_attempts: u32,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) max_wait: Duration,
    pub(crate) deadline: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(20),
            max_wait: Duration::from_secs(60),
            deadline: None,
        }
    }
}

impl RetryPolicy {
    /// No retries: every request is sent once.
    pub fn none() -> Self {
        Self::default().max_attempts(1)
    }

    /// Attempts in all, the first included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff before the first retry (before jitter); it doubles each time.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The largest backoff between attempts (before jitter).
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The longest wait a server hint (`Retry-After`, `reset_at`) may impose; a longer
    /// hint is cut to this.
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    /// An overall time budget for one call, retries and waits included: no retry
    /// starts whose wait would end past it.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The configured number of attempts.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    pub(crate) fn backoff(&self) -> backon::ExponentialBuilder {
        backon::ExponentialBuilder::default()
            .with_min_delay(self.initial_backoff)
            .with_max_delay(self.max_backoff)
            .with_factor(2.0)
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
    }

    /// The wait before the next attempt: full jitter over the planned backoff
    /// (uniform in `0..=planned`), raised to the server's hint, capped by `max_wait`.
    pub(crate) fn wait(&self, planned: Duration, hint: Option<Duration>) -> Duration {
        let jittered = planned.mul_f64(fastrand::f64());
        match hint {
            Some(hint) => jittered.max(hint.min(self.max_wait)),
            None => jittered,
        }
    }
}

/// Statuses worth retrying: rate limiting and transient server failures.
/// 400, 401, 403 and 404 are never retried: the same request fails the same way.
pub fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// The wait a response asks for: the later of `Retry-After` (delta-seconds or an
/// HTTP-date) and the envelope's `reset_at`, measured from `now`.
pub(crate) fn server_hint(headers: &HeaderMap, body: &[u8], now: SystemTime) -> Option<Duration> {
    let header = retry_after(headers, now);
    let reset = reset_at(body).and_then(|at| SystemTime::from(at).duration_since(now).ok());
    match (header, reset) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The `Retry-After` header of a response, as a wait from `now`.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now))
}

/// `Retry-After: 120` or `Retry-After: Wed, 21 Oct 2015 07:28:00 GMT` (RFC 9110 §10.2.3).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The envelope's `error.reset_at`, read with the generated model.
pub(crate) fn reset_at(body: &[u8]) -> Option<chrono::DateTime<chrono::Utc>> {
    serde_json::from_slice::<trillet_api::types::ErrorEnvelope>(body)
        .ok()?
        .error
        .reset_at
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        assert_eq!(parse_retry_after("7", now()), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now() + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now()),
            Some(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now() - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now()), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now()), None);
    }

    #[test]
    fn the_later_of_retry_after_and_reset_at_wins() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        let reset = chrono::DateTime::<chrono::Utc>::from(now() + Duration::from_secs(5));
        let body = format!(
            r#"{{"error":{{"code":"rate_limit_exceeded","message":"m","reset_at":"{}"}}}}"#,
            reset.to_rfc3339()
        );
        assert_eq!(
            server_hint(&headers, body.as_bytes(), now()),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            server_hint(&headers, b"<html>", now()),
            Some(Duration::from_secs(2))
        );
        assert_eq!(server_hint(&HeaderMap::new(), b"", now()), None);
    }

    #[test]
    fn waits_are_jittered_below_the_plan_raised_to_hints_and_capped() {
        let policy = RetryPolicy::default().max_wait(Duration::from_secs(10));
        for _ in 0..100 {
            assert!(policy.wait(Duration::from_secs(1), None) <= Duration::from_secs(1));
        }
        assert!(
            policy.wait(Duration::from_secs(1), Some(Duration::from_secs(3)))
                >= Duration::from_secs(3)
        );
        assert_eq!(
            policy.wait(Duration::ZERO, Some(Duration::from_secs(3600))),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn only_transient_statuses_are_retryable() {
        for s in [429, 500, 502, 503, 504] {
            assert!(is_retryable_status(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [400, 401, 403, 404, 501] {
            assert!(
                !is_retryable_status(StatusCode::from_u16(s).unwrap()),
                "{s}"
            );
        }
    }
}
