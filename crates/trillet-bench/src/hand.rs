//! The hand-written baseline: the `CallHistory` record as a careful person would
//! write it with `#[derive(Deserialize, Serialize)]`, field for field what the
//! generated model has, with the same serde attributes where they matter.
//!
//! | field(s) | generated (`trillet_api::types::CallHistory`) | here |
//! |---|---|---|
//! | `_id`, `workspaceId`, `agentId`, `callFlowId`, `roomName`, phone numbers, `summary` | `Option<String>` | same |
//! | `direction`, `status` | `Option<Direction>` / `Option<Status>` (open enums, decoded via `String`) | `Option<String>` |
//! | `startTime`, `endTime` | `Option<f64>` | same |
//! | `createdAt`, `updatedAt` | `Option<chrono::DateTime<Utc>>` | same (`D`), or `Option<String>` in [`HandStringDates`] |
//! | `cost` | `Option<CallCost>`: `customer_charge: Option<f64>` + `#[serde(flatten)] extra` | same shape |
//! | `analyzedData` | `Option<AnalyzedData>`: `additional_field: Option<String>` + flatten `extra` | same shape |
//! | `metadata` | `Map<String, Value>`, `default`, skipped when empty | same |
//! | `functionCalls` | `Vec<FunctionCall>` (a transparent `Map`), `default`, skipped when empty | `Vec<Map<String, Value>>` |
//! | unknown keys | `#[serde(flatten)] extra: Map<String, Value>` | same |
//!
//! Every `Option` is skipped when `None` on encode, as in the generated model. What
//! the baseline leaves out: the generated derives of `JsonSchema` and `PartialEq`
//! (no run-time cost on decode or encode) and the builders.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The record with dates of type `D`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandCallHistory<D> {
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_flow_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<HandCost>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub function_calls: Vec<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analyzed_data: Option<HandAnalyzedData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<D>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<D>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `cost`: the documented key and whatever else the server sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HandCost {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_charge: Option<f64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `analyzedData`: the documented key and whatever else the server sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HandAnalyzedData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_field: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The baseline of the decode and encode goals: chrono dates, like the generated model.
pub type Hand = HandCallHistory<chrono::DateTime<chrono::Utc>>;

/// The same struct with `String` dates (no date parsing): progenitor-notes' baseline.
pub type HandStringDates = HandCallHistory<String>;
