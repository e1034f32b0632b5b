//! CloudFormation: change sets, waiting with live progress, and explaining
//! failures. Progress polls `DescribeStacks` for the status (some engines,
//! moto included, emit few events) and prints `DescribeStackEvents` entries
//! newer than a marker event as they appear.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, ResourceStatus, Stack, StackEvent, Tag,
};

use crate::aws::Aws;
use crate::errors::{aws_call_error, AwsResultExt, Interrupted, NoSuchStack};
use crate::term::interrupt::WAITING;
use crate::term::output::Ui;

/// The stack every other region gets (docs/design.md, "Many regions").
pub use crate::template::FORWARDER_TEMPLATE;
pub use crate::template::TEMPLATE;

/// CloudFormation's limit for an inline `TemplateBody`.
const MAX_TEMPLATE_BODY: usize = 51_200;
const POLL: Duration = Duration::from_secs(2);

/// Tags on everything this tool creates (stack, secret): what lets it
/// recognise its own resources and leave the rest alone.
pub const APP_TAG_KEY: &str = "app";
pub const APP_TAG_VALUE: &str = "dingtalk-notifier";
pub const STACK_TAG_KEY: &str = "dingtalk-notifier:stack";

/// The parts of a stack the commands look at.
#[derive(Debug, Clone, Default)]
pub struct StackInfo {
    pub id: String,
    pub name: String,
    pub status: String,
    pub reason: Option<String>,
    pub outputs: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub created: Option<String>,
    pub last_updated: Option<String>,
}

impl StackInfo {
    fn from_sdk(s: &Stack) -> StackInfo {
        StackInfo {
            id: s.stack_id().unwrap_or_default().to_string(),
            name: s.stack_name().unwrap_or_default().to_string(),
            status: s
                .stack_status()
                .map(|x| x.as_str().to_string())
                .unwrap_or_default(),
            reason: s.stack_status_reason().map(str::to_string),
            outputs: s
                .outputs()
                .iter()
                .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
                .collect(),
            parameters: parameter_map(s.parameters()),
            tags: tag_map(s.tags()),
            created: s.creation_time().map(fmt_time),
            last_updated: s.last_updated_time().map(fmt_time),
        }
    }

    /// Our tag is what lets us update or delete a stack.
    pub fn is_ours(&self) -> bool {
        self.tags.get(APP_TAG_KEY).map(String::as_str) == Some(APP_TAG_VALUE)
    }

    /// The home stack's `OrganizationId` is set: it was deployed with
    /// `--organization`, whatever dingtalk-notifier.toml says (deploy and
    /// destroy both read it).
    pub fn deployed_for_organization(&self) -> bool {
        self.parameters
            .get("OrganizationId")
            .is_some_and(|id| !id.is_empty())
    }
}

fn fmt_time(t: &aws_smithy_types::DateTime) -> String {
    t.fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| t.secs().to_string())
}

/// What a stack status means for whoever waits on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    InProgress,
    Succeeded,
    Failed,
}

pub fn phase(status: &str) -> Phase {
    if status.ends_with("_IN_PROGRESS") {
        Phase::InProgress
    } else if status.ends_with("_FAILED") || status.contains("ROLLBACK") {
        Phase::Failed
    } else {
        Phase::Succeeded
    }
}

/// `None` when the stack does not exist.
pub async fn describe(aws: &Aws, name_or_id: &str) -> Result<Option<StackInfo>> {
    let res = aws
        .cloudformation
        .describe_stacks()
        .stack_name(name_or_id)
        .send()
        .await
        .aws("cloudformation:DescribeStacks");
    match res {
        Ok(out) => Ok(out.stacks().first().map(StackInfo::from_sdk)),
        Err(e) if is_missing_stack(&e) => Ok(None),
        Err(e) => Err(e.context(format!("describing the stack {name_or_id}"))),
    }
}

