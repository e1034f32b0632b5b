//! The webhook secret changes only with a stack update that succeeded: a
//! rolled-back update must leave the old webhook live with the old stack.
//! The update fails the way it fails in AWS: reserving 950 of the account's
//! 1,000 concurrent executions leaves fewer than 100 unreserved (testkit's
//! moto enforces that quota and rolls the stack back like CloudFormation).
//!
//! Who reads the secret (its resource policy, which moto stores but does not
//! enforce: the policy is asserted as written), a secret someone else set up
//! is not adopted, and a zip someone else put under the function's key is
//! refused before any change set (testkit's moto checks S3 checksums as S3
//! does: `BadDigest`).

use crate::common;

use std::process::Output;

use common::{artifact_zip, cli, text, SIGNING};
use testkit::Moto;

const OLD: &str = "https://oapi.dingtalk.com/robot/send?access_token=0ldtoken0000";
const NEW: &str = "https://oapi.dingtalk.com/robot/send?access_token=n3wtoken1111";

fn deploy(moto: &Moto, dir: &std::path::Path, webhook: &str, extra: &[&str]) -> Output {
    let zip = artifact_zip(dir);
    let zip = zip.to_str().unwrap();
    let mut args = vec!["deploy", "--yes", "--artifact", zip];
    args.extend_from_slice(extra);
    let out = cli(dir, &args)
        .envs(moto.env())
        .env("DINGTALK_WEBHOOK_URL", webhook)
        .env("DINGTALK_SECRET", SIGNING)
        .output()
        .unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    for secret in ["0ldtoken0000", "n3wtoken1111", SIGNING] {
        assert!(!all.contains(secret), "a secret leaked:\n{all}");
    }
    out
}

/// A secret of our name and tags, as an earlier deploy (or someone
/// imitating one) left it; `None`: without a value.
async fn our_tagged_secret(moto: &Moto, value: Option<&str>) -> aws_sdk_secretsmanager::Client {
    let sm = aws_sdk_secretsmanager::Client::new(&moto.sdk_config().await);
    let tag = |k: &str, v: &str| {
        aws_sdk_secretsmanager::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
    };
    sm.create_secret()
        .name(SECRET)
        .set_secret_string(value.map(str::to_string))
        .tags(tag("app", "dingtalk-notifier"))
        .tags(tag("dingtalk-notifier:stack", "dingtalk-notifier"))
        .send()
        .await
        .unwrap();
    sm
}

/// `deploy` refuses the secret as not ours, in one line, and creates no stack.
async fn refused_as_not_ours(moto: &Moto, dir: &std::path::Path) {
    let out = deploy(moto, dir, NEW, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr).lines().last().unwrap(),
        format!("error: the secret {SECRET} has a resource policy that dingtalk-notifier did not write: \
         it may let others read the webhook; remove it (aws secretsmanager delete-resource-policy --secret-id {SECRET}) \
         or delete the secret")
    );
    let cfn = aws_sdk_cloudformation::Client::new(&moto.sdk_config().await);
    assert!(cfn
        .describe_stacks()
        .stack_name("dingtalk-notifier")
        .send()
        .await
        .is_err());
}

async fn stored_webhook(moto: &Moto) -> String {
    let sm = aws_sdk_secretsmanager::Client::new(&moto.sdk_config().await);
    let v = sm
        .get_secret_value()
        .secret_id("dingtalk-notifier/dingtalk-notifier/webhook")
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(v.secret_string().unwrap()).unwrap();
    doc["webhook"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_rolled_back_update_keeps_the_old_webhook() {
    let moto = Moto::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let first = deploy(&moto, dir.path(), OLD, &[]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert_eq!(stored_webhook(&moto).await, OLD);

    let failed = deploy(&moto, dir.path(), NEW, &["--reserved-concurrency", "950"]);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed.stderr));
    assert_eq!(
        text(&failed.stderr).lines().last().unwrap(),
        "error: deploy failed: stack dingtalk-notifier is UPDATE_ROLLBACK_COMPLETE; \
         the stored webhook was not changed"
    );
    assert_eq!(stored_webhook(&moto).await, OLD);

    let fixed = deploy(&moto, dir.path(), NEW, &["--reserved-concurrency", "-1"]);
    assert!(fixed.status.success(), "{}", text(&fixed.stderr));
    assert_eq!(stored_webhook(&moto).await, NEW);
}

const SECRET: &str = "dingtalk-notifier/dingtalk-notifier/webhook";

#[tokio::test]
async fn only_the_function_roles_and_the_deployer_may_read_the_secret() {
    let moto = Moto::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = deploy(&moto, dir.path(), OLD, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let config = moto.sdk_config().await;
    let caller = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    let policy = aws_sdk_secretsmanager::Client::new(&config)
        .get_resource_policy()
        .secret_id(SECRET)
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value =
        serde_json::from_str(policy.resource_policy().unwrap()).unwrap();
    let mut readers = vec![
        "arn:aws:iam::123456789012:role/dingtalk-notifier/*".to_string(),
        caller.arn().unwrap().to_string(),
    ];
    readers.sort();
    assert_eq!(
        policy,
        serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "ReadOnlyByTheFunctionAndItsDeployers",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
            "Condition": {"StringNotLike": {"aws:PrincipalArn": readers}}
        }]})
    );
}

