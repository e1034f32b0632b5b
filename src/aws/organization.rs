//! AWS Organizations for `deploy --organization` (docs/design.md, "Many
//! accounts"): the organization, who the caller is in it (the management
//! account or a delegated administrator, hence the StackSet calls' `CallAs`),
//! its root (the StackSet's deployment target) and its accounts' names.

use anyhow::{bail, Context, Result};
use aws_sdk_cloudformation::types::CallAs;

use crate::aws::artifacts::caller_account;
use crate::aws::Aws;
use crate::errors::{has_code, AwsResultExt};

/// The service principal a delegated administrator is registered for.
pub const STACKSETS_PRINCIPAL: &str = "member.org.stacksets.cloudformation.amazonaws.com";

/// The caller's place in its organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgCaller {
    pub organization_id: String,
    pub management_account: String,
    /// The caller's account: the home account.
    pub account: String,
    /// The organization's root (`r-…`): every account is under it.
    pub root_id: String,
}

impl OrgCaller {
    /// `SELF` from the management account, else `DELEGATED_ADMIN`.
    pub fn call_as(&self) -> CallAs {
        match self.account == self.management_account {
            true => CallAs::SelfValue,
            false => CallAs::DelegatedAdmin,
        }
    }
}

/// What to do when the caller may not manage the organization's StackSets.
/// Why ListRoots was refused: the management account lacks the permission;
/// any other account lacks the delegation (or the permission: the fix for
/// the delegation comes first).
pub fn not_allowed(account: &str, management: &str) -> String {
    if account == management {
        return format!(
            "--organization: the management account {account} may not call organizations:ListRoots: \
             attach the dingtalk-notifier-organization policy (docs/iam-deploy-policy.json) to the caller"
        );
    }
    format!(
        "--organization: account {account} is neither the organization's management account ({management}) \
         nor a delegated administrator for StackSets: run from the management account, or register this one there \
         with `aws organizations register-delegated-administrator --service-principal {STACKSETS_PRINCIPAL} --account-id {account}`"
    )
}

/// DescribeOrganization, then ListRoots (refused to a plain member).
pub async fn caller(aws: &Aws) -> Result<OrgCaller> {
    let account = caller_account(aws).await?;
    let described = aws
        .organizations
        .describe_organization()
        .send()
        .await
        .aws("organizations:DescribeOrganization");
    let org = match described {
        Ok(out) => out.organization.context(
            "organizations:DescribeOrganization returned no organization",
        )?,
        Err(e) if has_code(&e, &["AWSOrganizationsNotInUseException"]) => bail!(
            "--organization: account {account} is not in an AWS Organization; deploy without --organization, or join one"
        ),
        Err(e) => return Err(e.context("--organization: reading the organization")),
    };
    let management = org.master_account_id().unwrap_or_default().to_string();
    let roots = aws
        .organizations
        .list_roots()
        .send()
        .await
        .aws("organizations:ListRoots");
    let root_id = match roots {
        Ok(out) => out
            .roots()
            .first()
            .and_then(|r| r.id())
            .map(str::to_string)
            .context("organizations:ListRoots returned no root")?,
        Err(e) if has_code(&e, &["AccessDeniedException"]) => {
            bail!(not_allowed(&account, &management))
        }
        Err(e) => return Err(e.context("--organization: reading the organization's root")),
    };
    Ok(OrgCaller {
        organization_id: org.id().unwrap_or_default().to_string(),
        management_account: management,
        account,
        root_id,
    })
}

/// Every account of the organization (ListAccounts, every page), as (id, name).
pub async fn accounts(aws: &Aws) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut pages = aws.organizations.list_accounts().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page
            .aws("organizations:ListAccounts")
            .context("--organization: listing the organization's accounts")?;
        out.extend(page.accounts().iter().filter_map(|a| {
            Some((
                a.id()?.to_string(),
                a.name().unwrap_or_default().to_string(),
            ))
        }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(account: &str) -> OrgCaller {
        OrgCaller {
            organization_id: "o-a1b2c3d4e5".into(),
            management_account: "111111111111".into(),
            account: account.into(),
            root_id: "r-ab12".into(),
        }
    }

    #[test]
    fn the_management_account_calls_as_itself_anyone_else_as_delegated_admin() {
        assert_eq!(caller("111111111111").call_as(), CallAs::SelfValue);
        assert_eq!(caller("222222222222").call_as(), CallAs::DelegatedAdmin);
    }

    #[test]
    fn a_member_without_the_delegation_is_told_the_command() {
        assert_eq!(
            not_allowed("222222222222", "111111111111"),
            "--organization: account 222222222222 is neither the organization's management account (111111111111) \
             nor a delegated administrator for StackSets: run from the management account, or register this one there \
             with `aws organizations register-delegated-administrator --service-principal member.org.stacksets.cloudformation.amazonaws.com --account-id 222222222222`"
        );
        assert_eq!(
            not_allowed("111111111111", "111111111111"),
            "--organization: the management account 111111111111 may not call organizations:ListRoots: \
             attach the dingtalk-notifier-organization policy (docs/iam-deploy-policy.json) to the caller"
        );
    }
}
