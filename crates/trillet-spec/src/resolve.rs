//! The one way this workspace follows `$ref`s and walks schemas.
//!
//! Every reader of the spec (the lint, spec-diff, the property strategies, the
//! canonical forms, the mock, the CLI) resolves references through [`resolve`] and
//! bounds its recursion with [`Depth`], so they agree on what a reference means and
//! on where a walk gives up: a dangling or external `$ref` is an error, a chain of
//! `$ref`s that loops is an error, and a walk deeper than [`MAX_DEPTH`] (a recursive
//! schema that every instance must nest forever) is an error, never a silent `null`.

use serde_json::Value;

use crate::SpecError;

/// How deep any walk of a schema goes (nesting and `$ref`s together) before it stops
/// with an error. Deep enough for any real schema; a cycle through required
/// properties reaches it.
pub const MAX_DEPTH: u32 = 64;

/// Follows `node`'s local `$ref` (and the chain, if its target is a `$ref` too) to
/// the node it names in `document`; `node` itself when it is no reference.
///
/// OpenAPI 3.0 ignores a `$ref`'s siblings, and so does this.
pub fn resolve<'a>(document: &'a Value, node: &'a Value) -> Result<&'a Value, SpecError> {
    resolve_named(document, node).map(|(_, target)| target)
}

/// Like [`resolve`], also giving the last `$ref` followed (`None` when `node` is no
/// reference), for callers that name what they resolved.
pub fn resolve_named<'a>(
    document: &'a Value,
    node: &'a Value,
) -> Result<(Option<&'a str>, &'a Value), SpecError> {
    match node.get("$ref") {
        None => Ok((None, node)),
        Some(reference) => {
            let reference = reference
                .as_str()
                .ok_or_else(|| SpecError::new("a `$ref` is not a string"))?;
            let (last, target) = resolve_reference(document, reference)?;
            Ok((Some(last), target))
        }
    }
}

/// The node the reference text `reference` (`#/components/schemas/X`) names in
/// `document`, following a chain of references, with the last reference followed.
pub fn resolve_reference<'a>(
    document: &'a Value,
    reference: &'a str,
) -> Result<(&'a str, &'a Value), SpecError> {
    let mut reference = reference;
    let mut seen: Vec<&str> = Vec::new();
    loop {
        if seen.contains(&reference) {
            seen.push(reference);
            return Err(SpecError::new(format!(
                "`$ref: {reference}` is part of a chain of references that loops ({})",
                seen.join(" → ")
            )));
        }
        seen.push(reference);
        let pointer = reference.strip_prefix('#').ok_or_else(|| {
            SpecError::new(format!(
                "`$ref: {reference}` is not local (only `#/…` references are supported)"
            ))
        })?;
        let target = document
            .pointer(pointer)
            .ok_or_else(|| SpecError::new(format!("`$ref: {reference}` does not resolve")))?;
        match target.get("$ref") {
            None => return Ok((reference, target)),
            Some(next) => {
                reference = next
                    .as_str()
                    .ok_or_else(|| SpecError::new("a `$ref` is not a string"))?;
            }
        }
    }
}

/// The name a `$ref` into `components/schemas` gives (`#/components/schemas/X` → `X`).
pub fn component_name(reference: &str) -> Option<String> {
    let token = reference.strip_prefix("#/components/schemas/")?;
    (!token.contains('/')).then(|| unescape_pointer(token))
}

/// How deep a walk is; [`Depth::deeper`] fails past [`MAX_DEPTH`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Depth(u32);

impl Depth {
    /// The start of a walk.
    pub const ROOT: Depth = Depth(0);

    /// One level deeper; `at` names the place in errors (a JSON pointer).
    pub fn deeper(self, at: &str) -> Result<Depth, SpecError> {
        if self.0 >= MAX_DEPTH {
            return Err(SpecError::new(format!(
                "{at}: the schema nests deeper than {MAX_DEPTH} levels (a recursive schema no \
                 finite instance satisfies?)"
            )));
        }
        Ok(Depth(self.0 + 1))
    }

    /// `levels` deeper at once, for walkers that count levels themselves.
    pub fn deeper_by(self, levels: u32, at: &str) -> Result<Depth, SpecError> {
        match self.0.checked_add(levels) {
            Some(total) if total <= MAX_DEPTH => Ok(Depth(total)),
            _ => Depth(MAX_DEPTH).deeper(at),
        }
    }

