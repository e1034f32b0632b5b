//! Every one of the CLI's integration tests, in one binary (as ripgrep
//! does): a binary per file linked the AWS SDK once per file, and that
//! linking was most of a CI run. Each module is one area; `cargo test
//! --test integration <module>::` runs one of them.

mod cli_bucket_owner;
mod cli_build;
mod cli_deploy;
mod cli_deploy_pty;
mod cli_first_hour;
mod cli_llm;
mod cli_misc;
mod cli_organization;
mod cli_prompt;
mod cli_redrive;
mod cli_regions;
mod cli_routing;
mod cli_secret_order;
mod cli_toolchain;
mod common;
mod completions;
mod iam_enforced;
mod iam_policy;
mod organization_flow;
mod package;
mod preview;
mod regions_flow;
mod template;
mod template_forwarder;
mod template_organization;
mod template_rules;
mod test_send;
mod try_local;
