//! `test-send`: prove that an alert really reaches the DingTalk group.
//!
//! `--direct` renders a sample with the same library code the function runs
//! and posts it to the webhook, so a bad URL, signature or keyword shows up
//! in seconds. The default path goes the whole way: publish to the stack's
//! SNS topic, then read the function's log group until its outcome line for
//! that message appears (the log contract in docs/design.md).

use std::fmt;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use clap::Args;
use dingtalk_notifier_lambda::budget::{SharedBudget, DEFAULT_ROBOT};
use dingtalk_notifier_lambda::dingtalk::{
    errcode_meaning, DeliveryError, DingTalkClient, DEFAULT_RATE_LIMIT, DEFAULT_RATE_WINDOW,
};
use dingtalk_notifier_lambda::format::{render, FormatOptions};
use dingtalk_notifier_lambda::samples::{sample_event, SampleKind};
use dingtalk_notifier_lambda::secret::{SecretDoc, WebhookConfig};
use dingtalk_notifier_lambda::webhook_host::{self, AllowedHosts};
use serde::Serialize;
use serde_json::{json, Value};

use crate::aws::logs::{self, LogFilter};
use crate::aws::Aws;
use crate::aws::{secret, stack};
use crate::cli::GlobalArgs;
use crate::commands::{connect_for_stack, Reported};
use crate::config;
use crate::errors::{AwsResultExt, NoSuchStack};
use crate::regions;
use crate::robot_security;
use crate::term::output::Ui;

const SUBJECT: &str = "dingtalk-notifier test-send";

const TEST_SEND_AFTER_HELP: &str = "\
Examples:
  # Through the deployed stack (SNS, the queue, the function, DingTalk):
  dingtalk-notifier test-send
  dingtalk-notifier test-send --sample health
  # Straight to the robot, no AWS (webhook and secret from the environment):
  dingtalk-notifier test-send --direct
  # Straight to the robot named security in dingtalk-notifier.toml:
  dingtalk-notifier test-send --robot security

Through the stack, it waits for the function's delivery line in its log
(--timeout, 120 s). --direct waits up to 15 s for the robot's answer.";

#[derive(Args, Debug, Clone)]
#[command(after_help = TEST_SEND_AFTER_HELP)]
pub struct TestSendArgs {
    /// Post straight to the webhook instead of going through the deployed stack
    #[arg(long)]
    pub direct: bool,
    /// Post straight to this robot's stored webhook (a `[robots.NAME]` of the toml, or
    /// `default`), within its send budget; implies --direct
    #[arg(long, value_name = "NAME", conflicts_with = "webhook_url")]
    pub robot: Option<String>,
    /// Which sample alert to send
    #[arg(long, default_value = "alarm", value_parser = parse_sample, conflicts_with = "event")]
    pub sample: SampleKind,
    /// Send this EventBridge event (JSON file) instead of a sample
    #[arg(long, value_name = "FILE")]
    pub event: Option<PathBuf>,
    /// With --direct: the webhook URL (default: the one stored by `deploy`)
    #[arg(long, env = "DINGTALK_WEBHOOK_URL", hide_env_values = true)]
    pub webhook_url: Option<String>,
    /// With --direct: the robot's signing secret (SEC...)
    #[arg(long = "secret", env = "DINGTALK_SECRET", hide_env_values = true)]
    pub signing_secret: Option<String>,
    /// With --direct: the robot's custom keyword
    #[arg(long, env = "DINGTALK_KEYWORD")]
    pub keyword: Option<String>,
    /// Accept a webhook on any host / http (e.g. a relay in front of DingTalk)
    #[arg(long, env = "DINGTALK_WEBHOOK_ANY_HOST", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub webhook_any_host: Option<bool>,
    /// Seconds to wait for the delivery [default: 120; with --direct: 15]
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
}

fn parse_sample(s: &str) -> Result<SampleKind, String> {
    s.parse::<SampleKind>().map_err(|e| e.to_string())
}

