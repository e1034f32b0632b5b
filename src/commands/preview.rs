//! `preview`: what the DingTalk group would get, with no AWS account, no
//! robot and no network. The messages come from the function's own library
//! (`format::render`, `format::digest::digest`, `dingtalk::request_body`),
//! so a preview is byte for byte what the deployed function posts.

use std::fmt;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use console::style;
use dingtalk_notifier_lambda::dingtalk::request_body;
use dingtalk_notifier_lambda::format::{digest::digest, render, FormatOptions, Rendered};
use dingtalk_notifier_lambda::message::Message;
use dingtalk_notifier_lambda::routing::{self, Decision, Facts, Mentions, DEFAULT_ROBOT};
use dingtalk_notifier_lambda::samples::{sample_event, SampleKind};
use dingtalk_notifier_lambda::secret::WebhookConfig;
use serde::Serialize;
use serde_json::Value;

use crate::config;
use crate::term::output::Ui;

const PREVIEW_AFTER_HELP: &str = "\
Examples:
  # Every sample alert, as the group sees it:
  dingtalk-notifier preview
  dingtalk-notifier preview --sample alarm
  # Any EventBridge event (or text) you have:
  dingtalk-notifier preview --event my-event.json
  # An alarm storm: 200 alerts in one batch:
  dingtalk-notifier preview --digest 200
  # The exact request body the robot receives:
  dingtalk-notifier preview --sample health --json
  # An SNS message as the group sees it:
  dingtalk-notifier preview --event note.txt --subject \"Budget alert\"

Needs no AWS account, no robot and no network.";

#[derive(Args, Debug, Clone)]
#[command(after_help = PREVIEW_AFTER_HELP)]
pub struct PreviewArgs {
    /// Sample alert: health, ec2, alarm, abuse, guardduty, cost-anomaly, ecs-task, backup,
    /// pipeline, spot, acm, securityhub, inspector, root-sign-in, ecr-scan, macie, malware,
    /// alarm-config, step-functions, or all
    #[arg(long, default_value = "all", value_parser = parse_samples, conflicts_with = "event")]
    pub sample: Samples,
    /// Preview this payload instead: an EventBridge event (JSON), an SNS notification
    /// (the JSON SNS delivers: Type, Message, Subject) or a Lambda SNS/SQS event, other JSON, or text
    #[arg(long, value_name = "FILE")]
    pub event: Option<PathBuf>,
    /// The SNS Subject the payload arrives with (overrides an envelope's), as a plain-text
    /// notification is titled by it
    #[arg(long, value_name = "TEXT")]
    pub subject: Option<String>,
    /// Show the digest the function sends when a batch holds N alerts (N >= 2)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=10_000))]
    pub digest: Option<u32>,
    /// IANA time zone for times in messages [default: Asia/Shanghai]
    #[arg(long, env = "DINGTALK_NOTIFIER_TIME_ZONE")]
    pub time_zone: Option<String>,
    /// The robot's custom keyword, added to messages that lack it, as the function does
    #[arg(long, env = "DINGTALK_KEYWORD")]
    pub keyword: Option<String>,
    /// Route by the `[robots]` and `[[routes]]` of this file [default: ./dingtalk-notifier.toml
    /// when it exists]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `--sample`: one kind or every kind.
#[derive(Debug, Clone)]
pub struct Samples(Vec<SampleKind>);

fn parse_samples(s: &str) -> Result<Samples, String> {
    if s.trim() == "all" {
        return Ok(Samples(SampleKind::ALL.to_vec()));
    }
    s.parse::<SampleKind>()
        .map(|k| Samples(vec![k]))
        .map_err(|e| format!("{e}, or all"))
}

/// One message the robot would receive, and what it was made from.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    /// `alarm`, `digest of 200 alerts, part 1/2`, or the event file's name.
    pub label: String,
    /// The robot the routes send it to (`default` without routes); not
    /// routed: a digest preview.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub robot: Option<String>,
    /// The JSON body posted to the webhook.
    pub body: Value,
}

/// What `preview` reports: every message, as JSON (`--json`: the request
/// bodies) or for people (the chat's view, then the markdown).
#[derive(Debug, Serialize)]
pub struct PreviewResult {
    pub messages: Vec<Preview>,
    /// Payloads a `drop = true` route took: no message.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<Dropped>,
}

/// A payload a route drops, and which route (1-based).
#[derive(Debug, Clone, Serialize)]
pub struct Dropped {
    pub label: String,
    pub route: usize,
}

