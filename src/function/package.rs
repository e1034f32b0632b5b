//! The function zip: one `bootstrap` entry, byte-for-byte reproducible.
//!
//! Same binary in, same zip out: the content hash is the S3 key, so an
//! unchanged function is never uploaded twice and never triggers a stack update.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

/// Zips `binary` as `bootstrap` (mode 0755, timestamp 1980-01-01) into `out`
/// and returns the zip's SHA-256 in hex.
pub fn zip_bootstrap(binary: &Path, out: &Path) -> Result<String> {
    let bytes = std::fs::read(binary)
        .with_context(|| format!("reading the function binary {}", binary.display()))?;
    let zipped = zip_bytes(&bytes)?;
    std::fs::write(out, &zipped).with_context(|| format!("writing {}", out.display()))?;
    Ok(hex::encode(Sha256::digest(&zipped)))
}

fn zip_bytes(binary: &[u8]) -> Result<Vec<u8>> {
    let mut writer = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o755);
    writer.start_file("bootstrap", options)?;
    writer.write_all(binary)?;
    Ok(writer.finish()?.into_inner())
}

/// Checks that `path` is a zip Lambda can run on `provided.al2023`: it must
/// hold an executable `bootstrap` at its root.
pub fn check_function_zip(path: &Path) -> Result<()> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut archive =
        ZipArchive::new(file).with_context(|| format!("{} is not a zip file", path.display()))?;
    let mut entry = archive.by_name("bootstrap").map_err(|_| {
        anyhow::anyhow!(
            "{} has no `bootstrap` entry at its root; build it with `dingtalk-notifier deploy` (without --artifact) or zip the binary as `bootstrap`",
            path.display()
        )
    })?;
    if entry.unix_mode().is_some_and(|m| m & 0o111 == 0) {
        anyhow::bail!(
            "`bootstrap` in {} is not executable; zip it with mode 0755",
            path.display()
        );
    }
    let mut magic = [0u8; 4];
    entry.read_exact(&mut magic).ok();
    // Lambda runs an ELF binary or a script with a shebang as `bootstrap`.
    if magic != *b"\x7fELF" && !magic.starts_with(b"#!") {
        anyhow::bail!(
            "`bootstrap` in {} is not a Linux executable (neither ELF nor a #! script)",
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_binary_gives_identical_zip() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bootstrap");
        std::fs::write(&bin, b"\x7fELF fake binary").unwrap();
        let a = zip_bootstrap(&bin, &dir.path().join("a.zip")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let b = zip_bootstrap(&bin, &dir.path().join("b.zip")).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            std::fs::read(dir.path().join("a.zip")).unwrap(),
            std::fs::read(dir.path().join("b.zip")).unwrap()
        );
    }

    #[test]
    fn entry_is_executable_bootstrap() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::write(&bin, b"\x7fELF fake").unwrap();
        let zip = dir.path().join("f.zip");
        zip_bootstrap(&bin, &zip).unwrap();
        let mut archive = ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
        assert_eq!(archive.len(), 1);
        let entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name(), "bootstrap");
        assert_eq!(entry.unix_mode().unwrap() & 0o777, 0o755);
        drop(entry);
        check_function_zip(&zip).unwrap();
    }

    #[test]
    fn zip_without_bootstrap_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let zip = dir.path().join("f.zip");
        let mut w = ZipWriter::new(std::fs::File::create(&zip).unwrap());
        w.start_file("main", SimpleFileOptions::default()).unwrap();
        w.write_all(b"x").unwrap();
        w.finish().unwrap();
        let err = check_function_zip(&zip).unwrap_err().to_string();
        assert!(err.contains("has no `bootstrap` entry"), "{err}");
    }
}