/// What `test-send` reports: the `--json` document, and one line for people
/// when the alert was delivered.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum TestSendResult {
    /// `--direct`, accepted by DingTalk.
    Direct {
        delivered: bool,
        errcode: i64,
        meaning: String,
        title: String,
    },
    /// `--direct`, refused or not reached.
    DirectFailed { delivered: bool, error: String },
    /// `--region`: a test event through that region's forwarder.
    ThroughRegion {
        region: String,
        event_id: String,
        delivered: bool,
        log: Value,
    },
    /// Through the stack: the function's outcome line for the message.
    ThroughSns {
        message_id: String,
        delivered: bool,
        log: Value,
    },
}

impl fmt::Display for TestSendResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TestSendResult::Direct { title, meaning, .. } => write!(
                f,
                "Delivered \"{title}\" to DingTalk (errcode 0: {meaning})."
            ),
            TestSendResult::ThroughSns {
                message_id,
                delivered: true,
                ..
            } => write!(
                f,
                "Delivered: the function sent message {message_id} to DingTalk."
            ),
            TestSendResult::ThroughRegion {
                region,
                delivered: true,
                ..
            } => write!(
                f,
                "Delivered: the test event from {region} reached DingTalk through its forwarder."
            ),
            _ => Ok(()),
        }
    }
}

/// The result, then the verdict: a failed delivery still reports itself
/// (with `--json`) before exiting 1. `--direct --webhook-url` touches no AWS
/// at all (no region, no credentials): only the stored webhook and the
/// stack's topic need an account.
pub async fn run(
    global: &GlobalArgs,
    ui: &Ui,
    args: &TestSendArgs,
) -> Result<Reported<TestSendResult>> {
    let payload = read_payload(args)?;
    if args.direct || args.robot.is_some() {
        // The function's host rule: the relay given now, or the stack's list.
        let (cfg, client) = match &args.webhook_url {
            Some(url) => {
                let cfg = webhook_from_args(url, args)?;
                ui.warn(OUTSIDE_THE_BUDGET);
                let hosts = AllowedHosts::parse(&webhook_host::relay_hosts_for(url));
                (cfg, DingTalkClient::new().with_webhook_hosts(hosts))
            }
            None => {
                let (aws, stack_name) = connect_for_stack(global, ui).await?;
                let robot = args.robot.as_deref().unwrap_or(DEFAULT_ROBOT);
                let (cfg, table, hosts) = stored_webhook(&aws, &stack_name, robot).await?;
                let hosts = AllowedHosts::parse(&hosts);
                (
                    cfg,
                    direct_client(ui, &aws, table, robot).with_webhook_hosts(hosts),
                )
            }
        };
        let timeout = args.timeout.unwrap_or(DIRECT_TIMEOUT_S);
        return Ok(direct(ui, &client, &cfg, &payload, timeout).await);
    }
    // `--region` other than the remembered home region: the sample starts
    // on that region's bus and goes through its forwarder.
    let home = config::load(&config::default_path())?.and_then(|c| c.region);
    if let (Some(start), Some(home)) = (&global.region, &home) {
        if start != home {
            let mut at_home = global.clone();
            at_home.region = Some(home.clone());
            let (aws, stack_name) = connect_for_stack(&at_home, ui).await?;
            return through_region(&aws, &stack_name, start, ui, args).await;
        }
    }
    let (aws, stack_name) = connect_for_stack(global, ui).await?;
    through_sns(&aws, &stack_name, ui, args, &payload).await
}

