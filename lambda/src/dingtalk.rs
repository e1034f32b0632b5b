//! The DingTalk custom robot protocol: signing (加签), keywords, mentions,
//! errcodes, the size of the request body, and staying under the robot's
//! 20 messages per minute.
//!
//! DingTalk answers HTTP 200 with `{"errcode": N, "errmsg": "..."}`. Only
//! errcode 0 is a delivery. A throttle answer (`130101`, `410100`, or an
//! HTTP redirect, which is never followed) means the robot is blocked for up
//! to 10 minutes: nothing more is sent until then (see [`crate::pacing`]).
//! `-1` (system busy), HTTP 5xx/429 and connection errors are retried with
//! backoff within the invocation. Every other code is permanent and is
//! reported with what it means, so the person reading the log knows what to fix.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::budget::{self, Reservation, SharedBudget, Turn};
use crate::message::{json_len, Message, TRUNCATION_NOTICE};
use crate::pacing::{instance_limit, Pacer, BLOCK_WINDOWS};
use crate::routing::Mentions;
use crate::secret::WebhookConfig;
use crate::webhook_host::{AllowedHosts, REFUSED_LOG_MESSAGE};

pub const ERR_TOO_FAST: i64 = 130101;
pub const ERR_LIMITED: i64 = 410100;
pub const ERR_BUSY: i64 = -1;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The least time a POST is started with. A request cut short after the
/// robot accepted it becomes a duplicate when the alert comes back from the
/// queue; a send that cannot give its request this long leaves the alert to
/// the queue unsent instead (after a pacing wait or a backoff, a request
/// used to start with as little as 100 ms).
const MIN_REQUEST_TIME: Duration = Duration::from_secs(1);
/// DingTalk's documented limit per robot.
pub const DEFAULT_RATE_LIMIT: usize = 20;
pub const DEFAULT_RATE_WINDOW: Duration = Duration::from_secs(60);
/// Without the shared budget (no table, or the table does not answer) a
/// container keeps to the robot's limit divided by this: the senders the
/// event source mapping runs at once (`MaximumConcurrency`, at least 2).
/// It holds only while the same two containers send; see [`crate::budget`].
pub const FALLBACK_SENDERS: usize = 2;
/// DingTalk refuses a request whose whole JSON body is larger (`460101`).
pub const MAX_BODY_BYTES: usize = 20_000;

/// What a DingTalk errcode means and what to do about it.
pub fn errcode_meaning(code: i64) -> &'static str {
    match code {
        0 => "ok",
        ERR_BUSY => "DingTalk is busy (系统繁忙); a later retry usually succeeds",
        ERR_TOO_FAST => "too many messages: a robot may send 20 per minute; DingTalk then blocks it for 10 minutes",
        ERR_LIMITED => "too many requests (发送速度太快而限流): DingTalk blocks the robot for 10 minutes",
        310000 => "security check failed: the message lacks the robot's keyword, the signature or timestamp is wrong (check the SEC secret), or the caller's IP is not in the robot's allow list",
        300001 => "the access_token does not exist: the robot was removed or the webhook URL is wrong",
        300005 => "the access_token does not exist: the robot was removed or the webhook URL is wrong",
        400013 => "the group is not available (it was dissolved)",
        400101 => "the robot's access_token does not exist",
        400102 => "the robot is disabled (stopped) in the group settings",
        400105 => "this message type is not supported",
        400106 => "the robot does not exist",
        430101 => "the message contains a link that is not allowed",
        430102 => "the message contains content that is not allowed",
        430103 => "the message was rejected as spam",
        430104 => "the message contains sensitive content",
        460101 => "the message is too long (the request body is over 20000 bytes)",
        460102 => "the message title is empty or invalid",
        460103 => "the message content is empty or invalid",
        40035 => "the request body is missing or not valid JSON",
        43004 => "the request's Content-Type is not application/json",
        _ => "unknown DingTalk error code",
    }
}

/// Codes a changed secret may fix: the token, the signature, the keyword or
/// the IP allow list is wrong, or the robot is gone. Someone may have
/// rotated the webhook, so the function reads the secret again once.
pub fn may_be_stale_secret(code: i64) -> bool {
    matches!(
        code,
        300001 | 300005 | 310000 | 400013 | 400101 | 400102 | 400106
    )
}

/// Codes that refuse a message for its content: in a digest, one alert can
/// cause them, so the digest's alerts are retried in smaller groups.
pub fn refuses_content(code: i64) -> bool {
    matches!(code, 430101..=430104 | 460101)
}

