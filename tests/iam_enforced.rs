//! (b) of the deploy policy: every AWS call the CLI makes is granted. moto
//! enforces IAM after its first set-up calls (`INITIAL_NO_AUTH_ACTION_COUNT`);
//! the CLI then runs deploy (with forwarders in every enabled region),
//! status, test-send (also `--region`), redrive and destroy as a user
//! holding only the deploy policy (as moto can evaluate it: see
//! `common::iam::for_moto`). The set-up uses the AWS CLI, the same one
//! scripts/setup installs.

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
