//! The classic CloudWatch alarm notification: the JSON an alarm action
//! publishes to an SNS topic (`AlarmName`, `NewStateValue`,
//! `NewStateReason`, `Trigger`, ...), the most common alert path of all.
//! It looks exactly like the EventBridge alarm ([`super::alarm::message`]):
//! same state icon, same console link, an OK reads as a recovery.

use serde::Deserialize;
use serde_json::Value;

use super::alarm::{message, metric_text, View};
use crate::rendered::{FormatOptions, Rendered};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Notification {
    alarm_name: String,
    #[serde(default)]
    alarm_description: Option<String>,
    #[serde(default, rename = "AWSAccountId")]
    account: String,
    new_state_value: String,
    #[serde(default)]
    new_state_reason: String,
    #[serde(default)]
    state_change_time: String,
    /// A display name (`US East (N. Virginia)`), not a code.
    #[serde(default)]
    region: String,
    #[serde(default)]
    alarm_arn: String,
    #[serde(default)]
    old_state_value: Option<String>,
    #[serde(default)]
    trigger: Option<Trigger>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Trigger {
    #[serde(default)]
    metric_name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    statistic: Option<String>,
    #[serde(default)]
    extended_statistic: Option<String>,
    #[serde(default)]
    dimensions: Vec<Dimension>,
    #[serde(default)]
    period: Option<u64>,
    #[serde(default)]
    evaluation_periods: Option<u64>,
    #[serde(default)]
    datapoints_to_alarm: Option<u64>,
    #[serde(default)]
    comparison_operator: Option<String>,
    #[serde(default)]
    threshold: Option<f64>,
    /// The anomaly band's expression id, for an anomaly detection alarm.
    #[serde(default)]
    threshold_metric_id: Option<String>,
    #[serde(default)]
    metrics: Vec<Query>,
}

#[derive(Debug, Clone, Deserialize)]
struct Dimension {
    #[serde(default, alias = "Name")]
    name: String,
    #[serde(default, alias = "Value")]
    value: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Query {
    #[serde(default)]
    id: String,
    #[serde(default)]
    expression: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    metric_stat: Option<QueryStat>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct QueryStat {
    metric: QueryMetric,
    #[serde(default)]
    period: Option<u64>,
    #[serde(default)]
    stat: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct QueryMetric {
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    metric_name: String,
    #[serde(default)]
    dimensions: Vec<Dimension>,
}

/// `None` unless `value` is an alarm notification (`AlarmName` and
/// `NewStateValue`).
pub fn render_notification(value: &Value, opts: &FormatOptions) -> Option<Rendered> {
    let obj = value.as_object()?;
    if !obj.contains_key("AlarmName") || !obj.contains_key("NewStateValue") {
        return None;
    }
    let n: Notification = serde_json::from_value(value.clone()).ok()?;
    let trigger = n.trigger.clone().unwrap_or_default();
    let region = region_of(&n.alarm_arn);
    let view = View {
        name: &n.alarm_name,
        new: &n.new_state_value,
        old: n.old_state_value.as_deref(),
        description: n.alarm_description.as_deref(),
        account: &n.account,
        region,
        region_name: Some(n.region.as_str()).filter(|r| !r.is_empty()),
        time: "",
        state_time: &n.state_change_time,
        rule: None,
        metrics: metric_lines(&trigger),
        threshold: threshold(&trigger),
        reason: &n.new_state_reason,
        suppressed: None,
        suppressor: None,
    };
    let mut rendered = message(&view, opts);
    let when = crate::markdown::time::short(&n.state_change_time, opts.time_zone);
    let context: Vec<&str> = [region.unwrap_or(""), when.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    rendered.context = Some(context.join(" · ")).filter(|s| !s.is_empty());
    Some(rendered)
}

fn metric_lines(t: &Trigger) -> Vec<(&'static str, String)> {
    let pairs = |d: &[Dimension]| -> Vec<(String, String)> {
        d.iter()
            .map(|d| (d.name.clone(), d.value.clone()))
            .collect()
    };
    let text = |ns: &str, name: &str, dims: &[(String, String)], stat: Option<&str>, p| {
        let dims: Vec<(&str, &str)> = dims.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        metric_text(ns, name, &dims, stat, p)
    };
    if let (Some(ns), Some(name)) = (&t.namespace, &t.metric_name) {
        let stat = t.statistic.as_deref().or(t.extended_statistic.as_deref());
        return vec![(
            "指标 Metric",
            text(ns, name, &pairs(&t.dimensions), stat, t.period),
        )];
    }
    t.metrics
        .iter()
        .filter_map(|q| match (&q.metric_stat, &q.expression) {
            (Some(ms), _) => Some((
                "指标 Metric",
                text(
                    &ms.metric.namespace,
                    &ms.metric.metric_name,
                    &pairs(&ms.metric.dimensions),
                    ms.stat.as_deref(),
                    ms.period,
                ),
            )),
            (None, Some(expr)) => {
                let label = q.label.as_deref().unwrap_or(&q.id);
                Some(("表达式 Expression", format!("{expr} ({label})")))
            }
            _ => None,
        })
        .collect()
}

/// `> 0 (1/1 × 60s)`; an anomaly detection alarm names its band instead of
/// a number.
fn threshold(t: &Trigger) -> Option<String> {
    let op = t.comparison_operator.as_deref()?;
    let sign = match op {
        "GreaterThanThreshold" => ">",
        "GreaterThanOrEqualToThreshold" => "≥",
        "LessThanThreshold" => "<",
        "LessThanOrEqualToThreshold" => "≤",
        "LessThanLowerOrGreaterThanUpperThreshold" => "超出异常带 outside the band",
        "GreaterThanUpperThreshold" => "高于异常带 above the band",
        "LessThanLowerThreshold" => "低于异常带 below the band",
        other => other,
    };
    let value = match (&t.threshold_metric_id, t.threshold) {
        (Some(id), _) => format!("{sign} {id}"),
        (None, Some(v)) => format!("{sign} {v}"),
        (None, None) => sign.to_string(),
    };
    let periods = match (
        t.datapoints_to_alarm.or(t.evaluation_periods),
        t.evaluation_periods,
        t.period,
    ) {
        (Some(d), Some(e), Some(p)) => format!(" ({d}/{e} × {p}s)"),
        _ => String::new(),
    };
    Some(format!("{value}{periods}"))
}

/// The region code in `arn:aws:cloudwatch:us-east-1:123456789012:alarm:x`,
/// when it is one (AWS's own samples say `REGION`).
fn region_of(arn: &str) -> Option<&str> {
    let region = arn.split(':').nth(3)?;
    let parts: Vec<&str> = region.split('-').collect();
    let plausible = parts.len() >= 3
        && parts.iter().all(|p| !p.is_empty())
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit());
    plausible.then_some(region)
}
