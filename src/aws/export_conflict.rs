//! CloudFormation refuses to remove or change an export while another stack
//! imports it (`Fn::ImportValue`): switching a rule off removes its
//! `…RuleName` export, changing `ExportPrefix` renames every export. The
//! refusal arrives as a stack event reason such as
//! "Export dn-HealthRuleName cannot be deleted as it is in use by plugin-a and plugin-b".
//! This module turns that reason into words: which export, who imports it,
//! and what to do.

/// One export that CloudFormation would not remove or change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportInUse {
    pub export: String,
    pub importers: Vec<String>,
    /// `true`: the deploy removes (or renames) it; `false`: changes its value.
    pub removed: bool,
}

const DELETED: &str = " cannot be deleted as it is in use by ";
const UPDATED: &str = " cannot be updated as it is in use by ";

/// The refused export in a CloudFormation reason, if the reason is one.
pub fn parse(reason: &str) -> Option<ExportInUse> {
    let (at, phrase, removed) = [(DELETED, true), (UPDATED, false)]
        .iter()
        .find_map(|(p, removed)| reason.find(p).map(|at| (at, *p, *removed)))?;
    let before = &reason[..at];
    let start = before.rfind("Export ")? + "Export ".len();
    let export = before[start..].trim().to_string();
    let tail = reason[at + phrase.len()..].trim().trim_end_matches('.');
    let importers: Vec<String> = tail
        .split(" and ")
        .flat_map(|part| part.split(", "))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    (!export.is_empty() && !importers.is_empty()).then_some(ExportInUse {
        export,
        importers,
        removed,
    })
}

/// What an export is, from its `<prefix>-<Output>` name.
fn what(export: &str) -> &'static str {
    match export.rsplit('-').next().unwrap_or_default() {
        "HealthRuleName" => "the AWS Health rule's name",
        "HealthAbuseRuleName" => "the AWS Health Abuse rule's name",
        "Ec2StateChangeRuleName" => "the EC2 state-change rule's name",
        "AlarmRuleName" => "the CloudWatch alarm rule's name",
        "TopicArn" | "SnsTopicArn" => "the topic's ARN",
        _ => "an output of this stack",
    }
}

/// The refusal in words, with what to change.
pub fn explain(conflict: &ExportInUse) -> String {
    let importers = conflict.importers.join(", ");
    let stacks = if conflict.importers.len() == 1 {
        format!("stack {importers} imports")
    } else {
        format!("stacks {importers} import")
    };
    if conflict.removed {
        format!(
            "CloudFormation refused the update: {stacks} the export {} ({}), and this deploy \
             would remove it (its rule switched off, or --export-prefix changed). Keep the rule \
             on and the export prefix as it was, or first change {importers} to take the value \
             as a parameter instead of Fn::ImportValue, then deploy again",
            conflict.export,
            what(&conflict.export)
        )
    } else {
        format!(
            "CloudFormation refused the update: {stacks} the export {} ({}), and this deploy \
             would change its value. First change {importers} to take the value as a parameter \
             instead of Fn::ImportValue, then deploy again",
            conflict.export,
            what(&conflict.export)
        )
    }
}

/// Every export refusal among these reasons, each once.
pub fn conflicts<'a>(reasons: impl IntoIterator<Item = &'a str>) -> Vec<ExportInUse> {
    let mut found: Vec<ExportInUse> = Vec::new();
    for c in reasons.into_iter().filter_map(parse) {
        if !found.iter().any(|f| f.export == c.export) {
            found.push(c);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cloudformations_deleted_reason() {
        assert_eq!(
            parse("Export dn-HealthRuleName cannot be deleted as it is in use by plugin-a and plugin-b"),
            Some(ExportInUse {
                export: "dn-HealthRuleName".into(),
                importers: vec!["plugin-a".into(), "plugin-b".into()],
                removed: true,
            })
        );
    }

    #[test]
    fn reads_an_updated_reason_inside_a_longer_message() {
        assert_eq!(
            parse("Embedded stack x was not successfully updated. Currently in UPDATE_ROLLBACK_IN_PROGRESS with reason: Export dn-FunctionArn cannot be updated as it is in use by a, b and c"),
            Some(ExportInUse {
                export: "dn-FunctionArn".into(),
                importers: vec!["a".into(), "b".into(), "c".into()],
                removed: false,
            })
        );
        assert_eq!(parse("Resource creation cancelled"), None);
    }

    #[test]
    fn explains_a_switched_off_rule_in_words() {
        let c =
            parse("Export dn-HealthRuleName cannot be deleted as it is in use by guardduty-plugin")
                .unwrap_or_else(|| panic!("parsed"));
        assert_eq!(
            explain(&c),
            "CloudFormation refused the update: stack guardduty-plugin imports the export \
             dn-HealthRuleName (the AWS Health rule's name), and this deploy would remove it (its \
             rule switched off, or --export-prefix changed). Keep the rule on and the export \
             prefix as it was, or first change guardduty-plugin to take the value as a parameter \
             instead of Fn::ImportValue, then deploy again"
        );
    }

    #[test]
    fn explains_a_changed_value_and_lists_each_export_once() {
        let reasons = [
            "Export dn-TopicArn cannot be updated as it is in use by p1 and p2",
            "Export dn-TopicArn cannot be updated as it is in use by p1 and p2",
            "Resource update cancelled",
        ];
        let found = conflicts(reasons);
        assert_eq!(found.len(), 1);
        assert_eq!(
            explain(&found[0]),
            "CloudFormation refused the update: stacks p1, p2 import the export dn-TopicArn \
             (the topic's ARN), and this deploy would change its value. First change p1, p2 to \
             take the value as a parameter instead of Fn::ImportValue, then deploy again"
        );
    }
}
