//! The parts every operations message shares: the verdict (log kind,
//! severity, state), its icon, and the `Rendered` it becomes.

use super::super::EventEnvelope;
use crate::markdown::{time, Doc};
use crate::rendered::{AlertKind, FormatOptions, Rendered, Severity};

/// What a renderer decided about an event.
pub struct Verdict {
    /// The log `kind` ([`AlertKind::Typed`]).
    pub kind: &'static str,
    pub severity: Severity,
    /// The source's own word for it (`FAILED`, `SUCCEEDED`, ...): what
    /// `at_all_on` is matched against.
    pub state: String,
}

impl Verdict {
    pub fn new(kind: &'static str, severity: Severity, state: impl Into<String>) -> Verdict {
        Verdict {
            kind,
            severity,
            state: state.into(),
        }
    }

    /// ✅ for a success, else the severity's icon: a green tick reads as
    /// "nothing to do" faster than ℹ️.
    pub fn icon(&self) -> &'static str {
        let ok = matches!(
            self.state.to_ascii_uppercase().as_str(),
            "SUCCEEDED" | "SUCCESS" | "COMPLETED" | "COMPLIANT" | "SERVICE_DEPLOYMENT_COMPLETED"
        );
        if ok && self.severity == Severity::Info {
            "✅"
        } else {
            self.severity.icon()
        }
    }

    /// The finished message. `title` is the chat-list line (no markdown).
    pub fn finish(
        self,
        env: Option<&EventEnvelope>,
        title: String,
        doc: Doc,
        link: Option<String>,
    ) -> Rendered {
        Rendered {
            message: doc.into_message(title),
            kind: AlertKind::Typed(self.kind),
            source: env.map_or_else(|| "sns".to_string(), |e| e.source.clone()),
            event_id: env.map(|e| e.id.clone()).filter(|s| !s.is_empty()),
            state: Some(self.state).filter(|s| !s.is_empty()),
            severity: self.severity,
            link,
            context: None,
            test_id: None,
        }
    }
}

/// A time from the event in the team's zone; empty stays empty so
/// `Doc::field` skips it.
pub fn when(raw: &str, opts: &FormatOptions) -> String {
    if raw.trim().is_empty() {
        String::new()
    } else {
        time::show(raw, opts.time_zone)
    }
}

/// The part of an ARN or path after its last `sep`:
/// `...:cluster/default` → `default`.
pub fn tail(s: &str, sep: char) -> &str {
    s.rsplit(sep).next().unwrap_or(s)
}

/// The region of an ARN (`arn:aws:ecs:us-east-1:...`), empty if none.
pub fn arn_region(arn: &str) -> &str {
    arn.split(':').nth(3).unwrap_or("")
}

/// The event's region, or the one in `arn` when the event has none.
pub fn region<'a>(env: &'a EventEnvelope, arn: &'a str) -> &'a str {
    if env.region.is_empty() {
        arn_region(arn)
    } else {
        &env.region
    }
}
