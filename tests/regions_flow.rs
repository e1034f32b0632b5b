//! An event in another region reaches the DingTalk group: the real CLI
//! deploys the home stack (us-east-1) and forwarders in two other regions;
//! an EC2 state change put in a forwarder region goes forwarder rule → home
//! bus → home rule → SNS topic → alert queue → the real `bootstrap` → the
//! local robot, so does a Health event (once, not again from another
//! region's copy), and `test-send --region` follows its own event the same
//! way.
//!
//! What stands in for AWS, and where it falls short:
//! - moto 5.2.5 neither delivers EventBridge → SNS nor keeps an event as it
//!   is when routing it to a bus in another region (it re-puts it, with a
//!   new id, time and the receiving region). testkit's moto_server.py
//!   teaches it both, as EventBridge does them; this test is what checks it.
//! - moto does not assume the forwarder's role or check its policy (IAM is
//!   not enforced here): the role and its one permission are asserted on the
//!   template (tests/template_forwarder.rs) and the target's RoleArn here.
//! - moto does not run the SNS subscription or the event source mapping: the
//!   testkit bridge does (as in tests/test_send.rs).

use crate::common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{artifact_zip, text};
use dingtalk_notifier_lambda::dingtalk::request_body;
use dingtalk_notifier_lambda::format::{render, FormatOptions};
use dingtalk_notifier_lambda::secret::WebhookConfig;
use serde_json::{json, Value};
use testkit::{
    BridgeOptions, DingTalkOptions, DingTalkServer, LambdaEmulator, Moto, SnsLambdaBridge,
};

const TOKEN: &str = "rf-token-5c4d3e";
const SIGNING: &str = "SEC9a8b7c6d5e4f30211203f4e5d6c7b8a9";
const HOME: &str = "us-east-1";

fn cli(dir: &Path, moto: &Moto, args: &[&str]) -> Command {
    let mut cmd = common::cli(dir, args);
    cmd.envs(moto.env());
    cmd
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\n{}\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    common::assert_no_secrets(out, &[TOKEN, SIGNING]);
}

fn in_region(moto: &Moto, region: &str) -> aws_config::SdkConfig {
    Moto::sdk_config_for(moto.endpoint())
        .to_builder()
        .region(aws_config::Region::new(region.to_string()))
        .build()
}

struct World {
    bridge: SnsLambdaBridge,
    robot: DingTalkServer,
    /// A second subscriber to the home topic: what the function was given.
    observer: String,
    dir: tempfile::TempDir,
    moto: Moto,
}

async fn world() -> World {
    let robot = DingTalkServer::start(DingTalkOptions {
        access_token: TOKEN.into(),
        secret: Some(SIGNING.into()),
        keywords: vec!["告警".into()],
        ..Default::default()
    })
    .unwrap();
    let moto = Moto::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let zip = artifact_zip(dir.path());
    let out = cli(
        dir.path(),
        &moto,
        &[
            "deploy",
            "--yes",
            "--artifact",
            zip.to_str().unwrap(),
            "--webhook-any-host",
            "--keyword",
            "告警",
            "--rules",
            "health,ec2,alarm",
            "--regions",
            "eu-west-1,ap-southeast-1",
        ],
    )
    .env("DINGTALK_WEBHOOK_URL", robot.webhook_url())
    .env("DINGTALK_SECRET", SIGNING)
    .output()
    .unwrap();
    ok(&out);

    let home = in_region(&moto, HOME);
    let cf = aws_sdk_cloudformation::Client::new(&home);
    let stack = cf
        .describe_stacks()
        .stack_name("dingtalk-notifier")
        .send()
        .await
        .unwrap();
    let outputs: std::collections::BTreeMap<String, String> = stack.stacks()[0]
        .outputs()
        .iter()
        .map(|o| {
            (
                o.output_key().unwrap().to_string(),
                o.output_value().unwrap().to_string(),
            )
        })
        .collect();
    let function = aws_sdk_lambda::Client::new(&home)
        .get_function_configuration()
        .function_name(&outputs["FunctionName"])
        .send()
        .await
        .unwrap();
    let mut env: Vec<(String, String)> = function
        .environment()
        .and_then(|e| e.variables())
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
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

    let sqs = aws_sdk_sqs::Client::new(&home);
    let observer = sqs
        .create_queue()
        .queue_name("observer")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let observer_arn = sqs
        .get_queue_attributes()
        .queue_url(&observer)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    aws_sdk_sns::Client::new(&home)
        .subscribe()
        .topic_arn(&outputs["TopicArn"])
        .protocol("sqs")
        .endpoint(observer_arn)
        .send()
        .await
        .unwrap();
    World {
        bridge,
        robot,
        observer,
        dir,
        moto,
    }
}

impl World {
    /// The next SNS notification the topic delivered (its `Message`).
    async fn observed(&self) -> String {
        common::take_notification(&in_region(&self.moto, HOME), &self.observer).await
    }

    fn wait_for_posts(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.robot.accepted().len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        self.robot.accepted()
    }