/// The stack a command needs deployed; its absence is the one
/// [`NoSuchStack`] error (named in the region `aws` is connected to).
pub async fn require(aws: &Aws, name: &str) -> Result<StackInfo> {
    match describe(aws, name).await? {
        Some(info) => Ok(info),
        None => Err(NoSuchStack::new(name, aws.region().unwrap_or_default()).into()),
    }
}

/// The deployed stack's template body as it was sent (`None`: no stack).
pub async fn template_body(aws: &Aws, name_or_id: &str) -> Result<Option<String>> {
    let res = aws
        .cloudformation
        .get_template()
        .stack_name(name_or_id)
        .template_stage(aws_sdk_cloudformation::types::TemplateStage::Original)
        .send()
        .await
        .aws("cloudformation:GetTemplate");
    match res {
        Ok(out) => Ok(out.template_body().map(str::to_string)),
        Err(e) if is_missing_stack(&e) => Ok(None),
        Err(e) => Err(e.context(format!("reading the template of stack {name_or_id}"))),
    }
}

fn is_missing_stack(err: &anyhow::Error) -> bool {
    aws_call_error(err)
        .is_some_and(|c| c.is_code(&["ValidationError"]) && c.message_contains("does not exist"))
}

/// (logical id, physical id) of the stack's live resources of `resource_type`,
/// for when an output is missing: some engines (moto included) report
/// resources before or without outputs, and an older template may lack one.
pub async fn resources_of_type(
    aws: &Aws,
    info: &StackInfo,
    resource_type: &str,
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = aws
            .cloudformation
            .list_stack_resources()
            .stack_name(&info.id)
            .set_next_token(token.take())
            .send()
            .await
            .aws("cloudformation:ListStackResources")
            .with_context(|| format!("listing the resources of the stack {}", info.name))?;
        out.extend(
            page.stack_resource_summaries()
                .iter()
                .filter(|r| {
                    r.resource_type() == Some(resource_type)
                        && r.resource_status() != Some(&ResourceStatus::DeleteComplete)
                })
                .filter_map(|r| {
                    let id = r.physical_resource_id().filter(|id| !id.is_empty())?;
                    Some((r.logical_resource_id()?.to_string(), id.to_string()))
                }),
        );
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}

/// Every stack this tool created (tag `app=dingtalk-notifier`), in the region.
/// Listed with ListStacks (which IAM grants only on `*`) and described one by
/// one, so the deploy policy can keep DescribeStacks scoped to stack ARNs.
pub async fn list_ours(aws: &Aws) -> Result<Vec<StackInfo>> {
    let mut ids = Vec::new();
    let mut token = None;
    loop {
        let page = aws
            .cloudformation
            .list_stacks()
            .set_next_token(token)
            .send()
            .await
            .aws("cloudformation:ListStacks")
            .context("listing stacks")?;
        ids.extend(
            page.stack_summaries()
                .iter()
                .filter(|s| s.stack_status().map(|st| st.as_str()) != Some("DELETE_COMPLETE"))
                // Our template's description names the tool; a summary without one is checked.
                .filter(|s| {
                    s.template_description()
                        .is_none_or(|d| d.starts_with("dingtalk-notifier"))
                })
                .filter_map(|s| s.stack_id().map(str::to_string)),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let mut out = Vec::new();
    for id in ids {
        if let Some(info) = describe(aws, &id).await? {
            if info.is_ours() {
                out.push(info);
            }
        }
    }
    Ok(out)
}

/// One line of a change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// `True` / `Conditional` when a Modify replaces the resource.
    pub replacement: Option<String>,
}

pub enum ChangeSet {
    /// Nothing differs from the deployed stack; the change set was deleted.
    NoChanges,
    Ready {
        id: String,
        changes: Vec<ChangeRow>,
    },
}

pub struct ChangeSetRequest<'a> {
    pub stack_name: &'a str,
    /// [`TEMPLATE`] or [`FORWARDER_TEMPLATE`].
    pub template: &'a str,
    /// The notifier stack this one belongs to (its `dingtalk-notifier:stack` tag).
    pub owner: &'a str,
    pub create: bool,
    pub parameters: &'a [(&'static str, String)],
    /// The deployed stack's parameter values, to notice a parameter-only
    /// change when the engine lists no resource changes for it.
    pub current_parameters: Option<&'a BTreeMap<String, String>>,
}

