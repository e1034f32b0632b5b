//! The opt-in rules (README "Rules"): off unless `deploy --rules` names
//! them, each with an event pattern that keeps the noise out. The patterns
//! are asserted exactly, then run against real AWS sample events (the
//! lambda crate's fixtures and the documentation samples below) with a
//! small matcher that follows EventBridge's documented semantics, so a
//! pattern that drops what it should deliver, or delivers what it should
//! drop, fails here.

use serde_json::{json, Value};

const NOTIFIER: &str = include_str!("../templates/notifier.yaml");
const FORWARDER: &str = include_str!("../templates/forwarder.yaml");

/// CloudFormation's limit for a template passed inline (`TemplateBody`),
/// which is how `deploy` passes both.
const MAX_TEMPLATE_BODY: usize = 51_200;

/// Every opt-in rule: resource, switch, and its pattern exactly.
fn opt_in() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "SecurityHubRule",
            "EnableSecurityHubRule",
            json!({
                "source": ["aws.securityhub"],
                "detail-type": ["Security Hub Findings - Imported"],
                "detail": {"findings": {
                    "Severity": {"Label": ["HIGH", "CRITICAL"]},
                    "Workflow": {"Status": ["NEW"]},
                    "RecordState": ["ACTIVE"]
                }}
            }),
        ),
        (
            "GuardDutyRule",
            "EnableGuardDutyRule",
            json!({
                "source": ["aws.guardduty"],
                "$or": [
                    {"detail-type": ["GuardDuty Finding"], "detail": {"severity": [{"numeric": [">=", 7]}]}},
                    {"detail-type": ["GuardDuty Malware Protection Object Scan Result"],
                     "detail": {"scanResultDetails": {"scanResultStatus": ["THREATS_FOUND"]}}}
                ]
            }),
        ),
        (
            "InspectorRule",
            "EnableInspectorRule",
            json!({
                "source": ["aws.inspector2"],
                "detail-type": ["Inspector2 Finding"],
                "detail": {"severity": ["HIGH", "CRITICAL"], "status": ["ACTIVE"]}
            }),
        ),
        (
            "AccessAnalyzerRule",
            "EnableAccessAnalyzerRule",
            json!({
                "source": ["aws.access-analyzer"],
                "detail-type": ["Access Analyzer Finding"],
                "detail": {"status": ["ACTIVE"], "isDeleted": [false]}
            }),
        ),
        (
            "RootActivityRule",
            "EnableRootActivityRule",
            json!({
                "detail-type": ["AWS Console Sign In via CloudTrail", "AWS API Call via CloudTrail"],
                // Not on `eventType`: older records (the 2014 sample) have
                // none, and a field a pattern names must be present.
                "detail": {"userIdentity": {"type": ["Root"], "invokedBy": [{"exists": false}]}}
            }),
        ),
        (
            "ConfigComplianceRule",
            "EnableConfigComplianceRule",
            json!({
                "source": ["aws.config"],
                "detail-type": ["Config Rules Compliance Change"],
                "detail": {
                    "messageType": ["ComplianceChangeNotification"],
                    "newEvaluationResult": {"complianceType": ["NON_COMPLIANT"]}
                }
            }),
        ),
        (
            "EcrScanRule",
            "EnableEcrScanRule",
            json!({
                "source": ["aws.ecr"],
                "detail-type": ["ECR Image Scan"],
                "detail": {"$or": [
                    {"finding-severity-counts": {"CRITICAL": [{"numeric": [">", 0]}]}},
                    {"finding-severity-counts": {"HIGH": [{"numeric": [">", 0]}]}}
                ]}
            }),
        ),
        (
            "TrustedAdvisorRule",
            "EnableTrustedAdvisorRule",
            json!({
                "source": ["aws.trustedadvisor"],
                "detail-type": ["Trusted Advisor Check Item Refresh Notification"],
                "detail": {"status": ["ERROR"]}
            }),
        ),
        (
            "BackupFailureRule",
            "EnableBackupFailureRule",
            json!({
                "source": ["aws.backup"],
                "detail-type": ["Backup Job State Change", "Copy Job State Change"],
                "detail": {"state": ["FAILED", "ABORTED", "EXPIRED"]}
            }),
        ),
        (
            "PipelineFailureRule",
            "EnablePipelineFailureRule",
            json!({
                "$or": [
                    {"source": ["aws.codepipeline"],
                     "detail-type": ["CodePipeline Pipeline Execution State Change"],
                     "detail": {"state": ["FAILED"]}},
                    {"source": ["aws.codebuild"],
                     "detail-type": ["CodeBuild Build State Change"],
                     "detail": {"build-status": ["FAILED"]}},
                    {"source": ["aws.codedeploy"],
                     "detail-type": ["CodeDeploy Deployment State-change Notification"],
                     "detail": {"state": ["FAILURE"]}}
                ]
            }),
        ),
        (
            "EcsTaskFailureRule",
            "EnableEcsTaskFailureRule",
            json!({
                "source": ["aws.ecs"],
                "detail-type": ["ECS Task State Change"],
                "detail": {
                    "lastStatus": ["STOPPED"],
                    "$or": [
                        {"containers": {"exitCode": [{"anything-but": 0}]}},
                        {"stopCode": ["TaskFailedToStart"]}
                    ]
                }
            }),
        ),
        (
            "AcmExpiryRule",
            "EnableAcmExpiryRule",
            json!({
                "source": ["aws.acm"],
                "detail-type": ["ACM Certificate Approaching Expiration"],
                "detail": {"DaysToExpiry": [30, 14, 7, 3, 1]}
            }),
        ),
    ]
}

fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).expect("the template is plain YAML")
}

fn pattern(template: &Value, rule: &str) -> Value {
    template["Resources"][rule]["Properties"]["EventPattern"].clone()
}

#[test]
fn each_opt_in_rule_has_exactly_its_pattern_in_both_templates() {
    let (n, f) = (yaml(NOTIFIER), yaml(FORWARDER));
    for (rule, _, want) in opt_in() {
        assert_eq!(pattern(&n, rule), want, "notifier {rule}");
        assert_eq!(pattern(&f, rule), want, "forwarder {rule}");
    }
}

#[test]
fn opt_in_rules_are_off_by_default_and_each_has_its_own_switch() {
    let (n, f) = (yaml(NOTIFIER), yaml(FORWARDER));
    for (rule, parameter, _) in opt_in() {
        for (name, t) in [("notifier", &n), ("forwarder", &f)] {
            let p = &t["Parameters"][parameter];
            assert_eq!(p["Type"], "String", "{name} {parameter}");
            assert_eq!(p["Default"], "false", "{name} {parameter}: opt-in");
            assert_eq!(
                p["AllowedValues"],
                json!(["true", "false"]),
                "{name} {parameter}"
            );
            let condition = format!("{}On", rule);
            assert_eq!(
                t["Resources"][rule]["Condition"],
                condition.as_str(),
                "{name} {rule}"
            );
            assert_eq!(
                t["Conditions"][&condition],
                json!({"Fn::Equals": [{"Ref": parameter}, "true"]}),
                "{name} {condition}"
            );
        }
    }
}

#[test]
fn opt_in_rules_deliver_to_the_topic_at_home_and_to_the_home_bus_from_a_forwarder() {
    let (n, f) = (yaml(NOTIFIER), yaml(FORWARDER));
    for (rule, _, _) in opt_in() {
        assert_eq!(
            n["Resources"][rule]["Properties"]["Targets"],
            json!([{"Id": "dingtalk-notifier-topic", "Arn": {"Ref": "Topic"}}]),
            "{rule}"
        );
        assert_eq!(
            f["Resources"][rule]["Properties"]["Targets"][0]["Id"], "dingtalk-notifier-home-bus",
            "{rule}"
        );
    }
}

#[test]
fn both_templates_fit_cloudformations_inline_limit() {
    // A template over the limit fails every deploy at the first call.
    // `deploy` sends the notifier as compact JSON (`aws::stack::compact`):
    // its comments do not count.
    let doc: serde_json::Value = serde_yaml::from_str(NOTIFIER).unwrap();
    let sent = serde_json::to_string(&doc).unwrap();
    assert!(sent.len() <= MAX_TEMPLATE_BODY, "{} bytes", sent.len());
    assert!(
        FORWARDER.len() <= MAX_TEMPLATE_BODY,
        "{} bytes",
        FORWARDER.len()
    );
}

