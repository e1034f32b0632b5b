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
    // --no-input: nothing is installed, the one command is named.
    let out = common::cli(dir.path(), &["deploy", "--no-input", "--arch", arch.0])
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
             \x20 - zig and cargo-zigbuild, into dingtalk-notifier's own cache (your PATH, shell \
             and Python stay as they are; `deploy` at a terminal or with --yes does it for you): \
             python3 -m venv {venv} && {venv}/bin/python -m pip install --quiet \
             ziglang==0.17.1 cargo-zigbuild==0.24.1\n\
             or build the zip elsewhere and pass --artifact PATH.zip\n",
            arch.0,
            arch.1,
            venv = dir.path().join("cache/tools").display()
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

/// A python3 that stands in for the real one (no network here): `-m venv`
/// copies itself into DIR/bin, `-m pip install` "installs" cargo-zigbuild
/// and the ziglang module beside itself, `-m ziglang` works once installed.
/// Every call is logged to `log`.
fn fake_python(log: &Path) -> String {
    format!(
        r#"#!/bin/sh
here=${{0%/*}}
echo "$0 $*" >> {log}
case "$1 $2" in
  "-m venv") /bin/mkdir -p "$3/bin" && /bin/cp "$0" "$3/bin/python" && /bin/cp "$0" "$3/bin/python3" ;;
  "-m pip")
    printf '#!/bin/sh\necho cargo-zigbuild 0.24.1\n' > "$here/cargo-zigbuild"
    /bin/chmod +x "$here/cargo-zigbuild"
    : > "$here/ziglang"
    echo "Successfully installed ziglang-0.17.1 cargo-zigbuild-0.24.1" ;;
  "-m ziglang") [ -f "$here/ziglang" ] ;;
  *) exit 1 ;;
esac
"#,
        log = log.display()
    )
}

/// The other architecture than the host's: only zig can link it here.
fn zig_only_arch() -> &'static str {
    if host_triple().starts_with("aarch64") {
        "x86_64"
    } else {
        "arm64"
    }
}

#[test]
fn with_yes_zig_and_cargo_zigbuild_go_into_the_clis_own_cache() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("python.log");
    let bin = rust_only_path(dir.path(), &[("python3", &fake_python(&log))]);
    let cache = dir.path().join("cache");
    let venv = cache.join("tools");
    let out = common::cli(dir.path(), &["deploy", "--yes", "--arch", zig_only_arch()])
        .env("PATH", &bin)
        .envs(rust_homes())
        .env("DINGTALK_NOTIFIER_CACHE_DIR", &cache)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // Installed, then the deploy went on to its next need: a region.
    assert_eq!(
        text(&out.stderr),
        format!(
            "==> Installing zig and cargo-zigbuild into {v} (PyPI: ziglang==0.17.1, \
             cargo-zigbuild==0.24.1)\n    installing from PyPI: Successfully installed \
             ziglang-0.17.1 cargo-zigbuild-0.24.1\n✓ zig and cargo-zigbuild are in {v}\n\
             error: no AWS region: pass --region or set AWS_REGION\n",
            v = venv.display()
        )
    );
    let calls = std::fs::read_to_string(&log).unwrap();
    let venv_python = venv.join("bin/python");
    assert!(
        calls.contains(&format!("python3 -m venv {}\n", venv.display())),
        "{calls}"
    );
    assert!(
        calls.contains(&format!(
            "{} -m pip install --disable-pip-version-check ziglang==0.17.1 cargo-zigbuild==0.24.1\n",
            venv_python.display()
        )),
        "{calls}"
    );
    // Nothing outside the cache: no PATH line written anywhere in HOME.
    for rc in [".bashrc", ".profile", ".zshrc"] {
        assert!(!dir.path().join(rc).exists(), "{rc}");
    }
}

#[test]
fn tools_in_the_cache_are_found_with_no_path_change() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("python.log");
    // PATH: Rust only. The tools are where a previous install put them.
    let bin = rust_only_path(dir.path(), &[]);
    let cache = dir.path().join("cache");
    let tools = cache.join("tools/bin");
    std::fs::create_dir_all(&tools).unwrap();
    for (name, script) in [
        ("python3", fake_python(&log)),
        (
            "cargo-zigbuild",
            "#!/bin/sh\necho cargo-zigbuild 0.24.1\n".to_string(),
        ),
    ] {
        std::fs::write(tools.join(name), script).unwrap();
        Command::new("chmod")
            .arg("+x")
            .arg(tools.join(name))
            .status()
            .unwrap();
    }
    std::fs::write(tools.join("ziglang"), "").unwrap();
    let out = common::cli(
        dir.path(),
        &["deploy", "--no-input", "--arch", zig_only_arch()],
    )
    .env("PATH", &bin)
    .envs(rust_homes())
    .env("DINGTALK_NOTIFIER_CACHE_DIR", &cache)
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: no AWS region: pass --region or set AWS_REGION\n"
    );
    // zig was found through the cache's python3.
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains("-m ziglang version"));
}
