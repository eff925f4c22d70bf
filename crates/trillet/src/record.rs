//! Convenience accessors on the generated [`CallHistory`] and [`CallHistorySummary`]
//! models. Times use `chrono`, the crate the generated model already uses for
//! `date-time`; every conversion is guarded (no panic on any value).

use std::time::Duration;

use chrono::{DateTime, Utc};
use trillet_api::types::{CallHistory, CallHistorySummary};

/// Typed views of the raw fields of a [`CallHistory`] (and of a listed
/// [`CallHistorySummary`]: its `timestamp`, `duration` and plain-number `cost`).
///
/// ```
/// use trillet::CallHistoryExt;
/// let call: trillet::CallHistory =
///     serde_json::from_str(r#"{"startTime":1680000000,"endTime":1680000300.5,"cost":{"customer_charge":0.1}}"#)?;
/// assert_eq!(call.started_at().map(|t| t.to_rfc3339()), Some("2023-03-28T10:40:00+00:00".into()));
/// assert_eq!(call.duration(), Some(std::time::Duration::from_millis(300_500)));
/// assert_eq!(call.customer_charge(), Some(0.1));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub trait CallHistoryExt {
    /// When the call started (`startTime`).
    fn started_at(&self) -> Option<DateTime<Utc>>;
    /// When the call ended (`endTime`); `None` while it is going on.
    fn ended_at(&self) -> Option<DateTime<Utc>>;
    /// How long the call lasted; `None` without both times or if they are reversed.
    fn duration(&self) -> Option<Duration>;
    /// What the customer was charged (`cost.customer_charge`).
    fn customer_charge(&self) -> Option<f64>;
}

impl CallHistoryExt for CallHistory {
    fn started_at(&self) -> Option<DateTime<Utc>> {
        self.start_time.and_then(unix_seconds)
    }

    fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.end_time.and_then(unix_seconds)
    }

    fn duration(&self) -> Option<Duration> {
        let seconds = self.end_time? - self.start_time?;
        Duration::try_from_secs_f64(seconds).ok()
    }

    fn customer_charge(&self) -> Option<f64> {
        self.cost.as_ref()?.customer_charge
    }
}

impl CallHistoryExt for CallHistorySummary {
    fn started_at(&self) -> Option<DateTime<Utc>> {
        self.timestamp.and_then(unix_seconds)
    }

    fn ended_at(&self) -> Option<DateTime<Utc>> {
        let end = self.timestamp? + self.duration?;
        unix_seconds(end)
    }

    fn duration(&self) -> Option<Duration> {
        Duration::try_from_secs_f64(self.duration?).ok()
    }

    fn customer_charge(&self) -> Option<f64> {
        self.cost
    }
}

/// Fractional Unix seconds to a time, to the microsecond (what an `f64` of today's
/// epoch seconds can hold); `None` when out of range or not finite.
fn unix_seconds(seconds: f64) -> Option<DateTime<Utc>> {
    if !seconds.is_finite() {
        return None;
    }
    let micros = (seconds * 1e6).round();
    if micros.abs() >= i64::MAX as f64 {
        return None;
    }
    DateTime::from_timestamp_micros(micros as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(start: Option<f64>, end: Option<f64>) -> CallHistory {
        let mut record: CallHistory = serde_json::from_str("{}").unwrap();
        record.start_time = start;
        record.end_time = end;
        record
    }

    #[test]
    fn fractional_timestamps_keep_their_microseconds() {
        let at = call(Some(1_737_062_894.975_423_6), None)
            .started_at()
            .unwrap();
        assert_eq!(at.to_rfc3339(), "2025-01-16T21:28:14.975424+00:00");
    }

    #[test]
    fn an_ongoing_call_has_no_end_and_no_duration() {
        let c = call(Some(1.0), None);
        assert_eq!(c.ended_at(), None);
        assert_eq!(c.duration(), None);
    }

    #[test]
    fn a_listed_summary_has_the_same_typed_views() {
        let item: CallHistorySummary =
            serde_json::from_str(r#"{"timestamp":1737062894.9754236,"duration":12.5,"cost":0.25}"#)
                .unwrap();
        assert_eq!(
            item.started_at().unwrap().to_rfc3339(),
            "2025-01-16T21:28:14.975424+00:00"
        );
        assert_eq!(item.duration(), Some(Duration::from_millis(12_500)));
        assert_eq!(item.customer_charge(), Some(0.25));
        let absurd: CallHistorySummary =
            serde_json::from_str(r#"{"timestamp":1e300,"duration":-1}"#).unwrap();
        assert_eq!(
            (absurd.started_at(), absurd.duration(), absurd.ended_at()),
            (None, None, None)
        );
    }

    #[test]
    fn reversed_or_absurd_times_give_none_not_a_panic() {
        assert_eq!(call(Some(10.0), Some(5.0)).duration(), None);
        assert_eq!(call(Some(f64::NAN), None).started_at(), None);
        assert_eq!(call(Some(1e300), None).started_at(), None);
        assert_eq!(
            call(Some(f64::NEG_INFINITY), Some(f64::INFINITY)).duration(),
            None
        );
    }
}