/// The sample, or the `--event` file (which must be JSON).
fn read_payload(args: &TestSendArgs) -> Result<String> {
    let Some(path) = &args.event else {
        return Ok(sample_event(args.sample).to_string());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the event file {}", path.display()))?;
    serde_json::from_str::<Value>(&text)
        .with_context(|| format!("{} is not JSON; pass an EventBridge event", path.display()))?;
    Ok(text)
}

/// The webhook settings from `--webhook-url`, `--secret` and `--keyword`.
fn webhook_from_args(url: &str, args: &TestSendArgs) -> Result<WebhookConfig> {
    secret::validate_webhook_url(url, args.webhook_any_host.unwrap_or(false))
        .map_err(|e| anyhow::anyhow!("invalid webhook URL: {e}"))?;
    let mut value = json!({ "webhook": url.trim() });
    if let Some(s) = &args.signing_secret {
        secret::validate_signing_secret(s)
            .map_err(|e| anyhow::anyhow!("invalid signing secret: {e}"))?;
        value["secret"] = json!(s.trim());
    }
    if let Some(k) = &args.keyword {
        value["keyword"] = json!(k);
    }
    WebhookConfig::parse(&value.to_string())
        .map_err(|e| anyhow::anyhow!("invalid webhook settings: {e}"))
}

/// Said when `--direct` posts to a webhook given on the command line: no
/// stack is looked at, so its send budget is not either.
const OUTSIDE_THE_BUDGET: &str = "--webhook-url posts outside the stack's send budget \
     (20 messages a minute per robot, shared by its function); without --webhook-url, \
     --direct takes its slot from that budget";

/// The client for `--direct` to the stored webhook: it takes its slot from
/// the robot's budget in the stack's state table, like the function, so a
/// test during a storm cannot push the robot into its 10-minute block.
fn direct_client(ui: &Ui, aws: &Aws, table: Option<String>, robot: &str) -> DingTalkClient {
    let client = DingTalkClient::new();
    match table {
        Some(table) => client.with_budget(SharedBudget::new(
            aws.dynamodb.clone(),
            table,
            robot,
            DEFAULT_RATE_LIMIT,
            DEFAULT_RATE_WINDOW,
        )),
        None => {
            ui.warn("the stack has no state table (deployed by an older release): this message goes outside its send budget; run `dingtalk-notifier deploy` to add it");
            client
        }
    }
}

/// Robot `robot`'s webhook settings `deploy` stored in the stack's secret,
/// the stack's state table (`StateTableName`) when it has one, and its
/// relay hosts (`WebhookRelayHosts`).
async fn stored_webhook(
    aws: &Aws,
    stack_name: &str,
    robot: &str,
) -> Result<(WebhookConfig, Option<String>, String)> {
    let Some(info) = stack::describe(aws, stack_name).await? else {
        let region = aws.region().unwrap_or_default();
        return Err(NoSuchStack::new(stack_name, region))
            .context("no webhook given (--webhook-url or DINGTALK_WEBHOOK_URL) and none stored");
    };
    let arn = info
        .outputs
        .get("SecretArn")
        .or_else(|| info.parameters.get("WebhookSecretArn"))
        .context("the stack has no SecretArn output; run `dingtalk-notifier deploy` again")?;
    let value = secret::read_value(aws, arn).await?.context(
        "the stored webhook secret is empty; run `dingtalk-notifier deploy` to store it",
    )?;
    let cfg = SecretDoc::parse(&value)
        .and_then(|doc| doc.robot(robot))
        .map_err(|e| anyhow::anyhow!("the stored webhook secret is unusable: {e}"))?;
    let cfg = (*cfg).clone();
    let hosts = info
        .parameters
        .get("WebhookRelayHosts")
        .cloned()
        .unwrap_or_default();
    Ok((cfg, info.outputs.get("StateTableName").cloned(), hosts))
}

/// How long `--direct` waits for the robot: one request normally takes
/// under a second; an unreachable host is retried (5 s connect timeout,
/// backoff) only this long.
const DIRECT_TIMEOUT_S: u64 = 15;
/// How long the way through the stack waits for the function's log line.
const STACK_TIMEOUT_S: u64 = 120;

/// Renders the payload as the function would and posts it to the robot,
/// saying where it posts and for how long it waits.
async fn direct(
    ui: &Ui,
    client: &DingTalkClient,
    cfg: &WebhookConfig,
    payload: &str,
    timeout_s: u64,
) -> Reported<TestSendResult> {
    let rendered = render(payload, Some(SUBJECT), &FormatOptions::default());
    // The client starts no request with under a second left.
    let timeout_s = timeout_s.max(2);
    let deadline = Instant::now() + Duration::from_secs(timeout_s);
    let host = url::Url::parse(&cfg.webhook)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "the webhook".into());
    let waiting = format!("waiting up to {timeout_s} s for the robot at {host} to answer");
    let progress = ui.progress(&waiting);
    if !ui.stderr_is_terminal() && !ui.json {
        progress.line(format!("Posting the sample to DingTalk; {waiting}…"));
    }
    let sent = client
        .send(cfg, &rendered.message, &Default::default(), deadline)
        .await;
    progress.finish();
    match sent {
        Ok(_) => (
            TestSendResult::Direct {
                delivered: true,
                errcode: 0,
                meaning: errcode_meaning(0).to_string(),
                title: rendered.message.title,
            },
            Ok(()),
        ),
        Err(e) => {
            let error = match (&e, client.shared_budget_error()) {
                (DeliveryError::RateLimited { .. }, Some(why)) => format!(
                    "nothing was sent: {why}; --direct waits for the stack's send budget rather \
                     than post outside it (the deploy policy's TestSendDirectSlot statement \
                     allows it), or pass --webhook-url to post outside it"
                ),
                _ => refusal_in_words(&e, cfg),
            };
            (
                TestSendResult::DirectFailed {
                    delivered: false,
                    error: error.clone(),
                },
                Err(anyhow::anyhow!(error)),
            )
        }
    }
}

