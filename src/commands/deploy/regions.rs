//! What `deploy` does in each forwarder region: the forwarder's parameters
//! from the settings, and, from the stacks found, one action per region
//! (docs/design.md, "Many regions"). Pure: [`super::forwarders`] carries the
//! actions out.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use serde::Serialize;

use super::settings::{Rule, Settings};
pub use crate::aws::forwarder_stacks::Found;
use crate::aws::stack::{self, Phase, StackInfo};
use crate::regions::{forwarded_bus_name, forwarder_stack_name, health_event_regions};

/// The forwarder template's parameters for `region`: the notifier's switches
/// and filters as the home stack gets them, the home region, and the Health
/// events about `region`.
pub fn forwarder_parameters(
    settings: &Settings,
    home: &str,
    region: &str,
) -> Result<Vec<(&'static str, String)>> {
    const SHARED: [&str; 7] = [
        "PermissionsBoundaryArn",
        "EnableHealthRule",
        "EnableHealthAbuseRule",
        "EnableEc2StateChangeRule",
        "Ec2States",
        "EnableAlarmRule",
        "AlarmStates",
    ];
    // The forwarders carry every opt-in rule too, switched as at home.
    let shared = |k: &str| SHARED.contains(&k) || Rule::ALL.iter().any(|r| r.parameter() == k);
    // A regional forwarder sends to this account's bus and is told its
    // region's Health events; the StackSet's are not (`stackset_parameters`).
    let mut out = vec![
        ("HomeRegion", home.to_string()),
        ("HomeAccountId", String::new()),
        ("HomeEventBusName", forwarded_bus_name(&settings.stack_name)),
    ];
    out.extend(
        settings
            .parameters("", "", "")?
            .into_iter()
            .filter(|(k, _)| shared(k)),
    );
    out.push(("HealthEventRegions", health_event_regions(region)));
    out.push(("HealthEventsAboutThisRegion", "false".to_string()));
    // Only the home stack receives forwarded events.
    out.push(("HealthForwardedRegions", String::new()));
    Ok(out)
}

/// What to do in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    /// A failed first create (ROLLBACK_COMPLETE): delete, then create.
    Recreate,
    Update,
    UpToDate,
    /// Remembered before, not chosen now: delete the forwarder.
    Remove,
}

/// One action per region: every forwarder region, then the regions that had
/// a forwarder (`previous`) and are no longer chosen. Refuses a stack of the
/// same name that is not ours, or one that is busy or stuck.
pub fn plan_forwarders(
    settings: &Settings,
    home: &str,
    regions: &[String],
    previous: &[String],
    found: &BTreeMap<String, Found>,
) -> Result<Vec<(String, Action)>> {
    let name = forwarder_stack_name(&settings.stack_name);
    let mut actions = Vec::new();
    for region in regions {
        let action = match found.get(region) {
            None => Action::Create,
            Some(f) => {
                check_usable(&name, region, &f.stack)?;
                let wanted = forwarder_parameters(settings, home, region)?;
                if f.stack.status == "ROLLBACK_COMPLETE" {
                    Action::Recreate
                } else if f.stack.status == "REVIEW_IN_PROGRESS" {
                    Action::Create
                } else if f.same_template && !stack::parameters_differ(&wanted, &f.stack.parameters)
                {
                    Action::UpToDate
                } else {
                    Action::Update
                }
            }
        };
        actions.push((region.clone(), action));
    }
    for region in previous {
        if regions.contains(region) || region == home {
            continue;
        }
        if let Some(f) = found.get(region) {
            check_usable(&name, region, &f.stack)?;
            actions.push((region.clone(), Action::Remove));
        }
    }
    Ok(actions)
}

fn check_usable(name: &str, region: &str, s: &StackInfo) -> Result<()> {
    if !s.is_ours() && s.status != "REVIEW_IN_PROGRESS" {
        bail!("the stack {name} in {region} exists but was not created by dingtalk-notifier (no app=dingtalk-notifier tag); delete it or choose another --stack-name");
    }
    if stack::phase(&s.status) == Phase::InProgress && s.status != "REVIEW_IN_PROGRESS" {
        bail!(
            "the forwarder stack {name} in {region} is busy ({}); deploy again once it settles",
            s.status
        );
    }
    if matches!(
        s.status.as_str(),
        "ROLLBACK_FAILED" | "DELETE_FAILED" | "UPDATE_ROLLBACK_FAILED"
    ) {
        bail!(
            "the forwarder stack {name} in {region} is {}; fix or delete it in the CloudFormation console of {region}",
            s.status
        );
    }
    Ok(())
}

