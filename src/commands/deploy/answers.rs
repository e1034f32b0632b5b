//! Gathering a deploy's answers. Each value comes from the first of: a flag,
//! its environment variable (clap reads both), dingtalk-notifier.toml, a
//! prompt at a terminal, the default. Validation happens here, so a bad value
//! stops the deploy before anything is changed.

use std::path::PathBuf;

use anyhow::{bail, Result};

use super::queue_timing;
use super::settings::{
    parse_rules, Rule, Settings, DEFAULT_MODEL_ID, DEFAULT_STACK_NAME, DEFAULT_TIME_ZONE,
};
use super::validate::{
    check, check_against_template, normalize_states, validate_architecture, validate_model_id,
    validate_ops_email, validate_policy_arn, validate_reserved_concurrency, validate_stack_name,
    validate_time_zone, ALARM_STATES, DEFAULT_EC2_STATES, EC2_STATES, LOG_RETENTION_DAYS,
};
use dingtalk_notifier_lambda::config::LLM_MAX_TOKENS_RANGE;
use dingtalk_notifier_lambda::model_id::{default_llm_region, partition};

use crate::aws::bedrock;
use crate::aws::connect::validate_region;
use crate::aws::secret::{self, ExistingSecret};
use crate::cli::{DeployArgs, GlobalArgs};
use crate::config::{self, ConfigFile, DeployConfig};
use crate::regions::{global_events_region, RegionsSpec};
use crate::robot_security::{self, RobotSecurity};
use crate::term::output::Ui;
use crate::term::prompt;

/// Everything the user decided for this deploy.
pub struct Answers {
    pub webhook: Webhook,
    pub settings: Settings,
    /// The named robots to write into the secret (`robots::gather`), filled
    /// once the stored secret has been read.
    pub robots: std::collections::BTreeMap<String, dingtalk_notifier_lambda::secret::WebhookConfig>,
}

