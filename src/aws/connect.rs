//! Loading the SDK config for a command: region and credentials are checked
//! before the first call, so a missing one is one clear line.

use anyhow::Result;
use aws_sdk_sts::config::ProvideCredentials;

use crate::aws::{Aws, AwsOptions};
use crate::errors;
use crate::regions::name as region;
use crate::term::prompt;

/// What `connect` needs from the global flags, as plain data: `aws` never
/// imports the clap definition (`commands::connect_options` fills it).
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub allow_unknown_region: bool,
}

/// Loads the SDK config once and checks, before any call, that there is a
/// region (asking for one at a terminal) and credentials.
pub async fn connect(
    global: &ConnectOptions,
    stored_region: Option<String>,
    interactive: bool,
) -> Result<Aws> {
    let check = |r: &str| match global.allow_unknown_region {
        true => region::validate(r),
        false => region::check_known(r),
    };
    if let Some(r) = &global.region {
        check(r).map_err(|e| anyhow::anyhow!("invalid --region: {e}"))?;
    }
    check_profile(global.profile.as_deref()).await?;
    let mut opts = AwsOptions {
        profile: global.profile.clone(),
        region: global.region.clone().or(stored_region),
    };
    let mut aws = Aws::load(&opts).await;
    if let Some(r) = aws.region() {
        // From dingtalk-notifier.toml, AWS_REGION or the profile.
        check(r).map_err(|e| anyhow::anyhow!("invalid AWS region: {e}"))?;
    }
    if aws.region().is_none() {
        if !interactive {
            anyhow::bail!(errors::NO_REGION);
        }
        let region = prompt::text("AWS region", Some("ap-southeast-1"), check)?;
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

/// A named profile (`--profile`, else AWS_PROFILE) that is in neither the
/// config nor the credentials file is said to be missing. The SDK would
/// carry on without it and fail later on the region or the credentials,
/// pointing at AWS_PROFILE. Files that do not parse are left to the SDK.
async fn check_profile(flag: Option<&str>) -> Result<()> {
    use aws_runtime::env_config::file::EnvConfigFiles;
    use aws_types::os_shim_internal::{Env, Fs};
    let env = std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty());
    let (name, named_by) = match (flag, env) {
        (Some(p), _) => (p.to_string(), "--profile"),
        (None, Some(p)) => (p, "AWS_PROFILE"),
        (None, None) => return Ok(()),
    };
    if name == "default" {
        return Ok(());
    }
    let files = EnvConfigFiles::default();
    let Ok(set) = aws_config::profile::load(&Fs::real(), &Env::real(), &files, None).await else {
        return Ok(());
    };
    if set.get_profile(&name).is_some() {
        return Ok(());
    }
    anyhow::bail!(errors::missing_profile(&name, named_by))
}

pub fn validate_region(s: &str) -> Result<(), String> {
    region::validate(s)
}
