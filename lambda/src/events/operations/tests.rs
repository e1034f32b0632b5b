//! What the golden files cannot show: the variants of each source's scale,
//! and the fields that must never reach the group.

use serde_json::json;

use crate::format::{render, AlertKind, FormatOptions, Rendered, Severity};

fn event(source: &str, detail_type: &str, detail: serde_json::Value) -> Rendered {
    let payload = json!({
        "version": "0", "id": "e-1", "detail-type": detail_type, "source": source,
        "account": "111122223333", "time": "2020-01-23T17:57:58Z", "region": "us-west-2",
        "resources": [], "detail": detail
    });
    render(&payload.to_string(), None, &FormatOptions::default())
}

/// AWS's task state change sample (ecs_cwe_events.md), stopped: one
/// container failed, one exited cleanly; the override carries a secret.
fn stopped_task(stop_code: &str, exit_codes: [i64; 2]) -> serde_json::Value {
    json!({
        "clusterArn": "arn:aws:ecs:us-west-2:111122223333:cluster/FargateCluster",
        "taskArn": "arn:aws:ecs:us-west-2:111122223333:task/FargateCluster/c13b4cb40f1f4fe4a2971f76ae5a47ad",
        "taskDefinitionArn": "arn:aws:ecs:us-west-2:111122223333:task-definition/sample-fargate:1",
        "group": "service:sample-fargate",
        "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
        "stopCode": stop_code,
        "stoppedReason": "Essential container in task exited",
        "stoppedAt": "2020-01-23T17:58:08.103Z",
        "containers": [
            {"name": "FargateApp", "lastStatus": "STOPPED", "exitCode": exit_codes[0],
             "reason": "OutOfMemoryError: Container killed due to memory usage"},
            {"name": "sidecar", "lastStatus": "STOPPED", "exitCode": exit_codes[1]}
        ],
        "overrides": {"containerOverrides": [{"name": "FargateApp",
            "environment": [{"name": "DB_PASSWORD", "value": "hunter2-override"}]}]}
    })
}

#[test]
fn a_stopped_task_lists_each_container_and_never_its_environment() {
    let r = event(
        "aws.ecs",
        "ECS Task State Change",
        stopped_task("EssentialContainerExited", [137, 0]),
    );
    assert_eq!(r.kind, AlertKind::Typed("ecs_task_stopped"));
    assert_eq!(r.severity, Severity::High);
    assert_eq!(r.state.as_deref(), Some("EssentialContainerExited"));
    assert_eq!(
        r.message.title,
        "🟠 ECS 任务已停止 Task stopped: sample-fargate (EssentialContainerExited)"
    );
    assert_eq!(
        r.message.text,
        "### 🟠 ECS 任务已停止 Task stopped: sample-fargate\n\n\
         - **原因 Reason**: Essential container in task exited\n\
         - **停止代码 Stop code**: EssentialContainerExited\n\
         - **集群 Cluster**: FargateCluster\n\
         - **任务 Task**: c13b4cb40f1f4fe4a2971f76ae5a47ad\n\
         - **任务定义 Task definition**: sample-fargate:1\n\
         - **组 Group**: service:sample-fargate\n\
         - **状态 Status**: STOPPED → STOPPED\n\
         - **账号 Account**: 111122223333\n\
         - **区域 Region**: us-west-2\n\
         - **时间 Time**: 2020-01-24 01:57:58 (Asia/Shanghai)\n\
         - **停止时间 Stopped at**: 2020-01-24 01:58:08 (Asia/Shanghai)\n\n\
         **容器 Containers (2)**\n\n\
         - FargateApp · 退出码 exit 137 · OutOfMemoryError: Container killed due to memory usage\n\
         - sidecar · 退出码 exit 0\n\n\
         [在 ECS 控制台查看 Open in ECS](https://us-west-2.console.aws.amazon.com/ecs/v2/clusters/FargateCluster/tasks/c13b4cb40f1f4fe4a2971f76ae5a47ad?region=us-west-2)\n"
    );
    assert!(!r.message.text.contains("hunter2"));
    assert!(!r.message.text.contains("DB_PASSWORD"));
}

