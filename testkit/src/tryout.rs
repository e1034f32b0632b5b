//! The local try-out (`scripts/try`, the `try-local` binary): the whole
//! path on this machine, with no AWS account and no DingTalk robot.
//!
//! 1. this kit's moto (with the patches `moto_server.py` documents) stands in
//!    for AWS, and its DingTalk robot checks every signature, keyword, size
//!    and rate limit as DingTalk does;
//! 2. the real CLI deploys the stack into moto (`deploy --yes --artifact`,
//!    the zip holding the function built for this machine);
//! 3. the function runs in the Lambda emulator behind the bridge, which does
//!    what moto cannot without Docker: SNS → SQS → event source mapping;
//! 4. `test-send` publishes a sample and waits for the function's delivery
//!    line; the alert is shown as the robot received it;
//! 5. `destroy` removes what `deploy` made.
//!
//! Every CLI step's own output goes to the terminal as a user would see it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::{
    BridgeOptions, DingTalkOptions, DingTalkServer, LambdaEmulator, Moto, SnsLambdaBridge,
};

/// The robot's access token and signing secret: made up, local only.
const TOKEN: &str = "try-local-access-token";
const SECRET: &str = "SEC7472792d6c6f63616c2d7369676e696e672d736563726574";

/// What the try-out did, for a test to check.
#[derive(Debug)]
pub struct TryOut {
    /// The request bodies the robot accepted.
    pub delivered: Vec<Value>,
    /// From the start to the robot's answer to the function.
    pub to_first_alert: Duration,
    pub total: Duration,
}

/// Runs the try-out with the CLI at `cli` and the host build of the
/// function at `bootstrap`, narrating on `out`.
pub async fn run(cli: &Path, bootstrap: &Path, out: &mut dyn Write) -> Result<TryOut> {
    let started = Instant::now();
    let work = tempfile::tempdir()?;
    step(
        out,
        "Starting the local AWS: testkit's moto server (no AWS account needed)",
    )?;
    let moto = Moto::start()?;
    writeln!(out, "    AWS_ENDPOINT_URL={}", moto.endpoint())?;
    step(
        out,
        "Starting a local DingTalk robot with 加签 (signature), as DingTalk checks it",
    )?;
    let robot = DingTalkServer::start(DingTalkOptions {
        access_token: TOKEN.into(),
        secret: Some(SECRET.into()),
        ..DingTalkOptions::default()
    })?;
    writeln!(
        out,
        "    webhook {}/robot/send?access_token=…",
        robot.base_url()
    )?;

    let zip = zip_function(bootstrap, work.path())?;
    let cli = Cli::new(cli, work.path(), &moto, &robot);
    step(
        out,
        "dingtalk-notifier deploy --yes --webhook-any-host --artifact function.zip",
    )?;
    let deploy_args = ["--yes", "--webhook-any-host", "--artifact"];
    let mut args = vec!["deploy"];
    args.extend(deploy_args);
    args.push(zip.to_str().context("a temporary path that is not UTF-8")?);
    cli.run(&args, out)?;
    let outputs = cli.outputs()?;

    step(
        out,
        "Starting the function behind SNS → SQS → Lambda (testkit's bridge and emulator)",
    )?;
    let bridge = start_function(&moto, bootstrap, &outputs).await?;
    step(out, "dingtalk-notifier test-send")?;
    cli.run(&["test-send"], out)?;
    let to_first_alert = started.elapsed();
    let delivered = robot.accepted();
    step(out, "What the robot received")?;
    for body in &delivered {
        show_message(out, body)?;
    }
    drop(bridge);

    step(out, "dingtalk-notifier destroy --yes")?;
    cli.run(&["destroy", "--yes"], out)?;
    let total = started.elapsed();
    writeln!(
        out,
        "\nFirst alert delivered {:.1} s after the start; all done in {:.1} s.",
        to_first_alert.as_secs_f64(),
        total.as_secs_f64()
    )?;
    Ok(TryOut {
        delivered,
        to_first_alert,
        total,
    })
}

