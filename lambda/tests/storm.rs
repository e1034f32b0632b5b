//! Alarm storms: 200 alarms published to the topic within a second or two
//! reach a robot as hard as DingTalk's (20 messages per window, and a breach
//! blocks it for 10 windows; the window is shortened to 2 s so the test runs
//! in seconds), through the same path as in AWS: SNS → SQS buffer (with its
//! dead-letter queue) → the real `bootstrap`, invoked **two at once** in
//! batches like Lambda's SQS event source mapping with `MaximumConcurrency`
//! 2, which deletes only what the function did not report in
//! `batchItemFailures`. The robot's send budget is in the stack's state
//! table (DynamoDB in moto). Every alarm must be accepted by the robot
//! exactly once, and the robot must never answer a throttle (130101, 410100
//! or a redirect): on the real robot each one is a ten-minute blackout.
//!
//! The churn variants route the two concurrent invocations over a pool of
//! three processes (least recently used first) and replace every process
//! midway, as a deploy does: fresh containers know nothing but the table.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;
use testkit::{
    BridgeOptions, DingTalkOptions, DingTalkServer, LambdaEmulator, Moto, SnsLambdaBridge,
    ThrottleReply,
};

const ALARMS: usize = 200;
const RATE_WINDOW: Duration = Duration::from_secs(2);
/// The function's `Timeout` in these tests.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(5);
/// The mapping's `MaximumBatchingWindowInSeconds` (the template's default).
const BATCH_WINDOW: Duration = Duration::from_secs(1);
/// Function instances at once: the mapping's `MaximumConcurrency`.
const INSTANCES: usize = 2;
/// The stack's state table (`dingtalk-notifier-<stack>-state`).
const STATE_TABLE: &str = "dingtalk-notifier-storm-state";

