//! The notifier Lambda: AWS events in, DingTalk robot messages out.
//!
//! The library is split so that everything which decides *what* to say is pure
//! (`envelope`, `events`, `format`, `markdown`, `message`, `rendered`) and can
//! be tested with fixtures, while everything that talks to the outside world
//! (`secret`, `dingtalk`, `llm`) sits at the edges and is wired together in `handler`.
//! The CLI links this library too, so `test-send --direct` renders a sample
//! exactly the way the deployed function would, and `deploy` checks the LLM
//! settings against the same facts (`model_id`, `config::TEMPLATE_ENVIRONMENT`).

pub mod budget;
pub mod config;
pub mod debug_log;
pub mod dingtalk;
pub mod envelope;
pub mod events;
pub mod format;
pub mod handler;
pub mod health_thread;
pub mod llm;
pub mod logging;
pub mod markdown;
pub mod message;
pub mod model_id;
pub mod pacing;
pub mod rendered;
pub mod routing;
pub mod samples;
pub mod secret;
pub mod severity;
#[cfg(feature = "sources")]
pub mod sources;
pub mod webhook_host;
