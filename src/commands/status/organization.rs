//! `status` for `deploy --organization` (docs/design.md, "Many accounts"):
//! the forwarders' StackSet summarised from its instances, counted per
//! status and detailed status, with every instance that needs attention.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::Result;
use serde::Serialize;

use crate::aws::organization;
use crate::aws::stack::StackInfo;
use crate::aws::stack_set::{self, Instance, Target};
use crate::aws::Aws;
use crate::commands::organization_was_on;
use crate::term::output::table;

/// What `status` says about the StackSet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrgStatus {
    pub stack_set: String,
    /// The StackSet's status (`ACTIVE`), or `MISSING`.
    pub status: String,
    pub instances: usize,
    /// `CURRENT`, `OUTDATED`, `INOPERABLE` → count.
    pub by_status: BTreeMap<String, usize>,
    /// `SUCCEEDED`, `FAILED`, `RUNNING`, … → count.
    pub by_detailed_status: BTreeMap<String, usize>,
    /// Every instance that is not `CURRENT` or not `SUCCEEDED`.
    pub problems: Vec<Instance>,
}

/// Pure: the counts and the instances that need attention.
pub fn summarise(stack_set: &str, status: &str, instances: &[Instance]) -> OrgStatus {
    let mut by_status = BTreeMap::new();
    let mut by_detailed_status = BTreeMap::new();
    for i in instances {
        *by_status.entry(i.status.clone()).or_insert(0) += 1;
        *by_detailed_status
            .entry(i.detailed_status.clone())
            .or_insert(0) += 1;
    }
    OrgStatus {
        stack_set: stack_set.to_string(),
        status: status.to_string(),
        instances: instances.len(),
        by_status,
        by_detailed_status,
        problems: instances
            .iter()
            .filter(|i| i.status != "CURRENT" || i.detailed_status != "SUCCEEDED")
            .cloned()
            .collect(),
    }
}

/// `None` unless dingtalk-notifier.toml remembers `organization = true` or
/// the home stack has an `OrganizationId`.
pub async fn fetch(aws: &Aws, stack: &StackInfo) -> Result<Option<OrgStatus>> {
    if !organization_was_on(Some(stack))? {
        return Ok(None);
    }
    let stack_name = stack.name.as_str();
    let caller = organization::caller(aws).await?;
    let mut target = Target::new(stack_name, &caller);
    let mut set = stack_set::describe(aws, &target).await?;
    if set.is_none() {
        // Deployed by an earlier version; the next deploy renames it.
        let legacy = Target::legacy(stack_name, &caller);
        if let Some(old) = stack_set::describe(aws, &legacy).await? {
            (target, set) = (legacy, Some(old));
        }
    }
    let Some(set) = set else {
        return Ok(Some(summarise(&target.name, "MISSING", &[])));
    };
    let instances = stack_set::instances(aws, &target).await?;
    Ok(Some(summarise(&target.name, &set.status, &instances)))
}

/// `CURRENT 2, OUTDATED 1`, or `-` for none.
fn counts(by: &BTreeMap<String, usize>) -> String {
    let parts: Vec<String> = by.iter().map(|(k, n)| format!("{k} {n}")).collect();
    match parts.is_empty() {
        true => "-".to_string(),
        false => parts.join(", "),
    }
}

/// The human view of the StackSet, below the home stack's rows.
impl fmt::Display for OrgStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "\nOrganization forwarders (StackSet {}, {}): {} instance(s)",
            self.stack_set, self.status, self.instances
        )?;
        let mut rows = vec![
            ("  By status".to_string(), counts(&self.by_status)),
            ("  By detail".to_string(), counts(&self.by_detailed_status)),
        ];
        for p in &self.problems {
            rows.push((
                format!("  {}/{}", p.account, p.region),
                format!(
                    "{} {}: {}",
                    p.status,
                    p.detailed_status,
                    p.reason.as_deref().unwrap_or("no reason given")
                ),
            ));
        }
        f.write_str(&table(&rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(account: &str, region: &str, status: &str, detail: &str) -> Instance {
        Instance {
            account: account.into(),
            region: region.into(),
            status: status.into(),
            detailed_status: detail.into(),
            reason: (status != "CURRENT")
                .then(|| "ResourceLogicalId:ForwarderRole, denied by an SCP".into()),
        }
    }

    #[test]
    fn counts_per_status_and_lists_what_needs_attention() {
        let all = [
            instance("111111111111", "eu-west-1", "CURRENT", "SUCCEEDED"),
            instance("222222222222", "eu-west-1", "OUTDATED", "FAILED"),
            instance("111111111111", "us-east-1", "CURRENT", "SUCCEEDED"),
            instance("222222222222", "us-east-1", "INOPERABLE", "INOPERABLE"),
        ];
        let s = summarise("alerts-forwarders", "ACTIVE", &all);
        assert_eq!(s.instances, 4);
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            serde_json::json!({
                "stack_set": "alerts-forwarders",
                "status": "ACTIVE",
                "instances": 4,
                "by_status": {"CURRENT": 2, "INOPERABLE": 1, "OUTDATED": 1},
                "by_detailed_status": {"FAILED": 1, "INOPERABLE": 1, "SUCCEEDED": 2},
                "problems": [
                    {"account": "222222222222", "region": "eu-west-1", "status": "OUTDATED",
                     "detailed_status": "FAILED", "reason": "ResourceLogicalId:ForwarderRole, denied by an SCP"},
                    {"account": "222222222222", "region": "us-east-1", "status": "INOPERABLE",
                     "detailed_status": "INOPERABLE", "reason": "ResourceLogicalId:ForwarderRole, denied by an SCP"}
                ]
            })
        );
        assert_eq!(
            s.to_string(),
            "\nOrganization forwarders (StackSet alerts-forwarders, ACTIVE): 4 instance(s)\n\
             \x20 By status               CURRENT 2, INOPERABLE 1, OUTDATED 1\n\
             \x20 By detail               FAILED 1, INOPERABLE 1, SUCCEEDED 2\n\
             \x20 222222222222/eu-west-1  OUTDATED FAILED: ResourceLogicalId:ForwarderRole, denied by an SCP\n\
             \x20 222222222222/us-east-1  INOPERABLE INOPERABLE: ResourceLogicalId:ForwarderRole, denied by an SCP\n"
        );
    }
}
