//! Whether a record's JSON fits the typed model, checked while the bytes are read,
//! keeping nothing but the record's `_id`.
//!
//! Decoding into the generated [`trillet::CallHistory`] would build every part the
//! model leaves free-form (unknown keys, `metadata`, function calls) as
//! `serde_json` values: some 30 times the size of their text for a record of many
//! small values, so a hostile server could make each record in flight cost
//! hundreds of megabytes. Instead, the model's own JSON Schema (derived with the
//! generated types by `schemars`, so it says what their `Deserialize` accepts) is
//! compiled once into a small tree of what each place may hold, and the body is
//! walked against it with `serde_json`, skipping free-form parts unread. Memory is
//! bounded by the nesting depth.
//!
//! Hand-rolled because the validators on crates.io (`jsonschema`, `valico`) check a
//! `serde_json::Value`, which is the tree this avoids. The compiler knows only the
//! keywords the generated model uses; a schema with any other keyword is refused at
//! compile time, and the caller then decodes into the model itself (correct, only
//! not memory-bounded). A unit test keeps the model within what is known.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// What one place of a record may hold.
#[derive(Debug, Default)]
struct Node {
    /// The JSON types allowed here ([`kind`] bits); `ANY` is every type, unread.
    kinds: u8,
    /// Strings: only these values (a closed enum), when set.
    values: Option<Vec<String>>,
    /// Strings: must be an RFC 3339 time (`format: date-time`).
    date_time: bool,
    /// Integers: the range of the Rust type behind `format`.
    range: Option<(i128, i128)>,
    /// Objects: the named properties, and which must be present.
    properties: HashMap<String, Node>,
    required: Vec<String>,
    /// Objects: keys not named.
    additional: Extra,
    /// Arrays: what each item may hold.
    items: Option<Box<Node>>,
}

/// What an object's keys not named may hold.
#[derive(Debug, Default)]
enum Extra {
    /// Anything, unread (JSON Schema's default).
    #[default]
    Any,
    Refused,
    Checked(Box<Node>),
}

/// Bits of [`Node::kinds`].
mod kind {
    pub const NULL: u8 = 1;
    pub const BOOL: u8 = 2;
    pub const INTEGER: u8 = 4;
    pub const NUMBER: u8 = 8;
    pub const STRING: u8 = 16;
    pub const ARRAY: u8 = 32;
    pub const OBJECT: u8 = 64;
    pub const ANY: u8 = 127;
}

impl Node {
    fn any() -> Self {
        Node {
            kinds: kind::ANY,
            ..Node::default()
        }
    }

    /// Whether anything at all goes here, so it can be skipped unread.
    fn is_any(&self) -> bool {
        self.kinds == kind::ANY
            && self.values.is_none()
            && !self.date_time
            && self.range.is_none()
            && self.properties.is_empty()
            && self.required.is_empty()
            && self.items.as_ref().is_none_or(|i| i.is_any())
            && matches!(self.additional, Extra::Any)
    }

    /// "a string or null", for messages.
    fn expected(&self) -> String {
        let names = [
            (kind::STRING, "a string"),
            (kind::NUMBER, "a number"),
            (kind::INTEGER, "an integer"),
            (kind::BOOL, "a boolean"),
            (kind::OBJECT, "an object"),
            (kind::ARRAY, "an array"),
            (kind::NULL, "null"),
        ];
        let kinds = if self.kinds & kind::NUMBER != 0 {
            self.kinds & !kind::INTEGER
        } else {
            self.kinds
        };
        let names: Vec<&str> = names
            .iter()
            .filter(|(bit, _)| kinds & bit != 0)
            .map(|(_, name)| *name)
            .collect();
        names.join(" or ")
    }
}

/// The model's shape, compiled once.
#[derive(Debug)]
pub struct Shape {
    root: Node,
}

impl Shape {
    /// The shape of a [`trillet::CallHistory`], or why its schema cannot be walked
    /// (then decode into the model instead).
    pub fn call_history() -> Result<Self, String> {
        let schema = schemars::schema_for!(trillet::CallHistory);
        Self::compile(schema.as_value())
    }

