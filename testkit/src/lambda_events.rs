//! The events Lambda hands the function, shaped as AWS sends them (the
//! fields the function reads and the ones it must ignore), and the log
//! contract's outcome lines of an [`Invocation`]. One copy for every test
//! and benchmark that drives the function directly.

use serde_json::{json, Value};

use crate::lambda_rt::Invocation;

const TOPIC_ARN: &str = "arn:aws:sns:us-east-1:123456789012:alerts";
const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:q";

/// An SNS subscription's event: one record with the message, no Subject.
pub fn sns_event(message_id: &str, message: &str) -> Value {
    json!({"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": format!("{TOPIC_ARN}:1b2c"),
        "Sns": {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": TOPIC_ARN,
            "Subject": null,
            "Message": message,
            "Timestamp": "2026-11-25T06:00:00.000Z"
        }
    }]})
}

/// One record of an SQS event source mapping's batch.
pub fn sqs_record(message_id: &str, body: &str) -> Value {
    json!({
        "messageId": message_id,
        "receiptHandle": "rh",
        "body": body,
        "attributes": {},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "us-east-1"
    })
}

/// An SQS batch of `(messageId, body)`.
pub fn sqs_batch(records: &[(&str, String)]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|(id, body)| sqs_record(id, body))
        .collect();
    json!({ "Records": records })
}

/// What SNS puts in an SQS body (raw delivery off): the notification JSON.
pub fn sns_notification(message_id: &str, message: &str) -> String {
    json!({
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": TOPIC_ARN,
        "Message": message,
        "Timestamp": "2026-11-25T06:00:00.000Z"
    })
    .to_string()
}

impl Invocation {
    /// Every JSON log line of this invocation.
    pub fn log_lines(&self) -> Vec<Value> {
        self.logs
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect()
    }

    /// The outcome lines (docs/design.md, "Log contract").
    pub fn outcomes(&self) -> Vec<Value> {
        self.log_lines()
            .into_iter()
            .filter(|v| v.get("outcome").is_some())
            .collect()
    }

    /// The one outcome line of a one-alert invocation; panics otherwise.
    pub fn only_outcome(&self) -> Value {
        let o = self.outcomes();
        assert_eq!(o.len(), 1, "exactly one outcome line: {:#?}", self.logs);
        o.into_iter().next().unwrap_or_default()
    }
}
