//! The events we know, as typed structs parsed from the EventBridge envelope,
//! and the table that picks one by `source` and `detail-type`.
//!
//! Each module parses its `detail` and renders it (Cost Anomaly Detection's
//! SNS notification has no envelope: [`render_notification`]); a detail that does not
//! match its type returns `None` and the event is shown generically instead.
//! Adding an event type touches only this folder.

pub mod abuse;
pub mod alarm;
mod alarm_sns;
pub mod cost_anomaly;
pub mod ec2;
mod generic;
pub mod guardduty;
pub mod health;
pub mod operations;
pub mod security;

use serde::Deserialize;
use serde_json::Value;

use crate::markdown::{time, Doc};
use crate::rendered::{FormatOptions, Rendered, TEST_EVENT_SOURCE};

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

/// Renders an EventBridge event: its typed message when we know the type and
/// its `detail` parses, else the generic one.
pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Rendered {
    let typed = match (env.source.as_str(), env.detail_type.as_str()) {
        ("aws.health", "AWS Health Event") => health::render(env, opts),
        ("aws.health", "AWS Health Abuse Event") => abuse::render(env, opts),
        ("aws.ec2", "EC2 Instance State-change Notification") => ec2::render(env, opts),
        ("aws.cloudwatch", "CloudWatch Alarm State Change") => alarm::render(env, opts),
        ("aws.guardduty", "GuardDuty Finding") => guardduty::render(env, opts),
        _ => security::render(env, opts).or_else(|| operations::render(env, opts)),
    };
    let mut rendered = typed.unwrap_or_else(|| generic::render(env, opts));
    let when = time::short(&env.time, opts.time_zone);
    // A digest line names the account only when it has a name: the id alone
    // would crowd a line that a single-account group does not need it on.
    let named = opts.account_names.get(&env.account).map(String::as_str);
    let context: Vec<&str> = [named.unwrap_or(""), env.region.as_str(), when.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    rendered.context = Some(context.join(" · ")).filter(|s| !s.is_empty());
    if env.source == TEST_EVENT_SOURCE {
        rendered.test_id = env.detail["test_id"].as_str().map(str::to_string);
    }
    rendered
}

/// Renders JSON that is not an EventBridge event when it is a notification
/// we know (a CloudWatch alarm action's SNS message, Cost Anomaly
/// Detection's, a Config rule's); `None` otherwise.
pub fn render_notification(value: &Value, opts: &FormatOptions) -> Option<Rendered> {
    alarm_sns::render_notification(value, opts)
        .or_else(|| cost_anomaly::render_notification(value))
        .or_else(|| security::render_notification(value, opts))
}

/// Renders plain text that a service we know publishes to SNS with its
/// own subject (AWS Budgets, AWS Backup); `None` for any other text.
pub fn render_text_notification(text: &str, subject: Option<&str>) -> Option<Rendered> {
    operations::render_text(text, subject)
}

/// Header lines every event message carries: account, region, time.
pub fn common_fields(doc: &mut Doc, env: &EventEnvelope, opts: &FormatOptions) {
    doc.field("账号 Account", &opts.account(&env.account));
    doc.field("区域 Region", &env.region);
    doc.field("时间 Time", &time::show(&env.time, opts.time_zone));
}