fn alarm(i: usize) -> String {
    json!({
        "version": "0",
        "id": format!("c4c1c1c9-6542-e61b-6ef0-8c4d36933{i:03}"),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": "2026-11-25T02:00:00Z",
        "region": "us-east-1",
        "resources": [format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:storm-{i:03}")],
        "detail": {
            "alarmName": format!("storm-{i:03}"),
            "state": {
                "value": "ALARM",
                "reason": "Threshold Crossed: 1 datapoint [99.0] was greater than the threshold (80.0).",
                "timestamp": "2026-11-25T02:00:00.000+0000"
            },
            "previousState": {
                "value": "OK",
                "reason": "Threshold Crossed: 1 datapoint [10.0] was not greater than the threshold (80.0).",
                "timestamp": "2026-11-25T01:00:00.000+0000"
            },
            "configuration": {"metrics": []}
        }
    })
    .to_string()
}

struct Storm {
    _moto: Moto,
    robot: DingTalkServer,
    bridge: SnsLambdaBridge,
    sqs: aws_sdk_sqs::Client,
    dlq_url: String,
    queue_url: String,
    elapsed: Duration,
}

/// How the robot is when the storm begins.
#[derive(Clone, Copy)]
enum Robot {
    Free,
    /// Already blocked (someone else breached its limit), answering so.
    Throttled(ThrottleReply),
}

/// How Lambda runs the function during the storm.
#[derive(Clone, Copy)]
struct Containers {
    /// Warm execution environments the two concurrent invocations are
    /// routed over.
    pool: usize,
    /// Replace every one of them once this many alarms were accepted.
    replace_after: Option<usize>,
    /// A block recorded in the state table before the storm, by a
    /// container that is gone: this long from the start.
    recorded_block: Option<Duration>,
}

const TWO_FIXED: Containers = Containers {
    pool: INSTANCES,
    replace_after: None,
    recorded_block: None,
};

/// Sets up the stack's shape in moto, publishes the storm and waits until the
/// buffer and the dead-letter queue are both empty.
async fn storm(extra_env: &[(&str, &str)], batch_size: usize, state: Robot) -> Storm {
    storm_in(extra_env, batch_size, state, TWO_FIXED).await
}

async fn storm_in(
    extra_env: &[(&str, &str)],
    batch_size: usize,
    state: Robot,
    containers: Containers,
) -> Storm {
    let moto = Moto::start().expect("moto");
    let config = moto.sdk_config().await;
    // DingTalk's limits, with a 2 s window: 20 per window, 10-window block.
    let robot = DingTalkServer::start(DingTalkOptions {
        window: RATE_WINDOW,
        ..DingTalkOptions::default()
    })
    .expect("robot");
    let secret_arn = aws_sdk_secretsmanager::Client::new(&config)
        .create_secret()
        .name("dingtalk-notifier/storm/webhook")
        .secret_string(robot.webhook_url())
        .send()
        .await
        .expect("secret")
        .arn
        .expect("arn");
    let sns = aws_sdk_sns::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let topic_arn = sns
        .create_topic()
        .name("storm")
        .send()
        .await
        .expect("topic")
        .topic_arn
        .expect("topic arn");
    let dlq_url = sqs
        .create_queue()
        .queue_name("storm-dlq")
        .send()
        .await
        .expect("dlq")
        .queue_url
        .expect("dlq url");
    let dlq_arn = queue_arn(&sqs, &dlq_url).await;
    // As the template: visibility timeout = 6 × function timeout + batching
    // window (AWS's advice for an SQS event source), redrive to the DLQ.
    let visibility = 6 * FUNCTION_TIMEOUT.as_secs() + BATCH_WINDOW.as_secs();
    let queue_url = sqs
        .create_queue()
        .queue_name("storm-alerts")
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            visibility.to_string(),
        )
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 15}).to_string(),
        )
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("queue url");

    let ddb = crate::create_state_table(&config, STATE_TABLE).await;
    if let Some(block) = containers.recorded_block {
        let until = std::time::SystemTime::now() + block;
        let until_ms = until
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis();
        ddb.put_item()
            .table_name(STATE_TABLE)
            .item(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S("robot#default".into()),
            )
            .item(
                "blocked_until",
                aws_sdk_dynamodb::types::AttributeValue::N(until_ms.to_string()),
            )
            .send()
            .await
            .expect("recorded block");
    }

    let mut env = moto.env();
    env.push(("DINGTALK_SECRET_ARN".into(), secret_arn));
    env.push(("STATE_TABLE".into(), STATE_TABLE.into()));
    // The robot listens on loopback, a relay deploy --webhook-any-host lists.
    env.push(("DINGTALK_WEBHOOK_HOSTS".into(), "127.0.0.1".into()));
    env.push((
        "DINGTALK_RATE_WINDOW_MS".into(),
        RATE_WINDOW.as_millis().to_string(),
    ));
    for (k, v) in extra_env {
        env.push((k.to_string(), v.to_string()));
    }
    let bootstrap = std::path::Path::new(env!("CARGO_BIN_EXE_bootstrap"));
    let instances = (0..containers.pool)
        .map(|_| LambdaEmulator::start(bootstrap, env.clone()).expect("function"))
        .collect();
    let bridge = SnsLambdaBridge::start_pool(
        &moto,
        BridgeOptions {
            queue_url: Some(queue_url.clone()),
            batch_size,
            batching_window: BATCH_WINDOW,
            function_timeout: FUNCTION_TIMEOUT,
            ..BridgeOptions::new(&topic_arn, "/dingtalk-notifier/storm")
        },
        instances,
        INSTANCES,
    )
    .expect("bridge");
    if let Robot::Throttled(reply) = state {
        robot.set_throttle_reply(reply);
        robot.throttle_now();
    }

    let started = Instant::now();
    for chunk in (0..ALARMS).collect::<Vec<_>>().chunks(10) {
        let entries = chunk
            .iter()
            .map(|&i| {
                aws_sdk_sns::types::PublishBatchRequestEntry::builder()
                    .id(format!("a{i}"))
                    .message(alarm(i))
                    .build()
                    .expect("entry")
            })
            .collect::<Vec<_>>();
        let out = sns
            .publish_batch()
            .topic_arn(&topic_arn)
            .set_publish_batch_request_entries(Some(entries))
            .send()
            .await
            .expect("publish");
        assert!(out.failed.unwrap_or_default().is_empty());
    }

    // Done when the robot has every alarm and the buffer is drained.
    let deadline = Instant::now() + Duration::from_secs(150);
    let mut replaced = false;
    loop {
        if let Some(after) = containers.replace_after {
            if !replaced && delivered_names(&robot).len() >= after {
                bridge.replace_functions();
                replaced = true;
            }
        }
        let in_flight = queue_depth(&sqs, &queue_url).await;
        if in_flight == 0 && delivered_names(&robot).len() >= ALARMS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "storm not drained: {} alarms accepted, {in_flight} messages in the buffer, bridge errors {:?}",
            delivered_names(&robot).len(),
            bridge.errors()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let elapsed = started.elapsed();
    Storm {
        _moto: moto,
        robot,
        bridge,
        sqs,
        dlq_url,
        queue_url,
        elapsed,
    }
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("attributes")
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("queue arn")
}

