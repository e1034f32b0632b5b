//! What `deploy --organization` does with the organization's forwarder
//! StackSet (docs/design.md, "Many accounts"): its parameters, and from the
//! StackSet as found, the steps that bring it where the answers want it.
//! Pure: [`super::apply`] carries the steps out.

use std::collections::BTreeSet;

use anyhow::Result;
use serde::Serialize;

use crate::aws::stack::{self, FORWARDER_TEMPLATE};
use crate::aws::stack_set::{Instance, StackSetInfo};
use crate::commands::deploy::regions::forwarder_parameters;
use crate::commands::deploy::settings::Settings;

/// EventBridge's limit for a bus policy's statement id (`<stack>-organization`).
pub const MAX_STACK_NAME: usize = 64 - "-organization".len();

/// The forwarder template's parameters for every instance: the regional
/// forwarders', aimed at the home account's bus, each instance keeping the
/// Health events about its own region. No permissions boundary: the member
/// accounts' role is created by StackSets' execution role, not by a deployer
/// bound by the home account's boundary, and that boundary's ARN names a
/// policy of the home account that does not exist in the members.
pub fn stack_set_parameters(
    settings: &Settings,
    home_region: &str,
    home_account: &str,
) -> Result<Vec<(&'static str, String)>> {
    Ok(forwarder_parameters(settings, home_region, home_region)?
        .into_iter()
        .map(|(k, v)| match k {
            "HomeAccountId" => (k, home_account.to_string()),
            "HealthEventsAboutThisRegion" => (k, "true".to_string()),
            "HealthEventRegions" | "PermissionsBoundaryArn" => (k, String::new()),
            _ => (k, v),
        })
        .collect())
}

/// What `--organization` asks for.
pub struct Wanted<'a> {
    pub parameters: &'a [(&'static str, String)],
    /// The home region and the forwarder regions.
    pub regions: &'a [String],
}

/// The StackSet as found, and the regions it has instances in.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub set: StackSetInfo,
    pub regions: BTreeSet<String>,
    /// The regions with an instance not `CURRENT` or not `SUCCEEDED` (a
    /// failed or interrupted operation): updated again. Not for
    /// `INOPERABLE` (a failed delete: CloudFormation leaves it out of
    /// updates), a suspended account (skipped) or a region the account has
    /// not enabled (an opt-in region): retrying those would never end up to
    /// date, and would fail every deploy; `status` lists them.
    pub unhealthy: BTreeSet<String>,
}

impl Found {
    pub fn new(set: StackSetInfo, instances: &[Instance]) -> Found {
        Found {
            set,
            regions: instances.iter().map(|i| i.region.clone()).collect(),
            unhealthy: instances
                .iter()
                .filter(|i| i.status != "CURRENT" || i.detailed_status != "SUCCEEDED")
                .filter(|i| {
                    i.status != "INOPERABLE"
                        && !matches!(
                            i.detailed_status.as_str(),
                            "INOPERABLE" | "SKIPPED_SUSPENDED_ACCOUNT"
                        )
                        && !i.region_not_enabled()
                })
                .map(|i| i.region.clone())
                .collect(),
        }
    }
}

/// One call (and, but for `Create` and `Delete`, one operation to wait for).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "step", content = "regions")]
pub enum Step {
    Create,
    /// The template or parameters changed, or instances failed: update the
    /// instances in these regions (none: the StackSet alone, which then has
    /// no instances left).
    Update(Vec<String>),
    AddRegions(Vec<String>),
    RemoveRegions(Vec<String>),
    Delete,
}

/// The home: its account and region.
#[derive(Debug, Clone, Copy)]
pub struct Home<'a> {
    pub account: &'a str,
    pub region: &'a str,
}

