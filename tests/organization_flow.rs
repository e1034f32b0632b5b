//! An event in a member account reaches the DingTalk group: the real CLI
//! deploys the home stack with `--organization` (us-east-1, forwarder region
//! eu-west-1); the StackSet's forwarders in the member accounts send their
//! events to the home bus, in the home region too (another account, same
//! region), and the real `bootstrap` posts them naming the account.
//!
//! What stands in for AWS, and where it falls short:
//! - moto really creates the StackSet's instance stacks in the member
//!   accounts (rules and role), and routes an event to another account's bus
//!   as EventBridge does (testkit's moto_server.py keeps it as it is).
//! - moto 5.2.5 neither models `AWS::Events::EventBusPolicy` nor checks a
//!   bus policy when a rule targets another account's bus; testkit's
//!   moto_server.py teaches it both (with the `events:source` condition
//!   key), and this test checks the policy as deployed, that only the AWS
//!   sources we forward get in, and that without it nothing gets in.
//! - The member accounts' events land on the home stack's own bus for
//!   forwarded events, never on its default bus.
//! - moto does not assume the forwarder's role or enforce IAM: the role is
//!   asserted on the template (tests/template_forwarder.rs).
//! - moto does not run the SNS subscription or the event source mapping: the
//!   testkit bridge does (as in tests/regions_flow.rs).

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::org::{as_member, MANAGEMENT};
use common::{artifact_zip, text};
use dingtalk_notifier_lambda::dingtalk::request_body;
use dingtalk_notifier_lambda::format::{render, FormatOptions};
use dingtalk_notifier_lambda::secret::WebhookConfig;
use serde_json::{json, Value};
use testkit::{
    BridgeOptions, DingTalkOptions, DingTalkServer, LambdaEmulator, Moto, SnsLambdaBridge,
};

const TOKEN: &str = "of-token-7e6d5c";
const SIGNING: &str = "SEC1b2c3d4e5f60718293a4b5c6d7e8f9a0";
const HOME: &str = "us-east-1";
/// The home stack's bus for forwarded events.
const BUS: &str = "dingtalk-notifier-dingtalk-notifier";

/// A real AWS event of the lambda crate's fixtures.
fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("lambda/tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A real AWS Health event's `detail`, about the home region.
fn health_detail(name: &str) -> Value {
    let event = fixture(name);
    let mut detail = event["detail"].clone();
    detail["eventRegion"] = json!(HOME);
    detail
}

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

fn home_config(moto: &Moto) -> aws_config::SdkConfig {
    Moto::sdk_config_for(moto.endpoint())
        .to_builder()
        .region(aws_config::Region::new(HOME))
        .build()
}

struct World {
    _bridge: SnsLambdaBridge,
    /// A second subscriber to the home topic: what the function was given.
    observer: String,
    robot: DingTalkServer,
    names: BTreeMap<String, String>,
    org_id: String,
    members: Vec<(String, String)>,
    moto: Moto,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let robot = DingTalkServer::start(DingTalkOptions {
        access_token: TOKEN.into(),
        secret: Some(SIGNING.into()),
        ..Default::default()
    })
    .unwrap();
    let moto = Moto::start().unwrap();
    let org = common::org::create(&home_config(&moto)).await;
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
            "--rules",
            "health,ec2,alarm,guardduty",
            "--regions",
            "eu-west-1",
            "--organization",
        ],
    )
    .env("DINGTALK_WEBHOOK_URL", robot.webhook_url())
    .env("DINGTALK_SECRET", SIGNING)
    .output()
    .unwrap();
    ok(&out);

    let home = home_config(&moto);
    let stack = aws_sdk_cloudformation::Client::new(&home)
        .describe_stacks()
        .stack_name("dingtalk-notifier")
        .send()
        .await
        .unwrap();
    let outputs: BTreeMap<String, String> = stack.stacks()[0]
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
    let vars = function.environment().and_then(|e| e.variables()).unwrap();
    let names: BTreeMap<String, String> = serde_json::from_str(&vars["ACCOUNT_NAMES"]).unwrap();
    let mut env: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
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
    let observer = observe(&home, &outputs["TopicArn"]).await;
    World {
        _bridge: bridge,
        observer,
        robot,
        names,
        org_id: org.id,
        members: org.members,
        moto,
        _dir: dir,
    }
}

/// A queue subscribed to the topic, to read what the function was given.
async fn observe(home: &aws_config::SdkConfig, topic: &str) -> String {
    let sqs = aws_sdk_sqs::Client::new(home);
    let url = sqs
        .create_queue()
        .queue_name("observer")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    aws_sdk_sns::Client::new(home)
        .subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(arn)
        .send()
        .await
        .unwrap();
    url
}