impl fmt::Display for PreviewResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.messages.len();
        for (n, p) in self.messages.iter().enumerate() {
            if n > 0 {
                f.write_str("\n")?;
            }
            f.write_str(&show(p, n + 1, total))?;
        }
        for d in &self.dropped {
            writeln!(
                f,
                "{}: dropped by route {} (delivered nowhere)",
                d.label, d.route
            )?;
        }
        Ok(())
    }
}

pub fn run(ui: &Ui, args: &PreviewArgs) -> Result<PreviewResult> {
    if let Some(path) = &args.event {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Some(note) = json_note(&path.display().to_string(), &text) {
                ui.warn(note);
            }
        }
    }
    let routing = load_routing(args)?;
    let (messages, dropped) = build_routed(args, &routing)?;
    Ok(PreviewResult { messages, dropped })
}

/// The robots and routes `preview` routes by: `--config FILE`, else
/// `./dingtalk-notifier.toml` when it exists, else none (robot `default`).
#[derive(Debug, Default)]
pub struct Routing {
    routes: Vec<dingtalk_notifier_lambda::routing::Route>,
    keywords: std::collections::BTreeMap<String, String>,
}

fn load_routing(args: &PreviewArgs) -> Result<Routing> {
    let path = args.config.clone().unwrap_or_else(config::default_path);
    let file = match config::load(&path)? {
        Some(f) => f,
        None if args.config.is_some() => anyhow::bail!("--config {}: no such file", path.display()),
        None => return Ok(Routing::default()),
    };
    let routes =
        crate::routes::read(&file).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut keywords: std::collections::BTreeMap<String, String> = file
        .robots
        .iter()
        .filter_map(|(n, r)| r.keyword.clone().map(|k| (n.clone(), k)))
        .collect();
    if let Some(k) = file.deploy.keyword.clone() {
        keywords.entry(DEFAULT_ROBOT.to_string()).or_insert(k);
    }
    Ok(Routing { routes, keywords })
}

/// The messages routed: each with its robot, its robot's keyword and its
/// route's mentions; the dropped payloads apart. A digest is not routed.
pub fn build_routed(args: &PreviewArgs, routing: &Routing) -> Result<(Vec<Preview>, Vec<Dropped>)> {
    if args.digest.is_some() {
        return Ok((build(args)?, Vec::new()));
    }
    let opts = format_options(args.time_zone.as_deref())?;
    let mut messages = Vec::new();
    let mut dropped = Vec::new();
    for (label, payload, own) in payloads(args)? {
        let subject = args
            .subject
            .clone()
            .filter(|s| !s.trim().is_empty())
            .or(own);
        let rendered = render(&payload, subject.as_deref(), &opts);
        let facts = Facts::of(&payload, &rendered);
        match routing::decide(&routing.routes, &facts) {
            Decision::Drop { route } => dropped.push(Dropped { label, route }),
            Decision::Send {
                robot, mentions, ..
            } => {
                let keyword = args
                    .keyword
                    .clone()
                    .filter(|k| !k.trim().is_empty())
                    .or_else(|| routing.keywords.get(&robot).cloned());
                let cfg = webhook_cfg(keyword);
                messages.push(Preview {
                    body: request_body(&cfg, &rendered.message, &mentions.unwrap_or_default()),
                    label,
                    robot: Some(robot),
                });
            }
        }
    }
    Ok((messages, dropped))
}

fn webhook_cfg(keyword: Option<String>) -> WebhookConfig {
    WebhookConfig {
        webhook: String::new(),
        secret: None,
        at_mobiles: vec![],
        at_all_on: vec![],
        keyword: keyword.filter(|k| !k.trim().is_empty()),
    }
}

/// A file that looks like JSON but does not parse is shown as text, as the
/// function would show it; say so, and where the JSON breaks. serde_json's
/// syntax errors never quote the input.
fn json_note(name: &str, text: &str) -> Option<String> {
    let trimmed = text.trim_start();
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return None;
    }
    let err = serde_json::from_str::<Value>(text).err()?;
    let why = err.to_string();
    let why = why.split(" at line ").next().unwrap_or_default();
    Some(format!(
        "{name} is not valid JSON (line {}, column {}: {why}), shown as text",
        err.line(),
        err.column()
    ))
}

