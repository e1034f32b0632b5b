//! Loading the SDK config for a command: region and credentials are checked
//! before the first call, so a missing one is one clear line.

use anyhow::Result;
use aws_sdk_sts::config::ProvideCredentials;

use crate::aws::{Aws, AwsOptions};
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
    let mut opts = AwsOptions {
        profile: global.profile.clone(),
        region: global.region.clone().or(stored_region),
    };
    let mut aws = Aws::load(&opts).await;
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
        use aws_credential_types::provider::error::CredentialsError;
        return Err(match e {
            CredentialsError::CredentialsNotLoaded(_) => anyhow::anyhow!(errors::NO_CREDENTIALS),
            other => anyhow::anyhow!(
                "could not load AWS credentials: {}",
                aws_sdk_sts::error::DisplayErrorContext(&other)
            ),
        });
    }
    Ok(aws)
}

pub fn validate_region(s: &str) -> Result<(), String> {
    let parts: Vec<&str> = s.split('-').collect();
    let ok = parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not an AWS region name (e.g. ap-southeast-1)"
        ))
    }
}
