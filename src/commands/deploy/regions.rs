//! Regions: which partition a region is in, where AWS Health sends global
//! events, and which Health events each region's rule keeps
//! (docs/design.md, "Many regions"). Pure functions, no AWS calls.

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

#[cfg(test)]
mod tests {
    use super::*;

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
