//! A local DingTalk custom robot that enforces the real protocol: the
//! access token, 加签 signatures with a one-hour timestamp window, keywords,
//! message shape and size, and the per-robot rate limit, each answered with
//! the errcode DingTalk really uses (always HTTP 200, like DingTalk).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::server::Background;

const MORE: &str = "more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]";
const MAX_BODY: usize = 20_000;

#[derive(Debug, Clone)]
pub struct DingTalkOptions {
    pub access_token: String,
    /// When set, requests must be signed (加签) with it.
    pub secret: Option<String>,
    /// When non-empty, a message must contain one of them.
    pub keywords: Vec<String>,
    /// Accepted messages per `window`.
    pub rate_limit: u32,
    pub window: Duration,
    /// After a breach, keep answering 130101 this long (DingTalk: 10 minutes).
    pub penalty: Option<Duration>,
}

impl Default for DingTalkOptions {
    fn default() -> Self {
        DingTalkOptions {
            access_token: "test-access-token".into(),
            secret: None,
            keywords: Vec::new(),
            rate_limit: 20,
            window: Duration::from_secs(60),
            penalty: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub query: String,
    pub body: String,
    pub errcode: i64,
    pub errmsg: String,
    pub at: Instant,
}

#[derive(Default)]
struct Shared {
    requests: Vec<RecordedRequest>,
    accepted: Vec<Value>,
    accepted_at: VecDeque<Instant>,
    scripted: VecDeque<(i64, String)>,
    down: bool,
    throttled_until: Option<Instant>,
}

struct AppState {
    opts: DingTalkOptions,
    shared: Mutex<Shared>,
}

pub struct DingTalkServer {
    state: Arc<AppState>,
    bg: Background,
}

impl DingTalkServer {
    pub fn start(opts: DingTalkOptions) -> Result<DingTalkServer> {
        let state = Arc::new(AppState {
            opts,
            shared: Mutex::new(Shared::default()),
        });
        let router = Router::new()
            .route("/robot/send", post(send))
            .with_state(state.clone());
        let bg = Background::start(router)?;
        Ok(DingTalkServer { state, bg })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.bg.addr)
    }

    pub fn webhook_url(&self) -> String {
        format!(
            "{}/robot/send?access_token={}",
            self.base_url(),
            self.state.opts.access_token
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.state.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bodies of accepted messages, in order.
    pub fn accepted(&self) -> Vec<Value> {
        self.lock().accepted.clone()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    pub fn count_errcode(&self, code: i64) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.errcode == code)
            .count()
    }

    /// Answers HTTP 503 to everything while set, like an outage.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// The next request gets this answer instead of being checked (FIFO).
    pub fn push_reply(&self, errcode: i64, errmsg: &str) {
        self.lock()
            .scripted
            .push_back((errcode, errmsg.to_string()));
    }
}

fn reply(code: i64, msg: &str) -> (i64, String) {
    (code, msg.to_string())
}

async fn send(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = query.unwrap_or_default();
    let body_text = String::from_utf8_lossy(&body).to_string();
    let mut shared = state.shared.lock().unwrap_or_else(|p| p.into_inner());
    if shared.down {
        return (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response();
    }
    let (errcode, errmsg) = match shared.scripted.pop_front() {
        Some(r) => r,
        None => check(&state.opts, &mut shared, &query, &headers, &body),
    };
    if errcode == 0 {
        if let Ok(v) = serde_json::from_slice::<Value>(&body) {
            shared.accepted.push(v);
        }
        shared.accepted_at.push_back(Instant::now());
    }
    shared.requests.push(RecordedRequest {
        query,
        body: body_text,
        errcode,
        errmsg: errmsg.clone(),
        at: Instant::now(),
    });
    Json(json!({ "errcode": errcode, "errmsg": errmsg })).into_response()
}

fn check(
    opts: &DingTalkOptions,
    shared: &mut Shared,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> (i64, String) {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/json") {
        return reply(43004, "无效的HTTP HEADER Content-Type");
    }
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if param("access_token").as_deref() != Some(opts.access_token.as_str()) {
        return reply(300001, "token is not exist");
    }
    if let Some(secret) = &opts.secret {
        let (Some(ts), Some(sign)) = (param("timestamp"), param("sign")) else {
            return reply(310000, &format!("sign not match, {MORE}"));
        };
        let Ok(ts_ms) = ts.parse::<i64>() else {
            return reply(310000, &format!("invalid timestamp {ts}, {MORE}"));
        };
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        if (now_ms - ts_ms).abs() > 3_600_000 {
            return reply(310000, &format!("invalid timestamp {ts}, {MORE}"));
        }
        if sign != expected_sign(ts_ms, secret) {
            return reply(310000, &format!("sign not match, {MORE}"));
        }
    }
    if body.len() > MAX_BODY {
        return reply(460101, "message too long, exceed 20000 bytes");
    }
    let Ok(msg) = serde_json::from_slice::<Value>(body) else {
        return reply(40035, "缺少参数 json");
    };
    let content = match msg.get("msgtype").and_then(Value::as_str) {
        Some("text") => match msg.pointer("/text/content").and_then(Value::as_str) {
            Some(c) if !c.is_empty() => c.to_string(),
            _ => return reply(40035, "缺少参数 text"),
        },
        Some("markdown") => {
            let title = msg
                .pointer("/markdown/title")
                .and_then(Value::as_str)
                .unwrap_or("");
            let text = msg
                .pointer("/markdown/text")
                .and_then(Value::as_str)
                .unwrap_or("");
            if title.is_empty() || text.is_empty() {
                return reply(40035, "缺少参数 markdown");
            }
            format!("{title}\n{text}")
        }
        Some("link") | Some("actionCard") | Some("feedCard") => msg.to_string(),
        _ => return reply(40035, "缺少参数 msgtype"),
    };
    if !opts.keywords.is_empty() && !opts.keywords.iter().any(|k| content.contains(k.as_str())) {
        return reply(310000, &format!("keywords not in content, {MORE}"));
    }
    let now = Instant::now();
    if shared.throttled_until.is_some_and(|t| now < t) {
        return reply(130101, "send too fast, exceed 20 times per minute");
    }
    while shared
        .accepted_at
        .front()
        .is_some_and(|t| now.duration_since(*t) >= opts.window)
    {
        shared.accepted_at.pop_front();
    }
    if shared.accepted_at.len() >= opts.rate_limit as usize {
        shared.throttled_until = opts.penalty.map(|p| now + p);
        return reply(130101, "send too fast, exceed 20 times per minute");
    }
    reply(0, "ok")
}

/// DingTalk's signature: base64(HMAC-SHA256(secret, "{timestamp}\n{secret}")).
pub fn expected_sign(timestamp_ms: i64, secret: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}
