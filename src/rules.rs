//! The alert rules the template can switch on, by the names people use
//! (`--rules`, dingtalk-notifier.toml) and by their template parameters.
//! Shared by `deploy` (which sets them) and `status` (which reads them back).
//!
//! The original app's four are the default; the others are opt-in, each
//! with an event pattern in both templates that keeps the noise out (new
//! HIGH/CRITICAL findings, failures, root use), see README "Rules".

/// The alert rules the template can enable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Health,
    HealthAbuse,
    Ec2StateChange,
    Alarm,
    SecurityHub,
    GuardDuty,
    Inspector,
    AccessAnalyzer,
    RootActivity,
    ConfigCompliance,
    EcrScan,
    TrustedAdvisor,
    BackupFailure,
    PipelineFailure,
    EcsTaskFailure,
    AcmExpiry,
}

impl Rule {
    /// Every rule, in template order.
    pub const ALL: [Rule; 16] = [
        Rule::Health,
        Rule::HealthAbuse,
        Rule::Ec2StateChange,
        Rule::Alarm,
        Rule::SecurityHub,
        Rule::GuardDuty,
        Rule::Inspector,
        Rule::AccessAnalyzer,
        Rule::RootActivity,
        Rule::ConfigCompliance,
        Rule::EcrScan,
        Rule::TrustedAdvisor,
        Rule::BackupFailure,
        Rule::PipelineFailure,
        Rule::EcsTaskFailure,
        Rule::AcmExpiry,
    ];

    /// The original app's four: what a deploy enables unless told otherwise.
    pub const DEFAULT: [Rule; 4] = [
        Rule::Health,
        Rule::HealthAbuse,
        Rule::Ec2StateChange,
        Rule::Alarm,
    ];

    pub fn is_default(self) -> bool {
        Rule::DEFAULT.contains(&self)
    }

    pub fn key(self) -> &'static str {
        match self {
            Rule::Health => "health",
            Rule::HealthAbuse => "health-abuse",
            Rule::Ec2StateChange => "ec2",
            Rule::Alarm => "alarm",
            Rule::SecurityHub => "securityhub",
            Rule::GuardDuty => "guardduty",
            Rule::Inspector => "inspector",
            Rule::AccessAnalyzer => "access-analyzer",
            Rule::RootActivity => "root",
            Rule::ConfigCompliance => "config",
            Rule::EcrScan => "ecr-scan",
            Rule::TrustedAdvisor => "trusted-advisor",
            Rule::BackupFailure => "backup",
            Rule::PipelineFailure => "pipelines",
            Rule::EcsTaskFailure => "ecs",
            Rule::AcmExpiry => "acm",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Rule::Health => "AWS Health events",
            Rule::HealthAbuse => "AWS Health abuse events",
            Rule::Ec2StateChange => "EC2 instance state changes",
            Rule::Alarm => "CloudWatch alarm state changes",
            Rule::SecurityHub => "Security Hub: new HIGH/CRITICAL findings",
            Rule::GuardDuty => "GuardDuty: findings of severity 7+, malware found in S3",
            Rule::Inspector => "Inspector: active HIGH/CRITICAL vulnerabilities",
            Rule::AccessAnalyzer => "IAM Access Analyzer: active external-access findings",
            Rule::RootActivity => "Root user sign-ins and API calls",
            Rule::ConfigCompliance => "AWS Config: resources turning NON_COMPLIANT",
            Rule::EcrScan => "ECR image scans with HIGH/CRITICAL findings",
            Rule::TrustedAdvisor => "Trusted Advisor checks turning red (ERROR)",
            Rule::BackupFailure => "AWS Backup: failed, aborted or expired backup and copy jobs",
            Rule::PipelineFailure => {
                "Failed CodePipeline executions, CodeBuild builds, CodeDeploy deployments"
            }
            Rule::EcsTaskFailure => "ECS tasks stopped with a non-zero exit or failing to start",
            Rule::AcmExpiry => "ACM certificates expiring (30, 14, 7, 3 and 1 days before)",
        }
    }

    /// The template parameter that switches the rule on.
    pub fn parameter(self) -> &'static str {
        match self {
            Rule::Health => "EnableHealthRule",
            Rule::HealthAbuse => "EnableHealthAbuseRule",
            Rule::Ec2StateChange => "EnableEc2StateChangeRule",
            Rule::Alarm => "EnableAlarmRule",
            Rule::SecurityHub => "EnableSecurityHubRule",
            Rule::GuardDuty => "EnableGuardDutyRule",
            Rule::Inspector => "EnableInspectorRule",
            Rule::AccessAnalyzer => "EnableAccessAnalyzerRule",
            Rule::RootActivity => "EnableRootActivityRule",
            Rule::ConfigCompliance => "EnableConfigComplianceRule",
            Rule::EcrScan => "EnableEcrScanRule",
            Rule::TrustedAdvisor => "EnableTrustedAdvisorRule",
            Rule::BackupFailure => "EnableBackupFailureRule",
            Rule::PipelineFailure => "EnablePipelineFailureRule",
            Rule::EcsTaskFailure => "EnableEcsTaskFailureRule",
            Rule::AcmExpiry => "EnableAcmExpiryRule",
        }
    }

    fn parse(s: &str) -> Option<Rule> {
        let s = s.trim().to_ascii_lowercase();
        let alias = match s.as_str() {
            "abuse" => "health-abuse",
            "ec2-state-change" => "ec2",
            "alarms" | "cloudwatch-alarm" => "alarm",
            "security-hub" => "securityhub",
            "inspector2" => "inspector",
            "guardduty-malware" => "guardduty",
            "root-activity" | "root-sign-in" => "root",
            "ecr" => "ecr-scan",
            "pipeline" | "codepipeline" | "codebuild" => "pipelines",
            "ecs-task" => "ecs",
            "acm-expiry" => "acm",
            other => other,
        };
        Rule::ALL.into_iter().find(|r| r.key() == alias)
    }
}