impl World {
    /// The next SNS notification the topic delivered (its `Message`).
    async fn observed(&self) -> String {
        common::take_notification(&home_config(&self.moto), &self.observer).await
    }

    /// What the robot must have received for `message`, with the names.
    fn expected_post(&self, message: &str) -> Value {
        let cfg = WebhookConfig {
            webhook: self.robot.webhook_url(),
            secret: Some(SIGNING.into()),
            at_mobiles: vec![],
            at_all_on: vec![],
            keyword: None,
        };
        let opts = FormatOptions {
            account_names: self.names.clone(),
            ..FormatOptions::default()
        };
        request_body(
            &cfg,
            &render(message, None, &opts).message,
            &Default::default(),
        )
    }

    fn wait_for_posts(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.robot.accepted().len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        self.robot.accepted()
    }

    /// A rule of `account`'s own in `region` that sends `source`'s events to
    /// the home bus through `role_arn` (replacing the rule's target each time).
    async fn forward_as(&self, account: &str, region: &str, role_arn: &str, source: &str) {
        let config = as_member(&home_config(&self.moto), account, region).await;
        let events = aws_sdk_eventbridge::Client::new(&config);
        events
            .put_rule()
            .name("own-copy")
            .event_pattern(json!({"source": [source]}).to_string())
            .send()
            .await
            .unwrap();
        events
            .put_targets()
            .rule("own-copy")
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("home")
                    .arn(format!(
                        "arn:aws:events:{HOME}:{MANAGEMENT}:event-bus/{BUS}"
                    ))
                    .role_arn(role_arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }

    /// Puts an EC2 state change on `account`'s default bus in `region`, as
    /// EC2 would there.
    async fn put_ec2_event(&self, account: &str, region: &str, instance: &str) {
        let detail = json!({"instance-id": instance, "state": "stopped"});
        self.put_event(
            account,
            region,
            "aws.ec2",
            "EC2 Instance State-change Notification",
            detail,
        )
        .await;
    }

    /// Puts an event on `account`'s default bus in `region`.
    async fn put_event(
        &self,
        account: &str,
        region: &str,
        source: &str,
        kind: &str,
        detail: Value,
    ) {
        let config = as_member(&home_config(&self.moto), account, region).await;
        let put = aws_sdk_eventbridge::Client::new(&config)
            .put_events()
            .entries(
                aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                    .source(source)
                    .detail_type(kind)
                    .detail(detail.to_string())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(put.failed_entry_count(), 0);
    }

    /// Nothing more reached the topic within two seconds.
    async fn nothing_observed(&self) {
        let sqs = aws_sdk_sqs::Client::new(&home_config(&self.moto));
        let got = sqs
            .receive_message()
            .queue_url(&self.observer)
            .wait_time_seconds(2)
            .send()
            .await
            .unwrap();
        assert!(got.messages().is_empty(), "{:?}", got.messages());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_accounts_event_reaches_the_robot_naming_the_account() {
    let w = world().await;
    let (dev, prod) = (w.members[0].0.clone(), w.members[1].0.clone());
    assert_eq!(
        w.names,
        BTreeMap::from([
            (MANAGEMENT.to_string(), "master".to_string()),
            (dev.clone(), "dev".to_string()),
            (prod.clone(), "prod".to_string()),
        ])
    );

    // Another region of a member account: cross-account and cross-region.
    w.put_ec2_event(&prod, "eu-west-1", "i-0pr0deu").await;
    let message = w.observed().await;
    let event: Value = serde_json::from_str(&message).unwrap();
    assert_eq!(
        (&event["account"], &event["region"]),
        (&json!(prod), &json!("eu-west-1")),
        "the account and region it happened in"
    );
    let posts = w.wait_for_posts(1);
    assert_eq!(posts, vec![w.expected_post(&message)]);
    let text = posts[0]["markdown"]["text"].as_str().unwrap().to_string();
    assert!(text.contains(&format!("prod ({prod})")), "{text}");

    // The home region of a member account: another account, same region.
    w.put_ec2_event(&dev, HOME, "i-0devhome").await;
    let message = w.observed().await;
    let event: Value = serde_json::from_str(&message).unwrap();
    assert_eq!(
        (&event["account"], &event["region"]),
        (&json!(dev), &json!(HOME))
    );
    let posts = w.wait_for_posts(2);
    assert_eq!(posts.len(), 2, "one more post");
    assert_eq!(posts[1], w.expected_post(&message));
    let text = posts[1]["markdown"]["text"].as_str().unwrap().to_string();
    assert!(text.contains(&format!("dev ({dev})")), "{text}");

    // The home bus's policy as deployed: the organization's forwarder
    // roles, the AWS sources we forward, nothing else; on our own bus.
    let events = aws_sdk_eventbridge::Client::new(&home_config(&w.moto));
    let bus = events.describe_event_bus().name(BUS).send().await.unwrap();
    let policy: Value = serde_json::from_str(bus.policy().unwrap()).unwrap();
    assert_eq!(
        policy,
        json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "dingtalk-notifier-organization",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "events:PutEvents",
            "Resource": format!("arn:aws:events:{HOME}:{MANAGEMENT}:event-bus/{BUS}"),
            "Condition": {
                "StringEquals": {
                    "aws:PrincipalOrgID": w.org_id
                },
                // Only AWS events: PutEvents refuses aws.* sources from customers.
                "StringLike": {"events:source": "aws.*"},
                "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/dingtalk-notifier/*"}
            }
        }]})
    );
    let default = events
        .describe_event_bus()
        .name("default")
        .send()
        .await
        .unwrap();
    assert_eq!(default.policy(), None, "the default bus lets nobody in");
    // Only the forwarders' roles get in: a member's own rule to the home bus,
    // in a region without a forwarder, delivers through a role on the
    // forwarders' path and not through any other.
    let quiet = "ap-northeast-1";
    w.forward_as(
        &dev,
        quiet,
        &format!("arn:aws:iam::{dev}:role/ops/other"),
        "aws.ec2",
    )
    .await;
    w.put_ec2_event(&dev, quiet, "i-0n0tf0rwarder").await;
    w.forward_as(
        &dev,
        quiet,
        &format!("arn:aws:iam::{dev}:role/dingtalk-notifier/copy"),
        "aws.ec2",
    )
    .await;
    w.put_ec2_event(&dev, quiet, "i-0f0rwarderpath").await;
    let message = w.observed().await;
    assert!(message.contains("i-0f0rwarderpath"), "{message}");
    assert!(!message.contains("i-0n0tf0rwarder"), "{message}");
    let posts = w.wait_for_posts(3);
    assert_eq!(posts[2], w.expected_post(&message));

    // A member's own events cannot get in, even through a role on the
    // forwarders' path: its test events (no member forwarder has a test
    // rule) or any other source of its own.
    for source in ["dingtalk-notifier.test", "my.app"] {
        w.forward_as(
            &dev,
            quiet,
            &format!("arn:aws:iam::{dev}:role/dingtalk-notifier/copy"),
            source,
        )
        .await;
        let detail = json!({"message": "click [here](https://phish.example/) to claim"});
        w.put_event(&dev, quiet, source, "dingtalk-notifier test event", detail)
            .await;
    }
    let test = json!({"message": "from a member", "test_id": "0011223344556677"});
    w.put_event(
        &dev,
        HOME,
        "dingtalk-notifier.test",
        "dingtalk-notifier test event",
        test,
    )
    .await;
    w.nothing_observed().await;

    // AWS sends PUBLIC Health events to every account: a member's copy
    // stays there (the home account's own is delivered); its
    // account-specific events are forwarded.
    w.put_event(
        &prod,
        HOME,
        "aws.health",
        "AWS Health Event",
        health_detail("health_issue.json"),
    )
    .await;
    w.put_event(
        &prod,
        HOME,
        "aws.health",
        "AWS Health Event",
        health_detail("health_scheduled_maintenance.json"),
    )
    .await;
    let message = w.observed().await;
    let event: Value = serde_json::from_str(&message).unwrap();
    assert_eq!(
        event["detail"]["eventScopeCode"], "ACCOUNT_SPECIFIC",
        "{message}"
    );
    assert_eq!(event["account"], json!(prod));
    w.nothing_observed().await;
    let posts = w.wait_for_posts(4);
    assert_eq!(posts.len(), 4);
    assert_eq!(posts[3], w.expected_post(&message));
    // An opt-in rule's event too (one rule on the home bus takes what the
    // member forwarders' opt-in rules send): a GuardDuty finding, severity 8.
    let finding = fixture("guardduty_finding.json");
    w.put_event(
        &prod,
        HOME,
        "aws.guardduty",
        "GuardDuty Finding",
        finding["detail"].clone(),
    )
    .await;
    let message = w.observed().await;
    let event: Value = serde_json::from_str(&message).unwrap();
    assert_eq!(event["source"], "aws.guardduty", "{message}");
    assert_eq!(event["account"], json!(prod));
    w.nothing_observed().await;
    let posts = w.wait_for_posts(5);
    assert_eq!(posts.len(), 5);
    assert_eq!(posts[4], w.expected_post(&message));
    // Without it, a member account's events do not get in (testkit's moto
    // checks a bus policy as EventBridge does).
    events
        .remove_permission()
        .event_bus_name(BUS)
        .statement_id("dingtalk-notifier-organization")
        .send()
        .await
        .unwrap();
    w.put_ec2_event(&prod, "eu-west-1", "i-0sh0u1dn0t").await;
    w.nothing_observed().await;
    assert_eq!(w.robot.accepted().len(), 5);
}
