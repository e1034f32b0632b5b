//! CodeBuild: build state changes. The build's environment (its variables,
//! often secrets in PLAINTEXT) is never read: no field below holds it.

use serde::Deserialize;
use serde_json::Value;

use super::super::{common_fields, EventEnvelope};
use super::card::{tail, Verdict};
use super::console;
use crate::markdown::Doc;
use crate::rendered::{FormatOptions, Rendered, Severity};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Build {
    build_status: String,
    project_name: String,
    #[serde(default)]
    build_id: String,
    #[serde(default)]
    current_phase: String,
    #[serde(default)]
    additional_information: Info,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Info {
    #[serde(default)]
    initiator: String,
    #[serde(default)]
    phases: Vec<Phase>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Phase {
    #[serde(default)]
    phase_type: String,
    #[serde(default)]
    phase_status: String,
    #[serde(default)]
    phase_context: Vec<Value>,
}

/// CodeBuild's statuses onto the scale: FAILED, FAULT and TIMED_OUT high;
/// STOPPED (someone stopped it) low; IN_PROGRESS and SUCCEEDED info.
fn severity(status: &str) -> Severity {
    match status {
        "FAILED" | "FAULT" | "TIMED_OUT" => Severity::High,
        "STOPPED" => Severity::Low,
        _ => Severity::Info,
    }
}

pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let b: Build = env.detail_as()?;
    let verdict = Verdict::new(
        "codebuild_build",
        severity(&b.build_status),
        b.build_status.clone(),
    );
    let icon = verdict.icon();
    let mut doc = Doc::new(format!(
        "{icon} CodeBuild {}: {}",
        b.build_status, b.project_name
    ));
    doc.field("项目 Project", &b.project_name);
    doc.field("状态 Status", &b.build_status);
    // The first phase that did not succeed, with CodeBuild's own words.
    if let Some(p) = b
        .additional_information
        .phases
        .iter()
        .find(|p| !p.phase_status.is_empty() && p.phase_status != "SUCCEEDED")
    {
        let context: Vec<&str> = p
            .phase_context
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .collect();
        doc.field(
            "失败阶段 Failed phase",
            &format!("{} {} {}", p.phase_type, p.phase_status, context.join("; ")),
        );
    }
    doc.field("当前阶段 Current phase", &b.current_phase);
    doc.field("发起人 Initiator", &b.additional_information.initiator);
    let build = tail(&b.build_id, '/');
    doc.field("构建 Build", build);
    common_fields(&mut doc, env, opts);
    let link = console::codebuild_build(&env.region, &b.project_name, build);
    doc.link("在 CodeBuild 控制台查看 Open in CodeBuild", &link);
    let title = format!("{icon} CodeBuild {}: {}", b.build_status, b.project_name);
    Some(verdict.finish(Some(env), title, doc, Some(link)))
}
