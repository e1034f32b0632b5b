//! The forwarder stacks (`<stack-name>-forwarder`) in other regions: which
//! regions to look in, what is there, and deleting one. Every region at once.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::task::JoinSet;

use crate::aws::account_regions;
use crate::aws::stack::{self, StackInfo};
use crate::aws::Aws;
use crate::regions::{self, RegionsSpec};

const POLL: Duration = Duration::from_secs(1);

/// A forwarder stack as found in its region.
#[derive(Debug, Clone)]
pub struct Found {
    pub stack: StackInfo,
    /// The deployed template is the embedded forwarder template.
    pub same_template: bool,
}

/// The forwarder regions of `spec` (asking `ListRegions` only for `all`),
/// and whether the global-events region was added for Health.
pub async fn regions_of(
    aws: &Aws,
    home: &str,
    spec: &RegionsSpec,
    health_on: bool,
) -> Result<(Vec<String>, bool)> {
    let enabled = match spec {
        RegionsSpec::All => account_regions::enabled(aws).await?,
        _ => Vec::new(),
    };
    regions::forwarder_regions(home, spec, &enabled, health_on)
}

/// The forwarder stack in each of `regions` that has one (deleted stacks
/// left out).
pub async fn find(
    aws: &Aws,
    stack_name: &str,
    regions: &[String],
) -> Result<BTreeMap<String, Found>> {
    let name = regions::forwarder_stack_name(stack_name);
    let mut tasks = JoinSet::new();
    for region in regions {
        let (aws, name, region) = (aws.in_region(region), name.clone(), region.clone());
        tasks.spawn(async move {
            let found = find_one(&aws, &name).await;
            (region, found)
        });
    }
    let mut out = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (region, found) = joined.context("a region's lookup stopped")?;
        if let Some(f) = found.with_context(|| format!("looking for {name} in {region}"))? {
            out.insert(region, f);
        }
    }
    Ok(out)
}

async fn find_one(aws: &Aws, name: &str) -> Result<Option<Found>> {
    let Some(stack) = stack::describe(aws, name).await? else {
        return Ok(None);
    };
    if stack.status == "DELETE_COMPLETE" {
        return Ok(None);
    }
    let body = stack::template_body(aws, &stack.id).await?;
    Ok(Some(Found {
        same_template: body.as_deref() == Some(stack::FORWARDER_TEMPLATE),
        stack,
    }))
}

/// Deletes the stack `id` in `aws`'s region and waits until it is gone.
pub async fn delete(aws: &Aws, id: &str, region: &str) -> Result<()> {
    stack::delete_stack(aws, id)
        .await
        .with_context(|| format!("{region}: deleting the forwarder"))?;
    loop {
        let status = stack::describe(aws, id)
            .await?
            .map(|s| s.status)
            .unwrap_or_else(|| "DELETE_COMPLETE".to_string());
        match status.as_str() {
            "DELETE_COMPLETE" => return Ok(()),
            "DELETE_FAILED" => bail!(
                "{region}: the forwarder stack could not be deleted (DELETE_FAILED); see the CloudFormation console of {region}"
            ),
            _ => tokio::time::sleep(POLL).await,
        }
    }
}
