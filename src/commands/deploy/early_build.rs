//! The function's cross-compile starts when `deploy` starts and runs while
//! the user answers the prompts: on a cold cache it is minutes of work, and
//! the questions take about as long.
//!
//! The architecture is a guess until the answers are in (flag, then
//! dingtalk-notifier.toml, then the default arm64). When the answers pick
//! another one, the guessed build is stopped and the right one starts (the
//! build cache's lock keeps two builds out of the same directories).

use anyhow::{Context, Result};
use tokio::task::JoinHandle;

use super::args::DeployArgs;
use crate::config::DeployOptions;
use crate::function::build::{self, Artifact, BuildRequest, BuildSlot};
use crate::function::Arch;

pub struct EarlyBuild {
    arch: Arch,
    handle: Option<JoinHandle<Result<Artifact>>>,
    slot: BuildSlot,
}

/// A deploy that ends before it needs the build (a bad answer, a refusal)
/// stops it: no cargo outlives the CLI.
impl Drop for EarlyBuild {
    fn drop(&mut self) {
        if self.handle.is_some() {
            self.slot.stop();
        }
    }
}

/// The architecture the answers will most likely give: the one given, else
/// the template's default.
pub fn likely_arch(options: &DeployOptions) -> Option<Arch> {
    let given = options.architecture.clone();
    let arch = match given {
        Some(a) => a,
        None => options.with_template_defaults().ok()?.architecture?,
    };
    arch.parse().ok()
}

/// Starts the build in the background; `None` without a terminal (no
/// questions to overlap with), with `--artifact` (nothing to build) or with an
/// architecture that does not parse (the answers will say so).
pub fn start(interactive: bool, args: &DeployArgs, options: &DeployOptions) -> Option<EarlyBuild> {
    if !interactive || args.artifact.is_some() {
        return None;
    }
    let arch = likely_arch(options)?;
    let request = BuildRequest::new(arch, args.force_build).in_background();
    let slot = request.slot.clone();
    let handle = tokio::spawn(async move { build::ensure_artifact(&request).await });
    Some(EarlyBuild {
        arch,
        handle: Some(handle),
        slot,
    })
}

impl EarlyBuild {
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// Waits for the build; the caller shows that it is waiting.
    pub async fn finish(mut self) -> Result<Artifact> {
        let handle = self
            .handle
            .take()
            .context("the background build was already taken")?;
        handle
            .await
            .context("the background build of the function stopped")?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guess_is_the_given_architecture_else_the_templates() {
        assert_eq!(likely_arch(&DeployOptions::default()), Some(Arch::Arm64));
        let given = |a: &str| DeployOptions {
            architecture: Some(a.into()),
            ..DeployOptions::default()
        };
        assert_eq!(likely_arch(&given("x86_64")), Some(Arch::X86_64));
        assert_eq!(likely_arch(&given("sparc")), None);
    }
}