fn step(out: &mut dyn Write, what: &str) -> Result<()> {
    writeln!(out, "\n==> {what}")?;
    Ok(())
}

/// `function.zip` with the binary as `bootstrap`, mode 0755, as `deploy`
/// packages it.
fn zip_function(bootstrap: &Path, dir: &Path) -> Result<PathBuf> {
    let bytes = std::fs::read(bootstrap)
        .with_context(|| format!("reading the function binary {}", bootstrap.display()))?;
    let path = dir.join("function.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path)?);
    let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    zip.start_file("bootstrap", opts)?;
    zip.write_all(&bytes)?;
    zip.finish()?;
    Ok(path)
}

/// The CLI as a user runs it, pointed at moto and the local robot.
struct Cli<'a> {
    path: &'a Path,
    dir: &'a Path,
    env: Vec<(String, String)>,
}

impl<'a> Cli<'a> {
    fn new(path: &'a Path, dir: &'a Path, moto: &Moto, robot: &DingTalkServer) -> Cli<'a> {
        let mut env = moto.env();
        env.push(("DINGTALK_WEBHOOK_URL".into(), robot.webhook_url()));
        env.push(("DINGTALK_SECRET".into(), SECRET.into()));
        env.push((
            "DINGTALK_NOTIFIER_CACHE_DIR".into(),
            dir.join("cache").display().to_string(),
        ));
        Cli { path, dir, env }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(self.path);
        cmd.args(args)
            .current_dir(self.dir)
            .env_remove("AWS_PROFILE")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        cmd
    }

    /// Runs a step; its output goes to `out` as it would to a terminal.
    fn run(&self, args: &[&str], out: &mut dyn Write) -> Result<()> {
        let shown = self.command(args).output()?;
        out.write_all(&shown.stderr)?;
        out.write_all(&shown.stdout)?;
        if !shown.status.success() {
            bail!("dingtalk-notifier {} failed ({})", args[0], shown.status);
        }
        Ok(())
    }

    /// The stack's outputs, from `status --json`.
    fn outputs(&self) -> Result<Value> {
        let shown = self.command(&["status", "--json"]).output()?;
        if !shown.status.success() {
            bail!("status failed: {}", String::from_utf8_lossy(&shown.stderr));
        }
        let doc: Value = serde_json::from_slice(&shown.stdout).context("status --json")?;
        Ok(doc["outputs"].clone())
    }
}

/// The function in the emulator, with the environment the template gave it
/// in moto, fed by the bridge from the stack's topic and queue.
async fn start_function(moto: &Moto, bootstrap: &Path, outputs: &Value) -> Result<SnsLambdaBridge> {
    let output = |key: &str| -> Result<String> {
        outputs[key]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("the stack has no {key} output"))
    };
    let cfg = moto.sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&cfg);
    let function = lambda
        .get_function_configuration()
        .function_name(output("FunctionName")?)
        .send()
        .await
        .context("reading the function's configuration from moto")?;
    let mut env: Vec<(String, String)> = function
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    env.extend(moto.env());
    let emulator = LambdaEmulator::start(bootstrap, env)?;
    SnsLambdaBridge::start_with(
        moto,
        BridgeOptions {
            queue_url: Some(output("AlertQueueUrl")?),
            ..BridgeOptions::new(output("TopicArn")?, output("LogGroupName")?)
        },
        emulator,
    )
}

/// One accepted request: the title the chat list shows, then the markdown.
fn show_message(out: &mut dyn Write, body: &Value) -> Result<()> {
    let title = body["markdown"]["title"].as_str().unwrap_or_default();
    let text = body["markdown"]["text"].as_str().unwrap_or_default();
    writeln!(out, "    Notification: {title}\n")?;
    for line in text.lines() {
        writeln!(out, "    {line}")?;
    }
    Ok(())
}
