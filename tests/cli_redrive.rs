//! `redrive` with the real binary against moto: a stack deployed by the CLI
//! (`--artifact`, no cross build), alerts put into its dead-letter queue in
//! the shapes that really land there, then dry run, refusal without a
//! terminal, the move itself, `--max`, and the clear errors.

use crate::common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::{artifact_zip, cli, text, webhook, SIGNING, TOKEN};
use serde_json::{json, Value};
use testkit::moto::Moto;

const STACK: &str = "dingtalk-notifier";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:dingtalk-notifier-Topic-1A2B3C4D5E6F";

struct World {
    moto: Moto,
    dir: tempfile::TempDir,
    zip: PathBuf,
}

impl World {
    fn new() -> World {
        let moto = Moto::start().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let zip = artifact_zip(dir.path());
        World { moto, dir, zip }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = cli(self.dir.path(), args);
        cmd.envs(self.moto.env());
        cmd
    }

    /// Runs and checks that no secret leaked into stdout or stderr.
    fn run(&self, args: &[&str]) -> Output {
        let out = self.cmd(args).output().unwrap();
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!all.contains(TOKEN), "access token leaked:\n{all}");
        assert!(!all.contains(SIGNING), "signing secret leaked:\n{all}");
        out
    }

    fn deploy(&self) -> Output {
        let zip = self.zip.to_str().unwrap().to_string();
        let mut cmd = self.cmd(&["deploy", "--yes", "--artifact", &zip]);
        cmd.env("DINGTALK_WEBHOOK_URL", webhook())
            .env("DINGTALK_SECRET", SIGNING);
        cmd.output().unwrap()
    }
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The URL of one of the stack's queues, read from its resources (moto does
/// not fill in outputs for stacks created through change sets).
async fn queue_url(cfg: &aws_config::SdkConfig, stack: &str, logical_id: &str) -> String {
    let cf = aws_sdk_cloudformation::Client::new(cfg);
    // Unfiltered: moto fails on a LogicalResourceId filter for this template.
    let res = cf
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .unwrap();
    res.stack_resources()
        .iter()
        .find(|r| r.logical_resource_id() == Some(logical_id))
        .and_then(|r| r.physical_resource_id())
        .unwrap_or_else(|| panic!("the stack has a {logical_id}"))
        .to_string()
}

fn name_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_string()
}

async fn counts(sqs: &aws_sdk_sqs::Client, url: &str) -> (u64, u64) {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let attrs = out.attributes().unwrap();
    (
        attrs[&A::ApproximateNumberOfMessages].parse().unwrap(),
        attrs[&A::ApproximateNumberOfMessagesNotVisible]
            .parse()
            .unwrap(),
    )
}

async fn put(sqs: &aws_sdk_sqs::Client, url: &str, body: &str) {
    sqs.send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .unwrap();
}

/// Every body in the queue (received with a long visibility timeout, so
/// none comes twice).
async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    let mut empty = 0;
    while empty < 2 {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .send()
            .await
            .unwrap();
        if out.messages().is_empty() {
            empty += 1;
            continue;
        }
        for m in out.messages() {
            bodies.push(m.body().unwrap().to_string());
        }
    }
    bodies
}

fn sorted_json(bodies: &[String]) -> Vec<Value> {
    let mut values: Vec<Value> = bodies
        .iter()
        .map(|b| serde_json::from_str(b).unwrap_or_else(|_| Value::String(b.clone())))
        .collect();
    values.sort_by_key(|v| v.to_string());
    values
}

fn sorted_lines(s: &str) -> Vec<String> {
    let mut lines: Vec<String> = s.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

fn alarm_event() -> Value {
    json!({
        "version": "0", "id": "5b0f3e4c-9a1d-4e2b-8c3f-0a1b2c3d4e5f",
        "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
        "account": "123456789012", "time": "2026-03-01T08:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu-high"],
        "detail": {"alarmName": "cpu-high",
                   "state": {"value": "ALARM", "reason": "Threshold Crossed", "timestamp": "2026-03-01T08:00:00.000+0000"},
                   "previousState": {"value": "OK"}}
    })
}