/// The steps, in order; none = up to date (or nothing to do). A StackSet of
/// our name without our tag, or another home's, stops the deploy. Regions
/// are removed first, so the update (which, without regions, means every
/// instance) never touches an instance about to go; added last, so they get
/// the new template.
pub fn plan_stack_set(
    name: &str,
    home: Home,
    wanted: Option<&Wanted>,
    found: Option<&Found>,
) -> Result<Vec<Step>> {
    if let Some(f) = found {
        f.set.check_owner(name, home.account, home.region)?;
    }
    let mut steps = Vec::new();
    match (wanted, found) {
        (None, None) => {}
        (None, Some(f)) => {
            if !f.regions.is_empty() {
                steps.push(Step::RemoveRegions(f.regions.iter().cloned().collect()));
            }
            steps.push(Step::Delete);
        }
        (Some(w), None) => {
            steps.push(Step::Create);
            steps.push(Step::AddRegions(w.regions.to_vec()));
        }
        (Some(w), Some(f)) => {
            let differs = f.set.template != FORWARDER_TEMPLATE
                || stack::parameters_differ(w.parameters, &f.set.parameters);
            let kept: Vec<String> = w
                .regions
                .iter()
                .filter(|r| f.regions.contains(*r))
                .cloned()
                .collect();
            let added: Vec<String> = w
                .regions
                .iter()
                .filter(|r| !f.regions.contains(*r))
                .cloned()
                .collect();
            let removed: Vec<String> = f
                .regions
                .iter()
                .filter(|r| !w.regions.contains(r))
                .cloned()
                .collect();
            if !removed.is_empty() {
                steps.push(Step::RemoveRegions(removed));
            }
            let retried: Vec<String> = kept
                .iter()
                .filter(|r| f.unhealthy.contains(*r))
                .cloned()
                .collect();
            if differs {
                steps.push(Step::Update(kept));
            } else if !retried.is_empty() {
                steps.push(Step::Update(retried));
            }
            if !added.is_empty() {
                steps.push(Step::AddRegions(added));
            }
        }
    }
    Ok(steps)
}

