//! `DEBUG_LOGS=true` (the stack's `DebugLogs`, `deploy --debug-logs`): the
//! real `bootstrap` logs each incoming event and each rendered message, and
//! never the webhook's token or the signing secret, not even when a plugin
//! publishes the webhook URL itself.

use std::time::Duration;
use testkit::lambda_events::{sns_notification, sqs_batch};

use dingtalk_notifier_lambda::format::{self, FormatOptions};
use dingtalk_notifier_lambda::samples::{sample_event, SampleKind};
use serde_json::{json, Value};
use testkit::{DingTalkOptions, DingTalkServer, LambdaEmulator, Moto, Outcome};

const TOKEN: &str = "tok-debug-93a1c7";
/// A real-shaped signing secret: `SEC` and 64 hex digits.
const SIGNING_SECRET: &str = "SEC0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";
const KEYWORD: &str = "告警";
const TIMEOUT: Duration = Duration::from_secs(8);

fn lines_with(logs: &[String], message: &str) -> Vec<Value> {
    logs.iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["message"] == message)
        .collect()
}

async fn emulator(moto: &Moto, robot: &DingTalkServer, debug: Option<&str>) -> LambdaEmulator {
    let sm = aws_sdk_secretsmanager::Client::new(&moto.sdk_config().await);
    let name = format!("dingtalk-notifier/debug-{}/webhook", debug.unwrap_or("off"));
    let arn = sm
        .create_secret()
        .name(name)
        .secret_string(
            json!({"webhook": robot.webhook_url(), "secret": SIGNING_SECRET, "keyword": KEYWORD})
                .to_string(),
        )
        .send()
        .await
        .expect("create secret")
        .arn
        .expect("arn");
    let mut env = moto.env();
    env.push(("DINGTALK_SECRET_ARN".into(), arn));
    // The robot listens on loopback, a relay deploy --webhook-any-host lists.
    env.push(("DINGTALK_WEBHOOK_HOSTS".into(), "127.0.0.1".into()));
    if let Some(v) = debug {
        env.push(("DEBUG_LOGS".into(), v.into()));
    }
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_bootstrap"));
    LambdaEmulator::start(bin, env).expect("emulator")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_logs_show_events_and_messages_but_never_credentials() {
    let moto = Moto::start().expect("moto");
    let robot = DingTalkServer::start(DingTalkOptions {
        access_token: TOKEN.into(),
        secret: Some(SIGNING_SECRET.into()),
        keywords: vec![KEYWORD.into()],
        ..DingTalkOptions::default()
    })
    .expect("dingtalk server");
    let function = emulator(&moto, &robot, Some("true")).await;

    // An alarm, and a careless plugin that publishes the webhook itself.
    let alarm = sample_event(SampleKind::Alarm);
    let leaky = format!(
        "robot moved to {} (secret {SIGNING_SECRET})",
        robot.webhook_url()
    );
    let batch = sqs_batch(&[
        ("sqs-1", sns_notification("sns-alarm", alarm)),
        ("sqs-2", sns_notification("sns-leaky", &leaky)),
    ]);
    let inv = function
        .invoke(batch.clone(), TIMEOUT)
        .await
        .expect("invoke");
    assert_eq!(
        inv.outcome,
        Outcome::Response(json!({"batchItemFailures": []})),
        "{:#?}",
        inv.logs
    );

    // The event, exactly as handed over, except the credentials in it.
    let events = lines_with(&inv.logs, "debug: incoming event");
    assert_eq!(events.len(), 1, "{:#?}", inv.logs);
    assert_eq!(events[0]["level"], "INFO");
    assert_eq!(events[0]["request_id"], inv.request_id.as_str());
    let logged: Value = serde_json::from_str(events[0]["event"].as_str().unwrap_or_default())
        .expect("the event is logged as JSON");
    let redacted_leak = format!(
        "robot moved to {} (secret SEC<redacted>)",
        robot.webhook_url().replace(TOKEN, "<redacted>")
    );
    let expected = sqs_batch(&[
        ("sqs-1", sns_notification("sns-alarm", alarm)),
        ("sqs-2", sns_notification("sns-leaky", &redacted_leak)),
    ]);
    // The bodies are JSON inside JSON: compare them decoded.
    let bodies = |v: &Value| -> Vec<Value> {
        v["Records"]
            .as_array()
            .map(|r| {
                r.iter()
                    .map(|r| {
                        serde_json::from_str(r["body"].as_str().unwrap_or(""))
                            .unwrap_or(Value::Null)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(bodies(&logged), bodies(&expected));
    assert_eq!(logged["Records"][0]["messageId"], "sqs-1");

    // One rendered message per alert, as the formatter makes it.
    let rendered = lines_with(&inv.logs, "debug: rendered message");
    let options = FormatOptions::default();
    let alarm_msg = format::render(alarm, None, &options).message;
    let leaky_msg = format::render(&leaky, None, &options).message;
    let scrub = dingtalk_notifier_lambda::debug_log::scrub;
    assert_eq!(
        rendered
            .iter()
            .map(|l| (l["alert_id"].clone(), l["title"].clone(), l["text"].clone()))
            .collect::<Vec<_>>(),
        vec![
            (
                json!("sns-alarm"),
                json!(alarm_msg.title),
                json!(alarm_msg.text)
            ),
            (
                json!("sns-leaky"),
                json!(scrub(&leaky_msg.title)),
                json!(scrub(&leaky_msg.text))
            ),
        ]
    );

    // Nowhere, in any line since the process started: token or secret.
    let all = function.logs();
    assert!(all.len() >= inv.logs.len());
    for line in &all {
        assert!(
            !line.contains(TOKEN) && !line.contains(SIGNING_SECRET),
            "a log line leaks the token or secret: {line}"
        );
    }
    assert_eq!(robot.accepted().len(), 1, "one digest of both alerts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_switch_nothing_extra_is_logged() {
    let moto = Moto::start().expect("moto");
    let robot = DingTalkServer::start(DingTalkOptions {
        access_token: TOKEN.into(),
        secret: Some(SIGNING_SECRET.into()),
        keywords: vec![KEYWORD.into()],
        ..DingTalkOptions::default()
    })
    .expect("dingtalk server");
    for debug in [None, Some("false")] {
        let function = emulator(&moto, &robot, debug).await;
        let alarm = sample_event(SampleKind::Alarm);
        let inv = function
            .invoke(
                sqs_batch(&[("sqs-1", sns_notification("sns-1", alarm))]),
                TIMEOUT,
            )
            .await
            .expect("invoke");
        assert!(
            matches!(inv.outcome, Outcome::Response(_)),
            "{:?}",
            inv.outcome
        );
        assert!(lines_with(&inv.logs, "debug: incoming event").is_empty());
        assert!(lines_with(&inv.logs, "debug: rendered message").is_empty());
    }
}
