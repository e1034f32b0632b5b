//! One invocation: envelope → render → optional summary → DingTalk, with
//! exactly one outcome log line per alert (the CLI's `test-send` reads it).
//!
//! Failure is never silent: for SNS and direct EventBridge invocations any
//! undelivered alert fails the invocation, so Lambda retries it and then the
//! dead-letter queue keeps it. For SQS batches only the undelivered messages
//! are reported in `batchItemFailures`, so nothing delivered is sent twice.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::config::Config;
use crate::dingtalk::DingTalkClient;
use crate::envelope::{self, EnvelopeKind, Item};
use crate::format::{self, digest::digest, Rendered};
use crate::llm::{self, Summarizer};
use crate::message::Message;
use crate::secret::SecretStore;

/// What the invocation answers, given the failed alerts as
/// (SQS messageId, reason). SQS: only the failed messages are redelivered;
/// SNS / EventBridge / unknown: any failure fails the invocation, so Lambda
/// retries it and then the dead-letter queue keeps it.
pub fn invocation_result(
    kind: EnvelopeKind,
    total: usize,
    failures: &[(Option<String>, String)],
) -> Result<Value, Undelivered> {
    match kind {
        // A failed record without a messageId cannot be named in
        // batchItemFailures; failing the whole batch keeps it.
        EnvelopeKind::Sqs if failures.iter().all(|(id, _)| id.is_some()) => {
            let failed: Vec<Value> = failures
                .iter()
                .filter_map(|(id, _)| id.as_ref())
                .map(|id| json!({ "itemIdentifier": id }))
                .collect();
            Ok(json!({ "batchItemFailures": failed }))
        }
        _ => match failures.first() {
            None => Ok(json!({ "delivered": total })),
            Some((_, first)) => Err(Undelivered {
                failed: failures.len(),
                total,
                first_error: first.clone(),
            }),
        },
    }
}

/// Time kept back from the invocation's deadline to log and answer.
const SAFETY_MARGIN: Duration = Duration::from_secs(2);

/// What one DingTalk send needs before its deadline, besides any pacing
/// wait: a request and one retry after a second's backoff. The LLM summary
/// never eats into it.
const SEND_RESERVE: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} alerts not delivered; first error: {first_error}")]
pub struct Undelivered {
    pub failed: usize,
    pub total: usize,
    pub first_error: String,
}

pub struct Notifier {
    config: Config,
    secrets: SecretStore,
    dingtalk: DingTalkClient,
    llm: Option<Summarizer>,
}

/// How the LLM step went, for the log line.
enum LlmUse {
    Disabled,
    Used,
    /// Used, but cut by maxTokens and marked as cut.
    Truncated,
    Fallback(String),
    /// Not asked: no time left before the send's deadline.
    Skipped(String),
}

impl LlmUse {
    fn as_str(&self) -> &'static str {
        match self {
            LlmUse::Disabled => "disabled",
            LlmUse::Used => "used",
            LlmUse::Truncated => "truncated",
            LlmUse::Fallback(_) => "fallback",
            LlmUse::Skipped(_) => "skipped",
        }
    }
}

impl Notifier {
    pub fn new(
        config: Config,
        secrets: SecretStore,
        dingtalk: DingTalkClient,
        llm: Option<Summarizer>,
    ) -> Self {
        Notifier {
            config,
            secrets,
            dingtalk,
            llm,
        }
    }

    /// Handles one invocation. `deadline` is when Lambda will stop us.
    ///
    /// A batch of at least `digest_min_alerts` alerts goes out as a digest
    /// (one message listing them); smaller ones alert by alert. Once DingTalk
    /// or the robot's rate limit fails a send for a reason that time may fix,
    /// the rest of the batch is not tried: it is reported undelivered at once
    /// and comes back from the queue later, instead of earning more 130101s.
    pub async fn handle(
        &self,
        event: &Value,
        request_id: &str,
        deadline: Instant,
    ) -> Result<Value, Undelivered> {
        let send_deadline = deadline
            .checked_sub(SAFETY_MARGIN)
            .unwrap_or_else(Instant::now);
        let invocation = envelope::parse(event, request_id);
        let rendered: Vec<Rendered> = invocation
            .items
            .iter()
            .map(|item| format::render(&item.payload, item.subject.as_deref(), &self.config.format))
            .collect();
        let errors = if rendered.len() >= self.config.digest_min_alerts.max(2) {
            self.deliver_digest(&invocation.items, &rendered, send_deadline)
                .await
        } else {
            self.deliver_each(&invocation.items, &rendered, send_deadline)
                .await
        };
        let failures: Vec<(Option<String>, String)> = invocation
            .items
            .iter()
            .zip(errors)
            .filter_map(|(item, e)| e.map(|e| (item.sqs_message_id.clone(), e)))
            .collect();
        invocation_result(invocation.kind, invocation.items.len(), &failures)
    }

