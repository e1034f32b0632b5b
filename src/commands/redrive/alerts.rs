//! The alerts in a dead-letter message. The dead-letter queue holds two
//! shapes of body:
//! - what the alert queue moved there after `MaxReceiveCount` tries: an SNS
//!   notification (`{"Type":"Notification","MessageId":...}`), which goes
//!   back unchanged;
//! - a failed asynchronous invocation of the function: the Lambda event
//!   itself. An SNS event (`{"Records":[{"Sns":{...}}]}`) becomes one SNS
//!   notification per record; anything else (an EventBridge event, text) is
//!   sent as is, which the function reads from the queue too.

use serde_json::Value;

/// Longest title shown for an alert.
const TITLE_CHARS: usize = 60;

/// One alert as it goes to the alert queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The log contract's alert id: the SNS MessageId, else the EventBridge
    /// event id, else the dead-letter message's id.
    pub id: String,
    /// Subject or `detail-type`, else the first line of a text, shortened.
    pub title: String,
    pub body: String,
}

/// The bodies the alert queue should get for one dead-letter body (see the
/// module documentation).
pub fn alert_bodies(body: &str) -> Vec<String> {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return vec![body.to_string()];
    };
    if is_notification(&value) {
        return vec![body.to_string()];
    }
    match sns_records(&value) {
        Some(records) => records.into_iter().map(notification_body).collect(),
        None => vec![body.to_string()],
    }
}

/// [`alert_bodies`] with an id and a title for each.
pub fn alerts_of(message_id: &str, body: &str) -> Vec<Alert> {
    alert_bodies(body)
        .into_iter()
        .map(|body| {
            let (id, title) = describe(&body);
            Alert {
                id: id.unwrap_or_else(|| message_id.to_string()),
                title,
                body,
            }
        })
        .collect()
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// What SNS puts in an SQS body (non-raw delivery), as the function checks it.
fn is_notification(v: &Value) -> bool {
    v.get("Type").and_then(Value::as_str) == Some("Notification") && v.get("Message").is_some()
}

/// The `Sns` objects of a Lambda SNS event, when every record is one.
fn sns_records(event: &Value) -> Option<Vec<&serde_json::Map<String, Value>>> {
    let records = event.get("Records")?.as_array()?;
    if records.is_empty() {
        return None;
    }
    records
        .iter()
        .map(|record| {
            let source = record
                .get("EventSource")
                .or_else(|| record.get("eventSource"))
                .and_then(Value::as_str);
            if source.is_some_and(|s| s != "aws:sns") {
                return None;
            }
            let sns = record.get("Sns")?.as_object()?;
            sns.contains_key("Message").then_some(sns)
        })
        .collect()
}

/// An SNS record as the notification SNS itself would have put in the queue,
/// fields in SNS's order; absent or null fields are left out.
fn notification_body(sns: &serde_json::Map<String, Value>) -> String {
    let mut out = String::from("{\"Type\":\"Notification\"");
    for key in ["MessageId", "TopicArn", "Subject", "Message", "Timestamp"] {
        if let Some(value) = sns.get(key).filter(|v| !v.is_null()) {
            out.push_str(&format!(",\"{key}\":{value}"));
        }
    }
    out.push('}');
    out
}

/// The alert id (when the body carries one) and a short title.
fn describe(body: &str) -> (Option<String>, String) {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return (None, short(body));
    };
    if is_notification(&v) {
        let title = match str_field(&v, "Subject") {
            Some(subject) => short(&subject),
            None => match v.get("Message") {
                Some(Value::String(text)) => message_title(text),
                Some(other) => message_title(&other.to_string()),
                None => short(""),
            },
        };
        return (str_field(&v, "MessageId"), title);
    }
    match event_title(&v) {
        Some(title) => (str_field(&v, "id"), title),
        None => (None, short(body)),
    }
}

fn message_title(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| event_title(&v))
        .unwrap_or_else(|| short(text))
}

/// An EventBridge event's `detail-type`.
fn event_title(v: &Value) -> Option<String> {
    v.get("source")?;
    str_field(v, "detail-type").map(|t| short(&t))
}

