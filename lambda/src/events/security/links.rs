//! Console pages for security findings, on the region's partition (the
//! domains live in [`crate::markdown::links`]). Links are always built by us
//! from ids; a URL carried by an event (a remediation page, a CVE source) is
//! shown as text at most, never as a link.

use crate::markdown::links::{console_domain, encode};

/// One Security Hub finding, searched by its id as the console's own
/// "copy link" does: the search value is `Id=\operator\:EQUALS\:<id>`,
/// percent-encoded twice.
pub fn securityhub_finding(region: &str, finding_id: &str) -> String {
    let base = format!(
        "https://{region}.{}/securityhub/home?region={region}#/findings",
        console_domain(region)
    );
    if finding_id.is_empty() {
        return base;
    }
    format!(
        "{base}?search=Id%3D%255Coperator%255C%253AEQUALS%255C%253A{}",
        encode(&encode(finding_id))
    )
}

/// Inspector's findings list (its console has no stable link to one finding).
pub fn inspector_findings(region: &str) -> String {
    format!(
        "https://{region}.{}/inspector/v2/home?region={region}#/findings/all",
        console_domain(region)
    )
}

/// IAM Access Analyzer's findings list.
pub fn access_analyzer_findings(region: &str) -> String {
    format!(
        "https://{region}.{}/access-analyzer/home?region={region}#/findings",
        console_domain(region)
    )
}

/// One CloudTrail event in the event history.
pub fn cloudtrail_event(region: &str, event_id: &str) -> String {
    format!(
        "https://{region}.{}/cloudtrailv2/home?region={region}#/events/{}",
        console_domain(region),
        encode(event_id)
    )
}

/// One AWS Config rule with its resources' compliance.
pub fn config_rule(region: &str, rule: &str) -> String {
    format!(
        "https://{region}.{}/config/home?region={region}#/rules/details?configRuleName={}",
        console_domain(region),
        encode(rule)
    )
}

/// One image's scan results in ECR.
pub fn ecr_scan(region: &str, account: &str, repository: &str, digest: &str) -> String {
    format!(
        "https://{region}.{}/ecr/repositories/private/{}/{}/_/image/{}/details?region={region}",
        console_domain(region),
        encode(account),
        encode(repository),
        encode(digest)
    )
}

/// Trusted Advisor's recommendations (its events are sent in us-east-1).
pub fn trusted_advisor(region: &str) -> String {
    format!(
        "https://{}/trustedadvisor/home#/dashboard",
        console_domain(region)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_links_encode_ids_and_follow_the_partition() {
        assert_eq!(
            securityhub_finding("us-east-1", "arn:aws:securityhub:us-east-1:1:x/y"),
            "https://us-east-1.console.aws.amazon.com/securityhub/home?region=us-east-1#/findings?search=Id%3D%255Coperator%255C%253AEQUALS%255C%253Aarn%253Aaws%253Asecurityhub%253Aus-east-1%253A1%253Ax%252Fy"
        );
        assert_eq!(
            config_rule("cn-north-1", "s3 rule"),
            "https://cn-north-1.console.amazonaws.cn/config/home?region=cn-north-1#/rules/details?configRuleName=s3%20rule"
        );
        assert_eq!(
            cloudtrail_event("us-gov-west-1", "a-b"),
            "https://us-gov-west-1.console.amazonaws-us-gov.com/cloudtrailv2/home?region=us-gov-west-1#/events/a-b"
        );
    }
}
