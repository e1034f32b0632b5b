//! The regions enabled for the account (`deploy --regions all`), from the
//! Account Management API's `ListRegions`: it lists the caller's partition
//! only, with each region's opt-in status.

use anyhow::{Context, Result};
use aws_sdk_account::types::RegionOptStatus;

use crate::aws::Aws;
use crate::errors::AwsResultExt;

/// Every region that is enabled (by default or opted in), every page.
pub async fn enabled(aws: &Aws) -> Result<Vec<String>> {
    let mut pages = aws
        .account
        .list_regions()
        .region_opt_status_contains(RegionOptStatus::EnabledByDefault)
        .region_opt_status_contains(RegionOptStatus::Enabled)
        .max_results(50)
        .into_paginator()
        .send();
    let mut regions = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page
            .aws("account:ListRegions")
            .context("listing the account's enabled regions for --regions all")?;
        regions.extend(
            page.regions()
                .iter()
                .filter_map(|r| r.region_name().map(str::to_string)),
        );
    }
    regions.sort();
    Ok(regions)
}
