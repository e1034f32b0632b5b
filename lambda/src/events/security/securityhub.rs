//! Security Hub "Findings - Imported" (ASFF): one finding per event. What
//! the person on call needs: how bad (the ASFF label), whether the control
//! failed, whether anyone is on it (workflow), what and where, and the
//! finding one tap away. A finding that was resolved, suppressed, archived
//! or now passes is news that something got better, not an alarm.

use serde::Deserialize;
use serde_json::Value;

use super::{finish, first, links, severity_label, Parts};
use crate::events::{common_fields, EventEnvelope};
use crate::markdown::{clip, time, Doc};
use crate::rendered::{FormatOptions, Rendered, Severity};

const DESCRIPTION_BYTES: usize = 600;

#[derive(Debug, Deserialize)]
struct Detail {
    findings: Vec<Finding>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Finding {
    id: String,
    product_arn: String,
    product_name: String,
    company_name: String,
    aws_account_id: String,
    region: String,
    title: String,
    description: String,
    severity: Label,
    compliance: Status,
    workflow: Status,
    record_state: String,
    resources: Vec<Resource>,
    product_fields: serde_json::Map<String, Value>,
    updated_at: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Label {
    label: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Status {
    status: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Resource {
    #[serde(rename = "Type")]
    kind: String,
    id: String,
}

/// ASFF's labels are the scale's, INFORMATIONAL being info.
pub fn label_severity(label: &str) -> Severity {
    match label.to_ascii_uppercase().as_str() {
        "CRITICAL" => Severity::Critical,
        "HIGH" => Severity::High,
        "MEDIUM" => Severity::Medium,
        "LOW" => Severity::Low,
        _ => Severity::Info,
    }
}

impl Finding {
    /// Closed by someone (workflow RESOLVED or SUPPRESSED), gone (record
    /// ARCHIVED) or fixed (compliance PASSED).
    fn is_resolved(&self) -> bool {
        matches!(self.workflow.status.as_str(), "RESOLVED" | "SUPPRESSED")
            || self.record_state == "ARCHIVED"
            || self.compliance.status == "PASSED"
    }

    fn field(&self, key: &str) -> &str {
        self.product_fields
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    fn product(&self) -> String {
        let name = first(&[
            &self.product_name,
            self.field("aws/securityhub/ProductName"),
            self.product_arn.rsplit('/').next().unwrap_or(""),
        ]);
        let company = first(&[
            &self.company_name,
            self.field("aws/securityhub/CompanyName"),
        ]);
        match (name.is_empty(), company.is_empty()) {
            (false, false) => format!("{name} ({company})"),
            _ => name.to_string(),
        }
    }
}

pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let detail: Detail = env.detail_as()?;
    let f = detail.findings.into_iter().next()?;
    let label = f.severity.label.to_ascii_uppercase();
    let resolved = f.is_resolved();
    let severity = if resolved {
        Severity::Info
    } else {
        label_severity(&label)
    };
    let icon = if resolved { "✅" } else { severity.icon() };
    let title = first(&[&f.title, f.field("ControlId"), &f.id]).to_string();
    let mut doc = Doc::new(format!("{icon} Security Hub 发现 Finding: {title}"));
    doc.field("严重性 Severity", &severity_label(label_severity(&label)));
    doc.field("合规状态 Compliance", &compliance(&f.compliance.status));
    doc.field("工作流 Workflow", &workflow(&f));
    doc.field("资源 Resource", &resources(&f.resources));
    doc.field("产品 Product", &f.product());
    doc.field("控制项 Control", f.field("ControlId"));
    common_fields(&mut doc, env, opts);
    if !f.aws_account_id.is_empty() && f.aws_account_id != env.account {
        doc.field(
            "发现所属账号 Finding account",
            &opts.account(&f.aws_account_id),
        );
    }
    doc.field(
        "更新时间 Updated",
        &time::show(&f.updated_at, opts.time_zone),
    );
    doc.paragraph(&clip(&f.description, DESCRIPTION_BYTES));
    let region = first(&[&f.region, &env.region]);
    let link = links::securityhub_finding(region, &f.id);
    doc.link("在 Security Hub 控制台查看 Open in Security Hub", &link);
    let word = if resolved { "RESOLVED" } else { label.as_str() };
    Some(finish(
        env,
        doc,
        Parts {
            kind: "securityhub_finding",
            title: format!("{icon} Security Hub {word}: {title}"),
            state: Some(word.to_ascii_lowercase()).filter(|s| !s.is_empty()),
            severity,
            link: Some(link),
        },
    ))
}

fn compliance(status: &str) -> String {
    match status {
        "" => String::new(),
        "FAILED" => "❌ FAILED".into(),
        "PASSED" => "✅ PASSED".into(),
        other => format!("⚠️ {other}"),
    }
}

fn workflow(f: &Finding) -> String {
    let status = f.workflow.status.as_str();
    match (status, f.record_state.as_str()) {
        ("", _) => String::new(),
        (s, "ARCHIVED") => format!("{s} (已归档 archived)"),
        (s, _) => s.to_string(),
    }
}

/// `AwsS3Bucket arn:aws:s3:::b` for the first resource, `(+N more)` after it.
fn resources(list: &[Resource]) -> String {
    let Some(r) = list.first() else {
        return String::new();
    };
    let one = format!("{} {}", r.kind, r.id).trim().to_string();
    match list.len() {
        1 => one,
        n => format!("{one} (+{} 个 more)", n - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asff_labels_map_onto_the_scale() {
        let got: Vec<Severity> = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "low"]
            .into_iter()
            .map(label_severity)
            .collect();
        use Severity::*;
        assert_eq!(got, [Critical, High, Medium, Low, Info, Low]);
    }

    #[test]
    fn resolved_suppressed_archived_or_passed_findings_are_info() {
        let mut f = Finding::default();
        assert!(!f.is_resolved());
        f.workflow.status = "SUPPRESSED".into();
        assert!(f.is_resolved());
        let f = Finding {
            record_state: "ARCHIVED".into(),
            ..Finding::default()
        };
        assert!(f.is_resolved());
        let mut f = Finding::default();
        f.compliance.status = "PASSED".into();
        assert!(f.is_resolved());
    }
}
