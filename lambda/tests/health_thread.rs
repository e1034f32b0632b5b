//! Health updates threaded through the state table (moto), by the real
//! `bootstrap` in two containers: AWS's sample Health event arrives three
//! times (from a second region, and as a redelivery), then its update
//! (a newer communication: closed, with an end time). The robot gets
//! exactly two messages, the second marked 更新 Update with what changed.

use std::time::Duration;

use serde_json::{json, Value};
use testkit::lambda_events::sqs_batch;
use testkit::{DingTalkOptions, DingTalkServer, LambdaEmulator, Moto, Outcome};

const STATE_TABLE: &str = "dingtalk-notifier-health-state";

fn sample() -> Value {
    let path = format!(
        "{}/tests/fixtures/health_issue.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_event_three_times_then_its_update_is_two_messages() {
    let moto = Moto::start().expect("moto");
    let config = moto.sdk_config().await;
    let robot = DingTalkServer::start(DingTalkOptions::default()).expect("robot");
    let arn = aws_sdk_secretsmanager::Client::new(&config)
        .create_secret()
        .name("dingtalk-notifier/health/webhook")
        .secret_string(robot.webhook_url())
        .send()
        .await
        .expect("secret")
        .arn
        .expect("arn");
    crate::create_state_table(&config, STATE_TABLE).await;
    let mut env = moto.env();
    env.push(("DINGTALK_SECRET_ARN".into(), arn));
    env.push(("STATE_TABLE".into(), STATE_TABLE.into()));
    env.push(("DINGTALK_WEBHOOK_HOSTS".into(), "127.0.0.1".into()));
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_bootstrap"));
    let containers = [
        LambdaEmulator::start(bin, env.clone()).expect("container"),
        LambdaEmulator::start(bin, env).expect("container"),
    ];

    let first = sample();
    // The same communication as seen from a second region.
    let mut other_region = first.clone();
    other_region["id"] = json!("8c4d1a55-0b2c-4c1e-9b7a-2f3e4d5c6b7a");
    other_region["region"] = json!("eu-west-1");
    other_region["detail"]["eventArn"] = json!(first["detail"]["eventArn"]
        .as_str()
        .unwrap()
        .replace("af-south-1", "eu-west-1"));
    // Health's next communication on the event: resolved.
    let mut update = first.clone();
    update["id"] = json!("2f9c7e1b-3d4a-4b5c-8e6f-7a8b9c0d1e2f");
    update["detail"]["communicationId"] = json!("5e1c9a7f0b2d4c6e8a1b3d5f7e9c0a2b4d6f8e1a-1");
    update["detail"]["lastUpdatedTime"] = json!("Fri, 27 Jan 2023 10:31:02 GMT");
    update["detail"]["statusCode"] = json!("closed");
    update["detail"]["endTime"] = json!("Fri, 27 Jan 2023 10:15:00 GMT");

    let sends = [
        ("m-1", &first),
        ("m-2", &other_region),
        ("m-1", &first), // the queue's redelivery of the first
        ("m-3", &update),
    ];
    let mut outcomes = Vec::new();
    for (n, (id, event)) in sends.iter().enumerate() {
        let inv = containers[n % 2]
            .invoke(
                sqs_batch(&[(*id, event.to_string())]),
                Duration::from_secs(10),
            )
            .await
            .expect("invoke");
        assert_eq!(
            inv.outcome,
            Outcome::Response(json!({"batchItemFailures": []})),
            "{:#?}",
            inv.logs
        );
        outcomes.push(
            inv.only_outcome()["outcome"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    assert_eq!(
        outcomes,
        ["delivered", "duplicate", "duplicate", "delivered"]
    );

    let accepted = robot.accepted();
    assert_eq!(accepted.len(), 2, "{accepted:#?}");
    let title = |b: &Value| {
        b["markdown"]["title"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let text = |b: &Value| {
        b["markdown"]["text"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        !title(&accepted[0]).contains("更新"),
        "{}",
        title(&accepted[0])
    );
    assert!(
        title(&accepted[1]).starts_with("更新 Update · "),
        "{}",
        title(&accepted[1])
    );
    assert!(
        text(&accepted[1]).contains(
            "> **🔄 更新 Update**: 状态 Status: open → closed; 结束 End: — → Fri, 27 Jan 2023 10:15:00 GMT"
        ),
        "{}",
        text(&accepted[1])
    );
}
