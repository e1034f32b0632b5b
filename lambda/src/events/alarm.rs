//! CloudWatch Alarm State Change: metric alarms (single metric or metric
//! math) and composite alarms. The threshold is not in the event's
//! configuration, but CloudWatch puts it in the state's `reasonData`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::EventEnvelope;
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
    /// `Alarm`, `WaitPeriod` or `ExtensionPeriod` when AWS suppressed the
    /// composite alarm's actions; `None` (the word) or absent otherwise.
    #[serde(default)]
    pub actions_suppressed_by: Option<String>,
    #[serde(default)]
    pub actions_suppressed_reason: Option<String>,
}

impl AlarmState {
    /// Why AWS suppressed this transition's actions, if it did.
    pub fn suppressed(&self) -> Option<String> {
        let by = self
            .actions_suppressed_by
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty() && !b.eq_ignore_ascii_case("None"))?;
        Some(
            self.actions_suppressed_reason
                .clone()
                .filter(|r| !r.trim().is_empty())
                .unwrap_or_else(|| format!("Actions suppressed by {by}")),
        )
    }
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
    #[serde(default)]
    pub actions_suppressor: Option<String>,
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

/// One alarm transition, whichever way it arrived (an EventBridge event
/// or the classic SNS JSON of an alarm action): both look the same.
pub struct View<'a> {
    pub name: &'a str,
    pub new: &'a str,
    pub old: Option<&'a str>,
    pub description: Option<&'a str>,
    pub account: &'a str,
    /// A region code (`us-east-1`) when known, for the field and the link.
    pub region: Option<&'a str>,
    /// What the payload calls its region when it has no code (the SNS
    /// JSON's `US East (N. Virginia)`).
    pub region_name: Option<&'a str>,
    pub time: &'a str,
    pub state_time: &'a str,
    pub rule: Option<&'a str>,
    /// `(label, value)` lines: metrics, expressions.
    pub metrics: Vec<(&'static str, String)>,
    pub threshold: Option<String>,
    pub reason: &'a str,
    /// Why AWS suppressed the actions: the transition is shown but nobody is
    /// paged for it.
    pub suppressed: Option<String>,
    pub suppressor: Option<&'a str>,
}

pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let d: AlarmDetail = env.detail_as()?;
    let metrics = d
        .configuration
        .metrics
        .iter()
        .filter_map(metric_line)
        .collect();
    let view = View {
        name: &d.alarm_name,
        new: &d.state.value,
        old: d.previous_state.as_ref().map(|p| p.value.as_str()),
        description: d.configuration.description.as_deref(),
        account: &env.account,
        region: Some(env.region.as_str()).filter(|r| !r.is_empty()),
        region_name: None,
        time: &env.time,
        state_time: &d.state.timestamp,
        rule: d.configuration.alarm_rule.as_deref(),
        metrics,
        threshold: threshold(d.state.reason_data.as_deref()),
        reason: &d.state.reason,
        suppressed: d.state.suppressed(),
        suppressor: d.configuration.actions_suppressor.as_deref(),
    };
    let mut rendered = message(&view, opts);
    rendered.source = env.source.clone();
    rendered.event_id = Some(env.id.clone()).filter(|s| !s.is_empty());
    Some(rendered)
}

/// `AWS/EC2 / CPUUtilization (InstanceId=i-1), Average / 300s`, or an
/// expression with its label.
fn metric_line(q: &MetricQuery) -> Option<(&'static str, String)> {
    if let Some(ms) = &q.metric_stat {
        let dims: Vec<(&str, &str)> = ms
            .metric
            .dimensions
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let line = metric_text(
            &ms.metric.namespace,
            &ms.metric.name,
            &dims,
            ms.stat.as_deref(),
            ms.period,
        );
        return Some(("指标 Metric", line));
    }
    let expr = q.expression.as_deref()?;
    let label = q.label.as_deref().unwrap_or(&q.id);
    Some(("表达式 Expression", format!("{expr} ({label})")))
}

pub fn metric_text(
    namespace: &str,
    name: &str,
    dims: &[(&str, &str)],
    stat: Option<&str>,
    period: Option<u64>,
) -> String {
    let dims = dims
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut line = format!("{namespace} / {name}");
    if !dims.is_empty() {
        line.push_str(&format!(" ({dims})"));
    }
    if let (Some(stat), Some(period)) = (stat, period) {
        line.push_str(&format!(", {stat} / {period}s"));
    }
    line
}

