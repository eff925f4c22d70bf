//! `spec/trillet.yaml` as data, for everything that checks against it at run time:
//! the lint, the mock server, the CLI and the test suite read the spec through this
//! crate. Parameter values given as text are typed and checked in [`params`].
//!
//! OpenAPI 3.0 schemas are almost JSON Schema; [`to_json_schema`] converts the rest
//! (`nullable`, OpenAPI-only keywords) so the `jsonschema` crate can validate
//! instances against any component schema, with `$ref`s resolved in place.
//!
//! With the `validate` feature (on by default):
//!
//! ```
//! # #[cfg(feature = "validate")] {
//! let spec = trillet_spec::Spec::bundled()?;
//! let validator = spec.validator("CallHistory")?;
//! assert!(validator.problems(&serde_json::json!({"_id": "42"})).is_empty());
//! assert_eq!(validator.problems(&serde_json::json!({"startTime": "abc"}))[0].pointer, "/startTime");
//! # }
//! # Ok::<(), trillet_spec::SpecError>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

pub mod drift;
#[cfg(feature = "validate")]
pub mod instance;
pub mod operation;
#[cfg(feature = "validate")]
pub mod params;
pub mod resolve;

pub use operation::{Operation, Parameter, Response, SecurityScheme};
#[cfg(feature = "validate")]
pub use params::{
    ParameterCheck, ParameterProblem, ProblemKind, TypedParameter, ValueKind, ValueRule,
};
pub use resolve::{
    Depth, MAX_DEPTH, escape_pointer, resolve, resolve_named, resolve_reference, subschemas,
    unescape_pointer,
};

use serde_json::{Map, Value};

/// The spec's text, as compiled into this crate.
pub const SPEC_YAML: &str = include_str!("../spec/trillet.yaml");

/// The spec's example records, as compiled into this crate: `(file name, text)`.
pub const EXAMPLE_FILES: &[(&str, &str)] = &[
    (
        "call-history.seed.json",
        include_str!("../spec/examples/call-history.seed.json"),
    ),
    (
        "call-history.ongoing.json",
        include_str!("../spec/examples/call-history.ongoing.json"),
    ),
    (
        "call-history.unknown-fields.json",
        include_str!("../spec/examples/call-history.unknown-fields.json"),
    ),
    (
        "call-history.minimal.json",
        include_str!("../spec/examples/call-history.minimal.json"),
    ),
    (
        "error.400.json",
        include_str!("../spec/examples/error.400.json"),
    ),
    (
        "error.401.json",
        include_str!("../spec/examples/error.401.json"),
    ),
    (
        "error.403.json",
        include_str!("../spec/examples/error.403.json"),
    ),
    (
        "error.404.json",
        include_str!("../spec/examples/error.404.json"),
    ),
    (
        "error.429.json",
        include_str!("../spec/examples/error.429.json"),
    ),
    (
        "error.500.json",
        include_str!("../spec/examples/error.500.json"),
    ),
];

/// The path of `spec/` in this workspace, for tools that read the files themselves.
pub fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec")
}

/// Why the spec or an example could not be used.
#[derive(Clone, Debug)]
pub struct SpecError(String);

