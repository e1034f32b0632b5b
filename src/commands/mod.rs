//! One module per subcommand; each gathers its answers, acts through
//! [`crate::aws`], tells its progress through [`crate::term`], and returns
//! one result (`Serialize` for `--json`, `Display` for people) that main
//! prints once at the end.

pub mod completions;
pub mod deploy;
pub mod destroy;
pub mod preview;
pub mod redrive;
pub mod status;
pub mod test_send;

use anyhow::Result;

use crate::aws::connect::{connect, ConnectOptions};
use crate::aws::stack::StackInfo;
use crate::aws::Aws;
use crate::cli::GlobalArgs;
use crate::config;
use crate::term::output::Ui;

/// A result to print, then the command's verdict: a redrive that left alerts
/// behind, or a test alert that was not delivered, still reports what
/// happened (with `--json`) before exiting 1.
pub type Reported<R> = (R, Result<()>);

/// The global flags `aws::connect` reads, as plain data.
pub fn connect_options(global: &GlobalArgs) -> ConnectOptions {
    ConnectOptions {
        profile: global.profile.clone(),
        region: global.region.clone(),
        allow_unknown_region: global.allow_unknown_region,
    }
}

/// Stack name and region for the commands that act on an existing stack:
/// flags/env first, then dingtalk-notifier.toml, then the default name.
pub async fn connect_for_stack(global: &GlobalArgs, ui: &Ui) -> Result<(Aws, String)> {
    let cfg = config::load(&config::default_path())?.unwrap_or_default();
    let stack = global
        .stack_name
        .clone()
        .or(cfg.stack_name)
        .unwrap_or_else(|| deploy::DEFAULT_STACK_NAME.to_string());
    let aws = connect(&connect_options(global), cfg.region, ui.interactive).await?;
    Ok((aws, stack))
}

/// Whether the StackSet is to be looked at (`status` and `destroy`):
/// dingtalk-notifier.toml remembers `organization = true`, or the home stack
/// was deployed with an `OrganizationId` (the toml may be elsewhere, or not
/// yet written).
pub fn organization_was_on(stack: Option<&StackInfo>) -> Result<bool> {
    let remembered = config::load(&config::default_path())?.and_then(|c| c.organization);
    Ok(remembered == Some(true) || stack.is_some_and(StackInfo::deployed_for_organization))
}
