//! Command line surface: every prompt of `deploy` also has a flag and an
//! environment variable, so CI never needs a terminal.

use crate::robot_security::RobotSecurity;
use std::path::PathBuf;

use clap::{builder::BoolishValueParser, Args, Parser, Subcommand};

use crate::commands::completions::CompletionsArgs;
use crate::commands::destroy::DestroyArgs;
use crate::commands::preview::PreviewArgs;
use crate::commands::redrive::RedriveArgs;
use crate::commands::test_send::TestSendArgs;

// Every line of these texts fits 80 columns (tests/cli_first_hour.rs): a
// wrapped example pastes as two broken commands. Comments go on their own line.
const ROOT_AFTER_HELP: &str = "\
Examples:
  # What the DingTalk group gets; no AWS, no network:
  dingtalk-notifier preview
  # Asks what it needs, remembers it in dingtalk-notifier.toml:
  dingtalk-notifier deploy
  # Send a sample alert through the deployed function:
  dingtalk-notifier test-send
  dingtalk-notifier status --json
  # List the alerts kept in the dead-letter queue:
  dingtalk-notifier redrive --dry-run
  dingtalk-notifier destroy --stack-name my-alerts

Credentials and region come from the usual AWS chain (AWS_PROFILE,
AWS_REGION, ~/.aws/config, SSO, instance roles); AWS_ENDPOINT_URL is honoured.
Exit codes: 0 ok, 1 error, 2 usage, 130 interrupted.";

const DEPLOY_AFTER_HELP: &str = "\
Examples:
  # At a terminal: answer the prompts (the webhook is typed masked).
  dingtalk-notifier deploy

  # In CI: nothing is asked; secrets come from the environment, not the
  # command line. A signature (加签) robot needs DINGTALK_SECRET too.
  export DINGTALK_WEBHOOK_URL=\\
    'https://oapi.dingtalk.com/robot/send?access_token=...'
  export DINGTALK_SECRET='SEC...'
  dingtalk-notifier deploy --yes --region ap-southeast-1 \\
    --rules health,alarm --alarm-states ALARM,OK

  # Bedrock summaries (the model must be enabled in that region's console):
  dingtalk-notifier deploy --llm on \\
    --llm-model-id apac.amazon.nova-lite-v1:0 --llm-region ap-southeast-1

Answers other than secrets are saved to ./dingtalk-notifier.toml, so the next
deploy asks nothing. The webhook lives in AWS Secrets Manager
(dingtalk-notifier/<stack>/webhook); when it already exists and no webhook is
given, the stored one is kept. zig and cargo-zigbuild, when missing, are
offered into the CLI's own cache (installed with --yes).";

const DESTROY_AFTER_HELP: &str = "\
Examples:
  # Asks you to type the stack name:
  dingtalk-notifier destroy
  # Also remove the artifact bucket if no other stack uses it:
  dingtalk-notifier destroy --yes --purge

Deletes the stack, then the webhook secret when its tags say this stack owns
it. A stack that does not exist is not an error (\"nothing to destroy\", exit
0). Nothing that dingtalk-notifier did not create is touched.";

const REDRIVE_AFTER_HELP: &str = "\
Examples:
  # List what would be sent; nothing is moved:
  dingtalk-notifier redrive --dry-run
  # Ask, then send every kept alert again:
  dingtalk-notifier redrive
  # In CI: at most 20 messages, no question:
  dingtalk-notifier redrive --yes --max 20

Alerts the function could not deliver (after the alert queue's
MaxReceiveCount tries, or a failed asynchronous invocation) are kept in the
stack's dead-letter queue (output DeadLetterQueueUrl). Once the cause is fixed
(webhook, keyword, robot limit ...), redrive sends them back to the alert
queue (output AlertQueueUrl). A message leaves the dead-letter queue only
after the alert queue accepted every alert made from it, so nothing is lost;
an empty dead-letter queue is not an error (exit 0).";

const STATUS_AFTER_HELP: &str = "\
Examples:
  dingtalk-notifier status
  dingtalk-notifier status --json | jq .function.code_sha256";

// No `Debug` on the types that hold the webhook or signing secret, so they
// cannot end up in a debug print.
#[derive(Parser)]
#[command(
    name = "dingtalk-notifier",
    version,
    about = "Deliver AWS Health, EC2, abuse and CloudWatch alarm alerts to a DingTalk group",
    after_help = ROOT_AFTER_HELP,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// AWS profile to use (default: the SDK chain, AWS_PROFILE)
    #[arg(long, global = true, help_heading = "AWS and output")]
    pub profile: Option<String>,
    /// AWS region (default: dingtalk-notifier.toml, then AWS_REGION / the profile)
    #[arg(long, global = true, help_heading = "AWS and output")]
    pub region: Option<String>,
    /// Accept a well-formed region this release does not know (one newer than its AWS SDK)
    #[arg(
        long,
        global = true,
        help_heading = "AWS and output",
        env = "DINGTALK_NOTIFIER_ALLOW_UNKNOWN_REGION",
        value_parser = BoolishValueParser::new(),
        num_args = 0..=1,
        default_missing_value = "true",
        default_value = "false"
    )]
    pub allow_unknown_region: bool,
    /// CloudFormation stack name [default: dingtalk-notifier]
    #[arg(
        long,
        global = true,
        help_heading = "AWS and output",
        env = "DINGTALK_NOTIFIER_STACK_NAME"
    )]
    pub stack_name: Option<String>,
    /// No progress: print only warnings, errors and the result
    #[arg(long, short, global = true, help_heading = "AWS and output")]
    pub quiet: bool,
    /// Print the result as one JSON document on stdout
    #[arg(long, global = true, help_heading = "AWS and output")]
    pub json: bool,
    /// Never prompt; fail naming any value that is missing
    #[arg(
        long,
        global = true,
        help_heading = "AWS and output",
        visible_alias = "non-interactive"
    )]
    pub no_input: bool,
    /// Answer yes to every confirmation and never prompt
    #[arg(long, short, global = true, help_heading = "AWS and output")]
    pub yes: bool,
}

