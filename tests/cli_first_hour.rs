//! A new user's first hour: every required value enforced without a
//! terminal (one test per robot security setting), errors that name the
//! real cause before any network call (an unknown region, a missing
//! profile), help that pastes at 80 columns, completions into a new
//! directory, and `preview` pointing at broken JSON.

mod common;

use std::net::TcpListener;
use std::process::{Command, Output};

use common::{artifact_zip, cli, text};
use testkit::moto::Moto;

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

/// `deploy --yes --robot-security <setting>` against moto, with the webhook
/// in the environment and nothing else.
fn deploy_with_security(moto: &Moto, dir: &std::path::Path, setting: &str) -> Output {
    let zip = artifact_zip(dir);
    run(cli(
        dir,
        &[
            "deploy",
            "--yes",
            "--robot-security",
            setting,
            "--artifact",
            zip.to_str().unwrap(),
        ],
    )
    .envs(moto.env())
    .env("DINGTALK_WEBHOOK_URL", common::webhook()))
}

async fn stack_exists(moto: &Moto) -> bool {
    let cf = aws_sdk_cloudformation::Client::new(&moto.sdk_config().await);
    cf.describe_stacks()
        .stack_name("dingtalk-notifier")
        .send()
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signature_robot_without_its_secret_is_refused() {
    let moto = Moto::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = deploy_with_security(&moto, dir.path(), "signature");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).ends_with(
            "error: missing signing secret for a signature (加签) robot: pass --secret or set \
             DINGTALK_SECRET (the SEC… secret in the robot's security settings), or choose \
             another --robot-security\n"
        ),
        "{}",
        text(&out.stderr)
    );
    assert!(!stack_exists(&moto).await, "nothing is deployed");
    common::assert_no_secrets(&out, &[common::TOKEN]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_keyword_robot_without_a_keyword_is_refused() {
    let moto = Moto::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = deploy_with_security(&moto, dir.path(), "keywords");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).ends_with(
            "error: missing keyword for a keyword robot: pass --keyword or set DINGTALK_KEYWORD\n"
        ),
        "{}",
        text(&out.stderr)
    );
    assert!(!stack_exists(&moto).await, "nothing is deployed");
}

/// An IP allow-list needs nothing more: it deploys, with the warning that
/// Lambda's addresses change.
#[tokio::test(flavor = "multi_thread")]
async fn an_ip_allow_list_robot_deploys_with_a_warning() {
    let moto = Moto::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = deploy_with_security(&moto, dir.path(), "ip-allow-list");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(
            "warning: the function posts from AWS Lambda, whose outgoing IP addresses change"
        ),
        "{}",
        text(&out.stderr)
    );
    assert!(stack_exists(&moto).await);
}

/// An endpoint that counts the connections made to it (none expected).
struct Endpoint(TcpListener);

impl Endpoint {
    fn new() -> Endpoint {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        Endpoint(l)
    }

    fn url(&self) -> String {
        format!("http://{}", self.0.local_addr().unwrap())
    }

    fn connections(&self) -> usize {
        std::iter::from_fn(|| self.0.accept().ok()).count()
    }
}

fn with_credentials<'a>(cmd: &'a mut Command, endpoint: &Endpoint) -> &'a mut Command {
    cmd.env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_ENDPOINT_URL", endpoint.url())
        .env("AWS_MAX_ATTEMPTS", "1")
}

#[test]
fn an_unknown_region_is_refused_before_any_call_with_the_closest_one() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::new();
    let out = run(with_credentials(
        &mut cli(dir.path(), &["status", "--region", "ap-southest-1"]),
        &endpoint,
    ));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: invalid --region: `ap-southest-1` is not an AWS region this release knows: did \
         you mean ap-southeast-1? (a region newer than this release: pass \
         --allow-unknown-region)\n"
    );
    // From the environment, the same.
    let out = run(
        with_credentials(&mut cli(dir.path(), &["status"]), &endpoint)
            .env("AWS_REGION", "us-est-1"),
    );
    assert_eq!(
        text(&out.stderr),
        "error: invalid AWS region: `us-est-1` is not an AWS region this release knows: did \
         you mean us-east-1? (a region newer than this release: pass \
         --allow-unknown-region)\n"
    );
    assert_eq!(endpoint.connections(), 0, "no call was made");

    // Allowed: the CLI goes on and calls the endpoint (a closed port here).
    let args = [
        "status",
        "--region",
        "ap-southest-1",
        "--allow-unknown-region",
    ];
    let out =
        run(with_credentials(&mut cli(dir.path(), &args), &endpoint)
            .env("AWS_ENDPOINT_URL", CLOSED));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("could not reach the AWS endpoint"),
        "{}",
        text(&out.stderr)
    );
}

/// Nothing listens there: a call fails at once.
const CLOSED: &str = "http://127.0.0.1:1";

