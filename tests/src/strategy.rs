//! A translator from JSON Schema to [`proptest`] strategies that generate
//! **spec-valid JSON values**, so that the property tests are driven by
//! `spec/trillet.yaml` itself: change the spec and the generated inputs change with it.
//!
//! The translator is generic over the schema JSON. It reads an OpenAPI document
//! (or any JSON document) and resolves local `$ref`s (`#/components/schemas/X`)
//! against it. It supports the subset of OpenAPI 3.0 / JSON Schema that the spec
//! uses, and a little more:
//!
//! | keyword | generated |
//! |---|---|
//! | `$ref` (local, `#/…`) | the target schema (siblings ignored, as OpenAPI 3.0 says) |
//! | `type: object`, `properties`, `required` | required properties always; optional ones absent or present |
//! | `additionalProperties` absent, `true` or `{}` | 0..N extra keys (unicode, and near-misses of the declared names) with arbitrary JSON values |
//! | `additionalProperties: <schema>` / `false` | extra values from that schema / no extra keys |
//! | `type: array`, `items`, `minItems`, `maxItems` | arrays of items from `items` |
//! | `type: string`, `minLength`, `maxLength`, `pattern` | unicode strings (any scalar value, controls included) |
//! | `format: date-time` / `date` | RFC 3339 text: `t`/`z` in either case, offsets, 0–12 fraction digits, leap seconds |
//! | `type: number` | integers and fractions, small and large (up to `u64::MAX` and `±1.7e308`), subnormals, epoch-like times, decimal amounts |
//! | `type: integer` (`format: int32`/`int64`) | integers across `i64` and `u64` (or the format's range) |
//! | `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum` (3.0 booleans) | numbers within the bounds |
//! | `type: boolean` / `null`, `type: [..]` lists | those values |
//! | `enum` | one of the listed values |
//! | `anyOf` | any branch; an open set `anyOf: [{type: string, enum: [...]}, {type: string}]` yields listed values, arbitrary strings and near-misses of the listed values (`Outbound`, `outbound `) |
//! | `allOf` with one schema | that schema |
//! | `nullable: true` | `null` or a value |
//! | `{}` / `true` | arbitrary JSON |
//!
//! Annotations (`description`, `title`, `example`, `default`, `deprecated`, …) are
//! ignored. Any other keyword (`oneOf`, `not`, `multipleOf`, `patternProperties`,
//! `uniqueItems`, `minProperties`, …) or format is **rejected** with an
//! [`Unsupported`] naming its JSON pointer, so a spec change the translator does not
//! understand fails loudly instead of silently generating values the spec forbids.
//!
//! [`Limits`] bounds recursion and sizes: beyond `max_depth` nested schemas, optional
//! properties, extra keys and array items are left out (required parts are still
//! generated), so recursive schemas terminate.
//!
//! A second mode, [`SchemaStrategies::perturbed`], generates *almost* spec-valid
//! values: at every node, with a small probability, the value is replaced by
//! arbitrary JSON (a wrong type, a missing required key). Those exercise the
//! decoder's error paths deep inside otherwise well-formed records.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::RangeInclusive;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Number, Value};

/// Size and recursion bounds for generated values.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Schema nesting (properties, items, `$ref`s) beyond which optional parts are
    /// left out.
    pub max_depth: u32,
    /// Most extra keys generated for one open object.
    pub max_extra_keys: usize,
    /// Most items in an array beyond its `minItems`.
    pub max_items: usize,
    /// Most characters in a generated string (beyond its `minLength`).
    pub max_string_chars: usize,
    /// Nesting depth of arbitrary JSON (for `{}` schemas and extra keys' values).
    pub free_form_depth: u32,
    /// Years of generated dates. The default leaves out years 0 and 9999: a date-time
    /// there can name an instant outside 0000–9999 in UTC, which RFC 3339 cannot
    /// write (see the `known_limitations` test).
    pub years: RangeInclusive<u32>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 6,
            max_extra_keys: 3,
            max_items: 3,
            max_string_chars: 20,
            free_form_depth: 3,
            years: 1..=9998,
        }
    }
}

/// A schema the translator cannot generate values for, and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    /// JSON pointer of the schema in the document.
    pub pointer: String,
    /// What is not supported.
    pub reason: String,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pointer, self.reason)
    }
}

impl std::error::Error for Unsupported {}

