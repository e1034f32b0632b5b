//! Command line surface: every prompt of `deploy` also has a flag and an
//! environment variable, so CI never needs a terminal.

use clap::{builder::BoolishValueParser, Args, Parser, Subcommand};

use crate::commands::completions::CompletionsArgs;
use crate::commands::deploy::DeployArgs;
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

/// The command line as parsed and completed: `Cli` with `deploy --help`
/// showing each stack parameter's default from the template.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let mut cli = Cli::command();
    // In place: `mut_subcommand` would move `deploy` to the end of the list.
    if let Some(deploy) = cli.get_subcommands_mut().find(|c| c.get_name() == "deploy") {
        *deploy = crate::config::options::with_template_defaults_in_help(std::mem::take(deploy));
    }
    cli
}

/// Parses the process's arguments (exit 2 with clap's message when they are wrong).
pub fn parse() -> Cli {
    use clap::FromArgMatches;
    Cli::from_arg_matches(&command().get_matches()).unwrap_or_else(|e| e.exit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        command().debug_assert();
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
