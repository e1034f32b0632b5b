//! AWS Health updates, threaded: the same communication (`communicationId`)
//! seen again, from another region or account or as a redelivery, is posted
//! once; the same event (`eventArn`) seen again with a newer communication is
//! posted marked 更新 Update, with what changed (status, end time). The
//! memory is the stack's state table (`comm#<communicationId>` and
//! `health#<eventArn>`, TTL `expires_at`), shared by every container.
//!
//! An alert is never lost to this memory: a communication is claimed by
//! one alert before it is sent and released again when the send fails (so
//! the retry may claim it), and a table that does not answer means the
//! alert is posted without threading (a possible duplicate, logged).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use crate::budget::now_ms;
use crate::markdown::escape;
use crate::message::{Message, MAX_TEXT_BYTES};

/// How long a communication and an event are remembered: Health posts an
/// update days later, rarely weeks.
const MEMORY_DAYS: u64 = 30;

/// A claim older than this whose alert never reported back (its container
/// died mid-send) may be taken by another copy.
const STALE_CLAIM_MS: u64 = 15 * 60 * 1000;

/// What threading reads of a Health event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthFacts {
    pub event_arn: String,
    pub communication_id: String,
    pub last_updated: Option<String>,
    pub status: Option<String>,
    pub end_time: Option<String>,
}

impl HealthFacts {
    /// `aws.health` / `AWS Health Event` with an `eventArn` and a
    /// `communicationId`; anything else is not threaded.
    pub fn of(payload: &str) -> Option<HealthFacts> {
        let v: Value = serde_json::from_str(payload).ok()?;
        if v["source"] != "aws.health" || v["detail-type"] != "AWS Health Event" {
            return None;
        }
        let d = &v["detail"];
        let text = |k: &str| d[k].as_str().map(str::to_string);
        Some(HealthFacts {
            event_arn: text("eventArn")?,
            communication_id: text("communicationId")?,
            last_updated: text("lastUpdatedTime"),
            status: text("statusCode"),
            end_time: text("endTime"),
        })
    }
}

/// One thing that changed between two communications of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub what: &'static str,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Pure: what changed from the communication posted before (`prev`) to
/// this one: status and end time.
pub fn changes(prev: &HealthFacts, cur: &HealthFacts) -> Vec<Change> {
    let mut out = Vec::new();
    for (what, a, b) in [
        ("状态 Status", &prev.status, &cur.status),
        ("结束 End", &prev.end_time, &cur.end_time),
    ] {
        if a != b {
            out.push(Change {
                what,
                before: a.clone(),
                after: b.clone(),
            });
        }
    }
    out
}

/// Pure: is `cur` older than what was posted (`prev`)? Health's times are
/// RFC 2822 (`Fri, 27 Jan 2023 09:01:22 GMT`); unparseable ones are not
/// compared.
pub fn is_older(prev: &HealthFacts, cur: &HealthFacts) -> bool {
    let parse = |t: &Option<String>| {
        t.as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc2822(t).ok())
    };
    matches!((parse(&prev.last_updated), parse(&cur.last_updated)), (Some(p), Some(c)) if c < p)
}

/// Pure: the message marked as an update: `更新 Update · ` before the
/// title, and a quote under the heading with what changed.
pub fn mark_update(message: &Message, changes: &[Change]) -> Message {
    let show = |v: &Option<String>| v.as_deref().map_or("—".to_string(), escape::text);
    let what: Vec<String> = changes
        .iter()
        .map(|c| format!("{}: {} → {}", c.what, show(&c.before), show(&c.after)))
        .collect();
    let line = match what.is_empty() {
        true => "> **🔄 更新 Update**: 新的说明 new description".to_string(),
        false => format!("> **🔄 更新 Update**: {}", what.join("; ")),
    };
    let (heading, rest) = match message.text.starts_with('#') {
        true => match message.text.find('\n') {
            Some(i) => message.text.split_at(i + 1),
            None => (message.text.as_str(), ""),
        },
        false => ("", message.text.as_str()),
    };
    let gap = if heading.is_empty() || heading.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    let text = format!(
        "{heading}{gap}\n{line}\n\n{}",
        rest.trim_start_matches('\n')
    );
    Message::new(format!("更新 Update · {}", message.title), text).fit(MAX_TEXT_BYTES)
}

/// What the memory says about an alert's communication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First time: post it; `Some` with what changed when the event was
    /// posted before with an older communication.
    First(Option<Vec<Change>>),
    /// Posted (or being posted) already, or older than what was posted.
    Seen,
}

/// The communications and events in the state table.
pub struct HealthMemory {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl HealthMemory {
    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        HealthMemory { client, table }
    }

