//! (b) of the deploy policy: every AWS call the CLI makes is granted. moto
//! enforces IAM after its first set-up calls (`INITIAL_NO_AUTH_ACTION_COUNT`);
//! the CLI then runs deploy (with forwarders in every enabled region),
//! status, test-send (also `--region`), redrive and destroy as a user
//! holding only the deploy policy, evaluated with IAM's semantics
//! (resources, condition keys, explicit denies: testkit's moto launcher
//! teaches moto those; see `common::iam::for_moto`). Then the routes from
//! deploy rights to takeover rights are each refused. The set-up uses the
//! AWS CLI, the same one scripts/setup installs.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use common::iam::{deploy_policy_template, for_moto, render};
use common::{artifact_zip, cli, text, webhook, SIGNING, TOKEN};
use serde_json::Value;
use testkit::{Moto, MotoOptions};

/// One `aws` call against moto as `key` (`None`: moto's open set-up phase).
fn aws(moto: &Moto, key: Option<&(String, String)>, args: &[&str]) -> Value {
    let mut cmd = Command::new("aws");
    cmd.args(args)
        .args(["--output", "json", "--endpoint-url", moto.endpoint()])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(moto.env());
    if let Some((id, secret)) = key {
        cmd.env("AWS_ACCESS_KEY_ID", id)
            .env("AWS_SECRET_ACCESS_KEY", secret);
    }
    let out = cmd
        .output()
        .expect("the AWS CLI runs (scripts/setup installs it)");
    assert!(out.status.success(), "aws {args:?}: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// One `aws` call as `key`: its JSON answer, or its error output.
fn aws_try(moto: &Moto, key: &(String, String), args: &[&str]) -> Result<Value, String> {
    let out = Command::new("aws")
        .args(args)
        .args(["--output", "json", "--endpoint-url", moto.endpoint()])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(moto.env())
        .env("AWS_ACCESS_KEY_ID", &key.0)
        .env("AWS_SECRET_ACCESS_KEY", &key.1)
        .output()
        .expect("the AWS CLI runs (scripts/setup installs it)");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
    } else {
        Err(text(&out.stderr))
    }
}

/// A call as CloudFormation makes it on `key`'s behalf when it carries out
/// a change set (a forward access session: the caller's permissions, with
/// `aws:CalledViaFirst` = cloudformation.amazonaws.com). No client can make
/// such a call; testkit's moto reads the context from a header that stands
/// in for it. boto3 (moto's own dependency) sends it. Returns "OK" or the
/// HTTP status of the refusal (moto's lambda answers a refusal in a body
/// botocore cannot read, so its status is what both services share).
fn through_cloudformation(
    moto: &Moto,
    key: &(String, String),
    service: &str,
    operation: &str,
    params: Value,
) -> String {
    const CALL: &str = r#"
import json, sys
import boto3, botocore.exceptions
service, operation, params, endpoint = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
client = boto3.client(service, endpoint_url=endpoint)
def called_via(request, **_):
    request.headers["X-Testkit-Called-Via"] = "cloudformation.amazonaws.com"
client.meta.events.register("before-sign.*.*", called_via)
try:
    getattr(client, operation)(**params)
    print("OK")
except botocore.exceptions.ClientError as err:
    print(err.response["ResponseMetadata"]["HTTPStatusCode"])
"#;
    let out = Command::new("python3")
        .args([
            "-c",
            CALL,
            service,
            operation,
            &params.to_string(),
            moto.endpoint(),
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(moto.env())
        .env("AWS_ACCESS_KEY_ID", &key.0)
        .env("AWS_SECRET_ACCESS_KEY", &key.1)
        .output()
        .expect("python3 with boto3 runs (scripts/setup installs moto with it)");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

/// A user with these policies attached; returns its access key.
fn user(moto: &Moto, name: &str, policies: &[(&str, String)]) -> (String, String) {
    aws(moto, None, &["iam", "create-user", "--user-name", name]);
    for (policy_name, doc) in policies {
        aws(
            moto,
            None,
            &[
                "iam",
                "put-user-policy",
                "--user-name",
                name,
                "--policy-name",
                policy_name,
                "--policy-document",
                doc,
            ],
        );
    }
    let key = aws(
        moto,
        None,
        &["iam", "create-access-key", "--user-name", name],
    );
    (
        key["AccessKey"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_string(),
        key["AccessKey"]["SecretAccessKey"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

fn run(dir: &Path, moto: &Moto, key: &(String, String), args: &[&str]) -> Output {
    let mut cmd = cli(dir, args);
    cmd.envs(moto.env())
        .env("AWS_ACCESS_KEY_ID", &key.0)
        .env("AWS_SECRET_ACCESS_KEY", &key.1)
        .env("DINGTALK_WEBHOOK_URL", webhook())
        .env("DINGTALK_SECRET", SIGNING);
    let out = cmd.output().unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        !all.contains(TOKEN) && !all.contains(SIGNING),
        "a secret leaked:\n{all}"
    );
    for denied in ["AccessDenied", "not authorized", "InvalidClientTokenId"] {
        assert!(!all.contains(denied), "{args:?} was refused:\n{all}");
    }
    out
}

fn assert_ok(args: &[&str], out: &Output) {
    assert!(
        out.status.success(),
        "{args:?}: exit {:?}\n{}{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn the_cli_needs_nothing_beyond_the_deploy_policy() {
    let rendered = for_moto(&render(&deploy_policy_template(), "aws", "123456789012"));
    let policies: Vec<(&str, String)> = rendered
        .iter()
        .map(|(id, doc)| (id.as_str(), doc.to_string()))
        .collect();
    assert!(policies.iter().any(|(id, _)| *id == "DeployPolicy"));
    let admin_policy =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    // Set-up calls: per user one create-user, one put-user-policy per policy, one create-access-key.
    let setup = (1 + policies.len() + 1) + 3;
    let moto = Moto::start_with(MotoOptions {
        initial_no_auth_action_count: Some(setup as u32),
    })
    .unwrap();
    let deployer = user(&moto, "deployer", &policies);
    let admin = user(&moto, "admin", &[("admin", admin_policy.to_string())]);

    // Enforcement is on: moto's default test key is no IAM user's.
    let mut probe = Command::new("aws");
    probe
        .args(["sqs", "list-queues"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(moto.env());
    assert!(
        !probe.output().unwrap().status.success(),
        "IAM is not enforced"
    );

    let dir = tempfile::tempdir().unwrap();
    let zip = artifact_zip(dir.path());
    let zip = zip.to_str().unwrap();

    let deploy = [
        "deploy",
        "--yes",
        "--artifact",
        zip,
        "--stack-name",
        "my-alerts",
        // Forwarders too: account:ListRegions, and stacks, roles and rules
        // in every other enabled region.
        "--regions",
        "all",
    ];
    assert_ok(&deploy, &run(dir.path(), &moto, &deployer, &deploy));

    let status = ["status", "--stack-name", "my-alerts"];
    assert_ok(&status, &run(dir.path(), &moto, &deployer, &status));
    // A re-run compares each forwarder's template (GetTemplate).
    let out = run(dir.path(), &moto, &deployer, &deploy);
    assert_ok(&deploy, &out);
    assert!(
        text(&out.stderr).contains("ap-southeast-1: up to date"),
        "{}",
        text(&out.stderr)
    );

    // No function runs here, so test-send publishes, reads the log group
    // until it gives up, and fails on the wait: every call was granted.
    let test_send = ["test-send", "--stack-name", "my-alerts", "--timeout", "2"];
    let out = run(dir.path(), &moto, &deployer, &test_send);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("after 2s: check the function's logs"),
        "{}",
        text(&out.stderr)
    );
    let through = [
        "test-send",
        "--stack-name",
        "my-alerts",
        "--region",
        "ap-southeast-1",
        "--timeout",
        "2",
    ];
    let out = run(dir.path(), &moto, &deployer, &through);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("after 2s: check the function's logs"),
        "{}",
        text(&out.stderr)
    );

    let stacks = aws(
        &moto,
        Some(&admin),
        &[
            "cloudformation",
            "describe-stack-resources",
            "--stack-name",
            "my-alerts",
        ],
    );
    let dlq = stacks["StackResources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["LogicalResourceId"] == "DeadLetterQueue")
        .unwrap()["PhysicalResourceId"]
        .as_str()
        .unwrap()
        .to_string();
    aws(
        &moto,
        Some(&admin),
        &[
            "sqs",
            "send-message",
            "--queue-url",
            &dlq,
            "--message-body",
            "an undelivered alert",
        ],
    );
    let redrive = ["redrive", "--yes", "--stack-name", "my-alerts"];
    assert_ok(&redrive, &run(dir.path(), &moto, &deployer, &redrive));

    // The redriven alert now waits in the buffer (no function consumes it).
    let destroy = ["destroy", "--yes", "--purge", "--stack-name", "my-alerts"];
    let out = run(dir.path(), &moto, &deployer, &destroy);
    assert_ok(&destroy, &out);
    assert!(
        text(&out.stderr).contains(
            "warning: the stack still holds 1 alert in the buffer queue; deleting it deletes them"
        ),
        "{}",
        text(&out.stderr)
    );
}

fn refused(result: Result<Value, String>, action: &str) {
    let err = result.expect_err(&format!("{action} was allowed"));
    assert!(
        err.contains(&format!("is not authorized to perform: {action}")),
        "{action}: {err}"
    );
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    format!("file://{}", path.display())
}

/// Issue 19: deploy rights are not takeover rights. Each route the review
/// found is refused to the deploy policy's principal, and the same call on
/// the notifier's own (tagged) resources is allowed, so the refusal is the
/// policy's condition and not a missing grant.
#[test]
fn deploy_rights_are_not_takeover_rights() {
    let rendered = for_moto(&render(&deploy_policy_template(), "aws", "123456789012"));
    let policies: Vec<(&str, String)> = rendered
        .iter()
        .map(|(id, doc)| (id.as_str(), doc.to_string()))
        .collect();
    let admin_policy =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let setup = (1 + policies.len() + 1) + 3;
    let moto = Moto::start_with(MotoOptions {
        initial_no_auth_action_count: Some(setup as u32),
    })
    .unwrap();
    let deployer = user(&moto, "deployer", &policies);
    let admin = user(&moto, "admin", &[("admin", admin_policy.to_string())]);
    let dir = tempfile::tempdir().unwrap();
    let zip = artifact_zip(dir.path());
    let zip = format!("fileb://{}", zip.display());

    // The account's other resources (untagged) and some of ours (tagged).
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = aws(
        &moto,
        Some(&admin),
        &[
            "iam",
            "create-role",
            "--role-name",
            "admin-role",
            "--assume-role-policy-document",
            trust,
        ],
    );
    let role = role["Role"]["Arn"].as_str().unwrap().to_string();
    for (name, tags) in [
        ("admin-fn", None),
        ("ours-fn", Some("app=dingtalk-notifier")),
    ] {
        let mut args = vec![
            "lambda",
            "create-function",
            "--function-name",
            name,
            "--runtime",
            "provided.al2023",
            "--handler",
            "bootstrap",
            "--role",
            role.as_str(),
            "--zip-file",
            zip.as_str(),
            "--environment",
            "Variables={API_KEY=admin-only}",
        ];
        if let Some(t) = tags {
            args.extend(["--tags", t]);
        }
        aws(&moto, Some(&admin), &args);
    }
    let admin_topic = aws(
        &moto,
        Some(&admin),
        &["sns", "create-topic", "--name", "admin-topic"],
    )["TopicArn"]
        .as_str()
        .unwrap()
        .to_string();
    let our_topic = aws(
        &moto,
        Some(&admin),
        &[
            "sns",
            "create-topic",
            "--name",
            "ours-topic",
            "--tags",
            "Key=app,Value=dingtalk-notifier",
        ],
    )["TopicArn"]
        .as_str()
        .unwrap()
        .to_string();
    let admin_queue = aws(
        &moto,
        Some(&admin),
        &["sqs", "create-queue", "--queue-name", "admin-queue"],
    )["QueueUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let our_queue = aws(
        &moto,
        Some(&admin),
        &[
            "sqs",
            "create-queue",
            "--queue-name",
            "ours-queue",
            "--tags",
            "app=dingtalk-notifier",
        ],
    )["QueueUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let our_queue_arn = "arn:aws:sqs:us-east-1:123456789012:ours-queue";

    // 1. Import an existing function into a tagged stack: refused whatever
    //    the rest of the request says.
    let import = write(dir.path(), "import.yaml", "Resources:\n  Grabbed:\n    Type: AWS::Lambda::Function\n    DeletionPolicy: Retain\n    Properties:\n      FunctionName: admin-fn\n      Role: r\n      Code: {ZipFile: x}\n");
    let to_import = r#"[{"ResourceType":"AWS::Lambda::Function","LogicalResourceId":"Grabbed","ResourceIdentifier":{"FunctionName":"admin-fn"}}]"#;
    refused(
        aws_try(
            &moto,
            &deployer,
            &[
                "cloudformation",
                "create-change-set",
                "--stack-name",
                "grab",
                "--change-set-name",
                "grab",
                "--change-set-type",
                "IMPORT",
                "--resources-to-import",
                to_import,
                "--template-body",
                import.as_str(),
                "--resource-types",
                "AWS::Lambda::Function",
                "--tags",
                "Key=app,Value=dingtalk-notifier",
            ],
        ),
        "cloudformation:CreateChangeSet",
    );

    // 2. A change set with a resource type our templates do not use, named
    //    or not in ResourceTypes; the same with our types only is allowed.
    let foreign = write(
        dir.path(),
        "foreign.yaml",
        "Resources:\n  Backdoor:\n    Type: AWS::IAM::User\n",
    );
    let change_set = |template: &str, types: Option<&str>| {
        let mut args = vec![
            "cloudformation",
            "create-change-set",
            "--stack-name",
            "side",
            "--change-set-name",
            "side",
            "--change-set-type",
            "CREATE",
            "--template-body",
            template,
            "--tags",
            "Key=app,Value=dingtalk-notifier",
        ];
        if let Some(t) = types {
            args.extend(["--resource-types", t]);
        }
        aws_try(&moto, &deployer, &args)
    };
    refused(
        change_set(&foreign, Some("AWS::IAM::User")),
        "cloudformation:CreateChangeSet",
    );
    refused(change_set(&foreign, None), "cloudformation:CreateChangeSet");
    let ours = write(
        dir.path(),
        "ours.yaml",
        "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n",
    );
    change_set(&ours, Some("AWS::SNS::Topic")).expect("a change set with our types");

    // 3. Updating a function through CloudFormation: only a tagged one.
    let update = |name: &str| {
        through_cloudformation(
            &moto,
            &deployer,
            "lambda",
            "update_function_configuration",
            serde_json::json!({"FunctionName": name, "Description": "changed"}),
        )
    };
    assert_eq!(update("admin-fn"), "403");
    assert_eq!(update("ours-fn"), "OK");

    // 4. Subscribing through CloudFormation: only to a tagged topic, and
    //    only a queue or an e-mail address.
    let subscribe = |topic: &str, protocol: &str, endpoint: &str| {
        through_cloudformation(
            &moto,
            &deployer,
            "sns",
            "subscribe",
            serde_json::json!({"TopicArn": topic, "Protocol": protocol, "Endpoint": endpoint}),
        )
    };
    assert_eq!(subscribe(admin_topic.as_str(), "sqs", our_queue_arn), "403");
    assert_eq!(
        subscribe(
            our_topic.as_str(),
            "https",
            "https://collector.example.com/"
        ),
        "403"
    );
    assert_eq!(subscribe(our_topic.as_str(), "sqs", our_queue_arn), "OK");

    // 5. The direct grants: a function's configuration (its environment),
    //    a topic, a queue and the event bus, only ours.
    refused(
        aws_try(
            &moto,
            &deployer,
            &[
                "lambda",
                "get-function-configuration",
                "--function-name",
                "admin-fn",
            ],
        ),
        "lambda:GetFunctionConfiguration",
    );
    aws_try(
        &moto,
        &deployer,
        &[
            "lambda",
            "get-function-configuration",
            "--function-name",
            "ours-fn",
        ],
    )
    .expect("our function's configuration");
    refused(
        aws_try(
            &moto,
            &deployer,
            &[
                "sns",
                "publish",
                "--topic-arn",
                admin_topic.as_str(),
                "--message",
                "x",
            ],
        ),
        "sns:Publish",
    );
    aws_try(
        &moto,
        &deployer,
        &[
            "sns",
            "publish",
            "--topic-arn",
            our_topic.as_str(),
            "--message",
            "x",
        ],
    )
    .expect("a test alert to our topic");
    refused(
        aws_try(
            &moto,
            &deployer,
            &["sqs", "receive-message", "--queue-url", &admin_queue],
        ),
        "sqs:ReceiveMessage",
    );
    aws_try(
        &moto,
        &deployer,
        &["sqs", "receive-message", "--queue-url", &our_queue],
    )
    .expect("our queue");
    let event = |source: &str| {
        format!(
            r#"[{{"Source":"{source}","DetailType":"dingtalk-notifier test event","Detail":"{{}}"}}]"#
        )
    };
    refused(
        aws_try(
            &moto,
            &deployer,
            &[
                "events",
                "put-events",
                "--entries",
                event("payments.app").as_str(),
            ],
        ),
        "events:PutEvents",
    );
    aws_try(
        &moto,
        &deployer,
        &[
            "events",
            "put-events",
            "--entries",
            event("dingtalk-notifier.test").as_str(),
        ],
    )
    .expect("our test event");
}
