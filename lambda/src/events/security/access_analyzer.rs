//! IAM Access Analyzer findings: a resource that someone outside the zone
//! of trust can reach. Who (the principal), what (the actions), whether the
//! whole internet can, and which analyzer found it.

use serde::Deserialize;
use serde_json::Value;

use super::{finish, links, severity_label, Parts};
use crate::events::{common_fields, EventEnvelope};
use crate::markdown::{time, Doc};
use crate::rendered::{FormatOptions, Rendered, Severity};

/// Actions listed before the rest is counted.
const MAX_ACTIONS: usize = 5;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Finding {
    status: String,
    resource: String,
    resource_type: String,
    principal: serde_json::Map<String, Value>,
    action: Vec<String>,
    is_public: bool,
    is_deleted: bool,
    error: String,
    condition: serde_json::Map<String, Value>,
    analyzed_at: String,
}

/// Public access is high, access by another account medium; an archived,
/// resolved or deleted finding is info, and one Access Analyzer could not
/// analyze (`error`) is low.
fn severity(f: &Finding) -> Severity {
    if f.is_deleted || matches!(f.status.as_str(), "ARCHIVED" | "RESOLVED") {
        Severity::Info
    } else if !f.error.is_empty() {
        Severity::Low
    } else if f.is_public {
        Severity::High
    } else {
        Severity::Medium
    }
}

pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let f: Finding = env.detail_as()?;
    let severity = severity(&f);
    let icon = if severity == Severity::Info {
        "✅"
    } else {
        severity.icon()
    };
    let principal = principal(&f.principal);
    let mut doc = Doc::new(format!(
        "{icon} IAM Access Analyzer 外部访问 Finding: {}",
        f.resource
    ));
    doc.field("状态 Status", &status(&f));
    doc.field("严重性 Severity", &severity_label(severity));
    doc.field(
        "资源 Resource",
        &format!("{} ({})", f.resource, f.resource_type),
    );
    doc.field("外部主体 Principal", &principal);
    doc.field("操作 Actions", &actions(&f.action));
    if f.error.is_empty() {
        doc.field(
            "公开 Public",
            if f.is_public {
                "⚠️ 是 Yes"
            } else {
                "否 No"
            },
        );
    }
    if !f.condition.is_empty() {
        doc.field(
            "条件 Condition",
            &Value::Object(f.condition.clone()).to_string(),
        );
    }
    doc.field("无法分析 Error", &f.error);
    doc.field("分析器 Analyzer", analyzer(&env.resources));
    common_fields(&mut doc, env, opts);
    doc.field(
        "分析时间 Analyzed",
        &time::show(&f.analyzed_at, opts.time_zone),
    );
    let link = links::access_analyzer_findings(&env.region);
    doc.link(
        "在 IAM Access Analyzer 中查看 Open in Access Analyzer",
        &link,
    );
    let to = if principal.is_empty() {
        String::new()
    } else {
        format!(" → {principal}")
    };
    Some(finish(
        env,
        doc,
        Parts {
            kind: "access_analyzer_finding",
            title: format!("{icon} Access Analyzer {}: {}{to}", f.status, f.resource),
            state: Some(f.status.to_ascii_lowercase()).filter(|s| !s.is_empty()),
            severity,
            link: Some(link),
        },
    ))
}

fn status(f: &Finding) -> String {
    if f.is_deleted {
        return format!("{} (已删除 deleted)", f.status);
    }
    f.status.clone()
}

/// `AWS 999988887777`, several joined by `, `.
fn principal(p: &serde_json::Map<String, Value>) -> String {
    p.iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k} {s}"),
            other => format!("{k} {other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn actions(list: &[String]) -> String {
    let mut shown: Vec<String> = list.iter().take(MAX_ACTIONS).cloned().collect();
    if list.len() > MAX_ACTIONS {
        shown.push(format!("+{} 个 more", list.len() - MAX_ACTIONS));
    }
    shown.join(", ")
}

/// The analyzer's name, from the one ARN in `resources`.
fn analyzer(resources: &[String]) -> &str {
    resources
        .first()
        .and_then(|arn| arn.rsplit('/').next())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_is_high_cross_account_medium_closed_info_errors_low() {
        let mut f = Finding {
            status: "ACTIVE".into(),
            ..Finding::default()
        };
        assert_eq!(severity(&f), Severity::Medium);
        f.is_public = true;
        assert_eq!(severity(&f), Severity::High);
        f.error = "ACCESS_DENIED".into();
        assert_eq!(severity(&f), Severity::Low);
        f.status = "RESOLVED".into();
        assert_eq!(severity(&f), Severity::Info);
    }
}
