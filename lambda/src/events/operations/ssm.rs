//! Systems Manager: configuration compliance (patch and association) and
//! Run Command status changes. A command's `parameters` (the commands
//! themselves, which may carry secrets) are never read.

use serde::Deserialize;

use super::super::{common_fields, EventEnvelope};
use super::card::{when, Verdict};
use super::console;
use crate::markdown::Doc;
use crate::rendered::{FormatOptions, Rendered, Severity};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Compliance {
    #[serde(default)]
    resource_type: String,
    #[serde(default)]
    resource_id: String,
    compliance_status: String,
    #[serde(default)]
    compliance_type: String,
    #[serde(default)]
    patch_baseline_id: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    last_runtime: String,
}

/// Compliant is info; non-compliant takes the item's own severity:
/// CRITICAL and HIGH high, MEDIUM medium, the rest (LOW, INFORMATIONAL,
/// UNSPECIFIED, none) low.
fn compliance_severity(c: &Compliance) -> Severity {
    if c.compliance_status != "non_compliant" {
        return Severity::Info;
    }
    match c.severity.to_ascii_lowercase().as_str() {
        "critical" | "high" => Severity::High,
        "medium" => Severity::Medium,
        _ => Severity::Low,
    }
}

pub fn compliance(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let c: Compliance = env.detail_as()?;
    let status = c.compliance_status.to_ascii_uppercase();
    let verdict = Verdict::new("ssm_compliance", compliance_severity(&c), status.clone());
    let icon = verdict.icon();
    let what = format!("SSM {} 合规 compliance", c.compliance_type);
    let mut doc = Doc::new(format!("{icon} {what} {status}: {}", c.resource_id));
    doc.field("状态 Status", &status);
    doc.field("严重性 Severity", &c.severity);
    doc.field(
        "资源 Resource",
        &format!("{} {}", c.resource_type, c.resource_id),
    );
    doc.field("类型 Type", &c.compliance_type);
    doc.field("补丁基线 Patch baseline", &c.patch_baseline_id);
    doc.field("上次运行 Last run", &when(&c.last_runtime, opts));
    common_fields(&mut doc, env, opts);
    let link = console::ssm_compliance(&env.region);
    doc.link("在 Systems Manager 中查看合规 Open Compliance", &link);
    let title = format!("{icon} {what} {status}: {}", c.resource_id);
    Some(verdict.finish(Some(env), title, doc, Some(link)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Command {
    command_id: String,
    #[serde(default)]
    document_name: String,
    #[serde(default)]
    instance_id: String,
    status: String,
    #[serde(default)]
    requested_date_time: String,
}

/// Run Command statuses onto the scale: Failed, TimedOut, Delivery Timed
/// Out, Execution Timed Out and Undeliverable high; Terminated medium;
/// Cancelled low; Pending, InProgress and Success info.
fn command_severity(status: &str) -> Severity {
    match status {
        "Failed" | "TimedOut" | "Delivery Timed Out" | "Execution Timed Out" | "Undeliverable" => {
            Severity::High
        }
        "Terminated" => Severity::Medium,
        "Cancelled" | "Cancelling" => Severity::Low,
        _ => Severity::Info,
    }
}

pub fn command(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let c: Command = env.detail_as()?;
    run_command(env, opts, &c, "ssm_command", "Run Command")
}

pub fn invocation(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let c: Command = env.detail_as()?;
    run_command(
        env,
        opts,
        &c,
        "ssm_command_invocation",
        "Run Command 调用 invocation",
    )
}

fn run_command(
    env: &EventEnvelope,
    opts: &FormatOptions,
    c: &Command,
    kind: &'static str,
    what: &str,
) -> Option<Rendered> {
    let state = c.status.to_ascii_uppercase();
    let verdict = Verdict::new(kind, command_severity(&c.status), state);
    let icon = verdict.icon();
    let mut doc = Doc::new(format!("{icon} {what} {}: {}", c.status, c.document_name));
    doc.field("状态 Status", &c.status);
    doc.field("文档 Document", &c.document_name);
    doc.field("实例 Instance", &c.instance_id);
    doc.field("命令 Command", &c.command_id);
    doc.field("请求时间 Requested", &when(&c.requested_date_time, opts));
    common_fields(&mut doc, env, opts);
    let link = console::run_command(&env.region, &c.command_id);
    doc.link("在 Systems Manager 中查看 Open in Run Command", &link);
    let target = if c.instance_id.is_empty() {
        c.document_name.clone()
    } else {
        format!("{} @ {}", c.document_name, c.instance_id)
    };
    let title = format!("{icon} {what} {}: {target}", c.status);
    Some(verdict.finish(Some(env), title, doc, Some(link)))
}
