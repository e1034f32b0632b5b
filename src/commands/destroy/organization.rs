//! `destroy` for `deploy --organization` (docs/design.md, "Many accounts"):
//! the StackSet's instances first (their stacks go with them), then the
//! StackSet; the bus policy goes with the home stack.

use anyhow::{Context, Result};

use crate::aws::organization;
use crate::aws::stack::StackInfo;
use crate::aws::stack_set::{self, Target};
use crate::aws::Aws;
use crate::commands::organization_was_on;
use crate::term::output::Ui;

/// The StackSet to delete and the regions it has instances in.
pub struct Teardown {
    pub target: Target,
    pub regions: Vec<String>,
    pub instances: usize,
}

/// `None` unless [`organization_was_on`] and the StackSet exists. One that is not ours
/// stops the destroy.
pub async fn find(
    aws: &Aws,
    stack_name: &str,
    stack: Option<&StackInfo>,
) -> Result<Option<Teardown>> {
    if !organization_was_on(stack)? {
        return Ok(None);
    }
    let caller = organization::caller(aws).await?;
    let region = aws.region().context(crate::errors::NO_REGION)?;
    let mut target = Target::new(stack_name, &caller);
    let set = match stack_set::describe(aws, &target).await? {
        Some(set) => set,
        None => {
            // Deployed by an earlier version: the name without the account.
            target = Target::legacy(stack_name, &caller);
            match stack_set::describe(aws, &target).await? {
                Some(set) => set,
                None => return Ok(None),
            }
        }
    };
    set.check_owner(&target.name, &caller.account, region)
        .context("not deleting it")?;
    let instances = stack_set::instances(aws, &target).await?;
    let mut regions: Vec<String> = instances.iter().map(|i| i.region.clone()).collect();
    regions.dedup();
    Ok(Some(Teardown {
        target,
        regions,
        instances: instances.len(),
    }))
}

/// DeleteStackInstances (every region, RetainStacks false), wait, DeleteStackSet.
pub async fn delete(aws: &Aws, ui: &Ui, t: &Teardown) -> Result<()> {
    ui.step(format!("Deleting StackSet {}", t.target.name));
    if !t.regions.is_empty() {
        let operation = stack_set::remove_regions(aws, &t.target, &t.regions).await?;
        stack_set::wait(aws, ui, &t.target, &operation, "Removing").await?;
    }
    stack_set::delete(aws, &t.target).await?;
    ui.info(format!("StackSet {}: deleted", t.target.name));
    Ok(())
}
