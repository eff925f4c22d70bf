//! Schema comparison, recursive, in the direction the data flows.
//!
//! Schemas are compared in the JSON form openapiv3 gives them after parsing
//! (`type`, `properties`, `anyOf`, ...). What breaks depends on the direction: a
//! client *reads* responses (it breaks when the server may send something it does
//! not expect, or stops sending a field it reads) and *writes* requests (it breaks
//! when the server demands something the client does not send).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::Severity::{self, Breaking, Info, Warning};
use super::compare::{Cx, Which};
use super::pointer::join;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    Request,
    Response,
}

impl Dir {
    /// The rule-id prefix for anything below the root of a body.
    fn property_subject(self) -> &'static str {
        match self {
            Dir::Request => "request-property",
            Dir::Response => "response-property",
        }
    }

    /// Picks the severity for a response-side or a request-side change.
    fn pick(self, response: Severity, request: Severity) -> Severity {
        match self {
            Dir::Response => response,
            Dir::Request => request,
        }
    }
}

/// Where the comparison is, for rule ids and messages.
#[derive(Debug, Clone)]
pub struct Walk {
    pub dir: Dir,
    /// Rule-id prefix: `response-body`, `response-property`, `request-parameter`, ...
    pub subject: &'static str,
    /// Dotted path from the nearest named schema, e.g. `CallHistory.cost.customer_charge`.
    path: String,
    /// What `path` starts from when that is not a named schema, e.g. `query parameter of GET /x`.
    context: String,
    /// Inside an `anyOf` with a plain string alternative: enum values are advisory.
    open_enum: bool,
    /// An optional property (generated as an `Option`, or a defaulted map or array).
    optional: bool,
}

impl Walk {
    pub fn new(dir: Dir, subject: &'static str, path: &str, context: &str) -> Walk {
        Walk {
            dir,
            subject,
            path: path.to_string(),
            context: context.to_string(),
            open_enum: false,
            optional: false,
        }
    }

    /// How messages name the element.
    pub fn name(&self) -> String {
        if self.context.is_empty() {
            format!("`{}`", self.path)
        } else {
            format!("`{}` ({})", self.path, self.context)
        }
    }

    fn child(&self, segment: &str) -> Walk {
        Walk {
            subject: self.dir.property_subject(),
            path: format!("{}{segment}", self.path),
            open_enum: false,
            optional: false,
            ..self.clone()
        }
    }

    fn id(&self, rule: &str) -> String {
        format!("{}-{rule}", self.subject)
    }
}

/// A pair of schemas already compared, so shared components are walked once and
/// recursive ones terminate.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Visit {
    base: String,
    head: String,
    dir: Dir,
    subject: &'static str,
    open_enum: bool,
}

/// Validation keywords that do not change the generated types but do change what
/// a server accepts or sends.
const CONSTRAINTS: [&str; 13] = [
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
];

impl<'a> Cx<'a> {
    /// Compares two schemas (either may be a `$ref`).
    pub fn schema(
        &mut self,
        base: &Value,
        base_ptr: &str,
        head: &Value,
        head_ptr: &str,
        walk: &Walk,
    ) {
        let Some((b_name, b, b_ptr)) = self.resolve_schema(Which::Base, base, base_ptr) else {
            return;
        };
        let Some((h_name, h, h_ptr)) = self.resolve_schema(Which::Head, head, head_ptr) else {
            return;
        };
        let mut walk = walk.clone();
        if b_name != h_name {
            let show = |name: &Option<String>| match name {
                Some(name) => format!("`{name}`"),
                None => "an inline schema".to_string(),
            };
            self.report(
                Warning,
                walk.id("ref-changed"),
                head_ptr,
                format!(
                    "{} now refers to {} instead of {}: the generated type changes name",
                    walk.name(),
                    show(&h_name),
                    show(&b_name)
                ),
            );
        }
        // Below a named schema, messages name it (`CallHistory.cost`), so a change
        // to a shared component reads the same from every place that uses it.
        if let Some(name) = h_name {
            walk.path = name;
            walk.context = String::new();
        }
        let visit = Visit {
            base: b_ptr.clone(),
            head: h_ptr.clone(),
            dir: walk.dir,
            subject: walk.subject,
            open_enum: walk.open_enum,
        };
        if self.seen.insert(visit) {
            self.node(b, &b_ptr, h, &h_ptr, &walk);
        }
    }

