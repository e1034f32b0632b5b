//! `dingtalk-notifier`: deploy, test, redrive and remove the AWS → DingTalk alert notifier.
//!
//! Exit codes: 0 ok, 1 error, 2 usage (clap), 130 interrupted.
//!
//! Layers, top to bottom: `commands` (one module per subcommand) use `aws`
//! (SDK clients, stack, bucket, secret), `function` (the local build) and `term` (prompts,
//! progress, output); `cli`, `config`, `errors` and `robot_security` are
//! shared by all.

mod aws;
mod cli;
mod commands;
mod config;
mod errors;
mod function;
mod regions;
mod robot_security;
mod routes;
mod rules;
mod template;
mod term;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::commands::{
    completions, connect_for_stack, deploy, destroy, preview, redrive, status, test_send,
};
use crate::errors::Interrupted;
use crate::term::interrupt::exit_on_ctrl_c;
use crate::term::output::{print_error, print_result, Ui};

fn main() -> ExitCode {
    let cli = cli::parse();
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
    // A prompt interrupted mid-way may leave the cursor hidden; only prompts
    // hide it, so a run that asks nothing writes no escape sequence here.
    let term = console::Term::stderr();
    if ui.interactive && term.is_term() {
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

async fn run(cli: Cli, ui: Ui) -> Result<()> {
    tokio::spawn(exit_on_ctrl_c());
    let global = cli.global;
    match cli.command {
        Command::Completions(args) => completions::run(&args, &mut std::io::stdout().lock()),
        Command::Preview(args) => print_result(&ui, &preview::run(&ui, &args)?),
        Command::Deploy(args) => {
            let result = deploy::run(&global, &ui, &args).await?;
            print_result(&ui, &result)
        }
        Command::Status => {
            let (aws, stack) = connect_for_stack(&global, &ui).await?;
            print_result(
                &ui,
                &ui.during(format!("reading {stack}"), status::run(&aws, &stack))
                    .await?,
            )
        }
        Command::Destroy(args) => {
            let (aws, stack) = connect_for_stack(&global, &ui).await?;
            print_result(&ui, &destroy::run(&aws, &ui, &stack, &args).await?)
        }
        Command::Redrive(args) => {
            let (aws, stack) = connect_for_stack(&global, &ui).await?;
            let (result, verdict) = redrive::run(&aws, &ui, &stack, &args).await?;
            print_result(&ui, &result)?;
            verdict
        }
        Command::TestSend(args) => {
            for warning in cli::secret_flag_warnings(
                args.webhook_url.as_deref(),
                args.signing_secret.as_deref(),
            ) {
                ui.warn(warning);
            }
            let (result, verdict) = test_send::run(&global, &ui, &args).await?;
            print_result(&ui, &result)?;
            verdict
        }
    }
}
