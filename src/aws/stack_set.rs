//! The organization's forwarder StackSet (docs/design.md, "Many accounts"):
//! service-managed, so CloudFormation itself creates the stacks in the
//! member accounts (and in accounts that join later). Describe it and its
//! instances, create, update, add or remove regions, delete, and wait for an
//! operation with the same progress display and Ctrl-C behaviour as a stack.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_cloudformation::types::{
    AccountFilterType, AutoDeployment, CallAs, Capability, ConcurrencyMode, DeploymentTargets,
    ManagedExecution, Parameter, PermissionModels, RegionConcurrencyType,
    StackSetOperationPreferences, StackSetOperationResultStatus, StackSetOperationStatus, Tag,
};

use crate::aws::organization::{not_allowed, OrgCaller};
use crate::aws::stack::{APP_TAG_KEY, APP_TAG_VALUE, FORWARDER_TEMPLATE, STACK_TAG_KEY};
use crate::aws::Aws;
use crate::errors::{aws_call_error, has_code, AwsResultExt, Interrupted};
use crate::term::interrupt::WAITING;
use crate::term::output::Ui;

const POLL: Duration = Duration::from_secs(2);

/// Every instance of a region at once; a few refusing accounts (an SCP, a
/// suspended account) do not stop the rest, more than a tenth does.
pub const MAX_CONCURRENT_PERCENTAGE: i32 = 100;
pub const FAILURE_TOLERANCE_PERCENTAGE: i32 = 10;

/// The forwarders' StackSet of a notifier stack in `home_account`. The
/// account is in the name: service-managed StackSets are shared by the
/// management account and every delegated administrator, so two homes in
/// one organization with the same stack name must not meet on one StackSet.
pub fn stack_set_name(stack_name: &str, home_account: &str) -> String {
    format!("{stack_name}-forwarders-{home_account}")
}

/// The name before the home account was part of it: a deploy removes such
/// a StackSet when it is this home's (`StackSetInfo::check_owner`).
pub fn legacy_stack_set_name(stack_name: &str) -> String {
    format!("{stack_name}-forwarders")
}

/// Which StackSet, and as whom.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub call_as: CallAs,
    /// The organization's root: every account.
    pub root_id: String,
    /// The home account: it has the notifier itself.
    pub home_account: String,
    /// The management account, for the error when the caller may not act.
    pub management_account: String,
}

impl Target {
    /// The StackSet of `stack_name`, as the caller may act on it.
    pub fn new(stack_name: &str, caller: &OrgCaller) -> Target {
        Target {
            name: stack_set_name(stack_name, &caller.account),
            call_as: caller.call_as(),
            root_id: caller.root_id.clone(),
            home_account: caller.account.clone(),
            management_account: caller.management_account.clone(),
        }
    }

    /// The same StackSet under its name of earlier versions.
    pub fn legacy(stack_name: &str, caller: &OrgCaller) -> Target {
        Target {
            name: legacy_stack_set_name(stack_name),
            ..Target::new(stack_name, caller)
        }
    }
}

/// The StackSet as `DescribeStackSet` shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StackSetInfo {
    pub status: String,
    pub template: String,
    pub parameters: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

impl StackSetInfo {
    pub fn is_ours(&self) -> bool {
        self.tags.get(APP_TAG_KEY).map(String::as_str) == Some(APP_TAG_VALUE)
    }

    /// The home its forwarders send to: `HomeAccountId` and `HomeRegion`.
    pub fn home(&self) -> (&str, &str) {
        let get = |k: &str| self.parameters.get(k).map(String::as_str).unwrap_or("");
        (get("HomeAccountId"), get("HomeRegion"))
    }

    /// Refuses a StackSet that is not dingtalk-notifier's (the `app` tag),
    /// or is another home's: its forwarders send to another account or
    /// region, and changing or deleting it would take that home's
    /// organization forwarders away.
    pub fn check_owner(&self, name: &str, account: &str, region: &str) -> Result<()> {
        if !self.is_ours() {
            bail!("the StackSet {name} exists but was not created by dingtalk-notifier (no app=dingtalk-notifier tag); delete it or choose another --stack-name");
        }
        let (home_account, home_region) = self.home();
        if (home_account, home_region) != (account, region) {
            bail!(
                "the StackSet {name} belongs to the dingtalk-notifier home in account {} region {} (its HomeAccountId and HomeRegion), not to this one ({account}, {region}); not touching it: choose another --stack-name, or deploy from that home",
                if home_account.is_empty() { "?" } else { home_account },
                if home_region.is_empty() { "?" } else { home_region },
            );
        }
        Ok(())
    }
}