/// What went wrong with the one message `--direct` sent, for the person at
/// the keyboard: 310000 is one of three security settings (which, and what
/// to change); nothing is retried later, so nothing is promised.
fn refusal_in_words(e: &DeliveryError, cfg: &WebhookConfig) -> String {
    match e {
        DeliveryError::Rejected {
            errcode: 310000,
            errmsg,
            ..
        } => robot_security::explain_refusal(errmsg, cfg),
        DeliveryError::Rejected {
            errcode,
            errmsg,
            meaning,
        } => {
            format!("DingTalk refused the message: errcode {errcode} ({meaning}); errmsg: {errmsg}")
        }
        DeliveryError::Throttled { answer } => format!(
            "DingTalk throttled the robot ({answer}): it takes about 20 messages a minute and then \
             blocks the robot for up to 10 minutes; try again later"
        ),
        DeliveryError::Blocked { wait_s } => format!(
            "DingTalk blocked the robot after a throttle answer (the stack's send budget records \
             it): nothing may be sent for another {wait_s} s; try again then"
        ),
        DeliveryError::RateLimited { .. } => {
            "the robot's rate limit leaves no room for a message now; try again in a minute".into()
        }
        DeliveryError::DeadlineExceeded => {
            "DingTalk did not answer in time; check the network, or pass a longer --timeout".into()
        }
        DeliveryError::NoErrcode { status } => format!(
            "DingTalk answered HTTP {status} without an errcode: look in the group whether the \
             message arrived"
        ),
        other => other.to_string(),
    }
}

