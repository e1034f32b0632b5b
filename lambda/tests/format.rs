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
        "🛠\u{fe0f} AWS Health: EC2 计划维护",
        "### 🛠\u{fe0f} 计划维护 Scheduled maintenance: EC2\n\n> 维护窗口 Window: 2026-11-29 02:00:00 (Asia/Shanghai) → 2026-11-29 04:00:00 (Asia/Shanghai)\n\n- **事件 Event**: AWS\\_EC2\\_INSTANCE\\_REBOOT\\_MAINTENANCE\\_SCHEDULED\n- **类别 Category**: 计划变更 Scheduled change\n- **范围 Scope**: 本账号 This account\n- **状态 Status**: 🟡 即将发生 upcoming\n- **账号 Account**: 123456789012\n- **区域 Region**: ap-southeast-1\n- **时间 Time**: 2026-11-20 10:00:00 (Asia/Shanghai)\n\n**受影响资源 Affected resources (1)**\n\n- i-0abcd1234efgh5678 (PENDING)\n\nEC2 has detected degradation of the underlying hardware hosting your Amazon EC2 instance associated with this event in the ap-southeast-1 region. Due to this degradation your instance could already be unreachable. We will reboot your instance during the scheduled maintenance window.\n\nYou can also reboot the instance yourself before the window to complete the maintenance.\n\n[在 AWS Health 控制台查看 Open in AWS Health](https://health.console.aws.amazon.com/health/home#/account/event-log?eventID=arn%3Aaws%3Ahealth%3Aap-southeast-1%3A%3Aevent%2FEC2%2FAWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED%2FAWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED_7f35c8ae&eventTab=details)\n",
    );
}

#[test]
fn health_issue() {
    check(
        "health_issue",
        AlertKind::Health,
        Some("open"),
        "🔴 AWS Health: EC2 AWS_EC2_OPERATIONAL_ISSUE (公共 public)",
        "### 🔴 AWS Health: EC2 (公共 public)\n\n- **事件 Event**: AWS\\_EC2\\_OPERATIONAL\\_ISSUE\n- **类别 Category**: 服务问题 Service issue\n- **范围 Scope**: 公共 Public: 该区域所有客户 every customer in the region\n- **状态 Status**: 🔴 进行中 open\n- **账号 Account**: 123456789012\n- **区域 Region**: af-south-1\n- **时间 Time**: 2023-01-27 17:01:22 (Asia/Shanghai)\n- **开始 Start**: 2023-01-27 14:02:51 (Asia/Shanghai)\n\nCurrent severity level: Degraded\n\n\\[Increased Error Rates\\] We are investigating increased error rates for the EC2 RunInstances API in the AF-SOUTH-1 Region.\n\n[在 AWS Health 控制台查看 Open in AWS Health](https://health.console.aws.amazon.com/health/home#/account/event-log?eventID=arn%3Aaws%3Ahealth%3Aaf-south-1%3A%3Aevent%2FEC2%2FAWS_EC2_OPERATIONAL_ISSUE%2FAWS_EC2_OPERATIONAL_ISSUE_7f35c8ae-af1f-54e6-a526-d0179ed6d68f&eventTab=details)\n",
    );
}

#[test]
fn health_abuse_dos() {
    check(
        "health_abuse_dos",
        AlertKind::HealthAbuse,
        Some("open"),
        "🚨 AWS 滥用报告 Abuse: DOS",
        "### 🚨 滥用报告 Abuse report: DOS\n\n> 需要处理 Action required: 请尽快调查并回复 AWS，否则资源可能被限制 (investigate and reply to AWS, or the resource may be restricted)\n\n- **事件 Event**: AWS\\_ABUSE\\_DOS\\_REPORT\n- **账号 Account**: 123456789012\n- **区域 Region**: us-east-1\n- **时间 Time**: 2026-11-25 04:40:20 (Asia/Shanghai)\n\n**受影响资源 Affected resources (1)**\n\n- arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0\n\nWe have received a report that your instance i-0123456789abcdef0 has been implicated in denial-of-service attacks. Please investigate and respond within 24 hours.\n\n[在 AWS Health 控制台查看 Open in AWS Health](https://health.console.aws.amazon.com/health/home#/account/event-log?eventID=arn%3Aaws%3Ahealth%3Aglobal%3A%3Aevent%2FABUSE%2FAWS_ABUSE_DOS_REPORT%2FAWS_ABUSE_DOS_REPORT_92387492375_4498_2026_11_24_20_40_20&eventTab=details)\n",
    );
}

