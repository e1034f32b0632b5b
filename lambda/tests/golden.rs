//! Golden files: every AWS sample event renders to exactly the message in
//! `tests/golden/<name>.md` (title, kind, severity, state, then the text).
//! After an intended change, re-bless them with
//! `BLESS=1 cargo test -p dingtalk-notifier-lambda --test golden`
//! and review the diff like any other change.
//!
//! Every fixture is a real AWS sample; its source is the comment beside its
//! line in the table below. Every message must also stay readable on a
//! phone: at most [`MAX_LINES`] lines and two list levels.

use dingtalk_notifier_lambda::format::{render, FormatOptions};
use pretty_assertions::assert_eq;

/// Longest message, in lines, that any fixture may render to.
const MAX_LINES: usize = 40;

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What a golden file holds for one rendered payload.
fn shown(payload: &str, subject: Option<&str>) -> (String, String) {
    let r = render(payload, subject, &FormatOptions::default());
    let head = format!(
        "title: {}\nkind: {}\nseverity: {}\nstate: {}\n---\n",
        r.message.title,
        r.kind.as_str(),
        r.severity,
        r.state.as_deref().unwrap_or("-"),
    );
    (head + &r.message.text, r.message.text)
}

/// Renders `tests/fixtures/<name>.json` (or `<name>.txt`, a plain-text SNS
/// message, with an SNS subject, if given) and compares it with
/// `tests/golden/<name>.md`.
pub fn golden(name: &str, subject: Option<&str>) {
    let dir = env!("CARGO_MANIFEST_DIR");
    let text = format!("{dir}/tests/fixtures/{name}.txt");
    let payload = if std::path::Path::new(&text).exists() {
        read(&text)
    } else {
        read(&format!("{dir}/tests/fixtures/{name}.json"))
    };
    let (got, text) = shown(&payload, subject);
    let path = format!("{dir}/tests/golden/{name}.md");
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, &got).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    assert_eq!(
        got,
        read(&path),
        "{name}: re-bless with BLESS=1 if intended"
    );
    let lines = text.lines().count();
    assert!(lines <= MAX_LINES, "{name}: {lines} lines > {MAX_LINES}");
    let deepest = text
        .lines()
        .filter(|l| l.trim_start().starts_with("- "))
        // Nested items are indented 4 spaces (see markdown/fields.rs).
        .map(|l| (l.len() - l.trim_start().len()) / 4 + 1)
        .max()
        .unwrap_or(0);
    assert!(deepest <= 2, "{name}: {deepest} list levels > 2");
}

/// One `#[test]` per fixture, so a failure names it.
macro_rules! goldens {
    ($($name:ident $(subject = $subject:literal)?;)*) => {
        $(
            #[test]
            fn $name() {
                golden(stringify!($name), None $(.or(Some($subject)))?);
            }
        )*
    };
}

