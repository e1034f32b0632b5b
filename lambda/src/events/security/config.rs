//! AWS Config rule compliance changes, in both forms AWS sends: the
//! EventBridge event "Config Rules Compliance Change" and the SNS
//! notification a delivery channel publishes (the same body, with
//! `messageType` `ComplianceChangeNotification` and no envelope). Both read
//! the same: which rule, which resource, from what to what.

use serde::Deserialize;
use serde_json::Value;

use super::{first, links, severity_label, text};
use crate::events::{common_fields, EventEnvelope};
use crate::markdown::{time, Doc};
use crate::rendered::{AlertKind, FormatOptions, Rendered, Severity};

const KIND: &str = "config_compliance_change";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Change {
    aws_account_id: String,
    aws_region: String,
    config_rule_name: String,
    resource_type: String,
    resource_id: String,
    new_evaluation_result: Value,
    old_evaluation_result: Value,
    notification_creation_time: String,
}

impl Change {
    fn new_state(&self) -> &str {
        text(&self.new_evaluation_result, "/complianceType")
    }

    /// The resource, from the top level or the evaluation's qualifier.
    fn resource(&self) -> String {
        let q = "/evaluationResultIdentifier/evaluationResultQualifier";
        let kind = first(&[
            &self.resource_type,
            text(&self.new_evaluation_result, &format!("{q}/resourceType")),
        ]);
        let id = first(&[
            &self.resource_id,
            text(&self.new_evaluation_result, &format!("{q}/resourceId")),
        ]);
        format!("{kind} {id}").trim().to_string()
    }
}

/// NON_COMPLIANT is medium (a rule's owner decides how bad its rule is;
/// Config has no severity), everything else (COMPLIANT, NOT_APPLICABLE,
/// INSUFFICIENT_DATA) info.
pub fn compliance_severity(compliance: &str) -> Severity {
    if compliance == "NON_COMPLIANT" {
        Severity::Medium
    } else {
        Severity::Info
    }
}

pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let change: Change = env.detail_as()?;
    if change.new_state().is_empty() {
        return None;
    }
    let mut doc = heading(&change);
    common_fields(&mut doc, env, opts);
    let region = first(&[&env.region, &change.aws_region]).to_string();
    Some(finish(
        change,
        doc,
        &region,
        env.source.clone(),
        Some(env.id.clone()),
        opts,
    ))
}

/// The SNS form: JSON with `messageType` `ComplianceChangeNotification`.
pub fn render_notification(value: &Value, opts: &FormatOptions) -> Option<Rendered> {
    if value.get("messageType").and_then(Value::as_str) != Some("ComplianceChangeNotification") {
        return None;
    }
    let change: Change = serde_json::from_value(value.clone()).ok()?;
    if change.new_state().is_empty() {
        return None;
    }
    let mut doc = heading(&change);
    doc.field("账号 Account", &opts.account(&change.aws_account_id));
    doc.field("区域 Region", &change.aws_region);
    let when = time::show(&change.notification_creation_time, opts.time_zone);
    doc.field("时间 Time", &when);
    let region = change.aws_region.clone();
    Some(finish(
        change,
        doc,
        &region,
        "aws.config".into(),
        None,
        opts,
    ))
}

fn icon(compliance: &str) -> &'static str {
    match compliance {
        "NON_COMPLIANT" => "❌",
        "COMPLIANT" => "✅",
        _ => "ℹ️",
    }
}

fn heading(c: &Change) -> Doc {
    let new = c.new_state();
    let mut doc = Doc::new(format!(
        "{} Config 规则合规变化 Compliance change: {}",
        icon(new),
        c.config_rule_name
    ));
    let old = text(&c.old_evaluation_result, "/complianceType");
    let was = if old.is_empty() {
        String::new()
    } else {
        format!(" (之前 was {} {old})", icon(old))
    };
    doc.field("合规 Compliance", &format!("{} {new}{was}", icon(new)));
    doc.field("严重性 Severity", &severity_label(compliance_severity(new)));
    doc.field("规则 Rule", &c.config_rule_name);
    doc.field("资源 Resource", &c.resource());
    doc.field(
        "说明 Annotation",
        text(&c.new_evaluation_result, "/annotation"),
    );
    doc
}

fn finish(
    c: Change,
    mut doc: Doc,
    region: &str,
    source: String,
    event_id: Option<String>,
    opts: &FormatOptions,
) -> Rendered {
    let recorded = text(&c.new_evaluation_result, "/resultRecordedTime");
    doc.field("评估时间 Evaluated", &time::show(recorded, opts.time_zone));
    let link = links::config_rule(region, &c.config_rule_name);
    doc.link("在 Config 控制台查看 Open in AWS Config", &link);
    let new = c.new_state().to_string();
    Rendered {
        message: doc.into_message(format!(
            "{} Config {new}: {} · {}",
            icon(&new),
            c.config_rule_name,
            c.resource()
        )),
        kind: AlertKind::Typed(KIND),
        source,
        event_id: event_id.filter(|s| !s.is_empty()),
        state: Some(new.to_ascii_lowercase()),
        severity: compliance_severity(&new),
        link: Some(link),
        context: None,
        test_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_non_compliant_is_above_info() {
        assert_eq!(compliance_severity("NON_COMPLIANT"), Severity::Medium);
        assert_eq!(compliance_severity("COMPLIANT"), Severity::Info);
        assert_eq!(compliance_severity("INSUFFICIENT_DATA"), Severity::Info);
    }

    #[test]
    fn other_config_notifications_are_not_ours() {
        let opts = FormatOptions::default();
        let item = serde_json::json!({"messageType": "ConfigurationItemChangeNotification"});
        assert!(render_notification(&item, &opts).is_none());
    }
}
