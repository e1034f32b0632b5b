//! A local DingTalk custom robot that enforces the real protocol: the
//! access token, 加签 signatures with a one-hour timestamp window, keywords,
//! message shape, the whole request body's size, and the per-robot rate
//! limit, each answered with the errcode DingTalk really uses (HTTP 200, like
//! DingTalk).
//!
//! By default it is as hard as the real robot: 20 messages per window (a
//! minute), and a breach blocks the robot for 10 windows (DingTalk: "限流10分钟"),
//! scaled with a shortened test window. While blocked it answers `130101`, or
//! in the other documented modes `410100` or an HTTP 302 to a page that is not
//! the robot ([`ThrottleReply`]). A test that wants a kinder robot says so
//! (`block_windows: 0`, a higher `rate_limit`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::{Json, Router};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::server::Background;

const MORE: &str = "more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]";
/// DingTalk's limit on the whole request body (the JSON, not only the text).
pub const MAX_BODY_BYTES: usize = 20_000;
/// The messages DingTalk answers while a robot is throttled.
pub const TOO_FAST_MSG: &str = "send too fast, exceed 20 times per minute";
pub const LIMITED_MSG: &str = "发送速度太快而限流";
/// Recorded as the errcode of an answer that has none (a redirect, an outage,
/// a scripted raw reply).
pub const NO_ERRCODE: i64 = i64::MIN;
/// Where a throttled robot in [`ThrottleReply::Redirect`] mode sends the
/// client: a web page, not the robot.
pub const REDIRECT_PATH: &str = "/robot/throttled";

/// How the robot answers while it is throttled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThrottleReply {
    /// `{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`.
    #[default]
    TooFast,
    /// `{"errcode":410100,"errmsg":"发送速度太快而限流"}`.
    Limited,
    /// HTTP 302 to [`REDIRECT_PATH`] (reported by users while blocked).
    Redirect,
}

#[derive(Debug, Clone)]
pub struct DingTalkOptions {
    pub access_token: String,
    /// When set, requests must be signed (加签) with it.
    pub secret: Option<String>,
    /// When non-empty, a message must contain one of them; a markdown
    /// message in its title and in its text (DingTalk refuses it with
    /// `310000` otherwise).
    pub keywords: Vec<String>,
    /// Accepted messages per `window`.
    pub rate_limit: u32,
    pub window: Duration,
    /// After a breach the robot stays throttled this many windows
    /// (DingTalk: 10 minutes = 10 windows); 0 = only the window itself.
    pub block_windows: u32,
    pub throttle_reply: ThrottleReply,
    /// Words DingTalk's content check refuses: a message containing one is
    /// answered `430102` (content not allowed).
    pub forbidden: Vec<String>,
}