/// Do the parameters we send differ from the deployed ones? A
/// CommaDelimitedList may be echoed back as a list (`['a', 'b']`).
pub fn parameters_differ(
    wanted: &[(&'static str, String)],
    current: &BTreeMap<String, String>,
) -> bool {
    fn normal(v: &str) -> String {
        match v.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
            Some(inner) => inner
                .split(',')
                .map(|x| x.trim().trim_matches('\''))
                .collect::<Vec<_>>()
                .join(","),
            None => v.to_string(),
        }
    }
    wanted
        .iter()
        .any(|(k, v)| current.get(*k).map(|c| normal(c)) != Some(normal(v)))
}

/// The notifier template as it is sent: compact JSON, which CloudFormation
/// reads as well as YAML. The YAML's comments (the why of each resource)
/// and indentation would otherwise push it past the 51,200-byte inline
/// limit; the template uses no short-form tags (`!Ref`), so nothing is lost.
pub fn compact(template: &str) -> Result<String> {
    let doc: serde_json::Value =
        yaml_serde::from_str(template).context("reading the embedded template")?;
    serde_json::to_string(&doc).context("writing the embedded template as JSON")
}

/// Creates a change set and waits until CloudFormation has computed it.
pub async fn create_change_set(aws: &Aws, req: &ChangeSetRequest<'_>) -> Result<ChangeSet> {
    if req.template.len() > MAX_TEMPLATE_BODY {
        bail!("the embedded template is larger than CloudFormation's 51,200-byte inline limit");
    }
    let id = send_change_set(aws, req).await?;
    let mut first = true;
    loop {
        if !first {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        first = false;
        let (status, reason, changes) = read_change_set(aws, &id).await?;
        match status {
            Some(ChangeSetStatus::CreateComplete) => {
                let params_changed = req
                    .current_parameters
                    .is_some_and(|cur| parameters_differ(req.parameters, cur));
                if changes.is_empty() && !params_changed {
                    delete_change_set(aws, &id).await?;
                    return Ok(ChangeSet::NoChanges);
                }
                return Ok(ChangeSet::Ready { id, changes });
            }
            Some(ChangeSetStatus::Failed) => {
                delete_change_set(aws, &id).await.ok();
                if is_no_changes(&reason) {
                    return Ok(ChangeSet::NoChanges);
                }
                bail!("CloudFormation could not create the change set: {reason}");
            }
            Some(ChangeSetStatus::CreatePending) | Some(ChangeSetStatus::CreateInProgress) => {}
            other => bail!(
                "the change set ended in an unexpected state {}",
                other.map(|s| s.as_str().to_string()).unwrap_or_default()
            ),
        }
    }
}

/// The resource types a template declares, sorted: `CreateChangeSet`'s
/// `ResourceTypes`. CloudFormation then refuses any other type in the
/// change set, and the deploy policy allows a change set only with this
/// list (its `cloudformation:ResourceTypes` condition).
pub fn resource_types(template: &str) -> Result<Vec<String>> {
    let doc: yaml_serde::Value =
        yaml_serde::from_str(template).context("reading the embedded template")?;
    let resources = doc
        .get("Resources")
        .and_then(|r| r.as_mapping())
        .context("the embedded template has no Resources")?;
    let mut types: Vec<String> = resources
        .values()
        .filter_map(|r| r.get("Type")?.as_str().map(str::to_string))
        .collect();
    types.sort();
    types.dedup();
    Ok(types)
}

/// `CreateChangeSet` with the embedded template, its resource types, our
/// tags and the parameters; returns the change set's id.
async fn send_change_set(aws: &Aws, req: &ChangeSetRequest<'_>) -> Result<String> {
    let name = format!(
        "dingtalk-notifier-{}",
        chrono::Utc::now().format("%Y%m%d%H%M%S")
    );
    let mut call = aws
        .cloudformation
        .create_change_set()
        .stack_name(req.stack_name)
        .change_set_name(&name)
        .change_set_type(if req.create {
            ChangeSetType::Create
        } else {
            ChangeSetType::Update
        })
        .template_body(req.template)
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityNamedIam)
        .description("dingtalk-notifier deploy")
        .tags(Tag::builder().key(APP_TAG_KEY).value(APP_TAG_VALUE).build())
        .tags(Tag::builder().key(STACK_TAG_KEY).value(req.owner).build());
    for resource_type in resource_types(req.template)? {
        call = call.resource_types(resource_type);
    }
    for (key, value) in req.parameters {
        call = call.parameters(
            Parameter::builder()
                .parameter_key(*key)
                .parameter_value(value)
                .build(),
        );
    }
    let created = call
        .send()
        .await
        .aws("cloudformation:CreateChangeSet")
        .context("creating the change set")?;
    Ok(created
        .id()
        .context("CloudFormation returned no change set id")?
        .to_string())
}

/// The change set's status, status reason and resource changes (every page).
async fn read_change_set(
    aws: &Aws,
    id: &str,
) -> Result<(Option<ChangeSetStatus>, String, Vec<ChangeRow>)> {
    let mut changes = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = aws
            .cloudformation
            .describe_change_set()
            .change_set_name(id)
            .set_next_token(token.clone())
            .send()
            .await
            .aws("cloudformation:DescribeChangeSet")
            .context("reading the change set")?;
        changes.extend(page.changes().iter().filter_map(|c| {
            let rc = c.resource_change()?;
            Some(ChangeRow {
                action: rc
                    .action()
                    .map(|a| a.as_str().to_string())
                    .unwrap_or_default(),
                logical_id: rc.logical_resource_id().unwrap_or_default().to_string(),
                resource_type: rc.resource_type().unwrap_or_default().to_string(),
                replacement: rc
                    .replacement()
                    .map(|r| r.as_str().to_string())
                    .filter(|r| r != "False"),
            })
        }));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok((
                page.status().cloned(),
                page.status_reason().unwrap_or_default().to_string(),
                changes,
            ));
        }
    }
}

