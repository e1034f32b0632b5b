//! Amazon RDS: DB instance and DB cluster events.

use serde::Deserialize;

use super::super::{common_fields, EventEnvelope};
use super::card::{when, Verdict};
use super::console;
use crate::markdown::Doc;
use crate::rendered::{FormatOptions, Rendered, Severity};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RdsEvent {
    #[serde(default)]
    event_categories: Vec<String>,
    #[serde(default)]
    source_type: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    source_identifier: String,
    #[serde(default, rename = "EventID")]
    event_id: String,
}

/// RDS event categories onto the scale, the worst category wins: failure
/// and low storage high; failover, availability (shutdown, restart) and
/// recovery medium; maintenance and security patching low; the rest
/// (notification, backup, configuration change, creation, ...) info.
fn severity(categories: &[String]) -> Severity {
    categories
        .iter()
        .map(|c| match c.to_ascii_lowercase().as_str() {
            "failure" | "low storage" => Severity::High,
            "failover" | "availability" | "recovery" => Severity::Medium,
            "maintenance" | "security patching" => Severity::Low,
            _ => Severity::Info,
        })
        .max()
        .unwrap_or(Severity::Info)
}

pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let e: RdsEvent = env.detail_as()?;
    let cluster = e.source_type == "CLUSTER";
    let what = if cluster {
        "RDS 集群 Cluster"
    } else {
        "RDS 实例 Instance"
    };
    let id = e
        .source_identifier
        .strip_prefix("rds:")
        .unwrap_or(&e.source_identifier);
    let verdict = Verdict::new(
        "rds_event",
        severity(&e.event_categories),
        e.event_id.clone(),
    );
    let icon = verdict.icon();
    let mut doc = Doc::new(format!("{icon} {what}: {id}"));
    doc.field("消息 Message", &e.message);
    doc.field("事件 Event", &e.event_id);
    doc.field("类别 Categories", &e.event_categories.join(", "));
    doc.field(
        if cluster {
            "集群 Cluster"
        } else {
            "实例 Instance"
        },
        id,
    );
    common_fields(&mut doc, env, opts);
    doc.field("事件时间 Event time", &when(&e.date, opts));
    let link = console::rds_database(&env.region, id, cluster);
    doc.link("在 RDS 控制台查看 Open in RDS", &link);
    let title = format!("{icon} {what} {id}: {}", e.message);
    Some(verdict.finish(Some(env), title, doc, Some(link)))
}
