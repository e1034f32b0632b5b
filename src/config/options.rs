//! One definition per deploy option. A field of [`DeployOptions`] is at once
//! the flag, its environment variable, its help text and its key under
//! `[deploy]` in dingtalk-notifier.toml (`clap::Args` and serde on one
//! struct, as cargo-lambda's `Deploy`). A stack parameter's default and
//! limits are the template's own (as SAM reads them): the field names its
//! parameter in [`STACK_PARAMETERS`] and nothing else repeats them. Flags and
//! file are merged once ([`DeployOptions::over`]); what the template cannot
//! say is checked by [`DeployOptions::check`], beside the fields.
//!
//! Adding a stack parameter: the template, one field here (with its line in
//! `STACK_PARAMETERS`), and its test.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{builder::BoolishValueParser, Args};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::robot_security::RobotSecurity;
use crate::template::constraints;

/// The answers `deploy` remembers. `None`: not given; [`DeployOptions::over`]
/// takes the file's, the prompts or the template's default fill the rest.
#[derive(Args, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeployOptions {
    /// Rules to enable, comma separated: default (health, health-abuse, ec2, alarm) and the
    /// opt-in securityhub, guardduty, inspector, access-analyzer, root,
    /// config, ecr-scan, trusted-advisor, backup, pipelines, ecs, acm; or all, or none
    #[arg(
        help_heading = "Alerts",
        long,
        env = "DINGTALK_NOTIFIER_RULES",
        value_delimiter = ','
    )]
    pub rules: Option<Vec<String>>,
    /// EC2 states to report (comma separated; empty = all)
    #[arg(help_heading = "Alerts", long, env = "DINGTALK_NOTIFIER_EC2_STATES")]
    pub ec2_states: Option<String>,
    /// Alarm states to report (comma separated, e.g. ALARM,OK; empty = every transition)
    #[arg(help_heading = "Alerts", long, env = "DINGTALK_NOTIFIER_ALARM_STATES")]
    pub alarm_states: Option<String>,
    /// IANA time zone for times in messages
    #[arg(help_heading = "Alerts", long, env = "DINGTALK_NOTIFIER_TIME_ZONE")]
    pub time_zone: Option<String>,
    /// Seconds the alert queue keeps an alert DingTalk has not taken, from its arrival:
    /// 86400 (1 day) to 604800 (7 days, so the dead-letter queue still keeps it a week)
    #[arg(
        help_heading = "Alerts",
        long,
        env = "DINGTALK_NOTIFIER_ALERT_RETENTION",
        value_name = "SECONDS"
    )]
    pub alert_retention: Option<u32>,

    /// Add a Bedrock summary to each alert: on or off (true/false, yes/no also work)
    #[arg(help_heading = "LLM", long, env = "DINGTALK_NOTIFIER_LLM", value_name = "on|off", value_parser = BoolishValueParser::new())]
    pub llm: Option<bool>,
    /// Bedrock model or inference profile id
    #[arg(help_heading = "LLM", long, env = "DINGTALK_NOTIFIER_LLM_MODEL_ID")]
    pub llm_model_id: Option<String>,
    /// Bedrock region (empty = the stack's region)
    #[arg(help_heading = "LLM", long, env = "DINGTALK_NOTIFIER_LLM_REGION")]
    pub llm_region: Option<String>,
    /// File holding a custom system prompt for the summary
    #[arg(
        help_heading = "LLM",
        long,
        env = "DINGTALK_NOTIFIER_LLM_SYSTEM_PROMPT_FILE"
    )]
    pub llm_system_prompt_file: Option<PathBuf>,
    /// Maximum summary tokens
    #[arg(help_heading = "LLM", long, env = "DINGTALK_NOTIFIER_LLM_MAX_TOKENS")]
    pub llm_max_tokens: Option<u32>,
    /// Sampling temperature 0..1
    #[arg(help_heading = "LLM", long, env = "DINGTALK_NOTIFIER_LLM_TEMPERATURE", value_parser = finite)]
    #[serde(deserialize_with = "finite_in_file")]
    pub llm_temperature: Option<f64>,

    /// Function architecture: arm64 or x86_64
    #[arg(
        help_heading = "Function",
        long = "arch",
        env = "DINGTALK_NOTIFIER_ARCH"
    )]
    #[serde(alias = "arch")]
    pub architecture: Option<String>,
    /// Function memory in MB
    #[arg(help_heading = "Function", long, env = "DINGTALK_NOTIFIER_MEMORY")]
    pub memory: Option<u32>,
    /// Function timeout in seconds
    #[arg(help_heading = "Function", long, env = "DINGTALK_NOTIFIER_TIMEOUT")]
    pub timeout: Option<u32>,
    /// Reserved concurrency: -1 = unreserved, else at least 2 (the buffer's two pollers).
    /// Any reservation fails on new accounts whose concurrency quota is 10
    #[arg(
        help_heading = "Function",
        long,
        env = "DINGTALK_NOTIFIER_RESERVED_CONCURRENCY",
        allow_negative_numbers = true
    )]
    pub reserved_concurrency: Option<i32>,
    /// Log retention in days
    #[arg(
        help_heading = "Function",
        long,
        env = "DINGTALK_NOTIFIER_LOG_RETENTION"
    )]
    pub log_retention: Option<u32>,
    /// Permissions boundary ARN for the function's role (the PermissionsBoundaryArn output of docs/iam-deploy-policy.json; empty = none)
    #[arg(
        help_heading = "Function",
        long,
        env = "DINGTALK_NOTIFIER_PERMISSIONS_BOUNDARY"
    )]
    pub permissions_boundary: Option<String>,
    /// Log each incoming event and rendered message in the function's log (never the webhook or secret)
    #[arg(help_heading = "Function", long, env = "DINGTALK_NOTIFIER_DEBUG_LOGS", value_parser = BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub debug_logs: Option<bool>,

    /// Prefix for stack export names (empty = the stack name)
    #[arg(
        help_heading = "AWS and output",
        long,
        env = "DINGTALK_NOTIFIER_EXPORT_PREFIX"
    )]
    pub export_prefix: Option<String>,
    /// E-mail address told when the notifier itself fails (alerts in the dead-letter queue, function errors); SNS mails a confirmation first. '' = no one
    #[arg(
        help_heading = "AWS and output",
        long,
        env = "DINGTALK_NOTIFIER_OPS_EMAIL",
        value_name = "ADDRESS"
    )]
    pub ops_email: Option<String>,
    /// Customer-managed KMS key ARN for the topics and the log group at rest; its key policy must let EventBridge, CloudWatch and CloudWatch Logs use it, and it must be tagged app=dingtalk-notifier. '' = none
    #[arg(
        help_heading = "AWS and output",
        long,
        env = "DINGTALK_NOTIFIER_KMS_KEY",
        value_name = "ARN"
    )]
    pub kms_key: Option<String>,

    /// Accept a webhook on any host, over http too: a relay in front of DingTalk, or a local test robot
    #[arg(help_heading = "Webhook", long, env = "DINGTALK_WEBHOOK_ANY_HOST", value_parser = BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub webhook_any_host: Option<bool>,
    /// Phone numbers to @mention (comma separated)
    #[arg(
        help_heading = "Webhook",
        long,
        env = "DINGTALK_AT_MOBILES",
        value_delimiter = ','
    )]
    pub at_mobiles: Option<Vec<String>>,
    /// States that @all / @mention (comma separated, e.g. ALARM,open)
    #[arg(
        help_heading = "Webhook",
        long,
        env = "DINGTALK_AT_ALL_ON",
        value_delimiter = ','
    )]
    pub at_all_on: Option<Vec<String>>,
    /// The robot's custom keyword, added to messages that lack it
    #[arg(help_heading = "Webhook", long, env = "DINGTALK_KEYWORD")]
    pub keyword: Option<String>,
    /// The robot's security setting: signature (加签), keywords, or ip-allow-list; only what it needs is asked
    #[arg(help_heading = "Webhook", long, env = "DINGTALK_ROBOT_SECURITY", value_parser = parse_robot_security)]
    pub robot_security: Option<RobotSecurity>,

    /// Set by deploy, not a flag: when the default artifact bucket name
    /// belongs to another account, the random-suffix bucket used instead.
    #[arg(skip)]
    pub artifact_bucket: Option<String>,
}

