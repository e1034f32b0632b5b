//! The stack's two SQS queues (alerts, dead letters) found from its outputs
//! or resources, and how many messages each holds: what `redrive` moves and
//! what `destroy` warns about.

use anyhow::{bail, Context, Result};
use aws_sdk_sqs::types::QueueAttributeName;

use crate::aws::{stack, Aws};
use crate::errors::AwsResultExt;

/// The last path segment of a queue URL: its name.
pub fn queue_name(url: &str) -> &str {
    url.trim_end_matches('/').rsplit('/').next().unwrap_or(url)
}

pub struct Queues {
    pub dead_letter: String,
    pub alert: String,
}

pub async fn find_queues(aws: &Aws, stack_name: &str) -> Result<Queues> {
    let info = stack::require(aws, stack_name).await?;
    let wanted = [
        ("DeadLetterQueueUrl", "DeadLetterQueue"),
        ("AlertQueueUrl", "AlertQueue"),
    ];
    let mut urls: Vec<Option<String>> = wanted
        .iter()
        .map(|(output, _)| info.outputs.get(*output).filter(|u| !u.is_empty()).cloned())
        .collect();
    if urls.iter().any(Option::is_none) {
        let queues = stack::resources_of_type(aws, &info, "AWS::SQS::Queue").await?;
        for (url, (_, logical_id)) in urls.iter_mut().zip(wanted) {
            if url.is_none() {
                *url = queues
                    .iter()
                    .find(|(id, _)| id == logical_id)
                    .map(|(_, u)| u.clone());
            }
        }
    }
    match (urls[0].take(), urls[1].take()) {
        (Some(dead_letter), Some(alert)) => Ok(Queues { dead_letter, alert }),
        (dead_letter, alert) => {
            let missing: Vec<&str> = [
                dead_letter.is_none().then_some("DeadLetterQueueUrl"),
                alert.is_none().then_some("AlertQueueUrl"),
            ]
            .into_iter()
            .flatten()
            .collect();
            bail!(
                "the stack {stack_name} has no {} output: it was deployed by an older dingtalk-notifier; run `dingtalk-notifier deploy` to update it, then redrive",
                missing.join(" or ")
            )
        }
    }
}

/// Visible and in-flight messages.
pub async fn message_counts(aws: &Aws, url: &str) -> Result<(usize, usize)> {
    let out = aws
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .aws("sqs:GetQueueAttributes")
        .with_context(|| format!("reading the queue {url}"))?;
    let count = |name: QueueAttributeName| {
        out.attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0)
    };
    Ok((
        count(QueueAttributeName::ApproximateNumberOfMessages),
        count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    ))
}
