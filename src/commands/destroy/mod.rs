//! `destroy`: delete the stack, then the webhook secret it owns, and with
//! `--purge` the artifact bucket when no other notifier stack uses it.
//! Ownership is checked by our tags every time, so nothing this tool did not
//! create is touched. A stack that does not exist is not an error, nor is a
//! secret already scheduled for deletion. Alerts still waiting in the
//! stack's queues are counted and confirmed first: they go with the stack.

mod organization;

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{bail, Result};
use clap::Args;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::aws::artifacts;
use crate::aws::forwarder_stacks::{self, Found};
use crate::aws::queues;
use crate::aws::secret;
use crate::aws::stack;
use crate::aws::Aws;
use crate::config;
use crate::errors::NoSuchStack;
use crate::regions::{forwarder_stack_name, RegionsSpec};
use crate::term::output::Ui;
use crate::term::prompt;

/// `destroy`'s own flags (the stack and region are global).
#[derive(Debug, Args, Clone, Default)]
pub struct DestroyArgs {
    /// Also empty and delete the artifact bucket when no other stack uses it
    #[arg(long)]
    pub purge: bool,
}

/// What `destroy` reports. People follow it on stderr as it happens, so the
/// text form is empty; `--json` gets the document.
#[derive(Debug, Serialize)]
pub struct DestroyResult {
    pub stack: String,
    pub region: String,
    pub stack_deleted: bool,
    pub secret_deleted: bool,
    pub bucket_deleted: bool,
    /// Regions whose forwarder stack was deleted (`deploy --regions`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forwarders_deleted: Vec<String>,
    /// The organization's forwarder StackSet was deleted (`deploy --organization`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stack_set_deleted: bool,
}

impl fmt::Display for DestroyResult {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}

pub async fn run(
    aws: &Aws,
    ui: &Ui,
    stack_name: &str,
    args: &DestroyArgs,
) -> Result<DestroyResult> {
    let region = aws.region().unwrap_or_default().to_string();
    let current = stack::describe(aws, stack_name).await?;
    let existing_secret = secret::find(aws, stack_name)
        .await?
        .filter(|s| s.owned_by(stack_name));
    if let Some(s) = &current {
        check_deletable(stack_name, s)?;
    }
    let forwarders = forwarders_of(aws, ui, stack_name, &region).await?;
    let org = organization::find(aws, stack_name, current.as_ref()).await?;
    let mut result = DestroyResult {
        stack: stack_name.to_string(),
        region: region.clone(),
        stack_deleted: false,
        secret_deleted: false,
        bucket_deleted: false,
        forwarders_deleted: Vec::new(),
        stack_set_deleted: false,
    };
    let nothing = current.is_none() && existing_secret.is_none() && forwarders.is_empty();
    if nothing && org.is_none() && !args.purge {
        let fact = NoSuchStack::new(stack_name, &region).fact();
        ui.success(format!("Nothing to destroy: {fact}."));
        return Ok(result);
    }
    if !forwarders.is_empty() {
        let regions: Vec<&str> = forwarders.keys().map(String::as_str).collect();
        ui.info(format!(
            "Its forwarders go too: {} in {}",
            forwarder_stack_name(stack_name),
            regions.join(", ")
        ));
    }
    if let Some(o) = &org {
        ui.info(format!(
            "Its organization forwarders go too: StackSet {} ({} instance(s) in {})",
            o.target.name,
            o.instances,
            o.regions.join(", ")
        ));
    }
    if let Some(s) = &current {
        confirm_held_alerts(aws, ui, stack_name, s).await?;
    }
    confirm_name(ui, stack_name, &region)?;

    if let Some(o) = &org {
        organization::delete(aws, ui, o).await?;
        result.stack_set_deleted = true;
    }

    result.forwarders_deleted = delete_forwarders(aws, ui, stack_name, &forwarders).await?;
    let bucket = current
        .as_ref()
        .and_then(|s| s.parameters.get("ArtifactBucket").cloned());
    match &current {
        Some(s) => result.stack_deleted = delete_stack(aws, ui, stack_name, s).await?,
        None => ui.info(format!(
            "Skipping the stack: {}.",
            NoSuchStack::new(stack_name, &region).fact()
        )),
    }
    if let Some(s) = &existing_secret {
        result.secret_deleted = delete_secret(aws, ui, stack_name, s).await?;
    }
    if args.purge {
        result.bucket_deleted = purge_unused_bucket(aws, ui, stack_name, bucket).await?;
    }
    Ok(result)
}

/// Only our own stacks, and none CloudFormation is still working on.
fn check_deletable(stack_name: &str, s: &stack::StackInfo) -> Result<()> {
    if !s.is_ours() && s.status != "REVIEW_IN_PROGRESS" {
        bail!(
            "the stack {stack_name} was not created by dingtalk-notifier (no app=dingtalk-notifier tag); not deleting it"
        );
    }
    if let Some(msg) = busy_message(stack_name, &s.status) {
        bail!(msg);
    }
    Ok(())
}

