//! Drift: what real responses carry that the spec does not describe.
//!
//! A [`DriftAnalyzer`] takes records one at a time ([`DriftAnalyzer::observe`], or
//! a whole stream with [`DriftAnalyzer::observe_reader`]), walks each beside its
//! schema (chosen by shape among the schemas the operations respond with, or fixed)
//! and keeps counts, never the records: memory grows with the distinct paths and
//! values seen (each capped at [`DriftAnalyzer::DEFAULT_CAP`] per path), not with the
//! number of records. [`DriftAnalyzer::report`] gives a typed [`DriftReport`];
//! [`DriftReport::suggestion`] the spec change that would describe what was seen
//! ([`DriftReport::suggest`] with [`SuggestOptions::violations`]: also the loosening
//! that would accept what violates the spec, marked for review).
//!
//! A record that violates the spec (a value of another type, a `null`, a malformed
//! date, a missing required property, a value outside a closed set) is drift, and
//! the report counts such records ([`SchemaReport::violating`]). A record that is
//! JSON but that serde_json cannot hold (a number beyond `f64`, nesting deeper than
//! 128 levels) is reported as [`Unreadable`], with where it was, and the rest of the
//! input is still analysed. HAR files (`observe_har`) are read as well as JSON lines.
//!
//! Every reference is followed with [`crate::resolve`] and every walk is bounded by
//! [`Depth`], like every other reader of the spec.
//!
//! ```
//! let spec = trillet_spec::Spec::bundled()?;
//! let mut drift = trillet_spec::drift::DriftAnalyzer::with_schema(&spec, "CallHistory")?;
//! drift.observe(&serde_json::json!({"_id": "1", "transcript": [], "status": "ringing"}));
//! let report = drift.report();
//! assert_eq!(report.records, 1);
//! assert!(report.drifted());
//! let patch = report.suggestion();
//! assert!(patch.ops.iter().any(|op| op.path == "/components/schemas/CallHistory/properties/transcript"));
//! # Ok::<(), trillet_spec::SpecError>(())
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::Read;

use serde_json::{Map, Value};

use crate::resolve::{Depth, component_name, escape_pointer, resolve_named};
use crate::{Spec, SpecError};

mod har;
mod read;
pub mod render;
mod shape;
mod suggest;

pub use har::HarSummary;
pub use shape::Shape;
pub use suggest::{PatchKind, PatchOp, SEEN, SuggestOptions, Suggestion};

/// A schema's fit to a record: the score, then fewer wrong-typed keys, then more
/// named keys (compared in that order).
type Score = (i64, std::cmp::Reverse<usize>, usize);

/// How many characters of an example value a report shows.
pub const EXAMPLE_CHARS: usize = 60;

/// Enum values longer than this are counted cut, and never suggested.
const VALUE_CHARS: usize = 256;

/// The JSON type of a value as drift reports it (`integer` for whole numbers).
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `value` as compact JSON, control and bidirectional characters escaped, cut to
/// `max` characters with `…`: safe to show anywhere.
pub fn example(value: &Value, max: usize) -> String {
    let text = serde_json::to_string(value).unwrap_or_default();
    cut(&escape(&text), max)
}

/// Control characters (C0, DEL, C1) and the bidirectional overrides as `\u{…}`.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// A count of records (each record counted once, however often it hits).
#[derive(Clone, Copy, Debug, Default)]
struct Counter {
    records: u64,
    last: u64,
}

impl Counter {
    fn hit(&mut self, record: u64) {
        if self.records == 0 || self.last != record {
            self.records += 1;
            self.last = record;
        }
    }
}

/// Distinct values with their record counts, at most `cap` of them.
#[derive(Clone, Debug, Default)]
struct Tally {
    values: BTreeMap<String, Counter>,
    /// Values not tracked because the cap was reached.
    others: u64,
}

impl Tally {
    fn hit(&mut self, value: String, record: u64, cap: usize) {
        if let Some(counter) = self.values.get_mut(&value) {
            counter.hit(record);
        } else if self.values.len() < cap {
            let mut counter = Counter::default();
            counter.hit(record);
            self.values.insert(value, counter);
        } else {
            self.others += 1;
        }
    }

    fn counts(&self) -> Vec<ValueCount> {
        self.values
            .iter()
            .map(|(value, c)| ValueCount {
                value: value.clone(),
                records: c.records,
            })
            .collect()
    }
}

/// What is accumulated at one (path, kind).
#[derive(Clone, Debug)]
enum Acc {
    Unknown {
        add_to: String,
        adds_properties: bool,
        counter: Counter,
        shape: Shape,
        example: String,
    },
    Enum {
        enum_at: String,
        open: bool,
        strings: bool,
        values: Tally,
    },
    WrongType {
        expected: String,
        at: String,
        counter: Counter,
        seen: BTreeSet<&'static str>,
        example: String,
    },
    Format {
        format: String,
        at: String,
        counter: Counter,
        example: String,
    },
    Null {
        at: String,
        counter: Counter,
    },
    Missing {
        at: String,
        listed: usize,
        counter: Counter,
    },
    Keys {
        keys: Tally,
    },
}

/// Sort order of findings at one path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Tag {
    Unknown,
    Missing,
    WrongType,
    Null,
    Format,
    Enum,
    Keys,
}

/// Counts for one schema.
#[derive(Debug, Default)]
struct SchemaStats {
    records: u64,
    /// Records with at least one violation.
    violating: u64,
    found: BTreeMap<(String, Tag), Acc>,
    /// Unnamed keys tracked per object path (capped).
    unknown_per_object: HashMap<String, usize>,
    /// Object paths where unknown keys were no longer tracked.
    capped: BTreeSet<String>,
}

