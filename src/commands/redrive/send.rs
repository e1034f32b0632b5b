//! Moving received dead-letter messages: send their alerts to the alert
//! queue in SendMessageBatch calls, then delete exactly the messages whose
//! alerts were all accepted.

use std::collections::HashSet;
use std::ops::Range;

use anyhow::{Context, Result};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, SendMessageBatchRequestEntry};

use super::alerts::Alert;
use super::queues::{Dead, BATCH_ENTRIES};
use crate::aws::queues::{queue_name, Queues};
use crate::aws::Aws;
use crate::errors::AwsResultExt;

pub const BATCH_BYTES: usize = 256 * 1024;

/// Splits entries, given their body sizes, into SendMessageBatch calls of at
/// most [`BATCH_ENTRIES`] entries and [`BATCH_BYTES`] bytes (a single larger
/// body gets a call of its own, and SQS's answer for it).
pub fn send_batches(sizes: &[usize]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, &size) in sizes.iter().enumerate() {
        if i > start && (i - start == BATCH_ENTRIES || bytes + size > BATCH_BYTES) {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

/// What a move did so far.
#[derive(Default)]
pub struct Moved {
    pub messages: usize,
    pub sent: Vec<Alert>,
    pub failed: Vec<(Alert, String)>,
    /// Dead-letter messages with only some of their alerts sent: they stay,
    /// so the next redrive sends those alerts again.
    pub partly_sent: Vec<String>,
    /// Receipts of the messages that stay in the dead-letter queue.
    pub kept: Vec<String>,
    /// Messages sent whose deletion from the dead-letter queue failed.
    pub not_deleted: usize,
}

/// Sends one SendMessageBatch; returns the entry ids accepted and the
/// failed ones with SQS's reason.
async fn send_chunk(
    aws: &Aws,
    url: &str,
    chunk: &[(String, usize, Alert)],
) -> Result<(HashSet<String>, Vec<(String, String)>)> {
    let entries = chunk
        .iter()
        .map(|(id, _, alert)| {
            SendMessageBatchRequestEntry::builder()
                .id(id)
                .message_body(&alert.body)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .context("building a SendMessageBatch request")?;
    let out = aws
        .sqs
        .send_message_batch()
        .queue_url(url)
        .set_entries(Some(entries))
        .send()
        .await
        .aws("sqs:SendMessage")
        .with_context(|| format!("sending to the alert queue {}", queue_name(url)))?;
    let ok = out
        .successful()
        .iter()
        .map(|e| e.id().to_string())
        .collect();
    let failed = out
        .failed()
        .iter()
        .map(|e| {
            let reason = match e.message() {
                Some(m) if !m.is_empty() => format!("{}: {m}", e.code()),
                _ => e.code().to_string(),
            };
            (e.id().to_string(), reason)
        })
        .collect();
    Ok((ok, failed))
}

/// Sends the alerts of one received batch, then deletes from the dead-letter
/// queue exactly the messages whose alerts were all accepted.
pub async fn move_batch(
    aws: &Aws,
    queues: &Queues,
    batch: Vec<Dead>,
    moved: &mut Moved,
) -> Result<()> {
    moved.messages += batch.len();
    let (sent_per_message, fatal) = send_alerts(aws, &queues.alert, &batch, moved).await;
    let mut to_delete = Vec::new();
    for (i, dead) in batch.iter().enumerate() {
        if sent_per_message[i] == dead.alerts.len() {
            to_delete.push(dead);
        } else {
            if sent_per_message[i] > 0 {
                moved.partly_sent.push(dead.message_id.clone());
            }
            moved.kept.push(dead.receipt.clone());
        }
    }
    delete_sent(aws, &queues.dead_letter, &to_delete, moved).await?;
    match fatal {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Sends every alert of the batch; returns how many of each message's alerts
/// were accepted, and the error that stopped the sending, if any.
async fn send_alerts(
    aws: &Aws,
    alert_queue: &str,
    batch: &[Dead],
    moved: &mut Moved,
) -> (Vec<usize>, Option<anyhow::Error>) {
    let entries: Vec<(String, usize, Alert)> = batch
        .iter()
        .enumerate()
        .flat_map(|(i, dead)| {
            dead.alerts
                .iter()
                .enumerate()
                .map(move |(j, alert)| (format!("m{i}a{j}"), i, alert.clone()))
        })
        .collect();
    let sizes: Vec<usize> = entries.iter().map(|(_, _, a)| a.body.len()).collect();
    let mut sent_per_message = vec![0usize; batch.len()];
    for range in send_batches(&sizes) {
        let chunk = &entries[range];
        match send_chunk(aws, alert_queue, chunk).await {
            Ok((ok, failed)) => {
                for (id, i, alert) in chunk {
                    if ok.contains(id) {
                        sent_per_message[*i] += 1;
                        moved.sent.push(alert.clone());
                    } else {
                        let reason = failed
                            .iter()
                            .find(|(f, _)| f == id)
                            .map(|(_, r)| r.clone())
                            .unwrap_or_else(|| "no answer from SQS for this entry".to_string());
                        moved.failed.push((alert.clone(), reason));
                    }
                }
            }
            // Nothing more is sent; what was accepted is still deleted.
            Err(e) => return (sent_per_message, Some(e)),
        }
    }
    (sent_per_message, None)
}

/// Deletes the messages whose alerts were all sent.
async fn delete_sent(
    aws: &Aws,
    dead_letter: &str,
    to_delete: &[&Dead],
    moved: &mut Moved,
) -> Result<()> {
    for chunk in to_delete.chunks(BATCH_ENTRIES) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, dead)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(format!("d{i}"))
                    .receipt_handle(&dead.receipt)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .context("building a DeleteMessageBatch request")?;
        let out = aws
            .sqs
            .delete_message_batch()
            .queue_url(dead_letter)
            .set_entries(Some(entries))
            .send()
            .await
            .aws("sqs:DeleteMessage");
        match out {
            Ok(out) => moved.not_deleted += out.failed().len(),
            Err(e) => {
                moved.not_deleted += chunk.len();
                return Err(e.context(format!(
                    "removing sent alerts from the dead-letter queue {} (they were sent; a later redrive would send them again)",
                    queue_name(dead_letter)
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_count_and_size() {
        assert_eq!(send_batches(&[]), Vec::<Range<usize>>::new());
        assert_eq!(send_batches(&[10; 3]), vec![0..3]);
        assert_eq!(send_batches(&[1; 23]), vec![0..10, 10..20, 20..23]);
        let big = 200 * 1024;
        assert_eq!(send_batches(&[big, big, 10, 10]), vec![0..1, 1..4]);
        assert_eq!(send_batches(&[300 * 1024, 5]), vec![0..1, 1..2]);
    }
}