/// Keywords that carry no constraint on values.
const ANNOTATIONS: &[&str] = &[
    "description",
    "title",
    "example",
    "examples",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "externalDocs",
    "xml",
    "$comment",
];

/// Keywords the translator understands.
const SUPPORTED: &[&str] = &[
    "$ref",
    "type",
    "nullable",
    "enum",
    "anyOf",
    "allOf",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "format",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
];

/// How often (one in N) a node of a perturbed value is replaced by arbitrary JSON.
const PERTURB_ONE_IN: u32 = 8;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Valid,
    Perturbed,
}

/// Builds strategies for the schemas of one document.
#[derive(Clone, Debug)]
pub struct SchemaStrategies {
    document: Value,
    limits: Limits,
}

type Result<T> = std::result::Result<T, Unsupported>;

impl SchemaStrategies {
    /// Strategies for the schemas of `document`, whose local `$ref`s resolve in it.
    pub fn new(document: Value) -> Self {
        Self {
            document,
            limits: Limits::default(),
        }
    }

    /// Strategies for the schemas of a parsed spec.
    pub fn for_spec(spec: &trillet_spec::Spec) -> Self {
        Self::new(spec.document().clone())
    }

    /// The same, with other limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The limits in use.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Spec-valid values of `components/schemas/<name>`.
    pub fn component(&self, name: &str) -> Result<BoxedStrategy<Value>> {
        let (schema, pointer) = self.component_schema(name)?;
        self.translate(schema, &pointer, 0, Mode::Valid)
    }

    /// Almost spec-valid values of `components/schemas/<name>`: any node may be
    /// replaced by arbitrary JSON (see the module documentation).
    pub fn perturbed(&self, name: &str) -> Result<BoxedStrategy<Value>> {
        let (schema, pointer) = self.component_schema(name)?;
        self.translate(schema, &pointer, 0, Mode::Perturbed)
    }

    /// Spec-valid values of a schema given inline (its `$ref`s resolve in the document).
    pub fn schema(&self, schema: &Value) -> Result<BoxedStrategy<Value>> {
        self.translate(schema, "", 0, Mode::Valid)
    }

    /// Arbitrary JSON values within the limits: what `{}` generates.
    pub fn any_json(&self) -> BoxedStrategy<Value> {
        any_json(&self.limits)
    }

    fn component_schema(&self, name: &str) -> Result<(&Value, String)> {
        let pointer = format!("/components/schemas/{}", trillet_spec::escape_pointer(name));
        match self.document.pointer(&pointer) {
            Some(schema) => Ok((schema, pointer)),
            None => Err(Unsupported {
                pointer,
                reason: format!("the document has no schema named `{name}`"),
            }),
        }
    }

    /// A strategy for `schema`; in perturbed mode this node may become arbitrary JSON.
    fn translate(
        &self,
        schema: &Value,
        at: &str,
        depth: u32,
        mode: Mode,
    ) -> Result<BoxedStrategy<Value>> {
        let valid = self.translate_node(schema, at, depth, mode)?;
        Ok(match mode {
            Mode::Valid => valid,
            Mode::Perturbed => prop_oneof![
                PERTURB_ONE_IN - 1 => valid,
                1 => any_json(&self.limits),
            ]
            .boxed(),
        })
    }

    /// A strategy for `schema` itself (its children are translated in `mode`).
    fn translate_node(
        &self,
        schema: &Value,
        at: &str,
        depth: u32,
        mode: Mode,
    ) -> Result<BoxedStrategy<Value>> {
        // Guard against a cycle through required properties, which no depth limit
        // ends: the spec's one depth rule.
        if let Err(e) = trillet_spec::Depth::ROOT.deeper_by(depth, at) {
            return Err(unsupported(
                at,
                &format!("recursion through required properties does not end: {e}"),
            ));
        }
        match schema {
            Value::Bool(true) => Ok(any_json(&self.limits)),
            Value::Bool(false) => Err(unsupported(at, "`false` admits no value")),
            Value::Object(map) => self.translate_map(map, at, depth, mode),
            _ => Err(unsupported(at, "a schema must be an object or a boolean")),
        }
    }

