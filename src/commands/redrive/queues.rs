//! The stack's two queues, and reading the dead-letter one: counting,
//! receiving without taking a message twice, and giving messages back.

use std::collections::HashSet;

use anyhow::{Context, Result};
use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry;

use super::alerts::{alerts_of, Alert};
use crate::aws::queues::queue_name;
use crate::aws::Aws;
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