#[test]
fn ec2_state_stopped() {
    check(
        "ec2_state_stopped",
        AlertKind::Ec2StateChange,
        Some("stopped"),
        "🔴 EC2 i-1234567890abcdef0 stopped",
        "### 🔴 EC2 实例状态变更 Instance state change\n\n- **实例 Instance**: i-1234567890abcdef0\n- **状态 State**: 🔴 stopped\n- **账号 Account**: 123456789012\n- **区域 Region**: ap-southeast-1\n- **时间 Time**: 2026-11-25 12:30:00 (Asia/Shanghai)\n\n[在 EC2 控制台查看 Open in EC2 console](https://ap-southeast-1.console.aws.amazon.com/ec2/home?region=ap-southeast-1#InstanceDetails:instanceId=i-1234567890abcdef0)\n",
    );
}

#[test]
fn alarm_metric_alarm() {
    check(
        "alarm_metric_alarm",
        AlertKind::AlarmStateChange,
        Some("ALARM"),
        "🔴 ALARM: ServerCpuTooHigh",
        "### 🔴 CloudWatch 告警 Alarm: ServerCpuTooHigh\n\n- **状态 State**: ✅ OK → 🔴 ALARM\n- **告警 Alarm**: ServerCpuTooHigh\n- **说明 Description**: Goes into alarm when server CPU utilization is too high!\n- **账号 Account**: 123456789012\n- **区域 Region**: us-east-1\n- **时间 Time**: 2026-11-25 12:30:40 (Asia/Shanghai)\n- **状态时间 State time**: 2026-11-25 12:30:40 (Asia/Shanghai)\n- **指标 Metric**: AWS/EC2 / CPUUtilization (InstanceId=i-12345678901234567), Average / 300s\n- **阈值 Threshold**: 50 (最近数据 recent: 99.50160229693434)\n- **原因 Reason**: Threshold Crossed: 1 out of the last 1 datapoints \\[99.50160229693434 (02/10/19 16:59:00)\\] was greater than the threshold (50.0) (minimum 1 datapoint for OK -> ALARM transition).\n\n[在 CloudWatch 控制台查看 Open in CloudWatch](https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/ServerCpuTooHigh)\n",
    );
}

#[test]
fn alarm_composite() {
    check(
        "alarm_composite",
        AlertKind::AlarmStateChange,
        Some("OK"),
        "✅ OK: ServiceAggregatedAlarm",
        "### ✅ CloudWatch 告警 Alarm: ServiceAggregatedAlarm\n\n- **状态 State**: 🔴 ALARM → ✅ OK\n- **告警 Alarm**: ServiceAggregatedAlarm\n- **账号 Account**: 123456789012\n- **区域 Region**: us-east-1\n- **时间 Time**: 2026-11-25 13:00:00 (Asia/Shanghai)\n- **状态时间 State time**: 2026-11-25 13:00:00 (Asia/Shanghai)\n- **组合规则 Composite rule**: ALARM(CPUUtilizationTooHigh) OR ALARM(DiskReadOpsTooHigh)\n- **抑制告警 Suppressor**: ServiceMaintenanceAlarm\n- **原因 Reason**: arn:aws:cloudwatch:us-east-1:123456789012:alarm:CPUUtilizationTooHigh transitioned to OK at Wednesday 25 November, 2026 05:00:00 UTC\n\n[在 CloudWatch 控制台查看 Open in CloudWatch](https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/ServiceAggregatedAlarm)\n",
    );
}

#[test]
fn guardduty_finding() {
    check(
        "guardduty_finding",
        AlertKind::GuardDutyFinding,
        Some("high"),
        "🟠 GuardDuty HIGH: Bitcoin-related domain name queried by EC2 instance i-99999999.",
        "### 🟠 GuardDuty 威胁发现 Finding: CryptoCurrency:EC2/BitcoinTool.B!DNS\n\n- **严重性 Severity**: 🟠 高 High (8)\n- **类型 Type**: CryptoCurrency:EC2/BitcoinTool.B!DNS\n- **标题 Title**: Bitcoin-related domain name queried by EC2 instance i-99999999.\n- **资源 Resource**: Instance i-99999999 (web-1)\n- **账号 Account**: 123456789012\n- **区域 Region**: us-east-1\n- **时间 Time**: 2026-11-25 10:00:00 (Asia/Shanghai)\n- **次数 Count**: 5\n- **首次发现 First seen**: 2026-11-25 09:10:00 (Asia/Shanghai)\n- **最近发现 Last seen**: 2026-11-25 09:55:00 (Asia/Shanghai)\n\nEC2 instance i-99999999 is querying a domain name that is associated with Bitcoin-related activity.\n\n[在 GuardDuty 控制台查看 Open in GuardDuty](https://console.aws.amazon.com/guardduty/home?region=us-east-1#/findings?search=id%3D16afba5c5c43e07c9e3e5e2e544e95df)\n",
    );
}

