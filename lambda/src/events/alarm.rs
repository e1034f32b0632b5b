//! CloudWatch Alarm State Change: metric alarms (single metric or metric
//! math) and composite alarms. The threshold is not in the event's
//! configuration, but CloudWatch puts it in the state's `reasonData`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{common_fields, EventEnvelope};
use crate::markdown::{links, time, Doc};
use crate::rendered::{AlertKind, FormatOptions, Rendered, Severity};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmDetail {
    pub alarm_name: String,
    pub state: AlarmState,
    #[serde(default)]
    pub previous_state: Option<AlarmState>,
    #[serde(default)]
    pub configuration: Configuration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmState {
    pub value: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub reason_data: Option<String>,
    #[serde(default)]
    pub timestamp: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Configuration {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub metrics: Vec<MetricQuery>,
    #[serde(default)]
    pub alarm_rule: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricQuery {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub metric_stat: Option<MetricStat>,
    #[serde(default)]
    pub expression: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub return_data: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricStat {
    pub metric: Metric,
    #[serde(default)]
    pub period: Option<u64>,
    #[serde(default)]
    pub stat: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Metric {
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub dimensions: BTreeMap<String, String>,
}

pub fn state_icon(state: &str) -> &'static str {
    match state {
        "ALARM" => "🔴",
        "OK" => "✅",
        "INSUFFICIENT_DATA" => "⚪",
        _ => "❔",
    }
}

/// An alarm going into ALARM is high: someone chose to be told; a recovery
/// or missing data is not a page.
pub fn severity(state: &str) -> Severity {
    match state {
        "ALARM" => Severity::High,
        "INSUFFICIENT_DATA" => Severity::Low,
        _ => Severity::Info,
    }
}

pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let d: AlarmDetail = env.detail_as()?;
    let new = d.state.value.as_str();
    let icon = state_icon(new);
    let mut doc = Doc::new(format!("{icon} CloudWatch 告警 Alarm: {}", d.alarm_name));
    let transition = match &d.previous_state {
        Some(prev) => format!("{} {} → {icon} {new}", state_icon(&prev.value), prev.value),
        None => format!("{icon} {new}"),
    };
    doc.field("状态 State", &transition);
    doc.field("告警 Alarm", &d.alarm_name);
    if let Some(desc) = &d.configuration.description {
        doc.field("说明 Description", desc);
    }
    common_fields(&mut doc, env, opts);
    if !d.state.timestamp.is_empty() {
        doc.field(
            "状态时间 State time",
            &time::show(&d.state.timestamp, opts.time_zone),
        );
    }
    if let Some(rule) = &d.configuration.alarm_rule {
        doc.field("组合规则 Composite rule", rule);
    }
    for q in &d.configuration.metrics {
        if let Some(ms) = &q.metric_stat {
            let dims = ms
                .metric
                .dimensions
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut line = format!("{} / {}", ms.metric.namespace, ms.metric.name);
            if !dims.is_empty() {
                line.push_str(&format!(" ({dims})"));
            }
            if let (Some(stat), Some(period)) = (&ms.stat, ms.period) {
                line.push_str(&format!(", {stat} / {period}s"));
            }
            doc.field("指标 Metric", &line);
        } else if let Some(expr) = &q.expression {
            let label = q.label.as_deref().unwrap_or(&q.id);
            doc.field("表达式 Expression", &format!("{expr} ({label})"));
        }
    }
    if let Some(threshold) = threshold(d.state.reason_data.as_deref()) {
        doc.field("阈值 Threshold", &threshold);
    }
    doc.field("原因 Reason", &d.state.reason);
    let link = links::alarm(&env.region, &d.alarm_name);
    doc.link("在 CloudWatch 控制台查看 Open in CloudWatch", &link);
    Some(Rendered {
        message: doc.into_message(format!("{icon} {new}: {}", d.alarm_name)),
        kind: AlertKind::AlarmStateChange,
        source: env.source.clone(),
        event_id: Some(env.id.clone()).filter(|s| !s.is_empty()),
        state: Some(new.to_string()),
        severity: severity(new),
        link: Some(link),
        context: None,
        test_id: None,
    })
}

/// `reasonData` is JSON inside a string: `{"threshold":50.0,"recentDatapoints":[99.5],...}`.
fn threshold(reason_data: Option<&str>) -> Option<String> {
    let v: Value = serde_json::from_str(reason_data?).ok()?;
    let t = v.get("threshold")?.as_f64()?;
    let recent = v
        .get("recentDatapoints")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_f64)
                .map(|x| format!("{x}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|s| !s.is_empty());
    Some(match recent {
        Some(r) => format!("{t} (最近数据 recent: {r})"),
        None => format!("{t}"),
    })
}
