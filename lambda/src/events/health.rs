//! AWS Health events: service issues, scheduled changes (maintenance,
//! retirement) and account notifications. Scheduled maintenance is what
//! people miss in e-mail, so it gets its own heading and the window first.

use serde::Deserialize;

use super::{common_fields, EventEnvelope};
use crate::markdown::{links, time, Doc};
use crate::rendered::{AlertKind, FormatOptions, Rendered, Severity};

/// Long descriptions are cut here; the console link has the rest.
const DESCRIPTION_BYTES: usize = 4_000;
/// More affected entities than this are summarised with a count.
const MAX_ENTITIES: usize = 20;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthDetail {
    #[serde(default)]
    pub event_arn: String,
    #[serde(default)]
    pub service: String,
    pub event_type_code: String,
    #[serde(default)]
    pub event_type_category: String,
    #[serde(default)]
    pub status_code: String,
    #[serde(default)]
    pub start_time: String,
    #[serde(default)]
    pub end_time: String,
    #[serde(default)]
    pub event_region: String,
    /// `PUBLIC` (every customer in the region), `ACCOUNT_SPECIFIC` or `NONE`.
    #[serde(default)]
    pub event_scope_code: String,
    #[serde(default)]
    pub event_description: Vec<Description>,
    #[serde(default)]
    pub affected_entities: Vec<Entity>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Description {
    #[serde(default)]
    pub language: String,
    #[serde(default)]
    pub latest_description: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    #[serde(default)]
    pub entity_value: String,
    #[serde(default)]
    pub status: Option<String>,
}

impl HealthDetail {
    /// English first (AWS's canonical text), else whatever language came.
    pub fn description(&self) -> &str {
        self.event_description
            .iter()
            .find(|d| d.language == "en_US")
            .or_else(|| self.event_description.first())
            .map(|d| d.latest_description.as_str())
            .unwrap_or("")
    }

    pub fn is_scheduled(&self) -> bool {
        self.event_type_category == "scheduledChange"
    }

    /// What kind of news this is, from the event type code and scope.
    pub fn kind(&self) -> HealthKind {
        let code = self.event_type_code.as_str();
        if code.starts_with("AWS_RISK_") || code.contains("CREDENTIALS_EXPOSED") {
            HealthKind::Risk
        } else if code.contains("RETIREMENT") {
            HealthKind::Retirement
        } else if self.is_scheduled() {
            HealthKind::Scheduled
        } else if self.event_type_category == "issue" {
            match self.event_scope_code.as_str() {
                "ACCOUNT_SPECIFIC" => HealthKind::AccountIssue,
                _ => HealthKind::PublicIssue,
            }
        } else {
            HealthKind::Notice
        }
    }
}

/// How a Health event is headed and how urgent it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthKind {
    /// `AWS_RISK_*`, exposed credentials: an emergency in this account,
    /// not an outage notice.
    Risk,
    /// The instance (or host) will be stopped or terminated on a date.
    Retirement,
    Scheduled,
    /// An issue that affects this account's resources.
    AccountIssue,
    /// A service issue every customer in the region sees.
    PublicIssue,
    Notice,
}

impl HealthKind {
    fn severity(self) -> Severity {
        match self {
            HealthKind::Risk => Severity::Critical,
            HealthKind::Retirement | HealthKind::AccountIssue => Severity::High,
            _ => Severity::Medium,
        }
    }
}

fn category_label(category: &str, kind: HealthKind) -> &str {
    match (category, kind) {
        (_, HealthKind::Risk) => "账号风险 Account risk",
        ("issue", HealthKind::AccountIssue) => "账号问题 Account-specific issue",
        ("issue", _) => "服务问题 Service issue",
        (other, _) => match other {
            "scheduledChange" => "计划变更 Scheduled change",
            "accountNotification" => "账号通知 Account notification",
            "investigation" => "调查中 Investigation",
            other => other,
        },
    }
}

fn scope_label(scope: &str) -> &str {
    match scope {
        "PUBLIC" => "公共 Public: 该区域所有客户 every customer in the region",
        "ACCOUNT_SPECIFIC" => "本账号 This account",
        _ => "",
    }
}

fn status_label(status: &str) -> String {
    match status {
        "open" => "🔴 进行中 open".into(),
        "upcoming" => "🟡 即将发生 upcoming".into(),
        "closed" => "✅ 已结束 closed".into(),
        other => other.to_string(),
    }
}

pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let d: HealthDetail = env.detail_as()?;
    let kind = d.kind();
    let (heading, title) = headings(&d, kind);
    let mut doc = Doc::new(heading);
    callouts(&mut doc, &d, kind, opts);
    doc.field("事件 Event", &d.event_type_code);
    doc.field(
        "类别 Category",
        category_label(&d.event_type_category, kind),
    );
    doc.field("范围 Scope", scope_label(&d.event_scope_code));
    doc.field("状态 Status", &status_label(&d.status_code));
    common_fields(&mut doc, env, opts);
    if !d.event_region.is_empty() && d.event_region != env.region {
        doc.field("事件区域 Event region", &d.event_region);
    }
    if !d.is_scheduled() && kind != HealthKind::Retirement {
        doc.field("开始 Start", &show_opt(&d.start_time, opts));
        doc.field("结束 End", &show_opt(&d.end_time, opts));
    }
    entities(&mut doc, &d.affected_entities, &env.resources);
    doc.paragraph(&crate::markdown::clip(d.description(), DESCRIPTION_BYTES));
    let region = if d.event_region.is_empty() {
        &env.region
    } else {
        &d.event_region
    };
    let link = if d.event_arn.is_empty() {
        links::health_dashboard(region)
    } else {
        links::health_event(&d.event_arn, region)
    };
    doc.link("在 AWS Health 控制台查看 Open in AWS Health", &link);
    Some(Rendered {
        message: doc.into_message(title),
        kind: AlertKind::Health,
        source: env.source.clone(),
        event_id: Some(env.id.clone()).filter(|s| !s.is_empty()),
        state: Some(d.status_code.clone()).filter(|s| !s.is_empty()),
        severity: if d.status_code == "closed" {
            Severity::Info
        } else {
            kind.severity()
        },
        link: Some(link),
        context: None,
        test_id: None,
    })
}

