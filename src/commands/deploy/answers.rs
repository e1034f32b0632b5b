//! Gathering a deploy's answers. Each value comes from the first of: a flag,
//! its environment variable (clap reads both), dingtalk-notifier.toml, a
//! prompt at a terminal, the default. Validation happens here, so a bad value
//! stops the deploy before anything is changed.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::args::DeployArgs;
use super::queue_timing;
use super::settings::{parse_rules, Rule, Settings, DEFAULT_STACK_NAME};
use super::validate::{check, check_against_template, validate_model_id, validate_stack_name};
use dingtalk_notifier_lambda::model_id::{default_llm_region, partition};

use crate::aws::bedrock;
use crate::aws::connect::validate_region;
use crate::aws::secret::{self, ExistingSecret};
use crate::cli::GlobalArgs;
use crate::config::options::validate_ops_email;
use crate::config::{self, ConfigFile, DeployOptions};
use crate::regions::{global_events_region, RegionsSpec};
use crate::robot_security::{self, RobotSecurity};
use crate::template::constraints;
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
    let stack_name = match global.stack_name.clone().or_else(|| cfg.stack_name.clone()) {
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

/// The deploy options as given: flags (and their environment variables)
/// over dingtalk-notifier.toml, merged once and checked before anything else.
/// A system prompt file named by the toml must lie inside its directory (a
/// copied toml must not send ~/.aws/credentials into a stack parameter); one
/// given on the command line is the user's own choice.
pub fn options(args: &DeployArgs, cfg: &ConfigFile, cfg_path: &Path) -> Result<DeployOptions> {
    if args.options.llm_system_prompt_file.is_none() {
        let from_file = cfg.deploy.llm_system_prompt_file.as_ref();
        if let Some(p) = from_file.filter(|p| !p.as_os_str().is_empty()) {
            config::prompt_file_in_config_dir(cfg_path, p)?;
        }
    }
    let mut options = args.options.over(&cfg.deploy)?;
    options.check()?;
    Ok(options)
}

/// The webhook (with the robot's security setting), then the settings, then
/// what that security setting needs (a keyword robot's keyword).
pub fn gather(
    ui: &Ui,
    args: &DeployArgs,
    mut options: DeployOptions,
    cfg: &ConfigFile,
    stack_name: String,
    region: &str,
    existing: Option<&ExistingSecret>,
) -> Result<Answers> {
    let any_host = options.webhook_any_host.unwrap_or(false);
    let (webhook, security) =
        resolve_webhook(ui, args, existing, any_host, options.robot_security)?;
    options.robot_security = security;
    let ops_email_given = options.ops_email.is_some();
    let mut settings = resolve_settings(ui, options, stack_name, region)?;
    ask_what_the_security_setting_needs(ui, &mut settings)?;
    let routes = crate::routes::read(cfg)
        .map_err(|e| anyhow::anyhow!("{}: {e}", crate::config::FILE_NAME))?;
    let room = crate::routes::room(&sized_parameters(&settings, region)?);
    (settings.routes, settings.secret_routes) = crate::routes::parameter(&routes, room);
    let first_deploy = cfg.stack_name.is_none();
    if ui.interactive && first_deploy && !ops_email_given {
        settings.options.ops_email = Some(ask_ops_email(ui)?);
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

/// After the webhook: a keyword for a keyword robot (asked, or an error
/// without a terminal), a warning for an IP allow-list.
fn ask_what_the_security_setting_needs(ui: &Ui, settings: &mut Settings) -> Result<()> {
    let keyword = &mut settings.options.keyword;
    match settings.options.robot_security {
        Some(RobotSecurity::Keywords) if keyword.as_deref().is_none_or(str::is_empty) => {
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
            *keyword = Some(k.trim().to_string());
        }
        Some(RobotSecurity::IpAllowList) => ui.warn(robot_security::IP_ALLOW_LIST_WARNING),
        _ => {}
    }
    Ok(())
}

/// The merged options, completed: what is still unset is asked at a
/// terminal (rules, the LLM, the architecture) or takes the template's
/// default; then the parameters are checked as CloudFormation will.
pub fn resolve_settings(
    ui: &Ui,
    mut options: DeployOptions,
    stack_name: String,
    region: &str,
) -> Result<Settings> {
    let rules = resolve_rules(ui, &options)?;
    resolve_llm(ui, &mut options, region)?;
    if options.architecture.is_none() && ui.interactive {
        let items = ["arm64 (Graviton, cheaper)", "x86_64"];
        let arch = ["arm64", "x86_64"][prompt::choose("Function architecture", &items, 0)?];
        options.architecture = Some(arch.to_string());
    }
    let options = options.with_template_defaults()?;
    let settings = Settings {
        stack_name,
        llm_system_prompt: read_system_prompt(options.llm_system_prompt_file.as_deref())?,
        options,
        rules,
        batch_window: queue_timing::default_batch_window()?,
        account_names: String::new(),
        routes: String::new(),
        secret_routes: None,
    };
    check_parameters(&settings, region)?;
    Ok(settings)
}

/// The parameters with values of their deployed sizes: the secret's ARN is
/// only known later; this one has its exact length.
pub fn sized_parameters(settings: &Settings, region: &str) -> Result<Vec<(&'static str, String)>> {
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
    let parameters = sized_parameters(settings, region)?;
    check_against_template(
        &parameters
            .iter()
            .filter(|(p, _)| !["ArtifactBucket", "ArtifactKey"].contains(p))
            .cloned()
            .collect::<Vec<_>>(),
    )?;
    bedrock::check_environment(&parameters)
}

fn resolve_rules(ui: &Ui, options: &DeployOptions) -> Result<Vec<Rule>> {
    let rules = match &options.rules {
        Some(r) => {
            parse_rules(&r.join(",")).map_err(|e| anyhow::anyhow!("invalid --rules: {e}"))?
        }
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

/// The Bedrock summary's answers still unset, asked at a terminal when the
/// LLM is on; then which region serves it (`settle_llm_region`).
fn resolve_llm(ui: &Ui, options: &mut DeployOptions, region: &str) -> Result<()> {
    let enabled = match options.llm {
        Some(v) => v,
        None if ui.interactive => prompt::confirm(
            "Add a short Bedrock (LLM) summary to each alert? (alerts are sent even if it fails)",
            false,
        )?,
        None => false,
    };
    options.llm = Some(enabled);
    if !enabled {
        return Ok(());
    }
    if options.llm_model_id.is_none() && ui.interactive {
        let default = constraints::all()
            .get("LlmModelId")
            .and_then(|c| c.default.clone());
        options.llm_model_id = Some(prompt::text(
            "Bedrock model or inference profile id",
            default.as_deref(),
            validate_model_id,
        )?);
    }
    if options.llm_region.is_none() && ui.interactive {
        let default = default_llm_region(region).unwrap_or(region);
        options.llm_region = Some(prompt::text(
            &format!("Bedrock region (empty = {default})"),
            None,
            |s| match s {
                "" => Ok(()),
                s => validate_region(s),
            },
        )?);
    }
    let chosen = options.llm_region.clone().unwrap_or_default();
    let (on, llm_region) = settle_llm_region(ui, region, &chosen)?;
    options.llm = Some(on);
    options.llm_region = Some(llm_region);
    if on && options.llm_system_prompt_file.is_none() && ui.interactive {
        options.llm_system_prompt_file = Some(ask_system_prompt_file()?);
    }
    Ok(())
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

/// An empty path is the built-in prompt, remembered so as not to be asked again.
fn ask_system_prompt_file() -> Result<PathBuf> {
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
    Ok(PathBuf::from(p))
}

fn read_system_prompt(file: Option<&std::path::Path>) -> Result<String> {
    let text = match file.filter(|p| !p.as_os_str().is_empty()) {
        Some(p) => prompt::read_text_file(p, "the system prompt")?
            .trim()
            .to_string(),
        None => String::new(),
    };
    Ok(text)
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

    /// `deploy`'s way to its settings without a terminal: merge, check,
    /// resolve.
    fn resolved(flags: DeployOptions, file: DeployOptions) -> Result<Settings> {
        let mut options = flags.over(&file)?;
        options.check()?;
        resolve_settings(&Ui::for_tests(), options, "alerts".into(), "ap-southeast-1")
    }

    #[test]
    fn defaults_then_file_then_flags() {
        let none = DeployOptions::default();
        let got = resolved(none.clone(), none.clone()).unwrap();
        let mut want = settings();
        want.rules = Rule::DEFAULT.to_vec();
        // Every option the template has a default for, with it: the original
        // app's three EC2 states, no alarm-state filter.
        want.options = DeployOptions::default().with_template_defaults().unwrap();
        assert_eq!(got, want);
        assert_eq!(
            got.options.ec2_states.as_deref(),
            Some("running,stopped,terminated")
        );

        let file = DeployOptions {
            memory: Some(512),
            rules: Some(vec!["alarm".into()]),
            time_zone: Some("UTC".into()),
            ..DeployOptions::default()
        };
        let got = resolved(none.clone(), file.clone()).unwrap();
        assert_eq!(
            (
                got.options.memory,
                got.rules.clone(),
                got.options.time_zone.as_deref()
            ),
            (Some(512), vec![Rule::Alarm], Some("UTC"))
        );

        let flags = DeployOptions {
            memory: Some(1024),
            rules: Some(vec!["none".into()]),
            ..DeployOptions::default()
        };
        let got = resolved(flags, file.clone()).unwrap();
        assert_eq!(
            (
                got.options.memory,
                got.rules.len(),
                got.options.time_zone.as_deref()
            ),
            (Some(1024), 0, Some("UTC"))
        );

        let bad = DeployOptions {
            log_retention: Some(31),
            ..DeployOptions::default()
        };
        let err = resolved(bad, file).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid --log-retention 31: must be one of 1, 3, 5,"),
            "{err}"
        );
    }

    /// One source of truth: every parameter of the embedded template is set
    /// by an option's flag, made by the CLI, or left at its default.
    #[test]
    fn every_parameter_follows_the_template() {
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
        let template = constraints::all();
        let sent: Vec<&str> = settings()
            .parameters("b", "k", "a")
            .unwrap()
            .iter()
            .map(|(k, _)| *k)
            .collect();
        for name in template.keys().map(String::as_str) {
            let flag = crate::config::options::flag_of(name).is_some();
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
        for name in &sent {
            assert!(
                template.contains_key(*name),
                "{name} is not in the template"
            );
        }
    }

    /// For each probe the CLI refuses exactly what the template refuses.
    #[test]
    fn the_cli_refuses_what_the_template_refuses() {
        type Set = fn(&mut DeployOptions, &str);
        let probes: [(&str, Set, &[&str]); 6] = [
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
            (
                "AlertRetentionPeriod",
                |a, v| a.alert_retention = v.parse().ok(),
                &["86399", "86400", "604800", "604801"],
            ),
        ];
        for (parameter, set, values) in probes {
            for value in values {
                let mut flags = DeployOptions::default();
                set(&mut flags, value);
                let cli = resolved(flags, DeployOptions::default());
                let template_ok = constraints::check(parameter, value).is_ok();
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
        let refused = |flags: DeployOptions| {
            resolved(flags, DeployOptions::default())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert_eq!(
            refused(DeployOptions {
                timeout: Some(1),
                ..DeployOptions::default()
            }),
            "invalid --timeout 1: must be a number from 3 to 900"
        );
        assert_eq!(
            refused(DeployOptions {
                llm_max_tokens: Some(5),
                ..DeployOptions::default()
            }),
            "invalid --llm-max-tokens 5: must be a whole number from 30 to 4096."
        );
        assert_eq!(
            refused(DeployOptions {
                export_prefix: Some("a.b".into()),
                ..DeployOptions::default()
            }),
            "invalid --export-prefix a.b: must contain only letters, digits and '-', or be empty."
        );
        assert_eq!(
            refused(DeployOptions {
                architecture: Some("sparc".into()),
                ..DeployOptions::default()
            }),
            "invalid --arch sparc: must be one of arm64, x86_64"
        );
    }
}
