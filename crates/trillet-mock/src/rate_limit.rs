//! The per-key rate limit, emulated with `governor`'s keyed GCRA limiter: a token
//! bucket per API key that holds N requests and refills N per minute, evenly.
//!
//! So N requests in a burst pass and the next one gets 429 until a token is back
//! (60/N seconds later); a client pacing itself at N per minute never sees a 429.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Rate limits requests per API key.
pub(crate) struct KeyedLimit {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl std::fmt::Debug for KeyedLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedLimit").finish_non_exhaustive()
    }
}

impl KeyedLimit {
    /// A limit of `per_minute` requests per key; `None` for no limit (`None` or 0).
    pub(crate) fn new(per_minute: Option<u32>) -> Option<Self> {
        let per_minute = NonZeroU32::new(per_minute?)?;
        let limiter = RateLimiter::keyed(Quota::per_minute(per_minute));
        let clock = limiter.clock().clone();
        Some(Self { limiter, clock })
    }

    /// Takes a token for `key`, or says how long until one is available.
    pub(crate) fn check(&self, key: &str) -> Result<(), Duration> {
        // The key is the caller's secret: it lives only in this in-memory map.
        self.limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_n_passes_and_the_next_waits() {
        let Some(limit) = KeyedLimit::new(Some(3)) else {
            panic!("a limit of 3 is a limit");
        };
        for _ in 0..3 {
            assert_eq!(limit.check("k"), Ok(()));
        }
        let wait = limit.check("k").err().unwrap_or_default();
        assert!(wait > Duration::from_secs(15) && wait <= Duration::from_secs(20));
        // Another key has its own bucket.
        assert_eq!(limit.check("other"), Ok(()));
    }

    #[test]
    fn zero_or_none_is_no_limit() {
        assert!(KeyedLimit::new(None).is_none());
        assert!(KeyedLimit::new(Some(0)).is_none());
    }
}