fn health_event() -> Value {
    json!({
        "version": "0", "id": "2c8a7e61-3f0b-4d59-9b6e-7d1e5f4a3b2c",
        "detail-type": "AWS Health Event", "source": "aws.health",
        "account": "123456789012", "time": "2026-03-01T09:00:00Z", "region": "us-east-1",
        "resources": ["i-0123456789abcdef0"],
        "detail": {"service": "EC2", "eventTypeCode": "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",
                   "eventTypeCategory": "scheduledChange", "statusCode": "upcoming",
                   "eventDescription": [{"language": "en_US", "latestDescription": "Instance retirement"}]}
    })
}

fn ec2_event() -> Value {
    json!({
        "version": "0", "id": "9e4d2b1a-6c5f-4a3e-8d7c-1b2a3c4d5e6f",
        "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
        "account": "123456789012", "time": "2026-03-01T10:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"],
        "detail": {"instance-id": "i-0123456789abcdef0", "state": "stopped"}
    })
}

/// (a) What the alert queue moved to the DLQ after MaxReceiveCount tries:
///     SNS's notification, as SNS wrote it (spacing included).
fn redriven_notification() -> String {
    format!(
        "{{\n  \"Type\" : \"Notification\",\n  \"MessageId\" : \"0f6a7d2e-1b3c-5d4e-8f9a-0b1c2d3e4f5a\",\n  \
         \"TopicArn\" : \"{TOPIC}\",\n  \"Message\" : {},\n  \"Timestamp\" : \"2026-03-01T08:00:01.123Z\",\n  \
         \"SignatureVersion\" : \"1\",\n  \"Signature\" : \"bm90IGEgcmVhbCBzaWduYXR1cmU=\",\n  \
         \"SigningCertURL\" : \"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem\",\n  \
         \"UnsubscribeURL\" : \"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={TOPIC}:sub\"\n}}",
        Value::String(alarm_event().to_string())
    )
}

/// (b) A failed asynchronous invocation from SNS: the Lambda event, two records.
fn failed_sns_invocation() -> String {
    json!({"Records": [
        {"EventSource": "aws:sns", "EventVersion": "1.0",
         "EventSubscriptionArn": format!("{TOPIC}:3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"),
         "Sns": {"Type": "Notification", "MessageId": "a1b2c3d4-e5f6-5a7b-8c9d-0e1f2a3b4c5d",
                 "TopicArn": TOPIC, "Subject": "Nightly backup failed",
                 "Message": "backup job db-nightly failed at 02:00\nsee AWS Backup",
                 "Timestamp": "2026-03-01T02:00:05.000Z", "SignatureVersion": "1",
                 "Signature": "c2ln", "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
                 "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/unsub",
                 "MessageAttributes": {}}},
        {"EventSource": "aws:sns", "EventVersion": "1.0",
         "EventSubscriptionArn": format!("{TOPIC}:3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"),
         "Sns": {"Type": "Notification", "MessageId": "b2c3d4e5-f6a7-5b8c-9d0e-1f2a3b4c5d6e",
                 "TopicArn": TOPIC, "Subject": null,
                 "Message": health_event().to_string(),
                 "Timestamp": "2026-03-01T09:00:02.000Z", "SignatureVersion": "1",
                 "Signature": "c2ln", "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
                 "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/unsub",
                 "MessageAttributes": {}}}
    ]})
    .to_string()
}

