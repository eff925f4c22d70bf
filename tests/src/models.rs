//! Which generated type models which component of the spec. The generator picks the
//! Rust names, so this table is the one hand-written link between the two; a test
//! (`every_spec_component_has_a_model_type`) fails when a component is missing here.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use trillet_api::types;

macro_rules! registry {
    ($($name:literal => $ty:ty),* $(,)?) => {
        /// The spec components with a registered model type.
        pub const COMPONENTS: &[&str] = &[$($name),*];

        /// Decodes `text` as the model of component `name` and re-encodes it;
        /// `None` if no model type is registered for `name`.
        pub fn round_trip(name: &str, text: &str) -> Option<Result<Value, String>> {
            match name {
                $($name => Some(round_trip_as::<$ty>(text)),)*
                _ => None,
            }
        }

        /// The JSON Schema `schemars` derives for the model of component `name`.
        pub fn model_schema(name: &str) -> Option<Value> {
            match name {
                $($name => Some(schemars::schema_for!($ty).to_value()),)*
                _ => None,
            }
        }
    };
}

registry! {
    "CallHistory" => types::CallHistory,
    "CallHistorySummary" => types::CallHistorySummary,
    "CallType" => types::CallType,
    "CallDirection" => trillet_api::Direction,
    "CallStatus" => trillet_api::Status,
    "CallCost" => types::CallCost,
    "AnalyzedData" => types::AnalyzedData,
    "FunctionCall" => types::FunctionCall,
    "ErrorEnvelope" => types::ErrorEnvelope,
    "ApiError" => types::ApiError,
}

fn round_trip_as<T: DeserializeOwned + Serialize>(text: &str) -> Result<Value, String> {
    let model: T = serde_json::from_str(text).map_err(|e| format!("does not decode: {e}"))?;
    serde_json::to_value(&model).map_err(|e| format!("does not encode: {e}"))
}