    /// What the robot must have received for `message`, the topic's message.
    fn expected_post(&self, message: &str) -> Value {
        let cfg = WebhookConfig {
            webhook: self.robot.webhook_url(),
            secret: Some(SIGNING.into()),
            at_mobiles: vec![],
            at_all_on: vec![],
            keyword: Some("告警".into()),
        };
        let rendered = render(message, None, &FormatOptions::default());
        request_body(&cfg, &rendered.message, &Default::default())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ec2_event_in_a_forwarder_region_reaches_the_robot_with_its_region() {
    let w = world().await;
    // The forwarder's rule aims at the home bus through its role.
    let eu = in_region(&w.moto, "eu-west-1");
    let stack = aws_sdk_cloudformation::Client::new(&eu)
        .describe_stacks()
        .stack_name("dingtalk-notifier-forwarder")
        .send()
        .await
        .unwrap();
    let outputs: std::collections::BTreeMap<String, String> = stack.stacks()[0]
        .outputs()
        .iter()
        .map(|o| {
            (
                o.output_key().unwrap().into(),
                o.output_value().unwrap().into(),
            )
        })
        .collect();
    let events = aws_sdk_eventbridge::Client::new(&eu);
    let targets = events
        .list_targets_by_rule()
        .rule(&outputs["Ec2StateChangeRuleName"])
        .send()
        .await
        .unwrap();
    // The home stack's own bus for forwarded events, not its default bus.
    assert_eq!(
        targets.targets()[0].arn(),
        "arn:aws:events:us-east-1:123456789012:event-bus/dingtalk-notifier-dingtalk-notifier"
    );
    assert_eq!(
        targets.targets()[0].role_arn(),
        Some(outputs["ForwarderRoleArn"].as_str())
    );

    // EC2 would put this itself; here the test does (moto accepts aws.*).
    let put = events
        .put_events()
        .entries(
            aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .source("aws.ec2")
                .detail_type("EC2 Instance State-change Notification")
                .detail(json!({"instance-id": "i-0f0rward3d", "state": "stopped"}).to_string())
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(put.failed_entry_count(), 0);

    let message = w.observed().await;
    let event: Value = serde_json::from_str(&message).unwrap();
    assert_eq!(event["region"], "eu-west-1", "the region it happened in");
    assert_eq!(event["detail"]["instance-id"], "i-0f0rward3d");
    let posts = w.wait_for_posts(1);
    assert_eq!(
        posts,
        vec![w.expected_post(&message)],
        "{:?}",
        w.bridge.errors()
    );
    let body = posts[0]["markdown"]["text"].as_str().unwrap();
    assert!(body.contains("eu-west-1"), "{body}");
    assert!(!body.contains(HOME), "never the home region: {body}");

    // A state the filter leaves out is not forwarded at all.
    events
        .put_events()
        .entries(
            aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .source("aws.ec2")
                .detail_type("EC2 Instance State-change Notification")
                .detail(json!({"instance-id": "i-0f0rward3d", "state": "pending"}).to_string())
                .build(),
        )
        .send()
        .await
        .unwrap();

    // A Health event about ap-southeast-1, delivered there: forwarded. The
    // same event as AWS Health's copy in another region (eu-west-1 and the
    // home region us-east-1, standing in for the backup region): dropped by
    // the forwarder's detail.eventRegion filter and by the home rule (not
    // about us-east-1, not from a forwarder), so the group hears of it once.
    let sample: Value = serde_json::from_str(dingtalk_notifier_lambda::samples::sample_event(
        dingtalk_notifier_lambda::samples::SampleKind::Health,
    ))
    .unwrap();
    assert_eq!(sample["detail"]["eventRegion"], "ap-southeast-1");
    for region in ["ap-southeast-1", "eu-west-1", HOME] {
        let put = aws_sdk_eventbridge::Client::new(&in_region(&w.moto, region))
            .put_events()
            .entries(
                aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                    .source("aws.health")
                    .detail_type("AWS Health Event")
                    .detail(sample["detail"].to_string())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(put.failed_entry_count(), 0);
    }
    let message = w.observed().await;
    let event: Value = serde_json::from_str(&message).unwrap();
    assert_eq!(event["region"], "ap-southeast-1");
    assert_eq!(event["detail"], sample["detail"]);
    let posts = w.wait_for_posts(2);
    assert_eq!(posts[1], w.expected_post(&message));

    // test-send --region: our own source, through the other forwarder.
    let out = cli(
        w.dir.path(),
        &w.moto,
        &["test-send", "--region", "ap-southeast-1", "--timeout", "60"],
    )
    .output()
    .unwrap();
    ok(&out);
    assert_eq!(
        text(&out.stdout),
        "Delivered: the test event from ap-southeast-1 reached DingTalk through its forwarder.\n"
    );
    let message = w.observed().await;
    let event: Value = serde_json::from_str(&message).unwrap();
    assert_eq!(event["source"], "dingtalk-notifier.test");
    assert!(!event["source"].as_str().unwrap().starts_with("aws."));
    assert_eq!(event["region"], "ap-southeast-1");
    // The id the CLI found the function's outcome line by.
    let test_id = event["detail"]["test_id"].as_str().unwrap();
    assert!(test_id.len() == 16 && test_id.bytes().all(|b| b.is_ascii_hexdigit()));
    let posts = w.wait_for_posts(3);
    assert_eq!(
        posts.len(),
        3,
        "neither the pending state nor the Health copy was delivered"
    );
    assert_eq!(posts[2], w.expected_post(&message));
}
