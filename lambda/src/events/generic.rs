//! Any other EventBridge event: its envelope fields and its `detail`, so an
//! event we have no type for is still readable and still pages when it
//! should. The `detail` is an indented field list (DingTalk's markdown has
//! no code fences), in the event's own order but with the fields that say
//! what happened first: state, status, severity, result, reason, cause,
//! message, error. A severity is read from the event's own words (a
//! `status` of FAILED, a `severity` of HIGH), so mention rules can fire.

use super::{common_fields, EventEnvelope};
use crate::markdown::{Doc, Ordered, GENERIC_BODY_BYTES};
use crate::rendered::{AlertKind, FormatOptions, Rendered, Severity};

/// The longest resource name a title carries.
const MAX_TITLE_RESOURCE: usize = 80;

pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Rendered {
    let detail = env
        .detail_in_order
        .clone()
        .unwrap_or_else(|| Ordered::from_value(&env.detail));
    let verdict = Verdict::of(&detail);
    let icon = verdict.icon();
    let mut doc = Doc::new(format!("{icon} {}", env.detail_type));
    doc.field("来源 Source", &env.source);
    common_fields(&mut doc, env, opts);
    if !env.resources.is_empty() {
        doc.field("资源 Resources", &env.resources.join(", "));
    }
    doc.subheading("详情 Detail");
    doc.json(
        &headline_first(detail.clone()),
        GENERIC_BODY_BYTES,
        opts.time_zone,
    );
    let title = title(
        icon,
        &env.detail_type,
        verdict.state.as_deref(),
        resource_name(env, &detail).as_deref(),
    );
    Rendered {
        message: doc.into_message(title),
        kind: AlertKind::Generic,
        source: env.source.clone(),
        event_id: Some(env.id.clone()).filter(|s| !s.is_empty()),
        state: verdict.state,
        severity: verdict.severity,
        link: None,
        context: None,
        test_id: None,
    }
}

/// `🟠 Step Functions Execution Status Change FAILED: execution:sm:run-1`.
/// The detail-type is used as AWS wrote it, so `AWS API Call via
/// CloudTrail` is never `AWS AWS …`.
fn title(icon: &str, detail_type: &str, state: Option<&str>, resource: Option<&str>) -> String {
    let mut title = format!("{icon} {}", detail_type.trim());
    if let Some(state) = state {
        title.push_str(&format!(" {state}"));
    }
    if let Some(resource) = resource {
        title.push_str(&format!(": {resource}"));
    }
    title
}

/// What the event says about itself: its worst state-like word and the
/// severity it maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Verdict {
    state: Option<String>,
    severity: Severity,
    success: bool,
}

impl Verdict {
    fn of(detail: &Ordered) -> Verdict {
        let mut verdict = Verdict {
            state: None,
            severity: Severity::Info,
            success: false,
        };
        let Ordered::Object(entries) = detail else {
            return verdict;
        };
        for (key, value) in entries {
            let word = last_word(key);
            if !matches!(word.as_str(), "state" | "status" | "severity" | "result") {
                continue;
            }
            let (shown, severity) = match value {
                Ordered::Scalar(serde_json::Value::String(s)) if !s.trim().is_empty() => {
                    (s.trim().to_string(), word_severity(s))
                }
                Ordered::Scalar(serde_json::Value::Number(n)) if word == "severity" => (
                    n.to_string(),
                    n.as_f64().map_or(Severity::Info, score_severity),
                ),
                _ => continue,
            };
            if verdict.state.is_none() || severity > verdict.severity {
                verdict.success = severity == Severity::Info && is_success(&shown);
                verdict.state = Some(shown);
                verdict.severity = severity;
            }
        }
        verdict
    }

    fn icon(&self) -> &'static str {
        match self.severity {
            Severity::Info if self.success => "✅",
            Severity::Info => "📣",
            other => other.icon(),
        }
    }
}

/// A state or severity word on the one scale: failures and timeouts are
/// high (a job that did not do its work), aborted or expired work and
/// warnings medium, anything else (running, stopped, succeeded) info.
fn word_severity(word: &str) -> Severity {
    let w = word.trim().to_ascii_uppercase().replace(['-', ' '], "_");
    if let Ok(sev) = w.parse::<Severity>() {
        return sev;
    }
    match w.as_str() {
        "FAILED" | "FAILURE" | "FAIL" | "ERROR" | "ERRORED" | "FAULT" | "TIMED_OUT"
        | "TIMEDOUT" | "TIMEOUT" | "UNHEALTHY" | "IMPAIRED" | "ALARM" => Severity::High,
        "ABORTED" | "CANCELLED" | "CANCELED" | "EXPIRED" | "DEGRADED" | "WARNING" | "WARN"
        | "NON_COMPLIANT" | "PARTIAL" | "PARTIALLY_FAILED" => Severity::Medium,
        _ => Severity::Info,
    }
}

/// A 0–10 score (GuardDuty's scale, which several services share); a score
/// above 10 is read on a 0–100 scale (Security Hub's `Normalized`).
fn score_severity(score: f64) -> Severity {
    let score = if score > 10.0 { score / 10.0 } else { score };
    match score {
        s if s >= 9.0 => Severity::Critical,
        s if s >= 7.0 => Severity::High,
        s if s >= 4.0 => Severity::Medium,
        s if s >= 1.0 => Severity::Low,
        _ => Severity::Info,
    }
}

