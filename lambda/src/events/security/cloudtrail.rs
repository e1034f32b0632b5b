//! CloudTrail through EventBridge: console sign-ins and API calls. Who
//! (identity type, name, ARN), what (the call or the sign-in and its
//! result), from where (source IP, client). Any use of the root user is
//! flagged at the top and is at least high: AWS's own advice is to use it
//! almost never.

use serde::Deserialize;
use serde_json::Value;

use super::{finish, first, links, severity_label, text, Parts};
use crate::events::{common_fields, EventEnvelope};
use crate::markdown::{clip, time, Doc};
use crate::rendered::{FormatOptions, Rendered, Severity};

/// Request parameters shown, at most, as compact JSON.
const REQUEST_BYTES: usize = 300;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Record {
    user_identity: Value,
    event_time: String,
    event_source: String,
    event_name: String,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: String,
    user_agent: String,
    error_code: String,
    error_message: String,
    request_parameters: Value,
    response_elements: Value,
    additional_event_data: Value,
    #[serde(rename = "eventID")]
    event_id: String,
}

impl Record {
    fn is_root(&self) -> bool {
        text(&self.user_identity, "/type") == "Root"
    }

    /// `Root (arn:aws:iam::1:root)`, `IAMUser anaya (arn…)`, or for an
    /// assumed role the role session's ARN.
    fn who(&self) -> String {
        let u = &self.user_identity;
        let kind = text(u, "/type");
        let name = first(&[
            text(u, "/userName"),
            text(u, "/sessionContext/sessionIssuer/userName"),
            text(u, "/principalId"),
        ]);
        let arn = text(u, "/arn");
        let head = if kind == "Root" {
            "Root 根用户".to_string()
        } else {
            format!("{kind} {name}").trim().to_string()
        };
        if arn.is_empty() {
            head
        } else {
            format!("{head} ({arn})")
        }
    }

    /// The short name in a title: `root`, the user name, or the type.
    fn short_who(&self) -> &str {
        if self.is_root() {
            return "root";
        }
        let u = &self.user_identity;
        first(&[
            text(u, "/userName"),
            text(u, "/sessionContext/sessionIssuer/userName"),
            text(u, "/type"),
        ])
    }

    fn link(&self, env: &EventEnvelope) -> String {
        links::cloudtrail_event(&env.region, first(&[&self.event_id, &env.id]))
    }
}

/// The record's own time, when it is not the envelope's (EventBridge
/// stamps CloudTrail events with the call's time, so usually it is).
fn event_time(doc: &mut Doc, r: &Record, env: &EventEnvelope, opts: &FormatOptions) {
    let shown = time::show(&r.event_time, opts.time_zone);
    if shown != time::show(&env.time, opts.time_zone) {
        doc.field("事件时间 Event time", &shown);
    }
}

/// A root sign-in is high whatever its result (a failed one is someone
/// trying the root password); another failed sign-in is medium, one without
/// MFA low, the rest info.
fn sign_in_severity(r: &Record) -> Severity {
    let failed = text(&r.response_elements, "/ConsoleLogin") == "Failure";
    if r.is_root() {
        Severity::High
    } else if failed {
        Severity::Medium
    } else if text(&r.additional_event_data, "/MFAUsed") == "No" {
        Severity::Low
    } else {
        Severity::Info
    }
}

pub fn render_sign_in(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let r: Record = env.detail_as()?;
    let severity = sign_in_severity(&r);
    let result = first(&[text(&r.response_elements, "/ConsoleLogin"), &r.event_name]).to_string();
    let mfa = text(&r.additional_event_data, "/MFAUsed");
    let icon = severity.icon();
    let who = r.short_who().to_string();
    let mut doc = Doc::new(format!("{icon} 控制台登录 Console sign-in: {who}"));
    if r.is_root() {
        doc.callout("⚠️ 根用户登录 The root user signed in. If nobody on the team did this, treat the account's root credentials as compromised.");
    }
    let shown = match result.as_str() {
        "Success" => "✅ 成功 Success".to_string(),
        "Failure" if !r.error_message.is_empty() => {
            format!("❌ 失败 Failure ({})", r.error_message)
        }
        "Failure" => "❌ 失败 Failure".to_string(),
        other => other.to_string(),
    };
    doc.field("结果 Result", &shown);
    doc.field("严重性 Severity", &severity_label(severity));
    doc.field("用户 Who", &r.who());
    let mfa = match mfa {
        "Yes" => "✅ 是 Yes",
        "No" => "⚠️ 否 No",
        other => other,
    };
    doc.field("MFA", mfa);
    doc.field("来源 IP Source IP", &r.source_ip_address);
    doc.field("客户端 User agent", &r.user_agent);
    common_fields(&mut doc, env, opts);
    event_time(&mut doc, &r, env, opts);
    let link = r.link(env);
    doc.link("在 CloudTrail 中查看 Open in CloudTrail", &link);
    let root = if r.is_root() { "Root " } else { "" };
    Some(finish(
        env,
        doc,
        Parts {
            kind: "console_sign_in",
            title: format!(
                "{icon} {root}Console sign-in {result}: {who} from {}",
                r.source_ip_address
            ),
            state: Some(result.to_ascii_lowercase()).filter(|s| !s.is_empty()),
            severity,
            link: Some(link),
        },
    ))
}