#[derive(Subcommand)]
pub enum Command {
    /// Show the messages the DingTalk group would get (samples, your event, a digest); no AWS needed
    Preview(PreviewArgs),
    /// Build, upload and deploy (create or update) the notifier stack
    #[command(after_help = DEPLOY_AFTER_HELP)]
    Deploy(Box<DeployArgs>),
    /// Send a sample alert through the deployed notifier
    TestSend(TestSendArgs),
    /// Show the stack's state, outputs, rules and function code hash
    #[command(after_help = STATUS_AFTER_HELP)]
    Status,
    /// Delete the stack and the webhook secret it owns
    #[command(after_help = DESTROY_AFTER_HELP)]
    Destroy(DestroyArgs),
    /// Send the alerts kept in the dead-letter queue again, once the cause is fixed
    #[command(after_help = REDRIVE_AFTER_HELP)]
    Redrive(RedriveArgs),
    /// Print the shell completion script for bash, zsh, fish or powershell
    Completions(CompletionsArgs),
}

#[derive(Args, Clone, Default)]
pub struct DeployArgs {
    /// DingTalk robot webhook URL. Prefer the env var or the prompt: flags end up in shell history
    #[arg(
        help_heading = "Webhook",
        long,
        env = "DINGTALK_WEBHOOK_URL",
        hide_env_values = true
    )]
    pub webhook_url: Option<String>,
    /// Robot signing secret (SEC...). Prefer the env var or the prompt
    #[arg(
        help_heading = "Webhook",
        long = "secret",
        env = "DINGTALK_SECRET",
        hide_env_values = true
    )]
    pub signing_secret: Option<String>,
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

    /// Regions to hear from (comma separated), `all` (every region enabled in the account) or `none`:
    /// the stack stays in the home region, every other one gets a forwarder [default: the home region only]
    #[arg(help_heading = "Alerts", long, env = "DINGTALK_NOTIFIER_REGIONS")]
    pub regions: Option<String>,
    /// Also hear from every account of the AWS Organization: forwarders in each member account
    /// (a service-managed StackSet, new accounts included) send to this account's bus. Run from
    /// the management account or a StackSets delegated administrator [remembered]
    #[arg(
        help_heading = "Alerts",
        long,
        env = "DINGTALK_NOTIFIER_ORGANIZATION",
        overrides_with = "no_organization"
    )]
    pub organization: bool,
    /// Turn --organization off: remove the StackSet's forwarders and the bus policy
    #[arg(help_heading = "Alerts", long, overrides_with = "organization")]
    pub no_organization: bool,
    /// Rules to enable, comma separated: default (health, health-abuse, ec2, alarm) and the
    /// opt-in securityhub, guardduty, inspector, access-analyzer, root,
    /// config, ecr-scan, trusted-advisor, backup, pipelines, ecs, acm; or all, or none
    #[arg(help_heading = "Alerts", long, env = "DINGTALK_NOTIFIER_RULES")]
    pub rules: Option<String>,
    /// EC2 states to report (comma separated; empty = all) [default: running,stopped,terminated]
    #[arg(help_heading = "Alerts", long, env = "DINGTALK_NOTIFIER_EC2_STATES")]
    pub ec2_states: Option<String>,
    /// Alarm states to report (comma separated, e.g. ALARM,OK; empty = every transition)
    #[arg(help_heading = "Alerts", long, env = "DINGTALK_NOTIFIER_ALARM_STATES")]
    pub alarm_states: Option<String>,

    /// Add a Bedrock summary to each alert: on or off (true/false, yes/no also work)
    #[arg(help_heading = "LLM", long, env = "DINGTALK_NOTIFIER_LLM", value_name = "on|off", value_parser = BoolishValueParser::new())]
    pub llm: Option<bool>,
    /// Bedrock model or inference profile id [default: amazon.nova-lite-v1:0]
    #[arg(help_heading = "LLM", long, env = "DINGTALK_NOTIFIER_LLM_MODEL_ID")]
    pub llm_model_id: Option<String>,
    /// Bedrock region [default: the stack's region]
    #[arg(help_heading = "LLM", long, env = "DINGTALK_NOTIFIER_LLM_REGION")]
    pub llm_region: Option<String>,
    /// File holding a custom system prompt for the summary
    #[arg(
        help_heading = "LLM",
        long,
        env = "DINGTALK_NOTIFIER_LLM_SYSTEM_PROMPT_FILE"
    )]
    pub llm_system_prompt_file: Option<PathBuf>,
    /// Maximum summary tokens [default: 400]
    #[arg(help_heading = "LLM", long, env = "DINGTALK_NOTIFIER_LLM_MAX_TOKENS")]
    pub llm_max_tokens: Option<u32>,
    /// Sampling temperature 0..1 [default: 0.2]
    #[arg(help_heading = "LLM", long, env = "DINGTALK_NOTIFIER_LLM_TEMPERATURE")]
    pub llm_temperature: Option<f64>,

    /// Function architecture: arm64 or x86_64 [default: arm64]
    #[arg(
        help_heading = "Function",
        long = "arch",
        env = "DINGTALK_NOTIFIER_ARCH"
    )]
    pub architecture: Option<String>,
    /// Function memory in MB [default: 256]
    #[arg(help_heading = "Function", long, env = "DINGTALK_NOTIFIER_MEMORY")]
    pub memory: Option<u32>,
    /// Function timeout in seconds [default: 60]
    #[arg(help_heading = "Function", long, env = "DINGTALK_NOTIFIER_TIMEOUT")]
    pub timeout: Option<u32>,
    /// Reserved concurrency: -1 = unreserved, else at least 2 (the buffer's two pollers).
    /// Any reservation fails on new accounts whose concurrency quota is 10 [default: -1]
    #[arg(
        help_heading = "Function",
        long,
        env = "DINGTALK_NOTIFIER_RESERVED_CONCURRENCY",
        allow_negative_numbers = true
    )]
    pub reserved_concurrency: Option<i32>,
    /// Log retention in days [default: 30]
    #[arg(
        help_heading = "Function",
        long,
        env = "DINGTALK_NOTIFIER_LOG_RETENTION"
    )]
    pub log_retention: Option<u32>,
    /// IANA time zone for times in messages [default: Asia/Shanghai]
    #[arg(help_heading = "Alerts", long, env = "DINGTALK_NOTIFIER_TIME_ZONE")]
    pub time_zone: Option<String>,
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
    /// Permissions boundary ARN for the function's role (the PermissionsBoundaryArn output of docs/iam-deploy-policy.json; empty = none)
    #[arg(
        help_heading = "Function",
        long,
        env = "DINGTALK_NOTIFIER_PERMISSIONS_BOUNDARY"
    )]
    pub permissions_boundary: Option<String>,
    /// Log each incoming event and rendered message in the function's log (never the webhook or secret) [default: off]
    #[arg(help_heading = "Function", long, env = "DINGTALK_NOTIFIER_DEBUG_LOGS", value_parser = BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub debug_logs: Option<bool>,

    /// Use this function zip instead of building (must hold a `bootstrap` entry)
    #[arg(help_heading = "Function", long, env = "DINGTALK_NOTIFIER_ARTIFACT")]
    pub artifact: Option<PathBuf>,
    /// Rebuild the function even when the cache is current
    #[arg(help_heading = "Function", long)]
    pub force_build: bool,
}

