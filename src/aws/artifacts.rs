//! The artifact bucket: where function zips wait for CloudFormation.
//!
//! One bucket per account and region, created on first use with encryption on
//! and public access blocked. Objects are keyed by their content hash, so an
//! upload is skipped whenever the exact zip is already there.

use anyhow::{Context, Result};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, ObjectIdentifier,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging,
};

use crate::aws::build::Artifact;
use crate::aws::stack::{APP_TAG_KEY, APP_TAG_VALUE};
use crate::aws::Aws;
use crate::errors::{aws_call_error, AwsResultExt};

#[derive(Debug, Clone)]
pub struct Uploaded {
    pub bucket: String,
    pub key: String,
    /// False when the object was already there.
    pub uploaded: bool,
}

pub async fn artifact_bucket_name(aws: &Aws) -> Result<String> {
    let region = aws.region().context(crate::errors::NO_REGION)?;
    let identity = aws
        .sts
        .get_caller_identity()
        .send()
        .await
        .aws("sts:GetCallerIdentity")
        .context("finding the AWS account id")?;
    let account = identity
        .account()
        .context("sts:GetCallerIdentity returned no account id")?;
    Ok(format!("dingtalk-notifier-artifacts-{account}-{region}"))
}

pub fn object_key(sha256: &str) -> String {
    format!("lambda/{sha256}.zip")
}

pub async fn ensure_uploaded(aws: &Aws, artifact: &Artifact) -> Result<Uploaded> {
    let bucket = artifact_bucket_name(aws).await?;
    ensure_bucket(aws, &bucket).await?;
    let key = object_key(&artifact.sha256);
    let exists = match aws.s3.head_object().bucket(&bucket).key(&key).send().await {
        Ok(_) => true,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => false,
        Err(e) => {
            return Err(e)
                .aws("s3:GetObject")
                .with_context(|| format!("checking s3://{bucket}/{key}"))
        }
    };
    if !exists {
        let body = ByteStream::from_path(&artifact.zip_path)
            .await
            .with_context(|| format!("reading {}", artifact.zip_path.display()))?;
        aws.s3
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .body(body)
            .content_type("application/zip")
            .server_side_encryption(ServerSideEncryption::Aes256)
            .send()
            .await
            .aws("s3:PutObject")
            .with_context(|| format!("uploading the function to s3://{bucket}/{key}"))?;
    }
    Ok(Uploaded {
        bucket,
        key,
        uploaded: !exists,
    })
}

async fn ensure_bucket(aws: &Aws, bucket: &str) -> Result<()> {
    if aws.s3.head_bucket().bucket(bucket).send().await.is_ok() {
        return Ok(());
    }
    let region = aws.region().context(crate::errors::NO_REGION)?;
    let mut create = aws.s3.create_bucket().bucket(bucket);
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    if let Err(e) = create.send().await.aws("s3:CreateBucket") {
        let ours_already =
            aws_call_error(&e).is_some_and(|c| c.is_code(&["BucketAlreadyOwnedByYou"]));
        if !ours_already {
            return Err(e.context(format!("creating the artifact bucket {bucket}")));
        }
    }
    aws.s3
        .put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .aws("s3:PutBucketPublicAccessBlock")
        .with_context(|| format!("blocking public access on {bucket}"))?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::Aes256)
                .build()
                .context("building the encryption rule")?,
        )
        .build();
    aws.s3
        .put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()
                .context("building the encryption configuration")?,
        )
        .send()
        .await
        .aws("s3:PutEncryptionConfiguration")
        .with_context(|| format!("turning on encryption for {bucket}"))?;
    aws.s3
        .put_bucket_tagging()
        .bucket(bucket)
        .tagging(
            Tagging::builder()
                .tag_set(
                    Tag::builder()
                        .key(APP_TAG_KEY)
                        .value(APP_TAG_VALUE)
                        .build()
                        .context("building the bucket tag")?,
                )
                .build()
                .context("building the bucket tags")?,
        )
        .send()
        .await
        .aws("s3:PutBucketTagging")
        .with_context(|| format!("tagging {bucket}"))?;
    Ok(())
}

/// Empties and deletes the bucket; `false` when there was no bucket.
pub async fn purge_bucket(aws: &Aws, bucket: &str) -> Result<bool> {
    if aws.s3.head_bucket().bucket(bucket).send().await.is_err() {
        return Ok(false);
    }
    loop {
        let listing = aws
            .s3
            .list_object_versions()
            .bucket(bucket)
            .send()
            .await
            .aws("s3:ListBucketVersions")
            .with_context(|| format!("listing {bucket}"))?;
        let mut ids = Vec::new();
        for v in listing.versions() {
            if let Some(key) = v.key() {
                ids.push(
                    ObjectIdentifier::builder()
                        .key(key)
                        .set_version_id(v.version_id().map(str::to_string))
                        .build()?,
                );
            }
        }
        for m in listing.delete_markers() {
            if let Some(key) = m.key() {
                ids.push(
                    ObjectIdentifier::builder()
                        .key(key)
                        .set_version_id(m.version_id().map(str::to_string))
                        .build()?,
                );
            }
        }
        if ids.is_empty() {
            break;
        }
        aws.s3
            .delete_objects()
            .bucket(bucket)
            .delete(
                aws_sdk_s3::types::Delete::builder()
                    .set_objects(Some(ids))
                    .quiet(true)
                    .build()?,
            )
            .send()
            .await
            .aws("s3:DeleteObject")
            .with_context(|| format!("emptying {bucket}"))?;
    }
    aws.s3
        .delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .aws("s3:DeleteBucket")
        .with_context(|| format!("deleting {bucket}"))?;
    Ok(true)
}
