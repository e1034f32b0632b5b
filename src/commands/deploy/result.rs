//! What `deploy` reports: one value, printed as JSON with `--json` and as
//! text otherwise.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

pub use super::forwarders::RegionResult;
pub use super::organization::OrganizationResult;
use crate::term::output::table;

#[derive(Debug, Serialize)]
pub struct DeployResult {
    pub stack: String,
    pub region: String,
    pub status: String,
    /// A change set was executed (false: the stack was already up to date).
    pub updated: bool,
    pub outputs: BTreeMap<String, String>,
    /// The EventBridge rules that are on (`health`, `ec2` ...).
    pub rules: Vec<String>,
    pub artifact: ArtifactResult,
    pub secret: SecretResult,
    /// One entry per forwarder region (`--regions`), sorted by region.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forwarders: Vec<RegionResult>,
    /// The organization's forwarder StackSet (`--organization`, or its
    /// removal with `--no-organization`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrganizationResult>,
}

#[derive(Debug, Serialize)]
pub struct ArtifactResult {
    pub sha256: String,
    pub size: u64,
    pub rebuilt: bool,
    pub uploaded: bool,
    pub bucket: String,
    pub key: String,
}

/// The secret's ARN and what happened to it; never its value.
#[derive(Debug, Serialize)]
pub struct SecretResult {
    pub arn: String,
    pub created: bool,
    pub updated: bool,
}

/// For people: what they need next (the topic to point plugins and alarm
/// actions at, the rules that are on, where the logs are) and the next
/// command. Every output is in `--json` and `status`.
impl fmt::Display for DeployResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let output = |k: &str| self.outputs.get(k).cloned().unwrap_or_else(|| "-".into());
        let rules = if self.rules.is_empty() {
            "none".to_string()
        } else {
            self.rules.join(", ")
        };
        let rows = [
            ("Topic ARN".to_string(), output("TopicArn")),
            (
                String::new(),
                "(for plugins and CloudWatch alarm actions)".into(),
            ),
            ("Rules on".to_string(), rules),
            ("Log group".to_string(), output("LogGroupName")),
        ];
        f.write_str(&table(&rows))?;
        if !self.forwarders.is_empty() {
            let rows: Vec<(String, String)> = self
                .forwarders
                .iter()
                .map(|r| (r.region.clone(), format!("{} ({})", r.stack, r.outcome)))
                .collect();
            write!(f, "\nForwarders to {}:\n{}", self.region, table(&rows))?;
        }
        if let Some(o) = &self.organization {
            let rows = [(
                format!("Organization {}", o.organization_id),
                format!(
                    "{} ({}, {} member account(s) x {} region(s))",
                    o.stack_set,
                    o.outcome,
                    o.member_accounts,
                    o.regions.len()
                ),
            )];
            write!(f, "\n{}", table(&rows))?;
        }
        f.write_str(
            "\nNext: dingtalk-notifier test-send   (a sample alert to the DingTalk group)\n",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_get_the_topic_rules_log_group_and_next_command() {
        let result = DeployResult {
            stack: "alerts".into(),
            region: "ap-southeast-1".into(),
            status: "CREATE_COMPLETE".into(),
            updated: true,
            outputs: BTreeMap::from([
                (
                    "TopicArn".to_string(),
                    "arn:aws:sns:ap-southeast-1:1:t".to_string(),
                ),
                (
                    "LogGroupName".to_string(),
                    "/dingtalk-notifier/alerts".to_string(),
                ),
                ("FunctionName".to_string(), "f".to_string()),
            ]),
            rules: vec!["health".into(), "alarm".into()],
            artifact: ArtifactResult {
                sha256: "00".into(),
                size: 1,
                rebuilt: false,
                uploaded: true,
                bucket: "b".into(),
                key: "k".into(),
            },
            secret: SecretResult {
                arn: "arn:s".into(),
                created: true,
                updated: true,
            },
            forwarders: Vec::new(),
            organization: None,
        };
        assert_eq!(
            result.to_string(),
            "Topic ARN  arn:aws:sns:ap-southeast-1:1:t\n           (for plugins and CloudWatch alarm actions)\nRules on   health, alarm\nLog group  /dingtalk-notifier/alerts\n\nNext: dingtalk-notifier test-send   (a sample alert to the DingTalk group)\n"
        );
    }
}
