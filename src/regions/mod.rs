//! Regions, without calling AWS: which partition a region is in, where AWS
//! Health sends global events, which Health events each region's rule
//! keeps, and which regions get a forwarder stack (docs/design.md, "Many
//! regions"). Shared by `deploy`, `status`, `destroy` and `test-send`.

use anyhow::{bail, Result};

use self::name::validate as validate_region;

pub mod name;

/// The source of `test-send --region`'s events: the function's, which
/// logs their `detail.test_id`.
pub use dingtalk_notifier_lambda::format::TEST_EVENT_SOURCE;
pub const TEST_EVENT_DETAIL_TYPE: &str = "dingtalk-notifier test event";

/// The AWS partition of a region: one definition, the function's.
pub use dingtalk_notifier_lambda::model_id::partition;

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

/// The home stack's event bus for forwarded events (notifier.yaml
/// `ForwardedEventBus`): what every forwarder targets, never a default bus.
pub fn forwarded_bus_name(stack_name: &str) -> String {
    format!("dingtalk-notifier-{stack_name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_events_are_what_both_templates_route_and_not_an_aws_source() {
        for template in [
            crate::aws::stack::TEMPLATE,
            crate::aws::stack::FORWARDER_TEMPLATE,
        ] {
            let t: yaml_serde::Value = yaml_serde::from_str(template).unwrap();
            let pattern = &t["Resources"]["TestEventRule"]["Properties"]["EventPattern"];
            assert_eq!(pattern["source"][0].as_str(), Some(TEST_EVENT_SOURCE));
            assert_eq!(
                pattern["detail-type"][0].as_str(),
                Some(TEST_EVENT_DETAIL_TYPE)
            );
        }
        assert!(!TEST_EVENT_SOURCE.starts_with("aws."));
    }
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
