//! Any other EventBridge event: its envelope fields and its `detail`, so an
//! event we have no type for is still readable. The `detail` is an indented
//! field list, not a code block: DingTalk's markdown has no code fences.

use super::{common_fields, EventEnvelope};
use crate::markdown::{Doc, GENERIC_BODY_BYTES};
use crate::rendered::{AlertKind, FormatOptions, Rendered, Severity};

pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Rendered {
    let mut doc = Doc::new(format!("📣 {}", env.detail_type));
    doc.field("来源 Source", &env.source);
    doc.field("类型 Type", &env.detail_type);
    common_fields(&mut doc, env, opts);
    if !env.resources.is_empty() {
        doc.field("资源 Resources", &env.resources.join(", "));
    }
    doc.subheading("详情 Detail");
    doc.json(&env.detail, GENERIC_BODY_BYTES);
    Rendered {
        message: doc.into_message(title(&env.detail_type)),
        kind: AlertKind::Generic,
        source: env.source.clone(),
        event_id: Some(env.id.clone()).filter(|s| !s.is_empty()),
        state: None,
        severity: Severity::Info,
        link: None,
        context: None,
        test_id: None,
    }
}

/// `AWS <detail-type>`, without doubling a type that already starts with
/// AWS (`AWS API Call via CloudTrail`).
fn title(detail_type: &str) -> String {
    if detail_type.starts_with("AWS ") {
        detail_type.to_string()
    } else {
        format!("AWS {detail_type}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn aws_is_never_doubled() {
        assert_eq!(
            super::title("AWS API Call via CloudTrail"),
            "AWS API Call via CloudTrail"
        );
        assert_eq!(
            super::title("EBS Snapshot Notification"),
            "AWS EBS Snapshot Notification"
        );
    }
}
