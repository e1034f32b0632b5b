//! The CloudFormation templates the CLI deploys, compiled in, and what the
//! CLI reads from them without calling AWS (the parameters' constraints and
//! defaults): one source of truth for the CLI and CloudFormation.

pub mod constraints;

/// The notifier stack: rules, topic, queues, function, alarms.
pub const TEMPLATE: &str = include_str!("../../templates/notifier.yaml");
/// A forwarder stack (another region, or a member account).
pub const FORWARDER_TEMPLATE: &str = include_str!("../../templates/forwarder.yaml");
