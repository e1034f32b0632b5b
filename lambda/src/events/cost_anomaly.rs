//! Cost Anomaly Detection: spend the model did not expect. An IMMEDIATE
//! subscription publishes plain JSON to SNS (no EventBridge envelope; shape
//! as in AWS's "Creating an Amazon SNS topic for anomaly notifications").
//! The message says how much over, against what was expected, in which
//! period, and which service, region and usage type caused it.

use serde::Deserialize;
use serde_json::Value;

use crate::markdown::{links, Doc};
use crate::rendered::{AlertKind, Rendered, Severity};

/// More root causes than this are summarised with a count.
const MAX_ROOT_CAUSES: usize = 10;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Anomaly {
    #[serde(default)]
    pub account_id: String,
    #[serde(default)]
    pub account_name: Option<String>,
    pub anomaly_id: String,
    #[serde(default)]
    pub anomaly_start_date: Option<String>,
    #[serde(default)]
    pub anomaly_end_date: Option<String>,
    /// What the monitor watches: the service, for a service monitor
    /// (`dimensionValue` in the EventBridge form).
    #[serde(default, alias = "dimensionValue")]
    pub dimensional_value: Option<String>,
    #[serde(default)]
    pub monitor_name: Option<String>,
    #[serde(default)]
    pub monitor_arn: String,
    #[serde(default)]
    pub subscription_name: Option<String>,
    pub impact: Impact,
    #[serde(default)]
    pub root_causes: Vec<RootCause>,
    #[serde(default)]
    pub anomaly_details_link: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Impact {
    #[serde(default)]
    pub max_impact: Option<f64>,
    #[serde(default)]
    pub total_actual_spend: Option<f64>,
    #[serde(default)]
    pub total_expected_spend: Option<f64>,
    #[serde(default)]
    pub total_impact: Option<f64>,
    #[serde(default)]
    pub total_impact_percentage: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RootCause {
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub usage_type: Option<String>,
    #[serde(default)]
    pub linked_account: Option<String>,
    #[serde(default)]
    pub linked_account_name: Option<String>,
    #[serde(default)]
    pub impact: Option<RootCauseImpact>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RootCauseImpact {
    #[serde(default)]
    pub contribution: Option<f64>,
}

/// The SNS notification: a JSON object with `anomalyId` and `impact`.
/// `None` unless `value` has the notification's `anomalyId` and `impact`.
/// Dates are days (no time zone to convert).
pub fn render_notification(value: &Value) -> Option<Rendered> {
    let obj = value.as_object()?;
    if !obj.contains_key("anomalyId") || !obj.contains_key("impact") {
        return None;
    }
    let a: Anomaly = serde_json::from_value(value.clone()).ok()?;
    let mut rendered = render_anomaly(&a);
    rendered.context = a.anomaly_start_date.as_deref().map(day);
    Some(rendered)
}

/// The EventBridge form (`aws.ce` / `Anomaly Detected`): the same anomaly
/// in `detail`, rendered exactly like the SNS notification, plus the
/// event's id and a digest line with the event's region and time.
pub fn render_event(env: &super::EventEnvelope) -> Option<Rendered> {
    let a: Anomaly = env.detail_as()?;
    let mut rendered = render_anomaly(&a);
    rendered.source = env.source.clone();
    rendered.event_id = Some(env.id.clone()).filter(|s| !s.is_empty());
    Some(rendered)
}

fn render_anomaly(a: &Anomaly) -> Rendered {
    let cur = currency(&a.monitor_arn);
    let what = a
        .dimensional_value
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("AWS");
    let impact = a.impact.total_impact.map(|v| money(cur, v));
    let mut doc = Doc::new(format!("💰 成本异常 Cost anomaly: {what}"));
    let mut line = impact.clone().unwrap_or_default();
    if let Some(p) = a.impact.total_impact_percentage {
        line.push_str(&format!(" (+{p}%)"));
    }
    doc.field("超出 Impact", &line);
    let spend = |v: Option<f64>| v.map(|v| money(cur, v)).unwrap_or_default();
    doc.field("实际支出 Actual spend", &spend(a.impact.total_actual_spend));
    doc.field(
        "预期支出 Expected spend",
        &spend(a.impact.total_expected_spend),
    );
    doc.field("单日最大影响 Max daily impact", &spend(a.impact.max_impact));
    let start = a.anomaly_start_date.as_deref().map(day).unwrap_or_default();
    let end = match a.anomaly_end_date.as_deref().map(day) {
        Some(d) if !d.is_empty() => d,
        _ => "进行中 ongoing".to_string(),
    };
    doc.field("期间 Period", &format!("{start} → {end}"));
    doc.field(
        "账号 Account",
        &named(&a.account_id, a.account_name.as_deref()),
    );
    doc.field("监控 Monitor", a.monitor_name.as_deref().unwrap_or(""));
    doc.field(
        "订阅 Subscription",
        a.subscription_name.as_deref().unwrap_or(""),
    );
    root_causes(&mut doc, &a.root_causes, cur);
    let link = a
        .anomaly_details_link
        .clone()
        .filter(|l| links::is_aws_site(l))
        .unwrap_or_else(|| links::cost_anomalies(&a.monitor_arn));
    doc.link("在成本异常检测中查看 Open in Cost Anomaly Detection", &link);
    let title = match &impact {
        Some(i) => format!("💰 AWS 成本异常 Cost anomaly: {what} +{i}"),
        None => format!("💰 AWS 成本异常 Cost anomaly: {what}"),
    };
    Rendered {
        message: doc.into_message(title),
        kind: AlertKind::CostAnomaly,
        source: "aws.ce".into(),
        event_id: Some(a.anomaly_id.clone()).filter(|s| !s.is_empty()),
        state: None,
        severity: Severity::Medium,
        link: Some(link),
        context: None,
        test_id: None,
    }
}

fn root_causes(doc: &mut Doc, causes: &[RootCause], cur: &str) {
    if causes.is_empty() {
        return;
    }
    doc.subheading(&format!("根因 Root causes ({})", causes.len()));
    for c in causes.iter().take(MAX_ROOT_CAUSES) {
        let account = c.linked_account.as_deref().map(|id| {
            format!(
                "账号 Account {}",
                named(id, c.linked_account_name.as_deref())
            )
        });
        let contribution = c
            .impact
            .as_ref()
            .and_then(|i| i.contribution)
            .map(|v| money(cur, v));
        let parts: Vec<String> = [
            c.service.clone(),
            c.region.clone(),
            c.usage_type.clone(),
            account,
            contribution,
        ]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .collect();
        if !parts.is_empty() {
            doc.bullet(&parts.join(" · "));
        }
    }
    if causes.len() > MAX_ROOT_CAUSES {
        let more = causes.len() - MAX_ROOT_CAUSES;
        doc.bullet(&format!("… 另有 {more} 个 and {more} more"));
    }
}

/// Amounts are in the billing currency: US dollars, renminbi in China.
fn currency(monitor_arn: &str) -> &'static str {
    if monitor_arn.starts_with("arn:aws-cn:") {
        "¥"
    } else {
        "$"
    }
}

fn money(cur: &str, v: f64) -> String {
    format!("{cur}{v:.2}")
}

/// Anomalies are daily: `2021-05-25T00:00:00Z` → `2021-05-25`.
fn day(raw: &str) -> String {
    let raw = raw.trim();
    match raw.split_once('T') {
        Some((d, _)) => d.to_string(),
        None => raw.to_string(),
    }
}

fn named(id: &str, name: Option<&str>) -> String {
    match name.map(str::trim).filter(|n| !n.is_empty() && *n != id) {
        Some(n) => format!("{id} ({n})"),
        None => id.to_string(),
    }
}
