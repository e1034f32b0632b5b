//! The real `dingtalk-notifier` binary against moto: deploy, re-deploy,
//! update, status, destroy, and what happens when input is missing.
//! `--artifact` skips the cross build (CLI-build tests that).

use crate::common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

use aws_sdk_cloudformation::types::Stack;
use common::{artifact_zip, cli, text, webhook, SIGNING, TOKEN};
use serde_json::{json, Value};
use testkit::moto::Moto;

struct World {
    moto: Moto,
    dir: tempfile::TempDir,
    zip: PathBuf,
}

impl World {
    async fn new() -> World {
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
    fn run(&self, cmd: &mut Command) -> Output {
        let out = cmd.output().unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains(TOKEN), "access token leaked:\n{all}");
        assert!(!all.contains(SIGNING), "signing secret leaked:\n{all}");
        out
    }

    fn deploy(&self, extra: &[&str]) -> Output {
        let zip = self.zip.to_str().unwrap().to_string();
        let mut args = vec!["deploy", "--yes", "--artifact", &zip];
        args.extend_from_slice(extra);
        let mut cmd = self.cmd(&args);
        cmd.env("DINGTALK_WEBHOOK_URL", webhook())
            .env("DINGTALK_SECRET", SIGNING);
        self.run(&mut cmd)
    }