fn is_success(word: &str) -> bool {
    matches!(
        word.trim().to_ascii_uppercase().as_str(),
        "SUCCEEDED" | "SUCCESS" | "SUCCESSFUL" | "COMPLETED" | "PASSED" | "OK"
    )
}

/// The last word of `stoppedReason`, `build-status`, `snapshot_id`,
/// lowercased.
fn last_word(key: &str) -> String {
    let mut word = String::new();
    for c in key.chars() {
        if c == '-' || c == '_' || c == ' ' || c == '.' {
            word.clear();
        } else if c.is_uppercase() && !word.is_empty() {
            word.clear();
            word.extend(c.to_lowercase());
        } else {
            word.extend(c.to_lowercase());
        }
    }
    word
}

/// Whether a detail field says what happened, and so is listed first.
fn is_headline(key: &str) -> bool {
    matches!(
        last_word(key).as_str(),
        "state" | "status" | "severity" | "result" | "reason" | "cause" | "message" | "error"
    ) || matches!(key, "stopCode" | "errorCode" | "exitCode")
}

/// The detail with its headline fields moved to the top, each group in the
/// event's own order.
fn headline_first(detail: Ordered) -> Ordered {
    match detail {
        Ordered::Object(entries) => {
            let (mut first, rest): (Vec<_>, Vec<_>) =
                entries.into_iter().partition(|(k, _)| is_headline(k));
            first.extend(rest);
            Ordered::Object(first)
        }
        other => other,
    }
}

/// The resource a title names: the first resource ARN's resource part
/// (`task/cluster/id`, `execution:machine:run`, a bucket), else the detail's
/// first `…name` field.
fn resource_name(env: &EventEnvelope, detail: &Ordered) -> Option<String> {
    let from_arn = env
        .resources
        .iter()
        .map(|r| r.trim())
        .find(|r| !r.is_empty())
        .map(|r| {
            if r.starts_with("arn:") {
                r.splitn(6, ':').nth(5).unwrap_or(r).to_string()
            } else {
                r.to_string()
            }
        });
    let from_detail = || match detail {
        Ordered::Object(entries) => entries
            .iter()
            .find(|(k, v)| {
                last_word(k) == "name" && v.as_str().is_some_and(|s| !s.trim().is_empty())
            })
            .and_then(|(_, v)| v.as_str().map(str::to_string)),
        _ => None,
    };
    let name = from_arn.filter(|s| !s.is_empty()).or_else(from_detail)?;
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(match name.char_indices().nth(MAX_TITLE_RESOURCE) {
        Some((cut, _)) => format!("{}…", &name[..cut]),
        None => name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_is_never_doubled() {
        assert_eq!(
            title("📣", "AWS API Call via CloudTrail", None, Some("x")),
            "📣 AWS API Call via CloudTrail: x"
        );
        assert_eq!(
            title("🟠", "EBS Snapshot Notification", Some("failed"), None),
            "🟠 EBS Snapshot Notification failed"
        );
    }

    #[test]
    fn the_worst_own_word_sets_severity_and_state() {
        let d = |s: &str| Verdict::of(&Ordered::parse(s).unwrap());
        let v = d(
            r#"{"lastStatus": "STOPPED", "healthStatus": "UNHEALTHY", "stateMachineArn": "FAILED"}"#,
        );
        assert_eq!(
            (v.state.as_deref(), v.severity),
            (Some("UNHEALTHY"), Severity::High)
        );
        let v = d(r#"{"status": "ABORTED"}"#);
        assert_eq!(v.severity, Severity::Medium);
        let v = d(r#"{"severity": "CRITICAL", "status": "FAILED"}"#);
        assert_eq!(
            (v.state.as_deref(), v.severity),
            (Some("CRITICAL"), Severity::Critical)
        );
        let v = d(r#"{"severity": 5.5}"#);
        assert_eq!(v.severity, Severity::Medium);
        let v = d(r#"{"severity": 90}"#);
        assert_eq!(v.severity, Severity::Critical);
        let v = d(r#"{"build-status": "SUCCEEDED"}"#);
        assert_eq!((v.icon(), v.severity), ("✅", Severity::Info));
        let v = d(r#"{"state": {"value": "ALARM"}}"#);
        assert_eq!((v.state.as_deref(), v.icon()), (None, "📣"));
    }

    #[test]
    fn headline_fields_come_first_in_their_own_order() {
        let o = headline_first(
            Ordered::parse(
                r#"{"a": 1, "stoppedReason": "x", "b": 2, "lastStatus": "S", "stopCode": "E"}"#,
            )
            .unwrap(),
        );
        let Ordered::Object(entries) = o else {
            panic!()
        };
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["stoppedReason", "lastStatus", "stopCode", "a", "b"]);
        assert_eq!(last_word("completed-phase-status"), "status");
        assert_eq!(last_word("stateMachineArn"), "arn");
    }
}
