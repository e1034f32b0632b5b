//! The DingTalk custom robot protocol: signing (加签), keywords, mentions,
//! errcodes, and staying under the robot's 20 messages per minute.
//!
//! DingTalk answers HTTP 200 with `{"errcode": N, "errmsg": "..."}`. Only
//! errcode 0 is a delivery. `130101` (too fast) is worth waiting for, within
//! the time the invocation has left; every other code is permanent and is
//! reported with what it means, so the person reading the log knows what to fix.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::message::Message;
use crate::secret::WebhookConfig;

pub const ERR_TOO_FAST: i64 = 130101;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// DingTalk's documented limit per robot.
pub const DEFAULT_RATE_LIMIT: usize = 20;
pub const DEFAULT_RATE_WINDOW: Duration = Duration::from_secs(60);

/// What a DingTalk errcode means and what to do about it.
pub fn errcode_meaning(code: i64) -> &'static str {
    match code {
        0 => "ok",
        ERR_TOO_FAST => "too many messages: a robot may send 20 per minute; DingTalk throttles it for a while",
        310000 => "security check failed: the message lacks the robot's keyword, the signature or timestamp is wrong (check the SEC secret), or the caller's IP is not in the robot's allow list",
        300001 => "the access_token does not exist: the robot was removed or the webhook URL is wrong",
        300005 => "the access_token does not exist: the robot was removed or the webhook URL is wrong",
        400013 => "the group is not available (it was dissolved)",
        400101 => "the robot's access_token does not exist",
        400102 => "the robot is disabled (stopped) in the group settings",
        400105 => "this message type is not supported",
        400106 => "the robot does not exist",
        410100 => "too many requests: the robot is throttled",
        430101 => "the message contains a link that is not allowed",
        430102 => "the message contains content that is not allowed",
        430103 => "the message was rejected as spam",
        430104 => "the message contains sensitive content",
        460101 => "the message is too long (over 20000 bytes)",
        460102 => "the message title is empty or invalid",
        460103 => "the message content is empty or invalid",
        40035 => "the request body is missing or not valid JSON",
        43004 => "the request's Content-Type is not application/json",
        _ => "unknown DingTalk error code",
    }
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
    #[error("the robot's rate limit is reached (20 messages a minute; DingTalk answers 130101 beyond it) and this invocation has no time left to wait ({attempts} attempts); the alert is left for a retry")]
    RateLimited { attempts: u32 },
    #[error("DingTalk answered HTTP {status}")]
    Http { status: u16 },
    /// The reqwest error without its URL.
    #[error("could not reach DingTalk: {0}")]
    Transport(String),
    #[error("no time left in the invocation to send the message")]
    DeadlineExceeded,
    #[error("DingTalk answered something that is not its JSON reply (HTTP {status})")]
    BadReply { status: u16 },
    #[error("the webhook URL in the secret is not a valid URL")]
    BadWebhook,
}

