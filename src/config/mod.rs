//! `dingtalk-notifier.toml`: the non-secret answers of `deploy`, remembered in
//! the working directory (like `samconfig.toml`) so the next deploy asks
//! nothing. Flags and environment variables win over the file. The webhook URL
//! and signing secret are not fields here, so they cannot be written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

pub mod options;
pub use options::DeployOptions;

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
    /// Regions with a forwarder stack (`deploy --regions`), or `["all"]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<String>>,
    /// `deploy --organization`: the forwarders' StackSet in every member
    /// account. Written only when on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<bool>,
    /// `[deploy]`: one key per deploy option, named as its field.
    pub deploy: DeployOptions,
    /// `[robots.NAME]`: the robots alerts may go to (their webhooks live in
    /// the secret, never here). `default` exists without a section.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub robots: BTreeMap<String, RobotConfig>,
    /// `[[routes]]` as written; [`crate::routes::read`] checks and types
    /// them, so an error can name the route by its number.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<toml::Table>,
}

/// One `[robots.NAME]` section: non-secret settings of a robot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RobotConfig {
    /// `signature`, `keywords` or `ip-allow-list`, once chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security: Option<String>,
    /// The robot's custom keyword (keywords security setting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
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
    let file = parse(&text)
        .map_err(|e| anyhow::anyhow!("{} is not valid at {e}; fix or delete it", path.display()))?;
    crate::routes::read(&file).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(Some(file))
}

/// Where and why dingtalk-notifier.toml could not be read. Deliberately not
/// the TOML parser's own rendering: that quotes the offending source line,
/// and a webhook pasted into the file would appear on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for SyntaxError {}

pub fn parse(text: &str) -> Result<ConfigFile, SyntaxError> {
    toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        let (line, column) = line_and_column(text, offset);
        SyntaxError {
            line,
            column,
            message: redact_quoted(e.message()),
        }
    })
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The parser's message on one line, without the values it quotes: serde
/// says `invalid type: string "https://...access_token=...", expected u32`.
pub(crate) fn redact_quoted(message: &str) -> String {
    let one_line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(one_line.len());
    let mut quoted = false;
    for c in one_line.chars() {
        match (c, quoted) {
            ('"', false) => {
                quoted = true;
                out.push_str("\"…");
            }
            ('"', true) => {
                quoted = false;
                out.push('"');
            }
            (c, false) => out.push(c),
            (_, true) => {}
        }
    }
    if quoted {
        out.push('"');
    }
    out
}

