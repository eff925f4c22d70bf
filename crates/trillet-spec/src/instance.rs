//! Instances generated from schemas: [`Spec::instance_of`] gives one deterministic
//! value that is valid against an OpenAPI schema of the spec, for a mock to serve
//! where the spec has no example.
//!
//! How each part of a schema is satisfied, in this order:
//!
//! 1. A value the schema names: `const`, then the `enum` values in order (non-null
//!    ones first), then `default`, then `example`; the first that is valid against
//!    the schema is taken as it is. A `const` or `enum` none of whose values is valid
//!    is an error.
//! 2. `allOf`: the branches (`$ref`s resolved) are merged into one schema (properties
//!    and `required` united, bounds tightened, `enum`s intersected, types
//!    intersected: `integer` and `number` give `integer`), which is then satisfied.
//! 3. `anyOf` / `oneOf`: the schema's other keywords merged with each branch in turn
//!    (branches that lead back into a schema being generated last); the first whose
//!    instance is valid against the whole schema (so `oneOf` matches exactly one
//!    branch) is taken.
//! 4. By `type` (inferred from the keywords when absent: `properties` → object,
//!    `items` → array, `minLength`/`pattern`/`format` → string, `minimum`… → number;
//!    no keyword at all → `{}`); with `nullable: true`, `null` when no other value
//!    can be made.
//!    - **object**: every `required` property, then every optional one that can be
//!      made (an optional property that leads back into a schema being generated is
//!      left out, which is how recursive schemas end), up to `maxProperties`; then
//!      `property1`, `property2`… from `additionalProperties` up to `minProperties`.
//!    - **array**: `minItems` items (at least one when `maxItems` allows and the
//!      items can be made without recursing), all the same value; `uniqueItems`
//!      with more than one item is an error.
//!    - **string**: a fixed value per `format` (`date-time` `2025-01-01T00:00:00Z`,
//!      `date`, `time`, `uuid`, `email`, `uri`/`url`, `uri-reference`, `hostname`,
//!      `ipv4`, `ipv6`, `byte`), else `string` padded with `x` to `minLength` or cut
//!      to `maxLength`. With a `pattern`, that value is used only if it matches:
//!      otherwise it is an error (give the schema an `example` or `default`).
//!    - **integer** / **number**: `0` when it is within `minimum`/`maximum`
//!      (`exclusiveMinimum`/`exclusiveMaximum` as OpenAPI 3.0 booleans or as JSON
//!      Schema numbers; `int32`/`int64` ranges), else the bound nearest to it, moved
//!      to a multiple of `multipleOf` (an integer `multipleOf` for integers).
//!    - **boolean**: `false`; **null**: `null`.
//!
//! `$ref`s are followed with [`crate::resolve`], and the walk is bounded by
//! [`Depth`] (a schema that every instance must nest forever, such as a required
//! property that refers to its own schema, stops at [`crate::MAX_DEPTH`] with an
//! error) and by a budget of schema nodes, so a hostile spec costs bounded work.
//! The result is validated against the schema before it is returned: whatever
//! the rules above could not foresee is an error, never an invalid instance.

use serde_json::{Map, Number, Value, json};

use crate::resolve::{Depth, resolve_named, subschemas};
use crate::{Spec, SpecError, escape_pointer};

/// How many schema nodes one instance may visit.
const MAX_NODES: usize = 20_000;
/// The longest `minLength` satisfied.
const MAX_LENGTH: u64 = 65_536;
/// The most items (`minItems`) or properties (`minProperties`) made.
const MAX_ITEMS: u64 = 1_000;
/// How large an instance may grow, in JSON values (a string counts one per 64
/// bytes): repeated items and properties are what could make it explode.
const MAX_OUTPUT: usize = 200_000;
/// How deep the check "does this schema lead back into one being generated" looks.
const RECURSION_LOOKAHEAD: u32 = 16;

impl Spec {
    /// A deterministic instance of `schema` (an OpenAPI schema written in this
    /// spec, or a `$ref` into it), valid against it; an error naming the place
    /// when the schema cannot be satisfied (see the [module](self) for the rules).
    ///
    /// ```
    /// let spec = trillet_spec::Spec::bundled()?;
    /// let error = spec.instance_of(&serde_json::json!({"$ref": "#/components/schemas/ErrorEnvelope"}))?;
    /// assert_eq!(error["error"]["code"], "string");
    /// # Ok::<(), trillet_spec::SpecError>(())
    /// ```
    pub fn instance_of(&self, schema: &Value) -> Result<Value, SpecError> {
        let mut walk = Walk {
            spec: self,
            nodes: 0,
            output: 0,
            stack: Vec::new(),
        };
        let value = walk.generate(schema, Depth::ROOT, "#")?;
        let validator = self.validator_of("instance", schema)?;
        if let Some(problem) = validator.problems(&value).into_iter().next() {
            return Err(SpecError::new(format!(
                "no valid instance could be made: the best attempt fails at {problem}"
            )));
        }
        Ok(value)
    }
}

struct Walk<'s> {
    spec: &'s Spec,
    nodes: usize,
    /// The weight of the values made so far ([`weight`]).
    output: usize,
    /// The `$ref`s being generated, outermost first.
    stack: Vec<String>,
}

fn error(at: &str, message: impl std::fmt::Display) -> SpecError {
    SpecError::new(format!("{at}: {message}"))
}

impl<'s> Walk<'s> {
    /// Counts `copies` more copies of `value` against [`MAX_OUTPUT`].
    fn spend(&mut self, value: &Value, copies: u64, at: &str) -> Result<(), SpecError> {
        let cost = u64::try_from(weight(value))
            .unwrap_or(u64::MAX)
            .saturating_mul(copies);
        self.output = self
            .output
            .saturating_add(usize::try_from(cost).unwrap_or(usize::MAX));
        if self.output > MAX_OUTPUT {
            return Err(error(
                at,
                format!("the instance would be larger than {MAX_OUTPUT} JSON values"),
            ));
        }
        Ok(())
    }

