//! When a client may send: its rate limit (one `governor` limiter shared by its
//! clones, awaited before every attempt so a batch stays under the API's limit by
//! itself) and the pause a server's `Retry-After` or `reset_at` puts on all of them.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// How fast the client may send requests.
///
/// The default is 60 requests per minute, Trillet's Developer plan, with a burst of 1:
/// requests are spaced evenly, so a server counting per second sees no burst either.
///
/// ```
/// let fast = trillet::RateLimit::per_minute(600).burst(5);
/// assert_eq!(fast.requests_per_minute(), Some(600));
/// assert_eq!(trillet::RateLimit::Off.requests_per_minute(), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateLimit {
    /// No client-side limit.
    Off,
    /// At most `per_minute` requests a minute, at most `burst` at once.
    PerMinute {
        /// Requests per minute.
        per_minute: NonZeroU32,
        /// Requests that may go out back to back.
        burst: NonZeroU32,
    },
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::per_minute(60)
    }
}

impl RateLimit {
    /// `n` requests per minute, evenly spaced; `0` turns the limit off.
    pub fn per_minute(n: u32) -> Self {
        match NonZeroU32::new(n) {
            Some(per_minute) => Self::PerMinute {
                per_minute,
                burst: NonZeroU32::MIN,
            },
            None => Self::Off,
        }
    }

    /// Allows `burst` requests back to back (at least 1); no effect when off.
    pub fn burst(self, burst: u32) -> Self {
        match self {
            Self::PerMinute { per_minute, .. } => Self::PerMinute {
                per_minute,
                burst: NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN),
            },
            Self::Off => Self::Off,
        }
    }

    /// The configured rate, `None` when off.
    pub fn requests_per_minute(&self) -> Option<u32> {
        match self {
            Self::PerMinute { per_minute, .. } => Some(per_minute.get()),
            Self::Off => None,
        }
    }
}

/// The limiter a client and its clones share.
#[derive(Clone, Debug)]
pub(crate) struct Limiter(Option<Arc<DefaultDirectRateLimiter>>);

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        match limit {
            RateLimit::Off => Self(None),
            RateLimit::PerMinute { per_minute, burst } => {
                let quota = Quota::per_minute(per_minute).allow_burst(burst);
                Self(Some(Arc::new(RateLimiter::direct(quota))))
            }
        }
    }

    /// Waits until one more request may go out.
    pub(crate) async fn acquire(&self) {
        if let Some(limiter) = &self.0 {
            limiter.until_ready().await;
        }
    }
}

/// A pause of every call of a client (and its clones) until an instant, set when the
/// API asks for a wait, so the other requests of a batch wait it out instead of each
/// discovering the limit with a 429 of its own. Lock-free: one atomic read per attempt.
#[derive(Clone, Debug)]
pub(crate) struct Pause {
    origin: Instant,
    /// Nanoseconds after `origin` until which calls wait; 0 for none.
    until: Arc<AtomicU64>,
}

impl Pause {
    pub(crate) fn new() -> Self {
        Self {
            origin: Instant::now(),
            until: Arc::default(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Pauses the client for at least `wait` from now (a longer pause already set stays).
    pub(crate) fn extend(&self, wait: Duration) {
        let wait = u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX);
        let until = self.now().saturating_add(wait).max(1);
        self.until.fetch_max(until, Ordering::Relaxed);
    }

    /// How long the pause still lasts, if it does.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        let until = self.until.load(Ordering::Relaxed);
        if until == 0 {
            return None;
        }
        let now = self.now();
        (until > now).then(|| Duration::from_nanos(until - now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_per_minute_means_off() {
        assert_eq!(RateLimit::per_minute(0), RateLimit::Off);
        assert_eq!(RateLimit::Off.burst(3), RateLimit::Off);
    }

    #[test]
    fn the_default_is_the_developer_plan() {
        assert_eq!(RateLimit::default().requests_per_minute(), Some(60));
    }

    #[tokio::test]
    async fn clones_share_one_budget() {
        let a = Limiter::new(RateLimit::per_minute(60).burst(2));
        let b = a.clone();
        a.acquire().await;
        b.acquire().await;
        // The burst of 2 is spent by the two clones together.
        let limiter = a.0.as_ref().unwrap();
        assert!(limiter.check().is_err());
    }

    #[test]
    fn a_pause_is_shared_only_grows_and_never_overflows() {
        let a = Pause::new();
        let b = a.clone();
        assert_eq!(a.remaining(), None);
        a.extend(Duration::from_secs(60));
        b.extend(Duration::from_secs(1));
        let rest = b.remaining().unwrap();
        assert!(
            rest > Duration::from_secs(59) && rest <= Duration::from_secs(60),
            "{rest:?}"
        );
        a.extend(Duration::MAX);
        assert!(b.remaining().unwrap() > Duration::from_secs(100 * 365 * 86_400));
        let c = Pause::new();
        c.extend(Duration::ZERO);
        assert_eq!(c.remaining(), None);
    }
}