    async fn aws(&self) -> aws_config::SdkConfig {
        self.moto.sdk_config().await
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

async fn stack(cfg: &aws_config::SdkConfig, name: &str) -> Option<Stack> {
    let cf = aws_sdk_cloudformation::Client::new(cfg);
    match cf.describe_stacks().stack_name(name).send().await {
        Ok(o) => o.stacks().first().cloned(),
        Err(_) => None,
    }
}

fn params(s: &Stack) -> BTreeMap<String, String> {
    s.parameters()
        .iter()
        .map(|p| {
            (
                p.parameter_key().unwrap().to_string(),
                unlist(p.parameter_value().unwrap_or_default()),
            )
        })
        .collect()
}

/// moto echoes a CommaDelimitedList parameter as a Python list (`['ALARM', 'OK']`);
/// CloudFormation echoes what was passed (`ALARM,OK`). Compare what was passed.
fn unlist(value: &str) -> String {
    match value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
        Some(inner) => inner
            .split(", ")
            .map(|item| item.trim_matches('\''))
            .collect::<Vec<_>>()
            .join(","),
        None => value.to_string(),
    }
}

fn outputs_json(s: &Stack) -> Value {
    s.outputs()
        .iter()
        .map(|o| {
            (
                o.output_key().unwrap().to_string(),
                Value::String(o.output_value().unwrap_or_default().to_string()),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

async fn function_of(cfg: &aws_config::SdkConfig, stack: &str) -> String {
    let cf = aws_sdk_cloudformation::Client::new(cfg);
    let res = cf
        .list_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .unwrap();
    res.stack_resource_summaries()
        .iter()
        .find(|r| r.resource_type() == Some("AWS::Lambda::Function"))
        .and_then(|r| r.physical_resource_id())
        .expect("the stack has a Lambda function")
        .to_string()
}

async fn secret_value(cfg: &aws_config::SdkConfig, name: &str) -> Option<String> {
    let sm = aws_sdk_secretsmanager::Client::new(cfg);
    sm.get_secret_value()
        .secret_id(name)
        .send()
        .await
        .ok()
        .and_then(|o| o.secret_string().map(str::to_string))
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_update_status_destroy() {
    let w = World::new().await;
    let cfg = w.aws().await;
    let zip_bytes = std::fs::read(&w.zip).unwrap();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&zip_bytes))
    };

    // 1. First deploy.
    let out = w.deploy(&[
        "--json",
        "--rules",
        "health,alarm",
        "--alarm-states",
        "ALARM,OK",
        "--at-mobiles",
        "13800000000",
        "--keyword",
        "告警",
    ]);
    assert_ok(&out);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document on stdout");
    assert_eq!(doc["stack"], "dingtalk-notifier");
    assert_eq!(doc["status"], "CREATE_COMPLETE");
    assert_eq!(doc["updated"], true);
    assert_eq!(doc["artifact"]["sha256"], sha.as_str());
    assert_eq!(doc["artifact"]["rebuilt"], false);
    assert_eq!(doc["artifact"]["uploaded"], true);
    assert_eq!(doc["secret"]["created"], true);

    let s = stack(&cfg, "dingtalk-notifier")
        .await
        .expect("stack exists");
    assert_eq!(s.stack_status().unwrap().as_str(), "CREATE_COMPLETE");
    // The outputs printed are the stack's outputs.
    assert!(doc["outputs"]["TopicArn"].is_string(), "{doc:#}");
    assert_eq!(doc["outputs"], outputs_json(&s), "{doc:#}");
    let tags: BTreeMap<_, _> = s
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
        .collect();
    assert_eq!(
        tags.get("app").map(String::as_str),
        Some("dingtalk-notifier")
    );
    assert_eq!(
        tags.get("dingtalk-notifier:stack").map(String::as_str),
        Some("dingtalk-notifier")
    );

    let sm = aws_sdk_secretsmanager::Client::new(&cfg);
    let desc = sm
        .describe_secret()
        .secret_id("dingtalk-notifier/dingtalk-notifier/webhook")
        .send()
        .await
        .expect("secret exists");
    let secret_arn = desc.arn().unwrap().to_string();
    let mut secret_tags: Vec<(String, String)> = desc
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
        .collect();
    secret_tags.sort();
    assert_eq!(
        secret_tags,
        vec![
            ("app".to_string(), "dingtalk-notifier".to_string()),
            (
                "dingtalk-notifier:stack".to_string(),
                "dingtalk-notifier".to_string()
            ),
        ]
    );
    let value: Value = serde_json::from_str(
        &secret_value(&cfg, "dingtalk-notifier/dingtalk-notifier/webhook")
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        value,
        json!({
            "webhook": webhook(),
            "secret": SIGNING,
            "at_mobiles": ["13800000000"],
            "keyword": "告警",
        })
    );

    let bucket = doc["artifact"]["bucket"].as_str().unwrap().to_string();
    let key = format!("lambda/{sha}.zip");
    assert_eq!(doc["artifact"]["key"], key.as_str());
    let expected_params: BTreeMap<String, String> = [
        ("ArtifactBucket", bucket.as_str()),
        ("ArtifactKey", key.as_str()),
        ("Architecture", "arm64"),
        ("MemorySize", "256"),
        ("Timeout", "60"),
        ("ReservedConcurrency", "-1"),
        ("LogRetentionInDays", "30"),
        ("WebhookSecretArn", secret_arn.as_str()),
        ("EnableHealthRule", "true"),
        ("HealthEventRegions", "us-east-1,global"),
        ("HealthForwardedRegions", ""),
        ("EnableHealthAbuseRule", "false"),
        ("EnableEc2StateChangeRule", "false"),
        ("Ec2States", "running,stopped,terminated"),
        ("EnableAlarmRule", "true"),
        ("AlarmStates", "ALARM,OK"),
        // The opt-in rules (README "Rules"): off unless named.
        ("EnableSecurityHubRule", "false"),
        ("EnableGuardDutyRule", "false"),
        ("EnableInspectorRule", "false"),
        ("EnableAccessAnalyzerRule", "false"),
        ("EnableRootActivityRule", "false"),
        ("EnableConfigComplianceRule", "false"),
        ("EnableEcrScanRule", "false"),
        ("EnableTrustedAdvisorRule", "false"),
        ("EnableBackupFailureRule", "false"),
        ("EnablePipelineFailureRule", "false"),
        ("EnableEcsTaskFailureRule", "false"),
        ("EnableAcmExpiryRule", "false"),
        ("DisplayTimeZone", "Asia/Shanghai"),
        // Filled by `deploy --organization` only.
        ("AccountNames", ""),
        ("Routes", ""),
        ("OrganizationId", ""),
        ("LlmEnabled", "false"),
        ("LlmModelId", "amazon.nova-lite-v1:0"),
        ("LlmRegion", ""),
        ("LlmSystemPrompt", ""),
        ("LlmMaxTokens", "400"),
        ("LlmTemperature", "0.2"),
        ("ExportPrefix", ""),
        ("BatchSize", "50"),
        ("BatchWindowSeconds", "1"),
        ("MaxReceiveCount", "15"),
        ("PermissionsBoundaryArn", ""),
        // 6 x Timeout + BatchWindowSeconds, computed by the CLI.
        ("AlertQueueVisibilityTimeout", "361"),
        // The alert queue's MessageRetentionPeriod: 4 days unless --alert-retention.
        ("AlertRetentionPeriod", "345600"),
        ("DebugLogs", "false"),
        ("OpsEmail", ""),
        ("KmsKeyArn", ""),
        // DingTalk's host only: the webhook is not a relay's.
        ("WebhookRelayHosts", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(params(&s), expected_params);

    let config = std::fs::read_to_string(w.dir.path().join("dingtalk-notifier.toml")).unwrap();
    assert!(
        !config.contains(TOKEN) && !config.contains(SIGNING) && !config.contains("access_token")
    );
    let region = cfg.region().unwrap().to_string();
    assert_eq!(
        config,
        format!(
            "# dingtalk-notifier.toml: answers remembered by `dingtalk-notifier deploy`.\n\
             # Edit freely; command-line flags and DINGTALK_* environment variables win over\n\
             # these values. Secrets (webhook URL, signing secret) are never written here:\n\
             # they live in AWS Secrets Manager as dingtalk-notifier/<stack>/webhook.\n\n\
             stack_name = \"dingtalk-notifier\"\nregion = \"{region}\"\n\n[deploy]\n\
             rules = [\"health\", \"alarm\"]\nec2_states = \"running,stopped,terminated\"\nalarm_states = \"ALARM,OK\"\n\
             time_zone = \"Asia/Shanghai\"\nalert_retention = 345600\n\
             llm = false\nllm_model_id = \"amazon.nova-lite-v1:0\"\nllm_region = \"\"\n\
             llm_max_tokens = 400\nllm_temperature = 0.2\narchitecture = \"arm64\"\n\
             memory = 256\ntimeout = 60\nreserved_concurrency = -1\nlog_retention = 30\n\
             permissions_boundary = \"\"\ndebug_logs = false\nexport_prefix = \"\"\n\
             ops_email = \"\"\nkms_key = \"\"\nat_mobiles = [\"13800000000\"]\n\
             keyword = \"告警\"\n"
        )
    );
    let updated_before = s.last_updated_time().cloned();

    // 2. Second deploy, nothing changed: the file supplies the answers, the
    //    stored webhook is kept, nothing is uploaded or updated.
    let zip = w.zip.to_str().unwrap().to_string();
    let out = w.run(&mut w.cmd(&["deploy", "--yes", "--artifact", &zip]));
    assert_ok(&out);
    let err = text(&out.stderr);
    assert!(
        err.contains("Stack dingtalk-notifier is up to date."),
        "{err}"
    );
    assert!(err.contains("already in s3://"), "{err}");
    let out = w.run(&mut w.cmd(&["deploy", "--yes", "--json", "--artifact", &zip]));
    assert_ok(&out);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["updated"], false);
    assert_eq!(doc["artifact"]["uploaded"], false);
    assert_eq!(doc["artifact"]["rebuilt"], false);
    assert_eq!(
        doc["secret"],
        json!({"arn": secret_arn, "created": false, "updated": false})
    );
    let s2 = stack(&cfg, "dingtalk-notifier").await.unwrap();
    assert_eq!(s2.stack_status().unwrap().as_str(), "CREATE_COMPLETE");
    assert_eq!(s2.last_updated_time().cloned(), updated_before);
    assert_eq!(params(&s2), expected_params);

    // 2b. A changed secret option (no webhook given): the stored webhook and
    //     signing secret are kept, only the value's keyword changes.
    let out = w.run(&mut w.cmd(&[
        "deploy",
        "--yes",
        "--json",
        "--artifact",
        &zip,
        "--keyword",
        "报警",
    ]));
    assert_ok(&out);
    let doc2: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc2["updated"], false);
    assert_eq!(doc2["secret"]["updated"], true);
    let value: Value = serde_json::from_str(
        &secret_value(&cfg, "dingtalk-notifier/dingtalk-notifier/webhook")
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        value,
        json!({
            "webhook": webhook(),
            "secret": SIGNING,
            "at_mobiles": ["13800000000"],
            "keyword": "报警",
        })
    );

    // 3. Changed parameters update the function and the alert queue.
    let out = w.run(&mut w.cmd(&[
        "deploy",
        "--yes",
        "--artifact",
        &zip,
        "--memory",
        "512",
        "--alert-retention",
        "86400",
    ]));
    assert_ok(&out);
    assert!(
        text(&out.stderr).contains("Stack dingtalk-notifier updated."),
        "{}",
        text(&out.stderr)
    );
    let s3 = stack(&cfg, "dingtalk-notifier").await.unwrap();
    assert_eq!(s3.stack_status().unwrap().as_str(), "UPDATE_COMPLETE");
    assert_eq!(params(&s3)["MemorySize"], "512");
    let function_name = function_of(&cfg, "dingtalk-notifier").await;
    let lambda = aws_sdk_lambda::Client::new(&cfg);
    let f = lambda
        .get_function_configuration()
        .function_name(&function_name)
        .send()
        .await
        .unwrap();
    assert_eq!(f.memory_size(), Some(512));
    // `--alert-retention`, end to end: the parameter, the queue, the toml.
    assert_eq!(params(&s3)["AlertRetentionPeriod"], "86400");
    let queue = outputs_json(&s3)["AlertQueueUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let attributes = aws_sdk_sqs::Client::new(&cfg)
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::MessageRetentionPeriod)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attributes
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::MessageRetentionPeriod))
            .map(String::as_str),
        Some("86400")
    );
    let toml = std::fs::read_to_string(w.dir.path().join("dingtalk-notifier.toml")).unwrap();
    assert!(toml.contains("\nalert_retention = 86400\n"), "{toml}");

