//! The stack's two queues, and reading the dead-letter one: counting,
//! receiving without taking a message twice, and giving messages back.

use std::collections::HashSet;

use anyhow::{bail, Context, Result};
use aws_sdk_sqs::types::{ChangeMessageVisibilityBatchRequestEntry, QueueAttributeName};

use super::alerts::{alerts_of, Alert};
use crate::aws::{stack, Aws};
use crate::errors::AwsResultExt;

/// Seconds a received message stays hidden from other readers while it is
/// being moved (or listed).
pub const VISIBILITY_TIMEOUT: i32 = 60;
/// Long polling: an empty answer then means an empty queue, not an unlucky
/// sample of SQS's servers.
pub const WAIT_SECONDS: i32 = 1;
/// Consecutive empty receives that end the run.
pub const EMPTY_RECEIVES: u32 = 2;
/// SQS batch limits: 10 entries per call; 256 KiB of bodies per SendMessageBatch
/// (the limit before SQS allowed 1 MiB; a larger body is sent on its own).
pub const BATCH_ENTRIES: usize = 10;

/// The last path segment of a queue URL: its name.
pub fn queue_name(url: &str) -> &str {
    url.trim_end_matches('/').rsplit('/').next().unwrap_or(url)
}

pub struct Queues {
    pub dead_letter: String,
    pub alert: String,
}

pub async fn find_queues(aws: &Aws, stack_name: &str, region: &str) -> Result<Queues> {
    let Some(info) = stack::describe(aws, stack_name).await? else {
        bail!(
            "no stack named {stack_name} in {region}: run `dingtalk-notifier deploy` first (or pass --stack-name / --region)"
        );
    };
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

/// A received dead-letter message and the alerts made from it.
pub struct Dead {
    pub message_id: String,
    pub receipt: String,
    pub alerts: Vec<Alert>,
}

/// Receives from the dead-letter queue until it answers empty
/// [`EMPTY_RECEIVES`] times in a row or `--max` messages were taken. A
/// message seen before in this run (its visibility ran out after a failure)
/// is not taken twice.
pub struct Poller<'a> {
    aws: &'a Aws,
    url: &'a str,
    max: Option<usize>,
    pub taken: usize,
    empty: u32,
    seen: HashSet<String>,
    /// Every receipt handle received, for a dry run to give them back.
    pub receipts: Vec<String>,
}

impl<'a> Poller<'a> {
    pub fn new(aws: &'a Aws, url: &'a str, max: Option<u32>) -> Poller<'a> {
        Poller {
            aws,
            url,
            max: max.map(|m| m as usize),
            taken: 0,
            empty: 0,
            seen: HashSet::new(),
            receipts: Vec::new(),
        }
    }

    pub fn max_reached(&self) -> bool {
        self.max.is_some_and(|m| self.taken >= m)
    }

    pub async fn next(&mut self) -> Result<Option<Vec<Dead>>> {
        while self.empty < EMPTY_RECEIVES && !self.max_reached() {
            let want = self
                .max
                .map_or(BATCH_ENTRIES, |m| (m - self.taken).min(BATCH_ENTRIES));
            let out = self
                .aws
                .sqs
                .receive_message()
                .queue_url(self.url)
                .max_number_of_messages(want as i32)
                .visibility_timeout(VISIBILITY_TIMEOUT)
                .wait_time_seconds(WAIT_SECONDS)
                .send()
                .await
                .aws("sqs:ReceiveMessage")
                .with_context(|| {
                    format!(
                        "receiving from the dead-letter queue {}",
                        queue_name(self.url)
                    )
                })?;
            let mut fresh = Vec::new();
            for m in out.messages() {
                let (Some(id), Some(receipt)) = (m.message_id(), m.receipt_handle()) else {
                    continue;
                };
                self.receipts.push(receipt.to_string());
                if self.seen.insert(id.to_string()) {
                    fresh.push(Dead {
                        message_id: id.to_string(),
                        receipt: receipt.to_string(),
                        alerts: alerts_of(id, m.body().unwrap_or_default()),
                    });
                }
            }
            if fresh.is_empty() {
                self.empty += 1;
                continue;
            }
            self.empty = 0;
            self.taken += fresh.len();
            return Ok(Some(fresh));
        }
        Ok(None)
    }
}

/// Makes received messages visible again at once; returns how many could
/// not be (they reappear when their visibility timeout ends).
pub async fn release(aws: &Aws, url: &str, receipts: &[String]) -> usize {
    let mut not_released = 0;
    for (n, chunk) in receipts.chunks(BATCH_ENTRIES).enumerate() {
        let entries: Result<Vec<_>, _> = chunk
            .iter()
            .enumerate()
            .map(|(i, receipt)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(format!("r{n}x{i}"))
                    .receipt_handle(receipt)
                    .visibility_timeout(0)
                    .build()
            })
            .collect();
        let Ok(entries) = entries else {
            not_released += chunk.len();
            continue;
        };
        match aws
            .sqs
            .change_message_visibility_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(out) => not_released += out.failed().len(),
            Err(_) => not_released += chunk.len(),
        }
    }
    not_released
}