/// Why a message was not delivered. Never contains the webhook URL, its
/// token or the signing secret.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum DeliveryError {
    #[error("DingTalk rejected the message: errcode {errcode} ({meaning}); errmsg: {errmsg}")]
    Rejected {
        errcode: i64,
        errmsg: String,
        meaning: &'static str,
    },
    #[error("DingTalk throttled the robot ({answer}); it blocks the robot for up to 10 minutes, so nothing more is sent until then; the alert is left for a retry")]
    Throttled { answer: String },
    #[error("the robot is blocked for another {wait_s} s after a throttle answer, longer than this invocation has left; the alert is left for a retry")]
    Blocked { wait_s: u64 },
    #[error("the robot's send budget is used up and this invocation has no time left to wait ({attempts} attempts); the alert is left for a retry")]
    RateLimited { attempts: u32 },
    #[error("DingTalk answered HTTP {status}")]
    Http { status: u16 },
    #[error("DingTalk is busy (errcode -1, 系统繁忙)")]
    Busy,
    /// Why there was no answer (DNS, connection refused, TLS, timeout) and
    /// the error chain, without the URL (see [`transport_error`]).
    #[error("could not reach DingTalk: {0}")]
    Transport(String),
    #[error("no time left in the invocation to send the message")]
    DeadlineExceeded,
    #[error("DingTalk answered something that is not its JSON reply (HTTP {status})")]
    BadReply { status: u16 },
    #[error("DingTalk answered HTTP {status} with JSON that has no errcode; whether the message was posted is unknown, so it is left for a retry")]
    NoErrcode { status: u16 },
    #[error("the webhook URL in the secret is not a valid URL")]
    BadWebhook,
    /// The secret points elsewhere than deploy allowed: nothing is sent,
    /// and the alert waits in the queue until the secret is put right.
    #[error(
        "{0}; nothing was sent: store the robot's webhook again with `dingtalk-notifier deploy`"
    )]
    HostRefused(crate::webhook_host::HostRefusal),
}

impl DeliveryError {
    /// Worth trying again later (Lambda retry, SQS redelivery)? The rest of
    /// a batch is then not tried either.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            DeliveryError::Throttled { .. }
                | DeliveryError::Blocked { .. }
                | DeliveryError::RateLimited { .. }
                | DeliveryError::Http { .. }
                | DeliveryError::Busy
                | DeliveryError::Transport(_)
                | DeliveryError::DeadlineExceeded
                | DeliveryError::NoErrcode { .. }
                | DeliveryError::HostRefused(_)
        )
    }

    /// The errcode DingTalk refused the message with, if it did.
    pub fn errcode(&self) -> Option<i64> {
        match self {
            DeliveryError::Rejected { errcode, .. } => Some(*errcode),
            _ => None,
        }
    }
}

/// What one answer from the robot means.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Delivered,
    /// The robot is throttled: stop sending until its block is over.
    Throttled(String),
    /// Worth a retry after a backoff, within the invocation.
    Retry(DeliveryError),
    /// Final for this message.
    Fail(DeliveryError),
}

