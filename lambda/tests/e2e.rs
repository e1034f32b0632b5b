//! The real `bootstrap` under the local Lambda Runtime API, reading its
//! secret from moto, posting to the local DingTalk robot (signed, with a
//! keyword) and asking the local Bedrock server for summaries. Only endpoints
//! differ from production.

use std::time::Duration;
use testkit::lambda_events::{sns_event, sqs_record};

use dingtalk_notifier_lambda::format::{self, FormatOptions};
use dingtalk_notifier_lambda::llm;
use dingtalk_notifier_lambda::samples::{sample_event, SampleKind};
use serde_json::{json, Value};
use testkit::{
    BedrockMode, BedrockServer, DingTalkOptions, DingTalkServer, LambdaEmulator, Moto, Outcome,
};

const TOKEN: &str = "tok-e2e-6f1d2c";
const SIGNING_SECRET: &str = "SECe2e0123456789abcdef";
const KEYWORD: &str = "NOTIFYKW";
const MOBILE: &str = "13800000000";
const TIMEOUT: Duration = Duration::from_secs(8);

/// What the robot must receive for `message` with our keyword and mention.
fn expected_body(title: &str, text: &str, mention: bool) -> Value {
    // The keyword goes into the heading, after its `###`, and before the title.
    let rest = text
        .strip_prefix("### ")
        .expect("every message starts with a heading");
    let mut text = format!("### 【{KEYWORD}】 {rest}");
    if mention {
        text = format!("{}\n\n@{MOBILE}", text.trim_end());
    }
    json!({
        "msgtype": "markdown",
        "markdown": {"title": format!("【{KEYWORD}】 {title}"), "text": text},
        "at": {"atMobiles": if mention { vec![MOBILE] } else { vec![] }, "isAtAll": mention}
    })
}

