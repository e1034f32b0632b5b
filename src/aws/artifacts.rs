//! The artifact bucket: where function zips wait for CloudFormation.
//!
//! One bucket per account and region, created on first use with encryption on
//! and public access blocked. Objects are keyed by their content hash, so an
//! upload is skipped whenever the exact zip is already there.
//!
//! The bucket's name is predictable, so another account may own it first
//! (bucket sniping) and plant `lambda/<sha>.zip`. Every S3 call therefore
//! passes `ExpectedBucketOwner` (S3 answers 403 for anyone else's bucket), and
//! a default name owned by someone else is replaced by a name with a random
//! suffix, which `deploy` remembers in dingtalk-notifier.toml.

use anyhow::{bail, Context, Result};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, ObjectIdentifier,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging,
};

use crate::aws::stack::{APP_TAG_KEY, APP_TAG_VALUE};
use crate::aws::Aws;
use crate::errors::{aws_call_error, AwsResultExt};
use crate::function::build::Artifact;

#[derive(Debug, Clone)]
pub struct Uploaded {
    pub bucket: String,
    pub key: String,
    /// False when the object was already there.
    pub uploaded: bool,
    /// The name that was wanted but belongs to another account, when
    /// `bucket` is a fallback name.
    pub taken: Option<String>,
}

/// The account of the credentials: the only owner any S3 call accepts.
pub async fn caller_account(aws: &Aws) -> Result<String> {
    Ok(aws.caller().await?.account.clone())
}

pub fn default_bucket_name(account: &str, region: &str) -> String {
    format!("dingtalk-notifier-artifacts-{account}-{region}")
}

/// The default name plus 8 random hex digits: nobody can create it first.
pub fn fallback_bucket_name(account: &str, region: &str) -> Result<String> {
    let mut bytes = [0u8; 4];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| anyhow::anyhow!("reading random bytes for the bucket name: {e}"))?;
    Ok(format!(
        "{}-{}",
        default_bucket_name(account, region),
        hex::encode(bytes)
    ))
}

pub async fn artifact_bucket_name(aws: &Aws) -> Result<String> {
    let region = aws.region().context(crate::errors::NO_REGION)?;
    Ok(default_bucket_name(&caller_account(aws).await?, region))
}

/// Whether a bucket name is usable by this account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BucketState {
    Ours,
    /// Owned by another account (or closed to us by its policy).
    Foreign,
}