/// The messages for `args`, without printing: pure apart from reading `--event`.
pub fn build(args: &PreviewArgs) -> Result<Vec<Preview>> {
    let opts = format_options(args.time_zone.as_deref())?;
    let payloads = payloads(args)?;
    let subject = |own: &Option<String>| -> Option<String> {
        args.subject
            .clone()
            .filter(|s| !s.trim().is_empty())
            .or_else(|| own.clone())
    };
    let cfg = webhook_cfg(args.keyword.clone());
    let preview = |label: String, message: Message| Preview {
        body: request_body(&cfg, &message, &Mentions::default()),
        label,
        robot: None,
    };
    Ok(match args.digest {
        None => payloads
            .into_iter()
            .map(|(label, payload, own)| {
                let subject = subject(&own);
                preview(label, render(&payload, subject.as_deref(), &opts).message)
            })
            .collect(),
        Some(n) => {
            let alerts: Vec<Rendered> = payloads
                .iter()
                .cycle()
                .take(n as usize)
                .map(|(_, payload, own)| render(payload, subject(own).as_deref(), &opts))
                .collect();
            let parts = digest(&alerts, &opts);
            let count = parts.len();
            parts
                .into_iter()
                .enumerate()
                .map(|(i, part)| {
                    let label = if count > 1 {
                        format!("digest of {n} alerts, part {}/{count}", i + 1)
                    } else {
                        format!("digest of {n} alerts")
                    };
                    preview(label, part.message)
                })
                .collect()
        }
    })
}

/// Each payload with its label and the subject it came with: the event
/// file's records, or the samples.
fn payloads(args: &PreviewArgs) -> Result<Vec<(String, String, Option<String>)>> {
    Ok(match &args.event {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the event file {}", path.display()))?;
            unwrap_envelope(&text)
                .into_iter()
                .map(|(payload, subject)| (path.display().to_string(), payload, subject))
                .collect()
        }
        None => args
            .sample
            .0
            .iter()
            .map(|k| (k.to_string(), sample_event(*k).to_string(), None))
            .collect(),
    })
}

/// What the function would be handed for this file: the `Message` and
/// `Subject` of an SNS notification (the JSON SNS delivers to SQS or HTTP),
/// each record of a Lambda SNS or SQS event (the function's own envelope
/// parsing), or the file as the payload.
fn unwrap_envelope(text: &str) -> Vec<(String, Option<String>)> {
    let Ok(v) = serde_json::from_str::<Value>(text.trim()) else {
        return vec![(text.to_string(), None)];
    };
    let wrapped =
        v.get("Type").and_then(Value::as_str) == Some("Notification") && v.get("Message").is_some();
    if wrapped || v.get("Records").is_some() {
        // An SNS notification is what an SQS record's body holds.
        let event = if wrapped {
            serde_json::json!({"Records": [{"eventSource": "aws:sqs", "messageId": "preview", "body": v.to_string()}]})
        } else {
            v
        };
        let items = dingtalk_notifier_lambda::envelope::parse(&event, "preview").items;
        if !items.is_empty() {
            return items.into_iter().map(|i| (i.payload, i.subject)).collect();
        }
    }
    vec![(text.to_string(), None)]
}

fn format_options(time_zone: Option<&str>) -> Result<FormatOptions> {
    let mut opts = FormatOptions::default();
    if let Some(tz) = time_zone.map(str::trim).filter(|s| !s.is_empty()) {
        opts.time_zone = tz.parse().map_err(|_| {
            anyhow::anyhow!("invalid --time-zone `{tz}`: use an IANA name such as Asia/Shanghai")
        })?;
    }
    Ok(opts)
}

/// One preview for people: a header, the message as the chat shows it, then
/// the markdown DingTalk receives.
fn show(p: &Preview, n: usize, total: usize) -> String {
    let title = p.body["markdown"]["title"].as_str().unwrap_or_default();
    let text = p.body["markdown"]["text"].as_str().unwrap_or_default();
    let header = format!("── {n}/{total} · {} ", p.label);
    let rule = "─".repeat(60usize.saturating_sub(header.chars().count()));
    format!(
        "{}\n{} {title}\n\n{}\n\n{}\n{}\n",
        style(format!("{header}{rule}")).cyan().bold(),
        style("Notification:").dim(),
        terminal(text).trim_end(),
        style("Markdown sent to DingTalk:").dim(),
        text.trim_end(),
    )
}

