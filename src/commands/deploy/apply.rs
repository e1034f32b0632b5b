//! Carrying out a [`Plan`]: build and upload the function, store the webhook
//! secret, then create, show, confirm and execute a change set, undoing what
//! this run created when it is cancelled or fails early.

use anyhow::{bail, Context, Result};

use super::args::DeployArgs;
use super::early_build::EarlyBuild;
use super::plan::{confirmation_text, Plan, SecretAction, CONFIRM_QUESTION};
use super::result::{ArtifactResult, DeployResult, SecretResult};
use super::settings::Settings;
use crate::aws::artifacts::{self, Uploaded};
use crate::aws::export_conflict;
use crate::aws::secret;
use crate::aws::stack::{self, ChangeRow, ChangeSet, ChangeSetRequest, Phase, StackInfo};
use crate::aws::Aws;
use crate::config;
use crate::function::build;
use crate::term::output::Ui;
use crate::term::prompt;

/// The secret this run works with.
struct StoredSecret {
    arn: String,
    /// Created by this run: deleted again if the deploy goes no further.
    created: bool,
}

pub async fn apply(
    aws: &Aws,
    ui: &Ui,
    args: &DeployArgs,
    plan: &Plan,
    region: &str,
    early: Option<EarlyBuild>,
) -> Result<DeployResult> {
    let stack_name = plan.settings.stack_name.as_str();
    if let Some(failed) = &plan.recreate {
        recreate_failed_stack(aws, ui, failed).await?;
    }
    let artifact = obtain_artifact(ui, args, &plan.settings, early).await?;
    ui.step("Uploading the function");
    let uploaded = ui
        .during(
            "uploading the function zip",
            artifacts::ensure_uploaded(
                aws,
                &artifact,
                plan.settings.options.artifact_bucket.as_deref(),
            ),
        )
        .await?;
    if let Some(taken) = &uploaded.taken {
        remember_bucket(ui, plan, taken, &uploaded.bucket, region)?;
    }
    ui.info(if uploaded.uploaded {
        format!("uploaded s3://{}/{}", uploaded.bucket, uploaded.key)
    } else {
        format!("already in s3://{}/{}", uploaded.bucket, uploaded.key)
    });
    let secret = ensure_secret(aws, ui, plan).await?;
    if let Err(e) = limit_secret_readers(aws, plan, &secret).await {
        if secret.created {
            secret::force_delete(aws, &secret.arn).await.ok();
        }
        return Err(e);
    }
    let stack_updated = match change_set(aws, ui, plan, &uploaded, &secret).await? {
        ChangeSet::NoChanges => {
            update_secret_only(aws, ui, plan, &secret).await?;
            false
        }
        ChangeSet::Ready { id, changes } => {
            deploy_change_set(aws, ui, plan, &secret, &id, &changes).await?;
            true
        }
    };
    let final_state = stack::describe(aws, stack_name)
        .await?
        .with_context(|| format!("the stack {stack_name} is missing after deploy"))?;
    let function = crate::aws::function_code::function_name(aws, &final_state)
        .await?
        .with_context(|| format!("the stack {stack_name} has no function to check"))?;
    ui.during(
        "checking the deployed function's code",
        crate::aws::function_code::verify(aws, &function, &artifact.sha256),
    )
    .await?;
    Ok(DeployResult {
        stack: final_state.name,
        region: region.to_string(),
        status: final_state.status,
        updated: stack_updated,
        outputs: final_state.outputs,
        rules: plan
            .settings
            .rules
            .iter()
            .map(|r| r.key().to_string())
            .collect(),
        artifact: ArtifactResult {
            sha256: artifact.sha256,
            size: artifact.size,
            rebuilt: artifact.rebuilt,
            uploaded: uploaded.uploaded,
            bucket: uploaded.bucket,
            key: uploaded.key,
        },
        secret: SecretResult {
            arn: secret.arn,
            created: secret.created,
            updated: plan.secret.changes(),
        },
        forwarders: Vec::new(),
        organization: None,
    })
}

/// Our usual bucket name belongs to another account: use (and remember) ours.
fn remember_bucket(ui: &Ui, plan: &Plan, taken: &str, bucket: &str, region: &str) -> Result<()> {
    ui.warn(format!(
        "the bucket {taken} belongs to another AWS account; using {bucket} instead"
    ));
    let mut settings = plan.settings.clone();
    settings.options.artifact_bucket = Some(bucket.to_string());
    let cfg_path = config::default_path();
    let mut file = settings.to_config(region);
    let before = config::load(&cfg_path)?;
    file.regions = before.as_ref().and_then(|c| c.regions.clone());
    if let Some(b) = &before {
        file.robots = b.robots.clone();
        file.routes = b.routes.clone();
    }
    file.organization = before.and_then(|c| c.organization);
    config::save(&cfg_path, &file)?;
    ui.info(format!("{bucket} remembered in {}", cfg_path.display()));
    Ok(())
}

