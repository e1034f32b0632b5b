//! CodeDeploy: deployment state-change notifications.

use serde::Deserialize;

use super::super::{common_fields, EventEnvelope};
use super::card::Verdict;
use super::console;
use crate::markdown::Doc;
use crate::rendered::{FormatOptions, Rendered, Severity};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Deployment {
    #[serde(default)]
    application: String,
    #[serde(default)]
    deployment_group: String,
    #[serde(default)]
    deployment_id: String,
    state: String,
}

/// CodeDeploy's states onto the scale: FAILURE high; STOP low; START,
/// READY and SUCCESS info.
fn severity(state: &str) -> Severity {
    match state {
        "FAILURE" => Severity::High,
        "STOP" => Severity::Low,
        _ => Severity::Info,
    }
}

pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let d: Deployment = env.detail_as()?;
    let verdict = Verdict::new("codedeploy_deployment", severity(&d.state), d.state.clone());
    let icon = verdict.icon();
    let what = format!("{} / {}", d.application, d.deployment_group);
    let mut doc = Doc::new(format!("{icon} CodeDeploy {}: {what}", d.state));
    doc.field("应用 Application", &d.application);
    doc.field("部署组 Deployment group", &d.deployment_group);
    doc.field("部署 Deployment", &d.deployment_id);
    doc.field("状态 State", &d.state);
    common_fields(&mut doc, env, opts);
    let link = console::codedeploy_deployment(&env.region, &d.deployment_id);
    doc.link("在 CodeDeploy 控制台查看 Open in CodeDeploy", &link);
    let title = format!("{icon} CodeDeploy {}: {what}", d.state);
    Some(verdict.finish(Some(env), title, doc, Some(link)))
}