    fn translate_map(
        &self,
        map: &Map<String, Value>,
        at: &str,
        depth: u32,
        mode: Mode,
    ) -> Result<BoxedStrategy<Value>> {
        if let Some(reference) = map.get("$ref") {
            let (target, pointer) = self.resolve(reference, at)?;
            return self.translate_node(target, &pointer, depth + 1, mode);
        }
        for key in map.keys() {
            if !SUPPORTED.contains(&key.as_str()) && !ANNOTATIONS.contains(&key.as_str()) {
                return Err(unsupported(
                    &format!("{at}/{}", trillet_spec::escape_pointer(key)),
                    &format!("the keyword `{key}` is not supported by the translator"),
                ));
            }
        }
        let base = if let Some(values) = map.get("enum") {
            let values = values
                .as_array()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| unsupported(at, "`enum` must be a non-empty array"))?;
            select(values.clone()).boxed()
        } else if let Some(branches) = map.get("anyOf") {
            if ["type", "properties", "items", "allOf"]
                .iter()
                .any(|k| map.contains_key(*k))
            {
                return Err(unsupported(
                    at,
                    "`anyOf` beside other structural keywords is not supported",
                ));
            }
            self.any_of(branches, &format!("{at}/anyOf"), depth, mode)?
        } else if let Some(all) = map.get("allOf") {
            match all.as_array().map(Vec::as_slice) {
                Some([only]) if !map.contains_key("type") => {
                    self.translate_node(only, &format!("{at}/allOf/0"), depth, mode)?
                }
                _ => return Err(unsupported(at, "`allOf` with more than one schema")),
            }
        } else {
            self.by_type(map, at, depth, mode)?
        };
        Ok(if map.get("nullable") == Some(&Value::Bool(true)) {
            prop_oneof![1 => Just(Value::Null), 4 => base].boxed()
        } else {
            base
        })
    }

    /// Through the spec's one resolver: a chain is followed to its end, a loop or a
    /// dangling reference is an error.
    fn resolve<'a>(&'a self, reference: &'a Value, at: &str) -> Result<(&'a Value, String)> {
        let text = reference
            .as_str()
            .ok_or_else(|| unsupported(at, "`$ref` must be a string"))?;
        let (last, target) = trillet_spec::resolve_reference(&self.document, text)
            .map_err(|e| unsupported(at, &e.to_string()))?;
        Ok((target, last.trim_start_matches('#').to_owned()))
    }

    /// `anyOf`: a value of any branch. A plain-string branch beside enumerated string
    /// branches (an open set) also yields near-misses of the listed values.
    fn any_of(
        &self,
        branches: &Value,
        at: &str,
        depth: u32,
        mode: Mode,
    ) -> Result<BoxedStrategy<Value>> {
        let branches = branches
            .as_array()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| unsupported(at, "`anyOf` must be a non-empty array"))?;
        let listed: Vec<String> = branches
            .iter()
            .filter_map(|b| self.shallow(b).get("enum")?.as_array())
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        let mut strategies = Vec::with_capacity(branches.len());
        for (i, branch) in branches.iter().enumerate() {
            let strategy = self.translate_node(branch, &format!("{at}/{i}"), depth, mode)?;
            let strategy = if !listed.is_empty() && is_plain_string(self.shallow(branch)) {
                prop_oneof![
                    2 => strategy,
                    1 => near_miss(listed.clone()).prop_map(Value::String),
                ]
                .boxed()
            } else {
                strategy
            };
            strategies.push(strategy);
        }
        Ok(proptest::strategy::Union::new(strategies).boxed())
    }

    /// The schema object itself, or the target of its `$ref` (one step).
    fn shallow<'a>(&'a self, schema: &'a Value) -> &'a Map<String, Value> {
        static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
        // A peek: a broken reference is reported where the schema is translated.
        let target = trillet_spec::resolve(&self.document, schema).unwrap_or(schema);
        target.as_object().unwrap_or(&EMPTY)
    }

    fn by_type(
        &self,
        map: &Map<String, Value>,
        at: &str,
        depth: u32,
        mode: Mode,
    ) -> Result<BoxedStrategy<Value>> {
        let types: Vec<&str> = match map.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(list)) => list
                .iter()
                .map(|t| {
                    t.as_str()
                        .ok_or_else(|| unsupported(at, "`type` lists strings"))
                })
                .collect::<Result<_>>()?,
            Some(_) => return Err(unsupported(at, "`type` must be a string or a list")),
            None => match implied_type(map) {
                Some(t) => vec![t],
                None => return Ok(any_json(&self.limits)),
            },
        };
        let mut strategies = Vec::with_capacity(types.len());
        for t in types {
            strategies.push(match t {
                "object" => self.object(map, at, depth, mode)?,
                "array" => self.array(map, at, depth, mode)?,
                "string" => string(map, at, &self.limits)?,
                "number" => number(map, at, false)?,
                "integer" => number(map, at, true)?,
                "boolean" => any::<bool>().prop_map(Value::Bool).boxed(),
                "null" => Just(Value::Null).boxed(),
                other => return Err(unsupported(at, &format!("unknown type `{other}`"))),
            });
        }
        Ok(proptest::strategy::Union::new(strategies).boxed())
    }

    fn object(
        &self,
        map: &Map<String, Value>,
        at: &str,
        depth: u32,
        mode: Mode,
    ) -> Result<BoxedStrategy<Value>> {
        let empty = Map::new();
        let properties = match map.get("properties") {
            None => &empty,
            Some(Value::Object(p)) => p,
            Some(_) => return Err(unsupported(at, "`properties` must be an object")),
        };
        let required: BTreeSet<&str> = match map.get("required") {
            None => BTreeSet::new(),
            Some(Value::Array(names)) => names
                .iter()
                .map(|n| {
                    n.as_str()
                        .ok_or_else(|| unsupported(at, "`required` lists strings"))
                })
                .collect::<Result<_>>()?,
            Some(_) => return Err(unsupported(at, "`required` must be an array")),
        };
        let expand = depth < self.limits.max_depth;

        let mut fields: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
        for (name, schema) in properties {
            let is_required = required.contains(name.as_str());
            if !is_required && !expand {
                continue; // beyond the depth limit, optional properties stay absent
            }
            let pointer = format!("{at}/properties/{}", trillet_spec::escape_pointer(name));
            let value = self.translate(schema, &pointer, depth + 1, mode)?;
            let name = name.clone();
            let entry = value.prop_map(move |v| (name.clone(), v));
            fields.push(if is_required && mode == Mode::Valid {
                entry.prop_map(Some).boxed()
            } else if is_required {
                // Perturbed: a required key goes missing now and then.
                proptest::option::weighted(0.9, entry).boxed()
            } else {
                proptest::option::of(entry).boxed()
            });
        }
        // Required names without a property schema: any value.
        for name in required.iter().filter(|n| !properties.contains_key(**n)) {
            let name = (*name).to_owned();
            fields.push(
                any_json(&self.limits)
                    .prop_map(move |v| Some((name.clone(), v)))
                    .boxed(),
            );
        }

        let extra_values = match map.get("additionalProperties") {
            None | Some(Value::Bool(true)) => Some(any_json(&self.limits)),
            Some(Value::Bool(false)) => None,
            Some(schema @ Value::Object(_)) => Some(self.translate(
                schema,
                &format!("{at}/additionalProperties"),
                depth + 1,
                mode,
            )?),
            Some(_) => {
                return Err(unsupported(
                    at,
                    "`additionalProperties` must be a boolean or a schema",
                ));
            }
        };
        let declared: BTreeSet<String> = properties.keys().cloned().collect();
        let extra_count = if expand {
            self.limits.max_extra_keys
        } else {
            0
        };
        let extra: BoxedStrategy<Vec<(String, Value)>> = match extra_values {
            Some(values) if extra_count > 0 => vec(
                (
                    key(declared.iter().cloned().collect(), &self.limits),
                    values,
                ),
                0..=extra_count,
            )
            .boxed(),
            _ => Just(Vec::new()).boxed(),
        };

        Ok((fields, extra)
            .prop_map(move |(fields, extra)| {
                let mut object: Map<String, Value> = fields.into_iter().flatten().collect();
                for (k, v) in extra {
                    // An extra key never takes a declared name (its value would have to
                    // follow that property's schema).
                    if !declared.contains(&k) {
                        object.entry(k).or_insert(v);
                    }
                }
                Value::Object(object)
            })
            .boxed())
    }

    fn array(
        &self,
        map: &Map<String, Value>,
        at: &str,
        depth: u32,
        mode: Mode,
    ) -> Result<BoxedStrategy<Value>> {
        let min = usize_keyword(map, "minItems", at)?.unwrap_or(0);
        let max = usize_keyword(map, "maxItems", at)?;
        let expand = depth < self.limits.max_depth;
        let max = match max {
            Some(max) if max < min => return Err(unsupported(at, "`maxItems` < `minItems`")),
            _ if !expand => min,
            Some(max) => max.min(min + self.limits.max_items),
            None => min + self.limits.max_items,
        };
        let items = match map.get("items") {
            Some(schema) => self.translate(schema, &format!("{at}/items"), depth + 1, mode)?,
            None => any_json(&self.limits),
        };
        Ok(vec(items, min..=max).prop_map(Value::Array).boxed())
    }
}

