//! EC2 Spot: the two-minute interruption warning (with its deadline in
//! the team's zone) and the earlier rebalance recommendation.

use chrono::Duration;
use serde::Deserialize;

use super::super::{common_fields, EventEnvelope};
use super::card::Verdict;
use crate::markdown::{links, time, Doc};
use crate::rendered::{FormatOptions, Rendered, Severity};

/// EC2 acts two minutes after the warning (hibernation starts at once).
const WARNING_MINUTES: i64 = 2;

#[derive(Debug, Deserialize)]
struct Spot {
    #[serde(rename = "instance-id")]
    instance_id: String,
    #[serde(default, rename = "instance-action")]
    instance_action: String,
}

/// The instance goes away in two minutes: high, whatever the action.
pub fn interruption(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let s: Spot = env.detail_as()?;
    let verdict = Verdict::new(
        "ec2_spot_interruption",
        Severity::High,
        s.instance_action.clone(),
    );
    let icon = verdict.icon();
    let deadline = time::parse(&env.time).map(|t| t + Duration::minutes(WARNING_MINUTES));
    let by = deadline
        .map(|t| time::show(&t.to_rfc3339(), opts.time_zone))
        .unwrap_or_else(|| "2 分钟内 within 2 minutes".to_string());
    let mut doc = Doc::new(format!(
        "{icon} EC2 Spot 中断 Interruption: {}",
        s.instance_id
    ));
    let (zh, en) = match s.instance_action.as_str() {
        "stop" => ("停止", "stopped"),
        "hibernate" => ("休眠", "hibernated"),
        _ => ("终止", "terminated"),
    };
    doc.callout(&format!("实例将被{zh} The instance will be {en} by {by}"));
    doc.field("实例 Instance", &s.instance_id);
    doc.field("动作 Action", &s.instance_action);
    doc.field("截止 Deadline", &by);
    common_fields(&mut doc, env, opts);
    let link = links::ec2_instance(&env.region, &s.instance_id);
    doc.link("在 EC2 控制台查看 Open in EC2 console", &link);
    let short = deadline
        .map(|t| format!(" by {}", time::short(&t.to_rfc3339(), opts.time_zone)))
        .unwrap_or_default();
    let title = format!(
        "{icon} EC2 Spot {} {}{short}",
        s.instance_id, s.instance_action
    );
    Some(verdict.finish(Some(env), title, doc, Some(link)))
}

/// An elevated risk of interruption, not an interruption: low.
pub fn rebalance(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let s: Spot = env.detail_as()?;
    let verdict = Verdict::new("ec2_rebalance_recommendation", Severity::Low, "rebalance");
    let icon = verdict.icon();
    let mut doc = Doc::new(format!(
        "{icon} EC2 再平衡建议 Rebalance recommendation: {}",
        s.instance_id
    ));
    doc.callout("该 Spot 实例中断风险升高，可提前迁移负载 The Spot Instance is at elevated risk of interruption: move its work now");
    doc.field("实例 Instance", &s.instance_id);
    common_fields(&mut doc, env, opts);
    let link = links::ec2_instance(&env.region, &s.instance_id);
    doc.link("在 EC2 控制台查看 Open in EC2 console", &link);
    let title = format!("{icon} EC2 Spot rebalance: {}", s.instance_id);
    Some(verdict.finish(Some(env), title, doc, Some(link)))
}