/// The stack parameter each option sets as it is (once checked): its
/// default, limits and allowed values are the template's. `rules` (the
/// `Enable*Rule` switches) and `llm_system_prompt_file` (`LlmSystemPrompt`,
/// the file's text) are made from their option by [`super::settings`].
pub const STACK_PARAMETERS: &[(&str, &str)] = &[
    ("ec2_states", "Ec2States"),
    ("alarm_states", "AlarmStates"),
    ("time_zone", "DisplayTimeZone"),
    ("alert_retention", "AlertRetentionPeriod"),
    ("llm", "LlmEnabled"),
    ("llm_model_id", "LlmModelId"),
    ("llm_region", "LlmRegion"),
    ("llm_max_tokens", "LlmMaxTokens"),
    ("llm_temperature", "LlmTemperature"),
    ("architecture", "Architecture"),
    ("memory", "MemorySize"),
    ("timeout", "Timeout"),
    ("reserved_concurrency", "ReservedConcurrency"),
    ("log_retention", "LogRetentionInDays"),
    ("permissions_boundary", "PermissionsBoundaryArn"),
    ("debug_logs", "DebugLogs"),
    ("export_prefix", "ExportPrefix"),
    ("ops_email", "OpsEmail"),
    ("kms_key", "KmsKeyArn"),
];