/// (b) A failed asynchronous invocation straight from EventBridge.
fn failed_eventbridge_invocation() -> String {
    ec2_event().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn redrive_moves_dead_letters_back_to_the_alert_queue() {
    let w = World::new();
    assert_ok(&w.deploy());
    let cfg = w.moto.sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    let dlq_url = queue_url(&cfg, STACK, "DeadLetterQueue").await;
    let alert_url = queue_url(&cfg, STACK, "AlertQueue").await;
    let (dlq, alert_queue) = (name_of(&dlq_url), name_of(&alert_url));

    put(&sqs, &dlq_url, &redriven_notification()).await;
    put(&sqs, &dlq_url, &failed_sns_invocation()).await;
    put(&sqs, &dlq_url, &failed_eventbridge_invocation()).await;
    assert_eq!(counts(&sqs, &dlq_url).await, (3, 0));

    // 1. Dry run: the four alerts, by id and title; nothing moves.
    let out = w.run(&["redrive", "--dry-run"]);
    assert_ok(&out);
    assert_eq!(
        sorted_lines(&text(&out.stdout)),
        sorted_lines(
            "0f6a7d2e-1b3c-5d4e-8f9a-0b1c2d3e4f5a  CloudWatch Alarm State Change\n\
             a1b2c3d4-e5f6-5a7b-8c9d-0e1f2a3b4c5d  Nightly backup failed\n\
             b2c3d4e5-f6a7-5b8c-9d0e-1f2a3b4c5d6e  AWS Health Event\n\
             9e4d2b1a-6c5f-4a3e-8d7c-1b2a3c4d5e6f  EC2 Instance State-change Notification\n"
        )
    );
    assert_eq!(
        text(&out.stderr),
        format!(
            "==> Dry run: would redrive 4 alerts (3 messages) from {dlq} to {alert_queue}; nothing was moved.\n"
        )
    );
    // Visible again straight away, and nothing was sent.
    assert_eq!(counts(&sqs, &dlq_url).await, (3, 0));
    assert_eq!(counts(&sqs, &alert_url).await, (0, 0));

    // 2. Without --yes and without a terminal: a clear refusal, nothing moves.
    let out = w.run(&["redrive"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: redrive sends the dead-letter queue's alerts again and needs a confirmation: \
         pass --yes to redrive without a terminal (or --dry-run to only list them)\n"
    );
    assert_eq!(counts(&sqs, &dlq_url).await, (3, 0));

    // 3. The move.
    let out = w.run(&["redrive", "--yes", "--json"]);
    assert_ok(&out);
    assert_eq!(
        text(&out.stderr),
        format!(
            "==> Redriving the 3 messages from {dlq} to {alert_queue}\n\
             ✓ Redrove 4 alerts from {dlq} to {alert_queue}.\n"
        )
    );
    let mut doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let mut alerts = doc["alerts"].as_array().unwrap().clone();
    alerts.sort_by_key(|a| a["id"].to_string());
    doc["alerts"] = Value::Array(alerts);
    assert_eq!(
        doc,
        json!({
            "stack": STACK, "region": "us-east-1",
            "dead_letter_queue": dlq_url, "alert_queue": alert_url,
            "dry_run": false, "messages": 3, "redriven": 4, "failed": [], "not_deleted": 0,
            "alerts": [
                {"id": "0f6a7d2e-1b3c-5d4e-8f9a-0b1c2d3e4f5a", "title": "CloudWatch Alarm State Change"},
                {"id": "9e4d2b1a-6c5f-4a3e-8d7c-1b2a3c4d5e6f", "title": "EC2 Instance State-change Notification"},
                {"id": "a1b2c3d4-e5f6-5a7b-8c9d-0e1f2a3b4c5d", "title": "Nightly backup failed"},
                {"id": "b2c3d4e5-f6a7-5b8c-9d0e-1f2a3b4c5d6e", "title": "AWS Health Event"},
            ]
        })
    );
    assert_eq!(counts(&sqs, &dlq_url).await, (0, 0));

    // Exactly what the function reads from the alert queue.
    let bodies = drain(&sqs, &alert_url).await;
    assert_eq!(bodies.len(), 4, "{bodies:#?}");
    assert!(
        bodies.contains(&redriven_notification()),
        "an SNS notification goes back byte for byte: {bodies:#?}"
    );
    assert_eq!(
        sorted_json(&bodies),
        sorted_json(&[
            redriven_notification(),
            json!({"Type": "Notification", "MessageId": "a1b2c3d4-e5f6-5a7b-8c9d-0e1f2a3b4c5d",
                   "TopicArn": TOPIC, "Subject": "Nightly backup failed",
                   "Message": "backup job db-nightly failed at 02:00\nsee AWS Backup",
                   "Timestamp": "2026-03-01T02:00:05.000Z"})
            .to_string(),
            json!({"Type": "Notification", "MessageId": "b2c3d4e5-f6a7-5b8c-9d0e-1f2a3b4c5d6e",
                   "TopicArn": TOPIC, "Message": health_event().to_string(),
                   "Timestamp": "2026-03-01T09:00:02.000Z"})
            .to_string(),
            ec2_event().to_string(),
        ])
    );

    // 4. Nothing left: one clear line, exit 0.
    let out = w.run(&["redrive", "--yes"]);
    assert_ok(&out);
    assert_eq!(
        text(&out.stderr),
        format!("✓ Nothing to redrive: the dead-letter queue {dlq} is empty.\n")
    );
    assert!(out.stdout.is_empty());

    // 5. --max takes that many messages and leaves the rest.
    put(&sqs, &dlq_url, "disk almost full on db-1").await;
    put(&sqs, &dlq_url, "disk almost full on db-2").await;
    let out = w.run(&["redrive", "--yes", "--max", "1"]);
    assert_ok(&out);
    assert_eq!(
        text(&out.stderr),
        format!(
            "==> Redriving 1 of the 2 messages from {dlq} to {alert_queue}\n\
             ✓ Redrove 1 alert from {dlq} to {alert_queue}.\n    \
             Stopped at --max 1; more messages may wait in {dlq}.\n"
        )
    );
    assert_eq!(counts(&sqs, &dlq_url).await, (1, 0));
    let moved = drain(&sqs, &alert_url).await;
    assert_eq!(moved.len(), 1);
    assert!(moved[0].starts_with("disk almost full on db-"), "{moved:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn redrive_errors_are_one_clear_line() {
    let w = World::new();
    let cfg = w.moto.sdk_config().await;

    let out = w.run(&["redrive", "--yes", "--stack-name", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: no stack named nope in us-east-1: run `dingtalk-notifier deploy` first (or pass --stack-name / --region)\n"
    );

    // A stack from before the alert queue: only a dead-letter queue.
    let cf = aws_sdk_cloudformation::Client::new(&cfg);
    cf.create_stack()
        .stack_name("dingtalk-notifier-old")
        .template_body(
            "Resources:\n  DeadLetterQueue:\n    Type: AWS::SQS::Queue\n\
             Outputs:\n  DeadLetterQueueUrl:\n    Value: { Ref: DeadLetterQueue }\n",
        )
        .send()
        .await
        .unwrap();
    let out = w.run(&[
        "redrive",
        "--dry-run",
        "--stack-name",
        "dingtalk-notifier-old",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: the stack dingtalk-notifier-old has no AlertQueueUrl output: it was deployed by an older \
         dingtalk-notifier; run `dingtalk-notifier deploy` to update it, then redrive\n"
    );

    // Usage errors exit 2.
    let out = w.run(&["redrive", "--max", "0"]);
    assert_eq!(out.status.code(), Some(2));

    // Help with examples.
    let out = w.run(&["redrive", "--help"]);
    assert_ok(&out);
    let help = text(&out.stdout);
    assert!(help.contains("Examples:"), "{help}");
    assert!(
        help.contains("dingtalk-notifier redrive --dry-run"),
        "{help}"
    );
    let out = w.run(&["--help"]);
    assert!(
        text(&out.stdout).contains("dingtalk-notifier redrive --dry-run"),
        "{}",
        text(&out.stdout)
    );
}