goldens! {
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
    alarm_metric_alarm;
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
    alarm_composite;
    // detail.findings[0]: aws-solutions/automated-security-response-on-aws simtest/simdata/afsbp-ec2.1.json (AWS's own ASFF finding);
    // envelope: https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-cwe-event-formats.html
    securityhub_finding_critical;
    // detail.findings[0]: aws-solutions/automated-security-response-on-aws simtest/simdata/afsbp-s3.2.json;
    // envelope: https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-cwe-event-formats.html
    securityhub_finding_resolved;
    // https://docs.aws.amazon.com/inspector/latest/user/eventbridge-integration.html ("Amazon EC2 package vulnerability finding")
    inspector2_finding_closed;
    // https://docs.aws.amazon.com/inspector/latest/user/eventbridge-integration.html ("Amazon ECR package vulnerability finding")
    inspector2_finding_ecr;
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-eventbridge.html (awsdocs/iam-user-guide)
    access_analyzer_finding;
    // detail: awsdocs/aws-cloudtrail-user-guide doc_source/cloudtrail-event-reference-aws-console-sign-in-events.md
    // (root user, no MFA); envelope as EventBridge delivers CloudTrail records (source aws.signin, id = eventID)
    cloudtrail_console_signin_root;
    // detail: same page, "an IAM user's unsuccessful sign-in attempt"; envelope as above
    cloudtrail_console_signin_failure;
    // detail: awsdocs/aws-cloudtrail-user-guide doc_source/cloudtrail-log-file-examples.md (IAM CreateUser by Alice);
    // envelope (source aws.iam, region = awsRegion; the record has no eventID) as EventBridge delivers it
    cloudtrail_api_call;
    // detail: awsdocs/aws-config-developer-guide doc_source/example-config-rule-compliance-notification.md (its Message);
    // envelope: doc_source/monitor-config-with-cloudwatchevents.md ("Amazon EventBridge format for AWS Config")
    config_compliance_change;
    // awsdocs/aws-config-developer-guide doc_source/example-config-rule-compliance-notification.md: the Message and its Subject
    config_compliance_sns subject = "[AWS Config:us-east-2] AWS::::Account 123456789012 is COMPLIANT with cloudtrail-enabled in Accoun...";
    // https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html ("Event for a completed image scan";
    // the page's curly quote after MEDIUM straightened so it parses)
    ecr_image_scan;
    // aws-solutions/quota-monitor-for-aws source/lambda/services/snsPublisher/__tests__/sns-publish.spec.ts (sampleEvent)
    trusted_advisor_check;
    // Operations (issue 17). awsdocs/* sources are the archived docs repositories at the
    // commit before their content was removed (`git show HEAD~1:<path>`); "times filled in"
    // means the sample's `yyyy-mm-ddThh:mm:ssZ` placeholders were given real times.
    // awsdocs/amazon-ecs-developer-guide doc_source/fargate-capacity-providers.md ("snippet of a task state change event", its `...` removed)
    ecs_task_stopped_spot;
    // awsdocs/amazon-ecs-developer-guide doc_source/ecs_cwe_events.md (service deployment failed event)
    ecs_deployment_failed;
    // awsdocs/amazon-ecs-developer-guide doc_source/ecs_cwe_events.md (service task placement failure event)
    ecs_service_placement_failure;
    // https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html (Backup Job events, State: FAILED)
    backup_job_failed;
    // https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html (Copy Job events, State: FAILED)
    backup_copy_job_failed;
    // awsdocs/aws-codepipeline-user-guide doc_source/detect-state-changes-cloudwatch-events.md (Pipeline FAILED event)
    codepipeline_pipeline_failed;
    // awsdocs/aws-codepipeline-user-guide doc_source/detect-state-changes-cloudwatch-events.md (Action FAILED event)
    codepipeline_action_failed;
    // aws/aws-lambda-go events/testdata/codebuild-state-change.json
    codebuild_build_succeeded;
    // aws/aws-lambda-go events/testdata/codedeploy-deployment-event.json
    codedeploy_deployment_success;
    // aws/aws-lambda-go events/testdata/autoscaling-event-launch-unsuccessful.json
    autoscaling_launch_unsuccessful;
    // awsdocs/amazon-ec2-auto-scaling-user-guide doc_source/ec2-auto-scaling-event-reference.md (EC2 Instance Terminate Unsuccessful; times filled in)
    autoscaling_terminate_unsuccessful;
    // awsdocs/amazon-ec2-auto-scaling-user-guide doc_source/ec2-auto-scaling-event-reference.md (Instance Refresh Failed; time filled in)
    autoscaling_instance_refresh_failed;
    // awsdocs/amazon-ec2-auto-scaling-user-guide doc_source/ec2-auto-scaling-event-reference.md (Instance Refresh Checkpoint Reached; time filled in)
    autoscaling_instance_refresh_checkpoint;
    // awsdocs/amazon-rds-user-guide doc_source/USER_Events.overview.md (Example of a DB instance event)
    rds_instance_failover;
    // awsdocs/amazon-aurora-user-guide doc_source/USER_Events.overview.md (Example of a DB cluster event)
    rds_cluster_patched;
    // awsdocs/amazon-ec2-user-guide doc_source/spot-instance-termination-notices.md (time filled in; instance-action "action" → "terminate", one of the documented values)
    ec2_spot_interruption;
    // awsdocs/amazon-ec2-user-guide doc_source/rebalance-recommendations.md (time filled in)
    ec2_rebalance_recommendation;
    // awsdocs/amazon-ec2-user-guide doc_source/ebs-cloud-watch-events.md (failed attachVolume; time filled in)
    ebs_volume_attach_failed;
    // awsdocs/amazon-ec2-user-guide doc_source/ebs-cloud-watch-events.md (failed copySnapshot; times filled in)
    ebs_snapshot_copy_failed;
    // awsdocs/aws-certificate-user-guide doc_source/supported-events.md (ACM expiration events)
    acm_certificate_expiring;
    // awsdocs/aws-systems-manager-user-guide doc_source/monitoring-systems-manager-event-examples.md (Patch Non-Compliant)
    ssm_patch_non_compliant;
    // awsdocs/aws-systems-manager-user-guide doc_source/monitoring-systems-manager-event-examples.md (Run Command Status-change Notification)
    ssm_command_success;
    // awsdocs/aws-systems-manager-user-guide doc_source/monitoring-systems-manager-event-examples.md (Run Command Invocation Status-change Notification)
    ssm_command_invocation_success;
    // awsdocs/amazon-cloudwatch-events-user-guide doc_source/EventTypes.md (AWS Glue Events, Failed Job Run)
    glue_job_failed;
    // AWS Cost Management User Guide, "Using EventBridge with Cost Anomaly Detection" (its example event; `<placeholders>` filled in, `//` comments removed)
    cost_anomaly_event;
    // https://docs.aws.amazon.com/aws-backup/latest/devguide/backup-notifications.html (Example: Backup job failed, its Subject and Message)
    backup_sns_failed subject = "Notification from AWS Backup";
    // https://docs.aws.amazon.com/aws-backup/latest/devguide/backup-notifications.html (Example: Backup job completed)
    backup_sns_completed subject = "Notification from AWS Backup";
    // AWS publishes no sample of this text: the Subject and Message as AWS Budgets sent them, quoted
    // verbatim in public test code (a `mock_budget_alert`, 2022-09-26, account 017790921725)
    budgets_sns_actual subject = "AWS Budgets: Test Budget has exceeded your alert threshold";
    // The Message of aws/aws-lambda-go events/testdata/cloudwatch-alarm-sns-payload-single-metric.json
    alarm_sns_single_metric;
    // The Message of aws/aws-lambda-go events/testdata/cloudwatch-alarm-sns-payload-multiple-metrics.json
    alarm_sns_metric_math;
    // aws/aws-health-tools automated-actions/AWS_RISK_CREDENTIALS_EXPOSED/README.md ("Testing the Example")
    health_risk_credentials_exposed;
}
