//! Which generated type models which component of the spec: the table
//! `cargo xtask codegen` writes into the generated crate
//! ([`trillet_api::COMPONENTS`]), so a schema added to the spec is covered by every
//! property of the suite once it is generated, with no line added here.

use serde_json::Value;
use trillet_api::components::Component;

/// The generated model of component `name`, if the generated crate has one.
pub fn component(name: &str) -> Option<&'static Component> {
    trillet_api::COMPONENTS.iter().find(|c| c.name() == name)
}

/// Decodes `text` as the model of component `name` and re-encodes it;
/// `None` if the generated crate models no component `name`.
pub fn round_trip(name: &str, text: &str) -> Option<Result<Value, String>> {
    component(name).map(|c| c.round_trip(text))
}

/// The JSON Schema `schemars` derives for the model of component `name`.
pub fn model_schema(name: &str) -> Option<Value> {
    component(name).map(Component::json_schema)
}