/// The stack's name, typed back (`--yes` answers for the user).
fn confirm_name(ui: &Ui, stack_name: &str, region: &str) -> Result<()> {
    if ui.assume_yes {
        return Ok(());
    }
    if !ui.interactive {
        bail!("destroy deletes the stack {stack_name} and its webhook secret: pass --yes to confirm without a terminal");
    }
    let typed = prompt::text(
        &format!("This deletes stack {stack_name} in {region}. Type its name to confirm"),
        None,
        |_| Ok(()),
    )?;
    if typed != stack_name {
        bail!("cancelled: the name typed does not match {stack_name}; nothing was deleted");
    }
    Ok(())
}

/// Deletes the stack and waits; a failure lists the resources that stayed.
async fn delete_stack(aws: &Aws, ui: &Ui, stack_name: &str, s: &stack::StackInfo) -> Result<bool> {
    ui.step(format!("Deleting stack {stack_name}"));
    let marker = stack::latest_event_id(aws, &s.id).await.ok().flatten();
    stack::delete_stack(aws, &s.id).await?;
    let done = stack::wait(aws, ui, &s.id, stack_name, marker.clone(), "Deleting").await?;
    if done.status != "DELETE_COMPLETE" {
        if let Ok(lines) = stack::failures(aws, &s.id, marker.as_deref(), 5).await {
            for l in lines {
                ui.notice(format!("  {l}"));
            }
        }
        bail!(
            "the stack {stack_name} could not be deleted: {}",
            done.status
        );
    }
    ui.success(format!("Stack {stack_name} deleted."));
    Ok(true)
}