impl SpecError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The same error, said to be at `place` (`GET /a: …`).
    pub fn within(self, place: &str) -> Self {
        Self(format!("{place}: {}", self.0))
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

/// A parsed spec.
#[derive(Clone, Debug)]
pub struct Spec {
    document: Value,
}

impl Spec {
    /// A spec from a document already parsed (spec-diff holds two).
    pub fn from_document(document: Value) -> Result<Self, SpecError> {
        if !document.is_object() {
            return Err(SpecError("the spec is not a mapping".into()));
        }
        Ok(Self { document })
    }

    /// Parses spec text (YAML or JSON).
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        let document: Value = serde_norway::from_str(text)
            .map_err(|e| SpecError(format!("the spec is not valid YAML: {e}")))?;
        if !document.is_object() {
            return Err(SpecError("the spec is not a YAML mapping".into()));
        }
        Ok(Self { document })
    }

    /// The spec compiled into this crate ([`SPEC_YAML`]).
    ///
    /// Parsed once per process (the YAML is thousands of lines, and the CLI, the
    /// mock and drift each ask for it); each call gets its own copy.
    pub fn bundled() -> Result<Self, SpecError> {
        static PARSED: std::sync::OnceLock<Result<Spec, SpecError>> = std::sync::OnceLock::new();
        PARSED.get_or_init(|| Self::parse(SPEC_YAML)).clone()
    }

    /// The whole document as JSON.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// The names under `components/schemas`, sorted.
    pub fn schema_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .document
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        names.sort_unstable();
        names
    }

    /// The OpenAPI schema object `components/schemas/<name>`.
    pub fn schema(&self, name: &str) -> Option<&Value> {
        self.document
            .pointer(&format!("/components/schemas/{}", escape_pointer(name)))
    }

    /// A self-contained JSON Schema document for `components/schemas/<name>`.
    pub fn json_schema(&self, name: &str) -> Result<Value, SpecError> {
        self.schema(name)
            .ok_or_else(|| SpecError(format!("the spec has no schema named `{name}`")))?;
        Ok(self.json_schema_of(&serde_json::json!({
            "$ref": format!("#/components/schemas/{}", escape_pointer(name))
        })))
    }

    /// A self-contained JSON Schema document for an OpenAPI schema written in this
    /// spec (inline, or a `$ref` into `components/schemas`).
    ///
    /// Only the components `schema` reaches through `$ref`s go into the document:
    /// with every component in each one, building a validator per operation cost
    /// time in the number of operations times the number of schemas (4.5 s to start
    /// the mock on 60 operations, in a debug build).
    pub fn json_schema_of(&self, schema: &Value) -> Value {
        let all = self.document.pointer("/components/schemas");
        let mut reached = Map::new();
        let mut pending = Vec::new();
        collect_component_refs(schema, &mut pending);
        while let Some(name) = pending.pop() {
            if reached.contains_key(&name) {
                continue;
            }
            let Some(component) = all.and_then(|a| a.get(&name)) else {
                continue; // an unknown `$ref` stays one: the validator says so
            };
            collect_component_refs(component, &mut pending);
            reached.insert(name, to_json_schema(component));
        }
        serde_json::json!({
            "allOf": [to_json_schema(schema)],
            "components": { "schemas": Value::Object(reached) },
        })
    }

    /// A validator for instances of `components/schemas/<name>`, checking formats too.
    #[cfg(feature = "validate")]
    pub fn validator(&self, name: &str) -> Result<SchemaValidator, SpecError> {
        let schema = self.json_schema(name)?;
        SchemaValidator::build(name, &schema)
    }

    /// A validator for an OpenAPI schema written in this spec (such as a
    /// [`Parameter::schema`]); `name` says in errors what it is.
    #[cfg(feature = "validate")]
    pub fn validator_of(&self, name: &str, schema: &Value) -> Result<SchemaValidator, SpecError> {
        SchemaValidator::build(name, &self.json_schema_of(schema))
    }
}

/// The extension that gives a string parameter's JSON-encoded shape, written as
/// OpenAPI's `content` would be (`x-content: {application/json: {schema: …}}`).
/// progenitor 0.15 refuses `content` on parameters, so the spec keeps `schema`
/// (a string with a `pattern` that only JSON of that shape matches) and says the
/// decoded shape here.
pub const JSON_CONTENT: &str = "x-content";

impl Spec {
    /// The `type` of an OpenAPI schema written in this spec, through `$ref`s
    /// (`None` when it names no single type).
    pub fn type_of<'a>(&'a self, schema: &'a Value) -> Option<&'a str> {
        resolve::resolve(&self.document, schema)
            .ok()?
            .get("type")
            .and_then(Value::as_str)
    }

    /// Follows `node`'s `$ref` chain in this spec ([`resolve::resolve`]).
    pub fn resolve<'a>(&'a self, node: &'a Value) -> Result<&'a Value, SpecError> {
        resolve::resolve(&self.document, node)
    }

    /// Every `example` written inline in the spec, with the schema it must satisfy
    /// (where one can be named) and the JSON pointer where it is written.
    pub fn inline_examples(&self) -> Vec<InlineExample> {
        let mut found = Vec::new();
        collect_examples(&self.document, String::new(), &mut found);
        found
    }
}