fn unsupported(at: &str, reason: &str) -> Unsupported {
    Unsupported {
        pointer: if at.is_empty() { "/".into() } else { at.into() },
        reason: reason.into(),
    }
}

/// The type a schema without `type` is about, from its keywords (`None`: any value).
fn implied_type(map: &Map<String, Value>) -> Option<&'static str> {
    let has = |keys: &[&str]| keys.iter().any(|k| map.contains_key(*k));
    if has(&["properties", "required", "additionalProperties"]) {
        Some("object")
    } else if has(&["items", "minItems", "maxItems"]) {
        Some("array")
    } else if has(&["format", "minLength", "maxLength", "pattern"]) {
        Some("string")
    } else if has(&["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]) {
        Some("number")
    } else {
        None
    }
}

/// A schema that admits every string and nothing else.
fn is_plain_string(map: &Map<String, Value>) -> bool {
    map.get("type") == Some(&Value::String("string".into()))
        && map
            .keys()
            .all(|k| k == "type" || ANNOTATIONS.contains(&k.as_str()))
}

fn usize_keyword(map: &Map<String, Value>, key: &str, at: &str) -> Result<Option<usize>> {
    match map.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| unsupported(at, &format!("`{key}` must be a non-negative integer"))),
    }
}

// ---------------------------------------------------------------------------
// Strings

