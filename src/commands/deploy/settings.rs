//! What a deploy is made of once every answer is in: the alert rules, and
//! the settings that become stack parameters and dingtalk-notifier.toml.

use std::path::PathBuf;

use super::queue_timing;
use crate::config::{ConfigFile, DeployConfig};
use crate::robot_security::RobotSecurity;
pub use crate::rules::{parse_rules, Rule};

pub const DEFAULT_STACK_NAME: &str = "dingtalk-notifier";
pub const DEFAULT_MODEL_ID: &str = "amazon.nova-lite-v1:0";
pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";

/// Everything the stack parameters and the secret's options are made from.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub stack_name: String,
    pub rules: Vec<Rule>,
    pub ec2_states: String,
    pub alarm_states: String,
    pub llm: bool,
    pub llm_model_id: String,
    pub llm_region: String,
    pub llm_system_prompt_file: Option<PathBuf>,
    pub llm_system_prompt: String,
    pub llm_max_tokens: u32,
    pub llm_temperature: f64,
    pub architecture: String,
    pub memory: u32,
    pub timeout: u32,
    pub reserved_concurrency: i32,
    pub log_retention: u32,
    pub time_zone: String,
    pub export_prefix: String,
    /// The buffer's batching window: `BatchWindowSeconds`' template default.
    pub batch_window: u32,
    pub debug_logs: bool,
    /// The robot's security setting, once chosen (flag, file or prompt).
    pub robot_security: Option<RobotSecurity>,
    /// `None`: keep what the stored secret says (or nothing for a new one).
    pub at_mobiles: Option<Vec<String>>,
    pub at_all_on: Option<Vec<String>>,
    pub keyword: Option<String>,
    pub webhook_any_host: bool,
    /// The remembered artifact bucket (dingtalk-notifier.toml), if any.
    pub artifact_bucket: Option<String>,
    /// Permissions boundary ARN of the function role; empty = none.
    pub permissions_boundary: String,
    /// Where the notifier's own alarms mail (`OpsEmail`); empty = no one.
    pub ops_email: String,
    /// `KmsKeyArn`: the topics' and log group's key; empty = none.
    pub kms_key: String,
    /// `AccountNames`: account id → name as a JSON object, learned from AWS
    /// Organizations (not an answer); empty = messages show ids only.
    pub account_names: String,
    /// `Routes`: the toml's `[[routes]]` as JSON for the function's
    /// `ROUTES` (or `secret`); empty = everything to robot `default`.
    pub routes: String,
    /// The routes when they did not fit the environment (`routes` is then
    /// `secret`): they go into the webhook secret.
    pub secret_routes: Option<Vec<dingtalk_notifier_lambda::routing::Route>>,
}

impl Settings {
    /// The template parameters, minus the ones only known after upload.
    pub fn parameters(
        &self,
        bucket: &str,
        key: &str,
        secret_arn: &str,
    ) -> Vec<(&'static str, String)> {
        let on = |r: Rule| self.rules.contains(&r).to_string();
        let mut out = vec![
            ("ArtifactBucket", bucket.to_string()),
            ("ArtifactKey", key.to_string()),
            ("Architecture", self.architecture.clone()),
            ("MemorySize", self.memory.to_string()),
            ("Timeout", self.timeout.to_string()),
            ("ReservedConcurrency", self.reserved_concurrency.to_string()),
            ("PermissionsBoundaryArn", self.permissions_boundary.clone()),
            ("LogRetentionInDays", self.log_retention.to_string()),
            ("WebhookSecretArn", secret_arn.to_string()),
            (Rule::Health.parameter(), on(Rule::Health)),
            (Rule::HealthAbuse.parameter(), on(Rule::HealthAbuse)),
            (Rule::Ec2StateChange.parameter(), on(Rule::Ec2StateChange)),
            ("Ec2States", self.ec2_states.clone()),
            (Rule::Alarm.parameter(), on(Rule::Alarm)),
            ("AlarmStates", self.alarm_states.clone()),
        ];
        // The opt-in rules, off unless chosen (README "Rules").
        out.extend(
            Rule::ALL
                .into_iter()
                .filter(|r| !r.is_default())
                .map(|r| (r.parameter(), on(r))),
        );
        out.extend([
            ("DisplayTimeZone", self.time_zone.clone()),
            ("AccountNames", self.account_names.clone()),
            ("Routes", self.routes.clone()),
            ("LlmEnabled", self.llm.to_string()),
            ("LlmModelId", self.llm_model_id.clone()),
            ("LlmRegion", self.llm_region.clone()),
            ("LlmSystemPrompt", self.llm_system_prompt.clone()),
            ("LlmMaxTokens", self.llm_max_tokens.to_string()),
            ("LlmTemperature", self.llm_temperature.to_string()),
            ("ExportPrefix", self.export_prefix.clone()),
            (
                "AlertQueueVisibilityTimeout",
                queue_timing::visibility_timeout(self.timeout, self.batch_window).to_string(),
            ),
            (
                "MaxReceiveCount",
                queue_timing::max_receive_count(queue_timing::visibility_timeout(
                    self.timeout,
                    self.batch_window,
                ))
                .to_string(),
            ),
            ("DebugLogs", self.debug_logs.to_string()),
            ("OpsEmail", self.ops_email.clone()),
            ("KmsKeyArn", self.kms_key.clone()),
        ]);
        out
    }