/// An `example` found in the spec.
#[derive(Clone, Debug)]
pub struct InlineExample {
    /// JSON pointer of the `example` value in the spec.
    pub pointer: String,
    /// The schema the example must satisfy, inlined or resolved (`None` if absent).
    pub schema: Option<Value>,
    /// The example itself.
    pub value: Value,
}

fn collect_examples(node: &Value, pointer: String, out: &mut Vec<InlineExample>) {
    match node {
        Value::Object(map) => {
            if let Some(value) = map.get("example") {
                // `example` beside `schema` (media types, parameters) or inside a schema.
                let schema = match map.get("schema") {
                    Some(schema) => Some(schema.clone()),
                    None if looks_like_schema(map) => Some(Value::Object(map.clone())),
                    None => None,
                };
                out.push(InlineExample {
                    pointer: format!("{pointer}/example"),
                    schema,
                    value: value.clone(),
                });
            }
            for (key, child) in map {
                if key != "example" {
                    collect_examples(child, format!("{pointer}/{}", escape_pointer(key)), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_examples(child, format!("{pointer}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn looks_like_schema(map: &Map<String, Value>) -> bool {
    [
        "type",
        "anyOf",
        "oneOf",
        "allOf",
        "properties",
        "enum",
        "$ref",
    ]
    .iter()
    .any(|k| map.contains_key(*k))
}

/// Validates instances of one component schema.
#[cfg(feature = "validate")]
pub struct SchemaValidator {
    name: String,
    validator: jsonschema::Validator,
}

#[cfg(feature = "validate")]
impl fmt::Debug for SchemaValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemaValidator")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// One way an instance fails its schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// JSON pointer into the instance (`""` for the whole instance).
    pub pointer: String,
    /// What is wrong there.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.message)
    }
}

#[cfg(feature = "validate")]
impl SchemaValidator {
    fn build(name: &str, schema: &Value) -> Result<Self, SpecError> {
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .should_validate_formats(true)
            .build(schema)
            .map_err(|e| SpecError(format!("schema `{name}` is not valid JSON Schema: {e}")))?;
        Ok(Self {
            name: name.to_owned(),
            validator,
        })
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every problem with `instance`, empty when it is valid.
    pub fn problems(&self, instance: &Value) -> Vec<Problem> {
        self.validator
            .iter_errors(instance)
            .map(|e| Problem {
                pointer: e.instance_path().to_string(),
                message: e.to_string(),
            })
            .collect()
    }

    /// Whether `instance` is valid.
    pub fn is_valid(&self, instance: &Value) -> bool {
        self.validator.is_valid(instance)
    }
}

/// The component schema an example file must satisfy, from its name
/// (`call-history.*.json` → `CallHistory`, `error.*.json` → `ErrorEnvelope`).
pub fn schema_for_example_file(file_name: &str) -> Option<&'static str> {
    if !file_name.ends_with(".json") {
        return None;
    }
    if file_name.starts_with("call-history.") {
        Some("CallHistory")
    } else if file_name.starts_with("error.") {
        Some("ErrorEnvelope")
    } else {
        None
    }
}

/// The HTTP status an `error.<status>.json` example is served with.
pub fn status_of_error_example(file_name: &str) -> Option<u16> {
    file_name
        .strip_prefix("error.")?
        .strip_suffix(".json")?
        .parse()
        .ok()
}

/// Converts an OpenAPI 3.0 schema (or a map of them) into JSON Schema: `nullable`
/// becomes a `null` alternative; OpenAPI-only keywords are dropped.
pub fn to_json_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                match key.as_str() {
                    "nullable" | "example" | "discriminator" | "xml" | "externalDocs" => {}
                    // OpenAPI 3.0's boolean form: `minimum: 5, exclusiveMinimum: true`
                    // is JSON Schema's `exclusiveMinimum: 5`.
                    "exclusiveMinimum" | "exclusiveMaximum" if value.is_boolean() => {
                        let bound = if key == "exclusiveMinimum" {
                            "minimum"
                        } else {
                            "maximum"
                        };
                        if value == &Value::Bool(true)
                            && let Some(limit) = map.get(bound)
                        {
                            out.insert(key.clone(), limit.clone());
                        }
                    }
                    "minimum" | "maximum"
                        if map.get(if key == "minimum" {
                            "exclusiveMinimum"
                        } else {
                            "exclusiveMaximum"
                        }) == Some(&Value::Bool(true)) => {}
                    _ => {
                        let converted = match resolve::holds(key) {
                            // Maps from names to schemas: convert each value.
                            Some(resolve::Holds::Map) => map_to_json_schema(value),
                            Some(_) => to_json_schema(value),
                            // `enum`, `required`, `default`, descriptions: data, not schemas.
                            None => value.clone(),
                        };
                        out.insert(key.clone(), converted);
                    }
                }
            }
            if map.get("nullable") == Some(&Value::Bool(true)) {
                serde_json::json!({ "anyOf": [Value::Object(out), { "type": "null" }] })
            } else {
                Value::Object(out)
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
}

/// Converts a map from names to OpenAPI schemas (such as `components/schemas`).
/// The names of the `components/schemas` entries `node` refers to (`$ref`s at any
/// depth), pointer escapes undone.
fn collect_component_refs(node: &Value, out: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                out.push(name.replace("~1", "/").replace("~0", "~"));
            }
            map.values().for_each(|v| collect_component_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_component_refs(v, out)),
        _ => {}
    }
}

pub fn map_to_json_schema(schemas: &Value) -> Value {
    let converted = schemas
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), to_json_schema(v)))
                .collect()
        })
        .unwrap_or_default();
    Value::Object(converted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nullable_becomes_a_null_alternative() {
        let converted =
            to_json_schema(&json!({"type": "string", "nullable": true, "example": "x"}));
        assert_eq!(
            converted,
            json!({"anyOf": [{"type": "string"}, {"type": "null"}]})
        );
    }

    #[test]
    fn boolean_exclusive_bounds_become_numeric_ones() {
        assert_eq!(
            to_json_schema(&json!({"minimum": 5, "exclusiveMinimum": true, "maximum": 9})),
            json!({"exclusiveMinimum": 5, "maximum": 9})
        );
        assert_eq!(
            to_json_schema(&json!({"maximum": 5, "exclusiveMaximum": false})),
            json!({"maximum": 5})
        );
    }

    #[test]
    fn the_component_map_is_converted_schema_by_schema() {
        let converted = map_to_json_schema(
            &json!({"A": {"properties": {"x": {"type": "number", "nullable": true}}}}),
        );
        // A map of schemas is an object whose values are schemas; `A` is kept.
        assert_eq!(
            converted.pointer("/A/properties/x/anyOf/1/type"),
            Some(&json!("null"))
        );
    }

    #[cfg(feature = "validate")]
    #[test]
    fn validator_reports_the_pointer_of_each_problem() {
        let spec = Spec::bundled().unwrap();
        let v = spec.validator("CallHistory").unwrap();
        let problems = v.problems(
            &json!({"_id": 3, "createdAt": "yesterday", "cost": {"customer_charge": "1"}}),
        );
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert!(pointers.contains(&"/_id"), "{problems:?}");
        assert!(pointers.contains(&"/createdAt"), "{problems:?}");
        assert!(pointers.contains(&"/cost/customer_charge"), "{problems:?}");
    }

    #[cfg(feature = "validate")]
    #[test]
    fn open_sets_accept_unknown_strings_but_not_other_types() {
        let spec = Spec::bundled().unwrap();
        let v = spec.validator("CallHistory").unwrap();
        assert!(v.is_valid(&json!({"direction": "sideways", "status": "ringing"})));
        assert!(!v.is_valid(&json!({"direction": 1})));
    }

    #[test]
    fn example_files_name_their_schema() {
        assert_eq!(
            schema_for_example_file("call-history.seed.json"),
            Some("CallHistory")
        );
        assert_eq!(
            schema_for_example_file("error.429.json"),
            Some("ErrorEnvelope")
        );
        assert_eq!(schema_for_example_file("notes.md"), None);
        assert_eq!(status_of_error_example("error.429.json"), Some(429));
    }

    #[test]
    fn every_example_file_on_disk_is_compiled_in() {
        let mut on_disk: Vec<String> = std::fs::read_dir(spec_dir().join("examples"))
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".json"))
            .collect();
        on_disk.sort();
        let mut compiled: Vec<String> = EXAMPLE_FILES.iter().map(|(n, _)| n.to_string()).collect();
        compiled.sort();
        assert_eq!(on_disk, compiled, "add new example files to EXAMPLE_FILES");
    }
}
