//! Before the first question: can this machine build the function? A
//! missing Rust target, zig or cargo-zigbuild used to show up only after
//! every prompt had been answered. The Rust target is offered and added on a
//! yes; zig and cargo-zigbuild are offered into the CLI's own tool cache
//! (`function::tool_cache`), and installed with `--yes`. Otherwise each missing
//! piece is named with the command that installs it.

use anyhow::{bail, Context, Result};

use super::args::DeployArgs;
use super::early_build::likely_arch;
use crate::config::DeployOptions;
use crate::function::build;
use crate::function::tool_cache;
use crate::function::toolchain::{self, Missing};
use crate::function::Arch;
use crate::term::output::Ui;
use crate::term::prompt;

/// Nothing to check with `--artifact`, or when the cache already holds this
/// function for the architecture chosen so far (flag, toml, else the
/// template's default).
pub fn check(ui: &Ui, args: &DeployArgs, options: &DeployOptions) -> Result<()> {
    if args.artifact.is_some() {
        return Ok(());
    }
    // A bad value is reported, with the others, where the answers are read.
    let Some(arch) = likely_arch(options) else {
        return Ok(());
    };
    if !args.force_build && build::is_cached(arch) {
        return Ok(());
    }
    let mut missing = still_missing(arch);
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
            missing = still_missing(arch);
        }
    }
    let venv = tool_cache::venv_dir()?;
    if missing.iter().any(Missing::is_zig_tool) && install_zig_tools(ui, &venv)? {
        missing = still_missing(arch);
    }
    if missing.is_empty() {
        return Ok(());
    }
    bail!(toolchain::explain(&missing, arch, &venv))
}

/// What the build still lacks (nothing when it has a way to build).
fn still_missing(arch: Arch) -> Vec<Missing> {
    toolchain::choose(&toolchain::probe(arch), arch)
        .err()
        .unwrap_or_default()
}

/// Offers (at a terminal) or, with `--yes`, goes ahead with installing zig
/// and cargo-zigbuild into the tool cache. False: not installed, and the
/// error names the command.
fn install_zig_tools(ui: &Ui, venv: &std::path::Path) -> Result<bool> {
    let go = if ui.interactive {
        ui.warn("zig and cargo-zigbuild are needed to cross-compile the function");
        prompt::confirm(
            &format!(
                "Install them from PyPI into {} (used only by dingtalk-notifier; PATH and \
                 shell untouched)?",
                venv.display()
            ),
            true,
        )?
    } else {
        ui.assume_yes
    };
    if go {
        tool_cache::install(ui, venv)?;
    }
    Ok(go)
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
