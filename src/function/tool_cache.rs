//! zig and cargo-zigbuild in a Python virtual environment the CLI owns,
//! under its cache directory (`<cache>/tools`), as cargo-lambda offers to
//! install zig. Nothing outside that directory changes: the user's PATH,
//! shell start-up files and Python stay as they are. The CLI finds the tools
//! there on every run and hands the environment's `bin` to the processes it
//! starts (the probe and the build) only, where `cargo zigbuild` runs
//! `python3 -m ziglang` from it.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::function::cache_dir;
use crate::term::output::Ui;

/// What is installed from PyPI: the versions `scripts/requirements.txt` pins
/// for the tests (a test checks that both lists agree).
pub const PACKAGES: [&str; 2] = ["ziglang==0.17.1", "cargo-zigbuild==0.24.1"];

/// Without a terminal, a line at least this often while pip works.
const QUIET_LIMIT: Duration = Duration::from_secs(15);

/// `<cache>/tools`: the virtual environment.
pub fn venv_dir() -> Result<PathBuf> {
    Ok(cache_dir()?.join("tools"))
}

fn bin_dir(venv: &Path) -> PathBuf {
    venv.join("bin")
}

/// PATH for the processes that probe and build: the cache's `bin` first,
/// then the user's PATH. `None` while nothing is installed there.
pub fn search_path() -> Option<OsString> {
    let venv = venv_dir().ok()?;
    search_path_with(&venv, std::env::var_os("PATH"))
}

fn search_path_with(venv: &Path, path: Option<OsString>) -> Option<OsString> {
    let bin = bin_dir(venv);
    if !bin.is_dir() {
        return None;
    }
    let rest = path.map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
    std::env::join_paths(std::iter::once(bin).chain(rest.into_iter().flatten())).ok()
}

/// `cmd` with the cache's `bin` ahead of the user's PATH, when there is one.
pub fn with_tools(cmd: &mut Command) -> &mut Command {
    if let Some(path) = search_path() {
        cmd.env("PATH", path);
    }
    cmd
}

/// The one shell command that installs the tools where the CLI looks.
pub fn install_command(venv: &Path) -> String {
    let v = shell_quote(&venv.display().to_string());
    let bin = shell_quote(&bin_dir(venv).join("python").display().to_string());
    format!(
        "python3 -m venv {v} && {bin} -m pip install --quiet {}",
        PACKAGES.join(" ")
    )
}

fn shell_quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+=:@%,".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Makes the environment (`python3 -m venv`) and installs [`PACKAGES`]
/// into it, pip's progress shown as it goes.
pub fn install(ui: &Ui, venv: &Path) -> Result<()> {
    ui.step(format!(
        "Installing zig and cargo-zigbuild into {} (PyPI: {})",
        venv.display(),
        PACKAGES.join(", ")
    ));
    let mut create = Command::new("python3");
    create.arg("-m").arg("venv").arg(venv);
    run_logged(ui, &mut create, "creating the virtual environment").map_err(|e| {
        e.context(
            "python3 -m venv failed: install Python 3 with its venv module \
             (Debian/Ubuntu: apt install python3-venv), or install zig and cargo-zigbuild yourself",
        )
    })?;
    let mut pip = Command::new(bin_dir(venv).join("python"));
    pip.args(["-m", "pip", "install", "--disable-pip-version-check"])
        .args(PACKAGES);
    run_logged(ui, &mut pip, "installing from PyPI")
        .with_context(|| format!("pip could not install {}", PACKAGES.join(" ")))?;
    ui.success(format!("zig and cargo-zigbuild are in {}", venv.display()));
    Ok(())
}

/// Runs `cmd`; its output goes to a spinner on a terminal, else a line at
/// least every 15 s. On failure, the error holds its last lines.
fn run_logged(ui: &Ui, cmd: &mut Command, what: &str) -> Result<()> {
    let progress = ui.progress(what);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {:?}", cmd.get_program()))?;
    let mut tail: Vec<String> = Vec::new();
    let mut said: Option<Instant> = None;
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            progress.set(line.trim().chars().take(100).collect::<String>());
            if !ui.stderr_is_terminal() && said.is_none_or(|t| t.elapsed() >= QUIET_LIMIT) {
                progress.line(format!("    {what}: {}", line.trim()));
                said = Some(Instant::now());
            }
            tail.push(line);
            if tail.len() > 20 {
                tail.remove(0);
            }
        }
    }
    let status = child.wait().context("waiting for pip")?;
    progress.finish();
    if !status.success() {
        bail!("{what} failed ({status}):\n{}", tail.join("\n"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_bin_comes_first_and_only_when_it_exists() {
        let dir = tempfile::tempdir().unwrap();
        let venv = dir.path().join("tools");
        assert_eq!(search_path_with(&venv, Some("/usr/bin".into())), None);
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        let path = search_path_with(&venv, Some("/usr/local/bin:/usr/bin".into())).unwrap();
        assert_eq!(
            path,
            OsString::from(format!(
                "{}:/usr/local/bin:/usr/bin",
                venv.join("bin").display()
            ))
        );
    }

    #[test]
    fn the_install_command_is_one_line_with_quoted_paths() {
        assert_eq!(
            install_command(Path::new("/home/ann/.cache/dingtalk-notifier/tools")),
            "python3 -m venv /home/ann/.cache/dingtalk-notifier/tools && \
             /home/ann/.cache/dingtalk-notifier/tools/bin/python -m pip install --quiet \
             ziglang==0.17.1 cargo-zigbuild==0.24.1"
        );
        assert_eq!(
            install_command(Path::new("/Users/Ann Lee/Library/Caches/d")),
            "python3 -m venv '/Users/Ann Lee/Library/Caches/d' && \
             '/Users/Ann Lee/Library/Caches/d/bin/python' -m pip install --quiet \
             ziglang==0.17.1 cargo-zigbuild==0.24.1"
        );
    }

    #[test]
    fn the_versions_are_the_ones_the_tests_use() {
        let pinned = include_str!("../../scripts/requirements.txt");
        for package in PACKAGES {
            assert!(
                pinned.lines().any(|l| l.trim() == package),
                "{package} is not what scripts/requirements.txt pins"
            );
        }
    }
}
