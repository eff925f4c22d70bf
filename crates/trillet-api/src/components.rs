//! The spec's component schemas and the generated types that model them, as data.
//!
//! `cargo xtask codegen` writes [`COMPONENTS`](crate::COMPONENTS), one [`Component`]
//! per schema under `components/schemas`, so a tool (the property-test suite, a
//! service that wants to check its own traffic) can walk every model without a
//! hand-written table: a schema added to the spec is covered once it is generated.
//!
//! ```
//! let component = trillet_api::COMPONENTS
//!     .iter()
//!     .find(|c| c.name() == "CallHistory")
//!     .expect("generated");
//! // Decode as the model and encode again: unknown keys are kept.
//! let back = component.round_trip(r#"{"_id": "42", "colour": "red"}"#)?;
//! assert_eq!(back["colour"], "red");
//! # Ok::<(), String>(())
//! ```

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// One component schema and the generated type that models it, with the type's
/// codec reachable through plain functions.
#[derive(Clone, Copy)]
pub struct Component {
    name: &'static str,
    rust_type: &'static str,
    round_trip: fn(&str) -> Result<Value, String>,
    stable: fn(&str) -> Result<(), String>,
    json_schema: fn() -> Value,
}

impl fmt::Debug for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Component")
            .field("name", &self.name)
            .field("rust_type", &self.rust_type)
            .finish_non_exhaustive()
    }
}

impl Component {
    /// The component `name`, modelled by `T` (written `rust_type` in this crate).
    pub const fn of<T>(name: &'static str, rust_type: &'static str) -> Self
    where
        T: Serialize + DeserializeOwned + schemars::JsonSchema + PartialEq + fmt::Debug,
    {
        Self {
            name,
            rust_type,
            round_trip: round_trip::<T>,
            stable: stable::<T>,
            json_schema: json_schema::<T>,
        }
    }

    /// The schema's name under `components/schemas`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The Rust type that models it, as written in this crate (`types::CallHistory`).
    pub fn rust_type(&self) -> &'static str {
        self.rust_type
    }

    /// Decodes `text` as the model and encodes the model again, as JSON.
    pub fn round_trip(&self, text: &str) -> Result<Value, String> {
        (self.round_trip)(text)
    }

    /// Decodes `text` as the model, then checks that the model survives its own JSON
    /// text: decoding that text gives an equal model, and encoding it again gives the
    /// same text. `Ok` also when `text` does not decode at all is *not* what this
    /// does: a text that does not decode is an error.
    pub fn survives_its_own_json(&self, text: &str) -> Result<(), String> {
        (self.stable)(text)
    }

    /// The JSON Schema `schemars` derives for the model.
    pub fn json_schema(&self) -> Value {
        (self.json_schema)()
    }
}

fn round_trip<T: Serialize + DeserializeOwned>(text: &str) -> Result<Value, String> {
    let model: T = serde_json::from_str(text).map_err(|e| format!("does not decode: {e}"))?;
    serde_json::to_value(&model).map_err(|e| format!("does not encode: {e}"))
}

fn stable<T: Serialize + DeserializeOwned + PartialEq + fmt::Debug>(
    text: &str,
) -> Result<(), String> {
    let model: T = serde_json::from_str(text).map_err(|e| format!("does not decode: {e}"))?;
    let own = serde_json::to_string(&model).map_err(|e| format!("does not encode: {e}"))?;
    let back: T = serde_json::from_str(&own)
        .map_err(|e| format!("the model's own JSON does not decode: {e}\n  text: {own}"))?;
    if back != model {
        return Err(format!(
            "the model changed through its JSON text\n  before: {model:?}\n  after:  {back:?}\n  text: {own}"
        ));
    }
    let again = serde_json::to_string(&back).map_err(|e| format!("does not encode: {e}"))?;
    if again != own {
        return Err(format!(
            "the model re-encodes differently\n  first:  {own}\n  second: {again}"
        ));
    }
    Ok(())
}

fn json_schema<T: schemars::JsonSchema>() -> Value {
    schemars::schema_for!(T).to_value()
}