/// Where the webhook for this deploy comes from.
pub enum Webhook {
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

/// The stack name comes first: the secret lookup needs it.
pub fn stack_name(ui: &Ui, global: &GlobalArgs, cfg: &ConfigFile) -> Result<String> {
    let stack_name = match given(&global.stack_name, &cfg.stack_name) {
        Some(s) => s,
        None if ui.interactive => {
            prompt::text("Stack name", Some(DEFAULT_STACK_NAME), validate_stack_name)?
        }
        None => DEFAULT_STACK_NAME.to_string(),
    };
    check("stack name", validate_stack_name(&stack_name))?;
    Ok(stack_name)
}

/// `--regions` (or `DINGTALK_NOTIFIER_REGIONS`), else the remembered list,
/// else, on a first deploy at a terminal, a question; else the home region
/// only. A deploy with remembered answers and no list stays home-only, as it
/// was deployed.
pub fn regions(
    ui: &Ui,
    args: &DeployArgs,
    cfg: &ConfigFile,
    home: &str,
    health: bool,
) -> Result<RegionsSpec> {
    match (&args.regions, &cfg.regions) {
        (Some(flag), _) => RegionsSpec::parse(flag),
        (None, Some(remembered)) => RegionsSpec::from_config(remembered),
        (None, None) if ui.interactive && cfg.stack_name.is_none() => {
            for line in regions_note(home, health) {
                ui.info(line);
            }
            let answer = prompt::text(
                &format!(
                    "Other regions to watch (comma-separated, `all`, or empty for {home} only)"
                ),
                None,
                |s| RegionsSpec::parse(s).map(|_| ()).map_err(|e| e.to_string()),
            )?;
            RegionsSpec::parse(&answer)
        }
        (None, None) => Ok(RegionsSpec::HomeOnly),
    }
}

/// What the regions question needs known: rules see one region, and where
/// AWS Health's global events arrive.
fn regions_note(home: &str, health: bool) -> Vec<String> {
    let global = global_events_region(partition(home));
    let mut lines = vec![format!(
        "EventBridge rules see only their own region: every other region you name gets a \
         forwarder (rules and one role, no function) that sends its events to {home}."
    )];
    if health && home != global {
        lines.push(format!(
            "AWS Health's global events (IAM and other global services) arrive only in \
             {global}: with the Health rule on, {global} is added whenever you name another \
             region; with {home} alone they are not delivered."
        ));
    }
    lines
}

/// The webhook (with the robot's security setting), then the settings, then
/// what that security setting needs (a keyword robot's keyword).
pub fn gather(
    ui: &Ui,
    args: &DeployArgs,
    cfg: &ConfigFile,
    stack_name: String,
    region: &str,
    existing: Option<&ExistingSecret>,
) -> Result<Answers> {
    let any_host = given(&args.webhook_any_host, &cfg.deploy.webhook_any_host).unwrap_or(false);
    let security = resolve_robot_security(args, &cfg.deploy)?;
    let (webhook, security) = resolve_webhook(ui, args, existing, any_host, security)?;
    let mut settings = resolve_settings(ui, args, &cfg.deploy, stack_name, region)?;
    settings.robot_security = security;
    ask_what_the_security_setting_needs(ui, &mut settings)?;
    let routes = crate::routes::read(cfg)
        .map_err(|e| anyhow::anyhow!("{}: {e}", crate::config::FILE_NAME))?;
    let room = crate::routes::room(&sized_parameters(&settings, region));
    (settings.routes, settings.secret_routes) = crate::routes::parameter(&routes, room);
    let first_deploy = cfg.stack_name.is_none();
    if ui.interactive && first_deploy && args.ops_email.is_none() && cfg.deploy.ops_email.is_none()
    {
        settings.ops_email = ask_ops_email(ui)?;
    }
    Ok(Answers {
        webhook,
        settings,
        robots: Default::default(),
    })
}

/// What a first deploy at a terminal says when no ops e-mail is given.
pub const NO_OPS_EMAIL_WARNING: &str = "no ops e-mail: nobody will hear of the notifier's own \
     failures (a dead robot, alerts in the dead-letter queue); add one with `deploy --ops-email`";

/// The ops e-mail on a first deploy: the ops alarms (dead robot, dead
/// letters, function errors) tell no one without a subscriber.
fn ask_ops_email(ui: &Ui) -> Result<String> {
    let email = prompt::text(
        "Ops e-mail for the notifier's own alarms (empty for none)",
        None,
        validate_ops_email,
    )?;
    if email.is_empty() {
        ui.warn(NO_OPS_EMAIL_WARNING);
    }
    Ok(email)
}

/// The robot's security setting given by flag/env, else the config file;
/// `resolve_webhook` asks for it with a new webhook.
fn resolve_robot_security(args: &DeployArgs, cfg: &DeployConfig) -> Result<Option<RobotSecurity>> {
    match (args.robot_security, &cfg.robot_security) {
        (Some(s), _) => Ok(Some(s)),
        (None, Some(s)) => s
            .parse()
            .map(Some)
            .map_err(|e| anyhow::anyhow!("invalid robot_security in the config file: {e}")),
        (None, None) => Ok(None),
    }
}

/// After the webhook: a keyword for a keyword robot (asked, or an error
/// without a terminal), a warning for an IP allow-list.
fn ask_what_the_security_setting_needs(ui: &Ui, settings: &mut Settings) -> Result<()> {
    match settings.robot_security {
        Some(RobotSecurity::Keywords) if settings.keyword.as_deref().is_none_or(str::is_empty) => {
            if !ui.interactive {
                return Err(missing(
                    "keyword for a keyword robot",
                    "--keyword",
                    "DINGTALK_KEYWORD",
                ));
            }
            let k = prompt::text(
                "One of the robot's custom keywords (every message will contain it)",
                None,
                |s| {
                    if s.trim().is_empty() {
                        Err("a keyword robot refuses messages without one of its keywords".into())
                    } else {
                        Ok(())
                    }
                },
            )?;
            settings.keyword = Some(k.trim().to_string());
        }
        Some(RobotSecurity::IpAllowList) => ui.warn(robot_security::IP_ALLOW_LIST_WARNING),
        _ => {}
    }
    Ok(())
}

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
    let rules = resolve_rules(ui, args, cfg)?;
    let ec2_states = normalize_states(
        &given(&args.ec2_states, &cfg.ec2_states).unwrap_or_else(|| DEFAULT_EC2_STATES.to_string()),
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
    let llm = resolve_llm(ui, args, cfg, region)?;
    let function = resolve_function(ui, args, cfg)?;
    let time_zone =
        given(&args.time_zone, &cfg.time_zone).unwrap_or_else(|| DEFAULT_TIME_ZONE.to_string());
    check("--time-zone", validate_time_zone(&time_zone))?;
    // Checked with every other parameter against the template's constraints.
    let export_prefix = given(&args.export_prefix, &cfg.export_prefix).unwrap_or_default();

    let permissions_boundary = given(&args.permissions_boundary, &cfg.permissions_boundary)
        .unwrap_or_default()
        .trim()
        .to_string();
    check(
        "--permissions-boundary",
        validate_policy_arn(&permissions_boundary),
    )?;
    let ops_email = given(&args.ops_email, &cfg.ops_email)
        .unwrap_or_default()
        .trim()
        .to_string();
    check("--ops-email", validate_ops_email(&ops_email))?;
    // Checked against the template's own pattern with the other parameters.
    let kms_key = given(&args.kms_key, &cfg.kms_key)
        .unwrap_or_default()
        .trim()
        .to_string();

    let settings = Settings {
        stack_name,
        rules,
        ec2_states,
        alarm_states,
        llm: llm.enabled,
        llm_model_id: llm.model_id,
        llm_region: llm.region,
        llm_system_prompt_file: llm.system_prompt_file,
        llm_system_prompt: llm.system_prompt,
        llm_max_tokens: llm.max_tokens,
        llm_temperature: llm.temperature,
        architecture: function.architecture,
        memory: function.memory,
        timeout: function.timeout,
        reserved_concurrency: function.reserved_concurrency,
        log_retention: function.log_retention,
        time_zone,
        export_prefix,
        batch_window: queue_timing::default_batch_window()?,
        debug_logs: given(&args.debug_logs, &cfg.debug_logs).unwrap_or(false),
        robot_security: None,
        at_mobiles: given(&args.at_mobiles, &cfg.at_mobiles).map(split_list),
        at_all_on: given(&args.at_all_on, &cfg.at_all_on).map(split_list),
        keyword: given(&args.keyword, &cfg.keyword).map(|k| k.trim().to_string()),
        webhook_any_host: given(&args.webhook_any_host, &cfg.webhook_any_host).unwrap_or(false),
        artifact_bucket: cfg.artifact_bucket.clone(),
        permissions_boundary,
        ops_email,
        kms_key,
        account_names: String::new(),
        routes: String::new(),
        secret_routes: None,
    };
    check_parameters(&settings, region)?;
    Ok(settings)
}

/// The parameters with values of their deployed sizes: the secret's ARN is
/// only known later; this one has its exact length.
pub fn sized_parameters(settings: &Settings, region: &str) -> Vec<(&'static str, String)> {
    let arn = format!(
        "arn:{}:secretsmanager:{region}:123456789012:secret:{}-AbCdEf",
        partition(region),
        secret::secret_name(&settings.stack_name)
    );
    settings.parameters("", "", &arn)
}

/// The parameters as CloudFormation and Lambda will see them: within the
/// template's constraints, and an environment under Lambda's 4 KB.
fn check_parameters(settings: &Settings, region: &str) -> Result<()> {
    let parameters = sized_parameters(settings, region);
    check_against_template(
        &parameters
            .iter()
            .filter(|(p, _)| !["ArtifactBucket", "ArtifactKey"].contains(p))
            .cloned()
            .collect::<Vec<_>>(),
    )?;
    bedrock::check_environment(&parameters)
}

fn resolve_rules(ui: &Ui, args: &DeployArgs, cfg: &DeployConfig) -> Result<Vec<Rule>> {
    let rules = match given(&args.rules, &cfg.rules.as_ref().map(|r| r.join(","))) {
        Some(s) => parse_rules(&s).map_err(|e| anyhow::anyhow!("invalid --rules: {e}"))?,
        None if ui.interactive => {
            let labels: Vec<&str> = Rule::ALL.iter().map(|r| r.label()).collect();
            let defaults: Vec<bool> = Rule::ALL.iter().map(|r| r.is_default()).collect();
            let picked = prompt::choose_many(
                "Alerts to deliver (space toggles, enter accepts)",
                &labels,
                &defaults,
            )?;
            picked.into_iter().map(|i| Rule::ALL[i]).collect()
        }
        None => Rule::DEFAULT.to_vec(),
    };
    if rules.is_empty() {
        ui.warn(
            "no rules enabled: only messages published to the topic directly will be delivered",
        );
    }
    Ok(rules)
}

/// The Bedrock summary's answers.
struct Llm {
    enabled: bool,
    model_id: String,
    region: String,
    system_prompt_file: Option<PathBuf>,
    system_prompt: String,
    max_tokens: u32,
    temperature: f64,
}

fn resolve_llm(ui: &Ui, args: &DeployArgs, cfg: &DeployConfig, region: &str) -> Result<Llm> {
    let enabled = match given(&args.llm, &cfg.llm) {
        Some(v) => v,
        None if ui.interactive => prompt::confirm(
            "Add a short Bedrock (LLM) summary to each alert? (alerts are sent even if it fails)",
            false,
        )?,
        None => false,
    };
    let model_id = match given(&args.llm_model_id, &cfg.llm_model_id) {
        Some(v) => v,
        None if ui.interactive && enabled => prompt::text(
            "Bedrock model or inference profile id",
            Some(DEFAULT_MODEL_ID),
            validate_model_id,
        )?,
        None => DEFAULT_MODEL_ID.to_string(),
    };
    check("LLM model id", validate_model_id(&model_id))?;
    let llm_region = resolve_llm_region(ui, args, cfg, enabled, region)?;
    let (enabled, llm_region) = if enabled {
        settle_llm_region(ui, region, &llm_region)?
    } else {
        (false, llm_region)
    };
    let system_prompt_file = resolve_system_prompt_file(ui, args, cfg, enabled)?;
    let system_prompt = read_system_prompt(system_prompt_file.as_deref())?;
    let max_tokens = given(&args.llm_max_tokens, &cfg.llm_max_tokens).unwrap_or(400);
    if !LLM_MAX_TOKENS_RANGE.contains(&max_tokens) {
        bail!(
            "invalid --llm-max-tokens: use {}..={} (what the template accepts)",
            LLM_MAX_TOKENS_RANGE.start(),
            LLM_MAX_TOKENS_RANGE.end()
        );
    }
    let temperature = given(&args.llm_temperature, &cfg.llm_temperature).unwrap_or(0.2);
    if !(0.0..=1.0).contains(&temperature) {
        bail!("invalid --llm-temperature: use a number from 0 to 1");
    }
    Ok(Llm {
        enabled,
        model_id,
        region: llm_region,
        system_prompt_file,
        system_prompt,
        max_tokens,
        temperature,
    })
}

/// Empty means the stack's own region.
fn resolve_llm_region(
    ui: &Ui,
    args: &DeployArgs,
    cfg: &DeployConfig,
    enabled: bool,
    region: &str,
) -> Result<String> {
    let llm_region = match given(&args.llm_region, &cfg.llm_region) {
        Some(v) => v,
        None if ui.interactive && enabled => {
            let default = default_llm_region(region).unwrap_or(region);
            prompt::text(&format!("Bedrock region (empty = {default})"), None, |s| {
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
    Ok(llm_region)
}

/// Whether the LLM stays on, and the `LlmRegion` to pass (empty: the
/// stack's own). Says which region is used; where the partition has no
/// Bedrock (China), asks for another region of it or turns the LLM off.
fn settle_llm_region(ui: &Ui, region: &str, chosen: &str) -> Result<(bool, String)> {
    let (used, why) = match bedrock::llm_region(region, chosen) {
        Ok(r) => r,
        Err(e) if ui.interactive => {
            ui.warn(e.to_string());
            let again = prompt::text(
                &format!(
                    "LLM region in partition {} (empty = turn the LLM off)",
                    partition(region)
                ),
                None,
                |s| {
                    if s.is_empty() {
                        Ok(())
                    } else {
                        validate_region(s)
                    }
                },
            )?;
            if again.is_empty() {
                ui.info("LLM summaries off");
                return Ok((false, String::new()));
            }
            bedrock::llm_region(region, &again)?
        }
        Err(e) => return Err(e),
    };
    ui.info(format!("LLM summaries call Bedrock in {used} ({why})"));
    Ok((true, if used == region { String::new() } else { used }))
}

fn resolve_system_prompt_file(
    ui: &Ui,
    args: &DeployArgs,
    cfg: &DeployConfig,
    enabled: bool,
) -> Result<Option<PathBuf>> {
    Ok(
        match (&args.llm_system_prompt_file, &cfg.llm_system_prompt_file) {
            // The user's own choice on the command line.
            (Some(p), _) => Some(p.clone()),
            // From the file: only inside its directory (a copied toml must not
            // send ~/.aws/credentials into a stack parameter).
            (None, Some(p)) => {
                config::prompt_file_in_config_dir(&config::default_path(), p)?;
                Some(p.clone())
            }
            (None, None) if ui.interactive && enabled => {
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
            (None, None) => None,
        },
    )
}

fn read_system_prompt(file: Option<&std::path::Path>) -> Result<String> {
    let text = match file {
        Some(p) => prompt::read_text_file(p, "the system prompt")?
            .trim()
            .to_string(),
        None => String::new(),
    };
    Ok(text)
}

/// The function's answers.
struct Function {
    architecture: String,
    memory: u32,
    timeout: u32,
    reserved_concurrency: i32,
    log_retention: u32,
}

fn resolve_function(ui: &Ui, args: &DeployArgs, cfg: &DeployConfig) -> Result<Function> {
    let architecture = match given(&args.architecture, &cfg.architecture) {
        Some(v) => v,
        None if ui.interactive => {
            let items = ["arm64 (Graviton, cheaper)", "x86_64"];
            ["arm64", "x86_64"][prompt::choose("Function architecture", &items, 0)?].to_string()
        }
        None => "arm64".to_string(),
    };
    check("--arch", validate_architecture(&architecture))?;
    // Ranges: the template's (`check_against_template`).
    let memory = given(&args.memory, &cfg.memory).unwrap_or(256);
    let timeout = given(&args.timeout, &cfg.timeout).unwrap_or(60);
    let reserved_concurrency =
        given(&args.reserved_concurrency, &cfg.reserved_concurrency).unwrap_or(-1);
    check(
        "--reserved-concurrency",
        validate_reserved_concurrency(reserved_concurrency),
    )?;
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
    Ok(Function {
        architecture,
        memory,
        timeout,
        reserved_concurrency,
        log_retention,
    })
}

fn missing(what: &str, flag: &str, env: &str) -> anyhow::Error {
    anyhow::anyhow!("missing {what}: pass {flag} or set {env}")
}

fn resolve_webhook(
    ui: &Ui,
    args: &DeployArgs,
    existing: Option<&ExistingSecret>,
    any_host: bool,
    security: Option<RobotSecurity>,
) -> Result<(Webhook, Option<RobotSecurity>)> {
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
        return Ok((
            Webhook::New {
                url: url.trim().to_string(),
                secret: secret_from_flag,
                secret_asked: false,
            },
            security,
        ));
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
            return Ok((Webhook::Keep, security));
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
    let security = ask_robot_security(security, secret_from_flag.is_some())?;
    let secret = match (secret_from_flag, security) {
        (Some(s), _) => Some(s),
        (None, RobotSecurity::Signature) => Some(prompt::required_secret(
            "Robot signing secret, SEC... (input hidden)",
            SIGNING_SECRET_NEEDED,
            secret::validate_signing_secret,
        )?),
        (None, _) => None,
    };
    Ok((
        Webhook::New {
            url,
            secret,
            secret_asked: true,
        },
        Some(security),
    ))
}

/// Shown under the signing-secret prompt when Enter is pressed on nothing.
pub const SIGNING_SECRET_NEEDED: &str = "a 加签 (signature) robot refuses every unsigned \
     message: copy its SEC… secret from the robot's security settings in DingTalk; if the robot \
     uses custom keywords or an IP allow-list instead, press Ctrl-C and run deploy again with \
     --robot-security keywords or ip-allow-list";

/// A robot always has one of the three settings; ask which (DingTalk's own
/// words), so only what it needs is asked next.
fn ask_robot_security(given: Option<RobotSecurity>, has_secret: bool) -> Result<RobotSecurity> {
    match (given, has_secret) {
        (Some(s), _) => Ok(s),
        (None, true) => Ok(RobotSecurity::Signature),
        (None, false) => {
            let labels: Vec<&str> = RobotSecurity::ALL.iter().map(|s| s.label()).collect();
            Ok(RobotSecurity::ALL[prompt::choose(
                "Robot security setting (as shown in the robot's settings in DingTalk)",
                &labels,
                0,
            )?])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::deploy::settings::tests::settings;

    #[test]
    fn the_regions_question_says_where_global_health_events_arrive() {
        let forwarder = "EventBridge rules see only their own region: every other region you name \
                         gets a forwarder (rules and one role, no function) that sends its events to";
        assert_eq!(
            regions_note("ap-southeast-1", true),
            [
                format!("{forwarder} ap-southeast-1."),
                "AWS Health's global events (IAM and other global services) arrive only in \
                 us-east-1: with the Health rule on, us-east-1 is added whenever you name \
                 another region; with ap-southeast-1 alone they are not delivered."
                    .to_string()
            ]
        );
        assert_eq!(
            regions_note("cn-northwest-1", true)[1],
            "AWS Health's global events (IAM and other global services) arrive only in \
             cn-north-1: with the Health rule on, cn-north-1 is added whenever you name \
             another region; with cn-northwest-1 alone they are not delivered."
        );
        assert_eq!(
            regions_note("us-east-1", true),
            [format!("{forwarder} us-east-1.")]
        );
        assert_eq!(regions_note("ap-southeast-1", false).len(), 1);
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
        want.rules = Rule::DEFAULT.to_vec();
        want.alarm_states = String::new();
        // The original app's three EC2 states; the window from the template.
        want.ec2_states = DEFAULT_EC2_STATES.into();
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

    /// One source of truth: every parameter of the embedded template is set
    /// by a flag, made by the CLI, or left at its default.
    #[test]
    fn every_parameter_follows_the_template() {
        use crate::commands::deploy::validate::PARAMETER_FLAGS;
        // HealthEventRegions, HealthForwardedRegions, OrganizationId,
        // WebhookRelayHosts: not settings but the stack's region, its
        // forwarders, its organization and its webhook's relay, added by
        // `Plan::parameters`.
        const LEFT_AT_DEFAULT: [&str; 6] = [
            "BatchSize",
            "BatchWindowSeconds",
            "HealthEventRegions",
            "HealthForwardedRegions",
            "OrganizationId",
            "WebhookRelayHosts",
        ];
        const MADE_BY_THE_CLI: [&str; 7] = [
            "ArtifactBucket",
            "ArtifactKey",
            "WebhookSecretArn",
            "AlertQueueVisibilityTimeout",
            "MaxReceiveCount",
            "AccountNames",
            "Routes",
        ];
        let template = crate::aws::constraints::all();
        let sent: Vec<&str> = settings()
            .parameters("b", "k", "a")
            .iter()
            .map(|(k, _)| *k)
            .collect();
        for name in template.keys().map(String::as_str) {
            let flag = PARAMETER_FLAGS.iter().any(|(p, _)| *p == name);
            assert!(
                flag || LEFT_AT_DEFAULT.contains(&name) || MADE_BY_THE_CLI.contains(&name),
                "{name}: no flag sets it"
            );
            assert_eq!(
                sent.contains(&name),
                !LEFT_AT_DEFAULT.contains(&name),
                "{name}"
            );
        }
        for name in sent.iter().chain(PARAMETER_FLAGS.iter().map(|(p, _)| p)) {
            assert!(
                template.contains_key(*name),
                "{name} is not in the template"
            );
        }
    }

    /// For each probe the CLI refuses exactly what the template refuses.
    #[test]
    fn the_cli_refuses_what_the_template_refuses() {
        type Set = fn(&mut DeployArgs, &str);
        let probes: [(&str, Set, &[&str]); 5] = [
            (
                "Timeout",
                |a, v| a.timeout = v.parse().ok(),
                &["1", "2", "3", "900", "901"],
            ),
            (
                "MemorySize",
                |a, v| a.memory = v.parse().ok(),
                &["127", "128", "10240", "10241"],
            ),
            (
                "LlmMaxTokens",
                |a, v| a.llm_max_tokens = v.parse().ok(),
                &["5", "29", "30", "4096", "4097"],
            ),
            (
                "ExportPrefix",
                |a, v| a.export_prefix = Some(v.into()),
                &["", "team-a", "a.b", "a_b", "a:b"],
            ),
            (
                "LogRetentionInDays",
                |a, v| a.log_retention = v.parse().ok(),
                &["1", "30", "31", "3653"],
            ),
        ];
        let ui = Ui::for_tests();
        for (parameter, set, values) in probes {
            for value in values {
                let mut args = DeployArgs::default();
                set(&mut args, value);
                let cli = resolve_settings(
                    &ui,
                    &args,
                    &DeployConfig::default(),
                    "a".into(),
                    "us-east-1",
                );
                let template_ok = crate::aws::constraints::check(parameter, value).is_ok();
                assert_eq!(
                    cli.is_ok(),
                    template_ok,
                    "{parameter} {value:?}: {:?}",
                    cli.err()
                );
            }
        }
    }

    #[test]
    fn the_issues_examples_name_the_flag_and_the_templates_limit() {
        let ui = Ui::for_tests();
        let refused = |args: DeployArgs| {
            resolve_settings(
                &ui,
                &args,
                &DeployConfig::default(),
                "a".into(),
                "us-east-1",
            )
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
        };
        assert_eq!(
            refused(DeployArgs {
                timeout: Some(1),
                ..DeployArgs::default()
            }),
            "invalid --timeout 1: must be a number from 3 to 900"
        );
        assert_eq!(
            refused(DeployArgs {
                llm_max_tokens: Some(5),
                ..DeployArgs::default()
            }),
            "invalid --llm-max-tokens: use 30..=4096 (what the template accepts)"
        );
        assert_eq!(
            refused(DeployArgs {
                export_prefix: Some("a.b".into()),
                ..DeployArgs::default()
            }),
            "invalid --export-prefix a.b: must contain only letters, digits and '-', or be empty."
        );
    }
}