/// Visible + in-flight messages.
async fn queue_depth(sqs: &aws_sdk_sqs::Client, url: &str) -> usize {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("attributes")
        .attributes
        .unwrap_or_default();
    [
        A::ApproximateNumberOfMessages,
        A::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .filter_map(|k| attrs.get(k).and_then(|v| v.parse::<usize>().ok()))
    .sum()
}

/// How often each alarm name was accepted by the robot: as a message title
/// (`🟠 ALARM: storm-007`) or as a digest line (`- 🟠 ALARM: storm-007 · ...`).
fn delivered_names(robot: &DingTalkServer) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for body in robot.accepted() {
        let title = body["markdown"]["title"].as_str().unwrap_or_default();
        let text = body["markdown"]["text"].as_str().unwrap_or_default();
        let mut names: Vec<&str> = Vec::new();
        if let Some(name) = title.strip_prefix("🟠 ALARM: ") {
            names.push(name);
        } else {
            names.extend(
                text.lines()
                    .filter_map(|l| l.strip_prefix("- 🟠 ALARM: "))
                    .filter_map(|l| l.split(" · ").next()),
            );
        }
        for name in names {
            *seen.entry(name.to_string()).or_default() += 1;
        }
    }
    seen
}

fn assert_every_alarm_once(s: &Storm) {
    let seen = delivered_names(&s.robot);
    let expected: Vec<String> = (0..ALARMS).map(|i| format!("storm-{i:03}")).collect();
    let mut missing = Vec::new();
    for name in &expected {
        match seen.get(name) {
            Some(1) => {}
            Some(n) => {
                let titles: Vec<String> = s
                    .robot
                    .accepted()
                    .iter()
                    .filter(|b| b.to_string().contains(&format!("{name} ")))
                    .map(|b| b["markdown"]["title"].to_string())
                    .collect();
                panic!("{name} accepted {n} times, in {titles:?}")
            }
            None => missing.push(name.clone()),
        }
    }
    assert!(missing.is_empty(), "never accepted: {missing:?}");
    assert_eq!(seen.len(), ALARMS, "unexpected names: {seen:?}");
}

async fn assert_queues_empty(s: &Storm) {
    assert_eq!(queue_depth(&s.sqs, &s.queue_url).await, 0);
    assert_eq!(
        queue_depth(&s.sqs, &s.dlq_url).await,
        0,
        "nothing may end up in the DLQ"
    );
}