    /// One message per alert; the error of each undelivered one.
    async fn deliver_each(
        &self,
        items: &[Item],
        rendered: &[Rendered],
        deadline: Instant,
    ) -> Vec<Option<String>> {
        let mut errors = Vec::with_capacity(items.len());
        let mut gave_up: Option<String> = None;
        for (item, r) in items.iter().zip(rendered) {
            if let Some(reason) = &gave_up {
                let error = format!("not tried after an earlier failure in this batch: {reason}");
                log_failed(item, r, "skipped", &error, true);
                errors.push(Some(error));
                continue;
            }
            match self.deliver(item, r, deadline).await {
                Ok(()) => errors.push(None),
                Err((error, transient)) => {
                    if transient {
                        gave_up = Some(error.clone());
                    }
                    errors.push(Some(error));
                }
            }
        }
        errors
    }

    /// Delivers one alert and writes its outcome line; `Err` carries the
    /// reason and whether a later retry may succeed.
    async fn deliver(
        &self,
        item: &Item,
        rendered: &Rendered,
        deadline: Instant,
    ) -> Result<(), (String, bool)> {
        let webhook = match self.secrets.get().await {
            Ok(w) => w,
            Err(e) => {
                let error = e.to_string();
                log_failed(item, rendered, "skipped", &error, true);
                return Err((error, true));
            }
        };
        let (message, llm) = match &self.llm {
            None => (rendered.message.clone(), LlmUse::Disabled),
            Some(s) => self.summarize(s, item, rendered, deadline).await,
        };
        if let LlmUse::Fallback(reason) | LlmUse::Skipped(reason) = &llm {
            tracing::warn!(alert_id = %item.alert_id, llm_error = %reason, "LLM summary failed; sending the plain message");
        }
        let mention = webhook.mentions_for(rendered.state.as_deref());
        match self
            .dingtalk
            .send(webhook, &message, mention, deadline)
            .await
        {
            Ok(report) => {
                tracing::info!(
                    outcome = "delivered",
                    alert_id = %item.alert_id,
                    kind = rendered.kind.as_str(),
                    source = %rendered.source,
                    llm = llm.as_str(),
                    attempts = report.attempts,
                    throttled = report.throttled,
                    mention,
                    "alert delivered"
                );
                Ok(())
            }
            Err(e) => {
                let error = e.to_string();
                log_failed(item, rendered, llm.as_str(), &error, e.is_transient());
                Err((error, e.is_transient()))
            }
        }
    }

    /// The message with its summary, asked for only within the time the
    /// send does not need before `deadline` (pacing wait included).
    async fn summarize(
        &self,
        s: &Summarizer,
        item: &Item,
        rendered: &Rendered,
        deadline: Instant,
    ) -> (Message, LlmUse) {
        let now = Instant::now();
        let send_needs = SEND_RESERVE + self.dingtalk.pacing_delay(now);
        let left = deadline.saturating_duration_since(now);
        let Some(budget) = llm::budget(s.timeout(), left, send_needs) else {
            let reason = format!(
                "no time for a summary: {} ms left, the send needs {} ms",
                left.as_millis(),
                send_needs.as_millis()
            );
            return (rendered.message.clone(), LlmUse::Skipped(reason));
        };
        match s.summarize(&item.payload, &rendered.message, budget).await {
            Ok(sum) if sum.truncated => {
                (rendered.message.with_summary(&sum.text), LlmUse::Truncated)
            }
            Ok(sum) => (rendered.message.with_summary(&sum.text), LlmUse::Used),
            Err(e) => (rendered.message.clone(), LlmUse::Fallback(e.reason())),
        }
    }

