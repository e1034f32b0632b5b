//! The optional summary from Amazon Bedrock (Converse API).
//!
//! The summary is a convenience, never a dependency: any error, throttling,
//! timeout or empty answer is returned as an [`LlmError`] and the caller
//! sends the plain message. The summary goes above the facts, never instead.

use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseOutput, InferenceConfiguration,
    Message as BedrockMessage, SystemContentBlock,
};

use crate::config::LlmConfig;
use crate::message::Message;

/// The raw event is cut here before it goes to the model: enough for any
/// real alert, and it bounds cost and latency.
const MAX_EVENT_BYTES: usize = 8_000;

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
    #[error("building the Bedrock request failed: {0}")]
    Request(String),
}

impl LlmError {
    /// A short reason for the log line (`llm_error`).
    pub fn reason(&self) -> String {
        self.to_string()
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

    pub async fn summarize(&self, payload: &str, facts: &Message) -> Result<String, LlmError> {
        let fut = self.converse(payload, facts);
        match tokio::time::timeout(self.cfg.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(LlmError::Timeout(self.cfg.timeout.as_millis())),
        }
    }

    async fn converse(&self, payload: &str, facts: &Message) -> Result<String, LlmError> {
        let system = self
            .cfg
            .system_prompt
            .clone()
            .unwrap_or_else(|| DEFAULT_SYSTEM_PROMPT.to_string());
        let user = user_prompt(payload, facts);
        let message = BedrockMessage::builder()
            .role(ConversationRole::User)
            .content(ContentBlock::Text(user))
            .build()
            .map_err(|e| LlmError::Request(e.to_string()))?;
        let out = self
            .client
            .converse()
            .model_id(&self.cfg.model_id)
            .system(SystemContentBlock::Text(system))
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
        let text = text.trim().to_string();
        if text.is_empty() {
            return Err(LlmError::Empty);
        }
        Ok(text)
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
}
