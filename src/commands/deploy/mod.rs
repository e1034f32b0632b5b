//! `deploy`: gather answers (flags, env, dingtalk-notifier.toml, prompts),
//! build and upload the function, write the webhook secret, then create or
//! update the stack through a reviewed change set.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use dingtalk_notifier_lambda::secret::WebhookConfig;
use serde_json::json;

use crate::aws::artifacts;
use crate::aws::build;
use crate::aws::connect::{connect, validate_region};
use crate::aws::secret::{self, ExistingSecret};
use crate::aws::stack::{self, ChangeSet, ChangeSetRequest, Phase, StackInfo};
use crate::aws::Aws;
use crate::cli::{DeployArgs, GlobalArgs};
use crate::config::{self, ConfigFile, DeployConfig};
use crate::term::output::{table, Ui};
use crate::term::prompt;

pub const DEFAULT_STACK_NAME: &str = "dingtalk-notifier";
pub const DEFAULT_MODEL_ID: &str = "amazon.nova-lite-v1:0";
pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";

/// The alert rules the template can enable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Health,
    HealthAbuse,
    Ec2StateChange,
    Alarm,
}

impl Rule {
    pub const ALL: [Rule; 4] = [
        Rule::Health,
        Rule::HealthAbuse,
        Rule::Ec2StateChange,
        Rule::Alarm,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Rule::Health => "health",
            Rule::HealthAbuse => "health-abuse",
            Rule::Ec2StateChange => "ec2",
            Rule::Alarm => "alarm",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Rule::Health => "AWS Health events",
            Rule::HealthAbuse => "AWS Health abuse events",
            Rule::Ec2StateChange => "EC2 instance state changes",
            Rule::Alarm => "CloudWatch alarm state changes",
        }
    }

    /// The template parameter that switches the rule on.
    pub fn parameter(self) -> &'static str {
        match self {
            Rule::Health => "EnableHealthRule",
            Rule::HealthAbuse => "EnableHealthAbuseRule",
            Rule::Ec2StateChange => "EnableEc2StateChangeRule",
            Rule::Alarm => "EnableAlarmRule",
        }
    }

    fn parse(s: &str) -> Option<Rule> {
        match s.trim().to_ascii_lowercase().as_str() {
            "health" => Some(Rule::Health),
            "health-abuse" | "abuse" => Some(Rule::HealthAbuse),
            "ec2" | "ec2-state-change" => Some(Rule::Ec2StateChange),
            "alarm" | "alarms" | "cloudwatch-alarm" => Some(Rule::Alarm),
            _ => None,
        }
    }
}

/// `health,alarm`, `all` or `none` → rules, in template order.
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
        let rule = Rule::parse(part).ok_or_else(|| {
            format!(
                "unknown rule `{}` (use health, health-abuse, ec2, alarm, all or none)",
                part.trim()
            )
        })?;
        if !rules.contains(&rule) {
            rules.push(rule);
        }
    }
    Ok(Rule::ALL
        .into_iter()
        .filter(|r| rules.contains(r))
        .collect())
}

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
    /// `None`: keep what the stored secret says (or nothing for a new one).
    pub at_mobiles: Option<Vec<String>>,
    pub at_all_on: Option<Vec<String>>,
    pub keyword: Option<String>,
    pub webhook_any_host: bool,
    /// The remembered artifact bucket (dingtalk-notifier.toml), if any.
    pub artifact_bucket: Option<String>,
    /// Permissions boundary ARN of the function role; empty = none.
    pub permissions_boundary: String,
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
        vec![
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
            ("DisplayTimeZone", self.time_zone.clone()),
            ("LlmEnabled", self.llm.to_string()),
            ("LlmModelId", self.llm_model_id.clone()),
            ("LlmRegion", self.llm_region.clone()),
            ("LlmSystemPrompt", self.llm_system_prompt.clone()),
            ("LlmMaxTokens", self.llm_max_tokens.to_string()),
            ("LlmTemperature", self.llm_temperature.to_string()),
            ("ExportPrefix", self.export_prefix.clone()),
        ]
    }

    /// What goes back into dingtalk-notifier.toml: no secrets by construction.
    pub fn to_config(&self, region: &str) -> ConfigFile {
        ConfigFile {
            stack_name: Some(self.stack_name.clone()),
            region: Some(region.to_string()),
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
                at_mobiles: self.at_mobiles.clone(),
                at_all_on: self.at_all_on.clone(),
                keyword: self.keyword.clone(),
                webhook_any_host: self.webhook_any_host.then_some(true),
                artifact_bucket: self.artifact_bucket.clone(),
                permissions_boundary: (!self.permissions_boundary.is_empty())
                    .then(|| self.permissions_boundary.clone()),
            },
        }
    }
}

// ---- validation (pure) ------------------------------------------------------

pub fn validate_stack_name(s: &str) -> Result<(), String> {
    let ok = s.len() <= 128
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(
            "a stack name starts with a letter and has only letters, digits and '-' (at most 128)"
                .into(),
        )
    }
}