#[test]
fn a_missing_profile_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::new();
    let aws = dir.path().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(aws.join("config"), "[profile dev]\nregion = us-east-1\n").unwrap();
    let out = run(with_credentials(
        &mut cli(dir.path(), &["status", "--profile", "prod"]),
        &endpoint,
    ));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: the AWS profile `prod` (--profile) is not in ~/.aws/config or \
         ~/.aws/credentials (or AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE): `aws configure \
         list-profiles` lists the profiles there; `aws configure --profile prod` or `aws \
         configure sso` creates it\n"
    );
    let out = run(
        with_credentials(&mut cli(dir.path(), &["status"]), &endpoint).env("AWS_PROFILE", "prod"),
    );
    assert!(
        text(&out.stderr).starts_with("error: the AWS profile `prod` (AWS_PROFILE) is not in"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(endpoint.connections(), 0, "no call was made");
    // A profile that is there passes this check (and the call goes out).
    let out = run(with_credentials(
        &mut cli(dir.path(), &["status", "--profile", "dev"]),
        &endpoint,
    )
    .env("AWS_ENDPOINT_URL", CLOSED));
    assert!(
        text(&out.stderr).contains("could not reach the AWS endpoint"),
        "{}",
        text(&out.stderr)
    );
}

/// Every help text pastes: no line is wider than 80 columns, so nothing
/// wraps, and each example line is a comment, a command, or the rest of a
/// command whose line ended in `\`.
#[test]
fn help_fits_80_columns_and_examples_paste() {
    let dir = tempfile::tempdir().unwrap();
    for command in [
        "",
        "preview",
        "deploy",
        "test-send",
        "status",
        "destroy",
        "redrive",
        "completions",
    ] {
        let mut args: Vec<&str> = command.split_whitespace().collect();
        args.push("--help");
        let out = run(cli(dir.path(), &args).env("COLUMNS", "80"));
        assert_eq!(out.status.code(), Some(0), "{command}");
        let help = text(&out.stdout);
        for line in help.lines() {
            assert!(
                console::measure_text_width(line) <= 80,
                "`{command} --help` has a line over 80 columns:\n{line}"
            );
        }
        let examples = help
            .split("Examples:\n")
            .nth(1)
            .unwrap_or_else(|| panic!("`{command} --help` has no examples"));
        let mut continued = false;
        for line in examples.lines() {
            if line.is_empty() && !continued {
                continue;
            }
            if !line.starts_with(' ') {
                break; // the text after the examples
            }
            let body = line.trim_start();
            assert!(
                continued
                    || body.is_empty()
                    || body.starts_with('#')
                    || body.starts_with("dingtalk-notifier ")
                    || body.starts_with("export "),
                "`{command} --help`: a wrapped example line:\n{line}"
            );
            continued = body.ends_with('\\');
        }
    }
}

#[test]
fn completions_create_the_directory_they_write_to() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("new/completions");
    let out = run(&mut cli(
        dir.path(),
        &["completions", "bash", "--dir", target.to_str().unwrap()],
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let file = target.join("dingtalk-notifier");
    assert_eq!(text(&out.stdout), format!("Wrote {}\n", file.display()));
    let script = std::fs::read_to_string(&file).unwrap();
    assert!(script.starts_with("_dingtalk__notifier() {"), "{script}");

    // --install: the shell's own per-user directory under HOME.
    for (shell, path) in [
        (
            "bash",
            ".local/share/bash-completion/completions/dingtalk-notifier",
        ),
        ("zsh", ".zfunc/_dingtalk-notifier"),
        ("fish", ".config/fish/completions/dingtalk-notifier.fish"),
    ] {
        let out = run(&mut cli(dir.path(), &["completions", shell, "--install"]));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(dir.path().join(path).is_file(), "{shell}");
    }
    let out = run(&mut cli(
        dir.path(),
        &["completions", "powershell", "--install"],
    ));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: powershell has no per-user completion directory: print the script and add it \
         to your profile (dingtalk-notifier completions powershell >> $PROFILE), or pass --dir\n"
    );
}

#[test]
fn preview_says_where_broken_json_breaks() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("event.json"),
        "{\n  \"source\": \"aws.health\",\n  \"detail\": {\"a\": 1,}\n}\n",
    )
    .unwrap();
    let out = run(&mut cli(
        dir.path(),
        &["preview", "--event", "event.json", "--json"],
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "warning: event.json is not valid JSON (line 3, column 21: trailing comma), shown as \
         text\n"
    );
}

/// `--llm on|off` as the help says; true/false still work for old scripts.
#[test]
fn llm_takes_on_and_off() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&mut cli(dir.path(), &["deploy", "--help"]));
    assert!(
        text(&out.stdout).contains("--llm <on|off>"),
        "{}",
        text(&out.stdout)
    );
    for value in ["on", "off", "true", "false"] {
        let args = [
            "deploy",
            "--no-input",
            "--artifact",
            "f.zip",
            "--llm",
            value,
        ];
        let out = run(&mut cli(dir.path(), &args));
        // Past the parser: the next need is a region.
        assert_eq!(
            text(&out.stderr),
            "error: no AWS region: pass --region or set AWS_REGION\n",
            "--llm {value}"
        );
    }
    let out = run(&mut cli(dir.path(), &["deploy", "--llm", "maybe"]));
    assert_eq!(out.status.code(), Some(2));
}
