//! Issue 9's publishers of the original SAR app, end to end through the
//! stack's path: SNS topic → SQS buffer → event source mapping (testkit's
//! bridge) → the real `bootstrap` → the local robot, which (like DingTalk's
//! keyword setting) refuses a message whose title or text lacks the keyword.
//!
//! - The original app's GuardDuty plugin publishes what its EventBridge input
//!   transformer makes: a JSON **string** with `\n` escapes
//!   (`fixtures/sar_guardduty_plugin.json`, the plugin's `InputTemplate`
//!   filled from `fixtures/guardduty_finding.json`).
//! - Its Cost Anomaly Detection plugin subscribes the topic to an IMMEDIATE
//!   anomaly subscription, which publishes AWS's documented JSON
//!   (`fixtures/cost_anomaly_sns.json`).
//!
//! Each is asserted as the exact markdown the robot receives.

use std::time::Duration;

use dingtalk_notifier_lambda::samples::{sample_event, SampleKind};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use testkit::{
    BridgeOptions, DingTalkOptions, DingTalkServer, LambdaEmulator, Moto, Outcome, SnsLambdaBridge,
};

const TOKEN: &str = "tok-plugins-51c0";
const SIGNING_SECRET: &str = "SECplugins0123456789";
const KEYWORD: &str = "告警";

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim()
        .to_string()
}

fn markdown(title: &str, text: &str) -> Value {
    json!({
        "msgtype": "markdown",
        "markdown": {"title": title, "text": text},
        "at": {"atMobiles": [], "isAtAll": false}
    })
}

