//! The webhooks of the robots `dingtalk-notifier.toml` names besides
//! `default` (`[robots.NAME]`): a robot the stored secret already has is
//! kept (its keyword follows the toml); a new one is asked for as the first
//! robot is (webhook hidden, then the security setting and what it needs),
//! or read from `DINGTALK_WEBHOOK_URL_<NAME>` / `DINGTALK_SECRET_<NAME>`
//! without a terminal. Never flags: a webhook in process arguments ends up
//! in shell history and `ps`.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use dingtalk_notifier_lambda::routing::DEFAULT_ROBOT;
use dingtalk_notifier_lambda::secret::{SecretDoc, WebhookConfig};

use crate::aws::secret;
use crate::config::{ConfigFile, RobotConfig};
use crate::robot_security::RobotSecurity;
use crate::term::output::Ui;
use crate::term::prompt;

/// Pure: the environment variables of robot `name` (`security-cn` →
/// `DINGTALK_WEBHOOK_URL_SECURITY_CN`, `DINGTALK_SECRET_SECURITY_CN`).
pub fn env_names(name: &str) -> (String, String) {
    let key = name.to_ascii_uppercase().replace('-', "_");
    (
        format!("DINGTALK_WEBHOOK_URL_{key}"),
        format!("DINGTALK_SECRET_{key}"),
    )
}