fn parse_robot_security(s: &str) -> Result<RobotSecurity, String> {
    s.parse()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}

/// Secrets given as flags end up in the shell history; `deploy` and
/// `test-send` say so. Set through the environment (clap reads both), they
/// are not on the command line, so no warning.
pub fn secret_flag_warnings(webhook_url: Option<&str>, secret: Option<&str>) -> Vec<&'static str> {
    secret_flag_warnings_with(webhook_url, secret, |v| std::env::var_os(v).is_some())
}

fn secret_flag_warnings_with(
    webhook_url: Option<&str>,
    secret: Option<&str>,
    in_env: impl Fn(&str) -> bool,
) -> Vec<&'static str> {
    let mut out = Vec::new();
    if webhook_url.is_some() && !in_env("DINGTALK_WEBHOOK_URL") {
        out.push("--webhook-url on the command line ends up in your shell history; prefer DINGTALK_WEBHOOK_URL or the prompt");
    }
    if secret.is_some() && !in_env("DINGTALK_SECRET") {
        out.push("--secret on the command line ends up in your shell history; prefer DINGTALK_SECRET or the prompt");
    }
    out
}

#[cfg(test)]
mod secret_flag_tests {
    use super::*;

    #[test]
    fn flags_warn_environment_does_not() {
        let none = |_: &str| false;
        assert_eq!(
            secret_flag_warnings_with(Some("u"), Some("s"), none),
            [
                "--webhook-url on the command line ends up in your shell history; prefer DINGTALK_WEBHOOK_URL or the prompt",
                "--secret on the command line ends up in your shell history; prefer DINGTALK_SECRET or the prompt"
            ]
        );
        assert!(secret_flag_warnings_with(Some("u"), Some("s"), |_| true).is_empty());
        assert!(secret_flag_warnings_with(None, None, none).is_empty());
    }
}
