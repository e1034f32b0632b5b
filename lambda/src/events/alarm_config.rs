//! CloudWatch Alarm Configuration Change: an alarm was created, updated or
//! deleted. An update says what changed (`阈值 threshold: 70 → 80`), not
//! the two configurations AWS sends: nobody on call diffs forty lines on a
//! phone. Always severity info: a change is news, not an incident.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::alarm::{metric_line, state_icon, MetricQuery};
use super::{common_fields, EventEnvelope};
use crate::markdown::{links, Doc};
use crate::rendered::{AlertKind, FormatOptions, Rendered, Severity};

/// Fields AWS rewrites on every change (the configuration's own time stamp,
/// fresh metric query ids): never a change anyone made.
const NOT_CHANGES: [&str; 2] = ["timestamp", "alarmName"];
/// A changed value longer than this is cut.
const MAX_VALUE: usize = 200;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    alarm_name: String,
    #[serde(default)]
    operation: String,
    #[serde(default)]
    state: Option<State>,
    #[serde(default)]
    configuration: Map<String, Value>,
    #[serde(default)]
    previous_configuration: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Deserialize)]
struct State {
    #[serde(default)]
    value: String,
}

pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let d: Detail = env.detail_as()?;
    let (verb, done, icon) = match d.operation.as_str() {
        "create" => ("已创建 created", "created", "🆕"),
        "delete" => ("已删除 deleted", "deleted", "🗑\u{fe0f}"),
        _ => ("已修改 updated", "updated", "🛠\u{fe0f}"),
    };
    let mut title = format!("{icon} CloudWatch alarm {done}: {}", d.alarm_name);
    let mut doc = Doc::new(format!(
        "{icon} CloudWatch 告警配置 Alarm {verb}: {}",
        d.alarm_name
    ));
    doc.field("告警 Alarm", &d.alarm_name);
    doc.field("操作 Operation", &d.operation);
    if let Some(state) = d.state.as_ref().filter(|s| !s.value.is_empty()) {
        doc.field(
            "当前状态 State",
            &format!("{} {}", state_icon(&state.value), state.value),
        );
    }
    common_fields(&mut doc, env, opts);
    match &d.previous_configuration {
        Some(before) if d.operation == "update" => {
            let changes = changes(before, &d.configuration);
            if let Some((key, was, now)) = changes.first() {
                let more = changes.len() - 1;
                title.push_str(&format!(" · {key} {was} → {now}"));
                if more > 0 {
                    title.push_str(&format!(" (+{more})"));
                }
            }
            doc.subheading(&format!("变更 Changes ({})", changes.len()));
            if changes.is_empty() {
                doc.bullet("(无可见变更 no visible change)");
            }
            for (key, was, now) in &changes {
                doc.bullet(&format!("{key}: {was} → {now}"));
            }
        }
        _ => {
            doc.subheading("配置 Configuration");
            for (key, value) in shown(&d.configuration) {
                doc.bullet(&format!("{key}: {value}"));
            }
        }
    }
    let link = Some(env.region.as_str())
        .filter(|r| !r.is_empty() && d.operation != "delete")
        .map(|r| links::alarm(r, &d.alarm_name));
    if let Some(link) = &link {
        doc.link("在 CloudWatch 控制台查看 Open in CloudWatch", link);
    }
    Some(Rendered {
        message: doc.into_message(title),
        kind: AlertKind::Typed("alarm_configuration_change"),
        source: env.source.clone(),
        event_id: Some(env.id.clone()).filter(|s| !s.is_empty()),
        state: Some(d.operation.clone()).filter(|s| !s.is_empty()),
        severity: Severity::Info,
        link,
        context: None,
        test_id: None,
    })
}

/// `(key, before, after)` for every field whose value differs, in the
/// configuration's order; a field only on one side shows `-` on the other.
fn changes(
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Vec<(String, String, String)> {
    let mut keys: Vec<&String> = after.keys().collect();
    keys.extend(before.keys().filter(|k| !after.contains_key(*k)));
    keys.into_iter()
        .filter(|k| !NOT_CHANGES.contains(&k.as_str()))
        .filter_map(|k| {
            let was = before.get(k).map(|v| value_text(k, v));
            let now = after.get(k).map(|v| value_text(k, v));
            (was != now).then(|| {
                (
                    k.clone(),
                    was.unwrap_or_else(|| "-".into()),
                    now.unwrap_or_else(|| "-".into()),
                )
            })
        })
        .collect()
}

/// The configuration's fields worth reading, for a creation or deletion.
fn shown(config: &Map<String, Value>) -> Vec<(String, String)> {
    config
        .iter()
        .filter(|(k, _)| !NOT_CHANGES.contains(&k.as_str()))
        .filter(|(_, v)| !matches!(v, Value::Array(a) if a.is_empty()))
        .map(|(k, v)| (k.clone(), value_text(k, v)))
        .collect()
}

/// A value on one line: metrics as `AWS/EC2 / CPUUtilization (…), Average /
/// 300s` (without the query ids AWS regenerates), anything else as text or
/// compact JSON.
fn value_text(key: &str, v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Array(items) if key == "metrics" => items
            .iter()
            .filter_map(|q| serde_json::from_value::<MetricQuery>(q.clone()).ok())
            .filter_map(|q| metric_line(&q).map(|(_, line)| line))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    };
    match text.char_indices().nth(MAX_VALUE) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn only_real_changes_are_listed_and_regenerated_ids_are_not() {
        let metric = |id: &str, stat: &str| {
            json!([{"id": id, "metricStat": {"metric": {"namespace": "AWS/EC2", "name": "CPUUtilization",
                   "dimensions": {}}, "period": 300, "stat": stat}, "returnData": true}])
        };
        let before = map(
            json!({"threshold": 70, "metrics": metric("a", "Average"), "timestamp": "t1", "okActions": []}),
        );
        let after = map(
            json!({"threshold": 70, "metrics": metric("b", "Average"), "timestamp": "t2", "alarmActions": ["arn:x"]}),
        );
        assert_eq!(
            changes(&before, &after),
            vec![
                ("alarmActions".into(), "-".into(), r#"["arn:x"]"#.into()),
                ("okActions".into(), "[]".into(), "-".into()),
            ]
        );
        let after = map(json!({"threshold": 70, "metrics": metric("b", "Maximum")}));
        assert_eq!(
            changes(&before, &after)[0],
            (
                "metrics".into(),
                "AWS/EC2 / CPUUtilization, Average / 300s".into(),
                "AWS/EC2 / CPUUtilization, Maximum / 300s".into()
            )
        );
    }
}
