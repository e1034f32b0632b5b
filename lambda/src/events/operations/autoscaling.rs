//! EC2 Auto Scaling: instances it could not launch or terminate, and
//! instance refreshes.

use serde::Deserialize;
use serde_json::Value;

use super::super::{common_fields, EventEnvelope};
use super::card::{when, Verdict};
use super::console;
use crate::markdown::Doc;
use crate::rendered::{FormatOptions, Rendered, Severity};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Activity {
    auto_scaling_group_name: String,
    #[serde(default)]
    status_code: String,
    #[serde(default)]
    status_message: String,
    #[serde(default)]
    cause: String,
    #[serde(default, rename = "EC2InstanceId")]
    instance_id: String,
    #[serde(default)]
    details: Value,
    #[serde(default)]
    end_time: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Refresh {
    auto_scaling_group_name: String,
    #[serde(default)]
    instance_refresh_id: String,
    #[serde(default)]
    checkpoint_percentage: Option<Value>,
    #[serde(default)]
    checkpoint_delay: Option<Value>,
}

pub fn render(env: &EventEnvelope, detail_type: &str, opts: &FormatOptions) -> Option<Rendered> {
    match detail_type {
        "EC2 Instance Launch Unsuccessful" => unsuccessful(env, opts, "启动失败 Launch failed"),
        "EC2 Instance Terminate Unsuccessful" => {
            unsuccessful(env, opts, "终止失败 Terminate failed")
        }
        _ => {
            let outcome = detail_type.strip_prefix("EC2 Auto Scaling Instance Refresh ")?;
            refresh(env, opts, outcome)
        }
    }
}

/// A launch or termination Auto Scaling gave up on: capacity is not what
/// the group wants, so it is high.
fn unsuccessful(env: &EventEnvelope, opts: &FormatOptions, what: &str) -> Option<Rendered> {
    let a: Activity = env.detail_as()?;
    let verdict = Verdict::new(
        "autoscaling_unsuccessful",
        Severity::High,
        a.status_code.clone(),
    );
    let icon = verdict.icon();
    let group = &a.auto_scaling_group_name;
    let mut doc = Doc::new(format!("{icon} Auto Scaling {what}: {group}"));
    doc.field("原因 Status message", &a.status_message);
    doc.field("起因 Cause", &a.cause);
    doc.field("伸缩组 Group", group);
    doc.field("实例 Instance", &a.instance_id);
    doc.field("状态 Status", &a.status_code);
    let detail = |k: &str| a.details.get(k).and_then(Value::as_str).unwrap_or("");
    doc.field("可用区 Availability Zone", detail("Availability Zone"));
    doc.field("子网 Subnet", detail("Subnet ID"));
    common_fields(&mut doc, env, opts);
    doc.field("结束时间 Ended", &when(&a.end_time, opts));
    let link = console::autoscaling_group(&env.region, group);
    doc.link("在 EC2 控制台查看活动 Open the group's activity", &link);
    let title = format!("{icon} Auto Scaling {what}: {group}");
    Some(verdict.finish(Some(env), title, doc, Some(link)))
}

/// Instance refresh outcomes onto the scale: Failed high; Cancelled low;
/// Started, Checkpoint Reached and Succeeded info.
fn refresh(env: &EventEnvelope, opts: &FormatOptions, outcome: &str) -> Option<Rendered> {
    let r: Refresh = env.detail_as()?;
    let severity = match outcome {
        "Failed" => Severity::High,
        "Cancelled" => Severity::Low,
        "Started" | "Succeeded" | "Checkpoint Reached" => Severity::Info,
        _ => return None,
    };
    let state = outcome.to_ascii_uppercase().replace(' ', "_");
    let verdict = Verdict::new("autoscaling_instance_refresh", severity, state);
    let icon = verdict.icon();
    let group = &r.auto_scaling_group_name;
    let what = format!("Auto Scaling 实例刷新 Instance refresh {outcome}");
    let mut doc = Doc::new(format!("{icon} {what}: {group}"));
    doc.field("伸缩组 Group", group);
    doc.field("刷新 Refresh", &r.instance_refresh_id);
    let text = |v: &Option<Value>| match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let percentage = text(&r.checkpoint_percentage);
    if !percentage.is_empty() {
        let delay = text(&r.checkpoint_delay);
        doc.field(
            "检查点 Checkpoint",
            &format!("{percentage}% 已替换 replaced, 等待 wait {delay}s"),
        );
    }
    common_fields(&mut doc, env, opts);
    let link = console::autoscaling_group(&env.region, group);
    doc.link("在 EC2 控制台查看活动 Open the group's activity", &link);
    let title = format!("{icon} {what}: {group}");
    Some(verdict.finish(Some(env), title, doc, Some(link)))
}
