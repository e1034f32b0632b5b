//! EC2 Instance State-change Notification.

use serde::Deserialize;

use super::{common_fields, EventEnvelope};
use crate::markdown::{links, Doc};
use crate::rendered::{AlertKind, FormatOptions, Rendered, Severity};

#[derive(Debug, Clone, Deserialize)]
pub struct Ec2StateDetail {
    #[serde(rename = "instance-id")]
    pub instance_id: String,
    pub state: String,
}

fn icon(state: &str) -> &'static str {
    match state {
        "running" => "🟢",
        "stopped" => "🔴",
        "terminated" => "⚫",
        _ => "🟡",
    }
}

/// A stopped or terminated instance may be an outage (low: worth a look,
/// and `at_all_on` can still name the state); starting is news, not work.
fn severity(state: &str) -> Severity {
    match state {
        "pending" | "running" => Severity::Info,
        _ => Severity::Low,
    }
}

pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let d: Ec2StateDetail = env.detail_as()?;
    let icon = icon(&d.state);
    let mut doc = Doc::new(format!("{icon} EC2 实例状态变更 Instance state change"));
    doc.field("实例 Instance", &d.instance_id);
    doc.field("状态 State", &format!("{icon} {}", d.state));
    common_fields(&mut doc, env, opts);
    let link = links::ec2_instance(&env.region, &d.instance_id);
    doc.link("在 EC2 控制台查看 Open in EC2 console", &link);
    Some(Rendered {
        message: doc.into_message(format!("{icon} EC2 {} {}", d.instance_id, d.state)),
        kind: AlertKind::Ec2StateChange,
        source: env.source.clone(),
        event_id: Some(env.id.clone()).filter(|s| !s.is_empty()),
        severity: severity(&d.state),
        state: Some(d.state),
        link: Some(link),
        context: None,
        test_id: None,
    })
}