#[test]
fn guardduty_finding_with_only_the_required_fields() {
    check(
        "guardduty_minimal",
        AlertKind::GuardDutyFinding,
        Some("low"),
        "🔵 GuardDuty LOW: SSH brute force attacks against i-99999999.",
        "### 🔵 GuardDuty 威胁发现 Finding: UnauthorizedAccess:EC2/SSHBruteForce\n\n- **严重性 Severity**: 🔵 低 Low (2)\n- **类型 Type**: UnauthorizedAccess:EC2/SSHBruteForce\n- **标题 Title**: SSH brute force attacks against i-99999999.\n- **账号 Account**: 123456789012\n- **区域 Region**: us-east-1\n- **时间 Time**: 2026-11-25 14:00:00 (Asia/Shanghai)\n\n[在 GuardDuty 控制台查看 Open in GuardDuty](https://console.aws.amazon.com/guardduty/home?region=us-east-1#/findings)\n",
    );
}

#[test]
fn cost_anomaly_sns_notification() {
    check(
        "cost_anomaly_sns",
        AlertKind::CostAnomaly,
        None,
        "💰 AWS 成本异常 Cost anomaly: ServiceName +$1001.00",
        "### 💰 成本异常 Cost anomaly: ServiceName\n\n- **超出 Impact**: $1001.00 (+333.67%)\n- **实际支出 Actual spend**: $1301.00\n- **预期支出 Expected spend**: $300.00\n- **单日最大影响 Max daily impact**: $151.00\n- **期间 Period**: 2021-05-25 → 2021-05-25\n- **账号 Account**: 123456789012\n- **订阅 Subscription**: alertSubscription\n\n**根因 Root causes (1)**\n\n- AnomalousServiceName · AnomalousRegionName · AnomalousUsageType · 账号 Account AnomalousLinkedAccount (AnomalousLinkedAccountName) · $601.00\n\n[在成本异常检测中查看 Open in Cost Anomaly Detection](https://console.aws.amazon.com/cost-management/home#/anomaly-detection/monitors/abcdef12-1234-4ea0-84cc-918a97d736ef/anomalies/12345678-abcd-ef12-3456-987654321a12)\n",
    );
}

#[test]
fn unknown_event_detail_is_an_indented_field_list() {
    check(
        "generic_ebs_snapshot",
        AlertKind::Generic,
        None,
        "AWS EBS Multi-Volume Snapshots Completion Status",
        "### 📣 EBS Multi-Volume Snapshots Completion Status\n\n- **来源 Source**: aws.ec2\n- **类型 Type**: EBS Multi-Volume Snapshots Completion Status\n- **账号 Account**: 123456789012\n- **区域 Region**: us-west-2\n- **时间 Time**: 2026-11-25 11:00:00 (Asia/Shanghai)\n- **资源 Resources**: arn:aws:ec2::us-west-2:snapshot/snap-01234567\n\n**详情 Detail**\n\n- **cause**: Source volume is in an error state\n- **endTime**: 2026-11-25T03:00:00Z\n- **event**: createSnapshot\n- **request-id**: (空 empty)\n- **result**: failed\n- **snapshot\\_id**: arn:aws:ec2::us-west-2:snapshot/snap-01234567\n- **source**: arn:aws:ec2::us-west-2:volume/vol-01234567\n- **startTime**: 2026-11-25T02:58:00Z\n- **tags**:\n    - **env**: prod\n    - **team**: data\n- **volumes**:\n    - **#1**:\n        - **id**: vol-01234567\n        - **size**: 100\n",
    );
}

#[test]
fn sar_guardduty_plugin_message_is_text_titled_by_its_first_line() {
    check(
        "sar_guardduty_plugin",
        AlertKind::Text,
        None,
        "Guard Duty 发现异常事件",
        "### 📣 Guard Duty 发现异常事件\n\n时间: 2026-11-25T02:00:00Z\n\n区域: us-east-1\n\n可疑行为等级: 8\n\n可疑行为类型: CryptoCurrency:EC2/BitcoinTool.B!DNS\n\n可疑行为名称: Bitcoin-related domain name queried by EC2 instance i-99999999.\n\n描述: EC2 instance i-99999999 is querying a domain name that is associated with Bitcoin-related activity.\n\n已发生次数: 5\n\n事件链接: https://console.aws.amazon.com/guardduty/home?region=us-east-1#/findings?search=id%3D16afba5c5c43e07c9e3e5e2e544e95df\n\n请尽快处理！\n",
    );
}