    fn compile(schema: &Value) -> Result<Self, String> {
        let defs = schema
            .get("$defs")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let root = Compiler { defs: &defs }.node(schema, 0)?;
        Ok(Self { root })
    }

    /// Checks `json` against the shape: the record's `_id` (when it is a string), or
    /// the JSON path of what does not fit and why.
    pub fn check(&self, json: &[u8]) -> Result<Option<String>, Misfit> {
        let mut deserializer = serde_json::Deserializer::from_slice(json);
        let walk = Walk {
            node: &self.root,
            path: &Segment::Root,
            keep: false,
        };
        let id = walk
            .deserialize(&mut deserializer)
            .and_then(|id| deserializer.end().map(|()| id))
            .map_err(|e| Misfit::from_json(&e))?;
        Ok(id.and_then(|found| match found {
            Found::Id(id) => Some(id),
            Found::Nothing => None,
        }))
    }
}

/// Where and why a record does not fit the model.
#[derive(Debug, PartialEq, Eq)]
pub struct Misfit {
    /// The JSON path (`.` for the whole record), as `serde_path_to_error` writes it.
    pub path: String,
    pub message: String,
}

/// Marks a message made by [`Walk`], so its path can be told from serde_json's own.
const AT: &str = "\u{0}at ";

impl Misfit {
    fn from_json(error: &serde_json::Error) -> Self {
        let text = error.to_string();
        // serde_json adds " at line L column C" to every message.
        let text = match text.rsplit_once(" at line ") {
            Some((text, _)) => text.to_owned(),
            None => text,
        };
        match text
            .strip_prefix(AT)
            .and_then(|rest| rest.split_once('\u{0}'))
        {
            Some((path, message)) => Misfit {
                path: path.to_owned(),
                message: message.trim_start_matches(": ").to_owned(),
            },
            None => Misfit {
                path: ".".into(),
                message: text,
            },
        }
    }
}

impl fmt::Display for Misfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The wording of `trillet::Error::Decode`, which the typed decode reports.
        write!(
            f,
            "the response does not match the spec: at `{}`: {}",
            crate::term::short(&self.path, 120),
            self.message
        )
    }
}

struct Compiler<'a> {
    defs: &'a serde_json::Map<String, Value>,
}

