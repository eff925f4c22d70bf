//! When to retry and how long to wait, as plain data: full-jitter exponential backoff
//! (the schedule from `backon`), raised to the server's own hints (`Retry-After`, the
//! envelope's `reset_at`). What counts as retryable is [`Error::is_retryable`].
//!
//! [`Error::is_retryable`]: crate::Error::is_retryable

use std::time::{Duration, SystemTime};

use backon::BackoffBuilder;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How failed requests are retried.
///
/// The default follows the AWS SDKs' "standard" mode: 3 attempts in all, full-jitter
/// exponential backoff from 200 ms doubling up to 20 s. A server hint wins when it
/// asks for a longer wait; a hint longer than [`max_wait`](Self::max_wait) ends the
/// call at once with [`Error::RateLimited`](crate::Error::RateLimited) or the API's 429,
/// carrying the instant to retry. The time budget of a whole call is
/// [`Timeouts::operation`](crate::Timeouts::operation).
///
/// ```
/// use std::time::Duration;
/// let policy = trillet::RetryPolicy::default()
///     .max_attempts(5)
///     .max_wait(Duration::from_secs(120));
/// assert_eq!(policy.attempts(), 5);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    pub(crate) max_attempts: u32,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(20),
            max_wait: Duration::from_secs(60),
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

    /// Retries after the first attempt (`max_attempts(retries + 1)`, saturating).
    pub fn max_retries(self, retries: u32) -> Self {
        self.max_attempts(retries.saturating_add(1))
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

    /// The longest wait the client accepts from a server (`Retry-After`, `reset_at`,
    /// default 60 s). A longer one is never cut short: the call ends at once with the
    /// instant the server named, and so does every call of the client until then.
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    /// The configured number of attempts.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The planned (pre-jitter) backoffs between attempts, one per retry.
    pub(crate) fn schedule(&self) -> backon::ExponentialBackoff {
        backon::ExponentialBuilder::default()
            .with_min_delay(self.initial_backoff)
            .with_max_delay(self.max_backoff)
            .with_factor(2.0)
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
            .build()
    }

    /// The wait before the next attempt: full jitter over the planned backoff
    /// (uniform in `0..=planned`), raised to the server's hint. `None` when the hint
    /// is longer than `max_wait`: the call must end instead of waiting less.
    pub(crate) fn wait(&self, planned: Duration, hint: Option<Duration>) -> Option<Duration> {
        let jittered = planned.mul_f64(fastrand::f64());
        match hint {
            Some(hint) if hint > self.max_wait => None,
            Some(hint) => Some(jittered.max(hint)),
            None => Some(jittered),
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
pub(crate) fn server_hint(
    headers: &HeaderMap,
    reset_at: Option<chrono::DateTime<chrono::Utc>>,
    now: SystemTime,
) -> Option<Duration> {
    let header = retry_after(headers, now);
    let reset = reset_at.map(|at| {
        SystemTime::from(at)
            .duration_since(now)
            .unwrap_or(Duration::ZERO)
    });
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
        assert_eq!(
            parse_retry_after("18446744073709551615", now()),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn the_later_of_retry_after_and_reset_at_wins() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        let reset = chrono::DateTime::<chrono::Utc>::from(now() + Duration::from_secs(5));
        assert_eq!(
            server_hint(&headers, Some(reset), now()),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            server_hint(&headers, None, now()),
            Some(Duration::from_secs(2))
        );
        assert_eq!(server_hint(&HeaderMap::new(), None, now()), None);
    }

    #[test]
    fn waits_are_jittered_below_the_plan_raised_to_hints_and_never_cut() {
        let policy = RetryPolicy::default().max_wait(Duration::from_secs(10));
        for _ in 0..100 {
            let wait = policy.wait(Duration::from_secs(1), None).unwrap();
            assert!(wait <= Duration::from_secs(1));
        }
        assert!(
            policy
                .wait(Duration::from_secs(1), Some(Duration::from_secs(3)))
                .unwrap()
                >= Duration::from_secs(3)
        );
        assert_eq!(
            policy.wait(Duration::ZERO, Some(Duration::from_secs(3600))),
            None
        );
        let unbounded = RetryPolicy::default().max_wait(Duration::MAX);
        assert_eq!(
            unbounded.wait(Duration::MAX, Some(Duration::MAX)),
            Some(Duration::MAX)
        );
    }

    #[test]
    fn the_schedule_has_one_backoff_per_retry() {
        assert_eq!(RetryPolicy::default().max_attempts(4).schedule().count(), 3);
        assert_eq!(RetryPolicy::none().schedule().count(), 0);
        assert_eq!(RetryPolicy::default().max_retries(2).attempts(), 3);
        assert_eq!(
            RetryPolicy::default().max_retries(u32::MAX).attempts(),
            u32::MAX
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
