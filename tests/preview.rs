//! `preview`: what the DingTalk group would get, from the real binary with no
//! AWS settings at all and no network.

use crate::common;

use common::{cli, text};
use dingtalk_notifier_lambda::dingtalk::request_body;
use dingtalk_notifier_lambda::format::{render, FormatOptions};
use dingtalk_notifier_lambda::samples::{sample_event, SampleKind};
use dingtalk_notifier_lambda::secret::WebhookConfig;
use serde_json::{json, Value};

const EC2_PREVIEW: &str = "\
── 1/1 · ec2 ───────────────────────────────────────────────
Notification: 🔴 EC2 i-1234567890abcdef0 stopped

🔴 EC2 实例状态变更 Instance state change

  • 实例 Instance: i-1234567890abcdef0
  • 状态 State: 🔴 stopped
  • 账号 Account: 123456789012
  • 区域 Region: ap-southeast-1
  • 时间 Time: 2026-11-25 12:30:00 (Asia/Shanghai)

在 EC2 控制台查看 Open in EC2 console <https://ap-southeast-1.console.aws.amazon.com/ec2/home?region=ap-southeast-1#InstanceDetails:instanceId=i-1234567890abcdef0>

Markdown sent to DingTalk:
### 🔴 EC2 实例状态变更 Instance state change

- **实例 Instance**: i-1234567890abcdef0
- **状态 State**: 🔴 stopped
- **账号 Account**: 123456789012
- **区域 Region**: ap-southeast-1
- **时间 Time**: 2026-11-25 12:30:00 (Asia/Shanghai)

[在 EC2 控制台查看 Open in EC2 console](https://ap-southeast-1.console.aws.amazon.com/ec2/home?region=ap-southeast-1#InstanceDetails:instanceId=i-1234567890abcdef0)
";

#[test]
fn a_sample_preview_shows_the_chat_view_and_the_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(dir.path(), &["preview", "--sample", "ec2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), EC2_PREVIEW);
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn json_is_the_exact_request_body_the_function_posts() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(dir.path(), &["preview", "--sample", "alarm", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rendered = render(
        sample_event(SampleKind::Alarm),
        None,
        &FormatOptions::default(),
    );
    let cfg = WebhookConfig::parse("https://oapi.dingtalk.com/robot/send?access_token=x").unwrap();
    assert_eq!(
        doc,
        json!({"messages": [{"label": "alarm", "robot": "default", "body": request_body(&cfg, &rendered.message, &Default::default())}]})
    );
}

#[test]
fn an_event_file_and_a_digest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("note.txt"), "disk almost full on db-1\n").unwrap();
    let out = cli(dir.path(), &["preview", "--event", "note.txt", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["messages"][0]["body"]["markdown"],
        json!({"title": "AWS 通知 Notification", "text": "### 📣 AWS 通知 Notification\n\ndisk almost full on db-1\n"})
    );

    let out = cli(
        dir.path(),
        &["preview", "--digest", "5", "--keyword", "ops"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.starts_with("── 1/1 · digest of 5 alerts ─"),
        "{shown}"
    );
    assert!(
        shown.contains("\nNotification: 【ops】 📋 5 条告警 alerts: 🟠 3 🟡 1 🔵 1\n"),
        "{shown}"
    );

    let out = cli(dir.path(), &["preview", "--event", "missing.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: reading the event file missing.json: No such file or directory (os error 2)\n"
    );
}