/// The secret must exist before the stack: its ARN is a parameter.
async fn ensure_secret(aws: &Aws, ui: &Ui, plan: &Plan) -> Result<StoredSecret> {
    let stack_name = &plan.settings.stack_name;
    Ok(match &plan.secret.action {
        SecretAction::Update { arn } | SecretAction::Keep { arn } => StoredSecret {
            arn: arn.clone(),
            created: false,
        },
        SecretAction::Create => {
            ui.step("Storing the webhook in Secrets Manager");
            let arn = ui
                .during("creating the secret", secret::create(aws, stack_name))
                .await?;
            ui.info(format!("created {}", secret::secret_name(stack_name)));
            StoredSecret { arn, created: true }
        }
    })
}

/// Before the stack reads it: only the function roles and the deployers may
/// read the webhook (`aws::secret_policy`). A secret this run created gets
/// its value only now, after the policy: never readable by others, not even
/// for a moment. (An existing secret's new value waits for the stack update,
/// `deploy_change_set`.)
async fn limit_secret_readers(aws: &Aws, plan: &Plan, secret: &StoredSecret) -> Result<()> {
    let caller = aws.caller().await?.arn.clone();
    let mut parts = caller.split(':');
    let (partition, account) = (parts.nth(1).unwrap_or("aws"), parts.nth(2).unwrap_or(""));
    crate::aws::secret_policy::apply(aws, &secret.arn, partition, account, &caller).await?;
    if secret.created {
        secret::put_value(aws, &secret.arn, &plan.secret.value).await?;
    }
    Ok(())
}

async fn change_set(
    aws: &Aws,
    ui: &Ui,
    plan: &Plan,
    uploaded: &Uploaded,
    secret: &StoredSecret,
) -> Result<ChangeSet> {
    ui.step(if plan.create {
        "Creating a change set (new stack)"
    } else {
        "Creating a change set"
    });
    let parameters = plan.parameters(
        &uploaded.bucket,
        &uploaded.key,
        &secret.arn,
        aws.region().unwrap_or_default(),
    )?;
    let template = stack::compact(stack::TEMPLATE)?;
    let request = ChangeSetRequest {
        stack_name: &plan.settings.stack_name,
        template: &template,
        owner: &plan.settings.stack_name,
        create: plan.create,
        parameters: &parameters,
        current_parameters: plan.current_parameters.as_ref(),
    };
    let change_set = ui
        .during(
            "waiting for CloudFormation to compute the changes",
            stack::create_change_set(aws, &request),
        )
        .await;
    if change_set.is_err() && secret.created {
        secret::force_delete(aws, &secret.arn).await.ok();
    }
    change_set
}

/// The stack is up to date; the secret's value and the organization's
/// StackSet may still change, confirmed like any change.
async fn update_secret_only(aws: &Aws, ui: &Ui, plan: &Plan, secret: &StoredSecret) -> Result<()> {
    let organization = plan.organization_steps.as_deref();
    if plan.secret.changes() || organization.is_some() {
        let text = confirmation_text("", None, plan.secret.changes(), organization);
        if !confirm(ui, &text)? {
            bail!("cancelled: nothing was changed");
        }
    }
    if plan.secret.changes() {
        secret::put_value(aws, &secret.arn, &plan.secret.value).await?;
        ui.success("Webhook secret updated.");
    }
    ui.success(format!("Stack {} is up to date.", plan.settings.stack_name));
    Ok(())
}

async fn deploy_change_set(
    aws: &Aws,
    ui: &Ui,
    plan: &Plan,
    secret: &StoredSecret,
    id: &str,
    changes: &[ChangeRow],
) -> Result<()> {
    let stack_name = plan.settings.stack_name.as_str();
    let text = confirmation_text(
        stack_name,
        Some(changes),
        plan.secret.changes(),
        plan.organization_steps.as_deref(),
    );
    if !confirm(ui, &text)? {
        cancel(aws, plan, secret, id).await?;
        bail!("cancelled: nothing was deployed");
    }
    let stack_id = stack::describe(aws, stack_name)
        .await?
        .map(|s| s.id)
        .unwrap_or_else(|| stack_name.to_string());
    let marker = stack::latest_event_id(aws, &stack_id).await.ok().flatten();
    stack::execute_change_set(aws, id).await?;
    let doing = if plan.create { "Creating" } else { "Updating" };
    let done = stack::wait(aws, ui, &stack_id, stack_name, marker.clone(), doing).await?;
    if stack::phase(&done.status) != Phase::Succeeded {
        report_failures(aws, ui, &stack_id, marker.as_deref()).await;
        let reasons = stack::reasons(aws, &stack_id, marker.as_deref())
            .await
            .unwrap_or_default();
        bail!(failure_message(plan, &done.status, &reasons));
    }
    // Only now: a failed or rolled-back update must leave the old webhook
    // live with the old stack.
    if plan.secret.changes() {
        secret::put_value(aws, &secret.arn, &plan.secret.value).await?;
        ui.info("webhook secret updated");
    }
    ui.success(format!(
        "Stack {stack_name} {}.",
        if plan.create { "created" } else { "updated" }
    ));
    Ok(())
}

