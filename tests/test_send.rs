//! `test-send`: the real binary posting to a local DingTalk robot that checks
//! signatures and keywords, and the SNS path through moto: the stack
//! deployed by the CLI, the real `bootstrap` in the Lambda Runtime API
//! emulator, and the testkit bridge standing in for the SNS subscription and
//! the SQS event source mapping that moto does not run.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{artifact_zip, text};
use dingtalk_notifier_lambda::dingtalk::request_body;
use dingtalk_notifier_lambda::format::{render, FormatOptions};
use dingtalk_notifier_lambda::samples::{sample_event, SampleKind};
use dingtalk_notifier_lambda::secret::WebhookConfig;
use serde_json::Value;
use testkit::{
    BridgeOptions, DingTalkOptions, DingTalkServer, LambdaEmulator, Moto, Outcome, SnsLambdaBridge,
};

const TOKEN: &str = "ts-token-8d1e2f";
const SIGNING: &str = "SEC0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const SUBJECT: &str = "dingtalk-notifier test-send";
/// What `--direct --webhook-url` says first: no stack, so no shared budget.
const OUTSIDE_THE_BUDGET: &str = "warning: --webhook-url posts outside the stack's send budget \
     (20 messages a minute per robot, shared by its function); without --webhook-url, --direct \
     takes its slot from that budget\n";

fn cli(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = common::cli(dir, args);
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1");
    cmd
}

fn assert_no_secrets(out: &Output) {
    for stream in [text(&out.stdout), text(&out.stderr)] {
        assert!(!stream.contains(TOKEN), "token leaked: {stream}");
        assert!(!stream.contains(SIGNING), "signing secret leaked: {stream}");
    }
}

/// What the robot must receive for the `kind` sample sent by test-send: its
/// subject, the keyword the deployment adds, no mention.
fn expected_post(webhook: String, kind: SampleKind) -> Value {
    let cfg = WebhookConfig {
        webhook,
        secret: Some(SIGNING.into()),
        at_mobiles: vec![],
        at_all_on: vec![],
        keyword: Some("告警".into()),
    };
    let rendered = render(sample_event(kind), Some(SUBJECT), &FormatOptions::default());
    request_body(&cfg, &rendered.message, &Default::default())
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
    assert_eq!(
        robot.accepted(),
        vec![expected_post(robot.webhook_url(), SampleKind::Health)]
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
    // Which security setting failed, and what to change, in words.
    assert_eq!(
        text(&out.stderr),
        format!("{OUTSIDE_THE_BUDGET}Posting the sample to DingTalk; waiting up to 15 s for the robot at 127.0.0.1 to \
         answer…\nerror: DingTalk refused the message: the robot's custom keywords \
         (自定义关键词) check failed (errcode 310000): no keyword was sent: pass --keyword with \
         one of the keywords in the robot's security settings\n")
    );
    assert_eq!(robot.count_errcode(310000), 1);
    assert!(robot.accepted().is_empty());
    assert_no_secrets(&out);

    // The keyword is right now, but the signing secret is not the robot's.
    let out = cli(
        dir.path(),
        &[
            "test-send",
            "--direct",
            "--webhook-any-host",
            "--keyword",
            "值班",
        ],
    )
    .env("DINGTALK_WEBHOOK_URL", robot.webhook_url())
    .env("DINGTALK_SECRET", "SECnot-the-robots-secret")
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!("{OUTSIDE_THE_BUDGET}Posting the sample to DingTalk; waiting up to 15 s for the robot at 127.0.0.1 to \
         answer…\nerror: DingTalk refused the message: the robot's signature (加签) check \
         failed (errcode 310000): the signing secret does not match the robot's (or this \
         machine's clock is off by more than an hour): set DINGTALK_SECRET to the SEC… secret \
         in the robot's security settings\n")
    );
    assert_eq!(robot.count_errcode(310000), 2);
    assert!(robot.accepted().is_empty());
    assert_no_secrets(&out);
}

