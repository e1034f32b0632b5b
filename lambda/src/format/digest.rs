//! One DingTalk message for many alerts.
//!
//! A robot takes about 20 messages a minute. When a batch from the alert
//! buffer holds several alerts, they go out as a digest: one line per alert
//! (its title, region and time, and the console link), grouped by severity
//! and type so the worst news is on top. A digest that would not fit in one
//! message is split into parts, each naming the alerts it carries, so the
//! handler can report exactly which alerts were not delivered.

use std::collections::BTreeMap;

use super::{AlertKind, FormatOptions, Rendered, Severity};
use crate::markdown::escape::{line_start, link_target, text};
use crate::message::{json_len, Message, MAX_TEXT_BYTES};

/// Longest single line; a pathological title cannot crowd out the others.
const MAX_LINE_BYTES: usize = 600;

/// A digest's label for a severity: its icon and its name in both languages.
fn label(sev: Severity) -> String {
    let name = match sev {
        Severity::Critical => "严重 Critical",
        Severity::High => "高 High",
        Severity::Medium => "中 Medium",
        Severity::Low => "低 Low",
        Severity::Info => "信息 Info",
    };
    format!("{} {name}", sev.icon())
}

/// Worst first: the order groups are listed and counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank(std::cmp::Reverse<Severity>);

impl Rank {
    fn of(alert: &Rendered) -> Rank {
        Rank(std::cmp::Reverse(alert.severity))
    }

    fn severity(self) -> Severity {
        self.0 .0
    }
}

fn kind_label(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::Health => "AWS Health",
        AlertKind::HealthAbuse => "AWS 滥用报告 Abuse",
        AlertKind::Ec2StateChange => "EC2 状态变更 State change",
        AlertKind::AlarmStateChange => "CloudWatch 告警 Alarm",
        AlertKind::GuardDutyFinding => "GuardDuty",
        AlertKind::CostAnomaly => "成本异常 Cost anomaly",
        AlertKind::Generic | AlertKind::Text => "其他 Other",
        AlertKind::Typed(kind) => kind,
    }
}

/// One digest message and the indices (into the slice given to [`digest`])
/// of the alerts it lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestPart {
    pub message: Message,
    pub members: Vec<usize>,
}

/// The line an alert gets in a digest. A title is plain text (the chat
/// list shows it as it is) and holds data, so here it is escaped.
pub fn line(alert: &Rendered) -> String {
    let mut line = format!("- {}", line_start(&one_line(&alert.message.title)));
    if let Some(context) = &alert.context {
        line.push_str(&format!(" · {}", text(&one_line(context))));
    }
    if line.len() > MAX_LINE_BYTES {
        let mut cut = MAX_LINE_BYTES;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push('…');
    }
    if let Some(link) = alert.link.as_deref().and_then(link_target) {
        line.push_str(&format!(" · [查看 Open]({link})"));
    }
    line.push('\n');
    line
}

/// The digest for `alerts` (at least one), in as many parts as it takes to
/// keep each under DingTalk's size limit.
pub fn digest(alerts: &[Rendered], opts: &FormatOptions) -> Vec<DigestPart> {
    let groups = group(alerts);
    let mut counts: BTreeMap<Rank, usize> = BTreeMap::new();
    for ((sev, _), indices) in &groups {
        *counts.entry(*sev).or_default() += indices.len();
    }
    let joined = |show: fn(Severity, usize) -> String, sep: &str| {
        counts
            .iter()
            .map(|(rank, n)| show(rank.severity(), *n))
            .collect::<Vec<_>>()
            .join(sep)
    };
    let header = Header {
        total: alerts.len(),
        summary: joined(|sev, n| format!("{} {n}", label(sev)), " · "),
        short_counts: joined(|sev, n| format!("{} {n}", sev.icon()), " "),
        zone: opts.time_zone.name(),
    };
    let parts = pack(alerts, &groups);
    let count = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(n, (body, members))| header.part(n, count, &body, members))
        .collect()
}

