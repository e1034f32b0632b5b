//! Security findings and sign-ins: Security Hub, Inspector, IAM Access
//! Analyzer, CloudTrail, Config, ECR scans, Trusted Advisor. One module per
//! source; this table picks one by `source` and `detail-type`.
//!
//! Each source's own scale (ASFF labels, Inspector's severities, a root
//! sign-in, a NON_COMPLIANT rule) is mapped onto [`Severity`] in its module;
//! the mapping is documented in `docs/design.md` ("Severity").

pub mod access_analyzer;
pub mod cloudtrail;
pub mod config;
pub mod ecr;
pub mod inspector;
mod links;
pub mod securityhub;
pub mod trusted_advisor;

use serde_json::Value;

use super::EventEnvelope;
use crate::markdown::Doc;
use crate::rendered::{AlertKind, FormatOptions, Rendered, Severity};

/// `None` when the type is not one of ours or its `detail` does not parse.
pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    match (env.source.as_str(), env.detail_type.as_str()) {
        ("aws.securityhub", "Security Hub Findings - Imported") => securityhub::render(env, opts),
        ("aws.inspector2", "Inspector2 Finding") => inspector::render(env, opts),
        ("aws.access-analyzer", "Access Analyzer Finding") => access_analyzer::render(env, opts),
        (_, "AWS Console Sign In via CloudTrail") => cloudtrail::render_sign_in(env, opts),
        (_, "AWS API Call via CloudTrail") => cloudtrail::render_api_call(env, opts),
        ("aws.config", "Config Rules Compliance Change") => config::render(env, opts),
        ("aws.ecr", "ECR Image Scan") => ecr::render(env, opts),
        ("aws.trustedadvisor", "Trusted Advisor Check Item Refresh Notification") => {
            trusted_advisor::render(env, opts)
        }
        _ => None,
    }
}

/// JSON without an envelope that one of ours sends to SNS: AWS Config's
/// compliance change notification.
pub fn render_notification(value: &Value, opts: &FormatOptions) -> Option<Rendered> {
    config::render_notification(value, opts)
}

/// `🔴 严重 Critical`: the one way every security message names a severity.
pub fn severity_label(severity: Severity) -> String {
    let words = match severity {
        Severity::Critical => "严重 Critical",
        Severity::High => "高 High",
        Severity::Medium => "中 Medium",
        Severity::Low => "低 Low",
        Severity::Info => "信息 Informational",
    };
    format!("{} {words}", severity.icon())
}

/// What every typed security message hands back; `state` is what
/// `at_all_on` is matched against.
pub(crate) struct Parts {
    pub kind: &'static str,
    pub title: String,
    pub state: Option<String>,
    pub severity: Severity,
    pub link: Option<String>,
}

pub(crate) fn finish(env: &EventEnvelope, doc: Doc, parts: Parts) -> Rendered {
    Rendered {
        message: doc.into_message(parts.title),
        kind: AlertKind::Typed(parts.kind),
        source: env.source.clone(),
        event_id: Some(env.id.clone()).filter(|s| !s.is_empty()),
        state: parts.state,
        severity: parts.severity,
        link: parts.link,
        context: None,
        test_id: None,
    }
}

/// A string at `pointer` in `v`, trimmed; `""` when absent or not a string.
pub(crate) fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
}

/// The first non-empty of `values`.
pub(crate) fn first<'a>(values: &[&'a str]) -> &'a str {
    values
        .iter()
        .copied()
        .find(|s| !s.trim().is_empty())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_severity_has_its_label() {
        let labels: Vec<String> = Severity::ALL.into_iter().map(severity_label).collect();
        assert_eq!(
            labels,
            [
                "ℹ️ 信息 Informational",
                "🔵 低 Low",
                "🟡 中 Medium",
                "🟠 高 High",
                "🔴 严重 Critical"
            ]
        );
    }
}
