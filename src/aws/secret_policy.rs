//! Who may read the webhook secret: its resource policy.
//!
//! In one account an identity policy alone grants `GetSecretValue`, so the
//! resource policy denies it to every principal but the function roles
//! (the IAM path `/dingtalk-notifier/`, where only a deploy under the
//! permissions boundary creates roles) and the principals that deployed the
//! stack (the caller of each `deploy`, kept from earlier deploys). Anyone
//! with `PutResourcePolicy` on the secret can still change that: the policy
//! keeps out readers, not administrators.
//!
//! A secret of our name that exists already is adopted only if nobody else
//! set a policy or a customer-managed key on it: either would let someone
//! else read, or keep the function from reading, what `deploy` stores.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::aws::Aws;
use crate::errors::AwsResultExt;

/// The one statement of our policy.
pub const STATEMENT_ID: &str = "ReadOnlyByTheFunctionAndItsDeployers";

/// The IAM ARN that `aws:PrincipalArn` holds for the caller STS names:
/// a user or the root as they are; an assumed role as its role, whose path
/// STS does not say (hence both forms).
pub fn principal_patterns(caller_arn: &str) -> Vec<String> {
    let parts: Vec<&str> = caller_arn.splitn(6, ':').collect();
    let [_, partition, _, _, account, resource] = parts[..] else {
        return Vec::new();
    };
    match resource.split('/').collect::<Vec<_>>()[..] {
        ["assumed-role", role, ..] => vec![
            format!("arn:{partition}:iam::{account}:role/{role}"),
            format!("arn:{partition}:iam::{account}:role/*/{role}"),
        ],
        _ => vec![caller_arn.to_string()],
    }
}

/// The function roles' path in `account`.
fn function_roles(partition: &str, account: &str) -> String {
    format!("arn:{partition}:iam::{account}:role/dingtalk-notifier/*")
}

/// The policy: deny `GetSecretValue` to everyone but `readers` and the
/// function roles (sorted, without repeats).
pub fn policy(partition: &str, account: &str, readers: &[String]) -> String {
    let mut allowed: Vec<String> = readers.to_vec();
    allowed.push(function_roles(partition, account));
    allowed.sort();
    allowed.dedup();
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": STATEMENT_ID,
            "Effect": "Deny",
            "Principal": "*",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
            "Condition": {"StringNotLike": {"aws:PrincipalArn": allowed}}
        }]
    })
    .to_string()
}

/// The readers our policy lists, or `None` when the policy is not ours.
pub fn readers_in(policy: &str) -> Option<Vec<String>> {
    let doc: Value = serde_json::from_str(policy).ok()?;
    let statements = doc["Statement"].as_array()?;
    let [only] = &statements[..] else {
        return None;
    };
    if only["Sid"] != STATEMENT_ID || only["Effect"] != "Deny" {
        return None;
    }
    let listed = &only["Condition"]["StringNotLike"]["aws:PrincipalArn"];
    let listed = match listed {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => return None,
    };
    Some(listed)
}

/// Refuses to adopt a secret with a policy or a customer key that another
/// hand set.
pub fn check_adoptable(name: &str, policy: Option<&str>, kms_key_id: Option<&str>) -> Result<()> {
    if let Some(key) = kms_key_id.filter(|k| !k.is_empty() && *k != "alias/aws/secretsmanager") {
        bail!(
            "the secret {name} is encrypted with the key {key}, which dingtalk-notifier did not set: \
             whoever controls that key decides who reads the webhook; delete the secret or choose another --stack-name"
        );
    }
    if let Some(p) = policy.filter(|p| readers_in(p).is_none()) {
        let _ = p;
        bail!(
            "the secret {name} has a resource policy that dingtalk-notifier did not write: it may let others read the webhook; \
             remove it (aws secretsmanager delete-resource-policy --secret-id {name}) or delete the secret"
        );
    }
    Ok(())
}