/// Deletes the webhook secret this stack owns; one already scheduled for
/// deletion is left to Secrets Manager.
async fn delete_secret(
    aws: &Aws,
    ui: &Ui,
    stack_name: &str,
    s: &secret::ExistingSecret,
) -> Result<bool> {
    let name = secret::secret_name(stack_name);
    match secret::force_delete(aws, &s.arn).await {
        Ok(()) => {
            ui.success(format!("Secret {name} deleted."));
            Ok(true)
        }
        // Already on its way out: Secrets Manager removes it when its
        // recovery window ends; nothing is left for destroy to do.
        Err(_) if s.scheduled_for_deletion => {
            ui.info(format!(
                "Secret {name} is already scheduled for deletion; Secrets Manager removes it at the end of its recovery window."
            ));
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// `--purge`: the artifact bucket, unless another notifier stack uses it.
async fn purge_unused_bucket(
    aws: &Aws,
    ui: &Ui,
    stack_name: &str,
    bucket: Option<String>,
) -> Result<bool> {
    let name = match bucket {
        Some(b) => b,
        None => artifacts::artifact_bucket_name(aws).await?,
    };
    let users: Vec<String> = stack::list_ours(aws)
        .await?
        .into_iter()
        .filter(|s| s.name != stack_name && s.status != "DELETE_COMPLETE")
        .filter(|s| s.parameters.get("ArtifactBucket") == Some(&name))
        .map(|s| s.name)
        .collect();
    if !users.is_empty() {
        ui.info(format!(
            "Keeping the artifact bucket {name}: used by {}",
            users.join(", ")
        ));
        return Ok(false);
    }
    ui.step(format!("Deleting the artifact bucket {name}"));
    Ok(match artifacts::purge_bucket(aws, &name).await? {
        artifacts::Purge::Deleted => {
            ui.success(format!("Bucket {name} deleted."));
            true
        }
        artifacts::Purge::Missing => {
            ui.info(format!("No bucket {name}."));
            false
        }
        artifacts::Purge::Kept(why) => {
            ui.warn(format!("Keeping the bucket {name}: {why}."));
            false
        }
    })
}

/// The forwarder stacks of the regions remembered in dingtalk-notifier.toml
/// that this stack owns (its tag); another stack's are left alone.
async fn forwarders_of(
    aws: &Aws,
    ui: &Ui,
    stack_name: &str,
    home: &str,
) -> Result<BTreeMap<String, Found>> {
    let remembered = config::load(&config::default_path())?.and_then(|c| c.regions);
    let Some(remembered) = remembered else {
        return Ok(BTreeMap::new());
    };
    let spec = RegionsSpec::from_config(&remembered)?;
    // With Health on, deploy added the global-events region: look there too.
    let (regions, _) = forwarder_stacks::regions_of(aws, home, &spec, true).await?;
    let mut found = forwarder_stacks::find(aws, stack_name, &regions).await?;
    found.retain(|region, f| {
        let ours = f.stack.is_ours()
            && f.stack.tags.get(stack::STACK_TAG_KEY).map(String::as_str) == Some(stack_name);
        if !ours {
            ui.warn(format!(
                "{region}: the stack {} is not a forwarder of {stack_name}; leaving it",
                f.stack.name
            ));
        }
        ours
    });
    Ok(found)
}

/// Deletes every forwarder at once, one line per region.
async fn delete_forwarders(
    aws: &Aws,
    ui: &Ui,
    stack_name: &str,
    forwarders: &BTreeMap<String, Found>,
) -> Result<Vec<String>> {
    if forwarders.is_empty() {
        return Ok(Vec::new());
    }
    ui.step(format!(
        "Deleting {} in {} region(s)",
        forwarder_stack_name(stack_name),
        forwarders.len()
    ));
    let mut tasks = JoinSet::new();
    for (region, f) in forwarders {
        let (aws, region, id, ui) = (
            aws.in_region(region),
            region.clone(),
            f.stack.id.clone(),
            *ui,
        );
        tasks.spawn(async move {
            let result = forwarder_stacks::delete(&aws, &id, &region).await;
            match &result {
                Ok(()) => ui.info(format!("{region}: deleted")),
                Err(e) => ui.warn(format!("{e:#}")),
            }
            result.map(|()| region)
        });
    }
    let mut deleted = Vec::new();
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined? {
            Ok(region) => deleted.push(region),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    deleted.sort();
    Ok(deleted)
}

/// A clear refusal for a stack CloudFormation is still working on (a review
/// stack, which holds nothing yet, can be deleted).
fn busy_message(stack_name: &str, status: &str) -> Option<String> {
    if !status.ends_with("_IN_PROGRESS") || status == "REVIEW_IN_PROGRESS" {
        return None;
    }
    Some(if status == "DELETE_IN_PROGRESS" {
        format!(
            "the stack {stack_name} is already being deleted (DELETE_IN_PROGRESS); \
             follow it with `dingtalk-notifier status`, then run destroy again to remove the secret"
        )
    } else {
        format!(
            "the stack {stack_name} is busy ({status}); wait until CloudFormation finishes \
             (`dingtalk-notifier status`), then run destroy again"
        )
    })
}

/// "3 alerts in the dead-letter queue and 1 in the buffer", or `None` when
/// both are empty.
fn held_alerts_summary(dead_letter: usize, buffer: usize) -> Option<String> {
    let n = |count: usize| {
        if count == 1 {
            "1 alert".to_string()
        } else {
            format!("{count} alerts")
        }
    };
    match (dead_letter, buffer) {
        (0, 0) => None,
        (d, 0) => Some(format!("{} in the dead-letter queue", n(d))),
        (0, b) => Some(format!("{} in the buffer queue", n(b))),
        (d, b) => Some(format!(
            "{} in the dead-letter queue and {b} in the buffer queue",
            n(d)
        )),
    }
}

/// Deleting the stack deletes its queues and what they hold: say how many
/// alerts that is and ask (`--yes` answers).
async fn confirm_held_alerts(
    aws: &Aws,
    ui: &Ui,
    stack_name: &str,
    info: &stack::StackInfo,
) -> Result<()> {
    if stack::phase(&info.status) == stack::Phase::InProgress {
        return Ok(()); // a review stack has no queues yet
    }
    let Ok(queues) = queues::find_queues(aws, stack_name).await else {
        return Ok(()); // an older or half-created stack without both queues
    };
    let count = |(visible, in_flight): (usize, usize)| visible + in_flight;
    let dead = count(queues::message_counts(aws, &queues.dead_letter).await?);
    let buffered = count(queues::message_counts(aws, &queues.alert).await?);
    let Some(summary) = held_alerts_summary(dead, buffered) else {
        return Ok(());
    };
    ui.warn(format!(
        "the stack still holds {summary}; deleting it deletes them \
         (`dingtalk-notifier redrive` delivers dead letters once DingTalk accepts them again)"
    ));
    if ui.assume_yes || !ui.interactive {
        return Ok(()); // --yes answers; without a terminal destroy asks for --yes next
    }
    if !prompt::confirm("Delete these alerts with the stack?", false)? {
        bail!("cancelled: nothing was deleted");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_stacks_get_a_clear_message() {
        assert_eq!(busy_message("s", "UPDATE_COMPLETE"), None);
        assert_eq!(busy_message("s", "REVIEW_IN_PROGRESS"), None);
        assert_eq!(
            busy_message("s", "UPDATE_ROLLBACK_IN_PROGRESS").unwrap(),
            "the stack s is busy (UPDATE_ROLLBACK_IN_PROGRESS); wait until CloudFormation finishes \
             (`dingtalk-notifier status`), then run destroy again"
        );
        assert!(busy_message("s", "DELETE_IN_PROGRESS")
            .unwrap()
            .starts_with("the stack s is already being deleted"));
    }

    #[test]
    fn held_alerts_are_counted_in_words() {
        assert_eq!(held_alerts_summary(0, 0), None);
        assert_eq!(
            held_alerts_summary(1, 0).unwrap(),
            "1 alert in the dead-letter queue"
        );
        assert_eq!(
            held_alerts_summary(0, 2).unwrap(),
            "2 alerts in the buffer queue"
        );
        assert_eq!(
            held_alerts_summary(3, 1).unwrap(),
            "3 alerts in the dead-letter queue and 1 in the buffer queue"
        );
    }
}
