//! `destroy`: delete the stack, then the webhook secret it owns, and with
//! `--purge` the artifact bucket when no other notifier stack uses it.
//! Ownership is checked by our tags every time, so nothing this tool did not
//! create is touched. A stack that does not exist is not an error.

use anyhow::{bail, Result};
use serde_json::json;

use crate::aws::artifacts;
use crate::aws::secret;
use crate::aws::stack;
use crate::aws::Aws;
use crate::cli::DestroyArgs;
use crate::term::output::Ui;
use crate::term::prompt;

pub async fn run(aws: &Aws, ui: &Ui, stack_name: &str, args: &DestroyArgs) -> Result<()> {
    let region = aws.region().unwrap_or_default().to_string();
    let current = stack::describe(aws, stack_name).await?;
    let existing_secret = secret::find(aws, stack_name)
        .await?
        .filter(|s| s.owned_by(stack_name));

    if let Some(s) = &current {
        if !s.is_ours() && s.status != "REVIEW_IN_PROGRESS" {
            bail!(
                "the stack {stack_name} was not created by dingtalk-notifier (no app=dingtalk-notifier tag); not deleting it"
            );
        }
    }
    if current.is_none() && existing_secret.is_none() && !args.purge {
        ui.success(format!(
            "No stack named {stack_name} in {region}: nothing to destroy."
        ));
        if ui.json {
            println!(
                "{:#}",
                json!({"stack": stack_name, "region": region, "stack_deleted": false, "secret_deleted": false, "bucket_deleted": false})
            );
        }
        return Ok(());
    }

    if !ui.assume_yes {
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
    }

    let mut bucket = current
        .as_ref()
        .and_then(|s| s.parameters.get("ArtifactBucket").cloned());
    let mut stack_deleted = false;
    if let Some(s) = &current {
        ui.step(format!("Deleting stack {stack_name}"));
        let marker = stack::latest_event_id(aws, &s.id).await.ok().flatten();
        stack::delete_stack(aws, &s.id).await?;
        let done = stack::wait(aws, ui, &s.id, stack_name, marker.clone(), "Deleting").await?;
        if done.status != "DELETE_COMPLETE" {
            if let Ok(lines) = stack::failures(aws, &s.id, marker.as_deref(), 5).await {
                for l in lines {
                    eprintln!("  {l}");
                }
            }
            bail!(
                "the stack {stack_name} could not be deleted: {}",
                done.status
            );
        }
        stack_deleted = true;
        ui.success(format!("Stack {stack_name} deleted."));
    } else {
        ui.info(format!("No stack named {stack_name} in {region}."));
    }

    let mut secret_deleted = false;
    if let Some(s) = &existing_secret {
        secret::force_delete(aws, &s.arn).await?;
        secret_deleted = true;
        ui.success(format!(
            "Secret {} deleted.",
            secret::secret_name(stack_name)
        ));
    }

    let mut bucket_deleted = false;
    if args.purge {
        let name = match bucket.take() {
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
        if users.is_empty() {
            ui.step(format!("Deleting the artifact bucket {name}"));
            bucket_deleted = artifacts::purge_bucket(aws, &name).await?;
            if bucket_deleted {
                ui.success(format!("Bucket {name} deleted."));
            } else {
                ui.info(format!("No bucket {name}."));
            }
        } else {
            ui.info(format!(
                "Keeping the artifact bucket {name}: used by {}",
                users.join(", ")
            ));
        }
    }

    if ui.json {
        println!(
            "{:#}",
            json!({
                "stack": stack_name,
                "region": region,
                "stack_deleted": stack_deleted,
                "secret_deleted": secret_deleted,
                "bucket_deleted": bucket_deleted,
            })
        );
    }
    Ok(())
}
