//! Helpers shared by the workspace-level tests in `tests/tests/`.

use serde_json::Value;

/// Whether two JSON values are equal, comparing numbers by value (`1680000000`
/// equals `1680000000.0`) and date-time strings by the instant they name
/// (`2025-01-16T21:28:14+01:00` equals `2025-01-16T20:28:14Z`).
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(x), Value::String(y)) => x == y || same_instant(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn same_instant(a: &str, b: &str) -> bool {
    match (parse_rfc3339(a), parse_rfc3339(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// Seconds and nanoseconds since the epoch of an RFC 3339 date-time, via the
/// generated model's own date type so the comparison matches what it decodes.
fn parse_rfc3339(text: &str) -> Option<(i64, u32)> {
    let record: trillet_api::types::CallHistory =
        serde_json::from_value(serde_json::json!({ "createdAt": text })).ok()?;
    let at = record.created_at?;
    Some((at.timestamp(), at.timestamp_subsec_nanos()))
}

/// The example files compiled into `trillet-spec`, parsed.
pub fn example(name: &str) -> Value {
    let text = trillet_spec::EXAMPLE_FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .unwrap_or_else(|| panic!("no example file named {name}"));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}