/// Whether the Health rule is among the chosen ones.
pub fn health_on(settings: &Settings) -> bool {
    settings.rules.contains(&Rule::Health)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::deploy::settings::tests::settings;

    fn list(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn forwarder_parameters_are_the_forwarder_templates_and_follow_the_settings() {
        let mut s = settings();
        s.rules = vec![Rule::Health, Rule::Alarm];
        s.options.alarm_states = Some("ALARM".into());
        let p = forwarder_parameters(&s, "ap-southeast-1", "us-east-1").unwrap();
        let mut keys: Vec<&str> = p.iter().map(|(k, _)| *k).collect();
        keys.sort();
        let template: yaml_serde::Value = yaml_serde::from_str(stack::FORWARDER_TEMPLATE).unwrap();
        let mut declared: Vec<&str> = template["Parameters"]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap())
            .collect();
        declared.sort();
        assert_eq!(keys, declared, "every parameter, nothing else");
        let get = |k: &str| p.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(get("HomeRegion"), "ap-southeast-1");
        // The home stack's own bus, never its default bus.
        assert_eq!(
            get("HomeEventBusName"),
            format!("dingtalk-notifier-{}", s.stack_name)
        );
        assert_eq!(get("HealthEventRegions"), "us-east-1,global");
        assert_eq!(get("EnableHealthRule"), "true");
        assert_eq!(get("EnableEc2StateChangeRule"), "false");
        assert_eq!(get("AlarmStates"), "ALARM");
    }

    fn found(status: &str, same_template: bool, params: &[(&'static str, String)]) -> Found {
        let mut stack = StackInfo {
            name: "alerts-forwarder".into(),
            status: status.into(),
            parameters: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            ..StackInfo::default()
        };
        stack.tags.insert("app".into(), "dingtalk-notifier".into());
        Found {
            stack,
            same_template,
        }
    }

    #[test]
    fn each_region_is_created_updated_or_left_alone() {
        let s = settings();
        let current = forwarder_parameters(&s, "ap-southeast-1", "eu-west-1").unwrap();
        let mut stale = current.clone();
        stale.retain(|(k, _)| *k != "AlarmStates");
        stale.push(("AlarmStates", "OK".into()));
        let found: BTreeMap<String, Found> = [
            (
                "eu-west-1".to_string(),
                found("UPDATE_COMPLETE", true, &current),
            ),
            (
                "us-east-1".to_string(),
                found("CREATE_COMPLETE", true, &stale),
            ),
            (
                "us-west-1".to_string(),
                found("CREATE_COMPLETE", false, &current),
            ),
            (
                "us-west-2".to_string(),
                found("ROLLBACK_COMPLETE", true, &current),
            ),
            (
                "sa-east-1".to_string(),
                found("CREATE_COMPLETE", true, &current),
            ),
        ]
        .into_iter()
        .collect();
        let regions = list(&[
            "eu-west-1",
            "eu-west-2",
            "us-east-1",
            "us-west-1",
            "us-west-2",
        ]);
        let got = plan_forwarders(
            &s,
            "ap-southeast-1",
            &regions,
            &list(&["sa-east-1", "us-east-1"]),
            &found,
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                ("eu-west-1".to_string(), Action::UpToDate),
                ("eu-west-2".to_string(), Action::Create),
                ("us-east-1".to_string(), Action::Update),
                ("us-west-1".to_string(), Action::Update),
                ("us-west-2".to_string(), Action::Recreate),
                ("sa-east-1".to_string(), Action::Remove),
            ]
        );
    }

    #[test]
    fn a_stack_that_is_not_ours_or_busy_stops_the_deploy() {
        let s = settings();
        let mut foreign = found("CREATE_COMPLETE", true, &[]);
        foreign.stack.tags.clear();
        let found_map: BTreeMap<String, Found> =
            [("eu-west-1".to_string(), foreign)].into_iter().collect();
        let err = plan_forwarders(&s, "ap-southeast-1", &list(&["eu-west-1"]), &[], &found_map)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("in eu-west-1 exists but was not created by dingtalk-notifier"),
            "{err}"
        );
        let busy: BTreeMap<String, Found> = [(
            "eu-west-1".to_string(),
            found("UPDATE_IN_PROGRESS", true, &[]),
        )]
        .into_iter()
        .collect();
        let err = plan_forwarders(&s, "ap-southeast-1", &list(&["eu-west-1"]), &[], &busy)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "the forwarder stack alerts-forwarder in eu-west-1 is busy (UPDATE_IN_PROGRESS); deploy again once it settles"
        );
    }
}