    /// Follows `$ref` chains (trillet-spec's one resolver) to the schema, its
    /// pointer and the last component name followed.
    fn resolve_schema<'v>(
        &mut self,
        which: Which,
        value: &'v Value,
        pointer: &str,
    ) -> Option<(Option<String>, &'v Value, String)>
    where
        'a: 'v,
    {
        let side = self.side(which);
        let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
            return Some((None, value, pointer.to_string()));
        };
        match trillet_spec::resolve_reference(side.raw, reference) {
            Ok((last, target)) => Some((
                trillet_spec::resolve::component_name(last),
                target,
                last.trim_start_matches('#').to_string(),
            )),
            Err(e) => {
                self.error(format!("{} spec: {e} (at {pointer})", side.name));
                None
            }
        }
    }

    fn node(&mut self, b: &Value, bp: &str, h: &Value, hp: &str, w: &Walk) {
        self.docs(b, h, hp, w);
        self.nullable(b, h, hp, w);
        let (b_kind, h_kind) = (kind(b), kind(h));
        if b_kind != h_kind || enum_values(b).is_some() != enum_values(h).is_some() {
            self.report(
                Breaking,
                w.id("type-changed"),
                hp,
                format!(
                    "{}: type changed from {} to {}",
                    w.name(),
                    describe(b),
                    describe(h)
                ),
            );
            return;
        }
        let (b_format, h_format) = (str_of(b, "format"), str_of(h, "format"));
        if b_format != h_format {
            self.report(
                Breaking,
                w.id("format-changed"),
                join(hp, "format"),
                format!(
                    "{}: format changed from {} to {}",
                    w.name(),
                    b_format.map_or("none".into(), |f| format!("`{f}`")),
                    h_format.map_or("none".into(), |f| format!("`{f}`"))
                ),
            );
        }
        self.enumeration(b, h, hp, w);
        self.constraints(b, h, hp, w);
        match b_kind {
            "object" => self.object(b, bp, h, hp, w),
            "array" => {
                if let (Some(bi), Some(hi)) = (b.get("items"), h.get("items")) {
                    let (bip, hip) = (join(bp, "items"), join(hp, "items"));
                    self.schema(bi, &bip, hi, &hip, &w.child("[]"));
                }
            }
            "anyOf" | "oneOf" | "allOf" => self.members(b_kind, b, bp, h, hp, w),
            _ => {}
        }
    }

    /// Descriptions, examples and defaults.
    fn docs(&mut self, b: &Value, h: &Value, hp: &str, w: &Walk) {
        for (keyword, rule) in [
            ("description", "description-changed"),
            ("example", "example-changed"),
        ] {
            if b.get(keyword) != h.get(keyword) {
                self.report(
                    Info,
                    w.id(rule),
                    join(hp, keyword),
                    format!("{}: {keyword} changed", w.name()),
                );
            }
        }
        if b.get("default") != h.get("default") {
            self.report(
                w.dir.pick(Info, Warning),
                w.id("default-changed"),
                join(hp, "default"),
                format!(
                    "{}: default changed from {} to {}",
                    w.name(),
                    show(b.get("default")),
                    show(h.get("default"))
                ),
            );
        }
    }

    /// A response property that becomes nullable breaks a client only when its
    /// generated type cannot hold `null`: a required property (`T`, not
    /// `Option<T>`), an array or a free-form map (generated with a serde default,
    /// which reads a missing key but fails on `null`). An optional property of any
    /// other type is an `Option<T>`, which already reads `null` as `None`.
    fn nullable(&mut self, b: &Value, h: &Value, hp: &str, w: &Walk) {
        let (bn, hn) = (is_true(b, "nullable"), is_true(h, "nullable"));
        if !bn && hn {
            let reads_null = w.optional && kind(b) != "array" && !free_form_map(b);
            let (severity, why) = match (w.dir, reads_null) {
                (Dir::Request, _) => (Info, String::new()),
                (Dir::Response, true) => (
                    Info,
                    ": the generated `Option` already reads `null` as `None`".to_string(),
                ),
                (Dir::Response, false) => (
                    Breaking,
                    format!(
                        ": the generated {} fails to decode `null`",
                        if !w.optional {
                            "field of a required property"
                        } else if kind(b) == "array" {
                            "`Vec` (defaulted when missing)"
                        } else {
                            "map (defaulted when missing)"
                        }
                    ),
                ),
            };
            self.report(
                severity,
                w.id("became-nullable"),
                join(hp, "nullable"),
                format!("{} became nullable{why}", w.name()),
            );
        } else if bn && !hn {
            self.report(
                w.dir.pick(Info, Breaking),
                w.id("became-not-nullable"),
                join(hp, "nullable"),
                format!("{} is no longer nullable", w.name()),
            );
        }
    }

    fn enumeration(&mut self, b: &Value, h: &Value, hp: &str, w: &Walk) {
        let (Some(b_values), Some(h_values)) = (enum_values(b), enum_values(h)) else {
            return;
        };
        let pointer = join(hp, "enum");
        let open = if w.open_enum {
            " (an open set: the anyOf has a plain string alternative, so clients keep unknown values)"
        } else {
            ""
        };
        for value in h_values.difference(&b_values) {
            let (severity, why) = match (w.dir, w.open_enum) {
                (Dir::Response, false) => (Warning, ": a generated closed enum fails to decode it"),
                _ => (Info, open),
            };
            self.report(
                severity,
                w.id("enum-value-added"),
                pointer.clone(),
                format!("{}: enum value `{value}` added{why}", w.name()),
            );
        }
        for value in b_values.difference(&h_values) {
            let (severity, why) = match (w.dir, w.open_enum) {
                (_, true) => (Info, open),
                (Dir::Response, false) => (Warning, ": the generated enum loses a variant"),
                (Dir::Request, false) => (
                    Breaking,
                    ": clients sending it are rejected and the generated enum loses a variant",
                ),
            };
            self.report(
                severity,
                w.id("enum-value-removed"),
                pointer.clone(),
                format!("{}: enum value `{value}` removed{why}", w.name()),
            );
        }
    }

    /// A tighter request constraint rejects requests that were valid (`page`'s
    /// minimum raised from 1 to 2 makes the first request of every listing
    /// invalid), so it is breaking; response-side constraints are not checked by
    /// the generated client.
    fn constraints(&mut self, b: &Value, h: &Value, hp: &str, w: &Walk) {
        for keyword in CONSTRAINTS {
            let (old, new) = (b.get(keyword), h.get(keyword));
            if old == new {
                continue;
            }
            let (severity, why) = match w.dir {
                Dir::Request if tighter(keyword, old, new) => {
                    (Breaking, ": requests that were valid are now rejected")
                }
                _ => (Info, ""),
            };
            self.report(
                severity,
                w.id("constraint-changed"),
                join(hp, keyword),
                format!(
                    "{}: {keyword} changed from {} to {}{why}",
                    w.name(),
                    show(old),
                    show(new)
                ),
            );
        }
    }

    fn object(&mut self, b: &Value, bp: &str, h: &Value, hp: &str, w: &Walk) {
        let empty = Map::new();
        let b_props = b
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let h_props = h
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let (b_req, h_req) = (required(b), required(h));
        let props_ptr = |p: &str| join(p, "properties");
        for (name, b_prop) in b_props {
            let child = w.child(&format!(".{name}"));
            let Some(h_prop) = h_props.get(name) else {
                let severity = Breaking;
                self.report(
                    severity,
                    child.id("removed"),
                    join(&props_ptr(bp), name),
                    format!(
                        "{} was removed: the generated field disappears",
                        child.name()
                    ),
                );
                continue;
            };
            let pointer = join(&props_ptr(hp), name);
            match (b_req.contains(name.as_str()), h_req.contains(name.as_str())) {
                (true, false) => self.report(
                    w.dir.pick(Breaking, Info),
                    child.id("became-optional"),
                    pointer.clone(),
                    match w.dir {
                        Dir::Response => format!(
                            "{} became optional: the generated field becomes an `Option`",
                            child.name()
                        ),
                        Dir::Request => format!("{} became optional", child.name()),
                    },
                ),
                (false, true) => self.report(
                    w.dir.pick(Info, Breaking),
                    child.id("became-required"),
                    pointer.clone(),
                    match w.dir {
                        Dir::Response => format!(
                            "{} became required: deployed clients keep working; the \
                             regenerated field is no longer optional (see the Rust API)",
                            child.name()
                        ),
                        Dir::Request => format!(
                            "{} became required: requests without it are rejected",
                            child.name()
                        ),
                    },
                ),
                _ => {}
            }
            let child = Walk {
                optional: !b_req.contains(name.as_str()),
                ..child
            };
            self.schema(
                b_prop,
                &join(&props_ptr(bp), name),
                h_prop,
                &pointer,
                &child,
            );
        }
        for name in h_props.keys().filter(|n| !b_props.contains_key(*n)) {
            let child = w.child(&format!(".{name}"));
            let pointer = join(&props_ptr(hp), name);
            let is_required = h_req.contains(name.as_str());
            match w.dir {
                Dir::Response => self.report(
                    Info,
                    child.id("added"),
                    pointer,
                    format!("{} was added", child.name()),
                ),
                Dir::Request if is_required => self.report(
                    Breaking,
                    "new-required-request-property",
                    pointer,
                    format!(
                        "{} is a new required property: requests without it are rejected",
                        child.name()
                    ),
                ),
                Dir::Request => self.report(
                    Info,
                    "new-optional-request-property",
                    pointer,
                    format!("{} is a new optional property", child.name()),
                ),
            }
        }
        self.additional_properties(b, bp, h, hp, w);
    }

    /// `additionalProperties`: `false` closes the object; absent or `true` leaves it
    /// open (the generated struct drops unknown keys); a schema (`{}`) keeps unknown
    /// keys in the generated `extra` map.
    fn additional_properties(&mut self, b: &Value, bp: &str, h: &Value, hp: &str, w: &Walk) {
        let (b_open, h_open) = (openness(b), openness(h));
        let pointer = join(hp, "additionalProperties");
        if h_open < b_open {
            let lost_extra = b_open == Openness::Kept;
            let severity = match (w.dir, lost_extra) {
                (_, true) => Breaking,
                (Dir::Request, false) => Warning,
                (Dir::Response, false) => Info,
            };
            let why = if lost_extra {
                ": unknown keys are no longer kept (the generated `extra` map disappears)"
            } else {
                ""
            };
            self.report(
                severity,
                w.id("additional-properties-closed"),
                pointer,
                format!(
                    "{}: additionalProperties changed from {} to {}{why}",
                    w.name(),
                    b_open.describe(),
                    h_open.describe()
                ),
            );
        } else if h_open > b_open {
            self.report(
                Info,
                w.id("additional-properties-opened"),
                pointer,
                format!(
                    "{}: additionalProperties changed from {} to {}",
                    w.name(),
                    b_open.describe(),
                    h_open.describe()
                ),
            );
        } else if let (Some(bs @ Value::Object(_)), Some(hs @ Value::Object(_))) =
            (b.get("additionalProperties"), h.get("additionalProperties"))
        {
            let bsp = join(bp, "additionalProperties");
            self.schema(bs, &bsp, hs, &pointer, &w.child(".*"));
        }
    }

    /// `anyOf`/`oneOf`/`allOf` members, matched by position.
    fn members(&mut self, keyword: &str, b: &Value, bp: &str, h: &Value, hp: &str, w: &Walk) {
        let empty = Vec::new();
        let b_members = b.get(keyword).and_then(Value::as_array).unwrap_or(&empty);
        let h_members = h.get(keyword).and_then(Value::as_array).unwrap_or(&empty);
        let open = keyword == "anyOf"
            && (b_members.iter().any(plain_string) || h_members.iter().any(plain_string));
        let slug = match keyword {
            "anyOf" => "any-of",
            "oneOf" => "one-of",
            _ => "all-of",
        };
        let (b_ptr, h_ptr) = (join(bp, keyword), join(hp, keyword));
        for (i, (bm, hm)) in b_members.iter().zip(h_members).enumerate() {
            let member = Walk {
                open_enum: open,
                ..w.clone()
            };
            let i = i.to_string();
            self.schema(bm, &join(&b_ptr, &i), hm, &join(&h_ptr, &i), &member);
        }
        // allOf: every member applies; anyOf/oneOf: one member applies.
        let all = keyword == "allOf";
        for i in h_members.len()..b_members.len() {
            let severity = match (w.dir, all) {
                (Dir::Response, true) | (Dir::Request, false) => Breaking,
                _ => Info,
            };
            self.report(
                severity,
                w.id(&format!("{slug}-removed")),
                join(&b_ptr, &i.to_string()),
                format!("{}: {keyword} member {i} removed", w.name()),
            );
        }
        for i in b_members.len()..h_members.len() {
            let severity = match (w.dir, all) {
                (Dir::Response, false) => Warning,
                (Dir::Request, true) => Breaking,
                _ => Info,
            };
            self.report(
                severity,
                w.id(&format!("{slug}-added")),
                join(&h_ptr, &i.to_string()),
                format!("{}: {keyword} member {i} added", w.name()),
            );
        }
    }
}

