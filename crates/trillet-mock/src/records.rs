//! The call-history records the mock serves: the spec's example files verbatim by
//! their `_id`, and for any other id a deterministic record shaped like one of them.
//!
//! Generated records vary what the spec leaves open: every known `direction` and
//! `status` and sometimes an unknown one, integer and fractional times, no `endTime`
//! while a call is ongoing, `analyzedData` with keys beyond the documented one, and
//! sometimes top-level keys the spec does not list.

use std::borrow::Cow;
use std::sync::LazyLock;

use chrono::{DateTime, SecondsFormat};
use fastrand::Rng;
use serde_json::{Map, Value, json};
use trillet_spec::{EXAMPLE_FILES, Spec, schema_for_example_file};

/// Ids starting with this prefix do not exist: the mock answers 404.
pub const MISSING_PREFIX: &str = "missing";

/// The JSON text served for `id`, or `None` when the id does not exist (it starts
/// with [`MISSING_PREFIX`]). An example file's `_id` gets that file's exact text;
/// any other id gets a generated record whose `_id` is `id`, the same bytes every
/// time.
///
/// ```
/// let seed = trillet_mock::record_json("1234567890abcdef").unwrap();
/// assert!(seed.contains("\"customer_charge\": 0.10"));
/// assert_eq!(trillet_mock::record_json("abc"), trillet_mock::record_json("abc"));
/// assert!(trillet_mock::record_json("missing-1").is_none());
/// ```
pub fn record_json(id: &str) -> Option<Cow<'static, str>> {
    if id.starts_with(MISSING_PREFIX) {
        return None;
    }
    if let Some(example) = EXAMPLES.iter().find(|e| e.id.as_deref() == Some(id)) {
        return Some(Cow::Borrowed(example.text));
    }
    Some(Cow::Owned(generate(id).to_string()))
}

/// Parses the examples and the spec's open sets now rather than on the first
/// request.
pub(crate) fn warm_up() {
    LazyLock::force(&EXAMPLES);
    LazyLock::force(&KNOWN);
}

/// One `call-history.*.json` example: its `_id`, its text and its parsed object.
struct Example {
    id: Option<String>,
    text: &'static str,
    object: Map<String, Value>,
}

static EXAMPLES: LazyLock<Vec<Example>> = LazyLock::new(|| {
    EXAMPLE_FILES
        .iter()
        .filter(|(name, _)| schema_for_example_file(name) == Some("CallHistory"))
        .filter_map(|(_, text)| match serde_json::from_str(text) {
            Ok(Value::Object(object)) => Some(Example {
                id: object.get("_id").and_then(Value::as_str).map(str::to_owned),
                text,
                object,
            }),
            _ => None,
        })
        .collect()
});

/// The values the spec lists for the open sets `CallDirection` and `CallStatus`.
struct Known {
    directions: Vec<String>,
    statuses: Vec<String>,
}