#[test]
fn time_zone_option_changes_the_shown_time() {
    let opts = FormatOptions {
        time_zone: chrono_tz::UTC,
        ..FormatOptions::default()
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
fn a_named_account_shows_its_name_beside_the_id() {
    let opts = FormatOptions {
        account_names: [("123456789012".to_string(), "prod-web".to_string())].into(),
        ..FormatOptions::default()
    };
    let r = render(&fixture("ec2_state_stopped"), None, &opts);
    assert_eq!(
        r.message.text,
        "### 🔴 EC2 实例状态变更 Instance state change\n\n- **实例 Instance**: i-1234567890abcdef0\n- **状态 State**: 🔴 stopped\n- **账号 Account**: prod-web (123456789012)\n- **区域 Region**: ap-southeast-1\n- **时间 Time**: 2026-11-25 12:30:00 (Asia/Shanghai)\n\n[在 EC2 控制台查看 Open in EC2 console](https://ap-southeast-1.console.aws.amazon.com/ec2/home?region=ap-southeast-1#InstanceDetails:instanceId=i-1234567890abcdef0)\n"
    );
    assert_eq!(
        r.context.as_deref(),
        Some("prod-web · ap-southeast-1 · 11-25 12:30:00")
    );
    let other = FormatOptions {
        account_names: [("111122223333".to_string(), "dev".to_string())].into(),
        ..FormatOptions::default()
    };
    let r = render(&fixture("ec2_state_stopped"), None, &other);
    assert!(r
        .message
        .text
        .contains("- **账号 Account**: 123456789012\n"));
    assert_eq!(
        r.context.as_deref(),
        Some("ap-southeast-1 · 11-25 12:30:00")
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
fn non_event_json_is_an_indented_field_list() {
    let r = render(
        r#"{"b":1,"a":"x","c":{"d":[true,null]}}"#,
        None,
        &FormatOptions::default(),
    );
    assert_eq!(r.kind, AlertKind::Generic);
    assert_eq!(
        r.message.text,
        "### 📣 AWS 通知 Notification\n\n- **a**: x\n- **b**: 1\n- **c**:\n    - **d**:\n        - true\n        - null\n"
    );
}

#[test]
fn json_string_with_a_subject_keeps_every_line() {
    let r = render(
        r#""a: \nb \n\nc""#,
        Some("Plugin"),
        &FormatOptions::default(),
    );
    assert_eq!(r.kind, AlertKind::Text);
    assert_eq!(r.message.title, "Plugin");
    assert_eq!(r.message.text, "### 📣 Plugin\n\na:\n\nb\n\nc\n");
    // One long line has no title line: the default title, the line as text.
    let long = format!("\"{}\"", "x".repeat(200));
    let r = render(&long, None, &FormatOptions::default());
    assert_eq!(r.message.title, "AWS 通知 Notification");
    assert_eq!(
        r.message.text,
        format!("### 📣 AWS 通知 Notification\n\n{}\n", "x".repeat(200))
    );
}

#[test]
fn guardduty_severity_bands() {
    for (severity, state, title) in [
        (1.0, "low", "🔵 GuardDuty LOW: t"),
        (3.9, "low", "🔵 GuardDuty LOW: t"),
        (4.0, "medium", "🟡 GuardDuty MEDIUM: t"),
        (6.9, "medium", "🟡 GuardDuty MEDIUM: t"),
        (7.0, "high", "🟠 GuardDuty HIGH: t"),
        (8.9, "high", "🟠 GuardDuty HIGH: t"),
        (9.0, "critical", "🔴 GuardDuty CRITICAL: t"),
        (10.0, "critical", "🔴 GuardDuty CRITICAL: t"),
    ] {
        let payload = serde_json::json!({
            "id": "e", "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
            "account": "123456789012", "time": "2026-11-25T02:00:00Z", "region": "cn-north-1",
            "detail": {"id": "f1", "type": "Recon:EC2/PortProbeUnprotectedPort", "severity": severity, "title": "t",
                       "resource": {"resourceType": "AccessKey", "accessKeyDetails": {"userName": "ops", "accessKeyId": "AKIAEXAMPLE"}}}
        });
        let r = render(&payload.to_string(), None, &FormatOptions::default());
        assert_eq!(r.kind, AlertKind::GuardDutyFinding, "{severity}");
        assert_eq!(r.state.as_deref(), Some(state), "{severity}");
        assert_eq!(r.message.title, title, "{severity}");
        assert!(
            r.message.text.contains(&format!("({severity})\n- **类型 Type**: Recon:EC2/PortProbeUnprotectedPort\n- **标题 Title**: t\n- **资源 Resource**: AccessKey ops, AKIAEXAMPLE\n")),
            "{}",
            r.message.text
        );
        assert_eq!(
            r.link.as_deref(),
            Some("https://console.amazonaws.cn/guardduty/home?region=cn-north-1#/findings?search=id%3Df1")
        );
    }
}

#[test]
fn cost_anomaly_in_china_without_a_link_or_end() {
    let payload = serde_json::json!({
        "accountId": "123456789012", "anomalyId": "a-1",
        "anomalyStartDate": "2026-11-24T00:00:00Z",
        "monitorArn": "arn:aws-cn:ce::123456789012:anomalymonitor/m-1",
        "impact": {"totalImpact": 12.5, "totalExpectedSpend": 10},
        "rootCauses": []
    });
    let r = render(&payload.to_string(), None, &FormatOptions::default());
    assert_eq!(r.kind, AlertKind::CostAnomaly);
    assert_eq!(r.message.title, "💰 AWS 成本异常 Cost anomaly: AWS +¥12.50");
    assert_eq!(
        r.message.text,
        "### 💰 成本异常 Cost anomaly: AWS\n\n- **超出 Impact**: ¥12.50\n- **预期支出 Expected spend**: ¥10.00\n- **期间 Period**: 2026-11-24 → 进行中 ongoing\n- **账号 Account**: 123456789012\n\n[在成本异常检测中查看 Open in Cost Anomaly Detection](https://console.amazonaws.cn/cost-management/home#/anomaly-detection/overview)\n"
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
    assert!(
        r.message.text.contains("\n- **alarmName**: 5\n"),
        "{}",
        r.message.text
    );
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
    assert!(!r.message.text.contains('`'), "no code fence");

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

/// What DingTalk's markdown subset (headings, quotes, bold, italic, links,
/// images, lists) does not have, and clients may show raw.
fn outside_the_subset(text: &str) -> Option<String> {
    if text.contains('`') {
        return Some("a backtick (code fence or inline code)".into());
    }
    text.lines().find_map(|line| {
        // Inside a quote the same syntax counts.
        let l = line.trim().trim_start_matches(['>', ' ']);
        let rule = l.len() >= 3
            && ["-", "*", "_"]
                .iter()
                .any(|c| l.replace(' ', "").chars().all(|x| x.to_string() == *c));
        if rule {
            Some(format!("a horizontal rule: {line:?}"))
        } else if l.len() >= 2 && l.starts_with('|') && l.ends_with('|') {
            Some(format!("a table row: {line:?}"))
        } else {
            None
        }
    })
}

#[test]
fn every_fixture_and_sample_stays_in_dingtalks_markdown_subset() {
    use dingtalk_notifier_lambda::format::digest::digest;
    use dingtalk_notifier_lambda::samples::{sample_event, SampleKind};

    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut payloads: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|entry| {
            let path = entry.expect("fixture entry").path();
            let body = std::fs::read_to_string(&path).expect("fixture");
            (path.display().to_string(), body)
        })
        .collect();
    assert!(payloads.len() >= 11, "{} fixtures", payloads.len());
    for kind in SampleKind::ALL {
        payloads.push((format!("sample {kind}"), sample_event(kind).to_string()));
    }
    let opts = FormatOptions::default();
    let rendered: Vec<_> = payloads
        .iter()
        .map(|(_, body)| render(body, None, &opts))
        .collect();
    let mut messages: Vec<(String, String)> = Vec::new();
    for ((name, _), r) in payloads.iter().zip(&rendered) {
        messages.push((name.clone(), r.message.text.clone()));
        let summarized = r.message.with_summary("摘要 `code`\n---\n| a | b |");
        messages.push((format!("{name} with a summary"), summarized.text));
    }
    for part in digest(&rendered, &opts) {
        messages.push(("digest".into(), part.message.text));
    }
    for (name, text) in messages {
        assert_eq!(outside_the_subset(&text), None, "{name}:\n{text}");
    }
    assert_eq!(
        outside_the_subset("x\n ---\n"),
        Some("a horizontal rule: \" ---\"".into())
    );
    assert_eq!(
        outside_the_subset("| a | b |"),
        Some("a table row: \"| a | b |\"".into())
    );
}