/// Unicode text of `min..=max` characters: any scalar value (controls, quotes,
/// backslashes, astral planes, `U+2028`), ASCII words, or awkward fixed strings.
pub fn text(min: usize, max: usize) -> BoxedStrategy<String> {
    const AWKWARD: &[&str] = &[
        "",
        " ",
        "\0",
        "\"",
        "\\",
        "\\u0000",
        "é",
        "e\u{301}",
        "😀",
        "\u{2028}",
        "\u{feff}",
        "null",
        "true",
        "0",
        "1e400",
        "{}",
        "[]",
        "</script>",
        "\u{10ffff}",
    ];
    let awkward: Vec<String> = AWKWARD
        .iter()
        .filter(|s| (min..=max).contains(&s.chars().count()))
        .map(|s| (*s).to_owned())
        .collect();
    let unicode = vec(any::<char>(), min..=max).prop_map(String::from_iter);
    let ascii = vec(
        select(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+. "
                .chars()
                .collect::<Vec<_>>(),
        ),
        min..=max,
    )
    .prop_map(String::from_iter);
    if awkward.is_empty() {
        prop_oneof![3 => unicode, 2 => ascii].boxed()
    } else {
        prop_oneof![3 => unicode, 2 => ascii, 1 => select(awkward)].boxed()
    }
}

/// Strings close to but (usually) not equal to one of `words`: other case, padded,
/// cut short, with a suffix.
fn near_miss(words: Vec<String>) -> BoxedStrategy<String> {
    (select(words), 0..6u8, any::<char>())
        .prop_map(|(word, how, c)| match how {
            0 => word.to_uppercase(),
            1 => {
                let mut chars = word.chars();
                chars
                    .next()
                    .map(|f| f.to_uppercase().chain(chars).collect())
                    .unwrap_or_default()
            }
            2 => format!(" {word}"),
            3 => format!("{word} "),
            4 => {
                let mut w = word;
                w.pop();
                w
            }
            _ => format!("{word}{c}"),
        })
        .boxed()
}

/// Extra keys for an open object: unicode text, or near-misses of the declared names.
fn key(declared: Vec<String>, limits: &Limits) -> BoxedStrategy<String> {
    let any = text(0, limits.max_string_chars / 2);
    if declared.is_empty() {
        any
    } else {
        prop_oneof![3 => any, 1 => near_miss(declared)].boxed()
    }
}