static KNOWN: LazyLock<Known> = LazyLock::new(|| {
    let spec = Spec::bundled().ok();
    let listed = |schema: &str| -> Vec<String> {
        spec.as_ref()
            .and_then(|s| s.schema(schema))
            .and_then(|s| s.pointer("/anyOf/0/enum"))
            .and_then(Value::as_array)
            .map(|values| {
                values
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    Known {
        directions: listed("CallDirection"),
        statuses: listed("CallStatus"),
    }
});

/// Values outside the spec's lists, as a newer API version might send them.
const UNKNOWN_DIRECTION: &str = "transfer";
const UNKNOWN_STATUS: &str = "ringing";
/// Statuses of a call that has not ended: such records have no `endTime`.
const NOT_ENDED: &[&str] = &["ongoing", "active", "in-progress", UNKNOWN_STATUS];

const SUMMARIES: &[&str] = &[
    "Generic conversation summary about customer engagement.",
    "Caller asked about opening hours and was given them.",
    "Caller booked an appointment for next week.",
    "Agent reached voicemail and left a message.",
    "Caller reported a billing issue; a ticket was opened.",
];
const OUTCOMES: &[&str] = &["generic details", "booked", "callback", "no answer"];
const SENTIMENTS: &[&str] = &["positive", "neutral", "negative"];
const AGENTS: &[&str] = &[
    "65a7f3c2e4b0a1d2c3f40001",
    "65a7f3c2e4b0a1d2c3f40002",
    "65a7f3c2e4b0a1d2c3f40003",
];
const CALL_FLOWS: &[&str] = &["65a7f3c2e4b0a1d2c3f4f001", "65a7f3c2e4b0a1d2c3f4f002"];

/// FNV-1a (64 bit) of `bytes`. Hand-rolled, five lines: `std`'s `DefaultHasher`
/// does not promise the same output across Rust releases, and an id must map to
/// the same record bytes everywhere.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// A Unix time in whole seconds plus a fraction in units of 100 ns (0: integer).
#[derive(Clone, Copy)]
struct Time {
    secs: i64,
    frac: u32,
}

impl Time {
    fn draw(rng: &mut Rng, secs: i64) -> Self {
        // Half the times are fractional; the fraction is at least 0.0001 s so the
        // f64 sum still prints as a fraction at today's magnitudes.
        let frac = if rng.bool() {
            rng.u32(1_000..10_000_000)
        } else {
            0
        };
        Self { secs, frac }
    }

    fn json(self) -> Value {
        if self.frac == 0 {
            json!(self.secs)
        } else {
            json!(self.secs as f64 + f64::from(self.frac) / 1e7)
        }
    }

    fn rfc3339(self) -> Option<Value> {
        let at = DateTime::from_timestamp(self.secs, self.frac * 100)?;
        let format = if self.frac == 0 {
            SecondsFormat::Secs
        } else {
            SecondsFormat::Millis
        };
        Some(json!(at.to_rfc3339_opts(format, true)))
    }
}

/// The facts of one generated call, drawn once and then written into the fields
/// its template has.
struct Call {
    direction: String,
    status: String,
    start: Time,
    end: Option<Time>,
    charge: Value,
    summary: &'static str,
    agent: &'static str,
    call_flow: &'static str,
    room: String,
    numbers: [String; 2],
}

impl Call {
    fn draw(rng: &mut Rng) -> Self {
        let known = &*KNOWN;
        let direction = pick_open(rng, &known.directions, UNKNOWN_DIRECTION);
        // Most calls in a history have ended: half are `completed`, the rest spread
        // over every status the spec lists (and sometimes an unknown one).
        let status = if rng.bool() && known.statuses.iter().any(|s| s == "completed") {
            "completed".to_owned()
        } else {
            pick_open(rng, &known.statuses, UNKNOWN_STATUS)
        };
        let start_secs = 1_680_000_000 + rng.i64(0..70_000_000);
        let start = Time::draw(rng, start_secs);
        let end = if NOT_ENDED.contains(&status.as_str()) {
            None
        } else {
            let seconds = if status == "failed" {
                rng.i64(0..30)
            } else {
                rng.i64(5..1_800)
            };
            Some(Time::draw(rng, start.secs + seconds + 1))
        };
        let charge = match (&end, status.as_str()) {
            (_, "failed") | (None, _) => json!(0),
            _ => json!(f64::from(rng.u32(1..=5_000)) / 10_000.0),
        };
        let prefix = if rng.bool() { "web" } else { "sip" };
        let us = format!("+1555{:07}", rng.u32(0..10_000_000));
        let them = format!("+1555{:07}", rng.u32(0..10_000_000));
        let numbers = if direction == "inbound" {
            [them, us]
        } else {
            [us, them]
        };
        Self {
            direction,
            status,
            start,
            end,
            charge,
            summary: pick(rng, SUMMARIES),
            agent: pick(rng, AGENTS),
            call_flow: pick(rng, CALL_FLOWS),
            room: format!("{prefix}-{:08x}", rng.u32(..)),
            numbers,
        }
    }

    fn ended(&self) -> bool {
        self.end.is_some()
    }
}

fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.usize(..items.len())]
}

/// A value from the spec's list, or one time in twenty (or when the list is
/// empty) `unknown`.
fn pick_open(rng: &mut Rng, known: &[String], unknown: &str) -> String {
    if known.is_empty() || rng.u8(..20) == 0 {
        unknown.to_owned()
    } else {
        known[rng.usize(..known.len())].clone()
    }
}

/// Picks a template; the bare `_id`-only example is rare (1 in 19).
fn pick_template(rng: &mut Rng) -> Option<&'static Map<String, Value>> {
    let weight = |e: &Example| if e.object.len() <= 1 { 1 } else { 6 };
    let total: u32 = EXAMPLES.iter().map(weight).sum();
    if total == 0 {
        return None;
    }
    let mut ticket = rng.u32(..total);
    for example in EXAMPLES.iter() {
        let w = weight(example);
        if ticket < w {
            return Some(&example.object);
        }
        ticket -= w;
    }
    None
}

