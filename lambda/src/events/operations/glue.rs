//! AWS Glue: job state changes (SUCCEEDED, FAILED, TIMEOUT, STOPPED).

use serde::Deserialize;

use super::super::{common_fields, EventEnvelope};
use super::card::Verdict;
use super::console;
use crate::markdown::Doc;
use crate::rendered::{FormatOptions, Rendered, Severity};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobRun {
    job_name: String,
    state: String,
    #[serde(default)]
    job_run_id: String,
    #[serde(default)]
    message: String,
}

/// Glue's states onto the scale: FAILED, TIMEOUT and ERROR high; STOPPED
/// (someone stopped it) low; SUCCEEDED info.
fn severity(state: &str) -> Severity {
    match state {
        "FAILED" | "TIMEOUT" | "ERROR" => Severity::High,
        "STOPPED" => Severity::Low,
        _ => Severity::Info,
    }
}

pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let j: JobRun = env.detail_as()?;
    let verdict = Verdict::new("glue_job", severity(&j.state), j.state.clone());
    let icon = verdict.icon();
    let mut doc = Doc::new(format!("{icon} Glue 作业 Job {}: {}", j.state, j.job_name));
    doc.field("消息 Message", &j.message);
    doc.field("作业 Job", &j.job_name);
    doc.field("状态 State", &j.state);
    doc.field("运行 Run", &j.job_run_id);
    common_fields(&mut doc, env, opts);
    let link = console::glue_job_run(&env.region, &j.job_name, &j.job_run_id);
    doc.link("在 Glue 控制台查看 Open in AWS Glue", &link);
    let title = format!("{icon} Glue {}: {}", j.state, j.job_name);
    Some(verdict.finish(Some(env), title, doc, Some(link)))
}
