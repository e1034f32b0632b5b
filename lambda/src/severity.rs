//! One severity scale for every alert, whatever the source's own scale
//! (an alarm's state, GuardDuty's 0–10, Security Hub's labels, a job's
//! FAILED). Renderers map their source's scale onto it; the icon, the title
//! and the mention rules then read one value instead of a dozen vocabularies.
//! The mapping per source is documented in `docs/design.md` ("Severity").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Ordered from least to most urgent, so `a >= Severity::High` reads as
/// "at least high".
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Nothing to do: a recovery, a success, a notice.
    #[default]
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The icon a title starts with when the source has no icon of its own.
    pub fn icon(self) -> &'static str {
        match self {
            Severity::Info => "ℹ️",
            Severity::Low => "🔵",
            Severity::Medium => "🟡",
            Severity::High => "🟠",
            Severity::Critical => "🔴",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The value is not one of the five names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?}: use critical, high, medium, low or info")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;

    /// Case-insensitive, so `HIGH` from a config or an ASFF label parses too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownSeverity(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_from_info_to_critical() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::High > Severity::Medium);
        assert!(Severity::Medium > Severity::Low);
        assert!(Severity::Low > Severity::Info);
    }

    #[test]
    fn parses_any_case_and_refuses_other_words() {
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        assert_eq!(" critical ".parse::<Severity>(), Ok(Severity::Critical));
        assert_eq!(
            "urgent".parse::<Severity>().unwrap_err().to_string(),
            r#"unknown severity "urgent": use critical, high, medium, low or info"#
        );
    }
}