#[test]
fn ecs_stop_codes_map_onto_the_scale() {
    let severity = |code: &str, exits: [i64; 2]| {
        event(
            "aws.ecs",
            "ECS Task State Change",
            stopped_task(code, exits),
        )
        .severity
    };
    assert_eq!(severity("EssentialContainerExited", [0, 0]), Severity::Info);
    assert_eq!(severity("UserInitiated", [0, 0]), Severity::Info);
    assert_eq!(severity("ServiceSchedulerInitiated", [0, 0]), Severity::Low);
    assert_eq!(severity("SpotInterruption", [0, 0]), Severity::Medium);
    assert_eq!(severity("TaskFailedToStart", [0, 0]), Severity::High);
    assert_eq!(severity("UserInitiated", [0, 1]), Severity::High);
}

#[test]
fn a_task_that_is_starting_is_left_to_the_generic_message() {
    let mut detail = stopped_task("", [0, 0]);
    detail["lastStatus"] = json!("RUNNING");
    detail["desiredStatus"] = json!("RUNNING");
    let r = event("aws.ecs", "ECS Task State Change", detail);
    assert_eq!(r.kind, AlertKind::Generic);
}

#[test]
fn a_failed_build_names_its_phase_and_never_its_environment() {
    let detail = json!({
        "build-status": "FAILED", "project-name": "web",
        "build-id": "arn:aws:codebuild:us-west-2:111122223333:build/web:8745a7a9",
        "current-phase": "COMPLETED",
        "additional-information": {
            "initiator": "codepipeline/web",
            "environment": {"environment-variables": [
                {"name": "NPM_TOKEN", "type": "PLAINTEXT", "value": "npm_s3cr3t"}]},
            "phases": [
                {"phase-type": "INSTALL", "phase-status": "SUCCEEDED", "phase-context": []},
                {"phase-type": "BUILD", "phase-status": "FAILED",
                 "phase-context": [": COMMAND_EXECUTION_ERROR: Error while executing command: npm test. Reason: exit status 1"]}
            ]
        }
    });
    let r = event("aws.codebuild", "CodeBuild Build State Change", detail);
    assert_eq!(r.severity, Severity::High);
    assert_eq!(r.message.title, "🟠 CodeBuild FAILED: web");
    assert!(r.message.text.contains(
        "- **失败阶段 Failed phase**: BUILD FAILED : COMMAND\\_EXECUTION\\_ERROR: Error while executing command: npm test. Reason: exit status 1\n"
    ));
    assert!(!r.message.text.contains("npm_s3cr3t"));
    assert!(!r.message.text.contains("NPM_TOKEN"));
}

#[test]
fn run_command_parameters_are_never_shown() {
    let detail = json!({
        "command-id": "c-1", "document-name": "AWS-RunShellScript", "status": "Failed",
        "parameters": {"commands": ["mysql -p'db-pa55' -e 'select 1'"]}
    });
    let r = event("aws.ssm", "EC2 Command Status-change Notification", detail);
    assert_eq!(r.severity, Severity::High);
    assert_eq!(r.state.as_deref(), Some("FAILED"));
    assert!(!r.message.text.contains("db-pa55"));
}