fn parse_robot_security(s: &str) -> Result<RobotSecurity, String> {
    s.parse()
}

/// A number, not `nan` or `inf`: the merge through JSON would take either
/// for "not given" and deploy another value.
fn finite(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(n),
        _ => Err("must be a number from 0 to 1".into()),
    }
}

/// [`finite`] for the toml, which also spells `nan` and `inf`.
fn finite_in_file<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Option::<f64>::deserialize(d)? {
        Some(n) if !n.is_finite() => Err(serde::de::Error::custom("must be a number from 0 to 1")),
        n => Ok(n),
    }
}

impl DeployOptions {
    /// These options (flags and their environment variables) over `file`:
    /// each field is the first of the two that is set. Merged once, through
    /// serde, so no field is listed here.
    pub fn over(&self, file: &DeployOptions) -> Result<DeployOptions> {
        let mut merged = object(file)?;
        for (key, value) in object(self)? {
            if !value.is_null() {
                merged.insert(key, value);
            }
        }
        serde_json::from_value(Value::Object(merged)).context("merging the deploy options")
    }

    /// Every option with a stack parameter that is still unset takes the
    /// template's default, so the toml and the change set show the value
    /// deployed.
    pub fn with_template_defaults(&self) -> Result<DeployOptions> {
        let mut fields = object(self)?;
        for (field, parameter) in STACK_PARAMETERS {
            let default = constraints::all()
                .get(*parameter)
                .and_then(|c| c.default.clone());
            if let (Some(Value::Null), Some(default)) = (fields.get(*field), default) {
                fields.insert(field.to_string(), typed(field, &default));
            }
        }
        serde_json::from_value(Value::Object(fields)).context("the template's defaults")
    }

    /// The stack parameters the options set as they are, in
    /// [`STACK_PARAMETERS`]' order; an unset one is left out.
    pub fn parameters(&self) -> Result<Vec<(&'static str, String)>> {
        let fields = object(self)?;
        Ok(STACK_PARAMETERS
            .iter()
            .filter_map(|(field, parameter)| {
                parameter_value(fields.get(*field)?).map(|v| (*parameter, v))
            })
            .collect())
    }

