//! `dingtalk-notifier`: deploy, test, redrive and remove the AWS → DingTalk alert notifier.
//!
//! Exit codes: 0 ok, 1 error, 2 usage (clap), 130 interrupted.

mod artifacts;
mod aws;
mod build;
mod cli;
mod config;
mod deploy;
mod destroy;
mod errors;
mod output;
mod package;
mod prompt;
mod redrive;
mod secret;
mod stack;
mod status;
mod test_send;

use std::process::ExitCode;

use anyhow::Result;
use aws_sdk_sts::config::ProvideCredentials;
use clap::Parser;

use crate::aws::{Aws, AwsOptions};
use crate::cli::{Cli, Command, GlobalArgs};
use crate::errors::Interrupted;
use crate::output::Ui;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ui = Ui::new(
        cli.global.quiet,
        cli.global.json,
        cli.global.no_input,
        cli.global.yes,
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli, ui));
    // A prompt interrupted mid-way may leave the cursor hidden.
    let term = console::Term::stderr();
    if term.is_term() {
        let _ = term.show_cursor();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.downcast_ref::<Interrupted>().is_some() => ExitCode::from(130),
        Err(err) => {
            print_error(&err);
            ExitCode::FAILURE
        }
    }
}

/// `error: <message>` plus `caused by:` lines; a known AWS failure becomes one
/// friendly line. Never a Debug dump.
fn print_error(err: &anyhow::Error) {
    let red = |s: &str| console::style(s.to_string()).red().bold().for_stderr();
    if let Some(line) = errors::friendly(err) {
        eprintln!("{} {line}", red("error:"));
        return;
    }
    eprintln!("{} {err}", red("error:"));
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}

async fn run(cli: Cli, ui: Ui) -> Result<()> {
    tokio::spawn(exit_on_ctrl_c());
    let global = cli.global;
    match cli.command {
        Command::Deploy(args) => deploy::run(&global, &ui, &args).await,
        Command::Status => {
            let (aws, stack) = connect_for_stack(&global, &ui).await?;
            status::run(&aws, &ui, &stack).await
        }
        Command::Destroy(args) => {
            let (aws, stack) = connect_for_stack(&global, &ui).await?;
            destroy::run(&aws, &ui, &stack, &args).await
        }
        Command::Redrive(args) => {
            let (aws, stack) = connect_for_stack(&global, &ui).await?;
            redrive::run(&aws, &ui, &stack, &args).await
        }
        Command::TestSend(args) => {
            let (aws, stack) = connect_for_stack(&global, &ui).await?;
            test_send::run(&aws, &stack, ui.json, &args).await
        }
    }
}

/// Ctrl-C outside a stack wait: a masked prompt may have switched echo off,
/// so put the terminal back before leaving with 130.
async fn exit_on_ctrl_c() {
    while tokio::signal::ctrl_c().await.is_ok() {
        if stack::WAITING.load(std::sync::atomic::Ordering::SeqCst) {
            continue;
        }
        let term = console::Term::stderr();
        if term.is_term() {
            let _ = term.show_cursor();
            let _ = term.write_line("");
        }
        if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            let _ = std::process::Command::new("stty").arg("echo").status();
        }
        std::process::exit(130);
    }
}

/// Stack name and region for the commands that act on an existing stack:
/// flags/env first, then dingtalk-notifier.toml, then the default name.
async fn connect_for_stack(global: &GlobalArgs, ui: &Ui) -> Result<(Aws, String)> {
    let cfg = config::load(&config::default_path())?.unwrap_or_default();
    let stack = global
        .stack_name
        .clone()
        .or(cfg.stack_name)
        .unwrap_or_else(|| deploy::DEFAULT_STACK_NAME.to_string());
    let aws = connect(global, cfg.region, ui.interactive).await?;
    Ok((aws, stack))
}

/// Loads the SDK config once and checks, before any call, that there is a
/// region (asking for one at a terminal) and credentials.
pub async fn connect(
    global: &GlobalArgs,
    stored_region: Option<String>,
    interactive: bool,
) -> Result<Aws> {
    let mut opts = AwsOptions {
        profile: global.profile.clone(),
        region: global.region.clone().or(stored_region),
    };
    let mut aws = Aws::load(&opts).await;
    if aws.region().is_none() {
        if !interactive {
            anyhow::bail!(errors::NO_REGION);
        }
        let region = prompt::text(
            "AWS region",
            Some("ap-southeast-1"),
            deploy::validate_region,
        )?;
        opts.region = Some(region);
        aws = Aws::load(&opts).await;
    }
    let Some(provider) = aws.config.credentials_provider() else {
        anyhow::bail!(errors::NO_CREDENTIALS);
    };
    if let Err(e) = provider.provide_credentials().await {
        use aws_credential_types::provider::error::CredentialsError;
        return Err(match e {
            CredentialsError::CredentialsNotLoaded(_) => anyhow::anyhow!(errors::NO_CREDENTIALS),
            other => anyhow::anyhow!(
                "could not load AWS credentials: {}",
                aws_sdk_sts::error::DisplayErrorContext(&other)
            ),
        });
    }
    Ok(aws)
}
