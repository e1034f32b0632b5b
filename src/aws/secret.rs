//! The CLI side of the webhook secret: validating what the user typed, and
//! creating/updating/deleting `dingtalk-notifier/<stack>/webhook`.
//!
//! Nothing here formats a webhook, token or signing secret into a message:
//! validation errors describe the problem, never the value.

use anyhow::{Context, Result};
use aws_sdk_secretsmanager::types::Tag;
use dingtalk_notifier_lambda::webhook_host::{self, AllowedHosts, HostRefusal};

use crate::aws::stack::{APP_TAG_KEY, APP_TAG_VALUE, STACK_TAG_KEY};
use crate::aws::Aws;
use crate::errors::{has_code, AwsResultExt};

pub fn secret_name(stack: &str) -> String {
    format!("dingtalk-notifier/{stack}/webhook")
}

/// Checks a robot webhook URL. `any_host` relaxes scheme and host for a relay
/// in front of DingTalk; the token is always required.
pub fn validate_webhook_url(raw: &str, any_host: bool) -> Result<(), String> {
    let url = url::Url::parse(raw.trim()).map_err(|_| {
        "not a URL; copy it from the robot's settings in DingTalk (https://oapi.dingtalk.com/robot/send?access_token=...)".to_string()
    })?;
    if !any_host {
        if url.scheme() != "https" {
            return Err(
                "it must start with https:// (pass --webhook-any-host for an http:// relay or a \
                 local test robot)"
                    .into(),
            );
        }
        if url.host_str() != Some("oapi.dingtalk.com") {
            return Err(
                "its host must be oapi.dingtalk.com (pass --webhook-any-host for a relay)".into(),
            );
        }
    } else {
        // The function's own rule (lambda::webhook_host): https, or http to
        // a relay on a loopback address, where nothing can read it in transit.
        let relay = AllowedHosts::parse(&webhook_host::relay_hosts_for(raw));
        if relay.check(raw) == Err(HostRefusal::NotHttps) {
            return Err(
                "it must start with https:// (http only for a relay on a loopback address)".into(),
            );
        }
    }
    if url.path() != "/robot/send" {
        return Err("its path must be /robot/send".into());
    }
    let has_token = url
        .query_pairs()
        .any(|(k, v)| k == "access_token" && !v.trim().is_empty());
    if !has_token {
        return Err("it has no access_token parameter".into());
    }
    Ok(())
}

/// Robot signing secrets are shown in DingTalk as `SEC` followed by hex.
pub fn validate_signing_secret(raw: &str) -> Result<(), String> {
    let s = raw.trim();
    if !s.starts_with("SEC") || s.len() < 4 {
        return Err(
            "a signing secret starts with SEC (copy it from the robot's security settings)".into(),
        );
    }
    if s.chars().any(char::is_whitespace) {
        return Err("a signing secret contains no spaces".into());
    }
    Ok(())
}

/// A secret that already exists under our name.
#[derive(Clone)]
pub struct ExistingSecret {
    pub arn: String,
    pub tags: Vec<(String, String)>,
    /// Scheduled for deletion (DeleteSecret with a recovery window): it can
    /// be neither read nor written until restored.
    pub scheduled_for_deletion: bool,
    /// A KMS key someone set (`None`: Secrets Manager's own key).
    pub kms_key_id: Option<String>,
}

impl ExistingSecret {
    /// Fails with how to restore the secret when it is scheduled for deletion.
    pub fn ensure_usable(&self, stack: &str) -> Result<()> {
        if self.scheduled_for_deletion {
            let name = secret_name(stack);
            anyhow::bail!(
                "the secret {name} is scheduled for deletion; restore it \
                 (aws secretsmanager restore-secret --secret-id {name}) or wait until it is gone"
            );
        }
        Ok(())
    }

