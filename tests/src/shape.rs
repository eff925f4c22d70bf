//! The *shape* of a JSON Schema: which JSON types it admits, which enum values it
//! lists (and whether other values of those types are admitted too), string formats,
//! and, for objects, property names, required names and what happens to unknown
//! keys; for arrays, the items' shape. Two schemas of the same shape describe the
//! same records in the sense the drift test cares about.
//!
//! [`Shape::of`] reads any JSON Schema document (the spec's OpenAPI components, or
//! the schema `schemars` derives from the generated types), resolving local `$ref`s
//! in it; [`drift`] lists how a model's shape differs from the spec's.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use trillet_spec::Depth;

/// What a schema says about unknown object keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Extra {
    /// No `additionalProperties`: JSON Schema admits unknown keys. In a schema
    /// derived by `schemars` this is a serde struct without a catch-all map, which
    /// accepts unknown keys but drops them.
    #[default]
    Unstated,
    /// `additionalProperties: false`.
    Closed,
    /// `additionalProperties: true` or a schema: unknown keys are admitted (and, in a
    /// model, kept in a map).
    Kept(Box<Shape>),
}

/// The shape of a schema (see the module documentation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// JSON types admitted (`string`, `number`, `integer`, …); empty means any value.
    pub types: BTreeSet<String>,
    /// The types whose values are restricted to the `listed` ones (a closed enum).
    pub closed: BTreeSet<String>,
    /// Values listed by `enum`s, as JSON text.
    pub listed: BTreeSet<String>,
    /// `format` of a string, if any.
    pub format: Option<String>,
    /// Properties by name.
    pub properties: BTreeMap<String, Shape>,
    /// Required property names.
    pub required: BTreeSet<String>,
    /// What happens to unknown keys.
    pub extra: Extra,
    /// The shape of array items.
    pub items: Option<Box<Shape>>,
}

impl Shape {
    /// The shape of `schema`, whose `$ref`s resolve in `root`.
    pub fn of(root: &Value, schema: &Value) -> Shape {
        Self::at(root, schema, Depth::ROOT)
    }

    /// A broken reference or a schema nesting past the spec's depth rule fails the
    /// test that met it (through the spec's one resolver and depth rule).
    fn at(root: &Value, schema: &Value, depth: Depth) -> Shape {
        let depth = depth.deeper("the shape").unwrap_or_else(|e| panic!("{e}"));
        let schema = trillet_spec::resolve(root, schema).unwrap_or_else(|e| panic!("{e}"));
        let Some(map) = schema.as_object() else {
            // `true` (or a non-schema): anything.
            return Shape::default();
        };
        let mut shape = if let Some(Value::Array(branches)) =
            map.get("anyOf").or_else(|| map.get("oneOf"))
        {
            let shapes: Vec<Shape> = branches.iter().map(|b| Self::at(root, b, depth)).collect();
            union(shapes)
        } else if let Some(Value::Array(all)) = map.get("allOf")
            && let [only] = all.as_slice()
        {
            Self::at(root, only, depth)
        } else {
            Self::plain(root, map, depth)
        };
        if map.get("nullable") == Some(&Value::Bool(true)) && !shape.types.is_empty() {
            shape.types.insert("null".into());
        }
        shape
    }