impl Default for DingTalkOptions {
    fn default() -> Self {
        DingTalkOptions {
            access_token: "test-access-token".into(),
            secret: None,
            keywords: Vec::new(),
            rate_limit: 20,
            window: Duration::from_secs(60),
            block_windows: 10,
            throttle_reply: ThrottleReply::TooFast,
            forbidden: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub query: String,
    pub body: String,
    /// The HTTP status answered.
    pub status: u16,
    /// The errcode answered, or [`NO_ERRCODE`].
    pub errcode: i64,
    pub errmsg: String,
    pub at: Instant,
}

impl RecordedRequest {
    /// A throttle answer: 130101, 410100 or a redirect.
    pub fn is_throttle(&self) -> bool {
        matches!(self.errcode, 130101 | 410100) || (300..400).contains(&self.status)
    }
}

/// A scripted answer for the next request (see [`DingTalkServer::push_reply`]).
#[derive(Debug, Clone)]
enum Scripted {
    Json(i64, String),
    Raw(u16, String),
    Redirect,
}

#[derive(Default)]
struct Shared {
    requests: Vec<RecordedRequest>,
    accepted: Vec<Value>,
    accepted_at: VecDeque<Instant>,
    scripted: VecDeque<Scripted>,
    down: bool,
    busy: bool,
    throttled_until: Option<Instant>,
    redirects_followed: usize,
}

struct AppState {
    opts: Mutex<DingTalkOptions>,
    shared: Mutex<Shared>,
}

pub struct DingTalkServer {
    state: Arc<AppState>,
    bg: Background,
}

impl DingTalkServer {
    pub fn start(opts: DingTalkOptions) -> Result<DingTalkServer> {
        let state = Arc::new(AppState {
            opts: Mutex::new(opts),
            shared: Mutex::new(Shared::default()),
        });
        let router = Router::new()
            .route("/robot/send", post(send))
            .route(REDIRECT_PATH, any(throttled_page))
            .with_state(state.clone());
        let bg = Background::start(router)?;
        Ok(DingTalkServer { state, bg })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.bg.addr)
    }

    /// The webhook with the robot's current access token.
    pub fn webhook_url(&self) -> String {
        format!(
            "{}/robot/send?access_token={}",
            self.base_url(),
            self.opts().access_token
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.state.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn opts(&self) -> std::sync::MutexGuard<'_, DingTalkOptions> {
        self.state.opts.lock().unwrap_or_else(|p| p.into_inner())
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

    /// Requests answered with a throttle (130101, 410100 or a redirect).
    pub fn throttle_answers(&self) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.is_throttle())
            .count()
    }

    /// Requests that followed a redirect to [`REDIRECT_PATH`].
    pub fn redirects_followed(&self) -> usize {
        self.lock().redirects_followed
    }

    /// Answers HTTP 503 to everything while set, like an outage.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// Answers `{"errcode":-1,"errmsg":"系统繁忙"}` to everything while set.
    pub fn set_busy(&self, busy: bool) {
        self.lock().busy = busy;
    }

    /// Blocks the robot from now on for `block_windows` windows, as if
    /// someone else had just breached its rate limit.
    pub fn throttle_now(&self) {
        let block = block_length(&self.opts());
        self.lock().throttled_until = Some(Instant::now() + block);
    }

    pub fn set_throttle_reply(&self, reply: ThrottleReply) {
        self.opts().throttle_reply = reply;
    }

    /// Rotates the robot's credentials, like resetting the webhook or the
    /// signing secret in the group settings: the old ones stop working.
    pub fn rotate(&self, access_token: &str, secret: Option<&str>) {
        let mut opts = self.opts();
        opts.access_token = access_token.to_string();
        opts.secret = secret.map(str::to_string);
    }

    /// The next request gets this answer instead of being checked (FIFO).
    pub fn push_reply(&self, errcode: i64, errmsg: &str) {
        self.lock()
            .scripted
            .push_back(Scripted::Json(errcode, errmsg.to_string()));
    }

    /// The next request gets this HTTP status and body (as JSON content type).
    pub fn push_raw_reply(&self, status: u16, body: &str) {
        self.lock()
            .scripted
            .push_back(Scripted::Raw(status, body.to_string()));
    }

    /// The next request gets an HTTP 302 to [`REDIRECT_PATH`].
    pub fn push_redirect(&self) {
        self.lock().scripted.push_back(Scripted::Redirect);
    }
}

fn block_length(opts: &DingTalkOptions) -> Duration {
    opts.window * opts.block_windows.max(1)
}

fn reply(code: i64, msg: &str) -> Scripted {
    Scripted::Json(code, msg.to_string())
}

async fn throttled_page(State(state): State<Arc<AppState>>) -> Response {
    state
        .shared
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .redirects_followed += 1;
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<html><body>访问过于频繁 too many requests</body></html>",
    )
        .into_response()
}

