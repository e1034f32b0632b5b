//! Cross-compiling the Lambda function that ships inside this CLI.
//!
//! The function's sources are embedded in the binary (`dingtalk_notifier_lambda::sources`),
//! so `cargo install dingtalk-notifier` is all a user needs. They are written
//! to a cache directory and built there for Amazon Linux 2023 (glibc 2.34).
//! The result is cached by a hash of everything that goes into it, so a
//! deploy with nothing changed never rebuilds.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::function::cache_dir;
use crate::function::package;
use crate::function::target_arch::Arch;
use crate::function::tool_cache;
use crate::function::toolchain::{self, Tool};

/// Versions of the function's dependencies, pinned to what this CLI was tested with.
const CARGO_LOCK: &str = include_str!("../../Cargo.lock");
/// Amazon Linux 2023 ships glibc 2.34; linking against a newer one fails at cold start.
const GLIBC: &str = "2.34";

/// A function zip ready to upload.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub zip_path: PathBuf,
    pub sha256: String,
    pub size: u64,
    /// False when the zip came from the cache or from `--artifact`.
    pub rebuilt: bool,
}

pub struct BuildRequest {
    pub arch: Arch,
    /// Rebuild even when the cache has this exact input.
    pub force: bool,
    /// Draw a spinner with cargo's progress. Off for a build that runs in
    /// the background while `deploy` asks its questions.
    pub progress: bool,
    /// Where the running cargo is kept, so a build nobody waits for any more
    /// can be stopped ([`BuildSlot::stop`]) instead of outliving the CLI.
    pub slot: BuildSlot,
}

/// The process a build is running (cargo update, then cargo build), kept
/// where [`BuildSlot::stop`] can reach it.
#[derive(Debug, Clone, Default)]
pub struct BuildSlot(std::sync::Arc<std::sync::Mutex<SlotState>>);

#[derive(Debug, Default)]
struct SlotState {
    child: Option<std::process::Child>,
    stopped: bool,
}

impl BuildSlot {
    /// Kills the running process and refuses to start another.
    pub fn stop(&self) {
        if let Ok(mut state) = self.0.lock() {
            state.stopped = true;
            if let Some(child) = state.child.as_mut() {
                let _ = child.kill();
            }
        }
    }

    /// Starts `cmd` unless the build was stopped; hands back its stderr.
    fn spawn(&self, cmd: &mut Command) -> Result<Option<std::process::ChildStderr>> {
        let mut state = self
            .0
            .lock()
            .map_err(|_| anyhow::anyhow!("the build's state is unusable"))?;
        if state.stopped {
            bail!("the build was stopped");
        }
        let mut child = cmd.spawn().context("starting cargo")?;
        let stderr = child.stderr.take();
        state.child = Some(child);
        Ok(stderr)
    }