/// One stack instance (an account in a region).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Instance {
    pub account: String,
    pub region: String,
    /// `CURRENT`, `OUTDATED` or `INOPERABLE`.
    pub status: String,
    /// `SUCCEEDED`, `FAILED`, `RUNNING`, `PENDING`, `CANCELLED`, …
    pub detailed_status: String,
    pub reason: Option<String>,
}

impl Instance {
    /// The account has not enabled the instance's region (an opt-in
    /// region): like an inoperable account, nothing a retry can fix.
    pub fn region_not_enabled(&self) -> bool {
        self.reason.as_deref().is_some_and(region_not_enabled)
    }
}

/// Whether a StackSet status reason says the target account has not
/// enabled the region. AWS documents the requirement (the target account
/// and the administrator must both have an opt-in region enabled) but not
/// the wording of the failure, so this matches the words it is made of.
pub fn region_not_enabled(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("region")
        && [
            "not enabled",
            "is disabled",
            "not opted",
            "opt-in",
            "enabled to be able",
        ]
        .iter()
        .any(|w| r.contains(w))
}

/// `None` when there is no such StackSet (or only a deleted one).
pub async fn describe(aws: &Aws, t: &Target) -> Result<Option<StackSetInfo>> {
    let res = aws
        .cloudformation
        .describe_stack_set()
        .stack_set_name(&t.name)
        .call_as(t.call_as.clone())
        .send()
        .await
        .aws("cloudformation:DescribeStackSet");
    let set = match res {
        Ok(out) => out.stack_set,
        Err(e) if has_code(&e, &["StackSetNotFoundException"]) => None,
        Err(e) => return Err(explain(e, t).context(format!("describing the StackSet {}", t.name))),
    };
    Ok(set
        .filter(|s| s.status().map(|x| x.as_str()) != Some("DELETED"))
        .map(|s| StackSetInfo {
            status: s
                .status()
                .map(|x| x.as_str().to_string())
                .unwrap_or_default(),
            template: s.template_body().unwrap_or_default().to_string(),
            parameters: crate::aws::stack::parameter_map(s.parameters()),
            tags: crate::aws::stack::tag_map(s.tags()),
        }))
}

/// Every instance (ListStackInstances, every page), sorted by region, account.
pub async fn instances(aws: &Aws, t: &Target) -> Result<Vec<Instance>> {
    let mut out = Vec::new();
    let mut pages = aws
        .cloudformation
        .list_stack_instances()
        .stack_set_name(&t.name)
        .call_as(t.call_as.clone())
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page
            .aws("cloudformation:ListStackInstances")
            .map_err(|e| explain(e, t))
            .with_context(|| format!("listing the instances of the StackSet {}", t.name))?;
        out.extend(page.summaries().iter().map(|s| {
            Instance {
                account: s.account().unwrap_or_default().to_string(),
                region: s.region().unwrap_or_default().to_string(),
                status: s
                    .status()
                    .map(|x| x.as_str().to_string())
                    .unwrap_or_default(),
                detailed_status: s
                    .stack_instance_status()
                    .and_then(|x| x.detailed_status())
                    .map(|x| x.as_str().to_string())
                    .unwrap_or_default(),
                reason: s
                    .status_reason()
                    .filter(|r| !r.is_empty())
                    .map(str::to_string),
            }
        }));
    }
    out.sort_by(|a, b| (&a.region, &a.account).cmp(&(&b.region, &b.account)));
    Ok(out)
}

/// The organization's root, less the home account.
fn targets(t: &Target) -> DeploymentTargets {
    DeploymentTargets::builder()
        .organizational_unit_ids(&t.root_id)
        .accounts(&t.home_account)
        .account_filter_type(AccountFilterType::Difference)
        .build()
}

/// Soft failure tolerance: the default (strict) caps the concurrency at
/// the tolerance + 1 accounts, not every account of a region at once.
fn preferences() -> StackSetOperationPreferences {
    StackSetOperationPreferences::builder()
        .region_concurrency_type(RegionConcurrencyType::Parallel)
        .max_concurrent_percentage(MAX_CONCURRENT_PERCENTAGE)
        .failure_tolerance_percentage(FAILURE_TOLERANCE_PERCENTAGE)
        .concurrency_mode(ConcurrencyMode::SoftFailureTolerance)
        .build()
}

