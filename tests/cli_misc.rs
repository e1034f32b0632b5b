//! Help, exit codes and the one-line errors a new user meets first.

use crate::common;

use std::process::{Command, Output};

use common::{cli, text};
use testkit::moto::Moto;

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

#[test]
fn help_shows_examples_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (vec!["--help"], "dingtalk-notifier deploy\n"),
        (vec!["deploy", "--help"], "export DINGTALK_WEBHOOK_URL="),
        (
            vec!["destroy", "--help"],
            "dingtalk-notifier destroy --yes --purge",
        ),
        (vec!["status", "--help"], "dingtalk-notifier status --json"),
    ] {
        let out = run(&mut cli(dir.path(), &args));
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let help = text(&out.stdout);
        assert!(help.contains("Examples:"), "{args:?}:\n{help}");
        assert!(help.contains(needle), "{args:?}:\n{help}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&mut cli(dir.path(), &["deploy", "--memory", "lots"]));
    assert_eq!(out.status.code(), Some(2));
    let out = run(&mut cli(dir.path(), &["frobnicate"]));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn no_region_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(cli(dir.path(), &["status"])
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: no AWS region: pass --region or set AWS_REGION\n"
    );
}

#[test]
fn no_credentials_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&mut cli(
        dir.path(),
        &["status", "--region", "ap-southeast-1"],
    ));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), format!("error: {NO_CREDENTIALS}\n"));
}

const NO_CREDENTIALS: &str =
    "no AWS credentials found: run `aws configure`, set AWS_PROFILE, or run `aws sso login` for an SSO profile";

/// A machine whose instance-metadata endpoint answers 403 (seen in the
/// field): one line, not the provider's 900-character dump.
#[test]
fn instance_metadata_403_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let imds = common::fixed_answer_server(403, "Forbidden");
    let out = run(cli(
        dir.path(),
        &["deploy", "--yes", "--region", "ap-southeast-1"],
    )
    .env("AWS_EC2_METADATA_DISABLED", "false")
    .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds)
    .env("DINGTALK_WEBHOOK_URL", common::webhook()));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), format!("error: {NO_CREDENTIALS}\n"));
}

#[test]
fn a_malformed_region_says_what_a_region_looks_like() {
    let dir = tempfile::tempdir().unwrap();
    let creds = |cmd: &mut Command| {
        cmd.env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "secret");
    };
    let mut cmd = cli(dir.path(), &["status", "--region", "not a region"]);
    creds(&mut cmd);
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: invalid --region: `not a region` is not an AWS region name: a region looks like \
         ap-southeast-1 or us-gov-west-1 (`aws ec2 describe-regions` lists them)\n"
    );
    let mut cmd = cli(dir.path(), &["status"]);
    creds(&mut cmd);
    let out = run(cmd.env("AWS_REGION", "Singapore"));
    assert_eq!(
        text(&out.stderr),
        "error: invalid AWS region: `Singapore` is not an AWS region name: a region looks like \
         ap-southeast-1 or us-gov-west-1 (`aws ec2 describe-regions` lists them)\n"
    );
}

/// A webhook pasted into the file is not quoted back by the TOML parser.
#[test]
fn a_broken_config_file_shows_position_and_message_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dingtalk-notifier.toml"),
        format!(
            "region = \"ap-southeast-1\"\n\n[deploy]\nwebhook = {}\n",
            common::webhook()
        ),
    )
    .unwrap();
    let out = run(&mut cli(dir.path(), &["status"]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: dingtalk-notifier.toml is not valid at line 4, column 60: unexpected key or value, \
         expected newline, `#`; fix or delete it\n"
    );
    common::assert_no_secrets(&out, &[common::TOKEN]);
}

/// An answer the SDK cannot read is never printed: it may be a secret.
#[test]
fn an_unreadable_aws_answer_is_one_line_without_its_body() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = common::fixed_answer_server(
        200,
        &format!("<DescribeStacksResponse><Stacks>{}", common::TOKEN),
    );
    let out = run(cli(
        dir.path(),
        &[
            "status",
            "--region",
            "ap-southeast-1",
            "--stack-name",
            "alerts",
        ],
    )
    .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    .env("AWS_SECRET_ACCESS_KEY", "secret")
    .env("AWS_ENDPOINT_URL", &endpoint)
    .env("AWS_MAX_ATTEMPTS", "1"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: describing the stack alerts: cloudformation:DescribeStacks failed: AWS sent an \
         answer that could not be read (HTTP 200) (request id 00000000-test-request-id)\n"
    );
    common::assert_no_secrets(&out, &[common::TOKEN]);
}

