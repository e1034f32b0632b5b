//! Before the first question: can this machine build the function? A
//! missing Rust target, zig or cargo-zigbuild used to show up only after
//! every prompt had been answered. Each missing piece is named with the
//! command that installs it; the Rust target is offered and added on a yes.

use anyhow::{bail, Context, Result};

use crate::aws::build::{self, Arch};
use crate::aws::toolchain::{self, Missing};
use crate::cli::DeployArgs;
use crate::config::DeployConfig;
use crate::term::output::Ui;
use crate::term::prompt;

/// Nothing to check with `--artifact`, or when the cache already holds this
/// function for the architecture chosen so far (flag, toml, else arm64).
pub fn check(ui: &Ui, args: &DeployArgs, cfg: &DeployConfig) -> Result<()> {
    if args.artifact.is_some() {
        return Ok(());
    }
    let chosen = args
        .architecture
        .as_deref()
        .or(cfg.architecture.as_deref())
        .unwrap_or("arm64");
    // A bad value is reported, with the others, where the answers are read.
    let Ok(arch) = chosen.parse::<Arch>() else {
        return Ok(());
    };
    if !args.force_build && build::is_cached(arch) {
        return Ok(());
    }
    let Err(missing) = toolchain::choose(&toolchain::probe(arch), arch) else {
        return Ok(());
    };
    let target = missing.iter().find_map(|m| match m {
        Missing::Target(triple) => Some(*triple),
        _ => None,
    });
    if let (Some(triple), true) = (target, ui.interactive) {
        ui.warn(format!(
            "the Rust target {triple} is not installed; the function is built for it"
        ));
        if prompt::confirm(&format!("Run `rustup target add {triple}` now?"), true)? {
            add_target(triple)?;
            if let Err(missing) = toolchain::choose(&toolchain::probe(arch), arch) {
                bail!(toolchain::explain(&missing, arch));
            }
            return Ok(());
        }
    }
    bail!(toolchain::explain(&missing, arch))
}

/// Runs `rustup target add`, its output shown as it goes.
fn add_target(triple: &str) -> Result<()> {
    let status = std::process::Command::new("rustup")
        .args(["target", "add", triple])
        .status()
        .context("running rustup")?;
    if !status.success() {
        bail!("`rustup target add {triple}` failed ({status}); run it yourself, then deploy again");
    }
    Ok(())
}