/// The StackSet's regions: the home region (the member accounts' events
/// there cross accounts, not regions) and every forwarder region, sorted.
pub fn stack_set_regions(home: &str, forwarder_regions: &[String]) -> Vec<String> {
    let mut all: BTreeSet<String> = forwarder_regions.iter().cloned().collect();
    all.insert(home.to_string());
    all.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::stack::{APP_TAG_KEY, APP_TAG_VALUE};
    use crate::commands::deploy::settings::tests::settings;

    const HOME: Home = Home {
        account: "123456789012",
        region: "us-east-1",
    };

    fn list(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn found(params: &[(&'static str, String)], template: &str, regions: &[&str]) -> Found {
        let mut set = StackSetInfo {
            status: "ACTIVE".into(),
            template: template.into(),
            parameters: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            ..StackSetInfo::default()
        };
        set.tags.insert(APP_TAG_KEY.into(), APP_TAG_VALUE.into());
        Found {
            set,
            regions: regions.iter().map(|r| r.to_string()).collect(),
            ..Found::default()
        }
    }

    fn instance(account: &str, region: &str, status: &str, detail: &str) -> Instance {
        Instance {
            account: account.into(),
            region: region.into(),
            status: status.into(),
            detailed_status: detail.into(),
            reason: None,
        }
    }

    #[test]
    fn instances_not_current_or_not_succeeded_are_updated_again() {
        let params = stack_set_parameters(&settings(), "us-east-1", "123456789012").unwrap();
        let regions = list(&["eu-west-1", "us-east-1", "us-west-2"]);
        let w = Wanted {
            parameters: &params,
            regions: &regions,
        };
        let set = found(&params, FORWARDER_TEMPLATE, &[]).set;
        let instances = [
            instance("111111111111", "eu-west-1", "CURRENT", "SUCCEEDED"),
            instance("222222222222", "eu-west-1", "CURRENT", "SUCCEEDED"),
            instance("111111111111", "us-east-1", "CURRENT", "SUCCEEDED"),
            instance("222222222222", "us-east-1", "OUTDATED", "FAILED"),
            instance("111111111111", "us-west-2", "CURRENT", "SUCCEEDED"),
            instance("222222222222", "us-west-2", "OUTDATED", "CANCELLED"),
            instance("111111111111", "ap-south-1", "OUTDATED", "RUNNING"),
            instance("111111111111", "ap-south-1", "INOPERABLE", "INOPERABLE"),
        ];
        let f = Found::new(set.clone(), &instances);
        assert_eq!(
            f.unhealthy,
            BTreeSet::from(["ap-south-1", "us-east-1", "us-west-2"].map(String::from))
        );
        // A failed delete (INOPERABLE) or a suspended account: updates
        // leave them out, so they never make the region stale.
        let stuck = [
            instance("111111111111", "eu-west-1", "INOPERABLE", "INOPERABLE"),
            instance(
                "222222222222",
                "eu-west-1",
                "OUTDATED",
                "SKIPPED_SUSPENDED_ACCOUNT",
            ),
        ];
        assert_eq!(Found::new(set.clone(), &stuck).unhealthy, BTreeSet::new());
        // Same template and parameters: the kept regions that failed, once
        // the removed region is gone.
        assert_eq!(
            plan_stack_set("alerts-forwarders", HOME, Some(&w), Some(&f)).unwrap(),
            vec![
                Step::RemoveRegions(list(&["ap-south-1"])),
                Step::Update(list(&["us-east-1", "us-west-2"])),
            ]
        );
        // All healthy: up to date.
        let healthy = Found::new(set, &instances[..3]);
        let kept = list(&["eu-west-1", "us-east-1"]);
        let w = Wanted {
            parameters: &params,
            regions: &kept,
        };
        assert_eq!(
            plan_stack_set("alerts-forwarders", HOME, Some(&w), Some(&healthy)).unwrap(),
            vec![]
        );
    }

    #[test]
    fn no_region_kept_removes_before_updating_the_stack_set_alone() {
        let params = stack_set_parameters(&settings(), "us-east-1", "123456789012").unwrap();
        let regions = list(&["eu-west-1"]);
        let w = Wanted {
            parameters: &params,
            regions: &regions,
        };
        let f = found(&params, "old template", &["us-east-1"]);
        assert_eq!(
            plan_stack_set("alerts-forwarders", HOME, Some(&w), Some(&f)).unwrap(),
            vec![
                Step::RemoveRegions(list(&["us-east-1"])),
                Step::Update(vec![]),
                Step::AddRegions(list(&["eu-west-1"])),
            ]
        );
    }

    #[test]
    fn the_home_accounts_permissions_boundary_is_not_passed_to_the_members() {
        let mut s = settings();
        s.options.permissions_boundary =
            Some("arn:aws:iam::123456789012:policy/dingtalk-notifier-boundary".into());
        let p = stack_set_parameters(&s, "us-east-1", "123456789012").unwrap();
        let get = |k: &str| p.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(get("PermissionsBoundaryArn"), "");
    }

    #[test]
    fn every_instance_gets_the_home_accounts_bus_and_its_own_regions_health_events() {
        let p = stack_set_parameters(&settings(), "ap-southeast-1", "123456789012").unwrap();
        let get = |k: &str| p.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(get("HomeRegion"), "ap-southeast-1");
        assert_eq!(get("HomeAccountId"), "123456789012");
        assert_eq!(get("HealthEventsAboutThisRegion"), "true");
        assert_eq!(get("HealthEventRegions"), "");
        assert_eq!(get("HealthForwardedRegions"), "");
        assert_eq!(get("AlarmStates"), "ALARM,OK");
        let keys: Vec<&str> = p.iter().map(|(k, _)| *k).collect();
        let regional: Vec<&str> = forwarder_parameters(&settings(), "ap-southeast-1", "eu-west-1")
            .unwrap()
            .iter()
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(
            keys, regional,
            "the same parameters as a regional forwarder"
        );
    }

    #[test]
    fn the_regions_are_the_home_region_and_the_forwarder_regions() {
        assert_eq!(
            stack_set_regions("ap-southeast-1", &list(&["us-east-1", "eu-west-1"])),
            list(&["ap-southeast-1", "eu-west-1", "us-east-1"])
        );
        assert_eq!(stack_set_regions("us-east-1", &[]), list(&["us-east-1"]));
    }

    #[test]
    fn a_new_stack_set_is_created_then_deployed_to_every_region() {
        let params = stack_set_parameters(&settings(), "us-east-1", "123456789012").unwrap();
        let regions = list(&["eu-west-1", "us-east-1"]);
        let w = Wanted {
            parameters: &params,
            regions: &regions,
        };
        assert_eq!(
            plan_stack_set("alerts-forwarders", HOME, Some(&w), None).unwrap(),
            vec![Step::Create, Step::AddRegions(regions.clone())]
        );
    }

    #[test]
    fn nothing_changed_is_up_to_date() {
        let params = stack_set_parameters(&settings(), "us-east-1", "123456789012").unwrap();
        let regions = list(&["eu-west-1", "us-east-1"]);
        let w = Wanted {
            parameters: &params,
            regions: &regions,
        };
        let f = found(&params, FORWARDER_TEMPLATE, &["eu-west-1", "us-east-1"]);
        assert_eq!(
            plan_stack_set("alerts-forwarders", HOME, Some(&w), Some(&f)).unwrap(),
            vec![]
        );
    }

    #[test]
    fn changes_remove_then_update_the_kept_regions_then_add() {
        let params = stack_set_parameters(&settings(), "us-east-1", "123456789012").unwrap();
        let mut s = settings();
        s.options.alarm_states = Some("ALARM".into());
        let changed = stack_set_parameters(&s, "us-east-1", "123456789012").unwrap();
        let regions = list(&["eu-west-1", "us-east-1", "us-west-2"]);
        let w = Wanted {
            parameters: &changed,
            regions: &regions,
        };
        let f = found(
            &params,
            FORWARDER_TEMPLATE,
            &["ap-south-1", "eu-west-1", "us-east-1"],
        );
        assert_eq!(
            plan_stack_set("alerts-forwarders", HOME, Some(&w), Some(&f)).unwrap(),
            vec![
                Step::RemoveRegions(list(&["ap-south-1"])),
                Step::Update(list(&["eu-west-1", "us-east-1"])),
                Step::AddRegions(list(&["us-west-2"])),
            ]
        );
        // Only the template differs (a new CLI version): every region updated.
        let w = Wanted {
            parameters: &params,
            regions: &list(&["eu-west-1", "us-east-1"]),
        };
        let f = found(&params, "old template", &["eu-west-1", "us-east-1"]);
        assert_eq!(
            plan_stack_set("alerts-forwarders", HOME, Some(&w), Some(&f)).unwrap(),
            vec![Step::Update(list(&["eu-west-1", "us-east-1"]))]
        );
    }

    #[test]
    fn no_organization_removes_every_instance_then_the_stack_set() {
        let params = stack_set_parameters(&settings(), "us-east-1", "123456789012").unwrap();
        let f = found(&params, FORWARDER_TEMPLATE, &["eu-west-1", "us-east-1"]);
        assert_eq!(
            plan_stack_set("alerts-forwarders", HOME, None, Some(&f)).unwrap(),
            vec![
                Step::RemoveRegions(list(&["eu-west-1", "us-east-1"])),
                Step::Delete
            ]
        );
        let empty = found(&params, FORWARDER_TEMPLATE, &[]);
        assert_eq!(
            plan_stack_set("alerts-forwarders", HOME, None, Some(&empty)).unwrap(),
            vec![Step::Delete]
        );
        assert_eq!(
            plan_stack_set("alerts-forwarders", HOME, None, None).unwrap(),
            vec![]
        );
    }

    #[test]
    fn a_stack_set_that_is_not_ours_stops_the_deploy() {
        let mut f = found(&[], FORWARDER_TEMPLATE, &[]);
        f.set.tags.clear();
        assert_eq!(
            plan_stack_set("alerts-forwarders", HOME, None, Some(&f))
                .unwrap_err()
                .to_string(),
            "the StackSet alerts-forwarders exists but was not created by dingtalk-notifier (no app=dingtalk-notifier tag); delete it or choose another --stack-name"
        );
    }

    #[test]
    fn another_homes_stack_set_is_never_touched() {
        // A second home in the organization (a delegated administrator, or
        // the same account in another region) with the same stack name.
        let theirs = stack_set_parameters(&settings(), "eu-west-1", "999999999999").unwrap();
        let f = found(&theirs, FORWARDER_TEMPLATE, &["eu-west-1"]);
        let params = stack_set_parameters(&settings(), "us-east-1", "123456789012").unwrap();
        let regions = list(&["us-east-1"]);
        let w = Wanted {
            parameters: &params,
            regions: &regions,
        };
        let refusal = "the StackSet alerts-forwarders belongs to the dingtalk-notifier home in account 999999999999 region eu-west-1 (its HomeAccountId and HomeRegion), not to this one (123456789012, us-east-1); not touching it: choose another --stack-name, or deploy from that home";
        for wanted in [Some(&w), None] {
            assert_eq!(
                plan_stack_set("alerts-forwarders", HOME, wanted, Some(&f))
                    .unwrap_err()
                    .to_string(),
                refusal
            );
        }
        // Same account, another home region: not ours either.
        let other_region = stack_set_parameters(&settings(), "eu-west-1", "123456789012").unwrap();
        let f = found(&other_region, FORWARDER_TEMPLATE, &["eu-west-1"]);
        assert!(plan_stack_set("alerts-forwarders", HOME, None, Some(&f)).is_err());
    }

    #[test]
    fn regions_the_accounts_have_not_enabled_are_not_retried() {
        let params = stack_set_parameters(&settings(), "us-east-1", "123456789012").unwrap();
        let set = found(&params, FORWARDER_TEMPLATE, &[]).set;
        let mut not_enabled = instance("222222222222", "ap-east-1", "OUTDATED", "FAILED");
        not_enabled.reason =
            Some("Account 222222222222 should have 'ap-east-1' region enabled to be able to create/update stack instances".into());
        let instances = [
            instance("222222222222", "us-east-1", "CURRENT", "SUCCEEDED"),
            not_enabled,
        ];
        let f = Found::new(set, &instances);
        assert_eq!(f.unhealthy, BTreeSet::new());
        let regions = list(&["ap-east-1", "us-east-1"]);
        let w = Wanted {
            parameters: &params,
            regions: &regions,
        };
        assert_eq!(
            plan_stack_set("alerts-forwarders", HOME, Some(&w), Some(&f)).unwrap(),
            vec![],
            "up to date: the next deploy makes no call"
        );
    }
}