    /// An instance of `node`, a schema or a `$ref` to one.
    fn generate(&mut self, node: &Value, depth: Depth, at: &str) -> Result<Value, SpecError> {
        let depth = depth.deeper(at)?;
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(error(
                at,
                format!("the schema needs more than {MAX_NODES} nodes to instantiate"),
            ));
        }
        let spec = self.spec;
        let (reference, schema) = resolve_named(spec.document(), node).map_err(|e| e.within(at))?;
        match reference {
            Some(reference) => {
                self.stack.push(reference.to_owned());
                let result = self.schema(schema, depth, reference);
                self.stack.pop();
                result
            }
            None => self.schema(schema, depth, at),
        }
    }

    /// An instance of a resolved schema.
    fn schema(&mut self, schema: &Value, depth: Depth, at: &str) -> Result<Value, SpecError> {
        let map = match schema {
            Value::Object(map) => map,
            Value::Bool(true) => return Ok(Value::Object(Map::new())),
            Value::Bool(false) => return Err(error(at, "the schema `false` has no instance")),
            _ => return Err(error(at, "not a schema")),
        };
        if map.contains_key("allOf") {
            let (merged, refs) = self.flatten(map, depth, at)?;
            let pushed = refs.len();
            self.stack.extend(refs);
            let result = self.plain(&merged, depth, at);
            self.stack.truncate(self.stack.len() - pushed);
            return result;
        }
        self.plain(map, depth, at)
    }

    /// `map` with its `allOf` branches merged in (recursively), and the `$ref`s
    /// followed on the way.
    fn flatten(
        &mut self,
        map: &Map<String, Value>,
        depth: Depth,
        at: &str,
    ) -> Result<(Map<String, Value>, Vec<String>), SpecError> {
        let spec = self.spec;
        let mut merged = map.clone();
        let branches = match merged.remove("allOf") {
            Some(Value::Array(branches)) => branches,
            Some(_) => return Err(error(at, "`allOf` is not a list")),
            None => Vec::new(),
        };
        let mut refs = Vec::new();
        for (i, branch) in branches.iter().enumerate() {
            let at_branch = format!("{at}/allOf/{i}");
            let depth = depth.deeper(&at_branch)?;
            let (reference, target) =
                resolve_named(spec.document(), branch).map_err(|e| e.within(&at_branch))?;
            if let Some(reference) = reference {
                refs.push(reference.to_owned());
            }
            let target = match target {
                Value::Object(target) if target.contains_key("allOf") => {
                    let (flat, more) = self.flatten(target, depth, &at_branch)?;
                    refs.extend(more);
                    flat
                }
                Value::Object(target) => target.clone(),
                Value::Bool(true) => continue,
                _ => return Err(error(&at_branch, "the branch has no instance")),
            };
            merge(&mut merged, &target).map_err(|e| error(&at_branch, e))?;
        }
        Ok((merged, refs))
    }

    /// An instance of a schema without `allOf`.
    fn plain(
        &mut self,
        map: &Map<String, Value>,
        depth: Depth,
        at: &str,
    ) -> Result<Value, SpecError> {
        // 1. The values the schema names.
        let mut named: Vec<&Value> = Vec::new();
        named.extend(map.get("const"));
        if let Some(Value::Array(values)) = map.get("enum") {
            named.extend(values.iter().filter(|v| !v.is_null()));
            named.extend(values.iter().filter(|v| v.is_null()));
        }
        named.extend(map.get("default"));
        named.extend(map.get("example"));
        for candidate in named {
            if self.fits(map, candidate, at)? {
                return Ok(candidate.clone());
            }
        }
        if map.contains_key("const") || map.contains_key("enum") {
            return Err(error(
                at,
                "no value of its `const`/`enum` is valid against it",
            ));
        }
        // 2. Alternatives.
        for key in ["anyOf", "oneOf"] {
            match map.get(key) {
                Some(Value::Array(branches)) => {
                    let made = self.alternatives(map, key, branches, depth, at);
                    return match made {
                        Err(_) if self.fits(map, &Value::Null, at)? => Ok(Value::Null),
                        made => made,
                    };
                }
                Some(_) => return Err(error(at, format!("`{key}` is not a list"))),
                None => {}
            }
        }
        // 3. By type.
        let types = types_of(map);
        let nullable = map.get("nullable") == Some(&Value::Bool(true)) || types.contains(&"null");
        let mut first_error = None;
        for kind in types.iter().filter(|t| **t != "null") {
            let made = match *kind {
                "object" => self.object(map, depth, at),
                "array" => self.array(map, depth, at),
                "string" => self.string(map, at),
                "integer" => number(map, true, at),
                "number" => number(map, false, at),
                "boolean" => Ok(Value::Bool(false)),
                "any" => Ok(Value::Object(Map::new())),
                other => Err(error(at, format!("unknown type `{other}`"))),
            };
            match made {
                Ok(value) => return Ok(value),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if nullable {
            return Ok(Value::Null);
        }
        Err(first_error.unwrap_or_else(|| error(at, "the schema allows no type")))
    }

    /// Whether `value` is valid against the schema `map`.
    fn fits(&self, map: &Map<String, Value>, value: &Value, at: &str) -> Result<bool, SpecError> {
        let validator = self
            .spec
            .validator_of(at, &Value::Object(map.clone()))
            .map_err(|e| e.within(at))?;
        Ok(validator.is_valid(value))
    }

    fn alternatives(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        branches: &[Value],
        depth: Depth,
        at: &str,
    ) -> Result<Value, SpecError> {
        let spec = self.spec;
        let mut rest = map.clone();
        for taken in [key, "example", "default"] {
            rest.remove(taken);
        }
        // Branches that lead back into a schema being generated come last.
        let mut order: Vec<usize> = (0..branches.len()).collect();
        order.sort_by_key(|i| self.recursive(&branches[*i]));
        let mut first_error = None;
        for i in order {
            let at_branch = format!("{at}/{key}/{i}");
            let depth = depth.deeper(&at_branch)?;
            let attempt = resolve_named(spec.document(), &branches[i])
                .map_err(|e| e.within(&at_branch))
                .and_then(|(reference, target)| {
                    let mut merged = rest.clone();
                    match target {
                        Value::Object(target) => {
                            merge(&mut merged, target).map_err(|e| error(&at_branch, e))?
                        }
                        Value::Bool(true) => {}
                        _ => return Err(error(&at_branch, "the branch has no instance")),
                    }
                    let pushed = reference.is_some();
                    self.stack.extend(reference.map(str::to_owned));
                    let made = self.schema(&Value::Object(merged), depth, &at_branch);
                    if pushed {
                        self.stack.pop();
                    }
                    made
                });
            match attempt {
                Ok(value) if self.fits(map, &value, at)? => return Ok(value),
                Ok(value) => {
                    first_error.get_or_insert_with(|| {
                        error(
                            &at_branch,
                            format!("its instance {value} is not valid against the whole `{key}`"),
                        )
                    });
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| error(at, format!("`{key}` has no branch"))))
    }

    /// Whether `node` leads back (through `$ref`s, without following them) into a
    /// schema being generated.
    fn recursive(&self, node: &Value) -> bool {
        fn walk(node: &Value, stack: &[String], left: u32) -> bool {
            if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
                return stack.iter().any(|s| s == reference);
            }
            left > 0
                && subschemas(node)
                    .into_iter()
                    .any(|(_, child)| walk(child, stack, left - 1))
        }
        walk(node, &self.stack, RECURSION_LOOKAHEAD)
    }

    fn object(
        &mut self,
        map: &Map<String, Value>,
        depth: Depth,
        at: &str,
    ) -> Result<Value, SpecError> {
        let empty = Map::new();
        let properties = map
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let additional = map.get("additionalProperties");
        let max = count(map, "maxProperties", at)?.unwrap_or(u64::MAX);
        let min = count(map, "minProperties", at)?.unwrap_or(0);
        if min > MAX_ITEMS {
            return Err(error(
                at,
                format!("minProperties {min} is more than {MAX_ITEMS}"),
            ));
        }
        let any = Value::Object(Map::new());
        let mut out = Map::new();
        for name in map
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if out.contains_key(name) {
                continue;
            }
            let at_property = format!("{at}/properties/{}", escape_pointer(name));
            let schema = match (properties.get(name), additional) {
                (Some(schema), _) => schema,
                (None, Some(Value::Bool(false))) => {
                    return Err(error(
                        &at_property,
                        "required, but not a property and additionalProperties is false",
                    ));
                }
                (None, Some(schema @ Value::Object(_))) => schema,
                (None, _) => &any,
            };
            let value = self.generate(schema, depth, &at_property)?;
            out.insert(name.to_owned(), value);
        }
        for (name, schema) in properties {
            if out.len() as u64 >= max {
                break;
            }
            if out.contains_key(name) || self.recursive(schema) {
                continue;
            }
            let at_property = format!("{at}/properties/{}", escape_pointer(name));
            // An optional property that cannot be made is left out.
            if let Ok(value) = self.generate(schema, depth, &at_property) {
                out.insert(name.clone(), value);
            }
        }
        if (out.len() as u64) < min {
            let schema = match additional {
                Some(Value::Bool(false)) => {
                    return Err(error(
                        at,
                        format!("minProperties {min}, but additionalProperties is false"),
                    ));
                }
                Some(schema @ Value::Object(_)) => schema,
                _ => &any,
            };
            let at_extra = format!("{at}/additionalProperties");
            let value = self.generate(schema, depth, &at_extra)?;
            self.spend(&value, min - out.len() as u64, at)?;
            let mut i = 0u64;
            while (out.len() as u64) < min && i <= MAX_ITEMS + properties.len() as u64 {
                i += 1;
                out.entry(format!("property{i}"))
                    .or_insert_with(|| value.clone());
            }
        }
        if out.len() as u64 > max {
            return Err(error(
                at,
                format!("maxProperties {max} is fewer than the required properties"),
            ));
        }
        Ok(Value::Object(out))
    }

    fn array(
        &mut self,
        map: &Map<String, Value>,
        depth: Depth,
        at: &str,
    ) -> Result<Value, SpecError> {
        let min = count(map, "minItems", at)?.unwrap_or(0);
        let max = count(map, "maxItems", at)?.unwrap_or(u64::MAX);
        if min > max {
            return Err(error(at, format!("minItems {min} exceeds maxItems {max}")));
        }
        if min > MAX_ITEMS {
            return Err(error(
                at,
                format!("minItems {min} is more than {MAX_ITEMS}"),
            ));
        }
        let any = Value::Object(Map::new());
        let items = map.get("items").unwrap_or(&any);
        let wanted = match min {
            0 if max == 0 || self.recursive(items) => return Ok(Value::Array(Vec::new())),
            0 => 1,
            n => n,
        };
        if wanted > 1 && map.get("uniqueItems") == Some(&Value::Bool(true)) {
            return Err(error(
                at,
                format!("{wanted} unique items cannot be made (items are all alike)"),
            ));
        }
        let item = match self.generate(items, depth, &format!("{at}/items")) {
            Ok(item) => item,
            Err(_) if min == 0 => return Ok(Value::Array(Vec::new())),
            Err(e) => return Err(e),
        };
        self.spend(&item, wanted, at)?;
        let wanted = usize::try_from(wanted).map_err(|_| error(at, "too many items"))?;
        Ok(Value::Array(vec![item; wanted]))
    }

    fn string(&self, map: &Map<String, Value>, at: &str) -> Result<Value, SpecError> {
        let min = count(map, "minLength", at)?.unwrap_or(0);
        let max = count(map, "maxLength", at)?.unwrap_or(u64::MAX);
        if min > max {
            return Err(error(
                at,
                format!("minLength {min} exceeds maxLength {max}"),
            ));
        }
        if min > MAX_LENGTH {
            return Err(error(
                at,
                format!("minLength {min} is more than {MAX_LENGTH}"),
            ));
        }
        let formatted = match map.get("format").and_then(Value::as_str) {
            Some("date-time") => Some("2025-01-01T00:00:00Z"),
            Some("date") => Some("2025-01-01"),
            Some("time") => Some("00:00:00Z"),
            Some("uuid") => Some("00000000-0000-4000-8000-000000000000"),
            Some("email") => Some("user@example.com"),
            Some("uri" | "url") => Some("https://example.com/"),
            Some("uri-reference") => Some("/"),
            Some("hostname") => Some("example.com"),
            Some("ipv4") => Some("192.0.2.1"),
            Some("ipv6") => Some("2001:db8::1"),
            Some("byte") => Some("c3RyaW5n"),
            _ => None,
        };
        let value = match formatted {
            Some(text) => {
                let length = text.chars().count() as u64;
                if length < min || length > max {
                    return Err(error(
                        at,
                        format!("no {text:?}-like value has a length in {min}..={max}"),
                    ));
                }
                text.to_owned()
            }
            None => {
                let base = "string";
                let length = base.len() as u64;
                if length < min {
                    // min ≤ MAX_LENGTH: the conversion cannot fail on any platform.
                    let pad = usize::try_from(min - length).unwrap_or(0);
                    format!("{base}{}", "x".repeat(pad))
                } else {
                    base.chars()
                        .take(usize::try_from(max).unwrap_or(usize::MAX))
                        .collect()
                }
            }
        };
        let value = Value::String(value);
        if map.contains_key("pattern") && !self.fits(map, &value, at)? {
            return Err(error(
                at,
                format!(
                    "{value} does not match its `pattern`, and it has no `example` or \
                     `default` that does: give it one"
                ),
            ));
        }
        Ok(value)
    }
}

