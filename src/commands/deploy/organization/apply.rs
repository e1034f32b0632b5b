//! `deploy --organization` (docs/design.md, "Many accounts"): who the
//! caller is in the organization, the StackSet as it is and the steps
//! [`super::plan::plan_stack_set`] decides, all before anything changes;
//! then the steps, each operation waited for.

use anyhow::{bail, Result};
use serde::Serialize;

use super::plan::{
    plan_stack_set, stack_set_parameters, stack_set_regions, Found, Home, Step, Wanted,
    MAX_STACK_NAME,
};
use crate::aws::organization::{self, OrgCaller};
use crate::aws::stack_set::{self, Target};
use crate::aws::Aws;
use crate::commands::deploy::settings::Settings;
use crate::term::output::Ui;

/// The bus policy's statement id is `<stack-name>-organization`, and
/// EventBridge allows 64 characters.
fn check_stack_name(name: &str) -> Result<()> {
    if name.len() > MAX_STACK_NAME {
        bail!(
            "--organization: the stack name {name} is longer than {MAX_STACK_NAME} characters (the bus policy's statement id is <stack-name>-organization, at most 64); choose a shorter --stack-name"
        );
    }
    Ok(())
}

/// Decided before the first change.
pub struct OrgPlan {
    pub caller: OrgCaller,
    pub target: Target,
    pub on: bool,
    pub parameters: Vec<(&'static str, String)>,
    /// The StackSet's regions (none when turning it off).
    pub regions: Vec<String>,
    pub steps: Vec<Step>,
    /// This home's StackSet under its name of earlier versions
    /// (`<stack>-forwarders`), and the steps that remove it: its forwarders
    /// send to the default bus, which no longer takes them.
    pub legacy: Option<(Target, Vec<Step>)>,
    /// The organization's accounts (id, name).
    pub accounts: Vec<(String, String)>,
}

impl OrgPlan {
    /// The home stack's `OrganizationId`: empty when off.
    pub fn organization_id(&self) -> String {
        match self.on {
            true => self.caller.organization_id.clone(),
            false => String::new(),
        }
    }

    /// The accounts that get forwarders: all but the home and the
    /// management account (StackSets never deploy service-managed
    /// instances there).
    pub fn member_accounts(&self) -> usize {
        self.accounts
            .iter()
            .filter(|(id, _)| *id != self.caller.account && *id != self.caller.management_account)
            .count()
    }

    /// One line for the deploy plan, before the confirmation.
    pub fn summary(&self) -> String {
        let mut what = match outcome(&self.steps) {
            "up to date" => "up to date".to_string(),
            _ => steps_text(&self.steps),
        };
        if let Some((t, steps)) = &self.legacy {
            what = format!(
                "{what}; the StackSet {} of earlier versions: {}",
                t.name,
                steps_text(steps)
            );
        }
        match self.on {
            true => format!(
                "Organization {}: StackSet {} in {} member account(s) x {} region(s) ({}): {what}",
                self.caller.organization_id,
                self.target.name,
                self.member_accounts(),
                self.regions.len(),
                self.regions.join(", ")
            ),
            false => format!(
                "Organization {}: --no-organization: StackSet {}: {what}",
                self.caller.organization_id, self.target.name
            ),
        }
    }
}

fn steps_text(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|s| match s {
            Step::Create => "create".to_string(),
            Step::Update(r) => format!("update {}", regions_or_set(r)),
            Step::AddRegions(r) => format!("add {}", r.join(", ")),
            Step::RemoveRegions(r) => format!("remove {}", r.join(", ")),
            Step::Delete => "delete".to_string(),
        })
        .collect::<Vec<_>>()
        .join(", then ")
}

fn regions_or_set(regions: &[String]) -> String {
    match regions.is_empty() {
        true => "the StackSet".to_string(),
        false => regions.join(", "),
    }
}

/// `created`, `updated`, `removed` or `up to date`.
pub fn outcome(steps: &[Step]) -> &'static str {
    if steps.is_empty() {
        "up to date"
    } else if steps.contains(&Step::Create) {
        "created"
    } else if steps.contains(&Step::Delete) {
        "removed"
    } else {
        "updated"
    }
}

/// What the organization part of `deploy --json` says.
#[derive(Debug, Serialize)]
pub struct OrganizationResult {
    pub organization_id: String,
    pub stack_set: String,
    /// `SELF` (management account) or `DELEGATED_ADMIN`.
    pub call_as: String,
    pub outcome: String,
    pub steps: Vec<Step>,
    pub regions: Vec<String>,
    pub member_accounts: usize,
}