/// Accounts that join get the forwarder; accounts that leave lose it.
fn auto_deployment() -> AutoDeployment {
    AutoDeployment::builder()
        .enabled(true)
        .retain_stacks_on_account_removal(false)
        .build()
}

/// One operation at a time, queued by CloudFormation, never refused as busy.
fn managed_execution() -> ManagedExecution {
    ManagedExecution::builder().active(true).build()
}

fn parameters(values: &[(&'static str, String)]) -> Vec<Parameter> {
    values
        .iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(*k)
                .parameter_value(v)
                .build()
        })
        .collect()
}

/// CreateStackSet: service-managed, auto-deployed, our tags.
pub async fn create(
    aws: &Aws,
    t: &Target,
    owner: &str,
    values: &[(&'static str, String)],
) -> Result<()> {
    aws.cloudformation
        .create_stack_set()
        .stack_set_name(&t.name)
        .call_as(t.call_as.clone())
        .description(format!("dingtalk-notifier forwarders of the stack {owner}"))
        .template_body(FORWARDER_TEMPLATE)
        .set_parameters(Some(parameters(values)))
        .capabilities(Capability::CapabilityIam)
        .permission_model(PermissionModels::ServiceManaged)
        .auto_deployment(auto_deployment())
        .managed_execution(managed_execution())
        .tags(Tag::builder().key(APP_TAG_KEY).value(APP_TAG_VALUE).build())
        .tags(Tag::builder().key(STACK_TAG_KEY).value(owner).build())
        .send()
        .await
        .aws("cloudformation:CreateStackSet")
        .map_err(|e| explain(e, t))
        .with_context(|| format!("creating the StackSet {}", t.name))?;
    Ok(())
}

/// UpdateStackSet: the embedded template and `values` for the instances in
/// `regions`; returns the operation id.
pub async fn update(
    aws: &Aws,
    t: &Target,
    values: &[(&'static str, String)],
    regions: &[String],
) -> Result<String> {
    let mut call = aws
        .cloudformation
        .update_stack_set()
        .stack_set_name(&t.name)
        .call_as(t.call_as.clone())
        .template_body(FORWARDER_TEMPLATE)
        .set_parameters(Some(parameters(values)))
        .capabilities(Capability::CapabilityIam)
        .operation_preferences(preferences());
    // No instances yet: the StackSet alone.
    if !regions.is_empty() {
        call = call
            .deployment_targets(targets(t))
            .set_regions(Some(regions.to_vec()));
    }
    let out = call
        .send()
        .await
        .aws("cloudformation:UpdateStackSet")
        .map_err(|e| explain(e, t))
        .with_context(|| format!("updating the StackSet {}", t.name))?;
    out.operation_id
        .context("UpdateStackSet returned no operation id")
}

/// CreateStackInstances in `regions` for every member account.
pub async fn add_regions(aws: &Aws, t: &Target, regions: &[String]) -> Result<String> {
    let out = aws
        .cloudformation
        .create_stack_instances()
        .stack_set_name(&t.name)
        .call_as(t.call_as.clone())
        .deployment_targets(targets(t))
        .set_regions(Some(regions.to_vec()))
        .operation_preferences(preferences())
        .send()
        .await
        .aws("cloudformation:CreateStackInstances")
        .map_err(|e| explain(e, t))
        .with_context(|| format!("adding regions to the StackSet {}", t.name))?;
    out.operation_id
        .context("CreateStackInstances returned no operation id")
}

/// DeleteStackInstances in `regions` (the stacks go too).
pub async fn remove_regions(aws: &Aws, t: &Target, regions: &[String]) -> Result<String> {
    let out = aws
        .cloudformation
        .delete_stack_instances()
        .stack_set_name(&t.name)
        .call_as(t.call_as.clone())
        .deployment_targets(targets(t))
        .set_regions(Some(regions.to_vec()))
        .retain_stacks(false)
        .operation_preferences(preferences())
        .send()
        .await
        .aws("cloudformation:DeleteStackInstances")
        .map_err(|e| explain(e, t))
        .with_context(|| format!("removing regions from the StackSet {}", t.name))?;
    out.operation_id
        .context("DeleteStackInstances returned no operation id")
}

/// DeleteStackSet (it must have no instances left).
pub async fn delete(aws: &Aws, t: &Target) -> Result<()> {
    aws.cloudformation
        .delete_stack_set()
        .stack_set_name(&t.name)
        .call_as(t.call_as.clone())
        .send()
        .await
        .aws("cloudformation:DeleteStackSet")
        .map_err(|e| explain(e, t))
        .with_context(|| format!("deleting the StackSet {}", t.name))?;
    Ok(())
}

/// Waits for the operation, a progress line on stderr. Ctrl-C stops waiting
/// (CloudFormation carries on), says how to resume and returns
/// [`Interrupted`]. A failed or stopped operation is an error naming the
/// instances that failed.
pub async fn wait(aws: &Aws, ui: &Ui, t: &Target, operation: &str, doing: &str) -> Result<()> {
    WAITING.store(true, Ordering::SeqCst);
    let progress = ui.progress(format!("{doing} {}", t.name));
    let poll = async {
        loop {
            let status = operation_status(aws, t, operation).await?;
            progress.set(format!("{doing} {}: {}", t.name, status.as_str()));
            match status {
                StackSetOperationStatus::Running
                | StackSetOperationStatus::Queued
                | StackSetOperationStatus::Stopping => tokio::time::sleep(POLL).await,
                other => return Ok::<_, anyhow::Error>(other),
            }
        }
    };
    let result = tokio::select! {
        r = poll => r,
        _ = tokio::signal::ctrl_c() => {
            progress.finish();
            let state = operation_status(aws, t, operation)
                .await
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|_| "unknown".to_string());
            ui.notice(format!(
                "Stopped waiting. StackSet {} operation {operation} is {state}. CloudFormation keeps working; \
                 run `dingtalk-notifier status` to follow, or `deploy` again once it settles.",
                t.name
            ));
            // Only now: a second Ctrl-C while the line was pending would
            // exit before it printed.
            WAITING.store(false, Ordering::SeqCst);
            return Err(Interrupted.into());
        }
    };
    progress.finish();
    WAITING.store(false, Ordering::SeqCst);
    let status = result?;
    let failed = failed_instances(aws, t, operation).await;
    let verdict = judge(
        &t.name,
        operation,
        &status,
        failed.as_deref().unwrap_or_default(),
    );
    if let Err(e) = &failed {
        ui.warn(format!("{e:#}"));
    }
    if status == StackSetOperationStatus::Succeeded {
        ui.info(format!(
            "{} {}: SUCCEEDED after {}s",
            doing,
            t.name,
            progress.elapsed().as_secs()
        ));
    }
    for warning in verdict.warnings {
        ui.warn(warning);
    }
    match verdict.error {
        Some(e) => Err(anyhow!(e)),
        None => Ok(()),
    }
}

/// What an ended operation means: its warnings, and an error unless it
/// succeeded or failed only for regions the accounts have not enabled.
#[derive(Debug, Default, PartialEq)]
struct Verdict {
    warnings: Vec<String>,
    error: Option<String>,
}

/// Pure: the operation's final status and its failed instances → what to say.
fn judge(
    name: &str,
    operation: &str,
    status: &StackSetOperationStatus,
    failed: &[Instance],
) -> Verdict {
    let (skipped, real): (Vec<&Instance>, Vec<&Instance>) =
        failed.iter().partition(|i| i.region_not_enabled());
    let mut v = Verdict::default();
    if !skipped.is_empty() {
        let lines: Vec<String> = skipped
            .iter()
            .map(|i| format!("{}/{}", i.account, i.region))
            .collect();
        v.warnings.push(not_enabled_warning(name, &lines));
    }
    let real: Vec<String> = real.into_iter().map(failure_line).collect();
    let ended_well = *status == StackSetOperationStatus::Succeeded
        || (*status == StackSetOperationStatus::Failed && real.is_empty() && !skipped.is_empty());
    if ended_well {
        if !real.is_empty() {
            v.warnings.push(failed_warning(name, &real));
        }
        return v;
    }
    let shown: Vec<String> = real.into_iter().take(SHOWN_FAILURES).collect();
    v.error = Some(format!(
        "the StackSet {name} operation {operation} ended {}: {}",
        status.as_str(),
        match shown.is_empty() {
            true => "see the StackSet's operations in the CloudFormation console".to_string(),
            false => shown.join("; "),
        }
    ));
    v
}

async fn operation_status(
    aws: &Aws,
    t: &Target,
    operation: &str,
) -> Result<StackSetOperationStatus> {
    let out = aws
        .cloudformation
        .describe_stack_set_operation()
        .stack_set_name(&t.name)
        .operation_id(operation)
        .call_as(t.call_as.clone())
        .send()
        .await
        .aws("cloudformation:DescribeStackSetOperation")
        .map_err(|e| explain(e, t))
        .with_context(|| {
            format!(
                "reading the operation {operation} of the StackSet {} (DescribeStackSetOperation)",
                t.name
            )
        })?;
    out.stack_set_operation
        .and_then(|o| o.status)
        .ok_or_else(|| anyhow!("DescribeStackSetOperation returned no status"))
}

/// How many failed instances a message lists.
const SHOWN_FAILURES: usize = 5;

/// Every failed instance of an operation (every page).
async fn failed_instances(aws: &Aws, t: &Target, operation: &str) -> Result<Vec<Instance>> {
    let mut out = Vec::new();
    let mut pages = aws
        .cloudformation
        .list_stack_set_operation_results()
        .stack_set_name(&t.name)
        .operation_id(operation)
        .call_as(t.call_as.clone())
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page
            .aws("cloudformation:ListStackSetOperationResults")
            .map_err(|e| explain(e, t))
            .with_context(|| {
                format!(
                    "reading the failed instances of the StackSet {} operation {operation}",
                    t.name
                )
            })?;
        out.extend(
            page.summaries()
                .iter()
                .filter(|s| s.status() == Some(&StackSetOperationResultStatus::Failed))
                .map(|s| Instance {
                    account: s.account().unwrap_or_default().to_string(),
                    region: s.region().unwrap_or_default().to_string(),
                    status: "FAILED".to_string(),
                    detailed_status: "FAILED".to_string(),
                    reason: s.status_reason().map(str::to_string),
                }),
        );
    }
    Ok(out)
}

/// `account/region: reason`.
fn failure_line(i: &Instance) -> String {
    format!(
        "{}/{}: {}",
        i.account,
        i.region,
        i.reason.as_deref().unwrap_or("no reason given")
    )
}

/// The warning for instances whose account has not enabled their region:
/// not retried, listed by `status`.
fn not_enabled_warning(name: &str, skipped: &[String]) -> String {
    let more = match skipped.len() > SHOWN_FAILURES {
        true => format!("; and {} more", skipped.len() - SHOWN_FAILURES),
        false => String::new(),
    };
    format!(
        "StackSet {name}: {} instance(s) in a region their account has not enabled (not retried; enable the region there, or leave it out of --regions; `status` lists them): {}{more}",
        skipped.len(),
        skipped[..skipped.len().min(SHOWN_FAILURES)].join("; ")
    )
}

/// The warning after a `SUCCEEDED` operation that still has failed
/// instances (within the failure tolerance): how many, the first few.
fn failed_warning(name: &str, failed: &[String]) -> String {
    let more = match failed.len() > SHOWN_FAILURES {
        true => format!("; and {} more", failed.len() - SHOWN_FAILURES),
        false => String::new(),
    };
    format!(
        "StackSet {name}: {} instance(s) failed (deploy again to retry): {}{more}",
        failed.len(),
        failed[..failed.len().min(SHOWN_FAILURES)].join("; ")
    )
}

/// StackSets' answers when the organization is not set up for them, in words.
fn explain(err: anyhow::Error, t: &Target) -> anyhow::Error {
    let Some(c) = aws_call_error(&err) else {
        return err;
    };
    if c.message_contains("not a delegated administrator") {
        return anyhow!(not_allowed(&t.home_account, &t.management_account));
    }
    if c.message_contains("organizations access") || c.message_contains("trusted access") {
        return anyhow!(
            "--organization: trusted access between CloudFormation StackSets and AWS Organizations is off: \
             in the management account run `aws cloudformation activate-organizations-access`"
        );
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_account_of_a_region_at_once_within_a_soft_tolerance() {
        let p = preferences();
        assert_eq!(
            p.region_concurrency_type(),
            Some(&RegionConcurrencyType::Parallel)
        );
        assert_eq!(p.max_concurrent_percentage(), Some(100));
        assert_eq!(p.failure_tolerance_percentage(), Some(10));
        assert_eq!(
            p.concurrency_mode(),
            Some(&ConcurrencyMode::SoftFailureTolerance)
        );
        assert_eq!(p.max_concurrent_count(), None);
        assert_eq!(p.failure_tolerance_count(), None);
    }

    #[test]
    fn joining_accounts_get_forwarders_leaving_ones_lose_them_one_operation_at_a_time() {
        let a = auto_deployment();
        assert_eq!(a.enabled(), Some(true));
        assert_eq!(a.retain_stacks_on_account_removal(), Some(false));
        assert_eq!(managed_execution().active(), Some(true));
    }

    #[test]
    fn failed_instances_of_a_successful_operation_are_counted_and_the_first_five_listed() {
        let failed: Vec<String> = (1..=7)
            .map(|n| format!("{n}{n}{n}/us-east-1: denied by an SCP"))
            .collect();
        assert_eq!(
            failed_warning("alerts-forwarders", &failed[..1]),
            "StackSet alerts-forwarders: 1 instance(s) failed (deploy again to retry): 111/us-east-1: denied by an SCP"
        );
        assert_eq!(
            failed_warning("alerts-forwarders", &failed),
            "StackSet alerts-forwarders: 7 instance(s) failed (deploy again to retry): \
             111/us-east-1: denied by an SCP; 222/us-east-1: denied by an SCP; 333/us-east-1: denied by an SCP; \
             444/us-east-1: denied by an SCP; 555/us-east-1: denied by an SCP; and 2 more"
        );
    }

    fn failed(account: &str, region: &str, reason: &str) -> Instance {
        Instance {
            account: account.into(),
            region: region.into(),
            status: "FAILED".into(),
            detailed_status: "FAILED".into(),
            reason: Some(reason.into()),
        }
    }

    #[test]
    fn a_region_an_account_has_not_enabled_is_a_warning_not_a_failed_deploy() {
        let off = failed(
            "222222222222",
            "ap-east-1",
            "Account 222222222222 should have 'ap-east-1' region enabled to be able to create/update stack instances",
        );
        assert!(off.region_not_enabled());
        assert!(region_not_enabled(
            "The Region me-south-1 is not enabled for account 333333333333"
        ));
        assert!(!region_not_enabled("User: arn:aws:sts::1:assumed-role/x is not authorized: explicit deny in a service control policy"));
        // The region failed beyond the tolerance for that reason alone.
        let v = judge(
            "s-forwarders-1",
            "op-1",
            &StackSetOperationStatus::Failed,
            std::slice::from_ref(&off),
        );
        assert_eq!(
            v,
            Verdict {
                warnings: vec!["StackSet s-forwarders-1: 1 instance(s) in a region their account has not enabled (not retried; enable the region there, or leave it out of --regions; `status` lists them): 222222222222/ap-east-1".into()],
                error: None,
            }
        );
        // Anything else that failed still fails the deploy, named.
        let scp = failed("333333333333", "us-east-1", "denied by an SCP");
        let v = judge(
            "s-forwarders-1",
            "op-1",
            &StackSetOperationStatus::Failed,
            &[off, scp],
        );
        assert_eq!(
            v.error.as_deref(),
            Some("the StackSet s-forwarders-1 operation op-1 ended FAILED: 333333333333/us-east-1: denied by an SCP")
        );
        assert_eq!(v.warnings.len(), 1);
        // A stopped operation is never a success.
        let v = judge("s", "op-2", &StackSetOperationStatus::Stopped, &[]);
        assert_eq!(
            v.error.as_deref(),
            Some("the StackSet s operation op-2 ended STOPPED: see the StackSet's operations in the CloudFormation console")
        );
    }

    #[test]
    fn the_home_account_is_in_the_name_and_another_homes_set_is_refused() {
        assert_eq!(
            stack_set_name("alerts", "123456789012"),
            "alerts-forwarders-123456789012"
        );
        let mut set = StackSetInfo::default();
        set.tags.insert(APP_TAG_KEY.into(), APP_TAG_VALUE.into());
        set.parameters
            .insert("HomeAccountId".into(), "123456789012".into());
        set.parameters
            .insert("HomeRegion".into(), "us-east-1".into());
        assert!(set.check_owner("n", "123456789012", "us-east-1").is_ok());
        assert!(set.check_owner("n", "999999999999", "us-east-1").is_err());
        assert!(set.check_owner("n", "123456789012", "eu-west-1").is_err());
    }
}