/// The named robots to write into the secret: new ones (asked or from the
/// environment) and stored ones whose keyword changed in the toml.
pub fn gather(
    ui: &Ui,
    file: &ConfigFile,
    stored: Option<&str>,
    any_host: bool,
    env: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, WebhookConfig>> {
    let stored = stored.and_then(|v| SecretDoc::parse(v).ok());
    let mut out = BTreeMap::new();
    for (name, robot) in file.robots.iter().filter(|(n, _)| *n != DEFAULT_ROBOT) {
        let keyword = robot.keyword.clone().filter(|k| !k.trim().is_empty());
        match stored.as_ref().and_then(|d| d.robots.get(name)) {
            Some(have) if have.keyword == keyword || keyword.is_none() => {}
            Some(have) => {
                let mut changed = (**have).clone();
                changed.keyword = keyword;
                out.insert(name.clone(), changed);
            }
            None => {
                let cfg = new_robot(ui, name, robot, keyword, any_host, &env)?;
                out.insert(name.clone(), cfg);
            }
        }
    }
    Ok(out)
}

/// A robot the secret does not have yet.
fn new_robot(
    ui: &Ui,
    name: &str,
    robot: &RobotConfig,
    keyword: Option<String>,
    any_host: bool,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<WebhookConfig> {
    let (url_var, secret_var) = env_names(name);
    let security: Option<RobotSecurity> = match &robot.security {
        Some(s) => Some(
            s.parse()
                .map_err(|e| anyhow::anyhow!("[robots.{name}] security: {e}"))?,
        ),
        None => None,
    };
    let from_env = |v: &str| env(v).filter(|s| !s.trim().is_empty());
    let url = match from_env(&url_var) {
        Some(url) => {
            secret::validate_webhook_url(&url, any_host)
                .map_err(|e| anyhow::anyhow!("invalid {url_var}: {e}"))?;
            url.trim().to_string()
        }
        None if ui.interactive => prompt::secret(
            &format!("Webhook URL of robot `{name}` (input hidden)"),
            false,
            |s| secret::validate_webhook_url(s, any_host),
        )?,
        None => bail!(
            "robot `{name}` has no webhook yet: set {url_var} (and {secret_var} for a 加签 robot), or run deploy in a terminal"
        ),
    };
    let signing = match from_env(&secret_var) {
        Some(s) => {
            secret::validate_signing_secret(&s)
                .map_err(|e| anyhow::anyhow!("invalid {secret_var}: {e}"))?;
            Some(s.trim().to_string())
        }
        None => None,
    };
    let security = match (security, signing.is_some()) {
        (Some(s), _) => s,
        (None, true) => RobotSecurity::Signature,
        (None, false) if ui.interactive => {
            let labels: Vec<&str> = RobotSecurity::ALL.iter().map(|s| s.label()).collect();
            RobotSecurity::ALL[prompt::choose(
                &format!("Security setting of robot `{name}` (as shown in DingTalk)"),
                &labels,
                0,
            )?]
        }
        (None, false) => bail!(
            "robot `{name}`: say its security setting with security = \"signature\", \"keywords\" or \"ip-allow-list\" in [robots.{name}]"
        ),
    };
    let signing = match (security, signing) {
        (RobotSecurity::Signature, None) if ui.interactive => Some(prompt::required_secret(
            &format!("Signing secret of robot `{name}`, SEC... (input hidden)"),
            super::answers::SIGNING_SECRET_NEEDED,
            secret::validate_signing_secret,
        )?),
        (RobotSecurity::Signature, None) => {
            bail!("robot `{name}` uses 加签 (signature): set {secret_var}")
        }
        (_, s) => s,
    };
    if security == RobotSecurity::Keywords && keyword.is_none() {
        bail!("robot `{name}` uses custom keywords: add keyword = \"...\" to [robots.{name}]");
    }
    if security == RobotSecurity::IpAllowList {
        ui.warn(format!("robot `{name}` uses an IP allow-list: Lambda has no fixed egress IP outside a VPC with NAT, so DingTalk may refuse it"));
    }
    WebhookConfig::parse(
        &serde_json::json!({"webhook": url, "secret": signing, "keyword": keyword}).to_string(),
    )
    .map_err(|e| anyhow::anyhow!("robot `{name}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://oapi.dingtalk.com/robot/send?access_token=tok123secret";
    const SEC: &str = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd";

    fn file(text: &str) -> ConfigFile {
        crate::config::parse(text).unwrap()
    }

    fn ui() -> Ui {
        Ui::for_tests()
    }

    #[test]
    fn env_names_follow_the_robot_name() {
        assert_eq!(
            env_names("security-cn"),
            (
                "DINGTALK_WEBHOOK_URL_SECURITY_CN".to_string(),
                "DINGTALK_SECRET_SECURITY_CN".to_string()
            )
        );
    }

    #[test]
    fn a_new_robot_comes_from_the_environment_without_a_terminal() {
        let f = file("[robots.security]\nsecurity = \"signature\"\n");
        let env = |k: &str| match k {
            "DINGTALK_WEBHOOK_URL_SECURITY" => Some(URL.to_string()),
            "DINGTALK_SECRET_SECURITY" => Some(SEC.to_string()),
            _ => None,
        };
        let got = gather(&ui(), &f, Some(URL), false, env).unwrap();
        assert_eq!(got["security"].webhook, URL);
        assert_eq!(got["security"].secret.as_deref(), Some(SEC));
    }

    #[test]
    fn a_missing_webhook_says_which_variable_to_set() {
        let f = file("[robots.security]\nsecurity = \"signature\"\n");
        let e = gather(&ui(), &f, Some(URL), false, |_| None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "robot `security` has no webhook yet: set DINGTALK_WEBHOOK_URL_SECURITY (and DINGTALK_SECRET_SECURITY for a 加签 robot), or run deploy in a terminal"
        );
        let signed_without_secret =
            |k: &str| (k == "DINGTALK_WEBHOOK_URL_SECURITY").then(|| URL.to_string());
        let e = gather(&ui(), &f, None, false, signed_without_secret)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "robot `security` uses 加签 (signature): set DINGTALK_SECRET_SECURITY"
        );
        // The error never shows the value.
        let bad =
            |k: &str| (k == "DINGTALK_WEBHOOK_URL_SECURITY").then(|| "tok123secret".to_string());
        let e = gather(&ui(), &f, None, false, bad).unwrap_err().to_string();
        assert!(!e.contains("tok123secret"), "{e}");
    }

    #[test]
    fn a_stored_robot_is_kept_and_follows_the_toml_keyword() {
        let stored = format!(
            r#"{{"robots":{{"default":{{"webhook":"{URL}"}},"security":{{"webhook":"{URL}","keyword":"old"}}}}}}"#
        );
        let same = file("[robots.security]\nkeyword = \"old\"\n");
        assert!(gather(&ui(), &same, Some(&stored), false, |_| None)
            .unwrap()
            .is_empty());
        let changed = file("[robots.security]\nkeyword = \"告警\"\n");
        let got = gather(&ui(), &changed, Some(&stored), false, |_| None).unwrap();
        assert_eq!(got["security"].keyword.as_deref(), Some("告警"));
        assert_eq!(got["security"].webhook, URL);
    }
}