    /// What the template's constraints cannot say, one check per option in
    /// field order, normalising as it goes (trimmed text, one spelling of
    /// each state). The template's own limits are checked on the parameters.
    pub fn check(&mut self) -> Result<()> {
        let trim = |v: &mut Option<String>| {
            if let Some(s) = v {
                *s = s.trim().to_string();
            }
        };
        trim(&mut self.keyword);
        for list in [&mut self.at_mobiles, &mut self.at_all_on] {
            *list = list.take().map(split_list);
        }
        if let Some(s) = &self.ec2_states {
            self.ec2_states = Some(normalize_states(s, EC2_STATES, "EC2 state", false)?);
        }
        if let Some(s) = &self.alarm_states {
            self.alarm_states = Some(normalize_states(s, ALARM_STATES, "alarm state", true)?);
        }
        if let Some(tz) = &self.time_zone {
            check("--time-zone", validate_time_zone(tz))?;
        }
        if let Some(id) = &self.llm_model_id {
            check(
                "LLM model id",
                dingtalk_notifier_lambda::model_id::validate_model_id(id),
            )?;
        }
        trim(&mut self.llm_region);
        if let Some(r) = self.llm_region.as_deref().filter(|r| !r.is_empty()) {
            check("Bedrock region", crate::regions::name::validate(r))?;
        }
        if let Some(n) = self.reserved_concurrency {
            check("--reserved-concurrency", validate_reserved_concurrency(n))?;
        }
        trim(&mut self.permissions_boundary);
        if let Some(arn) = &self.permissions_boundary {
            check("--permissions-boundary", validate_policy_arn(arn))?;
        }
        trim(&mut self.ops_email);
        if let Some(email) = &self.ops_email {
            check("--ops-email", validate_ops_email(email))?;
        }
        trim(&mut self.kms_key);
        Ok(())
    }
}

/// Empty, or the ARN of an IAM managed policy (`arn:<partition>:iam::<account>:policy/...`).
pub fn validate_policy_arn(s: &str) -> Result<(), String> {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let ok = s.is_empty()
        || (parts.len() == 6
            && parts[0] == "arn"
            && parts[1].starts_with("aws")
            && parts[2] == "iam"
            && parts[3].is_empty()
            && parts[4].len() == 12
            && parts[4].chars().all(|c| c.is_ascii_digit())
            && parts[5].len() > "policy/".len()
            && parts[5].starts_with("policy/"));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not an IAM policy ARN; use the PermissionsBoundaryArn output of \
             docs/iam-deploy-policy.json (arn:aws:iam::123456789012:policy/dingtalk-notifier/dingtalk-notifier-function-boundary)"
        ))
    }
}

/// Empty (no one), or an e-mail address as the template's `OpsEmail`
/// pattern accepts it: `^([^@\s]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?$`, at
/// most 254 characters (a test compares the two).
pub fn validate_ops_email(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    // Java's (CloudFormation's) `\s`: ASCII whitespace, vertical tab included.
    let space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r');
    let ok = s.chars().count() <= 254
        && s.split_once('@').is_some_and(|(local, domain)| {
            let tld = domain.rsplit_once('.').map(|(_, tld)| tld);
            !local.is_empty()
                && !local.chars().any(space)
                && domain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
                && domain
                    .rsplit_once('.')
                    .is_some_and(|(host, _)| !host.is_empty())
                && tld.is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()))
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not an e-mail address; use one such as ops@example.com, or '' for none"
        ))
    }
}

/// The event source mapping runs two concurrent invocations
/// (`MaximumConcurrency: 2`); a smaller reservation throttles them and
/// sends alerts to the dead-letter queue.
pub fn validate_reserved_concurrency(n: i32) -> Result<(), String> {
    if n == -1 || n >= 2 {
        return Ok(());
    }
    Err(format!(
        "{n} would throttle the alert buffer's 2 concurrent pollers and send alerts to the \
         dead-letter queue; use -1 (unreserved) or at least 2. Note that any reservation fails \
         on new accounts whose Lambda concurrency quota is 10 (Lambda keeps 10 unreserved): \
         ask for a higher quota first or stay unreserved"
    ))
}

pub fn validate_time_zone(s: &str) -> Result<(), String> {
    s.parse::<chrono_tz::Tz>()
        .map(|_| ())
        .map_err(|_| format!("`{s}` is not an IANA time zone name (e.g. Asia/Shanghai, UTC)"))
}