/// CloudFormation (and moto) word "nothing to do" in these ways.
pub fn is_no_changes(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

pub async fn delete_change_set(aws: &Aws, id: &str) -> Result<()> {
    aws.cloudformation
        .delete_change_set()
        .change_set_name(id)
        .send()
        .await
        .aws("cloudformation:DeleteChangeSet")
        .context("deleting the change set")?;
    Ok(())
}

pub async fn execute_change_set(aws: &Aws, id: &str) -> Result<()> {
    aws.cloudformation
        .execute_change_set()
        .change_set_name(id)
        .send()
        .await
        .aws("cloudformation:ExecuteChangeSet")
        .context("executing the change set")?;
    Ok(())
}

pub async fn delete_stack(aws: &Aws, id: &str) -> Result<()> {
    aws.cloudformation
        .delete_stack()
        .stack_name(id)
        .send()
        .await
        .aws("cloudformation:DeleteStack")
        .context("deleting the stack")?;
    Ok(())
}

/// Renders a change set as aligned `+ Add  Id  Type` lines.
pub fn render_changes(rows: &[ChangeRow]) -> String {
    let id_w = rows.iter().map(|r| r.logical_id.len()).max().unwrap_or(0);
    let ty_w = rows
        .iter()
        .map(|r| r.resource_type.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for r in rows {
        let sign = match r.action.as_str() {
            "Add" => "+",
            "Remove" => "-",
            "Modify" => "~",
            _ => "*",
        };
        let mut line = format!(
            "  {sign} {:<7} {:<id_w$}  {:<ty_w$}",
            r.action, r.logical_id, r.resource_type
        );
        if let Some(rep) = &r.replacement {
            let note = if rep == "True" {
                "  (replaced)".to_string()
            } else {
                format!("  (replacement: {rep})")
            };
            line.push_str(&note);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The newest event id, so progress shows only what happens after it.
pub async fn latest_event_id(aws: &Aws, stack_id: &str) -> Result<Option<String>> {
    let events = recent_events(aws, stack_id).await?;
    Ok(events
        .first()
        .and_then(|e| e.event_id().map(str::to_string)))
}

async fn recent_events(aws: &Aws, stack_id: &str) -> Result<Vec<StackEvent>> {
    let out = aws
        .cloudformation
        .describe_stack_events()
        .stack_name(stack_id)
        .send()
        .await
        .aws("cloudformation:DescribeStackEvents")
        .context("reading stack events")?;
    Ok(out.stack_events().to_vec())
}

/// Events newer than `marker`, oldest first.
fn events_after<'a>(events: &'a [StackEvent], marker: Option<&str>) -> Vec<&'a StackEvent> {
    let mut newer: Vec<&StackEvent> = events
        .iter()
        .take_while(|e| marker.is_none() || e.event_id() != marker)
        .collect();
    newer.reverse();
    newer
}

pub fn render_event(e: &StackEvent) -> String {
    let time = e
        .timestamp()
        .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), 0))
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%H:%M:%S")
                .to_string()
        })
        .unwrap_or_default();
    let status = e.resource_status().map(|s| s.as_str()).unwrap_or_default();
    let mut line = format!(
        "    {time}  {status:<20} {} ({})",
        e.logical_resource_id().unwrap_or_default(),
        e.resource_type().unwrap_or_default()
    );
    if let Some(reason) = e.resource_status_reason().filter(|r| !r.is_empty()) {
        line.push_str(&format!(": {reason}"));
    }
    line
}

