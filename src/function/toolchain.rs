//! What cross-compiling the function needs on this machine: cargo, the Rust
//! target, and zig with cargo-zigbuild or cargo-lambda (or, for the host's
//! own architecture or with a cross linker, plain cargo). [`choose`] decides
//! from a [`Probe`] without side effects, so `deploy` can check before it
//! asks anything and the build uses the same decision.
//!
//! With both zig builders installed, cargo-zigbuild wins: `cargo lambda
//! build` links through the same cargo-zigbuild code, so it gives nothing
//! more for this one binary, while it brings its own release defaults
//! (turned off, see `function::build`) and may install zig on its own; the
//! zigbuild path is also the one the tests and CI exercise.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::function::tool_cache;
use crate::function::Arch;

/// What is installed, as far as the build cares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Probe {
    pub cargo: bool,
    /// `rustup target list --installed`; `None` without rustup (a Rust from
    /// a distribution: its targets cannot be listed, so none is required).
    pub installed_targets: Option<Vec<String>>,
    pub zig: bool,
    pub cargo_zigbuild: bool,
    /// `cargo lambda` (the ecosystem's usual tool; it builds with zig too).
    pub cargo_lambda: bool,
    /// `rustc -vV`'s host triple.
    pub host: Option<String>,
    /// The distribution's cross linker for the target (`aarch64-linux-gnu-gcc`).
    pub cross_gcc: bool,
}

/// How the cross-compile is done; part of the build cache key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tool {
    /// `cargo zigbuild`, with zig as the linker and glibc pinned.
    Zigbuild,
    /// `cargo lambda build`, which runs cargo-zigbuild's code: zig as the
    /// linker and the same glibc pin.
    CargoLambda,
    /// Plain `cargo build`, optionally with a cross linker from the system.
    Cargo { linker: Option<String> },
}

impl Tool {
    pub fn name(&self) -> &'static str {
        match self {
            Tool::Zigbuild => "zigbuild",
            Tool::CargoLambda => "cargo-lambda",
            Tool::Cargo { .. } => "cargo",
        }
    }
}

/// One missing piece, with the exact command that installs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    Cargo,
    Target(&'static str),
    Zig,
    /// Neither cargo-zigbuild nor cargo-lambda.
    CargoZigbuild,
}

impl Missing {
    /// zig or cargo-zigbuild: both come from the CLI's own tool cache.
    pub fn is_zig_tool(&self) -> bool {
        matches!(self, Missing::Zig | Missing::CargoZigbuild)
    }
}

/// The Rust pieces, each with the command that installs it.
fn rust_line(missing: &Missing) -> Option<String> {
    match missing {
        Missing::Cargo => Some(
            "Rust (cargo): curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh".into(),
        ),
        Missing::Target(triple) => Some(format!(
            "the Rust target {triple}: rustup target add {triple}"
        )),
        Missing::Zig | Missing::CargoZigbuild => None,
    }
}

/// The cross linker a distribution packages for `arch`.
pub fn cross_gcc(arch: Arch) -> &'static str {
    match arch {
        Arch::Arm64 => "aarch64-linux-gnu-gcc",
        Arch::X86_64 => "x86_64-linux-gnu-gcc",
    }
}

/// The tool to build with, or every piece that is missing.
pub fn choose(probe: &Probe, arch: Arch) -> Result<Tool, Vec<Missing>> {
    if !probe.cargo {
        return Err(vec![Missing::Cargo]);
    }
    let triple = arch.target_triple();
    let mut missing = Vec::new();
    if let Some(installed) = &probe.installed_targets {
        if !installed.iter().any(|t| t == triple) {
            missing.push(Missing::Target(triple));
        }
    }
    let tool = if probe.cargo_zigbuild && probe.zig {
        Tool::Zigbuild
    } else if probe.cargo_lambda && probe.zig {
        Tool::CargoLambda
    } else if probe.host.as_deref() == Some(triple) {
        Tool::Cargo { linker: None }
    } else if probe.cross_gcc {
        Tool::Cargo {
            linker: Some(cross_gcc(arch).to_string()),
        }
    } else {
        if !probe.zig {
            missing.push(Missing::Zig);
        }
        if !probe.cargo_zigbuild && !probe.cargo_lambda {
            missing.push(Missing::CargoZigbuild);
        }
        return Err(missing);
    };
    if missing.is_empty() {
        Ok(tool)
    } else {
        Err(missing)
    }
}

/// One error for people: what is missing and how to install each piece.
/// zig and cargo-zigbuild are one line: the one command that puts both in
/// the CLI's tool cache (`venv`), where it finds them with no PATH change.
pub fn explain(missing: &[Missing], arch: Arch, venv: &Path) -> String {
    let mut text = format!(
        "this machine cannot build the function for {arch} ({}) yet; install:",
        arch.target_triple()
    );
    for line in missing.iter().filter_map(rust_line) {
        text.push_str(&format!("\n  - {line}"));
    }
    if missing.iter().any(Missing::is_zig_tool) {
        text.push_str(&format!(
            "\n  - zig and cargo-zigbuild, into dingtalk-notifier's own cache (your PATH, shell \
             and Python stay as they are; `deploy` at a terminal or with --yes does it for you): {}",
            tool_cache::install_command(venv)
        ));
    }
    text.push_str("\nor build the zip elsewhere and pass --artifact PATH.zip");
    text
}

