//! `deploy` checks its toolchain before it asks anything: the real binary
//! with a PATH that holds Rust (cargo, rustc) but no zig, no cargo-zigbuild
//! and no Python, no AWS settings at all, and an empty build cache.

mod common;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{rust_homes, text};
use expectrl::Session;

/// Where `program` is on this machine's PATH.
fn which(program: &str) -> PathBuf {
    let out = Command::new("which").arg(program).output().unwrap();
    assert!(out.status.success(), "{program} is not on PATH");
    PathBuf::from(text(&out.stdout).trim())
}

/// A bin directory with only cargo and rustc (rustup's proxies, which find
/// their toolchain through RUSTUP_HOME, set below), plus `extra` scripts.
fn rust_only_path(dir: &Path, extra: &[(&str, &str)]) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for program in ["cargo", "rustc"] {
        symlink(which(program), bin.join(program)).unwrap();
    }
    for (name, script) in extra {
        let path = bin.join(name);
        std::fs::write(&path, script).unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&path)
            .status()
            .unwrap();
    }
    bin
}

fn host_triple() -> String {
    let out = Command::new("rustc").arg("-vV").output().unwrap();
    text(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .unwrap()
}

#[test]
fn without_zig_deploy_names_each_install_command_before_anything_else() {
    let dir = tempfile::tempdir().unwrap();
    let bin = rust_only_path(dir.path(), &[]);
    // The other architecture than the host's: only zig can link it here.
    let arch = if host_triple().starts_with("aarch64") {
        ("x86_64", "x86_64-unknown-linux-gnu")
    } else {
        ("arm64", "aarch64-unknown-linux-gnu")
    };
    let out = common::cli(dir.path(), &["deploy", "--yes", "--arch", arch.0])
        .env("PATH", &bin)
        .envs(rust_homes())
        .env("DINGTALK_NOTIFIER_CACHE_DIR", dir.path().join("cache"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    let target_line = if text(&out.stderr).contains("rustup target add") {
        format!(
            "  - the Rust target {}: rustup target add {}\n",
            arch.1, arch.1
        )
    } else {
        String::new()
    };
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: this machine cannot build the function for {} ({}) yet; install:\n\
             {target_line}\
             \x20 - zig: python3 -m venv ~/.venvs/zig && ~/.venvs/zig/bin/pip install ziglang \
             && export PATH=\"$HOME/.venvs/zig/bin:$PATH\"   (or brew install zig, snap install \
             zig --classic --beta, pacman -S zig)\n\
             \x20 - cargo-zigbuild or cargo-lambda: cargo install --locked cargo-zigbuild   \
             (or cargo-lambda, zig included: brew install cargo-lambda/tap/cargo-lambda, or \
             python3 -m venv ~/.venvs/zig && ~/.venvs/zig/bin/pip install cargo-lambda && export PATH=\"$HOME/.venvs/zig/bin:$PATH\")\n\
             or build the zip elsewhere and pass --artifact PATH.zip\n",
            arch.0, arch.1
        )
    );
}

/// A rustup that has only the other target until `rustup target add` runs
/// (the real one would download a standard library); it logs its calls.
/// Shell builtins only: the PATH holds nothing else.
const RUSTUP: &str = r#"#!/bin/sh
dir=${0%/*}
echo "$*" >> "$dir/rustup.log"
case "$1 $2" in
  "target list") while read -r t; do echo "$t"; done < "$dir/targets" ;;
  "target add") echo "$3" >> "$dir/targets"; echo "installed $3" ;;
  *) exit 1 ;;
esac
"#;

#[test]
fn a_missing_rust_target_is_offered_and_added_on_yes() {
    let dir = tempfile::tempdir().unwrap();
    let bin = rust_only_path(dir.path(), &[("rustup", RUSTUP)]);
    // The host's architecture: plain cargo links it, so only the target is missing.
    let host = host_triple();
    let arch = if host.starts_with("aarch64") {
        "arm64"
    } else {
        "x86_64"
    };
    std::fs::write(bin.join("targets"), "wasm32-unknown-unknown\n").unwrap();

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dingtalk-notifier"));
    cmd.args(["deploy", "--arch", arch])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", &bin)
        .envs(rust_homes())
        .env("HOME", dir.path())
        .env("TERM", "xterm-256color")
        .env("NO_COLOR", "1")
        .env("DINGTALK_NOTIFIER_CACHE_DIR", dir.path().join("cache"));
    let mut session = Session::spawn(cmd).unwrap();
    session.set_expect_timeout(Some(Duration::from_secs(60)));
    session
        .expect(format!("the Rust target {host} is not installed").as_str())
        .unwrap();
    session
        .expect(format!("Run `rustup target add {host}` now?").as_str())
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    session.send_line("y").unwrap();
    session
        .expect(format!("installed {host}").as_str())
        .unwrap();
    // Only now the first question.
    session.expect("Stack name").unwrap();
    // The background build's own check runs beside the first question.
    let log_path = bin.join("rustup.log");
    let waited = std::time::Instant::now();
    let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    while read_log().lines().count() < 3 && waited.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    session.get_process_mut().exit(true).unwrap();
    let log = read_log();
    // Then the build started while the questions are asked looks again.
    assert!(
        log.starts_with(&format!(
            "target list --installed\ntarget add {host}\ntarget list --installed\n"
        )),
        "{log}"
    );
}