pub fn normalize_states(raw: &str, allowed: &[&str], what: &str, upper: bool) -> Result<String> {
    let mut out = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let v = if upper {
            part.to_ascii_uppercase()
        } else {
            part.to_ascii_lowercase()
        };
        if !allowed.contains(&v.as_str()) {
            bail!(
                "invalid {what} `{part}`: use {} (comma separated; empty = all)",
                allowed.join(", ")
            );
        }
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out.join(","))
}

pub const EC2_STATES: &[&str] = &[
    "pending",
    "running",
    "stopping",
    "stopped",
    "shutting-down",
    "terminated",
];
pub const ALARM_STATES: &[&str] = &["ALARM", "OK", "INSUFFICIENT_DATA"];

/// `invalid <field>: <why>`, the one shape of a refused answer.
pub fn check(field: &str, r: Result<(), String>) -> Result<()> {
    r.map_err(|e| anyhow::anyhow!("invalid {field}: {e}"))
}

/// The flag that sets `parameter`, to name it in an error: the flag of the
/// option whose parameter it is, `--rules` for a rule switch.
pub fn flag_of(parameter: &str) -> Option<String> {
    let field = match parameter {
        "LlmSystemPrompt" => "llm_system_prompt_file",
        p if p.starts_with("Enable") && p.ends_with("Rule") => "rules",
        p => STACK_PARAMETERS.iter().find(|(_, q)| *q == p)?.0,
    };
    flag_of_field(field)
}

/// `--` and the long name clap gives the field (`architecture` is `--arch`).
pub fn flag_of_field(field: &str) -> Option<String> {
    let command = DeployOptions::augment_args(clap::Command::new("deploy"));
    let arg = command.get_arguments().find(|a| a.get_id() == field)?;
    Some(format!("--{}", arg.get_long()?))
}

/// `deploy --help` shows each stack parameter's default as the template has
/// it, so the help text never repeats a number.
pub fn with_template_defaults_in_help(deploy: clap::Command) -> clap::Command {
    STACK_PARAMETERS
        .iter()
        .filter_map(|(field, parameter)| {
            let default = constraints::all().get(*parameter)?.default.clone()?;
            (!default.is_empty()).then_some((*field, default))
        })
        .fold(deploy, |command, (field, default)| {
            command.mut_arg(field, |arg| {
                let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
                arg.help(format!("{help} [default: {default}]"))
            })
        })
}

fn object(options: &DeployOptions) -> Result<Map<String, Value>> {
    match serde_json::to_value(options).context("reading the deploy options")? {
        Value::Object(map) => Ok(map),
        _ => anyhow::bail!("the deploy options are not a table"),
    }
}

/// The template's default (always text) as the field's type: `256` for a
/// number, `false` for a switch, the text itself for a string.
fn typed(field: &str, default: &str) -> Value {
    let fits = |value: &Value| {
        let mut one = Map::new();
        one.insert(field.to_string(), value.clone());
        serde_json::from_value::<DeployOptions>(Value::Object(one)).is_ok()
    };
    match serde_json::from_str::<Value>(default) {
        Ok(value) if fits(&value) => value,
        _ => Value::String(default.to_string()),
    }
}

/// A field's value as CloudFormation takes it: `0.2`, `-1`, `true`, text.
fn parameter_value(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) => f.to_string(),
            (None, None) => n.to_string(),
        }),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(parameter_value)
                .collect::<Vec<_>>()
                .join(","),
        ),
        Value::Object(_) => None,
    }
}

