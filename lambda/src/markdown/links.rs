//! Links to the AWS console page that matches an alert, so the person on call
//! is one tap from the resource. Each partition has its own console domain:
//! `aws.amazon.com`, China `amazonaws.cn`, GovCloud `amazonaws-us-gov.com`.

const ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.');

/// One path or fragment component, percent-encoded (`-`, `_`, `.` kept).
pub fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, ENCODE).to_string()
}

pub(crate) fn console_domain(region: &str) -> &'static str {
    partition_console_domain(crate::model_id::partition(region))
}

/// AWS Health has its own `health.` host on the commercial and China
/// consoles; GovCloud serves it from the partition's console.
fn health_host(region: &str) -> String {
    match console_domain(region) {
        gov @ "console.amazonaws-us-gov.com" => format!("https://{gov}"),
        other => format!("https://health.{other}"),
    }
}

/// The console domain of an ARN's partition (`arn:aws-cn:...`).
fn arn_console_domain(arn: &str) -> &'static str {
    partition_console_domain(arn.split(':').nth(1).unwrap_or("aws"))
}

fn partition_console_domain(partition: &str) -> &'static str {
    match partition {
        "aws-cn" => "console.amazonaws.cn",
        "aws-us-gov" => "console.amazonaws-us-gov.com",
        _ => "console.aws.amazon.com",
    }
}

/// True for an `https://` address on one of AWS's own sites (under
/// `aws.amazon.com`, `amazonaws.cn` or `amazonaws-us-gov.com`, no user
/// part): the only links taken from a payload (Cost Anomaly Detection's
/// `anomalyDetailsLink`), since anyone who can publish to the topic could
/// put any address there.
pub fn is_aws_site(address: &str) -> bool {
    let Ok(u) = url::Url::parse(address.trim()) else {
        return false;
    };
    let host = u.host_str().unwrap_or("").to_ascii_lowercase();
    u.scheme() == "https"
        && u.username().is_empty()
        && u.password().is_none()
        && ["aws.amazon.com", "amazonaws.cn", "amazonaws-us-gov.com"]
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

/// `https://<region>.<console domain>`: the regional console that the
/// typed messages' own links (`events::operations::console`) build on.
pub fn regional_console(region: &str) -> String {
    format!("https://{region}.{}", console_domain(region))
}

/// `https://<console domain>` of the region's partition, for global pages.
pub fn global_console(region: &str) -> String {
    format!("https://{}", console_domain(region))
}

pub fn health_event(event_arn: &str, region: &str) -> String {
    format!(
        "{}/health/home#/account/event-log?eventID={}&eventTab=details",
        health_host(region),
        encode(event_arn)
    )
}

pub fn health_dashboard(region: &str) -> String {
    format!(
        "{}/health/home#/account/dashboard/open-issues",
        health_host(region)
    )
}

pub fn ec2_instance(region: &str, instance_id: &str) -> String {
    format!(
        "https://{region}.{}/ec2/home?region={region}#InstanceDetails:instanceId={}",
        console_domain(region),
        encode(instance_id)
    )
}

pub fn alarm(region: &str, name: &str) -> String {
    format!(
        "https://{region}.{}/cloudwatch/home?region={region}#alarmsV2:alarm/{}",
        console_domain(region),
        encode(name)
    )
}

/// One GuardDuty finding, searched by id as AWS's own EventBridge examples
/// link it; without an id, the findings list.
pub fn guardduty_finding(region: &str, finding_id: &str) -> String {
    let base = format!(
        "https://{}/guardduty/home?region={region}#/findings",
        console_domain(region)
    );
    if finding_id.is_empty() {
        base
    } else {
        format!("{base}?search=id%3D{}", encode(finding_id))
    }
}

/// Cost Anomaly Detection's overview, on the monitor's partition (used when
/// a notification has no `anomalyDetailsLink`).
pub fn cost_anomalies(monitor_arn: &str) -> String {
    format!(
        "https://{}/cost-management/home#/anomaly-detection/overview",
        arn_console_domain(monitor_arn)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_aws_sites_are_taken_from_payloads() {
        assert!(is_aws_site(
            "https://console.aws.amazon.com/cost-management/home#/anomaly-detection"
        ));
        assert!(is_aws_site("https://console.amazonaws.cn/x"));
        for forged in [
            "https://console.aws.amazon.com.evil.example/",
            "https://aws.amazon.com@evil.example/",
            "http://console.aws.amazon.com/",
            "javascript:alert(1)",
        ] {
            assert!(!is_aws_site(forged), "{forged}");
        }
    }

    #[test]
    fn links_encode_and_switch_domain_by_partition() {
        assert_eq!(
            alarm("us-east-1", "cpu high/web"),
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/cpu%20high%2Fweb"
        );
        assert_eq!(
            ec2_instance("cn-north-1", "i-0abc"),
            "https://cn-north-1.console.amazonaws.cn/ec2/home?region=cn-north-1#InstanceDetails:instanceId=i-0abc"
        );
        assert_eq!(
            alarm("us-gov-west-1", "disk"),
            "https://us-gov-west-1.console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-west-1#alarmsV2:alarm/disk"
        );
        assert_eq!(
            health_dashboard("us-gov-east-1"),
            "https://console.amazonaws-us-gov.com/health/home#/account/dashboard/open-issues"
        );
        assert_eq!(
            guardduty_finding("us-east-1", "16afba5c"),
            "https://console.aws.amazon.com/guardduty/home?region=us-east-1#/findings?search=id%3D16afba5c"
        );
        assert_eq!(
            guardduty_finding("cn-northwest-1", "ab12"),
            "https://console.amazonaws.cn/guardduty/home?region=cn-northwest-1#/findings?search=id%3Dab12"
        );
        assert_eq!(
            guardduty_finding("us-gov-west-1", ""),
            "https://console.amazonaws-us-gov.com/guardduty/home?region=us-gov-west-1#/findings"
        );
        assert_eq!(
            cost_anomalies("arn:aws-cn:ce::123456789012:anomalymonitor/m"),
            "https://console.amazonaws.cn/cost-management/home#/anomaly-detection/overview"
        );
        assert_eq!(
            cost_anomalies("arn:aws:ce::123456789012:anomalymonitor/m"),
            "https://console.aws.amazon.com/cost-management/home#/anomaly-detection/overview"
        );
    }
}
