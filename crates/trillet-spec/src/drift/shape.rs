//! What the values at a place the spec does not describe looked like, so that the
//! suggestion can describe them as deep as the records went instead of as a
//! free-form `object`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::{VALUE_CHARS, json_type};
use crate::MAX_DEPTH;

/// The JSON types of the values seen at one place and, for objects and arrays,
/// what they held: each property (with its own shape) and the items. Bounded: at
/// most [`Shape::PLACES`] properties and item places are tracked in one shape, and
/// nothing deeper than [`MAX_DEPTH`] levels; what is not tracked is described as
/// anything (`additionalProperties: {}`, `items: {}`), so a suggestion made from a
/// shape never refuses a value that was seen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shape {
    types: BTreeSet<&'static str>,
    properties: BTreeMap<String, Shape>,
    items: Option<Box<Shape>>,
    /// Properties tracked in this shape and all below it (kept at the root).
    places: usize,
}

impl Shape {
    /// How many properties and item places one shape tracks, at all depths.
    pub const PLACES: usize = 256;

    /// Adds one value seen.
    pub(super) fn observe(&mut self, value: &Value) {
        let mut budget = Self::PLACES.saturating_sub(self.places);
        let before = budget;
        self.add(value, &mut budget, 0);
        self.places += before - budget;
    }

    fn add(&mut self, value: &Value, budget: &mut usize, depth: u32) {
        self.types.insert(json_type(value));
        if depth >= MAX_DEPTH {
            return;
        }
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    if let Some(shape) = self.properties.get_mut(key) {
                        shape.add(child, budget, depth + 1);
                    } else if *budget > 0 && key.chars().count() <= VALUE_CHARS {
                        *budget -= 1;
                        let mut shape = Shape::default();
                        shape.add(child, budget, depth + 1);
                        self.properties.insert(key.clone(), shape);
                    }
                }
            }
            Value::Array(values) => {
                for item in values {
                    match &mut self.items {
                        Some(shape) => shape.add(item, budget, depth + 1),
                        None if *budget > 0 => {
                            *budget -= 1;
                            let mut shape = Shape::default();
                            shape.add(item, budget, depth + 1);
                            self.items = Some(Box::new(shape));
                        }
                        None => break,
                    }
                }
            }
            _ => {}
        }
    }

    /// Adds what `other` saw (the same property seen in another place).
    pub(super) fn merge(&mut self, other: &Shape) {
        self.types.extend(other.types.iter().copied());
        for (key, shape) in &other.properties {
            self.properties.entry(key.clone()).or_default().merge(shape);
        }
        if let Some(items) = &other.items {
            self.items.get_or_insert_with(Box::default).merge(items);
        }
        self.places = self.places.max(other.places);
    }

    /// The JSON types seen (`integer` for whole numbers), in order.
    pub fn types(&self) -> Vec<&'static str> {
        self.types.iter().copied().collect()
    }

    /// The properties seen in objects here, by name.
    pub fn properties(&self) -> impl Iterator<Item = (&str, &Shape)> {
        self.properties.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// What the items of arrays here held, if any item was seen.
    pub fn items(&self) -> Option<&Shape> {
        self.items.as_deref()
    }

    /// An OpenAPI 3.0 schema that describes every value seen and stays open: one
    /// type when all values had one (integers as `number`, so a later fraction still
    /// fits; `nullable` when `null` was seen too), none when they disagree; an
    /// object's properties described the same way, all optional, with
    /// `additionalProperties: {}`; an array's items likewise.
    pub fn schema(&self) -> Value {
        let nullable = self.types.contains("null");
        let kinds: BTreeSet<&str> = self
            .types
            .iter()
            .filter(|t| **t != "null")
            .map(|t| if *t == "integer" { "number" } else { *t })
            .collect();
        let mut schema = Map::new();
        if let [kind] = kinds.into_iter().collect::<Vec<_>>()[..] {
            schema.insert("type".into(), Value::from(kind));
            match kind {
                "object" => {
                    if !self.properties.is_empty() {
                        let properties: Map<String, Value> = self
                            .properties
                            .iter()
                            .map(|(k, v)| (k.clone(), v.schema()))
                            .collect();
                        schema.insert("properties".into(), Value::Object(properties));
                    }
                    schema.insert("additionalProperties".into(), json!({}));
                }
                "array" => {
                    let items = self
                        .items
                        .as_ref()
                        .map_or_else(|| json!({}), |i| i.schema());
                    schema.insert("items".into(), items);
                }
                _ => {}
            }
            if nullable {
                schema.insert("nullable".into(), Value::Bool(true));
            }
        }
        Value::Object(schema)
    }
}