/// No AWS settings at all (no region, no credentials, an empty HOME):
/// `--direct` with a webhook needs none.
#[test]
fn direct_needs_no_aws_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let robot = robot("告警");
    let out = common::cli(
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
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "Delivered \"🛠️ AWS Health: EC2 计划维护\" to DingTalk (errcode 0: ok).\n"
    );
    // What it waits for, and nothing else.
    assert_eq!(
        text(&out.stderr),
        format!("{OUTSIDE_THE_BUDGET}Posting the sample to DingTalk; waiting up to 15 s for the robot at 127.0.0.1 to \
         answer…\n")
    );
    assert_eq!(
        robot.accepted(),
        vec![expected_post(robot.webhook_url(), SampleKind::Health)]
    );
    assert_no_secrets(&out);
}

/// A robot that cannot be reached: the cause is in the error, the token is not.
#[test]
fn direct_names_why_dingtalk_could_not_be_reached() {
    let dir = tempfile::tempdir().unwrap();
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let out = common::cli(
        dir.path(),
        &[
            "test-send",
            "--direct",
            "--webhook-any-host",
            "--timeout",
            "1",
        ],
    )
    .env(
        "DINGTALK_WEBHOOK_URL",
        format!("http://127.0.0.1:{port}/robot/send?access_token={TOKEN}"),
    )
    .env("DINGTALK_SECRET", SIGNING)
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        format!("{OUTSIDE_THE_BUDGET}Posting the sample to DingTalk; waiting up to 2 s for the robot at 127.0.0.1 to \
         answer…\nerror: could not reach DingTalk: connection refused (error sending request: \
         client error (Connect): tcp connect error: Connection refused (os error 111))\n")
    );
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
        "error: invalid webhook URL: it must start with https:// (pass --webhook-any-host for an \
         http:// relay or a local test robot)\n"
    );
    assert_no_secrets(&out);
}

// ---------------------------------------------------------------------------
// The SNS path: publish to the stack's topic, read the outcome in its logs.

const STACK: &str = "dingtalk-notifier";

/// The stack's outputs. testkit's moto_server.py builds them when a change
/// set is executed, as CloudFormation does (plain moto 5.2.5 never shows
/// outputs for a stack created through a change set); should it not, a plain `UpdateStack` with the previous template (and moto keeping the
/// previous parameters) makes moto build them, without touching a resource (real CloudFormation has
/// the outputs as soon as the change set is executed).
async fn stack_outputs(cfg: &aws_config::SdkConfig) -> BTreeMap<String, String> {
    let cf = aws_sdk_cloudformation::Client::new(cfg);
    let outputs = |s: &aws_sdk_cloudformation::types::Stack| -> BTreeMap<String, String> {
        s.outputs()
            .iter()
            .map(|o| {
                (
                    o.output_key().unwrap().to_string(),
                    o.output_value().unwrap().to_string(),
                )
            })
            .collect()
    };
    let describe = || async {
        cf.describe_stacks()
            .stack_name(STACK)
            .send()
            .await
            .unwrap()
            .stacks()
            .first()
            .cloned()
            .expect("the stack exists")
    };
    let stack = describe().await;
    if !stack.outputs().is_empty() {
        return outputs(&stack);
    }
    let resources_before = cf
        .list_stack_resources()
        .stack_name(STACK)
        .send()
        .await
        .unwrap();
    // No Parameters: moto keeps the previous values (and answers "No updates
    // are to be performed" to UsePreviousValue with the same template).
    cf.update_stack()
        .stack_name(STACK)
        .use_previous_template(true)
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityIam)
        .send()
        .await
        .unwrap();
    let resources_after = cf
        .list_stack_resources()
        .stack_name(STACK)
        .send()
        .await
        .unwrap();
    let ids =
        |r: &aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesOutput| {
            r.stack_resource_summaries()
                .iter()
                .map(|s| {
                    (
                        s.logical_resource_id().unwrap_or_default().to_string(),
                        s.physical_resource_id().unwrap_or_default().to_string(),
                    )
                })
                .collect::<BTreeMap<_, _>>()
        };
    assert_eq!(ids(&resources_before), ids(&resources_after));
    let updated = describe().await;
    assert_eq!(stack.parameters(), updated.parameters());
    outputs(&updated)
}