/// The size of `value` for [`MAX_OUTPUT`]: one per value, one per 64 bytes of text.
fn weight(value: &Value) -> usize {
    match value {
        Value::String(text) => 1 + text.len() / 64,
        Value::Array(items) => 1 + items.iter().map(weight).sum::<usize>(),
        Value::Object(map) => {
            1 + map
                .iter()
                .map(|(k, v)| k.len() / 64 + weight(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

/// The non-negative integer keyword `key` of `map`.
fn count(map: &Map<String, Value>, key: &str, at: &str) -> Result<Option<u64>, SpecError> {
    match map.get(key) {
        None => Ok(None),
        Some(value) => value
            .as_u64()
            .or_else(|| {
                value
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                    // `as` saturates: 1e30 becomes u64::MAX, which is "too many".
                    .map(|f| f as u64)
            })
            .map(Some)
            .ok_or_else(|| error(at, format!("`{key}` is not a non-negative integer"))),
    }
}

/// The types `map` allows, from `type` or inferred from its keywords.
fn types_of(map: &Map<String, Value>) -> Vec<&str> {
    match map.get("type") {
        Some(Value::String(kind)) => return vec![kind.as_str()],
        Some(Value::Array(kinds)) => return kinds.iter().filter_map(Value::as_str).collect(),
        _ => {}
    }
    let has = |keys: &[&str]| keys.iter().any(|k| map.contains_key(*k));
    if has(&[
        "properties",
        "required",
        "additionalProperties",
        "minProperties",
        "maxProperties",
        "patternProperties",
    ]) {
        vec!["object"]
    } else if has(&["items", "minItems", "maxItems", "uniqueItems"]) {
        vec!["array"]
    } else if has(&["minLength", "maxLength", "pattern", "format"]) {
        vec!["string"]
    } else if has(&[
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
    ]) {
        vec!["number"]
    } else {
        vec!["any"]
    }
}

/// One bound of a number: the value and whether it is exclusive.
type Bound = Option<(f64, bool)>;

/// The tighter of two lower (`lower`) or upper bounds.
fn tighter(a: Bound, b: Bound, lower: bool) -> Bound {
    match (a, b) {
        (None, b) => b,
        (a, None) => a,
        (Some(x), Some(y)) => {
            let pick_y = if lower {
                y.0 > x.0 || (y.0 == x.0 && y.1)
            } else {
                y.0 < x.0 || (y.0 == x.0 && y.1)
            };
            Some(if pick_y { y } else { x })
        }
    }
}

/// `minimum` (or `maximum`) with OpenAPI 3.0's boolean `exclusiveMinimum` and JSON
/// Schema's numeric one.
fn bound(map: &Map<String, Value>, lower: bool) -> Bound {
    let (inclusive, exclusive) = if lower {
        ("minimum", "exclusiveMinimum")
    } else {
        ("maximum", "exclusiveMaximum")
    };
    let flag = map.get(exclusive) == Some(&Value::Bool(true));
    let plain = map
        .get(inclusive)
        .and_then(Value::as_f64)
        .map(|v| (v, flag));
    let numeric = map
        .get(exclusive)
        .and_then(Value::as_f64)
        .map(|v| (v, true));
    tighter(plain, numeric, lower)
}

/// A number (or integer) within the schema's bounds and a multiple of its
/// `multipleOf`, as near zero as it can be.
fn number(map: &Map<String, Value>, integer: bool, at: &str) -> Result<Value, SpecError> {
    let mut lo = bound(map, true);
    let mut hi = bound(map, false);
    let range = match map.get("format").and_then(Value::as_str) {
        Some("int32") => Some((f64::from(i32::MIN), f64::from(i32::MAX))),
        // 2^63 as f64, exclusive above: i64::MAX is not an f64.
        Some("int64") => Some((-9_223_372_036_854_775_808.0, 9_223_372_036_854_775_807.0)),
        _ => None,
    };
    if let Some((min, max)) = range {
        lo = tighter(lo, Some((min, false)), true);
        hi = tighter(hi, Some((max, false)), false);
    }
    let multiple = map
        .get("multipleOf")
        .and_then(Value::as_f64)
        .filter(|m| *m > 0.0 && m.is_finite());
    let fail = |why: &str| error(at, why);
    let above = |v: f64| lo.is_none_or(|(b, ex)| if ex { v > b } else { v >= b });
    let below = |v: f64| hi.is_none_or(|(b, ex)| if ex { v < b } else { v <= b });
    let within = |v: f64| v.is_finite() && above(v) && below(v);
    let value = if integer {
        let low = lo.map(|(b, ex)| if ex { b.floor() + 1.0 } else { b.ceil() });
        let high = hi.map(|(b, ex)| if ex { b.ceil() - 1.0 } else { b.floor() });
        let mut v = 0.0_f64;
        if let Some(low) = low.filter(|l| *l > v) {
            v = low;
        }
        if let Some(high) = high.filter(|h| *h < v) {
            v = high;
        }
        if let Some(m) = multiple {
            if m.fract() != 0.0 {
                if (v / m).fract() != 0.0 {
                    return Err(fail("an integer multipleOf a fraction is not supported"));
                }
            } else if (v / m).fract() != 0.0 {
                let up = (v / m).ceil() * m;
                v = if within(up) { up } else { (v / m).floor() * m };
            }
        }
        v
    } else {
        let mut v = 0.0_f64;
        if !above(v) {
            if let Some((b, ex)) = lo {
                v = match (ex, hi) {
                    (false, _) => b,
                    (true, Some((h, _))) => b + (h - b) / 2.0,
                    (true, None) => b + 1.0,
                };
            }
        } else if !below(v)
            && let Some((b, ex)) = hi
        {
            v = match (ex, lo) {
                (false, _) => b,
                (true, Some((l, _))) => b - (b - l) / 2.0,
                (true, None) => b - 1.0,
            };
        }
        if let Some(m) = multiple
            && (v / m).fract() != 0.0
        {
            let up = (v / m).ceil() * m;
            v = if within(up) { up } else { (v / m).floor() * m };
        }
        v
    };
    if !within(value) {
        return Err(fail("no number satisfies its bounds and multipleOf"));
    }
    if value.fract() == 0.0 && value.abs() < 9_007_199_254_740_992.0 {
        // Exact: |value| < 2^53.
        Ok(Value::from(value as i64))
    } else if integer {
        Err(fail(
            "the only integers within its bounds are too large to write exactly",
        ))
    } else {
        Number::from_f64(value)
            .map(Value::Number)
            .ok_or_else(|| fail("no finite number satisfies its bounds"))
    }
}

/// Merges schema `b` into `a`, as `allOf: [a, b]` requires (what cannot be merged
/// exactly is left for the final validation to judge).
fn merge(a: &mut Map<String, Value>, b: &Map<String, Value>) -> Result<(), String> {
    let nullable = a.get("nullable") == Some(&Value::Bool(true))
        && b.get("nullable") == Some(&Value::Bool(true));
    for (key, theirs) in b {
        let Some(ours) = a.get(key).cloned() else {
            if key != "nullable" {
                a.insert(key.clone(), theirs.clone());
            }
            continue;
        };
        let merged = match key.as_str() {
            "properties" | "patternProperties" => {
                let mut all = ours.as_object().cloned().unwrap_or_default();
                for (name, schema) in theirs.as_object().into_iter().flatten() {
                    let value = match all.remove(name) {
                        Some(existing) if existing != *schema => {
                            json!({ "allOf": [existing, schema] })
                        }
                        _ => schema.clone(),
                    };
                    all.insert(name.clone(), value);
                }
                Value::Object(all)
            }
            "required" => {
                let mut all = ours.as_array().cloned().unwrap_or_default();
                for name in theirs.as_array().into_iter().flatten() {
                    if !all.contains(name) {
                        all.push(name.clone());
                    }
                }
                Value::Array(all)
            }
            "type" => {
                let list = |v: &Value| -> Vec<String> {
                    match v {
                        Value::String(s) => vec![s.clone()],
                        Value::Array(a) => a
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect(),
                        _ => Vec::new(),
                    }
                };
                let (x, y) = (list(&ours), list(theirs));
                let mut both: Vec<String> = Vec::new();
                for t in &x {
                    if y.contains(t) {
                        both.push(t.clone());
                    } else if (t == "integer" && y.iter().any(|u| u == "number"))
                        || (t == "number" && y.iter().any(|u| u == "integer"))
                    {
                        both.push("integer".into());
                    }
                }
                both.dedup();
                match both.len() {
                    0 => return Err(format!("allOf asks for types {ours} and {theirs} at once")),
                    1 => Value::String(both.remove(0)),
                    _ => Value::from(both),
                }
            }
            "minimum" | "minLength" | "minItems" | "minProperties" => max_of(&ours, theirs, true),
            "maximum" | "maxLength" | "maxItems" | "maxProperties" => max_of(&ours, theirs, false),
            "exclusiveMinimum" | "exclusiveMaximum" => match (&ours, theirs) {
                (Value::Bool(x), Value::Bool(y)) => Value::Bool(*x || *y),
                (Value::Number(_), Value::Number(_)) => {
                    max_of(&ours, theirs, key == "exclusiveMinimum")
                }
                _ => ours,
            },
            "enum" => {
                let kept: Vec<Value> = ours
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|v| theirs.as_array().is_some_and(|t| t.contains(v)))
                    .cloned()
                    .collect();
                if kept.is_empty() {
                    return Err("allOf's enums have no value in common".into());
                }
                Value::Array(kept)
            }
            "const" if ours != *theirs => {
                return Err(format!("allOf asks for const {ours} and {theirs} at once"));
            }
            "items" | "not" if ours != *theirs => match key.as_str() {
                "items" => json!({ "allOf": [ours, theirs] }),
                _ => json!({ "anyOf": [ours, theirs] }),
            },
            "additionalProperties" => match (&ours, theirs) {
                (Value::Bool(false), _) | (_, Value::Bool(false)) => Value::Bool(false),
                (Value::Bool(true), other) | (other, Value::Bool(true)) => other.clone(),
                (x, y) if x == y => ours,
                (x, y) => json!({ "allOf": [x, y] }),
            },
            "anyOf" | "oneOf" => {
                // Both sides choose: every pair of branches, as one anyOf.
                let xs = ours.as_array().cloned().unwrap_or_default();
                let ys = theirs.as_array().cloned().unwrap_or_default();
                if xs.len().saturating_mul(ys.len()) > 64 {
                    return Err(format!("{key} on both sides of allOf has too many pairs"));
                }
                let pairs: Vec<Value> = xs
                    .iter()
                    .flat_map(|x| ys.iter().map(move |y| json!({ "allOf": [x, y] })))
                    .collect();
                a.insert("anyOf".into(), Value::Array(pairs));
                if key == "oneOf" {
                    a.remove("oneOf");
                }
                continue;
            }
            // Descriptions, examples, defaults, formats, patterns: the first wins.
            _ => ours,
        };
        a.insert(key.clone(), merged);
    }
    if !nullable {
        a.remove("nullable");
    }
    Ok(())
}

/// The larger (`larger`) or smaller of two numbers.
fn max_of(a: &Value, b: &Value, larger: bool) -> Value {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if (y > x) == larger && y != x => b.clone(),
        (Some(_), _) => a.clone(),
        _ => b.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled() -> Spec {
        Spec::bundled().unwrap()
    }

    /// Checks `instance` against `schema` with the spec's own validator.
    fn assert_valid(spec: &Spec, what: &str, schema: &Value, instance: &Value) {
        let validator = spec.validator_of(what, schema).unwrap();
        let problems = validator.problems(instance);
        assert!(problems.is_empty(), "{what}: {instance} → {problems:?}");
    }

    #[test]
    fn every_component_schema_of_the_bundled_spec_has_a_valid_instance() {
        let spec = bundled();
        let names = spec.schema_names();
        assert!(names.len() >= 8, "{names:?}");
        for name in names {
            let schema = json!({ "$ref": format!("#/components/schemas/{name}") });
            let instance = spec
                .instance_of(&schema)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let problems = spec.validator(name).unwrap().problems(&instance);
            assert!(problems.is_empty(), "{name}: {instance} → {problems:?}");
        }
    }

    #[test]
    fn every_response_schema_of_the_bundled_spec_has_a_valid_instance() {
        let spec = bundled();
        let mut checked = 0;
        for operation in spec.operations().unwrap() {
            for response in &operation.responses {
                let Some(schema) = &response.schema else {
                    continue;
                };
                let what = format!("{} {}", operation.id, response.status);
                let instance = spec
                    .instance_of(schema)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_valid(&spec, &what, schema, &instance);
                checked += 1;
            }
        }
        assert!(checked >= 12, "{checked}");
    }

    /// A spec whose components the tricky cases refer to.
    fn tricky_spec() -> Spec {
        Spec::from_document(json!({
            "openapi": "3.0.3",
            "paths": {},
            "components": {"schemas": {
                "Node": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string"},
                        "parent": {"$ref": "#/components/schemas/Node"},
                        "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                        "next": {"anyOf": [{"$ref": "#/components/schemas/Node"}, {"type": "integer"}]},
                    },
                },
                "Linked": {
                    "type": "object",
                    "required": ["next"],
                    "properties": {"next": {"anyOf": [{"$ref": "#/components/schemas/Linked"}, {"type": "integer"}]}},
                },
                "Forever": {
                    "type": "object",
                    "required": ["again"],
                    "properties": {"again": {"$ref": "#/components/schemas/Forever"}},
                },
                "Base": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {"id": {"type": "string", "format": "uuid"}},
                },
                "Adult": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Base"},
                        {"type": "object", "required": ["age"],
                         "properties": {"age": {"type": "integer", "minimum": 18}}},
                    ],
                },
                "Wide": {"type": "object", "properties": {
                    "a": {"$ref": "#/components/schemas/Wide2"}, "b": {"$ref": "#/components/schemas/Wide2"},
                    "c": {"$ref": "#/components/schemas/Wide2"}, "d": {"$ref": "#/components/schemas/Wide2"}}},
                "Wide2": {"type": "object", "properties": {
                    "a": {"$ref": "#/components/schemas/Wide3"}, "b": {"$ref": "#/components/schemas/Wide3"},
                    "c": {"$ref": "#/components/schemas/Wide3"}, "d": {"$ref": "#/components/schemas/Wide3"}}},
                "Wide3": {"type": "object", "properties": {
                    "a": {"$ref": "#/components/schemas/Wide4"}, "b": {"$ref": "#/components/schemas/Wide4"},
                    "c": {"$ref": "#/components/schemas/Wide4"}, "d": {"$ref": "#/components/schemas/Wide4"}}},
                "Wide4": {"type": "object", "properties": {
                    "a": {"type": "array", "minItems": 1000, "items": {"type": "object", "minProperties": 1000}},
                    "b": {"$ref": "#/components/schemas/Wide3"}}},
            }},
        }))
        .unwrap()
    }

    /// Schemas that must get a valid instance, with a check of the instance's shape
    /// beyond validity where the rule fixes it.
    #[test]
    fn tricky_schemas_get_valid_instances() {
        let spec = tricky_spec();
        let cases: Vec<(&str, Value, Option<Value>)> = vec![
            (
                "enum",
                json!({"type": "string", "enum": ["b", "a"]}),
                Some(json!("b")),
            ),
            (
                "nullable enum prefers a value",
                json!({"enum": [null, 3], "nullable": true}),
                Some(json!(3)),
            ),
            (
                "const",
                json!({"const": {"x": [1]}}),
                Some(json!({"x": [1]})),
            ),
            (
                "default before example",
                json!({"type": "integer", "default": 7, "example": 8}),
                Some(json!(7)),
            ),
            (
                "an invalid example is not used",
                json!({"type": "integer", "minimum": 1, "example": 0}),
                Some(json!(1)),
            ),
            (
                "date-time",
                json!({"type": "string", "format": "date-time"}),
                Some(json!("2025-01-01T00:00:00Z")),
            ),
            (
                "date",
                json!({"type": "string", "format": "date"}),
                Some(json!("2025-01-01")),
            ),
            ("uuid", json!({"type": "string", "format": "uuid"}), None),
            ("email", json!({"type": "string", "format": "email"}), None),
            ("uri", json!({"type": "string", "format": "uri"}), None),
            (
                "minLength pads",
                json!({"type": "string", "minLength": 10}),
                Some(json!("stringxxxx")),
            ),
            (
                "maxLength cuts",
                json!({"type": "string", "maxLength": 2}),
                Some(json!("st")),
            ),
            (
                "a pattern the plain value matches",
                json!({"type": "string", "pattern": "^[a-z]+$"}),
                Some(json!("string")),
            ),
            (
                "a pattern with an example",
                json!({"type": "string", "pattern": "^[0-9a-f]{24}$", "example": "65a7f3c2e4b0a1d2c3f4e5a6"}),
                Some(json!("65a7f3c2e4b0a1d2c3f4e5a6")),
            ),
            (
                "a pattern with a default",
                json!({"type": "string", "pattern": "^A+$", "default": "AAA"}),
                Some(json!("AAA")),
            ),
            (
                "int32 exclusive minimum (3.0 boolean)",
                json!({"type": "integer", "format": "int32", "minimum": 5, "exclusiveMinimum": true}),
                Some(json!(6)),
            ),
            (
                "int64 maximum below zero",
                json!({"type": "integer", "format": "int64", "maximum": -3}),
                Some(json!(-3)),
            ),
            (
                "number exclusive maximum (JSON Schema number)",
                json!({"type": "number", "exclusiveMaximum": -1}),
                Some(json!(-2)),
            ),
            (
                "number between exclusive bounds",
                json!({"type": "number", "minimum": 1, "exclusiveMinimum": true, "maximum": 2}),
                Some(json!(1.5)),
            ),
            (
                "multipleOf",
                json!({"type": "integer", "minimum": 10, "multipleOf": 7}),
                Some(json!(14)),
            ),
            (
                "number multipleOf",
                json!({"type": "number", "minimum": 0.3, "multipleOf": 0.25}),
                Some(json!(0.5)),
            ),
            ("boolean", json!({"type": "boolean"}), Some(json!(false))),
            (
                "nullable with nothing else possible",
                json!({"type": "string", "minLength": 3, "maxLength": 1, "nullable": true}),
                Some(Value::Null),
            ),
            (
                "minItems",
                json!({"type": "array", "minItems": 3, "items": {"type": "integer", "minimum": 2}}),
                Some(json!([2, 2, 2])),
            ),
            (
                "maxItems 0",
                json!({"type": "array", "maxItems": 0, "items": {"type": "string"}}),
                Some(json!([])),
            ),
            (
                "required and optional properties",
                json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": "string", "pattern": "^z$"}}}),
                Some(json!({"a": "string", "b": 0})),
            ),
            (
                "a required property not listed",
                json!({"type": "object", "required": ["x"], "additionalProperties": {"type": "integer"}}),
                Some(json!({"x": 0})),
            ),
            (
                "minProperties from additionalProperties",
                json!({"type": "object", "minProperties": 2, "additionalProperties": {"type": "boolean"}}),
                Some(json!({"property1": false, "property2": false})),
            ),
            (
                "maxProperties drops optional ones",
                json!({"type": "object", "maxProperties": 1, "required": ["z"], "properties": {"a": {"type": "string"}, "z": {"type": "string"}}}),
                Some(json!({"z": "string"})),
            ),
            (
                "no type: inferred from keywords",
                json!({"properties": {"a": {"minimum": 3}}}),
                Some(json!({"a": 3})),
            ),
            ("anything", json!({}), Some(json!({}))),
            (
                "anyOf: the first branch that is valid with its siblings",
                json!({"type": "string", "anyOf": [{"minLength": 10, "maxLength": 3}, {"maxLength": 4}]}),
                Some(json!("stri")),
            ),
            (
                "oneOf: exactly one branch",
                json!({"oneOf": [{"type": "string", "maxLength": 3}, {"type": "string", "minLength": 2}]}),
                Some(json!("string")),
            ),
            (
                "allOf merges",
                json!({"$ref": "#/components/schemas/Adult"}),
                None,
            ),
            (
                "allOf intersects integer and number",
                json!({"allOf": [{"type": "number", "maximum": 9}, {"type": "integer", "minimum": 4}]}),
                Some(json!(4)),
            ),
            (
                "allOf of anyOfs",
                json!({"allOf": [{"anyOf": [{"type": "string"}, {"type": "integer"}]}, {"anyOf": [{"type": "integer", "minimum": 2}]}]}),
                Some(json!(2)),
            ),
            (
                "a recursive schema leaves optional recursion out",
                json!({"$ref": "#/components/schemas/Node"}),
                Some(json!({"name": "string"})),
            ),
            (
                "a required choice tries the branch that does not recurse first",
                json!({"$ref": "#/components/schemas/Linked"}),
                Some(json!({"next": 0})),
            ),
            (
                "open sets",
                json!({"anyOf": [{"type": "string", "enum": ["x"]}, {"type": "string"}]}),
                Some(json!("x")),
            ),
            (
                "a nullable choice with no branch possible",
                json!({"nullable": true, "anyOf": [{"type": "integer", "minimum": 3, "maximum": 1}]}),
                Some(Value::Null),
            ),
        ];
        for (what, schema, expected) in cases {
            let instance = spec
                .instance_of(&schema)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_valid(&spec, what, &schema, &instance);
            if let Some(expected) = expected {
                assert_eq!(instance, expected, "{what}");
            }
            assert_eq!(
                spec.instance_of(&schema).unwrap(),
                instance,
                "{what}: deterministic"
            );
        }
        let adult = spec
            .instance_of(&json!({"$ref": "#/components/schemas/Adult"}))
            .unwrap();
        assert_eq!(adult["age"], 18, "{adult}");
        assert!(adult["id"].is_string(), "{adult}");
    }

    /// Schemas no instance can be made for: each is an error naming why.
    #[test]
    fn unsatisfiable_schemas_are_errors_that_say_why() {
        let spec = tricky_spec();
        let cases: Vec<(&str, Value, &str)> = vec![
            (
                "a pattern with no example",
                json!({"type": "string", "pattern": "^[0-9]{4}$"}),
                "give it one",
            ),
            (
                "an example that misses the pattern",
                json!({"type": "string", "pattern": "^[0-9]{4}$", "example": "abc"}),
                "pattern",
            ),
            (
                "bounds that cross",
                json!({"type": "integer", "minimum": 5, "maximum": 3}),
                "bounds",
            ),
            (
                "an exclusive range with no integer",
                json!({"type": "integer", "minimum": 1, "maximum": 2, "exclusiveMinimum": true, "exclusiveMaximum": true}),
                "bounds",
            ),
            (
                "int32 beyond its range",
                json!({"type": "integer", "format": "int32", "minimum": 3_000_000_000u64}),
                "bounds",
            ),
            (
                "lengths that cross",
                json!({"type": "string", "minLength": 3, "maxLength": 1}),
                "exceeds",
            ),
            (
                "a huge minLength",
                json!({"type": "string", "minLength": 1_000_000_000_000u64}),
                "more than",
            ),
            (
                "a huge minItems",
                json!({"type": "array", "minItems": 1_000_000_000u64, "items": {}}),
                "more than",
            ),
            (
                "unique items",
                json!({"type": "array", "minItems": 2, "uniqueItems": true, "items": {"type": "string"}}),
                "unique",
            ),
            (
                "enum with no valid value",
                json!({"type": "integer", "enum": ["a", "b"]}),
                "enum",
            ),
            (
                "allOf with two types",
                json!({"allOf": [{"type": "string"}, {"type": "integer"}]}),
                "types",
            ),
            (
                "allOf with disjoint enums",
                json!({"allOf": [{"enum": [1]}, {"enum": [2]}]}),
                "in common",
            ),
            (
                "a required property that is not allowed",
                json!({"type": "object", "required": ["x"], "additionalProperties": false}),
                "additionalProperties",
            ),
            (
                "no branch of anyOf",
                json!({"anyOf": [{"type": "string", "minLength": 3, "maxLength": 1}, {"type": "integer", "minimum": 3, "maximum": 1}]}),
                "anyOf/0",
            ),
            (
                "oneOf whose branches always overlap",
                json!({"oneOf": [{"type": "integer"}, {"type": "number"}]}),
                "oneOf",
            ),
            (
                "a required recursion",
                json!({"$ref": "#/components/schemas/Forever"}),
                "deeper than",
            ),
            (
                "a dangling $ref",
                json!({"$ref": "#/components/schemas/Nope"}),
                "does not resolve",
            ),
            (
                "what the rules cannot see",
                json!({"not": {}}),
                "no valid instance",
            ),
        ];
        for (what, schema, needle) in cases {
            let error = spec
                .instance_of(&schema)
                .map(|v| panic!("{what}: {v} was made"))
                .unwrap_err()
                .to_string();
            assert!(error.contains(needle), "{what}: {error}");
        }
    }

    #[test]
    fn an_explosive_schema_costs_bounded_work() {
        let spec = tricky_spec();
        let started = std::time::Instant::now();
        // 4 × 4 × 4 × (1000 × 1000) if nothing bounded it; Wide4 also recurses.
        let result = spec.instance_of(&json!({"$ref": "#/components/schemas/Wide"}));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
        if let Ok(instance) = result {
            assert_valid(
                &spec,
                "Wide",
                &json!({"$ref": "#/components/schemas/Wide"}),
                &instance,
            );
        }
    }
}