// ---- EventBridge's matching, as documented ("Event patterns", "Content
// filtering"): every field of the pattern must match; a leaf is a list of
// alternatives; an array in the event matches when any element does; a
// missing field matches only `{"exists": false}`; `$or` holds when any
// branch does.

fn matches(pattern: &Value, event: &Value) -> bool {
    let Some(fields) = pattern.as_object() else {
        return false;
    };
    fields.iter().all(|(key, want)| {
        if key == "$or" {
            return want
                .as_array()
                .is_some_and(|branches| branches.iter().any(|b| matches(b, event)));
        }
        let got = event.get(key);
        match want {
            Value::Array(alternatives) => leaf(alternatives, got),
            Value::Object(_) => got.is_some_and(|g| match g {
                Value::Array(items) => items.iter().any(|i| matches(want, i)),
                other => matches(want, other),
            }),
            _ => false,
        }
    })
}

fn leaf(alternatives: &[Value], got: Option<&Value>) -> bool {
    let values: Vec<&Value> = match got {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v) => vec![v],
    };
    alternatives.iter().any(|alt| match alt {
        Value::Object(op) => {
            if let Some(exists) = op.get("exists").and_then(Value::as_bool) {
                return exists == got.is_some();
            }
            values.iter().any(|v| operator(op, v))
        }
        literal => values.iter().any(|v| equal(literal, v)),
    })
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn operator(op: &serde_json::Map<String, Value>, v: &Value) -> bool {
    if let Some(excluded) = op.get("anything-but") {
        return match excluded {
            Value::Array(list) => !list.iter().any(|e| equal(e, v)),
            one => !equal(one, v),
        };
    }
    if let Some(Value::Array(terms)) = op.get("numeric") {
        let Some(x) = v.as_f64() else { return false };
        return terms.chunks(2).all(|t| {
            let bound = t[1].as_f64().expect("numeric bound");
            match t[0].as_str().expect("numeric operator") {
                ">" => x > bound,
                ">=" => x >= bound,
                "<" => x < bound,
                "<=" => x <= bound,
                "=" => x == bound,
                other => panic!("numeric operator {other}"),
            }
        });
    }
    if let Some(Value::String(prefix)) = op.get("prefix") {
        return v.as_str().is_some_and(|s| s.starts_with(prefix.as_str()));
    }
    panic!("operator not modelled: {op:?}")
}

#[test]
fn the_matcher_follows_eventbridges_documented_examples() {
    // From "Content filtering in Amazon EventBridge event patterns".
    let event = json!({"detail": {"c-count": 5, "d-count": 3, "x-limit": 301.8, "state": "running",
                                  "list": ["a", "b"]}});
    assert!(matches(
        &json!({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}),
        &event
    ));
    assert!(!matches(
        &json!({"detail": {"d-count": [{"numeric": ["<", 3]}]}}),
        &event
    ));
    assert!(matches(
        &json!({"detail": {"state": [{"anything-but": "stopped"}]}}),
        &event
    ));
    assert!(!matches(
        &json!({"detail": {"state": [{"anything-but": ["running"]}]}}),
        &event
    ));
    assert!(matches(
        &json!({"detail": {"missing": [{"exists": false}]}}),
        &event
    ));
    assert!(!matches(&json!({"detail": {"missing": ["x"]}}), &event));
    assert!(matches(&json!({"detail": {"list": ["b"]}}), &event));
    assert!(matches(
        &json!({"$or": [{"detail": {"state": ["x"]}}, {"detail": {"list": ["a"]}}]}),
        &event
    ));
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/lambda/tests/fixtures/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn rule(name: &str) -> Value {
    pattern(&yaml(NOTIFIER), name)
}

/// `event` with the value at `pointer` replaced: the same real sample, in
/// the state the test needs.
fn with(mut event: Value, pointer: &str, value: Value) -> Value {
    *event
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer}")) = value;
    event
}