/// Regions with Bedrock runtime (late 2025). Not exhaustive: an unknown
/// region only warns, since AWS adds regions.
const BEDROCK_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "ca-central-1",
    "ca-west-1",
    "sa-east-1",
    "mx-central-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ap-east-2",
    "me-central-1",
    "me-south-1",
    "il-central-1",
    "af-south-1",
];

pub fn is_known_bedrock_region(region: &str) -> bool {
    BEDROCK_REGIONS.contains(&region)
}

/// A model id (`amazon.nova-lite-v1:0`), an inference profile id
/// (`apac.amazon.nova-lite-v1:0`) or an ARN of either.
pub fn validate_model_id(s: &str) -> Result<(), String> {
    let err = || {
        format!(
            "`{s}` does not look like a Bedrock model id (e.g. amazon.nova-lite-v1:0, or an \
             inference profile such as apac.amazon.nova-lite-v1:0)"
        )
    };
    if s.starts_with("arn:") {
        return if s.contains(":bedrock:") && !s.contains(char::is_whitespace) {
            Ok(())
        } else {
            Err(err())
        };
    }
    let charset_ok = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
    let parts: Vec<&str> = s.split('.').collect();
    if charset_ok && parts.len() >= 2 && parts.iter().all(|p| !p.is_empty()) && s.len() <= 2048 {
        Ok(())
    } else {
        Err(err())
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

pub fn validate_time_zone(s: &str) -> Result<(), String> {
    s.parse::<chrono_tz::Tz>()
        .map(|_| ())
        .map_err(|_| format!("`{s}` is not an IANA time zone name (e.g. Asia/Shanghai, UTC)"))
}

pub fn validate_architecture(s: &str) -> Result<(), String> {
    match s {
        "arm64" | "x86_64" => Ok(()),
        _ => Err(format!("`{s}` is not an architecture: use arm64 or x86_64")),
    }
}

fn normalize_states(raw: &str, allowed: &[&str], what: &str, upper: bool) -> Result<String> {
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

const EC2_STATES: &[&str] = &[
    "pending",
    "running",
    "stopping",
    "stopped",
    "shutting-down",
    "terminated",
];
const ALARM_STATES: &[&str] = &["ALARM", "OK", "INSUFFICIENT_DATA"];
const LOG_RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

fn check(field: &str, r: Result<(), String>) -> Result<()> {
    r.map_err(|e| anyhow::anyhow!("invalid {field}: {e}"))
}

// ---- gathering answers ---------------------------------------------------------

/// The value given by flag/env, else by the config file.
fn given<T: Clone>(flag: &Option<T>, stored: &Option<T>) -> Option<T> {
    flag.clone().or_else(|| stored.clone())
}

fn split_list(v: Vec<String>) -> Vec<String> {
    v.into_iter()
        .flat_map(|s| {
            s.split(',')
                .map(|p| p.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// Resolves everything but the webhook and the region.
pub fn resolve_settings(
    ui: &Ui,
    args: &DeployArgs,
    cfg: &DeployConfig,
    stack_name: String,
    region: &str,
) -> Result<Settings> {
    let rules = match given(&args.rules, &cfg.rules.as_ref().map(|r| r.join(","))) {
        Some(s) => parse_rules(&s).map_err(|e| anyhow::anyhow!("invalid --rules: {e}"))?,
        None if ui.interactive => {
            let labels: Vec<&str> = Rule::ALL.iter().map(|r| r.label()).collect();
            let picked = prompt::choose_many(
                "Alerts to deliver (space toggles, enter accepts)",
                &labels,
                &[true; 4],
            )?;
            picked.into_iter().map(|i| Rule::ALL[i]).collect()
        }
        None => Rule::ALL.to_vec(),
    };
    if rules.is_empty() {
        ui.warn(
            "no rules enabled: only messages published to the topic directly will be delivered",
        );
    }

    let ec2_states = normalize_states(
        &given(&args.ec2_states, &cfg.ec2_states).unwrap_or_default(),
        EC2_STATES,
        "EC2 state",
        false,
    )?;
    let alarm_states = normalize_states(
        &given(&args.alarm_states, &cfg.alarm_states).unwrap_or_default(),
        ALARM_STATES,
        "alarm state",
        true,
    )?;

    let llm = match given(&args.llm, &cfg.llm) {
        Some(v) => v,
        None if ui.interactive => prompt::confirm(
            "Add a short Bedrock (LLM) summary to each alert? (alerts are sent even if it fails)",
            false,
        )?,
        None => false,
    };

    let llm_model_id = match given(&args.llm_model_id, &cfg.llm_model_id) {
        Some(v) => v,
        None if ui.interactive && llm => prompt::text(
            "Bedrock model or inference profile id",
            Some(DEFAULT_MODEL_ID),
            validate_model_id,
        )?,
        None => DEFAULT_MODEL_ID.to_string(),
    };
    check("LLM model id", validate_model_id(&llm_model_id))?;

    let llm_region = match given(&args.llm_region, &cfg.llm_region) {
        Some(v) => v,
        None if ui.interactive && llm => {
            prompt::text(&format!("Bedrock region (empty = {region})"), None, |s| {
                if s.is_empty() {
                    Ok(())
                } else {
                    validate_region(s)
                }
            })?
        }
        None => String::new(),
    };
    if !llm_region.is_empty() {
        check("Bedrock region", validate_region(&llm_region))?;
    }
    if llm {
        let effective = if llm_region.is_empty() {
            region
        } else {
            &llm_region
        };
        if !is_known_bedrock_region(effective) {
            ui.warn(format!(
                "Bedrock may not be available in {effective}; pass --llm-region with a Bedrock region"
            ));
        }
        ui.info(format!(
            "LLM summaries use {llm_model_id} in {effective}: enable the model under \
             \"Model access\" in the Bedrock console of that region, or alerts go out without a summary"
        ));
    }

    let llm_system_prompt_file =
        match given(&args.llm_system_prompt_file, &cfg.llm_system_prompt_file) {
            Some(p) => Some(p),
            None if ui.interactive && llm => {
                let p = prompt::text(
                    "File with a custom system prompt (empty = built-in prompt)",
                    None,
                    |s| {
                        if s.is_empty() || std::path::Path::new(s).is_file() {
                            Ok(())
                        } else {
                            Err(format!("no file at {s}"))
                        }
                    },
                )?;
                (!p.is_empty()).then(|| PathBuf::from(p))
            }
            None => None,
        };
    let llm_system_prompt = match &llm_system_prompt_file {
        Some(p) => prompt::read_text_file(p, "the system prompt")?
            .trim()
            .to_string(),
        None => String::new(),
    };
    if llm_system_prompt.len() > 4000 {
        bail!(
            "the system prompt is {} bytes; CloudFormation parameters hold at most 4000",
            llm_system_prompt.len()
        );
    }
    let llm_max_tokens = given(&args.llm_max_tokens, &cfg.llm_max_tokens).unwrap_or(400);
    if !(1..=10_000).contains(&llm_max_tokens) {
        bail!("invalid --llm-max-tokens: use 1..=10000");
    }
    let llm_temperature = given(&args.llm_temperature, &cfg.llm_temperature).unwrap_or(0.2);
    if !(0.0..=1.0).contains(&llm_temperature) {
        bail!("invalid --llm-temperature: use a number from 0 to 1");
    }

    let architecture = match given(&args.architecture, &cfg.architecture) {
        Some(v) => v,
        None if ui.interactive => {
            let items = ["arm64 (Graviton, cheaper)", "x86_64"];
            ["arm64", "x86_64"][prompt::choose("Function architecture", &items, 0)?].to_string()
        }
        None => "arm64".to_string(),
    };
    check("--arch", validate_architecture(&architecture))?;

    let memory = given(&args.memory, &cfg.memory).unwrap_or(256);
    if !(128..=10_240).contains(&memory) {
        bail!("invalid --memory {memory}: use 128..=10240 (MB)");
    }
    let timeout = given(&args.timeout, &cfg.timeout).unwrap_or(60);
    if !(1..=900).contains(&timeout) {
        bail!("invalid --timeout {timeout}: use 1..=900 (seconds)");
    }
    let reserved_concurrency =
        given(&args.reserved_concurrency, &cfg.reserved_concurrency).unwrap_or(-1);
    if reserved_concurrency < -1 {
        bail!("invalid --reserved-concurrency: use -1 (unreserved) or a count");
    }
    let log_retention = given(&args.log_retention, &cfg.log_retention).unwrap_or(30);
    if !LOG_RETENTION_DAYS.contains(&log_retention) {
        bail!(
            "invalid --log-retention {log_retention}: CloudWatch Logs accepts {}",
            LOG_RETENTION_DAYS
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let time_zone =
        given(&args.time_zone, &cfg.time_zone).unwrap_or_else(|| DEFAULT_TIME_ZONE.to_string());
    check("--time-zone", validate_time_zone(&time_zone))?;
    let export_prefix = given(&args.export_prefix, &cfg.export_prefix).unwrap_or_default();
    if !export_prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '_' | '.'))
    {
        bail!("invalid --export-prefix: use letters, digits, '-', ':', '_' and '.'");
    }

    let permissions_boundary = given(&args.permissions_boundary, &cfg.permissions_boundary)
        .unwrap_or_default()
        .trim()
        .to_string();
    check(
        "--permissions-boundary",
        validate_policy_arn(&permissions_boundary),
    )?;

    let at_mobiles = given(&args.at_mobiles, &cfg.at_mobiles).map(split_list);
    let at_all_on = given(&args.at_all_on, &cfg.at_all_on).map(split_list);
    let keyword = given(&args.keyword, &cfg.keyword).map(|k| k.trim().to_string());

    Ok(Settings {
        stack_name,
        rules,
        ec2_states,
        alarm_states,
        llm,
        llm_model_id,
        llm_region,
        llm_system_prompt_file,
        llm_system_prompt,
        llm_max_tokens,
        llm_temperature,
        architecture,
        memory,
        timeout,
        reserved_concurrency,
        log_retention,
        time_zone,
        export_prefix,
        at_mobiles,
        at_all_on,
        keyword,
        webhook_any_host: given(&args.webhook_any_host, &cfg.webhook_any_host).unwrap_or(false),
        artifact_bucket: cfg.artifact_bucket.clone(),
        permissions_boundary,
    })
}

/// Where the webhook for this deploy comes from.
enum Webhook {
    /// Keep the stored secret's webhook (and signing secret).
    Keep,
    /// A new webhook; `secret: None` with `secret_asked == false` means "keep
    /// the stored signing secret if the webhook did not change".
    New {
        url: String,
        secret: Option<String>,
        secret_asked: bool,
    },
}

fn missing(what: &str, flag: &str, env: &str) -> anyhow::Error {
    anyhow::anyhow!("missing {what}: pass {flag} or set {env}")
}

fn resolve_webhook(
    ui: &Ui,
    args: &DeployArgs,
    existing: Option<&ExistingSecret>,
    any_host: bool,
) -> Result<Webhook> {
    let secret_from_flag = match &args.signing_secret {
        Some(s) if !s.trim().is_empty() => {
            check(
                "signing secret (--secret / DINGTALK_SECRET)",
                secret::validate_signing_secret(s),
            )?;
            Some(s.trim().to_string())
        }
        _ => None,
    };
    if let Some(url) = args.webhook_url.as_deref().filter(|u| !u.trim().is_empty()) {
        check(
            "webhook URL (--webhook-url / DINGTALK_WEBHOOK_URL)",
            secret::validate_webhook_url(url, any_host),
        )?;
        return Ok(Webhook::New {
            url: url.trim().to_string(),
            secret: secret_from_flag,
            secret_asked: false,
        });
    }
    if existing.is_some() {
        let keep = if ui.interactive {
            prompt::confirm("Webhook: keep the stored one?", true)?
        } else {
            true
        };
        if keep {
            if !ui.interactive {
                ui.info("Webhook: keeping the stored one (set DINGTALK_WEBHOOK_URL to replace it)");
            }
            if secret_from_flag.is_some() {
                bail!("--secret / DINGTALK_SECRET needs the webhook too: pass --webhook-url or set DINGTALK_WEBHOOK_URL");
            }
            return Ok(Webhook::Keep);
        }
    }
    if !ui.interactive {
        return Err(missing(
            "webhook URL",
            "--webhook-url",
            "DINGTALK_WEBHOOK_URL",
        ));
    }
    let url = prompt::secret("DingTalk robot webhook URL (input hidden)", false, |s| {
        secret::validate_webhook_url(s, any_host)
    })?;
    let secret = match secret_from_flag {
        Some(s) => Some(s),
        None => {
            let s = prompt::secret(
                "Robot signing secret, SEC... (input hidden; empty = the robot does not sign)",
                true,
                secret::validate_signing_secret,
            )?;
            (!s.is_empty()).then_some(s)
        }
    };
    Ok(Webhook::New {
        url,
        secret,
        secret_asked: true,
    })
}

/// The secret value to store, from the stored one (if any) and this run.
/// Takes the stored value by value so `WebhookConfig` needs no `Clone`.
fn desired_secret(
    webhook: &Webhook,
    stored: Option<WebhookConfig>,
    settings: &Settings,
) -> Result<WebhookConfig> {
    let mut cfg = match (webhook, stored) {
        (Webhook::Keep, Some(s)) => s,
        (Webhook::Keep, None) => bail!(
            "the stored webhook secret could not be read as a webhook; pass --webhook-url or set DINGTALK_WEBHOOK_URL to replace it"
        ),
        (
            Webhook::New {
                url,
                secret,
                secret_asked,
            },
            Some(old),
        ) => {
            let secret = match secret {
                Some(s) => Some(s.clone()),
                // Same webhook given again without a secret: keep the stored signing secret.
                None if !secret_asked && old.webhook == *url => old.secret,
                None => None,
            };
            WebhookConfig {
                webhook: url.clone(),
                secret,
                at_mobiles: old.at_mobiles,
                at_all_on: old.at_all_on,
                keyword: old.keyword,
            }
        }
        (Webhook::New { url, secret, .. }, None) => WebhookConfig {
            webhook: url.clone(),
            secret: secret.clone(),
            at_mobiles: Vec::new(),
            at_all_on: Vec::new(),
            keyword: None,
        },
    };
    if let Some(v) = &settings.at_mobiles {
        cfg.at_mobiles = v.clone();
    }
    if let Some(v) = &settings.at_all_on {
        cfg.at_all_on = v.clone();
    }
    if let Some(k) = &settings.keyword {
        cfg.keyword = (!k.is_empty()).then(|| k.clone());
    }
    Ok(cfg)
}

// ---- the command -----------------------------------------------------------------

pub async fn run(global: &GlobalArgs, ui: &Ui, args: &DeployArgs) -> Result<()> {
    let cfg_path = config::default_path();
    let cfg = config::load(&cfg_path)?.unwrap_or_default();

    if args.webhook_url.is_some() && std::env::var_os("DINGTALK_WEBHOOK_URL").is_none() {
        ui.warn("--webhook-url on the command line ends up in your shell history; prefer DINGTALK_WEBHOOK_URL or the prompt");
    }
    if args.signing_secret.is_some() && std::env::var_os("DINGTALK_SECRET").is_none() {
        ui.warn("--secret on the command line ends up in your shell history; prefer DINGTALK_SECRET or the prompt");
    }

    // Stack name and region first: the secret lookup needs both.
    let stack_name = match given(&global.stack_name, &cfg.stack_name) {
        Some(s) => s,
        None if ui.interactive => {
            prompt::text("Stack name", Some(DEFAULT_STACK_NAME), validate_stack_name)?
        }
        None => DEFAULT_STACK_NAME.to_string(),
    };
    check("stack name", validate_stack_name(&stack_name))?;

    let aws = connect(global, cfg.region.clone(), ui.interactive).await?;
    let region = aws.region().unwrap_or_default().to_string();
    ui.step(format!(
        "Deploying stack {} to {region}",
        ui.bold(&stack_name)
    ));

    let existing_secret = secret::find(&aws, &stack_name).await?;
    if let Some(s) = &existing_secret {
        s.ensure_usable(&stack_name)?;
        if !s.owned_by(&stack_name) {
            bail!(
                "a secret named {} exists but is not tagged as belonging to stack {stack_name}; \
                 delete it or choose another --stack-name",
                secret::secret_name(&stack_name)
            );
        }
    }
    let any_host = given(&args.webhook_any_host, &cfg.deploy.webhook_any_host).unwrap_or(false);
    let webhook = resolve_webhook(ui, args, existing_secret.as_ref(), any_host)?;
    let mut settings = resolve_settings(ui, args, &cfg.deploy, stack_name.clone(), &region)?;
    let unsigned = matches!(
        webhook,
        Webhook::New {
            secret: None,
            secret_asked: true,
            ..
        }
    );
    if unsigned && settings.keyword.is_none() {
        // A robot must have a security setting; without signing it is usually a keyword.
        let k = prompt::text(
            "Robot keyword, if its security setting is a custom keyword (empty = none)",
            None,
            |_| Ok(()),
        )?;
        settings.keyword = Some(k);
    }

    if !ui.interactive && !ui.assume_yes {
        bail!("deploy changes your AWS account and needs a confirmation: pass --yes to deploy without a terminal");
    }

    config::save(&cfg_path, &settings.to_config(&region))?;
    ui.info(format!(
        "Answers saved to {} (no secrets)",
        cfg_path.display()
    ));

    // The stack as it is now.
    let mut current = stack::describe(&aws, &stack_name).await?;
    if let Some(s) = &current {
        if !s.is_ours() && s.status != "REVIEW_IN_PROGRESS" {
            bail!("the stack {stack_name} exists but was not created by dingtalk-notifier (no app=dingtalk-notifier tag); choose another --stack-name");
        }
        match s.status.as_str() {
            "ROLLBACK_COMPLETE" => {
                recreate_failed_stack(&aws, ui, s).await?;
                current = None;
            }
            status if stack::phase(status) == Phase::InProgress && status != "REVIEW_IN_PROGRESS" => bail!(
                "the stack {stack_name} is busy ({status}); run `dingtalk-notifier status` to follow it and deploy again once it settles"
            ),
            "ROLLBACK_FAILED" | "DELETE_FAILED" | "UPDATE_ROLLBACK_FAILED" => bail!(
                "the stack {stack_name} is {}; fix it in the CloudFormation console or run `dingtalk-notifier destroy`",
                s.status
            ),
            _ => {}
        }
    }
    let create = current
        .as_ref()
        .is_none_or(|s| s.status == "REVIEW_IN_PROGRESS");

    // Function code.
    let artifact = obtain_artifact(ui, args, &settings).await?;
    ui.step("Uploading the function");
    let uploaded =
        artifacts::ensure_uploaded(&aws, &artifact, settings.artifact_bucket.as_deref()).await?;
    if let Some(taken) = &uploaded.taken {
        ui.warn(format!(
            "the bucket {taken} belongs to another AWS account; using {} instead",
            uploaded.bucket
        ));
        settings.artifact_bucket = Some(uploaded.bucket.clone());
        config::save(&cfg_path, &settings.to_config(&region))?;
        ui.info(format!(
            "{} remembered in {}",
            uploaded.bucket,
            cfg_path.display()
        ));
    }
    ui.info(if uploaded.uploaded {
        format!("uploaded s3://{}/{}", uploaded.bucket, uploaded.key)
    } else {
        format!("already in s3://{}/{}", uploaded.bucket, uploaded.key)
    });

    // The secret must exist before the stack: its ARN is a parameter.
    let stored_value = match &existing_secret {
        Some(s) => secret::read_value(&aws, &s.arn).await?,
        None => None,
    };
    let stored_cfg = stored_value
        .as_deref()
        .and_then(|v| WebhookConfig::parse(v).ok());
    let desired = desired_secret(&webhook, stored_cfg, &settings)?;
    let desired_value = desired.to_secret_string();
    let (secret_arn, secret_created, secret_needs_update) = match &existing_secret {
        Some(s) => (
            s.arn.clone(),
            false,
            stored_value.as_deref() != Some(desired_value.as_str()),
        ),
        None => {
            ui.step("Storing the webhook in Secrets Manager");
            let arn = secret::create(&aws, &stack_name, &desired_value).await?;
            ui.info(format!("created {}", secret::secret_name(&stack_name)));
            (arn, true, false)
        }
    };

    ui.step(if create {
        "Creating a change set (new stack)"
    } else {
        "Creating a change set"
    });
    let parameters = settings.parameters(&uploaded.bucket, &uploaded.key, &secret_arn);
    let change_set = stack::create_change_set(
        &aws,
        &ChangeSetRequest {
            stack_name: &stack_name,
            create,
            parameters: &parameters,
            current_parameters: current.as_ref().map(|s| &s.parameters),
        },
    )
    .await;
    let change_set = match change_set {
        Ok(c) => c,
        Err(e) => {
            if secret_created {
                secret::force_delete(&aws, &secret_arn).await.ok();
            }
            return Err(e);
        }
    };

    let mut stack_updated = false;
    let secret_updated;
    match change_set {
        ChangeSet::NoChanges => {
            if secret_needs_update {
                if !confirm_plan(ui, "", true)? {
                    bail!("cancelled: nothing was changed");
                }
                secret::put_value(&aws, &secret_arn, &desired_value).await?;
                ui.success("Webhook secret updated.");
            }
            secret_updated = secret_needs_update;
            ui.success(format!("Stack {stack_name} is up to date."));
        }
        ChangeSet::Ready { id, changes } => {
            if !ui.quiet {
                eprintln!("Changes to stack {stack_name}:");
                if changes.is_empty() {
                    eprintln!("  parameters only (no resource is added, modified or removed)");
                } else {
                    eprint!("{}", stack::render_changes(&changes));
                }
            }
            if !confirm_plan(ui, &id, secret_needs_update)? {
                stack::delete_change_set(&aws, &id).await.ok();
                if create {
                    if let Some(s) = stack::describe(&aws, &stack_name).await? {
                        if s.status == "REVIEW_IN_PROGRESS" {
                            stack::delete_stack(&aws, &s.id).await.ok();
                        }
                    }
                }
                if secret_created {
                    secret::force_delete(&aws, &secret_arn).await.ok();
                }
                bail!("cancelled: nothing was deployed");
            }
            let stack_id = stack::describe(&aws, &stack_name)
                .await?
                .map(|s| s.id)
                .unwrap_or_else(|| stack_name.clone());
            let marker = stack::latest_event_id(&aws, &stack_id).await.ok().flatten();
            stack::execute_change_set(&aws, &id).await?;
            let doing = if create { "Creating" } else { "Updating" };
            let done = stack::wait(&aws, ui, &stack_id, &stack_name, marker.clone(), doing).await?;
            if stack::phase(&done.status) != Phase::Succeeded {
                report_failures(&aws, &stack_id, marker.as_deref()).await;
                if done.status == "ROLLBACK_COMPLETE" {
                    bail!(
                        "deploy failed: stack {stack_name} is ROLLBACK_COMPLETE (nothing was kept); \
                         fix the cause and run deploy again, it will offer to delete the failed stack"
                    );
                }
                bail!(
                    "deploy failed: stack {stack_name} is {}{}",
                    done.status,
                    if secret_needs_update {
                        "; the stored webhook was not changed"
                    } else {
                        ""
                    }
                );
            }
            // Only now: a failed or rolled-back update must leave the old
            // webhook live with the old stack.
            if secret_needs_update {
                secret::put_value(&aws, &secret_arn, &desired_value).await?;
                ui.info("webhook secret updated");
            }
            secret_updated = secret_needs_update;
            stack_updated = true;
            ui.success(format!(
                "Stack {stack_name} {}.",
                if create { "created" } else { "updated" }
            ));
        }
    }

    let final_state = stack::describe(&aws, &stack_name)
        .await?
        .with_context(|| format!("the stack {stack_name} is missing after deploy"))?;
    let function = crate::commands::status::function_name(&aws, &final_state)
        .await?
        .with_context(|| format!("the stack {stack_name} has no function to check"))?;
    crate::aws::function_code::verify(&aws, &function, &artifact.sha256).await?;
    print_result(
        ui,
        &final_state,
        &region,
        &artifact,
        &uploaded,
        &secret_arn,
        secret_created,
        secret_updated,
        stack_updated,
    );
    Ok(())
}

/// Asks before changing anything; `--yes` answers for the user.
fn confirm_plan(ui: &Ui, _change_set: &str, secret_changes: bool) -> Result<bool> {
    if secret_changes && !ui.quiet {
        eprintln!("  ~ the webhook secret's value changes");
    }
    if ui.assume_yes {
        return Ok(true);
    }
    if !ui.interactive {
        bail!("deploy needs a confirmation: pass --yes to deploy without a terminal");
    }
    prompt::confirm("Deploy these changes?", true)
}

/// A first create that failed leaves a ROLLBACK_COMPLETE stack that can only
/// be deleted; offer that, then create afresh.
async fn recreate_failed_stack(aws: &Aws, ui: &Ui, s: &StackInfo) -> Result<()> {
    ui.warn(format!(
        "stack {} is ROLLBACK_COMPLETE: its first create failed and it holds no resources",
        s.name
    ));
    if ui.assume_yes {
        ui.info("--yes: deleting it and creating it again");
    } else if !prompt::confirm("Delete the failed stack and create it again?", true)? {
        bail!("cancelled: the stack {} is still ROLLBACK_COMPLETE", s.name);
    }
    let marker = stack::latest_event_id(aws, &s.id).await.ok().flatten();
    stack::delete_stack(aws, &s.id).await?;
    let done = stack::wait(aws, ui, &s.id, &s.name, marker, "Deleting").await?;
    if done.status != "DELETE_COMPLETE" {
        bail!(
            "could not delete the failed stack {}: {}",
            s.name,
            done.status
        );
    }
    Ok(())
}

async fn report_failures(aws: &Aws, stack_id: &str, marker: Option<&str>) {
    match stack::failures(aws, stack_id, marker, 5).await {
        Ok(lines) if !lines.is_empty() => {
            eprintln!("Failed resources:");
            for l in lines {
                eprintln!("  {l}");
            }
        }
        _ => {}
    }
}

async fn obtain_artifact(
    ui: &Ui,
    args: &DeployArgs,
    settings: &Settings,
) -> Result<build::Artifact> {
    if let Some(path) = &args.artifact {
        ui.step(format!("Using the function zip {}", path.display()));
        return build::artifact_from_zip(path);
    }
    ui.step(format!("Building the function ({})", settings.architecture));
    let arch: build::Arch = settings
        .architecture
        .parse()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let artifact =
        build::ensure_artifact(&build::BuildRequest::new(arch, args.force_build)).await?;
    ui.info(if artifact.rebuilt {
        "built"
    } else {
        "unchanged since the last build (cached)"
    });
    Ok(artifact)
}

#[allow(clippy::too_many_arguments)]
fn print_result(
    ui: &Ui,
    s: &StackInfo,
    region: &str,
    artifact: &build::Artifact,
    uploaded: &artifacts::Uploaded,
    secret_arn: &str,
    secret_created: bool,
    secret_updated: bool,
    stack_updated: bool,
) {
    if ui.json {
        let doc = json!({
            "stack": s.name,
            "region": region,
            "status": s.status,
            "updated": stack_updated,
            "outputs": s.outputs,
            "artifact": {
                "sha256": artifact.sha256,
                "size": artifact.size,
                "rebuilt": artifact.rebuilt,
                "uploaded": uploaded.uploaded,
                "bucket": uploaded.bucket,
                "key": uploaded.key,
            },
            "secret": {
                "arn": secret_arn,
                "created": secret_created,
                "updated": secret_updated,
            },
        });
        println!("{doc:#}");
        return;
    }
    if ui.quiet {
        return;
    }
    let rows: Vec<(String, String)> = outputs_rows(&s.outputs);
    if !rows.is_empty() {
        println!("{}", table(&rows).trim_end());
    }
}

pub fn outputs_rows(outputs: &BTreeMap<String, String>) -> Vec<(String, String)> {
    outputs
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
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
            at_mobiles: None,
            at_all_on: None,
            keyword: None,
            webhook_any_host: false,
            artifact_bucket: None,
            permissions_boundary: String::new(),
        }
    }

    #[test]
    fn defaults_then_file_then_flags() {
        let ui = Ui::for_tests();
        let none = DeployArgs::default();
        let got = resolve_settings(
            &ui,
            &none,
            &DeployConfig::default(),
            "alerts".into(),
            "ap-southeast-1",
        )
        .unwrap();
        let mut want = settings();
        want.rules = Rule::ALL.to_vec();
        want.alarm_states = String::new();
        assert_eq!(got, want);

        let file = DeployConfig {
            memory: Some(512),
            rules: Some(vec!["alarm".into()]),
            time_zone: Some("UTC".into()),
            ..DeployConfig::default()
        };
        let got = resolve_settings(&ui, &none, &file, "alerts".into(), "ap-southeast-1").unwrap();
        assert_eq!(
            (got.memory, got.rules.clone(), got.time_zone.as_str()),
            (512, vec![Rule::Alarm], "UTC")
        );

        let flags = DeployArgs {
            memory: Some(1024),
            rules: Some("none".into()),
            ..DeployArgs::default()
        };
        let got = resolve_settings(&ui, &flags, &file, "alerts".into(), "ap-southeast-1").unwrap();
        assert_eq!(
            (got.memory, got.rules.len(), got.time_zone.as_str()),
            (1024, 0, "UTC")
        );

        let bad = DeployArgs {
            log_retention: Some(31),
            ..DeployArgs::default()
        };
        let err =
            resolve_settings(&ui, &bad, &file, "alerts".into(), "ap-southeast-1").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid --log-retention 31: CloudWatch Logs accepts 1, 3, 5,"),
            "{err}"
        );
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
            "unknown rule `foo` (use health, health-abuse, ec2, alarm, all or none)"
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
                "DisplayTimeZone",
                "LlmEnabled",
                "LlmModelId",
                "LlmRegion",
                "LlmSystemPrompt",
                "LlmMaxTokens",
                "LlmTemperature",
                "ExportPrefix"
            ]
        );
        let get = |k: &str| p.iter().find(|(key, _)| *key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("EnableHealthAbuseRule"), Some("false"));
        assert_eq!(get("EnableAlarmRule"), Some("true"));
        assert_eq!(get("LlmTemperature"), Some("0.2"));
        assert_eq!(get("ReservedConcurrency"), Some("-1"));
    }

    #[test]
    fn validations() {
        assert!(validate_model_id("amazon.nova-lite-v1:0").is_ok());
        assert!(validate_model_id("apac.amazon.nova-lite-v1:0").is_ok());
        assert!(validate_model_id(
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"
        )
        .is_ok());
        assert!(validate_model_id("nova lite").is_err());
        assert!(validate_model_id("nova").is_err());
        assert!(validate_policy_arn("").is_ok());
        assert!(validate_policy_arn(
            "arn:aws-cn:iam::123456789012:policy/dingtalk-notifier/dingtalk-notifier-function-boundary"
        )
        .is_ok());
        assert!(validate_policy_arn("arn:aws:iam::123456789012:role/x").is_err());
        assert!(validate_policy_arn("dingtalk-notifier-function-boundary").is_err());
        assert!(validate_time_zone("Asia/Shanghai").is_ok());
        assert_eq!(
            validate_time_zone("Asia/Beijing").unwrap_err(),
            "`Asia/Beijing` is not an IANA time zone name (e.g. Asia/Shanghai, UTC)"
        );
        assert!(validate_region("ap-southeast-1").is_ok());
        assert!(validate_region("us-gov-west-1").is_ok());
        assert!(validate_region("Singapore").is_err());
        assert!(validate_stack_name("dingtalk-notifier").is_ok());
        assert!(validate_stack_name("1abc").is_err());
        assert!(validate_stack_name("a_b").is_err());
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
    fn config_never_holds_secrets() {
        let text = config::render(&settings().to_config("ap-southeast-1")).unwrap();
        assert!(!text.contains("webhook ="));
        assert!(!text.contains("access_token"));
        assert!(text.contains("stack_name = \"alerts\""));
    }

    fn stored() -> WebhookConfig {
        WebhookConfig {
            webhook: "https://oapi.dingtalk.com/robot/send?access_token=old".into(),
            secret: Some("SECold".into()),
            at_mobiles: vec!["1".into()],
            at_all_on: vec![],
            keyword: None,
        }
    }

    #[test]
    fn keeping_the_webhook_keeps_secret_and_applies_options() {
        let mut s = settings();
        s.keyword = Some("告警".into());
        let got = desired_secret(&Webhook::Keep, Some(stored()), &s).unwrap();
        assert_eq!(got.webhook, stored().webhook);
        assert_eq!(got.secret.as_deref(), Some("SECold"));
        assert_eq!(got.at_mobiles, vec!["1".to_string()]);
        assert_eq!(got.keyword.as_deref(), Some("告警"));
    }

    #[test]
    fn same_webhook_from_env_keeps_signing_secret_new_one_drops_it() {
        let same = Webhook::New {
            url: stored().webhook,
            secret: None,
            secret_asked: false,
        };
        assert_eq!(
            desired_secret(&same, Some(stored()), &settings())
                .unwrap()
                .secret
                .as_deref(),
            Some("SECold")
        );
        let other = Webhook::New {
            url: "https://oapi.dingtalk.com/robot/send?access_token=new".into(),
            secret: None,
            secret_asked: false,
        };
        assert_eq!(
            desired_secret(&other, Some(stored()), &settings())
                .unwrap()
                .secret,
            None
        );
    }
}