/// Classifies the robot's answer: HTTP status and, when it parsed, the JSON
/// body. Pure, so every case is tested without a server.
pub fn classify(status: u16, reply: Option<&Value>) -> Answer {
    if (300..400).contains(&status) {
        return Answer::Throttled(format!("HTTP {status} redirect"));
    }
    if status >= 500 || status == 429 {
        return Answer::Retry(DeliveryError::Http { status });
    }
    let Some(reply) = reply else {
        return Answer::Fail(DeliveryError::BadReply { status });
    };
    let Some(errcode) = reply.get("errcode").and_then(Value::as_i64) else {
        return Answer::Fail(DeliveryError::NoErrcode { status });
    };
    match errcode {
        0 => Answer::Delivered,
        ERR_TOO_FAST | ERR_LIMITED => Answer::Throttled(format!("errcode {errcode}")),
        ERR_BUSY => Answer::Retry(DeliveryError::Busy),
        code => Answer::Fail(DeliveryError::Rejected {
            errcode: code,
            errmsg: reply
                .get("errmsg")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            meaning: errcode_meaning(code),
        }),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReport {
    pub attempts: u32,
    /// Retries after a busy answer, HTTP error or connection error.
    pub retried: u32,
    /// The accepted reply's errcode (0), kept so callers can print it.
    pub errcode: i64,
}

/// `base64(HMAC-SHA256(key = secret, "{timestamp}\n{secret}"))`, as DingTalk's
/// 加签 security setting requires (not yet URL-encoded).
pub fn sign(timestamp_ms: i64, secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The webhook URL with `timestamp` and `sign` added when a secret is set.
pub fn signed_url(cfg: &WebhookConfig, now_ms: i64) -> Result<url::Url, DeliveryError> {
    let mut url = url::Url::parse(&cfg.webhook).map_err(|_| DeliveryError::BadWebhook)?;
    if let Some(secret) = &cfg.secret {
        url.query_pairs_mut()
            .append_pair("timestamp", &now_ms.to_string())
            .append_pair("sign", &sign(now_ms, secret));
    }
    Ok(url)
}

/// The JSON body DingTalk expects for a markdown message, with the keyword
/// and mentions added, cut so the whole serialized body stays within
/// [`MAX_BODY_BYTES`]: JSON escapes (quotes, newlines), the title and the
/// mentions all count. The mentions are never cut.
pub fn request_body(cfg: &WebhookConfig, message: &Message, mention: &Mentions) -> Value {
    let mut body = assemble(cfg, message, mention);
    let size = serialized_len(&body);
    if size <= MAX_BODY_BYTES {
        return body;
    }
    // What the text may take in JSON: the limit less everything else (an
    // empty text's body) and the truncation notice.
    let empty = Message::new(message.title.clone(), "");
    let room = MAX_BODY_BYTES
        .saturating_sub(serialized_len(&assemble(cfg, &empty, mention)))
        .saturating_sub(json_len(TRUNCATION_NOTICE) + 16);
    let mut budget = prefix_within(&message.text, room) + TRUNCATION_NOTICE.len() + 4;
    for _ in 0..16 {
        body = assemble(cfg, &message.clone().fit(budget), mention);
        let size = serialized_len(&body);
        if size <= MAX_BODY_BYTES || budget == 0 {
            break;
        }
        // Every byte of text is at least one byte of JSON.
        budget = budget.saturating_sub(size - MAX_BODY_BYTES);
    }
    body
}

/// Bytes of the longest start of `text` that takes at most `json_bytes`
/// inside a JSON string.
fn prefix_within(text: &str, json_bytes: usize) -> usize {
    let mut used = 0;
    for (i, c) in text.char_indices() {
        let mut buf = [0u8; 4];
        used += json_len(c.encode_utf8(&mut buf));
        if used > json_bytes {
            return i;
        }
    }
    text.len()
}

fn serialized_len(body: &Value) -> usize {
    serde_json::to_vec(body).map_or(usize::MAX, |b| b.len())
}

fn assemble(cfg: &WebhookConfig, message: &Message, mention: &Mentions) -> Value {
    let (title, mut text) = match cfg.keyword.as_deref().filter(|k| !k.is_empty()) {
        Some(keyword) => with_keyword(keyword, &message.title, &message.text),
        None => (message.title.clone(), message.text.clone()),
    };
    // DingTalk only notifies a mobile or user id that also appears as
    // @mobile / @userId in a markdown text.
    let tags: Vec<String> = mention
        .mobiles
        .iter()
        .chain(&mention.user_ids)
        .map(|m| format!("@{m}"))
        .collect();
    if !tags.is_empty() {
        text = format!("{}\n\n{}", text.trim_end(), tags.join(" "));
    }
    let mut at = json!({ "atMobiles": mention.mobiles, "isAtAll": mention.all });
    if !mention.user_ids.is_empty() {
        at["atUserIds"] = json!(mention.user_ids);
    }
    json!({
        "msgtype": "markdown",
        "markdown": { "title": title, "text": text },
        "at": at
    })
}

/// The secret's own mention rule (no route with people): @all, plus its
/// `at_mobiles`.
pub fn secret_mentions(cfg: &WebhookConfig) -> Mentions {
    Mentions {
        mobiles: cfg.at_mobiles.clone(),
        user_ids: Vec::new(),
        all: true,
    }
}

/// The robot's custom keyword in the title and in the text, each where it
/// is missing: DingTalk refuses (`310000`) a message whose title or text
/// lacks it. The title starts with `【keyword】 `; in the text it goes into
/// the first heading after its `#`s (`### 【告警】 🔴 ...`), so the heading
/// still renders, or before the first line when there is no heading.
pub fn with_keyword(keyword: &str, title: &str, text: &str) -> (String, String) {
    let tag = format!("【{keyword}】 ");
    let title = if title.contains(keyword) {
        title.to_string()
    } else {
        format!("{tag}{title}")
    };
    if text.contains(keyword) {
        return (title, text.to_string());
    }
    let hashes = text.len() - text.trim_start_matches('#').len();
    let text = if (1..=6).contains(&hashes) && text[hashes..].starts_with(' ') {
        let (marks, rest) = text.split_at(hashes + 1);
        format!("{marks}{tag}{rest}")
    } else {
        format!("{tag}{text}")
    };
    (title, text)
}

/// A request that got no answer, as `cause (error chain)`. reqwest's own
/// message is only "error sending request"; what a person needs to fix it
/// (a DNS name, a firewall, a proxy breaking TLS, a slow network) is further
/// down the chain. The URL is dropped, and `secrets` (the token and the
/// signature) are masked should anything in the chain repeat them.
fn transport_error(err: reqwest::Error, secrets: &[String]) -> DeliveryError {
    let err = err.without_url();
    let mut chain: Vec<String> = Vec::new();
    let mut cause = err.is_timeout().then_some("timed out");
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = next {
        let text = e.to_string();
        if !chain.iter().any(|c| c.contains(&text)) {
            chain.push(text);
        }
        cause = cause.or_else(|| cause_of(e));
        next = e.source();
    }
    let cause = cause.unwrap_or(if err.is_connect() {
        "connection failed"
    } else {
        "request failed"
    });
    let mut text = format!("{cause} ({})", chain.join(": "));
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        text = text.replace(secret.as_str(), "***");
    }
    DeliveryError::Transport(text)
}

/// The kind of failure one link of an error chain shows, if any.
fn cause_of(e: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    if e.is::<rustls::Error>() {
        return Some("TLS handshake failed");
    }
    if let Some(io) = e.downcast_ref::<std::io::Error>() {
        return io_cause(io);
    }
    // hyper-util reports resolver failures as "dns error" with the resolver's
    // io::Error (no distinct kind) below it.
    e.to_string()
        .starts_with("dns error")
        .then_some("DNS lookup failed")
}

/// An io::Error's `source()` skips the error it wraps, and TLS failures come
/// as a rustls error inside an io::Error inside another: look inside.
fn io_cause(io: &std::io::Error) -> Option<&'static str> {
    if let Some(inner) = io.get_ref() {
        if inner.is::<rustls::Error>() {
            return Some("TLS handshake failed");
        }
        if let Some(cause) = inner.downcast_ref::<std::io::Error>().and_then(io_cause) {
            return Some(cause);
        }
    }
    match io.kind() {
        std::io::ErrorKind::ConnectionRefused => Some("connection refused"),
        std::io::ErrorKind::TimedOut => Some("timed out"),
        _ => None,
    }
}

/// One per container: keeps the connection pool and the pacing state: the
/// robot's shared budget when there is one, and this container's own
/// conservative share for when there is none or it does not answer.
pub struct DingTalkClient {
    http: reqwest::Client,
    pacer: Mutex<Pacer>,
    budget: Option<SharedBudget>,
    /// Whether the shared budget answers, and what this container sent on
    /// its own share while it did not.
    budget_health: Mutex<BudgetHealth>,
    hosts: AllowedHosts,
}

/// How the shared budget has been answering this container.
#[derive(Debug, Default)]
struct BudgetHealth {
    /// The first failure of the current outage (`None`: it answers).
    failing_since: Option<Instant>,
    /// Pacing alone at the conservative share until then (fallback).
    down_until: Option<Instant>,
    /// The last request sent on this container's own share: the table does
    /// not know it, so the shared budget is used again only a window later.
    last_local_send: Option<Instant>,
    /// Why the table last failed, while it fails.
    last_error: Option<String>,
}

/// How long the table may fail before a container paces alone: until then
/// it sends nothing (safe), so one slow answer does not put a container on
/// its own share beside others that still take slots from the table.
fn fallback_after(window: Duration) -> Duration {
    window
}

/// Pure: what a container does about the shared budget at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BudgetUse {
    /// Take a slot from the table.
    Shared,
    /// Wait this long (a local send is still in the robot's window, or the
    /// table has failed for less than `fallback_after`), then decide again.
    Wait(Duration),
    /// Pace alone at the conservative share.
    Local,
}

