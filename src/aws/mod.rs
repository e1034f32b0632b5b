//! The AWS plumbing the commands stand on: one `SdkConfig` and its clients,
//! the CloudFormation stack, the artifact bucket, the webhook secret, the
//! function zip they deploy, and the notifier's own alarms. Building that
//! zip never calls AWS: it lives in `crate::function`.

pub mod account_regions;
pub mod artifact_object;
pub mod artifacts;
pub mod bedrock;
mod client;
pub mod connect;
pub mod export_conflict;
pub mod forwarder_stacks;
pub mod function_code;
pub mod logs;
pub mod ops;
pub mod organization;
pub mod queues;
pub mod secret;
pub mod secret_policy;
pub mod stack;
pub mod stack_set;

pub use client::{Aws, AwsOptions};
