//! AWS Health Abuse events: AWS received an abuse report about one of your
//! resources and expects action, usually within 24 hours, or it may restrict
//! the resource. The message says so up front.

use super::health::{entities, HealthDetail};
use super::{common_fields, EventEnvelope};
use crate::markdown::{links, Doc};
use crate::rendered::{AlertKind, FormatOptions, Rendered, Severity};

const DESCRIPTION_BYTES: usize = 4_000;

pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let d: HealthDetail = env.detail_as()?;
    let kind = abuse_type(&d.event_type_code);
    let mut doc = Doc::new(format!("🚨 滥用报告 Abuse report: {kind}"));
    doc.callout("需要处理 Action required: 请尽快调查并回复 AWS，否则资源可能被限制 (investigate and reply to AWS, or the resource may be restricted)");
    doc.field("事件 Event", &d.event_type_code);
    common_fields(&mut doc, env, opts);
    entities(&mut doc, &d.affected_entities, &env.resources);
    doc.paragraph(&crate::markdown::clip(d.description(), DESCRIPTION_BYTES));
    let region = if d.event_region.is_empty() {
        env.region.as_str()
    } else {
        d.event_region.as_str()
    };
    let link = if d.event_arn.is_empty() {
        links::health_dashboard(region)
    } else {
        links::health_event(&d.event_arn, region)
    };
    doc.link("在 AWS Health 控制台查看 Open in AWS Health", &link);
    Some(Rendered {
        message: doc.into_message(format!("🚨 AWS 滥用报告 Abuse: {kind}")),
        kind: AlertKind::HealthAbuse,
        source: env.source.clone(),
        event_id: Some(env.id.clone()).filter(|s| !s.is_empty()),
        state: Some(d.status_code.clone()).filter(|s| !s.is_empty()),
        severity: Severity::High,
        link: Some(link),
        context: None,
        test_id: None,
    })
}

/// `AWS_ABUSE_DOS_REPORT` → `DOS`.
fn abuse_type(code: &str) -> String {
    code.trim_start_matches("AWS_ABUSE_")
        .trim_end_matches("_REPORT")
        .replace('_', " ")
}
