//! What a deploy is made of once every answer is in: the alert rules, and
//! the settings that become stack parameters and dingtalk-notifier.toml.

use anyhow::Result;

use super::queue_timing;
use crate::config::ConfigFile;
use crate::config::DeployOptions;
use crate::robot_security::RobotSecurity;
pub use crate::rules::{parse_rules, Rule};

pub const DEFAULT_STACK_NAME: &str = "dingtalk-notifier";

/// Everything the stack parameters and the secret's options are made from.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub stack_name: String,
    /// Every option as deployed: flags over the file, then the prompts, then
    /// the template's defaults, checked.
    pub options: DeployOptions,
    /// `options.rules`, parsed: the `Enable*Rule` switches.
    pub rules: Vec<Rule>,
    /// The text of `options.llm_system_prompt_file` (`LlmSystemPrompt`).
    pub llm_system_prompt: String,
    /// The buffer's batching window: `BatchWindowSeconds`' template default.
    pub batch_window: u32,
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
    ) -> Result<Vec<(&'static str, String)>> {
        let on = |r: Rule| self.rules.contains(&r).to_string();
        let visibility = queue_timing::visibility_timeout(self.timeout(), self.batch_window);
        let mut out = vec![
            ("ArtifactBucket", bucket.to_string()),
            ("ArtifactKey", key.to_string()),
            ("WebhookSecretArn", secret_arn.to_string()),
        ];
        out.extend(Rule::ALL.into_iter().map(|r| (r.parameter(), on(r))));
        out.extend(self.options.parameters()?);
        out.extend([
            ("LlmSystemPrompt", self.llm_system_prompt.clone()),
            ("AccountNames", self.account_names.clone()),
            ("Routes", self.routes.clone()),
            ("AlertQueueVisibilityTimeout", visibility.to_string()),
            (
                "MaxReceiveCount",
                queue_timing::max_receive_count(visibility).to_string(),
            ),
        ]);
        Ok(out)
    }

    /// What goes back into dingtalk-notifier.toml: no secrets by
    /// construction (the webhook is not an option).
    pub fn to_config(&self, region: &str) -> ConfigFile {
        let mut deploy = self.options.clone();
        deploy.rules = Some(self.rules.iter().map(|r| r.key().to_string()).collect());
        ConfigFile {
            stack_name: Some(self.stack_name.clone()),
            region: Some(region.to_string()),
            deploy,
            ..ConfigFile::default()
        }
    }

    pub fn timeout(&self) -> u32 {
        self.options.timeout.unwrap_or_default()
    }

    pub fn llm(&self) -> bool {
        self.options.llm.unwrap_or_default()
    }

    pub fn llm_model_id(&self) -> &str {
        self.options.llm_model_id.as_deref().unwrap_or_default()
    }

    /// Empty: the stack's own region.
    pub fn llm_region(&self) -> &str {
        self.options.llm_region.as_deref().unwrap_or_default()
    }

    pub fn architecture(&self) -> &str {
        self.options.architecture.as_deref().unwrap_or_default()
    }

    /// Where the notifier's own alarms mail (`OpsEmail`); empty = no one.
    pub fn ops_email(&self) -> &str {
        self.options.ops_email.as_deref().unwrap_or_default()
    }

    pub fn webhook_any_host(&self) -> bool {
        self.options.webhook_any_host.unwrap_or_default()
    }

    /// The robot's security setting, once chosen (flag, file or prompt).
    pub fn robot_security(&self) -> Option<RobotSecurity> {
        self.options.robot_security
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config;

    /// A typical deploy's settings, shared by the tests of the deploy modules.
    pub(crate) fn settings() -> Settings {
        let options = DeployOptions {
            ec2_states: Some(String::new()),
            alarm_states: Some("ALARM,OK".into()),
            ..DeployOptions::default()
        };
        Settings {
            stack_name: "alerts".into(),
            options: options.with_template_defaults().unwrap(),
            rules: vec![Rule::Health, Rule::Alarm],
            llm_system_prompt: String::new(),
            batch_window: 1,
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
        let p = settings().parameters("b", "lambda/x.zip", "arn:s").unwrap();
        let keys: Vec<&str> = p.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "ArtifactBucket",
                "ArtifactKey",
                "WebhookSecretArn",
                "EnableHealthRule",
                "EnableHealthAbuseRule",
                "EnableEc2StateChangeRule",
                "EnableAlarmRule",
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
                "Ec2States",
                "AlarmStates",
                "DisplayTimeZone",
                "AlertRetentionPeriod",
                "LlmEnabled",
                "LlmModelId",
                "LlmRegion",
                "LlmMaxTokens",
                "LlmTemperature",
                "Architecture",
                "MemorySize",
                "Timeout",
                "ReservedConcurrency",
                "LogRetentionInDays",
                "PermissionsBoundaryArn",
                "DebugLogs",
                "ExportPrefix",
                "OpsEmail",
                "KmsKeyArn",
                "LlmSystemPrompt",
                "AccountNames",
                "Routes",
                "AlertQueueVisibilityTimeout",
                "MaxReceiveCount"
            ]
        );
        let get = |k: &str| p.iter().find(|(key, _)| *key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("EnableHealthAbuseRule"), Some("false"));
        assert_eq!(get("EnableAlarmRule"), Some("true"));
        assert_eq!(get("LlmTemperature"), Some("0.2"));
        assert_eq!(get("ReservedConcurrency"), Some("-1"));
        assert_eq!(get("AlertQueueVisibilityTimeout"), Some("361"));
        assert_eq!(get("AlertRetentionPeriod"), Some("345600"));
        assert_eq!(get("DebugLogs"), Some("false"));
        let mut s = settings();
        s.options.timeout = Some(120);
        s.batch_window = 30;
        let p = s.parameters("b", "lambda/x.zip", "arn:s").unwrap();
        let get = |k: &str| p.iter().find(|(key, _)| *key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("AlertQueueVisibilityTimeout"), Some("750"));
        assert_eq!(get("MaxReceiveCount"), Some("8"));
        s.options.timeout = Some(5);
        s.batch_window = 1;
        let p = s.parameters("b", "lambda/x.zip", "arn:s").unwrap();
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
