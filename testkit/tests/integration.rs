//! Every one of the test world's integration tests, in one binary (as ripgrep
//! does): a binary per file linked the AWS SDK once per file, and that
//! linking was most of a CI run. Each module is one area; `cargo test
//! --test integration <module>::` runs one of them.

mod bedrock;
mod dingtalk;
mod world;

/// A reqwest client builder for the tests. reqwest is built with rustls and
/// no crypto provider in this workspace (the function installs ring: see
/// lambda/Cargo.toml), so the tests install the same one first.
pub fn http() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}