#[tokio::test]
async fn a_secret_of_our_name_with_someone_elses_policy_is_not_adopted() {
    let moto = Moto::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sm = our_tagged_secret(&moto, Some(OLD)).await;
    sm.put_resource_policy()
        .secret_id(SECRET)
        .resource_policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    refused_as_not_ours(&moto, dir.path()).await;
}

/// A secret of our name whose policy has our Sid and our Deny but lets
/// everyone read (`aws:PrincipalArn` `*`) is someone else's: not adopted.
#[tokio::test]
async fn a_secret_of_our_sid_that_lets_everyone_read_is_not_adopted() {
    let moto = Moto::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sm = our_tagged_secret(&moto, Some(OLD)).await;
    let everyone = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "ReadOnlyByTheFunctionAndItsDeployers",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": "*",
        "Condition": {"StringNotLike": {"aws:PrincipalArn": ["*"]}}
    }]});
    sm.put_resource_policy()
        .secret_id(SECRET)
        .resource_policy(everyone.to_string())
        .send()
        .await
        .unwrap();
    refused_as_not_ours(&moto, dir.path()).await;
    let kept = sm
        .get_resource_policy()
        .secret_id(SECRET)
        .send()
        .await
        .unwrap();
    let kept: serde_json::Value = serde_json::from_str(kept.resource_policy().unwrap()).unwrap();
    assert_eq!(kept, everyone);
}

/// A new secret is created without its value; the webhook is written only
/// once the resource policy limits who reads it (moto's journal of calls:
/// the parameter names of each call, in order).
#[tokio::test]
async fn a_new_secret_gets_its_value_only_after_its_policy() {
    let moto = Moto::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = deploy(&moto, dir.path(), OLD, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let writes: Vec<String> = moto
        .journal()
        .into_iter()
        .filter(|l| {
            [
                "CreateSecret",
                "PutResourcePolicy",
                "PutSecretValue",
                "UpdateSecret",
            ]
            .iter()
            .any(|a| l.starts_with(&format!("secretsmanager:{a} ")))
        })
        .collect();
    assert_eq!(
        writes,
        [
            "secretsmanager:CreateSecret ClientRequestToken,Description,Name,Tags",
            "secretsmanager:PutResourcePolicy BlockPublicPolicy,ResourcePolicy,SecretId",
            "secretsmanager:PutSecretValue ClientRequestToken,SecretId,SecretString",
        ]
    );
    assert_eq!(stored_webhook(&moto).await, OLD);
}

/// A deploy stopped between creating the secret and writing its value (Ctrl-C)
/// leaves a secret without a value: the next deploy writes it.
#[tokio::test]
async fn a_secret_left_without_a_value_gets_it_at_the_next_deploy() {
    let moto = Moto::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    our_tagged_secret(&moto, None).await;
    let out = deploy(&moto, dir.path(), OLD, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(stored_webhook(&moto).await, OLD);
}

#[tokio::test]
async fn a_zip_someone_else_put_under_the_functions_key_is_refused_before_it_is_live() {
    use sha2::Digest;
    let moto = Moto::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let zip = artifact_zip(dir.path());
    let sha = hex::encode(sha2::Sha256::digest(std::fs::read(&zip).unwrap()));
    let config = moto.sdk_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let bucket = "dingtalk-notifier-artifacts-123456789012-us-east-1";
    let key = format!("lambda/{sha}.zip");
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    // Claiming our checksum with other bytes: S3 refuses (BadDigest).
    let ours = aws_smithy_types::base64::encode(hex::decode(&sha).unwrap());
    let lie = s3
        .put_object()
        .bucket(bucket)
        .key(&key)
        .body(b"PK planted".to_vec().into())
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .checksum_sha256(&ours)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(&lie),
        Some("BadDigest"),
        "{lie:?}"
    );
    // With its own, true checksum: deploy refuses it.
    s3.put_object()
        .bucket(bucket)
        .key(&key)
        .body(b"PK planted".to_vec().into())
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .send()
        .await
        .unwrap();
    let out = deploy(&moto, dir.path(), OLD, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr).lines().last().unwrap(),
        format!(
            "error: s3://{bucket}/{key} is not this function's zip: its SHA-256 checksum differs, \
         so someone else put it there; nothing was deployed. Find out who (CloudTrail PutObject), \
         delete the object, then deploy again"
        )
    );
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    assert!(cfn
        .describe_stacks()
        .stack_name("dingtalk-notifier")
        .send()
        .await
        .is_err());

    // Gone again: deploy uploads its own, with its checksum.
    s3.delete_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    let out = deploy(&moto, dir.path(), OLD, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let head = s3
        .head_object()
        .bucket(bucket)
        .key(&key)
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(head.checksum_sha256(), Some(ours.as_str()));
}
