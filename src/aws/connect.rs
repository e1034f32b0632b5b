//! Loading the SDK config for a command: region and credentials are checked
//! before the first call, so a missing one is one clear line.

use anyhow::Result;
use aws_sdk_sts::config::ProvideCredentials;

use crate::aws::{region, Aws, AwsOptions};
use crate::cli::GlobalArgs;
use crate::errors;
use crate::term::prompt;

/// Loads the SDK config once and checks, before any call, that there is a
/// region (asking for one at a terminal) and credentials.
pub async fn connect(
    global: &GlobalArgs,
    stored_region: Option<String>,
    interactive: bool,
) -> Result<Aws> {
    if let Some(r) = &global.region {
        region::validate(r).map_err(|e| anyhow::anyhow!("invalid --region: {e}"))?;
    }
    let mut opts = AwsOptions {
        profile: global.profile.clone(),
        region: global.region.clone().or(stored_region),
    };
    let mut aws = Aws::load(&opts).await;
    if let Some(r) = aws.region() {
        // From dingtalk-notifier.toml, AWS_REGION or the profile.
        region::validate(r).map_err(|e| anyhow::anyhow!("invalid AWS region: {e}"))?;
    }
    if aws.region().is_none() {
        if !interactive {
            anyhow::bail!(errors::NO_REGION);
        }
        let region = prompt::text("AWS region", Some("ap-southeast-1"), validate_region)?;
        opts.region = Some(region);
        aws = Aws::load(&opts).await;
    }
    let Some(provider) = aws.config.credentials_provider() else {
        anyhow::bail!(errors::NO_CREDENTIALS);
    };
    if let Err(e) = provider.provide_credentials().await {
        anyhow::bail!(errors::credentials_line(&e, global.profile.as_deref()));
    }
    Ok(aws)
}

pub fn validate_region(s: &str) -> Result<(), String> {
    crate::aws::region::validate(s)
}
