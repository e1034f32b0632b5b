//! Links to the AWS console page that matches an alert, so the person on call
//! is one tap from the resource. China regions live on a different domain.

const ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.');

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, ENCODE).to_string()
}

fn console_domain(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "console.amazonaws.cn"
    } else {
        "console.aws.amazon.com"
    }
}

pub fn health_event(event_arn: &str, region: &str) -> String {
    format!(
        "https://health.{}/health/home#/account/event-log?eventID={}&eventTab=details",
        console_domain(region),
        encode(event_arn)
    )
}

pub fn health_dashboard(region: &str) -> String {
    format!(
        "https://health.{}/health/home#/account/dashboard/open-issues",
        console_domain(region)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_encode_and_switch_domain_for_china() {
        assert_eq!(
            alarm("us-east-1", "cpu high/web"),
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/cpu%20high%2Fweb"
        );
        assert_eq!(
            ec2_instance("cn-north-1", "i-0abc"),
            "https://cn-north-1.console.amazonaws.cn/ec2/home?region=cn-north-1#InstanceDetails:instanceId=i-0abc"
        );
    }
}
