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

/// The readers our policy lists, or `None` when the policy is not exactly
/// the one we write for `partition` and `account`: one Deny of
/// `GetSecretValue` to Principal `*` on `*`, unless `aws:PrincipalArn` is
/// one of the listed readers. A listed reader is kept only if it is what
/// `policy` writes: the function roles' path, or one principal of this
/// account (a user, a role, the root, an STS principal) named without
/// wildcards, or a role of any path under one name (`role/*/<name>`). So a
/// policy of our Sid that lists `*` or another account's principal is not
/// ours, and is never adopted nor carried on.
pub fn readers_in(policy: &str, partition: &str, account: &str) -> Option<Vec<String>> {
    let doc: Value = serde_json::from_str(policy).ok()?;
    let [only] = &doc["Statement"].as_array()?[..] else {
        return None;
    };
    let keys: Vec<&String> = only.as_object()?.keys().collect();
    let principal_star = only["Principal"] == "*" || only["Principal"] == json!({"AWS": "*"});
    let condition = only["Condition"].as_object()?;
    let not_like = condition.get("StringNotLike")?.as_object()?;
    if keys.len() != 6
        || only["Sid"] != STATEMENT_ID
        || only["Effect"] != "Deny"
        || !principal_star
        || only["Action"] != "secretsmanager:GetSecretValue"
        || only["Resource"] != "*"
        || condition.len() != 1
        || not_like.len() != 1
    {
        return None;
    }
    let listed = match not_like.get("aws:PrincipalArn")? {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()?,
        _ => return None,
    };
    listed
        .iter()
        .all(|r| is_our_reader(r, partition, account))
        .then_some(listed)
}

/// One entry `policy` may have written (see `readers_in`).
fn is_our_reader(entry: &str, partition: &str, account: &str) -> bool {
    if entry == function_roles(partition, account) {
        return true;
    }
    let plain = |s: &str| !s.is_empty() && !s.contains(['*', '?']);
    let iam = format!("arn:{partition}:iam::{account}:");
    let sts = format!("arn:{partition}:sts::{account}:");
    if let Some(name) = entry.strip_prefix(&format!("{iam}role/*/")) {
        return plain(name) && !name.contains('/');
    }
    if let Some(rest) = entry.strip_prefix(&iam) {
        return rest == "root"
            || ["user/", "role/"]
                .iter()
                .any(|k| rest.strip_prefix(k).is_some_and(plain));
    }
    // What STS names a caller that is no role (a federated user); moto
    // names an IAM user so too.
    entry
        .strip_prefix(&sts)
        .is_some_and(|rest| rest.contains('/') && plain(rest))
}

/// The partition and account an ARN names.
fn partition_and_account(arn: &str) -> (&str, &str) {
    let mut parts = arn.split(':');
    (parts.nth(1).unwrap_or("aws"), parts.nth(2).unwrap_or(""))
}

/// Refuses to adopt the secret `arn` (named `name`) with a policy or a
/// customer key that another hand set.
pub fn check_adoptable(
    name: &str,
    arn: &str,
    policy: Option<&str>,
    kms_key_id: Option<&str>,
) -> Result<()> {
    if let Some(key) = kms_key_id.filter(|k| !k.is_empty() && *k != "alias/aws/secretsmanager") {
        bail!(
            "the secret {name} is encrypted with the key {key}, which dingtalk-notifier did not set: \
             whoever controls that key decides who reads the webhook; delete the secret or choose another --stack-name"
        );
    }
    let (partition, account) = partition_and_account(arn);
    if policy.is_some_and(|p| readers_in(p, partition, account).is_none()) {
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
        .and_then(|p| readers_in(p, partition, account))
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
        let mut readers = readers_in(&first, "aws", "1").unwrap();
        readers.extend(principal_patterns("arn:aws:iam::1:user/b"));
        readers.extend(principal_patterns("arn:aws:sts::1:assumed-role/R/s"));
        readers.extend(principal_patterns("arn:aws:iam::1:root"));
        let second = readers_in(&policy("aws", "1", &readers), "aws", "1").unwrap();
        assert_eq!(
            second,
            [
                "arn:aws:iam::1:role/*/R",
                "arn:aws:iam::1:role/R",
                "arn:aws:iam::1:role/dingtalk-notifier/*",
                "arn:aws:iam::1:root",
                "arn:aws:iam::1:user/a",
                "arn:aws:iam::1:user/b"
            ]
        );
    }

    /// Our Sid and our Deny are not enough: a reader list that lets in
    /// everyone, another account or a wildcard is someone else's policy.
    #[test]
    fn a_policy_of_our_sid_with_other_readers_is_not_ours() {
        let with = |readers: &[&str]| {
            let readers: Vec<String> = readers.iter().map(|r| r.to_string()).collect();
            policy("aws", "1", &readers)
        };
        for foreign in [
            "*",
            "arn:aws:iam::999999999999:root",
            "arn:aws:iam::999999999999:user/x",
            "arn:aws:iam::1:user/*",
            "arn:aws:iam::1:role/ops-*",
            "arn:aws:iam::1:role/*/*",
            "arn:aws:iam::1:role/*",
            "arn:aws-cn:iam::1:user/a",
            "arn:aws:iam::1:*",
        ] {
            assert_eq!(readers_in(&with(&[foreign]), "aws", "1"), None, "{foreign}");
        }
        assert!(readers_in(&with(&["arn:aws:iam::1:user/a"]), "aws", "1").is_some());
        let ours = policy("aws", "1", &[]);
        for (from, to) in [
            (
                r#""Principal":"*""#,
                r#""Principal":{"AWS":"arn:aws:iam::1:root"}"#,
            ),
            (
                r#""Action":"secretsmanager:GetSecretValue""#,
                r#""Action":"secretsmanager:*""#,
            ),
            (r#""Resource":"*""#, r#""Resource":"x""#),
            (r#""StringNotLike""#, r#""ForAnyValue:StringNotLike""#),
        ] {
            let changed = ours.replace(from, to);
            assert_ne!(changed, ours, "{from}");
            assert_eq!(readers_in(&changed, "aws", "1"), None, "{to}");
        }
    }

    #[test]
    fn a_secret_someone_else_set_up_is_not_adopted() {
        let name = "dingtalk-notifier/a/webhook";
        let arn = "arn:aws:secretsmanager:us-east-1:1:secret:dingtalk-notifier/a/webhook-AbCdEf";
        assert!(check_adoptable(name, arn, None, None).is_ok());
        assert!(check_adoptable(name, arn, Some(&policy("aws", "1", &[])), None).is_ok());
        assert!(check_adoptable(name, arn, Some(&policy("aws", "2", &[])), None).is_err());
        assert!(check_adoptable(name, arn, None, Some("alias/aws/secretsmanager")).is_ok());
        let open = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
        assert_eq!(
            check_adoptable(name, arn, Some(open), None).unwrap_err().to_string(),
            "the secret dingtalk-notifier/a/webhook has a resource policy that dingtalk-notifier did not write: it may let others read the webhook; \
             remove it (aws secretsmanager delete-resource-policy --secret-id dingtalk-notifier/a/webhook) or delete the secret"
        );
        let key = "arn:aws:kms:us-east-1:1:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(
            check_adoptable(name, arn, None, Some(key)).unwrap_err().to_string(),
            format!("the secret dingtalk-notifier/a/webhook is encrypted with the key {key}, which dingtalk-notifier did not set: \
             whoever controls that key decides who reads the webhook; delete the secret or choose another --stack-name")
        );
    }
}