/// Reads records and counts what the spec does not describe.
#[derive(Debug)]
pub struct DriftAnalyzer<'s> {
    spec: &'s Spec,
    fixed: Option<String>,
    candidates: Vec<String>,
    cap: usize,
    records: u64,
    unmatched: Counter,
    unmatched_types: BTreeSet<&'static str>,
    unmatched_example: Option<String>,
    schemas: BTreeMap<String, SchemaStats>,
    spec_errors: BTreeSet<String>,
    unreadable: Vec<Unreadable>,
    unreadable_records: u64,
}

impl<'s> DriftAnalyzer<'s> {
    /// How many distinct values (enum values, open-object keys, unnamed properties)
    /// are tracked per path before the rest are only counted.
    pub const DEFAULT_CAP: usize = 1000;

    /// An analyzer that chooses each record's schema by its shape, among the
    /// component schemas the spec's operations respond with (a raw list body, an
    /// array, counts as its items).
    pub fn new(spec: &'s Spec) -> Result<Self, SpecError> {
        let mut candidates = Vec::new();
        for operation in spec.operations()? {
            for response in &operation.responses {
                let Some(schema) = &response.schema else {
                    continue;
                };
                let items = spec.resolve(schema)?.get("items");
                for node in [Some(schema), items].into_iter().flatten() {
                    if let Some(name) = node
                        .get("$ref")
                        .and_then(Value::as_str)
                        .and_then(component_name)
                        && !candidates.contains(&name)
                    {
                        candidates.push(name);
                    }
                }
            }
        }
        if candidates.is_empty() {
            return Err(SpecError::new(
                "no operation of the spec responds with a named schema; pass a schema name",
            ));
        }
        candidates.sort();
        Ok(Self::build(spec, None, candidates))
    }

    /// An analyzer that checks every record against `components/schemas/<name>`.
    pub fn with_schema(spec: &'s Spec, name: &str) -> Result<Self, SpecError> {
        if spec.schema(name).is_none() {
            return Err(SpecError::new(format!(
                "the spec has no schema named `{name}` (it has: {})",
                spec.schema_names().join(", ")
            )));
        }
        Ok(Self::build(spec, Some(name.to_owned()), Vec::new()))
    }

    fn build(spec: &'s Spec, fixed: Option<String>, candidates: Vec<String>) -> Self {
        Self {
            spec,
            fixed,
            candidates,
            cap: Self::DEFAULT_CAP,
            records: 0,
            unmatched: Counter::default(),
            unmatched_types: BTreeSet::new(),
            unmatched_example: None,
            schemas: BTreeMap::new(),
            spec_errors: BTreeSet::new(),
            unreadable: Vec::new(),
            unreadable_records: 0,
        }
    }

    /// How many unreadable records the report lists (the rest are counted).
    const UNREADABLE_LISTED: usize = 100;

    fn unreadable(&mut self, input: &str, at: String, reason: &str) {
        self.unreadable_records += 1;
        if self.unreadable.len() < Self::UNREADABLE_LISTED {
            self.unreadable.push(Unreadable {
                input: input.to_owned(),
                at,
                reason: reason.to_owned(),
            });
        }
    }

    /// Tracks at most `cap` distinct values per path (at least 1).
    pub fn cap(mut self, cap: usize) -> Self {
        self.cap = cap.max(1);
        self
    }

    /// The schemas a record may be matched against when none is fixed.
    pub fn candidates(&self) -> &[String] {
        &self.candidates
    }

    /// Observes one JSON document: a record, or an array of records (a raw list
    /// body, or `--output json` of several records), each element one record.
    pub fn observe(&mut self, value: &Value) {
        match value {
            Value::Array(items) if !self.is_array_schema(None) => {
                for item in items {
                    self.observe_record(item);
                }
            }
            _ => self.observe_record(value),
        }
    }

    /// Observes JSON text: one document, as [`observe`](Self::observe) (a record,
    /// or an array of records). A record in it that serde_json cannot hold (a
    /// number beyond `f64`, nesting deeper than 128 levels) is reported as
    /// [`Unreadable`] (placed by its number among the records) and the others are
    /// observed; text that is not JSON at all is an error, and nothing of it is
    /// observed unless it was read before the error.
    pub fn observe_json(&mut self, text: &str) -> Result<(), SpecError> {
        // The common case in one pass; the careful reading only when that fails.
        match serde_json::from_str::<Value>(text) {
            Ok(value) => {
                self.observe(&value);
                Ok(())
            }
            // Both a syntax error and a number out of range are syntax errors to
            // serde_json: the stream reading tells them apart.
            Err(_) => self
                .read_stream(text.as_bytes(), "", read::Place::Record, None)
                .map(drop)
                .map_err(|e| SpecError::new(format!("not JSON: {e}"))),
        }
    }

    /// Observes every JSON document in `reader` (JSON lines, concatenated documents,
    /// or one document), holding one record at a time: the elements of a top-level
    /// array are read one by one. A record serde_json cannot hold is reported as
    /// [`Unreadable`] with its line, and the rest is read; input that is not JSON is
    /// an error (what was read before it stays observed). Returns how many records
    /// were read.
    pub fn observe_reader<R: Read>(&mut self, reader: R) -> Result<u64, SpecError> {
        self.observe_input(reader, "")
    }

    /// Like [`observe_reader`](Self::observe_reader), naming the input (a file name)
    /// where the report places unreadable records.
    pub fn observe_input<R: Read>(&mut self, reader: R, input: &str) -> Result<u64, SpecError> {
        self.read_stream(reader, input, read::Place::Line, None)
    }