async fn send(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = query.unwrap_or_default();
    let body_text = String::from_utf8_lossy(&body).to_string();
    let opts = state.opts.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut shared = state.shared.lock().unwrap_or_else(|p| p.into_inner());
    if shared.down {
        return (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response();
    }
    let answer = match shared.scripted.pop_front() {
        Some(r) => r,
        None if shared.busy => reply(-1, "系统繁忙"),
        None => check(&opts, &mut shared, &query, &headers, &body),
    };
    let (status, errcode, errmsg, response) = match answer {
        Scripted::Json(errcode, errmsg) => {
            let response = Json(json!({ "errcode": errcode, "errmsg": errmsg })).into_response();
            (200, errcode, errmsg, response)
        }
        Scripted::Raw(status, text) => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let response = (
                code,
                [(header::CONTENT_TYPE, "application/json")],
                text.clone(),
            )
                .into_response();
            (status, NO_ERRCODE, text, response)
        }
        Scripted::Redirect => {
            let response =
                (StatusCode::FOUND, [(header::LOCATION, REDIRECT_PATH)], "").into_response();
            (302, NO_ERRCODE, String::new(), response)
        }
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
        status,
        errcode,
        errmsg,
        at: Instant::now(),
    });
    response
}

fn throttle_answer(opts: &DingTalkOptions) -> Scripted {
    match opts.throttle_reply {
        ThrottleReply::TooFast => reply(130101, TOO_FAST_MSG),
        ThrottleReply::Limited => reply(410100, LIMITED_MSG),
        ThrottleReply::Redirect => Scripted::Redirect,
    }
}

/// The robot's answer to one request, checked in DingTalk's order: header,
/// token, signature, an existing block, size, body, keywords and content,
/// then the rate limit (the breach itself is refused, and blocks the robot).
fn check(
    opts: &DingTalkOptions,
    shared: &mut Shared,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Scripted {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/json") {
        return reply(43004, "无效的HTTP HEADER Content-Type");
    }
    if let Err(refused) = check_auth(opts, query) {
        return refused;
    }
    let now = Instant::now();
    if shared.throttled_until.is_some_and(|t| now < t) {
        return throttle_answer(opts);
    }
    // The whole body counts: JSON syntax, escapes, title, mentions.
    if body.len() > MAX_BODY_BYTES {
        return reply(460101, "message too long, exceed 20000 bytes");
    }
    let content = match content_parts(body) {
        Ok(content) => content,
        Err(refused) => return refused,
    };
    let has_keyword = |part: &String| opts.keywords.iter().any(|k| part.contains(k.as_str()));
    if !opts.keywords.is_empty() && !content.iter().all(has_keyword) {
        return reply(310000, &format!("keywords not in content, {MORE}"));
    }
    if content
        .iter()
        .any(|part| opts.forbidden.iter().any(|w| part.contains(w.as_str())))
    {
        return reply(430102, "message contains content that is not allowed");
    }
    while shared
        .accepted_at
        .front()
        .is_some_and(|t| now.duration_since(*t) >= opts.window)
    {
        shared.accepted_at.pop_front();
    }
    if shared.accepted_at.len() >= opts.rate_limit as usize {
        let block = match opts.block_windows {
            0 => Duration::ZERO,
            _ => block_length(opts),
        };
        shared.throttled_until = Some(now + block);
        return throttle_answer(opts);
    }
    reply(0, "ok")
}

/// The access token, then (for a signing robot) the timestamp, within an
/// hour of now, and its signature.
fn check_auth(opts: &DingTalkOptions, query: &str) -> Result<(), Scripted> {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if param("access_token").as_deref() != Some(opts.access_token.as_str()) {
        return Err(reply(300001, "token is not exist"));
    }
    let Some(secret) = &opts.secret else {
        return Ok(());
    };
    let (Some(ts), Some(sign)) = (param("timestamp"), param("sign")) else {
        return Err(reply(310000, &format!("sign not match, {MORE}")));
    };
    let Ok(ts_ms) = ts.parse::<i64>() else {
        return Err(reply(310000, &format!("invalid timestamp {ts}, {MORE}")));
    };
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    if (now_ms - ts_ms).abs() > 3_600_000 {
        return Err(reply(310000, &format!("invalid timestamp {ts}, {MORE}")));
    }
    if sign != expected_sign(ts_ms, secret) {
        return Err(reply(310000, &format!("sign not match, {MORE}")));
    }
    Ok(())
}