/// DingTalk's markdown subset made readable in a terminal: headings and
/// `**bold**` in bold, links as `label <url>`, list items as bullets, quotes
/// with a bar, code blocks indented, rules as a line.
pub fn terminal(markdown: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        let shown = if in_code {
            format!("    {}", style(line).dim())
        } else if line.starts_with('#') {
            let heading = line.trim_start_matches('#').trim();
            style(inline(heading)).bold().to_string()
        } else if let Some(quote) = line.strip_prefix('>') {
            format!("  │ {}", inline(quote.trim_start()))
        } else if let Some(item) = line.strip_prefix("- ") {
            format!("  • {}", inline(item))
        } else if line.trim() == "---" {
            "─".repeat(40)
        } else {
            inline(line)
        };
        out.push_str(&shown);
        out.push('\n');
    }
    out
}

/// `**bold**` and `[label](url)` within one line.
fn inline(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while !rest.is_empty() {
        let bold = rest.find("**");
        let link = rest.find('[');
        match (bold, link) {
            (Some(b), l) if l.is_none_or(|l| b < l) => {
                if let Some(end) = rest[b + 2..].find("**") {
                    out.push_str(&rest[..b]);
                    let inner = &rest[b + 2..b + 2 + end];
                    out.push_str(&style(inline(inner)).bold().to_string());
                    rest = &rest[b + 2 + end + 2..];
                    continue;
                }
                out.push_str(rest);
                break;
            }
            (_, Some(l)) => match link_at(&rest[l..]) {
                Some((label, url, len)) => {
                    out.push_str(&rest[..l]);
                    out.push_str(&format!("{} <{}>", style(label).underlined(), url));
                    rest = &rest[l + len..];
                }
                None => {
                    out.push_str(&rest[..=l]);
                    rest = &rest[l + 1..];
                }
            },
            _ => {
                out.push_str(rest);
                break;
            }
        }
    }
    out
}

