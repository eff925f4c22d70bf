//! The spec change that would describe what a [`DriftReport`] saw, as JSON Patch
//! (RFC 6902) operations.
//!
//! By default only additions that describe without loosening anything a client
//! relies on: each property the spec does not name, described as seen (its type,
//! and for objects and arrays what they held, all optional and open), and each new
//! value of an open set. With [`SuggestOptions::violations`], also the changes that
//! make the spec accept what violated it (a type it does not allow, a `null`, a
//! malformed `format`, a missing required property, a value a closed enum does not
//! list): each marked [`PatchOp::loosens`], for a person to decide.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::{DriftReport, FindingKind, Shape, VALUE_CHARS};
use crate::SpecError;

/// The description every suggested property carries. It names no count, so that
/// a second run over more records suggests the same text.
pub const SEEN: &str = "Seen in responses by `trillet spec drift`; not in the reference pages.";

/// What a suggestion includes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SuggestOptions {
    /// Also loosen the spec where records violate it (see the module header).
    pub violations: bool,
}

impl SuggestOptions {
    /// Additions only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether to also suggest the loosening changes for violations.
    pub fn violations(mut self, yes: bool) -> Self {
        self.violations = yes;
        self
    }
}

/// What one operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatchKind {
    /// JSON Patch `add`: a new member, a value appended with `-`, or a member
    /// replaced.
    Add,
    /// JSON Patch `remove`.
    Remove,
}

impl PatchKind {
    /// The JSON Patch `op`.
    pub fn as_str(self) -> &'static str {
        match self {
            PatchKind::Add => "add",
            PatchKind::Remove => "remove",
        }
    }
}

/// One JSON Patch (RFC 6902) operation.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PatchOp {
    /// `add` or `remove`.
    pub kind: PatchKind,
    /// The JSON pointer into the spec document.
    pub path: String,
    /// The value added (`null` for a removal).
    pub value: Value,
    /// Why, for people.
    pub reason: String,
    /// Whether it makes the spec accept what it refused before (a wider type, a
    /// `null`, any string where a format was, a required property made optional, a
    /// value added to a closed set): clients built on the spec may then have to
    /// handle more. Only suggested with [`SuggestOptions::violations`].
    pub loosens: bool,
}

impl PatchOp {
    fn add(path: String, value: Value, reason: String) -> Self {
        Self {
            kind: PatchKind::Add,
            path,
            value,
            reason,
            loosens: false,
        }
    }

    fn loosening(kind: PatchKind, path: String, value: Value, reason: String) -> Self {
        Self {
            kind,
            path,
            value,
            reason,
            loosens: true,
        }
    }
}

/// A spec change that describes what was seen, in order.
#[derive(Clone, Debug, PartialEq, Default)]
#[non_exhaustive]
pub struct Suggestion {
    /// The operations, in the order they apply.
    pub ops: Vec<PatchOp>,
}

impl Suggestion {
    /// The suggestion as a JSON Patch document (RFC 6902); a loosening operation
    /// carries `"loosens": true` (a member JSON Patch tools ignore).
    pub fn to_json_patch(&self) -> Value {
        Value::Array(
            self.ops
                .iter()
                .map(|op| {
                    let mut out = json!({"op": op.kind.as_str(), "path": op.path});
                    if op.kind == PatchKind::Add {
                        out["value"] = op.value.clone();
                    }
                    if op.loosens {
                        out["loosens"] = Value::Bool(true);
                    }
                    out
                })
                .collect(),
        )
    }

    /// Whether any operation loosens the spec.
    pub fn loosens(&self) -> bool {
        self.ops.iter().any(|op| op.loosens)
    }

    /// `document` with the suggestion applied.
    pub fn apply(&self, document: &Value) -> Result<Value, SpecError> {
        let mut document = document.clone();
        for op in &self.ops {
            match op.kind {
                PatchKind::Add => add(&mut document, &op.path, op.value.clone())?,
                PatchKind::Remove => remove(&mut document, &op.path)?,
            }
        }
        Ok(document)
    }
}

fn parent<'d>(document: &'d mut Value, path: &str) -> Result<(&'d mut Value, String), SpecError> {
    let (parent, last) = path
        .rsplit_once('/')
        .ok_or_else(|| SpecError::new(format!("`{path}` is not a JSON pointer")))?;
    let target = document
        .pointer_mut(parent)
        .ok_or_else(|| SpecError::new(format!("`{parent}` is not in the spec")))?;
    Ok((target, crate::unescape_pointer(last)))
}

/// JSON Patch `add` (objects, and `-` at the end of an array).
fn add(document: &mut Value, path: &str, value: Value) -> Result<(), SpecError> {
    match parent(document, path)? {
        (Value::Object(map), last) => {
            map.insert(last, value);
            Ok(())
        }
        (Value::Array(items), last) if last == "-" => {
            items.push(value);
            Ok(())
        }
        _ => Err(SpecError::new(format!(
            "`{path}`: the parent is neither an object nor an array to append to"
        ))),
    }
}