/// The secret's current resource policy, if any.
pub async fn current(aws: &Aws, arn: &str) -> Result<Option<String>> {
    let out = aws
        .secrets
        .get_resource_policy()
        .secret_id(arn)
        .send()
        .await
        .aws("secretsmanager:GetResourcePolicy")
        .context("reading the webhook secret's resource policy")?;
    Ok(out.resource_policy.filter(|p| !p.trim().is_empty()))
}

/// Writes our policy: the caller joins the readers already listed.
pub async fn apply(
    aws: &Aws,
    arn: &str,
    partition: &str,
    account: &str,
    caller_arn: &str,
) -> Result<()> {
    let mut readers = current(aws, arn)
        .await?
        .as_deref()
        .and_then(readers_in)
        .unwrap_or_default();
    readers.extend(principal_patterns(caller_arn));
    aws.secrets
        .put_resource_policy()
        .secret_id(arn)
        .resource_policy(policy(partition, account, &readers))
        .block_public_policy(true)
        .send()
        .await
        .aws("secretsmanager:PutResourcePolicy")
        .context("limiting who may read the webhook secret (its resource policy)")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_function_roles_and_the_deployers_read_nobody_else() {
        let readers = principal_patterns("arn:aws:sts::123456789012:assumed-role/Deployer/alice");
        assert_eq!(
            readers,
            [
                "arn:aws:iam::123456789012:role/Deployer",
                "arn:aws:iam::123456789012:role/*/Deployer"
            ]
        );
        let doc: Value = serde_json::from_str(&policy("aws", "123456789012", &readers)).unwrap();
        assert_eq!(
            doc,
            json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "ReadOnlyByTheFunctionAndItsDeployers",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
                "Condition": {"StringNotLike": {"aws:PrincipalArn": [
                    "arn:aws:iam::123456789012:role/*/Deployer",
                    "arn:aws:iam::123456789012:role/Deployer",
                    "arn:aws:iam::123456789012:role/dingtalk-notifier/*"
                ]}}
            }]})
        );
        assert_eq!(
            principal_patterns("arn:aws-cn:iam::123456789012:user/ops/bob"),
            ["arn:aws-cn:iam::123456789012:user/ops/bob"]
        );
    }

    #[test]
    fn earlier_deployers_stay_readers() {
        let first = policy("aws", "1", &["arn:aws:iam::1:user/a".to_string()]);
        let mut readers = readers_in(&first).unwrap();
        readers.extend(principal_patterns("arn:aws:iam::1:user/b"));
        let second = readers_in(&policy("aws", "1", &readers)).unwrap();
        assert_eq!(
            second,
            [
                "arn:aws:iam::1:role/dingtalk-notifier/*",
                "arn:aws:iam::1:user/a",
                "arn:aws:iam::1:user/b"
            ]
        );
    }

    #[test]
    fn a_secret_someone_else_set_up_is_not_adopted() {
        let name = "dingtalk-notifier/a/webhook";
        assert!(check_adoptable(name, None, None).is_ok());
        assert!(check_adoptable(name, Some(&policy("aws", "1", &[])), None).is_ok());
        assert!(check_adoptable(name, None, Some("alias/aws/secretsmanager")).is_ok());
        let open = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
        assert_eq!(
            check_adoptable(name, Some(open), None).unwrap_err().to_string(),
            "the secret dingtalk-notifier/a/webhook has a resource policy that dingtalk-notifier did not write: it may let others read the webhook; \
             remove it (aws secretsmanager delete-resource-policy --secret-id dingtalk-notifier/a/webhook) or delete the secret"
        );
        let key = "arn:aws:kms:us-east-1:1:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(
            check_adoptable(name, None, Some(key)).unwrap_err().to_string(),
            format!("the secret dingtalk-notifier/a/webhook is encrypted with the key {key}, which dingtalk-notifier did not set: \
             whoever controls that key decides who reads the webhook; delete the secret or choose another --stack-name")
        );
    }
}