    /// The whole batch as a digest (in parts when it is long); every alert
    /// still gets its own outcome line. No LLM summary: a digest is already
    /// the summary, and the robot's minute is better spent on delivery.
    async fn deliver_digest(
        &self,
        items: &[Item],
        rendered: &[Rendered],
        deadline: Instant,
    ) -> Vec<Option<String>> {
        let mut errors: Vec<Option<String>> = vec![None; items.len()];
        let webhook = match self.secrets.get().await {
            Ok(w) => w,
            Err(e) => {
                let error = e.to_string();
                for (i, item) in items.iter().enumerate() {
                    log_failed(item, &rendered[i], "skipped", &error, true);
                    errors[i] = Some(error.clone());
                }
                return errors;
            }
        };
        let parts = digest(rendered, &self.config.format);
        let count = parts.len();
        let mut gave_up: Option<String> = None;
        for (n, part) in parts.iter().enumerate() {
            let result = match &gave_up {
                Some(reason) => Err((
                    format!("not tried after an earlier failure in this batch: {reason}"),
                    true,
                )),
                None => {
                    let mention = part
                        .members
                        .iter()
                        .any(|&i| webhook.mentions_for(rendered[i].state.as_deref()));
                    self.dingtalk
                        .send(webhook, &part.message, mention, deadline)
                        .await
                        .map(|report| (report, mention))
                        .map_err(|e| (e.to_string(), e.is_transient()))
                }
            };
            match result {
                Ok((report, mention)) => {
                    for &i in &part.members {
                        tracing::info!(
                            outcome = "delivered",
                            alert_id = %items[i].alert_id,
                            kind = rendered[i].kind.as_str(),
                            source = %rendered[i].source,
                            llm = "skipped",
                            digest_size = items.len(),
                            digest_part = n + 1,
                            digest_parts = count,
                            attempts = report.attempts,
                            throttled = report.throttled,
                            mention,
                            "alert delivered"
                        );
                    }
                }
                Err((error, transient)) => {
                    for &i in &part.members {
                        log_failed(&items[i], &rendered[i], "skipped", &error, transient);
                        errors[i] = Some(error.clone());
                    }
                    if transient && gave_up.is_none() {
                        gave_up = Some(error);
                    }
                }
            }
        }
        errors
    }
}

/// The outcome line of an undelivered alert.
fn log_failed(item: &Item, rendered: &Rendered, llm: &str, error: &str, transient: bool) {
    tracing::error!(
        outcome = "failed",
        alert_id = %item.alert_id,
        kind = rendered.kind.as_str(),
        source = %rendered.source,
        llm,
        transient,
        error = %error,
        "alert not delivered"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqs_reports_only_failed_messages() {
        let failures = vec![(Some("q-2".to_string()), "HTTP 503".to_string())];
        assert_eq!(
            invocation_result(EnvelopeKind::Sqs, 3, &failures).unwrap(),
            json!({"batchItemFailures": [{"itemIdentifier": "q-2"}]})
        );
        assert_eq!(
            invocation_result(EnvelopeKind::Sqs, 3, &[]).unwrap(),
            json!({"batchItemFailures": []})
        );
        // No id to name: the whole batch fails rather than losing it.
        assert!(invocation_result(EnvelopeKind::Sqs, 1, &[(None, "x".into())]).is_err());
    }

    #[test]
    fn sns_and_eventbridge_fail_the_invocation() {
        for kind in [
            EnvelopeKind::Sns,
            EnvelopeKind::EventBridge,
            EnvelopeKind::Unknown,
        ] {
            assert_eq!(
                invocation_result(kind, 2, &[]).unwrap(),
                json!({"delivered": 2})
            );
            let err = invocation_result(kind, 2, &[(None, "errcode 310000".into())]).unwrap_err();
            assert_eq!(
                err.to_string(),
                "1 of 2 alerts not delivered; first error: errcode 310000"
            );
        }
    }
}