/// Every answer the robot gave, by errcode (or HTTP status when it had none).
fn answers(robot: &DingTalkServer) -> Vec<String> {
    robot
        .requests()
        .iter()
        .filter(|r| r.errcode != 0)
        .map(|r| {
            if r.errcode == testkit::dingtalk::NO_ERRCODE {
                format!("HTTP {}", r.status)
            } else {
                format!("errcode {}", r.errcode)
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_goes_out_as_a_few_digests() {
    let s = storm(&[], 50, Robot::Free).await;
    assert_every_alarm_once(&s);
    assert_queues_empty(&s).await;
    assert_eq!(
        answers(&s.robot),
        Vec::<String>::new(),
        "no throttle, no error"
    );
    let messages = s.robot.accepted().len();
    assert!(
        messages <= 20,
        "200 alarms in batches of up to 50 should need a handful of digests, not {messages}"
    );
    assert_eq!(s.bridge.errors(), Vec::<String>::new());
    eprintln!(
        "digest storm, {INSTANCES} instances: {ALARMS} alarms in {messages} messages, 0 throttle answers, {:?}",
        s.elapsed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_without_digests_is_paced_not_dropped() {
    // One message per alarm: 200 messages through a 20-per-window robot,
    // two instances each keeping to half of it.
    let s = storm(&[("DIGEST_MIN_ALERTS", "1000")], 10, Robot::Free).await;
    assert_every_alarm_once(&s);
    assert_queues_empty(&s).await;
    assert_eq!(
        answers(&s.robot),
        Vec::<String>::new(),
        "no throttle, no error"
    );
    assert_eq!(s.robot.accepted().len(), ALARMS);
    assert_eq!(s.bridge.errors(), Vec::<String>::new());
    eprintln!(
        "paced storm, {INSTANCES} instances: {ALARMS} messages, 0 throttle answers, {:?}",
        s.elapsed
    );
}

/// The robot is already blocked (by another sender) when the storm begins,
/// and answers with a redirect. Each instance learns it from one answer,
/// sends nothing more until the block is surely over, and nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_into_a_throttled_robot_loses_nothing() {
    let s = storm(&[], 50, Robot::Throttled(ThrottleReply::Redirect)).await;
    assert_every_alarm_once(&s);
    assert_queues_empty(&s).await;
    let throttles = s.robot.throttle_answers();
    assert!(
        throttles <= INSTANCES,
        "at most one throttle answer per instance, not {throttles}: {:?}",
        answers(&s.robot)
    );
    assert_eq!(
        s.robot.redirects_followed(),
        0,
        "a redirect is never followed"
    );
    assert_eq!(s.bridge.errors(), Vec::<String>::new());
    eprintln!(
        "storm into a throttled robot, {INSTANCES} instances: {ALARMS} alarms in {} messages, {throttles} throttle answers, {:?}",
        s.robot.accepted().len(),
        s.elapsed
    );
}

/// The two concurrent invocations land on any of three warm containers, and
/// midway a deploy replaces them all: the fresh containers take their slots
/// from the same budget, so the robot still never sees more than 20 in a
/// window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churning_containers_share_one_budget() {
    let churn = Containers {
        pool: 3,
        replace_after: Some(ALARMS / 2),
        recorded_block: None,
    };
    let s = storm_in(&[("DIGEST_MIN_ALERTS", "1000")], 10, Robot::Free, churn).await;
    assert_every_alarm_once(&s);
    assert_queues_empty(&s).await;
    assert_eq!(
        answers(&s.robot),
        Vec::<String>::new(),
        "no throttle, no error"
    );
    assert_eq!(s.robot.accepted().len(), ALARMS);
    assert!(
        s.bridge.replacements() >= 3,
        "every container was replaced, not {}",
        s.bridge.replacements()
    );
    assert_eq!(s.bridge.errors(), Vec::<String>::new());
    eprintln!(
        "paced storm over 3 churning containers: {ALARMS} messages, 0 throttle answers, {} replacements, {:?}",
        s.bridge.replacements(),
        s.elapsed
    );
}

/// The robot is blocked (another container saw the throttle answer and is
/// gone) when fresh containers start: they learn it from the table and send
/// nothing until the block is over, so the robot never answers a throttle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_containers_wait_out_a_recorded_block() {
    let block = RATE_WINDOW * 10;
    let fresh = Containers {
        pool: 3,
        replace_after: None,
        recorded_block: Some(block),
    };
    let started = Instant::now();
    // The robot itself is free: any request inside the recorded block
    // shows as one that came too early.
    let s = storm_in(&[], 50, Robot::Free, fresh).await;
    assert_every_alarm_once(&s);
    assert_queues_empty(&s).await;
    assert_eq!(
        answers(&s.robot),
        Vec::<String>::new(),
        "no throttle, no error"
    );
    let first = s
        .robot
        .requests()
        .iter()
        .map(|r| r.at)
        .min()
        .expect("requests");
    assert!(
        first >= started + block,
        "the first request came {:?} after the start, inside the {block:?} block",
        first - started
    );
    assert_eq!(s.bridge.errors(), Vec::<String>::new());
}

/// The state table does not answer (here: it does not exist): each
/// container logs it and paces alone at its conservative share, never
/// unpaced, and with the two fixed containers the robot still answers no
/// throttle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_table_falls_back_to_the_per_container_share() {
    let s = storm(
        &[
            ("DIGEST_MIN_ALERTS", "1000"),
            ("STATE_TABLE", "dingtalk-notifier-missing-state"),
        ],
        10,
        Robot::Free,
    )
    .await;
    assert_every_alarm_once(&s);
    assert_queues_empty(&s).await;
    assert_eq!(
        answers(&s.robot),
        Vec::<String>::new(),
        "no throttle, no error"
    );
    let fallbacks: Vec<String> = s
        .bridge
        .invocations()
        .iter()
        .flat_map(|i| i.logs.clone())
        .filter(|l| l.contains("shared send budget unreachable"))
        .collect();
    assert!(!fallbacks.is_empty(), "the fallback is logged");
    assert!(
        fallbacks[0].contains("ResourceNotFoundException") && fallbacks[0].contains("\"share\":10"),
        "{}",
        fallbacks[0]
    );
    // Each container kept to 10 per window on its own.
    let mut times: Vec<Instant> = s.robot.requests().iter().map(|r| r.at).collect();
    times.sort();
    for (i, t) in times.iter().enumerate() {
        let in_window = times[i..]
            .iter()
            .take_while(|u| **u < *t + RATE_WINDOW)
            .count();
        assert!(in_window <= 20, "{in_window} requests in one window");
    }
}
