//! Turning a published payload into a DingTalk markdown message.
//!
//! Everything here is pure: a payload (and options) in, a [`Rendered`] out,
//! so every message shape is pinned by fixture tests. Unknown or malformed
//! input never fails: it becomes a readable generic message, because an alert
//! nobody can read is still better than an alert that was dropped.

pub mod digest;
mod doc;
pub mod links;
pub mod time;

pub use doc::Doc;

use serde_json::Value;

use crate::events::{self, EventEnvelope};
use crate::message::{Message, MAX_TEXT_BYTES};

/// How much of an unknown payload is shown before it is cut; the whole
/// message is cut again at [`MAX_TEXT_BYTES`].
const GENERIC_BODY_BYTES: usize = 6_000;

#[derive(Debug, Clone)]
pub struct FormatOptions {
    /// Zone for every time shown in a message.
    pub time_zone: chrono_tz::Tz,
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions {
            time_zone: chrono_tz::Asia::Shanghai,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    Health,
    HealthAbuse,
    Ec2StateChange,
    AlarmStateChange,
    Generic,
    Text,
}

impl AlertKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            AlertKind::Health => "health",
            AlertKind::HealthAbuse => "health_abuse",
            AlertKind::Ec2StateChange => "ec2_state_change",
            AlertKind::AlarmStateChange => "alarm_state_change",
            AlertKind::Generic => "generic",
            AlertKind::Text => "text",
        }
    }
}

/// A message plus what the handler needs to decide on mentions and to log.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Already fitted to [`MAX_TEXT_BYTES`].
    pub message: Message,
    pub kind: AlertKind,
    /// The event's `source`, or `sns` for text and non-event JSON.
    pub source: String,
    /// The EventBridge event `id`.
    pub event_id: Option<String>,
    /// The state that `at_all_on` is matched against: the alarm's new state,
    /// the Health `statusCode`, the EC2 instance state.
    pub state: Option<String>,
    /// The console page the message links to, for a digest line.
    pub link: Option<String>,
    /// `region · MM-DD HH:MM:SS` of an event, for a digest line.
    pub context: Option<String>,
}

/// Renders whatever was published. `subject` is the SNS Subject, if any.
pub fn render(payload: &str, subject: Option<&str>, opts: &FormatOptions) -> Rendered {
    let trimmed = payload.trim();
    let value: Option<Value> = serde_json::from_str(trimmed).ok();
    let mut rendered = match value {
        Some(v) => match EventEnvelope::from_value(&v) {
            Some(env) => render_event(&env, opts),
            None => render_json(&v, subject),
        },
        None => render_text(trimmed, subject),
    };
    rendered.message = rendered.message.fit(MAX_TEXT_BYTES);
    rendered
}

fn render_event(env: &EventEnvelope, opts: &FormatOptions) -> Rendered {
    let typed = match (env.source.as_str(), env.detail_type.as_str()) {
        ("aws.health", "AWS Health Event") => events::health::render(env, opts),
        ("aws.health", "AWS Health Abuse Event") => events::abuse::render(env, opts),
        ("aws.ec2", "EC2 Instance State-change Notification") => events::ec2::render(env, opts),
        ("aws.cloudwatch", "CloudWatch Alarm State Change") => events::alarm::render(env, opts),
        _ => None,
    };
    let mut rendered = typed.unwrap_or_else(|| render_generic_event(env, opts));
    let when = time::short(&env.time, opts.time_zone);
    let context: Vec<&str> = [env.region.as_str(), when.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    rendered.context = Some(context.join(" · ")).filter(|s| !s.is_empty());
    rendered
}

/// Header lines every event message carries: account, region, time.
pub fn common_fields(doc: &mut Doc, env: &EventEnvelope, opts: &FormatOptions) {
    doc.field("账号 Account", &env.account);
    doc.field("区域 Region", &env.region);
    doc.field("时间 Time", &time::show(&env.time, opts.time_zone));
}

fn render_generic_event(env: &EventEnvelope, opts: &FormatOptions) -> Rendered {
    let mut doc = Doc::new(format!("📣 {}", env.detail_type));
    doc.field("来源 Source", &env.source);
    doc.field("类型 Type", &env.detail_type);
    common_fields(&mut doc, env, opts);
    if !env.resources.is_empty() {
        doc.field("资源 Resources", &env.resources.join(", "));
    }
    doc.code_block("json", &clip(&pretty(&env.detail), GENERIC_BODY_BYTES));
    Rendered {
        message: doc.into_message(format!("AWS {}", env.detail_type)),
        kind: AlertKind::Generic,
        source: env.source.clone(),
        event_id: Some(env.id.clone()).filter(|s| !s.is_empty()),
        state: None,
        link: None,
        context: None,
    }
}

fn render_json(value: &Value, subject: Option<&str>) -> Rendered {
    let title = subject
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("AWS 通知 Notification");
    let mut doc = Doc::new(format!("📣 {title}"));
    doc.code_block("json", &clip(&pretty(value), GENERIC_BODY_BYTES));
    Rendered {
        message: doc.into_message(title.to_string()),
        kind: AlertKind::Generic,
        source: "sns".into(),
        event_id: None,
        state: None,
        link: None,
        context: Some(snippet(&value.to_string())),
    }
}

fn render_text(text: &str, subject: Option<&str>) -> Rendered {
    let title = subject
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("AWS 通知 Notification");
    let mut doc = Doc::new(format!("📣 {title}"));
    let body = if text.is_empty() {
        "(空消息 empty message)"
    } else {
        text
    };
    doc.paragraph(&clip(body, GENERIC_BODY_BYTES));
    Rendered {
        message: doc.into_message(title.to_string()),
        kind: AlertKind::Text,
        source: "sns".into(),
        event_id: None,
        state: None,
        link: None,
        context: Some(snippet(body)),
    }
}

/// The start of a payload on one line, for a digest line.
fn snippet(text: &str) -> String {
    const MAX_CHARS: usize = 120;
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= MAX_CHARS {
        return line;
    }
    let mut cut: String = line.chars().take(MAX_CHARS).collect();
    cut.push('…');
    cut
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// Cuts `s` to at most `max` bytes on a character boundary, marking the cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}\n… (truncated)", &s[..cut])
}