    /// Whether records checked against `schema` (or the fixed schema) are arrays.
    fn is_array_schema(&self, schema: Option<&str>) -> bool {
        schema
            .or(self.fixed.as_deref())
            .and_then(|name| self.spec.schema(name))
            .and_then(|s| self.spec.type_of(s))
            == Some("array")
    }

    /// Observes one record.
    pub fn observe_record(&mut self, value: &Value) {
        self.observe_record_as(value, None);
    }

    /// Observes one record against `components/schemas/<schema>` (when the spec
    /// has it), else as [`observe_record`](Self::observe_record) does.
    pub fn observe_record_as(&mut self, value: &Value, schema: Option<&str>) {
        self.records += 1;
        let record = self.records;
        let forced = schema
            .filter(|name| self.spec.schema(name).is_some())
            .map(str::to_owned);
        let Some(name) = forced.or_else(|| self.choose(value)) else {
            self.unmatched.hit(record);
            self.unmatched_types.insert(json_type(value));
            if self.unmatched_example.is_none() {
                self.unmatched_example = Some(example(value, EXAMPLE_CHARS));
            }
            return;
        };
        let document = self.spec.document();
        let pointer = format!("/components/schemas/{}", escape_pointer(&name));
        let Some(schema) = document.pointer(&pointer) else {
            return;
        };
        let stats = self.schemas.entry(name).or_default();
        stats.records += 1;
        let mut walk = Walk {
            document,
            stats,
            record,
            cap: self.cap,
            errors: &mut self.spec_errors,
            violated: false,
        };
        let mut path = String::new();
        walk.value(schema, &pointer, value, &mut path, Depth::ROOT);
        if walk.violated {
            walk.stats.violating += 1;
        }
    }

    /// The schema a record is checked against: the fixed one, or the candidate
    /// whose named properties the record's keys fit best (`None`: not an object, or
    /// no key named by any candidate).
    fn choose(&self, value: &Value) -> Option<String> {
        if let Some(fixed) = &self.fixed {
            return Some(fixed.clone());
        }
        let object = value.as_object()?;
        // Ties go to the schema with fewer keys of the wrong type, then to the one
        // that names more of the record's keys, then to name order.
        let mut best: Option<(Score, &String)> = None;
        for name in &self.candidates {
            let Some(score) = self.score(name, object) else {
                continue;
            };
            if score.0 > 0 && best.is_none_or(|(b, _)| score > b) {
                best = Some((score, name));
            }
        }
        best.map(|(_, name)| name.clone())
    }

    /// +2 for each key named with a fitting type, −4 for a named key of another type,
    /// −1 for a key the schema does not name, −1 for each required property missing.
    /// The unnamed keys tell apart schemas that share generic keys (`_id`,
    /// `status`, `createdAt`): with many resources, those alone would tie.
    /// Also counts the keys of the wrong type and the keys the schema names.
    fn score(&self, name: &str, object: &Map<String, Value>) -> Option<Score> {
        let schema = self.spec.resolve(self.spec.schema(name)?).ok()?;
        let properties = schema.get("properties").and_then(Value::as_object)?;
        let mut score = 0i64;
        let mut wrong = 0usize;
        let named = object
            .keys()
            .filter(|k| properties.contains_key(*k))
            .count();
        for (key, value) in object {
            score += match properties.get(key) {
                Some(property) => {
                    let fits = match self.spec.resolve(property).ok() {
                        Some(p) => shallow_fit(self.spec.document(), p, value),
                        None => true,
                    };
                    if fits {
                        2
                    } else {
                        wrong += 1;
                        -4
                    }
                }
                None => -1,
            };
        }
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(required) {
                score -= 1;
            }
        }
        Some((score, std::cmp::Reverse(wrong), named))
    }

    /// Everything seen so far.
    pub fn report(&self) -> DriftReport {
        let schemas = self
            .schemas
            .iter()
            .map(|(name, stats)| SchemaReport {
                name: name.clone(),
                records: stats.records,
                violating: stats.violating,
                findings: stats
                    .found
                    .iter()
                    .map(|((path, _), acc)| Finding {
                        path: path.clone(),
                        kind: acc.to_kind(),
                    })
                    .collect(),
                capped: stats.capped.iter().cloned().collect(),
            })
            .collect();
        DriftReport {
            records: self.records,
            schemas,
            unmatched: (self.unmatched.records > 0).then(|| Unmatched {
                records: self.unmatched.records,
                types: self
                    .unmatched_types
                    .iter()
                    .map(|t| (*t).to_owned())
                    .collect(),
                example: self.unmatched_example.clone().unwrap_or_default(),
                candidates: self.candidates.clone(),
            }),
            spec_errors: self.spec_errors.iter().cloned().collect(),
            unreadable: self.unreadable.clone(),
            unreadable_records: self.unreadable_records,
        }
    }
}

/// One walk of one record.
struct Walk<'a> {
    document: &'a Value,
    stats: &'a mut SchemaStats,
    record: u64,
    cap: usize,
    errors: &'a mut BTreeSet<String>,
    /// Whether this record violated the spec somewhere.
    violated: bool,
}

/// A resolved schema and its pointer in the spec.
type Part<'a> = (&'a Value, String);

impl<'a> Walk<'a> {
    fn error(&mut self, error: SpecError) {
        if self.errors.len() < 100 {
            self.errors.insert(error.to_string());
        }
    }

