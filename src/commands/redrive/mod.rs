//! `redrive`: send the alerts kept in the stack's dead-letter queue back to
//! its alert queue once the cause of the failure is fixed.
//!
//! A dead-letter message is deleted only after the alert queue accepted every
//! alert made from it, so a failure never loses an alert (at worst a later
//! redrive sends one twice). `--dry-run` receives the messages to list them
//! and makes them visible again straight away. What the queue can hold is
//! read in [`alerts`]; [`queues`] receives, [`send`] moves.

mod alerts;
mod queues;
mod send;

use std::fmt;

use anyhow::{bail, Result};
use clap::Args;
use serde::Serialize;

use crate::aws::queues::{find_queues, message_counts, queue_name, Queues};
use alerts::Alert;
use queues::{release, Poller, VISIBILITY_TIMEOUT};
use send::{move_batch, Moved};

use crate::aws::Aws;
use crate::commands::Reported;
use crate::term::output::{table, Ui};
use crate::term::prompt;

/// `redrive`'s own flags (the stack and region are global).
#[derive(Debug, Args, Clone, Default)]
pub struct RedriveArgs {
    /// List the alerts that would be sent (id and title) without moving anything
    #[arg(long)]
    pub dry_run: bool,
    /// Take at most N messages from the dead-letter queue (a failed invocation holding several alerts counts once)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max: Option<u32>,
}

/// What `redrive` reports: the `--json` document; for people, the list of a
/// dry run (the rest is told on stderr as it happens).
#[derive(Debug, Serialize)]
pub struct RedriveResult {
    stack: String,
    region: String,
    dead_letter_queue: String,
    alert_queue: String,
    dry_run: bool,
    messages: usize,
    /// Listed (dry run) or sent.
    alerts: Vec<AlertRef>,
    redriven: usize,
    failed: Vec<FailedAlert>,
    not_deleted: usize,
}

#[derive(Debug, Serialize)]
struct AlertRef {
    id: String,
    title: String,
}

#[derive(Debug, Serialize)]
struct FailedAlert {
    id: String,
    title: String,
    error: String,
}

impl fmt::Display for RedriveResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.dry_run {
            return Ok(());
        }
        let rows: Vec<(String, String)> = self
            .alerts
            .iter()
            .map(|a| (a.id.clone(), a.title.clone()))
            .collect();
        f.write_str(&table(&rows))
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
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
    fn result(
        &self,
        dry_run: bool,
        messages: usize,
        alerts: &[Alert],
        moved: Option<&Moved>,
    ) -> RedriveResult {
        let failed = moved
            .map(|m| {
                m.failed
                    .iter()
                    .map(|(a, e)| FailedAlert {
                        id: a.id.clone(),
                        title: a.title.clone(),
                        error: e.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        RedriveResult {
            stack: self.stack.to_string(),
            region: self.region.clone(),
            dead_letter_queue: self.queues.dead_letter.clone(),
            alert_queue: self.queues.alert.clone(),
            dry_run,
            messages,
            alerts: alerts
                .iter()
                .map(|a| AlertRef {
                    id: a.id.clone(),
                    title: a.title.clone(),
                })
                .collect(),
            redriven: moved.map_or(0, |m| m.sent.len()),
            failed,
            not_deleted: moved.map_or(0, |m| m.not_deleted),
        }
    }
}

/// The result, then the verdict: alerts left behind still get reported
/// (with `--json`) before exiting 1.
pub async fn run(
    aws: &Aws,
    ui: &Ui,
    stack_name: &str,
    args: &RedriveArgs,
) -> Result<Reported<RedriveResult>> {
    let region = aws.region().unwrap_or_default().to_string();
    let queues = find_queues(aws, stack_name).await?;
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
        return Ok((target.result(args.dry_run, 0, &[], None), Ok(())));
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
async fn list(
    aws: &Aws,
    ui: &Ui,
    target: &Target<'_>,
    max: Option<u32>,
) -> Result<Reported<RedriveResult>> {
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
    ui.step(format!(
        "Dry run: would redrive {} ({}) from {} to {}; nothing was moved.",
        plural(listed.len(), "alert"),
        plural(messages, "message"),
        target.dlq,
        target.alert_queue
    ));
    Ok((target.result(true, messages, &listed, None), Ok(())))
}

/// The move: batch by batch until the dead-letter queue is empty or `--max`
/// messages were taken; then the report, and exit 1 if anything stayed.
async fn send_all(
    aws: &Aws,
    ui: &Ui,
    target: &Target<'_>,
    max: Option<u32>,
) -> Result<Reported<RedriveResult>> {
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
    warn_left_behind(ui, dlq, &moved, not_released);
    let result = target.result(false, moved.messages, &moved.sent, Some(&moved));
    let verdict = verdict(ui, target, &moved, fatal);
    if verdict.is_ok() && poller.max_reached() {
        ui.info(format!(
            "Stopped at --max {}; more messages may wait in {dlq}.",
            poller.taken
        ));
    }
    Ok((result, verdict))
}

fn warn_left_behind(ui: &Ui, dlq: &str, moved: &Moved, not_released: usize) {
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
}

/// Exit 0 only when every alert taken was sent and removed.
fn verdict(
    ui: &Ui,
    target: &Target<'_>,
    moved: &Moved,
    fatal: Option<anyhow::Error>,
) -> Result<()> {
    let dlq = &target.dlq;
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