async fn through_sns(
    aws: &Aws,
    stack_name: &str,
    ui: &Ui,
    args: &TestSendArgs,
    payload: &str,
) -> Result<Reported<TestSendResult>> {
    let info = stack::require(aws, stack_name).await?;
    let topic = info.outputs.get("TopicArn").context(
        "the stack has no TopicArn output; is the deploy finished? (`dingtalk-notifier status`)",
    )?;
    let log_group = info
        .outputs
        .get("LogGroupName")
        .context("the stack has no LogGroupName output; is the deploy finished? (`dingtalk-notifier status`)")?;
    let started_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let published = aws
        .sns
        .publish()
        .topic_arn(topic)
        .subject(SUBJECT)
        .message(payload)
        .send()
        .await
        .aws("sns:Publish")
        .context("publishing the sample to the stack's SNS topic")?;
    let message_id = published
        .message_id()
        .context("SNS returned no MessageId")?
        .to_string();
    if !ui.json {
        ui.line(format!(
            "Published message {message_id} to {topic}; waiting for the function…"
        ));
    }
    let outcome = wait_for_outcome(
        aws,
        log_group,
        &message_id,
        outcome_line(&message_id),
        started_ms - 60_000,
        Duration::from_secs(args.timeout.unwrap_or(STACK_TIMEOUT_S)),
    )
    .await?;
    let delivered = outcome.get("outcome").and_then(Value::as_str) == Some("delivered");
    let verdict = if delivered {
        Ok(())
    } else {
        let error = outcome
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("no reason logged");
        Err(anyhow::anyhow!(
            "the function could not deliver message {message_id}: {error}"
        ))
    };
    let result = TestSendResult::ThroughSns {
        message_id,
        delivered,
        log: outcome,
    };
    Ok((result, verdict))
}

