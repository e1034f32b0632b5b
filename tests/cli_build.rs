//! The real thing: `deploy` cross-compiles the embedded Lambda sources for
//! arm64 with cargo-zigbuild, zips and uploads them, and a second deploy with
//! nothing changed neither rebuilds, nor uploads, nor updates the stack.
//!
//! The build cache lives under target/ so repeated runs (and CI's second
//! step) reuse it; the first run takes minutes on two cores.

use std::io::Read;
use std::path::PathBuf;
use std::process::Command;

use testkit::Moto;

const WEBHOOK: &str = "https://oapi.dingtalk.com/robot/send?access_token=build-test-token";

fn cache_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("dingtalk-notifier-cache")
}

fn deploy(moto: &Moto, dir: &std::path::Path) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dingtalk-notifier"));
    cmd.args(["deploy", "--yes", "--json", "--stack-name", "build-test"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("DINGTALK_WEBHOOK_URL", WEBHOOK)
        .env("DINGTALK_NOTIFIER_CACHE_DIR", cache_dir())
        .stdin(std::process::Stdio::null());
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn deploy_cross_compiles_arm64_once_and_then_skips_everything() {
    let moto = Moto::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let first = deploy(&moto, dir.path());
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(doc["status"], "CREATE_COMPLETE");
    assert_eq!(doc["artifact"]["uploaded"], true);

    // The zip holds one executable `bootstrap`, an aarch64 ELF.
    let zip_path = std::fs::read_dir(cache_dir().join("artifacts"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.extension().is_some_and(|x| x == "zip")
                && sha256_hex(p) == doc["artifact"]["sha256"].as_str().unwrap()
        })
        .expect("the deployed zip is in the cache");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    assert_eq!(archive.len(), 1);
    let mut entry = archive.by_name("bootstrap").unwrap();
    assert_eq!(entry.unix_mode().unwrap() & 0o777, 0o755);
    let mut header = [0u8; 20];
    entry.read_exact(&mut header).unwrap();
    assert_eq!(&header[..4], b"\x7fELF");
    assert_eq!(
        u16::from_le_bytes([header[18], header[19]]),
        0xB7,
        "EM_AARCH64"
    );
    drop(entry);

    let second = deploy(&moto, dir.path());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    assert!(
        stderr.contains("unchanged since the last build (cached)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Stack build-test is up to date."),
        "{stderr}"
    );
    let doc2: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(doc2["artifact"]["rebuilt"], false);
    assert_eq!(doc2["artifact"]["uploaded"], false);
    assert_eq!(doc2["updated"], false);
    assert_eq!(doc2["artifact"]["sha256"], doc["artifact"]["sha256"]);
}

fn sha256_hex(path: &std::path::Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}
