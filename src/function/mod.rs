//! The function, built locally: the cross build from the embedded sources,
//! the toolchain it needs, the tools the CLI installs for it, and the
//! reproducible zip. Nothing here calls AWS.

pub mod build;
pub mod package;
pub mod target_arch;
pub mod tool_cache;
pub mod toolchain;

use std::path::PathBuf;

use anyhow::{Context, Result};

pub use target_arch::Arch;

/// Where the build and the tools it needs are kept, shared by both so
/// neither imports the other for it.
pub fn cache_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("DINGTALK_NOTIFIER_CACHE_DIR") {
        return Ok(PathBuf::from(dir));
    }
    dirs::cache_dir()
        .map(|d| d.join("dingtalk-notifier"))
        .context("no cache directory on this system: set DINGTALK_NOTIFIER_CACHE_DIR")
}
