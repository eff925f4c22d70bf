//! Limitations the suite has found and not (yet) fixed, as ignored tests:
//! `cargo test -p trillet-tests -- --ignored` shows whether they still hold.

use serde_json::json;
use trillet_api::types::{CallHistory, CallHistorySummary};
use trillet_tests::check;

/// The model holds date-times as UTC (`chrono::DateTime<Utc>`) and writes them back
/// in UTC. RFC 3339 allows a local time in year 0000 with a positive offset, or in
/// year 9999 with a negative one, whose UTC instant lies in year -1 or 10000: the
/// model then writes `-0001-12-31T23:00:00Z` / `+10000-01-01T00:59:59Z`, which the
/// spec's `date-time` rejects. The generator keeps to years 0001–9998 (see
/// `strategy::Limits::years`) so that the properties test everything else.
#[test]
#[ignore = "known limitation: a date-time within a day of year 0000/9999 re-encodes outside RFC 3339"]
fn a_date_time_at_the_edge_of_the_year_range_re_encodes_as_a_valid_date_time() {
    for text in ["0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"] {
        let input = json!({ "createdAt": text });
        check::encodes_only_spec_valid_json::<CallHistory>("CallHistory", &input).unwrap();
        check::decodes_and_re_encodes_equal_in_value::<CallHistory>("CallHistory", &input).unwrap();
    }
}

/// `CallHistorySummary.recordingUrl` is `nullable` and `agent`/`transcript` admit any
/// value, `null` included; the generated fields are `Option<_>`, which decode `null`
/// as `None` and skip `None` on encode, so an explicit `null` comes back absent. The
/// spec calls `null` "no recording", the same as absent, so the properties treat the
/// two as equal for such properties (see `canonical::Canonical::null_means_absent`);
/// this test keeps the byte-level loss visible.
#[test]
#[ignore = "known limitation: an explicit null in an optional nullable/untyped property re-encodes as absent"]
fn an_explicit_null_in_a_summary_is_kept() {
    for input in [
        json!({ "recordingUrl": null }),
        json!({ "agent": null }),
        json!({ "transcript": null }),
    ] {
        let model: CallHistorySummary = serde_json::from_value(input.clone()).unwrap();
        assert_eq!(serde_json::to_value(&model).unwrap(), input);
    }
}
