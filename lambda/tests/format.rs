//! Every fixture renders to exactly this markdown. The fixtures follow AWS's
//! documented sample events; a change in wording shows up here as a diff.

use dingtalk_notifier_lambda::format::{render, AlertKind, FormatOptions};
use dingtalk_notifier_lambda::message::{MAX_TEXT_BYTES, TRUNCATION_NOTICE};
use pretty_assertions::assert_eq;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn check(name: &str, kind: AlertKind, state: Option<&str>, title: &str, text: &str) {
    let r = render(&fixture(name), None, &FormatOptions::default());
    assert_eq!(r.message.title, title);
    assert_eq!(r.message.text, text);
    assert_eq!(r.kind, kind);
    assert_eq!(r.state.as_deref(), state);
}

#[test]
fn health_scheduled_maintenance() {
    check(
        "health_scheduled_maintenance",
        AlertKind::Health,
        Some("upcoming"),
        "🛠️ AWS Health: EC2 计划维护",
        "### 🛠️ 计划维护 Scheduled maintenance: EC2\n\n> 维护窗口 Window: 2026-11-29 02:00:00 (Asia/Shanghai) → 2026-11-29 04:00:00 (Asia/Shanghai)\n\n- **事件 Event**: AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED\n- **类别 Category**: 计划变更 Scheduled change\n- **状态 Status**: 🟡 即将发生 upcoming\n- **账号 Account**: 123456789012\n- **区域 Region**: ap-southeast-1\n- **时间 Time**: 2026-11-20 10:00:00 (Asia/Shanghai)\n\n**受影响资源 Affected resources (1)**\n\n- `i-0abcd1234efgh5678` (PENDING)\n\nEC2 has detected degradation of the underlying hardware hosting your Amazon EC2 instance associated with this event in the ap-southeast-1 region. Due to this degradation your instance could already be unreachable. We will reboot your instance during the scheduled maintenance window.\n\nYou can also reboot the instance yourself before the window to complete the maintenance.\n\n[在 AWS Health 控制台查看 Open in AWS Health](https://health.console.aws.amazon.com/health/home#/account/event-log?eventID=arn%3Aaws%3Ahealth%3Aap-southeast-1%3A%3Aevent%2FEC2%2FAWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED%2FAWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED_7f35c8ae&eventTab=details)\n",
    );
}

#[test]
fn health_issue() {
    check(
        "health_issue",
        AlertKind::Health,
        Some("open"),
        "🔴 AWS Health: EC2 AWS_EC2_OPERATIONAL_ISSUE",
        "### 🔴 AWS Health: EC2\n\n- **事件 Event**: AWS_EC2_OPERATIONAL_ISSUE\n- **类别 Category**: 服务问题 Issue\n- **状态 Status**: 🔴 进行中 open\n- **账号 Account**: 123456789012\n- **区域 Region**: af-south-1\n- **时间 Time**: 2023-01-27 17:01:22 (Asia/Shanghai)\n- **开始 Start**: 2023-01-27 14:02:51 (Asia/Shanghai)\n\nCurrent severity level: Degraded\n\n[Increased Error Rates] We are investigating increased error rates for the EC2 RunInstances API in the AF-SOUTH-1 Region.\n\n[在 AWS Health 控制台查看 Open in AWS Health](https://health.console.aws.amazon.com/health/home#/account/event-log?eventID=arn%3Aaws%3Ahealth%3Aaf-south-1%3A%3Aevent%2FEC2%2FAWS_EC2_OPERATIONAL_ISSUE%2FAWS_EC2_OPERATIONAL_ISSUE_7f35c8ae-af1f-54e6-a526-d0179ed6d68f&eventTab=details)\n",
    );
}

#[test]
fn health_abuse_dos() {
    check(
        "health_abuse_dos",
        AlertKind::HealthAbuse,
        Some("open"),
        "🚨 AWS 滥用报告 Abuse: DOS",
        "### 🚨 滥用报告 Abuse report: DOS\n\n> 需要处理 Action required: 请尽快调查并回复 AWS，否则资源可能被限制 (investigate and reply to AWS, or the resource may be restricted)\n\n- **事件 Event**: AWS_ABUSE_DOS_REPORT\n- **账号 Account**: 123456789012\n- **区域 Region**: us-east-1\n- **时间 Time**: 2026-11-25 04:40:20 (Asia/Shanghai)\n\n**受影响资源 Affected resources (1)**\n\n- `arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0`\n\nWe have received a report that your instance i-0123456789abcdef0 has been implicated in denial-of-service attacks. Please investigate and respond within 24 hours.\n\n[在 AWS Health 控制台查看 Open in AWS Health](https://health.console.aws.amazon.com/health/home#/account/event-log?eventID=arn%3Aaws%3Ahealth%3Aglobal%3A%3Aevent%2FABUSE%2FAWS_ABUSE_DOS_REPORT%2FAWS_ABUSE_DOS_REPORT_92387492375_4498_2026_11_24_20_40_20&eventTab=details)\n",
    );
}

