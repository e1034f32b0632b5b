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
}

fn category_label(category: &str) -> &str {
    match category {
        "issue" => "服务问题 Issue",
        "scheduledChange" => "计划变更 Scheduled change",
        "accountNotification" => "账号通知 Account notification",
        "investigation" => "调查中 Investigation",
        other => other,
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
    let service = if d.service.is_empty() {
        "AWS"
    } else {
        &d.service
    };
    let (heading, title) = if d.is_scheduled() {
        (
            format!("🛠️ 计划维护 Scheduled maintenance: {service}"),
            format!("🛠️ AWS Health: {service} 计划维护"),
        )
    } else {
        let icon = match d.status_code.as_str() {
            "closed" => "✅",
            _ if d.event_type_category == "issue" => "🔴",
            _ => "📢",
        };
        (
            format!("{icon} AWS Health: {service}"),
            format!("{icon} AWS Health: {service} {}", d.event_type_code),
        )
    };
    let mut doc = Doc::new(heading);
    if d.is_scheduled() {
        let window = format!(
            "{} → {}",
            show_or_dash(&d.start_time, opts),
            show_or_dash(&d.end_time, opts)
        );
        doc.callout(&format!("维护窗口 Window: {window}"));
    }
    doc.field("事件 Event", &d.event_type_code);
    doc.field("类别 Category", category_label(&d.event_type_category));
    doc.field("状态 Status", &status_label(&d.status_code));
    common_fields(&mut doc, env, opts);
    if !d.event_region.is_empty() && d.event_region != env.region {
        doc.field("事件区域 Event region", &d.event_region);
    }
    if !d.is_scheduled() {
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
            Severity::Medium
        },
        link: Some(link),
        context: None,
        test_id: None,
    })
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
