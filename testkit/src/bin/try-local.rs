//! `try-local CLI BOOTSTRAP`: the local try-out (see `testkit::tryout`),
//! run by `scripts/try`, which builds both binaries first.

use std::path::PathBuf;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let (Some(cli), Some(bootstrap)) = (args.next(), args.next()) else {
        eprintln!(
            "usage: try-local PATH/TO/dingtalk-notifier PATH/TO/bootstrap (scripts/try runs it)"
        );
        return std::process::ExitCode::from(2);
    };
    match testkit::tryout::run(&cli, &bootstrap, &mut std::io::stderr()).await {
        Ok(_) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