fn http_status<E>(
    err: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

pub fn object_key(sha256: &str) -> String {
    format!("lambda/{sha256}.zip")
}

/// Uploads the zip unless it is there, into `remembered` (the bucket named in
/// dingtalk-notifier.toml) or the default bucket, which is replaced by a
/// fallback name when another account owns it.
pub async fn ensure_uploaded(
    aws: &Aws,
    artifact: &Artifact,
    remembered: Option<&str>,
) -> Result<Uploaded> {
    let region = aws.region().context(crate::errors::NO_REGION)?;
    let account = caller_account(aws).await?;
    let (bucket, taken) = match remembered {
        Some(name) => {
            if ensure_bucket(aws, name, &account).await? == BucketState::Foreign {
                bail!(
                    "the artifact bucket {name} (artifact_bucket in dingtalk-notifier.toml) belongs to \
                     another AWS account or refuses this one; remove that line and deploy again to get a new bucket"
                );
            }
            (name.to_string(), None)
        }
        None => {
            let wanted = default_bucket_name(&account, region);
            if ensure_bucket(aws, &wanted, &account).await? == BucketState::Ours {
                (wanted, None)
            } else {
                let fallback = fallback_bucket_name(&account, region)?;
                if ensure_bucket(aws, &fallback, &account).await? == BucketState::Foreign {
                    bail!("the artifact bucket {fallback} belongs to another AWS account; deploy again");
                }
                (fallback, Some(wanted))
            }
        }
    };
    let key = object_key(&artifact.sha256);
    let uploaded =
        crate::aws::artifact_object::ensure(aws, artifact, &bucket, &key, &account).await?;
    Ok(Uploaded {
        bucket,
        key,
        uploaded,
        taken,
    })
}

/// Makes sure `bucket` exists and is `account`'s, creating and locking it
/// down when it does not exist.
async fn ensure_bucket(aws: &Aws, bucket: &str, account: &str) -> Result<BucketState> {
    let head = aws
        .s3
        .head_bucket()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .send()
        .await;
    match head {
        Ok(_) => return Ok(BucketState::Ours),
        Err(e) if http_status(&e) == Some(403) => return Ok(BucketState::Foreign),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {}
        Err(e) => {
            return Err(e)
                .aws("s3:ListBucket")
                .with_context(|| format!("checking the artifact bucket {bucket}"))
        }
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
        match aws_call_error(&e) {
            Some(c) if c.is_code(&["BucketAlreadyOwnedByYou"]) => {}
            Some(c) if c.is_code(&["BucketAlreadyExists"]) => return Ok(BucketState::Foreign),
            _ => return Err(e.context(format!("creating the artifact bucket {bucket}"))),
        }
    }
    configure_bucket(aws, bucket, account).await?;
    Ok(BucketState::Ours)
}

/// Public access blocked, SSE-S3, our tag.
async fn configure_bucket(aws: &Aws, bucket: &str, account: &str) -> Result<()> {
    aws.s3
        .put_public_access_block()
        .bucket(bucket)
        .expected_bucket_owner(account)
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
        .expected_bucket_owner(account)
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
        .expected_bucket_owner(account)
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

/// What `purge_bucket` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purge {
    /// No such bucket.
    Missing,
    Deleted,
    /// Left alone, with the reason.
    Kept(String),
}

/// Empties and deletes the bucket, but only when this account owns it and
/// our `app` tag is on it. A key that cannot be deleted stops the purge with
/// its error instead of being retried forever.
pub async fn purge_bucket(aws: &Aws, bucket: &str) -> Result<Purge> {
    let account = caller_account(aws).await?;
    match aws
        .s3
        .head_bucket()
        .bucket(bucket)
        .expected_bucket_owner(&account)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if http_status(&e) == Some(403) => {
            return Ok(Purge::Kept("it belongs to another AWS account".into()))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {
            return Ok(Purge::Missing)
        }
        Err(e) => {
            return Err(e)
                .aws("s3:ListBucket")
                .with_context(|| format!("checking {bucket}"))
        }
    }
    if !has_our_tag(aws, bucket, &account).await? {
        return Ok(Purge::Kept(format!(
            "it has no {APP_TAG_KEY}={APP_TAG_VALUE} tag, so dingtalk-notifier did not create it"
        )));
    }
    loop {
        let listing = aws
            .s3
            .list_object_versions()
            .bucket(bucket)
            .expected_bucket_owner(&account)
            .send()
            .await
            .aws("s3:ListBucketVersions")
            .with_context(|| format!("listing {bucket}"))?;
        let ids = version_ids(&listing)?;
        if ids.is_empty() {
            break;
        }
        let deleted = aws
            .s3
            .delete_objects()
            .bucket(bucket)
            .expected_bucket_owner(&account)
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
        if let Some(first) = deleted.errors().first() {
            bail!(
                "could not empty {bucket}: {} object(s) were not deleted, e.g. {}: {} ({}); the bucket is kept",
                deleted.errors().len(),
                first.key().unwrap_or("?"),
                first.message().unwrap_or("no message"),
                first.code().unwrap_or("no code"),
            );
        }
    }
    aws.s3
        .delete_bucket()
        .bucket(bucket)
        .expected_bucket_owner(&account)
        .send()
        .await
        .aws("s3:DeleteBucket")
        .with_context(|| format!("deleting {bucket}"))?;
    Ok(Purge::Deleted)
}

async fn has_our_tag(aws: &Aws, bucket: &str, account: &str) -> Result<bool> {
    let tags = aws
        .s3
        .get_bucket_tagging()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .send()
        .await;
    match tags {
        Ok(t) => Ok(t
            .tag_set()
            .iter()
            .any(|t| t.key() == APP_TAG_KEY && t.value() == APP_TAG_VALUE)),
        Err(e) if e.code() == Some("NoSuchTagSet") => Ok(false),
        Err(e) => Err(e)
            .aws("s3:GetBucketTagging")
            .with_context(|| format!("reading the tags of {bucket}")),
    }
}

/// Every object version and delete marker of one listing page.
fn version_ids(
    listing: &aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput,
) -> Result<Vec<ObjectIdentifier>> {
    let versions = listing.versions().iter().map(|v| (v.key(), v.version_id()));
    let markers = listing
        .delete_markers()
        .iter()
        .map(|m| (m.key(), m.version_id()));
    versions
        .chain(markers)
        .filter_map(|(key, version)| Some((key?, version)))
        .map(|(key, version)| {
            Ok(ObjectIdentifier::builder()
                .key(key)
                .set_version_id(version.map(str::to_string))
                .build()?)
        })
        .collect()
}