/// `health,alarm`, `default` (the original four), `all` or `none` → rules,
/// in template order; `default` may be combined (`default,securityhub`).
pub fn parse_rules(s: &str) -> Result<Vec<Rule>, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("all") {
        return Ok(Rule::ALL.to_vec());
    }
    if s.is_empty() || s.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let mut rules = Vec::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        if part.trim().eq_ignore_ascii_case("default") {
            rules.extend(Rule::DEFAULT);
            continue;
        }
        let rule = Rule::parse(part).ok_or_else(|| {
            let keys: Vec<&str> = Rule::ALL.iter().map(|r| r.key()).collect();
            format!(
                "unknown rule `{}` (use {}, default, all or none)",
                part.trim(),
                keys.join(", ")
            )
        })?;
        rules.push(rule);
    }
    Ok(Rule::ALL
        .into_iter()
        .filter(|r| rules.contains(r))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_original_apps_four_and_the_rest_opt_in() {
        let opt_in: Vec<&str> = Rule::ALL
            .into_iter()
            .filter(|r| !r.is_default())
            .map(|r| r.key())
            .collect();
        assert_eq!(
            opt_in,
            [
                "securityhub",
                "guardduty",
                "inspector",
                "access-analyzer",
                "root",
                "config",
                "ecr-scan",
                "trusted-advisor",
                "backup",
                "pipelines",
                "ecs",
                "acm"
            ]
        );
        assert_eq!(
            parse_rules("default").unwrap(),
            [
                Rule::Health,
                Rule::HealthAbuse,
                Rule::Ec2StateChange,
                Rule::Alarm
            ]
        );
    }

    #[test]
    fn names_aliases_and_default_combine_in_template_order() {
        assert_eq!(
            parse_rules("root-sign-in, default, security-hub").unwrap(),
            [
                Rule::Health,
                Rule::HealthAbuse,
                Rule::Ec2StateChange,
                Rule::Alarm,
                Rule::SecurityHub,
                Rule::RootActivity
            ]
        );
        assert_eq!(
            parse_rules("ACM,ecs").unwrap(),
            [Rule::EcsTaskFailure, Rule::AcmExpiry]
        );
        for r in Rule::ALL {
            assert_eq!(Rule::parse(r.key()), Some(r), "{r:?}");
        }
    }
}
