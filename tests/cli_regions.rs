//! `deploy --regions`: the home stack plus one forwarder stack per other
//! region, with the real binary against moto (one server holds every
//! region). `--artifact` skips the cross build.

use crate::common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

use common::{artifact_zip, cli, text, webhook, SIGNING, TOKEN};
use serde_json::Value;
use testkit::moto::Moto;

struct World {
    moto: Moto,
    dir: tempfile::TempDir,
    zip: PathBuf,
}

impl World {
    fn new() -> World {
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

    fn deploy(&self, extra: &[&str]) -> Output {
        let zip = self.zip.to_str().unwrap().to_string();
        let mut args = vec!["deploy", "--yes", "--json", "--artifact", &zip];
        args.extend_from_slice(extra);
        let mut cmd = self.cmd(&args);
        cmd.env("DINGTALK_WEBHOOK_URL", webhook())
            .env("DINGTALK_SECRET", SIGNING);
        let out = cmd.output().unwrap();
        common::assert_no_secrets(&out, &[TOKEN, SIGNING]);
        out
    }

    fn in_region(&self, region: &str) -> aws_config::SdkConfig {
        Moto::sdk_config_for(self.moto.endpoint())
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build()
    }

    async fn stack(
        &self,
        region: &str,
        name: &str,
    ) -> Option<aws_sdk_cloudformation::types::Stack> {
        let cf = aws_sdk_cloudformation::Client::new(&self.in_region(region));
        match cf.describe_stacks().stack_name(name).send().await {
            Ok(o) => o.stacks().first().cloned(),
            Err(_) => None,
        }
    }
}

fn ok(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

/// moto echoes a CommaDelimitedList as a Python list; compare what was passed.
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

fn params(s: &aws_sdk_cloudformation::types::Stack) -> BTreeMap<String, String> {
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

fn outcomes(doc: &Value) -> Vec<(String, String)> {
    doc["forwarders"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    (
                        r["region"].as_str().unwrap().to_string(),
                        r["outcome"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarders_are_created_remembered_up_to_date_and_removed() {
    let w = World::new();
    let doc = ok(&w.deploy(&[
        "--regions",
        "ap-southeast-1,eu-west-1,us-east-1",
        "--rules",
        "health,ec2,alarm",
        "--alarm-states",
        "ALARM",
    ]));
    assert_eq!(
        outcomes(&doc),
        pairs(&[("ap-southeast-1", "created"), ("eu-west-1", "created")]),
        "the home region us-east-1 gets the stack, not a forwarder"
    );
    assert_eq!(doc["forwarders"][0]["stack"], "dingtalk-notifier-forwarder");
    assert_eq!(doc["forwarders"][0]["status"], "CREATE_COMPLETE");

    for region in ["ap-southeast-1", "eu-west-1"] {
        let s = w
            .stack(region, "dingtalk-notifier-forwarder")
            .await
            .unwrap();
        let tags: BTreeMap<String, String> = s
            .tags()
            .iter()
            .map(|t| (t.key().unwrap().into(), t.value().unwrap().into()))
            .collect();
        assert_eq!(tags["app"], "dingtalk-notifier");
        assert_eq!(tags["dingtalk-notifier:stack"], "dingtalk-notifier");
        let expected: BTreeMap<String, String> = [
            ("HomeRegion", "us-east-1"),
            // The home stack's own bus for forwarded events.
            ("HomeEventBusName", "dingtalk-notifier-dingtalk-notifier"),
            ("HomeAccountId", ""),
            ("PermissionsBoundaryArn", ""),
            ("EnableHealthRule", "true"),
            ("HealthEventRegions", region),
            ("HealthEventsAboutThisRegion", "false"),
            ("HealthForwardedRegions", ""),
            ("EnableHealthAbuseRule", "false"),
            ("EnableEc2StateChangeRule", "true"),
            ("Ec2States", "running,stopped,terminated"),
            ("EnableAlarmRule", "true"),
            ("AlarmStates", "ALARM"),
            // The opt-in rules travel with the forwarders, off here.
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
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(params(&s), expected, "{region}");
    }
    let toml = std::fs::read_to_string(w.dir.path().join("dingtalk-notifier.toml")).unwrap();
    assert!(
        toml.contains(r#"regions = ["ap-southeast-1", "eu-west-1", "us-east-1"]"#),
        "{toml}"
    );

    // Nothing changed: every region is up to date, from the remembered list.
    let out = w.deploy(&[]);
    let doc = ok(&out);
    assert_eq!(
        outcomes(&doc),
        pairs(&[
            ("ap-southeast-1", "up to date"),
            ("eu-west-1", "up to date")
        ])
    );
    let stderr = text(&out.stderr);
    assert!(stderr.contains("ap-southeast-1: up to date"), "{stderr}");
    assert!(stderr.contains("eu-west-1: up to date"), "{stderr}");

    // A switch changes every forwarder; a region left out loses its forwarder.
    let doc = ok(&w.deploy(&["--regions", "eu-west-1", "--alarm-states", "ALARM,OK"]));
    assert_eq!(
        outcomes(&doc),
        pairs(&[("ap-southeast-1", "removed"), ("eu-west-1", "updated")])
    );
    assert!(w
        .stack("ap-southeast-1", "dingtalk-notifier-forwarder")
        .await
        .is_none_or(|s| s.stack_status().unwrap().as_str() == "DELETE_COMPLETE"));
    let s = w
        .stack("eu-west-1", "dingtalk-notifier-forwarder")
        .await
        .unwrap();
    assert_eq!(params(&s)["AlarmStates"], "ALARM,OK");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_adds_the_global_events_region_and_partitions_are_never_crossed() {
    let w = World::new();
    let out = w.deploy(&[
        "--region",
        "ap-southeast-1",
        "--regions",
        "us-west-2",
        "--rules",
        "health",
    ]);
    let doc = ok(&out);
    assert_eq!(
        outcomes(&doc),
        pairs(&[("us-east-1", "created"), ("us-west-2", "created")])
    );
    assert!(
        text(&out.stderr).contains(
            "us-east-1 added: AWS Health sends global events (IAM and other global services) only there"
        ),
        "{}",
        text(&out.stderr)
    );
    let s = w
        .stack("us-east-1", "dingtalk-notifier-forwarder")
        .await
        .unwrap();
    assert_eq!(params(&s)["HealthEventRegions"], "us-east-1,global");
    assert_eq!(params(&s)["HomeRegion"], "ap-southeast-1");
    // The backup region keeps only its own region's Health events.
    let s = w
        .stack("us-west-2", "dingtalk-notifier-forwarder")
        .await
        .unwrap();
    assert_eq!(params(&s)["HealthEventRegions"], "us-west-2");

    let out = w.deploy(&["--region", "ap-southeast-1", "--regions", "cn-north-1"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim_end().lines().last().unwrap(),
        "error: --regions: cn-north-1 is in the aws-cn partition and the home region ap-southeast-1 in aws; \
         events cannot cross partitions (China regions forward only to China regions): deploy a separate notifier there"
    );
    assert!(w
        .stack("cn-north-1", "dingtalk-notifier-forwarder")
        .await
        .is_none());
}