/// The schema's shape: its `type`, its composition keyword, or `any`.
fn kind(v: &Value) -> &str {
    if let Some(t) = str_of(v, "type") {
        return t;
    }
    for keyword in ["anyOf", "oneOf", "allOf", "not"] {
        if v.get(keyword).is_some() {
            return keyword;
        }
    }
    if v.get("properties").is_some() || v.get("additionalProperties").is_some() {
        return "object";
    }
    "any"
}

fn describe(v: &Value) -> String {
    let kind = kind(v);
    if enum_values(v).is_some() {
        format!("{kind} enum")
    } else {
        kind.to_string()
    }
}

fn str_of<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

fn is_true(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "none".to_string(),
        Some(Value::String(s)) => format!("`{s}`"),
        Some(other) => format!("`{other}`"),
    }
}

/// The enum values, as they would be written (strings without quotes).
fn enum_values(v: &Value) -> Option<BTreeSet<String>> {
    let values = v.get("enum")?.as_array()?;
    if values.is_empty() {
        return None;
    }
    Some(
        values
            .iter()
            .map(|value| match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
    )
}

fn required(v: &Value) -> BTreeSet<&str> {
    v.get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// An object without properties: generated as a map, not a struct.
fn free_form_map(v: &Value) -> bool {
    kind(v) == "object"
        && v.get("properties")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty)
}

/// `{type: string}` with no enum and no format: the catch-all of an open set.
fn plain_string(v: &Value) -> bool {
    str_of(v, "type") == Some("string") && v.get("enum").is_none() && v.get("format").is_none()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Openness {
    Closed,
    Open,
    Kept,
}

impl Openness {
    fn describe(self) -> &'static str {
        match self {
            Openness::Closed => "`false`",
            Openness::Open => "open (absent or `true`)",
            Openness::Kept => "a schema (unknown keys kept)",
        }
    }
}

fn openness(v: &Value) -> Openness {
    match v.get("additionalProperties") {
        Some(Value::Bool(false)) => Openness::Closed,
        Some(Value::Object(_)) => Openness::Kept,
        _ => Openness::Open,
    }
}

/// Whether a constraint now rejects something it accepted before.
fn tighter(keyword: &str, old: Option<&Value>, new: Option<&Value>) -> bool {
    let number = |v: Option<&Value>| v.and_then(Value::as_f64);
    match (keyword.starts_with("min"), keyword.starts_with("max"), new) {
        (_, _, None) => false,
        (true, _, Some(_)) => number(new) > number(old),
        (_, true, Some(_)) => match (number(old), number(new)) {
            (Some(old), Some(new)) => new < old,
            _ => true,
        },
        _ => true,
    }
}