    /// `schema` (at spec pointer `at`) resolved, with its `allOf` members flattened.
    fn parts(&mut self, schema: &'a Value, at: &str, depth: Depth) -> Option<Vec<Part<'a>>> {
        let depth = match depth.deeper(at) {
            Ok(d) => d,
            Err(e) => {
                self.error(e);
                return None;
            }
        };
        let (reference, node) = match resolve_named(self.document, schema) {
            Ok(found) => found,
            Err(e) => {
                self.error(e.within(at));
                return None;
            }
        };
        let at = match reference {
            Some(r) => r.trim_start_matches('#').to_owned(),
            None => at.to_owned(),
        };
        let mut parts = vec![(node, at.clone())];
        for (i, member) in node
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            parts.extend(self.parts(member, &format!("{at}/allOf/{i}"), depth)?);
        }
        Some(parts)
    }

    fn add(&mut self, path: String, tag: Tag, make: impl FnOnce() -> Acc) -> &mut Acc {
        self.stats.found.entry((path, tag)).or_insert_with(make)
    }

    /// A violation: counted for the record, then accumulated as `add` does.
    fn violation(&mut self, path: String, tag: Tag, make: impl FnOnce() -> Acc) -> &mut Acc {
        self.violated = true;
        self.add(path, tag, make)
    }

    fn value(
        &mut self,
        schema: &'a Value,
        at: &str,
        value: &Value,
        path: &mut String,
        depth: Depth,
    ) {
        let Some(parts) = self.parts(schema, at, depth) else {
            return;
        };
        let Ok(depth) = depth.deeper(path) else {
            return;
        };
        let record = self.record;
        if value.is_null() {
            if !accepts_null(self.document, &parts) {
                // `nullable` would go on the schema itself (or the one it names).
                let at = parts.first().map(|(_, at)| at.clone()).unwrap_or_default();
                if let Acc::Null { counter, .. } =
                    self.violation(path.clone(), Tag::Null, || Acc::Null {
                        at,
                        counter: Counter::default(),
                    })
                {
                    counter.hit(record);
                }
            }
            return;
        }
        for (node, at) in &parts {
            if let Some(expected) = node.get("type").and_then(Value::as_str)
                && !type_fits(expected, value)
            {
                // Where the type is written, unless alternatives sit beside it (a
                // wider type there is no longer one change).
                let loosen_at = if node.get("anyOf").is_some() || node.get("oneOf").is_some() {
                    String::new()
                } else {
                    at.clone()
                };
                self.wrong_type(path, expected.to_owned(), loosen_at, value);
                return;
            }
            if let Some(values) = node.get("enum").and_then(Value::as_array)
                && !values.contains(value)
            {
                self.enum_value(path, at, false, value);
            }
            if let (Some(format), Value::String(text)) =
                (node.get("format").and_then(Value::as_str), value)
                && !format_fits(format, text)
                && let Acc::Format { counter, .. } =
                    self.violation(path.clone(), Tag::Format, || Acc::Format {
                        format: format.to_owned(),
                        at: at.clone(),
                        counter: Counter::default(),
                        example: example(value, EXAMPLE_CHARS),
                    })
            {
                counter.hit(record);
            }
        }
        for (node, at) in &parts {
            for keyword in ["anyOf", "oneOf"] {
                if let Some(alternatives) = node.get(keyword).and_then(Value::as_array) {
                    self.alternatives(alternatives, &format!("{at}/{keyword}"), value, path, depth);
                }
            }
        }
        match value {
            Value::Object(object) => self.object(&parts, object, path, depth),
            Value::Array(items) => {
                let Some((items_schema, items_at)) = parts.iter().find_map(|(node, at)| {
                    node.get("items")
                        .filter(|i| i.is_object())
                        .map(|i| (i, format!("{at}/items")))
                }) else {
                    return;
                };
                let len = path.len();
                path.push_str("/*");
                for item in items {
                    self.value(items_schema, &items_at, item, path, depth);
                }
                path.truncate(len);
            }
            _ => {}
        }
    }

    fn wrong_type(&mut self, path: &str, expected: String, at: String, value: &Value) {
        let record = self.record;
        if let Acc::WrongType { counter, seen, .. } =
            self.violation(path.to_owned(), Tag::WrongType, || Acc::WrongType {
                expected,
                at,
                counter: Counter::default(),
                seen: BTreeSet::new(),
                example: example(value, EXAMPLE_CHARS),
            })
        {
            counter.hit(record);
            seen.insert(json_type(value));
        }
    }

    fn enum_value(&mut self, path: &str, enum_at: &str, open: bool, value: &Value) {
        let (record, cap) = (self.record, self.cap);
        let text = match value {
            Value::String(s) if s.chars().count() <= VALUE_CHARS => s.clone(),
            Value::String(s) => cut(s, VALUE_CHARS),
            other => serde_json::to_string(other)
                .map_or_else(|_| String::new(), |s| cut(&s, VALUE_CHARS)),
        };
        let make = || Acc::Enum {
            enum_at: enum_at.to_owned(),
            open,
            strings: true,
            values: Tally::default(),
        };
        // A value outside a closed set violates the spec; one of an open set does not.
        let acc = if open {
            self.add(path.to_owned(), Tag::Enum, make)
        } else {
            self.violation(path.to_owned(), Tag::Enum, make)
        };
        if let Acc::Enum {
            values, strings, ..
        } = acc
        {
            *strings &= value.is_string();
            values.hit(text, record, cap);
        }
    }