/// `[label](url)` at the start of `s`: (label, url, bytes taken).
fn link_at(s: &str) -> Option<(&str, &str, usize)> {
    let close = s.find("](")?;
    let label = &s[1..close];
    let end = s[close + 2..].find(')')?;
    let url = &s[close + 2..close + 2 + end];
    (!label.contains('[')).then_some((label, url, close + 2 + end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(sample: &str) -> PreviewArgs {
        PreviewArgs {
            sample: parse_samples(sample).unwrap(),
            event: None,
            digest: None,
            time_zone: None,
            keyword: None,
            subject: None,
            config: None,
        }
    }

    fn routing(toml: &str) -> Routing {
        let file = config::parse(toml).unwrap();
        Routing {
            routes: crate::routes::read(&file).unwrap(),
            keywords: file
                .robots
                .iter()
                .filter_map(|(n, r)| r.keyword.clone().map(|k| (n.clone(), k)))
                .collect(),
        }
    }

    /// Each message carries its robot, its robot's keyword and its route's
    /// people; a dropped payload says which route dropped it.
    #[test]
    fn messages_are_routed_as_the_function_routes_them() {
        let r = routing(
            "[robots.security]\nkeyword = \"告警\"\n\n[[routes]]\nsource = [\"aws.guardduty\"]\nrobot = \"security\"\nat_mobiles = [\"13800000000\"]\n\n[[routes]]\nsource = [\"aws.health\"]\ndrop = true\n",
        );
        let (gd, none) = build_routed(&args("guardduty"), &r).unwrap();
        assert!(none.is_empty());
        assert_eq!(gd[0].robot.as_deref(), Some("security"));
        assert_eq!(
            gd[0].body["at"],
            json!({"atMobiles": ["13800000000"], "isAtAll": false})
        );
        let title = gd[0].body["markdown"]["title"].as_str().unwrap();
        assert!(title.starts_with("【告警】"), "{title}");
        let (msgs, dropped) = build_routed(&args("health"), &r).unwrap();
        assert!(msgs.is_empty());
        assert_eq!(dropped[0].route, 2);
        assert_eq!(dropped[0].label, "health");
        let (alarm, _) = build_routed(&args("alarm"), &r).unwrap();
        assert_eq!(alarm[0].robot.as_deref(), Some("default"));
        let shown = PreviewResult {
            messages: vec![],
            dropped,
        }
        .to_string();
        assert_eq!(shown, "health: dropped by route 2 (delivered nowhere)\n");
    }

    #[test]
    fn broken_json_is_pointed_at() {
        assert_eq!(
            json_note("e.json", "{\n  \"a\": 1,\n  \"b\" 2\n}").as_deref(),
            Some("e.json is not valid JSON (line 3, column 7: expected `:`), shown as text")
        );
        assert_eq!(json_note("e.json", "{\"a\": 1}"), None);
        assert_eq!(json_note("note.txt", "disk full on web-1"), None);
    }

    #[test]
    fn an_sns_notification_is_previewed_with_its_subject() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notification.json");
        // The shape SNS delivers (Type, MessageId, Subject, Message, ...).
        let notification = json!({
            "Type": "Notification", "MessageId": "m-1",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
            "Subject": "AWS Budgets: monthly has exceeded your alert threshold",
            "Message": "AWS Budget Notification\nYou requested that we alert you.",
            "Timestamp": "2026-11-25T06:00:00.000Z"
        });
        std::fs::write(&path, notification.to_string()).unwrap();
        let mut a = args("all");
        a.event = Some(path.clone());
        let previews = build(&a).unwrap();
        assert_eq!(
            previews[0].body["markdown"],
            // AWS Budgets' text is known by its subject: the typed message.
            json!({
                "title": "🔵 AWS Budgets: monthly has exceeded your alert threshold",
                "text": "### 🔵 AWS Budgets: monthly has exceeded your alert threshold\n\nYou requested that we alert you.\n\n[在 AWS Budgets 中查看 Open in AWS Budgets](https://console.aws.amazon.com/billing/home#/budgets)\n"
            })
        );
        // --subject wins over the envelope's, and titles plain text.
        a.subject = Some("预算告警".into());
        let previews = build(&a).unwrap();
        assert_eq!(previews[0].body["markdown"]["title"], "🔵 预算告警");
        std::fs::write(&path, "disk almost full").unwrap();
        let previews = build(&a).unwrap();
        assert_eq!(
            previews[0].body["markdown"],
            json!({"title": "预算告警", "text": "### 📣 预算告警\n\ndisk almost full\n"})
        );
    }

    #[test]
    fn terminal_rendering_of_dingtalk_markdown() {
        let md = "### 🔴 ALARM: cpu\n\n- **账号 Account**: 123\n> quoted **bold**\n\n```json\n{\"a\": 1}\n```\n---\n[查看 Open](https://console.aws.amazon.com/x) and [x\n";
        assert_eq!(
            terminal(md),
            "🔴 ALARM: cpu\n\n  • 账号 Account: 123\n  │ quoted bold\n\n    {\"a\": 1}\n────────────────────────────────────────\n查看 Open <https://console.aws.amazon.com/x> and [x\n"
        );
    }

    #[test]
    fn a_sample_preview_is_what_the_function_posts() {
        let previews = build(&args("alarm")).unwrap();
        assert_eq!(previews.len(), 1);
        let rendered = render(
            sample_event(SampleKind::Alarm),
            None,
            &FormatOptions::default(),
        );
        assert_eq!(previews[0].label, "alarm");
        assert_eq!(
            previews[0].body,
            json!({
                "msgtype": "markdown",
                "markdown": {"title": rendered.message.title, "text": rendered.message.text},
                "at": {"atMobiles": [], "isAtAll": false}
            })
        );
    }

    #[test]
    fn all_samples_and_digests() {
        let labels: Vec<String> = build(&args("all"))
            .unwrap()
            .into_iter()
            .map(|p| p.label)
            .collect();
        assert_eq!(
            labels,
            [
                "health",
                "ec2",
                "alarm",
                "abuse",
                "guardduty",
                "cost-anomaly",
                "ecs-task",
                "backup",
                "pipeline",
                "spot",
                "acm",
                "securityhub",
                "inspector",
                "root-sign-in",
                "ecr-scan",
                "macie",
                "malware",
                "alarm-config",
                "step-functions"
            ]
        );
        let mut storm = args("all");
        storm.digest = Some(2);
        let parts = build(&storm).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].label, "digest of 2 alerts");
        assert!(parts[0].body["markdown"]["title"]
            .as_str()
            .unwrap()
            .starts_with("📋 2 条告警 alerts"));
    }

    #[test]
    fn keyword_and_time_zone_are_applied_and_checked() {
        let mut a = args("ec2");
        a.keyword = Some("告警".into());
        let p = &build(&a).unwrap()[0];
        assert!(p.body["markdown"]["title"]
            .as_str()
            .unwrap()
            .starts_with("【告警】 "));
        a.time_zone = Some("Mars/Olympus".into());
        assert_eq!(
            build(&a).unwrap_err().to_string(),
            "invalid --time-zone `Mars/Olympus`: use an IANA name such as Asia/Shanghai"
        );
    }
}
