//! Regions: which partition a region is in, where AWS Health sends global
//! events, which Health events each region's rule keeps, which regions get a
//! forwarder and what to do with each (docs/design.md, "Many regions").
//! Pure functions, no AWS calls: [`super::forwarders`] carries them out.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use serde::Serialize;

use super::settings::{Rule, Settings};
use crate::aws::connect::validate_region;
use crate::aws::stack::{self, Phase, StackInfo};

/// The AWS partition of a region: `aws-cn` for China, `aws-us-gov` for
/// GovCloud, `aws` otherwise.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The region where AWS Health delivers a partition's global events (IAM and
/// other global services; `detail.eventRegion` = `global`).
pub fn global_events_region(partition: &str) -> &'static str {
    match partition {
        "aws-cn" => "cn-north-1",
        "aws-us-gov" => "us-gov-west-1",
        _ => "us-east-1",
    }
}

/// The template's `HealthEventRegions` for a stack in `region`: the events
/// about this region, plus global ones in the global-events region. The
/// backup copies AWS Health sends of other regions' public events are left
/// out, so each event arrives once (the trade-off is in docs/design.md).
pub fn health_event_regions(region: &str) -> String {
    if region == global_events_region(partition(region)) {
        format!("{region},global")
    } else {
        region.to_string()
    }
}

/// What `--regions` (or the remembered `regions`) asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionsSpec {
    /// The home region only (no `--regions`, or `--regions none`).
    HomeOnly,
    /// These regions (the home region among them or not).
    List(Vec<String>),
    /// Every region enabled for the account.
    All,
}

impl RegionsSpec {
    /// `all`, `none`, or comma-separated region names.
    pub fn parse(s: &str) -> Result<RegionsSpec> {
        let s = s.trim();
        match s {
            "all" => return Ok(RegionsSpec::All),
            "" | "none" => return Ok(RegionsSpec::HomeOnly),
            _ => {}
        }
        let mut list: Vec<String> = Vec::new();
        for r in s.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            if let Err(e) = validate_region(r) {
                bail!("--regions: {e}; give region names separated by commas, or `all`");
            }
            if !list.iter().any(|x| x == r) {
                list.push(r.to_string());
            }
        }
        Ok(RegionsSpec::List(list))
    }

    /// As written back to dingtalk-notifier.toml.
    pub fn to_config(&self) -> Option<Vec<String>> {
        match self {
            RegionsSpec::HomeOnly => None,
            RegionsSpec::All => Some(vec!["all".to_string()]),
            RegionsSpec::List(l) => Some(l.clone()),
        }
    }

    pub fn from_config(v: &[String]) -> Result<RegionsSpec> {
        RegionsSpec::parse(&v.join(","))
    }
}

/// The forwarder regions: the chosen ones (or, for `all`, the enabled ones)
/// in the home region's partition, without the home region; with the Health
/// rule on, the partition's global-events region is always among them.
/// Returns the regions and whether that region was added.
pub fn forwarder_regions(
    home: &str,
    spec: &RegionsSpec,
    enabled: &[String],
    health_on: bool,
) -> Result<(Vec<String>, bool)> {
    let home_partition = partition(home);
    let chosen: Vec<String> = match spec {
        RegionsSpec::HomeOnly => return Ok((Vec::new(), false)),
        RegionsSpec::All => enabled
            .iter()
            .filter(|r| partition(r) == home_partition)
            .cloned()
            .collect(),
        RegionsSpec::List(list) => {
            if let Some(other) = list.iter().find(|r| partition(r) != home_partition) {
                bail!(
                    "--regions: {other} is in the {} partition and the home region {home} in {home_partition}; \
                     events cannot cross partitions (China regions forward only to China regions): \
                     deploy a separate notifier there",
                    partition(other)
                );
            }
            list.clone()
        }
    };
    let mut regions: Vec<String> = chosen.into_iter().filter(|r| r != home).collect();
    let global = global_events_region(home_partition);
    let added = health_on && home != global && !regions.iter().any(|r| r == global);
    if added {
        regions.push(global.to_string());
    }
    regions.sort();
    regions.dedup();
    Ok((regions, added))
}

/// The forwarder stack's name: the notifier's, with `-forwarder`.
pub fn forwarder_stack_name(stack_name: &str) -> String {
    format!("{stack_name}-forwarder")
}

/// The forwarder template's parameters for `region`: the notifier's switches
/// and filters as the home stack gets them, the home region, and the Health
/// events about `region`.
pub fn forwarder_parameters(
    settings: &Settings,
    home: &str,
    region: &str,
) -> Vec<(&'static str, String)> {
    const SHARED: [&str; 7] = [
        "PermissionsBoundaryArn",
        "EnableHealthRule",
        "EnableHealthAbuseRule",
        "EnableEc2StateChangeRule",
        "Ec2States",
        "EnableAlarmRule",
        "AlarmStates",
    ];
    let mut out = vec![("HomeRegion", home.to_string())];
    out.extend(
        settings
            .parameters("", "", "")
            .into_iter()
            .filter(|(k, _)| SHARED.contains(k)),
    );
    out.push(("HealthEventRegions", health_event_regions(region)));
    out
}

