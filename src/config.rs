//! `dingtalk-notifier.toml`: the non-secret answers of `deploy`, remembered in
//! the working directory (like `samconfig.toml`) so the next deploy asks
//! nothing. Flags and environment variables win over the file. The webhook URL
//! and signing secret are not fields here, so they cannot be written.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

pub const FILE_NAME: &str = "dingtalk-notifier.toml";

const HEADER: &str = "\
# dingtalk-notifier.toml: answers remembered by `dingtalk-notifier deploy`.
# Edit freely; command-line flags and DINGTALK_* environment variables win over
# these values. Secrets (webhook URL, signing secret) are never written here:
# they live in AWS Secrets Manager as dingtalk-notifier/<stack>/webhook.
";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub deploy: DeployConfig,
}

/// Every field is optional: a missing one is asked for (or defaulted).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeployConfig {
    /// Enabled rules: `health`, `health-abuse`, `ec2`, `alarm`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ec2_states: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm_states: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_model_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_system_prompt_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_concurrency: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_retention: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_prefix: Option<String>,
    /// Only written when on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debug_logs: Option<bool>,
    /// `signature`, `keywords` or `ip-allow-list`, once chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub robot_security: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_mobiles: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_all_on: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_any_host: Option<bool>,
    /// ARN of the function role's permissions boundary (empty = none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<String>,
    /// Set by deploy when the default artifact bucket name belongs to
    /// another account: the random-suffix bucket used instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_bucket: Option<String>,
}

pub fn default_path() -> PathBuf {
    PathBuf::from(FILE_NAME)
}

/// `Ok(None)` when the file does not exist.
pub fn load(path: &Path) -> Result<Option<ConfigFile>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    parse(&text)
        .map(Some)
        .with_context(|| format!("{} is not valid; fix or delete it", path.display()))
}

pub fn parse(text: &str) -> Result<ConfigFile> {
    Ok(toml::from_str(text)?)
}

pub fn render(config: &ConfigFile) -> Result<String> {
    let body = toml::to_string(config).context("serialising the configuration")?;
    Ok(format!("{HEADER}\n{body}"))
}

pub fn save(path: &Path, config: &ConfigFile) -> Result<()> {
    let text = render(config)?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ConfigFile {
        ConfigFile {
            stack_name: Some("alerts".into()),
            region: Some("ap-southeast-1".into()),
            deploy: DeployConfig {
                rules: Some(vec!["health".into(), "alarm".into()]),
                alarm_states: Some("ALARM,OK".into()),
                llm: Some(true),
                llm_model_id: Some("amazon.nova-lite-v1:0".into()),
                llm_temperature: Some(0.2),
                architecture: Some("arm64".into()),
                memory: Some(256),
                reserved_concurrency: Some(-1),
                at_mobiles: Some(vec!["13800000000".into()]),
                keyword: Some("告警".into()),
                ..DeployConfig::default()
            },
        }
    }

    #[test]
    fn round_trip() {
        let cfg = sample();
        let text = render(&cfg).unwrap();
        assert!(text.starts_with("# dingtalk-notifier.toml"));
        assert_eq!(parse(&text).unwrap(), cfg);
    }

    #[test]
    fn renders_only_set_fields() {
        let text = render(&sample()).unwrap();
        let body = text.split_once("\n\n").unwrap().1;
        assert_eq!(
            body,
            "stack_name = \"alerts\"\nregion = \"ap-southeast-1\"\n\n[deploy]\n\
             rules = [\"health\", \"alarm\"]\nalarm_states = \"ALARM,OK\"\nllm = true\n\
             llm_model_id = \"amazon.nova-lite-v1:0\"\nllm_temperature = 0.2\n\
             architecture = \"arm64\"\nmemory = 256\nreserved_concurrency = -1\n\
             at_mobiles = [\"13800000000\"]\nkeyword = \"告警\"\n"
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = parse("[deploy]\nmemroy = 512\n").unwrap_err();
        assert!(err.to_string().contains("memroy"), "{err}");
    }

    #[test]
    fn missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(&dir.path().join(FILE_NAME)).unwrap(), None);
        save(&dir.path().join(FILE_NAME), &sample()).unwrap();
        assert_eq!(load(&dir.path().join(FILE_NAME)).unwrap(), Some(sample()));
    }
}