    /// True when our tags say this stack owns the secret.
    pub fn owned_by(&self, stack: &str) -> bool {
        let tag = |k: &str| {
            self.tags
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        tag(APP_TAG_KEY) == Some(APP_TAG_VALUE) && tag(STACK_TAG_KEY) == Some(stack)
    }
}

/// Looks the secret up by name; `None` when it does not exist.
pub async fn find(aws: &Aws, stack: &str) -> Result<Option<ExistingSecret>> {
    let name = secret_name(stack);
    let res = aws
        .secrets
        .describe_secret()
        .secret_id(&name)
        .send()
        .await
        .aws("secretsmanager:DescribeSecret");
    match res {
        Ok(out) => Ok(Some(ExistingSecret {
            arn: out.arn().unwrap_or_default().to_string(),
            tags: out
                .tags()
                .iter()
                .map(|t| {
                    (
                        t.key().unwrap_or_default().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
            scheduled_for_deletion: out.deleted_date().is_some(),
            kms_key_id: out.kms_key_id().map(str::to_string),
        })),
        Err(e) if has_code(&e, &["ResourceNotFoundException"]) => Ok(None),
        Err(e) => Err(e.context(format!("looking up the secret {name}"))),
    }
}

/// The stored value. Callers never print it.
pub async fn read_value(aws: &Aws, arn: &str) -> Result<Option<String>> {
    let out = aws
        .secrets
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .aws("secretsmanager:GetSecretValue")
        .context("reading the stored webhook secret")?;
    Ok(out.secret_string().map(str::to_string))
}

/// Creates the secret with our ownership tags; returns its ARN.
pub async fn create(aws: &Aws, stack: &str, value: &str) -> Result<String> {
    let name = secret_name(stack);
    let out = aws
        .secrets
        .create_secret()
        .name(&name)
        .description(format!(
            "DingTalk robot webhook of the dingtalk-notifier stack {stack} (managed by dingtalk-notifier)"
        ))
        .secret_string(value)
        .tags(Tag::builder().key(APP_TAG_KEY).value(APP_TAG_VALUE).build())
        .tags(Tag::builder().key(STACK_TAG_KEY).value(stack).build())
        .send()
        .await
        .aws("secretsmanager:CreateSecret")
        .with_context(|| format!("creating the secret {name}"))?;
    out.arn()
        .map(str::to_string)
        .with_context(|| format!("Secrets Manager returned no ARN for {name}"))
}

pub async fn put_value(aws: &Aws, arn: &str, value: &str) -> Result<()> {
    aws.secrets
        .put_secret_value()
        .secret_id(arn)
        .secret_string(value)
        .send()
        .await
        .aws("secretsmanager:PutSecretValue")
        .context("updating the webhook secret")?;
    Ok(())
}

/// Deletes immediately (no recovery window), so a re-deploy under the same
/// name works at once.
pub async fn force_delete(aws: &Aws, arn: &str) -> Result<()> {
    aws.secrets
        .delete_secret()
        .secret_id(arn)
        .force_delete_without_recovery(true)
        .send()
        .await
        .aws("secretsmanager:DeleteSecret")
        .context("deleting the webhook secret")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "https://oapi.dingtalk.com/robot/send?access_token=abc123";

    #[test]
    fn accepts_a_robot_url() {
        assert_eq!(validate_webhook_url(GOOD, false), Ok(()));
        assert_eq!(validate_webhook_url(&format!("  {GOOD}  "), false), Ok(()));
    }

    #[test]
    fn rejects_bad_urls_without_echoing_them() {
        let cases = [
            ("oapi.dingtalk.com/robot/send?access_token=abc123", "not a URL; copy it from the robot's settings in DingTalk (https://oapi.dingtalk.com/robot/send?access_token=...)"),
            ("http://oapi.dingtalk.com/robot/send?access_token=abc123", "it must start with https:// (pass --webhook-any-host for an http:// relay or a local test robot)"),
            ("https://example.com/robot/send?access_token=abc123", "its host must be oapi.dingtalk.com (pass --webhook-any-host for a relay)"),
            ("https://oapi.dingtalk.com/robot/sendx?access_token=abc123", "its path must be /robot/send"),
            ("https://oapi.dingtalk.com/robot/send?access_token=", "it has no access_token parameter"),
            ("https://oapi.dingtalk.com/robot/send", "it has no access_token parameter"),
        ];
        for (url, want) in cases {
            let got = validate_webhook_url(url, false).unwrap_err();
            assert_eq!(got, want, "{url}");
            assert!(!got.contains("abc123"));
        }
    }

    #[test]
    fn any_host_needs_https_but_on_loopback() {
        assert_eq!(
            validate_webhook_url("https://relay.example.com/robot/send?access_token=t", true),
            Ok(())
        );
        assert_eq!(
            validate_webhook_url("http://relay.example.com/robot/send?access_token=t", true),
            Err("it must start with https:// (http only for a relay on a loopback address)".into())
        );
    }

    #[test]
    fn any_host_allows_a_local_relay() {
        assert_eq!(
            validate_webhook_url("http://127.0.0.1:8080/robot/send?access_token=t", true),
            Ok(())
        );
        assert_eq!(
            validate_webhook_url("http://127.0.0.1:8080/robot/send", true),
            Err("it has no access_token parameter".into())
        );
    }

    #[test]
    fn signing_secret_shape() {
        assert_eq!(validate_signing_secret("SECabc"), Ok(()));
        assert!(validate_signing_secret("abc").is_err());
        assert!(validate_signing_secret("SEC a").is_err());
    }

    #[test]
    fn ownership_needs_both_tags() {
        let s = |tags: &[(&str, &str)]| ExistingSecret {
            arn: "arn".into(),
            scheduled_for_deletion: false,
            kms_key_id: None,
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        assert!(s(&[
            ("app", "dingtalk-notifier"),
            ("dingtalk-notifier:stack", "a")
        ])
        .owned_by("a"));
        assert!(!s(&[
            ("app", "dingtalk-notifier"),
            ("dingtalk-notifier:stack", "b")
        ])
        .owned_by("a"));
        assert!(!s(&[("dingtalk-notifier:stack", "a")]).owned_by("a"));
    }
}
