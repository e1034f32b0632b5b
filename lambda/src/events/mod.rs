//! The events we know, as typed structs parsed from the EventBridge envelope.
//!
//! Each module parses its `detail` and renders it; a detail that does not
//! match its type returns `None` and the event is shown generically instead.

pub mod abuse;
pub mod alarm;
pub mod ec2;
pub mod health;

use serde::Deserialize;
use serde_json::Value;

/// The EventBridge envelope every AWS event shares.
#[derive(Debug, Clone, Deserialize)]
pub struct EventEnvelope {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub source: String,
    #[serde(default)]
    pub account: String,
    #[serde(default)]
    pub time: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub detail: Value,
}

impl EventEnvelope {
    /// `Some` only for JSON that is an EventBridge event (has `source` and `detail-type`).
    pub fn from_value(v: &Value) -> Option<EventEnvelope> {
        let obj = v.as_object()?;
        if !obj.contains_key("detail-type") || !obj.contains_key("source") {
            return None;
        }
        serde_json::from_value(v.clone()).ok()
    }

    /// Parses `detail` into the type's struct.
    pub fn detail_as<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_value(self.detail.clone()).ok()
    }
}