/// The first non-empty line, without control characters, at most
/// [`TITLE_CHARS`] characters.
fn short(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let clean: String = line
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.is_empty() {
        return "(empty)".to_string();
    }
    if clean.chars().count() <= TITLE_CHARS {
        return clean;
    }
    let cut: String = clean.chars().take(TITLE_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TOPIC: &str = "arn:aws:sns:ap-southeast-1:123456789012:dingtalk-notifier-Topic-AbC";

    fn alarm_event() -> Value {
        json!({
            "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
            "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
            "account": "123456789012", "time": "2026-01-02T03:04:05Z", "region": "ap-southeast-1",
            "resources": ["arn:aws:cloudwatch:ap-southeast-1:123456789012:alarm:cpu-high"],
            "detail": {"alarmName": "cpu-high", "state": {"value": "ALARM"}}
        })
    }

    #[test]
    fn sns_notification_body_is_kept_byte_for_byte() {
        let body = format!(
            "{{\"Type\" : \"Notification\", \"MessageId\" : \"5f1c\", \"TopicArn\" : \"{TOPIC}\", \"Message\" : {}, \"Timestamp\" : \"2026-01-02T03:04:06.000Z\", \"SignatureVersion\" : \"1\"}}",
            Value::String(alarm_event().to_string())
        );
        assert_eq!(alert_bodies(&body), vec![body.clone()]);
        assert_eq!(
            alerts_of("q-1", &body),
            vec![Alert {
                id: "5f1c".into(),
                title: "CloudWatch Alarm State Change".into(),
                body
            }]
        );
    }

    #[test]
    fn lambda_sns_event_becomes_one_notification_per_record() {
        let event = json!({"Records": [
            {"EventSource": "aws:sns", "EventVersion": "1.0",
             "EventSubscriptionArn": format!("{TOPIC}:sub-1"),
             "Sns": {"Type": "Notification", "MessageId": "m-1", "TopicArn": TOPIC,
                     "Subject": "Backup failed", "Message": "job 42 failed\nsee console",
                     "Timestamp": "2026-01-02T03:04:05.000Z", "SignatureVersion": "1",
                     "Signature": "c2ln", "SigningCertUrl": "https://sns/cert.pem",
                     "UnsubscribeUrl": "https://sns/unsub", "MessageAttributes": {}}},
            {"EventSource": "aws:sns", "EventVersion": "1.0",
             "Sns": {"Type": "Notification", "MessageId": "m-2", "TopicArn": TOPIC,
                     "Subject": null, "Message": alarm_event().to_string(),
                     "Timestamp": "2026-01-02T03:04:07.000Z"}}
        ]});
        let bodies = alert_bodies(&event.to_string());
        assert_eq!(
            bodies,
            vec![
                format!(
                    "{{\"Type\":\"Notification\",\"MessageId\":\"m-1\",\"TopicArn\":\"{TOPIC}\",\
                     \"Subject\":\"Backup failed\",\"Message\":\"job 42 failed\\nsee console\",\
                     \"Timestamp\":\"2026-01-02T03:04:05.000Z\"}}"
                ),
                format!(
                    "{{\"Type\":\"Notification\",\"MessageId\":\"m-2\",\"TopicArn\":\"{TOPIC}\",\
                     \"Message\":{},\"Timestamp\":\"2026-01-02T03:04:07.000Z\"}}",
                    Value::String(alarm_event().to_string())
                ),
            ]
        );
        // What the function reads back from them.
        let second: Value = serde_json::from_str(&bodies[1]).unwrap();
        assert_eq!(
            second,
            json!({"Type": "Notification", "MessageId": "m-2", "TopicArn": TOPIC,
                   "Message": alarm_event().to_string(), "Timestamp": "2026-01-02T03:04:07.000Z"})
        );
        let alerts = alerts_of("q-9", &event.to_string());
        let ids: Vec<(&str, &str)> = alerts
            .iter()
            .map(|a| (a.id.as_str(), a.title.as_str()))
            .collect();
        assert_eq!(
            ids,
            vec![
                ("m-1", "Backup failed"),
                ("m-2", "CloudWatch Alarm State Change")
            ]
        );
    }

    #[test]
    fn record_without_event_source_or_fields_is_still_converted() {
        let event = json!({"Records": [{"Sns": {"MessageId": "m-3", "Message": "plain"}}]});
        assert_eq!(
            alert_bodies(&event.to_string()),
            vec![
                "{\"Type\":\"Notification\",\"MessageId\":\"m-3\",\"Message\":\"plain\"}"
                    .to_string()
            ]
        );
    }

    #[test]
    fn everything_else_is_sent_as_is() {
        let event = alarm_event().to_string();
        assert_eq!(alert_bodies(&event), vec![event.clone()]);
        assert_eq!(
            alerts_of("q-2", &event),
            vec![Alert {
                id: "7bf73129-1428-4cd3-a780-95db273d1602".into(),
                title: "CloudWatch Alarm State Change".into(),
                body: event
            }]
        );
        for body in [
            "disk almost full on db-1",
            "",
            "[1,2]",
            // Not every record is SNS: left alone.
            r#"{"Records":[{"EventSource":"aws:sns","Sns":{"Message":"a"}},{"eventSource":"aws:sqs","body":"b"}]}"#,
            r#"{"Records":[]}"#,
            r#"{"Records":[{"Sns":{"Subject":"no message"}}]}"#,
        ] {
            assert_eq!(alert_bodies(body), vec![body.to_string()], "{body}");
        }
        assert_eq!(
            alerts_of("q-3", "\n  disk almost full on db-1\nmore"),
            vec![Alert {
                id: "q-3".into(),
                title: "disk almost full on db-1".into(),
                body: "\n  disk almost full on db-1\nmore".into()
            }]
        );
    }

    #[test]
    fn titles_are_short_and_clean() {
        assert_eq!(short(""), "(empty)");
        assert_eq!(short("a\u{1b}[31mred"), "a [31mred");
        let long = "x".repeat(100);
        let t = short(&long);
        assert_eq!(t.chars().count(), TITLE_CHARS);
        assert!(t.ends_with('…'));
        let (id, title) =
            describe(r#"{"Type":"Notification","MessageId":"n","Message":"{\"k\":1}"}"#);
        assert_eq!(id.as_deref(), Some("n"));
        assert_eq!(title, "{\"k\":1}");
    }
}