/// The exact bodies, in publishing order.
fn expected() -> Vec<Value> {
    vec![
        // The plugin's string: real line breaks, the first line is the title;
        // neither has the keyword, so both get it.
        markdown(
            "【告警】 Guard Duty 发现异常事件",
            "### 【告警】 📣 Guard Duty 发现异常事件\n\n时间: 2026-11-25T02:00:00Z\n\n区域: us-east-1\n\n可疑行为等级: 8\n\n可疑行为类型: CryptoCurrency:EC2/BitcoinTool.B!DNS\n\n可疑行为名称: Bitcoin-related domain name queried by EC2 instance i-99999999.\n\n描述: EC2 instance i-99999999 is querying a domain name that is associated with Bitcoin-related activity.\n\n已发生次数: 5\n\n事件链接: https://console.aws.amazon.com/guardduty/home?region=us-east-1#/findings?search=id%3D16afba5c5c43e07c9e3e5e2e544e95df\n\n请尽快处理！\n",
        ),
        markdown(
            "【告警】 💰 AWS 成本异常 Cost anomaly: ServiceName +$1001.00",
            "### 【告警】 💰 成本异常 Cost anomaly: ServiceName\n\n- **超出 Impact**: $1001.00 (+333.67%)\n- **实际支出 Actual spend**: $1301.00\n- **预期支出 Expected spend**: $300.00\n- **单日最大影响 Max daily impact**: $151.00\n- **期间 Period**: 2021-05-25 → 2021-05-25\n- **账号 Account**: 123456789012\n- **订阅 Subscription**: alertSubscription\n\n**根因 Root causes (1)**\n\n- AnomalousServiceName · AnomalousRegionName · AnomalousUsageType · 账号 Account AnomalousLinkedAccount (AnomalousLinkedAccountName) · $601.00\n\n[在成本异常检测中查看 Open in Cost Anomaly Detection](https://console.aws.amazon.com/cost-management/home#/anomaly-detection/monitors/abcdef12-1234-4ea0-84cc-918a97d736ef/anomalies/12345678-abcd-ef12-3456-987654321a12)\n",
        ),
        // The text has the keyword already ("CloudWatch 告警"), the title
        // does not: only the title gets it.
        markdown(
            "【告警】 🟠 ALARM: ServerCpuTooHigh",
            "### 🟠 CloudWatch 告警 Alarm: ServerCpuTooHigh\n\n- **状态 State**: ✅ OK → 🟠 ALARM\n- **告警 Alarm**: ServerCpuTooHigh\n- **说明 Description**: Goes into alarm when server CPU utilization is too high!\n- **账号 Account**: 123456789012\n- **区域 Region**: us-east-1\n- **时间 Time**: 2026-11-25 12:30:40 (Asia/Shanghai)\n- **状态时间 State time**: 2026-11-25 12:30:40 (Asia/Shanghai)\n- **指标 Metric**: AWS/EC2 / CPUUtilization (InstanceId=i-12345678901234567), Average / 300s\n- **阈值 Threshold**: 50 (最近数据 recent: 99.50160229693434)\n- **原因 Reason**: Threshold Crossed: 1 out of the last 1 datapoints \\[99.50160229693434 (02/10/19 16:59:00)\\] was greater than the threshold (50.0) (minimum 1 datapoint for OK -> ALARM transition).\n\n[在 CloudWatch 控制台查看 Open in CloudWatch](https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/ServerCpuTooHigh)\n",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sar_plugin_messages_reach_the_robot_as_exact_markdown() {
    let moto = Moto::start().expect("moto");
    let config = moto.sdk_config().await;
    let robot = DingTalkServer::start(DingTalkOptions {
        access_token: TOKEN.into(),
        secret: Some(SIGNING_SECRET.into()),
        keywords: vec![KEYWORD.into()],
        ..DingTalkOptions::default()
    })
    .expect("robot");
    let secret_value = json!({
        "webhook": robot.webhook_url(),
        "secret": SIGNING_SECRET,
        "keyword": KEYWORD,
    })
    .to_string();
    let secret_arn = aws_sdk_secretsmanager::Client::new(&config)
        .create_secret()
        .name("dingtalk-notifier/plugins/webhook")
        .secret_string(secret_value)
        .send()
        .await
        .expect("secret")
        .arn
        .expect("arn");
    let sns = aws_sdk_sns::Client::new(&config);
    let topic_arn = sns
        .create_topic()
        .name("plugins")
        .send()
        .await
        .expect("topic")
        .topic_arn
        .expect("topic arn");

    let mut env = moto.env();
    env.push(("DINGTALK_SECRET_ARN".into(), secret_arn));
    // The robot listens on loopback, a relay deploy --webhook-any-host lists.
    env.push(("DINGTALK_WEBHOOK_HOSTS".into(), "127.0.0.1".into()));
    let bootstrap = std::path::Path::new(env!("CARGO_BIN_EXE_bootstrap"));
    let function = LambdaEmulator::start(bootstrap, env).expect("function");
    let bridge = SnsLambdaBridge::start_with(
        &moto,
        BridgeOptions {
            function_timeout: Duration::from_secs(10),
            ..BridgeOptions::new(&topic_arn, "/dingtalk-notifier/plugins")
        },
        function,
    )
    .expect("bridge");

    let messages = [
        fixture("sar_guardduty_plugin"),
        fixture("cost_anomaly_sns"),
        sample_event(SampleKind::Alarm).to_string(),
    ];
    // One at a time, as they come in production: each is its own batch and
    // its own message (a batch of several would be one digest).
    for (n, message) in messages.iter().enumerate() {
        sns.publish()
            .topic_arn(&topic_arn)
            .message(message)
            .send()
            .await
            .expect("publish");
        assert!(
            bridge.wait_for_batches(n + 1, Duration::from_secs(30)),
            "batch {n} not delivered; bridge errors {:?}",
            bridge.errors()
        );
    }
    assert_eq!(bridge.errors(), Vec::<String>::new());
    for invocation in bridge.invocations() {
        assert_eq!(
            invocation.outcome,
            Outcome::Response(json!({"batchItemFailures": []})),
            "{:#?}",
            invocation.logs
        );
    }
    assert_eq!(robot.count_errcode(310000), 0);
    assert_eq!(robot.accepted(), expected());
}