/// The heading and the title: what happened, in the words that fit it.
fn headings(d: &HealthDetail, kind: HealthKind) -> (String, String) {
    let service = if d.service.is_empty() {
        "AWS"
    } else {
        &d.service
    };
    let closed = d.status_code == "closed";
    match kind {
        HealthKind::Risk if !closed => (
            format!("🚨 安全风险 Security risk: {service}"),
            format!("🚨 AWS 安全风险 Security risk: {}", d.event_type_code),
        ),
        HealthKind::Retirement if !closed => (
            format!("🛠️ 实例退役 Retirement: {service}"),
            format!("🛠️ AWS Health: {service} 实例退役 retirement"),
        ),
        HealthKind::Scheduled if !closed => (
            format!("🛠️ 计划维护 Scheduled maintenance: {service}"),
            format!("🛠️ AWS Health: {service} 计划维护"),
        ),
        _ => {
            let icon = match kind {
                _ if closed => "✅",
                HealthKind::AccountIssue | HealthKind::PublicIssue => "🔴",
                _ => "📢",
            };
            let public = if kind == HealthKind::PublicIssue && !closed {
                " (公共 public)"
            } else {
                ""
            };
            (
                format!("{icon} AWS Health: {service}{public}"),
                format!("{icon} AWS Health: {service} {}{public}", d.event_type_code),
            )
        }
    }
}

/// What the person on call must know first: the action a risk needs, when
/// a retirement happens, the maintenance window.
fn callouts(doc: &mut Doc, d: &HealthDetail, kind: HealthKind, opts: &FormatOptions) {
    if d.status_code == "closed" {
        return;
    }
    let start = show_or_dash(&d.start_time, opts);
    match kind {
        HealthKind::Risk => doc.callout(
            "需要立即处理 Action required now: 立即删除或轮换受影响的凭证，并在 CloudTrail 中检查其近期调用 \
             (delete or rotate the affected credentials now and review their recent calls in CloudTrail)",
        ),
        HealthKind::Retirement => doc.callout(&format!(
            "实例将于 {start} 起被停止或终止（硬件退役）；请在此之前停止再启动（迁移到新硬件）或替换 \
             (the instance will be stopped or terminated from {start}; stop and start it, or replace it, before then)"
        )),
        HealthKind::Scheduled => doc.callout(&format!(
            "维护窗口 Window: {start} → {}",
            show_or_dash(&d.end_time, opts)
        )),
        _ => {}
    }
}

/// The affected resources, as a list; falls back to the envelope's `resources`.
pub fn entities(doc: &mut Doc, entities: &[Entity], resources: &[String]) {
    let values: Vec<String> = if entities.is_empty() {
        resources.to_vec()
    } else {
        entities
            .iter()
            .filter(|e| !e.entity_value.is_empty())
            .map(|e| match &e.status {
                Some(s) if !s.is_empty() => format!("{} ({s})", e.entity_value),
                _ => e.entity_value.clone(),
            })
            .collect()
    };
    if values.is_empty() {
        return;
    }
    doc.subheading(&format!("受影响资源 Affected resources ({})", values.len()));
    for v in values.iter().take(MAX_ENTITIES) {
        doc.bullet(v);
    }
    if values.len() > MAX_ENTITIES {
        let more = values.len() - MAX_ENTITIES;
        doc.bullet(&format!("… 另有 {more} 个 and {more} more"));
    }
}

fn show_opt(raw: &str, opts: &FormatOptions) -> String {
    if raw.trim().is_empty() {
        String::new()
    } else {
        time::show(raw, opts.time_zone)
    }
}

fn show_or_dash(raw: &str, opts: &FormatOptions) -> String {
    if raw.trim().is_empty() {
        "?".into()
    } else {
        time::show(raw, opts.time_zone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::render;

    /// AWS's scheduled-change sample (`tests/fixtures/health_scheduled_maintenance.json`)
    /// with the retirement event type code Health uses for EC2.
    #[test]
    fn a_retirement_says_what_happens_and_when() {
        let raw = include_str!("../../tests/fixtures/health_scheduled_maintenance.json").replace(
            "AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED",
            "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",
        );
        let r = render(&raw, None, &FormatOptions::default());
        assert_eq!(
            r.message.title,
            "🛠\u{fe0f} AWS Health: EC2 实例退役 retirement"
        );
        assert_eq!(r.severity, Severity::High);
        assert!(
            r.message.text.starts_with(
                "### 🛠\u{fe0f} 实例退役 Retirement: EC2\n\n> 实例将于 2026-11-29 02:00:00 (Asia/Shanghai) 起被停止或终止（硬件退役）；请在此之前停止再启动（迁移到新硬件）或替换 (the instance will be stopped or terminated from 2026-11-29 02:00:00 (Asia/Shanghai); stop and start it, or replace it, before then)\n\n"
            ),
            "{}",
            r.message.text
        );
        assert!(!r.message.text.contains("Scheduled maintenance"));
    }
}
