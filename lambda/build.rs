//! Generates the table of this crate's own files for the `sources` feature
//! (see src/sources.rs). Walking the tree here means a new module or fixture
//! is embedded without anyone remembering to list it.

use std::path::{Path, PathBuf};

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_path_buf());
        }
    }
}

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=tests/fixtures");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=build.rs");
    let mut files = vec![PathBuf::from("build.rs")];
    walk(&root, &root.join("src"), &mut files);
    walk(&root, &root.join("tests/fixtures"), &mut files);
    files.sort();
    files.dedup();
    // (path in the extracted tree, file to embed). The manifest goes in as it
    // is (in a published crate: as `cargo package` normalised it);
    // `sources::standalone_manifest` makes it buildable on its own. No
    // Cargo.lock: the CLI writes the one it was built and tested with.
    let mut entries: Vec<(String, PathBuf)> = vec![("Cargo.toml".into(), root.join("Cargo.toml"))];
    for rel in files {
        let rel_str = rel.to_string_lossy().replace('\\', "/");
        entries.push((rel_str, root.join(&rel)));
    }
    let mut table = String::from("/// Every file needed to build this crate standalone: (relative path, bytes).\npub static FILES: &[(&str, &[u8])] = &[\n");
    for (rel_str, abs) in entries {
        table.push_str(&format!(
            "    ({rel_str:?}, include_bytes!({:?})),\n",
            abs.to_string_lossy()
        ));
    }
    table.push_str("];\n");
    std::fs::write(out_dir.join("sources.rs"), table).expect("writing OUT_DIR/sources.rs");
}