#[test]
fn ec2_state_stopped() {
    check(
        "ec2_state_stopped",
        AlertKind::Ec2StateChange,
        Some("stopped"),
        "🔴 EC2 i-1234567890abcdef0 stopped",
        "### 🔴 EC2 实例状态变更 Instance state change\n\n- **实例 Instance**: `i-1234567890abcdef0`\n- **状态 State**: 🔴 stopped\n- **账号 Account**: 123456789012\n- **区域 Region**: ap-southeast-1\n- **时间 Time**: 2026-11-25 12:30:00 (Asia/Shanghai)\n\n[在 EC2 控制台查看 Open in EC2 console](https://ap-southeast-1.console.aws.amazon.com/ec2/home?region=ap-southeast-1#InstanceDetails:instanceId=i-1234567890abcdef0)\n",
    );
}

#[test]
fn alarm_metric_alarm() {
    check(
        "alarm_metric_alarm",
        AlertKind::AlarmStateChange,
        Some("ALARM"),
        "🔴 ALARM: ServerCpuTooHigh",
        "### 🔴 CloudWatch 告警 Alarm: ServerCpuTooHigh\n\n- **状态 State**: ✅ OK → 🔴 ALARM\n- **告警 Alarm**: ServerCpuTooHigh\n- **说明 Description**: Goes into alarm when server CPU utilization is too high!\n- **账号 Account**: 123456789012\n- **区域 Region**: us-east-1\n- **时间 Time**: 2026-11-25 12:30:40 (Asia/Shanghai)\n- **状态时间 State time**: 2026-11-25 12:30:40 (Asia/Shanghai)\n- **指标 Metric**: `AWS/EC2` / `CPUUtilization` (InstanceId=i-12345678901234567), Average / 300s\n- **阈值 Threshold**: 50 (最近数据 recent: 99.50160229693434)\n- **原因 Reason**: Threshold Crossed: 1 out of the last 1 datapoints [99.50160229693434 (02/10/19 16:59:00)] was greater than the threshold (50.0) (minimum 1 datapoint for OK -> ALARM transition).\n\n[在 CloudWatch 控制台查看 Open in CloudWatch](https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/ServerCpuTooHigh)\n",
    );
}

#[test]
fn alarm_composite() {
    check(
        "alarm_composite",
        AlertKind::AlarmStateChange,
        Some("OK"),
        "✅ OK: ServiceAggregatedAlarm",
        "### ✅ CloudWatch 告警 Alarm: ServiceAggregatedAlarm\n\n- **状态 State**: 🔴 ALARM → ✅ OK\n- **告警 Alarm**: ServiceAggregatedAlarm\n- **账号 Account**: 123456789012\n- **区域 Region**: us-east-1\n- **时间 Time**: 2026-11-25 13:00:00 (Asia/Shanghai)\n- **状态时间 State time**: 2026-11-25 13:00:00 (Asia/Shanghai)\n- **组合规则 Composite rule**: `ALARM(CPUUtilizationTooHigh) OR ALARM(DiskReadOpsTooHigh)`\n- **原因 Reason**: arn:aws:cloudwatch:us-east-1:123456789012:alarm:CPUUtilizationTooHigh transitioned to OK at Wednesday 25 November, 2026 05:00:00 UTC\n\n[在 CloudWatch 控制台查看 Open in CloudWatch](https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/ServiceAggregatedAlarm)\n",
    );
}

#[test]
fn generic_guardduty() {
    check(
        "generic_guardduty",
        AlertKind::Generic,
        None,
        "AWS GuardDuty Finding",
        "### 📣 GuardDuty Finding\n\n- **来源 Source**: aws.guardduty\n- **类型 Type**: GuardDuty Finding\n- **账号 Account**: 123456789012\n- **区域 Region**: us-east-1\n- **时间 Time**: 2026-11-25 14:00:00 (Asia/Shanghai)\n\n```json\n{\n  \"schemaVersion\": \"2.0\",\n  \"severity\": 2,\n  \"title\": \"SSH brute force attacks against i-99999999.\",\n  \"type\": \"UnauthorizedAccess:EC2/SSHBruteForce\"\n}\n```\n",
    );
}

#[test]
fn time_zone_option_changes_the_shown_time() {
    let opts = FormatOptions {
        time_zone: chrono_tz::UTC,
    };
    let r = render(&fixture("ec2_state_stopped"), None, &opts);
    assert!(
        r.message
            .text
            .contains("- **时间 Time**: 2026-11-25 04:30:00 (UTC)\n"),
        "{}",
        r.message.text
    );
}

