//! "Equal in value", as the spec defines the values: a spec-aware canonical form of
//! JSON instances, so that two instances compare equal exactly when they carry the
//! same record.
//!
//! Walking the schema beside the value (resolving `$ref`s in the document):
//!
//! - where the schema says `number` or `integer`, numbers are compared by value
//!   (`1680000000` equals `1680000000.0`); elsewhere (free-form values, unknown keys)
//!   a number must come back exactly as it was;
//! - where it says `format: date-time`, strings are compared by the instant they name
//!   (`2025-01-16T21:28:14+01:00` equals `2025-01-16T20:28:14Z`), to the nanosecond,
//!   a leap second kept apart from the next second (chrono's RFC 3339 parser);
//! - an absent key and an empty object/array are the same for an optional property
//!   whose generated field is a plain `Map`/`Vec` (which the model skips when empty):
//!   in the spec, a property that is not required and is declared inline as an
//!   `array`, or as an `object` without `properties` (not through a `$ref`);
//! - an absent key and `null` are the same for an optional property that admits
//!   `null` (`nullable: true`, or no type constraint): its generated field is an
//!   `Option`, which cannot hold "present and null" (a known loss, see
//!   `tests/tests/it/known_limitations.rs`);
//! - everything else (strings, unknown keys and their values) must be equal exactly.

use serde_json::{Map, Number, Value};
use trillet_spec::Depth;

/// Canonical forms of the instances of one document's schemas.
#[derive(Clone, Debug)]
pub struct Canonical {
    document: Value,
}

impl Canonical {
    /// Canonical forms for the schemas of `document` (`$ref`s resolve in it).
    pub fn new(document: Value) -> Self {
        Self { document }
    }

    /// Canonical forms for the schemas of a parsed spec.
    pub fn for_spec(spec: &trillet_spec::Spec) -> Self {
        Self::new(spec.document().clone())
    }

    /// The canonical form of `value` as an instance of `components/schemas/<name>`.
    ///
    /// # Panics
    /// If the document has no such schema.
    pub fn component(&self, name: &str, value: &Value) -> Value {
        let pointer = format!("/components/schemas/{}", trillet_spec::escape_pointer(name));
        let schema = self
            .document
            .pointer(&pointer)
            .unwrap_or_else(|| panic!("the document has no schema named `{name}`"));
        self.of(schema, value, Depth::ROOT)
    }

    /// The canonical form of `value` as an instance of `schema`.
    pub fn instance(&self, schema: &Value, value: &Value) -> Value {
        self.of(schema, value, Depth::ROOT)
    }