/// Looks at what is installed (runs `--version` style commands).
pub fn probe(arch: Arch) -> Probe {
    let installed_targets = tool_cache::with_tools(&mut Command::new("rustup"))
        .args(["target", "list", "--installed"])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|l| l.trim().to_string())
                .collect()
        });
    Probe {
        cargo: succeeds("cargo", &["--version"]),
        installed_targets,
        zig: zig_available(),
        cargo_zigbuild: succeeds("cargo-zigbuild", &["--version"]),
        cargo_lambda: succeeds("cargo", &["lambda", "--version"]),
        host: host_triple(),
        cross_gcc: succeeds(cross_gcc(arch), &["--version"]),
    }
}

/// Runs `program` with the tool cache's `bin` ahead of PATH, as the build will.
fn succeeds(program: &str, args: &[&str]) -> bool {
    tool_cache::with_tools(&mut Command::new(program))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// zig on PATH, or the `ziglang` Python package (what cargo-zigbuild also
/// falls back to).
fn zig_available() -> bool {
    succeeds("zig", &["version"])
        || ["python3", "python"]
            .iter()
            .any(|py| succeeds(py, &["-m", "ziglang", "version"]))
}

fn host_triple() -> Option<String> {
    let out = Command::new("rustc").arg("-vV").output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Probe {
        Probe {
            cargo: true,
            installed_targets: Some(vec![
                "x86_64-unknown-linux-gnu".into(),
                "aarch64-unknown-linux-gnu".into(),
            ]),
            zig: true,
            cargo_zigbuild: true,
            cargo_lambda: false,
            host: Some("x86_64-unknown-linux-gnu".into()),
            cross_gcc: false,
        }
    }

    #[test]
    fn zigbuild_when_everything_is_there() {
        assert_eq!(choose(&full(), Arch::Arm64), Ok(Tool::Zigbuild));
    }

    #[test]
    fn cargo_lambda_builds_when_cargo_zigbuild_is_missing() {
        let lambda_only = Probe {
            cargo_zigbuild: false,
            cargo_lambda: true,
            ..full()
        };
        assert_eq!(choose(&lambda_only, Arch::Arm64), Ok(Tool::CargoLambda));
        // Both installed: cargo-zigbuild, the one the tests exercise.
        let both = Probe {
            cargo_lambda: true,
            ..full()
        };
        assert_eq!(choose(&both, Arch::Arm64), Ok(Tool::Zigbuild));
        // cargo-lambda links with zig too: without zig, zig is what is missing.
        let no_zig = Probe {
            zig: false,
            ..lambda_only
        };
        assert_eq!(choose(&no_zig, Arch::Arm64), Err(vec![Missing::Zig]));
    }

    #[test]
    fn every_missing_piece_is_named() {
        let p = Probe {
            installed_targets: Some(vec!["x86_64-unknown-linux-gnu".into()]),
            zig: false,
            cargo_zigbuild: false,
            ..full()
        };
        assert_eq!(
            choose(&p, Arch::Arm64),
            Err(vec![
                Missing::Target("aarch64-unknown-linux-gnu"),
                Missing::Zig,
                Missing::CargoZigbuild
            ])
        );
        // The host's own architecture needs no zig; a cross linker will do too.
        assert_eq!(choose(&p, Arch::X86_64), Ok(Tool::Cargo { linker: None }));
        let with_gcc = Probe {
            cross_gcc: true,
            installed_targets: full().installed_targets,
            ..p.clone()
        };
        assert_eq!(
            choose(&with_gcc, Arch::Arm64),
            Ok(Tool::Cargo {
                linker: Some("aarch64-linux-gnu-gcc".into())
            })
        );
        assert_eq!(
            choose(&Probe::default(), Arch::Arm64),
            Err(vec![Missing::Cargo])
        );
    }

    #[test]
    fn the_explanation_gives_each_command() {
        assert_eq!(
            explain(
                &[
                    Missing::Target("aarch64-unknown-linux-gnu"),
                    Missing::Zig,
                    Missing::CargoZigbuild
                ],
                Arch::Arm64,
                Path::new("/home/ann/.cache/dingtalk-notifier/tools")
            ),
            "this machine cannot build the function for arm64 (aarch64-unknown-linux-gnu) yet; install:\n  \
             - the Rust target aarch64-unknown-linux-gnu: rustup target add aarch64-unknown-linux-gnu\n  \
             - zig and cargo-zigbuild, into dingtalk-notifier's own cache (your PATH, shell and \
             Python stay as they are; `deploy` at a terminal or with --yes does it for you): \
             python3 -m venv /home/ann/.cache/dingtalk-notifier/tools && \
             /home/ann/.cache/dingtalk-notifier/tools/bin/python -m pip install --quiet \
             ziglang==0.17.1 cargo-zigbuild==0.24.1\n\
             or build the zip elsewhere and pass --artifact PATH.zip"
        );
    }
}
