//! `redrive`: send the alerts kept in the stack's dead-letter queue back to
//! its alert queue once the cause of the failure is fixed.
//!
//! The dead-letter queue holds two shapes of body:
//! - what the alert queue moved there after `MaxReceiveCount` tries: an SNS
//!   notification (`{"Type":"Notification","MessageId":...}`), which goes
//!   back unchanged;
//! - a failed asynchronous invocation of the function: the Lambda event
//!   itself. An SNS event (`{"Records":[{"Sns":{...}}]}`) becomes one SNS
//!   notification per record; anything else (an EventBridge event, text) is
//!   sent as is, which the function reads from the queue too.
//!
//! A dead-letter message is deleted only after the alert queue accepted every
//! alert made from it, so a failure never loses an alert (at worst a later
//! redrive sends one twice). `--dry-run` receives the messages to list them
//! and makes them visible again straight away.

use std::collections::HashSet;
use std::ops::Range;

use anyhow::{bail, Context, Result};
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use serde_json::{json, Value};

use crate::aws::stack;
use crate::aws::Aws;
use crate::cli::RedriveArgs;
use crate::errors::AwsResultExt;
use crate::term::output::{table, Ui};
use crate::term::prompt;

/// Seconds a received message stays hidden from other readers while it is
/// being moved (or listed).
const VISIBILITY_TIMEOUT: i32 = 60;
/// Long polling: an empty answer then means an empty queue, not an unlucky
/// sample of SQS's servers.
const WAIT_SECONDS: i32 = 1;
/// Consecutive empty receives that end the run.
const EMPTY_RECEIVES: u32 = 2;
/// SQS batch limits: 10 entries per call; 256 KiB of bodies per SendMessageBatch
/// (the limit before SQS allowed 1 MiB; a larger body is sent on its own).
const BATCH_ENTRIES: usize = 10;
const BATCH_BYTES: usize = 256 * 1024;
/// Longest title shown for an alert.
const TITLE_CHARS: usize = 60;

/// One alert as it goes to the alert queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The log contract's alert id: the SNS MessageId, else the EventBridge
    /// event id, else the dead-letter message's id.
    pub id: String,
    /// Subject or `detail-type`, else the first line of a text, shortened.
    pub title: String,
    pub body: String,
}

/// The bodies the alert queue should get for one dead-letter body (see the
/// module documentation).
pub fn alert_bodies(body: &str) -> Vec<String> {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return vec![body.to_string()];
    };
    if is_notification(&value) {
        return vec![body.to_string()];
    }
    match sns_records(&value) {
        Some(records) => records.into_iter().map(notification_body).collect(),
        None => vec![body.to_string()],
    }
}

/// [`alert_bodies`] with an id and a title for each.
pub fn alerts_of(message_id: &str, body: &str) -> Vec<Alert> {
    alert_bodies(body)
        .into_iter()
        .map(|body| {
            let (id, title) = describe(&body);
            Alert {
                id: id.unwrap_or_else(|| message_id.to_string()),
                title,
                body,
            }
        })
        .collect()
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// What SNS puts in an SQS body (non-raw delivery), as the function checks it.
fn is_notification(v: &Value) -> bool {
    v.get("Type").and_then(Value::as_str) == Some("Notification") && v.get("Message").is_some()
}

/// The `Sns` objects of a Lambda SNS event, when every record is one.
fn sns_records(event: &Value) -> Option<Vec<&serde_json::Map<String, Value>>> {
    let records = event.get("Records")?.as_array()?;
    if records.is_empty() {
        return None;
    }
    records
        .iter()
        .map(|record| {
            let source = record
                .get("EventSource")
                .or_else(|| record.get("eventSource"))
                .and_then(Value::as_str);
            if source.is_some_and(|s| s != "aws:sns") {
                return None;
            }
            let sns = record.get("Sns")?.as_object()?;
            sns.contains_key("Message").then_some(sns)
        })
        .collect()
}

/// An SNS record as the notification SNS itself would have put in the queue,
/// fields in SNS's order; absent or null fields are left out.
fn notification_body(sns: &serde_json::Map<String, Value>) -> String {
    let mut out = String::from("{\"Type\":\"Notification\"");
    for key in ["MessageId", "TopicArn", "Subject", "Message", "Timestamp"] {
        if let Some(value) = sns.get(key).filter(|v| !v.is_null()) {
            out.push_str(&format!(",\"{key}\":{value}"));
        }
    }
    out.push('}');
    out
}

/// The alert id (when the body carries one) and a short title.
fn describe(body: &str) -> (Option<String>, String) {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return (None, short(body));
    };
    if is_notification(&v) {
        let title = match str_field(&v, "Subject") {
            Some(subject) => short(&subject),
            None => match v.get("Message") {
                Some(Value::String(text)) => message_title(text),
                Some(other) => message_title(&other.to_string()),
                None => short(""),
            },
        };
        return (str_field(&v, "MessageId"), title);
    }
    match event_title(&v) {
        Some(title) => (str_field(&v, "id"), title),
        None => (None, short(body)),
    }
}