#[test]
fn security_rules_pass_new_serious_findings_and_drop_the_rest() {
    let hub = rule("SecurityHubRule");
    assert!(matches(&hub, &fixture("securityhub_finding_critical")));
    assert!(
        !matches(&hub, &fixture("securityhub_finding_resolved")),
        "RESOLVED, INFORMATIONAL"
    );
    let notified = with(
        fixture("securityhub_finding_critical"),
        "/detail/findings/0/Workflow/Status",
        json!("NOTIFIED"),
    );
    assert!(!matches(&hub, &notified), "someone already took it");

    let inspector = rule("InspectorRule");
    assert!(
        !matches(&inspector, &fixture("inspector2_finding_ecr")),
        "MEDIUM"
    );
    assert!(
        !matches(&inspector, &fixture("inspector2_finding_closed")),
        "CLOSED"
    );
    let high = with(
        fixture("inspector2_finding_ecr"),
        "/detail/severity",
        json!("HIGH"),
    );
    assert!(matches(&inspector, &high));
    let closed_high = with(
        fixture("inspector2_finding_closed"),
        "/detail/severity",
        json!("CRITICAL"),
    );
    assert!(
        !matches(&inspector, &closed_high),
        "a CLOSED finding stays quiet"
    );

    let guardduty = rule("GuardDutyRule");
    assert!(
        matches(&guardduty, &fixture("guardduty_finding")),
        "severity 8"
    );
    assert!(
        !matches(&guardduty, &fixture("guardduty_minimal")),
        "severity 2"
    );

    let analyzer = rule("AccessAnalyzerRule");
    assert!(matches(&analyzer, &fixture("access_analyzer_finding")));
    let resolved = with(
        fixture("access_analyzer_finding"),
        "/detail/status",
        json!("RESOLVED"),
    );
    assert!(!matches(&analyzer, &resolved));

    let root = rule("RootActivityRule");
    assert!(matches(&root, &fixture("cloudtrail_console_signin_root")));
    assert!(
        !matches(&root, &fixture("cloudtrail_console_signin_failure")),
        "an IAM user"
    );
    assert!(
        !matches(&root, &fixture("cloudtrail_api_call")),
        "an IAM user"
    );
    let root_call = with(
        fixture("cloudtrail_api_call"),
        "/detail/userIdentity/type",
        json!("Root"),
    );
    assert!(matches(&root, &root_call));
    let for_root = with(
        root_call,
        "/detail/userIdentity",
        json!({"type": "Root", "invokedBy": "support.amazonaws.com"}),
    );
    assert!(!matches(&root, &for_root), "a service acting for root");

    let config = rule("ConfigComplianceRule");
    assert!(
        !matches(&config, &fixture("config_compliance_change")),
        "COMPLIANT"
    );
    let failing = with(
        fixture("config_compliance_change"),
        "/detail/newEvaluationResult/complianceType",
        json!("NON_COMPLIANT"),
    );
    assert!(matches(&config, &failing));

    let ecr = rule("EcrScanRule");
    assert!(matches(&ecr, &fixture("ecr_image_scan")), "10 CRITICAL");
    let medium_only = with(
        fixture("ecr_image_scan"),
        "/detail/finding-severity-counts",
        json!({"MEDIUM": 9}),
    );
    assert!(!matches(&ecr, &medium_only));
    let high = with(
        fixture("ecr_image_scan"),
        "/detail/finding-severity-counts",
        json!({"HIGH": 1, "CRITICAL": 0}),
    );
    assert!(matches(&ecr, &high));

    let advisor = rule("TrustedAdvisorRule");
    assert!(
        matches(&advisor, &fixture("trusted_advisor_check")),
        "ERROR"
    );
    let warn = with(
        fixture("trusted_advisor_check"),
        "/detail/status",
        json!("WARN"),
    );
    assert!(!matches(&advisor, &warn));
}

