//! Drift: what real responses carry that the spec does not describe.
//!
//! A [`DriftAnalyzer`] takes records one at a time ([`DriftAnalyzer::observe`], or
//! a whole stream with [`DriftAnalyzer::observe_reader`]), walks each beside its
//! schema (chosen by shape among the schemas the operations respond with, or fixed)
//! and keeps counts, never the records: memory grows with the distinct paths and
//! values seen (each capped at [`DriftAnalyzer::DEFAULT_CAP`] per path), not with the
//! number of records. [`DriftAnalyzer::report`] gives a typed [`DriftReport`];
//! [`DriftReport::suggestion`] the spec change that would describe what was seen.
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

use serde_json::{Map, Value, json};

use crate::resolve::{Depth, component_name, escape_pointer, resolve_named};
use crate::{Spec, SpecError};

pub mod render;

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
fn escape(text: &str) -> String {
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
        counter: Counter,
        types: BTreeSet<&'static str>,
        example: String,
    },
    Enum {
        enum_at: String,
        open: bool,
        values: Tally,
    },
    WrongType {
        expected: String,
        counter: Counter,
        seen: BTreeSet<&'static str>,
        example: String,
    },
    Format {
        format: String,
        counter: Counter,
        example: String,
    },
    Null {
        counter: Counter,
    },
    Missing {
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
            Value::Array(items) if !self.fixed_is_array() => {
                for item in items {
                    self.observe_record(item);
                }
            }
            _ => self.observe_record(value),
        }
    }

    /// Observes JSON text (one document, as [`observe`](Self::observe)).
    pub fn observe_json(&mut self, text: &str) -> Result<(), SpecError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| SpecError::new(format!("not JSON: {e}")))?;
        self.observe(&value);
        Ok(())
    }

    /// Observes every JSON document in `reader` (JSON lines, concatenated documents,
    /// or one document), holding one record at a time: the elements of a top-level
    /// array are read one by one. Returns how many records were read.
    pub fn observe_reader<R: Read>(&mut self, reader: R) -> Result<u64, SpecError> {
        let mut reader = std::io::BufReader::new(reader);
        let before = self.records;
        let mut document = 0u64;
        loop {
            if !skip_whitespace(&mut reader)? {
                return Ok(self.records - before);
            }
            document += 1;
            let mut de = serde_json::Deserializer::from_reader(&mut reader);
            serde::de::DeserializeSeed::deserialize(Streamed { analyzer: self }, &mut de).map_err(
                |e| SpecError::new(format!("JSON document {document} is not valid: {e}")),
            )?;
        }
    }

    fn fixed_is_array(&self) -> bool {
        self.fixed
            .as_deref()
            .and_then(|name| self.spec.schema(name))
            .and_then(|s| self.spec.type_of(s))
            == Some("array")
    }

    /// Observes one record.
    pub fn observe_record(&mut self, value: &Value) {
        self.records += 1;
        let record = self.records;
        let Some(name) = self.choose(value) else {
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
        };
        let mut path = String::new();
        walk.value(schema, &pointer, value, &mut path, Depth::ROOT);
    }

    /// The schema a record is checked against: the fixed one, or the candidate
    /// whose named properties the record's keys fit best (`None`: not an object, or
    /// no key named by any candidate).
    fn choose(&self, value: &Value) -> Option<String> {
        if let Some(fixed) = &self.fixed {
            return Some(fixed.clone());
        }
        let object = value.as_object()?;
        let mut best: Option<(i64, &String)> = None;
        for name in &self.candidates {
            let Some(score) = self.score(name, object) else {
                continue;
            };
            if score > 0 && best.is_none_or(|(b, _)| score > b) {
                best = Some((score, name));
            }
        }
        best.map(|(_, name)| name.clone())
    }

    /// +2 for each key named with a fitting type, −4 for a named key of another type,
    /// −1 for each required property missing.
    fn score(&self, name: &str, object: &Map<String, Value>) -> Option<i64> {
        let schema = self.spec.resolve(self.spec.schema(name)?).ok()?;
        let properties = schema.get("properties").and_then(Value::as_object)?;
        let mut score = 0i64;
        for (key, value) in object {
            if let Some(property) = properties.get(key) {
                let fits = match self.spec.resolve(property).ok() {
                    Some(p) => shallow_fit(self.spec.document(), p, value),
                    None => true,
                };
                score += if fits { 2 } else { -4 };
            }
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
        Some(score)
    }

    /// Everything seen so far.
    pub fn report(&self) -> DriftReport {
        let schemas = self
            .schemas
            .iter()
            .map(|(name, stats)| SchemaReport {
                name: name.clone(),
                records: stats.records,
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
        }
    }
}

/// Skips whitespace (and a BOM); `false` at the end of the input.
fn skip_whitespace<R: Read>(reader: &mut std::io::BufReader<R>) -> Result<bool, SpecError> {
    use std::io::BufRead;
    loop {
        let buffer = reader
            .fill_buf()
            .map_err(|e| SpecError::new(format!("cannot read the input: {e}")))?;
        if buffer.is_empty() {
            return Ok(false);
        }
        let bom = buffer.starts_with(&[0xEF, 0xBB, 0xBF]);
        let skip = buffer
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        if bom {
            reader.consume(3);
        } else if skip == 0 {
            return Ok(true);
        } else {
            reader.consume(skip);
        }
    }
}

/// Deserializes one top-level document, feeding records to the analyzer as they
/// are read (an array's elements one by one).
struct Streamed<'a, 's> {
    analyzer: &'a mut DriftAnalyzer<'s>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Streamed<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Streamed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON record or an array of records")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.analyzer.fixed_is_array() {
            let value = Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
            self.analyzer.observe_record(&value);
            return Ok(());
        }
        while let Some(item) = seq.next_element::<Value>()? {
            self.analyzer.observe_record(&item);
        }
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let value = Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        self.analyzer.observe_record(&value);
        Ok(())
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.analyzer.observe_record(&Value::Bool(v));
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.analyzer.observe_record(&Value::from(v));
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.analyzer.observe_record(&Value::from(v));
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.analyzer.observe_record(&Value::from(v));
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.analyzer.observe_record(&Value::from(v));
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.analyzer.observe_record(&Value::Null);
        Ok(())
    }
}