/// A forwarder stack as found in its region.
#[derive(Debug, Clone)]
pub struct Found {
    pub stack: StackInfo,
    /// The deployed template is the embedded forwarder template.
    pub same_template: bool,
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
                let wanted = forwarder_parameters(settings, home, region);
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
    fn regions_spec_parses_lists_all_and_none() {
        assert_eq!(RegionsSpec::parse("all").unwrap(), RegionsSpec::All);
        assert_eq!(RegionsSpec::parse("none").unwrap(), RegionsSpec::HomeOnly);
        assert_eq!(
            RegionsSpec::parse(" us-west-2, eu-west-1,us-west-2 ").unwrap(),
            RegionsSpec::List(list(&["us-west-2", "eu-west-1"]))
        );
        let err = RegionsSpec::parse("us-west-2,Tokyo")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "--regions: `Tokyo` is not an AWS region name: a region looks like ap-southeast-1 or us-gov-west-1 \
             (`aws ec2 describe-regions` lists them); give region names separated by commas, or `all`"
        );
        assert_eq!(RegionsSpec::All.to_config(), Some(list(&["all"])));
        assert_eq!(
            RegionsSpec::from_config(&list(&["all"])).unwrap(),
            RegionsSpec::All
        );
    }

    #[test]
    fn forwarders_go_everywhere_but_home_and_cover_global_events_with_health() {
        let spec = RegionsSpec::List(list(&["ap-southeast-1", "us-west-2"]));
        assert_eq!(
            forwarder_regions("ap-southeast-1", &spec, &[], true).unwrap(),
            (list(&["us-east-1", "us-west-2"]), true)
        );
        assert_eq!(
            forwarder_regions("ap-southeast-1", &spec, &[], false).unwrap(),
            (list(&["us-west-2"]), false)
        );
        assert_eq!(
            forwarder_regions("us-east-1", &spec, &[], true).unwrap(),
            (list(&["ap-southeast-1", "us-west-2"]), false)
        );
        assert_eq!(
            forwarder_regions("eu-west-1", &RegionsSpec::HomeOnly, &[], true).unwrap(),
            (vec![], false)
        );
    }

    #[test]
    fn all_means_the_enabled_regions_of_the_home_partition() {
        let enabled = list(&["cn-north-1", "eu-west-1", "us-east-1", "us-gov-west-1"]);
        assert_eq!(
            forwarder_regions("eu-west-1", &RegionsSpec::All, &enabled, true).unwrap(),
            (list(&["us-east-1"]), false)
        );
        assert_eq!(
            forwarder_regions("cn-northwest-1", &RegionsSpec::All, &enabled, true).unwrap(),
            (list(&["cn-north-1"]), false)
        );
    }

    #[test]
    fn china_forwards_only_to_china() {
        let spec = RegionsSpec::List(list(&["cn-north-1", "us-east-1"]));
        let err = forwarder_regions("cn-northwest-1", &spec, &[], true)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "--regions: us-east-1 is in the aws partition and the home region cn-northwest-1 in aws-cn; \
             events cannot cross partitions (China regions forward only to China regions): \
             deploy a separate notifier there"
        );
        assert_eq!(
            forwarder_regions(
                "cn-northwest-1",
                &RegionsSpec::List(list(&["cn-north-1"])),
                &[],
                true
            )
            .unwrap(),
            (list(&["cn-north-1"]), false),
            "cn-north-1 is China's global-events region"
        );
    }

    #[test]
    fn forwarder_parameters_are_the_forwarder_templates_and_follow_the_settings() {
        let mut s = settings();
        s.rules = vec![Rule::Health, Rule::Alarm];
        s.alarm_states = "ALARM".into();
        let p = forwarder_parameters(&s, "ap-southeast-1", "us-east-1");
        let mut keys: Vec<&str> = p.iter().map(|(k, _)| *k).collect();
        keys.sort();
        let template: serde_yaml::Value = serde_yaml::from_str(stack::FORWARDER_TEMPLATE).unwrap();
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
        let current = forwarder_parameters(&s, "ap-southeast-1", "eu-west-1");
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

    #[test]
    fn partitions() {
        assert_eq!(partition("ap-southeast-1"), "aws");
        assert_eq!(partition("cn-northwest-1"), "aws-cn");
        assert_eq!(partition("us-gov-east-1"), "aws-us-gov");
        assert_eq!(partition("us-east-1"), "aws");
    }

    #[test]
    fn each_region_keeps_its_own_health_events_and_one_keeps_global_ones() {
        assert_eq!(health_event_regions("us-east-1"), "us-east-1,global");
        // The standard partition's backup region keeps only its own events.
        assert_eq!(health_event_regions("us-west-2"), "us-west-2");
        assert_eq!(health_event_regions("eu-central-1"), "eu-central-1");
        assert_eq!(health_event_regions("cn-north-1"), "cn-north-1,global");
        assert_eq!(health_event_regions("cn-northwest-1"), "cn-northwest-1");
        assert_eq!(
            health_event_regions("us-gov-west-1"),
            "us-gov-west-1,global"
        );
    }
}
