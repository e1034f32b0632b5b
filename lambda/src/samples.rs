//! Sample events for `test-send`: real-shaped AWS events, the same files the
//! formatter's fixture tests use, so a sample always renders as tested.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
    Health,
    Ec2,
    Alarm,
    Abuse,
    GuardDuty,
    CostAnomaly,
    EcsTask,
    Backup,
    Pipeline,
    Spot,
    Acm,
    SecurityHub,
    Inspector,
    RootSignIn,
    EcrScan,
}

impl SampleKind {
    pub const ALL: [SampleKind; 15] = [
        SampleKind::Health,
        SampleKind::Ec2,
        SampleKind::Alarm,
        SampleKind::Abuse,
        SampleKind::GuardDuty,
        SampleKind::CostAnomaly,
        SampleKind::EcsTask,
        SampleKind::Backup,
        SampleKind::Pipeline,
        SampleKind::Spot,
        SampleKind::Acm,
        SampleKind::SecurityHub,
        SampleKind::Inspector,
        SampleKind::RootSignIn,
        SampleKind::EcrScan,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            SampleKind::Health => "health",
            SampleKind::Ec2 => "ec2",
            SampleKind::Alarm => "alarm",
            SampleKind::Abuse => "abuse",
            SampleKind::GuardDuty => "guardduty",
            SampleKind::CostAnomaly => "cost-anomaly",
            SampleKind::EcsTask => "ecs-task",
            SampleKind::Backup => "backup",
            SampleKind::Pipeline => "pipeline",
            SampleKind::Spot => "spot",
            SampleKind::Acm => "acm",
            SampleKind::SecurityHub => "securityhub",
            SampleKind::Inspector => "inspector",
            SampleKind::RootSignIn => "root-sign-in",
            SampleKind::EcrScan => "ecr-scan",
        }
    }
}

impl fmt::Display for SampleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown sample `{0}`: choose one of health, ec2, alarm, abuse, guardduty, cost-anomaly, \
     ecs-task, backup, pipeline, spot, acm, securityhub, inspector, root-sign-in, ecr-scan"
)]
pub struct UnknownSample(String);

impl FromStr for SampleKind {
    type Err = UnknownSample;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SampleKind::ALL
            .into_iter()
            .find(|k| k.name() == s.trim())
            .ok_or_else(|| UnknownSample(s.to_string()))
    }
}

/// The sample as it is published to the topic: an EventBridge event in
/// JSON, or for `cost-anomaly` Cost Anomaly Detection's SNS notification.
pub fn sample_event(kind: SampleKind) -> &'static str {
    match kind {
        SampleKind::Health => include_str!("../tests/fixtures/health_scheduled_maintenance.json"),
        SampleKind::Ec2 => include_str!("../tests/fixtures/ec2_state_stopped.json"),
        SampleKind::Alarm => include_str!("../tests/fixtures/alarm_metric_alarm.json"),
        SampleKind::Abuse => include_str!("../tests/fixtures/health_abuse_dos.json"),
        SampleKind::GuardDuty => include_str!("../tests/fixtures/guardduty_finding.json"),
        SampleKind::CostAnomaly => include_str!("../tests/fixtures/cost_anomaly_sns.json"),
        SampleKind::EcsTask => include_str!("../tests/fixtures/ecs_task_stopped_spot.json"),
        SampleKind::Backup => include_str!("../tests/fixtures/backup_job_failed.json"),
        SampleKind::Pipeline => include_str!("../tests/fixtures/codepipeline_pipeline_failed.json"),
        SampleKind::Spot => include_str!("../tests/fixtures/ec2_spot_interruption.json"),
        SampleKind::Acm => include_str!("../tests/fixtures/acm_certificate_expiring.json"),
        SampleKind::SecurityHub => {
            include_str!("../tests/fixtures/securityhub_finding_critical.json")
        }
        SampleKind::Inspector => include_str!("../tests/fixtures/inspector2_finding_ecr.json"),
        SampleKind::RootSignIn => {
            include_str!("../tests/fixtures/cloudtrail_console_signin_root.json")
        }
        SampleKind::EcrScan => include_str!("../tests/fixtures/ecr_image_scan.json"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_gets_its_typed_message() {
        use crate::format::{render, AlertKind, FormatOptions};
        let kinds: Vec<AlertKind> = SampleKind::ALL
            .into_iter()
            .map(|k| render(sample_event(k), None, &FormatOptions::default()).kind)
            .collect();
        assert_eq!(
            kinds,
            [
                AlertKind::Health,
                AlertKind::Ec2StateChange,
                AlertKind::AlarmStateChange,
                AlertKind::HealthAbuse,
                AlertKind::GuardDutyFinding,
                AlertKind::CostAnomaly,
                AlertKind::Typed("ecs_task_stopped"),
                AlertKind::Typed("backup_job"),
                AlertKind::Typed("codepipeline_pipeline"),
                AlertKind::Typed("ec2_spot_interruption"),
                AlertKind::Typed("acm_certificate_expiration"),
                AlertKind::Typed("securityhub_finding"),
                AlertKind::Typed("inspector_finding"),
                AlertKind::Typed("console_sign_in"),
                AlertKind::Typed("ecr_image_scan"),
            ]
        );
    }

    #[test]
    fn names_round_trip_and_unknown_lists_choices() {
        for k in SampleKind::ALL {
            assert_eq!(k.to_string().parse::<SampleKind>(), Ok(k));
        }
        assert_eq!(
            "rds".parse::<SampleKind>().unwrap_err().to_string(),
            "unknown sample `rds`: choose one of health, ec2, alarm, abuse, guardduty, cost-anomaly, \
             ecs-task, backup, pipeline, spot, acm, securityhub, inspector, root-sign-in, ecr-scan"
        );
    }
}