#[test]
fn job_states_map_onto_the_scale() {
    let backup = |state: &str, message: &str| {
        let detail = json!({"backupJobId": "j-1", "state": state, "statusMessage": message});
        event("aws.backup", "Backup Job State Change", detail).severity
    };
    assert_eq!(backup("FAILED", ""), Severity::High);
    assert_eq!(backup("ABORTED", ""), Severity::High);
    assert_eq!(backup("EXPIRED", ""), Severity::High);
    assert_eq!(
        backup("COMPLETED", "Some files could not be read"),
        Severity::Medium
    );
    assert_eq!(backup("COMPLETED", ""), Severity::Info);
    assert_eq!(backup("RUNNING", ""), Severity::Info);

    let pipeline = |state: &str| {
        let detail = json!({"pipeline": "p", "execution-id": "x", "state": state});
        event(
            "aws.codepipeline",
            "CodePipeline Pipeline Execution State Change",
            detail,
        )
        .severity
    };
    assert_eq!(pipeline("FAILED"), Severity::High);
    assert_eq!(pipeline("SUPERSEDED"), Severity::Low);
    assert_eq!(pipeline("SUCCEEDED"), Severity::Info);

    let glue = |state: &str| {
        let detail = json!({"jobName": "j", "state": state, "jobRunId": "jr_1"});
        event("aws.glue", "Glue Job State Change", detail).severity
    };
    assert_eq!(glue("TIMEOUT"), Severity::High);
    assert_eq!(glue("STOPPED"), Severity::Low);
    assert_eq!(glue("SUCCEEDED"), Severity::Info);

    let acm = |days: i64| {
        let detail = json!({"DaysToExpiry": days, "CommonName": "example.com"});
        event("aws.acm", "ACM Certificate Approaching Expiration", detail).severity
    };
    assert_eq!(acm(45), Severity::Low);
    assert_eq!(acm(30), Severity::Medium);
    assert_eq!(acm(14), Severity::High);
    assert_eq!(acm(3), Severity::Critical);
}

#[test]
fn the_spot_deadline_is_in_the_configured_zone() {
    let payload = json!({
        "version": "0", "id": "s-1", "detail-type": "EC2 Spot Instance Interruption Warning",
        "source": "aws.ec2", "account": "111122223333", "time": "2026-11-25T23:59:00Z",
        "region": "us-east-2", "resources": [],
        "detail": {"instance-id": "i-0abc", "instance-action": "stop"}
    });
    let opts = FormatOptions {
        time_zone: chrono_tz::UTC,
        ..FormatOptions::default()
    };
    let r = render(&payload.to_string(), None, &opts);
    assert_eq!(r.message.title, "🟠 EC2 Spot i-0abc stop by 11-26 00:01:00");
    assert!(r
        .message
        .text
        .contains("> 实例将被停止 The instance will be stopped by 2026-11-26 00:01:00 (UTC)\n"));
}

#[test]
fn budgets_text_is_known_by_its_subject_or_first_line() {
    let text = "AWS Budget Notification May 04, 2020\nAWS Account 111122223333\n\nBudget Name: dev\nAlert Type: FORECASTED\nFORECASTED Amount: $15.00\n";
    let r = render(text, None, &FormatOptions::default());
    assert_eq!(r.kind, AlertKind::Typed("budgets_alert"));
    assert_eq!(r.severity, Severity::Low);
    assert_eq!(r.message.title, "🔵 AWS Budgets: dev ($15.00)");
    let other = render(
        "Budget Name: dev",
        Some("Weekly report"),
        &FormatOptions::default(),
    );
    assert_eq!(other.kind, AlertKind::Text);
}

#[test]
fn a_backup_label_we_do_not_know_stays_plain_text() {
    let text =
        "An AWS Backup job failed. **Injected** : [x](https://evil.example). BackupJob ID : j-1";
    let r = render(
        text,
        Some("Notification from AWS Backup"),
        &FormatOptions::default(),
    );
    assert_eq!(r.kind, AlertKind::Typed("backup_notification"));
    assert!(r.message.text.contains("- **备份作业 Backup job**: j-1\n"));
    assert!(!r.message.text.contains("- ****Injected**"));
    let without = render(text, Some("Something else"), &FormatOptions::default());
    assert_eq!(without.kind, AlertKind::Text);
}