/// The stack deployed by the CLI in moto, its function running in the
/// emulator behind the bridge.
struct SnsWorld {
    // Dropped first: it stops polling before moto goes away.
    bridge: SnsLambdaBridge,
    outputs: BTreeMap<String, String>,
    dir: tempfile::TempDir,
    moto: Moto,
}

impl SnsWorld {
    /// `deploy --yes --artifact` with the robot's webhook and signing secret
    /// (plus `deploy_args`), then the function and the bridge.
    async fn deploy(robot: &DingTalkServer, deploy_args: &[&str]) -> SnsWorld {
        SnsWorld::deploy_with(robot, deploy_args, "", &[]).await
    }

    /// The same, from a dingtalk-notifier.toml holding `toml` and with
    /// `env` added to deploy's environment.
    async fn deploy_with(
        robot: &DingTalkServer,
        deploy_args: &[&str],
        toml: &str,
        env: &[(&str, String)],
    ) -> SnsWorld {
        let moto = Moto::start().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dingtalk-notifier.toml"), toml).unwrap();
        let zip = artifact_zip(dir.path());
        let mut args = vec![
            "deploy",
            "--yes",
            "--artifact",
            zip.to_str().unwrap(),
            "--webhook-any-host",
        ];
        args.extend_from_slice(deploy_args);
        let out = cli(dir.path(), &args)
            .envs(moto.env())
            .env("DINGTALK_WEBHOOK_URL", robot.webhook_url())
            .env("DINGTALK_SECRET", SIGNING)
            .envs(env.iter().map(|(k, v)| (k.to_string(), v.clone())))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert_no_secrets(&out);

        let cfg = moto.sdk_config().await;
        let outputs = stack_outputs(&cfg).await;
        // The environment the template gives the function, as moto keeps it.
        let lambda = aws_sdk_lambda::Client::new(&cfg);
        let function = lambda
            .get_function_configuration()
            .function_name(&outputs["FunctionName"])
            .send()
            .await
            .unwrap();
        let mut env: Vec<(String, String)> = function
            .environment()
            .and_then(|e| e.variables())
            .expect("the function has an environment")
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert!(
            env.contains(&(
                "DINGTALK_SECRET_ARN".to_string(),
                outputs["SecretArn"].clone()
            )),
            "{env:?}"
        );
        assert!(
            outputs["SecretArn"].contains(":secret:dingtalk-notifier/dingtalk-notifier/webhook")
        );
        env.extend(moto.env());
        let function = LambdaEmulator::start(&testkit::bootstrap_binary().unwrap(), env).unwrap();
        let bridge = SnsLambdaBridge::start_with(
            &moto,
            BridgeOptions {
                queue_url: Some(outputs["AlertQueueUrl"].clone()),
                ..BridgeOptions::new(&outputs["TopicArn"], &outputs["LogGroupName"])
            },
            function,
        )
        .unwrap();
        // The stack's AlertQueueMapping, which the bridge replaces.
        assert_eq!(bridge.disabled_mappings().len(), 1);
        SnsWorld {
            bridge,
            outputs,
            dir,
            moto,
        }
    }

    fn test_send(&self, args: &[&str]) -> Output {
        let mut all = vec!["test-send"];
        all.extend_from_slice(args);
        cli(self.dir.path(), &all)
            .envs(self.moto.env())
            .output()
            .unwrap()
    }
}

/// The SNS MessageId from test-send's progress line on stderr.
fn published_id(out: &Output) -> String {
    let err = text(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("Published message "))
        .unwrap_or_else(|| panic!("no publish line: {err}"));
    line["Published message ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .to_string()
}

/// The function's outcome line for `alert_id` in an invocation's logs.
fn outcome_line(invocation: &testkit::Invocation, alert_id: &str) -> Value {
    invocation
        .logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["alert_id"] == alert_id && v.get("outcome").is_some())
        .unwrap_or_else(|| panic!("no outcome line for {alert_id}: {:?}", invocation.logs))
}