/// Waits until the stack leaves `*_IN_PROGRESS`, printing events as they
/// come. Ctrl-C stops waiting (CloudFormation carries on), prints where the
/// stack is and how to resume, and returns [`Interrupted`].
pub async fn wait(
    aws: &Aws,
    ui: &Ui,
    stack_id: &str,
    stack_name: &str,
    marker: Option<String>,
    doing: &str,
) -> Result<StackInfo> {
    WAITING.store(true, Ordering::SeqCst);
    let result = wait_inner(aws, ui, stack_id, stack_name, marker, doing).await;
    WAITING.store(false, Ordering::SeqCst);
    result
}

async fn wait_inner(
    aws: &Aws,
    ui: &Ui,
    stack_id: &str,
    stack_name: &str,
    marker: Option<String>,
    doing: &str,
) -> Result<StackInfo> {
    let progress = ui.progress(format!("{doing} {stack_name}"));
    let poll = async {
        let mut seen: HashSet<String> = HashSet::new();
        loop {
            // Events are a nicety; a failure to read them must not stop the wait.
            if let Ok(events) = recent_events(aws, stack_id).await {
                for e in events_after(&events, marker.as_deref()) {
                    let id = e.event_id().unwrap_or_default().to_string();
                    if seen.insert(id) {
                        progress.line(render_event(e));
                    }
                }
            }
            let info = describe(aws, stack_id)
                .await?
                .with_context(|| format!("the stack {stack_name} disappeared while waiting"))?;
            progress.set(format!("{doing} {stack_name}: {}", info.status));
            if phase(&info.status) != Phase::InProgress {
                return Ok::<StackInfo, anyhow::Error>(info);
            }
            tokio::time::sleep(POLL).await;
        }
    };
    let result = tokio::select! {
        r = poll => r,
        _ = tokio::signal::ctrl_c() => {
            progress.finish();
            let state = describe(aws, stack_id)
                .await
                .ok()
                .flatten()
                .map(|s| s.status)
                .unwrap_or_else(|| "unknown".to_string());
            ui.notice(format!(
                "Stopped waiting. Stack {stack_name} is {state}. CloudFormation keeps working; \
                 run `dingtalk-notifier status` to follow, or `deploy` again once it settles."
            ));
            return Err(Interrupted.into());
        }
    };
    progress.finish();
    if let Ok(info) = &result {
        ui.info(format!(
            "{} after {}s",
            info.status,
            progress.elapsed().as_secs()
        ));
    }
    result
}