    /// `anyOf`/`oneOf`: a value listed by an enum alternative is described; a string
    /// only the catch-all `{type: string}` takes is a new value of an open set;
    /// otherwise the first alternative of the value's type is walked.
    fn alternatives(
        &mut self,
        alternatives: &'a [Value],
        at: &str,
        value: &Value,
        path: &mut String,
        depth: Depth,
    ) {
        let mut resolved: Vec<(usize, Vec<Part<'a>>)> = Vec::new();
        for (i, alternative) in alternatives.iter().enumerate() {
            if let Some(parts) = self.parts(alternative, &format!("{at}/{i}"), depth) {
                resolved.push((i, parts));
            }
        }
        let fits = |parts: &Vec<Part<'a>>| {
            parts.iter().all(|(node, _)| {
                node.get("type")
                    .and_then(Value::as_str)
                    .is_none_or(|t| type_fits(t, value))
            })
        };
        let enum_of = |parts: &Vec<Part<'a>>| {
            parts.iter().find_map(|(node, at)| {
                node.get("enum")
                    .and_then(Value::as_array)
                    .map(|values| (values, at.clone()))
            })
        };
        // Listed by an enum alternative: described.
        if let Some((i, _)) = resolved.iter().find(|(_, parts)| {
            fits(parts) && enum_of(parts).is_some_and(|(v, _)| v.contains(value))
        }) {
            self.value(&alternatives[*i], &format!("{at}/{i}"), value, path, depth);
            return;
        }
        let open_enum = resolved
            .iter()
            .find(|(_, parts)| fits(parts) && enum_of(parts).is_some());
        // The first plain alternative whose format the value has too, else the
        // first of its type (walked, so a format it lacks is reported).
        let formats_fit = |parts: &Vec<Part<'a>>| {
            parts.iter().all(|(node, _)| {
                match (node.get("format").and_then(Value::as_str), value.as_str()) {
                    (Some(format), Some(text)) => format_fits(format, text),
                    _ => true,
                }
            })
        };
        let catch_all = resolved
            .iter()
            .find(|(_, parts)| fits(parts) && formats_fit(parts) && enum_of(parts).is_none())
            .or_else(|| {
                resolved
                    .iter()
                    .find(|(_, parts)| fits(parts) && enum_of(parts).is_none())
            });
        match (open_enum, catch_all) {
            (Some((_, enum_parts)), Some((i, _))) => {
                if let Some((_, enum_at)) = enum_of(enum_parts) {
                    self.enum_value(path, &enum_at, true, value);
                }
                self.value(&alternatives[*i], &format!("{at}/{i}"), value, path, depth);
            }
            (None, Some((i, _))) => {
                self.value(&alternatives[*i], &format!("{at}/{i}"), value, path, depth);
            }
            (Some((i, _)), None) => {
                // Only enum alternatives of this type: a closed set.
                self.value(&alternatives[*i], &format!("{at}/{i}"), value, path, depth);
            }
            (None, None) => {
                let expected: Vec<&str> = resolved
                    .iter()
                    .flat_map(|(_, parts)| parts.iter())
                    .filter_map(|(node, _)| node.get("type").and_then(Value::as_str))
                    .collect();
                // One more alternative would take it.
                self.wrong_type(path, expected.join(" or "), at.to_owned(), value);
            }
        }
    }

    fn object(
        &mut self,
        parts: &[Part<'a>],
        object: &Map<String, Value>,
        path: &mut String,
        depth: Depth,
    ) {
        let record = self.record;
        // Where a new property would be named: the first part listing properties.
        let named_in = parts
            .iter()
            .find(|(node, _)| node.get("properties").is_some_and(Value::is_object));
        let closed = parts
            .iter()
            .any(|(node, _)| node.get("additionalProperties") == Some(&Value::Bool(false)));
        let additional = parts.iter().find_map(|(node, at)| {
            node.get("additionalProperties")
                .filter(|a| a.as_object().is_some_and(|m| !m.is_empty()))
                .map(|a| (a, format!("{at}/additionalProperties")))
        });
        let describes_object = parts.iter().any(|(node, _)| {
            node.get("type").and_then(Value::as_str) == Some("object")
                || node.get("properties").is_some()
                || node.get("additionalProperties").is_some()
        });
        if !describes_object {
            return;
        }
        let record_component = if additional.is_none() {
            parts
                .iter()
                .find(|(_, at)| is_component(at))
                .map(|(_, at)| at.as_str())
        } else {
            None
        };
        let len = path.len();
        for (key, child) in object {
            let property = parts.iter().find_map(|(node, at)| {
                node.get("properties")
                    .and_then(|p| p.get(key))
                    .map(|p| (p, format!("{at}/properties/{}", escape_pointer(key))))
            });
            path.push('/');
            path.push_str(&escape_pointer(key));
            match property {
                Some((schema, at)) => self.value(schema, &at, child, path, depth),
                None => {
                    if let Some((schema, at)) = &additional {
                        self.value(schema, at, child, path, depth);
                    }
                    match named_in {
                        Some((_, add_to)) => self.unknown(len, path, add_to, false, child),
                        None if closed => {
                            let add_to =
                                parts.first().map(|(_, at)| at.clone()).unwrap_or_default();
                            self.unknown(len, path, &add_to, true, child);
                        }
                        // A component schema that names no property yet (such as
                        // `FunctionCall`) describes a record whose keys are not
                        // documented: what is seen in it is drift. A free-form map
                        // (`metadata`, written inline) or one whose values have a
                        // schema only lists its keys.
                        None if record_component.is_some() => {
                            let add_to = record_component.unwrap_or_default();
                            self.unknown(len, path, add_to, true, child);
                        }
                        None => {
                            let (cap, parent) = (self.cap, path[..len].to_owned());
                            if let Acc::Keys { keys } = self.add(parent, Tag::Keys, || Acc::Keys {
                                keys: Tally::default(),
                            }) {
                                keys.hit(key.clone(), record, cap);
                            }
                        }
                    }
                }
            }
            path.truncate(len);
        }
        for (node, at) in parts {
            for required in node
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !object.contains_key(required) {
                    let (list, listed) = (
                        node.get("required").and_then(Value::as_array),
                        node.get("required")
                            .and_then(Value::as_array)
                            .map_or(0, Vec::len),
                    );
                    let index = list
                        .and_then(|l| l.iter().position(|r| r.as_str() == Some(required)))
                        .unwrap_or_default();
                    let spec_at = format!("{at}/required/{index}");
                    let at = format!("{}/{}", path, escape_pointer(required));
                    if let Acc::Missing { counter, .. } =
                        self.violation(at, Tag::Missing, || Acc::Missing {
                            at: spec_at,
                            listed,
                            counter: Counter::default(),
                        })
                    {
                        counter.hit(record);
                    }
                }
            }
        }
    }

    /// A property no part names, at `path` (its object at `path[..parent]`), to be
    /// named in `add_to` (which lists no properties yet when `adds_properties`).
    fn unknown(
        &mut self,
        parent: usize,
        path: &str,
        add_to: &str,
        adds_properties: bool,
        child: &Value,
    ) {
        let record = self.record;
        let key = (path.to_owned(), Tag::Unknown);
        if !self.stats.found.contains_key(&key) {
            let object = path[..parent].to_owned();
            let tracked = self
                .stats
                .unknown_per_object
                .entry(object.clone())
                .or_default();
            if *tracked >= self.cap {
                self.stats.capped.insert(object);
                return;
            }
            *tracked += 1;
        }
        if let Acc::Unknown { counter, shape, .. } =
            self.add(path.to_owned(), Tag::Unknown, || Acc::Unknown {
                add_to: add_to.to_owned(),
                adds_properties,
                counter: Counter::default(),
                shape: Shape::default(),
                example: example(child, EXAMPLE_CHARS),
            })
        {
            counter.hit(record);
            shape.observe(child);
        }
    }
}