fn string(map: &Map<String, Value>, at: &str, limits: &Limits) -> Result<BoxedStrategy<Value>> {
    let min = usize_keyword(map, "minLength", at)?.unwrap_or(0);
    let max = usize_keyword(map, "maxLength", at)?;
    let length_ok = move |s: &String| {
        let n = s.chars().count();
        n >= min && max.is_none_or(|max| n <= max)
    };
    let format = match map.get("format") {
        None => None,
        Some(Value::String(f)) => Some(f.as_str()),
        Some(_) => return Err(unsupported(at, "`format` must be a string")),
    };
    let pattern = map.get("pattern");
    let base: BoxedStrategy<String> = match (format, pattern) {
        (Some(_), Some(_)) => return Err(unsupported(at, "`format` with `pattern`")),
        (Some("date-time"), None) => date_time(limits.years.clone()),
        (Some("date"), None) => date(limits.years.clone()),
        (Some(other), None) => {
            return Err(unsupported(
                at,
                &format!("string format `{other}` is not supported"),
            ));
        }
        (None, Some(pattern)) => {
            let pattern = pattern
                .as_str()
                .ok_or_else(|| unsupported(at, "`pattern` must be a string"))?;
            // JSON Schema patterns are unanchored; a full match is also a match.
            let body = pattern.strip_prefix('^').unwrap_or(pattern);
            let body = body.strip_suffix('$').unwrap_or(body);
            proptest::string::string_regex(body)
                .map_err(|e| unsupported(at, &format!("pattern `{pattern}`: {e}")))?
                .boxed()
        }
        (None, None) => {
            let max = max.unwrap_or(min + limits.max_string_chars).max(min);
            return Ok(text(min, max).prop_map(Value::String).boxed());
        }
    };
    let constrained = map.contains_key("minLength") || map.contains_key("maxLength");
    Ok(if constrained {
        base.prop_filter("length outside minLength..maxLength", length_ok)
            .prop_map(Value::String)
            .boxed()
    } else {
        base.prop_map(Value::String).boxed()
    })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `YYYY-MM-DD`, mostly in 1970–2100, sometimes anywhere in `years`.
fn date_parts(years: RangeInclusive<u32>) -> BoxedStrategy<(u32, u32, u32)> {
    let common = (*years.start()).max(1970)..=(*years.end()).min(2100);
    let year = if common.is_empty() {
        (years).boxed()
    } else {
        prop_oneof![3 => common, 1 => years].boxed()
    };
    (year, 1..=12u32, 1..=31u32)
        .prop_map(|(y, m, d)| (y, m, d.min(days_in_month(y, m))))
        .boxed()
}

fn date(years: RangeInclusive<u32>) -> BoxedStrategy<String> {
    date_parts(years)
        .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"))
        .boxed()
}

/// RFC 3339 date-times as JSON Schema's `date-time` admits them.
fn date_time(years: RangeInclusive<u32>) -> BoxedStrategy<String> {
    let separator = prop_oneof![4 => Just('T'), 1 => Just('t')];
    let fraction = prop_oneof![
        3 => Just(String::new()),
        2 => vec(0..10u8, 1..=9).prop_map(|d| fraction_text(&d)),
        1 => vec(0..10u8, 10..=12).prop_map(|d| fraction_text(&d)),
    ];
    // Offset in minutes east of UTC; `None` is `Z`, `Some(0)` may be `+00:00` or `-00:00`.
    let offset = prop_oneof![
        3 => Just(None),
        2 => (-(23 * 60 + 59)..=(23 * 60 + 59)).prop_map(Some),
        1 => Just(Some(0)),
    ];
    let zulu = prop_oneof![3 => Just('Z'), 1 => Just('z')];
    let minus_zero = any::<bool>();
    let ordinary = (
        date_parts(years.clone()),
        separator.clone(),
        (0..24u32, 0..60u32, 0..60u32),
        fraction.clone(),
        offset.clone(),
        zulu.clone(),
        minus_zero,
    )
        .prop_map(|((y, mo, d), sep, (h, mi, s), frac, off, z, neg0)| {
            format!(
                "{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{frac}{}",
                offset_text(off, z, neg0)
            )
        });
    // A leap second is valid only where it is 23:59:60 in UTC.
    let leap = (date_parts(years), separator, fraction, offset, zulu).prop_map(
        |((y, mo, d), sep, frac, off, z)| {
            let local = (23 * 60 + 59 + off.unwrap_or(0)).rem_euclid(24 * 60);
            format!(
                "{y:04}-{mo:02}-{d:02}{sep}{:02}:{:02}:60{frac}{}",
                local / 60,
                local % 60,
                offset_text(off, z, false)
            )
        },
    );
    prop_oneof![15 => ordinary, 1 => leap].boxed()
}

fn fraction_text(digits: &[u8]) -> String {
    let mut s = String::from(".");
    s.extend(digits.iter().map(|d| char::from(b'0' + d)));
    s
}

fn offset_text(offset: Option<i32>, zulu: char, minus_zero: bool) -> String {
    match offset {
        None => zulu.to_string(),
        Some(0) if minus_zero => "-00:00".into(),
        Some(m) => {
            let sign = if m < 0 { '-' } else { '+' };
            let m = m.unsigned_abs();
            format!("{sign}{:02}:{:02}", m / 60, m % 60)
        }
    }
}

// ---------------------------------------------------------------------------
// Numbers

fn from_f64(x: f64) -> Option<Value> {
    Number::from_f64(x).map(Value::Number)
}

/// Any finite JSON number: small and huge integers (as JSON integers), fractions,
/// subnormals, epoch-like times, decimal amounts.
pub fn any_number() -> BoxedStrategy<Value> {
    use proptest::num::f64 as f;
    prop_oneof![
        2 => (-1000i64..1000).prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        2 => (f::POSITIVE | f::NEGATIVE | f::NORMAL | f::SUBNORMAL | f::ZERO)
            .prop_filter_map("not finite", from_f64),
        2 => (1.0e9f64..2.0e9).prop_filter_map("not finite", from_f64),
        1 => (0i64..100_000, select(vec![10.0, 100.0, 1000.0, 10000.0]))
            .prop_filter_map("not finite", |(n, d)| from_f64(n as f64 / d)),
    ]
    .boxed()
}

fn any_integer(format: Option<&str>) -> BoxedStrategy<Value> {
    match format {
        Some("int32") => prop_oneof![
            2 => (-1000i64..1000).prop_map(Value::from),
            1 => any::<i32>().prop_map(Value::from),
        ]
        .boxed(),
        Some("int64") => prop_oneof![
            2 => (-1000i64..1000).prop_map(Value::from),
            1 => any::<i64>().prop_map(Value::from),
        ]
        .boxed(),
        _ => prop_oneof![
            2 => (-1000i64..1000).prop_map(Value::from),
            1 => any::<i64>().prop_map(Value::from),
            1 => any::<u64>().prop_map(Value::from),
        ]
        .boxed(),
    }
}

fn number(map: &Map<String, Value>, at: &str, integer: bool) -> Result<BoxedStrategy<Value>> {
    let format = map.get("format").and_then(Value::as_str);
    match (integer, format) {
        (_, None) | (true, Some("int32" | "int64")) | (false, Some("float" | "double")) => {}
        (_, Some(other)) => {
            return Err(unsupported(
                at,
                &format!("number format `{other}` is not supported"),
            ));
        }
    }
    let bound = |key: &str| -> Result<Option<f64>> {
        match map.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| unsupported(at, &format!("`{key}` must be a number"))),
        }
    };
    let exclusive = |key: &str| -> Result<bool> {
        match map.get(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(unsupported(
                at,
                &format!("`{key}` must be a boolean (OpenAPI 3.0)"),
            )),
        }
    };
    let (lo, hi) = (bound("minimum")?, bound("maximum")?);
    let (lo_x, hi_x) = (
        exclusive("exclusiveMinimum")?,
        exclusive("exclusiveMaximum")?,
    );
    let general = if integer {
        any_integer(format)
    } else if format == Some("float") {
        any::<f32>()
            .prop_filter_map("not finite", |x| from_f64(f64::from(x)))
            .boxed()
    } else {
        any_number()
    };
    if lo.is_none() && hi.is_none() {
        return Ok(general);
    }
    let within = move |v: &Value| {
        let x = v.as_f64().unwrap_or(f64::NAN);
        lo.is_none_or(|lo| if lo_x { x > lo } else { x >= lo })
            && hi.is_none_or(|hi| if hi_x { x < hi } else { x <= hi })
    };
    // Values near the bounds, then anything in range.
    let lo_or = lo.unwrap_or_else(|| hi.unwrap_or(0.0) - 1.0e6);
    let hi_or = hi.unwrap_or_else(|| lo.unwrap_or(0.0) + 1.0e6);
    if lo_or > hi_or {
        return Err(unsupported(at, "`minimum` > `maximum`"));
    }
    let near: BoxedStrategy<Value> = if integer {
        let (a, b) = (lo_or.ceil() as i64, hi_or.floor() as i64);
        if a > b {
            return Err(unsupported(
                at,
                "no integer between `minimum` and `maximum`",
            ));
        }
        (a..=b).prop_map(Value::from).boxed()
    } else {
        prop_oneof![
            Just(lo_or).prop_filter_map("not finite", from_f64),
            Just(hi_or).prop_filter_map("not finite", from_f64),
            (lo_or..=hi_or).prop_filter_map("not finite", from_f64),
        ]
        .boxed()
    };
    Ok(prop_oneof![3 => near, 1 => general]
        .prop_filter("outside minimum..maximum", within)
        .boxed())
}

