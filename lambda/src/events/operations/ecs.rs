//! Amazon ECS: a task that stopped (why, and each container's exit code),
//! service deployments and service actions. Container overrides and their
//! environment are never read: the struct below has no field for them, so
//! a secret passed as an override cannot reach the group.

use serde::Deserialize;

use super::super::{common_fields, EventEnvelope};
use super::card::{region, tail, when, Verdict};
use super::console;
use crate::markdown::Doc;
use crate::rendered::{FormatOptions, Rendered, Severity};

/// More containers than this are summarised with a count.
const MAX_CONTAINERS: usize = 10;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Task {
    #[serde(default)]
    cluster_arn: String,
    #[serde(default)]
    task_arn: String,
    #[serde(default)]
    task_definition_arn: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    last_status: String,
    #[serde(default)]
    desired_status: String,
    #[serde(default)]
    stop_code: String,
    #[serde(default)]
    stopped_reason: String,
    #[serde(default)]
    stopped_at: String,
    #[serde(default)]
    containers: Vec<Container>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Container {
    #[serde(default)]
    name: String,
    #[serde(default)]
    last_status: String,
    #[serde(default)]
    exit_code: Option<i64>,
    #[serde(default)]
    reason: String,
}

impl Task {
    /// A container that exited non-zero, or stopped with a reason and no
    /// exit code (it never ran: image pull, OOM before start).
    fn container_failed(&self) -> bool {
        self.containers.iter().any(|c| match c.exit_code {
            Some(code) => code != 0,
            None => !c.reason.trim().is_empty(),
        })
    }

    /// ECS's stop codes onto the scale: a task that could not start or
    /// whose container failed is high; a Spot reclaim is medium (ECS
    /// replaces it, but capacity is gone for a while); a scheduler
    /// replacement is low; a clean exit or a user's stop is info.
    fn severity(&self) -> Severity {
        match self.stop_code.as_str() {
            "TaskFailedToStart" => Severity::High,
            _ if self.container_failed() => Severity::High,
            "SpotInterruption" | "TerminationNotice" => Severity::Medium,
            "ServiceSchedulerInitiated" => Severity::Low,
            "EssentialContainerExited" | "UserInitiated" => Severity::Info,
            _ => Severity::Medium,
        }
    }

    /// `service:web` → `web`, `family:batch` → `batch`, else the task id.
    fn name(&self) -> &str {
        match self.group.split_once(':') {
            Some((_, name)) if !name.is_empty() => name,
            _ => tail(&self.task_arn, '/'),
        }
    }
}

/// Only a task that stopped or is stopping: a task starting is routine.
pub fn task(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let t: Task = env.detail_as()?;
    if t.last_status != "STOPPED" && t.desired_status != "STOPPED" {
        return None;
    }
    let state = Some(t.stop_code.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| t.last_status.clone());
    let verdict = Verdict::new("ecs_task_stopped", t.severity(), state);
    let icon = verdict.icon();
    let what = if t.last_status == "STOPPED" {
        "ECS 任务已停止 Task stopped"
    } else {
        "ECS 任务停止中 Task stopping"
    };
    let mut doc = Doc::new(format!("{icon} {what}: {}", t.name()));
    doc.field("原因 Reason", &t.stopped_reason);
    doc.field("停止代码 Stop code", &t.stop_code);
    doc.field("集群 Cluster", tail(&t.cluster_arn, '/'));
    doc.field("任务 Task", tail(&t.task_arn, '/'));
    doc.field(
        "任务定义 Task definition",
        tail(&t.task_definition_arn, '/'),
    );
    doc.field("组 Group", &t.group);
    doc.field(
        "状态 Status",
        &format!("{} → {}", t.last_status, t.desired_status),
    );
    common_fields(&mut doc, env, opts);
    doc.field("停止时间 Stopped at", &when(&t.stopped_at, opts));
    containers(&mut doc, &t.containers);
    let region = region(env, &t.cluster_arn);
    let link = console::ecs_task(region, tail(&t.cluster_arn, '/'), tail(&t.task_arn, '/'));
    doc.link("在 ECS 控制台查看 Open in ECS", &link);
    let title = format!("{icon} {what}: {} ({})", t.name(), verdict.state);
    Some(verdict.finish(Some(env), title, doc, Some(link)))
}

/// One line per container: its exit code and reason, never its settings.
fn containers(doc: &mut Doc, containers: &[Container]) {
    if containers.is_empty() {
        return;
    }
    doc.subheading(&format!("容器 Containers ({})", containers.len()));
    for c in containers.iter().take(MAX_CONTAINERS) {
        let exit = match c.exit_code {
            Some(code) => format!("退出码 exit {code}"),
            None => c.last_status.clone(),
        };
        let parts: Vec<&str> = [c.name.as_str(), exit.as_str(), c.reason.as_str()]
            .into_iter()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        doc.bullet(&parts.join(" · "));
    }
    if containers.len() > MAX_CONTAINERS {
        let more = containers.len() - MAX_CONTAINERS;
        doc.bullet(&format!("… 另有 {more} 个 and {more} more"));
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceEvent {
    #[serde(default)]
    event_type: String,
    event_name: String,
    #[serde(default)]
    deployment_id: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    updated_at: String,
    #[serde(default)]
    created_at: String,
    #[serde(default)]
    capacity_provider_arns: Vec<String>,
}

/// `arn:aws:ecs:r:a:service/cluster/name` → (`cluster`, `name`).
fn service_of(env: &EventEnvelope) -> (String, String) {
    let arn = env.resources.first().map(String::as_str).unwrap_or("");
    let path = arn.split_once(":service/").map_or("", |(_, p)| p);
    match path.split_once('/') {
        Some((cluster, name)) => (cluster.to_string(), name.to_string()),
        None => (String::new(), path.to_string()),
    }
}

/// ECS's event types onto the scale: ERROR high, WARN medium, INFO info.
fn event_severity(event_type: &str) -> Severity {
    match event_type {
        "ERROR" => Severity::High,
        "WARN" => Severity::Medium,
        _ => Severity::Info,
    }
}

pub fn deployment(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let e: ServiceEvent = env.detail_as()?;
    // A rollback starts as IN_PROGRESS: the reason names the breaker.
    let severity = if e.reason.contains("rolling back") {
        Severity::Medium
    } else {
        event_severity(&e.event_type)
    };
    let verdict = Verdict::new("ecs_deployment", severity, e.event_name.clone());
    service_message(env, opts, &e, verdict, "ECS 部署 Deployment")
}

pub fn service_action(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let e: ServiceEvent = env.detail_as()?;
    let verdict = Verdict::new(
        "ecs_service_action",
        event_severity(&e.event_type),
        e.event_name.clone(),
    );
    service_message(env, opts, &e, verdict, "ECS 服务 Service")
}

fn service_message(
    env: &EventEnvelope,
    opts: &FormatOptions,
    e: &ServiceEvent,
    verdict: Verdict,
    what: &str,
) -> Option<Rendered> {
    let (cluster, service) = service_of(env);
    let icon = verdict.icon();
    let short = e
        .event_name
        .trim_start_matches("SERVICE_DEPLOYMENT_")
        .trim_start_matches("SERVICE_");
    let mut doc = Doc::new(format!("{icon} {what} {short}: {service}"));
    doc.field(
        "事件 Event",
        &format!("{} ({})", e.event_name, e.event_type),
    );
    doc.field("原因 Reason", &e.reason);
    doc.field("服务 Service", &service);
    doc.field("集群 Cluster", &cluster);
    doc.field("部署 Deployment", &e.deployment_id);
    let providers: Vec<&str> = e
        .capacity_provider_arns
        .iter()
        .map(|a| tail(a, '/'))
        .collect();
    doc.field("容量提供者 Capacity providers", &providers.join(", "));
    common_fields(&mut doc, env, opts);
    let at = if e.updated_at.is_empty() {
        &e.created_at
    } else {
        &e.updated_at
    };
    doc.field("事件时间 Event time", &when(at, opts));
    let link = console::ecs_service(&env.region, &cluster, &service);
    doc.link("在 ECS 控制台查看 Open in ECS", &link);
    let title = format!("{icon} {what} {short}: {service}");
    Some(verdict.finish(Some(env), title, doc, Some(link)))
}
