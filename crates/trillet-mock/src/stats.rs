//! Request counters a test or benchmark reads back through
//! [`MockServer::stats`](crate::MockServer::stats), e.g. to assert "zero 429s".

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of what a mock server has answered since it started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MockStats {
    /// Requests received (counted on arrival, so it can run ahead of `by_status`).
    pub requests: u64,
    /// 429s sent by the rate-limit emulation (not counting injected 429 faults).
    pub rate_limited: u64,
    /// Responses shaped by a fault, from `x-mock-fault` or from chaos.
    pub faults_injected: u64,
    /// Responses sent, by HTTP status.
    pub by_status: BTreeMap<u16, u64>,
}

impl MockStats {
    /// How many responses had `status`.
    pub fn count(&self, status: u16) -> u64 {
        self.by_status.get(&status).copied().unwrap_or(0)
    }

    /// How many 429s were sent, for any reason (rate limit or injected fault).
    pub fn too_many_requests(&self) -> u64 {
        self.count(429)
    }

    /// How many responses were sent.
    pub fn responses(&self) -> u64 {
        self.by_status.values().sum()
    }
}

/// Live counters, shared by the request handlers.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    rate_limited: AtomicU64,
    faults_injected: AtomicU64,
    by_status: Mutex<BTreeMap<u16, u64>>,
}

/// How a response came about, attached to it by the handler for the counters
/// and the request log.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) rate_limited: bool,
    pub(crate) fault: Option<String>,
}

impl Counters {
    pub(crate) fn arrived(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn answered(&self, status: u16, outcome: &Outcome) {
        if outcome.rate_limited {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        if outcome.fault.is_some() {
            self.faults_injected.fetch_add(1, Ordering::Relaxed);
        }
        let mut by_status = self
            .by_status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *by_status.entry(status).or_default() += 1;
    }

    pub(crate) fn snapshot(&self) -> MockStats {
        let by_status = self
            .by_status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        MockStats {
            requests: self.requests.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            faults_injected: self.faults_injected.load(Ordering::Relaxed),
            by_status,
        }
    }
}