    /// `schema` through its `$ref`s (the spec's one resolver); a reference that does
    /// not resolve is a broken spec, and fails the test that met it.
    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        trillet_spec::resolve(&self.document, schema).unwrap_or_else(|e| panic!("{e}"))
    }

    fn of(&self, schema: &Value, value: &Value, depth: Depth) -> Value {
        let depth = depth
            .deeper("the canonical form")
            .unwrap_or_else(|e| panic!("{e}"));
        let schema = self.resolve(schema);
        let Some(map) = schema.as_object() else {
            return value.clone();
        };
        if let Some(Value::Array(all)) = map.get("allOf")
            && let [only] = all.as_slice()
        {
            return self.of(only, value, depth);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = map.get(key) {
                return match branches.iter().find(|b| self.admits_type(b, value)) {
                    Some(branch) => self.of(branch, value, depth),
                    None => value.clone(),
                };
            }
        }
        match value {
            Value::Number(n) if self.admits_type(schema, value) && has_type(map) => n
                .as_f64()
                .and_then(Number::from_f64)
                .map_or_else(|| value.clone(), Value::Number),
            Value::String(s) if map.get("format").and_then(Value::as_str) == Some("date-time") => {
                rfc3339_instant(s).map_or_else(|| value.clone(), |i| Value::String(i.to_string()))
            }
            Value::Object(object) => self.object(map, object, depth),
            Value::Array(items) => match map.get("items") {
                Some(item_schema) => Value::Array(
                    items
                        .iter()
                        .map(|v| self.of(item_schema, v, depth))
                        .collect(),
                ),
                None => value.clone(),
            },
            _ => value.clone(),
        }
    }

    fn object(&self, map: &Map<String, Value>, object: &Map<String, Value>, depth: Depth) -> Value {
        let empty = Map::new();
        let properties = map
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let required: Vec<&str> = map
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let additional = map.get("additionalProperties");
        let mut out = Map::new();
        for (key, v) in object {
            match properties.get(key) {
                Some(property) => {
                    let optional = !required.contains(&key.as_str());
                    if optional && empty_means_absent(property) && is_empty_collection(v) {
                        continue;
                    }
                    if optional && v.is_null() && self.null_means_absent(property) {
                        continue;
                    }
                    out.insert(key.clone(), self.of(property, v, depth));
                }
                None => {
                    let v = match additional {
                        Some(schema @ Value::Object(_)) => self.of(schema, v, depth),
                        _ => v.clone(),
                    };
                    out.insert(key.clone(), v);
                }
            }
        }
        Value::Object(out)
    }

    /// Whether an optional property's `null` is the same as its absence: the
    /// property admits `null` (`nullable: true`, or no constraint on the type at all),
    /// and the generated field is an `Option`, which decodes `null` as `None` and
    /// skips `None` on encode.
    pub fn null_means_absent(&self, property: &Value) -> bool {
        let schema = self.resolve(property);
        let Some(map) = schema.as_object() else {
            return true; // `true`: any value
        };
        map.get("nullable") == Some(&Value::Bool(true))
            || ![
                "type",
                "enum",
                "anyOf",
                "oneOf",
                "allOf",
                "properties",
                "items",
            ]
            .iter()
            .any(|k| map.contains_key(*k))
    }

    /// Whether `schema`'s `type` (after `$ref`s) admits the JSON type of `value`;
    /// a schema without `type` admits any.
    fn admits_type(&self, schema: &Value, value: &Value) -> bool {
        let schema = self.resolve(schema);
        let Some(map) = schema.as_object() else {
            return true;
        };
        if value.is_null() && map.get("nullable") == Some(&Value::Bool(true)) {
            return true;
        }
        let admits = |t: &str| match (t, value) {
            ("null", Value::Null)
            | ("boolean", Value::Bool(_))
            | ("number", Value::Number(_))
            | ("string", Value::String(_))
            | ("array", Value::Array(_))
            | ("object", Value::Object(_)) => true,
            ("integer", Value::Number(n)) => n.is_i64() || n.is_u64(),
            _ => false,
        };
        match map.get("type") {
            Some(Value::String(t)) => admits(t),
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).any(admits),
            _ => match map.get("anyOf").and_then(Value::as_array) {
                Some(branches) => branches.iter().any(|b| self.admits_type(b, value)),
                None => true,
            },
        }
    }
}

fn has_type(map: &Map<String, Value>) -> bool {
    map.contains_key("type")
}

/// An optional property the generated code holds as a plain `Map`/`Vec`, skipped when
/// empty: declared inline as an array, or as an object without `properties`.
pub fn empty_means_absent(property: &Value) -> bool {
    match property.get("type").and_then(Value::as_str) {
        Some("array") => true,
        Some("object") => property.get("properties").is_none() && property.get("$ref").is_none(),
        _ => false,
    }
}

fn is_empty_collection(value: &Value) -> bool {
    match value {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// An instant named by an RFC 3339 date-time, to the nanosecond.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instant {
    /// Seconds since 1970-01-01T00:00:00Z (a leap second counts as the second before it).
    pub seconds: i64,
    /// Nanoseconds; 10⁹ or more in a leap second (`:60`), which keeps it apart from
    /// the next second. Fraction digits beyond nine are cut off.
    pub nanos: u32,
}

impl std::fmt::Display for Instant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "instant {}.{:09}", self.seconds, self.nanos)
    }
}

