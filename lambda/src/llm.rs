//! The optional summary from Amazon Bedrock (Converse API).
//!
//! The summary is a convenience, never a dependency: any error, throttling,
//! timeout or empty answer is returned as an [`LlmError`] and the caller
//! sends the plain message. The summary goes above the facts, never instead.
//! It never costs the alert its delivery: the caller gives it only the time
//! the send does not need ([`budget`]).

use std::time::Duration;

use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseOutput, InferenceConfiguration,
    Message as BedrockMessage, StopReason, SystemContentBlock,
};

use crate::config::LlmConfig;
use crate::message::Message;

/// The raw event is cut here before it goes to the model: enough for any
/// real alert, and it bounds cost and latency.
const MAX_EVENT_BYTES: usize = 8_000;

/// A custom prompt holding this marker is a user-prompt template, as in the
/// original SAR app: the alert goes where the marker stands.
pub const MESSAGE_MARKER: &str = "%s";

/// Below this, a Bedrock call cannot answer anyway: skip it.
pub const MIN_BUDGET: Duration = Duration::from_millis(1_000);

/// Said under a summary that `maxTokens` cut off, so nobody takes it as whole.
pub const TRUNCATED_NOTE: &str = "……（摘要超出长度上限，已截断）";

pub const DEFAULT_SYSTEM_PROMPT: &str = "你是云运维值班助手。用户会给你一条 AWS 告警事件的原始 JSON 和已整理好的要点。\
请用简体中文写一段不超过 5 行的摘要，依次说明：1) 发生了什么；2) 影响范围（哪些资源、是否影响业务）；\
3) 建议的处理动作（具体到操作，如“在维护窗口前手动重启实例”）。\
只依据事件中的信息，不要编造事件里没有的事实、数字或时间；不确定就说明需要确认。\
输出纯文本，不要标题、不要表格、不要代码块、不要寒暄。";

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("Bedrock did not answer within {0} ms")]
    Timeout(u128),
    #[error("Bedrock call failed: {code}: {message}")]
    Call { code: String, message: String },
    #[error("Bedrock returned an empty summary")]
    Empty,
    #[error("the summary was cut off by maxTokens before its first sentence ended")]
    Truncated,
    #[error("building the Bedrock request failed: {0}")]
    Request(String),
}

impl LlmError {
    /// A short reason for the log line (`llm_error`).
    pub fn reason(&self) -> String {
        self.to_string()
    }
}

/// A summary, and whether `maxTokens` cut it (then it ends in
/// [`TRUNCATED_NOTE`] after its last whole sentence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub text: String,
    pub truncated: bool,
}

/// How long the summary may take: `LLM_TIMEOUT_MS`, but never the time the
/// send still needs before the deadline. `None`: not enough for a call.
pub fn budget(timeout: Duration, left: Duration, send_needs: Duration) -> Option<Duration> {
    let spare = left.saturating_sub(send_needs);
    Some(timeout.min(spare)).filter(|b| *b >= MIN_BUDGET)
}

/// A summary that `maxTokens` cut: kept up to its last whole sentence and
/// marked as cut; `None` when not even one sentence is whole.
pub fn cut_to_whole_sentences(text: &str) -> Option<String> {
    let ends = |(i, c): (usize, char)| {
        let after = &text[i + c.len_utf8()..];
        let whole = match c {
            '。' | '！' | '？' | '；' | '\n' => true,
            '.' | '!' | '?' => after.is_empty() || after.starts_with(char::is_whitespace),
            _ => false,
        };
        whole.then_some(i + c.len_utf8())
    };
    let end = text.char_indices().rev().find_map(ends)?;
    let kept = text[..end].trim_end();
    (!kept.is_empty()).then(|| format!("{kept}\n{TRUNCATED_NOTE}"))
}

/// The system prompt (if any) and the user message. A custom prompt with
/// [`MESSAGE_MARKER`] is the whole instruction, with the alert in its
/// place (the original app's contract, so its users' prompts keep working);
/// any other custom prompt replaces the built-in system prompt.
pub fn prompts(custom: Option<&str>, payload: &str, facts: &Message) -> (Option<String>, String) {
    let alert = user_prompt(payload, facts);
    match custom {
        Some(t) if t.contains(MESSAGE_MARKER) => (None, t.replace(MESSAGE_MARKER, &alert)),
        Some(t) => (Some(t.to_string()), alert),
        None => (Some(DEFAULT_SYSTEM_PROMPT.to_string()), alert),
    }
}

pub struct Summarizer {
    client: aws_sdk_bedrockruntime::Client,
    cfg: LlmConfig,
}

impl Summarizer {
    pub fn new(client: aws_sdk_bedrockruntime::Client, cfg: LlmConfig) -> Self {
        Summarizer { client, cfg }
    }

    pub fn model_id(&self) -> &str {
        &self.cfg.model_id
    }

    /// The configured timeout, for the caller's [`budget`].
    pub fn timeout(&self) -> Duration {
        self.cfg.timeout
    }

