//! Who watches the watcher: the notifier's own health, for `status`. When
//! DingTalk itself is what fails (robot deleted, keyword changed), alerts
//! pile up in the dead-letter queue and the group hears nothing; the
//! template's alarms tell the ops topic (and `deploy --ops-email`), and
//! `status` shows how many alerts wait and what state the alarms are in.

use anyhow::Result;
use dingtalk_notifier_lambda::markdown::links;
use serde::Serialize;

use crate::aws::queues;
use crate::aws::stack::{self, StackInfo};
use crate::aws::Aws;
use crate::errors::{has_code, AwsResultExt};

/// The name suffixes of the template's alarms, in template order: the
/// template names them `<stack>-<suffix>` (docs/design.md).
pub const ALARM_SUFFIXES: [&str; 4] = [
    "dead-letters",
    "function-errors",
    "robot-refusals",
    "webhook-host",
];

pub fn alarm_names(stack_name: &str) -> Vec<String> {
    ALARM_SUFFIXES
        .iter()
        .map(|suffix| format!("{stack_name}-{suffix}"))
        .collect()
}

/// One ops alarm as CloudWatch reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alarm {
    pub name: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`; `None` when the alarm does not
    /// exist (a stack deployed before the alarms were added).
    pub state: Option<String>,
    /// The alarm's page in the console of the region's partition.
    pub link: String,
    /// Why the state could not be read (the caller may not
    /// `cloudwatch:DescribeAlarms`): `status` shows the rest anyway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

/// Pure: each expected alarm with the state CloudWatch gave for it, if any.
pub fn alarms_from(region: &str, names: &[String], found: &[(String, String)]) -> Vec<Alarm> {
    names
        .iter()
        .map(|name| Alarm {
            name: name.clone(),
            state: found
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, state)| state.clone()),
            link: links::alarm(region, name),
            unreadable: None,
        })
        .collect()
}

/// Pure: the expected alarms when their states could not be read.
pub fn alarms_unreadable(region: &str, names: &[String], why: &str) -> Vec<Alarm> {
    alarms_from(region, names, &[])
        .into_iter()
        .map(|a| Alarm {
            unreadable: Some(why.to_string()),
            ..a
        })
        .collect()
}

/// The state of each of the stack's ops alarms, in template order.
pub async fn alarms(aws: &Aws, stack_name: &str, region: &str) -> Result<Vec<Alarm>> {
    let names = alarm_names(stack_name);
    let out = aws
        .cloudwatch
        .describe_alarms()
        .set_alarm_names(Some(names.clone()))
        .send()
        .await
        .aws("cloudwatch:DescribeAlarms");
    let out = match out {
        Ok(out) => out,
        Err(e) if has_code(&e, &["AccessDenied", "AccessDeniedException"]) => {
            let why = "not allowed cloudwatch:DescribeAlarms";
            return Ok(alarms_unreadable(region, &names, why));
        }
        Err(e) => return Err(e.context(format!("reading the alarms of the stack {stack_name}"))),
    };
    let found: Vec<(String, String)> = out
        .metric_alarms()
        .iter()
        .filter_map(|a| {
            Some((
                a.alarm_name()?.to_string(),
                a.state_value()?.as_str().to_string(),
            ))
        })
        .collect();
    Ok(alarms_from(region, &names, &found))
}

/// A read-only caller without CloudWatch still gets the rest of `status`.
/// Alerts waiting in the dead-letter queue (visible messages: what the
/// alarm measures); `None` when the stack has no such queue.
pub async fn dead_letters(aws: &Aws, info: &StackInfo) -> Result<Option<u64>> {
    let url = match info.outputs.get("DeadLetterQueueUrl") {
        Some(url) if !url.is_empty() => Some(url.clone()),
        _ => stack::resources_of_type(aws, info, "AWS::SQS::Queue")
            .await?
            .into_iter()
            .find(|(logical_id, _)| logical_id == "DeadLetterQueue")
            .map(|(_, url)| url),
    };
    let Some(url) = url else {
        return Ok(None);
    };
    let (visible, _in_flight) = queues::message_counts(aws, &url).await?;
    Ok(Some(visible as u64))
}

/// One subscription of the ops topic, as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpsSubscription {
    pub protocol: String,
    /// The address; for an HTTP(S) endpoint only its scheme and host (its
    /// path or query may carry a token).
    pub endpoint: String,
    /// SNS sends nothing to it until someone confirms it (the link SNS
    /// mailed): the ops alarms reach no one there yet.
    pub pending_confirmation: bool,
}

/// Pure: a subscription as `ListSubscriptionsByTopic` gives it.
pub fn subscription_from(protocol: &str, endpoint: &str, arn: &str) -> OpsSubscription {
    let endpoint = match protocol {
        "http" | "https" => url::Url::parse(endpoint)
            .ok()
            .and_then(|u| Some(format!("{}://{}", u.scheme(), u.host_str()?)))
            .unwrap_or_else(|| format!("{protocol} endpoint")),
        _ => endpoint.to_string(),
    };
    OpsSubscription {
        protocol: protocol.to_string(),
        endpoint,
        // SNS's placeholder ARN until the subscription is confirmed.
        pending_confirmation: arn == "PendingConfirmation",
    }
}

/// Who hears the ops alarms: the subscriptions of the stack's ops topic.
/// `None` when the stack has no ops topic or the caller may not list them
/// (`status` shows the rest anyway).
pub async fn subscriptions(aws: &Aws, info: &StackInfo) -> Result<Option<Vec<OpsSubscription>>> {
    let arn = match info.outputs.get("OpsTopicArn") {
        Some(arn) if !arn.is_empty() => Some(arn.clone()),
        _ => stack::resources_of_type(aws, info, "AWS::SNS::Topic")
            .await?
            .into_iter()
            .find(|(logical_id, _)| logical_id == "OpsTopic")
            .map(|(_, arn)| arn),
    };
    let Some(arn) = arn else {
        return Ok(None);
    };
    let mut found = Vec::new();
    let mut pages = aws
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(&arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = match page.aws("sns:ListSubscriptionsByTopic") {
            Ok(page) => page,
            Err(e) if has_code(&e, &["AuthorizationError", "AccessDenied"]) => return Ok(None),
            Err(e) => return Err(e.context(format!("listing the subscriptions of {arn}"))),
        };
        found.extend(page.subscriptions().iter().map(|s| {
            subscription_from(
                s.protocol().unwrap_or_default(),
                s.endpoint().unwrap_or_default(),
                s.subscription_arn().unwrap_or_default(),
            )
        }));
    }
    Ok(Some(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_flag_pending_ones_and_hide_endpoint_paths() {
        assert_eq!(
            subscription_from("email", "ops@example.com", "PendingConfirmation"),
            OpsSubscription {
                protocol: "email".into(),
                endpoint: "ops@example.com".into(),
                pending_confirmation: true,
            }
        );
        let confirmed = subscription_from(
            "https",
            "https://hooks.example.com/services/T0/B0/secret-token?x=1",
            "arn:aws:sns:us-east-1:123456789012:alerts-OpsTopic-1:0f1e",
        );
        assert_eq!(confirmed.endpoint, "https://hooks.example.com");
        assert!(!confirmed.pending_confirmation);
    }

    #[test]
    fn alarms_keep_template_order_and_say_which_are_missing() {
        let names = alarm_names("alerts");
        assert_eq!(
            names,
            [
                "alerts-dead-letters",
                "alerts-function-errors",
                "alerts-robot-refusals",
                "alerts-webhook-host"
            ]
        );
        let found = vec![("alerts-function-errors".to_string(), "OK".to_string())];
        assert_eq!(
            alarms_from("us-gov-west-1", &names[..2], &found),
            vec![
                Alarm {
                    name: "alerts-dead-letters".into(),
                    state: None,
                    link: "https://us-gov-west-1.console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-west-1#alarmsV2:alarm/alerts-dead-letters".into(),
                    unreadable: None,
                },
                Alarm {
                    name: "alerts-function-errors".into(),
                    state: Some("OK".into()),
                    link: "https://us-gov-west-1.console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-west-1#alarmsV2:alarm/alerts-function-errors".into(),
                    unreadable: None,
                },
            ]
        );
    }

    #[test]
    fn alarms_a_caller_may_not_read_are_listed_as_unreadable() {
        let alarms = alarms_unreadable(
            "us-east-1",
            &alarm_names("a"),
            "not allowed cloudwatch:DescribeAlarms",
        );
        assert_eq!(alarms.len(), ALARM_SUFFIXES.len());
        assert!(alarms.iter().all(|a| a.state.is_none()
            && a.unreadable.as_deref() == Some("not allowed cloudwatch:DescribeAlarms")));
        assert_eq!(
            serde_json::to_value(&alarms[0]).unwrap()["unreadable"],
            "not allowed cloudwatch:DescribeAlarms"
        );
        assert!(
            serde_json::to_value(&alarms_from("us-east-1", &alarm_names("a"), &[])[0])
                .unwrap()
                .get("unreadable")
                .is_none()
        );
    }

    /// The console link follows the region's partition.
    #[test]
    fn alarm_links_use_the_partitions_console_domain() {
        let link = |region: &str| alarms_from(region, &alarm_names("a"), &[])[0].link.clone();
        assert_eq!(
            link("ap-southeast-1"),
            "https://ap-southeast-1.console.aws.amazon.com/cloudwatch/home?region=ap-southeast-1#alarmsV2:alarm/a-dead-letters"
        );
        assert_eq!(
            link("cn-north-1"),
            "https://cn-north-1.console.amazonaws.cn/cloudwatch/home?region=cn-north-1#alarmsV2:alarm/a-dead-letters"
        );
        assert_eq!(
            link("us-gov-east-1"),
            "https://us-gov-east-1.console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-east-1#alarmsV2:alarm/a-dead-letters"
        );
    }
}
