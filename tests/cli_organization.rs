//! `deploy --organization` with the real binary against moto: an
//! organization (the caller is its management account) with two member
//! accounts, one of them in an OU; the home stack lets the organization put
//! events on its bus, and a service-managed StackSet puts the forwarder in
//! every member account, in the home region and the forwarder regions.
//!
//! What stands in for AWS, and where it falls short:
//! - moto 5.2.5 deployed service-managed instances to the management account
//!   and ignored `AccountFilterType`, and deleted nothing for a
//!   `DeleteStackInstances` by `DeploymentTargets`; testkit's moto_server.py
//!   teaches it what StackSets document, and this test checks the instances.
//! - moto runs every StackSet operation at once and reports it `SUCCEEDED`:
//!   the operation preferences (concurrency, failure tolerance) and a failing
//!   instance are not exercised here (the preferences and the warning about
//!   failed instances are unit-tested in `aws/stack_set.rs`, the decision,
//!   retrying failed instances too, in `commands/deploy/organization/plan.rs`, the
//!   failed-instance summary in `commands/status/organization.rs`).
//! - moto ignores `AutoDeployment` and `ManagedExecution` and does not echo
//!   them (their values are unit-tested in `aws/stack_set.rs`); an account
//!   that joins later is not exercised.
//! - moto 5.2.5 knew no delegated administrator for StackSets, answered any
//!   member's ListRoots and a delegated administrator's ListAccounts with
//!   nothing, and ignored `CallAs`; testkit teaches it what Organizations and
//!   StackSets document, and the last test deploys as a delegated
//!   administrator and as a plain member.
//! - the bus policy's content is asserted on the template
//!   (tests/template_organization.rs) and as deployed, with its effect, in
//!   tests/organization_flow.rs; here the `OrganizationId` that switches it on.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Instant;

use common::org::MANAGEMENT;
use common::{artifact_zip, cli, text, webhook, SIGNING, TOKEN};
use serde_json::{json, Value};
use testkit::moto::Moto;

const FORWARDER: &str = include_str!("../templates/forwarder.yaml");

struct World {
    moto: Moto,
    dir: tempfile::TempDir,
    zip: PathBuf,
    config: aws_config::SdkConfig,
}

