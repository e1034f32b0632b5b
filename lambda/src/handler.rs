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
use crate::format;
use crate::llm::Summarizer;
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
    Fallback(String),
}

impl LlmUse {
    fn as_str(&self) -> &'static str {
        match self {
            LlmUse::Disabled => "disabled",
            LlmUse::Used => "used",
            LlmUse::Fallback(_) => "fallback",
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
        let mut failures: Vec<(Option<String>, String)> = Vec::new();
        for item in &invocation.items {
            if let Err(error) = self.deliver(item, send_deadline).await {
                failures.push((item.sqs_message_id.clone(), error));
            }
        }
        invocation_result(invocation.kind, invocation.items.len(), &failures)
    }

    /// Delivers one alert and writes its outcome line; `Err` carries the reason.
    async fn deliver(&self, item: &Item, deadline: Instant) -> Result<(), String> {
        let rendered = format::render(&item.payload, item.subject.as_deref(), &self.config.format);
        let kind = rendered.kind.as_str();
        let source = rendered.source.as_str();
        let webhook = match self.secrets.get().await {
            Ok(w) => w,
            Err(e) => {
                let error = e.to_string();
                tracing::error!(outcome = "failed", alert_id = %item.alert_id, kind, source, error = %error, "alert not delivered");
                return Err(error);
            }
        };
        let (message, llm) = match &self.llm {
            None => (rendered.message.clone(), LlmUse::Disabled),
            Some(s) => match s.summarize(&item.payload, &rendered.message).await {
                Ok(summary) => (rendered.message.with_summary(&summary), LlmUse::Used),
                Err(e) => (rendered.message.clone(), LlmUse::Fallback(e.reason())),
            },
        };
        if let LlmUse::Fallback(reason) = &llm {
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
                    kind,
                    source,
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
                tracing::error!(
                    outcome = "failed",
                    alert_id = %item.alert_id,
                    kind,
                    source,
                    llm = llm.as_str(),
                    transient = e.is_transient(),
                    error = %error,
                    "alert not delivered"
                );
                Err(error)
            }
        }
    }
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