/// Whether `at` is a whole component schema (`/components/schemas/Name`).
fn is_component(at: &str) -> bool {
    at.strip_prefix("/components/schemas/")
        .is_some_and(|name| !name.is_empty() && !name.contains('/'))
}

/// Whether `value` is of OpenAPI type `expected` (an integer is a number).
fn type_fits(expected: &str, value: &Value) -> bool {
    match expected {
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    }
}

/// Whether a (resolved) property's type, if it names one, takes `value`.
fn shallow_fit(document: &Value, schema: &Value, value: &Value) -> bool {
    if value.is_null() {
        return true;
    }
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        return type_fits(t, value);
    }
    if let Some(alternatives) = schema.get("anyOf").and_then(Value::as_array) {
        return alternatives.iter().any(|a| {
            crate::resolve(document, a)
                .ok()
                .and_then(|a| a.get("type").and_then(Value::as_str))
                .is_none_or(|t| type_fits(t, value))
        });
    }
    true
}

/// Whether a schema made of `parts` accepts `null`: one is `nullable`, or none
/// constrains the type (a `{}` schema takes anything), or an alternative does.
fn accepts_null(document: &Value, parts: &[Part<'_>]) -> bool {
    if parts
        .iter()
        .any(|(node, _)| node.get("nullable") == Some(&Value::Bool(true)))
    {
        return true;
    }
    let constrains = |node: &Value| {
        ["type", "enum", "properties", "items", "required"]
            .iter()
            .any(|k| node.get(*k).is_some())
    };
    let alternatives: Vec<&Value> = parts
        .iter()
        .filter_map(|(node, _)| node.get("anyOf").or_else(|| node.get("oneOf")))
        .filter_map(Value::as_array)
        .flatten()
        .collect();
    if !alternatives.is_empty() {
        return alternatives.iter().any(|a| {
            crate::resolve(document, a)
                .is_ok_and(|a| a.get("nullable") == Some(&Value::Bool(true)) || !constrains(a))
        });
    }
    !parts.iter().any(|(node, _)| constrains(node))
}

/// Whether `text` has `format` (only the formats checked: `date-time`, `date`).
fn format_fits(format: &str, text: &str) -> bool {
    match format {
        "date-time" => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
        "date" => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
        _ => true,
    }
}

impl Acc {
    fn to_kind(&self) -> FindingKind {
        match self {
            Acc::Unknown {
                add_to,
                adds_properties,
                counter,
                shape,
                example,
            } => FindingKind::UnknownProperty {
                records: counter.records,
                types: shape.types().iter().map(|t| (*t).to_owned()).collect(),
                example: example.clone(),
                add_to: add_to.clone(),
                adds_properties: *adds_properties,
                shape: shape.clone(),
            },
            Acc::Enum {
                enum_at,
                open,
                strings,
                values,
            } => FindingKind::EnumValues {
                open: *open,
                values: values.counts(),
                untracked: values.others,
                enum_at: enum_at.clone(),
                strings: *strings,
            },
            Acc::WrongType {
                expected,
                at,
                counter,
                seen,
                example,
            } => FindingKind::WrongType {
                expected: expected.clone(),
                seen: seen.iter().map(|t| (*t).to_owned()).collect(),
                records: counter.records,
                example: example.clone(),
                at: at.clone(),
            },
            Acc::Format {
                format,
                at,
                counter,
                example,
            } => FindingKind::BadFormat {
                format: format.clone(),
                records: counter.records,
                example: example.clone(),
                at: at.clone(),
            },
            Acc::Null { at, counter } => FindingKind::UnexpectedNull {
                records: counter.records,
                at: at.clone(),
            },
            Acc::Missing {
                at,
                listed,
                counter,
            } => FindingKind::MissingRequired {
                records: counter.records,
                at: at.clone(),
                listed: *listed,
            },
            Acc::Keys { keys } => FindingKind::OpenObjectKeys {
                keys: keys.counts(),
                untracked: keys.others,
            },
        }
    }
}

/// What drift analysis found.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DriftReport {
    /// Records read (the unreadable ones included).
    pub records: u64,
    /// One section per schema that records were matched against, by name.
    pub schemas: Vec<SchemaReport>,
    /// Records that fit no schema (not objects, or no key any candidate names).
    pub unmatched: Option<Unmatched>,
    /// Problems of the spec itself met on the way (a dangling `$ref`, a walk too deep).
    pub spec_errors: Vec<String>,
    /// The first unreadable records (at most 100 are listed).
    pub unreadable: Vec<Unreadable>,
    /// How many records were unreadable in all.
    pub unreadable_records: u64,
}

