//! Trusted Advisor check item refreshes: which check, its traffic light
//! (ERROR red, WARN yellow, OK green) and what the check item says.

use serde::Deserialize;
use serde_json::Value;

use super::{finish, links, severity_label, Parts};
use crate::events::{common_fields, EventEnvelope};
use crate::markdown::Doc;
use crate::rendered::{FormatOptions, Rendered, Severity};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Refresh {
    #[serde(rename = "check-name")]
    check_name: String,
    #[serde(rename = "check-item-detail")]
    item: serde_json::Map<String, Value>,
    status: String,
    resource_id: String,
}

/// Red (ERROR: action recommended) is high, yellow (WARN: investigation
/// recommended) medium, green info.
pub fn status_severity(status: &str) -> Severity {
    match status {
        "ERROR" => Severity::High,
        "WARN" => Severity::Medium,
        _ => Severity::Info,
    }
}

pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let r: Refresh = env.detail_as()?;
    let severity = status_severity(&r.status);
    let icon = match r.status.as_str() {
        "ERROR" => "🔴",
        "WARN" => "🟡",
        _ => "✅",
    };
    let check = r.check_name.as_str();
    let mut doc = Doc::new(format!("{icon} Trusted Advisor: {check}"));
    doc.field("状态 Status", &format!("{icon} {}", r.status));
    doc.field("严重性 Severity", &severity_label(severity));
    doc.field("检查 Check", check);
    doc.field("资源 Resource", &r.resource_id);
    doc.field("详情 Details", &details(&r.item));
    common_fields(&mut doc, env, opts);
    let link = links::trusted_advisor(&env.region);
    doc.link("在 Trusted Advisor 中查看 Open in Trusted Advisor", &link);
    Some(finish(
        env,
        doc,
        Parts {
            kind: "trusted_advisor_check",
            title: format!("{icon} Trusted Advisor {}: {check}", r.status),
            state: Some(r.status.to_ascii_lowercase()).filter(|s| !s.is_empty()),
            severity,
            link: Some(link),
        },
    ))
}

/// The check item's columns as `Name: value` pairs on one line: a check
/// item's keys are the check's own column names, so they are shown as
/// values, never as labels.
fn details(item: &serde_json::Map<String, Value>) -> String {
    item.iter()
        .filter(|(k, _)| k.as_str() != "Status")
        .filter_map(|(k, v)| match v {
            Value::Null => None,
            Value::String(s) if s.trim().is_empty() => None,
            Value::String(s) => Some(format!("{k}: {s}")),
            other => Some(format!("{k}: {other}")),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_lights_map_onto_the_scale() {
        assert_eq!(status_severity("ERROR"), Severity::High);
        assert_eq!(status_severity("WARN"), Severity::Medium);
        assert_eq!(status_severity("OK"), Severity::Info);
    }
}