/// `["a, b", "c"]` (a flag given twice, or a list in the file) as `[a, b, c]`.
fn split_list(v: Vec<String>) -> Vec<String> {
    v.iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_field_by_field() {
        let file = DeployOptions {
            memory: Some(512),
            time_zone: Some("UTC".into()),
            rules: Some(vec!["alarm".into()]),
            ..DeployOptions::default()
        };
        let flags = DeployOptions {
            memory: Some(1024),
            llm: Some(false),
            ..DeployOptions::default()
        };
        let merged = flags.over(&file).unwrap();
        assert_eq!(
            merged,
            DeployOptions {
                memory: Some(1024),
                llm: Some(false),
                time_zone: Some("UTC".into()),
                rules: Some(vec!["alarm".into()]),
                ..DeployOptions::default()
            }
        );
    }

    #[test]
    fn unset_options_take_the_templates_defaults() {
        let filled = DeployOptions {
            memory: Some(512),
            ..DeployOptions::default()
        }
        .with_template_defaults()
        .unwrap();
        assert_eq!(filled.memory, Some(512));
        assert_eq!(filled.timeout, Some(60));
        assert_eq!(filled.reserved_concurrency, Some(-1));
        assert_eq!(filled.llm, Some(false));
        assert_eq!(filled.llm_temperature, Some(0.2));
        assert_eq!(filled.llm_max_tokens, Some(400));
        assert_eq!(filled.architecture.as_deref(), Some("arm64"));
        assert_eq!(
            filled.ec2_states.as_deref(),
            Some("running,stopped,terminated")
        );
        assert_eq!(filled.alert_retention, Some(345_600));
        assert_eq!(filled.export_prefix.as_deref(), Some(""));
        // No parameter: left to the prompts and the stored secret.
        assert_eq!(filled.rules, None);
        assert_eq!(filled.keyword, None);
    }

    #[test]
    fn every_option_names_a_field_and_a_template_parameter() {
        let fields = object(&DeployOptions::default()).unwrap();
        for (field, parameter) in STACK_PARAMETERS {
            assert!(fields.contains_key(*field), "{field} is not an option");
            assert!(
                constraints::all().contains_key(*parameter),
                "{parameter} is not in the template"
            );
            assert!(flag_of(parameter).is_some(), "{parameter} has no flag");
        }
        assert_eq!(flag_of("MemorySize").as_deref(), Some("--memory"));
        assert_eq!(flag_of("Architecture").as_deref(), Some("--arch"));
        assert_eq!(flag_of("EnableGuardDutyRule").as_deref(), Some("--rules"));
        assert_eq!(
            flag_of("LlmSystemPrompt").as_deref(),
            Some("--llm-system-prompt-file")
        );
        assert_eq!(flag_of("WebhookSecretArn"), None);
    }

    #[test]
    fn parameters_are_the_values_as_cloudformation_takes_them() {
        let options = DeployOptions {
            llm_temperature: Some(1.0),
            reserved_concurrency: Some(-1),
            debug_logs: Some(true),
            alert_retention: Some(86_400),
            ..DeployOptions::default()
        };
        assert_eq!(
            options.parameters().unwrap(),
            [
                ("AlertRetentionPeriod", "86400".to_string()),
                ("LlmTemperature", "1".to_string()),
                ("ReservedConcurrency", "-1".to_string()),
                ("DebugLogs", "true".to_string()),
            ]
        );
    }

    #[test]
    fn help_shows_the_templates_defaults() {
        let command = with_template_defaults_in_help(DeployOptions::augment_args(
            clap::Command::new("deploy"),
        ));
        let help = |id: &str| {
            command
                .get_arguments()
                .find(|a| a.get_id() == id)
                .and_then(|a| a.get_help())
                .map(ToString::to_string)
                .unwrap_or_default()
        };
        assert_eq!(help("memory"), "Function memory in MB [default: 256]");
        assert_eq!(
            help("llm_model_id"),
            "Bedrock model or inference profile id [default: amazon.nova-lite-v1:0]"
        );
        assert_eq!(
            help("export_prefix"),
            "Prefix for stack export names (empty = the stack name)"
        );
    }

    #[test]
    fn a_temperature_that_is_not_a_number_is_refused_not_dropped() {
        assert_eq!(finite("0.3"), Ok(0.3));
        for bad in ["nan", "inf", "-inf", "warm"] {
            assert_eq!(finite(bad), Err("must be a number from 0 to 1".to_string()));
        }
        let err = crate::config::parse("[deploy]\nllm_temperature = nan\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2, column 19: must be a number from 0 to 1"
        );
        let file = crate::config::parse("[deploy]\narch = \"x86_64\"\n").unwrap();
        assert_eq!(file.deploy.architecture.as_deref(), Some("x86_64"));
    }

    #[test]
    fn checks_normalise_and_name_the_flag() {
        let mut options = DeployOptions {
            keyword: Some(" 告警 ".into()),
            at_mobiles: Some(vec!["138, 139".into(), "".into()]),
            alarm_states: Some("alarm, ok,ALARM".into()),
            ops_email: Some(" ops@example.com ".into()),
            ..DeployOptions::default()
        };
        options.check().unwrap();
        assert_eq!(options.keyword.as_deref(), Some("告警"));
        assert_eq!(
            options.at_mobiles,
            Some(vec!["138".to_string(), "139".to_string()])
        );
        assert_eq!(options.alarm_states.as_deref(), Some("ALARM,OK"));
        assert_eq!(options.ops_email.as_deref(), Some("ops@example.com"));
        let mut bad = DeployOptions {
            reserved_concurrency: Some(1),
            ..DeployOptions::default()
        };
        assert!(bad
            .check()
            .unwrap_err()
            .to_string()
            .starts_with("invalid --reserved-concurrency: 1 would throttle"));
    }
    /// The CLI refuses exactly what the template's `OpsEmail` refuses, so a
    /// bad address stops the deploy before anything is uploaded.
    #[test]
    fn ops_email_check_is_the_templates_pattern() {
        let t: serde_json::Value = yaml_serde::from_str(crate::aws::stack::TEMPLATE).unwrap();
        let p = &t["Parameters"]["OpsEmail"];
        let re = regex_lite::Regex::new(p["AllowedPattern"].as_str().unwrap()).unwrap();
        let max = p["MaxLength"].as_u64().unwrap() as usize;
        assert_eq!(p["Default"], "");
        let long = format!("{}@example.com", "a".repeat(242));
        let too_long = format!("{}@example.com", "a".repeat(243));
        for s in [
            "",
            "ops@example.com",
            "first.last+alerts@mail.example.co.uk",
            "运维@example.cn",
            "o@x-y.io",
            long.as_str(),
            too_long.as_str(),
            "ops",
            "ops@",
            "@example.com",
            "ops@example",
            "ops@example.c",
            "ops@.com",
            "ops@exa mple.com",
            "o ps@example.com",
            "o\x0Bps@example.com",
            "ops@@example.com",
            "a@b@example.com",
            "ops@example.com,dev@example.com",
            "ops@example.c0m",
            "ops@example_x.com",
            "ops@example.com.",
        ] {
            let template_accepts = re.is_match(s) && s.chars().count() <= max;
            assert_eq!(
                validate_ops_email(s).is_ok(),
                template_accepts,
                "CLI and template disagree on `{s}`"
            );
        }
        assert_eq!(
            check("--ops-email", validate_ops_email("ops@example")).unwrap_err().to_string(),
            "invalid --ops-email: `ops@example` is not an e-mail address; use one such as ops@example.com, or '' for none"
        );
    }

    #[test]
    fn states_are_normalised() {
        assert_eq!(
            normalize_states("alarm, ok,ALARM", ALARM_STATES, "alarm state", true).unwrap(),
            "ALARM,OK"
        );
        assert_eq!(
            normalize_states("running,flying", EC2_STATES, "EC2 state", false).unwrap_err().to_string(),
            "invalid EC2 state `flying`: use pending, running, stopping, stopped, shutting-down, terminated (comma separated; empty = all)"
        );
    }

    #[test]
    fn reservations_below_the_pollers_are_refused_in_words() {
        assert_eq!(validate_reserved_concurrency(-1), Ok(()));
        assert_eq!(validate_reserved_concurrency(2), Ok(()));
        assert_eq!(validate_reserved_concurrency(50), Ok(()));
        for n in [-5, 0, 1] {
            assert_eq!(
                check("--reserved-concurrency", validate_reserved_concurrency(n))
                    .unwrap_err()
                    .to_string(),
                format!(
                    "invalid --reserved-concurrency: {n} would throttle the alert buffer's 2 \
                     concurrent pollers and send alerts to the dead-letter queue; use -1 \
                     (unreserved) or at least 2. Note that any reservation fails on new accounts \
                     whose Lambda concurrency quota is 10 (Lambda keeps 10 unreserved): ask for a \
                     higher quota first or stay unreserved"
                )
            );
        }
    }
}