/// https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html,
/// "Backup Job events", State: FAILED and State: COMPLETED.
fn backup_job(state: &str) -> Value {
    let failed = json!({
      "version": "0",
      "id": "710b0398-d48e-f3c3-afca-cfeb2fdaa656",
      "detail-type": "Backup Job State Change",
      "source": "aws.backup",
      "account": "1112233445566",
      "time": "2020-07-29T20:15:26Z",
      "region": "us-west-2",
      "resources": [],
      "detail": {
        "backupJobId": "34176239-e96d-4e1d-9fad-529dbb3c3556",
        "backupVaultArn": "arn:aws:backup:us-west-2:1112233445566:backup-vault:9ab3e749-82c6-4342-9320-5edbf4918b86",
        "backupVaultName": "9ab3e749-82c6-4342-9320-5edbf4918b86",
        "bytesTransferred": "0",
        "creationDate": "2020-07-29T20:13:07.392Z",
        "iamRoleArn": "arn:aws:iam::1112233445566:role/MockRCBackupTestRole",
        "resourceArn": "arn:aws:service:us-west-2:1112233445566:resource-type/resource-id",
        "resourceType": "type",
        "state": "FAILED",
        "statusMessage": "\"Backup job failed because backup vault arn:aws:backup:us-west-2:1112233445566:backup-vault:9ab3e749-82c6-4342-9320-5edbf4918b86 does not exist.\"",
        "startBy": "2020-07-30T04:13:07.392Z",
        "percentDone": 0,
        "retryCount": 3
      }
    });
    let completed = json!({
      "version": "0",
      "id": "dafac799-9b88-0134-26b7-fef4d54a134f",
      "detail-type": "Backup Job State Change",
      "source": "aws.backup",
      "account": "1112233445566",
      "time": "2020-07-15T21:41:17Z",
      "region": "us-west-2",
      "resources": [
        "arn:aws:backup:us-west-2:1112233445566:recovery-point:f1d966fe-a3bd-410b-b292-99f442d13b56"
      ],
      "detail": {
        "backupJobId": "a827233a-d405-4a86-a440-759fa94f34dd",
        "backupSizeInBytes": "36048",
        "backupVaultArn": "arn:aws:backup:us-west-2:1112233445566:backup-vault:9732c1b4-1091-472a-9d9f-52e0565ee39a",
        "backupVaultName": "9732c1b4-1091-472a-9d9f-52e0565ee39a",
        "bytesTransferred": "36048",
        "creationDate": "2020-07-15T21:40:31.207Z",
        "iamRoleArn": "arn:aws:iam::1112233445566:role/MockRCBackupTestRole",
        "resourceArn": "arn:aws:service:us-west-2:1112233445566:resource-type/resource-id",
        "resourceType": "type",
        "state": "COMPLETED",
        "completionDate": "2020-07-15T21:41:05.921Z",
        "startBy": "2020-07-16T05:40:31.207Z",
        "percentDone": 100,
        "retryCount": 3
      }
    });
    if state == "FAILED" {
        failed
    } else {
        completed
    }
}

/// https://docs.aws.amazon.com/acm/latest/userguide/supported-events.html
/// ("ACM Certificate Approaching Expiration", as the page showed it in 2020).
fn acm_expiry() -> Value {
    json!({
      "version": "0",
      "id": "9c95e8e4-96a4-ef3f-b739-b6aa5b193afb",
      "detail-type": "ACM Certificate Approaching Expiration",
      "source": "aws.acm",
      "account": "123456789012",
      "time": "2020-09-30T06:51:08Z",
      "region": "us-east-1",
      "resources": ["arn:aws:acm:us-east-1:123456789012:certificate/61f50cd4-45b9-4259-b049-d0a53682fa4b"],
      "detail": {"DaysToExpiry": 31, "CommonName": "example.com"}
    })
}

