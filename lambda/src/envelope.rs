//! What Lambda hands us: an SNS notification, an SQS batch (whose bodies may
//! be SNS notifications themselves), or a raw EventBridge event. Each becomes
//! a list of alerts with the id that the log contract promises.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvelopeKind {
    Sns,
    Sqs,
    EventBridge,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// SNS MessageId, else SQS messageId, else EventBridge id, else the request id.
    pub alert_id: String,
    /// For `batchItemFailures`.
    pub sqs_message_id: Option<String>,
    pub subject: Option<String>,
    pub payload: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub kind: EnvelopeKind,
    pub items: Vec<Item>,
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// `Message` as published: a string, or (for odd publishers) JSON.
fn message_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

pub fn parse(event: &Value, request_id: &str) -> Invocation {
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        let first_source = records
            .first()
            .and_then(|r| str_field(r, "EventSource").or_else(|| str_field(r, "eventSource")));
        match first_source {
            Some("aws:sns") => {
                let items = records
                    .iter()
                    .map(|r| {
                        let sns = r.get("Sns").unwrap_or(&Value::Null);
                        Item {
                            alert_id: str_field(sns, "MessageId")
                                .unwrap_or(request_id)
                                .to_string(),
                            sqs_message_id: None,
                            subject: str_field(sns, "Subject").map(str::to_string),
                            payload: message_text(sns.get("Message")),
                        }
                    })
                    .collect();
                return Invocation {
                    kind: EnvelopeKind::Sns,
                    items,
                };
            }
            Some("aws:sqs") => {
                let items = records.iter().map(|r| sqs_item(r, request_id)).collect();
                return Invocation {
                    kind: EnvelopeKind::Sqs,
                    items,
                };
            }
            _ => {}
        }
    }
    if event.get("detail-type").is_some() && event.get("source").is_some() {
        return Invocation {
            kind: EnvelopeKind::EventBridge,
            items: vec![Item {
                alert_id: str_field(event, "id").unwrap_or(request_id).to_string(),
                sqs_message_id: None,
                subject: None,
                payload: event.to_string(),
            }],
        };
    }
    Invocation {
        kind: EnvelopeKind::Unknown,
        items: vec![Item {
            alert_id: request_id.to_string(),
            sqs_message_id: None,
            subject: None,
            payload: match event {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
        }],
    }
}

fn sqs_item(record: &Value, request_id: &str) -> Item {
    let message_id = str_field(record, "messageId").map(str::to_string);
    let body = str_field(record, "body").unwrap_or("").to_string();
    // A non-raw SNS → SQS subscription wraps the message in the notification.
    if let Ok(inner) = serde_json::from_str::<Value>(&body) {
        if str_field(&inner, "Type") == Some("Notification") && inner.get("Message").is_some() {
            return Item {
                alert_id: str_field(&inner, "MessageId")
                    .map(str::to_string)
                    .or_else(|| message_id.clone())
                    .unwrap_or_else(|| request_id.to_string()),
                sqs_message_id: message_id,
                subject: str_field(&inner, "Subject").map(str::to_string),
                payload: message_text(inner.get("Message")),
            };
        }
    }
    Item {
        alert_id: message_id.clone().unwrap_or_else(|| request_id.to_string()),
        sqs_message_id: message_id,
        subject: None,
        payload: body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sns_records_keep_message_id_and_subject() {
        let ev = json!({"Records": [{"EventSource": "aws:sns", "Sns": {
            "MessageId": "m-1", "Subject": "hello", "Message": "{\"a\":1}"}}]});
        assert_eq!(
            parse(&ev, "req"),
            Invocation {
                kind: EnvelopeKind::Sns,
                items: vec![Item {
                    alert_id: "m-1".into(),
                    sqs_message_id: None,
                    subject: Some("hello".into()),
                    payload: "{\"a\":1}".into()
                }]
            }
        );
    }

    #[test]
    fn sqs_bodies_unwrap_sns_notifications_or_stay_raw() {
        let notification = json!({"Type": "Notification", "MessageId": "sns-1", "Message": "text", "Subject": "s"}).to_string();
        let ev = json!({"Records": [
            {"eventSource": "aws:sqs", "messageId": "q-1", "body": notification},
            {"eventSource": "aws:sqs", "messageId": "q-2", "body": "raw text"}
        ]});
        let inv = parse(&ev, "req");
        assert_eq!(inv.kind, EnvelopeKind::Sqs);
        assert_eq!(
            inv.items,
            vec![
                Item {
                    alert_id: "sns-1".into(),
                    sqs_message_id: Some("q-1".into()),
                    subject: Some("s".into()),
                    payload: "text".into()
                },
                Item {
                    alert_id: "q-2".into(),
                    sqs_message_id: Some("q-2".into()),
                    subject: None,
                    payload: "raw text".into()
                },
            ]
        );
    }

    #[test]
    fn eventbridge_and_garbage() {
        let ev = json!({"id": "e-1", "detail-type": "X", "source": "aws.x", "detail": {}});
        let inv = parse(&ev, "req");
        assert_eq!(inv.kind, EnvelopeKind::EventBridge);
        assert_eq!(inv.items[0].alert_id, "e-1");
        let junk = parse(&json!([1, 2]), "req-9");
        assert_eq!(junk.kind, EnvelopeKind::Unknown);
        assert_eq!(junk.items[0].alert_id, "req-9");
        assert_eq!(junk.items[0].payload, "[1,2]");
    }
}