/// Polls the log group for the function's outcome line about `message_id`
/// (an SNS message id, or the test-event source): log lines containing it
/// that `outcome` accepts.
async fn wait_for_outcome(
    aws: &Aws,
    log_group: &str,
    message_id: &str,
    outcome: impl Fn(&str) -> Option<Value>,
    start_ms: i64,
    timeout: Duration,
) -> Result<Value> {
    let deadline = Instant::now() + timeout;
    let spinner =
        crate::term::output::spinner(&format!("waiting for the delivery of {message_id}"));
    let pattern = format!("\"{message_id}\"");
    let filter = LogFilter {
        group: log_group,
        pattern: &pattern,
        start_ms,
        max_pages: usize::MAX,
    };
    loop {
        let found = logs::each_line(aws, filter, |line| match outcome(line) {
            Some(v) => ControlFlow::Break(v),
            None => ControlFlow::Continue(()),
        })
        .await
        .with_context(|| format!("reading the function's logs in {log_group}"))?;
        if let Some(line) = found {
            spinner.finish_and_clear();
            return Ok(line);
        }
        if Instant::now() >= deadline {
            spinner.finish_and_clear();
            bail!(
                "no delivery line for message {message_id} in {log_group} after {}s: check the function's logs, its dead-letter queue, and `dingtalk-notifier status`",
                timeout.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Parses a log line and keeps it when it is the outcome line for `message_id`.
fn outcome_line(message_id: &str) -> impl Fn(&str) -> Option<Value> + '_ {
    outcome_where("alert_id", message_id)
}

/// Parses a log line and keeps it when it is an outcome line whose `field`
/// is `value`.
fn outcome_where<'a>(field: &'a str, value: &'a str) -> impl Fn(&str) -> Option<Value> + 'a {
    move |line: &str| {
        let start = line.find('{')?;
        let parsed: Value = serde_json::from_str(line[start..].trim()).ok()?;
        let ours = parsed.get(field).and_then(Value::as_str) == Some(value);
        let has_outcome = parsed.get("outcome").and_then(Value::as_str).is_some();
        (ours && has_outcome).then_some(parsed)
    }
}

/// `test-send --region <start>`: a test event of our own source on
/// `start`'s default bus, through its forwarder to the home stack, followed
/// in the function's log to the outcome line with its `test_id`.
async fn through_region(
    aws: &Aws,
    stack_name: &str,
    start: &str,
    ui: &Ui,
    args: &TestSendArgs,
) -> Result<Reported<TestSendResult>> {
    let home = aws.region().unwrap_or_default().to_string();
    if regions::partition(start) != regions::partition(&home) {
        bail!("--region {start} is in another partition than the home region {home}: its events cannot reach the notifier");
    }
    if args.event.is_some() {
        bail!("--event cannot start in another region: EventBridge refuses events with an aws.* source from PutEvents; use --event without --region, or --direct");
    }
    let info = stack::require(aws, stack_name).await?;
    let log_group = info
        .outputs
        .get("LogGroupName")
        .context("the stack has no LogGroupName output; is the deploy finished? (`dingtalk-notifier status`)")?;
    let started_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let test_id = new_test_id()?;
    let event_id = put_test_event(&aws.in_region(start), start, &home, &test_id).await?;
    if !ui.json {
        ui.line(format!("Put test event {event_id} (test id {test_id}) on the default bus of {start}; waiting for the function in {home}…"));
    }
    let outcome = wait_for_outcome(
        aws,
        log_group,
        &test_id,
        outcome_where("test_id", &test_id),
        started_ms - 5_000,
        Duration::from_secs(args.timeout.unwrap_or(STACK_TIMEOUT_S)),
    )
    .await?;
    let delivered = outcome.get("outcome").and_then(Value::as_str) == Some("delivered");
    let verdict = match delivered {
        true => Ok(()),
        false => Err(anyhow::anyhow!(
            "the function could not deliver the test event from {start}: {}",
            outcome
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("no reason logged")
        )),
    };
    let result = TestSendResult::ThroughRegion {
        region: start.to_string(),
        event_id,
        delivered,
        log: outcome,
    };
    Ok((result, verdict))
}

/// What the function logs as `test_id` on this event's outcome line: 16
/// random hex digits, so two test-sends at once never take each other's.
fn new_test_id() -> Result<String> {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| anyhow::anyhow!("reading random bytes for the test event's id: {e}"))?;
    Ok(hex::encode(bytes))
}

/// PutEvents of one test event; a refused entry is an error with its code.
async fn put_test_event(aws: &Aws, start: &str, home: &str, test_id: &str) -> Result<String> {
    let detail = json!({
        "message": format!("dingtalk-notifier test-send: {start} → the notifier in {home}"),
        "from_region": start,
        "home_region": home,
        "test_id": test_id,
    });
    let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .source(regions::TEST_EVENT_SOURCE)
        .detail_type(regions::TEST_EVENT_DETAIL_TYPE)
        .detail(detail.to_string())
        .event_bus_name("default")
        .build();
    let out = aws
        .events
        .put_events()
        .entries(entry)
        .send()
        .await
        .aws("events:PutEvents")
        .with_context(|| format!("putting the test event on the default bus of {start}"))?;
    let first = out
        .entries()
        .first()
        .context("EventBridge returned no entry")?;
    if let Some(code) = first.error_code() {
        bail!(
            "EventBridge in {start} refused the test event: {code}: {}",
            first.error_message().unwrap_or_default()
        );
    }
    Ok(first.event_id().unwrap_or_default().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_line_matches_only_our_message() {
        let f = outcome_line("abc-123");
        let line = r#"{"level":"INFO","message":"alert delivered","outcome":"delivered","alert_id":"abc-123"}"#;
        assert_eq!(f(line).unwrap()["outcome"], "delivered");
        assert!(f(r#"{"outcome":"delivered","alert_id":"other"}"#).is_none());
        assert!(f(r#"{"message":"starting","alert_id":"abc-123"}"#).is_none());
        assert!(f("not json abc-123").is_none());
    }

    #[test]
    fn a_region_test_is_found_by_its_own_test_id() {
        let id = new_test_id().unwrap();
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(id, new_test_id().unwrap());
        let f = outcome_where("test_id", &id);
        let mine = format!(
            r#"{{"message":"alert delivered","outcome":"delivered","source":"dingtalk-notifier.test","test_id":"{id}"}}"#
        );
        assert_eq!(f(&mine).unwrap()["test_id"], id.as_str());
        let other = r#"{"message":"alert delivered","outcome":"delivered","source":"dingtalk-notifier.test","test_id":"0000000000000000"}"#;
        assert!(f(other).is_none());
    }
}