/// Up to `limit` failed resources since `marker`, as `Id (Type) STATUS: reason`.
pub async fn failures(
    aws: &Aws,
    stack_id: &str,
    marker: Option<&str>,
    limit: usize,
) -> Result<Vec<String>> {
    let events = recent_events(aws, stack_id).await?;
    Ok(failed_lines(&events_after(&events, marker), limit))
}

/// Every status reason since `marker`, the stack's own included (an export
/// still imported elsewhere is refused on the stack, not on a resource).
pub async fn reasons(aws: &Aws, stack_id: &str, marker: Option<&str>) -> Result<Vec<String>> {
    let events = recent_events(aws, stack_id).await?;
    Ok(events_after(&events, marker)
        .iter()
        .filter_map(|e| e.resource_status_reason().map(str::to_string))
        .collect())
}

fn failed_lines(events: &[&StackEvent], limit: usize) -> Vec<String> {
    events
        .iter()
        .filter(|e| {
            e.resource_status()
                .is_some_and(|s| s.as_str().ends_with("_FAILED"))
                && e.resource_type() != Some("AWS::CloudFormation::Stack")
        })
        .take(limit)
        .map(|e| {
            format!(
                "{} ({}) {}: {}",
                e.logical_resource_id().unwrap_or_default(),
                e.resource_type().unwrap_or_default(),
                e.resource_status().map(|s| s.as_str()).unwrap_or_default(),
                e.resource_status_reason().unwrap_or("no reason given")
            )
        })
        .collect()
}