    /// The levels walked so far.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// The keywords of an OpenAPI schema whose values are schemas, and how: one schema,
/// a list of them, or a map from names to them. The one definition of "a subschema"
/// that [`subschemas`], [`crate::to_json_schema`] and the walkers share.
pub const SCHEMA_KEYWORDS: &[(&str, Holds)] = &[
    ("properties", Holds::Map),
    ("patternProperties", Holds::Map),
    ("definitions", Holds::Map),
    ("items", Holds::One),
    ("additionalProperties", Holds::One),
    ("not", Holds::One),
    ("allOf", Holds::List),
    ("anyOf", Holds::List),
    ("oneOf", Holds::List),
];

/// How a schema keyword holds schemas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holds {
    /// One schema (`items`, `additionalProperties` when it is an object, `not`).
    One,
    /// A list of schemas (`allOf`, `anyOf`, `oneOf`).
    List,
    /// A map from names to schemas (`properties`).
    Map,
}

/// How `keyword` holds schemas, if it does.
pub fn holds(keyword: &str) -> Option<Holds> {
    SCHEMA_KEYWORDS
        .iter()
        .find(|(k, _)| *k == keyword)
        .map(|(_, h)| *h)
}

/// The direct subschemas of `schema`, each with its JSON pointer relative to
/// `schema` (`/properties/name`, `/items`, `/anyOf/0`…). `$ref`s are not followed;
/// `additionalProperties: true|false` is not a schema here.
pub fn subschemas(schema: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    let Some(map) = schema.as_object() else {
        return out;
    };
    for (keyword, value) in map {
        match (holds(keyword), value) {
            (Some(Holds::One), Value::Object(_)) => out.push((format!("/{keyword}"), value)),
            (Some(Holds::List), Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    out.push((format!("/{keyword}/{i}"), item));
                }
            }
            (Some(Holds::Map), Value::Object(entries)) => {
                for (name, item) in entries {
                    out.push((format!("/{keyword}/{}", escape_pointer(name)), item));
                }
            }
            _ => {}
        }
    }
    out
}

/// Escapes one JSON pointer token (RFC 6901).
pub fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Reverses [`escape_pointer`].
pub fn unescape_pointer(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_chain_resolves_to_its_end_and_names_the_last_reference() {
        let doc = json!({"components": {"schemas": {
            "A": {"$ref": "#/components/schemas/B"},
            "B": {"type": "string"},
        }}});
        let node = json!({"$ref": "#/components/schemas/A"});
        let (name, target) = resolve_named(&doc, &node).unwrap();
        assert_eq!(target, &json!({"type": "string"}));
        assert_eq!(name, Some("#/components/schemas/B"));
        let plain = json!({"type": "integer"});
        assert_eq!(resolve(&doc, &plain).unwrap(), &plain);
    }

    #[test]
    fn loops_dangling_and_external_references_are_errors() {
        let doc = json!({"components": {"schemas": {
            "A": {"$ref": "#/components/schemas/B"},
            "B": {"$ref": "#/components/schemas/A"},
        }}});
        let looped = resolve(&doc, &json!({"$ref": "#/components/schemas/A"})).unwrap_err();
        assert!(looped.to_string().contains("loops"), "{looped}");
        let dangling = resolve(&doc, &json!({"$ref": "#/components/schemas/C"})).unwrap_err();
        assert!(
            dangling.to_string().contains("does not resolve"),
            "{dangling}"
        );
        let external = resolve(&doc, &json!({"$ref": "other.yaml#/X"})).unwrap_err();
        assert!(external.to_string().contains("not local"), "{external}");
        assert!(resolve(&doc, &json!({"$ref": 3})).is_err());
    }

    #[test]
    fn depth_stops_at_the_limit_with_the_place_named() {
        let mut depth = Depth::ROOT;
        for _ in 0..MAX_DEPTH {
            depth = depth.deeper("/x").unwrap();
        }
        let error = depth.deeper("/deep/place").unwrap_err();
        assert!(error.to_string().starts_with("/deep/place:"), "{error}");
    }

    #[test]
    fn subschemas_are_listed_with_their_pointers() {
        let schema = json!({
            "type": "object",
            "properties": {"a/b": {"type": "string"}},
            "additionalProperties": false,
            "items": {"type": "integer"},
            "anyOf": [{"type": "null"}],
            "enum": [{"type": "not a schema"}],
        });
        let mut found: Vec<String> = subschemas(&schema).into_iter().map(|(p, _)| p).collect();
        found.sort();
        assert_eq!(found, ["/anyOf/0", "/items", "/properties/a~1b"]);
        assert_eq!(
            component_name("#/components/schemas/A~1B"),
            Some("A/B".into())
        );
        assert_eq!(component_name("#/components/responses/A"), None);
    }
}
