//! The two published crates as crates.io would get them: `cargo package`,
//! offline, from this checkout. The CLI ships its Cargo.lock and builds the
//! function from the sources the lambda crate embeds, so both lists must hold
//! what those builds need, the published function manifest must load on its
//! own once made standalone, and the CLI's lock must pin the function's
//! dependencies to the versions the tests ran with. (`--list` and
//! `--no-verify` take well under a second; a verifying `cargo package`
//! compiles both crates from scratch, minutes, so it is not run here.)

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use dingtalk_notifier_lambda::sources::{standalone_manifest, FILES};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(ROOT);
    cmd
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("running cargo");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `cargo package --list`, without the VCS note cargo adds in a git checkout.
fn packaged_files(krate: &str) -> BTreeSet<String> {
    run(cargo().args([
        "package",
        "--list",
        "--offline",
        "--allow-dirty",
        "-p",
        krate,
    ]))
    .lines()
    .filter(|l| *l != ".cargo_vcs_info.json")
    .map(str::to_string)
    .collect()
}

fn files_under(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            let rel = path.strip_prefix(ROOT).unwrap();
            out.insert(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// (name, version) of every package in a Cargo.lock.
fn locked(lock: &str) -> BTreeSet<(String, String)> {
    let doc: toml::Table = lock.parse().unwrap();
    doc["package"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_function_crate_ships_exactly_what_the_cli_embeds() {
    let mut want: BTreeSet<String> = FILES.iter().map(|(p, _)| p.to_string()).collect();
    want.extend(["Cargo.toml.orig".into(), "Cargo.lock".into()]);
    assert_eq!(packaged_files("dingtalk-notifier-lambda"), want);
}

#[test]
fn the_cli_crate_ships_its_sources_template_and_lock() {
    let mut want: BTreeSet<String> = [
        "Cargo.toml",
        "Cargo.toml.orig",
        "Cargo.lock",
        "README.md",
        "CHANGELOG.md",
    ]
    .map(String::from)
    .into();
    files_under(&Path::new(ROOT).join("src"), &mut want);
    files_under(&Path::new(ROOT).join("templates"), &mut want);
    assert!(want.contains("templates/notifier.yaml"));
    assert_eq!(packaged_files("dingtalk-notifier"), want);
}

/// What `cargo install dingtalk-notifier` then `deploy` does, short of
/// compiling: the published function crate (its manifest as `cargo package`
/// normalised it) made standalone, with the published CLI's lock, loads and
/// resolves to exactly the versions tested here.
#[test]
fn the_packaged_cli_builds_the_published_function_with_the_tested_lock() {
    let tmp = tempfile::tempdir().unwrap();
    run(cargo()
        .args([
            "package",
            "--no-verify",
            "--offline",
            "--locked",
            "--allow-dirty",
        ])
        .args(["-p", "dingtalk-notifier-lambda", "-p", "dingtalk-notifier"])
        .arg("--target-dir")
        .arg(tmp.path()));
    let unpacked = tmp.path().join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    for krate in ["dingtalk-notifier-0.1.0", "dingtalk-notifier-lambda-0.1.0"] {
        let file = tmp.path().join("package").join(format!("{krate}.crate"));
        run(Command::new("tar")
            .arg("xzf")
            .arg(&file)
            .arg("-C")
            .arg(&unpacked));
    }
    let cli_lock =
        std::fs::read_to_string(unpacked.join("dingtalk-notifier-0.1.0/Cargo.lock")).unwrap();
    let function = unpacked.join("dingtalk-notifier-lambda-0.1.0");
    let published = std::fs::read_to_string(function.join("Cargo.toml")).unwrap();
    assert!(!published.contains("[[test]]"), "{published}");
    std::fs::write(
        function.join("Cargo.toml"),
        standalone_manifest(&published).unwrap(),
    )
    .unwrap();
    std::fs::write(function.join("Cargo.lock"), &cli_lock).unwrap();
    // The manifest loads: every target it names is there.
    run(
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args([
                "metadata",
                "--offline",
                "--no-deps",
                "--format-version",
                "1",
            ])
            .current_dir(&function),
    );
    // Resolving with every dependency locked rewrites the lock: it drops
    // what only the CLI needs, and anything not pinned would get a version.
    run(
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["update", "--workspace", "--offline"])
            .current_dir(&function),
    );
    let resolved = locked(&std::fs::read_to_string(function.join("Cargo.lock")).unwrap());
    let tested = locked(&std::fs::read_to_string(Path::new(ROOT).join("Cargo.lock")).unwrap());
    let new: Vec<_> = resolved.difference(&tested).collect();
    assert!(new.is_empty(), "not the tested versions: {new:?}");
    for dep in [
        "aws-config",
        "aws-sdk-secretsmanager",
        "lambda_runtime",
        "reqwest",
        "tokio",
    ] {
        assert!(resolved.iter().any(|(n, _)| n == dep), "{dep} is resolved");
    }
}
