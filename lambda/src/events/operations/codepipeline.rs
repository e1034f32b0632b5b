//! CodePipeline: pipeline and action execution state changes.

use serde::Deserialize;

use super::super::{common_fields, EventEnvelope};
use super::card::Verdict;
use super::console;
use crate::markdown::Doc;
use crate::rendered::{FormatOptions, Rendered, Severity};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Execution {
    pipeline: String,
    #[serde(default)]
    execution_id: String,
    state: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    stop_execution_comments: String,
    #[serde(default)]
    execution_result: ExecutionResult,
    #[serde(default, rename = "type")]
    action_type: ActionType,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ExecutionResult {
    #[serde(default)]
    external_execution_summary: String,
    #[serde(default)]
    error_code: String,
}

#[derive(Debug, Default, Deserialize)]
struct ActionType {
    #[serde(default)]
    category: String,
    #[serde(default)]
    provider: String,
}

/// CodePipeline's states onto the scale: FAILED high; an execution
/// STOPPED, SUPERSEDED, CANCELED or ABANDONED (someone or something else
/// ended it) low; the rest (STARTED, RESUMED, STOPPING, SUCCEEDED) info.
fn severity(state: &str) -> Severity {
    match state {
        "FAILED" => Severity::High,
        "STOPPED" | "SUPERSEDED" | "CANCELED" | "ABANDONED" => Severity::Low,
        _ => Severity::Info,
    }
}

pub fn pipeline(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let e: Execution = env.detail_as()?;
    let verdict = Verdict::new("codepipeline_pipeline", severity(&e.state), e.state.clone());
    let icon = verdict.icon();
    let mut doc = Doc::new(format!("{icon} CodePipeline {}: {}", e.state, e.pipeline));
    doc.field("流水线 Pipeline", &e.pipeline);
    doc.field("状态 State", &e.state);
    doc.field("说明 Comment", &e.stop_execution_comments);
    doc.field("执行 Execution", &e.execution_id);
    common_fields(&mut doc, env, opts);
    let link = console::pipeline_execution(&env.region, &e.pipeline, &e.execution_id);
    doc.link("在 CodePipeline 控制台查看 Open in CodePipeline", &link);
    let title = format!("{icon} CodePipeline {}: {}", e.state, e.pipeline);
    Some(verdict.finish(Some(env), title, doc, Some(link)))
}

pub fn action(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let e: Execution = env.detail_as()?;
    let verdict = Verdict::new("codepipeline_action", severity(&e.state), e.state.clone());
    let icon = verdict.icon();
    let path = format!("{} / {} / {}", e.pipeline, e.stage, e.action);
    let mut doc = Doc::new(format!(
        "{icon} CodePipeline 动作 Action {}: {path}",
        e.state
    ));
    doc.field("流水线 Pipeline", &e.pipeline);
    doc.field("阶段 Stage", &e.stage);
    let kind = [
        e.action_type.category.as_str(),
        e.action_type.provider.as_str(),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" · ");
    doc.field("动作 Action", &format!("{} ({kind})", e.action));
    doc.field("状态 State", &e.state);
    doc.field("错误 Error", &e.execution_result.error_code);
    doc.field(
        "摘要 Summary",
        &e.execution_result.external_execution_summary,
    );
    doc.field("执行 Execution", &e.execution_id);
    common_fields(&mut doc, env, opts);
    let link = console::pipeline_execution(&env.region, &e.pipeline, &e.execution_id);
    doc.link("在 CodePipeline 控制台查看 Open in CodePipeline", &link);
    let title = format!("{icon} CodePipeline {}: {path}", e.state);
    Some(verdict.finish(Some(env), title, doc, Some(link)))
}
