//! The AWS plumbing the commands stand on: one `SdkConfig` and its clients,
//! the CloudFormation stack, the artifact bucket, the webhook secret, the
//! function zip they deploy, and the notifier's own alarms.

pub mod account_regions;
pub mod artifact_object;
pub mod artifacts;
pub mod bedrock;
pub mod build;
mod client;
pub mod connect;
pub mod constraints;
pub mod export_conflict;
pub mod forwarder_stacks;
pub mod function_code;
pub mod ops;
pub mod organization;
pub mod package;
pub mod queues;
pub mod region;
pub mod secret;
pub mod secret_policy;
pub mod stack;
pub mod stack_set;
pub mod tool_cache;
pub mod toolchain;

pub use client::{Aws, AwsOptions};