impl DeliveryError {
    /// Worth trying again later (Lambda retry, SQS redelivery)?
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            DeliveryError::RateLimited { .. }
                | DeliveryError::Http { .. }
                | DeliveryError::Transport(_)
                | DeliveryError::DeadlineExceeded
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReport {
    pub attempts: u32,
    /// Times DingTalk answered 130101 before accepting.
    pub throttled: u32,
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

/// The JSON body DingTalk expects for a markdown message.
pub fn request_body(cfg: &WebhookConfig, message: &Message, mention: bool) -> Value {
    let mut title = message.title.clone();
    let mut text = message.text.clone();
    if let Some(keyword) = &cfg.keyword {
        if !title.contains(keyword.as_str()) && !text.contains(keyword.as_str()) {
            title = format!("[{keyword}] {title}");
            text = format!("**[{keyword}]** {text}");
        }
    }
    let mut at_mobiles: Vec<String> = Vec::new();
    let mut at_all = false;
    if mention {
        at_all = true;
        if !cfg.at_mobiles.is_empty() {
            // DingTalk only notifies a mobile that also appears as @mobile in the text.
            at_mobiles = cfg.at_mobiles.clone();
            let tags: Vec<String> = at_mobiles.iter().map(|m| format!("@{m}")).collect();
            text = format!("{}\n\n{}", text.trim_end(), tags.join(" "));
        }
    }
    json!({
        "msgtype": "markdown",
        "markdown": { "title": title, "text": text },
        "at": { "atMobiles": at_mobiles, "isAtAll": at_all }
    })
}

/// One per container: keeps the connection pool and the pacing window.
pub struct DingTalkClient {
    http: reqwest::Client,
    limit: usize,
    window: Duration,
    sent: Mutex<VecDeque<Instant>>,
}

impl Default for DingTalkClient {
    fn default() -> Self {
        Self::new()
    }
}

impl DingTalkClient {
    pub fn new() -> Self {
        Self::with_rate_limit(DEFAULT_RATE_LIMIT, DEFAULT_RATE_WINDOW)
    }

    pub fn with_rate_limit(limit: usize, window: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("dingtalk-notifier/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        DingTalkClient {
            http,
            limit: limit.max(1),
            window,
            sent: Mutex::new(VecDeque::new()),
        }
    }

    /// How long to wait before the next send keeps us under the robot's limit.
    pub(crate) fn pacing_delay(&self, now: Instant) -> Duration {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        while sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            sent.pop_front();
        }
        if sent.len() < self.limit {
            return Duration::ZERO;
        }
        sent.front()
            .map(|oldest| self.window.saturating_sub(now.duration_since(*oldest)))
            .unwrap_or(Duration::ZERO)
    }

    /// Treats the robot's window as full from `now`, so the next send waits
    /// a whole window.
    fn mark_window_full(&self, now: Instant) {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.clear();
        sent.extend(std::iter::repeat_n(now, self.limit));
    }

    fn record_send(&self, at: Instant) {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.push_back(at);
    }

    /// Sends one message before `deadline`: paced under the robot's rate,
    /// a whole window's wait after a 130101, backoff on HTTP 5xx and
    /// connection errors. Gives up (transient error) rather than overrun.
    pub async fn send(
        &self,
        cfg: &WebhookConfig,
        message: &Message,
        mention: bool,
        deadline: Instant,
    ) -> Result<SendReport, DeliveryError> {
        let body = request_body(cfg, message, mention);
        let mut attempts = 0u32;
        let mut throttled = 0u32;
        let mut backoff = Duration::from_secs(1);
        loop {
            if Instant::now() >= deadline {
                return Err(DeliveryError::DeadlineExceeded);
            }
            let wait = self.pacing_delay(Instant::now());
            if !wait.is_zero() {
                if Instant::now() + wait >= deadline {
                    // Sending anyway would only earn a 130101 (and, on the
                    // real robot, a longer block); leave it for the retry.
                    return Err(DeliveryError::RateLimited { attempts });
                }
                tracing::info!(
                    wait_ms = wait.as_millis() as u64,
                    "pacing to stay under the robot's rate limit"
                );
                tokio::time::sleep(wait).await;
            }
            attempts += 1;
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or_default();
            let url = signed_url(cfg, now_ms)?;
            let left = deadline.saturating_duration_since(Instant::now());
            let result = self
                .http
                .post(url)
                .json(&body)
                .timeout(left.clamp(Duration::from_millis(100), REQUEST_TIMEOUT))
                .send()
                .await;
            let retry_err = match result {
                Err(e) => DeliveryError::Transport(e.without_url().to_string()),
                Ok(resp) => {
                    // Counted when the answer is back: the robot counted it
                    // at some moment before, so our window never ends
                    // earlier than the robot's.
                    self.record_send(Instant::now());
                    let status = resp.status().as_u16();
                    if status >= 500 || status == 429 {
                        DeliveryError::Http { status }
                    } else {
                        let reply: Value = resp
                            .json()
                            .await
                            .map_err(|_| DeliveryError::BadReply { status })?;
                        let errcode = reply.get("errcode").and_then(Value::as_i64).unwrap_or(-1);
                        let errmsg = reply
                            .get("errmsg")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        match errcode {
                            0 => {
                                return Ok(SendReport {
                                    attempts,
                                    throttled,
                                    errcode,
                                })
                            }
                            ERR_TOO_FAST => {
                                throttled += 1;
                                // Someone else shares the robot, or our count is
                                // off: the robot's window is full as of now.
                                self.mark_window_full(Instant::now());
                                tracing::warn!(
                                    attempt = attempts,
                                    "DingTalk answered 130101 (too fast); waiting a full rate window"
                                );
                                continue;
                            }
                            -1 => return Err(DeliveryError::BadReply { status }),
                            code => {
                                return Err(DeliveryError::Rejected {
                                    errcode: code,
                                    errmsg,
                                    meaning: errcode_meaning(code),
                                })
                            }
                        }
                    }
                }
            };
            if Instant::now() + backoff >= deadline {
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
        let body = request_body(&c, &Message::new("🔴 ALARM: cpu", "### x\n"), true);
        assert_eq!(
            body,
            json!({
                "msgtype": "markdown",
                "markdown": {"title": "[告警] 🔴 ALARM: cpu", "text": "**[告警]** ### x\n\n@13800000000"},
                "at": {"atMobiles": ["13800000000"], "isAtAll": true}
            })
        );
        let all = request_body(&cfg(None), &Message::new("t", "x"), true);
        assert_eq!(all["at"], json!({"atMobiles": [], "isAtAll": true}));
        let none = request_body(&cfg(None), &Message::new("t", "x"), false);
        assert_eq!(none["at"], json!({"atMobiles": [], "isAtAll": false}));
    }

    #[test]
    fn errors_never_contain_token_or_secret() {
        let errors = [
            DeliveryError::Rejected {
                errcode: 310000,
                errmsg: "sign not match".into(),
                meaning: errcode_meaning(310000),
            },
            DeliveryError::RateLimited { attempts: 3 },
            DeliveryError::Http { status: 503 },
            DeliveryError::Transport("connection refused".into()),
            DeliveryError::DeadlineExceeded,
            DeliveryError::BadReply { status: 200 },
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
        assert_eq!(errcode_meaning(123), "unknown DingTalk error code");
    }

    #[test]
    fn pacing_waits_once_the_window_is_full() {
        let c = DingTalkClient::with_rate_limit(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(c.pacing_delay(t0), Duration::ZERO);
        c.record_send(t0);
        c.record_send(t0);
        let d = c.pacing_delay(t0 + Duration::from_secs(10));
        assert_eq!(d, Duration::from_secs(50));
        assert_eq!(c.pacing_delay(t0 + Duration::from_secs(61)), Duration::ZERO);
    }

    #[test]
    fn a_130101_makes_the_next_send_wait_a_whole_window() {
        let c = DingTalkClient::with_rate_limit(20, Duration::from_secs(60));
        let t0 = Instant::now();
        c.record_send(t0);
        c.mark_window_full(t0 + Duration::from_secs(5));
        assert_eq!(
            c.pacing_delay(t0 + Duration::from_secs(5)),
            Duration::from_secs(60)
        );
        assert_eq!(c.pacing_delay(t0 + Duration::from_secs(65)), Duration::ZERO);
    }
}
