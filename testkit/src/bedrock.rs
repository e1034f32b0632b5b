//! Bedrock Runtime's Converse API (`POST /model/{modelId}/converse`) as the
//! AWS SDK sees it: JSON replies and restJson1 errors with `x-amzn-ErrorType`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use crate::server::Background;

#[derive(Debug, Clone)]
pub enum BedrockMode {
    Reply(String),
    /// An answer with no content blocks.
    Empty,
    Error {
        status: u16,
        error_type: String,
        message: String,
    },
    /// Answer after a delay (for timeouts).
    Delay(Duration, String),
}

impl BedrockMode {
    pub fn throttling() -> BedrockMode {
        BedrockMode::Error {
            status: 429,
            error_type: "ThrottlingException".into(),
            message: "Too many requests, please wait before trying again.".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct BedrockRequest {
    pub model_id: String,
    pub body: Value,
    /// An `AWS4-HMAC-SHA256` Authorization header was present.
    pub signed: bool,
}

struct AppState {
    mode: Mutex<BedrockMode>,
    requests: Mutex<Vec<BedrockRequest>>,
}

pub struct BedrockServer {
    state: Arc<AppState>,
    bg: Background,
}

impl BedrockServer {
    pub fn start(mode: BedrockMode) -> Result<BedrockServer> {
        let state = Arc::new(AppState {
            mode: Mutex::new(mode),
            requests: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .route("/model/{model_id}/converse", post(converse))
            .with_state(state.clone());
        let bg = Background::start(router)?;
        Ok(BedrockServer { state, bg })
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.bg.addr)
    }

    pub fn set_mode(&self, mode: BedrockMode) {
        *self.state.mode.lock().unwrap_or_else(|p| p.into_inner()) = mode;
    }

    pub fn requests(&self) -> Vec<BedrockRequest> {
        self.state
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

fn error(status: u16, error_type: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [
            ("x-amzn-ErrorType", error_type.to_string()),
            ("content-type", "application/json".to_string()),
        ],
        json!({ "message": message }).to_string(),
    )
        .into_response()
}

fn answer(text: Option<&str>) -> Response {
    let content = match text {
        Some(t) => json!([{ "text": t }]),
        None => json!([]),
    };
    (
        [("content-type", "application/json")],
        json!({
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
            "metrics": {"latencyMs": 12}
        })
        .to_string(),
    )
        .into_response()
}

async fn converse(
    State(state): State<Arc<AppState>>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let model_id = percent_encoding::percent_decode_str(&model_id)
        .decode_utf8_lossy()
        .to_string();
    let signed = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256"));
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state
        .requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(BedrockRequest {
            model_id,
            body: parsed.clone(),
            signed,
        });
    let valid = parsed
        .get("messages")
        .and_then(Value::as_array)
        .is_some_and(|m| {
            !m.is_empty()
                && m.iter().all(|msg| {
                    msg.get("role").and_then(Value::as_str).is_some()
                        && msg.get("content").and_then(Value::as_array).is_some()
                })
        });
    if !valid {
        return error(
            400,
            "ValidationException",
            "Malformed input request: messages is required",
        );
    }
    let mode = state.mode.lock().unwrap_or_else(|p| p.into_inner()).clone();
    match mode {
        BedrockMode::Reply(t) => answer(Some(&t)),
        BedrockMode::Empty => answer(None),
        BedrockMode::Error {
            status,
            error_type,
            message,
        } => error(status, &error_type, &message),
        BedrockMode::Delay(d, t) => {
            tokio::time::sleep(d).await;
            answer(Some(&t))
        }
    }
}
