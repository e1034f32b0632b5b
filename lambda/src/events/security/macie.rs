//! Amazon Macie findings (`Macie Finding`): sensitive data found in an S3
//! object, or a bucket policy finding (encryption off, public access). The
//! finding type and title, Macie's own severity, the bucket and object,
//! how often it was seen.

use serde::Deserialize;
use serde_json::Value;

use super::{finish, first, links, severity_label, text, Parts};
use crate::events::{common_fields, EventEnvelope};
use crate::markdown::{time, Doc};
use crate::rendered::{FormatOptions, Rendered, Severity};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Finding {
    #[serde(rename = "type")]
    kind: String,
    title: String,
    description: String,
    severity: MacieSeverity,
    category: String,
    count: Option<u64>,
    archived: bool,
    resources_affected: Value,
    updated_at: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MacieSeverity {
    score: Option<f64>,
    description: String,
}

/// Macie rates Low, Medium or High (score 1–3); it has no critical. An
/// archived finding is info.
fn severity(f: &Finding) -> Severity {
    if f.archived {
        return Severity::Info;
    }
    match f.severity.description.to_ascii_uppercase().as_str() {
        "HIGH" => Severity::High,
        "MEDIUM" => Severity::Medium,
        "LOW" => Severity::Low,
        _ => match f.severity.score {
            Some(s) if s >= 3.0 => Severity::High,
            Some(s) if s >= 2.0 => Severity::Medium,
            Some(_) => Severity::Low,
            None => Severity::Medium,
        },
    }
}

pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let f: Finding = env.detail_as()?;
    if f.kind.is_empty() && f.title.is_empty() {
        return None;
    }
    let severity = severity(&f);
    let icon = if severity == Severity::Info {
        "✅"
    } else {
        severity.icon()
    };
    let r = &f.resources_affected;
    let bucket = text(r, "/s3Bucket/name");
    let object = text(r, "/s3Object/key");
    // `bucket/key`: an `s3://` scheme would be defused by the escaping.
    let resource = match (bucket, object) {
        ("", _) => String::new(),
        (b, "") => b.to_string(),
        (b, o) => format!("{b}/{o}"),
    };
    let mut doc = Doc::new(format!(
        "{icon} Macie 发现 Finding: {}",
        first(&[&f.title, &f.kind])
    ));
    doc.field("严重性 Severity", &severity_label(severity));
    doc.field("类型 Type", &f.kind);
    doc.field("标题 Title", &f.title);
    doc.field("资源 Resource", &resource);
    doc.field("类别 Category", &f.category);
    if let Some(count) = f.count {
        doc.field("次数 Count", &count.to_string());
    }
    if f.archived {
        doc.field("已归档 Archived", "是 yes");
    }
    common_fields(&mut doc, env, opts);
    doc.field("更新 Updated", &time::show(&f.updated_at, opts.time_zone));
    doc.paragraph(&f.description);
    let link = links::macie_findings(&env.region);
    doc.link("在 Macie 控制台查看 Open in Macie", &link);
    let what = if resource.is_empty() {
        f.kind.clone()
    } else {
        resource
    };
    let label = if f.archived {
        "ARCHIVED".to_string()
    } else {
        f.severity.description.to_ascii_uppercase()
    };
    Some(finish(
        env,
        doc,
        Parts {
            kind: "macie_finding",
            title: format!(
                "{icon} Macie {label}: {} · {what}",
                first(&[&f.title, &f.kind])
            ),
            state: Some(f.severity.description.to_ascii_lowercase()).filter(|s| !s.is_empty()),
            severity,
            link: Some(link),
        },
    ))
}
