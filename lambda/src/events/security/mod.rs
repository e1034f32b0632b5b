//! Security findings and sign-ins: Security Hub, Inspector, GuardDuty
//! Malware Protection, IAM Access Analyzer, Macie, CloudTrail, Config, ECR
//! scans, Trusted Advisor. One module per source; this table picks one by
//! `source` and `detail-type`.

use super::EventEnvelope;
use crate::rendered::{FormatOptions, Rendered};

/// `None` when the type is not one of ours or its `detail` does not parse.
pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let _ = (env, opts);
    None
}
