//! Every one of the function's integration tests, in one binary (as ripgrep
//! does): a binary per file linked the AWS SDK once per file, and that
//! linking was most of a CI run. Each module is one area; `cargo test
//! --test integration <module>::` runs one of them.

mod budget;
mod debug_logs;
mod delivery;
mod e2e;
mod format;
mod golden;
mod health_thread;
mod injection;
mod llm_limits;
mod plugins;
mod routing;
mod storm;