    /// Claims the communication for `alert_id` (a retry of the same alert
    /// claims it again); then reads what was posted for the event.
    pub async fn claim(&self, f: &HealthFacts, alert_id: &str) -> Result<Claim, String> {
        let now = now_ms();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("comm#{}", f.communication_id)))
            .update_expression("SET claimed_by = :me, claimed_at = :now, expires_at = :exp")
            .condition_expression(
                "attribute_not_exists(pk) OR (attribute_not_exists(delivered) \
                 AND (claimed_by = :me OR claimed_at < :stale))",
            )
            .expression_attribute_values(":me", s(alert_id.to_string()))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":stale", n(now.saturating_sub(STALE_CLAIM_MS)))
            .expression_attribute_values(":exp", n(expires_at(now)))
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(e) if condition_failed(&e) => return Ok(Claim::Seen),
            Err(e) => return Err(describe(&e)),
        }
        let prev = self.posted(&f.event_arn).await?;
        Ok(match prev {
            None => Claim::First(None),
            Some(p) if p.communication_id == f.communication_id => Claim::First(None),
            Some(p) if is_older(&p, f) => {
                self.release(f, alert_id).await;
                Claim::Seen
            }
            Some(p) => Claim::First(Some(changes(&p, f))),
        })
    }

    /// The alert was posted: the communication is done and the event
    /// remembers it.
    pub async fn posted_now(&self, f: &HealthFacts) -> Result<(), String> {
        let now = now_ms();
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("comm#{}", f.communication_id)))
            .update_expression("SET delivered = :t, expires_at = :exp")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .expression_attribute_values(":exp", n(expires_at(now)))
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let opt = |v: &Option<String>| v.clone().map_or(AttributeValue::Null(true), s);
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("health#{}", f.event_arn)))
            .update_expression(
                "SET communication_id = :c, last_updated = :u, status_code = :st, end_time = :e, expires_at = :exp",
            )
            .expression_attribute_values(":c", s(f.communication_id.clone()))
            .expression_attribute_values(":u", opt(&f.last_updated))
            .expression_attribute_values(":st", opt(&f.status))
            .expression_attribute_values(":e", opt(&f.end_time))
            .expression_attribute_values(":exp", n(expires_at(now)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| describe(&e))
    }

    /// The alert was not posted: its retry (or another copy) may claim the
    /// communication again at once.
    pub async fn release(&self, f: &HealthFacts, alert_id: &str) {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("comm#{}", f.communication_id)))
            .update_expression("SET claimed_at = :zero")
            .condition_expression("claimed_by = :me AND attribute_not_exists(delivered)")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":me", s(alert_id.to_string()))
            .send()
            .await;
        if let Err(e) = result {
            if !condition_failed(&e) {
                tracing::warn!(error = %describe(&e), "releasing a Health communication failed; another copy may post it after 15 minutes");
            }
        }
    }

    async fn posted(&self, event_arn: &str) -> Result<Option<HealthFacts>, String> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(format!("health#{event_arn}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        Ok(out.item.as_ref().and_then(|item| seen(event_arn, item)))
    }
}

fn seen(event_arn: &str, item: &HashMap<String, AttributeValue>) -> Option<HealthFacts> {
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let expired = item
        .get("expires_at")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|t| t * 1000 < now_ms());
    if expired {
        return None;
    }
    Some(HealthFacts {
        event_arn: event_arn.to_string(),
        communication_id: text("communication_id")?,
        last_updated: text("last_updated"),
        status: text("status_code"),
        end_time: text("end_time"),
    })
}

fn expires_at(now_ms: u64) -> u64 {
    now_ms / 1000 + MEMORY_DAYS * 86_400
}

fn s(v: String) -> AttributeValue {
    AttributeValue::S(v)
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn condition_failed<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

fn describe<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> String
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    match e.as_service_error() {
        Some(s) => format!(
            "{}: {}",
            s.code().unwrap_or("error"),
            s.message().unwrap_or("no message")
        ),
        None => "the state table did not answer".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn facts_of_a_real_health_event_and_nothing_else() {
        let f = HealthFacts::of(&fixture("health_issue.json")).unwrap();
        assert_eq!(
            f.communication_id,
            "01b0993207d81a09dcd552ebd1e633e36cf1f09a-1"
        );
        assert_eq!(f.status.as_deref(), Some("open"));
        assert_eq!(f.end_time, None);
        assert_eq!(HealthFacts::of(&fixture("guardduty_finding.json")), None);
        assert_eq!(HealthFacts::of("not json"), None);
    }

    #[test]
    fn an_update_says_what_changed_and_is_marked() {
        let before = HealthFacts::of(&fixture("health_issue.json")).unwrap();
        let mut after = before.clone();
        after.communication_id = "01b0993207d81a09dcd552ebd1e633e36cf1f09a-2".into();
        after.status = Some("closed".into());
        after.end_time = Some("Fri, 27 Jan 2023 10:01:22 GMT".into());
        after.last_updated = Some("Fri, 27 Jan 2023 10:01:22 GMT".into());
        let ch = changes(&before, &after);
        assert_eq!(ch.len(), 2);
        assert!(!is_older(&before, &after));
        assert!(is_older(&after, &before));
        let m = mark_update(
            &Message::new("🟠 Health: EC2", "### 🟠 Health: EC2\n\nbody\n"),
            &ch,
        );
        assert_eq!(m.title, "更新 Update · 🟠 Health: EC2");
        assert_eq!(
            m.text,
            "### 🟠 Health: EC2\n\n> **🔄 更新 Update**: 状态 Status: open → closed; 结束 End: — → Fri, 27 Jan 2023 10:01:22 GMT\n\nbody\n"
        );
    }
}