fn message_title(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| event_title(&v))
        .unwrap_or_else(|| short(text))
}

/// An EventBridge event's `detail-type`.
fn event_title(v: &Value) -> Option<String> {
    v.get("source")?;
    str_field(v, "detail-type").map(|t| short(&t))
}

/// The first non-empty line, without control characters, at most
/// [`TITLE_CHARS`] characters.
fn short(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let clean: String = line
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.is_empty() {
        return "(empty)".to_string();
    }
    if clean.chars().count() <= TITLE_CHARS {
        return clean;
    }
    let cut: String = clean.chars().take(TITLE_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

/// Splits entries, given their body sizes, into SendMessageBatch calls of at
/// most [`BATCH_ENTRIES`] entries and [`BATCH_BYTES`] bytes (a single larger
/// body gets a call of its own, and SQS's answer for it).
fn send_batches(sizes: &[usize]) -> Vec<Range<usize>> {
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

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The last path segment of a queue URL: its name.
fn queue_name(url: &str) -> &str {
    url.trim_end_matches('/').rsplit('/').next().unwrap_or(url)
}

pub(crate) struct Queues {
    pub dead_letter: String,
    pub alert: String,
}

pub(crate) async fn find_queues(aws: &Aws, stack_name: &str, region: &str) -> Result<Queues> {
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
pub(crate) async fn message_counts(aws: &Aws, url: &str) -> Result<(usize, usize)> {
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
struct Dead {
    message_id: String,
    receipt: String,
    alerts: Vec<Alert>,
}

/// Receives from the dead-letter queue until it answers empty
/// [`EMPTY_RECEIVES`] times in a row or `--max` messages were taken. A
/// message seen before in this run (its visibility ran out after a failure)
/// is not taken twice.
struct Poller<'a> {
    aws: &'a Aws,
    url: &'a str,
    max: Option<usize>,
    taken: usize,
    empty: u32,
    seen: HashSet<String>,
    /// Every receipt handle received, for a dry run to give them back.
    receipts: Vec<String>,
}

impl<'a> Poller<'a> {
    fn new(aws: &'a Aws, url: &'a str, max: Option<u32>) -> Poller<'a> {
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

    fn max_reached(&self) -> bool {
        self.max.is_some_and(|m| self.taken >= m)
    }

    async fn next(&mut self) -> Result<Option<Vec<Dead>>> {
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
async fn release(aws: &Aws, url: &str, receipts: &[String]) -> usize {
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

/// What a move did so far.
#[derive(Default)]
struct Moved {
    messages: usize,
    sent: Vec<Alert>,
    failed: Vec<(Alert, String)>,
    /// Dead-letter messages with only some of their alerts sent: they stay,
    /// so the next redrive sends those alerts again.
    partly_sent: Vec<String>,
    /// Receipts of the messages that stay in the dead-letter queue.
    kept: Vec<String>,
    /// Messages sent whose deletion from the dead-letter queue failed.
    not_deleted: usize,
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
async fn move_batch(aws: &Aws, queues: &Queues, batch: Vec<Dead>, moved: &mut Moved) -> Result<()> {
    moved.messages += batch.len();
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
    let mut fatal = None;
    for range in send_batches(&sizes) {
        let chunk = &entries[range];
        match send_chunk(aws, &queues.alert, chunk).await {
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
            Err(e) => {
                // Nothing more is sent; what was accepted is still deleted below.
                fatal = Some(e);
                break;
            }
        }
    }

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
            .queue_url(&queues.dead_letter)
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
                    queue_name(&queues.dead_letter)
                )));
            }
        }
    }
    match fatal {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The stack's two queues, by URL and by name.
struct Target<'a> {
    stack: &'a str,
    region: String,
    queues: Queues,
    dlq: String,
    alert_queue: String,
}

impl Target<'_> {
    /// The `--json` document.
    fn json(
        &self,
        dry_run: bool,
        messages: usize,
        alerts: &[Alert],
        moved: Option<&Moved>,
    ) -> Value {
        let failed: Vec<Value> = moved
            .map(|m| {
                m.failed
                    .iter()
                    .map(|(a, e)| json!({"id": a.id, "title": a.title, "error": e}))
                    .collect()
            })
            .unwrap_or_default();
        json!({
            "stack": self.stack,
            "region": self.region,
            "dead_letter_queue": self.queues.dead_letter,
            "alert_queue": self.queues.alert,
            "dry_run": dry_run,
            "messages": messages,
            "alerts": alerts
                .iter()
                .map(|a| json!({"id": a.id, "title": a.title}))
                .collect::<Vec<_>>(),
            "redriven": moved.map_or(0, |m| m.sent.len()),
            "failed": failed,
            "not_deleted": moved.map_or(0, |m| m.not_deleted),
        })
    }
}

pub async fn run(aws: &Aws, ui: &Ui, stack_name: &str, args: &RedriveArgs) -> Result<()> {
    let region = aws.region().unwrap_or_default().to_string();
    let queues = find_queues(aws, stack_name, &region).await?;
    let target = Target {
        stack: stack_name,
        region,
        dlq: queue_name(&queues.dead_letter).to_string(),
        alert_queue: queue_name(&queues.alert).to_string(),
        queues,
    };

    let (waiting, in_flight) = message_counts(aws, &target.queues.dead_letter).await?;
    if waiting == 0 {
        ui.success(format!(
            "Nothing to redrive: the dead-letter queue {} is empty.",
            target.dlq
        ));
        if in_flight > 0 {
            ui.info(format!(
                "{} in flight (being read elsewhere); run redrive again once the visibility timeout ends",
                plural(in_flight, "more message")
            ));
        }
        if ui.json {
            println!("{:#}", target.json(args.dry_run, 0, &[], None));
        }
        return Ok(());
    }
    if args.dry_run {
        return list(aws, ui, &target, args.max).await;
    }

    let what = match args.max {
        Some(max) if (max as usize) < waiting => format!("{max} of the {waiting} messages"),
        _ => format!("the {}", plural(waiting, "message")),
    };
    if !ui.assume_yes {
        if !ui.interactive {
            bail!(
                "redrive sends the dead-letter queue's alerts again and needs a confirmation: pass --yes to redrive without a terminal (or --dry-run to only list them)"
            );
        }
        let question = format!(
            "Send {what} in the dead-letter queue {} back to {}?",
            target.dlq, target.alert_queue
        );
        if !prompt::confirm(&question, true)? {
            bail!("cancelled: nothing was moved");
        }
    }
    ui.step(format!(
        "Redriving {what} from {} to {}",
        target.dlq, target.alert_queue
    ));
    send_all(aws, ui, &target, args.max).await
}

/// `--dry-run`: receive to list, then give every message back at once.
async fn list(aws: &Aws, ui: &Ui, target: &Target<'_>, max: Option<u32>) -> Result<()> {
    let mut poller = Poller::new(aws, &target.queues.dead_letter, max);
    let mut listed = Vec::new();
    let mut messages = 0;
    let mut failure = None;
    loop {
        match poller.next().await {
            Ok(Some(batch)) => {
                messages += batch.len();
                listed.extend(batch.into_iter().flat_map(|d| d.alerts));
            }
            Ok(None) => break,
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let not_released = release(aws, &target.queues.dead_letter, &poller.receipts).await;
    if not_released > 0 {
        ui.warn(format!(
            "{} stay hidden until their visibility timeout ({VISIBILITY_TIMEOUT} s) ends",
            plural(not_released, "message")
        ));
    }
    if let Some(e) = failure {
        return Err(e);
    }
    if ui.json {
        println!("{:#}", target.json(true, messages, &listed, None));
    } else {
        let rows: Vec<(String, String)> = listed
            .iter()
            .map(|a| (a.id.clone(), a.title.clone()))
            .collect();
        print!("{}", table(&rows));
    }
    ui.step(format!(
        "Dry run: would redrive {} ({}) from {} to {}; nothing was moved.",
        plural(listed.len(), "alert"),
        plural(messages, "message"),
        target.dlq,
        target.alert_queue
    ));
    Ok(())
}

/// The move: batch by batch until the dead-letter queue is empty or `--max`
/// messages were taken; then the report, and exit 1 if anything stayed.
async fn send_all(aws: &Aws, ui: &Ui, target: &Target<'_>, max: Option<u32>) -> Result<()> {
    let dlq = &target.dlq;
    let mut poller = Poller::new(aws, &target.queues.dead_letter, max);
    let mut moved = Moved::default();
    let mut fatal = None;
    let progress = ui.progress(format!("Redriving from {dlq}"));
    loop {
        let batch = match poller.next().await {
            Ok(Some(batch)) => batch,
            Ok(None) => break,
            Err(e) => {
                fatal = Some(e);
                break;
            }
        };
        if let Err(e) = move_batch(aws, &target.queues, batch, &mut moved).await {
            fatal = Some(e);
            break;
        }
        progress.set(format!(
            "Redriving from {dlq}: {} sent",
            plural(moved.sent.len(), "alert")
        ));
    }
    progress.finish();
    // What stays is visible again at once, for the next attempt.
    let not_released = release(aws, &target.queues.dead_letter, &moved.kept).await;

    if ui.json {
        println!(
            "{:#}",
            target.json(false, moved.messages, &moved.sent, Some(&moved))
        );
    }
    for (alert, reason) in &moved.failed {
        ui.warn(format!(
            "alert {} ({}) was not sent: {reason}",
            alert.id, alert.title
        ));
    }
    for id in &moved.partly_sent {
        ui.warn(format!(
            "message {id} stays in {dlq} although some of its alerts were sent: the next redrive sends those again"
        ));
    }
    if not_released > 0 {
        ui.warn(format!(
            "{} kept in {dlq} stay hidden until their visibility timeout ({VISIBILITY_TIMEOUT} s) ends",
            plural(not_released, "message")
        ));
    }
    let sent = plural(moved.sent.len(), "alert");
    let to = format!("from {dlq} to {}", target.alert_queue);
    if let Some(e) = fatal {
        if !moved.sent.is_empty() {
            ui.info(format!("Before the error: redrove {sent} {to}."));
        }
        return Err(e);
    }
    if !moved.failed.is_empty() {
        bail!(
            "{} could not be sent and stay in the dead-letter queue (redrove {sent} {to}): fix the cause and run `dingtalk-notifier redrive` again",
            plural(moved.failed.len(), "alert")
        );
    }
    if moved.not_deleted > 0 {
        bail!(
            "{} sent but not deleted from the dead-letter queue {dlq}: a later redrive sends {} again",
            plural(moved.not_deleted, "message"),
            if moved.not_deleted == 1 { "it" } else { "them" }
        );
    }
    ui.success(format!("Redrove {sent} {to}."));
    if poller.max_reached() {
        ui.info(format!(
            "Stopped at --max {}; more messages may wait in {dlq}.",
            poller.taken
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC: &str = "arn:aws:sns:ap-southeast-1:123456789012:dingtalk-notifier-Topic-AbC";

    fn alarm_event() -> Value {
        json!({
            "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
            "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
            "account": "123456789012", "time": "2026-01-02T03:04:05Z", "region": "ap-southeast-1",
            "resources": ["arn:aws:cloudwatch:ap-southeast-1:123456789012:alarm:cpu-high"],
            "detail": {"alarmName": "cpu-high", "state": {"value": "ALARM"}}
        })
    }

    #[test]
    fn sns_notification_body_is_kept_byte_for_byte() {
        let body = format!(
            "{{\"Type\" : \"Notification\", \"MessageId\" : \"5f1c\", \"TopicArn\" : \"{TOPIC}\", \"Message\" : {}, \"Timestamp\" : \"2026-01-02T03:04:06.000Z\", \"SignatureVersion\" : \"1\"}}",
            Value::String(alarm_event().to_string())
        );
        assert_eq!(alert_bodies(&body), vec![body.clone()]);
        assert_eq!(
            alerts_of("q-1", &body),
            vec![Alert {
                id: "5f1c".into(),
                title: "CloudWatch Alarm State Change".into(),
                body
            }]
        );
    }

    #[test]
    fn lambda_sns_event_becomes_one_notification_per_record() {
        let event = json!({"Records": [
            {"EventSource": "aws:sns", "EventVersion": "1.0",
             "EventSubscriptionArn": format!("{TOPIC}:sub-1"),
             "Sns": {"Type": "Notification", "MessageId": "m-1", "TopicArn": TOPIC,
                     "Subject": "Backup failed", "Message": "job 42 failed\nsee console",
                     "Timestamp": "2026-01-02T03:04:05.000Z", "SignatureVersion": "1",
                     "Signature": "c2ln", "SigningCertUrl": "https://sns/cert.pem",
                     "UnsubscribeUrl": "https://sns/unsub", "MessageAttributes": {}}},
            {"EventSource": "aws:sns", "EventVersion": "1.0",
             "Sns": {"Type": "Notification", "MessageId": "m-2", "TopicArn": TOPIC,
                     "Subject": null, "Message": alarm_event().to_string(),
                     "Timestamp": "2026-01-02T03:04:07.000Z"}}
        ]});
        let bodies = alert_bodies(&event.to_string());
        assert_eq!(
            bodies,
            vec![
                format!(
                    "{{\"Type\":\"Notification\",\"MessageId\":\"m-1\",\"TopicArn\":\"{TOPIC}\",\
                     \"Subject\":\"Backup failed\",\"Message\":\"job 42 failed\\nsee console\",\
                     \"Timestamp\":\"2026-01-02T03:04:05.000Z\"}}"
                ),
                format!(
                    "{{\"Type\":\"Notification\",\"MessageId\":\"m-2\",\"TopicArn\":\"{TOPIC}\",\
                     \"Message\":{},\"Timestamp\":\"2026-01-02T03:04:07.000Z\"}}",
                    Value::String(alarm_event().to_string())
                ),
            ]
        );
        // What the function reads back from them.
        let second: Value = serde_json::from_str(&bodies[1]).unwrap();
        assert_eq!(
            second,
            json!({"Type": "Notification", "MessageId": "m-2", "TopicArn": TOPIC,
                   "Message": alarm_event().to_string(), "Timestamp": "2026-01-02T03:04:07.000Z"})
        );
        let alerts = alerts_of("q-9", &event.to_string());
        let ids: Vec<(&str, &str)> = alerts
            .iter()
            .map(|a| (a.id.as_str(), a.title.as_str()))
            .collect();
        assert_eq!(
            ids,
            vec![
                ("m-1", "Backup failed"),
                ("m-2", "CloudWatch Alarm State Change")
            ]
        );
    }

    #[test]
    fn record_without_event_source_or_fields_is_still_converted() {
        let event = json!({"Records": [{"Sns": {"MessageId": "m-3", "Message": "plain"}}]});
        assert_eq!(
            alert_bodies(&event.to_string()),
            vec![
                "{\"Type\":\"Notification\",\"MessageId\":\"m-3\",\"Message\":\"plain\"}"
                    .to_string()
            ]
        );
    }

    #[test]
    fn everything_else_is_sent_as_is() {
        let event = alarm_event().to_string();
        assert_eq!(alert_bodies(&event), vec![event.clone()]);
        assert_eq!(
            alerts_of("q-2", &event),
            vec![Alert {
                id: "7bf73129-1428-4cd3-a780-95db273d1602".into(),
                title: "CloudWatch Alarm State Change".into(),
                body: event
            }]
        );
        for body in [
            "disk almost full on db-1",
            "",
            "[1,2]",
            // Not every record is SNS: left alone.
            r#"{"Records":[{"EventSource":"aws:sns","Sns":{"Message":"a"}},{"eventSource":"aws:sqs","body":"b"}]}"#,
            r#"{"Records":[]}"#,
            r#"{"Records":[{"Sns":{"Subject":"no message"}}]}"#,
        ] {
            assert_eq!(alert_bodies(body), vec![body.to_string()], "{body}");
        }
        assert_eq!(
            alerts_of("q-3", "\n  disk almost full on db-1\nmore"),
            vec![Alert {
                id: "q-3".into(),
                title: "disk almost full on db-1".into(),
                body: "\n  disk almost full on db-1\nmore".into()
            }]
        );
    }

    #[test]
    fn titles_are_short_and_clean() {
        assert_eq!(short(""), "(empty)");
        assert_eq!(short("a\u{1b}[31mred"), "a [31mred");
        let long = "x".repeat(100);
        let t = short(&long);
        assert_eq!(t.chars().count(), TITLE_CHARS);
        assert!(t.ends_with('…'));
        let (id, title) =
            describe(r#"{"Type":"Notification","MessageId":"n","Message":"{\"k\":1}"}"#);
        assert_eq!(id.as_deref(), Some("n"));
        assert_eq!(title, "{\"k\":1}");
    }

    #[test]
    fn batches_respect_count_and_size() {
        assert_eq!(send_batches(&[]), Vec::<Range<usize>>::new());
        assert_eq!(send_batches(&[10; 3]), vec![0..3]);
        assert_eq!(send_batches(&[1; 23]), vec![0..10, 10..20, 20..23]);
        let big = 200 * 1024;
        assert_eq!(send_batches(&[big, big, 10, 10]), vec![0..1, 1..4]);
        assert_eq!(send_batches(&[300 * 1024, 5]), vec![0..1, 1..2]);
    }

    #[test]
    fn queue_names_and_plurals() {
        assert_eq!(
            queue_name("https://sqs.us-east-1.amazonaws.com/123456789012/dingtalk-notifier-DeadLetterQueue-x1"),
            "dingtalk-notifier-DeadLetterQueue-x1"
        );
        assert_eq!(plural(1, "alert"), "1 alert");
        assert_eq!(plural(3, "alert"), "3 alerts");
    }
}