#[tokio::test(flavor = "multi_thread")]
async fn through_sns_delivers_the_rendered_sample() {
    let robot = robot("告警");
    let world = SnsWorld::deploy(&robot, &["--keyword", "告警"]).await;
    let out = world.test_send(&["--sample", "alarm", "--timeout", "60"]);
    assert!(
        out.status.success(),
        "exit {:?}\n{}\n{}\nbridge errors: {:?}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr),
        world.bridge.errors()
    );
    let id = published_id(&out);
    assert!(
        text(&out.stderr).contains(&format!(
            "Published message {id} to {}; waiting for the function",
            world.outputs["TopicArn"]
        )),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        text(&out.stdout),
        format!("Delivered: the function sent message {id} to DingTalk.\n")
    );
    assert_no_secrets(&out);

    assert_eq!(
        robot.accepted(),
        vec![expected_post(robot.webhook_url(), SampleKind::Alarm)]
    );

    // One batch of one SQS message, delivered and deleted from the queue.
    assert!(world.bridge.wait_for_batches(1, Duration::from_secs(10)));
    assert_eq!(world.bridge.errors(), Vec::<String>::new());
    let batches = world.bridge.batches();
    assert_eq!(batches.len(), 1, "{batches:?}");
    assert_eq!(batches[0].message_ids.len(), 1);
    assert_eq!(batches[0].deleted, batches[0].message_ids);
    assert!(batches[0].left.is_empty());
    let invocations = world.bridge.invocations();
    assert_eq!(
        invocations[0].outcome,
        Outcome::Response(serde_json::json!({"batchItemFailures": []}))
    );
    let line = outcome_line(&invocations[0], &id);
    assert_eq!(line["outcome"], "delivered");
    assert_eq!(line["kind"], "alarm_state_change");
}

#[tokio::test(flavor = "multi_thread")]
async fn through_sns_reports_the_dingtalk_errcode() {
    // The robot wants a keyword the deployment does not add: errcode 310000.
    let robot = robot("值班");
    let world = SnsWorld::deploy(&robot, &[]).await;
    let started = Instant::now();
    let out = world.test_send(&["--timeout", "60"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(50));
    let id = published_id(&out);
    let err = text(&out.stderr);
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!(
            "error: the function could not deliver message {id}: DingTalk rejected the message: errcode 310000 (security check failed"
        )),
        "{err}"
    );
    assert!(last.contains("keywords not in content"), "{err}");
    assert_eq!(text(&out.stdout), "");
    assert_no_secrets(&out);
    assert_eq!(robot.count_errcode(310000), 1);
    assert!(robot.accepted().is_empty());

    // The function named the message in batchItemFailures: it stays queued
    // for SQS to redeliver (and, after MaxReceiveCount tries, to dead-letter).
    assert!(world.bridge.wait_for_batches(1, Duration::from_secs(10)));
    assert_eq!(world.bridge.errors(), Vec::<String>::new());
    let batch = &world.bridge.batches()[0];
    assert_eq!(batch.left, batch.message_ids);
    assert!(batch.deleted.is_empty());
    assert_eq!(batch.whole_batch_failed, None);
    let invocation = &world.bridge.invocations()[0];
    assert_eq!(
        invocation.outcome,
        Outcome::Response(serde_json::json!({
            "batchItemFailures": [{"itemIdentifier": batch.message_ids[0]}]
        }))
    );
    assert_eq!(outcome_line(invocation, &id)["outcome"], "failed");
}