    // 4. status --json.
    let out = w.run(&mut w.cmd(&["status", "--json"]));
    assert_ok(&out);
    let st: Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&str> = st.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "alarms",
            "dead_letters",
            "function",
            "last_updated",
            "llm",
            "ops_email",
            "ops_subscriptions",
            "outputs",
            "region",
            "robots",
            "rules",
            "stack",
            "status",
            "status_reason"
        ]
    );
    assert_eq!(st["stack"], "dingtalk-notifier");
    assert_eq!(st["region"], region.as_str());
    assert_eq!(st["status"], "UPDATE_COMPLETE");
    assert_eq!(
        st["rules"],
        json!({"health": true, "health-abuse": false, "ec2": false, "alarm": true,
            "securityhub": false, "guardduty": false,
            "inspector": false, "access-analyzer": false, "root": false, "config": false,
            "ecr-scan": false, "trusted-advisor": false, "backup": false, "pipelines": false,
            "ecs": false, "acm": false})
    );
    assert_eq!(
        st["llm"],
        json!({"enabled": false, "model_id": "amazon.nova-lite-v1:0", "region": region})
    );
    assert_eq!(st["function"]["name"], function_name.as_str());
    // What Lambda reports (moto ignores Architectures from CloudFormation).
    let arch = f
        .architectures()
        .first()
        .map(|a| a.as_str().to_string())
        .unwrap_or_else(|| "x86_64".to_string());
    assert_eq!(st["function"]["architecture"], arch.as_str());
    // Lambda's base64 CodeSha256, shown in hex like every hash of this CLI.
    let lambda_sha = aws_smithy_types::base64::decode(f.code_sha256().unwrap_or_default()).unwrap();
    assert_eq!(st["function"]["code_sha256"], hex::encode(lambda_sha));
    assert_eq!(st["function"]["memory_size"], 512);
    assert_eq!(st["outputs"], outputs_json(&s3));

    // 5. destroy removes the stack and the secret.
    let out = w.run(&mut w.cmd(&["destroy", "--yes"]));
    assert_ok(&out);
    let err = text(&out.stderr);
    assert!(err.contains("Stack dingtalk-notifier deleted."), "{err}");
    assert!(
        err.contains("Secret dingtalk-notifier/dingtalk-notifier/webhook deleted."),
        "{err}"
    );
    assert!(stack(&cfg, "dingtalk-notifier").await.is_none());
    assert_eq!(
        secret_value(&cfg, "dingtalk-notifier/dingtalk-notifier/webhook").await,
        None
    );

    // 6. destroy again: nothing to destroy, still success.
    let out = w.run(&mut w.cmd(&["destroy", "--yes"]));
    assert_ok(&out);
    assert_eq!(
        text(&out.stderr).trim_end(),
        format!("✓ Nothing to destroy: no stack named dingtalk-notifier in {region}.")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_or_invalid_input_creates_nothing() {
    let w = World::new().await;
    let cfg = w.aws().await;
    let zip = w.zip.to_str().unwrap().to_string();

    let out = w.run(&mut w.cmd(&["deploy", "--no-input", "--artifact", &zip]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).ends_with(
            "error: missing webhook URL: pass --webhook-url or set DINGTALK_WEBHOOK_URL\n"
        ),
        "{}",
        text(&out.stderr)
    );

    let bad = format!("https://example.com/robot/send?access_token={TOKEN}");
    let out = w.run(
        w.cmd(&["deploy", "--yes", "--artifact", &zip])
            .env("DINGTALK_WEBHOOK_URL", &bad),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).ends_with(
        "error: invalid webhook URL (--webhook-url / DINGTALK_WEBHOOK_URL): its host must be oapi.dingtalk.com (pass --webhook-any-host for a relay)\n"
    ), "{}", text(&out.stderr));

    // Without --yes and without a terminal, deploy refuses before touching AWS.
    let out = w.run(
        w.cmd(&["deploy", "--no-input", "--artifact", &zip])
            .env("DINGTALK_WEBHOOK_URL", webhook()),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).ends_with(
        "error: deploy changes your AWS account and needs a confirmation: pass --yes to deploy without a terminal\n"
    ), "{}", text(&out.stderr));

    // A bad ops e-mail (flag or environment) is refused before any upload.
    let out = w.run(
        w.cmd(&[
            "deploy",
            "--yes",
            "--artifact",
            &zip,
            "--ops-email",
            "ops@example",
        ])
        .env("DINGTALK_WEBHOOK_URL", webhook()),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).ends_with(
        "error: invalid --ops-email: `ops@example` is not an e-mail address; use one such as ops@example.com, or '' for none\n"
    ), "{}", text(&out.stderr));
    let out = w.run(
        w.cmd(&["deploy", "--yes", "--artifact", &zip])
            .env("DINGTALK_WEBHOOK_URL", webhook())
            .env("DINGTALK_NOTIFIER_OPS_EMAIL", "ops at example.com"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).ends_with(
        "error: invalid --ops-email: `ops at example.com` is not an e-mail address; use one such as ops@example.com, or '' for none\n"
    ), "{}", text(&out.stderr));

    // Nothing was created.
    let cf = aws_sdk_cloudformation::Client::new(&cfg);
    assert!(cf
        .describe_stacks()
        .send()
        .await
        .unwrap()
        .stacks()
        .is_empty());
    let sm = aws_sdk_secretsmanager::Client::new(&cfg);
    assert!(sm
        .list_secrets()
        .send()
        .await
        .unwrap()
        .secret_list()
        .is_empty());
    let s3 = aws_sdk_s3::Client::new(&cfg);
    assert!(s3.list_buckets().send().await.unwrap().buckets().is_empty());
}

