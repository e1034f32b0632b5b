//! Turning a published payload into a DingTalk markdown message.
//!
//! Everything here is pure: a payload (and options) in, a [`Rendered`] out,
//! so every message shape is pinned by fixture tests. Unknown or malformed
//! input never fails: it becomes a readable generic message, because an alert
//! nobody can read is still better than an alert that was dropped.
//!
//! This is the entry point: it tells an EventBridge event (handed to
//! [`crate::events`], which picks the typed renderer) from other JSON and
//! text. The types it returns live below it, in [`crate::rendered`], and are
//! re-exported here so callers need one path.

pub mod digest;

pub use crate::markdown::clip;
pub use crate::rendered::{AlertKind, FormatOptions, Rendered, Severity, TEST_EVENT_SOURCE};

use serde_json::Value;

use crate::events::{self, EventEnvelope};
use crate::markdown::{Doc, GENERIC_BODY_BYTES};
use crate::message::MAX_TEXT_BYTES;

/// Renders whatever was published. `subject` is the SNS Subject, if any.
pub fn render(payload: &str, subject: Option<&str>, opts: &FormatOptions) -> Rendered {
    let trimmed = payload.trim();
    let value: Option<Value> = serde_json::from_str(trimmed).ok();
    let mut rendered = match value {
        Some(Value::String(s)) => render_string(&s, subject),
        Some(v) => match EventEnvelope::from_value(&v) {
            Some(env) => events::render(&env, opts),
            None => {
                events::render_notification(&v, opts).unwrap_or_else(|| render_json(&v, subject))
            }
        },
        None => events::render_text_notification(trimmed, subject)
            .unwrap_or_else(|| render_text(trimmed, subject)),
    };
    rendered.message = rendered.message.fit(MAX_TEXT_BYTES);
    rendered
}

fn render_json(value: &Value, subject: Option<&str>) -> Rendered {
    let title = subject
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("AWS 通知 Notification");
    let mut doc = Doc::new(format!("📣 {title}"));
    doc.json(value, GENERIC_BODY_BYTES);
    Rendered {
        message: doc.into_message(title.to_string()),
        kind: AlertKind::Generic,
        source: "sns".into(),
        event_id: None,
        state: None,
        severity: Severity::Info,
        link: None,
        context: Some(snippet(&value.to_string())),
        test_id: None,
    }
}

/// A JSON string is what an EventBridge input transformer publishes (the
/// original SAR app's rules and plugins do): shown with its real line
/// breaks, and its first line is the title unless SNS gave a subject.
fn render_string(text: &str, subject: Option<&str>) -> Rendered {
    let text = text.trim();
    let subject = subject.map(str::trim).filter(|s| !s.is_empty());
    let (title, body) = match subject {
        Some(s) => (s.to_string(), text.to_string()),
        None => {
            let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
            let first = lines.next().unwrap_or("");
            let title = first.trim_end_matches([':', '：']).trim().to_string();
            (title, lines.collect::<Vec<_>>().join("\n"))
        }
    };
    // A string that is one long line has no title line.
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return render_text(text, None);
    }
    let mut doc = Doc::new(format!("📣 {title}"));
    doc.paragraph(&clip(&body, GENERIC_BODY_BYTES));
    Rendered {
        message: doc.into_message(title),
        kind: AlertKind::Text,
        source: "sns".into(),
        event_id: None,
        state: None,
        severity: Severity::Info,
        link: None,
        context: Some(snippet(&body)).filter(|s| !s.is_empty()),
        test_id: None,
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
        severity: Severity::Info,
        link: None,
        context: Some(snippet(body)),
        test_id: None,
    }
}

/// Longest first line of a JSON string that is taken as its title.
const MAX_TITLE_CHARS: usize = 120;

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