impl Compiler<'_> {
    fn node(&self, schema: &Value, depth: usize) -> Result<Node, String> {
        if depth > 32 {
            return Err("the schema nests too deep".into());
        }
        let object = match schema {
            Value::Bool(true) => return Ok(Node::any()),
            Value::Object(object) => object,
            other => return Err(format!("a schema that is {other}")),
        };
        if let Some(reference) = object.get("$ref") {
            let name = reference
                .as_str()
                .and_then(|r| r.strip_prefix("#/$defs/"))
                .ok_or_else(|| format!("a $ref to {reference}"))?;
            let target = self
                .defs
                .get(name)
                .ok_or_else(|| format!("a $ref to a missing {name}"))?;
            return self.node(target, depth + 1);
        }
        if let Some(alternatives) = object.get("anyOf").or_else(|| object.get("oneOf")) {
            let mut merged: Option<Node> = None;
            for alternative in alternatives.as_array().into_iter().flatten() {
                let node = self.node(alternative, depth + 1)?;
                merged = Some(match merged {
                    None => node,
                    Some(so_far) => merge(so_far, node)?,
                });
            }
            return merged.ok_or_else(|| "an empty anyOf".to_owned());
        }
        let mut node = Node::default();
        let mut typed = false;
        for (keyword, value) in object {
            match keyword.as_str() {
                "type" => {
                    typed = true;
                    let names: Vec<&str> = match value {
                        Value::String(name) => vec![name],
                        Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
                        _ => return Err("a type that is not a name".into()),
                    };
                    for name in names {
                        node.kinds |= match name {
                            "null" => kind::NULL,
                            "boolean" => kind::BOOL,
                            "integer" => kind::INTEGER,
                            "number" => kind::NUMBER | kind::INTEGER,
                            "string" => kind::STRING,
                            "array" => kind::ARRAY,
                            "object" => kind::OBJECT,
                            other => return Err(format!("the type {other}")),
                        };
                    }
                }
                "enum" => {
                    let values = value.as_array().ok_or("an enum that is not a list")?;
                    let strings: Option<Vec<String>> = values
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect();
                    node.values = Some(strings.ok_or("an enum of non-strings")?);
                }
                "format" => match value.as_str().unwrap_or_default() {
                    "date-time" => node.date_time = true,
                    "double" | "float" => {}
                    "int8" => node.range = Some((i8::MIN.into(), i8::MAX.into())),
                    "int16" => node.range = Some((i16::MIN.into(), i16::MAX.into())),
                    "int32" => node.range = Some((i32::MIN.into(), i32::MAX.into())),
                    "int64" | "int" => node.range = Some((i64::MIN.into(), i64::MAX.into())),
                    "uint8" => node.range = Some((0, u8::MAX.into())),
                    "uint16" => node.range = Some((0, u16::MAX.into())),
                    "uint32" => node.range = Some((0, u32::MAX.into())),
                    "uint64" | "uint" => node.range = Some((0, u64::MAX.into())),
                    other => return Err(format!("the format {other}")),
                },
                "properties" => {
                    for (name, schema) in value.as_object().ok_or("properties not an object")? {
                        node.properties
                            .insert(name.clone(), self.node(schema, depth + 1)?);
                    }
                }
                "required" => {
                    node.required = value
                        .as_array()
                        .ok_or("required not a list")?
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect();
                }
                "additionalProperties" => {
                    node.additional = match value {
                        Value::Bool(false) => Extra::Refused,
                        Value::Bool(true) => Extra::Any,
                        schema => Extra::Checked(Box::new(self.node(schema, depth + 1)?)),
                    };
                }
                "items" => node.items = Some(Box::new(self.node(value, depth + 1)?)),
                // What only documents.
                "$schema" | "title" | "description" | "default" | "examples" | "$defs"
                | "deprecated" | "readOnly" | "writeOnly" => {}
                other => return Err(format!("the keyword {other}")),
            }
        }
        if !typed {
            node.kinds = kind::ANY;
        }
        if node.kinds & kind::ARRAY != 0 && node.items.is_none() {
            node.items = Some(Box::new(Node::any()));
        }
        Ok(node)
    }
}

/// Two alternatives of an `anyOf` as one node: their types add up; where both
/// constrain the same type differently (two object shapes), the schema is refused,
/// since telling them apart would need reading ahead.
fn merge(a: Node, b: Node) -> Result<Node, String> {
    let shared = a.kinds & b.kinds;
    let structured = |n: &Node| {
        n.kinds & (kind::OBJECT | kind::ARRAY) != 0 && !(n.kinds == kind::ANY && n.is_any())
    };
    if shared & (kind::OBJECT | kind::ARRAY) != 0 && structured(&a) && structured(&b) {
        return Err("an anyOf of two objects or arrays".into());
    }
    let (a_string, b_string) = (a.kinds & kind::STRING != 0, b.kinds & kind::STRING != 0);
    let values = match (a_string, b_string) {
        // A string that any alternative takes without a list is any string.
        (true, true) => match (a.values, b.values) {
            (Some(mut x), Some(y)) => {
                x.extend(y);
                Some(x)
            }
            _ => None,
        },
        (true, false) => a.values,
        (false, true) => b.values,
        (false, false) => None,
    };
    if shared & kind::STRING != 0 && a.date_time != b.date_time {
        return Err("an anyOf of strings of different formats".into());
    }
    let (object, other) = if a.kinds & (kind::OBJECT | kind::ARRAY) != 0 {
        (a.properties, b.properties)
    } else {
        (b.properties, a.properties)
    };
    let mut properties = object;
    properties.extend(other);
    Ok(Node {
        kinds: a.kinds | b.kinds,
        values,
        date_time: a.date_time || b.date_time,
        range: a.range.or(b.range),
        properties,
        required: if a.required.is_empty() {
            b.required
        } else {
            a.required
        },
        additional: if a.kinds & kind::OBJECT != 0 {
            a.additional
        } else {
            b.additional
        },
        items: if a.kinds & kind::ARRAY != 0 {
            a.items
        } else {
            b.items
        },
    })
}