/// Root is high; a refused call (an `errorCode`) medium, as it may be
/// someone probing; any other call the rule chose to deliver is low.
fn api_call_severity(r: &Record) -> Severity {
    if r.is_root() {
        Severity::High
    } else if !r.error_code.is_empty() {
        Severity::Medium
    } else {
        Severity::Low
    }
}

pub fn render_api_call(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let r: Record = env.detail_as()?;
    let severity = api_call_severity(&r);
    let icon = severity.icon();
    let service = r.event_source.trim_end_matches(".amazonaws.com");
    let call = format!("{service}:{}", r.event_name);
    let mut doc = Doc::new(format!("{icon} CloudTrail API 调用 Call: {call}"));
    if r.is_root() {
        doc.callout("⚠️ 根用户调用 The root user made this call. If nobody on the team did this, treat the account's root credentials as compromised.");
    }
    doc.field("操作 Action", &call);
    doc.field("严重性 Severity", &severity_label(severity));
    doc.field("调用者 Who", &r.who());
    let error = format!("{} {}", r.error_code, r.error_message);
    doc.field("错误 Error", error.trim());
    doc.field("来源 IP Source IP", &r.source_ip_address);
    doc.field("客户端 User agent", &r.user_agent);
    if !r.request_parameters.is_null() {
        let request = clip(&r.request_parameters.to_string(), REQUEST_BYTES);
        doc.field("请求参数 Request", &request);
    }
    common_fields(&mut doc, env, opts);
    event_time(&mut doc, &r, env, opts);
    let link = r.link(env);
    doc.link("在 CloudTrail 中查看 Open in CloudTrail", &link);
    let outcome = if r.error_code.is_empty() {
        String::new()
    } else {
        format!(" ({})", r.error_code)
    };
    Some(finish(
        env,
        doc,
        Parts {
            kind: "cloudtrail_api_call",
            title: format!(
                "{icon} CloudTrail: {} called {call}{outcome}",
                r.short_who()
            ),
            state: Some(
                if r.error_code.is_empty() {
                    "success"
                } else {
                    "error"
                }
                .into(),
            ),
            severity,
            link: Some(link),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(identity: Value, response: Value, extra: Value) -> Record {
        Record {
            user_identity: identity,
            response_elements: response,
            additional_event_data: extra,
            ..Record::default()
        }
    }

    #[test]
    fn root_sign_in_is_high_failure_medium_no_mfa_low() {
        let root = record(
            json!({"type": "Root"}),
            json!({"ConsoleLogin": "Success"}),
            json!({"MFAUsed": "Yes"}),
        );
        assert_eq!(sign_in_severity(&root), Severity::High);
        let failed = record(
            json!({"type": "IAMUser"}),
            json!({"ConsoleLogin": "Failure"}),
            json!({"MFAUsed": "Yes"}),
        );
        assert_eq!(sign_in_severity(&failed), Severity::Medium);
        let no_mfa = record(
            json!({"type": "IAMUser"}),
            json!({"ConsoleLogin": "Success"}),
            json!({"MFAUsed": "No"}),
        );
        assert_eq!(sign_in_severity(&no_mfa), Severity::Low);
        let fine = record(
            json!({"type": "IAMUser"}),
            json!({"ConsoleLogin": "Success"}),
            json!({"MFAUsed": "Yes"}),
        );
        assert_eq!(sign_in_severity(&fine), Severity::Info);
    }

    #[test]
    fn root_calls_are_high_refused_calls_medium() {
        let mut r = record(json!({"type": "Root"}), Value::Null, Value::Null);
        assert_eq!(api_call_severity(&r), Severity::High);
        r.user_identity = json!({"type": "AssumedRole"});
        assert_eq!(api_call_severity(&r), Severity::Low);
        r.error_code = "AccessDenied".into();
        assert_eq!(api_call_severity(&r), Severity::Medium);
    }
}