/// The generated record for `id`.
fn generate(id: &str) -> Value {
    let mut rng = Rng::with_seed(fnv1a(id.as_bytes()));
    let empty = Map::new();
    let template = pick_template(&mut rng).unwrap_or(&empty);
    let call = Call::draw(&mut rng);

    let mut record = Map::new();
    record.insert("_id".into(), json!(id));
    for (key, example) in template {
        if let Some(value) = field(key, example, &call, id, &mut rng) {
            record.insert(key.clone(), value);
        }
    }
    // A record with a start time has an end time once the call has ended, even
    // when its template was an ongoing call.
    if template.contains_key("startTime")
        && let Some(end) = call.end
    {
        record.insert("endTime".into(), end.json());
    }
    // One record in five carries top-level keys the spec does not list.
    if template.len() > 1 && rng.u8(..5) == 0 {
        record.insert(
            "callType".into(),
            json!(if call.room.starts_with("sip") {
                "sip"
            } else {
                "web"
            }),
        );
        if let Some(end) = call.end {
            record.insert("duration".into(), json!(end.secs - call.start.secs));
        }
    }
    Value::Object(record)
}

/// The value of template field `key` for `call`; `None` leaves the field out.
fn field(key: &str, example: &Value, call: &Call, id: &str, rng: &mut Rng) -> Option<Value> {
    Some(match key {
        "_id" => json!(id),
        "agentId" => json!(call.agent),
        "callFlowId" => json!(call.call_flow),
        "roomName" => json!(call.room),
        "direction" => json!(call.direction),
        "status" => json!(call.status),
        "fromPhoneNumber" => json!(call.numbers[0]),
        "toPhoneNumber" => json!(call.numbers[1]),
        "startTime" => call.start.json(),
        "endTime" => call.end?.json(),
        "createdAt" => call.start.rfc3339()?,
        "updatedAt" => call.end.unwrap_or(call.start).rfc3339()?,
        "summary" if call.ended() => json!(call.summary),
        "summary" => return None,
        "cost" => {
            // Keep the template's extra keys (currency, breakdown): open object.
            let mut cost = example.as_object().cloned().unwrap_or_default();
            cost.insert("customer_charge".into(), call.charge.clone());
            Value::Object(cost)
        }
        "analyzedData" if call.ended() => {
            let mut data = Map::new();
            data.insert("additional_field".into(), json!(pick(rng, OUTCOMES)));
            // Always one key beyond the documented one: analysis keys are open.
            if rng.bool() {
                data.insert("answered_by_voicemail".into(), json!(rng.bool()));
            } else {
                data.insert("sentiment".into(), json!(pick(rng, SENTIMENTS)));
            }
            Value::Object(data)
        }
        "analyzedData" => return None,
        "recordingUrl" if call.ended() => json!(format!(
            "https://recordings.example/{:016x}.wav",
            fnv1a(id.as_bytes())
        )),
        "recordingUrl" => Value::Null,
        // workspaceId, metadata, functionCalls and unknown keys: as in the example.
        _ => example.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn every_example_is_served_verbatim_by_its_id() {
        assert!(EXAMPLES.len() >= 4);
        for example in EXAMPLES.iter() {
            let id = example.id.as_deref().unwrap_or_default();
            assert_eq!(record_json(id).as_deref(), Some(example.text), "{id}");
        }
    }

    #[test]
    fn the_spec_lists_the_open_sets() {
        assert!(KNOWN.directions.iter().any(|d| d == "outbound"));
        assert!(KNOWN.statuses.iter().any(|s| s == "completed"));
    }

    #[test]
    fn ongoing_calls_have_no_end_and_ended_calls_do() {
        for i in 0..300 {
            let record = generate(&format!("id-{i}"));
            let status = record["status"].as_str().unwrap_or("");
            if record.get("startTime").is_some() && !status.is_empty() {
                assert_eq!(
                    record.get("endTime").is_none(),
                    NOT_ENDED.contains(&status),
                    "{record}"
                );
            }
        }
    }
}