/// awsdocs/amazon-ecs-developer-guide doc_source/ecs_cwe_events.md,
/// "Example Task state change event" (a RUNNING Fargate task; its
/// attachments, overrides and network fields left out: no pattern reads them).
fn ecs_task() -> Value {
    json!({
        "version": "0",
        "id": "3317b2af-7005-947d-b652-f55e762e571a",
        "detail-type": "ECS Task State Change",
        "source": "aws.ecs",
        "account": "111122223333",
        "time": "2020-01-23T17:57:58Z",
        "region": "us-west-2",
        "resources": ["arn:aws:ecs:us-west-2:111122223333:task/FargateCluster/c13b4cb40f1f4fe4a2971f76ae5a47ad"],
        "detail": {
            "availabilityZone": "us-west-2c",
            "clusterArn": "arn:aws:ecs:us-west-2:111122223333:cluster/FargateCluster",
            "containers": [{
                "containerArn": "arn:aws:ecs:us-west-2:111122223333:container/cf159fd6-3e3f-4a9e-84f9-66cbe726af01",
                "lastStatus": "RUNNING",
                "name": "FargateApp",
                "image": "111122223333.dkr.ecr.us-west-2.amazonaws.com/hello-repository:latest",
                "taskArn": "arn:aws:ecs:us-west-2:111122223333:task/FargateCluster/c13b4cb40f1f4fe4a2971f76ae5a47ad",
                "cpu": "0"
            }],
            "createdAt": "2020-01-23T17:57:34.402Z",
            "launchType": "FARGATE",
            "desiredStatus": "RUNNING",
            "group": "family:sample-fargate",
            "lastStatus": "RUNNING",
            "taskArn": "arn:aws:ecs:us-west-2:111122223333:task/FargateCluster/c13b4cb40f1f4fe4a2971f76ae5a47ad",
            "taskDefinitionArn": "arn:aws:ecs:us-west-2:111122223333:task-definition/sample-fargate:1",
            "version": 4,
            "platformVersion": "1.3.0"
        }
    })
}

#[test]
fn operations_rules_pass_failures_and_drop_successes() {
    let backup = rule("BackupFailureRule");
    assert!(matches(&backup, &backup_job("FAILED")));
    assert!(!matches(&backup, &backup_job("COMPLETED")));
    let copy = with(
        backup_job("FAILED"),
        "/detail-type",
        json!("Copy Job State Change"),
    );
    assert!(matches(&backup, &copy));

    let acm = rule("AcmExpiryRule");
    assert!(
        !matches(&acm, &acm_expiry()),
        "31 days: not one of the reminder days"
    );
    for days in [30, 14, 7, 3, 1] {
        assert!(
            matches(
                &acm,
                &with(acm_expiry(), "/detail/DaysToExpiry", json!(days))
            ),
            "{days}"
        );
    }

    let ecs = rule("EcsTaskFailureRule");
    assert!(!matches(&ecs, &ecs_task()), "RUNNING");
    let stopped = with(ecs_task(), "/detail/lastStatus", json!("STOPPED"));
    assert!(
        !matches(&ecs, &stopped),
        "stopped, no exit code yet reported"
    );
    let mut clean = stopped.clone();
    clean["detail"]["containers"][0]["exitCode"] = json!(0);
    assert!(!matches(&ecs, &clean), "exit 0: a normal stop");
    let mut failed = stopped.clone();
    failed["detail"]["containers"][0]["exitCode"] = json!(137);
    assert!(matches(&ecs, &failed), "exit 137");
    let mut never_started = stopped;
    never_started["detail"]["stopCode"] = json!("TaskFailedToStart");
    assert!(matches(&ecs, &never_started), "no exit code at all");

    // The fields the pattern reads, as CodeBuild, CodePipeline and CodeDeploy
    // document them; the full samples are the operations messages' fixtures.
    let pipelines = rule("PipelineFailureRule");
    let build = |status: &str| {
        json!({"source": "aws.codebuild", "detail-type": "CodeBuild Build State Change",
                                       "detail": {"build-status": status}})
    };
    assert!(matches(&pipelines, &build("FAILED")));
    assert!(!matches(&pipelines, &build("SUCCEEDED")));
    let pipeline = json!({"source": "aws.codepipeline", "detail-type": "CodePipeline Pipeline Execution State Change",
                          "detail": {"state": "FAILED"}});
    assert!(matches(&pipelines, &pipeline));
    let deployment = json!({"source": "aws.codedeploy", "detail-type": "CodeDeploy Deployment State-change Notification",
                            "detail": {"state": "SUCCESS"}});
    assert!(!matches(&pipelines, &deployment));
}
