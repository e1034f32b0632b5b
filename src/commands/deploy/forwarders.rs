//! Carrying out the forwarder plan ([`super::regions::plan_forwarders`]):
//! every region at once, one progress line per region as it finishes. A
//! forwarder stack is small (rules and a role), so each region is a change
//! set executed without a question: the regions were chosen explicitly.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use tokio::task::JoinSet;

use super::regions::{self, Action, Found};
use super::settings::Settings;
use crate::aws::forwarder_stacks;
use crate::aws::stack::{self, ChangeSet, ChangeSetRequest, Phase};
use crate::aws::Aws;
use crate::regions::forwarder_stack_name;
use crate::term::output::Ui;

const POLL: Duration = Duration::from_secs(1);

/// What happened in one region.
#[derive(Debug, Clone, Serialize)]
pub struct RegionResult {
    pub region: String,
    pub stack: String,
    /// `created`, `updated`, `up to date` or `removed`.
    pub outcome: String,
    pub status: String,
}

/// Runs every region's action at once; the first failure is reported after
/// every region has finished, naming the region.
pub async fn apply(
    aws: &Aws,
    ui: &Ui,
    settings: &Settings,
    home: &str,
    actions: &[(String, Action)],
    found: &BTreeMap<String, Found>,
) -> Result<Vec<RegionResult>> {
    let name = forwarder_stack_name(&settings.stack_name);
    let mut tasks = JoinSet::new();
    for (region, action) in actions {
        let job = Job {
            aws: aws.in_region(region),
            region: region.clone(),
            name: name.clone(),
            owner: settings.stack_name.clone(),
            action: action.clone(),
            parameters: regions::forwarder_parameters(settings, home, region)?,
            current: found.get(region).map(|f| f.stack.clone()),
        };
        let ui = *ui;
        tasks.spawn(async move {
            let started = Instant::now();
            let result = job.run().await;
            match &result {
                Ok(r) => ui.info(format!(
                    "{}: {} ({}s)",
                    r.region,
                    r.outcome,
                    started.elapsed().as_secs()
                )),
                Err(e) => ui.warn(format!("{}: failed: {e:#}", job.region)),
            }
            result
        });
    }
    let mut results = Vec::new();
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined.context("a region's deploy stopped")? {
            Ok(r) => results.push(r),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    results.sort_by(|a, b| a.region.cmp(&b.region));
    Ok(results)
}

struct Job {
    aws: Aws,
    region: String,
    name: String,
    owner: String,
    action: Action,
    parameters: Vec<(&'static str, String)>,
    current: Option<stack::StackInfo>,
}

impl Job {
    async fn run(&self) -> Result<RegionResult> {
        let (outcome, status) = match self.action {
            Action::UpToDate => ("up to date", self.current_status()),
            Action::Remove => {
                let id = self.current.as_ref().map(|s| s.id.clone());
                self.delete(id.as_deref().unwrap_or(&self.name)).await?;
                ("removed", "DELETE_COMPLETE".to_string())
            }
            Action::Create | Action::Recreate | Action::Update => self.change().await?,
        };
        Ok(RegionResult {
            region: self.region.clone(),
            stack: self.name.clone(),
            outcome: outcome.to_string(),
            status,
        })
    }

    fn current_status(&self) -> String {
        self.current
            .as_ref()
            .map(|s| s.status.clone())
            .unwrap_or_default()
    }

    async fn change(&self) -> Result<(&'static str, String)> {
        if self.action == Action::Recreate {
            let id = self.current.as_ref().map(|s| s.id.clone());
            self.delete(id.as_deref().unwrap_or(&self.name)).await?;
        }
        let create = self.action != Action::Update;
        let current_parameters = self
            .current
            .as_ref()
            .filter(|_| !create)
            .map(|s| s.parameters.clone());
        let change_set = stack::create_change_set(
            &self.aws,
            &ChangeSetRequest {
                stack_name: &self.name,
                template: stack::FORWARDER_TEMPLATE,
                owner: &self.owner,
                create,
                parameters: &self.parameters,
                current_parameters: current_parameters.as_ref(),
            },
        )
        .await
        .with_context(|| format!("{}: the forwarder's change set", self.region))?;
        let id = match change_set {
            ChangeSet::NoChanges => return Ok(("up to date", self.current_status())),
            ChangeSet::Ready { id, .. } => id,
        };
        stack::execute_change_set(&self.aws, &id)
            .await
            .with_context(|| format!("{}: deploying the forwarder", self.region))?;
        let status = self.settle().await?;
        if stack::phase(&status) != Phase::Succeeded {
            let reasons = stack::reasons(&self.aws, &self.name, None)
                .await
                .unwrap_or_default();
            bail!(
                "{}: the forwarder stack {} ended {status}: {}",
                self.region,
                self.name,
                reasons.join("; ")
            );
        }
        Ok((if create { "created" } else { "updated" }, status))
    }

    /// Polls until the stack leaves `*_IN_PROGRESS`; returns its status.
    async fn settle(&self) -> Result<String> {
        loop {
            let status = stack::describe(&self.aws, &self.name)
                .await?
                .map(|s| s.status)
                .unwrap_or_else(|| "DELETE_COMPLETE".to_string());
            if stack::phase(&status) != Phase::InProgress {
                return Ok(status);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn delete(&self, id: &str) -> Result<()> {
        forwarder_stacks::delete(&self.aws, id, &self.region).await
    }
}