/// `None` when the organization is neither wanted nor was (no call made).
pub async fn prepare(
    aws: &Aws,
    settings: &Settings,
    home: &str,
    forwarder_regions: &[String],
    on: bool,
    was_on: bool,
) -> Result<Option<OrgPlan>> {
    if !on && !was_on {
        return Ok(None);
    }
    if on {
        check_stack_name(&settings.stack_name)?;
    }
    let caller = organization::caller(aws).await?;
    let target = Target::new(&settings.stack_name, &caller);
    let found = find(aws, &target).await?;
    let owner = Home {
        account: &caller.account,
        region: home,
    };
    let parameters = stack_set_parameters(settings, home, &caller.account)?;
    let regions = match on {
        true => stack_set_regions(home, forwarder_regions),
        false => Vec::new(),
    };
    let wanted = Wanted {
        parameters: &parameters,
        regions: &regions,
    };
    let steps = plan_stack_set(&target.name, owner, on.then_some(&wanted), found.as_ref())?;
    let legacy = legacy_steps(aws, &settings.stack_name, &caller, owner).await?;
    let accounts = match on {
        true => organization::accounts(aws).await?,
        false => Vec::new(),
    };
    Ok(Some(OrgPlan {
        caller,
        target,
        on,
        parameters,
        regions,
        steps,
        legacy,
        accounts,
    }))
}

async fn find(aws: &Aws, target: &Target) -> Result<Option<Found>> {
    Ok(match stack_set::describe(aws, target).await? {
        Some(set) => Some(Found::new(set, &stack_set::instances(aws, target).await?)),
        None => None,
    })
}

/// This home's StackSet under the old name goes; another home's (or one
/// that is not ours) is left alone.
async fn legacy_steps(
    aws: &Aws,
    stack_name: &str,
    caller: &OrgCaller,
    owner: Home<'_>,
) -> Result<Option<(Target, Vec<Step>)>> {
    let target = Target::legacy(stack_name, caller);
    let Some(found) = find(aws, &target).await? else {
        return Ok(None);
    };
    if found
        .set
        .check_owner(&target.name, owner.account, owner.region)
        .is_err()
    {
        return Ok(None);
    }
    let steps = plan_stack_set(&target.name, owner, None, Some(&found))?;
    Ok(Some((target, steps)))
}

/// Carries the steps out, one operation at a time, each waited for; then
/// removes the StackSet of earlier versions.
pub async fn apply(aws: &Aws, ui: &Ui, plan: &OrgPlan, owner: &str) -> Result<OrganizationResult> {
    let t = &plan.target;
    run_steps(aws, ui, t, &plan.steps, &plan.parameters, owner).await?;
    if let Some((old, steps)) = &plan.legacy {
        run_steps(aws, ui, old, steps, &plan.parameters, owner).await?;
    }
    let result = OrganizationResult {
        organization_id: plan.caller.organization_id.clone(),
        stack_set: t.name.clone(),
        call_as: t.call_as.as_str().to_string(),
        outcome: outcome(&plan.steps).to_string(),
        steps: plan.steps.clone(),
        regions: plan.regions.clone(),
        member_accounts: plan.member_accounts(),
    };
    ui.info(format!("StackSet {}: {}", t.name, result.outcome));
    Ok(result)
}

async fn run_steps(
    aws: &Aws,
    ui: &Ui,
    t: &Target,
    steps: &[Step],
    parameters: &[(&'static str, String)],
    owner: &str,
) -> Result<()> {
    for step in steps {
        let operation = match step {
            Step::Create => {
                ui.info(format!("StackSet {}: creating", t.name));
                stack_set::create(aws, t, owner, parameters).await?;
                continue;
            }
            Step::Delete => {
                stack_set::delete(aws, t).await?;
                ui.info(format!("StackSet {}: deleted", t.name));
                continue;
            }
            Step::Update(regions) => stack_set::update(aws, t, parameters, regions).await?,
            Step::AddRegions(regions) => stack_set::add_regions(aws, t, regions).await?,
            Step::RemoveRegions(regions) => stack_set::remove_regions(aws, t, regions).await?,
        };
        let doing = match step {
            Step::Update(_) => "Updating",
            Step::AddRegions(_) => "Deploying",
            _ => "Removing",
        };
        stack_set::wait(aws, ui, t, &operation, doing).await?;
    }
    Ok(())
}

#[cfg(test)]
mod stack_name_tests {
    use super::*;

    #[test]
    fn the_longest_stack_name_makes_a_64_character_statement_id() {
        let longest = "a".repeat(51);
        assert!(check_stack_name(&longest).is_ok());
        assert_eq!(format!("{longest}-organization").len(), 64);
        let over = "b".repeat(52);
        assert_eq!(
            check_stack_name(&over).unwrap_err().to_string(),
            format!("--organization: the stack name {over} is longer than 51 characters (the bus policy's statement id is <stack-name>-organization, at most 64); choose a shorter --stack-name")
        );
    }
}