impl World {
    async fn new() -> World {
        let moto = Moto::start().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let zip = artifact_zip(dir.path());
        let config = Moto::sdk_config_for(moto.endpoint())
            .to_builder()
            .region(aws_config::Region::new("us-east-1"))
            .build();
        World {
            moto,
            dir,
            zip,
            config,
        }
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

    /// `deploy` with the credentials of the member `account`.
    async fn deploy_as(&self, account: &str, extra: &[&str]) -> Output {
        let (key, secret, token) = common::org::member_credentials(&self.config, account).await;
        let zip = self.zip.to_str().unwrap().to_string();
        let mut args = vec!["deploy", "--yes", "--json", "--artifact", &zip];
        args.extend_from_slice(extra);
        let mut cmd = self.cmd(&args);
        cmd.env("DINGTALK_WEBHOOK_URL", webhook())
            .env("DINGTALK_SECRET", SIGNING)
            .env("AWS_ACCESS_KEY_ID", key)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_SESSION_TOKEN", token);
        let out = cmd.output().unwrap();
        common::assert_no_secrets(&out, &[TOKEN, SIGNING]);
        out
    }

    fn cfn(&self) -> aws_sdk_cloudformation::Client {
        aws_sdk_cloudformation::Client::new(&self.config)
    }

    /// (account, region) of every instance of the StackSet.
    async fn instances(&self) -> BTreeSet<(String, String)> {
        let out = self
            .cfn()
            .list_stack_instances()
            .stack_set_name("dingtalk-notifier-forwarders-123456789012")
            .send()
            .await
            .unwrap();
        out.summaries()
            .iter()
            .map(|s| {
                (
                    s.account().unwrap().to_string(),
                    s.region().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// The rules in `account`'s `region`, each with its target.
    async fn member_rules(&self, account: &str, region: &str) -> Vec<(String, String)> {
        let config = common::org::as_member(&self.config, account, region).await;
        let events = aws_sdk_eventbridge::Client::new(&config);
        let mut out = Vec::new();
        for rule in events.list_rules().send().await.unwrap().rules() {
            let name = rule.name().unwrap();
            let targets = events
                .list_targets_by_rule()
                .rule(name)
                .send()
                .await
                .unwrap();
            for t in targets.targets() {
                // Named after the stack's id: dingtalk-notifier-<uuid>-<what>.
                let kind = match name.rsplit('-').next().unwrap_or(name) {
                    "health" => "HealthRule",
                    "abuse" => "HealthAbuseRule",
                    "ec2" => "Ec2StateChangeRule",
                    "alarm" => "AlarmRule",
                    "test" => "TestEventRule",
                    other => other,
                }
                .to_string();
                out.push((kind, t.arn().to_string()));
            }
        }
        out.sort();
        out
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organizations_accounts_get_forwarders_through_one_stack_set() {
    let w = World::new().await;
    let org = common::org::create(&w.config).await;
    let (dev, prod) = (org.members[0].0.clone(), org.members[1].0.clone());

    let started = Instant::now();
    let out = w.deploy(&["--organization", "--regions", "eu-west-1"]);
    let first = started.elapsed();
    let doc = ok(&out);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "Organization {}: StackSet dingtalk-notifier-forwarders-123456789012 in 2 member account(s) x 2 region(s) (eu-west-1, us-east-1): create, then add eu-west-1, us-east-1",
            org.id
        )),
        "{stderr}"
    );
    assert_eq!(
        doc["organization"],
        json!({
            "organization_id": org.id,
            "stack_set": "dingtalk-notifier-forwarders-123456789012",
            "call_as": "SELF",
            "outcome": "created",
            "steps": [{"step": "create"}, {"step": "add-regions", "regions": ["eu-west-1", "us-east-1"]}],
            "regions": ["eu-west-1", "us-east-1"],
            "member_accounts": 2
        })
    );

    // The home stack lets the organization in.
    let home = w
        .cfn()
        .describe_stacks()
        .stack_name("dingtalk-notifier")
        .send()
        .await
        .unwrap();
    let params: BTreeMap<&str, &str> = home.stacks()[0]
        .parameters()
        .iter()
        .map(|p| (p.parameter_key().unwrap(), p.parameter_value().unwrap()))
        .collect();
    assert_eq!(params["OrganizationId"], org.id);
    // Messages name every account of the organization (ListAccounts).
    let mut names: BTreeMap<String, String> = org.members.iter().cloned().collect();
    names.insert(MANAGEMENT.to_string(), "master".to_string());
    assert_eq!(
        params["AccountNames"],
        serde_json::to_string(&names).unwrap()
    );

    // The StackSet: service-managed, ours, the embedded template, aimed at
    // this account's bus, every region's own Health events.
    let set = w
        .cfn()
        .describe_stack_set()
        .stack_set_name("dingtalk-notifier-forwarders-123456789012")
        .send()
        .await
        .unwrap()
        .stack_set
        .unwrap();
    assert_eq!(set.permission_model().unwrap().as_str(), "SERVICE_MANAGED");
    assert_eq!(set.template_body(), Some(FORWARDER));
    let tags: BTreeMap<&str, &str> = set
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert_eq!(
        tags,
        BTreeMap::from([
            ("app", "dingtalk-notifier"),
            ("dingtalk-notifier:stack", "dingtalk-notifier")
        ])
    );
    let params: BTreeMap<&str, &str> = set
        .parameters()
        .iter()
        .map(|p| (p.parameter_key().unwrap(), p.parameter_value().unwrap()))
        .collect();
    assert_eq!(
        params,
        BTreeMap::from([
            ("HomeRegion", "us-east-1"),
            ("HomeAccountId", MANAGEMENT),
            ("HomeEventBusName", "dingtalk-notifier-dingtalk-notifier"),
            ("PermissionsBoundaryArn", ""),
            ("EnableHealthRule", "true"),
            ("HealthEventRegions", ""),
            ("HealthEventsAboutThisRegion", "true"),
            ("HealthForwardedRegions", ""),
            ("EnableHealthAbuseRule", "true"),
            ("EnableEc2StateChangeRule", "true"),
            ("Ec2States", "running,stopped,terminated"),
            ("EnableAlarmRule", "true"),
            ("AlarmStates", ""),
            // The opt-in rules travel with the StackSet's forwarders, off here.
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
        ])
    );

    // Every member account (the one in an OU too) in every region; never
    // the home (management) account.
    let expected: BTreeSet<(String, String)> = [&dev, &prod]
        .iter()
        .flat_map(|a| {
            ["eu-west-1", "us-east-1"]
                .iter()
                .map(move |r| (a.to_string(), r.to_string()))
        })
        .collect();
    assert_eq!(w.instances().await, expected);

    // In a member account, every rule's one target is the home bus, also
    // in the home region itself.
    let home_bus = format!(
        "arn:aws:events:us-east-1:{MANAGEMENT}:event-bus/dingtalk-notifier-dingtalk-notifier"
    );
    for region in ["eu-west-1", "us-east-1"] {
        // No test rule: a member account cannot post into the group.
        let kinds: Vec<(String, String)> = [
            "AlarmRule",
            "Ec2StateChangeRule",
            "HealthAbuseRule",
            "HealthRule",
        ]
        .iter()
        .map(|k| (k.to_string(), home_bus.clone()))
        .collect();
        assert_eq!(w.member_rules(&prod, region).await, kinds, "{region}");
    }

    let toml = std::fs::read_to_string(w.dir.path().join("dingtalk-notifier.toml")).unwrap();
    assert!(toml.contains("\norganization = true\n"), "{toml}");

    // Nothing changed: up to date, from the remembered answer.
    let started = Instant::now();
    let doc = ok(&w.deploy(&[]));
    let again = started.elapsed();
    assert_eq!(doc["organization"]["outcome"], "up to date");
    assert_eq!(doc["organization"]["steps"], json!([]));
    eprintln!(
        "deploy --organization on moto: first {:.1}s, re-run {:.1}s",
        first.as_secs_f64(),
        again.as_secs_f64()
    );

    // status: the instances summarised.
    let out = w.cmd(&["status", "--json"]).output().unwrap();
    let doc = ok(&out);
    assert_eq!(
        doc["organization"],
        json!({
            "stack_set": "dingtalk-notifier-forwarders-123456789012",
            "status": "ACTIVE",
            "instances": 4,
            "by_status": {"CURRENT": 4},
            "by_detailed_status": {"SUCCEEDED": 4},
            "problems": []
        })
    );
    let out = w.cmd(&["status"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).ends_with(
            "\nOrganization forwarders (StackSet dingtalk-notifier-forwarders-123456789012, ACTIVE): 4 instance(s)\n\
             \x20 By status  CURRENT 4\n\
             \x20 By detail  SUCCEEDED 4\n"
        ),
        "{}",
        text(&out.stdout)
    );

    // destroy: the instances, then the StackSet, then the rest.
    let out = w.cmd(&["destroy", "--yes", "--json"]).output().unwrap();
    let doc = ok(&out);
    assert_eq!(doc["stack_set_deleted"], true);
    assert_eq!(doc["stack_deleted"], true);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "Its organization forwarders go too: StackSet dingtalk-notifier-forwarders-123456789012 (4 instance(s) in eu-west-1, us-east-1)"
        ),
        "{stderr}"
    );
    let gone = w
        .cfn()
        .describe_stack_set()
        .stack_set_name("dingtalk-notifier-forwarders-123456789012")
        .send()
        .await;
    assert_eq!(
        gone.unwrap_err().into_service_error().meta().code(),
        Some("StackSetNotFoundException")
    );
    assert_eq!(w.member_rules(&prod, "eu-west-1").await, vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_organization_removes_the_stack_set_the_bus_policy_and_the_names() {
    let w = World::new().await;
    let org = common::org::create(&w.config).await;
    ok(&w.deploy(&["--organization"]));
    assert_eq!(w.instances().await.len(), 2, "two members in us-east-1");

    let doc = ok(&w.deploy(&["--no-organization"]));
    assert_eq!(
        doc["organization"],
        json!({
            "organization_id": org.id,
            "stack_set": "dingtalk-notifier-forwarders-123456789012",
            "call_as": "SELF",
            "outcome": "removed",
            "steps": [{"step": "remove-regions", "regions": ["us-east-1"]}, {"step": "delete"}],
            "regions": [],
            "member_accounts": 0
        })
    );
    let home = w
        .cfn()
        .describe_stacks()
        .stack_name("dingtalk-notifier")
        .send()
        .await
        .unwrap();
    let params: BTreeMap<&str, &str> = home.stacks()[0]
        .parameters()
        .iter()
        .map(|p| (p.parameter_key().unwrap(), p.parameter_value().unwrap()))
        .collect();
    assert_eq!((params["OrganizationId"], params["AccountNames"]), ("", ""));
    let toml = std::fs::read_to_string(w.dir.path().join("dingtalk-notifier.toml")).unwrap();
    assert!(!toml.contains("organization"), "{toml}");
    // Off and forgotten: the next deploy does not ask Organizations at all.
    let doc = ok(&w.deploy(&[]));
    assert!(doc.get("organization").is_none(), "{doc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_outside_any_organization_is_told_so_in_one_line() {
    let w = World::new().await;
    let out = w.deploy(&["--organization"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim_end().lines().last().unwrap(),
        format!(
            "error: --organization: account {MANAGEMENT} is not in an AWS Organization; deploy without --organization, or join one"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delegated_administrator_deploys_without_its_own_account_and_a_plain_member_is_told_how()
{
    let w = World::new().await;
    let org = common::org::create(&w.config).await;
    let (dev, prod) = (org.members[0].0.clone(), org.members[1].0.clone());
    aws_sdk_organizations::Client::new(&w.config)
        .register_delegated_administrator()
        .account_id(&dev)
        .service_principal("member.org.stacksets.cloudformation.amazonaws.com")
        .send()
        .await
        .unwrap();

    let out = w.deploy_as(&prod, &["--organization"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim_end().lines().last().unwrap(),
        format!(
            "error: --organization: account {prod} is neither the organization's management account ({MANAGEMENT}) \
             nor a delegated administrator for StackSets: run from the management account, or register this one there \
             with `aws organizations register-delegated-administrator --service-principal member.org.stacksets.cloudformation.amazonaws.com --account-id {prod}`"
        )
    );

    let doc = ok(&w
        .deploy_as(&dev, &["--organization", "--regions", "eu-west-1"])
        .await);
    assert_eq!(
        doc["organization"],
        json!({
            "organization_id": org.id,
            "stack_set": format!("dingtalk-notifier-forwarders-{dev}"),
            "call_as": "DELEGATED_ADMIN",
            "outcome": "created",
            "steps": [{"step": "create"}, {"step": "add-regions", "regions": ["eu-west-1", "us-east-1"]}],
            "regions": ["eu-west-1", "us-east-1"],
            "member_accounts": 1
        })
    );
    // The administrator is a member: excluded (AccountFilterType DIFFERENCE),
    // or it would forward to itself; the management account never has one.
    let as_dev = common::org::as_member(&w.config, &dev, "us-east-1").await;
    let out = aws_sdk_cloudformation::Client::new(&as_dev)
        .list_stack_instances()
        .stack_set_name(format!("dingtalk-notifier-forwarders-{dev}"))
        .call_as(aws_sdk_cloudformation::types::CallAs::DelegatedAdmin)
        .send()
        .await
        .unwrap();
    let instances: BTreeSet<(&str, &str)> = out
        .summaries()
        .iter()
        .map(|s| (s.account().unwrap(), s.region().unwrap()))
        .collect();
    assert_eq!(
        instances,
        BTreeSet::from([(prod.as_str(), "eu-west-1"), (prod.as_str(), "us-east-1")])
    );
    let home_bus =
        format!("arn:aws:events:us-east-1:{dev}:event-bus/dingtalk-notifier-dingtalk-notifier");
    assert!(w
        .member_rules(&prod, "us-east-1")
        .await
        .iter()
        .all(|(_, target)| *target == home_bus));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_toml_the_home_stack_says_organization_and_destroy_removes_the_stack_set() {
    let w = World::new().await;
    common::org::create(&w.config).await;
    ok(&w.deploy(&["--organization"]));
    let toml = w.dir.path().join("dingtalk-notifier.toml");
    std::fs::remove_file(&toml).unwrap();

    // deploy without a flag keeps the organization's forwarders, as deployed.
    let doc = ok(&w.deploy(&[]));
    assert_eq!(doc["organization"]["outcome"], "up to date");
    let text_toml = std::fs::read_to_string(&toml).unwrap();
    assert!(text_toml.contains("\norganization = true\n"), "{text_toml}");
    std::fs::remove_file(&toml).unwrap();

    // status and destroy find the StackSet from the home stack.
    let doc = ok(&w.cmd(&["status", "--json"]).output().unwrap());
    assert_eq!(doc["organization"]["instances"], 2);
    let doc = ok(&w.cmd(&["destroy", "--yes", "--json"]).output().unwrap());
    assert_eq!(doc["stack_set_deleted"], true);
    let gone = w
        .cfn()
        .describe_stack_set()
        .stack_set_name("dingtalk-notifier-forwarders-123456789012")
        .send()
        .await;
    assert_eq!(
        gone.unwrap_err().into_service_error().meta().code(),
        Some("StackSetNotFoundException")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_set_steps_are_confirmed_even_when_the_home_stack_is_up_to_date() {
    let w = World::new().await;
    let org = common::org::create(&w.config).await;
    ok(&w.deploy(&["--organization"]));
    // Someone changed the StackSet's parameters: only it differs.
    let params: Vec<aws_sdk_cloudformation::types::Parameter> = w
        .cfn()
        .describe_stack_set()
        .stack_set_name("dingtalk-notifier-forwarders-123456789012")
        .send()
        .await
        .unwrap()
        .stack_set
        .unwrap()
        .parameters()
        .iter()
        .map(|p| {
            let mut p = p.clone();
            if p.parameter_key() == Some("AlarmStates") {
                p.parameter_value = Some("ALARM".into());
            }
            p
        })
        .collect();
    w.cfn()
        .update_stack_set()
        .stack_set_name("dingtalk-notifier-forwarders-123456789012")
        .template_body(FORWARDER)
        .set_parameters(Some(params))
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityIam)
        .send()
        .await
        .unwrap();

    let out = w.deploy(&[]);
    let doc = ok(&out);
    assert_eq!(doc["updated"], false, "the home stack is up to date");
    assert_eq!(doc["organization"]["outcome"], "updated");
    let stderr = text(&out.stderr);
    let line = format!(
        "  ~ Organization {}: StackSet dingtalk-notifier-forwarders-123456789012 in 2 member account(s) x 1 region(s) (us-east-1): update us-east-1\n",
        org.id
    );
    let shown = stderr.find(&line).unwrap_or_else(|| panic!("{stderr}"));
    let applied = stderr
        .find("Forwarders in the organization's accounts")
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        shown < applied,
        "asked before the StackSet changes: {stderr}"
    );
}