// ---------------------------------------------------------------------------
// Arbitrary JSON

/// Arbitrary JSON: scalars, and arrays and objects nested up to `free_form_depth`.
pub fn any_json(limits: &Limits) -> BoxedStrategy<Value> {
    let chars = limits.max_string_chars;
    let width = limits.max_extra_keys.max(1) + 1;
    let leaf = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        3 => any_number(),
        3 => text(0, chars).prop_map(Value::String),
    ];
    leaf.prop_recursive(limits.free_form_depth, 24, width as u32, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..=width).prop_map(Value::Array),
            vec((text(0, chars / 2), inner), 0..=width)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use serde_json::json;

    fn sample(strategy: &BoxedStrategy<Value>, n: usize) -> Vec<Value> {
        let mut runner = TestRunner::deterministic();
        (0..n)
            .map(|_| strategy.new_tree(&mut runner).unwrap().current())
            .collect()
    }

    #[test]
    fn unsupported_keywords_are_rejected_with_their_pointer() {
        let doc = json!({"components": {"schemas": {
            "A": {"type": "object", "properties": {"x": {"oneOf": [{"type": "string"}]}}}
        }}});
        let err = SchemaStrategies::new(doc).component("A").unwrap_err();
        assert_eq!(err.pointer, "/components/schemas/A/properties/x/oneOf");
    }

    #[test]
    fn unknown_formats_are_rejected() {
        let err = SchemaStrategies::new(json!({}))
            .schema(&json!({"type": "string", "format": "uuid"}))
            .unwrap_err();
        assert!(err.reason.contains("uuid"), "{err}");
    }

    #[test]
    fn recursive_schemas_terminate() {
        let doc = json!({"components": {"schemas": {
            "Node": {"type": "object", "additionalProperties": false, "properties": {
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}
            }}
        }}});
        let strategy = SchemaStrategies::new(doc).component("Node").unwrap();
        assert_eq!(sample(&strategy, 64).len(), 64);
    }

    #[test]
    fn a_cycle_of_required_properties_is_reported() {
        let doc = json!({"components": {"schemas": {
            "Loop": {"type": "object", "required": ["next"], "properties": {
                "next": {"$ref": "#/components/schemas/Loop"}
            }}
        }}});
        let err = SchemaStrategies::new(doc).component("Loop").unwrap_err();
        assert!(err.reason.contains("recursion"), "{err}");
    }

    #[test]
    fn bounds_lengths_and_patterns_are_respected() {
        let strategies = SchemaStrategies::new(json!({}));
        let schema = json!({"type": "object", "additionalProperties": false, "required": ["n", "i", "s", "p", "a"], "properties": {
            "n": {"type": "number", "minimum": 0.5, "maximum": 2},
            "i": {"type": "integer", "minimum": 3, "exclusiveMaximum": true, "maximum": 6},
            "s": {"type": "string", "minLength": 2, "maxLength": 3},
            "p": {"type": "string", "pattern": "^[a-f0-9]{24}$"},
            "a": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "boolean"}},
        }});
        for v in sample(&strategies.schema(&schema).unwrap(), 200) {
            let n = v["n"].as_f64().unwrap();
            assert!((0.5..=2.0).contains(&n), "{v}");
            let i = v["i"].as_i64().unwrap();
            assert!((3..6).contains(&i), "{v}");
            assert!(
                (2..=3).contains(&v["s"].as_str().unwrap().chars().count()),
                "{v}"
            );
            let p = v["p"].as_str().unwrap();
            assert!(
                p.len() == 24 && p.chars().all(|c| c.is_ascii_hexdigit()),
                "{v}"
            );
            assert!((1..=2).contains(&v["a"].as_array().unwrap().len()), "{v}");
            assert_eq!(
                v.as_object().unwrap().len(),
                5,
                "no extra keys when closed: {v}"
            );
        }
    }
}