/// A place in the record, for messages; built on the stack as the walk descends,
/// turned into text only when something does not fit.
enum Segment<'a> {
    Root,
    Key(&'a Segment<'a>, &'a str),
    Index(&'a Segment<'a>, usize),
}

impl fmt::Display for Segment<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Root => f.write_str("."),
            Segment::Key(Segment::Root, key) => f.write_str(key),
            Segment::Key(parent, key) => write!(f, "{parent}.{key}"),
            Segment::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// What a walk hands back: the record's `_id`, found at the top.
enum Found {
    Id(String),
    Nothing,
}

/// One value checked against one node.
struct Walk<'n, 'p> {
    node: &'n Node,
    path: &'p Segment<'p>,
    /// Keep the string found here (the top-level `_id`).
    keep: bool,
}

impl Walk<'_, '_> {
    fn misfit<E: de::Error>(&self, message: impl fmt::Display) -> E {
        E::custom(format_args!("{AT}{}\u{0}: {message}", self.path))
    }

    fn wrong_type<E: de::Error>(&self, found: impl fmt::Display) -> E {
        self.misfit(format_args!(
            "invalid type: {found}, expected {}",
            self.node.expected()
        ))
    }

    fn allows(&self, bits: u8) -> bool {
        self.node.kinds & bits != 0
    }