use serde::Deserialize as _;

/// One walk of one record.
struct Walk<'a> {
    document: &'a Value,
    stats: &'a mut SchemaStats,
    record: u64,
    cap: usize,
    errors: &'a mut BTreeSet<String>,
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
            if !accepts_null(self.document, &parts)
                && let Acc::Null { counter } = self.add(path.clone(), Tag::Null, || Acc::Null {
                    counter: Counter::default(),
                })
            {
                counter.hit(record);
            }
            return;
        }
        for (node, at) in &parts {
            if let Some(expected) = node.get("type").and_then(Value::as_str)
                && !type_fits(expected, value)
            {
                self.wrong_type(path, expected.to_owned(), value);
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
                    self.add(path.clone(), Tag::Format, || Acc::Format {
                        format: format.to_owned(),
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

    fn wrong_type(&mut self, path: &str, expected: String, value: &Value) {
        let record = self.record;
        if let Acc::WrongType { counter, seen, .. } =
            self.add(path.to_owned(), Tag::WrongType, || Acc::WrongType {
                expected,
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
        if let Acc::Enum { values, .. } = self.add(path.to_owned(), Tag::Enum, || Acc::Enum {
            enum_at: enum_at.to_owned(),
            open,
            values: Tally::default(),
        }) {
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
        let catch_all = resolved
            .iter()
            .find(|(_, parts)| fits(parts) && enum_of(parts).is_none());
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
                self.wrong_type(path, expected.join(" or "), value);
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
                        Some((_, add_to)) => self.unknown(len, path, add_to, child),
                        None if closed => {
                            let add_to =
                                parts.first().map(|(_, at)| at.clone()).unwrap_or_default();
                            self.unknown(len, path, &add_to, child);
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
        for (node, _) in parts {
            for required in node
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !object.contains_key(required) {
                    let at = format!("{}/{}", path, escape_pointer(required));
                    if let Acc::Missing { counter } = self.add(at, Tag::Missing, || Acc::Missing {
                        counter: Counter::default(),
                    }) {
                        counter.hit(record);
                    }
                }
            }
        }
    }

    /// A property no part names, at `path` (its object at `path[..parent]`).
    fn unknown(&mut self, parent: usize, path: &str, add_to: &str, child: &Value) {
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
        if let Acc::Unknown { counter, types, .. } =
            self.add(path.to_owned(), Tag::Unknown, || Acc::Unknown {
                add_to: add_to.to_owned(),
                counter: Counter::default(),
                types: BTreeSet::new(),
                example: example(child, EXAMPLE_CHARS),
            })
        {
            counter.hit(record);
            types.insert(json_type(child));
        }
    }
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
                counter,
                types,
                example,
            } => FindingKind::UnknownProperty {
                records: counter.records,
                types: types.iter().map(|t| (*t).to_owned()).collect(),
                example: example.clone(),
                add_to: add_to.clone(),
            },
            Acc::Enum {
                enum_at,
                open,
                values,
            } => FindingKind::EnumValues {
                open: *open,
                values: values.counts(),
                untracked: values.others,
                enum_at: enum_at.clone(),
            },
            Acc::WrongType {
                expected,
                counter,
                seen,
                example,
            } => FindingKind::WrongType {
                expected: expected.clone(),
                seen: seen.iter().map(|t| (*t).to_owned()).collect(),
                records: counter.records,
                example: example.clone(),
            },
            Acc::Format {
                format,
                counter,
                example,
            } => FindingKind::BadFormat {
                format: format.clone(),
                records: counter.records,
                example: example.clone(),
            },
            Acc::Null { counter } => FindingKind::UnexpectedNull {
                records: counter.records,
            },
            Acc::Missing { counter } => FindingKind::MissingRequired {
                records: counter.records,
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
    /// Records observed.
    pub records: u64,
    /// One section per schema that records were matched against, by name.
    pub schemas: Vec<SchemaReport>,
    /// Records that fit no schema (not objects, or no key any candidate names).
    pub unmatched: Option<Unmatched>,
    /// Problems of the spec itself met on the way (a dangling `$ref`, a walk too deep).
    pub spec_errors: Vec<String>,
}

impl DriftReport {
    /// Whether anything was seen that the spec does not describe.
    pub fn drifted(&self) -> bool {
        self.unmatched.is_some()
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
}

/// The findings for records of one schema.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SchemaReport {
    /// The component schema's name.
    pub name: String,
    /// Records matched against it.
    pub records: u64,
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

/// What kind of drift.
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
    },
    /// Values an enum does not list.
    EnumValues {
        /// An open set (`anyOf` with a plain string): the values are kept by clients.
        open: bool,
        /// The values, with counts.
        values: Vec<ValueCount>,
        /// Occurrences of further values, not tracked because of the cap.
        untracked: u64,
        /// The spec pointer of the schema holding the `enum`.
        enum_at: String,
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
    },
    /// A string that is not of the schema's `format`.
    BadFormat {
        /// The format (`date-time`).
        format: String,
        /// Records.
        records: u64,
        /// The first one, escaped and cut.
        example: String,
    },
    /// `null` where the schema is not `nullable`.
    UnexpectedNull {
        /// Records.
        records: u64,
    },
    /// A required property absent.
    MissingRequired {
        /// Records that lacked it.
        records: u64,
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

/// One JSON Patch (RFC 6902) `add` operation.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PatchOp {
    /// The JSON pointer into the spec document.
    pub path: String,
    /// The value added.
    pub value: Value,
    /// Why, for people.
    pub reason: String,
}

/// A spec change that describes what was seen: only additions (new optional
/// properties, new values of open sets), never a removal or a tighter constraint.
#[derive(Clone, Debug, PartialEq, Default)]
#[non_exhaustive]
pub struct Suggestion {
    /// The additions, in order.
    pub ops: Vec<PatchOp>,
}

impl Suggestion {
    /// The suggestion as a JSON Patch document (RFC 6902).
    pub fn to_json_patch(&self) -> Value {
        Value::Array(
            self.ops
                .iter()
                .map(|op| json!({"op": "add", "path": op.path, "value": op.value}))
                .collect(),
        )
    }

    /// `document` with the suggestion applied.
    pub fn apply(&self, document: &Value) -> Result<Value, SpecError> {
        let mut document = document.clone();
        for op in &self.ops {
            add(&mut document, &op.path, op.value.clone())?;
        }
        Ok(document)
    }
}

/// JSON Patch `add` (objects, and `-` at the end of an array).
fn add(document: &mut Value, path: &str, value: Value) -> Result<(), SpecError> {
    let (parent, last) = path
        .rsplit_once('/')
        .ok_or_else(|| SpecError::new(format!("`{path}` is not a JSON pointer")))?;
    let target = document
        .pointer_mut(parent)
        .ok_or_else(|| SpecError::new(format!("`{parent}` is not in the spec")))?;
    match target {
        Value::Object(map) => {
            map.insert(crate::unescape_pointer(last), value);
            Ok(())
        }
        Value::Array(items) if last == "-" => {
            items.push(value);
            Ok(())
        }
        _ => Err(SpecError::new(format!(
            "`{parent}` is neither an object nor an array to append to"
        ))),
    }
}

impl DriftReport {
    /// The spec change that would describe what was seen: each unknown property as
    /// a new optional one (the type inferred from the values, a description saying
    /// how many of how many records carried it), each new value of an open set added
    /// to its `enum`. Closed enums, type and format violations and missing required
    /// properties are reported only: changing those is a decision for a person.
    pub fn suggestion(&self) -> Suggestion {
        // A property unknown in several places that share a schema (`AnalyzedData`
        // in both record shapes, items of an array) is added once, with all counts.
        struct Property {
            types: BTreeSet<String>,
            seen: Vec<String>,
            paths: BTreeSet<String>,
        }
        let mut properties: BTreeMap<String, Property> = BTreeMap::new();
        let mut values: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for schema in &self.schemas {
            for finding in &schema.findings {
                match &finding.kind {
                    FindingKind::UnknownProperty {
                        records,
                        types,
                        add_to,
                        ..
                    } => {
                        let Some(name) = finding.path.rsplit('/').next() else {
                            continue;
                        };
                        let property = properties
                            .entry(format!("{add_to}/properties/{name}"))
                            .or_insert_with(|| Property {
                                types: BTreeSet::new(),
                                seen: Vec::new(),
                                paths: BTreeSet::new(),
                            });
                        property.types.extend(types.iter().cloned());
                        property.seen.push(format!(
                            "{records} of {} {} records",
                            schema.records, schema.name
                        ));
                        property
                            .paths
                            .insert(format!("{}: {}", schema.name, finding.path));
                    }
                    FindingKind::EnumValues {
                        open: true,
                        values: seen,
                        enum_at,
                        ..
                    } => {
                        for value in seen {
                            if value.value.chars().count() >= VALUE_CHARS {
                                continue;
                            }
                            values
                                .entry((format!("{enum_at}/enum/-"), value.value.clone()))
                                .or_default()
                                .push(format!(
                                    "{} at {} in {} of {} records",
                                    schema.name, finding.path, value.records, schema.records
                                ));
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut ops = Vec::new();
        for (path, property) in properties {
            let types: Vec<String> = property.types.into_iter().collect();
            let description = format!(
                "Seen by `trillet spec drift` in {} (types seen: {}); not in the reference pages.",
                property.seen.join(", "),
                types.join(", ")
            );
            let paths: Vec<String> = property.paths.into_iter().collect();
            ops.push(PatchOp {
                value: inferred_schema(&types, description),
                reason: format!("not named by the spec ({})", paths.join("; ")),
                path,
            });
        }
        for ((path, value), seen) in values {
            ops.push(PatchOp {
                path,
                value: Value::String(value),
                reason: format!("a new value of an open set ({})", seen.join("; ")),
            });
        }
        Suggestion { ops }
    }
}

/// An optional property's schema from the JSON types seen: one type (integers as
/// `number`, so a later fraction still decodes), `nullable` when `null` was seen
/// too, and no type at all when the types disagree.
fn inferred_schema(types: &[String], description: String) -> Value {
    let nullable = types.iter().any(|t| t == "null");
    let mut kinds: BTreeSet<&str> = types
        .iter()
        .map(String::as_str)
        .filter(|t| *t != "null")
        .map(|t| if t == "integer" { "number" } else { t })
        .collect();
    let mut schema = Map::new();
    if kinds.len() == 1 {
        let kind = kinds.pop_first().unwrap_or_default();
        schema.insert("type".into(), Value::from(kind));
        match kind {
            "object" => {
                schema.insert("additionalProperties".into(), json!({}));
            }
            "array" => {
                schema.insert("items".into(), json!({}));
            }
            _ => {}
        }
        if nullable {
            schema.insert("nullable".into(), Value::Bool(true));
        }
    }
    schema.insert("description".into(), Value::String(description));
    Value::Object(schema)
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