#[test]
fn test_send_warns_about_secrets_typed_as_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&mut cli(
        dir.path(),
        &[
            "test-send",
            "--region",
            "ap-southeast-1",
            "--webhook-url",
            &common::webhook(),
            "--secret",
            common::SIGNING,
        ],
    ));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "warning: --webhook-url on the command line ends up in your shell history; prefer \
             DINGTALK_WEBHOOK_URL or the prompt\nwarning: --secret on the command line ends up \
             in your shell history; prefer DINGTALK_SECRET or the prompt\nerror: {NO_CREDENTIALS}\n"
        )
    );
    common::assert_no_secrets(&out, &[common::TOKEN, common::SIGNING]);
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_against_moto() {
    let moto = Moto::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let with_moto = |args: &[&str]| {
        let mut cmd = cli(dir.path(), args);
        cmd.envs(moto.env());
        cmd
    };

    // status of a stack that is not there.
    let out = run(&mut with_moto(&["status", "--stack-name", "nope"]));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.starts_with("error: no stack named nope in "), "{err}");
    assert!(
        err.ends_with(": run `dingtalk-notifier deploy` first (or pass --stack-name / --region)\n"),
        "{err}"
    );

    // test-send says the same, through the stack and for a stored webhook.
    let no_stack = "no stack named nope in us-east-1: run `dingtalk-notifier deploy` first \
                    (or pass --stack-name / --region)";
    let out = run(&mut with_moto(&["test-send", "--stack-name", "nope"]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), format!("error: {no_stack}\n"));
    let out = run(&mut with_moto(&[
        "test-send",
        "--direct",
        "--stack-name",
        "nope",
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: no webhook given (--webhook-url or DINGTALK_WEBHOOK_URL) and none stored: \
             {no_stack}\n"
        )
    );

    // A wrong time zone is named, with what to do.
    let out = run(
        with_moto(&["deploy", "--yes", "--time-zone", "Asia/Beijing"]).env(
            "DINGTALK_WEBHOOK_URL",
            "https://oapi.dingtalk.com/robot/send?access_token=abc",
        ),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).ends_with(
        "error: invalid --time-zone: `Asia/Beijing` is not an IANA time zone name (e.g. Asia/Shanghai, UTC)\n"
    ), "{}", text(&out.stderr));

    // A malformed model id.
    let out = run(with_moto(&[
        "deploy",
        "--yes",
        "--llm",
        "on",
        "--llm-model-id",
        "nova lite",
    ])
    .env(
        "DINGTALK_WEBHOOK_URL",
        "https://oapi.dingtalk.com/robot/send?access_token=abc",
    ));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).ends_with(
        "error: invalid LLM model id: `nova lite` is not a Bedrock model id: use an id such as amazon.nova-lite-v1:0, or an inference profile such as apac.amazon.nova-lite-v1:0 (lower case, no ARN)\n"
    ), "{}", text(&out.stderr));

    // A webhook on the command line is accepted but warned about, never echoed.
    let out = run(&mut with_moto(&[
        "deploy",
        "--no-input",
        "--webhook-url",
        "https://oapi.dingtalk.com/robot/send?access_token=cmdlinetoken42",
    ]));
    let err = text(&out.stderr);
    assert!(err.contains("warning: --webhook-url on the command line ends up in your shell history; prefer DINGTALK_WEBHOOK_URL or the prompt"), "{err}");
    assert!(!err.contains("cmdlinetoken42"));

    // A stack and a secret this tool did not create are left alone.
    let cfg = moto.sdk_config().await;
    let cf = aws_sdk_cloudformation::Client::new(&cfg);
    cf.create_stack()
        .stack_name("foreign")
        .template_body("Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n")
        .send()
        .await
        .unwrap();
    let sm = aws_sdk_secretsmanager::Client::new(&cfg);
    sm.create_secret()
        .name("dingtalk-notifier/foreign/webhook")
        .secret_string("not ours")
        .send()
        .await
        .unwrap();
    let out = run(&mut with_moto(&[
        "destroy",
        "--yes",
        "--stack-name",
        "foreign",
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: the stack foreign was not created by dingtalk-notifier (no app=dingtalk-notifier tag); not deleting it\n"
    );
    let out = run(
        with_moto(&["deploy", "--yes", "--stack-name", "foreign"]).env(
            "DINGTALK_WEBHOOK_URL",
            "https://oapi.dingtalk.com/robot/send?access_token=abc",
        ),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).ends_with(
        "error: a secret named dingtalk-notifier/foreign/webhook exists but is not tagged as belonging to stack foreign; delete it or choose another --stack-name\n"
    ), "{}", text(&out.stderr));
    let still = cf
        .describe_stacks()
        .stack_name("foreign")
        .send()
        .await
        .unwrap();
    assert_eq!(
        still.stacks()[0].stack_status().unwrap().as_str(),
        "CREATE_COMPLETE"
    );
    let value = sm
        .get_secret_value()
        .secret_id("dingtalk-notifier/foreign/webhook")
        .send()
        .await
        .unwrap();
    assert_eq!(value.secret_string(), Some("not ours"));

    // destroy of a stack that never existed is a success.
    let out = run(&mut with_moto(&[
        "destroy",
        "--yes",
        "--stack-name",
        "ghost",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("✓ Nothing to destroy: no stack named ghost in "),
        "{}",
        text(&out.stderr)
    );
}