/// moto's CloudFormation does not model `AWS::CloudWatch::Alarm` (nor the
/// ops topic's policy and e-mail subscription: tests/template.rs holds their
/// exact content). So this test creates the two alarms through CloudWatch's
/// own API, with the names and metrics the template gives them, as
/// CloudFormation would; the dead-letter queue is moto's real one.
async fn create_alarms_as_the_template_would(cw: &aws_sdk_cloudwatch::Client, stack: &str) {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
    for (suffix, namespace, metric, statistic) in [
        (
            "dead-letters",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            Statistic::Maximum,
        ),
        ("function-errors", "AWS/Lambda", "Errors", Statistic::Sum),
        (
            "robot-refusals",
            "dingtalk-notifier/alerts",
            "RobotRefusals",
            Statistic::Sum,
        ),
        (
            "webhook-host",
            "dingtalk-notifier/alerts",
            "WebhookHostRefused",
            Statistic::Sum,
        ),
    ] {
        cw.put_metric_alarm()
            .alarm_name(format!("{stack}-{suffix}"))
            .namespace(namespace)
            .metric_name(metric)
            .statistic(statistic)
            .period(300)
            .evaluation_periods(1)
            .threshold(0.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_dead_letters_the_ops_alarms_and_the_ops_email() {
    let w = World::new().await;
    let cfg = w.aws().await;
    let out = w.deploy(&["--stack-name", "alerts", "--ops-email", "ops@example.com"]);
    assert_ok(&out);
    assert!(
        text(&out.stderr).contains(
            "SNS mailed a confirmation to ops@example.com: the ops alarms reach it only once it is confirmed\n"
        ),
        "{}",
        text(&out.stderr)
    );
    let config = std::fs::read_to_string(w.dir.path().join("dingtalk-notifier.toml")).unwrap();
    assert!(
        config.contains("\nops_email = \"ops@example.com\"\n"),
        "{config}"
    );
    let s = stack(&cfg, "alerts").await.expect("stack exists");
    assert_eq!(params(&s)["OpsEmail"], "ops@example.com");

    // Before the alarms exist (a stack from before them; here moto): each is
    // reported missing, not an error.
    let link = |name: &str| {
        format!("https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/{name}")
    };
    let out = w.run(&mut w.cmd(&["status", "--json"]));
    assert_ok(&out);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["region"], "us-east-1", "the links below assume it");
    assert_eq!(doc["dead_letters"], 0);
    assert_eq!(
        doc["alarms"],
        json!([
            {"name": "alerts-dead-letters", "state": null, "link": link("alerts-dead-letters")},
            {"name": "alerts-function-errors", "state": null, "link": link("alerts-function-errors")},
            {"name": "alerts-robot-refusals", "state": null, "link": link("alerts-robot-refusals")},
            {"name": "alerts-webhook-host", "state": null, "link": link("alerts-webhook-host")}
        ])
    );
    assert_eq!(doc["ops_email"], "ops@example.com");
    // moto does not create the stack's AWS::SNS::Subscription: none yet.
    assert_eq!(doc["ops_subscriptions"], json!([]));
    let out = w.run(&mut w.cmd(&["status"]));
    assert!(
        text(&out.stdout).contains(
            "\nOps topic     none: nobody hears of the notifier's own failures (deploy \
             --ops-email, or subscribe to the OpsTopicArn output)\n"
        ),
        "{}",
        text(&out.stdout)
    );
    let sns = aws_sdk_sns::Client::new(&cfg);
    let topics = sns.list_topics().send().await.unwrap();
    let ops_topic = topics
        .topics()
        .iter()
        .filter_map(|t| t.topic_arn())
        .find(|arn| arn.contains("OpsTopic"))
        .expect("the ops topic")
        .to_string();
    let sub = sns
        .subscribe()
        .topic_arn(&ops_topic)
        .protocol("email")
        .endpoint("ops@example.com")
        .send()
        .await
        .unwrap();
    let pending = sub.subscription_arn() == Some("pending confirmation")
        || sub.subscription_arn() == Some("PendingConfirmation");
    let out = w.run(&mut w.cmd(&["status", "--json"]));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["ops_subscriptions"],
        json!([{"protocol": "email", "endpoint": "ops@example.com", "pending_confirmation": pending}])
    );

    let cw = aws_sdk_cloudwatch::Client::new(&cfg);
    create_alarms_as_the_template_would(&cw, "alerts").await;
    cw.set_alarm_state()
        .alarm_name("alerts-dead-letters")
        .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
        .state_reason("Threshold Crossed: 1 datapoint [3.0] was greater than the threshold (0.0).")
        .send()
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    let dlq = doc["outputs"]["DeadLetterQueueUrl"]
        .as_str()
        .map(str::to_string);
    let dlq = match dlq {
        Some(url) => url,
        // moto leaves a change-set stack's outputs empty: the resource then.
        None => {
            let cf = aws_sdk_cloudformation::Client::new(&cfg);
            cf.describe_stack_resources()
                .stack_name("alerts")
                .send()
                .await
                .unwrap()
                .stack_resources()
                .iter()
                .find(|r| r.logical_resource_id() == Some("DeadLetterQueue"))
                .and_then(|r| r.physical_resource_id())
                .unwrap()
                .to_string()
        }
    };
    for i in 0..3 {
        sqs.send_message()
            .queue_url(&dlq)
            .message_body(format!("an undelivered alert {i}"))
            .send()
            .await
            .unwrap();
    }

    let out = w.run(&mut w.cmd(&["status", "--json"]));
    assert_ok(&out);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["dead_letters"], 3);
    let state = |i: usize| doc["alarms"][i]["state"].clone();
    assert_eq!(state(0), "ALARM");
    // moto starts an alarm as OK (CloudWatch as INSUFFICIENT_DATA).
    assert_eq!(state(1), "OK");

    let out = w.run(&mut w.cmd(&["status"]));
    assert_ok(&out);
    let human = text(&out.stdout);
    for line in [
        "Dead letters  3 waiting: fix the cause, then run `dingtalk-notifier redrive`\n"
            .to_string(),
        format!(
            "Alarms        alerts-dead-letters  ALARM  {}\n",
            link("alerts-dead-letters")
        ),
        "Ops e-mail    ops@example.com\n".to_string(),
    ] {
        assert!(human.contains(&line), "{line:?} in:\n{human}");
    }

    // `--ops-email ''` removes the address (and its subscription).
    let out = w.deploy(&["--stack-name", "alerts", "--ops-email", ""]);
    assert_ok(&out);
    let s = stack(&cfg, "alerts").await.expect("stack exists");
    assert_eq!(params(&s)["OpsEmail"], "");
    let config = std::fs::read_to_string(w.dir.path().join("dingtalk-notifier.toml")).unwrap();
    assert!(!config.contains("ops@example.com"), "{config}");
    assert!(config.contains("\nops_email = \"\"\n"), "{config}");
    let out = w.run(&mut w.cmd(&["status", "--json"]));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ops_email"], Value::Null);
}