    /// What goes back into dingtalk-notifier.toml: no secrets by construction.
    pub fn to_config(&self, region: &str) -> ConfigFile {
        ConfigFile {
            stack_name: Some(self.stack_name.clone()),
            region: Some(region.to_string()),
            regions: None,
            organization: None,
            robots: Default::default(),
            routes: Vec::new(),
            deploy: DeployConfig {
                rules: Some(self.rules.iter().map(|r| r.key().to_string()).collect()),
                ec2_states: Some(self.ec2_states.clone()),
                alarm_states: Some(self.alarm_states.clone()),
                llm: Some(self.llm),
                llm_model_id: Some(self.llm_model_id.clone()),
                llm_region: Some(self.llm_region.clone()),
                llm_system_prompt_file: self.llm_system_prompt_file.clone(),
                llm_max_tokens: Some(self.llm_max_tokens),
                llm_temperature: Some(self.llm_temperature),
                architecture: Some(self.architecture.clone()),
                memory: Some(self.memory),
                timeout: Some(self.timeout),
                reserved_concurrency: Some(self.reserved_concurrency),
                log_retention: Some(self.log_retention),
                time_zone: Some(self.time_zone.clone()),
                export_prefix: Some(self.export_prefix.clone()),
                debug_logs: self.debug_logs.then_some(true),
                robot_security: self.robot_security.map(|s| s.key().to_string()),
                at_mobiles: self.at_mobiles.clone(),
                at_all_on: self.at_all_on.clone(),
                keyword: self.keyword.clone(),
                webhook_any_host: self.webhook_any_host.then_some(true),
                artifact_bucket: self.artifact_bucket.clone(),
                permissions_boundary: (!self.permissions_boundary.is_empty())
                    .then(|| self.permissions_boundary.clone()),
                ops_email: (!self.ops_email.is_empty()).then(|| self.ops_email.clone()),
                kms_key: (!self.kms_key.is_empty()).then(|| self.kms_key.clone()),
            },
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config;

    /// A typical deploy's settings, shared by the tests of the deploy modules.
    pub(crate) fn settings() -> Settings {
        Settings {
            stack_name: "alerts".into(),
            rules: vec![Rule::Health, Rule::Alarm],
            ec2_states: String::new(),
            alarm_states: "ALARM,OK".into(),
            llm: false,
            llm_model_id: DEFAULT_MODEL_ID.into(),
            llm_region: String::new(),
            llm_system_prompt_file: None,
            llm_system_prompt: String::new(),
            llm_max_tokens: 400,
            llm_temperature: 0.2,
            architecture: "arm64".into(),
            memory: 256,
            timeout: 60,
            reserved_concurrency: -1,
            log_retention: 30,
            time_zone: DEFAULT_TIME_ZONE.into(),
            export_prefix: String::new(),
            batch_window: 1,
            debug_logs: false,
            robot_security: None,
            at_mobiles: None,
            at_all_on: None,
            keyword: None,
            webhook_any_host: false,
            artifact_bucket: None,
            permissions_boundary: String::new(),
            ops_email: String::new(),
            kms_key: String::new(),
            account_names: String::new(),
            routes: String::new(),
            secret_routes: None,
        }
    }

    #[test]
    fn rules_parse() {
        assert_eq!(
            parse_rules("alarm, health").unwrap(),
            vec![Rule::Health, Rule::Alarm]
        );
        assert_eq!(parse_rules("all").unwrap(), Rule::ALL.to_vec());
        assert_eq!(parse_rules("none").unwrap(), vec![]);
        assert_eq!(
            parse_rules("health,foo").unwrap_err(),
            "unknown rule `foo` (use health, health-abuse, ec2, alarm, securityhub, guardduty, \
             inspector, access-analyzer, root, config, ecr-scan, \
             trusted-advisor, backup, pipelines, ecs, acm, default, all or none)"
        );
    }

    #[test]
    fn parameters_are_complete_and_exact() {
        let p = settings().parameters("b", "lambda/x.zip", "arn:s");
        let keys: Vec<&str> = p.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "ArtifactBucket",
                "ArtifactKey",
                "Architecture",
                "MemorySize",
                "Timeout",
                "ReservedConcurrency",
                "PermissionsBoundaryArn",
                "LogRetentionInDays",
                "WebhookSecretArn",
                "EnableHealthRule",
                "EnableHealthAbuseRule",
                "EnableEc2StateChangeRule",
                "Ec2States",
                "EnableAlarmRule",
                "AlarmStates",
                "EnableSecurityHubRule",
                "EnableGuardDutyRule",
                "EnableInspectorRule",
                "EnableAccessAnalyzerRule",
                "EnableRootActivityRule",
                "EnableConfigComplianceRule",
                "EnableEcrScanRule",
                "EnableTrustedAdvisorRule",
                "EnableBackupFailureRule",
                "EnablePipelineFailureRule",
                "EnableEcsTaskFailureRule",
                "EnableAcmExpiryRule",
                "DisplayTimeZone",
                "AccountNames",
                "Routes",
                "LlmEnabled",
                "LlmModelId",
                "LlmRegion",
                "LlmSystemPrompt",
                "LlmMaxTokens",
                "LlmTemperature",
                "ExportPrefix",
                "AlertQueueVisibilityTimeout",
                "MaxReceiveCount",
                "DebugLogs",
                "OpsEmail",
                "KmsKeyArn"
            ]
        );
        let get = |k: &str| p.iter().find(|(key, _)| *key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("EnableHealthAbuseRule"), Some("false"));
        assert_eq!(get("EnableAlarmRule"), Some("true"));
        assert_eq!(get("LlmTemperature"), Some("0.2"));
        assert_eq!(get("ReservedConcurrency"), Some("-1"));
        assert_eq!(get("AlertQueueVisibilityTimeout"), Some("361"));
        assert_eq!(get("DebugLogs"), Some("false"));
        let mut s = settings();
        s.timeout = 120;
        s.batch_window = 30;
        let p = s.parameters("b", "lambda/x.zip", "arn:s");
        let get = |k: &str| p.iter().find(|(key, _)| *key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("AlertQueueVisibilityTimeout"), Some("750"));
        assert_eq!(get("MaxReceiveCount"), Some("8"));
        s.timeout = 5;
        s.batch_window = 1;
        let p = s.parameters("b", "lambda/x.zip", "arn:s");
        let get = |k: &str| p.iter().find(|(key, _)| *key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("MaxReceiveCount"), Some("175"));
    }

    #[test]
    fn config_never_holds_secrets() {
        let text = config::render(&settings().to_config("ap-southeast-1")).unwrap();
        assert!(!text.contains("webhook ="));
        assert!(!text.contains("access_token"));
        assert!(text.contains("stack_name = \"alerts\""));
    }
}