    /// Asks for a summary, giving up after `budget` (see [`budget`]).
    pub async fn summarize(
        &self,
        payload: &str,
        facts: &Message,
        budget: Duration,
    ) -> Result<Summary, LlmError> {
        let fut = self.converse(payload, facts);
        match tokio::time::timeout(budget, fut).await {
            Ok(r) => r,
            Err(_) => Err(LlmError::Timeout(budget.as_millis())),
        }
    }

    async fn converse(&self, payload: &str, facts: &Message) -> Result<Summary, LlmError> {
        let (system, user) = prompts(self.cfg.system_prompt.as_deref(), payload, facts);
        let message = BedrockMessage::builder()
            .role(ConversationRole::User)
            .content(ContentBlock::Text(user))
            .build()
            .map_err(|e| LlmError::Request(e.to_string()))?;
        let out = self
            .client
            .converse()
            .model_id(&self.cfg.model_id)
            .set_system(system.map(|s| vec![SystemContentBlock::Text(s)]))
            .messages(message)
            .inference_config(
                InferenceConfiguration::builder()
                    .max_tokens(self.cfg.max_tokens)
                    .temperature(self.cfg.temperature)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| LlmError::Call {
                code: e.code().unwrap_or("error").to_string(),
                message: e.message().map(str::to_string).unwrap_or_else(|| {
                    aws_sdk_bedrockruntime::error::DisplayErrorContext(&e).to_string()
                }),
            })?;
        let text = match out.output() {
            Some(ConverseOutput::Message(m)) => m
                .content()
                .iter()
                .filter_map(|c| match c {
                    ContentBlock::Text(t) => Some(t.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        };
        let text = text.trim();
        if text.is_empty() {
            return Err(LlmError::Empty);
        }
        if out.stop_reason() == &StopReason::MaxTokens {
            let text = cut_to_whole_sentences(text).ok_or(LlmError::Truncated)?;
            return Ok(Summary {
                text,
                truncated: true,
            });
        }
        Ok(Summary {
            text: text.to_string(),
            truncated: false,
        })
    }
}

/// What the model sees: the facts we rendered, then the raw event.
pub fn user_prompt(payload: &str, facts: &Message) -> String {
    let event = crate::format::clip(payload.trim(), MAX_EVENT_BYTES);
    format!(
        "已整理的要点：\n{}\n{}\n\n原始事件：\n{}",
        facts.title, facts.text, event
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_has_facts_then_clipped_event() {
        let facts = Message::new("t", "- a: 1");
        assert_eq!(
            user_prompt(" {\"x\":1} ", &facts),
            "已整理的要点：\nt\n- a: 1\n\n原始事件：\n{\"x\":1}"
        );
        let big = "x".repeat(MAX_EVENT_BYTES * 2);
        assert!(user_prompt(&big, &facts).len() < MAX_EVENT_BYTES + 200);
    }

    #[test]
    fn the_summary_gets_only_the_time_the_send_does_not_need() {
        let s = Duration::from_secs;
        // Plenty of time: the configured timeout.
        assert_eq!(budget(s(10), s(58), s(3)), Some(s(10)));
        // Function Timeout 10 s: 8 s left after the safety margin, 3 s for the send.
        assert_eq!(budget(s(10), s(8), s(3)), Some(s(5)));
        // The robot's window is full: the send needs the wait too.
        assert_eq!(budget(s(10), s(8), s(3) + s(4)), Some(s(1)));
        assert_eq!(budget(s(10), s(8), s(8)), None);
        assert_eq!(budget(s(10), s(2), s(3)), None);
    }

    #[test]
    fn a_cut_summary_keeps_whole_sentences_and_says_it_was_cut() {
        assert_eq!(
            cut_to_whole_sentences("CPU 持续过高。\n影响 web-1，建议").as_deref(),
            Some("CPU 持续过高。\n……（摘要超出长度上限，已截断）")
        );
        assert_eq!(
            cut_to_whole_sentences("Disk full on web-1. Free space on v1.2 and").as_deref(),
            Some("Disk full on web-1.\n……（摘要超出长度上限，已截断）")
        );
        assert_eq!(cut_to_whole_sentences("CPU 持续过高，影响"), None);
    }

    #[test]
    fn a_prompt_with_the_marker_is_the_whole_instruction() {
        let facts = Message::new("t", "- a: 1");
        let alert = user_prompt("{}", &facts);
        assert_eq!(
            prompts(Some("总结以下告警：%s\n用一句话。"), "{}", &facts),
            (None, format!("总结以下告警：{alert}\n用一句话。"))
        );
        assert_eq!(
            prompts(Some("只说英文。"), "{}", &facts),
            (Some("只说英文。".to_string()), alert.clone())
        );
        assert_eq!(
            prompts(None, "{}", &facts),
            (Some(DEFAULT_SYSTEM_PROMPT.to_string()), alert)
        );
    }
}
