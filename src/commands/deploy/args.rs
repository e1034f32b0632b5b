//! `deploy`'s command line: the options it remembers (one definition each,
//! [`DeployOptions`]) and what belongs to this run only.

use std::path::PathBuf;

use clap::Args;

use crate::config::DeployOptions;

/// `deploy`'s arguments: the options it remembers, and what belongs to this
/// run only. The webhook and signing secret are not [`DeployOptions`], so
/// serde cannot write them to the toml.
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
    #[command(flatten)]
    pub options: DeployOptions,
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
    /// Use this function zip instead of building (must hold a `bootstrap` entry)
    #[arg(help_heading = "Function", long, env = "DINGTALK_NOTIFIER_ARTIFACT")]
    pub artifact: Option<PathBuf>,
    /// Rebuild the function even when the cache is current
    #[arg(help_heading = "Function", long)]
    pub force_build: bool,
}