#[test]
fn plain_text_uses_the_subject_as_title() {
    let r = render(
        "disk almost full on db-1\nsecond line",
        Some("Ops plugin"),
        &FormatOptions::default(),
    );
    assert_eq!(r.kind, AlertKind::Text);
    assert_eq!(r.source, "sns");
    assert_eq!(r.message.title, "Ops plugin");
    assert_eq!(
        r.message.text,
        "### 📣 Ops plugin\n\ndisk almost full on db-1\n\nsecond line\n"
    );
}

#[test]
fn non_event_json_is_pretty_printed() {
    let r = render(r#"{"b":1,"a":"x"}"#, None, &FormatOptions::default());
    assert_eq!(r.kind, AlertKind::Generic);
    assert_eq!(
        r.message.text,
        "### 📣 AWS 通知 Notification\n\n```json\n{\n  \"a\": \"x\",\n  \"b\": 1\n}\n```\n"
    );
}

#[test]
fn malformed_json_is_sent_as_text() {
    let r = render("{\"detail-type\": ", None, &FormatOptions::default());
    assert_eq!(r.kind, AlertKind::Text);
    assert_eq!(
        r.message.text,
        "### 📣 AWS 通知 Notification\n\n{\"detail-type\":\n"
    );
}

#[test]
fn known_type_with_wrong_detail_falls_back_to_generic() {
    let payload = r#"{"id":"x","detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch","account":"1","time":"2026-11-25T00:00:00Z","region":"us-east-1","detail":{"alarmName":5}}"#;
    let r = render(payload, None, &FormatOptions::default());
    assert_eq!(r.kind, AlertKind::Generic);
    assert_eq!(r.message.title, "AWS CloudWatch Alarm State Change");
    assert!(r.message.text.contains("\"alarmName\": 5"));
}

#[test]
fn oversized_events_are_cut_cleanly() {
    let description = "x".repeat(50_000);
    let payload = serde_json::json!({
        "id": "1", "detail-type": "AWS Health Event", "source": "aws.health", "account": "1",
        "time": "2026-11-25T00:00:00Z", "region": "us-east-1",
        "detail": {"eventTypeCode": "AWS_EC2_OPERATIONAL_ISSUE", "eventTypeCategory": "issue",
                   "statusCode": "open", "service": "EC2",
                   "eventDescription": [{"language": "en_US", "latestDescription": description}],
                   "affectedEntities": (0..500).map(|i| serde_json::json!({"entityValue": format!("i-{i:017}")})).collect::<Vec<_>>()}
    });
    let r = render(&payload.to_string(), None, &FormatOptions::default());
    assert!(r.message.text.len() <= MAX_TEXT_BYTES);
    assert!(r.message.text.contains("… 另有 480 个 and 480 more"));
    assert!(r.message.text.contains("… (truncated)"));

    let huge = serde_json::json!({"id": "1", "detail-type": "Custom", "source": "my.app", "detail": {"blob": "y".repeat(100_000)}});
    let r = render(&huge.to_string(), None, &FormatOptions::default());
    assert!(r.message.text.len() <= MAX_TEXT_BYTES);
    assert_eq!(
        r.message.text.matches("```").count() % 2,
        0,
        "code fence closed"
    );

    let text = "告警".repeat(20_000);
    let r = render(&text, None, &FormatOptions::default());
    assert!(r.message.text.len() <= MAX_TEXT_BYTES);
    assert!(
        r.message.text.ends_with("\n… (truncated)\n"),
        "{}",
        &r.message.text[r.message.text.len() - 40..]
    );

    // Whatever the parts add up to, the whole message is cut at the limit with the notice.
    let many = serde_json::json!({"id": "1", "detail-type": "AWS Health Event", "source": "aws.health",
        "detail": {"eventTypeCode": "X", "affectedEntities": (0..20).map(|_| serde_json::json!({"entityValue": "z".repeat(2_000)})).collect::<Vec<_>>(),
                   "eventDescription": [{"language": "en_US", "latestDescription": "d".repeat(3_900)}]}});
    let r = render(&many.to_string(), None, &FormatOptions::default());
    assert!(r.message.text.len() <= MAX_TEXT_BYTES);
    assert!(r.message.text.ends_with(TRUNCATION_NOTICE));
}

#[test]
fn odd_shapes_never_panic() {
    for payload in [
        "",
        "null",
        "[]",
        "42",
        "\"str\"",
        "{}",
        r#"{"detail-type":1,"source":2}"#,
        r#"{"detail-type":"AWS Health Event","source":"aws.health"}"#,
        r#"{"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":null}"#,
        r#"{"Records":[]}"#,
    ] {
        let r = render(payload, None, &FormatOptions::default());
        assert!(!r.message.title.is_empty(), "{payload}");
        assert!(!r.message.text.is_empty(), "{payload}");
    }
}