fn budget_use(h: &BudgetHealth, now: Instant, window: Duration) -> BudgetUse {
    if h.down_until.is_some_and(|t| now < t) {
        return BudgetUse::Local;
    }
    if let Some(since) = h.failing_since {
        let fallback_at = since + fallback_after(window);
        if now < fallback_at {
            // Ask again soon; nothing is sent meanwhile.
            return BudgetUse::Wait((fallback_at - now).min(RETRY_TABLE_AFTER));
        }
    }
    match h.last_local_send.map(|t| t + window) {
        Some(quiet) if now < quiet => BudgetUse::Wait(quiet - now),
        _ => BudgetUse::Shared,
    }
}

/// While the table fails, it is asked again this often.
const RETRY_TABLE_AFTER: Duration = Duration::from_millis(250);

impl Default for DingTalkClient {
    fn default() -> Self {
        Self::new()
    }
}

/// Whose turn it is to send.
enum Slot {
    /// Taken from the shared budget: settled once the answer is back.
    Shared(Reservation),
    /// This container's own share (no shared budget, or it is down).
    Local,
}

impl DingTalkClient {
    /// DingTalk's limit, paced by this container alone (`test-send --direct`).
    pub fn new() -> Self {
        Self::with_rate_limit(DEFAULT_RATE_LIMIT, DEFAULT_RATE_WINDOW)
    }