/// `--direct` to the stored webhook takes its slot from the stack's shared
/// budget, like the function: it counts in the robot's item, and while the
/// table records the robot as blocked it sends nothing.
#[tokio::test(flavor = "multi_thread")]
async fn direct_to_the_deployed_stack_takes_its_slot_from_the_shared_budget() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let robot = robot("告警");
    let world = SnsWorld::deploy(&robot, &["--keyword", "告警"]).await;
    let table = world.outputs["StateTableName"].clone();
    assert_eq!(table, format!("dingtalk-notifier-{STACK}-state"));
    let ddb = aws_sdk_dynamodb::Client::new(&world.moto.sdk_config().await);
    let item = || async {
        ddb.get_item()
            .table_name(&table)
            .key("pk", AttributeValue::S("robot#default".into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .unwrap_or_default()
    };

    let out = world.test_send(&["--direct", "--sample", "health"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(robot.accepted().len(), 1);
    assert_eq!(
        item().await.get("sent"),
        Some(&AttributeValue::N("1".into()))
    );

    // Another container saw a throttle answer: the robot is blocked.
    let until = std::time::SystemTime::now() + Duration::from_secs(600);
    let until_ms = until
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    ddb.update_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("robot#default".into()))
        .update_expression("SET blocked_until = :u")
        .expression_attribute_values(":u", AttributeValue::N(until_ms.to_string()))
        .send()
        .await
        .unwrap();
    let out = world.test_send(&["--direct", "--sample", "health", "--timeout", "3"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let last = text(&out.stderr)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert!(
        last.starts_with(
            "error: DingTalk blocked the robot after a throttle answer (the stack's send budget \
             records it): nothing may be sent for another 59"
        ) && last.ends_with(" s; try again then"),
        "{last}"
    );
    assert_eq!(robot.requests().len(), 1, "nothing sent during the block");
    assert_no_secrets(&out);

    // The table does not answer (here: it is gone): nothing is sent outside
    // the budget, and the error says why and what to do.
    ddb.delete_table().table_name(&table).send().await.unwrap();
    let out = world.test_send(&["--direct", "--sample", "health", "--timeout", "3"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let last = text(&out.stderr)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert!(
        last.starts_with(&format!(
            "error: nothing was sent: the shared send budget (DynamoDB table {table}) is \
             unreachable: ResourceNotFoundException"
        )) && last.ends_with(
            "; --direct waits for the stack's send budget rather than post outside it (the \
             deploy policy's TestSendDirectSlot statement allows it), or pass --webhook-url to \
             post outside it"
        ),
        "{last}"
    );
    assert_eq!(robot.requests().len(), 1);
}

/// A robot that refuses everything (its token was revoked: `300001`): the
/// function's outcome line carries `robot_refused` (what the stack's metric
/// filter counts for the `<stack>-robot-refusals` alarm), the alert stays in
/// the buffer, then the dead-letter queue, nothing is lost, and `redrive`
/// sends it once the robot is fixed.
#[tokio::test(flavor = "multi_thread")]
async fn a_dead_robot_is_counted_and_its_alert_kept_until_redrive() {
    use aws_sdk_sqs::types::QueueAttributeName;
    let robot = robot("告警");
    let world = SnsWorld::deploy(&robot, &["--keyword", "告警"]).await;
    let cfg = world.moto.sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    let (queue, dlq) = (
        world.outputs["AlertQueueUrl"].clone(),
        world.outputs["DeadLetterQueueUrl"].clone(),
    );
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    // Tries every 2 s, 2 of them, instead of every 361 s, 15 of them.
    sqs.set_queue_attributes()
        .queue_url(&queue)
        .attributes(QueueAttributeName::VisibilityTimeout, "2")
        .attributes(
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}).to_string(),
        )
        .send()
        .await
        .unwrap();
    // A ReceiveMessage already waiting (the bridge polls for up to 1 s)
    // keeps the visibility timeout it started with.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let depth = |url: String| {
        let sqs = sqs.clone();
        async move {
            let a = sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                .send()
                .await
                .unwrap()
                .attributes
                .unwrap();
            let n = |k: &QueueAttributeName| a[k].parse::<u64>().unwrap();
            n(&QueueAttributeName::ApproximateNumberOfMessages)
                + n(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        }
    };

    // The robot's token is revoked: it answers 300001 to everything.
    robot.rotate("a-token-issued-later", Some(SIGNING));
    let out = world.test_send(&["--sample", "alarm", "--timeout", "30"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let id = published_id(&out);
    assert!(
        text(&out.stderr).contains("errcode 300001"),
        "{}",
        text(&out.stderr)
    );
    let line = outcome_line(&world.bridge.invocations()[0], &id);
    assert_eq!(line["outcome"], "failed");
    assert_eq!(line["transient"], false);
    assert_eq!(line["errcode"], 300001);
    assert_eq!(line["robot_refused"], true, "{line}");

    // Tried again, then moved to the dead-letter queue: kept, not lost.
    let deadline = Instant::now() + Duration::from_secs(60);
    while depth(dlq.clone()).await < 1 {
        assert!(
            Instant::now() < deadline,
            "the alert never reached the dead-letter queue: {} in the buffer, {} invocations, bridge errors {:?}",
            depth(queue.clone()).await,
            world.bridge.invocations().len(),
            world.bridge.errors()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(depth(queue.clone()).await, 0);
    assert_eq!(depth(dlq.clone()).await, 1);
    let refusals = world
        .bridge
        .invocations()
        .iter()
        .flat_map(|i| i.logs.clone())
        .filter(|l| l.contains("\"robot_refused\":true"))
        .count();
    assert!(refusals >= 2, "each try is counted, not {refusals}");
    assert!(robot.accepted().is_empty());

    // The robot is fixed (its old token restored); redrive sends the alert.
    robot.rotate(TOKEN, Some(SIGNING));
    let out = cli(world.dir.path(), &["redrive", "--yes"])
        .envs(world.moto.env())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let deadline = Instant::now() + Duration::from_secs(30);
    while robot.accepted().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the redriven alert never arrived"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        robot.accepted(),
        vec![expected_post(robot.webhook_url(), SampleKind::Alarm)]
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(depth(queue).await, 0);
    assert_eq!(depth(dlq).await, 0);
}

/// Two robots deployed by the CLI with a route: the GuardDuty sample
/// through the stack reaches the security robot with its route's mention,
/// and `test-send --robot security` posts straight to that robot, taking
/// its slot from that robot's own budget (`robot#security`).
#[tokio::test(flavor = "multi_thread")]
async fn routes_and_test_send_robot_reach_the_named_robot() {
    use aws_sdk_dynamodb::types::AttributeValue;
    const SECURITY_TOKEN: &str = "ts-security-token-4c5d";
    let ops = robot("告警");
    let security = DingTalkServer::start(DingTalkOptions {
        access_token: SECURITY_TOKEN.into(),
        keywords: vec!["安全".into()],
        ..Default::default()
    })
    .unwrap();
    let toml = "[robots.security]\nsecurity = \"keywords\"\nkeyword = \"安全\"\n\n\
                [[routes]]\nsource = [\"aws.guardduty\"]\nrobot = \"security\"\nat_mobiles = [\"13800000000\"]\n";
    let world = SnsWorld::deploy_with(
        &ops,
        &["--keyword", "告警"],
        toml,
        &[("DINGTALK_WEBHOOK_URL_SECURITY", security.webhook_url())],
    )
    .await;

    let out = world.test_send(&["--sample", "guardduty", "--timeout", "60"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = security.accepted();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(
        got[0]["at"],
        serde_json::json!({"atMobiles": ["13800000000"], "isAtAll": false})
    );
    assert!(got[0]["markdown"]["text"]
        .as_str()
        .unwrap()
        .ends_with("@13800000000"));
    assert!(ops.accepted().is_empty());

    // status counts the function's outcome lines by robot.
    let out = cli(world.dir.path(), &["status"])
        .envs(world.moto.env())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains(
            "  security  route 1: source aws.guardduty; mentions 1 people from high\n            last 24 h: 1 delivered, 0 throttled, 0 failed\n"
        ),
        "{shown}"
    );

    let out = world.test_send(&["--robot", "security", "--sample", "alarm"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains(SECURITY_TOKEN));
    assert_eq!(security.accepted().len(), 2);
    assert!(ops.accepted().is_empty());
    let table = world.outputs["StateTableName"].clone();
    let item = aws_sdk_dynamodb::Client::new(&world.moto.sdk_config().await)
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("robot#security".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_default();
    // One slot by the function, one by test-send.
    assert_eq!(item.get("sent"), Some(&AttributeValue::N("2".into())));

    let out = world.test_send(&["--robot", "ops", "--sample", "alarm"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("the webhook secret has no robot `ops`"),
        "{}",
        text(&out.stderr)
    );
}