fn assert_no_secrets(logs: &[String]) {
    for line in logs {
        assert!(
            !line.contains(TOKEN) && !line.contains(SIGNING_SECRET),
            "a log line leaks the token or secret: {line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_delivers_retries_and_reports_failures() {
    let moto = Moto::start().expect("moto");
    let robot = DingTalkServer::start(DingTalkOptions {
        access_token: TOKEN.into(),
        secret: Some(SIGNING_SECRET.into()),
        keywords: vec![KEYWORD.into()],
        ..DingTalkOptions::default()
    })
    .expect("dingtalk server");
    let bedrock = BedrockServer::start(BedrockMode::Reply(
        "CPU 持续过高。\n影响 web-1。\n建议扩容。".into(),
    ))
    .expect("bedrock server");

    let sm = aws_sdk_secretsmanager::Client::new(&moto.sdk_config().await);
    let secret_value = json!({
        "webhook": robot.webhook_url(),
        "secret": SIGNING_SECRET,
        "at_mobiles": [MOBILE],
        "at_all_on": ["alarm"],
        "keyword": KEYWORD,
    })
    .to_string();
    let arn = sm
        .create_secret()
        .name("dingtalk-notifier/e2e/webhook")
        .secret_string(secret_value)
        .send()
        .await
        .expect("create secret")
        .arn
        .expect("arn");

    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_bootstrap"));
    let mut env = moto.env();
    env.push(("DINGTALK_SECRET_ARN".into(), arn.clone()));
    // The robot listens on loopback, a relay deploy --webhook-any-host lists.
    env.push(("DINGTALK_WEBHOOK_HOSTS".into(), "127.0.0.1".into()));
    env.push((
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME".into(),
        bedrock.endpoint(),
    ));
    // A short rate window, so waiting out a 130101 takes 1.5 s, not a minute.
    env.push(("DINGTALK_RATE_WINDOW_MS".into(), "1500".into()));
    // `plain` sends alert by alert; `digesting` has the production default.
    let digesting = LambdaEmulator::start(bin, env.clone()).expect("digesting emulator");
    let mut plain_env = env.clone();
    plain_env.push(("DIGEST_MIN_ALERTS".into(), "100".into()));
    let plain = LambdaEmulator::start(bin, plain_env.clone()).expect("emulator");
    let mut llm_env = env;
    llm_env.push(("LLM_ENABLED".into(), "true".into()));
    llm_env.push(("LLM_TIMEOUT_MS".into(), "3000".into()));
    // A profile of the emulator's region: the local Bedrock, like the real
    // one, refuses base model ids on demand (see tests/llm_limits.rs).
    llm_env.push(("LLM_MODEL_ID".into(), "us.amazon.nova-lite-v1:0".into()));
    let with_llm = LambdaEmulator::start(bin, llm_env).expect("emulator with llm");

    let alarm = sample_event(SampleKind::Alarm);
    let rendered = format::render(alarm, None, &FormatOptions::default());
    assert_eq!(rendered.state.as_deref(), Some("ALARM"));
    let alarm_body = expected_body(&rendered.message.title, &rendered.message.text, true);

    // 1. Success, signed, keyword prefixed, mentions on ALARM: exact body.
    let inv = plain
        .invoke(sns_event("sns-1", alarm), TIMEOUT)
        .await
        .expect("invoke");
    assert!(
        matches!(inv.outcome, Outcome::Response(_)),
        "{:?}",
        inv.outcome
    );
    assert_eq!(robot.accepted(), vec![alarm_body.clone()]);
    let line = inv.only_outcome();
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["message"], "alert delivered");
    assert_eq!(line["outcome"], "delivered");
    assert_eq!(line["alert_id"], "sns-1");
    assert_eq!(line["kind"], rendered.kind.as_str());
    assert_eq!(line["source"], "aws.cloudwatch");
    assert_eq!(line["llm"], "disabled");
    let q = &robot.requests()[0].query;
    assert!(q.contains("timestamp=") && q.contains("&sign="), "{q}");

    // 2. 130101: the robot is blocked for up to ten minutes, so the alert is
    //    left for a retry (tests/delivery.rs has every throttle answer). A
    //    container of its own, as it then sends nothing until the block ends.
    let throttled = LambdaEmulator::start(bin, plain_env.clone()).expect("emulator");
    robot.push_reply(130101, "send too fast, exceed 20 times per minute");
    let inv = throttled
        .invoke(sns_event("sns-2", alarm), TIMEOUT)
        .await
        .expect("invoke");
    assert!(
        matches!(inv.outcome, Outcome::Error(_)),
        "{:?}",
        inv.outcome
    );
    let line = inv.only_outcome();
    assert_eq!(line["transient"], true);
    assert!(line["error"]
        .as_str()
        .unwrap_or_default()
        .starts_with("DingTalk throttled the robot (errcode 130101)"));
    assert_eq!(robot.count_errcode(130101), 1);
    let inv = plain
        .invoke(sns_event("sns-2b", alarm), TIMEOUT)
        .await
        .expect("invoke");
    assert_eq!(inv.only_outcome()["outcome"], "delivered");
    assert_eq!(robot.accepted().len(), 2);

    // 3. 310000: permanent, the invocation fails, the log says what it means.
    robot.push_reply(310000, "sign not match");
    let inv = plain
        .invoke(sns_event("sns-3", alarm), TIMEOUT)
        .await
        .expect("invoke");
    assert!(
        matches!(inv.outcome, Outcome::Error(_)),
        "{:?}",
        inv.outcome
    );
    let line = inv.only_outcome();
    assert_eq!(line["level"], "ERROR");
    assert_eq!(line["message"], "alert not delivered");
    assert_eq!(line["outcome"], "failed");
    assert_eq!(line["alert_id"], "sns-3");
    let error = line["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("310000") && error.contains("security check failed"),
        "{error}"
    );
    assert_eq!(robot.accepted().len(), 2);

    // 4. DingTalk down: retried within the deadline, then the invocation fails.
    robot.set_down(true);
    let inv = plain
        .invoke(sns_event("sns-4", alarm), Duration::from_secs(5))
        .await
        .expect("invoke");
    robot.set_down(false);
    assert!(
        matches!(inv.outcome, Outcome::Error(_)),
        "{:?}",
        inv.outcome
    );
    let line = inv.only_outcome();
    assert_eq!(line["outcome"], "failed");
    assert!(
        line["error"]
            .as_str()
            .unwrap_or_default()
            .contains("HTTP 503"),
        "{line}"
    );

    // 5. Not an event at all: delivered as a generic message, id = request id.
    let inv = plain
        .invoke(json!({"hello": "world"}), TIMEOUT)
        .await
        .expect("invoke");
    assert!(
        matches!(inv.outcome, Outcome::Response(_)),
        "{:?}",
        inv.outcome
    );
    let line = inv.only_outcome();
    assert_eq!(line["outcome"], "delivered");
    assert_eq!(line["alert_id"], inv.request_id.as_str());
    let generic = format::render(r#"{"hello":"world"}"#, None, &FormatOptions::default());
    assert_eq!(
        robot.accepted().last().cloned().unwrap_or_default(),
        expected_body(&generic.message.title, &generic.message.text, false)
    );

    // 6. SQS batch: the first message is rejected, only it is reported.
    let wrapped = json!({
        "Type": "Notification",
        "MessageId": "sns-in-sqs",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:alerts",
        "Message": alarm,
    })
    .to_string();
    robot.push_reply(300001, "token is not exist");
    let batch = json!({"Records": [sqs_record("sqs-a", &wrapped), sqs_record("sqs-b", alarm)]});
    let inv = plain.invoke(batch, TIMEOUT).await.expect("invoke");
    assert_eq!(
        inv.outcome,
        Outcome::Response(json!({"batchItemFailures": [{"itemIdentifier": "sqs-a"}]}))
    );
    let lines = inv.outcomes();
    assert_eq!(lines.len(), 2, "{:#?}", inv.logs);
    assert_eq!(lines[0]["alert_id"], "sns-in-sqs");
    assert_eq!(lines[0]["outcome"], "failed");
    assert_eq!(lines[1]["alert_id"], "sqs-b");
    assert_eq!(lines[1]["outcome"], "delivered");

    // 6b. Three alerts in one SQS batch: one digest message lists them all;
    //     each alert still has its own outcome line.
    let ec2 = sample_event(SampleKind::Ec2);
    let health = sample_event(SampleKind::Health);
    let sent_before = robot.accepted().len();
    let batch = json!({"Records": [
        sqs_record("dg-1", ec2), sqs_record("dg-2", alarm), sqs_record("dg-3", health)
    ]});
    let inv = digesting
        .invoke(batch.clone(), TIMEOUT)
        .await
        .expect("invoke");
    assert_eq!(
        inv.outcome,
        Outcome::Response(json!({"batchItemFailures": []}))
    );
    let members: Vec<_> = [ec2, alarm, health]
        .iter()
        .map(|p| format::render(p, None, &FormatOptions::default()))
        .collect();
    let parts = format::digest::digest(&members, &FormatOptions::default());
    assert_eq!(parts.len(), 1);
    assert_eq!(robot.accepted().len(), sent_before + 1);
    assert_eq!(
        robot.accepted().last().cloned().unwrap_or_default(),
        expected_body(&parts[0].message.title, &parts[0].message.text, true),
        "one digest, mentioning because the alarm is in ALARM"
    );
    let lines = inv.outcomes();
    let ids: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["alert_id"].as_str())
        .collect();
    assert_eq!(ids, ["dg-2", "dg-3", "dg-1"], "{:#?}", inv.logs);
    assert!(lines
        .iter()
        .all(|l| l["outcome"] == "delivered" && l["digest_size"] == 3 && l["llm"] == "skipped"));

    // 6c. The digest is rejected: every alert of it is reported, nothing else.
    robot.push_reply(310000, "keywords not in content");
    let inv = digesting.invoke(batch, TIMEOUT).await.expect("invoke");
    assert_eq!(
        inv.outcome,
        Outcome::Response(json!({"batchItemFailures": [
            {"itemIdentifier": "dg-1"}, {"itemIdentifier": "dg-2"}, {"itemIdentifier": "dg-3"}
        ]}))
    );
    assert!(inv.outcomes().iter().all(|l| l["outcome"] == "failed"
        && l["error"]
            .as_str()
            .unwrap_or_default()
            .contains("errcode 310000")));

    // 7. LLM on: the summary goes above the facts.
    let inv = with_llm
        .invoke(sns_event("sns-7", alarm), TIMEOUT)
        .await
        .expect("invoke");
    assert!(
        matches!(inv.outcome, Outcome::Response(_)),
        "{:?}",
        inv.outcome
    );
    assert_eq!(inv.only_outcome()["llm"], "used");
    let summarized = rendered
        .message
        .with_summary("CPU 持续过高。\n影响 web-1。\n建议扩容。");
    assert_eq!(
        robot.accepted().last().cloned().unwrap_or_default(),
        expected_body(&summarized.title, &summarized.text, true)
    );
    let asked = bedrock.requests();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].model_id, "us.amazon.nova-lite-v1:0");
    assert!(asked[0].signed);
    let body = &asked[0].body;
    assert_eq!(
        body["system"],
        json!([{"text": llm::DEFAULT_SYSTEM_PROMPT}])
    );
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": [{"text": llm::user_prompt(alarm, &rendered.message)}]}])
    );
    assert_eq!(body["inferenceConfig"]["maxTokens"], 400);

    // 8. LLM throttled: the plain message still goes out, llm=fallback.
    bedrock.set_mode(BedrockMode::throttling());
    let inv = with_llm
        .invoke(sns_event("sns-8", alarm), TIMEOUT)
        .await
        .expect("invoke");
    assert!(
        matches!(inv.outcome, Outcome::Response(_)),
        "{:?}",
        inv.outcome
    );
    assert_eq!(inv.only_outcome()["llm"], "fallback");
    assert!(
        inv.logs.iter().any(|l| l.contains("llm_error")),
        "{:#?}",
        inv.logs
    );
    assert_eq!(
        robot.accepted().last().cloned().unwrap_or_default(),
        alarm_body
    );

    // 8b. Every other LLM failure falls back the same way: access denied,
    //     an empty answer, and an answer slower than LLM_TIMEOUT_MS.
    for (id, mode) in [
        (
            "sns-8b",
            BedrockMode::Error {
                status: 403,
                error_type: "AccessDeniedException".into(),
                message: "You don't have access to the model with the specified model ID.".into(),
            },
        ),
        ("sns-8c", BedrockMode::Empty),
        (
            "sns-8d",
            BedrockMode::Delay(Duration::from_secs(5), "too late".into()),
        ),
    ] {
        bedrock.set_mode(mode);
        let inv = with_llm
            .invoke(sns_event(id, alarm), TIMEOUT)
            .await
            .expect("invoke");
        assert!(
            matches!(inv.outcome, Outcome::Response(_)),
            "{id}: {:?}",
            inv.outcome
        );
        assert_eq!(inv.only_outcome()["llm"], "fallback", "{id}");
        assert_eq!(
            robot.accepted().last().cloned().unwrap_or_default(),
            alarm_body,
            "{id} sends the plain message"
        );
    }

    // 9. The secret cannot be read: every alert of the batch is reported failed.
    let mut bad_env = moto.env();
    bad_env.push((
        "DINGTALK_SECRET_ARN".into(),
        "dingtalk-notifier/missing/webhook".into(),
    ));
    let no_secret = LambdaEmulator::start(bin, bad_env).expect("emulator without secret");
    let batch = json!({"Records": [sqs_record("sqs-c", alarm), sqs_record("sqs-d", alarm)]});
    let inv = no_secret.invoke(batch, TIMEOUT).await.expect("invoke");
    assert_eq!(
        inv.outcome,
        Outcome::Response(json!({"batchItemFailures": [
            {"itemIdentifier": "sqs-c"}, {"itemIdentifier": "sqs-d"}
        ]}))
    );
    let lines = inv.outcomes();
    assert_eq!(lines.len(), 2, "{:#?}", inv.logs);
    assert!(
        lines.iter().all(|l| l["outcome"] == "failed"
            && l["error"]
                .as_str()
                .unwrap_or_default()
                .contains("ResourceNotFoundException")),
        "{lines:#?}"
    );

    let mut all = plain.logs();
    all.extend(throttled.logs());
    all.extend(digesting.logs());
    all.extend(with_llm.logs());
    all.extend(no_secret.logs());
    assert_no_secrets(&all);
}