    /// `robot_limit` per `window`: without a shared budget this container
    /// keeps to its share of it ([`FALLBACK_SENDERS`]).
    pub fn with_rate_limit(robot_limit: usize, window: Duration) -> Self {
        // reqwest is built without a crypto provider of its own (Cargo.toml):
        // ring becomes the process's default unless one is there already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            // A throttled robot may answer 302; following it would post to
            // a page that is not the robot.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("dingtalk-notifier/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        DingTalkClient {
            http,
            pacer: Mutex::new(Pacer::new(
                instance_limit(robot_limit, FALLBACK_SENDERS),
                window,
            )),
            budget: None,
            budget_health: Mutex::new(BudgetHealth::default()),
            hosts: AllowedHosts::default(),
        }
    }

    /// Takes every send's slot from the robot's shared budget.
    pub fn with_budget(mut self, budget: SharedBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// The relays deploy allowed besides DingTalk's host (`webhook_host`).
    pub fn with_webhook_hosts(mut self, hosts: AllowedHosts) -> Self {
        self.hosts = hosts;
        self
    }

    /// How long the next send would wait for the window or a block (the
    /// LLM step leaves this time to the send).
    pub(crate) fn pacing_delay(&self, now: Instant) -> Duration {
        let local = self.pacer().delay(now);
        match self.shared() {
            Some(b) => b.known_delay().max(self.pacer().block_delay(now)),
            None => local,
        }
    }

    fn pacer(&self) -> std::sync::MutexGuard<'_, Pacer> {
        self.pacer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn health(&self) -> std::sync::MutexGuard<'_, BudgetHealth> {
        self.budget_health.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Why the shared budget does not answer, while it does not (for a
    /// caller that must explain a send that waited for it).
    pub fn shared_budget_error(&self) -> Option<String> {
        self.health().last_error.clone()
    }

    /// The shared budget, unless it is down (this container in fallback).
    fn shared(&self) -> Option<&SharedBudget> {
        let budget = self.budget.as_ref()?;
        let window = self.pacer().window();
        match budget_use(&self.health(), Instant::now(), window) {
            BudgetUse::Local => None,
            _ => Some(budget),
        }
    }

    /// The table did not answer. Once it has failed for
    /// [`fallback_after`], pace alone at the conservative share for a
    /// window, then ask it again. One log line per outage.
    fn budget_failed(&self, e: &budget::Unreachable) {
        let window = self.pacer().window();
        let share = self.pacer().limit();
        let now = Instant::now();
        let mut h = self.health();
        h.last_error = Some(e.to_string());
        let since = *h.failing_since.get_or_insert(now);
        if now < since + fallback_after(window) {
            return;
        }
        if h.down_until.is_none() {
            tracing::warn!(
                error = %e,
                share,
                "shared send budget unreachable; pacing this container alone at its conservative share until it answers"
            );
        }
        h.down_until = Some(now + window);
    }

    fn budget_answered(&self) {
        let mut h = self.health();
        h.failing_since = None;
        h.last_error = None;
        if h.down_until.take().is_some() {
            tracing::info!("shared send budget answers again; pacing by it");
        }
    }

    /// Waits until the robot may take one more request and takes its slot,
    /// or fails at once when that wait would overrun `deadline`: sending
    /// anyway would only earn a throttle answer and a longer block.
    async fn wait_for_turn(&self, deadline: Instant, attempts: u32) -> Result<Slot, DeliveryError> {
        loop {
            let now = Instant::now();
            // A block this container saw counts whatever the table says.
            let mut wait = self.pacer().block_delay(now);
            let mut slot = None;
            let window = self.pacer().window();
            let usage = match self.budget.as_ref() {
                Some(_) => budget_use(&self.health(), now, window),
                None => BudgetUse::Local,
            };
            if let (true, BudgetUse::Wait(w)) = (wait.is_zero(), usage) {
                wait = w;
            } else if wait.is_zero() {
                match self.shared() {
                    Some(b) => match b.take().await {
                        Ok(Turn::Go(r)) => {
                            self.budget_answered();
                            slot = Some(Slot::Shared(r));
                        }
                        Ok(Turn::Wait(w)) => {
                            self.budget_answered();
                            wait = w;
                        }
                        Err(e) => {
                            self.budget_failed(&e);
                            continue;
                        }
                    },
                    None => {
                        wait = self.pacer().delay(now);
                        if wait.is_zero() {
                            if self.budget.is_some() {
                                self.health().last_local_send = Some(now);
                            }
                            slot = Some(Slot::Local);
                        }
                    }
                }
            }
            if let Some(slot) = slot {
                return Ok(slot);
            }
            let now = Instant::now();
            if now + wait + MIN_REQUEST_TIME > deadline {
                let blocked =
                    self.pacer().blocked_until().is_some_and(|t| t > now) || self.shared_blocked();
                return Err(if blocked {
                    DeliveryError::Blocked {
                        wait_s: wait.as_secs().max(1),
                    }
                } else {
                    DeliveryError::RateLimited { attempts }
                });
            }
            if self.health().failing_since.is_none() {
                tracing::info!(
                    wait_ms = wait.as_millis() as u64,
                    "pacing to stay under the robot's rate limit"
                );
            } // else: asking the table again every 250 ms, logged once when it falls back
            tokio::time::sleep(wait).await;
        }
    }

    fn shared_blocked(&self) -> bool {
        self.budget.as_ref().is_some_and(|b| {
            b.known_blocked_until()
                .is_some_and(|t| t > budget::now_ms())
        })
    }

    /// The request of `slot` is over: the local window counts it, and the
    /// shared slot is settled to now (best effort: unsettled, it stays
    /// reserved a little longer, which is safe).
    async fn request_over(&self, slot: Slot) {
        self.pacer().record(Instant::now());
        if matches!(slot, Slot::Local) && self.budget.is_some() {
            self.health().last_local_send = Some(Instant::now());
        }
        if let (Slot::Shared(r), Some(b)) = (slot, self.budget.as_ref()) {
            if let Err(e) = b.settle(r, budget::now_ms()).await {
                self.budget_failed(&e);
            }
        }
    }

    /// A throttle answer: this container and, through the table, every
    /// other one send nothing for [`BLOCK_WINDOWS`] windows.
    async fn robot_blocked(&self) {
        let now = Instant::now();
        let window = {
            let mut pacer = self.pacer();
            pacer.block(now);
            pacer.window()
        };
        if let Some(b) = self.budget.as_ref() {
            let until = budget::now_ms() + (window * BLOCK_WINDOWS).as_millis() as u64;
            if let Err(e) = b.block(until).await {
                self.budget_failed(&e);
            }
        }
    }

    /// One POST; the answer classified.
    async fn post(&self, url: url::Url, body: &Value, deadline: Instant) -> Answer {
        let left = deadline.saturating_duration_since(Instant::now());
        let secrets: Vec<String> = url
            .query_pairs()
            .filter(|(k, _)| k == "access_token" || k == "sign")
            .map(|(_, v)| v.into_owned())
            .collect();
        let result = self
            .http
            .post(url)
            .json(body)
            .timeout(left.min(REQUEST_TIMEOUT))
            .send()
            .await;
        let answer = match result {
            Err(e) => Answer::Retry(transport_error(e, &secrets)),
            Ok(resp) => {
                let status = resp.status().as_u16();
                let reply = resp.json::<Value>().await.ok();
                classify(status, reply.as_ref())
            }
        };
        answer
    }

    /// Sends one message before `deadline`: paced under this instance's
    /// share of the robot's rate, nothing sent while the robot is blocked,
    /// backoff on busy answers, HTTP 5xx and connection errors. Gives up
    /// (transient error) rather than overrun.
    pub async fn send(
        &self,
        cfg: &WebhookConfig,
        message: &Message,
        mention: &Mentions,
        deadline: Instant,
    ) -> Result<SendReport, DeliveryError> {
        if let Err(refusal) = self.hosts.check(&cfg.webhook) {
            tracing::error!(reason = %refusal, "{}", REFUSED_LOG_MESSAGE);
            return Err(DeliveryError::HostRefused(refusal));
        }
        let body = request_body(cfg, message, mention);
        let mut attempts = 0u32;
        let mut backoff = Duration::from_secs(1);
        loop {
            if Instant::now() + MIN_REQUEST_TIME > deadline {
                return Err(DeliveryError::DeadlineExceeded);
            }
            let slot = self.wait_for_turn(deadline, attempts).await?;
            attempts += 1;
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or_default();
            let url = signed_url(cfg, now_ms)?;
            let answer = self.post(url, &body, deadline).await;
            // Counted when the attempt is over: the robot counted it at some
            // moment before, so our window never ends earlier than the robot's.
            self.request_over(slot).await;
            let retry_err = match answer {
                Answer::Delivered => {
                    return Ok(SendReport {
                        attempts,
                        retried: attempts - 1,
                        errcode: 0,
                    })
                }
                Answer::Throttled(answer) => {
                    // The robot is blocked; every further request would be
                    // refused too (and might prolong the block).
                    self.robot_blocked().await;
                    tracing::warn!(
                        attempt = attempts,
                        answer = %answer,
                        "DingTalk throttled the robot; sending nothing until its block is over"
                    );
                    return Err(DeliveryError::Throttled { answer });
                }
                Answer::Fail(e) => return Err(e),
                Answer::Retry(e) => e,
            };
            if Instant::now() + backoff + MIN_REQUEST_TIME > deadline {
                return Err(retry_err);
            }
            tracing::warn!(attempt = attempts, error = %retry_err, backoff_ms = backoff.as_millis() as u64, "retrying DingTalk");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(20));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slow or failing table puts a container on its own share only after
    /// a window of failures (it sends nothing meanwhile), and after its own
    /// sends it uses the table again only once they left the robot's window.
    #[test]
    fn the_shared_budget_is_left_late_and_rejoined_after_a_quiet_window() {
        let w = Duration::from_secs(60);
        let t = Instant::now();
        let mut h = BudgetHealth::default();
        assert_eq!(budget_use(&h, t, w), BudgetUse::Shared);
        h.failing_since = Some(t);
        assert_eq!(budget_use(&h, t, w), BudgetUse::Wait(RETRY_TABLE_AFTER));
        assert_eq!(
            budget_use(&h, t + Duration::from_millis(59_900), w),
            BudgetUse::Wait(Duration::from_millis(100))
        );
        // Failing a whole window: fallback (budget_failed sets down_until).
        h.down_until = Some(t + w * 2);
        assert_eq!(budget_use(&h, t + w, w), BudgetUse::Local);
        // It answers again; the last local send was at 2 windows.
        h = BudgetHealth {
            last_local_send: Some(t + w * 2),
            ..BudgetHealth::default()
        };
        assert_eq!(
            budget_use(&h, t + w * 2 + Duration::from_secs(10), w),
            BudgetUse::Wait(Duration::from_secs(50))
        );
        assert_eq!(budget_use(&h, t + w * 3, w), BudgetUse::Shared);
    }

    fn cfg(secret: Option<&str>) -> WebhookConfig {
        WebhookConfig {
            webhook: "https://oapi.dingtalk.com/robot/send?access_token=tok123secret".into(),
            secret: secret.map(str::to_string),
            at_mobiles: vec![],
            at_all_on: vec![],
            keyword: None,
        }
    }

    #[test]
    fn sign_matches_the_documented_algorithm() {
        // python3: base64.b64encode(hmac.new(b"SECtest", b"1700000000000\nSECtest", hashlib.sha256).digest())
        assert_eq!(
            sign(1_700_000_000_000, "SECtest"),
            "aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g="
        );
    }

    #[test]
    fn signed_url_adds_encoded_timestamp_and_sign() {
        let url = signed_url(&cfg(Some("SECtest")), 1_700_000_000_000).unwrap();
        assert_eq!(
            url.as_str(),
            "https://oapi.dingtalk.com/robot/send?access_token=tok123secret&timestamp=1700000000000&sign=aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g%3D"
        );
        let plain = signed_url(&cfg(None), 1).unwrap();
        assert_eq!(plain.query(), Some("access_token=tok123secret"));
    }

    #[test]
    fn body_adds_keyword_and_mentions() {
        let mut c = cfg(None);
        c.keyword = Some("告警".into());
        c.at_mobiles = vec!["13800000000".into()];
        let body = request_body(
            &c,
            &Message::new("🔴 ALARM: cpu", "### x\n"),
            &secret_mentions(&c),
        );
        assert_eq!(
            body,
            json!({
                "msgtype": "markdown",
                "markdown": {"title": "【告警】 🔴 ALARM: cpu", "text": "### 【告警】 x\n\n@13800000000"},
                "at": {"atMobiles": ["13800000000"], "isAtAll": true}
            })
        );
        let all = request_body(
            &cfg(None),
            &Message::new("t", "x"),
            &secret_mentions(&cfg(None)),
        );
        assert_eq!(all["at"], json!({"atMobiles": [], "isAtAll": true}));
        let none = request_body(&cfg(None), &Message::new("t", "x"), &Mentions::default());
        assert_eq!(none["at"], json!({"atMobiles": [], "isAtAll": false}));
    }

    /// A route's people: each mobile and user id both in `at` and as
    /// `@...` in the text (DingTalk renders no mention without it), never
    /// @all unless the route says so.
    #[test]
    fn a_routes_people_are_in_at_and_in_the_text() {
        let people = Mentions {
            mobiles: vec!["13800000000".into()],
            user_ids: vec!["manager4711".into()],
            all: false,
        };
        let body = request_body(&cfg(None), &Message::new("t", "### x\n"), &people);
        assert_eq!(
            body,
            json!({
                "msgtype": "markdown",
                "markdown": {"title": "t", "text": "### x\n\n@13800000000 @manager4711"},
                "at": {"atMobiles": ["13800000000"], "atUserIds": ["manager4711"], "isAtAll": false}
            })
        );
    }

    #[test]
    fn keyword_goes_where_it_is_missing_and_keeps_the_heading() {
        let k = |title: &str, text: &str| with_keyword("告警", title, text);
        assert_eq!(
            k("🔴 ALARM: cpu", "### 🔴 CloudWatch 告警 Alarm: cpu\n"),
            (
                "【告警】 🔴 ALARM: cpu".into(),
                "### 🔴 CloudWatch 告警 Alarm: cpu\n".into()
            )
        );
        assert_eq!(
            k("📋 告警汇总", "### 📋 告警汇总\n"),
            ("📋 告警汇总".into(), "### 📋 告警汇总\n".into())
        );
        assert_eq!(
            k("EC2 i-1 stopped", "### 🔴 EC2\n\n- x\n"),
            (
                "【告警】 EC2 i-1 stopped".into(),
                "### 【告警】 🔴 EC2\n\n- x\n".into()
            )
        );
        assert_eq!(
            k("t", "plain\nline"),
            ("【告警】 t".into(), "【告警】 plain\nline".into())
        );
        // `#hashtag` and seven `#` are not headings.
        assert_eq!(k("t", "#tag").1, "【告警】 #tag");
        assert_eq!(k("t", "####### x").1, "【告警】 ####### x");
    }

    /// The test robots listen on loopback, relays deploy would list (and
    /// one host that never resolves).
    fn loopback_relay() -> AllowedHosts {
        AllowedHosts::parse("127.0.0.1,robot.does-not-exist.invalid")
    }

    /// Sends to `webhook` with a short deadline and returns the error text.
    async fn unreachable(webhook: &str, within: Duration) -> String {
        let mut c = cfg(Some("SECtest"));
        c.webhook = webhook.to_string();
        let client = DingTalkClient::new().with_webhook_hosts(loopback_relay());
        let deadline = Instant::now() + within;
        let err = client
            .send(&c, &Message::new("t", "x"), &Mentions::default(), deadline)
            .await
            .unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        let text = err.to_string();
        assert!(
            !text.contains("tok123secret") && !text.contains("SECtest"),
            "{text}"
        );
        text
    }

    /// A local listener that answers every connection with `reply` (or, with
    /// `None`, accepts and never answers).
    fn listener(reply: Option<&'static [u8]>) -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for mut conn in l.incoming().flatten() {
                if let Some(reply) = reply {
                    let _ = std::io::Write::write_all(&mut conn, reply);
                }
                held.push(conn);
            }
        });
        port
    }

    /// A request cut short after the robot took it would be a duplicate.
    #[tokio::test]
    async fn no_request_starts_with_under_a_second_left() {
        let robot = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = robot.local_addr().unwrap().port();
        let mut c = cfg(None);
        c.webhook = format!("http://127.0.0.1:{port}/robot/send?access_token=tok123secret");
        let deadline = Instant::now() + Duration::from_millis(900);
        let err = DingTalkClient::new()
            .with_webhook_hosts(loopback_relay())
            .send(&c, &Message::new("t", "x"), &Mentions::default(), deadline)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), DeliveryError::DeadlineExceeded.to_string());
        robot.set_nonblocking(true).unwrap();
        assert_eq!(
            robot.accept().map(|_| ()).unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock,
            "no connection was made"
        );
    }

    #[tokio::test]
    async fn an_unreachable_robot_names_the_cause_never_the_token() {
        let path = "/robot/send?access_token=tok123secret";
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = free.local_addr().unwrap().port();
        drop(free);
        let refused = unreachable(
            &format!("http://127.0.0.1:{closed}{path}"),
            Duration::from_millis(1_500),
        )
        .await;
        assert!(
            refused.starts_with("could not reach DingTalk: connection refused (error sending request: client error (Connect): tcp connect error: "),
            "{refused}"
        );

        let plain = listener(Some(
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n",
        ));
        let tls = unreachable(
            &format!("https://127.0.0.1:{plain}{path}"),
            Duration::from_millis(1_500),
        )
        .await;
        assert!(
            tls.starts_with("could not reach DingTalk: TLS handshake failed (error sending request: client error (Connect): "),
            "{tls}"
        );

        let silent = listener(None);
        let timeout = unreachable(
            &format!("http://127.0.0.1:{silent}{path}"),
            Duration::from_millis(1_500),
        )
        .await;
        assert!(
            timeout.starts_with("could not reach DingTalk: timed out (error sending request"),
            "{timeout}"
        );

        // `.invalid` never resolves (RFC 2606).
        let dns = unreachable(
            &format!("https://robot.does-not-exist.invalid{path}"),
            Duration::from_secs(5),
        )
        .await;
        assert!(
            dns.starts_with("could not reach DingTalk: DNS lookup failed (error sending request: client error (Connect): dns error: "),
            "{dns}"
        );
    }

    #[test]
    fn errors_never_contain_token_or_secret() {
        let errors = [
            DeliveryError::Rejected {
                errcode: 310000,
                errmsg: "sign not match".into(),
                meaning: errcode_meaning(310000),
            },
            DeliveryError::Throttled {
                answer: "errcode 130101".into(),
            },
            DeliveryError::Blocked { wait_s: 540 },
            DeliveryError::RateLimited { attempts: 3 },
            DeliveryError::Http { status: 503 },
            DeliveryError::Busy,
            DeliveryError::Transport("connection refused".into()),
            DeliveryError::DeadlineExceeded,
            DeliveryError::BadReply { status: 200 },
            DeliveryError::NoErrcode { status: 200 },
            DeliveryError::BadWebhook,
        ];
        for e in errors {
            let s = format!("{e} {e:?}");
            assert!(!s.contains("tok123secret") && !s.contains("SECtest"), "{s}");
        }
    }

    #[test]
    fn errcodes_say_what_to_fix() {
        assert_eq!(errcode_meaning(0), "ok");
        assert!(errcode_meaning(310000).starts_with("security check failed"));
        assert!(errcode_meaning(130101).contains("20 per minute"));
        assert!(errcode_meaning(410100).contains("10 minutes"));
        assert!(errcode_meaning(-1).contains("busy"));
        assert_eq!(errcode_meaning(123), "unknown DingTalk error code");
    }

    #[test]
    fn answers_are_classified() {
        let j = |code: i64| json!({"errcode": code, "errmsg": "m"});
        assert_eq!(classify(200, Some(&j(0))), Answer::Delivered);
        assert_eq!(
            classify(200, Some(&j(130101))),
            Answer::Throttled("errcode 130101".into())
        );
        assert_eq!(
            classify(200, Some(&j(410100))),
            Answer::Throttled("errcode 410100".into())
        );
        for status in [301, 302, 303, 307, 308] {
            assert_eq!(
                classify(status, None),
                Answer::Throttled(format!("HTTP {status} redirect"))
            );
        }
        assert_eq!(
            classify(200, Some(&j(-1))),
            Answer::Retry(DeliveryError::Busy)
        );
        assert_eq!(
            classify(503, None),
            Answer::Retry(DeliveryError::Http { status: 503 })
        );
        assert_eq!(
            classify(200, Some(&json!({"status": 1111, "wait": 5}))),
            Answer::Fail(DeliveryError::NoErrcode { status: 200 })
        );
        assert_eq!(
            classify(200, None),
            Answer::Fail(DeliveryError::BadReply { status: 200 })
        );
        let Answer::Fail(rejected) = classify(200, Some(&j(430102))) else {
            panic!("430102 is final");
        };
        assert_eq!(rejected.errcode(), Some(430102));
        assert!(!rejected.is_transient());
        assert!(DeliveryError::NoErrcode { status: 200 }.is_transient());
        assert!(DeliveryError::Busy.is_transient());
        assert!(refuses_content(430101) && refuses_content(430104) && !refuses_content(310000));
        assert!(
            may_be_stale_secret(300001)
                && may_be_stale_secret(310000)
                && !may_be_stale_secret(430101)
        );
    }

    /// 50 KB of quotes, newlines and CJK: each quote and newline is two
    /// bytes of JSON, so a text cut at 18,000 bytes is still too big.
    #[test]
    fn the_whole_serialized_body_fits_and_keeps_mentions() {
        let mut c = cfg(None);
        c.keyword = Some("告警".into());
        c.at_mobiles = vec!["13800000000".into(), "13900000000".into()];
        let text: String = "\"引号\" \"quotes\"\n告警内容\\n".repeat(2_000);
        assert!(text.len() > 50_000);
        let body = request_body(
            &c,
            &Message::new("🔴 ALARM: big", text),
            &secret_mentions(&c),
        );
        let size = serde_json::to_vec(&body).unwrap().len();
        assert!(size <= MAX_BODY_BYTES, "{size} bytes");
        assert!(
            size > MAX_BODY_BYTES - 2_000,
            "cut far too much: {size} bytes"
        );
        let sent = body["markdown"]["text"].as_str().unwrap();
        // The keyword is in the text already, so nothing is prefixed.
        assert!(
            sent.starts_with("\"引号\" \"quotes\"\n告警内容"),
            "{sent:.40}"
        );
        assert!(sent.contains(crate::message::TRUNCATION_NOTICE.trim_start()));
        assert!(sent.ends_with("\n\n@13800000000 @13900000000"));
        // A body that fits is untouched.
        let small = request_body(&c, &Message::new("t", "\"a\"\n"), &Mentions::default());
        assert_eq!(small["markdown"]["text"], "【告警】 \"a\"\n");
        assert_eq!(small["markdown"]["title"], "【告警】 t");
    }
}