/// A stack's or StackSet's parameters, by key (an unset value is empty).
pub fn parameter_map(
    parameters: &[aws_sdk_cloudformation::types::Parameter],
) -> BTreeMap<String, String> {
    parameters
        .iter()
        .filter_map(|p| {
            Some((
                p.parameter_key()?.to_string(),
                p.parameter_value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// A stack's or StackSet's tags, by key.
pub fn tag_map(tags: &[aws_sdk_cloudformation::types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::types::ResourceStatus;

    fn row(action: &str, id: &str, ty: &str, rep: Option<&str>) -> ChangeRow {
        ChangeRow {
            action: action.into(),
            logical_id: id.into(),
            resource_type: ty.into(),
            replacement: rep.map(str::to_string),
        }
    }

    #[test]
    fn change_set_rendering() {
        let rows = [
            row("Add", "Topic", "AWS::SNS::Topic", None),
            row("Modify", "Function", "AWS::Lambda::Function", Some("True")),
            row("Modify", "Role", "AWS::IAM::Role", Some("Conditional")),
            row("Remove", "AlarmRule", "AWS::Events::Rule", None),
        ];
        assert_eq!(
            render_changes(&rows),
            "  + Add     Topic      AWS::SNS::Topic\n\
             \x20 ~ Modify  Function   AWS::Lambda::Function  (replaced)\n\
             \x20 ~ Modify  Role       AWS::IAM::Role         (replacement: Conditional)\n\
             \x20 - Remove  AlarmRule  AWS::Events::Rule\n"
        );
    }

    #[test]
    fn resource_types_of_the_embedded_templates() {
        assert_eq!(
            resource_types(FORWARDER_TEMPLATE).unwrap(),
            ["AWS::Events::Rule", "AWS::IAM::Role"]
        );
        let types = resource_types(TEMPLATE).unwrap();
        let sent = compact(TEMPLATE).unwrap();
        assert!(sent.len() <= MAX_TEMPLATE_BODY, "{} bytes", sent.len());
        let yaml: serde_json::Value = yaml_serde::from_str(TEMPLATE).unwrap();
        let json: serde_json::Value = serde_json::from_str(&sent).unwrap();
        assert_eq!(json, yaml);
        assert_eq!(resource_types(&sent).unwrap(), types);
        assert!(types.contains(&"AWS::Lambda::Function".to_string()));
        assert!(types.windows(2).all(|w| w[0] < w[1]), "{types:?}");
        assert!(resource_types("Resources: []").is_err());
    }

    #[test]
    fn phases() {
        assert_eq!(phase("CREATE_IN_PROGRESS"), Phase::InProgress);
        assert_eq!(
            phase("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
            Phase::InProgress
        );
        assert_eq!(phase("UPDATE_ROLLBACK_IN_PROGRESS"), Phase::InProgress);
        assert_eq!(phase("CREATE_COMPLETE"), Phase::Succeeded);
        assert_eq!(phase("UPDATE_COMPLETE"), Phase::Succeeded);
        assert_eq!(phase("DELETE_COMPLETE"), Phase::Succeeded);
        assert_eq!(phase("ROLLBACK_COMPLETE"), Phase::Failed);
        assert_eq!(phase("UPDATE_ROLLBACK_COMPLETE"), Phase::Failed);
        assert_eq!(phase("DELETE_FAILED"), Phase::Failed);
    }

    #[test]
    fn no_change_reasons() {
        assert!(is_no_changes("The submitted information didn't contain changes. Submit different information to create a change set."));
        assert!(is_no_changes("No updates are to be performed."));
        assert!(!is_no_changes("Template format error"));
    }

    fn event(
        id: &str,
        logical: &str,
        ty: &str,
        status: ResourceStatus,
        reason: Option<&str>,
    ) -> StackEvent {
        StackEvent::builder()
            .event_id(id)
            .stack_id("s")
            .stack_name("s")
            .logical_resource_id(logical)
            .resource_type(ty)
            .resource_status(status)
            .set_resource_status_reason(reason.map(str::to_string))
            .timestamp(aws_smithy_types::DateTime::from_secs(0))
            .build()
    }

    #[test]
    fn failures_after_marker_oldest_first() {
        // DescribeStackEvents lists newest first.
        let events = vec![
            event(
                "4",
                "s",
                "AWS::CloudFormation::Stack",
                ResourceStatus::RollbackComplete,
                None,
            ),
            event(
                "3",
                "Rule",
                "AWS::Events::Rule",
                ResourceStatus::CreateFailed,
                Some("Resource creation cancelled"),
            ),
            event(
                "2",
                "Function",
                "AWS::Lambda::Function",
                ResourceStatus::CreateFailed,
                Some("bad zip"),
            ),
            event(
                "1",
                "Old",
                "AWS::Lambda::Function",
                ResourceStatus::CreateFailed,
                Some("older run"),
            ),
        ];
        let newer = events_after(&events, Some("1"));
        assert_eq!(
            failed_lines(&newer, 5),
            vec![
                "Function (AWS::Lambda::Function) CREATE_FAILED: bad zip".to_string(),
                "Rule (AWS::Events::Rule) CREATE_FAILED: Resource creation cancelled".to_string(),
            ]
        );
        assert_eq!(failed_lines(&newer, 1).len(), 1);
    }

    #[test]
    fn parameter_changes_are_noticed_and_list_echoes_are_equal() {
        let current: BTreeMap<String, String> = [
            ("MemorySize".to_string(), "256".to_string()),
            ("AlarmStates".to_string(), "['ALARM', 'OK']".to_string()),
        ]
        .into_iter()
        .collect();
        let same = [
            ("MemorySize", "256".to_string()),
            ("AlarmStates", "ALARM,OK".to_string()),
        ];
        assert!(!parameters_differ(&same, &current));
        let bigger = [("MemorySize", "512".to_string())];
        assert!(parameters_differ(&bigger, &current));
        let new_key = [("Timeout", "60".to_string())];
        assert!(parameters_differ(&new_key, &current));
    }
}