/// `llm_system_prompt_file` as written in the file: only a relative path
/// inside the file's own directory. The prompt's text goes into a plaintext
/// stack parameter and the function's environment, so a checked-in or
/// copied toml must not be able to point at `~/.aws/credentials`. A path
/// given on the command line is the user's own choice and is not checked.
pub fn prompt_file_in_config_dir(config_path: &Path, stored: &Path) -> Result<PathBuf> {
    use std::path::Component;
    let outside = || {
        anyhow::anyhow!(
            "invalid llm_system_prompt_file in {}: `{}` is not inside its directory; \
             use a relative path such as prompts/system.txt, or pass --llm-system-prompt-file",
            config_path.display(),
            stored.display()
        )
    };
    let relative_inside = stored
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        && !stored.to_string_lossy().starts_with('~')
        && stored.components().next().is_some();
    if !relative_inside {
        return Err(outside());
    }
    let dir = match config_path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let joined = dir.join(stored);
    let real = joined.canonicalize().with_context(|| {
        format!(
            "llm_system_prompt_file in {}: cannot read {}",
            config_path.display(),
            joined.display()
        )
    })?;
    let real_dir = dir
        .canonicalize()
        .with_context(|| format!("reading the directory of {}", config_path.display()))?;
    // A symbolic link inside the directory may point anywhere.
    if !real.starts_with(&real_dir) {
        return Err(outside());
    }
    Ok(joined)
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
            regions: Some(vec!["us-east-1".into(), "us-west-2".into()]),
            organization: Some(true),
            robots: BTreeMap::new(),
            routes: Vec::new(),
            deploy: DeployOptions {
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
                ..DeployOptions::default()
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
            "stack_name = \"alerts\"\nregion = \"ap-southeast-1\"\n\
             regions = [\"us-east-1\", \"us-west-2\"]\norganization = true\n\n[deploy]\n\
             rules = [\"health\", \"alarm\"]\nalarm_states = \"ALARM,OK\"\nllm = true\n\
             llm_model_id = \"amazon.nova-lite-v1:0\"\nllm_temperature = 0.2\n\
             architecture = \"arm64\"\nmemory = 256\nreserved_concurrency = -1\n\
             at_mobiles = [\"13800000000\"]\nkeyword = \"告警\"\n"
        );
    }

    #[test]
    fn robot_security_reads_as_the_flag_does_and_writes_its_key() {
        let file = parse("[deploy]\nrobot_security = \"加签\"\n").unwrap();
        assert_eq!(
            file.deploy.robot_security,
            Some(crate::robot_security::RobotSecurity::Signature)
        );
        assert!(render(&file)
            .unwrap()
            .ends_with("[deploy]\nrobot_security = \"signature\"\n"));
        let err = parse("[deploy]\nrobot_security = \"ip-only\"\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2, column 18: robot_security must be signature, keywords or ip-allow-list"
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = parse("[deploy]\nmemroy = 512\n").unwrap_err();
        assert!(err.to_string().contains("memroy"), "{err}");
        assert_eq!((err.line, err.column), (2, 1));
    }

    const TOKEN: &str = "tok3n5ecretvalue0123456789abcdef";

    #[test]
    fn a_pasted_webhook_is_never_quoted_back() {
        let unquoted = format!(
            "[deploy]\nwebhook = https://oapi.dingtalk.com/robot/send?access_token={TOKEN}\n"
        );
        let err = parse(&unquoted).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2, column 60: unexpected key or value, expected newline, `#`"
        );
        let wrong_type = format!(
            "[deploy]\nmemory = \"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}\"\n"
        );
        let err = parse(&wrong_type).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2, column 10: invalid type: string \"…\", expected u32"
        );
    }

    #[test]
    fn the_prompt_file_must_stay_inside_the_config_dir() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join(FILE_NAME);
        std::fs::create_dir(dir.path().join("prompts")).unwrap();
        std::fs::write(dir.path().join("prompts/system.txt"), "be brief").unwrap();
        assert_eq!(
            prompt_file_in_config_dir(&cfg, Path::new("prompts/system.txt")).unwrap(),
            dir.path().join("prompts/system.txt")
        );
        let outside = |p: &str| {
            format!(
                "invalid llm_system_prompt_file in {}: `{p}` is not inside its directory; \
                 use a relative path such as prompts/system.txt, or pass --llm-system-prompt-file",
                cfg.display()
            )
        };
        for p in [
            "~/.aws/credentials",
            "/etc/passwd",
            "../secret.txt",
            "prompts/../../x",
        ] {
            let err = prompt_file_in_config_dir(&cfg, Path::new(p)).unwrap_err();
            assert_eq!(err.to_string(), outside(p));
        }
        #[cfg(unix)]
        {
            let elsewhere = tempfile::tempdir().unwrap();
            std::fs::write(elsewhere.path().join("credentials"), "[default]").unwrap();
            std::os::unix::fs::symlink(
                elsewhere.path().join("credentials"),
                dir.path().join("link.txt"),
            )
            .unwrap();
            let err = prompt_file_in_config_dir(&cfg, Path::new("link.txt")).unwrap_err();
            assert_eq!(err.to_string(), outside("link.txt"));
        }
    }

    #[test]
    fn missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(&dir.path().join(FILE_NAME)).unwrap(), None);
        save(&dir.path().join(FILE_NAME), &sample()).unwrap();
        assert_eq!(load(&dir.path().join(FILE_NAME)).unwrap(), Some(sample()));
    }
}
