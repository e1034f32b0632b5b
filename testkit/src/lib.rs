//! The local test world for dingtalk-notifier: real servers on 127.0.0.1 that
//! speak the real protocols, so tests run the production code with nothing
//! but its endpoints changed.
//!
//! - [`Moto`]: the moto AWS emulator (`moto_server`), one per test.
//! - [`DingTalkServer`]: a DingTalk custom robot that checks signatures,
//!   keywords, message shape and whole-body size, and enforces the rate limit
//!   (20 a window, then a 10-window block) with the real answers.
//! - [`BedrockServer`]: Bedrock Runtime's Converse API, including its errors.
//! - [`LambdaEmulator`]: the Lambda Runtime API, running a real `bootstrap`;
//!   [`lambda_events`] builds the events it hands the function.
//! - [`SnsLambdaBridge`]: SNS topic -> SQS queue -> event source mapping ->
//!   function -> CloudWatch Logs, the part of AWS that moto cannot do without
//!   Docker.
//!
//! - [`tryout`]: the local try-out (`scripts/try`): deploy, test-send and
//!   destroy with the real CLI against all of the above.
//!
//! Every server runs on its own thread with its own runtime, so it works from
//! sync and async tests alike, and stops when dropped.

pub mod bedrock;
pub mod bridge;
pub mod dingtalk;
pub mod lambda_events;
pub mod lambda_rt;
pub mod moto;
mod server;
pub mod tryout;

pub use bedrock::{
    on_demand_refusal, BedrockMode, BedrockRequest, BedrockServer, INVALID_MODEL_ID,
};
pub use bridge::{Batch, BridgeOptions, SnsLambdaBridge};
pub use dingtalk::{
    notified, DingTalkOptions, DingTalkRobots, DingTalkServer, Notified, RecordedRequest,
    ThrottleReply,
};
pub use lambda_rt::{bootstrap_binary, Invocation, LambdaEmulator, Outcome};
pub use moto::{Moto, MotoOptions};
