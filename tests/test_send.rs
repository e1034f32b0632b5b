//! `test-send`: the real binary posting to a local DingTalk robot that checks
//! signatures and keywords, and the SNS path through moto.

use std::path::Path;
use std::process::{Command, Output};

use dingtalk_notifier_lambda::dingtalk::request_body;
use dingtalk_notifier_lambda::format::{render, FormatOptions};
use dingtalk_notifier_lambda::samples::{sample_event, SampleKind};
use dingtalk_notifier_lambda::secret::WebhookConfig;
use testkit::{DingTalkOptions, DingTalkServer};

const TOKEN: &str = "ts-token-8d1e2f";
const SIGNING: &str = "SEC0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const SUBJECT: &str = "dingtalk-notifier test-send";

fn cli(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dingtalk-notifier"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .stdin(std::process::Stdio::null());
    cmd
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn assert_no_secrets(out: &Output) {
    for stream in [text(&out.stdout), text(&out.stderr)] {
        assert!(!stream.contains(TOKEN), "token leaked: {stream}");
        assert!(!stream.contains(SIGNING), "signing secret leaked: {stream}");
    }
}

fn robot(keyword: &str) -> DingTalkServer {
    DingTalkServer::start(DingTalkOptions {
        access_token: TOKEN.into(),
        secret: Some(SIGNING.into()),
        keywords: vec![keyword.into()],
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn direct_sends_the_rendered_sample_signed_with_the_keyword() {
    let dir = tempfile::tempdir().unwrap();
    let robot = robot("告警");
    let out = cli(
        dir.path(),
        &[
            "test-send",
            "--direct",
            "--sample",
            "health",
            "--keyword",
            "告警",
            "--webhook-any-host",
        ],
    )
    .env("DINGTALK_WEBHOOK_URL", robot.webhook_url())
    .env("DINGTALK_SECRET", SIGNING)
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(
        text(&out.stdout),
        "Delivered \"🛠️ AWS Health: EC2 计划维护\" to DingTalk (errcode 0: ok).\n"
    );
    let cfg = WebhookConfig {
        webhook: robot.webhook_url(),
        secret: Some(SIGNING.into()),
        at_mobiles: vec![],
        at_all_on: vec![],
        keyword: Some("告警".into()),
    };
    let rendered = render(
        sample_event(SampleKind::Health),
        Some(SUBJECT),
        &FormatOptions::default(),
    );
    assert_eq!(
        robot.accepted(),
        vec![request_body(&cfg, &rendered.message, false)]
    );
    assert_no_secrets(&out);
}

#[test]
fn direct_reports_dingtalk_errcode_and_its_meaning() {
    let dir = tempfile::tempdir().unwrap();
    let robot = robot("值班");
    // Signed correctly, but the keyword is missing: the robot answers 310000.
    let out = cli(dir.path(), &["test-send", "--direct", "--webhook-any-host"])
        .env("DINGTALK_WEBHOOK_URL", robot.webhook_url())
        .env("DINGTALK_SECRET", SIGNING)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: DingTalk did not accept the message: DingTalk rejected the message: errcode 310000 (security check failed"),
        "{err}"
    );
    assert!(err.contains("keywords not in content"), "{err}");
    assert_eq!(robot.count_errcode(310000), 1);
    assert!(robot.accepted().is_empty());
    assert_no_secrets(&out);
}

#[test]
fn direct_rejects_a_webhook_that_is_not_dingtalk() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(dir.path(), &["test-send", "--direct"])
        .env(
            "DINGTALK_WEBHOOK_URL",
            format!("http://127.0.0.1:9/robot/send?access_token={TOKEN}"),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: invalid webhook URL: it must start with https://\n"
    );
    assert_no_secrets(&out);
}
