//! AWS Backup: backup and copy job state changes (EventBridge), and the
//! plain-text SNS notifications a backup vault sends (`Notification from
//! AWS Backup`).

use serde::Deserialize;
use serde_json::Value;

use super::super::{common_fields, EventEnvelope};
use super::card::{arn_region, tail, when, Verdict};
use super::console;
use crate::markdown::Doc;
use crate::rendered::{FormatOptions, Rendered, Severity};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Job {
    #[serde(default)]
    backup_job_id: String,
    #[serde(default)]
    copy_job_id: String,
    state: String,
    #[serde(default)]
    status_message: String,
    #[serde(default)]
    resource_arn: String,
    #[serde(default)]
    resource_type: String,
    #[serde(default)]
    backup_vault_name: String,
    #[serde(default)]
    source_backup_vault_arn: String,
    #[serde(default)]
    destination_backup_vault_arn: String,
    #[serde(default)]
    creation_date: String,
    #[serde(default)]
    retry_count: Option<Value>,
}

/// AWS Backup's job states onto the scale: FAILED, ABORTED and EXPIRED
/// (did not finish in its window) are high; COMPLETED with a status
/// message is the console's "Completed with issues", medium; the rest
/// (CREATED, PENDING, RUNNING, COMPLETED) info.
fn job_severity(state: &str, status_message: &str) -> Severity {
    match state {
        "FAILED" | "ABORTED" | "EXPIRED" => Severity::High,
        "COMPLETED" if !status_message.trim().is_empty() => Severity::Medium,
        _ => Severity::Info,
    }
}

pub fn backup_job(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let job: Job = env.detail_as()?;
    render_job(env, opts, &job, "backup")
}

pub fn copy_job(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let job: Job = env.detail_as()?;
    render_job(env, opts, &job, "copy")
}

fn render_job(
    env: &EventEnvelope,
    opts: &FormatOptions,
    job: &Job,
    kind: &str,
) -> Option<Rendered> {
    let (log_kind, what, id) = match kind {
        "copy" => (
            "backup_copy_job",
            "Backup 复制作业 Copy job",
            &job.copy_job_id,
        ),
        _ => (
            "backup_job",
            "Backup 备份作业 Backup job",
            &job.backup_job_id,
        ),
    };
    let severity = job_severity(&job.state, &job.status_message);
    let verdict = Verdict::new(log_kind, severity, job.state.clone());
    let icon = verdict.icon();
    let resource = tail(&job.resource_arn, ':');
    let resource = tail(resource, '/');
    let mut doc = Doc::new(format!("{icon} {what} {}: {resource}", job.state));
    // AWS quotes some messages ("\"Backup job failed because ...\"").
    doc.field(
        "原因 Status message",
        job.status_message.trim().trim_matches('"'),
    );
    doc.field(
        "资源 Resource",
        &format!("{} {}", job.resource_type, job.resource_arn),
    );
    doc.field("保管库 Vault", &job.backup_vault_name);
    doc.field(
        "源保管库 Source vault",
        tail(&job.source_backup_vault_arn, ':'),
    );
    doc.field(
        "目标保管库 Destination vault",
        tail(&job.destination_backup_vault_arn, ':'),
    );
    doc.field("作业 Job", id);
    if let Some(n) = job.retry_count.as_ref().filter(|v| !v.is_null()) {
        doc.field("重试次数 Retries", &n.to_string());
    }
    common_fields(&mut doc, env, opts);
    doc.field("创建时间 Created", &when(&job.creation_date, opts));
    let link = console::backup_job(&env.region, kind, id);
    doc.link("在 AWS Backup 控制台查看 Open in AWS Backup", &link);
    let title = format!("{icon} {what} {}: {resource}", job.state);
    Some(verdict.finish(Some(env), title, doc, Some(link)))
}

/// The vault notification's subject, as AWS Backup sends it.
const SNS_SUBJECT: &str = "Notification from AWS Backup";

/// `An AWS Backup job failed. Resource ARN : arn:.... BackupJob ID : 1b23...`:
/// the first sentence is what happened, each later one a `label : value`
/// (ARNs hold `:` but never `: `). `None` unless the subject is AWS
/// Backup's.
pub fn render_sns(text: &str, subject: &str) -> Option<Rendered> {
    if subject != SNS_SUBJECT {
        return None;
    }
    let mut sentences = text.trim().split(". ").map(str::trim);
    let headline = sentences.next()?.trim_end_matches('.').to_string();
    let rest: Vec<&str> = sentences.collect();
    let lower = headline.to_lowercase();
    let (severity, state) = if lower.contains("fail") {
        (Severity::High, "FAILED")
    } else if lower.contains("completed") || lower.contains("success") {
        (Severity::Info, "COMPLETED")
    } else {
        (Severity::Info, "")
    };
    let verdict = Verdict::new("backup_notification", severity, state);
    let icon = verdict.icon();
    let mut doc = Doc::new(format!("{icon} AWS Backup: {headline}"));
    let mut region = "";
    for sentence in &rest {
        let sentence = sentence.trim_end_matches('.');
        let fact = sentence
            .split_once(": ")
            .or_else(|| sentence.split_once(" :"))
            .and_then(|(k, v)| Some((sns_label(k.trim())?, v.trim())));
        match fact {
            Some((label, value)) => {
                doc.field(label, value);
                if region.is_empty() && value.starts_with("arn:") {
                    region = arn_region(value);
                }
            }
            // A label we do not know is AWS's text, not ours: it stays
            // a plain sentence rather than becoming bold markup.
            None => doc.paragraph(sentence),
        }
    }
    let link = Some(region)
        .filter(|r| !r.is_empty())
        .map(console::backup_jobs);
    if let Some(link) = &link {
        doc.link("在 AWS Backup 控制台查看 Open in AWS Backup", link);
    }
    let title = format!("{icon} AWS Backup: {headline}");
    Some(verdict.finish(None, title, doc, link))
}

/// The labels AWS Backup's notifications use, as our own labels.
fn sns_label(label: &str) -> Option<&'static str> {
    Some(match label.to_ascii_lowercase().as_str() {
        "recovery point arn" => "恢复点 Recovery point",
        "resource arn" | "backed up resource arn" => "资源 Resource",
        "backupjob id" | "backup job id" => "备份作业 Backup job",
        "restorejob id" | "restore job id" => "还原作业 Restore job",
        "copyjob id" | "copy job id" => "复制作业 Copy job",
        _ => return None,
    })
}
