//! Amazon EBS: volume notifications (create, delete, attach, modify) and
//! snapshot notifications (create, copy, share).

use serde::Deserialize;
use serde_json::Value;

use super::super::{common_fields, EventEnvelope};
use super::card::{tail, when, Verdict};
use super::console;
use crate::markdown::Doc;
use crate::rendered::{FormatOptions, Rendered, Severity};

#[derive(Debug, Deserialize)]
struct Notification {
    event: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    cause: String,
    #[serde(default)]
    snapshot_id: String,
    /// A volume or snapshot ARN, or for `shareSnapshot` the sharing
    /// account (a number in AWS's sample).
    #[serde(default)]
    source: Value,
    #[serde(default, rename = "startTime")]
    start_time: String,
    #[serde(default, rename = "endTime")]
    end_time: String,
}

/// A failed result is high (a volume that cannot attach, a snapshot that
/// was not taken); every other result is info.
fn verdict(kind: &'static str, n: &Notification) -> Verdict {
    let severity = if n.result == "failed" {
        Severity::High
    } else {
        Severity::Info
    };
    Verdict::new(kind, severity, n.result.clone())
}

pub fn volume(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let n: Notification = env.detail_as()?;
    let volume = env
        .resources
        .iter()
        .find(|r| r.contains(":volume/"))
        .map(|r| tail(r, '/'))
        .unwrap_or("");
    let verdict = verdict("ebs_volume", &n);
    let icon = verdict.icon();
    let mut doc = Doc::new(format!(
        "{icon} EBS 卷 Volume {} {}: {volume}",
        n.event, n.result
    ));
    doc.field("原因 Cause", &n.cause);
    doc.field("卷 Volume", volume);
    doc.field("操作 Event", &n.event);
    doc.field("结果 Result", &n.result);
    common_fields(&mut doc, env, opts);
    let link = console::ebs_volume(&env.region, volume);
    doc.link("在 EC2 控制台查看 Open in EC2 console", &link);
    let title = format!("{icon} EBS {} {}: {volume}", n.event, n.result);
    Some(verdict.finish(Some(env), title, doc, Some(link)))
}

pub fn snapshot(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let n: Notification = env.detail_as()?;
    let snapshot = tail(&n.snapshot_id, '/');
    let source = match &n.source {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    let verdict = verdict("ebs_snapshot", &n);
    let icon = verdict.icon();
    let mut doc = Doc::new(format!(
        "{icon} EBS 快照 Snapshot {} {}: {snapshot}",
        n.event, n.result
    ));
    doc.field("原因 Cause", &n.cause);
    doc.field("快照 Snapshot", snapshot);
    doc.field("来源 Source", &source);
    doc.field("操作 Event", &n.event);
    doc.field("结果 Result", &n.result);
    common_fields(&mut doc, env, opts);
    doc.field("开始 Started", &when(&n.start_time, opts));
    doc.field("结束 Ended", &when(&n.end_time, opts));
    let link = console::ebs_snapshot(&env.region, snapshot);
    doc.link("在 EC2 控制台查看 Open in EC2 console", &link);
    let title = format!("{icon} EBS {} {}: {snapshot}", n.event, n.result);
    Some(verdict.finish(Some(env), title, doc, Some(link)))
}