    fn integer<E: de::Error>(&self, value: i128) -> Result<Option<Found>, E> {
        if !self.allows(kind::INTEGER | kind::NUMBER) {
            return Err(self.wrong_type(format_args!("integer `{value}`")));
        }
        if self.node.kinds & kind::NUMBER == 0
            && let Some((low, high)) = self.node.range
            && !(low..=high).contains(&value)
        {
            return Err(self.misfit(format_args!("{value} is out of range")));
        }
        Ok(None)
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_, '_> {
    type Value = Option<Found>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        if self.node.is_any() && !self.keep {
            deserializer.deserialize_ignored_any(IgnoredAny)?;
            return Ok(None);
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_, '_> {
    type Value = Option<Found>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.node.expected())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        if !self.allows(kind::NULL) {
            return Err(self.wrong_type("null"));
        }
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        if !self.allows(kind::BOOL) {
            return Err(self.wrong_type(format_args!("boolean `{value}`")));
        }
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        self.integer(value.into())
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        self.integer(value.into())
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        if !self.allows(kind::NUMBER) {
            return Err(self.wrong_type(format_args!("floating point `{value}`")));
        }
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        if !self.allows(kind::STRING) {
            let shown = crate::term::short(value, 40);
            return Err(self.wrong_type(format_args!("string {shown:?}")));
        }
        if let Some(values) = &self.node.values
            && !values.iter().any(|v| v == value)
        {
            let shown = crate::term::short(value, 40);
            return Err(self.misfit(format_args!(
                "unknown variant {shown:?}, expected one of {}",
                values.join(", ")
            )));
        }
        // What chrono's `Deserialize` for `DateTime<Utc>` accepts: its `FromStr`.
        if self.node.date_time && value.parse::<chrono::DateTime<chrono::Utc>>().is_err() {
            let shown = crate::term::short(value, 40);
            return Err(self.misfit(format_args!("{shown:?} is not an RFC 3339 time")));
        }
        Ok(self.keep.then(|| Found::Id(value.to_owned())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        if !self.allows(kind::ARRAY) {
            return Err(self.wrong_type("a sequence"));
        }
        let any = Node::any();
        let items = self.node.items.as_deref().unwrap_or(&any);
        let mut index = 0;
        loop {
            let path = Segment::Index(self.path, index);
            let walk = Walk {
                node: items,
                path: &path,
                keep: false,
            };
            if seq.next_element_seed(walk)?.is_none() {
                return Ok(None);
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        if !self.allows(kind::OBJECT) {
            return Err(self.wrong_type("a map"));
        }
        let top = matches!(self.path, Segment::Root);
        let mut found = None;
        // Named properties seen, to refuse a repeated one as serde's derive does.
        let mut seen: Vec<&str> = Vec::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let path = Segment::Key(self.path, &key);
            match self.node.properties.get_key_value(key.as_ref()) {
                Some((name, node)) => {
                    if seen.contains(&name.as_str()) {
                        return Err(Walk {
                            node,
                            path: &path,
                            keep: false,
                        }
                        .misfit(format_args!("duplicate field `{name}`")));
                    }
                    seen.push(name);
                    let keep = top && name == "_id";
                    let value = map.next_value_seed(Walk {
                        node,
                        path: &path,
                        keep,
                    })?;
                    if keep {
                        found = value;
                    }
                }
                None => match &self.node.additional {
                    Extra::Any => {
                        map.next_value::<IgnoredAny>()?;
                    }
                    Extra::Checked(node) => {
                        map.next_value_seed(Walk {
                            node,
                            path: &path,
                            keep: false,
                        })?;
                    }
                    Extra::Refused => {
                        return Err(self.misfit(format_args!("unknown field `{key}`")));
                    }
                },
            }
        }
        if let Some(missing) = self
            .node
            .required
            .iter()
            .find(|name| !seen.contains(&name.as_str()))
        {
            return Err(self.misfit(format_args!("missing field `{missing}`")));
        }
        Ok(found.or(Some(Found::Nothing)).filter(|_| top))
    }
}

/// An object key, borrowed from the input unless it has escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(key)))
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> Shape {
        Shape::call_history().expect("the model's schema uses only known keywords")
    }

    #[test]
    fn the_model_schema_compiles_so_records_are_never_decoded_into_a_tree() {
        let shape = shape();
        assert!(shape.root.properties.contains_key("startTime"));
    }

    #[test]
    fn a_fitting_record_gives_its_id_and_free_form_parts_are_not_checked() {
        let shape = shape();
        let record = br#"{"_id":"a\"b","startTime":1.5,"endTime":2,"status":"whatever",
            "direction":"inbound","createdAt":"2025-01-31T12:00:00Z","metadata":{"x":[1,{}]},
            "functionCalls":[{"a":1}],"cost":{"customer_charge":0.10,"extra":"x"},
            "unknown":[0,0,{"deep":[null]}],"summary":null}"#;
        assert_eq!(shape.check(record), Ok(Some("a\"b".to_owned())));
        assert_eq!(shape.check(br#"{"status":"completed"}"#), Ok(None));
        assert_eq!(shape.check(br#"{"_id":null}"#), Ok(None));
    }

    #[test]
    fn what_the_typed_decode_refuses_is_refused_with_its_path() {
        let shape = shape();
        for (record, path) in [
            (&br#"{"_id":"a","startTime":"abc"}"#[..], "startTime"),
            (br#"{"_id":5}"#, "_id"),
            (br#"{"createdAt":"yesterday"}"#, "createdAt"),
            (
                br#"{"cost":{"customer_charge":"1"}}"#,
                "cost.customer_charge",
            ),
            (br#"{"functionCalls":[{},3]}"#, "functionCalls[1]"),
            (br#"{"functionCalls":null}"#, "functionCalls"),
            (br#"{"metadata":[]}"#, "metadata"),
            (br#"{"_id":"a","_id":"b"}"#, "_id"),
            (br#"[]"#, "."),
            (br#"{"_id":"a"} x"#, "."),
            (br#"{"_id":"a""#, "."),
        ] {
            let misfit = shape
                .check(record)
                .expect_err(&String::from_utf8_lossy(record));
            assert_eq!(misfit.path, path, "{misfit}");
            // The typed model refuses the same records.
            assert!(
                trillet::decode_call_history(record).is_err(),
                "{}",
                String::from_utf8_lossy(record)
            );
        }
        let misfit = shape.check(br#"{"startTime":"abc"}"#).unwrap_err();
        assert_eq!(
            misfit.to_string(),
            "the response does not match the spec: at `startTime`: invalid type: string \"abc\", expected a number or null"
        );
    }

    #[test]
    fn keywords_the_walk_does_not_know_are_refused_at_compile_time() {
        let schema = serde_json::json!({"type": "object", "properties": {"a": {"minimum": 1}}});
        assert!(Shape::compile(&schema).unwrap_err().contains("minimum"));
        let schema = serde_json::json!({"anyOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}},
            {"type": "object", "properties": {"b": {"type": "string"}}}
        ]});
        assert!(Shape::compile(&schema).is_err());
    }
}