impl DriftReport {
    /// Whether anything was seen that the spec does not describe (unreadable
    /// records included).
    pub fn drifted(&self) -> bool {
        self.unmatched.is_some()
            || self.unreadable_records > 0
            || self
                .schemas
                .iter()
                .any(|s| s.findings.iter().any(Finding::is_drift) || !s.capped.is_empty())
    }

    /// How many findings are drift (open-object keys are listed, not counted).
    pub fn finding_count(&self) -> usize {
        self.schemas
            .iter()
            .flat_map(|s| s.findings.iter())
            .filter(|f| f.is_drift())
            .count()
    }

    /// How many records violate the spec (see [`SchemaReport::violating`]).
    pub fn violating(&self) -> u64 {
        self.schemas.iter().map(|s| s.violating).sum()
    }
}

/// The findings for records of one schema.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SchemaReport {
    /// The component schema's name.
    pub name: String,
    /// Records matched against it.
    pub records: u64,
    /// Records that violate it: a value of a type it does not allow, a `null` where
    /// it has none, a string not of its `format`, a required property missing, a
    /// value a closed enum does not list. (New properties and new values of open
    /// sets are drift too, but the spec allows them.)
    pub violating: u64,
    /// By path, then kind.
    pub findings: Vec<Finding>,
    /// Object paths where more unnamed keys were seen than are tracked.
    pub capped: Vec<String>,
}

/// Records that fit no schema.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Unmatched {
    /// How many.
    pub records: u64,
    /// Their JSON types.
    pub types: Vec<String>,
    /// The first one, escaped and cut.
    pub example: String,
    /// The schemas they were compared with.
    pub candidates: Vec<String>,
}

/// A record that is JSON but could not be analysed: serde_json (like the clients
/// built on it) cannot hold it, for a number beyond `f64` (`1e400`) or nesting
/// deeper than 128 levels.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Unreadable {
    /// The input it was read from, as the caller named it (a file name; empty when
    /// unnamed).
    pub input: String,
    /// Where in it: `line 12` (of a file), `entry 3` (of a HAR file), `record 7`
    /// (of the records handed over one by one).
    pub at: String,
    /// Why, as serde_json says it (`number out of range`, `recursion limit exceeded`).
    pub reason: String,
}

/// One thing the spec does not describe, at a path of the record: a JSON pointer,
/// with `*` standing for any item of an array (`/functionCalls/*/name`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Finding {
    /// Where in the record.
    pub path: String,
    /// What was seen there.
    pub kind: FindingKind,
}

impl Finding {
    /// Whether this is something the spec does not describe. The keys of an open
    /// object are allowed by the spec (`additionalProperties: {}`): they are listed
    /// so that a maintainer can decide to name them, but they are not drift.
    pub fn is_drift(&self) -> bool {
        !matches!(self.kind, FindingKind::OpenObjectKeys { .. })
    }
}

/// A distinct value and how many records carried it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValueCount {
    /// The value (a string as is, anything else as JSON), cut at 256 characters.
    pub value: String,
    /// Records that carried it.
    pub records: u64,
}

/// What kind of drift. Each violation names the spec pointer (`at`) where a
/// loosening change would go ([`SuggestOptions::violations`]); empty when there is
/// no single such place.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FindingKind {
    /// A property the schema does not name.
    UnknownProperty {
        /// Records that carried it.
        records: u64,
        /// The JSON types seen (`integer` for whole numbers).
        types: Vec<String>,
        /// The first value seen, escaped and cut.
        example: String,
        /// The spec pointer of the schema that would name it.
        add_to: String,
        /// Whether that schema names no property yet (the suggestion then adds its
        /// `properties`).
        adds_properties: bool,
        /// What its values looked like, as deep as they went.
        shape: Shape,
    },
    /// Values an enum does not list.
    EnumValues {
        /// An open set (`anyOf` with a plain string): the values are kept by clients.
        /// A value outside a closed set violates the spec.
        open: bool,
        /// The values, with counts.
        values: Vec<ValueCount>,
        /// Occurrences of further values, not tracked because of the cap.
        untracked: u64,
        /// The spec pointer of the schema holding the `enum`.
        enum_at: String,
        /// Whether every value seen was a string.
        strings: bool,
    },
    /// A value of a type the schema does not allow.
    WrongType {
        /// The type(s) the schema names.
        expected: String,
        /// The types seen.
        seen: Vec<String>,
        /// Records.
        records: u64,
        /// The first one, escaped and cut.
        example: String,
        /// The spec pointer of the schema whose `type` refused it, or of the
        /// `anyOf`/`oneOf` none of whose alternatives took it.
        at: String,
    },
    /// A string that is not of the schema's `format`.
    BadFormat {
        /// The format (`date-time`).
        format: String,
        /// Records.
        records: u64,
        /// The first one, escaped and cut.
        example: String,
        /// The spec pointer of the schema with the `format`.
        at: String,
    },
    /// `null` where the schema is not `nullable`.
    UnexpectedNull {
        /// Records.
        records: u64,
        /// The spec pointer of the schema that would become `nullable`.
        at: String,
    },
    /// A required property absent.
    MissingRequired {
        /// Records that lacked it.
        records: u64,
        /// The spec pointer of its name in the schema's `required` list
        /// (`…/required/1`).
        at: String,
        /// How many names that list holds.
        listed: usize,
    },
    /// The keys seen in an open object (`additionalProperties: {}`) that lists none.
    OpenObjectKeys {
        /// The keys with counts.
        keys: Vec<ValueCount>,
        /// Occurrences of further keys, not tracked because of the cap.
        untracked: u64,
    },
}

