//! The debug switch (`DEBUG_LOGS`, the original app's `EnableDebug`): when on,
//! the function logs every incoming event and every rendered message, so a
//! user can see why an alert looks the way it does.
//!
//! Nothing here may carry a credential. The event and the message never hold
//! the webhook (it lives in the secret, read separately), but a plugin could
//! publish any text, a webhook URL included; so both go through [`scrub`],
//! which hides DingTalk access tokens, request signatures and signing
//! secrets wherever they appear.

use serde_json::Value;

use crate::message::Message;

/// The text with every `access_token=`/`sign=` value and every DingTalk
/// signing secret (`SEC` + 64 hex digits) replaced by `<redacted>`.
pub fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((pos, key_len)) = next_credential(rest) {
        out.push_str(&rest[..pos + key_len]);
        out.push_str("<redacted>");
        let value = &rest[pos + key_len..];
        let end = value
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '%' | '\\')))
            .unwrap_or(value.len());
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

/// Where the next credential value starts in `text`: (position, length of
/// the key before the value). A signing secret keeps its `SEC` prefix.
fn next_credential(text: &str) -> Option<(usize, usize)> {
    // A rendered message has the markdown-escaped form (`access\_token=`).
    let query = ["access_token=", "access\\_token=", "sign="]
        .iter()
        .filter_map(|k| find_key(text, k).map(|p| (p, k.len())))
        .min();
    let secret = signing_secret(text).map(|p| (p, 3));
    match (query, secret) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `key` where it starts a query parameter (not inside a longer name such
/// as `design=`).
fn find_key(text: &str, key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(key) {
        let at = from + i;
        let before = text[..at].chars().next_back();
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Some(at);
        }
        from = at + key.len();
    }
    None
}

/// A DingTalk signing secret: `SEC` followed by 64 hex digits.
fn signing_secret(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = text[from..].find("SEC") {
        let at = from + i;
        let hex = bytes[at + 3..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        if hex >= 64 {
            return Some(at);
        }
        from = at + 3;
    }
    None
}

/// One line per invocation: the event as Lambda handed it over.
pub fn incoming_event(request_id: &str, event: &Value) {
    tracing::info!(
        request_id,
        event = %scrub(&event.to_string()),
        "debug: incoming event"
    );
}

/// One line per alert: the message as rendered, before any summary or
/// keyword is added.
pub fn rendered_message(alert_id: &str, message: &Message) {
    tracing::info!(
        alert_id,
        title = %scrub(&message.title),
        text = %scrub(&message.text),
        "debug: rendered message"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_hides_tokens_signatures_and_signing_secrets() {
        let secret = format!("SEC{}", "a1".repeat(32));
        let text = format!(
            "see https://oapi.dingtalk.com/robot/send?access_token=tok-123_abc&timestamp=1&sign=aZ%2Bx%3D now; secret {secret}."
        );
        assert_eq!(
            scrub(&text),
            "see https://oapi.dingtalk.com/robot/send?access_token=<redacted>&timestamp=1&sign=<redacted> now; secret SEC<redacted>."
        );
    }

    #[test]
    fn scrub_hides_tokens_in_escaped_markdown() {
        assert_eq!(
            scrub(r"moved to http：//h/robot/send?access\_token=tok\_93a1&amp;sign=x now"),
            r"moved to http：//h/robot/send?access\_token=<redacted>&amp;sign=<redacted> now"
        );
    }

    #[test]
    fn scrub_leaves_ordinary_text_alone() {
        let text = "design=ok SECURITY group sg-1 \"access\": 告警 SEC123";
        assert_eq!(scrub(text), text);
    }
}
