//! What rendering produces: the message plus what the handler needs to decide
//! on mentions, to log and to build a digest line. Shared by `events` (which
//! fills it) and `format` / `handler` (which use it).

use std::collections::BTreeMap;

use crate::message::Message;
pub use crate::severity::Severity;

#[derive(Debug, Clone)]
pub struct FormatOptions {
    /// Zone for every time shown in a message.
    pub time_zone: chrono_tz::Tz,
    /// Account id → name (`ACCOUNT_NAMES`): a group that watches forty
    /// accounts reads `prod-web`, not a twelve-digit number.
    pub account_names: BTreeMap<String, String>,
}

impl FormatOptions {
    /// `prod-web (111122223333)` for a named account, the id otherwise.
    pub fn account(&self, id: &str) -> String {
        match self.account_names.get(id) {
            Some(name) => format!("{name} ({id})"),
            None => id.to_string(),
        }
    }
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions {
            time_zone: chrono_tz::Asia::Shanghai,
            account_names: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    Health,
    HealthAbuse,
    Ec2StateChange,
    AlarmStateChange,
    GuardDutyFinding,
    CostAnomaly,
    Generic,
    Text,
    /// A typed message of `events::security` or `events::operations`, named
    /// by its log `kind` (`securityhub_finding`, `ecs_task_stopped`, ...):
    /// one variant, so adding a type touches only its own module.
    Typed(&'static str),
}

impl AlertKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            AlertKind::Health => "health",
            AlertKind::HealthAbuse => "health_abuse",
            AlertKind::Ec2StateChange => "ec2_state_change",
            AlertKind::AlarmStateChange => "alarm_state_change",
            AlertKind::GuardDutyFinding => "guardduty_finding",
            AlertKind::CostAnomaly => "cost_anomaly",
            AlertKind::Generic => "generic",
            AlertKind::Text => "text",
            AlertKind::Typed(kind) => kind,
        }
    }
}

/// A message plus what the handler needs to decide on mentions and to log.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Already fitted to [`crate::message::MAX_TEXT_BYTES`].
    pub message: Message,
    pub kind: AlertKind,
    /// The event's `source`, or `sns` for text and non-event JSON.
    pub source: String,
    /// The EventBridge event `id`.
    pub event_id: Option<String>,
    /// The state that `at_all_on` is matched against: the alarm's new state,
    /// the Health `statusCode`, the EC2 instance state, the GuardDuty
    /// severity level (`low`, `medium`, `high`, `critical`).
    pub state: Option<String>,
    /// Where the alert sits on the one scale every source maps to; the
    /// mention rules and digest order read it.
    pub severity: Severity,
    /// The console page the message links to, for a digest line.
    pub link: Option<String>,
    /// `region · MM-DD HH:MM:SS` of an event, for a digest line.
    pub context: Option<String>,
    /// `detail.test_id` of a `test-send --region` event ([`TEST_EVENT_SOURCE`]),
    /// logged on its outcome line: the event crosses a forwarder, a bus, SNS
    /// and SQS, and none of their ids reaches the function unchanged.
    pub test_id: Option<String>,
}

/// The source of `test-send --region`'s events, which both templates'
/// `TestEventRule` route. Not `aws.…`: EventBridge refuses PutEvents entries
/// with such a source (NotAuthorizedForSourceException).
pub const TEST_EVENT_SOURCE: &str = "dingtalk-notifier.test";