    fn plain(root: &Value, map: &Map<String, Value>, depth: Depth) -> Shape {
        let mut shape = Shape::default();
        match map.get("type") {
            Some(Value::String(t)) => {
                shape.types.insert(t.clone());
            }
            Some(Value::Array(ts)) => {
                shape
                    .types
                    .extend(ts.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            _ => {}
        }
        if let Some(Value::Array(values)) = map.get("enum") {
            shape.listed = values.iter().map(Value::to_string).collect();
            if shape.types.is_empty() {
                shape.types = values.iter().map(json_type).map(str::to_owned).collect();
            }
            shape.closed = shape.types.clone();
        }
        if shape.types.contains("string") {
            shape.format = map.get("format").and_then(Value::as_str).map(str::to_owned);
        }
        if let Some(Value::Object(properties)) = map.get("properties") {
            shape.properties = properties
                .iter()
                .map(|(k, v)| (k.clone(), Self::at(root, v, depth)))
                .collect();
        }
        if let Some(Value::Array(required)) = map.get("required") {
            shape.required = required
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
        }
        shape.extra = match map.get("additionalProperties") {
            None => Extra::Unstated,
            Some(Value::Bool(false)) => Extra::Closed,
            Some(schema) => Extra::Kept(Box::new(Self::at(root, schema, depth))),
        };
        if let Some(items) = map.get("items") {
            shape.items = Some(Box::new(Self::at(root, items, depth)));
        }
        shape
    }
}

use trillet_spec::drift::json_type;

/// The shape of `anyOf` the given shapes.
fn union(shapes: Vec<Shape>) -> Shape {
    let mut out = Shape::default();
    let any = shapes.iter().any(|s| s.types.is_empty());
    let mut open_types = BTreeSet::new();
    for s in shapes {
        out.types.extend(s.types.iter().cloned());
        open_types.extend(s.types.difference(&s.closed).cloned());
        out.closed.extend(s.closed);
        out.listed.extend(s.listed);
        out.format = out.format.or(s.format);
        for (name, shape) in s.properties {
            out.properties.insert(name, shape);
        }
        out.required.extend(s.required);
        if s.extra != Extra::Unstated {
            out.extra = s.extra;
        }
        out.items = out.items.or(s.items);
    }
    // A type with an unrestricted branch is open, whatever other branches list.
    out.closed = out.closed.difference(&open_types).cloned().collect();
    if any {
        out.types.clear();
        out.closed.clear();
    }
    out
}

/// How `model` differs from `spec`, one line each; empty when they agree.
///
/// - JSON types must be equal, `integer` and `number` told apart. `null` may appear in
///   the model for a property the spec does not require (that is how an `Option`
///   renders); where the spec admits `null`, the model must too.
/// - Listed enum values and whether the set is closed must be equal.
/// - String formats must be equal.
/// - Property names and required names must be equal.
/// - Where the spec admits unknown keys (`additionalProperties` absent, `true` or a
///   schema) the model must keep them (`additionalProperties` stated: a catch-all
///   map); where the spec forbids them, the model must too.
pub fn drift(spec: &Shape, model: &Shape) -> Vec<String> {
    let mut out = Vec::new();
    compare(spec, model, "", true, &mut out);
    out
}

fn names(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "any".into()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

fn compare(spec: &Shape, model: &Shape, at: &str, required: bool, out: &mut Vec<String>) {
    let here = if at.is_empty() { "/" } else { at };
    let without_null = |s: &BTreeSet<String>| -> BTreeSet<String> {
        s.iter().filter(|t| *t != "null").cloned().collect()
    };
    let (spec_types, model_types) = (without_null(&spec.types), without_null(&model.types));
    if spec_types != model_types {
        out.push(format!(
            "{here}: the spec admits types [{}], the model [{}]",
            names(&spec_types),
            names(&model_types)
        ));
    }
    let spec_null = spec.types.contains("null");
    let model_null = model.types.contains("null");
    if spec_null && !model_null {
        out.push(format!("{here}: the spec admits null, the model does not"));
    }
    if required && model_null && !spec_null && !spec.types.is_empty() {
        out.push(format!(
            "{here}: the model admits null for a value the spec requires non-null"
        ));
    }
    if spec.listed != model.listed {
        out.push(format!(
            "{here}: the spec lists [{}], the model [{}]",
            spec.listed.iter().cloned().collect::<Vec<_>>().join(", "),
            model.listed.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    if without_null(&spec.closed) != without_null(&model.closed) {
        out.push(format!(
            "{here}: the spec restricts [{}] to the listed values, the model [{}]",
            spec.closed.iter().cloned().collect::<Vec<_>>().join(", "),
            model.closed.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    if spec.format != model.format {
        out.push(format!(
            "{here}: the spec's string format is {:?}, the model's {:?}",
            spec.format, model.format
        ));
    }
    let spec_names: BTreeSet<&String> = spec.properties.keys().collect();
    let model_names: BTreeSet<&String> = model.properties.keys().collect();
    for name in spec_names.difference(&model_names) {
        out.push(format!("{at}/{name}: in the spec, not in the model"));
    }
    for name in model_names.difference(&spec_names) {
        out.push(format!("{at}/{name}: in the model, not in the spec"));
    }
    if spec.required != model.required {
        out.push(format!(
            "{here}: the spec requires [{}], the model [{}]",
            spec.required.iter().cloned().collect::<Vec<_>>().join(", "),
            model
                .required
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for (name, s) in &spec.properties {
        if let Some(m) = model.properties.get(name) {
            let at = format!("{at}/{}", trillet_spec::escape_pointer(name));
            compare(s, m, &at, spec.required.contains(name), out);
        }
    }
    let is_object = spec.types.contains("object") || !spec.properties.is_empty();
    if is_object {
        match (&spec.extra, &model.extra) {
            (Extra::Closed, Extra::Closed) => {}
            (Extra::Closed, _) => out.push(format!(
                "{here}: the spec forbids unknown keys, the model admits them"
            )),
            (_, Extra::Closed) => out.push(format!(
                "{here}: the spec admits unknown keys, the model rejects them"
            )),
            (_, Extra::Unstated) => out.push(format!(
                "{here}: the spec admits unknown keys, the model drops them (no catch-all map)"
            )),
            (Extra::Unstated, Extra::Kept(m)) => {
                compare(&Shape::default(), m, &format!("{at}/*"), true, out);
            }
            (Extra::Kept(s), Extra::Kept(m)) => compare(s, m, &format!("{at}/*"), true, out),
        }
    }
    match (&spec.items, &model.items) {
        (Some(s), Some(m)) => compare(s, m, &format!("{at}/[]"), true, out),
        (None, None) => {}
        (s, m) => out.push(format!(
            "{here}: array items: spec {}, model {}",
            if s.is_some() {
                "declares"
            } else {
                "does not declare"
            },
            if m.is_some() {
                "declares"
            } else {
                "does not declare"
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shape(schema: Value) -> Shape {
        Shape::of(&schema, &schema)
    }

    #[test]
    fn an_open_set_is_a_string_with_listed_values_and_no_restriction() {
        let s =
            shape(json!({"anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "string"}]}));
        assert_eq!(s.types, BTreeSet::from(["string".to_owned()]));
        assert!(s.closed.is_empty());
        assert_eq!(s.listed.len(), 2);
        let closed = shape(json!({"type": "string", "enum": ["a", "b"]}));
        assert!(!drift(&s, &closed).is_empty());
    }

    #[test]
    fn an_option_may_admit_null_where_the_spec_does_not_require_the_property() {
        let spec = shape(
            json!({"type": "object", "additionalProperties": {}, "properties": {"x": {"type": "number"}}}),
        );
        let model = shape(
            json!({"type": "object", "additionalProperties": true, "properties": {"x": {"type": ["number", "null"], "format": "double"}}}),
        );
        assert_eq!(drift(&spec, &model), Vec::<String>::new());
        let integer = shape(
            json!({"type": "object", "additionalProperties": true, "properties": {"x": {"type": ["integer", "null"]}}}),
        );
        assert_eq!(
            drift(&spec, &integer).len(),
            1,
            "{:?}",
            drift(&spec, &integer)
        );
        let dropping =
            shape(json!({"type": "object", "properties": {"x": {"type": ["number", "null"]}}}));
        assert_eq!(
            drift(&spec, &dropping).len(),
            1,
            "{:?}",
            drift(&spec, &dropping)
        );
    }
}