/// The message for one transition. A suppressed one says so first, is
/// severity info and so never mentions anyone: the suppressor exists so
/// that nobody is paged.
pub fn message(v: &View<'_>, opts: &FormatOptions) -> Rendered {
    let icon = if v.suppressed.is_some() {
        "🔕"
    } else {
        state_icon(v.new)
    };
    let mut doc = Doc::new(format!("{icon} CloudWatch 告警 Alarm: {}", v.name));
    if let Some(why) = &v.suppressed {
        doc.callout(&format!(
            "🔕 动作已被抑制，不通知值班 Actions suppressed, nobody is paged: {why}"
        ));
    }
    let transition = match v.old.filter(|o| !o.is_empty()) {
        Some(old) => format!(
            "{} {old} → {} {}",
            state_icon(old),
            state_icon(v.new),
            v.new
        ),
        None => format!("{} {}", state_icon(v.new), v.new),
    };
    doc.field("状态 State", &transition);
    doc.field("告警 Alarm", v.name);
    doc.field("说明 Description", v.description.unwrap_or(""));
    doc.field("账号 Account", &opts.account(v.account));
    doc.field("区域 Region", v.region.or(v.region_name).unwrap_or(""));
    if !v.time.is_empty() {
        doc.field("时间 Time", &time::show(v.time, opts.time_zone));
    }
    if !v.state_time.is_empty() {
        doc.field(
            "状态时间 State time",
            &time::show(v.state_time, opts.time_zone),
        );
    }
    doc.field("组合规则 Composite rule", v.rule.unwrap_or(""));
    doc.field("抑制告警 Suppressor", v.suppressor.unwrap_or(""));
    for (label, line) in &v.metrics {
        doc.field(label, line);
    }
    doc.field("阈值 Threshold", v.threshold.as_deref().unwrap_or(""));
    doc.field("原因 Reason", v.reason);
    let link = v.region.map(|r| links::alarm(r, v.name));
    if let Some(link) = &link {
        doc.link("在 CloudWatch 控制台查看 Open in CloudWatch", link);
    }
    let title = match &v.suppressed {
        Some(_) => format!("🔕 {} (已抑制 suppressed): {}", v.new, v.name),
        None => format!("{icon} {}: {}", v.new, v.name),
    };
    Rendered {
        message: doc.into_message(title),
        kind: AlertKind::AlarmStateChange,
        source: "aws.cloudwatch".into(),
        event_id: None,
        state: Some(v.new.to_string()),
        severity: if v.suppressed.is_some() {
            Severity::Info
        } else {
            severity(v.new)
        },
        link,
        context: None,
        test_id: None,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::render;

    /// AWS's composite alarm sample (`tests/fixtures/alarm_composite.json`)
    /// with its state as CloudWatch reports a transition whose actions the
    /// suppressor held back (`actionsSuppressedBy`, `actionsSuppressedReason`:
    /// the CompositeAlarm API reference's fields and values).
    #[test]
    fn a_suppressed_composite_is_info_and_says_so() {
        let raw = include_str!("../../tests/fixtures/alarm_composite.json");
        let mut v: serde_json::Value = serde_json::from_str(raw).unwrap();
        v["detail"]["state"]["value"] = "ALARM".into();
        v["detail"]["state"]["actionsSuppressedBy"] = "Alarm".into();
        v["detail"]["state"]["actionsSuppressedReason"] =
            "Alarm ServiceMaintenanceAlarm is in ALARM state".into();
        v["detail"]["previousState"]["value"] = "OK".into();
        let r = render(&v.to_string(), None, &FormatOptions::default());
        assert_eq!(
            r.message.title,
            "🔕 ALARM (已抑制 suppressed): ServiceAggregatedAlarm"
        );
        assert_eq!(r.severity, Severity::Info);
        assert_eq!(r.state.as_deref(), Some("ALARM"));
        assert!(r.message.text.starts_with(
            "### 🔕 CloudWatch 告警 Alarm: ServiceAggregatedAlarm\n\n\
             > 🔕 动作已被抑制，不通知值班 Actions suppressed, nobody is paged: Alarm ServiceMaintenanceAlarm is in ALARM state\n\n\
             - **状态 State**: ✅ OK → 🔴 ALARM\n"
        ), "{}", r.message.text);
        // "None" is what an unsuppressed transition carries.
        let r = render(raw, None, &FormatOptions::default());
        assert_eq!(r.message.title, "✅ OK: ServiceAggregatedAlarm");
    }
}