/// A declined change set leaves nothing behind: the change set, the empty
/// REVIEW_IN_PROGRESS stack of a first deploy, and a secret this run created.
async fn cancel(aws: &Aws, plan: &Plan, secret: &StoredSecret, id: &str) -> Result<()> {
    stack::delete_change_set(aws, id).await.ok();
    if plan.create {
        if let Some(s) = stack::describe(aws, &plan.settings.stack_name).await? {
            if s.status == "REVIEW_IN_PROGRESS" {
                stack::delete_stack(aws, &s.id).await.ok();
            }
        }
    }
    if secret.created {
        secret::force_delete(aws, &secret.arn).await.ok();
    }
    Ok(())
}

/// Shows what changes, then asks before changing anything; `--yes` answers
/// for the user.
fn confirm(ui: &Ui, text: &str) -> Result<bool> {
    if !ui.quiet {
        eprint!("{text}");
    }
    if ui.assume_yes {
        return Ok(true);
    }
    if !ui.interactive {
        bail!("deploy needs a confirmation: pass --yes to deploy without a terminal");
    }
    prompt::confirm(CONFIRM_QUESTION, true)
}

/// Why the deploy failed, in words: an export another stack imports, a
/// failed first create, or the final status.
fn failure_message(plan: &Plan, status: &str, reasons: &[String]) -> String {
    let stack_name = plan.settings.stack_name.as_str();
    if let Some(c) = export_conflict::conflicts(reasons.iter().map(String::as_str)).first() {
        return format!(
            "deploy failed: {}; stack {stack_name} is {status}",
            export_conflict::explain(c)
        );
    }
    if status == "ROLLBACK_COMPLETE" {
        return format!(
            "deploy failed: stack {stack_name} is ROLLBACK_COMPLETE (nothing was kept); \
             fix the cause and run deploy again, it will offer to delete the failed stack"
        );
    }
    let webhook = if plan.secret.changes() {
        "; the stored webhook was not changed"
    } else {
        ""
    };
    format!("deploy failed: stack {stack_name} is {status}{webhook}")
}

/// A first create that failed leaves a ROLLBACK_COMPLETE stack that can only
/// be deleted; offer that, then create afresh.
async fn recreate_failed_stack(aws: &Aws, ui: &Ui, s: &StackInfo) -> Result<()> {
    ui.warn(format!(
        "stack {} is ROLLBACK_COMPLETE: its first create failed and it holds no resources",
        s.name
    ));
    if ui.assume_yes {
        ui.info("--yes: deleting it and creating it again");
    } else if !prompt::confirm("Delete the failed stack and create it again?", true)? {
        bail!("cancelled: the stack {} is still ROLLBACK_COMPLETE", s.name);
    }
    let marker = stack::latest_event_id(aws, &s.id).await.ok().flatten();
    stack::delete_stack(aws, &s.id).await?;
    let done = stack::wait(aws, ui, &s.id, &s.name, marker, "Deleting").await?;
    if done.status != "DELETE_COMPLETE" {
        bail!(
            "could not delete the failed stack {}: {}",
            s.name,
            done.status
        );
    }
    Ok(())
}

async fn report_failures(aws: &Aws, ui: &Ui, stack_id: &str, marker: Option<&str>) {
    match stack::failures(aws, stack_id, marker, 5).await {
        Ok(lines) if !lines.is_empty() => {
            ui.notice("Failed resources:");
            for l in lines {
                ui.notice(format!("  {l}"));
            }
        }
        _ => {}
    }
}

async fn obtain_artifact(
    ui: &Ui,
    args: &DeployArgs,
    settings: &Settings,
    early: Option<EarlyBuild>,
) -> Result<build::Artifact> {
    if let Some(path) = &args.artifact {
        ui.step(format!("Using the function zip {}", path.display()));
        return build::artifact_from_zip(path);
    }
    ui.step(format!(
        "Building the function ({})",
        settings.architecture()
    ));
    let arch: crate::function::Arch = settings
        .architecture()
        .parse()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let artifact = match early {
        // Started with the deploy, while the questions were asked.
        Some(early) if early.arch() == arch => {
            let spinner = crate::term::output::spinner("finishing the build started at launch");
            let artifact = early.finish().await;
            spinner.finish_and_clear();
            artifact?
        }
        other => {
            drop(other); // a guess for another architecture: stop it
            let mut request = build::BuildRequest::new(arch, args.force_build);
            if ui.quiet {
                request = request.in_background();
            }
            build::ensure_artifact(&request).await?
        }
    };
    ui.info(if artifact.rebuilt {
        "built"
    } else {
        "unchanged since the last build (cached)"
    });
    Ok(artifact)
}
