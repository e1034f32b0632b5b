//! GuardDuty findings: what was found, how bad (GuardDuty's documented
//! severity bands), on which resource, and a link to the finding, so the
//! person on call can judge it from the chat.

use serde::Deserialize;
use serde_json::Value;

use super::{common_fields, EventEnvelope};
use crate::markdown::{clip, links, time, Doc};
use crate::rendered::{AlertKind, FormatOptions, Rendered, Severity};

const DESCRIPTION_BYTES: usize = 2_000;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "type")]
    pub finding_type: String,
    pub severity: f64,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub resource: Value,
    #[serde(default)]
    pub service: Service,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub event_first_seen: String,
    #[serde(default)]
    pub event_last_seen: String,
}

/// GuardDuty's bands: Low 1.0–3.9, Medium 4.0–6.9, High 7.0–8.9,
/// Critical 9.0–10.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub fn of(severity: f64) -> Level {
        if severity >= 9.0 {
            Level::Critical
        } else if severity >= 7.0 {
            Level::High
        } else if severity >= 4.0 {
            Level::Medium
        } else {
            Level::Low
        }
    }

    /// The state `at_all_on` is matched against.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    /// GuardDuty's own bands are the scale's.
    pub fn severity(self) -> Severity {
        match self {
            Level::Low => Severity::Low,
            Level::Medium => Severity::Medium,
            Level::High => Severity::High,
            Level::Critical => Severity::Critical,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Level::Low => "🔵 低 Low",
            Level::Medium => "🟡 中 Medium",
            Level::High => "🟠 高 High",
            Level::Critical => "🔴 严重 Critical",
        }
    }

    fn icon(self) -> &'static str {
        match self {
            Level::Low => "🔵",
            Level::Medium => "🟡",
            Level::High => "🟠",
            Level::Critical => "🔴",
        }
    }
}

pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let f: Finding = env.detail_as()?;
    let level = Level::of(f.severity);
    let icon = level.icon();
    let headline = if f.title.trim().is_empty() {
        f.finding_type.as_str()
    } else {
        f.title.trim()
    };
    let mut doc = Doc::new(format!(
        "{icon} GuardDuty 威胁发现 Finding: {}",
        f.finding_type
    ));
    doc.field(
        "严重性 Severity",
        &format!("{} ({})", level.label(), f.severity),
    );
    doc.field("类型 Type", &f.finding_type);
    doc.field("标题 Title", headline);
    doc.field("资源 Resource", &resource(&f.resource));
    common_fields(&mut doc, env, opts);
    if let Some(n) = f.service.count {
        doc.field("次数 Count", &n.to_string());
    }
    doc.field(
        "首次发现 First seen",
        &shown(&f.service.event_first_seen, opts),
    );
    doc.field(
        "最近发现 Last seen",
        &shown(&f.service.event_last_seen, opts),
    );
    doc.paragraph(&clip(&f.description, DESCRIPTION_BYTES));
    let region = if f.region.is_empty() {
        env.region.as_str()
    } else {
        f.region.as_str()
    };
    let link = links::guardduty_finding(region, &f.id);
    doc.link("在 GuardDuty 控制台查看 Open in GuardDuty", &link);
    let name = level.as_str().to_uppercase();
    Some(Rendered {
        message: doc.into_message(format!("{icon} GuardDuty {name}: {headline}")),
        kind: AlertKind::GuardDutyFinding,
        source: env.source.clone(),
        event_id: Some(env.id.clone()).filter(|s| !s.is_empty()),
        state: Some(level.as_str().to_string()),
        severity: level.severity(),
        link: Some(link),
        context: None,
        test_id: None,
    })
}

fn shown(raw: &str, opts: &FormatOptions) -> String {
    if raw.trim().is_empty() {
        String::new()
    } else {
        time::show(raw, opts.time_zone)
    }
}

/// The affected resource in one line: its type and what names it
/// (instance id, user and access key, bucket, cluster, ...).
fn resource(r: &Value) -> String {
    let kind = r.get("resourceType").and_then(Value::as_str).unwrap_or("");
    let s = |path: &str| {
        r.pointer(path)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let names: Vec<String> = match kind {
        "Instance" => {
            let id = s("/instanceDetails/instanceId");
            let name = r
                .pointer("/instanceDetails/tags")
                .and_then(Value::as_array)
                .and_then(|tags| {
                    tags.iter()
                        .find(|t| t.get("key").and_then(Value::as_str) == Some("Name"))
                })
                .and_then(|t| t.get("value").and_then(Value::as_str));
            match (id, name) {
                (Some(id), Some(n)) => vec![format!("{id} ({n})")],
                (Some(id), None) => vec![id.to_string()],
                _ => Vec::new(),
            }
        }
        "AccessKey" => [
            s("/accessKeyDetails/userName"),
            s("/accessKeyDetails/accessKeyId"),
        ]
        .into_iter()
        .flatten()
        .map(String::from)
        .collect(),
        "S3Bucket" => r
            .get("s3BucketDetails")
            .and_then(Value::as_array)
            .map(|b| {
                b.iter()
                    .filter_map(|b| b.get("name").and_then(Value::as_str))
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        "EKSCluster" => s("/eksClusterDetails/name")
            .map(String::from)
            .into_iter()
            .collect(),
        "ECSCluster" => s("/ecsClusterDetails/name")
            .map(String::from)
            .into_iter()
            .collect(),
        "RDSDBInstance" => s("/rdsDbInstanceDetails/dbInstanceIdentifier")
            .map(String::from)
            .into_iter()
            .collect(),
        "Lambda" => s("/lambdaDetails/functionName")
            .map(String::from)
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    match (kind.is_empty(), names.is_empty()) {
        (true, _) => names.join(", "),
        (false, true) => kind.to_string(),
        (false, false) => format!("{kind} {}", names.join(", ")),
    }
}