/// The alerts' indices by severity, then kind: the order a digest lists them.
fn group(alerts: &[Rendered]) -> BTreeMap<(Rank, &'static str), Vec<usize>> {
    let mut groups: BTreeMap<(Rank, &'static str), Vec<usize>> = BTreeMap::new();
    for (i, alert) in alerts.iter().enumerate() {
        groups
            .entry((Rank::of(alert), kind_label(alert.kind)))
            .or_default()
            .push(i);
    }
    groups
}

/// Packs the groups into parts (body, members); a group that spills over
/// continues in the next part under the same heading. Sizes are counted as
/// they will be in the request's JSON (escapes included), so no part is cut
/// on the way out.
fn pack(
    alerts: &[Rendered],
    groups: &BTreeMap<(Rank, &'static str), Vec<usize>>,
) -> Vec<(String, Vec<usize>)> {
    let header_budget = 400;
    let budget = MAX_TEXT_BYTES.saturating_sub(header_budget);
    let mut parts: Vec<(String, Vec<usize>)> = Vec::new();
    let mut body = String::new();
    let mut body_len = 0;
    let mut members = Vec::new();
    for ((rank, kind), indices) in groups {
        let heading = |cont: bool| {
            let cont = if cont { " (续 cont.)" } else { "" };
            let sev = label(rank.severity());
            format!("**{sev} · {kind} ({}){cont}**\n\n", indices.len())
        };
        let mut pending_heading = Some(heading(false));
        for (line, same) in collapse(alerts, indices) {
            let head_len = pending_heading.as_deref().map_or(0, json_len);
            if !members.is_empty() && body_len + head_len + json_len(&line) + 2 > budget {
                parts.push((std::mem::take(&mut body), std::mem::take(&mut members)));
                body_len = 0;
                pending_heading = Some(heading(pending_heading.is_none()));
            }
            if let Some(h) = pending_heading.take() {
                if !body.is_empty() {
                    body.push('\n');
                    body_len += 2;
                }
                body_len += json_len(&h);
                body.push_str(&h);
            }
            body_len += json_len(&line);
            body.push_str(&line);
            members.extend(same);
        }
    }
    if !members.is_empty() {
        parts.push((body, members));
    }
    parts
}

/// The group's lines, each distinct one once (in first-seen order) with
/// the alerts it stands for: `×N` ends a line N alerts share, so a storm of
/// one alarm is a line, not a page of repeats.
fn collapse(alerts: &[Rendered], indices: &[usize]) -> Vec<(String, Vec<usize>)> {
    let mut lines: Vec<(String, Vec<usize>)> = Vec::new();
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    for &i in indices {
        let text = line(&alerts[i]);
        match seen.get(&text) {
            Some(&at) => lines[at].1.push(i),
            None => {
                seen.insert(text.clone(), lines.len());
                lines.push((text, vec![i]));
            }
        }
    }
    for (text, same) in &mut lines {
        if same.len() > 1 {
            text.pop();
            text.push_str(&format!(" ×{}\n", same.len()));
        }
    }
    lines
}

/// What every part of one digest repeats: the totals and the time zone.
struct Header {
    total: usize,
    summary: String,
    short_counts: String,
    zone: &'static str,
}

impl Header {
    fn part(&self, n: usize, count: usize, body: &str, members: Vec<usize>) -> DigestPart {
        let Header {
            total,
            summary,
            short_counts,
            zone,
        } = self;
        let (part, shown) = match count > 1 {
            true => (
                format!(" ({}/{count})", n + 1),
                format!(
                    "，本条 {} 条 this part lists {}",
                    members.len(),
                    members.len()
                ),
            ),
            false => (String::new(), String::new()),
        };
        let text = format!(
            "### 📋 告警汇总 Alert digest{part}: {total} 条 alerts\n\n> {summary}{shown}\n\n{body}\n时间 Times: {zone}\n"
        );
        DigestPart {
            message: Message::new(
                format!("📋 {total} 条告警 alerts{part}: {short_counts}"),
                text,
            )
            .fit(MAX_TEXT_BYTES),
            members,
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::render;

    fn alarm(name: &str, state: &str) -> String {
        serde_json::json!({
            "version": "0", "id": format!("id-{name}"),
            "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
            "account": "123456789012", "time": "2026-11-25T02:00:00Z", "region": "us-east-1",
            "resources": [format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}")],
            "detail": {
                "alarmName": name,
                "state": {"value": state, "reason": "r", "timestamp": "2026-11-25T02:00:00.000+0000"},
                "previousState": {"value": "OK", "reason": "p", "timestamp": "2026-11-25T01:00:00.000+0000"},
                "configuration": {"metrics": []}
            }
        })
        .to_string()
    }

    fn rendered(payloads: &[String]) -> Vec<Rendered> {
        payloads
            .iter()
            .map(|p| render(p, None, &FormatOptions::default()))
            .collect()
    }

    #[test]
    fn groups_by_severity_then_type() {
        let alerts = rendered(&[
            alarm("disk-ok", "OK"),
            "plain text from a plugin".to_string(),
            alarm("cpu-high", "ALARM"),
        ]);
        let parts = digest(&alerts, &FormatOptions::default());
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].members, vec![2, 0, 1]);
        assert_eq!(parts[0].message.title, "📋 3 条告警 alerts: 🟠 1 ℹ️ 2");
        assert_eq!(
            parts[0].message.text,
            "### 📋 告警汇总 Alert digest: 3 条 alerts\n\n\
             > 🟠 高 High 1 · ℹ️ 信息 Info 2\n\n\
             **🟠 高 High · CloudWatch 告警 Alarm (1)**\n\n\
             - 🔴 ALARM: cpu-high · us-east-1 · 11-25 10:00:00 · [查看 Open](https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/cpu-high)\n\n\
             **ℹ️ 信息 Info · CloudWatch 告警 Alarm (1)**\n\n\
             - ✅ OK: disk-ok · us-east-1 · 11-25 10:00:00 · [查看 Open](https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/disk-ok)\n\n\
             **ℹ️ 信息 Info · 其他 Other (1)**\n\n\
             - AWS 通知 Notification · plain text from a plugin\n\n\
             时间 Times: Asia/Shanghai\n"
        );
    }

    #[test]
    fn guardduty_levels_and_cost_anomalies_have_their_severity() {
        let finding = |severity: f64, id: &str| {
            serde_json::json!({
                "id": id, "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
                "account": "123456789012", "time": "2026-11-25T02:00:00Z", "region": "us-east-1",
                "detail": {"id": id, "type": "Recon:EC2/Portscan", "severity": severity, "title": id}
            })
            .to_string()
        };
        let cost = include_str!("../../tests/fixtures/cost_anomaly_sns.json").to_string();
        let alerts = rendered(&[
            finding(2.0, "low"),
            cost,
            finding(5.0, "medium"),
            finding(9.5, "critical"),
        ]);
        let parts = digest(&alerts, &FormatOptions::default());
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].members, vec![3, 2, 1, 0]);
        assert_eq!(parts[0].message.title, "📋 4 条告警 alerts: 🔴 1 🟡 2 🔵 1");
        assert_eq!(
            parts[0].message.text,
            "### 📋 告警汇总 Alert digest: 4 条 alerts\n\n\
             > 🔴 严重 Critical 1 · 🟡 中 Medium 2 · 🔵 低 Low 1\n\n\
             **🔴 严重 Critical · GuardDuty (1)**\n\n\
             - 🔴 GuardDuty CRITICAL: critical · us-east-1 · 11-25 10:00:00 · [查看 Open](https://console.aws.amazon.com/guardduty/home?region=us-east-1#/findings?search=id%3Dcritical)\n\n\
             **🟡 中 Medium · GuardDuty (1)**\n\n\
             - 🟡 GuardDuty MEDIUM: medium · us-east-1 · 11-25 10:00:00 · [查看 Open](https://console.aws.amazon.com/guardduty/home?region=us-east-1#/findings?search=id%3Dmedium)\n\n\
             **🟡 中 Medium · 成本异常 Cost anomaly (1)**\n\n\
             - 💰 AWS 成本异常 Cost anomaly: ServiceName +$1001.00 · 2021-05-25 · [查看 Open](https://console.aws.amazon.com/cost-management/home#/anomaly-detection/monitors/abcdef12-1234-4ea0-84cc-918a97d736ef/anomalies/12345678-abcd-ef12-3456-987654321a12)\n\n\
             **🔵 低 Low · GuardDuty (1)**\n\n\
             - 🔵 GuardDuty LOW: low · us-east-1 · 11-25 10:00:00 · [查看 Open](https://console.aws.amazon.com/guardduty/home?region=us-east-1#/findings?search=id%3Dlow)\n\n\
             时间 Times: Asia/Shanghai\n"
        );
    }

    #[test]
    fn identical_lines_are_one_line_with_a_count() {
        let alerts = rendered(&[
            alarm("cpu-high", "ALARM"),
            alarm("disk-full", "ALARM"),
            alarm("cpu-high", "ALARM"),
            alarm("cpu-high", "ALARM"),
        ]);
        let parts = digest(&alerts, &FormatOptions::default());
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].members, vec![0, 2, 3, 1]);
        assert_eq!(
            parts[0].message.text,
            "### 📋 告警汇总 Alert digest: 4 条 alerts\n\n\
             > 🟠 高 High 4\n\n\
             **🟠 高 High · CloudWatch 告警 Alarm (4)**\n\n\
             - 🔴 ALARM: cpu-high · us-east-1 · 11-25 10:00:00 · [查看 Open](https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/cpu-high) ×3\n\
             - 🔴 ALARM: disk-full · us-east-1 · 11-25 10:00:00 · [查看 Open](https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/disk-full)\n\n\
             时间 Times: Asia/Shanghai\n"
        );
    }

    #[test]
    fn a_long_digest_is_split_and_every_alert_listed_once() {
        let payloads: Vec<String> = (0..400)
            .map(|i| alarm(&format!("storm-{i:03}-{}", "x".repeat(60)), "ALARM"))
            .collect();
        let alerts = rendered(&payloads);
        let parts = digest(&alerts, &FormatOptions::default());
        assert!(parts.len() > 1, "{} parts", parts.len());
        let mut seen: Vec<usize> = parts.iter().flat_map(|p| p.members.clone()).collect();
        seen.sort();
        assert_eq!(seen, (0..400).collect::<Vec<_>>());
        for (n, part) in parts.iter().enumerate() {
            assert!(json_len(&part.message.text) <= MAX_TEXT_BYTES);
            assert!(!part.message.text.contains("truncated"));
            assert!(part
                .message
                .title
                .ends_with(&format!("({}/{}): 🟠 400", n + 1, parts.len())));
            for &i in &part.members {
                let name = format!("storm-{i:03}-");
                assert_eq!(part.message.text.matches(&name).count(), 2, "{name}");
            }
        }
        assert!(parts[1]
            .message
            .text
            .contains("**🟠 高 High · CloudWatch 告警 Alarm (400) (续 cont.)**"));
    }
}