/// The parts of a message that must each carry a keyword: a markdown
/// message's title (what the chat list and the notification show) and its
/// text; a text message's content; the whole of the other types.
fn content_parts(body: &[u8]) -> Result<Vec<String>, Scripted> {
    let Ok(msg) = serde_json::from_slice::<Value>(body) else {
        return Err(reply(40035, "缺少参数 json"));
    };
    let field = |pointer: &str| msg.pointer(pointer).and_then(Value::as_str).unwrap_or("");
    match msg.get("msgtype").and_then(Value::as_str) {
        Some("text") => match field("/text/content") {
            "" => Err(reply(40035, "缺少参数 text")),
            c => Ok(vec![c.to_string()]),
        },
        Some("markdown") => {
            let (title, text) = (field("/markdown/title"), field("/markdown/text"));
            if title.is_empty() || text.is_empty() {
                return Err(reply(40035, "缺少参数 markdown"));
            }
            Ok(vec![title.to_string(), text.to_string()])
        }
        Some("link") | Some("actionCard") | Some("feedCard") => Ok(vec![msg.to_string()]),
        _ => Err(reply(40035, "缺少参数 msgtype")),
    }
}

/// DingTalk's signature: base64(HMAC-SHA256(secret, "{timestamp}\n{secret}")).
pub fn expected_sign(timestamp_ms: i64, secret: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whom DingTalk notifies for a request body: everyone when `at.isAtAll`,
/// and each `at.atMobiles` / `at.atUserIds` entry that also appears as
/// `@entry` in the markdown text. DingTalk ignores an entry missing from the
/// text (the mention does not render and nobody is notified), so a test
/// asserts on this, not on the `at` object alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notified {
    pub all: bool,
    pub mobiles: Vec<String>,
    pub user_ids: Vec<String>,
}

pub fn notified(body: &Value) -> Notified {
    let text = body["markdown"]["text"]
        .as_str()
        .or_else(|| body["text"]["content"].as_str())
        .unwrap_or_default();
    let listed = |key: &str| -> Vec<String> {
        body["at"][key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|who| text.contains(&format!("@{who}")))
            .map(str::to_string)
            .collect()
    };
    Notified {
        all: body["at"]["isAtAll"].as_bool().unwrap_or(false),
        mobiles: listed("atMobiles"),
        user_ids: listed("atUserIds"),
    }
}

/// Several robots at once, by name, each its own server with its own token,
/// rate limit and block, as separate DingTalk robots are.
pub struct DingTalkRobots {
    robots: std::collections::BTreeMap<String, DingTalkServer>,
}

impl DingTalkRobots {
    pub fn start(robots: Vec<(&str, DingTalkOptions)>) -> Result<DingTalkRobots> {
        let robots = robots
            .into_iter()
            .map(|(name, opts)| {
                let opts = DingTalkOptions {
                    access_token: format!("{name}-access-token"),
                    ..opts
                };
                Ok((name.to_string(), DingTalkServer::start(opts)?))
            })
            .collect::<Result<_>>()?;
        Ok(DingTalkRobots { robots })
    }

    /// The robot named `name`; panics on a name the test did not start.
    pub fn get(&self, name: &str) -> &DingTalkServer {
        self.robots
            .get(name)
            .unwrap_or_else(|| panic!("no robot {name}"))
    }

    /// The secret's map form (`{"robots": {NAME: {"webhook": ...}}}`),
    /// each robot's JSON amended by `extra(name)`.
    pub fn secret_value(&self, extra: impl Fn(&str) -> Value) -> String {
        let robots: serde_json::Map<String, Value> = self
            .robots
            .iter()
            .map(|(name, r)| {
                let mut v = json!({ "webhook": r.webhook_url() });
                if let (Some(o), Value::Object(more)) = (v.as_object_mut(), extra(name)) {
                    o.extend(more);
                }
                (name.clone(), v)
            })
            .collect();
        json!({ "robots": robots }).to_string()
    }
}