/// Parses an RFC 3339 `date-time` with chrono; `None` if it is not one. The one
/// notion of "the same instant" in this crate ([`crate::json_eq`] uses it too).
pub fn rfc3339_instant(text: &str) -> Option<Instant> {
    let at = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    Some(Instant {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos(),
    })
}

/// The JSON pointer of the first place where `a` and `b` differ, with both sides.
pub fn first_difference(a: &Value, b: &Value) -> Option<String> {
    fn walk(a: &Value, b: &Value, at: String) -> Option<String> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for (k, v) in x {
                    let here = format!("{at}/{}", trillet_spec::escape_pointer(k));
                    match y.get(k) {
                        Some(w) => {
                            if let Some(difference) = walk(v, w, here) {
                                return Some(difference);
                            }
                        }
                        None => return Some(format!("{here}: {v} ≠ (absent)")),
                    }
                }
                y.iter().find(|(k, _)| !x.contains_key(*k)).map(|(k, w)| {
                    format!("{at}/{}: (absent) ≠ {w}", trillet_spec::escape_pointer(k))
                })
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
                .iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (v, w))| walk(v, w, format!("{at}/{i}"))),
            _ if a == b => None,
            _ => Some(format!(
                "{}: {a} ≠ {b}",
                if at.is_empty() { "/" } else { &at }
            )),
        }
    }
    walk(a, b, String::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn instants_are_compared_across_offsets_cases_and_precision() {
        let a = rfc3339_instant("2025-01-16T21:28:14+01:00").unwrap();
        let b = rfc3339_instant("2025-01-16t20:28:14.000z").unwrap();
        assert_eq!(a, b);
        assert_eq!(rfc3339_instant("1970-01-01T00:00:00Z").unwrap().seconds, 0);
        assert_eq!(
            rfc3339_instant("2000-03-01T00:00:00Z").unwrap().seconds,
            951_868_800
        );
        let leap = rfc3339_instant("1998-12-31T15:59:60.5-08:00").unwrap();
        assert_eq!(leap, rfc3339_instant("1998-12-31T23:59:60.5Z").unwrap());
        assert_ne!(leap, rfc3339_instant("1999-01-01T00:00:00.5Z").unwrap());
        assert_eq!(
            rfc3339_instant("2025-01-01T00:00:00.1234567891Z")
                .unwrap()
                .nanos,
            123_456_789
        );
        for bad in ["2025-02-30T00:00:00Z", "2025-01-01T00:00:00", "x"] {
            assert_eq!(rfc3339_instant(bad), None, "{bad}");
        }
    }

    #[test]
    fn numbers_are_by_value_only_where_the_spec_types_them() {
        let doc = json!({"s": {"type": "object", "additionalProperties": {}, "properties": {
            "n": {"type": "number"}, "m": {"type": "object"}, "a": {"type": "array"}
        }}});
        let c = Canonical::new(doc.clone());
        let schema = &doc["s"];
        assert_eq!(
            c.instance(schema, &json!({"n": 1, "m": {}, "a": []})),
            c.instance(schema, &json!({"n": 1.0}))
        );
        assert_ne!(
            c.instance(schema, &json!({"x": 1})),
            c.instance(schema, &json!({"x": 1.0}))
        );
    }

    #[test]
    fn null_is_absent_only_where_an_optional_property_admits_null() {
        let doc = json!({"s": {"type": "object", "required": ["r"], "properties": {
            "n": {"type": "string", "nullable": true}, "any": {},
            "s": {"type": "string"}, "r": {"nullable": true, "type": "string"}
        }}});
        let c = Canonical::new(doc.clone());
        let schema = &doc["s"];
        let canon = |v: Value| c.instance(schema, &v);
        assert_eq!(canon(json!({"n": null, "any": null})), canon(json!({})));
        assert_ne!(canon(json!({"s": null})), canon(json!({})));
        assert_ne!(canon(json!({"r": null})), canon(json!({})));
    }
}