    /// Waits for the process [`spawn`](Self::spawn) started, polling, so
    /// that `stop` can take the lock meanwhile.
    fn wait(&self) -> Result<std::process::ExitStatus> {
        loop {
            {
                let mut state = self
                    .0
                    .lock()
                    .map_err(|_| anyhow::anyhow!("the build's state is unusable"))?;
                let child = state
                    .child
                    .as_mut()
                    .context("the build's process went missing")?;
                if let Some(status) = child.try_wait().context("waiting for cargo")? {
                    state.child = None;
                    return Ok(status);
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl BuildRequest {
    pub fn new(arch: Arch, force: bool) -> Self {
        BuildRequest {
            arch,
            force,
            progress: true,
            slot: BuildSlot::default(),
        }
    }

    pub fn in_background(mut self) -> Self {
        self.progress = false;
        self
    }
}

/// Uses a zip the user built (`--artifact`).
pub fn artifact_from_zip(path: &Path) -> Result<Artifact> {
    package::check_function_zip(path)?;
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Artifact {
        zip_path: path.to_path_buf(),
        sha256: hex::encode(Sha256::digest(&bytes)),
        size: bytes.len() as u64,
        rebuilt: false,
    })
}

/// Returns the function zip for `req.arch`, building it only when its inputs changed.
pub async fn ensure_artifact(req: &BuildRequest) -> Result<Artifact> {
    let cache = cache_dir()?;
    let tool = detect_tool(req.arch)?;
    let key = cache_key(req.arch, &tool);
    let zip_path = cache.join("artifacts").join(format!("{key}.zip"));
    if zip_path.is_file() && !req.force {
        let mut artifact = artifact_from_zip(&zip_path)?;
        artifact.rebuilt = false;
        return Ok(artifact);
    }
    let cache2 = cache.clone();
    let arch = req.arch;
    let progress = req.progress;
    let slot = req.slot.clone();
    let binary = tokio::task::spawn_blocking(move || {
        let _lock = lock_build(&cache2)?;
        run_build(&cache2, arch, &tool, progress, &slot)
    })
    .await
    .context("the build task panicked")??;
    std::fs::create_dir_all(zip_path.parent().unwrap_or(&cache))
        .with_context(|| format!("creating {}", cache.display()))?;
    // Zip next to the final name, then rename: Ctrl-C never leaves a partial cache entry.
    let tmp = zip_path.with_extension(format!("zip.{}.tmp", std::process::id()));
    package::zip_bootstrap(&binary, &tmp)?;
    std::fs::rename(&tmp, &zip_path).with_context(|| format!("writing {}", zip_path.display()))?;
    let mut artifact = artifact_from_zip(&zip_path)?;
    artifact.rebuilt = true;
    Ok(artifact)
}

/// Holds `<cache>/build.lock` (an OS file lock, released when the process
/// ends) so two deploys on one machine never extract into or build in the
/// shared source and target directories at the same time; the second waits.
fn lock_build(cache: &Path) -> Result<std::fs::File> {
    std::fs::create_dir_all(cache).with_context(|| format!("creating {}", cache.display()))?;
    let path = cache.join("build.lock");
    let file =
        std::fs::File::create(&path).with_context(|| format!("opening {}", path.display()))?;
    file.lock()
        .with_context(|| format!("waiting for {}", path.display()))?;
    Ok(file)
}

/// Narrows the tested Cargo.lock to the function's own dependencies
/// (`cargo update --workspace` only drops what the function does not use),
/// then refuses any package version the CLI was not tested with, so the
/// `--locked` build that follows uses exactly the pinned versions.
/// Offline first: the registry index cached by an earlier build is enough.
fn pin_lockfile(src: &Path, slot: &BuildSlot) -> Result<()> {
    let narrow = |offline: bool| -> Result<(bool, String)> {
        let mut cmd = Command::new("cargo");
        tool_cache::with_tools(&mut cmd);
        cmd.args(["update", "--workspace", "--quiet"])
            .current_dir(src)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if offline {
            cmd.arg("--offline");
        }
        let mut text = String::new();
        if let Some(mut stderr) = slot.spawn(&mut cmd)? {
            use std::io::Read;
            let _ = stderr.read_to_string(&mut text);
        }
        Ok((slot.wait()?.success(), text))
    };
    if !narrow(true)?.0 {
        let (ok, why) = narrow(false)?;
        if !ok {
            bail!(
                "cargo could not narrow the function's Cargo.lock: {}",
                why.trim()
            );
        }
    }
    let lock = src.join("Cargo.lock");
    let pruned =
        std::fs::read_to_string(&lock).with_context(|| format!("reading {}", lock.display()))?;
    let untested = untested_packages(&pruned, CARGO_LOCK)?;
    if !untested.is_empty() {
        bail!(
            "the function would build with dependency versions this CLI was not tested with: {}",
            untested.join(", ")
        );
    }
    Ok(())
}

/// `name version` of every package in `lock` that `tested` does not pin.
fn untested_packages(lock: &str, tested: &str) -> Result<Vec<String>> {
    fn packages(text: &str) -> Result<std::collections::BTreeSet<String>> {
        let doc: toml::Table = text.parse().context("reading a Cargo.lock")?;
        let list = doc.get("package").and_then(|p| p.as_array());
        Ok(list
            .into_iter()
            .flatten()
            .filter_map(|p| {
                Some(format!(
                    "{} {}",
                    p.get("name")?.as_str()?,
                    p.get("version")?.as_str()?
                ))
            })
            .collect())
    }
    let tested = packages(tested)?;
    Ok(packages(lock)?.difference(&tested).cloned().collect())
}

/// Where this machine's paths end up in the binary (panic locations, debug
/// strings, C `__FILE__`), and the fixed names they get instead: the same
/// sources give the same zip on every machine, whatever the user's home or
/// cache directory is called.
fn path_remaps(
    src: &Path,
    target_dir: &Path,
    cargo_home: Option<&Path>,
) -> Vec<(PathBuf, &'static str)> {
    let mut remaps = Vec::new();
    if let Some(home) = cargo_home {
        remaps.push((home.to_path_buf(), "/cargo"));
    }
    // Later remaps win in rustc: the specific ones last.
    remaps.push((target_dir.to_path_buf(), "/target"));
    remaps.push((src.to_path_buf(), "/build"));
    remaps
}

/// `--remap-path-prefix` for rustc, in cargo's 0x1f-separated form (paths may
/// hold spaces).
fn encoded_rustflags(remaps: &[(PathBuf, &str)]) -> String {
    remaps
        .iter()
        .map(|(from, to)| format!("--remap-path-prefix={}={to}", from.display()))
        .collect::<Vec<_>>()
        .join("\u{1f}")
}

/// The same for C code built by build scripts (ring's, through zig cc).
fn cflags(remaps: &[(PathBuf, &str)]) -> String {
    remaps
        .iter()
        .map(|(from, to)| format!("-ffile-prefix-map={}={to}", from.display()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".cargo")))
}

/// Hash of everything that decides the binary's bytes.
fn cache_key(arch: Arch, tool: &Tool) -> String {
    let mut h = Sha256::new();
    for (path, bytes) in dingtalk_notifier_lambda::sources::FILES {
        h.update(path.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    h.update(CARGO_LOCK.as_bytes());
    h.update(arch.target_triple().as_bytes());
    h.update(b"release");
    h.update(tool.name().as_bytes());
    // Paths remapped (see `path_remaps`): older cached zips are rebuilt.
    h.update(b"remap-path-prefix v1");
    hex::encode(h.finalize())
}

/// Picks the build tool, or says exactly what to install.
fn detect_tool(arch: Arch) -> Result<Tool> {
    toolchain::choose(&toolchain::probe(arch), arch).map_err(|missing| {
        let venv = tool_cache::venv_dir().unwrap_or_default();
        anyhow::anyhow!(toolchain::explain(&missing, arch, &venv))
    })
}

/// A zip for `arch` built from these exact sources is in the cache, so a
/// deploy needs no toolchain.
pub fn is_cached(arch: Arch) -> bool {
    let Ok(cache) = cache_dir() else {
        return false;
    };
    [
        Tool::Zigbuild,
        Tool::CargoLambda,
        Tool::Cargo { linker: None },
    ]
    .iter()
    .any(|tool| {
        cache
            .join("artifacts")
            .join(format!("{}.zip", cache_key(arch, tool)))
            .is_file()
    })
}

/// Writes the embedded sources as a standalone crate (see
/// `sources::standalone_manifest`) with the lock this CLI was tested with.
fn extract_sources(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cleaning {}", dir.display()))?;
    }
    for (path, bytes) in dingtalk_notifier_lambda::sources::FILES {
        let dest = dir.join(path);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let data: Vec<u8> = if *path == "Cargo.toml" {
            dingtalk_notifier_lambda::sources::standalone_manifest(&String::from_utf8_lossy(bytes))?
                .into_bytes()
        } else {
            bytes.to_vec()
        };
        std::fs::write(&dest, data).with_context(|| format!("writing {}", dest.display()))?;
    }
    std::fs::write(dir.join("Cargo.lock"), CARGO_LOCK)
        .with_context(|| format!("writing {}", dir.join("Cargo.lock").display()))?;
    Ok(())
}

/// cargo's arguments for `tool`: the release profile of the extracted
/// manifest, the lock as pinned, only the function's binary ([`built_binary`]
/// says where it ends up).
///
/// `cargo lambda build` gets the same target as `cargo zigbuild` (with
/// glibc pinned: `--arm64` is only a shortcut for the bare triple, which
/// links against zig's default glibc), `--compiler cargo-zigbuild` whatever
/// `CARGO_LAMBDA_COMPILER` says, and `--disable-optimizations`: its release
/// defaults would add `build.rustflags` (`target-cpu`), which our
/// `CARGO_ENCODED_RUSTFLAGS` overrides anyway, and profile settings the
/// manifest already makes. `--skip-target-check`: the target was checked
/// before (`toolchain::choose`), and a background build must never prompt.
fn build_args(tool: &Tool, arch: Arch) -> Vec<String> {
    let triple = arch.target_triple();
    let mut args: Vec<String> = match tool {
        Tool::Zigbuild => vec!["zigbuild".into()],
        Tool::CargoLambda => [
            "lambda",
            "build",
            "--compiler",
            "cargo-zigbuild",
            "--disable-optimizations",
            "--skip-target-check",
        ]
        .map(String::from)
        .to_vec(),
        Tool::Cargo { .. } => vec!["build".into()],
    };
    let target = match tool {
        Tool::Zigbuild | Tool::CargoLambda => format!("{triple}.{GLIBC}"),
        Tool::Cargo { .. } => triple.to_string(),
    };
    args.extend(
        [
            "--release",
            "--target",
            &target,
            "--locked",
            "--bin",
            "bootstrap",
        ]
        .map(String::from),
    );
    args
}

/// Where `tool` leaves the binary: cargo's own place, except that `cargo
/// lambda build` moves it to `<target dir>/lambda/<bin>/bootstrap`.
fn built_binary(tool: &Tool, target_dir: &Path, arch: Arch) -> PathBuf {
    match tool {
        Tool::CargoLambda => target_dir
            .join("lambda")
            .join("bootstrap")
            .join("bootstrap"),
        Tool::Zigbuild | Tool::Cargo { .. } => target_dir
            .join(arch.target_triple())
            .join("release")
            .join("bootstrap"),
    }
}

/// Without a terminal, a progress line at least this often: a CI log that
/// stops for minutes looks like a hung job.
const QUIET_LIMIT: std::time::Duration = std::time::Duration::from_secs(15);

/// Reads cargo's stderr until it closes: a spinner with its latest line on a
/// terminal; else (with `progress`) a line with the elapsed time and cargo's
/// latest line every [`QUIET_LIMIT`], also while cargo itself is silent (the
/// final link takes a minute). Returns the last 40 lines for an error.
fn follow_cargo(
    stderr: Option<std::process::ChildStderr>,
    arch: Arch,
    progress: bool,
) -> Vec<String> {
    use std::io::IsTerminal;
    use std::sync::mpsc;
    let Some(stderr) = stderr else {
        return Vec::new();
    };
    let tty = progress && std::io::stderr().is_terminal();
    let spinner = if tty {
        crate::term::output::spinner(&format!("compiling the function for {arch}"))
    } else {
        indicatif::ProgressBar::hidden()
    };
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let started = std::time::Instant::now();
    let mut said = started;
    let mut tail: Vec<String> = Vec::new();
    loop {
        match rx.recv_timeout(std::time::Duration::from_secs(1)) {
            Ok(line) => {
                spinner.set_message(line.trim().chars().take(100).collect::<String>());
                tail.push(line);
                if tail.len() > 40 {
                    tail.remove(0);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if progress && !tty && said.elapsed() >= QUIET_LIMIT {
            said = std::time::Instant::now();
            let last = tail.last().map(|l| l.trim()).unwrap_or("starting");
            eprintln!(
                "    compiling the function for {arch}: {} s, {last}",
                started.elapsed().as_secs()
            );
        }
    }
    spinner.finish_and_clear();
    tail
}

fn run_build(
    cache: &Path,
    arch: Arch,
    tool: &Tool,
    progress: bool,
    slot: &BuildSlot,
) -> Result<PathBuf> {
    let src = cache.join("lambda-src");
    let target_dir = cache.join("lambda-target");
    extract_sources(&src)?;
    pin_lockfile(&src, slot)?;
    let triple = arch.target_triple();
    let mut cmd = Command::new("cargo");
    // zig and cargo-zigbuild from the CLI's tool cache, for this build only.
    tool_cache::with_tools(&mut cmd);
    cmd.args(build_args(tool, arch));
    if let Tool::Cargo {
        linker: Some(linker),
    } = tool
    {
        let var = format!(
            "CARGO_TARGET_{}_LINKER",
            triple.to_uppercase().replace('-', "_")
        );
        cmd.env(var, linker);
    }
    let remaps = path_remaps(&src, &target_dir, cargo_home().as_deref());
    cmd.current_dir(&src)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("RUSTFLAGS")
        .env("CARGO_ENCODED_RUSTFLAGS", encoded_rustflags(&remaps))
        .env("CFLAGS", cflags(&remaps))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let stderr = slot.spawn(&mut cmd)?;
    let tail = follow_cargo(stderr, arch, progress);
    let status = slot.wait()?;
    if !status.success() {
        bail!(
            "building the function failed ({status}); last lines of cargo's output:\n{}",
            tail.join("\n")
        );
    }
    let binary = built_binary(tool, &target_dir, arch);
    if !binary.is_file() {
        bail!("cargo finished but {} is missing", binary.display());
    }
    Ok(binary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_paths_get_fixed_names() {
        let remaps = path_remaps(
            Path::new("/home/ann/.cache/dingtalk-notifier/lambda-src"),
            Path::new("/home/ann/.cache/dingtalk-notifier/lambda-target"),
            Some(Path::new("/home/ann/.cargo")),
        );
        assert_eq!(
            encoded_rustflags(&remaps),
            "--remap-path-prefix=/home/ann/.cargo=/cargo\u{1f}\
             --remap-path-prefix=/home/ann/.cache/dingtalk-notifier/lambda-target=/target\u{1f}\
             --remap-path-prefix=/home/ann/.cache/dingtalk-notifier/lambda-src=/build"
        );
        assert_eq!(
            cflags(&remaps),
            "-ffile-prefix-map=/home/ann/.cargo=/cargo \
             -ffile-prefix-map=/home/ann/.cache/dingtalk-notifier/lambda-target=/target \
             -ffile-prefix-map=/home/ann/.cache/dingtalk-notifier/lambda-src=/build"
        );
    }

    #[test]
    fn each_tool_builds_the_same_release_binary_with_the_pinned_lock() {
        let args = |tool: &Tool, arch| build_args(tool, arch).join(" ");
        assert_eq!(
            args(&Tool::Zigbuild, Arch::Arm64),
            "zigbuild --release --target aarch64-unknown-linux-gnu.2.34 --locked --bin bootstrap"
        );
        assert_eq!(
            args(&Tool::CargoLambda, Arch::Arm64),
            "lambda build --compiler cargo-zigbuild --disable-optimizations --skip-target-check \
             --release --target aarch64-unknown-linux-gnu.2.34 --locked --bin bootstrap"
        );
        assert_eq!(
            args(&Tool::CargoLambda, Arch::X86_64),
            "lambda build --compiler cargo-zigbuild --disable-optimizations --skip-target-check \
             --release --target x86_64-unknown-linux-gnu.2.34 --locked --bin bootstrap"
        );
        assert_eq!(
            args(
                &Tool::Cargo {
                    linker: Some("aarch64-linux-gnu-gcc".into())
                },
                Arch::Arm64
            ),
            "build --release --target aarch64-unknown-linux-gnu --locked --bin bootstrap"
        );
    }

    #[test]
    fn cargo_lambda_leaves_the_binary_in_its_lambda_dir() {
        let t = Path::new("/c/lambda-target");
        assert_eq!(
            built_binary(&Tool::CargoLambda, t, Arch::Arm64),
            Path::new("/c/lambda-target/lambda/bootstrap/bootstrap")
        );
        assert_eq!(
            built_binary(&Tool::Zigbuild, t, Arch::Arm64),
            Path::new("/c/lambda-target/aarch64-unknown-linux-gnu/release/bootstrap")
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_stopped_slot_kills_its_process() {
        let slot = BuildSlot::default();
        slot.spawn(Command::new("sleep").arg("30")).unwrap();
        let started = std::time::Instant::now();
        slot.stop();
        assert!(!slot.wait().unwrap().success());
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        // A stopped build starts nothing more.
        assert_eq!(
            slot.spawn(&mut Command::new("true"))
                .unwrap_err()
                .to_string(),
            "the build was stopped"
        );
    }

    #[test]
    fn a_second_build_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock_build(dir.path()).unwrap();
        let other = std::fs::File::open(dir.path().join("build.lock")).unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
        drop(held);
        // Another test of this process may be spawning a child right now: its
        // copy of our descriptor keeps the lock until it execs (CLOEXEC).
        let released = std::time::Instant::now();
        while other.try_lock().is_err() && released.elapsed() < std::time::Duration::from_secs(5) {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(other.try_lock().is_ok());
    }

    #[test]
    fn only_tested_versions_pass() {
        let tested = "version = 4\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n[[package]]\nname = \"b\"\nversion = \"2.0.0\"\n";
        let pruned = "version = 4\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n";
        assert!(untested_packages(pruned, tested).unwrap().is_empty());
        let newer = "version = 4\n[[package]]\nname = \"a\"\nversion = \"1.0.1\"\n";
        assert_eq!(untested_packages(newer, tested).unwrap(), vec!["a 1.0.1"]);
        assert!(untested_packages(CARGO_LOCK, CARGO_LOCK)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn arch_parses_lambda_names() {
        assert_eq!("arm64".parse::<Arch>(), Ok(Arch::Arm64));
        assert_eq!("x86_64".parse::<Arch>(), Ok(Arch::X86_64));
        assert_eq!(
            "sparc".parse::<Arch>().unwrap_err(),
            "unknown architecture `sparc`: choose arm64 or x86_64"
        );
        assert_eq!(Arch::Arm64.target_triple(), "aarch64-unknown-linux-gnu");
    }

    #[test]
    fn cache_key_depends_on_arch_and_tool() {
        let a = cache_key(Arch::Arm64, &Tool::Zigbuild);
        assert_eq!(a, cache_key(Arch::Arm64, &Tool::Zigbuild));
        assert_ne!(a, cache_key(Arch::X86_64, &Tool::Zigbuild));
        assert_ne!(a, cache_key(Arch::Arm64, &Tool::Cargo { linker: None }));
        assert_ne!(a, cache_key(Arch::Arm64, &Tool::CargoLambda));
    }

    /// A cached zip under the computed key is returned without running cargo.
    #[tokio::test]
    async fn cached_artifact_skips_the_build() {
        let dir = tempfile::tempdir().unwrap();
        // SAFETY of env mutation: this is the only test in this binary that sets it.
        std::env::set_var("DINGTALK_NOTIFIER_CACHE_DIR", dir.path());
        let tool = detect_tool(Arch::X86_64).unwrap();
        let key = cache_key(Arch::X86_64, &tool);
        let bin = dir.path().join("bin");
        std::fs::write(&bin, b"\x7fELF cached").unwrap();
        std::fs::create_dir_all(dir.path().join("artifacts")).unwrap();
        let zip = dir.path().join("artifacts").join(format!("{key}.zip"));
        let sha = package::zip_bootstrap(&bin, &zip).unwrap();
        let artifact = ensure_artifact(&BuildRequest::new(Arch::X86_64, false))
            .await
            .unwrap();
        std::env::remove_var("DINGTALK_NOTIFIER_CACHE_DIR");
        assert!(!artifact.rebuilt);
        assert_eq!(artifact.sha256, sha);
        assert_eq!(artifact.zip_path, zip);
        assert!(
            !dir.path().join("lambda-src").exists(),
            "no build was started"
        );
    }
}
