//! The per-key rate limit, emulated with `governor`'s keyed GCRA limiter: a token
//! bucket per API key that holds N requests and refills N per minute, evenly.
//!
//! So N requests in a burst pass and the next one gets 429 until a token is back
//! (60/N seconds later); a client pacing itself at N per minute never sees a 429.
//!
//! Memory stays bounded: a bucket is keyed by a 64-bit hash of the key (not the
//! key, which may be 64 KiB of header), and [`KeyedLimit::sweep`] forgets every
//! bucket that has refilled completely, i.e. whose key has been idle long enough
//! that a new bucket would behave the same (governor's `retain_recent`). The
//! server sweeps at [`MockConfig::rate_limit_sweep`](crate::MockConfig::rate_limit_sweep).

use std::hash::{BuildHasher, RandomState};
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Rate limits requests per API key.
pub(crate) struct KeyedLimit {
    limiter: DefaultKeyedRateLimiter<u64>,
    clock: DefaultClock,
    /// Seeded per process: a client cannot aim two keys at one bucket.
    hasher: RandomState,
}

impl std::fmt::Debug for KeyedLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedLimit")
            .field("buckets", &self.limiter.len())
            .finish_non_exhaustive()
    }
}

impl KeyedLimit {
    /// A limit of `per_minute` requests per key; `None` for no limit (`None` or 0).
    pub(crate) fn new(per_minute: Option<u32>) -> Option<Self> {
        let per_minute = NonZeroU32::new(per_minute?)?;
        let limiter = RateLimiter::keyed(Quota::per_minute(per_minute));
        let clock = limiter.clock().clone();
        Some(Self {
            limiter,
            clock,
            hasher: RandomState::new(),
        })
    }

    /// Takes a token for `key`, or says how long until one is available.
    pub(crate) fn check(&self, key: &str) -> Result<(), Duration> {
        // Only a hash of the caller's secret is kept, and only in memory.
        self.limiter
            .check_key(&self.hasher.hash_one(key))
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets the buckets that have refilled completely and returns the memory.
    pub(crate) fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// How many keys have a bucket.
    pub(crate) fn buckets(&self) -> usize {
        self.limiter.len()
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
    fn a_sweep_forgets_refilled_buckets_and_keeps_the_others() {
        // 60,000 a minute: one request's token is back after a millisecond.
        let Some(fast) = KeyedLimit::new(Some(60_000)) else {
            panic!("a limit is a limit");
        };
        for i in 0..2000 {
            assert_eq!(fast.check(&format!("key-{i}")), Ok(()));
        }
        assert_eq!(fast.buckets(), 2000);
        std::thread::sleep(Duration::from_millis(20));
        fast.sweep();
        assert_eq!(fast.buckets(), 0);

        // 60 a minute: a used bucket needs a second to refill, so it stays.
        let Some(slow) = KeyedLimit::new(Some(60)) else {
            panic!("a limit is a limit");
        };
        assert_eq!(slow.check("busy"), Ok(()));
        slow.sweep();
        assert_eq!(slow.buckets(), 1);
    }

    #[test]
    fn zero_or_none_is_no_limit() {
        assert!(KeyedLimit::new(None).is_none());
        assert!(KeyedLimit::new(Some(0)).is_none());
    }
}
