//! Bedrock Runtime's Converse API (`POST /model/{modelId}/converse`) as the
//! AWS SDK sees it: JSON replies and restJson1 errors with `x-amzn-ErrorType`.
//!
//! As hard as the real service by default: a base model id (`amazon.nova-lite-v1:0`)
//! is refused on demand with Bedrock's own `ValidationException`, because the
//! models people pick today (Claude 3.5 v2 and later, Nova outside the US, ...)
//! are served only through an inference profile, and a caller that cannot cope
//! with that refusal must fail a test. A test that wants a model served on
//! demand says so with [`BedrockServer::serve_on_demand`]. An inference-profile
//! id must belong to the caller's region (read from the SigV4 credential scope):
//! `eu.` asked in `us-east-1` is an invalid identifier, as on AWS.

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
    /// Never answer: the connection stays open until the caller gives up.
    Hang,
    /// The text cut off where `maxTokens` ran out (`stopReason: max_tokens`).
    MaxTokens(String),
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

/// Bedrock's answer to a base model id that is served only through an
/// inference profile (HTTP 400, `ValidationException`), word for word,
/// typographic apostrophe included.
pub fn on_demand_refusal(model_id: &str) -> String {
    format!(
        "Invocation of model ID {model_id} with on-demand throughput isn\u{2019}t supported. \
         Retry your request with the ID or ARN of an inference profile that contains this model."
    )
}

/// Bedrock's answer to a model or profile id it does not know in that region.
pub const INVALID_MODEL_ID: &str = "The provided model identifier is invalid.";

/// Cross-region inference profile prefixes (`<geo>.<provider>.<model>`).
const PROFILE_PREFIXES: &[&str] = &["us", "eu", "apac", "jp", "au", "global", "us-gov"];

/// The profile prefixes Bedrock serves to callers in `region` (source
/// regions of the geographic profiles, as AWS lists them).
fn profile_prefixes_in(region: &str) -> &'static [&'static str] {
    match region {
        r if r.starts_with("us-gov-") => &["us-gov"],
        r if r.starts_with("us-") || r.starts_with("ca-") => &["us", "global"],
        r if r.starts_with("eu-") => &["eu", "global"],
        "ap-northeast-1" | "ap-northeast-3" => &["jp", "apac", "global"],
        "ap-southeast-2" | "ap-southeast-4" => &["au", "apac", "global"],
        r if r.starts_with("ap-") || r == "me-central-1" => &["apac", "global"],
        _ => &["global"],
    }
}

#[derive(Debug, Clone)]
pub struct BedrockRequest {
    pub model_id: String,
    pub body: Value,
    /// An `AWS4-HMAC-SHA256` Authorization header was present.
    pub signed: bool,
    /// The region of the SigV4 credential scope (empty when unsigned).
    pub region: String,
}

struct AppState {
    mode: Mutex<BedrockMode>,
    requests: Mutex<Vec<BedrockRequest>>,
    /// Base model ids served on demand (empty: none, the real default for
    /// the models people choose today).
    on_demand: Mutex<Vec<String>>,
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
            on_demand: Mutex::new(Vec::new()),
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

    /// A kinder world, said out loud: these base model ids are served on
    /// demand (as `amazon.nova-lite-v1:0` still is in us-east-1).
    pub fn serve_on_demand(&self, model_ids: &[&str]) {
        self.state
            .on_demand
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(model_ids.iter().map(|m| m.to_string()));
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

fn answer(text: Option<&str>, stop_reason: &str) -> Response {
    let content = match text {
        Some(t) => json!([{ "text": t }]),
        None => json!([]),
    };
    (
        [("content-type", "application/json")],
        json!({
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop_reason,
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
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let signed = authorization.starts_with("AWS4-HMAC-SHA256");
    let region = scope_region(authorization);
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state
        .requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(BedrockRequest {
            model_id: model_id.clone(),
            body: parsed.clone(),
            signed,
            region: region.clone(),
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
    let on_demand = state
        .on_demand
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains(&model_id);
    if let Some(refusal) = refuse_model(&model_id, &region, on_demand) {
        return refusal;
    }
    let mode = state.mode.lock().unwrap_or_else(|p| p.into_inner()).clone();
    match mode {
        BedrockMode::Reply(t) => answer(Some(&t), "end_turn"),
        BedrockMode::Empty => answer(None, "end_turn"),
        BedrockMode::MaxTokens(t) => answer(Some(&t), "max_tokens"),
        BedrockMode::Error {
            status,
            error_type,
            message,
        } => error(status, &error_type, &message),
        BedrockMode::Delay(d, t) => {
            tokio::time::sleep(d).await;
            answer(Some(&t), "end_turn")
        }
        BedrockMode::Hang => std::future::pending().await,
    }
}

/// The region of `Credential=<key>/<date>/<region>/<service>/aws4_request`.
fn scope_region(authorization: &str) -> String {
    authorization
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').nth(2))
        .unwrap_or_default()
        .to_string()
}

/// Bedrock's refusal of a model id, before any inference: a profile of
/// another geography, or a base id that is not served on demand.
fn refuse_model(model_id: &str, region: &str, on_demand: bool) -> Option<Response> {
    if model_id.starts_with("arn:") {
        return None;
    }
    let first = model_id.split('.').next().unwrap_or_default();
    if PROFILE_PREFIXES.contains(&first) {
        if region.is_empty() || profile_prefixes_in(region).contains(&first) {
            return None;
        }
        return Some(error(400, "ValidationException", INVALID_MODEL_ID));
    }
    if on_demand {
        return None;
    }
    Some(error(
        400,
        "ValidationException",
        &on_demand_refusal(model_id),
    ))
}