/// JSON Patch `remove` (an object member, an array element).
fn remove(document: &mut Value, path: &str) -> Result<(), SpecError> {
    let removed = match parent(document, path)? {
        (Value::Object(map), last) => map.remove(&last).is_some(),
        (Value::Array(items), last) => match last.parse::<usize>() {
            Ok(i) if i < items.len() => {
                items.remove(i);
                true
            }
            _ => false,
        },
        _ => false,
    };
    if removed {
        Ok(())
    } else {
        Err(SpecError::new(format!("`{path}` is not in the spec")))
    }
}

/// The type a suggestion names for a JSON type seen (integers as `number`).
fn openapi_type(json_type: &str) -> &str {
    if json_type == "integer" {
        "number"
    } else {
        json_type
    }
}

impl DriftReport {
    /// The additions that would describe what was seen ([`SuggestOptions::new`]):
    /// never a removal or a tighter constraint, and nothing a client relies on
    /// loosened.
    pub fn suggestion(&self) -> Suggestion {
        self.suggest(&SuggestOptions::new())
    }

    /// The spec change that would describe what was seen, with `options`.
    pub fn suggest(&self, options: &SuggestOptions) -> Suggestion {
        // A property unknown in several places that share a schema (`AnalyzedData`
        // in both record shapes, items of an array) is added once, with all counts.
        struct Property {
            shape: Shape,
            seen: Vec<String>,
            adds_properties: bool,
        }
        let mut properties: BTreeMap<(String, String), Property> = BTreeMap::new();
        let mut values: BTreeMap<(String, String), (bool, Vec<String>)> = BTreeMap::new();
        let mut types: BTreeMap<String, (String, BTreeSet<String>, Vec<String>)> = BTreeMap::new();
        let mut formats: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
        let mut nulls: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut missing: BTreeMap<String, (usize, BTreeSet<usize>, Vec<String>)> = BTreeMap::new();
        for schema in &self.schemas {
            let of = |records: u64, path: &str| {
                format!(
                    "{records} of {} {} records at {path}",
                    schema.records, schema.name
                )
            };
            for finding in &schema.findings {
                let path = finding.path.as_str();
                match &finding.kind {
                    FindingKind::UnknownProperty {
                        records,
                        add_to,
                        shape,
                        adds_properties,
                        ..
                    } => {
                        let Some(name) = path.rsplit('/').next() else {
                            continue;
                        };
                        let property = properties
                            .entry((add_to.clone(), crate::unescape_pointer(name)))
                            .or_insert_with(|| Property {
                                shape: Shape::default(),
                                seen: Vec::new(),
                                adds_properties: *adds_properties,
                            });
                        property.shape.merge(shape);
                        property.seen.push(of(*records, path));
                    }
                    FindingKind::EnumValues {
                        open,
                        values: seen,
                        enum_at,
                        strings,
                        ..
                    } if *open || (options.violations && *strings) => {
                        for value in seen {
                            if value.value.chars().count() >= VALUE_CHARS {
                                continue;
                            }
                            values
                                .entry((format!("{enum_at}/enum/-"), value.value.clone()))
                                .or_insert_with(|| (!*open, Vec::new()))
                                .1
                                .push(of(value.records, path));
                        }
                    }
                    FindingKind::WrongType {
                        expected,
                        seen,
                        records,
                        at,
                        ..
                    } if options.violations && !at.is_empty() => {
                        let entry = types
                            .entry(at.clone())
                            .or_insert_with(|| (expected.clone(), BTreeSet::new(), Vec::new()));
                        entry.1.extend(
                            seen.iter()
                                .filter(|t| *t != "null")
                                .map(|t| openapi_type(t).to_owned()),
                        );
                        entry.2.push(of(*records, path));
                    }
                    FindingKind::BadFormat {
                        format,
                        records,
                        at,
                        ..
                    } if options.violations && !at.is_empty() => {
                        formats
                            .entry(at.clone())
                            .or_insert_with(|| (format.clone(), Vec::new()))
                            .1
                            .push(of(*records, path));
                    }
                    FindingKind::UnexpectedNull { records, at }
                        if options.violations && !at.is_empty() =>
                    {
                        nulls
                            .entry(at.clone())
                            .or_default()
                            .push(of(*records, path));
                    }
                    FindingKind::MissingRequired {
                        records,
                        at,
                        listed,
                    } if options.violations => {
                        let Some((list, index)) = at.rsplit_once('/') else {
                            continue;
                        };
                        let Ok(index) = index.parse::<usize>() else {
                            continue;
                        };
                        let entry = missing
                            .entry(list.to_owned())
                            .or_insert_with(|| (*listed, BTreeSet::new(), Vec::new()));
                        entry.1.insert(index);
                        entry.2.push(of(*records, path));
                    }
                    _ => {}
                }
            }
        }

        let mut ops = Vec::new();
        // New properties: one op each, or one `properties` map for a schema that
        // names none yet (the JSON pointer of a member needs its parent).
        let mut maps: BTreeMap<String, (Map<String, Value>, Vec<String>)> = BTreeMap::new();
        for ((add_to, name), property) in properties {
            let mut schema = property.shape.schema();
            if let Value::Object(map) = &mut schema {
                map.insert("description".into(), Value::from(SEEN));
            }
            let reason = format!(
                "not named by the spec: seen in {}",
                property.seen.join("; ")
            );
            if property.adds_properties {
                let (map, reasons) = maps.entry(add_to).or_default();
                map.insert(name, schema);
                reasons.push(reason);
            } else {
                ops.push(PatchOp::add(
                    format!("{add_to}/properties/{}", crate::escape_pointer(&name)),
                    schema,
                    reason,
                ));
            }
        }
        for (add_to, (map, reasons)) in maps {
            // Code generated from a schema without properties is usually a map
            // (typify: a newtype over `serde_json::Map`); naming properties makes it
            // a struct, a change reviewers must see beside the wire's.
            ops.push(PatchOp::add(
                format!("{add_to}/properties"),
                Value::Object(map),
                format!(
                    "{}; the schema named no property, so types generated from it change from a map to a struct",
                    reasons.join(" | ")
                ),
            ));
        }
        let (mut open, mut closed) = (Vec::new(), Vec::new());
        for ((path, value), (closes, seen)) in values {
            if closes {
                closed.push(PatchOp::loosening(
                    PatchKind::Add,
                    path,
                    Value::String(value),
                    format!(
                        "a value the closed set does not list ({}); listing it loosens the set",
                        seen.join("; ")
                    ),
                ));
            } else {
                open.push(PatchOp::add(
                    path,
                    Value::String(value),
                    format!("a new value of an open set ({})", seen.join("; ")),
                ));
            }
        }
        ops.extend(open);
        ops.extend(closed);

        for (at, (expected, kinds, seen)) in types {
            let seen = seen.join("; ");
            if kinds.is_empty() {
                continue;
            }
            if at.ends_with("/anyOf") || at.ends_with("/oneOf") {
                for kind in &kinds {
                    ops.push(PatchOp::loosening(
                        PatchKind::Add,
                        format!("{at}/-"),
                        json!({"type": kind}),
                        format!("no alternative takes a {kind} ({seen}); one more does"),
                    ));
                }
            } else if expected == "integer" && kinds.iter().all(|k| k == "number") {
                ops.push(PatchOp::loosening(
                    PatchKind::Add,
                    format!("{at}/type"),
                    Value::from("number"),
                    format!("fractions where the spec says integer ({seen})"),
                ));
            } else {
                let mut alternatives = vec![json!({"type": expected})];
                alternatives.extend(kinds.iter().map(|k| json!({"type": k})));
                let names: Vec<&str> = kinds.iter().map(String::as_str).collect();
                let reason = format!(
                    "{} where the spec says {expected} ({seen}); the type becomes either",
                    names.join(" and ")
                );
                ops.push(PatchOp::loosening(
                    PatchKind::Remove,
                    format!("{at}/type"),
                    Value::Null,
                    reason.clone(),
                ));
                ops.push(PatchOp::loosening(
                    PatchKind::Add,
                    format!("{at}/anyOf"),
                    Value::Array(alternatives),
                    reason,
                ));
            }
        }
        for (at, (format, seen)) in formats {
            ops.push(PatchOp::loosening(
                PatchKind::Remove,
                format!("{at}/format"),
                Value::Null,
                format!(
                    "strings that are not {format} ({}); without the format any string is taken",
                    seen.join("; ")
                ),
            ));
        }
        for (at, seen) in nulls {
            ops.push(PatchOp::loosening(
                PatchKind::Add,
                format!("{at}/nullable"),
                Value::Bool(true),
                format!("null where the spec has none ({})", seen.join("; ")),
            ));
        }
        for (list, (listed, indices, seen)) in missing {
            let reason = format!("required but missing ({}); made optional", seen.join("; "));
            if indices.len() >= listed {
                ops.push(PatchOp::loosening(
                    PatchKind::Remove,
                    list,
                    Value::Null,
                    reason,
                ));
            } else {
                // From the last, so the earlier indices stay where they were.
                for index in indices.iter().rev() {
                    ops.push(PatchOp::loosening(
                        PatchKind::Remove,
                        format!("{list}/{index}"),
                        Value::Null,
                        reason.clone(),
                    ));
                }
            }
        }
        Suggestion { ops }
    }
}