impl FindingKind {
    /// A stable short name: `unknown-property`, `enum-value`, `wrong-type`,
    /// `bad-format`, `unexpected-null`, `missing-required`, `open-object-keys`.
    pub fn id(&self) -> &'static str {
        match self {
            FindingKind::UnknownProperty { .. } => "unknown-property",
            FindingKind::EnumValues { .. } => "enum-value",
            FindingKind::WrongType { .. } => "wrong-type",
            FindingKind::BadFormat { .. } => "bad-format",
            FindingKind::UnexpectedNull { .. } => "unexpected-null",
            FindingKind::MissingRequired { .. } => "missing-required",
            FindingKind::OpenObjectKeys { .. } => "open-object-keys",
        }
    }
}

#[cfg(test)]
mod tests;

/// A [`DriftAnalyzer`] on a thread of its own, for drift on the fly: the code that
/// writes records hands each one's text over ([`observe_json`](Self::observe_json)
/// copies it into a bounded queue) and goes on, so the analysis is not on its path;
/// [`finish`](Self::finish) waits for the queue to drain and gives the report.
/// The queue holds at most [`BackgroundAnalyzer::QUEUE`] records: if the analysis
/// falls that far behind, `observe_json` waits, so memory stays flat.
///
/// ```
/// let spec = trillet_spec::Spec::bundled()?;
/// let drift = trillet_spec::drift::BackgroundAnalyzer::start(spec, Some("CallHistory"))?;
/// drift.observe_json(r#"{"_id": "1", "transcript": []}"#);
/// let finished = drift.finish()?;
/// assert_eq!(finished.report.records, 1);
/// assert!(finished.report.drifted());
/// assert_eq!(finished.not_json, 0);
/// # Ok::<(), trillet_spec::SpecError>(())
/// ```
#[derive(Debug)]
pub struct BackgroundAnalyzer {
    queue: Option<std::sync::mpsc::SyncSender<String>>,
    worker: Option<std::thread::JoinHandle<Finished>>,
}

/// What a [`BackgroundAnalyzer`] found.
#[derive(Debug)]
#[non_exhaustive]
pub struct Finished {
    /// The report over every record handed over.
    pub report: DriftReport,
    /// How many texts handed over were not JSON (not analysed).
    pub not_json: u64,
}

impl BackgroundAnalyzer {
    /// How many records may wait for the analysis.
    pub const QUEUE: usize = 1024;

    /// Starts the analysis of records of `components/schemas/<schema>` (or, with
    /// `None`, of the schema each record's shape picks) on its own thread.
    pub fn start(spec: Spec, schema: Option<&str>) -> Result<Self, SpecError> {
        // Checked here, so a bad name is an error now rather than an empty report.
        match schema {
            Some(name) => drop(DriftAnalyzer::with_schema(&spec, name)?),
            None => drop(DriftAnalyzer::new(&spec)?),
        }
        let schema = schema.map(str::to_owned);
        let (queue, texts) = std::sync::mpsc::sync_channel::<String>(Self::QUEUE);
        let worker = std::thread::Builder::new()
            .name("trillet-drift".into())
            .spawn(move || {
                let analyzer = match &schema {
                    Some(name) => DriftAnalyzer::with_schema(&spec, name),
                    None => DriftAnalyzer::new(&spec),
                };
                let mut not_json = 0;
                let Ok(mut analyzer) = analyzer else {
                    unreachable!("checked before the thread started")
                };
                for text in texts {
                    if analyzer.observe_json(&text).is_err() {
                        not_json += 1;
                    }
                }
                Finished {
                    report: analyzer.report(),
                    not_json,
                }
            })
            .map_err(|e| SpecError::new(format!("cannot start the drift analysis: {e}")))?;
        Ok(Self {
            queue: Some(queue),
            worker: Some(worker),
        })
    }

    /// Hands one record's JSON text (or a raw list body) to the analysis.
    pub fn observe_json(&self, text: &str) {
        if let Some(queue) = &self.queue {
            // A send fails only if the worker is gone (it panicked): `finish` says so.
            let _ = queue.send(text.to_owned());
        }
    }

    /// Waits for every record handed over to be analysed, then gives the report.
    pub fn finish(mut self) -> Result<Finished, SpecError> {
        self.queue = None; // the worker's loop ends when the queue is closed
        let worker = self
            .worker
            .take()
            .ok_or_else(|| SpecError::new("the drift analysis was already finished"))?;
        worker
            .join()
            .map_err(|_| SpecError::new("the drift analysis failed (its thread panicked)"))
    }
}
